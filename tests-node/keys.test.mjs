// Key sets through the npm package `polyauth`: generation, JWK/JWKS/PEM import and export,
// RFC 7638 thumbprints, key strength at import, rotation, loading from files and the environment,
// and Wycheproof's JWK import vectors (DESIGN.md §3, §4, §5, §7 JWT-2, JWT-3, JWT-4).
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import util from 'node:util'
import { calculateJwkThumbprint } from 'jose'
import { KeySet, PolyauthError, Tokens } from 'polyauth'
import { decodeJwt, expectCode, loadSharedVectors, requireShared } from './helpers.mjs'

const ISSUER = 'https://issuer.example'
const AUDIENCE = 'api'
const ALL_ALGS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'PS256', 'HS256', 'HS384', 'HS512']
const ASYMMETRIC_ALGS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'PS256']
const HMAC_ALGS = ['HS256', 'HS384', 'HS512']
const HMAC_SIZE = { HS256: 32, HS384: 48, HS512: 64 }

const tokensFor = (keys, options = {}) => new Tokens(keys, { issuer: ISSUER, audience: AUDIENCE, ...options })

/** Issues with `issuerKeys`, verifies with `verifierKeys`; returns the verified claims. */
function roundTrip(issuerKeys, verifierKeys, subject = 'user-1') {
  const token = tokensFor(issuerKeys).issue(subject)
  const claims = tokensFor(verifierKeys).verify(token)
  assert.equal(claims.sub, subject)
  return { token, claims }
}

// One key of each generated algorithm, shared by the tests that only read them.
const generated = Object.fromEntries(ALL_ALGS.map((alg) => [alg, KeySet.generate(alg)]))

