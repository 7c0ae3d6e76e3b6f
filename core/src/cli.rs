//! The `polyauth` command-line tool: parsing, dispatch, output and exit codes, shared by
//! `python -m polyauth` and `npx polyauth` so that both print the same bytes and exit alike.
//!
//! The bindings only do what needs their host: read stdin and fetch a JWKS URL over HTTP. [`run`]
//! says when it needs either ([`Outcome::NeedStdin`], [`Outcome::NeedFetch`]) before doing
//! anything, and the binding calls it again with the input filled in ([`Input`]).
//!
//! Exit codes ([`EXIT_OK`] ...): 0 ok; 1 refused (a token, key, password or hash was not
//! accepted: `invalid_signature`, `token_expired`, `invalid_key`, ...); 2 usage or configuration
//! error (`invalid_input`, `invalid_config`); 3 unavailable (a file that cannot be read or
//! written, `store_unavailable`, `jwks_unavailable`); 4 `internal_error`. An error prints
//! `error: <code>: <message>` on stderr; with `--json`, `{"ok": false, "error": {"code",
//! "message"}}` on stdout. Every code is one of [`Error::CODES`].
//!
//! Secrets: the password read for `hash` stays in wiped memory; no message quotes a password,
//! a key, a token or a store URL.

pub mod args;

use std::io::Write;
use std::path::Path;

use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::error::{excerpt, Error};
use crate::keys::{Alg, KeySet};
use crate::password::{password_from_utf8, HasherConfig, PasswordHasher, PasswordPolicy};
use crate::remote::{RemoteConfig, RemoteKeySet};
use crate::store::{OpenOptions, Store};
use crate::token::{KeySource, Tokens, TokensConfig, VerifyOptions};
use args::{ParseError, Parsed};

pub const EXIT_OK: i32 = 0;
/// A token, key, password or hash was refused.
pub const EXIT_REFUSED: i32 = 1;
/// A usage or configuration error (`invalid_input`, `invalid_config`).
pub const EXIT_USAGE: i32 = 2;
/// A file, store or JWKS URL could not be read, written or reached.
pub const EXIT_UNAVAILABLE: i32 = 3;
/// A bug (`internal_error`).
pub const EXIT_INTERNAL: i32 = 4;

/// The first line of `token inspect`, and the `warning` of its JSON.
pub const NOT_VERIFIED: &str =
    "NOT VERIFIED: decoded only; the signature, expiry, issuer and audience were not checked";

/// Largest token accepted by `token inspect` (as `Tokens`' `max_token_size` ceiling).
const MAX_INSPECT_BYTES: usize = 1 << 20;
/// Largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

/// What the host provides on the second call.
#[derive(Default)]
pub struct Input {
    /// Standard input, read in full (only when [`Outcome::NeedStdin`] asked for it).
    pub stdin: Option<Zeroizing<Vec<u8>>>,
    /// The remote key set of [`Outcome::NeedFetch`], after the host tried to fetch it (a failed
    /// fetch is recorded in it and reported from it).
    pub remote: Option<RemoteKeySet>,
}

/// What the process prints and its exit code.
#[derive(Debug)]
pub struct CliOutput {
    pub code: i32,
    pub stdout: Zeroizing<String>,
    pub stderr: String,
}

/// The result of [`run`].
#[derive(Debug)]
pub enum Outcome {
    Done(CliOutput),
    /// Read stdin in full and call again with [`Input::stdin`]. `secret`: it is a password (on a
    /// terminal, prompt with `prompt` on stderr and do not echo).
    NeedStdin {
        secret: bool,
        prompt: &'static str,
    },
    /// Build the host's `RemoteKeySet` with exactly this configuration (URL, `allow_insecure_http`,
    /// timeout), try one refresh (its failure is recorded in it), and call again with
    /// [`Input::remote`].
    NeedFetch(RemoteConfig),
}

