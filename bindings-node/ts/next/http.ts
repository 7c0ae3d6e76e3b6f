/**
 * The wire rules `polyauth/next` shares with `polyauth.fastapi` (FRAMEWORKS.md §1): error bodies
 * and headers, cookie attributes and the CSRF policy, over Web-standard `Request` / `Response`.
 */
import { PolyauthError } from '../errors'

/** A token larger than this does not fit a cookie reliably (about 4096 bytes per cookie, name and attributes included). */
export const MAX_COOKIE_TOKEN_BYTES = 3800

/** The longest Retry-After sent: a key locked until reset reports about 2**53 seconds. */
export const MAX_RETRY_AFTER = 86_400

/** Retry-After for a store that did not answer. */
export const STORE_RETRY_AFTER = 5

/** Core codes meaning the presented token or session cannot be used (401 with `invalid_token`). */
export const TOKEN_CODES: ReadonlySet<string> = new Set([
  'invalid_token',
  'invalid_signature',
  'token_expired',
  'token_not_yet_valid',
  'invalid_audience',
  'invalid_issuer',
  'invalid_type',
  'missing_claim',
  'unknown_key',
  'unsupported_algorithm',
  'session_revoked',
  'session_expired',
  'refresh_reused',
  'token_used',
])

/** Refresh failures after which the refresh cookie can never work again: the cookies are cleared. */
export const DEFINITIVE_REFRESH_CODES: ReadonlySet<string> = new Set([
  'refresh_reused',
  'session_revoked',
  'session_expired',
  'invalid_token',
  'invalid_issuer',
  'invalid_audience',
])

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/**
 * An HTTP error with a stable `code`, rendered as `{ detail, code, ...extra }` with
 * `Cache-Control: no-store` by {@link AuthHttpError.toResponse}.
 */
export class AuthHttpError extends Error {
  /** The HTTP status. */
  readonly status: number
  /** The stable machine-readable code (the body's `code`). */
  readonly code: string
  /** Response headers (`WWW-Authenticate`, `Retry-After`). */
  readonly headers: Record<string, string>
  /** Further body members (`scope`, `mfa_token`, `reasons`). */
  readonly extra: Record<string, unknown>

  constructor(status: number, code: string, detail: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
    super(detail)
    this.name = 'AuthHttpError'
    this.status = status
    this.code = code
    this.headers = headers
    this.extra = extra
  }

  /** The human-readable `detail` of the body. */
  get detail(): string {
    return this.message
  }

  /** The JSON body. */
  body(): Record<string, unknown> {
    return { detail: this.message, code: this.code, ...this.extra }
  }

  /** The error as a `Response` (JSON, `Cache-Control: no-store`). */
  toResponse(): Response {
    return json(this.body(), this.status, this.headers)
  }
}

/** A JSON response with `Cache-Control: no-store` (every auth response carries it). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const h = new Headers(headers)
  h.set('content-type', 'application/json')
  h.set('cache-control', 'no-store')
  return new Response(JSON.stringify(body), { status, headers: h })
}

/** An empty response (204 by default) with `Cache-Control: no-store`. */
export function noContent(status = 204): Response {
  return new Response(null, { status, headers: { 'cache-control': 'no-store' } })
}

/** A `WWW-Authenticate: Bearer ...` header (RFC 6750 §3) with quoted parameters. */
export function bearerChallenge(realm: string, params: Record<string, string> = {}): Record<string, string> {
  const parts = [`realm="${realm}"`, ...Object.entries(params).map(([k, v]) => `${k}="${v}"`)]
  return { 'WWW-Authenticate': `Bearer ${parts.join(', ')}` }
}

/** 401 without credentials. */
export function notAuthenticated(realm: string): AuthHttpError {
  return new AuthHttpError(401, 'not_authenticated', 'Not authenticated', bearerChallenge(realm))
}

/** 400 for a malformed Authorization header. */
export function invalidRequest(realm: string, detail: string): AuthHttpError {
  return new AuthHttpError(400, 'invalid_request', detail, bearerChallenge(realm, { error: 'invalid_request' }))
}

/** 403 for a missing scope or permission. */
export function insufficientScope(realm: string, needed: readonly string[]): AuthHttpError {
  const scope = needed.join(' ')
  return new AuthHttpError(
    403,
    'insufficient_scope',
    'The token lacks a required scope',
    bearerChallenge(realm, { error: 'insufficient_scope', scope }),
    { scope },
  )
}