const tmp = mkdtempSync(join(tmpdir(), 'polyauth-keys-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

// ---------------------------------------------------------------------------------------------
describe('generate', () => {
  for (const alg of ALL_ALGS) {
    test(`${alg}: generate, issue and verify`, () => {
      const keys = KeySet.generate(alg)
      assert.equal(typeof keys.signingKid, 'string')
      assert.ok(keys.signingKid.length > 0)
      assert.deepEqual(keys.kids, [keys.signingKid])
      const { token } = roundTrip(keys, keys)
      const { header } = decodeJwt(token)
      assert.equal(header.alg, alg)
      assert.equal(header.kid, keys.signingKid)
      // A different key of the same algorithm must not verify it.
      const other = KeySet.generate(alg)
      assert.notEqual(other.signingKid, keys.signingKid)
    })
  }

  test('the default algorithm is EdDSA', () => {
    const keys = KeySet.generate()
    assert.equal(decodeJwt(tokensFor(keys).issue('u')).header.alg, 'EdDSA')
    assert.equal(keys.toJwks().keys[0].kty, 'OKP')
  })

  test('an explicit kid is used', () => {
    const keys = KeySet.generate('ES256', { kid: 'my-key-1' })
    assert.equal(keys.signingKid, 'my-key-1')
    assert.equal(decodeJwt(tokensFor(keys).issue('u')).header.kid, 'my-key-1')
  })

  for (const alg of ['RS256', 'RS384', 'RS512']) {
    test(`${alg}: generate is refused with unsupported_algorithm (PKCS#1 v1.5 is not generated)`, async () => {
      await expectCode(PolyauthError, () => KeySet.generate(alg), 'unsupported_algorithm')
    })
  }

  test('an unknown algorithm name is refused', async () => {
    await expectCode(PolyauthError, () => KeySet.generate('none'), 'unsupported_algorithm')
    await expectCode(PolyauthError, () => KeySet.generate('ES256K'), 'unsupported_algorithm')
  })
})

// ---------------------------------------------------------------------------------------------
describe('RFC 7638 thumbprints', () => {
  for (const alg of ASYMMETRIC_ALGS) {
    test(`${alg}: kid equals jose calculateJwkThumbprint of the public JWK`, async () => {
      const keys = generated[alg]
      const [jwk] = keys.toJwks().keys
      assert.equal(jwk.kid, keys.signingKid)
      assert.equal(await calculateJwkThumbprint(jwk, 'sha256'), keys.signingKid)
    })
  }

  for (const alg of HMAC_ALGS) {
    test(`${alg}: kid is not the thumbprint of the oct JWK (an offline oracle for the secret)`, async () => {
      const keys = generated[alg]
      const [jwk] = keys.toJwks({ includePrivate: true }).keys
      assert.equal(jwk.kid, keys.signingKid)
      assert.notEqual(await calculateJwkThumbprint(jwk, 'sha256'), keys.signingKid)
    })
  }

  test('RFC 8037 A.3: the Ed25519 example key has the published thumbprint', () => {
    const keys = KeySet.fromJwks({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })
    assert.equal(keys.signingKid, null, 'a public key only verifies')
    assert.deepEqual(keys.kids, ['kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'])
  })

  test('PEM import derives the same kid as the JWK', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' })
    const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' })
    const keys = KeySet.fromPem(pem)
    assert.equal(keys.signingKid, await calculateJwkThumbprint(jwk, 'sha256'))
  })
})

// ---------------------------------------------------------------------------------------------
describe('JWKS export and import', () => {
  test('toJwks() has public keys only: no d, p, q, dp, dq, qi or k', () => {
    for (const alg of ASYMMETRIC_ALGS) {
      const jwks = generated[alg].toJwks()
      assert.equal(jwks.keys.length, 1, alg)
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
        assert.ok(!(member in jwks.keys[0]), `${alg}: public JWK has private member ${member}`)
      }
      assert.equal(jwks.keys[0].alg, alg)
    }
  })

  test('toJwks() omits HMAC keys', () => {
    for (const alg of HMAC_ALGS) {
      assert.deepEqual(generated[alg].toJwks(), { keys: [] }, alg)
      assert.ok(!JSON.stringify(generated[alg].toJwks()).includes('"k"'))
    }
  })

  test('toJwks({includePrivate:true}) has the private members', () => {
    assert.ok(generated.EdDSA.toJwks({ includePrivate: true }).keys[0].d)
    assert.ok(generated.ES256.toJwks({ includePrivate: true }).keys[0].d)
    const rsa = generated.PS256.toJwks({ includePrivate: true }).keys[0]
    for (const m of ['d', 'p', 'q']) assert.ok(rsa[m], `RSA private JWK lacks ${m}`)
    const oct = generated.HS256.toJwks({ includePrivate: true }).keys[0]
    assert.equal(oct.kty, 'oct')
    assert.equal(Buffer.from(oct.k, 'base64url').length, 32)
  })

  for (const alg of ALL_ALGS) {
    test(`${alg}: the private JWKS round-trips through fromJwks (object and string)`, () => {
      const original = generated[alg]
      const jwks = original.toJwks({ includePrivate: true })
      for (const [form, input] of [
        ['object', jwks],
        ['string', JSON.stringify(jwks)],
      ]) {
        const copy = KeySet.fromJwks(input)
        assert.equal(copy.signingKid, original.signingKid, `${form}: signingKid`)
        assert.deepEqual(copy.kids, original.kids, `${form}: kids`)
        roundTrip(original, copy)
        roundTrip(copy, original)
        assert.deepEqual(copy.toJwks({ includePrivate: true }), jwks, `${form}: re-export`)
      }
    })
  }

  for (const alg of ASYMMETRIC_ALGS) {
    test(`${alg}: the public JWKS verifies but cannot sign`, async () => {
      const original = generated[alg]
      const pub = KeySet.fromJwks(original.toJwks())
      assert.equal(pub.signingKid, null)
      assert.deepEqual(pub.kids, original.kids)
      roundTrip(original, pub)
      await expectCode(PolyauthError, () => tokensFor(pub).issue('u'), 'invalid_config')
    })
  }

  test('a single JWK (not a set) is accepted', () => {
    const [jwk] = generated.ES384.toJwks({ includePrivate: true }).keys
    const keys = KeySet.fromJwks(jwk)
    assert.equal(keys.signingKid, generated.ES384.signingKid)
    roundTrip(keys, generated.ES384)
  })

  test('malformed JWKS input is invalid_key', async () => {
    for (const bad of ['', 'not json', '{"keys": 5}', '[]', '{"kty":"OKP"}', '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}']) {
      await expectCode(PolyauthError, () => KeySet.fromJwks(bad), 'invalid_key', JSON.stringify(bad))
    }
  })

  test('an empty JWKS is refused (invalid_key or invalid_config)', () => {
    assert.throws(
      () => KeySet.fromJwks({ keys: [] }),
      (e) => e instanceof PolyauthError && ['invalid_key', 'invalid_config'].includes(e.code),
    )
  })
})

