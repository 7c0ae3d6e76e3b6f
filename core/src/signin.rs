//! The sign-in decision (FRAMEWORKS.md §4), made once in core so both framework layers behave the
//! same by construction.
//!
//! **Password step** ([`SignIn::password`]):
//! 1. The login is normalised with [`normalize_login`]. A malformed login cannot name an account:
//!    it spends a dummy verification and fails with `invalid_credentials`, like an unknown one.
//! 2. Throttle (RL-1): an attempt is reserved with [`Throttle::attempt`] on
//!    [`login_throttle_key`] (`signin:<login>`) and, when the caller gives a throttle context
//!    (e.g. the client IP from a trusted proxy list), a second one on [`context_throttle_key`]
//!    (`signin-ctx:<login length>:<login>:<context>`), both *before* any verification, so a
//!    burst of concurrent guesses cannot all pass before one is counted. Either key locked is
//!    `rate_limited`. The per-login key bounds guessing against one account from everywhere
//!    (including distributed guessing). The per-(login, context) key records in the store how
//!    many failures came from one client, so an operator can see them or clear them for that
//!    client alone; with the one schedule used here it never locks before the per-login key
//!    (which counts every context's failures), so today it adds bookkeeping, not a stricter
//!    limit. Both keys are reset on a correct password (before the second factor, which has its
//!    own throttle in [`Mfa`]). A malformed login has no key and is not counted.
//! 3. Unknown account, disabled account, account without a password: a dummy verification (the
//!    same argon2id work as a real one, PW-11) then `invalid_credentials`; a wrong password is
//!    `invalid_credentials` too. Every failure is the identical [`Error::InvalidCredentials`].
//! 4. A correct password on a legacy or weak hash stores the upgraded hash with
//!    [`Accounts::replace_password_hash`], which only replaces the hash that was verified (a
//!    concurrent password change wins).
//! 5. With a confirmed MFA factor, the step returns [`SignInResult::MfaRequired`] with a
//!    single-use one-time token (purpose [`MFA_PURPOSE`], 300 s); otherwise a session starts
//!    with the account's claims plus `amr: ["pwd"]`.
//!
//! **Second step** ([`SignIn::second_factor`]): the token is consumed (once), the code or
//! recovery code is checked by [`Mfa`] (its own throttle applies), and success starts the session
//! with `amr: ["pwd", "otp"]` or `["pwd", "recovery"]`. Any unusable token (unknown, used,
//! expired, another purpose, malformed) is `invalid_token` with one message: the client's only
//! remedy is to sign in again, so the cases need not be told apart, and `invalid_credentials`
//! would wrongly suggest the password was wrong. A wrong code is not an error of the call but
//! [`SecondFactorOutcome::Retry`], carrying the error to report (`totp_invalid` or
//! `totp_replayed`) and a fresh token for the same password step; the fifth wrong code of a step
//! is a plain `totp_invalid` with no token. A malformed code counts as a wrong one (a typo does
//! not end the step). Fresh tokens keep the step's original deadline, so retries never extend
//! it past [`MFA_TOKEN_TTL`]. Tokens never go into [`Error`], whose messages are logged. The
//! code is checked under the MFA throttle key of the subject alone (no context: the token does
//! not carry one); `rate_limited` from it ends the step (the token is spent). An account
//! disabled or removed between the steps fails with `invalid_credentials`.
//!
//! Without an [`Mfa`], an account with a confirmed factor cannot sign in (`invalid_config`):
//! forgetting to configure MFA must never skip it.

use serde_json::{json, Map, Value};

use crate::account::{normalize_login, Account, Accounts};
use crate::error::{Error, Result};
use crate::mfa::{Mfa, MAX_THROTTLE_CONTEXT};
use crate::onetime::OneTimeTokens;
use crate::session::{check_required, Sessions, TokenPair};
use crate::throttle::{Throttle, ThrottleConfig};
use crate::token;

/// The purpose of the one-time tokens that link the password step to the second factor.
pub const MFA_PURPOSE: &str = "mfa_challenge";

/// How long a password step waits for its second factor, in seconds. Fresh tokens after a wrong
/// code keep the step's original deadline.
pub const MFA_TOKEN_TTL: u64 = 300;

