//! Stored-hash formats polyauth verifies (never produces) so that teams can migrate: bcrypt,
//! Django and Werkzeug PBKDF2, Werkzeug scrypt and Better Auth scrypt. Every cost parameter is
//! bounded before work starts, by the same work budget as the largest argon2 accepted (see
//! [`MAX_BCRYPT_COST`], [`MAX_SCRYPT_WORK`], [`MAX_PBKDF2_WORK`]); every comparison is
//! constant-time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::Hmac;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use super::phc::{self, Argon2Hash};
use super::{MAX_PARALLELISM, MAX_WORK_FACTOR};
use crate::error::{Error, Result};

/// Longest stored hash we look at; real ones are under 200 bytes.
pub const MAX_STORED_LEN: usize = 1024;

// Work bounds (DESIGN.md §7 PW-1): a stored legacy hash may cost no more than the largest argon2
// a default hasher accepts from a stored hash: m <= max_memory_kib = 256 MiB, m*t <= 4 * 256 MiB
// (MAX_WORK_FACTOR), any p <= 16 (lanes run one after another, so p adds no time). Measured with
// `cargo run --release -p polyauth-core --example legacy_cost` (x86-64 Xeon with SHA extensions,
// 2 cores shared with other jobs, fastest of several runs): that argon2 (m=262144, t=4) takes
// 0.99-1.09 s; bcrypt cost 10 0.074 s, doubling per cost (14: 1.18-1.23 s, 15: 2.4 s); scrypt
// 320-360 ns per unit of N*r*p (about 3M units in the argon2 time); one PBKDF2 iteration of one
// output block: HMAC-SHA-1 128 ns, HMAC-SHA-256 140 ns, HMAC-SHA-512 557 ns (about 4x SHA-256;
// SHA extensions speed up SHA-1 and SHA-256 only). Each bound is the largest round setting at or
// about that time; hashes above it are `invalid_hash`, refused before any work. The bounds are
// fixed at the default ceiling: `max_memory_kib` still caps scrypt's memory (128*N*r bytes) but
// does not move these.

/// Largest bcrypt cost: 2^14 rounds take about the argon2 ceiling (1.2 s vs 1.0-1.1 s here, within
/// the run-to-run spread), cost 15 twice that. Cost 12-14 hashes (today's defaults) verify.
pub const MAX_BCRYPT_COST: u32 = 14;
/// Largest scrypt N*r*p (its work: p runs of ROMix, each 2*N BlockMix calls over 128*r bytes):
/// 2^21 = 2,097,152 units take 0.7-0.75 s here; 2^22 would take 1.4 s. Werkzeug's default
/// 32768:8:1 and Better Auth's 16384:16:1 are 2^18 units, N=2^17 r=8 p=1 is 2^20.
pub const MAX_SCRYPT_WORK: u64 = 1 << 21;
/// Largest PBKDF2 work, counted in HMAC-SHA-256 iterations of one output block: iterations times
/// the number of digest-sized blocks in the derived key (PBKDF2 runs all iterations once per
/// block) times [`Digest::work_weight`] (SHA-1 1, SHA-256 1, SHA-512 4). 5,000,000 take 0.7 s here
/// (0.64 s for SHA-1, 1,250,000 SHA-512 iterations 0.7 s); Django's 1,200,000 and Werkzeug's
/// 1,000,000 (pbkdf2:sha256 or pbkdf2:sha512) verify. On a CPU without SHA extensions SHA-1 and
/// SHA-256 are several times slower, and so is this bound relative to argon2; a tighter one would
/// refuse Django's default within a few releases (it grows about 20% a year).
pub const MAX_PBKDF2_WORK: u64 = 5_000_000;

pub(crate) struct Bounds {
    pub max_memory_kib: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

/// A recognised stored hash.
#[derive(Debug, Clone)]
pub enum Format {
    Argon2(Argon2Hash),
    /// `$2a$`, `$2b$`, `$2y$` (the same algorithm for UTF-8 input).
    Bcrypt(String),
    /// Django `pbkdf2_sha256$iterations$salt$base64(dk)` (and `pbkdf2_sha1`).
    DjangoPbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: String,
        dk: Vec<u8>,
    },
    /// Werkzeug `pbkdf2:sha256:iterations$salt$hex(dk)`.
    WerkzeugPbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: String,
        dk: Vec<u8>,
    },
    /// Werkzeug `scrypt:n:r:p$salt$hex(dk)`.
    WerkzeugScrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: String,
        dk: Vec<u8>,
    },
    /// Better Auth `saltHex:keyHex`: scrypt N=16384, r=16, p=1, dkLen=64 over NFKC(password),
    /// with the hex salt string itself as the salt bytes.
    BetterAuthScrypt {
        salt: String,
        dk: Vec<u8>,
    },
}

