'use client'
import { useActionState } from 'react'
import { signInAction, type SignInState } from '../actions'

export function SignInForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState<SignInState, FormData>(signInAction, {})
  return (
    <form action={action} id="sign-in">
      <input type="hidden" name="next" value={next} />
      {state.error ? (
        <p role="alert" id="error" data-code={state.code}>
          {state.error}
        </p>
      ) : null}
      {state.mfaToken ? (
        <>
          <input type="hidden" name="mfa_token" value={state.mfaToken} />
          <label>
            Authenticator code <input name="code" id="code" inputMode="numeric" autoComplete="one-time-code" required />
          </label>
        </>
      ) : (
        <>
          <label>
            Email <input name="login" id="login" autoComplete="username" required />
          </label>
          <label>
            Password <input name="password" id="password" type="password" autoComplete="current-password" required />
          </label>
        </>
      )}
      <button type="submit" disabled={pending}>
        {state.mfaToken ? 'Verify' : 'Sign in'}
      </button>
    </form>
  )
}
