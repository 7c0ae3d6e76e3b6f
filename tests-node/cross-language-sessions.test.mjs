// One session, two languages: Node and Python (the polyauth package in the repository's .venv)
// share the same store (one SQLite file, one PostgreSQL namespace, one Redis namespace) and the
// same private JWKS (vectors/tokens.json keys.EdDSA), and rotate, revoke and detect reuse of each
// other's refresh tokens (DESIGN.md §6: "shared by every instance and both languages"); and one
// enrolls a second factor that the other confirms, with codes accepted once across both.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { KeySet, Mfa, PolyauthError, Sessions, Store, Tokens, Totp } from 'polyauth'
import { REPO_ROOT, expectCode, loadProjectVectors, servicesRequired, storeBackends, vectorsRequired } from './helpers.mjs'

const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python')
const VECTORS = loadProjectVectors('tokens.json')
const JWKS = VECTORS.keys.EdDSA
const ISSUER = VECTORS.issuer
const AUDIENCE = VECTORS.audience

/** Skip reason when the Python package is not importable here (a failure in CI). */
function pythonSkip() {
  let reason
  if (!existsSync(PYTHON)) reason = `${PYTHON} not found (make build-python)`
  else {
    const r = spawnSync(PYTHON, ['-c', 'import polyauth'], { encoding: 'utf8', timeout: 30_000 })
    if (r.status !== 0) reason = `import polyauth failed in ${PYTHON}: ${r.stderr.trim().split('\n').pop()}`
  }
  if (reason === undefined || servicesRequired() || vectorsRequired()) return false
  return reason
}
const PYTHON_SKIP = pythonSkip()

// Runs a list of [op, arg] against the store at `url` in one Python process; each op's result is
// its value as JSON or { error: code }.
const PY_SCRIPT = `
import asyncio, json, sys
import polyauth

def pair(p):
    return {"access_token": p.access_token, "refresh_token": p.refresh_token,
            "session_id": p.session_id, "expires_in": p.expires_in,
            "refresh_expires_at": p.refresh_expires_at}

async def main(req):
    keys = polyauth.KeySet.from_jwks(json.dumps(req["jwks"]))
    tokens = polyauth.Tokens(keys, issuer=req["issuer"], audience=req["audience"])
    store = await polyauth.Store.open(req["url"])
    sessions = polyauth.Sessions(store, tokens)
    out = []
    for op, arg in req["ops"]:
        try:
            if op == "start":
                r = pair(await sessions.start(arg["subject"], arg.get("claims"), arg.get("meta")))
            elif op == "refresh":
                r = pair(await sessions.refresh(arg))
            elif op == "revoke":
                r = await sessions.revoke(arg)
            elif op == "is_active":
                r = await sessions.is_active(arg)
            elif op == "list":
                r = await sessions.list(arg)
            elif op == "verify":
                r = tokens.verify(arg)
            elif op.startswith("mfa_"):
                mfa = polyauth.Mfa(store, polyauth.Totp(issuer="polyauth xlang"), arg["key"])
                s, code, now = arg["subject"], arg.get("code"), arg.get("now")
                if op == "mfa_begin":
                    e = await mfa.begin_enrollment(s, arg["account"], now=now)
                    r = {"secret": e.secret, "uri": e.uri}
                elif op == "mfa_confirm":
                    r = await mfa.confirm(s, code, now=now)
                elif op == "mfa_verify":
                    r = await mfa.verify(s, code, now=now)
                elif op == "mfa_recovery":
                    r = await mfa.verify_recovery_code(s, code, now=now)
                else:
                    r = await mfa.status(s)
            else:
                raise SystemExit("unknown op " + op)
        except polyauth.AuthError as e:
            r = {"error": e.code}
        out.append(r)
    return {"backend": store.backend, "results": out}

print(json.dumps(asyncio.run(main(json.loads(sys.stdin.read())))))
`

function python(url, ops) {
  const request = JSON.stringify({ url, jwks: JWKS, issuer: ISSUER, audience: AUDIENCE, ops })
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', PY_SCRIPT], { cwd: REPO_ROOT, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed (${err.code ?? err.signal}): ${stderr}`))
      try {
        resolve(JSON.parse(stdout))
      } catch {
        reject(new Error(`python printed no JSON: ${stdout} ${stderr}`))
      }
    })
    child.stdin.end(request)
  })
}

/** Runs ops in Python and returns their results, checking the backend Python opened. */
async function py(url, backend, ...ops) {
  const out = await python(url, ops)
  assert.equal(out.backend, backend)
  return out.results
}

