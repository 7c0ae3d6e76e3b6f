//! `Mfa` for Python: the store-backed TOTP second factor. Every call returns an awaitable.

use polyauth_core::mfa::{self, KeyMaterial, Mfa as CoreMfa};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use zeroize::Zeroizing;

use crate::asyncio::spawn;
use crate::convert::options;
use crate::convert::{now_or, opt_arg, str_arg, MAX_TIME};
use crate::errors::run;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::totp::Totp;

/// One key: `str` (base64url/base64 or hex) or bytes-like.
fn key_material(obj: &Bound<'_, PyAny>) -> PyResult<KeyMaterial> {
    if obj.is_instance_of::<PyString>() {
        let text = str_arg(obj, "encryption_key")?;
        return Ok(KeyMaterial::Text(Zeroizing::new(text)));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(KeyMaterial::Bytes(Zeroizing::new(b.as_bytes().to_vec())));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(KeyMaterial::Bytes(Zeroizing::new(b.to_vec())));
    }
    Err(PyTypeError::new_err(
        "encryption_key must be str or bytes, or a list of them",
    ))
}

/// `encryption_key`: one key, or a sequence of keys (the first encrypts, all decrypt).
fn key_materials(obj: &Bound<'_, PyAny>) -> PyResult<Vec<KeyMaterial>> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return obj.try_iter()?.map(|k| key_material(&k?)).collect();
    }
    Ok(vec![key_material(obj)?])
}

/// `throttle_context`: None or a str (its length and content are checked by the core).
pub(crate) fn context_arg(context: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match context {
        Some(c) if !c.is_none() => Ok(Some(str_arg(c, "throttle_context")?)),
        _ => Ok(None),
    }
}

fn strings<'py>(py: Python<'py>, codes: Vec<Zeroizing<String>>) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    for c in &codes {
        list.append(c.as_str())?;
    }
    Ok(list.into_any())
}

/// What `begin_enrollment` returns: the new secret, its otpauth URI and QR code (SVG). Show them
/// once; its repr never contains the secret.
#[pyclass(module = "polyauth._native", frozen, get_all)]
pub struct Enrollment {
    secret: String,
    uri: String,
    qr_svg: String,
    expires_at: i64,
}

impl Drop for Enrollment {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret.zeroize();
        self.uri.zeroize();
    }
}

#[pymethods]
impl Enrollment {
    fn __repr__(&self) -> String {
        format!(
            "Enrollment(expires_at={}, secret=<redacted>, uri=<redacted>)",
            self.expires_at
        )
    }
}

/// The TOTP second factor over a store: enrollment, replay-safe verification, recovery codes.
#[pyclass(module = "polyauth._native", frozen)]
pub struct Mfa {
    pub(crate) inner: CoreMfa,
}

#[pymethods]
impl Mfa {
    #[new]
    #[pyo3(signature = (store, totp, encryption_key, *, enrollment_ttl=None, throttle=None))]
    fn new(
        store: &Store,
        totp: &Totp,
        encryption_key: &Bound<'_, PyAny>,
        enrollment_ttl: Option<&Bound<'_, PyAny>>,
        throttle: Option<&Throttle>,
    ) -> PyResult<Self> {
        let materials = key_materials(encryption_key)?;
        let o = options!("Mfa"; enrollment_ttl);
        let (store, totp) = (store.inner.clone(), totp.inner.clone());
        let throttle = throttle.map(|t| t.inner.clone());
        let inner = run(|| CoreMfa::from_options(store, totp, &materials, throttle, o))?;
        Ok(Mfa { inner })
    }

    /// A fresh random 256-bit encryption key, base64url (keep it in a secret store).
    #[staticmethod]
    fn generate_key() -> PyResult<String> {
        run(|| mfa::generate_key().map(|k| k.as_str().to_owned()))
    }

