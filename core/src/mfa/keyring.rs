//! The application's TOTP-secret encryption keys (OTP-5): AES-256-GCM under the first key, with
//! the subject as associated data and a key id in each ciphertext so that every configured key
//! decrypts and a secret under an older key can be re-encrypted.

use std::fmt;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Version tag of the encrypted-secret format: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
const FORMAT: &str = "v1";
const KEY_LEN: usize = 32;
const MAX_KEYS: usize = 16;
const AAD_PREFIX: &[u8] = b"polyauth mfa secret v1\0";

/// One encryption key as the application supplies it.
pub enum KeyMaterial {
    /// Exactly 32 bytes.
    Bytes(Zeroizing<Vec<u8>>),
    /// 32 bytes as base64url or base64 (padding optional), or as 64 hex digits.
    Text(Zeroizing<String>),
}

fn key_bytes(material: &KeyMaterial) -> Result<Zeroizing<Vec<u8>>> {
    let bad = || {
        Error::InvalidConfig(
            "encryption key must be 32 bytes (raw, base64url/base64, or 64 hex digits)".into(),
        )
    };
    let bytes = match material {
        KeyMaterial::Bytes(b) => Zeroizing::new(b.to_vec()),
        KeyMaterial::Text(t) => {
            let t = t.trim();
            if t.len() == 2 * KEY_LEN && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                Zeroizing::new(hex::decode(t).map_err(|_| bad())?)
            } else {
                let normal: Zeroizing<String> = Zeroizing::new(
                    t.trim_end_matches('=')
                        .chars()
                        .map(|c| match c {
                            '+' => '-',
                            '/' => '_',
                            c => c,
                        })
                        .collect(),
                );
                Zeroizing::new(
                    URL_SAFE_NO_PAD
                        .decode(normal.as_bytes())
                        .map_err(|_| bad())?,
                )
            }
        }
    };
    if bytes.len() != KEY_LEN {
        return Err(bad());
    }
    Ok(bytes)
}

/// The id stored with each ciphertext: 64 bits of a SHA-256 of the key (names the key without
/// revealing anything usable about it).
fn key_id(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"polyauth mfa key id\0");
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

/// The application's TOTP-secret encryption keys: the first encrypts, all decrypt.
pub struct EncryptionKeys {
    keys: Vec<(String, RandomizedNonceKey)>,
}

impl fmt::Debug for EncryptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKeys")
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

/// A freshly decrypted secret, and whether it was under an older key than the current one.
pub(super) struct Opened {
    pub(super) secret: Zeroizing<String>,
    pub(super) stale: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("stale", &self.stale)
            .finish_non_exhaustive()
    }
}

impl EncryptionKeys {
    /// Parses 1 to 16 keys (the first encrypts); `invalid_config` for a malformed or repeated key.
    pub fn new(materials: &[KeyMaterial]) -> Result<EncryptionKeys> {
        if materials.is_empty() || materials.len() > MAX_KEYS {
            return Err(Error::InvalidConfig(format!(
                "give 1 to {MAX_KEYS} encryption keys (the first one encrypts)"
            )));
        }
        let mut keys = Vec::with_capacity(materials.len());
        for m in materials {
            let bytes = key_bytes(m)?;
            let id = key_id(&bytes);
            if keys.iter().any(|(k, _)| *k == id) {
                return Err(Error::InvalidConfig(
                    "the same encryption key is given twice".into(),
                ));
            }
            let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| Error::InvalidConfig("encryption key is not usable".into()))?;
            keys.push((id, key));
        }
        Ok(EncryptionKeys { keys })
    }

    /// Ids of the keys, the encrypting one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }

    fn aad(subject: &str) -> Vec<u8> {
        [AAD_PREFIX, subject.as_bytes()].concat()
    }

    /// Encrypts `secret` for `subject` under the current key.
    pub(super) fn seal(&self, subject: &str, secret: &str) -> Result<String> {
        let (id, key) = &self.keys[0];
        let mut data = secret.as_bytes().to_vec();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(Self::aad(subject)), &mut data)
            .map_err(|_| Error::Internal("encryption failed".into()))?;
        let mut blob = Vec::with_capacity(NONCE_LEN + data.len());
        blob.extend_from_slice(nonce.as_ref());
        blob.extend_from_slice(&data);
        Ok(format!("{FORMAT}.{id}.{}", crate::b64::encode(&blob)))
    }

    /// Decrypts a stored secret of `subject`.
    pub(super) fn open(&self, subject: &str, stored: &str) -> Result<Opened> {
        let malformed = || {
            Error::InvalidKey(
                "the stored TOTP secret is not in polyauth's encrypted format (damaged data?)"
                    .into(),
            )
        };
        let mut parts = stored.split('.');
        let (Some(FORMAT), Some(id), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let Some(pos) = self.keys.iter().position(|(k, _)| k == id) else {
            return Err(Error::InvalidKey(format!(
                "the stored TOTP secret was encrypted with key id {id}, which is not among the configured encryption keys"
            )));
        };
        let mut blob = Zeroizing::new(crate::b64::decode(body).ok_or_else(malformed)?);
        if blob.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(malformed());
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&blob[..NONCE_LEN]).map_err(|_| malformed())?;
        let plain = self.keys[pos]
            .1
            .open_in_place(nonce, Aad::from(Self::aad(subject)), &mut blob[NONCE_LEN..])
            .map_err(|_| {
                Error::InvalidKey(
                    "the stored TOTP secret does not decrypt with its key (wrong key, another subject's secret, or damaged data)"
                        .into(),
                )
            })?;
        let secret = Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(|_| malformed())?);
        Ok(Opened {
            secret,
            stale: pos != 0,
        })
    }
}