// ---------------------------------------------------------------------------------------------
describe('PEM export and import', () => {
  for (const alg of ASYMMETRIC_ALGS) {
    test(`${alg}: toPem/fromPem round trip (PKCS#8 private, SPKI public)`, () => {
      const original = generated[alg]
      const privatePem = original.toPem({ includePrivate: true })
      const publicPem = original.toPem()
      assert.match(privatePem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n?$/)
      assert.match(publicPem, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/)
      assert.equal(original.toPem({ kid: original.signingKid }), publicPem)

      // node:crypto agrees on the key.
      const nodePub = crypto.createPublicKey(publicPem)
      assert.equal(crypto.createPublicKey(crypto.createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }), nodePub.export({ type: 'spki', format: 'pem' }))
      const jwk = original.toJwks().keys[0]
      const nodeJwk = nodePub.export({ format: 'jwk' })
      for (const m of ['x', 'y', 'n', 'e']) if (m in nodeJwk) assert.equal(jwk[m], nodeJwk[m], `JWK ${m}`)

      const options = alg === 'PS256' ? { alg } : {}
      const priv = KeySet.fromPem(privatePem, options)
      assert.equal(priv.signingKid, original.signingKid)
      roundTrip(priv, original)
      roundTrip(original, priv)
      const pub = KeySet.fromPem(publicPem, options)
      assert.equal(pub.signingKid, null)
      assert.deepEqual(pub.kids, original.kids)
      roundTrip(original, pub)
    })
  }

  test('fromPem with an explicit kid', () => {
    const keys = KeySet.fromPem(generated.EdDSA.toPem({ includePrivate: true }), { kid: 'pem-key' })
    assert.equal(keys.signingKid, 'pem-key')
  })

  test('toPem of an unknown kid is refused', async () => {
    await expectCode(PolyauthError, () => generated.EdDSA.toPem({ kid: 'no-such-kid' }), 'unknown_key')
  })

  test('garbage PEM is invalid_key', async () => {
    await expectCode(PolyauthError, () => KeySet.fromPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), 'invalid_key')
    await expectCode(PolyauthError, () => KeySet.fromPem('not a pem'), 'invalid_key')
  })
})

// ---------------------------------------------------------------------------------------------
describe('keys made by node:crypto', () => {
  const cases = [
    ['Ed25519', () => crypto.generateKeyPairSync('ed25519'), {}, 'EdDSA'],
    ['EC P-256', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), {}, 'ES256'],
    ['EC P-384', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }), {}, 'ES384'],
    ['RSA 2048 as PS256', () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }), { alg: 'PS256' }, 'PS256'],
  ]
  for (const [name, make, options, alg] of cases) {
    test(`${name}: PEM import signs and verifies`, async () => {
      const { privateKey, publicKey } = make()
      const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' })
      const publicPem = publicKey.export({ type: 'spki', format: 'pem' })
      const signer = KeySet.fromPem(privatePem, options)
      const verifier = KeySet.fromPem(publicPem, options)
      assert.deepEqual(verifier.kids, signer.kids)
      const { token } = roundTrip(signer, verifier)
      assert.equal(decodeJwt(token).header.alg, alg)
      // And node:crypto verifies what polyauth signed with its key.
      const [h, p, s] = token.split('.')
      const sig = Buffer.from(s, 'base64url')
      const data = Buffer.from(`${h}.${p}`)
      let ok
      if (alg === 'EdDSA') ok = crypto.verify(null, data, publicKey, sig)
      else if (alg === 'PS256') ok = crypto.verify('sha256', data, { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
      else ok = crypto.verify(alg === 'ES256' ? 'sha256' : 'sha384', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig)
      assert.equal(ok, true, 'node:crypto must verify the signature')
    })
  }

  test('an RSA key without alg is invalid_key (PEM and JWK)', async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    await expectCode(PolyauthError, () => KeySet.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' })), 'invalid_key', 'private PEM')
    await expectCode(PolyauthError, () => KeySet.fromPem(publicKey.export({ type: 'spki', format: 'pem' })), 'invalid_key', 'public PEM')
    await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [publicKey.export({ format: 'jwk' })] }), 'invalid_key', 'JWK')
    // With alg it works.
    assert.equal(KeySet.fromJwks({ keys: [publicKey.export({ format: 'jwk' })] }, { alg: 'PS256' }).kids.length, 1)
  })
})