    /// Starts (or restarts) enrollment; awaitable → Enrollment. A confirmed factor keeps
    /// working until the new one is confirmed.
    #[pyo3(signature = (subject, account, *, now=None))]
    fn begin_enrollment<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        account: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let account = str_arg(account, "account")?;
        let m = self.inner.clone();
        spawn(
            py,
            async move { m.begin_enrollment_at(&subject, &account, now_or(now)).await },
            |py, e| {
                let enrollment = Enrollment {
                    secret: e.secret.as_str().to_owned(),
                    uri: e.uri.as_str().to_owned(),
                    qr_svg: e.qr_svg,
                    expires_at: e.expires_at,
                };
                Bound::new(py, enrollment).map(Bound::into_any)
            },
        )
    }

    /// Confirms the pending enrollment with a code; awaitable → the recovery codes (show once).
    #[pyo3(signature = (subject, code, *, now=None))]
    fn confirm<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        code: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let code = Zeroizing::new(str_arg(code, "code")?);
        let m = self.inner.clone();
        spawn(
            py,
            async move { m.confirm_at(&subject, &code, now_or(now)).await },
            strings,
        )
    }

    /// Checks a code of the confirmed factor, once; awaitable → the accepted time step.
    /// `throttle_context` (e.g. the client IP) counts failures per subject and context.
    #[pyo3(signature = (subject, code, *, now=None, throttle_context=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        code: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
        throttle_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let code = Zeroizing::new(str_arg(code, "code")?);
        let context = context_arg(throttle_context)?;
        let m = self.inner.clone();
        spawn(
            py,
            async move {
                m.verify_in(&subject, &code, context.as_deref(), now_or(now))
                    .await
            },
            |py, step| step.into_bound_py_any(py),
        )
    }

    /// Consumes a recovery code; awaitable → how many unused codes remain.
    /// `throttle_context` as in `verify`.
    #[pyo3(signature = (subject, code, *, now=None, throttle_context=None))]
    fn verify_recovery_code<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        code: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
        throttle_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let code = Zeroizing::new(str_arg(code, "code")?);
        let context = context_arg(throttle_context)?;
        let m = self.inner.clone();
        spawn(
            py,
            async move {
                m.verify_recovery_code_in(&subject, &code, context.as_deref(), now_or(now))
                    .await
            },
            |py, left| left.into_bound_py_any(py),
        )
    }

    /// The throttle key `verify` counts a subject's failures under (within `throttle_context`),
    /// e.g. to unlock it with `Throttle.reset`.
    #[staticmethod]
    #[pyo3(signature = (subject, throttle_context=None))]
    fn throttle_key(
        subject: &Bound<'_, PyAny>,
        throttle_context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let subject = str_arg(subject, "subject")?;
        let context = context_arg(throttle_context)?;
        Ok(mfa::throttle_key_in(&subject, context.as_deref()))
    }

    /// New recovery codes for the confirmed factor (the old ones stop working); awaitable.
    fn regenerate_recovery_codes<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let m = self.inner.clone();
        spawn(
            py,
            async move { m.regenerate_recovery_codes(&subject).await },
            strings,
        )
    }

    /// Removes the factor, any pending enrollment and the recovery codes; awaitable → whether
    /// there was anything to remove.
    fn disable<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let m = self.inner.clone();
        spawn(py, async move { m.disable(&subject).await }, |py, b| {
            b.into_bound_py_any(py)
        })
    }

    /// The subject's second factor (``pending`` judged at ``now``); awaitable → dict with
    /// ``enabled``, ``pending``, ``confirmed_at``, ``last_used_at`` and
    /// ``recovery_codes_remaining``.
    #[pyo3(signature = (subject, *, now=None))]
    fn status<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let m = self.inner.clone();
        let fut = async move { m.status_at(&subject, now_or(now)).await };
        spawn(py, fut, |py, s| {
            let d = PyDict::new(py);
            d.set_item("enabled", s.enabled)?;
            d.set_item("pending", s.pending)?;
            d.set_item("confirmed_at", s.confirmed_at)?;
            d.set_item("last_used_at", s.last_used_at)?;
            d.set_item("recovery_codes_remaining", s.recovery_codes_remaining)?;
            Ok(d.into_any())
        })
    }

    /// Ids of the encryption keys, the encrypting one first (they reveal nothing of the keys).
    #[getter]
    fn key_ids(&self) -> Vec<String> {
        self.inner.key_ids()
    }

    fn __repr__(&self) -> String {
        format!(
            "Mfa(backend={:?}, key_ids={:?}, enrollment_ttl={})",
            self.inner.store().backend(),
            self.inner.key_ids(),
            self.inner.config().enrollment_ttl
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Enrollment>()?;
    m.add_class::<Mfa>()
}
