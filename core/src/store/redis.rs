//! `redis://` / `rediss://`: the store in Redis, for deployments that already run it
//! (DESIGN.md §6). Every read-modify-write is one Lua script (EVALSHA, loaded on demand), so each
//! decision is atomic exactly like one critical section of `memory.rs`, the reference semantics.
//!
//! PERSISTENCE (RT-9): revocations and reuse detection live only in Redis. Run the server with
//! AOF persistence: `appendonly yes` and `appendfsync everysec` (at most about one second of
//! writes lost on a crash) or `appendfsync always`. Without AOF (RDB snapshots only, or no
//! persistence) a restart forgets every revocation, every used refresh token and every consumed
//! one-time token made since the last snapshot: revoked sessions come back to life and replayed
//! tokens are accepted again. Likewise keep `maxmemory-policy noeviction` (the default): every
//! polyauth key carries an expiry, so both the `allkeys-*` and the `volatile-*` policies may evict
//! them under memory pressure, and an evicted key is a forgotten revocation.
//!
//! Layout (all keys under `polyauth:` or `polyauth:{<namespace>}:`, the namespace coming from the
//! optional URL query parameter `polyauth_namespace=<[a-z0-9_]{1,40}>`; the braces keep every
//! namespace's keys apart from the default namespace's, whatever the namespace is called):
//! - `session:<id>`: hash of the session (claims and meta as JSON text, times as decimal seconds);
//! - `refresh:<sha256 hex>`: hash `sid`, `gen`, `used_at` of one refresh token;
//! - `subject:<subject>`: sorted set of the subject's session ids (for revoke-all and listing),
//!   scored by when the session's key expires, so stale ids are pruned cheaply;
//! - `onetime:<sha256 hex>`: hash of a one-time token;
//! - `throttle:<key>`: hash `failures`, `last_failure_at`, `locked_until`;
//! - `mfa:<subject>`: hash of the subject's TOTP factor (`secret`, `last_step`, `confirmed_at`,
//!   `last_used_at`, `pending_secret`, `pending_expires_at`; secrets encrypted by `mfa.rs`);
//! - `mfa_codes:<subject>`: hash of recovery-code SHA-256 hex → `-` (unused) or the time used;
//! - `account:<subject>`: hash of a built-in account (`subject`, `login`, `password_hash` (absent:
//!   none), `verified_at`, `disabled_at` (absent: not yet), `claims` as JSON text, `created_at`,
//!   `updated_at`);
//! - `login:<normalised login>`: string, the subject of the account with that login (written with
//!   the account in one script, which is what keeps one account per login).
//!
//! Retention: keys expire some time after they can no longer matter, never before. A session and
//! all its refresh tokens live for the session's whole lifetime plus one day (so reuse detection
//! and revocation hold until the session's absolute end, RT-9); a one-time token one day past its
//! expiry; a throttle counter one day past both its lock and its `reset_after` window (a counter at
//! or over `max_failures`, which never starts over by itself, 30 days past its lock). MFA
//! factors and their recovery codes never expire: they live until `disable`; accounts and their
//! login keys never expire either. Lifetimes are relative to the caller's clock where the call
//! provides one (times are always passed in by the caller, never read from the Redis clock, so
//! injected clocks behave as with the other backends).
//!
//! The scripts derive some key names from stored data (a refresh token names its session), so
//! this backend targets a standalone Redis (or a primary with replicas / Sentinel-managed
//! failover addressed through one URL), not Redis Cluster.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, RedisError, RedisResult, Script, ScriptInvocation};
use serde_json::{Map, Value};

use super::{
    AccountMark, AccountRecord, Attempt, Binding, Consumption, Counter, MfaConfirmation, MfaRecord,
    RecoveryUse, Rotation, SessionRecord,
};
use crate::error::{Error, Result};

/// How long data is kept after it stops mattering.
const RETAIN: i64 = 86_400;
/// Upper bound for any expiry we set (ten years), so no arithmetic overflows Redis' limits.
const MAX_TTL: i64 = 10 * 365 * 86_400;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Hard bound on one store call, whatever the connection does underneath.
const CALL_DEADLINE: Duration = Duration::from_secs(10);
const NAMESPACE_PARAM: &str = "polyauth_namespace";

/// A Redis store handle; clones share one multiplexed, automatically reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    /// Where the opportunistic purge's SCAN goes on from.
    purge_cursor: Arc<AtomicU64>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Scripts. Lua numbers are doubles: every time is an integer number of seconds far below 2^53,
// and values computed in Lua are written back with `%d`, values passed in are stored verbatim.
// ---------------------------------------------------------------------------------------------

/// KEYS: session, first refresh token, subject set.
/// ARGV: ttl, zset score, wall now, id, subject, audience, claims, meta, created_at,
/// last_used_at, expires_at, idle_ttl, generation, revoked_at ('' = none), issuer.
static CREATE_SESSION: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/create_session.lua")));

