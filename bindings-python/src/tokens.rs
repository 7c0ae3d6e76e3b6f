//! `KeySet`, `RemoteKeySet` and `Tokens` for Python. Token operations take microseconds, so they
//! run inline (no thread-pool hop); keys were parsed when the set was built.

use polyauth_core::jws;
use polyauth_core::keys::{Alg, KeySet as CoreKeySet};
use polyauth_core::remote::{RemoteConfig, RemoteKeySet as CoreRemote};
use polyauth_core::token::{self, KeySource, Tokens as CoreTokens, TokensConfig, VerifyOptions};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use zeroize::Zeroizing;

use crate::convert::options;
use crate::convert::{opt_arg, MAX_SECONDS, MAX_TIME};
use crate::errors::{run, to_py};

fn alg_arg(alg: Option<&str>) -> PyResult<Option<Alg>> {
    alg.map(|a| run(|| Alg::parse(a))).transpose()
}

/// Text given as `str` or UTF-8 `bytes` (PEM, JWKS, secrets).
fn text_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Zeroizing<String>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Zeroizing::new(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return std::str::from_utf8(b.as_bytes())
            .map(|s| Zeroizing::new(s.to_owned()))
            .map_err(|_| {
                to_py(
                    obj.py(),
                    polyauth_core::Error::InvalidKey(format!("{what} is not UTF-8")),
                )
            });
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    pythonize::depythonize(obj)
        .map_err(|e| PyTypeError::new_err(format!("not JSON-compatible: {e}")))
}

/// A set of signing/verification keys, parsed once. Clones share state: `rotate` is seen by
/// every `Tokens` built on the set.
#[pyclass(module = "polyauth._native", frozen)]
pub struct KeySet {
    pub(crate) inner: CoreKeySet,
}

#[pymethods]
impl KeySet {
    /// A set with one new key: EdDSA (default), ES256, ES384, ES512, PS256/384/512, HS256/384/512.
    #[staticmethod]
    #[pyo3(signature = (alg=None, *, kid=None))]
    fn generate(py: Python<'_>, alg: Option<&str>, kid: Option<String>) -> PyResult<Self> {
        let alg = alg_arg(alg)?.unwrap_or(polyauth_core::keys::DEFAULT_ALG);
        // RSA generation takes long enough to matter: let other threads run.
        let inner = crate::errors::run_detached(py, || CoreKeySet::generate(alg, kid))?;
        Ok(KeySet { inner })
    }

    /// A set from a JWKS or a single JWK, as JSON text or a dict. `alg` fills in keys without one.
    #[staticmethod]
    #[pyo3(signature = (jwks, *, alg=None))]
    fn from_jwks(jwks: &Bound<'_, PyAny>, alg: Option<&str>) -> PyResult<Self> {
        let alg = alg_arg(alg)?;
        let inner = if jwks.is_instance_of::<PyDict>() {
            let v = to_value(jwks)?;
            run(|| CoreKeySet::from_jwks_value(&v, alg))?
        } else {
            let text = text_arg(jwks, "jwks")?;
            run(|| CoreKeySet::from_jwks(&text, alg))?
        };
        Ok(KeySet { inner })
    }

    /// A set from one PEM key: PKCS#8 private or SPKI public. RSA keys need `alg`.
    #[staticmethod]
    #[pyo3(signature = (pem, *, alg=None, kid=None))]
    fn from_pem(pem: &Bound<'_, PyAny>, alg: Option<&str>, kid: Option<String>) -> PyResult<Self> {
        let text = text_arg(pem, "pem")?;
        let alg = alg_arg(alg)?;
        Ok(KeySet {
            inner: run(|| CoreKeySet::from_pem(&text, alg, kid))?,
        })
    }

