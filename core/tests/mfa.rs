//! MFA conformance: enrollment, replay-safe verification (OTP-2), recovery codes (OTP-7),
//! encrypted secrets with key rotation (OTP-5) and throttling (RL-1), on every store backend.

mod common;

use std::sync::Arc;

use common::{durable_urls, race, rand_suffix, stores, wanted};
use polyauth_core::mfa::{EncryptionKeys, KeyMaterial, Mfa, MfaConfig};
use polyauth_core::store::Store;
use polyauth_core::throttle::{Throttle, ThrottleConfig};
use polyauth_core::totp::{Totp, TotpConfig};
use zeroize::Zeroizing;

const OLD_KEY: [u8; 32] = [0x11; 32];
const NEW_KEY: [u8; 32] = [0x22; 32];

fn totp() -> Totp {
    Totp::new(TotpConfig {
        issuer: "Polyauth Test".into(),
        ..Default::default()
    })
    .unwrap()
}

fn mfa_with(store: &Store, keys: &[[u8; 32]]) -> Mfa {
    let materials: Vec<KeyMaterial> = keys
        .iter()
        .map(|k| KeyMaterial::Bytes(Zeroizing::new(k.to_vec())))
        .collect();
    Mfa::new(
        store.clone(),
        totp(),
        EncryptionKeys::new(&materials).unwrap(),
        None,
        MfaConfig::default(),
    )
    .unwrap()
}

fn mfa(store: &Store) -> Mfa {
    mfa_with(store, &[OLD_KEY])
}

/// An `Mfa` whose failures are counted by a throttle with `config`.
fn mfa_throttled(store: &Store, config: ThrottleConfig) -> Mfa {
    Mfa::new(
        store.clone(),
        totp(),
        EncryptionKeys::new(&[KeyMaterial::Bytes(Zeroizing::new(OLD_KEY.to_vec()))]).unwrap(),
        Some(Throttle::new(store.clone(), config).unwrap()),
        MfaConfig::default(),
    )
    .unwrap()
}

/// Three failures lock for an hour (of the server clock), so no test depends on timing.
fn hour_lock() -> ThrottleConfig {
    ThrottleConfig {
        max_failures: 3,
        reset_after: 3600,
        ..Default::default()
    }
}

/// The start of the current time step, plus one second: codes for `now + 30 k` are exact.
fn step_start() -> i64 {
    let t = polyauth_core::token::now();
    t - t % 30 + 1
}

fn subject() -> String {
    format!("user-{}", rand_suffix())
}

fn code_at(secret: &str, t: i64) -> String {
    totp().code(secret, t as u64).unwrap()
}

/// The error code of a call that must fail.
trait Code {
    fn code(self) -> &'static str;
}

impl<T> Code for polyauth_core::Result<T> {
    fn code(self) -> &'static str {
        match self {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.code(),
        }
    }
}

/// Clears the MFA throttle counter of `subject` (after a test provoked failures on purpose).
async fn unlock(store: &Store, subject: &str) {
    Throttle::new(store.clone(), ThrottleConfig::default())
        .unwrap()
        .reset(&polyauth_core::mfa::throttle_key(subject))
        .await
        .unwrap();
}

