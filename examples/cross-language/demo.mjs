// Cross-language demo, Node side: passwords and access tokens, driven by run.sh.
import { KeySet, PasswordHasher, PolyauthError, Sessions, Store, Tokens, Totp } from 'polyauth'

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
} else {
  console.error(`unknown command ${command}`)
  process.exit(2)
}
