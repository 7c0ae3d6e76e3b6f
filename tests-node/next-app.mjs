// The Next.js example (examples/next) for the test files that run it: next-http.test.mjs (over
// fetch) and next-browser.test.mjs (Chromium through playwright-core). Not a test file itself.
//
// - `buildExample()` runs `next build` at most once per `node --test` run, whatever the number of
//   files and their concurrency: under a lock directory, and only when the stamp `.next` carries
//   (a hash of the app's sources and of the polyauth copy in its node_modules) differs, so a second
//   file, or a later run with the same sources, reuses `.next`.
// - `startApp({ env })` starts `next start` on 127.0.0.1 and a free port with a fresh SQLite store
//   in a temporary directory and the keys, issuer and MFA key the tests use; `stop()` ends it and
//   removes the directory.
// - `launchBrowser()`, `newContext()`, `signInWithForm()` drive Debian's chromium (never a
//   downloaded browser); `browserSkip` says why the browser tests cannot run (null when they can).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Accounts, KeySet, Mfa, PasswordHasher, Sessions, Store, Tokens } from 'polyauth'
import { REPO_ROOT, loadProjectVectors } from './helpers.mjs'

export const EXAMPLE = join(REPO_ROOT, 'examples', 'next')
export const NEXT_BIN = join(EXAMPLE, 'node_modules', 'next', 'dist', 'bin', 'next')
export const LINKED = join(EXAMPLE, 'node_modules', 'polyauth', 'bindings-node')
export const JWKS = loadProjectVectors('tokens.json').keys.EdDSA
export const ISSUER = 'https://app.example.com'
/** The MFA key of every app started here (so a test can enroll users on the store directly). */
export const MFA_KEY = Mfa.generateKey()
export const CHROMIUM = '/usr/bin/chromium'

function truthy(name) {
  const v = process.env[name]
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
}

/** CI or POLYAUTH_REQUIRE_SERVICES: what would be skipped must fail instead. */
export const required = truthy('CI') || truthy('POLYAUTH_REQUIRE_SERVICES')
export const installed = existsSync(NEXT_BIN) && existsSync(join(LINKED, 'dist', 'next', 'index.js'))
/** The `skip` option of the suites that run the app. */
export const appSkip = installed || required ? false : 'examples/next is not installed (make test-node installs it)'
/** The `skip` option of the browser suites: chromium may be absent only outside CI. */
export const browserSkip = appSkip || (existsSync(CHROMIUM) || truthy('CI') ? false : `${CHROMIUM} is not installed (Debian: apt-get install chromium); CI=true makes this a failure`)

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Fails when the example's copy of polyauth (install-links) is not this build's. */
export function assertFreshCopy() {
  assert.ok(installed, 'examples/next is not installed: run `make test-node` (npm install in examples/next)')
  for (const rel of ['dist/next/index.js', 'dist/next/http.js', 'dist/index.js', 'polyauth.linux-x64-gnu.node']) {
    const mine = join(REPO_ROOT, 'bindings-node', rel)
    if (!existsSync(mine)) continue
    assert.ok(
      readFileSync(mine).equals(readFileSync(join(LINKED, rel))),
      `examples/next/node_modules/polyauth/bindings-node/${rel} is stale: run \`make test-node\` (npm install in examples/next)`,
    )
  }
}

function filesUnder(dir, skip = () => false) {
  const out = []
  if (!existsSync(dir)) return out
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip(entry.name)) continue
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(full, skip))
    else if (entry.isFile()) out.push(full)
  }
  return out
}

/** What is not the app's source: dependencies, build outputs (`.next`, next-builds' `.next-*`), generated files, local databases. */
const notSource = (name) =>
  name === 'node_modules' || name.startsWith('.next') || name === 'next-env.d.ts' || name.endsWith('.tsbuildinfo') || /\.db(-.*)?$/.test(name)

/** A hash of everything `next build` reads that the tests may change: the app and the polyauth copy. */
function sourcesHash() {
  const files = [
    ...filesUnder(EXAMPLE, notSource),
    ...filesUnder(join(LINKED, 'dist')),
    join(EXAMPLE, 'node_modules', 'next', 'package.json'),
  ].sort()
  const hash = createHash('sha256')
  for (const f of files) hash.update(relative(REPO_ROOT, f)).update('\0').update(readFileSync(f)).update('\0')
  return hash.digest('hex')
}

const STAMP = join(EXAMPLE, '.next', 'polyauth-test-stamp')
const LOCK = join(EXAMPLE, '.next-build.lock')

/** Runs `next build` unless `.next` was built from the same sources; one build at a time across test files. */
export async function buildExample() {
  const deadline = Date.now() + 300_000
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch (e) {
      if (e.code !== 'EEXIST') throw e
      // A lock left by a killed run: older than any build.
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs > 240_000) rmSync(LOCK, { recursive: true, force: true })
      assert.ok(Date.now() < deadline, 'another test file held the examples/next build lock for 5 minutes')
      await sleep(250)
    }
  }
  try {
    const want = sourcesHash()
    if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === want) return { built: false }
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }
    const build = spawnSync(process.execPath, [NEXT_BIN, 'build'], { cwd: EXAMPLE, env, encoding: 'utf8', timeout: 200_000 })
    assert.equal(build.status, 0, `next build failed:\n${build.stdout}\n${build.stderr}`)
    writeFileSync(STAMP, want)
    return { built: true }
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/**
 * Starts the built example with a fresh SQLite store (`storeUrl`, in `dir`) and the tests' keys,
 * issuer and MFA key; `env` adds or overrides variables (`POLYAUTH_SESSION_CHECK`, ...). Resolves
 * to `{ port, base, storeUrl, dir, output(), stop() }`; `base` is `http://127.0.0.1:<port>` (a
 * browser test may use `http://localhost:<port>`: the same server).
 */
