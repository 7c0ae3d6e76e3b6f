//! `Throttle` for Node (failure counters shared through a `Store`; Promises).

use crate::options::{read, HostOptions};
use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::throttle::{Throttle as CoreThrottle, ThrottleConfig};

use crate::errors::{now_or, run, text, to_napi, Number};
use crate::store::Store;

/// A failure counter after `fail`.
#[napi(object)]
pub struct FailureCount {
    pub failures: i64,
    pub locked_until: i64,
}

/// Failure counters with exponential backoff and a lockout ceiling.
#[napi]
pub struct Throttle {
    pub(crate) inner: CoreThrottle,
}

#[napi]
impl Throttle {
    #[napi(constructor)]
    pub fn new(
        store: &Store,
        #[napi(ts_arg_type = "object")] options: Option<HostOptions>,
    ) -> Result<Self> {
        let o = read(options, "Throttle");
        Ok(Throttle {
            inner: run(|| {
                CoreThrottle::new(store.inner.clone(), ThrottleConfig::from_options(o)?)
            })?,
        })
    }

    /// Rejects with `rate_limited` (`retryAfter` seconds) while `key` is locked at `now`
    /// (seconds; default: the system clock).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn check<'env>(
        &self,
        env: &'env Env,
        key: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let key = text(key, "key")?;
            let now = now_or(now)?;
            inner.check_at(&key, now).await.map_err(to_napi)
        })
    }

    /// Records a failure at `now` (seconds; default: the system clock).
    #[napi]
    pub fn fail<'env>(
        &self,
        env: &'env Env,
        key: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, FailureCount>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let key = text(key, "key")?;
            let now = now_or(now)?;
            let c = inner.fail_at(&key, now).await.map_err(to_napi)?;
            Ok(FailureCount {
                failures: c.failures,
                locked_until: c.locked_until,
            })
        })
    }

    /// Reserves an attempt atomically: rejects with `rate_limited` while `key` is locked,
    /// otherwise counts it as a failure right away (call `reset` after a success). `now`
    /// (seconds) injects the clock.
    #[napi]
    pub fn attempt<'env>(
        &self,
        env: &'env Env,
        key: Utf16String,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, FailureCount>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let key = text(key, "key")?;
            let now = now_or(now)?;
            let c = inner.attempt_at(&key, now).await.map_err(to_napi)?;
            Ok(FailureCount {
                failures: c.failures,
                locked_until: c.locked_until,
            })
        })
    }

    /// Clears the counter after a success.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn reset<'env>(&self, env: &'env Env, key: Utf16String) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let key = text(key, "key")?;
            inner.reset(&key).await.map_err(to_napi)
        })
    }
}
