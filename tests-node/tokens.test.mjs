// Access tokens through the npm package `polyauth`: the shared vectors, the token format,
// interoperability with jose and jsonwebtoken, and the JWS/JWT attack catalogue
// (DESIGN.md §3, §4, §5, §7 JWT-1 .. JWT-13).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, importJWK, jwtVerify } from 'jose'
import jwt from 'jsonwebtoken'
import { KeySet, PolyauthError, Tokens } from 'polyauth'
import { b64url, decodeJwt, expectCode, loadProjectVectors, loadSharedVectors, requireShared } from './helpers.mjs'

const ISSUER = 'https://issuer.example'
const AUDIENCE = 'api'
const INTEROP_ALGS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'PS256', 'HS256', 'HS384', 'HS512']

const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * Asserts a PolyauthError with `code` and that its message does not contain the token or any of
 * its signature / payload segments (DESIGN.md §5: messages never contain token bytes).
 */
async function expectTokenError(fn, token, code, message) {
  const codes = Array.isArray(code) ? code : [code]
  let err
  try {
    await fn()
  } catch (e) {
    err = e
  }
  const what = message ?? 'verify'
  assert.ok(err !== undefined, `${what}: expected PolyauthError ${codes.join(' or ')}, but it verified`)
  assert.ok(err instanceof PolyauthError, `${what}: expected PolyauthError, got ${err?.constructor?.name}: ${err?.message}`)
  assert.ok(codes.includes(err.code), `${what}: expected ${codes.join(' or ')}, got ${err.code} (${err.message})`)
  assertNoTokenInMessage(err, token)
  return err
}

function assertNoTokenInMessage(err, token) {
  if (typeof token !== 'string' || token.length < 16) return
  assert.ok(!err.message.includes(token), `error message contains the token: ${err.message.slice(0, 200)}`)
  for (const part of token.split('.')) {
    if (part.length >= 16) assert.ok(!err.message.includes(part), `error message contains a token segment: ${err.message.slice(0, 200)}`)
  }
}

/** Node KeyObject (private, or the secret Buffer for HMAC) of a KeySet's signing key. */
function privateKeyOf(keys) {
  const jwk = keys.toJwks({ includePrivate: true }).keys.find((k) => k.kid === keys.signingKid)
  assert.ok(jwk, 'signing key not exported')
  if (jwk.kty === 'oct') return Buffer.from(jwk.k, 'base64url')
  return crypto.createPrivateKey({ key: jwk, format: 'jwk' })
}

const HASH = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }

