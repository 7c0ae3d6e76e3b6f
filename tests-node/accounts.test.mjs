// Built-in accounts (FRAMEWORKS.md §4, issue 10) over every store backend: memory, SQLite (a
// temporary file), PostgreSQL and Redis, each test on a fresh polyauth_namespace. Mirrors
// tests-python/test_accounts.py and core/tests/accounts.rs: login normalisation, unique logins
// (also under a race), imported hashes upgraded at the first sign-in, the policy, account changes,
// and typed errors for bad arguments. Argon2 is slow on purpose: each test hashes only a few times.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { Accounts, KeySet, PasswordHasher, PasswordPolicy, PolyauthError, Sessions, SignIn, Store, Tokens } from 'polyauth'
import { decodeJwt, expectCode, loadProjectVectors, storeBackends } from './helpers.mjs'

const BACKENDS = await storeBackends(Store)
const PASSWORD = 'plum-cactus-orbit-lantern-42'
const HASHER = new PasswordHasher()
const TOKENS = new Tokens(KeySet.generate('EdDSA'), { issuer: 'https://issuer.test', audience: 'api' })
const VECTORS = Object.fromEntries(loadProjectVectors('passwords.json').verify.map((c) => [c.id, c]))
const SUBJECT_RE = /^[A-Za-z0-9_-]{22}$/

const unique = (prefix = 'user') => `${prefix}-${randomBytes(6).toString('hex')}`
const newLogin = () => `${unique()}@example.com`
const expectErr = (fn, code, message) => expectCode(PolyauthError, fn, code, message)

/** Runs `n` calls of `f` at once: `{ ok: [values], errors: [reasons] }`. */
async function race(n, f) {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => f(i)))
  return {
    ok: results.filter((r) => r.status === 'fulfilled').map((r) => r.value),
    errors: results.filter((r) => r.status === 'rejected').map((r) => r.reason),
  }
}

