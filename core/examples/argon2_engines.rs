//! The measurement behind polyauth's argon2 engine (DESIGN.md §2): argon2id tags at polyauth's
//! parameters (m=19456 KiB, t=2, 32-byte tag) and at p=2/4, computed by
//! - RustCrypto `argon2` 0.5 over a reused, wiped block buffer (polyauth's engine until issue 14);
//! - `argon2-rust` with its runtime-dispatched kernel, one-shot (`Argon2::hash_into`: an arena
//!   mapped per hash) and pooled (`Hasher`: one arena per thread, wiped after every hash: what
//!   polyauth now runs), and each of its x86 kernels this CPU can run, one-shot;
//! - at p > 1, `argon2-rust` filling the lanes on p threads (its `parallel` feature), which
//!   polyauth does not use (one hash, one core: see core/src/password/engine.rs);
//! - polyauth's own `PasswordHasher::hash` (NFKC, salt, PHC encoding included).
//!
//! Every tag is checked against RustCrypto's. Rounds are interleaved (one computation per engine
//! per round, order rotated) so machine noise hits every engine alike; medians in ms.
//!
//!     cargo run --release -p polyauth-core --features engine-bench --example argon2_engines [-- ROUNDS]
//!     cargo run --profile dist -p polyauth-core --features engine-bench --example argon2_engines [-- ROUNDS]

use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use argon2_rust::params::{Memory, TagLen};
use polyauth_core::password::{engine_info, HasherConfig, PasswordHasher, PasswordPolicy};
use zeroize::Zeroize;

const M: u32 = 19456;
const T: u32 = 2;
const PASSWORD: &[u8] = b"correct horse battery staple";
const SALT: &[u8] = b"0123456789abcdef";

type Engine<'a> = (String, Box<dyn FnMut() -> [u8; 32] + 'a>);

fn rust_argon2(p: u32, threads: u32) -> argon2_rust::Argon2 {
    let params = argon2_rust::Params::builder()
        .memory(Memory::kib(u64::from(M)))
        .passes(T)
        .lanes(p)
        .threads(threads)
        .tag_len(TagLen::bytes(32))
        .build()
        .unwrap();
    argon2_rust::Argon2::new(
        argon2_rust::Algorithm::Argon2id,
        argon2_rust::Version::V0x13,
        params,
    )
}

/// An engine closure from an `argon2-rust` call that writes a 32-byte tag.
fn tagger<'a>(
    mut f: impl FnMut(&mut [u8]) -> Result<(), argon2_rust::Error> + 'a,
) -> Box<dyn FnMut() -> [u8; 32] + 'a> {
    Box::new(move || {
        let mut out = [0u8; 32];
        f(&mut out).unwrap();
        out
    })
}

fn engines(p: u32) -> Vec<Engine<'static>> {
    let params = Params::new(M, T, p, Some(32)).unwrap();
    let mut v: Vec<Engine> = Vec::new();

    let rc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut blocks = vec![Block::default(); params.block_count()];
    v.push((
        "RustCrypto argon2 0.5, reused buffer (before)".into(),
        Box::new(move || {
            let mut out = [0u8; 32];
            rc.hash_password_into_with_memory(PASSWORD, SALT, &mut out, &mut blocks)
                .unwrap();
            blocks.iter_mut().for_each(Zeroize::zeroize);
            out
        }),
    ));

    let kernel = argon2_rust::detected_backend().name();
    let one = rust_argon2(p, 1);
    v.push((
        format!("argon2-rust {kernel}, one-shot"),
        tagger(move |out| one.hash_into(PASSWORD, SALT, out)),
    ));
    let mut pooled = rust_argon2(p, 1).hasher();
    v.push((
        format!("argon2-rust {kernel}, pooled arena (polyauth now)"),
        tagger(move |out| pooled.hash_into(PASSWORD, SALT, out)),
    ));

    for &backend in argon2_rust::Backend::ALL {
        if !backend.is_available() || backend == argon2_rust::detected_backend() {
            continue;
        }
        let cfg = rust_argon2(p, 1);
        v.push((
            format!("argon2-rust {}, one-shot (forced)", backend.name()),
            Box::new(move || {
                let mut out = [0u8; 32];
                // SAFETY: `is_available()` said this CPU can execute `backend`.
                unsafe {
                    argon2_rust::__internal::hash_with_backend(
                        backend,
                        argon2_rust::Algorithm::Argon2id,
                        argon2_rust::Version::V0x13,
                        cfg.params(),
                        PASSWORD,
                        SALT,
                        &[],
                        &[],
                        &mut out,
                    )
                    .unwrap();
                }
                out
            }),
        ));
    }

    if p > 1 {
        let mut threaded = rust_argon2(p, p).hasher();
        v.push((
            format!("argon2-rust, pooled, {p} threads (not used)"),
            tagger(move |out| threaded.hash_into(PASSWORD, SALT, out)),
        ));
    } else {
        let hasher = PasswordHasher::new(
            HasherConfig {
                parallelism: p,
                ..HasherConfig::default()
            },
            PasswordPolicy::default(),
        )
        .unwrap();
        let pw = std::str::from_utf8(PASSWORD).unwrap();
        v.push((
            "polyauth PasswordHasher::hash (NFKC, salt, PHC)".into(),
            Box::new(move || {
                let phc = hasher.hash(pw).unwrap();
                assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
                [0u8; 32] // a fresh salt: its tag is checked by the test suites instead
            }),
        ));
    }
    v
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(25, |a| a.parse().expect("ROUNDS"));
    let info = engine_info();
    println!(
        "polyauth engine: {} ({} kernel; CPU features: {}); profile: {}",
        info.engine,
        info.backend,
        info.cpu_features,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised (release or dist, as invoked)"
        }
    );
    for p in [1u32, 2, 4] {
        let mut list = engines(p);
        let reference = {
            let params = Params::new(M, T, p, Some(32)).unwrap();
            let mut out = [0u8; 32];
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(PASSWORD, SALT, &mut out)
                .unwrap();
            out
        };
        let mut times = vec![Vec::with_capacity(rounds); list.len()];
        for (_, f) in list.iter_mut() {
            f(); // warm-up: first-touch faults, detection
        }
        for r in 0..rounds {
            for k in 0..list.len() {
                let i = (k + r) % list.len();
                let start = Instant::now();
                let tag = (list[i].1)();
                times[i].push(start.elapsed().as_secs_f64() * 1e3);
                assert!(
                    tag == reference || tag == [0u8; 32],
                    "{}: tag differs",
                    list[i].0
                );
            }
        }
        let base = median(times[0].clone());
        println!("\nargon2id m={M} KiB, t={T}, p={p}: median of {rounds} interleaved rounds");
        println!("| engine | ms | vs RustCrypto |");
        println!("|---|---|---|");
        for ((name, _), t) in list.iter().zip(times) {
            let m = median(t);
            println!("| {name} | {m:.2} | {:.2}x |", m / base);
        }
    }
}