/// Wrong codes allowed per password step; the last one gets no fresh token.
pub const MAX_SECOND_FACTOR_TRIES: u32 = 5;

/// The throttle key of the password step for a normalised login: `signin:<login>` (a login is at
/// most 320 bytes, so this stays within the throttle's 512-byte keys).
pub fn login_throttle_key(login: &str) -> String {
    format!("signin:{login}")
}

/// The throttle key of the password step for a normalised login within a throttle context:
/// `signin-ctx:<login length>:<login>:<context>` (the length keeps every login/context pair
/// apart), or a SHA-256 digest of it beyond 512 bytes.
pub fn context_throttle_key(login: &str, context: &str) -> String {
    crate::throttle::context_key("signin-ctx", login, context)
}

/// What the password step decided.
#[derive(Debug, Clone)]
pub enum SignInResult {
    /// Signed in: a new session with `amr: ["pwd"]`.
    Ok(TokenPair),
    /// The account has a confirmed second factor: pass `mfa_token` to
    /// [`SignIn::second_factor`] within [`MFA_TOKEN_TTL`] seconds.
    MfaRequired {
        /// The single-use token of this password step.
        mfa_token: String,
    },
}

/// What the second step decided, when the call itself did not fail.
#[derive(Debug, Clone)]
pub enum SecondFactorOutcome {
    /// Signed in: a new session with `amr: ["pwd", "otp"]` or `["pwd", "recovery"]`.
    Signed(TokenPair),
    /// The code was wrong (or replayed); the caller reports `error` (401 `totp_invalid` or
    /// `totp_replayed`) together with `mfa_token`, a fresh token for the same password step.
    Retry {
        /// `Error::TotpInvalid` or `Error::TotpReplayed`.
        error: Error,
        /// The fresh single-use token (same step, same deadline).
        mfa_token: String,
        /// Wrong codes still allowed in this step (at least 1).
        tries_left: u32,
    },
}

/// The sign-in flow over accounts, sessions, an optional second factor, a throttle and one-time
/// tokens. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SignIn {
    accounts: Accounts,
    sessions: Sessions,
    mfa: Option<Mfa>,
    throttle: Throttle,
    one_time: OneTimeTokens,
}

/// What a challenge token carries besides its subject.
struct Step {
    id: String,
    failures: u32,
    deadline: i64,
}

impl Step {
    fn to_value(&self) -> Value {
        json!({"step": self.id, "failures": self.failures, "deadline": self.deadline})
    }

    fn from_value(data: Option<&Value>) -> Option<Step> {
        let d = data?;
        Some(Step {
            id: d.get("step")?.as_str()?.to_owned(),
            failures: u32::try_from(d.get("failures")?.as_u64()?).ok()?,
            deadline: d.get("deadline")?.as_i64()?,
        })
    }
}

fn bad_mfa_token() -> Error {
    Error::InvalidToken("mfa token is not valid; sign in again".into())
}

impl SignIn {
    /// The flow; `throttle` defaults to the default schedule over the accounts' store and
    /// `one_time` to one-time tokens in that store. `mfa` `None` means no account may have a
    /// confirmed factor (one that has is refused with `invalid_config`, never let in without it).
    /// Fails only when the default throttle cannot be built.
    pub fn new(
        accounts: Accounts,
        sessions: Sessions,
        mfa: Option<Mfa>,
        throttle: Option<Throttle>,
        one_time: Option<OneTimeTokens>,
    ) -> Result<SignIn> {
        let store = accounts.store().clone();
        let throttle = match throttle {
            Some(t) => t,
            None => Throttle::new(store.clone(), ThrottleConfig::default())?,
        };
        let one_time = one_time.unwrap_or_else(|| OneTimeTokens::new(store));
        Ok(SignIn {
            accounts,
            sessions,
            mfa,
            throttle,
            one_time,
        })
    }

