//! RFC JWS examples (`../shared/vectors/rfc/jws_examples.json`): RFC 7515 A.1 (HS256), A.2
//! (RS256), A.3 (ES256), RFC 8037 A.4 (EdDSA), RFC 7520 §4.1 (RS256), §4.2 (PS384), §4.4 (HS256),
//! and RFC 7797 §4.1 (`b64: false`, must be rejected).
//!
//! Every example must verify at the signature level (`Key::verify` and `jws::verify`), and the
//! deterministic ones must re-sign to the same bytes. Claim validation goes through
//! `Tokens::verify` with `typ: None` (relaxed: these are external tokens), `required: []` and the
//! example's `iss` as the configured issuer:
//!
//! * the system clock must give `token_expired` (their `exp` is in 2011);
//! * an injected clock before `exp` must get past the time checks. None of the RFC payloads has
//!   an `aud`, and polyauth always requires one (JWT-12), so the furthest a JWT example can get
//!   is `missing_claim` for `aud`: the test asserts exactly that error (which is reached only
//!   after the signature, `exp`/`nbf`/`iat` and the exact `iss` checks passed) and checks `exp`
//!   against the injected clock by hand from the verified JWS payload;
//! * examples whose payload is not JSON (RFC 8037 A.4, RFC 7520) verify at the JWS level and are
//!   refused by `Tokens::verify` as `invalid_token` (not a JWT), but only once the signature has
//!   checked out: with a corrupted signature the error is `invalid_signature` (JWT-10).

mod common;

use polyauth_core::b64;
use polyauth_core::error::Error;
use polyauth_core::jws;
use polyauth_core::keys::{import_jwk, Alg, Key, KeySet};
use polyauth_core::{KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::{Map, Value};

const MAX: usize = 8192;
/// The payload `exp` of RFC 7515 A.1/A.2/A.3 (2011-03-22T18:43:00Z).
const RFC7515_EXP: i64 = 1_300_819_380;
/// Audience configured on `Tokens` (none of the examples has one; see the module docs).
const AUDIENCE: &str = "https://api.polyauth.test";

fn examples() -> Option<Value> {
    let dir = common::shared_vectors()?;
    Some(common::read_json(dir.join("rfc").join("jws_examples.json")))
}

fn s<'a>(ex: &'a Value, name: &str) -> &'a str {
    ex[name]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {name} missing", ex["id"]))
}

fn key_of(ex: &Value) -> (Alg, Key) {
    let alg = Alg::parse(s(ex, "alg")).unwrap();
    // RSA and `oct` JWKs without "alg" need the algorithm from configuration.
    let key = import_jwk(&ex["jwk"], Some(alg))
        .unwrap_or_else(|e| panic!("{}: key import failed: {e}", ex["id"]));
    (alg, key)
}

fn tokens_for(keys: &KeySet, issuer: &str) -> Tokens {
    Tokens::new(
        KeySource::Local(keys.clone()),
        TokensConfig::new(issuer, vec![AUDIENCE.to_string()]),
    )
    .unwrap()
}

fn relaxed(now: Option<i64>) -> VerifyOptions {
    VerifyOptions {
        audience: None,
        typ: None,
        required: vec![],
        now,
    }
}