const BACKENDS = (await storeBackends(Store)).filter((b) => b.name !== 'memory')
const unique = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`
const CLAIMS = { scope: 'read write', amr: ['pwd', 'otp'], roles: ['admin'] }

function nodeSide(store) {
  const tokens = new Tokens(KeySet.fromJwks(JWKS), { issuer: ISSUER, audience: AUDIENCE })
  return { tokens, sessions: new Sessions(store, tokens) }
}

function assertAccess(claims, subject, sessionId) {
  assert.equal(claims.sub, subject)
  assert.equal(claims.sid, sessionId)
  assert.equal(claims.iss, ISSUER)
  assert.equal(claims.scope, CLAIMS.scope)
  assert.deepEqual(claims.amr, CLAIMS.amr)
  assert.deepEqual(claims.roles, CLAIMS.roles)
}

describe('sessions shared between Node and Python', { concurrency: true, skip: PYTHON_SKIP }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      test('Node starts; Python and Node refresh each other; Python revokes; Node sees session_revoked', async () => {
        const url = backend.url()
        const { tokens, sessions } = nodeSide(await Store.open(url))
        const subject = unique('node-first')
        const n0 = await sessions.start(subject, { claims: CLAIMS, meta: { userAgent: 'node', ip: '192.0.2.1' } })

        const [p1, p1claims] = await py(url, backend.name, ['refresh', n0.refreshToken], ['verify', n0.accessToken])
        assert.equal(p1.error, undefined, `Python refresh of Node's token: ${p1.error}`)
        assert.equal(p1.session_id, n0.sessionId)
        assert.match(p1.refresh_token, /^prt_[A-Za-z0-9_-]{43}$/)
        assert.notEqual(p1.refresh_token, n0.refreshToken)
        assert.equal(p1.refresh_expires_at, n0.refreshExpiresAt)
        assertAccess(p1claims, subject, n0.sessionId) // Python verifies Node's access token
        assertAccess(tokens.verify(p1.access_token), subject, n0.sessionId) // and Node Python's

        const n2 = await sessions.refresh(p1.refresh_token)
        assert.equal(n2.sessionId, n0.sessionId)
        assertAccess(tokens.verify(n2.accessToken), subject, n0.sessionId)

        const [listed, active, revoked, activeAfter, again] = await py(
          url,
          backend.name,
          ['list', subject],
          ['is_active', n0.sessionId],
          ['revoke', n0.sessionId],
          ['is_active', n0.sessionId],
          ['revoke', n0.sessionId],
        )
        assert.equal(listed.length, 1)
        assert.equal(listed[0].session_id, n0.sessionId)
        assert.deepEqual(listed[0].meta, { userAgent: 'node', ip: '192.0.2.1' })
        assert.deepEqual(listed[0].claims, CLAIMS)
        assert.deepEqual([active, revoked, activeAfter, again], [true, true, false, false])

        await expectCode(PolyauthError, () => sessions.refresh(n2.refreshToken), 'session_revoked', "Node after Python's revoke")
        assert.equal(await sessions.isActive(n0.sessionId), false)
        assert.deepEqual(await sessions.list(subject), [])
      })

      test('Python starts; Node refreshes and revokes; Python sees session_revoked', async () => {
        const url = backend.url()
        const { tokens, sessions } = nodeSide(await Store.open(url))
        const subject = unique('python-first')
        const [p0] = await py(url, backend.name, ['start', { subject, claims: CLAIMS, meta: { user_agent: 'python' } }])
        assert.equal(p0.error, undefined, `Python start: ${p0.error}`)
        assert.match(p0.refresh_token, /^prt_[A-Za-z0-9_-]{43}$/)
        assertAccess(tokens.verify(p0.access_token), subject, p0.session_id)
        assert.equal(await sessions.isActive(p0.session_id), true)
        assert.deepEqual((await sessions.list(subject)).map((s) => [s.sessionId, s.meta.user_agent]), [[p0.session_id, 'python']])

        const n1 = await sessions.refresh(p0.refresh_token)
        assert.equal(n1.sessionId, p0.session_id)
        assert.equal(n1.refreshExpiresAt, p0.refresh_expires_at)
        assertAccess(tokens.verify(n1.accessToken), subject, p0.session_id)

        const [p2] = await py(url, backend.name, ['refresh', n1.refreshToken])
        assert.equal(p2.session_id, p0.session_id, `Python refresh of Node's token: ${p2.error}`)
        const n3 = await sessions.refresh(p2.refresh_token)
        assert.equal(await sessions.revoke(p0.session_id), true)

        const [refreshed, active, listed] = await py(url, backend.name, ['refresh', n3.refreshToken], ['is_active', p0.session_id], ['list', subject])
        assert.deepEqual(refreshed, { error: 'session_revoked' })
        assert.equal(active, false)
        assert.deepEqual(listed, [])
      })

      test("reuse across languages: Python presenting a token Node already rotated revokes the family (RT-3)", async () => {
        const url = backend.url()
        const { sessions } = nodeSide(await Store.open(url))
        const subject = unique('reuse')
        const n0 = await sessions.start(subject, { claims: CLAIMS })
        const n1 = await sessions.refresh(n0.refreshToken)
        const [reused, activeAfter, newest] = await py(url, backend.name, ['refresh', n0.refreshToken], ['is_active', n0.sessionId], ['refresh', n1.refreshToken])
        assert.deepEqual(reused, { error: 'refresh_reused' })
        assert.equal(activeAfter, false)
        assert.deepEqual(newest, { error: 'session_revoked' })
        await expectCode(PolyauthError, () => sessions.refresh(n1.refreshToken), 'session_revoked', 'Node, newest token')
        // And the other way round: Node detects reuse of a token Python rotated.
        const [q0] = await py(url, backend.name, ['start', { subject, claims: CLAIMS }])
        const [q1] = await py(url, backend.name, ['refresh', q0.refresh_token])
        assert.equal(q1.session_id, q0.session_id)
        await expectCode(PolyauthError, () => sessions.refresh(q0.refresh_token), 'refresh_reused', 'Node, token Python rotated')
        const [q1again] = await py(url, backend.name, ['refresh', q1.refresh_token])
        assert.deepEqual(q1again, { error: 'session_revoked' })
      })
    })
  }
})

