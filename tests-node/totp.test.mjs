// TOTP (DESIGN.md §4 Totp, §7 OTP-1/2/3/5): RFC 6238/4226 vectors, interop with otplib 12,
// otpauth URIs both ways, QR codes (decoded with zbarimg), the verify window and replay guard,
// input validation and option validation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import util from 'node:util'
import { authenticator } from 'otplib'
import { Totp, PolyauthError } from 'polyauth'
import { expectCode, loadSharedVectors, requireShared, servicesRequired, tempDir, vectorsRequired } from './helpers.mjs'

const RFC = loadSharedVectors('rfc/totp_rfc6238.json')
const ALGS = ['SHA1', 'SHA256', 'SHA512']
// Key sizes of RFC 6238 Appendix A; otplib pads shorter keys up to these, so use at least these.
const KEY_BYTES = { SHA1: 20, SHA256: 32, SHA512: 64 }

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
function base32(buf) {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of buf) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}

// A fixed, recent instant that is not at a step boundary.
const NOW = 1_700_000_015
const STEP = Math.floor(NOW / 30)

test('RFC 6238 Appendix B vectors (8 digits, 30 s, leading zeros kept)', { skip: RFC.skip }, () => {
  const data = requireShared(RFC)
  assert.ok(data.totp_vectors.length >= 18)
  let n = 0
  for (const v of data.totp_vectors) {
    const totp = new Totp({ digits: 8, period: 30, algorithm: v.algorithm, window: 0 })
    const secret = data.keys[v.algorithm].base32
    const code = totp.code(secret, { now: v.unix_time })
    assert.equal(typeof code, 'string')
    assert.equal(code, v.totp, `${v.algorithm} at ${v.unix_time}`)
    assert.equal(totp.verify(secret, v.totp, { now: v.unix_time }), Math.floor(v.unix_time / 30), `verify ${v.algorithm} at ${v.unix_time}`)
    n++
  }
  // The leading-zero row is present and kept.
  assert.ok(data.totp_vectors.some((v) => v.totp.startsWith('0')))
  assert.equal(n, data.totp_vectors.length)
})

test('RFC 4226 Appendix D values as TOTP at counter*30 (6 digits, window 0)', { skip: RFC.skip }, () => {
  const data = requireShared(RFC)
  const h = data.rfc4226_hotp
  const secret = base32(Buffer.from(h.key_hex, 'hex'))
  assert.equal(secret, data.keys.SHA1.base32.replace(/=+$/, ''))
  const totp = new Totp({ digits: 6, period: 30, algorithm: 'SHA1', window: 0 })
  assert.equal(h.vectors.length, 10)
  for (const v of h.vectors) {
    const now = v.counter * 30
    assert.equal(totp.code(secret, { now }), v.hotp, `counter ${v.counter}`)
    assert.equal(totp.code(secret, { now: now + 29 }), v.hotp, `counter ${v.counter} end of step`)
    assert.equal(totp.verify(secret, v.hotp, { now }), v.counter)
  }
})

test('interop with otplib authenticator: 200 random times per algorithm and digit count', () => {
  for (const algorithm of ALGS) {
    for (const digits of [6, 8]) {
      const ours = new Totp({ digits, period: 30, algorithm, window: 1 })
      const theirs = authenticator.clone({ digits, step: 30, algorithm: algorithm.toLowerCase(), window: 1 })
      for (let i = 0; i < 200; i++) {
        const secret = base32(randomBytes(KEY_BYTES[algorithm]))
        const now = Math.floor(Math.random() * 4_000_000_000)
        const opts = { epoch: now * 1000 }
        const expected = theirs.clone(opts).generate(secret)
        assert.equal(expected.length, digits)
        const code = ours.code(secret, { now })
        assert.equal(code, expected, `${algorithm}/${digits} at ${now}`)
        assert.ok(theirs.clone(opts).check(code, secret), 'otplib accepts our code')
        assert.equal(ours.verify(secret, expected, { now }), Math.floor(now / 30), 'we accept otplib code')
      }
    }
  }
  // Our generated secrets work in otplib too.
  const ours = new Totp()
  const secret = ours.generateSecret()
  assert.equal(ours.code(secret, { now: NOW }), authenticator.clone({ epoch: NOW * 1000 }).generate(secret))
})

