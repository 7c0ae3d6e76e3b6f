/** The auth state store, sessions with refresh-token rotation, one-time tokens and throttling. */
import * as native from '../native'
import { call, callAsync } from './errors'
import type { Tokens } from './tokens'

/** What `Sessions.start` and `Sessions.refresh` resolve to. */
export interface TokenPair {
  accessToken: string
  refreshToken: string
  sessionId: string
  /** Seconds until the access token expires. */
  expiresIn: number
  /** When the session ends at the latest (seconds since the epoch). */
  refreshExpiresAt: number
}

/**
 * Gives a token pair a non-enumerable `util.inspect` hook that shows the session id and lifetime
 * but never the tokens (as Python's `repr`), so `console.log(pair)` cannot leak them into logs.
 * The pair stays a plain object: `JSON.stringify` (sending it to a client) still includes them.
 * @internal
 */
export function redacted(pair: TokenPair): TokenPair {
  Object.defineProperty(pair, Symbol.for('nodejs.util.inspect.custom'), {
    value: () =>
      `TokenPair { sessionId: '${pair.sessionId}', expiresIn: ${pair.expiresIn}, accessToken: <redacted>, refreshToken: <redacted> }`,
    enumerable: false,
  })
  return pair
}

/** A session as {@link Sessions.list} reports it. */
export interface SessionInfo {
  sessionId: string
  subject: string
  createdAt: number
  lastUsedAt: number
  expiresAt: number
  claims: Record<string, unknown>
  meta: Record<string, unknown>
}

/** An open store: `sqlite://path` (default `sqlite://polyauth.db`), `postgres://...`, `redis://...` or `memory://`. */
export class Store {
  /** @internal */
  readonly native: native.Store

  private constructor(inner: native.Store) {
    this.native = inner
  }

  /**
   * Opens a store and applies pending migrations. With `{ migrate: false }` nothing is created:
   * the schema must be current (`invalid_config` otherwise), so the application can connect as a
   * role without DDL rights while an owner role runs {@link Store.migrationsSql}.
   */
  static async open(url = 'sqlite://polyauth.db', options: { migrate?: boolean } = {}): Promise<Store> {
    return new Store(await callAsync(() => native.openStore(url, options)))
  }

  /**
   * Deletes what can never be used again: sessions that ended a day or more ago (with their
   * refresh tokens), one-time tokens used or expired a day or more ago, and throttle counters idle
   * for 30 days. Resolves to the number of rows removed. Also runs on its own, bounded, on one
   * `Sessions.start` in 64. `now` (seconds) injects the clock.
   */
  purgeExpired(options: { now?: number } = {}): Promise<number> {
    return callAsync(() => this.native.purgeExpired(options.now))
  }

  /** The SQL of every migration, for teams that apply migrations themselves. */
  static migrationsSql(): string {
    return native.migrationsSql()
  }

  /** One trivial round trip to the backend (health check); rejects `store_unavailable` when it is down. */
  ping(): Promise<void> {
    return callAsync(() => this.native.ping())
  }

  /** "memory", "sqlite", "postgres" or "redis". */
  get backend(): string {
    return this.native.backend
  }
}

/** Options of {@link Sessions}. */
export interface SessionsOptions {
  /** Absolute session lifetime in seconds (default 30 days). */
  refreshTtl?: number
  /** A session unused this long ends (seconds, default 7 days). */
  idleTtl?: number
  /** Seconds the immediate parent refresh token stays usable after rotation (default 0). */
  reuseGrace?: number
}

/** Sessions with refresh-token rotation and reuse detection (RT-1..RT-9). */
export class Sessions {
  /** @internal */
  readonly native: native.Sessions

  constructor(store: Store, tokens: Tokens, options: SessionsOptions = {}) {
    this.native = call(() => new native.Sessions(store.native, tokens.native, options))
  }

  /** Starts a session; `claims` go into every access token of the session, `meta` (user agent, IP) is kept for `list`. */
  start(subject: string, options: { claims?: Record<string, unknown>; meta?: Record<string, unknown> } = {}): Promise<TokenPair> {
    return callAsync(() => this.native.start(subject, options.claims, options.meta)).then(redacted)
  }

  /** Rotates a refresh token. Reuse of a rotated token revokes the session and rejects with `refresh_reused`. */
  refresh(refreshToken: string): Promise<TokenPair> {
    return callAsync(() => this.native.refresh(refreshToken)).then(redacted)
  }

  /**
   * Revokes the session of `refreshToken` (logout when the access token has expired, like
   * RFC 7009); a used token of the session works too. Resolves false for an unknown token, a
   * session already revoked, or one of another issuer or audience (left untouched); rejects with
   * `invalid_token` only for a malformed token.
   */
  revokeRefreshToken(refreshToken: string): Promise<boolean> {
    return callAsync(() => this.native.revokeRefreshToken(refreshToken))
  }