    /// A set with one HMAC key; the secret must be at least the hash size (32 bytes for HS256)
    /// and must not be key text (PEM, OpenSSH, JWK). The kid defaults to 128 random bits.
    #[staticmethod]
    #[pyo3(signature = (secret, *, alg=None, kid=None))]
    fn from_secret(
        secret: &Bound<'_, PyAny>,
        alg: Option<&str>,
        kid: Option<String>,
    ) -> PyResult<Self> {
        let bytes = if let Ok(b) = secret.cast::<PyBytes>() {
            Zeroizing::new(b.as_bytes().to_vec())
        } else {
            Zeroizing::new(text_arg(secret, "secret")?.as_bytes().to_vec())
        };
        let alg = alg_arg(alg)?.unwrap_or(polyauth_core::keys::DEFAULT_SECRET_ALG);
        Ok(KeySet {
            inner: run(|| CoreKeySet::from_secret(&bytes, alg, kid))?,
        })
    }

    /// Loads JWKS or PEM from `path`, or from the environment variable `env` (or the file named by
    /// `{env}_FILE`, the Docker secrets convention).
    #[staticmethod]
    #[pyo3(signature = (*, path=None, env=None, alg=None))]
    fn load(
        path: Option<std::path::PathBuf>,
        env: Option<&str>,
        alg: Option<&str>,
    ) -> PyResult<Self> {
        let alg = alg_arg(alg)?;
        let path = path.map(|p| p.to_string_lossy().into_owned());
        Ok(KeySet {
            inner: run(|| CoreKeySet::load(path.as_deref(), env, alg))?,
        })
    }

    /// The JWKS as a dict: public keys only (HMAC keys omitted) unless `private=True`.
    #[pyo3(signature = (*, private=false))]
    fn to_jwks<'py>(&self, py: Python<'py>, private: bool) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::value(py, &self.inner.to_jwks(private))
    }

    /// One key as PEM (the signing key unless `kid`): SPKI, or PKCS#8 with `private=True`.
    #[pyo3(signature = (kid=None, *, private=false))]
    fn to_pem(&self, kid: Option<&str>, private: bool) -> PyResult<String> {
        run(|| {
            self.inner
                .to_pem(kid, private)
                .map(|p| p.as_str().to_owned())
        })
    }

    /// Adds a new signing key (same algorithm unless `alg`); old keys stay to verify. Returns its kid.
    #[pyo3(signature = (alg=None))]
    fn rotate(&self, py: Python<'_>, alg: Option<&str>) -> PyResult<String> {
        let alg = alg_arg(alg)?;
        crate::errors::run_detached(py, || self.inner.rotate(alg))
    }

    /// Removes a verify-only key.
    fn retire(&self, kid: &str) -> PyResult<()> {
        run(|| self.inner.retire(kid))
    }

    /// Verifies a compact JWS against the set; returns `(header, payload)`: the protected header
    /// as a dict (check its `typ` when more than one kind of JWS is signed with these keys) and
    /// the payload bytes. No claim is checked.
    #[pyo3(signature = (token, *, max_size=None))]
    fn verify_jws<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        #[pyo3(from_py_with = opt_arg::<usize, { jws::MAX_SIZE_LIMIT as u64 }>)] max_size: Option<
            usize,
        >,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyBytes>)> {
        let max_size = max_size.unwrap_or(jws::DEFAULT_MAX_SIZE);
        let (header, payload) = run(|| jws::verify(token, &self.inner, max_size))?;
        Ok((
            crate::convert::object(py, &header.protected)?,
            PyBytes::new(py, &payload),
        ))
    }

    /// The kid of the key that signs.
    #[getter]
    fn signing_kid(&self) -> Option<String> {
        self.inner.signing_kid()
    }

    /// Every kid in the set, the signing key first.
    #[getter]
    fn kids(&self) -> Vec<String> {
        self.inner.kids()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        let keys: Vec<String> = self
            .inner
            .kids()
            .iter()
            .filter_map(|k| self.inner.get(k))
            .map(|k| format!("{}:{}", k.alg().name(), k.kid()))
            .collect();
        let signing = self
            .inner
            .signing_kid()
            .map_or("None".to_owned(), |k| format!("{k:?}"));
        format!("KeySet([{}], signing_kid={signing})", keys.join(", "))
    }
}