/// A failure: the error and the exit code it maps to.
struct Failure {
    error: Error,
    exit: i32,
    command: Option<&'static args::Command>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let exit = match error.code() {
            "invalid_input" | "invalid_config" => EXIT_USAGE,
            "store_unavailable" | "jwks_unavailable" => EXIT_UNAVAILABLE,
            "internal_error" => EXIT_INTERNAL,
            _ => EXIT_REFUSED,
        };
        Failure {
            error,
            exit,
            command: None,
        }
    }
}

type Res<T> = std::result::Result<T, Failure>;

fn usage_err(message: impl Into<String>) -> Failure {
    Failure::from(Error::InvalidInput(message.into()))
}

/// A file as messages name it: its last component, as a short escaped excerpt.
fn file_label(path: &str) -> String {
    let name = Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
    excerpt(&name)
}

fn io_err(what: &str, path: &str, e: &std::io::Error) -> Failure {
    Failure {
        error: Error::InvalidConfig(format!("cannot {what} {}: {}", file_label(path), e.kind())),
        exit: EXIT_UNAVAILABLE,
        command: None,
    }
}

/// A command's normal result: its JSON (with `--json`) and its text.
struct Success {
    json: Map<String, Value>,
    text: Zeroizing<String>,
}

enum Step {
    Done(Success),
    Need(Outcome),
}

/// Runs the tool on `args` (without the program name). Panics become `internal_error` (exit 4):
/// the work runs in a tokio task, so this must be awaited inside a tokio runtime.
pub async fn run(args: Vec<String>, input: Input) -> Outcome {
    let json = args::wants_json(&args);
    let task = tokio::spawn(async move { dispatch(&args, input).await });
    let result = match task.await {
        Ok(r) => r,
        Err(_) => Err(Failure::from(Error::Internal(
            "internal error (a bug in polyauth; please report it)".into(),
        ))),
    };
    match result {
        Ok(Step::Need(outcome)) => outcome,
        Ok(Step::Done(s)) => Outcome::Done(success(s, json)),
        Err(f) => Outcome::Done(failure(f, json)),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
}

fn success(s: Success, json: bool) -> CliOutput {
    let stdout = if json {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        m.extend(s.json);
        let mut text = Zeroizing::new(pretty(&Value::Object(m)));
        text.push('\n');
        text
    } else {
        s.text
    };
    CliOutput {
        code: EXIT_OK,
        stdout,
        stderr: String::new(),
    }
}

fn failure(f: Failure, json: bool) -> CliOutput {
    let code = f.error.code();
    // "invalid_token: invalid token: ..." says it twice: the code stands for the prefix.
    let full = f.error.to_string();
    let prefix = format!("{}: ", code.replace('_', " "));
    let message = full.strip_prefix(&prefix).unwrap_or(&full).to_owned();
    if json {
        let v = json!({"ok": false, "error": {"code": code, "message": message}});
        CliOutput {
            code: f.exit,
            stdout: Zeroizing::new(pretty(&v) + "\n"),
            stderr: String::new(),
        }
    } else {
        let mut stderr = format!("error: {code}: {message}\n");
        if f.exit == EXIT_USAGE && code == "invalid_input" {
            match f.command {
                Some(c) => stderr.push_str(&format!("usage: {}\n", args::synopsis(c))),
                None => stderr.push_str("run \"polyauth help\" for the list of commands\n"),
            }
        }
        CliOutput {
            code: f.exit,
            stdout: Zeroizing::new(String::new()),
            stderr,
        }
    }
}

fn text_only(text: String) -> Step {
    let mut json = Map::new();
    json.insert("text".into(), Value::String(text.clone()));
    Step::Done(Success {
        json,
        text: Zeroizing::new(text),
    })
}

async fn dispatch(args: &[String], input: Input) -> Res<Step> {
    let parsed = match args::parse(args) {
        Ok(p) => p,
        Err(ParseError::Help(None)) => return Ok(text_only(args::general_help())),
        Err(ParseError::Help(Some(c))) => return Ok(text_only(args::command_help(c))),
        Err(ParseError::Version) => {
            let v = env!("CARGO_PKG_VERSION");
            let mut json = Map::new();
            json.insert("version".into(), Value::String(v.into()));
            return Ok(Step::Done(Success {
                json,
                text: Zeroizing::new(format!("polyauth {v}\n")),
            }));
        }
        Err(ParseError::Usage(error, command)) => {
            return Err(Failure {
                error,
                exit: EXIT_USAGE,
                command,
            })
        }
    };
    let command = parsed.command;
    let result = match command.name {
        "keys generate" => keys_generate(&parsed),
        "keys rotate" => keys_rotate(&parsed),
        "keys public" => keys_public(&parsed),
        "token inspect" => token_inspect(&parsed, input),
        "token verify" => token_verify(&parsed, input),
        "hash" => hash(&parsed, input).await,
        "mfa key" => mfa_key(),
        "store migrate" => store_migrate(&parsed).await,
        "store purge" => store_purge(&parsed).await,
        "store sql" => store_sql(&parsed),
        _ => Err(Failure::from(Error::Internal(
            "command without a handler".into(),
        ))),
    };
    result.map_err(|mut f| {
        if f.command.is_none() {
            f.command = Some(command);
        }
        f
    })
}

fn done(json: Map<String, Value>, text: impl Into<String>) -> Res<Step> {
    Ok(Step::Done(Success {
        json,
        text: Zeroizing::new(text.into()),
    }))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `--alg`: a usage error when unsupported (it is an argument, not a refused key).
fn alg_arg(p: &Parsed) -> Res<Option<Alg>> {
    match p.value("alg") {
        None => Ok(None),
        Some(name) => Alg::parse(name).map(Some).map_err(|e| Failure {
            error: e,
            exit: EXIT_USAGE,
            command: None,
        }),
    }
}

fn number_arg<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    p: &Parsed,
    name: &str,
    min: T,
    max: T,
) -> Res<Option<T>> {
    let Some(text) = p.value(name) else {
        return Ok(None);
    };
    match text.parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(Some(v)),
        _ => Err(usage_err(format!(
            "--{name} must be a whole number from {min} to {max}"
        ))),
    }
}

