// RemoteKeySet through the npm package `polyauth` against a local JWKS server: first-use fetch,
// caching, unknown-kid refetch with cooldown, failure handling, timeouts and URL validation
// (DESIGN.md §4 RemoteKeySet, §5, §7 JWT-4), and the JWT-15 hardening: https only unless
// `allowInsecureHttp`, the size cap enforced while streaming, one total deadline, the cooldown
// floor, maxStale, no redirects, one error code (jwks_unavailable), no credentials in inspect or
// messages. The local server is plain HTTP, so tests opt in with `allowInsecureHttp`.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { ERROR_CODES, KeySet, PolyauthError, RemoteKeySet, Tokens } from 'polyauth'
import { expectCode } from './helpers.mjs'

const ISSUER = 'https://issuer.example'
const AUDIENCE = 'api'

/**
 * A JWKS server on 127.0.0.1 whose response the test controls, counting requests per path.
 * `route(path, handler)` sets what a path answers: `{ status, body, headers }`, or `'hang'` to never
 * answer. Unknown paths answer 404.
 */
class JwksServer {
  constructor() {
    this.routes = new Map()
    this.counts = new Map()
    this.auth = new Map()
    this.server = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname
      this.counts.set(path, (this.counts.get(path) ?? 0) + 1)
      this.auth.set(path, req.headers.authorization)
      const r = this.routes.get(path)
      if (r === 'hang') return // never answers; closed in stop()
      if (r && r.raw) return r.raw(req, res)
      if (!r) {
        res.writeHead(404).end('not found')
        return
      }
      const { status = 200, body = '', headers = { 'content-type': 'application/json' }, delayMs = 0 } = typeof r === 'function' ? r() : r
      const answer = () => res.writeHead(status, headers).end(typeof body === 'string' ? body : JSON.stringify(body))
      if (delayMs > 0) setTimeout(answer, delayMs)
      else answer()
    })
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${this.server.address().port}`
  }

  async stop() {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }

  url(path) {
    return `${this.base}${path}`
  }

  count(path) {
    return this.counts.get(path) ?? 0
  }

  /** Serves the public JWKS of `keys` at `path` (a snapshot of the set as it is now). */
  serveKeys(path, keys, options = {}) {
    this.routes.set(path, { body: keys.toJwks(), ...options })
  }

  route(path, r) {
    this.routes.set(path, r)
  }
}

const server = new JwksServer()
before(() => server.start())
after(() => server.stop())

let pathCounter = 0
/** A fresh path per test so counts do not mix. */
const freshPath = (name) => `/${name}-${++pathCounter}/jwks.json`

/** A RemoteKeySet for the local (plain HTTP) server. */
const remoteFor = (url, options = {}) => new RemoteKeySet(url, { allowInsecureHttp: true, ...options })

const tokensFor = (keys) => new Tokens(keys, { issuer: ISSUER, audience: AUDIENCE })

// ---------------------------------------------------------------------------------------------
describe('RemoteKeySet', () => {
  test('verifyAsync fetches on first use; the second call uses the cache', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('first-use')
    server.serveKeys(path, signer)
    const remote = remoteFor(server.url(path))
    assert.equal(remote.url, server.url(path))
    assert.equal(remote.keys, null, 'no keys before the first fetch')
    const verifier = tokensFor(remote)
    const token = tokensFor(signer).issue('user-1')
    assert.equal(server.count(path), 0, 'constructing fetches nothing')

    assert.equal((await verifier.verifyAsync(token)).sub, 'user-1')
    assert.equal(server.count(path), 1, 'first use fetches once')
    assert.deepEqual(remote.keys.kids, signer.kids)

    assert.equal((await verifier.verifyAsync(token)).sub, 'user-1')
    assert.equal((await verifier.verifyAsync(tokensFor(signer).issue('user-2'))).sub, 'user-2')
    assert.equal(server.count(path), 1, 'later calls use the cache')
    // The synchronous verify uses the cached set.
    assert.equal(verifier.verify(token).sub, 'user-1')
    assert.equal(server.count(path), 1)
  })

  test('verify() before any fetch fails without fetching', async () => {
    const signer = KeySet.generate('ES256')
    const path = freshPath('sync-first')
    server.serveKeys(path, signer)
    const verifier = tokensFor(remoteFor(server.url(path)))
    assert.throws(() => verifier.verify(tokensFor(signer).issue('u')), PolyauthError)
    assert.equal(server.count(path), 0, 'verify() never fetches')
  })

  test('verify() before any fetch is unknown_key', async () => {
    const signer = KeySet.generate('ES256')
    const verifier = tokensFor(remoteFor(server.url(freshPath('sync-first-code'))))
    await expectCode(PolyauthError, () => verifier.verify(tokensFor(signer).issue('u')), 'unknown_key')
  })

  test('an unknown kid triggers exactly one refetch; a second unknown kid within the cooldown does not fetch', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('rotate')
    server.serveKeys(path, signer)
    // Cooldown 2 s counts from every fetch attempt, the first one included.
    const remote = remoteFor(server.url(path), { cooldown: 2 })
    const verifier = tokensFor(remote)
    const issuer = tokensFor(signer)
    assert.equal((await verifier.verifyAsync(issuer.issue('a'))).sub, 'a')
    assert.equal(server.count(path), 1)

    // The issuer rotates and publishes the new set; wait out the cooldown of the first fetch.
    const newKid = signer.rotate()
    server.serveKeys(path, signer)
    await sleep(2100)
    const rotatedToken = issuer.issue('b')
    assert.equal((await verifier.verifyAsync(rotatedToken)).sub, 'b')
    assert.equal(server.count(path), 2, 'exactly one refetch for the unknown kid')
    assert.ok(remote.keys.kids.includes(newKid))
    assert.equal((await verifier.verifyAsync(rotatedToken)).sub, 'b')
    assert.equal(server.count(path), 2, 'the new kid is cached now')

    // Another unknown kid right away: no request, unknown_key.
    const stranger = KeySet.generate('EdDSA')
    const strangerToken = tokensFor(stranger).issue('c')
    await expectCode(PolyauthError, () => verifier.verifyAsync(strangerToken), 'unknown_key')
    await expectCode(PolyauthError, () => verifier.verifyAsync(strangerToken), 'unknown_key')
    assert.equal(server.count(path), 2, 'no request within the cooldown')
  })

  test('after the cooldown (1 s) an unknown kid refetches again', async () => {
    const signer = KeySet.generate('ES256')
    const path = freshPath('cooldown')
    server.serveKeys(path, signer)
    const verifier = tokensFor(remoteFor(server.url(path), { cooldown: 1 }))
    assert.equal((await verifier.verifyAsync(tokensFor(signer).issue('a'))).sub, 'a')
    assert.equal(server.count(path), 1)

    const later = KeySet.generate('ES256')
    const laterToken = tokensFor(later).issue('b')
    await sleep(1100)
    await expectCode(PolyauthError, () => verifier.verifyAsync(laterToken), 'unknown_key')
    assert.equal(server.count(path), 2, 'refetched for the unknown kid')

    // The issuer now publishes the key; after the cooldown the next attempt picks it up.
    server.serveKeys(path, later)
    await sleep(1100)
    assert.equal((await verifier.verifyAsync(laterToken)).sub, 'b')
    assert.equal(server.count(path), 3)
  })

  test('the cache expires after cacheTtl', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('ttl')
    server.serveKeys(path, signer)
    const verifier = tokensFor(remoteFor(server.url(path), { cacheTtl: 1, cooldown: 1 }))
    const token = tokensFor(signer).issue('a')
    await verifier.verifyAsync(token)
    assert.equal(server.count(path), 1)
    await sleep(1100)
    await verifier.verifyAsync(token)
    assert.equal(server.count(path), 2, 'stale cache refetched')
  })

  test('HTTP 500 keeps the old keys', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('http500')
    server.serveKeys(path, signer)
    const remote = remoteFor(server.url(path), { cooldown: 1 })
    const verifier = tokensFor(remote)
    const token = tokensFor(signer).issue('a')
    await verifier.verifyAsync(token)
    const kids = remote.keys.kids
    await sleep(1100) // past the (minimum) cooldown of the first fetch

    server.route(path, { status: 500, body: 'oops', headers: { 'content-type': 'text/plain' } })
    const e = await expectCode(PolyauthError, () => remote.refresh(), 'jwks_unavailable', 'refresh() on HTTP 500')
    assert.equal(e.message, 'remote key set unavailable: HTTP 500')
    assert.deepEqual(remote.keys.kids, kids, 'old keys kept')
    assert.equal(verifier.verify(token).sub, 'a')
    // An unknown kid now refetches, fails, and reports unknown_key; the old key still works.
    const before = server.count(path)
    await expectCode(PolyauthError, () => verifier.verifyAsync(tokensFor(KeySet.generate('EdDSA')).issue('x')), 'unknown_key')
    assert.equal(server.count(path), before + 1)
    assert.equal((await verifier.verifyAsync(token)).sub, 'a')
  })

  test('invalid JSON, a document without keys, or only private keys keep the old keys', async () => {
    const signer = KeySet.generate('ES384')
    const path = freshPath('badjson')
    server.serveKeys(path, signer)
    const remote = remoteFor(server.url(path), { cooldown: 1 })
    const verifier = tokensFor(remote)
    const token = tokensFor(signer).issue('a')
    await remote.refresh()
    const kids = remote.keys.kids
    const bad = [
      '{"keys": [',
      'not json at all',
      '{}',
      '{"keys": []}',
      '{"keys": 5}',
      JSON.stringify(KeySet.generate('EdDSA').toJwks({ includePrivate: true })),
      JSON.stringify(KeySet.generate('HS256').toJwks({ includePrivate: true })),
    ]
    for (const body of bad) {
      server.route(path, { body })
      await assert.rejects(remote.refresh(), (e) => e instanceof PolyauthError && e.code === 'jwks_unavailable', body)
      assert.deepEqual(remote.keys.kids, kids, `old keys kept after ${body.slice(0, 20)}`)
      assert.equal(verifier.verify(token).sub, 'a')
    }
  })

  test('a redirect is not followed', async () => {
    const signer = KeySet.generate('EdDSA')
    const target = freshPath('redirect-target')
    const path = freshPath('redirect')
    server.serveKeys(target, signer)
    server.route(path, { status: 302, body: '', headers: { location: target } })
    const remote = remoteFor(server.url(path))
    await expectCode(PolyauthError, () => remote.refresh(), 'jwks_unavailable')
    await assert.rejects(remote.refresh(), /redirect not followed \(HTTP 302\)/)
    assert.equal(remote.keys, null)
    assert.equal(server.count(target), 0)
  })

  test('timeout: a server that never answers makes verifyAsync reject, and the test completes', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('hang')
    server.route(path, 'hang')
    const remote = remoteFor(server.url(path), { timeout: 0.3 })
    const verifier = tokensFor(remote)
    await assert.rejects(verifier.verifyAsync(tokensFor(signer).issue('a')), PolyauthError)
    assert.equal(server.count(path), 1)
    assert.equal(remote.keys, null)
    await assert.rejects(remote.refresh())
    assert.equal(server.count(path), 2)
  })

  test('timeout: the verifyAsync rejection is jwks_unavailable', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('hang-code')
    server.route(path, 'hang')
    const verifier = tokensFor(remoteFor(server.url(path), { timeout: 0.3 }))
    await expectCode(PolyauthError, () => verifier.verifyAsync(tokensFor(signer).issue('a')), 'jwks_unavailable')
  })

  test('HTTP 500 on the first fetch: verifyAsync is jwks_unavailable', async () => {
    const path = freshPath('first-500')
    server.route(path, { status: 500, body: 'down' })
    const verifier = tokensFor(remoteFor(server.url(path)))
    await expectCode(PolyauthError, () => verifier.verifyAsync(tokensFor(KeySet.generate('EdDSA')).issue('a')), 'jwks_unavailable')
    assert.equal(server.count(path), 1)
  })

  test('URLs named by a token (jku, x5u) are never fetched (JWT-4)', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('configured')
    const attackerPath = freshPath('attacker')
    server.serveKeys(path, signer)
    const attacker = KeySet.generate('EdDSA')
    server.serveKeys(attackerPath, attacker)
    const verifier = tokensFor(remoteFor(server.url(path), { cooldown: 1 }))
    const privateJwk = attacker.toJwks({ includePrivate: true }).keys[0]
    const key = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' })
    const now = Math.floor(Date.now() / 1000)
    for (const header of [
      { alg: 'EdDSA', kid: attacker.signingKid, typ: 'at+jwt', jku: server.url(attackerPath) },
      { alg: 'EdDSA', kid: attacker.signingKid, typ: 'at+jwt', x5u: server.url(attackerPath) },
      { alg: 'EdDSA', typ: 'at+jwt', jku: server.url(attackerPath) },
    ]) {
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'evil', iat: now, exp: now + 600 })).toString('base64url')}`
      const sig = crypto.sign(null, Buffer.from(input), key).toString('base64url')
      await assert.rejects(verifier.verifyAsync(`${input}.${sig}`), PolyauthError)
    }
    assert.ok(server.count(path) >= 1, 'the configured URL was fetched')
    assert.equal(server.count(attackerPath), 0, 'the URL in the token was never fetched')
  })

  test('non-http(s) URLs are invalid_config', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/jwks.json', 'javascript:alert(1)', 'data:application/json,{"keys":[]}', '127.0.0.1/jwks.json', 'https://', 'http:///jwks', '']) {
      await expectCode(PolyauthError, () => new RemoteKeySet(url), 'invalid_config', url)
    }
    // https is fine; http only with the opt-in.
    new RemoteKeySet('https://issuer.example/.well-known/jwks.json')
    await expectCode(PolyauthError, () => new RemoteKeySet('http://127.0.0.1:1/jwks.json'), 'invalid_config')
    new RemoteKeySet('http://127.0.0.1:1/jwks.json', { allowInsecureHttp: true })
  })

  test('bad timeouts are invalid_config', async () => {
    await expectCode(PolyauthError, () => new RemoteKeySet('https://issuer.example/jwks', { timeout: 0 }), 'invalid_config')
    await expectCode(PolyauthError, () => new RemoteKeySet('https://issuer.example/jwks', { timeout: 3600 }), 'invalid_config')
  })

  test('Tokens(remote).issue is invalid_config', async () => {
    const tokens = tokensFor(new RemoteKeySet('https://issuer.example/jwks'))
    await expectCode(PolyauthError, () => tokens.issue('u'), 'invalid_config')
  })

  test('remote keys verify but never sign, and claims are still checked', async () => {
    const signer = KeySet.generate('PS256')
    const path = freshPath('claims')
    server.serveKeys(path, signer)
    const remote = remoteFor(server.url(path))
    const verifier = new Tokens(remote, { issuer: 'https://other.example', audience: AUDIENCE })
    const token = tokensFor(signer).issue('a')
    await expectCode(PolyauthError, () => verifier.verifyAsync(token), 'invalid_issuer')
    assert.equal(remote.keys.signingKid, null)
    assert.equal(server.count(path), 1)
  })
})