/// A JWKS URL with caching (see `polyauth.RemoteKeySet` for fetching). The policy (https only,
/// cooldown floor, max_stale, size cap) is the core's; the Python layer only does the HTTP.
#[pyclass(module = "polyauth._native", subclass, frozen)]
pub struct RemoteKeySet {
    pub(crate) inner: CoreRemote,
}

#[pymethods]
impl RemoteKeySet {
    #[new]
    #[pyo3(signature = (url, *, cache_ttl=None, cooldown=None, timeout=None, max_stale=None, allow_insecure_http=None))]
    fn new(
        url: String,
        cache_ttl: Option<&Bound<'_, PyAny>>,
        cooldown: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_stale: Option<&Bound<'_, PyAny>>,
        allow_insecure_http: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let o =
            options!("RemoteKeySet"; cache_ttl, cooldown, timeout, max_stale, allow_insecure_http);
        Ok(RemoteKeySet {
            inner: run(|| CoreRemote::new(RemoteConfig::from_options(url, o)?))?,
        })
    }

    /// The JWKS URL as configured (credentials included: `repr` redacts them).
    #[getter]
    fn url(&self) -> String {
        self.inner.config().url.clone()
    }

    /// Deadline of one whole fetch, seconds.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.config().timeout_ms as f64 / 1000.0
    }

    /// Seconds after the last successful fetch during which the cached keys still verify.
    #[getter]
    fn max_stale(&self) -> u64 {
        self.inner.config().max_stale
    }

    /// The cached keys, or None before the first successful fetch.
    #[getter]
    fn keys(&self) -> Option<KeySet> {
        self.inner.current().map(|inner| KeySet { inner })
    }

    /// Largest JWKS body read, in bytes.
    #[getter]
    fn _max_bytes(&self) -> usize {
        polyauth_core::remote::MAX_JWKS_BYTES
    }

    /// Records a fetch attempt when one is due (first use, stale, unknown kid past the cooldown).
    #[pyo3(signature = (kid=None))]
    fn _begin_fetch(&self, kid: Option<&str>) -> bool {
        self.inner.begin_fetch(kid, token::now())
    }

    /// Raises `JwksUnavailableError` when a declared Content-Length is over the size cap.
    fn _check_length(&self, declared: u64) -> PyResult<()> {
        run(|| self.inner.check_length(declared))
    }

    /// Records a failed fetch and raises `JwksUnavailableError` with the short `reason`.
    fn _fail(&self, reason: &str) -> PyResult<()> {
        run(|| Err(self.inner.fail(reason)))
    }

    /// Takes a fetched JWKS body; raises `JwksUnavailableError` (keeping the previous keys) when
    /// it is unusable.
    fn _complete(&self, body: &[u8]) -> PyResult<()> {
        run(|| self.inner.complete(body, token::now()))
    }

    fn __repr__(&self) -> String {
        format!("RemoteKeySet({:?})", self.inner.redacted_url())
    }
}

fn audience_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(vec![s]);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "audience must be a str or a sequence of str",
        ));
    }
    obj.extract::<Vec<String>>()
        .map_err(|_| PyTypeError::new_err("audience must be a str or a sequence of str"))
}

/// Issues and verifies access tokens (compact JWS, RFC 9068 claims, `typ: at+jwt`).
#[pyclass(module = "polyauth._native", subclass, frozen)]
pub struct Tokens {
    pub(crate) inner: CoreTokens,
    keys: Py<PyAny>,
}

