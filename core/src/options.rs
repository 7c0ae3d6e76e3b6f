//! Options of every configurable type, judged in one place for both bindings.
//!
//! A binding turns the host's keyword arguments (Python) or options object (Node) into
//! [`Options`]: each value becomes an [`Arg`] without any judgement. Each configuration type reads
//! its fields from there with its defaults and bounds (`ThrottleConfig::from_options`, ...), so a
//! negative TTL, a fraction, a bool where a number belongs or a name that does not exist is the
//! same `invalid_config` error, with the option named in the host's spelling, in both languages.
//! [`defaults`] lists every default, for the documentation checks of both bindings.

use std::borrow::Cow;
use std::ops::RangeInclusive;

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Upper bound of durations and counts in seconds (about 34 years); each option narrows it.
pub const MAX_SECONDS: u64 = 1 << 30;
/// Upper bound of `now` and `after_step` arguments (seconds since the epoch, or time steps).
pub const MAX_TIME: u64 = 1 << 40;
/// Upper bound of the argon2 parameters.
pub const MAX_U32: u64 = u32::MAX as u64;

/// A host value as a binding received it.
#[derive(Clone)]
pub enum Arg {
    Bool(bool),
    /// An integer: a Python `int` within `i128`, or a JavaScript number without a fraction.
    Int(i128),
    /// A Python `float`, or a JavaScript number with a fraction (or NaN, or an infinity).
    Float(f64),
    Text(String),
    /// A string the host holds that is not valid Unicode (a lone surrogate).
    BadText,
    Bytes(Zeroizing<Vec<u8>>),
    List(Vec<Arg>),
    /// Anything else (a huge int, a dict, an object), named by its type for the message.
    Other(String),
}

impl Arg {
    fn kind(&self) -> Cow<'_, str> {
        match self {
            Arg::Bool(_) => "a bool".into(),
            Arg::Int(_) => "an integer".into(),
            Arg::Float(_) => "a fractional number".into(),
            Arg::Text(_) | Arg::BadText => "a string".into(),
            Arg::Bytes(_) => "bytes".into(),
            Arg::List(_) => "a list".into(),
            Arg::Other(t) => Cow::Owned(format!("a {t}")),
        }
    }
}

/// How the host spells option names: Python `snake_case`, JavaScript `camelCase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Snake,
    Camel,
}

