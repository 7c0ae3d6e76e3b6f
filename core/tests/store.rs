//! Store conformance: the same scenarios against every backend (memory, SQLite, PostgreSQL,
//! Redis). Servers come from POLYAUTH_TEST_POSTGRES_URL / POLYAUTH_TEST_REDIS_URL (defaults:
//! 127.0.0.1); with POLYAUTH_REQUIRE_SERVICES=1 (CI) a missing server fails instead of skipping.

mod common;

use std::sync::Arc;

use polyauth_core::onetime::OneTimeTokens;
use polyauth_core::session::{Sessions, SessionsConfig};
use polyauth_core::store::Store;
use polyauth_core::throttle::{Throttle, ThrottleConfig, LOCKED_FOREVER};
use polyauth_core::{Alg, KeySet, KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::{json, Map, Value};

use common::{durable_urls, race, rand_suffix, stores};

fn tokens() -> Tokens {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    Tokens::new(
        KeySource::Local(keys),
        TokensConfig::new("https://issuer.example", vec!["api".into()]),
    )
    .unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_rotate_and_detect_reuse() {
    for store in stores().await {
        let b = store.backend();
        let t = tokens();
        let s = Sessions::new(store.clone(), t.clone(), SessionsConfig::default()).unwrap();
        let pair = s
            .start(
                "user-1",
                obj(json!({"scope": "read", "amr": ["pwd"]})),
                obj(json!({"user_agent": "ua", "ip": "127.0.0.1"})),
            )
            .await
            .unwrap();
        assert!(
            pair.refresh_token.starts_with("prt_") && pair.refresh_token.len() == 47,
            "{b}"
        );
        let claims = t
            .verify(&pair.access_token, &VerifyOptions::default())
            .unwrap();
        assert_eq!(claims["sid"], pair.session_id.as_str(), "{b}");
        let second = s.refresh(&pair.refresh_token).await.unwrap();
        assert_ne!(second.refresh_token, pair.refresh_token, "{b}: rotated");
        assert_eq!(second.session_id, pair.session_id, "{b}");
        let c2 = t
            .verify(&second.access_token, &VerifyOptions::default())
            .unwrap();
        assert_eq!(c2["scope"], "read", "{b}: claims carried");
        assert_eq!(c2["amr"], json!(["pwd"]), "{b}");
        let third = s.refresh(&second.refresh_token).await.unwrap();
        // Reuse of an old token revokes the family, including the newest token (RT-3).
        assert_eq!(
            s.refresh(&pair.refresh_token).await.unwrap_err().code(),
            "refresh_reused",
            "{b}"
        );
        assert_eq!(
            s.refresh(&third.refresh_token).await.unwrap_err().code(),
            "session_revoked",
            "{b}"
        );
        assert!(!s.is_active(&pair.session_id).await.unwrap(), "{b}");
        // Malformed and unknown tokens never reach a row.
        for bad in [
            "",
            "prt_",
            "prt_short",
            "pot_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &format!("{}x", third.refresh_token),
        ] {
            assert_eq!(
                s.refresh(bad).await.unwrap_err().code(),
                "invalid_token",
                "{b}: {bad}"
            );
        }
        let unknown = format!("prt_{}", polyauth_core::b64::encode([7u8; 32]));
        assert_eq!(
            s.refresh(&unknown).await.unwrap_err().code(),
            "invalid_token",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grace_window_tolerates_only_the_immediate_parent() {
    for store in stores().await {
        let b = store.backend();
        let cfg = SessionsConfig {
            reuse_grace: 10,
            ..Default::default()
        };
        let s = Sessions::new(store, tokens(), cfg).unwrap();
        let now = polyauth_core::token::now();
        let p0 = s.start_at("u", Map::new(), Map::new(), now).await.unwrap();
        let p1 = s.refresh_at(&p0.refresh_token, now + 1).await.unwrap();
        // p0 is p1's parent: inside the window it gives a token of the same session.
        let again = s.refresh_at(&p0.refresh_token, now + 2).await.unwrap();
        assert_eq!(again.session_id, p0.session_id, "{b}");
        let p2 = s.refresh_at(&p1.refresh_token, now + 3).await.unwrap();
        // p0 is now a grandparent: reuse, even inside the window.
        assert_eq!(
            s.refresh_at(&p0.refresh_token, now + 4)
                .await
                .unwrap_err()
                .code(),
            "refresh_reused",
            "{b}"
        );
        assert_eq!(
            s.refresh_at(&p2.refresh_token, now + 5)
                .await
                .unwrap_err()
                .code(),
            "session_revoked",
            "{b}"
        );
        // Outside the window the parent revokes too.
        let q0 = s.start_at("u", Map::new(), Map::new(), now).await.unwrap();
        s.refresh_at(&q0.refresh_token, now + 1).await.unwrap();
        assert_eq!(
            s.refresh_at(&q0.refresh_token, now + 20)
                .await
                .unwrap_err()
                .code(),
            "refresh_reused",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifetimes_revocation_and_listing() {
    for store in stores().await {
        let b = store.backend();
        let cfg = SessionsConfig {
            refresh_ttl: 100,
            idle_ttl: 30,
            reuse_grace: 0,
        };
        let s = Sessions::new(store, tokens(), cfg).unwrap();
        let now = polyauth_core::token::now();
        let idle = s.start_at("u2", Map::new(), Map::new(), now).await.unwrap();
        assert_eq!(
            s.refresh_at(&idle.refresh_token, now + 31)
                .await
                .unwrap_err()
                .code(),
            "session_expired",
            "{b}: idle"
        );
        let abs = s.start_at("u2", Map::new(), Map::new(), now).await.unwrap();
        let mut tok = abs.refresh_token.clone();
        for step in [20, 40, 60, 80] {
            tok = s.refresh_at(&tok, now + step).await.unwrap().refresh_token;
        }
        assert_eq!(
            s.refresh_at(&tok, now + 100).await.unwrap_err().code(),
            "session_expired",
            "{b}: absolute"
        );
        let subject = format!("list-{}", rand_suffix());
        let a = s
            .start(&subject, Map::new(), obj(json!({"user_agent": "A"})))
            .await
            .unwrap();
        let c = s
            .start(&subject, Map::new(), obj(json!({"user_agent": "C"})))
            .await
            .unwrap();
        let listed = s.list(&subject).await.unwrap();
        assert_eq!(listed.len(), 2, "{b}");
        assert!(listed.iter().any(|x| x.meta["user_agent"] == "A"), "{b}");
        assert!(s.revoke(&a.session_id).await.unwrap(), "{b}");
        assert!(
            !s.revoke(&a.session_id).await.unwrap(),
            "{b}: second revoke"
        );
        assert_eq!(s.list(&subject).await.unwrap().len(), 1, "{b}");
        assert_eq!(s.revoke_all(&subject).await.unwrap(), 1, "{b}");
        assert!(!s.is_active(&c.session_id).await.unwrap(), "{b}");
        assert_eq!(
            s.refresh(&c.refresh_token).await.unwrap_err().code(),
            "session_revoked",
            "{b}"
        );
        assert!(!s.is_active("no-such-session").await.unwrap(), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_has_exactly_one_winner() {
    for store in stores().await {
        let b = store.backend();
        let s = Arc::new(Sessions::new(store, tokens(), SessionsConfig::default()).unwrap());
        for _ in 0..3 {
            let pair = s.start("racer", Map::new(), Map::new()).await.unwrap();
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let s = s.clone();
                    let t = pair.refresh_token.clone();
                    tokio::spawn(async move { s.refresh(&t).await })
                })
                .collect();
            let mut ok = Vec::new();
            for task in tasks {
                match task.await.unwrap() {
                    Ok(p) => ok.push(p.refresh_token),
                    Err(e) => assert!(
                        ["refresh_reused", "session_revoked"].contains(&e.code()),
                        "{b}: {e}"
                    ),
                }
            }
            assert_eq!(ok.len(), 1, "{b}: exactly one rotation wins");
            assert!(
                !s.is_active(&pair.session_id).await.unwrap(),
                "{b}: reuse revoked the session"
            );
            assert_eq!(
                s.refresh(&ok[0]).await.unwrap_err().code(),
                "session_revoked",
                "{b}"
            );
        }
    }
}

/// Within the grace window, concurrent presentations of one token (tabs, retried requests) all
/// get a pair, and the session advances exactly one generation: on PostgreSQL this is the
/// single-statement rotation re-checking rows a concurrent winner changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_within_grace_advances_once() {
    for store in stores().await {
        let b = store.backend();
        let cfg = SessionsConfig {
            reuse_grace: 30,
            ..Default::default()
        };
        let s = Arc::new(Sessions::new(store.clone(), tokens(), cfg).unwrap());
        let pair = s.start("racer", Map::new(), Map::new()).await.unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let s = s.clone();
                let t = pair.refresh_token.clone();
                tokio::spawn(async move { s.refresh(&t).await })
            })
            .collect();
        let mut fresh = Vec::new();
        for task in tasks {
            fresh.push(task.await.unwrap().unwrap().refresh_token);
        }
        let session = store.get_session(&pair.session_id).await.unwrap().unwrap();
        assert_eq!(session.generation, 1, "{b}: one rotation, the rest graced");
        assert_eq!(session.revoked_at, None, "{b}");
        fresh.sort();
        fresh.dedup();
        assert_eq!(fresh.len(), 40, "{b}: every caller got its own token");
        // Any one of them rotates; afterwards the others are an older generation: reuse.
        s.refresh(&fresh[0]).await.unwrap();
        assert_eq!(
            s.refresh(&fresh[1]).await.unwrap_err().code(),
            "refresh_reused",
            "{b}"
        );
        assert!(!s.is_active(&pair.session_id).await.unwrap(), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_time_tokens() {
    for store in stores().await {
        let b = store.backend();
        let o = Arc::new(OneTimeTokens::new(store));
        let now = polyauth_core::token::now();
        let t = o
            .issue(
                "user-9",
                "password_reset",
                600,
                Some(json!({"email": "a@b.c"})),
            )
            .await
            .unwrap();
        assert!(t.starts_with("pot_"), "{b}");
        assert_eq!(
            o.consume(&t, "email_verify").await.unwrap_err().code(),
            "invalid_type",
            "{b}"
        );
        let (subject, data) = o.consume(&t, "password_reset").await.unwrap();
        assert_eq!(
            (subject.as_str(), data),
            ("user-9", Some(json!({"email": "a@b.c"}))),
            "{b}"
        );
        assert_eq!(
            o.consume(&t, "password_reset").await.unwrap_err().code(),
            "token_used",
            "{b}"
        );
        let e = o.issue_at("u", "magic", 60, None, now - 120).await.unwrap();
        assert_eq!(
            o.consume(&e, "magic").await.unwrap_err().code(),
            "token_expired",
            "{b}"
        );
        assert_eq!(
            o.consume("pot_nope", "magic").await.unwrap_err().code(),
            "invalid_token",
            "{b}"
        );
        let race = o.issue("u", "magic", 60, None).await.unwrap();
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let o = o.clone();
                let t = race.clone();
                tokio::spawn(async move { o.consume(&t, "magic").await })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(e) => assert_eq!(e.code(), "token_used", "{b}"),
            }
        }
        assert_eq!(wins, 1, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttle_backoff_and_ceiling() {
    for store in stores().await {
        let b = store.backend();
        let th = Throttle::new(store, ThrottleConfig::default()).unwrap();
        let key = format!("login:{}", rand_suffix());
        let now = polyauth_core::token::now();
        for _ in 0..5 {
            th.check_at(&key, now).await.unwrap();
            th.fail_at(&key, now).await.unwrap();
        }
        th.check_at(&key, now).await.unwrap();
        let c = th.fail_at(&key, now).await.unwrap();
        assert_eq!((c.failures, c.locked_until), (6, now + 1), "{b}");
        let e = th.check_at(&key, now).await.unwrap_err();
        assert_eq!(
            (e.code(), e.retry_after()),
            ("rate_limited", Some(1)),
            "{b}"
        );
        th.check_at(&key, now + 1).await.unwrap();
        for _ in 0..94 {
            th.fail_at(&key, now + 2).await.unwrap();
        }
        let c = th.fail_at(&key, now + 2).await.unwrap();
        assert_eq!(c.failures, 101, "{b}");
        assert_eq!(
            th.check_at(&key, now + 3600).await.unwrap_err().code(),
            "rate_limited",
            "{b}: locked at the ceiling"
        );
        th.reset(&key).await.unwrap();
        th.check_at(&key, now + 3600).await.unwrap();
        // Old failures are forgotten after reset_after.
        th.fail_at(&key, now).await.unwrap();
        let c = th.fail_at(&key, now + 86_401).await.unwrap();
        assert_eq!(c.failures, 1, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attempts_are_reserved_atomically() {
    for store in stores().await {
        let b = store.backend();
        let cfg = ThrottleConfig {
            max_failures: 10,
            ..Default::default()
        };
        let th = Arc::new(Throttle::new(store, cfg).unwrap());
        let key = format!("login:{}", rand_suffix());
        let now = polyauth_core::token::now();
        // A burst: each attempt is counted as it passes, so only the free attempts and the one
        // that sets the first lock get through.
        let (mut passed, errors) = race(50, || {
            let (th, key) = (th.clone(), key.clone());
            async move { th.attempt_at(&key, now).await.map(|c| c.failures) }
        })
        .await;
        for e in &errors {
            assert_eq!(
                (e.code(), e.retry_after()),
                ("rate_limited", Some(1)),
                "{b}"
            );
        }
        passed.sort_unstable();
        assert_eq!(passed, vec![1, 2, 3, 4, 5, 6], "{b}");
        // Locked attempts were not counted; after the lock the count goes on.
        let c = th.attempt_at(&key, now + 1).await.unwrap();
        assert_eq!((c.failures, c.locked_until), (7, now + 3), "{b}");
        // The ceiling holds: at max_failures the key stays locked until reset.
        let mut t = now + 3;
        while th.attempt_at(&key, t).await.is_ok() {
            t += 1000;
        }
        assert_eq!(store_failures(&th, &key).await, 10, "{b}");
        assert_eq!(
            th.attempt_at(&key, t + 3600).await.unwrap_err().code(),
            "rate_limited",
            "{b}"
        );
        th.reset(&key).await.unwrap();
        assert_eq!(th.attempt_at(&key, t).await.unwrap().failures, 1, "{b}");
        // check() agrees with attempt() about locks.
        th.check_at(&key, t).await.unwrap();
        // A free failure sets no lock: an instance whose clock is behind does not see one.
        th.check_at(&key, t - 5).await.unwrap();
        th.attempt_at(&key, t - 5).await.unwrap();
    }
}

/// The issue's scenario (RL-1): with `max_failures = 3` the lock lapsed after `reset_after` and the
/// count started over, so an attacker polling every second got 3 failures per second (30 in 10 s).
/// Now the count goes on past `max_failures` and each lock doubles, on `attempt` and on
/// `check` + `fail` alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn locks_do_not_lapse_into_a_fresh_count() {
    for store in stores().await {
        let b = store.backend();
        let cfg = ThrottleConfig {
            max_failures: 3,
            reset_after: 1,
            ..Default::default()
        };
        let th = Throttle::new(store, cfg).unwrap();
        let (k1, k2) = (
            format!("login:{}", rand_suffix()),
            format!("login:{}", rand_suffix()),
        );
        let now = polyauth_core::token::now();
        let (mut by_attempt, mut by_fail) = (0, 0);
        for t in now..now + 10 {
            while th.attempt_at(&k1, t).await.is_ok() {
                by_attempt += 1;
            }
            while th.check_at(&k2, t).await.is_ok() {
                th.fail_at(&k2, t).await.unwrap();
                by_fail += 1;
            }
        }
        // 3 at once (locked 1 s), then one each at now+1 (2 s), now+3 (4 s), now+7 (8 s).
        assert_eq!((by_attempt, by_fail), (6, 6), "{b}");
        for k in [&k1, &k2] {
            let c = th.store().throttle_get(k).await.unwrap().unwrap();
            assert_eq!((c.failures, c.locked_until), (6, now + 15), "{b}");
        }
        // Long after reset_after the count still goes on (it starts over only below
        // max_failures), and the next lock is twice as long again.
        let later = now + 1_000_000;
        let c = th.attempt_at(&k1, later).await.unwrap();
        assert_eq!((c.failures, c.locked_until), (7, later + 16), "{b}");
        let c = th.fail_at(&k2, later).await.unwrap();
        assert_eq!((c.failures, c.locked_until), (7, later + 16), "{b}");
        // Only reset clears it.
        th.reset(&k1).await.unwrap();
        assert_eq!(th.attempt_at(&k1, later).await.unwrap().failures, 1, "{b}");
    }
}

/// The hard ceiling (RL-1): at 100 consecutive failures a key stays locked until `reset`, however
/// the failures were counted and whatever the clock says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ceiling_locks_until_reset() {
    for store in stores().await {
        let b = store.backend();
        let cfg = ThrottleConfig {
            free_attempts: 0,
            base_delay: 1,
            max_delay: 1,
            max_failures: 97,
            reset_after: 10,
        };
        let th = Throttle::new(store, cfg).unwrap();
        let key = format!("mfa:{}", rand_suffix());
        let now = polyauth_core::token::now();
        // Every attempt waits out the lock before it: 96 locks of 1 s, then 10, 20, 40 s.
        let mut t = now;
        let mut locks = Vec::new();
        for n in 1..=100 {
            let c = th.attempt_at(&key, t).await.unwrap();
            assert_eq!(c.failures, n, "{b}");
            locks.push(c.locked_until - t);
            t = c.locked_until;
        }
        assert_eq!(locks[95..99], [1, 10, 20, 40], "{b}");
        assert_eq!(t, LOCKED_FOREVER, "{b}: locked until reset at the ceiling");
        for late in [now + 100 * 365 * 86_400, LOCKED_FOREVER - 1] {
            let e = th.attempt_at(&key, late).await.unwrap_err();
            assert_eq!(e.code(), "rate_limited", "{b}");
            assert_eq!(e.retry_after(), Some((LOCKED_FOREVER - late) as u64), "{b}");
            assert_eq!(
                th.check_at(&key, late).await.unwrap_err().code(),
                "rate_limited",
                "{b}"
            );
        }
        assert_eq!(store_failures(&th, &key).await, 100, "{b}");
        th.reset(&key).await.unwrap();
        th.check_at(&key, now).await.unwrap();

        // `fail` reaches the ceiling alike, from any max_failures.
        let low = Throttle::new(
            th.store().clone(),
            ThrottleConfig {
                max_failures: 3,
                ..Default::default()
            },
        )
        .unwrap();
        let mut c = None;
        for _ in 0..100 {
            c = Some(low.fail_at(&key, now).await.unwrap());
        }
        let c = c.unwrap();
        assert_eq!((c.failures, c.locked_until), (100, LOCKED_FOREVER), "{b}");
        let c = low.fail_at(&key, now + 5).await.unwrap();
        assert_eq!((c.failures, c.locked_until), (101, LOCKED_FOREVER), "{b}");
        low.reset(&key).await.unwrap();
        assert_eq!(low.attempt_at(&key, now).await.unwrap().failures, 1, "{b}");
    }
}

async fn store_failures(th: &Throttle, key: &str) -> i64 {
    th.store()
        .throttle_get(key)
        .await
        .unwrap()
        .unwrap()
        .failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_urls_are_invalid_config() {
    for url in [
        "",
        "nope",
        "ftp://x",
        "mysql://localhost/db",
        "postgres://",
        "redis://",
    ] {
        let e = Store::open(url).await.unwrap_err();
        assert!(
            ["invalid_config", "store_unavailable"].contains(&e.code()),
            "{url}: {e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_survives_reopening_the_store() {
    for url in durable_urls().await {
        let key = format!("login:{}", rand_suffix());
        let now = polyauth_core::token::now();
        let (kept, old, rotated, revoked, one_time) = {
            let store = Store::open(&url).await.unwrap();
            let b = store.backend();
            let s = Sessions::new(store.clone(), tokens(), SessionsConfig::default()).unwrap();
            let kept = s
                .start("durable", Map::new(), obj(json!({"user_agent": "ua"})))
                .await
                .unwrap();
            let rotated = s.refresh(&kept.refresh_token).await.unwrap();
            let revoked = s.start("durable", Map::new(), Map::new()).await.unwrap();
            assert!(s.revoke(&revoked.session_id).await.unwrap(), "{b}");
            let o = OneTimeTokens::new(store.clone());
            let one_time = o
                .issue("durable", "email_verify", 600, Some(json!({"n": 1})))
                .await
                .unwrap();
            o.consume(&one_time, "email_verify").await.unwrap();
            let th = Throttle::new(store.clone(), ThrottleConfig::default()).unwrap();
            for _ in 0..3 {
                th.fail_at(&key, now).await.unwrap();
            }
            (
                kept.session_id,
                kept.refresh_token,
                rotated.refresh_token,
                revoked,
                one_time,
            )
            // Every handle (and so the pool) is dropped here.
        };
        let store = Store::open(&url).await.unwrap();
        let b = store.backend();
        let s = Sessions::new(store.clone(), tokens(), SessionsConfig::default()).unwrap();
        // Revocation survived.
        assert!(!s.is_active(&revoked.session_id).await.unwrap(), "{b}");
        assert_eq!(
            s.refresh(&revoked.refresh_token).await.unwrap_err().code(),
            "session_revoked",
            "{b}"
        );
        // The rotated family is intact: its newest token works, listing sees it.
        assert!(s.is_active(&kept).await.unwrap(), "{b}");
        let listed = s.list("durable").await.unwrap();
        assert_eq!(listed.len(), 1, "{b}");
        assert_eq!(
            (listed[0].session_id.as_str(), &listed[0].meta["user_agent"]),
            (kept.as_str(), &json!("ua")),
            "{b}"
        );
        let newest = s.refresh(&rotated).await.unwrap();
        // The used token is still known as used: reuse is detected and revokes the family.
        assert_eq!(
            s.refresh(&old).await.unwrap_err().code(),
            "refresh_reused",
            "{b}"
        );
        assert_eq!(
            s.refresh(&newest.refresh_token).await.unwrap_err().code(),
            "session_revoked",
            "{b}"
        );
        // The consumed one-time token stays consumed.
        let o = OneTimeTokens::new(store.clone());
        assert_eq!(
            o.consume(&one_time, "email_verify")
                .await
                .unwrap_err()
                .code(),
            "token_used",
            "{b}"
        );
        // Throttle counters survived.
        let c = store.throttle_get(&key).await.unwrap().unwrap();
        assert_eq!((c.failures, c.last_failure_at), (3, now), "{b}");
        let th = Throttle::new(store, ThrottleConfig::default()).unwrap();
        assert_eq!(th.fail_at(&key, now).await.unwrap().failures, 4, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    for url in durable_urls().await {
        // Several handles (each its own pool, as separate processes would be) open the same new
        // database at once; every open succeeds and they share one schema.
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await })
            })
            .collect();
        let mut stores = Vec::new();
        for o in opens {
            stores.push(o.await.unwrap().unwrap());
        }
        let b = stores[0].backend();
        let t = tokens();
        let s = Sessions::new(stores[0].clone(), t.clone(), SessionsConfig::default()).unwrap();
        let pair = s.start("migrated", Map::new(), Map::new()).await.unwrap();
        for store in &stores {
            assert!(
                store.get_session(&pair.session_id).await.unwrap().is_some(),
                "{b}"
            );
        }
        // One token raced through every handle (no shared in-process lock): one winner.
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let store = stores[i % stores.len()].clone();
                let s = Sessions::new(store, t.clone(), SessionsConfig::default()).unwrap();
                let tok = pair.refresh_token.clone();
                tokio::spawn(async move { s.refresh(&tok).await })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(e) => assert!(
                    ["refresh_reused", "session_revoked"].contains(&e.code()),
                    "{b}: {e}"
                ),
            }
        }
        assert_eq!(wins, 1, "{b}");
        assert!(!s.is_active(&pair.session_id).await.unwrap(), "{b}");
    }
}

/// Every store future can be spawned on a multi-thread runtime (the bindings do), with borrowed
/// arguments that live inside the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_futures_are_send() {
    let store = Store::open("memory://").await.unwrap();
    let st = store.clone();
    let task = tokio::spawn(async move {
        let (id, hash, url) = (
            String::from("s"),
            String::from("h"),
            String::from("memory://"),
        );
        let _ = Store::open(&url).await;
        let rec = polyauth_core::store::SessionRecord {
            id: id.clone(),
            subject: "u".into(),
            issuer: "i".into(),
            audience: "[\"api\"]".into(),
            claims: Map::new(),
            meta: Map::new(),
            created_at: 1,
            last_used_at: 1,
            expires_at: 100,
            idle_ttl: 100,
            generation: 0,
            revoked_at: None,
        };
        st.create_session(&rec, &hash).await.unwrap();
        let binding = polyauth_core::store::Binding {
            issuer: "i",
            audience: "[\"api\"]",
        };
        st.rotate(&hash, &format!("{hash}2"), 2, 0, &binding)
            .await
            .unwrap();
        st.revoke_by_token(&hash, &binding, 3).await.unwrap();
        st.purge_expired().await.unwrap();
        st.get_session(&id).await.unwrap();
        st.list_sessions(&rec.subject, 2).await.unwrap();
        st.revoke_session(&id, 3).await.unwrap();
        st.revoke_subject(&rec.subject, 3).await.unwrap();
        let data = json!({"a": 1});
        st.insert_one_time(&hash, &id, &id, Some(&data), 10)
            .await
            .unwrap();
        st.consume_one_time(&hash, &id, 2).await.unwrap();
        let lock = |n: i64| n;
        let decay = polyauth_core::store::Decay {
            reset_after: 10,
            max_failures: 3,
        };
        st.throttle_fail(&id, 1, decay, &lock).await.unwrap();
        st.throttle_get(&id).await.unwrap();
        st.throttle_reset(&id).await.unwrap();
        st.throttle_attempt(&id, 1, decay, &lock).await.unwrap();
        st.mfa_begin(&id, &hash, 10).await.unwrap();
        let hashes = vec![hash.clone()];
        let c = polyauth_core::store::MfaConfirmation {
            expected_pending: &hash,
            secret: &hash,
            step: 1,
            now: 2,
            code_hashes: &hashes,
        };
        st.mfa_confirm(&id, &c).await.unwrap();
        st.mfa_accept_step(&id, &hash, &hash, 2, 3).await.unwrap();
        st.mfa_use_recovery(&id, &hash, 3).await.unwrap();
        st.mfa_replace_recovery(&id, &hashes).await.unwrap();
        st.mfa_get(&id).await.unwrap();
        st.mfa_delete(&id).await.unwrap();
    });
    task.await.unwrap();
}

/// Every connection of this process to the Redis server has TCP_NODELAY set: the store pipelines
/// all callers' commands over one connection, where Nagle's algorithm would hold a command back
/// until the reply to the one before it is acknowledged.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_connections_send_without_nagle_delay() {
    use redis::io::tcp::socket2::SockRef;
    use std::os::fd::BorrowedFd;

    let url = common::redis_url();
    let store = match Store::open(&common::isolated(&url)).await {
        Ok(s) => s,
        Err(e) if !common::require_services() => return eprintln!("skipping redis: {e}"),
        Err(e) => panic!("redis unreachable with POLYAUTH_REQUIRE_SERVICES=1: {e}"),
    };
    store.ping().await.unwrap();
    let (_, port) = common::redis_host_port(&url);
    let mut checked = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if !std::fs::read_link(entry.path())
            .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        {
            continue;
        }
        // SAFETY: only read through getsockopt/getpeername; a descriptor another test closes
        // meanwhile makes those calls fail, which skips it.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = SockRef::from(&fd);
        let Some(peer) = socket.peer_addr().ok().and_then(|a| a.as_socket()) else {
            continue;
        };
        if peer.port() != port {
            continue;
        }
        if let Ok(nodelay) = socket.tcp_nodelay() {
            assert!(nodelay, "a connection to {peer} has Nagle's algorithm on");
            checked += 1;
        }
    }
    assert!(checked > 0, "no connection to the Redis server found");
}
