// Wycheproof json_web_signature_test.json through the public JWS verifier (DESIGN.md §7 JWT-1 ..
// JWT-9, §8): each group's key (public if present, else private) is imported with
// KeySet.fromJwks, pinned to its own `alg`, and every case's `jws` goes through verifyJws.
// A key that fails to import counts as a rejection. One test per tcId.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { KeySet, PolyauthError } from 'polyauth'
import { loadSharedVectors, requireShared } from './helpers.mjs'

/**
 * Upstream cases with contradictory labels (vectors/README.md). Skipped with the reason; the
 * behaviour we implement is the one stated after the dash.
 */
const DEFECTIVE = {
  346: 'labelled valid, but the JWS header says PS384 while the group key is pinned to PS256 — the key fixes the algorithm (JWT-2), so polyauth rejects it',
  350: 'labelled valid, but the JWS header says PS384 while the group key (key_ops verify) is pinned to PS256 — the key fixes the algorithm (JWT-2), so polyauth rejects it',
  357: 'labelled valid, yet byte-identical to tcIds 367 and 370, which are labelled invalid; the JWS is a canonical HS256 token and polyauth accepts it',
  367: "labelled invalidBase64Padding, but the JWS is byte-identical to tcId 357 (valid) and contains no padding — polyauth accepts it",
  370: "labelled invalidBase64PaddingInPayload, but the JWS is byte-identical to tcId 357 (valid) and contains no padding — polyauth accepts it",
  372: "labelled valid, but a '?' is inserted in the header segment, which is not base64url (JWT-9) — polyauth rejects it",
  373: "labelled valid, but a '?' is inserted in the payload segment, which is not base64url (JWT-9) — polyauth rejects it",
}

const v = loadSharedVectors('wycheproof/json_web_signature_test.json')
const groups = v.data?.testGroups ?? []

/** Runs one case: `{ ok: true, payload }` or `{ ok: false, error }`. */
function run(group, c) {
  const key = group.public ?? group.private
  let keys
  try {
    keys = KeySet.fromJwks(key)
  } catch (error) {
    return { ok: false, stage: 'import', error }
  }
  const jws = typeof c.jws === 'string' ? c.jws : JSON.stringify(c.jws)
  try {
    return { ok: true, payload: keys.verifyJws(jws).payload }
  } catch (error) {
    return { ok: false, stage: 'verify', error }
  }
}

describe('Wycheproof json_web_signature_test.json', () => {
  test('file shape: 401 cases, the defective tcIds exist', { skip: v.skip }, () => {
    const data = requireShared(v)
    const ids = new Set()
    for (const g of data.testGroups) for (const c of g.tests) ids.add(Number(c.tcId))
    assert.equal(ids.size, data.numberOfTests)
    assert.equal(ids.size, 401)
    for (const id of Object.keys(DEFECTIVE)) assert.ok(ids.has(Number(id)), `tcId ${id} missing`)
  })

  test('the defective cases are what the reasons say', { skip: v.skip }, () => {
    const data = requireShared(v)
    const byId = new Map()
    for (const g of data.testGroups) for (const c of g.tests) byId.set(Number(c.tcId), { g, c })
    const header = (id) => JSON.parse(Buffer.from(byId.get(id).c.jws.split('.')[0], 'base64url').toString('utf8'))
    for (const id of [346, 350]) {
      assert.equal(header(id).alg, 'PS384')
      assert.equal((byId.get(id).g.public ?? byId.get(id).g.private).alg, 'PS256')
    }
    assert.equal(byId.get(357).c.jws, byId.get(367).c.jws)
    assert.equal(byId.get(357).c.jws, byId.get(370).c.jws)
    assert.equal(byId.get(357).c.result, 'valid')
    assert.equal(byId.get(367).c.result, 'invalid')
    for (const id of [372, 373]) assert.ok(byId.get(id).c.jws.includes('?'))
    // And polyauth does what the reasons state.
    for (const id of [346, 350, 372, 373]) assert.equal(run(byId.get(id).g, byId.get(id).c).ok, false, `tcId ${id}`)
    for (const id of [357, 367, 370]) assert.equal(run(byId.get(id).g, byId.get(id).c).ok, true, `tcId ${id}`)
  })

  for (const group of groups) {
    for (const c of group.tests) {
      const id = Number(c.tcId)
      const flags = Array.isArray(c.flags) && c.flags.length ? ` [${c.flags.join(',')}]` : ''
      const name = `tcId ${id} ${group.comment}: ${c.comment} (${c.result})${flags}`
      test(name, { skip: DEFECTIVE[id] ?? false }, () => {
        const r = run(group, c)
        if (!r.ok) {
          assert.ok(r.error instanceof PolyauthError, `${r.stage} threw a non-PolyauthError: ${r.error}`)
          assert.notEqual(r.error.code, 'internal_error', `${r.stage}: internal_error (${r.error.message})`)
        }
        if (c.result === 'valid') {
          assert.ok(r.ok, `must verify, but ${r.stage} failed: ${r.error?.code} ${r.error?.message}`)
          assert.deepEqual(r.payload, Buffer.from(c.jws.split('.')[1], 'base64url'))
        } else if (c.result === 'invalid') {
          assert.equal(r.ok, false, 'must be rejected, but verified')
          if (typeof c.jws !== 'string' || c.jws.trimStart().startsWith('{')) {
            assert.equal(r.stage === 'import' || r.error.code === 'invalid_token', true, `JSON serialization: ${r.error.code}`)
          }
        }
      })
    }
  }
})
