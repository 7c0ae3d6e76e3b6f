/** Password hashing (argon2id) and the NIST password policy. */
import * as native from '../native'
import { call, callAsync } from './errors'

/**
 * argon2 tasks run on libuv's pool (4 threads by default, whatever the core count). Running more
 * of them than cores - 1 lets them take every core and starve the event loop, so extra tasks wait
 * here, in a queue that costs nothing while it waits. The limit is the core's, as in Python.
 */
const HASH_CONCURRENCY = native.hashConcurrency()
let running = 0
const queue: Array<() => void> = []

function acquire(signal: AbortSignal | undefined): Promise<void> {
  if (running < HASH_CONCURRENCY) {
    running++
    return Promise.resolve()
  }
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      const i = queue.indexOf(start)
      if (i >= 0) queue.splice(i, 1)
      reject(signal?.reason)
    }
    const start = (): void => {
      signal?.removeEventListener('abort', onAbort)
      running++
      resolve()
    }
    queue.push(start)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function release(): void {
  running--
  queue.shift()?.()
}

/**
 * Runs `start` with a fresh signal that follows the caller's: an already-aborted signal rejects at
 * once, the caller's own `onabort` handler is left alone, and one signal can serve many calls
 * (napi-rs handles none of these itself). Rejects with `signal.reason` when aborted.
 */
async function withSignal<T>(signal: AbortSignal | undefined, start: (s?: AbortSignal) => Promise<T>): Promise<T> {
  signal?.throwIfAborted()
  await acquire(signal)
  try {
    if (!signal) return await callAsync(() => start(undefined))
    const inner = new AbortController()
    const forward = (): void => inner.abort(signal.reason)
    signal.addEventListener('abort', forward, { once: true })
    try {
      return await callAsync(() => start(inner.signal))
    } catch (e) {
      if (signal.aborted) throw signal.reason
      throw e
    } finally {
      signal.removeEventListener('abort', forward)
    }
  } finally {
    release()
  }
}

/** A password: a string (NFKC-normalised before hashing) or UTF-8 bytes. */
export type Password = string | Uint8Array

/** Reason codes returned by {@link PasswordPolicy.check}. */
export type PolicyReason = 'too_short' | 'too_long' | 'common_password' | 'contains_context_word' | 'repetitive'

/** Options of {@link PasswordPolicy}. */
export interface PolicyOptions {
  /** Minimum length in code points (default 15). */
  minLength?: number
  /** Maximum length in code points (default 128; at least 64). */
  maxLength?: number
  /** Minimum for accounts with a second factor (default 8). */
  minLengthMfa?: number
  /** The application's own forbidden passwords. */
  blocklist?: string[]
  /** Words always forbidden inside a password, such as the service name. */
  contextWords?: string[]
  /** Check the built-in list of common passwords (default true). */
  useBuiltinBlocklist?: boolean
}

/** Per-call options of {@link PasswordPolicy.check}. */
export interface CheckOptions {
  /** Per-user values (user name, email) the password must not contain. */
  context?: string[]
  /** Apply the lower minimum of accounts with a second factor. */
  mfa?: boolean
}

/** NIST SP 800-63B password policy: length in code points, blocklist, context words, no composition rules. */
export class PasswordPolicy {
  /** @internal */
  readonly native: native.PasswordPolicy

  /** Throws `invalid_config` when the bounds are out of range (minimum below 8, maximum below 64). */
  constructor(options?: PolicyOptions) {
    this.native = call(() => new native.PasswordPolicy(options))
  }

  /** Reasons why `password` fails the policy; empty when it passes. */
  check(password: Password, options?: CheckOptions): PolicyReason[] {
    return call(() => this.native.check(password, options)) as PolicyReason[]
  }

  /** Like {@link check}, but throws `PolyauthError` `password_policy` (with `reasons`) on failure. */
  validate(password: Password, options?: CheckOptions): void {
    call(() => this.native.validate(password, options))
  }

  /** Minimum length in code points. */
  get minLength(): number {
    return this.native.minLength
  }

  /** Minimum length for accounts with a second factor. */
  get minLengthMfa(): number {
    return this.native.minLengthMfa
  }

  /** Maximum length in code points. */
  get maxLength(): number {
    return this.native.maxLength
  }
}

