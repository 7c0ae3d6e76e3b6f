// Access-token benchmark, Node side: polyauth vs jose and jsonwebtoken (run by bench/run_more.sh).
//
// Writes raw samples as JSON (--out); bench/report_more.py turns them into
// bench/RESULTS-tokens-sessions.md. Method as in bench/python/bench_tokens.py: per algorithm
// (HS256, ES256, EdDSA, PS256) and operation (issue, verify) the libraries run in batches,
// round-robin (the starting library rotates every round) after a warm-up; the report takes the
// median per-operation time over the batches.
//
// Keys are parsed once for every library: polyauth a KeySet, jose `importJWK` (CryptoKey, or
// bytes for HMAC), jsonwebtoken KeyObjects from `crypto.createPrivateKey/createPublicKey({ key:
// jwk, format: 'jwk' })` (a secret KeyObject for HMAC). Same claim set and same validation on
// verify: signature, `typ: at+jwt`, issuer, audience, exp (30 s leeway) and a present `sub`
// (jsonwebtoken has no required-claims option and no typ check: the wrapper checks
// `header.typ`, `typeof exp` and `sub` on its `complete: true` result). jsonwebtoken has no
// EdDSA. Every verify result is checked; each library verifies tokens it issued itself; before
// timing every library verifies every other library's tokens once and must reject a wrong
// audience, a wrong issuer, an expired token, a token without exp and one without sub.
//
// Breakdown rows on verify (not compared against targets): polyauth's `verifyJws` (signature and
// header checks, payload as a Buffer), `JSON.parse(verifyJws(...))`, the native verify without
// the TypeScript wrapper, and the bare node:crypto signature check on pre-split input.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { SignJWT, importJWK, jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { KeySet, Tokens } from 'polyauth'

const require = createRequire(import.meta.url)

const ISSUER = 'https://auth.example.com'
const AUDIENCE = 'https://api.example.com'
const SUBJECT = 'user_7f3a9c2e41'
const TTL = 900
const LEEWAY = 30
const TYP = 'at+jwt'
const APP_CLAIMS = {
  scope: 'openid profile email orders:read orders:write',
  sid: 'sess_9d8c7b6a5f4e3d2c1b0a',
  amr: ['pwd', 'otp'],
  roles: ['customer', 'billing_admin'],
}
const ALGS = ['HS256', 'ES256', 'EdDSA', 'PS256']
const TOKEN_POOL = 64
const BATCH_TARGET_S = 0.003
const QUIET_CORES = 0.3
const QUIET_MAX_WAIT_S = 2.0

const log = (msg) => process.stderr.write(`[bench tokens node] ${msg}\n`)
const nowS = () => Math.floor(Date.now() / 1000)
const perf = () => Number(process.hrtime.bigint()) / 1e9
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

// --- load accounting ----------------------------------------------------------------------------

function cpuBusyS() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].split(/\s+/).slice(1, 9).map(Number)
    const tck = Number(process.env.BENCH_CLK_TCK || 100)
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / tck
  } catch {
    return NaN
  }
}
const ownCpuS = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
const loadavg = () => os.loadavg()

async function waitQuiet() {
  const t0 = perf()
  for (;;) {
    const b0 = cpuBusyS()
    await sleep(250)
    const waited = perf() - t0
    if ((cpuBusyS() - b0) / 0.25 < QUIET_CORES || waited >= QUIET_MAX_WAIT_S || Number.isNaN(b0)) return waited
  }
}

async function phase(name, into, fn) {
  const waited = await waitQuiet()
  const busy0 = cpuBusyS()
  const own0 = ownCpuS()
  const wall0 = perf()
  const r = await fn()
  const wall = perf() - wall0
  const own = ownCpuS() - own0
  into.push({
    phase: name,
    waited_for_quiet_s: Math.round(waited * 100) / 100,
    wall_s: wall,
    own_cores: own / wall,
    other_cores: Math.max(0, cpuBusyS() - busy0 - own) / wall,
  })
  return r
}

// --- libraries ----------------------------------------------------------------------------------

function peerClaims() {
  const now = nowS()
  return {
    iss: ISSUER,
    sub: SUBJECT,
    aud: AUDIENCE,
    iat: now,
    exp: now + TTL,
    jti: crypto.randomBytes(16).toString('base64url'),
    ...APP_CLAIMS,
  }
}

