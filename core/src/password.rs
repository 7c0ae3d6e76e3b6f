//! Argon2id password hashing (PW-1..PW-5, PW-9, PW-11).
//!
//! Tags are computed by `argon2-rust` (see `password/engine.rs`: why, and how it is held to
//! RustCrypto `argon2`, whose types still describe parameters and PHC strings here).
//!
//! Hashes are PHC strings that argon2-cffi and @node-rs/argon2 read. Passwords are NFKC-normalised
//! before hashing so that Python and Node produce the same bytes for the same text. Stored hashes are
//! untrusted input: their cost parameters are bounded before any memory is allocated.

mod engine;
mod legacy;
mod phc;
mod policy;

use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Params, Version};
use rand::RngCore;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
pub use engine::{engine_info, EngineInfo};
pub use legacy::Format;
pub use phc::{encode as encode_phc, Argon2Hash};
pub use policy::{builtin_blocklist_len, PasswordPolicy, PolicyConfig, Violation};

/// The OWASP Password Storage Cheat Sheet argon2id table (PW-1), as `(time_cost, memory_kib)`:
/// a configuration is accepted when its memory is at least the row of its time cost; above t=5 the
/// t=5 row applies. (A product floor m*t >= 35,840 is not enough: it let m=35840/t=1, m=12000/t=3
/// and m=9000/t=4 through, all below their row.)
pub const OWASP_ARGON2ID_TABLE: [(u32, u32); 5] =
    [(1, 47104), (2, 19456), (3, 12288), (4, 9216), (5, 7168)];
/// The smallest memory of the table (its t=5 row), the floor for every t >= 5.
pub const OWASP_MIN_MEMORY_KIB: u32 = 7168;

/// The least argon2id memory (KiB) the OWASP table allows at `time_cost` passes: the row of
/// `time_cost`, the t=5 row above 5 passes. `None` for `time_cost == 0`.
pub fn owasp_min_memory_kib(time_cost: u32) -> Option<u32> {
    if time_cost == 0 {
        return None;
    }
    OWASP_ARGON2ID_TABLE
        .iter()
        .find(|(t, _)| *t == time_cost)
        .map_or(Some(OWASP_MIN_MEMORY_KIB), |(_, m)| Some(*m))
}
/// Salt and tag sizes of every hash we produce (PW-3).
pub const SALT_LEN: usize = 16;
pub const TAG_LEN: usize = 32;
/// The longest password (in UTF-8 bytes, after NFKC) the hasher accepts: far above any policy
/// maximum, low enough that hashing cannot be abused to burn CPU on megabyte inputs.
pub const MAX_PASSWORD_BYTES: usize = 4096;
/// Upper bounds applied to stored hashes besides `max_memory_kib`.
pub const MAX_PARALLELISM: u32 = 16;
/// A stored hash may ask for at most this many times the memory bound in KiB-passes.
pub const MAX_WORK_FACTOR: u64 = 4;

/// Construction parameters of a [`PasswordHasher`].
#[derive(Clone)]
pub struct HasherConfig {
    pub time_cost: u32,
    pub memory_kib: u32,
    pub parallelism: u32,
    /// Optional server-side secret, fed to argon2 as its secret input K (PW-4).
    pub pepper: Option<Zeroizing<Vec<u8>>>,
    /// Largest memory cost accepted from a stored hash (KiB). Default 256 MiB. It also caps a
    /// stored scrypt hash's memory; the legacy work bounds (bcrypt cost, scrypt N*r*p, PBKDF2
    /// work) are fixed at the cost of the default ceiling and do not follow it.
    pub max_memory_kib: u32,
}

impl Default for HasherConfig {
    fn default() -> Self {
        HasherConfig {
            time_cost: 2,
            memory_kib: 19456,
            parallelism: 1,
            pepper: None,
            max_memory_kib: 262_144,
        }
    }
}

crate::options::deserialize_with_options!(HasherConfig, "PasswordHasher");

