//! Key sets: signing and verification keys parsed once, with JWK/JWKS/PEM import and export,
//! RFC 7638 thumbprints, generation and rotation. Each key serves exactly one algorithm (JWT-2),
//! and weak or malformed keys are refused at import (JWT-3).

mod der;
mod jwk;
mod pem;
mod roca;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, ParsedPublicKey,
    RsaKeyPair, VerificationAlgorithm,
};
use aws_lc_rs::{hmac, rand::SecureRandom};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub use jwk::{import as import_jwk, thumbprint};

/// The algorithm of `KeySet::generate` when the caller names none.
pub const DEFAULT_ALG: Alg = Alg::EdDSA;
/// The algorithm of `KeySet::from_secret` when the caller names none.
pub const DEFAULT_SECRET_ALG: Alg = Alg::HS256;

/// Signature algorithms. RS* verify always; signing with them needs explicit opt-in on `Tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    EdDSA,
    ES256,
    ES384,
    ES512,
    PS256,
    PS384,
    PS512,
    RS256,
    RS384,
    RS512,
    HS256,
    HS384,
    HS512,
}

impl Alg {
    pub const ALL: [Alg; 13] = [
        Alg::EdDSA,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
        }
    }

    /// Parses a JWA name, case-sensitively. `"Ed25519"` (RFC 9864) is read as `EdDSA`.
    pub fn parse(name: &str) -> Result<Alg> {
        if name == "Ed25519" {
            return Ok(Alg::EdDSA);
        }
        Alg::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| Error::UnsupportedAlgorithm(crate::error::excerpt(name)))
    }

    pub fn is_hmac(self) -> bool {
        matches!(self, Alg::HS256 | Alg::HS384 | Alg::HS512)
    }

    pub fn is_rsa_pkcs1(self) -> bool {
        matches!(self, Alg::RS256 | Alg::RS384 | Alg::RS512)
    }

    /// Exact signature length for fixed-size algorithms (JWT-6).
    fn fixed_signature_len(self) -> Option<usize> {
        match self {
            Alg::EdDSA => Some(64),
            Alg::ES256 => Some(64),
            Alg::ES384 => Some(96),
            Alg::ES512 => Some(132),
            Alg::HS256 => Some(32),
            Alg::HS384 => Some(48),
            Alg::HS512 => Some(64),
            _ => None,
        }
    }

    fn hmac_algorithm(self) -> Option<(hmac::Algorithm, usize)> {
        match self {
            Alg::HS256 => Some((hmac::HMAC_SHA256, 32)),
            Alg::HS384 => Some((hmac::HMAC_SHA384, 48)),
            Alg::HS512 => Some((hmac::HMAC_SHA512, 64)),
            _ => None,
        }
    }

    fn ecdsa(
        self,
    ) -> Option<(
        &'static EcdsaSigningAlgorithm,
        &'static dyn VerificationAlgorithm,
        &'static str,
    )> {
        match self {
            Alg::ES256 => Some((
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                &sig::ECDSA_P256_SHA256_FIXED,
                "P-256",
            )),
            Alg::ES384 => Some((
                &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                &sig::ECDSA_P384_SHA384_FIXED,
                "P-384",
            )),
            Alg::ES512 => Some((
                &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
                &sig::ECDSA_P521_SHA512_FIXED,
                "P-521",
            )),
            _ => None,
        }
    }

    fn rsa(self) -> Option<(&'static sig::RsaParameters, &'static dyn sig::RsaEncoding)> {
        match self {
            Alg::PS256 => Some((&sig::RSA_PSS_2048_8192_SHA256, &sig::RSA_PSS_SHA256)),
            Alg::PS384 => Some((&sig::RSA_PSS_2048_8192_SHA384, &sig::RSA_PSS_SHA384)),
            Alg::PS512 => Some((&sig::RSA_PSS_2048_8192_SHA512, &sig::RSA_PSS_SHA512)),
            Alg::RS256 => Some((&sig::RSA_PKCS1_2048_8192_SHA256, &sig::RSA_PKCS1_SHA256)),
            Alg::RS384 => Some((&sig::RSA_PKCS1_2048_8192_SHA384, &sig::RSA_PKCS1_SHA384)),
            Alg::RS512 => Some((&sig::RSA_PKCS1_2048_8192_SHA512, &sig::RSA_PKCS1_SHA512)),
            _ => None,
        }
    }
}

