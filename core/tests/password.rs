mod common;

use argon2::{Algorithm, Argon2, Params, Version};
use polyauth_core::password::{HasherConfig, PasswordHasher, PasswordPolicy};
use zeroize::Zeroizing;

fn hasher() -> PasswordHasher {
    PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).unwrap()
}

fn hex(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn rfc9106_argon2id_vector_with_secret_and_data() {
    let Some(dir) = common::shared_vectors() else {
        return;
    };
    let doc = common::read_json(dir.join("rfc/argon2id_rfc9106.json"));
    let v = &doc["rfc9106_argon2id"];
    let params = argon2::ParamsBuilder::new()
        .m_cost(v["memory_kib"].as_u64().unwrap() as u32)
        .t_cost(v["passes_t"].as_u64().unwrap() as u32)
        .p_cost(v["parallelism_lanes"].as_u64().unwrap() as u32)
        .data(argon2::AssociatedData::new(&hex(&v["associated_data_hex"])).unwrap())
        .output_len(v["tag_length"].as_u64().unwrap() as usize)
        .build()
        .unwrap();
    let secret = hex(&v["secret_hex"]);
    let a = Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut out = [0u8; 32];
    a.hash_password_into(&hex(&v["password_hex"]), &hex(&v["salt_hex"]), &mut out)
        .unwrap();
    assert_eq!(out.to_vec(), hex(&v["expected_tag_hex"]));
}

#[test]
fn reference_phc_strings_verify() {
    let Some(dir) = common::shared_vectors() else {
        return;
    };
    let doc = common::read_json(dir.join("rfc/argon2id_rfc9106.json"));
    let h = hasher();
    let vectors = doc["reference_impl_argon2id_v13"]["vectors"]
        .as_array()
        .unwrap();
    assert_eq!(vectors.len(), 8);
    for v in vectors {
        let phc = v["expected_phc"].as_str().unwrap();
        let pw = v["password"].as_str().unwrap();
        assert!(h.verify(phc, pw).unwrap(), "{phc}");
        assert!(!h.verify(phc, "wrong password").unwrap(), "{phc}");
        // Re-encoding the raw tag gives the same PHC string.
        let params = Params::new(
            v["m_cost_kib"].as_u64().unwrap() as u32,
            v["t_cost"].as_u64().unwrap() as u32,
            v["parallelism"].as_u64().unwrap() as u32,
            Some(32),
        )
        .unwrap();
        let enc = polyauth_core::password::encode_phc(
            Algorithm::Argon2id,
            Version::V0x13,
            &params,
            v["salt"].as_str().unwrap().as_bytes(),
            &hex(&v["expected_tag_hex"]),
        );
        assert_eq!(enc, phc);
    }
}

#[test]
fn project_password_vectors() {
    let doc = common::read_json(common::project_vectors().join("passwords.json"));
    let h = hasher();
    let cases = doc["verify"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for c in cases {
        let id = c["id"].as_str().unwrap();
        let stored = c["hash"].as_str().unwrap();
        assert!(
            h.verify(stored, c["password"].as_str().unwrap()).unwrap(),
            "{id}"
        );
        for also in c["also_verifies"].as_array().into_iter().flatten() {
            assert!(
                h.verify(stored, also.as_str().unwrap()).unwrap(),
                "{id} also {also}"
            );
        }
        for w in c["wrong"].as_array().unwrap() {
            assert!(
                !h.verify(stored, w.as_str().unwrap()).unwrap(),
                "{id} wrong {w}"
            );
        }
        assert_eq!(
            h.needs_rehash(stored).unwrap(),
            c["needs_rehash"].as_bool().unwrap(),
            "{id}"
        );
    }
    for c in doc["invalid"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let owned = invalid_case_hash(c);
        let stored = owned.as_str();
        let e = h.verify(stored, "password").unwrap_err();
        assert_eq!(e.code(), "invalid_hash", "{id}");
        assert!(
            !e.to_string().contains(stored) || stored.len() < 12,
            "{id} leaks the hash"
        );
        assert_eq!(
            h.needs_rehash(stored).unwrap_err().code(),
            "invalid_hash",
            "{id}"
        );
    }
}

/// An invalid case's hash: inline, or built from `generate` (too large to store inline).
fn invalid_case_hash(c: &serde_json::Value) -> String {
    if let Some(h) = c["hash"].as_str() {
        return h.to_owned();
    }
    let g = &c["generate"];
    let (prefix, repeat, suffix) = (
        g["prefix"].as_str().unwrap(),
        g["repeat"].as_str().unwrap(),
        g["suffix"].as_str().unwrap(),
    );
    let n = g["length"].as_u64().unwrap() as usize - prefix.len() - suffix.len();
    format!("{prefix}{}{suffix}", repeat.repeat(n / repeat.len()))
}

#[test]
fn roundtrip_format_and_salt() {
    let h = hasher();
    let a = h.hash("correct horse battery staple").unwrap();
    let b = h.hash("correct horse battery staple").unwrap();
    assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_ne!(a, b, "fresh salt per hash");
    let salt_b64 = a.split('$').nth(4).unwrap();
    assert_eq!(salt_b64.len(), 22, "16-byte salt");
    assert_eq!(a.split('$').nth(5).unwrap().len(), 43, "32-byte tag");
    assert!(h.verify(&a, "correct horse battery staple").unwrap());
    assert!(!h.verify(&a, "correct horse battery stapl").unwrap());
    assert!(!h.needs_rehash(&a).unwrap());
}

#[test]
fn owasp_floor_and_config_errors() {
    let bad = |c: HasherConfig| {
        PasswordHasher::new(c, PasswordPolicy::default())
            .unwrap_err()
            .code()
    };
    assert_eq!(
        bad(HasherConfig {
            memory_kib: 4096,
            ..Default::default()
        }),
        "invalid_config"
    );
    assert_eq!(
        bad(HasherConfig {
            time_cost: 1,
            ..Default::default()
        }),
        "invalid_config"
    );
    assert_eq!(
        bad(HasherConfig {
            parallelism: 0,
            ..Default::default()
        }),
        "invalid_config"
    );
    assert_eq!(
        bad(HasherConfig {
            pepper: Some(Zeroizing::new(vec![7u8; 15])),
            ..Default::default()
        }),
        "invalid_config"
    );
    // Every OWASP-listed configuration is accepted.
    for (m, t) in [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)] {
        let c = HasherConfig {
            memory_kib: m,
            time_cost: t,
            ..Default::default()
        };
        assert!(
            PasswordHasher::new(c, PasswordPolicy::default()).is_ok(),
            "m={m} t={t}"
        );
    }
}

#[test]
fn pepper_is_required_to_verify() {
    let peppered = PasswordHasher::new(
        HasherConfig {
            pepper: Some(Zeroizing::new(b"server-side pepper".to_vec())),
            ..Default::default()
        },
        PasswordPolicy::default(),
    )
    .unwrap();
    let other = PasswordHasher::new(
        HasherConfig {
            pepper: Some(Zeroizing::new(b"another pepper!!".to_vec())),
            ..Default::default()
        },
        PasswordPolicy::default(),
    )
    .unwrap();
    let phc = peppered.hash("pepper me please").unwrap();
    assert!(peppered.verify(&phc, "pepper me please").unwrap());
    assert!(!hasher().verify(&phc, "pepper me please").unwrap());
    assert!(!other.verify(&phc, "pepper me please").unwrap());
    assert!(!format!("{peppered:?}").contains("server-side"));
}

#[test]
fn memory_bound_refuses_before_allocating() {
    let h = hasher();
    let huge =
        "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    assert_eq!(
        h.verify(huge, "password").unwrap_err().code(),
        "invalid_hash"
    );
    let small_max = PasswordHasher::new(
        HasherConfig {
            max_memory_kib: 32768,
            ..Default::default()
        },
        PasswordPolicy::default(),
    )
    .unwrap();
    let m64 =
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    assert_eq!(
        small_max.verify(m64, "password").unwrap_err().code(),
        "invalid_hash"
    );
    assert!(h.verify(m64, "password").unwrap());
}

