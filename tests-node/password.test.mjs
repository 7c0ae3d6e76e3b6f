// Password hashing through the npm package `polyauth` (DESIGN.md §4, §5, §7 PW-*).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import util from 'node:util'
import { Algorithm, hash as nodeRsHash, verify as nodeRsVerify } from '@node-rs/argon2'
import { ERROR_CODES, PasswordHasher, PasswordPolicy, PolyauthError, Store, _debugPanic, _debugPanicAsync } from 'polyauth'
import {
  SKIP_SLOW,
  expectCode,
  invalidCaseHash,
  loadProjectVectors,
  loadSharedVectors,
  requireShared,
} from './helpers.mjs'

const hasher = new PasswordHasher()

/** An argon2id PHC string with polyauth's default policy: 16-byte salt (22 chars), 32-byte tag (43 chars). */
const DEFAULT_PHC = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/

/** RFC 9106 / reference implementation vector with m=256 KiB: valid, far below policy. */
const WEAK_ARGON2ID = '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'
/** Reference implementation vector with m=65536 KiB (password "password"). */
const M65536_ARGON2ID = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'

function assertDefaultPhc(phc) {
  assert.equal(typeof phc, 'string')
  const m = DEFAULT_PHC.exec(phc)
  assert.ok(m, `not a default-policy argon2id PHC string: ${phc}`)
  assert.equal(Buffer.from(m[1], 'base64').length, 16, 'salt must be 16 bytes')
  assert.equal(Buffer.from(m[2], 'base64').length, 32, 'tag must be 32 bytes')
  return { salt: m[1], tag: m[2] }
}

const pwVectors = loadProjectVectors('passwords.json')

// ---------------------------------------------------------------------------------------------
describe('reference vectors', () => {
  const rfc = loadSharedVectors('rfc/argon2id_rfc9106.json')

  test('reference implementation argon2id v1.3 PHC strings verify (PW-2)', { skip: rfc.skip }, async (t) => {
    const vectors = requireShared(rfc).reference_impl_argon2id_v13.vectors
    assert.equal(vectors.length, 8)
    for (const [i, v] of vectors.entries()) {
      await t.test(`#${i} ${v.expected_phc.split('$')[3]} ${JSON.stringify(v.password)}`, async () => {
        assert.equal(await hasher.verify(v.expected_phc, v.password), true)
        assert.equal(await hasher.verify(v.expected_phc, `${v.password}!`), false)
        // None of them is exactly the default policy, so all need a rehash.
        assert.equal(hasher.needsRehash(v.expected_phc), true)
      })
    }
  })

  describe('vectors/passwords.json verify[]', () => {
    assert.ok(pwVectors.verify.length > 0)
    for (const c of pwVectors.verify) {
      test(`${c.id} (${c.format})`, { skip: c.slow && SKIP_SLOW ? 'slow (POLYAUTH_SKIP_SLOW)' : false }, async () => {
        assert.equal(await hasher.verify(c.hash, c.password), true, 'password must verify')
        assert.equal(hasher.verifySync(c.hash, c.password), true, 'verifySync must agree')
        for (const other of c.also_verifies ?? []) {
          assert.equal(await hasher.verify(c.hash, other), true, `also_verifies ${JSON.stringify(other)}`)
        }
        for (const wrong of c.wrong ?? []) {
          assert.equal(await hasher.verify(c.hash, wrong), false, `wrong ${JSON.stringify(wrong)}`)
        }
        assert.equal(hasher.needsRehash(c.hash), c.needs_rehash, 'needsRehash')
      })
    }
  })

  describe('vectors/passwords.json invalid[]', () => {
    assert.ok(pwVectors.invalid.length > 0)
    for (const c of pwVectors.invalid) {
      test(`${c.id}: invalid_hash`, async () => {
        const h = invalidCaseHash(c)
        const checkMessage = (e) => {
          if (h.length > 12) assert.ok(!e.message.includes(h), `error message contains the hash: ${e.message.slice(0, 200)}`)
          assert.ok(e.message.length < 500, 'error message is unexpectedly long')
        }
        for (const pw of ['correct horse battery staple', '']) {
          checkMessage(await expectCode(PolyauthError, () => hasher.verify(h, pw), 'invalid_hash', 'verify'))
          checkMessage(await expectCode(PolyauthError, () => hasher.verifySync(h, pw), 'invalid_hash', 'verifySync'))
        }
        checkMessage(
          await expectCode(PolyauthError, () => hasher.verifyAndUpdate(h, 'x'), 'invalid_hash', 'verifyAndUpdate'),
        )
        checkMessage(await expectCode(PolyauthError, () => hasher.needsRehash(h), 'invalid_hash', 'needsRehash'))
      })
    }
  })
})