fn key_err(msg: &str) -> Error {
    Error::InvalidKey(msg.into())
}

/// Parsed key material. Private parts live in aws-lc objects, which clear them when freed, or in
/// `Zeroizing` buffers.
pub(crate) enum Material {
    Hmac {
        /// Boxed: aws-lc's HMAC key holds precomputed inner/outer contexts (over 1 KiB), which
        /// would otherwise make every `Key` that large (clippy `large_enum_variant`).
        key: Box<hmac::Key>,
        secret: Zeroizing<Vec<u8>>,
    },
    Ed25519 {
        public: ParsedPublicKey,
        x: Vec<u8>,
        pair: Option<Ed25519KeyPair>,
    },
    Ec {
        public: ParsedPublicKey,
        /// Uncompressed point 0x04 || X || Y.
        point: Vec<u8>,
        pair: Option<EcdsaKeyPair>,
    },
    Rsa {
        public: ParsedPublicKey,
        n: Vec<u8>,
        e: Vec<u8>,
        pair: Option<RsaKeyPair>,
    },
}

/// One key: its id, the one algorithm it serves, and its parsed material.
pub struct Key {
    kid: String,
    alg: Alg,
    material: Material,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg.name())
            .field("private", &self.has_private())
            .finish()
    }
}

impl Key {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// True when the key can sign (HMAC secrets always can).
    pub fn has_private(&self) -> bool {
        match &self.material {
            Material::Hmac { .. } => true,
            Material::Ed25519 { pair, .. } => pair.is_some(),
            Material::Ec { pair, .. } => pair.is_some(),
            Material::Rsa { pair, .. } => pair.is_some(),
        }
    }

