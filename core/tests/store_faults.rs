//! Store faults against a PRIVATE redis-server (a child process on its own port, killed at the
//! end): while the server is down every call fails fast with `store_unavailable` (no hang, and
//! no token is ever handed out), the same store handle works again once the server is back, a
//! server that stops answering is a timeout rather than a hang, and with AOF persistence a
//! revocation made before a crash survives the restart (RT-9).
//!
//! Skipped when `redis-server` is not installed, unless POLYAUTH_REQUIRE_SERVICES=1 (CI).
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polyauth_core::onetime::OneTimeTokens;
use polyauth_core::session::{Sessions, SessionsConfig};
use polyauth_core::store::Store;
use polyauth_core::throttle::{Throttle, ThrottleConfig};
use polyauth_core::{Alg, KeySet, KeySource, Tokens, TokensConfig};
use serde_json::Map;

/// A call against a dead server must fail within this (the store's own bound is 10 s).
const FAIL_FAST: Duration = Duration::from_secs(12);

fn require_services() -> bool {
    std::env::var("POLYAUTH_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

fn have_redis_server() -> bool {
    match Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => true,
        _ if require_services() => {
            panic!("redis-server is required with POLYAUTH_REQUIRE_SERVICES=1")
        }
        _ => {
            eprintln!("skipping: redis-server not installed");
            false
        }
    }
}

/// A redis-server child process; killed (SIGKILL, like a crash) on `kill` and on drop.
struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    aof: bool,
}

impl Server {
    fn start(port: u16, dir: &Path, aof: bool) -> Server {
        let mut s = Server {
            child: None,
            port,
            dir: dir.to_owned(),
            aof,
        };
        s.restart();
        s
    }

