// PasswordPolicy through the npm package `polyauth` (DESIGN.md §4, §7 PW-6, PW-7, PW-8).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BUILTIN_BLOCKLIST_SIZE, PasswordHasher, PasswordPolicy, PolyauthError } from 'polyauth'
import { expectCode } from './helpers.mjs'

/** An ASCII password of exactly `n` code points: not common, not repetitive, no context words. */
const pw = (n) => 'tq8vz3mxwplr9kbhdnfs'.repeat(Math.ceil(n / 20) + 1).slice(0, n)

const policy = new PasswordPolicy()

describe('length boundaries (PW-6)', () => {
  test('defaults', () => {
    assert.equal(policy.minLength, 15)
    assert.equal(policy.minLengthMfa, 8)
    assert.equal(policy.maxLength, 128)
  })

  test('7 / 8 with mfa', () => {
    assert.deepEqual(policy.check(pw(7), { mfa: true }), ['too_short'])
    assert.deepEqual(policy.check(pw(8), { mfa: true }), [])
    assert.deepEqual(policy.check(pw(8)), ['too_short'], 'without mfa the minimum is 15')
    assert.deepEqual(policy.check(pw(8), { mfa: false }), ['too_short'])
  })

  test('14 / 15', () => {
    assert.deepEqual(policy.check(pw(14)), ['too_short'])
    assert.deepEqual(policy.check(pw(15)), [])
  })

  test('64, 65 and 128 pass; 129 is too_long', () => {
    assert.deepEqual(policy.check(pw(64)), [])
    assert.deepEqual(policy.check(pw(65)), [])
    assert.deepEqual(policy.check(pw(128)), [])
    assert.deepEqual(policy.check(pw(129)), ['too_long'])
  })

  test('maxLength 64 is allowed: 64 passes, 65 is too_long', () => {
    const p = new PasswordPolicy({ maxLength: 64 })
    assert.equal(p.maxLength, 64)
    assert.deepEqual(p.check(pw(64)), [])
    assert.deepEqual(p.check(pw(65)), ['too_long'])
  })

  test('custom minimums', () => {
    const p = new PasswordPolicy({ minLength: 20, minLengthMfa: 10 })
    assert.equal(p.minLength, 20)
    assert.equal(p.minLengthMfa, 10)
    assert.deepEqual(p.check(pw(19)), ['too_short'])
    assert.deepEqual(p.check(pw(20)), [])
    assert.deepEqual(p.check(pw(9), { mfa: true }), ['too_short'])
    assert.deepEqual(p.check(pw(10), { mfa: true }), [])
  })

  test('length is counted in code points, not UTF-16 units or bytes', () => {
    // 14 ASCII + one astral emoji = 15 code points (16 UTF-16 units).
    assert.deepEqual(policy.check(pw(14) + '😀'), [])
    // 13 ASCII + emoji = 14 code points but 15 UTF-16 units: still too short.
    assert.deepEqual(policy.check(pw(13) + '😀'), ['too_short'])
    // 128 code points of which 64 are emoji (256 UTF-16 units, 320 bytes): not too long.
    const mixed = 'a😀'.repeat(64)
    assert.equal([...mixed].length, 128)
    assert.deepEqual(policy.check(mixed), [])
    assert.deepEqual(policy.check(mixed + 'b'), ['too_long'])
  })

  test('UTF-8 bytes are accepted like strings', () => {
    assert.deepEqual(policy.check(new TextEncoder().encode(pw(14) + '😀')), [])
    assert.deepEqual(policy.check(Buffer.from(pw(14))), ['too_short'])
  })
})

