/**
 * The sign-in flow (password step, second factor, password reset, email verification), decided in
 * the core so the Node and Python layers behave the same.
 */
import * as native from '../native'
import { Account, Accounts, account } from './accounts'
import { PolyauthError, call, callAsync } from './errors'
import { Mfa } from './mfa'
import { PasswordHasher, PasswordPolicy } from './password'
import { OneTimeTokens } from './onetime'
import { Sessions, redacted } from './sessions'
import type { TokenPair } from './sessions'
import { Throttle } from './throttle'

/** An account of the application's own user table, as its {@link AccountSource} returns it. */
export interface AppAccount {
  /** The account's stable identifier (the `sub` of its tokens). */
  subject: string
  /** The stored hash (any format `PasswordHasher` verifies); null or absent: no password sign-in. */
  passwordHash?: string | null
  /** A disabled account cannot sign in (default false). */
  disabled?: boolean
  /** Claims for the access tokens of its sessions (default none). */
  claims?: Record<string, unknown>
}

/**
 * The application's own user table, used by {@link SignIn} instead of the built-in
 * {@link Accounts}. Both methods may return a value or a Promise. An error they throw (or a
 * Promise that rejects) makes the flow reject with `store_unavailable` "account source find
 * failed: <error.name>" (the name only: a message may hold secrets); a value of the wrong shape
 * makes it reject with `invalid_config`.
 */
export interface AccountSource {
  /**
   * The account with this login, already normalised by {@link Accounts.normalizeLogin} (look it
   * up by the same normalised form), or null/undefined when there is none.
   */
  find(login: string): AppAccount | null | undefined | Promise<AppAccount | null | undefined>
  /** Stores a new password hash for `subject` (the upgrade of a legacy hash after a sign-in, or a reset). */
  setPasswordHash(subject: string, passwordHash: string): void | Promise<void>
}

/** What {@link SignIn.password} resolves to. */
export type SignInResult =
  | { status: 'ok'; pair: TokenPair }
  | { status: 'mfa_required'; mfaToken: string }

/** Options of {@link SignIn}. */
export interface SignInOptions {
  /** The second factor; without it, an account with a confirmed factor cannot sign in (`invalid_config`). */
  mfa?: Mfa
  /** Counts failed password steps per login (default: `new Throttle(store)` over the accounts' store). */
  throttle?: Throttle
  /** Where challenge, reset and verification tokens live (default: the accounts' store). */
  oneTime?: OneTimeTokens
  /** With an {@link AccountSource} only: verifies and upgrades its hashes (default `new PasswordHasher()`). */
  hasher?: PasswordHasher
  /** With an {@link AccountSource} only: the policy of reset passwords (default: the hasher's). */
  policy?: PasswordPolicy
}

/** Options of {@link SignIn.password}. */
export interface PasswordOptions {
  /** Kept with the session (user agent, IP), shown by `Sessions.list`. */
  meta?: Record<string, unknown>
  /**
   * Also counts failures per login within this context (e.g. the client IP from a trusted proxy
   * list; 1 to 256 bytes without NUL).
   */
  throttleContext?: string
}