// ---------------------------------------------------------------------------------------------
describe('key strength at import (JWT-3)', () => {
  for (const alg of HMAC_ALGS) {
    test(`${alg}: a secret shorter than the hash size is invalid_key`, async () => {
      const n = HMAC_SIZE[alg]
      await expectCode(PolyauthError, () => KeySet.fromSecret(crypto.randomBytes(n - 1), { alg }), 'invalid_key', 'Buffer')
      await expectCode(PolyauthError, () => KeySet.fromSecret('x'.repeat(n - 1), { alg }), 'invalid_key', 'string')
      await expectCode(PolyauthError, () => KeySet.fromJwks({ kty: 'oct', alg, k: crypto.randomBytes(n - 1).toString('base64url') }), 'invalid_key', 'JWK')
      const keys = KeySet.fromSecret(crypto.randomBytes(n), { alg })
      roundTrip(keys, keys)
    })
  }

  test('HS256 31-byte secret is invalid_key, 32 bytes is fine; fromSecret defaults to HS256', async () => {
    await expectCode(PolyauthError, () => KeySet.fromSecret(crypto.randomBytes(31)), 'invalid_key')
    await expectCode(PolyauthError, () => KeySet.fromSecret(''), 'invalid_key')
    const keys = KeySet.fromSecret(crypto.randomBytes(32))
    assert.equal(decodeJwt(tokensFor(keys).issue('u')).header.alg, 'HS256')
  })

  test('a string secret and the same bytes as a Buffer give the same key', () => {
    const secret = 'correct horse battery staple, 32+ bytes long'
    // HMAC kids are random, so the same kid is given to both.
    const a = KeySet.fromSecret(secret, { kid: 'k' })
    const b = KeySet.fromSecret(Buffer.from(secret, 'utf8'), { kid: 'k' })
    roundTrip(a, b)
  })

  test('RSA 1024 (node:crypto) is invalid_key', async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 })
    for (const alg of ['PS256', 'RS256']) {
      await expectCode(PolyauthError, () => KeySet.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }), { alg }), 'invalid_key', `${alg} private PEM`)
      await expectCode(PolyauthError, () => KeySet.fromPem(publicKey.export({ type: 'spki', format: 'pem' }), { alg }), 'invalid_key', `${alg} public PEM`)
      await expectCode(PolyauthError, () => KeySet.fromJwks({ ...publicKey.export({ format: 'jwk' }), alg }), 'invalid_key', `${alg} JWK`)
    }
  })

  test('EC curve / alg mismatch is invalid_key', async () => {
    const p256 = generated.ES256.toJwks().keys[0]
    const p384 = generated.ES384.toJwks().keys[0]
    await expectCode(PolyauthError, () => KeySet.fromJwks({ ...p256, alg: 'ES384', kid: undefined }), 'invalid_key', 'P-256 as ES384')
    await expectCode(PolyauthError, () => KeySet.fromJwks({ ...p384, alg: 'ES256' }), 'invalid_key', 'P-384 as ES256')
    await expectCode(PolyauthError, () => KeySet.fromJwks({ ...p256, alg: 'ES512' }), 'invalid_key', 'P-256 as ES512')
    await expectCode(PolyauthError, () => KeySet.fromJwks({ ...p256, alg: 'EdDSA' }), 'invalid_key', 'P-256 as EdDSA')
    await expectCode(PolyauthError, () => KeySet.fromJwks({ ...p256, alg: 'HS256' }), 'invalid_key', 'P-256 as HS256')
    const { alg: _a, ...noAlg } = p256
    await expectCode(PolyauthError, () => KeySet.fromJwks(noAlg, { alg: 'ES384' }), 'invalid_key', 'options alg ES384 for P-256')
    const pem = generated.ES256.toPem()
    await expectCode(PolyauthError, () => KeySet.fromPem(pem, { alg: 'ES384' }), 'invalid_key', 'P-256 PEM as ES384')
    await expectCode(PolyauthError, () => KeySet.fromPem(generated.EdDSA.toPem(), { alg: 'ES256' }), 'invalid_key', 'Ed25519 PEM as ES256')
  })

  test('a point not on the curve is invalid_key', async () => {
    const jwk = { ...generated.ES256.toJwks().keys[0] }
    const y = Buffer.from(jwk.y, 'base64url')
    y[y.length - 1] ^= 1
    jwk.y = y.toString('base64url')
    delete jwk.kid
    await expectCode(PolyauthError, () => KeySet.fromJwks(jwk), 'invalid_key')
  })
})

