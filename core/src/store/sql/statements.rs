//! The SQL statements of the store: one text for SQLite and PostgreSQL (`$n` placeholders),
//! except `ROTATE_POSTGRES`.

/// The session columns, in `SessionRecord` order.
macro_rules! session_cols {
    () => {
        "id, subject, audience, claims, meta, created_at, last_used_at, expires_at, idle_ttl, \
         generation, revoked_at, issuer"
    };
}

pub(super) const INSERT_SESSION: &str = concat!(
    "INSERT INTO polyauth_sessions (",
    session_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
pub(super) const INSERT_REFRESH: &str = "INSERT INTO polyauth_refresh_tokens \
    (token_hash, session_id, generation, parent_hash, created_at, used_at) \
    VALUES ($1, $2, $3, $4, $5, NULL)";
/// Locks the session of a token (a no-op write: the row lock on PostgreSQL, the write lock on
/// SQLite) and returns it; no row when the token or its session is unknown.
pub(super) const LOCK_SESSION_OF_TOKEN: &str = concat!(
    "UPDATE polyauth_sessions SET generation = generation WHERE id = ",
    "(SELECT session_id FROM polyauth_refresh_tokens WHERE token_hash = $1) RETURNING ",
    session_cols!()
);
pub(super) const CLAIM_REFRESH: &str = "UPDATE polyauth_refresh_tokens SET used_at = $1 \
    WHERE token_hash = $2 AND used_at IS NULL";
/// Revokes the session of a token in one statement, when it is bound to the caller (RT-8).
pub(super) const REVOKE_BY_TOKEN: &str = "UPDATE polyauth_sessions SET revoked_at = $1 WHERE id = \
    (SELECT session_id FROM polyauth_refresh_tokens WHERE token_hash = $2) \
    AND revoked_at IS NULL AND issuer = $3 AND audience = $4";
/// Purge (see `Store::purge_expired`); `$1` is the cutoff (now minus the margin), `$2` the limit.
/// A bounded `DELETE ... WHERE key IN (SELECT ... LIMIT n)` works on both engines.
/// The sessions a purge removes (`$1` the cutoff, `$2` the limit), ordered so that the two
/// statements below pick the same ones; a session the second one picks extra still takes its
/// tokens with it (ON DELETE CASCADE).
macro_rules! purgeable_sessions {
    () => {
        "(SELECT id FROM polyauth_sessions \
         WHERE (revoked_at IS NOT NULL AND revoked_at <= $1) OR expires_at <= $1 \
         OR last_used_at + idle_ttl < $1 ORDER BY id LIMIT $2)"
    };
}
pub(super) const PURGE_SESSION_TOKENS: &str = concat!(
    "DELETE FROM polyauth_refresh_tokens WHERE session_id IN ",
    purgeable_sessions!()
);
pub(super) const PURGE_SESSIONS: &str = concat!(
    "DELETE FROM polyauth_sessions WHERE id IN ",
    purgeable_sessions!()
);
pub(super) const PURGE_ONE_TIME: &str = "DELETE FROM polyauth_one_time_tokens WHERE token_hash IN \
    (SELECT token_hash FROM polyauth_one_time_tokens \
    WHERE (used_at IS NOT NULL AND used_at <= $1) OR expires_at <= $1 LIMIT $2)";
/// `$1` is now minus `THROTTLE_RETENTION`: counters whose lock and last failure are older.
pub(super) const PURGE_THROTTLE: &str = "DELETE FROM polyauth_throttle WHERE key IN \
    (SELECT key FROM polyauth_throttle \
    WHERE locked_until <= $1 AND last_failure_at <= $1 LIMIT $2)";
/// PostgreSQL: the whole rotation in one statement (one round trip instead of seven; DESIGN.md §6
/// allows it where measured faster, see bench/RESULTS-tokens-sessions.md). `$1` the presented
/// token's hash, `$2`/`$3` the binding (issuer, audience), `$4` now, `$5` the grace window, `$6`
/// the new token's hash. The same
/// decisions as `rotate_once` and `rotation_step`, in the same order: binding, then activity, then
/// the token's state. `FOR UPDATE OF s, t` locks both rows; under READ COMMITTED a statement that
/// waited for them sees their newest versions (the winner's commit), and the UPDATEs below re-check
/// their rows the same way, so two presentations of one token never both rotate. One row: the
/// outcome and, for `rotated`/`graced`, the session as written; no row: unknown token.
pub(super) const ROTATE_POSTGRES: &str = concat!(
    "WITH cur AS (",
    "SELECT s.id, s.issuer, s.audience, s.revoked_at, s.expires_at, s.last_used_at, s.idle_ttl, ",
    "s.generation AS sgen, t.generation AS tgen, t.used_at ",
    "FROM polyauth_refresh_tokens t JOIN polyauth_sessions s ON s.id = t.session_id ",
    "WHERE t.token_hash = $1 FOR UPDATE OF s, t), ",
    "step AS (SELECT id, CASE ",
    "WHEN issuer IS DISTINCT FROM $2 THEN 'wrong_issuer' ",
    "WHEN audience IS DISTINCT FROM $3 THEN 'wrong_audience' ",
    "WHEN revoked_at IS NOT NULL THEN 'revoked' ",
    "WHEN $4 >= expires_at OR $4 - last_used_at > idle_ttl THEN 'expired' ",
    "WHEN used_at IS NULL AND tgen = sgen THEN 'rotated' ",
    "WHEN used_at IS NOT NULL AND $5 > 0 AND $4 - used_at <= $5 AND tgen = sgen - 1 THEN 'graced' ",
    "ELSE 'reused' END AS outcome FROM cur), ",
    "claim AS (UPDATE polyauth_refresh_tokens SET used_at = $4 ",
    "WHERE token_hash = $1 AND used_at IS NULL AND (SELECT outcome FROM step) = 'rotated' ",
    "RETURNING 1), ",
    "moved AS (UPDATE polyauth_sessions x SET ",
    "generation = x.generation + CASE WHEN step.outcome = 'rotated' THEN 1 ELSE 0 END, ",
    "last_used_at = CASE WHEN step.outcome = 'reused' THEN x.last_used_at ELSE $4 END, ",
    "revoked_at = CASE WHEN step.outcome = 'reused' THEN $4 ELSE x.revoked_at END ",
    "FROM step WHERE x.id = step.id AND step.outcome IN ('rotated', 'graced', 'reused') ",
    "RETURNING x.id, x.subject, x.audience, x.claims, x.meta, x.created_at, x.last_used_at, ",
    "x.expires_at, x.idle_ttl, x.generation, x.revoked_at, x.issuer, step.outcome), ",
    "child AS (INSERT INTO polyauth_refresh_tokens ",
    "(token_hash, session_id, generation, parent_hash, created_at, used_at) ",
    "SELECT $6, id, generation, $1, $4, NULL FROM moved WHERE outcome IN ('rotated', 'graced')) ",
    "SELECT step.outcome AS outcome, (SELECT count(*) FROM claim) AS claimed, moved.id, ",
    "moved.subject, moved.audience, moved.claims, moved.meta, moved.created_at, ",
    "moved.last_used_at, moved.expires_at, moved.idle_ttl, moved.generation, moved.revoked_at, ",
    "moved.issuer FROM step LEFT JOIN moved ON moved.id = step.id"
);
pub(super) const SELECT_REFRESH: &str =
    "SELECT generation, used_at FROM polyauth_refresh_tokens WHERE token_hash = $1";
pub(super) const ADVANCE_SESSION: &str =
    "UPDATE polyauth_sessions SET generation = $1, last_used_at = $2 WHERE id = $3";
pub(super) const TOUCH_SESSION: &str =
    "UPDATE polyauth_sessions SET last_used_at = $1 WHERE id = $2";
pub(super) const REVOKE_LOCKED_SESSION: &str =
    "UPDATE polyauth_sessions SET revoked_at = $1 WHERE id = $2";
pub(super) const SELECT_SESSION: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM polyauth_sessions WHERE id = $1"
);
pub(super) const REVOKE_SESSION: &str =
    "UPDATE polyauth_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
