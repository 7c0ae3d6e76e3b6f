/**
 * `polyauth/next/client`: browser-safe helpers (no native addon, no Node.js built-ins), for Client
 * Components calling the app's own route handlers with the session cookies.
 */

/** A `LockManager` (`navigator.locks`), or a stand-in with the same `request` signature. */
export interface LockLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>
}

/** Options of {@link createAuthFetch}. */
export interface AuthFetchOptions {
  /** Where the catch-all auth route lives (default `/api/auth`, as `createAuth`'s `basePath`). */
  basePath?: string
  /** The CSRF header cookie-mode refresh needs (default `X-Polyauth`, as `createAuth`'s `csrf.header`). */
  header?: string
  /** The fetch to wrap (default `globalThis.fetch`). */
  fetch?: typeof fetch
  /** Cross-tab mutual exclusion (default `navigator.locks` when the browser has it). */
  locks?: LockLike | null
  /** Called once when the session is over (the refresh was refused), with the server's code. */
  onSignedOut?: (code: string) => void
}

/** 401 codes after which a refresh cannot help: the request itself was wrong. */
const NO_REFRESH = new Set(['invalid_credentials', 'totp_invalid', 'insufficient_user_authentication', 'refresh_reused', 'csrf_failed'])
/** Where tabs record their last successful refresh (epoch ms), so a tab waiting on the lock can skip its own. */
const REFRESHED_AT = 'polyauth:refreshed-at'

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null // storage disabled (privacy settings): single-tab coordination only
  }
}

/**
 * A `fetch` for the app's own API that keeps the session alive: on a 401 it refreshes once through
 * `POST {basePath}/refresh` (cookie mode, `X-Polyauth: 1`) and retries the request once. Concurrent
 * calls in a tab share one refresh; across tabs, one tab refreshes under a Web Lock while the others
 * wait and then retry with the cookies it set. A refused refresh (`session_revoked`,
 * `refresh_reused`, ...) calls `onSignedOut` and returns the original 401; a store outage (503)
 * returns the 401 without signing anyone out.
 *
 * @example
 * 'use client'
 * import { createAuthFetch } from 'polyauth/next/client'
 * const authFetch = createAuthFetch({ onSignedOut: () => location.assign('/sign-in') })
 * const items = await (await authFetch('/api/items')).json()
 */
export function createAuthFetch(options: AuthFetchOptions = {}): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> {
  const basePath = (options.basePath ?? '/api/auth').replace(/\/+$/, '')
  const header = options.header ?? 'X-Polyauth'
  const base = options.fetch ?? globalThis.fetch.bind(globalThis)
  const nav = (globalThis as { navigator?: { locks?: LockLike } }).navigator
  const locks = options.locks === undefined ? (nav?.locks ?? null) : options.locks
  let inflight: Promise<boolean> | null = null
  let signedOut = false

  function lastRefresh(): number {
    const value = Number(storage()?.getItem(REFRESHED_AT) ?? '0')
    return Number.isFinite(value) ? value : 0
  }

  async function post(): Promise<boolean> {
    const response = await base(`${basePath}/refresh`, { method: 'POST', credentials: 'same-origin', headers: { [header]: '1' } })
    if (response.ok) {
      try {
        storage()?.setItem(REFRESHED_AT, String(Date.now()))
      } catch {
        // quota or disabled storage: other tabs just refresh themselves (the server's grace covers it)
      }
      signedOut = false
      return true
    }
    if (response.status === 401 || response.status === 403) {
      const code = await errorCode(response)
      if (!signedOut) {
        signedOut = true
        options.onSignedOut?.(code)
      }
    }
    return false
  }

  function refresh(startedAt: number): Promise<boolean> {
    if (inflight === null) {
      const run = locks === null
        ? post()
        : locks.request('polyauth-refresh', async () => (lastRefresh() >= startedAt ? true : post()))
      inflight = run.finally(() => {
        inflight = null
      })
    }
    return inflight
  }

  return async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const startedAt = Date.now()
    // A Request's body can be read once: keep a copy for the retry.
    const retryInput = input instanceof Request ? input.clone() : input
    const first = await base(input, { credentials: 'same-origin', ...init })
    if (first.status !== 401 || isAuthRoute(input, basePath) || init?.body instanceof ReadableStream) return first
    if (NO_REFRESH.has(await errorCode(first.clone()))) return first
    if (!(await refresh(startedAt))) return first
    return base(retryInput, { credentials: 'same-origin', ...init })
  }
}

function isAuthRoute(input: RequestInfo | URL, basePath: string): boolean {
  const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  const origin = typeof location === 'undefined' ? 'http://localhost' : location.origin
  let pathname: string
  try {
    pathname = new URL(raw, origin).pathname
  } catch {
    return false
  }
  return pathname === basePath || pathname.startsWith(`${basePath}/`)
}

async function errorCode(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { code?: unknown }
    return typeof body.code === 'string' ? body.code : 'unknown'
  } catch {
    return 'unknown'
  }
}
