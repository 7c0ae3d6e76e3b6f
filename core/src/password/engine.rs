//! The argon2 fill engine: `argon2-rust`, a port of the reference implementation whose
//! compression function is picked at run time (AVX-512F, AVX2, SSE2+SSSE3, NEON, scalar), the
//! same code @node-rs/argon2 2.x runs. It is held to RustCrypto `argon2` by a differential test
//! (`password/engine/differential.rs`: random password, salt, secret, m, t, p, version and variant,
//! plus the RFC 9106 and reference PHC vectors); `core/examples/argon2_engines.rs` is the
//! measurement behind the choice (DESIGN.md §2).
//!
//! Memory: one pooled arena per worker thread (`argon2_rust::Hasher`), reused across hashes and
//! wiped after every hash by the crate (`zeroize-memory` feature, on the success, error and unwind
//! paths); an arena above [`MAX_RETAINED_BLOCKS`] is given back (wiped) right after its hash.
//! Threads: a hash runs on the calling thread only (`parallel` feature off, `threads(1)`), so the
//! bounded pool of `run_bounded` still bounds the cores argon2 uses, whatever `p` a stored hash
//! names. Lanes are then computed one after the other, as RustCrypto does; the tag depends on
//! `p`, never on the thread count.

use std::cell::RefCell;

use argon2::{Algorithm, Version};
use argon2_rust::params::{Memory, TagLen};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Arenas above this size are not kept between calls: a thread that once verified a rare
/// 256 MiB hash should not hold 256 MiB for the rest of its life.
pub(crate) const MAX_RETAINED_BLOCKS: usize = 64 * 1024; // 64 MiB

thread_local! {
    static HASHER: RefCell<Option<argon2_rust::Hasher>> = const { RefCell::new(None) };
}

/// The argon2 cost parameters and inputs of one computation.
pub(crate) struct Job<'a> {
    pub algorithm: Algorithm,
    pub version: Version,
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    /// The secret input K (the pepper); empty when there is none.
    pub secret: &'a [u8],
    /// The associated data X: empty in every hash polyauth makes (the RFC 9106 vectors use it).
    pub ad: &'a [u8],
    pub password: &'a [u8],
    pub salt: &'a [u8],
}

fn config(job: &Job<'_>, tag_len: usize) -> Result<argon2_rust::Argon2> {
    let params = argon2_rust::Params::builder()
        .memory(Memory::kib(u64::from(job.m_cost)))
        .passes(job.t_cost)
        .lanes(job.p_cost)
        .threads(1)
        .tag_len(TagLen::bytes(tag_len as u64))
        .build()
        .map_err(|e| Error::InvalidHash(format!("argon2 parameters: {e}")))?;
    let algorithm = match job.algorithm {
        Algorithm::Argon2d => argon2_rust::Algorithm::Argon2d,
        Algorithm::Argon2i => argon2_rust::Algorithm::Argon2i,
        Algorithm::Argon2id => argon2_rust::Algorithm::Argon2id,
    };
    let version = match job.version {
        Version::V0x10 => argon2_rust::Version::V0x10,
        Version::V0x13 => argon2_rust::Version::V0x13,
    };
    Ok(argon2_rust::Argon2::new(algorithm, version, params))
}

/// Computes the `tag_len`-byte argon2 tag of `job` on this thread's pooled arena.
pub(crate) fn compute(job: &Job<'_>, tag_len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let argon = config(job, tag_len)?;
    let mut out = Zeroizing::new(vec![0u8; tag_len]);
    let mut run = |hasher: &mut argon2_rust::Hasher| {
        hasher.set_argon2(argon);
        let r = hasher.hash_into_with_ad(job.password, job.salt, job.secret, job.ad, &mut out);
        if hasher.reserved_blocks() > MAX_RETAINED_BLOCKS {
            hasher.clear();
        }
        r
    };
    HASHER
        .with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => run(slot.get_or_insert_with(|| argon.hasher())),
            // Re-entered on the same thread (cannot happen through our API): a private arena.
            Err(_) => run(&mut argon.hasher()),
        })
        .map_err(|e| Error::InvalidHash(format!("argon2: {e}")))?;
    Ok(out)
}

/// The engine and the kernel it runs on this CPU, for diagnostics and benchmark reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// The crate computing argon2 tags, with its version.
    pub engine: &'static str,
    /// The compression-function backend `argon2-rust` dispatched to: `avx512`, `avx2`, `sse2`,
    /// `neon` or `scalar`.
    pub backend: &'static str,
    /// The CPU features relevant to that choice that this CPU has, space-separated (for example
    /// `sse2 ssse3 sse4.1 avx2 avx512f`).
    pub cpu_features: String,
}

/// Which argon2 engine and kernel hash passwords in this process (cheap after the first call).
pub fn engine_info() -> EngineInfo {
    EngineInfo {
        engine: "argon2-rust 1.1",
        backend: argon2_rust::detected_backend().name(),
        cpu_features: cpu_features(),
    }
}

#[cfg(test)]
mod differential;

#[cfg(target_arch = "x86_64")]
fn cpu_features() -> String {
    let mut found = Vec::new();
    macro_rules! probe {
        ($($f:tt),*) => {$(
            if std::arch::is_x86_feature_detected!($f) {
                found.push($f);
            }
        )*};
    }
    probe!("sse2", "ssse3", "sse4.1", "avx2", "avx512f", "avx512vl");
    found.join(" ")
}

#[cfg(target_arch = "aarch64")]
fn cpu_features() -> String {
    if std::arch::is_aarch64_feature_detected!("neon") {
        "neon".into()
    } else {
        String::new()
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn cpu_features() -> String {
    String::new()
}