/** Options of {@link SignIn.secondFactor}: exactly one of `code` and `recoveryCode`. */
export interface SecondFactorOptions {
  /** A TOTP code from the authenticator app. */
  code?: string
  /** One of the account's recovery codes. */
  recoveryCode?: string
  /** Kept with the session, as in {@link PasswordOptions.meta}. */
  meta?: Record<string, unknown>
  /** The TOTP clock (seconds since the epoch; default: the system clock). Token expiry and throttling keep the server clock. */
  now?: number
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** The name of what a source threw, never its message (Rust narrows it further to an identifier). */
function errorName(e: unknown): string {
  try {
    const name = e !== null && (typeof e === 'object' || typeof e === 'function') ? (e as { name?: unknown }).name : undefined
    return typeof name === 'string' ? name : typeof e
  } catch {
    return 'Error'
  }
}

const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed()

/** Checks what the application's `find` returned; the field named in `invalid` becomes `invalid_config`. */
function sourceReply(found: unknown): native.SourceReply {
  if (found === null || found === undefined) return {}
  if (typeof found !== 'object') return { invalid: 'must return an object, null or undefined' }
  const { subject, passwordHash, disabled, claims } = found as Record<string, unknown>
  if (typeof subject !== 'string') return { invalid: 'subject must be a string' }
  if (!wellFormed(subject)) return { invalid: 'subject is not well-formed Unicode (lone surrogate)' }
  if (passwordHash !== undefined && passwordHash !== null && typeof passwordHash !== 'string') {
    return { invalid: 'passwordHash must be a string, null or undefined' }
  }
  if (typeof passwordHash === 'string' && !wellFormed(passwordHash)) {
    return { invalid: 'passwordHash is not well-formed Unicode (lone surrogate)' }
  }
  if (disabled !== undefined && typeof disabled !== 'boolean') return { invalid: 'disabled must be a boolean' }
  if (claims !== undefined && claims !== null && (typeof claims !== 'object' || Array.isArray(claims))) {
    return { invalid: 'claims must be an object' }
  }
  return {
    account: {
      subject,
      passwordHash: typeof passwordHash === 'string' ? passwordHash : undefined,
      disabled: disabled ?? false,
      claims: claims ?? {},
    },
  }
}

function isSource(value: unknown): value is AccountSource {
  if (value === null || typeof value !== 'object') return false
  const v = value as Record<string, unknown>
  return typeof v.find === 'function' && typeof v.setPasswordHash === 'function'
}

/**
 * Wraps the source's methods into functions that always resolve (never reject or throw), with
 * the outcome described for the native layer: the error's name, a shape problem, or the account.
 */
function wrapSource(source: AccountSource): {
  find: (login: string) => Promise<native.SourceReply>
  setPasswordHash: (subject: string, passwordHash: string) => Promise<string | null>
} {
  return {
    find: async (login) => {
      let found: unknown
      try {
        found = await source.find(login)
      } catch (e) {
        return { failure: errorName(e) }
      }
      try {
        return sourceReply(found)
      } catch (e) {
        // A getter of the returned object threw.
        return { failure: errorName(e) }
      }
    },
    setPasswordHash: async (subject, passwordHash) => {
      try {
        await source.setPasswordHash(subject, passwordHash)
        return null
      } catch (e) {
        return errorName(e)
      }
    },
  }
}

function instance<T>(value: unknown, cls: abstract new (...args: never[]) => T, what: string): T | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof cls)) throw new TypeError(`${what} must be a ${cls.name}`)
  return value
}

/**
 * The sign-in flow (FRAMEWORKS.md §4) over built-in {@link Accounts} or the application's own
 * {@link AccountSource}:
 *
 * - **Password step** ({@link SignIn.password}): every failure (unknown login, wrong password,
 *   disabled or password-less account) is the same `invalid_credentials`, after the same argon2
 *   work; failures are throttled per login before any verification (`rate_limited` with
 *   `retryAfter`); a legacy hash is upgraded to argon2id; with a confirmed second factor the step
 *   resolves `{ status: 'mfa_required', mfaToken }`, otherwise a session with `amr: ["pwd"]`.
 * - **Second step** ({@link SignIn.secondFactor}): single-use challenge tokens, at most 5 wrong
 *   codes per password step.
 * - **Recovery**: password reset and email verification with single-use tokens.
 */
export class SignIn {
  /** @internal */
  readonly native: native.SignIn
  readonly #accounts: Accounts | null

  /**
   * `accounts`: built-in {@link Accounts}, or an {@link AccountSource} (then `hasher` verifies
   * and upgrades its hashes, default `new PasswordHasher()`, and `policy` checks reset passwords).
   * Giving `hasher` or `policy` with built-in accounts throws `invalid_config` (they carry their
   * own).
   */
  constructor(accounts: Accounts | AccountSource, sessions: Sessions, options: SignInOptions = {}) {
    if (!(sessions instanceof Sessions)) throw new TypeError('sessions must be a Sessions')
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const mfa = instance(options.mfa, Mfa, 'mfa')?.native
    const throttle = instance(options.throttle, Throttle, 'throttle')?.native
    const oneTime = instance(options.oneTime, OneTimeTokens, 'oneTime')?.native
    const hasher = instance(options.hasher, PasswordHasher, 'hasher')
    const policy = instance(options.policy, PasswordPolicy, 'policy')
    if (accounts instanceof Accounts) {
      if (hasher !== undefined || policy !== undefined) {
        throw new PolyauthError('invalid_config', 'hasher and policy apply to an AccountSource only: built-in Accounts carry their own')
      }
      this.native = call(() => native.SignIn.withAccounts(accounts.native, sessions.native, mfa, throttle, oneTime))
      this.#accounts = accounts
    } else if (isSource(accounts)) {
      const wrapped = wrapSource(accounts)
      const h = hasher ?? new PasswordHasher()
      this.native = call(() =>
        native.SignIn.withSource(wrapped.find, wrapped.setPasswordHash, h.native, policy?.native, sessions.native, mfa, throttle, oneTime),
      )
      this.#accounts = null
    } else {
      throw new TypeError('accounts must be an Accounts or an AccountSource (with find and setPasswordHash methods)')
    }
  }

