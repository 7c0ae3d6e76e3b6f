// ESM entry point of `polyauth/next`: re-exports the CommonJS build so both module systems share
// one native addon and one process-wide store.
import cjs from './dist/next/index.js'

export const {
  createAuth,
  PROXY_MATCHER,
  AuthHttpError,
  DEFINITIVE_REFRESH_CODES,
  MAX_COOKIE_TOKEN_BYTES,
  TOKEN_CODES,
  bearerChallenge,
  cookieConfig,
  csrfAllows,
  fromAuthError,
  parseCookies,
  requestOrigins,
  serializeCookie,
  stripPrefix,
  RefreshCoalescer,
} = cjs
export default cjs
