//! The schema migrations of the SQL store, one text per version for both engines.

/// Schema migrations, in order. Each text is complete on its own (it records its version) and is
/// valid on both SQLite and PostgreSQL, so a team that applies migrations itself can run it as
/// printed, once (migration 3's `ADD COLUMN` has no `IF NOT EXISTS` form in SQLite). Migration 4
/// adds the built-in accounts (`account.rs`): the login column holds the normalised login and its
/// UNIQUE constraint is what keeps one account per login under concurrent registrations.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS polyauth_schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS polyauth_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    subject TEXT NOT NULL,
    audience TEXT NOT NULL,
    claims TEXT NOT NULL,
    meta TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    idle_ttl BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX IF NOT EXISTS polyauth_sessions_subject ON polyauth_sessions (subject);
CREATE TABLE IF NOT EXISTS polyauth_refresh_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES polyauth_sessions (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    parent_hash TEXT,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX IF NOT EXISTS polyauth_refresh_tokens_session ON polyauth_refresh_tokens (session_id);
CREATE TABLE IF NOT EXISTS polyauth_one_time_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    subject TEXT NOT NULL,
    purpose TEXT NOT NULL,
    data TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE IF NOT EXISTS polyauth_throttle (
    key TEXT NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
INSERT INTO polyauth_schema_version (version) VALUES (1);
",
    ),
    (
        2,
        "CREATE TABLE IF NOT EXISTS polyauth_mfa_factors (
    subject TEXT NOT NULL PRIMARY KEY,
    secret TEXT,
    last_step BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_used_at BIGINT,
    pending_secret TEXT,
    pending_expires_at BIGINT
);
CREATE TABLE IF NOT EXISTS polyauth_mfa_recovery_codes (
    subject TEXT NOT NULL REFERENCES polyauth_mfa_factors (subject) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (subject, code_hash)
);
INSERT INTO polyauth_schema_version (version) VALUES (2);
",
    ),
    (
        3,
        "ALTER TABLE polyauth_sessions ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS polyauth_sessions_expires ON polyauth_sessions (expires_at);
CREATE INDEX IF NOT EXISTS polyauth_one_time_tokens_expires ON polyauth_one_time_tokens (expires_at);
CREATE INDEX IF NOT EXISTS polyauth_throttle_last_failure ON polyauth_throttle (last_failure_at);
INSERT INTO polyauth_schema_version (version) VALUES (3);
",
    ),
    (
        4,
        "CREATE TABLE IF NOT EXISTS polyauth_accounts (
    subject TEXT NOT NULL PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    verified_at BIGINT,
    disabled_at BIGINT,
    claims TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO polyauth_schema_version (version) VALUES (4);
",
    ),
];
