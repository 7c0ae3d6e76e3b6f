//! The measurement behind the legacy work bounds in `core/src/password/legacy.rs`: how long the
//! largest argon2 a default `PasswordHasher` accepts from a stored hash takes (m = 256 MiB,
//! m·t = 4·256 MiB), against one unit of each legacy format's work (bcrypt at a given cost, scrypt
//! per N·r·p, PBKDF2 per iteration of one output block). Prints the best of a few runs per row and
//! the largest legacy parameters that stay within the argon2 time.
//!
//! Run: `cargo run --release -p polyauth-core --example legacy_cost`

use std::time::{Duration, Instant};

use hmac::Hmac;
use polyauth_core::password::{HasherConfig, PasswordHasher, PasswordPolicy};

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let h =
        PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).expect("hasher");
    let max_m = h.config().max_memory_kib;
    let max_t = 4; // MAX_WORK_FACTOR: m·t <= 4·max_memory_kib
    let tag = "A".repeat(43);
    let phc = format!("$argon2id$v=19$m={max_m},t={max_t},p=1$c29tZXNhbHRzb21lc2FsdA${tag}");
    let argon = best(5, || {
        assert!(!h.verify(&phc, "password").expect("argon2 verify"));
    });
    let argon_s = argon.as_secs_f64();
    println!("argon2id m={max_m} t={max_t} p=1 (largest accepted): {argon_s:.3} s");

    let salt = [7u8; 16];
    let bcrypt_cost = 10;
    let b = best(3, || {
        bcrypt::hash_with_salt("password", bcrypt_cost, salt).expect("bcrypt");
    })
    .as_secs_f64();
    println!("bcrypt cost {bcrypt_cost}: {b:.3} s");
    for cost in 12..=16 {
        let s = b * f64::from(1u32 << (cost - bcrypt_cost));
        println!(
            "  bcrypt cost {cost}: ~{s:.2} s ({:.2}x argon2)",
            s / argon_s
        );
    }

    let (log_n, r, p) = (15u8, 8u32, 1u32);
    let params = scrypt::Params::new(log_n, r, p, 64).expect("scrypt params");
    let s = best(3, || {
        let mut out = [0u8; 64];
        scrypt::scrypt(b"password", b"salt", &params, &mut out).expect("scrypt");
    })
    .as_secs_f64();
    let units = (1u64 << log_n) * u64::from(r) * u64::from(p);
    let per_unit = s / units as f64;
    println!(
        "scrypt N=2^{log_n} r={r} p={p}: {s:.3} s, {:.1} ns per N*r*p; within argon2 time: N*r*p <= {:.0}",
        per_unit * 1e9,
        argon_s / per_unit
    );

    let iterations = 100_000u32;
    let row = |name: &str, secs: f64| {
        let per_it = secs / f64::from(iterations);
        println!(
            "pbkdf2-{name}: {:.0} ns per iteration-block; within argon2 time: iterations*blocks <= {:.0}",
            per_it * 1e9,
            argon_s / per_it
        );
    };
    let mut out = [0u8; 20];
    row(
        "sha1",
        best(5, || {
            pbkdf2::pbkdf2::<Hmac<sha1::Sha1>>(b"password", b"salt", iterations, &mut out)
                .expect("pbkdf2");
        })
        .as_secs_f64(),
    );
    let mut out = [0u8; 32];
    row(
        "sha256",
        best(5, || {
            pbkdf2::pbkdf2::<Hmac<sha2::Sha256>>(b"password", b"salt", iterations, &mut out)
                .expect("pbkdf2");
        })
        .as_secs_f64(),
    );
    let mut out = [0u8; 64];
    row(
        "sha512",
        best(5, || {
            pbkdf2::pbkdf2::<Hmac<sha2::Sha512>>(b"password", b"salt", iterations, &mut out)
                .expect("pbkdf2");
        })
        .as_secs_f64(),
    );
}
