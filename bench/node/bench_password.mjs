// Password hashing benchmark, Node side: polyauth vs @node-rs/argon2 vs argon2 (node-argon2).
// Run by bench/run.sh; writes raw samples as JSON (--out) that bench/report.py turns into RESULTS.md.
//
// * latency: one hash / verify at a time, the libraries interleaved round-robin (the starting
//   library rotates every round) so that machine noise hits all of them alike; async API (the
//   targets) and, for polyauth and @node-rs/argon2, the sync API;
// * event-loop stall: the longest gap of a 1 ms setTimeout ticker while 8 hashes run concurrently.

import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { parseArgs, promisify } from 'node:util'
import os from 'node:os'
import { deflate, deflateSync } from 'node:zlib'

import { PasswordHasher } from 'polyauth'
import * as noders from '@node-rs/argon2'
import argon2 from 'argon2'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const TICK_MS = 1

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    rounds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '3' },
    'stall-trials': { type: 'string', default: '8' },
    'stall-jobs': { type: 'string', default: '8' },
  },
})
if (!args.out) throw new Error('--out is required')
const config = {
  rounds: Number(args.rounds),
  warmup: Number(args.warmup),
  stall_trials: Number(args['stall-trials']),
  stall_jobs: Number(args['stall-jobs']),
  uv_threadpool_size: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
}

// CPU used by *other* processes during a phase: machine-wide busy time (/proc/stat) minus ours.
// The benchmark shares a 2-core machine; this tells RESULTS.md whether a phase was disturbed.
const CLK_TCK = Number(process.env.BENCH_CLK_TCK || 100)
function procStat() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number)
    const [user, nice, system, , , irq, softirq, steal] = f
    return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: steal / CLK_TCK }
  } catch {
    return { busy: NaN, steal: NaN }
  }
}
const QUIET_CORES = 0.3 // before each phase, wait for other processes to use less than this...
const QUIET_MAX_WAIT_S = 15 // ...but not longer than this (RESULTS.md reports the load either way)
async function waitQuiet() {
  const t0 = performance.now()
  for (;;) {
    const a = procStat()
    await new Promise((resolve) => setTimeout(resolve, 500)) // idle meanwhile: all busy time is someone else's
    const b = procStat()
    const waited = (performance.now() - t0) / 1000
    if (!((b.busy - a.busy) / 0.5 >= QUIET_CORES) || waited >= QUIET_MAX_WAIT_S) return waited
  }
}
const load = []
async function phase(name, fn) {
  const waited = await waitQuiet()
  const s0 = procStat()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await fn()
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  const own = (c.user + c.system) / 1e6
  const s1 = procStat()
  load.push({
    phase: name,
    waited_for_quiet_s: waited,
    wall_s: wall,
    own_cores: own / wall,
    other_cores: Math.max(0, s1.busy - s0.busy - own) / wall,
    steal_cores: (s1.steal - s0.steal) / wall,
  })
  return r
}

const log = (msg) => process.stderr.write(`[bench node] ${msg}\n`)

const p = JSON.parse(readFileSync(join(here, '..', 'params.json'), 'utf8'))
for (const pw of p.passwords) {
  // polyauth NFKC-normalises, the peers hash the raw UTF-8: keep inputs where both are the same bytes.
  if (pw.normalize('NFKC') !== pw) throw new Error(`password not NFKC-stable: ${pw}`)
}

const pa = new PasswordHasher({ timeCost: p.time_cost, memoryKib: p.memory_kib, parallelism: p.parallelism })
// algorithm 2 = Argon2id (a const enum in the typings, not exported at runtime); salts are 16 bytes.
const nrOpts = { algorithm: 2, memoryCost: p.memory_kib, timeCost: p.time_cost, parallelism: p.parallelism, outputLen: p.tag_len }
const naOpts = { type: argon2.argon2id, memoryCost: p.memory_kib, timeCost: p.time_cost, parallelism: p.parallelism, hashLength: p.tag_len }

/** name -> { async: {hash, verify}, sync?: {hash, verify} } */
const libs = [
  {
    name: 'polyauth',
    async: { hash: (pw) => pa.hash(pw), verify: (h, pw) => pa.verify(h, pw) },
    sync: { hash: (pw) => pa.hashSync(pw), verify: (h, pw) => pa.verifySync(h, pw) },
  },
  {
    name: '@node-rs/argon2',
    async: { hash: (pw) => noders.hash(pw, nrOpts), verify: (h, pw) => noders.verify(h, pw) },
    sync: { hash: (pw) => noders.hashSync(pw, nrOpts), verify: (h, pw) => noders.verifySync(h, pw) },
  },
  {
    name: 'argon2',
    async: { hash: (pw) => argon2.hash(pw, naOpts), verify: (h, pw) => argon2.verify(h, pw) },
  },
]

