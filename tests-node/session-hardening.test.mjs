// Session hardening on every backend (DESIGN.md §6, §7 RT-5, RT-8): only the newest generation
// rotates, a refresh sent to another service writes nothing, logout by refresh token, the readable
// settings, Store.purgeExpired and Store.open(url, { migrate: false }). Mirrors
// tests-python/test_session_hardening.py.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { KeySet, OneTimeTokens, PolyauthError, Sessions, Store, Tokens } from 'polyauth'
import { TEST_POSTGRES_URL, expectCode, servicesRequired, storeBackends, tempDir, withNamespace } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const KEYS = KeySet.generate('EdDSA')
const DAY = 86400
const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`
const tokensFor = (issuer = 'https://issuer.example', audience = 'api') => new Tokens(KEYS, { issuer, audience })

describe('session hardening on every backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      test('a grace sibling cannot fork the session (RT-5)', async () => {
        const sessions = new Sessions(await Store.open(backend.url()), tokensFor(), { reuseGrace: 30 })
        const p0 = await sessions.start(unique('u'))
        const p1 = await sessions.refresh(p0.refreshToken)
        const a1 = await sessions.refresh(p0.refreshToken) // graced: a sibling of p1
        assert.equal(a1.sessionId, p0.sessionId)
        const p2 = await sessions.refresh(p1.refreshToken)
        await expectCode(PolyauthError, () => sessions.refresh(a1.refreshToken), 'refresh_reused', 'stale sibling')
        assert.equal(await sessions.isActive(p0.sessionId), false)
        await expectCode(PolyauthError, () => sessions.refresh(p2.refreshToken), 'session_revoked')
      })

      test('racing refreshes inside the grace window all succeed, then only the newest generation goes on', async () => {
        const sessions = new Sessions(await Store.open(backend.url()), tokensFor(), { reuseGrace: 30 })
        const p0 = await sessions.start(unique('u'))
        const p1 = await sessions.refresh(p0.refreshToken)
        const racers = await Promise.all(Array.from({ length: 8 }, () => sessions.refresh(p0.refreshToken)))
        assert.deepEqual(new Set(racers.map((r) => r.sessionId)), new Set([p0.sessionId]))
        await sessions.refresh(racers[0].refreshToken)
        await expectCode(PolyauthError, () => sessions.refresh(p1.refreshToken), 'refresh_reused')
      })

      test('a refresh sent to another service leaves the token usable (RT-8)', async () => {
        const store = await Store.open(backend.url())
        const owner = new Sessions(store, tokensFor('https://tenant-a', 'api'))
        const otherAudience = new Sessions(store, tokensFor('https://tenant-a', 'billing'))
        const otherIssuer = new Sessions(store, tokensFor('https://tenant-b', 'api'))
        const pair = await owner.start(unique('u'))
        for (let i = 0; i < 2; i++) {
          await expectCode(PolyauthError, () => otherAudience.refresh(pair.refreshToken), 'invalid_audience')
          await expectCode(PolyauthError, () => otherIssuer.refresh(pair.refreshToken), 'invalid_issuer')
          assert.equal(await otherIssuer.revokeRefreshToken(pair.refreshToken), false)
        }
        const next = await owner.refresh(pair.refreshToken)
        assert.equal(await owner.isActive(pair.sessionId), true)
        await owner.refresh(next.refreshToken)
        // The audience is compared as a list: ["a b"] is not ["a", "b"].
        const joined = new Sessions(store, tokensFor('https://tenant-a', 'a b'))
        const split = new Sessions(store, tokensFor('https://tenant-a', ['a', 'b']))
        const p = await joined.start(unique('u'))
        await expectCode(PolyauthError, () => split.refresh(p.refreshToken), 'invalid_audience')
        await joined.refresh(p.refreshToken)
      })

      test('revokeRefreshToken logs a session out by any of its tokens', async () => {
        const sessions = new Sessions(await Store.open(backend.url()), tokensFor())
        const pair = await sessions.start(unique('u'))
        const next = await sessions.refresh(pair.refreshToken)
        assert.equal(await sessions.revokeRefreshToken(pair.refreshToken), true)
        assert.equal(await sessions.isActive(pair.sessionId), false)
        assert.equal(await sessions.revokeRefreshToken(next.refreshToken), false)
        await expectCode(PolyauthError, () => sessions.refresh(next.refreshToken), 'session_revoked')
        assert.equal(await sessions.revokeRefreshToken('prt_' + 'A'.repeat(43)), false)
        for (const bad of ['', 'prt_', 'nope', 'prt_' + '!'.repeat(43), 'prt_' + 'A'.repeat(44)]) {
          await expectCode(PolyauthError, () => sessions.revokeRefreshToken(bad), 'invalid_token', JSON.stringify(bad))
        }
      })

      test('purgeExpired removes ended sessions and keeps reuse detection', async () => {
        const store = await Store.open(backend.url())
        const sessions = new Sessions(store, tokensFor())
        const live = await sessions.start(unique('u'))
        const next = await sessions.refresh(live.refreshToken)
        const ended = await sessions.start(unique('u'))
        assert.equal(await sessions.revoke(ended.sessionId), true)
        const otk = new OneTimeTokens(store)
        const used = await otk.issue(unique('u'), 'verify')
        await otk.consume(used, 'verify')
        assert.equal(await store.purgeExpired(), 0, 'nothing within a day of ending')
        await expectCode(PolyauthError, () => sessions.refresh(ended.refreshToken), 'session_revoked')
        const removed = await store.purgeExpired({ now: Math.floor(Date.now() / 1000) + 2 * DAY })
        assert.ok(removed >= (store.backend === 'redis' ? 2 : 3), `removed ${removed}`)
        await expectCode(PolyauthError, () => sessions.refresh(ended.refreshToken), 'invalid_token')
        await expectCode(PolyauthError, () => sessions.refresh(live.refreshToken), 'refresh_reused')
        await expectCode(PolyauthError, () => sessions.refresh(next.refreshToken), 'session_revoked')
      })
    })
  }
})

describe('Sessions settings and Store.open without migrations', () => {
  test('refreshTtl, idleTtl and reuseGrace are readable, not writable', async () => {
    const store = await Store.open('memory://')
    const s = new Sessions(store, tokensFor(), { refreshTtl: 10 * DAY, idleTtl: DAY, reuseGrace: 15 })
    assert.deepEqual([s.refreshTtl, s.idleTtl, s.reuseGrace], [10 * DAY, DAY, 15])
    const d = new Sessions(store, tokensFor())
    assert.deepEqual([d.refreshTtl, d.idleTtl, d.reuseGrace], [30 * DAY, 7 * DAY, 0])
    assert.throws(() => {
      d.reuseGrace = 30
    }, TypeError)
  })

  test('purgeExpired refuses a bad clock', async () => {
    const store = await Store.open('memory://')
    for (const now of [-1, 1.5, Number.NaN, Infinity]) {
      await expectCode(PolyauthError, () => store.purgeExpired({ now }), 'invalid_input', String(now))
    }
  })

  test('SQLite: migrate false refuses an unmigrated or older schema and opens a current one', async () => {
    const dir = tempDir()
    await expectCode(PolyauthError, () => Store.open(`sqlite://${dir}/empty.db`, { migrate: false }), 'invalid_config')
    // An owner applies the printed SQL (here through Python's sqlite3 in a child process).
    const apply = (file, sql) => {
      const r = spawnSync('python3', ['-c', 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).executescript(sys.stdin.read())', file], { input: sql, encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
    }
    apply(`${dir}/app.db`, Store.migrationsSql())
    const sessions = new Sessions(await Store.open(`sqlite://${dir}/app.db`, { migrate: false }), tokensFor())
    const pair = await sessions.start('u')
    await sessions.refresh(pair.refreshToken)
    apply(`${dir}/old.db`, Store.migrationsSql().split('-- polyauth migration 3')[0])
    await expectCode(PolyauthError, () => Store.open(`sqlite://${dir}/old.db`, { migrate: false }), 'invalid_config')
    await Store.open(`sqlite://${dir}/old.db`)
    await Store.open(`sqlite://${dir}/old.db`, { migrate: false })
  })

  test('PostgreSQL: migrate false refuses a schema nobody migrated', async (t) => {
    const url = withNamespace(TEST_POSTGRES_URL)
    try {
      await Store.open(url, { migrate: false })
      assert.fail('an unmigrated schema was accepted')
    } catch (e) {
      if (e?.code === 'store_unavailable' && !servicesRequired()) return t.skip('postgres unreachable')
      assert.equal(e?.code, 'invalid_config', e?.message)
    }
    await Store.open(url)
    await Store.open(url, { migrate: false })
  })
})
