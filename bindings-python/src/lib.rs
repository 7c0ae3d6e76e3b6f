//! `polyauth._native`: the PyO3 layer. Converts arguments, releases the GIL around CPU-heavy
//! work, bridges async work to asyncio, and maps core errors to `polyauth.errors` classes.
//! No decisions are made here; they belong to polyauth-core.

mod accounts;
mod asyncio;
mod cli;
mod convert;
mod errors;
mod mfa;
mod onetime;
mod password;
mod sessions;
mod signin;
mod store;
mod throttle;
mod tokens;
mod totp;

use pyo3::prelude::*;

// mimalloc for every Rust allocation of the extension (the host's own allocations are untouched):
// see the workspace Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Raises `InternalError` from a deliberate panic, so tests can prove that a Rust panic never
/// aborts the interpreter.
#[pyfunction]
fn _debug_panic() -> PyResult<()> {
    errors::run(|| -> polyauth_core::Result<()> { panic!("deliberate panic for tests") })
}

/// An awaitable whose work panics on the polyauth runtime: it raises `InternalError`, and the
/// runtime goes on serving other calls.
#[pyfunction]
fn _debug_panic_async(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    asyncio::spawn(
        py,
        async {
            tokio::task::yield_now().await;
            panic!("deliberate panic for tests")
        },
        |py, ()| Ok(py.None().into_bound(py)),
    )
}

/// The stable error codes, in the order of the core enum.
#[pyfunction]
fn error_codes() -> Vec<&'static str> {
    polyauth_core::Error::CODES.to_vec()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_panic_async, m)?)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(convert::option_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(asyncio::_drain, m)?)?;
    password::register(m)?;
    tokens::register(m)?;
    store::register(m)?;
    sessions::register(m)?;
    onetime::register(m)?;
    throttle::register(m)?;
    totp::register(m)?;
    mfa::register(m)?;
    accounts::register(m)?;
    signin::register(m)?;
    cli::register(m)?;
    Ok(())
}
