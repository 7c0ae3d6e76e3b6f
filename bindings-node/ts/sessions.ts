/** Sessions with refresh-token rotation over a store. */
import * as native from '../native'
import { call, callAsync } from './errors'
import type { Store } from './store'
import type { Tokens } from './tokens'

import type { SessionInfo, TokenPair } from '../native'

// The plain objects the native layer returns, re-exported as generated (bindings-node/src/sessions.rs).
export type { SessionInfo, TokenPair } from '../native'

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

/** Options of {@link Sessions}. */
export interface SessionsOptions {
  /** Absolute session lifetime in seconds (default 2592000, 30 days). */
  refreshTtl?: number
  /** A session unused this long ends (seconds, default 604800, 7 days). */
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

  /**
   * Starts a session; `claims` go into every access token of the session, `meta` (user agent, IP)
   * is kept for `list`. `now` (seconds since the epoch) injects the clock the session's lifetimes
   * start from (the access token is signed on the system clock).
   */
  start(subject: string, options: { claims?: Record<string, unknown>; meta?: Record<string, unknown>; now?: number } = {}): Promise<TokenPair> {
    return callAsync(() => this.native.start(subject, options.claims, options.meta, options.now)).then(redacted)
  }

  /**
   * Rotates a refresh token. Reuse of a rotated token revokes the session and rejects with
   * `refresh_reused`. `now` (seconds since the epoch) injects the clock.
   */
  refresh(refreshToken: string, options: { now?: number } = {}): Promise<TokenPair> {
    return callAsync(() => this.native.refresh(refreshToken, options.now)).then(redacted)
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
    return callAsync(() => this.native.list(subject))
  }

  /** Whether a session is usable: check it where revocation must take effect before the access token expires. */
  isActive(sessionId: string, options: { now?: number } = {}): Promise<boolean> {
    return callAsync(() => this.native.isActive(sessionId, options.now))
  }
}