impl HasherConfig {
    /// Reads `time_cost`, `memory_kib`, `parallelism`, `max_memory_kib` (whole numbers up to
    /// `u32::MAX`; [`PasswordHasher::new`] narrows them) and `pepper` (bytes, or a string as its
    /// UTF-8 bytes).
    pub fn from_options(mut o: crate::options::Options) -> Result<Self> {
        let d = Self::default();
        let range = 0..=crate::options::MAX_U32 as i128;
        let c = HasherConfig {
            time_cost: o.whole("time_cost", d.time_cost, range.clone())?,
            memory_kib: o.whole("memory_kib", d.memory_kib, range.clone())?,
            parallelism: o.whole("parallelism", d.parallelism, range.clone())?,
            max_memory_kib: o.whole("max_memory_kib", d.max_memory_kib, range)?,
            pepper: o.bytes_or_text("pepper")?,
        };
        o.finish()?;
        Ok(c)
    }
}

impl std::fmt::Debug for HasherConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasherConfig")
            .field("time_cost", &self.time_cost)
            .field("memory_kib", &self.memory_kib)
            .field("parallelism", &self.parallelism)
            .field("pepper", &self.pepper.as_ref().map(|_| "<redacted>"))
            .field("max_memory_kib", &self.max_memory_kib)
            .finish()
    }
}

struct Inner {
    config: HasherConfig,
    params: Params,
    policy: PasswordPolicy,
}

/// Argon2id hasher. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.inner.config)
            .finish()
    }
}

/// Result of [`PasswordHasher::verify_and_update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub valid: bool,
    /// A fresh argon2id hash at the current parameters when the stored one is weaker or legacy.
    pub new_hash: Option<String>,
}

