//! The napi-rs layer of the `polyauth` npm package. Converts arguments, runs argon2 as `AsyncTask`s
//! on the libuv pool, and encodes core errors so the TypeScript layer can raise `PolyauthError`.
//! No decisions are made here; they belong to polyauth-core.

mod accounts;
mod cli;
mod errors;
mod mfa;
mod onetime;
mod options;
mod password;
mod promise;
mod sessions;
mod signin;
mod store;
mod throttle;
mod tokens;
mod totp;

// mimalloc for every Rust allocation of the extension (the host's own allocations are untouched):
// see the workspace Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use napi_derive::napi;

/// Panics inside Rust; the caller receives an `internal_error` (used by tests).
#[napi(js_name = "_debugPanic")]
pub fn debug_panic() -> napi::Result<()> {
    errors::run(|| -> polyauth_core::Result<()> { panic!("deliberate panic for tests") })
}

/// A promise whose work panics on the runtime; it rejects with `internal_error` and the runtime
/// goes on serving other calls (used by tests).
#[napi(js_name = "_debugPanicAsync", ts_return_type = "Promise<void>")]
pub fn debug_panic_async(
    env: &napi::Env,
) -> napi::Result<napi::bindgen_prelude::PromiseRaw<'_, ()>> {
    promise::promise(env, async {
        tokio::task::yield_now().await;
        panic!("deliberate panic for tests")
    })
}

/// The stable error codes, in the order of the core enum.
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    polyauth_core::Error::CODES.to_vec()
}
