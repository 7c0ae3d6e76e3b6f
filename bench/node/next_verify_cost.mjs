// The checks of the Next.js benchmark's routes outside Next.js (bench/node/bench_next.mjs runs this
// pinned to the server's CPU and puts its JSON in the report): per request, `auth.authenticate`
// of `createAuth` (what `withAuth` runs before the handler) with the bearer token and with the
// session cookie, against jose's `jwtVerify` with the key imported once, on the same token. The
// difference between them is what the protected routes can differ by at most; the rest of a
// request's time is Next.js.
//
// Usage: node next_verify_cost.mjs <bench/next-app> (reads the key set, token and store from
// BENCH_VERIFY_INPUT, a JSON file written by bench_next.mjs); prints JSON.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const app = path.resolve(process.argv[2])
const require = createRequire(path.join(app, 'package.json'))
// The app's own copies (bench/next-app/node_modules): the package the server runs.
const { createAuth } = require('polyauth/next')
const jose = await import(pathToFileURL(require.resolve('jose')).href)

const input = JSON.parse(fs.readFileSync(process.env.BENCH_VERIFY_INPUT, 'utf8'))
const { issuer, audience, jwks, publicJwk, bearer, cookie, cookieName, store } = input
process.env.POLYAUTH_JWKS = JSON.stringify(jwks)
const auth = createAuth({ tokens: { keys: { env: 'POLYAUTH_JWKS' }, issuer, audience }, store, sessionCheck: 5 })
const key = await jose.importJWK(publicJwk, 'EdDSA')
const url = 'http://127.0.0.1/api/polyauth'
const bearerRequest = new Request(url, { headers: { authorization: `Bearer ${bearer}` } })
const cookieRequest = new Request(url, { headers: { cookie: `${cookieName}=${cookie}` } })

const cases = {
  authenticate_bearer: () => auth.authenticate(bearerRequest),
  authenticate_cookie: () => auth.authenticate(cookieRequest),
  jwtVerify: () => jose.jwtVerify(bearer, key, { algorithms: ['EdDSA'], issuer, audience }),
}
for (const [name, f] of Object.entries(cases)) {
  const r = await f()
  const sub = r.subject ?? r.payload?.sub
  if (sub !== 'user-1') throw new Error(`${name}: ${JSON.stringify(r)}`)
}

const BATCH = 200
const ROUNDS = 30
const samples = Object.fromEntries(Object.keys(cases).map((n) => [n, []]))
const names = Object.keys(cases)
for (let round = -5; round < ROUNDS; round++) {
  const order = [...names.slice(Math.abs(round) % names.length), ...names.slice(0, Math.abs(round) % names.length)]
  for (const name of order) {
    const f = cases[name]
    const t0 = process.cpuUsage()
    for (let i = 0; i < BATCH; i++) await f()
    const t = process.cpuUsage(t0)
    // CPU time of every thread of the process (a verification off the main thread counts too).
    if (round >= 0) samples[name].push((t.user + t.system) / BATCH)
  }
}
process.stdout.write(JSON.stringify({ batch: BATCH, rounds: ROUNDS, us: samples }))
