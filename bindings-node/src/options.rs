//! Options objects for `polyauth_core::options`: each property becomes an `Arg`, unjudged; the
//! core reads them with its defaults and bounds, so a bad value is the same `invalid_config` as in
//! Python. `undefined` and `null` properties are absent (the core's default).

use napi::bindgen_prelude::{FromNapiValue, TypeName, Uint8Array, Utf16String, ValidateNapiValue};
use napi::sys;
use polyauth_core::options::{Arg, Case, Options};
use zeroize::Zeroizing;

/// The properties of a JavaScript options object, converted but not judged.
pub struct HostOptions(Vec<(String, Arg)>);

impl HostOptions {
    /// The options for core's reader of `what` (the type, for messages).
    pub fn into_options(self, what: &'static str) -> Options {
        let mut o = Options::new(what, Case::Camel);
        for (name, value) in self.0 {
            o.push(name, value);
        }
        o
    }
}

/// [`HostOptions::into_options`] for an absent options argument too.
pub fn read(host: Option<HostOptions>, what: &'static str) -> Options {
    host.map_or_else(|| Options::new(what, Case::Camel), |h| h.into_options(what))
}

/// Whole JavaScript numbers up to 2**53 are integers; others (fractions, NaN, infinities, and
/// numbers too large to be exact) stay floats for the core to refuse where it wants a count.
pub fn number(v: f64) -> Arg {
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 {
        Arg::Int(v as i128)
    } else {
        Arg::Float(v)
    }
}

/// Reads one value; `None` for `undefined` and `null`.
///
/// # Safety
/// `env` and `value` come from napi for the duration of the call.
unsafe fn arg(env: sys::napi_env, value: sys::napi_value, depth: u32) -> napi::Result<Option<Arg>> {
    let mut kind = 0;
    // SAFETY: per the function's contract.
    napi::check_status!(unsafe { sys::napi_typeof(env, value, &mut kind) })?;
    Ok(Some(match kind {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => return Ok(None),
        sys::ValueType::napi_boolean => Arg::Bool(unsafe { bool::from_napi_value(env, value)? }),
        sys::ValueType::napi_number => number(unsafe { f64::from_napi_value(env, value)? }),
        sys::ValueType::napi_string => {
            let s = unsafe { Utf16String::from_napi_value(env, value)? };
            String::from_utf16(&s).map_or(Arg::BadText, Arg::Text)
        }
        sys::ValueType::napi_object => {
            let mut yes = false;
            napi::check_status!(unsafe { sys::napi_is_typedarray(env, value, &mut yes) })?;
            if yes {
                let bytes = unsafe { Uint8Array::from_napi_value(env, value) };
                return Ok(Some(bytes.map_or(Arg::Other("typed array".into()), |b| {
                    Arg::Bytes(Zeroizing::new(b.to_vec()))
                })));
            }
            napi::check_status!(unsafe { sys::napi_is_array(env, value, &mut yes) })?;
            if !yes || depth == 0 {
                return Ok(Some(Arg::Other("object".into())));
            }
            let mut len = 0;
            napi::check_status!(unsafe { sys::napi_get_array_length(env, value, &mut len) })?;
            let mut items = Vec::with_capacity(len.min(1024) as usize);
            for i in 0..len {
                let mut item = std::ptr::null_mut();
                napi::check_status!(unsafe { sys::napi_get_element(env, value, i, &mut item) })?;
                items.push(
                    unsafe { arg(env, item, depth - 1)? }.unwrap_or(Arg::Other("null".into())),
                );
            }
            Arg::List(items)
        }
        sys::ValueType::napi_bigint => Arg::Other("bigint".into()),
        sys::ValueType::napi_function => Arg::Other("function".into()),
        _ => Arg::Other("symbol".into()),
    }))
}

impl FromNapiValue for HostOptions {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut kind = 0;
        // SAFETY: `env` and `value` come from napi for the duration of this call.
        napi::check_status!(unsafe { sys::napi_typeof(env, value, &mut kind) })?;
        if kind != sys::ValueType::napi_object {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "options must be an object",
            ));
        }
        let mut names = std::ptr::null_mut();
        napi::check_status!(unsafe { sys::napi_get_property_names(env, value, &mut names) })?;
        let mut len = 0;
        napi::check_status!(unsafe { sys::napi_get_array_length(env, names, &mut len) })?;
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let mut key = std::ptr::null_mut();
            napi::check_status!(unsafe { sys::napi_get_element(env, names, i, &mut key) })?;
            let mut item = std::ptr::null_mut();
            napi::check_status!(unsafe { sys::napi_get_property(env, value, key, &mut item) })?;
            let name = unsafe { String::from_napi_value(env, key)? };
            if let Some(a) = unsafe { arg(env, item, 1)? } {
                out.push((name, a));
            }
        }
        Ok(HostOptions(out))
    }
}

impl TypeName for HostOptions {
    fn type_name() -> &'static str {
        "object"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ValidateNapiValue for HostOptions {}

/// Every option default of the core, by type and snake_case name (the TypeScript option types'
/// documentation is checked against it).
#[napi_derive::napi]
pub fn option_defaults() -> serde_json::Value {
    polyauth_core::options::defaults()
}