/** Raw signature over `data` with node:crypto, as JWS `alg` defines it. */
function rawSign(alg, key, data) {
  const buf = Buffer.from(data)
  const hash = HASH[alg.slice(2)]
  if (alg === 'EdDSA' || alg === 'Ed25519') return crypto.sign(null, buf, key)
  if (alg.startsWith('HS')) return crypto.createHmac(hash, key).update(buf).digest()
  if (alg.startsWith('ES')) return crypto.sign(hash, buf, { key, dsaEncoding: 'ieee-p1363' })
  if (alg.startsWith('PS')) return crypto.sign(hash, buf, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
  if (alg.startsWith('RS')) return crypto.sign(hash, buf, key)
  throw new Error(`rawSign: ${alg}`)
}

/**
 * A hand-built compact JWS. `header` / `payload` are objects (JSON-encoded) or raw JSON text (used
 * verbatim, e.g. with duplicate member names). `alg` is the algorithm actually used to sign.
 */
function handSign(header, payload, key, alg = header.alg) {
  const signingInput = `${b64url(header)}.${b64url(payload)}`
  return `${signingInput}.${rawSign(alg, key, signingInput).toString('base64url')}`
}

/** Standard valid claims for hand-built tokens. */
function claimsNow(extra = {}) {
  const now = nowSeconds()
  return { iss: ISSUER, sub: 'user-1', aud: AUDIENCE, iat: now, exp: now + 600, jti: crypto.randomBytes(16).toString('base64url'), ...extra }
}

const tokensFor = (keys, options = {}) => new Tokens(keys, { issuer: ISSUER, audience: AUDIENCE, ...options })

// Shared fixtures.
const ED = KeySet.generate('EdDSA')
const ED_PRIVATE = privateKeyOf(ED)
const ED_TOKENS = tokensFor(ED)
const generated = Object.fromEntries(INTEROP_ALGS.map((alg) => [alg, KeySet.generate(alg)]))

// ---------------------------------------------------------------------------------------------
describe('vectors/tokens.json', () => {
  const doc = loadProjectVectors('tokens.json')
  const tokensForAlg = (alg, requireTyp = true) =>
    new Tokens(KeySet.fromJwks(doc.keys[alg]), { issuer: doc.issuer, audience: doc.audience, requireTyp })

  test('covers every algorithm, issued by both bindings', () => {
    assert.ok(doc.tokens.length >= 14)
    for (const alg of Object.keys(doc.keys)) {
      for (const by of ['python', 'node']) {
        assert.ok(doc.tokens.some((t) => t.alg === alg && t.issued_by === by), `no ${alg} token issued by ${by}`)
      }
    }
    assert.ok(doc.invalid.length > 0)
  })

  for (const c of doc.tokens) {
    test(`tokens[] ${c.id} verifies with the expected claims`, () => {
      const tokens = tokensForAlg(c.alg)
      const claims = tokens.verify(c.token, { now: c.claims.iat })
      assert.deepEqual(claims, c.claims)
      assert.deepEqual(decodeJwt(c.token).header, { alg: c.alg, kid: doc.keys[c.alg].keys[0].kid, typ: 'at+jwt' })
      // The same token through the raw JWS layer.
      assert.deepEqual(JSON.parse(KeySet.fromJwks(doc.keys[c.alg]).verifyJws(c.token).payload.toString('utf8')), c.claims)
      // Far beyond exp it is expired.
      assert.throws(() => tokens.verify(c.token, { now: c.claims.exp + 3600 }), (e) => e instanceof PolyauthError && e.code === 'token_expired')
    })
  }

  for (const c of doc.invalid) {
    test(`invalid[] ${c.id}: ${c.code ?? 'verifies'}`, async () => {
      const tokens = tokensForAlg(c.alg, c.require_typ ?? true)
      assert.equal(tokens.requireTyp, c.require_typ ?? true)
      const options = { now: c.now }
      for (const k of ['audience', 'typ', 'required']) if (k in c) options[k] = c[k]
      if (c.code === null) {
        const claims = tokens.verify(c.token, options)
        assert.equal(claims.iss, doc.issuer)
      } else {
        await expectTokenError(() => tokens.verify(c.token, options), c.token, c.code)
        await expectTokenError(() => tokens.verifyAsync(c.token, options), c.token, c.code, 'verifyAsync')
      }
    })
  }
})

// ---------------------------------------------------------------------------------------------
describe('token format (DESIGN.md §3)', () => {
  test('protected header is exactly {alg, kid, typ: at+jwt}', () => {
    for (const alg of INTEROP_ALGS) {
      const keys = generated[alg]
      const token = tokensFor(keys).issue('u')
      assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      assert.deepEqual(decodeJwt(token).header, { alg, kid: keys.signingKid, typ: 'at+jwt' }, alg)
    }
  })

  test('claims are iss, sub, aud, exp, iat, jti with a default lifetime of 900 s', () => {
    const before = nowSeconds()
    const token = ED_TOKENS.issue('user-42')
    const after = nowSeconds()
    const { payload } = decodeJwt(token)
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'sub'])
    assert.equal(payload.iss, ISSUER)
    assert.equal(payload.sub, 'user-42')
    assert.equal(payload.aud, AUDIENCE)
    assert.ok(Number.isInteger(payload.iat) && payload.iat >= before && payload.iat <= after)
    assert.equal(payload.exp - payload.iat, 900)
    assert.deepEqual(ED_TOKENS.verify(token), payload)
  })

  test('jti: 22 base64url chars (128 bits), unique over 100 tokens', () => {
    const seen = new Set()
    for (let i = 0; i < 100; i++) {
      const { jti } = decodeJwt(ED_TOKENS.issue('u')).payload
      assert.match(jti, /^[A-Za-z0-9_-]{22}$/)
      assert.equal(Buffer.from(jti, 'base64url').length, 16)
      seen.add(jti)
    }
    assert.equal(seen.size, 100)
  })

  test('ttl override and accessTtl option', () => {
    const p1 = decodeJwt(ED_TOKENS.issue('u', { ttl: 60 })).payload
    assert.equal(p1.exp - p1.iat, 60)
    const p2 = decodeJwt(tokensFor(ED, { accessTtl: 300 }).issue('u')).payload
    assert.equal(p2.exp - p2.iat, 300)
    const p3 = decodeJwt(tokensFor(ED, { accessTtl: 300 }).issue('u', { ttl: 120 })).payload
    assert.equal(p3.exp - p3.iat, 120)
  })

  test('several audiences are issued as an array and each is accepted', () => {
    const tokens = tokensFor(ED, { audience: ['api', 'admin'] })
    const token = tokens.issue('u')
    assert.deepEqual(decodeJwt(token).payload.aud, ['api', 'admin'])
    assert.deepEqual(tokens.audience, ['api', 'admin'])
    assert.equal(tokensFor(ED, { audience: 'admin' }).verify(token).sub, 'u')
    assert.equal(tokensFor(ED, { audience: 'api' }).verify(token).sub, 'u')
  })

  test('custom claims are carried', () => {
    const claims = { sid: 'sess-1', scope: 'read write', client_id: 'web', amr: ['pwd', 'otp'], auth_time: 1700000000, roles: ['admin'], nested: { a: [1, { b: null }] }, unicode: 'ünïcødé ✓' }
    const token = ED_TOKENS.issue('u', { claims })
    const verified = ED_TOKENS.verify(token)
    for (const [k, v] of Object.entries(claims)) assert.deepEqual(verified[k], v, k)
  })

  for (const name of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'nbf']) {
    test(`reserved claim "${name}" in claims is invalid_input`, async () => {
      const value = ['exp', 'iat', 'nbf'].includes(name) ? 1 : 'x'
      await expectCode(PolyauthError, () => ED_TOKENS.issue('u', { claims: { [name]: value } }), 'invalid_input')
    })
  }

  test('issuer and audience getters', () => {
    assert.equal(ED_TOKENS.issuer, ISSUER)
    assert.deepEqual(ED_TOKENS.audience, [AUDIENCE])
  })
})

