// Session refresh benchmark, Node side (run by bench/run_more.sh). Method as in
// bench/python/bench_sessions.py: for SQLite, PostgreSQL and Redis, with 1, 16 and 64 concurrent
// callers (promises), every caller starts its own session and refreshes it in a loop for a fixed
// time, always presenting the refresh token the previous rotation returned; the cell reports
// rotations per second and p50/p99 latency of one `await sessions.refresh(...)`. Access tokens are
// EdDSA; after each cell every caller's newest access token is verified.
//
// Interleaved with each polyauth cell (the order rotates per cell), the backend's raw round-trip
// rate with the same number of clients: `pgbench -f select1.sql -M prepared` and
// `redis-benchmark -t ping_mbulk` (no `pg` or Redis client is installed for Node, so the servers'
// own C clients), and SELECT 1 through Python's sqlite3 on one connection for SQLite (Node 20 has
// no built-in SQLite); for PostgreSQL and Redis also the rotation-shaped "same work" baselines
// (defined and set up by bench/python/bench_sessions.py --setup-same-work).
//
// Writes JSON (--out) for bench/report_more.py.
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { KeySet, Sessions, Store, Tokens } from 'polyauth'

const require = createRequire(import.meta.url)
const PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = 'redis://127.0.0.1:6379'
const PG_ARGS = ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres']
const CONCURRENCY = [1, 16, 64]
const ISSUER = 'https://auth.example.com'
const AUDIENCE = 'https://api.example.com'
const CLAIMS = { scope: 'openid profile orders:read', amr: ['pwd'], roles: ['customer'] }
const QUIET_CORES = 0.3
const QUIET_MAX_WAIT_S = 3.0
const TCK = Number(process.env.BENCH_CLK_TCK || 100)
const PY = process.env.PY || '.venv/bin/python'

const log = (msg) => process.stderr.write(`[bench sessions node] ${msg}\n`)
const perf = () => Number(process.hrtime.bigint()) / 1e9
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// --- load accounting ----------------------------------------------------------------------------

function cpuBusyS() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].split(/\s+/).slice(1, 9).map(Number)
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / TCK
  } catch {
    return NaN
  }
}

function statCpu(file) {
  const stat = fs.readFileSync(file, 'utf8')
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return [comm, (Number(rest[11]) + Number(rest[12])) / TCK]
}

function serverCpuByPid() {
  const out = new Map()
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const [comm, cpu] = statCpu(`/proc/${d}/stat`)
      if (comm === 'redis-server' || comm.startsWith('postgres')) out.set(Number(d), cpu)
    } catch {
      // the process ended meanwhile
    }
  }
  return out
}

function threadCpu() {
  const out = {}
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      let [comm, cpu] = statCpu(`/proc/self/task/${t}/stat`)
      if (Number(t) === process.pid) comm = 'node main'
      else if (comm === 'node') comm = 'node other'
      out[comm] = (out[comm] ?? 0) + cpu
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}

function childrenCpuS() {
  // process.resourceUsage() has no children's time: read it from /proc/self/stat (cutime, cstime).
  const stat = fs.readFileSync('/proc/self/stat', 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[13]) + Number(rest[14])) / TCK
}

async function waitQuiet() {
  const t0 = perf()
  for (;;) {
    const b0 = cpuBusyS()
    await sleep(250)
    const waited = perf() - t0
    if ((cpuBusyS() - b0) / 0.25 < QUIET_CORES || waited >= QUIET_MAX_WAIT_S || Number.isNaN(b0)) return waited
  }
}

/** CPU split of a cell in cores: this process by thread, children (raw tools), servers, the rest. */
class CpuWindow {
  constructor(poll = false) {
    this.poll = poll
  }
  sample() {
    for (const [pid, cpu] of serverCpuByPid()) {
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : cpu)
      this.last.set(pid, cpu)
    }
  }
  start() {
    this.first = new Map()
    this.last = new Map()
    this.started = false
    this.sample()
    this.started = true
    this.threads0 = threadCpu()
    this.children0 = childrenCpuS()
    this.busy0 = cpuBusyS()
    this.wall0 = perf()
    if (this.poll) this.timer = setInterval(() => this.sample(), 100)
    return this
  }
  stop() {
    const wall = perf() - this.wall0
    const busy = cpuBusyS() - this.busy0
    if (this.timer) clearInterval(this.timer)
    this.sample()
    const threads = threadCpu()
    const own = {}
    for (const [k, v] of Object.entries(threads)) {
      const d = (v - (this.threads0[k] ?? 0)) / wall
      if (d > 0.0005) own[k] = d
    }
    const children = childrenCpuS() - this.children0
    let srv = 0
    for (const [pid, cpu] of this.last) srv += cpu - this.first.get(pid)
    const ownSum = Object.values(own).reduce((a, b) => a + b, 0)
    return {
      wall_s: wall,
      own_cores: ownSum,
      own_by_thread: own,
      tool_cores: children / wall,
      server_cores: srv / wall,
      other_cores: Math.max(0, busy - ownSum * wall - children - srv) / wall,
    }
  }
}

