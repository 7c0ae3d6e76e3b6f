// The `polyauth` command-line tool: every case of vectors/cli.json through `node
// bindings-node/cli.js` and `npx polyauth` (tests-python/test_cli.py runs the same cases through
// `python -m polyauth` and the console script), and the cross-language checks: for deterministic
// inputs the Python tool prints the same bytes and exits alike, and what one tool writes (key
// files, hashes) the other reads. See vectors/generate/cli.py for the placeholders and shapes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

import { KeySet, PasswordHasher, Tokens, runCli } from '../bindings-node/index.mjs'
import {
  REPO_ROOT,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  loadProjectVectors,
  servicesRequired,
  tempDir,
  withNamespace,
} from './helpers.mjs'

const VECTORS = loadProjectVectors('cli.json')
const FX = VECTORS.fixtures
const CLI = join(REPO_ROOT, 'bindings-node', 'cli.js')
const RUNNERS = {
  'node bindings-node/cli.js': [process.execPath, CLI],
  'npx polyauth': ['npx', '--no', '--offline', 'polyauth'],
}
const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python')
const required = servicesRequired() || Boolean(process.env.CI)

function reachable(url, port) {
  const u = new URL(url)
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname || '127.0.0.1', port: Number(u.port || port) })
    s.setTimeout(2000, () => (s.destroy(), resolve(false)))
    s.on('connect', () => (s.end(), resolve(true)))
    s.on('error', () => resolve(false))
  })
}
const SERVERS = {
  postgres: { base: TEST_POSTGRES_URL, up: await reachable(TEST_POSTGRES_URL, 5432) },
  redis: { base: TEST_REDIS_URL, up: await reachable(TEST_REDIS_URL, 6379) },
}

/** Fresh files and store URLs for one case; null when its server is missing (skip). */
function placeholders(needs) {
  const dir = tempDir('polyauth-cli-')
  writeFileSync(join(dir, 'keys.json'), JSON.stringify(FX.private_jwks))
  writeFileSync(join(dir, 'public.json'), JSON.stringify(FX.public_jwks))
  writeFileSync(join(dir, 'bad.json'), '{"keys": [{"kty": "nope"}]}')
  writeFileSync(join(dir, 'not-key.txt'), 'hello\n')
  const values = {
    '{keys}': join(dir, 'keys.json'),
    '{public}': join(dir, 'public.json'),
    '{bad_jwks}': join(dir, 'bad.json'),
    '{not_key}': join(dir, 'not-key.txt'),
    '{missing}': join(dir, 'missing.json'),
    '{dir}': dir,
    '{token}': FX.token,
    '{sqlite}': `sqlite://${join(dir, `store-${randomBytes(4).toString('hex')}.db`)}`,
  }
  if (needs) {
    const server = SERVERS[needs]
    if (!server.up) {
      if (required) throw new Error(`${needs} is required (POLYAUTH_REQUIRE_SERVICES) but unreachable`)
      return null
    }
    values[`{${needs}}`] = withNamespace(server.base)
  }
  return values
}

function subst(value, values) {
  if (typeof value === 'string') {
    for (const [k, v] of Object.entries(values)) value = value.split(k).join(v)
    return value
  }
  if (Array.isArray(value)) return value.map((v) => subst(v, values))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subst(v, values)]))
  return value
}

/** The shape rules of vectors/cli.json. */
function matchShape(actual, shape, where = '$') {
  if (shape === '<any>') return
  if (shape === '<string>') return assert.equal(typeof actual, 'string', where)
  if (shape === '<int>') return assert.ok(Number.isInteger(actual), where)
  if (Array.isArray(shape)) {
    assert.ok(Array.isArray(actual) && actual.length === shape.length, where)
    shape.forEach((s, i) => matchShape(actual[i], s, `${where}[${i}]`))
    return
  }
  if (shape && typeof shape === 'object') {
    assert.ok(actual && typeof actual === 'object' && !Array.isArray(actual), where)
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(shape).sort(), where)
    for (const [k, v] of Object.entries(shape)) matchShape(actual[k], v, `${where}.${k}`)
    return
  }
  assert.deepEqual(actual, shape, where)
}

