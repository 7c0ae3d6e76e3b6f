//! `sqlite://path` and `postgres://...`: the store in SQL, with ONE SQL text for both engines
//! (`$n` placeholders, numbered in order of first appearance), through sqlx's `any` driver.
//!
//! Atomicity (DESIGN.md §6, RT-4): every read-modify-write is one conditional statement or one
//! transaction whose first statement is a write, so it holds the write lock it needs before it
//! reads anything:
//! - `rotate` first takes the session's row lock with a no-op `UPDATE ... RETURNING` (every
//!   rotation of one family is serialised behind it on PostgreSQL; SQLite has one writer anyway,
//!   taken by `BEGIN IMMEDIATE`), then claims the presented token with the conditional
//!   `UPDATE polyauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL`:
//!   0 rows on a known token means it was used before (grace or reuse, exactly as `memory.rs`).
//! - `consume_one_time` is one conditional `UPDATE ... RETURNING`; a miss is classified afterwards.
//! - `throttle_fail` / `throttle_attempt` are an upsert (conditional for an attempt) plus a
//!   monotonic `locked_until` update in one transaction.
//! - `account_insert` is one `INSERT ... ON CONFLICT DO NOTHING`: the UNIQUE login decides between
//!   concurrent registrations; a row not inserted is classified afterwards (login taken, or a
//!   subject collision). Every other account change is one `UPDATE` (conditional on the old hash
//!   for `account_replace_password_hash`) returning the row.
//!
//! SQLite: WAL, `busy_timeout` 5 s, foreign keys on, `synchronous = FULL` (a committed revocation
//! survives a power cut, RT-9); writers of one process queue on an in-process lock so they do not
//! spin in SQLite's busy handler; other processes are handled by `BEGIN IMMEDIATE` + busy_timeout.
//! A busy/locked (SQLite) or serialization/deadlock (PostgreSQL) error rolls back and is retried a
//! few times.

mod migrations;
mod statements;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{
    rotation_step, AccountMark, AccountRecord, Attempt, Binding, Consumption, Counter,
    MfaConfirmation, MfaRecord, RecoveryUse, Rotation, SessionRecord, Step,
};
use crate::error::{Error, Result};
use migrations::MIGRATIONS;
use statements::*;

type SqlResult<T> = std::result::Result<T, sqlx::Error>;

/// Advisory lock key serialising migrations on PostgreSQL (ASCII "polyauth").
const MIGRATION_LOCK: i64 = 0x706f_6c79_6175_7468;

/// Longest a whole store operation may take, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ATTEMPTS: u32 = 5;

/// The schema version this build writes and expects.
fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// The SQL text of every migration, by version (for teams that apply migrations themselves).
pub fn migration_sql() -> &'static [(i64, &'static str)] {
    MIGRATIONS
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

/// A SQLite or PostgreSQL store; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    kind: Kind,
    /// SQLite only: queues this process's writers (one at a time, in order) so that they do not
    /// poll in SQLite's busy handler.
    writer: Option<Arc<Mutex<()>>>,
}

/// A write transaction (and, on SQLite, this process's writer slot).
/// Field order matters: the transaction ends before the slot is released.
struct WriteTx {
    tx: Transaction<'static, Any>,
    _slot: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    async fn commit(self) -> SqlResult<()> {
        let WriteTx { tx, _slot } = self;
        tx.commit().await
    }

    async fn rollback(self) -> SqlResult<()> {
        let WriteTx { tx, _slot } = self;
        tx.rollback().await
    }
}

fn unavailable(msg: &str) -> Error {
    Error::StoreUnavailable(msg.to_owned())
}

/// A database error's code, by engine: SQLite's primary result code (the low byte of the
/// extended one) or PostgreSQL's SQLSTATE.
enum DbCode {
    Sqlite(i64),
    Postgres(String),
    Other,
}

fn db_code(db: &dyn DatabaseError) -> DbCode {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse::<i64>()
            .map_or(DbCode::Other, |c| DbCode::Sqlite(c & 0xff))
    } else if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
        && code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        DbCode::Postgres(code)
    } else {
        DbCode::Other
    }
}

/// Errors after which the transaction was rolled back and trying again is safe and useful.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => match db_code(db.as_ref()) {
            // SQLITE_BUSY, SQLITE_LOCKED
            DbCode::Sqlite(c) => c == 5 || c == 6,
            // serialization failure, deadlock detected
            DbCode::Postgres(c) => c == "40001" || c == "40P01",
            DbCode::Other => false,
        },
        _ => false,
    }
}