// ---------------------------------------------------------------------------------------------
describe('hash format and sync/async variants', () => {
  test('hash() produces a default-policy argon2id PHC string with a fresh 16-byte salt (PW-1, PW-3)', async () => {
    const a = await hasher.hash('correct horse battery staple')
    const b = await hasher.hash('correct horse battery staple')
    const pa = assertDefaultPhc(a)
    const pb = assertDefaultPhc(b)
    assert.notEqual(pa.salt, pb.salt, 'salts must differ')
    assert.notEqual(pa.tag, pb.tag)
    assert.equal(await hasher.verify(a, 'correct horse battery staple'), true)
    assert.equal(await hasher.verify(a, 'correct horse battery stapl'), false)
    assert.equal(hasher.needsRehash(a), false)
  })

  test('hashSync / verifySync agree with hash / verify', async () => {
    const s = hasher.hashSync('pässwörd one')
    assertDefaultPhc(s)
    assert.equal(await hasher.verify(s, 'pässwörd one'), true)
    assert.equal(hasher.verifySync(s, 'pässwörd one'), true)
    assert.equal(hasher.verifySync(s, 'pässwörd two'), false)
    assert.equal(await hasher.verify(s, 'pässwörd two'), false)
    const a = await hasher.hash('pässwörd one')
    assert.equal(hasher.verifySync(a, 'pässwörd one'), true)
    assert.equal(hasher.verifySync(a, 'pässwörd two'), false)
    assert.equal(hasher.needsRehash(s), false)
  })

  test('verifyAndUpdate / verifyAndUpdateSync agree', async () => {
    const current = await hasher.hash('current password')
    for (const [h, pw, valid, upgrade] of [
      [current, 'current password', true, false],
      [current, 'wrong password', false, false],
      [WEAK_ARGON2ID, 'password', true, true],
      [WEAK_ARGON2ID, 'passwort', false, false],
    ]) {
      for (const outcome of [await hasher.verifyAndUpdate(h, pw), hasher.verifyAndUpdateSync(h, pw)]) {
        assert.equal(outcome.valid, valid, `${h} ${pw}`)
        if (upgrade) {
          assertDefaultPhc(outcome.newHash)
          assert.equal(await hasher.verify(outcome.newHash, pw), true)
        } else {
          assert.equal(outcome.newHash ?? null, null, `no newHash expected for ${h} ${pw}`)
        }
      }
    }
  })

  test('string and UTF-8 bytes are the same password', async () => {
    const h = await hasher.hash('pässwörd bytes')
    assert.equal(await hasher.verify(h, new TextEncoder().encode('pässwörd bytes')), true)
    assert.equal(await hasher.verify(h, Buffer.from('pässwörd bytes', 'utf8')), true)
    assert.equal(await hasher.verify(h, new TextEncoder().encode('pässwörd byte')), false)
    const hb = hasher.hashSync(new TextEncoder().encode('pässwörd bytes'))
    assert.equal(hasher.verifySync(hb, 'pässwörd bytes'), true)
  })
})