function run(cmd, argv, stdin) {
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...argv], {
    input: stdin ?? '',
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (r.error) throw r.error
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function runCase(cmd, c, values) {
  for (const before of c.before ?? []) {
    const r = run(cmd, subst(before, values), null)
    assert.equal(r.code, 0, r.stderr)
  }
  return run(cmd, subst(c.argv, values), c.stdin == null ? null : subst(c.stdin, values))
}

function check(c, r, values) {
  assert.equal(r.code, c.exit, `${r.stdout}${r.stderr}`)
  const want = subst(c, values)
  if ('stdout' in want) assert.equal(r.stdout, want.stdout)
  else if ('stdout_regex' in want) assert.match(r.stdout, new RegExp(`^(?:${want.stdout_regex})$`, 's'))
  else if ('stdout_json' in want) matchShape(JSON.parse(r.stdout), want.stdout_json)
  else assert.equal(r.stdout, '')
  if ('stderr' in want) assert.equal(r.stderr, want.stderr)
  else if ('stderr_regex' in want) assert.match(r.stderr, new RegExp(`^(?:${want.stderr_regex})$`, 's'))
  else assert.equal(r.stderr, '')
  if ('file_json' in want) matchShape(JSON.parse(readFileSync(values['{keys}'], 'utf8')), want.file_json)
  assert.doesNotMatch(r.stderr, /panicked|at .*\.js:\d+/)
  assert.ok(!`${r.stdout}${r.stderr}`.includes('hunter2') && !`${r.stdout}${r.stderr}`.includes('s3cret'))
}

for (const [runner, cmd] of Object.entries(RUNNERS)) {
  for (const c of VECTORS.cases) {
    test(`${runner}: ${c.name}`, (t) => {
      const values = placeholders(c.needs)
      if (values === null) return t.skip(`${c.needs} unreachable`)
      check(c, runCase(cmd, c, values), values)
    })
  }
}

// ---- in process ------------------------------------------------------------------------------

test('runCli resolves to the output; stdin is read only when asked for', async () => {
  const sql = await runCli(['store', 'sql', '--from', '3'], () => assert.fail('store sql reads no stdin'))
  assert.equal(sql.code, 0)
  assert.ok(sql.stdout.includes('-- polyauth migration 4\n') && !sql.stdout.includes('-- polyauth migration 3\n'))
  let asked = null
  const hashed = await runCli(['hash', '--json'], async (secret, prompt) => {
    asked = { secret, prompt }
    return Buffer.from('pw pw pw\n')
  })
  assert.deepEqual(asked, { secret: true, prompt: 'Password: ' })
  const phc = JSON.parse(hashed.stdout).hash
  assert.equal(await new PasswordHasher().verify(phc, 'pw pw pw'), true)
  const inspected = await runCli(['token', 'inspect', '-'], `${FX.token}\n`)
  assert.ok(inspected.stdout.startsWith('NOT VERIFIED'))
  const bad = await runCli(['hash'], '')
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /^error: invalid_input: no password on stdin/)
})

// ---- the Python tool alongside -----------------------------------------------------------------

function pythonSkip() {
  let reason
  if (!existsSync(PYTHON)) reason = `${PYTHON} not found (make build-python)`
  else if (spawnSync(PYTHON, ['-c', 'import polyauth'], { timeout: 30_000 }).status !== 0) reason = 'import polyauth failed'
  return reason && !required ? reason : false
}
const PY_SKIP = pythonSkip()
const PY = [PYTHON, '-m', 'polyauth']
const NODE = RUNNERS['node bindings-node/cli.js']

