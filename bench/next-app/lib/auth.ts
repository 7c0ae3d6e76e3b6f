// polyauth for the benchmark routes: the EdDSA key set comes from POLYAUTH_JWKS, the store is
// POLYAUTH_STORE (a SQLite file in a temporary directory), both set by bench/node/bench_next.mjs.
// Nothing is opened until the first request, so `next build` needs neither.
import { createAuth } from 'polyauth/next'
import { AUDIENCE, ISSUER } from './claims'

export const { withAuth } = createAuth({
  tokens: { keys: { env: 'POLYAUTH_JWKS' }, issuer: ISSUER, audience: AUDIENCE },
  store: process.env.POLYAUTH_STORE ?? 'sqlite://bench-next.db',
  sessionCheck: 5,
})
