/** Key sets, remote key sets and access tokens. */
import * as native from '../native'
import { call, callAsync, PolyauthError } from './errors'

/** A JSON Web Key Set. */
export interface Jwks {
  keys: Array<Record<string, unknown>>
}

/** Signature algorithms polyauth signs and verifies with. */
export type Algorithm =
  | 'EdDSA'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'HS256'
  | 'HS384'
  | 'HS512'

/** Options naming a key's algorithm and id. */
export interface KeyOptions {
  /** Algorithm the key serves (required for RSA keys and for JWKs without `alg`). */
  alg?: Algorithm
  /** Key id; defaults to the RFC 7638 SHA-256 thumbprint, or 128 random bits for HMAC keys. */
  kid?: string
}

// Re-exported as generated (bindings-node/src/tokens.rs).
export type { VerifiedJws } from '../native'
import type { VerifiedJws } from '../native'

/** A set of signing/verification keys, parsed once. Shared: `rotate` is seen by every `Tokens` using it. */
export class KeySet {
  /** @internal */
  readonly native: native.KeySet

  private constructor(inner: native.KeySet) {
    this.native = inner
  }

  /** @internal */
  static wrap(inner: native.KeySet): KeySet {
    return new KeySet(inner)
  }

  /** A set with one new key: EdDSA (default), ES256, ES384, ES512, PS256/384/512, HS256/384/512. */
  static generate(alg: Algorithm = 'EdDSA', options: { kid?: string } = {}): KeySet {
    return new KeySet(call(() => native.KeySet.generate(alg, options.kid)))
  }

  /** A set from a JWKS or a single JWK, as JSON text or an object. */
  static fromJwks(jwks: string | Jwks | Record<string, unknown>, options: { alg?: Algorithm } = {}): KeySet {
    return new KeySet(call(() => native.KeySet.fromJwks(jwks, options.alg)))
  }

  /** A set from one PEM key: PKCS#8 (`PRIVATE KEY`) or SPKI (`PUBLIC KEY`). RSA keys need `alg`. */
  static fromPem(pem: string, options: KeyOptions = {}): KeySet {
    return new KeySet(call(() => native.KeySet.fromPem(pem, options)))
  }

  /**
   * A set with one HMAC key (default HS256); the secret must be at least the hash size and must not
   * be key text (a PEM block, an OpenSSH public key, a JWK or JWKS: `invalid_key`). The kid
   * defaults to 128 random bits, so services that share the secret must pass the same `kid`.
   */
  static fromSecret(secret: string | Buffer, options: KeyOptions = {}): KeySet {
    return new KeySet(call(() => native.KeySet.fromSecret(secret, options)))
  }

  /**
   * Loads JWKS or PEM from `path`, or from the environment variable `env`, or from the file named
   * by `${env}_FILE` (the Docker secrets convention).
   */
  static load(options: { path?: string; env?: string; alg?: Algorithm }): KeySet {
    return new KeySet(call(() => native.KeySet.load(options)))
  }

  /** The JWKS: public keys only (HMAC keys omitted) unless `includePrivate`. */
  toJwks(options: { includePrivate?: boolean } = {}): Jwks {
    return this.native.toJwks(options.includePrivate ?? false) as Jwks
  }

  /** One key as PEM (the signing key unless `kid`): SPKI, or PKCS#8 with `includePrivate`. */
  toPem(options: { kid?: string; includePrivate?: boolean } = {}): string {
    return call(() => this.native.toPem(options.kid, options.includePrivate ?? false))
  }

  /** Adds a new signing key (same algorithm unless `alg`); older keys stay to verify. Returns the new kid. */
  rotate(alg?: Algorithm): string {
    return call(() => this.native.rotate(alg))
  }

  /** Removes a verify-only key. */
  retire(kid: string): void {
    call(() => this.native.retire(kid))
  }

  /** Verifies a compact JWS against the set; returns its protected header and payload (no claim checks). */
  verifyJws(token: string, options: { maxSize?: number } = {}): VerifiedJws {
    const { header, payload } = call(() => this.native.verifyJws(token, options.maxSize))
    return { header: header as Record<string, unknown>, payload }
  }

  /** The kid of the key that signs, or null for a verify-only set. */
  get signingKid(): string | null {
    return this.native.signingKid ?? null
  }

  /** Every kid in the set, the signing key first. */
  get kids(): string[] {
    return this.native.kids
  }