test('a key file from Python, rotated by Node, reads alike in both; a token verifies alike', { skip: PY_SKIP }, async () => {
  const dir = tempDir('polyauth-cli-')
  const f = join(dir, 'keys.json')
  let r = run(PY, ['keys', 'generate', '--alg', 'PS256', '--out', f], null)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(statSync(f).mode & 0o777, 0o600)
  const kid1 = r.stdout.trim()
  r = run(NODE, ['keys', 'rotate', f, '--alg', 'EdDSA', '--json'], null)
  assert.equal(r.code, 0, r.stderr)
  const rotated = JSON.parse(r.stdout)
  assert.equal(rotated.kids[1], kid1)
  assert.equal(statSync(f).mode & 0o777, 0o600)
  const pub = run(NODE, ['keys', 'public', f], null).stdout
  assert.equal(run(PY, ['keys', 'public', f], null).stdout, pub)
  assert.deepEqual(JSON.parse(pub).keys.map((k) => k.kid), rotated.kids)
  assert.ok(!pub.includes('"d"'))

  const keys = KeySet.fromJwks(readFileSync(f, 'utf8'))
  const token = new Tokens(keys, { issuer: 'https://cross.example', audience: 'api' }).issue('u-2', { claims: { scope: 'x' } })
  for (const argv of [
    ['token', 'verify', token, '--jwks', f, '--iss', 'https://cross.example', '--aud', 'api', '--json'],
    ['token', 'verify', token, '--jwks', f, '--iss', 'https://cross.example', '--aud', 'web'],
    ['token', 'inspect', token],
  ]) {
    const a = run(NODE, argv, null)
    assert.deepEqual(run(PY, argv, null), a)
  }
})

test('a hash printed by the Python tool verifies in Node', { skip: PY_SKIP }, async () => {
  const r = run(PY, ['hash'], 'tr\u00e8s s\u00e9cret passphrase\n')
  assert.equal(r.code, 0, r.stderr)
  assert.equal(await new PasswordHasher().verify(r.stdout.trim(), 'tr\u00e8s s\u00e9cret passphrase'), true)
})

test('deterministic commands print the same bytes in Python and Node', { skip: PY_SKIP }, () => {
  const deterministic = VECTORS.cases.filter(
    (c) => !c.needs && !(c.exit === 0 && ('stdout_regex' in c || 'stdout_json' in c)),
  )
  assert.ok(deterministic.length > 30)
  for (const c of deterministic) {
    const js = runCase(NODE, c, placeholders(null))
    const py = runCase(PY, c, placeholders(null))
    assert.deepEqual(js, py, c.name)
  }
})

/** Runs a command without blocking the event loop (the JWKS server below lives in this process). */
function runAsync(cmd, argv, stdin) {
  return new Promise((resolve) => {
    const child = execFile(cmd[0], [...cmd.slice(1), ...argv], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    )
    child.stdin.end(stdin ?? '')
  })
}

test('token verify --jwks URL fetches through RemoteKeySet; a 404 is jwks_unavailable', async () => {
  const body = JSON.stringify(FX.public_jwks)
  const server = createServer((req, res) => {
    if (req.url === '/jwks') res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    else res.writeHead(404).end()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    const argv = ['token', 'verify', '-', '--iss', 'https://issuer.example', '--aud', 'api', '--now', String(FX.iat + 60), '--allow-http']
    const ok = await runAsync(NODE, [...argv, '--jwks', `${base}/jwks`], FX.token)
    assert.equal(ok.code, 0, ok.stderr)
    assert.ok(ok.stdout.startsWith('VERIFIED'))
    const missing = await runAsync(NODE, [...argv, '--jwks', `${base}/nope`], FX.token)
    assert.deepEqual(missing, { code: 3, stdout: '', stderr: 'error: jwks_unavailable: remote key set unavailable: HTTP 404\n' })
    if (!PY_SKIP) assert.deepEqual(await runAsync(PY, [...argv, '--jwks', `${base}/jwks`], FX.token), ok)
  } finally {
    server.close()
  }
})
