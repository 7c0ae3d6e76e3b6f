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
//!    with the account's claims plus `amr: ["pwd"]` and `auth_time` (the sign-in time, which
//!    refreshes keep).
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
//!
//! **Recovery** ([`SignIn::request_password_reset`], [`SignIn::reset_password`],
//! [`SignIn::request_email_verification`], [`SignIn::verify_email`]): single-use tokens on
//! [`OneTimeTokens`] carrying the login they were issued for. A reset checks the new password
//! with [`OneTimeTokens::peek`] before it spends the token (a refused password keeps the link),
//! then revokes every session of the account (session fixation: whoever had the old password is
//! out). An unknown login gets `None` after the same store work as a known one.
//!
//! **An application's own accounts**: [`SignIn::with_source`] takes an [`AccountSource`]
//! (`find(login)` with the normalised login, `set_password_hash(subject, hash)`) instead of the
//! built-in [`Accounts`]; every rule above is the same. Its second step finds the account again
//! by the login kept in the challenge token and requires the same subject.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::account::{normalize_login, Account, Accounts};
use crate::clock;
use crate::error::{Error, Result};
use crate::input::{check_claims, check_required};
use crate::mfa::{Mfa, MAX_THROTTLE_CONTEXT};
use crate::onetime::OneTimeTokens;
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::session::{Sessions, TokenPair};
use crate::store::Store;
use crate::throttle::{Throttle, ThrottleConfig};

/// The purpose of the one-time tokens that link the password step to the second factor.
pub const MFA_PURPOSE: &str = "mfa_challenge";

/// How long a password step waits for its second factor, in seconds. Fresh tokens after a wrong
/// code keep the step's original deadline.
pub const MFA_TOKEN_TTL: u64 = 300;

/// Wrong codes allowed per password step; the last one gets no fresh token.
pub const MAX_SECOND_FACTOR_TRIES: u32 = 5;

/// The purpose of password-reset tokens.
pub const PASSWORD_RESET_PURPOSE: &str = "password_reset";

/// How long a password-reset token lives by default, in seconds (OWASP: short-lived).
pub const PASSWORD_RESET_TTL: u64 = 3600;

/// The purpose of email-verification tokens.
pub const EMAIL_VERIFICATION_PURPOSE: &str = "email_verification";

/// How long an email-verification token lives by default, in seconds.
pub const EMAIL_VERIFICATION_TTL: u64 = 86_400;

/// The purpose of the tokens issued, and never returned, for a reset requested for an unknown
/// login: the same store work as a real request, so the two cannot be told apart by timing.
const DECOY_PURPOSE: &str = "password_reset_decoy";

/// The throttle key of password-reset requests for a normalised login.
pub fn reset_throttle_key(login: &str) -> String {
    format!("reset:{login}")
}

/// A boxed future, as [`AccountSource`] returns them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An account of an application's own user table, as its [`AccountSource`] returns it.
#[derive(Clone, PartialEq)]
pub struct AppAccount {
    /// The account's stable identifier (the `sub` of its tokens).
    pub subject: String,
    /// The stored password hash (any format the hasher verifies); `None`: no password sign-in.
    pub password_hash: Option<String>,
    /// A disabled account cannot sign in.
    pub disabled: bool,
    /// Claims for the access tokens of its sessions (a JSON object).
    pub claims: Map<String, Value>,
}

impl fmt::Debug for AppAccount {
    /// The password hash is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppAccount")
            .field("subject", &self.subject)
            .field("disabled", &self.disabled)
            .field("claims", &self.claims)
            .field("has_password", &self.password_hash.is_some())
            .finish()
    }
}