// ---------------------------------------------------------------------------------------------
describe('interop with @node-rs/argon2', () => {
  // `Algorithm` is a TypeScript `const enum`: at runtime the export is an empty object, so
  // Algorithm.Argon2id is undefined; fall back to its numeric value (2).
  const argon2id = Algorithm?.Argon2id ?? 2
  const opts = { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: argon2id }

  test('a @node-rs/argon2 hash verifies in polyauth', async () => {
    const h = await nodeRsHash('interop pässword', opts)
    assertDefaultPhc(h)
    assert.equal(await hasher.verify(h, 'interop pässword'), true)
    assert.equal(await hasher.verify(h, 'interop password'), false)
    assert.equal(hasher.needsRehash(h), false)
  })

  test("polyauth's hash verifies with @node-rs/argon2", async () => {
    const h = await hasher.hash('interop pässword')
    assert.equal(await nodeRsVerify(h, 'interop pässword'), true)
    assert.equal(await nodeRsVerify(h, 'interop password'), false)
  })

  test('the pepper is argon2 secret input (PW-4): @node-rs/argon2 verifies it with `secret`', async () => {
    const pepper = 'p'.repeat(32)
    const h = await new PasswordHasher({ pepper }).hash('peppered')
    assert.equal(await nodeRsVerify(h, 'peppered', { secret: Buffer.from(pepper) }), true)
    assert.equal(await nodeRsVerify(h, 'peppered'), false)
  })
})

// ---------------------------------------------------------------------------------------------
describe('engine', () => {
  test('PasswordHasher.engineInfo() names the argon2 engine, its kernel and the CPU features behind it', () => {
    const info = PasswordHasher.engineInfo()
    assert.deepEqual(Object.keys(info).sort(), ['backend', 'cpuFeatures', 'engine'])
    assert.match(info.engine, /^argon2-rust /)
    const needs = { avx512: 'avx512f', avx2: 'avx2', sse2: 'sse2', neon: 'neon', scalar: null }
    assert.ok(info.backend in needs, info.backend)
    if (needs[info.backend]) assert.ok(info.cpuFeatures.split(' ').includes(needs[info.backend]), info.cpuFeatures)
  })
})

// ---------------------------------------------------------------------------------------------
describe('verifyAndUpdate (PW-5)', () => {
  test('a weak argon2id hash is upgraded', async () => {
    assert.equal(hasher.needsRehash(WEAK_ARGON2ID), true)
    const out = await hasher.verifyAndUpdate(WEAK_ARGON2ID, 'password')
    assert.equal(out.valid, true)
    assertDefaultPhc(out.newHash)
    assert.equal(await hasher.verify(out.newHash, 'password'), true)
    assert.equal(await hasher.verify(out.newHash, 'passwore'), false)
    assert.equal(hasher.needsRehash(out.newHash), false)
  })

  const legacy = pwVectors.verify.filter((c) => ['bcrypt', 'django_pbkdf2_sha256'].includes(c.format) && !c.slow)
  test('vectors include bcrypt and django cases', () => {
    assert.ok(legacy.some((c) => c.format === 'bcrypt'))
    assert.ok(legacy.some((c) => c.format === 'django_pbkdf2_sha256'))
  })
  for (const c of legacy) {
    test(`legacy ${c.id} is upgraded to argon2id`, async () => {
      const out = await hasher.verifyAndUpdate(c.hash, c.password)
      assert.equal(out.valid, true)
      assertDefaultPhc(out.newHash)
      assert.equal(await hasher.verify(out.newHash, c.password), true)
      assert.equal(hasher.needsRehash(out.newHash), false)
      // (bcrypt ignores bytes after the 72nd, so take a wrong password from the vector.)
      const bad = await hasher.verifyAndUpdate(c.hash, c.wrong[0])
      assert.equal(bad.valid, false)
      assert.equal(bad.newHash ?? null, null)
    })
  }

  test('a wrong password gives {valid:false} and no newHash', async () => {
    const h = await hasher.hash('the right one')
    const out = await hasher.verifyAndUpdate(h, 'the wrong one')
    assert.equal(out.valid, false)
    assert.equal(out.newHash ?? null, null)
  })

  test('a current hash gives no newHash', async () => {
    const h = await hasher.hash('the right one')
    const out = await hasher.verifyAndUpdate(h, 'the right one')
    assert.equal(out.valid, true)
    assert.equal(out.newHash ?? null, null)
  })
})