impl Case {
    /// `name` (core's snake_case) as the host spells it.
    pub fn spell(self, name: &str) -> Cow<'_, str> {
        match self {
            Case::Snake => Cow::Borrowed(name),
            Case::Camel => {
                let mut out = String::with_capacity(name.len());
                let mut upper = false;
                for c in name.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

/// Whether a bad value is a setting (`invalid_config`) or a per-call argument (`invalid_input`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Setting,
    Input,
}

impl Role {
    fn error(self, message: String) -> Error {
        match self {
            Role::Setting => Error::InvalidConfig(message),
            Role::Input => Error::InvalidInput(message),
        }
    }
}

/// A whole number in `bounds`, else the reason.
pub fn whole_of(arg: &Arg, bounds: &RangeInclusive<i128>) -> std::result::Result<i128, String> {
    match arg {
        Arg::Int(i) if bounds.contains(i) => Ok(*i),
        Arg::Int(_) => Err("out of range".into()),
        other => Err(format!("got {}", other.kind())),
    }
}

/// A finite number of seconds (whole or fractional) in `0..=max`, else the reason.
pub fn seconds_of(arg: &Arg, max: f64) -> std::result::Result<f64, String> {
    let v = match arg {
        Arg::Int(i) => *i as f64,
        Arg::Float(f) => *f,
        other => return Err(format!("got {}", other.kind())),
    };
    if v.is_finite() && (0.0..=max).contains(&v) {
        Ok(v)
    } else {
        Err("out of range".into())
    }
}

/// Judges one argument that is not part of an options object (`now=`, a TTL per call): a whole
/// number in `bounds`, else `role`'s error naming `what`.
pub fn whole<T: TryFrom<i128>>(
    arg: &Arg,
    what: &str,
    bounds: RangeInclusive<i128>,
    role: Role,
) -> Result<T> {
    whole_of(arg, &bounds)
        .and_then(|v| T::try_from(v).map_err(|_| "out of range".to_owned()))
        .map_err(|why| {
            role.error(format!(
                "{what} must be a whole number from {} to {} ({why})",
                bounds.start(),
                bounds.end()
            ))
        })
}

/// [`whole`] for a duration that may be fractional.
pub fn seconds(arg: &Arg, what: &str, max: f64, role: Role) -> Result<f64> {
    seconds_of(arg, max).map_err(|why| {
        let upto = if max == f64::MAX {
            String::from("0 or more")
        } else {
            format!("from 0 to {max}")
        };
        role.error(format!(
            "{what} must be a finite number of seconds, {upto} ({why})"
        ))
    })
}

/// The options a binding received for one constructor, in the host's spelling. Read each field
/// once with its default and bounds, then [`Options::finish`] refuses the names nobody read.
pub struct Options {
    case: Case,
    what: &'static str,
    entries: Vec<(String, Arg)>,
}

impl Options {
    /// Options of `what` (the type, for messages) spelled in `case`.
    pub fn new(what: &'static str, case: Case) -> Self {
        Options {
            case,
            what,
            entries: Vec::new(),
        }
    }

    /// Adds a value the caller gave (a binding leaves out absent ones: `None`, `undefined`).
    pub fn push(&mut self, name: impl Into<String>, value: Arg) {
        self.entries.push((name.into(), value));
    }

    fn take(&mut self, name: &str) -> Option<(String, Arg)> {
        let spelled = self.case.spell(name);
        let at = self.entries.iter().position(|(k, _)| *k == spelled)?;
        Some(self.entries.swap_remove(at))
    }

    fn refuse(&self, name: &str, rule: impl std::fmt::Display, why: &str) -> Error {
        Error::InvalidConfig(format!(
            "{}: {} must be {rule} ({why})",
            self.what,
            self.case.spell(name)
        ))
    }

    /// A whole number in `bounds` (default `default`).
    pub fn whole<T: TryFrom<i128>>(
        &mut self,
        name: &str,
        default: T,
        bounds: RangeInclusive<i128>,
    ) -> Result<T> {
        let Some((_, arg)) = self.take(name) else {
            return Ok(default);
        };
        whole_of(&arg, &bounds)
            .and_then(|v| T::try_from(v).map_err(|_| "out of range".to_owned()))
            .map_err(|why| {
                let rule = format!("a whole number from {} to {}", bounds.start(), bounds.end());
                self.refuse(name, rule, &why)
            })
    }

    /// A finite, non-negative number of seconds up to `max`, fractions allowed.
    pub fn seconds(&mut self, name: &str, default: f64, max: f64) -> Result<f64> {
        let Some((_, arg)) = self.take(name) else {
            return Ok(default);
        };
        seconds_of(&arg, max).map_err(|why| {
            let rule = format!("a finite number of seconds from 0 to {max}");
            self.refuse(name, rule, &why)
        })
    }

    /// A bool.
    pub fn flag(&mut self, name: &str, default: bool) -> Result<bool> {
        match self.take(name) {
            None => Ok(default),
            Some((_, Arg::Bool(b))) => Ok(b),
            Some((_, other)) => Err(self.refuse(name, "a bool", &format!("got {}", other.kind()))),
        }
    }

    /// A string, if given.
    pub fn text(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some((_, Arg::Text(s))) => Ok(Some(s)),
            Some((_, Arg::BadText)) => {
                Err(self.refuse(name, "a string", "not well-formed Unicode (lone surrogate)"))
            }
            Some((_, other)) => {
                Err(self.refuse(name, "a string", &format!("got {}", other.kind())))
            }
        }
    }

    /// A string, or a list of strings (an audience).
    pub fn texts(&mut self, name: &str) -> Result<Option<Vec<String>>> {
        let rule = "a string or a list of strings";
        match self.take(name) {
            None => Ok(None),
            Some((_, Arg::Text(s))) => Ok(Some(vec![s])),
            Some((_, Arg::List(items))) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Arg::Text(s) => out.push(s),
                        other => {
                            return Err(self.refuse(
                                name,
                                rule,
                                &format!("an item is {}", other.kind()),
                            ))
                        }
                    }
                }
                Ok(Some(out))
            }
            Some((_, other)) => Err(self.refuse(name, rule, &format!("got {}", other.kind()))),
        }
    }

    /// Bytes (a key, a pepper), if given.
    pub fn bytes(&mut self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.take(name) {
            None => Ok(None),
            Some((_, Arg::Bytes(b))) => Ok(Some(b)),
            Some((_, other)) => Err(self.refuse(name, "bytes", &format!("got {}", other.kind()))),
        }
    }

    /// Bytes, or a string taken as its UTF-8 bytes (a pepper), if given.
    pub fn bytes_or_text(&mut self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.take(name) {
            Some((_, Arg::Text(s))) => Ok(Some(Zeroizing::new(s.into_bytes()))),
            Some((k, other)) => {
                self.entries.push((k, other));
                self.bytes(name)
            }
            None => Ok(None),
        }
    }

    /// Refuses any option that was given but not read: a misspelt name must not be ignored.
    pub fn finish(self) -> Result<()> {
        match self.entries.first() {
            None => Ok(()),
            Some((name, _)) => Err(Error::InvalidConfig(format!(
                "{}: unknown option {name:?}",
                self.what
            ))),
        }
    }
}

