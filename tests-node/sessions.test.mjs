// Sessions (DESIGN.md §4, §6, §7 RT-4, RT-9) over every store backend: memory, SQLite (a temporary
// file), PostgreSQL and Redis, each test on a fresh polyauth_namespace: what is Node's own (types,
// numbers), concurrency, durability and opening stores. The scenarios of RT-1..RT-9 are
// vectors/sessions.json and errors.json, run by scenario-vectors.test.mjs.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { KeySet, OneTimeTokens, PolyauthError, Sessions, Store, Throttle, Tokens } from 'polyauth'
import {
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  expectCode,
  storeBackends,
  tempSqliteUrl,
  withNamespace,
} from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const ISSUER = 'https://issuer.example'
const KEYS = KeySet.generate('EdDSA')

function tokensFor(audience = 'api') {
  return new Tokens(KEYS, { issuer: ISSUER, audience })
}

const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`

describe('sessions over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async () => {
        const store = await Store.open(backend.url())
        assert.equal(store.backend, backend.name)
        return store
      }

      test('wrong argument types are TypeErrors; options of the wrong type are invalid_config', async () => {
        const store = await open()
        const tokens = tokensFor()
        const sessions = new Sessions(store, tokens)
        await assert.rejects(() => sessions.start(5), TypeError)
        await assert.rejects(() => sessions.start(undefined), TypeError)
        await assert.rejects(() => sessions.start('u', { claims: 'scope' }), TypeError)
        await assert.rejects(() => sessions.start('u', { claims: [1, 2] }), TypeError)
        await assert.rejects(() => sessions.start('u', { meta: 42 }), TypeError)
        await assert.rejects(() => sessions.refresh(5), TypeError)
        await assert.rejects(() => sessions.refresh(undefined), TypeError)
        await assert.rejects(() => sessions.refresh(null), TypeError)
        await assert.rejects(() => sessions.refresh(Buffer.from('prt_')), TypeError)
        await assert.rejects(() => sessions.revoke(null), TypeError)
        await assert.rejects(() => sessions.revoke(1), TypeError)
        await assert.rejects(() => sessions.revokeAll({}), TypeError)
        await assert.rejects(() => sessions.list(1), TypeError)
        await assert.rejects(() => sessions.isActive(1), TypeError)
        assert.throws(() => new Sessions({}, tokens), TypeError)
        assert.throws(() => new Sessions(store, {}), TypeError)

        // A number of the wrong type is invalid_config, as in Python (vectors/argument-checks.json);
        // the ranges, reserved claims and sizes are vectors/errors.json and sessions.json.
        for (const options of [{ refreshTtl: 'long' }, { idleTtl: true }]) {
          await expectCode(PolyauthError, () => new Sessions(store, tokens, options), 'invalid_config', JSON.stringify(options))
        }
        for (const now of [-1, 1.5, '1']) {
          await expectCode(PolyauthError, () => sessions.start('u', { now }), 'invalid_input', `start now ${now}`)
          await expectCode(PolyauthError, () => sessions.isActive('s', { now }), 'invalid_input', `isActive now ${now}`)
        }
      })

      test('100 concurrent refreshes of one token: exactly one wins, the family is revoked (RT-4), 3 times', async () => {
        const sessions = new Sessions(await open(), tokensFor())
        for (let rep = 0; rep < 3; rep++) {
          const p = await sessions.start(unique('racer'))
          const results = await Promise.allSettled(Array.from({ length: 100 }, () => sessions.refresh(p.refreshToken)))
          const won = results.filter((r) => r.status === 'fulfilled').map((r) => r.value)
          const codes = results.filter((r) => r.status === 'rejected').map((r) => (r.reason instanceof PolyauthError ? r.reason.code : String(r.reason)))
          assert.equal(won.length, 1, `rep ${rep}: exactly one rotation wins (codes: ${[...new Set(codes)].join(', ')})`)
          for (const c of codes) assert.ok(['refresh_reused', 'session_revoked'].includes(c), `rep ${rep}: unexpected ${c}`)
          assert.ok(codes.includes('refresh_reused'), `rep ${rep}: the losers were seen as reuse`)
          const issued = won.map((w) => w.refreshToken)
          assert.equal(new Set(issued).size, issued.length, 'no duplicate tokens')
          assert.ok(!issued.includes(p.refreshToken))
          assert.equal(won[0].sessionId, p.sessionId)
          assert.equal(await sessions.isActive(p.sessionId), false, `rep ${rep}: reuse revoked the session`)
          await expectCode(PolyauthError, () => sessions.refresh(won[0].refreshToken), 'session_revoked', `rep ${rep}: the winner's token`)
        }
      })

      test('state is visible to a second Store opened on the same URL (RT-9 durability, RL-1 shared counters)', { skip: backend.name === 'memory' ? 'memory:// is per process and per Store' : false }, async () => {
        const url = backend.url()
        const first = await Store.open(url)
        const tokens = tokensFor()
        const s1 = new Sessions(first, tokens)
        const subject = unique('durable')
        const kept = await s1.start(subject, { meta: { userAgent: 'ua-durable' } })
        const rotated = await s1.refresh(kept.refreshToken)
        const revoked = await s1.start(subject)
        assert.equal(await s1.revoke(revoked.sessionId), true)
        const otk1 = new OneTimeTokens(first)
        const used = await otk1.issue(subject, 'email_verify', { data: { n: 1 } })
        await otk1.consume(used, 'email_verify')
        const key = unique('login')
        const th1 = new Throttle(first, { freeAttempts: 2, baseDelay: 60 })
        for (let i = 0; i < 3; i++) await th1.fail(key)

        const second = await Store.open(url)
        assert.equal(second.backend, backend.name)
        const s2 = new Sessions(second, tokensFor())
        assert.equal(await s2.isActive(revoked.sessionId), false, 'revocation visible')
        await expectCode(PolyauthError, () => s2.refresh(revoked.refreshToken), 'session_revoked', 'revoked session via second store')
        assert.equal(await s2.isActive(kept.sessionId), true)
        const listed = await s2.list(subject)
        assert.deepEqual(listed.map((s) => [s.sessionId, s.meta.userAgent]), [[kept.sessionId, 'ua-durable']])
        const newest = await s2.refresh(rotated.refreshToken)
        assert.equal(newest.sessionId, kept.sessionId)
        // The used token is still known as used: reuse is detected and revokes the family.
        await expectCode(PolyauthError, () => s2.refresh(kept.refreshToken), 'refresh_reused', 'used token via second store')
        await expectCode(PolyauthError, () => s2.refresh(newest.refreshToken), 'session_revoked', 'newest after reuse')
        assert.equal(await s1.isActive(kept.sessionId), false, 'the first store sees the revocation too')
        await expectCode(PolyauthError, () => new OneTimeTokens(second).consume(used, 'email_verify'), 'token_used', 'consumed one-time token')
        const th2 = new Throttle(second, { freeAttempts: 2, baseDelay: 60 })
        const err = await expectCode(PolyauthError, () => th2.check(key), 'rate_limited', 'lock visible')
        assert.ok(err.retryAfter >= 1)
        assert.equal((await th2.fail(key)).failures, 4, 'counter visible')
      })
    })
  }
})

