//! Built-in accounts (FRAMEWORKS.md §4) on every backend (memory, SQLite, PostgreSQL, Redis):
//! creation and lookup, login normalisation, one account per login under races, imported legacy
//! hashes, password changes under the policy, the conditional hash upgrade, verification,
//! disabling, claims, unknown subjects and bad input.

mod common;

use std::sync::Arc;

use polyauth_core::account::{normalize_login, Account, Accounts, MAX_LOGIN_BYTES};
use polyauth_core::password::{HasherConfig, PasswordHasher, PasswordPolicy, PolicyConfig};
use polyauth_core::store::{AccountRecord, MfaConfirmation, Store};
use polyauth_core::Error;
use serde_json::{json, Map, Value};

use common::{race, stores};

const PASSWORD: &str = "plum-cactus-orbit-lantern-42";
const OTHER_PASSWORD: &str = "violet-harbour-quartz-meadow-17";

fn hasher() -> PasswordHasher {
    PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).unwrap()
}

fn accounts(store: &Store) -> Accounts {
    Accounts::new(store.clone(), hasher(), None)
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// The stored hash of an account (the API never shows it).
async fn stored_hash(store: &Store, subject: &str) -> Option<String> {
    store
        .account_get(subject)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

fn policy_reasons(e: Error) -> Vec<String> {
    match e {
        Error::PasswordPolicy(reasons) => reasons,
        other => panic!("expected password_policy, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_get_and_find() {
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let before = polyauth_core::token::now();
        let acc = a
            .create(
                "  Alice@Example.COM ",
                PASSWORD,
                Some(obj(json!({"role": "admin", "teams": [1, 2]}))),
            )
            .await
            .unwrap();
        assert_eq!(acc.login, "alice@example.com", "{b}");
        assert!(!acc.verified && !acc.disabled && acc.has_password(), "{b}");
        assert_eq!(
            acc.claims,
            obj(json!({"role": "admin", "teams": [1, 2]})),
            "{b}"
        );
        assert!(acc.created_at >= before, "{b}");
        // Subjects: 16 random bytes, base64url, nothing of the login in them.
        assert_eq!(acc.subject.len(), 22, "{b}");
        assert!(
            acc.subject
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{b}"
        );
        assert!(!acc.subject.to_lowercase().contains("alice"), "{b}");

        assert_eq!(a.get(&acc.subject).await.unwrap(), Some(acc.clone()), "{b}");
        for spelling in [
            "alice@example.com",
            "ALICE@EXAMPLE.COM",
            "\u{3000}ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ\t",
        ] {
            assert_eq!(
                a.find(spelling).await.unwrap(),
                Some(acc.clone()),
                "{b}: {spelling}"
            );
        }
        assert_eq!(a.find("bob@example.com").await.unwrap(), None, "{b}");
        assert_eq!(a.get("no-such-subject").await.unwrap(), None, "{b}");

        // The stored hash is argon2id at the hasher's parameters and verifies the password.
        let h = stored_hash(&store, &acc.subject).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{b}");
        assert!(a.hasher().verify(&h, PASSWORD).unwrap(), "{b}");
        assert!(!a.hasher().needs_rehash(&h).unwrap(), "{b}");

        // Claims default to an empty object; a second account gets another subject.
        let bob = a.create("bob", PASSWORD, None).await.unwrap();
        assert!(bob.claims.is_empty(), "{b}");
        assert_ne!(bob.subject, acc.subject, "{b}");
        let rec = store.account_get(&bob.subject).await.unwrap().unwrap();
        assert_eq!(
            (rec.created_at, rec.updated_at),
            (bob.created_at, bob.created_at),
            "{b}"
        );
        // Debug output never shows the hash.
        assert!(!format!("{bob:?} {rec:?}").contains("argon2"), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_are_normalised_once() {
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let cases = [
            ("Bob@Example.Com", "bob@example.com"),
            ("  carol  ", "carol"),
            ("ＤＡＶＥ", "dave"),
            ("\u{FB01}nn@example.org", "finn@example.org"),
            ("Jos\u{E9}@example.org", "jos\u{E9}@example.org"),
            ("Mary Ann", "mary ann"),
            ("ÅSA@BÜCHER.example", "åsa@bücher.example"),
        ];
        for (login, expected) in cases {
            assert_eq!(normalize_login(login).unwrap(), expected, "{login}");
            let acc = a.create_with_hash(login, &bcrypt4(), None).await.unwrap();
            assert_eq!(acc.login, expected, "{b}: {login}");
            let rec = store.account_find(expected).await.unwrap().unwrap();
            assert_eq!(
                rec.subject, acc.subject,
                "{b}: stored under the normal form"
            );
        }
        // A combining accent finds the precomposed one (NFKC).
        let found = a.find("JOSE\u{301}@EXAMPLE.ORG").await.unwrap().unwrap();
        assert_eq!(found.login, "jos\u{E9}@example.org", "{b}");
        // ß is not folded to ss: two different logins.
        a.create_with_hash("straße", &bcrypt4(), None)
            .await
            .unwrap();
        a.create_with_hash("strasse", &bcrypt4(), None)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_logins_are_account_exists() {
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let first = a.create("erin@example.com", PASSWORD, None).await.unwrap();
        for twin in [
            "erin@example.com",
            "ERIN@example.com",
            "erin@EXAMPLE.COM",
            " erin@example.com ",
            "ｅｒｉｎ@example.com",
            "\u{212F}rin@example.com", // script small e: NFKC gives 'e'
        ] {
            let e = a.create(twin, OTHER_PASSWORD, None).await.unwrap_err();
            assert_eq!(e.code(), "account_exists", "{b}: {twin}");
            let e = a
                .create_with_hash(twin, &bcrypt4(), None)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "account_exists", "{b}: {twin}");
        }
        // The first account is untouched.
        assert_eq!(
            a.find("erin@example.com").await.unwrap(),
            Some(first),
            "{b}"
        );
        // The store primitive itself refuses a taken login, whatever the subject.
        let e = store
            .account_insert(&record("another-subject", "erin@example.com"))
            .await
            .unwrap_err();
        assert_eq!(e, Error::AccountExists, "{b}");
        assert_eq!(
            store.account_get("another-subject").await.unwrap(),
            None,
            "{b}"
        );
        // A subject collision is a bug, not a taken login.
        store
            .account_insert(&record("same-subject", "x1"))
            .await
            .unwrap();
        let e = store
            .account_insert(&record("same-subject", "x2"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "internal_error", "{b}");
        assert_eq!(store.account_find("x2").await.unwrap(), None, "{b}");
    }
}

fn record(subject: &str, login: &str) -> AccountRecord {
    AccountRecord {
        subject: subject.into(),
        login: login.into(),
        password_hash: None,
        verified_at: None,
        disabled_at: None,
        claims: Map::new(),
        created_at: 1,
        updated_at: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_login_leave_one_account() {
    for store in stores().await {
        let b = store.backend();
        let a = Arc::new(accounts(&store));
        // Without hashing, so the inserts really overlap.
        let hash = bcrypt4();
        let (wins, errors) = race(20, || {
            let a = a.clone();
            let hash = hash.clone();
            async move { a.create_with_hash("Race@Example.com", &hash, None).await }
        })
        .await;
        assert_eq!(wins.len(), 1, "{b}: {errors:?}");
        assert!(errors.iter().all(|e| e.code() == "account_exists"), "{b}");
        let found = a.find("race@example.com").await.unwrap().unwrap();
        assert_eq!(found.subject, wins[0].subject, "{b}");
        // The full path, hashing included, with spellings that normalise alike.
        let (wins, errors) = race(20, || {
            let a = a.clone();
            async move { a.create("  RACER ", PASSWORD, None).await }
        })
        .await;
        assert_eq!(wins.len(), 1, "{b}: {errors:?}");
        assert!(errors.iter().all(|e| e.code() == "account_exists"), "{b}");
        // The store primitive alone: twenty subjects, one login.
        let (wins, errors) = race(20, || {
            let store = store.clone();
            let subject = format!("s{}", common::rand_suffix());
            async move {
                store
                    .account_insert(&record(&subject, "raw-race"))
                    .await
                    .map(|()| subject)
            }
        })
        .await;
        assert_eq!(wins.len(), 1, "{b}: {errors:?}");
        assert!(errors.iter().all(|e| *e == Error::AccountExists), "{b}");
        let rec = store.account_find("raw-race").await.unwrap().unwrap();
        assert_eq!(rec.subject, wins[0], "{b}");
    }
}

/// A bcrypt hash of [`PASSWORD`] at cost 4 (cheap; real imports are cost 10-14).
fn bcrypt4() -> String {
    bcrypt::hash_with_salt(PASSWORD, 4, [7u8; 16])
        .unwrap()
        .to_string()
}

/// Hashes of [`PASSWORD`] as other systems store them.
fn imported_hashes() -> Vec<(&'static str, String)> {
    use base64::Engine;
    use hmac::Hmac;
    let salt = "NaClNaClNaClNaCl";
    let mut dk = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<sha2::Sha256>>(PASSWORD.as_bytes(), salt.as_bytes(), 10_000, &mut dk)
        .unwrap();
    let django = format!(
        "pbkdf2_sha256$10000${salt}${}",
        base64::engine::general_purpose::STANDARD.encode(dk)
    );
    // argon2id at other (still OWASP) parameters than the accounts' hasher.
    let other = PasswordHasher::new(
        HasherConfig {
            time_cost: 3,
            memory_kib: 12288,
            ..HasherConfig::default()
        },
        PasswordPolicy::default(),
    )
    .unwrap();
    vec![
        ("bcrypt", bcrypt::hash(PASSWORD, 10).unwrap()),
        ("django", django),
        ("argon2id", other.hash(PASSWORD).unwrap()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imported_hashes_verify_and_upgrade_once() {
    let imports = imported_hashes();
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        for (kind, hash) in &imports {
            let login = format!("{kind}@import.example");
            let acc = a.create_with_hash(&login, hash, None).await.unwrap();
            assert!(acc.has_password(), "{b} {kind}");
            let stored = stored_hash(&store, &acc.subject).await.unwrap();
            assert_eq!(&stored, hash, "{b} {kind}: stored as given");
            // What the sign-in flow will do: verify, then upgrade atomically.
            let out = a.hasher().verify_and_update(&stored, PASSWORD).unwrap();
            assert!(out.valid, "{b} {kind}");
            let new = out.new_hash.expect("legacy or weaker hashes are upgraded");
            assert!(
                a.replace_password_hash(&acc.subject, &stored, &new)
                    .await
                    .unwrap(),
                "{b} {kind}"
            );
            let upgraded = stored_hash(&store, &acc.subject).await.unwrap();
            assert_eq!(upgraded, new, "{b} {kind}");
            assert!(!a.hasher().needs_rehash(&upgraded).unwrap(), "{b} {kind}");
            assert!(
                a.hasher().verify(&upgraded, PASSWORD).unwrap(),
                "{b} {kind}"
            );
            // A second upgrade from the stale hash changes nothing.
            assert!(
                !a.replace_password_hash(&acc.subject, &stored, hash)
                    .await
                    .unwrap(),
                "{b} {kind}"
            );
            assert_eq!(stored_hash(&store, &acc.subject).await.unwrap(), new, "{b}");
        }
        // Garbage, and hashes over the work bounds, are refused before anything is stored.
        for bad in [
            "",
            "plaintext password",
            "$argon2id$v=19$m=19456,t=2,p=1$bad",
            "$2b$15$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
            "$2b$10$short",
            // The right shape and cost, but not bcrypt's base64 in the salt or the digest.
            &format!("$2b$10${}", "!".repeat(53)),
            &format!("$2b$10${}{}", "!".repeat(22), &bcrypt4()[29..]),
            &format!("{}{}", &bcrypt4()[..29], "~".repeat(31)),
            "pbkdf2_sha256$100000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "md5$abc$def",
            &"$".repeat(1 << 20),
        ] {
            let e = a
                .create_with_hash("garbage@import.example", bad, None)
                .await
                .unwrap_err();
            assert_eq!(
                e.code(),
                "invalid_hash",
                "{b}: {}",
                &bad[..bad.len().min(40)]
            );
        }
        assert_eq!(a.find("garbage@import.example").await.unwrap(), None, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn set_password_applies_the_policy_and_changes_verification() {
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let acc = a.create("frank@example.com", PASSWORD, None).await.unwrap();
        let old = stored_hash(&store, &acc.subject).await.unwrap();
        let changed = a.set_password(&acc.subject, OTHER_PASSWORD).await.unwrap();
        assert_eq!(changed.subject, acc.subject, "{b}");
        let new = stored_hash(&store, &acc.subject).await.unwrap();
        assert_ne!(new, old, "{b}");
        assert!(a.hasher().verify(&new, OTHER_PASSWORD).unwrap(), "{b}");
        assert!(!a.hasher().verify(&new, PASSWORD).unwrap(), "{b}");
        // The upgrade computed from the old hash lost the race to the password change.
        assert!(
            !a.replace_password_hash(&acc.subject, &old, &a.hasher().hash(PASSWORD).unwrap())
                .await
                .unwrap(),
            "{b}"
        );
        assert_eq!(stored_hash(&store, &acc.subject).await.unwrap(), new, "{b}");

        // The policy: too short, common, containing the login; the hash stays as it was.
        for (pw, reason) in [
            ("short", "too_short"),
            ("1q2w3e4r5t6y7u8i9o0p", "common_password"),
            ("frank-likes-long-passphrases", "contains_context_word"),
            ("aaaaaaaaaaaaaaaaaaaa", "repetitive"),
        ] {
            let e = a.set_password(&acc.subject, pw).await.unwrap_err();
            assert!(policy_reasons(e).contains(&reason.to_owned()), "{b}: {pw}");
            let e = a
                .create(&format!("frank+{reason}@example.com"), pw, None)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "password_policy", "{b}: {pw}");
        }
        assert_eq!(stored_hash(&store, &acc.subject).await.unwrap(), new, "{b}");
        assert_eq!(
            a.find("frank+too_short@example.com").await.unwrap(),
            None,
            "{b}"
        );

        // An explicit policy replaces the hasher's: at least 20 characters here.
        let strict = PasswordPolicy::new(PolicyConfig {
            min_length: 20,
            ..PolicyConfig::default()
        })
        .unwrap();
        let s = Accounts::new(store.clone(), hasher(), Some(strict));
        let e = s
            .set_password(&acc.subject, "violet-harbour-17")
            .await
            .unwrap_err();
        assert_eq!(policy_reasons(e), ["too_short"], "{b}");
        s.set_password(&acc.subject, "violet-harbour-quartz-17")
            .await
            .unwrap();

        // With a confirmed second factor the MFA minimum (8) applies (PW-6).
        let ten = "qz7-vk2-Lm";
        let e = a.set_password(&acc.subject, ten).await.unwrap_err();
        assert_eq!(policy_reasons(e), ["too_short"], "{b}");
        let now = polyauth_core::token::now();
        store
            .mfa_begin(&acc.subject, "pending-ciphertext", now + 600)
            .await
            .unwrap();
        assert!(store
            .mfa_confirm(
                &acc.subject,
                &MfaConfirmation {
                    expected_pending: "pending-ciphertext",
                    secret: "secret-ciphertext",
                    step: 1,
                    now,
                    code_hashes: &[],
                },
            )
            .await
            .unwrap());
        a.set_password(&acc.subject, ten).await.unwrap();
        let h = stored_hash(&store, &acc.subject).await.unwrap();
        assert!(a.hasher().verify(&h, ten).unwrap(), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_disable_and_claims() {
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let acc = a
            .create_with_hash("grace@example.com", &bcrypt4(), Some(obj(json!({"a": 1}))))
            .await
            .unwrap();
        let v = a.mark_verified(&acc.subject).await.unwrap();
        assert!(v.verified && !v.disabled, "{b}");
        let first = store
            .account_get(&acc.subject)
            .await
            .unwrap()
            .unwrap()
            .verified_at
            .unwrap();
        // Marking again keeps the first time.
        store
            .account_mark(
                &acc.subject,
                polyauth_core::store::AccountMark::Verified,
                first + 100,
            )
            .await
            .unwrap();
        let rec = store.account_get(&acc.subject).await.unwrap().unwrap();
        assert_eq!(rec.verified_at, Some(first), "{b}");
        assert_eq!(rec.updated_at, first + 100, "{b}");

        let d = a.disable(&acc.subject).await.unwrap();
        assert!(d.verified && d.disabled, "{b}");
        assert!(
            a.disable(&acc.subject).await.unwrap().disabled,
            "{b}: idempotent"
        );

        let c = a
            .update_claims(
                &acc.subject,
                obj(json!({"role": "owner", "n": [1, {"x": null}]})),
            )
            .await
            .unwrap();
        assert_eq!(
            c.claims,
            obj(json!({"role": "owner", "n": [1, {"x": null}]})),
            "{b}"
        );
        let got = a.get(&acc.subject).await.unwrap().unwrap();
        assert_eq!(got, c, "{b}");
        assert!(
            got.verified && got.disabled,
            "{b}: flags survive a claims update"
        );
        assert!(got.has_password(), "{b}");
        assert_eq!(
            stored_hash(&store, &acc.subject).await.unwrap(),
            bcrypt4(),
            "{b}"
        );
        // Claims replace, they do not merge; an empty object clears them.
        let cleared = a.update_claims(&acc.subject, Map::new()).await.unwrap();
        assert!(cleared.claims.is_empty(), "{b}");
        // Names polyauth sets itself, and oversize claims, are refused.
        for bad in [
            json!({"sub": "someone-else"}),
            json!({"sid": "x"}),
            json!({"exp": 1}),
            json!({"blob": "x".repeat(17 * 1024)}),
        ] {
            let e = a
                .update_claims(&acc.subject, obj(bad.clone()))
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}: {bad}");
            let e = a
                .create_with_hash("claims@example.com", &bcrypt4(), Some(obj(bad)))
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}");
        }
        // The store can also clear a password (an account without one).
        let rec = store
            .account_set_password_hash(&acc.subject, None, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.password_hash, None, "{b}");
        assert!(
            !a.get(&acc.subject).await.unwrap().unwrap().has_password(),
            "{b}"
        );
        assert!(
            !a.replace_password_hash(&acc.subject, &bcrypt4(), &bcrypt4())
                .await
                .unwrap(),
            "{b}: no password, nothing to upgrade"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_subjects() {
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let ghost = "AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(a.get(ghost).await.unwrap(), None, "{b}");
        for e in [
            a.set_password(ghost, OTHER_PASSWORD).await.unwrap_err(),
            a.mark_verified(ghost).await.unwrap_err(),
            a.disable(ghost).await.unwrap_err(),
            a.update_claims(ghost, Map::new()).await.unwrap_err(),
        ] {
            assert_eq!(e.code(), "invalid_input", "{b}: {e}");
        }
        assert!(
            !a.replace_password_hash(ghost, &bcrypt4(), &bcrypt4())
                .await
                .unwrap(),
            "{b}"
        );
        // Nothing was created by any of it.
        assert_eq!(store.account_get(ghost).await.unwrap(), None, "{b}");
        assert_eq!(
            store
                .account_set_password_hash(ghost, Some("x"), 1)
                .await
                .unwrap(),
            None,
            "{b}"
        );
        assert_eq!(store.account_get(ghost).await.unwrap(), None, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_refused() {
    let huge = "a".repeat(1 << 20);
    for store in stores().await {
        let b = store.backend();
        let a = accounts(&store);
        let too_long = "a".repeat(MAX_LOGIN_BYTES + 1);
        for login in [
            "",
            "   ",
            "nul\0byte",
            "bell\u{7}",
            "zero\u{200B}width",
            &too_long,
            &huge,
        ] {
            let shown = &login[..login.len().min(20)];
            let e = a.create(login, PASSWORD, None).await.unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}: {shown:?}");
            let e = a
                .create_with_hash(login, &bcrypt4(), None)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}: {shown:?}");
            let e = a.find(login).await.unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}: {shown:?}");
        }
        // The longest login is fine.
        let longest = "b".repeat(MAX_LOGIN_BYTES);
        a.create_with_hash(&longest, &bcrypt4(), None)
            .await
            .unwrap();
        assert!(a.find(&longest).await.unwrap().is_some(), "{b}");
        // A megabyte password is refused before any hashing or policy work.
        let e = a
            .create("megabyte@example.com", &huge, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{b}");
        let acc = a.create("henry@example.com", PASSWORD, None).await.unwrap();
        let e = a.set_password(&acc.subject, &huge).await.unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{b}");
        // Subjects: empty, NUL, a megabyte.
        for subject in ["", "a\0b", &huge] {
            assert_eq!(
                a.get(subject).await.unwrap_err().code(),
                "invalid_input",
                "{b}"
            );
            assert_eq!(
                a.mark_verified(subject).await.unwrap_err().code(),
                "invalid_input",
                "{b}"
            );
            assert_eq!(
                a.set_password(subject, PASSWORD).await.unwrap_err().code(),
                "invalid_input",
                "{b}"
            );
        }
        // The new hash of an upgrade must be one the hasher verifies.
        let e = a
            .replace_password_hash(&acc.subject, "x", "not a hash")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_hash", "{b}");
        let fresh: Account = a.get(&acc.subject).await.unwrap().unwrap();
        assert_eq!(fresh, acc, "{b}: nothing changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_futures_are_send() {
    // The bindings run these on a multi-threaded runtime: every future must be Send.
    let store = Store::open("memory://").await.unwrap();
    let task = tokio::spawn(async move {
        let a = accounts(&store);
        let acc = a.create("ivy", PASSWORD, None).await.unwrap();
        let s = acc.subject.clone();
        a.create_with_hash("jack", &bcrypt4(), None).await.unwrap();
        a.get(&s).await.unwrap();
        a.find("IVY").await.unwrap();
        a.set_password(&s, OTHER_PASSWORD).await.unwrap();
        a.replace_password_hash(&s, "x", &bcrypt4()).await.unwrap();
        a.mark_verified(&s).await.unwrap();
        a.disable(&s).await.unwrap();
        a.update_claims(&s, Map::new()).await.unwrap()
    });
    let acc = task.await.unwrap();
    assert!(acc.verified && acc.disabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_4_upgrades_and_applies_by_hand() {
    if !common::wanted("sqlite") {
        return;
    }
    let all = Store::migrations_sql();
    assert!(all.contains("-- polyauth migration 4\nCREATE TABLE IF NOT EXISTS polyauth_accounts"));
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("polyauth-test-{}", common::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let versions = |url: String| async move {
        use sqlx::Row;
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let rows = sqlx::query("SELECT CAST(version AS BIGINT) AS v FROM polyauth_schema_version")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        let mut v: Vec<i64> = rows.iter().map(|r| r.get("v")).collect();
        v.sort();
        v
    };
    // A database at version 3 (the previous release) gets the accounts table on open.
    let url = format!("sqlite://{}", dir.join("v3.db").display());
    {
        use sqlx::Executor;
        let pool = sqlx::AnyPool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        let v3 = all.split("-- polyauth migration 4").next().unwrap();
        pool.execute(sqlx::raw_sql(v3)).await.unwrap();
        pool.close().await;
    }
    assert_eq!(versions(url.clone()).await, [1, 2, 3]);
    let e = Store::open_with(&url, polyauth_core::store::OpenOptions { migrate: false })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_config");
    let store = Store::open(&url).await.unwrap();
    accounts(&store)
        .create_with_hash("kim", &bcrypt4(), None)
        .await
        .unwrap();
    assert_eq!(versions(url.clone()).await, [1, 2, 3, 4]);
    // The printed SQL, applied by hand, is a current schema that opens without migrating.
    let url = format!("sqlite://{}", dir.join("manual.db").display());
    {
        use sqlx::Executor;
        let pool = sqlx::AnyPool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        pool.execute(sqlx::raw_sql(&all)).await.unwrap();
        pool.close().await;
    }
    assert_eq!(versions(url.clone()).await, [1, 2, 3, 4]);
    let store = Store::open_with(&url, polyauth_core::store::OpenOptions { migrate: false })
        .await
        .unwrap();
    let a = accounts(&store);
    let acc = a.create_with_hash("lee", &bcrypt4(), None).await.unwrap();
    assert_eq!(a.find("LEE").await.unwrap(), Some(acc));
}
