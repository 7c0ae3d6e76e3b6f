/**
 * `polyauth/next`: Next.js App Router server helpers (FRAMEWORKS.md §3). Every security decision
 * (password check, throttle, MFA, rotation, reuse, revocation) is made by the core; this module adds
 * route handlers, `auth()` for Server Components and `withAuth` for route handlers, with the same
 * wire behaviour as `polyauth.fastapi` (FRAMEWORKS.md §1).
 *
 * Handlers use Web-standard `Request` / `Response` only; `next/headers` is loaded lazily by
 * `auth()` and `accessToken()`, so everything else runs (and is tested) without Next.js.
 */
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { Accounts } from '../accounts'
import { PolyauthError } from '../errors'
import { Mfa } from '../mfa'
import type { EncryptionKey } from '../mfa'
import { PasswordHasher } from '../password'
import { SignIn } from '../signin'
import type { AccountSource } from '../signin'
import { OneTimeTokens } from '../onetime'
import { Sessions } from '../sessions'
import type { SessionsOptions, TokenPair } from '../sessions'
import { Store } from '../store'
import { Throttle } from '../throttle'
import { Totp } from '../totp'
import { KeySet, RemoteKeySet, Tokens } from '../tokens'
import type { Algorithm, Claims } from '../tokens'
import {
  AuthHttpError,
  DEFINITIVE_REFRESH_CODES,
  TOKEN_CODES,
  checkCookieSize,
  cookieConfig,
  csrfAllows,
  csrfFailed,
  fromAuthError,
  insufficientScope,
  insufficientUserAuthentication,
  invalidRequest,
  json,
  noContent,
  notAuthenticated,
  parseCookies,
  requestOrigins,
  serializeCookie,
} from './http'
import type { CookieConfig, CookieOptions, CsrfOptions } from './http'
import { RefreshCoalescer } from './refresh'

export {
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
} from './http'
export type { CookieConfig, CookieOptions, CsrfOptions } from './http'
export { RefreshCoalescer } from './refresh'

/** Who made a request, from a verified access token. `scopes` holds the token's `scope` plus the permissions of its `roles`. */
export interface Principal {
  subject: string
  /** The session (`sid`), or null for a service token issued by `Tokens.issue`. */
  sessionId: string | null
  /** Granted scopes and permissions, sorted. */
  scopes: string[]
  /** How the user signed in (`["pwd"]`, `["pwd", "otp"]`). */
  amr: string[]
  claims: Claims
  issuedAt: number
  expiresAt: number
  source: 'bearer' | 'cookie'
}

/** What {@link Auth.auth} resolves to. */
export type AuthState =
  | { status: 'authenticated'; session: Principal }
  | { status: 'expired' | 'anonymous'; session: null }

/** Audit events (FRAMEWORKS.md §1); the data never holds a token, hash, code or password. */
export type AuditEvent =
  | 'login_succeeded'
  | 'login_failed'
  | 'mfa_failed'
  | 'refresh_reused'
  | 'session_revoked'
  | 'csrf_rejected'
  | 'rate_limited'

/** Where the access-token keys come from: a key set, or `KeySet.load` options (`{ env: 'POLYAUTH_JWKS' }`). */
export type KeysOption = KeySet | RemoteKeySet | { env?: string; path?: string; alg?: Algorithm }

/** Token settings for {@link createAuth} when no `Tokens` instance is given. */
export interface TokensConfig {
  keys: KeysOption
  issuer: string
  audience: string | string[]
  /** Access-token lifetime in seconds (default 900). */
  accessTtl?: number
  /** Clock skew allowed in seconds (default 30). */
  leeway?: number
}

/** What the Server Action helpers (`signIn`, `verifyMfa`, `signOut`) return; they never throw redirects. */
export type ActionResult =
  | { ok: true; status: 'ok' }
  | { ok: true; status: 'mfa_required'; mfaToken: string }
  | { ok: false; code: string; detail: string; mfaToken?: string; retryAfter?: number }

/** What {@link CreateAuthOptions.send} delivers: a password-reset link or an email-verification link. */
export type SendKind = 'password_reset' | 'verify_email'

/**
 * Delivers a single-use token to `to` (the account's login, usually an email address), e.g. as a
 * link to a page of the app that posts it to `password/reset` or `email/verify`. Awaited before
 * the response is sent; never logged by polyauth.
 */
export type Send = (kind: SendKind, to: string, token: string) => void | Promise<void>

/** Input of {@link Auth.revokeSession}: the session id, or a form with a `session_id` field. */
export type RevokeSessionInput = string | FormData

/** Input of {@link Auth.signIn}: a form (`login`, `password` fields) or an object. */
export type SignInInput = FormData | { login: string; password: string }
/** Input of {@link Auth.verifyMfa}: a form (`mfa_token`, `code` or `recovery_code`) or an object. */
export type VerifyMfaInput = FormData | { mfaToken: string; code?: string; recoveryCode?: string }

/** Options of {@link Auth.requireAuth}. */
export interface RequireAuthOptions {
  /** Scopes (or role permissions) all required; missing ones throw `insufficient_scope`. */
  scopes?: readonly string[]
  /** The path to come back to after signing in (`?next=`); default: the current path when Next.js tells it, else none. */
  next?: string
}

/** What a guarded Server Action ({@link Auth.action}) returns: the action's data, or the auth error's stable code. */
export type GuardedResult<T> = { ok: true; data: T } | { ok: false; code: string; detail: string; retryAfter?: number }

/** Options of {@link Auth.action}: the checks of `withAuth` for a Server Action. */
export interface ActionOptions {
  /** Scopes (or role permissions) all required. */
  scopes?: readonly string[]
  /** Authentication methods all required (`['otp']`). */
  amr?: readonly string[]
  /** A sign-in at most this many seconds ago (`auth_time`). */
  maxAge?: number
}

/** Options of {@link Auth.proxy}. */
export interface ProxyOptions {
  /**
   * Path prefixes only signed-in users may open (`['/dashboard']` covers `/dashboard/...`): an
   * anonymous request, or one whose session ended, is redirected to the sign-in page with `?next=`.
   * The pages must still check (`requireAuth()`): the proxy is a convenience, not the guard.
   */
  protect?: readonly string[]
}

/** A Next.js request as the proxy sees it (`NextRequest` is one). */
export type ProxyRequest = Request

/**
 * The matcher `proxy.ts` should export (copy it: Next.js reads `config` statically, so it cannot be
 * imported): every page, but not API routes, static files, nor router prefetches, so a page full of
 * `<Link>`s triggers at most one refresh.
 */
export const PROXY_MATCHER = [
  {
    source: '/((?!api|_next/static|_next/image|favicon.ico|sitemap.xml|robots.txt).*)',
    missing: [
      { type: 'header', key: 'next-router-prefetch' },
      { type: 'header', key: 'purpose', value: 'prefetch' },
    ],
  },
] as const

