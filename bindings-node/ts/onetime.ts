/** Single-use, purpose-bound tokens over a store. */
import * as native from '../native'
import { call, callAsync } from './errors'
import type { Store } from './store'

/** Single-use, purpose-bound tokens for email verification, password reset and magic links. */
export class OneTimeTokens {
  /** @internal */
  readonly native: native.OneTimeTokens

  constructor(store: Store) {
    this.native = call(() => new native.OneTimeTokens(store.native))
  }

  /**
   * Issues a `pot_...` token for `subject` and `purpose`, valid `ttl` seconds (default 3600) from
   * `now` (seconds since the epoch; default: the system clock).
   */
  issue(subject: string, purpose: string, options: { ttl?: number; data?: unknown; now?: number } = {}): Promise<string> {
    return callAsync(() => this.native.issue(subject, purpose, options.ttl, options.data, options.now))
  }

  /**
   * Consumes `token` for `purpose`, once. Rejects with `invalid_type` (wrong purpose),
   * `token_expired` or `token_used`. `now` (seconds since the epoch) injects the clock.
   */
  consume(token: string, purpose: string, options: { now?: number } = {}): Promise<{ subject: string; data?: unknown }> {
    return callAsync(() => this.native.consume(token, purpose, options.now))
  }

  /**
   * What {@link OneTimeTokens.consume} would resolve to now, without spending the token (the same
   * errors): e.g. to show a password-reset form only for a usable link. Never a substitute for
   * `consume`: two peeks can both succeed, one consumption only. `now` (seconds since the epoch)
   * injects the clock.
   */
  peek(token: string, purpose: string, options: { now?: number } = {}): Promise<{ subject: string; data?: unknown }> {
    return callAsync(() => this.native.peek(token, purpose, options.now))
  }
}
