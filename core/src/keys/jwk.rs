//! JWK import and export (RFC 7517/7518/8037) and RFC 7638 thumbprints.

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{der, key_err, Alg, Key, Material};
use crate::b64;
use crate::error::{Error, Result};

fn field<'a>(jwk: &'a Value, name: &str) -> Result<Option<&'a str>> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::InvalidKey(format!(
            "JWK member \"{name}\" must be a string"
        ))),
    }
}

fn bytes(jwk: &Value, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    match field(jwk, name)? {
        None => Ok(None),
        Some(s) => b64::decode(s)
            .map(|v| Some(Zeroizing::new(v)))
            .ok_or_else(|| Error::InvalidKey(format!("JWK member \"{name}\" is not base64url"))),
    }
}

fn required(jwk: &Value, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    bytes(jwk, name)?.ok_or_else(|| Error::InvalidKey(format!("JWK member \"{name}\" is missing")))
}

/// Parses a JWK's `alg`, tolerating "ES521", a misspelling of ES512 found in published key sets.
fn parse_alg(name: &str) -> Result<Alg> {
    match name {
        "ES521" => Ok(Alg::ES512),
        "Ed25519" => Ok(Alg::EdDSA),
        other => Alg::parse(other).map_err(|_| {
            Error::InvalidKey("JWK \"alg\" is not a supported signature algorithm".into())
        }),
    }
}

/// Imports one JWK. `default_alg` applies when the JWK has no `alg`.
pub fn import(jwk: &Value, default_alg: Option<Alg>) -> Result<Key> {
    if !jwk.is_object() {
        return Err(key_err("a JWK must be a JSON object"));
    }
    if let Some(u) = field(jwk, "use")? {
        if u != "sig" {
            return Err(key_err("JWK \"use\" is not \"sig\""));
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops
            .as_array()
            .ok_or_else(|| key_err("JWK \"key_ops\" must be an array"))?;
        if !ops.iter().any(|o| o == "verify" || o == "sign") {
            return Err(key_err("JWK \"key_ops\" allows neither sign nor verify"));
        }
    }
    if jwk.get("oth").is_some() {
        return Err(key_err("multi-prime RSA keys are not supported"));
    }
    let kid = field(jwk, "kid")?.map(str::to_owned);
    let jwk_alg = field(jwk, "alg")?.map(parse_alg).transpose()?;
    if let (Some(a), Some(b)) = (jwk_alg, default_alg) {
        if a != b {
            return Err(key_err("JWK \"alg\" differs from the requested algorithm"));
        }
    }
    let alg = jwk_alg.or(default_alg);
    let kty = field(jwk, "kty")?.ok_or_else(|| key_err("JWK \"kty\" is missing"))?;
    let crv = field(jwk, "crv")?;
    let (alg, material) = match kty {
        "OKP" => {
            if crv != Some("Ed25519") {
                return Err(key_err("only Ed25519 OKP keys are supported"));
            }
            let alg = alg.unwrap_or(Alg::EdDSA);
            if alg != Alg::EdDSA {
                return Err(key_err("Ed25519 keys serve EdDSA only"));
            }
            let x = required(jwk, "x")?;
            let pair = match bytes(jwk, "d")? {
                Some(d) => Some(
                    Ed25519KeyPair::from_seed_and_public_key(&d, &x)
                        .map_err(|_| key_err("Ed25519 private key does not match x"))?,
                ),
                None => None,
            };
            (alg, Key::ed25519_material(&x, pair)?)
        }
        "EC" => {
            let curve_alg = match crv {
                Some("P-256") => Alg::ES256,
                Some("P-384") => Alg::ES384,
                Some("P-521") => Alg::ES512,
                _ => return Err(key_err("unsupported EC curve")),
            };
            let alg = alg.unwrap_or(curve_alg);
            if alg != curve_alg {
                return Err(key_err("EC curve does not match the algorithm"));
            }
            let (x, y) = (required(jwk, "x")?, required(jwk, "y")?);
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let pair = match bytes(jwk, "d")? {
                Some(d) => {
                    let (signing, _, _) =
                        alg.ecdsa().ok_or_else(|| key_err("not an EC algorithm"))?;
                    Some(
                        EcdsaKeyPair::from_private_key_and_public_key(signing, &d, &point)
                            .map_err(|_| {
                                key_err("EC private key does not match its public point")
                            })?,
                    )
                }
                None => None,
            };
            (alg, Key::ec_material(alg, &point, pair)?)
        }
        "RSA" => {
            let alg =
                alg.ok_or_else(|| key_err("RSA JWKs need \"alg\" (a key serves one algorithm)"))?;
            if alg.rsa().is_none() {
                return Err(key_err("RSA keys serve PS*/RS* algorithms only"));
            }
            let (n, e) = (required(jwk, "n")?, required(jwk, "e")?);
            let pair = match bytes(jwk, "d")? {
                Some(d) => {
                    let get = |name| required(jwk, name);
                    let (p, q, dp, dq, qi) =
                        (get("p")?, get("q")?, get("dp")?, get("dq")?, get("qi")?);
                    let components = aws_lc_rs::rsa::KeyPairComponents {
                        public_key: aws_lc_rs::rsa::PublicKeyComponents {
                            n: super::strip_zeros(&n),
                            e: super::strip_zeros(&e),
                        },
                        d: d.as_slice(),
                        p: p.as_slice(),
                        q: q.as_slice(),
                        dP: dp.as_slice(),
                        dQ: dq.as_slice(),
                        qInv: qi.as_slice(),
                    };
                    Some(
                        RsaKeyPair::from_components(&components)
                            .map_err(|_| key_err("inconsistent RSA private key"))?,
                    )
                }
                None => None,
            };
            (alg, Key::rsa_material(alg, &n, &e, pair)?)
        }
        "oct" => {
            let alg = alg.ok_or_else(|| key_err("oct JWKs need \"alg\""))?;
            let k = required(jwk, "k")?;
            return Key::from_secret(&k, alg, kid);
        }
        _ => return Err(key_err("unsupported JWK \"kty\"")),
    };
    Key::finish(alg, kid, material)
}

/// The JWK of `key`; private members only when `private`.
pub fn export(key: &Key, private: bool) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_owned(), Value::String(v));
    };
    match &key.material {
        Material::Hmac { secret, .. } => {
            put("kty", "oct".into());
            if private {
                put("k", b64::encode(secret.as_slice()));
            }
        }
        Material::Ed25519 { x, pair, .. } => {
            put("kty", "OKP".into());
            put("crv", "Ed25519".into());
            put("x", b64::encode(x));
            if let (true, Some(pair)) = (private, pair) {
                if let Ok(seed) = pair.seed().and_then(|s| s.as_be_bytes()) {
                    put("d", b64::encode(seed.as_ref()));
                }
            }
        }
        Material::Ec { point, pair, .. } => {
            let coord = (point.len() - 1) / 2;
            put("kty", "EC".into());
            put("crv", key.alg.ecdsa().map_or("", |(_, _, c)| c).into());
            put("x", b64::encode(&point[1..=coord]));
            put("y", b64::encode(&point[1 + coord..]));
            if let (true, Some(pair)) = (private, pair) {
                if let Ok(d) = pair.private_key().as_be_bytes() {
                    put("d", b64::encode(d.as_ref()));
                }
            }
        }
        Material::Rsa { n, e, .. } => {
            put("kty", "RSA".into());
            put("n", b64::encode(n));
            put("e", b64::encode(e));
            if private {
                if let Ok(der_bytes) = key.private_pkcs8() {
                    if let Ok([_, _, d, p, q, dp, dq, qi]) = der::parse_rsa_pkcs8(&der_bytes) {
                        for (name, v) in [
                            ("d", d),
                            ("p", p),
                            ("q", q),
                            ("dp", dp),
                            ("dq", dq),
                            ("qi", qi),
                        ] {
                            put(name, b64::encode(Zeroizing::new(v).as_slice()));
                        }
                    }
                }
            }
        }
    }
    put("kid", key.kid.clone());
    put("alg", key.alg.name().into());
    put("use", "sig".into());
    Value::Object(m)
}