pub(super) const REVOKE_SUBJECT: &str =
    "UPDATE polyauth_sessions SET revoked_at = $1 WHERE subject = $2 AND revoked_at IS NULL";
pub(super) const LIST_SESSIONS: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM polyauth_sessions WHERE subject = $1 AND revoked_at IS NULL AND expires_at > $2 ",
    "AND $2 - last_used_at <= idle_ttl ORDER BY created_at DESC, id"
);
pub(super) const INSERT_ONE_TIME: &str = "INSERT INTO polyauth_one_time_tokens \
    (token_hash, subject, purpose, data, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, NULL)";
pub(super) const CONSUME_ONE_TIME: &str = "UPDATE polyauth_one_time_tokens SET used_at = $1 \
    WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
    RETURNING subject, data";
pub(super) const SELECT_ONE_TIME: &str = "SELECT subject, data, purpose, used_at, expires_at \
    FROM polyauth_one_time_tokens WHERE token_hash = $1";
/// Counts a failure: starts over at 1 when the count is below `max_failures` ($4) and the last
/// failure is `reset_after` ($3) or more seconds old; from `max_failures` on it never does.
pub(super) const THROTTLE_COUNT: &str = "INSERT INTO polyauth_throttle \
    (key, failures, last_failure_at, locked_until) VALUES ($1, 1, $2, 0) \
    ON CONFLICT (key) DO UPDATE SET \
    failures = CASE WHEN polyauth_throttle.failures > 0 \
    AND ($2 - polyauth_throttle.last_failure_at < $3 OR polyauth_throttle.failures >= $4) \
    THEN polyauth_throttle.failures + 1 ELSE 1 END, \
    last_failure_at = $2 \
    RETURNING failures";
