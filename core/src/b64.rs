//! Strict base64url without padding (RFC 7515 §2): no `=`, no whitespace, no characters outside
//! the URL-safe alphabet, and canonical trailing bits, so that one token has one encoding (JWT-9).

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const STRICT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Decodes strict base64url; `None` on any deviation.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    STRICT.decode(s).ok()
}

/// Encodes base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness() {
        assert_eq!(decode("Zm9v").unwrap(), b"foo");
        assert!(decode("Zm9v=").is_none());
        assert!(decode("Zm9 v").is_none());
        assert!(decode("Zm9v+").is_none());
        assert!(decode("Zm8").is_some());
        assert!(decode("Zm9").is_none() || decode("Zm9").unwrap() == b"fo");
        // "AB" has non-zero unused bits ("AA" is canonical for one zero byte).
        assert!(decode("AB").is_none());
        assert_eq!(decode("AA").unwrap(), vec![0]);
        assert_eq!(encode(b"\xfb\xff"), "-_8");
    }
}