/** Options of {@link createAuth}. */
export interface CreateAuthOptions {
  /** A `Tokens` instance, or its settings (built on first use, so `next build` needs no keys). */
  tokens: Tokens | TokensConfig | (() => Tokens)
  /** A store URL (`sqlite://polyauth.db`, `postgres://...`, `redis://...`) or an open `Store`; opened once per process. */
  store: string | Store
  /** Options of the sessions built here (default `reuseGrace: 30`). */
  sessions?: SessionsOptions
  /** The application's own accounts (default: polyauth's built-in accounts in the same store). */
  accounts?: AccountSource
  /** Enables TOTP second factors: the key(s) encrypting TOTP secrets. */
  mfaKey?: EncryptionKey | readonly EncryptionKey[]
  /** Cookie names and SameSite, or `false` for bearer-only mode (tokens in bodies). */
  cookies?: CookieOptions | false
  /** The CSRF policy for cookie-authenticated unsafe requests. */
  csrf?: CsrfOptions
  /** Role → permissions, honoured by every scope check. */
  permissions?: Record<string, readonly string[]>
  /** Seconds a session's revocation state is cached (default 5; 0 checks every request). */
  sessionCheck?: number
  /**
   * Delivers password-reset (`password/forgot`) and email-verification (`email/verify/request`)
   * tokens; without it those endpoints still answer 202 but nothing is sent.
   */
  send?: Send
  /** How recent (seconds) a sign-in the `mfa/enroll|confirm|disable|recovery-codes` endpoints require (default 600). */
  recentLogin?: number
  /** Receives the audit events; errors it throws are logged and ignored. */
  audit?: (event: AuditEvent, data: Record<string, unknown>) => void | Promise<void>
  /** Drops the cookie prefixes and `Secure` for plain-http development (logs a warning). */
  insecureDev?: boolean
  /** The `realm` of `WWW-Authenticate` (default `api`). */
  realm?: string
  /** Where the catch-all auth route lives (default `/api/auth`). */
  basePath?: string
  /** The sign-in page `requireAuth()` redirects to (default `/sign-in`). */
  signInPath?: string
  /** The client address used as extra throttle context and session metadata (default: none; Next.js exposes no peer address). */
  clientIp?: (request: Request) => string | undefined
}

/** Options of {@link Auth.withAuth}. */
export interface WithAuthOptions {
  /** Scopes (or role permissions) all required. */
  scopes?: readonly string[]
  /** Authentication methods all required (`['otp']`: step-up, RFC 9470). */
  amr?: readonly string[]
  /** A sign-in at most this many seconds ago (`auth_time`). */
  maxAge?: number
  /** Run the handler with `principal: null` when there are no credentials (a bad bearer token is still 401). */
  optional?: boolean
}

/** A route handler of Next.js (`GET`, `POST`, ...). */
export type RouteHandler<C = unknown> = (request: Request, context: C) => Promise<Response>

/** What {@link createAuth} returns. */
export interface Auth {
  /** `GET` and `POST` for `app/api/auth/[...polyauth]/route.ts`. */
  handlers: { GET: RouteHandler<unknown>; POST: RouteHandler<unknown> }
  /** The current request's auth state, from its cookies (read-only: never writes nor refreshes). */
  auth(): Promise<AuthState>
  /** A route handler guarded by bearer or cookie authentication, scopes, step-up and CSRF. */
  withAuth<C = unknown>(
    handler: (request: Request, context: C & { principal: Principal }) => Response | Promise<Response>,
    options?: WithAuthOptions & { optional?: false },
  ): RouteHandler<C>
  withAuth<C = unknown>(
    handler: (request: Request, context: C & { principal: Principal | null }) => Response | Promise<Response>,
    options: WithAuthOptions & { optional: true },
  ): RouteHandler<C>
  /** The current request's access token (to call an API as the user), or null when not authenticated. */
  accessToken(): Promise<string | null>
  /** The session of a Server Component; redirects to the sign-in page (`?next=`) when not authenticated. */
  requireAuth(options?: RequireAuthOptions): Promise<Principal>
  /**
   * A guarded Server Action: re-verifies the caller from its cookies (refreshing inline when the
   * access cookie expired), checks scopes / step-up, then runs `fn(principal, ...args)`. Auth
   * failures and `PolyauthError`s thrown by `fn` come back as `{ ok: false, code }`; other errors
   * (and Next.js redirects) propagate.
   */
  action<A extends unknown[], T>(
    fn: (principal: Principal, ...args: A) => T | Promise<T>,
    options?: ActionOptions,
  ): (...args: A) => Promise<GuardedResult<Awaited<T>>>
  /**
   * The function of `proxy.ts` (Next 16, Node.js runtime): valid sessions pass through; an expired
   * access cookie with a refresh cookie is refreshed once (single-flight) and both cookies are set on
   * the response and on the request the page renders, so `auth()` already sees them. Router
   * prefetches never refresh. Definitive refresh failures clear the cookies; a store that does not
   * answer changes nothing.
   */
  proxy(options?: ProxyOptions): (request: ProxyRequest) => Promise<Response>
  /** Server Action: password sign-in; sets the cookies, or returns `mfa_required` with the `mfaToken`. */
  signIn(input: SignInInput): Promise<ActionResult>
  /** Server Action: the second factor (TOTP `code` or `recoveryCode`) after `mfa_required`; sets the cookies. */
  verifyMfa(input: VerifyMfaInput): Promise<ActionResult>
  /** Server Action: ends this session (or every session of the user with `everywhere`) and clears the cookies. */
  signOut(options?: { everywhere?: boolean }): Promise<ActionResult>
  /**
   * Server Action: revokes one of the signed-in user's sessions (`not_found` for any other id,
   * `not_authenticated` without a session); revoking the current one also clears the cookies.
   */
  revokeSession(input: RevokeSessionInput): Promise<ActionResult>
  /** The principal of `request` (bearer first, then the access cookie) with the scope, step-up and CSRF checks. */
  authenticate(request: Request, options?: WithAuthOptions): Promise<Principal | null>
  /** Appends the `Set-Cookie` headers of `pair` to `headers`. */
  setCookies(headers: Headers, pair: TokenPair): void
  /** Appends `Set-Cookie` headers clearing both cookies (same attributes as when set). */
  clearCookies(headers: Headers): void
  /** The cookie configuration in effect (null in bearer-only mode). */
  readonly cookies: CookieConfig | null
  /** The core objects, opened on first use (the store once per process). */
  state(): Promise<AuthCore>
}

/** The core objects behind an {@link Auth}. */
export interface AuthCore {
  store: Store
  tokens: Tokens
  sessions: Sessions
  accounts: Accounts | null
  signIn: SignIn
  mfa: Mfa | null
  refresher: RefreshCoalescer
}

/** Resolves on the next turn of the event loop (after the pending I/O callbacks). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** The most session states remembered by the `sessionCheck` cache. */
const MAX_SESSION_CACHE = 10_000
/** Bounds that stop megabyte bodies before any work; core enforces the exact rules. */
const MAX_BODY = 64 * 1024
const TEXT = 4096
/** Claims the issuer sets; never copied from one session into the session replacing it. */
const ISSUER_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid'])

interface ProcessState {
  stores: Map<string, Promise<Store>>
  /**
   * Next.js bundles `lib/auth.ts` once for the proxy and once for the app, so `createAuth` runs
   * twice in one process; keyed by store URL and token settings, both share one single-flight.
   */
  refreshers: Map<string, RefreshCoalescer>
}

/** One store per URL per process, kept on `globalThis` so dev reloads of the app's modules reuse it. */
function processState(): ProcessState {
  const key = Symbol.for('polyauth.next.process')
  const g = globalThis as unknown as Record<symbol, ProcessState | undefined>
  let s = g[key]
  if (s === undefined) {
    s = { stores: new Map(), refreshers: new Map() }
    g[key] = s
  }
  return s
}

function openStore(url: string): Promise<Store> {
  const stores = processState().stores
  let opening = stores.get(url)
  if (opening === undefined) {
    opening = Store.open(url)
    stores.set(url, opening)
    // A store that could not be opened is tried again by the next request.
    opening.catch(() => {
      if (stores.get(url) === opening) stores.delete(url)
    })
  }
  return opening
}

