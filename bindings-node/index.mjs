// ESM entry point: re-exports the CommonJS build so both module systems share one native addon.
import cjs from './dist/index.js'

export const {
  PolyauthError,
  ERROR_CODES,
  PasswordHasher,
  PasswordPolicy,
  BUILTIN_BLOCKLIST_SIZE,
  KeySet,
  RemoteKeySet,
  Tokens,
  Store,
  Sessions,
  OneTimeTokens,
  Throttle,
  Totp,
  Mfa,
  MfaEnrollment,
  Accounts,
  SignIn,
  runCli,
  _debugPanic,
  _debugPanicAsync,
} = cjs
export default cjs
