// The sign-in flow (FRAMEWORKS.md §4, issue 10) over every store backend: memory, SQLite (a
// temporary file), PostgreSQL and Redis, each test on a fresh polyauth_namespace. Mirrors
// tests-python/test_signin.py and core/tests/signin.rs: the password step (amr, claims, meta, one
// invalid_credentials for every failure, throttling under a burst), the second factor (fresh
// tokens after a wrong code, at most 5 per step, single-use tokens, recovery codes), password reset
// and email verification, and an application's own AccountSource (values and Promises, hash
// upgrades, failures and wrong shapes).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import util from 'node:util'
import {
  Accounts,
  KeySet,
  Mfa,
  OneTimeTokens,
  PasswordHasher,
  PasswordPolicy,
  PolyauthError,
  Sessions,
  SignIn,
  Store,
  Throttle,
  Tokens,
  Totp,
} from 'polyauth'
import { decodeJwt, expectCode, loadProjectVectors, storeBackends } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const PASSWORD = 'plum-cactus-orbit-lantern-42'
const WRONG = 'violet-harbour-quartz-meadow-17'
const NEW_PASSWORD = 'amber-glacier-tundra-beacon-93'
const HASHER = new PasswordHasher()
const TOKENS = new Tokens(KeySet.generate('EdDSA'), { issuer: 'https://issuer.test', audience: 'api' })
const TOTP = new Totp({ issuer: 'Polyauth Test' })
const KEY = Buffer.alloc(32, 0x11)
const BCRYPT = loadProjectVectors('passwords.json').verify.find((c) => c.id === 'bcrypt-2b')

const unique = (prefix = 'user') => `${prefix}-${randomBytes(6).toString('hex')}`
const newLogin = () => `${unique()}@example.com`
const nowSeconds = () => Math.floor(Date.now() / 1000)
const expectErr = (fn, code, message) => expectCode(PolyauthError, fn, code, message)
const claimsOf = (pair) => decodeJwt(pair.accessToken).payload
/** A well-formed code that is not `code`. */
const otherCode = (code) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')

/** Everything a flow needs over one store; `throttle` options for the password step. */
function setup(store, throttle) {
  const accounts = new Accounts(store, HASHER)
  const sessions = new Sessions(store, TOKENS)
  // A generous MFA throttle: the tests make several wrong codes on purpose.
  const mfa = new Mfa(store, TOTP, { encryptionKey: KEY, throttle: new Throttle(store, { freeAttempts: 50 }) })
  const options = { mfa }
  if (throttle) options.throttle = new Throttle(store, throttle)
  return { store, accounts, sessions, mfa, signin: new SignIn(accounts, sessions, options), throttle: options.throttle }
}

/** Enrolls and confirms `subject` two minutes ago (so the current code is a later step); `{ secret, codes }`. */
async function enroll(mfa, subject) {
  const then = nowSeconds() - 120
  const e = await mfa.beginEnrollment(subject, 'jane@example.com', { now: then })
  const codes = await mfa.confirm(subject, TOTP.code(e.secret, { now: then }), { now: then })
  return { secret: e.secret, codes }
}

/** An in-memory application user table: `rows` by normalised login, `find` sync or async. */
function appTable({ async = false } = {}) {
  const rows = new Map()
  const calls = { find: [], set: [] }
  const source = {
    find(login) {
      calls.find.push(login)
      const row = rows.get(login) ?? null
      return async ? Promise.resolve(row) : row
    },
    setPasswordHash(subject, passwordHash) {
      calls.set.push([subject, passwordHash])
      for (const row of rows.values()) if (row.subject === subject) row.passwordHash = passwordHash
      return async ? Promise.resolve() : undefined
    },
  }
  return { rows, calls, source }
}

/** Asserts the error's token fields are hidden from every printed or serialised form. */
function assertHidden(e, token) {
  for (const shown of [util.inspect(e), util.inspect(e, { showHidden: true, depth: 5 }), String(e), e.message, JSON.stringify(e), e.stack]) {
    assert.ok(!shown.includes(token), shown)
    assert.ok(!shown.includes(token.slice(4, 24)), shown)
  }
  assert.ok(!Object.keys(e).includes('mfaToken') && !Object.keys(e).includes('triesLeft'))
}

