// vectors/signin.json through the Node binding on every backend: the scripted sign-in scenarios
// that core/tests/signin_vectors.rs and tests-python/test_signin_vectors.py run too, so the three
// agree case by case.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  Accounts,
  KeySet,
  Mfa,
  PasswordHasher,
  PolyauthError,
  Sessions,
  SignIn,
  Store,
  Throttle,
  Tokens,
  Totp,
} from 'polyauth'
import { loadProjectVectors, storeBackends } from './helpers.mjs'

const FILE = loadProjectVectors('signin.json')
const BACKENDS = await storeBackends(Store)
const TOTP = new Totp()
const TOKENS = new Tokens(KeySet.generate('EdDSA'), { issuer: 'https://issuer.test', audience: 'api' })
const HASHER = new PasswordHasher()

/** camelCase throttle options from the vectors' snake_case. */
function throttleOptions(t) {
  const map = { free_attempts: 'freeAttempts', base_delay: 'baseDelay', max_delay: 'maxDelay', max_failures: 'maxFailures', reset_after: 'resetAfter' }
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [map[k], v]))
}

const errorOf = (e) => {
  if (!(e instanceof PolyauthError)) throw e
  return { error: e.code }
}

class Case {
  constructor(store, throttle) {
    this.accounts = new Accounts(store, HASHER)
    this.sessions = new Sessions(store, TOKENS)
    this.mfa = new Mfa(store, TOTP, { encryptionKey: Buffer.alloc(32, 0x22) })
    const options = { mfa: this.mfa }
    if (throttle) options.throttle = new Throttle(store, throttleOptions(throttle))
    this.signIn = new SignIn(this.accounts, this.sessions, options)
    this.tag = randomBytes(6).toString('hex')
    this.now = Math.floor(Date.now() / 1000)
    this.subjects = new Map()
    this.secrets = new Map()
  }

  text(step, key) {
    assert.equal(typeof step[key], 'string', `step lacks ${key}`)
    return step[key].replaceAll('{tag}', this.tag)
  }

  signed(accessToken, step) {
    const claims = TOKENS.verify(accessToken)
    const out = { status: 'ok', amr: claims.amr }
    const want = step.expect?.claims
    if (want) out.claims = Object.fromEntries(Object.keys(want).filter((k) => k in claims).map((k) => [k, claims[k]]))
    return out
  }

  async run(step) {
    switch (step.op) {
      case 'create': {
        const login = this.text(step, 'login')
        const secret = step.password_hash !== undefined ? { passwordHash: step.password_hash } : this.text(step, 'password')
        try {
          const a = await this.accounts.create(login, secret, step.claims)
          this.subjects.set(step.as, a.subject)
          return { account: true }
        } catch (e) {
          return errorOf(e)
        }
      }
      case 'disable':
        await this.accounts.disable(this.subjects.get(step.account))
        return undefined
      case 'enroll_mfa': {
        const subject = this.subjects.get(step.account)
        const then = this.now - 120
        const e = await this.mfa.beginEnrollment(subject, 'user@example.com', { now: then })
        const codes = await this.mfa.confirm(subject, TOTP.code(e.secret, { now: then }), { now: then })
        this.secrets.set(subject, { secret: e.secret, codes })
        return undefined
      }
      case 'password': {
        const login = this.text(step, 'login')
        const options = step.context ? { throttleContext: step.context } : {}
        try {
          const r = await this.signIn.password(login, this.text(step, 'password'), options)
          if (r.status === 'ok') {
            this.lastSession = r.pair.sessionId
            return this.signed(r.pair.accessToken, step)
          }
          this.latestToken = r.mfaToken
          this.lastMfaSubject = (await this.accounts.find(login)).subject
          return { status: 'mfa_required' }
        } catch (e) {
          return errorOf(e)
        }
      }
      case 'second_factor': {
        const token = step.token === 'spent' ? this.spentToken : this.latestToken
        const { secret, codes } = this.secrets.get(this.lastMfaSubject)
        const right = TOTP.code(secret, { now: this.now })
        const options = { now: this.now }
        if (step.code === 'current') options.code = right
        else if (step.code === 'wrong') options.code = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
        else if (step.code === 'malformed') options.code = '12ab'
        else options.recoveryCode = codes[step.recovery]
        this.spentToken = token
        try {
          const pair = await this.signIn.secondFactor(token, options)
          this.lastSession = pair.sessionId
          return this.signed(pair.accessToken, step)
        } catch (e) {
          if (!(e instanceof PolyauthError)) throw e
          if (e.mfaToken !== undefined) {
            this.latestToken = e.mfaToken
            return { error: e.code, retry: true, tries_left: e.triesLeft }
          }
          return { error: e.code, retry: false }
        }
      }
      case 'session_active':
        return await this.sessions.isActive(this.lastSession)
      case 'request_password_reset':
        try {
          const t = await this.signIn.requestPasswordReset(this.text(step, 'login'))
          if (t !== null) this.resetToken = t
          return { token: t !== null }
        } catch (e) {
          return errorOf(e)
        }
      case 'reset_password':
        try {
          await this.signIn.resetPassword(this.resetToken ?? this.verificationToken, this.text(step, 'password'))
          return { ok: true }
        } catch (e) {
          return errorOf(e)
        }
      case 'request_email_verification':
        this.verificationToken = await this.signIn.requestEmailVerification(this.subjects.get(step.account))
        return undefined
      case 'verify_email':
        try {
          return { verified: (await this.signIn.verifyEmail(this.verificationToken)).verified }
        } catch (e) {
          return errorOf(e)
        }
      default:
        throw new Error(`unknown op ${step.op}`)
    }
  }
}

describe('vectors/signin.json', () => {
  test('the file has the scenarios', () => {
    assert.ok(FILE.cases.length >= 10)
  })
  for (const backend of BACKENDS) {
    for (const c of FILE.cases) {
      test(`${backend.name}: ${c.name}`, { skip: backend.skip }, async () => {
        const run = new Case(await Store.open(backend.url()), c.throttle)
        for (const [i, step] of c.steps.entries()) {
          const got = await run.run(step)
          assert.deepEqual(got, step.expect, `step ${i} ${JSON.stringify(step)}`)
        }
      })
    }
  }
})
