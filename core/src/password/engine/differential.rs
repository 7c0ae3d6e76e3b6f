//! The differential test DESIGN.md §2 asks of a non-RustCrypto argon2 engine: polyauth's engine
//! (`engine::compute`, the exact function every hash and verify calls, pooled arena included)
//! against RustCrypto `argon2` on seeded random inputs, plus the RFC 9106 vectors for all three
//! variants. A failure prints its seed and case number: `POLYAUTH_ARGON2_DIFF_SEED=<seed>
//! cargo test --release -p polyauth-core differential` reproduces it.

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{compute, Job, MAX_RETAINED_BLOCKS};

const DEFAULT_SEED: u64 = 0x706f_6c79_6175_7468; // "polyauth"

fn seed() -> u64 {
    std::env::var("POLYAUTH_ARGON2_DIFF_SEED")
        .ok()
        .map_or(DEFAULT_SEED, |s| {
            s.parse().expect("POLYAUTH_ARGON2_DIFF_SEED: a u64")
        })
}

fn reference(job: &Job<'_>, tag_len: usize) -> Vec<u8> {
    let mut b = ParamsBuilder::new();
    b.m_cost(job.m_cost)
        .t_cost(job.t_cost)
        .p_cost(job.p_cost)
        .output_len(tag_len);
    if !job.ad.is_empty() {
        b.data(AssociatedData::new(job.ad).unwrap());
    }
    let params = b.build().unwrap();
    let argon = if job.secret.is_empty() {
        Argon2::new(job.algorithm, job.version, params)
    } else {
        Argon2::new_with_secret(job.secret, job.algorithm, job.version, params).unwrap()
    };
    let mut out = vec![0u8; tag_len];
    argon
        .hash_password_into(job.password, job.salt, &mut out)
        .unwrap();
    out
}

fn bytes(rng: &mut StdRng, lo: usize, hi: usize) -> Vec<u8> {
    let n = rng.gen_range(lo..=hi);
    (0..n).map(|_| rng.gen()).collect()
}

/// One random case: `max_m` bounds the memory (KiB) above the 8·p floor.
fn check_random_case(rng: &mut StdRng, seed: u64, case: usize, max_m: u32) {
    let algorithm =
        [Algorithm::Argon2d, Algorithm::Argon2i, Algorithm::Argon2id][rng.gen_range(0..3)];
    let version = [Version::V0x10, Version::V0x13][rng.gen_range(0..2)];
    let p_cost = rng.gen_range(1..=4u32);
    let m_cost = rng.gen_range(8 * p_cost..=8 * p_cost + max_m);
    let t_cost = rng.gen_range(1..=3u32);
    let tag_len = rng.gen_range(4..=64usize);
    let password = bytes(rng, 0, 80);
    let salt = bytes(rng, 8, 48);
    // A pepper in about half the cases (polyauth's are 16..=64 bytes; any length is valid).
    let secret = if rng.gen() {
        bytes(rng, 1, 64)
    } else {
        Vec::new()
    };
    // Associated data, which polyauth never sets, in a quarter (RustCrypto caps it at 32 bytes).
    let ad = if rng.gen_range(0..4) == 0 {
        bytes(rng, 1, 32)
    } else {
        Vec::new()
    };
    let job = Job {
        algorithm,
        version,
        m_cost,
        t_cost,
        p_cost,
        secret: &secret,
        ad: &ad,
        password: &password,
        salt: &salt,
    };
    let ours = compute(&job, tag_len).unwrap();
    let theirs = reference(&job, tag_len);
    assert!(
        ours.as_slice() == theirs.as_slice(),
        "seed {seed} case {case}: {algorithm:?} {version:?} m={m_cost} t={t_cost} p={p_cost} \
         tag={tag_len} pw={} salt={} secret={} ad={}",
        hex::encode(&password),
        hex::encode(&salt),
        hex::encode(&secret),
        hex::encode(&ad),
    );
}

#[test]
fn differential_10000_small_random_cases_against_rustcrypto() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    // Small memories: segments of 2..=18 blocks, many lanes and passes, every variant and version.
    for case in 0..10_000 {
        check_random_case(&mut rng, seed, case, 64);
    }
}

#[test]
fn differential_random_cases_with_several_address_blocks() {
    // Segments longer than 128 blocks: argon2i/id draw more than one address block per segment,
    // and the pooled arena grows and shrinks between calls.
    let seed = seed() ^ 0x5eed;
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..150 {
        check_random_case(&mut rng, seed, case, 4096);
    }
}

#[test]
fn differential_at_polyauth_defaults_and_above_the_retained_arena() {
    let mut rng = StdRng::seed_from_u64(seed() ^ 0xdef);
    let secret = bytes(&mut rng, 32, 32);
    for (m_cost, t_cost, p_cost, secret) in [
        (19456, 2, 1, &[][..]),
        (19456, 2, 1, &secret[..]),
        (7168, 5, 1, &[][..]),
        (12288, 3, 2, &[][..]),
        // Above MAX_RETAINED_BLOCKS: the arena is given back after the hash; the next one maps
        // a fresh arena.
        (MAX_RETAINED_BLOCKS as u32 + 1024, 1, 1, &[][..]),
        (19456, 2, 1, &[][..]),
    ] {
        let password = bytes(&mut rng, 1, 40);
        let salt = bytes(&mut rng, 16, 16);
        let job = Job {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            m_cost,
            t_cost,
            p_cost,
            secret,
            ad: &[],
            password: &password,
            salt: &salt,
        };
        assert_eq!(
            compute(&job, 32).unwrap().as_slice(),
            reference(&job, 32).as_slice()
        );
    }
}

/// RFC 9106 §5.1-5.3: argon2d, argon2i and argon2id, v=0x13, m=32, t=3, p=4, with secret and
/// associated data.
#[test]
fn rfc9106_vectors_all_variants() {
    let password = [1u8; 32];
    let salt = [2u8; 16];
    let secret = [3u8; 8];
    let ad = [4u8; 12];
    for (algorithm, expected) in [
        (
            Algorithm::Argon2d,
            "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb",
        ),
        (
            Algorithm::Argon2i,
            "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8",
        ),
        (
            Algorithm::Argon2id,
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
        ),
    ] {
        let job = Job {
            algorithm,
            version: Version::V0x13,
            m_cost: 32,
            t_cost: 3,
            p_cost: 4,
            secret: &secret,
            ad: &ad,
            password: &password,
            salt: &salt,
        };
        let tag = compute(&job, 32).unwrap();
        assert_eq!(hex::encode(tag.as_slice()), expected, "{algorithm:?}");
        assert_eq!(reference(&job, 32), tag.as_slice(), "{algorithm:?}");
    }
}

#[test]
fn engine_info_names_the_dispatched_kernel() {
    let info = super::engine_info();
    assert_eq!(info.backend, argon2_rust::detected_backend().name());
    #[cfg(target_arch = "x86_64")]
    {
        // SSE2 is the x86-64 baseline; the kernel named must be one the CPU has.
        assert!(info.cpu_features.split(' ').any(|f| f == "sse2"));
        let needs = match info.backend {
            "avx512" => "avx512f",
            "avx2" => "avx2",
            _ => "sse2",
        };
        assert!(info.cpu_features.split(' ').any(|f| f == needs), "{info:?}");
    }
}