/// An application's own user table, used by the sign-in flow instead of the built-in
/// [`Accounts`] (the bindings implement it over a Python or JavaScript object).
pub trait AccountSource: Send + Sync + fmt::Debug {
    /// The account with this login, already normalised by [`normalize_login`]; `None` when
    /// there is none. Errors should be `store_unavailable`.
    fn find<'a>(&'a self, login: &'a str) -> BoxFuture<'a, Result<Option<AppAccount>>>;
    /// Stores a new password hash for `subject` (a hash upgrade after a sign-in, or a reset).
    fn set_password_hash<'a>(
        &'a self,
        subject: &'a str,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}

/// Where the flow finds accounts: the built-in ones, or an application's own.
#[derive(Clone, Debug)]
enum Directory {
    Builtin(Accounts),
    App {
        source: Arc<dyn AccountSource>,
        hasher: PasswordHasher,
        policy: Option<PasswordPolicy>,
        store: Store,
    },
}

impl Directory {
    fn store(&self) -> &Store {
        match self {
            Directory::Builtin(a) => a.store(),
            Directory::App { store, .. } => store,
        }
    }

    fn hasher(&self) -> &PasswordHasher {
        match self {
            Directory::Builtin(a) => a.hasher(),
            Directory::App { hasher, .. } => hasher,
        }
    }

    fn policy(&self) -> &PasswordPolicy {
        match self {
            Directory::Builtin(a) => a.policy(),
            Directory::App { policy, hasher, .. } => {
                policy.as_ref().unwrap_or_else(|| hasher.policy())
            }
        }
    }

    /// The account with a normalised login.
    async fn find(&self, login: &str) -> Result<Option<AppAccount>> {
        match self {
            Directory::Builtin(a) => Ok(a
                .store()
                .account_find(login)
                .await?
                .map(|r| Account::from(r).into())),
            Directory::App { source, .. } => {
                let found = source.find(login).await?;
                if let Some(a) = &found {
                    check_required(&a.subject, "account subject", 1024)?;
                    check_claims(&a.claims)?;
                }
                Ok(found)
            }
        }
    }

    /// The account of a step started for `subject` with `login`: the built-in one by subject,
    /// an application's by login with the same subject.
    async fn refind(&self, subject: &str, login: Option<&str>) -> Result<Option<AppAccount>> {
        match self {
            Directory::Builtin(a) => Ok(a.get(subject).await?.map(AppAccount::from)),
            Directory::App { .. } => match login {
                Some(l) => Ok(self.find(l).await?.filter(|a| a.subject == subject)),
                None => Ok(None),
            },
        }
    }

    /// Stores an upgraded hash: built-in accounts only replace the hash that was verified (a
    /// concurrent change wins); an application's source is simply told the new hash.
    async fn upgrade(&self, subject: &str, verified: &str, new_hash: &str) -> Result<()> {
        match self {
            Directory::Builtin(a) => a
                .replace_password_hash(subject, verified, new_hash)
                .await
                .map(|_| ()),
            Directory::App { source, .. } => source.set_password_hash(subject, new_hash).await,
        }
    }

    /// Stores a new password hash (a reset).
    async fn set_hash(&self, subject: &str, hash: &str) -> Result<()> {
        match self {
            Directory::Builtin(a) => a
                .store()
                .account_set_password_hash(subject, Some(hash), clock::now())
                .await?
                .map(|_| ())
                .ok_or_else(bad_reset_token),
            Directory::App { source, .. } => source.set_password_hash(subject, hash).await,
        }
    }
}

impl From<Account> for AppAccount {
    fn from(a: Account) -> Self {
        AppAccount {
            password_hash: a.password_hash().map(str::to_owned),
            subject: a.subject,
            disabled: a.disabled,
            claims: a.claims,
        }
    }
}

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
    directory: Directory,
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
    /// The normalised login, to find an application's account again.
    login: Option<String>,
}

impl Step {
    fn to_value(&self) -> Value {
        let mut v = json!({"step": self.id, "failures": self.failures, "deadline": self.deadline});
        if let Some(l) = &self.login {
            v["login"] = json!(l);
        }
        v
    }

    fn from_value(data: Option<&Value>) -> Option<Step> {
        let d = data?;
        let login = match d.get("login") {
            None => None,
            Some(l) => Some(l.as_str()?.to_owned()),
        };
        Some(Step {
            id: d.get("step")?.as_str()?.to_owned(),
            failures: u32::try_from(d.get("failures")?.as_u64()?).ok()?,
            deadline: d.get("deadline")?.as_i64()?,
            login,
        })
    }
}

fn bad_mfa_token() -> Error {
    Error::InvalidToken("mfa token is not valid; sign in again".into())
}

