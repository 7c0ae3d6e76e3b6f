'use client'
// Calls the app's own API from the browser: createAuthFetch refreshes once on a 401 (one tab at a
// time, under a Web Lock) and retries; the guarded Server Action refreshes inline on the server.
import { useState } from 'react'
import { createAuthFetch } from 'polyauth/next/client'
import { whoAmIAction } from '../actions'

const authFetch = createAuthFetch({ onSignedOut: () => window.location.assign('/sign-in?next=/dashboard') })

export function ApiCheck() {
  const [api, setApi] = useState('')
  const [viaAction, setViaAction] = useState('')
  return (
    <section>
      <button
        id="call-api"
        type="button"
        onClick={async () => {
          const response = await authFetch('/api/profile')
          const body = (await response.json()) as { subject?: string; code?: string }
          setApi(response.ok ? `ok ${body.subject}` : `error ${body.code}`)
        }}
      >
        Call the API
      </button>
      <span id="api-result">{api}</span>
      <button
        id="call-action"
        type="button"
        onClick={async () => {
          const result = await whoAmIAction()
          setViaAction(result.ok ? `ok ${result.data.subject}` : `error ${result.code}`)
        }}
      >
        Call a Server Action
      </button>
      <span id="action-result">{viaAction}</span>
    </section>
  )
}