#[test]
fn upgrade_weak_and_legacy() {
    let h = hasher();
    let weak =
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
    let out = h.verify_and_update(weak, "password").unwrap();
    assert!(out.valid);
    let new = out.new_hash.unwrap();
    assert!(h.verify(&new, "password").unwrap());
    assert!(!h.needs_rehash(&new).unwrap());
    let wrong = h.verify_and_update(weak, "nope").unwrap();
    assert!(!wrong.valid && wrong.new_hash.is_none());
    let current = h.hash("password").unwrap();
    assert_eq!(
        h.verify_and_update(&current, "password").unwrap().new_hash,
        None
    );
}

#[test]
fn normalisation_and_bad_passwords() {
    let h = hasher();
    let nfc = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
    let nfd = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
    let phc = h.hash(nfc).unwrap();
    assert!(h.verify(&phc, nfd).unwrap());
    let empty = h.hash("").unwrap();
    assert!(h.verify(&empty, "").unwrap());
    assert!(!h.verify(&empty, " ").unwrap());
    let nul = h.hash("a\0b").unwrap();
    assert!(h.verify(&nul, "a\0b").unwrap());
    assert!(!h.verify(&nul, "a").unwrap(), "no truncation at NUL");
    let big = "x".repeat(1 << 20);
    assert_eq!(h.hash(&big).unwrap_err().code(), "invalid_input");
    assert_eq!(h.verify(&phc, &big).unwrap_err().code(), "invalid_input");
    let lone = [0x61u16, 0xD800, 0x62];
    assert_eq!(
        polyauth_core::password::password_from_utf16(&lone)
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    assert_eq!(
        polyauth_core::password::password_from_utf8(b"\xff\xfe")
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[test]
fn dummy_verify_does_the_work() {
    hasher().dummy_verify().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_variants_run_on_the_pool() {
    let h = hasher();
    let jobs: Vec<_> = (0..4)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move {
                let pw = Zeroizing::new(format!("password number {i}"));
                let phc = h.hash_async(pw.clone()).await.unwrap();
                h.verify_async(phc, pw).await.unwrap()
            })
        })
        .collect();
    for j in jobs {
        assert!(j.await.unwrap());
    }
}

fn config_error(m: u32, t: u32) -> Option<&'static str> {
    let c = HasherConfig {
        memory_kib: m,
        time_cost: t,
        ..Default::default()
    };
    PasswordHasher::new(c, PasswordPolicy::default())
        .err()
        .map(|e| e.code())
}