/// KEYS: presented token, new token. ARGV: key prefix, now, grace, issuer, audience.
/// Returns {status, flat session hash (rotated/graced) or {}}. The decision is
/// `store::rotation_step`; the binding (RT-8) is compared before anything is written.
static ROTATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rotate.lua")));

/// KEYS: a refresh token. ARGV: key prefix, now, issuer, audience. Revokes the token's session
/// when it is bound to the caller and not yet revoked; returns 1 then.
static REVOKE_BY_TOKEN: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/revoke_by_token.lua")));

/// One step of a purge. ARGV: key prefix, cursor, scan count, cutoff (now minus the margin).
/// Deletes sessions that ended before the cutoff (and drops them from their subject's set) and
/// one-time tokens used or expired before it; their refresh tokens expire on their own (a token
/// whose session is gone is unknown). Returns {next cursor, keys removed}.
static PURGE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/purge.lua")));

/// KEYS: session. ARGV: now. Returns 1 when this call revoked it.
static REVOKE_SESSION: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/revoke_session.lua")));

/// KEYS: subject set. ARGV: key prefix, now. Returns how many sessions this call revoked.
static REVOKE_SUBJECT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/revoke_subject.lua")));

/// KEYS: subject set. ARGV: key prefix. Returns every stored session of the subject (flat
/// hashes); the caller filters by activity and sorts, as `memory.rs` does.
static LIST_SESSIONS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/list_sessions.lua")));

/// KEYS: one-time token. ARGV: subject, purpose, expires_at, ttl, has data ('1'/'0'), data.
static INSERT_ONE_TIME: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/insert_one_time.lua")));

/// KEYS: one-time token. ARGV: purpose, now. Returns {status, {subject, has data, data}}.
static CONSUME_ONE_TIME: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/consume_one_time.lua")));

/// One failure or attempt, counted and locked in one atomic step (the rule of `memory.rs`).
/// KEYS: counter. ARGV: now, reset_after, max_failures, check (1: count nothing while locked, as
/// an attempt; 0: always count, as a failure), LOCKED_FOREVER, RETAIN, MAX_TTL,
/// THROTTLE_RETENTION, then the lock schedule: seconds of lock after 1, 2, ... failures (the last
/// entry holds for every count beyond). Below max_failures a count whose last failure is
/// reset_after old starts over; from max_failures on it never does, and the key is kept for
/// THROTTLE_RETENTION after its lock ends (the rule `purge_expired` applies in SQL).
/// Returns {counted (1/0), failures, last_failure_at, locked_until}.
static THROTTLE_STEP: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/throttle_step.lua")));

/// KEYS: factor, recovery codes. Returns {flat factor hash or {}, unused recovery codes}.
static MFA_GET: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/mfa_get.lua")));

/// KEYS: factor. ARGV: pending secret, its expiry.
static MFA_BEGIN: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/mfa_begin.lua")));

/// KEYS: factor, recovery codes. ARGV: expected pending secret, secret, step, now, code hashes...
static MFA_CONFIRM: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/mfa_confirm.lua")));

/// KEYS: factor. ARGV: expected secret, secret to store, step, now. Returns 1 when accepted.
static MFA_ACCEPT_STEP: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/mfa_accept_step.lua")));

/// KEYS: recovery codes. ARGV: code hash, now. Returns {status, unused codes left}.
static MFA_USE_CODE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/mfa_use_code.lua")));

/// KEYS: factor, recovery codes. ARGV: code hashes... Returns 0 without a confirmed factor.
static MFA_REPLACE_CODES: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/mfa_replace_codes.lua")));

/// KEYS: factor, recovery codes. Returns 1 when a factor (or pending enrollment) was removed.
static MFA_DELETE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/mfa_delete.lua")));

/// KEYS: account, login. ARGV: subject, login, has hash ('1'/'0'), hash, verified_at ('' =
/// none), disabled_at ('' = none), claims, created_at, updated_at.
/// Returns 'ok', 'exists' (the login is taken) or 'collision' (the subject exists).
static ACCOUNT_INSERT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/account_insert.lua")));

/// KEYS: login. ARGV: key prefix. Returns the flat account hash, or {} when the login is unknown.
static ACCOUNT_FIND: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/account_find.lua")));

/// KEYS: account. ARGV: field ('password_hash', 'claims', 'verified_at' or 'disabled_at'),
/// mode ('set': store the value; 'del': remove the field; 'once': store it unless present),
/// value, now. Returns the flat account hash after the change, {} when the account is unknown.
static ACCOUNT_UPDATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/account_update.lua")));

/// KEYS: account. ARGV: expected hash, new hash, now. Returns 1 when the hash was still the
/// expected one and is replaced.
static ACCOUNT_REPLACE_HASH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/account_replace_hash.lua")));

// ---------------------------------------------------------------------------------------------
// URL handling and errors.
// ---------------------------------------------------------------------------------------------