// ---------------------------------------------------------------------------------------------
describe('pepper (PW-4)', () => {
  const pepper = 'x'.repeat(16)
  const peppered = new PasswordHasher({ pepper })

  test('verifies only with the same pepper', async () => {
    const h = await peppered.hash('pepper me')
    assertDefaultPhc(h)
    assert.equal(await peppered.verify(h, 'pepper me'), true)
    assert.equal(await peppered.verify(h, 'pepper you'), false)
    assert.equal(await hasher.verify(h, 'pepper me'), false, 'no pepper must not verify')
    assert.equal(await new PasswordHasher({ pepper: 'y'.repeat(16) }).verify(h, 'pepper me'), false, 'another pepper')
    assert.equal(await new PasswordHasher({ pepper: Buffer.from(pepper) }).verify(h, 'pepper me'), true, 'same pepper as Buffer')
    assert.equal(peppered.needsRehash(h), false)
  })

  test('the pepper does not leak through inspect, JSON or enumerable properties', () => {
    const p = new PasswordHasher({ pepper: 'S3cr3tPepperValue' })
    for (const s of [
      util.inspect(p),
      util.inspect(p, { showHidden: true, depth: Infinity }),
      util.inspect(p, { customInspect: false, showHidden: true, depth: Infinity }),
      JSON.stringify(p),
      String(p),
      Object.keys(p).join(','),
    ]) {
      assert.ok(!s.includes('S3cr3tPepperValue'), `pepper leaked: ${s}`)
    }
    assert.match(util.inspect(p), /memoryKib: 19456/)
  })
})

// ---------------------------------------------------------------------------------------------
describe('constructor (PW-1)', () => {
  test('defaults', () => {
    const h = new PasswordHasher()
    assert.equal(h.timeCost, 2)
    assert.equal(h.memoryKib, 19456)
    assert.equal(h.parallelism, 1)
    assert.equal(h.maxMemoryKib, 262144)
    assert.ok(h.policy instanceof PasswordPolicy)
  })

  for (const [name, opts] of [
    ['memoryKib 4096', { memoryKib: 4096 }],
    ['timeCost 1 with default memory', { timeCost: 1 }],
    ['parallelism 0', { parallelism: 0 }],
    ['memoryKib 7168, timeCost 4', { memoryKib: 7168, timeCost: 4 }],
    ['timeCost 0', { timeCost: 0 }],
  ]) {
    test(`below the OWASP floor: ${name} -> invalid_config`, async () => {
      await expectCode(PolyauthError, () => new PasswordHasher(opts), 'invalid_config')
    })
  }

  for (const [m, t] of [
    [35840, 1],
    [12000, 3],
    [9000, 4],
  ]) {
    test(`below its OWASP table row (the old m*t floor accepted it): m=${m}, t=${t} -> invalid_config`, async () => {
      await expectCode(PolyauthError, () => new PasswordHasher({ memoryKib: m, timeCost: t }), 'invalid_config')
    })
  }

  for (const [m, t] of [
    [47104, 1],
    [19456, 2],
    [12288, 3],
    [9216, 4],
    [7168, 5],
    [7168, 6],
    [7168, 10],
  ]) {
    test(`OWASP table row m=${m}, t=${t}: accepted, 1 KiB less -> invalid_config`, async () => {
      assert.equal(new PasswordHasher({ memoryKib: m, timeCost: t }).memoryKib, m)
      await expectCode(PolyauthError, () => new PasswordHasher({ memoryKib: m - 1024, timeCost: t }), 'invalid_config')
    })
  }

  for (const [m, t] of [
    [47104, 1],
    [19456, 2],
    [12288, 3],
    [9216, 4],
    [7168, 5],
  ]) {
    test(`OWASP combination m=${m}, t=${t} is accepted`, async () => {
      const h = new PasswordHasher({ memoryKib: m, timeCost: t })
      assert.equal(h.memoryKib, m)
      assert.equal(h.timeCost, t)
      const phc = await h.hash('owasp')
      assert.ok(phc.startsWith(`$argon2id$v=19$m=${m},t=${t},p=1$`), phc)
      assert.equal(await h.verify(phc, 'owasp'), true)
      assert.equal(h.needsRehash(phc), false)
    })
  }
})

