#!/usr/bin/env node
'use strict'
// `npx polyauth`: the polyauth command-line tool. Everything but reading stdin (only for commands
// that ask for it: `hash`, `token ... -`) and fetching a JWKS URL is the Rust core's, shared with
// `python -m polyauth`; `polyauth help` lists the commands.
const { runCli } = require('./dist/cli.js')

process.stdout.on('error', (e) => {
  if (e && e.code === 'EPIPE') process.exit(process.exitCode || 0)
})

runCli(process.argv.slice(2)).then(
  (r) => {
    if (r.stdout) process.stdout.write(r.stdout)
    if (r.stderr) process.stderr.write(r.stderr)
    process.exitCode = r.code
  },
  (e) => {
    const code = e && typeof e.code === 'string' ? e.code : 'internal_error'
    process.stderr.write(`error: ${code}: ${code === 'internal_error' ? 'internal error' : e.message}\n`)
    process.exitCode = code === 'internal_error' ? 4 : 2
  },
)
