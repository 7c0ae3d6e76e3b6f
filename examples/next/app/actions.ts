'use server'
// Server Actions of the example: the polyauth helpers return results; redirecting is the app's call.
import { redirect } from 'next/navigation'
import { action, revokeSession, signIn, signOut, verifyMfa } from '@/lib/auth'

export type SignInState = { code?: string; error?: string; mfaToken?: string }

/** Only a local path is followed after signing in (no open redirect). */
function safeNext(value: FormDataEntryValue | null): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/'
}

/** The password step, then (when the form carries an mfa_token) the second factor. */
export async function signInAction(_previous: SignInState, form: FormData): Promise<SignInState> {
  const result = form.has('mfa_token') ? await verifyMfa(form) : await signIn(form)
  if (!result.ok) {
    // A wrong code comes with a fresh mfa_token: the MFA step stays on screen.
    return { code: result.code, error: result.detail, ...(result.mfaToken ? { mfaToken: result.mfaToken } : {}) }
  }
  if (result.status === 'mfa_required') return { mfaToken: result.mfaToken }
  redirect(safeNext(form.get('next')))
}

export async function signOutAction(form: FormData): Promise<void> {
  await signOut({ everywhere: form.get('everywhere') === '1' })
  redirect('/')
}

/** A guarded Server Action: the caller is re-verified from its cookies (refreshed inline if expired). */
export const whoAmIAction = action(async (principal) => ({ subject: principal.subject }))

/** Revokes one of the user's own sessions (the form's `session_id`); revoking this one signs out here. */
export async function revokeSessionAction(form: FormData): Promise<void> {
  const result = await revokeSession(form)
  redirect(result.ok ? '/sessions' : `/sessions?error=${encodeURIComponent(result.code)}`)
}