// --- polyauth cells -----------------------------------------------------------------------------

const pct = (xs, q) => {
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]
}

async function polyauthCell(sessions, tokens, backend, conc, seconds, tag) {
  const subject = (i) => `${tag}-${conc}-${i}`
  const pairs = await Promise.all(Array.from({ length: conc }, (_, i) => sessions.start(subject(i), { claims: CLAIMS })))
  const refresh = pairs.map((p) => p.refreshToken)
  const lastAccess = pairs.map((p) => p.accessToken)
  await Promise.all(
    refresh.map(async (_, i) => {
      for (let j = 0; j < 3; j++) refresh[i] = (await sessions.refresh(refresh[i])).refreshToken
    }),
  )
  const lat = []
  const counts = new Array(conc).fill(0)
  const caller = async (i, deadline) => {
    let tok = refresh[i]
    while (perf() < deadline) {
      const t0 = perf()
      const p = await sessions.refresh(tok)
      lat.push(perf() - t0)
      tok = p.refreshToken
      counts[i]++
      lastAccess[i] = p.accessToken
    }
    refresh[i] = tok
  }
  const cpu = new CpuWindow().start()
  const t0 = perf()
  await Promise.all(counts.map((_, i) => caller(i, t0 + seconds)))
  const elapsed = perf() - t0
  const cpuResult = cpu.stop()
  lastAccess.forEach((tok, i) => {
    const c = tokens.verify(tok)
    if (c.sub !== subject(i) || c.sid !== pairs[i].sessionId) throw new Error(`${backend}: unexpected claims after rotation`)
  })
  if (Math.min(...counts) === 0) throw new Error(`${backend} x${conc}: a caller never completed a rotation`)
  const sorted = Float64Array.from(lat).sort()
  return {
    kind: 'polyauth',
    backend,
    concurrency: conc,
    rotations: lat.length,
    elapsed_s: elapsed,
    per_s: lat.length / elapsed,
    p50_ms: sorted[sorted.length >> 1] * 1e3,
    p99_ms: pct(lat, 0.99) * 1e3,
    min_per_caller: Math.min(...counts),
    max_per_caller: Math.max(...counts),
    cpu: cpuResult,
  }
}

/** The issue's baseline: a trivial query (`Store.ping`: SELECT 1 / PING) through the same pool,
 * from the same language, with the same number of concurrent callers. */
async function poolCell(store, backend, conc, seconds) {
  for (let i = 0; i < 20; i++) await store.ping()
  const counts = new Array(conc).fill(0)
  const caller = async (i, deadline) => {
    while (perf() < deadline) {
      await store.ping()
      counts[i]++
    }
  }
  const cpu = new CpuWindow().start()
  const t0 = perf()
  await Promise.all(counts.map((_, i) => caller(i, t0 + seconds)))
  const elapsed = perf() - t0
  return {
    kind: 'pool',
    backend,
    concurrency: conc,
    tool: "Store.ping() through polyauth's pool (SELECT 1 / PING)",
    per_s: counts.reduce((a, b) => a + b, 0) / elapsed,
    cpu: cpu.stop(),
  }
}

// --- raw round trips ----------------------------------------------------------------------------

function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

const SQLITE_RAW = `
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1]); cur = conn.cursor()
for _ in range(1000): cur.execute("SELECT 1").fetchone()
n = 0; t0 = time.perf_counter(); end = t0 + float(sys.argv[2])
while time.perf_counter() < end:
    for _ in range(200):
        assert cur.execute("SELECT 1").fetchone() == (1,)
    n += 200
print(n / (time.perf_counter() - t0))
`