test('our uri follows otplib keyuri conventions', () => {
  for (const [opts, account] of [
    [{ issuer: 'Example Co' }, 'alice@example.com'],
    [{ issuer: 'ACME', digits: 8, period: 60, algorithm: 'SHA256' }, 'bob'],
    [{ issuer: 'Big', digits: 7, period: 45, algorithm: 'SHA512' }, 'carol smith'],
  ]) {
    const totp = new Totp(opts)
    const secret = totp.generateSecret()
    const uri = totp.uri(secret, account)
    const u = new URL(uri)
    assert.equal(u.protocol, 'otpauth:')
    assert.equal(u.host, 'totp')
    assert.equal(decodeURIComponent(u.pathname.slice(1)), `${opts.issuer}:${account}`)
    const q = u.searchParams
    assert.equal(q.get('secret'), secret)
    assert.equal(q.get('issuer'), opts.issuer)
    assert.equal(Number(q.get('digits') ?? 6), opts.digits ?? 6)
    assert.equal(Number(q.get('period') ?? 30), opts.period ?? 30)
    assert.equal((q.get('algorithm') ?? 'SHA1').toUpperCase(), opts.algorithm ?? 'SHA1')
    // otplib (with the same options) computes the same code from the parsed URI.
    const theirs = authenticator.clone({
      digits: Number(q.get('digits') ?? 6),
      step: Number(q.get('period') ?? 30),
      algorithm: (q.get('algorithm') ?? 'SHA1').toLowerCase(),
      epoch: NOW * 1000,
    })
    assert.equal(theirs.generate(q.get('secret')), totp.code(secret, { now: NOW }))
    // And it round-trips through our parser.
    const p = Totp.parseUri(uri)
    assert.equal(p.secret, secret)
    assert.equal(p.account, account)
    assert.equal(p.issuer, opts.issuer)
    assert.equal(p.digits, opts.digits ?? 6)
    assert.equal(p.period, opts.period ?? 30)
    assert.equal(p.algorithm, opts.algorithm ?? 'SHA1')
  }
})

test("otplib's keyuri parses in Totp.parseUri", () => {
  const secret = authenticator.generateSecret(20)
  for (const [opts, expected] of [
    [{}, { digits: 6, period: 30, algorithm: 'SHA1' }],
    [{ digits: 8, step: 60, algorithm: 'sha256' }, { digits: 8, period: 60, algorithm: 'SHA256' }],
  ]) {
    const uri = authenticator.clone(opts).keyuri('alice@example.com', 'Example Co', secret)
    const p = Totp.parseUri(uri)
    assert.equal(p.secret, secret)
    assert.equal(p.account, 'alice@example.com')
    assert.equal(p.issuer, 'Example Co')
    assert.equal(p.digits, expected.digits)
    assert.equal(p.period, expected.period)
    assert.equal(p.algorithm, expected.algorithm)
  }
  for (const bad of ['', 'https://example.com/', 'otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1', 'otpauth://totp/x', 'otpauth://totp/x?secret=!!!!', 'otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=12']) {
    assert.throws(() => Totp.parseUri(bad), (e) => e instanceof PolyauthError && e.code === 'invalid_input', `rejects ${JSON.stringify(bad)}`)
  }
})

function zbarAvailable() {
  const r = spawnSync('zbarimg', ['--version'], { encoding: 'utf8' })
  return !r.error
}
const ZBAR = zbarAvailable()
const zbarSkip = ZBAR || vectorsRequired() || servicesRequired() ? false : 'zbarimg not installed (apt-get install zbar-tools; set CI or POLYAUTH_REQUIRE_SERVICES to fail instead)'

test('QR PNG decodes back to the URI (zbarimg)', { skip: zbarSkip }, () => {
  assert.ok(ZBAR, 'zbarimg is required but not installed')
  const totp = new Totp({ issuer: 'Example Co', digits: 8, algorithm: 'SHA256' })
  const uri = totp.uri(totp.generateSecret(), 'alice@example.com')
  const png = Totp.qrPng(uri)
  assert.ok(Buffer.isBuffer(png))
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const file = join(tempDir('polyauth-totp-'), 'qr.png')
  writeFileSync(file, png)
  const r = spawnSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' })
  assert.equal(r.status, 0, `zbarimg failed: ${r.stderr}`)
  assert.equal(r.stdout.trim(), uri)
})