/** 401 asking for a stronger or more recent sign-in (RFC 9470). */
export function insufficientUserAuthentication(realm: string, detail: string, maxAge?: number): AuthHttpError {
  const params: Record<string, string> = { error: 'insufficient_user_authentication', error_description: detail }
  if (maxAge !== undefined) params.max_age = String(maxAge)
  return new AuthHttpError(401, 'insufficient_user_authentication', detail, bearerChallenge(realm, params))
}

/** 403 for a request the CSRF policy refuses. */
export function csrfFailed(): AuthHttpError {
  return new AuthHttpError(403, 'csrf_failed', 'Cross-site request refused')
}

/** The HTTP form of a polyauth error (FRAMEWORKS.md §1's table); anything else is a 500 without detail. */
export function fromAuthError(e: unknown, realm: string): AuthHttpError {
  if (e instanceof AuthHttpError) return e
  if (!(e instanceof PolyauthError)) {
    // Only the name: a message could hold a secret.
    console.error(`polyauth: unexpected ${e instanceof Error ? e.name : typeof e}`)
    return new AuthHttpError(500, 'internal_error', 'Internal error')
  }
  const code = e.code
  const detail = e.message || code
  if (TOKEN_CODES.has(code)) {
    return new AuthHttpError(401, code, detail, bearerChallenge(realm, { error: 'invalid_token', error_description: code }))
  }
  switch (code) {
    case 'invalid_credentials':
      return new AuthHttpError(401, code, 'Invalid login or password')
    case 'totp_invalid':
    case 'totp_replayed': {
      const extra: Record<string, unknown> = {}
      if (e.mfaToken !== undefined) {
        extra.mfa_token = e.mfaToken
        extra.tries_left = e.triesLeft ?? null
      }
      return new AuthHttpError(401, code, detail, {}, extra)
    }
    case 'rate_limited': {
      const retry = Math.max(1, Math.min(Math.floor(e.retryAfter ?? 1), MAX_RETRY_AFTER))
      return new AuthHttpError(429, code, 'Too many attempts; try again later', { 'Retry-After': String(retry) })
    }
    case 'store_unavailable':
    case 'jwks_unavailable':
      return new AuthHttpError(503, code, detail, { 'Retry-After': String(STORE_RETRY_AFTER) })
    case 'password_policy':
      return new AuthHttpError(422, code, detail, {}, { reasons: e.reasons ?? [] })
    case 'account_exists':
      return new AuthHttpError(409, code, detail)
    case 'invalid_input':
    case 'invalid_hash':
      return new AuthHttpError(400, code, detail)
    default:
      console.error(`polyauth: ${code} (${detail})`)
      return new AuthHttpError(500, code, 'Internal error')
  }
}

/** Cookie names and attributes (FRAMEWORKS.md §1, the `next` column of vectors/http.json). */
export interface CookieOptions {
  /** The access cookie's name (default `__Host-Http-polyauth_at`). */
  accessName?: string
  /** The refresh cookie's name (default `__Host-Http-polyauth_rt`). */
  refreshName?: string
  /** SameSite of the access cookie (default `lax`). */
  accessSameSite?: 'lax' | 'strict'
  /** SameSite of the refresh cookie (default `lax`: a Next.js page navigation must carry it). */
  refreshSameSite?: 'lax' | 'strict'
}

/** The resolved cookie configuration. */
export interface CookieConfig {
  accessName: string
  refreshName: string
  accessSameSite: 'lax' | 'strict'
  refreshSameSite: 'lax' | 'strict'
  /** Without `Secure` and without name prefixes (plain-http development). */
  insecureDev: boolean
}

/** A cookie name without its `__Host-Http-` / `__Host-` / `__Secure-` prefix. */
export function stripPrefix(name: string): string {
  for (const prefix of ['__Host-Http-', '__Host-', '__Secure-']) {
    if (name.startsWith(prefix)) return name.slice(prefix.length)
  }
  return name
}

/** The cookie configuration in effect for `options` (names stripped of their prefixes with `insecureDev`). */
export function cookieConfig(options: CookieOptions = {}, insecureDev = false): CookieConfig {
  const access = options.accessName ?? '__Host-Http-polyauth_at'
  const refresh = options.refreshName ?? '__Host-Http-polyauth_rt'
  return {
    accessName: insecureDev ? stripPrefix(access) : access,
    refreshName: insecureDev ? stripPrefix(refresh) : refresh,
    accessSameSite: options.accessSameSite ?? 'lax',
    refreshSameSite: options.refreshSameSite ?? 'lax',
    insecureDev,
  }
}