/// Splits `polyauth_namespace` off the URL: (URL for the redis crate, key prefix).
fn split_namespace(url: &str) -> Result<(String, String)> {
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut namespace: Option<&str> = None;
    let mut kept: Vec<&str> = Vec::new();
    for param in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if name != NAMESPACE_PARAM {
            kept.push(param);
            continue;
        }
        let valid = (1..=40).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(Error::InvalidConfig(format!(
                "{NAMESPACE_PARAM} must match [a-z0-9_]{{1,40}}"
            )));
        }
        if namespace.replace(value).is_some() {
            return Err(Error::InvalidConfig(format!(
                "{NAMESPACE_PARAM} given twice"
            )));
        }
    }
    let mut out = base.to_owned();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    // `{` never starts a key kind, and a namespace cannot contain `}`: the default namespace's
    // keys (`polyauth:<kind>:...`) and every namespace's (`polyauth:{<ns>}:<kind>:...`) are
    // disjoint by construction, whatever the namespace is called.
    let prefix = match namespace {
        Some(ns) => format!("polyauth:{{{ns}}}:"),
        None => "polyauth:".to_owned(),
    };
    Ok((out, prefix))
}

/// Redis errors that mean "the store cannot serve right now" rather than a bug.
fn is_unavailable(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        return true;
    }
    if matches!(
        e.kind(),
        ErrorKind::BusyLoadingError
            | ErrorKind::TryAgain
            | ErrorKind::ClusterDown
            | ErrorKind::MasterDown
            | ErrorKind::ReadOnly
            | ErrorKind::AuthenticationFailed
    ) {
        return true;
    }
    matches!(
        e.code(),
        Some(
            "LOADING"
                | "MISCONF"
                | "OOM"
                | "NOAUTH"
                | "WRONGPASS"
                | "NOPERM"
                | "BUSY"
                | "NOREPLICAS"
                | "MASTERDOWN"
                | "READONLY"
        )
    )
}

/// Maps a redis error without echoing server text, keys or values.
fn map_err(e: RedisError) -> Error {
    if !is_unavailable(&e) {
        return Error::Internal("redis store: unexpected error from the server".into());
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connection_refusal() {
        "connection refused"
    } else if e.is_connection_dropped() {
        "connection lost"
    } else if e.is_io_error() {
        "I/O error"
    } else if matches!(e.kind(), ErrorKind::AuthenticationFailed)
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
    {
        "authentication or permission failure"
    } else if matches!(e.kind(), ErrorKind::BusyLoadingError) {
        "server is loading its data"
    } else {
        "server cannot serve the request now"
    };
    Error::StoreUnavailable(format!("redis: {what}"))
}

fn malformed(what: &str) -> Error {
    Error::Internal(format!("redis store: malformed {what} record"))
}

fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    let mut map = HashMap::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        map.insert(k, v);
    }
    map
}

fn session_from(mut h: HashMap<String, String>) -> Result<SessionRecord> {
    fn take(h: &mut HashMap<String, String>, k: &str) -> Result<String> {
        h.remove(k).ok_or_else(|| malformed("session"))
    }
    fn int(h: &mut HashMap<String, String>, k: &str) -> Result<i64> {
        take(h, k)?.parse().map_err(|_| malformed("session"))
    }
    fn json(h: &mut HashMap<String, String>, k: &str) -> Result<Map<String, Value>> {
        serde_json::from_str(&take(h, k)?).map_err(|_| malformed("session"))
    }
    let revoked_at = match h.remove("revoked_at") {
        Some(v) => Some(v.parse().map_err(|_| malformed("session"))?),
        None => None,
    };
    Ok(SessionRecord {
        id: take(&mut h, "id")?,
        subject: take(&mut h, "subject")?,
        audience: take(&mut h, "audience")?,
        claims: json(&mut h, "claims")?,
        meta: json(&mut h, "meta")?,
        created_at: int(&mut h, "created_at")?,
        last_used_at: int(&mut h, "last_used_at")?,
        expires_at: int(&mut h, "expires_at")?,
        idle_ttl: int(&mut h, "idle_ttl")?,
        generation: int(&mut h, "generation")?,
        revoked_at,
        // Sessions written before the issuer was recorded have none: they match no `Sessions`.
        issuer: h.remove("issuer").unwrap_or_default(),
    })
}

fn counter_from(values: &[Option<String>]) -> Result<Option<Counter>> {
    let parse = |v: &Option<String>| -> Result<i64> {
        match v {
            Some(s) => s.parse().map_err(|_| malformed("throttle")),
            None => Ok(0),
        }
    };
    match values {
        [None, None, None] => Ok(None),
        [f, l, u] => Ok(Some(Counter {
            failures: parse(f)?,
            last_failure_at: parse(l)?,
            locked_until: parse(u)?,
        })),
        _ => Err(malformed("throttle")),
    }
}