/// JSON payload claims, if the payload is a JSON object.
fn claims_of(payload: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(payload).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn check_example(ex: &Value) {
    let id = s(ex, "id");
    let (alg, key) = key_of(ex);
    let compact = s(ex, "compact");
    let (h, p, sig) = (
        s(ex, "protected_b64"),
        s(ex, "payload_b64"),
        s(ex, "signature_b64"),
    );
    assert_eq!(compact, format!("{h}.{p}.{sig}"), "{id}: compact form");
    let signing_input = format!("{h}.{p}");
    let signature = b64::decode(sig).expect("signature base64url");

    // Signature layer.
    assert!(
        key.verify(signing_input.as_bytes(), &signature),
        "{id}: Key::verify"
    );
    let mut flipped = signature.clone();
    flipped[0] ^= 1;
    assert!(
        !key.verify(signing_input.as_bytes(), &flipped),
        "{id}: flipped bit"
    );
    if ex["deterministic"] == true {
        assert_eq!(
            key.sign(signing_input.as_bytes()).unwrap(),
            signature,
            "{id}: deterministic signature re-signs byte for byte"
        );
    }
    if let Some(tp) = ex.get("rfc8037_thumbprint_A3").and_then(Value::as_str) {
        assert_eq!(key.kid(), tp, "{id}: RFC 7638 thumbprint (RFC 8037 A.3)");
    }

    // The public JWS verifier, with the private key's set and with the public half only.
    let keys = KeySet::from_keys(vec![key]).unwrap();
    let mut sets = vec![keys.clone()];
    if !alg.is_hmac() {
        // The public half alone, as a relying party would configure it.
        sets.push(KeySet::from_jwks_value(&keys.to_jwks(false), Some(alg)).unwrap());
    }
    for set in &sets {
        let (header, payload) =
            jws::verify(compact, set, MAX).unwrap_or_else(|e| panic!("{id}: jws::verify: {e}"));
        assert_eq!(header.alg, alg, "{id}");
        assert_eq!(payload, b64::decode(p).unwrap(), "{id}: payload");
        if let Some(text) = ex.get("payload_decoded").and_then(Value::as_str) {
            assert_eq!(payload, text.as_bytes(), "{id}: decoded payload");
        }
    }
    let bad = format!("{signing_input}.{}", b64::encode(&flipped));
    assert_eq!(
        jws::verify(&bad, &keys, MAX).unwrap_err().code(),
        "invalid_signature",
        "{id}"
    );

    // Claim validation.
    let (_, payload) = jws::verify(compact, &keys, MAX).unwrap();
    match claims_of(&payload) {
        Some(claims) => {
            let exp = claims["exp"].as_i64().expect("exp");
            assert_eq!(exp, RFC7515_EXP, "{id}: exp");
            let issuer = claims["iss"].as_str().expect("iss");
            assert!(
                claims.get("aud").is_none(),
                "{id}: the RFC payloads have no aud"
            );
            let tokens = tokens_for(&keys, issuer);
            // System clock: expired since 2011.
            assert_eq!(
                tokens.verify(compact, &relaxed(None)).unwrap_err(),
                Error::TokenExpired,
                "{id}: system clock"
            );
            // Injected clocks around exp. The manual check on the verified payload says whether
            // the token is expired at that clock (with the configured leeway); Tokens::verify must
            // agree. When it is not expired, the signature, time and issuer checks have passed and
            // the token stops at the audience, which polyauth always requires (JWT-12) and the
            // RFC payloads never set.
            let leeway = tokens.config().leeway as i64;
            let mut passed_time_checks = 0;
            for now in [
                exp - 86_400,
                exp - 1,
                exp,
                exp + leeway - 1,
                exp + leeway,
                exp + 86_400,
            ] {
                let manually_expired = now >= exp + leeway;
                let got = tokens.verify(compact, &relaxed(Some(now))).unwrap_err();
                if manually_expired {
                    assert_eq!(got, Error::TokenExpired, "{id}: injected clock {now}");
                } else {
                    passed_time_checks += 1;
                    assert_eq!(
                        got,
                        Error::MissingClaim("aud".into()),
                        "{id}: injected clock {now} is before exp (+ leeway)"
                    );
                }
            }
            assert_eq!(passed_time_checks, 4, "{id}");
            // The issuer is compared exactly (JWT-12) before the audience.
            assert_eq!(
                tokens_for(&keys, "Joe")
                    .verify(compact, &relaxed(Some(exp - 1)))
                    .unwrap_err(),
                Error::InvalidIssuer,
                "{id}: iss"
            );
        }
        None => {
            let tokens = tokens_for(&keys, "https://issuer.example");
            for now in [None, Some(0), Some(RFC7515_EXP)] {
                assert_eq!(
                    tokens.verify(compact, &relaxed(now)).unwrap_err().code(),
                    "invalid_token",
                    "{id}: a non-JSON payload is not a JWT"
                );
            }
            assert_eq!(
                tokens.verify(&bad, &relaxed(None)).unwrap_err().code(),
                "invalid_signature",
                "{id}: the signature is checked before the payload is read (JWT-10)"
            );
        }
    }
}

#[test]
fn rfc_examples_verify() {
    let Some(doc) = examples() else { return };
    let mut ids = Vec::new();
    for ex in doc["examples"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["extra_examples"].as_array().unwrap())
    {
        if ex.get("compact").is_none() {
            // RFC 7797 (JSON serialization only) is checked by `rfc7797_b64_false_rejected`.
            assert_eq!(s(ex, "id"), "RFC7797-4.1");
            continue;
        }
        assert_eq!(s(ex, "expected"), "valid", "{}", ex["id"]);
        check_example(ex);
        ids.push(s(ex, "id").to_string());
    }
    eprintln!(
        "jws_examples.json: {} examples verified: {ids:?}",
        ids.len()
    );
    assert_eq!(ids.len(), 7, "A.1, A.3, A.4, A.2, 7520 §4.1/4.4/4.2");
}

/// A JWT built from the RFC 7515 A.1 key with an audience, to show the injected clock lets a
/// complete token through while the system clock still refuses it (the RFC's own payload has no
/// `aud`).
#[test]
fn rfc7515_a1_key_full_claims_pass_with_injected_clock() {
    let Some(doc) = examples() else { return };
    let ex = &doc["examples"][0];
    assert_eq!(s(ex, "id"), "RFC7515-A.1");
    let (_, key) = key_of(ex);
    let header = b64::decode(s(ex, "protected_b64")).unwrap();
    let payload = format!(
        r#"{{"iss":"joe","aud":"{AUDIENCE}","exp":{RFC7515_EXP},"http://example.com/is_root":true}}"#
    );
    let input = format!(
        "{}.{}",
        b64::encode(&header),
        b64::encode(payload.as_bytes())
    );
    let token = format!(
        "{input}.{}",
        b64::encode(key.sign(input.as_bytes()).unwrap())
    );
    let keys = KeySet::from_keys(vec![key]).unwrap();
    let tokens = tokens_for(&keys, "joe");
    assert_eq!(
        tokens.verify(&token, &relaxed(None)).unwrap_err(),
        Error::TokenExpired
    );
    let claims = tokens
        .verify(&token, &relaxed(Some(RFC7515_EXP - 60)))
        .unwrap();
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["http://example.com/is_root"], true);
    // typ "JWT" in the A.1 header does not satisfy the access-token typ (JWT-13).
    let strict = VerifyOptions {
        typ: Some("at+jwt".into()),
        ..relaxed(Some(RFC7515_EXP - 60))
    };
    assert_eq!(
        tokens.verify(&token, &strict).unwrap_err().code(),
        "invalid_type"
    );
}

