//! Checks of caller-supplied identifiers and claims shared by the stateful features (sessions,
//! accounts, one-time tokens, MFA, sign-in), so every backend refuses the same input alike.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::token;

/// The most JSON a claims or meta object may hold.
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// Checks an identifier argument (subject, session id, purpose, throttle key): at most `max`
/// bytes and no NUL, which PostgreSQL cannot store in text; every backend refuses it alike.
pub fn check_text(value: &str, what: &str, max: usize) -> Result<()> {
    if value.len() > max || value.contains('\0') {
        return Err(Error::InvalidInput(format!(
            "{what} must be at most {max} bytes without NUL characters"
        )));
    }
    Ok(())
}

/// [`check_text`] for an identifier that must also be non-empty.
pub fn check_required(value: &str, what: &str, max: usize) -> Result<()> {
    check_text(value, what, max)?;
    if value.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{what} must be 1 to {max} bytes"
        )));
    }
    Ok(())
}

pub fn json_len(m: &Map<String, Value>) -> usize {
    serde_json::to_vec(m).map_or(usize::MAX, |v| v.len())
}

/// Checks application claims (of a session, or of an account, which its sessions carry): at most
/// 16 KiB of JSON, and none of the names polyauth sets in access tokens itself (the registered JWT
/// claims and `sid`).
pub fn check_claims(claims: &Map<String, Value>) -> Result<()> {
    if let Some(name) = token::REGISTERED
        .iter()
        .chain(["sid"].iter())
        .find(|n| claims.contains_key(**n))
    {
        return Err(Error::InvalidInput(format!(
            "claim \"{name}\" is set by polyauth"
        )));
    }
    if json_len(claims) > MAX_JSON_BYTES {
        return Err(Error::InvalidInput(
            "claims must be at most 16 KiB of JSON".into(),
        ));
    }
    Ok(())
}
