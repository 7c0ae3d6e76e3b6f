// Cross-language demo, Node side: hash a password, or verify a hash made by Python.
import { PasswordHasher } from 'polyauth'

const hasher = new PasswordHasher()
const [command, ...args] = process.argv.slice(2)
if (command === 'hash') {
  console.log(JSON.stringify({ hash: await hasher.hash(args[0]) }))
} else if (command === 'verify') {
  const [stored, password] = args
  console.log(JSON.stringify({ valid: await hasher.verify(stored, password) }))
} else {
  console.error(`unknown command ${command}`)
  process.exit(2)
}