    /// Signs `message` (the JWS signing input). The signature layer every token goes through.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let no_private = || Error::InvalidKey("key has no private part".into());
        match &self.material {
            Material::Hmac { key, .. } => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Material::Ed25519 { pair, .. } => Ok(pair
                .as_ref()
                .ok_or_else(no_private)?
                .sign(message)
                .as_ref()
                .to_vec()),
            Material::Ec { pair, .. } => pair
                .as_ref()
                .ok_or_else(no_private)?
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Internal("ECDSA signing failed".into())),
            Material::Rsa { pair, .. } => {
                let pair = pair.as_ref().ok_or_else(no_private)?;
                let (_, encoding) = self
                    .alg
                    .rsa()
                    .ok_or_else(|| Error::Internal("RSA key without RSA algorithm".into()))?;
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(encoding, &SystemRandom::new(), message, &mut out)
                    .map_err(|_| Error::Internal("RSA signing failed".into()))?;
                Ok(out)
            }
        }
    }

    /// Verifies `signature` over `message` with this key's algorithm. Fixed-size signatures must
    /// have their exact length (no DER, no truncated MACs); ECDSA r and s must be in [1, n-1]
    /// and Ed25519 signatures canonical, which aws-lc enforces.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if let Some(len) = self.alg.fixed_signature_len() {
            if signature.len() != len {
                return false;
            }
        }
        match &self.material {
            Material::Hmac { key, .. } => hmac::verify(key, message, signature).is_ok(),
            Material::Ed25519 { public, .. }
            | Material::Ec { public, .. }
            | Material::Rsa { public, .. } => public.verify_sig(message, signature).is_ok(),
        }
    }

    // ---- constructors -------------------------------------------------------------------

    /// An HMAC key; at least the hash size, and never text that is a public key (JWT-3): a PEM
    /// block, an OpenSSH public key or a JWK/JWKS given as the secret is the setup of the
    /// algorithm-confusion attack (a verifier whose public key is also accepted as an HMAC
    /// secret), so it is refused as `invalid_key`. Without `kid`, the kid is 128 random bits:
    /// a thumbprint of the secret would let anyone holding a token test guesses offline.
    pub fn from_secret(secret: &[u8], alg: Alg, kid: Option<String>) -> Result<Key> {
        let (algorithm, min) = alg
            .hmac_algorithm()
            .ok_or_else(|| key_err("a secret can only be an HS256/HS384/HS512 key"))?;
        if secret.len() < min {
            return Err(Error::InvalidKey(format!(
                "{} secrets must be at least {min} bytes",
                alg.name()
            )));
        }
        if looks_like_public_key(secret) {
            return Err(key_err(
                "an HMAC secret must not be key text (PEM, OpenSSH or JWK); pass the key itself to from_pem/from_jwks",
            ));
        }
        Key::finish(
            alg,
            kid,
            Material::Hmac {
                key: Box::new(hmac::Key::new(algorithm, secret)),
                secret: Zeroizing::new(secret.to_vec()),
            },
        )
    }

    /// Generates a fresh key for `alg` (RSA: 2048 bits for PS256, 3072 for PS384, 4096 for PS512).
    pub fn generate(alg: Alg, kid: Option<String>) -> Result<Key> {
        let failed = || Error::Internal("key generation failed".into());
        let material = match alg {
            Alg::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(|_| failed())?;
                let x = pair.public_key().as_ref().to_vec();
                Key::ed25519_material(&x, Some(pair))?
            }
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let (signing, _, _) = alg.ecdsa().ok_or_else(failed)?;
                let pair = EcdsaKeyPair::generate(signing).map_err(|_| failed())?;
                let point = pair.public_key().as_ref().to_vec();
                Key::ec_material(alg, &point, Some(pair))?
            }
            Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                let size = match alg {
                    Alg::PS256 => KeySize::Rsa2048,
                    Alg::PS384 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let pair = RsaKeyPair::generate(size).map_err(|_| failed())?;
                Key::rsa_material_from_pair(alg, pair)?
            }
            Alg::RS256 | Alg::RS384 | Alg::RS512 => {
                return Err(Error::UnsupportedAlgorithm(format!(
                    "{} keys are not generated (PKCS#1 v1.5 signatures are disallowed by ASVS 5); use PS256",
                    alg.name()
                )))
            }
            Alg::HS256 | Alg::HS384 | Alg::HS512 => {
                let (_, len) = alg.hmac_algorithm().ok_or_else(failed)?;
                let mut secret = Zeroizing::new(vec![0u8; len]);
                SystemRandom::new().fill(&mut secret).map_err(|_| failed())?;
                return Key::from_secret(&secret, alg, kid);
            }
        };
        Key::finish(alg, kid, material)
    }

    /// Every Ed25519 public key goes through here (JWK `x`, SPKI, PKCS#8, generated), so the
    /// small-order and non-canonical checks (JWT-3, JWT-7) cover every import path.
    fn ed25519_material(x: &[u8], pair: Option<Ed25519KeyPair>) -> Result<Material> {
        if x.len() != 32 {
            return Err(key_err("Ed25519 public keys are 32 bytes"));
        }
        if ed25519_small_order(x) {
            // With such a key one fixed signature verifies every message.
            return Err(key_err("Ed25519 public key is a small-order point"));
        }
        if ed25519_non_canonical(x) {
            return Err(key_err("Ed25519 public key is not canonically encoded"));
        }
        let public = ParsedPublicKey::new(&sig::ED25519, x)
            .map_err(|_| key_err("invalid Ed25519 public key"))?;
        Ok(Material::Ed25519 {
            public,
            x: x.to_vec(),
            pair,
        })
    }

    fn ec_material(alg: Alg, point: &[u8], pair: Option<EcdsaKeyPair>) -> Result<Material> {
        let (_, verify, _) = alg.ecdsa().ok_or_else(|| key_err("not an EC algorithm"))?;
        let coord = match alg {
            Alg::ES256 => 32,
            Alg::ES384 => 48,
            _ => 66,
        };
        if point.len() != 1 + 2 * coord || point[0] != 4 {
            return Err(key_err(
                "EC public key must be an uncompressed point on the algorithm's curve",
            ));
        }
        // aws-lc checks that the point is on the curve.
        let public = ParsedPublicKey::new(verify, point)
            .map_err(|_| key_err("invalid EC public key (not on the curve)"))?;
        Ok(Material::Ec {
            public,
            point: point.to_vec(),
            pair,
        })
    }

    fn rsa_material(alg: Alg, n: &[u8], e: &[u8], pair: Option<RsaKeyPair>) -> Result<Material> {
        let (params, _) = alg.rsa().ok_or_else(|| key_err("not an RSA algorithm"))?;
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        // After strip_zeros the first byte is non-zero; an empty n is a zero modulus.
        let bits = n
            .first()
            .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
        if bits < 2048 {
            return Err(key_err("RSA keys must be at least 2048 bits"));
        }
        if bits > 8192 {
            return Err(key_err("RSA keys over 8192 bits are not supported"));
        }
        // e odd, at least 3, at most 2^32+1-ish (the sane range every library uses).
        if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 || (e.len() == 1 && e[0] < 3) {
            return Err(key_err("RSA public exponent out of range"));
        }
        if roca::is_vulnerable(n) {
            return Err(key_err(
                "RSA modulus has the ROCA fingerprint (CVE-2017-15361)",
            ));
        }
        let public = sig::RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .map_err(|_| key_err("invalid RSA public key"))?;
        Ok(Material::Rsa {
            public,
            n: n.to_vec(),
            e: e.to_vec(),
            pair,
        })
    }

    fn rsa_material_from_pair(alg: Alg, pair: RsaKeyPair) -> Result<Material> {
        let (n, e) = {
            let pk = pair.public_key();
            (
                pk.modulus().big_endian_without_leading_zero().to_vec(),
                pk.exponent().big_endian_without_leading_zero().to_vec(),
            )
        };
        Key::rsa_material(alg, &n, &e, Some(pair))
    }

    /// Completes a key with its kid: the given one, else 128 random bits for HMAC keys (a
    /// thumbprint of a secret is an offline oracle for guessing it) and the RFC 7638 thumbprint
    /// for public-key algorithms.
    fn finish(alg: Alg, kid: Option<String>, material: Material) -> Result<Key> {
        let mut key = Key {
            kid: String::new(),
            alg,
            material,
        };
        key.kid = match kid {
            Some(k) => {
                if k.is_empty() || k.len() > 256 {
                    return Err(key_err("kid must be 1 to 256 characters"));
                }
                k
            }
            None if matches!(key.material, Material::Hmac { .. }) => random_kid()?,
            None => jwk::thumbprint(&key),
        };
        Ok(key)
    }

    /// PKCS#8 DER of the private key (not for HMAC keys).
    fn private_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>> {
        let none = || key_err("key has no private part");
        let failed = || Error::Internal("key serialisation failed".into());
        Ok(Zeroizing::new(match &self.material {
            Material::Hmac { .. } => return Err(key_err("HMAC keys have no PEM form")),
            Material::Ed25519 { pair, .. } => pair
                .as_ref()
                .ok_or_else(none)?
                .to_pkcs8v1()
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            Material::Ec { pair, .. } => pair
                .as_ref()
                .ok_or_else(none)?
                .to_pkcs8v1()
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            Material::Rsa { pair, .. } => {
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = pair
                    .as_ref()
                    .ok_or_else(none)?
                    .as_der()
                    .map_err(|_| failed())?;
                der.as_ref().to_vec()
            }
        }))
    }
}