// ---------------------------------------------------------------------------------------------
describe('stored hashes below the table or above the work budget (PW-1)', () => {
  test('an argon2id hash below the OWASP table verifies and needs a rehash', async () => {
    // m=35840, t=1: what the old m*t floor let a hasher produce; below the t=1 row (47104).
    const salt = Buffer.from('sixteen byte sal')
    const old = await nodeRsHash('old password', { memoryCost: 35840, timeCost: 1, parallelism: 1, algorithm: Algorithm?.Argon2id ?? 2, salt })
    assert.ok(old.startsWith('$argon2id$v=19$m=35840,t=1,p=1$'), old)
    assert.equal(await hasher.verify(old, 'old password'), true)
    assert.equal(hasher.needsRehash(old), true)
    const out = await hasher.verifyAndUpdate(old, 'old password')
    assert.equal(out.valid, true)
    assertDefaultPhc(out.newHash)
  })

  const b64x32 = 'yqKgFOyLPkopMFEjmsIi//p2wnXlPhboQloV9osVad0='
  const b64x64 = Buffer.alloc(64, 0xab).toString('base64')
  const hex32 = 'ab'.repeat(32)
  const hex64 = 'ab'.repeat(64)
  const bcryptTail = '2CEUE9j.uOovtYunhB5MhewnUv2VvCQgU/jiToPjhMroR4DDypPAC'
  // Exactly at each bound (bcrypt cost 14, scrypt N*r*p 2^21, PBKDF2 iterations x output blocks
  // 5,000,000 with SHA-512 counted 4x) and just above it.
  const atBound = [
    `$2b$14$${bcryptTail}`,
    `scrypt:131072:8:2$salt$${hex64}`,
    `scrypt:65536:32:1$salt$${hex64}`,
    `pbkdf2_sha256$5000000$salt$${b64x32}`,
    `pbkdf2_sha256$2500000$salt$${b64x64}`,
    `pbkdf2:sha256:5000000$salt$${hex32}`,
    `pbkdf2:sha512:1250000$salt$${hex64}`,
  ]
  const aboveBound = [
    `$2b$15$${bcryptTail}`,
    `$2b$16$${bcryptTail}`,
    `scrypt:65536:11:3$salt$${hex64}`,
    `scrypt:131072:8:16$salt$${hex64}`,
    `pbkdf2_sha256$5000001$salt$${b64x32}`,
    `pbkdf2_sha256$2500001$salt$${b64x64}`,
    `pbkdf2_sha256$10000000$salt$${b64x32}`,
    'pbkdf2_sha1$5000001$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    `pbkdf2:sha256:5000001$salt$${hex32}`,
    `pbkdf2:sha512:1250001$salt$${hex64}`,
  ]

  test('legacy hashes exactly at the work bound parse (needsRehash does no hashing)', () => {
    for (const h of atBound) assert.equal(hasher.needsRehash(h), true, h)
  })

  for (const h of aboveBound) {
    test(`above the work bound -> invalid_hash before any work: ${h.slice(0, 24)}`, async () => {
      const e = await expectCode(PolyauthError, () => hasher.verify(h, 'password'), 'invalid_hash', 'verify')
      assert.ok(!e.message.includes(h))
      await expectCode(PolyauthError, () => hasher.verifySync(h, 'password'), 'invalid_hash', 'verifySync')
      await expectCode(PolyauthError, () => hasher.verifyAndUpdate(h, 'password'), 'invalid_hash', 'verifyAndUpdate')
      await expectCode(PolyauthError, () => hasher.verifyAndUpdateSync(h, 'password'), 'invalid_hash', 'verifyAndUpdateSync')
      await expectCode(PolyauthError, () => hasher.needsRehash(h), 'invalid_hash', 'needsRehash')
    })
  }

  test('legacy hashes at realistic defaults still verify', async () => {
    const pw = 'legacy default password'
    const salt = 'NaClNaClNaClNaCl'
    const django = crypto.pbkdf2Sync(pw, salt, 1_200_000, 32, 'sha256').toString('base64')
    const werkzeug = crypto.pbkdf2Sync(pw, salt, 1_000_000, 64, 'sha512').toString('hex')
    const scrypt = crypto.scryptSync(pw, salt, 64, { N: 1 << 17, r: 8, p: 1, maxmem: 1 << 28 }).toString('hex')
    for (const h of [
      // Python bcrypt 5.0, cost 12.
      '$2b$12$2QEhHZK9O5B5ZC2HQSQ.ceO4bdlGtHEZCqjYHfpgFMVLWEblyynCy',
      `pbkdf2_sha256$1200000$${salt}$${django}`, // Django 6.0 default
      `pbkdf2:sha512:1000000$${salt}$${werkzeug}`, // Werkzeug 3 default iterations
      `scrypt:131072:8:1$${salt}$${scrypt}`,
    ]) {
      assert.equal(await hasher.verify(h, pw), true, h)
      assert.equal(await hasher.verify(h, 'wrong password'), false, h)
      const out = await hasher.verifyAndUpdate(h, pw)
      assert.equal(out.valid, true, h)
      assertDefaultPhc(out.newHash)
    }
  })
})

