//! `SignIn` for Python: the core sign-in flow over the built-in `Accounts` or an application's
//! own account source (any object with `find(login)` and `set_password_hash(subject, hash)`).
//!
//! An application's methods may be plain functions or return awaitables. Each call runs on a
//! tokio blocking thread that holds the GIL only to call the method; an awaitable result is run
//! on the event loop of the `SignIn` call (`asyncio.run_coroutine_threadsafe`, see
//! `polyauth/_asyncio.py`), and its done-callback feeds a tokio oneshot with the converted
//! result, so no Python object crosses to the core. An exception raised by the application
//! becomes `store_unavailable` ("account source find failed: <ExceptionType>", the type alone:
//! its message may hold secrets) with the exception as `__cause__`; a result of the wrong shape
//! is `invalid_config` naming the method and the field.

use std::fmt;
use std::sync::{Arc, Mutex};

use polyauth_core::password::{
    HasherConfig, PasswordHasher as CoreHasher, PasswordPolicy as CorePolicy,
};
use polyauth_core::signin::{
    AccountSource, AppAccount, BoxFuture, SecondFactorOutcome, SignIn as CoreSignIn, SignInResult,
};
use polyauth_core::Error;
use pyo3::exceptions::{PyAttributeError, PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyMapping, PyString};
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::accounts::{account, secret_arg, Accounts};
use crate::asyncio::{spawn_calling_python, CallContext};
use crate::convert::{map_arg, now_or, opt_arg, str_arg, MAX_SECONDS, MAX_TIME};
use crate::errors::{run, to_py};
use crate::mfa::{context_arg, Mfa};
use crate::onetime::OneTimeTokens;
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::sessions::{pair, Sessions};
use crate::throttle::Throttle;

// ---- the application's account source ------------------------------------------------------

/// Why an application method's call did not give a usable result.
enum Failure {
    /// It raised (or its awaitable did): `store_unavailable`, the exception as the cause.
    Raised(PyErr),
    /// It returned something of the wrong shape: `invalid_config` with this description.
    Shape(String),
}

type Converter<T> = fn(&Bound<'_, PyAny>) -> Result<T, Failure>;

/// Delivers the outcome of one application call to the waiting core task.
struct Delivery<T> {
    tx: oneshot::Sender<polyauth_core::Result<T>>,
    method: &'static str,
    convert: Converter<T>,
    context: Option<Arc<CallContext>>,
}

impl<T> Delivery<T> {
    /// Converts what the method returned (or its awaitable produced) and sends it.
    fn finish(self, py: Python<'_>, outcome: PyResult<Bound<'_, PyAny>>) {
        let converted = outcome
            .map_err(Failure::Raised)
            .and_then(|v| (self.convert)(&v));
        let result = match converted {
            Ok(v) => Ok(v),
            Err(Failure::Shape(why)) => Err(Error::InvalidConfig(format!(
                "account source {} returned {why}",
                self.method
            ))),
            Err(Failure::Raised(e)) => {
                let kind = e
                    .get_type(py)
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "an exception".into());
                let message = format!("account source {} failed: {kind}", self.method);
                if let Some(c) = &self.context {
                    c.set_cause(Error::StoreUnavailable(message.clone()).to_string(), e);
                }
                Err(Error::StoreUnavailable(message))
            }
        };
        // The core task may be gone (its caller dropped it): nothing is waiting then.
        let _ = self.tx.send(result);
    }
}

type DeliverFn = dyn for<'py> FnOnce(Python<'py>, PyResult<Bound<'py, PyAny>>) + Send;

/// The done-callback of an awaitable run on the caller's event loop: reads the finished
/// `concurrent.futures.Future` and hands the converted outcome to the core task.
#[pyclass(module = "polyauth._native", frozen)]
struct SourceDone {
    deliver: Mutex<Option<Box<DeliverFn>>>,
}

