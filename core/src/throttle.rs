//! Failure counters with exponential backoff and a lockout ceiling (RL-1), kept in the store so
//! every process and both languages see the same counts.

use sha2::Digest;

use crate::clock;
use crate::error::{Error, Result};
use crate::options::{Options, MAX_SECONDS};
use crate::store::{Attempt, Counter, Decay, Store, THROTTLE_RETENTION};
pub use crate::store::{LOCKED_FOREVER, MAX_FAILURES_CEILING};

/// A throttle key for `id` (a subject, a login) within a context such as the client's IP address:
/// `<kind>:<id length>:<id>:<context>` (the length keeps every id/context pair apart), or
/// `<kind>-sha256:<hex>` of it beyond 512 bytes, the longest key a throttle takes.
pub fn context_key(kind: &str, id: &str, context: &str) -> String {
    let key = format!("{kind}:{}:{id}:{context}", id.len());
    if key.len() <= 512 {
        key
    } else {
        format!(
            "{kind}-sha256:{}",
            hex::encode(sha2::Sha256::digest(key.as_bytes()))
        )
    }
}

/// The backoff schedule of a [`Throttle`]; see [`Throttle`] for how the fields combine.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failures allowed before any delay (default 5).
    pub free_attempts: i64,
    /// First delay in seconds, doubled with every further failure (default 1).
    pub base_delay: i64,
    /// Longest delay before `max_failures`, in seconds (default 900).
    pub max_delay: i64,
    /// Consecutive failures from which the key is locked for `reset_after` seconds, doubled by
    /// every further failure, and never forgotten until `reset` (1 to 100, default 100; RL-1).
    pub max_failures: i64,
    /// Below `max_failures`, a failure this many seconds after the previous one starts the count
    /// over; also the first lock at `max_failures` (default 1 day).
    pub reset_after: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_attempts: 5,
            base_delay: 1,
            max_delay: 900,
            max_failures: 100,
            reset_after: 86_400,
        }
    }
}

crate::options::deserialize_with_options!(ThrottleConfig, "Throttle");