/// `THROTTLE_COUNT` unless the key is locked (the condition of `Throttle::check`): then the
/// upsert changes nothing and returns no row.
pub(super) const THROTTLE_ATTEMPT: &str = "INSERT INTO polyauth_throttle \
    (key, failures, last_failure_at, locked_until) VALUES ($1, 1, $2, 0) \
    ON CONFLICT (key) DO UPDATE SET \
    failures = CASE WHEN polyauth_throttle.failures > 0 \
    AND ($2 - polyauth_throttle.last_failure_at < $3 OR polyauth_throttle.failures >= $4) \
    THEN polyauth_throttle.failures + 1 ELSE 1 END, \
    last_failure_at = $2 \
    WHERE polyauth_throttle.locked_until <= $2 \
    RETURNING failures";
pub(super) const THROTTLE_LOCKED_UNTIL: &str =
    "SELECT locked_until FROM polyauth_throttle WHERE key = $1";
pub(super) const THROTTLE_LOCK: &str = "UPDATE polyauth_throttle SET locked_until = \
    CASE WHEN locked_until > $1 THEN locked_until ELSE $1 END WHERE key = $2 \
    RETURNING failures, last_failure_at, locked_until";
pub(super) const THROTTLE_GET: &str =
    "SELECT failures, last_failure_at, locked_until FROM polyauth_throttle WHERE key = $1";
pub(super) const THROTTLE_RESET: &str = "DELETE FROM polyauth_throttle WHERE key = $1";
pub(super) const MFA_GET: &str =
    "SELECT secret, last_step, confirmed_at, last_used_at, pending_secret, \
    pending_expires_at, (SELECT CAST(COUNT(*) AS BIGINT) FROM polyauth_mfa_recovery_codes c \
    WHERE c.subject = f.subject AND c.used_at IS NULL) AS recovery_remaining \
    FROM polyauth_mfa_factors f WHERE f.subject = $1";
pub(super) const MFA_BEGIN: &str = "INSERT INTO polyauth_mfa_factors \
    (subject, secret, last_step, confirmed_at, last_used_at, pending_secret, pending_expires_at) \
    VALUES ($1, NULL, -1, NULL, NULL, $2, $3) \
    ON CONFLICT (subject) DO UPDATE SET pending_secret = $2, pending_expires_at = $3";
pub(super) const MFA_CONFIRM: &str =
    "UPDATE polyauth_mfa_factors SET secret = $1, last_step = $2, \
    confirmed_at = $3, last_used_at = $3, pending_secret = NULL, pending_expires_at = NULL \
    WHERE subject = $4 AND pending_secret = $5 AND pending_expires_at > $3";
