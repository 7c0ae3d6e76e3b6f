//! `Store` for Node: every store call returns a Promise driven by napi-rs's tokio runtime, so
//! the event loop never waits on I/O.

use crate::errors::run;
use crate::options::{read, HostOptions};
use crate::promise::promise;
use napi::bindgen_prelude::PromiseRaw;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use polyauth_core::store::{OpenOptions, Store as CoreStore};

use crate::errors::{now_or, to_napi, Number};

/// An open store (`sqlite://path`, `postgres://...`, `redis://...`, `memory://`).
#[napi]
pub struct Store {
    pub(crate) inner: CoreStore,
}

/// Opens (and, unless `migrate: false`, migrates) a store.
#[napi]
pub fn open_store<'env>(
    env: &'env Env,
    url: Option<String>,
    #[napi(ts_arg_type = "object")] options: Option<HostOptions>,
) -> Result<PromiseRaw<'env, Store>> {
    let options = run(|| OpenOptions::from_options(read(options, "Store.open")))?;
    let url = url.unwrap_or_else(|| polyauth_core::store::DEFAULT_URL.to_owned());
    promise(env, async move {
        CoreStore::open_with(&url, options)
            .await
            .map(|inner| Store { inner })
            .map_err(to_napi)
    })
}

/// The SQL of every migration, for teams that apply migrations themselves.
#[napi]
pub fn migrations_sql() -> String {
    CoreStore::migrations_sql()
}

#[napi]
impl Store {
    /// One trivial round trip to the backend (health check); rejects `store_unavailable` when down.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn ping<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.clone();
        promise(env, async move { inner.ping().await.map_err(to_napi) })
    }

    /// "memory", "sqlite", "postgres" or "redis".
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// Deletes what can never be used again; resolves to the number of rows removed. `now`
    /// (seconds) injects the clock.
    #[napi]
    pub fn purge_expired<'env>(
        &self,
        env: &'env Env,
        now: Option<Number>,
    ) -> Result<PromiseRaw<'env, f64>> {
        let inner = self.inner.clone();
        promise(env, async move {
            let now = now_or(now)?;
            inner
                .purge_expired_at(now)
                .await
                .map(|n| n as f64)
                .map_err(to_napi)
        })
    }
}