describe('Accounts over every store backend', { concurrency: true }, () => {
  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip, concurrency: true }, () => {
      const open = async () => {
        const store = await Store.open(backend.url())
        assert.equal(store.backend, backend.name)
        return { store, accounts: new Accounts(store, HASHER) }
      }

      test('create, get and find with normalised logins (case, width, spaces); account_exists for any spelling', async () => {
        const { accounts } = await open()
        const local = unique('jane')
        const before = Math.floor(Date.now() / 1000)
        const a = await accounts.create(`  ${local.toUpperCase()}@Example.COM\t`, PASSWORD, { roles: ['admin'], tenant: 7 })
        assert.deepEqual(Object.keys(a).sort(), ['claims', 'createdAt', 'disabled', 'login', 'subject', 'verified'])
        assert.equal(Object.getPrototypeOf(a), Object.prototype, 'a plain object')
        assert.match(a.subject, SUBJECT_RE)
        assert.equal(a.login, `${local}@example.com`)
        assert.deepEqual([a.verified, a.disabled], [false, false])
        assert.deepEqual(a.claims, { roles: ['admin'], tenant: 7 })
        assert.ok(a.createdAt >= before && a.createdAt <= before + 60)
        assert.ok(!JSON.stringify(a).includes('argon2') && !util.inspect(a).includes('argon2'))

        assert.deepEqual(await accounts.get(a.subject), a)
        // Full-width letters and the ideographic space are the ASCII login.
        const wide = [...`${local}@example.com`].map((c) => (c === '-' ? c : String.fromCodePoint(c.codePointAt(0) + 0xfee0))).join('')
        for (const spelling of [a.login, a.login.toUpperCase(), ` ${a.login} `, `\u3000${wide}`]) {
          assert.deepEqual(await accounts.find(spelling), a, JSON.stringify(spelling))
          await expectErr(() => accounts.create(spelling, PASSWORD), 'account_exists', JSON.stringify(spelling))
        }
        assert.equal(await accounts.get(unique('nobody')), null)
        assert.equal(await accounts.find(newLogin()), null)
        assert.equal(Accounts.normalizeLogin(`\u3000${wide} `), a.login)
      })

      test('20 concurrent registrations of one login: exactly one account, 19 account_exists', async () => {
        const { accounts } = await open()
        const login = newLogin()
        const { ok, errors } = await race(20, (i) => accounts.create(i % 2 ? login.toUpperCase() : ` ${login}`, PASSWORD))
        assert.equal(ok.length, 1, errors.map((e) => e.message).join('; '))
        assert.equal(errors.length, 19)
        for (const e of errors) {
          assert.ok(e instanceof PolyauthError, String(e))
          assert.equal(e.code, 'account_exists')
        }
        assert.deepEqual(await accounts.find(login), ok[0])
      })

      test('policy errors carry reasons; setPassword, markVerified, disable, updateClaims; unknown subjects are invalid_input', async () => {
        const { accounts } = await open()
        const login = newLogin()
        const local = login.split('@')[0]
        const short = await expectErr(() => accounts.create(login, 'short'), 'password_policy')
        assert.deepEqual(short.reasons, ['too_short'])
        assert.ok(!short.message.includes('short'.repeat(2)))
        const context = await expectErr(() => accounts.create(login, `${local}-orbit-lantern`), 'password_policy')
        assert.ok(context.reasons.includes('contains_context_word'), context.reasons.join())
        assert.ok(!context.message.includes(local), 'the message does not quote the password')
        assert.equal(await accounts.find(login), null, 'a refused password creates nothing')

        const a = await accounts.create(login, PASSWORD)
        assert.deepEqual(a.claims, {})
        await expectErr(() => accounts.setPassword(a.subject, 'password123'), 'password_policy')
        const changed = await accounts.setPassword(a.subject, 'violet-harbour-quartz-meadow-17')
        assert.deepEqual(changed, a)
        const verified = await accounts.markVerified(a.subject)
        assert.equal(verified.verified, true)
        assert.deepEqual(await accounts.markVerified(a.subject), verified, 'marking again changes nothing')
        const disabled = await accounts.disable(a.subject)
        assert.deepEqual([disabled.verified, disabled.disabled], [true, true])
        const claimed = await accounts.updateClaims(a.subject, { roles: ['ops'], nested: { x: [1, 2] } })
        assert.deepEqual(claimed.claims, { roles: ['ops'], nested: { x: [1, 2] } })
        for (const reserved of ['sub', 'iss', 'exp', 'sid']) {
          await expectErr(() => accounts.updateClaims(a.subject, { [reserved]: 'x' }), 'invalid_input', reserved)
          await expectErr(() => accounts.create(newLogin(), PASSWORD, { [reserved]: 'x' }), 'invalid_input', reserved)
        }
        await expectErr(() => accounts.updateClaims(a.subject, { big: 'x'.repeat(20_000) }), 'invalid_input')
        assert.deepEqual((await accounts.get(a.subject)).claims, claimed.claims, 'refused claims change nothing')

        const ghost = unique('ghost')
        for (const [name, f] of [
          ['setPassword', () => accounts.setPassword(ghost, PASSWORD)],
          ['markVerified', () => accounts.markVerified(ghost)],
          ['disable', () => accounts.disable(ghost)],
          ['updateClaims', () => accounts.updateClaims(ghost, { a: 1 })],
        ]) {
          const e = await expectErr(f, 'invalid_input', name)
          assert.doesNotMatch(e.message, /ghost/, 'the message does not quote the subject')
        }
      })

      test('imported bcrypt, Django, Werkzeug and scrypt hashes sign in and are upgraded to argon2id at the first sign-in', async () => {
        const { store, accounts } = await open()
        const signin = new SignIn(accounts, new Sessions(store, TOKENS))
        const ids = ['bcrypt-2b', 'django-pbkdf2-sha256-10000', 'werkzeug-pbkdf2-sha256-10000', 'werkzeug-scrypt-16384-8-1', 'better-auth-scrypt-ascii']
        await Promise.all(
          ids.map(async (id) => {
            const v = VECTORS[id]
            assert.ok(v, id)
            const login = newLogin()
            const a = await accounts.create(login, { passwordHash: v.hash }, { imported: id })
            await expectErr(() => signin.password(login, v.wrong[0]), 'invalid_credentials', `${id} wrong`)
            const r = await signin.password(login, v.password)
            assert.equal(r.status, 'ok', id)
            assert.equal(decodeJwt(r.pair.accessToken).payload.sub, a.subject)
            assert.equal(decodeJwt(r.pair.accessToken).payload.imported, id)
          }),
        )

        // bcrypt only reads 72 bytes: before the upgrade a password sharing them verifies, after
        // it (argon2id of the whole password) it no longer does.
        const v = VECTORS['bcrypt-2b-72-byte-truncation']
        const [sameFirst72] = v.also_verifies.filter((p) => p !== v.password && p.length > 72)
        assert.ok(sameFirst72)
        const untouched = newLogin()
        await accounts.create(untouched, { passwordHash: v.hash })
        assert.equal((await signin.password(untouched, sameFirst72)).status, 'ok', 'bcrypt semantics before the upgrade')
        const login = newLogin()
        await accounts.create(login, { passwordHash: v.hash })
        assert.equal((await signin.password(login, v.password)).status, 'ok')
        await expectErr(() => signin.password(login, sameFirst72), 'invalid_credentials', 'after the upgrade')
        assert.equal((await signin.password(login, v.password)).status, 'ok')

        for (const bad of ['not a hash', '$2b$10$short', '', 'x'.repeat(1 << 20)]) {
          await expectErr(() => accounts.create(newLogin(), { passwordHash: bad }), 'invalid_hash', bad.slice(0, 20))
        }
      })
    })
  }
})