    fn restart(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--daemonize",
            "no",
        ])
        .arg("--dir")
        .arg(&self.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if self.aof {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        self.child = Some(cmd.spawn().expect("spawn redis-server"));
        self.wait_ready();
    }

    /// Waits for `PING` to answer `PONG` (not `LOADING`).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 64];
                if c.write_all(b"PING\r\n").is_ok()
                    && matches!(c.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {} did not become ready", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self
            .child
            .as_ref()
            .expect("server running")
            .id()
            .to_string();
        let ok = Command::new("kill")
            .args([sig, &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid}");
    }

    fn url(&self) -> String {
        format!(
            "redis://127.0.0.1:{}/0?polyauth_namespace=faults",
            self.port
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // Resume a stopped server so that SIGKILL is delivered promptly.
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "polyauth-redis-{}-{:08x}",
        std::process::id(),
        common::rand_u32()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sessions(store: Store) -> Sessions {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    let tokens = Tokens::new(
        KeySource::Local(keys),
        TokensConfig::new("https://issuer.example", vec!["api".into()]),
    )
    .unwrap();
    Sessions::new(store, tokens, SessionsConfig::default()).unwrap()
}

/// Runs `f`, asserting it fails with `store_unavailable` quickly and without leaking the address.
async fn assert_unavailable<T: std::fmt::Debug>(
    what: &str,
    port: u16,
    f: impl std::future::Future<Output = polyauth_core::Result<T>>,
) {
    let started = Instant::now();
    let r = tokio::time::timeout(FAIL_FAST + Duration::from_secs(5), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung while the server was unavailable"));
    let took = started.elapsed();
    let e = r.expect_err(&format!(
        "{what}: must fail while the server is unavailable"
    ));
    assert_eq!(e.code(), "store_unavailable", "{what}: {e}");
    assert!(took < FAIL_FAST, "{what}: took {took:?}");
    let text = e.to_string();
    assert!(
        !text.contains(&port.to_string()) && !text.contains("127.0.0.1"),
        "{what}: message leaks the address: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_fails_fast_and_the_same_handle_recovers() {
    if !have_redis_server() {
        return;
    }
    let dir = temp_dir();
    let port = common::free_port(16379);
    let mut server = Server::start(port, &dir, false);
    let store = Store::open(&server.url()).await.unwrap();
    let s = sessions(store.clone());
    let once = OneTimeTokens::new(store.clone());
    let throttle = Throttle::new(store.clone(), ThrottleConfig::default()).unwrap();
    let pair = s.start("user-1", Map::new(), Map::new()).await.unwrap();
    let pair = s.refresh(&pair.refresh_token).await.unwrap();

    server.kill();
    for round in 0..2 {
        // No token is issued without the store: start fails instead of returning a pair.
        assert_unavailable(
            &format!("start #{round}"),
            port,
            s.start("user-1", Map::new(), Map::new()),
        )
        .await;
        assert_unavailable(
            &format!("refresh #{round}"),
            port,
            s.refresh(&pair.refresh_token),
        )
        .await;
        assert_unavailable(
            &format!("is_active #{round}"),
            port,
            s.is_active(&pair.session_id),
        )
        .await;
        assert_unavailable(
            &format!("revoke #{round}"),
            port,
            s.revoke(&pair.session_id),
        )
        .await;
        assert_unavailable(
            &format!("one-time #{round}"),
            port,
            once.issue("u", "magic", 60, None),
        )
        .await;
        assert_unavailable(
            &format!("throttle #{round}"),
            port,
            throttle.fail("login:u"),
        )
        .await;
    }
    // A store opened while the server is down fails the same way.
    let started = Instant::now();
    let e = Store::open(&server.url()).await.unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "{e}");
    assert!(started.elapsed() < FAIL_FAST);

    // Back up (empty: no persistence here): the same handle works again, on the first call.
    server.restart();
    let fresh = s
        .start("user-2", Map::new(), Map::new())
        .await
        .expect("start after restart");
    let fresh = s
        .refresh(&fresh.refresh_token)
        .await
        .expect("refresh after restart");
    assert!(s.is_active(&fresh.session_id).await.unwrap());
    once.issue("u", "magic", 60, None).await.unwrap();
    assert_eq!(throttle.fail("login:u").await.unwrap().failures, 1);
    // Without persistence the old session is simply gone.
    assert_eq!(
        s.refresh(&pair.refresh_token).await.unwrap_err().code(),
        "invalid_token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_that_stops_answering_is_a_timeout_not_a_hang() {
    if !have_redis_server() {
        return;
    }
    let dir = temp_dir();
    let server = Server::start(common::free_port(16379), &dir, false);
    let store = Store::open(&server.url()).await.unwrap();
    let s = sessions(store);
    let pair = s.start("user-1", Map::new(), Map::new()).await.unwrap();

    server.signal("-STOP");
    assert_unavailable(
        "is_active on a stopped server",
        server.port,
        s.is_active(&pair.session_id),
    )
    .await;
    assert_unavailable(
        "start on a stopped server",
        server.port,
        s.start("user-1", Map::new(), Map::new()),
    )
    .await;
    server.signal("-CONT");

    let started = Instant::now();
    loop {
        match s.is_active(&pair.session_id).await {
            Ok(active) => {
                assert!(active);
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), "store_unavailable", "{e}");
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "no recovery after SIGCONT: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let next = s.refresh(&pair.refresh_token).await.unwrap();
    assert!(s.is_active(&next.session_id).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocations_survive_a_crash_with_aof() {
    if !have_redis_server() {
        return;
    }
    let dir = temp_dir();
    let port = common::free_port(16379);
    let mut server = Server::start(port, &dir, true);
    let store = Store::open(&server.url()).await.unwrap();
    let s = sessions(store);
    let revoked = s.start("user-1", Map::new(), Map::new()).await.unwrap();
    let rotated = s.start("user-1", Map::new(), Map::new()).await.unwrap();
    let kept = s.start("user-2", Map::new(), Map::new()).await.unwrap();
    assert!(s.revoke(&revoked.session_id).await.unwrap());
    let newer = s.refresh(&rotated.refresh_token).await.unwrap();
    let once = OneTimeTokens::new(s.store().clone());
    let ticket = once
        .issue("user-1", "password_reset", 600, None)
        .await
        .unwrap();
    once.consume(&ticket, "password_reset").await.unwrap();

    // Crash (SIGKILL) and restart on the same data directory.
    server.kill();
    assert_unavailable(
        "refresh while down",
        port,
        s.refresh(&revoked.refresh_token),
    )
    .await;
    server.restart();

    // The same handle sees the state from before the crash.
    assert_eq!(
        s.refresh(&revoked.refresh_token).await.unwrap_err().code(),
        "session_revoked"
    );
    assert!(!s.is_active(&revoked.session_id).await.unwrap());
    // The used token is remembered: presenting it again is reuse, which revokes the family.
    assert_eq!(
        s.refresh(&rotated.refresh_token).await.unwrap_err().code(),
        "refresh_reused"
    );
    assert_eq!(
        s.refresh(&newer.refresh_token).await.unwrap_err().code(),
        "session_revoked"
    );
    assert_eq!(
        once.consume(&ticket, "password_reset")
            .await
            .unwrap_err()
            .code(),
        "token_used"
    );
    // Untouched sessions carry on.
    let next = s.refresh(&kept.refresh_token).await.unwrap();
    assert!(s.is_active(&next.session_id).await.unwrap());
    assert_eq!(s.list("user-2").await.unwrap().len(), 1);
}
