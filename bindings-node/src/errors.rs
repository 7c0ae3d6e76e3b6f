//! Core errors cross into JavaScript as `Error`s whose message is `"<code>\u{1f}<message>"`;
//! the TypeScript layer turns them into `PolyauthError` with `.code` (and `.retryAfter`).
//! `napi::Task` only carries `napi::Status`, so the code travels in the message.

use polyauth_core::Error;

/// Separator between code, extra data and message: a control character no message contains.
const SEP: char = '\u{1f}';

/// Encodes a core error for the TypeScript layer. Core messages quote attacker text only as
/// escaped excerpts (`polyauth_core::error::excerpt`), so they hold no separator; any that did
/// would still be escaped here, and the TypeScript side reads the message as everything after
/// the second separator.
pub fn to_napi(e: Error) -> napi::Error {
    let extra = match &e {
        Error::RateLimited(s) => s.to_string(),
        Error::PasswordPolicy(r) => r.join(","),
        _ => String::new(),
    };
    let clean = |s: String| {
        if s.contains(SEP) {
            s.replace(SEP, "\\x1f")
        } else {
            s
        }
    };
    napi::Error::new(
        napi::Status::GenericFailure,
        format!(
            "{}{SEP}{}{SEP}{}",
            e.code(),
            clean(extra),
            clean(e.to_string())
        ),
    )
}

/// Runs core work with panics caught and errors encoded.
pub fn run<T>(f: impl FnOnce() -> polyauth_core::Result<T>) -> napi::Result<T> {
    polyauth_core::catch_panic(f).map_err(to_napi)
}

/// Reads an optional JavaScript number that must be a whole number in `0..=max`. napi's own
/// `u32` conversion wraps negative and oversized numbers around (-1 becomes 4294967295), which
/// would turn a typo into "no throttling" or "sessions never idle out".
pub fn whole(value: Option<f64>, default: u64, max: u64, what: &str) -> napi::Result<u64> {
    checked(value, default, max).ok_or_else(|| {
        to_napi(Error::InvalidConfig(format!(
            "{what} must be a whole number from 0 to {max}"
        )))
    })
}

/// [`whole`] for a per-call argument: a bad value is `invalid_input`, not `invalid_config`.
pub fn whole_arg(value: Option<f64>, default: u64, max: u64, what: &str) -> napi::Result<u64> {
    checked(value, default, max).ok_or_else(|| {
        to_napi(Error::InvalidInput(format!(
            "{what} must be a whole number from 0 to {max}"
        )))
    })
}

fn checked(value: Option<f64>, default: u64, max: u64) -> Option<u64> {
    match value {
        None => Some(default),
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 => {
            Some(v as u64)
        }
        Some(_) => None,
    }
}
