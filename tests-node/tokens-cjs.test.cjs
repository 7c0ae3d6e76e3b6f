// Key sets and tokens through the CommonJS entry point: `require('polyauth')`.
const { test } = require('node:test')
const assert = require('node:assert/strict')

const { KeySet, Tokens, RemoteKeySet, PolyauthError } = require('polyauth')

test('require("polyauth") exposes KeySet, Tokens, RemoteKeySet', () => {
  for (const C of [KeySet, Tokens, RemoteKeySet]) assert.equal(typeof C, 'function')
})

test('issue and verify through CommonJS', () => {
  const keys = KeySet.generate('EdDSA')
  const tokens = new Tokens(keys, { issuer: 'https://issuer.example', audience: 'api' })
  const token = tokens.issue('cjs-user', { claims: { scope: 'read' } })
  const claims = tokens.verify(token)
  assert.equal(claims.sub, 'cjs-user')
  assert.equal(claims.scope, 'read')
  const [h, p, sig] = token.split('.')
  const bad = Buffer.from(sig, 'base64url')
  bad[0] ^= 1
  assert.throws(() => tokens.verify(`${h}.${p}.${bad.toString('base64url')}`), (e) => e instanceof PolyauthError && e.code === 'invalid_signature')
})

test('ESM and CommonJS share the token classes', async () => {
  const esm = await import('polyauth')
  assert.equal(esm.Tokens, Tokens)
  assert.equal(esm.KeySet, KeySet)
  // A key set made on one side works with Tokens from the other.
  const keys = esm.KeySet.generate('ES256')
  const token = new Tokens(keys, { issuer: 'i', audience: 'a' }).issue('u')
  assert.equal(new esm.Tokens(keys, { issuer: 'i', audience: 'a' }).verify(token).sub, 'u')
  const err = (() => {
    try {
      new esm.Tokens(keys, { issuer: 'i', audience: 'a' }).verify('x.y.z')
    } catch (e) {
      return e
    }
  })()
  assert.ok(err instanceof PolyauthError)
})
