//! `runCli`: the `polyauth` command-line tool for `npx polyauth`. Parsing, dispatch, output and
//! exit codes are polyauth-core's (`polyauth_core::cli`); `ts/cli.ts` only reads stdin and
//! fetches a JWKS URL when the core asks for them.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polyauth_core::cli::{self, Input, Outcome};
use zeroize::Zeroizing;

use crate::tokens::RemoteKeySet;

/// What one `runCli` call produced: output and exit code, or a request for input.
#[napi(object)]
pub struct CliResult {
    /// The exit code (meaningful when `need` is absent).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Absent (done), "stdin" (call again with all of stdin) or "fetch" (build a RemoteKeySet
    /// from `fetchUrl`, `allowInsecureHttp` and `timeoutMs`, try one refresh, call again).
    pub need: Option<String>,
    /// For "stdin": the input is a password (on a terminal, prompt with `prompt`, no echo).
    pub secret: bool,
    pub prompt: String,
    pub fetch_url: Option<String>,
    pub allow_insecure_http: bool,
    pub timeout_ms: u32,
}

fn result(outcome: Outcome) -> CliResult {
    let empty = |code| CliResult {
        code,
        stdout: String::new(),
        stderr: String::new(),
        need: None,
        secret: false,
        prompt: String::new(),
        fetch_url: None,
        allow_insecure_http: false,
        timeout_ms: 0,
    };
    match outcome {
        Outcome::Done(o) => CliResult {
            stdout: o.stdout.to_string(),
            stderr: o.stderr,
            ..empty(o.code)
        },
        Outcome::NeedStdin { secret, prompt } => CliResult {
            need: Some("stdin".into()),
            secret,
            prompt: prompt.into(),
            ..empty(0)
        },
        Outcome::NeedFetch(config) => CliResult {
            need: Some("fetch".into()),
            fetch_url: Some(config.url),
            allow_insecure_http: config.allow_insecure_http,
            timeout_ms: config.timeout_ms.min(u64::from(u32::MAX)) as u32,
            ..empty(0)
        },
    }
}

/// Runs the command line `argv` (without the program name); resolves to its result. `stdin`:
/// all of standard input, given only after a result with `need: "stdin"`; `remote`: the
/// RemoteKeySet asked for by `need: "fetch"`, after one refresh attempt.
#[napi(ts_return_type = "Promise<CliResult>")]
pub fn run_cli<'env>(
    env: &'env Env,
    argv: Vec<String>,
    stdin: Option<Buffer>,
    remote: Option<&RemoteKeySet>,
) -> Result<PromiseRaw<'env, CliResult>> {
    let input = Input {
        stdin: stdin.map(|b| Zeroizing::new(b.to_vec())),
        remote: remote.map(|r| r.inner.clone()),
    };
    env.spawn_future(async move { Ok(result(cli::run(argv, input).await)) })
}
