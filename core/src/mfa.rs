//! Store-backed TOTP second factor: enrollment (pending until confirmed with a code), replay-safe
//! verification, recovery codes, and throttled failures.
//!
//! - OTP-2: a code is accepted at most once. The matched time step must be later than the stored
//!   last step, and the store advances it with one conditional update (`mfa_accept_step`), so of
//!   any number of concurrent submissions of one code exactly one succeeds.
//! - OTP-3 / OTP-6: the window and the constant-time comparison are `Totp`'s; the clock is the
//!   server's.
//! - OTP-5: secrets are AES-256-GCM encrypted under the application's key before they reach the
//!   store, with the subject as associated data (a ciphertext copied to another subject's row
//!   does not decrypt) and a key id, so keys can be rotated: the first key encrypts, every key
//!   decrypts, and a secret found under an older key is re-encrypted on its next successful use.
//! - OTP-7: ten recovery codes of 120 random bits each, stored as SHA-256 only, consumed once.
//! - RL-1: every attempt (TOTP or recovery code, confirm included) is reserved atomically in the
//!   throttle under `mfa:<subject>` before the code is checked, and the counter is reset on
//!   success. `verify_in` / `verify_recovery_code_in` take a throttle context (e.g. the client's
//!   IP address) that narrows the key to that subject and context ([`throttle_key_in`]), so one
//!   address's failures lock only its own key. A subject without a factor (or enrollment) is
//!   counted alike, so the throttle does not tell who has one. Not counted: malformed input
//!   (refused before any work) and a stored secret that does not decrypt (the application's
//!   failure, not the user's). The throttle always runs on the server clock: an injected `now`
//!   moves only the TOTP clock (and enrollment expiry), never a lock.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::clock;
use crate::error::{Error, Result};
use crate::input::check_required;
use crate::store::{MfaConfirmation, MfaRecord, RecoveryUse, Store};
use crate::throttle::{Throttle, ThrottleConfig};
use crate::totp::{self, Totp};

mod keyring;
mod recovery;

pub use keyring::{generate_key, EncryptionKeys, KeyMaterial};
pub use recovery::RECOVERY_CODE_COUNT;
use recovery::{normalize_recovery, recovery_codes, recovery_hash};

#[derive(Debug, Clone)]
pub struct MfaConfig {
    /// How long a pending enrollment can be confirmed, in seconds (default 15 minutes).
    pub enrollment_ttl: i64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        MfaConfig {
            enrollment_ttl: 900,
        }
    }
}

crate::options::deserialize_with_options!(MfaConfig, "Mfa");

impl MfaConfig {
    /// Reads `enrollment_ttl` (whole seconds, 60 to 86400).
    pub fn from_options(mut o: crate::options::Options) -> Result<Self> {
        let c = MfaConfig {
            enrollment_ttl: o.whole(
                "enrollment_ttl",
                Self::default().enrollment_ttl,
                60..=86_400,
            )?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// What `begin_enrollment` returns: show the QR code (or the secret, for typing) once.
pub struct Enrollment {
    pub secret: Zeroizing<String>,
    pub uri: Zeroizing<String>,
    pub qr_svg: String,
    /// Until when `confirm` accepts a code for it.
    pub expires_at: i64,
}

impl fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrollment")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaStatus {
    /// A confirmed factor exists: ask for a code at login.
    pub enabled: bool,
    /// An enrollment is waiting for `confirm` (and has not lapsed).
    pub pending: bool,
    pub confirmed_at: Option<i64>,
    /// When a TOTP code was last accepted.
    pub last_used_at: Option<i64>,
    pub recovery_codes_remaining: u32,
}

/// The TOTP second factor over a store.
#[derive(Clone)]
pub struct Mfa {
    store: Store,
    totp: Totp,
    keys: Arc<EncryptionKeys>,
    throttle: Throttle,
    config: MfaConfig,
}

impl fmt::Debug for Mfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mfa")
            .field("backend", &self.store.backend())
            .field("key_ids", &self.keys.key_ids())
            .field("enrollment_ttl", &self.config.enrollment_ttl)
            .finish_non_exhaustive()
    }
}

/// The throttle key of a subject's second factor: `mfa:<subject>`, or a digest of the subject
/// when that would exceed the throttle's 512-byte keys.
pub fn throttle_key(subject: &str) -> String {
    if subject.len() <= 508 {
        format!("mfa:{subject}")
    } else {
        format!(
            "mfa-sha256:{}",
            hex::encode(Sha256::digest(subject.as_bytes()))
        )
    }
}

/// Longest throttle context accepted (an IP address, a device id...).
pub const MAX_THROTTLE_CONTEXT: usize = 256;