/** Options of {@link PasswordHasher}. */
export interface HasherOptions {
  /** argon2 passes (default 2). */
  timeCost?: number
  /** argon2 memory in KiB (default 19456). */
  memoryKib?: number
  /** argon2 lanes (default 1). */
  parallelism?: number
  /** Optional server-side secret, fed to argon2 as its secret input. */
  pepper?: string | Buffer
  /** Largest memory cost accepted from a stored hash, in KiB (default 262144 = 256 MiB). */
  maxMemoryKib?: number
  /** Policy carried by the hasher (hashing never enforces it). */
  policy?: PasswordPolicy
}

// Plain result objects, re-exported as generated (bindings-node/src/password.rs).
export type { EngineInfo, VerifyOutcome } from '../native'
import type { EngineInfo, VerifyOutcome } from '../native'

/**
 * Argon2id password hasher (defaults m=19456 KiB, t=2, p=1, the OWASP baseline).
 * `hash`/`verify` run on the libuv thread pool and accept an `AbortSignal`; the `*Sync` variants
 * block the event loop.
 */
export class PasswordHasher {
  /** @internal */
  readonly native: native.PasswordHasher
  /** The policy given at construction (or the default policy). */
  readonly policy: PasswordPolicy

  /** Throws `invalid_config` for memory below the OWASP table row of the time cost (m=47104/t=1, m=19456/t=2, m=12288/t=3, m=9216/t=4, m=7168/t>=5). */
  constructor(options: HasherOptions = {}) {
    const { policy, ...rest } = options
    this.policy = policy ?? new PasswordPolicy()
    this.native = call(() => new native.PasswordHasher(rest, this.policy.native))
  }

  /** Hashes `password` into an argon2id PHC string (does not enforce the policy). */
  hash(password: Password, signal?: AbortSignal): Promise<string> {
    return withSignal(signal, (s) => this.native.hash(password, s))
  }

  /** Resolves true when `password` matches `hash`, false when not; rejects `invalid_hash` for a malformed hash or one over the bounds (a legacy hash above the argon2 work budget is refused before any work). */
  verify(hash: string, password: Password, signal?: AbortSignal): Promise<boolean> {
    return withSignal(signal, (s) => this.native.verify(hash, password, s))
  }

  /** Verifies and returns a replacement hash for weak or legacy (bcrypt, Django, Werkzeug, Better Auth) hashes. */
  verifyAndUpdate(hash: string, password: Password, signal?: AbortSignal): Promise<VerifyOutcome> {
    return withSignal(signal, (s) => this.native.verifyAndUpdate(hash, password, s))
  }

  /** Spends the time of one verification, for logins of users that do not exist. */
  dummyVerify(signal?: AbortSignal): Promise<void> {
    return withSignal(signal, (s) => this.native.dummyVerify(s))
  }

  /** Synchronous {@link hash}: blocks the event loop. */
  hashSync(password: Password): string {
    return call(() => this.native.hashSync(password))
  }

  /** Synchronous {@link verify}: blocks the event loop. */
  verifySync(hash: string, password: Password): boolean {
    return call(() => this.native.verifySync(hash, password))
  }

  /** Synchronous {@link verifyAndUpdate}: blocks the event loop. */
  verifyAndUpdateSync(hash: string, password: Password): VerifyOutcome {
    return call(() => this.native.verifyAndUpdateSync(hash, password))
  }

  /** Synchronous {@link dummyVerify}: blocks the event loop. */
  dummyVerifySync(): void {
    call(() => this.native.dummyVerifySync())
  }

  /** True when `hash` is legacy or has other parameters than this hasher's (always for an argon2 hash below the OWASP table). */
  needsRehash(hash: string): boolean {
    return call(() => this.native.needsRehash(hash))
  }

  /** argon2 passes. */
  get timeCost(): number {
    return this.native.timeCost
  }

  /** argon2 memory in KiB. */
  get memoryKib(): number {
    return this.native.memoryKib
  }

  /** argon2 lanes. */
  get parallelism(): number {
    return this.native.parallelism
  }

  /** Largest memory cost accepted from a stored hash, in KiB. */
  get maxMemoryKib(): number {
    return this.native.maxMemoryKib
  }

  /** Which argon2 engine and kernel this process hashes with (`backend`: `avx512`, `avx2`, `sse2`, `neon` or `scalar`), and the CPU features behind the choice. */
  static engineInfo(): EngineInfo {
    return native.PasswordHasher.engineInfo()
  }

  /** @internal Keeps secrets out of `util.inspect` / `console.log`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PasswordHasher { timeCost: ${this.timeCost}, memoryKib: ${this.memoryKib}, parallelism: ${this.parallelism} }`
  }
}

/** Number of entries in the built-in common-password list. */
export const BUILTIN_BLOCKLIST_SIZE: number = native.builtinBlocklistSize()
