// The scenario vectors (vectors/sessions.json, onetime.json, throttle.json, mfa.json, errors.json)
// through the Node binding on every backend: the scripted cases core/tests/scenario_vectors.rs and
// tests-python/test_scenario_vectors.py run too. Each case gets a fresh store; its clock T is the
// current 30-second step's start plus one second, and a step's `at` is injected as `now: T + at`.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { KeySet, Mfa, OneTimeTokens, PolyauthError, Sessions, Store, Throttle, Tokens, Totp } from 'polyauth'
import { loadProjectVectors, storeBackends } from './helpers.mjs'

const FILES = ['sessions', 'onetime', 'throttle', 'mfa', 'errors']
const BACKENDS = await storeBackends(Store)
const KEYS = KeySet.generate('EdDSA')
const TOTP = new Totp({ issuer: 'Polyauth Test' })
const LOCKED_FOREVER = 2 ** 53 - 1
const REFRESH = /^prt_[A-Za-z0-9_-]{43}$/
const ONE_TIME = /^pot_[A-Za-z0-9_-]{43}$/
const RECOVERY = /^[0-9a-hjkmnp-tv-z]{6}(-[0-9a-hjkmnp-tv-z]{6}){3}$/
const LISTED = ['claims', 'createdAt', 'expiresAt', 'lastUsedAt', 'meta', 'sessionId', 'subject']
const MFA_THROTTLE = { base_delay: 600, max_delay: 600 }

/** camelCase keys of a vectors' snake_case options object. */
const camel = (o = {}) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]))
/** A time as an offset from the case's clock; "forever" for a lock until reset. */
const rel = (t, base) => (t === null || t === undefined ? null : t >= LOCKED_FOREVER ? 'forever' : t - base)

class Case {
  constructor(store, c) {
    this.store = store
    const t = Math.floor(Date.now() / 1000)
    this.base = t - (t % 30) + 1
    this.saved = new Map()
    this.labels = new Map()
    this.seen = new Set()
    this.services = new Map()
    for (const [name, s] of Object.entries(c.services ?? { api: {} })) {
      const tokens = new Tokens(KEYS, { issuer: s.issuer ?? 'https://issuer.test', audience: s.audience ?? 'api' })
      const { refresh_ttl, idle_ttl, reuse_grace } = s
      const options = camel(Object.fromEntries(Object.entries({ refresh_ttl, idle_ttl, reuse_grace }).filter(([, v]) => v !== undefined)))
      this.services.set(name, { tokens, sessions: new Sessions(store, tokens, options) })
    }
    this.oneTime = new OneTimeTokens(store)
    const throttles = c.throttles ?? { main: c.throttle ?? {} }
    this.throttles = new Map(Object.entries(throttles).map(([name, cfg]) => [name, new Throttle(store, camel(cfg))]))
    const m = c.mfa ?? {}
    const throttle = new Throttle(store, camel(m.throttle ?? MFA_THROTTLE))
    const keyrings = m.keys ?? { main: ['11'.repeat(32)] }
    const mfa = (keys, ttl) => new Mfa(store, TOTP, { encryptionKey: keys, throttle, ...(ttl === undefined ? {} : { enrollmentTtl: ttl }) })
    this.mfas = new Map(Object.entries(keyrings).map(([name, keys]) => [name, mfa(keys, m.enrollment_ttl)]))
    for (const [name, o] of Object.entries(m.instances ?? {})) this.mfas.set(name, mfa(keyrings.main, o.enrollment_ttl))
  }

  // ---- values --------------------------------------------------------------------------------