fn read_file(path: &str) -> Res<Zeroizing<String>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| io_err("read", path, &e))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_err("read", path, &e))?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(usage_err(format!(
            "{} is larger than {MAX_KEY_FILE_BYTES} bytes",
            file_label(path)
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(s) => Ok(Zeroizing::new(s.to_owned())),
        Err(_) => Err(Failure::from(Error::InvalidKey(format!(
            "{} is not UTF-8 text",
            file_label(path)
        )))),
    }
}

/// Writes `contents` to `path` atomically: a new temporary file beside it (mode 0600), synced,
/// then renamed over `path`. With `create_new`, an existing `path` is refused.
fn write_private(path: &str, contents: &[u8], create_new: bool) -> Res<()> {
    let target = Path::new(path);
    let name = target
        .file_name()
        .ok_or_else(|| usage_err("FILE must name a file"))?
        .to_string_lossy()
        .into_owned();
    if create_new && target.exists() {
        return Err(usage_err(format!(
            "{} exists; rotate it with \"polyauth keys rotate\"",
            file_label(path)
        )));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut random = [0u8; 8];
    aws_lc_rs::rand::fill(&mut random)
        .map_err(|_| Failure::from(Error::Internal("random generator failed".into())))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(random)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut f = options.open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        if create_new && target.exists() {
            return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
        }
        std::fs::rename(&tmp, target)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err("write", path, &e)
    })
}

fn jwks_text(set: &KeySet, private: bool) -> Zeroizing<String> {
    Zeroizing::new(pretty(&set.to_jwks(private)) + "\n")
}

fn keys_generate(p: &Parsed) -> Res<Step> {
    let alg = alg_arg(p)?.unwrap_or(Alg::EdDSA);
    let set = KeySet::generate(alg, None)?;
    let kid = set.signing_kid().unwrap_or_default();
    let mut json = obj(json!({"alg": alg.name(), "kid": kid}));
    if let Some(out) = p.value("out") {
        write_private(out, jwks_text(&set, true).as_bytes(), true)?;
        json.insert("file".into(), Value::String(out.into()));
        return done(json, format!("{kid}\n"));
    }
    json.insert("jwks".into(), set.to_jwks(true));
    Ok(Step::Done(Success {
        json,
        text: jwks_text(&set, true),
    }))
}

