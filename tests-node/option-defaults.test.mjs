// Options are the core's (polyauth_core::options): the defaults the TypeScript option types
// document are the ones the core applies, every option the core reads is declared there, and a
// bad value is the core's `invalid_config` naming the option in camelCase.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PolyauthError, RemoteKeySet, Sessions, Store, Throttle, Tokens, KeySet, Totp } from 'polyauth'
import { expectCode } from './helpers.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const native = createRequire(import.meta.url)(join(root, 'bindings-node', 'native.js'))
const DEFAULTS = native.optionDefaults()
const TS_DIR = join(root, 'bindings-node', 'ts')
const SOURCES = readdirSync(TS_DIR)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join(TS_DIR, f), 'utf8'))
  .join('\n')

/** Core type (or `Type.method`) → the TypeScript interface of its options. */
const INTERFACES = {
  PasswordHasher: 'HasherOptions',
  PasswordPolicy: 'PolicyOptions',
  Totp: 'TotpOptions',
  Tokens: 'TokensOptions',
  RemoteKeySet: 'RemoteKeySetOptions',
  Sessions: 'SessionsOptions',
  Throttle: 'ThrottleOptions',
  Mfa: 'MfaOptions',
  'Store.open': 'OpenOptions',
}
// Positional in both languages rather than an option.
const POSITIONAL = new Set(['Store.open.url'])

const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

/** The TSDoc comment of each property of `name`, whitespace collapsed. */
function properties(name) {
  const m = SOURCES.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))
  assert.ok(m, `interface ${name} not found`)
  const docs = new Map()
  for (const p of m[1].matchAll(/\/\*\*([\s\S]*?)\*\/\s*(?:readonly\s+)?([A-Za-z0-9]+)\??:/g)) {
    docs.set(p[2], p[1].replace(/\s*\*\s*/g, ' ').replace(/\s+/g, ' '))
  }
  return docs
}

/** How a TSDoc comment writes `value`. */
function shown(value) {
  if (typeof value === 'string') return `'${value}'`
  return String(value)
}

describe('option types document the core defaults', () => {
  for (const [type, iface] of Object.entries(INTERFACES)) {
    test(`${iface} (${type})`, () => {
      const docs = properties(iface)
      for (const [option, value] of Object.entries(DEFAULTS[type])) {
        if (POSITIONAL.has(`${type}.${option}`)) continue
        const doc = docs.get(camel(option))
        assert.ok(doc !== undefined, `${iface}.${camel(option)} has no TSDoc`)
        const m = doc.match(/default:? `?([^,;)`\s]+)/)
        assert.ok(m, `${iface}.${camel(option)}: no default in "${doc}"`)
        assert.equal(m[1], shown(value), `${iface}.${camel(option)}`)
      }
    })
  }

  test('every configurable type is covered', () => {
    const configurable = Object.keys(DEFAULTS).filter((k) => !k.includes('.') || k === 'Store.open')
    assert.deepEqual(configurable.sort(), Object.keys(INTERFACES).sort())
  })
})

const store = await Store.open('memory://')

describe('the core judges options objects', () => {
  const tokens = new Tokens(KeySet.generate(), { issuer: 'i', audience: 'a' })

  test('a misspelt option is invalid_config, not ignored', async () => {
    await expectCode(PolyauthError, () => new Throttle(store, { freeAttempt: 3 }), 'invalid_config', 'misspelt')
    await expectCode(PolyauthError, () => new Sessions(store, tokens, { reuse_grace: 3 }), 'invalid_config', 'snake_case')
  })

  test('the message names the option as the caller spelt it', () => {
    assert.throws(() => new Throttle(store, { freeAttempts: -1 }), /freeAttempts/)
    assert.throws(() => new RemoteKeySet('https://example.com/jwks', { timeout: 0 }), /timeout/)
  })

  test('undefined and null are the default', () => {
    assert.equal(new Sessions(store, tokens, { reuseGrace: undefined, idleTtl: null }).idleTtl, DEFAULTS.Sessions.idle_ttl)
    assert.equal(new Totp({ algorithm: undefined }).algorithm, DEFAULTS.Totp.algorithm)
  })

  test('fractional seconds are the core rule for timeout', () => {
    assert.equal(new RemoteKeySet('https://example.com/jwks', { timeout: 0.25 }).native.timeoutMs, 250)
  })
})