function b64len(s) {
  return Buffer.from(s, 'base64').length
}

/** Fails unless `phc` is argon2id v=19 with exactly the benchmark's parameters and sizes. */
function checkPhc(lib, phc) {
  const parts = phc.split('$')
  const ok =
    parts.length === 6 &&
    parts[0] === '' &&
    parts[1] === p.algorithm &&
    parts[2] === `v=${p.version}` &&
    parts[3] === `m=${p.memory_kib},t=${p.time_cost},p=${p.parallelism}` &&
    b64len(parts[4]) === p.salt_len &&
    b64len(parts[5]) === p.tag_len
  if (!ok) throw new Error(`${lib} produced a hash with other parameters than the benchmark's: ${phc}`)
}

function packageVersion(name) {
  // Walk up from the resolved entry point to the package's own package.json (exports may hide it).
  let dir = dirname(require.resolve(name))
  for (;;) {
    const f = join(dir, 'package.json')
    if (existsSync(f)) {
      const pkg = JSON.parse(readFileSync(f, 'utf8'))
      if (pkg.name === name) return pkg.version
    }
    const up = dirname(dir)
    if (up === dir) return 'unknown'
    dir = up
  }
}

async function benchLatency() {
  const pws = p.passwords
  for (const lib of libs) {
    for (const api of ['async', 'sync']) {
      const f = lib[api]
      if (!f) continue
      let phc
      for (let i = 0; i < config.warmup; i++) {
        const pw = pws[i % pws.length]
        phc = await f.hash(pw)
        checkPhc(lib.name, phc)
        if ((await f.verify(phc, pw)) !== true) throw new Error(`${lib.name} ${api}: verify of its own hash failed`)
      }
      if ((await f.verify(phc, 'definitely not the password')) !== false) {
        throw new Error(`${lib.name} ${api}: verify accepted a wrong password`)
      }
    }
  }
  const samples = new Map()
  const add = (lib, api, op, ms) => {
    const k = `${lib}\0${api}\0${op}`
    if (!samples.has(k)) samples.set(k, { lib, api, op, samples_ms: [] })
    samples.get(k).samples_ms.push(ms)
  }
  for (let r = 0; r < config.rounds; r++) {
    const pw = pws[r % pws.length]
    const order = libs.map((_, i) => libs[(i + r) % libs.length])
    for (const api of r % 2 === 0 ? ['async', 'sync'] : ['sync', 'async']) {
      const hashes = new Map()
      for (const lib of order) {
        const f = lib[api]
        if (!f) continue
        const t0 = performance.now()
        const phc = await f.hash(pw)
        add(lib.name, api, 'hash', performance.now() - t0)
        hashes.set(lib.name, phc)
      }
      for (const lib of order) {
        const f = lib[api]
        if (!f) continue
        const t0 = performance.now()
        const ok = await f.verify(hashes.get(lib.name), pw)
        add(lib.name, api, 'verify', performance.now() - t0)
        if (ok !== true) throw new Error(`${lib.name} ${api}: verify of its own hash returned ${ok}`)
      }
      for (const [name, phc] of hashes) checkPhc(name, phc)
    }
  }
  return [...samples.values()]
}

const deflateAsync = promisify(deflate)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Longest ticker oversleep (ms beyond the 1 ms it asked for) while `runJobs` runs. */
async function measureStall(runJobs) {
  const ticks = [] // [asked to sleep at, woke at]
  let stopped = false
  let asked = performance.now()
  const tick = () => {
    const now = performance.now()
    ticks.push([asked, now])
    if (stopped) return
    asked = now
    setTimeout(tick, TICK_MS)
  }
  setTimeout(tick, TICK_MS)
  await sleep(20) // ticker is running steadily before the jobs start
  const begin = performance.now()
  await runJobs()
  const end = performance.now()
  await sleep(5) // let the tick that straddles the end fire and be recorded
  stopped = true
  await sleep(3)
  const window = ticks.filter(([a, b]) => a < end && b > begin).map(([a, b]) => b - a - TICK_MS)
  return { max_stall_ms: Math.max(...window), ticks: window.length, wall_ms: end - begin }
}

