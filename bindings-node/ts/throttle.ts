/** Failure counters with backoff over a store. */
import * as native from '../native'
import { call, callAsync } from './errors'
import type { Store } from './store'

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

  /**
   * Rejects with `rate_limited` (and `retryAfter` seconds) while `key` is locked at `now` (seconds
   * since the epoch; default: the system clock).
   */
  check(key: string, options: { now?: number } = {}): Promise<void> {
    return callAsync(() => this.native.check(key, options.now))
  }

  /** Records a failure at `now` (seconds since the epoch; default: the system clock). */
  fail(key: string, options: { now?: number } = {}): Promise<{ failures: number; lockedUntil: number }> {
    return callAsync(() => this.native.fail(key, options.now))
  }

  /**
   * Reserves an attempt in one atomic step: rejects with `rate_limited` while `key` is locked,
   * otherwise counts the attempt as a failure right away (call `reset` after a success). Unlike
   * `check` then `fail`, a burst of concurrent attempts cannot all pass before any is counted.
   * `now` (seconds since the epoch) injects the clock.
   */
  attempt(key: string, options: { now?: number } = {}): Promise<{ failures: number; lockedUntil: number }> {
    return callAsync(() => this.native.attempt(key, options.now))
  }

  /** Clears the counter after a success. */
  reset(key: string): Promise<void> {
    return callAsync(() => this.native.reset(key))
  }
}
