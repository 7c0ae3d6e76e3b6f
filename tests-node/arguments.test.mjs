// Argument checks shared with the Python suite (vectors/argument-checks.json, DESIGN.md §5):
// - every numeric parameter refuses a value of the wrong type or range with the same code as in
//   Python (settings invalid_config, per-call arguments invalid_input), never a plain Error;
// - every identifier argument refuses a string with an unpaired surrogate (invalid_input) instead
//   of letting napi turn it into U+FFFD, which would reach another user's sessions, factor and
//   counters;
// - objects holding secrets keep them out of util.inspect / console.log.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import {
  Accounts,
  KeySet,
  Mfa,
  OneTimeTokens,
  PasswordHasher,
  PasswordPolicy,
  PolyauthError,
  RemoteKeySet,
  Sessions,
  SignIn,
  Store,
  Throttle,
  Tokens,
  Totp,
} from 'polyauth'
import { expectCode, loadProjectVectors } from './helpers.mjs'

const V = loadProjectVectors('argument-checks.json')
const BAD = {
  negative: -1,
  nan: Number.NaN,
  infinity: Number.POSITIVE_INFINITY,
  negative_infinity: Number.NEGATIVE_INFINITY,
  fraction: 1.5,
  too_large: 2 ** 53,
  huge: 1e300,
  bool: true,
  numeric_string: '5',
}
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
const unique = (prefix = 'user') => `${prefix}-${randomBytes(6).toString('hex')}`
const nowSeconds = () => Math.floor(Date.now() / 1000)

const store = await Store.open('memory://')
const keys = KeySet.generate()
const tokens = new Tokens(keys, { issuer: 'https://issuer.example', audience: 'api' })
const token = tokens.issue('user-1')
const totp = new Totp()
const mfa = new Mfa(store, totp, { encryptionKey: Buffer.alloc(32, 7) })
const onetime = new OneTimeTokens(store)
const sessions = new Sessions(store, tokens)
const throttle = new Throttle(store)
const PASSWORD = 'plum-cactus-orbit-lantern-42'
const accounts = new Accounts(store, new PasswordHasher())
const signIn = new SignIn(accounts, sessions, { mfa })
const login = `${unique()}@example.com`
const { subject } = await accounts.create(login, PASSWORD)

/** A subject with a pending enrollment (confirm with a wrong code is then `totp_invalid`). */
async function pending() {
  const s = unique()
  await mfa.beginEnrollment(s, 'jane@example.com')
  return s
}