// ---------------------------------------------------------------------------------------------
describe('interop with jose and jsonwebtoken', () => {
  const jwtSupportsEdDSA = (() => {
    try {
      jwt.sign({ a: 1 }, crypto.generateKeyPairSync('ed25519').privateKey, { algorithm: 'EdDSA' })
      return true
    } catch {
      return false
    }
  })()

  /** The verification key for jose: public JWK, or the HMAC secret bytes. */
  async function joseVerifyKey(keys, alg) {
    if (alg.startsWith('HS')) return new Uint8Array(privateKeyOf(keys))
    return importJWK(keys.toJwks().keys[0], alg)
  }
  async function joseSignKey(keys, alg) {
    if (alg.startsWith('HS')) return new Uint8Array(privateKeyOf(keys))
    return importJWK(keys.toJwks({ includePrivate: true }).keys[0], alg)
  }

  for (const alg of INTEROP_ALGS) {
    test(`${alg}: polyauth token verifies in jose`, async () => {
      const keys = generated[alg]
      const token = tokensFor(keys).issue('user-7', { claims: { scope: 'read' } })
      const { payload, protectedHeader } = await jwtVerify(token, await joseVerifyKey(keys, alg), { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: [alg] })
      assert.equal(payload.sub, 'user-7')
      assert.equal(payload.scope, 'read')
      assert.equal(protectedHeader.kid, keys.signingKid)
      // And jose rejects it under another key of the same kind.
      await assert.rejects(jwtVerify(token, await joseVerifyKey(KeySet.generate(alg), alg), { issuer: ISSUER, audience: AUDIENCE }))
    })

    const skip = alg === 'EdDSA' && !jwtSupportsEdDSA ? 'jsonwebtoken 9 does not support EdDSA (its algorithm list has no EdDSA; jwt.sign refuses it)' : false
    test(`${alg}: polyauth token verifies in jsonwebtoken`, { skip }, () => {
      const keys = generated[alg]
      const token = tokensFor(keys).issue('user-8')
      const key = alg.startsWith('HS') ? privateKeyOf(keys) : crypto.createPublicKey({ key: keys.toJwks().keys[0], format: 'jwk' })
      const payload = jwt.verify(token, key, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE })
      assert.equal(payload.sub, 'user-8')
      const other = KeySet.generate(alg)
      const otherKey = alg.startsWith('HS') ? privateKeyOf(other) : crypto.createPublicKey({ key: other.toJwks().keys[0], format: 'jwk' })
      assert.throws(() => jwt.verify(token, otherKey, { algorithms: [alg] }), /invalid signature/)
    })

    test(`${alg}: jose-issued token verifies in polyauth`, async () => {
      const keys = generated[alg]
      const token = await new SignJWT({ scope: 'write', amr: ['pwd'] })
        .setProtectedHeader({ alg, kid: keys.signingKid, typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('user-9')
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(crypto.randomBytes(16).toString('base64url'))
        .sign(await joseSignKey(keys, alg))
      const claims = tokensFor(keys).verify(token)
      assert.equal(claims.sub, 'user-9')
      assert.equal(claims.scope, 'write')
      assert.deepEqual(claims.amr, ['pwd'])
      // Through a verify-only set too (asymmetric).
      if (!alg.startsWith('HS')) assert.equal(tokensFor(KeySet.fromJwks(keys.toJwks())).verify(token).sub, 'user-9')
    })
  }

  test('jsonwebtoken-issued HS256 and ES256 tokens verify in polyauth (with typ relaxed)', () => {
    for (const alg of ['HS256', 'ES256']) {
      const keys = generated[alg]
      const key = privateKeyOf(keys)
      const token = jwt.sign({ sub: 'user-10' }, key, { algorithm: alg, keyid: keys.signingKid, issuer: ISSUER, audience: AUDIENCE, expiresIn: 300 })
      // jsonwebtoken writes typ "JWT": not an access token unless the check is relaxed.
      assert.throws(() => tokensFor(keys).verify(token), (e) => e instanceof PolyauthError && e.code === 'invalid_type')
      assert.equal(tokensFor(keys).verify(token, { typ: null }).sub, 'user-10')
    }
  })
})

// ---------------------------------------------------------------------------------------------
describe('attacks', () => {
  test('alg none in four spellings is unsupported_algorithm (JWT-1)', async () => {
    const claims = claimsNow()
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const signingInput = `${b64url({ alg, typ: 'at+jwt' })}.${b64url(claims)}`
      const withKid = `${b64url({ alg, kid: ED.signingKid, typ: 'at+jwt' })}.${b64url(claims)}`
      for (const token of [`${signingInput}.`, `${withKid}.`, `${signingInput}.${rawSign('EdDSA', ED_PRIVATE, signingInput).toString('base64url')}`]) {
        await expectTokenError(() => ED_TOKENS.verify(token), token, 'unsupported_algorithm', alg)
        await expectTokenError(() => ED.verifyJws(token), token, 'unsupported_algorithm', `${alg} verifyJws`)
      }
    }
  })

  test('empty signature is invalid_signature (JWT-1)', async () => {
    for (const alg of INTEROP_ALGS) {
      const token = tokensFor(generated[alg]).issue('u')
      const [h, p] = token.split('.')
      await expectTokenError(() => tokensFor(generated[alg]).verify(`${h}.${p}.`), token, 'invalid_signature', alg)
    }
  })

  test('tampered payload or signature is invalid_signature', async () => {
    const token = ED_TOKENS.issue('u')
    const [h, p, s] = token.split('.')
    const forged = b64url({ ...decodeJwt(token).payload, sub: 'admin' })
    await expectTokenError(() => ED_TOKENS.verify(`${h}.${forged}.${s}`), token, 'invalid_signature', 'payload')
    const sig = Buffer.from(s, 'base64url')
    sig[5] ^= 1
    await expectTokenError(() => ED_TOKENS.verify(`${h}.${p}.${sig.toString('base64url')}`), token, 'invalid_signature', 'signature')
  })

  test('the key fixes the algorithm: a token claiming another asymmetric alg is refused (JWT-2)', async () => {
    // An ES256 key and a token header saying ES384 (signed with the ES256 key's hash swapped).
    const es = generated.ES256
    const header = { alg: 'ES384', kid: es.signingKid, typ: 'at+jwt' }
    const token = handSign(header, claimsNow(), privateKeyOf(es), 'ES256')
    await expectTokenError(() => tokensFor(es).verify(token), token, ['unsupported_algorithm', 'invalid_signature'])
    // EdDSA key, PS256 header.
    const t2 = `${b64url({ alg: 'PS256', kid: ED.signingKid, typ: 'at+jwt' })}.${b64url(claimsNow())}.${'A'.repeat(342)}`
    await expectTokenError(() => ED_TOKENS.verify(t2), t2, ['unsupported_algorithm', 'invalid_signature'])
  })

  for (const [name, alg] of [
    ['RSA', 'PS256'],
    ['EC', 'ES256'],
    ['Ed25519', 'EdDSA'],
  ]) {
    test(`${name} public key used as an HMAC secret is unsupported_algorithm (JWT-2)`, async () => {
      const keys = generated[alg]
      const tokens = tokensFor(keys)
      const pem = keys.toPem()
      const jwk = keys.toJwks().keys[0]
      const secrets = [pem, pem.trim(), JSON.stringify(jwk), JSON.stringify(keys.toJwks()), crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' })]
      for (const secret of secrets) {
        for (const hs of ['HS256', 'HS384', 'HS512']) {
          const token = handSign({ alg: hs, kid: keys.signingKid, typ: 'at+jwt' }, claimsNow(), Buffer.from(secret))
          await expectTokenError(() => tokens.verify(token), token, 'unsupported_algorithm', `${hs} keyed with ${typeof secret === 'string' ? secret.slice(0, 20) : 'DER'}`)
        }
      }
      // Without kid too (a single-key set).
      const noKid = handSign({ alg: 'HS256', typ: 'at+jwt' }, claimsNow(), Buffer.from(pem))
      await expectTokenError(() => tokens.verify(noKid), noKid, 'unsupported_algorithm', 'no kid')
    })
  }

  test('embedded jwk header with an attacker key: no kid in a 2-key set is unknown_key, real kid is invalid_signature (JWT-4)', async () => {
    const keys = KeySet.generate('EdDSA')
    keys.rotate()
    assert.equal(keys.kids.length, 2)
    const tokens = tokensFor(keys)
    const attacker = crypto.generateKeyPairSync('ed25519')
    const attackerJwk = attacker.publicKey.export({ format: 'jwk' })
    const noKid = handSign({ alg: 'EdDSA', typ: 'at+jwt', jwk: attackerJwk }, claimsNow(), attacker.privateKey)
    await expectTokenError(() => tokens.verify(noKid), noKid, 'unknown_key', 'no kid')
    for (const kid of keys.kids) {
      const token = handSign({ alg: 'EdDSA', kid, typ: 'at+jwt', jwk: attackerJwk }, claimsNow(), attacker.privateKey)
      await expectTokenError(() => tokens.verify(token), token, 'invalid_signature', 'real kid')
    }
    // The attacker's own thumbprint as kid is just an unknown key.
    const own = handSign({ alg: 'EdDSA', kid: await calculateJwkThumbprint(attackerJwk), typ: 'at+jwt', jwk: attackerJwk }, claimsNow(), attacker.privateKey)
    await expectTokenError(() => tokens.verify(own), own, 'unknown_key', 'attacker kid')
    // A single-key set: a kid-less token is checked against that key and fails.
    const single = KeySet.generate('EdDSA')
    await expectTokenError(() => tokensFor(single).verify(noKid), noKid, 'invalid_signature', 'single key, no kid')
  })

  test('jku / x5u / x5c headers are ignored: no fetch, only configured keys count (JWT-4)', async () => {
    // Nothing listens on these URLs; no server is started. A verifier that fetched would either
    // hang/fail differently or accept the attacker's key.
    const attacker = crypto.generateKeyPairSync('ed25519')
    const attackerJwk = attacker.publicKey.export({ format: 'jwk' })
    const urls = { jku: 'http://127.0.0.1:9/jwks.json', x5u: 'http://127.0.0.1:9/cert.pem' }
    for (const [name, url] of Object.entries(urls)) {
      const unknown = handSign({ alg: 'EdDSA', kid: 'attacker-key', typ: 'at+jwt', [name]: url }, claimsNow(), attacker.privateKey)
      await expectTokenError(() => ED_TOKENS.verify(unknown), unknown, 'unknown_key', `${name} with attacker kid`)
      await expectTokenError(() => ED_TOKENS.verifyAsync(unknown), unknown, 'unknown_key', `${name} with attacker kid (async)`)
      const realKid = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', [name]: url, jwk: attackerJwk }, claimsNow(), attacker.privateKey)
      await expectTokenError(() => ED_TOKENS.verify(realKid), realKid, 'invalid_signature', `${name} with real kid`)
      // A genuine token that merely carries the header still verifies: the header is ignored.
      const genuine = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', [name]: url }, claimsNow(), ED_PRIVATE)
      assert.equal(ED_TOKENS.verify(genuine).sub, 'user-1')
    }
    const x5c = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }, claimsNow(), attacker.privateKey)
    await expectTokenError(() => ED_TOKENS.verify(x5c), x5c, 'invalid_signature', 'x5c')
  })

  for (const kid of ['../../etc/passwd', "' OR 1=1 --", '', 'kid\u0000', 'a'.repeat(2000)]) {
    test(`kid ${JSON.stringify(kid.length > 40 ? `${kid.slice(0, 10)}...(${kid.length})` : kid)} is unknown_key (JWT-4)`, async () => {
      const token = handSign({ alg: 'EdDSA', kid, typ: 'at+jwt' }, claimsNow(), ED_PRIVATE)
      await expectTokenError(() => ED_TOKENS.verify(token), token, 'unknown_key')
    })
  }

  test('kid of another type (number, null, object) is refused', async () => {
    for (const kid of [1, null, { a: 1 }, [ED.signingKid]]) {
      const token = handSign({ alg: 'EdDSA', kid, typ: 'at+jwt' }, claimsNow(), ED_PRIVATE)
      await expectTokenError(() => ED_TOKENS.verify(token), token, ['invalid_token', 'unknown_key'], JSON.stringify(kid))
    }
  })

  test('unknown crit is invalid_token (JWT-5)', async () => {
    for (const header of [
      { alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', crit: ['exp-x'], 'exp-x': 1 },
      { alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', crit: ['exp-x'] },
      { alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', crit: [] },
      { alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', crit: 'exp-x' },
      { alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', b64: false, crit: ['b64'] },
    ]) {
      const token = handSign(header, claimsNow(), ED_PRIVATE)
      await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_token', JSON.stringify(header.crit))
    }
  })

  test('b64: false (RFC 7797) is invalid_token (JWT-5)', async () => {
    const header = { alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt', b64: false }
    const token = handSign(header, claimsNow(), ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_token')
  })

  test('duplicate header names (hand-built) are invalid_token (JWT-5)', async () => {
    const kid = ED.signingKid
    for (const text of [
      `{"alg":"EdDSA","kid":"${kid}","typ":"at+jwt","alg":"EdDSA"}`,
      `{"alg":"EdDSA","kid":"${kid}","typ":"at+jwt","kid":"${kid}"}`,
      `{"alg":"EdDSA","kid":"${kid}","typ":"refresh+jwt","typ":"at+jwt"}`,
      `{"alg":"none","alg":"EdDSA","kid":"${kid}","typ":"at+jwt"}`,
      `{"alg":"EdDSA","kid":"${kid}","typ":"at+jwt","x":1,"x":2}`,
    ]) {
      const token = handSign(text, claimsNow(), ED_PRIVATE, 'EdDSA')
      await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_token', text)
    }
  })

  test('a header that is not a JSON object is invalid_token', async () => {
    for (const text of ['[]', '"EdDSA"', 'null', '{"alg":"EdDSA",', '\ufeff{"alg":"EdDSA"}']) {
      const token = handSign(text, claimsNow(), ED_PRIVATE, 'EdDSA')
      await expectTokenError(() => ED_TOKENS.verify(token), token, ['invalid_token', 'unsupported_algorithm'], text)
    }
  })

  test("typ is enforced: an access token where 'refresh+jwt' is required is invalid_type (JWT-13)", async () => {
    const token = ED_TOKENS.issue('u')
    await expectTokenError(() => ED_TOKENS.verify(token, { typ: 'refresh+jwt' }), token, 'invalid_type')
    assert.equal(ED_TOKENS.verify(token, { typ: 'at+jwt' }).sub, 'u')
  })

  test("a 'refresh+jwt' token (from jose, same key) is not an access token: invalid_type (JWT-13)", async () => {
    const key = await importJWK(ED.toJwks({ includePrivate: true }).keys[0], 'EdDSA')
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: ED.signingKid, typ: 'refresh+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('u')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key)
    await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_type')
    assert.equal(ED_TOKENS.verify(token, { typ: 'refresh+jwt' }).sub, 'u')
    // A missing typ is not an access token either.
    const noTyp = handSign({ alg: 'EdDSA', kid: ED.signingKid }, claimsNow(), ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(noTyp), noTyp, 'invalid_type', 'no typ')
    const jwtTyp = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'JWT' }, claimsNow(), ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(jwtTyp), jwtTyp, 'invalid_type', 'typ JWT')
  })

  test('exp: expired inside the leeway passes, outside fails (JWT-11)', async () => {
    const token = ED_TOKENS.issue('u', { ttl: 60 })
    const { exp, iat } = decodeJwt(token).payload
    assert.equal(ED_TOKENS.verify(token, { now: iat }).sub, 'u')
    assert.equal(ED_TOKENS.verify(token, { now: exp + 10 }).sub, 'u', 'default leeway 30 s')
    await expectTokenError(() => ED_TOKENS.verify(token, { now: exp + 31 }), token, 'token_expired')
    await expectTokenError(() => ED_TOKENS.verify(token, { now: exp + 86400 }), token, 'token_expired')
    // With leeway 0 one second past exp fails.
    const strict = tokensFor(ED, { leeway: 0 })
    assert.equal(strict.verify(token, { now: exp - 1 }).sub, 'u')
    await expectTokenError(() => strict.verify(token, { now: exp + 1 }), token, 'token_expired', 'leeway 0')
    // A larger leeway widens the window.
    assert.equal(tokensFor(ED, { leeway: 120 }).verify(token, { now: exp + 100 }).sub, 'u')
  })

  test('leeway above 300 s is invalid_config', async () => {
    await expectCode(PolyauthError, () => tokensFor(ED, { leeway: 301 }), 'invalid_config')
  })

  test('nbf in the future is token_not_yet_valid (JWT-11)', async () => {
    const now = nowSeconds()
    const future = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, claimsNow({ nbf: now + 600 }), ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(future, { now }), future, 'token_not_yet_valid')
    assert.equal(ED_TOKENS.verify(future, { now: now + 600 }).sub, 'user-1')
    const withinLeeway = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, claimsNow({ nbf: now + 10 }), ED_PRIVATE)
    assert.equal(ED_TOKENS.verify(withinLeeway, { now }).sub, 'user-1')
  })

  test('iat in the future is token_not_yet_valid (JWT-11)', async () => {
    const token = ED_TOKENS.issue('u')
    const { iat } = decodeJwt(token).payload
    await expectTokenError(() => ED_TOKENS.verify(token, { now: iat - 120 }), token, 'token_not_yet_valid')
    assert.equal(ED_TOKENS.verify(token, { now: iat - 10 }).sub, 'u', 'inside the leeway')
  })

  test('exp missing or not a number is refused', async () => {
    const { exp: _e, ...noExp } = claimsNow()
    const t1 = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, noExp, ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(t1), t1, 'missing_claim', 'no exp')
    const t2 = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, claimsNow({ exp: String(nowSeconds() + 600) }), ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(t2), t2, ['invalid_token', 'missing_claim'], 'string exp')
  })

  test('wrong aud is invalid_audience (JWT-12)', async () => {
    const token = tokensFor(ED, { audience: 'other-api' }).issue('u')
    await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_audience')
    const mine = ED_TOKENS.issue('u')
    await expectTokenError(() => ED_TOKENS.verify(mine, { audience: ['x', 'y'] }), mine, 'invalid_audience', 'per-call audience')
    assert.equal(ED_TOKENS.verify(mine, { audience: ['x', AUDIENCE] }).sub, 'u')
    // Audience matching is exact.
    const close = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, claimsNow({ aud: `${AUDIENCE} ` }), ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(close), close, 'invalid_audience', 'trailing space')
  })

  test('wrong iss is invalid_issuer (JWT-12)', async () => {
    const token = new Tokens(ED, { issuer: 'https://evil.example', audience: AUDIENCE }).issue('u')
    await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_issuer')
    const slash = new Tokens(ED, { issuer: `${ISSUER}/`, audience: AUDIENCE }).issue('u')
    await expectTokenError(() => ED_TOKENS.verify(slash), slash, 'invalid_issuer', 'trailing slash')
  })

  test('required claims: missing is missing_claim', async () => {
    const token = ED_TOKENS.issue('u', { claims: { sid: 's1' } })
    assert.equal(ED_TOKENS.verify(token, { required: ['sid'] }).sid, 's1')
    await expectTokenError(() => ED_TOKENS.verify(token, { required: ['client_id'] }), token, 'missing_claim')
    const { sub: _s, ...noSub } = claimsNow()
    const t2 = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, noSub, ED_PRIVATE)
    await expectTokenError(() => ED_TOKENS.verify(t2), t2, 'missing_claim', 'sub is required by default')
    assert.equal(ED_TOKENS.verify(t2, { required: [] }).iss, ISSUER)
  })

  test('oversize token is invalid_token', async () => {
    const big = ED_TOKENS.issue('u', { claims: { pad: 'x'.repeat(9000) } })
    assert.ok(big.length > 8192)
    await expectTokenError(() => ED_TOKENS.verify(big), big, 'invalid_token', 'default 8192')
    const medium = ED_TOKENS.issue('u', { claims: { pad: 'x'.repeat(600) } })
    assert.ok(medium.length > 512)
    const small = tokensFor(ED, { maxTokenSize: 512 })
    await expectTokenError(() => small.verify(medium), medium, 'invalid_token', 'maxTokenSize 512')
    assert.equal(small.verify(ED_TOKENS.issue('u')).sub, 'u')
    await expectCode(PolyauthError, () => tokensFor(ED, { maxTokenSize: 64 }), 'invalid_config')
    assert.equal(tokensFor(ED, { maxTokenSize: 20000 }).verify(big).sub, 'u')
  })

  test('non-canonical base64url is invalid_token (JWT-9)', async () => {
    // Find a token whose segments contain '-' and '_' so '+' and '/' substitutions apply.
    let token
    for (let i = 0; i < 500 && !token; i++) {
      const t = ED_TOKENS.issue('u', { claims: { n: i } })
      const s = t.split('.')[2]
      if (s.includes('-') && s.includes('_')) token = t
    }
    assert.ok(token, 'no token with - and _ in its signature')
    const [h, p, s] = token.split('.')
    const variants = {
      'padded header': `${h}=.${p}.${s}`,
      'padded payload': `${h}.${p}==.${s}`,
      'padded signature': `${s.length % 4 === 0 ? `${h}.${p}.${s}====` : `${h}.${p}.${s}${'='.repeat(4 - (s.length % 4))}`}`,
      "'+' for '-'": `${h}.${p}.${s.replace('-', '+')}`,
      "'/' for '_'": `${h}.${p}.${s.replace('_', '/')}`,
      'space inside': `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`,
      'newline inside': `${h}.${p.slice(0, 10)}\n${p.slice(10)}`,
    }
    // Ed25519 signatures are 64 bytes = 86 chars: the last char carries 2 bits and 4 unused bits.
    assert.equal(s.length, 86)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(s[85])
    assert.equal(last % 16, 0, 'canonical encoding has zero unused bits')
    const sigBits = `${h}.${p}.${s.slice(0, 85)}${alphabet[last + 1]}`
    assert.deepEqual(Buffer.from(sigBits.split('.')[2], 'base64url'), Buffer.from(s, 'base64url'), 'lenient decoders see the same bytes')
    variants['modified unused bits (signature)'] = sigBits
    // The same in the header/payload when their length leaves unused bits.
    for (const [name, seg, idx] of [
      ['header', h, 0],
      ['payload', p, 1],
    ]) {
      if (seg.length % 4 === 0) continue
      const unused = seg.length % 4 === 2 ? 4 : 2
      const c = alphabet.indexOf(seg[seg.length - 1])
      const parts = [h, p, s]
      parts[idx] = seg.slice(0, -1) + alphabet[c + 1]
      assert.ok((c + 1) % (1 << unused) !== 0)
      variants[`modified unused bits (${name})`] = parts.join('.')
    }
    for (const [name, v] of Object.entries(variants)) {
      await expectTokenError(() => ED_TOKENS.verify(v), token, 'invalid_token', name)
    }
    assert.equal(ED_TOKENS.verify(token).sub, 'u')
  })

  test('trailing garbage is invalid_token or invalid_signature (JWT-9)', async () => {
    const token = ED_TOKENS.issue('u')
    for (const suffix of ['x', 'AA', '.', '.x', '.abc.def', ' ', '\n', '\u0000', '=']) {
      await expectTokenError(() => ED_TOKENS.verify(token + suffix), token, ['invalid_token', 'invalid_signature'], JSON.stringify(suffix))
    }
    for (const prefix of [' ', '.', 'Bearer ']) {
      await expectTokenError(() => ED_TOKENS.verify(prefix + token), token, ['invalid_token', 'invalid_signature'], JSON.stringify(prefix))
    }
  })

  test('JSON serialization is not accepted', async () => {
    const [h, p, s] = ED_TOKENS.issue('u').split('.')
    const json = JSON.stringify({ protected: h, payload: p, signature: s })
    await expectTokenError(() => ED_TOKENS.verify(json), json, 'invalid_token')
  })

  test('a payload that is not a JSON object is invalid_token', async () => {
    for (const text of ['[]', '"x"', '1', 'null', 'not json']) {
      const token = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, text, ED_PRIVATE)
      await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_token', text)
    }
  })

  test('a Better Auth-style token (EdDSA via jose, no typ) verifies with {typ: null}, not by default', async () => {
    const keys = KeySet.generate('EdDSA')
    const pub = KeySet.fromJwks(keys.toJwks())
    const key = await importJWK(keys.toJwks({ includePrivate: true }).keys[0], 'EdDSA')
    const token = await new SignJWT({ email: 'a@example.com', name: 'A' })
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.signingKid })
      .setIssuer('https://app.example')
      .setAudience('https://app.example')
      .setSubject('ba-user-1')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(key)
    const tokens = new Tokens(pub, { issuer: 'https://app.example', audience: 'https://app.example' })
    const claims = tokens.verify(token, { typ: null })
    assert.equal(claims.sub, 'ba-user-1')
    assert.equal(claims.email, 'a@example.com')
    assert.equal((await tokens.verifyAsync(token, { typ: null })).sub, 'ba-user-1')
    await expectTokenError(() => tokens.verify(token), token, 'invalid_type')
    // typ: null relaxes typ only: the signature still counts.
    const [h, p] = token.split('.')
    await expectTokenError(() => tokens.verify(`${h}.${p}.${'A'.repeat(86)}`, { typ: null }), token, 'invalid_signature')
  })

  test('requireTyp: false accepts a token without typ (for the layers, which verify with the defaults); a typ present must match', async () => {
    const keys = KeySet.generate('EdDSA')
    const priv = privateKeyOf(keys)
    const lenient = new Tokens(keys, { issuer: ISSUER, audience: AUDIENCE, requireTyp: false })
    assert.equal(lenient.requireTyp, false)
    assert.equal(tokensFor(keys).requireTyp, true)
    const noTyp = handSign({ alg: 'EdDSA', kid: keys.signingKid }, claimsNow(), priv)
    assert.equal(lenient.verify(noTyp).sub, 'user-1')
    assert.equal((await lenient.verifyAsync(noTyp)).sub, 'user-1')
    await expectTokenError(() => tokensFor(keys).verify(noTyp), noTyp, 'invalid_type')
    const jwtTyp = handSign({ alg: 'EdDSA', kid: keys.signingKid, typ: 'JWT' }, claimsNow(), priv)
    await expectTokenError(() => lenient.verify(jwtTyp), jwtTyp, 'invalid_type')
    const nullTyp = handSign({ alg: 'EdDSA', kid: keys.signingKid, typ: null }, claimsNow(), priv)
    await expectTokenError(() => lenient.verify(nullTyp), nullTyp, 'invalid_token')
    const issued = lenient.issue('u')
    assert.equal(decodeJwt(issued).header.typ, 'at+jwt')
    await expectTokenError(() => lenient.verify(issued, { typ: 'refresh+jwt' }), issued, 'invalid_type')
    await expectTokenError(() => lenient.verify(noTyp, { audience: 'other' }), noTyp, 'invalid_audience')
  })

  test("alg 'Ed25519' (RFC 9864) is accepted as an alias of EdDSA", () => {
    const token = handSign({ alg: 'Ed25519', kid: ED.signingKid, typ: 'at+jwt' }, claimsNow(), ED_PRIVATE)
    assert.equal(ED_TOKENS.verify(token).sub, 'user-1')
  })

  test('a token without kid: a single-key set verifies it, a 2-key set is unknown_key', async () => {
    const keys = KeySet.generate('EdDSA')
    const token = handSign({ alg: 'EdDSA', typ: 'at+jwt' }, claimsNow(), privateKeyOf(keys))
    assert.equal(tokensFor(keys).verify(token).sub, 'user-1')
    keys.rotate()
    await expectTokenError(() => tokensFor(keys).verify(token), token, 'unknown_key')
  })

  test('wrong argument types are TypeError', async () => {
    for (const bad of [123, null, undefined, {}, ['a.b.c'], Buffer.from('a.b.c')]) {
      assert.throws(() => ED_TOKENS.verify(bad), TypeError, `verify(${String(bad)})`)
      await assert.rejects(ED_TOKENS.verifyAsync(bad), TypeError, `verifyAsync(${String(bad)})`)
    }
    assert.throws(() => ED.verifyJws(123), TypeError)
    assert.throws(() => ED_TOKENS.issue(123), TypeError)
    assert.throws(() => ED_TOKENS.issue(null), TypeError)
  })

  test('empty and garbage strings are invalid_token', async () => {
    for (const bad of ['', '.', '..', 'a.b.c', 'eyJ.eyJ.', 'not a token', '\u00e9.\u00e9.\u00e9']) {
      await expectTokenError(() => ED_TOKENS.verify(bad), bad, ['invalid_token', 'invalid_signature'], JSON.stringify(bad))
    }
  })

  test('lone surrogates in a token are invalid_token, as in Python', async () => {
    const tok = ED_TOKENS.issue('user-1')
    for (const bad of ['\ud800', tok + '\ud800', '\udc00.' + tok]) {
      await expectTokenError(() => ED_TOKENS.verify(bad), bad, ['invalid_token'], JSON.stringify(bad))
    }
  })

  test('error messages never contain the token (DESIGN.md §5)', async () => {
    const token = ED_TOKENS.issue('u', { claims: { secret_looking: 'x'.repeat(40) } })
    const { exp, iat } = decodeJwt(token).payload
    const [h, p, s] = token.split('.')
    const failures = [
      () => ED_TOKENS.verify(token, { now: exp + 3600 }),
      () => ED_TOKENS.verify(token, { now: iat - 3600 }),
      () => ED_TOKENS.verify(token, { audience: 'nope' }),
      () => ED_TOKENS.verify(token, { typ: 'refresh+jwt' }),
      () => ED_TOKENS.verify(token, { required: ['nope'] }),
      () => new Tokens(ED, { issuer: 'other', audience: AUDIENCE }).verify(token),
      () => tokensFor(KeySet.generate('EdDSA')).verify(token),
      () => ED_TOKENS.verify(`${h}.${p}.${s.slice(0, -4)}AAAA`),
      () => ED_TOKENS.verify(`${h}.${p}.${s}=`),
      () => ED_TOKENS.verify(`${h}.${p}!.${s}`),
      () => ED_TOKENS.verify(`${token}.${token}`),
      () => ED.verifyJws(`${h}.${p}.`),
    ]
    for (const [i, f] of failures.entries()) {
      let err
      try {
        f()
      } catch (e) {
        err = e
      }
      assert.ok(err instanceof PolyauthError, `case ${i} must throw a PolyauthError`)
      assertNoTokenInMessage(err, token)
      assert.ok(!err.message.includes('x'.repeat(40)), `case ${i}: message contains a claim value`)
      assert.ok(!String(err.stack).includes(p), `case ${i}: stack contains the payload`)
    }
  })

  test('signature is checked before claims (JWT-10)', async () => {
    // An expired, wrong-issuer, wrong-audience token with a bad signature reports the signature.
    const past = nowSeconds() - 100000
    const token = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, { iss: 'x', aud: 'y', sub: 'z', iat: past, exp: past + 10 }, crypto.generateKeyPairSync('ed25519').privateKey)
    await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_signature')
  })
})

