// Session hardening (DESIGN.md §6, §7 RT-5): racing refreshes inside the grace window, the readable
// settings, Store.purgeExpired's clock and Store.open(url, { migrate: false }). Mirrors
// tests-python/test_session_hardening.py; the scenarios (only the newest generation rotates, a
// refresh sent to another service writes nothing, logout by refresh token, purging) are
// vectors/sessions.json, run by scenario-vectors.test.mjs.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { KeySet, PolyauthError, Sessions, Store, Tokens } from 'polyauth'
import { TEST_POSTGRES_URL, expectCode, servicesRequired, storeBackends, tempDir, withNamespace } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const KEYS = KeySet.generate('EdDSA')
const DAY = 86400
const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`
const tokensFor = (issuer = 'https://issuer.example', audience = 'api') => new Tokens(KEYS, { issuer, audience })

describe('session hardening on every backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {

      test('racing refreshes inside the grace window all succeed, then only the newest generation goes on', async () => {
        const sessions = new Sessions(await Store.open(backend.url()), tokensFor(), { reuseGrace: 30 })
        const p0 = await sessions.start(unique('u'))
        const p1 = await sessions.refresh(p0.refreshToken)
        const racers = await Promise.all(Array.from({ length: 8 }, () => sessions.refresh(p0.refreshToken)))
        assert.deepEqual(new Set(racers.map((r) => r.sessionId)), new Set([p0.sessionId]))
        await sessions.refresh(racers[0].refreshToken)
        await expectCode(PolyauthError, () => sessions.refresh(p1.refreshToken), 'refresh_reused')
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
