/**
 * `PolyauthError`: every error polyauth throws, with a stable `code` identical to the `code` of
 * `polyauth.AuthError` in the Python package. Messages never contain secrets, tokens or hashes.
 */
import * as native from '../native'

/** The stable error codes (DESIGN.md §5). */
export type ErrorCode =
  | 'invalid_token'
  | 'invalid_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'invalid_audience'
  | 'invalid_issuer'
  | 'invalid_type'
  | 'missing_claim'
  | 'unknown_key'
  | 'jwks_unavailable'
  | 'unsupported_algorithm'
  | 'invalid_key'
  | 'invalid_hash'
  | 'password_policy'
  | 'refresh_reused'
  | 'session_revoked'
  | 'session_expired'
  | 'totp_invalid'
  | 'totp_replayed'
  | 'rate_limited'
  | 'store_unavailable'
  | 'invalid_config'
  | 'token_used'
  | 'account_exists'
  | 'invalid_credentials'
  | 'invalid_input'
  | 'internal_error'

/** All codes, as reported by the native core (so this list cannot drift from it). */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(native.errorCodes() as ErrorCode[])
const KNOWN = new Set<string>(ERROR_CODES)

/** An error from polyauth; `code` is stable API. */
export class PolyauthError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode
  /** For `rate_limited`: seconds to wait before retrying. */
  readonly retryAfter: number | undefined
  /** For `password_policy`: the failed policy rules. */
  readonly reasons: string[] | undefined

  // Private fields: never shown by util.inspect (even with showHidden) nor by JSON.stringify.
  readonly #mfaToken: string | undefined
  readonly #triesLeft: number | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options?: { retryAfter?: number; reasons?: string[]; mfaToken?: string; triesLeft?: number },
  ) {
    super(message)
    this.name = 'PolyauthError'
    this.code = code
    this.retryAfter = options?.retryAfter
    this.reasons = options?.reasons
    this.#mfaToken = options?.mfaToken
    this.#triesLeft = options?.triesLeft
  }

  /**
   * For `totp_invalid` / `totp_replayed` from `SignIn.secondFactor`: the fresh single-use token
   * of the same password step, to send with the next code; undefined when the step has ended
   * (its last wrong code). Kept out of the message, `util.inspect` and `JSON.stringify`.
   */
  get mfaToken(): string | undefined {
    return this.#mfaToken
  }

  /** With {@link PolyauthError.mfaToken}: how many more wrong codes the step allows. */
  get triesLeft(): number | undefined {
    return this.#triesLeft
  }
}

/**
 * Native errors arrive as `"<code>\x1f<extra>\x1f<message>"`; see bindings-node/src/errors.rs.
 * The message is everything after the second separator, so a separator inside it (core escapes
 * attacker text, but this must not depend on it) cannot turn a polyauth error into a plain `Error`.
 */
export function convertError(e: unknown): unknown {
  if (!(e instanceof Error)) return e
  const first = e.message.indexOf('\u001f')
  const second = first < 0 ? -1 : e.message.indexOf('\u001f', first + 1)
  const head = first < 0 ? '' : e.message.slice(0, first)
  if (second >= 0 && KNOWN.has(head)) {
    const code = head as ErrorCode
    const extra = e.message.slice(first + 1, second)
    const message = e.message.slice(second + 1)
    if (code === 'rate_limited') return new PolyauthError(code, message, { retryAfter: Number(extra) })
    if (code === 'password_policy') return new PolyauthError(code, message, { reasons: extra ? extra.split(',') : [] })
    return new PolyauthError(code, message)
  }
  // napi-rs reports a wrong argument type as an Error with code "InvalidArg" or "<Kind>Expected".
  const code = (e as { code?: unknown }).code
  if (typeof code === 'string' && (code === 'InvalidArg' || code.endsWith('Expected'))) return new TypeError(e.message)
  return e
}

/** Calls native code, converting its errors. */
export function call<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    throw convertError(e)
  }
}

/** Awaits native async work, converting errors thrown synchronously or by the promise. */
export async function callAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    throw convertError(e)
  }
}