describe('blocklists and context words (PW-8)', () => {
  test('BUILTIN_BLOCKLIST_SIZE >= 10000', () => {
    assert.equal(typeof BUILTIN_BLOCKLIST_SIZE, 'number')
    assert.ok(BUILTIN_BLOCKLIST_SIZE >= 10000, String(BUILTIN_BLOCKLIST_SIZE))
  })

  test("check('password') includes common_password", () => {
    const reasons = policy.check('password')
    assert.ok(reasons.includes('common_password'), JSON.stringify(reasons))
    assert.ok(reasons.includes('too_short'), JSON.stringify(reasons))
    // With mfa the length is fine, but it is still common.
    assert.deepEqual(policy.check('password', { mfa: true }), ['common_password'])
  })

  test('the built-in blocklist is case-insensitive', () => {
    for (const v of ['PASSWORD', 'PassWord', 'pAsSwOrD']) {
      assert.deepEqual(policy.check(v, { mfa: true }), ['common_password'], v)
    }
  })

  test('useBuiltinBlocklist: false disables the built-in list', () => {
    const p = new PasswordPolicy({ useBuiltinBlocklist: false })
    assert.deepEqual(p.check('password', { mfa: true }), [])
  })

  test('the application blocklist (case-insensitive)', () => {
    const p = new PasswordPolicy({ blocklist: ['AcmeCorpWinter2024!'] })
    assert.deepEqual(p.check('AcmeCorpWinter2024!'), ['common_password'])
    assert.deepEqual(p.check('acmecorpwinter2024!'), ['common_password'])
    assert.deepEqual(p.check('ACMECORPWINTER2024!'), ['common_password'])
    assert.deepEqual(p.check('AcmeCorpWinter2025!'), [])
    // The default policy does not know it.
    assert.deepEqual(policy.check('AcmeCorpWinter2024!'), [])
  })

  test('contextWords option', () => {
    const p = new PasswordPolicy({ contextWords: ['polyauth'] })
    assert.deepEqual(p.check('i-really-like-polyauth-99'), ['contains_context_word'])
    assert.deepEqual(p.check('i-really-like-POLYAUTH-99'), ['contains_context_word'])
    assert.deepEqual(p.check('i-really-like-turtles-99'), [])
    assert.deepEqual(policy.check('i-really-like-polyauth-99'), [])
  })

  test('per-call context (email)', () => {
    const ctx = { context: ['jane.doe@example.com'] }
    assert.deepEqual(policy.check('jane-likes-long-walks-99', ctx), ['contains_context_word'])
    assert.deepEqual(policy.check('JANE-likes-long-walks-99', ctx), ['contains_context_word'])
    assert.deepEqual(policy.check('jane-likes-long-walks-99'), [], 'no context given: passes')
    assert.deepEqual(policy.check('bob-likes-long-walks-99', ctx), [])
    assert.throws(() => policy.validate('jane-likes-long-walks-99', ctx), (e) => {
      assert.ok(e instanceof PolyauthError)
      assert.equal(e.code, 'password_policy')
      assert.deepEqual(e.reasons, ['contains_context_word'])
      return true
    })
  })

  test('repetitive', () => {
    assert.ok(policy.check('a'.repeat(20)).includes('repetitive'))
    assert.ok(policy.check('😀'.repeat(20)).includes('repetitive'))
    assert.ok(!policy.check(pw(20)).includes('repetitive'))
  })
})

describe('validate', () => {
  test('throws PolyauthError password_policy with .reasons', () => {
    let err
    try {
      policy.validate('password')
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof PolyauthError, String(err))
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'password_policy')
    assert.deepEqual([...err.reasons].sort(), ['common_password', 'too_short'])
    assert.ok(!err.message.includes('password\u001f'), 'internal separator leaked into the message')
  })

  test('too_long is reported through validate as well', () => {
    assert.throws(
      () => policy.validate(pw(129)),
      (e) => e instanceof PolyauthError && e.code === 'password_policy' && e.reasons.length === 1 && e.reasons[0] === 'too_long',
    )
  })

  test('returns undefined for an acceptable password', () => {
    assert.equal(policy.validate(pw(15)), undefined)
    assert.equal(policy.validate(pw(8), { mfa: true }), undefined)
  })
})

describe('configuration', () => {
  for (const [name, opts] of [
    ['minLength 7', { minLength: 7 }],
    ['maxLength 63', { maxLength: 63 }],
    ['minLengthMfa 7', { minLengthMfa: 7 }],
    ['maxLength below minLength', { minLength: 100, maxLength: 64 }],
  ]) {
    test(`${name} -> invalid_config`, async () => {
      await expectCode(PolyauthError, () => new PasswordPolicy(opts), 'invalid_config')
    })
  }

  test('a hasher carries its policy (hashing does not enforce it)', async () => {
    const p = new PasswordPolicy({ minLength: 20 })
    const h = new PasswordHasher({ policy: p })
    assert.equal(h.policy, p)
    assert.equal(h.policy.minLength, 20)
    assert.equal(new PasswordHasher().policy.minLength, 15)
    const phc = h.hashSync('password')
    assert.equal(h.verifySync(phc, 'password'), true)
  })
})

describe('bad input', () => {
  test('wrong types -> TypeError', () => {
    for (const bad of [42, null, {}, undefined]) {
      assert.throws(() => policy.check(bad), TypeError)
      assert.throws(() => policy.validate(bad), TypeError)
    }
  })

  test('a lone surrogate or invalid UTF-8 -> invalid_input', async () => {
    await expectCode(PolyauthError, () => policy.check(`${pw(20)}\uD800`), 'invalid_input')
    await expectCode(PolyauthError, () => policy.check(new Uint8Array([0x61, 0xc3])), 'invalid_input')
  })
})
