// The store-backed TOTP second factor (DESIGN.md §4 Mfa, §5 errors, §7 OTP-2/OTP-5/OTP-7/RL-1):
// what Node hands back (MfaEnrollment, inspect output, Buffers and numbers, TypeErrors),
// concurrency, SQL rows tampered with on each backend, durability, otplib interop and the event
// loop. The scenarios (enrollment, replay, recovery codes, re-enrollment, disable, throttling, key
// rotation, bad input) are vectors/mfa.json and errors.json, run by scenario-vectors.test.mjs on
// every backend.
//
// Clock discipline: every test injects `now` (a step start + 1 s, so codes for `now + 30 k` are
// exact) and never mixes it with the real clock for one subject — a failure recorded at an
// injected future time would make a real-clock attempt look locked. Only the otplib interop test
// uses the real clock, on its own subjects.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import util from 'node:util'
import { authenticator } from 'otplib'
import { Mfa, MfaEnrollment, PolyauthError, Store, Throttle, Totp } from 'polyauth'
import { expectCode, storeBackends, tempSqliteUrl } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const TOTP = new Totp({ issuer: 'Polyauth Test' })
const OLD_KEY = Buffer.alloc(32, 0x11)
const NEW_KEY = Buffer.alloc(32, 0x22)
const ACCOUNT = 'jane@example.com'
// Crockford base32 without i, l, o, u; four groups of six.
const RECOVERY_RE = /^[0-9a-hjkmnp-tv-z]{6}(-[0-9a-hjkmnp-tv-z]{6}){3}$/

// ---------------------------------------------------------------------------------------------
// Small helpers

const unique = (prefix = 'user') => `${prefix}-${randomBytes(6).toString('hex')}`

/** The start of the current time step plus one second. */
function stepStart() {
  const t = Math.floor(Date.now() / 1000)
  return t - (t % 30) + 1
}

const codeAt = (secret, t) => TOTP.code(secret, { now: t })
const expectErr = (fn, code, message) => expectCode(PolyauthError, fn, code, message)

/**
 * The throttle runs on the server clock (an injected `now` moves only the TOTP clock): locks of ten
 * minutes keep the tests clear of second boundaries. The default schedule is 1, 2, 4... s.
 */
function newMfa(store, keys = [OLD_KEY], options = {}) {
  const throttle = new Throttle(store, { baseDelay: 600, maxDelay: 600 })
  return new Mfa(store, TOTP, { encryptionKey: keys, throttle, ...options })
}

/** Enrolls and confirms `subject` at `now`: `{ secret, codes, enrollment }`. */
async function enrolled(mfa, subject, now, account = ACCOUNT) {
  const enrollment = await mfa.beginEnrollment(subject, account, { now })
  const codes = await mfa.confirm(subject, codeAt(enrollment.secret, now), { now })
  return { secret: enrollment.secret, codes, enrollment }
}

/** Clears the MFA throttle counter of `subject` (after failures provoked on purpose). */
const unlock = (store, subject) => new Throttle(store).reset(`mfa:${subject}`)

/** Runs `n` calls of `f` at once: `{ ok: [values], errors: [reasons] }`. */
async function race(n, f) {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => f(i)))
  return {
    ok: results.filter((r) => r.status === 'fulfilled').map((r) => r.value),
    errors: results.filter((r) => r.status === 'rejected').map((r) => r.reason),
  }
}

function assertErrorCodes(errors, allowed, message) {
  for (const e of errors) {
    assert.ok(e instanceof PolyauthError, `${message}: ${e?.constructor?.name}: ${e?.message}`)
    assert.ok(allowed.includes(e.code), `${message}: unexpected ${e.code} (${e.message})`)
  }
}

/**
 * Direct SQL access to a store's MFA rows, for SQLite (python3's sqlite3) and PostgreSQL (psql,
 * in the URL's polyauth_namespace schema). Queries use `{1}`, `{2}` for text parameters.
 */
let python
/** The real python3 executable (skipping version-manager shims, which are slow to start). */
function pythonExe() {
  if (python === undefined) {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' })
    python = r.status === 0 && r.stdout.trim() ? r.stdout.trim() : 'python3'
  }
  return python
}