describe('RemoteKeySet under concurrency', () => {
  test('concurrent first use: every caller waits for the one fetch (no spurious failures)', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('concurrent-first-use')
    server.serveKeys(path, signer, { delayMs: 200 })
    const tokens = tokensFor(remoteFor(server.url(path)))
    const token = tokensFor(signer).issue('user-1')
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.verifyAsync(token)))
    assert.deepEqual(results.map((r) => r.status), Array(5).fill('fulfilled'))
    assert.equal(server.count(path), 1)
  })
})

test('concurrent unknown kid after a rotation: every caller waits for the one refetch', async () => {
  const signer = KeySet.generate('EdDSA')
  const path = freshPath('concurrent-rotation')
  server.serveKeys(path, signer)
  const tokens = tokensFor(remoteFor(server.url(path), { cooldown: 1 }))
  await tokens.verifyAsync(tokensFor(signer).issue('warm'))
  await sleep(1100)
  signer.rotate()
  server.serveKeys(path, signer, { delayMs: 200 })
  const fresh = tokensFor(signer).issue('user-2')
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.verifyAsync(fresh)))
  assert.deepEqual(results.map((r) => r.status), Array(5).fill('fulfilled'))
  assert.equal(server.count(path), 2)
})

// ---------------------------------------------------------------------------------------------
// JWT-15 hardening

