//! `SignIn` for Node: the core sign-in flow over built-in accounts or an application's own
//! account source. An application source reaches Rust as two JavaScript functions (made by the
//! TypeScript layer) called through thread-safe functions; each returns a Promise that Rust
//! awaits, so the flow never blocks the event loop and the source may be synchronous or async.

use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use std::fmt;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use polyauth_core::signin::{
    AccountSource, AppAccount, BoxFuture, SecondFactorOutcome, SignIn as CoreSignIn, SignInResult,
};
use polyauth_core::Error as CoreError;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::accounts::{password_text, Account, Accounts};
use crate::errors::{object, run, text, to_napi, whole_arg, Number, MAX_SECONDS};
use crate::mfa::Mfa;
use crate::onetime::OneTimeTokens;
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::sessions::{Sessions, TokenPair};
use crate::throttle::Throttle;

/// An account as the TypeScript layer passes it on from the application's `find`, its shape
/// already checked there.
#[napi(object)]
pub struct SourceAccount {
    pub subject: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub claims: Value,
}

/// What the TypeScript wrapper of the application's `find` resolves to: exactly one of
/// `failure` (the name of the error the source threw or rejected with), `invalid` (what was
/// wrong with the value it returned) and `account` (null or absent: no such account).
#[napi(object)]
pub struct SourceReply {
    pub failure: Option<String>,
    pub invalid: Option<String>,
    pub account: Option<SourceAccount>,
}

type FindFn = ThreadsafeFunction<String, Promise<SourceReply>, String, Status, false, true>;
type SetHashFn = ThreadsafeFunction<
    FnArgs<(String, String)>,
    Promise<Option<String>>,
    FnArgs<(String, String)>,
    Status,
    false,
    true,
>;

/// An error name as reported in a message: a JavaScript identifier of at most 64 characters,
/// else `Error` (an application's error name is not trusted to be one).
fn error_name(name: &str) -> &str {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ok {
        name
    } else {
        "Error"
    }
}

fn source_failed(method: &str, name: &str) -> CoreError {
    CoreError::StoreUnavailable(format!(
        "account source {method} failed: {}",
        error_name(name)
    ))
}

/// The application's account source, called through thread-safe functions. They are weak: a
/// `SignIn` that is never used again does not keep the process alive (a pending call does, through
/// the Promise of the flow that awaits it).
struct JsAccountSource {
    find: FindFn,
    set_password_hash: SetHashFn,
}

impl fmt::Debug for JsAccountSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsAccountSource")
    }
}

impl AccountSource for JsAccountSource {
    fn find<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFuture<'a, polyauth_core::Result<Option<AppAccount>>> {
        Box::pin(async move {
            let promise = self
                .find
                .call_async_catch(login.to_owned())
                .await
                .map_err(|_| source_failed("find", "Error"))?;
            // The wrapper never rejects: a rejection here is a value napi could not convert.
            let reply = promise.await.map_err(|_| {
                CoreError::InvalidConfig(
                    "account source find returned an account polyauth cannot read (claims must \
                     be JSON values)"
                        .into(),
                )
            })?;
            if let Some(name) = reply.failure {
                return Err(source_failed("find", &name));
            }
            if let Some(what) = reply.invalid {
                return Err(CoreError::InvalidConfig(format!(
                    "account source find: {what}"
                )));
            }
            let Some(a) = reply.account else {
                return Ok(None);
            };
            let claims = match a.claims {
                Value::Object(m) => m,
                Value::Null => Default::default(),
                _ => {
                    return Err(CoreError::InvalidConfig(
                        "account source find: claims must be an object".into(),
                    ))
                }
            };
            Ok(Some(AppAccount {
                subject: a.subject,
                password_hash: a.password_hash,
                disabled: a.disabled,
                claims,
            }))
        })
    }

    fn set_password_hash<'a>(
        &'a self,
        subject: &'a str,
        password_hash: &'a str,
    ) -> BoxFuture<'a, polyauth_core::Result<()>> {
        Box::pin(async move {
            let args = FnArgs::from((subject.to_owned(), password_hash.to_owned()));
            let promise = self
                .set_password_hash
                .call_async_catch(args)
                .await
                .map_err(|_| source_failed("setPasswordHash", "Error"))?;
            match promise.await {
                Ok(None) => Ok(()),
                Ok(Some(name)) => Err(source_failed("setPasswordHash", &name)),
                Err(_) => Err(source_failed("setPasswordHash", "Error")),
            }
        })
    }
}

