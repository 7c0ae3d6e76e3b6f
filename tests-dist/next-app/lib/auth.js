import { createAuth } from 'polyauth/next'

export const { handlers, withAuth } = createAuth({
  tokens: { keys: { env: 'POLYAUTH_JWKS' }, issuer: 'https://app.example.com', audience: 'api' },
  store: process.env.POLYAUTH_STORE ?? 'sqlite://polyauth.db',
})
