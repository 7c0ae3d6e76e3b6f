// One place that configures polyauth for the whole app (FRAMEWORKS.md §3).
import { createAuth } from 'polyauth/next'

export const { handlers, auth, requireAuth, withAuth, action, signIn, verifyMfa, signOut, revokeSession, proxy, accessToken, state } = createAuth({
  // Keys come from the environment (a JWKS with the private signing key); nothing is read until
  // the first request, so `next build` needs no keys.
  tokens: {
    keys: { env: 'POLYAUTH_JWKS' },
    issuer: process.env.POLYAUTH_ISSUER ?? 'https://app.example.com',
    audience: 'api',
    leeway: process.env.POLYAUTH_LEEWAY === undefined ? undefined : Number(process.env.POLYAUTH_LEEWAY),
    // Seconds an access token lives (default 900); the browser tests shorten it to watch a refresh.
    accessTtl: process.env.POLYAUTH_ACCESS_TTL === undefined ? undefined : Number(process.env.POLYAUTH_ACCESS_TTL),
  },
  store: process.env.POLYAUTH_STORE ?? 'sqlite://polyauth.db',
  csrf: { trustedOrigins: ['https://app.example.com'] },
  permissions: { admin: ['items:write', 'users:manage'] },
  // TOTP second factors: the key that encrypts the secrets (`Mfa.generateKey()`); unset, no MFA.
  mfaKey: process.env.POLYAUTH_MFA_KEY,
  // How many seconds a session's revocation state is cached (default 5): how soon "sign out
  // everywhere" reaches the other devices.
  sessionCheck: process.env.POLYAUTH_SESSION_CHECK === undefined ? undefined : Number(process.env.POLYAUTH_SESSION_CHECK),
  // Seconds a rotated refresh token still works for a racing tab (default 30); the full-stack demo
  // shortens it to show a stolen token's reuse being caught.
  sessions: process.env.POLYAUTH_REUSE_GRACE === undefined ? undefined : { reuseGrace: Number(process.env.POLYAUTH_REUSE_GRACE) },
})