/// 128 random bits, base64url: the default kid of an HMAC key.
fn random_kid() -> Result<String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("random generator failed".into()))?;
    Ok(crate::b64::encode(bytes))
}

/// True when an HMAC secret is text that holds a public (or any) key: a PEM block of any kind,
/// an OpenSSH public key line, or JSON that is a JWK or a JWKS. PyJWT's `HMACAlgorithm.prepare_key`
/// refuses the same inputs.
fn looks_like_public_key(secret: &[u8]) -> bool {
    const SSH_PREFIXES: [&[u8]; 7] = [
        b"ssh-rsa",
        b"ssh-dss",
        b"ssh-ed25519",
        b"ssh-ed448",
        b"ecdsa-sha2-",
        b"sk-ssh-ed25519",
        b"sk-ecdsa-sha2-",
    ];
    if secret.windows(11).any(|w| w == b"-----BEGIN ") {
        return true;
    }
    let start = secret
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(secret.len());
    let text = &secret[start..];
    if SSH_PREFIXES.iter().any(|p| text.starts_with(p)) {
        return true;
    }
    if text.first() == Some(&b'{') {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(text) {
            return m.contains_key("kty") || m.contains_key("keys");
        }
    }
    false
}

/// The y-coordinates (little-endian, sign bit cleared) of the eight small-order points of
/// Ed25519 and their non-canonical encodings: libsodium's `has_small_order` blocklist
/// (ed25519_ref10.c). 0 (order 4), 1 (order 1, the identity), the two order-8 y values,
/// p-1 (order 2), p (= 0) and p+1 (= 1).
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = {
    let zero = [0u8; 32];
    let mut one = [0u8; 32];
    one[0] = 1;
    let order8a = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ];
    let order8b = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    let mut p = p_minus_1;
    p[0] = 0xed;
    let mut p_plus_1 = p_minus_1;
    p_plus_1[0] = 0xee;
    [zero, one, order8a, order8b, p_minus_1, p, p_plus_1]
};

