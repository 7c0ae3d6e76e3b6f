// polyauth/next in a browser: examples/next (built once with next-http.test.mjs, see next-app.mjs)
// driven by Debian's chromium through playwright-core. The app is used at http://localhost:<port>
// (a secure context: the __Host- / Secure cookies work without TLS); attacker pages come from a
// tiny node:http server, at http://127.0.0.1:<port> (cross-site) and http://localhost:<other port>
// (same-site: another port of the same host).
//
// Skipped only when /usr/bin/chromium is absent and CI is not set; with CI=true it must run.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Totp } from 'polyauth'
import { browserSkip, signInWithForm, startBrowserApp, submitMfaCode } from './next-app.mjs'

/** Seconds a session's revocation state is cached by the app under test (POLYAUTH_SESSION_CHECK). */
const SESSION_CHECK = 1
const ACCESS = '__Host-Http-polyauth_at'
const REFRESH = '__Host-Http-polyauth_rt'
const PASSWORD = 'lantern-quartz-meadow-orbit-31'
const USERS = ['signin', 'signout', 'everywhere', 'revoke', 'enroll', 'victim']
const login = (name) => `browser-${name}@example.com`

describe('polyauth/next in Chromium (playwright-core)', { skip: browserSkip }, () => {
  let app
  let base
  let browser
  let sessions
  let subjects
  let context
  const attackers = []
  const totp = new Totp()

  before(async () => {
    app = await startBrowserApp({
      env: { POLYAUTH_SESSION_CHECK: String(SESSION_CHECK) },
      users: Object.fromEntries(USERS.map((name) => [name, login(name)])),
      password: PASSWORD,
    })
    ;({ base, browser, sessions, subjects, context } = app)
  })

  after(async () => {
    for (const server of attackers) await new Promise((resolve) => server.close(resolve))
    if (app) await app.close()
  })

  /** A page of a new context, signed in as `name` through the form and on the dashboard. */
  async function signedIn(name) {
    const ctx = await context()
    const page = await ctx.newPage()
    const result = await signInWithForm(page, { login: login(name), password: PASSWORD })
    assert.equal(result.error, null)
    await page.waitForURL('**/dashboard')
    return { ctx, page }
  }

  const authCookies = async (ctx) => (await ctx.cookies(base)).filter((c) => c.name.startsWith('__Host-'))

  test('sign in through the form: the dashboard shows the user, with __Host- cookies (HttpOnly, Secure, Lax)', async () => {
    const ctx = await context()
    const page = await ctx.newPage()
    const wrong = await signInWithForm(page, { login: login('signin'), password: 'not-the-password-at-all' })
    assert.equal(wrong.error, 'invalid_credentials')
    assert.deepEqual(await authCookies(ctx), [])
    const ok = await signInWithForm(page, { login: login('signin'), password: PASSWORD })
    assert.equal(ok.error, null)
    await page.waitForURL('**/dashboard')
    assert.equal(await page.textContent('#subject'), subjects.signin)
    const jar = await authCookies(ctx)
    assert.deepEqual(jar.map((c) => c.name).sort(), [ACCESS, REFRESH])
    for (const c of jar) {
      assert.equal(c.httpOnly, true, c.name)
      assert.equal(c.secure, true, c.name)
      assert.equal(c.sameSite, 'Lax', c.name)
      assert.equal(c.path, '/', c.name)
    }
  })

  test('sign out removes the __Host- cookies from the cookie jar and ends the session', async () => {
    const { ctx, page } = await signedIn('signout')
    assert.equal((await authCookies(ctx)).length, 2)
    const [sid] = (await sessions.list(subjects.signout)).map((s) => s.sessionId)
    await page.click('#sign-out button')
    await page.waitForURL(`${base}/`)
    assert.deepEqual(await authCookies(ctx), [])
    assert.equal(await sessions.isActive(sid), false)
    assert.equal(await page.textContent('#status'), 'anonymous')
  })

  test('sign out everywhere (on /sessions) in one context reaches another context within sessionCheck', async () => {
    const a = await signedIn('everywhere')
    const b = await signedIn('everywhere')
    await a.page.click('#sessions-link')
    await a.page.waitForURL('**/sessions')
    const rows = a.page.locator('#sessions li')
    assert.equal(await rows.count(), 2)
    assert.equal(await a.page.locator('#sessions li[data-current="true"]').count(), 1, 'the current session is marked')
    await a.page.click('#sign-out-everywhere button')
    await a.page.waitForURL(`${base}/`)
    const revokedAt = Date.now()
    assert.deepEqual(await sessions.list(subjects.everywhere), [])
    // B still holds its cookies; within sessionCheck its next page load sees the revocation.
    for (;;) {
      await b.page.goto('/dashboard')
      if (new URL(b.page.url()).pathname === '/sign-in') break
      assert.ok(Date.now() - revokedAt < (SESSION_CHECK + 3) * 1000, 'B was still signed in after sessionCheck')
      await sleep(250)
    }
    assert.equal(new URL(b.page.url()).searchParams.get('next'), '/dashboard')
  })

  test('/sessions: revoking another session ends it there; the current one stays', async () => {
    const a = await signedIn('revoke')
    const b = await signedIn('revoke')
    await a.page.goto('/sessions')
    const other = a.page.locator('#sessions li[data-current="false"]')
    const otherSid = await other.getAttribute('data-session-id')
    await other.locator('button').click()
    await a.page.waitForFunction((sid) => !document.querySelector(`#sessions li[data-session-id="${sid}"]`), otherSid)
    assert.equal(await a.page.locator('#sessions li').count(), 1)
    assert.equal(await sessions.isActive(otherSid), false)
    assert.equal((await authCookies(a.ctx)).length, 2, 'revoking another session keeps this one signed in')
    await sleep(SESSION_CHECK * 1000 + 200)
    await b.page.goto('/dashboard')
    assert.equal(new URL(b.page.url()).pathname, '/sign-in')
  })

  test('MFA: enroll on /settings/mfa, then sign in with a wrong code (error) and the right one (dashboard, amr otp)', async () => {
    const { ctx, page } = await signedIn('enroll')
    await page.click('#mfa-link')
    await page.waitForURL('**/settings/mfa')
    assert.equal(await page.getAttribute('#mfa-status', 'data-status'), 'disabled')
    await page.click('#mfa button[type=submit]')
    const secret = (await page.locator('#mfa-secret').textContent()).trim()
    assert.match(await page.textContent('#mfa-uri'), /^otpauth:\/\/totp\/.*secret=/)
    const sessionBefore = (await sessions.list(subjects.enroll)).map((s) => s.sessionId)
    await page.fill('#mfa-code', totp.code(secret))
    await page.click('#mfa button[type=submit]')
    await page.waitForSelector('#recovery-codes')
    assert.equal(await page.locator('#recovery-codes li').count(), 10)
    // Confirming replaced the session (new sid, amr pwd+otp) and the browser holds the new cookies.
    const sessionAfter = (await sessions.list(subjects.enroll)).map((s) => s.sessionId)
    assert.equal(sessionAfter.length, 1)
    assert.ok(!sessionBefore.includes(sessionAfter[0]))
    await page.goto('/dashboard')
    assert.match(await page.textContent('main p'), /pwd, otp/)
    await page.goto('/settings/mfa')
    assert.equal(await page.getAttribute('#mfa-status', 'data-status'), 'enabled')
    assert.equal(await page.locator('#recovery-codes').count(), 0, 'recovery codes are shown once')

    await page.goto('/dashboard')
    await page.click('#sign-out button')
    await page.waitForURL(`${base}/`)
    assert.deepEqual(await authCookies(ctx), [])
    // The confirmation spent this step's code: the sign-in uses the next one (within the window).
    const code = totp.code(secret, { now: Math.floor(Date.now() / 1000) + 30 })
    const wrong = await signInWithForm(page, { login: login('enroll'), password: PASSWORD, code: code === '000000' ? '111111' : '000000' })
    assert.equal(wrong.error, 'totp_invalid')
    assert.equal(await page.isVisible('#error'), true)
    assert.deepEqual(await authCookies(ctx), [])
    const right = await submitMfaCode(page, code)
    assert.equal(right.error, null)
    await page.waitForURL('**/dashboard')
    assert.equal(await page.textContent('#subject'), subjects.enroll)
    assert.match(await page.textContent('main p'), /pwd, otp/)
  })

  test('CSRF: cross-site and same-site attacker pages posting to the route handlers and to a Server Action change nothing', async () => {
    const victim = await signedIn('victim')
    await signedIn('victim') // a second session, which revoke and logout-all would end
    const before = (await sessions.list(subjects.victim)).map((s) => s.sessionId).sort()
    assert.equal(before.length, 2)
    const current = await victim.page.evaluate(async () => (await (await fetch('/api/auth/sessions')).json()).find((s) => s.current).session_id)
    const other = before.find((s) => s !== current)

    // The real sign-out-everywhere form's hidden fields ($ACTION_ID_..., everywhere=1) as the server
    // renders them for the victim (hydrated React keeps the action reference out of the DOM).
    const actionFields = await victim.page.evaluate(async () => {
      const html = await (await fetch('/dashboard')).text()
      const form = new DOMParser().parseFromString(html, 'text/html').querySelector('#sign-out-everywhere')
      return [...form.querySelectorAll('input[type=hidden]')].map((i) => [i.name, i.value])
    })
    assert.ok(actionFields.some(([name]) => name.startsWith('$ACTION_ID_')), JSON.stringify(actionFields))

    const attacks = {
      'logout-all': { action: `${base}/api/auth/logout-all`, fields: [['x', '1']] },
      // text/plain turns `name=value` into a JSON body: the classic JSON CSRF.
      revoke: { action: `${base}/api/auth/sessions/revoke`, enctype: 'text/plain', fields: [[`{"session_id":"${other}","x":"`, '"}']] },
      'server-action': { action: `${base}/dashboard`, enctype: 'multipart/form-data', fields: actionFields },
    }
    const escape = (v) => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
    const handler = (req, res) => {
      const a = attacks[req.url.slice(1)]
      if (!a) {
        res.writeHead(404).end()
        return
      }
      const inputs = a.fields.map(([n, v]) => `<input type="hidden" name="${escape(n)}" value="${escape(v)}">`).join('')
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><form id="f" method="POST" action="${escape(a.action)}" enctype="${a.enctype ?? 'application/x-www-form-urlencoded'}">${inputs}</form><script>document.getElementById('f').submit()</script>`)
    }
    const listen = (host) =>
      new Promise((resolve) => {
        const server = createServer(handler)
        attackers.push(server)
        server.listen(0, host, () => resolve(server.address().port))
      })
    const crossSite = `http://127.0.0.1:${await listen('127.0.0.1')}`
    const sameSite = `http://localhost:${await listen('127.0.0.1')}`

    const outcomes = []
    for (const origin of [crossSite, sameSite]) {
      for (const name of Object.keys(attacks)) {
        // The victim's browser (its cookie jar) opens the attacker's page, which submits the form.
        const page = await victim.ctx.newPage()
        const answered = page.waitForResponse((r) => r.url().startsWith(base) && r.request().method() === 'POST')
        await page.goto(`${origin}/${name}`)
        const response = await answered
        const text = await response.text().catch(() => '')
        const sentHeaders = await response.request().allHeaders()
        const location = (await response.allHeaders()).location ?? null
        outcomes.push({ origin, name, status: response.status(), location, site: sentHeaders['sec-fetch-site'], cookie: 'cookie' in sentHeaders, text })
        await page.close()
      }
    }
    for (const o of outcomes) {
      const label = `${o.name} from ${o.origin} (${o.site}): ${o.status} ${o.location ?? ''} ${o.text.slice(0, 200)}`
      if (o.name === 'server-action' && !o.cookie) {
        // No session reaches the app: proxy.ts sends the POST to the sign-in page before any action runs.
        assert.ok(o.status >= 400 || (o.status === 307 && o.location?.startsWith('/sign-in')), label)
      } else {
        assert.ok(o.status >= 400, label)
      }
      if (o.name !== 'server-action' && o.cookie) assert.equal(JSON.parse(o.text).code, 'csrf_failed', label)
    }
    // The same-site attacker's requests carried the victim's cookies (SameSite does not stop it), yet were refused.
    const sameSiteRoutes = outcomes.filter((o) => o.origin === sameSite && o.name !== 'server-action')
    assert.ok(sameSiteRoutes.every((o) => o.site === 'same-site' && o.cookie && o.status === 403), JSON.stringify(sameSiteRoutes))
    assert.ok(outcomes.find((o) => o.origin === sameSite && o.name === 'server-action').cookie, 'the replayed Server Action carried the cookies')
    // Cross-site, SameSite=Lax kept the cookies out of the POSTs: the route handlers saw no session.
    assert.ok(outcomes.filter((o) => o.origin === crossSite).every((o) => o.site === 'cross-site' && !o.cookie))
    assert.match(app.output(), /Invalid Server Actions request/)

    // Nothing changed in the store, and the victim is still signed in with both cookies.
    assert.deepEqual((await sessions.list(subjects.victim)).map((s) => s.sessionId).sort(), before)
    for (const sid of before) assert.equal(await sessions.isActive(sid), true)
    assert.equal((await authCookies(victim.ctx)).length, 2)
    await victim.page.goto('/dashboard')
    assert.equal(await victim.page.textContent('#subject'), subjects.victim)
  })
})