impl Arg {
    /// A JSON value as an option value (`null` is absent: `None`).
    pub fn from_json(value: Value) -> Option<Arg> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => Arg::Bool(b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Arg::Int(i.into()),
                (_, Some(u), _) => Arg::Int(u.into()),
                (_, _, Some(f)) => Arg::Float(f),
                _ => Arg::Other("number".into()),
            },
            Value::String(s) => Arg::Text(s),
            Value::Array(items) => Arg::List(
                items
                    .into_iter()
                    .map(|i| Arg::from_json(i).unwrap_or(Arg::Other("null".into())))
                    .collect(),
            ),
            Value::Object(_) => Arg::Other("object".into()),
        })
    }
}

impl Options {
    /// The options in a JSON object with snake_case names (a configuration file).
    pub fn from_json(what: &'static str, value: Value) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::InvalidConfig(format!(
                "{what}: options must be an object"
            )));
        };
        let mut o = Options::new(what, Case::Snake);
        for (name, v) in map {
            if let Some(arg) = Arg::from_json(v) {
                o.push(name, arg);
            }
        }
        Ok(o)
    }
}

/// `serde::Deserialize` for a configuration through its `from_options`, so a configuration read
/// from a file obeys the same defaults, bounds and unknown-name rule as the bindings' options.
macro_rules! deserialize_with_options {
    ($ty:ty, $what:literal) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                crate::options::Options::from_json($what, value)
                    .and_then(<$ty>::from_options)
                    .map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use deserialize_with_options;

/// Every default of every option, by type and snake_case name: what the bindings' documentation
/// (`_native.pyi`, the TypeScript option types) states, checked by a test in each suite.
pub fn defaults() -> Value {
    use crate::{
        mfa::MfaConfig, onetime, password::HasherConfig, password::PolicyConfig,
        remote::RemoteConfig, session::SessionsConfig, store::OpenOptions,
        throttle::ThrottleConfig, token::TokensConfig, totp::TotpConfig,
    };
    let h = HasherConfig::default();
    let p = PolicyConfig::default();
    let r = RemoteConfig::new("");
    let s = SessionsConfig::default();
    let th = ThrottleConfig::default();
    let t = TokensConfig::new("", Vec::new());
    let totp = TotpConfig::default();
    json!({
        "PasswordHasher": {
            "time_cost": h.time_cost,
            "memory_kib": h.memory_kib,
            "parallelism": h.parallelism,
            "max_memory_kib": h.max_memory_kib,
        },
        "PasswordPolicy": {
            "min_length": p.min_length,
            "min_length_mfa": p.min_length_mfa,
            "max_length": p.max_length,
            "use_builtin_blocklist": p.use_builtin_blocklist,
        },
        "Totp": {
            "issuer": totp.issuer,
            "digits": totp.digits,
            "period": totp.period,
            "algorithm": totp.algorithm.name(),
            "window": totp.window,
        },
        "Tokens": {
            "access_ttl": t.access_ttl,
            "leeway": t.leeway,
            "max_token_size": t.max_token_size,
            "allow_rsa_pkcs1_signing": t.allow_rsa_pkcs1_signing,
            "verify_cache": t.verify_cache,
            "require_typ": t.require_typ,
        },
        "RemoteKeySet": {
            "cache_ttl": r.cache_ttl,
            "cooldown": r.cooldown,
            "timeout": r.timeout_ms as f64 / 1000.0,
            "max_stale": r.max_stale,
            "allow_insecure_http": r.allow_insecure_http,
        },
        "Sessions": {
            "refresh_ttl": s.refresh_ttl,
            "idle_ttl": s.idle_ttl,
            "reuse_grace": s.reuse_grace,
        },
        "Throttle": {
            "free_attempts": th.free_attempts,
            "base_delay": th.base_delay,
            "max_delay": th.max_delay,
            "max_failures": th.max_failures,
            "reset_after": th.reset_after,
        },
        "Mfa": { "enrollment_ttl": MfaConfig::default().enrollment_ttl },
        "OneTimeTokens.issue": { "ttl": onetime::DEFAULT_TTL },
        "KeySet.generate": { "alg": crate::keys::DEFAULT_ALG.name() },
        "KeySet.from_secret": { "alg": crate::keys::DEFAULT_SECRET_ALG.name() },
        "KeySet.verify_jws": { "max_size": crate::jws::DEFAULT_MAX_SIZE },
        "Tokens.verify": {
            "typ": crate::token::VerifyOptions::default().typ,
            "required": crate::token::VerifyOptions::default().required,
        },
        "Store.open": { "url": crate::store::DEFAULT_URL, "migrate": OpenOptions::default().migrate },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_spelling() {
        assert_eq!(Case::Camel.spell("free_attempts"), "freeAttempts");
        assert_eq!(
            Case::Camel.spell("allow_rsa_pkcs1_signing"),
            "allowRsaPkcs1Signing"
        );
        assert_eq!(Case::Snake.spell("max_memory_kib"), "max_memory_kib");
    }

    #[test]
    fn options_judge_type_range_and_unknown_names() {
        let mut o = Options::new("Throttle", Case::Camel);
        o.push("freeAttempts", Arg::Int(-1));
        let e = o.whole::<i64>("free_attempts", 5, 0..=10).unwrap_err();
        assert_eq!(e.code(), "invalid_config");
        assert!(e.to_string().contains("freeAttempts"), "{e}");

        let mut o = Options::new("Throttle", Case::Snake);
        o.push("base_delay", Arg::Bool(true));
        o.push("max_delay", Arg::Float(1.5));
        assert!(o.whole::<i64>("base_delay", 1, 0..=10).is_err());
        assert!(o.whole::<i64>("max_delay", 1, 0..=10).is_err());
        assert_eq!(o.whole::<i64>("reset_after", 7, 0..=10).unwrap(), 7);

        let mut o = Options::new("Throttle", Case::Snake);
        o.push("max_delya", Arg::Int(3));
        assert_eq!(o.whole::<i64>("max_delay", 9, 0..=10).unwrap(), 9);
        let e = o.finish().unwrap_err();
        assert!(e.to_string().contains("max_delya"), "{e}");
    }

    #[test]
    fn seconds_accept_fractions_but_not_nan() {
        let mut o = Options::new("RemoteKeySet", Case::Snake);
        o.push("timeout", Arg::Float(0.25));
        assert_eq!(o.seconds("timeout", 5.0, 60.0).unwrap(), 0.25);
        for bad in [
            Arg::Float(f64::NAN),
            Arg::Float(-0.5),
            Arg::Text("1".into()),
        ] {
            let mut o = Options::new("RemoteKeySet", Case::Snake);
            o.push("timeout", bad);
            assert!(o.seconds("timeout", 5.0, 60.0).is_err());
        }
    }

    #[test]
    fn configurations_deserialise_with_the_same_rules() {
        use crate::{
            password::HasherConfig, remote::RemoteConfig, session::SessionsConfig,
            throttle::ThrottleConfig, token::TokensConfig,
        };
        let t: ThrottleConfig = serde_json::from_str(r#"{"free_attempts": 3}"#).unwrap();
        assert_eq!((t.free_attempts, t.max_delay), (3, 900));
        for bad in [
            r#"{"free_attempts": -1}"#,
            r#"{"free_atempts": 3}"#,
            r#"{"base_delay": 1.5}"#,
        ] {
            assert!(
                serde_json::from_str::<ThrottleConfig>(bad).is_err(),
                "{bad}"
            );
        }
        let s: SessionsConfig = serde_json::from_str(r#"{"reuse_grace": null}"#).unwrap();
        assert_eq!(s.reuse_grace, 0);
        let k: TokensConfig =
            serde_json::from_str(r#"{"issuer": "https://i", "audience": ["a", "b"], "leeway": 5}"#)
                .unwrap();
        assert_eq!((k.audience.len(), k.leeway, k.access_ttl), (2, 5, 900));
        assert!(serde_json::from_str::<TokensConfig>(r#"{"audience": "a"}"#).is_err());
        let r: RemoteConfig =
            serde_json::from_str(r#"{"url": "https://i/jwks", "timeout": 0.5}"#).unwrap();
        assert_eq!((r.url.as_str(), r.timeout_ms), ("https://i/jwks", 500));
        let h: HasherConfig = serde_json::from_str(r#"{"pepper": "p"}"#).unwrap();
        assert_eq!(h.pepper.as_deref().map(Vec::as_slice), Some(&b"p"[..]));
    }

    #[test]
    fn defaults_name_every_configurable_type() {
        let d = defaults();
        assert_eq!(d["Throttle"]["free_attempts"], 5);
        assert_eq!(d["Sessions"]["refresh_ttl"], 30 * 86_400);
        assert_eq!(d["Store.open"]["url"], "sqlite://polyauth.db");
    }
}
