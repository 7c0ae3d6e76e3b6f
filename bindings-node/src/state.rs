//! `Store`, `Sessions`, `OneTimeTokens` and `Throttle` for Node: every store call returns a
//! Promise driven by napi-rs's tokio runtime, so the event loop never waits on I/O.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polyauth_core::onetime::OneTimeTokens as CoreOneTime;
use polyauth_core::session::{Sessions as CoreSessions, SessionsConfig, TokenPair as CorePair};
use polyauth_core::store::{OpenOptions, Store as CoreStore};
use polyauth_core::throttle::{Throttle as CoreThrottle, ThrottleConfig};
use serde_json::{Map, Value};

use crate::errors::{run, text, to_napi, whole, whole_arg, Number};

/// Upper bound for durations and counts given in seconds (about 31 years); the core narrows it.
const MAX_SECONDS: u64 = 1 << 30;
use crate::tokens::Tokens;

/// An optional object argument (claims, meta): absent or null is empty; anything else but an
/// object is a `TypeError` (`InvalidArg`).
pub(crate) fn object(v: Option<Value>, what: &str) -> Result<Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(Error::new(
            Status::InvalidArg,
            format!("{what} must be an object"),
        )),
    }
}

/// An open store (`sqlite://path`, `postgres://...`, `redis://...`, `memory://`).
#[napi]
pub struct Store {
    pub(crate) inner: CoreStore,
}

/// Options of `openStore`.
#[napi(object)]
pub struct OpenStoreOptions {
    /// Apply pending migrations (default true). With false the schema must be current
    /// (`invalid_config` otherwise), for an application role without DDL rights.
    pub migrate: Option<bool>,
}

/// Opens (and, unless `migrate: false`, migrates) a store.
#[napi]
pub async fn open_store(url: String, options: Option<OpenStoreOptions>) -> Result<Store> {
    let migrate = options.and_then(|o| o.migrate).unwrap_or(true);
    CoreStore::open_with(&url, OpenOptions { migrate })
        .await
        .map(|inner| Store { inner })
        .map_err(to_napi)
}

/// The SQL of every migration, for teams that apply migrations themselves.
#[napi]
pub fn migrations_sql() -> String {
    CoreStore::migrations_sql()
}

#[napi]
impl Store {
    /// One trivial round trip to the backend (health check); rejects `store_unavailable` when down.
    #[napi]
    pub async fn ping(&self) -> Result<()> {
        self.inner.ping().await.map_err(to_napi)
    }

    /// "memory", "sqlite", "postgres" or "redis".
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// Deletes what can never be used again; resolves to the number of rows removed. `now`
    /// (seconds) injects the clock.
    #[napi]
    pub async fn purge_expired(&self, now: Option<Number>) -> Result<f64> {
        let default = polyauth_core::token::now().max(0) as u64;
        let now = whole_arg(now, default, 1 << 40, "now")? as i64;
        self.inner
            .purge_expired_at(now)
            .await
            .map(|n| n as f64)
            .map_err(to_napi)
    }
}

/// What `start` and `refresh` resolve to.
#[napi(object)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    /// Seconds until the access token expires.
    pub expires_in: u32,
    /// When the session ends at the latest (seconds since the epoch).
    pub refresh_expires_at: i64,
}

