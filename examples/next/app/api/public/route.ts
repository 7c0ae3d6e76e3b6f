import { withAuth } from '@/lib/auth'

// Anyone; the principal when there is one (a bad bearer token is still 401).
export const GET = withAuth(async (_request, { principal }) => Response.json({ subject: principal?.subject ?? null }), {
  optional: true,
})