fn mfa_from(mut h: HashMap<String, String>, recovery_remaining: i64) -> Result<MfaRecord> {
    fn opt_int(h: &mut HashMap<String, String>, k: &str) -> Result<Option<i64>> {
        h.remove(k)
            .map(|v| v.parse().map_err(|_| malformed("mfa")))
            .transpose()
    }
    Ok(MfaRecord {
        secret: h.remove("secret"),
        last_step: opt_int(&mut h, "last_step")?.ok_or_else(|| malformed("mfa"))?,
        confirmed_at: opt_int(&mut h, "confirmed_at")?,
        last_used_at: opt_int(&mut h, "last_used_at")?,
        pending_secret: h.remove("pending_secret"),
        pending_expires_at: opt_int(&mut h, "pending_expires_at")?,
        recovery_remaining,
    })
}

fn account_from(mut h: HashMap<String, String>) -> Result<AccountRecord> {
    fn take(h: &mut HashMap<String, String>, k: &str) -> Result<String> {
        h.remove(k).ok_or_else(|| malformed("account"))
    }
    fn opt_int(h: &mut HashMap<String, String>, k: &str) -> Result<Option<i64>> {
        h.remove(k)
            .map(|v| v.parse().map_err(|_| malformed("account")))
            .transpose()
    }
    let claims =
        serde_json::from_str(&take(&mut h, "claims")?).map_err(|_| malformed("account"))?;
    Ok(AccountRecord {
        subject: take(&mut h, "subject")?,
        login: take(&mut h, "login")?,
        password_hash: h.remove("password_hash"),
        verified_at: opt_int(&mut h, "verified_at")?,
        disabled_at: opt_int(&mut h, "disabled_at")?,
        claims,
        created_at: opt_int(&mut h, "created_at")?.ok_or_else(|| malformed("account"))?,
        updated_at: opt_int(&mut h, "updated_at")?.ok_or_else(|| malformed("account"))?,
    })
}

/// An account from a script's flat hash reply; `None` for an empty reply (unknown account).
fn account_reply(flat: Vec<String>) -> Result<Option<AccountRecord>> {
    if flat.is_empty() {
        Ok(None)
    } else {
        account_from(pairs(flat)).map(Some)
    }
}

/// A relative expiry in seconds: `secs` from now plus the retention margin, bounded.
fn ttl(secs: i64) -> i64 {
    secs.clamp(0, MAX_TTL) + RETAIN
}

fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|_| Error::Internal("redis store: cannot encode JSON".into()))
}

