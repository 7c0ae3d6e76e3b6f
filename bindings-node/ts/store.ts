/** The auth state store shared by sessions, one-time tokens, throttling and MFA. */
import * as native from '../native'
import { callAsync } from './errors'

/** Options of {@link Store.open}. */
export interface OpenOptions {
  /**
   * Apply pending migrations (default true). With false nothing is created: the schema must be
   * current (`invalid_config` otherwise), for an application role without DDL rights.
   */
  migrate?: boolean
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
  static async open(url?: string, options: OpenOptions = {}): Promise<Store> {
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