#[pymethods]
impl SourceDone {
    fn __call__(&self, future: &Bound<'_, PyAny>) {
        let deliver = self.deliver.lock().ok().and_then(|mut d| d.take());
        if let Some(deliver) = deliver {
            deliver(future.py(), future.call_method0("result"));
        }
    }
}

static SUBMIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `polyauth._asyncio._submit(loop, result, done)`.
fn submitter(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    SUBMIT
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("polyauth._asyncio")?.getattr("_submit")?.unbind())
        })
        .map(|s| s.bind(py))
}

/// Calls `method` of the application's object with `args` and waits for its result (running a
/// returned awaitable on the caller's event loop).
async fn call_source<T: Send + 'static>(
    obj: Arc<Py<PyAny>>,
    method: &'static str,
    args: (String, Option<String>),
    convert: Converter<T>,
) -> polyauth_core::Result<T> {
    let (tx, rx) = oneshot::channel();
    let context = CallContext::current();
    let started = tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            let delivery = Delivery {
                tx,
                method,
                convert,
                context: context.clone(),
            };
            let called = match &args {
                (a, None) => obj.bind(py).call_method1(method, (a.as_str(),)),
                (a, Some(b)) => obj.bind(py).call_method1(method, (a.as_str(), b.as_str())),
            };
            let result = match called {
                Ok(r) => r,
                Err(e) => return delivery.finish(py, Err(e)),
            };
            let Some(context) = context else {
                return delivery.finish(py, Ok(result));
            };
            // Only an awaitable is scheduled; a plain value is converted right here.
            let pending = Arc::new(Mutex::new(Some(delivery)));
            let later = Arc::clone(&pending);
            let done = SourceDone {
                deliver: Mutex::new(Some(Box::new(move |py, outcome| {
                    if let Some(d) = later.lock().ok().and_then(|mut d| d.take()) {
                        d.finish(py, outcome);
                    }
                }))),
            };
            let submitted = Bound::new(py, done).and_then(|done| {
                submitter(py)?
                    .call1((context.event_loop.bind(py), &result, done))?
                    .extract::<bool>()
            });
            let now = match submitted {
                Ok(true) => None,
                Ok(false) => Some(Ok(result)),
                Err(e) => Some(Err(e)),
            };
            if let Some(outcome) = now {
                if let Some(d) = pending.lock().ok().and_then(|mut d| d.take()) {
                    d.finish(py, outcome);
                }
            }
        })
    })
    .await;
    if started.is_err() {
        return Err(Error::Internal(
            "internal error (a bug in polyauth; please report it)".into(),
        ));
    }
    rx.await.unwrap_or_else(|_| {
        Err(Error::StoreUnavailable(format!(
            "account source {method} failed: its awaitable never completed"
        )))
    })
}

/// One field of an application's account: an attribute, or a key of a Mapping; `None` when
/// absent.
fn field<'py>(found: &Bound<'py, PyAny>, name: &str) -> Result<Option<Bound<'py, PyAny>>, Failure> {
    let py = found.py();
    let got = match found.cast::<PyMapping>() {
        Ok(m) => match m.get_item(name) {
            Err(e) if e.is_instance_of::<PyKeyError>(py) => return Ok(None),
            other => other,
        },
        Err(_) => match found.getattr(name) {
            Err(e) if e.is_instance_of::<PyAttributeError>(py) => return Ok(None),
            other => other,
        },
    };
    got.map(|v| (!v.is_none()).then_some(v))
        .map_err(Failure::Raised)
}

fn text(v: &Bound<'_, PyAny>, name: &str) -> Result<String, Failure> {
    let s = v
        .cast::<PyString>()
        .map_err(|_| Failure::Shape(format!("an account whose {name} is not a str")))?;
    s.to_cow().map(|c| c.into_owned()).map_err(|_| {
        Failure::Shape(format!(
            "an account whose {name} is not well-formed Unicode"
        ))
    })
}

