//! Failure counters with exponential backoff and a lockout ceiling (RL-1), kept in the store so
//! every process and both languages see the same counts.

use crate::error::{Error, Result};
use crate::store::{Attempt, Counter, Store};
use crate::token;

/// The highest `max_failures` allowed (RL-1: at most 100 consecutive failures per account). From
/// this count on the lock is always `reset_after`, which lets a store evaluate the schedule once.
pub const MAX_FAILURES_CEILING: i64 = 100;

#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failures allowed before any delay (default 5).
    pub free_attempts: i64,
    /// First delay in seconds, doubled with every further failure (default 1).
    pub base_delay: i64,
    /// Longest delay between attempts in seconds (default 900).
    pub max_delay: i64,
    /// Consecutive failures after which the key stays locked until `reset` (default 100; RL-1).
    pub max_failures: i64,
    /// A key whose last failure is older than this starts over (default 1 day).
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

/// The lock a key gets after `failures` consecutive failures, in seconds.
pub fn lock_for(config: &ThrottleConfig, failures: i64) -> i64 {
    if failures >= config.max_failures {
        return config.reset_after;
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

#[derive(Clone, Debug)]
pub struct Throttle {
    store: Store,
    config: ThrottleConfig,
}

impl Throttle {
    pub fn new(store: Store, config: ThrottleConfig) -> Result<Self> {
        let c = &config;
        if c.free_attempts < 0
            || c.base_delay < 1
            || c.max_delay < c.base_delay
            || c.max_failures < 1
            || c.max_failures > MAX_FAILURES_CEILING
            || c.reset_after < 1
        {
            return Err(Error::InvalidConfig(
                "throttle: free_attempts >= 0, 1 <= base_delay <= max_delay, 1 <= max_failures <= 100, reset_after >= 1".into(),
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
        self.check_at(key, token::now()).await
    }

    pub async fn check_at(&self, key: &str, now: i64) -> Result<()> {
        Self::check_key(key)?;
        match self.store.throttle_get(key).await? {
            Some(c)
                if now - c.last_failure_at < self.config.reset_after && c.locked_until > now =>
            {
                Err(Error::RateLimited((c.locked_until - now) as u64))
            }
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the counter (failures so far, locked until).
    pub async fn fail(&self, key: &str) -> Result<Counter> {
        self.fail_at(key, token::now()).await
    }

    pub async fn fail_at(&self, key: &str, now: i64) -> Result<Counter> {
        Self::check_key(key)?;
        let config = self.config.clone();
        let lock = move |failures: i64| lock_for(&config, failures);
        self.store
            .throttle_fail(key, now, self.config.reset_after, &lock)
            .await
    }

    /// Reserves an attempt in one atomic step: fails with `rate_limited` while `key` is locked,
    /// and otherwise counts the attempt as a failure right away, so a burst of concurrent
    /// attempts cannot all pass before any is counted (as `check` then `fail` can). Call `reset`
    /// after a success.
    pub async fn attempt(&self, key: &str) -> Result<Counter> {
        self.attempt_at(key, token::now()).await
    }

    /// `attempt` at `now` (seconds since the epoch).
    pub async fn attempt_at(&self, key: &str, now: i64) -> Result<Counter> {
        Self::check_key(key)?;
        let config = self.config.clone();
        let lock = move |failures: i64| lock_for(&config, failures);
        match self
            .store
            .throttle_attempt(key, now, self.config.reset_after, &lock)
            .await?
        {
            Attempt::Allowed(c) => Ok(c),
            Attempt::Locked(until) => Err(Error::RateLimited(until.saturating_sub(now) as u64)),
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
        assert_eq!(lock_for(&c, 100), 86_400);
    }
}