impl PasswordHasher {
    /// Builds a hasher; refuses (`invalid_config`) argon2id parameters below the OWASP table
    /// (PW-1, [`OWASP_ARGON2ID_TABLE`]): memory_kib must reach the row of time_cost (the t=5
    /// row, 7168 KiB, for any t >= 5).
    pub fn new(config: HasherConfig, policy: PasswordPolicy) -> Result<Self> {
        let c = &config;
        if c.parallelism == 0 || c.parallelism > MAX_PARALLELISM {
            return Err(Error::InvalidConfig(format!(
                "parallelism must be between 1 and {MAX_PARALLELISM}"
            )));
        }
        if c.time_cost == 0 {
            return Err(Error::InvalidConfig("time_cost must be at least 1".into()));
        }
        let min_memory = owasp_min_memory_kib(c.time_cost).unwrap_or(u32::MAX);
        if c.memory_kib < min_memory {
            return Err(Error::InvalidConfig(format!(
                "argon2id parameters below the OWASP table: time_cost {} needs memory_kib >= \
                 {min_memory} (m=47104/t=1, m=19456/t=2, m=12288/t=3, m=9216/t=4, m=7168/t>=5)",
                c.time_cost
            )));
        }
        if c.memory_kib > c.max_memory_kib {
            return Err(Error::InvalidConfig(
                "memory_kib exceeds max_memory_kib".into(),
            ));
        }
        if let Some(p) = &c.pepper {
            // A pepper only helps if it cannot be guessed: at least 128 bits.
            if p.len() < 16 || p.len() > 64 {
                return Err(Error::InvalidConfig("pepper must be 16 to 64 bytes".into()));
            }
        }
        let params = Params::new(c.memory_kib, c.time_cost, c.parallelism, Some(TAG_LEN))
            .map_err(|e| Error::InvalidConfig(format!("argon2 parameters: {e}")))?;
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                config,
                params,
                policy,
            }),
        })
    }

    pub fn config(&self) -> &HasherConfig {
        &self.inner.config
    }

    pub fn policy(&self) -> &PasswordPolicy {
        &self.inner.policy
    }

    /// Hashes `password` (NFKC-normalised) with a fresh 16-byte salt. Does not enforce the policy.
    pub fn hash(&self, password: &str) -> Result<String> {
        let pw = normalize(password)?;
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let tag = self.compute(
            &self.inner.params,
            Algorithm::Argon2id,
            Version::V0x13,
            pw.as_bytes(),
            &salt,
            TAG_LEN,
        )?;
        Ok(phc::encode(
            Algorithm::Argon2id,
            Version::V0x13,
            &self.inner.params,
            &salt,
            &tag,
        ))
    }

    /// Verifies `password` against a stored hash: argon2id/i/d PHC, or a legacy format
    /// (bcrypt, Django and Werkzeug PBKDF2, Werkzeug scrypt, Better Auth scrypt). Returns false on
    /// a wrong password; `invalid_hash` when the stored string is malformed or over the bounds,
    /// checked before any work: argon2 memory, work and lanes, and for legacy formats the same work
    /// budget (bcrypt cost <= 14, scrypt N*r*p <= 2^21, PBKDF2 iterations x output blocks <=
    /// 5,000,000 SHA-256 equivalents).
    pub fn verify(&self, stored: &str, password: &str) -> Result<bool> {
        check_password_len(password)?;
        match legacy::parse(stored, self.bounds())? {
            Format::Argon2(h) => {
                let pw = normalize(password)?;
                let tag = self.compute(
                    &h.params,
                    h.algorithm,
                    h.version,
                    pw.as_bytes(),
                    &h.salt,
                    h.tag.len(),
                )?;
                Ok(bool::from(tag.as_slice().ct_eq(h.tag.as_slice())))
            }
            other => legacy::verify(&other, password),
        }
    }

    /// True when `stored` should be replaced by a fresh hash: another algorithm or format, or
    /// argon2id with other parameters than this hasher's (PW-5). A stored argon2 hash below the
    /// OWASP table (which the constructor refuses for new hashes) therefore always needs a
    /// rehash, since this hasher's own parameters are at or above the table; it still verifies,
    /// so the login can upgrade it.
    pub fn needs_rehash(&self, stored: &str) -> Result<bool> {
        Ok(match legacy::parse(stored, self.bounds())? {
            Format::Argon2(h) => {
                h.algorithm != Algorithm::Argon2id
                    || h.version != Version::V0x13
                    || h.params.m_cost() != self.inner.params.m_cost()
                    || h.params.t_cost() != self.inner.params.t_cost()
                    || h.params.p_cost() != self.inner.params.p_cost()
                    || h.salt.len() < SALT_LEN
                    || h.tag.len() != TAG_LEN
            }
            _ => true,
        })
    }

    /// Verifies and, when the password is right and the stored hash is weak or legacy, returns a
    /// replacement hash to store (PW-5).
    pub fn verify_and_update(&self, stored: &str, password: &str) -> Result<VerifyOutcome> {
        let valid = self.verify(stored, password)?;
        let new_hash = if valid && self.needs_rehash(stored)? {
            Some(self.hash(password)?)
        } else {
            None
        };
        Ok(VerifyOutcome { valid, new_hash })
    }

    /// Does the work of one verification against nothing, so that a login for an unknown user
    /// takes as long as one for a known user with a wrong password (PW-11).
    pub fn dummy_verify(&self) -> Result<()> {
        let mut input = Zeroizing::new([0u8; 32]);
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(input.as_mut());
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let tag = self.compute(
            &self.inner.params,
            Algorithm::Argon2id,
            Version::V0x13,
            input.as_ref(),
            &salt,
            TAG_LEN,
        )?;
        // Compare like a real verify does, so the two paths stay the same shape.
        let _ = bool::from(tag.as_slice().ct_eq(&[0u8; TAG_LEN][..]));
        Ok(())
    }

    /// [`hash`](Self::hash) on the bounded blocking pool, for async callers.
    pub async fn hash_async(&self, password: Zeroizing<String>) -> Result<String> {
        let this = self.clone();
        run_bounded(move || this.hash(&password)).await
    }

    /// [`verify`](Self::verify) on the bounded blocking pool, for async callers.
    pub async fn verify_async(&self, stored: String, password: Zeroizing<String>) -> Result<bool> {
        let this = self.clone();
        run_bounded(move || this.verify(&stored, &password)).await
    }

    /// [`verify_and_update`](Self::verify_and_update) on the bounded blocking pool.
    pub async fn verify_and_update_async(
        &self,
        stored: String,
        password: Zeroizing<String>,
    ) -> Result<VerifyOutcome> {
        let this = self.clone();
        run_bounded(move || this.verify_and_update(&stored, &password)).await
    }

    /// [`dummy_verify`](Self::dummy_verify) on the bounded blocking pool.
    pub async fn dummy_verify_async(&self) -> Result<()> {
        let this = self.clone();
        run_bounded(move || this.dummy_verify()).await
    }

    fn bounds(&self) -> legacy::Bounds {
        legacy::Bounds {
            max_memory_kib: self.inner.config.max_memory_kib,
        }
    }

    fn compute(
        &self,
        params: &Params,
        algorithm: Algorithm,
        version: Version,
        password: &[u8],
        salt: &[u8],
        tag_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let secret = self
            .inner
            .config
            .pepper
            .as_ref()
            .map_or(&[][..], |p| p.as_slice());
        engine::compute(
            &engine::Job {
                algorithm,
                version,
                m_cost: params.m_cost(),
                t_cost: params.t_cost(),
                p_cost: params.p_cost(),
                secret,
                ad: &[],
                password,
                salt,
            },
            tag_len,
        )
    }
}

