//! `Totp` for Python: stateless TOTP primitives (codes, verification, otpauth URIs, QR codes).

use polyauth_core::totp::{self, Totp as CoreTotp, TotpConfig};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::options;
use crate::convert::{opt_arg, str_arg, MAX_TIME};
use crate::errors::run;
use zeroize::Zeroizing;

fn now_or(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| polyauth_core::token::now().max(0) as u64)
}

/// RFC 6238 TOTP: secrets, codes, verification with a replay guard, otpauth URIs and QR codes.
#[pyclass(module = "polyauth._native", frozen)]
pub struct Totp {
    pub(crate) inner: CoreTotp,
}

#[pymethods]
impl Totp {
    #[new]
    #[pyo3(signature = (issuer=None, digits=None, period=None, algorithm=None, window=None))]
    fn new(
        issuer: Option<&Bound<'_, PyAny>>,
        digits: Option<&Bound<'_, PyAny>>,
        period: Option<&Bound<'_, PyAny>>,
        algorithm: Option<&Bound<'_, PyAny>>,
        window: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let o = options!("Totp"; issuer, digits, period, algorithm, window);
        Ok(Totp {
            inner: run(|| CoreTotp::new(TotpConfig::from_options(o)?))?,
        })
    }

    /// A fresh random secret (base32, at least 160 bits).
    fn generate_secret(&self) -> PyResult<String> {
        run(|| self.inner.generate_secret().map(|s| s.as_str().to_owned()))
    }

    /// The code for `secret` at `now` (seconds since the epoch; default: the system clock).
    #[pyo3(signature = (secret, now=None))]
    fn code(
        &self,
        secret: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_TIME>)] now: Option<u64>,
    ) -> PyResult<String> {
        let secret = Zeroizing::new(str_arg(secret, "secret")?);
        run(|| self.inner.code(&secret, now_or(now)))
    }

    /// The matched time step when `code` is valid at `now` (within the window) and later than
    /// `after_step`, else None. Store the step and pass it as `after_step` next time: a code is
    /// then never accepted twice.
    #[pyo3(signature = (secret, code, after_step=None, now=None))]
    fn verify(
        &self,
        secret: &Bound<'_, PyAny>,
        code: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_TIME>)] after_step: Option<u64>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_TIME>)] now: Option<u64>,
    ) -> PyResult<Option<u64>> {
        let secret = Zeroizing::new(str_arg(secret, "secret")?);
        let code = Zeroizing::new(str_arg(code, "code")?);
        run(|| self.inner.verify(&secret, &code, after_step, now_or(now)))
    }

    /// The otpauth:// Key URI for authenticator apps.
    fn uri(&self, secret: &Bound<'_, PyAny>, account: &Bound<'_, PyAny>) -> PyResult<String> {
        let secret = Zeroizing::new(str_arg(secret, "secret")?);
        let account = str_arg(account, "account")?;
        run(|| self.inner.uri(&secret, &account))
    }

    /// Reads an otpauth URI: dict with secret, account, issuer, digits, period, algorithm.
    #[staticmethod]
    fn parse_uri<'py>(py: Python<'py>, uri: &str) -> PyResult<Bound<'py, PyDict>> {
        let p = run(|| CoreTotp::parse_uri(uri))?;
        let d = PyDict::new(py);
        d.set_item("secret", p.secret.as_str())?;
        d.set_item("account", p.account)?;
        d.set_item("issuer", p.issuer)?;
        d.set_item("digits", p.digits)?;
        d.set_item("period", p.period)?;
        d.set_item("algorithm", p.algorithm.name())?;
        Ok(d)
    }

    /// An SVG document of the QR code of `uri`.
    #[staticmethod]
    fn qr_svg(uri: &str) -> PyResult<String> {
        run(|| totp::qr_svg(uri))
    }

    /// PNG bytes of the QR code of `uri`.
    #[staticmethod]
    fn qr_png<'py>(py: Python<'py>, uri: &str) -> PyResult<Bound<'py, PyBytes>> {
        let png = run(|| totp::qr_png(uri))?;
        Ok(PyBytes::new(py, &png))
    }

    /// `data:image/png;base64,...` of the QR code of `uri`, for an `<img src>`.
    #[staticmethod]
    fn qr_data_uri(uri: &str) -> PyResult<String> {
        run(|| totp::qr_data_uri(uri))
    }

    #[getter]
    fn issuer(&self) -> String {
        self.inner.config().issuer.clone()
    }
    #[getter]
    fn digits(&self) -> u8 {
        self.inner.config().digits
    }
    #[getter]
    fn period(&self) -> u64 {
        self.inner.config().period
    }
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.config().algorithm.name()
    }
    #[getter]
    fn window(&self) -> u64 {
        self.inner.config().window
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Totp(issuer={:?}, digits={}, period={}, algorithm={:?}, window={})",
            c.issuer,
            c.digits,
            c.period,
            c.algorithm.name(),
            c.window
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Totp>()
}
