import Link from 'next/link'
import { SignInForm } from './form'

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next } = await searchParams
  return (
    <main>
      <h1>Sign in</h1>
      <SignInForm next={typeof next === 'string' ? next : '/'} />
      <p>
        New here? <Link href="/sign-up">Create an account</Link>
      </p>
    </main>
  )
}
