//! Sessions with refresh-token rotation and reuse detection (RT-1..RT-9). A refresh token is
//! `prt_` + base64url(32 random bytes); only its SHA-256 is stored (RT-1). Every refresh rotates
//! (RT-2); presenting a used token revokes the whole session, including its newest token (RT-3),
//! decided atomically by the store (RT-4), with an optional grace window for the immediate parent
//! only (RT-5: and only a token of the session's newest generation rotates, so a grace sibling
//! cannot fork the session), absolute and idle lifetimes (RT-6), revoke one or all (RT-7), and
//! tokens bound to their session's subject, issuer and audience, checked before anything is
//! written (RT-8). Revocations live in the store (RT-9).

use serde_json::{Map, Value};

use crate::clock;
use crate::error::{Error, Result};
use crate::input::{check_claims, check_text, json_len, MAX_JSON_BYTES};
use crate::opaque::{check_format, random_b64, token_hash};
use crate::options::{Options, MAX_SECONDS};
use crate::store::{Binding, Rotation, SessionRecord, Store};
use crate::token::Tokens;

pub const REFRESH_PREFIX: &str = "prt_";

/// Lifetimes of sessions, in seconds.
#[derive(Debug, Clone)]
pub struct SessionsConfig {
    /// Absolute lifetime of a session (default 30 days).
    pub refresh_ttl: u64,
    /// A session unused for this long ends (default 7 days).
    pub idle_ttl: u64,
    /// How long the immediate parent of the newest refresh token stays usable after rotation
    /// (default 0: never). For clients that may send the same refresh twice (two tabs, retries).
    pub reuse_grace: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            refresh_ttl: 30 * 86_400,
            idle_ttl: 7 * 86_400,
            reuse_grace: 0,
        }
    }
}

crate::options::deserialize_with_options!(SessionsConfig, "Sessions");

impl SessionsConfig {
    /// Reads `refresh_ttl`, `idle_ttl` and `reuse_grace` (whole seconds up to [`MAX_SECONDS`]);
    /// [`Sessions::new`] narrows them further.
    pub fn from_options(mut o: Options) -> Result<Self> {
        let d = Self::default();
        let range = 0..=MAX_SECONDS as i128;
        let c = SessionsConfig {
            refresh_ttl: o.whole("refresh_ttl", d.refresh_ttl, range.clone())?,
            idle_ttl: o.whole("idle_ttl", d.idle_ttl, range.clone())?,
            reuse_grace: o.whole("reuse_grace", d.reuse_grace, range)?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// What `start` and `refresh` return.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// When the session ends at the latest (seconds since the epoch).
    pub refresh_expires_at: i64,
}

/// A session as `list` reports it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session_id: String,
    pub subject: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub claims: Map<String, Value>,
    pub meta: Map<String, Value>,
}

impl From<SessionRecord> for SessionInfo {
    fn from(r: SessionRecord) -> Self {
        SessionInfo {
            session_id: r.id,
            subject: r.subject,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            claims: r.claims,
            meta: r.meta,
        }
    }
}

/// The canonical JSON array of an audience list (RT-8): what sessions store and compare.
pub fn canonical_audience(audience: &[String]) -> String {
    serde_json::to_string(audience).unwrap_or_default()
}

/// Whether `id` could name a stored session; ids that cannot (oversized, NUL) are simply unknown.
fn possible_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && !id.contains('\0')
}

/// Sessions over a store, issuing access tokens with `tokens`.
#[derive(Clone, Debug)]
pub struct Sessions {
    store: Store,
    tokens: Tokens,
    config: SessionsConfig,
}

impl Sessions {
    pub fn new(store: Store, tokens: Tokens, config: SessionsConfig) -> Result<Sessions> {
        if config.refresh_ttl == 0 || config.idle_ttl == 0 {
            return Err(Error::InvalidConfig(
                "refresh_ttl and idle_ttl must be positive".into(),
            ));
        }
        if config.reuse_grace > 300 {
            return Err(Error::InvalidConfig(
                "reuse_grace must be at most 300 seconds".into(),
            ));
        }
        if config.refresh_ttl > 400 * 86_400 {
            return Err(Error::InvalidConfig(
                "refresh_ttl must be at most 400 days".into(),
            ));
        }
        Ok(Sessions {
            store,
            tokens,
            config,
        })
    }

