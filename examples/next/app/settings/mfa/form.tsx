'use client'
import { useActionState } from 'react'

type Enrollment = { secret: string; uri: string; qr_svg: string }
type MfaState = { enrollment?: Enrollment; recoveryCodes?: string[]; code?: string; error?: string }

/** POSTs JSON to a polyauth route handler (same origin: the cookies go along, and come back replaced on confirm). */
async function call(path: string, body: unknown): Promise<{ ok: boolean; data: Record<string, unknown> }> {
  const response = await fetch(`/api/auth/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { ok: response.ok, data: (await response.json()) as Record<string, unknown> }
}

/** Starts enrollment, then confirms it with a code from the authenticator app. */
async function step(previous: MfaState, form: FormData): Promise<MfaState> {
  if (previous.enrollment === undefined) {
    const { ok, data } = await call('mfa/enroll', {})
    if (!ok) return { code: String(data.code), error: String(data.detail) }
    return { enrollment: data as unknown as Enrollment }
  }
  const { ok, data } = await call('mfa/confirm', { code: String(form.get('code') ?? '') })
  if (!ok) return { enrollment: previous.enrollment, code: String(data.code), error: String(data.detail) }
  // The server replaced the session (new cookies, amr pwd+otp); the codes are shown this once.
  return { recoveryCodes: data.recovery_codes as string[] }
}

export function MfaForm() {
  const [state, action, pending] = useActionState<MfaState, FormData>(step, {})
  if (state.recoveryCodes) {
    return (
      <section>
        <p id="mfa-enabled">Two-factor authentication is on. Keep these recovery codes somewhere safe; they are shown once:</p>
        <ol id="recovery-codes">
          {state.recoveryCodes.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ol>
      </section>
    )
  }
  return (
    <form action={action} id="mfa">
      {state.error ? (
        <p role="alert" id="error" data-code={state.code}>
          {state.error}
        </p>
      ) : null}
      {state.enrollment ? (
        <>
          {/* eslint-disable-next-line @next/next/no-img-element -- an inline SVG data URL */}
          <img alt="QR code for your authenticator app" width={200} height={200} src={`data:image/svg+xml;utf8,${encodeURIComponent(state.enrollment.qr_svg)}`} />
          <p>
            Secret: <code id="mfa-secret">{state.enrollment.secret}</code>
          </p>
          <p>
            URI: <code id="mfa-uri">{state.enrollment.uri}</code>
          </p>
          <label>
            Code from the app <input name="code" id="mfa-code" inputMode="numeric" autoComplete="one-time-code" required />
          </label>
        </>
      ) : null}
      <button type="submit" disabled={pending}>
        {state.enrollment ? 'Confirm' : 'Set up an authenticator app'}
      </button>
    </form>
  )
}
