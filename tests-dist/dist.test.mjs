// What people install, tried where they install it: the artefacts of `make dist` (the abi3 wheel,
// the npm tarballs) go into fresh projects outside the checkout, and the README's quickstarts run
// there; a fresh Next.js app imports polyauth/next with withPolyauth and no serverExternalPackages
// of its own, builds, starts and signs a user in. Run by `make test-dist` (after `make dist`).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const ROOT = resolve(import.meta.dirname, '..')
const DIST = process.env.POLYAUTH_DIST ?? join(ROOT, 'dist')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const JWKS = JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'vectors', 'tokens.json'), 'utf8')).keys.EdDSA)
const NEXT_VERSION = JSON.parse(readFileSync(join(ROOT, 'examples', 'next', 'package.json'), 'utf8')).dependencies.next
const REACT_VERSION = JSON.parse(readFileSync(join(ROOT, 'examples', 'next', 'package.json'), 'utf8')).dependencies.react
const work = mkdtempSync(join(tmpdir(), 'polyauth-dist-'))

const artefact = (re) => {
  const found = readdirSync(DIST).filter((f) => re.test(f))
  assert.equal(found.length, 1, `exactly one ${re} in ${DIST} (run make dist): ${found}`)
  return join(DIST, found[0])
}
const blocks = (lang) => [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1])

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...options })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

after(() => rmSync(work, { recursive: true, force: true }))

describe('the Python wheel', () => {
  const venv = join(work, 'venv')
  const python = join(venv, 'bin', 'python')

  before(() => {
    run('python3', ['-m', 'venv', venv])
    // httpx: the FastAPI quickstart drives the app with httpx's ASGI transport.
    run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `${artefact(/^polyauth-.*-abi3-.*\.whl$/)}[fastapi]`, 'httpx'])
  })

  test('is an abi3 wheel for CPython >= 3.9 with a manylinux tag, beside an sdist', () => {
    const wheel = artefact(/^polyauth-.*\.whl$/)
    assert.match(wheel, /-cp39-abi3-manylinux_\d+_\d+_x86_64/)
    artefact(/^polyauth-.*\.tar\.gz$/)
  })

  test('installs into a fresh venv, imported from site-packages, typed', () => {
    const where = run(python, ['-c', 'import polyauth, polyauth.fastapi, os; print(polyauth.__file__); print(os.path.exists(os.path.join(os.path.dirname(polyauth.__file__), "py.typed")))'], { cwd: work })
    const [file, typed] = where.trim().split('\n')
    assert.ok(file.startsWith(venv) && file.includes('site-packages'), file)
    assert.equal(typed, 'True')
  })

  const python_blocks = blocks('python')
  test('the README has Python quickstarts', () => assert.ok(python_blocks.length >= 5))
  python_blocks.forEach((code, i) => {
    test(`README python block ${i} runs against the wheel`, () => {
      const dir = mkdtempSync(join(work, 'py-'))
      run(python, ['-c', code], { cwd: dir, env: { ...process.env, POLYAUTH_JWKS: JWKS } })
    })
  })
})