/** A raw route streaming up to 200 MiB (optionally declaring it); counts bytes handed to the socket. */
function endless(declared) {
  const state = { sent: 0 }
  state.closed = new Promise((resolve) => {
    state.raw = (req, res) => {
      const headers = { 'content-type': 'application/json' }
      if (declared !== undefined) headers['content-length'] = String(declared)
      res.writeHead(200, headers)
      const chunk = Buffer.alloc(65536, 0x20)
      let open = true
      res.on('close', () => {
        open = false
        resolve()
      })
      const pump = () => {
        while (open && state.sent < 200 * 1024 * 1024) {
          state.sent += chunk.length
          if (!res.write(chunk)) return res.once('drain', pump)
        }
        if (open) res.end()
      }
      res.write('{"keys": [], "pad": "')
      pump()
    }
  })
  return state
}

/** A raw route sending headers, then one byte every `intervalMs` (up to `limit` bytes). */
function drip(intervalMs = 50, limit = 400) {
  const state = { sent: 0 }
  state.closed = new Promise((resolve) => {
    state.raw = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys": [')
      const timer = setInterval(() => {
        if (state.sent >= limit) return res.end()
        res.write(' ')
        state.sent += 1
      }, intervalMs)
      res.on('close', () => {
        clearInterval(timer)
        resolve()
      })
    }
  })
  return state
}