// ---------------------------------------------------------------------------------------------
describe('RFC JWS examples (../shared/vectors/rfc/jws_examples.json)', () => {
  const v = loadSharedVectors('rfc/jws_examples.json')
  const all = v.data ? [...v.data.examples, ...v.data.extra_examples] : []

  test('file shape', { skip: v.skip }, () => {
    const data = requireShared(v)
    assert.ok(data.examples.length >= 3)
    assert.ok(data.extra_examples.some((e) => e.id === 'RFC7797-4.1'))
  })

  for (const ex of all) {
    if (ex.id === 'RFC7797-4.1') {
      test(`${ex.id}: b64=false is rejected`, async () => {
        const keys = KeySet.fromJwks(ex.jwk, { alg: ex.alg })
        for (const token of [`${ex.protected_b64}.${ex.payload_raw}.${ex.signature_b64}`, `${ex.protected_b64}..${ex.signature_b64}`, `${ex.protected_b64}.${b64url(ex.payload_raw)}.${ex.signature_b64}`]) {
          await expectTokenError(() => keys.verifyJws(token), token, ['invalid_token', 'invalid_signature'])
        }
        // Sanity: the signature is cryptographically valid over protected || "." || raw payload.
        const mac = crypto.createHmac('sha256', Buffer.from(ex.jwk.k, 'base64url')).update(`${ex.protected_b64}.${ex.payload_raw}`).digest('base64url')
        assert.equal(mac, ex.signature_b64)
      })
      continue
    }
    test(`${ex.id} (${ex.alg}) verifies via KeySet.fromJwks(key).verifyJws`, () => {
      assert.equal(ex.expected, 'valid')
      assert.equal(ex.compact, `${ex.protected_b64}.${ex.payload_b64}.${ex.signature_b64}`)
      const keys = KeySet.fromJwks(ex.jwk, { alg: ex.alg })
      const { header, payload } = keys.verifyJws(ex.compact)
      assert.deepEqual(payload, Buffer.from(ex.payload_b64, 'base64url'))
      assert.deepEqual(header, JSON.parse(Buffer.from(ex.protected_b64, 'base64url').toString('utf8')))
      // The public half alone verifies too (asymmetric keys).
      if (ex.jwk.kty !== 'oct') {
        const pub = KeySet.fromJwks(keys.toJwks(), { alg: ex.alg })
        assert.deepEqual(pub.verifyJws(ex.compact).payload, payload)
      }
      // One flipped signature bit fails.
      const sig = Buffer.from(ex.signature_b64, 'base64url')
      sig[sig.length >> 1] ^= 0x10
      assert.throws(() => keys.verifyJws(`${ex.protected_b64}.${ex.payload_b64}.${sig.toString('base64url')}`), (e) => e instanceof PolyauthError && e.code === 'invalid_signature')
    })
  }

  test('RFC 7515 A.1: the signature passes, but claim validation fails (2011 expiry, no aud)', { skip: v.skip }, async () => {
    const ex = requireShared(v).examples.find((e) => e.id === 'RFC7515-A.1')
    const tokens = new Tokens(KeySet.fromJwks(ex.jwk, { alg: 'HS256' }), { issuer: 'joe', audience: 'x' })
    await expectTokenError(() => tokens.verify(ex.compact, { typ: null, required: [] }), ex.compact, ['token_expired', 'missing_claim'])
    // With the clock injected the expiry no longer counts; the missing aud still does.
    await expectTokenError(() => tokens.verify(ex.compact, { typ: null, required: [], now: 1300819000 }), ex.compact, 'missing_claim')
  })
})

