//! The auth state store: sessions and their refresh-token families, one-time tokens, throttle
//! counters, MFA factors with their recovery codes, and built-in accounts (DESIGN.md §6). One set of semantics on every backend; each read-modify-write
//! is a single atomic step (one conditional statement or transaction in SQL, a Lua script in
//! Redis, one critical section in memory). The logic built on these primitives lives in
//! `session.rs`, `onetime.rs`, `throttle.rs`, `mfa.rs` and `account.rs`, never in a backend.

mod memory;
mod redis;
mod sql;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub use memory::MemoryStore;
pub use redis::RedisStore;
pub use sql::SqlStore;

/// One session (a refresh-token family).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub subject: String,
    /// The issuer of its access tokens (RT-8); empty for sessions stored before migration 3,
    /// which therefore match no `Sessions` and cannot be refreshed.
    pub issuer: String,
    /// The audience its access tokens are issued for (RT-8), as a canonical JSON array
    /// (`["a b"]` and `["a","b"]` differ); see [`Binding`].
    pub audience: String,
    /// Claims carried into every access token of the session (scope, roles, amr, ...).
    pub claims: Map<String, Value>,
    /// What the client told us at start (user agent, IP).
    pub meta: Map<String, Value>,
    pub created_at: i64,
    pub last_used_at: i64,
    /// Absolute end (RT-6).
    pub expires_at: i64,
    /// Idle lifetime in seconds (RT-6).
    pub idle_ttl: i64,
    /// Generation of the newest refresh token.
    pub generation: i64,
    pub revoked_at: Option<i64>,
}

impl SessionRecord {
    /// Why the session can no longer be used at `now`, if it cannot.
    pub fn inactive_reason(&self, now: i64) -> Option<Error> {
        if self.revoked_at.is_some() {
            Some(Error::SessionRevoked)
        } else if now >= self.expires_at || now - self.last_used_at > self.idle_ttl {
            Some(Error::SessionExpired)
        } else {
            None
        }
    }
}

/// What a session is bound to (RT-8): the issuer and the audience of the `Sessions` that started
/// it. A store compares it with the stored session after taking the session's lock and before
/// writing anything, so a token sent to the wrong service stays usable by the right one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    pub issuer: &'a str,
    /// Canonical JSON array text, as `session::canonical_audience` writes it.
    pub audience: &'a str,
}

impl Binding<'_> {
    /// The error for a session bound elsewhere, or `None` when `session` is bound to `self`.
    pub fn mismatch(&self, session: &SessionRecord) -> Option<Error> {
        if session.issuer != self.issuer {
            Some(Error::InvalidIssuer)
        } else if session.audience != self.audience {
            Some(Error::InvalidAudience)
        } else {
            None
        }
    }
}

/// Result of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The token was current (unused, of the session's newest generation): it is now used,
    /// `new_hash` is stored as generation `generation + 1`.
    Rotated(SessionRecord),
    /// The token was the immediate parent of the newest one, used within the grace window:
    /// `new_hash` is stored as a sibling of the newest token (same generation).
    Graced(SessionRecord),
    /// The token was used before (outside the grace rules), or is an unused token of an older
    /// generation than the newest (a stale grace sibling, RT-5): the session is now revoked (RT-3).
    Reused,
    /// The session is revoked or expired; nothing changed.
    Inactive(Error),
    /// The session belongs to another issuer or audience (RT-8); nothing changed.
    Mismatch(Error),
    /// No such token.
    Unknown,
}

