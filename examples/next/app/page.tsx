import Link from 'next/link'
import { accessToken, auth } from '@/lib/auth'

// auth() reads the cookies of this request (read-only): the page renders per request.
export default async function Home() {
  const state = await auth()
  // The bearer to call an API (a FastAPI backend) as this user; never rendered.
  const token = await accessToken()
  return (
    <main>
      <h1>polyauth + Next.js</h1>
      <p>
        status: <span id="status">{state.status}</span>
      </p>
      <p>
        API token: <span id="token">{token ? 'yes' : 'no'}</span>
      </p>
      {state.session ? (
        <p>
          signed in as <span id="subject">{state.session.subject}</span> ({state.session.amr.join(', ')})
        </p>
      ) : (
        <p>not signed in</p>
      )}
      <Link href="/dashboard" id="dashboard-link">
        Dashboard
      </Link>
    </main>
  )
}