/** One call per parameter id of the vector file; `v` undefined means "the current time". */
const NUMERIC = {
  'PasswordHasher.time_cost': (v) => new PasswordHasher({ timeCost: v }),
  'PasswordHasher.memory_kib': (v) => new PasswordHasher({ memoryKib: v }),
  'PasswordHasher.parallelism': (v) => new PasswordHasher({ parallelism: v }),
  'PasswordHasher.max_memory_kib': (v) => new PasswordHasher({ maxMemoryKib: v }),
  'PasswordPolicy.min_length': (v) => new PasswordPolicy({ minLength: v }),
  'PasswordPolicy.max_length': (v) => new PasswordPolicy({ maxLength: v }),
  'PasswordPolicy.min_length_mfa': (v) => new PasswordPolicy({ minLengthMfa: v }),
  'Tokens.access_ttl': (v) => new Tokens(keys, { issuer: 'i', audience: 'a', accessTtl: v }),
  'Tokens.leeway': (v) => new Tokens(keys, { issuer: 'i', audience: 'a', leeway: v }),
  'Tokens.max_token_size': (v) => new Tokens(keys, { issuer: 'i', audience: 'a', maxTokenSize: v }),
  'Tokens.verify_cache': (v) => new Tokens(keys, { issuer: 'i', audience: 'a', verifyCache: v }),
  'RemoteKeySet.cache_ttl': (v) => new RemoteKeySet('https://idp.example/jwks', { cacheTtl: v }),
  'RemoteKeySet.cooldown': (v) => new RemoteKeySet('https://idp.example/jwks', { cooldown: v }),
  'RemoteKeySet.max_stale': (v) => new RemoteKeySet('https://idp.example/jwks', { maxStale: v }),
  'RemoteKeySet.timeout': (v) => new RemoteKeySet('https://idp.example/jwks', { timeout: v }),
  'Sessions.refresh_ttl': (v) => new Sessions(store, tokens, { refreshTtl: v }),
  'Sessions.idle_ttl': (v) => new Sessions(store, tokens, { idleTtl: v }),
  'Sessions.reuse_grace': (v) => new Sessions(store, tokens, { reuseGrace: v }),
  'Throttle.free_attempts': (v) => new Throttle(store, { freeAttempts: v }),
  'Throttle.base_delay': (v) => new Throttle(store, { baseDelay: v }),
  'Throttle.max_delay': (v) => new Throttle(store, { maxDelay: v }),
  'Throttle.max_failures': (v) => new Throttle(store, { maxFailures: v }),
  'Throttle.reset_after': (v) => new Throttle(store, { resetAfter: v }),
  'Totp.digits': (v) => new Totp({ digits: v }),
  'Totp.period': (v) => new Totp({ period: v }),
  'Totp.window': (v) => new Totp({ window: v }),
  'Mfa.enrollment_ttl': (v) => new Mfa(store, totp, { encryptionKey: Buffer.alloc(32, 7), enrollmentTtl: v }),
  'Tokens.issue.ttl': (v) => tokens.issue('user-1', { ttl: v }),
  'Tokens.verify.now': (v) => tokens.verify(token, { now: v ?? nowSeconds() }),
  'KeySet.verify_jws.max_size': (v) => keys.verifyJws(token, { maxSize: v }),
  'Totp.code.now': (v) => totp.code(SECRET, { now: v }),
  'Totp.verify.now': (v) => totp.verify(SECRET, '123456', { now: v }),
  'Totp.verify.after_step': (v) => totp.verify(SECRET, '123456', { afterStep: v, now: 1_700_000_000 }),
  'OneTimeTokens.issue.ttl': (v) => onetime.issue(unique(), 'password_reset', { ttl: v }),
  'Mfa.begin_enrollment.now': (v) => mfa.beginEnrollment(unique(), 'jane@example.com', { now: v ?? nowSeconds() }),
  'Mfa.confirm.now': async (v) => mfa.confirm(await pending(), '000000', { now: v ?? nowSeconds() }),
  'Mfa.verify.now': (v) => mfa.verify(unique(), '000000', { now: v ?? nowSeconds() }),
  'Mfa.verify_recovery_code.now': (v) => mfa.verifyRecoveryCode(unique(), 'aaaaaa-aaaaaa-aaaaaa-aaaaaa', { now: v ?? nowSeconds() }),
  'Mfa.status.now': (v) => mfa.status(unique(), { now: v ?? nowSeconds() }),
  'Store.purge_expired.now': (v) => store.purgeExpired({ now: v ?? nowSeconds() }),
  'SignIn.second_factor.now': (v) => signIn.secondFactor('pot_x', { code: '123456', now: v }),
  'SignIn.request_password_reset.ttl': (v) => signIn.requestPasswordReset(login, { ttl: v }),
  'SignIn.request_email_verification.ttl': (v) => signIn.requestEmailVerification(subject, { ttl: v }),
}

/** Runs `fn` and returns the error it throws or rejects with, or undefined. */
async function outcome(fn) {
  try {
    await fn()
    return undefined
  } catch (e) {
    return e
  }
}

describe('numeric arguments: the same codes as in Python', () => {
  test('the table covers every parameter of the vector file, and only those', () => {
    assert.deepEqual(Object.keys(NUMERIC).sort(), V.parameters.map((p) => p.id).sort())
    assert.deepEqual(Object.keys(BAD).sort(), Object.keys(V.bad_values).sort())
  })

  for (const p of V.parameters) {
    test(`${p.id}: a wrong type or range is ${p.code}; ${p.good ?? 'the current time'} is accepted`, async () => {
      const call = NUMERIC[p.id]
      for (const [name, value] of Object.entries(BAD)) {
        if (name === 'fraction' && p.fractional) continue
        await expectCode(PolyauthError, () => call(value), p.code, `${p.id} = ${util.inspect(value)} (${name})`)
      }
      const e = await outcome(() => call(p.good ?? undefined))
      assert.ok(!(e instanceof PolyauthError && e.code === p.code), `${p.id} = ${p.good}: ${e?.message}`)
      assert.ok(e === undefined || e instanceof PolyauthError, `${p.id} = ${p.good}: ${e}`)
    })
  }

  test('absent and undefined numbers take the default', async () => {
    assert.equal(new Totp({ digits: undefined }).digits, 6)
    assert.equal(typeof totp.code(SECRET, { now: undefined }), 'string')
  })
})

