import { requireAuth } from '@/lib/auth'
import Link from 'next/link'
import { signOutAction } from '../actions'
import { ApiCheck } from './api-check'
import { ApiNotes } from './api-notes'

// requireAuth() redirects anonymous visitors to /sign-in?next=/dashboard.
export default async function Dashboard() {
  const session = await requireAuth({ next: '/dashboard' })
  // The full-stack demo's FastAPI backend, when configured (read per request, not at build time).
  return (
    <main>
      <h1>Dashboard</h1>
      <p>
        signed in as <span id="subject">{session.subject}</span> ({session.amr.join(', ')})
      </p>
      <ApiCheck />
      {process.env.POLYAUTH_API_URL ? <ApiNotes api={process.env.POLYAUTH_API_URL} /> : null}
      <nav>
        <Link href="/" id="home-link">
          Home
        </Link>{' '}
        <Link href="/sessions" id="sessions-link">
          Your sessions
        </Link>{' '}
        <Link href="/settings/mfa" id="mfa-link">
          Two-factor authentication
        </Link>
      </nav>
      <form action={signOutAction} id="sign-out">
        <button type="submit">Sign out</button>
      </form>
      <form action={signOutAction} id="sign-out-everywhere">
        <input type="hidden" name="everywhere" value="1" />
        <button type="submit">Sign out everywhere</button>
      </form>
    </main>
  )
}