/// The conditional update that makes each code usable once (OTP-2): 0 rows means the step (or a
/// later one) was accepted already, or the factor changed.
pub(super) const MFA_ACCEPT_STEP: &str = "UPDATE polyauth_mfa_factors \
    SET last_step = $1, last_used_at = $2, secret = $3 \
    WHERE subject = $4 AND secret = $5 AND last_step < $1";
/// Locks a confirmed factor's row (a no-op write); no row when there is no confirmed factor.
pub(super) const MFA_LOCK_CONFIRMED: &str =
    "UPDATE polyauth_mfa_factors SET last_step = last_step \
    WHERE subject = $1 AND secret IS NOT NULL";
pub(super) const MFA_DELETE: &str = "DELETE FROM polyauth_mfa_factors WHERE subject = $1";
pub(super) const MFA_DELETE_CODES: &str =
    "DELETE FROM polyauth_mfa_recovery_codes WHERE subject = $1";
pub(super) const MFA_INSERT_CODE: &str = "INSERT INTO polyauth_mfa_recovery_codes \
    (subject, code_hash, used_at) VALUES ($1, $2, NULL)";
pub(super) const MFA_USE_CODE: &str = "UPDATE polyauth_mfa_recovery_codes SET used_at = $1 \
    WHERE subject = $2 AND code_hash = $3 AND used_at IS NULL";
pub(super) const MFA_CODE_STATE: &str =
    "SELECT used_at FROM polyauth_mfa_recovery_codes WHERE subject = $1 AND code_hash = $2";
pub(super) const MFA_CODES_LEFT: &str =
    "SELECT CAST(COUNT(*) AS BIGINT) FROM polyauth_mfa_recovery_codes \
    WHERE subject = $1 AND used_at IS NULL";

/// The account columns, in `AccountRecord` order.
macro_rules! account_cols {
    () => {
        "subject, login, password_hash, verified_at, disabled_at, claims, created_at, updated_at"
    };
}

/// Inserts an account unless its subject or its login exists (no row affected then).
pub(super) const ACCOUNT_INSERT: &str = concat!(
    "INSERT INTO polyauth_accounts (",
    account_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
);
pub(super) const ACCOUNT_LOGIN_TAKEN: &str =
    "SELECT CAST(COUNT(*) AS BIGINT) FROM polyauth_accounts WHERE login = $1";
pub(super) const ACCOUNT_GET: &str = concat!(
    "SELECT ",
    account_cols!(),
    " FROM polyauth_accounts WHERE subject = $1"
);
pub(super) const ACCOUNT_FIND: &str = concat!(
    "SELECT ",
    account_cols!(),
    " FROM polyauth_accounts WHERE login = $1"
);
pub(super) const ACCOUNT_SET_HASH: &str = concat!(
    "UPDATE polyauth_accounts SET password_hash = $1, updated_at = $2 WHERE subject = $3 ",
    "RETURNING ",
    account_cols!()
);
/// The conditional update of a hash upgrade: 0 rows when the hash changed meanwhile.
pub(super) const ACCOUNT_REPLACE_HASH: &str = "UPDATE polyauth_accounts \
    SET password_hash = $1, updated_at = $2 WHERE subject = $3 AND password_hash = $4";
pub(super) const ACCOUNT_MARK_VERIFIED: &str = concat!(
    "UPDATE polyauth_accounts SET verified_at = COALESCE(verified_at, $1), updated_at = $1 ",
    "WHERE subject = $2 RETURNING ",
    account_cols!()
);
pub(super) const ACCOUNT_MARK_DISABLED: &str = concat!(
    "UPDATE polyauth_accounts SET disabled_at = COALESCE(disabled_at, $1), updated_at = $1 ",
    "WHERE subject = $2 RETURNING ",
    account_cols!()
);
pub(super) const ACCOUNT_SET_CLAIMS: &str = concat!(
    "UPDATE polyauth_accounts SET claims = $1, updated_at = $2 WHERE subject = $3 RETURNING ",
    account_cols!()
);