/// True when the 32-byte Ed25519 public key `x` is a point of small order (either sign of x).
fn ed25519_small_order(x: &[u8]) -> bool {
    ED25519_SMALL_ORDER
        .iter()
        .any(|bad| bad[..31] == x[..31] && bad[31] == x[31] & 0x7f)
}

/// True when the y-coordinate of `x` is not reduced modulo p = 2^255 - 19 (RFC 8032 §5.1.3
/// decoding refuses it).
fn ed25519_non_canonical(x: &[u8]) -> bool {
    x[31] & 0x7f == 0x7f && x[1..31].iter().all(|&b| b == 0xff) && x[0] >= 0xed
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// Where a key set came from matters for one rule: a set either holds private keys (and HMAC
/// secrets) only, or public keys only. Mixed sets are refused (Wycheproof `MixedKeySet`).
struct Inner {
    keys: Vec<Arc<Key>>,
    signing_kid: Option<String>,
    /// Changes whenever the keys do (see [`KeySet::version`]).
    version: u64,
}

/// Source of [`KeySet::version`]: one counter for the whole process, so that no two key sets, nor
/// two states of one set, ever share a version (a set dropped and another allocated at the same
/// address still gets a new one).
static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);

fn next_version() -> u64 {
    NEXT_VERSION.fetch_add(1, Ordering::Relaxed)
}

/// A shared, thread-safe set of keys. Clones share state, so `rotate` on one handle is seen by
/// every `Tokens` built from it.
#[derive(Clone)]
pub struct KeySet {
    inner: Arc<RwLock<Inner>>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.read();
        f.debug_struct("KeySet")
            .field("keys", &inner.keys)
            .field("signing_kid", &inner.signing_kid)
            .finish()
    }
}

