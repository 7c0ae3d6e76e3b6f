//! Key and token hardening (JWT-3, JWT-7, JWT-13, DESIGN.md §5):
//!
//! * an HMAC secret that is key text (PEM of any kind, an OpenSSH public key, a JWK or JWKS) is
//!   refused: it is the setup of the algorithm-confusion attack;
//! * the eight small-order Ed25519 points, in every encoding, and non-canonical encodings are
//!   refused on every import path (with the identity point as key, one fixed signature verifies
//!   every message);
//! * HMAC keys get a random kid, never the thumbprint of the secret (an offline oracle);
//! * `jws::verify` returns the whole protected header, and registered claims of the wrong JSON
//!   type are `invalid_token`;
//! * attacker text quoted in an error message is short and escaped;
//! * an RSA modulus of zero is `invalid_key` (it used to underflow).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use polyauth_core::b64;
use polyauth_core::jws;
use polyauth_core::keys::{thumbprint, Alg, Key, KeySet};
use polyauth_core::{KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::{json, Map, Value};

fn code<T: std::fmt::Debug>(r: polyauth_core::Result<T>) -> &'static str {
    r.unwrap_err().code()
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if value.len() < 0x80 {
        out.push(value.len() as u8);
    } else {
        out.extend_from_slice(&[0x81, value.len() as u8]);
    }
    out.extend_from_slice(value);
    out
}

fn pem(label: &str, der: &[u8]) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
}

fn ed25519_spki_pem(x: &[u8]) -> String {
    let alg = tlv(0x30, &tlv(0x06, &[0x2b, 0x65, 0x70]));
    let bits = tlv(0x03, &[&[0u8][..], x].concat());
    pem("PUBLIC KEY", &tlv(0x30, &[alg, bits].concat()))
}

fn ed25519_jwk(x: &[u8]) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(x)})
}

// ---- 6. public-key text is not an HMAC secret ------------------------------------------------

#[test]
fn hmac_secret_refuses_key_text() {
    let mut texts: Vec<String> = Vec::new();
    for alg in [Alg::EdDSA, Alg::ES256, Alg::PS256] {
        let set = KeySet::generate(alg, None).unwrap();
        texts.push(set.to_pem(None, false).unwrap().to_string());
        texts.push(set.to_pem(None, true).unwrap().to_string());
        texts.push(set.to_jwks(false).to_string());
        texts.push(set.to_jwks(false)["keys"][0].to_string());
        texts.push(format!("  \n{}", set.to_jwks(false)["keys"][0]));
    }
    texts.push(pem("CERTIFICATE", &[0x30; 64]));
    texts.push(pem("RSA PUBLIC KEY", &[0x30; 64]));
    texts.push(format!("leading text {}", pem("PUBLIC KEY", &[0x30; 40])));
    texts.push(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host"
            .into(),
    );
    texts.push("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA user@host".into());
    texts.push("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= u@h".into());
    texts.push("\tssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9E u@h".into());
    for text in &texts {
        for alg in [Alg::HS256, Alg::HS512] {
            let secret = if text.len() < 64 {
                format!("{text}{}", " ".repeat(64 - text.len()))
            } else {
                text.clone()
            };
            assert_eq!(
                code(KeySet::from_secret(secret.as_bytes(), alg, None)),
                "invalid_key",
                "{alg:?}: {text}"
            );
        }
    }
    // The same through an `oct` JWK whose `k` holds a public key.
    let public = KeySet::generate(Alg::EdDSA, None)
        .unwrap()
        .to_pem(None, false)
        .unwrap();
    let oct = json!({"kty": "oct", "alg": "HS256", "k": b64::encode(public.as_bytes())});
    assert_eq!(code(KeySet::from_jwks_value(&oct, None)), "invalid_key");
    // Secrets that merely are text or JSON stay usable.
    for ok in [
        "correct horse battery staple, but longer than 32".to_string(),
        r#"{"password": "0123456789abcdef0123456789abcdef"}"#.to_string(),
        "ssh is not a prefix of a key type, 0123456789".to_string(),
    ] {
        assert!(
            KeySet::from_secret(ok.as_bytes(), Alg::HS256, None).is_ok(),
            "{ok}"
        );
    }
    assert!(KeySet::from_secret(&[0x2d; 64], Alg::HS256, None).is_ok());
}

// ---- 7. small-order and non-canonical Ed25519 keys --------------------------------------------

/// libsodium's `has_small_order` blocklist (y, little-endian, sign bit clear).
fn small_order_encodings() -> Vec<[u8; 32]> {
    let hex32 = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    let ys = [
        hex32("0000000000000000000000000000000000000000000000000000000000000000"),
        hex32("0100000000000000000000000000000000000000000000000000000000000000"),
        hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];
    let mut all = Vec::new();
    for y in ys {
        all.push(y);
        let mut negative = y;
        negative[31] |= 0x80;
        all.push(negative);
    }
    all
}