describe('a second factor shared between Node and Python', { concurrency: true, skip: PYTHON_SKIP }, () => {
  for (const backend of BACKENDS) {
    test(`${backend.name}: Node enrolls, Python confirms; each code and recovery code is accepted once across both`, { skip: backend.skip }, async () => {
      const url = backend.url()
      const key = Mfa.generateKey()
      const totp = new Totp({ issuer: 'polyauth xlang' })
      const mfa = new Mfa(await Store.open(url), totp, { encryptionKey: key })
      const subject = unique('mfa')
      const t = Math.floor(Date.now() / 1000)
      const now = t - (t % 30) + 1
      const e = await mfa.beginEnrollment(subject, 'jane@example.com', { now })
      const code = (k) => totp.code(e.secret, { now: now + 30 * k })
      const arg = (more) => ({ key, subject, ...more })

      const [recovery, status, replayed] = await py(
        url,
        backend.name,
        ['mfa_confirm', arg({ code: code(0), now })],
        ['mfa_status', arg({})],
        ['mfa_verify', arg({ code: code(0), now })],
      )
      assert.equal(recovery.length, 10, `Python confirm: ${recovery.error}`)
      assert.deepEqual([status.enabled, status.pending, status.recovery_codes_remaining], [true, false, 10])
      assert.deepEqual(replayed, { error: 'totp_replayed' })
      await expectCode(PolyauthError, () => mfa.verify(subject, code(0), { now }), 'totp_replayed', 'Node, the confirming code')

      assert.equal(await mfa.verify(subject, code(1), { now: now + 30 }), Math.floor((now + 30) / 30))
      const [again, next, older] = await py(
        url,
        backend.name,
        ['mfa_verify', arg({ code: code(1), now: now + 30 })],
        ['mfa_verify', arg({ code: code(2), now: now + 60 })],
        ['mfa_verify', arg({ code: code(1), now: now + 60 })],
      )
      assert.deepEqual([again, next, older], [{ error: 'totp_replayed' }, Math.floor((now + 60) / 30), { error: 'totp_replayed' }])
      await expectCode(PolyauthError, () => mfa.verify(subject, code(2), { now: now + 61 }), 'totp_replayed', 'Node, a code Python accepted')

      assert.equal(await mfa.verifyRecoveryCode(subject, recovery[0], { now: now + 61 }), 9)
      const [used, left] = await py(url, backend.name, ['mfa_recovery', arg({ code: recovery[0], now: now + 61 })], ['mfa_recovery', arg({ code: recovery[1], now: now + 61 })])
      assert.deepEqual([used, left], [{ error: 'totp_replayed' }, 8])
      assert.equal((await mfa.status(subject)).recoveryCodesRemaining, 8)

      // Python enrolls another subject; Node confirms it. A different key cannot read it.
      const other = unique('mfa')
      const [begun] = await py(url, backend.name, ['mfa_begin', { key, subject: other, account: 'sam@example.com', now }])
      assert.equal(Totp.parseUri(begun.uri).account, 'sam@example.com')
      assert.equal((await mfa.confirm(other, totp.code(begun.secret, { now }), { now })).length, 10)
      const [wrongKey] = await py(url, backend.name, ['mfa_verify', { key: Mfa.generateKey(), subject: other, code: totp.code(begun.secret, { now: now + 30 }), now: now + 30 }])
      assert.deepEqual(wrongKey, { error: 'invalid_key' })
    })
  }
})