/// The throttle key of a subject's second factor within a throttle context (e.g. the client's IP
/// address): [`throttle_key`] without one; with one, `mfa-ctx:<subject length>:<subject>:<context>`
/// (never equal to another subject's or context's key), or a digest of it beyond 512 bytes.
pub fn throttle_key_in(subject: &str, context: Option<&str>) -> String {
    let Some(context) = context else {
        return throttle_key(subject);
    };
    crate::throttle::context_key("mfa-ctx", subject, context)
}

fn check_context(context: Option<&str>) -> Result<()> {
    match context {
        Some(c) => check_required(c, "throttle context", MAX_THROTTLE_CONTEXT),
        None => Ok(()),
    }
}

fn check_subject(subject: &str) -> Result<()> {
    check_required(subject, "subject", 1024)
}

/// An injected clock must be a time since the epoch; returns it as the TOTP primitives take it.
fn check_now(now: i64) -> Result<u64> {
    u64::try_from(now).map_err(|_| {
        Error::InvalidInput("now must be seconds since the epoch (not negative)".into())
    })
}

impl Mfa {
    /// The second factor over `store`, with codes checked by `totp`, secrets encrypted with
    /// `keys` and failures counted by `throttle` (default: the default schedule over `store`);
    /// `invalid_config` for a bad `enrollment_ttl`.
    pub fn new(
        store: Store,
        totp: Totp,
        keys: EncryptionKeys,
        throttle: Option<Throttle>,
        config: MfaConfig,
    ) -> Result<Mfa> {
        if !(60..=86_400).contains(&config.enrollment_ttl) {
            return Err(Error::InvalidConfig(
                "enrollment_ttl must be 60 to 86400 seconds".into(),
            ));
        }
        let throttle = match throttle {
            Some(t) => t,
            None => Throttle::new(store.clone(), ThrottleConfig::default())?,
        };
        Ok(Mfa {
            store,
            totp,
            keys: Arc::new(keys),
            throttle,
            config,
        })
    }

    /// [`Mfa::new`] from what a binding received: the key materials (the encrypting one first)
    /// and the options (`enrollment_ttl`).
    pub fn from_options(
        store: Store,
        totp: Totp,
        keys: &[KeyMaterial],
        throttle: Option<Throttle>,
        options: crate::options::Options,
    ) -> Result<Mfa> {
        let config = MfaConfig::from_options(options)?;
        Mfa::new(store, totp, EncryptionKeys::new(keys)?, throttle, config)
    }

    /// The TOTP settings codes are checked with.
    pub fn totp(&self) -> &Totp {
        &self.totp
    }

