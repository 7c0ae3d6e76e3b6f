//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use polyauth_core::store::Store;

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

// ---------------------------------------------------------------------------------------------
// Store backends for conformance suites. Servers come from POLYAUTH_TEST_POSTGRES_URL /
// POLYAUTH_TEST_REDIS_URL (defaults: 127.0.0.1); with POLYAUTH_REQUIRE_SERVICES=1 (CI) a missing
// server fails instead of skipping.

pub fn require_services() -> bool {
    std::env::var("POLYAUTH_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// POLYAUTH_TEST_BACKENDS=memory,sqlite narrows a local run; CI runs every backend.
pub fn wanted(backend: &str) -> bool {
    std::env::var("POLYAUTH_TEST_BACKENDS")
        .map_or(true, |v| v.split(',').any(|b| b.trim() == backend))
}

/// Every backend reachable here, each opened fresh (SQL: a new schema/file; Redis: a new prefix).
pub async fn stores() -> Vec<Store> {
    let mut out = vec![Store::open("memory://").await.unwrap()];
    if wanted("sqlite") {
        let dir = std::env::temp_dir().join(format!("polyauth-test-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        out.push(
            Store::open(&format!("sqlite://{}", dir.join("store.db").display()))
                .await
                .unwrap(),
        );
    }
    for (var, default) in [
        (
            "POLYAUTH_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("POLYAUTH_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
    ] {
        if !wanted(if var.contains("POSTGRES") {
            "postgres"
        } else {
            "redis"
        }) {
            continue;
        }
        let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
        match Store::open(&isolated(&url)).await {
            Ok(s) => out.push(s),
            Err(e) if !require_services() => eprintln!("skipping {var}: {e}"),
            Err(e) => panic!("{var} unreachable with POLYAUTH_REQUIRE_SERVICES=1: {e}"),
        }
    }
    out
}

/// The Redis server of the tests (POLYAUTH_TEST_REDIS_URL, default 127.0.0.1:6379).
pub fn redis_url() -> String {
    std::env::var("POLYAUTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The host and port of a `redis://[user:password@]host[:port][/db][?...]` URL.
pub fn redis_host_port(url: &str) -> (String, u16) {
    let hostport = url
        .trim_start_matches("redis://")
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let hostport = hostport.rsplit('@').next().unwrap_or("");
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "6379"));
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    (host.to_owned(), port.parse().unwrap_or(6379))
}

pub fn rand_suffix() -> String {
    let mut b = [0u8; 6];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    hex::encode(b)
}

/// Gives each test run its own namespace so runs never see each other's rows; the namespace is
/// dropped when the test binary exits.
pub fn isolated(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}polyauth_namespace={}",
        remember_namespace(format!("t{}", rand_suffix()))
    )
}

static NAMESPACES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

/// Records a namespace the tests create on the shared servers; the first call registers an exit
/// hook that drops them all (PostgreSQL schemas with `psql`, Redis keys with `redis-cli`).
pub fn remember_namespace(namespace: String) -> String {
    let mut list = NAMESPACES.lock().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() {
        // SAFETY: registers a plain `extern "C" fn()` with the C runtime, which calls it once at
        // exit; the harness ends with `std::process::exit`, which runs it.
        unsafe {
            atexit(drop_namespaces);
        }
    }
    list.push(namespace.clone());
    namespace
}

extern "C" fn drop_namespaces() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let names = std::mem::take(&mut *NAMESPACES.lock().unwrap_or_else(|e| e.into_inner()));
    if names.is_empty() {
        return;
    }
    let pg = std::env::var("POLYAUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let sql: String = names
        .iter()
        .map(|n| format!("DROP SCHEMA IF EXISTS \"{n}\" CASCADE;\n"))
        .collect();
    if let Ok(mut child) = Command::new("psql")
        .args([pg.as_str(), "-q", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(sql.as_bytes());
        }
        let _ = child.wait();
    }
    let (host, port) = redis_host_port(&redis_url());
    let port = port.to_string();
    let (host, port) = (host.as_str(), port.as_str());
    let Ok(scan) = Command::new("redis-cli")
        .args([
            "-h",
            host,
            "-p",
            port,
            "--scan",
            "--pattern",
            "polyauth:{t*",
        ])
        .output()
    else {
        return;
    };
    let text = String::from_utf8_lossy(&scan.stdout);
    let keys: Vec<&str> = text
        .lines()
        .filter(|k| {
            let ns = k
                .strip_prefix("polyauth:{")
                .and_then(|r| r.split_once('}'))
                .map(|(ns, _)| ns);
            ns.is_some_and(|ns| names.iter().any(|n| n == ns))
        })
        .collect();
    for chunk in keys.chunks(500) {
        let _ = Command::new("redis-cli")
            .args(["-h", host, "-p", port, "DEL"])
            .args(chunk)
            .stdout(Stdio::null())
            .status();
    }
}

/// The SQL backends reachable here, as URLs that open the same database again (RT-9).
pub async fn durable_urls() -> Vec<String> {
    let mut out = Vec::new();
    if wanted("sqlite") {
        let dir = std::env::temp_dir().join(format!("polyauth-test-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        out.push(format!("sqlite://{}", dir.join("durable.db").display()));
    }
    if wanted("postgres") {
        let url = std::env::var("POLYAUTH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let url = isolated(&url);
        match Store::open(&url).await {
            Ok(_) => out.push(url),
            Err(e) if !require_services() => eprintln!("skipping postgres: {e}"),
            Err(e) => panic!("postgres unreachable with POLYAUTH_REQUIRE_SERVICES=1: {e}"),
        }
    }
    out
}

/// Runs `n` calls of `call()` at once on the runtime; returns the successes and the errors.
pub async fn race<T, F, Fut>(n: usize, call: F) -> (Vec<T>, Vec<polyauth_core::Error>)
where
    T: Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = polyauth_core::Result<T>> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(call())).collect();
    let (mut wins, mut errors) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await.expect("a raced task panicked") {
            Ok(v) => wins.push(v),
            Err(e) => errors.push(e),
        }
    }
    (wins, errors)
}