describe('SignIn over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async () => {
        const store = await Store.open(backend.url())
        assert.equal(store.backend, backend.name)
        return store
      }

      test('the password step: amr ["pwd"], the account claims, meta; every failure is the same invalid_credentials', async () => {
        const s = setup(await open())
        const login = newLogin()
        const a = await s.accounts.create(login, PASSWORD, { roles: ['admin'], tenant: 7 })
        const disabled = newLogin()
        await s.accounts.disable((await s.accounts.create(disabled, PASSWORD)).subject)

        const r = await s.signin.password(`  ${login.toUpperCase()} `, PASSWORD, { meta: { ip: '192.0.2.1' }, throttleContext: '192.0.2.1' })
        assert.equal(r.status, 'ok')
        assert.deepEqual(Object.keys(r).sort(), ['pair', 'status'])
        const claims = claimsOf(r.pair)
        assert.equal(claims.sub, a.subject)
        assert.deepEqual(claims.amr, ['pwd'])
        assert.deepEqual([claims.roles, claims.tenant, claims.sid], [['admin'], 7, r.pair.sessionId])
        const listed = await s.sessions.list(a.subject)
        assert.deepEqual(listed.map((l) => [l.sessionId, l.meta]), [[r.pair.sessionId, { ip: '192.0.2.1' }]])
        const shown = util.inspect(r, { depth: 5 })
        assert.ok(!shown.includes(r.pair.accessToken) && !shown.includes(r.pair.refreshToken), shown)

        const messages = []
        for (const [what, l, p] of [
          ['wrong password', login, WRONG],
          ['unknown login', newLogin(), PASSWORD],
          ['disabled', disabled, PASSWORD],
          ['empty login', '', PASSWORD],
          ['invisible character', 'ad\u200Bmin', PASSWORD],
          ['over-long login', 'x'.repeat(5000), PASSWORD],
        ]) {
          const e = await expectErr(() => s.signin.password(l, p), 'invalid_credentials', what)
          messages.push(e.message)
        }
        assert.ok(messages.every((m) => m === messages[0]), messages.join(' | '))
        assert.ok(!messages[0].includes('@'))
        assert.equal((await s.signin.password(login, PASSWORD)).status, 'ok', 'still below the throttle')
      })

      test('50 concurrent wrong sign-ins leave exactly the configured lock (3 invalid_credentials, 47 rate_limited)', async () => {
        const s = setup(await open(), { freeAttempts: 2, maxFailures: 3, resetAfter: 3600 })
        const login = newLogin()
        await s.accounts.create(login, PASSWORD)
        const before = nowSeconds()
        const results = await Promise.allSettled(Array.from({ length: 50 }, () => s.signin.password(login, WRONG)))
        assert.ok(results.every((r) => r.status === 'rejected'))
        const codes = results.map((r) => r.reason.code)
        const count = (c) => codes.filter((x) => x === c).length
        assert.deepEqual([count('invalid_credentials'), count('rate_limited')], [3, 47], codes.join())
        for (const r of results) if (r.reason.code === 'rate_limited') assert.ok(r.reason.retryAfter > 3500, String(r.reason.retryAfter))
        // The lock lasts the configured hour; the count is 3 (one more failure makes it 4).
        const key = `signin:${login}`
        const locked = await expectErr(() => s.throttle.check(key), 'rate_limited')
        assert.ok(locked.retryAfter >= 3500 && locked.retryAfter <= 3600, String(locked.retryAfter))
        const c = await s.throttle.fail(key)
        assert.equal(c.failures, 4)
        assert.ok(c.lockedUntil >= before + 3600)
        // The right password is refused while locked.
        await expectErr(() => s.signin.password(login, PASSWORD), 'rate_limited')
      })

      test('the second factor: a wrong code gives a fresh hidden mfaToken, the right one signs in, tokens are single-use, replays are refused', async () => {
        const s = setup(await open())
        const login = newLogin()
        const a = await s.accounts.create(login, PASSWORD, { roles: ['ops'] })
        const { secret } = await enroll(s.mfa, a.subject)
        const r = await s.signin.password(login, PASSWORD)
        assert.equal(r.status, 'mfa_required')
        assert.match(r.mfaToken, /^pot_/)
        assert.ok(!util.inspect(r).includes(r.mfaToken), util.inspect(r))
        assert.equal(JSON.parse(JSON.stringify(r)).mfaToken, r.mfaToken, 'JSON still carries it')

        const now = nowSeconds()
        const code = TOTP.code(secret, { now })
        // Neither or both of code and recovery code: refused before the token is spent.
        await expectErr(() => s.signin.secondFactor(r.mfaToken, {}), 'invalid_input')
        await expectErr(() => s.signin.secondFactor(r.mfaToken, { code, recoveryCode: 'abc' }), 'invalid_input')

        const wrong = await expectErr(() => s.signin.secondFactor(r.mfaToken, { code: otherCode(code), now }), 'totp_invalid')
        assert.match(wrong.mfaToken, /^pot_/)
        assert.notEqual(wrong.mfaToken, r.mfaToken)
        assert.equal(wrong.triesLeft, 4)
        assertHidden(wrong, wrong.mfaToken)
        // The first token was spent by the wrong code.
        await expectErr(() => s.signin.secondFactor(r.mfaToken, { code, now }), 'invalid_token')

        const pair = await s.signin.secondFactor(wrong.mfaToken, { code, now, meta: { d: 1 } })
        const claims = claimsOf(pair)
        assert.deepEqual([claims.sub, claims.amr, claims.roles], [a.subject, ['pwd', 'otp'], ['ops']])
        assert.ok(!util.inspect(pair).includes(pair.refreshToken))
        assert.deepEqual((await s.sessions.list(a.subject))[0].meta, { d: 1 })
        // A used mfa token is invalid_token, whatever the code.
        await expectErr(() => s.signin.secondFactor(wrong.mfaToken, { code, now }), 'invalid_token')

        // The same code in a new password step is a replay: totp_replayed with a fresh token.
        const again = await s.signin.password(login, PASSWORD)
        const replayed = await expectErr(() => s.signin.secondFactor(again.mfaToken, { code, now }), 'totp_replayed')
        assert.match(replayed.mfaToken, /^pot_/)
        assert.equal(replayed.triesLeft, 4)
        assertHidden(replayed, replayed.mfaToken)
      })

      test('recovery codes sign in with amr ["pwd", "recovery"]; the fifth wrong code ends the step', async () => {
        const s = setup(await open())
        const login = newLogin()
        const a = await s.accounts.create(login, PASSWORD)
        const { secret, codes } = await enroll(s.mfa, a.subject)
        const step = await s.signin.password(login, PASSWORD)
        const pair = await s.signin.secondFactor(step.mfaToken, { recoveryCode: codes[0].toUpperCase() })
        assert.deepEqual(claimsOf(pair).amr, ['pwd', 'recovery'])
        const used = await expectErr(async () => s.signin.secondFactor((await s.signin.password(login, PASSWORD)).mfaToken, { recoveryCode: codes[0] }), 'totp_replayed')
        assert.equal(used.triesLeft, 4)

        let token = (await s.signin.password(login, PASSWORD)).mfaToken
        const now = nowSeconds()
        const bad = otherCode(TOTP.code(secret, { now }))
        for (let left = 4; left >= 1; left--) {
          const e = await expectErr(() => s.signin.secondFactor(token, { code: bad, now }), 'totp_invalid')
          assert.equal(e.triesLeft, left)
          token = e.mfaToken
        }
        // A malformed recovery code counts as a wrong try; this is the fifth: no token any more.
        const last = await expectErr(() => s.signin.secondFactor(token, { recoveryCode: 'x'.repeat(500) }), 'totp_invalid')
        assert.equal(last.mfaToken, undefined)
        assert.equal(last.triesLeft, undefined)
        await expectErr(() => s.signin.secondFactor(token, { code: TOTP.code(secret, { now }), now }), 'invalid_token')
      })

      test('password reset: null for unknown logins, peek does not spend, a refused password keeps the token, sessions are revoked, token_used after', async () => {
        const s = setup(await open())
        const oneTime = new OneTimeTokens(s.store)
        const login = newLogin()
        const a = await s.accounts.create(login, PASSWORD)
        const { pair } = await s.signin.password(login, PASSWORD)

        assert.equal(await s.signin.requestPasswordReset(newLogin()), null)
        const token = await s.signin.requestPasswordReset(login.toUpperCase(), { ttl: 600 })
        assert.match(token, /^pot_/)
        for (let i = 0; i < 2; i++) {
          assert.deepEqual(await oneTime.peek(token, 'password_reset'), { subject: a.subject, data: { login } })
        }
        await expectErr(() => oneTime.peek(token, 'email_verification'), 'invalid_type')
        const refused = await expectErr(() => s.signin.resetPassword(token, 'short'), 'password_policy')
        assert.deepEqual(refused.reasons, ['too_short'])
        assert.equal((await oneTime.peek(token, 'password_reset')).subject, a.subject, 'the link still works')

        assert.equal(await s.signin.resetPassword(token, NEW_PASSWORD), a.subject)
        assert.equal(await s.sessions.isActive(pair.sessionId), false, 'sessions revoked')
        await expectErr(() => s.signin.password(login, PASSWORD), 'invalid_credentials')
        assert.equal((await s.signin.password(login, NEW_PASSWORD)).status, 'ok')
        await expectErr(() => s.signin.resetPassword(token, NEW_PASSWORD), 'token_used')
        await expectErr(() => oneTime.peek(token, 'password_reset'), 'token_used')
        await expectErr(() => s.signin.resetPassword(`pot_${'A'.repeat(43)}`, NEW_PASSWORD), 'invalid_token')
      })

      test('email verification marks the account verified, once', async () => {
        const s = setup(await open())
        const a = await s.accounts.create(newLogin(), PASSWORD)
        const token = await s.signin.requestEmailVerification(a.subject, { ttl: 60 })
        assert.match(token, /^pot_/)
        const verified = await s.signin.verifyEmail(token)
        assert.deepEqual(verified, { ...a, verified: true })
        assert.equal((await s.accounts.get(a.subject)).verified, true)
        await expectErr(() => s.signin.verifyEmail(token), 'token_used')
        await expectErr(() => s.signin.requestEmailVerification(unique('ghost')), 'invalid_input')
        const reset = await s.signin.requestPasswordReset(a.login)
        await expectErr(() => s.signin.verifyEmail(reset), 'invalid_type')
        assert.equal(s.signin.accounts, s.accounts)
      })

      for (const kind of ['values', 'Promises']) {
        test(`an application AccountSource returning ${kind}: legacy hash upgraded through setPasswordHash, MFA, reset`, async () => {
          const store = await open()
          const sessions = new Sessions(store, TOKENS)
          const mfa = new Mfa(store, TOTP, { encryptionKey: KEY })
          const { rows, calls, source } = appTable({ async: kind === 'Promises' })
          const signin = new SignIn(source, sessions, { mfa, hasher: HASHER, policy: new PasswordPolicy({ minLength: 20, minLengthMfa: 16 }) })
          assert.equal(signin.accounts, null)
          assert.equal(util.inspect(signin), 'SignIn { accounts: AccountSource }')
          const subject = unique('app')
          rows.set('jane@example.com', { subject, passwordHash: BCRYPT.hash, claims: { plan: 'pro' } })

          const r = await signin.password(' JANE@example.com', BCRYPT.password)
          assert.equal(r.status, 'ok')
          assert.deepEqual(calls.find, ['jane@example.com'], 'find receives the normalised login')
          assert.deepEqual([claimsOf(r.pair).sub, claimsOf(r.pair).plan, claimsOf(r.pair).amr], [subject, 'pro', ['pwd']])
          assert.equal(calls.set.length, 1)
          assert.equal(calls.set[0][0], subject)
          assert.match(rows.get('jane@example.com').passwordHash, /^\$argon2id\$/)
          assert.equal(HASHER.needsRehash(rows.get('jane@example.com').passwordHash), false)
          assert.equal((await signin.password('jane@example.com', BCRYPT.password)).status, 'ok')
          assert.equal(calls.set.length, 1, 'no second upgrade')
          await expectErr(() => signin.password('jane@example.com', BCRYPT.wrong[0]), 'invalid_credentials')
          await expectErr(() => signin.password('nobody@example.com', BCRYPT.password), 'invalid_credentials')
          rows.set('off@example.com', { subject: unique('app'), passwordHash: BCRYPT.hash, disabled: true })
          await expectErr(() => signin.password('off@example.com', BCRYPT.password), 'invalid_credentials')

          // The second factor through the source.
          const { secret } = await enroll(mfa, subject)
          const step = await signin.password('jane@example.com', BCRYPT.password)
          assert.equal(step.status, 'mfa_required')
          const now = nowSeconds()
          const pair = await signin.secondFactor(step.mfaToken, { code: TOTP.code(secret, { now }), now })
          assert.deepEqual(claimsOf(pair).amr, ['pwd', 'otp'])

          // Reset through the source: the policy given applies (the account has a second factor,
          // so its lower minimum, 16), setPasswordHash stores the hash.
          const token = await signin.requestPasswordReset('jane@example.com')
          assert.deepEqual(await signin.requestPasswordReset('nobody@example.com'), null)
          await expectErr(() => signin.resetPassword(token, 'fifteen-chars-x'), 'password_policy')
          assert.equal(await signin.resetPassword(token, NEW_PASSWORD), subject)
          assert.equal(calls.set.length, 2)
          assert.equal(await HASHER.verify(rows.get('jane@example.com').passwordHash, NEW_PASSWORD), true)
          // Email verification needs built-in accounts.
          await expectErr(() => signin.requestEmailVerification(subject), 'invalid_config')
        })
      }

      test('an AccountSource that throws or rejects is store_unavailable naming the error only; wrong shapes are invalid_config', async () => {
        const store = await open()
        const sessions = new Sessions(store, TOKENS)
        const secret = 'SECRET-DSN-password-in-message'
        class DatabaseDown extends Error {
          name = 'DatabaseDown'
        }
        const failing = [
          ['throws', () => { throw new DatabaseDown(secret) }, 'DatabaseDown'],
          ['rejects', async () => { throw new TypeError(secret) }, 'TypeError'],
          ['throws a string', () => { throw secret }, 'string'],
          ['odd error name', () => { const e = new Error(secret); e.name = `Bad name ${secret}`; throw e }, 'Error'],
        ]
        for (const [what, find, name] of failing) {
          const signin = new SignIn({ find, setPasswordHash() {} }, sessions)
          const e = await expectErr(() => signin.password(newLogin(), PASSWORD), 'store_unavailable', what)
          assert.ok(e.message.endsWith(`account source find failed: ${name}`), e.message)
          assert.ok(!e.message.includes(secret) && !util.inspect(e).includes(secret), e.message)
          await expectErr(() => signin.requestPasswordReset(newLogin()), 'store_unavailable', what)
        }

        // setPasswordHash failing during the upgrade of a legacy hash.
        const row = { subject: unique('app'), passwordHash: BCRYPT.hash }
        const upgradeFails = new SignIn({ find: () => row, setPasswordHash: async () => { throw new RangeError(secret) } }, sessions)
        const e = await expectErr(() => upgradeFails.password(newLogin(), BCRYPT.password), 'store_unavailable')
        assert.ok(e.message.endsWith('account source setPasswordHash failed: RangeError'), e.message)

        const cyclic = { a: 1 }
        cyclic.self = cyclic
        const shapes = [
          ['a string', 'jane', /must return an object/],
          ['a number subject', { subject: 5, passwordHash: BCRYPT.hash }, /subject must be a string/],
          ['no subject', { passwordHash: BCRYPT.hash }, /subject must be a string/],
          ['a lone surrogate subject', { subject: 'a\uD800', passwordHash: BCRYPT.hash }, /subject is not well-formed/],
          ['a numeric hash', { subject: 's', passwordHash: 42 }, /passwordHash must be/],
          ['a string disabled', { subject: 's', passwordHash: BCRYPT.hash, disabled: 'no' }, /disabled must be a boolean/],
          ['array claims', { subject: 's', passwordHash: BCRYPT.hash, claims: [1] }, /claims must be an object/],
          ['string claims', { subject: 's', passwordHash: BCRYPT.hash, claims: 'x' }, /claims must be an object/],
          ['cyclic claims', { subject: 's', passwordHash: BCRYPT.hash, claims: cyclic }, /claims must be JSON values/],
          ['a function claim', { subject: 's', passwordHash: BCRYPT.hash, claims: { f() {} } }, /claims must be JSON values/],
        ]
        for (const [what, value, message] of shapes) {
          for (const wrap of [(v) => v, (v) => Promise.resolve(v)]) {
            const signin = new SignIn({ find: () => wrap(value), setPasswordHash() {} }, sessions)
            const err = await expectErr(() => signin.password(newLogin(), BCRYPT.password), 'invalid_config', what)
            assert.match(err.message, message, what)
            assert.match(err.message, /account source find/, what)
          }
        }
        // Values the core refuses: an empty subject, reserved claim names.
        for (const value of [{ subject: '', passwordHash: BCRYPT.hash }, { subject: 's', passwordHash: BCRYPT.hash, claims: { sub: 'x' } }]) {
          const signin = new SignIn({ find: () => value, setPasswordHash() {} }, sessions)
          await expectErr(() => signin.password(newLogin(), BCRYPT.password), 'invalid_input', JSON.stringify(value))
        }
        // Null, undefined and no password hash are "no such account": invalid_credentials.
        for (const value of [null, undefined, { subject: 's' }, { subject: 's', passwordHash: null }]) {
          const signin = new SignIn({ find: async () => value, setPasswordHash() {} }, sessions)
          await expectErr(() => signin.password(newLogin(), PASSWORD), 'invalid_credentials', String(value))
        }
      })
    })
  }
})

