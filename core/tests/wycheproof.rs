//! Wycheproof (C2SP/wycheproof `testvectors_v1/`) conformance, read from `../shared/vectors/`
//! (see its README for the harness rules).
//!
//! * The JWS and JWK files go through the public verifier `jws::verify` with the group's key
//!   imported as configuration would import it; an import error counts as a rejection.
//! * The primitive files (HMAC, ECDSA P1363 and DER, Ed25519, RSA PKCS#1 v1.5 and PSS) sign
//!   arbitrary messages, so they go through `Key::verify`, the signature layer the JWS verifier
//!   calls with the signing input.
//!
//! `valid` must verify, `invalid` must be rejected without a panic, `acceptable` may do either.
//! Policy deviations (documented below, never silent): HMAC keys shorter than the hash are
//! refused at import (JWT-3), truncated MAC tags are rejected (JWS uses full-length tags only),
//! and DER-encoded ECDSA signatures are rejected (JWS uses R||S only, JWT-6).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use polyauth_core::b64;
use polyauth_core::jws;
use polyauth_core::keys::{import_jwk, Alg, Key, KeySet};
use serde_json::{json, Value};

/// Far above any Wycheproof JWS (the largest are a few KiB), so the size guard never decides a
/// case; 1 MiB is also the largest `max_token_size` a `Tokens` accepts.
const MAX_TOKEN: usize = 1 << 20;

/// JWS cases whose upstream labels contradict the JWS/JWA specifications or each other. They are
/// skipped (not counted as run), the test asserts they exist so this list cannot rot, and it pins
/// what polyauth does with each (`true`: accepted) so a behaviour change is noticed.
const JWS_DEFECTIVE: [(u64, bool, &str); 7] = [
    (346, false, "labelled valid, but a PS384 token checked against a key whose JWK says alg PS256: the key fixes the algorithm (JWT-2)"),
    (350, false, "same as 346 (PS384 token, PS256 key with key_ops [verify]), labelled valid"),
    (357, true, "labelled valid (correctly), but byte-identical to 367 and 370, which are labelled invalid: contradictory labels"),
    (367, true, "\"invalidBase64Padding\" labelled invalid, but byte-identical to valid 357 (the padding mutation was lost upstream)"),
    (370, true, "\"invalidBase64PaddingInPayload\" labelled invalid, but byte-identical to valid 357 (mutation lost upstream)"),
    (372, false, "\"InvalidCharacterInsertedInHeader\" ('?' in the header) labelled valid: not base64url, RFC 7515 §2 / JWT-9 require rejection"),
    (373, false, "\"InvalidCharacterInsertedInPayload\" ('?' in the payload) labelled valid: not base64url, RFC 7515 §2 / JWT-9 require rejection"),
];

#[derive(Default, Debug)]
struct Counts {
    verified: usize,
    rejected: usize,
    skipped: usize,
    failures: Vec<String>,
}

impl Counts {
    fn run(&self) -> usize {
        self.verified + self.rejected
    }

    /// Records one case: `accepted` is what polyauth did, `expected` the Wycheproof label.
    fn record(&mut self, file: &str, tc: &Value, accepted: bool, expected: Expect) {
        if accepted {
            self.verified += 1;
        } else {
            self.rejected += 1;
        }
        let ok = match expected {
            Expect::Accept => accepted,
            Expect::Reject => !accepted,
            Expect::Either => true,
        };
        if !ok {
            self.failures.push(format!(
                "{file} tcId {} ({}, {:?}, flags {}): polyauth {}",
                tc["tcId"],
                tc["result"].as_str().unwrap_or("?"),
                tc["comment"].as_str().unwrap_or(""),
                tc["flags"],
                if accepted { "ACCEPTED" } else { "rejected" }
            ));
        }
    }

