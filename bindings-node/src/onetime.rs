//! `OneTimeTokens` for Node (single-use, purpose-bound tokens over a `Store`; Promises).

use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::onetime::OneTimeTokens as CoreOneTime;
use serde_json::Value;

use crate::errors::{now_or, text, to_napi, whole_arg, Number, MAX_SECONDS};
use crate::store::Store;

/// What `OneTimeTokens.consume` resolves to.
#[napi(object)]
pub struct Consumed {
    pub subject: String,
    pub data: Option<Value>,
}

/// Single-use, purpose-bound tokens.
#[napi]
pub struct OneTimeTokens {
    pub(crate) inner: CoreOneTime,
}

#[napi]
impl OneTimeTokens {
    #[napi(constructor)]
    pub fn new(store: &Store) -> Self {
        OneTimeTokens {
            inner: CoreOneTime::new(store.inner.clone()),
        }
    }

    /// Issues a `pot_...` token for `subject` and `purpose`, valid `ttl` seconds (default 3600)
    /// from `now` (seconds; default: the system clock).
    #[napi]
    pub fn issue<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        purpose: Utf16String,
        ttl: Option<Number>,
        data: Option<Value>,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, String>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let (subject, purpose) = (text(subject, "subject")?, text(purpose, "purpose")?);
            let data = data.filter(|d| !d.is_null());
            let ttl = whole_arg(ttl, polyauth_core::onetime::DEFAULT_TTL, MAX_SECONDS, "ttl")?;
            let now = now_or(now)?;
            inner
                .issue_at(&subject, &purpose, ttl, data, now)
                .await
                .map_err(to_napi)
        })
    }

    /// Consumes `token` for `purpose`, once; `now` (seconds) injects the clock.
    #[napi]
    pub fn consume<'env>(
        &self,
        env: &'env Env,
        token: Utf16String,
        purpose: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, Consumed>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let (token, purpose) = (text(token, "token")?, text(purpose, "purpose")?);
            let now = now_or(now)?;
            let (subject, data) = inner
                .consume_at(&token, &purpose, now)
                .await
                .map_err(to_napi)?;
            Ok(Consumed { subject, data })
        })
    }

    /// What `consume` would resolve to at `now` (seconds; default: the system clock), without
    /// spending the token (the same errors).
    #[napi]
    pub fn peek<'env>(
        &self,
        env: &'env Env,
        token: Utf16String,
        purpose: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, Consumed>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let (token, purpose) = (text(token, "token")?, text(purpose, "purpose")?);
            let now = now_or(now)?;
            let (subject, data) = inner
                .peek_at(&token, &purpose, now)
                .await
                .map_err(to_napi)?;
            Ok(Consumed { subject, data })
        })
    }
}
