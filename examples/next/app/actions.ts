'use server'
// Server Actions of the example: the polyauth helpers return results; redirecting is the app's call.
import { revalidatePath } from 'next/cache'
import { redirect } from 'next/navigation'
import { accessToken, action, revokeSession, signIn, signOut, state, verifyMfa } from '@/lib/auth'

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

export type SignUpState = { code?: string; error?: string }

/** Creates an account (role "member": the API's notes:read and notes:write), then signs it in. */
export async function signUpAction(_previous: SignUpState, form: FormData): Promise<SignUpState> {
  const login = form.get('login')
  const password = form.get('password')
  if (typeof login !== 'string' || typeof password !== 'string') return { code: 'invalid_request', error: 'login and password are required' }
  const { accounts } = await state()
  if (accounts === null) return { code: 'not_found', error: 'registration is not available' }
  try {
    await accounts.create(login, password, { roles: ['member'] })
  } catch (e) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') throw e
    return { code, error: code === 'account_exists' ? 'That email is taken.' : (e as Error).message }
  }
  const result = await signIn(form)
  if (!result.ok) return { code: result.code, error: result.detail }
  redirect('/dashboard')
}

/** Adds a note through the API (POLYAUTH_API_URL), calling it as the user with accessToken(). */
export async function addNoteAction(form: FormData): Promise<void> {
  const api = process.env.POLYAUTH_API_URL
  const token = await accessToken()
  if (!api || !token) redirect('/sign-in?next=/dashboard')
  await fetch(`${api}/api/notes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: String(form.get('text') ?? '') }),
    cache: 'no-store',
  })
  revalidatePath('/dashboard')
}
