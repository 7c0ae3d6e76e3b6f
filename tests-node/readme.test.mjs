// Every ```js block of the README runs as written (the quickstarts stay runnable).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const blocks = [...readFileSync(path.join(root, 'README.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])

test('README has a Node quickstart', () => {
  assert.ok(blocks.length >= 1)
})

blocks.forEach((code, i) => {
  test(`README js block ${i} runs`, () => {
    // Inside the package directory, so `import 'polyauth'` resolves by self-reference.
    const file = path.join(root, 'tests-node', `.readme-block-${i}.mjs`)
    writeFileSync(file, code)
    try {
      // The token quickstart loads its keys from the environment, as a deployment would.
      const jwks = JSON.parse(readFileSync(path.join(root, 'vectors', 'tokens.json'), 'utf8')).keys.EdDSA
      // A scratch working directory: the store quickstart creates polyauth.db in it.
      const cwd = mkdtempSync(path.join(tmpdir(), 'polyauth-readme-'))
      try {
        execFileSync(process.execPath, [file], { stdio: 'pipe', cwd, env: { ...process.env, POLYAUTH_JWKS: JSON.stringify(jwks) } })
      } finally {
        rmSync(cwd, { recursive: true, force: true })
      }
    } finally {
      rmSync(file, { force: true })
    }
  })
})
