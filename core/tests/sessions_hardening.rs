//! Session hardening (RT-5 newest generation only, RT-8 issuer and audience checked before any
//! write, logout by refresh token, purge, namespaces, least-privilege open) on every backend.

mod common;

use polyauth_core::onetime::OneTimeTokens;
use polyauth_core::session::{Sessions, SessionsConfig};
use polyauth_core::store::{OpenOptions, Store};
use polyauth_core::{Alg, KeySet, KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::Map;

use common::{rand_suffix, require_services, stores};

fn tokens_for(keys: &KeySet, issuer: &str, audience: &[&str]) -> Tokens {
    Tokens::new(
        KeySource::Local(keys.clone()),
        TokensConfig::new(issuer, audience.iter().map(|a| a.to_string()).collect()),
    )
    .unwrap()
}

fn sessions(store: &Store, tokens: Tokens, grace: u64) -> Sessions {
    let cfg = SessionsConfig {
        reuse_grace: grace,
        ..Default::default()
    };
    Sessions::new(store.clone(), tokens, cfg).unwrap()
}

fn keys() -> KeySet {
    KeySet::generate(Alg::EdDSA, None).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_grace_sibling_cannot_fork_the_session() {
    for store in stores().await {
        let b = store.backend();
        let s = sessions(&store, tokens_for(&keys(), "https://i", &["api"]), 30);
        let now = polyauth_core::token::now();
        let p0 = s.start_at("u", Map::new(), Map::new(), now).await.unwrap();
        let p1 = s.refresh_at(&p0.refresh_token, now + 1).await.unwrap();
        // Replaying the parent inside the window: a sibling of p1 (racing tabs still succeed).
        let a1 = s.refresh_at(&p0.refresh_token, now + 2).await.unwrap();
        assert_eq!(a1.session_id, p0.session_id, "{b}");
        let p2 = s.refresh_at(&p1.refresh_token, now + 3).await.unwrap();
        // Generation 1 has been rotated: its other unused token is now reuse.
        assert_eq!(
            s.refresh_at(&a1.refresh_token, now + 4)
                .await
                .unwrap_err()
                .code(),
            "refresh_reused",
            "{b}: the stale sibling"
        );
        assert!(
            !s.is_active_at(&p0.session_id, now + 4).await.unwrap(),
            "{b}"
        );
        assert_eq!(
            s.refresh_at(&p2.refresh_token, now + 5)
                .await
                .unwrap_err()
                .code(),
            "session_revoked",
            "{b}: the whole family is revoked"
        );

        // The other order: the sibling rotates first, then p1 is the stale one.
        let q0 = s.start_at("u", Map::new(), Map::new(), now).await.unwrap();
        let q1 = s.refresh_at(&q0.refresh_token, now + 1).await.unwrap();
        let b1 = s.refresh_at(&q0.refresh_token, now + 2).await.unwrap();
        s.refresh_at(&b1.refresh_token, now + 3).await.unwrap();
        assert_eq!(
            s.refresh_at(&q1.refresh_token, now + 4)
                .await
                .unwrap_err()
                .code(),
            "refresh_reused",
            "{b}"
        );

        // Racing requests inside the window all succeed; afterwards only the newest generation
        // goes on, and every other token of an older generation is reuse.
        let s = std::sync::Arc::new(s);
        let r0 = s.start_at("u", Map::new(), Map::new(), now).await.unwrap();
        let (wins, errors) = common::race(10, || {
            let (s, t) = (s.clone(), r0.refresh_token.clone());
            async move { s.refresh_at(&t, now + 1).await }
        })
        .await;
        assert!(errors.is_empty(), "{b}: {errors:?}");
        assert_eq!(wins.len(), 10, "{b}");
        let r2 = s.refresh_at(&wins[3].refresh_token, now + 7).await.unwrap();
        let r3 = s.refresh_at(&r2.refresh_token, now + 8).await.unwrap();
        assert_eq!(
            s.refresh_at(&wins[5].refresh_token, now + 9)
                .await
                .unwrap_err()
                .code(),
            "refresh_reused",
            "{b}"
        );
        assert_eq!(
            s.refresh_at(&r3.refresh_token, now + 10)
                .await
                .unwrap_err()
                .code(),
            "session_revoked",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_sent_to_another_service_writes_nothing() {
    for store in stores().await {
        let b = store.backend();
        let k = keys();
        let owner = sessions(&store, tokens_for(&k, "https://tenant-a", &["api"]), 0);
        let other_aud = sessions(&store, tokens_for(&k, "https://tenant-a", &["billing"]), 0);
        let other_iss = sessions(&store, tokens_for(&k, "https://tenant-b", &["api"]), 0);
        let pair = owner.start("user-1", Map::new(), Map::new()).await.unwrap();
        for _ in 0..2 {
            assert_eq!(
                other_aud
                    .refresh(&pair.refresh_token)
                    .await
                    .unwrap_err()
                    .code(),
                "invalid_audience",
                "{b}"
            );
            assert_eq!(
                other_iss
                    .refresh(&pair.refresh_token)
                    .await
                    .unwrap_err()
                    .code(),
                "invalid_issuer",
                "{b}"
            );
            assert!(
                !other_iss
                    .revoke_refresh_token(&pair.refresh_token)
                    .await
                    .unwrap(),
                "{b}: another tenant cannot log the user out"
            );
        }
        // Nothing was spent: the owner rotates the very same token, and its session lives.
        let next = owner.refresh(&pair.refresh_token).await.unwrap();
        assert!(owner.is_active(&pair.session_id).await.unwrap(), "{b}");
        owner.refresh(&next.refresh_token).await.unwrap();

        // The audience is compared as a list: ["a b"] is not ["a", "b"].
        let joined = sessions(&store, tokens_for(&k, "https://tenant-a", &["a b"]), 0);
        let split = sessions(&store, tokens_for(&k, "https://tenant-a", &["a", "b"]), 0);
        let p = joined
            .start("user-2", Map::new(), Map::new())
            .await
            .unwrap();
        assert_eq!(
            split.refresh(&p.refresh_token).await.unwrap_err().code(),
            "invalid_audience",
            "{b}"
        );
        let issued = joined.refresh(&p.refresh_token).await.unwrap();
        let claims = tokens_for(&k, "https://tenant-a", &["a b"])
            .verify(&issued.access_token, &VerifyOptions::default())
            .unwrap();
        assert_eq!(claims["sub"], "user-2", "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_by_refresh_token() {
    for store in stores().await {
        let b = store.backend();
        let s = sessions(&store, tokens_for(&keys(), "https://i", &["api"]), 0);
        let pair = s.start("u", Map::new(), Map::new()).await.unwrap();
        let next = s.refresh(&pair.refresh_token).await.unwrap();
        // A used token of the session logs it out as well as the current one would.
        assert!(
            s.revoke_refresh_token(&pair.refresh_token).await.unwrap(),
            "{b}"
        );
        assert!(!s.is_active(&pair.session_id).await.unwrap(), "{b}");
        assert!(
            !s.revoke_refresh_token(&next.refresh_token).await.unwrap(),
            "{b}: already"
        );
        assert_eq!(
            s.refresh(&next.refresh_token).await.unwrap_err().code(),
            "session_revoked",
            "{b}"
        );
        let unknown = format!("prt_{}", "A".repeat(43));
        assert!(
            !s.revoke_refresh_token(&unknown).await.unwrap(),
            "{b}: unknown"
        );
        for bad in [
            "",
            "prt_",
            "xyz",
            "prt_!!!!",
            &format!("prt_{}", "A".repeat(44)),
        ] {
            assert_eq!(
                s.revoke_refresh_token(bad).await.unwrap_err().code(),
                "invalid_token",
                "{b}: {bad:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purge_removes_the_dead_and_keeps_reuse_detection() {
    for store in stores().await {
        let b = store.backend();
        let cfg = SessionsConfig {
            refresh_ttl: 10 * 86_400,
            idle_ttl: 2 * 86_400,
            reuse_grace: 0,
        };
        let s = Sessions::new(
            store.clone(),
            tokens_for(&keys(), "https://i", &["api"]),
            cfg,
        )
        .unwrap();
        let day = 86_400;
        let t0 = polyauth_core::token::now();
        let subject = format!("purge-{}", rand_suffix());
        // A live session with a history of used tokens, each of which must stay reuse.
        let live = s
            .start_at(&subject, Map::new(), Map::new(), t0)
            .await
            .unwrap();
        let mut used = vec![live.refresh_token.clone()];
        let mut current = live.refresh_token.clone();
        for k in 1..=4 {
            current = s
                .refresh_at(&current, t0 + k * day)
                .await
                .unwrap()
                .refresh_token;
            used.push(current.clone());
        }
        let current = used.pop().unwrap();
        // Sessions that end: revoked, idle, and past their absolute end.
        let revoked = s
            .start_at(&subject, Map::new(), Map::new(), t0)
            .await
            .unwrap();
        assert!(s
            .revoke_refresh_token(&revoked.refresh_token)
            .await
            .unwrap());
        let idle = s
            .start_at(&subject, Map::new(), Map::new(), t0)
            .await
            .unwrap();
        let old = s
            .start_at(&subject, Map::new(), Map::new(), t0 - 20 * day)
            .await
            .unwrap();
        let otk = OneTimeTokens::new(store.clone());
        let spent = otk.issue_at(&subject, "p", 60, None, t0).await.unwrap();
        otk.consume_at(&spent, "p", t0 + 1).await.unwrap();
        let fresh = otk
            .issue_at(&subject, "p", 30 * day as u64, None, t0)
            .await
            .unwrap();

        let removed = store.purge_expired_at(t0 + 4 * day + 60).await.unwrap();
        // revoked (ended t0, real clock), idle (ended t0 + 2 days), old (ended t0 - 10 days):
        // three sessions with one token each, and the spent one-time token.
        // Redis removes the session keys; their refresh tokens expire on their own.
        let expected = if b == "redis" { 4 } else { 7 };
        assert!(removed >= expected, "{b}: removed {removed}");
        for gone in [&revoked, &idle, &old] {
            assert!(
                store.get_session(&gone.session_id).await.unwrap().is_none(),
                "{b}"
            );
        }
        assert!(
            store.get_session(&live.session_id).await.unwrap().is_some(),
            "{b}: the live session stays"
        );
        // Every token that could still be presented: the current one rotates, and any used one
        // of the live session is still reuse (checked one at a time on fresh sessions' twins
        // would be the same; here the first reuse revokes, the rest find it revoked).
        let now = t0 + 4 * day + 61;
        assert_eq!(
            s.refresh_at(&used[1], now).await.unwrap_err().code(),
            "refresh_reused",
            "{b}: a used token survived the purge"
        );
        for u in &used {
            assert!(
                ["refresh_reused", "session_revoked"]
                    .contains(&s.refresh_at(u, now).await.unwrap_err().code()),
                "{b}"
            );
        }
        assert_eq!(
            s.refresh_at(&current, now).await.unwrap_err().code(),
            "session_revoked",
            "{b}"
        );
        // The unexpired one-time token stays usable.
        assert_eq!(
            otk.consume_at(&fresh, "p", now).await.unwrap().0,
            subject,
            "{b}"
        );
        // Nothing left to do: a second purge at the same time removes nothing of ours.
        let again = store.purge_expired_at(t0 + 4 * day + 60).await.unwrap();
        assert!(store.get_session(&live.session_id).await.unwrap().is_some());
        let _ = again;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purge_keeps_a_live_session_usable() {
    for store in stores().await {
        let b = store.backend();
        let s = sessions(&store, tokens_for(&keys(), "https://i", &["api"]), 0);
        let t0 = polyauth_core::token::now();
        let p0 = s.start_at("u", Map::new(), Map::new(), t0).await.unwrap();
        let p1 = s.refresh_at(&p0.refresh_token, t0 + 10).await.unwrap();
        store.purge_expired_at(t0 + 20).await.unwrap();
        let p2 = s.refresh_at(&p1.refresh_token, t0 + 30).await.unwrap();
        store.purge_expired_at(t0 + 40).await.unwrap();
        assert_eq!(
            s.refresh_at(&p0.refresh_token, t0 + 50)
                .await
                .unwrap_err()
                .code(),
            "refresh_reused",
            "{b}"
        );
        assert_eq!(
            s.refresh_at(&p2.refresh_token, t0 + 60)
                .await
                .unwrap_err()
                .code(),
            "session_revoked",
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn starting_sessions_purges_opportunistically() {
    for store in stores().await {
        let b = store.backend();
        let s = sessions(&store, tokens_for(&keys(), "https://i", &["api"]), 0);
        let long_ago = polyauth_core::token::now() - 60 * 86_400;
        let old = s
            .start_at("old", Map::new(), Map::new(), long_ago)
            .await
            .unwrap();
        // One write in 64 purges (the counter is per process, so 64 more writes certainly do);
        // Redis goes on with its scan from where it stopped, so give it a few rounds.
        let rounds = if b == "redis" { 64 * 100 } else { 64 };
        for _ in 0..rounds {
            s.start("new", Map::new(), Map::new()).await.unwrap();
            if store.get_session(&old.session_id).await.unwrap().is_none() {
                break;
            }
        }
        assert!(
            store.get_session(&old.session_id).await.unwrap().is_none(),
            "{b}: the session that ended 30 days ago was not purged"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purge_forgets_throttle_counters_only_after_the_retention() {
    use polyauth_core::store::THROTTLE_RETENTION;
    use polyauth_core::throttle::{Throttle, ThrottleConfig, LOCKED_FOREVER};
    for store in stores().await {
        let b = store.backend();
        if b == "redis" {
            continue; // counters expire there (the same retention, as a key TTL)
        }
        let cfg = ThrottleConfig {
            max_failures: 3,
            reset_after: 60,
            ..Default::default()
        };
        let th = Throttle::new(store.clone(), cfg).unwrap();
        let t0 = polyauth_core::token::now();
        let (locked, forever) = (
            format!("l-{}", rand_suffix()),
            format!("f-{}", rand_suffix()),
        );
        for k in 0..3 {
            th.fail_at(&locked, t0 + k).await.unwrap();
        }
        for k in 0..100 {
            th.fail_at(&forever, t0 + k).await.unwrap();
        }
        let lock_end = store
            .throttle_get(&locked)
            .await
            .unwrap()
            .unwrap()
            .locked_until;
        assert_eq!(
            store
                .throttle_get(&forever)
                .await
                .unwrap()
                .unwrap()
                .locked_until,
            LOCKED_FOREVER
        );
        // Within the retention after the lock ended, the count at max_failures stays.
        store
            .purge_expired_at(lock_end + THROTTLE_RETENTION - 1)
            .await
            .unwrap();
        assert!(store.throttle_get(&locked).await.unwrap().is_some(), "{b}");
        store
            .purge_expired_at(lock_end + THROTTLE_RETENTION + 100)
            .await
            .unwrap();
        assert!(store.throttle_get(&locked).await.unwrap().is_none(), "{b}");
        // A key locked until reset is never forgotten.
        store
            .purge_expired_at(t0 + 20 * 365 * 86_400)
            .await
            .unwrap();
        assert!(store.throttle_get(&forever).await.unwrap().is_some(), "{b}");
    }
    let store = Store::open("memory://").await.unwrap();
    let too_long = ThrottleConfig {
        reset_after: THROTTLE_RETENTION + 1,
        ..Default::default()
    };
    assert_eq!(
        Throttle::new(store, too_long).unwrap_err().code(),
        "invalid_config"
    );
}

/// Redis: a namespace named like a key kind cannot reach the default namespace's keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_namespaces_are_disjoint() {
    let url = common::redis_url();
    let tenant = match Store::open(&format!("{url}?polyauth_namespace=throttle")).await {
        Ok(s) => s,
        Err(e) if !require_services() => return eprintln!("skipping redis: {e}"),
        Err(e) => panic!("redis unreachable with POLYAUTH_REQUIRE_SERVICES=1: {e}"),
    };
    let default = Store::open(&url).await.unwrap();
    let subject = format!("victim-{}", rand_suffix());
    tenant
        .mfa_begin(&subject, "v1.k.secret", i64::MAX / 4)
        .await
        .unwrap();
    // The default namespace's throttle counter named "mfa:<subject>"...
    let lock = |_: i64| 0;
    default
        .throttle_fail(
            &format!("mfa:{subject}"),
            1,
            polyauth_core::store::Decay {
                reset_after: 10,
                max_failures: 100,
            },
            &lock,
        )
        .await
        .unwrap();
    default
        .throttle_reset(&format!("mfa:{subject}"))
        .await
        .unwrap();
    // ...is not the tenant's MFA factor.
    assert!(tenant.mfa_get(&subject).await.unwrap().is_some());
    assert!(tenant.mfa_delete(&subject).await.unwrap());
}

/// `migrate=False` refuses an unmigrated schema and works on a migrated one, on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_without_migrating_needs_a_current_schema_sqlite() {
    let dir = std::env::temp_dir().join(format!("polyauth-test-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("s.db").display());
    let no = OpenOptions { migrate: false };
    let e = Store::open_with(&url, no).await.unwrap_err();
    assert_eq!(e.code(), "invalid_config");
    assert!(e.to_string().contains("migrations"), "{e}");
    Store::open(&url).await.unwrap();
    let store = Store::open_with(&url, no).await.unwrap();
    let s = sessions(&store, tokens_for(&keys(), "https://i", &["api"]), 0);
    let p = s.start("u", Map::new(), Map::new()).await.unwrap();
    s.refresh(&p.refresh_token).await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// Least privilege on PostgreSQL: an owner role migrates, an application role with only
/// SELECT/INSERT/UPDATE/DELETE opens with `migrate=False` and runs sessions; with migrations on
/// it would need DDL rights it does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_app_role_without_ddl_rights() {
    let base = std::env::var("POLYAUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let ns = common::remember_namespace(format!("t{}", rand_suffix()));
    let role = format!("polyauth_app_{}", rand_suffix());
    let owner_url = format!("{base}?polyauth_namespace={ns}");
    let no = OpenOptions { migrate: false };
    // Before any migration, migrate=False refuses to start.
    match Store::open_with(&owner_url, no).await {
        Err(e) if e.code() == "store_unavailable" && !require_services() => {
            return eprintln!("skipping postgres: {e}")
        }
        Err(e) => assert_eq!(e.code(), "invalid_config", "{e}"),
        Ok(_) => panic!("an unmigrated schema was accepted"),
    }
    Store::open(&owner_url).await.unwrap();
    let admin = polyauth_admin(&base).await;
    for stmt in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE ON SCHEMA \"{ns}\" TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{ns}\" TO {role}"),
    ] {
        sqlx::query(&stmt).execute(&admin).await.unwrap();
    }
    let app_url = with_user(&base, &role, &ns);
    let result = async {
        let store = Store::open_with(&app_url, no).await?;
        let s = sessions(&store, tokens_for(&keys(), "https://i", &["api"]), 0);
        let p = s.start("u", Map::new(), Map::new()).await?;
        let n = s.refresh(&p.refresh_token).await?;
        assert!(s.revoke_refresh_token(&n.refresh_token).await?);
        store.purge_expired().await?;
        // The same role cannot run migrations (no CREATE on the schema): migrating is refused
        // by the server, which is why the application opens with migrate=False.
        let ddl = sqlx::query(&format!("CREATE TABLE \"{ns}\".x (a int)"))
            .execute(&role_pool(&app_url).await)
            .await;
        assert!(ddl.is_err(), "the app role must not have DDL rights");
        polyauth_core::Result::Ok(())
    }
    .await;
    for stmt in [
        format!("DROP SCHEMA \"{ns}\" CASCADE"),
        format!("DROP OWNED BY {role}"),
        format!("DROP ROLE {role}"),
    ] {
        let _ = sqlx::query(&stmt).execute(&admin).await;
    }
    result.unwrap();
}

async fn polyauth_admin(url: &str) -> sqlx::PgPool {
    sqlx::PgPool::connect(url).await.unwrap()
}

async fn role_pool(url: &str) -> sqlx::PgPool {
    let plain = url.split('?').next().unwrap();
    sqlx::PgPool::connect(plain).await.unwrap()
}

/// `base` with its user replaced by `role` and the namespace parameter added.
fn with_user(base: &str, role: &str, ns: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{role}@{host}?polyauth_namespace={ns}")
}
