/**
 * The `polyauth` command-line tool (`npx polyauth`, `bindings-node/cli.js`). Parsing, the
 * commands, their output and the exit codes live in the Rust core, the same as
 * `python -m polyauth`; this module only reads stdin (for `hash` and `token ... -`) and fetches a
 * JWKS URL (`token verify --jwks https://...`) when the core asks for them.
 */
import * as native from '../native'
import { PolyauthError } from './errors'
import { RemoteKeySet } from './tokens'

/** What the tool printed and its exit code (0 ok, 1 refused, 2 usage or configuration error, 3 unavailable, 4 internal error). */
export interface CliOutput {
  code: number
  stdout: string
  stderr: string
}

/**
 * Standard input for {@link runCli}: the bytes (or text) themselves, or a function that reads
 * them when a command asks (`secret` is true for a password; `prompt` is what to show on a
 * terminal).
 */
export type CliStdin = Buffer | string | ((secret: boolean, prompt: string) => Promise<Buffer>)

/**
 * Runs the `polyauth` command line `argv` (without the program name) to completion and resolves
 * to what it printed and its exit code; it never rejects for a failing command (the error is in
 * `stderr`, or in `stdout` with `--json`). `stdin` is read only when a command needs it
 * (default: `process.stdin`, a password on a terminal without echo).
 */
export async function runCli(argv: readonly string[], stdin?: CliStdin): Promise<CliOutput> {
  const args = argv.map((a) => {
    if (typeof a !== 'string') throw new PolyauthError('invalid_input', 'argv must be an array of strings')
    return a
  })
  let input: Buffer | null = null
  let remote: RemoteKeySet | null = null
  try {
    for (;;) {
      const r = await native.runCli(args, input, remote ? remote.native : null)
      if (r.need === 'stdin' && input === null) {
        input = await readInput(stdin, r.secret, r.prompt)
      } else if (r.need === 'fetch' && remote === null && r.fetchUrl) {
        remote = await fetched(r)
      } else if (!r.need) {
        return { code: r.code, stdout: r.stdout, stderr: r.stderr }
      } else {
        throw new PolyauthError('internal_error', `the CLI asked for ${r.need} twice`)
      }
    }
  } finally {
    // The password read for `hash` does not outlive the call in this buffer.
    input?.fill(0)
  }
}

/** The RemoteKeySet the core asked for, after one fetch attempt (a failure is recorded in it and reported by the core). */
async function fetched(r: native.CliResult): Promise<RemoteKeySet> {
  const remote = new RemoteKeySet(r.fetchUrl as string, {
    allowInsecureHttp: r.allowInsecureHttp,
    timeout: r.timeoutMs / 1000,
  })
  try {
    await remote.refresh()
  } catch {
    // Recorded in the core's key set: the next call reports it.
  }
  return remote
}

async function readInput(stdin: CliStdin | undefined, secret: boolean, prompt: string): Promise<Buffer> {
  if (typeof stdin === 'string') return Buffer.from(stdin, 'utf8')
  if (Buffer.isBuffer(stdin)) return Buffer.from(stdin)
  if (typeof stdin === 'function') return stdin(secret, prompt)
  const stream = process.stdin
  if (secret && stream.isTTY) return readHidden(stream, prompt)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
  const all = Buffer.concat(chunks)
  for (const c of chunks) c.fill(0)
  return all
}

/** One line from a terminal without echo (raw mode), as Python's `getpass`. */
function readHidden(stream: NodeJS.ReadStream, prompt: string): Promise<Buffer> {
  process.stderr.write(prompt)
  const bytes: number[] = []
  return new Promise((resolve, reject) => {
    const finish = (error: Error | null): void => {
      stream.removeListener('data', onData)
      stream.setRawMode(false)
      stream.pause()
      process.stderr.write('\n')
      const line = Buffer.from(bytes)
      bytes.fill(0)
      if (error) reject(error)
      else resolve(line)
    }
    const onData = (data: Buffer): void => {
      for (const b of data) {
        if (b === 0x0d || b === 0x0a || b === 0x04) return finish(null)
        if (b === 0x03) return finish(new PolyauthError('invalid_input', 'interrupted'))
        if (b === 0x7f || b === 0x08) {
          // Backspace: drop one whole UTF-8 character (its continuation bytes first).
          while (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & 0xc0) === 0x80) bytes.pop()
          bytes.pop()
        } else {
          bytes.push(b)
        }
      }
      data.fill(0)
    }
    stream.setRawMode(true)
    stream.resume()
    stream.on('data', onData)
  })
}