function sqlAccess(url) {
  if (url.startsWith('sqlite://')) {
    const path = url.slice('sqlite://'.length).split('?')[0]
    const script = [
      'import sqlite3, sys, json',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      'c.row_factory = sqlite3.Row',
      'rows = [dict(r) for r in c.execute(sys.argv[2], json.loads(sys.argv[3]))]',
      'c.commit()',
      'print(json.dumps(rows))',
    ].join('\n')
    return (sql, params = []) => {
      const r = spawnSync(pythonExe(), ['-S', '-c', script, path, sql.replace(/\{\d+\}/g, '?'), JSON.stringify(params)], { encoding: 'utf8' })
      assert.equal(r.status, 0, `python3 sqlite3: ${r.stderr}`)
      return JSON.parse(r.stdout)
    }
  }
  const u = new URL(url)
  const namespace = u.searchParams.get('polyauth_namespace')
  u.searchParams.delete('polyauth_namespace')
  return (sql, params = []) => {
    const vars = params.flatMap((p, i) => ['-v', `p${i + 1}=${p}`])
    const body = sql.replace(/\{(\d+)\}/g, (_, n) => `:'p${n}'`)
    const query = /^\s*select/i.test(body) ? `SELECT row_to_json(q) FROM (${body}) q` : body
    const input = `SET search_path TO "${namespace}";\n${query};\n`
    const r = spawnSync('psql', [u.toString(), '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', ...vars], { input, encoding: 'utf8' })
    assert.equal(r.status, 0, `psql: ${r.stderr}`)
    return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  }
}

const readFactor = (sql, subject) => sql('SELECT * FROM polyauth_mfa_factors WHERE subject = {1}', [subject])[0]
const setColumn = (sql, subject, column, value) => sql(`UPDATE polyauth_mfa_factors SET ${column} = {1} WHERE subject = {2}`, [value, subject])

// ---------------------------------------------------------------------------------------------
// Scenarios on every backend

