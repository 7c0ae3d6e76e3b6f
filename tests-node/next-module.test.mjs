// `polyauth/next` as a module, without Next.js: the subpath export (ESM, CommonJS, the edge-light
// condition) and the handlers over Web-standard Request/Response on a memory store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeySet, Mfa, Tokens, Totp } from 'polyauth'
import * as esm from 'polyauth/next'
import { withPolyauth } from 'polyauth/next/config'
import { REDIS_SERVER, REPO_ROOT, privateRedis } from './helpers.mjs'

const require = createRequire(import.meta.url)

test('ESM and CommonJS share one module', () => {
  const cjs = require('polyauth/next')
  assert.equal(esm.createAuth, cjs.createAuth)
  assert.equal(typeof esm.createAuth, 'function')
  // Every CommonJS export is re-exported by the ESM entry point.
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name)
})

test('the edge-light condition resolves to a module with a clear error', () => {
  for (const code of ["require('polyauth/next')", "import('polyauth/next').catch((e) => { throw e })"]) {
    const r = spawnSync(process.execPath, ['--conditions=edge-light', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8' })
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /polyauth\/next needs the Node\.js runtime/)
  }
})

function app(options = {}) {
  const tokens = new Tokens(KeySet.generate(), { issuer: 'https://app.example.com', audience: 'api' })
  return { tokens, auth: esm.createAuth({ tokens, store: 'memory://', ...options }) }
}

const post = (path, body, headers = {}) =>
  new Request(`https://app.example.com/api/auth/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

test('handlers: register, sign in, then the cookie authenticates withAuth', async () => {
  const { auth } = app()
  const reg = await auth.handlers.POST(post('register', { login: 'a@example.com', password: 'orbit-cactus-lantern-plum-7' }))
  assert.equal(reg.status, 201)
  const login = await auth.handlers.POST(post('login', { login: 'A@example.com ', password: 'orbit-cactus-lantern-plum-7' }))
  assert.equal(login.status, 200)
  const cookies = login.headers.getSetCookie()
  assert.equal(cookies.length, 2)
  assert.match(cookies[0], /^__Host-Http-polyauth_at=[^;]+; Path=\/; Max-Age=900; HttpOnly; Secure; SameSite=Lax$/)
  const access = cookies[0].split(';')[0]
  const guarded = auth.withAuth(async (_r, { principal }) => Response.json({ subject: principal.subject }))
  const ok = await guarded(new Request('https://app.example.com/x', { headers: { cookie: access } }), {})
  assert.equal(ok.status, 200)
  assert.equal((await ok.json()).subject, (await reg.json()).subject)
  const none = await guarded(new Request('https://app.example.com/x'), {})
  assert.equal(none.status, 401)
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="api"')
})

test('handlers: a malformed body is 422 invalid_request, an unknown endpoint 404, all with no-store', async () => {
  const { auth } = app()
  const bad = await auth.handlers.POST(
    new Request('https://app.example.com/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[' }),
  )
  assert.equal(bad.status, 422)
  assert.equal((await bad.json()).code, 'invalid_request')
  assert.equal(bad.headers.get('cache-control'), 'no-store')
  const missing = await auth.handlers.POST(post('nope', {}))
  assert.equal(missing.status, 404)
  assert.equal((await missing.json()).code, 'not_found')
})

test('insecureDev drops the prefixes and Secure; cookies: false returns tokens in the body', async () => {
  const dev = app({ insecureDev: true }).auth
  assert.equal(dev.cookies.accessName, 'polyauth_at')
  assert.equal(dev.cookies.refreshName, 'polyauth_rt')
  const h = new Headers()
  dev.clearCookies(h)
  assert.deepEqual(h.getSetCookie(), [
    'polyauth_at=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    'polyauth_rt=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
  ])
  const bearer = app({ cookies: false }).auth
  await bearer.handlers.POST(post('register', { login: 'b@example.com', password: 'orbit-cactus-lantern-plum-7' }))
  const login = await bearer.handlers.POST(post('login', { login: 'b@example.com', password: 'orbit-cactus-lantern-plum-7' }))
  const body = await login.json()
  assert.equal(body.token_type, 'bearer')
  assert.equal(typeof body.access_token, 'string')
  assert.deepEqual(login.headers.getSetCookie(), [])
})

test('a token too large for a cookie is invalid_config, never dropped', async () => {
  const { auth } = app()
  assert.throws(
    () => auth.setCookies(new Headers(), { accessToken: 'a'.repeat(3801), refreshToken: 'r', sessionId: 's', expiresIn: 900, refreshExpiresAt: 0 }),
    (e) => e.code === 'invalid_config',
  )
})

test('the audit callback sees events without secrets', async () => {
  const events = []
  const { auth } = app({ audit: (event, data) => events.push([event, data]) })
  const r = await auth.handlers.POST(post('login', { login: 'nobody@example.com', password: 'wrong-password-here-1' }))
  assert.equal(r.status, 401)
  assert.deepEqual(events.map((e) => e[0]), ['login_failed'])
  assert.ok(!JSON.stringify(events).includes('wrong-password-here-1'))
})

// ---- the account endpoints: MFA, password reset, email verification (parity with polyauth.fastapi) ----

const totp = new Totp()
const PASSWORD = 'orbit-cactus-lantern-plum-7'
let serial = 0
const uniqueLogin = (tag) => `${tag}-${process.pid}-${++serial}@example.com`

/** An app with MFA and a `send` that records what it is asked to deliver. */
function mfaApp(options = {}) {
  const sent = []
  const made = app({ mfaKey: Mfa.generateKey(), sessionCheck: 0, send: (kind, to, token) => sent.push({ kind, to, token }), ...options })
  return { ...made, sent }
}

/** The `name=value` pairs of a response's Set-Cookie headers, as a request Cookie header. */
const cookieOf = (response) => response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')

/** Registers a fresh user and signs in: the login and the Cookie header of its session. */
async function signedInUser(auth, tag = 'user') {
  const login = uniqueLogin(tag)
  assert.equal((await auth.handlers.POST(post('register', { login, password: PASSWORD }))).status, 201)
  const r = await auth.handlers.POST(post('login', { login, password: PASSWORD }))
  assert.equal(r.status, 200)
  return { login, cookie: cookieOf(r) }
}

/** The JSON body of `session` (subject, session_id, amr) for the Cookie header `cookie`. */
async function sessionOf(auth, cookie) {
  const r = await auth.handlers.GET(new Request('https://app.example.com/api/auth/session', { headers: { cookie } }))
  return (await r.json()).session
}

async function expectError(response, status, code) {
  const body = await response.json()
  assert.equal(response.status, status, JSON.stringify(body))
  assert.equal(body.code, code, JSON.stringify(body))
  assert.equal(typeof body.detail, 'string')
  assert.equal(response.headers.get('cache-control'), 'no-store')
  return body
}

test('mfa/enroll and mfa/confirm: the secret and URI, 10 recovery codes, and a new session (new sid, amr pwd+otp)', async () => {
  const { auth } = mfaApp()
  const { login, cookie } = await signedInUser(auth, 'enroll')
  const before = await sessionOf(auth, cookie)
  const begun = await auth.handlers.POST(post('mfa/enroll', {}, { cookie }))
  assert.equal(begun.status, 200)
  assert.equal(begun.headers.get('cache-control'), 'no-store')
  const e = await begun.json()
  assert.deepEqual(Object.keys(e).sort(), ['expires_at', 'qr_svg', 'secret', 'uri'])
  assert.match(e.uri, /^otpauth:\/\/totp\//)
  assert.ok(e.uri.includes(encodeURIComponent(login)) || e.uri.includes(login), 'labelled with the login')
  assert.match(e.qr_svg, /<svg/)
  assert.deepEqual(begun.headers.getSetCookie(), [], 'enrolling alone changes no session')

  const confirmed = await auth.handlers.POST(post('mfa/confirm', { code: totp.code(e.secret) }, { cookie }))
  assert.equal(confirmed.status, 200)
  const body = await confirmed.json()
  assert.equal(body.status, 'ok')
  assert.equal(body.recovery_codes.length, 10)
  assert.equal(body.access_token, undefined, 'cookie mode: no tokens in the body')
  const replaced = cookieOf(confirmed)
  const after = await sessionOf(auth, replaced)
  assert.notEqual(after.session_id, before.session_id)
  assert.equal(after.subject, before.subject)
  assert.deepEqual(after.amr, ['pwd', 'otp'])
  const { sessions } = await auth.state()
  assert.equal(await sessions.isActive(before.session_id), false, 'the old session is revoked')
  const old = await auth.handlers.GET(new Request('https://app.example.com/api/auth/sessions', { headers: { cookie } }))
  await expectError(old, 401, 'session_revoked')

  // The next sign-in asks for the second factor.
  const next = await auth.handlers.POST(post('login', { login, password: PASSWORD }))
  assert.equal((await next.json()).status, 'mfa_required')
})

test('mfa/recovery-codes and mfa/disable: new codes replace the old; a wrong code keeps the factor; the right one removes it and replaces the session', async () => {
  const { auth } = mfaApp()
  const { login, cookie } = await signedInUser(auth, 'disable')
  const e = await (await auth.handlers.POST(post('mfa/enroll', {}, { cookie }))).json()
  const confirmed = await auth.handlers.POST(post('mfa/confirm', { code: totp.code(e.secret) }, { cookie }))
  const first = (await confirmed.json()).recovery_codes
  const withOtp = cookieOf(confirmed)

  const regenerated = await auth.handlers.POST(post('mfa/recovery-codes', {}, { cookie: withOtp }))
  assert.equal(regenerated.status, 200)
  const codes = (await regenerated.json()).recovery_codes
  assert.equal(codes.length, 10)
  assert.ok(codes.every((c) => !first.includes(c)))
  assert.deepEqual(regenerated.headers.getSetCookie(), [])

  const next = totp.code(e.secret, { now: Math.floor(Date.now() / 1000) + 30 })
  const wrong = await auth.handlers.POST(post('mfa/disable', { code: next === '000000' ? '111111' : '000000' }, { cookie: withOtp }))
  const error = await expectError(wrong, 401, 'totp_invalid')
  assert.equal(error.mfa_token, undefined, 'no sign-in step to continue here')
  assert.deepEqual(wrong.headers.getSetCookie(), [])
  const { mfa } = await auth.state()
  const subject = (await sessionOf(auth, withOtp)).subject
  assert.equal((await mfa.status(subject)).enabled, true)

  const disabled = await auth.handlers.POST(post('mfa/disable', { code: next }, { cookie: withOtp }))
  assert.equal(disabled.status, 200)
  assert.equal((await disabled.json()).status, 'ok')
  assert.equal((await mfa.status(subject)).enabled, false)
  const after = await sessionOf(auth, cookieOf(disabled))
  assert.deepEqual(after.amr, ['pwd'])
  assert.equal(await sessionOf(auth, withOtp), null, 'the session with amr otp is gone')
  const login2 = await auth.handlers.POST(post('login', { login, password: PASSWORD }))
  assert.equal((await login2.json()).status, 'ok', 'no second factor any more')
})

test('mfa endpoints refuse: no credentials, a stale sign-in, CSRF, bad bodies, wrong codes, and MFA not configured', async () => {
  const { auth, tokens } = mfaApp()
  const { cookie } = await signedInUser(auth, 'mfa-bad')
  for (const name of ['mfa/enroll', 'mfa/confirm', 'mfa/disable', 'mfa/recovery-codes']) {
    const none = await auth.handlers.POST(post(name, { code: '123456' }))
    await expectError(none, 401, 'not_authenticated')
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="api"')
    // A sign-in older than recentLogin (600 s): step-up (RFC 9470).
    const stale = tokens.issue('someone', { claims: { amr: ['pwd'], auth_time: Math.floor(Date.now() / 1000) - 3600 } })
    const old = await auth.handlers.POST(post(name, { code: '123456' }, { authorization: `Bearer ${stale}` }))
    await expectError(old, 401, 'insufficient_user_authentication')
    assert.match(old.headers.get('www-authenticate'), /insufficient_user_authentication/)
    const csrf = await auth.handlers.POST(post(name, { code: '123456' }, { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }))
    await expectError(csrf, 403, 'csrf_failed')
  }
  for (const body of [{}, { code: 123456 }, { code: 'x'.repeat(65) }]) {
    await expectError(await auth.handlers.POST(post('mfa/confirm', body, { cookie })), 422, 'invalid_request')
    await expectError(await auth.handlers.POST(post('mfa/disable', body, { cookie })), 422, 'invalid_request')
  }
  // Nothing pending / no factor: the code is wrong whatever it is.
  await expectError(await auth.handlers.POST(post('mfa/confirm', { code: '123456' }, { cookie })), 401, 'totp_invalid')
  await expectError(await auth.handlers.POST(post('mfa/disable', { code: '123456' }, { cookie })), 401, 'totp_invalid')
  const e = await (await auth.handlers.POST(post('mfa/enroll', {}, { cookie }))).json()
  const code = totp.code(e.secret)
  await expectError(await auth.handlers.POST(post('mfa/confirm', { code: code === '000000' ? '111111' : '000000' }, { cookie })), 401, 'totp_invalid')
  assert.notEqual((await sessionOf(auth, cookie)), null, 'a refused confirmation keeps the session')

  const plain = app()
  const { cookie: c2 } = await signedInUser(plain.auth, 'no-mfa')
  await expectError(await plain.auth.handlers.POST(post('mfa/enroll', {}, { cookie: c2 })), 404, 'not_found')
})

test('password/change checks the current password and replaces every session (new cookies for this client)', async () => {
  const events = []
  const { auth } = app({ sessionCheck: 5, audit: (event, data) => events.push([event, data]) })
  const { login, cookie } = await signedInUser(auth, 'change')
  const other = cookieOf(await auth.handlers.POST(post('login', { login, password: PASSWORD })))
  const NEW = 'granite-willow-comet-harbor-42'
  const body = { current_password: PASSWORD, new_password: NEW }
  const sameOrigin = { cookie, 'sec-fetch-site': 'same-origin' }
  await expectError(await auth.handlers.POST(post('password/change', body)), 401, 'not_authenticated')
  await expectError(await auth.handlers.POST(post('password/change', body, { cookie, 'sec-fetch-site': 'cross-site' })), 403, 'csrf_failed')
  await expectError(await auth.handlers.POST(post('password/change', { ...body, current_password: 'not-the-password-1' }, sameOrigin)), 401, 'invalid_credentials')
  await expectError(await auth.handlers.POST(post('password/change', { ...body, new_password: 'short' }, sameOrigin)), 422, 'password_policy')
  await expectError(await auth.handlers.POST(post('password/change', { current_password: PASSWORD }, sameOrigin)), 422, 'invalid_request')
  assert.notEqual(await sessionOf(auth, other), null, 'refusals change nothing')

  const changed = await auth.handlers.POST(post('password/change', body, sameOrigin))
  assert.equal(changed.status, 200)
  assert.equal((await changed.json()).status, 'ok')
  assert.equal(changed.headers.getSetCookie().length, 2, 'this client gets the new session')
  // Within sessionCheck too: the cache of this process was emptied.
  assert.equal(await sessionOf(auth, cookie), null)
  assert.equal(await sessionOf(auth, other), null)
  const fresh = await sessionOf(auth, cookieOf(changed))
  assert.deepEqual(fresh.amr, ['pwd'])
  assert.ok(events.some(([e, d]) => e === 'session_revoked' && d.reason === 'password_change'))
  await expectError(await auth.handlers.POST(post('login', { login, password: PASSWORD })), 401, 'invalid_credentials')
  assert.equal((await auth.handlers.POST(post('login', { login, password: NEW }))).status, 200)
})

test('password/forgot is always 202 and sends a link only for a real account; password/reset revokes every session and clears the cookies', async () => {
  const { auth, sent } = mfaApp()
  const { login, cookie } = await signedInUser(auth, 'reset')
  const other = cookieOf(await auth.handlers.POST(post('login', { login, password: PASSWORD })))
  for (const who of [login, uniqueLogin('nobody'), '', '   ']) {
    const r = await auth.handlers.POST(post('password/forgot', { login: who }))
    assert.equal(r.status, 202, who)
    assert.deepEqual(await r.json(), { status: 'accepted' })
    assert.equal(r.headers.get('cache-control'), 'no-store')
  }
  assert.deepEqual(sent.map((s) => [s.kind, s.to]), [['password_reset', login]])
  const token = sent[0].token
  await expectError(await auth.handlers.POST(post('password/forgot', {})), 422, 'invalid_request')
  await expectError(await auth.handlers.POST(post('password/forgot', { login: 42 })), 422, 'invalid_request')

  // A refused password keeps the link usable.
  const weak = await auth.handlers.POST(post('password/reset', { token, password: 'short' }))
  const policy = await expectError(weak, 422, 'password_policy')
  assert.ok(policy.reasons.length > 0)
  await expectError(await auth.handlers.POST(post('password/reset', { token: 'not-a-token', password: 'new-granite-willow-99' })), 401, 'invalid_token')
  await expectError(await auth.handlers.POST(post('password/reset', { token })), 422, 'invalid_request')

  const reset = await auth.handlers.POST(post('password/reset', { token, password: 'new-granite-willow-99' }))
  assert.equal(reset.status, 200)
  assert.deepEqual(await reset.json(), { status: 'reset' })
  const cleared = reset.headers.getSetCookie()
  assert.equal(cleared.length, 2)
  assert.ok(cleared.every((c) => /Max-Age=0/.test(c)))
  assert.equal(await sessionOf(auth, cookie), null, 'every session of the account is revoked')
  assert.equal(await sessionOf(auth, other), null)
  await expectError(await auth.handlers.POST(post('password/reset', { token, password: 'new-granite-willow-99' })), 401, 'token_used')
  await expectError(await auth.handlers.POST(post('login', { login, password: PASSWORD })), 401, 'invalid_credentials')
  assert.equal((await auth.handlers.POST(post('login', { login, password: 'new-granite-willow-99' }))).status, 200)
})

test('a failing mailer does not tell real accounts from unknown ones: 202 for both, the error logged without the token', async () => {
  const calls = []
  const { auth } = app({
    send: async (kind, to, token) => {
      calls.push([kind, to])
      throw new Error(`smtp refused ${token}`)
    },
  })
  const { login } = await signedInUser(auth, 'mailer')
  const logged = []
  const original = console.error
  console.error = (...args) => logged.push(args.join(' '))
  try {
    for (const who of [login, uniqueLogin('nobody')]) {
      const r = await auth.handlers.POST(post('password/forgot', { login: who }))
      assert.equal(r.status, 202, who)
      assert.deepEqual(await r.json(), { status: 'accepted' })
    }
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    console.error = original
  }
  assert.deepEqual(calls, [['password_reset', login]])
  assert.deepEqual(logged, ['polyauth: send(password_reset) failed (Error)'])
})

test('password/forgot without send still answers 202; a throttled login is 429', async () => {
  const { auth } = app()
  const { login } = await signedInUser(auth, 'nosend')
  let last
  for (let i = 0; i < 30; i += 1) {
    last = await auth.handlers.POST(post('password/forgot', { login }))
    if (last.status !== 202) break
  }
  assert.equal(last.status, 429, 'reset requests are throttled per login')
  assert.ok(Number(last.headers.get('retry-after')) >= 1)
})

test('email/verify/request (signed in) sends a token; email/verify marks the account verified once', async () => {
  const { auth, sent } = mfaApp()
  const { login, cookie } = await signedInUser(auth, 'verify')
  await expectError(await auth.handlers.POST(post('email/verify/request', {})), 401, 'not_authenticated')
  await expectError(
    await auth.handlers.POST(post('email/verify/request', {}, { cookie, 'sec-fetch-site': 'same-site', origin: 'https://evil.example.com' })),
    403,
    'csrf_failed',
  )
  assert.equal(sent.length, 0)
  const requested = await auth.handlers.POST(post('email/verify/request', {}, { cookie }))
  assert.equal(requested.status, 202)
  assert.deepEqual(await requested.json(), { status: 'accepted' })
  assert.deepEqual(sent.map((s) => [s.kind, s.to]), [['verify_email', login]])
  const { accounts } = await auth.state()
  assert.equal((await accounts.find(login)).verified, false)

  await expectError(await auth.handlers.POST(post('email/verify', {})), 422, 'invalid_request')
  await expectError(await auth.handlers.POST(post('email/verify', { token: 'garbage' })), 401, 'invalid_token')
  const verified = await auth.handlers.POST(post('email/verify', { token: sent[0].token }))
  assert.equal(verified.status, 200)
  assert.deepEqual(await verified.json(), { verified: true })
  assert.equal((await accounts.find(login)).verified, true)
  await expectError(await auth.handlers.POST(post('email/verify', { token: sent[0].token })), 401, 'token_used')
})

test('with an application account store, email verification is not available (404)', async () => {
  const { auth } = app({ accounts: { find: () => null, setPasswordHash: () => {} } })
  await expectError(await auth.handlers.POST(post('email/verify', { token: 'x' })), 404, 'not_found')
  await expectError(await auth.handlers.POST(post('email/verify/request', {})), 404, 'not_found')
})

// ---- Server Action helpers, with a stand-in for next/headers ----

/**
 * A directory with a `next/headers` module backed by `globalThis.__polyauthJar` (cookies) and
 * `__polyauthHeaders`: the layer loads `next/headers` from the working directory when the
 * package itself cannot, so the Server Action helpers run here without Next.js.
 */
function fakeNextHeaders() {
  const dir = mkdtempSync(join(tmpdir(), 'polyauth-next-headers-'))
  mkdirSync(join(dir, 'node_modules', 'next'), { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{"name":"fake-app","private":true}')
  writeFileSync(join(dir, 'node_modules', 'next', 'package.json'), '{"name":"next","version":"0.0.0"}')
  writeFileSync(
    join(dir, 'node_modules', 'next', 'headers.js'),
    `exports.cookies = async () => ({
  get: (name) => (globalThis.__polyauthJar.has(name) ? { value: globalThis.__polyauthJar.get(name) } : undefined),
  set: (name, value, options) => { globalThis.__polyauthSet.push({ name, value, options }); if (options.maxAge === 0) globalThis.__polyauthJar.delete(name); else globalThis.__polyauthJar.set(name, value) },
})
exports.headers = async () => new Headers({ 'user-agent': 'node-test' })
`,
  )
  return dir
}

test('revokeSession() Server Action helper: own sessions only, clears the cookies when it is the current one', async () => {
  const dir = fakeNextHeaders()
  const cwd = process.cwd()
  process.chdir(dir)
  try {
    const { auth } = mfaApp()
    const { login, cookie } = await signedInUser(auth, 'revoke')
    const other = cookieOf(await auth.handlers.POST(post('login', { login, password: PASSWORD })))
    const stranger = await signedInUser(auth, 'stranger')
    const jarOf = (c) => new Map(c.split('; ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    globalThis.__polyauthSet = []

    globalThis.__polyauthJar = new Map()
    assert.deepEqual(await auth.revokeSession('whatever'), { ok: false, code: 'not_authenticated', detail: 'Not authenticated' })

    globalThis.__polyauthJar = jarOf(cookie)
    const current = await sessionOf(auth, cookie)
    const otherSid = (await sessionOf(auth, other)).session_id
    const strangerSid = (await sessionOf(auth, stranger.cookie)).session_id
    const missing = await auth.revokeSession(new FormData())
    assert.equal(missing.ok, false)
    assert.equal(missing.code, 'invalid_request')
    const foreign = await auth.revokeSession(strangerSid)
    assert.equal(foreign.ok, false)
    assert.equal(foreign.code, 'not_found')
    assert.notEqual(await sessionOf(auth, stranger.cookie), null, "another user's session is untouched")

    const form = new FormData()
    form.set('session_id', otherSid)
    assert.deepEqual(await auth.revokeSession(form), { ok: true, status: 'ok' })
    assert.equal(await sessionOf(auth, other), null)
    assert.deepEqual(globalThis.__polyauthSet, [], 'revoking another session leaves the cookies alone')

    assert.deepEqual(await auth.revokeSession(current.session_id), { ok: true, status: 'ok' })
    assert.equal(await sessionOf(auth, cookie), null)
    assert.deepEqual(globalThis.__polyauthSet.map((s) => [s.name, s.value, s.options.maxAge]), [
      ['__Host-Http-polyauth_at', '', 0],
      ['__Host-Http-polyauth_rt', '', 0],
    ])
  } finally {
    process.chdir(cwd)
    rmSync(dir, { recursive: true, force: true })
  }
})

const servicesRequired = ['CI', 'POLYAUTH_REQUIRE_SERVICES'].some((n) => {
  const v = process.env[n]
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
})

test(
  'a store outage is 503 store_unavailable with Retry-After and never clears the cookies',
  { skip: REDIS_SERVER || servicesRequired ? false : 'redis-server is not installed' },
  async () => {
    const redis = await privateRedis()
    try {
      const { auth } = app({ store: redis.url, sessionCheck: 0 })
      await auth.handlers.POST(post('register', { login: 'c@example.com', password: 'orbit-cactus-lantern-plum-7' }))
      const login = await auth.handlers.POST(post('login', { login: 'c@example.com', password: 'orbit-cactus-lantern-plum-7' }))
      const [access, refresh] = login.headers.getSetCookie().map((c) => c.split(';')[0])
      await redis.stop()

      const r = await auth.handlers.POST(post('refresh', {}, { 'content-type': 'text/plain', cookie: refresh, 'x-polyauth': '1', 'sec-fetch-site': 'same-origin' }))
      assert.equal(r.status, 503)
      assert.equal((await r.json()).code, 'store_unavailable')
      assert.equal(r.headers.get('retry-after'), '5')
      assert.deepEqual(r.headers.getSetCookie(), [], 'a transient failure never clears the cookies')
      const guarded = auth.withAuth(async () => Response.json({ ok: true }))
      const g = await guarded(new Request('https://app.example.com/x', { headers: { cookie: access } }), {})
      assert.equal(g.status, 503, 'the session check could not run: not a 401')
      assert.deepEqual(g.headers.getSetCookie(), [])
    } finally {
      redis.close()
    }
  },
)

test('withAuth verifies on a later turn of the event loop, not in the caller\'s microtasks', async () => {
  // Under load, the requests Node read together are then verified and answered together (their
  // responses written in one batch): bench/RESULTS-next.md.
  const { tokens, auth } = app()
  const token = tokens.issue('user-1', { claims: { scope: 'items:read' } })
  const request = (t) => new Request('https://app.example.com/x', { headers: { authorization: `Bearer ${t}` } })
  let handled = 0
  const guarded = auth.withAuth(async (_r, { principal }) => {
    handled += 1
    return Response.json({ subject: principal.subject })
  })
  assert.equal((await guarded(request(token), {})).status, 200) // the store and keys are open now
  for (const [t, status] of [[token, 200], [`${token}x`, 401]]) {
    let settled = false
    const before = handled
    const pending = guarded(request(t), {}).finally(() => {
      settled = true
    })
    for (let i = 0; i < 100; i++) await Promise.resolve()
    assert.equal(settled, false, 'answered within the microtasks of the call')
    assert.equal(handled, before)
    assert.equal((await pending).status, status)
    assert.equal(handled, before + (status === 200 ? 1 : 0))
  }
})

// ---- polyauth/next/config ----


test('withPolyauth adds polyauth to serverExternalPackages, keeping the user entries, once', () => {
  assert.deepEqual(withPolyauth({}).serverExternalPackages, ['polyauth'])
  assert.deepEqual(withPolyauth().serverExternalPackages, ['polyauth'])
  const user = { serverExternalPackages: ['sharp', 'polyauth', 'pg'], output: 'standalone', reactStrictMode: true }
  const out = withPolyauth(user)
  assert.deepEqual(out.serverExternalPackages, ['sharp', 'polyauth', 'pg'])
  assert.deepEqual(withPolyauth({ serverExternalPackages: ['sharp'] }).serverExternalPackages, ['sharp', 'polyauth'])
  assert.equal(out.output, 'standalone')
  assert.equal(out.reactStrictMode, true)
  // The user's object is not modified.
  assert.deepEqual(user.serverExternalPackages, ['sharp', 'polyauth', 'pg'])
  assert.throws(() => withPolyauth({ serverExternalPackages: 'polyauth' }), TypeError)
})

test('withPolyauth never adds a webpack key and passes the user webpack function through', () => {
  assert.equal('webpack' in withPolyauth({}), false)
  assert.equal('webpack' in withPolyauth({ output: 'standalone' }, { trustedOrigins: ['https://a.example.com'] }), false)
  const webpack = (c) => c
  assert.equal(withPolyauth({ webpack }).webpack, webpack)
})

test('withPolyauth trustedOrigins: hosts added to experimental.serverActions.allowedOrigins', () => {
  const out = withPolyauth(
    { experimental: { serverActions: { allowedOrigins: ['proxy.example.com'], bodySizeLimit: '2mb' }, other: 1 } },
    { trustedOrigins: ['https://app.example.com', 'http://localhost:3001', 'https://proxy.example.com'] },
  )
  assert.deepEqual(out.experimental.serverActions.allowedOrigins, ['proxy.example.com', 'app.example.com', 'localhost:3001'])
  assert.equal(out.experimental.serverActions.bodySizeLimit, '2mb')
  assert.equal(out.experimental.other, 1)
  assert.equal('experimental' in withPolyauth({}), false)
  assert.throws(() => withPolyauth({}, { trustedOrigins: ['app.example.com'] }), TypeError)
  assert.throws(() => withPolyauth({}, { trustedOrigins: ['https://app.example.com/path'] }), TypeError)
})

test('polyauth/next/config (ESM and CommonJS) does not load the native addon', () => {
  // /proc/self/maps lists every shared object the process has mapped, the .node addon included.
  const probe = (load) => `${load}.then((m) => {
    if (typeof m.withPolyauth !== 'function') throw new Error('no withPolyauth')
    const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8')
    const cached = Object.keys(require.cache).filter((k) => k.endsWith('.node'))
    console.log(JSON.stringify({ mapped: /polyauth[^/\\n]*\\.node/.test(maps), cached }))
  })`
  const run = (code) => {
    const r = spawnSync(process.execPath, ['-e', code], { cwd: REPO_ROOT, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  for (const load of ["Promise.resolve(require('polyauth/next/config'))", "import('polyauth/next/config')"]) {
    assert.deepEqual(run(probe(load)), { mapped: false, cached: [] }, load)
  }
  // The probe sees the addon when it is loaded (polyauth/next loads it).
  const control = run(probe("Promise.resolve(require('polyauth/next')).then(() => require('polyauth/next/config'))"))
  assert.equal(control.mapped, true)
})