impl ThrottleConfig {
    /// Reads `free_attempts`, `base_delay`, `max_delay`, `max_failures` and `reset_after` (whole
    /// seconds or counts up to [`MAX_SECONDS`]); [`Throttle::new`] narrows them further.
    pub fn from_options(mut o: Options) -> Result<Self> {
        let d = Self::default();
        let range = 0..=MAX_SECONDS as i128;
        let c = ThrottleConfig {
            free_attempts: o.whole("free_attempts", d.free_attempts, range.clone())?,
            base_delay: o.whole("base_delay", d.base_delay, range.clone())?,
            max_delay: o.whole("max_delay", d.max_delay, range.clone())?,
            max_failures: o.whole("max_failures", d.max_failures, range.clone())?,
            reset_after: o.whole("reset_after", d.reset_after, range)?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// The lock a key gets after `failures` consecutive failures, in seconds (the schedule documented
/// on [`Throttle`]; `LOCKED_FOREVER` means until `reset`). Constant from `MAX_FAILURES_CEILING` on.
pub fn lock_for(config: &ThrottleConfig, failures: i64) -> i64 {
    if failures >= MAX_FAILURES_CEILING {
        return LOCKED_FOREVER;
    }
    if failures >= config.max_failures {
        let exp = (failures - config.max_failures).min(62) as u32;
        return config
            .reset_after
            .saturating_mul(1i64 << exp)
            .min(LOCKED_FOREVER);
    }
    let over = failures - config.free_attempts;
    if over <= 0 {
        return 0;
    }
    let exp = (over - 1).min(30) as u32;
    config
        .base_delay
        .saturating_mul(1i64 << exp)
        .min(config.max_delay)
}

/// Failure counters per key (an account, or an account and an IP address: any string the
/// application composes), stored so that every process shares them (RL-1).
///
/// Lock schedule, for `n` consecutive failures counted on a key:
/// - `n <= free_attempts`: no lock;
/// - `free_attempts < n < max_failures`: locked for `base_delay * 2^(n - free_attempts - 1)`
///   seconds, at most `max_delay`;
/// - `max_failures <= n < 100`: locked for `reset_after * 2^(n - max_failures)` seconds
///   (`reset_after` at `max_failures`, doubled by every further failure);
/// - `n >= 100` ([`MAX_FAILURES_CEILING`]), or a lock that would end after [`LOCKED_FOREVER`]:
///   locked until `reset`.
///
/// Below `max_failures`, a failure more than `reset_after` seconds after the previous one starts
/// the count over at 1. From `max_failures` on the count never starts over by a new failure: only
/// `reset` (after a success, or by an administrator) clears it, and each failure after a lock
/// has lapsed locks the key twice as long. A lock is never shortened. Retention: a key that has
/// had no failure and no lock for [`THROTTLE_RETENTION`] (30 days) is forgotten by
/// `Store::purge_expired` (Redis: the key expires); a key locked until `reset` never is. `check` and `attempt`
/// refuse while `locked_until > now`; `attempt` counts nothing while locked, `fail` always counts.
#[derive(Clone, Debug)]
pub struct Throttle {
    store: Store,
    config: ThrottleConfig,
}

impl Throttle {
    /// A throttle over `store`; `invalid_config` unless `free_attempts >= 0`,
    /// `1 <= base_delay <= max_delay`, `1 <= max_failures <= 100` and
    /// `1 <= reset_after <= 30 days` (a count must not outlive the store's retention).
    pub fn new(store: Store, config: ThrottleConfig) -> Result<Self> {
        let c = &config;
        if c.free_attempts < 0
            || c.base_delay < 1
            || c.max_delay < c.base_delay
            || c.max_failures < 1
            || c.max_failures > MAX_FAILURES_CEILING
            || c.reset_after < 1
            || c.reset_after > THROTTLE_RETENTION
        {
            return Err(Error::InvalidConfig(
                "throttle: free_attempts >= 0, 1 <= base_delay <= max_delay, 1 <= max_failures <= 100, 1 <= reset_after <= 2592000".into(),
            ));
        }
        Ok(Throttle { store, config })
    }

    fn check_key(key: &str) -> Result<()> {
        // NUL: PostgreSQL cannot store it in text, so every backend refuses it alike.
        if key.is_empty() || key.len() > 512 || key.contains('\0') {
            return Err(Error::InvalidInput(
                "throttle key must be 1 to 512 bytes without NUL characters".into(),
            ));
        }
        Ok(())
    }

    /// Fails with `rate_limited` (and the seconds to wait) while `key` is locked.
    pub async fn check(&self, key: &str) -> Result<()> {
        self.check_at(key, clock::now()).await
    }

    /// `check` at `now` (seconds since the epoch).
    pub async fn check_at(&self, key: &str, now: i64) -> Result<()> {
        Self::check_key(key)?;
        match self.store.throttle_get(key).await? {
            Some(c) if c.locked_until > now => {
                Err(Error::RateLimited(c.locked_until.saturating_sub(now) as u64))
            }
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the counter (failures so far, locked until).
    pub async fn fail(&self, key: &str) -> Result<Counter> {
        self.fail_at(key, clock::now()).await
    }

    /// `fail` at `now` (seconds since the epoch).
    pub async fn fail_at(&self, key: &str, now: i64) -> Result<Counter> {
        Self::check_key(key)?;
        let config = self.config.clone();
        let lock = move |failures: i64| lock_for(&config, failures);
        self.store.throttle_fail(key, now, self.rule(), &lock).await
    }

    /// Reserves an attempt in one atomic step: fails with `rate_limited` while `key` is locked,
    /// and otherwise counts the attempt as a failure right away, so a burst of concurrent
    /// attempts cannot all pass before any is counted (as `check` then `fail` can). Call `reset`
    /// after a success.
    pub async fn attempt(&self, key: &str) -> Result<Counter> {
        self.attempt_at(key, clock::now()).await
    }

    /// `attempt` at `now` (seconds since the epoch).
    pub async fn attempt_at(&self, key: &str, now: i64) -> Result<Counter> {
        Self::check_key(key)?;
        let config = self.config.clone();
        let lock = move |failures: i64| lock_for(&config, failures);
        match self
            .store
            .throttle_attempt(key, now, self.rule(), &lock)
            .await?
        {
            Attempt::Allowed(c) => Ok(c),
            Attempt::Locked(until) => Err(Error::RateLimited(until.saturating_sub(now) as u64)),
        }
    }

    /// What the store needs to count a failure: when a count starts over.
    fn rule(&self) -> Decay {
        Decay {
            reset_after: self.config.reset_after,
            max_failures: self.config.max_failures,
        }
    }

    /// The backoff schedule.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// The store the counters live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Clears the counter (after a success).
    pub async fn reset(&self, key: &str) -> Result<()> {
        Self::check_key(key)?;
        self.store.throttle_reset(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_schedule() {
        let c = ThrottleConfig::default();
        let s: Vec<i64> = (1..=12).map(|n| lock_for(&c, n)).collect();
        assert_eq!(s, vec![0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(lock_for(&c, 40), 900);
        assert_eq!(lock_for(&c, 99), 900);
        // The ceiling: locked until reset.
        assert_eq!(lock_for(&c, 100), LOCKED_FOREVER);
        assert_eq!(lock_for(&c, i64::MAX), LOCKED_FOREVER);
    }

    #[test]
    fn locks_escalate_from_max_failures_to_the_ceiling() {
        let c = ThrottleConfig {
            free_attempts: 1,
            max_failures: 3,
            reset_after: 10,
            ..Default::default()
        };
        let s: Vec<i64> = (1..=7).map(|n| lock_for(&c, n)).collect();
        assert_eq!(s, vec![0, 1, 10, 20, 40, 80, 160]);
        // Doubling saturates at LOCKED_FOREVER long before the ceiling.
        assert_eq!(lock_for(&c, 99), LOCKED_FOREVER);
        let late = ThrottleConfig {
            max_failures: 97,
            ..c
        };
        assert_eq!(lock_for(&late, 99), 40);
        assert_eq!(lock_for(&late, 100), LOCKED_FOREVER);
        assert_eq!(
            crate::store::lock_end(1_000, LOCKED_FOREVER),
            LOCKED_FOREVER
        );
        assert_eq!(crate::store::lock_end(1_000, 0), 0);
    }
}