describe('Mfa over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async (url = backend.url()) => {
        const store = await Store.open(url)
        assert.equal(store.backend, backend.name)
        return store
      }

      test('the enrollment object; inspect output never shows a secret (the flow is vectors/mfa.json)', async () => {
        const store = await open()
        const key = Mfa.generateKey()
        const mfa = newMfa(store, key)
        const s = unique()
        const now = stepStart()
        assert.deepEqual(await mfa.status(s), { enabled: false, pending: false, confirmedAt: null, lastUsedAt: null, recoveryCodesRemaining: 0 })
        const e = await mfa.beginEnrollment(s, ACCOUNT, { now })
        assert.ok(e instanceof MfaEnrollment)
        assert.match(e.secret, /^[A-Z2-7]{26,}$/)
        assert.ok(e.uri.startsWith('otpauth://totp/Polyauth%20Test:jane%40example.com?'), e.uri)
        assert.ok(e.uri.includes(e.secret))
        assert.ok(e.qrSvg.includes('<svg'))
        assert.equal(e.expiresAt, now + 900)
        const parsed = Totp.parseUri(e.uri)
        assert.equal(parsed.secret, e.secret)
        assert.equal(parsed.issuer, 'Polyauth Test')
        assert.equal(parsed.account, ACCOUNT)
        assert.deepEqual([parsed.digits, parsed.period, parsed.algorithm], [6, 30, 'SHA1'])
        // Nothing secret in inspect output of the enrollment or of the Mfa.
        for (const shown of [util.inspect(e), util.inspect(e, { showHidden: true, depth: 5 }), util.format('%o %O %s', e, e, e), util.inspect(mfa), util.inspect({ mfa, e }, { depth: 10 })]) {
          for (const hidden of [e.secret, e.uri, key, Buffer.from(key, 'base64url').toString('hex'), Buffer.from(key, 'base64url').toString('base64')]) {
            assert.ok(!shown.includes(hidden), `inspect output shows ${hidden.slice(0, 8)}…: ${shown}`)
          }
        }
        assert.ok(util.inspect(e).includes(String(e.expiresAt)))
        assert.ok(util.inspect(mfa).includes(mfa.keyIds[0]))
        assert.match(mfa.keyIds[0], /^[0-9a-f]{16}$/)
        const codes = await mfa.confirm(s, codeAt(e.secret, now), { now })
        assert.ok(Array.isArray(codes) && codes.every((c) => typeof c === 'string' && RECOVERY_RE.test(c)))
        assert.deepEqual(await mfa.status(s, { now }), { enabled: true, pending: false, confirmedAt: now, lastUsedAt: now, recoveryCodesRemaining: 10 })
        const err = await expectErr(() => mfa.verifyRecoveryCode(s, codes[0], { now }).then(() => mfa.verifyRecoveryCode(s, codes[0], { now })), 'totp_replayed', 'a used recovery code')
        assert.ok(!err.message.includes(codes[0]))
      })

      test('50 concurrent verifies of one code: one wins; 20 concurrent confirms: one wins', async () => {
        const store = await open()
        const mfa = newMfa(store)
        const s = unique()
        const now = stepStart()
        const { secret } = await enrolled(mfa, s, now)
        const code = codeAt(secret, now + 30)
        const v = await race(50, () => mfa.verify(s, code, { now: now + 30 }))
        assert.deepEqual(v.ok, [Math.floor((now + 30) / 30)], 'exactly one of 50 verifies')
        assertErrorCodes(v.errors, ['totp_replayed', 'rate_limited'], 'concurrent verify')
        assert.ok(v.errors.some((e) => e.code === 'totp_replayed'))

        const s2 = unique()
        const e = await mfa.beginEnrollment(s2, 'race@example.com', { now })
        const c = await race(20, () => mfa.confirm(s2, codeAt(e.secret, now), { now }))
        assert.equal(c.ok.length, 1, 'exactly one confirmation')
        assert.equal(c.ok[0].length, 10)
        assertErrorCodes(c.errors, ['totp_replayed', 'totp_invalid', 'rate_limited'], 'concurrent confirm')
        const st = await mfa.status(s2)
        assert.equal(st.enabled, true)
        assert.equal(st.recoveryCodesRemaining, 10, 'one set of recovery codes')
        // The winning set is the stored one.
        await unlock(store, s2)
        assert.equal(await mfa.verifyRecoveryCode(s2, c.ok[0][0], { now }), 9)
      })

      test('20 concurrent uses of one recovery code: one wins (the rest of OTP-7 is vectors/mfa.json)', async () => {
        const store = await open()
        const mfa = newMfa(store)
        const s = unique()
        const now = stepStart()
        const { codes } = await enrolled(mfa, s, now)
        const r = await race(20, () => mfa.verifyRecoveryCode(s, codes[2], { now }))
        assert.deepEqual(r.ok, [9], 'exactly one concurrent use')
        assertErrorCodes(r.errors, ['totp_replayed', 'rate_limited'], 'concurrent recovery')
      })

      test('status defaults to the system clock; inspect shows enrollmentTtl (lapsing, re-enrollment and disable are vectors/mfa.json)', async () => {
        const store = await open()
        const short = newMfa(store, [OLD_KEY], { enrollmentTtl: 60 })
        assert.match(util.inspect(short), /enrollmentTtl: 60\b/)
        const old = unique()
        await short.beginEnrollment(old, ACCOUNT, { now: stepStart() - 3600 })
        assert.deepEqual(await short.status(old), { enabled: false, pending: false, confirmedAt: null, lastUsedAt: null, recoveryCodesRemaining: 0 })
        const fresh = unique()
        await short.beginEnrollment(fresh, ACCOUNT)
        assert.equal((await short.status(fresh)).pending, true)
      })

      test('Mfa.throttleKey names the counters an administrator resets (counting per context is vectors/mfa.json)', async () => {
        const s = unique()
        assert.equal(Mfa.throttleKey(s), `mfa:${s}`)
        assert.equal(Mfa.throttleKey(s, '198.51.100.1'), `mfa-ctx:${s.length}:${s}:198.51.100.1`)
        const mfa = newMfa(await open())
        await assert.rejects(() => mfa.verify(s, '123456', { throttleContext: 1 }), TypeError)
      })

      test('Throttle.attempt: a burst of 50 lets exactly failures 1..6 through; reset clears it', async () => {
        const store = await open()
        // baseDelay 60 keeps the lock of the 6th attempt from lapsing mid-burst (the default 1 s
        // lock could end within the burst when a second boundary passes).
        const th = new Throttle(store, { maxFailures: 10, baseDelay: 60, maxDelay: 60 })
        const key = unique('burst')
        const before = Math.floor(Date.now() / 1000)
        const { ok, errors } = await race(50, () => th.attempt(key))
        assert.deepEqual(ok.map((c) => c.failures).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6])
        for (const c of ok) {
          assert.equal(typeof c.lockedUntil, 'number')
          if (c.failures < 6) assert.ok(c.lockedUntil <= before + 5, `free attempt ${c.failures} locked until ${c.lockedUntil - before} s ahead`)
          else assert.ok(c.lockedUntil >= before + 59, `the 6th locks (${c.lockedUntil - before} s ahead)`)
        }
        assert.equal(errors.length, 44)
        assertErrorCodes(errors, ['rate_limited'], 'burst')
        for (const e of errors) assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter >= 1, `retryAfter ${e.retryAfter}`)
        await expectErr(() => th.check(key), 'rate_limited', 'check after the burst')
        await expectErr(() => th.attempt(key), 'rate_limited', 'attempt after the burst')
        await th.reset(key)
        assert.equal((await th.attempt(key)).failures, 1, 'reset clears the count')
        assert.equal((await th.attempt(unique('other'))).failures, 1, 'keys are independent')
        // Key validation as for check/fail/reset.
        for (const bad of ['', 'k'.repeat(513)]) await expectErr(() => th.attempt(bad), 'invalid_input', `attempt(${bad.length} bytes)`)
        await assert.rejects(() => th.attempt(5), TypeError)
        await assert.rejects(() => th.attempt(null), TypeError)
      })
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Encrypted secrets at rest (OTP-5): read and tamper with the rows directly.

