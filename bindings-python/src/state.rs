//! `Store`, `Sessions`, `OneTimeTokens` and `Throttle` for Python: every store call returns an
//! awaitable (pyo3-async-runtimes on tokio), so the event loop never waits on I/O.

use polyauth_core::onetime::OneTimeTokens as CoreOneTime;
use polyauth_core::session::{Sessions as CoreSessions, SessionsConfig, TokenPair as CorePair};
use polyauth_core::store::{OpenOptions, Store as CoreStore};
use polyauth_core::throttle::{Throttle as CoreThrottle, ThrottleConfig};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::IntoPyObjectExt;
use serde_json::{Map, Value};

use crate::asyncio::spawn;
use crate::convert::{arg, opt_arg, setting, MAX_SECONDS, MAX_TIME};
use crate::errors::{run, to_py};
use crate::tokens::Tokens;

fn none(py: Python<'_>, _: ()) -> PyResult<Bound<'_, PyAny>> {
    Ok(py.None().into_bound(py))
}

fn plain<'py, T>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a>,
{
    v.into_bound_py_any(py)
}

pub(crate) fn map_arg(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Map<String, Value>> {
    match obj {
        None => Ok(Map::new()),
        Some(o) if o.is_none() => Ok(Map::new()),
        Some(o) => match pythonize::depythonize::<Value>(o) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(PyTypeError::new_err(format!(
                "{what} must be a JSON-compatible dict"
            ))),
        },
    }
}

/// A `str` argument. One with lone surrogates cannot be UTF-8 and is `InvalidInputError`, as in
/// `PasswordHasher`, rather than a bare `UnicodeEncodeError`.
pub(crate) fn str_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str")))?;
    s.to_cow().map(|c| c.into_owned()).map_err(|_| {
        to_py(
            obj.py(),
            polyauth_core::Error::InvalidInput(format!("{what} is not well-formed Unicode")),
        )
    })
}

fn to_python<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    crate::convert::value(py, v)
}

pub(crate) fn pair<'py>(py: Python<'py>, p: CorePair) -> PyResult<Bound<'py, PyAny>> {
    Bound::new(py, TokenPair::from(p)).map(Bound::into_any)
}

/// An open store: `sqlite://path` (default `sqlite://polyauth.db`), `postgres://...`,
/// `redis://...` or `memory://`. Migrations are applied on open.
#[pyclass(module = "polyauth._native", frozen)]
pub struct Store {
    pub(crate) inner: CoreStore,
}

#[pymethods]
impl Store {
    /// Opens a store; awaitable. With `migrate=False` pending migrations are not applied: the
    /// schema must be current (`InvalidConfigError` otherwise), so the application can connect
    /// as a role without DDL rights.
    #[staticmethod]
    #[pyo3(signature = (url=String::from("sqlite://polyauth.db"), *, migrate=true))]
    fn open(py: Python<'_>, url: String, migrate: bool) -> PyResult<Bound<'_, PyAny>> {
        let options = OpenOptions { migrate };
        spawn(
            py,
            async move { CoreStore::open_with(&url, options).await },
            |py, inner| Bound::new(py, Store { inner }).map(Bound::into_any),
        )
    }

    /// Deletes what can never be used again (sessions ended a day or more ago with their refresh
    /// tokens, spent one-time tokens, idle throttle counters); awaitable → rows removed. `now`
    /// (seconds) injects the clock.
    #[pyo3(signature = (*, now=None))]
    fn purge_expired<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        let now = now.unwrap_or_else(polyauth_core::token::now);
        spawn(py, async move { s.purge_expired_at(now).await }, plain)
    }

    /// The SQL of every migration, for teams that apply migrations themselves.
    #[staticmethod]
    fn migrations_sql() -> String {
        CoreStore::migrations_sql()
    }

    /// One trivial round trip to the backend (health check); awaitable, raises
    /// `StoreUnavailableError` when it is down.
    fn ping<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        spawn(py, async move { s.ping().await }, none)
    }

    /// "memory", "sqlite", "postgres" or "redis".
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn __repr__(&self) -> String {
        format!("Store(backend={:?})", self.inner.backend())
    }
}

