// The `ErrorCode` union in bindings-node/ts/errors.ts is written by hand (a type cannot be read
// from the addon at compile time); this test fails when it and the core's codes differ, so a code
// added to `polyauth_core::Error::CODES` cannot be missing from the TypeScript type.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ERROR_CODES } from 'polyauth'

test('the ErrorCode union lists exactly the core error codes, in their order', () => {
  const source = readFileSync(new URL('../bindings-node/ts/errors.ts', import.meta.url), 'utf8')
  const union = source.match(/export type ErrorCode =([^]*?)\n\n/)
  assert.ok(union, 'export type ErrorCode = ... not found in bindings-node/ts/errors.ts')
  const declared = [...union[1].matchAll(/\|\s*'([a-z_]+)'/g)].map((m) => m[1])
  const missing = ERROR_CODES.filter((c) => !declared.includes(c))
  const extra = declared.filter((c) => !ERROR_CODES.includes(c))
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'ErrorCode union and core codes differ')
  assert.deepEqual(declared, [...ERROR_CODES])
})