fn bad(msg: &str) -> Error {
    Error::InvalidHash(msg.into())
}

fn decimal(s: &str) -> Result<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("malformed number"));
    }
    s.parse().map_err(|_| bad("number out of range"))
}

/// The iteration count, refused when zero or when iterations x output blocks x digest weight
/// exceeds [`MAX_PBKDF2_WORK`].
fn pbkdf2_iterations(s: &str, digest: Digest, dk_len: usize) -> Result<u32> {
    let n = decimal(s)?;
    if n == 0 {
        return Err(bad("pbkdf2 iteration count out of bounds"));
    }
    let blocks = dk_len.div_ceil(digest.len()) as u64;
    if u64::from(n) * blocks * digest.work_weight() > MAX_PBKDF2_WORK {
        return Err(bad(
            "pbkdf2 work (iterations x output length) above the bound",
        ));
    }
    Ok(n)
}

fn salt_text(s: &str) -> Result<String> {
    if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("malformed salt"));
    }
    Ok(s.to_owned())
}

fn hex_dk(s: &str, expected: Option<usize>) -> Result<Vec<u8>> {
    let dk = hex::decode(s).map_err(|_| bad("derived key is not hex"))?;
    if dk.len() < 16 || dk.len() > 128 || expected.is_some_and(|n| n != dk.len()) {
        return Err(bad("derived key length out of bounds"));
    }
    Ok(dk)
}

fn scrypt_bounds(n: u64, r: u32, p: u32, bounds: &Bounds) -> Result<u8> {
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 || p > MAX_PARALLELISM {
        return Err(bad("scrypt parameters out of bounds"));
    }
    // scrypt needs 128 * N * r bytes.
    let mem_kib = 128u128 * u128::from(n) * u128::from(r) / 1024;
    if mem_kib > u128::from(bounds.max_memory_kib) {
        return Err(bad("scrypt memory cost above the configured maximum"));
    }
    if u128::from(n) * u128::from(r) * u128::from(p) > u128::from(MAX_SCRYPT_WORK) {
        return Err(bad("scrypt work (N*r*p) above the bound"));
    }
    Ok(n.trailing_zeros() as u8)
}

fn digest(name: &str) -> Result<Digest> {
    match name {
        "sha1" => Ok(Digest::Sha1),
        "sha256" => Ok(Digest::Sha256),
        "sha512" => Ok(Digest::Sha512),
        _ => Err(bad("unsupported digest")),
    }
}

impl Digest {
    fn len(self) -> usize {
        match self {
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
            Digest::Sha512 => 64,
        }
    }

    /// Cost of one PBKDF2 iteration of one block relative to HMAC-SHA-256 (see
    /// [`MAX_PBKDF2_WORK`]): SHA-512 measured about 4x slower, SHA-1 slightly faster (counted 1).
    fn work_weight(self) -> u64 {
        match self {
            Digest::Sha1 | Digest::Sha256 => 1,
            Digest::Sha512 => 4,
        }
    }
}