impl Rotation {
    /// The rotation a one-step backend reported (the PostgreSQL statement, the Redis script):
    /// `rotated`, `graced`, `reused`, `revoked`, `expired`, `wrong_issuer`, `wrong_audience` or
    /// `unknown`; `session` reads the session returned with `rotated` and `graced`. `Ok(None)`
    /// for anything else, which only a broken script or statement reports.
    pub(crate) fn from_outcome<E>(
        outcome: &str,
        session: impl FnOnce() -> std::result::Result<SessionRecord, E>,
    ) -> std::result::Result<Option<Rotation>, E> {
        Ok(Some(match outcome {
            "rotated" => Rotation::Rotated(session()?),
            "graced" => Rotation::Graced(session()?),
            "reused" => Rotation::Reused,
            "revoked" => Rotation::Inactive(Error::SessionRevoked),
            "expired" => Rotation::Inactive(Error::SessionExpired),
            "wrong_issuer" => Rotation::Mismatch(Error::InvalidIssuer),
            "wrong_audience" => Rotation::Mismatch(Error::InvalidAudience),
            "unknown" => Rotation::Unknown,
            _ => return Ok(None),
        }))
    }
}

/// What presenting a known refresh token of an active, correctly bound session does (RT-2..RT-5);
/// the one rule every backend applies (Redis reproduces it in its rotation script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Rotate,
    Grace,
    Reuse,
}

/// `generation` and `used_at` are the presented token's; `newest` is the session's generation.
/// Only an unused token of the newest generation rotates. A used token of the generation just
/// before the newest, presented within `grace` seconds of its use, gets a sibling of the newest
/// generation. Anything else (a used token outside the window, or an unused token of an older
/// generation, such as a grace sibling whose generation has since been rotated) is reuse.
pub(crate) fn rotation_step(
    generation: i64,
    used_at: Option<i64>,
    newest: i64,
    now: i64,
    grace: i64,
) -> Step {
    match used_at {
        None if generation == newest => Step::Rotate,
        Some(used_at) if grace > 0 && now - used_at <= grace && generation == newest - 1 => {
            Step::Grace
        }
        _ => Step::Reuse,
    }
}

/// Result of consuming a one-time token.
#[derive(Debug, Clone, PartialEq)]
pub enum Consumption {
    Consumed {
        subject: String,
        data: Option<Value>,
    },
    Unknown,
    WrongPurpose,
    Expired,
    Used,
}

/// A throttle counter after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub failures: i64,
    pub last_failure_at: i64,
    pub locked_until: i64,
}

/// When a throttle count starts over; the store applies it in the same atomic step as the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decay {
    /// Below `max_failures`, a failure this many seconds after the previous one counts as the
    /// first one again.
    pub reset_after: i64,
    /// From this count on the count never starts over (only `throttle_reset` clears it).
    pub max_failures: i64,
}

/// Result of reserving a throttled attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted as a failure until `throttle_reset`; the counter after it.
    Allowed(Counter),
    /// The key is locked until this time; nothing was counted.
    Locked(i64),
}

/// A subject's TOTP factor as stored: a confirmed secret and/or a pending enrollment, both
/// encrypted by `mfa.rs` (the store never sees a plaintext secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaRecord {
    /// The confirmed factor's encrypted secret; `None` while only an enrollment is pending.
    pub secret: Option<String>,
    /// The last accepted time step (-1: none yet); only later steps are accepted (OTP-2).
    pub last_step: i64,
    pub confirmed_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// An enrollment awaiting `confirm`, and when it lapses.
    pub pending_secret: Option<String>,
    pub pending_expires_at: Option<i64>,
    /// Recovery codes not used yet.
    pub recovery_remaining: i64,
}

/// What the atomic confirmation of a pending enrollment writes.
#[derive(Debug, Clone, Copy)]
pub struct MfaConfirmation<'a> {
    /// The pending secret that the code was checked against; the update only applies while it is
    /// still the pending one (a concurrent `begin_enrollment` or `confirm` wins otherwise).
    pub expected_pending: &'a str,
    /// The secret to keep as the confirmed factor (re-encrypted under the current key).
    pub secret: &'a str,
    /// The step of the confirming code: it counts as used.
    pub step: i64,
    pub now: i64,
    /// Hashes of the new recovery codes; they replace every earlier one.
    pub code_hashes: &'a [String],
}