  /** @internal Never shows key material. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeySet [${this.native.describe().join(', ')}]`
  }
}

/** Options of {@link RemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** Seconds a fetched set is used before a refetch is due (default 300). */
  cacheTtl?: number
  /** Smallest number of seconds between two automatic fetches (default 30, at least 1: smaller is `invalid_config`). */
  cooldown?: number
  /** Deadline of one whole fetch, connect, headers and body, in seconds (default 5, at most 60). */
  timeout?: number
  /**
   * Seconds after the last successful fetch during which the cached keys still verify (default
   * 86400, at least `cacheTtl`); after that, while refreshes keep failing, verification is
   * `jwks_unavailable`.
   */
  maxStale?: number
  /** Accept an `http://` URL (default false). For local development only: over plain HTTP anyone on the path can serve keys. */
  allowInsecureHttp?: boolean
}

/**
 * A JWKS URL (`https` only, unless `allowInsecureHttp`) whose keys verify tokens, cached for
 * `cacheTtl` seconds. Fetches never follow redirects, stop reading past 512 KiB (a larger
 * `Content-Length` is refused up front), and end within `timeout` including the body. Every
 * failure is `jwks_unavailable`, with a message that quotes neither the response nor the URL.
 * Credentials in the URL (`https://user:pass@host/...`) are sent as HTTP Basic authentication and
 * hidden by `util.inspect`.
 */
export class RemoteKeySet {
  /** @internal */
  readonly native: native.RemoteKeySet

  /**
   * @param url the JWKS URL, e.g. Better Auth's `https://app.example/api/auth/jwks`
   * @param options see {@link RemoteKeySetOptions}
   */
  constructor(url: string, options: RemoteKeySetOptions = {}) {
    this.native = call(() => new native.RemoteKeySet(url, { ...options }))
  }

  /** The JWKS URL as configured (credentials included; `util.inspect` hides them). */
  get url(): string {
    return this.native.url
  }

  /** Seconds after the last successful fetch during which the cached keys still verify. */
  get maxStale(): number {
    return this.native.maxStale
  }

  /** The cached keys, or null before the first successful fetch. */
  get keys(): KeySet | null {
    const k = this.native.keys
    return k ? KeySet.wrap(k) : null
  }

  /** Fetches the JWKS now. Rejects with `jwks_unavailable` on any failure; the previous keys stay in use. */
  async refresh(): Promise<void> {
    const body = await this.fetchBody()
    call(() => this.native.complete(body))
  }

  /** Records the failure in the core and throws its `jwks_unavailable` error. */
  private fail(reason: string): never {
    call(() => this.native.fail(reason))
    throw new PolyauthError('jwks_unavailable', reason)
  }

  /** One GET within the deadline and the size cap; never follows a redirect. */
  private async fetchBody(): Promise<Buffer> {
    // fetch() refuses URLs with credentials: send them as Basic authentication instead.
    let target: URL
    try {
      target = new URL(this.native.url)
    } catch {
      return this.fail('invalid URL')
    }
    const headers: Record<string, string> = { accept: 'application/json' }
    if (target.username || target.password) {
      const user = decodeURIComponent(target.username)
      const password = decodeURIComponent(target.password)
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
      target.username = ''
      target.password = ''
    }
    // One signal for the whole exchange: it aborts the connection, the headers and the body read.
    const signal = AbortSignal.timeout(this.native.timeoutMs)
    let response: Response
    try {
      response = await fetch(target, { headers, redirect: 'manual', signal })
    } catch {
      return this.fail(signal.aborted ? 'timed out' : 'connection failed')
    }
    const refuse = async (reason: string): Promise<never> => {
      await response.body?.cancel().catch(() => undefined)
      return this.fail(reason)
    }
    const status = response.status
    if (status >= 300 && status < 400) return refuse(`redirect not followed (HTTP ${status})`)
    if (status < 200 || status >= 300) return refuse(`HTTP ${status}`)
    const declared = response.headers.get('content-length')
    if (declared !== null) {
      if (!/^\s*\d+\s*$/.test(declared)) return refuse('invalid Content-Length')
      try {
        call(() => this.native.checkLength(Number(declared)))
      } catch (e) {
        await response.body?.cancel().catch(() => undefined)
        throw e
      }
    }
    const max = this.native.maxBytes
    const chunks: Buffer[] = []
    let size = 0
    const reader = response.body?.getReader()
    if (!reader) return Buffer.alloc(0)
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>
      try {
        next = await reader.read()
      } catch {
        return this.fail(signal.aborted ? 'timed out' : 'connection failed')
      }
      if (next.done) break
      size += next.value.byteLength
      if (size > max) {
        await reader.cancel().catch(() => undefined)
        return this.fail('response is larger than the JWKS size limit')
      }
      chunks.push(Buffer.from(next.value))
    }
    return Buffer.concat(chunks)
  }

  private inflight: Promise<void> | null = null

  /**
   * @internal Starts a fetch when one is due and awaits the fetch in flight, so concurrent callers
   * (a burst of requests after a key rotation) all see its result. A failed refresh keeps the last
   * good keys; verification then reports what it finds.
   */
  async refreshShared(due: boolean): Promise<void> {
    if (due && !this.inflight) {
      const fetching: Promise<void> = this.refresh().then(
        () => undefined,
        () => undefined,
      )
      this.inflight = fetching
      void fetching.finally(() => {
        if (this.inflight === fetching) this.inflight = null
      })
    }
    if (this.inflight) await this.inflight
  }

  /** @internal Shows the URL without its credentials or query string. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RemoteKeySet(${JSON.stringify(this.native.redactedUrl)})`
  }
}

/** Options of {@link Tokens}. */
export interface TokensOptions {
  /** The exact `iss` issued and required. */
  issuer: string
  /** The audience(s) issued; verification accepts any of them. */
  audience: string | string[]
  /** Access-token lifetime in seconds (default 900). */
  accessTtl?: number
  /** Clock skew allowed, in seconds (default 30, at most 300). */
  leeway?: number
  /** Longest token accepted, in bytes (default 8192). */
  maxTokenSize?: number
  /** Allow signing with RS256/384/512 keys (default false; verification always works). */
  allowRsaPkcs1Signing?: boolean
  /**
   * How many verified tokens are remembered, so that presenting one again skips its signature
   * check (every other check still runs); default 10000, 0 turns the cache off.
   */
  verifyCache?: number
  /**
   * Refuse tokens without a `typ` header (default `true`). `false` accepts them, for issuers that
   * set none (Better Auth's JWT plugin); a `typ` that is present must still match.
   */
  requireTyp?: boolean
}