export async function startApp({ env = {}, setup } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'polyauth-next-'))
  const storeUrl = `sqlite://${join(dir, 'app.db')}`
  let server
  let output = ''
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    if (setup) await setup(storeUrl)
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    server = spawn(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: EXAMPLE,
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: '1',
        POLYAUTH_STORE: storeUrl,
        POLYAUTH_JWKS: JSON.stringify(JWKS),
        POLYAUTH_ISSUER: ISSUER,
        POLYAUTH_LEEWAY: '0',
        POLYAUTH_MFA_KEY: MFA_KEY,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout.on('data', (d) => (output += d))
    server.stderr.on('data', (d) => (output += d))
    const deadline = Date.now() + 60_000
    for (;;) {
      assert.equal(server.exitCode, null, `next start exited:\n${output}`)
      try {
        if ((await fetch(`${base}/api/public`)).status === 200) break
      } catch {
        // not listening yet
      }
      assert.ok(Date.now() < deadline, `next start did not answer within 60 s:\n${output}`)
      await sleep(200)
    }
    return { port, base, storeUrl, dir, output: () => output, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

/** Chromium from Debian (never a downloaded browser), headless. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core')
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
}

/** A fresh browser context (its own cookie jar) whose pages resolve relative URLs against `baseURL`. */
export function newContext(browser, baseURL) {
  return browser.newContext({ baseURL })
}

/** The first of `waits` to resolve (the label it resolves to); the others' later failures are ignored. */
function first(waits) {
  for (const w of waits) w.catch(() => {})
  return Promise.any(waits)
}

/**
 * Signs in through the example's form (`/sign-in?next=...`): the password step, then, with
 * `code` (a string, or a function computing one when the MFA step shows), the second factor.
 * Resolves once the page has left /sign-in, or with the error code the form shows.
 */
export async function signInWithForm(page, { login, password, code, next = '/dashboard' }) {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`)
  await page.fill('#login', login)
  await page.fill('#password', password)
  await page.click('#sign-in button[type=submit]')
  const outcome = await first([
    page.waitForURL((url) => !url.pathname.startsWith('/sign-in')).then(() => 'left'),
    page.waitForSelector('#code').then(() => 'mfa'),
    page.waitForSelector('#error').then(() => 'error'),
  ])
  if (outcome === 'error') return { error: await page.getAttribute('#error', 'data-code') }
  if (outcome === 'mfa') {
    assert.ok(code !== undefined, 'the account asks for a second factor: pass code')
    return submitMfaCode(page, typeof code === 'function' ? code() : code)
  }
  return { error: null }
}

/** Types `code` into the MFA step of the sign-in form; resolves like {@link signInWithForm}. */
export async function submitMfaCode(page, code) {
  // A refused code comes back with the error and a fresh mfa_token: wait for either that or leaving.
  const token = page.locator('#sign-in input[name=mfa_token]')
  const before = await token.getAttribute('value')
  await page.fill('#code', code)
  await page.click('#sign-in button[type=submit]')
  const outcome = await first([
    page.waitForURL((url) => !url.pathname.startsWith('/sign-in')).then(() => 'left'),
    page
      .waitForFunction((prev) => {
        const input = document.querySelector('#sign-in input[name=mfa_token]')
        return document.querySelector('#error') !== null && (input === null || input.getAttribute('value') !== prev)
      }, before)
      .then(() => 'error'),
  ])
  if (outcome === 'error') return { error: await page.getAttribute('#error', 'data-code') }
  return { error: null }
}

/**
 * The built example (built here if needed) started with `env`, an account per entry of `users`
 * (name → login, one `password`) on its store, and Chromium. Resolves to `{ app, base, output(),
 * browser, sessions, subjects, context(), close() }`: `base` is `http://localhost:<port>` (a secure context
 * for the `__Host-` cookies), `subjects` maps each name to its account's subject, `sessions` reads
 * the app's store, `context()` opens a cookie jar that `close()` closes with everything else.
 */
export async function startBrowserApp({ env = {}, users, password }) {
  assertFreshCopy()
  await buildExample()
  const subjects = {}
  let sessions
  const app = await startApp({
    env,
    setup: async (storeUrl) => {
      const store = await Store.open(storeUrl)
      const accounts = new Accounts(store, new PasswordHasher())
      for (const [name, login] of Object.entries(users)) subjects[name] = (await accounts.create(login, password)).subject
      sessions = new Sessions(store, new Tokens(KeySet.fromJwks(JWKS), { issuer: ISSUER, audience: 'api' }))
    },
  })
  const base = `http://localhost:${app.port}`
  let browser
  try {
    browser = await launchBrowser()
  } catch (e) {
    await app.stop()
    throw e
  }
  const contexts = []
  return {
    app,
    base,
    output: app.output,
    browser,
    sessions,
    subjects,
    async context() {
      const c = await newContext(browser, base)
      contexts.push(c)
      return c
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close()
      await app.stop()
    },
  }
}
