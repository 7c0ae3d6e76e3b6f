import { accessToken } from '@/lib/auth'
import { addNoteAction } from '../actions'

type Notes = { subject: string; session_id: string | null; amr: string[]; notes: string[] }

// A Server Component calling the FastAPI backend as the user (POLYAUTH_API_URL, the full-stack
// demo): the bearer is this request's access token; the API verifies it with the shared keys.
export async function ApiNotes({ api }: { api: string }) {
  const token = await accessToken()
  const response = await fetch(`${api}/api/notes`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' })
  const body = (await response.json()) as Notes & { code?: string }
  return (
    <section id="api">
      <h2>Notes (from the API)</h2>
      {response.ok ? (
        <>
          <p>
            The API sees <span id="api-subject">{body.subject}</span>, session <span id="api-session">{body.session_id}</span>, signed in
            with <span id="api-amr">{body.amr.join(', ')}</span>.
          </p>
          <ul id="notes">
            {body.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
          <form action={addNoteAction} id="add-note">
            <input name="text" id="note-text" required maxLength={500} />
            <button type="submit">Add a note</button>
          </form>
        </>
      ) : (
        <p id="api-error" data-code={body.code}>
          The API refused: {body.code}
        </p>
      )}
    </section>
  )
}