/// Result of presenting a recovery code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryUse {
    /// Consumed now; how many unused codes remain.
    Consumed(i64),
    /// Consumed before.
    Used,
    Unknown,
}

/// A built-in account as stored (FRAMEWORKS.md §4). `account.rs` validates and normalises
/// everything before it reaches a store; the store only keeps the login unique.
#[derive(Clone, PartialEq)]
pub struct AccountRecord {
    /// Random, URL-safe, never derived from the login.
    pub subject: String,
    /// The normalised login (`account::normalize_login`), unique in the store.
    pub login: String,
    /// The stored password hash (argon2id PHC, or an imported legacy format); `None`: no password.
    pub password_hash: Option<String>,
    /// When the account was first marked verified.
    pub verified_at: Option<i64>,
    /// When the account was first disabled.
    pub disabled_at: Option<i64>,
    /// Application claims (a JSON object).
    pub claims: Map<String, Value>,
    /// When the account was created (seconds since the epoch).
    pub created_at: i64,
    /// The last change by any account primitive.
    pub updated_at: i64,
}

impl std::fmt::Debug for AccountRecord {
    /// The hash is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRecord")
            .field("subject", &self.subject)
            .field("login", &self.login)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("verified_at", &self.verified_at)
            .field("disabled_at", &self.disabled_at)
            .field("claims", &self.claims)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// Which timestamp [`Store::account_mark`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMark {
    /// `verified_at`.
    Verified,
    /// `disabled_at`.
    Disabled,
}

/// The `locked_until` candidate after a failure that calls for `lock` seconds: 0 (no change)
/// when there is no delay, so a free failure never makes a key look locked to an instance whose
/// clock runs a little behind.
pub(crate) fn lock_end(now: i64, lock: i64) -> i64 {
    if lock > 0 {
        now.saturating_add(lock).min(LOCKED_FOREVER)
    } else {
        0
    }
}

/// The highest `max_failures` a `Throttle` allows, and the hard ceiling of the schedule (RL-1: at most 100
/// consecutive failures per key): from this count on a key stays locked until `reset`.
/// Defined here, below the throttle, because every backend applies the lock schedule.
pub const MAX_FAILURES_CEILING: i64 = 100;

/// The `locked_until` of a key locked until `reset` (2^53 - 1 seconds since the epoch, so it is
/// exact in every host language and in Redis' Lua). No lock ends later.
pub const LOCKED_FOREVER: i64 = (1 << 53) - 1;

/// How long a throttle counter is kept after its last failure and the end of its lock: `Throttle`
/// accepts `reset_after` up to this, so below `max_failures` such a counter counts for nothing any
/// more; at or over `max_failures` this is the documented end of the lock schedule. A key locked
/// until `reset` (`LOCKED_FOREVER`) is never forgotten.
pub const THROTTLE_RETENTION: i64 = 30 * 86_400;

/// How long ended sessions and spent one-time tokens are kept before a purge removes them: for a
/// day they still get their precise error (`session_revoked`, `token_used`, ...) rather than
/// "unknown", and no test or client that just saw them end finds them gone.
pub const PURGE_MARGIN: i64 = 86_400;

/// Whether a throttle counter can be forgotten at `now` (see [`THROTTLE_RETENTION`]).
pub(crate) fn throttle_idle(c: &Counter, now: i64) -> bool {
    let cutoff = now.saturating_sub(THROTTLE_RETENTION);
    c.locked_until <= cutoff && c.last_failure_at <= cutoff
}

/// Whether a session ended (revoked, expired or idle) at least [`PURGE_MARGIN`] before `now`.
/// Its tokens can then never be used again, so it goes together with all of them.
pub(crate) fn session_purgeable(s: &SessionRecord, now: i64) -> bool {
    let cutoff = now.saturating_sub(PURGE_MARGIN);
    s.revoked_at.is_some_and(|t| t <= cutoff)
        || s.expires_at <= cutoff
        || s.last_used_at.saturating_add(s.idle_ttl) < cutoff
}

