// withAuth: a bearer token, else the session's access cookie (its state cached for sessionCheck 5 s).
import { withAuth } from '@/lib/auth'

export const dynamic = 'force-dynamic'

export const GET = withAuth(async (_request, { principal }) => Response.json({ subject: principal.subject, items: [] }))
