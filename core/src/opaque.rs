//! Opaque secret tokens (refresh tokens, one-time tokens, ids): random generation, the SHA-256
//! the store keeps instead of a token (RT-1), and the shape check made before any store access.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::error::{Error, Result};

/// `bytes` random bytes, base64url: session ids, refresh tokens, account subjects, step ids.
pub fn random_b64(bytes: usize) -> Result<String> {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Internal("random generator failed".into()))?;
    Ok(b64::encode(buf.as_slice()))
}

/// SHA-256 of a secret token, hex: what the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks a presented token's shape (`prefix` + 43 base64url characters) before any store access.
pub fn check_format(token: &str, prefix: &str) -> Result<()> {
    let body = token
        .strip_prefix(prefix)
        .ok_or_else(|| Error::InvalidToken(format!("not a {prefix}… token")))?;
    if body.len() != 43 || b64::decode(body).is_none_or(|b| b.len() != 32) {
        return Err(Error::InvalidToken("malformed token".into()));
    }
    Ok(())
}