/// Access token, refresh token, session id and lifetimes returned by `start` and `refresh`.
#[pyclass(module = "polyauth._native", frozen, get_all)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    session_id: String,
    expires_in: u64,
    refresh_expires_at: i64,
}

impl From<CorePair> for TokenPair {
    fn from(p: CorePair) -> Self {
        TokenPair {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            session_id: p.session_id,
            expires_in: p.expires_in,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

#[pymethods]
impl TokenPair {
    fn __repr__(&self) -> String {
        // Tokens are secrets: never in repr.
        format!(
            "TokenPair(session_id={:?}, expires_in={}, access_token=<redacted>, refresh_token=<redacted>)",
            self.session_id, self.expires_in
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
    #[pyo3(signature = (store, tokens, *, refresh_ttl=30 * 86_400, idle_ttl=7 * 86_400, reuse_grace=0))]
    fn new(
        store: &Store,
        tokens: &Bound<'_, Tokens>,
        #[pyo3(from_py_with = setting::<u64, MAX_SECONDS>)] refresh_ttl: u64,
        #[pyo3(from_py_with = setting::<u64, MAX_SECONDS>)] idle_ttl: u64,
        #[pyo3(from_py_with = setting::<u64, MAX_SECONDS>)] reuse_grace: u64,
    ) -> PyResult<Self> {
        let config = SessionsConfig {
            refresh_ttl,
            idle_ttl,
            reuse_grace,
        };
        let core_tokens = tokens.get().inner.clone();
        let inner = run(|| CoreSessions::new(store.inner.clone(), core_tokens, config))?;
        Ok(Sessions { inner })
    }

    /// Starts a session for `subject`; `claims` go into every access token of the session,
    /// `meta` (user agent, IP) is kept for `list`. Awaitable → TokenPair.
    #[pyo3(signature = (subject, claims=None, meta=None))]
    fn start<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        claims: Option<&Bound<'py, PyAny>>,
        meta: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let (claims, meta) = (map_arg(claims, "claims")?, map_arg(meta, "meta")?);
        let s = self.inner.clone();
        spawn(
            py,
            async move { s.start(&subject, claims, meta).await },
            pair,
        )
    }

    /// Rotates a refresh token. Reuse of a rotated token revokes the session and raises
    /// `RefreshReusedError`. Awaitable → TokenPair.
    fn refresh<'py>(
        &self,
        py: Python<'py>,
        refresh_token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = str_arg(refresh_token, "refresh_token")?;
        let s = self.inner.clone();
        spawn(py, async move { s.refresh(&token).await }, pair)
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

    /// Whether a session is usable (not revoked, not expired); awaitable → bool.
    fn is_active<'py>(
        &self,
        py: Python<'py>,
        session_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session_id = str_arg(session_id, "session_id")?;
        let s = self.inner.clone();
        spawn(py, async move { s.is_active(&session_id).await }, plain)
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

/// Single-use, purpose-bound tokens (email verification, password reset, magic links).
#[pyclass(module = "polyauth._native", frozen)]
pub struct OneTimeTokens {
    pub(crate) inner: CoreOneTime,
}

#[pymethods]
impl OneTimeTokens {
    #[new]
    fn new(store: &Store) -> Self {
        OneTimeTokens {
            inner: CoreOneTime::new(store.inner.clone()),
        }
    }

    /// Issues a `pot_...` token for `subject` and `purpose`, valid `ttl` seconds; awaitable → str.
    #[pyo3(signature = (subject, purpose, ttl=3600, data=None))]
    fn issue<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        purpose: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = arg::<u64, MAX_SECONDS>)] ttl: u64,
        data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let purpose = str_arg(purpose, "purpose")?;
        let data = match data {
            None => None,
            Some(d) if d.is_none() => None,
            Some(d) => Some(
                pythonize::depythonize::<Value>(d)
                    .map_err(|_| PyTypeError::new_err("data must be JSON-compatible"))?,
            ),
        };
        let o = self.inner.clone();
        spawn(
            py,
            async move { o.issue(&subject, &purpose, ttl, data).await },
            plain,
        )
    }

    /// Consumes `token` for `purpose`, once; awaitable → (subject, data). Wrong purpose raises
    /// `InvalidTypeError`, expiry `TokenExpiredError`, reuse `TokenUsedError`.
    fn consume<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        purpose: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let purpose = str_arg(purpose, "purpose")?;
        let token = str_arg(token, "token")?;
        let o = self.inner.clone();
        spawn(
            py,
            async move { o.consume(&token, &purpose).await },
            subject_and_data,
        )
    }

    /// What `consume` would return now, without spending the token (the same errors);
    /// awaitable → (subject, data). Never a substitute for `consume`: two peeks can both
    /// succeed, one consumption only.
    fn peek<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        purpose: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let purpose = str_arg(purpose, "purpose")?;
        let token = str_arg(token, "token")?;
        let o = self.inner.clone();
        spawn(
            py,
            async move { o.peek(&token, &purpose).await },
            subject_and_data,
        )
    }
}

