//! PEM import (PKCS#8 private keys, SPKI public keys) and export.

use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use super::{der, key_err, Alg, Key};
use crate::error::Result;

/// Extracts the DER of the single PEM block with one of `labels`.
fn block(text: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
    let text = text.trim();
    let begin = text
        .strip_prefix("-----BEGIN ")
        .ok_or_else(|| key_err("not PEM"))?;
    let (label, rest) = begin
        .split_once("-----")
        .ok_or_else(|| key_err("malformed PEM header"))?;
    let end_marker = format!("-----END {label}-----");
    let body = rest
        .strip_suffix(end_marker.as_str())
        .ok_or_else(|| key_err("PEM end marker missing or mismatched (one key per PEM)"))?;
    let b64: Zeroizing<String> =
        Zeroizing::new(body.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    let der = STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| key_err("PEM body is not base64"))?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

fn pick(alg: Option<Alg>, inferred: Alg) -> Result<Alg> {
    match alg {
        None => Ok(inferred),
        Some(a) if a == inferred => Ok(a),
        Some(_) => Err(key_err("the key does not serve the requested algorithm")),
    }
}

pub fn import(text: &str, alg: Option<Alg>, kid: Option<String>) -> Result<Key> {
    let (label, der_bytes) = block(text)?;
    match label.as_str() {
        "PRIVATE KEY" => private(&der_bytes, alg, kid),
        "PUBLIC KEY" => public(&der_bytes, alg, kid),
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PUBLIC KEY" => Err(key_err(
            "legacy PEM formats are not read; convert to PKCS#8 (\"PRIVATE KEY\") or SPKI (\"PUBLIC KEY\")",
        )),
        _ => Err(key_err("unsupported PEM label")),
    }
}

fn private(pkcs8: &[u8], alg: Option<Alg>, kid: Option<String>) -> Result<Key> {
    if let Ok(pair) = Ed25519KeyPair::from_pkcs8(pkcs8) {
        let alg = pick(alg, Alg::EdDSA)?;
        let x = pair.public_key().as_ref().to_vec();
        return Key::finish(alg, kid, Key::ed25519_material(&x, Some(pair))?);
    }
    for curve in [Alg::ES256, Alg::ES384, Alg::ES512] {
        let (signing, _, _) = curve.ecdsa().ok_or_else(|| key_err("EC"))?;
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(signing, pkcs8) {
            let alg = pick(alg, curve)?;
            let point = pair.public_key().as_ref().to_vec();
            return Key::finish(alg, kid, Key::ec_material(alg, &point, Some(pair))?);
        }
    }
    if let Ok(pair) = RsaKeyPair::from_pkcs8(pkcs8) {
        let alg = alg.ok_or_else(|| {
            key_err("RSA keys need an explicit alg (PS256/384/512 or RS256/384/512)")
        })?;
        return Key::finish(alg, kid, Key::rsa_material_from_pair(alg, pair)?);
    }
    Err(key_err("unsupported or malformed PKCS#8 private key"))
}

fn public(spki_der: &[u8], alg: Option<Alg>, kid: Option<String>) -> Result<Key> {
    let spki = der::parse_spki(spki_der)?;
    if spki.algorithm == der::OID_ED25519 {
        let alg = pick(alg, Alg::EdDSA)?;
        return Key::finish(alg, kid, Key::ed25519_material(spki.key, None)?);
    }
    if spki.algorithm == der::OID_EC {
        let curve = match spki.parameter {
            Some(p) if p == der::OID_P256 => Alg::ES256,
            Some(p) if p == der::OID_P384 => Alg::ES384,
            Some(p) if p == der::OID_P521 => Alg::ES512,
            _ => return Err(key_err("unsupported EC curve")),
        };
        let alg = pick(alg, curve)?;
        return Key::finish(alg, kid, Key::ec_material(alg, spki.key, None)?);
    }
    if spki.algorithm == der::OID_RSA {
        let alg = alg.ok_or_else(|| {
            key_err("RSA keys need an explicit alg (PS256/384/512 or RS256/384/512)")
        })?;
        let (n, e) = der::parse_rsa_public(spki.key)?;
        return Key::finish(alg, kid, Key::rsa_material(alg, &n, &e, None)?);
    }
    Err(key_err("unsupported public key algorithm"))
}

fn wrap(label: &str, der_bytes: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(STANDARD.encode(der_bytes));
    let mut out = Zeroizing::new(format!("-----BEGIN {label}-----\n"));
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub fn export(key: &Key, private: bool) -> Result<Zeroizing<String>> {
    if private {
        return Ok(wrap("PRIVATE KEY", &key.private_pkcs8()?));
    }
    use super::Material;
    let (alg_id, bits) = match &key.material {
        Material::Hmac { .. } => return Err(key_err("HMAC keys have no public form")),
        Material::Ed25519 { x, .. } => (
            der::tlv(der::TAG_SEQUENCE, &der::tlv(der::TAG_OID, der::OID_ED25519)),
            x.clone(),
        ),
        Material::Ec { point, .. } => {
            let curve = match key.alg {
                Alg::ES256 => der::OID_P256,
                Alg::ES384 => der::OID_P384,
                _ => der::OID_P521,
            };
            let id = [
                der::tlv(der::TAG_OID, der::OID_EC),
                der::tlv(der::TAG_OID, curve),
            ]
            .concat();
            (der::tlv(der::TAG_SEQUENCE, &id), point.clone())
        }
        Material::Rsa { n, e, .. } => {
            let id = [
                der::tlv(der::TAG_OID, der::OID_RSA),
                der::tlv(der::TAG_NULL, &[]),
            ]
            .concat();
            let rsa = der::tlv(der::TAG_SEQUENCE, &[der::uint(n), der::uint(e)].concat());
            (der::tlv(der::TAG_SEQUENCE, &id), rsa)
        }
    };
    let bit_string = der::tlv(der::TAG_BIT_STRING, &[&[0u8][..], &bits].concat());
    let spki = der::tlv(der::TAG_SEQUENCE, &[alg_id, bit_string].concat());
    Ok(wrap("PUBLIC KEY", &spki))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_roundtrip() {
        for alg in [Alg::EdDSA, Alg::ES256, Alg::ES512, Alg::PS256] {
            let key = Key::generate(alg, None).unwrap();
            let private_pem = export(&key, true).unwrap();
            assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let back = import(&private_pem, Some(alg), None).unwrap();
            assert_eq!(back.kid(), key.kid(), "{alg:?}");
            let public_pem = export(&key, false).unwrap();
            let public = import(&public_pem, Some(alg), None).unwrap();
            assert_eq!(public.kid(), key.kid(), "{alg:?}");
            let s = back.sign(b"x").unwrap();
            assert!(public.verify(b"x", &s));
        }
    }

    #[test]
    fn pem_rejects() {
        assert_eq!(
            import("hello", None, None).unwrap_err().code(),
            "invalid_key"
        );
        assert_eq!(
            import(
                "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
                None,
                None
            )
            .unwrap_err()
            .code(),
            "invalid_key"
        );
        let ed = export(&Key::generate(Alg::EdDSA, None).unwrap(), false).unwrap();
        assert_eq!(
            import(&ed, Some(Alg::ES256), None).unwrap_err().code(),
            "invalid_key"
        );
    }
}
