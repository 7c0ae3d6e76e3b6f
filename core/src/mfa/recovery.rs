//! Recovery codes (OTP-7): 120 random bits each, shown once, stored as SHA-256 only.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Recovery codes: 24 characters of Crockford's base32 (120 bits), shown in groups of six.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_CHARS: usize = 24;
const RECOVERY_GROUP: usize = 6;
/// Longest recovery-code input looked at (separators and spaces included).
const MAX_RECOVERY_INPUT: usize = 64;
pub const RECOVERY_CODE_COUNT: usize = 10;

/// A new recovery code, formatted for display (`xxxxxx-xxxxxx-xxxxxx-xxxxxx`).
fn new_recovery_code() -> Result<Zeroizing<String>> {
    let mut random = Zeroizing::new([0u8; RECOVERY_CHARS]);
    aws_lc_rs::rand::fill(random.as_mut())
        .map_err(|_| Error::Internal("random generator failed".into()))?;
    let mut out = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 3));
    for (i, b) in random.iter().enumerate() {
        if i > 0 && i % RECOVERY_GROUP == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32: the low five bits are uniform.
        out.push(char::from(RECOVERY_ALPHABET[usize::from(b & 31)]));
    }
    Ok(out)
}

/// The canonical form of a typed recovery code: separators and spaces dropped, lower case, and
/// Crockford's look-alikes folded (i, l → 1; o → 0). `None` when it cannot be a code.
pub(super) fn normalize_recovery(code: &str) -> Result<Option<Zeroizing<String>>> {
    if code.len() > MAX_RECOVERY_INPUT {
        return Err(Error::InvalidInput("recovery code too long".into()));
    }
    let mut out = Zeroizing::new(String::with_capacity(RECOVERY_CHARS));
    for c in code.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' | '\t' => continue,
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
            return Ok(None);
        }
        out.push(c);
    }
    Ok((out.len() == RECOVERY_CHARS).then_some(out))
}

pub(super) fn recovery_hash(normalized: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"polyauth recovery code v1\0");
    h.update(normalized.as_bytes());
    hex::encode(h.finalize())
}

/// Fresh recovery codes (for display) and their hashes (for the store).
pub(super) fn recovery_codes() -> Result<(Vec<Zeroizing<String>>, Vec<String>)> {
    let codes = (0..RECOVERY_CODE_COUNT)
        .map(|_| new_recovery_code())
        .collect::<Result<Vec<_>>>()?;
    let hashes = codes
        .iter()
        .map(|c| {
            normalize_recovery(c)?
                .map(|n| recovery_hash(&n))
                .ok_or_else(|| Error::Internal("generated recovery code does not parse".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((codes, hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_120_bits_and_normalize() {
        let (codes, hashes) = recovery_codes().unwrap();
        assert_eq!((codes.len(), hashes.len()), (10, 10));
        let c = &codes[0];
        assert_eq!(c.len(), 27);
        assert_eq!(c.matches('-').count(), 3);
        let n = normalize_recovery(c).unwrap().unwrap();
        assert_eq!(recovery_hash(&n), hashes[0]);
        let typed = format!("  {}  ", c.to_uppercase().replace('-', " "));
        assert_eq!(
            normalize_recovery(&typed).unwrap().unwrap().as_str(),
            n.as_str()
        );
        assert_eq!(
            normalize_recovery("OIL000-000000-000000-000000")
                .unwrap()
                .unwrap()
                .as_str(),
            "011000000000000000000000"
        );
        for bad in [
            "",
            "abc",
            "uuuuuu-uuuuuu-uuuuuu-uuuuuu",
            "ééé",
            &"0".repeat(25),
        ] {
            assert!(normalize_recovery(bad).unwrap().is_none(), "{bad}");
        }
        assert_eq!(
            normalize_recovery(&"0".repeat(65)).unwrap_err().code(),
            "invalid_input"
        );
        let all: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(all.len(), 10);
    }
}