/// NFKC-normalises a password (PW-9): the same text typed on any platform hashes identically in
/// Python and Node. Nothing is truncated.
pub fn normalize(password: &str) -> Result<Zeroizing<String>> {
    check_password_len(password)?;
    let s: String = password.nfkc().collect();
    let s = Zeroizing::new(s);
    if s.len() > MAX_PASSWORD_BYTES {
        return Err(too_long());
    }
    Ok(s)
}

fn check_password_len(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(too_long());
    }
    Ok(())
}

fn too_long() -> Error {
    Error::InvalidInput(format!("password longer than {MAX_PASSWORD_BYTES} bytes"))
}

/// Decodes a UTF-16 password (JavaScript strings), refusing lone surrogates instead of silently
/// replacing them, which would make distinct inputs hash alike.
pub fn password_from_utf16(units: &[u16]) -> Result<Zeroizing<String>> {
    if units.len() > MAX_PASSWORD_BYTES {
        return Err(too_long());
    }
    String::from_utf16(units).map(Zeroizing::new).map_err(|_| {
        Error::InvalidInput("password is not well-formed Unicode (lone surrogate)".into())
    })
}

/// Copies a password argument into wiped-on-drop memory, refusing oversize input early.
pub fn password_from_str(s: &str) -> Result<Zeroizing<String>> {
    check_password_len(s)?;
    Ok(Zeroizing::new(s.to_owned()))
}

/// Decodes a byte-string password, which must be UTF-8 so that it can be normalised.
pub fn password_from_utf8(bytes: &[u8]) -> Result<Zeroizing<String>> {
    if bytes.len() > MAX_PASSWORD_BYTES {
        return Err(too_long());
    }
    std::str::from_utf8(bytes)
        .map(|s| Zeroizing::new(s.to_owned()))
        .map_err(|_| Error::InvalidInput("password bytes are not valid UTF-8".into()))
}

/// How many argon2 computations the async variants run at once: one core is left free so the
/// caller's event loop keeps running while hashes are in flight (with every core hashing, the
/// scheduler lets the loop thread wait for a time slice). At least one.
pub fn async_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

fn hashing_pool() -> &'static tokio::sync::Semaphore {
    static POOL: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    POOL.get_or_init(|| tokio::sync::Semaphore::new(async_concurrency()))
}

/// Runs CPU-heavy work on tokio's blocking threads, at most `async_concurrency()` jobs at a time,
/// so a burst of logins queues instead of spawning threads that each hold an argon2 buffer.
async fn run_bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = hashing_pool()
        .acquire()
        .await
        .map_err(|_| Error::Internal("hashing pool closed".into()))?;
    match tokio::task::spawn_blocking(move || crate::error::catch_panic(f)).await {
        Ok(r) => r,
        Err(_) => Err(Error::Internal("hashing task failed".into())),
    }
}