fn bad_reset_token() -> Error {
    Error::InvalidToken("the token no longer names an account".into())
}

/// The login a reset or verification token was issued for.
fn token_login(data: Option<&Value>) -> Result<String> {
    data.and_then(|d| d.get("login"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(bad_reset_token)
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
        Self::build(
            Directory::Builtin(accounts),
            sessions,
            mfa,
            throttle,
            one_time,
        )
    }

    /// The flow over an application's own accounts: `source` finds them and stores new hashes,
    /// `hasher` verifies and upgrades their hashes and hashes reset passwords (checked against
    /// `policy`, default the hasher's). Throttle counters and one-time tokens default to the
    /// sessions' store. Email verification needs built-in accounts (`invalid_config` here).
    pub fn with_source(
        source: Arc<dyn AccountSource>,
        hasher: PasswordHasher,
        policy: Option<PasswordPolicy>,
        sessions: Sessions,
        mfa: Option<Mfa>,
        throttle: Option<Throttle>,
        one_time: Option<OneTimeTokens>,
    ) -> Result<SignIn> {
        let store = sessions.store().clone();
        let directory = Directory::App {
            source,
            hasher,
            policy,
            store,
        };
        Self::build(directory, sessions, mfa, throttle, one_time)
    }

    fn build(
        directory: Directory,
        sessions: Sessions,
        mfa: Option<Mfa>,
        throttle: Option<Throttle>,
        one_time: Option<OneTimeTokens>,
    ) -> Result<SignIn> {
        let store = directory.store().clone();
        let throttle = match throttle {
            Some(t) => t,
            None => Throttle::new(store.clone(), ThrottleConfig::default())?,
        };
        let one_time = one_time.unwrap_or_else(|| OneTimeTokens::new(store));
        Ok(SignIn {
            directory,
            sessions,
            mfa,
            throttle,
            one_time,
        })
    }

    /// The built-in accounts signed in to; `None` with an application's own [`AccountSource`].
    pub fn accounts(&self) -> Option<&Accounts> {
        match &self.directory {
            Directory::Builtin(a) => Some(a),
            Directory::App { .. } => None,
        }
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
        let hasher = self.directory.hasher();
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
        let account = self.directory.find(&login).await?;
        let usable = account.filter(|a| !a.disabled);
        let Some((account, stored)) = usable.and_then(|a| {
            let h = a.password_hash.clone()?;
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
            self.directory
                .upgrade(&account.subject, &stored, new_hash)
                .await?;
        }
        for key in &keys {
            self.throttle.reset(key).await?;
        }
        if self.has_factor(&account.subject).await? {
            let step = Step {
                id: random_id()?,
                failures: 0,
                deadline: clock::now() + MFA_TOKEN_TTL as i64,
                login: match self.directory {
                    Directory::Builtin(_) => None,
                    Directory::App { .. } => Some(login.clone()),
                },
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
        self.second_factor_at(mfa_token, code, recovery_code, meta, clock::now())
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
            .directory
            .refind(&subject, step.login.as_deref())
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

    /// Starts a password reset: a single-use token (purpose [`PASSWORD_RESET_PURPOSE`], `ttl`
    /// seconds, default [`PASSWORD_RESET_TTL`]) to send to the owner of `login`, or `None` for
    /// an unknown or disabled account. Both answers cost the same store work (an unknown login
    /// gets a decoy token that is never returned), so their timing does not tell whether the
    /// account exists; the caller answers both the same way ("if the account exists, we sent a
    /// link"). Requests are counted per login with the flow's throttle (`reset:<login>`, known
    /// and unknown alike), which bounds how many mails one login can be sent (`rate_limited`);
    /// a completed reset clears the count. A malformed login is `invalid_input`.
    pub async fn request_password_reset(
        &self,
        login: &str,
        ttl: Option<u64>,
    ) -> Result<Option<String>> {
        let login = normalize_login(login)?;
        let ttl = ttl.unwrap_or(PASSWORD_RESET_TTL);
        // Refused before the request is counted: a bad argument is the caller's mistake.
        crate::onetime::check_ttl(ttl)?;
        self.throttle.attempt(&reset_throttle_key(&login)).await?;
        let account = self.directory.find(&login).await?.filter(|a| !a.disabled);
        let data = Some(json!({ "login": login }));
        match account {
            Some(a) => {
                let t = self
                    .one_time
                    .issue(&a.subject, PASSWORD_RESET_PURPOSE, ttl, data)
                    .await?;
                Ok(Some(t))
            }
            None => {
                self.one_time
                    .issue(&random_id()?, DECOY_PURPOSE, ttl, data)
                    .await?;
                Ok(None)
            }
        }
    }

    /// Completes a password reset: checks `new_password` against the policy (the login as a
    /// context word, the lower minimum with a confirmed second factor) *before* spending the
    /// token, so a refused password leaves the link usable; then consumes the token, stores the
    /// new hash, revokes every session of the account (whoever knew the old password is signed
    /// out) and clears the login's sign-in and reset throttles. Returns the subject. Errors:
    /// `password_policy`, the one-time token errors (`invalid_token`, `token_expired`,
    /// `token_used`, `invalid_type`), `invalid_token` when the account is gone, disabled or
    /// renamed since the request, `store_unavailable`.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<String> {
        let password = crate::password::password_from_str(new_password)?;
        let (subject, data) = self.one_time.peek(token, PASSWORD_RESET_PURPOSE).await?;
        let login = token_login(data.as_ref())?;
        self.directory
            .find(&login)
            .await?
            .filter(|a| a.subject == subject && !a.disabled)
            .ok_or_else(bad_reset_token)?;
        let mfa = self
            .directory
            .store()
            .mfa_get(&subject)
            .await?
            .is_some_and(|f| f.secret.is_some());
        self.directory
            .policy()
            .validate(&password, &[&login], mfa)?;
        let hash = self.directory.hasher().hash_async(password).await?;
        // Spent only now: two concurrent resets with one token, one wins.
        self.one_time.consume(token, PASSWORD_RESET_PURPOSE).await?;
        self.directory.set_hash(&subject, &hash).await?;
        self.sessions.revoke_all(&subject).await?;
        self.throttle.reset(&login_throttle_key(&login)).await?;
        self.throttle.reset(&reset_throttle_key(&login)).await?;
        Ok(subject)
    }

    /// A signed-in user changes their password (built-in accounts; `invalid_config` otherwise):
    /// `current` is checked under the same per-login throttle as a sign-in (a stolen session
    /// cannot guess it faster), `new_password` against the policy; then every session of the
    /// subject is revoked and a fresh one is started for the caller with `amr` (what the caller's
    /// session proved; `pwd` is always included) and `meta`. Errors: `invalid_credentials` (wrong
    /// current password, unknown or disabled account), `password_policy`, `rate_limited`,
    /// `invalid_input`, `store_unavailable`.
    pub async fn change_password(
        &self,
        subject: &str,
        current: &str,
        new_password: &str,
        amr: &[String],
        meta: Option<Map<String, Value>>,
    ) -> Result<TokenPair> {
        let accounts = self.builtin("password change")?;
        let current = crate::password::password_from_str(current)?;
        let new_password = crate::password::password_from_str(new_password)?;
        let mut methods: Vec<&str> = vec!["pwd"];
        for m in amr {
            check_required(m, "amr", 64)?;
            if !methods.contains(&m.as_str()) {
                methods.push(m);
            }
        }
        let hasher = self.directory.hasher();
        let Some(login) = accounts.get(subject).await?.map(|a| a.login) else {
            hasher.dummy_verify_async().await?;
            return Err(Error::InvalidCredentials);
        };
        let key = login_throttle_key(&login);
        self.throttle.attempt(&key).await?;
        let Some((account, stored)) = self
            .directory
            .find(&login)
            .await?
            .filter(|a| !a.disabled && a.subject == subject)
            .and_then(|a| {
                let h = a.password_hash.clone()?;
                Some((a, h))
            })
        else {
            hasher.dummy_verify_async().await?;
            return Err(Error::InvalidCredentials);
        };
        if !hasher.verify_and_update_async(stored, current).await?.valid {
            return Err(Error::InvalidCredentials);
        }
        let mfa = self.has_factor(subject).await?;
        self.directory
            .policy()
            .validate(&new_password, &[&login], mfa)?;
        let hash = hasher.hash_async(new_password).await?;
        self.directory.set_hash(subject, &hash).await?;
        self.throttle.reset(&key).await?;
        self.sessions.revoke_all(subject).await?;
        self.start(&account, &methods, meta).await
    }

    /// A single-use token (purpose [`EMAIL_VERIFICATION_PURPOSE`], `ttl` seconds, default
    /// [`EMAIL_VERIFICATION_TTL`]) proving that whoever presents it received mail at the
    /// account's login. Built-in accounts only (`invalid_config` otherwise); `invalid_input`
    /// for an unknown subject.
    pub async fn request_email_verification(
        &self,
        subject: &str,
        ttl: Option<u64>,
    ) -> Result<String> {
        let accounts = self.builtin("email verification")?;
        let account = accounts
            .get(subject)
            .await?
            .ok_or_else(|| Error::InvalidInput("unknown account".into()))?;
        self.one_time
            .issue(
                &account.subject,
                EMAIL_VERIFICATION_PURPOSE,
                ttl.unwrap_or(EMAIL_VERIFICATION_TTL),
                Some(json!({ "login": account.login })),
            )
            .await
    }

    /// Consumes an email-verification token and marks its account verified (once is enough;
    /// a second token changes nothing). The one-time token errors apply; `invalid_token` when
    /// the account is gone or its login changed since the request.
    pub async fn verify_email(&self, token: &str) -> Result<Account> {
        let accounts = self.builtin("email verification")?;
        let (subject, data) = self
            .one_time
            .consume(token, EMAIL_VERIFICATION_PURPOSE)
            .await?;
        let login = token_login(data.as_ref())?;
        accounts
            .get(&subject)
            .await?
            .filter(|a| a.login == login)
            .ok_or_else(bad_reset_token)?;
        accounts.mark_verified(&subject).await
    }

    fn builtin(&self, what: &str) -> Result<&Accounts> {
        self.accounts()
            .ok_or_else(|| Error::InvalidConfig(format!("{what} needs the built-in accounts")))
    }

    /// A wrong code: a fresh token for the same step, or `totp_invalid` once the step has had
    /// [`MAX_SECOND_FACTOR_TRIES`] wrong codes or its deadline has passed.
    async fn retry(&self, subject: &str, step: Step, error: Error) -> Result<SecondFactorOutcome> {
        let failures = step.failures.saturating_add(1);
        let ttl = step.deadline - clock::now();
        if failures >= MAX_SECOND_FACTOR_TRIES || ttl <= 0 {
            return Err(Error::TotpInvalid);
        }
        let next = Step {
            id: step.id,
            failures,
            deadline: step.deadline,
            login: step.login,
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
                    .directory
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
        account: &AppAccount,
        amr: &[&str],
        meta: Option<Map<String, Value>>,
    ) -> Result<TokenPair> {
        let mut claims = account.claims.clone();
        claims.insert("amr".into(), json!(amr));
        // When the user authenticated (OIDC `auth_time`): kept through refreshes, so a layer can
        // ask for a recent sign-in (RFC 9470 `max_age`) whatever the access token's `iat`.
        claims.insert("auth_time".into(), json!(clock::now()));
        self.sessions
            .start(&account.subject, claims, meta.unwrap_or_default())
            .await
    }
}

fn random_id() -> Result<String> {
    crate::opaque::random_b64(16)
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
        for login in [None, Some("jane@example.com".to_owned())] {
            let s = Step {
                id: "abc".into(),
                failures: 3,
                deadline: 42,
                login: login.clone(),
            };
            let back = Step::from_value(Some(&s.to_value())).unwrap();
            assert_eq!(
                (back.id.as_str(), back.failures, back.deadline, back.login),
                ("abc", 3, 42, login)
            );
        }
        assert!(Step::from_value(Some(
            &json!({"step": "x", "failures": 1, "deadline": 1, "login": 5})
        ))
        .is_none());
        assert!(Step::from_value(None).is_none());
        assert!(
            Step::from_value(Some(&json!({"step": "x", "failures": -1, "deadline": 1}))).is_none()
        );
    }
}
