import Link from 'next/link'
import { requireAuth, state } from '@/lib/auth'
import { MfaForm } from './form'

// TOTP enrollment: the form (a Client Component) calls the polyauth route handlers
// (/api/auth/mfa/enroll, /api/auth/mfa/confirm), which need a recent sign-in.
export default async function MfaSettings() {
  const session = await requireAuth({ next: '/settings/mfa' })
  const mfa = (await state()).mfa
  const status = mfa ? await mfa.status(session.subject) : null
  return (
    <main>
      <h1>Two-factor authentication</h1>
      {status === null ? (
        <p id="mfa-status" data-status="unavailable">
          Not configured on this server (POLYAUTH_MFA_KEY).
        </p>
      ) : (
        <>
          <p id="mfa-status" data-status={status.enabled ? 'enabled' : 'disabled'}>
            {status.enabled ? `On (${status.recoveryCodesRemaining} recovery codes left)` : 'Off'}
          </p>
          {status.enabled ? null : <MfaForm />}
        </>
      )}
      <p>
        <Link href="/dashboard">Dashboard</Link>
      </p>
    </main>
  )
}
