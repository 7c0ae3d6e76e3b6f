/**
 * polyauth: password hashing, tokens, TOTP, sessions, accounts and sign-in from one Rust core, shared with the
 * `polyauth` Python package (same formats, same error codes).
 */
import * as native from '../native'
import { call, callAsync } from './errors'

export { PolyauthError, ERROR_CODES } from './errors'
export type { ErrorCode } from './errors'
export { PasswordHasher, PasswordPolicy, BUILTIN_BLOCKLIST_SIZE } from './password'
export type { Password, PolicyOptions, CheckOptions, HasherOptions, VerifyOutcome, PolicyReason, EngineInfo } from './password'
export { KeySet, RemoteKeySet, Tokens } from './tokens'
export { Store } from './store'
export type { OpenOptions } from './store'
export { Sessions } from './sessions'
export { OneTimeTokens } from './onetime'
export { Throttle } from './throttle'
export { Totp } from './totp'
export { Mfa, MfaEnrollment } from './mfa'
export { Accounts } from './accounts'
export type { Account } from './accounts'
export { SignIn } from './signin'
export { runCli } from './cli'
export type { CliOutput, CliStdin } from './cli'
export type { AccountSource, AppAccount, SignInResult, SignInOptions, PasswordOptions, SecondFactorOptions } from './signin'
export type { EncryptionKey, MfaOptions, MfaStatus, MfaVerifyOptions } from './mfa'
export type { TotpOptions, ParsedTotpUri } from './totp'
export type { TokenPair, SessionInfo, SessionsOptions } from './sessions'
export type { ThrottleOptions } from './throttle'
export type { Algorithm, Claims, Jwks, KeyOptions, RemoteKeySetOptions, TokensOptions, VerifiedJws, VerifyOptions } from './tokens'

/** @internal Panics inside Rust; throws `PolyauthError` `internal_error` (used by tests). */
export function _debugPanic(): void {
  call(() => native._debugPanic())
}

/** @internal Work that panics on the Rust runtime; rejects with `PolyauthError` `internal_error` (used by tests). */
export function _debugPanicAsync(): Promise<void> {
  return callAsync(() => native._debugPanicAsync())
}
