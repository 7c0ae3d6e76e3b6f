//! `Sessions` for Node (refresh-token rotation over a `Store`; Promises).

use crate::options::{read, HostOptions};
use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::session::{Sessions as CoreSessions, SessionsConfig, TokenPair as CorePair};
use serde_json::Value;

use crate::errors::{now_or, object, run, text, to_napi, Number};
use crate::store::Store;
use crate::tokens::Tokens;

/// What `Sessions.start` and `Sessions.refresh` resolve to.
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

/// A session as {@link Sessions.list} reports it.
#[napi(object)]
pub struct SessionInfo {
    pub session_id: String,
    pub subject: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    #[napi(ts_type = "Record<string, unknown>")]
    pub claims: Value,
    #[napi(ts_type = "Record<string, unknown>")]
    pub meta: Value,
}

/// Sessions with refresh-token rotation and reuse detection.
#[napi]
pub struct Sessions {
    pub(crate) inner: CoreSessions,
}

#[napi]
impl Sessions {
    #[napi(constructor)]
    pub fn new(
        store: &Store,
        tokens: &Tokens,
        #[napi(ts_arg_type = "object")] options: Option<HostOptions>,
    ) -> Result<Self> {
        let o = read(options, "Sessions");
        Ok(Sessions {
            inner: run(|| {
                CoreSessions::new(
                    store.inner.clone(),
                    tokens.inner.clone(),
                    SessionsConfig::from_options(o)?,
                )
            })?,
        })
    }

    /// Starts a session; `claims` go into every access token of the session, `meta` is kept for
    /// `list`; `now` (seconds) injects the clock the session's lifetimes start from.
    #[napi]
    pub fn start<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        claims: Option<Value>,
        meta: Option<Value>,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, TokenPair>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let (claims, meta) = (object(claims, "claims")?, object(meta, "meta")?);
            let now = now_or(now)?;
            inner
                .start_at(&subject, claims, meta, now)
                .await
                .map(TokenPair::from)
                .map_err(to_napi)
        })
    }

    /// Rotates a refresh token; reuse revokes the session and rejects with `refresh_reused`.
    /// `now` (seconds) injects the clock.
    #[napi]
    pub fn refresh<'env>(
        &self,
        env: &'env Env,
        refresh_token: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, TokenPair>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let refresh_token = text(refresh_token, "refreshToken")?;
            let now = now_or(now)?;
            inner
                .refresh_at(&refresh_token, now)
                .await
                .map(TokenPair::from)
                .map_err(to_napi)
        })
    }

    /// Revokes the session of a refresh token (logout when the access token has expired); false
    /// for an unknown token, a session already revoked or one of another issuer or audience.
    #[napi]
    pub fn revoke_refresh_token<'env>(
        &self,
        env: &'env Env,
        refresh_token: Utf16String,
    ) -> Result<PromiseRaw<'env, bool>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let refresh_token = text(refresh_token, "refreshToken")?;
            inner
                .revoke_refresh_token(&refresh_token)
                .await
                .map_err(to_napi)
        })
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
    pub fn revoke<'env>(
        &self,
        env: &'env Env,
        session_id: Utf16String,
    ) -> Result<PromiseRaw<'env, bool>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let session_id = text(session_id, "sessionId")?;
            inner.revoke(&session_id).await.map_err(to_napi)
        })
    }

    /// Revokes every session of `subject`; resolves to how many were not yet revoked.
    #[napi]
    pub fn revoke_all<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, u32>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            inner
                .revoke_all(&subject)
                .await
                .map(|n| n as u32)
                .map_err(to_napi)
        })
    }

    /// Active sessions of `subject`, newest first.
    #[napi]
    pub fn list<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, Vec<SessionInfo>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let list = inner.list(&subject).await.map_err(to_napi)?;
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
        })
    }

    /// Whether a session is usable (not revoked, not expired) at `now` (seconds; default: the
    /// system clock).
    #[napi]
    pub fn is_active<'env>(
        &self,
        env: &'env Env,
        session_id: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, bool>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let session_id = text(session_id, "sessionId")?;
            let now = now_or(now)?;
            inner.is_active_at(&session_id, now).await.map_err(to_napi)
        })
    }
}
