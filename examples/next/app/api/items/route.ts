import { withAuth } from '@/lib/auth'

// Bearer token or access cookie; a cookie-authenticated POST also passes the CSRF policy.
export const GET = withAuth(async (_request, { principal }) => Response.json({ items: [], owner: principal.subject }), {
  scopes: ['items:read'],
})

export const POST = withAuth(async () => Response.json({ ok: true }), { scopes: ['items:write'] })
