// Sessions with refresh-token rotation (DESIGN.md §4, §6, §7 RT-1..RT-9) over every store backend:
// memory, SQLite (a temporary file), PostgreSQL and Redis, each test on a fresh polyauth_namespace.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { KeySet, OneTimeTokens, PolyauthError, Sessions, Store, Throttle, Tokens } from 'polyauth'
import {
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  decodeJwt,
  expectCode,
  sleep,
  storeBackends,
  tempSqliteUrl,
  withNamespace,
} from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const ISSUER = 'https://issuer.example'
const KEYS = KeySet.generate('EdDSA')
const REFRESH_RE = /^prt_[A-Za-z0-9_-]{43}$/

function tokensFor(audience = 'api') {
  return new Tokens(KEYS, { issuer: ISSUER, audience })
}

const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** Asserts that `promise` rejects with a PolyauthError whose code is one of `codes`; returns the code. */
async function rejectsWithOneOf(promise, codes, message) {
  try {
    await promise
  } catch (e) {
    assert.ok(e instanceof PolyauthError, `${message}: expected PolyauthError, got ${e?.constructor?.name}: ${e?.message}`)
    assert.ok(codes.includes(e.code), `${message}: code ${e.code} not in ${codes.join(', ')} (${e.message})`)
    return e.code
  }
  assert.fail(`${message}: resolved, expected one of ${codes.join(', ')}`)
}

const CLAIMS = { scope: 'read write', roles: ['admin', 'dev'], amr: ['pwd', 'otp'] }