// ---------------------------------------------------------------------------------------------
describe('key set consistency', () => {
  test('a JWKS mixing public and secret keys is invalid_key', async () => {
    const mixed = { keys: [generated.ES256.toJwks().keys[0], generated.HS256.toJwks({ includePrivate: true }).keys[0]] }
    await expectCode(PolyauthError, () => KeySet.fromJwks(mixed), 'invalid_key')
    await expectCode(PolyauthError, () => KeySet.fromJwks(JSON.stringify(mixed)), 'invalid_key')
    // Private asymmetric keys together with HMAC secrets are allowed by design (both can sign).
    const privateAndSecret = { keys: [generated.EdDSA.toJwks({ includePrivate: true }).keys[0], generated.HS512.toJwks({ includePrivate: true }).keys[0]] }
    assert.equal(KeySet.fromJwks(privateAndSecret).kids.length, 2)
  })

  test('duplicate kid is invalid_key', async () => {
    const a = generated.ES256.toJwks().keys[0]
    const b = { ...generated.ES384.toJwks().keys[0], kid: a.kid }
    await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [a, b] }), 'invalid_key', 'two keys, one kid')
    await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [a, a] }), 'invalid_key', 'the same key twice')
  })

  test("use: 'enc' is invalid_key", async () => {
    for (const alg of ['EdDSA', 'ES256', 'PS256']) {
      const jwk = { ...generated[alg].toJwks().keys[0], use: 'enc' }
      await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [jwk] }), 'invalid_key', alg)
    }
    const oct = { ...generated.HS256.toJwks({ includePrivate: true }).keys[0], use: 'enc' }
    await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [oct] }), 'invalid_key', 'HS256')
  })

  test('key_ops without verify is invalid_key', async () => {
    const jwk = { ...generated.ES256.toJwks().keys[0], key_ops: ['encrypt'] }
    await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [jwk] }), 'invalid_key')
  })

  test('a JWK alg that contradicts the options alg is refused', async () => {
    const jwk = generated.ES256.toJwks().keys[0]
    await expectCode(PolyauthError, () => KeySet.fromJwks(jwk, { alg: 'ES384' }), 'invalid_key')
  })
})

// ---------------------------------------------------------------------------------------------
describe('rotation', () => {
  test('rotate: a new signing kid, old tokens still verify, new tokens carry the new kid', () => {
    const keys = KeySet.generate('EdDSA')
    const tokens = tokensFor(keys)
    const oldKid = keys.signingKid
    const oldToken = tokens.issue('u')
    const newKid = keys.rotate()
    assert.equal(typeof newKid, 'string')
    assert.notEqual(newKid, oldKid)
    assert.equal(keys.signingKid, newKid)
    assert.deepEqual(keys.kids, [newKid, oldKid], 'signing key first')
    // The same Tokens object sees the rotation (shared set).
    const newToken = tokens.issue('u')
    assert.equal(decodeJwt(newToken).header.kid, newKid)
    assert.equal(decodeJwt(oldToken).header.kid, oldKid)
    assert.equal(tokens.verify(oldToken).sub, 'u')
    assert.equal(tokens.verify(newToken).sub, 'u')
    // The published JWKS carries both.
    assert.deepEqual(keys.toJwks().keys.map((k) => k.kid), [newKid, oldKid])
  })

  test('rotate to another algorithm', () => {
    const keys = KeySet.generate('EdDSA')
    const tokens = tokensFor(keys)
    const oldToken = tokens.issue('u')
    const kid = keys.rotate('ES256')
    const token = tokens.issue('u')
    assert.deepEqual(decodeJwt(token).header, { alg: 'ES256', kid, typ: 'at+jwt' })
    assert.equal(tokens.verify(oldToken).sub, 'u')
    assert.equal(tokens.verify(token).sub, 'u')
  })

  test('retire the old key: its tokens become unknown_key', async () => {
    const keys = KeySet.generate('ES256')
    const tokens = tokensFor(keys)
    const oldKid = keys.signingKid
    const oldToken = tokens.issue('u')
    keys.rotate()
    keys.retire(oldKid)
    assert.deepEqual(keys.kids, [keys.signingKid])
    await expectCode(PolyauthError, () => tokens.verify(oldToken), 'unknown_key')
    assert.equal(tokens.verify(tokens.issue('u')).sub, 'u')
  })

  test('retire the signing key is invalid_config', async () => {
    const keys = KeySet.generate('EdDSA')
    await expectCode(PolyauthError, () => keys.retire(keys.signingKid), 'invalid_config')
    keys.rotate()
    await expectCode(PolyauthError, () => keys.retire(keys.signingKid), 'invalid_config')
    assert.equal(keys.kids.length, 2)
  })

  test('retire an unknown kid is refused', async () => {
    const keys = KeySet.generate('EdDSA')
    await expectCode(PolyauthError, () => keys.retire('nope'), 'unknown_key')
  })

  test('rotate a verify-only set is invalid_config', async () => {
    const keys = KeySet.fromJwks(generated.EdDSA.toJwks())
    await expectCode(PolyauthError, () => keys.rotate(), 'invalid_config')
  })
})

