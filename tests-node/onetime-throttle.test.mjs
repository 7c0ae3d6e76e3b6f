// One-time tokens and throttling (DESIGN.md §4, §6, §7 RL-1) over every store backend: memory,
// SQLite (a temporary file), PostgreSQL and Redis, each test on a fresh polyauth_namespace.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { KeySet, OneTimeTokens, PolyauthError, Sessions, Store, Throttle, Tokens } from 'polyauth'
import { expectCode, sleep, storeBackends } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const ONE_TIME_RE = /^pot_[A-Za-z0-9_-]{43}$/

const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`
const nowSeconds = () => Math.floor(Date.now() / 1000)
/** `lockedUntil` of a key locked until reset (2^53 - 1). */
const LOCKED_FOREVER = Number.MAX_SAFE_INTEGER

describe('one-time tokens and throttling over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async () => {
        const store = await Store.open(backend.url())
        assert.equal(store.backend, backend.name)
        return store
      }

      test('issue and consume once, with data; reuse is token_used', async () => {
        const otk = new OneTimeTokens(await open())
        const subject = unique('user')
        const data = { email: 'a@example.com', nested: { n: 1, list: [true, null, 'é✓'] } }
        const t = await otk.issue(subject, 'password_reset', { ttl: 600, data })
        assert.match(t, ONE_TIME_RE)
        assert.equal(t.length, 47)
        assert.deepEqual(await otk.consume(t, 'password_reset'), { subject, data })
        await expectCode(PolyauthError, () => otk.consume(t, 'password_reset'), 'token_used', 'second consume')
        await expectCode(PolyauthError, () => otk.consume(t, 'password_reset'), 'token_used', 'third consume')
        // Without data (default ttl).
        const bare = await otk.issue(subject, 'email_verify')
        assert.notEqual(bare, t)
        const consumed = await otk.consume(bare, 'email_verify')
        assert.equal(consumed.subject, subject)
        assert.ok(consumed.data === undefined || consumed.data === null, `data: ${JSON.stringify(consumed.data)}`)
        // Scalar data survives too.
        const scalar = await otk.issue(subject, 'magic', { data: 'plain string' })
        assert.deepEqual(await otk.consume(scalar, 'magic'), { subject, data: 'plain string' })
      })

      test('a wrong purpose is invalid_type and leaves the token consumable with the right one', async () => {
        const otk = new OneTimeTokens(await open())
        const t = await otk.issue('user-9', 'password_reset', { data: { k: 'v' } })
        await expectCode(PolyauthError, () => otk.consume(t, 'email_verify'), 'invalid_type', 'wrong purpose')
        await expectCode(PolyauthError, () => otk.consume(t, 'PASSWORD_RESET'), 'invalid_type', 'purpose is case-sensitive')
        assert.deepEqual(await otk.consume(t, 'password_reset'), { subject: 'user-9', data: { k: 'v' } })
        await expectCode(PolyauthError, () => otk.consume(t, 'password_reset'), 'token_used', 'after consumption')
      })

      test('an expired token is token_expired', async () => {
        const otk = new OneTimeTokens(await open())
        const t = await otk.issue(unique('user'), 'magic_link', { ttl: 1 })
        const fresh = await otk.issue(unique('user'), 'magic_link', { ttl: 60 })
        await sleep(2100)
        await expectCode(PolyauthError, () => otk.consume(t, 'magic_link'), 'token_expired', 'ttl 1 after 2.1 s')
        await expectCode(PolyauthError, () => otk.consume(t, 'magic_link'), 'token_expired', 'still expired, not used')
        assert.equal((await otk.consume(fresh, 'magic_link')).data ?? null, null)
      })

      test('malformed, foreign and unknown tokens are invalid_token', async () => {
        const store = await open()
        const otk = new OneTimeTokens(store)
        const t = await otk.issue(unique('user'), 'magic')
        const body = t.slice(4)
        const keys = KeySet.generate('EdDSA')
        const session = await new Sessions(store, new Tokens(keys, { issuer: 'https://i.example', audience: 'api' })).start(unique('user'))
        for (const bad of [
          '',
          'pot_',
          'pot_nope',
          `prt_${body}`,
          session.refreshToken,
          `POT_${body}`,
          t.slice(0, -1),
          `${t}x`,
          ` ${t}`,
          `pot_${'!'.repeat(43)}`,
          `pot_${'A'.repeat(1024 * 1024)}`,
          `pot_${randomBytes(32).toString('base64url')}`,
          session.accessToken,
        ]) {
          await expectCode(PolyauthError, () => otk.consume(bad, 'magic'), 'invalid_token', `consume(${JSON.stringify(bad.slice(0, 50))}…[${bad.length}])`)
        }
        // The real token was never touched.
        assert.equal((await otk.consume(t, 'magic')).data ?? null, null)
      })

      test('100 concurrent consumes: exactly one succeeds', async () => {
        const otk = new OneTimeTokens(await open())
        for (let rep = 0; rep < 2; rep++) {
          const t = await otk.issue('racer', 'magic', { data: { rep } })
          const results = await Promise.allSettled(Array.from({ length: 100 }, () => otk.consume(t, 'magic')))
          const ok = results.filter((r) => r.status === 'fulfilled')
          assert.equal(ok.length, 1, `rep ${rep}: exactly one consume wins`)
          assert.deepEqual(ok[0].value, { subject: 'racer', data: { rep } })
          for (const r of results.filter((x) => x.status === 'rejected')) {
            assert.ok(r.reason instanceof PolyauthError, String(r.reason))
            assert.equal(r.reason.code, 'token_used')
          }
        }
      })

      test('issue validates its input', async () => {
        const otk = new OneTimeTokens(await open())
        for (const [subject, purpose, options, what] of [
          ['u', '', {}, 'empty purpose'],
          ['u', 'p'.repeat(65), {}, 'purpose over 64 bytes'],
          ['', 'p', {}, 'empty subject'],
          ['u'.repeat(1025), 'p', {}, 'subject over 1024 bytes'],
          ['u', 'p', { ttl: 0 }, 'ttl 0'],
          ['u', 'p', { ttl: 30 * 86400 + 1 }, 'ttl over 30 days'],
          ['u', 'p', { data: { blob: 'x'.repeat(17 * 1024) } }, 'data over 16 KiB'],
        ]) {
          await expectCode(PolyauthError, () => otk.issue(subject, purpose, options), 'invalid_input', what)
        }
        await assert.rejects(() => otk.issue(5, 'p'), TypeError)
        await assert.rejects(() => otk.issue('u', null), TypeError)
        await expectCode(PolyauthError, () => otk.issue('u', 'p', { ttl: 'soon' }), 'invalid_input', 'ttl soon')
        await assert.rejects(() => otk.issue('u', 'p', { data: () => 1 }), TypeError)
        await assert.rejects(() => otk.consume(5, 'p'), TypeError)
        await assert.rejects(() => otk.consume('pot_x', undefined), TypeError)
      })

      test('throttle: 5 free failures, the 6th locks with backoff, reset clears (RL-1)', async () => {
        const store = await open()
        const th = new Throttle(store, { baseDelay: 30, maxDelay: 45 })
        const key = unique('login')
        for (let i = 1; i <= 5; i++) {
          await th.check(key)
          const c = await th.fail(key)
          assert.equal(c.failures, i)
          assert.ok(c.lockedUntil <= nowSeconds(), `free failure ${i} does not lock (lockedUntil ${c.lockedUntil})`)
        }
        await th.check(key)
        const sixth = await th.fail(key)
        assert.equal(sixth.failures, 6)
        const now = nowSeconds()
        assert.ok(sixth.lockedUntil >= now + 28 && sixth.lockedUntil <= now + 30, `6th: lockedUntil ${sixth.lockedUntil - now} s ahead`)
        const err = await expectCode(PolyauthError, () => th.check(key), 'rate_limited', 'after the 6th failure')
        assert.equal(typeof err.retryAfter, 'number')
        assert.ok(err.retryAfter >= 1 && err.retryAfter <= 30, `retryAfter ${err.retryAfter}`)
        const seventh = await th.fail(key)
        assert.equal(seventh.failures, 7)
        assert.ok(seventh.lockedUntil - nowSeconds() >= 43 && seventh.lockedUntil - nowSeconds() <= 45, 'doubled, capped at maxDelay')
        // Other keys are independent.
        await th.check(unique('login'))
        await th.reset(key)
        await th.check(key)
        assert.equal((await th.fail(key)).failures, 1, 'the count starts over after reset')
        await th.reset(key)
        await th.reset(unique('never-failed'))
      })

      test('throttle: maxFailures locks until reset (RL-1 ceiling)', async () => {
        const th = new Throttle(await open(), { freeAttempts: 0, baseDelay: 1, maxDelay: 1, maxFailures: 4, resetAfter: 3600 })
        const key = unique('ceiling')
        let c
        for (let i = 0; i < 4; i++) c = await th.fail(key)
        assert.equal(c.failures, 4)
        assert.ok(c.lockedUntil - nowSeconds() >= 3598, `locked for resetAfter, got ${c.lockedUntil - nowSeconds()} s`)
        const err = await expectCode(PolyauthError, () => th.check(key), 'rate_limited', 'at the ceiling')
        assert.ok(err.retryAfter >= 3598)
        await th.reset(key)
        await th.check(key)
      })

      test('throttle: from maxFailures on locks double and never lapse; 100 failures lock until reset (RL-1)', async () => {
        // With maxFailures 3 the lock used to be resetAfter, after which the count started over
        // (12 failures got through in 10 s).
        const th = new Throttle(await open(), { maxFailures: 3, resetAfter: 60 })
        const key = unique('escalate')
        for (let i = 1; i <= 2; i++) assert.ok((await th.fail(key)).lockedUntil <= nowSeconds(), `free failure ${i}`)
        for (const [n, lock] of [[3, 60], [4, 120], [5, 240], [6, 480]]) {
          const start = nowSeconds()
          const c = await th.fail(key)
          assert.equal(c.failures, n)
          assert.ok(c.lockedUntil >= start + lock && c.lockedUntil <= nowSeconds() + lock, `failure ${n}: ${c.lockedUntil - start} s, want ${lock}`)
        }
        const err = await expectCode(PolyauthError, () => th.attempt(key), 'rate_limited', 'locked after 6')
        assert.ok(err.retryAfter >= 470 && err.retryAfter <= 480, `retryAfter ${err.retryAfter}`)
        for (let i = 0; i < 93; i++) await th.fail(key)
        assert.deepEqual(await th.fail(key), { failures: 100, lockedUntil: LOCKED_FOREVER })
        assert.ok(Number.isSafeInteger(LOCKED_FOREVER))
        const forever = await expectCode(PolyauthError, () => th.check(key), 'rate_limited', 'at the ceiling')
        assert.ok(forever.retryAfter > 1e15, `retryAfter ${forever.retryAfter}`)
        await th.reset(key)
        assert.equal((await th.attempt(key)).failures, 1)
      })

      test('throttle counters are shared by two Throttles over two stores opened on the same URL', { skip: backend.name === 'memory' ? 'memory:// is per Store' : false }, async () => {
        const url = backend.url()
        const [a, b] = [await Store.open(url), await Store.open(url)]
        const options = { freeAttempts: 5, baseDelay: 30 }
        const [ta, tb] = [new Throttle(a, options), new Throttle(b, options)]
        const key = unique('shared')
        for (let i = 0; i < 3; i++) await ta.fail(key)
        for (let i = 0; i < 2; i++) await tb.fail(key)
        await ta.check(key)
        const c = await tb.fail(key)
        assert.equal(c.failures, 6, 'both stores count into one counter')
        for (const t of [ta, tb]) {
          const err = await expectCode(PolyauthError, () => t.check(key), 'rate_limited', 'lock seen by both')
          assert.ok(err.retryAfter >= 1)
        }
        await tb.reset(key)
        await ta.check(key)
        assert.equal((await ta.fail(key)).failures, 1, 'reset seen by the other store')
        // Concurrent failures from both sides are all counted (atomic read-modify-write).
        const key2 = unique('concurrent')
        const big = { freeAttempts: 100, maxFailures: 100 }
        const [ca, cb] = [new Throttle(a, big), new Throttle(b, big)]
        const counts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? ca : cb).fail(key2)))
        assert.equal(Math.max(...counts.map((x) => x.failures)), 40)
        assert.equal((await cb.fail(key2)).failures, 41, 'every concurrent failure counted once')
      })

      test('concurrent fail() calls each report their own count (1..n, as a serial run would)', async () => {
        const th = new Throttle(await open(), { freeAttempts: 100, maxFailures: 100 })
        const key = unique('own-count')
        const counts = await Promise.all(Array.from({ length: 40 }, () => th.fail(key)))
        assert.deepEqual(counts.map((x) => x.failures).sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1))
      })

      test('throttle: bad options are invalid_config, bad keys invalid_input or TypeError', async () => {
        const store = await open()
        for (const options of [
          { maxFailures: 101 },
          { maxFailures: 0 },
          { baseDelay: 0 },
          { baseDelay: 10, maxDelay: 5 },
          { resetAfter: 0 },
        ]) {
          await expectCode(PolyauthError, () => new Throttle(store, options), 'invalid_config', JSON.stringify(options))
        }
        await expectCode(PolyauthError, () => new Throttle(store, { freeAttempts: 'five' }), 'invalid_config', 'freeAttempts five')
        assert.throws(() => new Throttle({}, {}), TypeError)
        const th = new Throttle(store)
        for (const key of ['', 'k'.repeat(513)]) {
          await expectCode(PolyauthError, () => th.check(key), 'invalid_input', `check(${key.length})`)
          await expectCode(PolyauthError, () => th.fail(key), 'invalid_input', `fail(${key.length})`)
          await expectCode(PolyauthError, () => th.reset(key), 'invalid_input', `reset(${key.length})`)
        }
        await th.check('k'.repeat(512))
        await assert.rejects(() => th.check(1), TypeError)
        await assert.rejects(() => th.fail(null), TypeError)
        await assert.rejects(() => th.reset(undefined), TypeError)
      })
    })
  }
})

describe('binding argument checks', () => {
  test('new OneTimeTokens(notAStore) is a TypeError like Sessions and Throttle', () => {
    assert.throws(() => new Throttle({}), TypeError)
    assert.throws(() => new OneTimeTokens({}), TypeError)
  })

  test('negative, fractional and out-of-range numbers are rejected, not wrapped modulo 2^32', async () => {
    const store = await Store.open('memory://')
    const rejectedOptions = []
    for (const options of [{ freeAttempts: -1 }, { freeAttempts: 1.5 }, { resetAfter: 2 ** 32 + 1 }, { freeAttempts: Number.NaN }]) {
      try {
        new Throttle(store, options)
      } catch (e) {
        if (e instanceof TypeError || e?.code === 'invalid_config') {
          rejectedOptions.push(options)
          continue
        }
        throw e
      }
      assert.fail(`Throttle options ${Object.entries(options).map(([k, v]) => `${k}: ${v}`)} accepted`)
    }
    const otk = new OneTimeTokens(store)
    for (const ttl of [2 ** 32 + 5, 1.5]) {
      await assert.rejects(() => otk.issue('u', 'p', { ttl }), (e) => e instanceof TypeError || e?.code === 'invalid_input', `ttl ${ttl} accepted`)
    }
  })
})
