// Shared helpers for the node:test suites: where the test vectors live and how to load them.
//
// - Project vectors (`vectors/` in the repository) are part of the project: always required.
// - Shared vectors (`../shared/vectors/` relative to the repository root) live outside the project.
//   When they are absent the tests that need them are skipped, unless CI or
//   POLYAUTH_REQUIRE_VECTORS is set, in which case those tests fail (DESIGN.md §8).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const PROJECT_VECTORS = join(REPO_ROOT, 'vectors')
export const SHARED_VECTORS = resolve(REPO_ROOT, '..', 'shared', 'vectors')

function truthyEnv(name) {
  const v = process.env[name]
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
}

/** True when missing shared vectors must fail instead of skip. */
export function vectorsRequired() {
  return truthyEnv('CI') || truthyEnv('POLYAUTH_REQUIRE_VECTORS')
}

/** True when cases marked `"slow": true` should be skipped (POLYAUTH_SKIP_SLOW=1). */
export const SKIP_SLOW = truthyEnv('POLYAUTH_SKIP_SLOW')

/** Loads a project vector file (relative to `vectors/`); throws if it is missing. */
export function loadProjectVectors(rel) {
  return JSON.parse(readFileSync(join(PROJECT_VECTORS, rel), 'utf8'))
}

/**
 * Loads a shared vector file (relative to `../shared/vectors/`).
 * Returns `{ data, path, skip }`: pass `skip` as the node:test `skip` option, and call
 * `requireShared(v)` at the start of the test body to get `data` (fails when required but missing).
 */
export function loadSharedVectors(rel) {
  const path = join(SHARED_VECTORS, rel)
  if (existsSync(path)) return { data: JSON.parse(readFileSync(path, 'utf8')), path, skip: false }
  if (vectorsRequired()) return { data: null, path, skip: false }
  return { data: null, path, skip: `shared vectors not found at ${path} (set CI or POLYAUTH_REQUIRE_VECTORS to fail instead)` }
}

/** The data of a `loadSharedVectors` result; fails the test when the file is missing. */
export function requireShared(v) {
  assert.ok(v.data, `shared vectors missing at ${v.path} (required: CI or POLYAUTH_REQUIRE_VECTORS is set)`)
  return v.data
}

/** Builds the hash of an `invalid[]` case: its `hash`, or the string described by `generate`. */
export function invalidCaseHash(c) {
  if (typeof c.hash === 'string') return c.hash
  const g = c.generate
  assert.ok(g, `invalid case ${c.id} has neither hash nor generate`)
  const n = g.length - g.prefix.length - g.suffix.length
  assert.ok(n >= 0, `invalid case ${c.id}: length shorter than prefix + suffix`)
  // Literally prefix + repeat * n + suffix, as the vector file describes it.
  const s = g.prefix + g.repeat.repeat(n) + g.suffix
  if (g.repeat.length === 1) assert.equal(s.length, g.length)
  return s
}

/**
 * Asserts that `fn` (sync or async) throws/rejects a PolyauthError with `code`, using the given
 * PolyauthError class; returns the error.
 */
export async function expectCode(PolyauthError, fn, code, message) {
  let err
  try {
    await fn()
  } catch (e) {
    err = e
  }
  assert.ok(err !== undefined, `${message ?? 'call'}: expected PolyauthError ${code}, but it did not throw`)
  assert.ok(err instanceof PolyauthError, `${message ?? 'call'}: expected PolyauthError ${code}, got ${err?.constructor?.name}: ${err?.message}`)
  assert.equal(err.code, code, `${message ?? 'call'}: wrong code (message: ${err.message})`)
  return err
}

