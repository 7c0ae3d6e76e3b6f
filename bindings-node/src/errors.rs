//! Core errors cross into JavaScript as `Error`s whose message is `"<code>\u{1f}<message>"`;
//! the TypeScript layer turns them into `PolyauthError` with `.code` (and `.retryAfter`).
//! `napi::Task` only carries `napi::Status`, so the code travels in the message.

use polyauth_core::Error;

/// Separator between code, extra data and message: a control character no message contains.
const SEP: char = '\u{1f}';

pub fn to_napi(e: Error) -> napi::Error {
    let extra = match &e {
        Error::RateLimited(s) => s.to_string(),
        Error::PasswordPolicy(r) => r.join(","),
        _ => String::new(),
    };
    napi::Error::new(
        napi::Status::GenericFailure,
        format!("{}{SEP}{extra}{SEP}{e}", e.code()),
    )
}

/// Runs core work with panics caught and errors encoded.
pub fn run<T>(f: impl FnOnce() -> polyauth_core::Result<T>) -> napi::Result<T> {
    polyauth_core::catch_panic(f).map_err(to_napi)
}
