use super::*;

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

async fn run_with(args: &[&str], stdin: Option<&[u8]>) -> Outcome {
    let input = Input {
        stdin: stdin.map(|b| Zeroizing::new(b.to_vec())),
        remote: None,
    };
    run(argv(args), input).await
}

async fn done_with(args: &[&str], stdin: Option<&[u8]>) -> CliOutput {
    match run_with(args, stdin).await {
        Outcome::Done(o) => o,
        other => panic!("{args:?}: expected output, got {other:?}"),
    }
}

async fn done_remote(args: &[&str], remote: RemoteKeySet) -> CliOutput {
    let input = Input {
        stdin: None,
        remote: Some(remote),
    };
    match run(argv(args), input).await {
        Outcome::Done(o) => o,
        other => panic!("{args:?}: expected output, got {other:?}"),
    }
}

async fn ok(args: &[&str]) -> String {
    let o = done_with(args, None).await;
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    assert!(o.stderr.is_empty());
    o.stdout.to_string()
}

async fn ok_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let v: Value = serde_json::from_str(&ok(&a).await).unwrap();
    assert_eq!(v["ok"], true);
    v
}

/// Runs a failing command; returns (exit code, error code, message) and checks both forms.
async fn fails(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let o = done_with(args, stdin).await;
    assert!(o.stdout.is_empty(), "{args:?}");
    let line = o.stderr.lines().next().unwrap().to_owned();
    let rest = line.strip_prefix("error: ").expect(&line);
    let (code, message) = rest.split_once(": ").unwrap();
    assert!(Error::CODES.contains(&code), "{code}");
    let mut a = args.to_vec();
    a.push("--json");
    let j = done_with(&a, stdin).await;
    assert_eq!(j.code, o.code);
    assert!(j.stderr.is_empty());
    let v: Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], code);
    assert_eq!(v["error"]["message"], message);
    (o.code, code.to_owned(), message.to_owned())
}

fn temp_dir() -> std::path::PathBuf {
    let mut r = [0u8; 8];
    aws_lc_rs::rand::fill(&mut r).unwrap();
    let d = std::env::temp_dir().join(format!("polyauth-cli-{}", hex::encode(r)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn keys_generate_rotate_public() {
    let jwks: Value = serde_json::from_str(&ok(&["keys", "generate"]).await).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["alg"], "EdDSA");
    assert!(key["d"].is_string(), "generate prints the private JWKS");
    let v = ok_json(&["keys", "generate", "--alg", "ES256"]).await;
    assert_eq!(v["alg"], "ES256");
    assert_eq!(v["jwks"]["keys"][0]["kid"], v["kid"]);

    let dir = temp_dir();
    let file = dir.join("keys.json");
    let f = file.to_str().unwrap();
    let kid1 = ok(&["keys", "generate", "--out", f]).await;
    let kid1 = kid1.trim();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (exit, code, _) = fails(&["keys", "generate", "--out", f], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_input"));

    let kid2 = ok(&["keys", "rotate", f]).await;
    let kid2 = kid2.trim().to_owned();
    assert_ne!(kid1, kid2);
    let v = ok_json(&["keys", "rotate", f, "--alg", "ES384", "--keep", "2"]).await;
    assert_eq!(v["alg"], "ES384");
    assert_eq!(v["kids"].as_array().unwrap().len(), 2);
    assert_eq!(v["kids"][1], kid2.as_str(), "the oldest key went");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left behind");

    let public = ok(&["keys", "public", f]).await;
    assert!(!public.contains("\"d\""));
    let pv: Value = serde_json::from_str(&public).unwrap();
    assert_eq!(pv["keys"].as_array().unwrap().len(), 2);
    let v = ok_json(&["keys", "public", f]).await;
    assert_eq!(v["jwks"], pv);

    // A public JWKS cannot be rotated; a missing file is unavailable (3), bad JSON refused (1).
    let pub_file = dir.join("public.json");
    std::fs::write(&pub_file, &public).unwrap();
    let (exit, code, _) = fails(&["keys", "rotate", pub_file.to_str().unwrap()], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_REFUSED, "invalid_key"));
    let missing = dir.join("missing.json");
    let (exit, code, msg) = fails(&["keys", "public", missing.to_str().unwrap()], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_UNAVAILABLE, "invalid_config"));
    assert!(msg.contains("cannot read"), "{msg}");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"keys\": [{\"kty\": \"nope\"}]}").unwrap();
    let (exit, code, _) = fails(&["keys", "public", bad.to_str().unwrap()], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_REFUSED, "invalid_key"));
    let (exit, code, _) = fails(&["keys", "generate", "--alg", "none"], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "unsupported_algorithm"));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn issue(keys: &KeySet, now: i64) -> String {
    let tokens = Tokens::new(
        KeySource::Local(keys.clone()),
        TokensConfig::new("https://issuer.example", vec!["api".into()]),
    )
    .unwrap();
    let mut claims = Map::new();
    claims.insert("scope".into(), "read".into());
    tokens.issue_at("user-1", claims, Some(600), now).unwrap()
}

