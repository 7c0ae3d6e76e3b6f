import { withAuth } from '../../../lib/auth'

export const GET = withAuth(async (_request, { principal }) => Response.json({ subject: principal.subject }))