#[pymethods]
impl Tokens {
    #[new]
    #[pyo3(signature = (keys, *, issuer, audience, access_ttl=None, leeway=None, max_token_size=None, allow_rsa_pkcs1_signing=None, verify_cache=None, require_typ=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        keys: &Bound<'_, PyAny>,
        issuer: &Bound<'_, PyAny>,
        audience: &Bound<'_, PyAny>,
        access_ttl: Option<&Bound<'_, PyAny>>,
        leeway: Option<&Bound<'_, PyAny>>,
        max_token_size: Option<&Bound<'_, PyAny>>,
        allow_rsa_pkcs1_signing: Option<&Bound<'_, PyAny>>,
        verify_cache: Option<&Bound<'_, PyAny>>,
        require_typ: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let source = if let Ok(k) = keys.cast::<KeySet>() {
            KeySource::Local(k.get().inner.clone())
        } else if let Ok(r) = keys.cast::<RemoteKeySet>() {
            KeySource::Remote(r.get().inner.clone())
        } else {
            return Err(PyTypeError::new_err(
                "keys must be a KeySet or a RemoteKeySet",
            ));
        };
        let (issuer, audience) = (Some(issuer), Some(audience));
        let o = options!("Tokens"; issuer, audience, access_ttl, leeway, max_token_size, allow_rsa_pkcs1_signing, verify_cache, require_typ);
        let inner = run(|| CoreTokens::new(source, TokensConfig::from_options(o)?))?;
        Ok(Tokens {
            inner,
            keys: keys.clone().unbind(),
        })
    }

    /// Issues an access token for `subject`; `claims` adds application claims (`sid`, `scope`,
    /// `amr`, roles, ...); `ttl` (seconds) overrides `access_ttl`.
    #[pyo3(signature = (subject, claims=None, *, ttl=None))]
    fn issue(
        &self,
        subject: &Bound<'_, PyAny>,
        claims: Option<&Bound<'_, PyDict>>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_SECONDS>)] ttl: Option<u64>,
    ) -> PyResult<String> {
        let subject = crate::convert::str_arg(subject, "subject")?;
        let claims = match claims {
            None => serde_json::Map::new(),
            Some(d) => match to_value(d.as_any())? {
                serde_json::Value::Object(m) => m,
                _ => return Err(PyTypeError::new_err("claims must be a dict")),
            },
        };
        run(|| self.inner.issue(&subject, claims, ttl))
    }

    /// Verifies `token` and returns its claims. `typ=None` relaxes the `typ` check (tokens from
    /// other issuers); `now` injects the clock (seconds since the epoch).
    #[pyo3(signature = (token, *, audience=None, typ=VerifyOptions::default().typ, required=VerifyOptions::default().required, now=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        audience: Option<&Bound<'py, PyAny>>,
        typ: Option<String>,
        required: Vec<String>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = token
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("token must be a str"))?
            .to_cow()
            // A str that cannot be UTF-8 (lone surrogates) is no compact JWS: `invalid_token`, as
            // Node reports for the same string, not a bare UnicodeEncodeError.
            .map_err(|_| {
                to_py(
                    py,
                    polyauth_core::Error::InvalidToken("not a compact JWS".into()),
                )
            })?;
        let options = VerifyOptions {
            audience: audience.map(audience_arg).transpose()?,
            typ,
            required,
            now,
        };
        // Shared with the verified-token cache: converted from there, never copied first.
        let claims = run(|| self.inner.verify_shared(&token, &options))?;
        crate::convert::object(py, &claims).map(Bound::into_any)
    }

    /// The key set or remote key set given at construction.
    #[getter]
    fn keys(&self, py: Python<'_>) -> Py<PyAny> {
        self.keys.clone_ref(py)
    }

    #[getter]
    fn issuer(&self) -> String {
        self.inner.config().issuer.clone()
    }

    /// Whether a token without a `typ` header is refused (`require_typ=False` accepts one; a
    /// `typ` that is present must still match).
    #[getter]
    fn require_typ(&self) -> bool {
        self.inner.config().require_typ
    }

    #[getter]
    fn audience(&self) -> Vec<String> {
        self.inner.config().audience.clone()
    }

    /// How many verified tokens the verified-token cache holds (for tests).
    #[getter]
    fn _cached_tokens(&self) -> usize {
        self.inner.cached_tokens()
    }

    /// For remote key sets: whether a JWKS fetch is due before verifying `token`.
    fn _remote_fetch_due(&self, token: &str) -> bool {
        self.inner.remote_fetch_due(token, token::now())
    }

    fn __repr__(&self) -> String {
        format!(
            "Tokens(issuer={:?}, audience={:?})",
            self.inner.config().issuer,
            self.inner.config().audience
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KeySet>()?;
    m.add_class::<RemoteKeySet>()?;
    m.add_class::<Tokens>()?;
    Ok(())
}