#[test]
fn ed25519_small_order_keys_refused_on_every_path() {
    for x in small_order_encodings() {
        let hex = hex::encode(x);
        assert_eq!(
            code(KeySet::from_jwks_value(&ed25519_jwk(&x), None)),
            "invalid_key",
            "JWK {hex}"
        );
        assert_eq!(
            code(KeySet::from_jwks_value(
                &json!({"keys": [ed25519_jwk(&x)]}),
                Some(Alg::EdDSA)
            )),
            "invalid_key",
            "JWKS {hex}"
        );
        assert_eq!(
            code(KeySet::from_pem(&ed25519_spki_pem(&x), None, None)),
            "invalid_key",
            "SPKI {hex}"
        );
        assert_eq!(
            code(KeySet::from_text(&ed25519_spki_pem(&x), None)),
            "invalid_key",
            "text {hex}"
        );
    }
    // The identity point is the attack: were it accepted, R = identity, S = 0 would verify
    // every message. Non-canonical y (>= p) is refused as well (JWT-7).
    let mut identity_sig = [0u8; 64];
    identity_sig[0] = 1;
    let mut y_p_plus_2 = [0xffu8; 32];
    y_p_plus_2[0] = 0xef;
    y_p_plus_2[31] = 0x7f;
    assert_eq!(
        code(KeySet::from_jwks_value(&ed25519_jwk(&y_p_plus_2), None)),
        "invalid_key"
    );
    // A real key (RFC 8032 §7.1 test 1) still imports and verifies its signature.
    let x =
        hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap();
    let sig = hex::decode(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    )
    .unwrap();
    let set = KeySet::from_jwks_value(&ed25519_jwk(&x), None).unwrap();
    let key = set.select(None).unwrap();
    assert!(key.verify(b"", &sig));
    assert!(!key.verify(b"x", &identity_sig));
    assert!(KeySet::from_pem(&ed25519_spki_pem(&x), None, None).is_ok());
    // Generated keys pass the same checks.
    for _ in 0..16 {
        assert!(Key::generate(Alg::EdDSA, None).is_ok());
    }
}

// ---- 8. HMAC kids are random ------------------------------------------------------------------

#[test]
fn hmac_default_kid_is_random_not_a_thumbprint() {
    let secret = [7u8; 32];
    let a = Key::from_secret(&secret, Alg::HS256, None).unwrap();
    let b = Key::from_secret(&secret, Alg::HS256, None).unwrap();
    assert_ne!(
        a.kid(),
        thumbprint(&a),
        "the kid must not be the thumbprint"
    );
    assert_ne!(
        a.kid(),
        b.kid(),
        "two keys of one secret get different kids"
    );
    assert_eq!(b64::decode(a.kid()).unwrap().len(), 16, "128 random bits");
    let s1 = KeySet::from_secret(&secret, Alg::HS256, None).unwrap();
    let s2 = KeySet::from_secret(&secret, Alg::HS256, None).unwrap();
    assert_ne!(s1.signing_kid(), s2.signing_kid());
    let generated = KeySet::generate(Alg::HS384, None).unwrap();
    let key = generated.signing_key().unwrap();
    assert_ne!(key.kid(), thumbprint(&key));
    // An explicit kid is kept; asymmetric keys keep their thumbprint.
    let named = KeySet::from_secret(&secret, Alg::HS256, Some("hmac-1".into())).unwrap();
    assert_eq!(named.signing_kid().as_deref(), Some("hmac-1"));
    let ed = Key::generate(Alg::EdDSA, None).unwrap();
    assert_eq!(ed.kid(), thumbprint(&ed));
    // A private JWKS round trip keeps the random kid, so tokens keep verifying.
    let tokens = |keys: KeySet| {
        Tokens::new(
            KeySource::Local(keys),
            TokensConfig::new("https://issuer.example", vec!["api".into()]),
        )
        .unwrap()
    };
    let back = KeySet::from_jwks_value(&s1.to_jwks(true), None).unwrap();
    assert_eq!(back.kids(), s1.kids());
    assert_eq!(back.signing_kid(), s1.signing_kid());
    let token = tokens(s1.clone()).issue("u", Map::new(), None).unwrap();
    assert!(tokens(back)
        .verify(&token, &VerifyOptions::default())
        .is_ok());
    // The kid a token carries is the random one.
    let header = jws::verify(&token, &s1, 8192).unwrap().0;
    assert_eq!(header.kid, s1.signing_kid());
}

// ---- 9. the header of a verified JWS; registered claim types ----------------------------------

#[test]
fn verify_jws_returns_the_protected_header() {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    let key = keys.signing_key().unwrap();
    let token = jws::sign(b"{\"a\":1}", &key, Some("dpop+jwt")).unwrap();
    let (header, payload) = jws::verify(&token, &keys, 8192).unwrap();
    assert_eq!(payload, b"{\"a\":1}");
    assert_eq!(header.protected["typ"], "dpop+jwt");
    assert_eq!(header.protected["alg"], "EdDSA");
    assert_eq!(header.protected["kid"].as_str(), Some(key.kid()));
    // Members polyauth does not act on are returned too.
    let h = b64::encode(format!(
        r#"{{"alg":"EdDSA","kid":"{}","cty":"JWT","x-app":[1,2]}}"#,
        key.kid()
    ));
    let input = format!("{h}.{}", b64::encode("{}"));
    let sig = key.sign(input.as_bytes()).unwrap();
    let token = format!("{input}.{}", b64::encode(sig));
    let (header, _) = jws::verify(&token, &keys, 8192).unwrap();
    assert_eq!(header.protected["cty"], "JWT");
    assert_eq!(header.protected["x-app"], json!([1, 2]));
    assert_eq!(header.typ, None);
}