describe('encrypted secrets, key rotation and tampered rows', { concurrency: true }, () => {
  for (const backend of BACKENDS.filter((b) => b.name === 'sqlite' || b.name === 'postgres')) {
    test(backend.name, { skip: backend.skip }, async () => {
      const url = backend.url()
      const store = await Store.open(url)
      const sql = sqlAccess(url)
      const old = newMfa(store, [OLD_KEY])
      const wrong = newMfa(store, [NEW_KEY])
      const rotated = newMfa(store, [NEW_KEY, OLD_KEY])
      assert.deepEqual(rotated.keyIds, [wrong.keyIds[0], old.keyIds[0]])
      const s = unique()
      const now = stepStart()

      // Pending and confirmed secrets are stored as v1.<key id>.<ciphertext>, never in clear.
      const e = await old.beginEnrollment(s, ACCOUNT, { now })
      const pendingRow = readFactor(sql, s)
      assert.ok(pendingRow, 'a row for the pending enrollment')
      assert.equal(pendingRow.secret, null)
      assert.ok(pendingRow.pending_secret.startsWith(`v1.${old.keyIds[0]}.`), pendingRow.pending_secret)
      assert.ok(!pendingRow.pending_secret.includes(e.secret))
      await old.confirm(s, codeAt(e.secret, now), { now })
      const before = readFactor(sql, s)
      assert.ok(before.secret.startsWith(`v1.${old.keyIds[0]}.`), before.secret)
      assert.ok(!before.secret.includes(e.secret))
      assert.equal(before.pending_secret, null)
      assert.equal(Number(before.last_step), Math.floor(now / 30))
      assert.equal(Number(before.confirmed_at), now)
      const rows = sql('SELECT code_hash FROM polyauth_mfa_recovery_codes WHERE subject = {1}', [s])
      assert.equal(rows.length, 10)
      for (const r of rows) assert.match(r.code_hash, /^[0-9a-f]{64}$/, 'recovery codes stored as SHA-256')

      // A wrong key never yields the secret.
      const err = await expectErr(() => wrong.verify(s, codeAt(e.secret, now + 30), { now: now + 30 }), 'invalid_key', 'verify with a different key')
      assert.ok(!err.message.includes(e.secret) && !err.message.includes(before.secret), err.message)
      assert.ok(err.message.includes(old.keyIds[0]), `the message names the missing key id: ${err.message}`)
      assert.equal(readFactor(sql, s).secret, before.secret, 'a failed verify leaves the row alone')

      // Rotation: the new key encrypts, the old one still decrypts, and a success re-encrypts.
      assert.equal(await rotated.verify(s, codeAt(e.secret, now + 30), { now: now + 30 }), Math.floor((now + 30) / 30))
      const after = readFactor(sql, s)
      assert.notEqual(after.secret, before.secret)
      assert.ok(after.secret.startsWith(`v1.${wrong.keyIds[0]}.`), after.secret)
      assert.ok(!after.secret.includes(e.secret))
      // The old key can now be dropped; the old key alone no longer decrypts.
      assert.equal(await wrong.verify(s, codeAt(e.secret, now + 60), { now: now + 60 }), Math.floor((now + 60) / 30))
      await expectErr(() => old.verify(s, codeAt(e.secret, now + 90), { now: now + 90 }), 'invalid_key', 'the old key after re-encryption')
      // A success under the current key does not rewrite the ciphertext needlessly.
      const settled = readFactor(sql, s).secret
      assert.equal(await rotated.verify(s, codeAt(e.secret, now + 90), { now: now + 90 }), Math.floor((now + 90) / 30))
      assert.equal(readFactor(sql, s).secret, settled)

      // Undecodable stored secrets and another subject's ciphertext are refused, pending or confirmed.
      const damaged = [
        'garbage',
        '',
        'v1.0011223344556677.AAAA',
        `v1.${wrong.keyIds[0]}.AAAA`,
        `v2${settled.slice(2)}`,
        `${settled.slice(0, -4)}`,
        `${settled}.x`,
        settled, // subject s's ciphertext: the subject is the associated data
      ]
      const victim = unique('victim')
      for (const stored of damaged) {
        const ve = await wrong.beginEnrollment(victim, ACCOUNT, { now })
        setColumn(sql, victim, 'pending_secret', stored)
        const ce = await expectErr(() => wrong.confirm(victim, codeAt(ve.secret, now), { now }), 'invalid_key', `confirm with stored ${JSON.stringify(stored.slice(0, 30))}`)
        assert.ok(!ce.message.includes(ve.secret))
        await unlock(store, victim)
      }
      const victim2 = unique('victim')
      const { secret: v2secret } = await enrolled(wrong, victim2, now)
      for (const [i, stored] of damaged.entries()) {
        setColumn(sql, victim2, 'secret', stored)
        await expectErr(() => wrong.verify(victim2, codeAt(e.secret, now + 30 * (i + 1)), { now: now + 30 * (i + 1) }), 'invalid_key', `verify with stored ${JSON.stringify(stored.slice(0, 30))}`)
        await unlock(store, victim2)
      }
      // A fresh enrollment replaces the damaged row.
      const own = await enrolled(wrong, victim2, now + 300)
      assert.notEqual(own.secret, v2secret)
      assert.equal(await wrong.verify(victim2, codeAt(own.secret, now + 330), { now: now + 330 }), Math.floor((now + 330) / 30))
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Construction: key forms and options.

describe('Mfa construction', () => {
  test('key forms give the same key ids; generateKey', async () => {
    const store = await Store.open('memory://')
    // 0xfb bytes: base64 with '+', '/' and '=' padding.
    const raw = Buffer.alloc(32, 0xfb)
    assert.ok(/[+/]/.test(raw.toString('base64')) && raw.toString('base64').endsWith('='))
    const forms = [
      raw,
      new Uint8Array(raw),
      raw.toString('base64url'),
      raw.toString('base64'),
      raw.toString('base64').replace(/=+$/, ''),
      raw.toString('hex'),
      raw.toString('hex').toUpperCase(),
      ` ${raw.toString('hex')} `,
    ]
    const ids = forms.map((k) => newMfa(store, k).keyIds)
    for (const [i, id] of ids.entries()) assert.deepEqual(id, ids[0], `form ${i}`)
    assert.equal(ids[0].length, 1)
    assert.match(ids[0][0], /^[0-9a-f]{16}$/)
    assert.deepEqual(newMfa(store, [raw]).keyIds, ids[0], 'an array of one')
    const other = newMfa(store, OLD_KEY).keyIds[0]
    assert.notEqual(other, ids[0][0])
    assert.deepEqual(newMfa(store, [raw, OLD_KEY]).keyIds, [ids[0][0], other], 'the encrypting key first')
    assert.deepEqual(newMfa(store, [OLD_KEY, raw.toString('hex')]).keyIds, [other, ids[0][0]])
    // A key id reveals nothing recognisable of the key.
    assert.ok(!raw.toString('hex').includes(ids[0][0]))

    const a = Mfa.generateKey()
    const b = Mfa.generateKey()
    assert.equal(typeof a, 'string')
    assert.match(a, /^[A-Za-z0-9_-]{43}$/)
    assert.notEqual(a, b)
    assert.equal(Buffer.from(a, 'base64url').length, 32)
    assert.deepEqual(newMfa(store, a).keyIds, newMfa(store, Buffer.from(a, 'base64url')).keyIds)
    // The same key in two forms decrypts the same secrets.
    const now = stepStart()
    const { secret } = await enrolled(newMfa(store, a), 'u', now)
    assert.equal(await newMfa(store, Buffer.from(a, 'base64url').toString('hex')).verify('u', codeAt(secret, now + 30), { now: now + 30 }), Math.floor((now + 30) / 30))
  })

  test('bad keys are invalid_config; wrong types are TypeError (key texts are vectors/errors.json)', async () => {
    const store = await Store.open('memory://')
    const raw = Buffer.alloc(32, 7)
    for (const [key, what] of [
      [Buffer.alloc(16, 1), '16 bytes'],
      [Buffer.alloc(33, 1), '33 bytes'],
      [new Uint8Array(0), 'no bytes'],
      [Buffer.alloc(16, 1).toString('base64url'), '16 bytes of base64url'],
      [[raw, raw.toString('hex')], 'the same key twice'],
      [[raw, Buffer.from(raw)], 'the same bytes twice'],
      [[], 'no keys'],
      [Array.from({ length: 17 }, (_, i) => Buffer.alloc(32, i + 1)), '17 keys'],
    ]) {
      const e = await expectErr(() => newMfa(store, key), 'invalid_config', what)
      if (typeof key === 'string' && key.length > 3) assert.ok(!e.message.includes(key), e.message)
    }
    assert.equal(newMfa(store, Array.from({ length: 16 }, (_, i) => Buffer.alloc(32, i + 1))).keyIds.length, 16)
    for (const key of [123, null, undefined, [1], {}, [raw, 5], [null], true]) {
      assert.throws(() => new Mfa(store, TOTP, { encryptionKey: key }), TypeError, `encryptionKey ${util.inspect(key)}`)
    }
    assert.throws(() => new Mfa(store, TOTP), TypeError, 'no options')
    assert.throws(() => new Mfa(store, TOTP, null), TypeError, 'null options')
    assert.throws(() => new Mfa(store, TOTP, 'key'), TypeError, 'a string instead of options')
    assert.throws(() => new Mfa(store, TOTP, {}), TypeError, 'options without encryptionKey')
    assert.throws(() => new Mfa({}, TOTP, { encryptionKey: raw }), TypeError, 'not a Store')
    assert.throws(() => new Mfa(store, {}, { encryptionKey: raw }), TypeError, 'not a Totp')
    for (const throttle of [{}, 'mfa', 5, null]) {
      assert.throws(() => new Mfa(store, TOTP, { encryptionKey: raw, throttle }), TypeError, `throttle ${util.inspect(throttle)}`)
    }
  })

  test('enrollmentTtl must be 60 to 86400 whole seconds', async () => {
    const store = await Store.open('memory://')
    // The range itself is vectors/errors.json; here Node's numbers (and the message).
    for (const ttl of [0, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, '600', true]) {
      const e = await expectErr(() => newMfa(store, OLD_KEY, { enrollmentTtl: ttl }), 'invalid_config', `enrollmentTtl ${ttl}`)
      assert.match(e.message, /60 to 86400/, `enrollmentTtl ${ttl}: ${e.message}`)
    }
    for (const ttl of [60, 86400]) {
      const mfa = newMfa(store, OLD_KEY, { enrollmentTtl: ttl })
      const e = await mfa.beginEnrollment(unique(), ACCOUNT, { now: 1_000_000 })
      assert.equal(e.expiresAt, 1_000_000 + ttl)
    }
    assert.equal((await newMfa(store, OLD_KEY).beginEnrollment(unique(), ACCOUNT, { now: 1_000_000 })).expiresAt, 1_000_900, 'default 900')
  })
})

// ---------------------------------------------------------------------------------------------
// Input validation (memory store).

describe('bad input', () => {
  test('codes and subjects of the wrong type are TypeErrors (malformed and oversized codes are vectors/mfa.json)', async () => {
    const store = await Store.open('memory://')
    const mfa = newMfa(store)
    const now = stepStart()
    const s = unique()
    const { secret, codes } = await enrolled(mfa, s, now)
    const pending = unique()
    await mfa.beginEnrollment(pending, ACCOUNT, { now })
    for (const bad of [null, undefined, 123456, Buffer.from('123456'), ['123456'], { code: '123456' }]) {
      const what = util.inspect(bad)
      await assert.rejects(() => mfa.verify(s, bad, { now }), TypeError, `verify code ${what}`)
      await assert.rejects(() => mfa.confirm(pending, bad, { now }), TypeError, `confirm code ${what}`)
      await assert.rejects(() => mfa.verifyRecoveryCode(s, bad, { now }), TypeError, `recovery code ${what}`)
      if (bad === undefined) continue
      await assert.rejects(() => mfa.verify(bad, '123456', { now }), TypeError, `verify subject ${what}`)
      await assert.rejects(() => mfa.confirm(bad, '123456', { now }), TypeError, `confirm subject ${what}`)
      await assert.rejects(() => mfa.verifyRecoveryCode(bad, codes[1], { now }), TypeError, `recovery subject ${what}`)
      await assert.rejects(() => mfa.beginEnrollment(bad, ACCOUNT, { now }), TypeError, `begin subject ${what}`)
      await assert.rejects(() => mfa.beginEnrollment(unique(), bad, { now }), TypeError, `begin account ${what}`)
      await assert.rejects(() => mfa.status(bad), TypeError, `status ${what}`)
      await assert.rejects(() => mfa.disable(bad), TypeError, `disable ${what}`)
      await assert.rejects(() => mfa.regenerateRecoveryCodes(bad), TypeError, `regenerate ${what}`)
    }
    // The factor is intact: none of the above counted or changed anything.
    assert.equal(await mfa.verify(s, codeAt(secret, now + 30), { now: now + 30 }), Math.floor((now + 30) / 30))
  })

  test('bad clocks are invalid_input (bad subjects and accounts are vectors/mfa.json)', async () => {
    const store = await Store.open('memory://')
    const mfa = newMfa(store)
    const now = stepStart()
    const { secret, codes } = await enrolled(mfa, 'u', now)
    const wide = await mfa.beginEnrollment('u2', ACCOUNT, { now })
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 41]) {
      await expectErr(() => mfa.verify('u', codeAt(secret, now), { now: bad }), 'invalid_input', `verify now ${bad}`)
      await expectErr(() => mfa.confirm('u2', codeAt(wide.secret, now), { now: bad }), 'invalid_input', `confirm now ${bad}`)
      await expectErr(() => mfa.verifyRecoveryCode('u', codes[0], { now: bad }), 'invalid_input', `recovery now ${bad}`)
      await expectErr(() => mfa.beginEnrollment('u3', ACCOUNT, { now: bad }), 'invalid_input', `begin now ${bad}`)
    }
    // A number of the wrong type is invalid_input too (as in Python), not a TypeError.
    await expectErr(() => mfa.verify('u', '123456', { now: '1' }), 'invalid_input', 'verify now "1"')
    await expectErr(() => mfa.verify('u', '123456', { now: true }), 'invalid_input', 'verify now true')
    // Nothing above touched the factors.
    assert.equal(await mfa.verifyRecoveryCode('u', codes[0], { now }), 9)
    assert.equal((await mfa.confirm('u2', codeAt(wide.secret, now), { now })).length, 10)
  })
})

// ---------------------------------------------------------------------------------------------
// Durability: a new Store on the same URL sees accepted steps and used recovery codes.

describe('state survives reopening the store', { concurrency: true }, () => {
  for (const backend of BACKENDS.filter((b) => b.name !== 'memory')) {
    test(backend.name, { skip: backend.skip }, async () => {
      const url = backend.url()
      const s = unique()
      const now = stepStart()
      const first = newMfa(await Store.open(url))
      const { secret, codes } = await enrolled(first, s, now)
      await first.verify(s, codeAt(secret, now + 30), { now: now + 30 })
      assert.equal(await first.verifyRecoveryCode(s, codes[0], { now: now + 30 }), 9)
      const pendingSubject = unique()
      const pe = await first.beginEnrollment(pendingSubject, ACCOUNT, { now })

      const again = newMfa(await Store.open(url))
      await expectErr(() => again.verify(s, codeAt(secret, now + 30), { now: now + 31 }), 'totp_replayed', 'accepted step after reopening')
      await expectErr(() => again.verifyRecoveryCode(s, codes[0], { now: now + 31 }), 'totp_replayed', 'used recovery code after reopening')
      assert.deepEqual(await again.status(s), { enabled: true, pending: false, confirmedAt: now, lastUsedAt: now + 30, recoveryCodesRemaining: 9 })
      assert.equal(await again.verify(s, codeAt(secret, now + 60), { now: now + 60 }), Math.floor((now + 60) / 30))
      assert.equal(await again.verifyRecoveryCode(s, codes[1], { now: now + 60 }), 8)
      assert.equal((await again.confirm(pendingSubject, codeAt(pe.secret, now), { now })).length, 10, 'a pending enrollment survives')
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Interop, module systems, event loop.

describe('interop and runtime', () => {
  test('otplib codes confirm and verify (real clock, own subjects)', async () => {
    const store = await Store.open('memory://')
    const mfa = newMfa(store)
    // Real clock: otplib's code for now confirms.
    const s = unique()
    const e = await mfa.beginEnrollment(s, ACCOUNT)
    const codes = await mfa.confirm(s, authenticator.generate(e.secret))
    assert.equal(codes.length, 10)
    assert.equal((await mfa.status(s)).enabled, true)
    // Injected clock on another subject: otplib with an epoch.
    const now = stepStart()
    const t = unique()
    const te = await mfa.beginEnrollment(t, ACCOUNT, { now })
    const at = (sec) => authenticator.clone({ epoch: sec * 1000 }).generate(te.secret)
    assert.equal((await mfa.confirm(t, at(now), { now })).length, 10)
    assert.equal(await mfa.verify(t, at(now + 30), { now: now + 30 }), Math.floor((now + 30) / 30))
    await expectErr(() => mfa.verify(t, at(now + 30), { now: now + 31 }), 'totp_replayed', 'otplib code replayed')
    // otplib accepts the enrollment's secret as is.
    assert.ok(authenticator.clone({ epoch: (now + 60) * 1000 }).check(codeAt(te.secret, now + 60), te.secret))
  })

  test('ESM and CommonJS share the Mfa classes', async () => {
    const require = createRequire(import.meta.url)
    const cjs = require('polyauth')
    const esm = await import('polyauth')
    assert.equal(cjs.Mfa, esm.Mfa)
    assert.equal(cjs.Mfa, Mfa)
    assert.equal(cjs.MfaEnrollment, MfaEnrollment)
    assert.equal(cjs.Throttle, Throttle)
    // A CommonJS Store works with the ESM Mfa.
    const mfa = new esm.Mfa(await cjs.Store.open('memory://'), new cjs.Totp(), { encryptionKey: OLD_KEY })
    const e = await mfa.beginEnrollment('u', ACCOUNT, { now: 1_000_000 })
    assert.ok(e instanceof cjs.MfaEnrollment)
  })

  test('the event loop keeps running while verify is awaited', async () => {
    const store = await Store.open(tempSqliteUrl())
    const mfa = newMfa(store)
    const s = unique()
    const now = stepStart()
    const { secret } = await enrolled(mfa, s, now)
    let ticks = 0
    let running = true
    const tick = () => {
      ticks++
      if (running) setImmediate(tick)
    }
    setImmediate(tick)
    try {
      for (let k = 1; k <= 4; k++) {
        const pending = mfa.verify(s, codeAt(secret, now + 30 * k), { now: now + 30 * k })
        assert.ok(pending instanceof Promise)
        assert.equal(await pending, Math.floor((now + 30 * k) / 30))
      }
      await expectErr(() => mfa.verify(s, codeAt(secret, now + 120), { now: now + 120 }), 'totp_replayed', 'replay')
    } finally {
      running = false
    }
    assert.ok(ticks > 0, 'setImmediate callbacks ran while the verifies were in flight')
  })
})