#[tokio::test]
async fn token_inspect_and_verify() {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    let token = issue(&keys, 1_000_000);
    let text = ok(&["token", "inspect", &token]).await;
    assert!(text.starts_with("NOT VERIFIED"), "{text}");
    assert!(text.contains("\"sub\": \"user-1\"") && text.contains("\"typ\": \"at+jwt\""));
    assert!(text.contains("exp       1970-01-12T13:56:40Z"), "{text}");
    let v = ok_json(&["token", "inspect", &token]).await;
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"]["scope"], "read");
    // Stdin: asked for, then read.
    assert!(matches!(
        run_with(&["token", "inspect", "-"], None).await,
        Outcome::NeedStdin { secret: false, .. }
    ));
    let o = done_with(
        &["token", "inspect", "-"],
        Some(format!("{token}\n").as_bytes()),
    )
    .await;
    assert_eq!(o.stdout.as_str(), text);
    // An unsigned token is still shown, labelled.
    let none = format!(
        "{}.{}.",
        crate::b64::encode(br#"{"alg":"none"}"#),
        crate::b64::encode(br#"{"sub":"x"}"#)
    );
    assert!(ok(&["token", "inspect", &none])
        .await
        .starts_with("NOT VERIFIED"));
    for garbage in ["garbage", "a.b.c", "a.b.c.d.e", ""] {
        let (exit, code, _) = fails(&["token", "inspect", garbage], None).await;
        assert_eq!(
            (exit, code.as_str()),
            (EXIT_REFUSED, "invalid_token"),
            "{garbage}"
        );
    }

    let dir = temp_dir();
    let file = dir.join("keys.json");
    std::fs::write(&file, keys.to_jwks(false).to_string()).unwrap();
    let f = file.to_str().unwrap();
    let base = [
        "token",
        "verify",
        &token,
        "--jwks",
        f,
        "--iss",
        "https://issuer.example",
    ];
    let with = |extra: &[&'static str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        a
    };
    let text = ok(&with(&["--aud", "api", "--now", "1000100"])).await;
    assert!(text.starts_with("VERIFIED"), "{text}");
    let v = ok_json(&with(&["--aud", "api", "--now", "1000100"])).await;
    assert_eq!(v["verified"], true);
    assert_eq!(v["claims"]["sub"], "user-1");
    assert_eq!(v["header"]["alg"], "EdDSA");
    for (extra, want) in [
        (&["--aud", "api"][..], "token_expired"),
        (&["--aud", "other", "--now", "1000100"], "invalid_audience"),
        (
            &["--aud", "api", "--now", "1000100", "--typ", "JWT"],
            "invalid_type",
        ),
        (
            &["--aud", "api", "--now", "1000100", "--require", "sid"],
            "missing_claim",
        ),
    ] {
        let (exit, code, _) = fails(&with(extra), None).await;
        assert_eq!((exit, code.as_str()), (EXIT_REFUSED, want), "{extra:?}");
    }
    let other = KeySet::generate(Alg::EdDSA, None).unwrap();
    std::fs::write(&file, other.to_jwks(false).to_string()).unwrap();
    let (exit, code, _) = fails(&with(&["--aud", "api", "--now", "1000100"]), None).await;
    assert_eq!((exit, code.as_str()), (EXIT_REFUSED, "unknown_key"));
    let (exit, code, _) = fails(
        &[
            "token",
            "verify",
            &token,
            "--jwks",
            "http://x/jwks",
            "--iss",
            "i",
            "--aud",
            "a",
        ],
        None,
    )
    .await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_config"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn token_verify_remote_asks_for_a_fetch() {
    let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
    let token = issue(&keys, 1_000_000);
    let args = [
        "token",
        "verify",
        &token,
        "--jwks",
        "https://issuer.example/jwks",
        "--iss",
        "https://issuer.example",
        "--aud",
        "api",
        "--now",
        "1000100",
    ];
    let config = match run_with(&args, None).await {
        Outcome::NeedFetch(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(config.url, "https://issuer.example/jwks");
    assert!(!config.allow_insecure_http);
    // A failed fetch is reported with its reason.
    let remote = RemoteKeySet::new(config.clone()).unwrap();
    remote.fail("HTTP 404");
    let o = done_remote(&args, remote).await;
    assert_eq!(o.code, EXIT_UNAVAILABLE);
    assert_eq!(
        o.stderr,
        "error: jwks_unavailable: remote key set unavailable: HTTP 404\n"
    );
    // A fetched set verifies.
    let remote = RemoteKeySet::new(config).unwrap();
    remote
        .complete(keys.to_jwks(false).to_string().as_bytes(), 1_000_000)
        .unwrap();
    let o = done_remote(&args, remote).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("VERIFIED"));
}

#[tokio::test]
async fn hash_reads_stdin_only() {
    assert!(matches!(
        run_with(&["hash"], None).await,
        Outcome::NeedStdin { secret: true, .. }
    ));
    let phc = done_with(&["hash"], Some(b"correct horse battery staple\n")).await;
    assert_eq!(phc.code, 0);
    let phc = phc.stdout.trim().to_owned();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let hasher = PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).unwrap();
    assert!(hasher.verify(&phc, "correct horse battery staple").unwrap());
    let o = done_with(
        &[
            "hash",
            "--json",
            "--time-cost",
            "3",
            "--memory-kib",
            "12288",
        ],
        Some(b"pw"),
    )
    .await;
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(v["hash"].as_str().unwrap().contains("m=12288,t=3"));
    for (stdin, want) in [
        (&b""[..], "no password"),
        (b"\n", "no password"),
        (b"a\nb\n", "more than one line"),
        (b"\xff", "UTF-8"),
    ] {
        let (exit, code, msg) = fails(&["hash"], Some(stdin)).await;
        assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_input"));
        assert!(msg.contains(want), "{msg}");
    }
    let (exit, code, msg) = fails(&["hash", "hunter2"], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_input"));
    assert!(!msg.contains("hunter2"));
    let (exit, code, _) = fails(&["hash", "--memory-kib", "1024"], Some(b"pw")).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_config"));
}

#[tokio::test]
async fn mfa_key_and_store_commands() {
    let key = ok(&["mfa", "key"]).await;
    let key = key.trim();
    assert_eq!(key.len(), 43);
    assert!(
        crate::mfa::EncryptionKeys::new(&[crate::mfa::KeyMaterial::Text(Zeroizing::new(
            key.to_owned()
        ))])
        .is_ok()
    );
    let v = ok_json(&["mfa", "key"]).await;
    assert_eq!(v["key_id"].as_str().unwrap().len(), 16);

    let sql = ok(&["store", "sql"]).await;
    assert!(
        sql.contains("-- polyauth migration 1\n")
            && sql.contains("CREATE TABLE IF NOT EXISTS polyauth_sessions")
    );
    let later = ok(&["store", "sql", "--dialect", "sqlite", "--from", "3"]).await;
    assert!(!later.contains("migration 3\n") && later.contains("migration 4\n"));
    let v = ok_json(&["store", "sql", "--dialect", "sqlite"]).await;
    assert_eq!(
        v["migrations"].as_array().unwrap().len() as i64,
        Store::schema_version()
    );
    let (exit, code, _) = fails(&["store", "sql", "--dialect", "redis"], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_input"));

    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("s.db").display());
    // Purge needs a migrated schema (it never runs DDL).
    let (exit, code, _) = fails(&["store", "purge", &url], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_config"));
    let text = ok(&["store", "migrate", &url]).await;
    assert_eq!(
        text,
        format!(
            "sqlite store: schema at version {}\n",
            Store::schema_version()
        )
    );
    let v = ok_json(&["store", "purge", &url]).await;
    assert_eq!(v["purged"], 0);
    assert_eq!(v["backend"], "sqlite");
    let (exit, code, _) = fails(&["store", "migrate", "memory://"], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_input"));
    let (exit, code, msg) = fails(
        &["store", "migrate", "postgres://u:s3cret@127.0.0.1:1/db"],
        None,
    )
    .await;
    assert_eq!(
        (exit, code.as_str()),
        (EXIT_UNAVAILABLE, "store_unavailable")
    );
    assert!(!msg.contains("s3cret"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn usage_help_and_version() {
    let (exit, code, _) = fails(&["frobnicate"], None).await;
    assert_eq!((exit, code.as_str()), (EXIT_USAGE, "invalid_input"));
    let o = done_with(&["keys", "rotate"], None).await;
    assert_eq!(
        o.stderr,
        "error: invalid_input: keys rotate needs FILE\n\
         usage: polyauth keys rotate FILE [--alg ALG] [--keep N] [--json]\n"
    );
    let o = done_with(&[], None).await;
    assert_eq!(o.code, EXIT_USAGE);
    assert!(ok(&["help"]).await.contains("exit codes"));
    assert!(ok(&["token", "verify", "--help"])
        .await
        .contains("--jwks FILE|URL"));
    assert_eq!(
        ok(&["--version"]).await,
        format!("polyauth {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn utc_dates() {
    assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
}
