//! `Mfa` for Node: the store-backed TOTP second factor. Every store call returns a Promise.

use crate::options::{read, HostOptions};
use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::mfa::{self, KeyMaterial, Mfa as CoreMfa};
use zeroize::Zeroizing;

use crate::errors::{now_or, run, text, to_napi, Number};
use crate::store::Store;
use crate::throttle::Throttle;
use crate::totp::Totp;

fn plain(codes: Vec<Zeroizing<String>>) -> Vec<String> {
    codes.iter().map(|c| c.as_str().to_owned()).collect()
}

/// What `beginEnrollment` resolves to (the TypeScript layer keeps it out of `util.inspect`).
#[napi(object)]
pub struct MfaEnrollment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
    pub expires_at: i64,
}

/// What `status` resolves to.
#[napi(object)]
pub struct MfaStatus {
    pub enabled: bool,
    pub pending: bool,
    pub confirmed_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub recovery_codes_remaining: u32,
}

/// The TOTP second factor over a store.
#[napi]
pub struct Mfa {
    pub(crate) inner: CoreMfa,
}

#[napi]
impl Mfa {
    /// `keys`: the encryption keys, the encrypting one first (32 bytes each: bytes,
    /// base64url/base64 or hex text). `throttle` counts failures (default: a new `Throttle`).
    #[napi(constructor)]
    pub fn new(
        store: &Store,
        totp: &Totp,
        keys: Vec<Either<String, Uint8Array>>,
        #[napi(ts_arg_type = "object")] options: Option<HostOptions>,
        throttle: Option<&Throttle>,
    ) -> Result<Self> {
        let materials: Vec<KeyMaterial> = keys
            .into_iter()
            .map(|k| match k {
                Either::A(s) => KeyMaterial::Text(Zeroizing::new(s)),
                Either::B(b) => KeyMaterial::Bytes(Zeroizing::new(b.to_vec())),
            })
            .collect();
        let o = read(options, "Mfa");
        let (store, totp) = (store.inner.clone(), totp.inner.clone());
        let throttle = throttle.map(|t| t.inner.clone());
        let inner = run(|| CoreMfa::from_options(store, totp, &materials, throttle, o))?;
        Ok(Mfa { inner })
    }

    /// A fresh random 256-bit encryption key, base64url.
    #[napi]
    pub fn generate_key() -> Result<String> {
        run(|| mfa::generate_key().map(|k| k.as_str().to_owned()))
    }

    /// The throttle key a subject's failures (within `throttle_context`) are counted under.
    #[napi]
    pub fn throttle_key(
        subject: Utf16String,
        throttle_context: Option<Utf16String>,
    ) -> Result<String> {
        let subject = text(subject, "subject")?;
        let context = throttle_context
            .map(|c| text(c, "throttleContext"))
            .transpose()?;
        Ok(mfa::throttle_key_in(&subject, context.as_deref()))
    }

    /// Starts (or restarts) enrollment; a confirmed factor keeps working until the new one is
    /// confirmed.
    #[napi]
    pub fn begin_enrollment<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        account: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, MfaEnrollment>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let (subject, account) = (text(subject, "subject")?, text(account, "account")?);
            let now = now_or(now)?;
            let e = inner
                .begin_enrollment_at(&subject, &account, now)
                .await
                .map_err(to_napi)?;
            Ok(MfaEnrollment {
                secret: e.secret.as_str().to_owned(),
                uri: e.uri.as_str().to_owned(),
                qr_svg: e.qr_svg,
                expires_at: e.expires_at,
            })
        })
    }

    /// Confirms the pending enrollment with a code; resolves to the recovery codes.
    #[napi]
    pub fn confirm<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        code: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, Vec<String>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let (code, now) = (Zeroizing::new(text(code, "code")?), now_or(now)?);
            inner
                .confirm_at(&subject, &code, now)
                .await
                .map(plain)
                .map_err(to_napi)
        })
    }

    /// Checks a code of the confirmed factor, once; resolves to the accepted time step.
    /// `throttle_context` (e.g. the client IP) counts failures per subject and context.
    #[napi]
    pub fn verify<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        code: Utf16String,
        now: Option<Number>,
        throttle_context: Option<Utf16String>,
    ) -> Result<PromiseRaw<'env, f64>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let (code, now) = (Zeroizing::new(text(code, "code")?), now_or(now)?);
            let throttle_context = throttle_context
                .map(|c| text(c, "throttleContext"))
                .transpose()?;
            inner
                .verify_in(&subject, &code, throttle_context.as_deref(), now)
                .await
                .map(|step| step as f64)
                .map_err(to_napi)
        })
    }

    /// Consumes a recovery code; resolves to how many unused codes remain. `throttle_context`
    /// as in `verify`.
    #[napi]
    pub fn verify_recovery_code<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        code: Utf16String,
        now: Option<Number>,
        throttle_context: Option<Utf16String>,
    ) -> Result<PromiseRaw<'env, u32>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let (code, now) = (Zeroizing::new(text(code, "code")?), now_or(now)?);
            let throttle_context = throttle_context
                .map(|c| text(c, "throttleContext"))
                .transpose()?;
            inner
                .verify_recovery_code_in(&subject, &code, throttle_context.as_deref(), now)
                .await
                .map_err(to_napi)
        })
    }

    /// New recovery codes for the confirmed factor; the old ones stop working.
    #[napi]
    pub fn regenerate_recovery_codes<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, Vec<String>>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            inner
                .regenerate_recovery_codes(&subject)
                .await
                .map(plain)
                .map_err(to_napi)
        })
    }

    /// Removes the factor, any pending enrollment and the recovery codes.
    #[napi]
    pub fn disable<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
    ) -> Result<PromiseRaw<'env, bool>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            inner.disable(&subject).await.map_err(to_napi)
        })
    }

    /// The subject's second factor (`pending` judged at `now`).
    #[napi]
    pub fn status<'env>(
        &self,
        env: &'env Env,
        subject: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, MfaStatus>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let subject = text(subject, "subject")?;
            let now = now_or(now)?;
            let s = inner.status_at(&subject, now).await.map_err(to_napi)?;
            Ok(MfaStatus {
                enabled: s.enabled,
                pending: s.pending,
                confirmed_at: s.confirmed_at,
                last_used_at: s.last_used_at,
                recovery_codes_remaining: s.recovery_codes_remaining,
            })
        })
    }

    /// Ids of the encryption keys, the encrypting one first.
    #[napi(getter)]
    pub fn key_ids(&self) -> Vec<String> {
        self.inner.key_ids()
    }

    /// The backend of the store.
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.inner.store().backend()
    }

    /// Seconds an enrollment can be confirmed.
    #[napi(getter)]
    pub fn enrollment_ttl(&self) -> f64 {
        self.inner.config().enrollment_ttl as f64
    }
}