/// `find`'s result: None, or an object (or Mapping) with `subject`, `password_hash`, optional
/// `disabled` and `claims`.
fn app_account(found: &Bound<'_, PyAny>) -> Result<Option<AppAccount>, Failure> {
    if found.is_none() {
        return Ok(None);
    }
    let subject = match field(found, "subject")? {
        Some(s) => text(&s, "subject")?,
        None => {
            return Err(Failure::Shape(
                "an account without a subject (a str)".into(),
            ))
        }
    };
    let password_hash = field(found, "password_hash")?
        .map(|h| text(&h, "password_hash"))
        .transpose()?;
    let disabled = match field(found, "disabled")? {
        None => false,
        Some(d) => d
            .cast::<PyBool>()
            .map(|b| b.is_true())
            .map_err(|_| Failure::Shape("an account whose disabled is not a bool".into()))?,
    };
    let claims = match field(found, "claims")? {
        None => Map::new(),
        Some(c) => match c
            .cast::<PyDict>()
            .ok()
            .map(|d| pythonize::depythonize::<Value>(d))
        {
            Some(Ok(Value::Object(m))) => m,
            _ => {
                return Err(Failure::Shape(
                    "an account whose claims are not a JSON-compatible dict".into(),
                ))
            }
        },
    };
    Ok(Some(AppAccount {
        subject,
        password_hash,
        disabled,
        claims,
    }))
}

/// `set_password_hash`'s result is not used.
fn ignored(_: &Bound<'_, PyAny>) -> Result<(), Failure> {
    Ok(())
}

/// An application's account source: the Python object, called as described in the module.
struct PySource {
    obj: Arc<Py<PyAny>>,
    /// The type name of the object, for repr.
    kind: String,
}

impl fmt::Debug for PySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PySource")
            .field("kind", &self.kind)
            .finish()
    }
}

impl AccountSource for PySource {
    fn find<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFuture<'a, polyauth_core::Result<Option<AppAccount>>> {
        Box::pin(call_source(
            Arc::clone(&self.obj),
            "find",
            (login.to_owned(), None),
            app_account,
        ))
    }

    fn set_password_hash<'a>(
        &'a self,
        subject: &'a str,
        password_hash: &'a str,
    ) -> BoxFuture<'a, polyauth_core::Result<()>> {
        Box::pin(call_source(
            Arc::clone(&self.obj),
            "set_password_hash",
            (subject.to_owned(), Some(password_hash.to_owned())),
            ignored,
        ))
    }
}

// ---- SignIn ---------------------------------------------------------------------------------

fn has_method(obj: &Bound<'_, PyAny>, name: &str) -> bool {
    obj.getattr(name).is_ok_and(|m| m.is_callable())
}