    /// Prints the counts and checks that every case was accounted for.
    fn finish(self, file: &str, doc: &Value, documented_skips: usize) {
        let total = doc["numberOfTests"].as_u64().expect("numberOfTests") as usize;
        eprintln!(
            "{file}: {} cases run ({} verified, {} rejected), {} skipped, numberOfTests {total}",
            self.run(),
            self.verified,
            self.rejected,
            self.skipped
        );
        assert!(
            self.failures.is_empty(),
            "{file}: {} case(s) behaved against their label:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert_eq!(self.skipped, documented_skips, "{file}: undocumented skips");
        assert_eq!(
            self.run(),
            total - documented_skips,
            "{file}: cases run must equal numberOfTests minus documented skips"
        );
    }
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    Accept,
    Reject,
    Either,
}

fn label(tc: &Value) -> Expect {
    match tc["result"].as_str() {
        Some("valid") => Expect::Accept,
        Some("invalid") => Expect::Reject,
        Some("acceptable") => Expect::Either,
        other => panic!("unknown result label {other:?} in tcId {}", tc["tcId"]),
    }
}

fn load(name: &str) -> Option<Value> {
    let dir = common::shared_vectors()?;
    Some(common::read_json(dir.join("wycheproof").join(name)))
}

fn tests(doc: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    doc["testGroups"]
        .as_array()
        .expect("testGroups")
        .iter()
        .flat_map(|g| {
            g["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .map(move |t| (g, t))
        })
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap_or_else(|| panic!("{name} missing")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Runs `f`, turning a panic into a test failure that names the case (a panic must never be the
/// way a hostile input is rejected).
fn no_panic<T>(file: &str, tc: &Value, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| panic!("{file} tcId {}: polyauth panicked", tc["tcId"]))
}

/// An EC public JWK from an uncompressed point (`04 || X || Y`, hex).
fn ec_jwk_from_uncompressed(uncompressed_hex: &str, crv: &str) -> Value {
    let point = hex::decode(uncompressed_hex).expect("uncompressed point hex");
    assert_eq!(point[0], 4, "uncompressed point");
    let coord = (point.len() - 1) / 2;
    json!({
        "kty": "EC",
        "crv": crv,
        "x": b64::encode(&point[1..=coord]),
        "y": b64::encode(&point[1 + coord..]),
    })
}

/// The public JWK of a signature group: `publicKeyJwk` (or the RSA file's `keyJwk`), else built
/// from `publicKey`.
fn group_public_jwk(group: &Value, crv: Option<&str>) -> Value {
    if let Some(jwk) = group.get("publicKeyJwk").or_else(|| group.get("keyJwk")) {
        return jwk.clone();
    }
    let pk = &group["publicKey"];
    if let Some(u) = pk.get("uncompressed").and_then(Value::as_str) {
        return ec_jwk_from_uncompressed(u, crv.expect("EC curve"));
    }
    if let Some(x) = pk.get("pk").and_then(Value::as_str) {
        let x = hex::decode(x).expect("pk hex");
        return json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(x)});
    }
    panic!("no usable public key in group {group}");
}

// ---- JWS level -------------------------------------------------------------------------------

/// Verifies one Wycheproof `jws` (compact string, or a JSON-serialization object, passed as its
/// JSON text) against `keys`; `None` keys (import refused) means rejection.
fn jws_accepts(keys: Option<&KeySet>, jws_value: &Value) -> bool {
    let Some(keys) = keys else { return false };
    let text = match jws_value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap(),
    };
    jws::verify(&text, keys, MAX_TOKEN).is_ok()
}

#[test]
fn json_web_signature() {
    let file = "json_web_signature_test.json";
    let Some(doc) = load(file) else { return };
    let mut present = Vec::new();
    let mut counts = Counts::default();
    let mut import_refused = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let jwk = group.get("public").unwrap_or(&group["private"]);
        let keys = match import_jwk(jwk, None).and_then(|k| KeySet::from_keys(vec![k])) {
            Ok(k) => Some(k),
            Err(e) => {
                import_refused.push(format!(
                    "{} ({}): {}",
                    group["comment"].as_str().unwrap_or(""),
                    group["tests"][0]["tcId"],
                    e.code()
                ));
                None
            }
        };
        for tc in group["tests"].as_array().unwrap() {
            let id = tc["tcId"].as_u64().unwrap();
            if let Some((_, pinned, why)) = JWS_DEFECTIVE.iter().find(|(d, _, _)| *d == id) {
                let accepted = no_panic(file, tc, || jws_accepts(keys.as_ref(), &tc["jws"]));
                assert_eq!(
                    accepted, *pinned,
                    "{file} tcId {id} (documented upstream defect: {why}): polyauth's outcome changed"
                );
                present.push(id);
                counts.skipped += 1;
                continue;
            }
            let mut expected = label(tc);
            if !tc["jws"].is_string() {
                // JSON serialization is not supported at all: it must be rejected.
                assert!(tc["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f == "JsonSerialization"));
                expected = Expect::Reject;
            }
            let accepted = no_panic(file, tc, || jws_accepts(keys.as_ref(), &tc["jws"]));
            counts.record(file, tc, accepted, expected);
        }
    }
    eprintln!("{file}: keys refused at import: {import_refused:?}");
    present.sort_unstable();
    let mut listed: Vec<u64> = JWS_DEFECTIVE.iter().map(|(d, _, _)| *d).collect();
    listed.sort_unstable();
    assert_eq!(
        present, listed,
        "every documented defective tcId must exist in the file"
    );
    counts.finish(file, &doc, JWS_DEFECTIVE.len());
}

#[test]
fn json_web_key() {
    let file = "json_web_key_test.json";
    let Some(doc) = load(file) else { return };
    let mut counts = Counts::default();
    for (group, tc) in tests(&doc) {
        let set = group.get("public").unwrap_or(&group["private"]);
        let accepted = no_panic(file, tc, || {
            let keys = KeySet::from_jwks_value(set, None).ok();
            jws_accepts(keys.as_ref(), &tc["jws"])
        });
        counts.record(file, tc, accepted, label(tc));
    }
    counts.finish(file, &doc, 0);
}

// ---- HMAC ------------------------------------------------------------------------------------

fn hmac(file: &str, alg: Alg, full_bits: u64) {
    let Some(doc) = load(file) else { return };
    let mut counts = Counts::default();
    let mut short_key_groups = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let key_bits = group["keySize"].as_u64().unwrap();
        let tag_bits = group["tagSize"].as_u64().unwrap();
        for tc in group["tests"].as_array().unwrap() {
            let key_bytes = hex_field(tc, "key");
            assert_eq!(key_bytes.len() as u64 * 8, key_bits);
            let key = no_panic(file, tc, || Key::from_secret(&key_bytes, alg, None));
            if key_bits < full_bits {
                // JWT-3: secrets shorter than the hash are refused at import, by design.
                let err = key.expect_err("short HMAC key must be refused at import");
                assert_eq!(err.code(), "invalid_key");
                counts.skipped += 1;
                continue;
            }
            let key = key.expect("HMAC key at least the hash size");
            let (msg, tag) = (hex_field(tc, "msg"), hex_field(tc, "tag"));
            let accepted = no_panic(file, tc, || key.verify(&msg, &tag));
            let expected = if tag_bits < full_bits {
                // JWS uses full-length tags only: a truncated tag is rejected even when the
                // truncation itself is correct.
                Expect::Reject
            } else {
                label(tc)
            };
            counts.record(file, tc, accepted, expected);
        }
        if key_bits < full_bits {
            short_key_groups += 1;
        }
    }
    eprintln!("{file}: {short_key_groups} group(s) with keys shorter than the hash skipped (refused at import, JWT-3)");
    let skipped = counts.skipped;
    counts.finish(file, &doc, skipped);
}

#[test]
fn hmac_sha256() {
    hmac("hmac_sha256_test.json", Alg::HS256, 256);
}

#[test]
fn hmac_sha384() {
    hmac("hmac_sha384_test.json", Alg::HS384, 384);
}

#[test]
fn hmac_sha512() {
    hmac("hmac_sha512_test.json", Alg::HS512, 512);
}

// ---- public-key signatures -------------------------------------------------------------------

/// Runs a signature file through `Key::verify`. `force_reject` makes every case a must-reject
/// (DER signatures fed as JWS signatures).
fn signatures(file: &str, alg: Alg, crv: Option<&str>, force_reject: bool) {
    let Some(doc) = load(file) else { return };
    let mut counts = Counts::default();
    let mut refused = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let mut jwk = group_public_jwk(group, crv);
        if jwk.get("alg").is_none() {
            jwk["alg"] = Value::String(alg.name().into());
        }
        let key = match import_jwk(&jwk, Some(alg)) {
            Ok(k) => Some(k),
            Err(e) => {
                refused.push(format!(
                    "group of tcId {}: {} ({e})",
                    group["tests"][0]["tcId"],
                    e.code()
                ));
                None
            }
        };
        for tc in group["tests"].as_array().unwrap() {
            let (msg, sig) = (hex_field(tc, "msg"), hex_field(tc, "sig"));
            let accepted = no_panic(file, tc, || {
                key.as_ref().is_some_and(|k| k.verify(&msg, &sig))
            });
            let expected = if force_reject {
                Expect::Reject
            } else {
                label(tc)
            };
            counts.record(file, tc, accepted, expected);
        }
    }
    if !refused.is_empty() {
        eprintln!("{file}: keys refused at import: {refused:?}");
    }
    counts.finish(file, &doc, 0);
}