// ---------------------------------------------------------------------------------------------
describe('KeySet.load', () => {
  const envName = `POLYAUTH_TEST_KEYS_${process.pid}_${crypto.randomBytes(4).toString('hex').toUpperCase()}`
  const clearEnv = () => {
    delete process.env[envName]
    delete process.env[`${envName}_FILE`]
  }
  after(clearEnv)

  const source = generated.ES256
  const jwksText = JSON.stringify(source.toJwks({ includePrivate: true }))

  test('from an environment variable (JWKS)', () => {
    clearEnv()
    process.env[envName] = jwksText
    const keys = KeySet.load({ env: envName })
    assert.equal(keys.signingKid, source.signingKid)
    roundTrip(keys, source)
    clearEnv()
  })

  test('from an environment variable (PEM)', () => {
    clearEnv()
    process.env[envName] = generated.EdDSA.toPem({ includePrivate: true })
    const keys = KeySet.load({ env: envName })
    assert.equal(keys.signingKid, generated.EdDSA.signingKid)
    roundTrip(keys, generated.EdDSA)
    clearEnv()
  })

  test('from ${NAME}_FILE only (Docker secrets)', () => {
    clearEnv()
    const file = join(tmp, 'docker-secret.json')
    writeFileSync(file, jwksText)
    process.env[`${envName}_FILE`] = file
    const keys = KeySet.load({ env: envName })
    assert.equal(keys.signingKid, source.signingKid)
    roundTrip(keys, source)
    clearEnv()
  })

  test('from a path (JWKS)', () => {
    const file = join(tmp, 'keys.json')
    writeFileSync(file, jwksText)
    const keys = KeySet.load({ path: file })
    assert.equal(keys.signingKid, source.signingKid)
    roundTrip(source, keys)
  })

  test('from a path (PEM, with alg for RSA)', () => {
    const file = join(tmp, 'key.pem')
    writeFileSync(file, generated.PS256.toPem({ includePrivate: true }))
    const keys = KeySet.load({ path: file, alg: 'PS256' })
    assert.equal(keys.signingKid, generated.PS256.signingKid)
    roundTrip(keys, generated.PS256)
    const pub = join(tmp, 'key.pub.pem')
    writeFileSync(pub, generated.EdDSA.toPem())
    assert.deepEqual(KeySet.load({ path: pub }).kids, generated.EdDSA.kids)
  })

  test('neither the variable nor ${NAME}_FILE set is invalid_config', async () => {
    clearEnv()
    await expectCode(PolyauthError, () => KeySet.load({ env: envName }), 'invalid_config')
    await expectCode(PolyauthError, () => KeySet.load({}), 'invalid_config')
  })

  test('a missing file is refused', async () => {
    await expectCode(PolyauthError, () => KeySet.load({ path: join(tmp, 'does-not-exist.json') }), 'invalid_config')
  })
})