  /** Absolute session lifetime in seconds. */
  get refreshTtl(): number {
    return this.native.refreshTtl
  }

  /** Idle lifetime in seconds. */
  get idleTtl(): number {
    return this.native.idleTtl
  }

  /** Seconds the immediate parent refresh token stays usable after rotation (0: never). */
  get reuseGrace(): number {
    return this.native.reuseGrace
  }

  /** Revokes one session; resolves false when unknown or already revoked. */
  revoke(sessionId: string): Promise<boolean> {
    return callAsync(() => this.native.revoke(sessionId))
  }

  /** Revokes every session of `subject`; resolves to how many were not yet revoked (expired ones included). */
  revokeAll(subject: string): Promise<number> {
    return callAsync(() => this.native.revokeAll(subject))
  }

  /** Active sessions of `subject`, newest first. */
  list(subject: string): Promise<SessionInfo[]> {
    return callAsync(() => this.native.list(subject)) as Promise<SessionInfo[]>
  }

  /** Whether a session is usable: check it where revocation must take effect before the access token expires. */
  isActive(sessionId: string): Promise<boolean> {
    return callAsync(() => this.native.isActive(sessionId))
  }
}

/** Single-use, purpose-bound tokens for email verification, password reset and magic links. */
export class OneTimeTokens {
  /** @internal */
  readonly native: native.OneTimeTokens

  constructor(store: Store) {
    this.native = call(() => new native.OneTimeTokens(store.native))
  }

  /** Issues a `pot_...` token for `subject` and `purpose`, valid `ttl` seconds (default 3600). */
  issue(subject: string, purpose: string, options: { ttl?: number; data?: unknown } = {}): Promise<string> {
    return callAsync(() => this.native.issue(subject, purpose, options.ttl, options.data))
  }

  /**
   * Consumes `token` for `purpose`, once. Rejects with `invalid_type` (wrong purpose),
   * `token_expired` or `token_used`.
   */
  consume(token: string, purpose: string): Promise<{ subject: string; data?: unknown }> {
    return callAsync(() => this.native.consume(token, purpose))
  }

  /**
   * What {@link OneTimeTokens.consume} would resolve to now, without spending the token (the same
   * errors): e.g. to show a password-reset form only for a usable link. Never a substitute for
   * `consume`: two peeks can both succeed, one consumption only.
   */
  peek(token: string, purpose: string): Promise<{ subject: string; data?: unknown }> {
    return callAsync(() => this.native.peek(token, purpose))
  }
}

/** Options of {@link Throttle}. */
export interface ThrottleOptions {
  /** Failures allowed before any delay (default 5). */
  freeAttempts?: number
  /** First delay in seconds, doubled per further failure (default 1). */
  baseDelay?: number
  /** Longest delay in seconds (default 900). */
  maxDelay?: number
  /**
   * Consecutive failures (1 to 100, default 100) from which the count never starts over by itself:
   * the key is locked for `resetAfter` seconds, doubled by every further failure; at 100 failures
   * it stays locked until `reset` (`lockedUntil` is then 2**53 - 1).
   */
  maxFailures?: number
  /**
   * Below `maxFailures`, a failure this many seconds after the previous one starts the count over;
   * also the first lock at `maxFailures` (default 86400).
   */
  resetAfter?: number
}

/** Failure counters with exponential backoff and a lockout ceiling, shared through the store (RL-1). */
export class Throttle {
  /** @internal */
  readonly native: native.Throttle

  constructor(store: Store, options: ThrottleOptions = {}) {
    this.native = call(() => new native.Throttle(store.native, options))
  }

  /** Rejects with `rate_limited` (and `retryAfter` seconds) while `key` is locked. */
  check(key: string): Promise<void> {
    return callAsync(() => this.native.check(key))
  }

  /** Records a failure. */
  fail(key: string): Promise<{ failures: number; lockedUntil: number }> {
    return callAsync(() => this.native.fail(key))
  }

  /**
   * Reserves an attempt in one atomic step: rejects with `rate_limited` while `key` is locked,
   * otherwise counts the attempt as a failure right away (call `reset` after a success). Unlike
   * `check` then `fail`, a burst of concurrent attempts cannot all pass before any is counted.
   */
  attempt(key: string): Promise<{ failures: number; lockedUntil: number }> {
    return callAsync(() => this.native.attempt(key))
  }

  /** Clears the counter after a success. */
  reset(key: string): Promise<void> {
    return callAsync(() => this.native.reset(key))
  }
}
