// `action()` (guarded Server Actions) and `polyauth/next/client`'s createAuthFetch, without Next.js:
// `next/headers` is a stand-in module (a cookie jar) found from the working directory, the way
// polyauth/next finds the application's copy; fetch and the lock manager are stand-ins too.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeySet, PolyauthError, Tokens } from 'polyauth'
import { createAuth } from 'polyauth/next'
import { createAuthFetch } from 'polyauth/next/client'

const ACCESS = '__Host-Http-polyauth_at'
const REFRESH = '__Host-Http-polyauth_rt'
const USER = { login: 'action@example.com', password: 'lantern-orbit-cactus-plum-8' }

describe('action(): guarded Server Actions', () => {
  let dir
  let cwd
  let auth
  let jar

  before(async () => {
    // A stand-in `next/headers` whose cookies() is the jar of the current test.
    dir = mkdtempSync(join(tmpdir(), 'polyauth-next-actions-'))
    writeFileSync(join(dir, 'package.json'), '{"name":"app","private":true}')
    mkdirSync(join(dir, 'node_modules', 'next'), { recursive: true })
    writeFileSync(
      join(dir, 'node_modules', 'next', 'headers.js'),
      `exports.cookies = async () => globalThis.__polyauthJar
exports.headers = async () => new Headers({ 'user-agent': 'test' })`,
    )
    cwd = process.cwd()
    process.chdir(dir)
    const tokens = new Tokens(KeySet.generate(), { issuer: 'https://app.example.com', audience: 'api' })
    auth = createAuth({ tokens, store: 'memory://', permissions: { admin: ['items:write'] } })
    const c = await auth.state()
    await c.accounts.create(USER.login, USER.password)
  })

  after(() => {
    process.chdir(cwd)
    rmSync(dir, { recursive: true, force: true })
  })

  /** A Server Action's cookie jar: get / set as next/headers' cookies() offers them. */
  function newJar(initial = {}) {
    const values = new Map(Object.entries(initial))
    const writes = []
    const j = {
      get: (name) => (values.has(name) ? { name, value: values.get(name) } : undefined),
      set: (name, value, options) => {
        writes.push({ name, value, options })
        if (options.maxAge === 0) values.delete(name)
        else values.set(name, value)
      },
      values,
      writes,
    }
    globalThis.__polyauthJar = j
    return j
  }

  async function signedInJar() {
    jar = newJar()
    const r = await auth.signIn({ login: USER.login, password: USER.password })
    assert.deepEqual(r, { ok: true, status: 'ok' })
    return { access: jar.values.get(ACCESS), refresh: jar.values.get(REFRESH) }
  }

  test('runs the function with the principal and returns its data', async () => {
    const { access } = await signedInJar()
    const whoAmI = auth.action(async (principal, greeting) => `${greeting} ${principal.subject}`)
    const r = await whoAmI('hello')
    assert.equal(r.ok, true)
    assert.match(r.data, /^hello \S+$/)
    jar.writes.length = 0
    await whoAmI('again')
    assert.deepEqual(jar.writes, [], 'a valid access cookie writes nothing')
    assert.equal(jar.values.get(ACCESS), access)
  })

  test('an expired access cookie is refreshed inline: new cookies set, the function runs', async () => {
    const { refresh } = await signedInJar()
    jar = newJar({ [REFRESH]: refresh })
    const r = await auth.action((p) => p.sessionId)()
    assert.equal(r.ok, true)
    const names = jar.writes.map((w) => w.name)
    assert.deepEqual(names, [ACCESS, REFRESH])
    assert.notEqual(jar.values.get(REFRESH), refresh, 'rotated')
    for (const w of jar.writes) assert.deepEqual([w.options.httpOnly, w.options.secure, w.options.path], [true, true, '/'])
  })

  test('no cookies: not_authenticated, and the function never runs', async () => {
    jar = newJar()
    let ran = false
    const r = await auth.action(() => {
      ran = true
    })()
    assert.deepEqual([r.ok, r.code], [false, 'not_authenticated'])
    assert.equal(ran, false)
  })

  test('a revoked session: the refresh fails definitively, the cookies are cleared', async () => {
    const { access, refresh } = await signedInJar()
    const c = await auth.state()
    const claims = c.tokens.verify(access)
    await c.sessions.revoke(claims.sid)
    jar = newJar({ [REFRESH]: refresh })
    const r = await auth.action(() => 1)()
    assert.deepEqual([r.ok, r.code], [false, 'session_revoked'])
    assert.deepEqual(jar.writes.map((w) => [w.name, w.value, w.options.maxAge]), [
      [ACCESS, '', 0],
      [REFRESH, '', 0],
    ])
  })

  test('scopes and step-up: insufficient_scope / insufficient_user_authentication, nothing run', async () => {
    await signedInJar()
    let ran = 0
    const write = auth.action(() => ++ran, { scopes: ['items:write'] })
    assert.deepEqual(await write(), { ok: false, code: 'insufficient_scope', detail: (await write()).detail })
    const stepUp = await auth.action(() => ++ran, { amr: ['otp'] })()
    assert.deepEqual([stepUp.ok, stepUp.code], [false, 'insufficient_user_authentication'])
    assert.equal(ran, 0)
  })

  test("the function's PolyauthError becomes { ok: false, code }; other errors propagate", async () => {
    await signedInJar()
    const typed = await auth.action(() => {
      throw new PolyauthError('not_found', 'no such item')
    })()
    assert.deepEqual([typed.ok, typed.code], [false, 'not_found'])
    await assert.rejects(
      auth.action(() => {
        throw new RangeError('app bug')
      })(),
      RangeError,
    )
  })

  test('action() needs a function', () => {
    assert.throws(() => auth.action('nope'), TypeError)
  })
})

