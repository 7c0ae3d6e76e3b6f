//! `OneTimeTokens` for Python (single-use, purpose-bound tokens over a `Store`; awaitables).

use polyauth_core::onetime::OneTimeTokens as CoreOneTime;
use polyauth_core::onetime::DEFAULT_TTL;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use serde_json::Value;

use crate::asyncio::spawn;
use crate::convert::{now_or, opt_arg, plain, str_arg, to_python, MAX_SECONDS, MAX_TIME};
use crate::store::Store;

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

    /// Issues a `pot_...` token for `subject` and `purpose`, valid `ttl` seconds from `now`
    /// (seconds; default: the system clock); awaitable → str.
    #[pyo3(signature = (subject, purpose, ttl=None, data=None, *, now=None))]
    fn issue<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        purpose: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_SECONDS>)] ttl: Option<u64>,
        data: Option<&Bound<'py, PyAny>>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
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
        let now = now_or(now);
        spawn(
            py,
            async move {
                o.issue_at(&subject, &purpose, ttl.unwrap_or(DEFAULT_TTL), data, now)
                    .await
            },
            plain,
        )
    }

    /// Consumes `token` for `purpose`, once; awaitable → (subject, data). Wrong purpose raises
    /// `InvalidTypeError`, expiry `TokenExpiredError`, reuse `TokenUsedError`. `now` (seconds)
    /// injects the clock.
    #[pyo3(signature = (token, purpose, *, now=None))]
    fn consume<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        purpose: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let purpose = str_arg(purpose, "purpose")?;
        let token = str_arg(token, "token")?;
        let o = self.inner.clone();
        let now = now_or(now);
        spawn(
            py,
            async move { o.consume_at(&token, &purpose, now).await },
            subject_and_data,
        )
    }

    /// What `consume` would return now, without spending the token (the same errors);
    /// awaitable → (subject, data). Never a substitute for `consume`: two peeks can both
    /// succeed, one consumption only. `now` (seconds) injects the clock.
    #[pyo3(signature = (token, purpose, *, now=None))]
    fn peek<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        purpose: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let purpose = str_arg(purpose, "purpose")?;
        let token = str_arg(token, "token")?;
        let o = self.inner.clone();
        let now = now_or(now);
        spawn(
            py,
            async move { o.peek_at(&token, &purpose, now).await },
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<OneTimeTokens>()?;
    Ok(())
}