#[test]
fn owasp_table_rows_and_their_boundaries() {
    // The old floor (m*t >= 35840) accepted these; each is below its row of the table (PW-1).
    for (m, t) in [(35840, 1), (12000, 3), (9000, 4)] {
        assert_eq!(config_error(m, t), Some("invalid_config"), "m={m} t={t}");
    }
    // Each row is accepted at its exact memory and refused 1 KiB below; above t=5 the t=5 row.
    for (m, t) in [
        (47104, 1),
        (19456, 2),
        (12288, 3),
        (9216, 4),
        (7168, 5),
        (7168, 6),
        (7168, 10),
    ] {
        assert_eq!(config_error(m, t), None, "m={m} t={t}");
        assert_eq!(
            config_error(m - 1024, t),
            Some("invalid_config"),
            "m={} t={t}",
            m - 1024
        );
    }
    let msg = PasswordHasher::new(
        HasherConfig {
            memory_kib: 35840,
            time_cost: 1,
            ..Default::default()
        },
        PasswordPolicy::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("47104"), "{msg}");
}

#[test]
fn stored_argon2_below_the_table_verifies_and_needs_rehash() {
    // m=35840,t=1: what the old floor let a hasher produce; below the t=1 row (47104).
    let params = Params::new(35840, 1, 1, Some(32)).unwrap();
    let salt = b"sixteen byte sal";
    let mut tag = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into(b"old password", salt, &mut tag)
        .unwrap();
    let stored = polyauth_core::password::encode_phc(
        Algorithm::Argon2id,
        Version::V0x13,
        &params,
        salt,
        &tag,
    );
    let h = hasher();
    assert!(h.verify(&stored, "old password").unwrap());
    assert!(h.needs_rehash(&stored).unwrap());
    let out = h.verify_and_update(&stored, "old password").unwrap();
    assert!(out.valid);
    let new = out.new_hash.unwrap();
    assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!h.needs_rehash(&new).unwrap());
}

const B64_32: &str = "yqKgFOyLPkopMFEjmsIi//p2wnXlPhboQloV9osVad0=";
const BCRYPT_TAIL: &str = "2CEUE9j.uOovtYunhB5MhewnUv2VvCQgU/jiToPjhMroR4DDypPAC";

