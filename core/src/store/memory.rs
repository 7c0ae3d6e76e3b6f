//! `memory://`: the reference semantics of the store, in one process (tests, single-instance dev).
//! Every operation is one critical section, which is what the SQL and Redis backends reproduce
//! with conditional statements, transactions and Lua scripts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use serde_json::Map;

use super::{
    rotation_step, AccountMark, AccountRecord, Attempt, Binding, Consumption, Counter,
    MfaConfirmation, MfaRecord, RecoveryUse, Rotation, SessionRecord, Step,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
struct RefreshRow {
    session_id: String,
    generation: i64,
    used_at: Option<i64>,
}

#[derive(Debug, Clone)]
struct OneTimeRow {
    subject: String,
    purpose: String,
    data: Option<Value>,
    expires_at: i64,
    used_at: Option<i64>,
}

/// A factor and its recovery codes (hash → used at).
#[derive(Debug, Clone)]
struct MfaRow {
    record: MfaRecord,
    codes: HashMap<String, Option<i64>>,
}

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<String, SessionRecord>,
    refresh: HashMap<String, RefreshRow>,
    one_time: HashMap<String, OneTimeRow>,
    throttle: HashMap<String, Counter>,
    mfa: HashMap<String, MfaRow>,
    /// Accounts by subject, and the subject of each normalised login.
    accounts: HashMap<String, AccountRecord>,
    logins: HashMap<String, String>,
}

/// Counts a failure on `c` at `now` (the one rule `throttle_fail` and `throttle_attempt` share):
/// below `max_failures` a count whose last failure is `reset_after` old starts over; from
/// `max_failures` on it never does.
fn count_failure(c: &mut Counter, now: i64, decay: super::Decay, lock_for: &dyn Fn(i64) -> i64) {
    c.failures = if c.failures > 0
        && (now - c.last_failure_at < decay.reset_after || c.failures >= decay.max_failures)
    {
        c.failures.saturating_add(1)
    } else {
        1
    };
    c.last_failure_at = now;
    c.locked_until = c
        .locked_until
        .max(super::lock_end(now, lock_for(c.failures)));
}