// ---------------------------------------------------------------------------------------------
describe('no key material in inspection output', () => {
  for (const alg of ALL_ALGS) {
    test(`${alg}: util.inspect shows no private key or secret`, () => {
      const keys = generated[alg]
      const [priv] = keys.toJwks({ includePrivate: true }).keys
      const secrets = [priv.d, priv.k, priv.p, priv.q].filter(Boolean)
      assert.ok(secrets.length > 0)
      if (priv.k) {
        const raw = Buffer.from(priv.k, 'base64url')
        secrets.push(raw.toString('hex'), raw.toString('base64'))
      }
      const outputs = [
        util.inspect(keys),
        util.inspect(keys, { showHidden: true, depth: Infinity }),
        util.inspect(keys, { customInspect: false, showHidden: true, depth: Infinity }),
        util.inspect(tokensFor(keys), { showHidden: true, depth: Infinity }),
        String(keys),
        JSON.stringify(keys) ?? '',
      ]
      for (const out of outputs) {
        for (const s of secrets) assert.ok(!out.includes(s), `inspection output contains key material: ${out.slice(0, 200)}`)
      }
      assert.ok(util.inspect(keys).includes(keys.signingKid), 'inspect shows the kid')
    })
  }
})

// ---------------------------------------------------------------------------------------------
describe('Wycheproof json_web_key_test.json', () => {
  const v = loadSharedVectors('wycheproof/json_web_key_test.json')
  const groups = v.data?.testGroups ?? []

  test('file shape', { skip: v.skip }, () => {
    const data = requireShared(v)
    const n = data.testGroups.reduce((a, g) => a + g.tests.length, 0)
    assert.equal(n, data.numberOfTests)
    assert.equal(n, 26)
  })

  for (const group of groups) {
    for (const c of group.tests) {
      test(`tcId ${c.tcId} ${group.comment}: ${c.comment} (${c.result})`, () => {
        const keyInput = group.public ?? group.private
        let keys
        let importError
        try {
          keys = KeySet.fromJwks(keyInput)
        } catch (e) {
          importError = e
        }
        if (importError !== undefined) {
          assert.ok(importError instanceof PolyauthError, `import threw a non-PolyauthError: ${importError}`)
          assert.notEqual(importError.code, 'internal_error')
          assert.notEqual(c.result, 'valid', `a valid case's key must import (${importError.code}: ${importError.message})`)
          return
        }
        if (c.result === 'valid') {
          const { payload } = keys.verifyJws(c.jws)
          assert.deepEqual(payload, Buffer.from(c.jws.split('.')[1], 'base64url'))
        } else if (c.result === 'invalid') {
          assert.throws(() => keys.verifyJws(c.jws), (e) => e instanceof PolyauthError && e.code !== 'internal_error')
        }
      })
    }
  }
})