describe('Sessions options', () => {
  const store = Store.open('memory://')
  test('negative, fractional and out-of-range durations are rejected, not wrapped modulo 2^32', async () => {
    const tokens = tokensFor()
    for (const options of [{ idleTtl: -1 }, { refreshTtl: -1 }, { reuseGrace: -1 }, { refreshTtl: 2 ** 32 + 10 }, { idleTtl: 1.9 }, { idleTtl: Number.NaN }]) {
      let err
      try {
        new Sessions(await store, tokens, options)
      } catch (e) {
        err = e
      }
      assert.ok(err instanceof TypeError || (err instanceof PolyauthError && err.code === 'invalid_config'), `${JSON.stringify(options)} (${String(options.idleTtl ?? options.refreshTtl ?? options.reuseGrace)}): accepted`)
    }
  })
})

describe('Store.open', { concurrency: true }, () => {
  test('a URL that is not a string is a TypeError (the invalid URLs are vectors/errors.json)', async () => {
    await assert.rejects(() => Store.open(42), TypeError)
  })

  test('unreachable PostgreSQL and Redis are store_unavailable within 10 s', async () => {
    await Promise.all(
      ['postgres://postgres@127.0.0.1:1/postgres', 'redis://127.0.0.1:1'].map(async (url) => {
        const started = performance.now()
        await expectCode(PolyauthError, () => Store.open(withNamespace(url)), 'store_unavailable', url)
        const ms = performance.now() - started
        assert.ok(ms < 10_000, `${url}: took ${Math.round(ms)} ms`)
      }),
    )
  })

  test('Store.migrationsSql() mentions every polyauth_ table', async () => {
    const sql = Store.migrationsSql()
    assert.equal(typeof sql, 'string')
    const expected = new Set(['polyauth_schema_version', 'polyauth_sessions', 'polyauth_refresh_tokens', 'polyauth_one_time_tokens', 'polyauth_throttle', 'polyauth_mfa_factors', 'polyauth_mfa_recovery_codes', 'polyauth_accounts'])
    // The tables a migrated SQLite file really has (read with Python's sqlite3 when available).
    const url = tempSqliteUrl()
    await Store.open(url)
    const py = spawnSync('python3', ['-c', 'import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); print(json.dumps([r[0] for r in c.execute("select name from sqlite_master where type=\'table\'")]))', url.slice('sqlite://'.length)], { encoding: 'utf8' })
    if (py.status === 0) {
      const actual = JSON.parse(py.stdout).filter((n) => n.startsWith('polyauth_'))
      assert.ok(actual.length >= 4, `tables: ${actual}`)
      for (const t of actual) expected.add(t)
    }
    for (const table of expected) assert.match(sql, new RegExp(`CREATE TABLE IF NOT EXISTS ${table}\\b`), table)
    assert.ok(!/\$\{|undefined/.test(sql))
  })

  test('backend names', async () => {
    const seen = []
    for (const b of BACKENDS) {
      if (b.skip) continue
      seen.push((await Store.open(b.url())).backend)
    }
    assert.deepEqual(seen, BACKENDS.filter((b) => !b.skip).map((b) => b.name))
    assert.ok(TEST_POSTGRES_URL.startsWith('postgres') && TEST_REDIS_URL.startsWith('redis'))
  })
})

describe('Store.ping', () => {
  for (const backend of BACKENDS) {
    test(`${backend.name}: one round trip through the store's own connection`, { skip: backend.skip }, async () => {
      const store = await Store.open(backend.url())
      assert.equal(await store.ping(), undefined)
    })
  }
})