    /// The store the factors live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Ids of the encryption keys, the encrypting one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.key_ids()
    }

    /// The enrollment settings.
    pub fn config(&self) -> &MfaConfig {
        &self.config
    }

    /// Starts (or restarts) enrollment: a new secret, stored encrypted as pending. A confirmed
    /// factor keeps working until the new one is confirmed.
    pub async fn begin_enrollment(&self, subject: &str, account: &str) -> Result<Enrollment> {
        self.begin_enrollment_at(subject, account, clock::now())
            .await
    }

    /// `begin_enrollment` at `now` (seconds since the epoch).
    pub async fn begin_enrollment_at(
        &self,
        subject: &str,
        account: &str,
        now: i64,
    ) -> Result<Enrollment> {
        check_now(now)?;
        check_subject(subject)?;
        let secret = self.totp.generate_secret()?;
        let uri = Zeroizing::new(self.totp.uri(&secret, account)?);
        let qr_svg = totp::qr_svg(&uri)?;
        let sealed = self.keys.seal(subject, &secret)?;
        let expires_at = now.saturating_add(self.config.enrollment_ttl);
        self.store.mfa_begin(subject, &sealed, expires_at).await?;
        Ok(Enrollment {
            secret,
            uri,
            qr_svg,
            expires_at,
        })
    }

    /// Reserves a throttled attempt under `key` (`rate_limited` while locked), on the server
    /// clock whatever `now` the caller injected (OTP-6, RL-1).
    async fn attempt(&self, key: &str) -> Result<()> {
        self.throttle.attempt(key).await.map(drop)
    }

    async fn succeeded(&self, key: &str) -> Result<()> {
        self.throttle.reset(key).await
    }

    /// A code's shape: `invalid_input` when oversized, `totp_invalid` when it cannot be a code.
    fn check_code(&self, code: &str) -> Result<()> {
        if self.totp.well_formed(code)? {
            Ok(())
        } else {
            Err(Error::TotpInvalid)
        }
    }

    /// Confirms the pending enrollment with a code from the user's app; returns the recovery
    /// codes (show them once: only their hashes are kept). They replace any earlier ones.
    pub async fn confirm(&self, subject: &str, code: &str) -> Result<Vec<Zeroizing<String>>> {
        self.confirm_at(subject, code, clock::now()).await
    }

    /// `confirm` at `now`.
    pub async fn confirm_at(
        &self,
        subject: &str,
        code: &str,
        now: i64,
    ) -> Result<Vec<Zeroizing<String>>> {
        let clock = check_now(now)?;
        check_subject(subject)?;
        self.check_code(code)?;
        let record = self.store.mfa_get(subject).await?;
        let pending = record
            .as_ref()
            .and_then(|r| r.pending_secret.as_deref().zip(r.pending_expires_at))
            .filter(|(_, expires_at)| *expires_at > now);
        let Some((pending, _)) = pending else {
            // Counted like a wrong code, so that subjects with and without an enrollment behave
            // alike under the throttle.
            self.attempt(&throttle_key(subject)).await?;
            return Err(Error::TotpInvalid);
        };
        // A secret that does not decrypt is the application's failure, not the user's: decrypt
        // before the attempt is counted. The code is checked only after it is reserved.
        let opened = self.keys.open(subject, pending)?;
        self.attempt(&throttle_key(subject)).await?;
        let Some(step) = self.totp.verify(&opened.secret, code, None, clock)? else {
            return Err(Error::TotpInvalid);
        };
        let (codes, hashes) = recovery_codes()?;
        let secret = self.keys.seal(subject, &opened.secret)?;
        let confirmation = MfaConfirmation {
            expected_pending: pending,
            secret: &secret,
            step: step as i64,
            now,
            code_hashes: &hashes,
        };
        if !self.store.mfa_confirm(subject, &confirmation).await? {
            // Another confirm with this code won, or a new enrollment replaced this one.
            return Err(Error::TotpReplayed);
        }
        self.succeeded(&throttle_key(subject)).await?;
        Ok(codes)
    }

    /// Checks a code of the confirmed factor; returns the accepted time step. Each code is
    /// accepted at most once (`totp_replayed` after that, also for an earlier step than the last
    /// accepted one); a wrong code is `totp_invalid`; too many failures are `rate_limited`.
    pub async fn verify(&self, subject: &str, code: &str) -> Result<u64> {
        self.verify_at(subject, code, clock::now()).await
    }

    /// `verify` at `now` (the TOTP clock; the throttle stays on the server clock).
    pub async fn verify_at(&self, subject: &str, code: &str, now: i64) -> Result<u64> {
        self.verify_in(subject, code, None, now).await
    }

    /// `verify_at` with failures counted under `subject` and `context` (e.g. the client's IP
    /// address, see [`throttle_key_in`]) instead of `subject` alone; `None` is `verify_at`.
    /// `invalid_input` for an empty context, one over 256 bytes or one with NUL.
    pub async fn verify_in(
        &self,
        subject: &str,
        code: &str,
        context: Option<&str>,
        now: i64,
    ) -> Result<u64> {
        let clock = check_now(now)?;
        check_subject(subject)?;
        check_context(context)?;
        self.check_code(code)?;
        let key = throttle_key_in(subject, context);
        let record = self.store.mfa_get(subject).await?;
        let Some((stored, last_step)) = record
            .as_ref()
            .and_then(|r| r.secret.as_deref().map(|s| (s, r.last_step)))
        else {
            // Counted like a wrong code: whether a subject has a factor does not show.
            self.attempt(&key).await?;
            return Err(Error::TotpInvalid);
        };
        // As in `confirm_at`: decrypt, then reserve the attempt, then check the code. The step
        // read here is only a hint; `mfa_accept_step` decides atomically.
        let opened = self.keys.open(subject, stored)?;
        self.attempt(&key).await?;
        let after = u64::try_from(last_step).ok();
        let Some(step) = self.totp.verify(&opened.secret, code, after, clock)? else {
            return Err(
                if self
                    .totp
                    .verify(&opened.secret, code, None, clock)?
                    .is_some()
                {
                    Error::TotpReplayed
                } else {
                    Error::TotpInvalid
                },
            );
        };
        let rewritten = if opened.stale {
            Some(self.keys.seal(subject, &opened.secret)?)
        } else {
            None
        };
        let keep = rewritten.as_deref().unwrap_or(stored);
        if !self
            .store
            .mfa_accept_step(subject, stored, keep, step as i64, now)
            .await?
        {
            // A concurrent submission accepted this step (or a later one) first, or the factor
            // was replaced in between.
            let current = self.store.mfa_get(subject).await?;
            return Err(match current.and_then(|r| r.secret) {
                Some(s) if s == stored => Error::TotpReplayed,
                _ => Error::TotpInvalid,
            });
        }
        self.succeeded(&key).await?;
        Ok(step)
    }

    /// Consumes a recovery code (case, spaces and dashes do not matter); returns how many unused
    /// codes remain. A used code is `totp_replayed`, an unknown one `totp_invalid`.
    pub async fn verify_recovery_code(&self, subject: &str, code: &str) -> Result<u32> {
        self.verify_recovery_code_at(subject, code, clock::now())
            .await
    }

    /// `verify_recovery_code` at `now` (when the code is marked used; the throttle stays on the
    /// server clock).
    pub async fn verify_recovery_code_at(
        &self,
        subject: &str,
        code: &str,
        now: i64,
    ) -> Result<u32> {
        self.verify_recovery_code_in(subject, code, None, now).await
    }

    /// `verify_recovery_code_at` with failures counted under `subject` and `context`, as
    /// [`Mfa::verify_in`].
    pub async fn verify_recovery_code_in(
        &self,
        subject: &str,
        code: &str,
        context: Option<&str>,
        now: i64,
    ) -> Result<u32> {
        check_now(now)?;
        check_subject(subject)?;
        check_context(context)?;
        let Some(normalized) = normalize_recovery(code)? else {
            return Err(Error::TotpInvalid);
        };
        let key = throttle_key_in(subject, context);
        self.attempt(&key).await?;
        match self
            .store
            .mfa_use_recovery(subject, &recovery_hash(&normalized), now)
            .await?
        {
            RecoveryUse::Consumed(left) => {
                self.succeeded(&key).await?;
                Ok(u32::try_from(left).unwrap_or(0))
            }
            RecoveryUse::Used => Err(Error::TotpReplayed),
            RecoveryUse::Unknown => Err(Error::TotpInvalid),
        }
    }

    /// New recovery codes for the confirmed factor; every earlier code stops working.
    pub async fn regenerate_recovery_codes(&self, subject: &str) -> Result<Vec<Zeroizing<String>>> {
        check_subject(subject)?;
        let (codes, hashes) = recovery_codes()?;
        if !self.store.mfa_replace_recovery(subject, &hashes).await? {
            return Err(Error::InvalidInput(
                "the subject has no confirmed TOTP factor".into(),
            ));
        }
        Ok(codes)
    }

    /// Removes the factor, any pending enrollment and the recovery codes; false when there was
    /// none. The throttle counter is cleared too.
    pub async fn disable(&self, subject: &str) -> Result<bool> {
        check_subject(subject)?;
        let removed = self.store.mfa_delete(subject).await?;
        self.succeeded(&throttle_key(subject)).await?;
        Ok(removed)
    }

    /// Whether the subject has a factor, a pending enrollment, and how many recovery codes.
    pub async fn status(&self, subject: &str) -> Result<MfaStatus> {
        self.status_at(subject, clock::now()).await
    }

    /// `status` at `now` (which decides whether an enrollment is still pending).
    pub async fn status_at(&self, subject: &str, now: i64) -> Result<MfaStatus> {
        check_now(now)?;
        check_subject(subject)?;
        let r = self.store.mfa_get(subject).await?;
        Ok(match r {
            None => MfaStatus {
                enabled: false,
                pending: false,
                confirmed_at: None,
                last_used_at: None,
                recovery_codes_remaining: 0,
            },
            Some(MfaRecord {
                secret,
                confirmed_at,
                last_used_at,
                pending_secret,
                pending_expires_at,
                recovery_remaining,
                ..
            }) => MfaStatus {
                enabled: secret.is_some(),
                pending: pending_secret.is_some() && pending_expires_at.is_some_and(|t| t > now),
                confirmed_at,
                last_used_at,
                recovery_codes_remaining: u32::try_from(recovery_remaining).unwrap_or(0),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_subjects_get_a_digest_throttle_key() {
        assert_eq!(throttle_key("u1"), "mfa:u1");
        let long = "x".repeat(1024);
        let k = throttle_key(&long);
        assert!(k.starts_with("mfa-sha256:") && k.len() <= 512);
        assert!(throttle_key(&"y".repeat(508)).len() <= 512);
    }

    #[test]
    fn context_keys_are_distinct_and_bounded() {
        assert_eq!(throttle_key_in("u1", None), "mfa:u1");
        assert_eq!(
            throttle_key_in("u1", Some("203.0.113.7")),
            "mfa-ctx:2:u1:203.0.113.7"
        );
        // The length prefix keeps subject and context apart.
        assert_ne!(
            throttle_key_in("a:b", Some("c")),
            throttle_key_in("a", Some("b:c"))
        );
        let long = throttle_key_in(&"x".repeat(1024), Some(&"y".repeat(256)));
        assert!(long.starts_with("mfa-ctx-sha256:") && long.len() <= 512);
        assert_ne!(
            long,
            throttle_key_in(&"x".repeat(1024), Some(&"y".repeat(255)))
        );
    }
}
