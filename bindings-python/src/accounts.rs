//! `Account` and `Accounts` for Python: the built-in accounts of polyauth-core. Every store call
//! returns an awaitable; the rules (login normalisation, policy, hashing, claims) are the core's.

use polyauth_core::account::{normalize_login, Account as CoreAccount, Accounts as CoreAccounts};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::asyncio::spawn;
use crate::convert::{map_arg, str_arg};
use crate::errors::{run, to_py};
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::store::Store;

/// A built-in account, as `Accounts` and `SignIn.verify_email` return it: a read-only view.
/// Its password hash stays in the store (never in this object or its repr).
#[pyclass(module = "polyauth._native", frozen, eq)]
#[derive(PartialEq)]
pub struct Account {
    inner: CoreAccount,
}

impl From<CoreAccount> for Account {
    fn from(a: CoreAccount) -> Self {
        // The hash stays in the store: not in this object.
        Account {
            inner: a.into_view(),
        }
    }
}

#[pymethods]
impl Account {
    /// The account's stable identifier (the `sub` of its tokens).
    #[getter]
    fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The normalised login.
    #[getter]
    fn login(&self) -> &str {
        &self.inner.login
    }

    /// Whether the account was marked verified.
    #[getter]
    fn verified(&self) -> bool {
        self.inner.verified
    }

    /// Whether the account was disabled.
    #[getter]
    fn disabled(&self) -> bool {
        self.inner.disabled
    }

    /// Application claims (a new dict on every access).
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::convert::object(py, &self.inner.claims)
    }

    /// When the account was created (seconds since the epoch).
    #[getter]
    fn created_at(&self) -> i64 {
        self.inner.created_at
    }

    fn __repr__(&self) -> String {
        format!(
            "Account(subject={:?}, login={:?}, verified={}, disabled={})",
            self.inner.subject,
            self.inner.login,
            py_bool(self.inner.verified),
            py_bool(self.inner.disabled)
        )
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// The `Account` Python object of a core account.
pub(crate) fn account(py: Python<'_>, a: CoreAccount) -> PyResult<Bound<'_, PyAny>> {
    Bound::new(py, Account::from(a)).map(Bound::into_any)
}

fn optional_account(py: Python<'_>, a: Option<CoreAccount>) -> PyResult<Bound<'_, PyAny>> {
    match a {
        Some(a) => account(py, a),
        None => Ok(py.None().into_bound(py)),
    }
}

/// A secret `str` argument (a password), kept in zeroized memory.
pub(crate) fn secret_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Zeroizing<String>> {
    str_arg(obj, what).map(Zeroizing::new)
}

/// A required dict of JSON-compatible values (`None` is a `TypeError`, as another type is).
fn dict_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Map<String, Value>> {
    if obj.is_none() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a JSON-compatible dict"
        )));
    }
    map_arg(Some(obj), what)
}

/// Built-in accounts over a store: logins normalised and unique, passwords checked against the
/// policy and hashed with argon2id, imports of hashes from other systems.
#[pyclass(module = "polyauth._native", frozen)]
pub struct Accounts {
    pub(crate) inner: CoreAccounts,
}

#[pymethods]
impl Accounts {
    #[new]
    #[pyo3(signature = (store, hasher, policy=None))]
    fn new(store: &Store, hasher: &PasswordHasher, policy: Option<&PasswordPolicy>) -> Self {
        Accounts {
            inner: CoreAccounts::new(
                store.inner.clone(),
                hasher.inner.clone(),
                policy.map(|p| p.inner.clone()),
            ),
        }
    }

    /// Creates an account with exactly one of `password` (checked against the policy, hashed)
    /// and `password_hash` (an import); awaitable → Account.
    #[pyo3(signature = (login, password=None, *, password_hash=None, claims=None))]
    fn create<'py>(
        &self,
        py: Python<'py>,
        login: &Bound<'py, PyAny>,
        password: Option<&Bound<'py, PyAny>>,
        password_hash: Option<&Bound<'py, PyAny>>,
        claims: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let login = str_arg(login, "login")?;
        let password = password.filter(|p| !p.is_none());
        let password_hash = password_hash.filter(|h| !h.is_none());
        let password = password.map(|p| secret_arg(p, "password")).transpose()?;
        let password_hash = password_hash
            .map(|h| str_arg(h, "password_hash"))
            .transpose()?;
        let claims = if claims.is_some_and(|c| !c.is_none()) {
            Some(map_arg(claims, "claims")?)
        } else {
            None
        };
        let a = self.inner.clone();
        match (password, password_hash) {
            (Some(pw), None) => spawn(
                py,
                async move { a.create(&login, &pw, claims).await },
                account,
            ),
            (None, Some(hash)) => spawn(
                py,
                async move { a.create_with_hash(&login, &hash, claims).await },
                account,
            ),
            _ => Err(to_py(
                py,
                polyauth_core::Error::InvalidInput(
                    "give exactly one of password and password_hash".into(),
                ),
            )),
        }
    }

    /// The account of `subject`; awaitable → Account or None.
    fn get<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let a = self.inner.clone();
        spawn(py, async move { a.get(&subject).await }, optional_account)
    }

    /// The account with this login (normalised first); awaitable → Account or None.
    fn find<'py>(&self, py: Python<'py>, login: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let login = str_arg(login, "login")?;
        let a = self.inner.clone();
        spawn(py, async move { a.find(&login).await }, optional_account)
    }

    /// Sets a new password (the policy applies); awaitable → Account. Revokes no session.
    fn set_password<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        password: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let password = secret_arg(password, "password")?;
        let a = self.inner.clone();
        spawn(
            py,
            async move { a.set_password(&subject, &password).await },
            account,
        )
    }

    /// Marks the account verified; awaitable → Account.
    fn mark_verified<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let a = self.inner.clone();
        spawn(py, async move { a.mark_verified(&subject).await }, account)
    }

    /// Disables the account (it can no longer sign in); awaitable → Account.
    fn disable<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let a = self.inner.clone();
        spawn(py, async move { a.disable(&subject).await }, account)
    }

    /// Replaces the account's claims as a whole; awaitable → Account.
    fn update_claims<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        claims: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let subject = str_arg(subject, "subject")?;
        let claims = dict_arg(claims, "claims")?;
        let a = self.inner.clone();
        spawn(
            py,
            async move { a.update_claims(&subject, claims).await },
            account,
        )
    }

    /// The normalised form of a login (NFKC, trimmed, lower-cased); `InvalidInputError` when
    /// it cannot be a login.
    #[staticmethod]
    fn normalize_login(login: &Bound<'_, PyAny>) -> PyResult<String> {
        let login = str_arg(login, "login")?;
        run(|| normalize_login(&login))
    }

    fn __repr__(&self) -> String {
        format!("Accounts(backend={:?})", self.inner.store().backend())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Account>()?;
    m.add_class::<Accounts>()
}
