//! `Accounts` for Node: built-in accounts over a store. Every call returns a Promise; argon2 runs
//! on the core's bounded hashing pool, never on the event loop.

use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::account::{self, Account as CoreAccount, Accounts as CoreAccounts};
use serde_json::{Map, Value};

use crate::errors::{object, text, to_napi};
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::store::Store;

/// A built-in account: a plain object (it can be sent to a client as is). The password hash never
/// leaves the core.
#[napi(object)]
pub struct Account {
    /// The account's stable identifier (the `sub` of its tokens): random, URL-safe.
    pub subject: String,
    /// The normalised login (see {@link Accounts.normalizeLogin}).
    pub login: String,
    /// Whether the account was marked verified (e.g. its email address confirmed).
    pub verified: bool,
    /// Whether the account was disabled; a disabled account cannot sign in.
    pub disabled: bool,
    /// Application claims, copied into the access tokens of its sessions.
    #[napi(ts_type = "Record<string, unknown>")]
    pub claims: Value,
    /// When the account was created (seconds since the epoch).
    pub created_at: i64,
}

impl From<CoreAccount> for Account {
    fn from(a: CoreAccount) -> Self {
        Account {
            subject: a.subject,
            login: a.login,
            verified: a.verified,
            disabled: a.disabled,
            claims: Value::Object(a.claims),
            created_at: a.created_at,
        }
    }
}

/// A password argument: read from UTF-16 so a lone surrogate is `invalid_input`, into memory
/// wiped on drop.
pub(crate) fn password_text(password: Utf16String) -> Result<zeroize::Zeroizing<String>> {
    polyauth_core::password::password_from_utf16(&password).map_err(to_napi)
}

/// Claims given to `create`: absent or null is none.
fn optional_claims(claims: Option<Value>) -> Result<Option<Map<String, Value>>> {
    match claims {
        None | Some(Value::Null) => Ok(None),
        other => object(other, "claims").map(Some),
    }
}

/// Built-in accounts over a store.
#[napi]
pub struct Accounts {
    pub(crate) inner: CoreAccounts,
}

#[napi]
impl Accounts {
    /// Accounts in `store`, hashing with `hasher`; `policy` (default: the hasher's) applies to
    /// new passwords.
    #[napi(constructor)]
    pub fn new(store: &Store, hasher: &PasswordHasher, policy: Option<&PasswordPolicy>) -> Self {
        Accounts {
            inner: CoreAccounts::new(
                store.inner.clone(),
                hasher.inner.clone(),
                policy.map(|p| p.inner.clone()),
            ),
        }
    }

    /// Normalises a login (NFKC, trimmed, lower-cased); `invalid_input` when it cannot be one.
    #[napi]
    pub fn normalize_login(login: Utf16String) -> Result<String> {
        let login = text(login, "login")?;
        account::normalize_login(&login).map_err(to_napi)
    }

    /// Creates an account with a password (policy-checked, hashed with argon2id).
    #[napi]
    pub fn create<'env>(
        &self,
        env: &'env Env,
        login: Utf16String,
        password: Utf16String,
        claims: Option<Value>,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let login = text(login, "login")?;
            let password = password_text(password)?;
            let claims = optional_claims(claims)?;
            inner
                .create(&login, &password, claims)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }

    /// Creates an account with a hash imported from another system (upgraded at first sign-in).
    #[napi]
    pub fn create_with_hash<'env>(
        &self,
        env: &'env Env,
        login: Utf16String,
        password_hash: Utf16String,
        claims: Option<Value>,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let login = text(login, "login")?;
            let password_hash = zeroize::Zeroizing::new(text(password_hash, "passwordHash")?);
            let claims = optional_claims(claims)?;
            inner
                .create_with_hash(&login, &password_hash, claims)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }

    /// The account of `subject`, or null.
    #[napi]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, Option<Account>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            inner
                .get(&subject)
                .await
                .map(|a| a.map(Account::from))
                .map_err(to_napi)
        })
    }

    /// The account with this login (normalised first), or null.
    #[napi]
    pub fn find<'env>(
        &self,
        env: &'env Env,
        login: Utf16String,
    ) -> Result<PromiseRaw<'env, Option<Account>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let login = text(login, "login")?;
            inner
                .find(&login)
                .await
                .map(|a| a.map(Account::from))
                .map_err(to_napi)
        })
    }

    /// Sets a new password (policy-checked); `invalid_input` for an unknown subject.
    #[napi]
    pub fn set_password<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        password: Utf16String,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let password = password_text(password)?;
            inner
                .set_password(&subject, &password)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }

    /// Marks the account verified; `invalid_input` for an unknown subject.
    #[napi]
    pub fn mark_verified<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            inner
                .mark_verified(&subject)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }

    /// Disables the account; `invalid_input` for an unknown subject.
    #[napi]
    pub fn disable<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            inner
                .disable(&subject)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }

    /// Replaces the account's claims; `invalid_input` for an unknown subject or reserved names.
    #[napi]
    pub fn update_claims<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        claims: Value,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let claims = match claims {
                Value::Object(m) => m,
                _ => {
                    return Err(Error::new(
                        Status::InvalidArg,
                        "claims must be an object".to_owned(),
                    ))
                }
            };
            inner
                .update_claims(&subject, claims)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }

    /// The backend of the store.
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.inner.store().backend()
    }
}