// ---------------------------------------------------------------------------------------------
describe('bad input', () => {
  const someHash = pwVectors.verify.find((c) => c.id === 'argon2id-polyauth-default').hash

  test('a 1 MiB password -> invalid_input (hash, hashSync, verify, verifySync)', async () => {
    const big = 'a'.repeat(1 << 20)
    await expectCode(PolyauthError, () => hasher.hash(big), 'invalid_input', 'hash')
    await expectCode(PolyauthError, () => hasher.hashSync(big), 'invalid_input', 'hashSync')
    await expectCode(PolyauthError, () => hasher.verify(someHash, big), 'invalid_input', 'verify')
    await expectCode(PolyauthError, () => hasher.verifySync(someHash, big), 'invalid_input', 'verifySync')
    await expectCode(PolyauthError, () => hasher.hash(new Uint8Array(1 << 20).fill(97)), 'invalid_input', 'bytes')
  })

  test('the empty password hashes and verifies', async () => {
    const h = await hasher.hash('')
    assertDefaultPhc(h)
    assert.equal(await hasher.verify(h, ''), true)
    assert.equal(await hasher.verify(h, ' '), false)
  })

  test('a NUL in the middle is not truncated (PW-9)', async () => {
    const h = await hasher.hash('a\0b')
    assert.equal(await hasher.verify(h, 'a\0b'), true)
    assert.equal(await hasher.verify(h, 'a'), false)
    assert.equal(await hasher.verify(h, 'a\0c'), false)
  })

  test('a lone surrogate -> invalid_input', async () => {
    await expectCode(PolyauthError, () => hasher.hash('a\uD800b'), 'invalid_input', 'hash')
    await expectCode(PolyauthError, () => hasher.hashSync('a\uDC00b'), 'invalid_input', 'hashSync')
    await expectCode(PolyauthError, () => hasher.verify(someHash, 'a\uD800b'), 'invalid_input', 'verify')
  })

  test('invalid UTF-8 bytes -> invalid_input', async () => {
    const bad = new Uint8Array([0x61, 0xff, 0x62])
    await expectCode(PolyauthError, () => hasher.hash(bad), 'invalid_input', 'hash')
    await expectCode(PolyauthError, () => hasher.hashSync(bad), 'invalid_input', 'hashSync')
    await expectCode(PolyauthError, () => hasher.verify(someHash, bad), 'invalid_input', 'verify')
  })

  test('a password of the wrong type -> TypeError', async () => {
    for (const bad of [42, null, {}, undefined, ['a']]) {
      await assert.rejects(hasher.hash(bad), TypeError, `hash(${util.inspect(bad)})`)
      assert.throws(() => hasher.hashSync(bad), TypeError, `hashSync(${util.inspect(bad)})`)
      await assert.rejects(hasher.verify(someHash, bad), TypeError, `verify(hash, ${util.inspect(bad)})`)
      assert.throws(() => hasher.verifySync(someHash, bad), TypeError, `verifySync(hash, ${util.inspect(bad)})`)
      await assert.rejects(hasher.verifyAndUpdate(someHash, bad), TypeError, `verifyAndUpdate(hash, ${util.inspect(bad)})`)
    }
    // Still alive and working.
    assert.equal(await hasher.verify(someHash, 'correct horse battery staple'), true)
  })

  test(
    'a hash of the wrong type -> TypeError',
    async () => {
      for (const bad of [42, null, {}]) {
        await assert.rejects(hasher.verify(bad, 'x'), TypeError, `verify(${util.inspect(bad)}, pw)`)
        assert.throws(() => hasher.verifySync(bad, 'x'), TypeError, `verifySync(${util.inspect(bad)}, pw)`)
        assert.throws(() => hasher.needsRehash(bad), TypeError, `needsRehash(${util.inspect(bad)})`)
      }
    },
  )

  test('NFC and NFD spellings verify alike (PW-9 NFKC)', async () => {
    const nfc = 'Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e'
    const nfd = nfc.normalize('NFD')
    assert.notEqual(nfc, nfd)
    const h1 = await hasher.hash(nfc)
    const h2 = await hasher.hash(nfd)
    for (const h of [h1, h2]) {
      assert.equal(await hasher.verify(h, nfc), true)
      assert.equal(await hasher.verify(h, nfd), true)
      assert.equal(await hasher.verify(h, 'Cafe creme brulee'), false)
    }
  })

  test('an m=4 GiB hash is refused before allocating -> invalid_hash', async () => {
    const h = '$argon2id$v=19$m=4194304,t=2,p=1$gFiwOLCXRMuWdHJIFc1x/g$ieihK9RnewV3QkNzrHShic0XFys4heB1tVZkdBDhPoo'
    await expectCode(PolyauthError, () => hasher.verify(h, 'correct horse battery staple'), 'invalid_hash')
  })

  test('maxMemoryKib 32768 refuses an m=65536 hash the default accepts', async () => {
    assert.equal(await hasher.verify(M65536_ARGON2ID, 'password'), true)
    const bounded = new PasswordHasher({ maxMemoryKib: 32768 })
    assert.equal(bounded.maxMemoryKib, 32768)
    await expectCode(PolyauthError, () => bounded.verify(M65536_ARGON2ID, 'password'), 'invalid_hash', 'verify')
    await expectCode(PolyauthError, () => bounded.verifySync(M65536_ARGON2ID, 'password'), 'invalid_hash', 'verifySync')
    await expectCode(PolyauthError, () => bounded.verifyAndUpdate(M65536_ARGON2ID, 'password'), 'invalid_hash', 'verifyAndUpdate')
    // Its own hashes are below the bound.
    assert.equal(await bounded.verify(await bounded.hash('ok'), 'ok'), true)
  })
})