#[test]
fn registered_claims_must_have_their_rfc_types() {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    let key = keys.signing_key().unwrap();
    let tokens = Tokens::new(
        KeySource::Local(keys),
        TokensConfig::new("https://issuer.example", vec!["api".into()]),
    )
    .unwrap();
    let now = 1_800_000_000i64;
    let good = json!({
        "iss": "https://issuer.example", "sub": "user-1", "aud": "api",
        "exp": now + 600, "iat": now, "jti": "j1",
    });
    let verify = |claims: &Value| {
        let token = jws::sign(claims.to_string().as_bytes(), &key, Some("at+jwt")).unwrap();
        tokens
            .verify(
                &token,
                &VerifyOptions {
                    now: Some(now),
                    ..Default::default()
                },
            )
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(verify(&good), Ok(()));
    let with = |name: &str, v: Value| {
        let mut c = good.clone();
        c[name] = v;
        c
    };
    assert_eq!(verify(&with("aud", json!(["x", "api"]))), Ok(()));
    assert_eq!(verify(&with("exp", json!(now as f64 + 60.5))), Ok(()));
    for (name, bad) in [
        ("sub", json!({"id": "user-1"})),
        ("sub", json!(42)),
        ("sub", json!(["user-1"])),
        ("sub", Value::Null),
        ("iss", json!(["https://issuer.example"])),
        ("iss", json!(1)),
        ("jti", json!(7)),
        ("jti", json!({})),
        ("aud", json!(1)),
        ("aud", json!({"aud": "api"})),
        ("aud", json!(["api", 1])),
        ("aud", json!(["api", null])),
        ("exp", json!("1800000600")),
        ("nbf", json!(true)),
        ("iat", json!([now])),
    ] {
        assert_eq!(
            verify(&with(name, bad.clone())),
            Err("invalid_token"),
            "{name}: {bad}"
        );
    }
    // Application claims are the application's business.
    assert_eq!(verify(&with("sid", json!({"any": "shape"}))), Ok(()));
    // Issuing cannot produce such tokens: registered claims are refused in `claims`.
    let mut c = Map::new();
    c.insert("sub".into(), json!({"id": 1}));
    assert_eq!(code(tokens.issue("u", c, None)), "invalid_input");
}

// ---- 10. attacker text in messages -------------------------------------------------------------

#[test]
fn alg_in_error_messages_is_short_and_escaped() {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    let long = "B".repeat(500);
    for alg in [
        "HS256\u{1f}invalid_key\u{1f}x",
        "a\nb\0c\rd",
        "\u{1f}",
        long.as_str(),
        "\u{202e}\u{1f}évil",
    ] {
        let header = b64::encode(json!({ "alg": alg }).to_string());
        let token = format!("{header}.{}.{}", b64::encode("{}"), b64::encode([1u8; 64]));
        let err = jws::verify(&token, &keys, 8192).unwrap_err();
        assert_eq!(err.code(), "unsupported_algorithm", "{alg:?}");
        let message = err.to_string();
        assert!(
            message.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "{alg:?}: {message:?}"
        );
        let quoted = message.strip_prefix("unsupported algorithm: ").unwrap();
        assert!(quoted.len() <= 35, "{alg:?}: {quoted:?}");
    }
    let err = Alg::parse("\u{1f}\n\0").unwrap_err();
    assert_eq!(err.to_string(), "unsupported algorithm: \\x1f\\x0a\\x00");
}

// ---- 19. RSA modulus zero ------------------------------------------------------------------------

#[test]
fn rsa_zero_modulus_is_invalid_key() {
    for n in ["AA", "", "AAAA"] {
        for alg in ["PS256", "RS256"] {
            let jwk = json!({"kty": "RSA", "alg": alg, "n": n, "e": "AQAB"});
            assert_eq!(
                code(KeySet::from_jwks_value(&jwk, None)),
                "invalid_key",
                "{alg} n={n:?}"
            );
        }
    }
    // SPKI with RSAPublicKey { n = 0, e = 65537 }.
    let rsa = tlv(0x30, &[tlv(0x02, &[0]), tlv(0x02, &[1, 0, 1])].concat());
    let alg_id = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            tlv(0x05, &[]),
        ]
        .concat(),
    );
    let spki = tlv(
        0x30,
        &[alg_id, tlv(0x03, &[&[0u8][..], &rsa].concat())].concat(),
    );
    assert_eq!(
        code(KeySet::from_pem(
            &pem("PUBLIC KEY", &spki),
            Some(Alg::PS256),
            None
        )),
        "invalid_key"
    );
}
