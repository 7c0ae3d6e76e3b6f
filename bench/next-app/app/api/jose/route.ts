// The same check with jose, as its documentation shows it: the public key imported once per
// process (importJWK, cached at module level), then jwtVerify with the same algorithm, issuer and
// audience as polyauth, on the same bearer token. BENCH_PUBLIC_JWK is set by bench/node/bench_next.mjs.
import { importJWK, jwtVerify, type JWK } from 'jose'
import { AUDIENCE, ISSUER } from '@/lib/claims'

export const dynamic = 'force-dynamic'

type PublicKey = Awaited<ReturnType<typeof importJWK>>
let publicKey: Promise<PublicKey> | undefined

function key(): Promise<PublicKey> {
  publicKey ??= importJWK(JSON.parse(process.env.BENCH_PUBLIC_JWK ?? 'null') as JWK, 'EdDSA')
  return publicKey
}

function unauthorized(): Response {
  return Response.json(
    { detail: 'Could not validate credentials', code: 'invalid_token' },
    { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } },
  )
}

export async function GET(request: Request): Promise<Response> {
  const header = request.headers.get('authorization')
  if (header === null || !header.startsWith('Bearer ')) return unauthorized()
  try {
    const { payload } = await jwtVerify(header.slice(7), await key(), {
      algorithms: ['EdDSA'],
      issuer: ISSUER,
      audience: AUDIENCE,
    })
    if (typeof payload.sub !== 'string') return unauthorized()
    return Response.json({ subject: payload.sub, items: [] })
  } catch {
    return unauthorized()
  }
}