const ARG_STORE = await Store.open('memory://')

/** Nanoseconds the process's main thread (the event loop's; its tid is the pid) has run, from
 * Linux's schedstat; null where that file does not exist. */
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`
const mainThreadNs = () => (existsSync(SCHEDSTAT) ? Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) : null)

test(
  'sign-in verifies passwords off the event loop: its thread does a small part of the CPU work',
  { skip: mainThreadNs() === null ? 'no /proc/self/task/<pid>/schedstat (Linux only)' : false },
  async () => {
    const store = await Store.open('memory://')
    const s = setup(store)
    const users = Array.from({ length: 8 }, (_, i) => [newLogin(), `${PASSWORD}-${i}`])
    for (const [login, password] of users) await s.accounts.create(login, password)
    const eight = async () => {
      const results = await Promise.all(users.map(([login, password]) => s.signin.password(login, password)))
      assert.deepEqual(results.map((r) => r.status), Array(8).fill('ok'))
    }
    await eight() // warm-up: first-use costs are not the point
    // Counted in CPU time, not as a stall: a busy machine may delay the loop's thread, but only
    // work done on it counts. The process's CPU includes the eight argon2 verifications on the
    // libuv pool; had they run on the loop's thread, it would hold nearly all of it.
    const process0 = process.cpuUsage()
    const main0 = mainThreadNs()
    await eight()
    const mainMs = (mainThreadNs() - main0) / 1e6
    const used = process.cpuUsage(process0)
    const processMs = (used.user + used.system) / 1e3
    assert.ok(mainMs < processMs / 4, `${mainMs.toFixed(2)} ms on the loop's thread of ${processMs.toFixed(2)} ms in all`)
  },
)