fn keys_rotate(p: &Parsed) -> Res<Step> {
    let path = &p.positionals[0];
    let alg = alg_arg(p)?;
    let keep = number_arg::<usize>(p, "keep", 1, 100)?;
    let text = read_file(path)?;
    if !text.trim_start().starts_with('{') {
        return Err(Failure::from(Error::InvalidKey(
            "keys rotate needs a JWKS file (JSON) with private keys".into(),
        )));
    }
    let set = KeySet::from_jwks(&text, None)?;
    if set.signing_kid().is_none() {
        return Err(Failure::from(Error::InvalidKey(
            "the JWKS holds public keys only; rotate the private JWKS".into(),
        )));
    }
    let kid = set.rotate(alg)?;
    if let Some(keep) = keep {
        let kids = set.kids();
        for old in kids.iter().skip(keep).rev() {
            set.retire(old)?;
        }
    }
    write_private(path, jwks_text(&set, true).as_bytes(), false)?;
    let new_alg = set.signing_key()?.alg();
    let json = obj(json!({"kid": kid, "alg": new_alg.name(), "kids": set.kids(), "file": path}));
    done(json, format!("{kid}\n"))
}

fn keys_public(p: &Parsed) -> Res<Step> {
    let text = read_file(&p.positionals[0])?;
    let set = KeySet::from_text(&text, alg_arg(p)?)?;
    let jwks = set.to_jwks(false);
    let out = pretty(&jwks) + "\n";
    done(obj(json!({"jwks": jwks})), out)
}

/// The token argument, or stdin for `-`.
fn token_arg(p: &Parsed, input: &Input) -> Res<Option<String>> {
    let arg = &p.positionals[0];
    if arg != "-" {
        return Ok(Some(arg.trim().to_owned()));
    }
    match &input.stdin {
        None => Ok(None),
        Some(bytes) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Failure::from(Error::InvalidToken("token is not text".into())))?;
            let t = text.trim();
            if t.is_empty() {
                return Err(usage_err("no token on stdin"));
            }
            Ok(Some(t.to_owned()))
        }
    }
}

fn need_token() -> Res<Step> {
    Ok(Step::Need(Outcome::NeedStdin {
        secret: false,
        prompt: "",
    }))
}