// ---------------------------------------------------------------------------------------------
describe('verifyJws returns the protected header (JWT-13 for raw JWS callers)', () => {
  test('header and payload', () => {
    const header = { alg: 'EdDSA', kid: ED.signingKid, typ: 'dpop+jwt', cty: 'JWT', 'x-app': [1, 2] }
    const token = handSign(header, { a: 1 }, ED_PRIVATE)
    const result = ED.verifyJws(token)
    assert.deepEqual(result.header, header)
    assert.deepEqual(JSON.parse(result.payload.toString('utf8')), { a: 1 })
    assert.ok(Buffer.isBuffer(result.payload))
    const issued = ED.verifyJws(ED_TOKENS.issue('user-1'))
    assert.equal(issued.header.typ, 'at+jwt')
    assert.equal(issued.header.kid, ED.signingKid)
  })
})

// ---------------------------------------------------------------------------------------------
describe('registered claims have their RFC 7519 types', () => {
  const cases = [
    ['sub', { id: 'user-1' }],
    ['sub', 42],
    ['sub', ['user-1']],
    ['sub', null],
    ['iss', [ISSUER]],
    ['iss', 1],
    ['jti', 7],
    ['jti', { j: 1 }],
    ['aud', 1],
    ['aud', { aud: AUDIENCE }],
    ['aud', [AUDIENCE, 1]],
    ['exp', String(nowSeconds() + 600)],
    ['nbf', true],
    ['iat', [0]],
  ]
  for (const [name, value] of cases) {
    test(`${name} = ${JSON.stringify(value)} is invalid_token`, async () => {
      const token = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, claimsNow({ [name]: value }), ED_PRIVATE)
      await expectTokenError(() => ED_TOKENS.verify(token), token, 'invalid_token')
      await expectTokenError(() => ED_TOKENS.verify(token, { required: [] }), token, 'invalid_token', 'required: []')
    })
  }

  test('the right types pass; application claims are not checked', () => {
    const claims = claimsNow({ aud: ['other', AUDIENCE], sid: { app: 'defined' } })
    claims.exp += 0.5
    const token = handSign({ alg: 'EdDSA', kid: ED.signingKid, typ: 'at+jwt' }, claims, ED_PRIVATE)
    assert.deepEqual(ED_TOKENS.verify(token).sid, { app: 'defined' })
  })
})

