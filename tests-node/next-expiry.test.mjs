// Access-token expiry in a real browser and a store outage over HTTP, against examples/next (built
// once per run by next-app.mjs) with proxy.ts:
// - Chromium (playwright-core, Debian's chromium) with a 3-second access TTL: a click after expiry
//   stays signed in through one rotation; two tabs reloading at once both stay signed in; the
//   dashboard's createAuthFetch call and guarded Server Action refresh by themselves;
// - a private redis-server stopped under a running app: the page renders as expired and no cookie
//   is cleared.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { appSkip, assertFreshCopy, browserSkip, buildExample, required, signInWithForm, startApp, startBrowserApp } from './next-app.mjs'
import { REDIS_SERVER, privateRedis } from './helpers.mjs'

const ACCESS = '__Host-Http-polyauth_at'
const REFRESH = '__Host-Http-polyauth_rt'
const PASSWORD = 'meadow-orbit-lantern-quartz-52'
/** Seconds an access token (and its cookie) lives in the app under test. */
const ACCESS_TTL = 3
const login = (name) => `expiry-${name}@example.com`

describe('access-token expiry in Chromium (proxy.ts, createAuthFetch, action)', { skip: browserSkip }, () => {
  let app
  let base
  let sessions
  let subjects

  before(async () => {
    app = await startBrowserApp({
      env: { POLYAUTH_ACCESS_TTL: String(ACCESS_TTL) },
      users: Object.fromEntries(['link', 'tabs', 'fetch'].map((name) => [name, login(name)])),
      password: PASSWORD,
    })
    ;({ base, sessions, subjects } = app)
  })

  after(async () => {
    if (app) await app.close()
  })

  /** A signed-in context on the dashboard, recording every refresh cookie the server sets. */
  async function signedIn(name) {
    const ctx = await app.context()
    const issued = []
    ctx.on('response', async (response) => {
      for (const h of await response.headersArray().catch(() => [])) {
        if (h.name.toLowerCase() !== 'set-cookie') continue
        for (const line of h.value.split('\n')) {
          const m = line.match(new RegExp(`^${REFRESH}=([^;]*)`))
          if (m && m[1]) issued.push(m[1])
        }
      }
    })
    const page = await ctx.newPage()
    const r = await signInWithForm(page, { login: login(name), password: PASSWORD })
    assert.equal(r.error, null)
    await page.waitForURL('**/dashboard')
    const [only] = await sessions.list(subjects[name])
    return { ctx, page, issued, sessionId: only.sessionId }
  }

  const jar = async (ctx) => Object.fromEntries((await ctx.cookies(base)).map((c) => [c.name, c.value]))
  const pastExpiry = () => sleep(ACCESS_TTL * 1000 + 1200)

  test('after expiry a click is still signed in: one rotation, the same session', async () => {
    const { ctx, page, issued, sessionId } = await signedIn('link')
    assert.equal(issued.length, 1, 'the sign-in set one refresh cookie')
    await pastExpiry()
    assert.equal((await jar(ctx))[ACCESS], undefined, 'the browser dropped the expired access cookie')
    await page.click('#home-link')
    await page.waitForURL(`${base}/`)
    await page.waitForSelector('#status')
    assert.equal(await page.textContent('#status'), 'authenticated')
    assert.equal(await page.textContent('#subject'), subjects.link)
    // Back to the dashboard (its link was prefetched on the home page): no further rotation.
    await page.click('#dashboard-link')
    await page.waitForURL('**/dashboard')
    assert.equal(await page.textContent('#subject'), subjects.link)
    assert.equal(new Set(issued.slice(1)).size, 1, `one rotation after expiry, saw ${issued.length - 1} Set-Cookie`)
    const listed = await sessions.list(subjects.link)
    assert.deepEqual(listed.map((s) => s.sessionId), [sessionId], 'the same session, still active')
    assert.equal((await jar(ctx))[REFRESH], issued.at(-1))
  })

  test('two tabs reloading at once after expiry: both signed in, the session active', async () => {
    const { ctx, page, issued, sessionId } = await signedIn('tabs')
    const second = await ctx.newPage()
    await second.goto('/dashboard')
    await pastExpiry()
    await Promise.all([page.reload(), second.reload()])
    for (const p of [page, second]) {
      await p.waitForSelector('#subject')
      assert.equal(await p.textContent('#subject'), subjects.tabs)
    }
    assert.equal(await sessions.isActive(sessionId), true)
    assert.equal(new Set(issued.slice(1)).size, 1, 'the racing reloads shared one successor')
  })

  test("after expiry the dashboard's createAuthFetch call and guarded Server Action refresh by themselves", async () => {
    const { page, sessionId } = await signedIn('fetch')
    await pastExpiry()
    await page.click('#call-api')
    await page.waitForFunction(() => document.querySelector('#api-result')?.textContent !== '')
    assert.equal(await page.textContent('#api-result'), `ok ${subjects.fetch}`)
    await pastExpiry()
    await page.click('#call-action')
    await page.waitForFunction(() => document.querySelector('#action-result')?.textContent !== '')
    assert.equal(await page.textContent('#action-result'), `ok ${subjects.fetch}`)
    assert.equal(await sessions.isActive(sessionId), true)
  })
})

describe('a store outage under a running app', { skip: appSkip || (REDIS_SERVER || required ? false : 'redis-server is not installed') }, () => {
  let redis
  let app

  before(async () => {
    assertFreshCopy()
    await buildExample()
    // A private redis-server (never the shared one), stopped in the middle of the test.
    redis = await privateRedis()
    app = await startApp({ env: { POLYAUTH_STORE: redis.url, POLYAUTH_SESSION_CHECK: '0' } })
  })

  after(async () => {
    if (app) await app.stop()
    if (redis) redis.close()
  })

  test('the page renders as expired and every cookie is kept', async () => {
    const post = (path, body) =>
      fetch(`${app.base}/api/auth/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const user = { login: 'outage@example.com', password: PASSWORD }
    assert.equal((await post('register', user)).status, 201)
    const signedIn = await post('login', user)
    assert.equal(signedIn.status, 200)
    const cookies = Object.fromEntries(signedIn.headers.getSetCookie().map((c) => c.split(';')[0].split('=')))
    const render = async (cookie) => {
      const r = await fetch(`${app.base}/`, { headers: { cookie }, redirect: 'manual' })
      assert.equal(r.status, 200)
      return { status: (await r.text()).match(/<span id="status">([a-z]+)<\/span>/)?.[1], setCookie: r.headers.getSetCookie() }
    }
    const both = `${ACCESS}=${cookies[ACCESS]}; ${REFRESH}=${cookies[REFRESH]}`
    assert.equal((await render(both)).status, 'authenticated')

    await redis.stop()
    for (const cookie of [both, `${REFRESH}=${cookies[REFRESH]}`]) {
      const page = await render(cookie)
      assert.equal(page.status, 'expired', cookie.startsWith(ACCESS) ? 'session check failed' : 'refresh failed')
      assert.deepEqual(page.setCookie, [], 'a transient failure never clears the cookies')
    }
    const dashboard = await fetch(`${app.base}/dashboard`, { headers: { cookie: both }, redirect: 'manual' })
    assert.deepEqual(dashboard.headers.getSetCookie(), [])
  })
})