function buildTokens(option: CreateAuthOptions['tokens']): Tokens {
  if (option instanceof Tokens) return option
  if (typeof option === 'function') return option()
  const keys = option.keys
  const keySet = keys instanceof KeySet || keys instanceof RemoteKeySet ? keys : KeySet.load(keys)
  return new Tokens(keySet, {
    issuer: option.issuer,
    audience: option.audience,
    ...(option.accessTtl !== undefined ? { accessTtl: option.accessTtl } : {}),
    ...(option.leeway !== undefined ? { leeway: option.leeway } : {}),
  })
}

type NextCookies = {
  get(name: string): { value: string } | undefined
  set?(name: string, value: string, options: Record<string, unknown>): unknown
}
type NextHeaders = {
  cookies(): Promise<NextCookies> | NextCookies
  headers(): Promise<{ get(name: string): string | null }> | { get(name: string): string | null }
}

/**
 * A module of the application's Next.js (`next/headers`, `next/server`, `next/navigation`). Loaded
 * on use, not at import, so the handlers run without Next.js; when polyauth is linked from outside
 * the app (a `file:` dependency) the application's copy is found from its working directory, which
 * keeps one request store.
 */
function appRequire<T>(id: string): T {
  try {
    return require(id) as T
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw e
    return createRequire(path.join(process.cwd(), 'package.json'))(id) as T
  }
}

/** `redirect` of `next/navigation`. */
function nextRedirect(url: string): never {
  return appRequire<{ redirect(url: string): never }>('next/navigation').redirect(url)
}

type NextServer = {
  NextResponse: {
    next(init?: { request?: { headers?: Headers } }): Response
    redirect(url: URL | string, status?: number): Response
  }
}

/** `next/server` of the application (for `proxy`). */
function nextServer(): NextServer {
  return appRequire<NextServer>('next/server')
}

/** `next/headers` of the application. */
function nextHeaders(): NextHeaders {
  return appRequire<NextHeaders>('next/headers')
}

