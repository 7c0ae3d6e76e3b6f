//! Strict PHC string parsing and encoding for argon2 (`$argon2id$v=19$m=..,t=..,p=..$salt$tag`).
//! Parsed by hand so that every field is checked and bounded before anything is allocated.

use argon2::{Algorithm, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

/// A parsed, bounded argon2 PHC string.
#[derive(Debug, Clone)]
pub struct Argon2Hash {
    pub algorithm: Algorithm,
    pub version: Version,
    pub params: Params,
    pub salt: Vec<u8>,
    pub tag: Vec<u8>,
}

fn bad(msg: &str) -> Error {
    Error::InvalidHash(msg.into())
}

fn number(field: &str, name: &str) -> Result<u32> {
    let v = field
        .strip_prefix(name)
        .and_then(|v| v.strip_prefix('='))
        .ok_or_else(|| bad("malformed argon2 parameters"))?;
    // Canonical decimal only: no sign, no leading zeros, at most 10 digits.
    if v.is_empty()
        || v.len() > 10
        || !v.bytes().all(|b| b.is_ascii_digit())
        || (v.len() > 1 && v.starts_with('0'))
    {
        return Err(bad("malformed argon2 parameters"));
    }
    v.parse().map_err(|_| bad("argon2 parameter out of range"))
}

/// Parses `s`, refusing memory above `max_memory_kib`, work above `max_work` KiB-passes and
/// parallelism above `max_parallelism`.
pub fn parse(
    s: &str,
    max_memory_kib: u32,
    max_work: u64,
    max_parallelism: u32,
) -> Result<Argon2Hash> {
    let mut parts = s.split('$');
    if parts.next() != Some("") {
        return Err(bad("not a PHC string"));
    }
    let algorithm = match parts.next() {
        Some("argon2id") => Algorithm::Argon2id,
        Some("argon2i") => Algorithm::Argon2i,
        Some("argon2d") => Algorithm::Argon2d,
        _ => return Err(bad("unknown argon2 variant")),
    };
    let mut field = parts.next().ok_or_else(|| bad("truncated argon2 hash"))?;
    let version = if field.starts_with("v=") {
        let v = match number(field, "v")? {
            19 => Version::V0x13,
            16 => Version::V0x10,
            _ => return Err(bad("unsupported argon2 version")),
        };
        field = parts.next().ok_or_else(|| bad("truncated argon2 hash"))?;
        v
    } else {
        Version::V0x10
    };
    let mut kv = field.split(',');
    let (m, t, p) = match (kv.next(), kv.next(), kv.next(), kv.next()) {
        (Some(m), Some(t), Some(p), None) => (number(m, "m")?, number(t, "t")?, number(p, "p")?),
        _ => return Err(bad("argon2 parameters must be exactly m,t,p")),
    };
    if p == 0 || p > max_parallelism {
        return Err(bad("argon2 parallelism out of bounds"));
    }
    if t == 0 {
        return Err(bad("argon2 time cost out of bounds"));
    }
    if m > max_memory_kib {
        return Err(bad("argon2 memory cost above the configured maximum"));
    }
    if u64::from(m) * u64::from(t) > max_work {
        return Err(bad("argon2 work factor above the configured maximum"));
    }
    let salt_b64 = parts.next().ok_or_else(|| bad("truncated argon2 hash"))?;
    let tag_b64 = parts.next().ok_or_else(|| bad("truncated argon2 hash"))?;
    if parts.next().is_some() {
        return Err(bad("trailing data after argon2 hash"));
    }
    // Bounds before decoding: salt 8..=64 bytes, tag 4..=64 bytes (argon2's own limits are wider).
    if salt_b64.len() < 11 || salt_b64.len() > 86 || tag_b64.len() < 6 || tag_b64.len() > 86 {
        return Err(bad("argon2 salt or tag length out of bounds"));
    }
    let salt = STANDARD_NO_PAD
        .decode(salt_b64)
        .map_err(|_| bad("argon2 salt is not valid base64"))?;
    let tag = STANDARD_NO_PAD
        .decode(tag_b64)
        .map_err(|_| bad("argon2 tag is not valid base64"))?;
    if salt.len() < 8 || tag.len() < 4 {
        return Err(bad("argon2 salt or tag too short"));
    }
    let params =
        Params::new(m, t, p, Some(tag.len())).map_err(|_| bad("invalid argon2 parameters"))?;
    Ok(Argon2Hash {
        algorithm,
        version,
        params,
        salt,
        tag,
    })
}

/// Encodes a PHC string the way the reference implementation, argon2-cffi and @node-rs/argon2 do.
pub fn encode(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    salt: &[u8],
    tag: &[u8],
) -> String {
    let alg = match algorithm {
        Algorithm::Argon2d => "argon2d",
        Algorithm::Argon2i => "argon2i",
        Algorithm::Argon2id => "argon2id",
    };
    let v = match version {
        Version::V0x10 => 16,
        Version::V0x13 => 19,
    };
    format!(
        "${alg}$v={v}$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(tag)
    )
}
