#!/usr/bin/env node
// `make demo`: the full-stack app (the Next.js front end of examples/next and the FastAPI API of
// examples/fullstack/api.py) sharing one key set and one store, driven through a scripted browser
// journey with Debian's chromium (playwright-core). Prints what each side did, writes screenshots
// to examples/fullstack/screenshots/, stops both servers and exits 0 only if every step held.
//
//   node examples/fullstack/demo.mjs           the journey (a fresh SQLite store per run)
//   node examples/fullstack/demo.mjs --serve   start both servers and leave them running
//
// Keys (a private JWKS) and the MFA key are generated on first run into examples/fullstack/.data/.
// DATABASE_URL (e.g. postgres://...) replaces the SQLite store for both servers.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { KeySet, Mfa, Totp } from 'polyauth'
import { buildExample } from '../../tests-node/next-app.mjs'

const ROOT = resolve(import.meta.dirname, '..', '..')
const HERE = join(ROOT, 'examples', 'fullstack')
const DATA = join(HERE, '.data')
const SHOTS = join(HERE, 'screenshots')
const WEB = join(ROOT, 'examples', 'next')
const NEXT_BIN = join(WEB, 'node_modules', 'next', 'dist', 'bin', 'next')
const PYTHON = process.env.PYTHON ?? join(ROOT, '.venv', 'bin', 'python')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const serve = process.argv.includes('--serve')
// Short lifetimes so the journey shows a refresh and a reuse within seconds.
const ACCESS_TTL = serve ? 900 : 5
const REUSE_GRACE = serve ? 30 : 2

const say = (line = '') => console.log(line)
const children = []
let step = 0

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

/** The key set and MFA key, generated once into .data/ (kept out of git). */
function secrets() {
  mkdirSync(DATA, { recursive: true, mode: 0o700 })
  const jwksFile = join(DATA, 'jwks.json')
  if (!existsSync(jwksFile)) {
    writeFileSync(jwksFile, JSON.stringify(KeySet.generate('EdDSA').toJwks({ includePrivate: true })), { mode: 0o600 })
    say(`generated a signing key: ${jwksFile}`)
  }
  const mfaFile = join(DATA, 'mfa.key')
  if (!existsSync(mfaFile)) writeFileSync(mfaFile, Mfa.generateKey(), { mode: 0o600 })
  return { jwksFile, jwks: readFileSync(jwksFile, 'utf8'), mfaKey: readFileSync(mfaFile, 'utf8').trim() }
}

async function start(name, cmd, args, { cwd, env, ready }) {
  let output = ''
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  children.push(child)
  const deadline = Date.now() + 60_000
  for (;;) {
    check(child.exitCode === null, `${name} exited:\n${output}`)
    try {
      if ((await fetch(ready)).ok) return { output: () => output }
    } catch {
      // not listening yet
    }
    check(Date.now() < deadline, `${name} did not answer within 60 s:\n${output}`)
    await sleep(200)
  }
}

async function stopAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
  await sleep(300)
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}

/** One step of the transcript: its title, then what each side did (the lines `run` returns). */
async function journeyStep(page, title, run) {
  step += 1
  say(`\n[${step}] ${title}`)
  const lines = await run()
  for (const line of lines) say(`    ${line}`)
  const shot = join(SHOTS, `${String(step).padStart(2, '0')}-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/-$/, '')}.png`)
  await page.screenshot({ path: shot, fullPage: true })
  say(`    screenshot: ${shot.slice(ROOT.length + 1)}`)
}

/** The otpauth:// URI in a QR code image, decoded with zbarimg (zbar-tools). */
function decodeQr(png) {
  const r = spawnSync('zbarimg', ['--raw', '-q', png], { encoding: 'utf8' })
  check(r.status === 0 && r.stdout.startsWith('otpauth://'), `zbarimg could not read the QR code (install zbar-tools): ${r.stderr}`)
  return r.stdout.trim()
}