impl From<CorePair> for TokenPair {
    fn from(p: CorePair) -> Self {
        TokenPair {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            session_id: p.session_id,
            expires_in: p.expires_in as u32,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

/// A session as `list` reports it.
#[napi(object)]
pub struct SessionInfo {
    pub session_id: String,
    pub subject: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub claims: Value,
    pub meta: Value,
}

#[napi(object)]
pub struct SessionsOptions {
    /// Absolute session lifetime in seconds (default 30 days).
    pub refresh_ttl: Option<Number>,
    /// Idle lifetime in seconds (default 7 days).
    pub idle_ttl: Option<Number>,
    /// Grace window for the immediate parent token in seconds (default 0).
    pub reuse_grace: Option<Number>,
}

/// Sessions with refresh-token rotation and reuse detection.
#[napi]
pub struct Sessions {
    pub(crate) inner: CoreSessions,
}

#[napi]
impl Sessions {
    #[napi(constructor)]
    pub fn new(store: &Store, tokens: &Tokens, options: Option<SessionsOptions>) -> Result<Self> {
        let d = SessionsConfig::default();
        let config = match options {
            None => d,
            Some(o) => SessionsConfig {
                refresh_ttl: whole(o.refresh_ttl, d.refresh_ttl, MAX_SECONDS, "refreshTtl")?,
                idle_ttl: whole(o.idle_ttl, d.idle_ttl, MAX_SECONDS, "idleTtl")?,
                reuse_grace: whole(o.reuse_grace, d.reuse_grace, MAX_SECONDS, "reuseGrace")?,
            },
        };
        Ok(Sessions {
            inner: run(|| CoreSessions::new(store.inner.clone(), tokens.inner.clone(), config))?,
        })
    }

    /// Starts a session; `claims` go into every access token of the session, `meta` is kept for `list`.
    #[napi]
    pub async fn start(
        &self,
        subject: Utf16String,
        claims: Option<Value>,
        meta: Option<Value>,
    ) -> Result<TokenPair> {
        let subject = text(subject, "subject")?;
        let (claims, meta) = (object(claims, "claims")?, object(meta, "meta")?);
        self.inner
            .start(&subject, claims, meta)
            .await
            .map(TokenPair::from)
            .map_err(to_napi)
    }

    /// Rotates a refresh token; reuse revokes the session and rejects with `refresh_reused`.
    #[napi]
    pub async fn refresh(&self, refresh_token: Utf16String) -> Result<TokenPair> {
        let refresh_token = text(refresh_token, "refreshToken")?;
        self.inner
            .refresh(&refresh_token)
            .await
            .map(TokenPair::from)
            .map_err(to_napi)
    }

    /// Revokes the session of a refresh token (logout when the access token has expired); false
    /// for an unknown token, a session already revoked or one of another issuer or audience.
    #[napi]
    pub async fn revoke_refresh_token(&self, refresh_token: Utf16String) -> Result<bool> {
        let refresh_token = text(refresh_token, "refreshToken")?;
        self.inner
            .revoke_refresh_token(&refresh_token)
            .await
            .map_err(to_napi)
    }

    /// Absolute session lifetime in seconds.
    #[napi(getter)]
    pub fn refresh_ttl(&self) -> f64 {
        self.inner.config().refresh_ttl as f64
    }

    /// Idle lifetime in seconds.
    #[napi(getter)]
    pub fn idle_ttl(&self) -> f64 {
        self.inner.config().idle_ttl as f64
    }

    /// Seconds the immediate parent refresh token stays usable after rotation (0: never).
    #[napi(getter)]
    pub fn reuse_grace(&self) -> f64 {
        self.inner.config().reuse_grace as f64
    }

    /// Revokes one session; false when unknown or already revoked.
    #[napi]
    pub async fn revoke(&self, session_id: Utf16String) -> Result<bool> {
        let session_id = text(session_id, "sessionId")?;
        self.inner.revoke(&session_id).await.map_err(to_napi)
    }

    /// Revokes every session of `subject`; resolves to how many were not yet revoked.
    #[napi]
    pub async fn revoke_all(&self, subject: Utf16String) -> Result<u32> {
        let subject = text(subject, "subject")?;
        self.inner
            .revoke_all(&subject)
            .await
            .map(|n| n as u32)
            .map_err(to_napi)
    }

    /// Active sessions of `subject`, newest first.
    #[napi]
    pub async fn list(&self, subject: Utf16String) -> Result<Vec<SessionInfo>> {
        let subject = text(subject, "subject")?;
        let list = self.inner.list(&subject).await.map_err(to_napi)?;
        Ok(list
            .into_iter()
            .map(|i| SessionInfo {
                session_id: i.session_id,
                subject: i.subject,
                created_at: i.created_at,
                last_used_at: i.last_used_at,
                expires_at: i.expires_at,
                claims: Value::Object(i.claims),
                meta: Value::Object(i.meta),
            })
            .collect())
    }

    /// Whether a session is usable (not revoked, not expired).
    #[napi]
    pub async fn is_active(&self, session_id: Utf16String) -> Result<bool> {
        let session_id = text(session_id, "sessionId")?;
        self.inner.is_active(&session_id).await.map_err(to_napi)
    }
}

/// What `OneTimeTokens.consume` resolves to.
#[napi(object)]
pub struct Consumed {
    pub subject: String,
    pub data: Option<Value>,
}

/// Single-use, purpose-bound tokens.
#[napi]
pub struct OneTimeTokens {
    pub(crate) inner: CoreOneTime,
}

#[napi]
impl OneTimeTokens {
    #[napi(constructor)]
    pub fn new(store: &Store) -> Self {
        OneTimeTokens {
            inner: CoreOneTime::new(store.inner.clone()),
        }
    }

    /// Issues a `pot_...` token for `subject` and `purpose`, valid `ttl` seconds (default 3600).
    #[napi]
    pub async fn issue(
        &self,
        subject: Utf16String,
        purpose: Utf16String,
        ttl: Option<Number>,
        data: Option<Value>,
    ) -> Result<String> {
        let (subject, purpose) = (text(subject, "subject")?, text(purpose, "purpose")?);
        let data = data.filter(|d| !d.is_null());
        let ttl = whole_arg(ttl, 3600, MAX_SECONDS, "ttl")?;
        self.inner
            .issue(&subject, &purpose, ttl, data)
            .await
            .map_err(to_napi)
    }

    /// Consumes `token` for `purpose`, once.
    #[napi]
    pub async fn consume(&self, token: Utf16String, purpose: Utf16String) -> Result<Consumed> {
        let (token, purpose) = (text(token, "token")?, text(purpose, "purpose")?);
        let (subject, data) = self
            .inner
            .consume(&token, &purpose)
            .await
            .map_err(to_napi)?;
        Ok(Consumed { subject, data })
    }

    /// What `consume` would resolve to now, without spending the token (the same errors).
    #[napi]
    pub async fn peek(&self, token: Utf16String, purpose: Utf16String) -> Result<Consumed> {
        let (token, purpose) = (text(token, "token")?, text(purpose, "purpose")?);
        let (subject, data) = self.inner.peek(&token, &purpose).await.map_err(to_napi)?;
        Ok(Consumed { subject, data })
    }
}

#[napi(object)]
pub struct ThrottleOptions {
    pub free_attempts: Option<Number>,
    pub base_delay: Option<Number>,
    pub max_delay: Option<Number>,
    pub max_failures: Option<Number>,
    pub reset_after: Option<Number>,
}

/// A failure counter after `fail`.
#[napi(object)]
pub struct FailureCount {
    pub failures: i64,
    pub locked_until: i64,
}

/// Failure counters with exponential backoff and a lockout ceiling.
#[napi]
pub struct Throttle {
    pub(crate) inner: CoreThrottle,
}

#[napi]
impl Throttle {
    #[napi(constructor)]
    pub fn new(store: &Store, options: Option<ThrottleOptions>) -> Result<Self> {
        let d = ThrottleConfig::default();
        let config = match options {
            None => d,
            Some(o) => ThrottleConfig {
                free_attempts: whole(
                    o.free_attempts,
                    d.free_attempts as u64,
                    MAX_SECONDS,
                    "freeAttempts",
                )? as i64,
                base_delay: whole(o.base_delay, d.base_delay as u64, MAX_SECONDS, "baseDelay")?
                    as i64,
                max_delay: whole(o.max_delay, d.max_delay as u64, MAX_SECONDS, "maxDelay")? as i64,
                max_failures: whole(
                    o.max_failures,
                    d.max_failures as u64,
                    MAX_SECONDS,
                    "maxFailures",
                )? as i64,
                reset_after: whole(
                    o.reset_after,
                    d.reset_after as u64,
                    MAX_SECONDS,
                    "resetAfter",
                )? as i64,
            },
        };
        Ok(Throttle {
            inner: run(|| CoreThrottle::new(store.inner.clone(), config))?,
        })
    }

    /// Rejects with `rate_limited` (`retryAfter` seconds) while `key` is locked.
    #[napi]
    pub async fn check(&self, key: Utf16String) -> Result<()> {
        let key = text(key, "key")?;
        self.inner.check(&key).await.map_err(to_napi)
    }

    /// Records a failure.
    #[napi]
    pub async fn fail(&self, key: Utf16String) -> Result<FailureCount> {
        let key = text(key, "key")?;
        let c = self.inner.fail(&key).await.map_err(to_napi)?;
        Ok(FailureCount {
            failures: c.failures,
            locked_until: c.locked_until,
        })
    }

    /// Reserves an attempt atomically: rejects with `rate_limited` while `key` is locked,
    /// otherwise counts it as a failure right away (call `reset` after a success).
    #[napi]
    pub async fn attempt(&self, key: Utf16String) -> Result<FailureCount> {
        let key = text(key, "key")?;
        let c = self.inner.attempt(&key).await.map_err(to_napi)?;
        Ok(FailureCount {
            failures: c.failures,
            locked_until: c.locked_until,
        })
    }

    /// Clears the counter after a success.
    #[napi]
    pub async fn reset(&self, key: Utf16String) -> Result<()> {
        let key = text(key, "key")?;
        self.inner.reset(&key).await.map_err(to_napi)
    }
}