  /**
   * The password step. Resolves `{ status: 'ok', pair }` (a new session with the account's claims
   * and `amr: ["pwd"]`) or `{ status: 'mfa_required', mfaToken }` (pass the token to
   * {@link SignIn.secondFactor} within 300 s). Rejects with `invalid_credentials` (the same error
   * for every wrong login or password), `rate_limited`, `invalid_input`, `store_unavailable`.
   */
  async password(login: string, password: string, options: PasswordOptions = {}): Promise<SignInResult> {
    const r = await callAsync(() => this.native.password(login, password, options.meta, options.throttleContext))
    if (r.pair) return { status: 'ok', pair: redacted(r.pair) }
    const result = { status: 'mfa_required' as const, mfaToken: r.mfaToken as string }
    Object.defineProperty(result, INSPECT, {
      value: () => `{ status: 'mfa_required', mfaToken: <redacted> }`,
      enumerable: false,
    })
    return result
  }

  /**
   * The second step: exactly one of `code` and `recoveryCode` (`invalid_input` otherwise, before
   * the token is spent). Resolves to a new session with `amr: ["pwd", "otp"]` or
   * `["pwd", "recovery"]`. A wrong or replayed code rejects with `totp_invalid` / `totp_replayed`
   * carrying `mfaToken` (a fresh token for the same step) and `triesLeft`; the step's fifth wrong
   * code rejects with `totp_invalid` without them. An unusable token (unknown, used, expired) is
   * `invalid_token`; `rate_limited` ends the step.
   */
  async secondFactor(mfaToken: string, options: SecondFactorOptions): Promise<TokenPair> {
    if (options === null || typeof options !== 'object') throw new TypeError('options with code or recoveryCode are required')
    const r = await callAsync(() => this.native.secondFactor(mfaToken, options.code, options.recoveryCode, options.meta, options.now))
    if (r.pair) return redacted(r.pair)
    throw new PolyauthError(r.errorCode as 'totp_invalid' | 'totp_replayed', r.errorMessage ?? '', {
      mfaToken: r.mfaToken ?? undefined,
      triesLeft: r.triesLeft ?? undefined,
    })
  }

  /**
   * Starts a password reset: a single-use token (`ttl` seconds, default 3600) to mail to the owner
   * of `login`, or null for an unknown or disabled account (after the same store work, so the two
   * cannot be told apart by timing; answer both the same way). Requests are throttled per login
   * (`rate_limited`).
   */
  requestPasswordReset(login: string, options: { ttl?: number } = {}): Promise<string | null> {
    return callAsync(() => this.native.requestPasswordReset(login, options.ttl)).then((t) => t ?? null)
  }

  /**
   * Completes a password reset and resolves to the subject. The new password is checked against
   * the policy before the token is spent (a refused password keeps the link usable); then every
   * session of the account is revoked. Rejects with `password_policy`, `invalid_token`,
   * `token_expired`, `token_used`, `invalid_type`.
   */
  resetPassword(token: string, newPassword: string): Promise<string> {
    return callAsync(() => this.native.resetPassword(token, newPassword))
  }

  /**
   * A signed-in user changes their password (built-in accounts): `currentPassword` is checked
   * under the sign-in throttle of the account's login, `newPassword` against the policy; then
   * every session of `subject` is revoked and a fresh one starts for the caller with `amr` (what
   * the caller's session proved; `pwd` is always included). Rejects with `invalid_credentials`,
   * `password_policy`, `rate_limited`, `invalid_config` (an application's account source).
   */
  async changePassword(
    subject: string,
    currentPassword: string,
    newPassword: string,
    options: { amr?: readonly string[]; meta?: Record<string, unknown> } = {},
  ): Promise<TokenPair> {
    const pair = await callAsync(() =>
      this.native.changePassword(subject, currentPassword, newPassword, options.amr ? [...options.amr] : undefined, options.meta),
    )
    return redacted(pair)
  }

  /**
   * A single-use token (`ttl` seconds, default 86400) proving that whoever presents it received
   * mail at the account's login. Built-in accounts only (`invalid_config` otherwise);
   * `invalid_input` for an unknown subject.
   */
  requestEmailVerification(subject: string, options: { ttl?: number } = {}): Promise<string> {
    return callAsync(() => this.native.requestEmailVerification(subject, options.ttl))
  }

  /** Consumes an email-verification token and resolves to the account, now verified. */
  verifyEmail(token: string): Promise<Account> {
    return callAsync(() => this.native.verifyEmail(token)).then(account)
  }

  /** The built-in accounts signed in to; null with an application's own {@link AccountSource}. */
  get accounts(): Accounts | null {
    return this.#accounts
  }

  /** @internal */
  [INSPECT](): string {
    return `SignIn { accounts: ${this.#accounts ? 'builtin' : 'AccountSource'} }`
  }
}