async function main() {
  const { jwksFile, jwks, mfaKey } = secrets()
  const runDir = serve ? DATA : mkdtempSync(join(tmpdir(), 'polyauth-demo-'))
  const store = process.env.DATABASE_URL ?? `sqlite://${join(runDir, 'polyauth.db')}`
  const [webPort, apiPort] = [await freePort(), await freePort()]
  const web = `http://localhost:${webPort}`
  const api = `http://127.0.0.1:${apiPort}`
  const shared = {
    POLYAUTH_ISSUER: web,
    POLYAUTH_MFA_KEY: mfaKey,
    POLYAUTH_REUSE_GRACE: String(REUSE_GRACE),
    POLYAUTH_SESSION_CHECK: '1',
  }
  try {
    say(`store: ${store.replace(/\/\/[^@/]*@/, '//***@')}`)
    // The Node tests' build of examples/next when its sources are unchanged (one `next build` per
    // CI run); otherwise a new one.
    say('building the front end (next build, unless .next is of the same sources) ...')
    const { built } = await buildExample()
    say(built ? 'front end built' : 'front end: reused .next (same sources)')
    await start('FastAPI (uvicorn)', PYTHON, ['-m', 'uvicorn', 'examples.fullstack.api:app', '--host', '127.0.0.1', '--port', String(apiPort), '--log-level', 'warning'], {
      cwd: ROOT,
      env: { ...shared, POLYAUTH_JWKS_FILE: jwksFile, DATABASE_URL: store },
      ready: `${api}/healthz`,
    })
    await start('Next.js (next start)', process.execPath, [NEXT_BIN, 'start', '-p', String(webPort), '-H', '127.0.0.1'], {
      cwd: WEB,
      env: {
        ...shared,
        NEXT_TELEMETRY_DISABLED: '1',
        POLYAUTH_JWKS: jwks,
        POLYAUTH_STORE: store,
        POLYAUTH_API_URL: api,
        POLYAUTH_ACCESS_TTL: String(ACCESS_TTL),
        POLYAUTH_LEEWAY: '0',
      },
      ready: `${web.replace('localhost', '127.0.0.1')}/api/public`,
    })
    say(`front end: ${web}   (Next.js: sign-up, sign-in with MFA, dashboard, sessions)`)
    say(`API:       ${api}   (FastAPI: /api/notes, /auth/..., /.well-known/jwks.json, /docs)`)
    if (serve) {
      say('\nboth servers are running; Ctrl-C stops them')
      await new Promise((resolveStop) => process.once('SIGINT', resolveStop))
      return 0
    }
    await journey(web, api)
    say('\nevery step held')
    return 0
  } finally {
    await stopAll()
    if (!serve) rmSync(runDir, { recursive: true, force: true })
  }
}

