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