// ---------------------------------------------------------------------------------------------
describe('attacker text in error messages (DESIGN.md §5)', () => {
  const algs = ['HS256\u001finvalid_key\u001fx', 'a\nb\u0000c', '\u001f', 'B'.repeat(500), '\u202e\u001févil\u2028']
  for (const alg of algs) {
    test(`alg ${JSON.stringify(alg.slice(0, 24))}: a PolyauthError with a short, escaped message`, async () => {
      const token = `${b64url({ alg })}.${b64url({})}.${Buffer.alloc(64).toString('base64url')}`
      for (const [what, verify] of [['verify', () => ED_TOKENS.verify(token)], ['verifyJws', () => ED.verifyJws(token)]]) {
        const err = await expectTokenError(verify, token, 'unsupported_algorithm', what)
        assert.match(err.message, /^[\x20-\x7e]*$/, `${what}: ${JSON.stringify(err.message)}`)
        const quoted = err.message.split('unsupported algorithm: ')[1]
        assert.ok(quoted !== undefined && quoted.length <= 35, `${what}: ${JSON.stringify(err.message)}`)
      }
    })
  }

  test('control characters are shown as \\xNN', async () => {
    const token = `${b64url({ alg: 'x\u001f\n' })}.e30.AA`
    const err = await expectTokenError(() => ED.verifyJws(token), token, 'unsupported_algorithm')
    assert.ok(err.message.endsWith('unsupported algorithm: x\\x1f\\x0a'), err.message)
  })
})
