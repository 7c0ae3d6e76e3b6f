//! `Throttle` for Python (failure counters shared through a `Store`; awaitables).

use polyauth_core::throttle::{Throttle as CoreThrottle, ThrottleConfig};
use pyo3::prelude::*;

use crate::asyncio::spawn;
use crate::convert::options;
use crate::convert::{none, now_or, opt_arg, plain, str_arg, MAX_TIME};
use crate::errors::run;
use crate::store::Store;

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
    #[pyo3(signature = (store, *, free_attempts=None, base_delay=None, max_delay=None, max_failures=None, reset_after=None))]
    fn new(
        store: &Store,
        free_attempts: Option<&Bound<'_, PyAny>>,
        base_delay: Option<&Bound<'_, PyAny>>,
        max_delay: Option<&Bound<'_, PyAny>>,
        max_failures: Option<&Bound<'_, PyAny>>,
        reset_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let o =
            options!("Throttle"; free_attempts, base_delay, max_delay, max_failures, reset_after);
        Ok(Throttle {
            inner: run(|| {
                CoreThrottle::new(store.inner.clone(), ThrottleConfig::from_options(o)?)
            })?,
        })
    }

    /// Raises `RateLimitedError` (with `retry_after` seconds) while `key` is locked at `now`
    /// (seconds; default: the system clock); awaitable.
    #[pyo3(signature = (key, *, now=None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        let now = now_or(now);
        spawn(py, async move { t.check_at(&key, now).await }, none)
    }

    /// Records a failure at `now` (seconds; default: the system clock); awaitable →
    /// (failures, locked_until).
    #[pyo3(signature = (key, *, now=None))]
    fn fail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        let now = now_or(now);
        spawn(
            py,
            async move {
                t.fail_at(&key, now)
                    .await
                    .map(|c| (c.failures, c.locked_until))
            },
            plain,
        )
    }

    /// Reserves an attempt in one atomic step: raises `RateLimitedError` while `key` is locked,
    /// otherwise counts the attempt as a failure right away (call `reset` after a success), so
    /// concurrent attempts cannot all pass before any is counted; `now` (seconds) injects the
    /// clock; awaitable → (failures, locked_until).
    #[pyo3(signature = (key, *, now=None))]
    fn attempt<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = str_arg(key, "key")?;
        let t = self.inner.clone();
        let now = now_or(now);
        spawn(
            py,
            async move {
                t.attempt_at(&key, now)
                    .await
                    .map(|c| (c.failures, c.locked_until))
            },
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
    m.add_class::<Throttle>()?;
    Ok(())
}