function stringField(body: Record<string, unknown>, name: string, max: number, required: boolean): string | undefined {
  const v = body[name]
  if (v === undefined || v === null) {
    if (required) throw new AuthHttpError(422, 'invalid_request', `${name} is required`)
    return undefined
  }
  if (typeof v !== 'string' || v.length > max) throw new AuthHttpError(422, 'invalid_request', `${name} must be a string of at most ${max} characters`)
  return v
}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (declared > MAX_BODY) throw new AuthHttpError(413, 'payload_too_large', 'Request body too large')
  const text = await request.text()
  if (text.length > MAX_BODY) throw new AuthHttpError(413, 'payload_too_large', 'Request body too large')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new AuthHttpError(422, 'invalid_request', 'The body must be a JSON object')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AuthHttpError(422, 'invalid_request', 'The body must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

/**
 * Authentication for a Next.js App Router app over one polyauth store (FRAMEWORKS.md §3).
 * Nothing is opened until first use, so importing `lib/auth.ts` during `next build` needs neither
 * keys nor a store.
 *
 * @example
 * export const { handlers, auth, withAuth, accessToken } = createAuth({
 *   tokens: { keys: { env: 'POLYAUTH_JWKS' }, issuer: 'https://app.example.com', audience: 'api' },
 *   store: process.env.DATABASE_URL ?? 'sqlite://polyauth.db',
 * })
 */
export function createAuth(options: CreateAuthOptions): Auth {
  if (options === null || typeof options !== 'object') throw new TypeError('createAuth needs an options object')
  if (options.tokens === undefined) throw new PolyauthError('invalid_config', 'createAuth needs tokens')
  if (options.store === undefined) throw new PolyauthError('invalid_config', 'createAuth needs store (a URL or a Store)')
  const realm = options.realm ?? 'api'
  const insecureDev = options.insecureDev === true
  const cookies = options.cookies === false ? null : cookieConfig(options.cookies ?? {}, insecureDev)
  const csrf: CsrfOptions = options.csrf ?? {}
  const csrfHeader = (csrf.header ?? 'X-Polyauth').toLowerCase()
  const signInPath = options.signInPath ?? '/sign-in'
  const basePath = (options.basePath ?? '/api/auth').replace(/\/+$/, '')
  const sessionCheck = options.sessionCheck ?? 5
  const recentLogin = options.recentLogin ?? 600
  const permissions = new Map<string, ReadonlySet<string>>(
    Object.entries(options.permissions ?? {}).map(([role, p]) => [role, new Set(p)]),
  )
  const sessionCache = new Map<string, { until: number; active: boolean }>()
  if (insecureDev && cookies !== null) {
    console.warn('polyauth: insecureDev cookies (no Secure, no prefixes): for plain-http development only')
  }

  let core: Promise<AuthCore> | null = null

  async function build(): Promise<AuthCore> {
    const tokens = buildTokens(options.tokens)
    const store = typeof options.store === 'string' ? await openStore(options.store) : options.store
    const sessions = new Sessions(store, tokens, { reuseGrace: 30, ...options.sessions })
    if (cookies !== null && sessions.reuseGrace === 0) {
      console.warn('polyauth: sessions with reuseGrace 0 in cookie mode: parallel tabs racing a refresh will be signed out; use 30')
    }
    const builtin = options.accounts === undefined
    const accounts = builtin ? new Accounts(store, new PasswordHasher()) : null
    let mfa: Mfa | null = null
    if (options.mfaKey !== undefined) {
      const host = (() => {
        try {
          return new URL(tokens.issuer).hostname
        } catch {
          return ''
        }
      })()
      mfa = new Mfa(store, new Totp({ issuer: host || 'polyauth' }), { encryptionKey: options.mfaKey })
    }
    const signIn = new SignIn(accounts ?? (options.accounts as AccountSource), sessions, {
      ...(mfa ? { mfa } : {}),
      throttle: new Throttle(store),
      oneTime: new OneTimeTokens(store),
    })
    let refresher: RefreshCoalescer
    if (typeof options.store === 'string') {
      const refreshers = processState().refreshers
      const key = JSON.stringify([options.store, sessions.reuseGrace, tokens.issuer, tokens.audience])
      refresher = refreshers.get(key) ?? new RefreshCoalescer(sessions, Math.min(sessions.reuseGrace, 30))
      refreshers.set(key, refresher)
    } else {
      refresher = new RefreshCoalescer(sessions, Math.min(sessions.reuseGrace, 30))
    }
    return { store, tokens, sessions, accounts, signIn, mfa, refresher }
  }

  function state(): Promise<AuthCore> {
    if (core === null) {
      const building = build()
      core = building
      building.catch(() => {
        if (core === building) core = null
      })
    }
    return core
  }

  function audit(event: AuditEvent, data: Record<string, unknown>): void {
    const sink = options.audit
    if (sink === undefined) return
    try {
      const r = sink(event, data)
      if (r && typeof (r as Promise<void>).catch === 'function') {
        ;(r as Promise<void>).catch((e: unknown) => console.error(`polyauth: audit callback failed (${e instanceof Error ? e.name : typeof e})`))
      }
    } catch (e) {
      console.error(`polyauth: audit callback failed (${e instanceof Error ? e.name : typeof e})`)
    }
  }

  async function sessionActive(c: AuthCore, sid: string): Promise<boolean> {
    const now = performance.now()
    if (sessionCheck > 0) {
      const hit = sessionCache.get(sid)
      if (hit !== undefined && hit.until > now) return hit.active
    }
    const active = await c.sessions.isActive(sid)
    if (sessionCheck > 0) {
      sessionCache.delete(sid)
      sessionCache.set(sid, { until: now + sessionCheck * 1000, active })
      while (sessionCache.size > MAX_SESSION_CACHE) {
        const oldest = sessionCache.keys().next().value
        if (oldest === undefined) break
        sessionCache.delete(oldest)
      }
    }
    return active
  }

  function principal(claims: Claims, source: 'bearer' | 'cookie'): Principal {
    const granted = new Set<string>()
    if (typeof claims.scope === 'string') for (const s of claims.scope.split(/\s+/)) if (s) granted.add(s)
    if (Array.isArray(claims.roles)) {
      for (const role of claims.roles) {
        if (typeof role === 'string') for (const p of permissions.get(role) ?? []) granted.add(p)
      }
    }
    return {
      subject: String(claims.sub),
      sessionId: typeof claims.sid === 'string' ? claims.sid : null,
      scopes: [...granted].sort(),
      amr: Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [],
      claims,
      issuedAt: typeof claims.iat === 'number' ? claims.iat : 0,
      expiresAt: claims.exp,
      source,
    }
  }

  /** Verifies an access token and its session; throws the core error. */
  async function verify(token: string, source: 'bearer' | 'cookie'): Promise<Principal> {
    const c = await state()
    const claims = await c.tokens.verifyAsync(token)
    if (typeof claims.sid === 'string' && !(await sessionActive(c, claims.sid))) {
      throw new PolyauthError('session_revoked', 'the session was revoked or has expired')
    }
    return principal(claims, source)
  }

  /** The request's credentials: a well-formed bearer token wins; else the access cookie. */
  function credentials(request: Request): { token: string | null; source: 'bearer' | 'cookie' } {
    const header = request.headers.get('authorization')
    if (header !== null) {
      const trimmed = header.trim()
      const space = trimmed.indexOf(' ')
      const scheme = space < 0 ? trimmed : trimmed.slice(0, space)
      const value = space < 0 ? '' : trimmed.slice(space + 1).trim()
      if (scheme.toLowerCase() !== 'bearer' || !value || /\s/.test(value)) {
        throw invalidRequest(realm, "Authorization must be 'Bearer <token>'")
      }
      return { token: value, source: 'bearer' }
    }
    if (cookies !== null) {
      const cookie = parseCookies(request.headers.get('cookie')).get(cookies.accessName)
      if (cookie) return { token: cookie, source: 'cookie' }
    }
    return { token: null, source: 'cookie' }
  }

  const ownOrigin = requestOrigins

  /** The scope (or role permission), step-up and recent sign-in checks of withAuth and action. */
  function requireGrants(p: Principal, opts: ActionOptions): void {
    const missing = (opts.scopes ?? []).filter((s) => !p.scopes.includes(s))
    if (missing.length > 0) throw insufficientScope(realm, missing)
    const amrMissing = (opts.amr ?? []).filter((m) => !p.amr.includes(m))
    if (amrMissing.length > 0) {
      throw insufficientUserAuthentication(realm, `sign in with ${amrMissing.join(' and ')} to continue`, opts.maxAge)
    }
    if (opts.maxAge !== undefined) {
      const authTime = p.claims.auth_time
      if (typeof authTime !== 'number' || Date.now() / 1000 - authTime > opts.maxAge) {
        throw insufficientUserAuthentication(realm, 'a more recent sign-in is required', opts.maxAge)
      }
    }
  }

  async function authenticate(request: Request, opts: WithAuthOptions = {}): Promise<Principal | null> {
    const { token, source } = credentials(request)
    if (token === null) {
      if (opts.optional) return null
      throw notAuthenticated(realm)
    }
    let p: Principal
    try {
      p = await verify(token, source)
    } catch (e) {
      // An unusable cookie makes an optional principal anonymous; a store that did not answer
      // does not (503: the user is not signed out).
      if (opts.optional && source === 'cookie' && e instanceof PolyauthError && TOKEN_CODES.has(e.code)) return null
      throw fromAuthError(e, realm)
    }
    requireGrants(p, opts)
    if (source === 'cookie' && !csrfAllows(request.method, request.headers, ownOrigin(request), csrf)) {
      audit('csrf_rejected', { path: new URL(request.url).pathname, subject: p.subject })
      throw csrfFailed()
    }
    return p
  }

  function setCookies(headers: Headers, pair: TokenPair): void {
    if (cookies === null) throw new PolyauthError('invalid_config', 'cookies are off (cookies: false)')
    checkCookieSize(pair.accessToken, 'access')
    checkCookieSize(pair.refreshToken, 'refresh')
    const refreshAge = Math.max(0, pair.refreshExpiresAt - Math.floor(Date.now() / 1000))
    headers.append('set-cookie', serializeCookie(cookies.accessName, pair.accessToken, pair.expiresIn, cookies.accessSameSite, insecureDev))
    headers.append('set-cookie', serializeCookie(cookies.refreshName, pair.refreshToken, refreshAge, cookies.refreshSameSite, insecureDev))
  }

  function clearCookies(headers: Headers): void {
    if (cookies === null) return
    headers.append('set-cookie', serializeCookie(cookies.accessName, '', 0, cookies.accessSameSite, insecureDev))
    headers.append('set-cookie', serializeCookie(cookies.refreshName, '', 0, cookies.refreshSameSite, insecureDev))
  }

  function tokenBody(pair: TokenPair, withTokens: boolean): Record<string, unknown> {
    if (!withTokens) return { status: 'ok', expires_in: pair.expiresIn }
    return {
      status: 'ok',
      access_token: pair.accessToken,
      refresh_token: pair.refreshToken,
      token_type: 'bearer',
      expires_in: pair.expiresIn,
    }
  }

  function signedIn(pair: TokenPair, extra: Record<string, unknown> = {}): Response {
    const response = json({ ...tokenBody(pair, cookies === null), ...extra })
    if (cookies !== null) setCookies(response.headers, pair)
    return response
  }

  function meta(request: Request): { meta: Record<string, unknown>; ip: string | undefined } {
    const ip = options.clientIp?.(request)
    const m: Record<string, unknown> = { user_agent: (request.headers.get('user-agent') ?? '').slice(0, 256) }
    if (ip !== undefined) m.ip = ip
    return { meta: m, ip }
  }

  /** Cookie-mode refresh and logout: the CSRF policy plus the static header. */
  function cookieModeChecks(request: Request): void {
    if (request.headers.get(csrfHeader) !== '1' || !csrfAllows(request.method, request.headers, ownOrigin(request), csrf)) {
      audit('csrf_rejected', { path: new URL(request.url).pathname })
      throw csrfFailed()
    }
  }

  /** The refresh token from a JSON body, else from the cookie (with the CSRF checks). */
  async function refreshToken(request: Request): Promise<{ token: string; fromCookie: boolean }> {
    if ((request.headers.get('content-type') ?? '').startsWith('application/json')) {
      let body: Record<string, unknown> | null = null
      try {
        body = await readJson(request)
      } catch (e) {
        if (e instanceof AuthHttpError && e.status === 413) throw e
      }
      if (body !== null && typeof body.refresh_token === 'string') {
        return { token: stringField(body, 'refresh_token', TEXT, true) as string, fromCookie: false }
      }
    }
    if (cookies !== null) {
      const cookie = parseCookies(request.headers.get('cookie')).get(cookies.refreshName)
      if (cookie) {
        cookieModeChecks(request)
        return { token: cookie, fromCookie: true }
      }
    }
    throw notAuthenticated(realm)
  }

  async function refresh(token: string): Promise<TokenPair> {
    const c = await state()
    try {
      return await c.refresher.refresh(token)
    } catch (e) {
      if (e instanceof PolyauthError && e.code === 'refresh_reused') audit('refresh_reused', {})
      throw e
    }
  }

  async function revokeSession(c: AuthCore, sessionId: string): Promise<boolean> {
    const revoked = await c.sessions.revoke(sessionId)
    sessionCache.delete(sessionId)
    if (revoked) audit('session_revoked', { session_id: sessionId })
    return revoked
  }

  /** Revokes one of `current`'s own sessions (404 `not_found` for any other id); true when it was the current one. */
  async function revokeOwnSession(c: AuthCore, current: Principal, sessionId: string): Promise<boolean> {
    const own = new Set((await c.sessions.list(current.subject)).map((s) => s.sessionId))
    if (!own.has(sessionId)) throw new AuthHttpError(404, 'not_found', 'No such session')
    await revokeSession(c, sessionId)
    return sessionId === current.sessionId
  }

  /**
   * Replaces the principal's session with a new one (new `sid`, the given `amr`, the same
   * application claims, `auth_time` included): what MFA changes require (session fixation).
   */
  async function restartSession(c: AuthCore, request: Request, current: Principal, amr: string[]): Promise<TokenPair> {
    const claims: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(current.claims)) if (!ISSUER_CLAIMS.has(k)) claims[k] = v
    claims.amr = amr
    const pair = await c.sessions.start(current.subject, { claims, meta: meta(request).meta })
    if (current.sessionId !== null) {
      await c.sessions.revoke(current.sessionId)
      sessionCache.delete(current.sessionId)
    }
    return pair
  }

  /** The MFA endpoints: a sign-in within `recentLogin` seconds, and MFA configured (404 otherwise). */
  async function recentMfa(request: Request): Promise<{ c: AuthCore; mfa: Mfa; current: Principal }> {
    const current = (await authenticate(request, { maxAge: recentLogin })) as Principal
    const c = await state()
    if (c.mfa === null) throw new AuthHttpError(404, 'not_found', 'MFA is not configured')
    return { c, mfa: c.mfa, current }
  }

  /** The built-in accounts, for the endpoints that exist only with them (404 with an application's own store). */
  function builtinAccounts(c: AuthCore): Accounts {
    if (c.accounts === null) throw new AuthHttpError(404, 'not_found', 'Not available with an application account store')
    return c.accounts
  }

  async function deliver(kind: SendKind, to: string, token: string): Promise<void> {
    if (options.send !== undefined) await options.send(kind, to, token)
  }

  /**
   * A reset link is delivered after the response (`after()` of next/server inside a request, else
   * unawaited): a slow or failing mailer must not tell a real account from an unknown one.
   */
  function deliverLater(kind: SendKind, to: string, token: string): void {
    if (options.send === undefined) return
    const run = async (): Promise<void> => {
      try {
        await deliver(kind, to, token)
      } catch (e) {
        console.error(`polyauth: send(${kind}) failed (${e instanceof Error ? e.name : typeof e})`)
      }
    }
    let after: ((task: () => Promise<void>) => void) | undefined
    try {
      after = (nextServer() as unknown as { after?: (task: () => Promise<void>) => void }).after
    } catch {
      after = undefined // no Next.js (the handlers run on plain Request objects too)
    }
    if (typeof after === 'function') {
      try {
        after(run)
        return
      } catch {
        // outside a request scope
      }
    }
    void run()
  }

  // ---- the endpoints ----------------------------------------------------------------------

  const post: Record<string, (request: Request) => Promise<Response>> = {
    async register(request) {
      const c = await state()
      if (c.accounts === null) throw new AuthHttpError(404, 'not_found', 'Registration is not available with an application account store')
      const body = await readJson(request)
      const login = stringField(body, 'login', TEXT, true) as string
      const password = stringField(body, 'password', TEXT, true) as string
      const account = await c.accounts.create(login, password)
      return json({ subject: account.subject }, 201)
    },

    async login(request) {
      const c = await state()
      const body = await readJson(request)
      const login = stringField(body, 'login', TEXT, true) as string
      const password = stringField(body, 'password', TEXT, true) as string
      const { meta: m, ip } = meta(request)
      let result
      try {
        result = await c.signIn.password(login, password, { meta: m, ...(ip !== undefined ? { throttleContext: ip } : {}) })
      } catch (e) {
        const code = e instanceof PolyauthError ? e.code : 'internal_error'
        audit(code === 'rate_limited' ? 'rate_limited' : 'login_failed', { ip: ip ?? null, code })
        throw e
      }
      if (result.status === 'mfa_required') return json({ status: 'mfa_required', mfa_token: result.mfaToken })
      audit('login_succeeded', { ip: ip ?? null, session_id: result.pair.sessionId, amr: ['pwd'] })
      return signedIn(result.pair)
    },

    async 'mfa/verify'(request) {
      const c = await state()
      const body = await readJson(request)
      const mfaToken = stringField(body, 'mfa_token', TEXT, true) as string
      const code = stringField(body, 'code', 64, false)
      const recoveryCode = stringField(body, 'recovery_code', 64, false)
      const { meta: m, ip } = meta(request)
      let pair: TokenPair
      try {
        pair = await c.signIn.secondFactor(mfaToken, {
          ...(code !== undefined ? { code } : {}),
          ...(recoveryCode !== undefined ? { recoveryCode } : {}),
          meta: m,
        })
      } catch (e) {
        audit('mfa_failed', { ip: ip ?? null, code: e instanceof PolyauthError ? e.code : 'internal_error' })
        throw e
      }
      audit('login_succeeded', { ip: ip ?? null, session_id: pair.sessionId })
      return signedIn(pair)
    },

    async refresh(request) {
      const { token, fromCookie } = await refreshToken(request)
      let pair: TokenPair
      try {
        pair = await refresh(token)
      } catch (e) {
        const error = fromAuthError(e, realm)
        const response = error.toResponse()
        if (fromCookie && DEFINITIVE_REFRESH_CODES.has(error.code)) clearCookies(response.headers)
        return response
      }
      if (fromCookie) return signedIn(pair)
      return json(tokenBody(pair, true))
    },

    async logout(request) {
      const c = await state()
      const response = noContent()
      const current = await authenticate(request, { optional: true })
      if (current !== null && current.source === 'cookie') cookieModeChecks(request)
      if (current !== null && current.sessionId !== null) {
        await revokeSession(c, current.sessionId)
      } else {
        let found: { token: string; fromCookie: boolean }
        try {
          found = await refreshToken(request)
        } catch (e) {
          if (e instanceof AuthHttpError && e.code === 'not_authenticated') {
            clearCookies(response.headers)
            return response
          }
          throw e
        }
        try {
          if (await c.sessions.revokeRefreshToken(found.token)) audit('session_revoked', {})
        } catch (e) {
          if (!(e instanceof PolyauthError && e.code === 'invalid_token')) throw e
        }
      }
      clearCookies(response.headers)
      return response
    },

    async 'logout-all'(request) {
      const c = await state()
      const current = (await authenticate(request)) as Principal
      await c.sessions.revokeAll(current.subject)
      if (current.sessionId !== null) sessionCache.delete(current.sessionId)
      audit('session_revoked', { subject: current.subject, all: true })
      const response = noContent()
      clearCookies(response.headers)
      return response
    },

    async 'sessions/revoke'(request) {
      const c = await state()
      const current = (await authenticate(request)) as Principal
      const body = await readJson(request)
      const sessionId = stringField(body, 'session_id', TEXT, true) as string
      const response = noContent()
      if (await revokeOwnSession(c, current, sessionId)) clearCookies(response.headers)
      return response
    },

    async 'mfa/enroll'(request) {
      const { c, mfa, current } = await recentMfa(request)
      const account = c.accounts === null ? null : await c.accounts.get(current.subject)
      const e = await mfa.beginEnrollment(current.subject, account?.login ?? current.subject)
      return json({ secret: e.secret, uri: e.uri, qr_svg: e.qrSvg, expires_at: e.expiresAt })
    },

    async 'mfa/confirm'(request) {
      const { c, mfa, current } = await recentMfa(request)
      const code = stringField(await readJson(request), 'code', 64, true) as string
      const codes = await mfa.confirm(current.subject, code)
      return signedIn(await restartSession(c, request, current, ['pwd', 'otp']), { recovery_codes: codes })
    },

    async 'mfa/disable'(request) {
      const { c, mfa, current } = await recentMfa(request)
      const code = stringField(await readJson(request), 'code', 64, true) as string
      await mfa.verify(current.subject, code)
      await mfa.disable(current.subject)
      return signedIn(await restartSession(c, request, current, ['pwd']))
    },

    async 'mfa/recovery-codes'(request) {
      const { mfa, current } = await recentMfa(request)
      return json({ recovery_codes: await mfa.regenerateRecoveryCodes(current.subject) })
    },

    async 'password/change'(request) {
      const c = await state()
      const current = (await authenticate(request)) as Principal
      const body = await readJson(request)
      const currentPassword = stringField(body, 'current_password', TEXT, true) as string
      const newPassword = stringField(body, 'new_password', TEXT, true) as string
      const pair = await c.signIn.changePassword(current.subject, currentPassword, newPassword, {
        amr: current.amr,
        meta: meta(request).meta,
      })
      // Core revoked every session of the subject; this process forgets what it cached.
      sessionCache.clear()
      audit('session_revoked', { subject: current.subject, all: true, reason: 'password_change' })
      return signedIn(pair)
    },

    async 'password/forgot'(request) {
      const c = await state()
      const login = stringField(await readJson(request), 'login', TEXT, true) as string
      let token: string | null
      try {
        token = await c.signIn.requestPasswordReset(login)
      } catch (e) {
        // A malformed login is answered like an unknown one; only the throttle shows.
        if (!(e instanceof PolyauthError) || e.code === 'rate_limited') throw e
        token = null
      }
      if (token !== null) deliverLater('password_reset', login, token)
      return json({ status: 'accepted' }, 202)
    },

    async 'password/reset'(request) {
      const c = await state()
      const body = await readJson(request)
      const token = stringField(body, 'token', TEXT, true) as string
      const password = stringField(body, 'password', TEXT, true) as string
      // Core revokes every session of the account; this process forgets what it cached about them.
      const subject = await c.signIn.resetPassword(token, password)
      sessionCache.clear()
      audit('session_revoked', { subject, all: true, reason: 'password_reset' })
      const response = json({ status: 'reset' })
      clearCookies(response.headers)
      return response
    },

    async 'email/verify/request'(request) {
      const c = await state()
      const accounts = builtinAccounts(c)
      const current = (await authenticate(request)) as Principal
      const account = await accounts.get(current.subject)
      if (account === null) throw new AuthHttpError(404, 'not_found', 'No such account')
      const token = await c.signIn.requestEmailVerification(current.subject)
      await deliver('verify_email', account.login, token)
      return json({ status: 'accepted' }, 202)
    },

    async 'email/verify'(request) {
      const c = await state()
      builtinAccounts(c)
      const token = stringField(await readJson(request), 'token', TEXT, true) as string
      const account = await c.signIn.verifyEmail(token)
      return json({ verified: account.verified })
    },
  }

  const get: Record<string, (request: Request) => Promise<Response>> = {
    async session(request) {
      const current = await authenticate(request, { optional: true })
      if (current !== null) return json({ status: 'authenticated', session: sessionJson(current) })
      const jar = parseCookies(request.headers.get('cookie'))
      const held = cookies !== null && (jar.has(cookies.accessName) || jar.has(cookies.refreshName))
      return json({ status: held ? 'expired' : 'anonymous', session: null })
    },

    async sessions(request) {
      const c = await state()
      const current = (await authenticate(request)) as Principal
      const listed = await c.sessions.list(current.subject)
      return json(
        listed.map((s) => ({
          session_id: s.sessionId,
          created_at: s.createdAt,
          last_used_at: s.lastUsedAt,
          expires_at: s.expiresAt,
          meta: s.meta,
          current: s.sessionId === current.sessionId,
        })),
      )
    },

    async jwks() {
      const c = await state()
      const keys = c.tokens.keys instanceof KeySet ? c.tokens.keys.toJwks() : { keys: [] }
      return new Response(JSON.stringify(keys), {
        headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
      })
    },
  }

  function sessionJson(p: Principal): Record<string, unknown> {
    return { subject: p.subject, session_id: p.sessionId, scopes: p.scopes, amr: p.amr, expires_at: p.expiresAt }
  }

  /** The endpoint name of a request to the catch-all route: from `params`, else from the path. */
  async function endpoint(request: Request, context: unknown): Promise<string> {
    const params = (context as { params?: unknown } | undefined)?.params
    if (params !== undefined) {
      const resolved = (await params) as Record<string, unknown> | undefined
      const segments = resolved ? Object.values(resolved).find((v) => Array.isArray(v)) : undefined
      if (Array.isArray(segments)) return segments.join('/')
    }
    const pathname = new URL(request.url).pathname
    return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length + 1).replace(/\/+$/, '') : ''
  }

  function dispatcher(table: Record<string, (request: Request) => Promise<Response>>, other: Record<string, unknown>, method: string): RouteHandler<unknown> {
    return async (request, context) => {
      try {
        const name = await endpoint(request, context)
        const run = Object.hasOwn(table, name) ? table[name] : undefined
        if (run === undefined) {
          if (Object.hasOwn(other, name)) {
            return json({ detail: 'Method not allowed', code: 'method_not_allowed' }, 405, { Allow: method === 'GET' ? 'POST' : 'GET' })
          }
          return json({ detail: 'Not found', code: 'not_found' }, 404)
        }
        return await run(request)
      } catch (e) {
        return fromAuthError(e, realm).toResponse()
      }
    }
  }

  function withAuth<C>(
    handler: (request: Request, context: C & { principal: Principal | null }) => Response | Promise<Response>,
    opts: WithAuthOptions = {},
  ): RouteHandler<C> {
    if (typeof handler !== 'function') throw new TypeError('withAuth needs a route handler function')
    return async (request, context) => {
      // One turn of the event loop before the verification, which is synchronous (native, tens of
      // microseconds): under load, the requests read in one poll are then verified and answered
      // together instead of one poll cycle per request. On bench/run_next.sh's server (one core,
      // wrk -c32) the same route served 1.25x-1.4x the requests per CPU-second with it than
      // without (bearer and cookie, alternating, one server); an idle server pays one setImmediate.
      await nextTurn()
      let p: Principal | null
      try {
        p = await authenticate(request, opts)
      } catch (e) {
        return fromAuthError(e, realm).toResponse()
      }
      return handler(request, { ...((context ?? {}) as C), principal: p })
    }
  }

  const memo = new WeakMap<object, Promise<AuthState>>()

  async function readState(jar: NextCookies): Promise<{ state: AuthState; token: string | null }> {
    if (cookies === null) return { state: { status: 'anonymous', session: null }, token: null }
    const access = jar.get(cookies.accessName)?.value
    const held = Boolean(access) || Boolean(jar.get(cookies.refreshName)?.value)
    if (!access) return { state: { status: held ? 'expired' : 'anonymous', session: null }, token: null }
    try {
      const p = await verify(access, 'cookie')
      return { state: { status: 'authenticated', session: p }, token: access }
    } catch (e) {
      // Unusable or unverifiable now (store down): render as expired, never clear anything here.
      if (e instanceof PolyauthError) return { state: { status: 'expired', session: null }, token: null }
      throw e
    }
  }

  async function auth(): Promise<AuthState> {
    const jar = await nextHeaders().cookies()
    let pending = memo.get(jar)
    if (pending === undefined) {
      pending = readState(jar).then((r) => r.state)
      memo.set(jar, pending)
    }
    return pending
  }

  async function accessToken(): Promise<string | null> {
    const state = await auth()
    if (state.status !== 'authenticated' || cookies === null) return null
    const jar = await nextHeaders().cookies()
    return jar.get(cookies.accessName)?.value ?? null
  }

  // ---- Server Components and Server Actions (cookies through next/headers) ----------------

  function formValue(input: FormData | Record<string, unknown>, ...names: string[]): string | undefined {
    for (const name of names) {
      const value = typeof (input as FormData).get === 'function'
        ? (input as FormData).get(name)
        : (input as Record<string, unknown>)[name]
      if (typeof value === 'string' && value !== '') return value.slice(0, TEXT + 1)
    }
    return undefined
  }

  function failure(e: unknown): ActionResult {
    if (e instanceof PolyauthError || e instanceof AuthHttpError) {
      const error = fromAuthError(e, realm)
      const result: ActionResult = { ok: false, code: error.code, detail: error.message }
      if (e instanceof PolyauthError && e.mfaToken !== undefined) result.mfaToken = e.mfaToken
      if (e instanceof PolyauthError && e.retryAfter !== undefined) result.retryAfter = e.retryAfter
      return result
    }
    throw e
  }

  async function actionMeta(): Promise<Record<string, unknown>> {
    const h = await nextHeaders().headers()
    return { user_agent: (h.get('user-agent') ?? '').slice(0, 256) }
  }

  async function writableJar(): Promise<NextCookies & { set: NonNullable<NextCookies['set']> }> {
    if (cookies === null) throw new PolyauthError('invalid_config', 'signIn, verifyMfa and signOut need cookies (cookies: false is set)')
    const jar = await nextHeaders().cookies()
    if (typeof jar.set !== 'function') throw new TypeError('polyauth: cookies can be written only in a Server Action or a route handler')
    return jar as NextCookies & { set: NonNullable<NextCookies['set']> }
  }

  function jarSet(jar: { set: NonNullable<NextCookies['set']> }, name: string, value: string, maxAge: number, sameSite: 'lax' | 'strict'): void {
    jar.set(name, value, { httpOnly: true, secure: !insecureDev, path: '/', sameSite, maxAge })
  }

  function storePair(jar: { set: NonNullable<NextCookies['set']> }, pair: TokenPair): void {
    const c = cookies as CookieConfig
    checkCookieSize(pair.accessToken, 'access')
    checkCookieSize(pair.refreshToken, 'refresh')
    const refreshAge = Math.max(0, pair.refreshExpiresAt - Math.floor(Date.now() / 1000))
    jarSet(jar, c.accessName, pair.accessToken, pair.expiresIn, c.accessSameSite)
    jarSet(jar, c.refreshName, pair.refreshToken, refreshAge, c.refreshSameSite)
  }

  function clearJar(jar: { set: NonNullable<NextCookies['set']> }): void {
    const c = cookies as CookieConfig
    jarSet(jar, c.accessName, '', 0, c.accessSameSite)
    jarSet(jar, c.refreshName, '', 0, c.refreshSameSite)
  }

  async function signIn(input: SignInInput): Promise<ActionResult> {
    try {
      const jar = await writableJar()
      const login = formValue(input as FormData, 'login')
      const password = formValue(input as FormData, 'password')
      if (login === undefined || password === undefined) throw new AuthHttpError(400, 'invalid_request', 'login and password are required')
      const c = await state()
      let result
      try {
        result = await c.signIn.password(login, password, { meta: await actionMeta() })
      } catch (e) {
        const code = e instanceof PolyauthError ? e.code : 'internal_error'
        audit(code === 'rate_limited' ? 'rate_limited' : 'login_failed', { ip: null, code })
        throw e
      }
      if (result.status === 'mfa_required') return { ok: true, status: 'mfa_required', mfaToken: result.mfaToken }
      storePair(jar, result.pair)
      audit('login_succeeded', { ip: null, session_id: result.pair.sessionId, amr: ['pwd'] })
      return { ok: true, status: 'ok' }
    } catch (e) {
      return failure(e)
    }
  }

  async function verifyMfa(input: VerifyMfaInput): Promise<ActionResult> {
    try {
      const jar = await writableJar()
      const mfaToken = formValue(input as FormData, 'mfaToken', 'mfa_token')
      const code = formValue(input as FormData, 'code')
      const recoveryCode = formValue(input as FormData, 'recoveryCode', 'recovery_code')
      if (mfaToken === undefined || (code === undefined && recoveryCode === undefined)) {
        throw new AuthHttpError(400, 'invalid_request', 'mfaToken and a code or recoveryCode are required')
      }
      const c = await state()
      let pair: TokenPair
      try {
        pair = await c.signIn.secondFactor(mfaToken, {
          ...(code !== undefined ? { code } : {}),
          ...(recoveryCode !== undefined ? { recoveryCode } : {}),
          meta: await actionMeta(),
        })
      } catch (e) {
        audit('mfa_failed', { ip: null, code: e instanceof PolyauthError ? e.code : 'internal_error' })
        throw e
      }
      storePair(jar, pair)
      audit('login_succeeded', { ip: null, session_id: pair.sessionId })
      return { ok: true, status: 'ok' }
    } catch (e) {
      return failure(e)
    }
  }

  async function signOut(opts: { everywhere?: boolean } = {}): Promise<ActionResult> {
    try {
      const jar = await writableJar()
      const cfg = cookies as CookieConfig
      const c = await state()
      const access = jar.get(cfg.accessName)?.value
      const refreshCookie = jar.get(cfg.refreshName)?.value
      let current: Principal | null = null
      if (access) {
        try {
          current = await verify(access, 'cookie')
        } catch (e) {
          if (!(e instanceof PolyauthError) || e.code === 'store_unavailable') throw e
        }
      }
      if (opts.everywhere === true) {
        if (current === null) throw notAuthenticated(realm)
        await c.sessions.revokeAll(current.subject)
        if (current.sessionId !== null) sessionCache.delete(current.sessionId)
        audit('session_revoked', { subject: current.subject, all: true })
      } else if (current !== null && current.sessionId !== null) {
        await revokeSession(c, current.sessionId)
      } else if (refreshCookie) {
        try {
          if (await c.sessions.revokeRefreshToken(refreshCookie)) audit('session_revoked', {})
        } catch (e) {
          if (!(e instanceof PolyauthError && e.code === 'invalid_token')) throw e
        }
      }
      clearJar(jar)
      return { ok: true, status: 'ok' }
    } catch (e) {
      return failure(e)
    }
  }

  async function revokeSessionAction(input: RevokeSessionInput): Promise<ActionResult> {
    try {
      const jar = await writableJar()
      const sessionId = typeof input === 'string' ? input.slice(0, TEXT + 1) : formValue(input, 'session_id', 'sessionId')
      if (sessionId === undefined || sessionId === '' || sessionId.length > TEXT) {
        throw new AuthHttpError(400, 'invalid_request', 'session_id is required')
      }
      const access = jar.get((cookies as CookieConfig).accessName)?.value
      if (!access) throw notAuthenticated(realm)
      const current = await verify(access, 'cookie')
      if (await revokeOwnSession(await state(), current, sessionId)) clearJar(jar)
      return { ok: true, status: 'ok' }
    } catch (e) {
      return failure(e)
    }
  }

  async function requireAuth(opts: RequireAuthOptions = {}): Promise<Principal> {
    const current = await auth()
    if (current.status !== 'authenticated') {
      const back = opts.next ?? (await currentPath())
      const target = back !== undefined && back.startsWith('/') && !back.startsWith('//')
        ? `${signInPath}?next=${encodeURIComponent(back)}`
        : signInPath
      return nextRedirect(target)
    }
    const missing = (opts.scopes ?? []).filter((s) => !current.session.scopes.includes(s))
    if (missing.length > 0) {
      throw new AuthHttpError(403, 'insufficient_scope', `Missing scope: ${missing.join(' ')}`)
    }
    return current.session
  }

  /** The path of the page being rendered, when the request says it (`next-url` on client navigations, else the proxy's header). */
  async function currentPath(): Promise<string | undefined> {
    const h = await nextHeaders().headers()
    for (const name of ['x-polyauth-path', 'next-url']) {
      const value = h.get(name)
      if (value && value.startsWith('/')) return value
    }
    return undefined
  }

  // ---- guarded Server Actions -------------------------------------------------------------

  /** The caller of a Server Action from its cookies, refreshing inline when the access cookie is gone or expired. */
  async function actionPrincipal(): Promise<Principal> {
    const jar = await writableJar()
    const cfg = cookies as CookieConfig
    const access = jar.get(cfg.accessName)?.value
    if (access) {
      try {
        return await verify(access, 'cookie')
      } catch (e) {
        if (!(e instanceof PolyauthError) || !TOKEN_CODES.has(e.code)) throw e
      }
    }
    const refreshCookie = jar.get(cfg.refreshName)?.value
    if (!refreshCookie) throw notAuthenticated(realm)
    let pair: TokenPair
    try {
      pair = await refresh(refreshCookie)
    } catch (e) {
      if (e instanceof PolyauthError && DEFINITIVE_REFRESH_CODES.has(e.code)) clearJar(jar)
      throw e
    }
    storePair(jar, pair)
    return verify(pair.accessToken, 'cookie')
  }

  function action<A extends unknown[], T>(
    fn: (principal: Principal, ...args: A) => T | Promise<T>,
    opts: ActionOptions = {},
  ): (...args: A) => Promise<GuardedResult<Awaited<T>>> {
    if (typeof fn !== 'function') throw new TypeError('action needs a function')
    return async (...args: A) => {
      let p: Principal
      try {
        p = await actionPrincipal()
        requireGrants(p, opts)
      } catch (e) {
        return guardedFailure(e)
      }
      try {
        return { ok: true, data: await fn(p, ...args) }
      } catch (e) {
        if (e instanceof PolyauthError) return guardedFailure(e)
        throw e
      }
    }
  }

  function guardedFailure(e: unknown): { ok: false; code: string; detail: string; retryAfter?: number } {
    const f = failure(e)
    if (f.ok) throw e
    return f.retryAfter !== undefined ? { ok: false, code: f.code, detail: f.detail, retryAfter: f.retryAfter } : { ok: false, code: f.code, detail: f.detail }
  }

  // ---- proxy.ts ----------------------------------------------------------------------------

  function isPrefetch(headers: Headers): boolean {
    return headers.has('next-router-prefetch') || headers.get('purpose') === 'prefetch' || (headers.get('sec-purpose') ?? '').includes('prefetch')
  }

  /** The `Cookie` header with `values` replacing (or, when null, removing) the named cookies. */
  function rewriteCookieHeader(header: string | null, values: Record<string, string | null>): string {
    const kept = (header ?? '')
      .split(';')
      .map((part) => part.trim())
      .filter((part) => {
        const eq = part.indexOf('=')
        return part !== '' && !Object.hasOwn(values, (eq < 0 ? part : part.slice(0, eq)).trim())
      })
    for (const [name, value] of Object.entries(values)) if (value !== null) kept.push(`${name}=${value}`)
    return kept.join('; ')
  }

  function proxy(opts: ProxyOptions = {}): (request: ProxyRequest) => Promise<Response> {
    const protect = (opts.protect ?? []).map((p) => p.replace(/\/+$/, '') || '/')
    return async (request) => {
      const { NextResponse } = nextServer()
      const url = new URL(request.url)
      const guarded = protect.some((p) => p === '/' || url.pathname === p || url.pathname.startsWith(`${p}/`))
      const forward = new Headers(request.headers)
      // requireAuth()'s ?next= for a full page load, which carries no `next-url`.
      forward.set('x-polyauth-path', url.pathname + url.search)
      const pass = (): Response => NextResponse.next({ request: { headers: forward } })
      const toSignIn = (): Response =>
        NextResponse.redirect(new URL(`${signInPath}?next=${encodeURIComponent(url.pathname + url.search)}`, request.url))
      if (cookies === null) return pass()
      const jar = parseCookies(request.headers.get('cookie'))
      const access = jar.get(cookies.accessName)
      const refreshCookie = jar.get(cookies.refreshName)
      if (access) {
        try {
          await verify(access, 'cookie')
          return pass()
        } catch (e) {
          // The page decides what a store outage means; a bad or expired access token is refreshed.
          if (!(e instanceof PolyauthError) || !TOKEN_CODES.has(e.code)) return pass()
        }
      }
      if (!refreshCookie) return guarded ? toSignIn() : pass()
      // A prefetch must not rotate: the documented matcher already skips them; this is the backstop.
      if (isPrefetch(request.headers)) return pass()
      let pair: TokenPair
      try {
        pair = await refresh(refreshCookie)
      } catch (e) {
        if (e instanceof PolyauthError && DEFINITIVE_REFRESH_CODES.has(e.code)) {
          forward.set('cookie', rewriteCookieHeader(request.headers.get('cookie'), { [cookies.accessName]: null, [cookies.refreshName]: null }))
          const response = guarded ? toSignIn() : pass()
          clearCookies(response.headers)
          return response
        }
        // Transient (the store did not answer): cookies kept, the page renders without a session.
        return pass()
      }
      forward.set(
        'cookie',
        rewriteCookieHeader(request.headers.get('cookie'), { [cookies.accessName]: pair.accessToken, [cookies.refreshName]: pair.refreshToken }),
      )
      const response = pass()
      setCookies(response.headers, pair)
      return response
    }
  }

  return {
    handlers: { GET: dispatcher(get, post, 'GET'), POST: dispatcher(post, get, 'POST') },
    action: action as Auth['action'],
    proxy,
    auth,
    withAuth: withAuth as Auth['withAuth'],
    accessToken,
    requireAuth,
    signIn,
    verifyMfa,
    signOut,
    revokeSession: revokeSessionAction,
    authenticate,
    setCookies,
    clearCookies,
    cookies,
    state,
  }
}
