import { auth } from '@/lib/auth'

// auth() reads the cookies of this request (read-only): the page renders per request.
export default async function Home() {
  const state = await auth()
  return (
    <main>
      <h1>polyauth + Next.js</h1>
      <p>
        status: <span id="status">{state.status}</span>
      </p>
      {state.session ? (
        <p>
          signed in as <span id="subject">{state.session.subject}</span> ({state.session.amr.join(', ')})
        </p>
      ) : (
        <p>not signed in</p>
      )}
    </main>
  )
}
