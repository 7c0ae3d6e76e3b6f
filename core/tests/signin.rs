//! The sign-in decision (FRAMEWORKS.md §4) on every backend: the password step (amr, claims,
//! meta), identical `invalid_credentials` for every failure (PW-11), the legacy hash upgrade,
//! throttling before verification (RL-1, also under a burst), and the second factor (single-use
//! challenge tokens, fresh tokens after a wrong code, at most 5 per password step, recovery codes).

mod common;

use common::{race, rand_suffix, stores};
use polyauth_core::account::Accounts;
use polyauth_core::mfa::{EncryptionKeys, KeyMaterial, Mfa, MfaConfig};
use polyauth_core::password::{HasherConfig, PasswordHasher, PasswordPolicy};
use polyauth_core::session::{Sessions, SessionsConfig, TokenPair};
use polyauth_core::signin::{
    context_throttle_key, login_throttle_key, AccountSource, AppAccount, SecondFactorOutcome,
    SignIn, SignInResult, MAX_SECOND_FACTOR_TRIES,
};
use polyauth_core::store::{AccountRecord, Store};
use polyauth_core::throttle::{Throttle, ThrottleConfig};
use polyauth_core::totp::{Totp, TotpConfig};
use polyauth_core::{Alg, Error, KeySet, KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

const PASSWORD: &str = "plum-cactus-orbit-lantern-42";
const WRONG: &str = "violet-harbour-quartz-meadow-17";

struct Setup {
    accounts: Accounts,
    tokens: Tokens,
    mfa: Mfa,
    signin: SignIn,
}

fn totp() -> Totp {
    Totp::new(TotpConfig {
        issuer: "Polyauth Test".into(),
        ..Default::default()
    })
    .unwrap()
}

fn setup(store: &Store, throttle: Option<ThrottleConfig>) -> Setup {
    let hasher = PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).unwrap();
    let accounts = Accounts::new(store.clone(), hasher, None);
    let tokens = Tokens::new(
        KeySource::Local(KeySet::generate(Alg::EdDSA, None).unwrap()),
        TokensConfig::new("https://issuer.test", vec!["api".into()]),
    )
    .unwrap();
    let sessions = Sessions::new(store.clone(), tokens.clone(), SessionsConfig::default()).unwrap();
    let mfa = Mfa::new(
        store.clone(),
        totp(),
        EncryptionKeys::new(&[KeyMaterial::Bytes(Zeroizing::new(vec![0x11; 32]))]).unwrap(),
        None,
        MfaConfig::default(),
    )
    .unwrap();
    let throttle = throttle.map(|c| Throttle::new(store.clone(), c).unwrap());
    let signin = SignIn::new(
        accounts.clone(),
        sessions,
        Some(mfa.clone()),
        throttle,
        None,
    )
    .unwrap();
    Setup {
        accounts,
        tokens,
        mfa,
        signin,
    }
}

