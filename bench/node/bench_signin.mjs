// Sign-in benchmark, Node side (run by bench/run_signin.sh; bench/report_signin.py writes
// bench/RESULTS-signin.md from its JSON and the Python side's). The same two questions as
// bench/python/bench_signin.py, measured the same way:
//
// 1. `signIn.password` with the right password (lookup, throttle reservation and reset, argon2id
//    verification, a new session and its access token) against `hasher.verify` on the same hash,
//    with as many concurrent callers as the machine has cores, in alternating cells (raw, flow,
//    raw, flow, ...); the report takes the median of each.
// 2. One caller, the unknown-login path against a known login with a wrong password (and the
//    right one), timed in a shuffled order round after round.
//
// The throttle allows any number of failures (freeAttempts = 1e9): the bench measures the work of
// each path, not the lockout.
//
// Usage: node bench/node/bench_signin.mjs --out FILE
import fs from 'node:fs'
import os from 'node:os'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  Accounts,
  KeySet,
  PasswordHasher,
  PolyauthError,
  Sessions,
  SignIn,
  Store,
  Throttle,
  Tokens,
} from 'polyauth'

const PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const PASSWORD = 'plum-cactus-orbit-lantern-42'
const WRONG = 'violet-harbour-quartz-meadow-17'
const CELL_S = 3
const ROUNDS = 3
const LATENCY_ROUNDS = 40

const args = process.argv.slice(2)
const OUT = args[args.indexOf('--out') + 1]
if (!OUT || args.indexOf('--out') < 0) throw new Error('usage: bench_signin.mjs --out FILE')

const log = (msg) => process.stderr.write(`[bench signin node] ${msg}\n`)
const perf = () => Number(process.hrtime.bigint()) / 1e9
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Calls per second of `callers` loops each awaiting `call(i)` for `seconds`. */
async function rate(call, callers, seconds) {
  let done = 0
  const deadline = perf() + seconds
  const t0 = perf()
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      while (perf() < deadline) {
        await call(i)
        done += 1
      }
    }),
  )
  return done / (perf() - t0)
}

async function expectInvalidCredentials(promise, what) {
  try {
    await promise
  } catch (e) {
    if (e instanceof PolyauthError && e.code === 'invalid_credentials') return
    throw e
  }
  throw new Error(`${what} signed in`)
}

const hasher = new PasswordHasher()

async function benchBackend(url, callers) {
  const store = await Store.open(url)
  const accounts = new Accounts(store, hasher)
  const tokens = new Tokens(KeySet.generate('EdDSA'), { issuer: 'https://auth.example.com', audience: 'api' })
  const sessions = new Sessions(store, tokens)
  const throttle = new Throttle(store, { freeAttempts: 1e9 })
  const signIn = new SignIn(accounts, sessions, { throttle })
  const tag = randomBytes(4).toString('hex')
  const logins = Array.from({ length: callers }, (_, i) => `user${i}-${tag}@example.com`)
  for (const login of logins) await accounts.create(login, PASSWORD)
  const stored = await hasher.hash(PASSWORD)

  const raw = async () => {
    if (!(await hasher.verify(stored, PASSWORD))) throw new Error('verify failed')
  }
  const flow = async (i) => {
    const r = await signIn.password(logins[i], PASSWORD)
    if (r.status !== 'ok') throw new Error(`unexpected ${r.status}`)
  }
  await rate(raw, callers, 1)
  await rate(flow, callers, 1)
  const rawRates = []
  const flowRates = []
  for (let r = 0; r < ROUNDS; r++) {
    rawRates.push(await rate(raw, callers, CELL_S))
    flowRates.push(await rate(flow, callers, CELL_S))
  }

  const paths = {
    unknown: () =>
      expectInvalidCredentials(
        signIn.password(`nobody-${randomBytes(6).toString('hex')}@example.com`, PASSWORD),
        'an unknown login',
      ),
    known_wrong: () => expectInvalidCredentials(signIn.password(logins[0], WRONG), 'a wrong password'),
    known_right: () => flow(0),
  }
  const latency = Object.fromEntries(Object.keys(paths).map((k) => [k, []]))
  for (let r = 0; r < LATENCY_ROUNDS; r++) {
    const order = Object.keys(paths).sort(() => Math.random() - 0.5)
    for (const name of order) {
      const t0 = perf()
      await paths[name]()
      latency[name].push(perf() - t0)
    }
  }
  return { raw_verify_per_s: rawRates, signin_per_s: flowRates, latency_s: latency }
}

const callers = os.availableParallelism()
const namespace = `b${randomBytes(6).toString('hex')}`
const tmp = fs.mkdtempSync(path.join(tmpdir(), 'polyauth-bench-signin-'))
const backends = {}
try {
  for (const [name, url] of [
    ['sqlite', `sqlite://${path.join(tmp, 'signin.db')}`],
    ['postgres', `${PG_URL}?polyauth_namespace=${namespace}`],
  ]) {
    log(`${name}: ${callers} callers, ${ROUNDS} x ${CELL_S} s per path, ${LATENCY_ROUNDS} latency rounds`)
    backends[name] = await benchBackend(url, callers)
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
  try {
    execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${namespace}" CASCADE`], { stdio: 'ignore' })
  } catch {
    // best effort, like the test suites' cleanup
  }
}
fs.writeFileSync(
  OUT,
  JSON.stringify(
    {
      language: 'node',
      runtime: `Node ${process.versions.node}`,
      callers,
      hasher: { m_kib: hasher.memoryKib, t: hasher.timeCost, p: hasher.parallelism },
      backends,
    },
    null,
    1,
  ),
)
for (const [name, r] of Object.entries(backends)) {
  log(`${name}: sign-ins/s = ${(median(r.signin_per_s) / median(r.raw_verify_per_s)).toFixed(3)} x raw verify/s`)
}
