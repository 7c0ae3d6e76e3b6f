// TOTP benchmark, Node side: verifying a valid current code, polyauth vs otplib 12.
//
// Same secret (20 random bytes, base32) and the same instant for both: polyauth
// `totp.verify(secret, code, { now })` (window 1) and otplib
// `authenticator.check(code, secret)` with `{ window: 1, epoch: now * 1000 }`. Both must accept
// the code (and reject a wrong one) before timing. The libraries run in batches of ~3 ms,
// interleaved (the starting library alternates every round) after a warm-up; the result is the
// median per-operation time over the batches, and the ratio polyauth / otplib (target <= 0.5).
//
// Usage: node bench/node/bench_totp.mjs [--out FILE] [--rounds N]
// Writes bench/.work/totp_node.json by default and prints a short summary.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { authenticator } from 'otplib'
import { Totp } from 'polyauth'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const arg = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt
}
const OUT = arg('--out', path.join(HERE, '..', '.work', 'totp_node.json'))
const ROUNDS = Number(arg('--rounds', 300))
const BATCH_TARGET_S = 0.003
const TARGET_RATIO = 0.5

const perf = () => Number(process.hrtime.bigint()) / 1e9
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
function base32(buf) {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of buf) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}

const now = Math.floor(Date.now() / 1000)
const secret = base32(randomBytes(20))
const totp = new Totp({ issuer: 'Bench', digits: 6, period: 30, algorithm: 'SHA1', window: 1 })
const otp = authenticator.clone({ digits: 6, step: 30, algorithm: 'sha1', window: 1, epoch: now * 1000 })
const code = totp.code(secret, { now })
const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')

// Correctness before timing.
if (otp.generate(secret) !== code) throw new Error('otplib and polyauth disagree on the code')
if (totp.verify(secret, code, { now }) !== Math.floor(now / 30)) throw new Error('polyauth rejects the code')
if (!otp.check(code, secret)) throw new Error('otplib rejects the code')

const libs = {
  polyauth: () => totp.verify(secret, code, { now }),
  otplib: () => otp.check(code, secret),
}
for (const [name, fn] of Object.entries(libs)) {
  if (!fn()) throw new Error(`${name}: valid code rejected`)
}

function runBatch(fn, n) {
  let ok = 0
  const t0 = perf()
  for (let i = 0; i < n; i++) if (fn()) ok++
  const dt = perf() - t0
  if (ok !== n) throw new Error('a verify failed during timing')
  return dt
}

// Calibrate the batch size per library (and warm up).
const batch = {}
for (const [name, fn] of Object.entries(libs)) {
  const warmEnd = perf() + 0.2
  while (perf() < warmEnd) runBatch(fn, 64)
  // Estimate the per-op time over ~50 ms, then size the batch to ~BATCH_TARGET_S.
  let calls = 0
  const t0 = perf()
  while (perf() - t0 < 0.05) {
    runBatch(fn, 64)
    calls += 64
  }
  const perOp = (perf() - t0) / calls
  const n = Math.max(16, Math.ceil(BATCH_TARGET_S / perOp))
  batch[name] = n
  for (let i = 0; i < 20; i++) runBatch(fn, n)
}

const samples = { polyauth: [], otplib: [] }
const names = Object.keys(libs)
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...names].reverse() : names
  for (const name of order) samples[name].push((runBatch(libs[name], batch[name]) / batch[name]) * 1e9)
}

const ns = Object.fromEntries(names.map((n) => [n, median(samples[n])]))
const ratio = ns.polyauth / ns.otplib
const result = {
  benchmark: 'totp_verify_current_code',
  runtime: `node ${process.version}`,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? null,
  timestamp: new Date().toISOString(),
  params: { algorithm: 'SHA1', digits: 6, period: 30, window: 1, secret_bytes: 20, rounds: ROUNDS, batch },
  versions: {
    otplib: JSON.parse(fs.readFileSync(new URL('../../node_modules/otplib/package.json', import.meta.url), 'utf8')).version,
  },
  ns_per_op: ns,
  ops_per_s: Object.fromEntries(names.map((n) => [n, 1e9 / ns[n]])),
  ratio_polyauth_vs_otplib: ratio,
  target_ratio: TARGET_RATIO,
  meets_target: ratio <= TARGET_RATIO,
  samples_ns: samples,
}
fs.mkdirSync(path.dirname(OUT), { recursive: true })
fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n')

console.log(`TOTP verify (SHA1, 6 digits, window 1), median of ${ROUNDS} batches:`)
for (const n of names) console.log(`  ${n.padEnd(9)} ${ns[n].toFixed(0).padStart(7)} ns/op  (${(1e9 / ns[n]).toFixed(0)} ops/s, batch ${batch[n]})`)
console.log(`  ratio polyauth/otplib = ${ratio.toFixed(3)}x (target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'})`)
console.log(`  written to ${path.relative(process.cwd(), OUT)}`)