/// Whether a one-time token was used or expired at least [`PURGE_MARGIN`] before `now`.
pub(crate) fn one_time_purgeable(used_at: Option<i64>, expires_at: i64, now: i64) -> bool {
    let cutoff = now.saturating_sub(PURGE_MARGIN);
    used_at.is_some_and(|t| t <= cutoff) || expires_at <= cutoff
}

/// Rows of each kind one opportunistic purge removes at most (bounded work on a write path).
const OPPORTUNISTIC_PURGE_LIMIT: usize = 100;
/// One write in this many also runs a bounded purge.
const OPPORTUNISTIC_PURGE_EVERY: u64 = 64;
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Options of [`Store::open_with`].
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Apply pending migrations (default). With `false` the store only checks that the schema is
    /// current and refuses to open otherwise (`invalid_config`), so the application can connect
    /// as a role without DDL rights while an owner role runs the migrations.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { migrate: true }
    }
}

crate::options::deserialize_with_options!(OpenOptions, "Store.open");

impl OpenOptions {
    /// Reads `migrate` (a bool).
    pub fn from_options(mut o: crate::options::Options) -> Result<Self> {
        let c = OpenOptions {
            migrate: o.flag("migrate", Self::default().migrate)?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// The store `Store.open()` opens without a URL: a SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://polyauth.db";

/// A store handle; clones share the connection pool.
#[derive(Clone, Debug)]
pub enum Store {
    Memory(MemoryStore),
    /// SQLite or PostgreSQL, with the same SQL text.
    Sql(SqlStore),
    Redis(RedisStore),
}

/// Parses `memory://`, `sqlite://path`, `postgres://...`, `redis://...`.
pub fn scheme(url: &str) -> Result<&str> {
    let (scheme, _) = url
        .split_once("://")
        .ok_or_else(|| Error::InvalidConfig("store URL must look like scheme://...".into()))?;
    match scheme {
        "memory" | "sqlite" | "postgres" | "postgresql" | "redis" | "rediss" => Ok(scheme),
        _ => Err(Error::InvalidConfig(
            "store URL scheme must be memory, sqlite, postgres or redis".into(),
        )),
    }
}

impl Store {
    /// Opens a store and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, OpenOptions::default()).await
    }

    /// Opens a store; see [`OpenOptions`]. Memory and Redis have no schema to migrate.
    pub async fn open_with(url: &str, options: OpenOptions) -> Result<Store> {
        match scheme(url)? {
            "memory" => Ok(Store::Memory(MemoryStore::default())),
            "sqlite" | "postgres" | "postgresql" => {
                Ok(Store::Sql(SqlStore::open(url, options.migrate).await?))
            }
            _ => Ok(Store::Redis(RedisStore::open(url).await?)),
        }
    }

    /// The SQL of every migration (SQLite and PostgreSQL share it), for teams that apply
    /// migrations themselves; `Store::open` applies pending ones automatically.
    pub fn migrations_sql() -> String {
        sql::migration_sql()
            .iter()
            .map(|(version, text)| format!("-- polyauth migration {version}\n{text}\n"))
            .collect()
    }

    /// The migrations as (version, SQL text) pairs, in order (what [`Store::migrations_sql`]
    /// joins).
    pub fn migrations() -> &'static [(i64, &'static str)] {
        sql::migration_sql()
    }

    /// The schema version this build writes and expects (SQL stores).
    pub fn schema_version() -> i64 {
        sql::migration_sql().last().map_or(0, |(v, _)| *v)
    }