async function journey(web, api) {
  const { chromium } = await import('playwright-core')
  rmSync(SHOTS, { recursive: true, force: true })
  mkdirSync(SHOTS, { recursive: true })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  try {
    const context = await browser.newContext({ baseURL: web })
    const page = await context.newPage()
    const refreshCookies = []
    context.on('response', async (response) => {
      for (const h of await response.headersArray().catch(() => [])) {
        if (h.name.toLowerCase() !== 'set-cookie') continue
        const m = h.value.match(/__Host-Http-polyauth_rt=([^;]+)/)
        if (m) refreshCookies.push(m[1])
      }
    })
    const jar = async () => Object.fromEntries((await context.cookies(web)).map((c) => [c.name, c.value]))
    const login = `demo-${Date.now()}@example.com`
    const password = 'harbor-lantern-quartz-meadow-17'
    const totp = new Totp()
    // TOTP codes are single-use per time step (replay protection): each code here comes from a
    // later step than the one before (the verifier accepts one step of clock skew).
    let lastStep = 0
    const nextCode = () => {
      lastStep = Math.max(Math.floor(Date.now() / 30_000), lastStep + 1)
      return totp.code(secret, { now: lastStep * 30 })
    }
    const at = (path) => (url) => url.pathname === path
    let secret
    let recovery
    let subject
    let webSession
    const apiCall = (path, init = {}) => fetch(`${api}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init.headers } })

    await journeyStep(page, 'Sign up through the Next.js front end', async () => {
      await page.goto('/sign-up')
      await page.fill('#login', login)
      await page.fill('#password', password)
      await page.click('#sign-up button[type=submit]')
      await page.waitForURL(at('/dashboard'))
      subject = await page.textContent('#subject')
      const seen = await page.textContent('#api-subject')
      webSession = await page.textContent('#api-session')
      check(seen === subject, `the API saw ${seen}, the front end ${subject}`)
      return [
        `web: account ${login} created (role member), session started, cookies __Host-Http-polyauth_at/_rt set`,
        `web: the dashboard (a Server Component) called the API with accessToken() as a bearer`,
        `api: verified the front end's token with the shared key set: subject ${subject}, session ${webSession}`,
      ]
    })

    await journeyStep(page, 'Enroll MFA from the QR code', async () => {
      await page.goto('/settings/mfa')
      await page.click('#mfa button[type=submit]')
      const qr = page.locator('#mfa img')
      await qr.waitFor()
      const png = join(SHOTS, 'qr.png')
      await qr.screenshot({ path: png })
      const uri = decodeQr(png)
      rmSync(png)
      secret = new URL(uri).searchParams.get('secret')
      check(secret === (await page.textContent('#mfa-secret')), 'the QR code and the page show the same secret')
      await page.fill('#mfa-code', nextCode())
      await page.click('#mfa button[type=submit]')
      await page.waitForSelector('#recovery-codes')
      recovery = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim())
      check(recovery.length > 0, 'recovery codes shown')
      return [
        `web: enrollment started; the QR code decodes to ${uri.replace(/secret=[A-Z2-7]+/, 'secret=<hidden>')}`,
        'browser: a code computed from that secret confirmed the factor',
        `web: the session was replaced (new sid, amr pwd+otp); ${recovery.length} recovery codes shown once`,
      ]
    })

    await journeyStep(page, 'Sign out, then sign in with the password and a TOTP code', async () => {
      await page.goto('/dashboard')
      await page.click('#sign-out button[type=submit]')
      await page.waitForURL(at('/'))
      const afterOut = await jar()
      check(!afterOut['__Host-Http-polyauth_at'] && !afterOut['__Host-Http-polyauth_rt'], 'sign-out removed the cookies')
      await page.goto('/sign-in?next=/dashboard')
      await page.fill('#login', login)
      await page.fill('#password', password)
      await page.click('#sign-in button[type=submit]')
      await page.waitForSelector('#code')
      await page.fill('#code', nextCode())
      await page.click('#sign-in button[type=submit]')
      await page.waitForURL(at('/dashboard'))
      const amr = await page.textContent('#api-amr')
      check(amr === 'pwd, otp', `amr ${amr}`)
      webSession = await page.textContent('#api-session')
      return ['web: signed out (session revoked, cookies cleared)', `web: password step → mfa_required; the code → new session ${webSession}`, `api: the bearer says amr ${amr}`]
    })

    await journeyStep(page, 'Call the API through the dashboard', async () => {
      await page.fill('#note-text', 'written through Next.js, stored by FastAPI')
      await page.click('#add-note button[type=submit]')
      await page.waitForSelector('#notes li')
      const notes = await page.locator('#notes li').allTextContents()
      check(notes.includes('written through Next.js, stored by FastAPI'), `notes: ${notes}`)
      return ['web: a Server Action POSTed the note to the API with the user\'s bearer', 'api: notes:write granted by the member role; the note is listed back']
    })

    let apiTokens
    await journeyStep(page, 'Sign in through FastAPI with the same account', async () => {
      const first = await apiCall('/auth/login', { method: 'POST', body: JSON.stringify({ login, password }) })
      const step1 = await first.json()
      check(first.status === 200 && step1.status === 'mfa_required', `FastAPI /auth/login: ${JSON.stringify(step1)}`)
      // The TOTP code was just used by the browser (replay-protected): a recovery code instead.
      const second = await apiCall('/auth/mfa/verify', { method: 'POST', body: JSON.stringify({ mfa_token: step1.mfa_token, recovery_code: recovery[0] }) })
      apiTokens = await second.json()
      check(second.status === 200 && apiTokens.access_token, `FastAPI /auth/mfa/verify: ${second.status}`)
      const notes = await (await apiCall('/api/notes', { headers: { authorization: `Bearer ${apiTokens.access_token}` } })).json()
      check(notes.subject === subject && notes.notes.length === 1, JSON.stringify(notes))
      await page.goto('/sessions')
      const rows = await page.locator('#sessions li').count()
      check(rows === 2, `the front end lists ${rows} sessions`)
      return [
        'api: /auth/login → mfa_required; /auth/mfa/verify with a recovery code → tokens (bearer-only API)',
        `api: same subject ${subject}, second session ${notes.session_id}; it sees the note written through Next.js`,
        'web: /sessions lists both sessions (one store)',
      ]
    })

    const stolen = (await jar())['__Host-Http-polyauth_rt']
    await journeyStep(page, 'Watch a refresh happen', async () => {
      const before = refreshCookies.length
      await sleep(ACCESS_TTL * 1000 + 1500)
      check(!(await jar())['__Host-Http-polyauth_at'], 'the access cookie expired in the browser')
      await page.goto('/dashboard')
      await page.waitForSelector('#subject')
      const rotated = [...new Set(refreshCookies.slice(before))]
      check(rotated.length === 1 && rotated[0] !== stolen, `rotations seen: ${rotated.length}`)
      check((await page.textContent('#api-session')) === webSession, 'the same session')
      return [
        `browser: the ${ACCESS_TTL}-second access cookie expired`,
        'web: proxy.ts refreshed once (single-flight) and the same render already saw the new cookies',
        `api: the new bearer verifies; still session ${webSession}`,
      ]
    })

    await journeyStep(page, 'Revoke the other session', async () => {
      await page.goto('/sessions')
      await page.locator('#sessions li[data-current="false"] button').click()
      await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1)
      await sleep(1500) // the API's session_check (1 s here)
      const refused = await apiCall('/api/notes', { headers: { authorization: `Bearer ${apiTokens.access_token}` } })
      const body = await refused.json()
      check(refused.status === 401 && body.code === 'session_revoked', `${refused.status} ${JSON.stringify(body)}`)
      return ['web: revoked the FastAPI session from /sessions', `api: its still-unexpired bearer is now refused: 401 ${body.code}`]
    })

    await journeyStep(page, "A stolen refresh token's reuse revokes the session", async () => {
      await sleep(REUSE_GRACE * 1000 + 500)
      const replay = await apiCall('/auth/refresh', { method: 'POST', body: JSON.stringify({ refresh_token: stolen }) })
      const body = await replay.json()
      check(replay.status === 401 && body.code === 'refresh_reused', `${replay.status} ${JSON.stringify(body)}`)
      await sleep(1500)
      await page.goto('/dashboard')
      await page.waitForURL(at('/sign-in'))
      const left = await jar()
      check(!left['__Host-Http-polyauth_rt'], 'the browser lost its refresh cookie')
      return [
        'thief: replayed the refresh cookie copied before the rotation, at the API',
        `api: 401 ${body.code}: the whole session is revoked`,
        'web: the next page load finds the session revoked; proxy.ts clears the cookies and sends the user to /sign-in',
      ]
    })
  } finally {
    await browser.close()
  }
}

const started = Date.now()
main()
  .then((code) => {
    say(`(${((Date.now() - started) / 1000).toFixed(0)} s)`)
    process.exit(code)
  })
  .catch(async (e) => {
    console.error(`\nFAILED at step ${step}: ${e.message}`)
    await stopAll()
    process.exit(1)
  })