fn login() -> String {
    format!("user-{}@example.com", rand_suffix())
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn claims_of(s: &Setup, pair: &TokenPair) -> Map<String, Value> {
    s.tokens
        .verify(&pair.access_token, &VerifyOptions::default())
        .unwrap()
}

fn signed(r: polyauth_core::Result<SignInResult>) -> TokenPair {
    match r.unwrap() {
        SignInResult::Ok(p) => p,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn challenge(r: polyauth_core::Result<SignInResult>) -> String {
    match r.unwrap() {
        SignInResult::MfaRequired { mfa_token } => mfa_token,
        other => panic!("expected mfa_required, got {other:?}"),
    }
}

async fn stored_hash(store: &Store, subject: &str) -> String {
    store
        .account_get(subject)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap()
}

/// Enrolls and confirms `subject` two minutes in the past (so the current code is a later step
/// than the confirming one); returns the secret and the recovery codes.
async fn enroll(m: &Mfa, subject: &str) -> (String, Vec<String>) {
    let then = polyauth_core::token::now() - 120;
    let e = m
        .begin_enrollment_at(subject, "jane@example.com", then)
        .await
        .unwrap();
    let code = totp().code(&e.secret, then as u64).unwrap();
    let codes = m.confirm_at(subject, &code, then).await.unwrap();
    (
        e.secret.to_string(),
        codes.iter().map(|c| c.to_string()).collect(),
    )
}

/// A code that is wrong now (the right one, plus one, modulo 10^6).
fn wrong_code(secret: &str, now: i64) -> String {
    let right: u32 = totp().code(secret, now as u64).unwrap().parse().unwrap();
    format!("{:06}", (right + 1) % 1_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_signs_in_with_amr_pwd_claims_and_meta() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s
            .accounts
            .create(
                &l,
                PASSWORD,
                Some(obj(json!({"roles": ["admin"], "tenant": 7}))),
            )
            .await
            .unwrap();
        // The login is normalised: case and surrounding spaces do not matter.
        let pair = signed(
            s.signin
                .password(
                    &format!("  {}  ", l.to_uppercase()),
                    PASSWORD,
                    Some(obj(json!({"ip": "192.0.2.1"}))),
                    Some("192.0.2.1"),
                )
                .await,
        );
        let claims = claims_of(&s, &pair);
        assert_eq!(claims["sub"], json!(acc.subject), "{b}");
        assert_eq!(claims["amr"], json!(["pwd"]), "{b}");
        let auth_time = claims["auth_time"].as_i64().unwrap();
        assert!((auth_time - polyauth_core::token::now()).abs() <= 5, "{b}");
        assert_eq!(claims["roles"], json!(["admin"]), "{b}");
        assert_eq!(claims["tenant"], json!(7), "{b}");
        assert_eq!(claims["sid"], json!(pair.session_id), "{b}");
        let listed = s.signin.sessions().list(&acc.subject).await.unwrap();
        assert_eq!(listed.len(), 1, "{b}");
        assert_eq!(listed[0].meta, obj(json!({"ip": "192.0.2.1"})), "{b}");
        // A second sign-in is a second session, never the first one again.
        let again = signed(s.signin.password(&l, PASSWORD, None, None).await);
        assert_ne!(again.session_id, pair.session_id, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_failure_is_the_same_invalid_credentials() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let disabled = login();
        let d = s.accounts.create(&disabled, PASSWORD, None).await.unwrap();
        s.accounts.disable(&d.subject).await.unwrap();
        let no_password = login();
        store
            .account_insert(&AccountRecord {
                subject: format!("np-{}", rand_suffix()),
                login: no_password.clone(),
                password_hash: None,
                verified_at: None,
                disabled_at: None,
                claims: Map::new(),
                created_at: 1,
                updated_at: 1,
            })
            .await
            .unwrap();
        let cases: Vec<(&str, String, &str)> = vec![
            ("wrong password", l.clone(), WRONG),
            ("unknown login", login(), PASSWORD),
            ("disabled", disabled.clone(), PASSWORD),
            ("no password", no_password.clone(), PASSWORD),
            ("empty login", String::new(), PASSWORD),
            ("control character", "a\u{7}b@example.com".into(), PASSWORD),
            ("invisible character", "ad\u{200B}min".into(), PASSWORD),
            ("too long", "x".repeat(5000), PASSWORD),
        ];
        let mut messages = Vec::new();
        for (what, login, password) in &cases {
            let e = s
                .signin
                .password(login, password, None, None)
                .await
                .unwrap_err();
            assert_eq!(e, Error::InvalidCredentials, "{b} {what}");
            assert_eq!(e.code(), "invalid_credentials", "{b} {what}");
            messages.push(e.to_string());
        }
        assert!(messages.iter().all(|m| m == &messages[0]), "{b}");
        assert!(!messages[0].contains('@'), "{b}: the message names nothing");
        // The right password still works after the failures (below the throttle's free ones).
        signed(s.signin.password(&l, PASSWORD, None, None).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn legacy_bcrypt_import_is_upgraded_exactly_once() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let bcrypt = bcrypt::hash_with_salt(PASSWORD, 4, [7u8; 16])
            .unwrap()
            .to_string();
        let l = login();
        let acc = s
            .accounts
            .create_with_hash(&l, &bcrypt, None)
            .await
            .unwrap();
        // A wrong password upgrades nothing.
        assert_eq!(
            s.signin.password(&l, WRONG, None, None).await.unwrap_err(),
            Error::InvalidCredentials,
            "{b}"
        );
        assert_eq!(stored_hash(&store, &acc.subject).await, bcrypt, "{b}");
        signed(s.signin.password(&l, PASSWORD, None, None).await);
        let upgraded = stored_hash(&store, &acc.subject).await;
        assert!(upgraded.starts_with("$argon2id$"), "{b}");
        assert!(!s.accounts.hasher().needs_rehash(&upgraded).unwrap(), "{b}");
        // Later sign-ins verify the new hash and leave it alone.
        for _ in 0..2 {
            signed(s.signin.password(&l, PASSWORD, None, None).await);
            assert_eq!(stored_hash(&store, &acc.subject).await, upgraded, "{b}");
        }

        // Concurrent first sign-ins of another import: all succeed, one upgrade sticks.
        let l2 = login();
        let acc2 = s
            .accounts
            .create_with_hash(&l2, &bcrypt, None)
            .await
            .unwrap();
        let si = s.signin.clone();
        let (wins, errors) = race(4, || {
            let si = si.clone();
            let l2 = l2.clone();
            async move { si.password(&l2, PASSWORD, None, None).await }
        })
        .await;
        assert_eq!((wins.len(), errors.len()), (4, 0), "{b}: {errors:?}");
        let after = stored_hash(&store, &acc2.subject).await;
        assert!(after.starts_with("$argon2id$"), "{b}");
        signed(s.signin.password(&l2, PASSWORD, None, None).await);
        assert_eq!(stored_hash(&store, &acc2.subject).await, after, "{b}");
    }
}

/// Three failures lock a key for an hour, so no test depends on timing.
fn hour_lock() -> ThrottleConfig {
    ThrottleConfig {
        free_attempts: 2,
        max_failures: 3,
        reset_after: 3600,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_end_in_rate_limited() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, Some(hour_lock()));
        let l = login();
        s.accounts.create(&l, PASSWORD, None).await.unwrap();
        for i in 0..3 {
            let e = s.signin.password(&l, WRONG, None, None).await.unwrap_err();
            assert_eq!(e, Error::InvalidCredentials, "{b} {i}");
        }
        // Locked: even the right password (in any spelling of the login) is refused unverified.
        for spelling in [l.clone(), l.to_uppercase()] {
            let e = s
                .signin
                .password(&spelling, PASSWORD, None, None)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "rate_limited", "{b}");
            assert!(e.retry_after().unwrap() > 3000, "{b}");
        }
        // Unknown logins are throttled the same way.
        let ghost = login();
        for _ in 0..3 {
            assert_eq!(
                s.signin
                    .password(&ghost, PASSWORD, None, None)
                    .await
                    .unwrap_err(),
                Error::InvalidCredentials,
                "{b}"
            );
        }
        assert_eq!(
            s.signin
                .password(&ghost, PASSWORD, None, None)
                .await
                .unwrap_err()
                .code(),
            "rate_limited",
            "{b}"
        );
        // A success resets the login's key (and the context's).
        let l2 = login();
        s.accounts.create(&l2, PASSWORD, None).await.unwrap();
        for _ in 0..2 {
            s.signin
                .password(&l2, WRONG, None, Some("198.51.100.7"))
                .await
                .unwrap_err();
        }
        signed(
            s.signin
                .password(&l2, PASSWORD, None, Some("198.51.100.7"))
                .await,
        );
        let n = |k: String| {
            let store = store.clone();
            async move {
                store
                    .throttle_get(&k)
                    .await
                    .unwrap()
                    .map_or(0, |c| c.failures)
            }
        };
        assert_eq!(n(login_throttle_key(&l2)).await, 0, "{b}");
        assert_eq!(n(context_throttle_key(&l2, "198.51.100.7")).await, 0, "{b}");
        // A context is counted on its own key too: failures from one context lock it.
        let l3 = login();
        s.accounts.create(&l3, PASSWORD, None).await.unwrap();
        for _ in 0..3 {
            s.signin
                .password(&l3, WRONG, None, Some("203.0.113.9"))
                .await
                .unwrap_err();
        }
        assert_eq!(n(context_throttle_key(&l3, "203.0.113.9")).await, 3, "{b}");
        // A bad context is the caller's mistake.
        for bad in ["", "a\0b"] {
            assert_eq!(
                s.signin
                    .password(&l3, PASSWORD, None, Some(bad))
                    .await
                    .unwrap_err()
                    .code(),
                "invalid_input",
                "{b}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_sign_ins_leaves_the_configured_lock() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, Some(hour_lock()));
        let l = login();
        s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let si = s.signin.clone();
        let before = polyauth_core::token::now();
        let (wins, errors) = race(50, || {
            let si = si.clone();
            let l = l.clone();
            async move { si.password(&l, WRONG, None, None).await }
        })
        .await;
        assert!(wins.is_empty(), "{b}");
        let invalid = errors
            .iter()
            .filter(|e| **e == Error::InvalidCredentials)
            .count();
        let limited = errors.iter().filter(|e| e.code() == "rate_limited").count();
        assert_eq!((invalid, limited), (3, 47), "{b}: {errors:?}");
        let c = store
            .throttle_get(&login_throttle_key(&l))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.failures, 3, "{b}");
        assert!(c.locked_until >= before + 3600, "{b}");
        assert!(c.locked_until <= polyauth_core::token::now() + 3600, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_factor_with_a_code_and_single_use_tokens() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s
            .accounts
            .create(&l, PASSWORD, Some(obj(json!({"roles": ["ops"]}))))
            .await
            .unwrap();
        let (secret, _) = enroll(&s.mfa, &acc.subject).await;
        let token = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        assert!(token.starts_with("pot_"), "{b}");
        // Neither or both of code and recovery code: refused before the token is spent.
        for (code, recovery) in [(None, None), (Some("123456"), Some("abcd"))] {
            let e = s
                .signin
                .second_factor(&token, code, recovery, None)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}");
        }
        let now = polyauth_core::token::now();
        let code = totp().code(&secret, now as u64).unwrap();
        let pair = match s
            .signin
            .second_factor_at(&token, Some(&code), None, Some(obj(json!({"d": 1}))), now)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Signed(p) => p,
            other => panic!("{b}: expected a session, got {other:?}"),
        };
        let claims = claims_of(&s, &pair);
        assert_eq!(claims["amr"], json!(["pwd", "otp"]), "{b}");
        assert_eq!(claims["roles"], json!(["ops"]), "{b}");
        assert_eq!(claims["sub"], json!(acc.subject), "{b}");
        // The token is single-use, whatever is presented with it.
        let e = s
            .signin
            .second_factor(&token, Some(&code), None, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_token", "{b}");
        // Garbage and tokens of other purposes are the same invalid_token.
        let other = polyauth_core::onetime::OneTimeTokens::new(store.clone())
            .issue(&acc.subject, "password_reset", 300, None)
            .await
            .unwrap();
        for t in [other.as_str(), "pot_nope", "", "x"] {
            let e2 = s
                .signin
                .second_factor(t, Some(&code), None, None)
                .await
                .unwrap_err();
            assert_eq!(e2, e, "{b}: {t}");
        }
        // The password alone never starts a session for this account.
        challenge(s.signin.password(&l, PASSWORD, None, None).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_codes_get_fresh_tokens_at_most_five_times() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let (secret, _) = enroll(&s.mfa, &acc.subject).await;
        let first = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        let mut token = first.clone();
        for i in 1..MAX_SECOND_FACTOR_TRIES {
            let now = polyauth_core::token::now();
            match s
                .signin
                .second_factor_at(&token, Some(&wrong_code(&secret, now)), None, None, now)
                .await
                .unwrap()
            {
                SecondFactorOutcome::Retry {
                    error,
                    mfa_token,
                    tries_left,
                } => {
                    assert_eq!(error, Error::TotpInvalid, "{b} {i}");
                    assert_eq!(tries_left, MAX_SECOND_FACTOR_TRIES - i, "{b} {i}");
                    assert_ne!(mfa_token, token, "{b} {i}");
                    token = mfa_token;
                }
                other => panic!("{b}: expected a retry, got {other:?}"),
            }
        }
        // The spent tokens stay spent.
        assert_eq!(
            s.signin
                .second_factor(&first, Some("000000"), None, None)
                .await
                .unwrap_err()
                .code(),
            "invalid_token",
            "{b}"
        );
        // The fifth wrong code ends the step: no fresh token.
        let now = polyauth_core::token::now();
        let e = s
            .signin
            .second_factor_at(&token, Some(&wrong_code(&secret, now)), None, None, now)
            .await
            .unwrap_err();
        assert_eq!(e, Error::TotpInvalid, "{b}");
        assert_eq!(
            s.signin
                .second_factor(&token, Some("000000"), None, None)
                .await
                .unwrap_err()
                .code(),
            "invalid_token",
            "{b}"
        );
        // A new password step starts a new count; a fresh token from a retry still signs in.
        let t = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        let now = polyauth_core::token::now();
        let retry = match s
            .signin
            .second_factor_at(&t, Some(&wrong_code(&secret, now)), None, None, now)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Retry {
                mfa_token,
                tries_left,
                ..
            } => {
                assert_eq!(tries_left, MAX_SECOND_FACTOR_TRIES - 1, "{b}");
                mfa_token
            }
            other => panic!("{b}: expected a retry, got {other:?}"),
        };
        // The MFA throttle counted six wrong codes; clear it (as an administrator would) so the
        // right code is judged on its merits.
        Throttle::new(store.clone(), ThrottleConfig::default())
            .unwrap()
            .reset(&polyauth_core::mfa::throttle_key(&acc.subject))
            .await
            .unwrap();
        let code = totp().code(&secret, now as u64).unwrap();
        match s
            .signin
            .second_factor_at(&retry, Some(&code), None, None, now)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Signed(p) => {
                assert_eq!(claims_of(&s, &p)["amr"], json!(["pwd", "otp"]), "{b}")
            }
            other => panic!("{b}: expected a session, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovery_codes_sign_in_with_amr_recovery() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let (_, recovery) = enroll(&s.mfa, &acc.subject).await;
        let token = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        let pair = match s
            .signin
            .second_factor(&token, None, Some(&recovery[0]), None)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Signed(p) => p,
            other => panic!("{b}: expected a session, got {other:?}"),
        };
        assert_eq!(
            claims_of(&s, &pair)["amr"],
            json!(["pwd", "recovery"]),
            "{b}"
        );
        // A malformed recovery code is a wrong try, not the end of the step.
        let token = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        let token = match s
            .signin
            .second_factor(&token, None, Some(&"z".repeat(100)), None)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Retry {
                error, mfa_token, ..
            } => {
                assert_eq!(error, Error::TotpInvalid, "{b}");
                mfa_token
            }
            other => panic!("{b}: expected a retry, got {other:?}"),
        };
        assert!(matches!(
            s.signin
                .second_factor(&token, None, Some(&recovery[2]), None)
                .await
                .unwrap(),
            SecondFactorOutcome::Signed(_)
        ));
        // A used recovery code is a retry (totp_replayed) with a fresh token.
        let token = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        match s
            .signin
            .second_factor(&token, None, Some(&recovery[0]), None)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Retry {
                error, mfa_token, ..
            } => {
                assert_eq!(error, Error::TotpReplayed, "{b}");
                let ok = s
                    .signin
                    .second_factor(&mfa_token, None, Some(&recovery[1]), None)
                    .await
                    .unwrap();
                assert!(matches!(ok, SecondFactorOutcome::Signed(_)), "{b}");
            }
            other => panic!("{b}: expected a retry, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mfa_is_never_skipped_and_disabled_accounts_stop_between_steps() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let (secret, _) = enroll(&s.mfa, &acc.subject).await;
        // A SignIn without Mfa refuses an enrolled account rather than skip the factor.
        let bare = SignIn::new(
            s.accounts.clone(),
            s.signin.sessions().clone(),
            None,
            None,
            None,
        )
        .unwrap();
        let e = bare.password(&l, PASSWORD, None, None).await.unwrap_err();
        assert_eq!(e.code(), "invalid_config", "{b}");
        // Disabled between the two steps: the second one fails like a wrong password.
        let token = challenge(s.signin.password(&l, PASSWORD, None, None).await);
        s.accounts.disable(&acc.subject).await.unwrap();
        let now = polyauth_core::token::now();
        let code = totp().code(&secret, now as u64).unwrap();
        let e = s
            .signin
            .second_factor_at(&token, Some(&code), None, None, now)
            .await
            .unwrap_err();
        assert_eq!(e, Error::InvalidCredentials, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_in_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let store = Store::open("memory://").await.unwrap();
    let s = setup(&store, None);
    is_send(&s.signin.password("a", "b", None, None));
    is_send(&s.signin.second_factor("pot_x", Some("1"), None, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_reset_revokes_sessions_and_keeps_the_link_on_a_refused_password() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let first = signed(s.signin.password(&l, PASSWORD, None, None).await);
        // Unknown (and malformed-free but absent) logins get None; the login is normalised.
        assert_eq!(
            s.signin
                .request_password_reset("nobody-here@example.com", None)
                .await
                .unwrap(),
            None,
            "{b}"
        );
        let t = s
            .signin
            .request_password_reset(&l.to_uppercase(), None)
            .await
            .unwrap()
            .expect("a token for a known login");
        assert!(t.starts_with("pot_"), "{b}");
        // A refused password (it contains the login's local part; too short) leaves the token.
        let local = l.split('@').next().unwrap();
        for bad in ["short", &format!("{local}{local}")[..]] {
            let e = s.signin.reset_password(&t, bad).await.unwrap_err();
            assert_eq!(e.code(), "password_policy", "{b}: {bad}");
        }
        let new = "granite-willow-comet-harbor-88";
        assert_eq!(
            s.signin.reset_password(&t, new).await.unwrap(),
            acc.subject,
            "{b}"
        );
        // Spent; every session of the account revoked; the new password works, the old not.
        let e = s.signin.reset_password(&t, new).await.unwrap_err();
        assert_eq!(e.code(), "token_used", "{b}");
        assert!(
            !s.signin
                .sessions()
                .is_active(&first.session_id)
                .await
                .unwrap(),
            "{b}"
        );
        let e = s
            .signin
            .password(&l, PASSWORD, None, None)
            .await
            .unwrap_err();
        assert_eq!(e, Error::InvalidCredentials, "{b}");
        signed(s.signin.password(&l, new, None, None).await);
        // Disabled accounts get no link; a link issued before disabling no longer works.
        let t2 = s
            .signin
            .request_password_reset(&l, None)
            .await
            .unwrap()
            .unwrap();
        s.accounts.disable(&acc.subject).await.unwrap();
        assert_eq!(
            s.signin.request_password_reset(&l, None).await.unwrap(),
            None,
            "{b}"
        );
        let e = s.signin.reset_password(&t2, new).await.unwrap_err();
        assert_eq!(e.code(), "invalid_token", "{b}");
        // Bad tokens and logins are typed errors.
        for bad in ["", "pot_", "prt_abc", &"x".repeat(1 << 20)] {
            let e = s.signin.reset_password(bad, new).await.unwrap_err();
            assert_eq!(e.code(), "invalid_token", "{b}: {}", bad.len());
        }
        for bad in ["", "a\0b", &"a".repeat(1 << 20)] {
            let e = s
                .signin
                .request_password_reset(bad, None)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{b}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_checks_the_current_one_and_replaces_every_session() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let here = signed(s.signin.password(&l, PASSWORD, None, None).await);
        let elsewhere = signed(s.signin.password(&l, PASSWORD, None, None).await);
        let new = "granite-willow-comet-harbor-77";
        let amr = vec!["otp".to_string()];
        // A wrong current password, a refused new one, an unknown subject: nothing changes.
        let e = s
            .signin
            .change_password(&acc.subject, "not-the-password-at-all", new, &amr, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_credentials", "{b}");
        let e = s
            .signin
            .change_password(&acc.subject, PASSWORD, "short", &amr, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "password_policy", "{b}");
        let e = s
            .signin
            .change_password("no-such-subject", PASSWORD, new, &amr, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_credentials", "{b}");
        assert!(
            s.signin
                .sessions()
                .is_active(&elsewhere.session_id)
                .await
                .unwrap(),
            "{b}"
        );

        let pair = s
            .signin
            .change_password(&acc.subject, PASSWORD, new, &amr, None)
            .await
            .unwrap();
        for old in [&here, &elsewhere] {
            assert!(
                !s.signin
                    .sessions()
                    .is_active(&old.session_id)
                    .await
                    .unwrap(),
                "{b}"
            );
        }
        assert!(
            s.signin
                .sessions()
                .is_active(&pair.session_id)
                .await
                .unwrap(),
            "{b}"
        );
        let claims = s
            .tokens
            .verify(&pair.access_token, &Default::default())
            .unwrap();
        assert_eq!(claims["sub"], acc.subject.as_str(), "{b}");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]), "{b}");
        let e = s
            .signin
            .password(&l, PASSWORD, None, None)
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            "invalid_credentials",
            "{b}: the old password is gone"
        );
        signed(s.signin.password(&l, new, None, None).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_tokens_are_purpose_bound_expire_and_race_to_one_winner() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let l = login();
        let acc = s.accounts.create(&l, PASSWORD, None).await.unwrap();
        // An email-verification token is not a reset token (and stays usable).
        let v = s
            .signin
            .request_email_verification(&acc.subject, None)
            .await
            .unwrap();
        let e = s
            .signin
            .reset_password(&v, "granite-willow-comet-harbor-88")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_type", "{b}");
        // Expiry.
        let short = s
            .signin
            .request_password_reset(&l, Some(1))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let e = s
            .signin
            .reset_password(&short, "granite-willow-comet-harbor-88")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "token_expired", "{b}");
        // Ten concurrent resets with one token: exactly one wins.
        let t = s
            .signin
            .request_password_reset(&l, None)
            .await
            .unwrap()
            .unwrap();
        let (wins, errors) = race(10, || {
            let s = s.signin.clone();
            let t = t.clone();
            async move { s.reset_password(&t, "granite-willow-comet-harbor-55").await }
        })
        .await;
        assert_eq!(wins.len(), 1, "{b}: {errors:?}");
        for e in &errors {
            assert_eq!(e.code(), "token_used", "{b}");
        }
        // The verification token still verifies.
        let verified = s.signin.verify_email(&v).await.unwrap();
        assert!(verified.verified, "{b}");
        let e = s.signin.verify_email(&v).await.unwrap_err();
        assert_eq!(e.code(), "token_used", "{b}");
        let e = s
            .signin
            .request_email_verification("no-such-subject", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_requests_are_throttled_per_login_known_or_not() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, Some(hour_lock()));
        let l = login();
        s.accounts.create(&l, PASSWORD, None).await.unwrap();
        let unknown = login();
        for who in [&l, &unknown] {
            let mut limited = None;
            for i in 0..10 {
                if let Err(e) = s.signin.request_password_reset(who, None).await {
                    limited = Some((i, e));
                    break;
                }
            }
            let (i, e) = limited.expect("requests end in rate_limited");
            assert_eq!(e.code(), "rate_limited", "{b}");
            assert_eq!(i, 3, "{b}: the same count for known and unknown logins");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peek_reports_without_spending() {
    for store in stores().await {
        let b = store.backend();
        let ot = polyauth_core::onetime::OneTimeTokens::new(store.clone());
        let t = ot
            .issue("sub-1", "reset", 60, Some(json!({"k": 1})))
            .await
            .unwrap();
        for _ in 0..2 {
            let (sub, data) = ot.peek(&t, "reset").await.unwrap();
            assert_eq!(
                (sub.as_str(), data),
                ("sub-1", Some(json!({"k": 1}))),
                "{b}"
            );
        }
        assert_eq!(
            ot.peek(&t, "other").await.unwrap_err().code(),
            "invalid_type",
            "{b}"
        );
        ot.consume(&t, "reset").await.unwrap();
        assert_eq!(
            ot.peek(&t, "reset").await.unwrap_err().code(),
            "token_used",
            "{b}"
        );
        let now = polyauth_core::token::now();
        let e = ot.peek_at(&t, "reset", now + 120).await.unwrap_err();
        assert_eq!(e.code(), "token_used", "{b}");
        let u = ot.issue("sub-1", "reset", 60, None).await.unwrap();
        let e = ot.peek_at(&u, "reset", now + 120).await.unwrap_err();
        assert_eq!(e.code(), "token_expired", "{b}");
        let e = ot
            .peek("pot_unknownunknownunknownunknownunknown012", "reset")
            .await;
        assert_eq!(e.unwrap_err().code(), "invalid_token", "{b}");
    }
}

/// An application's own user table, kept in memory, counting its calls.
#[derive(Debug, Default)]
struct AppTable {
    rows: std::sync::Mutex<std::collections::HashMap<String, AppAccount>>,
    finds: std::sync::atomic::AtomicUsize,
    fail: std::sync::atomic::AtomicBool,
}

impl AccountSource for AppTable {
    fn find<'a>(
        &'a self,
        login: &'a str,
    ) -> polyauth_core::signin::BoxFuture<'a, polyauth_core::Result<Option<AppAccount>>> {
        Box::pin(async move {
            self.finds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Error::StoreUnavailable("app table down".into()));
            }
            Ok(self.rows.lock().unwrap().get(login).cloned())
        })
    }

    fn set_password_hash<'a>(
        &'a self,
        subject: &'a str,
        password_hash: &'a str,
    ) -> polyauth_core::signin::BoxFuture<'a, polyauth_core::Result<()>> {
        Box::pin(async move {
            for row in self.rows.lock().unwrap().values_mut() {
                if row.subject == subject {
                    row.password_hash = Some(password_hash.to_owned());
                }
            }
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_account_source_signs_in_upgrades_and_resets() {
    for store in stores().await {
        let b = store.backend();
        let s = setup(&store, None);
        let table = std::sync::Arc::new(AppTable::default());
        let legacy = bcrypt::hash(PASSWORD, 4).unwrap();
        table.rows.lock().unwrap().insert(
            "jane@example.com".into(),
            AppAccount {
                subject: "app-user-1".into(),
                password_hash: Some(legacy.clone()),
                disabled: false,
                claims: obj(json!({"plan": "pro"})),
            },
        );
        let hasher =
            PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).unwrap();
        let app = SignIn::with_source(
            table.clone(),
            hasher,
            None,
            s.signin.sessions().clone(),
            Some(s.mfa.clone()),
            None,
            None,
        )
        .unwrap();
        assert!(app.accounts().is_none());
        // The source is asked with the normalised login.
        let pair = signed(
            app.password(" Jane@Example.COM ", PASSWORD, None, None)
                .await,
        );
        let claims = claims_of(&s, &pair);
        assert_eq!(claims["sub"], json!("app-user-1"), "{b}");
        assert_eq!(claims["plan"], json!("pro"), "{b}");
        assert_eq!(claims["amr"], json!(["pwd"]), "{b}");
        let upgraded = table.rows.lock().unwrap()["jane@example.com"]
            .password_hash
            .clone()
            .unwrap();
        assert!(upgraded.starts_with("$argon2id$"), "{b}");
        let e = app
            .password("jane@example.com", WRONG, None, None)
            .await
            .unwrap_err();
        assert_eq!(e, Error::InvalidCredentials, "{b}");
        let e = app
            .password("joe@example.com", PASSWORD, None, None)
            .await
            .unwrap_err();
        assert_eq!(e, Error::InvalidCredentials, "{b}");
        // Second factor through the source: the account is found again by its login.
        let (secret, _) = enroll(&s.mfa, "app-user-1").await;
        let t = challenge(app.password("jane@example.com", PASSWORD, None, None).await);
        let now = polyauth_core::token::now();
        let code = totp().code(&secret, now as u64).unwrap();
        match app
            .second_factor_at(&t, Some(&code), None, None, now)
            .await
            .unwrap()
        {
            SecondFactorOutcome::Signed(p) => {
                assert_eq!(claims_of(&s, &p)["amr"], json!(["pwd", "otp"]), "{b}");
            }
            other => panic!("{b}: {other:?}"),
        }
        // Reset through the source (the lower minimum applies: the account has a factor).
        let r = app
            .request_password_reset("jane@example.com", None)
            .await
            .unwrap()
            .unwrap();
        app.reset_password(&r, "granite-willow-comet-harbor-88")
            .await
            .unwrap();
        assert!(
            !s.signin
                .sessions()
                .is_active(&pair.session_id)
                .await
                .unwrap(),
            "{b}"
        );
        let now_hash = table.rows.lock().unwrap()["jane@example.com"]
            .password_hash
            .clone()
            .unwrap();
        assert_ne!(now_hash, upgraded, "{b}");
        // Built-in only: email verification.
        let e = app
            .request_email_verification("app-user-1", None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_config", "{b}");
        // A failing source is its error, not a sign-in failure.
        table.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let e = app
            .password("jane@example.com", PASSWORD, None, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "store_unavailable", "{b}");
        table.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        // A source returning reserved claims is refused, not signed into a token.
        table
            .rows
            .lock()
            .unwrap()
            .get_mut("jane@example.com")
            .unwrap()
            .claims = obj(json!({"sub": "someone-else"}));
        let e = app
            .password(
                "jane@example.com",
                "granite-willow-comet-harbor-88",
                None,
                None,
            )
            .await;
        assert_eq!(e.unwrap_err().code(), "invalid_input", "{b}");
    }
}