async function makeKeys(alg) {
  if (alg.startsWith('HS')) {
    const secret = crypto.randomBytes(32)
    const ks = KeySet.fromSecret(secret, { alg })
    const jwk = ks.toJwks({ includePrivate: true }).keys[0]
    const joseKey = await importJWK(jwk, alg)
    const secretKey = crypto.createSecretKey(secret)
    return { alg, kid: jwk.kid, jwk, signKs: ks, verifyKs: ks, secret, joseSign: joseKey, joseVerify: joseKey, nodeSign: secretKey, nodeVerify: secretKey }
  }
  const ks = KeySet.generate(alg)
  const priv = ks.toJwks({ includePrivate: true }).keys[0]
  const pub = ks.toJwks().keys[0]
  return {
    alg,
    kid: priv.kid,
    jwk: priv,
    signKs: ks,
    verifyKs: KeySet.fromJwks({ keys: [pub] }), // verify-only, like the peers' public keys
    secret: null,
    joseSign: await importJWK(priv, alg),
    joseVerify: await importJWK(pub, alg),
    nodeSign: crypto.createPrivateKey({ key: priv, format: 'jwk' }),
    nodeVerify: crypto.createPublicKey({ key: pub, format: 'jwk' }),
  }
}

const subOk = (c) => c.sub === SUBJECT

function makeLibs(k) {
  const { alg } = k
  const signer = new Tokens(k.signKs, { issuer: ISSUER, audience: AUDIENCE })
  // verifyCache 0: every verification checks the signature, as the peers' do (the pool's tokens
  // come round again, and the verified-token cache would otherwise answer from memory).
  const verifier = new Tokens(k.verifyKs, { issuer: ISSUER, audience: AUDIENCE, verifyCache: 0 })
  const libs = [
    {
      name: 'polyauth',
      role: 'polyauth',
      issue: () => signer.issue(SUBJECT, { claims: APP_CLAIMS }),
      verify: (t) => verifier.verify(t),
      check: subOk,
    },
  ]
  const joseHeader = { alg, typ: TYP, kid: k.kid }
  const joseOpts = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, typ: TYP, requiredClaims: ['sub', 'exp'], clockTolerance: LEEWAY }
  libs.push({
    name: 'jose',
    role: 'peer',
    async: true,
    issue: () => {
      const c = peerClaims()
      return new SignJWT(c).setProtectedHeader(joseHeader).sign(k.joseSign)
    },
    verify: async (t) => (await jwtVerify(t, k.joseVerify, joseOpts)).payload,
    check: subOk,
  })
  if (alg !== 'EdDSA') {
    const signOpts = { algorithm: alg, header: { alg, typ: TYP, kid: k.kid } }
    const verifyOpts = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, clockTolerance: LEEWAY, complete: true }
    libs.push({
      name: 'jsonwebtoken',
      role: 'peer',
      issue: () => jsonwebtoken.sign(peerClaims(), k.nodeSign, signOpts),
      verify: (t) => {
        const d = jsonwebtoken.verify(t, k.nodeVerify, verifyOpts)
        if (d.header.typ !== TYP || typeof d.payload.exp !== 'number' || typeof d.payload.sub !== 'string') {
          throw new Error('typ, exp or sub')
        }
        return d.payload
      },
      check: subOk,
    })
  }
  const nativeOpts = { relaxTyp: false }
  libs.push(
    { name: 'polyauth verifyJws', role: 'breakdown', verify: (t) => k.verifyKs.verifyJws(t), check: (r) => r.payload.length > 0, from: 'polyauth' },
    { name: 'polyauth verifyJws+JSON.parse', role: 'breakdown', verify: (t) => JSON.parse(k.verifyKs.verifyJws(t).payload), check: subOk, from: 'polyauth' },
    { name: 'polyauth native verify', role: 'breakdown', verify: (t) => verifier.native.verify(t, nativeOpts), check: (c) => typeof c === 'string' && c.includes('"sub":'), from: 'polyauth' },
    rawVerifier(k),
  )
  for (const lib of libs) lib.tokens = []
  return libs
}