#[test]
fn rfc7797_b64_false_rejected() {
    let Some(doc) = examples() else { return };
    let ex = doc["extra_examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "RFC7797-4.1")
        .expect("RFC 7797 example");
    let (alg, key) = key_of(ex);
    assert_eq!(alg, Alg::HS256);
    let h = s(ex, "protected_b64");
    let raw = s(ex, "payload_raw");
    let signature = b64::decode(s(ex, "signature_b64")).unwrap();
    // The signature is genuine over ASCII(protected) || "." || payload (RFC 7797 §3), so any
    // rejection below comes from the header, not from the MAC.
    assert!(key.verify(format!("{h}.{raw}").as_bytes(), &signature));

    let keys = KeySet::from_keys(vec![key]).unwrap();
    let sig = s(ex, "signature_b64");
    let tokens = tokens_for(&keys, "joe");
    for candidate in [
        // Detached compact form (RFC 7515 Appendix F), as RFC 7797 §5.2 recommends.
        format!("{h}..{sig}"),
        // The raw payload in place ("$.02" contains a dot: four parts).
        format!("{h}.{raw}.{sig}"),
        // The payload base64url-encoded anyway.
        format!("{h}.{}.{sig}", b64::encode(raw)),
    ] {
        let err = jws::verify(&candidate, &keys, MAX).unwrap_err();
        assert_eq!(err.code(), "invalid_token", "{candidate}: {err}");
        assert!(tokens.verify(&candidate, &relaxed(Some(0))).is_err());
    }
    // A correctly MACed compact token with the same header (signing input as RFC 7515 would
    // compute it) is still refused: the header itself is unsupported (JWT-5).
    let payload = b64::encode(raw);
    let input = format!("{h}.{payload}");
    let forged = format!(
        "{input}.{}",
        b64::encode(keys.signing_key().unwrap().sign(input.as_bytes()).unwrap())
    );
    assert_eq!(
        jws::verify(&forged, &keys, MAX).unwrap_err().code(),
        "invalid_token"
    );
}