// ---------------------------------------------------------------------------------------------
describe('AbortSignal', () => {
  test(
    'an already-aborted signal rejects hash() with an AbortError',
    async () => {
      await assert.rejects(hasher.hash('x', AbortSignal.abort()), (e) => e.name === 'AbortError')
    },
  )

  test('the process survives a call with an already-aborted signal', async () => {
    const ac = new AbortController()
    ac.abort()
    // Both must reject with AbortError, and the process keeps working.
    const settled = await Promise.allSettled([hasher.hash('x', ac.signal), hasher.verify(WEAK_ARGON2ID, 'password', ac.signal)])
    for (const s of settled) {
      assert.equal(s.status, 'rejected')
      assert.equal(s.reason?.name, 'AbortError', String(s.reason))
    }
    assert.equal(await hasher.verify(await hasher.hash('after abort'), 'after abort'), true)
  })

  test('aborting a queued hash rejects it with an AbortError', async () => {
    // Fill every libuv pool thread, so the next task is queued and not yet started.
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4
    const blockers = Array.from({ length: poolSize }, (_, i) => hasher.hash(`blocker ${i}`))
    const ac = new AbortController()
    const queued = hasher.hash('queued', ac.signal)
    ac.abort()
    await assert.rejects(queued, (e) => {
      assert.equal(e.name, 'AbortError')
      return true
    })
    for (const h of await Promise.all(blockers)) assertDefaultPhc(h)
  })

  test('a signal that is never aborted lets hash and verify resolve', async () => {
    const ac = new AbortController()
    const h = await hasher.hash('with signal', ac.signal)
    assertDefaultPhc(h)
    assert.equal(await hasher.verify(h, 'with signal', ac.signal), true)
    assert.equal(await hasher.verify(h, 'without', ac.signal), false)
    const out = await hasher.verifyAndUpdate(WEAK_ARGON2ID, 'password', ac.signal)
    assert.equal(out.valid, true)
    await hasher.dummyVerify(ac.signal)
    ac.abort() // after completion: harmless
    assert.equal(await hasher.verify(h, 'with signal'), true)
  })

  test(
    "passing a signal does not replace the caller's signal.onabort handler",
    async () => {
      const ac = new AbortController()
      let called = false
      ac.signal.onabort = () => {
        called = true
      }
      await hasher.hash('x', ac.signal)
      ac.abort()
      assert.equal(called, true)
    },
  )

  test(
    'a signal reused for a second call still cancels it',
    async () => {
      const ac = new AbortController()
      await hasher.hash('first', ac.signal)
      const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4
      const blockers = Array.from({ length: poolSize }, (_, i) => hasher.hash(`blocker ${i}`))
      const second = hasher.hash('second', ac.signal)
      ac.abort()
      const [res] = await Promise.allSettled([second, ...blockers])
      assert.equal(res.status, 'rejected')
      assert.equal(res.reason?.name, 'AbortError')
    },
  )
})