describe('createAuthFetch (polyauth/next/client)', () => {
  const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

  /** A server stand-in: /api/x answers 401 until a refresh succeeded; /api/auth/refresh answers `refreshStatus`. */
  function server({ refreshStatus = 200, refreshCode = 'session_revoked', delay = 0 } = {}) {
    const calls = []
    let fresh = false
    const fetch = async (input, init = {}) => {
      const url = typeof input === 'string' ? input : input.url
      calls.push({ url, method: init.method ?? (typeof input === 'string' ? 'GET' : input.method), init })
      if (url.endsWith('/api/auth/refresh')) {
        if (delay) await new Promise((r) => setTimeout(r, delay))
        if (refreshStatus === 200) {
          fresh = true
          return json(200, { status: 'ok', expires_in: 900 })
        }
        return json(refreshStatus, { detail: 'x', code: refreshStatus === 503 ? 'store_unavailable' : refreshCode })
      }
      return fresh ? json(200, { ok: true }) : json(401, { detail: 'x', code: 'not_authenticated' })
    }
    return { fetch, calls }
  }

  test('a 401 refreshes once (POST with X-Polyauth: 1, same-origin credentials) and retries once', async () => {
    const s = server()
    const authFetch = createAuthFetch({ fetch: s.fetch, locks: null })
    const r = await authFetch('/api/x')
    assert.equal(r.status, 200)
    assert.deepEqual(s.calls.map((c) => `${c.method} ${c.url}`), ['GET /api/x', 'POST /api/auth/refresh', 'GET /api/x'])
    const refresh = s.calls[1].init
    assert.equal(refresh.headers['X-Polyauth'], '1')
    assert.equal(refresh.credentials, 'same-origin')
    assert.equal(s.calls[0].init.credentials, 'same-origin')
  })

  test('concurrent 401s in one tab share one refresh', async () => {
    const s = server({ delay: 30 })
    const authFetch = createAuthFetch({ fetch: s.fetch, locks: null })
    const all = await Promise.all(Array.from({ length: 8 }, () => authFetch('/api/x')))
    assert.ok(all.every((r) => r.status === 200))
    assert.equal(s.calls.filter((c) => c.url.endsWith('/refresh')).length, 1)
  })

  test('under the lock, a tab that sees a newer refresh by another tab skips its own', async () => {
    const s = server()
    const stored = new Map()
    globalThis.localStorage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, v) }
    try {
      let held = Promise.resolve()
      const locks = {
        request(name, callback) {
          assert.equal(name, 'polyauth-refresh')
          const run = held.then(callback)
          held = run.catch(() => {})
          return run
        },
      }
      const tabA = createAuthFetch({ fetch: s.fetch, locks })
      const tabB = createAuthFetch({ fetch: s.fetch, locks })
      const [a, b] = await Promise.all([tabA('/api/x'), tabB('/api/x')])
      assert.deepEqual([a.status, b.status], [200, 200])
      assert.equal(s.calls.filter((c) => c.url.endsWith('/refresh')).length, 1, 'the second tab reused the first one’s refresh')
    } finally {
      delete globalThis.localStorage
    }
  })

  test('a refused refresh calls onSignedOut once and returns the original 401', async () => {
    const s = server({ refreshStatus: 401, refreshCode: 'session_revoked' })
    const codes = []
    const authFetch = createAuthFetch({ fetch: s.fetch, locks: null, onSignedOut: (code) => codes.push(code) })
    const r = await authFetch('/api/x')
    assert.equal(r.status, 401)
    assert.equal((await r.json()).code, 'not_authenticated')
    await authFetch('/api/x')
    assert.deepEqual(codes, ['session_revoked'])
  })

  test('a store outage (503 on refresh) is not a sign-out', async () => {
    const s = server({ refreshStatus: 503 })
    let signedOut = false
    const authFetch = createAuthFetch({ fetch: s.fetch, locks: null, onSignedOut: () => (signedOut = true) })
    assert.equal((await authFetch('/api/x')).status, 401)
    assert.equal(signedOut, false)
  })

  test('never refreshes for the auth routes themselves, nor for codes a refresh cannot fix', async () => {
    const calls = []
    const fetch = async (input) => {
      calls.push(String(input))
      return json(401, { detail: 'x', code: String(input).includes('login') ? 'invalid_credentials' : 'csrf_failed' })
    }
    const authFetch = createAuthFetch({ fetch, locks: null })
    assert.equal((await authFetch('/api/auth/login', { method: 'POST' })).status, 401)
    assert.equal((await authFetch('/api/other', { method: 'POST' })).status, 401)
    assert.deepEqual(calls, ['/api/auth/login', '/api/other'])
  })

  test('a Request input is cloned, so its body is sent again on the retry', async () => {
    const bodies = []
    let fresh = false
    const fetch = async (input, init = {}) => {
      const url = typeof input === 'string' ? input : input.url
      if (url.endsWith('/refresh')) {
        fresh = true
        return json(200, { status: 'ok' })
      }
      bodies.push(await input.text())
      return fresh ? json(200, {}) : json(401, { detail: 'x', code: 'token_expired' })
    }
    const authFetch = createAuthFetch({ fetch, locks: null })
    const r = await authFetch(new Request('http://localhost/api/items', { method: 'POST', body: '{"name":"a"}' }))
    assert.equal(r.status, 200)
    assert.deepEqual(bodies, ['{"name":"a"}', '{"name":"a"}'])
  })
})
