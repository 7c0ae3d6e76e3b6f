// Next.js benchmark (run by bench/run_next.sh; bench/report_next.py writes bench/RESULTS-next.md
// from its JSON). The Node counterpart of bench/python/bench_fastapi.py.
//
// Requests/s of one route handler of bench/next-app (built once with `next build`, served by
// `next start` on 127.0.0.1), driven by `wrk` with keep-alive connections, in four cells:
//
// - `open`: /api/open, unprotected;
// - `polyauth_bearer`: /api/polyauth, `withAuth` of `createAuth` (polyauth/next) with
//   `Authorization: Bearer`;
// - `polyauth_cookie`: the same route with the access cookie of a session (`sessionCheck` 5 s);
// - `jose`: /api/jose, `jwtVerify` of jose with the public key imported once (`importJWK`), the same
//   algorithm (EdDSA), issuer, audience and token as the bearer cell.
//
// The machine has few cores and the load generator competes with the server, so (when `taskset`
// exists) `next start` is pinned to CPU 0 and wrk to CPU 1: each cell then measures what one server
// core serves. Cells alternate (rotating the order every round) so every cell sees the same
// machine; the report takes the medians. The machine may be shared: before each cell the run waits
// a little for other processes to go quiet, and it records the CPU the server used and what other
// processes took from its core during the cell. Every response must be a 2xx: wrk's non-2xx count
// (or any socket error; its timeout is 30 s) fails the run.
//
// Before the server starts, bench/node/next_verify_cost.mjs times the checks alone (outside
// Next.js) on the server's CPU. `--cpu-prof DIR` starts the server under `node --cpu-prof` (for
// profiling, not for the report: the profiler slows every cell).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { KeySet, Sessions, Store, Tokens } from 'polyauth'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const APP = path.resolve(HERE, '..', 'next-app')
const NEXT_BIN = path.join(APP, 'node_modules', 'next', 'dist', 'bin', 'next')
const CELLS = ['open', 'polyauth_bearer', 'polyauth_cookie', 'jose']
// bench/next-app/lib/claims.ts
const ISSUER = 'https://auth.example.com'
const AUDIENCE = 'api'
// createAuth's default access cookie (polyauth/next, README "Next.js"); the check below proves
// the cookie cell authenticates by the cookie (the same request without it is a 401).
const ACCESS_COOKIE = '__Host-Http-polyauth_at'
const BODY = JSON.stringify({ subject: 'user-1', items: [] })

const TCK = Number(process.env.BENCH_CLK_TCK || 100)
// Before each cell, wait (up to QUIET_MAX_WAIT_S) until other processes use less than QUIET_CORES
// of the machine: it is shared, and a process on the server's CPU takes its time from that cell.
const QUIET_CORES = 0.3
const QUIET_MAX_WAIT_S = 15

