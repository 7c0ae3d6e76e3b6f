// POST login | register | mfa/verify | refresh | logout | logout-all | sessions/revoke,
// GET session | sessions | jwks.
import { handlers } from '@/lib/auth'

export const { GET, POST } = handlers
