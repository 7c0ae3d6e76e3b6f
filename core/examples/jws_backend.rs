//! Why polyauth signs and verifies through aws-lc-rs directly instead of `jsonwebtoken::crypto`
//! (DESIGN.md §2 names jsonwebtoken): both use aws-lc, but jsonwebtoken's `crypto::sign` /
//! `crypto::verify` re-parse the key on every call (`EcdsaKeyPair::from_pkcs8`,
//! `RsaKeyPair::from_der`, a fresh public key per verify), while polyauth parses keys once.
//! Prints one JSON object (per-operation median nanoseconds) for bench/report.py.
//!
//! Run: `cargo run --release -p polyauth-core --example jws_backend`

use std::time::Instant;

use jsonwebtoken::crypto::{sign, verify, CryptoProvider};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use polyauth_core::keys::{Alg, Key, KeySet};

fn median_ns(mut f: impl FnMut(), iters: usize) -> f64 {
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let _ = CryptoProvider::install_default(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIiwiYXVkIjoiYXBpIn0";
    let mut rows = Vec::new();
    for (alg, jwt_alg, iters) in [
        (Alg::ES256, Algorithm::ES256, 400),
        (Alg::EdDSA, Algorithm::EdDSA, 400),
        (Alg::PS256, Algorithm::PS256, 40),
        (Alg::HS256, Algorithm::HS256, 4000),
    ] {
        let set = KeySet::generate(alg, None).expect("generate");
        let key: std::sync::Arc<Key> = set.signing_key().expect("signing key");
        let pem = (!alg.is_hmac()).then(|| set.to_pem(None, true).expect("pem"));
        let public_pem = (!alg.is_hmac()).then(|| set.to_pem(None, false).expect("pem"));
        let secret = set.to_jwks(true)["keys"][0]["k"]
            .as_str()
            .map(|k| polyauth_core::b64::decode(k).expect("k"));
        let (enc, dec) = match alg {
            Alg::ES256 => (
                EncodingKey::from_ec_pem(pem.as_ref().unwrap().as_bytes()).unwrap(),
                DecodingKey::from_ec_pem(public_pem.as_ref().unwrap().as_bytes()).unwrap(),
            ),
            Alg::EdDSA => (
                EncodingKey::from_ed_pem(pem.as_ref().unwrap().as_bytes()).unwrap(),
                DecodingKey::from_ed_pem(public_pem.as_ref().unwrap().as_bytes()).unwrap(),
            ),
            Alg::PS256 => (
                EncodingKey::from_rsa_pem(pem.as_ref().unwrap().as_bytes()).unwrap(),
                DecodingKey::from_rsa_pem(public_pem.as_ref().unwrap().as_bytes()).unwrap(),
            ),
            _ => (
                EncodingKey::from_secret(secret.as_ref().unwrap()),
                DecodingKey::from_secret(secret.as_ref().unwrap()),
            ),
        };
        let ours_sig = key.sign(message).unwrap();
        let theirs_sig = sign(message, &enc, jwt_alg).unwrap();
        assert!(key.verify(message, &ours_sig));
        assert!(verify(&theirs_sig, message, &dec, jwt_alg).unwrap());
        let theirs_b64 = theirs_sig.clone();
        let sign_ours = median_ns(
            || drop(std::hint::black_box(key.sign(message).unwrap())),
            iters,
        );
        let sign_theirs = median_ns(
            || drop(std::hint::black_box(sign(message, &enc, jwt_alg).unwrap())),
            iters,
        );
        // jsonwebtoken's verify takes the base64url signature; include our decode for parity.
        let verify_ours = median_ns(
            || {
                let sig = polyauth_core::b64::decode(&theirs_b64).unwrap();
                assert!(key.verify(message, &sig));
            },
            iters,
        );
        let verify_theirs = median_ns(
            || assert!(verify(&theirs_b64, message, &dec, jwt_alg).unwrap()),
            iters,
        );
        rows.push(format!(
            r#"{{"alg":"{}","sign_ns":{{"polyauth":{sign_ours:.0},"jsonwebtoken":{sign_theirs:.0}}},"verify_ns":{{"polyauth":{verify_ours:.0},"jsonwebtoken":{verify_theirs:.0}}}}}"#,
            alg.name()
        ));
    }
    println!(r#"{{"bench":"jws_backend","rows":[{}]}}"#, rows.join(","));
}