    /// The accounts signed in to.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The sessions started.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The throttle of the password step.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// The password step (see the module documentation). `meta` is stored with the session;
    /// `throttle_context` (e.g. the client IP, 1 to 256 bytes without NUL) adds a second throttle
    /// key. Fails with `invalid_credentials` (every wrong login or password, unknown, disabled or
    /// password-less account), `rate_limited`, `invalid_input` (a password the hasher refuses, a
    /// bad context), `store_unavailable`.
    pub async fn password(
        &self,
        login: &str,
        password: &str,
        meta: Option<Map<String, Value>>,
        throttle_context: Option<&str>,
    ) -> Result<SignInResult> {
        let password = crate::password::password_from_str(password)?;
        if let Some(c) = throttle_context {
            check_required(c, "throttle context", MAX_THROTTLE_CONTEXT)?;
        }
        let hasher = self.accounts.hasher();
        let Ok(login) = normalize_login(login) else {
            hasher.dummy_verify_async().await?;
            return Err(Error::InvalidCredentials);
        };
        let mut keys = vec![login_throttle_key(&login)];
        if let Some(c) = throttle_context {
            keys.push(context_throttle_key(&login, c));
        }
        for key in &keys {
            self.throttle.attempt(key).await?;
        }
        let account = self.accounts.store().account_find(&login).await?;
        let usable = account
            .map(Account::from)
            .filter(|a| !a.disabled && a.has_password());
        let Some((account, stored)) = usable.and_then(|a| {
            let h = a.password_hash()?.to_owned();
            Some((a, h))
        }) else {
            hasher.dummy_verify_async().await?;
            return Err(Error::InvalidCredentials);
        };
        let outcome = hasher
            .verify_and_update_async(stored.clone(), password)
            .await?;
        if !outcome.valid {
            return Err(Error::InvalidCredentials);
        }
        if let Some(new_hash) = &outcome.new_hash {
            // False when the password changed meanwhile: that change wins, and this sign-in,
            // made with the password that was current when it was checked, still stands.
            self.accounts
                .replace_password_hash(&account.subject, &stored, new_hash)
                .await?;
        }
        for key in &keys {
            self.throttle.reset(key).await?;
        }
        if self.has_factor(&account.subject).await? {
            let step = Step {
                id: random_id()?,
                failures: 0,
                deadline: token::now() + MFA_TOKEN_TTL as i64,
            };
            let mfa_token = self
                .one_time
                .issue(
                    &account.subject,
                    MFA_PURPOSE,
                    MFA_TOKEN_TTL,
                    Some(step.to_value()),
                )
                .await?;
            return Ok(SignInResult::MfaRequired { mfa_token });
        }
        let pair = self.start(&account, &["pwd"], meta).await?;
        Ok(SignInResult::Ok(pair))
    }

    /// The second step: exactly one of `code` (TOTP) and `recovery_code` (else `invalid_input`,
    /// checked before the token is spent). See [`SecondFactorOutcome`] for a wrong code; errors:
    /// `invalid_token` (unusable mfa token), `totp_invalid` (the last wrong code of the step),
    /// `rate_limited` (the MFA throttle; the step ends), `invalid_credentials` (the account was
    /// disabled or removed meanwhile), `store_unavailable`.
    pub async fn second_factor(
        &self,
        mfa_token: &str,
        code: Option<&str>,
        recovery_code: Option<&str>,
        meta: Option<Map<String, Value>>,
    ) -> Result<SecondFactorOutcome> {
        self.second_factor_at(mfa_token, code, recovery_code, meta, token::now())
            .await
    }

    /// `second_factor` with the TOTP clock at `now` (seconds since the epoch); token expiry and
    /// throttling stay on the server clock.
    pub async fn second_factor_at(
        &self,
        mfa_token: &str,
        code: Option<&str>,
        recovery_code: Option<&str>,
        meta: Option<Map<String, Value>>,
        now: i64,
    ) -> Result<SecondFactorOutcome> {
        let Some(mfa) = &self.mfa else {
            return Err(Error::InvalidConfig(
                "sign-in has no second factor configured".into(),
            ));
        };
        if code.is_some() == recovery_code.is_some() {
            return Err(Error::InvalidInput(
                "give exactly one of code and recovery_code".into(),
            ));
        }
        let (subject, data) = match self.one_time.consume(mfa_token, MFA_PURPOSE).await {
            Ok(v) => v,
            Err(e @ Error::StoreUnavailable(_)) | Err(e @ Error::Internal(_)) => return Err(e),
            Err(_) => return Err(bad_mfa_token()),
        };
        let step = Step::from_value(data.as_ref()).ok_or_else(bad_mfa_token)?;
        let account = self
            .accounts
            .get(&subject)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(Error::InvalidCredentials)?;
        let (checked, amr) = match (code, recovery_code) {
            (Some(c), _) => (
                mfa.verify_in(&subject, c, None, now).await.map(|_| ()),
                "otp",
            ),
            (_, Some(r)) => (
                mfa.verify_recovery_code_in(&subject, r, None, now)
                    .await
                    .map(|_| ()),
                "recovery",
            ),
            _ => unreachable!("exactly one was checked above"),
        };
        match checked {
            Ok(()) => {
                let pair = self.start(&account, &["pwd", amr], meta).await?;
                Ok(SecondFactorOutcome::Signed(pair))
            }
            // A malformed code (e.g. an over-long recovery code) is a wrong try like any other,
            // so a typo does not cost the user the password step.
            Err(Error::InvalidInput(_)) => self.retry(&subject, step, Error::TotpInvalid).await,
            Err(error @ (Error::TotpInvalid | Error::TotpReplayed)) => {
                self.retry(&subject, step, error).await
            }
            Err(e) => Err(e),
        }
    }