/// Maps a sqlx error to a polyauth error without echoing SQL values, URLs or secrets.
fn map_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::PoolTimedOut => unavailable("timed out waiting for a database connection"),
        sqlx::Error::PoolClosed => unavailable("the connection pool is closed"),
        sqlx::Error::Io(_) => unavailable("I/O error talking to the database"),
        sqlx::Error::Tls(_) => unavailable("TLS error talking to the database"),
        sqlx::Error::Protocol(_) => unavailable("protocol error talking to the database"),
        sqlx::Error::WorkerCrashed => unavailable("the database worker stopped"),
        sqlx::Error::Configuration(_) => {
            Error::InvalidConfig("invalid database URL or connection options".into())
        }
        sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
            Error::Internal("stored data could not be decoded".into())
        }
        sqlx::Error::Database(_) if is_transient(&e) => {
            unavailable("the database is busy; try again")
        }
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            Error::Internal("id collision in the store".into())
        }
        sqlx::Error::Database(db) => {
            let down = match db_code(db.as_ref()) {
                DbCode::Sqlite(c) => match c {
                    8 => Some(format!("the database is read-only (code {c})")),
                    10 => Some(format!("disk I/O error (code {c})")),
                    13 => Some(format!("the disk is full (code {c})")),
                    14 => Some(format!("could not open the database file (code {c})")),
                    26 => Some(format!("the file is not a database (code {c})")),
                    _ => None,
                },
                DbCode::Postgres(c) if c == "57014" || c == "55P03" => Some(format!(
                    "the database did not answer in time (statement or lock timeout, SQLSTATE {c})"
                )),
                DbCode::Postgres(c) => match &c[..2] {
                    "08" => Some(format!("connection failure (SQLSTATE {c})")),
                    "28" => Some(format!(
                        "the server rejected the credentials (SQLSTATE {c})"
                    )),
                    "3D" => Some(format!("the database does not exist (SQLSTATE {c})")),
                    "53" => Some(format!("the server is out of resources (SQLSTATE {c})")),
                    "57" => Some(format!(
                        "the server is not accepting queries (SQLSTATE {c})"
                    )),
                    _ => None,
                },
                DbCode::Other => None,
            };
            match (down, db_code(db.as_ref())) {
                (Some(m), _) => Error::StoreUnavailable(m),
                (None, DbCode::Sqlite(c)) => Error::Internal(format!("database error (code {c})")),
                (None, DbCode::Postgres(c)) => {
                    Error::Internal(format!("database error (SQLSTATE {c})"))
                }
                (None, DbCode::Other) => Error::Internal("database error".into()),
            }
        }
        _ => Error::Internal("database error".into()),
    }
}

fn decode_err(e: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn json_map(text: &str) -> SqlResult<Map<String, Value>> {
    serde_json::from_str(text).map_err(decode_err)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|_| Error::Internal("could not serialise JSON for the store".into()))
}

fn session_from_row(row: &AnyRow) -> SqlResult<SessionRecord> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        audience: row.try_get("audience")?,
        claims: json_map(&row.try_get::<String, _>("claims")?)?,
        meta: json_map(&row.try_get::<String, _>("meta")?)?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        idle_ttl: row.try_get("idle_ttl")?,
        generation: row.try_get("generation")?,
        revoked_at: row.try_get("revoked_at")?,
        issuer: row.try_get("issuer")?,
    })
}