/// Recognises and bounds a stored hash.
pub(crate) fn parse(stored: &str, bounds: Bounds) -> Result<Format> {
    if stored.is_empty() {
        return Err(bad("empty hash"));
    }
    if stored.len() > MAX_STORED_LEN {
        return Err(bad("hash too long"));
    }
    if !stored.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("hash contains non-printable or non-ASCII characters"));
    }
    if stored.starts_with("$argon2") {
        let max_work = u64::from(bounds.max_memory_kib) * MAX_WORK_FACTOR;
        return phc::parse(stored, bounds.max_memory_kib, max_work, MAX_PARALLELISM)
            .map(Format::Argon2);
    }
    if let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|p| stored.strip_prefix(p))
    {
        // $2x$cc$ + 22 salt chars + 31 hash chars.
        let cost = rest.get(..2).ok_or_else(|| bad("truncated bcrypt hash"))?;
        let cost = decimal(cost)?;
        if !(4..=MAX_BCRYPT_COST).contains(&cost)
            || stored.len() != 60
            || rest.as_bytes().get(2) != Some(&b'$')
        {
            return Err(bad("malformed bcrypt hash or cost out of bounds"));
        }
        return Ok(Format::Bcrypt(stored.to_owned()));
    }
    if let Some((alg, rest)) = stored.split_once('$') {
        if let Some(d) = alg.strip_prefix("pbkdf2_") {
            let digest = digest(d)?;
            let mut f = rest.split('$');
            let (it, salt, dk) = match (f.next(), f.next(), f.next(), f.next()) {
                (Some(i), Some(s), Some(k), None) => (i, s, k),
                _ => return Err(bad("malformed Django pbkdf2 hash")),
            };
            let dk = STANDARD
                .decode(dk)
                .map_err(|_| bad("derived key is not base64"))?;
            if dk.len() < 16 || dk.len() > 128 {
                return Err(bad("derived key length out of bounds"));
            }
            return Ok(Format::DjangoPbkdf2 {
                digest,
                iterations: pbkdf2_iterations(it, digest, dk.len())?,
                salt: salt_text(salt)?,
                dk,
            });
        }
        let mut f = rest.split('$');
        let (salt, dk) = match (f.next(), f.next(), f.next()) {
            (Some(s), Some(k), None) => (s, k),
            _ => return Err(bad("unrecognised hash format")),
        };
        let method: Vec<&str> = alg.split(':').collect();
        match method.as_slice() {
            ["pbkdf2", d, it] => {
                let digest = digest(d)?;
                return Ok(Format::WerkzeugPbkdf2 {
                    digest,
                    iterations: pbkdf2_iterations(it, digest, digest.len())?,
                    salt: salt_text(salt)?,
                    dk: hex_dk(dk, Some(digest.len()))?,
                });
            }
            ["scrypt", n, r, p] => {
                let (n, r, p) = (decimal(n)?, decimal(r)?, decimal(p)?);
                let log_n = scrypt_bounds(u64::from(n), r, p, &bounds)?;
                return Ok(Format::WerkzeugScrypt {
                    log_n,
                    r,
                    p,
                    salt: salt_text(salt)?,
                    dk: hex_dk(dk, Some(64))?,
                });
            }
            _ => return Err(bad("unrecognised hash format")),
        }
    }
    if let Some((salt, key)) = stored.split_once(':') {
        let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
        if salt.len() == 32 && key.len() == 128 && is_hex(salt) && is_hex(key) {
            scrypt_bounds(16384, 16, 1, &bounds)?;
            return Ok(Format::BetterAuthScrypt {
                salt: salt.to_owned(),
                dk: hex_dk(key, Some(64))?,
            });
        }
    }
    Err(bad("unrecognised hash format"))
}

fn ct(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn pbkdf2(digest: Digest, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    match digest {
        // SHA-1 only checks old Django/Werkzeug hashes, which the login then upgrades.
        Digest::Sha1 => pbkdf2::pbkdf2::<Hmac<sha1::Sha1>>(password, salt, iterations, out),
        Digest::Sha256 => pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, iterations, out),
        Digest::Sha512 => pbkdf2::pbkdf2::<Hmac<Sha512>>(password, salt, iterations, out),
    }
    .unwrap_or(()); // pbkdf2 only errors on an HMAC key length it cannot take; HMAC takes any.
}

fn scrypt(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32, out: &mut [u8]) -> Result<()> {
    let params = scrypt::Params::new(log_n, r, p, out.len())
        .map_err(|_| bad("invalid scrypt parameters"))?;
    scrypt::scrypt(password, salt, &params, out).map_err(|_| bad("invalid scrypt output length"))
}

/// Verifies a non-argon2 format. Legacy formats hashed the raw UTF-8 password (no normalisation),
/// except Better Auth, which NFKC-normalises as we do.
pub(crate) fn verify(format: &Format, password: &str) -> Result<bool> {
    let pw = password.as_bytes();
    Ok(match format {
        Format::Argon2(_) => return Err(Error::Internal("argon2 handled by the hasher".into())),
        Format::Bcrypt(h) => {
            // bcrypt hashes only the first 72 bytes; the hash was made that way, so checking the
            // same way is the faithful answer (the login then upgrades it to argon2id).
            let pw = &pw[..pw.len().min(72)];
            bcrypt::verify(pw, h).map_err(|_| bad("malformed bcrypt hash"))?
        }
        Format::DjangoPbkdf2 {
            digest,
            iterations,
            salt,
            dk,
        }
        | Format::WerkzeugPbkdf2 {
            digest,
            iterations,
            salt,
            dk,
        } => {
            let mut out = Zeroizing::new(vec![0u8; dk.len()]);
            pbkdf2(*digest, pw, salt.as_bytes(), *iterations, &mut out);
            ct(&out, dk)
        }
        Format::WerkzeugScrypt {
            log_n,
            r,
            p,
            salt,
            dk,
        } => {
            let mut out = Zeroizing::new(vec![0u8; dk.len()]);
            scrypt(pw, salt.as_bytes(), *log_n, *r, *p, &mut out)?;
            ct(&out, dk)
        }
        Format::BetterAuthScrypt { salt, dk } => {
            let normalized: Zeroizing<String> = Zeroizing::new(password.nfkc().collect());
            let mut out = Zeroizing::new(vec![0u8; dk.len()]);
            scrypt(normalized.as_bytes(), salt.as_bytes(), 14, 16, 1, &mut out)?;
            ct(&out, dk)
        }
    })
}