/** Per-call options of {@link Tokens.verify}. */
export interface VerifyOptions {
  /** Accepted audiences for this call instead of the configured ones. */
  audience?: string | string[]
  /** Required `typ` (default `"at+jwt"`); `null` relaxes the check for tokens from other issuers. */
  typ?: string | null
  /** Claims that must be present (default `["sub"]`; `exp`, `iss` and `aud` always are). */
  required?: string[]
  /** The clock, in seconds since the epoch. */
  now?: number
}

/** Claims of a verified token. */
export type Claims = Record<string, unknown> & {
  iss: string
  sub?: string
  aud: string | string[]
  exp: number
  iat?: number
  jti?: string
}

/** Issues and verifies access tokens (compact JWS, `typ: at+jwt`, RFC 9068 claims). */
export class Tokens {
  /** @internal */
  readonly native: native.Tokens
  /** The key set or remote key set given at construction. */
  readonly keys: KeySet | RemoteKeySet

  constructor(keys: KeySet | RemoteKeySet, options: TokensOptions) {
    this.keys = keys
    this.native = call(() => new native.Tokens(keys.native, options))
  }

  /** Issues an access token for `subject`; `claims` adds application claims, `ttl` (s) overrides `accessTtl`. */
  issue(subject: string, options: { claims?: Record<string, unknown>; ttl?: number } = {}): string {
    return call(() => this.native.issue(subject, options))
  }

  /**
   * Verifies `token` (signature, typ, time claims, issuer, audience, required claims) and returns its claims.
   * A registered claim of the wrong JSON type (`iss`/`sub`/`jti` not a string, `aud` not a string or
   * array of strings, `exp`/`nbf`/`iat` not a number) is `invalid_token`.
   */
  verify(token: string, options: VerifyOptions = {}): Claims {
    const { typ, ...rest } = options
    const nativeOptions = { ...rest, typ: typ ?? undefined, relaxTyp: typ === null }
    // The native layer returns JSON text: parsing it here is faster than building the object in napi.
    return JSON.parse(call(() => this.native.verify(token, nativeOptions))) as Claims
  }

  /** Like {@link verify}, but first fetches a remote key set when one is due (first use, stale, unknown kid). */
  async verifyAsync(token: string, options: VerifyOptions = {}): Promise<Claims> {
    if (this.keys instanceof RemoteKeySet) {
      await this.keys.refreshShared(this.native.remoteFetchDue(token))
    }
    return this.verify(token, options)
  }

  /** The configured issuer. */
  get issuer(): string {
    return this.native.issuer
  }

  /** The configured audiences. */
  get audience(): string[] {
    return this.native.audience
  }

  /** Whether a token without a `typ` header is refused (the `requireTyp` option). */
  get requireTyp(): boolean {
    return this.native.requireTyp
  }
}

