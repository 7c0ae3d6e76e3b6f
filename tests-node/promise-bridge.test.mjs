// The Rust → Promise bridge (bindings-node/src/promise.rs): one threadsafe function and one
// completion queue per environment, referenced only while calls are in flight. These pin what
// that design must keep: bursts and worker threads get every result, errors keep their codes, a
// pending call keeps the process alive, an idle addon does not, and exiting or terminating a
// worker with calls in flight neither crashes nor hangs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { KeySet, PolyauthError, Sessions, Store, Tokens } from '../bindings-node/index.mjs'
import { REPO_ROOT } from './helpers.mjs'

const ENTRY = join(REPO_ROOT, 'bindings-node', 'index.mjs')

async function sessions() {
  const store = await Store.open('memory://')
  return new Sessions(store, new Tokens(KeySet.generate('HS256'), { issuer: 'https://i', audience: 'a' }))
}

async function rotate(s, callers, rounds) {
  const one = async (i) => {
    const pair = await s.start(`user-${i}`)
    let token = pair.refreshToken
    for (let r = 0; r < rounds; r++) token = (await s.refresh(token)).refreshToken
    assert.equal(await s.isActive(pair.sessionId), true)
    return token
  }
  return new Set(await Promise.all(Array.from({ length: callers }, (_, i) => one(i))))
}

test('a burst of concurrent calls all settle', async () => {
  assert.equal((await rotate(await sessions(), 300, 5)).size, 300)
})

test('errors keep their codes', async () => {
  const s = await sessions()
  const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => s.refresh('prt_' + 'A'.repeat(43))))
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected')
    assert.ok(o.reason instanceof PolyauthError)
    assert.equal(o.reason.code, 'invalid_token')
  }
})

const WORKER = `
  const { parentPort } = require('node:worker_threads')
  import(${JSON.stringify(ENTRY)}).then(async ({ KeySet, Sessions, Store, Tokens }) => {
    const store = await Store.open('memory://')
    const s = new Sessions(store, new Tokens(KeySet.generate('HS256'), { issuer: 'https://i', audience: 'a' }))
    let token = (await s.start('w')).refreshToken
    for (let i = 0; i < 200; i++) token = (await s.refresh(token)).refreshToken
    parentPort.postMessage('done')
    // Calls left in flight while the worker is terminated.
    for (let i = 0; i < 50; i++) s.start('late-' + i).catch(() => {})
  })
`

test('worker threads and the main thread at once; terminating a worker mid-call', async () => {
  const workers = Array.from({ length: 3 }, () => new Worker(WORKER, { eval: true }))
  const done = workers.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve)
    w.once('error', reject)
  }))
  const [main] = await Promise.all([rotate(await sessions(), 20, 20), ...done])
  assert.equal(main.size, 20)
  // Terminated (or already finished) with calls in flight: this process goes on working.
  await Promise.all(workers.map((w) => w.terminate()))
  assert.equal((await rotate(await sessions(), 5, 5)).size, 5)
})

function node(script) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  })
}

test('a pending call keeps the process alive until it settles', () => {
  // Nothing but the polyauth promise keeps the event loop busy here.
  const r = node(`
    import { KeySet, Sessions, Store, Tokens } from ${JSON.stringify(ENTRY)}
    const store = await Store.open('memory://')
    const s = new Sessions(store, new Tokens(KeySet.generate('HS256'), { issuer: 'https://i', audience: 'a' }))
    s.start('u').then((p) => s.refresh(p.refreshToken)).then((p) => console.log('rotated', p.sessionId.length > 0))
  `)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'rotated true')
})

test('an idle addon does not keep the process alive', () => {
  const r = node(`
    import { Store } from ${JSON.stringify(ENTRY)}
    const store = await Store.open('memory://')
    await store.ping()
    console.log('idle')
  `)
  assert.equal(r.error, undefined, 'the process exited by itself')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'idle')
})

test('process.exit with calls in flight exits cleanly', () => {
  const r = node(`
    import { KeySet, Sessions, Store, Tokens } from ${JSON.stringify(ENTRY)}
    const store = await Store.open('memory://')
    const s = new Sessions(store, new Tokens(KeySet.generate('HS256'), { issuer: 'https://i', audience: 'a' }))
    for (let i = 0; i < 200; i++) s.start('u' + i)
    process.exit(7)
  `)
  assert.equal(r.signal, null, r.stderr)
  assert.equal(r.status, 7, r.stderr)
})