async function rawSqlite(db, seconds) {
  const cpu = new CpuWindow().start()
  const r = await run(PY, ['-c', SQLITE_RAW, db, String(seconds)])
  const c = cpu.stop()
  if (r.code !== 0) throw new Error(`sqlite raw failed: ${r.stderr}`)
  return { kind: 'raw', backend: 'sqlite', concurrency: 1, tool: 'python sqlite3 (child process), one connection, SELECT 1', per_s: Number(r.stdout.trim()), cpu: c }
}

async function pgFreeConnections() {
  // The server is shared with other work: leave pgbench only the connection slots that are free.
  const q =
    "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int" +
    " - count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
  const n = Number.parseInt((await run('psql', [...PG_ARGS, '-Atc', q, 'postgres'])).stdout.trim(), 10)
  return Number.isNaN(n) ? 1 << 30 : n - 4
}

async function rawPostgres(want, seconds, script, kind = 'raw') {
  const conc = Math.max(1, Math.min(want, await pgFreeConnections()))
  const threads = Math.min(conc, os.cpus().length || 2)
  const args = ['-n', '-M', 'prepared', '-f', script, '-c', String(conc), '-j', String(threads), '-T', String(seconds), ...PG_ARGS, 'postgres']
  const cpu = new CpuWindow(true).start()
  const r = await run('pgbench', args)
  const c = cpu.stop()
  const m = /tps = ([0-9.]+) \(without initial connection time\)/.exec(r.stdout)
  if (r.code !== 0 || !m) throw new Error(`pgbench failed: ${r.stdout}\n${r.stderr}`)
  const lat = /latency average = ([0-9.]+) ms/.exec(r.stdout)
  return {
    kind,
    backend: 'postgres',
    concurrency: want,
    clients_used: conc,
    tool: `pgbench -M prepared -f ${path.basename(script)} -c ${conc} -j ${threads} -T ${seconds}`,
    per_s: Number(m[1]),
    avg_ms: lat ? Number(lat[1]) : null,
    cpu: c,
  }
}

async function rawRedis(conc, seconds, rateGuess, command = [], kind = 'raw') {
  const n = Math.max(2000, Math.round(rateGuess * seconds))
  const args = ['-h', '127.0.0.1', '-p', '6379', '-c', String(conc), '-n', String(n), '--csv']
  args.push(...(command.length ? ['-r', '100000', ...command] : ['-t', 'ping_mbulk']))
  const cpu = new CpuWindow().start()
  const r = await run('redis-benchmark', args)
  const c = cpu.stop()
  const rows = r.stdout.split('\n').map((l) => l.replaceAll('"', '').split(',')).filter((row) => row.length >= 7 && row[0] !== 'test')
  if (r.code !== 0 || rows.length !== 1 || r.stdout.includes('ERR')) throw new Error(`redis-benchmark failed: ${r.stdout}\n${r.stderr}`)
  const shown = command.length ? `${command.slice(0, 2).join(' ')} ...` : '-t ping_mbulk'
  return {
    kind,
    backend: 'redis',
    concurrency: conc,
    tool: `redis-benchmark ${shown} -c ${conc} -n ${n}`,
    per_s: Number(rows[0][1]),
    p50_ms: Number(rows[0][4]),
    p99_ms: Number(rows[0][6]),
    cpu: c,
  }
}

