// Unprotected: the same JSON as the protected routes, no verification.
export const dynamic = 'force-dynamic'

export async function GET(): Promise<Response> {
  return Response.json({ subject: 'user-1', items: [] })
}
