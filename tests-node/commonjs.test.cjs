// The CommonJS entry point: `require('polyauth')` (package self-reference).
const { test } = require('node:test')
const assert = require('node:assert/strict')

const polyauth = require('polyauth')
const { PasswordHasher, PasswordPolicy, PolyauthError, ERROR_CODES } = polyauth

test('require("polyauth") exposes the API', () => {
  assert.equal(typeof PasswordHasher, 'function')
  assert.equal(typeof PasswordPolicy, 'function')
  assert.equal(typeof PolyauthError, 'function')
  assert.ok(Array.isArray(ERROR_CODES) && ERROR_CODES.includes('invalid_hash'))
})

test('hash / verify round trip', async () => {
  const hasher = new PasswordHasher()
  const h = await hasher.hash('commonjs pässword')
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  assert.equal(await hasher.verify(h, 'commonjs pässword'), true)
  assert.equal(await hasher.verify(h, 'commonjs password'), false)
  assert.equal(hasher.verifySync(hasher.hashSync('sync'), 'sync'), true)
})

test('errors are PolyauthError instances', async () => {
  const hasher = new PasswordHasher()
  await assert.rejects(hasher.verify('not a hash', 'x'), (e) => {
    assert.ok(e instanceof PolyauthError)
    assert.ok(e instanceof Error)
    assert.equal(e.code, 'invalid_hash')
    return true
  })
  assert.throws(() => new PasswordHasher({ memoryKib: 4096 }), (e) => e instanceof PolyauthError && e.code === 'invalid_config')
})

test('ESM and CommonJS share one PolyauthError class', async () => {
  const esm = await import('polyauth')
  assert.equal(esm.PolyauthError, PolyauthError)
  assert.equal(esm.PasswordHasher, PasswordHasher)
  assert.equal(esm.default, polyauth)
  const err = await new esm.PasswordHasher().verify('', 'x').catch((e) => e)
  assert.ok(err instanceof PolyauthError)
  assert.equal(err.code, 'invalid_hash')
})