// ---------------------------------------------------------------------------------------------
describe('key text is never an HMAC secret (JWT-3: algorithm confusion)', () => {
  const texts = []
  for (const alg of ['EdDSA', 'ES256', 'PS256']) {
    const keys = generated[alg]
    texts.push([`${alg} SPKI PEM`, keys.toPem()])
    texts.push([`${alg} PKCS#8 PEM`, keys.toPem({ includePrivate: true })])
    texts.push([`${alg} JWKS`, JSON.stringify(keys.toJwks())])
    texts.push([`${alg} JWK`, JSON.stringify(keys.toJwks().keys[0])])
  }
  texts.push(['certificate', '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUHbq0\n-----END CERTIFICATE-----\n'])
  texts.push(['ssh-ed25519', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl u@h'])
  texts.push(['ssh-rsa', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA user@host.example'])
  texts.push(['ecdsa-sha2', 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= u@h'])
  for (const [name, text] of texts) {
    test(`${name} as a secret is invalid_key`, async () => {
      const padded = text.padEnd(64, ' ')
      await expectCode(PolyauthError, () => KeySet.fromSecret(padded), 'invalid_key', 'string')
      await expectCode(PolyauthError, () => KeySet.fromSecret(Buffer.from(padded), { alg: 'HS512' }), 'invalid_key', 'Buffer')
      const oct = { kty: 'oct', alg: 'HS256', k: Buffer.from(padded).toString('base64url') }
      await expectCode(PolyauthError, () => KeySet.fromJwks(oct), 'invalid_key', 'oct JWK')
    })
  }

  test('text that is not key material stays a usable secret', () => {
    for (const ok of ['correct horse battery staple, longer than 32', '{"password": "0123456789abcdef0123456789"}']) {
      const keys = KeySet.fromSecret(ok)
      roundTrip(keys, keys)
    }
  })
})

// ---------------------------------------------------------------------------------------------
describe('small-order and non-canonical Ed25519 keys (JWT-3, JWT-7)', () => {
  // libsodium's has_small_order blocklist: y of the eight small-order points and non-canonical forms.
  const SMALL_ORDER_Y = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ]
  const encodings = SMALL_ORDER_Y.flatMap((y) => {
    const neg = Buffer.from(y, 'hex')
    neg[31] |= 0x80
    return [Buffer.from(y, 'hex'), neg]
  })
  const spki = (x) => {
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), x])
    return `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`
  }

  for (const x of encodings) {
    test(`x = ${x.toString('hex').slice(0, 8)}..${x.toString('hex').slice(-2)} is invalid_key (JWK, JWKS, SPKI)`, async () => {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') }
      await expectCode(PolyauthError, () => KeySet.fromJwks(jwk), 'invalid_key', 'JWK')
      await expectCode(PolyauthError, () => KeySet.fromJwks({ keys: [jwk] }), 'invalid_key', 'JWKS')
      await expectCode(PolyauthError, () => KeySet.fromPem(spki(x)), 'invalid_key', 'SPKI')
    })
  }

  test('a non-canonical y is refused; a real key still imports', async () => {
    const nonCanonical = Buffer.alloc(32, 0xff)
    nonCanonical[0] = 0xef
    nonCanonical[31] = 0x7f
    await expectCode(PolyauthError, () => KeySet.fromJwks({ kty: 'OKP', crv: 'Ed25519', x: nonCanonical.toString('base64url') }), 'invalid_key')
    const { publicKey } = crypto.generateKeyPairSync('ed25519')
    const jwk = publicKey.export({ format: 'jwk' })
    const expected = await calculateJwkThumbprint(jwk)
    assert.deepEqual(KeySet.fromJwks(jwk).kids, [expected])
    assert.deepEqual(KeySet.fromPem(publicKey.export({ format: 'pem', type: 'spki' })).kids, [expected])
  })
})

// ---------------------------------------------------------------------------------------------
describe('HMAC kids are random, never the thumbprint of the secret', () => {
  for (const alg of HMAC_ALGS) {
    test(`${alg}: fromSecret and generate get 128 random bits; a private JWKS round trip keeps them`, async () => {
      const secret = Buffer.alloc(64, 's')
      const a = KeySet.fromSecret(secret, { alg })
      const b = KeySet.fromSecret(secret, { alg })
      const thumbprint = await calculateJwkThumbprint({ kty: 'oct', k: secret.toString('base64url') })
      assert.notEqual(a.signingKid, thumbprint)
      assert.notEqual(a.signingKid, b.signingKid)
      assert.equal(Buffer.from(a.signingKid, 'base64url').length, 16)
      assert.equal(decodeJwt(tokensFor(a).issue('u')).header.kid, a.signingKid)
      const gen = KeySet.generate(alg)
      const k = gen.toJwks({ includePrivate: true }).keys[0].k
      assert.notEqual(gen.signingKid, await calculateJwkThumbprint({ kty: 'oct', k }))
      const back = KeySet.fromJwks(a.toJwks({ includePrivate: true }))
      assert.deepEqual(back.kids, a.kids)
      assert.equal(back.signingKid, a.signingKid)
      roundTrip(a, back)
      assert.equal(KeySet.fromSecret(secret, { alg, kid: 'mine' }).signingKid, 'mine')
    })
  }
})

// ---------------------------------------------------------------------------------------------
describe('RSA modulus zero', () => {
  for (const n of ['AA', '', 'AAAA']) {
    for (const alg of ['PS256', 'RS256']) {
      test(`${alg} n=${JSON.stringify(n)} is invalid_key, not internal_error`, async () => {
        await expectCode(PolyauthError, () => KeySet.fromJwks({ kty: 'RSA', alg, n, e: 'AQAB' }), 'invalid_key')
      })
    }
  }
})
