//! Runtime CPU dispatch for argon2. RustCrypto's argon2 is compiled for the baseline x86-64 CPU;
//! its entry point is generic, so it is instantiated in this crate, and calling it from a
//! `#[target_feature]` function lets the compiler use AVX2 or AVX-512 for the whole memory fill
//! (AVX-512's 64-bit rotates roughly halve the time of BlaMka rounds). The result is bit-identical:
//! the same algorithm, other instructions; `tests::dispatch_matches_portable` checks it.

use argon2::{Argon2, Block};

/// Which code path `fill` takes on this CPU (for benchmarks and diagnostics).
pub fn path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") {
            return "avx512";
        }
        if std::is_x86_feature_detected!("avx2") {
            return "avx2";
        }
    }
    "portable"
}

/// argon2 into `out`, using the widest vector unit the CPU has.
pub(crate) fn fill(
    a: &Argon2<'_>,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
    mem: &mut [Block],
) -> argon2::Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") {
            // SAFETY: the CPU supports the features the function is compiled for (checked above).
            return unsafe { fill_avx512(a, pwd, salt, out, mem) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { fill_avx2(a, pwd, salt, out, mem) };
        }
    }
    portable(a, pwd, salt, out, mem)
}

pub(crate) fn portable(
    a: &Argon2<'_>,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
    mem: &mut [Block],
) -> argon2::Result<()> {
    a.hash_password_into_with_memory(pwd, salt, out, mem)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_avx2(
    a: &Argon2<'_>,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
    mem: &mut [Block],
) -> argon2::Result<()> {
    a.hash_password_into_with_memory(pwd, salt, out, mem)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2")]
unsafe fn fill_avx512(
    a: &Argon2<'_>,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
    mem: &mut [Block],
) -> argon2::Result<()> {
    a.hash_password_into_with_memory(pwd, salt, out, mem)
}

#[cfg(test)]
mod tests {
    use argon2::{Algorithm, Params, Version};
    use rand::{Rng, RngCore};

    use super::*;

    #[test]
    fn dispatch_matches_portable() {
        let mut rng = rand::thread_rng();
        for _ in 0..24 {
            let m = rng.gen_range(8..512u32);
            let t = rng.gen_range(1..4u32);
            let p = rng.gen_range(1..3u32);
            let m = m.max(8 * p);
            let alg =
                [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id][rng.gen_range(0..3)];
            let params = Params::new(m, t, p, Some(32)).unwrap();
            let a = Argon2::new(alg, Version::V0x13, params.clone());
            let mut pwd = vec![0u8; rng.gen_range(0..64)];
            let mut salt = [0u8; 16];
            rng.fill_bytes(&mut pwd);
            rng.fill_bytes(&mut salt);
            let mut mem = vec![Block::default(); params.block_count()];
            let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
            fill(&a, &pwd, &salt, &mut x, &mut mem).unwrap();
            portable(&a, &pwd, &salt, &mut y, &mut mem).unwrap();
            assert_eq!(x, y, "{alg:?} m={m} t={t} p={p} via {}", path());
        }
    }
}
