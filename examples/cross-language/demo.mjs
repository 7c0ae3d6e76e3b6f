// Cross-language demo, Node side: passwords, access tokens, sessions, MFA and accounts, driven by run.sh.
import { Accounts, KeySet, Mfa, PasswordHasher, PolyauthError, Sessions, SignIn, Store, Tokens, Totp } from 'polyauth'

const ISSUER = 'https://demo.polyauth.dev'
const AUDIENCE = 'demo-api'
const [command, ...args] = process.argv.slice(2)
const tokens = () => new Tokens(KeySet.load({ path: args[0] }), { issuer: ISSUER, audience: AUDIENCE })

if (command === 'hash') {
  console.log(JSON.stringify({ hash: await new PasswordHasher().hash(args[0]) }))
} else if (command === 'verify') {
  const [stored, password] = args
  console.log(JSON.stringify({ valid: await new PasswordHasher().verify(stored, password) }))
} else if (command === 'issue') {
  console.log(JSON.stringify({ token: tokens().issue(args[1], { claims: { scope: 'read', amr: ['pwd'] } }) }))
} else if (command === 'verify-token') {
  console.log(JSON.stringify({ claims: tokens().verify(args[1]) }))
} else if (command === 'totp-code') {
  // The user's authenticator app, played by Node: it only needs the otpauth URI.
  const { secret } = Totp.parseUri(args[0])
  console.log(JSON.stringify({ code: new Totp({ issuer: 'polyauth demo' }).code(secret) }))
} else if (command === 'session-refresh') {
  // Sessions on the embedded SQLite default: the file is shared with the Python side.
  const sessions = new Sessions(await Store.open(`sqlite://${args[1]}`), tokens())
  try {
    const pair = await sessions.refresh(args[2])
    console.log(JSON.stringify({ session_id: pair.sessionId, refresh_token: pair.refreshToken }))
  } catch (e) {
    if (!(e instanceof PolyauthError)) throw e
    console.log(JSON.stringify({ error: e.code }))
  }
} else if (command.startsWith('mfa-')) {
  // The second factor on the shared SQLite store; the secret is kept encrypted with the key.
  const [db, key, subject, arg] = args
  const mfa = new Mfa(await Store.open(`sqlite://${db}`), new Totp({ issuer: 'polyauth demo' }), { encryptionKey: key })
  try {
    if (command === 'mfa-confirm') {
      console.log(JSON.stringify({ count: (await mfa.confirm(subject, arg)).length }))
    } else if (command === 'mfa-recovery-codes') {
      // A fresh set (the ones `confirm` returned were shown once and are gone).
      console.log(JSON.stringify({ first: (await mfa.regenerateRecoveryCodes(subject))[0] }))
    } else if (command === 'mfa-recovery') {
      console.log(JSON.stringify({ remaining: await mfa.verifyRecoveryCode(subject, arg) }))
    }
  } catch (e) {
    if (!(e instanceof PolyauthError)) throw e
    console.log(JSON.stringify({ error: e.code }))
  }
} else if (command.startsWith('account-')) {
  // Built-in accounts and the sign-in flow on the shared SQLite store.
  const [, db, a, b] = args
  const store = await Store.open(`sqlite://${db}`)
  const accounts = new Accounts(store, new PasswordHasher())
  const t = tokens()
  const signIn = new SignIn(accounts, new Sessions(store, t))
  try {
    if (command === 'account-create') {
      console.log(JSON.stringify({ subject: (await accounts.create(a, b)).subject }))
    } else if (command === 'account-signin') {
      const result = await signIn.password(a, b)
      if (result.status === 'ok') {
        const claims = t.verify(result.pair.accessToken)
        console.log(JSON.stringify({ status: 'ok', subject: claims.sub, amr: claims.amr.join(',') }))
      } else {
        console.log(JSON.stringify({ status: result.status }))
      }
    } else if (command === 'account-reset-request') {
      console.log(JSON.stringify({ token: await signIn.requestPasswordReset(a) }))
    } else if (command === 'account-reset') {
      console.log(JSON.stringify({ subject: await signIn.resetPassword(a, b) }))
    } else {
      console.error(`unknown command ${command}`)
      process.exit(2)
    }
  } catch (e) {
    if (!(e instanceof PolyauthError)) throw e
    console.log(JSON.stringify({ error: e.code }))
  }
} else {
  console.error(`unknown command ${command}`)
  process.exit(2)
}