    /// A wrong code: a fresh token for the same step, or `totp_invalid` once the step has had
    /// [`MAX_SECOND_FACTOR_TRIES`] wrong codes or its deadline has passed.
    async fn retry(&self, subject: &str, step: Step, error: Error) -> Result<SecondFactorOutcome> {
        let failures = step.failures.saturating_add(1);
        let ttl = step.deadline - token::now();
        if failures >= MAX_SECOND_FACTOR_TRIES || ttl <= 0 {
            return Err(Error::TotpInvalid);
        }
        let next = Step {
            id: step.id,
            failures,
            deadline: step.deadline,
        };
        let mfa_token = self
            .one_time
            .issue(subject, MFA_PURPOSE, ttl as u64, Some(next.to_value()))
            .await?;
        Ok(SecondFactorOutcome::Retry {
            error,
            mfa_token,
            tries_left: MAX_SECOND_FACTOR_TRIES - failures,
        })
    }

    /// Whether `subject` has a confirmed factor; without an `Mfa`, one is a configuration error.
    async fn has_factor(&self, subject: &str) -> Result<bool> {
        match &self.mfa {
            Some(m) => Ok(m.status(subject).await?.enabled),
            None => {
                let confirmed = self
                    .accounts
                    .store()
                    .mfa_get(subject)
                    .await?
                    .is_some_and(|r| r.secret.is_some());
                if confirmed {
                    Err(Error::InvalidConfig(
                        "an account has a second factor but sign-in has no Mfa configured".into(),
                    ))
                } else {
                    Ok(false)
                }
            }
        }
    }

    /// A new session with the account's claims and `amr`.
    async fn start(
        &self,
        account: &Account,
        amr: &[&str],
        meta: Option<Map<String, Value>>,
    ) -> Result<TokenPair> {
        let mut claims = account.claims.clone();
        claims.insert("amr".into(), json!(amr));
        self.sessions
            .start(&account.subject, claims, meta.unwrap_or_default())
            .await
    }
}

fn random_id() -> Result<String> {
    crate::session::random_b64(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_keys_stay_apart_and_bounded() {
        assert_eq!(login_throttle_key("alice"), "signin:alice");
        assert_eq!(context_throttle_key("a", "b:c"), "signin-ctx:1:a:b:c");
        assert_ne!(
            context_throttle_key("a", "b:c"),
            context_throttle_key("a:b", "c")
        );
        let long = context_throttle_key(&"x".repeat(320), &"y".repeat(256));
        assert!(long.starts_with("signin-ctx-sha256:") && long.len() <= 512);
        assert_ne!(
            long,
            context_throttle_key(&"x".repeat(320), &"z".repeat(256))
        );
    }

    #[test]
    fn step_data_round_trips_and_rejects_garbage() {
        let s = Step {
            id: "abc".into(),
            failures: 3,
            deadline: 42,
        };
        let back = Step::from_value(Some(&s.to_value())).unwrap();
        assert_eq!(
            (back.id.as_str(), back.failures, back.deadline),
            ("abc", 3, 42)
        );
        assert!(Step::from_value(None).is_none());
        assert!(
            Step::from_value(Some(&json!({"step": "x", "failures": -1, "deadline": 1}))).is_none()
        );
    }
}
