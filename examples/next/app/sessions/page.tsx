import Link from 'next/link'
import { requireAuth, state } from '@/lib/auth'
import { revokeSessionAction, signOutAction } from '../actions'

const when = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'

// The signed-in user's sessions (this one marked), each with a revoke button, and "sign out
// everywhere": Server Actions through the polyauth helpers (revokeSession, signOut).
export default async function SessionsPage({ searchParams }: { searchParams: Promise<{ error?: string | string[] }> }) {
  const session = await requireAuth({ next: '/sessions' })
  const { error } = await searchParams
  const listed = await (await state()).sessions.list(session.subject)
  return (
    <main>
      <h1>Your sessions</h1>
      {typeof error === 'string' ? (
        <p role="alert" id="error" data-code={error}>
          Could not revoke that session ({error}).
        </p>
      ) : null}
      <ul id="sessions">
        {listed.map((s) => (
          <li key={s.sessionId} data-session-id={s.sessionId} data-current={s.sessionId === session.sessionId ? 'true' : 'false'}>
            {s.sessionId === session.sessionId ? <strong>This device</strong> : 'Another device'}:{' '}
            {String(s.meta.user_agent ?? 'unknown browser')}, signed in {when(s.createdAt)}, last used {when(s.lastUsedAt)}
            <form action={revokeSessionAction}>
              <input type="hidden" name="session_id" value={s.sessionId} />
              <button type="submit">Revoke</button>
            </form>
          </li>
        ))}
      </ul>
      <form action={signOutAction} id="sign-out-everywhere">
        <input type="hidden" name="everywhere" value="1" />
        <button type="submit">Sign out everywhere</button>
      </form>
      <p>
        <Link href="/dashboard">Dashboard</Link>
      </p>
    </main>
  )
}
