//! `Sessions` and `TokenPair` for Python (refresh-token rotation over a `Store`; awaitables).

use polyauth_core::session::{Sessions as CoreSessions, SessionsConfig, TokenPair as CorePair};
use pyo3::prelude::*;
use serde_json::Value;

use crate::asyncio::spawn;
use crate::convert::options;
use crate::convert::{map_arg, now_or, opt_arg, plain, str_arg, to_python, MAX_TIME};
use crate::errors::run;
use crate::store::Store;
use crate::tokens::Tokens;

pub(crate) fn pair<'py>(py: Python<'py>, p: CorePair) -> PyResult<Bound<'py, PyAny>> {
    Bound::new(py, TokenPair::from(p)).map(Bound::into_any)
}

/// Access token, refresh token, session id and lifetimes returned by `start` and `refresh`.
#[pyclass(module = "polyauth._native", frozen)]
pub struct TokenPair {
    inner: CorePair,
}

impl From<CorePair> for TokenPair {
    fn from(inner: CorePair) -> Self {
        TokenPair { inner }
    }
}

#[pymethods]
impl TokenPair {
    /// The access token (a JWS).
    #[getter]
    fn access_token(&self) -> &str {
        &self.inner.access_token
    }

    /// The refresh token (`prt_...`): store it as an HttpOnly cookie, never in page script.
    #[getter]
    fn refresh_token(&self) -> &str {
        &self.inner.refresh_token
    }

    /// The session's id (`sid`).
    #[getter]
    fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// Seconds until the access token expires.
    #[getter]
    fn expires_in(&self) -> u64 {
        self.inner.expires_in
    }

    /// When the session ends at the latest (seconds since the epoch).
    #[getter]
    fn refresh_expires_at(&self) -> i64 {
        self.inner.refresh_expires_at
    }

    fn __repr__(&self) -> String {
        // Tokens are secrets: never in repr.
        format!(
            "TokenPair(session_id={:?}, expires_in={}, access_token=<redacted>, refresh_token=<redacted>)",
            self.inner.session_id, self.inner.expires_in
        )
    }
}

/// Sessions with refresh-token rotation and reuse detection over a store.
#[pyclass(module = "polyauth._native", frozen)]
pub struct Sessions {
    pub(crate) inner: CoreSessions,
}

#[pymethods]
impl Sessions {
    #[new]
    #[pyo3(signature = (store, tokens, *, refresh_ttl=None, idle_ttl=None, reuse_grace=None))]
    fn new(
        store: &Store,
        tokens: &Bound<'_, Tokens>,
        refresh_ttl: Option<&Bound<'_, PyAny>>,
        idle_ttl: Option<&Bound<'_, PyAny>>,
        reuse_grace: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let o = options!("Sessions"; refresh_ttl, idle_ttl, reuse_grace);
        let core_tokens = tokens.get().inner.clone();
        let inner = run(|| {
            CoreSessions::new(
                store.inner.clone(),
                core_tokens,
                SessionsConfig::from_options(o)?,
            )
        })?;
        Ok(Sessions { inner })
    }

    /// Starts a session for `subject`; `claims` go into every access token of the session,
    /// `meta` (user agent, IP) is kept for `list`; `now` (seconds) injects the session's clock.
    /// Awaitable → TokenPair.
    #[pyo3(signature = (subject, claims=None, meta=None, *, now=None))]
    fn start<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        claims: Option<&Bound<'py, PyAny>>,
        meta: Option<&Bound<'py, PyAny>>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let (claims, meta) = (map_arg(claims, "claims")?, map_arg(meta, "meta")?);
        let s = self.inner.clone();
        let now = now_or(now);
        spawn(
            py,
            async move { s.start_at(&subject, claims, meta, now).await },
            pair,
        )
    }

    /// Rotates a refresh token. Reuse of a rotated token revokes the session and raises
    /// `RefreshReusedError`; `now` (seconds) injects the clock. Awaitable → TokenPair.
    #[pyo3(signature = (refresh_token, *, now=None))]
    fn refresh<'py>(
        &self,
        py: Python<'py>,
        refresh_token: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = str_arg(refresh_token, "refresh_token")?;
        let s = self.inner.clone();
        let now = now_or(now);
        spawn(py, async move { s.refresh_at(&token, now).await }, pair)
    }

    /// Revokes the session of a refresh token (logout when the access token has expired);
    /// awaitable → False for an unknown token, a session already revoked or one of another
    /// issuer or audience. Raises `InvalidTokenError` only for a malformed token.
    fn revoke_refresh_token<'py>(
        &self,
        py: Python<'py>,
        refresh_token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = str_arg(refresh_token, "refresh_token")?;
        let s = self.inner.clone();
        spawn(
            py,
            async move { s.revoke_refresh_token(&token).await },
            plain,
        )
    }

    /// Absolute session lifetime in seconds.
    #[getter]
    fn refresh_ttl(&self) -> u64 {
        self.inner.config().refresh_ttl
    }

    /// Idle lifetime in seconds.
    #[getter]
    fn idle_ttl(&self) -> u64 {
        self.inner.config().idle_ttl
    }

    /// Seconds the immediate parent refresh token stays usable after rotation (0: never).
    #[getter]
    fn reuse_grace(&self) -> u64 {
        self.inner.config().reuse_grace
    }

    /// Revokes one session; awaitable → False when unknown or already revoked.
    fn revoke<'py>(
        &self,
        py: Python<'py>,
        session_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session_id = str_arg(session_id, "session_id")?;
        let s = self.inner.clone();
        spawn(py, async move { s.revoke(&session_id).await }, plain)
    }

    /// Revokes every session of `subject`; awaitable → how many were not yet revoked.
    fn revoke_all<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let s = self.inner.clone();
        spawn(py, async move { s.revoke_all(&subject).await }, plain)
    }

    /// Active sessions of `subject`, newest first; awaitable → list of dicts (session_id,
    /// created_at, last_used_at, expires_at, claims, meta).
    fn list<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let s = self.inner.clone();
        spawn(py, async move { s.list(&subject).await }, |py, list| {
            let values: Vec<Value> = list
                .into_iter()
                .map(|i| {
                    serde_json::json!({
                        "session_id": i.session_id, "subject": i.subject, "created_at": i.created_at,
                        "last_used_at": i.last_used_at, "expires_at": i.expires_at,
                        "claims": i.claims, "meta": i.meta,
                    })
                })
                .collect();
            to_python(py, &Value::Array(values))
        })
    }

    /// Whether a session is usable (not revoked, not expired) at `now` (seconds; default: the
    /// system clock); awaitable → bool.
    #[pyo3(signature = (session_id, *, now=None))]
    fn is_active<'py>(
        &self,
        py: Python<'py>,
        session_id: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session_id = str_arg(session_id, "session_id")?;
        let s = self.inner.clone();
        let now = now_or(now);
        spawn(
            py,
            async move { s.is_active_at(&session_id, now).await },
            plain,
        )
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Sessions(backend={:?}, refresh_ttl={}, idle_ttl={}, reuse_grace={})",
            self.inner.store().backend(),
            c.refresh_ttl,
            c.idle_ttl,
            c.reuse_grace
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TokenPair>()?;
    m.add_class::<Sessions>()?;
    Ok(())
}