/// Enrolls and confirms `subject` at `now`; returns the secret and the recovery codes.
async fn enrolled(m: &Mfa, subject: &str, now: i64) -> (String, Vec<String>) {
    let e = m
        .begin_enrollment_at(subject, "jane@example.com", now)
        .await
        .unwrap();
    let codes = m
        .confirm_at(subject, &code_at(&e.secret, now), now)
        .await
        .unwrap();
    (
        e.secret.to_string(),
        codes.iter().map(|c| c.to_string()).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrollment_confirmation_and_replay() {
    for store in stores().await {
        let b = store.backend();
        let m = mfa(&store);
        let s = subject();
        let now = step_start();
        let st = m.status_at(&s, now).await.unwrap();
        assert!(!st.enabled && !st.pending, "{b}");
        let e = m
            .begin_enrollment_at(&s, "jane@example.com", now)
            .await
            .unwrap();
        assert!(
            e.uri
                .starts_with("otpauth://totp/Polyauth%20Test:jane%40example.com?"),
            "{b}: {}",
            e.uri.as_str()
        );
        assert!(e.uri.contains(e.secret.as_str()), "{b}");
        assert!(e.qr_svg.contains("<svg"), "{b}");
        assert_eq!(e.expires_at, now + 900, "{b}");
        let st = m.status_at(&s, now).await.unwrap();
        assert!(!st.enabled && st.pending, "{b}");
        // Not confirmed yet: no code works for login.
        let code = code_at(&e.secret, now);
        assert_eq!(
            m.verify_at(&s, &code, now).await.code(),
            "totp_invalid",
            "{b}"
        );
        // The stored secret is encrypted: the plaintext is nowhere in the record.
        let rec = store.mfa_get(&s).await.unwrap().unwrap();
        let pending = rec.pending_secret.unwrap();
        assert!(
            pending.starts_with("v1.") && !pending.contains(e.secret.as_str()),
            "{b}"
        );
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(
            m.confirm_at(&s, &wrong, now).await.code(),
            "totp_invalid",
            "{b}"
        );
        let codes = m.confirm_at(&s, &code, now).await.unwrap();
        assert_eq!(codes.len(), 10, "{b}");
        let st = m.status_at(&s, now).await.unwrap();
        assert_eq!(
            (
                st.enabled,
                st.pending,
                st.confirmed_at,
                st.recovery_codes_remaining
            ),
            (true, false, Some(now), 10),
            "{b}"
        );
        // The confirming code is spent.
        assert_eq!(
            m.verify_at(&s, &code, now).await.code(),
            "totp_replayed",
            "{b}"
        );
        // The next step's code works once.
        let next = code_at(&e.secret, now + 30);
        let step = m.verify_at(&s, &next, now + 30).await.unwrap();
        assert_eq!(step as i64, (now + 30) / 30, "{b}");
        assert_eq!(
            m.verify_at(&s, &next, now + 31).await.code(),
            "totp_replayed",
            "{b}: same code twice"
        );
        // Step T-1 is inside the window at T+1, but older than the last accepted step.
        let later = code_at(&e.secret, now + 60);
        m.verify_at(&s, &later, now + 60).await.unwrap();
        assert_eq!(
            m.verify_at(&s, &next, now + 60).await.code(),
            "totp_replayed",
            "{b}: T-1 after T"
        );
        assert_eq!(
            m.status_at(&s, now + 60).await.unwrap().last_used_at,
            Some(now + 60),
            "{b}"
        );
        // Out of the window: invalid, not replayed.
        assert_eq!(
            m.verify_at(&s, &code_at(&e.secret, now + 300), now + 90)
                .await
                .code(),
            "totp_invalid",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submissions_of_one_code_have_one_winner() {
    for store in stores().await {
        let b = store.backend();
        let m = Arc::new(mfa(&store));
        let s = subject();
        let now = step_start();
        let (secret, _) = enrolled(&m, &s, now).await;
        let code = code_at(&secret, now + 30);
        let (wins, errors) = race(50, || {
            let (m, s, code) = (m.clone(), s.clone(), code.clone());
            async move { m.verify_at(&s, &code, now + 30).await }
        })
        .await;
        for e in &errors {
            assert!(
                ["totp_replayed", "rate_limited"].contains(&e.code()),
                "{b}: {e}"
            );
        }
        assert_eq!(
            wins.len(),
            1,
            "{b}: exactly one of 50 concurrent submissions"
        );
        // Concurrent confirmations of one enrollment: one wins.
        let s2 = subject();
        let e = m
            .begin_enrollment_at(&s2, "race@example.com", now)
            .await
            .unwrap();
        let code = code_at(&e.secret, now);
        let (wins, errors) = race(20, || {
            let (m, s2, code) = (m.clone(), s2.clone(), code.clone());
            async move { m.confirm_at(&s2, &code, now).await }
        })
        .await;
        for e in &errors {
            assert!(
                ["totp_replayed", "totp_invalid", "rate_limited"].contains(&e.code()),
                "{b}: {e}"
            );
        }
        assert_eq!(wins.len(), 1, "{b}: exactly one confirmation");
        assert_eq!(
            m.status_at(&s2, now)
                .await
                .unwrap()
                .recovery_codes_remaining,
            10,
            "{b}: one set of codes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovery_codes_are_single_use() {
    for store in stores().await {
        let b = store.backend();
        let m = Arc::new(mfa(&store));
        let s = subject();
        let now = step_start();
        let (_, codes) = enrolled(&m, &s, now).await;
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10, "{b}");
        assert_eq!(
            m.verify_recovery_code(&s, &codes[0]).await.unwrap(),
            9,
            "{b}"
        );
        assert_eq!(
            m.verify_recovery_code(&s, &codes[0]).await.code(),
            "totp_replayed",
            "{b}"
        );
        // Typed differently: upper case, spaces instead of dashes.
        let typed = codes[1].to_uppercase().replace('-', " ");
        assert_eq!(m.verify_recovery_code(&s, &typed).await.unwrap(), 8, "{b}");
        // Another subject's code is unknown here.
        let other = subject();
        let (_, other_codes) = enrolled(&m, &other, now).await;
        assert_eq!(
            m.verify_recovery_code(&s, &other_codes[0]).await.code(),
            "totp_invalid",
            "{b}"
        );
        for bad in ["", "not-a-code", "000000-000000-000000-00000u"] {
            assert_eq!(
                m.verify_recovery_code(&s, bad).await.code(),
                "totp_invalid",
                "{b}: {bad}"
            );
        }
        // Many concurrent uses of one code: one wins.
        let (wins, errors) = race(20, || {
            let (m, s, c) = (m.clone(), s.clone(), codes[2].clone());
            async move { m.verify_recovery_code(&s, &c).await }
        })
        .await;
        assert_eq!(wins, vec![7], "{b}: one use wins, 7 codes left");
        for e in &errors {
            assert!(
                ["totp_replayed", "rate_limited"].contains(&e.code()),
                "{b}: {e}"
            );
        }
        unlock(&store, &s).await;
        // Regeneration replaces every code.
        let fresh = m.regenerate_recovery_codes(&s).await.unwrap();
        assert_eq!(fresh.len(), 10, "{b}");
        assert_eq!(
            m.verify_recovery_code(&s, &codes[3]).await.code(),
            "totp_invalid",
            "{b}: old codes are gone"
        );
        assert_eq!(
            m.status(&s).await.unwrap().recovery_codes_remaining,
            10,
            "{b}"
        );
        assert_eq!(
            m.verify_recovery_code(&s, &fresh[9]).await.unwrap(),
            9,
            "{b}"
        );
        // Without a confirmed factor there is nothing to regenerate.
        assert_eq!(
            m.regenerate_recovery_codes(&subject()).await.code(),
            "invalid_input",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reenrollment_expiry_and_disable() {
    for store in stores().await {
        let b = store.backend();
        let m = mfa(&store);
        let s = subject();
        let now = step_start();
        let (old_secret, old_codes) = enrolled(&m, &s, now).await;
        // A new enrollment does not disturb the confirmed factor until it is confirmed.
        let e = m
            .begin_enrollment_at(&s, "jane@example.com", now + 30)
            .await
            .unwrap();
        let st = m.status_at(&s, now + 30).await.unwrap();
        assert!(st.enabled && st.pending, "{b}");
        m.verify_at(&s, &code_at(&old_secret, now + 30), now + 30)
            .await
            .unwrap();
        let new_codes = m
            .confirm_at(&s, &code_at(&e.secret, now + 60), now + 60)
            .await
            .unwrap();
        assert_eq!(
            m.verify_at(&s, &code_at(&old_secret, now + 90), now + 90)
                .await
                .code(),
            "totp_invalid",
            "{b}: the old secret is replaced"
        );
        m.verify_at(&s, &code_at(&e.secret, now + 90), now + 90)
            .await
            .unwrap();
        assert_eq!(
            m.verify_recovery_code_at(&s, &old_codes[0], now + 90)
                .await
                .code(),
            "totp_invalid",
            "{b}: old recovery codes are replaced"
        );
        m.verify_recovery_code_at(&s, &new_codes[0], now + 90)
            .await
            .unwrap();
        // A pending enrollment lapses after enrollment_ttl.
        let lapsing = m
            .begin_enrollment_at(&s, "jane@example.com", now)
            .await
            .unwrap();
        assert!(!m.status_at(&s, now + 900).await.unwrap().pending, "{b}");
        assert_eq!(
            m.confirm_at(&s, &code_at(&lapsing.secret, now + 900), now + 900)
                .await
                .code(),
            "totp_invalid",
            "{b}"
        );
        // Disable removes everything.
        assert!(m.disable(&s).await.unwrap(), "{b}");
        assert!(!m.disable(&s).await.unwrap(), "{b}: nothing left");
        let st = m.status(&s).await.unwrap();
        assert!(
            !st.enabled && !st.pending && st.recovery_codes_remaining == 0,
            "{b}"
        );
        assert_eq!(
            m.verify_at(&s, &code_at(&e.secret, now + 120), now + 120)
                .await
                .code(),
            "totp_invalid",
            "{b}"
        );
        assert_eq!(
            m.verify_recovery_code_at(&s, &new_codes[1], now + 120)
                .await
                .code(),
            "totp_invalid",
            "{b}"
        );
        // Confirm with nothing pending.
        assert_eq!(
            m.confirm_at(&s, "123456", now + 120).await.code(),
            "totp_invalid",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_are_throttled() {
    for store in stores().await {
        let b = store.backend();
        let m = mfa_throttled(
            &store,
            ThrottleConfig {
                base_delay: 600,
                max_delay: 600,
                ..Default::default()
            },
        );
        let s = subject();
        let now = step_start();
        let (secret, codes) = enrolled(&m, &s, now).await;
        let good = code_at(&secret, now + 30);
        let bad = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
        // Five free failures, the sixth sets a lock (600 s of the server clock).
        for i in 0..6 {
            assert_eq!(
                m.verify_at(&s, &bad, now + 30).await.code(),
                "totp_invalid",
                "{b}: failure {i}"
            );
        }
        let e = m.verify_at(&s, &good, now + 30).await.unwrap_err();
        assert_eq!(e.code(), "rate_limited", "{b}");
        assert!((599..=600).contains(&e.retry_after().unwrap()), "{b}");
        // Recovery codes share the counter.
        assert_eq!(
            m.verify_recovery_code_at(&s, &codes[0], now + 30)
                .await
                .code(),
            "rate_limited",
            "{b}"
        );
        // After a reset, a success clears the counter.
        unlock(&store, &s).await;
        for _ in 0..5 {
            assert_eq!(
                m.verify_at(&s, &bad, now + 30).await.code(),
                "totp_invalid",
                "{b}"
            );
        }
        m.verify_at(&s, &good, now + 31).await.unwrap();
        for _ in 0..5 {
            assert_eq!(
                m.verify_at(&s, &bad, now + 31).await.code(),
                "totp_invalid",
                "{b}"
            );
        }
        // Malformed codes are refused before the store: they are not counted.
        for junk in ["abcdef", "12345", "123456789", "12 345", "", "１２３４５"] {
            assert_eq!(
                m.verify_at(&s, junk, now + 31).await.code(),
                "totp_invalid",
                "{b}: {junk}"
            );
        }
        m.verify_at(&s, &code_at(&secret, now + 60), now + 60)
            .await
            .unwrap();
    }
}

/// The injected `now` moves only the TOTP clock: a call "in the future" used to skip an active
/// lock (the throttle ran on the injected clock too).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_injected_clock_does_not_skip_a_lock() {
    for store in stores().await {
        let b = store.backend();
        let m = mfa_throttled(&store, hour_lock());
        let s = subject();
        let now = step_start();
        let (secret, codes) = enrolled(&m, &s, now).await;
        for _ in 0..3 {
            assert_eq!(m.verify(&s, "000000").await.code(), "totp_invalid", "{b}");
        }
        let far = now + 10 * 365 * 86_400;
        let e = m
            .verify_at(&s, &code_at(&secret, far), far)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "rate_limited", "{b}");
        assert!((3599..=3600).contains(&e.retry_after().unwrap()), "{b}");
        assert_eq!(
            m.verify_recovery_code_at(&s, &codes[0], far).await.code(),
            "rate_limited",
            "{b}"
        );
        let e2 = m
            .begin_enrollment_at(&s, "jane@example.com", far)
            .await
            .unwrap();
        assert_eq!(
            m.confirm_at(&s, &code_at(&e2.secret, far), far)
                .await
                .code(),
            "rate_limited",
            "{b}"
        );
    }
}

/// A throttle context (e.g. the client's IP address) gives each (subject, context) its own
/// counter: one address's failures lock only its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttle_contexts_are_counted_apart() {
    for store in stores().await {
        let b = store.backend();
        let m = mfa_throttled(&store, hour_lock());
        let s = subject();
        let now = step_start();
        let (secret, codes) = enrolled(&m, &s, now).await;
        let (ip1, ip2) = (Some("198.51.100.1"), Some("2001:db8::2"));
        for _ in 0..3 {
            assert_eq!(
                m.verify_in(&s, "000000", ip1, now + 30).await.code(),
                "totp_invalid",
                "{b}"
            );
        }
        let good = code_at(&secret, now + 30);
        assert_eq!(
            m.verify_in(&s, &good, ip1, now + 30).await.code(),
            "rate_limited",
            "{b}: ip1 is locked"
        );
        assert_eq!(
            m.verify_recovery_code_in(&s, &codes[0], ip1, now + 30)
                .await
                .code(),
            "rate_limited",
            "{b}: recovery codes share ip1's key"
        );
        // Another address, and the subject's own key, are not.
        m.verify_in(&s, &good, ip2, now + 30).await.unwrap();
        m.verify_at(&s, &code_at(&secret, now + 60), now + 60)
            .await
            .unwrap();
        assert_eq!(
            m.verify_recovery_code_in(&s, &codes[0], ip2, now + 60)
                .await
                .unwrap(),
            9,
            "{b}"
        );
        // ip2's failures count on ip2's key only.
        for _ in 0..3 {
            assert_eq!(
                m.verify_in(&s, "000000", ip2, now + 60).await.code(),
                "totp_invalid",
                "{b}"
            );
        }
        assert_eq!(
            m.verify_in(&s, "000000", ip2, now + 60).await.code(),
            "rate_limited",
            "{b}"
        );
        m.verify_at(&s, &code_at(&secret, now + 90), now + 90)
            .await
            .unwrap();
        // An administrator unlocks one address by its key.
        Throttle::new(store.clone(), ThrottleConfig::default())
            .unwrap()
            .reset(&polyauth_core::mfa::throttle_key_in(&s, ip1))
            .await
            .unwrap();
        m.verify_in(&s, &code_at(&secret, now + 120), ip1, now + 120)
            .await
            .unwrap();
        assert_eq!(
            m.verify_in(&s, &code_at(&secret, now + 150), ip2, now + 150)
                .await
                .code(),
            "rate_limited",
            "{b}"
        );
        for bad in ["", "a\0b", &"x".repeat(257)] {
            assert_eq!(
                m.verify_in(&s, &good, Some(bad), now).await.code(),
                "invalid_input",
                "{b}"
            );
            assert_eq!(
                m.verify_recovery_code_in(&s, &codes[1], Some(bad), now)
                    .await
                    .code(),
                "invalid_input",
                "{b}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn encryption_keys_rotate_and_wrong_keys_fail() {
    for store in stores().await {
        let b = store.backend();
        let old = mfa_with(&store, &[OLD_KEY]);
        let s = subject();
        let now = step_start();
        let (secret, _) = enrolled(&old, &s, now).await;
        let before = store.mfa_get(&s).await.unwrap().unwrap().secret.unwrap();
        // A wrong key never yields the secret; and it is not the user's failure: however often
        // it happens, the throttle does not count it.
        let wrong = mfa_with(&store, &[NEW_KEY]);
        for _ in 0..8 {
            let e = wrong
                .verify_at(&s, &code_at(&secret, now + 30), now + 30)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_key", "{b}");
            assert!(!e.to_string().contains(&secret), "{b}");
        }
        // Rotation: the new key first, the old one still decrypts; a successful verify
        // re-encrypts the secret under the new key.
        let rotated = mfa_with(&store, &[NEW_KEY, OLD_KEY]);
        rotated
            .verify_at(&s, &code_at(&secret, now + 30), now + 30)
            .await
            .unwrap();
        let after = store.mfa_get(&s).await.unwrap().unwrap().secret.unwrap();
        assert_ne!(before, after, "{b}");
        assert!(after.contains(&rotated.key_ids()[0]), "{b}");
        // The old key can now be dropped.
        wrong
            .verify_at(&s, &code_at(&secret, now + 60), now + 60)
            .await
            .unwrap();
        assert_eq!(
            old.verify_at(&s, &code_at(&secret, now + 90), now + 90)
                .await
                .code(),
            "invalid_key",
            "{b}"
        );
        // An undecodable stored secret, and another subject's ciphertext, are refused.
        let victim = subject();
        for stored in ["garbage", "v1.0011223344556677.AAAA", after.as_str()] {
            store.mfa_begin(&victim, stored, now + 900).await.unwrap();
            assert_eq!(
                wrong
                    .confirm_at(&victim, &code_at(&secret, now), now)
                    .await
                    .code(),
                "invalid_key",
                "{b}: {stored}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_refused() {
    let store = Store::open("memory://").await.unwrap();
    let m = mfa(&store);
    let now = step_start();
    let (secret, _) = enrolled(&m, "u", now).await;
    let big = "1".repeat(1 << 20);
    assert_eq!(m.verify_at("u", &big, now).await.code(), "invalid_input");
    assert_eq!(m.confirm_at("u", &big, now).await.code(), "invalid_input");
    assert_eq!(
        m.verify_recovery_code("u", &big).await.code(),
        "invalid_input"
    );
    for bad_subject in ["", "a\0b", &"x".repeat(1025)] {
        assert_eq!(
            m.verify_at(bad_subject, &code_at(&secret, now), now)
                .await
                .code(),
            "invalid_input"
        );
        assert_eq!(
            m.begin_enrollment(bad_subject, "a@b").await.code(),
            "invalid_input"
        );
        assert_eq!(m.status(bad_subject).await.code(), "invalid_input");
    }
    for bad_account in ["", "a:b", &"x".repeat(257)] {
        assert_eq!(
            m.begin_enrollment("u2", bad_account).await.code(),
            "invalid_input"
        );
    }
    // A subject of 1024 bytes works (its throttle key is a digest).
    let long = "é".repeat(512);
    let (secret, _) = enrolled(&m, &long, now).await;
    m.verify_at(&long, &code_at(&secret, now + 30), now + 30)
        .await
        .unwrap();
    let throttle = Throttle::new(store.clone(), ThrottleConfig::default()).unwrap();
    for ttl in [0, 59, 86_401] {
        let e = Mfa::new(
            store.clone(),
            totp(),
            EncryptionKeys::new(&[KeyMaterial::Bytes(Zeroizing::new(OLD_KEY.to_vec()))]).unwrap(),
            Some(throttle.clone()),
            MfaConfig {
                enrollment_ttl: ttl,
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_config", "{ttl}");
    }
    let shown = format!("{m:?}");
    assert!(
        shown.contains("key_ids") && !shown.contains(&secret),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accepted_steps_and_used_codes_survive_reopening() {
    for url in durable_urls().await {
        let s = subject();
        let now = step_start();
        let (secret, codes) = {
            let store = Store::open(&url).await.unwrap();
            let m = mfa(&store);
            let (secret, codes) = enrolled(&m, &s, now).await;
            m.verify_at(&s, &code_at(&secret, now + 30), now + 30)
                .await
                .unwrap();
            m.verify_recovery_code_at(&s, &codes[0], now + 30)
                .await
                .unwrap();
            (secret, codes)
        };
        let store = Store::open(&url).await.unwrap();
        let b = store.backend();
        let m = mfa(&store);
        assert_eq!(
            m.verify_at(&s, &code_at(&secret, now + 30), now + 31)
                .await
                .code(),
            "totp_replayed",
            "{b}"
        );
        assert_eq!(
            m.verify_recovery_code_at(&s, &codes[0], now + 31)
                .await
                .code(),
            "totp_replayed",
            "{b}"
        );
        assert_eq!(
            m.status(&s).await.unwrap().recovery_codes_remaining,
            9,
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_is_upgraded_on_open() {
    if !wanted("sqlite") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("polyauth-test-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("v1.db").display());
    // Create the schema as the first release did: migration 1 only.
    let all = Store::migrations_sql();
    let v1 = all
        .split("-- polyauth migration 2")
        .next()
        .unwrap()
        .to_owned();
    sqlx::any::install_default_drivers();
    {
        use sqlx::Executor;
        let pool = sqlx::AnyPool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        pool.execute(sqlx::raw_sql(&v1)).await.unwrap();
        pool.close().await;
    }
    let store = Store::open(&url).await.unwrap();
    let m = mfa(&store);
    let now = step_start();
    let (secret, _) = enrolled(&m, "upgraded", now).await;
    m.verify_at("upgraded", &code_at(&secret, now + 30), now + 30)
        .await
        .unwrap();
}
