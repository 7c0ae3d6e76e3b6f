//! `run_cli`: the `polyauth` command-line tool for `python -m polyauth`. Parsing, dispatch,
//! output and exit codes are polyauth-core's (`polyauth_core::cli`); `polyauth/__main__.py`
//! only reads stdin and fetches a JWKS URL when the core asks for them.

use polyauth_core::cli::{self, Input, Outcome};
use pyo3::prelude::*;
use pyo3::types::PyString;
use zeroize::Zeroizing;

use crate::asyncio::runtime;
use crate::tokens::RemoteKeySet;

/// What one `run_cli` call produced: output and exit code, or a request for input.
#[pyclass(module = "polyauth._native", frozen)]
pub struct CliResult {
    /// The exit code (meaningful when `need` is None).
    #[pyo3(get)]
    code: i32,
    #[pyo3(get)]
    stdout: String,
    #[pyo3(get)]
    stderr: String,
    /// None (done), "stdin" (call again with all of stdin) or "fetch" (build a RemoteKeySet
    /// from `fetch_url`, `allow_insecure_http` and `timeout`, try `refresh_sync`, call again).
    #[pyo3(get)]
    need: Option<&'static str>,
    /// For "stdin": the input is a password (on a terminal, prompt with `prompt`, no echo).
    #[pyo3(get)]
    secret: bool,
    #[pyo3(get)]
    prompt: &'static str,
    #[pyo3(get)]
    fetch_url: Option<String>,
    #[pyo3(get)]
    allow_insecure_http: bool,
    /// Seconds.
    #[pyo3(get)]
    timeout: f64,
}

impl CliResult {
    fn empty(code: i32) -> Self {
        CliResult {
            code,
            stdout: String::new(),
            stderr: String::new(),
            need: None,
            secret: false,
            prompt: "",
            fetch_url: None,
            allow_insecure_http: false,
            timeout: 0.0,
        }
    }
}

/// Runs the command line `argv` (without the program name). Blocking; the GIL is released.
/// `stdin`: all of standard input, given only after a result with `need == "stdin"`; `remote`:
/// the RemoteKeySet asked for by `need == "fetch"`, after one refresh attempt.
#[pyfunction]
#[pyo3(signature = (argv, stdin=None, remote=None))]
fn run_cli(
    py: Python<'_>,
    argv: Vec<Bound<'_, PyString>>,
    stdin: Option<&[u8]>,
    remote: Option<PyRef<'_, RemoteKeySet>>,
) -> CliResult {
    // As Node does: text that is not valid Unicode (surrogate escapes) becomes U+FFFD.
    let args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let input = Input {
        stdin: stdin.map(|b| Zeroizing::new(b.to_vec())),
        remote: remote.map(|r| r.inner.clone()),
    };
    let outcome = py.detach(|| runtime().block_on(cli::run(args, input)));
    match outcome {
        Outcome::Done(o) => CliResult {
            stdout: o.stdout.to_string(),
            stderr: o.stderr,
            ..CliResult::empty(o.code)
        },
        Outcome::NeedStdin { secret, prompt } => CliResult {
            need: Some("stdin"),
            secret,
            prompt,
            ..CliResult::empty(0)
        },
        Outcome::NeedFetch(config) => CliResult {
            need: Some("fetch"),
            fetch_url: Some(config.url),
            allow_insecure_http: config.allow_insecure_http,
            timeout: config.timeout_ms as f64 / 1000.0,
            ..CliResult::empty(0)
        },
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CliResult>()?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    Ok(())
}