/// What `password` resolves to: `pair` when signed in, `mfaToken` when a second factor is due.
#[napi(object)]
pub struct PasswordStep {
    pub pair: Option<TokenPair>,
    pub mfa_token: Option<String>,
}

/// What `secondFactor` resolves to: `pair` when signed in; otherwise the error to report
/// (`errorCode` `totp_invalid` or `totp_replayed`, `errorMessage`) with a fresh `mfaToken` and
/// how many wrong codes the step still allows.
#[napi(object)]
pub struct SecondStep {
    pub pair: Option<TokenPair>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub mfa_token: Option<String>,
    pub tries_left: Option<u32>,
}

/// An optional `ttl` argument in seconds (absent: the core's default).
fn ttl_arg(ttl: Option<Number>) -> Result<Option<u64>> {
    match ttl {
        None => Ok(None),
        Some(n) => whole_arg(Some(n), 0, MAX_SECONDS, "ttl").map(Some),
    }
}

/// The sign-in flow.
#[napi]
pub struct SignIn {
    inner: CoreSignIn,
}

#[napi]
impl SignIn {
    /// The flow over built-in accounts.
    #[napi(factory)]
    pub fn with_accounts(
        accounts: &Accounts,
        sessions: &Sessions,
        mfa: Option<&Mfa>,
        throttle: Option<&Throttle>,
        one_time: Option<&OneTimeTokens>,
    ) -> Result<Self> {
        let inner = run(|| {
            CoreSignIn::new(
                accounts.inner.clone(),
                sessions.inner.clone(),
                mfa.map(|m| m.inner.clone()),
                throttle.map(|t| t.inner.clone()),
                one_time.map(|o| o.inner.clone()),
            )
        })?;
        Ok(SignIn { inner })
    }

    /// The flow over an application's accounts: `find(login)` and `setPasswordHash(subject,
    /// hash)` are the TypeScript layer's wrappers, which always resolve (never reject).
    #[napi(factory)]
    #[allow(clippy::too_many_arguments)]
    pub fn with_source(
        #[napi(ts_arg_type = "(login: string) => Promise<SourceReply>")] find: FindFn,
        #[napi(ts_arg_type = "(subject: string, passwordHash: string) => Promise<string | null>")]
        set_password_hash: SetHashFn,
        hasher: &PasswordHasher,
        policy: Option<&PasswordPolicy>,
        sessions: &Sessions,
        mfa: Option<&Mfa>,
        throttle: Option<&Throttle>,
        one_time: Option<&OneTimeTokens>,
    ) -> Result<Self> {
        let source = Arc::new(JsAccountSource {
            find,
            set_password_hash,
        });
        let inner = run(|| {
            CoreSignIn::with_source(
                source,
                hasher.inner.clone(),
                policy.map(|p| p.inner.clone()),
                sessions.inner.clone(),
                mfa.map(|m| m.inner.clone()),
                throttle.map(|t| t.inner.clone()),
                one_time.map(|o| o.inner.clone()),
            )
        })?;
        Ok(SignIn { inner })
    }

