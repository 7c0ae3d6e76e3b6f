//! `PasswordHasher` and `PasswordPolicy` for Python.

use polyauth_core::password::{
    self, HasherConfig, PasswordHasher as CoreHasher, PasswordPolicy as CorePolicy, PolicyConfig,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use zeroize::Zeroizing;

use crate::asyncio::spawn;
use crate::convert::options;
use crate::errors::{run, run_detached, to_py};
use pyo3::IntoPyObjectExt;

/// Reads a password given as `str` or UTF-8 `bytes`. A `str` with lone surrogates cannot be
/// encoded and is refused as `InvalidInputError` instead of being silently altered.
fn password_arg(obj: &Bound<'_, PyAny>) -> PyResult<Zeroizing<String>> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_cow() {
            Ok(s) => password::password_from_str(&s),
            Err(_) => Err(polyauth_core::Error::InvalidInput(
                "password is not well-formed Unicode (lone surrogate)".into(),
            )),
        }
        .map_err(|e| to_py(py, e));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return password::password_from_utf8(b.as_bytes()).map_err(|e| to_py(py, e));
    }
    Err(PyTypeError::new_err("password must be str or bytes"))
}

fn hash_arg(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(String::from_utf8_lossy(b.as_bytes()).into_owned());
    }
    Err(PyTypeError::new_err("hash must be str or bytes"))
}

/// NIST SP 800-63B password policy: length in code points after NFKC, no composition rules,
/// a blocklist of 20,000 common passwords plus your own, and context words.
#[pyclass(module = "polyauth._native", frozen)]
pub struct PasswordPolicy {
    pub(crate) inner: CorePolicy,
}

#[pymethods]
impl PasswordPolicy {
    #[new]
    #[pyo3(signature = (min_length=None, max_length=None, *, min_length_mfa=None, blocklist=None, context_words=None, use_builtin_blocklist=None))]
    fn new(
        min_length: Option<&Bound<'_, PyAny>>,
        max_length: Option<&Bound<'_, PyAny>>,
        min_length_mfa: Option<&Bound<'_, PyAny>>,
        blocklist: Option<&Bound<'_, PyAny>>,
        context_words: Option<&Bound<'_, PyAny>>,
        use_builtin_blocklist: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let o = options!("PasswordPolicy"; min_length, max_length, min_length_mfa, blocklist, context_words, use_builtin_blocklist);
        run(|| CorePolicy::new(PolicyConfig::from_options(o)?))
            .map(|inner| PasswordPolicy { inner })
    }

    /// Returns the reasons `password` fails the policy as stable codes (`too_short`, `too_long`,
    /// `common_password`, `contains_context_word`, `repetitive`); empty when it passes.
    /// `context` holds per-user values (user name, email); `mfa=True` applies `min_length_mfa`.
    #[pyo3(signature = (password, context=Vec::new(), mfa=false))]
    fn check(
        &self,
        password: &Bound<'_, PyAny>,
        context: Vec<String>,
        mfa: bool,
    ) -> PyResult<Vec<&'static str>> {
        let pw = password_arg(password)?;
        Ok(self.inner.check_codes(&pw, &context, mfa))
    }

    /// Like `check`, but raises `PasswordPolicyError` (with `.reasons`) when the password fails.
    #[pyo3(signature = (password, context=Vec::new(), mfa=false))]
    fn validate(
        &self,
        password: &Bound<'_, PyAny>,
        context: Vec<String>,
        mfa: bool,
    ) -> PyResult<()> {
        let pw = password_arg(password)?;
        run(|| self.inner.validate(&pw, &context, mfa))
    }

    #[getter]
    fn min_length(&self) -> usize {
        self.inner.config().min_length
    }
    #[getter]
    fn min_length_mfa(&self) -> usize {
        self.inner.config().min_length_mfa
    }
    #[getter]
    fn max_length(&self) -> usize {
        self.inner.config().max_length
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "PasswordPolicy(min_length={}, max_length={}, min_length_mfa={}, use_builtin_blocklist={}, blocklist=<{} entries>, context_words=<{} entries>)",
            c.min_length,
            c.max_length,
            c.min_length_mfa,
            if c.use_builtin_blocklist { "True" } else { "False" },
            c.blocklist.len(),
            c.context_words.len()
        )
    }
}

/// Argon2id password hasher (defaults m=19456 KiB, t=2, p=1: the OWASP baseline). Memory below
/// the OWASP table row of the time cost (m=47104/t=1, m=19456/t=2, m=12288/t=3, m=9216/t=4,
/// m=7168/t>=5) raises `InvalidConfigError`.
///
/// `hash`/`verify` release the GIL for the whole computation; `hash_async`/`verify_async` are
/// awaitables that run on a bounded pool (one job per core) without blocking the event loop.
#[pyclass(module = "polyauth._native", frozen)]
pub struct PasswordHasher {
    pub(crate) inner: CoreHasher,
    policy: Py<PasswordPolicy>,
}

#[pymethods]
impl PasswordHasher {
    #[new]
    #[pyo3(signature = (time_cost=None, memory_kib=None, parallelism=None, pepper=None, policy=None, *, max_memory_kib=None))]
    fn new(
        py: Python<'_>,
        time_cost: Option<&Bound<'_, PyAny>>,
        memory_kib: Option<&Bound<'_, PyAny>>,
        parallelism: Option<&Bound<'_, PyAny>>,
        pepper: Option<&Bound<'_, PyAny>>,
        policy: Option<Py<PasswordPolicy>>,
        max_memory_kib: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let o =
            options!("PasswordHasher"; time_cost, memory_kib, parallelism, pepper, max_memory_kib);
        let policy = match policy {
            Some(p) => p,
            None => Py::new(
                py,
                PasswordPolicy {
                    inner: CorePolicy::default(),
                },
            )?,
        };
        let core_policy = policy.get().inner.clone();
        let inner = run(|| CoreHasher::new(HasherConfig::from_options(o)?, core_policy))?;
        Ok(PasswordHasher { inner, policy })
    }