const log = (msg) => process.stderr.write(`[bench next] ${msg}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Busy seconds of one CPU (`cpuN` of /proc/stat), or of all with `cpu`: user, nice, system and
 * steal (irq and softirq left out: on loopback they are mostly the benchmark's own packets).
 */
function cpuBusyS(cpu) {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`${cpu} `))
    const f = line.split(/\s+/).slice(1, 9).map(Number)
    return (f[0] + f[1] + f[2] + f[7]) / TCK
  } catch {
    return NaN
  }
}

/** CPU seconds (user + system, all threads) of process `pid`. */
function procCpuS(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / TCK
  } catch {
    return NaN
  }
}

/** Waits until the machine is quiet (or QUIET_MAX_WAIT_S passed); returns the last load seen (cores). */
async function quiet(serverPid) {
  const t0 = performance.now()
  for (;;) {
    const before = { t: performance.now(), busy: cpuBusyS('cpu'), server: procCpuS(serverPid) }
    await sleep(500)
    const wall = (performance.now() - before.t) / 1000
    const others = (cpuBusyS('cpu') - before.busy - (procCpuS(serverPid) - before.server)) / wall
    if (!(others > QUIET_CORES) || (performance.now() - t0) / 1000 > QUIET_MAX_WAIT_S) return others
  }
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0
}

function pin(cpu) {
  return cpu === null ? [] : ['taskset', '-c', String(cpu)]
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function requestsFor(t) {
  const bearer = { Authorization: `Bearer ${t.bearer}` }
  return {
    open: ['/api/open', {}],
    polyauth_bearer: ['/api/polyauth', bearer],
    polyauth_cookie: ['/api/polyauth', { Cookie: `${ACCESS_COOKIE}=${t.cookie}` }],
    jose: ['/api/jose', bearer],
  }
}

/** One GET on a fresh connection (no keep-alive socket the server may have closed meanwhile). */
function get(url, headers = {}, timeout = 10_000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode, text }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

/** Every cell answers 200 with the same body; both protected routes refuse a bad or missing token. */
async function check(base, requests, t) {
  for (const [name, [p, headers]] of Object.entries(requests)) {
    const r = await get(base + p, headers)
    if (r.status !== 200 || r.text !== BODY) throw new Error(`${name}: ${r.status} ${r.text}`)
  }
  const tamper = (token) => token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  const refused = [
    ['/api/polyauth', { Authorization: `Bearer ${tamper(t.bearer)}` }],
    ['/api/jose', { Authorization: `Bearer ${tamper(t.bearer)}` }],
    ['/api/polyauth', { Cookie: `${ACCESS_COOKIE}=${tamper(t.cookie)}` }],
    ['/api/polyauth', {}],
    ['/api/jose', {}],
  ]
  for (const [p, headers] of refused) {
    const r = await get(base + p, headers)
    if (r.status !== 401) throw new Error(`${p} ${JSON.stringify(Object.keys(headers))}: ${r.status}, want 401`)
  }
}

function wrk(url, headers, seconds, connections, cpu) {
  const args = [...pin(cpu), 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '--latency']
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
  const r = spawnSync(args[0], [...args.slice(1), url], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`wrk failed (${r.status}):\n${r.stdout}${r.stderr}`)
  const out = r.stdout
  if (out.includes('Non-2xx') || out.includes('Socket errors')) throw new Error(`wrk saw errors:\n${out}`)
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1])
  const ms = (label) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out)
    if (m === null) throw new Error(`no ${label}% latency in:\n${out}`)
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]]
  }
  if (!(rps > 0)) throw new Error(`no Requests/sec in:\n${out}`)
  return { rps, p50_ms: ms('50'), p99_ms: ms('99') }
}

async function up(base) {
  try {
    return (await get(`${base}/api/open`, {}, 1000)).status === 200
  } catch {
    return false
  }
}

function appVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(APP, 'node_modules', name, 'package.json'), 'utf8')).version
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      out: { type: 'string' },
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      'no-pin': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      cells: { type: 'string', default: CELLS.join(',') },
    },
  })
  if (!args.out) throw new Error('bench_next: --out is required')
  if (!which('wrk')) throw new Error('bench_next: wrk is required (Debian/Ubuntu: apt-get install wrk)')
  if (!fs.existsSync(NEXT_BIN)) throw new Error(`bench_next: ${APP} is not installed (bash bench/run_next.sh installs it)`)
  const seconds = Number(args.seconds)
  const rounds = Number(args.rounds)
  const connections = Number(args.connections)
  const cells = args.cells.split(',')
  for (const c of cells) if (!CELLS.includes(c)) throw new Error(`unknown cell ${c}`)
  const pinned = !args['no-pin'] && which('taskset') && os.cpus().length >= 2
  const [serverCpu, clientCpu] = pinned ? [0, 1] : [null, null]
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }

  if (!args['no-build']) {
    log('next build')
    const t0 = performance.now()
    const build = spawnSync(process.execPath, [NEXT_BIN, 'build'], { cwd: APP, env, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`)
    log(`next build took ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }

  // The key set, the bearer token and a session in a SQLite store the server opens too.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'polyauth-bench-next-'))
  const storeUrl = `sqlite://${path.join(work, 'bench.db')}`
  const keys = KeySet.generate('EdDSA')
  const tokens = new Tokens(keys, { issuer: ISSUER, audience: AUDIENCE })
  const store = await Store.open(storeUrl)
  const pair = await new Sessions(store, tokens).start('user-1', { claims: { scope: 'items:read' } })
  const t = { bearer: tokens.issue('user-1', { claims: { scope: 'items:read' }, ttl: 3600 }), cookie: pair.accessToken }

  // The checks alone, outside Next.js, on the server's CPU (before the server starts).
  const verifyInput = path.join(work, 'verify-input.json')
  fs.writeFileSync(
    verifyInput,
    JSON.stringify({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: keys.toJwks(true),
      publicJwk: keys.toJwks().keys[0],
      bearer: t.bearer,
      cookie: t.cookie,
      cookieName: ACCESS_COOKIE,
      store: storeUrl,
    }),
  )
  const costCmd = [...pin(serverCpu), process.execPath, path.join(HERE, 'next_verify_cost.mjs'), APP]
  const cost = spawnSync(costCmd[0], costCmd.slice(1), { env: { ...env, BENCH_VERIFY_INPUT: verifyInput }, encoding: 'utf8' })
  if (cost.status !== 0) throw new Error(`next_verify_cost.mjs failed:\n${cost.stdout}\n${cost.stderr}`)
  const verifyCost = JSON.parse(cost.stdout)
  for (const [name, us] of Object.entries(verifyCost.us)) log(`${name}: ${median(us).toFixed(1)} µs CPU per call`)

  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const nodeFlags = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof'])] : []
  const cmd = [...pin(serverCpu), process.execPath, ...nodeFlags, NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)]
  const server = spawn(cmd[0], cmd.slice(1), {
    cwd: APP,
    env: {
      ...env,
      NODE_ENV: 'production',
      POLYAUTH_JWKS: JSON.stringify(keys.toJwks(true)),
      POLYAUTH_STORE: storeUrl,
      BENCH_PUBLIC_JWK: JSON.stringify(keys.toJwks().keys[0]),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  let exited = false
  server.once('exit', () => {
    exited = true
  })
  const serverCpuName = pinned ? `cpu${serverCpu}` : 'cpu'
  const results = Object.fromEntries(
    cells.map((n) => [n, { rps: [], p50_ms: [], p99_ms: [], server_cores: [], other_cores: [], load_before: [] }]),
  )
  try {
    const deadline = Date.now() + 60_000
    while (!(await up(base))) {
      if (exited || Date.now() > deadline) throw new Error('next start did not start')
      await sleep(100)
    }
    const requests = requestsFor(t)
    await check(base, requests, t)
    log(`next start on ${base} (pid ${server.pid}); pinned: ${pinned}`)
    for (const name of cells) {
      const [p, headers] = requests[name]
      wrk(base + p, headers, Number(args.warmup), connections, clientCpu)
    }
    for (let r = 0; r < rounds; r++) {
      const order = [...cells.slice(r % cells.length), ...cells.slice(0, r % cells.length)]
      for (const name of order) {
        const [p, headers] = requests[name]
        const load = await quiet(server.pid)
        const before = { t: performance.now(), busy: cpuBusyS(serverCpuName), server: procCpuS(server.pid) }
        const m = wrk(base + p, headers, seconds, connections, clientCpu)
        const wall = (performance.now() - before.t) / 1000
        const serverCores = (procCpuS(server.pid) - before.server) / wall
        // What else ran on the server's CPU (other processes: the machine is shared), in cores.
        const others = pinned ? Math.max(0, (cpuBusyS(serverCpuName) - before.busy) / wall - serverCores) : NaN
        Object.assign(m, { server_cores: serverCores, other_cores: others, load_before: load })
        for (const [k, v] of Object.entries(m)) results[name][k].push(v)
        log(
          `round ${r + 1}/${rounds} ${name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50_ms.toFixed(2)} ms, ` +
            `server ${serverCores.toFixed(2)} cores, others on its CPU ${others.toFixed(2)}`,
        )
      }
    }
    await check(base, requests, t) // still 200 everywhere (the tokens did not expire mid-run)
  } finally {
    // SIGINT, which `next start` handles by closing the server and exiting (so --cpu-prof writes
    // its profile).
    if (!exited) {
      server.kill('SIGINT')
      const gone = new Promise((resolve) => server.once('exit', resolve))
      if ((await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)])) === false) server.kill('SIGKILL')
    }
    fs.rmSync(work, { recursive: true, force: true })
  }

  const wrkVersion = spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0].trim()
  const out = {
    node: process.version,
    versions: {
      next: appVersion('next'),
      react: appVersion('react'),
      'react-dom': appVersion('react-dom'),
      jose: appVersion('jose'),
      polyauth: appVersion('polyauth'),
      wrk: wrkVersion,
    },
    cores: os.cpus().length,
    pinned,
    connections,
    seconds,
    quiet: { cores: QUIET_CORES, max_wait_s: QUIET_MAX_WAIT_S },
    warmup: Number(args.warmup),
    rounds,
    cells: results,
    verify_cost: verifyCost,
    medians: Object.fromEntries(cells.map((n) => [n, median(results[n].rps)])),
  }
  fs.writeFileSync(args.out, JSON.stringify(out, null, 2))
  log(`wrote ${args.out}`)
}

await main()
