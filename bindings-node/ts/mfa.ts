/** The store-backed TOTP second factor: enrollment, replay-safe verification, recovery codes. */
import * as native from '../native'
import { call, callAsync } from './errors'
import type { Store } from './store'
import { Throttle } from './throttle'
import type { Totp } from './totp'

/** One encryption key: 32 bytes, or text holding them (base64url, base64 or 64 hex digits). */
export type EncryptionKey = string | Uint8Array

/** Options of {@link Mfa}. */
export interface MfaOptions {
  /**
   * The key TOTP secrets are encrypted with (AES-256-GCM), or several for rotation: the first
   * encrypts, all decrypt, and a secret under an older key is re-encrypted on its next successful
   * use. `Mfa.generateKey()` makes one.
   */
  encryptionKey: EncryptionKey | readonly EncryptionKey[]
  /** Seconds an enrollment can be confirmed, 60 to 86400 (default 900). */
  enrollmentTtl?: number
  /** Counts failures under the key `mfa:<subject>` (default: `new Throttle(store)`). */
  throttle?: Throttle
}

/** Options of {@link Mfa.verify} and {@link Mfa.verifyRecoveryCode}. */
export interface MfaVerifyOptions {
  /** The TOTP clock (seconds since the epoch; default: the system clock). Never moves the throttle. */
  now?: number
  /**
   * Counts failures under this subject and context only (e.g. the client's IP address, 1 to 256
   * bytes; see {@link Mfa.throttleKey}), so one address's failures do not lock the others.
   * Without it failures are counted under `mfa:<subject>`.
   */
  throttleContext?: string
}

/** What {@link Mfa.status} resolves to. */
export interface MfaStatus {
  /** A confirmed factor exists: ask for a code at login. */
  enabled: boolean
  /** An enrollment waits for `confirm` (and has not lapsed). */
  pending: boolean
  confirmedAt: number | null
  /** When a TOTP code was last accepted. */
  lastUsedAt: number | null
  recoveryCodesRemaining: number
}

/** What {@link Mfa.beginEnrollment} resolves to. Show it once; `util.inspect` never shows the secret. */
export class MfaEnrollment {
  /** The new base32 secret (for typing into an authenticator app). */
  readonly secret: string
  /** The `otpauth://totp/...` Key URI (it contains the secret). */
  readonly uri: string
  /** An SVG document of the URI's QR code. */
  readonly qrSvg: string
  /** Until when `confirm` accepts a code for it (seconds since the epoch). */
  readonly expiresAt: number

  /** @internal */
  constructor(e: native.MfaEnrollment) {
    this.secret = e.secret
    this.uri = e.uri
    this.qrSvg = e.qrSvg
    this.expiresAt = e.expiresAt
  }

  /** @internal Keeps the secret out of `util.inspect` / `console.log`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MfaEnrollment { expiresAt: ${this.expiresAt}, secret: <redacted>, uri: <redacted> }`
  }
}

function keyList(key: unknown): EncryptionKey[] {
  const keys = Array.isArray(key) ? key : [key]
  for (const k of keys) {
    if (typeof k !== 'string' && !(k instanceof Uint8Array)) {
      throw new TypeError('encryptionKey must be a string or Uint8Array, or an array of them')
    }
  }
  return keys as EncryptionKey[]
}

/**
 * The TOTP second factor over a store (OTP-2, OTP-5, OTP-7, RL-1): each code is accepted at most
 * once, secrets are encrypted at rest, recovery codes are single-use and stored hashed, and
 * failures are throttled.
 */
export class Mfa {
  /** @internal */
  readonly native: native.Mfa

  constructor(store: Store, totp: Totp, options: MfaOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options with encryptionKey are required')
    const keys = keyList(options.encryptionKey)
    if (options.throttle !== undefined && !(options.throttle instanceof Throttle)) throw new TypeError('throttle must be a Throttle')
    const { encryptionKey: _, throttle, ...settings } = options
    this.native = call(() => new native.Mfa(store.native, totp.native, keys, settings, throttle?.native))
  }

  /** A fresh random 256-bit encryption key, base64url (keep it in a secret store). */
  static generateKey(): string {
    return call(() => native.Mfa.generateKey())
  }

  /**
   * Starts (or restarts) enrollment: a new secret, kept encrypted and pending until `confirm`.
   * `account` labels it in the authenticator app (e.g. the email address). A confirmed factor keeps
   * working until the new one is confirmed.
   */
  async beginEnrollment(subject: string, account: string, options: { now?: number } = {}): Promise<MfaEnrollment> {
    return new MfaEnrollment(await callAsync(() => this.native.beginEnrollment(subject, account, options.now)))
  }

  /**
   * Confirms the pending enrollment with a code from the app; resolves to 10 recovery codes to
   * show once (only their hashes are kept; they replace any earlier ones). Rejects with
   * `totp_invalid` for a wrong code or when nothing is pending.
   */
  confirm(subject: string, code: string, options: { now?: number } = {}): Promise<string[]> {
    return callAsync(() => this.native.confirm(subject, code, options.now))
  }

  /**
   * Checks a code of the confirmed factor; resolves to the accepted time step. Each code is
   * accepted at most once: a replay (or a code older than the last accepted one) rejects with
   * `totp_replayed`, a wrong code with `totp_invalid`, too many failures with `rate_limited`.
   * `now` moves only the TOTP clock; the throttle always uses the server clock.
   */
  verify(subject: string, code: string, options: MfaVerifyOptions = {}): Promise<number> {
    return callAsync(() => this.native.verify(subject, code, options.now, options.throttleContext))
  }

  /**
   * Consumes a recovery code (case, spaces and dashes do not matter); resolves to how many unused
   * codes remain. A used code rejects with `totp_replayed`, an unknown one with `totp_invalid`.
   * Throttled like {@link Mfa.verify} (same key for the same `throttleContext`).
   */
  verifyRecoveryCode(subject: string, code: string, options: MfaVerifyOptions = {}): Promise<number> {
    return callAsync(() => this.native.verifyRecoveryCode(subject, code, options.now, options.throttleContext))
  }

  /**
   * The throttle key failures of `subject` (within `throttleContext`) are counted under, e.g. to
   * unlock it with `Throttle.reset`.
   */
  static throttleKey(subject: string, throttleContext?: string): string {
    return call(() => native.Mfa.throttleKey(subject, throttleContext))
  }

  /** New recovery codes for the confirmed factor; every earlier code stops working. */
  regenerateRecoveryCodes(subject: string): Promise<string[]> {
    return callAsync(() => this.native.regenerateRecoveryCodes(subject))
  }

  /** Removes the factor, any pending enrollment and the recovery codes; resolves false when there was nothing. */
  disable(subject: string): Promise<boolean> {
    return callAsync(() => this.native.disable(subject))
  }

  /** The subject's second factor (`pending` judged at `now`, default: the system clock). */
  async status(subject: string, options: { now?: number } = {}): Promise<MfaStatus> {
    const s = await callAsync(() => this.native.status(subject, options.now))
    return {
      enabled: s.enabled,
      pending: s.pending,
      confirmedAt: s.confirmedAt ?? null,
      lastUsedAt: s.lastUsedAt ?? null,
      recoveryCodesRemaining: s.recoveryCodesRemaining,
    }
  }

  /** Ids of the encryption keys, the encrypting one first (they reveal nothing of the keys). */
  get keyIds(): string[] {
    return this.native.keyIds
  }

  /** @internal Never shows key material. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Mfa { backend: '${this.native.backend}', keyIds: [${this.keyIds.join(', ')}], enrollmentTtl: ${this.native.enrollmentTtl} }`
  }
}