fn account_from_row(row: &AnyRow) -> SqlResult<AccountRecord> {
    Ok(AccountRecord {
        subject: row.try_get("subject")?,
        login: row.try_get("login")?,
        password_hash: row.try_get("password_hash")?,
        verified_at: row.try_get("verified_at")?,
        disabled_at: row.try_get("disabled_at")?,
        claims: json_map(&row.try_get::<String, _>("claims")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn counter_from_row(row: &AnyRow) -> SqlResult<Counter> {
    Ok(Counter {
        failures: row.try_get("failures")?,
        last_failure_at: row.try_get("last_failure_at")?,
        locked_until: row.try_get("locked_until")?,
    })
}

/// Splits `polyauth_namespace=...` off the query string; validates it.
fn strip_namespace(url: &str) -> Result<(String, Option<String>)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut namespace = None;
    let mut kept = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("polyauth_namespace", value)) => {
                let valid = !value.is_empty()
                    && value.len() <= 40
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    && !value.starts_with("pg_");
                if !valid {
                    return Err(Error::InvalidConfig(
                        "polyauth_namespace must be 1 to 40 characters of [a-z0-9_], not starting with pg_".into(),
                    ));
                }
                if namespace.replace(value.to_owned()).is_some() {
                    return Err(Error::InvalidConfig(
                        "polyauth_namespace given twice".into(),
                    ));
                }
            }
            _ if pair == "polyauth_namespace" => {
                return Err(Error::InvalidConfig(
                    "polyauth_namespace needs a value".into(),
                ));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, namespace))
}

/// Per-connection SQLite settings.
async fn setup_sqlite(conn: &mut AnyConnection) -> SqlResult<()> {
    for pragma in [
        "PRAGMA busy_timeout = 5000",
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = FULL",
    ] {
        conn.execute(pragma).await?;
    }
    let mode: String = conn.fetch_one("PRAGMA journal_mode").await?.try_get(0)?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    // Switching to WAL needs an exclusive lock that busy_timeout does not wait for; it happens
    // once per database file, so poll briefly when another process holds it.
    let mut attempt = 0;
    loop {
        match conn.execute("PRAGMA journal_mode = WAL").await {
            Ok(_) => return Ok(()),
            Err(e) if is_transient(&e) && attempt < 50 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Per-connection PostgreSQL settings.
async fn setup_postgres(conn: &mut AnyConnection, set_path: Option<&str>) -> SqlResult<()> {
    if let Some(stmt) = set_path {
        conn.execute(stmt).await?;
    }
    // A statement stuck behind another client's lock fails instead of waiting forever.
    conn.execute("SET statement_timeout = 5000").await?;
    Ok(())
}

/// Pool settings; every new connection is set up before use.
fn pool_options(kind: Kind, set_path: Option<String>) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(if kind == Kind::Postgres { 10 } else { 5 })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| {
            let set_path = set_path.clone();
            Box::pin(async move {
                match kind {
                    Kind::Sqlite => setup_sqlite(conn).await,
                    Kind::Postgres => setup_postgres(conn, set_path.as_deref()).await,
                }
            })
        })
}

impl SqlStore {
    /// Opens `sqlite://path` (created if missing) or `postgres://...`, with an optional
    /// `polyauth_namespace=<[a-z0-9_]{1,40}>` query parameter (PostgreSQL: a schema, created if
    /// missing; SQLite: ignored), and applies pending migrations (`migrate`) or checks that there
    /// are none.
    pub async fn open(url: &str, migrate: bool) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let (url, namespace) = strip_namespace(url)?;
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| Error::InvalidConfig("store URL must look like scheme://...".into()))?;
        let path_or_host = rest.split('?').next().unwrap_or("");
        // `postgres://?host=/run/postgresql` is a valid libpq URL; `sqlite://?mode=rwc` is not.
        if rest.is_empty() || (scheme == "sqlite" && path_or_host.is_empty()) {
            return Err(Error::InvalidConfig(
                "store URL has no database after the scheme".into(),
            ));
        }
        let (kind, url) = match scheme {
            "sqlite" => {
                if path_or_host == ":memory:"
                    || rest.contains("mode=memory")
                    || rest.contains("mode%3Dmemory")
                {
                    return Err(Error::InvalidConfig(
                        "an in-memory SQLite store is not supported; use memory://".into(),
                    ));
                }
                let has_mode = rest.split_once('?').is_some_and(|(_, q)| {
                    q.split('&').any(|p| p.split('=').next() == Some("mode"))
                });
                let url = if has_mode {
                    url.clone()
                } else if rest.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                (Kind::Sqlite, url)
            }
            "postgres" | "postgresql" => (Kind::Postgres, url.clone()),
            _ => {
                return Err(Error::InvalidConfig(
                    "SQL store URL must be sqlite:// or postgres://".into(),
                ))
            }
        };
        let namespace = if kind == Kind::Postgres {
            namespace
        } else {
            None
        };
        let set_path = namespace
            .as_ref()
            .map(|ns| format!("SET search_path TO \"{ns}\""));
        let options = pool_options(kind, set_path);
        let pool = match tokio::time::timeout(ACQUIRE_TIMEOUT * 2, options.connect(&url)).await {
            Err(_) => return Err(unavailable("timed out connecting to the database")),
            Ok(Err(sqlx::Error::Configuration(_))) => {
                return Err(Error::InvalidConfig(
                    "invalid database URL or connection options".into(),
                ))
            }
            Ok(Err(e)) => {
                return Err(match map_err(e) {
                    Error::StoreUnavailable(m) => {
                        Error::StoreUnavailable(format!("could not connect: {m}"))
                    }
                    _ => unavailable("could not connect to the database"),
                })
            }
            Ok(Ok(pool)) => pool,
        };
        let store = SqlStore {
            pool,
            kind,
            writer: (kind == Kind::Sqlite).then(|| Arc::new(Mutex::new(()))),
        };
        if migrate {
            store.run(|| store.migrate(namespace.clone())).await?;
        } else {
            store.check_schema().await?;
        }
        Ok(store)
    }

    /// With `migrate=False`: the schema must already be at this build's version (DDL is left to
    /// an owner role; the application role may lack the right to create tables).
    async fn check_schema(&self) -> Result<()> {
        let exists_sql = match self.kind {
            Kind::Sqlite => {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM sqlite_master \
                 WHERE type = 'table' AND name = 'polyauth_schema_version'"
            }
            Kind::Postgres => {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = 'polyauth_schema_version' AND n.nspname = current_schema()"
            }
        };
        let current = self
            .run(|| async {
                let exists: i64 = sqlx::query_scalar(exists_sql).fetch_one(&self.pool).await?;
                if exists == 0 {
                    return Ok(0);
                }
                sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM polyauth_schema_version",
                )
                .fetch_one(&self.pool)
                .await
            })
            .await?;
        let latest = latest_version();
        if current < latest {
            return Err(Error::InvalidConfig(format!(
                "the store's schema is at version {current}, this polyauth needs {latest}: run the \
                 migrations (Store.migrations_sql(), or open once with migrate=True as the owner role)"
            )));
        }
        Ok(())
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }

    /// Runs `op`, retrying it when it failed on a transient lock conflict (it rolled back).
    async fn run<T, Fut>(&self, mut op: impl FnMut() -> Fut) -> Result<T>
    where
        Fut: std::future::Future<Output = SqlResult<T>>,
    {
        let mut attempt = 1;
        loop {
            // The pool's acquire timeout covers getting a connection; this bounds the whole
            // operation, so a server that stops answering mid-call is an error, not a hang.
            let outcome = match tokio::time::timeout(OPERATION_TIMEOUT, op()).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::StoreUnavailable(
                        "the database did not answer in time".into(),
                    ))
                }
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(e) if attempt < MAX_ATTEMPTS && is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(e) => return Err(map_err(e)),
            }
        }
    }

    /// This process's writer slot (SQLite only).
    async fn slot(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer {
            Some(m) => Some(m.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a write transaction; on SQLite it holds the database's write lock from the start.
    async fn write(&self) -> SqlResult<WriteTx> {
        let slot = self.slot().await;
        let tx = match self.kind {
            Kind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Kind::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _slot: slot })
    }

    /// Applies pending migrations in one transaction that excludes concurrent migrators.
    /// (`tx.execute(raw_sql(..))`, not `raw_sql(..).execute(tx)`: the latter makes rustc unable
    /// to prove `open`'s future `Send`; `store_futures_are_send` in tests/store.rs checks it.)
    async fn migrate(&self, namespace: Option<String>) -> SqlResult<()> {
        let mut w = self.write().await?;
        if self.kind == Kind::Postgres {
            sqlx::query(
                "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS polyauth_lock",
            )
            .bind(MIGRATION_LOCK)
            .execute(&mut *w.tx)
            .await?;
            if let Some(ns) = &namespace {
                let create = format!("CREATE SCHEMA IF NOT EXISTS \"{ns}\"");
                w.tx.execute(sqlx::raw_sql(&create)).await?;
            }
        }
        w.tx.execute(sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS polyauth_schema_version (version INTEGER NOT NULL)",
        ))
        .await?;
        let current: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM polyauth_schema_version",
        )
        .fetch_one(&mut *w.tx)
        .await?;
        // A newer schema than this build knows is left alone: migrations only ever add.
        for (version, text) in migration_sql() {
            if *version > current {
                w.tx.execute(sqlx::raw_sql(text)).await?;
            }
        }
        w.commit().await
    }

    pub async fn create_session(&self, session: &SessionRecord, token_hash: &str) -> Result<()> {
        let claims = to_json(&session.claims)?;
        let meta = to_json(&session.meta)?;
        self.run(|| async {
            let mut w = self.write().await?;
            sqlx::query(INSERT_SESSION)
                .bind(&session.id)
                .bind(&session.subject)
                .bind(&session.audience)
                .bind(&claims)
                .bind(&meta)
                .bind(session.created_at)
                .bind(session.last_used_at)
                .bind(session.expires_at)
                .bind(session.idle_ttl)
                .bind(session.generation)
                .bind(session.revoked_at)
                .bind(&session.issuer)
                .execute(&mut *w.tx)
                .await?;
            sqlx::query(INSERT_REFRESH)
                .bind(token_hash)
                .bind(&session.id)
                .bind(session.generation)
                .bind(None::<String>)
                .bind(session.created_at)
                .execute(&mut *w.tx)
                .await?;
            w.commit().await
        })
        .await
    }

    pub async fn rotate(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
        binding: &Binding<'_>,
    ) -> Result<Rotation> {
        match self.kind {
            Kind::Postgres => {
                self.run(|| self.rotate_postgres(token_hash, new_hash, now, grace, binding))
                    .await
            }
            Kind::Sqlite => {
                self.run(|| self.rotate_once(token_hash, new_hash, now, grace, binding))
                    .await
            }
        }
    }

    /// [`ROTATE_POSTGRES`]: one statement, its own transaction.
    async fn rotate_postgres(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
        binding: &Binding<'_>,
    ) -> SqlResult<Rotation> {
        let Some(row) = sqlx::query(ROTATE_POSTGRES)
            .bind(token_hash)
            .bind(binding.issuer)
            .bind(binding.audience)
            .bind(now)
            .bind(grace)
            .bind(new_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(Rotation::Unknown);
        };
        let outcome: String = row.try_get("outcome")?;
        let claimed: i64 = row.try_get("claimed")?;
        // A rotation that claimed no token, or no row at all, is not one this statement makes.
        let reported = match outcome.as_str() {
            "rotated" if claimed != 1 => None,
            "unknown" => None,
            o => Rotation::from_outcome(o, || session_from_row(&row))?,
        };
        reported.ok_or_else(|| {
            sqlx::Error::Protocol("unexpected outcome of the rotation statement".into())
        })
    }

    async fn rotate_once(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
        binding: &Binding<'_>,
    ) -> SqlResult<Rotation> {
        let mut w = self.write().await?;
        // The no-op update takes the session's lock; every decision below is made under it and
        // before any real write, so a refused token leaves the store as it was (RT-8).
        let Some(row) = sqlx::query(LOCK_SESSION_OF_TOKEN)
            .bind(token_hash)
            .fetch_optional(&mut *w.tx)
            .await?
        else {
            w.rollback().await?;
            return Ok(Rotation::Unknown);
        };
        let mut session = session_from_row(&row)?;
        if let Some(e) = binding.mismatch(&session) {
            w.rollback().await?;
            return Ok(Rotation::Mismatch(e));
        }
        if let Some(reason) = session.inactive_reason(now) {
            w.rollback().await?;
            return Ok(Rotation::Inactive(reason));
        }
        let row = sqlx::query(SELECT_REFRESH)
            .bind(token_hash)
            .fetch_one(&mut *w.tx)
            .await?;
        let generation: i64 = row.try_get("generation")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let outcome = match rotation_step(generation, used_at, session.generation, now, grace) {
            Step::Rotate => {
                // Still conditional: the session lock already excludes a concurrent claim, this
                // keeps the rule "0 rows on a known token means used" true on its own.
                let claimed = sqlx::query(CLAIM_REFRESH)
                    .bind(now)
                    .bind(token_hash)
                    .execute(&mut *w.tx)
                    .await?
                    .rows_affected();
                if claimed != 1 {
                    w.rollback().await?;
                    return Err(sqlx::Error::Protocol(
                        "refresh token claimed outside its session lock".into(),
                    ));
                }
                session.generation += 1;
                session.last_used_at = now;
                sqlx::query(ADVANCE_SESSION)
                    .bind(session.generation)
                    .bind(now)
                    .bind(&session.id)
                    .execute(&mut *w.tx)
                    .await?;
                self.insert_child(&mut w, new_hash, &session, token_hash, now)
                    .await?;
                Rotation::Rotated(session)
            }
            Step::Grace => {
                session.last_used_at = now;
                sqlx::query(TOUCH_SESSION)
                    .bind(now)
                    .bind(&session.id)
                    .execute(&mut *w.tx)
                    .await?;
                self.insert_child(&mut w, new_hash, &session, token_hash, now)
                    .await?;
                Rotation::Graced(session)
            }
            Step::Reuse => {
                sqlx::query(REVOKE_LOCKED_SESSION)
                    .bind(now)
                    .bind(&session.id)
                    .execute(&mut *w.tx)
                    .await?;
                Rotation::Reused
            }
        };
        w.commit().await?;
        Ok(outcome)
    }

    pub async fn revoke_by_token(
        &self,
        token_hash: &str,
        binding: &Binding<'_>,
        now: i64,
    ) -> Result<bool> {
        self.run(|| async {
            let mut w = self.write().await?;
            let n = sqlx::query(REVOKE_BY_TOKEN)
                .bind(now)
                .bind(token_hash)
                .bind(binding.issuer)
                .bind(binding.audience)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
            w.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// One bounded purge (see `Store::purge_expired`), in one transaction.
    pub async fn purge(&self, now: i64, limit: usize) -> Result<u64> {
        let cutoff = now.saturating_sub(super::PURGE_MARGIN);
        let idle_before = now.saturating_sub(super::THROTTLE_RETENTION);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(|| async {
            let mut w = self.write().await?;
            let mut removed = 0u64;
            // Every statement takes (time bound, limit).
            for (stmt, bound) in [
                (PURGE_SESSION_TOKENS, cutoff),
                (PURGE_SESSIONS, cutoff),
                (PURGE_ONE_TIME, cutoff),
                (PURGE_THROTTLE, idle_before),
            ] {
                removed += sqlx::query(stmt)
                    .bind(bound)
                    .bind(limit)
                    .execute(&mut *w.tx)
                    .await?
                    .rows_affected();
            }
            w.commit().await?;
            Ok(removed)
        })
        .await
    }

    /// Stores `new_hash` as the session's newest-generation token, child of `parent`.
    async fn insert_child(
        &self,
        w: &mut WriteTx,
        new_hash: &str,
        session: &SessionRecord,
        parent: &str,
        now: i64,
    ) -> SqlResult<()> {
        sqlx::query(INSERT_REFRESH)
            .bind(new_hash)
            .bind(&session.id)
            .bind(session.generation)
            .bind(Some(parent))
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        Ok(())
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        self.run(|| async {
            match sqlx::query(SELECT_SESSION)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            {
                Some(row) => session_from_row(&row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    pub async fn revoke_session(&self, id: &str, now: i64) -> Result<bool> {
        self.run(|| async {
            let _slot = self.slot().await;
            let done = sqlx::query(REVOKE_SESSION)
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    pub async fn revoke_subject(&self, subject: &str, now: i64) -> Result<u64> {
        self.run(|| async {
            let _slot = self.slot().await;
            let done = sqlx::query(REVOKE_SUBJECT)
                .bind(now)
                .bind(subject)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    pub async fn list_sessions(&self, subject: &str, now: i64) -> Result<Vec<SessionRecord>> {
        let mut out = self
            .run(|| async {
                let rows = sqlx::query(LIST_SESSIONS)
                    .bind(subject)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(session_from_row)
                    .collect::<SqlResult<Vec<_>>>()
            })
            .await?;
        // The same filter and order as the reference, byte-wise on ids whatever the collation.
        out.retain(|s| s.inactive_reason(now).is_none());
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
        let data = data.map(to_json).transpose()?;
        self.run(|| async {
            let _slot = self.slot().await;
            sqlx::query(INSERT_ONE_TIME)
                .bind(hash)
                .bind(subject)
                .bind(purpose)
                .bind(data.as_deref())
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    pub async fn consume_one_time(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Consumption> {
        self.run(|| self.consume_once(hash, purpose, now)).await
    }

    pub async fn peek_one_time(&self, hash: &str, purpose: &str, now: i64) -> Result<Consumption> {
        self.run(|| async {
            let _slot = self.slot().await;
            self.classify_one_time(hash, purpose, now, true).await
        })
        .await
    }

    async fn consume_once(&self, hash: &str, purpose: &str, now: i64) -> SqlResult<Consumption> {
        let consumed = {
            let _slot = self.slot().await;
            sqlx::query(CONSUME_ONE_TIME)
                .bind(now)
                .bind(hash)
                .bind(purpose)
                .fetch_optional(&self.pool)
                .await?
        };
        if let Some(row) = consumed {
            let data: Option<String> = row.try_get("data")?;
            return Ok(Consumption::Consumed {
                subject: row.try_get("subject")?,
                data: data
                    .map(|d| serde_json::from_str(&d))
                    .transpose()
                    .map_err(decode_err)?,
            });
        }
        // Not consumed: say why, in the reference's order.
        self.classify_one_time(hash, purpose, now, false).await
    }

    /// Classifies a token as consuming it would (`usable`: report a usable one as `Consumed`;
    /// after a failed consumption a usable row was inserted after the update looked, so it did
    /// not exist when we tried: `Unknown`).
    async fn classify_one_time(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
        usable: bool,
    ) -> SqlResult<Consumption> {
        let Some(row) = sqlx::query(SELECT_ONE_TIME)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(Consumption::Unknown);
        };
        let stored_purpose: String = row.try_get("purpose")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        Ok(if stored_purpose != purpose {
            Consumption::WrongPurpose
        } else if used_at.is_some() {
            Consumption::Used
        } else if now >= expires_at {
            Consumption::Expired
        } else if usable {
            let data: Option<String> = row.try_get("data")?;
            Consumption::Consumed {
                subject: row.try_get("subject")?,
                data: data
                    .map(|d| serde_json::from_str(&d))
                    .transpose()
                    .map_err(decode_err)?,
            }
        } else {
            Consumption::Unknown
        })
    }

    pub async fn throttle_fail(
        &self,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Counter> {
        match self
            .throttle_count(THROTTLE_COUNT, key, now, decay, lock_for)
            .await?
        {
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
        self.throttle_count(THROTTLE_ATTEMPT, key, now, decay, lock_for)
            .await
    }

    /// One transaction: count with `count_sql` (no row back: locked, nothing counted), then
    /// raise `locked_until` to what the new count calls for.
    async fn throttle_count(
        &self,
        count_sql: &'static str,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Attempt> {
        self.run(|| async {
            let mut w = self.write().await?;
            let counted: Option<i64> = sqlx::query_scalar(count_sql)
                .bind(key)
                .bind(now)
                .bind(decay.reset_after)
                .bind(decay.max_failures)
                .fetch_optional(&mut *w.tx)
                .await?;
            let Some(failures) = counted else {
                let until: i64 = sqlx::query_scalar(THROTTLE_LOCKED_UNTIL)
                    .bind(key)
                    .fetch_one(&mut *w.tx)
                    .await?;
                w.rollback().await?;
                return Ok(Attempt::Locked(until));
            };
            let until = super::lock_end(now, lock_for(failures));
            let row = sqlx::query(THROTTLE_LOCK)
                .bind(until)
                .bind(key)
                .fetch_one(&mut *w.tx)
                .await?;
            let counter = counter_from_row(&row)?;
            w.commit().await?;
            Ok(Attempt::Allowed(counter))
        })
        .await
    }

    pub async fn throttle_get(&self, key: &str) -> Result<Option<Counter>> {
        self.run(|| async {
            let Some(row) = sqlx::query(THROTTLE_GET)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?
            else {
                return Ok(None);
            };
            counter_from_row(&row).map(Some)
        })
        .await
    }

    pub async fn mfa_get(&self, subject: &str) -> Result<Option<MfaRecord>> {
        self.run(|| async {
            let Some(row) = sqlx::query(MFA_GET)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?
            else {
                return Ok(None);
            };
            Ok(Some(MfaRecord {
                secret: row.try_get("secret")?,
                last_step: row.try_get("last_step")?,
                confirmed_at: row.try_get("confirmed_at")?,
                last_used_at: row.try_get("last_used_at")?,
                pending_secret: row.try_get("pending_secret")?,
                pending_expires_at: row.try_get("pending_expires_at")?,
                recovery_remaining: row.try_get("recovery_remaining")?,
            }))
        })
        .await
    }

    pub async fn mfa_begin(&self, subject: &str, pending: &str, expires_at: i64) -> Result<()> {
        self.run(|| async {
            let _slot = self.slot().await;
            sqlx::query(MFA_BEGIN)
                .bind(subject)
                .bind(pending)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Replaces the subject's recovery codes inside `w`.
    async fn put_codes(&self, w: &mut WriteTx, subject: &str, hashes: &[String]) -> SqlResult<()> {
        sqlx::query(MFA_DELETE_CODES)
            .bind(subject)
            .execute(&mut *w.tx)
            .await?;
        for hash in hashes {
            sqlx::query(MFA_INSERT_CODE)
                .bind(subject)
                .bind(hash)
                .execute(&mut *w.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn mfa_confirm(&self, subject: &str, c: &MfaConfirmation<'_>) -> Result<bool> {
        self.run(|| async {
            let mut w = self.write().await?;
            let done = sqlx::query(MFA_CONFIRM)
                .bind(c.secret)
                .bind(c.step)
                .bind(c.now)
                .bind(subject)
                .bind(c.expected_pending)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
            if done == 0 {
                w.rollback().await?;
                return Ok(false);
            }
            self.put_codes(&mut w, subject, c.code_hashes).await?;
            w.commit().await?;
            Ok(true)
        })
        .await
    }

    pub async fn mfa_accept_step(
        &self,
        subject: &str,
        expected_secret: &str,
        secret: &str,
        step: i64,
        now: i64,
    ) -> Result<bool> {
        self.run(|| async {
            let _slot = self.slot().await;
            let done = sqlx::query(MFA_ACCEPT_STEP)
                .bind(step)
                .bind(now)
                .bind(secret)
                .bind(subject)
                .bind(expected_secret)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    pub async fn mfa_use_recovery(
        &self,
        subject: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<RecoveryUse> {
        self.run(|| async {
            let mut w = self.write().await?;
            let claimed = sqlx::query(MFA_USE_CODE)
                .bind(now)
                .bind(subject)
                .bind(code_hash)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
            let outcome = if claimed == 1 {
                let left: i64 = sqlx::query_scalar(MFA_CODES_LEFT)
                    .bind(subject)
                    .fetch_one(&mut *w.tx)
                    .await?;
                RecoveryUse::Consumed(left)
            } else {
                let used: Option<Option<i64>> = sqlx::query_scalar(MFA_CODE_STATE)
                    .bind(subject)
                    .bind(code_hash)
                    .fetch_optional(&mut *w.tx)
                    .await?;
                match used {
                    Some(Some(_)) => RecoveryUse::Used,
                    // Unused but not claimed cannot happen inside the transaction; unknown it is.
                    _ => RecoveryUse::Unknown,
                }
            };
            w.commit().await?;
            Ok(outcome)
        })
        .await
    }

    pub async fn mfa_replace_recovery(&self, subject: &str, hashes: &[String]) -> Result<bool> {
        self.run(|| async {
            let mut w = self.write().await?;
            let locked = sqlx::query(MFA_LOCK_CONFIRMED)
                .bind(subject)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
            if locked == 0 {
                w.rollback().await?;
                return Ok(false);
            }
            self.put_codes(&mut w, subject, hashes).await?;
            w.commit().await?;
            Ok(true)
        })
        .await
    }

    pub async fn mfa_delete(&self, subject: &str) -> Result<bool> {
        self.run(|| async {
            let mut w = self.write().await?;
            // The factor first: it takes the row lock that `mfa_confirm` also needs; the codes
            // go by cascade, and explicitly for databases that do not enforce foreign keys.
            let removed = sqlx::query(MFA_DELETE)
                .bind(subject)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
            sqlx::query(MFA_DELETE_CODES)
                .bind(subject)
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
            Ok(removed > 0)
        })
        .await
    }

    /// One trivial round trip through the pool (`SELECT 1`): a health check, and the baseline
    /// the session benchmark compares rotation with.
    pub async fn ping(&self) -> Result<()> {
        self.run(|| async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    pub async fn throttle_reset(&self, key: &str) -> Result<()> {
        self.run(|| async {
            let _slot = self.slot().await;
            sqlx::query(THROTTLE_RESET)
                .bind(key)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }
}

impl SqlStore {
    /// See `Store::account_insert`.
    pub async fn account_insert(&self, account: &AccountRecord) -> Result<()> {
        let claims = to_json(&account.claims)?;
        // Some(true): inserted; Some(false): the login is taken; None: the subject exists.
        let outcome = self
            .run(|| async {
                let _slot = self.slot().await;
                let done = sqlx::query(ACCOUNT_INSERT)
                    .bind(&account.subject)
                    .bind(&account.login)
                    .bind(account.password_hash.as_deref())
                    .bind(account.verified_at)
                    .bind(account.disabled_at)
                    .bind(&claims)
                    .bind(account.created_at)
                    .bind(account.updated_at)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 1 {
                    return Ok(Some(true));
                }
                // Not inserted: the login or the subject exists (accounts are never deleted, so
                // what stopped the insert is still there).
                let taken: i64 = sqlx::query_scalar(ACCOUNT_LOGIN_TAKEN)
                    .bind(&account.login)
                    .fetch_one(&self.pool)
                    .await?;
                Ok((taken > 0).then_some(false))
            })
            .await?;
        match outcome {
            Some(true) => Ok(()),
            Some(false) => Err(Error::AccountExists),
            None => Err(Error::Internal("account subject collision".into())),
        }
    }

    /// One statement returning at most one account row.
    async fn account_row<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        write: bool,
    ) -> SqlResult<Option<AccountRecord>> {
        let _slot = if write { self.slot().await } else { None };
        match query.fetch_optional(&self.pool).await? {
            Some(row) => account_from_row(&row).map(Some),
            None => Ok(None),
        }
    }

    /// See `Store::account_get`.
    pub async fn account_get(&self, subject: &str) -> Result<Option<AccountRecord>> {
        self.run(|| self.account_row(sqlx::query(ACCOUNT_GET).bind(subject), false))
            .await
    }

    /// See `Store::account_find`.
    pub async fn account_find(&self, login: &str) -> Result<Option<AccountRecord>> {
        self.run(|| self.account_row(sqlx::query(ACCOUNT_FIND).bind(login), false))
            .await
    }

    /// See `Store::account_set_password_hash`.
    pub async fn account_set_password_hash(
        &self,
        subject: &str,
        hash: Option<&str>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        self.run(|| {
            let q = sqlx::query(ACCOUNT_SET_HASH)
                .bind(hash)
                .bind(now)
                .bind(subject);
            self.account_row(q, true)
        })
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
        self.run(|| async {
            let _slot = self.slot().await;
            let done = sqlx::query(ACCOUNT_REPLACE_HASH)
                .bind(new)
                .bind(now)
                .bind(subject)
                .bind(expected_old)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// See `Store::account_mark`.
    pub async fn account_mark(
        &self,
        subject: &str,
        mark: AccountMark,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        let sql = match mark {
            AccountMark::Verified => ACCOUNT_MARK_VERIFIED,
            AccountMark::Disabled => ACCOUNT_MARK_DISABLED,
        };
        self.run(|| self.account_row(sqlx::query(sql).bind(now).bind(subject), true))
            .await
    }

    /// See `Store::account_update_claims`.
    pub async fn account_update_claims(
        &self,
        subject: &str,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        let claims = to_json(claims)?;
        self.run(|| {
            let q = sqlx::query(ACCOUNT_SET_CLAIMS)
                .bind(&claims)
                .bind(now)
                .bind(subject);
            self.account_row(q, true)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_stripped_and_validated() {
        let (u, ns) =
            strip_namespace("postgres://h/db?sslmode=disable&polyauth_namespace=t_1").unwrap();
        assert_eq!(
            (u.as_str(), ns.as_deref()),
            ("postgres://h/db?sslmode=disable", Some("t_1"))
        );
        let (u, ns) = strip_namespace("sqlite://x.db?polyauth_namespace=abc").unwrap();
        assert_eq!((u.as_str(), ns.as_deref()), ("sqlite://x.db", Some("abc")));
        let (u, ns) = strip_namespace("postgres://h/db").unwrap();
        assert_eq!((u.as_str(), ns), ("postgres://h/db", None));
        for bad in ["Abc", "a-b", "", "pg_x", "a\"b", &"a".repeat(41)] {
            let e =
                strip_namespace(&format!("postgres://h/db?polyauth_namespace={bad}")).unwrap_err();
            assert_eq!(e.code(), "invalid_config", "{bad}");
        }
        assert!(
            strip_namespace("postgres://h/db?polyauth_namespace=a&polyauth_namespace=b").is_err()
        );
    }

    #[test]
    fn placeholders_are_numbered_in_order_of_first_appearance() {
        let all = [
            INSERT_SESSION,
            INSERT_REFRESH,
            LOCK_SESSION_OF_TOKEN,
            ROTATE_POSTGRES,
            CLAIM_REFRESH,
            SELECT_REFRESH,
            ADVANCE_SESSION,
            TOUCH_SESSION,
            REVOKE_LOCKED_SESSION,
            SELECT_SESSION,
            REVOKE_SESSION,
            REVOKE_SUBJECT,
            LIST_SESSIONS,
            INSERT_ONE_TIME,
            CONSUME_ONE_TIME,
            SELECT_ONE_TIME,
            THROTTLE_COUNT,
            THROTTLE_LOCK,
            THROTTLE_GET,
            THROTTLE_RESET,
            THROTTLE_ATTEMPT,
            THROTTLE_LOCKED_UNTIL,
            MFA_GET,
            MFA_BEGIN,
            MFA_CONFIRM,
            MFA_ACCEPT_STEP,
            MFA_LOCK_CONFIRMED,
            MFA_DELETE,
            MFA_DELETE_CODES,
            MFA_INSERT_CODE,
            MFA_USE_CODE,
            MFA_CODE_STATE,
            MFA_CODES_LEFT,
            ACCOUNT_INSERT,
            ACCOUNT_LOGIN_TAKEN,
            ACCOUNT_GET,
            ACCOUNT_FIND,
            ACCOUNT_SET_HASH,
            ACCOUNT_REPLACE_HASH,
            ACCOUNT_MARK_VERIFIED,
            ACCOUNT_MARK_DISABLED,
            ACCOUNT_SET_CLAIMS,
        ];
        for sql in all {
            let mut next = 1;
            let bytes = sql.as_bytes();
            for (i, _) in sql.match_indices('$') {
                let digits: String = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .map(|&b| b as char)
                    .collect();
                let n: u32 = digits.parse().unwrap();
                assert!(n <= next, "{sql}");
                if n == next {
                    next += 1;
                }
            }
        }
    }

    #[test]
    fn errors_never_echo_details() {
        let e = map_err(sqlx::Error::Configuration("postgres://u:secret@h".into()));
        assert_eq!(e.code(), "invalid_config");
        assert!(!e.to_string().contains("secret"));
        assert_eq!(
            map_err(sqlx::Error::PoolTimedOut).code(),
            "store_unavailable"
        );
        assert_eq!(map_err(sqlx::Error::RowNotFound).code(), "internal_error");
    }
}