/// `(subject, data)` of a one-time token, `data` None when it carries none.
fn subject_and_data(
    py: Python<'_>,
    (subject, data): (String, Option<Value>),
) -> PyResult<Bound<'_, PyAny>> {
    let data = match data {
        None => py.None().into_bound(py),
        Some(v) => to_python(py, &v)?,
    };
    (subject, data).into_bound_py_any(py)
}

/// Failure counters with exponential backoff and a lockout ceiling, shared through the store.
/// The lock schedule is the core's (`polyauth_core::throttle::Throttle`): from `max_failures` on
/// the count never starts over by itself and each lock doubles from `reset_after`; at 100
/// failures the key stays locked until `reset`.
#[pyclass(module = "polyauth._native", frozen)]
pub struct Throttle {
    pub(crate) inner: CoreThrottle,
}

#[pymethods]
impl Throttle {
    #[new]
    #[pyo3(signature = (store, *, free_attempts=5, base_delay=1, max_delay=900, max_failures=100, reset_after=86_400))]
    fn new(
        store: &Store,
        #[pyo3(from_py_with = setting::<i64, MAX_SECONDS>)] free_attempts: i64,
        #[pyo3(from_py_with = setting::<i64, MAX_SECONDS>)] base_delay: i64,
        #[pyo3(from_py_with = setting::<i64, MAX_SECONDS>)] max_delay: i64,
        #[pyo3(from_py_with = setting::<i64, MAX_SECONDS>)] max_failures: i64,
        #[pyo3(from_py_with = setting::<i64, MAX_SECONDS>)] reset_after: i64,
    ) -> PyResult<Self> {
        let config = ThrottleConfig {
            free_attempts,
            base_delay,
            max_delay,
            max_failures,
            reset_after,
        };
        Ok(Throttle {
            inner: run(|| CoreThrottle::new(store.inner.clone(), config))?,
        })
    }

    /// Raises `RateLimitedError` (with `retry_after` seconds) while `key` is locked; awaitable.
    fn check<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        spawn(py, async move { t.check(&key).await }, none)
    }

    /// Records a failure; awaitable → (failures, locked_until).
    fn fail<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        spawn(
            py,
            async move { t.fail(&key).await.map(|c| (c.failures, c.locked_until)) },
            plain,
        )
    }

    /// Reserves an attempt in one atomic step: raises `RateLimitedError` while `key` is locked,
    /// otherwise counts the attempt as a failure right away (call `reset` after a success), so
    /// concurrent attempts cannot all pass before any is counted; awaitable →
    /// (failures, locked_until).
    fn attempt<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        spawn(
            py,
            async move { t.attempt(&key).await.map(|c| (c.failures, c.locked_until)) },
            plain,
        )
    }

    /// Clears the counter after a success; awaitable.
    fn reset<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        spawn(py, async move { t.reset(&key).await }, none)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    m.add_class::<TokenPair>()?;
    m.add_class::<Sessions>()?;
    m.add_class::<OneTimeTokens>()?;
    m.add_class::<Throttle>()?;
    Ok(())
}