    pub fn config(&self) -> &SessionsConfig {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The audience as stored with each session: a canonical JSON array, so that `["a b"]` and
    /// `["a","b"]` never compare equal (RT-8).
    fn audience(&self) -> String {
        canonical_audience(&self.tokens.config().audience)
    }

    fn binding<'a>(&'a self, audience: &'a str) -> Binding<'a> {
        Binding {
            issuer: &self.tokens.config().issuer,
            audience,
        }
    }

    fn access_token(&self, session: &SessionRecord) -> Result<(String, u64)> {
        let mut claims = session.claims.clone();
        claims.insert("sid".into(), Value::String(session.id.clone()));
        let ttl = self.tokens.config().access_ttl;
        Ok((self.tokens.issue(&session.subject, claims, None)?, ttl))
    }

    /// Starts a session: a new family with its first refresh token, and an access token carrying
    /// `sid` and `claims` (which every refreshed access token carries too).
    pub async fn start(
        &self,
        subject: &str,
        claims: Map<String, Value>,
        meta: Map<String, Value>,
    ) -> Result<TokenPair> {
        self.start_at(subject, claims, meta, clock::now()).await
    }

    pub async fn start_at(
        &self,
        subject: &str,
        claims: Map<String, Value>,
        meta: Map<String, Value>,
        now: i64,
    ) -> Result<TokenPair> {
        check_text(subject, "subject", 1024)?;
        check_claims(&claims)?;
        if json_len(&meta) > MAX_JSON_BYTES {
            return Err(Error::InvalidInput(
                "meta must be at most 16 KiB of JSON".into(),
            ));
        }
        let session = SessionRecord {
            id: random_b64(16)?,
            subject: subject.to_owned(),
            issuer: self.tokens.config().issuer.clone(),
            audience: self.audience(),
            claims,
            meta,
            created_at: now,
            last_used_at: now,
            expires_at: now + self.config.refresh_ttl as i64,
            idle_ttl: self.config.idle_ttl as i64,
            generation: 0,
            revoked_at: None,
        };
        // Sign first: an error here leaves nothing behind in the store.
        let (access_token, expires_in) = self.access_token(&session)?;
        let refresh_token = format!("{REFRESH_PREFIX}{}", random_b64(32)?);
        self.store
            .create_session(&session, &token_hash(&refresh_token))
            .await?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            session_id: session.id,
            expires_in,
            refresh_expires_at: session.expires_at,
        })
    }

    /// Rotates `refresh_token`: returns a new pair for the same session. A token presented twice
    /// revokes the session and fails with `refresh_reused` (outside the grace rules).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.refresh_at(refresh_token, clock::now()).await
    }

    pub async fn refresh_at(&self, refresh_token: &str, now: i64) -> Result<TokenPair> {
        check_format(refresh_token, REFRESH_PREFIX)?;
        let new_token = format!("{REFRESH_PREFIX}{}", random_b64(32)?);
        let audience = self.audience();
        let outcome = self
            .store
            .rotate(
                &token_hash(refresh_token),
                &token_hash(&new_token),
                now,
                self.config.reuse_grace as i64,
                &self.binding(&audience),
            )
            .await?;
        let session = match outcome {
            Rotation::Rotated(s) | Rotation::Graced(s) => s,
            Rotation::Reused => return Err(Error::RefreshReused),
            // RT-8: another service's session; the store wrote nothing, the token stays usable
            // by the service it belongs to.
            Rotation::Inactive(e) | Rotation::Mismatch(e) => return Err(e),
            Rotation::Unknown => return Err(Error::InvalidToken("unknown refresh token".into())),
        };
        let (access_token, expires_in) = self.access_token(&session)?;
        Ok(TokenPair {
            access_token,
            refresh_token: new_token,
            session_id: session.id,
            expires_in,
            refresh_expires_at: session.expires_at,
        })
    }

    /// Revokes the session of `refresh_token` (logout when the access token has expired, like
    /// RFC 7009): true when this call revoked it; false for an unknown token, a session already
    /// revoked, or one of another issuer or audience (left untouched). A used token of the
    /// session works too. Only a malformed token is an error (`invalid_token`).
    pub async fn revoke_refresh_token(&self, refresh_token: &str) -> Result<bool> {
        check_format(refresh_token, REFRESH_PREFIX)?;
        let audience = self.audience();
        self.store
            .revoke_by_token(
                &token_hash(refresh_token),
                &self.binding(&audience),
                clock::now(),
            )
            .await
    }

    /// Revokes one session; false when it was unknown or already revoked.
    pub async fn revoke(&self, session_id: &str) -> Result<bool> {
        if !possible_session_id(session_id) {
            return Ok(false);
        }
        self.store.revoke_session(session_id, clock::now()).await
    }

    /// Revokes every session of `subject`; returns how many were not yet revoked (sessions that
    /// already expired included: they are marked revoked too).
    pub async fn revoke_all(&self, subject: &str) -> Result<u64> {
        check_text(subject, "subject", 1024)?;
        self.store.revoke_subject(subject, clock::now()).await
    }

    /// Active sessions of `subject`, newest first.
    pub async fn list(&self, subject: &str) -> Result<Vec<SessionInfo>> {
        check_text(subject, "subject", 1024)?;
        Ok(self
            .store
            .list_sessions(subject, clock::now())
            .await?
            .into_iter()
            .map(SessionInfo::from)
            .collect())
    }

    /// Whether a session is still usable: lets a verifier honour revocation immediately (JWT-14).
    pub async fn is_active(&self, session_id: &str) -> Result<bool> {
        self.is_active_at(session_id, clock::now()).await
    }

    pub async fn is_active_at(&self, session_id: &str, now: i64) -> Result<bool> {
        if !possible_session_id(session_id) {
            return Ok(false);
        }
        Ok(self
            .store
            .get_session(session_id)
            .await?
            .is_some_and(|s| s.inactive_reason(now).is_none()))
    }
}