describe('identifiers with unpaired surrogates are invalid_input', () => {
  const enrolledToken = () => onetime.issue(unique(), 'password_reset')
  /** One call per identifier argument of the vector file, with `s` in that argument. */
  const IDENTIFIER = {
    'Sessions.start.subject': (s) => sessions.start(s),
    'Sessions.refresh.refresh_token': (s) => sessions.refresh(s),
    'Sessions.revoke.session_id': (s) => sessions.revoke(s),
    'Sessions.revoke_refresh_token.refresh_token': (s) => sessions.revokeRefreshToken(s),
    'Sessions.revoke_all.subject': (s) => sessions.revokeAll(s),
    'Sessions.list.subject': (s) => sessions.list(s),
    'Sessions.is_active.session_id': (s) => sessions.isActive(s),
    'OneTimeTokens.issue.subject': (s) => onetime.issue(s, 'password_reset'),
    'OneTimeTokens.issue.purpose': (s) => onetime.issue(unique(), s),
    'OneTimeTokens.consume.token': (s) => onetime.consume(s, 'password_reset'),
    'OneTimeTokens.consume.purpose': async (s) => onetime.consume(await enrolledToken(), s),
    'Throttle.check.key': (s) => throttle.check(s),
    'Throttle.fail.key': (s) => throttle.fail(s),
    'Throttle.attempt.key': (s) => throttle.attempt(s),
    'Throttle.reset.key': (s) => throttle.reset(s),
    'Mfa.begin_enrollment.subject': (s) => mfa.beginEnrollment(s, 'jane@example.com'),
    'Mfa.begin_enrollment.account': (s) => mfa.beginEnrollment(unique(), s),
    'Mfa.confirm.subject': (s) => mfa.confirm(s, '123456'),
    'Mfa.confirm.code': async (s) => mfa.confirm(await pending(), s),
    'Mfa.verify.subject': (s) => mfa.verify(s, '123456'),
    'Mfa.verify.code': (s) => mfa.verify(unique(), s),
    'Mfa.verify.throttle_context': (s) => mfa.verify(unique(), '000000', { throttleContext: s }),
    'Mfa.verify_recovery_code.throttle_context': (s) => mfa.verifyRecoveryCode(unique(), 'aaaaaa-aaaaaa-aaaaaa-aaaaaa', { throttleContext: s }),
    'Mfa.verify_recovery_code.subject': (s) => mfa.verifyRecoveryCode(s, 'aaaaaa-aaaaaa-aaaaaa-aaaaaa'),
    'Mfa.verify_recovery_code.code': (s) => mfa.verifyRecoveryCode(unique(), s),
    'Mfa.regenerate_recovery_codes.subject': (s) => mfa.regenerateRecoveryCodes(s),
    'Mfa.disable.subject': (s) => mfa.disable(s),
    'Mfa.status.subject': (s) => mfa.status(s),
    'Tokens.issue.subject': (s) => tokens.issue(s),
    'Totp.code.secret': (s) => totp.code(s),
    'Totp.verify.secret': (s) => totp.verify(s, '123456'),
    'Totp.verify.code': (s) => totp.verify(SECRET, s),
    'Totp.uri.secret': (s) => totp.uri(s, 'jane@example.com'),
    'Totp.uri.account': (s) => totp.uri(SECRET, s),
    'Accounts.create.login': (s) => accounts.create(s, PASSWORD),
    'Accounts.create.password': (s) => accounts.create(`${unique()}@example.com`, s),
    'Accounts.create.password_hash': (s) => accounts.create(`${unique()}@example.com`, { passwordHash: s }),
    'Accounts.get.subject': (s) => accounts.get(s),
    'Accounts.find.login': (s) => accounts.find(s),
    'Accounts.set_password.subject': (s) => accounts.setPassword(s, `${PASSWORD}-new`),
    'Accounts.set_password.password': (s) => accounts.setPassword(subject, s),
    'Accounts.mark_verified.subject': (s) => accounts.markVerified(s),
    'Accounts.disable.subject': (s) => accounts.disable(s),
    'Accounts.update_claims.subject': (s) => accounts.updateClaims(s, {}),
    'Accounts.normalize_login.login': (s) => Accounts.normalizeLogin(s),
    'SignIn.password.login': (s) => signIn.password(s, PASSWORD),
    'SignIn.password.password': (s) => signIn.password(login, s),
    'SignIn.password.throttle_context': (s) => signIn.password(login, PASSWORD, { throttleContext: s }),
    'SignIn.second_factor.mfa_token': (s) => signIn.secondFactor(s, { code: '123456' }),
    'SignIn.second_factor.code': (s) => signIn.secondFactor('pot_x', { code: s }),
    'SignIn.second_factor.recovery_code': (s) => signIn.secondFactor('pot_x', { recoveryCode: s }),
    'SignIn.request_password_reset.login': (s) => signIn.requestPasswordReset(s),
    'SignIn.reset_password.token': (s) => signIn.resetPassword(s, `${PASSWORD}-new`),
    'SignIn.reset_password.new_password': (s) => signIn.resetPassword('pot_x', s),
    'SignIn.request_email_verification.subject': (s) => signIn.requestEmailVerification(s),
    'SignIn.verify_email.token': (s) => signIn.verifyEmail(s),
    'OneTimeTokens.peek.token': (s) => onetime.peek(s, 'password_reset'),
    'OneTimeTokens.peek.purpose': (s) => onetime.peek('pot_x', s),
  }

  test('the table covers every identifier argument of the vector file, and only those', () => {
    assert.deepEqual(Object.keys(IDENTIFIER).sort(), [...V.identifiers.arguments].sort())
  })

  for (const id of V.identifiers.arguments) {
    test(id, async () => {
      for (const s of V.identifiers.lone_surrogates) {
        assert.equal(s.isWellFormed(), false)
        const e = await expectCode(PolyauthError, () => IDENTIFIER[id](s), 'invalid_input', `${id} = ${JSON.stringify(s)}`)
        assert.doesNotMatch(e.message, /victim/, 'no attacker text in the message')
      }
    })
  }

  test('"victim\\uD800" never reaches the state of "victim\\uFFFD"', async () => {
    const victim = `victim-${randomBytes(4).toString('hex')}\uFFFD`
    const attacker = victim.replace('\uFFFD', '\uD800')
    // The victim: a session, a confirmed second factor and a throttle counter.
    const pair = await sessions.start(victim)
    const now = nowSeconds()
    const enrollment = await mfa.beginEnrollment(victim, 'victim@example.com', { now })
    await mfa.confirm(victim, totp.code(enrollment.secret, { now }), { now })
    await throttle.fail(victim)

    const attempts = [
      () => sessions.list(attacker),
      () => sessions.revokeAll(attacker),
      () => mfa.status(attacker),
      () => mfa.disable(attacker),
      () => mfa.regenerateRecoveryCodes(attacker),
      () => throttle.reset(attacker),
      () => throttle.fail(attacker),
      () => onetime.issue(attacker, 'password_reset'),
      () => tokens.issue(attacker),
    ]
    for (const attempt of attempts) await expectCode(PolyauthError, attempt, 'invalid_input', attempt.toString())

    const listed = await sessions.list(victim)
    assert.deepEqual(listed.map((s) => s.sessionId), [pair.sessionId])
    assert.equal(await sessions.isActive(pair.sessionId), true)
    const status = await mfa.status(victim)
    assert.equal(status.enabled, true)
    assert.equal(status.recoveryCodesRemaining, 10)
    // The counter was neither reset nor incremented by the attacker's calls.
    assert.equal((await throttle.fail(victim)).failures, 2)
  })
})

