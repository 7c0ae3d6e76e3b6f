//! Core errors cross into JavaScript as `Error`s whose message is `"<code>\u{1f}<message>"`;
//! the TypeScript layer turns them into `PolyauthError` with `.code` (and `.retryAfter`).
//! `napi::Task` only carries `napi::Status`, so the code travels in the message.

use polyauth_core::options::{Arg, Role};
use polyauth_core::Error;
use serde_json::{Map, Value};

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

// The bounds are the core's (`polyauth_core::options`), shared with the Python binding.
pub use polyauth_core::options::{MAX_SECONDS, MAX_TIME};

/// Reads an optional per-call JavaScript number that must be a whole number in `0..=max` (not a
/// boolean, a string, NaN, an infinity or a fraction), judged by the core: a bad value is
/// `invalid_input`. napi's own `u32` conversion wraps negative and oversized numbers around (-1
/// becomes 4294967295), which would turn a typo into "no throttling".
pub fn whole_arg(value: Option<Number>, default: u64, max: u64, what: &str) -> napi::Result<u64> {
    let Some(Number(n)) = value else {
        return Ok(default);
    };
    let arg = n.map_or(Arg::Other("value that is not a number".into()), |v| {
        crate::options::number(v)
    });
    polyauth_core::options::whole(&arg, what, 0..=max as i128, Role::Input).map_err(to_napi)
}

/// The injected clock of a call (`now`, whole seconds since the epoch, up to [`MAX_TIME`]), or
/// the system clock; a bad value is `invalid_input`.
pub fn now_or(now: Option<Number>) -> napi::Result<i64> {
    let default = polyauth_core::token::now().max(0) as u64;
    whole_arg(now, default, MAX_TIME, "now").map(|n| n as i64)
}

/// Reads a string argument that names something (subject, session id, purpose, throttle key,
/// token, code) from its UTF-16 form. napi's `String` conversion replaces a lone surrogate with
/// U+FFFD, so `"victim\uD800"` would reach the sessions, factor and counters of `"victim\uFFFD"`;
/// such a string is `invalid_input` instead (as in Python, where it cannot be encoded).
pub fn text(value: napi::bindgen_prelude::Utf16String, what: &str) -> napi::Result<String> {
    String::from_utf16(&value).map_err(|_| {
        to_napi(Error::InvalidInput(format!(
            "{what} is not well-formed Unicode (lone surrogate)"
        )))
    })
}

/// A JavaScript value where a number is expected, read without judging it: [`whole`] and
/// [`whole_arg`] refuse anything but a number (a boolean, a numeric string, a BigInt) with
/// `invalid_config` / `invalid_input`, where napi's own `f64` conversion would throw a plain
/// `Error` before our checks run. Named `Number` so that the generated `.d.ts` types it `number`.
pub struct Number(Option<f64>);

impl napi::bindgen_prelude::TypeName for Number {
    fn type_name() -> &'static str {
        "number"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Number
    }
}

impl napi::bindgen_prelude::ValidateNapiValue for Number {}

impl napi::bindgen_prelude::FromNapiValue for Number {
    unsafe fn from_napi_value(
        env: napi::sys::napi_env,
        value: napi::sys::napi_value,
    ) -> napi::Result<Self> {
        let mut kind = 0;
        // SAFETY: `env` and `value` come from napi for the duration of this call.
        let status = unsafe { napi::sys::napi_typeof(env, value, &mut kind) };
        if status != napi::sys::Status::napi_ok || kind != napi::sys::ValueType::napi_number {
            return Ok(Number(None));
        }
        let mut v = 0.0;
        // SAFETY: as above; `value` is a number.
        let status = unsafe { napi::sys::napi_get_value_double(env, value, &mut v) };
        Ok(Number((status == napi::sys::Status::napi_ok).then_some(v)))
    }
}

/// Option structs are also built in Rust (`#[napi(object)]` converts both ways): a value that was
/// not a number goes back as `undefined`.
impl napi::bindgen_prelude::ToNapiValue for Number {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        value: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        match value.0 {
            // SAFETY: forwarded from napi's own conversions with the same arguments.
            Some(v) => unsafe { f64::to_napi_value(env, v) },
            None => unsafe { napi::bindgen_prelude::Undefined::to_napi_value(env, ()) },
        }
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number(Some(v))
    }
}

/// An optional object argument (claims, meta): absent or null is empty; anything else but an
/// object is a `TypeError` (`InvalidArg`).
pub fn object(v: Option<Value>, what: &str) -> napi::Result<Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(napi::Error::new(
            napi::Status::InvalidArg,
            format!("{what} must be an object"),
        )),
    }
}