/// Stored legacy hashes exactly at each work bound (they parse; nothing is computed by
/// `needs_rehash`) and just above it (`invalid_hash` from every entry point, before any work).
fn legacy_bound_cases() -> (Vec<String>, Vec<String>) {
    let b64_64 = base64_64();
    let hex32 = "ab".repeat(32);
    let hex64 = "ab".repeat(64);
    let at = vec![
        format!("$2b$14${BCRYPT_TAIL}"),
        format!("scrypt:131072:8:2$salt${hex64}"),
        format!("scrypt:65536:32:1$salt${hex64}"),
        format!("pbkdf2_sha256$5000000$salt${B64_32}"),
        format!("pbkdf2_sha256$2500000$salt${b64_64}"),
        "pbkdf2_sha1$5000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string(),
        format!("pbkdf2:sha256:5000000$salt${hex32}"),
        format!("pbkdf2:sha512:1250000$salt${hex64}"),
    ];
    let above = vec![
        format!("$2b$15${BCRYPT_TAIL}"),
        format!("$2b$16${BCRYPT_TAIL}"),
        // N*r*p = 2,162,688 and the planted p=16 one (2^24).
        format!("scrypt:65536:11:3$salt${hex64}"),
        format!("scrypt:131072:8:16$salt${hex64}"),
        format!("pbkdf2_sha256$5000001$salt${B64_32}"),
        // 2 output blocks: 2 x 2,500,001.
        format!("pbkdf2_sha256$2500001$salt${b64_64}"),
        format!("pbkdf2_sha256$10000000$salt${B64_32}"),
        "pbkdf2_sha1$5000001$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string(),
        format!("pbkdf2:sha256:5000001$salt${hex32}"),
        format!("pbkdf2:sha512:1250001$salt${hex64}"),
    ];
    (at, above)
}

fn base64_64() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([0xabu8; 64])
}

#[test]
fn legacy_hashes_above_the_work_budget_are_refused_before_work() {
    let h = hasher();
    let (at, above) = legacy_bound_cases();
    for stored in &at {
        assert!(h.needs_rehash(stored).unwrap(), "{stored}");
    }
    for stored in &above {
        for e in [
            h.verify(stored, "password").unwrap_err(),
            h.verify_and_update(stored, "password").unwrap_err(),
            h.needs_rehash(stored).unwrap_err(),
        ] {
            assert_eq!(e.code(), "invalid_hash", "{stored}");
            assert!(!e.to_string().contains(stored.as_str()), "{stored}");
        }
    }
}

#[test]
fn legacy_hashes_at_realistic_defaults_verify() {
    use base64::Engine;
    use hmac::Hmac;
    let h = hasher();
    let pw = "legacy default password";
    let salt = "NaClNaClNaClNaCl";
    let mut cases = vec![bcrypt::hash_with_salt(pw, 12, [9u8; 16])
        .unwrap()
        .to_string()];
    // Django 6.0 (1,200,000) and Werkzeug 3 (1,000,000) PBKDF2 defaults.
    let mut dk = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<sha2::Sha256>>(pw.as_bytes(), salt.as_bytes(), 1_200_000, &mut dk)
        .unwrap();
    cases.push(format!(
        "pbkdf2_sha256$1200000${salt}${}",
        base64::engine::general_purpose::STANDARD.encode(dk)
    ));
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2::<Hmac<sha2::Sha512>>(pw.as_bytes(), salt.as_bytes(), 1_000_000, &mut dk)
        .unwrap();
    cases.push(format!("pbkdf2:sha512:1000000${salt}${}", hex::encode(dk)));
    // scrypt N=2^17, r=8, p=1.
    let mut dk = [0u8; 64];
    let params = scrypt::Params::new(17, 8, 1, 64).unwrap();
    scrypt::scrypt(pw.as_bytes(), salt.as_bytes(), &params, &mut dk).unwrap();
    cases.push(format!("scrypt:131072:8:1${salt}${}", hex::encode(dk)));
    for stored in &cases {
        assert!(h.verify(stored, pw).unwrap(), "{stored}");
        let out = h.verify_and_update(stored, pw).unwrap();
        assert!(out.valid && out.new_hash.is_some(), "{stored}");
        assert!(!h.verify(stored, "wrong password").unwrap(), "{stored}");
    }
}