test('qrDataUri is the same PNG; qrSvg is an SVG', () => {
  const totp = new Totp({ issuer: 'Example' })
  const uri = totp.uri(totp.generateSecret(), 'alice')
  const dataUri = Totp.qrDataUri(uri)
  const prefix = 'data:image/png;base64,'
  assert.ok(dataUri.startsWith(prefix))
  assert.deepEqual(Buffer.from(dataUri.slice(prefix.length), 'base64'), Totp.qrPng(uri))
  const svg = Totp.qrSvg(uri)
  assert.match(svg, /<svg[\s>]/)
  assert.match(svg, /<\/svg>\s*$/)
})

test('verify returns the matched step for T-1, T, T+1 and null outside', () => {
  const totp = new Totp({ window: 1 })
  const secret = totp.generateSecret()
  for (const d of [-1, 0, 1]) {
    const code = totp.code(secret, { now: NOW + d * 30 })
    assert.equal(totp.verify(secret, code, { now: NOW }), STEP + d, `offset ${d}`)
  }
  for (const d of [-3, -2, 2, 3]) {
    const code = totp.code(secret, { now: NOW + d * 30 })
    // Guard against an accidental collision with an accepted code.
    const accepted = [-1, 0, 1].map((k) => totp.code(secret, { now: NOW + k * 30 }))
    if (accepted.includes(code)) continue
    assert.equal(totp.verify(secret, code, { now: NOW }), null, `offset ${d}`)
  }
  // Without `now`, the system clock.
  assert.equal(totp.verify(secret, totp.code(secret)), Math.floor(Date.now() / 1000 / 30))
})

test('afterStep refuses the same and older steps (replay, OTP-2)', () => {
  const totp = new Totp({ window: 1 })
  const secret = totp.generateSecret()
  const code = totp.code(secret, { now: NOW })
  const step = totp.verify(secret, code, { now: NOW })
  assert.equal(step, STEP)
  assert.equal(totp.verify(secret, code, { now: NOW, afterStep: step }), null, 'same step')
  assert.equal(totp.verify(secret, code, { now: NOW, afterStep: step + 1 }), null, 'later stored step')
  assert.equal(totp.verify(secret, code, { now: NOW, afterStep: step - 1 }), step, 'older stored step')
  // The previous step's code after the current one was used.
  const prev = totp.code(secret, { now: NOW - 30 })
  if (prev !== code) assert.equal(totp.verify(secret, prev, { now: NOW, afterStep: step }), null, 'older code')
  // The next step's code is still accepted.
  const next = totp.code(secret, { now: NOW + 30 })
  if (next !== code) assert.equal(totp.verify(secret, next, { now: NOW, afterStep: step }), step + 1)
})

test('window 0 accepts only T', () => {
  const totp = new Totp({ window: 0 })
  assert.equal(totp.window, 0)
  const secret = totp.generateSecret()
  const cur = totp.code(secret, { now: NOW })
  assert.equal(totp.verify(secret, cur, { now: NOW }), STEP)
  for (const d of [-1, 1]) {
    const c = totp.code(secret, { now: NOW + d * 30 })
    if (c !== cur) assert.equal(totp.verify(secret, c, { now: NOW }), null, `offset ${d}`)
  }
})

test('malformed codes are null; oversized input is invalid_input; wrong types are TypeError', async () => {
  const totp = new Totp()
  const secret = totp.generateSecret()
  const code = totp.code(secret, { now: NOW })
  for (const bad of ['abcdef', '12a456', '123 456', ` ${code}`, `${code} `, '12345', '123456789', code.slice(0, 5), `${code}0`, '']) {
    assert.equal(totp.verify(secret, bad, { now: NOW }), null, `rejects ${JSON.stringify(bad)}`)
  }
  // Non-ASCII digits never match (null, or invalid_input once over the byte limit).
  try {
    assert.equal(totp.verify(secret, '１２３４５６', { now: NOW }), null)
  } catch (e) {
    assert.ok(e instanceof PolyauthError && e.code === 'invalid_input', `fullwidth digits: ${e}`)
  }
  await expectCode(PolyauthError, () => totp.verify(secret, '1'.repeat(1 << 20), { now: NOW }), 'invalid_input', '1 MB code')
  for (const bad of [null, 123, undefined, {}]) {
    assert.throws(() => totp.verify(secret, bad, { now: NOW }), TypeError, `code ${util.inspect(bad)}`)
    assert.throws(() => totp.verify(bad, code, { now: NOW }), TypeError, `secret ${util.inspect(bad)}`)
  }
  assert.throws(() => totp.code(null, { now: NOW }), TypeError)
  assert.throws(() => totp.uri(null, 'alice'), TypeError)
})