  value(v) {
    if (typeof v === 'string' && v.startsWith('$')) {
      const [name, ...path] = v.slice(1).split('.')
      assert.ok(this.saved.has(name), `nothing saved as ${name}`)
      return path.reduce((out, p) => out[p], this.saved.get(name))
    }
    if (Array.isArray(v)) return v.map((x) => this.value(x))
    if (v === null || typeof v !== 'object') return v
    if ('repeat' in v) return v.repeat.repeat(v.times)
    if ('concat' in v) return v.concat.map((x) => this.value(x)).join('')
    if ('slice' in v) {
      const [s, ...bounds] = v.slice
      return this.value(s).slice(...bounds)
    }
    if ('upper' in v) return this.value(v.upper).toUpperCase()
    if ('replace' in v) {
      const [s, from, to] = v.replace
      return this.value(s).replaceAll(from, to)
    }
    if ('totp' in v || 'wrong_totp' in v) {
      const code = TOTP.code(this.saved.get(v.totp ?? v.wrong_totp).secret, { now: this.base + v.at })
      return 'totp' in v ? code : String((Number(code) + 1) % 1_000_000).padStart(6, '0')
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)]))
  }

  now(step) {
    return step.at === undefined ? undefined : this.base + step.at
  }

  arg(step, key) {
    return this.value(step[key])
  }

  save(step, value) {
    this.saved.set(step.save ?? '_', value)
  }

  // ---- results -------------------------------------------------------------------------------

  pair(step, tokens, pair) {
    assert.ok(REFRESH.test(pair.refreshToken) && !this.seen.has(pair.refreshToken), 'a fresh prt_ token')
    this.seen.add(pair.refreshToken)
    if (step.save !== undefined) {
      if (!this.labels.has(pair.sessionId)) this.labels.set(pair.sessionId, step.save)
      this.save(step, { access_token: pair.accessToken, refresh_token: pair.refreshToken, session_id: pair.sessionId })
    }
    const claims = tokens.verify(pair.accessToken)
    assert.equal(claims.sid, pair.sessionId)
    assert.ok(!this.seen.has(claims.jti), 'a fresh jti')
    this.seen.add(claims.jti)
    claims.sid = this.labels.get(pair.sessionId) ?? '?'
    const out = { session: claims.sid, sub: claims.sub, expires_in: pair.expiresIn, access_lifetime: claims.exp - claims.iat, refresh_expires_at: rel(pair.refreshExpiresAt, this.base) }
    const want = step.expect ?? {}
    if (want.claims) out.claims = Object.fromEntries(Object.keys(want.claims).filter((k) => k in claims).map((k) => [k, claims[k]]))
    return Object.fromEntries(Object.keys(want).filter((k) => k in out).map((k) => [k, out[k]]))
  }

  counter(step, { failures, lockedUntil }) {
    const now = this.base + step.at
    return { failures, locked_for: lockedUntil >= LOCKED_FOREVER ? 'forever' : Math.max(0, lockedUntil - now) }
  }

  // ---- steps ---------------------------------------------------------------------------------

  /** The step's result (its last, with `times`) in the vectors' terms. */
  async run(step) {
    let out
    for (let i = 0; i < (step.times ?? 1); i++) out = await this.once(step)
    return out
  }

  async once(step) {
    try {
      return await this.op(step)
    } catch (e) {
      if (!(e instanceof PolyauthError)) throw e
      if (e.code === 'rate_limited') return { error: e.code, retry_after: e.retryAfter > 2 ** 52 ? 'forever' : e.retryAfter }
      return { error: e.code }
    }
  }

  async op(step) {
    const now = this.now(step)
    const { tokens, sessions } = this.services.get(step.service ?? 'api')
    const throttle = this.throttles.get(step.throttle ?? 'main')
    const mfa = this.mfas.get(step.mfa ?? 'main')
    const subject = this.value(step.subject)
    const context = this.value(step.context)
    switch (step.op) {
      // Sessions
      case 'start':
        return this.pair(step, tokens, await sessions.start(subject, { claims: this.value(step.claims), meta: this.value(step.meta), now }))
      case 'refresh':
        return this.pair(step, tokens, await sessions.refresh(this.arg(step, 'token'), { now }))
      case 'revoke':
        return await sessions.revoke(this.arg(step, 'session'))
      case 'revoke_all':
        return await sessions.revokeAll(subject)
      case 'revoke_refresh_token':
        return await sessions.revokeRefreshToken(this.arg(step, 'token'))
      case 'is_active':
        return await sessions.isActive(this.arg(step, 'session'), { now })
      case 'list': {
        const listed = await sessions.list(subject)
        for (const s of listed) {
          assert.deepEqual(Object.keys(s).sort(), LISTED)
          assert.equal(s.subject, subject)
        }
        return listed.map((s) => ({
          session: this.labels.get(s.sessionId) ?? '?',
          created_at: rel(s.createdAt, this.base),
          last_used_at: rel(s.lastUsedAt, this.base),
          expires_at: rel(s.expiresAt, this.base),
          claims: s.claims,
          meta: s.meta,
        }))
      }
      case 'purge':
        return { removed: (await this.store.purgeExpired({ now })) > 0 }
      // One-time tokens
      case 'issue': {
        const token = await this.oneTime.issue(subject, this.arg(step, 'purpose'), { ttl: step.ttl, data: this.value(step.data), now })
        assert.ok(ONE_TIME.test(token) && !this.seen.has(token), 'a fresh pot_ token')
        this.seen.add(token)
        this.save(step, token)
        return { issued: true }
      }
      case 'consume':
      case 'peek': {
        const r = await this.oneTime[step.op](this.arg(step, 'token'), this.arg(step, 'purpose'), { now })
        return { subject: r.subject, data: r.data ?? null }
      }
      // Throttle
      case 'fail':
      case 'attempt':
        return this.counter(step, await throttle[step.op](this.arg(step, 'key'), { now }))
      case 'check':
        return (await throttle.check(this.arg(step, 'key'), { now })) ?? null
      case 'reset':
        return (await throttle.reset(this.arg(step, 'key'))) ?? null
      // Mfa
      case 'begin': {
        const e = await mfa.beginEnrollment(subject, this.value(step.account ?? 'jane@example.com'), { now })
        assert.ok(e.secret.length >= 32 && Totp.parseUri(e.uri).secret === e.secret)
        this.save(step, { secret: e.secret })
        return { expires_at: rel(e.expiresAt, this.base) }
      }
      case 'confirm':
      case 'regenerate': {
        const codes = step.op === 'confirm' ? await mfa.confirm(subject, this.arg(step, 'code'), { now }) : await mfa.regenerateRecoveryCodes(subject)
        assert.ok(new Set(codes).size === codes.length && codes.every((c) => RECOVERY.test(c)), String(codes))
        this.save(step, codes)
        return { recovery_codes: codes.length }
      }
      case 'verify': {
        const n = await mfa.verify(subject, this.arg(step, 'code'), { now, throttleContext: context })
        return { step: n - Math.floor(this.base / 30) }
      }
      case 'recover':
        return { remaining: await mfa.verifyRecoveryCode(subject, this.arg(step, 'code'), { now, throttleContext: context }) }
      case 'disable':
        return await mfa.disable(subject)
      case 'status': {
        const s = await mfa.status(subject, { now })
        return {
          enabled: s.enabled,
          pending: s.pending,
          confirmed_at: rel(s.confirmedAt, this.base),
          last_used_at: rel(s.lastUsedAt, this.base),
          recovery_codes_remaining: s.recoveryCodesRemaining,
        }
      }
      case 'unlock':
        return (await new Throttle(this.store).reset(Mfa.throttleKey(subject, context))) ?? null
      // Construction and opening
      case 'new_sessions':
        new Sessions(this.store, tokens, camel(step.options))
        return { ok: true }
      case 'new_throttle':
        new Throttle(this.store, camel(step.options))
        return { ok: true }
      case 'new_mfa': {
        const options = { encryptionKey: this.value(step.keys), ...(step.enrollment_ttl === undefined ? {} : { enrollmentTtl: step.enrollment_ttl }) }
        return { key_ids: new Mfa(this.store, TOTP, options).keyIds.length }
      }
      case 'open_store':
        await Store.open(this.arg(step, 'url'))
        return { ok: true }
      default:
        throw new Error(`unknown op ${step.op}`)
    }
  }
}

/** `got` with a `retry_after` inside an expected `[low, high]` range replaced by it. */
function matches(got, want) {
  const range = want?.retry_after
  if (Array.isArray(range) && typeof got?.retry_after === 'number' && range[0] <= got.retry_after && got.retry_after <= range[1]) {
    return { ...got, retry_after: range }
  }
  return got
}

for (const file of FILES) {
  const vectors = loadProjectVectors(`${file}.json`)
  describe(`vectors/${file}.json`, { concurrency: 4 }, () => {
    test('the file has its scenarios', () => assert.ok(vectors.cases.length >= 5))
    for (const backend of BACKENDS) {
      for (const c of vectors.cases) {
        test(`${backend.name}: ${c.name}`, { skip: backend.skip }, async () => {
          const run = new Case(await Store.open(backend.url()), c)
          for (const [i, step] of c.steps.entries()) {
            const got = await run.run(step)
            const want = run.value(step.expect ?? null)
            assert.deepEqual(matches(got, want), want, `step ${i} ${JSON.stringify(step).slice(0, 2000)}`)
          }
        })
      }
    }
  })
}
