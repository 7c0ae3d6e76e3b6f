import { SignInForm } from './form'

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next } = await searchParams
  return (
    <main>
      <h1>Sign in</h1>
      <SignInForm next={typeof next === 'string' ? next : '/'} />
    </main>
  )
}