test('bad secrets are invalid_input', async () => {
  const totp = new Totp()
  for (const bad of ['', 'not base32!', '0189', 'AAAA', base32(randomBytes(10)), 'A'.repeat(1 << 20)]) {
    await expectCode(PolyauthError, () => totp.code(bad, { now: NOW }), 'invalid_input', `code(${JSON.stringify(bad.slice(0, 20))})`)
    await expectCode(PolyauthError, () => totp.verify(bad, '123456', { now: NOW }), 'invalid_input', `verify(${JSON.stringify(bad.slice(0, 20))})`)
    await expectCode(PolyauthError, () => totp.uri(bad, 'alice'), 'invalid_input', `uri(${JSON.stringify(bad.slice(0, 20))})`)
  }
})

test('secrets under 160 bits are invalid_input everywhere (OTP-5); 160 bits work', async () => {
  const totp = new Totp()
  for (const size of [16, 19]) {
    const raw = Buffer.from(Array.from({ length: size }, (_, i) => i + 1))
    for (const short of [base32(raw), base32(raw).padEnd(Math.ceil(base32(raw).length / 8) * 8, '=')]) {
      const e = await expectCode(PolyauthError, () => totp.code(short, { now: NOW }), 'invalid_input', `code, ${size} bytes`)
      assert.match(e.message, /160 bits/)
      await expectCode(PolyauthError, () => totp.verify(short, '123456', { now: NOW }), 'invalid_input', `verify, ${size} bytes`)
      await expectCode(PolyauthError, () => totp.uri(short, 'alice'), 'invalid_input', `uri, ${size} bytes`)
      await expectCode(PolyauthError, () => Totp.parseUri(`otpauth://totp/Example:alice?secret=${short}&issuer=Example`), 'invalid_input', `parseUri, ${size} bytes`)
    }
  }
  const ok = base32(Buffer.from(Array.from({ length: 20 }, (_, i) => i + 1)))
  assert.equal(totp.code(ok, { now: NOW }), authenticator.clone({ epoch: NOW * 1000 }).generate(ok))
  assert.equal(Totp.parseUri(totp.uri(ok, 'alice')).secret, ok)
})

test('bad options are invalid_config', async () => {
  for (const opts of [
    { digits: 5 },
    { digits: 9 },
    { digits: -6 },
    { period: 0 },
    { period: 10 },
    { period: -30 },
    { window: 2 },
    { window: -1 },
    { algorithm: 'MD5' },
  ]) {
    await expectCode(PolyauthError, () => new Totp(opts), 'invalid_config', JSON.stringify(opts))
  }
  const ok = new Totp({ issuer: 'X', digits: 8, period: 60, algorithm: 'SHA512', window: 0 })
  assert.deepEqual([ok.issuer, ok.digits, ok.period, ok.algorithm, ok.window], ['X', 8, 60, 'SHA512', 0])
  const d = new Totp()
  assert.deepEqual([d.digits, d.period, d.algorithm, d.window], [6, 30, 'SHA1', 1])
})

test('generateSecret: 32 base32 characters for SHA1, unique; longer for SHA256/SHA512', () => {
  const totp = new Totp()
  const seen = new Set()
  for (let i = 0; i < 1000; i++) {
    const s = totp.generateSecret()
    assert.match(s, /^[A-Z2-7]{32}$/)
    seen.add(s)
  }
  assert.equal(seen.size, 1000)
  for (const algorithm of ['SHA256', 'SHA512']) {
    const s = new Totp({ algorithm }).generateSecret()
    assert.match(s, /^[A-Z2-7]+=*$/)
    assert.ok(s.replace(/=+$/, '').length >= 32, `${algorithm} secret ${s}`)
  }
})

test('util.inspect(totp) shows no secret', () => {
  const totp = new Totp({ issuer: 'Example' })
  const secret = totp.generateSecret()
  totp.code(secret)
  totp.verify(secret, '000000')
  totp.uri(secret, 'alice')
  const shown = util.inspect(totp, { depth: 10, showHidden: true }) + JSON.stringify(totp) + String(totp)
  assert.ok(!shown.includes(secret))
})