impl RedisStore {
    /// Connects to `redis://[user:password@]host[:port][/db][?polyauth_namespace=ns]` (or
    /// `rediss://`). Fails with `store_unavailable` when the server cannot be reached.
    pub async fn open(url: &str) -> Result<RedisStore> {
        let (url, prefix) = split_namespace(url)?;
        let client = redis::Client::open(url.as_str()).map_err(|e| {
            if e.kind() == ErrorKind::InvalidClientConfig && url.starts_with("rediss://") {
                Error::InvalidConfig(
                    "rediss:// needs TLS support, which this build of polyauth lacks".into(),
                )
            } else {
                Error::InvalidConfig("invalid redis URL".into())
            }
        })?;
        match &client.get_connection_info().addr {
            redis::ConnectionAddr::Tcp(host, _) | redis::ConnectionAddr::TcpTls { host, .. }
                if !host.is_empty() => {}
            _ => return Err(Error::InvalidConfig("redis URL needs a host".into())),
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            // One attempt per reconnection: a call never waits through a backoff series (the
            // next call starts a new attempt, see `call`).
            .set_number_of_retries(0)
            // Callers' commands share one pipelined connection: with Nagle's algorithm a command
            // written while another's reply is outstanding waits for that reply's ACK (redis-rs
            // leaves TCP_NODELAY off unless told; redis-py, node-redis and ioredis turn it on).
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let conn = match tokio::time::timeout(
            CALL_DEADLINE,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) if e.kind() == ErrorKind::InvalidClientConfig => {
                return Err(Error::InvalidConfig(
                    "redis URL is not usable with this build".into(),
                ))
            }
            Ok(Err(e)) => return Err(unavailable_on_open(e)),
            Err(_) => {
                return Err(Error::StoreUnavailable(
                    "redis: timed out connecting".into(),
                ))
            }
        };
        Ok(RedisStore {
            conn,
            prefix: prefix.into(),
            purge_cursor: Arc::new(AtomicU64::new(0)),
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// Runs one request with the hard deadline. A request that failed because the connection
    /// was refused never reached the server, so it is tried once more: the first try may only
    /// have seen the previous, failed reconnection attempt, and it started a new one.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempt = async {
            match f(self.conn.clone()).await {
                Err(e) if e.is_connection_refusal() => f(self.conn.clone()).await,
                r => r,
            }
        };
        match tokio::time::timeout(CALL_DEADLINE, attempt).await {
            Ok(r) => r.map_err(map_err),
            Err(_) => Err(Error::StoreUnavailable("redis: timed out".into())),
        }
    }

    async fn script<T: FromRedisValue>(&self, inv: &ScriptInvocation<'_>) -> Result<T> {
        self.call(|mut c| async move { inv.invoke_async(&mut c).await })
            .await
    }

    pub async fn create_session(&self, session: &SessionRecord, token_hash: &str) -> Result<()> {
        let keep = ttl(session.expires_at.saturating_sub(session.created_at));
        let wall = crate::clock::now();
        let mut inv = CREATE_SESSION.prepare_invoke();
        inv.key(self.key("session", &session.id))
            .key(self.key("refresh", token_hash))
            .key(self.key("subject", &session.subject))
            .arg(keep)
            .arg(wall.saturating_add(keep))
            .arg(wall)
            .arg(&session.id)
            .arg(&session.subject)
            .arg(&session.audience)
            .arg(to_json(&session.claims)?)
            .arg(to_json(&session.meta)?)
            .arg(session.created_at)
            .arg(session.last_used_at)
            .arg(session.expires_at)
            .arg(session.idle_ttl)
            .arg(session.generation)
            .arg(
                session
                    .revoked_at
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            )
            .arg(&session.issuer);
        let created: i64 = self.script(&inv).await?;
        if created == 1 {
            Ok(())
        } else {
            Err(Error::Internal("session or token id collision".into()))
        }
    }

    pub async fn rotate(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
        binding: &Binding<'_>,
    ) -> Result<Rotation> {
        let mut inv = ROTATE.prepare_invoke();
        inv.key(self.key("refresh", token_hash))
            .key(self.key("refresh", new_hash))
            .arg(&*self.prefix)
            .arg(now)
            .arg(grace)
            .arg(binding.issuer)
            .arg(binding.audience);
        let (status, flat): (String, Vec<String>) = self.script(&inv).await?;
        Rotation::from_outcome(&status, || session_from(pairs(flat)))?
            .ok_or_else(|| malformed("rotation"))
    }

    pub async fn revoke_by_token(
        &self,
        token_hash: &str,
        binding: &Binding<'_>,
        now: i64,
    ) -> Result<bool> {
        let mut inv = REVOKE_BY_TOKEN.prepare_invoke();
        inv.key(self.key("refresh", token_hash))
            .arg(&*self.prefix)
            .arg(now)
            .arg(binding.issuer)
            .arg(binding.audience);
        let n: i64 = self.script(&inv).await?;
        Ok(n == 1)
    }

    /// Purges with SCAN: one step from where the last opportunistic step stopped (`Some(count)`),
    /// or a whole round of the key space (`None`). Redis expires everything else on its own.
    pub async fn purge(&self, now: i64, step: Option<usize>) -> Result<u64> {
        let cutoff = now.saturating_sub(super::PURGE_MARGIN);
        // SCAN's COUNT is keys examined, most of them other kinds: look at ten per row allowed.
        let count = step.map_or(1000, |n| n.saturating_mul(10)).clamp(10, 1000);
        let mut cursor = match step {
            Some(_) => self.purge_cursor.load(Ordering::Relaxed).to_string(),
            None => "0".to_owned(),
        };
        let mut removed = 0u64;
        loop {
            let mut inv = PURGE.prepare_invoke();
            inv.arg(&*self.prefix).arg(&cursor).arg(count).arg(cutoff);
            let (next, n): (String, u64) = self.script(&inv).await?;
            removed += n;
            cursor = next;
            if step.is_some() {
                self.purge_cursor
                    .store(cursor.parse().unwrap_or(0), Ordering::Relaxed);
                break;
            }
            if cursor == "0" {
                break;
            }
        }
        Ok(removed)
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let key = self.key("session", id);
        let h: HashMap<String, String> = self
            .call(|mut c| {
                let key = &key;
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut c).await }
            })
            .await?;
        if h.is_empty() {
            Ok(None)
        } else {
            session_from(h).map(Some)
        }
    }

    pub async fn revoke_session(&self, id: &str, now: i64) -> Result<bool> {
        let mut inv = REVOKE_SESSION.prepare_invoke();
        inv.key(self.key("session", id)).arg(now);
        let n: i64 = self.script(&inv).await?;
        Ok(n == 1)
    }

    pub async fn revoke_subject(&self, subject: &str, now: i64) -> Result<u64> {
        let mut inv = REVOKE_SUBJECT.prepare_invoke();
        inv.key(self.key("subject", subject))
            .arg(&*self.prefix)
            .arg(now);
        self.script(&inv).await
    }

    pub async fn list_sessions(&self, subject: &str, now: i64) -> Result<Vec<SessionRecord>> {
        let mut inv = LIST_SESSIONS.prepare_invoke();
        inv.key(self.key("subject", subject)).arg(&*self.prefix);
        let rows: Vec<Vec<String>> = self.script(&inv).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let s = session_from(pairs(row))?;
            if s.subject == subject && s.inactive_reason(now).is_none() {
                out.push(s);
            }
        }
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
        let keep = ttl(expires_at.saturating_sub(crate::clock::now()));
        let data = data.map(to_json).transpose()?;
        let mut inv = INSERT_ONE_TIME.prepare_invoke();
        inv.key(self.key("onetime", hash))
            .arg(subject)
            .arg(purpose)
            .arg(expires_at)
            .arg(keep)
            .arg(if data.is_some() { "1" } else { "0" })
            .arg(data.unwrap_or_default());
        let inserted: i64 = self.script(&inv).await?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(Error::Internal("one-time token collision".into()))
        }
    }

    pub async fn peek_one_time(&self, hash: &str, purpose: &str, now: i64) -> Result<Consumption> {
        self.one_time_step(hash, purpose, now, false).await
    }

    pub async fn consume_one_time(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Consumption> {
        self.one_time_step(hash, purpose, now, true).await
    }

    async fn one_time_step(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
        consume: bool,
    ) -> Result<Consumption> {
        let mut inv = CONSUME_ONE_TIME.prepare_invoke();
        inv.key(self.key("onetime", hash))
            .arg(purpose)
            .arg(now)
            .arg(if consume { "1" } else { "0" });
        let (status, fields): (String, Vec<String>) = self.script(&inv).await?;
        Ok(match status.as_str() {
            "consumed" => {
                let [subject, has_data, data]: [String; 3] =
                    fields.try_into().map_err(|_| malformed("one-time"))?;
                let data = if has_data == "1" {
                    Some(serde_json::from_str(&data).map_err(|_| malformed("one-time"))?)
                } else {
                    None
                };
                Consumption::Consumed { subject, data }
            }
            "unknown" => Consumption::Unknown,
            "wrong_purpose" => Consumption::WrongPurpose,
            "used" => Consumption::Used,
            "expired" => Consumption::Expired,
            _ => return Err(malformed("one-time")),
        })
    }

    pub async fn throttle_fail(
        &self,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Counter> {
        match self.throttle_step(key, now, decay, lock_for, false).await? {
            Attempt::Allowed(c) => Ok(c),
            Attempt::Locked(_) => Err(Error::Internal(
                "throttle: an unconditional count reported a lock".into(),
            )),
        }
    }

    pub async fn throttle_attempt(
        &self,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Attempt> {
        self.throttle_step(key, now, decay, lock_for, true).await
    }

    /// `THROTTLE_STEP`: `check` refuses (and counts nothing) while the key is locked.
    async fn throttle_step(
        &self,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
        check: bool,
    ) -> Result<Attempt> {
        // The whole schedule goes to the script so that checking, counting and locking are one
        // atomic step; `lock_for` is constant from the ceiling on.
        let schedule: Vec<i64> = (1..=super::MAX_FAILURES_CEILING).map(lock_for).collect();
        let mut inv = THROTTLE_STEP.prepare_invoke();
        inv.key(self.key("throttle", key))
            .arg(now)
            .arg(decay.reset_after)
            .arg(decay.max_failures)
            .arg(i64::from(check))
            .arg(super::LOCKED_FOREVER)
            .arg(RETAIN)
            .arg(MAX_TTL)
            .arg(super::THROTTLE_RETENTION);
        for secs in &schedule {
            inv.arg(*secs);
        }
        let (counted, failures, last_failure_at, locked_until): (i64, i64, i64, i64) =
            self.script(&inv).await?;
        Ok(if counted == 1 {
            Attempt::Allowed(Counter {
                failures,
                last_failure_at,
                locked_until,
            })
        } else {
            Attempt::Locked(locked_until)
        })
    }

    fn mfa_keys(&self, subject: &str) -> (String, String) {
        (self.key("mfa", subject), self.key("mfa_codes", subject))
    }

    pub async fn mfa_get(&self, subject: &str) -> Result<Option<MfaRecord>> {
        let (factor, codes) = self.mfa_keys(subject);
        let mut inv = MFA_GET.prepare_invoke();
        inv.key(factor).key(codes);
        let (flat, remaining): (Vec<String>, i64) = self.script(&inv).await?;
        if flat.is_empty() {
            return Ok(None);
        }
        mfa_from(pairs(flat), remaining).map(Some)
    }

    pub async fn mfa_begin(&self, subject: &str, pending: &str, expires_at: i64) -> Result<()> {
        let mut inv = MFA_BEGIN.prepare_invoke();
        inv.key(self.key("mfa", subject))
            .arg(pending)
            .arg(expires_at);
        self.script::<i64>(&inv).await.map(drop)
    }

    pub async fn mfa_confirm(&self, subject: &str, c: &MfaConfirmation<'_>) -> Result<bool> {
        let (factor, codes) = self.mfa_keys(subject);
        let mut inv = MFA_CONFIRM.prepare_invoke();
        inv.key(factor)
            .key(codes)
            .arg(c.expected_pending)
            .arg(c.secret)
            .arg(c.step)
            .arg(c.now);
        for hash in c.code_hashes {
            inv.arg(hash);
        }
        Ok(self.script::<i64>(&inv).await? == 1)
    }

    pub async fn mfa_accept_step(
        &self,
        subject: &str,
        expected_secret: &str,
        secret: &str,
        step: i64,
        now: i64,
    ) -> Result<bool> {
        let mut inv = MFA_ACCEPT_STEP.prepare_invoke();
        inv.key(self.key("mfa", subject))
            .arg(expected_secret)
            .arg(secret)
            .arg(step)
            .arg(now);
        Ok(self.script::<i64>(&inv).await? == 1)
    }

    pub async fn mfa_use_recovery(
        &self,
        subject: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<RecoveryUse> {
        let mut inv = MFA_USE_CODE.prepare_invoke();
        inv.key(self.key("mfa_codes", subject))
            .arg(code_hash)
            .arg(now);
        let (status, left): (String, i64) = self.script(&inv).await?;
        Ok(match status.as_str() {
            "consumed" => RecoveryUse::Consumed(left),
            "used" => RecoveryUse::Used,
            "unknown" => RecoveryUse::Unknown,
            _ => return Err(malformed("recovery code")),
        })
    }

    pub async fn mfa_replace_recovery(&self, subject: &str, hashes: &[String]) -> Result<bool> {
        let (factor, codes) = self.mfa_keys(subject);
        let mut inv = MFA_REPLACE_CODES.prepare_invoke();
        inv.key(factor).key(codes);
        for hash in hashes {
            inv.arg(hash);
        }
        Ok(self.script::<i64>(&inv).await? == 1)
    }

    pub async fn mfa_delete(&self, subject: &str) -> Result<bool> {
        let (factor, codes) = self.mfa_keys(subject);
        let mut inv = MFA_DELETE.prepare_invoke();
        inv.key(factor).key(codes);
        Ok(self.script::<i64>(&inv).await? == 1)
    }

    pub async fn throttle_get(&self, key: &str) -> Result<Option<Counter>> {
        let k = self.key("throttle", key);
        let values: Vec<Option<String>> = self
            .call(|mut c| {
                let k = &k;
                async move {
                    redis::cmd("HMGET")
                        .arg(k)
                        .arg("failures")
                        .arg("last_failure_at")
                        .arg("locked_until")
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        counter_from(&values)
    }

    /// One trivial round trip (`PING`): a health check and the benchmark's baseline.
    pub async fn ping(&self) -> Result<()> {
        self.call(|mut c| async move { redis::cmd("PING").query_async::<()>(&mut c).await })
            .await
    }

    pub async fn throttle_reset(&self, key: &str) -> Result<()> {
        let k = self.key("throttle", key);
        self.call(|mut c| {
            let k = &k;
            async move { redis::cmd("DEL").arg(k).query_async::<()>(&mut c).await }
        })
        .await
    }
}

impl RedisStore {
    /// See `Store::account_insert`.
    pub async fn account_insert(&self, account: &AccountRecord) -> Result<()> {
        let opt = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
        let mut inv = ACCOUNT_INSERT.prepare_invoke();
        inv.key(self.key("account", &account.subject))
            .key(self.key("login", &account.login))
            .arg(&account.subject)
            .arg(&account.login)
            .arg(if account.password_hash.is_some() {
                "1"
            } else {
                "0"
            })
            .arg(account.password_hash.as_deref().unwrap_or_default())
            .arg(opt(account.verified_at))
            .arg(opt(account.disabled_at))
            .arg(to_json(&account.claims)?)
            .arg(account.created_at)
            .arg(account.updated_at);
        let status: String = self.script(&inv).await?;
        match status.as_str() {
            "ok" => Ok(()),
            "exists" => Err(Error::AccountExists),
            "collision" => Err(Error::Internal("account subject collision".into())),
            _ => Err(malformed("account")),
        }
    }

    /// See `Store::account_get`.
    pub async fn account_get(&self, subject: &str) -> Result<Option<AccountRecord>> {
        let key = self.key("account", subject);
        let flat: Vec<String> = self
            .call(|mut c| {
                let key = &key;
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut c).await }
            })
            .await?;
        account_reply(flat)
    }

    /// See `Store::account_find`.
    pub async fn account_find(&self, login: &str) -> Result<Option<AccountRecord>> {
        let mut inv = ACCOUNT_FIND.prepare_invoke();
        inv.key(self.key("login", login)).arg(&*self.prefix);
        account_reply(self.script(&inv).await?)
    }

    /// `ACCOUNT_UPDATE` of one field.
    async fn account_update(
        &self,
        subject: &str,
        field: &str,
        mode: &str,
        value: &str,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        let mut inv = ACCOUNT_UPDATE.prepare_invoke();
        inv.key(self.key("account", subject))
            .arg(field)
            .arg(mode)
            .arg(value)
            .arg(now);
        account_reply(self.script(&inv).await?)
    }

    /// See `Store::account_set_password_hash`.
    pub async fn account_set_password_hash(
        &self,
        subject: &str,
        hash: Option<&str>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        let mode = if hash.is_some() { "set" } else { "del" };
        self.account_update(
            subject,
            "password_hash",
            mode,
            hash.unwrap_or_default(),
            now,
        )
        .await
    }

    /// See `Store::account_replace_password_hash`.
    pub async fn account_replace_password_hash(
        &self,
        subject: &str,
        expected_old: &str,
        new: &str,
        now: i64,
    ) -> Result<bool> {
        let mut inv = ACCOUNT_REPLACE_HASH.prepare_invoke();
        inv.key(self.key("account", subject))
            .arg(expected_old)
            .arg(new)
            .arg(now);
        Ok(self.script::<i64>(&inv).await? == 1)
    }

    /// See `Store::account_mark`.
    pub async fn account_mark(
        &self,
        subject: &str,
        mark: AccountMark,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        let field = match mark {
            AccountMark::Verified => "verified_at",
            AccountMark::Disabled => "disabled_at",
        };
        self.account_update(subject, field, "once", &now.to_string(), now)
            .await
    }

    /// See `Store::account_update_claims`.
    pub async fn account_update_claims(
        &self,
        subject: &str,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        self.account_update(subject, "claims", "set", &to_json(claims)?, now)
            .await
    }
}

/// Errors of the first connection: never the URL or credentials in the message.
fn unavailable_on_open(e: RedisError) -> Error {
    match map_err(e) {
        Error::StoreUnavailable(m) => Error::StoreUnavailable(format!("{m} (while connecting)")),
        _ => Error::StoreUnavailable("redis: cannot connect".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_disjoint_by_construction() {
        // Every key kind this backend writes; a namespace named after any of them (or anything
        // else) must not reach the default namespace's keys, nor another namespace's.
        let kinds = [
            "session",
            "refresh",
            "subject",
            "onetime",
            "throttle",
            "mfa",
            "mfa_codes",
            "account",
            "login",
        ];
        let mut spaces: Vec<Vec<String>> = Vec::new();
        for ns in kinds.iter().copied().chain(["a", "a_b", "ab", "polyauth"]) {
            let (_, prefix) =
                split_namespace(&format!("redis://h?polyauth_namespace={ns}")).unwrap();
            spaces.push(kinds.iter().map(|k| format!("{prefix}{k}:")).collect());
        }
        let (_, default) = split_namespace("redis://h").unwrap();
        spaces.push(kinds.iter().map(|k| format!("{default}{k}:")).collect());
        // Two key spaces overlap only if a key prefix of one is a prefix of one of the other.
        for (i, a) in spaces.iter().enumerate() {
            for b in spaces.iter().skip(i + 1) {
                for x in a {
                    for y in b {
                        assert!(
                            !x.starts_with(y.as_str()) && !y.starts_with(x.as_str()),
                            "{x} / {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn namespace_is_split_off_and_checked() {
        let (u, p) = split_namespace("redis://h:1/2?polyauth_namespace=ab_9").unwrap();
        assert_eq!(
            (u.as_str(), p.as_str()),
            ("redis://h:1/2", "polyauth:{ab_9}:")
        );
        let (u, p) =
            split_namespace("redis://h?protocol=resp3&polyauth_namespace=x#insecure").unwrap();
        assert_eq!(
            (u.as_str(), p.as_str()),
            ("redis://h?protocol=resp3#insecure", "polyauth:{x}:")
        );
        let (u, p) = split_namespace("redis://:pw@h").unwrap();
        assert_eq!((u.as_str(), p.as_str()), ("redis://:pw@h", "polyauth:"));
        for bad in ["", "A", "a-b", "a:b", &"a".repeat(41)] {
            let e = split_namespace(&format!("redis://h?polyauth_namespace={bad}")).unwrap_err();
            assert_eq!(e.code(), "invalid_config", "{bad}");
        }
        let e = split_namespace("redis://h?polyauth_namespace=a&polyauth_namespace=b").unwrap_err();
        assert_eq!(e.code(), "invalid_config");
    }

    #[test]
    fn counters_and_sessions_parse_strictly() {
        assert_eq!(counter_from(&[None, None, None]).unwrap(), None);
        let c = counter_from(&[Some("2".into()), Some("5".into()), None])
            .unwrap()
            .unwrap();
        assert_eq!((c.failures, c.last_failure_at, c.locked_until), (2, 5, 0));
        assert!(counter_from(&[Some("x".into()), None, None]).is_err());
        assert!(session_from(pairs(vec!["id".into(), "s".into()])).is_err());
    }

    #[test]
    fn unreachable_urls_do_not_leak_credentials() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt
            .block_on(RedisStore::open("redis://user:hunter2@127.0.0.1:1/0"))
            .unwrap_err();
        assert_eq!(e.code(), "store_unavailable");
        let text = e.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("127.0.0.1"),
            "{text}"
        );
        for bad in ["redis://", "redis://:pw@/0", "rediss://127.0.0.1:1"] {
            let e = rt.block_on(RedisStore::open(bad)).unwrap_err();
            assert_eq!(e.code(), "invalid_config", "{bad}: {e}");
        }
    }
}