/// RFC 7638 SHA-256 thumbprint, base64url.
pub fn thumbprint(key: &Key) -> String {
    let canonical = match &key.material {
        Material::Hmac { secret, .. } => format!(
            r#"{{"k":"{}","kty":"oct"}}"#,
            b64::encode(secret.as_slice())
        ),
        Material::Ed25519 { x, .. } => format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            b64::encode(x)
        ),
        Material::Ec { point, .. } => {
            let coord = (point.len() - 1) / 2;
            format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                key.alg.ecdsa().map_or("", |(_, _, c)| c),
                b64::encode(&point[1..=coord]),
                b64::encode(&point[1 + coord..])
            )
        }
        Material::Rsa { n, e, .. } => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64::encode(e),
            b64::encode(n)
        ),
    };
    let canonical = Zeroizing::new(canonical);
    b64::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({
            "kty": "RSA", "alg": "RS256",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB"
        });
        let key = import(&jwk, None).unwrap();
        assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn roundtrip_private_and_public() {
        for alg in [Alg::EdDSA, Alg::ES256, Alg::ES384, Alg::PS256, Alg::HS384] {
            let key = Key::generate(alg, None).unwrap();
            let private = export(&key, true);
            let back = import(&private, None).unwrap();
            assert_eq!(back.kid(), key.kid());
            let sig = back.sign(b"m").unwrap();
            assert!(key.verify(b"m", &sig), "{alg:?}");
            if !alg.is_hmac() {
                let public = import(&export(&key, false), None).unwrap();
                assert!(!public.has_private());
                assert!(public.verify(b"m", &sig));
                assert!(export(&key, false).get("d").is_none());
            }
        }
    }

    #[test]
    fn curve_and_alg_must_agree() {
        let key = Key::generate(Alg::ES256, None).unwrap();
        let mut jwk = export(&key, false);
        jwk["alg"] = "ES384".into();
        assert_eq!(import(&jwk, None).unwrap_err().code(), "invalid_key");
        jwk["alg"] = "ES256".into();
        assert_eq!(
            import(&jwk, Some(Alg::ES384)).unwrap_err().code(),
            "invalid_key"
        );
        jwk["use"] = "enc".into();
        assert_eq!(import(&jwk, None).unwrap_err().code(), "invalid_key");
    }
}