const ARG_STORE = await Store.open('memory://')

describe('Accounts arguments', () => {
  const store = ARG_STORE
  const accounts = new Accounts(store, HASHER, new PasswordPolicy({ minLength: 8 }))

  test('bad logins are invalid_input without quoting them: empty, blank, NUL, controls, invisible, 1 MB', async () => {
    for (const bad of ['', '   ', 'a\0b', 'a\u0007b', 'ad\u200Bmin', '\uFEFFadmin', 'admin\u202E', 'x'.repeat(321), 'x'.repeat(1 << 20)]) {
      const shown = JSON.stringify(bad.slice(0, 12))
      const e = await expectErr(() => accounts.create(bad, PASSWORD), 'invalid_input', shown)
      assert.ok(!e.message.includes('admin') && !e.message.includes('xxxx'), e.message)
      await expectErr(() => accounts.find(bad), 'invalid_input', shown)
      assert.throws(() => Accounts.normalizeLogin(bad), (err) => err instanceof PolyauthError && err.code === 'invalid_input', shown)
    }
    assert.equal(Accounts.normalizeLogin('x'.repeat(320)), 'x'.repeat(320))
  })

  test('lone surrogates are invalid_input in every string argument', async () => {
    const a = await accounts.create(newLogin(), PASSWORD)
    for (const s of ['victim\uD800', '\uDC00x', 'a\uDBFFb']) {
      const calls = [
        () => accounts.create(s, PASSWORD),
        () => accounts.create(newLogin(), s),
        () => accounts.create(newLogin(), { passwordHash: s }),
        () => accounts.get(s),
        () => accounts.find(s),
        () => accounts.setPassword(s, PASSWORD),
        () => accounts.setPassword(a.subject, `${s}-long-enough`),
        () => accounts.markVerified(s),
        () => accounts.disable(s),
        () => accounts.updateClaims(s, {}),
        () => Accounts.normalizeLogin(s),
      ]
      for (const f of calls) {
        const e = await expectErr(f, 'invalid_input', f.toString())
        assert.doesNotMatch(e.message, /victim/)
      }
    }
    assert.deepEqual(await accounts.get(a.subject), a, 'nothing changed')
  })

  test('empty and oversized subjects and passwords are invalid_input', async () => {
    const a = await accounts.create(newLogin(), PASSWORD)
    for (const f of [() => accounts.get(''), () => accounts.disable(''), () => accounts.get('s'.repeat(1 << 20)), () => accounts.markVerified('s\0')]) {
      await expectErr(f, 'invalid_input', f.toString())
    }
    await expectErr(() => accounts.create(newLogin(), 'p'.repeat(1 << 20)), 'invalid_input', '1 MB password')
    await expectErr(() => accounts.setPassword(a.subject, 'p'.repeat(1 << 20)), 'invalid_input', '1 MB password')
  })

  test('wrong types are TypeErrors, never a crash', async () => {
    const a = await accounts.create(newLogin(), PASSWORD)
    const calls = [
      () => accounts.create(42, PASSWORD),
      () => accounts.create(newLogin(), 42),
      () => accounts.create(newLogin(), null),
      () => accounts.create(newLogin(), { passwordHash: 5 }),
      () => accounts.create(newLogin(), new Uint8Array(4)),
      () => accounts.create(newLogin(), PASSWORD, 'claims'),
      () => accounts.create(newLogin(), PASSWORD, [1, 2]),
      () => accounts.get(undefined),
      () => accounts.find({}),
      () => accounts.setPassword(a.subject, 12345678),
      () => accounts.updateClaims(a.subject, 'x'),
      () => accounts.updateClaims(a.subject, null),
      () => accounts.updateClaims(a.subject, [1]),
      () => Accounts.normalizeLogin(7),
    ]
    for (const f of calls) {
      await assert.rejects(async () => f(), TypeError, f.toString())
    }
    assert.throws(() => new Accounts({}, HASHER), TypeError)
    assert.throws(() => new Accounts(store, {}), TypeError)
    assert.throws(() => new Accounts(store, HASHER, {}), TypeError)
  })

  test('util.inspect of Accounts and of an account shows no hash', async () => {
    const a = await accounts.create(newLogin(), PASSWORD)
    assert.equal(util.inspect(accounts), "Accounts { backend: 'memory' }")
    const shown = util.inspect(a, { showHidden: true, depth: 5 })
    assert.ok(shown.includes(a.subject) && !shown.includes('$argon2'), shown)
  })
})
