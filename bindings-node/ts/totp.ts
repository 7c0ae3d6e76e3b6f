/** TOTP (RFC 6238): secrets, codes, verification with a replay guard, otpauth URIs and QR codes. */
import * as native from '../native'
import { call } from './errors'

/** Options of {@link Totp}. */
export interface TotpOptions {
  /** Shown by authenticator apps (default ''). */
  issuer?: string
  /** 6 to 8 (default 6). */
  digits?: number
  /** Seconds per step, 15 to 300 (default 30). */
  period?: number
  /** SHA1 (default 'SHA1', what authenticator apps expect), SHA256 or SHA512. */
  algorithm?: 'SHA1' | 'SHA256' | 'SHA512'
  /** Steps accepted on each side of the current one: 0 or 1 (default 1). */
  window?: number
}

/** What {@link Totp.parseUri} returns. */
export interface ParsedTotpUri {
  secret: string
  account: string
  issuer?: string | null
  digits: number
  period: number
  algorithm: string
}

/** Stateless TOTP primitives. Accepting each code once needs the step returned by `verify` to be stored. */
export class Totp {
  /** @internal */
  readonly native: native.Totp

  constructor(options: TotpOptions = {}) {
    this.native = call(() => new native.Totp(options))
  }

  /** A fresh random secret (base32, at least 160 bits). */
  generateSecret(): string {
    return call(() => this.native.generateSecret())
  }

  /**
   * The code for `secret` at `now` (seconds since the epoch; default: the system clock). Every
   * method taking a secret rejects one that is not base32 or is shorter than 160 bits (32 base32
   * characters; OTP-5) with `invalid_input`.
   */
  code(secret: string, options: { now?: number } = {}): string {
    return call(() => this.native.code(secret, options.now))
  }

  /**
   * The matched time step when `code` is valid (within the window) and later than `afterStep`,
   * else null. Store the step and pass it as `afterStep` next time: a code is never accepted twice.
   */
  verify(secret: string, code: string, options: { afterStep?: number; now?: number } = {}): number | null {
    return call(() => this.native.verify(secret, code, options.afterStep, options.now)) ?? null
  }

  /** The otpauth:// Key URI for authenticator apps. */
  uri(secret: string, account: string): string {
    return call(() => this.native.uri(secret, account))
  }

  /** Reads an otpauth URI, with validation. */
  static parseUri(uri: string): ParsedTotpUri {
    return call(() => native.Totp.parseUri(uri))
  }

  /** An SVG document of the QR code of `uri`. */
  static qrSvg(uri: string): string {
    return call(() => native.Totp.qrSvg(uri))
  }

  /** PNG bytes of the QR code of `uri`. */
  static qrPng(uri: string): Buffer {
    return call(() => native.Totp.qrPng(uri))
  }

  /** `data:image/png;base64,...` of the QR code of `uri`, for an `<img src>`. */
  static qrDataUri(uri: string): string {
    return call(() => native.Totp.qrDataUri(uri))
  }

  get issuer(): string {
    return this.native.issuer
  }

  get digits(): number {
    return this.native.digits
  }

  get period(): number {
    return this.native.period
  }

  get algorithm(): string {
    return this.native.algorithm
  }

  get window(): number {
    return this.native.window
  }
}
