//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `vectors/` of this project.
pub fn project_vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// `../shared/vectors/` beside the project. CI always has it; a developer checkout may not.
pub fn shared_vectors() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    if p.is_dir() {
        Some(p)
    } else if std::env::var("CI").is_ok() || std::env::var("POLYAUTH_REQUIRE_VECTORS").is_ok() {
        panic!("../shared/vectors is required in CI but missing");
    } else {
        eprintln!("skipping: ../shared/vectors not present");
        None
    }
}

pub fn read_json(path: PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A free TCP port on 127.0.0.1 in `base..base + 10_000`, below the usual ephemeral range so an
/// outgoing connection cannot take it while a test's private server is down.
pub fn free_port(base: u16) -> u16 {
    for _ in 0..200 {
        let port = base + (rand_u32() % 10_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found");
}

pub fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    u32::from_le_bytes(b)
}