    /// Hashes `password` (NFKC-normalised) into an argon2id PHC string. Does not enforce the
    /// policy: call `policy.check` first where that is your rule.
    fn hash(&self, py: Python<'_>, password: &Bound<'_, PyAny>) -> PyResult<String> {
        let pw = password_arg(password)?;
        run_detached(py, || self.inner.hash(&pw))
    }

    /// True when `password` matches `hash` (argon2id/i/d or a supported legacy format), False
    /// when it does not; raises `InvalidHashError` for a malformed or over-bounds hash (a legacy
    /// hash above the argon2 work budget is refused before any work).
    fn verify(
        &self,
        py: Python<'_>,
        hash: &Bound<'_, PyAny>,
        password: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let stored = hash_arg(hash)?;
        let pw = password_arg(password)?;
        run_detached(py, || self.inner.verify(&stored, &pw))
    }

    /// True when `hash` uses another algorithm, a legacy format or other parameters (always for
    /// an argon2 hash below the OWASP table).
    fn needs_rehash(&self, hash: &Bound<'_, PyAny>) -> PyResult<bool> {
        let stored = hash_arg(hash)?;
        run(|| self.inner.needs_rehash(&stored))
    }

    /// Returns `(valid, new_hash)`: `new_hash` is a fresh argon2id hash to store when the password
    /// is right and `hash` is weak or legacy (bcrypt, Django, Werkzeug, Better Auth), else None.
    fn verify_and_update(
        &self,
        py: Python<'_>,
        hash: &Bound<'_, PyAny>,
        password: &Bound<'_, PyAny>,
    ) -> PyResult<(bool, Option<String>)> {
        let stored = hash_arg(hash)?;
        let pw = password_arg(password)?;
        let out = run_detached(py, || self.inner.verify_and_update(&stored, &pw))?;
        Ok((out.valid, out.new_hash))
    }

    /// Spends the time of one verification, for logins of users that do not exist.
    fn dummy_verify(&self, py: Python<'_>) -> PyResult<()> {
        run_detached(py, || self.inner.dummy_verify())
    }

    /// Awaitable `hash`, run on the bounded hashing pool.
    fn hash_async<'py>(
        &self,
        py: Python<'py>,
        password: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pw = password_arg(password)?;
        let h = self.inner.clone();
        spawn(py, async move { h.hash_async(pw).await }, |py, v| {
            v.into_bound_py_any(py)
        })
    }

    /// Awaitable `verify`, run on the bounded hashing pool.
    fn verify_async<'py>(
        &self,
        py: Python<'py>,
        hash: &Bound<'py, PyAny>,
        password: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let stored = hash_arg(hash)?;
        let pw = password_arg(password)?;
        let h = self.inner.clone();
        spawn(
            py,
            async move { h.verify_async(stored, pw).await },
            |py, v| v.into_bound_py_any(py),
        )
    }

    /// Awaitable `verify_and_update`.
    fn verify_and_update_async<'py>(
        &self,
        py: Python<'py>,
        hash: &Bound<'py, PyAny>,
        password: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let stored = hash_arg(hash)?;
        let pw = password_arg(password)?;
        let h = self.inner.clone();
        spawn(
            py,
            async move { h.verify_and_update_async(stored, pw).await },
            |py, out| (out.valid, out.new_hash).into_bound_py_any(py),
        )
    }

    /// Awaitable `dummy_verify`.
    fn dummy_verify_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.inner.clone();
        spawn(py, async move { h.dummy_verify_async().await }, |py, ()| {
            Ok(py.None().into_bound(py))
        })
    }

    /// Which argon2 engine and kernel this process hashes with:
    /// `{"engine": ..., "backend": ..., "cpu_features": ...}` (diagnostics, benchmark reports).
    #[staticmethod]
    fn engine_info(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
        let info = password::engine_info();
        let d = pyo3::types::PyDict::new(py);
        d.set_item("engine", info.engine)?;
        d.set_item("backend", info.backend)?;
        d.set_item("cpu_features", info.cpu_features)?;
        Ok(d)
    }

    #[getter]
    fn time_cost(&self) -> u32 {
        self.inner.config().time_cost
    }
    #[getter]
    fn memory_kib(&self) -> u32 {
        self.inner.config().memory_kib
    }
    #[getter]
    fn parallelism(&self) -> u32 {
        self.inner.config().parallelism
    }
    #[getter]
    fn max_memory_kib(&self) -> u32 {
        self.inner.config().max_memory_kib
    }
    #[getter]
    fn policy(&self, py: Python<'_>) -> Py<PasswordPolicy> {
        self.policy.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "PasswordHasher(time_cost={}, memory_kib={}, parallelism={}, pepper={})",
            c.time_cost,
            c.memory_kib,
            c.parallelism,
            if c.pepper.is_some() {
                "<redacted>"
            } else {
                "None"
            }
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PasswordPolicy>()?;
    m.add_class::<PasswordHasher>()?;
    m.add("BUILTIN_BLOCKLIST_SIZE", password::builtin_blocklist_len())?;
    Ok(())
}