describe('the npm tarballs', () => {
  const app = join(work, 'node-app')

  before(() => {
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, version: '1.0.0' }))
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', artefact(/^polyauth-linux-x64-gnu-.*\.tgz$/), artefact(/^polyauth-\d.*\.tgz$/)], { cwd: app })
  })

  test('the main package carries no binary; the platform package carries it', () => {
    const listing = (tgz) => run('tar', ['-tzf', tgz])
    assert.doesNotMatch(listing(artefact(/^polyauth-\d.*\.tgz$/)), /\.node$/m)
    assert.match(listing(artefact(/^polyauth-linux-x64-gnu-.*\.tgz$/)), /^package\/polyauth\.linux-x64-gnu\.node$/m)
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'polyauth', 'package.json'), 'utf8'))
    assert.deepEqual(Object.keys(installed.optionalDependencies), ['polyauth-linux-x64-gnu'])
  })

  const js = blocks('js')
  test('the README has Node quickstarts', () => assert.ok(js.length >= 4))
  js.forEach((code, i) => {
    test(`README js block ${i} runs as ESM against the tarballs`, () => {
      const file = join(app, `block${i}.mjs`)
      writeFileSync(file, code)
      run(process.execPath, [file], { cwd: app, env: { ...process.env, POLYAUTH_JWKS: JWKS } })
    })
  })

  test('CommonJS consumers load the same package (and its subpaths)', () => {
    const file = join(app, 'check.cjs')
    writeFileSync(
      file,
      `const assert = require('node:assert/strict')
const { PasswordHasher, KeySet, Tokens } = require('polyauth')
const { createAuth } = require('polyauth/next')
const { withPolyauth } = require('polyauth/next/config')
const { createAuthFetch } = require('polyauth/next/client')
assert.match(require.resolve('polyauth'), /node_modules\\/polyauth\\//)
async function main() {
  const h = new PasswordHasher()
  assert.ok(await h.verify(await h.hash('correct-horse-battery-staple-9'), 'correct-horse-battery-staple-9'))
  const tokens = new Tokens(KeySet.generate(), { issuer: 'https://a.example', audience: 'api' })
  assert.equal(tokens.verify(tokens.issue('u1')).sub, 'u1')
  assert.equal(typeof createAuth, 'function')
  assert.deepEqual(withPolyauth({}).serverExternalPackages, ['polyauth'])
  assert.equal(typeof createAuthFetch, 'function')
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
`,
    )
    run(process.execPath, [file], { cwd: app })
  })
})

describe('a fresh Next.js app with the tarballs', () => {
  const app = join(work, 'next-app')
  let server
  let output = ''

  before(() => {
    cpSync(join(ROOT, 'tests-dist', 'next-app'), app, { recursive: true })
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'fresh-next-app', private: true, version: '1.0.0', dependencies: { next: NEXT_VERSION, react: REACT_VERSION, 'react-dom': REACT_VERSION } }),
    )
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', artefact(/^polyauth-linux-x64-gnu-.*\.tgz$/), artefact(/^polyauth-\d.*\.tgz$/)], { cwd: app })
  })

  after(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await sleep(300)
      if (server.exitCode === null) server.kill('SIGKILL')
    }
  })

  test('next build, next start, register and sign in', async () => {
    const config = readFileSync(join(app, 'next.config.mjs'), 'utf8')
    assert.doesNotMatch(config, /serverExternalPackages/, 'the user does not list polyauth themselves')
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }
    run(process.execPath, [join(app, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], { cwd: app, env })
    const port = await new Promise((res, rej) => {
      const s = createServer()
      s.once('error', rej)
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address()
        s.close(() => res(port))
      })
    })
    server = spawn(process.execPath, [join(app, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: app,
      env: { ...env, POLYAUTH_JWKS: JWKS, POLYAUTH_STORE: `sqlite://${join(app, 'auth.db')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout.on('data', (d) => (output += d))
    server.stderr.on('data', (d) => (output += d))
    const base = `http://127.0.0.1:${port}`
    const post = (path, body) => fetch(`${base}/api/auth/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const user = { login: 'dist@example.com', password: 'pebble-summit-violet-anchor-41' }
    const deadline = Date.now() + 60_000
    let registered
    for (;;) {
      assert.equal(server.exitCode, null, `next start exited:\n${output}`)
      try {
        registered = await post('register', user)
        break
      } catch {
        assert.ok(Date.now() < deadline, `next start did not answer:\n${output}`)
        await sleep(200)
      }
    }
    assert.equal(registered.status, 201, await registered.clone().text())
    const login = await post('login', user)
    assert.equal(login.status, 200, `${await login.clone().text()}\n${output}`)
    assert.equal(login.headers.getSetCookie().length, 2)
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const me = await fetch(`${base}/api/me`, { headers: { cookie } })
    assert.equal(me.status, 200)
    assert.equal((await me.json()).subject, (await registered.json()).subject)
  })
})