const COOKIE_VALUE = /^[!#-+\--:<-[\]-~]*$/

/**
 * One `Set-Cookie` value with the layer's attributes: `Path=/`, `HttpOnly`, `Secure` (unless
 * `insecureDev`), the given SameSite; `maxAge` 0 clears the cookie. The one builder used for set
 * and clear, so a clear always matches what was set.
 */
export function serializeCookie(name: string, value: string, maxAge: number, sameSite: 'lax' | 'strict', insecureDev: boolean): string {
  if (!COOKIE_VALUE.test(value)) throw new PolyauthError('invalid_config', 'a cookie value must be cookie-safe text')
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${Math.max(0, Math.floor(maxAge))}`]
  if (maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT')
  parts.push('HttpOnly')
  if (!insecureDev) parts.push('Secure')
  parts.push(`SameSite=${sameSite === 'strict' ? 'Strict' : 'Lax'}`)
  return parts.join('; ')
}

/** `invalid_config` for a token too large for a cookie: never silently dropped. */
export function checkCookieSize(token: string, what: string): void {
  const size = Buffer.byteLength(token)
  if (size > MAX_COOKIE_TOKEN_BYTES) {
    throw new PolyauthError(
      'invalid_config',
      `the ${what} token is ${size} bytes, over the ${MAX_COOKIE_TOKEN_BYTES}-byte cookie limit; put fewer claims in the session`,
    )
  }
}

/** The cookies of a request's `Cookie` header (the first of duplicate names wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>()
  if (!header) return out
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const name = part.slice(0, eq).trim()
    let value = part.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    if (name && !out.has(name)) out.set(name, value)
  }
  return out
}

/** The CSRF policy's configuration (Go's `CrossOriginProtection` plus a static header). */
export interface CsrfOptions {
  /** Exact origins (`https://app.example.com`) allowed to send cross-origin requests. */
  trustedOrigins?: readonly string[]
  /** The app's own public origins (default: the request URL's origin). */
  origins?: readonly string[]
  /** Refuse unsafe cookie requests with neither `Sec-Fetch-Site` nor `Origin` (default false). */
  strict?: boolean
  /** The static header cookie-mode refresh and logout require with the value `1` (default `X-Polyauth`). */
  header?: string
}

/**
 * Whether the CSRF policy lets a cookie-authenticated request through (FRAMEWORKS.md §1): safe
 * methods always; `Sec-Fetch-Site: same-origin | none`; otherwise only an `Origin` that is trusted
 * (or, without `Sec-Fetch-Site`, the app's own); `Origin: null` never; neither header: allowed
 * unless `strict`. `ownOrigin` is the request's own origin (or several: see `requestOrigins`).
 */
export function csrfAllows(method: string, headers: Headers, ownOrigin: string | readonly string[], options: CsrfOptions = {}): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return true
  const site = headers.get('sec-fetch-site')
  const origin = headers.get('origin')
  const trusted = new Set(options.trustedOrigins ?? [])
  if (site !== null) {
    const s = site.trim().toLowerCase()
    if (s === 'same-origin' || s === 'none') return true
    return origin !== null && trusted.has(origin)
  }
  if (origin === null) return !options.strict
  if (origin === 'null') return false
  const own = new Set(options.origins && options.origins.length > 0 ? options.origins : typeof ownOrigin === 'string' ? [ownOrigin] : ownOrigin)
  return own.has(origin) || trusted.has(origin)
}

/**
 * The origins a request was addressed to: its URL's, and the scheme of its URL with its `Host`
 * header (as Starlette and Go's `CrossOriginProtection` see it; Next.js builds `request.url` from
 * the server's configured hostname, not from `Host`). `CsrfOptions.origins` replaces both.
 */
export function requestOrigins(request: Request): string[] {
  const url = new URL(request.url)
  const out = [url.origin]
  const host = request.headers.get('host')
  if (host && /^[A-Za-z0-9.\-\[\]:]+$/.test(host)) out.push(`${url.protocol}//${host.toLowerCase()}`)
  return out
}
