import { withAuth } from '@/lib/auth'

// Step-up: only sessions signed in with a second factor (amr otp).
export const GET = withAuth(async () => Response.json({ ok: true }), { amr: ['otp'] })