/** A raw route writing the status line, then one byte of a header every `intervalMs`. */
function dripHeaders(intervalMs = 50, limit = 400) {
  const state = { sent: 0 }
  state.closed = new Promise((resolve) => {
    state.raw = (req, res) => {
      const socket = res.socket
      socket.write('HTTP/1.1 200 OK\r\nx-pad: ')
      const timer = setInterval(() => {
        if (state.sent >= limit) return socket.end()
        socket.write('a')
        state.sent += 1
      }, intervalMs)
      socket.on('close', () => {
        clearInterval(timer)
        resolve()
      })
    }
  })
  return state
}

describe('RemoteKeySet hardening (JWT-15)', () => {
  test('http:// needs allowInsecureHttp; https is the default', async () => {
    const e = await expectCode(PolyauthError, () => new RemoteKeySet('http://issuer.example/jwks.json'), 'invalid_config')
    assert.match(e.message, /https/)
    new RemoteKeySet('http://issuer.example/jwks.json', { allowInsecureHttp: true })
    new RemoteKeySet('https://issuer.example/jwks.json')
  })

  test('cooldown below 1 s is invalid_config; maxStale below cacheTtl too', async () => {
    await expectCode(PolyauthError, () => new RemoteKeySet('https://issuer.example/jwks', { cooldown: 0 }), 'invalid_config')
    new RemoteKeySet('https://issuer.example/jwks', { cooldown: 1 })
    await expectCode(PolyauthError, () => new RemoteKeySet('https://issuer.example/jwks', { cacheTtl: 300, maxStale: 299 }), 'invalid_config')
    assert.equal(new RemoteKeySet('https://issuer.example/jwks').maxStale, 86400)
  })

  test('50 concurrent forged kids share one fetch', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('forged-burst')
    server.serveKeys(path, signer)
    const verifier = tokensFor(remoteFor(server.url(path), { cooldown: 1 }))
    await verifier.verifyAsync(tokensFor(signer).issue('warm'))
    await sleep(1100)
    server.serveKeys(path, signer, { delayMs: 200 })
    const forged = Array.from({ length: 50 }, (_, i) => tokensFor(KeySet.generate('EdDSA', { kid: `forged-${i}` })).issue('evil'))
    const results = await Promise.allSettled(forged.map((t) => verifier.verifyAsync(t)))
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'unknown_key'))
    assert.equal(server.count(path), 2, 'one refetch for the whole burst')
  })

  test('a huge body is cut off while reading', async () => {
    const path = freshPath('endless')
    const stream = endless()
    server.route(path, stream)
    const remote = remoteFor(server.url(path), { timeout: 10 })
    const e = await expectCode(PolyauthError, () => remote.refresh(), 'jwks_unavailable')
    assert.match(e.message, /size limit/)
    await stream.closed
    assert.ok(stream.sent < 32 * 1024 * 1024, `the server sent ${stream.sent} bytes`)
    assert.equal(remote.keys, null)
  })

  test('an oversized Content-Length is refused before reading', async () => {
    const path = freshPath('declared')
    const stream = endless(200 * 1024 * 1024)
    server.route(path, stream)
    const remote = remoteFor(server.url(path), { timeout: 10 })
    const e = await expectCode(PolyauthError, () => remote.refresh(), 'jwks_unavailable')
    assert.match(e.message, /size limit/)
    await stream.closed
    assert.ok(stream.sent < 32 * 1024 * 1024, `the server sent ${stream.sent} bytes`)
  })

  test('a dripping server is bounded by the total deadline, body included', async () => {
    // One byte every 50 ms: only a deadline covering the body read stops this (400 bytes = 20 s).
    const path = freshPath('drip')
    const stream = drip()
    server.route(path, stream)
    const verifier = tokensFor(remoteFor(server.url(path), { timeout: 0.5 }))
    const e = await expectCode(PolyauthError, () => verifier.verifyAsync(tokensFor(KeySet.generate('EdDSA')).issue('a')), 'jwks_unavailable')
    assert.ok(e instanceof PolyauthError)
    await stream.closed
    assert.ok(stream.sent < 100, `the server dripped ${stream.sent} bytes before the client left`)
    const again = drip()
    server.route(path, again)
    await assert.rejects(verifier.keys.refresh(), /timed out/)
    await again.closed
    assert.ok(again.sent < 100)
  })

  test('a server dripping its headers is bounded by the same deadline', async () => {
    const path = freshPath('drip-headers')
    const stream = dripHeaders()
    server.route(path, stream)
    const remote = remoteFor(server.url(path), { timeout: 0.5 })
    await assert.rejects(remote.refresh(), (e) => e instanceof PolyauthError && e.code === 'jwks_unavailable' && /timed out/.test(e.message))
    await stream.closed
    assert.ok(stream.sent < 100, `the server dripped ${stream.sent} header bytes before the client left`)
  })

  test('connection refused is jwks_unavailable', async () => {
    const probe = http.createServer()
    await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = probe.address().port
    await new Promise((resolve) => probe.close(resolve))
    const remote = remoteFor(`http://127.0.0.1:${port}/jwks.json`)
    await assert.rejects(remote.refresh(), (e) => e instanceof PolyauthError && e.code === 'jwks_unavailable' && /connection failed/.test(e.message))
  })

  test('maxStale: old keys stop verifying (the verify clock is injectable)', async () => {
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('max-stale')
    server.serveKeys(path, signer)
    const remote = remoteFor(server.url(path), { cacheTtl: 300, maxStale: 600 })
    await remote.refresh()
    const now = Math.floor(Date.now() / 1000)
    const verifier = tokensFor(remote)
    const token = tokensFor(signer).issue('u', { ttl: 86400 })
    assert.equal(verifier.verify(token, { now: now + 590 }).sub, 'u')
    await expectCode(PolyauthError, () => verifier.verify(token, { now: now + 700 }), 'jwks_unavailable')
    const byDefault = tokensFor(remoteFor(server.url(path)))
    await byDefault.keys.refresh()
    assert.equal(byDefault.verify(token, { now: now + 86400 - 10 }).sub, 'u')
    await expectCode(PolyauthError, () => byDefault.verify(token, { now: now + 86400 + 10 }), 'jwks_unavailable')
  })

  test('a failed first fetch makes verify jwks_unavailable', async () => {
    const path = freshPath('first-fail')
    server.route(path, { status: 503, body: 'down' })
    const remote = remoteFor(server.url(path))
    await assert.rejects(remote.refresh(), /HTTP 503/)
    await expectCode(PolyauthError, () => tokensFor(remote).verify(tokensFor(KeySet.generate('EdDSA')).issue('u')), 'jwks_unavailable')
  })

  test('credentials in the URL: sent as Basic auth, hidden from inspect and error messages', async () => {
    const util = await import('node:util')
    const shown = util.inspect(new RemoteKeySet('https://alice:s3cret@issuer.example/jwks?api_key=k3y'))
    assert.equal(shown, 'RemoteKeySet("https://***@issuer.example/jwks?***")')
    const signer = KeySet.generate('EdDSA')
    const path = freshPath('basic-auth')
    server.serveKeys(path, signer)
    const url = server.url(path).replace('http://', 'http://alice:s3cret@')
    const remote = remoteFor(url)
    assert.equal(remote.url, url)
    assert.ok(!util.inspect(remote).includes('s3cret'))
    assert.ok(!util.inspect({ nested: remote }).includes('s3cret'))
    await remote.refresh()
    assert.equal(server.auth.get(path), `Basic ${Buffer.from('alice:s3cret').toString('base64')}`)
    server.route(path, { status: 401, body: 'nope' })
    const e = await expectCode(PolyauthError, () => remote.refresh(), 'jwks_unavailable')
    assert.ok(!e.message.includes('s3cret') && !String(e.stack).includes('s3cret'))
    assert.equal(e.cause, undefined)
  })

  test('jwks_unavailable is in the error code list', () => {
    assert.ok(ERROR_CODES.includes('jwks_unavailable'))
  })
})
