// Node half of vectors/generate/tokens.py: issues one token per key with the Node binding.
import { readFileSync } from 'node:fs'
// vectors/generate has its own package.json, so import the package entry by path.
import { KeySet, Tokens } from '../../bindings-node/index.mjs'

const input = JSON.parse(readFileSync(0, 'utf8'))
const out = []
for (const [alg, jwks] of Object.entries(input.jwks)) {
  const tokens = new Tokens(KeySet.fromJwks(jwks), { issuer: input.issuer, audience: input.audience, accessTtl: 86400 })
  const token = tokens.issue('user-42', { claims: input.claims })
  out.push({ id: `node-${alg}`, issued_by: 'node', alg, token, claims: tokens.verify(token) })
}
process.stdout.write(JSON.stringify(out))