/// A fresh random encryption key, base64url (what `EncryptionKeys` accepts as text).
pub fn generate_key() -> Result<Zeroizing<String>> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    aws_lc_rs::rand::fill(key.as_mut())
        .map_err(|_| Error::Internal("random generator failed".into()))?;
    Ok(Zeroizing::new(crate::b64::encode(key.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> EncryptionKeys {
        EncryptionKeys::new(&[KeyMaterial::Bytes(Zeroizing::new(vec![n; 32]))]).unwrap()
    }

    #[test]
    fn secrets_round_trip_bound_to_their_subject() {
        let k = keys(1);
        let sealed = k.seal("alice", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(sealed.starts_with(&format!("v1.{}.", k.key_ids()[0])));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        let opened = k.open("alice", &sealed).unwrap();
        assert_eq!(
            (opened.secret.as_str(), opened.stale),
            ("JBSWY3DPEHPK3PXP", false)
        );
        // Two encryptions of one secret differ (random nonces).
        assert_ne!(sealed, k.seal("alice", "JBSWY3DPEHPK3PXP").unwrap());
        assert_eq!(k.open("bob", &sealed).unwrap_err().code(), "invalid_key");
        assert_eq!(
            keys(2).open("alice", &sealed).unwrap_err().code(),
            "invalid_key"
        );
        for bad in [
            "",
            "v1",
            "v2.x.y",
            "v1.a.b.c",
            &sealed[..sealed.len() - 4],
            &format!("{sealed}A"),
        ] {
            assert_eq!(
                k.open("alice", bad).unwrap_err().code(),
                "invalid_key",
                "{bad}"
            );
        }
    }

    #[test]
    fn older_keys_decrypt_and_are_reported_stale() {
        let old = keys(1);
        let sealed = old.seal("s", "SECRET").unwrap();
        let both = EncryptionKeys::new(&[
            KeyMaterial::Bytes(Zeroizing::new(vec![2; 32])),
            KeyMaterial::Bytes(Zeroizing::new(vec![1; 32])),
        ])
        .unwrap();
        let opened = both.open("s", &sealed).unwrap();
        assert!(opened.stale);
        assert!(
            !both
                .open("s", &both.seal("s", "SECRET").unwrap())
                .unwrap()
                .stale
        );
    }

    #[test]
    fn key_material_forms() {
        let raw = [7u8; 32];
        let forms = [
            KeyMaterial::Text(Zeroizing::new(crate::b64::encode(raw))),
            KeyMaterial::Text(Zeroizing::new(
                base64::engine::general_purpose::STANDARD.encode(raw),
            )),
            KeyMaterial::Text(Zeroizing::new(hex::encode(raw))),
            KeyMaterial::Text(Zeroizing::new(format!(" {} ", hex::encode_upper(raw)))),
            KeyMaterial::Bytes(Zeroizing::new(raw.to_vec())),
        ];
        let ids: Vec<String> = forms
            .iter()
            .map(|m| {
                EncryptionKeys::new(std::slice::from_ref(m))
                    .unwrap()
                    .key_ids()[0]
                    .clone()
            })
            .collect();
        assert!(ids.iter().all(|i| *i == ids[0] && i.len() == 16));
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &hex::encode([1u8; 31]),
            "!!!!",
        ] {
            let e = EncryptionKeys::new(&[KeyMaterial::Text(Zeroizing::new(bad.to_owned()))])
                .unwrap_err();
            assert_eq!(e.code(), "invalid_config", "{bad}");
        }
        let e =
            EncryptionKeys::new(&[KeyMaterial::Bytes(Zeroizing::new(vec![0; 16]))]).unwrap_err();
        assert_eq!(e.code(), "invalid_config");
        assert!(EncryptionKeys::new(&[]).is_err());
        let dup = [
            KeyMaterial::Bytes(Zeroizing::new(raw.to_vec())),
            KeyMaterial::Text(Zeroizing::new(hex::encode(raw))),
        ];
        assert_eq!(
            EncryptionKeys::new(&dup).unwrap_err().code(),
            "invalid_config"
        );
        let generated = generate_key().unwrap();
        EncryptionKeys::new(&[KeyMaterial::Text(generated)]).unwrap();
    }
}