/// Decodes a compact JWS without verifying anything (any `alg`, `none` included).
fn decode(token: &str) -> Res<(Map<String, Value>, Map<String, Value>)> {
    if token.len() > MAX_INSPECT_BYTES {
        return Err(Failure::from(Error::InvalidToken(
            "token is too large".into(),
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() == 5 {
        return Err(Failure::from(Error::InvalidToken(
            "an encrypted token (JWE) cannot be inspected".into(),
        )));
    }
    if parts.len() != 3 {
        return Err(Failure::from(Error::InvalidToken(
            "not a compact JWS (three dot-separated parts)".into(),
        )));
    }
    let part = |s: &str, what: &str| -> Res<Map<String, Value>> {
        let bytes = crate::b64::decode(s)
            .ok_or_else(|| Error::InvalidToken(format!("{what} is not base64url")))?;
        Ok(crate::jws::parse_object(&bytes, what)?)
    };
    Ok((part(parts[0], "header")?, part(parts[1], "payload")?))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a NumericDate (days from civil, H. Hinnant's algorithm).
fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The header and claims as text, with the time claims spelled out in UTC.
fn token_text(
    first_line: &str,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> String {
    let mut out = format!(
        "{first_line}\nheader:\n{}\nclaims:\n{}\n",
        pretty(&Value::Object(header.clone())),
        pretty(&Value::Object(claims.clone()))
    );
    let mut times = String::new();
    for name in ["iat", "nbf", "exp", "auth_time"] {
        if let Some(t) = claims.get(name).and_then(Value::as_i64) {
            if (-62_135_596_800..=253_402_300_799).contains(&t) {
                times.push_str(&format!("  {name:<9} {}\n", utc(t)));
            }
        }
    }
    if !times.is_empty() {
        out.push_str("times (UTC):\n");
        out.push_str(&times);
    }
    out
}

fn token_inspect(p: &Parsed, input: Input) -> Res<Step> {
    let Some(token) = token_arg(p, &input)? else {
        return need_token();
    };
    let (header, claims) = decode(&token)?;
    let text = token_text(NOT_VERIFIED, &header, &claims);
    let json = obj(json!({
        "verified": false,
        "warning": NOT_VERIFIED,
        "header": header,
        "claims": claims,
    }));
    done(json, text)
}

fn is_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn token_verify(p: &Parsed, input: Input) -> Res<Step> {
    let jwks = p.value("jwks").unwrap_or_default();
    let alg = alg_arg(p)?;
    let leeway = number_arg::<u64>(p, "leeway", 0, crate::token::MAX_LEEWAY)?.unwrap_or(30);
    let now = number_arg::<i64>(p, "now", 0, 1 << 40)?;
    if p.flag("no-typ") && p.value("typ").is_some() {
        return Err(usage_err("give --typ or --no-typ, not both"));
    }
    if alg.is_some() && is_url(jwks) {
        return Err(usage_err("--alg applies to a key file, not a JWKS URL"));
    }
    let source = if is_url(jwks) {
        let config = RemoteConfig {
            allow_insecure_http: p.flag("allow-http"),
            ..RemoteConfig::new(jwks)
        };
        match &input.remote {
            Some(r) if r.config().url == config.url => {
                if r.current().is_none() {
                    return Err(Failure::from(Error::JwksUnavailable(
                        r.last_failure()
                            .unwrap_or_else(|| "the key set could not be fetched".into()),
                    )));
                }
                KeySource::Remote(r.clone())
            }
            _ => {
                // Validates the URL (https only, ...) before asking the host to fetch it.
                RemoteKeySet::new(config.clone())?;
                return Ok(Step::Need(Outcome::NeedFetch(config)));
            }
        }
    } else {
        let text = read_file(jwks)?;
        KeySource::Local(KeySet::from_text(&text, alg)?)
    };
    let Some(token) = token_arg(p, &input)? else {
        return need_token();
    };
    let config = TokensConfig {
        leeway,
        max_token_size: 1 << 20,
        ..TokensConfig::new(p.value("iss").unwrap_or_default(), p.values("aud").to_vec())
    };
    let tokens = Tokens::new(source, config)?;
    let required = if p.values("require").is_empty() {
        vec!["sub".to_owned()]
    } else {
        p.values("require").to_vec()
    };
    let options = VerifyOptions {
        audience: None,
        typ: if p.flag("no-typ") {
            None
        } else {
            Some(
                p.value("typ")
                    .unwrap_or(crate::token::ACCESS_TOKEN_TYP)
                    .to_owned(),
            )
        },
        required,
        now,
    };
    let claims = tokens.verify(&token, &options)?;
    let (header, _) = decode(&token)?;
    let first = "VERIFIED: signature, typ, exp/nbf/iat, iss, aud and required claims hold";
    let text = token_text(first, &header, &claims);
    done(
        obj(json!({"verified": true, "header": header, "claims": claims})),
        text,
    )
}

/// The password on stdin: one trailing newline (`\n` or `\r\n`) is removed; an empty input, or
/// more than one line, is refused.
fn password_from_stdin(bytes: &[u8]) -> Res<Zeroizing<String>> {
    let body = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    if body.is_empty() {
        return Err(usage_err(
            "no password on stdin (hash reads one line from stdin)",
        ));
    }
    if body.contains(&b'\n') {
        return Err(usage_err(
            "more than one line on stdin (hash reads one password line)",
        ));
    }
    Ok(password_from_utf8(body)?)
}

async fn hash(p: &Parsed, input: Input) -> Res<Step> {
    let defaults = HasherConfig::default();
    let config = HasherConfig {
        time_cost: number_arg(p, "time-cost", 1u32, 1000)?.unwrap_or(defaults.time_cost),
        memory_kib: number_arg(p, "memory-kib", 1u32, 4 << 20)?.unwrap_or(defaults.memory_kib),
        parallelism: number_arg(p, "parallelism", 1u32, 64)?.unwrap_or(defaults.parallelism),
        ..defaults
    };
    let hasher = PasswordHasher::new(config, PasswordPolicy::default())?;
    let Some(bytes) = input.stdin else {
        return Ok(Step::Need(Outcome::NeedStdin {
            secret: true,
            prompt: "Password: ",
        }));
    };
    let password = password_from_stdin(&bytes)?;
    drop(bytes);
    let phc = hasher.hash_async(password).await?;
    let text = format!("{phc}\n");
    done(obj(json!({"hash": phc})), text)
}

fn mfa_key() -> Res<Step> {
    let key = crate::mfa::generate_key()?;
    let ids =
        crate::mfa::EncryptionKeys::new(&[crate::mfa::KeyMaterial::Text(key.clone())])?.key_ids();
    let id = ids.first().cloned().unwrap_or_default();
    let mut json = obj(json!({"key_id": id}));
    json.insert("key".into(), Value::String(key.to_string()));
    let mut text = Zeroizing::new(String::with_capacity(key.len() + 1));
    text.push_str(&key);
    text.push('\n');
    Ok(Step::Done(Success { json, text }))
}

/// Opens a store given on the command line (its URL is never printed).
async fn open_store(url: &str, migrate: bool) -> Res<Store> {
    if url.starts_with("memory:") {
        return Err(usage_err(
            "memory:// lives inside one process; give a sqlite://, postgres:// or redis:// URL",
        ));
    }
    Ok(Store::open_with(url, OpenOptions { migrate }).await?)
}

async fn store_migrate(p: &Parsed) -> Res<Step> {
    let store = open_store(&p.positionals[0], true).await?;
    let backend = store.backend();
    let (version, text) = match backend {
        "redis" => (
            Value::Null,
            "redis store: no schema to migrate\n".to_owned(),
        ),
        _ => {
            let v = Store::schema_version();
            (
                Value::from(v),
                format!("{backend} store: schema at version {v}\n"),
            )
        }
    };
    done(
        obj(json!({"backend": backend, "schema_version": version})),
        text,
    )
}

async fn store_purge(p: &Parsed) -> Res<Step> {
    // No DDL here: a purge runs as the application role, against a migrated schema.
    let store = open_store(&p.positionals[0], false).await?;
    let backend = store.backend();
    let n = store.purge_expired().await?;
    let unit = if backend == "redis" { "keys" } else { "rows" };
    done(
        obj(json!({"backend": backend, "purged": n})),
        format!("{backend} store: purged {n} expired {unit}\n"),
    )
}

fn store_sql(p: &Parsed) -> Res<Step> {
    let dialect = match p.value("dialect").unwrap_or("postgres") {
        "postgres" | "postgresql" => "postgres",
        "sqlite" => "sqlite",
        other => {
            return Err(usage_err(format!(
                "--dialect must be postgres or sqlite, not \"{}\" (redis has no schema)",
                excerpt(other)
            )))
        }
    };
    let from = number_arg::<i64>(p, "from", 0, 1 << 40)?.unwrap_or(0);
    let mut text = format!(
        "-- polyauth schema migrations for {dialect} (schema version {}).\n\
         -- Apply each once, in order, as the role that owns the schema; each records its version\n\
         -- in polyauth_schema_version. SQLite and PostgreSQL share this text.\n",
        Store::schema_version()
    );
    let mut list = Vec::new();
    for (version, sql) in Store::migrations() {
        if *version > from {
            text.push_str(&format!("\n-- polyauth migration {version}\n{sql}"));
            list.push(json!({"version": version, "sql": sql}));
        }
    }
    done(obj(json!({"dialect": dialect, "migrations": list})), text)
}

#[cfg(test)]
mod tests;