impl KeySet {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update of a Vec push; the data
        // is still a valid key list.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds a set from keys; the first private key signs.
    pub fn from_keys(keys: Vec<Key>) -> Result<KeySet> {
        if keys.is_empty() {
            return Err(key_err("a key set needs at least one key"));
        }
        let private = keys[0].has_private();
        if keys.iter().any(|k| k.has_private() != private) {
            return Err(key_err(
                "a key set must not mix private (or secret) keys with public-only keys",
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(key_err("duplicate kid in key set"));
            }
        }
        let signing_kid = keys.iter().find(|k| k.has_private()).map(|k| k.kid.clone());
        Ok(KeySet {
            inner: Arc::new(RwLock::new(Inner {
                keys: keys.into_iter().map(Arc::new).collect(),
                signing_kid,
                version: next_version(),
            })),
        })
    }

    /// A set with one freshly generated key.
    pub fn generate(alg: Alg, kid: Option<String>) -> Result<KeySet> {
        KeySet::from_keys(vec![Key::generate(alg, kid)?])
    }

    /// A set with one HMAC key.
    pub fn from_secret(secret: &[u8], alg: Alg, kid: Option<String>) -> Result<KeySet> {
        KeySet::from_keys(vec![Key::from_secret(secret, alg, kid)?])
    }

    /// Parses a JWKS (`{"keys": [...]}`) or a single JWK. `alg` fills in keys without an `alg`
    /// member (RSA and `oct` keys need one of the two).
    pub fn from_jwks(json: &str, alg: Option<Alg>) -> Result<KeySet> {
        let value: Value =
            serde_json::from_str(json).map_err(|_| key_err("JWKS is not valid JSON"))?;
        KeySet::from_jwks_value(&value, alg)
    }

    pub fn from_jwks_value(value: &Value, alg: Option<Alg>) -> Result<KeySet> {
        let list = match value.get("keys") {
            Some(Value::Array(keys)) => keys.iter().collect::<Vec<_>>(),
            Some(_) => return Err(key_err("JWKS \"keys\" must be an array")),
            None if value.get("kty").is_some() => vec![value],
            None => return Err(key_err("expected a JWKS or a JWK")),
        };
        if list.len() > 100 {
            return Err(key_err("too many keys in JWKS (at most 100)"));
        }
        let keys = list
            .into_iter()
            .map(|j| jwk::import(j, alg))
            .collect::<Result<Vec<_>>>()?;
        KeySet::from_keys(keys)
    }

    /// Reads PEM: a PKCS#8 private key or an SPKI public key. `alg` is needed for RSA keys and
    /// checked against EC and Ed25519 keys.
    pub fn from_pem(pem_text: &str, alg: Option<Alg>, kid: Option<String>) -> Result<KeySet> {
        KeySet::from_keys(vec![pem::import(pem_text, alg, kid)?])
    }

    /// Reads key material given as text: a JWKS/JWK (JSON) or PEM.
    pub fn from_text(text: &str, alg: Option<Alg>) -> Result<KeySet> {
        let t = text.trim_start();
        if t.starts_with('{') {
            KeySet::from_jwks(t, alg)
        } else if t.starts_with("-----BEGIN") {
            KeySet::from_pem(t, alg, None)
        } else {
            Err(key_err("key material is neither JSON (JWK/JWKS) nor PEM"))
        }
    }

    /// Loads key material (JWKS/JWK JSON or PEM) from a file, or from the environment variable
    /// `env`, or, when that is unset, from the file named by `{env}_FILE` (the Docker/Kubernetes
    /// secrets convention).
    pub fn load(path: Option<&str>, env: Option<&str>, alg: Option<Alg>) -> Result<KeySet> {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .map(Zeroizing::new)
                .map_err(|e| Error::InvalidConfig(format!("cannot read key file: {}", e.kind())))
        };
        let text = match (path, env) {
            (Some(p), None) => read(p)?,
            (None, Some(name)) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Zeroizing::new(v),
                _ => match std::env::var(format!("{name}_FILE")) {
                    Ok(file) if !file.is_empty() => read(&file)?,
                    _ => {
                        return Err(Error::InvalidConfig(format!(
                            "neither {name} nor {name}_FILE is set"
                        )))
                    }
                },
            },
            _ => {
                return Err(Error::InvalidConfig(
                    "give exactly one of path or env".into(),
                ))
            }
        };
        KeySet::from_text(&text, alg)
    }

    /// The JWKS: public keys only (HMAC secrets never appear) unless `private`.
    pub fn to_jwks(&self, private: bool) -> Value {
        let inner = self.read();
        let keys: Vec<Value> = inner
            .keys
            .iter()
            .filter(|k| private || !k.alg.is_hmac())
            .map(|k| jwk::export(k, private))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// PEM of one key (the signing key by default): PKCS#8 when `private`, else SPKI.
    pub fn to_pem(&self, kid: Option<&str>, private: bool) -> Result<Zeroizing<String>> {
        let key = match kid {
            Some(k) => self.get(k).ok_or(Error::UnknownKey)?,
            None => self.signing_key()?,
        };
        pem::export(&key, private)
    }

    /// Adds a freshly generated signing key (same algorithm as the current one unless `alg`);
    /// previous keys stay for verification until retired. Returns the new kid.
    pub fn rotate(&self, alg: Option<Alg>) -> Result<String> {
        let current = self.signing_key()?;
        let key = Key::generate(alg.unwrap_or(current.alg), None)?;
        let kid = key.kid.clone();
        let mut inner = self.write();
        if inner.keys.iter().any(|k| k.kid == kid) {
            return Err(Error::Internal(
                "generated key collides with an existing kid".into(),
            ));
        }
        // The signing key comes first, so a JWKS written out and read back keeps it signing.
        inner.keys.insert(0, Arc::new(key));
        inner.signing_kid = Some(kid.clone());
        inner.version = next_version();
        Ok(kid)
    }

    /// Removes a key. The signing key cannot be retired while other keys remain to verify with:
    /// rotate first.
    pub fn retire(&self, kid: &str) -> Result<()> {
        let mut inner = self.write();
        if inner.signing_kid.as_deref() == Some(kid) {
            return Err(Error::InvalidConfig(
                "cannot retire the signing key; rotate first".into(),
            ));
        }
        let before = inner.keys.len();
        inner.keys.retain(|k| k.kid != kid);
        if inner.keys.len() == before {
            return Err(Error::UnknownKey);
        }
        inner.version = next_version();
        Ok(())
    }

    /// Identifies this set's current keys: unique in the process, and changed by every
    /// [`Self::rotate`] and [`Self::retire`]. What was verified under one version may be cached
    /// until the version changes (see `token::Tokens::verify_shared`).
    pub fn version(&self) -> u64 {
        self.read().version
    }

    pub fn signing_kid(&self) -> Option<String> {
        self.read().signing_kid.clone()
    }

    pub fn kids(&self) -> Vec<String> {
        self.read().keys.iter().map(|k| k.kid.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.read().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, kid: &str) -> Option<Arc<Key>> {
        self.read().keys.iter().find(|k| k.kid == kid).cloned()
    }

    pub fn signing_key(&self) -> Result<Arc<Key>> {
        let inner = self.read();
        let kid = inner.signing_kid.as_deref().ok_or_else(|| {
            Error::InvalidConfig("key set has no private key to sign with".into())
        })?;
        inner
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
            .ok_or_else(|| Error::Internal("signing key missing".into()))
    }

    /// The key a token names: by `kid` only among configured keys (JWT-4); without a `kid`, only
    /// when the set holds exactly one key.
    pub fn select(&self, kid: Option<&str>) -> Result<Arc<Key>> {
        let inner = self.read();
        match kid {
            Some(kid) => inner
                .keys
                .iter()
                .find(|k| k.kid == kid)
                .cloned()
                .ok_or(Error::UnknownKey),
            None if inner.keys.len() == 1 => Ok(inner.keys[0].clone()),
            None => Err(Error::UnknownKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_every_generated_alg() {
        for alg in [
            Alg::EdDSA,
            Alg::ES256,
            Alg::ES384,
            Alg::ES512,
            Alg::PS256,
            Alg::HS256,
            Alg::HS384,
            Alg::HS512,
        ] {
            let key = Key::generate(alg, None).unwrap();
            let s = key.sign(b"message").unwrap();
            assert!(key.verify(b"message", &s), "{alg:?}");
            assert!(!key.verify(b"messagf", &s), "{alg:?}");
            assert!(!key.verify(b"message", &s[..s.len() - 1]), "{alg:?}");
            // Thumbprints for public-key algorithms, 128 random bits for HMAC secrets.
            let kid_len = if alg.is_hmac() { 22 } else { 43 };
            assert_eq!(key.kid().len(), kid_len, "{alg:?} kid");
        }
        assert_eq!(
            Key::generate(Alg::RS256, None).unwrap_err().code(),
            "unsupported_algorithm"
        );
    }

    #[test]
    fn hmac_key_length_floor() {
        assert_eq!(
            Key::from_secret(&[1u8; 31], Alg::HS256, None)
                .unwrap_err()
                .code(),
            "invalid_key"
        );
        assert!(Key::from_secret(&[1u8; 32], Alg::HS256, None).is_ok());
        assert_eq!(
            Key::from_secret(&[1u8; 63], Alg::HS512, None)
                .unwrap_err()
                .code(),
            "invalid_key"
        );
        assert_eq!(
            Key::from_secret(&[1u8; 64], Alg::ES256, None)
                .unwrap_err()
                .code(),
            "invalid_key"
        );
    }

    #[test]
    fn rotation_and_retire() {
        let set = KeySet::generate(Alg::EdDSA, Some("one".into())).unwrap();
        assert_eq!(set.signing_kid().as_deref(), Some("one"));
        let first = set.version();
        let two = set.rotate(Some(Alg::ES256)).unwrap();
        assert!(set.version() > first, "rotate changes the version");
        assert_ne!(
            set.version(),
            KeySet::generate(Alg::EdDSA, None).unwrap().version()
        );
        assert_eq!(set.signing_kid(), Some(two.clone()));
        assert_eq!(set.kids(), vec![two.clone(), "one".to_string()]);
        assert_eq!(set.retire(&two).unwrap_err().code(), "invalid_config");
        let before = set.version();
        set.retire("one").unwrap();
        assert!(set.version() > before, "retire changes the version");
        let after = set.version();
        assert_eq!(set.retire("one").unwrap_err().code(), "unknown_key");
        assert_eq!(set.version(), after, "a failed retire changes nothing");
        assert_eq!(set.kids(), vec![two]);
    }

    #[test]
    fn mixed_and_duplicate_sets_refused() {
        let a = Key::generate(Alg::EdDSA, Some("a".into())).unwrap();
        let b = Key::generate(Alg::EdDSA, Some("a".into())).unwrap();
        assert_eq!(
            KeySet::from_keys(vec![a, b]).unwrap_err().code(),
            "invalid_key"
        );
        let private = KeySet::generate(Alg::ES256, None).unwrap();
        let public = KeySet::from_jwks_value(&private.to_jwks(false), None).unwrap();
        let mixed = serde_json::json!({"keys": [private.to_jwks(true)["keys"][0], {
            "kty": "oct", "alg": "HS256", "k": crate::b64::encode([7u8; 32]), "kid": "h"}]});
        assert!(
            KeySet::from_jwks_value(&mixed, None).is_ok(),
            "secret + private is fine"
        );
        let mixed = serde_json::json!({"keys": [public.to_jwks(false)["keys"][0], {
            "kty": "oct", "alg": "HS256", "k": crate::b64::encode([7u8; 32]), "kid": "h"}]});
        assert_eq!(
            KeySet::from_jwks_value(&mixed, None).unwrap_err().code(),
            "invalid_key"
        );
    }

    #[test]
    fn debug_never_shows_material() {
        let set = KeySet::from_secret(
            b"0123456789abcdef0123456789abcdef",
            Alg::HS256,
            Some("k".into()),
        )
        .unwrap();
        let text = format!("{set:?}");
        assert!(!text.contains("0123456789"));
        assert!(text.contains("HS256"));
    }
}
