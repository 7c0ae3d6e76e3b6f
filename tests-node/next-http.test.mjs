// `vectors/http.json` against `polyauth/next` in a real Next.js app: examples/next is built once
// (`next build`, shared with next-browser.test.mjs through next-app.mjs) and started (`next start`
// on 127.0.0.1, a free port, a temporary SQLite store);
// every case runs over fetch, plus the cookie attributes on set and on clear, auth() as a Server
// Component renders it, single-flight refresh and the definitive refresh failures.
//
// The example's dependencies are installed by `make test-node` (`npm install` in examples/next);
// without them the suite is skipped, or fails under CI / POLYAUTH_REQUIRE_SERVICES.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { Accounts, KeySet, Mfa, PasswordHasher, Store, Tokens, Totp } from 'polyauth'
import { loadProjectVectors } from './helpers.mjs'
import { ISSUER, JWKS, MFA_KEY, appSkip, assertFreshCopy, buildExample, startApp } from './next-app.mjs'

const HTTP = loadProjectVectors('http.json')
const SPEC = HTTP.app
const COOKIES = HTTP.cookies.next
const MFA_USER = { login: 'mfa@example.com', password: 'amber-glacier-tulip-violin-58' }
// Signs in through the example's Server Action form (its own TOTP secret: codes are single-use).
const FORM_MFA_USER = { login: 'form-mfa@example.com', password: 'copper-meadow-harbor-quill-64' }
const FORM_USER = { login: 'form@example.com', password: 'violet-anchor-pebble-summit-93' }
const ACCESS_TTL = 900
const REFRESH_TTL = 30 * 86400

/** Requests the vectors write as `/auth/...` go to the catch-all route at `/api/auth/...`. */
const routePath = (p) => (p.startsWith('/auth/') ? `/api${p}` : p)

/** `Set-Cookie` headers by cookie name: the value and lower-cased attributes. */
function parseSetCookies(headers) {
  const out = {}
  for (const header of headers) {
    const [pair, ...attrs] = header.split(';')
    const eq = pair.indexOf('=')
    const parsed = { value: pair.slice(eq + 1).trim() }
    for (const a of attrs) {
      const [k, ...v] = a.trim().split('=')
      parsed[k.toLowerCase()] = v.length ? v.join('=') : true
    }
    out[pair.slice(0, eq).trim()] = parsed
  }
  return out
}

/** A set (or, with `cleared`, a clearing) cookie carries every attribute of vectors/http.json for its kind. */
function checkCookie(kind, attrs, { cleared = false } = {}) {
  const want = COOKIES[kind]
  assert.ok(attrs, `${want.name} not set`)
  assert.equal(attrs.path, want.path, JSON.stringify(attrs))
  assert.equal(String(attrs.samesite).toLowerCase(), want.samesite, JSON.stringify(attrs))
  assert.equal(attrs.httponly, want.httponly)
  assert.equal(attrs.secure, want.secure)
  assert.equal(attrs.domain, undefined, '__Host- cookies carry no Domain')
  const maxAge = Number(attrs['max-age'])
  if (cleared) {
    assert.equal(maxAge, 0)
    assert.equal(attrs.value, '')
  } else if (want.max_age === 'access_ttl') {
    assert.equal(maxAge, ACCESS_TTL)
  } else {
    assert.ok(Math.abs(maxAge - REFRESH_TTL) <= 5, `refresh Max-Age ${maxAge}`)
  }
}

