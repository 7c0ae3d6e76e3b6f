// A real Better Auth server for tests-python/test_better_auth_interop.py: email and password,
// the JWT plugin (EdDSA keys it creates on first use, `/api/auth/token`, `/api/auth/jwks`, the
// `set-auth-jwt` header of `/api/auth/get-session`) and a SQLite database (better-sqlite3), with
// Better Auth's own migrations run at start.
//
// Environment: BETTER_AUTH_DB (the SQLite file, required), JWT_EXPIRATION (the plugin's
// `expirationTime`, default "15m"). It listens on a free 127.0.0.1 port, chosen by the system
// before Better Auth is configured (its base URL, and so the tokens' `iss` and `aud`, names the
// port), then prints one line of JSON, {"url": "http://127.0.0.1:PORT"}, and serves until killed.
import http from 'node:http'
import Database from 'better-sqlite3'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { toNodeHandler } from 'better-auth/node'
import { jwt } from 'better-auth/plugins'

const path = process.env.BETTER_AUTH_DB
if (!path) {
  console.error('BETTER_AUTH_DB (the SQLite file) is required')
  process.exit(2)
}

let handler = null
const server = http.createServer((req, res) => handler(req, res))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const baseURL = `http://127.0.0.1:${server.address().port}`

const auth = betterAuth({
  baseURL,
  // A fixed test secret: it encrypts the JWT plugin's private keys in the database.
  secret: 'polyauth-interop-test-secret-not-for-production-0123456789',
  database: new Database(path),
  emailAndPassword: { enabled: true },
  plugins: [jwt({ jwt: { expirationTime: process.env.JWT_EXPIRATION || '15m' } })],
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
})
const { runMigrations } = await getMigrations(auth.options)
await runMigrations()
handler = toNodeHandler(auth)

process.stdout.write(`${JSON.stringify({ url: baseURL })}\n`)
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)))
}