/** The rotation-shaped baselines, created by the Python bench (one definition for both runs). */
async function setupSameWork(namespace, tmp) {
  const r = await run(PY, ['bench/python/bench_sessions.py', '--setup-same-work', tmp, '--namespace', namespace])
  if (r.code !== 0) throw new Error(`same-work setup failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

// --- driver -------------------------------------------------------------------------------------

async function cleanup(namespace) {
  await run('psql', [...PG_ARGS, '-q', '-c', `DROP SCHEMA IF EXISTS ${namespace} CASCADE`, 'postgres'])
  const keys = (await run('redis-cli', ['-h', '127.0.0.1', '--scan', '--pattern', `polyauth:*${namespace}*`])).stdout.split('\n').filter(Boolean)
  if (keys.length) {
    let lines = ''
    for (let i = 0; i < keys.length; i += 1000) lines += `UNLINK ${keys.slice(i, i + 1000).join(' ')}\n`
    await run('redis-cli', ['-h', '127.0.0.1'], lines)
  }
}

function versions() {
  const v = { node: process.version }
  try {
    v.polyauth = require('polyauth/package.json').version
  } catch {
    v.polyauth = '?'
  }
  return v
}

function parseArgs(argv) {
  const a = { out: null, seconds: 3, rawSeconds: 2, backends: 'sqlite,postgres,redis', namespace: null, noSameWork: false }
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--no-same-work') {
      a.noSameWork = true
      continue
    }
    const [key, val] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], argv[++i]]
    if (key === '--out') a.out = val
    else if (key === '--seconds') a.seconds = Number(val)
    else if (key === '--raw-seconds') a.rawSeconds = Number(val)
    else if (key === '--backends') a.backends = val
    else if (key === '--namespace') a.namespace = val
    else throw new Error(`unknown argument ${key}`)
  }
  if (!a.out) throw new Error('--out is required')
  return a
}

async function main() {
  const args = parseArgs(process.argv)
  const namespace = args.namespace ?? `bench_${crypto.randomBytes(4).toString('hex')}_node`
  const out = { lang: 'node', versions: versions(), loadavg_before: os.loadavg(), started: Date.now() / 1000, namespace, access_alg: 'EdDSA', cells: [] }
  const tokens = new Tokens(KeySet.generate('EdDSA'), { issuer: ISSUER, audience: AUDIENCE })
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polyauth-bench-'))
  const db = path.join(tmp, 'sessions.db')
  const select1 = path.join(tmp, 'select1.sql')
  fs.writeFileSync(select1, 'SELECT 1;\n')
  const urls = {
    sqlite: `sqlite://${db}`,
    postgres: `${PG_URL}?polyauth_namespace=${namespace}`,
    redis: `${REDIS_URL}?polyauth_namespace=${namespace}`,
  }
  const rawS = Math.max(1, Math.round(args.rawSeconds))
  const guess = { raw: 40000, 'same-work': 15000 }
  let flip = 0
  let sameWork = null
  try {
    for (const backend of args.backends.split(',')) {
      const store = await Store.open(urls[backend])
      const sessions = new Sessions(store, tokens)
      // The PostgreSQL schema exists once polyauth opened the store; the Redis script needs none.
      if (backend !== 'sqlite' && !args.noSameWork && !sameWork) sameWork = await setupSameWork(namespace, tmp)
      const waited = await waitQuiet()
      for (const conc of CONCURRENCY) {
        log(`${backend} x${conc} ...`)
        const steps = ['polyauth', 'pool']
        if (backend !== 'sqlite') steps.push(...(args.noSameWork ? ['raw'] : ['raw', 'same-work']))
        else if (conc === 1) steps.push('raw')
        const k = flip++ % steps.length
        for (const step of [...steps.slice(k), ...steps.slice(0, k)]) {
          let c
          if (step === 'polyauth') c = await polyauthCell(sessions, tokens, backend, conc, args.seconds, 'node')
          else if (step === 'pool') c = await poolCell(store, backend, conc, args.rawSeconds)
          else if (backend === 'sqlite') c = await rawSqlite(db, args.rawSeconds)
          else if (backend === 'postgres') c = await rawPostgres(conc, rawS, step === 'raw' ? select1 : sameWork.pg_script, step)
          else {
            c = await rawRedis(conc, args.rawSeconds, guess[step], step === 'raw' ? [] : sameWork.redis_command, step)
            guess[step] = c.per_s
          }
          c.waited_for_quiet_s = Math.round(waited * 100) / 100
          out.cells.push(c)
          const extra = c.p99_ms !== undefined ? ` p50 ${c.p50_ms.toFixed(2)} ms p99 ${c.p99_ms.toFixed(2)} ms` : ''
          const cores = Object.entries(c.cpu)
            .filter(([n]) => n.endsWith('_cores'))
            .map(([n, v]) => `${n}=${v.toFixed(2)}`)
            .join(' ')
          log(`  ${c.kind.padEnd(9)} ${c.per_s.toFixed(0).padStart(10)}/s${extra}  cores: ${cores}`)
        }
      }
    }
  } finally {
    await cleanup(namespace)
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  out.loadavg_after = os.loadavg()
  out.finished = Date.now() / 1000
  fs.mkdirSync(path.dirname(args.out), { recursive: true })
  fs.writeFileSync(args.out, JSON.stringify(out))
}

await main()
// The store keeps pooled connections open; the run is over.
process.exit(0)
