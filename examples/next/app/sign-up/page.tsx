import Link from 'next/link'
import { SignUpForm } from './form'

export default function SignUpPage() {
  return (
    <main>
      <h1>Create an account</h1>
      <SignUpForm />
      <p>
        Already have one? <Link href="/sign-in">Sign in</Link>
      </p>
    </main>
  )
}