/**
 * CPU-burn control without argon2: zlib deflate (level 9, on the libuv pool like the hashes) of a
 * buffer sized to take about `targetMs` on one core. (Not PBKDF2: OpenSSL 3 takes shared locks on
 * every HMAC iteration, so its threads do not keep the cores busy.)
 */
function burnBufferFor(targetMs) {
  // Text-like, moderately compressible data (a fixed LCG, so every run deflates the same bytes).
  const make = (n) => {
    const b = Buffer.alloc(n)
    let x = 12345
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      b[i] = 97 + ((x >>> 16) % 20)
    }
    return b
  }
  const probe = make(1 << 20)
  deflateSync(probe, { level: 9 }) // warm-up
  const t0 = performance.now()
  deflateSync(probe, { level: 9 })
  const perByteMs = (performance.now() - t0) / probe.length
  return make(Math.max(1024, Math.round(targetMs / perByteMs)))
}

async function benchStall(burnMs) {
  const pws = Array.from({ length: config.stall_jobs }, (_, i) => p.passwords[i % p.passwords.length])
  const checkAll = (lib, hashes) => {
    if (hashes.length !== config.stall_jobs) throw new Error(`${lib}: wrong number of hashes`)
    for (const h of hashes) checkPhc(lib, h)
  }
  const burnBuf = burnBufferFor(burnMs)
  config.control_deflate_bytes = burnBuf.length
  const variants = [
    ['polyauth', 'hash() (libuv pool)', async () => checkAll('polyauth', await Promise.all(pws.map((pw) => pa.hash(pw))))],
    ['@node-rs/argon2', 'hash() (libuv pool)', async () => checkAll('@node-rs/argon2', await Promise.all(pws.map((pw) => noders.hash(pw, nrOpts))))],
    ['argon2', 'hash() (libuv pool)', async () => checkAll('argon2', await Promise.all(pws.map((pw) => argon2.hash(pw, naOpts))))],
    // Control: the same number of CPU-bound jobs on the same libuv pool, without any argon2 library.
    ['control', 'zlib.deflate() burn (libuv pool), no argon2', async () => { await Promise.all(pws.map(() => deflateAsync(burnBuf, { level: 9 }))) }],
    // Blocks the event loop on purpose: the contrast case.
    ['polyauth', 'hashSync() in the async functions', async () => checkAll('polyauth', await Promise.all(pws.map(async (pw) => pa.hashSync(pw))))],
  ]
  for (const [, , fn] of variants.slice(0, 4)) await fn() // warm-up: spins up the libuv pool threads
  const out = []
  for (let trial = 0; trial < config.stall_trials; trial++) {
    out.push({ lib: '-', variant: 'idle (no hashing)', trial, ...(await measureStall(() => sleep(100))) })
    for (const [lib, variant, fn] of variants) {
      out.push({ lib, variant, trial, ...(await measureStall(fn)) })
    }
  }
  return out
}

const started = Date.now()
const loadBefore = os.loadavg().map((x) => x.toFixed(2)).join(' ')
log(`latency: ${config.warmup} warm-up + ${config.rounds} interleaved rounds (async and sync APIs)`)
const latency = await phase('latency', benchLatency)
log(`event-loop stall: ${config.stall_trials} trials x ${config.stall_jobs} concurrent hashes`)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const burnMs = median(latency.find((r) => r.lib === 'polyauth' && r.api === 'async' && r.op === 'hash').samples_ms)
const stall = await phase('event-loop stall', () => benchStall(burnMs))

const result = {
  language: 'node',
  runtime: `Node.js ${process.version}`,
  versions: {
    polyauth: packageVersion('polyauth'),
    '@node-rs/argon2': packageVersion('@node-rs/argon2'),
    argon2: packageVersion('argon2'),
  },
  params: Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'comment')),
  engine: PasswordHasher.engineInfo(),
  build_profile: process.env.BENCH_PROFILE ?? 'unknown',
  config,
  cpu_count: os.availableParallelism(),
  started_unix: started / 1000,
  elapsed_s: (Date.now() - started) / 1000,
  loadavg_before: loadBefore,
  loadavg_after: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  latency,
  stall,
  load,
}
mkdirSync(dirname(args.out), { recursive: true })
writeFileSync(args.out, JSON.stringify(result, null, 1) + '\n')
log(`done in ${result.elapsed_s.toFixed(1)} s -> ${args.out}`)