    /// The password step.
    #[napi]
    pub fn password<'env>(
        &self,
        env: &'env Env,
        login: Utf16String,
        password: Utf16String,
        meta: Option<Value>,
        throttle_context: Option<Utf16String>,
    ) -> Result<PromiseRaw<'env, PasswordStep>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let login = text(login, "login")?;
            let password = password_text(password)?;
            let meta = object(meta, "meta")?;
            let context = throttle_context
                .map(|c| text(c, "throttleContext"))
                .transpose()?;
            let result = inner
                .password(&login, &password, Some(meta), context.as_deref())
                .await
                .map_err(to_napi)?;
            Ok(match result {
                SignInResult::Ok(pair) => PasswordStep {
                    pair: Some(pair.into()),
                    mfa_token: None,
                },
                SignInResult::MfaRequired { mfa_token } => PasswordStep {
                    pair: None,
                    mfa_token: Some(mfa_token),
                },
            })
        })
    }

    /// The second step: exactly one of `code` and `recoveryCode`; `now` moves the TOTP clock.
    #[napi]
    pub fn second_factor<'env>(
        &self,
        env: &'env Env,
        mfa_token: Utf16String,
        code: Option<Utf16String>,
        recovery_code: Option<Utf16String>,
        meta: Option<Value>,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, SecondStep>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let mfa_token = Zeroizing::new(text(mfa_token, "mfaToken")?);
            let code = code
                .map(|c| text(c, "code").map(Zeroizing::new))
                .transpose()?;
            let recovery_code = recovery_code
                .map(|c| text(c, "recoveryCode").map(Zeroizing::new))
                .transpose()?;
            let meta = object(meta, "meta")?;
            let default = polyauth_core::token::now().max(0) as u64;
            let now = whole_arg(now, default, crate::errors::MAX_TIME, "now")? as i64;
            let outcome = inner
                .second_factor_at(
                    &mfa_token,
                    code.as_ref().map(|c| c.as_str()),
                    recovery_code.as_ref().map(|c| c.as_str()),
                    Some(meta),
                    now,
                )
                .await
                .map_err(to_napi)?;
            Ok(match outcome {
                SecondFactorOutcome::Signed(pair) => SecondStep {
                    pair: Some(pair.into()),
                    error_code: None,
                    error_message: None,
                    mfa_token: None,
                    tries_left: None,
                },
                SecondFactorOutcome::Retry {
                    error,
                    mfa_token,
                    tries_left,
                } => SecondStep {
                    pair: None,
                    error_code: Some(error.code().to_owned()),
                    error_message: Some(error.to_string()),
                    mfa_token: Some(mfa_token),
                    tries_left: Some(tries_left),
                },
            })
        })
    }

    /// A password-reset token for `login`, or null for an unknown or disabled account.
    #[napi]
    pub fn request_password_reset<'env>(
        &self,
        env: &'env Env,
        login: Utf16String,
        ttl: Option<Number>,
    ) -> Result<PromiseRaw<'env, Option<String>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let login = text(login, "login")?;
            let ttl = ttl_arg(ttl)?;
            inner
                .request_password_reset(&login, ttl)
                .await
                .map_err(to_napi)
        })
    }

    /// Completes a password reset; resolves to the subject.
    #[napi]
    pub fn reset_password<'env>(
        &self,
        env: &'env Env,
        token: Utf16String,
        new_password: Utf16String,
    ) -> Result<PromiseRaw<'env, String>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let token = text(token, "token")?;
            let new_password = password_text(new_password)?;
            inner
                .reset_password(&token, &new_password)
                .await
                .map_err(to_napi)
        })
    }

    /// A signed-in user's password change: every session revoked, a fresh one started with `amr`.
    #[napi]
    pub fn change_password<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        current_password: Utf16String,
        new_password: Utf16String,
        amr: Option<Vec<String>>,
        meta: Option<Value>,
    ) -> Result<PromiseRaw<'env, TokenPair>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let current = password_text(current_password)?;
            let new_password = password_text(new_password)?;
            let meta = object(meta, "meta")?;
            let amr = amr.unwrap_or_default();
            inner
                .change_password(&subject, &current, &new_password, &amr, Some(meta))
                .await
                .map(Into::into)
                .map_err(to_napi)
        })
    }

    /// An email-verification token for `subject` (built-in accounts only).
    #[napi]
    pub fn request_email_verification<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        ttl: Option<Number>,
    ) -> Result<PromiseRaw<'env, String>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let ttl = ttl_arg(ttl)?;
            inner
                .request_email_verification(&subject, ttl)
                .await
                .map_err(to_napi)
        })
    }

    /// Consumes an email-verification token; resolves to the verified account.
    #[napi]
    pub fn verify_email<'env>(
        &self,
        env: &'env Env,
        token: Utf16String,
    ) -> Result<PromiseRaw<'env, Account>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let token = text(token, "token")?;
            inner
                .verify_email(&token)
                .await
                .map(Account::from)
                .map_err(to_napi)
        })
    }
}
