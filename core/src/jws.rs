//! Compact JWS (RFC 7515) signing and hardened verification: strict compact form and base64url
//! (JWT-9), `none` and unknown `crit` refused (JWT-1, JWT-5), duplicate header names refused,
//! `b64: false` refused, the key chosen only among configured keys and fixing the algorithm
//! (JWT-2, JWT-4), and the signature checked before anything in the payload is read (JWT-10).

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::b64;
use crate::error::{Error, Result};
use crate::keys::{Alg, Key, KeySet};

/// A JSON object whose member names are unique (duplicates make a token ambiguous: different
/// parsers would read different values).
pub struct StrictObject(pub Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<StrictObject, A::Error> {
                let mut m = Map::new();
                while let Some(k) = a.next_key::<String>()? {
                    if m.contains_key(&k) {
                        return Err(de::Error::custom("duplicate member name"));
                    }
                    let v: Value = a.next_value()?;
                    m.insert(k, v);
                }
                Ok(StrictObject(m))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses a JSON object, refusing duplicate member names.
pub fn parse_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>> {
    serde_json::from_slice::<StrictObject>(bytes)
        .map(|o| o.0)
        .map_err(|e| {
            if e.to_string().contains("duplicate member") {
                Error::InvalidToken(format!("duplicate member name in {what}"))
            } else {
                Error::InvalidToken(format!("{what} is not a JSON object"))
            }
        })
}

/// The protected header: the members polyauth acts on, and every member as parsed, so that
/// callers of [`verify`] can check `typ`, `cty` or their own members (JWT-13).
#[derive(Debug, Clone)]
pub struct Header {
    pub alg: Alg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    /// Every member of the protected header (names unique), `alg`/`kid`/`typ` included.
    pub protected: Map<String, Value>,
}

/// A compact JWS split into its decoded parts; nothing verified yet.
pub struct Parts<'a> {
    pub header: Header,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn invalid(msg: &str) -> Error {
    Error::InvalidToken(msg.into())
}

/// Splits and decodes a compact JWS, checking the header. `max_size` bounds the work done on
/// hostile input before anything is decoded.
pub fn parse(token: &str, max_size: usize) -> Result<Parts<'_>> {
    if token.len() > max_size {
        return Err(invalid("token larger than the configured maximum"));
    }
    let mut it = token.split('.');
    let (h, p, s) = match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => return Err(invalid("not a compact JWS (three dot-separated parts)")),
    };
    if h.is_empty() {
        return Err(invalid("empty header"));
    }
    let header_bytes = b64::decode(h).ok_or_else(|| invalid("header is not base64url"))?;
    let payload = b64::decode(p).ok_or_else(|| invalid("payload is not base64url"))?;
    let signature = b64::decode(s).ok_or_else(|| invalid("signature is not base64url"))?;
    let header = parse_header(&header_bytes)?;
    Ok(Parts {
        header,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload,
        signature,
    })
}

fn parse_header(bytes: &[u8]) -> Result<Header> {
    let m = parse_object(bytes, "header")?;
    let alg = match m.get("alg") {
        Some(Value::String(a)) if a.eq_ignore_ascii_case("none") => {
            return Err(Error::UnsupportedAlgorithm("none".into()))
        }
        Some(Value::String(a)) => Alg::parse(a)?,
        _ => return Err(invalid("header \"alg\" missing or not a string")),
    };
    // No extensions are understood, so any critical one is unknown (RFC 7515 §4.1.11).
    if m.contains_key("crit") {
        return Err(invalid("unsupported critical header parameter"));
    }
    // RFC 7797 unencoded payloads change what is signed; only the default is accepted.
    match m.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(_) => return Err(invalid("\"b64\": false is not supported")),
    }
    let string = |name: &str| -> Result<Option<String>> {
        match m.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::InvalidToken(format!(
                "header \"{name}\" must be a string"
            ))),
        }
    };
    // `jwk`, `jku`, `x5u`, `x5c` are deliberately ignored: keys come only from configuration.
    let kid = string("kid")?;
    let typ = string("typ")?;
    Ok(Header {
        alg,
        kid,
        typ,
        protected: m,
    })
}

/// The `kid` of a token's header, if it parses; used to decide whether a remote set needs a
/// refresh before verification.
pub fn peek_kid(token: &str, max_size: usize) -> Option<String> {
    parse(token, max_size).ok().and_then(|p| p.header.kid)
}

