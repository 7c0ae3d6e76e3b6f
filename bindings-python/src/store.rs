//! `Store` for Python: every store call returns an awaitable (the crate's asyncio bridge on
//! tokio), so the event loop never waits on I/O.

use polyauth_core::store::{OpenOptions, Store as CoreStore};
use pyo3::prelude::*;

use crate::asyncio::spawn;
use crate::convert::options;
use crate::convert::{none, now_or, opt_arg, plain, MAX_TIME};
use crate::errors::run;

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
    #[pyo3(signature = (url=None, *, migrate=None))]
    fn open<'py>(
        py: Python<'py>,
        url: Option<String>,
        migrate: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = run(|| OpenOptions::from_options(options!("Store.open"; migrate)))?;
        let url = url.unwrap_or_else(|| polyauth_core::store::DEFAULT_URL.to_owned());
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
        let now = now_or(now);
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    Ok(())
}