describe('secrets stay out of util.inspect', () => {
  test('TokenPair shows the session, not its tokens; JSON still carries them', async () => {
    const pair = await sessions.start(unique())
    for (const shown of [util.inspect(pair), util.format('%o', pair), util.inspect({ nested: pair }, { depth: 5 })]) {
      assert.ok(!shown.includes(pair.accessToken), shown)
      assert.ok(!shown.includes(pair.refreshToken), shown)
      assert.ok(!shown.includes(pair.refreshToken.slice(4, 20)), shown)
      assert.match(shown, /<redacted>/)
      assert.ok(shown.includes(pair.sessionId), shown)
    }
    assert.deepEqual(Object.keys(pair).sort(), ['accessToken', 'expiresIn', 'refreshExpiresAt', 'refreshToken', 'sessionId'])
    const sent = JSON.parse(JSON.stringify(pair))
    assert.equal(sent.accessToken, pair.accessToken)
    assert.equal(sent.refreshToken, pair.refreshToken)
    const rotated = await sessions.refresh(pair.refreshToken)
    assert.ok(!util.inspect(rotated).includes(rotated.refreshToken))
    assert.ok(!util.inspect(rotated).includes(rotated.accessToken))
  })

  test('KeySet, PasswordHasher and MfaEnrollment do not show key material, peppers or TOTP secrets', async () => {
    const secret = 'k'.repeat(40)
    const hmac = KeySet.fromSecret(secret)
    assert.ok(!util.inspect(hmac).includes(secret))
    const ed = KeySet.generate('EdDSA')
    const d = ed.toJwks({ includePrivate: true }).keys[0].d
    assert.ok(d && !util.inspect(ed).includes(d))
    const pepper = 'pepper-'.repeat(4)
    assert.ok(!util.inspect(new PasswordHasher({ pepper })).includes(pepper))
    const enrollment = await mfa.beginEnrollment(unique(), 'jane@example.com')
    assert.ok(!util.inspect(enrollment).includes(enrollment.secret))
  })
})