impl Parts<'_> {
    /// Checks the signature with the configured key the header names; returns the payload.
    pub fn verify_with(self, keys: &KeySet) -> Result<(Header, Vec<u8>)> {
        let key = keys.select(self.header.kid.as_deref())?;
        if key.alg() != self.header.alg {
            return Err(Error::UnsupportedAlgorithm(format!(
                "token algorithm {} does not match the key's {}",
                self.header.alg.name(),
                key.alg().name()
            )));
        }
        if self.signature.is_empty() || !key.verify(self.signing_input.as_bytes(), &self.signature)
        {
            return Err(Error::InvalidSignature);
        }
        Ok((self.header, self.payload))
    }
}

/// Verifies a compact JWS against a key set; returns the protected header (with every member in
/// [`Header::protected`]) and the payload bytes. No claim is checked: a caller that accepts more
/// than one kind of JWS must check `typ` itself (JWT-13).
/// The `max_size` of [`verify`] when the caller gives none: the default `max_token_size`.
pub const DEFAULT_MAX_SIZE: usize = 8192;
/// The largest `max_size` [`verify`] takes from a caller (1 MiB).
pub const MAX_SIZE_LIMIT: usize = 1 << 20;

pub fn verify(token: &str, keys: &KeySet, max_size: usize) -> Result<(Header, Vec<u8>)> {
    parse(token, max_size)?.verify_with(keys)
}

/// Signs `payload` with `key`; the header gets `alg`, `kid` and, when given, `typ`.
pub fn sign(payload: &[u8], key: &Key, typ: Option<&str>) -> Result<String> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.alg().name().into()));
    if let Some(t) = typ {
        header.insert("typ".into(), Value::String(t.into()));
    }
    header.insert("kid".into(), Value::String(key.kid().into()));
    let header =
        serde_json::to_vec(&header).map_err(|_| Error::Internal("header serialisation".into()))?;
    let mut out = b64::encode(header);
    out.push('.');
    out.push_str(&b64::encode(payload));
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64::encode(signature));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, payload: &str, keys: &KeySet) -> String {
        let key = keys.signing_key().unwrap();
        let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
        let sig = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(sig))
    }

    #[test]
    fn header_hardening() {
        let keys = KeySet::from_secret(&[9u8; 32], Alg::HS256, Some("k".into())).unwrap();
        let ok = token(r#"{"alg":"HS256","kid":"k"}"#, "{}", &keys);
        assert!(verify(&ok, &keys, 8192).is_ok());
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = format!(
                "{}.{}.",
                b64::encode(format!(r#"{{"alg":"{alg}"}}"#)),
                b64::encode("{}")
            );
            assert_eq!(
                verify(&t, &keys, 8192).unwrap_err().code(),
                "unsupported_algorithm",
                "{alg}"
            );
        }
        let dup = token(r#"{"alg":"HS256","kid":"k","kid":"k"}"#, "{}", &keys);
        assert_eq!(
            verify(&dup, &keys, 8192).unwrap_err().code(),
            "invalid_token"
        );
        let crit = token(
            r#"{"alg":"HS256","kid":"k","crit":["exp"],"exp":1}"#,
            "{}",
            &keys,
        );
        assert_eq!(
            verify(&crit, &keys, 8192).unwrap_err().code(),
            "invalid_token"
        );
        let b64false = token(r#"{"alg":"HS256","kid":"k","b64":false}"#, "{}", &keys);
        assert_eq!(
            verify(&b64false, &keys, 8192).unwrap_err().code(),
            "invalid_token"
        );
        assert_eq!(
            verify(&format!("{ok}!"), &keys, 8192).unwrap_err().code(),
            "invalid_token"
        );
        assert_eq!(
            verify(&format!("{ok}x"), &keys, 8192).unwrap_err().code(),
            "invalid_signature"
        );
        assert_eq!(
            verify(&format!("{ok}."), &keys, 8192).unwrap_err().code(),
            "invalid_token"
        );
        assert_eq!(verify(&ok, &keys, 10).unwrap_err().code(), "invalid_token");
        let (h, p, _) = (
            ok.split('.').next().unwrap(),
            ok.split('.').nth(1).unwrap(),
            (),
        );
        assert_eq!(
            verify(&format!("{h}.{p}."), &keys, 8192)
                .unwrap_err()
                .code(),
            "invalid_signature"
        );
        let unknown = token(r#"{"alg":"HS256","kid":"other"}"#, "{}", &keys);
        assert_eq!(
            verify(&unknown, &keys, 8192).unwrap_err().code(),
            "unknown_key"
        );
        let nokid = token(r#"{"alg":"HS256"}"#, "{}", &keys);
        assert!(
            verify(&nokid, &keys, 8192).is_ok(),
            "single-key set without kid"
        );
    }
}
