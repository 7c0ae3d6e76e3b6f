// Adds to vectors/tokens.json the cases of `require_typ` / `requireTyp` (a Tokens option): tokens
// shaped like Better Auth's JWT plugin's (EdDSA, a header of `alg` and `kid` only, the user in
// the claims), signed with the file's EdDSA key by Node's own crypto, so that they do not come
// from polyauth. Run from the repo root after vectors/generate/tokens.py (which rewrites the
// file without them): `node vectors/generate/tokens_no_typ.mjs`. Ed25519 signatures are
// deterministic: running it again writes the same cases.
import { createPrivateKey, sign } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'

const PATH = 'vectors/tokens.json'
const doc = JSON.parse(readFileSync(PATH, 'utf8'))
const jwk = doc.keys.EdDSA.keys[0]
const key = createPrivateKey({ key: jwk, format: 'jwk' })
const b64 = (data) => Buffer.from(data).toString('base64url')
const iat = doc.tokens.find((t) => t.id === 'python-EdDSA').claims.iat
const claims = {
  iat,
  id: 'ba-user-1',
  email: 'ada@example.com',
  emailVerified: false,
  name: 'Ada',
  sub: 'ba-user-1',
  exp: iat + 900,
  iss: doc.issuer,
  aud: doc.audience,
}

function token(header) {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`
  return `${input}.${b64(sign(null, Buffer.from(input), key))}`
}

const noTyp = token({ alg: 'EdDSA', kid: jwk.kid })
const jwtTyp = token({ alg: 'EdDSA', kid: jwk.kid, typ: 'JWT' })
const cases = [
  { id: 'no-typ', alg: 'EdDSA', token: noTyp, now: iat, code: 'invalid_type' },
  { id: 'no-typ-require-typ-false', alg: 'EdDSA', token: noTyp, now: iat, require_typ: false, code: null },
  { id: 'other-typ-require-typ-false', alg: 'EdDSA', token: jwtTyp, now: iat, require_typ: false, code: 'invalid_type' },
  {
    id: 'no-typ-require-typ-false-wrong-audience',
    alg: 'EdDSA',
    token: noTyp,
    now: iat,
    require_typ: false,
    audience: ['other'],
    code: 'invalid_audience',
  },
]
const ids = new Set(cases.map((c) => c.id))
doc.invalid = [...doc.invalid.filter((c) => !ids.has(c.id)), ...cases]
writeFileSync(PATH, JSON.stringify(doc, null, 1) + '\n')
