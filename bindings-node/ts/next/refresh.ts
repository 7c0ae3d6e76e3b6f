/**
 * Refresh under concurrency (FRAMEWORKS.md §1): requests racing with one refresh token share one
 * rotation, and for a short window afterwards get the same successor pair, so every `Set-Cookie`
 * they send is identical and no tab is signed out by its sibling's rotation.
 */
import { createHash } from 'node:crypto'
import type { Sessions, TokenPair } from '../sessions'

/** The most successor pairs remembered at once (each is a few hundred bytes). */
export const MAX_SUCCESSORS = 10_000

/**
 * Single-flight rotation per process keyed by SHA-256 of the refresh token, plus a bounded cache of
 * successors kept `window` seconds (the layer uses `min(reuseGrace, 30)`).
 */
export class RefreshCoalescer {
  readonly sessions: Sessions
  /** Seconds a successor is handed to late racers. */
  readonly window: number
  readonly #inflight = new Map<string, Promise<TokenPair>>()
  readonly #successors = new Map<string, { until: number; pair: TokenPair }>()

  constructor(sessions: Sessions, window: number) {
    this.sessions = sessions
    this.window = Math.max(0, window)
  }

  /**
   * The successor of `refreshToken`: a fresh rotation, the one in flight, or the one made within
   * the window. Racing callers share the outcome, errors included.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const key = createHash('sha256').update(refreshToken).digest('hex')
    const now = performance.now()
    const hit = this.#successors.get(key)
    if (hit !== undefined) {
      if (hit.until > now) return hit.pair
      this.#successors.delete(key)
    }
    const pending = this.#inflight.get(key)
    if (pending !== undefined) return pending
    const rotation = this.sessions.refresh(refreshToken)
    this.#inflight.set(key, rotation)
    let pair: TokenPair
    try {
      pair = await rotation
    } finally {
      if (this.#inflight.get(key) === rotation) this.#inflight.delete(key)
    }
    if (this.window > 0) {
      this.#successors.set(key, { until: performance.now() + this.window * 1000, pair })
      while (this.#successors.size > MAX_SUCCESSORS) {
        const oldest = this.#successors.keys().next().value
        if (oldest === undefined) break
        this.#successors.delete(oldest)
      }
    }
    return pair
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RefreshCoalescer { window: ${this.window}, cached: ${this.#successors.size} }`
  }
}