/** base64url (no padding) of a string, Buffer or JSON-serialisable value (objects are JSON-encoded). */
export function b64url(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64url')
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64url')
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/** Decodes a compact JWS without verifying it: `{ header, payload }` (payload parsed as JSON when possible). */
export function decodeJwt(token) {
  const [h, p] = token.split('.')
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'))
  const text = Buffer.from(p, 'base64url').toString('utf8')
  let payload
  try {
    payload = JSON.parse(text)
  } catch {
    payload = text
  }
  return { header, payload }
}

// ---------------------------------------------------------------------------------------------
// Stores (DESIGN.md §8): the same scenarios over every backend. Servers come from
// POLYAUTH_TEST_POSTGRES_URL / POLYAUTH_TEST_REDIS_URL (defaults: 127.0.0.1); with
// POLYAUTH_REQUIRE_SERVICES=1 (CI) a missing server fails instead of skipping.
// POLYAUTH_TEST_BACKENDS=memory,sqlite narrows a local run.

/** True when a missing PostgreSQL/Redis server must fail the tests instead of skipping them. */
export function servicesRequired() {
  return truthyEnv('POLYAUTH_REQUIRE_SERVICES')
}

export const TEST_POSTGRES_URL = process.env.POLYAUTH_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
export const TEST_REDIS_URL = process.env.POLYAUTH_TEST_REDIS_URL || 'redis://127.0.0.1:6379'

const namespaces = new Set()
/** A fresh `polyauth_namespace` value (`[a-z0-9_]{1,40}`), dropped when the process exits. */
export function randomNamespace() {
  const ns = `t${randomBytes(8).toString('hex')}`
  if (namespaces.size === 0) process.on('exit', () => dropNamespaces([...namespaces]))
  namespaces.add(ns)
  return ns
}

/**
 * Removes what the suite created on the shared servers, by name: the PostgreSQL schemas
 * (`psql`, one statement per schema) and the Redis keys under `polyauth:{ns}:` (`redis-cli`).
 * Best effort: a missing client or server leaves them, as it would have before.
 */
export function dropNamespaces(names) {
  if (names.length === 0) return
  const sql = names.map((n) => `DROP SCHEMA IF EXISTS "${n}" CASCADE;`).join('\n')
  spawnSync('psql', [TEST_POSTGRES_URL, '-q', '-v', 'ON_ERROR_STOP=0', '-f', '-'], { input: sql, stdio: ['pipe', 'ignore', 'ignore'], timeout: 60_000 })
  const redis = new URL(TEST_REDIS_URL)
  const cli = ['-h', redis.hostname || '127.0.0.1', '-p', redis.port || '6379']
  const wanted = new Set(names)
  const scan = spawnSync('redis-cli', [...cli, '--scan', '--pattern', 'polyauth:{t*'], { encoding: 'utf8', timeout: 60_000 })
  if (scan.status !== 0 || !scan.stdout) return
  const keys = scan.stdout.split('\n').filter((k) => wanted.has(k.slice('polyauth:{'.length, k.indexOf('}'))))
  for (let i = 0; i < keys.length; i += 500) {
    spawnSync('redis-cli', [...cli, 'DEL', ...keys.slice(i, i + 500)], { stdio: 'ignore', timeout: 60_000 })
  }
}

/** `url` with a `polyauth_namespace` query parameter (a fresh random one unless given). */
export function withNamespace(url, namespace = randomNamespace()) {
  return `${url}${url.includes('?') ? '&' : '?'}polyauth_namespace=${namespace}`
}

const tempDirs = []
/** A temporary directory removed when the process exits. */
export function tempDir(prefix = 'polyauth-node-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (tempDirs.length === 0) {
    process.on('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
    })
  }
  tempDirs.push(dir)
  return dir
}

/** `sqlite://` URL of a new database file in a fresh temporary directory. */
export function tempSqliteUrl(name = 'store.db') {
  return `sqlite://${join(tempDir(), name)}`
}

function backendWanted(name) {
  const v = process.env.POLYAUTH_TEST_BACKENDS
  return v === undefined || v === '' || v.split(',').some((b) => b.trim() === name)
}

/**
 * The store backends to run store scenarios on: `[{ name, skip, url() }]` for memory, sqlite,
 * postgres and redis. `url()` returns a fresh isolated URL every call (a new random
 * `polyauth_namespace`; SQLite: a new temporary file). Servers are probed once with `Store.open`
 * (pass the `Store` class); an unreachable server gives a `skip` reason, or, with
 * POLYAUTH_REQUIRE_SERVICES=1, `skip: false` so the tests fail when they open it.
 */
export async function storeBackends(Store) {
  const out = [
    { name: 'memory', skip: false, url: () => withNamespace('memory://') },
    { name: 'sqlite', skip: false, url: () => withNamespace(tempSqliteUrl()) },
  ].filter((b) => backendWanted(b.name))
  const servers = [
    { name: 'postgres', base: TEST_POSTGRES_URL, variable: 'POLYAUTH_TEST_POSTGRES_URL' },
    { name: 'redis', base: TEST_REDIS_URL, variable: 'POLYAUTH_TEST_REDIS_URL' },
  ].filter((b) => backendWanted(b.name))
  const probed = await Promise.all(
    servers.map(async ({ name, base, variable }) => {
      let skip = false
      try {
        await Store.open(withNamespace(base))
      } catch (e) {
        skip = servicesRequired() ? false : `${name} unreachable at ${variable} (${e?.code ?? ''} ${e?.message}); set POLYAUTH_REQUIRE_SERVICES=1 to fail instead`
      }
      return { name, skip, url: () => withNamespace(base) }
    }),
  )
  return [...out, ...probed]
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The redis-server binary for tests that stop a private server, or undefined. */
export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p))

function redisPing(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => c.write('PING\r\n'))
    c.once('data', (d) => {
      c.destroy()
      resolve(d.toString().startsWith('+PONG'))
    })
    c.once('error', () => resolve(false))
  })
}

/**
 * A private redis-server (never the shared one) on a free port, for tests that stop it mid-way:
 * resolves to `{ url, stop(), close() }`; `stop()` ends it gracefully (an outage), `close()` also
 * removes its directory and is safe to call twice.
 */
export async function privateRedis() {
  assert.ok(REDIS_SERVER, 'redis-server is required (CI / POLYAUTH_REQUIRE_SERVICES)')
  const dir = mkdtempSync(join(tmpdir(), 'polyauth-redis-'))
  const port = await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address()
      s.close(() => resolve(p))
    })
  })
  const redis = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  const running = () => redis.exitCode === null && redis.signalCode === null
  const close = () => {
    if (running()) redis.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 20_000
  while (!(await redisPing(port))) {
    if (Date.now() > deadline || !running()) {
      close()
      assert.fail('redis-server did not start')
    }
    await sleep(50)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (!running()) return
      const exited = new Promise((resolve) => redis.once('exit', resolve))
      redis.kill('SIGTERM')
      await exited
    },
    close,
  }
}