fn sign_in_result(py: Python<'_>, r: SignInResult) -> PyResult<Bound<'_, PyAny>> {
    let d = PyDict::new(py);
    match r {
        SignInResult::Ok(p) => {
            d.set_item("status", "ok")?;
            d.set_item("pair", pair(py, p)?)?;
        }
        SignInResult::MfaRequired { mfa_token } => {
            d.set_item("status", "mfa_required")?;
            d.set_item("mfa_token", mfa_token)?;
        }
    }
    Ok(d.into_any())
}

/// `Retry` is raised: the error, with the fresh token and the tries left as attributes (never in
/// its message or repr).
fn second_factor_result(py: Python<'_>, o: SecondFactorOutcome) -> PyResult<Bound<'_, PyAny>> {
    match o {
        SecondFactorOutcome::Signed(p) => pair(py, p),
        SecondFactorOutcome::Retry {
            error,
            mfa_token,
            tries_left,
        } => {
            let err = to_py(py, error);
            let value = err.value(py);
            value.setattr("mfa_token", mfa_token)?;
            value.setattr("tries_left", tries_left)?;
            Err(err)
        }
    }
}

fn optional_str(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    match obj {
        Some(o) if !o.is_none() => str_arg(o, what).map(Some),
        _ => Ok(None),
    }
}

/// The sign-in flow: the password step, the second factor, password reset and email
/// verification, over the built-in accounts or an application's own.
#[pyclass(module = "polyauth._native", frozen)]
pub struct SignIn {
    inner: CoreSignIn,
    accounts: Option<Py<Accounts>>,
    source_kind: Option<String>,
}

#[pymethods]
impl SignIn {
    #[new]
    #[pyo3(signature = (accounts, sessions, *, mfa=None, throttle=None, one_time=None, hasher=None, policy=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        accounts: &Bound<'_, PyAny>,
        sessions: &Sessions,
        mfa: Option<&Mfa>,
        throttle: Option<&Throttle>,
        one_time: Option<&OneTimeTokens>,
        hasher: Option<&PasswordHasher>,
        policy: Option<&PasswordPolicy>,
    ) -> PyResult<Self> {
        let sessions = sessions.inner.clone();
        let mfa = mfa.map(|m| m.inner.clone());
        let throttle = throttle.map(|t| t.inner.clone());
        let one_time = one_time.map(|o| o.inner.clone());
        if let Ok(builtin) = accounts.cast::<Accounts>() {
            if hasher.is_some() || policy.is_some() {
                return Err(to_py(
                    py,
                    Error::InvalidConfig(
                        "hasher and policy apply to an application's account source; built-in \
                         Accounts carry their own"
                            .into(),
                    ),
                ));
            }
            let core_accounts = builtin.get().inner.clone();
            let inner = run(|| CoreSignIn::new(core_accounts, sessions, mfa, throttle, one_time))?;
            return Ok(SignIn {
                inner,
                accounts: Some(builtin.clone().unbind()),
                source_kind: None,
            });
        }
        if !has_method(accounts, "find") || !has_method(accounts, "set_password_hash") {
            return Err(PyTypeError::new_err(
                "accounts must be Accounts or an account source (an object with find and \
                 set_password_hash methods)",
            ));
        }
        let hasher = match hasher {
            Some(h) => h.inner.clone(),
            None => run(|| CoreHasher::new(HasherConfig::default(), CorePolicy::default()))?,
        };
        let kind = accounts
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        let source = PySource {
            obj: Arc::new(accounts.clone().unbind()),
            kind: kind.clone(),
        };
        let policy = policy.map(|p| p.inner.clone());
        let inner = run(|| {
            CoreSignIn::with_source(
                Arc::new(source),
                hasher,
                policy,
                sessions,
                mfa,
                throttle,
                one_time,
            )
        })?;
        Ok(SignIn {
            inner,
            accounts: None,
            source_kind: Some(kind),
        })
    }

    /// The password step; awaitable → {"status": "ok", "pair": TokenPair} or
    /// {"status": "mfa_required", "mfa_token": str}.
    #[pyo3(signature = (login, password, *, meta=None, throttle_context=None))]
    fn password<'py>(
        &self,
        py: Python<'py>,
        login: &Bound<'py, PyAny>,
        password: &Bound<'py, PyAny>,
        meta: Option<&Bound<'py, PyAny>>,
        throttle_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let login = str_arg(login, "login")?;
        let password = secret_arg(password, "password")?;
        let meta = meta
            .filter(|m| !m.is_none())
            .map(|m| map_arg(Some(m), "meta"))
            .transpose()?;
        let context = context_arg(throttle_context)?;
        let s = self.inner.clone();
        spawn_calling_python(
            py,
            async move {
                s.password(&login, &password, meta, context.as_deref())
                    .await
            },
            sign_in_result,
        )
    }

    /// The second step with exactly one of `code` and `recovery_code`; awaitable → TokenPair.
    /// A wrong or replayed code raises `TotpInvalidError` / `TotpReplayedError` with
    /// `mfa_token` (the fresh token) and `tries_left`.
    #[pyo3(signature = (mfa_token, *, code=None, recovery_code=None, meta=None, now=None))]
    fn second_factor<'py>(
        &self,
        py: Python<'py>,
        mfa_token: &Bound<'py, PyAny>,
        code: Option<&Bound<'py, PyAny>>,
        recovery_code: Option<&Bound<'py, PyAny>>,
        meta: Option<&Bound<'py, PyAny>>,
        #[pyo3(from_py_with = opt_arg::<i64, MAX_TIME>)] now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = secret_arg(mfa_token, "mfa_token")?;
        let code = optional_str(code, "code")?.map(Zeroizing::new);
        let recovery = optional_str(recovery_code, "recovery_code")?.map(Zeroizing::new);
        let meta = meta
            .filter(|m| !m.is_none())
            .map(|m| map_arg(Some(m), "meta"))
            .transpose()?;
        let now = now_or(now);
        let s = self.inner.clone();
        spawn_calling_python(
            py,
            async move {
                s.second_factor_at(
                    &token,
                    code.as_deref().map(String::as_str),
                    recovery.as_deref().map(String::as_str),
                    meta,
                    now,
                )
                .await
            },
            second_factor_result,
        )
    }

    /// Starts a password reset; awaitable → the token to send, or None for an unknown or
    /// disabled account.
    #[pyo3(signature = (login, *, ttl=None))]
    fn request_password_reset<'py>(
        &self,
        py: Python<'py>,
        login: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_SECONDS>)] ttl: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let login = str_arg(login, "login")?;
        let s = self.inner.clone();
        spawn_calling_python(
            py,
            async move { s.request_password_reset(&login, ttl).await },
            |py, t| match t {
                Some(t) => Ok(PyString::new(py, &t).into_any()),
                None => Ok(py.None().into_bound(py)),
            },
        )
    }

    /// Completes a password reset; awaitable → the subject.
    fn reset_password<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        new_password: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = secret_arg(token, "token")?;
        let password = secret_arg(new_password, "new_password")?;
        let s = self.inner.clone();
        spawn_calling_python(
            py,
            async move { s.reset_password(&token, &password).await },
            |py, subject| Ok(PyString::new(py, &subject).into_any()),
        )
    }

    /// A signed-in user's password change: every session revoked, a fresh one started with
    /// `amr`; awaitable → TokenPair.
    #[pyo3(signature = (subject, current_password, new_password, *, amr=None, meta=None))]
    fn change_password<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        current_password: &Bound<'py, PyAny>,
        new_password: &Bound<'py, PyAny>,
        amr: Option<Vec<String>>,
        meta: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let current = secret_arg(current_password, "current_password")?;
        let new_password = secret_arg(new_password, "new_password")?;
        let meta = meta
            .filter(|m| !m.is_none())
            .map(|m| map_arg(Some(m), "meta"))
            .transpose()?;
        let amr = amr.unwrap_or_default();
        let s = self.inner.clone();
        spawn_calling_python(
            py,
            async move {
                s.change_password(&subject, &current, &new_password, &amr, meta)
                    .await
            },
            pair,
        )
    }

    /// An email-verification token for the account of `subject`; awaitable → str.
    #[pyo3(signature = (subject, *, ttl=None))]
    fn request_email_verification<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = opt_arg::<u64, MAX_SECONDS>)] ttl: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let s = self.inner.clone();
        spawn_calling_python(
            py,
            async move { s.request_email_verification(&subject, ttl).await },
            |py, t| Ok(PyString::new(py, &t).into_any()),
        )
    }

    /// Consumes an email-verification token and marks its account verified; awaitable →
    /// Account.
    fn verify_email<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = secret_arg(token, "token")?;
        let s = self.inner.clone();
        spawn_calling_python(py, async move { s.verify_email(&token).await }, account)
    }

    /// The built-in accounts given to the constructor; None with an application's source.
    #[getter]
    fn accounts(&self, py: Python<'_>) -> Option<Py<Accounts>> {
        self.accounts.as_ref().map(|a| a.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        let accounts = match &self.source_kind {
            Some(kind) => format!("source={kind}"),
            None => "accounts=Accounts".into(),
        };
        format!(
            "SignIn({accounts}, backend={:?})",
            self.inner.sessions().store().backend()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SignIn>()
}