// ---------------------------------------------------------------------------------------------
describe('concurrency, dummy verify, panics, error codes', () => {
  test('8 concurrent hash() calls resolve to distinct verifying hashes', async () => {
    const passwords = Array.from({ length: 8 }, (_, i) => `concurrent password ${i}`)
    const hashes = await Promise.all(passwords.map((p) => hasher.hash(p)))
    hashes.forEach(assertDefaultPhc)
    assert.equal(new Set(hashes).size, 8)
    const results = await Promise.all(hashes.map((h, i) => hasher.verify(h, passwords[i])))
    assert.deepEqual(results, Array(8).fill(true))
    const crossed = await Promise.all(hashes.map((h, i) => hasher.verify(h, passwords[(i + 1) % 8])))
    assert.deepEqual(crossed, Array(8).fill(false))
  })

  test('dummyVerify() resolves and dummyVerifySync() returns (PW-11)', async () => {
    assert.equal(await hasher.dummyVerify(), undefined)
    assert.equal(hasher.dummyVerifySync(), undefined)
  })

  test('a Rust panic becomes PolyauthError internal_error and the process keeps running', async () => {
    const err = await expectCode(PolyauthError, () => _debugPanic(), 'internal_error')
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'PolyauthError')
    // A second panic also works (the boundary is not poisoned).
    await expectCode(PolyauthError, () => _debugPanic(), 'internal_error')
    const h = await hasher.hash('after panic')
    assert.equal(await hasher.verify(h, 'after panic'), true)
    assert.equal(hasher.verifySync(hasher.hashSync('after panic'), 'after panic'), true)
  })

  test('a panic in awaited work rejects with internal_error and the runtime keeps serving', async () => {
    // The panic happens on the runtime, inside the work: the promise rejects (it does not hang),
    // calls made before and after it still settle.
    const store = await Store.open('memory://')
    const before = store.ping()
    const err = await expectCode(PolyauthError, () => _debugPanicAsync(), 'internal_error')
    assert.equal(err.name, 'PolyauthError')
    await before
    await store.ping()
  })

  test('ERROR_CODES lists every DESIGN.md §5 code plus internal_error and invalid_input', () => {
    const expected = [
      'invalid_token',
      'invalid_signature',
      'token_expired',
      'token_not_yet_valid',
      'invalid_audience',
      'invalid_issuer',
      'invalid_type',
      'missing_claim',
      'unknown_key',
      'unsupported_algorithm',
      'invalid_key',
      'invalid_hash',
      'password_policy',
      'refresh_reused',
      'session_revoked',
      'session_expired',
      'totp_invalid',
      'totp_replayed',
      'rate_limited',
      'store_unavailable',
      'invalid_config',
      'internal_error',
      'invalid_input',
    ]
    for (const code of expected) assert.ok(ERROR_CODES.includes(code), `missing ${code}`)
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length, 'duplicate codes')
    assert.ok(Object.isFrozen(ERROR_CODES))
  })

  test('PolyauthError is an Error with a code', () => {
    const e = new PolyauthError('invalid_hash', 'msg')
    assert.ok(e instanceof Error)
    assert.equal(e.code, 'invalid_hash')
    assert.equal(e.message, 'msg')
    assert.equal(e.name, 'PolyauthError')
  })
})
