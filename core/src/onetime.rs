//! Single-use, purpose-bound tokens for email verification, password reset and magic links:
//! `pot_` + base64url(32 random bytes), stored as SHA-256 only. `consume` succeeds once; a wrong
//! purpose (`invalid_type`), expiry (`token_expired`) and reuse (`token_used`) are told apart.

use serde_json::Value;

use crate::clock;
use crate::error::{Error, Result};
use crate::input::{check_required, check_text};
use crate::opaque::{check_format, token_hash};
use crate::store::{Consumption, Store};

pub const ONE_TIME_PREFIX: &str = "pot_";
/// Lifetime of a one-time token when the caller gives none, seconds (1 hour).
pub const DEFAULT_TTL: u64 = 3600;

#[derive(Clone, Debug)]
pub struct OneTimeTokens {
    store: Store,
}

impl OneTimeTokens {
    pub fn new(store: Store) -> Self {
        OneTimeTokens { store }
    }

    /// Issues a token for `subject` and `purpose`, valid for `ttl` seconds, carrying `data`.
    pub async fn issue(
        &self,
        subject: &str,
        purpose: &str,
        ttl: u64,
        data: Option<Value>,
    ) -> Result<String> {
        self.issue_at(subject, purpose, ttl, data, clock::now())
            .await
    }

    pub async fn issue_at(
        &self,
        subject: &str,
        purpose: &str,
        ttl: u64,
        data: Option<Value>,
        now: i64,
    ) -> Result<String> {
        check_required(purpose, "purpose", 64)?;
        check_required(subject, "subject", 1024)?;
        check_ttl(ttl)?;
        if data
            .as_ref()
            .is_some_and(|d| serde_json::to_vec(d).map_or(usize::MAX, |v| v.len()) > 16 * 1024)
        {
            return Err(Error::InvalidInput(
                "data must be at most 16 KiB of JSON".into(),
            ));
        }
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(bytes.as_mut())
            .map_err(|_| Error::Internal("random generator failed".into()))?;
        let t = format!("{ONE_TIME_PREFIX}{}", crate::b64::encode(bytes.as_ref()));
        self.store
            .insert_one_time(
                &token_hash(&t),
                subject,
                purpose,
                data.as_ref(),
                now + ttl as i64,
            )
            .await?;
        Ok(t)
    }

    /// Consumes `token` for `purpose`: returns the subject and data, once.
    pub async fn consume(&self, token: &str, purpose: &str) -> Result<(String, Option<Value>)> {
        self.consume_at(token, purpose, clock::now()).await
    }

    pub async fn consume_at(
        &self,
        token: &str,
        purpose: &str,
        now: i64,
    ) -> Result<(String, Option<Value>)> {
        self.look_up(token, purpose, now, true).await
    }

    /// What [`consume`](Self::consume) would return now, without spending the token (the same
    /// errors): e.g. to show a password-reset form only for a usable link, or to check a new
    /// password against the account's policy before the token is spent. Never a substitute for
    /// `consume`: two peeks can both succeed, one consumption only.
    pub async fn peek(&self, token: &str, purpose: &str) -> Result<(String, Option<Value>)> {
        self.peek_at(token, purpose, clock::now()).await
    }

    /// `peek` at `now` (seconds since the epoch).
    pub async fn peek_at(
        &self,
        token: &str,
        purpose: &str,
        now: i64,
    ) -> Result<(String, Option<Value>)> {
        self.look_up(token, purpose, now, false).await
    }

    async fn look_up(
        &self,
        token: &str,
        purpose: &str,
        now: i64,
        consume: bool,
    ) -> Result<(String, Option<Value>)> {
        check_format(token, ONE_TIME_PREFIX)?;
        check_text(purpose, "purpose", 64)?;
        let hash = token_hash(token);
        outcome(if consume {
            self.store.consume_one_time(&hash, purpose, now).await?
        } else {
            self.store.peek_one_time(&hash, purpose, now).await?
        })
    }
}

/// A one-time token lives 1 second to 30 days.
pub(crate) fn check_ttl(ttl: u64) -> Result<()> {
    if ttl == 0 || ttl > 30 * 86_400 {
        return Err(Error::InvalidInput(
            "ttl must be between 1 second and 30 days".into(),
        ));
    }
    Ok(())
}

fn outcome(c: Consumption) -> Result<(String, Option<Value>)> {
    match c {
        Consumption::Consumed { subject, data } => Ok((subject, data)),
        Consumption::Unknown => Err(Error::InvalidToken("unknown one-time token".into())),
        Consumption::WrongPurpose => Err(Error::InvalidType(
            "token issued for another purpose".into(),
        )),
        Consumption::Expired => Err(Error::TokenExpired),
        Consumption::Used => Err(Error::TokenUsed),
    }
}
