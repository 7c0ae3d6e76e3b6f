// withPolyauth under the other ways people build a Next.js app: webpack (`next build --webpack`;
// the default Turbopack build is the one next-http.test.mjs runs) and `output: 'standalone'`, whose
// server.js must start and sign a user in with the native addon traced into the output. Each build
// goes to its own distDir (examples/next/next.config.mjs reads NEXT_DIST_DIR / NEXT_OUTPUT). The
// webpack build runs on PostgreSQL (a schema of its own, dropped at exit), the others on SQLite.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { REPO_ROOT, TEST_POSTGRES_URL, loadProjectVectors, withNamespace } from './helpers.mjs'
import { freePort } from './next-app.mjs'

const EXAMPLE = join(REPO_ROOT, 'examples', 'next')
const NEXT_BIN = join(EXAMPLE, 'node_modules', 'next', 'dist', 'bin', 'next')
const JWKS = loadProjectVectors('tokens.json').keys.EdDSA
const USER = { login: 'builds@example.com', password: 'harbor-quill-meadow-copper-27' }
const required = ['CI', 'POLYAUTH_REQUIRE_SERVICES'].some((n) => {
  const v = process.env[n]
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
})
const skip = existsSync(NEXT_BIN) || required ? false : 'examples/next is not installed (make test-node installs it)'

function build(distDir, extraEnv, args = []) {
  rmSync(join(EXAMPLE, distDir), { recursive: true, force: true })
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_DIST_DIR: distDir, ...extraEnv }
  const r = spawnSync(process.execPath, [NEXT_BIN, 'build', ...args], { cwd: EXAMPLE, env, encoding: 'utf8', timeout: 240_000 })
  assert.equal(r.status, 0, `next build ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** Starts `argv` (a Next.js server) on a free port and waits until it answers; returns its base URL. */
async function start(argv, cwd, env, servers) {
  const port = await freePort()
  let output = ''
  const server = spawn(process.execPath, argv(port), {
    cwd,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', PORT: String(port), HOSTNAME: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout.on('data', (d) => (output += d))
  server.stderr.on('data', (d) => (output += d))
  servers.push(server)
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    assert.equal(server.exitCode, null, `the server exited:\n${output}`)
    try {
      if ((await fetch(`${base}/api/public`)).status === 200) return base
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline, `the server did not answer within 60 s:\n${output}`)
    await sleep(200)
  }
}

/** Registers and signs in over the route handlers, then renders the dashboard with the cookies. */
async function signsIn(base) {
  const post = (path, body) =>
    fetch(`${base}/api/auth/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal((await post('register', USER)).status, 201)
  const login = await post('login', USER)
  assert.equal(login.status, 200, await login.clone().text())
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  assert.match(cookie, /__Host-Http-polyauth_at=.+; __Host-Http-polyauth_rt=.+/)
  const dashboard = await fetch(`${base}/dashboard`, { headers: { cookie }, redirect: 'manual' })
  assert.equal(dashboard.status, 200)
  assert.match(await dashboard.text(), /<span id="subject">[^<]+<\/span>/)
}

describe('withPolyauth: webpack and standalone builds', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'polyauth-next-builds-'))
  const servers = []
  const appEnv = (name) => ({ POLYAUTH_STORE: `sqlite://${join(dir, `${name}.db`)}`, POLYAUTH_JWKS: JSON.stringify(JWKS) })

  after(async () => {
    for (const s of servers) if (s.exitCode === null) s.kill('SIGTERM')
    await sleep(300)
    for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL')
    for (const d of ['.next-webpack', '.next-standalone']) rmSync(join(EXAMPLE, d), { recursive: true, force: true })
    rmSync(dir, { recursive: true, force: true })
  })

  test('next build --webpack: builds, starts on PostgreSQL and signs a user in', async () => {
    const out = build('.next-webpack', {}, ['--webpack'])
    assert.match(out, /Proxy/, 'proxy.ts is part of the build')
    const base = await start((port) => [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], EXAMPLE, {
      ...appEnv('webpack'),
      POLYAUTH_STORE: withNamespace(TEST_POSTGRES_URL),
      NEXT_DIST_DIR: '.next-webpack',
    }, servers)
    await signsIn(base)
  })

  test("output: 'standalone': the native addon is traced, server.js starts and signs a user in", async () => {
    build('.next-standalone', { NEXT_OUTPUT: 'standalone' })
    // The tracing root is the repository (the package comes from it), so the app sits at examples/next inside.
    const appDir = join(EXAMPLE, '.next-standalone', 'standalone', 'examples', 'next')
    assert.ok(existsSync(join(appDir, 'server.js')), 'standalone server.js')
    const addonDir = join(appDir, 'node_modules', 'polyauth', 'bindings-node')
    assert.ok(readdirSync(addonDir).some((f) => f.endsWith('.node')), 'the .node file is traced into the output')
    const base = await start(() => ['server.js'], appDir, appEnv('standalone'), servers)
    await signsIn(base)
  })
})