describe('sessions over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async () => {
        const store = await Store.open(backend.url())
        assert.equal(store.backend, backend.name)
        return store
      }

      test('start issues a prt_ refresh token and an access token with sid and the claims; refresh rotates; reuse revokes the family (RT-1..RT-3)', async () => {
        const tokens = tokensFor()
        const sessions = new Sessions(await open(), tokens)
        const subject = unique('user')
        const before = nowSeconds()
        const p0 = await sessions.start(subject, { claims: CLAIMS, meta: { userAgent: 'ua', ip: '203.0.113.5' } })
        assert.match(p0.refreshToken, REFRESH_RE)
        assert.equal(p0.refreshToken.length, 47)
        assert.equal(typeof p0.sessionId, 'string')
        assert.ok(p0.sessionId.length > 0)
        assert.equal(p0.expiresIn, 900)
        const expectedEnd = before + 30 * 86400
        assert.ok(p0.refreshExpiresAt >= expectedEnd && p0.refreshExpiresAt <= expectedEnd + 5, `refreshExpiresAt ${p0.refreshExpiresAt}`)
        assert.equal(decodeJwt(p0.accessToken).header.typ, 'at+jwt')
        const c0 = tokens.verify(p0.accessToken)
        assert.equal(c0.sid, p0.sessionId)
        assert.equal(c0.sub, subject)
        assert.equal(c0.iss, ISSUER)
        assert.equal(c0.aud, 'api')
        assert.equal(c0.scope, CLAIMS.scope)
        assert.deepEqual(c0.roles, CLAIMS.roles)
        assert.deepEqual(c0.amr, CLAIMS.amr)
        assert.equal(await sessions.isActive(p0.sessionId), true)

        const seenRefresh = new Set([p0.refreshToken])
        const seenJti = new Set([c0.jti])
        const chain = [p0]
        for (let i = 0; i < 3; i++) {
          const prev = chain[chain.length - 1]
          const next = await sessions.refresh(prev.refreshToken)
          assert.match(next.refreshToken, REFRESH_RE)
          assert.ok(!seenRefresh.has(next.refreshToken), 'every refresh gives a new refresh token (RT-2)')
          seenRefresh.add(next.refreshToken)
          assert.equal(next.sessionId, p0.sessionId, 'same session')
          assert.equal(next.refreshExpiresAt, p0.refreshExpiresAt, 'the absolute lifetime does not move')
          assert.equal(next.expiresIn, 900)
          const c = tokens.verify(next.accessToken)
          assert.equal(c.sid, p0.sessionId)
          assert.equal(c.sub, subject)
          assert.equal(c.scope, CLAIMS.scope)
          assert.deepEqual(c.roles, CLAIMS.roles)
          assert.deepEqual(c.amr, CLAIMS.amr)
          assert.ok(!seenJti.has(c.jti), 'fresh jti')
          seenJti.add(c.jti)
          chain.push(next)
        }
        // Reuse of an old token revokes the whole family, including the newest token (RT-3).
        await expectCode(PolyauthError, () => sessions.refresh(chain[1].refreshToken), 'refresh_reused', 'reused token')
        await expectCode(PolyauthError, () => sessions.refresh(chain[3].refreshToken), 'session_revoked', 'newest token after reuse')
        assert.equal(await sessions.isActive(p0.sessionId), false)
        assert.deepEqual(await sessions.list(subject), [])
        // Every other token of the family stays dead.
        for (const p of [p0, chain[2]]) {
          await rejectsWithOneOf(sessions.refresh(p.refreshToken), ['refresh_reused', 'session_revoked'], 'old token of a revoked family')
        }
        assert.equal(await sessions.revoke(p0.sessionId), false, 'already revoked')
      })

      test('grace window: the immediate parent within reuseGrace gives the same session, a grandparent is reuse (RT-5)', async () => {
        const tokens = tokensFor()
        const sessions = new Sessions(await open(), tokens, { reuseGrace: 5 })
        const p0 = await sessions.start(unique('grace'))
        const p1 = await sessions.refresh(p0.refreshToken)
        const again = await sessions.refresh(p0.refreshToken)
        assert.equal(again.sessionId, p0.sessionId, 'graced parent: same session')
        assert.match(again.refreshToken, REFRESH_RE)
        assert.notEqual(again.refreshToken, p1.refreshToken)
        assert.equal(tokens.verify(again.accessToken).sid, p0.sessionId)
        assert.equal(await sessions.isActive(p0.sessionId), true)
        const p2 = await sessions.refresh(p1.refreshToken)
        // p0 is now a grandparent: reuse, even inside the window.
        await expectCode(PolyauthError, () => sessions.refresh(p0.refreshToken), 'refresh_reused', 'grandparent')
        await expectCode(PolyauthError, () => sessions.refresh(p2.refreshToken), 'session_revoked', 'newest after reuse')
        assert.equal(await sessions.isActive(p0.sessionId), false)
        // Without a grace window (the default) the parent is reuse straight away.
        const strict = new Sessions(await open(), tokens)
        const q0 = await strict.start(unique('strict'))
        const q1 = await strict.refresh(q0.refreshToken)
        await expectCode(PolyauthError, () => strict.refresh(q0.refreshToken), 'refresh_reused', 'parent without grace')
        await expectCode(PolyauthError, () => strict.refresh(q1.refreshToken), 'session_revoked', 'child after reuse')
      })

      test('idle lifetime: a session unused longer than idleTtl ends (RT-6)', async () => {
        const sessions = new Sessions(await open(), tokensFor(), { idleTtl: 1 })
        const subject = unique('idle')
        const p = await sessions.start(subject)
        assert.equal(await sessions.isActive(p.sessionId), true)
        await sleep(2100)
        assert.equal(await sessions.isActive(p.sessionId), false)
        assert.deepEqual(await sessions.list(subject), [])
        await expectCode(PolyauthError, () => sessions.refresh(p.refreshToken), 'session_expired', 'idle session')
      })

      test('absolute lifetime: refreshing every 0.8 s does not extend refreshTtl (RT-6)', async () => {
        const sessions = new Sessions(await open(), tokensFor(), { refreshTtl: 2 })
        const started = performance.now()
        const p0 = await sessions.start(unique('absolute'))
        let token = p0.refreshToken
        let rotations = 0
        let code
        for (let i = 1; i <= 6 && code === undefined; i++) {
          await sleep(started + 800 * i - performance.now())
          try {
            const next = await sessions.refresh(token)
            assert.equal(next.refreshExpiresAt, p0.refreshExpiresAt)
            token = next.refreshToken
            rotations++
          } catch (e) {
            assert.ok(e instanceof PolyauthError, String(e))
            code = e.code
          }
        }
        const elapsed = performance.now() - started
        assert.equal(code, 'session_expired')
        assert.ok(rotations >= 1, 'the first refresh (0.8 s) is inside the lifetime')
        assert.ok(elapsed >= 1000 && elapsed < 4000, `expired after ${Math.round(elapsed)} ms`)
        assert.equal(await sessions.isActive(p0.sessionId), false)
      })

      test('revoke, revokeAll, list (meta kept, newest first, revoked absent) and isActive (RT-7)', async () => {
        const tokens = tokensFor()
        const sessions = new Sessions(await open(), tokens)
        const subject = unique('lister')
        const other = unique('other')
        const a = await sessions.start(subject, { claims: { scope: 'a' }, meta: { userAgent: 'agent-A', ip: '198.51.100.1' } })
        await sleep(1100) // listing order is by creation second
        const b = await sessions.start(subject, { meta: { userAgent: 'agent-B', ip: '198.51.100.2' } })
        const c = await sessions.start(subject, { meta: { userAgent: 'agent-C', ip: '2001:db8::c' } })
        const d = await sessions.start(other, { meta: { userAgent: 'agent-D' } })
        const metaOf = { [a.sessionId]: ['agent-A', '198.51.100.1'], [b.sessionId]: ['agent-B', '198.51.100.2'], [c.sessionId]: ['agent-C', '2001:db8::c'] }

        const listed = await sessions.list(subject)
        assert.equal(listed.length, 3)
        assert.deepEqual(new Set(listed.map((s) => s.sessionId)), new Set([a.sessionId, b.sessionId, c.sessionId]))
        assert.equal(listed[2].sessionId, a.sessionId, 'the oldest session is last')
        for (let i = 1; i < listed.length; i++) assert.ok(listed[i - 1].createdAt >= listed[i].createdAt, 'newest first')
        for (const s of listed) {
          assert.equal(s.subject, subject)
          assert.deepEqual([s.meta.userAgent, s.meta.ip], metaOf[s.sessionId])
          assert.ok(s.expiresAt > s.createdAt && s.lastUsedAt >= s.createdAt)
        }
        assert.deepEqual(listed[2].claims, { scope: 'a' })
        for (const p of [a, b, c, d]) assert.equal(await sessions.isActive(p.sessionId), true)

        assert.equal(await sessions.revoke(b.sessionId), true)
        assert.equal(await sessions.revoke(b.sessionId), false, 'second revoke')
        assert.equal(await sessions.isActive(b.sessionId), false)
        assert.deepEqual((await sessions.list(subject)).map((s) => s.sessionId), [c.sessionId, a.sessionId], 'revoked session absent')
        await expectCode(PolyauthError, () => sessions.refresh(b.refreshToken), 'session_revoked', 'revoked session')

        // Refreshing keeps the session listed once, with its meta.
        const a1 = await sessions.refresh(a.refreshToken)
        const afterRefresh = await sessions.list(subject)
        assert.equal(afterRefresh.length, 2)
        assert.equal(afterRefresh.find((s) => s.sessionId === a.sessionId)?.meta.userAgent, 'agent-A')

        assert.equal(await sessions.revokeAll(subject), 2)
        assert.equal(await sessions.revokeAll(subject), 0, 'nothing left to revoke')
        for (const p of [a, b, c]) assert.equal(await sessions.isActive(p.sessionId), false)
        assert.deepEqual(await sessions.list(subject), [])
        await expectCode(PolyauthError, () => sessions.refresh(a1.refreshToken), 'session_revoked', 'after revokeAll')
        await expectCode(PolyauthError, () => sessions.refresh(c.refreshToken), 'session_revoked', 'after revokeAll')
        // Another subject is untouched.
        assert.equal(await sessions.isActive(d.sessionId), true)
        assert.deepEqual((await sessions.list(other)).map((s) => s.sessionId), [d.sessionId])
        const d1 = await sessions.refresh(d.refreshToken)
        assert.equal(d1.sessionId, d.sessionId)
      })

      test('RT-8: a refresh token only refreshes through Sessions of its own audience', async () => {
        const store = await open()
        const api = new Sessions(store, tokensFor('api'))
        const other = new Sessions(store, tokensFor('other'))
        const p = await api.start(unique('aud'), { claims: { scope: 'read' } })
        await expectCode(PolyauthError, () => other.refresh(p.refreshToken), 'invalid_audience', 'api token via other')
        // Presenting it again through the wrong audience never yields tokens either.
        await rejectsWithOneOf(other.refresh(p.refreshToken), ['invalid_audience', 'refresh_reused', 'session_revoked'], 'second attempt')
        const q = await other.start(unique('aud'))
        await expectCode(PolyauthError, () => api.refresh(q.refreshToken), 'invalid_audience', 'other token via api')
        // A fresh session of the right audience still works.
        const r = await api.start(unique('aud'))
        const r1 = await api.refresh(r.refreshToken)
        assert.equal(tokensFor('api').verify(r1.accessToken).aud, 'api')
      })

      test('malformed, foreign, truncated, oversized and unknown refresh tokens are invalid_token; unknown ids are inactive', async () => {
        const store = await open()
        const sessions = new Sessions(store, tokensFor())
        const p = await sessions.start(unique('bad'))
        const body = p.refreshToken.slice(4)
        const pot = await new OneTimeTokens(store).issue(unique('bad'), 'email_verify')
        const bad = [
          '',
          'prt_',
          'prt_short',
          `pot_${body}`,
          pot,
          `PRT_${body}`,
          p.refreshToken.slice(0, -1),
          p.refreshToken.slice(0, 20),
          `${p.refreshToken}x`,
          ` ${p.refreshToken}`,
          `${p.refreshToken}\n`,
          `prt_${'!'.repeat(43)}`,
          `prt_${body.slice(0, 41)}+/`,
          `prt_${body.slice(0, 42)}=`,
          `prt_${'A'.repeat(1024 * 1024)}`,
          `${p.refreshToken}${'A'.repeat(1024 * 1024)}`,
          `prt_${randomBytes(32).toString('base64url')}`, // well formed, unknown
          p.accessToken,
        ]
        for (const t of bad) {
          await expectCode(PolyauthError, () => sessions.refresh(t), 'invalid_token', `refresh(${JSON.stringify(t.slice(0, 60))}…[${t.length}])`)
        }
        // None of that touched the real session.
        assert.equal(await sessions.isActive(p.sessionId), true)
        const p1 = await sessions.refresh(p.refreshToken)
        assert.equal(p1.sessionId, p.sessionId)

        for (const sid of ['nope', 'x'.repeat(4096), randomBytes(16).toString('base64url'), p.refreshToken]) {
          assert.equal(await sessions.isActive(sid), false, `isActive(${sid.slice(0, 30)})`)
          assert.equal(await sessions.revoke(sid), false, `revoke(${sid.slice(0, 30)})`)
        }
        assert.equal(await sessions.revokeAll(unique('nobody')), 0)
        assert.deepEqual(await sessions.list(unique('nobody')), [])
        assert.equal(await sessions.isActive(p.sessionId), true, 'unknown ids revoked nothing')
      })

      test('wrong argument types are TypeErrors; bad options and reserved claims are rejected', async () => {
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

        // A number of the wrong type is invalid_config, as in Python (vectors/argument-checks.json).
        for (const options of [{ idleTtl: 0 }, { refreshTtl: 0 }, { reuseGrace: 301 }, { refreshTtl: 401 * 86400 }, { refreshTtl: 'long' }, { idleTtl: true }]) {
          await expectCode(PolyauthError, () => new Sessions(store, tokens, options), 'invalid_config', JSON.stringify(options))
        }
        for (const claims of [{ sid: 'x' }, { sub: 'x' }, { exp: 1 }, { iss: 'x' }, { aud: 'x' }, { jti: 'x' }]) {
          await expectCode(PolyauthError, () => sessions.start('u', { claims }), 'invalid_input', `claims ${JSON.stringify(claims)}`)
        }
        await expectCode(PolyauthError, () => sessions.start('u', { meta: { blob: 'x'.repeat(17 * 1024) } }), 'invalid_input', 'meta over 16 KiB')
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
  test('invalid URLs are invalid_config', async () => {
    for (const url of ['nope', 'ftp://x', 'mysql://x', 'postgres://', 'sqlite://:memory:', '', 'redis://', 'sqlite://']) {
      await expectCode(PolyauthError, () => Store.open(url), 'invalid_config', `Store.open(${JSON.stringify(url)})`)
    }
    for (const ns of ['UPPER', '', 'a-b', 'x'.repeat(41), 'pg_catalog']) {
      await expectCode(PolyauthError, () => Store.open(`${tempSqliteUrl()}?polyauth_namespace=${ns}`), 'invalid_config', `sqlite namespace ${JSON.stringify(ns)}`)
      await expectCode(PolyauthError, () => Store.open(`postgres://postgres@127.0.0.1:1/postgres?polyauth_namespace=${ns}`), 'invalid_config', `postgres namespace ${JSON.stringify(ns)}`)
      if (ns.startsWith('pg_')) continue // a PostgreSQL schema rule only
      await expectCode(PolyauthError, () => Store.open(`redis://127.0.0.1:1?polyauth_namespace=${ns}`), 'invalid_config', `redis namespace ${JSON.stringify(ns)}`)
    }
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
