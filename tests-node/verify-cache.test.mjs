// The verified-token cache of `Tokens.verify` (core `verify_cache`): a token presented again
// skips the signature check only. The same cases run in tests-python/test_verify_cache.py.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KeySet, PolyauthError, Tokens } from 'polyauth'
import { expectCode } from './helpers.mjs'

const ISSUER = 'https://issuer.example'
const makeTokens = (keys = KeySet.generate('EdDSA'), options = {}) =>
  new Tokens(keys, { issuer: ISSUER, audience: 'api', leeway: 0, ...options })
const cached = (tokens) => tokens.native.cachedTokens

test('a hit returns the same claims in a fresh object', () => {
  const tokens = makeTokens()
  const token = tokens.issue('u', { claims: { roles: ['admin'] }, ttl: 60 })
  const first = tokens.verify(token)
  assert.equal(cached(tokens), 1)
  first.roles.push('intruder')
  first.sub = 'someone-else'
  const again = tokens.verify(token)
  assert.deepEqual(again, { ...first, sub: 'u', roles: ['admin'] })
  assert.notEqual(again, first)
  assert.equal(cached(tokens), 1)
})

test('a hit still checks the clock and the options', async () => {
  const tokens = makeTokens()
  const token = tokens.issue('u', { ttl: 60 })
  const { iat } = tokens.verify(token)
  await expectCode(PolyauthError, () => tokens.verify(token, { now: iat - 1 }), 'token_not_yet_valid')
  await expectCode(PolyauthError, () => tokens.verify(token, { audience: 'other' }), 'invalid_audience')
  await expectCode(PolyauthError, () => tokens.verify(token, { typ: 'refresh+jwt' }), 'invalid_type')
  await expectCode(PolyauthError, () => tokens.verify(token, { required: ['sid'] }), 'missing_claim')
  assert.equal(cached(tokens), 1)
  assert.equal(tokens.verify(token, { now: iat + 59 }).sub, 'u')
  await expectCode(PolyauthError, () => tokens.verify(token, { now: iat + 60 }), 'token_expired')
  assert.equal(cached(tokens), 0, 'an expired token leaves the cache')
})

test('failures are never cached', async () => {
  const tokens = makeTokens()
  const token = tokens.issue('u', { ttl: 1 })
  const expiredAt = Math.floor(Date.now() / 1000) + 5
  for (let i = 0; i < 2; i++) {
    await expectCode(PolyauthError, () => tokens.verify(token, { now: expiredAt }), 'token_expired')
  }
  assert.equal(cached(tokens), 0)
})

test('a tampered token is not served from the cache', () => {
  const tokens = makeTokens()
  const token = tokens.issue('u', { ttl: 60 })
  tokens.verify(token)
  for (const i of [token.length - 1, Math.floor(token.length / 2), 3]) {
    const bad = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
    assert.throws(() => tokens.verify(bad), PolyauthError)
  }
  assert.equal(tokens.verify(token).sub, 'u')
  assert.equal(cached(tokens), 1)
})

test('rotation and retirement empty the cache', async () => {
  const keys = KeySet.generate('EdDSA', { kid: 'old' })
  const tokens = makeTokens(keys)
  const token = tokens.issue('u', { ttl: 60 })
  tokens.verify(token)
  keys.rotate()
  assert.equal(cached(tokens), 1) // emptied on the next lookup
  assert.equal(tokens.verify(token).sub, 'u', 'verified again with the old key, still in the set')
  keys.retire('old')
  await expectCode(PolyauthError, () => tokens.verify(token), 'unknown_key')
  assert.equal(cached(tokens), 0)
})

test('the cache is bounded', () => {
  const tokens = makeTokens()
  const issued = Array.from({ length: 10_050 }, (_, i) => tokens.issue(`u${i}`, { ttl: 600 }))
  for (const token of issued) tokens.verify(token)
  assert.equal(cached(tokens), 10_000)
  assert.equal(tokens.verify(issued[0]).sub, 'u0', 'an evicted token verifies again')
})

test('the capacity is a setting', () => {
  const small = makeTokens(undefined, { verifyCache: 3 })
  for (let i = 0; i < 10; i++) {
    small.verify(small.issue(`u${i}`, { ttl: 60 }))
    assert.ok(cached(small) <= 3)
  }
  const off = makeTokens(undefined, { verifyCache: 0 })
  const token = off.issue('u', { ttl: 60 })
  assert.deepEqual(off.verify(token), off.verify(token))
  assert.equal(cached(off), 0)
})