function rawVerifier(k) {
  const prepared = new Map()
  const { alg } = k
  const prepare = (t) => {
    const [h, p, s] = t.split('.')
    prepared.set(t, [Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url')])
  }
  const verify = (t) => {
    const [msg, sig] = prepared.get(t)
    if (alg === 'HS256') {
      const mac = crypto.createHmac('sha256', k.nodeVerify).update(msg).digest()
      return mac.length === sig.length && crypto.timingSafeEqual(mac, sig)
    }
    if (alg === 'ES256') return crypto.verify('sha256', msg, { key: k.nodeVerify, dsaEncoding: 'ieee-p1363' }, sig)
    if (alg === 'EdDSA') return crypto.verify(null, msg, k.nodeVerify, sig)
    return crypto.verify('sha256', msg, { key: k.nodeVerify, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
  }
  return { name: 'node:crypto raw', role: 'breakdown', verify, prepare, check: (ok) => ok === true, from: 'jose' }
}

// --- correctness checks -------------------------------------------------------------------------

async function forge(k, overrides) {
  const c = peerClaims()
  for (const [name, v] of Object.entries(overrides)) {
    if (v === null) delete c[name]
    else c[name] = v
  }
  return new SignJWT(c).setProtectedHeader({ alg: k.alg, typ: TYP, kid: k.kid }).sign(k.joseSign)
}

async function crossCheck(k, libs) {
  const main = libs.filter((l) => l.role !== 'breakdown')
  const out = []
  for (const issuer of main) {
    const token = await issuer.issue()
    for (const v of main) {
      let ok
      try {
        ok = v.check(await v.verify(token))
      } catch (e) {
        throw new Error(`${k.alg}: ${v.name} rejects a token of ${issuer.name}: ${e}`)
      }
      if (!ok) throw new Error(`${k.alg}: ${v.name} returned wrong claims for ${issuer.name}`)
      out.push({ alg: k.alg, issuer: issuer.name, verifier: v.name, ok: true })
    }
  }
  const now = nowS()
  const bad = {
    'wrong audience': await forge(k, { aud: 'https://other.example.com' }),
    'wrong issuer': await forge(k, { iss: 'https://evil.example.com' }),
    expired: await forge(k, { iat: now - 2 * TTL, exp: now - TTL }),
    'no exp': await forge(k, { exp: null }),
    'no sub': await forge(k, { sub: null }),
  }
  for (const v of main) {
    for (const [what, token] of Object.entries(bad)) {
      let accepted = false
      try {
        await v.verify(token)
        accepted = true
      } catch {
        out.push({ alg: k.alg, verifier: v.name, rejects: what, ok: true })
      }
      if (accepted) throw new Error(`${k.alg}: ${v.name} accepted a token with ${what}`)
    }
  }
  return out
}

// --- timing -------------------------------------------------------------------------------------

async function runBatch(lib, op, n, start) {
  if (op === 'issue') {
    let token
    const t0 = perf()
    if (lib.async) for (let i = 0; i < n; i++) token = await lib.issue()
    else for (let i = 0; i < n; i++) token = lib.issue()
    const dt = perf() - t0
    lib.tokens.push(token)
    return dt
  }
  const { verify, check, tokens } = lib
  const m = tokens.length
  const t0 = perf()
  if (lib.async) {
    for (let i = start; i < start + n; i++) if (!check(await verify(tokens[i % m]))) throw new Error(`${lib.name}: bad verify result`)
  } else {
    for (let i = start; i < start + n; i++) if (!check(verify(tokens[i % m]))) throw new Error(`${lib.name}: bad verify result`)
  }
  return perf() - t0
}

/** Ops per batch so that a batch takes about BATCH_TARGET_S: the fastest of three timings at each
 * size, after a warm-up, so that one pause (GC, a busy neighbour) cannot shrink the batch to 1. */
async function calibrate(lib, op) {
  const warmUntil = perf() + 0.05
  while (perf() < warmUntil) await runBatch(lib, op, 8, 0)
  for (let n = 1; ; n *= 2) {
    let dt = Infinity
    for (let i = 0; i < 3; i++) dt = Math.min(dt, await runBatch(lib, op, n, 0))
    if (dt >= BATCH_TARGET_S / 2 || n >= 1 << 16) return Math.max(1, Math.round((n * BATCH_TARGET_S) / Math.max(dt, 1e-9)))
  }
}

async function measure(libs, op, budgetS, minRounds) {
  const sizes = new Map()
  for (const lib of libs) sizes.set(lib, await calibrate(lib, op))
  const warmUntil = perf() + 0.15 * libs.length
  while (perf() < warmUntil) for (const lib of libs) await runBatch(lib, op, sizes.get(lib), 0)
  const samples = new Map(libs.map((l) => [l, []]))
  const tEnd = perf() + budgetS
  for (let r = 0; r < minRounds || perf() < tEnd; r++) {
    const k = r % libs.length
    for (const lib of [...libs.slice(k), ...libs.slice(0, k)]) {
      const n = sizes.get(lib)
      samples.get(lib).push(((await runBatch(lib, op, n, r * n)) / n) * 1e6)
    }
  }
  if (op === 'issue') {
    for (const lib of libs) {
      for (const t of lib.tokens.slice(-3)) if (!lib.check(await lib.verify(t))) throw new Error(`${lib.name}: issued token does not verify`)
    }
  }
  return libs.map((l) => ({ lib: l.name, role: l.role, op, batch_n: sizes.get(l), us: samples.get(l) }))
}

async function benchAlg(alg, issueS, verifyS, load) {
  const k = await makeKeys(alg)
  const libs = makeLibs(k)
  const checks = await crossCheck(k, libs)
  const main = libs.filter((l) => l.role !== 'breakdown')
  for (const lib of main) {
    lib.tokens = []
    for (let i = 0; i < TOKEN_POOL; i++) lib.tokens.push(await lib.issue())
  }
  for (const lib of libs.filter((l) => l.role === 'breakdown')) {
    lib.tokens = [...main.find((m) => m.name === lib.from).tokens]
    if (lib.prepare) lib.tokens.forEach(lib.prepare)
  }
  let results = await phase(`${alg} verify`, load, () => measure(libs, 'verify', verifyS, 30))
  for (const lib of main) lib.tokens = []
  results = results.concat(await phase(`${alg} issue`, load, () => measure(main, 'issue', issueS, 20)))
  const tokenBytes = {}
  for (const lib of main) tokenBytes[lib.name] = (await lib.issue()).length
  return { alg, results, checks, token_bytes: tokenBytes }
}

function versions() {
  const v = { node: process.version, v8: process.versions.v8, 'openssl (node)': process.versions.openssl }
  for (const name of ['polyauth', 'jose', 'jsonwebtoken']) {
    try {
      v[name] = require(`${name}/package.json`).version
    } catch {
      const p = path.join(process.cwd(), 'node_modules', name, 'package.json')
      v[name] = fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')).version : '?'
    }
  }
  return v
}

function parseArgs(argv) {
  const a = { out: null, issueSeconds: 1.5, verifySeconds: 2.5, algs: ALGS.join(',') }
  for (let i = 2; i < argv.length; i++) {
    const [key, val] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], argv[++i]]
    if (key === '--out') a.out = val
    else if (key === '--issue-seconds') a.issueSeconds = Number(val)
    else if (key === '--verify-seconds') a.verifySeconds = Number(val)
    else if (key === '--algs') a.algs = val
    else throw new Error(`unknown argument ${key}`)
  }
  if (!a.out) throw new Error('--out is required')
  return a
}

async function main() {
  const args = parseArgs(process.argv)
  const out = {
    lang: 'node',
    versions: versions(),
    loadavg_before: loadavg(),
    started: Date.now() / 1000,
    config: { issuer: ISSUER, audience: AUDIENCE, app_claims: APP_CLAIMS, ttl: TTL, leeway: LEEWAY, batch_target_s: BATCH_TARGET_S, token_pool: TOKEN_POOL },
    algs: [],
    load: [],
  }
  for (const alg of args.algs.split(',')) {
    log(`${alg} ...`)
    const r = await benchAlg(alg, args.issueSeconds, args.verifySeconds, out.load)
    out.algs.push(r)
    for (const x of r.results) log(`  ${x.op.padEnd(6)} ${x.lib.padEnd(30)} ${median(x.us).toFixed(2).padStart(9)} us  (${x.us.length} batches)`)
  }
  out.loadavg_after = loadavg()
  out.finished = Date.now() / 1000
  fs.mkdirSync(path.dirname(args.out), { recursive: true })
  fs.writeFileSync(args.out, JSON.stringify(out))
}

await main()
