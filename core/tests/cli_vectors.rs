//! vectors/cli.json through `polyauth_core::cli::run` (the code both tools call): exit codes,
//! exact outputs and JSON shapes. The cases needing a server are left to the binding suites, and a
//! `*_regex` expectation is checked there (the core has no regex engine); stdin is given when
//! the core asks for it, as the tools do. A JWKS URL case is run only up to its fetch request.

mod common;

use polyauth_core::cli::{run, CliOutput, Input, Outcome};
use serde_json::Value;
use zeroize::Zeroizing;

fn subst(value: &Value, values: &[(String, String)]) -> Value {
    match value {
        Value::String(s) => {
            let mut s = s.clone();
            for (k, v) in values {
                s = s.replace(k, v);
            }
            Value::String(s)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| subst(v, values)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), subst(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn match_shape(actual: &Value, shape: &Value, at: &str) {
    match shape {
        Value::String(s) if s == "<any>" => {}
        Value::String(s) if s == "<string>" => assert!(actual.is_string(), "{at}"),
        Value::String(s) if s == "<int>" => assert!(actual.is_i64() || actual.is_u64(), "{at}"),
        Value::Array(items) => {
            let got = actual
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not an array"));
            assert_eq!(got.len(), items.len(), "{at}");
            for (i, (a, s)) in got.iter().zip(items).enumerate() {
                match_shape(a, s, &format!("{at}[{i}]"));
            }
        }
        Value::Object(m) => {
            let got = actual
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object"));
            let mut want: Vec<_> = m.keys().collect();
            let mut have: Vec<_> = got.keys().collect();
            want.sort();
            have.sort();
            assert_eq!(have, want, "{at}");
            for (k, v) in m {
                match_shape(&got[k], v, &format!("{at}.{k}"));
            }
        }
        other => assert_eq!(actual, other, "{at}"),
    }
}

/// Runs `argv` to completion the way the tools do; `None` when it asks for a JWKS fetch.
async fn run_to_end(argv: Vec<String>, stdin: Option<&str>) -> Option<CliOutput> {
    let mut input = Input::default();
    loop {
        let given = input.stdin.clone();
        match run(argv.clone(), input).await {
            Outcome::Done(o) => return Some(o),
            Outcome::NeedFetch(_) => return None,
            Outcome::NeedStdin { .. } => {
                assert!(given.is_none(), "stdin asked for twice");
                input = Input {
                    stdin: Some(Zeroizing::new(stdin.unwrap_or("").as_bytes().to_vec())),
                    remote: None,
                };
            }
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_vectors() {
    let doc = common::read_json(common::project_vectors().join("cli.json"));
    let fx = &doc["fixtures"];
    let mut ran = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case.get("needs").is_some() {
            continue;
        }
        let dir =
            std::env::temp_dir().join(format!("polyauth-cli-vectors-{}", common::rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
        std::fs::write(dir.join("keys.json"), fx["private_jwks"].to_string()).unwrap();
        std::fs::write(dir.join("public.json"), fx["public_jwks"].to_string()).unwrap();
        std::fs::write(dir.join("bad.json"), r#"{"keys": [{"kty": "nope"}]}"#).unwrap();
        std::fs::write(dir.join("not-key.txt"), "hello\n").unwrap();
        let values: Vec<(String, String)> = vec![
            ("{keys}".into(), path("keys.json")),
            ("{public}".into(), path("public.json")),
            ("{bad_jwks}".into(), path("bad.json")),
            ("{not_key}".into(), path("not-key.txt")),
            ("{missing}".into(), path("missing.json")),
            ("{dir}".into(), dir.to_string_lossy().into_owned()),
            ("{token}".into(), fx["token"].as_str().unwrap().to_owned()),
            ("{sqlite}".into(), format!("sqlite://{}", path("store.db"))),
        ];
        let want = subst(case, &values);
        for before in want
            .get("before")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let o = run_to_end(strings(before), None).await.unwrap();
            assert_eq!(o.code, 0, "{name}: {}", o.stderr);
        }
        let stdin = want["stdin"].as_str();
        let Some(o) = run_to_end(strings(&want["argv"]), stdin).await else {
            std::fs::remove_dir_all(&dir).unwrap();
            continue;
        };
        ran += 1;
        assert_eq!(
            i64::from(o.code),
            want["exit"].as_i64().unwrap(),
            "{name}: {}",
            o.stderr
        );
        if let Some(s) = want["stdout"].as_str() {
            assert_eq!(o.stdout.as_str(), s, "{name}");
        } else if let Some(shape) = want.get("stdout_json") {
            let got: Value = serde_json::from_str(&o.stdout).unwrap();
            match_shape(&got, shape, name);
        } else if want.get("stdout_regex").is_none() {
            assert_eq!(o.stdout.as_str(), "", "{name}");
        }
        if let Some(s) = want["stderr"].as_str() {
            assert_eq!(o.stderr, s, "{name}");
        } else if want.get("stderr_regex").is_none() {
            assert_eq!(o.stderr, "", "{name}");
        } else {
            let line = o.stderr.lines().next().unwrap_or_default();
            let code = line
                .strip_prefix("error: ")
                .and_then(|r| r.split(": ").next());
            assert!(
                code.is_some_and(|c| polyauth_core::Error::CODES.contains(&c)),
                "{name}: {line}"
            );
        }
        if let Some(shape) = want.get("file_json") {
            let got: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("keys.json")).unwrap())
                    .unwrap();
            match_shape(&got, shape, name);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(ran > 50, "{ran}");
}
