// One-time tokens and throttling (DESIGN.md §4, §6, §7 RL-1) over every store backend: memory,
// SQLite (a temporary file), PostgreSQL and Redis, each test on a fresh polyauth_namespace:
// concurrency, stores sharing counters and what is Node's own (types, numbers). The scenarios are
// vectors/onetime.json, throttle.json and errors.json, run by scenario-vectors.test.mjs.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { OneTimeTokens, PolyauthError, Store, Throttle } from 'polyauth'
import { expectCode, storeBackends } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)

const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`

describe('one-time tokens and throttling over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async () => {
        const store = await Store.open(backend.url())
        assert.equal(store.backend, backend.name)
        return store
      }

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

      test('issue: wrong types are TypeErrors, a ttl or clock that is not a whole number invalid_input (the ranges are vectors/onetime.json)', async () => {
        const otk = new OneTimeTokens(await open())
        await assert.rejects(() => otk.issue(5, 'p'), TypeError)
        await assert.rejects(() => otk.issue('u', null), TypeError)
        await expectCode(PolyauthError, () => otk.issue('u', 'p', { ttl: 'soon' }), 'invalid_input', 'ttl soon')
        await expectCode(PolyauthError, () => otk.issue('u', 'p', { now: -1 }), 'invalid_input', 'now -1')
        await expectCode(PolyauthError, () => otk.consume(`pot_${'A'.repeat(43)}`, 'p', { now: 1.5 }), 'invalid_input', 'now 1.5')
        await assert.rejects(() => otk.issue('u', 'p', { data: () => 1 }), TypeError)
        await assert.rejects(() => otk.consume(5, 'p'), TypeError)
        await assert.rejects(() => otk.consume('pot_x', undefined), TypeError)
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

      test('throttle: options and keys of the wrong type (the ranges are vectors/errors.json and throttle.json)', async () => {
        const store = await open()
        await expectCode(PolyauthError, () => new Throttle(store, { freeAttempts: 'five' }), 'invalid_config', 'freeAttempts five')
        assert.throws(() => new Throttle({}, {}), TypeError)
        const th = new Throttle(store)
        await assert.rejects(() => th.check(1), TypeError)
        await assert.rejects(() => th.fail(null), TypeError)
        await assert.rejects(() => th.reset(undefined), TypeError)
        await expectCode(PolyauthError, () => th.fail('k', { now: -1 }), 'invalid_input', 'now -1')
        await expectCode(PolyauthError, () => th.check('k', { now: Number.NaN }), 'invalid_input', 'now NaN')
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