#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn create_session(&self, session: &SessionRecord, token_hash: &str) -> Result<()> {
        let mut s = self.lock();
        if s.sessions.contains_key(&session.id) || s.refresh.contains_key(token_hash) {
            return Err(Error::Internal("session or token id collision".into()));
        }
        s.sessions.insert(session.id.clone(), session.clone());
        s.refresh.insert(
            token_hash.to_owned(),
            RefreshRow {
                session_id: session.id.clone(),
                generation: session.generation,
                used_at: None,
            },
        );
        Ok(())
    }

    pub(crate) fn rotate(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
        binding: &Binding<'_>,
    ) -> Result<Rotation> {
        let mut s = self.lock();
        let Some(row) = s.refresh.get(token_hash).cloned() else {
            return Ok(Rotation::Unknown);
        };
        let Some(mut session) = s.sessions.get(&row.session_id).cloned() else {
            return Ok(Rotation::Unknown);
        };
        if let Some(e) = binding.mismatch(&session) {
            return Ok(Rotation::Mismatch(e));
        }
        if let Some(reason) = session.inactive_reason(now) {
            return Ok(Rotation::Inactive(reason));
        }
        let step = rotation_step(row.generation, row.used_at, session.generation, now, grace);
        if step == Step::Reuse {
            if let Some(sess) = s.sessions.get_mut(&row.session_id) {
                sess.revoked_at = Some(now);
            }
            return Ok(Rotation::Reused);
        }
        if step == Step::Rotate {
            session.generation += 1;
            if let Some(r) = s.refresh.get_mut(token_hash) {
                r.used_at = Some(now);
            }
        }
        session.last_used_at = now;
        s.refresh.insert(
            new_hash.to_owned(),
            RefreshRow {
                session_id: session.id.clone(),
                generation: session.generation,
                used_at: None,
            },
        );
        s.sessions.insert(session.id.clone(), session.clone());
        Ok(if step == Step::Rotate {
            Rotation::Rotated(session)
        } else {
            Rotation::Graced(session)
        })
    }

    /// Revokes the session of a refresh token (used or not) when it is bound to `binding`.
    pub(crate) fn revoke_by_token(
        &self,
        token_hash: &str,
        binding: &Binding<'_>,
        now: i64,
    ) -> Result<bool> {
        let mut s = self.lock();
        let Some(id) = s.refresh.get(token_hash).map(|r| r.session_id.clone()) else {
            return Ok(false);
        };
        match s.sessions.get_mut(&id) {
            Some(sess) if sess.revoked_at.is_none() && binding.mismatch(sess).is_none() => {
                sess.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// One bounded purge (see `Store::purge_expired`): at most `limit` rows of each kind, plus
    /// the refresh tokens of the sessions removed.
    pub(crate) fn purge(&self, now: i64, limit: usize) -> Result<u64> {
        let mut s = self.lock();
        let ended: Vec<String> = s
            .sessions
            .values()
            .filter(|x| super::session_purgeable(x, now))
            .take(limit)
            .map(|x| x.id.clone())
            .collect();
        let mut removed = ended.len() as u64;
        for id in &ended {
            s.sessions.remove(id);
        }
        let before = s.refresh.len();
        let State {
            sessions, refresh, ..
        } = &mut *s;
        refresh.retain(|_, r| sessions.contains_key(&r.session_id));
        removed += (before - s.refresh.len()) as u64;
        let spent: Vec<String> = s
            .one_time
            .iter()
            .filter(|(_, r)| super::one_time_purgeable(r.used_at, r.expires_at, now))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        removed += spent.len() as u64;
        for k in &spent {
            s.one_time.remove(k);
        }
        let idle: Vec<String> = s
            .throttle
            .iter()
            .filter(|(_, c)| super::throttle_idle(c, now))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        removed += idle.len() as u64;
        for k in &idle {
            s.throttle.remove(k);
        }
        Ok(removed)
    }

    pub(crate) fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        Ok(self.lock().sessions.get(id).cloned())
    }

    pub(crate) fn revoke_session(&self, id: &str, now: i64) -> Result<bool> {
        let mut s = self.lock();
        match s.sessions.get_mut(id) {
            Some(sess) if sess.revoked_at.is_none() => {
                sess.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) fn revoke_subject(&self, subject: &str, now: i64) -> Result<u64> {
        let mut s = self.lock();
        let mut n = 0;
        for sess in s.sessions.values_mut() {
            if sess.subject == subject && sess.revoked_at.is_none() {
                sess.revoked_at = Some(now);
                n += 1;
            }
        }
        Ok(n)
    }

    pub(crate) fn list_sessions(&self, subject: &str, now: i64) -> Result<Vec<SessionRecord>> {
        let s = self.lock();
        let out: Vec<SessionRecord> = s
            .sessions
            .values()
            .filter(|x| x.subject == subject && x.inactive_reason(now).is_none())
            .cloned()
            .collect();
        Ok(out)
    }

    pub(crate) fn insert_one_time(
        &self,
        hash: &str,
        subject: &str,
        purpose: &str,
        data: Option<&Value>,
        expires_at: i64,
    ) -> Result<()> {
        let mut s = self.lock();
        if s.one_time.contains_key(hash) {
            return Err(Error::Internal("one-time token collision".into()));
        }
        s.one_time.insert(
            hash.to_owned(),
            OneTimeRow {
                subject: subject.to_owned(),
                purpose: purpose.to_owned(),
                data: data.cloned(),
                expires_at,
                used_at: None,
            },
        );
        Ok(())
    }

    pub(crate) fn peek_one_time(&self, hash: &str, purpose: &str, now: i64) -> Result<Consumption> {
        self.one_time_step(hash, purpose, now, false)
    }

    pub(crate) fn consume_one_time(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Consumption> {
        self.one_time_step(hash, purpose, now, true)
    }

    fn one_time_step(
        &self,
        hash: &str,
        purpose: &str,
        now: i64,
        consume: bool,
    ) -> Result<Consumption> {
        let mut s = self.lock();
        let Some(row) = s.one_time.get_mut(hash) else {
            return Ok(Consumption::Unknown);
        };
        Ok(if row.purpose != purpose {
            Consumption::WrongPurpose
        } else if row.used_at.is_some() {
            Consumption::Used
        } else if now >= row.expires_at {
            Consumption::Expired
        } else {
            if consume {
                row.used_at = Some(now);
            }
            Consumption::Consumed {
                subject: row.subject.clone(),
                data: row.data.clone(),
            }
        })
    }

    pub(crate) fn throttle_fail(
        &self,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Counter> {
        let mut s = self.lock();
        let c = s.throttle.entry(key.to_owned()).or_default();
        count_failure(c, now, decay, lock_for);
        Ok(*c)
    }

    pub(crate) fn throttle_attempt(
        &self,
        key: &str,
        now: i64,
        decay: super::Decay,
        lock_for: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<Attempt> {
        let mut s = self.lock();
        let c = s.throttle.entry(key.to_owned()).or_default();
        // Locked exactly when `Throttle::check` would say so.
        if c.locked_until > now {
            return Ok(Attempt::Locked(c.locked_until));
        }
        count_failure(c, now, decay, lock_for);
        Ok(Attempt::Allowed(*c))
    }

    pub(crate) fn throttle_get(&self, key: &str) -> Result<Option<Counter>> {
        Ok(self.lock().throttle.get(key).copied())
    }

    pub(crate) fn throttle_reset(&self, key: &str) -> Result<()> {
        self.lock().throttle.remove(key);
        Ok(())
    }

    pub(crate) fn mfa_get(&self, subject: &str) -> Result<Option<MfaRecord>> {
        Ok(self.lock().mfa.get(subject).map(|row| MfaRecord {
            recovery_remaining: row.codes.values().filter(|u| u.is_none()).count() as i64,
            ..row.record.clone()
        }))
    }

    pub(crate) fn mfa_begin(&self, subject: &str, pending: &str, expires_at: i64) -> Result<()> {
        let mut s = self.lock();
        let row = s.mfa.entry(subject.to_owned()).or_insert_with(|| MfaRow {
            record: MfaRecord {
                secret: None,
                last_step: -1,
                confirmed_at: None,
                last_used_at: None,
                pending_secret: None,
                pending_expires_at: None,
                recovery_remaining: 0,
            },
            codes: HashMap::new(),
        });
        row.record.pending_secret = Some(pending.to_owned());
        row.record.pending_expires_at = Some(expires_at);
        Ok(())
    }

    pub(crate) fn mfa_confirm(&self, subject: &str, c: &MfaConfirmation<'_>) -> Result<bool> {
        let mut s = self.lock();
        let Some(row) = s.mfa.get_mut(subject) else {
            return Ok(false);
        };
        let r = &mut row.record;
        if r.pending_secret.as_deref() != Some(c.expected_pending)
            || r.pending_expires_at.is_none_or(|t| t <= c.now)
        {
            return Ok(false);
        }
        r.secret = Some(c.secret.to_owned());
        r.last_step = c.step;
        r.confirmed_at = Some(c.now);
        r.last_used_at = Some(c.now);
        r.pending_secret = None;
        r.pending_expires_at = None;
        row.codes = c.code_hashes.iter().map(|h| (h.clone(), None)).collect();
        Ok(true)
    }

    pub(crate) fn mfa_accept_step(
        &self,
        subject: &str,
        expected_secret: &str,
        secret: &str,
        step: i64,
        now: i64,
    ) -> Result<bool> {
        let mut s = self.lock();
        let Some(row) = s.mfa.get_mut(subject) else {
            return Ok(false);
        };
        let r = &mut row.record;
        if r.secret.as_deref() != Some(expected_secret) || r.last_step >= step {
            return Ok(false);
        }
        r.secret = Some(secret.to_owned());
        r.last_step = step;
        r.last_used_at = Some(now);
        Ok(true)
    }

    pub(crate) fn mfa_use_recovery(
        &self,
        subject: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<RecoveryUse> {
        let mut s = self.lock();
        let Some(row) = s.mfa.get_mut(subject) else {
            return Ok(RecoveryUse::Unknown);
        };
        match row.codes.get_mut(code_hash) {
            None => Ok(RecoveryUse::Unknown),
            Some(Some(_)) => Ok(RecoveryUse::Used),
            Some(used) => {
                *used = Some(now);
                let left = row.codes.values().filter(|u| u.is_none()).count();
                Ok(RecoveryUse::Consumed(left as i64))
            }
        }
    }

    pub(crate) fn mfa_replace_recovery(&self, subject: &str, hashes: &[String]) -> Result<bool> {
        let mut s = self.lock();
        match s.mfa.get_mut(subject) {
            Some(row) if row.record.secret.is_some() => {
                row.codes = hashes.iter().map(|h| (h.clone(), None)).collect();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) fn mfa_delete(&self, subject: &str) -> Result<bool> {
        Ok(self.lock().mfa.remove(subject).is_some())
    }

    pub(crate) fn account_insert(&self, account: &AccountRecord) -> Result<()> {
        let mut s = self.lock();
        if s.logins.contains_key(&account.login) {
            return Err(Error::AccountExists);
        }
        if s.accounts.contains_key(&account.subject) {
            return Err(Error::Internal("account subject collision".into()));
        }
        s.logins
            .insert(account.login.clone(), account.subject.clone());
        s.accounts.insert(account.subject.clone(), account.clone());
        Ok(())
    }

    pub(crate) fn account_get(&self, subject: &str) -> Result<Option<AccountRecord>> {
        Ok(self.lock().accounts.get(subject).cloned())
    }

    pub(crate) fn account_find(&self, login: &str) -> Result<Option<AccountRecord>> {
        let s = self.lock();
        Ok(s.logins
            .get(login)
            .and_then(|subject| s.accounts.get(subject))
            .cloned())
    }

    /// Applies `change` to the account of `subject` and stamps `updated_at`, in one critical
    /// section; `None` when the subject is unknown.
    fn account_update(
        &self,
        subject: &str,
        now: i64,
        change: impl FnOnce(&mut AccountRecord),
    ) -> Result<Option<AccountRecord>> {
        let mut s = self.lock();
        Ok(s.accounts.get_mut(subject).map(|a| {
            change(a);
            a.updated_at = now;
            a.clone()
        }))
    }

    pub(crate) fn account_set_password_hash(
        &self,
        subject: &str,
        hash: Option<&str>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        self.account_update(subject, now, |a| a.password_hash = hash.map(str::to_owned))
    }

    pub(crate) fn account_replace_password_hash(
        &self,
        subject: &str,
        expected_old: &str,
        new: &str,
        now: i64,
    ) -> Result<bool> {
        let mut s = self.lock();
        match s.accounts.get_mut(subject) {
            Some(a) if a.password_hash.as_deref() == Some(expected_old) => {
                a.password_hash = Some(new.to_owned());
                a.updated_at = now;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) fn account_mark(
        &self,
        subject: &str,
        mark: AccountMark,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        self.account_update(subject, now, |a| {
            let field = match mark {
                AccountMark::Verified => &mut a.verified_at,
                AccountMark::Disabled => &mut a.disabled_at,
            };
            field.get_or_insert(now);
        })
    }

    pub(crate) fn account_update_claims(
        &self,
        subject: &str,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<Option<AccountRecord>> {
        self.account_update(subject, now, |a| a.claims = claims.clone())
    }
}
