import { withAuth } from '@/lib/auth'

// Any signed-in user (bearer or cookie): who the request is from.
export const GET = withAuth(async (_request, { principal }) =>
  Response.json({ subject: principal.subject, scopes: principal.scopes, amr: principal.amr }),
)