    /// Which backend this is: "memory", "sqlite", "postgres" or "redis".
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Sql(s) => s.backend(),
            Store::Redis(_) => "redis",
        }
    }

    /// Inserts a session and its first refresh token (generation 0) together. One call in
    /// `OPPORTUNISTIC_PURGE_EVERY` also runs a bounded purge (its failure is not the caller's).
    pub async fn create_session(&self, session: &SessionRecord, token_hash: &str) -> Result<()> {
        match self {
            Store::Memory(m) => m.create_session(session, token_hash),
            Store::Sql(s) => s.create_session(session, token_hash).await,
            Store::Redis(r) => r.create_session(session, token_hash).await,
        }?;
        self.maybe_purge().await;
        Ok(())
    }

    /// The opportunistic purge: on the server clock (an injected clock of one call must not
    /// decide what ends for everyone), bounded, and quiet (the session was created either way).
    async fn maybe_purge(&self) {
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n.is_multiple_of(OPPORTUNISTIC_PURGE_EVERY) {
            let _ = self
                .purge_step(crate::clock::now(), OPPORTUNISTIC_PURGE_LIMIT)
                .await;
        }
    }

    /// Atomically checks and rotates a refresh token (RT-2..RT-5, RT-8: a session bound to
    /// another issuer or audience is `Mismatch` and nothing is written).
    pub async fn rotate(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
        binding: &Binding<'_>,
    ) -> Result<Rotation> {
        match self {
            Store::Memory(m) => m.rotate(token_hash, new_hash, now, grace, binding),
            Store::Sql(s) => s.rotate(token_hash, new_hash, now, grace, binding).await,
            Store::Redis(r) => r.rotate(token_hash, new_hash, now, grace, binding).await,
        }
    }

    /// Revokes the session of a refresh token (used or not) if it is bound to `binding` and not
    /// revoked yet; false otherwise (unknown token, other service, already revoked).
    pub async fn revoke_by_token(
        &self,
        token_hash: &str,
        binding: &Binding<'_>,
        now: i64,
    ) -> Result<bool> {
        match self {
            Store::Memory(m) => m.revoke_by_token(token_hash, binding, now),
            Store::Sql(s) => s.revoke_by_token(token_hash, binding, now).await,
            Store::Redis(r) => r.revoke_by_token(token_hash, binding, now).await,
        }
    }

    /// Deletes what can never be used again: sessions that ended (revoked, expired or idle) a day
    /// ([`PURGE_MARGIN`]) or more ago with their refresh tokens, one-time tokens used or expired a
    /// day or more ago, and throttle counters idle for [`THROTTLE_RETENTION`]. Refresh tokens
    /// of live sessions stay, used ones included: they are what detects reuse (RT-3). Returns the
    /// number of rows (Redis: keys) removed.
    pub async fn purge_expired(&self) -> Result<u64> {
        self.purge_expired_at(crate::clock::now()).await
    }

    /// [`Store::purge_expired`] with an injected clock.
    pub async fn purge_expired_at(&self, now: i64) -> Result<u64> {
        let mut total = 0;
        match self {
            // Redis walks its keys with a cursor: go round once.
            Store::Redis(r) => total = r.purge(now, None).await?,
            _ => loop {
                let n = self.purge_step(now, 1000).await?;
                total += n;
                if n == 0 {
                    break;
                }
            },
        }
        Ok(total)
    }

    /// One bounded purge: at most about `limit` rows of each kind (Redis: one step of its scan).
    async fn purge_step(&self, now: i64, limit: usize) -> Result<u64> {
        match self {
            Store::Memory(m) => m.purge(now, limit),
            Store::Sql(s) => s.purge(now, limit).await,
            Store::Redis(r) => r.purge(now, Some(limit)).await,
        }
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        match self {
            Store::Memory(m) => m.get_session(id),
            Store::Sql(s) => s.get_session(id).await,
            Store::Redis(r) => r.get_session(id).await,
        }
    }

    /// Marks a session revoked; false when it does not exist or was already revoked.
    pub async fn revoke_session(&self, id: &str, now: i64) -> Result<bool> {
        match self {
            Store::Memory(m) => m.revoke_session(id, now),
            Store::Sql(s) => s.revoke_session(id, now).await,
            Store::Redis(r) => r.revoke_session(id, now).await,
        }
    }

    /// Revokes every session of `subject`; returns how many were not yet revoked.
    pub async fn revoke_subject(&self, subject: &str, now: i64) -> Result<u64> {
        match self {
            Store::Memory(m) => m.revoke_subject(subject, now),
            Store::Sql(s) => s.revoke_subject(subject, now).await,
            Store::Redis(r) => r.revoke_subject(subject, now).await,
        }
    }

    /// Sessions of `subject` that are neither revoked nor expired at `now`, newest first.
    pub async fn list_sessions(&self, subject: &str, now: i64) -> Result<Vec<SessionRecord>> {
        let mut out = match self {
            Store::Memory(m) => m.list_sessions(subject, now)?,
            Store::Sql(s) => s.list_sessions(subject, now).await?,
            Store::Redis(r) => r.list_sessions(subject, now).await?,
        };
        // One order for every backend, decided here: newest first, then by id (byte-wise, whatever
        // a database's collation would say).
        out.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    pub async fn insert_one_time(
        &self,
        hash: &str,
        subject: &str,
        purpose: &str,
        data: Option<&Value>,
        expires_at: i64,
    ) -> Result<()> {
        match self {
            Store::Memory(m) => m.insert_one_time(hash, subject, purpose, data, expires_at),
            Store::Sql(s) => {
                s.insert_one_time(hash, subject, purpose, data, expires_at)
                    .await
            }
            Store::Redis(r) => {
                r.insert_one_time(hash, subject, purpose, data, expires_at)
                    .await
            }
        }
    }

    /// What consuming a one-time token for `purpose` would return now, without consuming it
    /// (`Consumed` means "would be consumed").
    pub async fn peek_one_time(&self, hash: &str, purpose: &str, now: i64) -> Result<Consumption> {
        match self {
            Store::Memory(m) => m.peek_one_time(hash, purpose, now),
            Store::Sql(s) => s.peek_one_time(hash, purpose, now).await,
            Store::Redis(r) => r.peek_one_time(hash, purpose, now).await,
        }
    }

    /// Atomically consumes a one-time token for `purpose`.
    pub async fn consume_one_time(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Consumption> {
        match self {
            Store::Memory(m) => m.consume_one_time(hash, purpose, now),
            Store::Sql(s) => s.consume_one_time(hash, purpose, now).await,
            Store::Redis(r) => r.consume_one_time(hash, purpose, now).await,
        }
    }

    /// Atomically counts a failure: starts over when `decay` says so (a count below
    /// `max_failures` whose last failure is `reset_after` or more seconds old), and extends
    /// `locked_until` to at least `lock_for(failures)` from now (never past `LOCKED_FOREVER`).
    /// `lock_for(n)` must be constant for `n >= MAX_FAILURES_CEILING`.
    pub async fn throttle_fail(
        &self,
        key: &str,
        now: i64,
        decay: Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Counter> {
        match self {
            Store::Memory(m) => m.throttle_fail(key, now, decay, lock_for),
            Store::Sql(s) => s.throttle_fail(key, now, decay, lock_for).await,
            Store::Redis(r) => r.throttle_fail(key, now, decay, lock_for).await,
        }
    }

    /// The counter of `key`, if any.
    pub async fn throttle_get(&self, key: &str) -> Result<Option<Counter>> {
        match self {
            Store::Memory(m) => m.throttle_get(key),
            Store::Sql(s) => s.throttle_get(key).await,
            Store::Redis(r) => r.throttle_get(key).await,
        }
    }

    /// Deletes the counter of `key`.
    pub async fn throttle_reset(&self, key: &str) -> Result<()> {
        match self {
            Store::Memory(m) => m.throttle_reset(key),
            Store::Sql(s) => s.throttle_reset(key).await,
            Store::Redis(r) => r.throttle_reset(key).await,
        }
    }

    /// Atomically reserves an attempt: when `key` is locked at `now` (`locked_until > now`)
    /// nothing changes and the lock's end is returned; otherwise the attempt is counted like
    /// `throttle_fail` (so concurrent attempts can never all pass a check before any of them is
    /// counted) until `throttle_reset`.
    pub async fn throttle_attempt(
        &self,
        key: &str,
        now: i64,
        decay: Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Attempt> {
        match self {
            Store::Memory(m) => m.throttle_attempt(key, now, decay, lock_for),
            Store::Sql(s) => s.throttle_attempt(key, now, decay, lock_for).await,
            Store::Redis(r) => r.throttle_attempt(key, now, decay, lock_for).await,
        }
    }

    /// The subject's MFA factor, if any (with its count of unused recovery codes).
    pub async fn mfa_get(&self, subject: &str) -> Result<Option<MfaRecord>> {
        match self {
            Store::Memory(m) => m.mfa_get(subject),
            Store::Sql(s) => s.mfa_get(subject).await,
            Store::Redis(r) => r.mfa_get(subject).await,
        }
    }

    /// Stores a pending enrollment, replacing an earlier pending one; a confirmed factor stays
    /// as it is until the new one is confirmed.
    pub async fn mfa_begin(
        &self,
        subject: &str,
        pending_secret: &str,
        expires_at: i64,
    ) -> Result<()> {
        match self {
            Store::Memory(m) => m.mfa_begin(subject, pending_secret, expires_at),
            Store::Sql(s) => s.mfa_begin(subject, pending_secret, expires_at).await,
            Store::Redis(r) => r.mfa_begin(subject, pending_secret, expires_at).await,
        }
    }

    /// Atomically turns the pending enrollment into the confirmed factor, with `c.step` as its
    /// last accepted step and `c.code_hashes` as its only recovery codes. False (and nothing
    /// changed) when the pending enrollment is no longer `c.expected_pending` or has lapsed.
    pub async fn mfa_confirm(&self, subject: &str, c: &MfaConfirmation<'_>) -> Result<bool> {
        match self {
            Store::Memory(m) => m.mfa_confirm(subject, c),
            Store::Sql(s) => s.mfa_confirm(subject, c).await,
            Store::Redis(r) => r.mfa_confirm(subject, c).await,
        }
    }

    /// Atomically accepts time step `step` for the confirmed factor (OTP-2): only when its secret
    /// is still `expected_secret` and `step` is later than its last accepted step; then stores
    /// `secret` (the same, or re-encrypted under a newer key). False when nothing changed.
    pub async fn mfa_accept_step(
        &self,
        subject: &str,
        expected_secret: &str,
        secret: &str,
        step: i64,
        now: i64,
    ) -> Result<bool> {
        match self {
            Store::Memory(m) => m.mfa_accept_step(subject, expected_secret, secret, step, now),
            Store::Sql(s) => {
                s.mfa_accept_step(subject, expected_secret, secret, step, now)
                    .await
            }
            Store::Redis(r) => {
                r.mfa_accept_step(subject, expected_secret, secret, step, now)
                    .await
            }
        }
    }

    /// Atomically consumes one recovery code of the subject (OTP-7).
    pub async fn mfa_use_recovery(
        &self,
        subject: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<RecoveryUse> {
        match self {
            Store::Memory(m) => m.mfa_use_recovery(subject, code_hash, now),
            Store::Sql(s) => s.mfa_use_recovery(subject, code_hash, now).await,
            Store::Redis(r) => r.mfa_use_recovery(subject, code_hash, now).await,
        }
    }

    /// Atomically replaces every recovery code of a confirmed factor; false when the subject has
    /// no confirmed factor.
    pub async fn mfa_replace_recovery(
        &self,
        subject: &str,
        code_hashes: &[String],
    ) -> Result<bool> {
        match self {
            Store::Memory(m) => m.mfa_replace_recovery(subject, code_hashes),
            Store::Sql(s) => s.mfa_replace_recovery(subject, code_hashes).await,
            Store::Redis(r) => r.mfa_replace_recovery(subject, code_hashes).await,
        }
    }

    /// Removes the subject's factor, pending enrollment and recovery codes; false when there was
    /// nothing to remove.
    pub async fn mfa_delete(&self, subject: &str) -> Result<bool> {
        match self {
            Store::Memory(m) => m.mfa_delete(subject),
            Store::Sql(s) => s.mfa_delete(subject).await,
            Store::Redis(r) => r.mfa_delete(subject).await,
        }
    }

    /// Inserts a new account: `account_exists` when its login is taken (the one check that makes
    /// concurrent registrations of one login leave exactly one account), `internal_error` on a
    /// subject collision.
    pub async fn account_insert(&self, account: &AccountRecord) -> Result<()> {
        match self {
            Store::Memory(m) => m.account_insert(account),
            Store::Sql(s) => s.account_insert(account).await,
            Store::Redis(r) => r.account_insert(account).await,
        }
    }

    /// The account of `subject`, if any.
    pub async fn account_get(&self, subject: &str) -> Result<Option<AccountRecord>> {
        match self {
            Store::Memory(m) => m.account_get(subject),
            Store::Sql(s) => s.account_get(subject).await,
            Store::Redis(r) => r.account_get(subject).await,
        }
    }

    /// The account whose normalised login is `login` (compared byte for byte), if any.
    pub async fn account_find(&self, login: &str) -> Result<Option<AccountRecord>> {
        match self {
            Store::Memory(m) => m.account_find(login),
            Store::Sql(s) => s.account_find(login).await,
            Store::Redis(r) => r.account_find(login).await,
        }
    }

    /// Sets (or, with `None`, removes) the password hash unconditionally; returns the updated
    /// account, `None` when the subject is unknown.
    pub async fn account_set_password_hash(
        &self,
        subject: &str,
        hash: Option<&str>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        match self {
            Store::Memory(m) => m.account_set_password_hash(subject, hash, now),
            Store::Sql(s) => s.account_set_password_hash(subject, hash, now).await,
            Store::Redis(r) => r.account_set_password_hash(subject, hash, now).await,
        }
    }

    /// Atomically replaces the password hash only while it is still `expected_old` (a hash
    /// upgrade on sign-in never overwrites a concurrent password change); false when nothing
    /// changed (stale `expected_old`, no password, or unknown subject).
    pub async fn account_replace_password_hash(
        &self,
        subject: &str,
        expected_old: &str,
        new: &str,
        now: i64,
    ) -> Result<bool> {
        match self {
            Store::Memory(m) => m.account_replace_password_hash(subject, expected_old, new, now),
            Store::Sql(s) => {
                s.account_replace_password_hash(subject, expected_old, new, now)
                    .await
            }
            Store::Redis(r) => {
                r.account_replace_password_hash(subject, expected_old, new, now)
                    .await
            }
        }
    }

    /// Sets `verified_at` or `disabled_at` to `now` unless it is already set (the first time is
    /// kept); returns the account, `None` when the subject is unknown.
    pub async fn account_mark(
        &self,
        subject: &str,
        mark: AccountMark,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        match self {
            Store::Memory(m) => m.account_mark(subject, mark, now),
            Store::Sql(s) => s.account_mark(subject, mark, now).await,
            Store::Redis(r) => r.account_mark(subject, mark, now).await,
        }
    }

    /// Replaces the account's claims; returns the account, `None` when the subject is unknown.
    pub async fn account_update_claims(
        &self,
        subject: &str,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        match self {
            Store::Memory(m) => m.account_update_claims(subject, claims, now),
            Store::Sql(s) => s.account_update_claims(subject, claims, now).await,
            Store::Redis(r) => r.account_update_claims(subject, claims, now).await,
        }
    }

    /// One trivial round trip to the backend (`SELECT 1`, `PING`): `store_unavailable` when it is
    /// down. For health checks; also the baseline of the session benchmark.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Sql(s) => s.ping().await,
            Store::Redis(r) => r.ping().await,
        }
    }
}