describe('polyauth/next over HTTP (vectors/http.json)', { skip: appSkip }, () => {
  let app
  let base
  const pairs = {}
  const subjects = {}
  let expired
  let expiredReady
  let mfaSecret
  let formMfaSecret
  let formSubject
  const totp = new Totp()

  async function send(method, path, { headers = {}, json } = {}) {
    const init = { method, headers: { ...headers }, redirect: 'manual' }
    if (json !== undefined) {
      init.body = JSON.stringify(json)
      init.headers['content-type'] = 'application/json'
    }
    return fetch(`${base}${routePath(path)}`, init)
  }

  /** Signs `who` in over the route handlers; resolves to the tokens of its cookies. */
  async function signIn(who) {
    const user = SPEC.users[who]
    const response = await send('POST', '/auth/login', { json: { login: user.login, password: user.password } })
    assert.equal(response.status, 200, await response.clone().text())
    const set = parseSetCookies(response.headers.getSetCookie())
    return { access: set[COOKIES.access.name].value, refresh: set[COOKIES.refresh.name].value }
  }

  /** The headers the vectors' `auth` notation stands for. */
  async function credentials(auth) {
    const headers = {}
    const cookies = []
    for (const part of auth.split('+')) {
      const colon = part.indexOf(':')
      const kind = colon < 0 ? part : part.slice(0, colon)
      const who = colon < 0 ? '' : part.slice(colon + 1)
      if (kind === 'none') continue
      if (kind === 'header') headers.authorization = who
      else if (kind === 'bearer') {
        let token
        if (who === 'garbage') token = 'not.a.token'
        else if (who === 'expired') {
          await expiredReady
          token = expired
        } else if (who === 'revoked') {
          const pair = await signIn('user')
          const out = await send('POST', '/auth/logout', { headers: { authorization: `Bearer ${pair.access}` } })
          assert.equal(out.status, 204)
          token = pair.access
        } else token = pairs[who].access
        headers.authorization = `Bearer ${token}`
      } else if (kind === 'cookie') {
        cookies.push(`${COOKIES.access.name}=${who === 'garbage' ? 'not.a.token' : pairs[who].access}`)
      } else if (kind === 'refresh-cookie') {
        cookies.push(`${COOKIES.refresh.name}=${pairs[who].refresh}`)
      } else {
        assert.fail(`unknown auth ${part}`)
      }
    }
    if (cookies.length) headers.cookie = cookies.join('; ')
    return headers
  }

  before(async () => {
    assertFreshCopy()
    await buildExample()
    app = await startApp({ setup: seed })
    base = app.base
    for (const who of Object.keys(SPEC.users)) pairs[who] = await signIn(who)
  })

  /** The users of the vectors, an MFA user for the routes and one for the form, on the app's store. */
  async function seed(storeUrl) {
    const store = await Store.open(storeUrl)
    const accounts = new Accounts(store, new PasswordHasher())
    for (const [who, user] of Object.entries(SPEC.users)) {
      subjects[who] = (await accounts.create(user.login, user.password, user.claims)).subject
    }
    // A user with a confirmed TOTP factor (enrolled here, on the app's store and MFA key).
    const mfaSubject = (await accounts.create(MFA_USER.login, MFA_USER.password)).subject
    const mfa = new Mfa(store, totp, { encryptionKey: MFA_KEY })
    mfaSecret = (await mfa.beginEnrollment(mfaSubject, MFA_USER.login)).secret
    await mfa.confirm(mfaSubject, totp.code(mfaSecret))
    const formMfaSubject = (await accounts.create(FORM_MFA_USER.login, FORM_MFA_USER.password)).subject
    formMfaSecret = (await mfa.beginEnrollment(formMfaSubject, FORM_MFA_USER.login)).secret
    await mfa.confirm(formMfaSubject, totp.code(formMfaSecret))
    formSubject = (await accounts.create(FORM_USER.login, FORM_USER.password)).subject
    const tokens = new Tokens(KeySet.fromJwks(JWKS), { issuer: ISSUER, audience: 'api' })
    expired = tokens.issue(subjects.user, { claims: { scope: 'items:read' }, ttl: 1 })
    expiredReady = sleep(2100)
  }

  after(async () => {
    if (app) await app.stop()
  })

  test('every case has a known shape', () => {
    // A typo in the vectors (an unknown key) would silently check nothing.
    for (const c of HTTP.cases) {
      assert.ok(Object.keys(c.request).every((k) => ['method', 'path', 'auth', 'headers', 'json'].includes(k)), c.name)
      assert.ok(Object.keys(c.expect).every((k) => ['status', 'code', 'body', 'headers', 'headers_contain', 'cookies_set'].includes(k)), c.name)
      assert.equal(typeof c.expect.status, 'number')
    }
  })

  for (const c of HTTP.cases) {
    test(c.name, async () => {
      const req = c.request
      const headers = await credentials(req.auth ?? 'none')
      for (const [name, value] of Object.entries(req.headers ?? {})) headers[name] = value.replace('{self}', base)
      const response = await send(req.method, req.path, { headers, json: req.json })
      const text = await response.text()
      const want = c.expect
      assert.equal(response.status, want.status, text)
      const body = text ? JSON.parse(text) : {}
      if (want.code !== undefined) {
        assert.equal(body.code, want.code, text)
        assert.ok(typeof body.detail === 'string' && body.detail.length > 0, text)
        assert.equal(response.headers.get('cache-control'), 'no-store')
      }
      for (const [key, value] of Object.entries(want.body ?? {})) assert.deepEqual(body[key], value, text)
      for (const [name, value] of Object.entries(want.headers ?? {})) assert.equal(response.headers.get(name), value, name)
      for (const [name, fragment] of Object.entries(want.headers_contain ?? {})) {
        assert.ok((response.headers.get(name) ?? '').includes(fragment), `${name}: ${response.headers.get(name)}`)
      }
      if (want.cookies_set) {
        const set = parseSetCookies(response.headers.getSetCookie())
        for (const kind of want.cookies_set) checkCookie(kind, set[COOKIES[kind].name])
      }
    })
  }

  test('logout with only the refresh cookie (expired access) revokes the session and clears both cookies', async () => {
    const pair = await signIn('user')
    const response = await send('POST', '/auth/logout', {
      headers: { cookie: `${COOKIES.refresh.name}=${pair.refresh}`, 'x-polyauth': '1', 'sec-fetch-site': 'same-origin' },
    })
    assert.equal(response.status, 204)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    const set = parseSetCookies(response.headers.getSetCookie())
    checkCookie('access', set[COOKIES.access.name], { cleared: true })
    checkCookie('refresh', set[COOKIES.refresh.name], { cleared: true })
    const again = await send('GET', '/api/items', { headers: { authorization: `Bearer ${pair.access}` } })
    assert.equal(again.status, 401)
    assert.equal((await again.json()).code, 'session_revoked')
  })

  test('cookie logout needs X-Polyauth, and keeps the session without it', async () => {
    const pair = await signIn('user')
    const cookie = `${COOKIES.access.name}=${pair.access}; ${COOKIES.refresh.name}=${pair.refresh}`
    const refused = await send('POST', '/auth/logout', { headers: { cookie, 'sec-fetch-site': 'same-origin' } })
    assert.equal(refused.status, 403)
    assert.equal((await refused.json()).code, 'csrf_failed')
    assert.deepEqual(refused.headers.getSetCookie(), [])
    const still = await send('GET', '/api/items', { headers: { cookie } })
    assert.equal(still.status, 200)
  })

  test('a definitive refresh failure clears the cookies', async () => {
    const response = await send('POST', '/auth/refresh', {
      headers: { cookie: `${COOKIES.refresh.name}=not-a-refresh-token`, 'x-polyauth': '1', 'sec-fetch-site': 'same-origin' },
    })
    assert.equal(response.status, 401)
    assert.equal((await response.json()).code, 'invalid_token')
    const set = parseSetCookies(response.headers.getSetCookie())
    checkCookie('access', set[COOKIES.access.name], { cleared: true })
    checkCookie('refresh', set[COOKIES.refresh.name], { cleared: true })
  })

  test('parallel refreshes with one cookie: one rotation, identical Set-Cookie', async () => {
    const pair = await signIn('admin')
    const headers = { cookie: `${COOKIES.refresh.name}=${pair.refresh}`, 'x-polyauth': '1', 'sec-fetch-site': 'same-origin' }
    const responses = await Promise.all(Array.from({ length: 12 }, () => send('POST', '/auth/refresh', { headers })))
    const cookieSets = responses.map((r) => {
      assert.equal(r.status, 200)
      return JSON.stringify(r.headers.getSetCookie().map((h) => h.replace(/Max-Age=\d+/, '')))
    })
    assert.equal(new Set(cookieSets).size, 1, 'every racer got the same successor pair')
    const successor = parseSetCookies(responses[0].headers.getSetCookie())[COOKIES.refresh.name].value
    assert.notEqual(successor, pair.refresh)
    // A late racer within the window gets the same successor again.
    const late = await send('POST', '/auth/refresh', { headers })
    assert.equal(parseSetCookies(late.headers.getSetCookie())[COOKIES.refresh.name].value, successor)
    // Two sessions for admin (before() and this one), none added by the racing refreshes.
    const listed = await send('GET', '/auth/sessions', { headers: { authorization: `Bearer ${pairs.admin.access}` } })
    assert.equal(listed.status, 200)
    assert.equal((await listed.json()).length, 2)
  })

  test('auth() and accessToken() in a Server Component: anonymous, authenticated, expired (read-only)', async () => {
    // A router prefetch skips the proxy (its matcher), so the render alone decides: expired, no write.
    const render = async (cookie) => {
      const r = await fetch(`${base}/`, { headers: { 'next-router-prefetch': '1', ...(cookie ? { cookie } : {}) } })
      assert.equal(r.status, 200)
      assert.deepEqual(r.headers.getSetCookie(), [], 'auth() never writes cookies')
      return r.text()
    }
    const status = (html) => html.match(/<span id="status">([a-z]+)<\/span>/)?.[1]
    const token = (html) => html.match(/<span id="token">([a-z]+)<\/span>/)?.[1]
    const anonymous = await render()
    assert.equal(status(anonymous), 'anonymous')
    assert.equal(token(anonymous), 'no')
    const signedIn = await render(`${COOKIES.access.name}=${pairs.user.access}`)
    assert.equal(status(signedIn), 'authenticated')
    assert.equal(token(signedIn), 'yes', 'accessToken() gives the page the bearer')
    assert.ok(signedIn.includes(`<span id="subject">${subjects.user}</span>`))
    assert.ok(!signedIn.includes(pairs.user.access), 'the token itself is never rendered')
    const expired = await render(`${COOKIES.refresh.name}=${pairs.user.refresh}`)
    assert.equal(status(expired), 'expired')
    assert.equal(token(expired), 'no')
    assert.equal(status(await render(`${COOKIES.access.name}=not.a.token`)), 'expired')
  })

  // ---- proxy.ts ------------------------------------------------------------------------------

  const statusOf = (html) => html.match(/<span id="status">([a-z]+)<\/span>/)?.[1]

  test('proxy: an expired access cookie is refreshed once, and the same request renders with the new cookies', async () => {
    const pair = await signIn('user')
    const response = await fetch(`${base}/`, { headers: { cookie: `${COOKIES.refresh.name}=${pair.refresh}; theme=dark` } })
    assert.equal(response.status, 200)
    const html = await response.text()
    assert.equal(statusOf(html), 'authenticated', 'auth() in the page saw the refreshed access cookie')
    assert.ok(html.includes(`<span id="subject">${subjects.user}</span>`))
    const set = parseSetCookies(response.headers.getSetCookie())
    checkCookie('access', set[COOKIES.access.name])
    checkCookie('refresh', set[COOKIES.refresh.name])
    assert.notEqual(set[COOKIES.refresh.name].value, pair.refresh, 'rotated')
    assert.equal(set.theme, undefined, "the app's other cookies are not touched")
    // The rotated pair works; the same expired cookie within the window gets the same successor.
    const again = await fetch(`${base}/`, { headers: { cookie: `${COOKIES.refresh.name}=${pair.refresh}` } })
    assert.equal(parseSetCookies(again.headers.getSetCookie())[COOKIES.refresh.name].value, set[COOKIES.refresh.name].value)
    const api = await send('GET', '/api/items', { headers: { cookie: `${COOKIES.access.name}=${set[COOKIES.access.name].value}` } })
    assert.equal(api.status, 200)
  })

  test('proxy: a router prefetch never refreshes (no Set-Cookie), the navigation that follows does', async () => {
    const pair = await signIn('user')
    const cookie = `${COOKIES.refresh.name}=${pair.refresh}`
    for (const headers of [{ 'next-router-prefetch': '1', rsc: '1' }, { purpose: 'prefetch' }, { 'next-router-prefetch': '1' }]) {
      const prefetch = await fetch(`${base}/dashboard`, { headers: { cookie, ...headers }, redirect: 'manual' })
      await prefetch.arrayBuffer()
      assert.deepEqual(prefetch.headers.getSetCookie(), [], JSON.stringify(headers))
    }
    const navigation = await fetch(`${base}/dashboard`, { headers: { cookie }, redirect: 'manual' })
    assert.equal(navigation.status, 200)
    assert.equal(parseSetCookies(navigation.headers.getSetCookie())[COOKIES.refresh.name].value.length > 0, true)
  })

  test('proxy: 20 parallel page requests with one expired cookie: one rotation, identical Set-Cookie', async () => {
    const pair = await signIn('admin')
    const cookie = `${COOKIES.refresh.name}=${pair.refresh}`
    const before = await send('GET', '/auth/sessions', { headers: { authorization: `Bearer ${pairs.admin.access}` } })
    const sessionsBefore = (await before.json()).length
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${base}/${i % 2 ? 'dashboard' : ''}`, { headers: { cookie }, redirect: 'manual' })),
    )
    const sets = await Promise.all(
      responses.map(async (r) => {
        assert.equal(r.status, 200)
        assert.match(await r.text(), new RegExp(`<span id="subject">${subjects.admin}</span>`))
        return JSON.stringify(r.headers.getSetCookie().map((h) => h.replace(/Max-Age=\d+/, '')))
      }),
    )
    assert.equal(new Set(sets).size, 1, 'every page got the same successor pair')
    const after = await send('GET', '/auth/sessions', { headers: { authorization: `Bearer ${pairs.admin.access}` } })
    assert.equal((await after.json()).length, sessionsBefore, 'no session added or lost')
  })

  test('proxy: a protected path without a usable session goes to the sign-in page; a dead refresh cookie is cleared', async () => {
    const anonymous = await fetch(`${base}/dashboard?tab=2`, { redirect: 'manual' })
    assert.equal(anonymous.status, 307)
    assert.equal(new URL(anonymous.headers.get('location'), base).pathname + new URL(anonymous.headers.get('location'), base).search, '/sign-in?next=%2Fdashboard%3Ftab%3D2')
    const pair = await signIn('user')
    const out = await send('POST', '/auth/logout', { headers: { authorization: `Bearer ${pair.access}` } })
    assert.equal(out.status, 204)
    const revoked = await fetch(`${base}/dashboard`, { headers: { cookie: `${COOKIES.refresh.name}=${pair.refresh}` }, redirect: 'manual' })
    assert.equal(revoked.status, 307)
    const cleared = parseSetCookies(revoked.headers.getSetCookie())
    checkCookie('access', cleared[COOKIES.access.name], { cleared: true })
    checkCookie('refresh', cleared[COOKIES.refresh.name], { cleared: true })
    // An unprotected page renders anonymous-from-expired and clears the dead cookie too.
    const home = await fetch(`${base}/`, { headers: { cookie: `${COOKIES.refresh.name}=${pair.refresh}` } })
    assert.equal(statusOf(await home.text()), 'anonymous')
    assert.equal(parseSetCookies(home.headers.getSetCookie())[COOKIES.refresh.name].value, '')
  })

  test('MFA sign-in over the routes: mfa_required, a wrong code keeps the step going, the right one passes step-up', async () => {
    const first = await send('POST', '/auth/login', { json: MFA_USER })
    assert.equal(first.status, 200)
    const step = await first.json()
    assert.equal(step.status, 'mfa_required')
    assert.deepEqual(first.headers.getSetCookie(), [], 'no session before the second factor')
    // The enrollment used the current step's code: sign in with the next one (within the window).
    const code = totp.code(mfaSecret, { now: Math.floor(Date.now() / 1000) + 30 })
    const wrongCode = code === '000000' ? '111111' : '000000'
    const wrong = await send('POST', '/auth/mfa/verify', { json: { mfa_token: step.mfa_token, code: wrongCode } })
    assert.equal(wrong.status, 401)
    const retry = await wrong.json()
    assert.equal(retry.code, 'totp_invalid')
    assert.equal(typeof retry.mfa_token, 'string')
    assert.equal(retry.tries_left, 4)
    const ok = await send('POST', '/auth/mfa/verify', { json: { mfa_token: retry.mfa_token, code } })
    assert.equal(ok.status, 200, await ok.clone().text())
    const set = parseSetCookies(ok.headers.getSetCookie())
    checkCookie('access', set[COOKIES.access.name])
    checkCookie('refresh', set[COOKIES.refresh.name])
    const secure = await send('GET', '/api/secure', { headers: { cookie: `${COOKIES.access.name}=${set[COOKIES.access.name].value}` } })
    assert.equal(secure.status, 200)
    assert.deepEqual(await secure.json(), { ok: true })
    // The spent step cannot start a second session.
    const again = await send('POST', '/auth/mfa/verify', { json: { mfa_token: retry.mfa_token, code } })
    assert.equal(again.status, 401)
  })

  test('GET session and jwks through the catch-all route', async () => {
    const s = await send('GET', '/auth/session', { headers: { cookie: `${COOKIES.access.name}=${pairs.admin.access}` } })
    assert.equal(s.status, 200)
    const body = await s.json()
    assert.equal(body.status, 'authenticated')
    assert.equal(body.session.subject, subjects.admin)
    assert.ok(body.session.scopes.includes('items:write'))
    const jwks = await (await send('GET', '/auth/jwks')).json()
    assert.deepEqual(jwks.keys.map((k) => k.kid), ['eddsa-key'])
    assert.equal(jwks.keys[0].d, undefined, 'public keys only')
    const wrong = await send('GET', '/auth/login')
    assert.equal(wrong.status, 405)
  })

  // ---- Server Actions (signIn, verifyMfa, signOut) and requireAuth, as a browser without JS posts them ----

  const unescapeHtml = (v) => v.replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

  /** The form `id` of `html` as FormData: its hidden inputs (the Server Action reference Next.js renders) plus `fields`. */
  function actionForm(html, id, fields = {}) {
    const form = html.match(new RegExp(`<form[^>]*id="${id}"[^>]*>([\\s\\S]*?)</form>`))
    assert.ok(form, `no form #${id} in:\n${html.slice(0, 2000)}`)
    const data = new FormData()
    for (const [input] of form[1].matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = input.match(/name="([^"]*)"/)?.[1]
      if (name !== undefined) data.append(unescapeHtml(name), unescapeHtml(input.match(/value="([^"]*)"/)?.[1] ?? ''))
    }
    for (const [name, value] of Object.entries(fields)) data.append(name, value)
    return data
  }

  /** Submits form `id` of page `path` (same origin, as the browser would), with `cookie` if given. */
  async function submit(path, id, fields, { cookie, html } = {}) {
    const headers = cookie ? { cookie } : {}
    const page = html ?? (await (await fetch(`${base}${path}`, { headers })).text())
    return fetch(`${base}${path}`, {
      method: 'POST',
      body: actionForm(page, id, fields),
      redirect: 'manual',
      headers: { ...headers, origin: base, 'sec-fetch-site': 'same-origin' },
    })
  }

  const cookieHeader = (set) => `${COOKIES.access.name}=${set[COOKIES.access.name].value}; ${COOKIES.refresh.name}=${set[COOKIES.refresh.name].value}`

  async function formSignIn() {
    const response = await submit('/sign-in?next=%2Fdashboard', 'sign-in', FORM_USER)
    assert.equal(response.status, 303, await response.clone().text())
    assert.equal(response.headers.get('location'), '/dashboard')
    const set = parseSetCookies(response.headers.getSetCookie())
    checkCookie('access', set[COOKIES.access.name])
    checkCookie('refresh', set[COOKIES.refresh.name])
    return set
  }

  test('requireAuth(): an anonymous visit to /dashboard redirects to the sign-in page with ?next=', async () => {
    const response = await fetch(`${base}/dashboard`, { redirect: 'manual' })
    assert.equal(response.status, 307)
    assert.equal(response.headers.get('location'), '/sign-in?next=%2Fdashboard')
    assert.deepEqual(response.headers.getSetCookie(), [])
  })

  test('signIn() in a Server Action: wrong password renders the error, no cookies; the right one sets both cookies', async () => {
    const wrong = await submit('/sign-in?next=%2Fdashboard', 'sign-in', { ...FORM_USER, password: 'not-the-password-123' })
    assert.equal(wrong.status, 200)
    assert.deepEqual(wrong.headers.getSetCookie(), [])
    assert.match(await wrong.text(), /id="error" data-code="invalid_credentials"/)

    const set = await formSignIn()
    const dashboard = await fetch(`${base}/dashboard`, { headers: { cookie: cookieHeader(set) }, redirect: 'manual' })
    assert.equal(dashboard.status, 200)
    const html = await dashboard.text()
    assert.ok(html.includes(`<span id="subject">${formSubject}</span>`), html.slice(0, 2000))
    assert.match(html, /\(<!-- -->pwd<!-- -->\)|\(pwd\)/)
  })

  test('verifyMfa() in a Server Action: the MFA step, a wrong code keeps it with a fresh token, the right code signs in', async () => {
    const first = await submit('/sign-in', 'sign-in', FORM_MFA_USER)
    assert.equal(first.status, 200)
    assert.deepEqual(first.headers.getSetCookie(), [], 'no session before the second factor')
    const step = await first.text()
    const token1 = step.match(/name="mfa_token" value="([^"]+)"/)?.[1]
    assert.ok(token1, step.slice(0, 2000))
    assert.match(step, /id="code"/)

    const code = totp.code(formMfaSecret, { now: Math.floor(Date.now() / 1000) + 30 })
    const wrongCode = code === '000000' ? '111111' : '000000'
    const wrong = await submit('/sign-in', 'sign-in', { code: wrongCode }, { html: step })
    assert.equal(wrong.status, 200)
    assert.deepEqual(wrong.headers.getSetCookie(), [])
    const retry = await wrong.text()
    assert.match(retry, /id="error" data-code="totp_invalid"/)
    const token2 = retry.match(/name="mfa_token" value="([^"]+)"/)?.[1]
    assert.ok(token2 && token2 !== token1, 'a fresh mfa_token')

    const ok = await submit('/sign-in', 'sign-in', { code }, { html: retry })
    assert.equal(ok.status, 303, await ok.clone().text())
    assert.equal(ok.headers.get('location'), '/')
    const set = parseSetCookies(ok.headers.getSetCookie())
    checkCookie('access', set[COOKIES.access.name])
    checkCookie('refresh', set[COOKIES.refresh.name])
    const secure = await send('GET', '/api/secure', { headers: { cookie: `${COOKIES.access.name}=${set[COOKIES.access.name].value}` } })
    assert.equal(secure.status, 200, 'amr otp: the step-up route passes')
  })

  test('signOut() in a Server Action: clears both cookies and revokes the session', async () => {
    const set = await formSignIn()
    const cookie = cookieHeader(set)
    const out = await submit('/dashboard', 'sign-out', {}, { cookie })
    assert.equal(out.status, 303, await out.clone().text())
    assert.equal(out.headers.get('location'), '/')
    const cleared = parseSetCookies(out.headers.getSetCookie())
    checkCookie('access', cleared[COOKIES.access.name], { cleared: true })
    checkCookie('refresh', cleared[COOKIES.refresh.name], { cleared: true })
    const after = await send('POST', '/auth/refresh', { json: { refresh_token: set[COOKIES.refresh.name].value } })
    assert.equal(after.status, 401)
    const dashboard = await fetch(`${base}/dashboard`, { headers: { cookie }, redirect: 'manual' })
    assert.equal(dashboard.status, 307, 'the revoked session no longer opens the dashboard')
  })

  test('signOut({ everywhere: true }) in a Server Action: every session of the user ends', async () => {
    const other = await formSignIn()
    const set = await formSignIn()
    const out = await submit('/dashboard', 'sign-out-everywhere', {}, { cookie: cookieHeader(set) })
    assert.equal(out.status, 303, await out.clone().text())
    const cleared = parseSetCookies(out.headers.getSetCookie())
    checkCookie('access', cleared[COOKIES.access.name], { cleared: true })
    const refreshed = await send('POST', '/auth/refresh', { json: { refresh_token: other[COOKIES.refresh.name].value } })
    assert.equal(refreshed.status, 401, 'the other session is revoked too')
  })

  test('a cross-site post to the sign-in Server Action is refused and sets no cookie', async () => {
    const page = await (await fetch(`${base}/sign-in`)).text()
    const response = await fetch(`${base}/sign-in`, {
      method: 'POST',
      body: actionForm(page, 'sign-in', FORM_USER),
      redirect: 'manual',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    })
    // Next.js compares Origin with the host (and serverActions.allowedOrigins) before running the action.
    assert.equal(response.status, 500, String(response.status))
    assert.deepEqual(response.headers.getSetCookie(), [])
    assert.match(app.output(), /Invalid Server Actions request/)
  })
})
