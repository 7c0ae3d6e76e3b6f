'use client'
import { useActionState } from 'react'
import { signUpAction, type SignUpState } from '../actions'

export function SignUpForm() {
  const [state, action, pending] = useActionState<SignUpState, FormData>(signUpAction, {})
  return (
    <form action={action} id="sign-up">
      {state.error ? (
        <p role="alert" id="error" data-code={state.code}>
          {state.error}
        </p>
      ) : null}
      <label>
        Email <input name="login" id="login" autoComplete="username" required />
      </label>
      <label>
        Password (15 characters or more) <input name="password" id="password" type="password" autoComplete="new-password" required />
      </label>
      <button type="submit" disabled={pending}>
        Create account
      </button>
    </form>
  )
}
