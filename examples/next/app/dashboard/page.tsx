import { requireAuth } from '@/lib/auth'
import Link from 'next/link'
import { signOutAction } from '../actions'
import { ApiCheck } from './api-check'

// requireAuth() redirects anonymous visitors to /sign-in?next=/dashboard.
export default async function Dashboard() {
  const session = await requireAuth({ next: '/dashboard' })
  return (
    <main>
      <h1>Dashboard</h1>
      <p>
        signed in as <span id="subject">{session.subject}</span> ({session.amr.join(', ')})
      </p>
      <ApiCheck />
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
