//! `Throttle` for Node (failure counters shared through a `Store`; Promises).

use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::throttle::{Throttle as CoreThrottle, ThrottleConfig};

use crate::errors::{now_or, run, text, to_napi, whole, Number, MAX_SECONDS};
use crate::store::Store;

#[napi(object)]
pub struct ThrottleOptions {
    pub free_attempts: Option<Number>,
    pub base_delay: Option<Number>,
    pub max_delay: Option<Number>,
    pub max_failures: Option<Number>,
    pub reset_after: Option<Number>,
}

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
    pub fn new(store: &Store, options: Option<ThrottleOptions>) -> Result<Self> {
        let d = ThrottleConfig::default();
        let config = match options {
            None => d,
            Some(o) => ThrottleConfig {
                free_attempts: whole(
                    o.free_attempts,
                    d.free_attempts as u64,
                    MAX_SECONDS,
                    "freeAttempts",
                )? as i64,
                base_delay: whole(o.base_delay, d.base_delay as u64, MAX_SECONDS, "baseDelay")?
                    as i64,
                max_delay: whole(o.max_delay, d.max_delay as u64, MAX_SECONDS, "maxDelay")? as i64,
                max_failures: whole(
                    o.max_failures,
                    d.max_failures as u64,
                    MAX_SECONDS,
                    "maxFailures",
                )? as i64,
                reset_after: whole(
                    o.reset_after,
                    d.reset_after as u64,
                    MAX_SECONDS,
                    "resetAfter",
                )? as i64,
            },
        };
        Ok(Throttle {
            inner: run(|| CoreThrottle::new(store.inner.clone(), config))?,
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
