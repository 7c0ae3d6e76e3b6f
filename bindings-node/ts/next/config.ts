// `polyauth/next/config`: `withPolyauth(nextConfig, { trustedOrigins })` for next.config.*
// (FRAMEWORKS.md §3). This module imports nothing else from polyauth, so loading the Next.js config
// never loads the native addon.

/** The part of Next.js' `NextConfig` that `withPolyauth` reads or writes; everything else passes through. */
export interface PolyauthNextConfig {
  serverExternalPackages?: string[]
  experimental?: {
    serverActions?: { allowedOrigins?: string[]; [key: string]: unknown }
    [key: string]: unknown
  }
  [key: string]: unknown
}

export interface WithPolyauthOptions {
  /**
   * Origins (`https://app.example.com`) allowed to post to this app's Server Actions from another
   * host, e.g. behind a proxy. Added (as hosts, which is what Next.js compares) to
   * `experimental.serverActions.allowedOrigins`, keeping the entries already there. Give the same
   * list to `createAuth({ csrf: { trustedOrigins } })` for the route handlers.
   */
  trustedOrigins?: readonly string[]
}

const PACKAGE = 'polyauth'

function union(existing: readonly string[] | undefined, added: readonly string[]): string[] {
  const out = [...(existing ?? [])]
  for (const item of added) if (!out.includes(item)) out.push(item)
  return out
}

function originHost(origin: string): string {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    throw new TypeError(`withPolyauth: trustedOrigins entry ${JSON.stringify(origin)} is not an origin such as https://app.example.com`)
  }
  if (url.origin === 'null' || url.origin !== origin.replace(/\/$/, '')) {
    throw new TypeError(`withPolyauth: trustedOrigins entry ${JSON.stringify(origin)} is not an origin such as https://app.example.com`)
  }
  return url.host
}

/**
 * Returns a copy of `nextConfig` with `polyauth` in `serverExternalPackages` (Next.js then requires
 * it at run time, native addon included, instead of bundling it; `output: 'standalone'` traces the
 * `.node` file). Never adds a `webpack` key (Turbopack builds refuse one); every other key is kept.
 */
export function withPolyauth<T extends object>(nextConfig: T = {} as T, options: WithPolyauthOptions = {}): T {
  const config = { ...nextConfig } as T & PolyauthNextConfig
  const existing = config.serverExternalPackages
  if (existing !== undefined && !Array.isArray(existing)) {
    throw new TypeError('withPolyauth: serverExternalPackages must be an array')
  }
  config.serverExternalPackages = union(existing, [PACKAGE])
  const trusted = options.trustedOrigins ?? []
  if (trusted.length > 0) {
    const hosts = trusted.map(originHost)
    const experimental = { ...(config.experimental ?? {}) }
    const serverActions = { ...(experimental.serverActions ?? {}) }
    serverActions.allowedOrigins = union(serverActions.allowedOrigins, hosts)
    experimental.serverActions = serverActions
    config.experimental = experimental
  }
  return config
}

export default withPolyauth