#[test]
fn ecdsa_p256_p1363() {
    signatures(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Alg::ES256,
        Some("P-256"),
        false,
    );
}

#[test]
fn ecdsa_p384_p1363() {
    signatures(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        Alg::ES384,
        Some("P-384"),
        false,
    );
}

#[test]
fn ecdsa_p256_der_always_rejected() {
    signatures(
        "ecdsa_secp256r1_sha256_test.json",
        Alg::ES256,
        Some("P-256"),
        true,
    );
}

#[test]
fn ed25519() {
    signatures("ed25519_test.json", Alg::EdDSA, None, false);
}

#[test]
fn rsa_pkcs1_2048_sha256() {
    signatures(
        "rsa_signature_2048_sha256_test.json",
        Alg::RS256,
        None,
        false,
    );
}

#[test]
fn rsa_pss_2048_sha256_mgf1_32() {
    let file = "rsa_pss_2048_sha256_mgf1_32_test.json";
    if let Some(doc) = load(file) {
        // PS256 is exactly SHA-256, MGF1-SHA-256, 32-byte salt: check the file is that.
        for g in doc["testGroups"].as_array().unwrap() {
            assert_eq!(g["sha"], "SHA-256");
            assert_eq!(g["mgf"], "MGF1");
            assert_eq!(g["mgfSha"], "SHA-256");
            assert_eq!(g["sLen"], 32);
        }
    }
    signatures(file, Alg::PS256, None, false);
}