describe('SignIn arguments and construction', () => {
  const store = ARG_STORE
  const s = setup(store)

  test('constructor: hasher or policy with built-in accounts is invalid_config; wrong types are TypeErrors', () => {
    for (const options of [{ hasher: HASHER }, { policy: new PasswordPolicy() }]) {
      assert.throws(() => new SignIn(s.accounts, s.sessions, options), (e) => e instanceof PolyauthError && e.code === 'invalid_config')
    }
    const source = appTable().source
    for (const [accounts, sessions, options] of [
      [{}, s.sessions, {}],
      [{ find() {} }, s.sessions, {}],
      [null, s.sessions, {}],
      [s.accounts, {}, {}],
      [s.accounts, s.sessions, null],
      [s.accounts, s.sessions, { mfa: {} }],
      [s.accounts, s.sessions, { throttle: 'x' }],
      [s.accounts, s.sessions, { oneTime: s.accounts }],
      [source, s.sessions, { hasher: {} }],
      [source, s.sessions, { policy: 5 }],
    ]) {
      assert.throws(() => new SignIn(accounts, sessions, options), TypeError)
    }
    assert.equal(util.inspect(new SignIn(source, s.sessions, { hasher: HASHER })), 'SignIn { accounts: AccountSource }')
    assert.equal(util.inspect(s.signin), 'SignIn { accounts: builtin }')
  })

  test('lone surrogates, NUL, empty and 1 MB strings are typed errors', async () => {
    const a = await s.accounts.create(newLogin(), PASSWORD)
    const token = await s.signin.requestPasswordReset(a.login)
    for (const bad of ['victim\uD800', '\uDC00']) {
      for (const f of [
        () => s.signin.password(bad, PASSWORD),
        () => s.signin.password(a.login, bad),
        () => s.signin.password(a.login, PASSWORD, { throttleContext: bad }),
        () => s.signin.secondFactor(bad, { code: '123456' }),
        () => s.signin.secondFactor(token, { code: bad }),
        () => s.signin.secondFactor(token, { recoveryCode: bad }),
        () => s.signin.requestPasswordReset(bad),
        () => s.signin.resetPassword(bad, NEW_PASSWORD),
        () => s.signin.resetPassword(token, bad),
        () => s.signin.requestEmailVerification(bad),
        () => s.signin.verifyEmail(bad),
        () => new OneTimeTokens(store).peek(bad, 'password_reset'),
        () => new OneTimeTokens(store).peek(token, bad),
      ]) {
        const e = await expectErr(f, 'invalid_input', f.toString())
        assert.doesNotMatch(e.message, /victim/)
      }
    }
    const huge = 'x'.repeat(1 << 20)
    await expectErr(() => s.signin.password(a.login, huge), 'invalid_input', '1 MB password')
    await expectErr(() => s.signin.password(a.login, PASSWORD, { throttleContext: huge }), 'invalid_input', '1 MB context')
    await expectErr(() => s.signin.password(a.login, PASSWORD, { throttleContext: '' }), 'invalid_input', 'empty context')
    await expectErr(() => s.signin.password(a.login, PASSWORD, { throttleContext: 'a\0b' }), 'invalid_input', 'NUL context')
    for (const bad of ['', 'a\0b', huge]) {
      await expectErr(() => s.signin.requestPasswordReset(bad), 'invalid_input', 'reset login')
      await expectErr(() => s.signin.requestEmailVerification(bad), 'invalid_input', 'verification subject')
      await expectErr(() => s.signin.verifyEmail(bad), 'invalid_token', 'verification token')
      await expectErr(() => s.signin.secondFactor(bad, { code: '123456' }), 'invalid_token', 'mfa token')
    }
    await expectErr(() => s.signin.resetPassword(token, huge), 'invalid_input', '1 MB new password')
    for (const ttl of [-1, 1.5, Number.NaN, 0, 31 * 86400, '60', true]) {
      await expectErr(() => s.signin.requestPasswordReset(a.login, { ttl }), 'invalid_input', `ttl ${String(ttl)}`)
      await expectErr(() => s.signin.requestEmailVerification(a.subject, { ttl }), 'invalid_input', `ttl ${String(ttl)}`)
    }
    for (const now of [-1, 1.5, Number.NaN, '5', 2 ** 53]) {
      await expectErr(() => s.signin.secondFactor(token, { code: '123456', now }), 'invalid_input', `now ${String(now)}`)
    }
    assert.equal((await new OneTimeTokens(store).peek(token, 'password_reset')).subject, a.subject, 'nothing spent the token')
  })

  test('wrong types are TypeErrors, never a crash', async () => {
    const a = await s.accounts.create(newLogin(), PASSWORD)
    for (const f of [
      () => s.signin.password(5, PASSWORD),
      () => s.signin.password(a.login, null),
      () => s.signin.password(a.login, PASSWORD, { meta: 'x' }),
      () => s.signin.password(a.login, PASSWORD, { throttleContext: 5 }),
      () => s.signin.secondFactor('pot_x'),
      () => s.signin.secondFactor(5, { code: '1' }),
      () => s.signin.secondFactor('pot_x', { code: 123456 }),
      () => s.signin.secondFactor('pot_x', { code: '123456', meta: [1] }),
      () => s.signin.requestPasswordReset({}),
      () => s.signin.resetPassword('pot_x', 5),
      () => s.signin.verifyEmail(undefined),
      () => new OneTimeTokens(store).peek(5, 'password_reset'),
    ]) {
      await assert.rejects(async () => f(), TypeError, f.toString())
    }
  })

  test('errors of the second factor show no token: util.inspect, console formatting and JSON', async () => {
    const login = newLogin()
    const a = await s.accounts.create(login, PASSWORD)
    const { secret } = await enroll(s.mfa, a.subject)
    const step = await s.signin.password(login, PASSWORD)
    const now = nowSeconds()
    const e = await expectErr(() => s.signin.secondFactor(step.mfaToken, { code: otherCode(TOTP.code(secret, { now })), now }), 'totp_invalid')
    assertHidden(e, e.mfaToken)
    assert.ok(!util.format('%o', e).includes(e.mfaToken))
    assert.ok(e instanceof Error && e.name === 'PolyauthError')
    // Other PolyauthErrors simply have no token.
    const other = await expectErr(() => s.signin.password(login, WRONG), 'invalid_credentials')
    assert.deepEqual([other.mfaToken, other.triesLeft], [undefined, undefined])
  })
})
