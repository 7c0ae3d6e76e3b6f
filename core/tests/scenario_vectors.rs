//! The scenario vectors (`vectors/sessions.json`, `onetime.json`, `throttle.json`, `mfa.json`,
//! `errors.json`): the scripted cases pytest and node:test run through the bindings, here against
//! every backend. Each case gets fresh stores; its clock T is the current 30-second step's start
//! plus one second, and a step's `at` is injected as `now = T + at`.

mod common;

use std::collections::{HashMap, HashSet};

use common::{project_vectors, read_json, stores};
use polyauth_core::mfa::{self, EncryptionKeys, KeyMaterial, Mfa, MfaConfig};
use polyauth_core::onetime::OneTimeTokens;
use polyauth_core::session::{Sessions, SessionsConfig, TokenPair};
use polyauth_core::store::{Counter, Store};
use polyauth_core::throttle::{Throttle, ThrottleConfig, LOCKED_FOREVER};
use polyauth_core::totp::{Totp, TotpConfig};
use polyauth_core::{Alg, Error, KeySet, KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

const FILES: [&str; 5] = ["sessions", "onetime", "throttle", "mfa", "errors"];

fn totp() -> Totp {
    Totp::new(TotpConfig {
        issuer: "Polyauth Test".into(),
        ..TotpConfig::default()
    })
    .unwrap()
}

fn is_refresh(t: &str, prefix: &str) -> bool {
    t.len() == 47
        && t.starts_with(prefix)
        && t[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_recovery_code(c: &str) -> bool {
    let groups: Vec<&str> = c.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 6
                && g.bytes().all(|b| {
                    b.is_ascii_digit() || (b.is_ascii_lowercase() && !b"ilou".contains(&b))
                })
        })
}

/// A time as an offset from the case's clock; "forever" for a lock until reset.
fn rel(t: Option<i64>, base: i64) -> Value {
    match t {
        None => Value::Null,
        Some(t) if t >= LOCKED_FOREVER => json!("forever"),
        Some(t) => json!(t - base),
    }
}

fn int<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn sessions_config(o: &Value) -> SessionsConfig {
    let d = SessionsConfig::default();
    let get = |k: &str, d: u64| o.get(k).map_or(d, |v| int(v, k));
    SessionsConfig {
        refresh_ttl: get("refresh_ttl", d.refresh_ttl),
        idle_ttl: get("idle_ttl", d.idle_ttl),
        reuse_grace: get("reuse_grace", d.reuse_grace),
    }
}

fn throttle_config(o: &Value) -> ThrottleConfig {
    let d = ThrottleConfig::default();
    let get = |k: &str, d: i64| o.get(k).map_or(d, |v| int(v, k));
    ThrottleConfig {
        free_attempts: get("free_attempts", d.free_attempts),
        base_delay: get("base_delay", d.base_delay),
        max_delay: get("max_delay", d.max_delay),
        max_failures: get("max_failures", d.max_failures),
        reset_after: get("reset_after", d.reset_after),
    }
}

fn keys(list: &Value) -> polyauth_core::Result<EncryptionKeys> {
    let materials: Vec<KeyMaterial> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|k| KeyMaterial::Text(Zeroizing::new(k.as_str().unwrap().to_owned())))
        .collect();
    EncryptionKeys::new(&materials)
}

fn audience(v: Option<&Value>) -> Vec<String> {
    match v {
        None => vec!["api".into()],
        Some(Value::String(s)) => vec![s.clone()],
        Some(list) => int(list, "audience"),
    }
}

struct Case {
    store: Store,
    base: i64,
    saved: HashMap<String, Value>,
    labels: HashMap<String, String>,
    seen: HashSet<String>,
    services: HashMap<String, (Tokens, Sessions)>,
    one_time: OneTimeTokens,
    throttles: HashMap<String, Throttle>,
    mfas: HashMap<String, Mfa>,
}

impl Case {
    fn new(store: &Store, keyset: &KeySet, case: &Value) -> Case {
        let now = polyauth_core::token::now();
        let mut services = HashMap::new();
        let default_services = json!({"api": {}});
        for (name, s) in case
            .get("services")
            .unwrap_or(&default_services)
            .as_object()
            .unwrap()
        {
            let issuer = s["issuer"].as_str().unwrap_or("https://issuer.test");
            let tokens = Tokens::new(
                KeySource::Local(keyset.clone()),
                TokensConfig::new(issuer, audience(s.get("audience"))),
            )
            .unwrap();
            let sessions =
                Sessions::new(store.clone(), tokens.clone(), sessions_config(s)).unwrap();
            services.insert(name.clone(), (tokens, sessions));
        }
        let throttles = match case.get("throttles") {
            Some(t) => t.clone(),
            None => json!({"main": case.get("throttle").cloned().unwrap_or(json!({}))}),
        };
        let throttles = throttles
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, cfg)| {
                let t = Throttle::new(store.clone(), throttle_config(cfg)).unwrap();
                (name.clone(), t)
            })
            .collect();
        let m = case.get("mfa").cloned().unwrap_or(json!({}));
        let mfa_throttle = Throttle::new(
            store.clone(),
            throttle_config(
                m.get("throttle")
                    .unwrap_or(&json!({"base_delay": 600, "max_delay": 600})),
            ),
        )
        .unwrap();
        let keyrings = m
            .get("keys")
            .cloned()
            .unwrap_or(json!({"main": ["11".repeat(32)]}));
        let new_mfa = |ring: &Value, ttl: Option<&Value>| {
            let mut config = MfaConfig::default();
            if let Some(t) = ttl {
                config.enrollment_ttl = int(t, "enrollment_ttl");
            }
            Mfa::new(
                store.clone(),
                totp(),
                keys(ring).unwrap(),
                Some(mfa_throttle.clone()),
                config,
            )
            .unwrap()
        };
        let mut mfas: HashMap<String, Mfa> = keyrings
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, ring)| (name.clone(), new_mfa(ring, m.get("enrollment_ttl"))))
            .collect();
        for (name, o) in m
            .get("instances")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            mfas.insert(
                name.clone(),
                new_mfa(&keyrings["main"], o.get("enrollment_ttl")),
            );
        }
        Case {
            store: store.clone(),
            base: now - now % 30 + 1,
            saved: HashMap::new(),
            labels: HashMap::new(),
            seen: HashSet::new(),
            services,
            one_time: OneTimeTokens::new(store.clone()),
            throttles,
            mfas,
        }
    }

    // ---- values -------------------------------------------------------------------------------

    fn value(&self, v: &Value) -> Value {
        let text = |v: &Value| self.value(v).as_str().unwrap().to_owned();
        match v {
            Value::String(s) if s.starts_with('$') => {
                let mut parts = s[1..].split('.');
                let name = parts.next().unwrap();
                let mut out = self
                    .saved
                    .get(name)
                    .unwrap_or_else(|| panic!("nothing saved as {name}"));
                for p in parts {
                    out = match out {
                        Value::Array(a) => &a[p.parse::<usize>().unwrap()],
                        o => &o[p],
                    };
                }
                out.clone()
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => {
                if let Some(s) = o.get("repeat") {
                    json!(s.as_str().unwrap().repeat(int(&o["times"], "times")))
                } else if let Some(parts) = o.get("concat") {
                    json!(parts
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(text)
                        .collect::<String>())
                } else if let Some(args) = o.get("slice") {
                    let chars: Vec<char> = text(&args[0]).chars().collect();
                    let n = chars.len() as i64;
                    let at = |i: &Value| {
                        let i = i.as_i64().unwrap();
                        (if i < 0 { n + i } else { i }).clamp(0, n) as usize
                    };
                    let start = at(&args[1]);
                    let end = args.get(2).map_or(chars.len(), at);
                    json!(chars[start..end.max(start)].iter().collect::<String>())
                } else if let Some(s) = o.get("upper") {
                    json!(text(s).to_uppercase())
                } else if let Some(args) = o.get("replace") {
                    let (from, to) = (args[1].as_str().unwrap(), args[2].as_str().unwrap());
                    json!(text(&args[0]).replace(from, to))
                } else if let Some(name) = o.get("totp").or_else(|| o.get("wrong_totp")) {
                    let secret = self.saved[name.as_str().unwrap()]["secret"]
                        .as_str()
                        .unwrap();
                    let at = self.base + o["at"].as_i64().unwrap();
                    let code = totp().code(secret, at as u64).unwrap();
                    if o.contains_key("totp") {
                        json!(code)
                    } else {
                        json!(format!(
                            "{:06}",
                            (code.parse::<u32>().unwrap() + 1) % 1_000_000
                        ))
                    }
                } else {
                    Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
                }
            }
            other => other.clone(),
        }
    }

    fn arg(&self, step: &Value, key: &str) -> String {
        self.value(&step[key])
            .as_str()
            .unwrap_or_else(|| panic!("{key} of {step} is not a string"))
            .to_owned()
    }

    fn now(&self, step: &Value) -> i64 {
        step.get("at").map_or_else(polyauth_core::token::now, |a| {
            self.base + a.as_i64().unwrap()
        })
    }

    fn save(&mut self, step: &Value, value: Value) {
        let name = step["save"].as_str().unwrap_or("_").to_owned();
        self.saved.insert(name, value);
    }

    // ---- results ------------------------------------------------------------------------------

    fn pair(&mut self, step: &Value, tokens: &Tokens, pair: TokenPair) -> Value {
        assert!(
            is_refresh(&pair.refresh_token, "prt_") && self.seen.insert(pair.refresh_token.clone()),
            "a fresh prt_ token"
        );
        if let Some(name) = step["save"].as_str() {
            self.labels
                .entry(pair.session_id.clone())
                .or_insert_with(|| name.to_owned());
            self.save(
                step,
                json!({"access_token": pair.access_token, "refresh_token": pair.refresh_token, "session_id": pair.session_id}),
            );
        }
        let mut claims = tokens
            .verify(&pair.access_token, &VerifyOptions::default())
            .unwrap();
        assert_eq!(claims["sid"], json!(pair.session_id));
        let jti = claims["jti"].as_str().unwrap().to_owned();
        assert!(self.seen.insert(jti), "a fresh jti");
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        let label = self
            .labels
            .get(&pair.session_id)
            .cloned()
            .unwrap_or_else(|| "?".into());
        claims.insert("sid".into(), json!(label));
        let mut out = json!({
            "session": label, "sub": claims["sub"], "expires_in": pair.expires_in,
            "access_lifetime": lifetime,
            "refresh_expires_at": rel(Some(pair.refresh_expires_at), self.base),
        });
        let want = step["expect"].as_object().cloned().unwrap_or_default();
        if let Some(w) = want.get("claims").and_then(Value::as_object) {
            let got: Map<String, Value> = w
                .keys()
                .filter_map(|k| claims.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            out["claims"] = Value::Object(got);
        }
        let projected: Map<String, Value> = want
            .keys()
            .filter_map(|k| out.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        Value::Object(projected)
    }

    fn counter(&self, now: i64, c: Counter) -> Value {
        let locked = if c.locked_until >= LOCKED_FOREVER {
            json!("forever")
        } else {
            json!((c.locked_until - now).max(0))
        };
        json!({"failures": c.failures, "locked_for": locked})
    }

    // ---- steps --------------------------------------------------------------------------------

    /// The step's result (its last, with `times`) in the vectors' terms.
    async fn run(&mut self, step: &Value) -> Value {
        let mut out = Value::Null;
        for _ in 0..step.get("times").map_or(1, |t| t.as_u64().unwrap()) {
            out = match self.op(step).await {
                Ok(v) => v,
                Err(e) => match e.retry_after() {
                    Some(s) if s > 1 << 52 => json!({"error": e.code(), "retry_after": "forever"}),
                    Some(s) => json!({"error": e.code(), "retry_after": s}),
                    None => json!({"error": e.code()}),
                },
            };
        }
        out
    }

    async fn op(&mut self, step: &Value) -> Result<Value, Error> {
        let op = step["op"].as_str().unwrap();
        let now = self.now(step);
        let service = step["service"].as_str().unwrap_or("api");
        let (tokens, sessions) = self.services[service].clone();
        let throttle = self.throttles[step["throttle"].as_str().unwrap_or("main")].clone();
        let mfa = self.mfas[step["mfa"].as_str().unwrap_or("main")].clone();
        let subject = step
            .get("subject")
            .map(|s| self.value(s).as_str().unwrap().to_owned())
            .unwrap_or_default();
        let context = step
            .get("context")
            .map(|c| self.value(c).as_str().unwrap().to_owned());
        let object = |k: &str| {
            step.get(k)
                .map(|v| self.value(v).as_object().unwrap().clone())
                .unwrap_or_default()
        };
        Ok(match op {
            // Sessions
            "start" => {
                let pair = sessions
                    .start_at(&subject, object("claims"), object("meta"), now)
                    .await?;
                self.pair(step, &tokens, pair)
            }
            "refresh" => {
                let pair = sessions.refresh_at(&self.arg(step, "token"), now).await?;
                self.pair(step, &tokens, pair)
            }
            "revoke" => json!(sessions.revoke(&self.arg(step, "session")).await?),
            "revoke_all" => json!(sessions.revoke_all(&subject).await?),
            "revoke_refresh_token" => {
                json!(sessions.revoke_refresh_token(&self.arg(step, "token")).await?)
            }
            "is_active" => json!(sessions.is_active_at(&self.arg(step, "session"), now).await?),
            "list" => Value::Array(
                sessions
                    .list(&subject)
                    .await?
                    .into_iter()
                    .map(|s| {
                        assert_eq!(s.subject, subject);
                        json!({
                            "session": self.labels.get(&s.session_id).cloned().unwrap_or_else(|| "?".into()),
                            "created_at": rel(Some(s.created_at), self.base),
                            "last_used_at": rel(Some(s.last_used_at), self.base),
                            "expires_at": rel(Some(s.expires_at), self.base),
                            "claims": s.claims, "meta": s.meta,
                        })
                    })
                    .collect(),
            ),
            "purge" => json!({"removed": self.store.purge_expired_at(now).await? > 0}),
            // One-time tokens
            "issue" => {
                let ttl = step.get("ttl").map_or(3600, |t| int(t, "ttl"));
                let data = step.get("data").map(|d| self.value(d)).filter(|d| !d.is_null());
                let token = self
                    .one_time
                    .issue_at(&subject, &self.arg(step, "purpose"), ttl, data, now)
                    .await?;
                assert!(
                    is_refresh(&token, "pot_") && self.seen.insert(token.clone()),
                    "a fresh pot_ token"
                );
                self.save(step, json!(token));
                json!({"issued": true})
            }
            "consume" | "peek" => {
                let (token, purpose) = (self.arg(step, "token"), self.arg(step, "purpose"));
                let (subject, data) = if op == "consume" {
                    self.one_time.consume_at(&token, &purpose, now).await?
                } else {
                    self.one_time.peek_at(&token, &purpose, now).await?
                };
                json!({"subject": subject, "data": data})
            }
            // Throttle
            "fail" => self.counter(now, throttle.fail_at(&self.arg(step, "key"), now).await?),
            "attempt" => self.counter(now, throttle.attempt_at(&self.arg(step, "key"), now).await?),
            "check" => {
                throttle.check_at(&self.arg(step, "key"), now).await?;
                Value::Null
            }
            "reset" => {
                throttle.reset(&self.arg(step, "key")).await?;
                Value::Null
            }
            // Mfa
            "begin" => {
                let account = step.get("account").map_or("jane@example.com".into(), |_| {
                    self.arg(step, "account")
                });
                let e = mfa.begin_enrollment_at(&subject, &account, now).await?;
                assert!(e.secret.len() >= 32);
                assert_eq!(*Totp::parse_uri(&e.uri).unwrap().secret, *e.secret);
                self.save(step, json!({"secret": e.secret.as_str()}));
                json!({"expires_at": e.expires_at - self.base})
            }
            "confirm" | "regenerate" => {
                let codes = if op == "confirm" {
                    mfa.confirm_at(&subject, &self.arg(step, "code"), now).await?
                } else {
                    mfa.regenerate_recovery_codes(&subject).await?
                };
                let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
                let distinct: HashSet<&String> = codes.iter().collect();
                assert!(distinct.len() == codes.len() && codes.iter().all(|c| is_recovery_code(c)));
                let n = codes.len();
                self.save(step, json!(codes));
                json!({"recovery_codes": n})
            }
            "verify" => {
                let code = self.arg(step, "code");
                let n = mfa.verify_in(&subject, &code, context.as_deref(), now).await?;
                json!({"step": n as i64 - self.base / 30})
            }
            "recover" => {
                let code = self.arg(step, "code");
                let left = mfa
                    .verify_recovery_code_in(&subject, &code, context.as_deref(), now)
                    .await?;
                json!({"remaining": left})
            }
            "disable" => json!(mfa.disable(&subject).await?),
            "status" => {
                let s = mfa.status_at(&subject, now).await?;
                json!({
                    "enabled": s.enabled, "pending": s.pending,
                    "confirmed_at": rel(s.confirmed_at, self.base),
                    "last_used_at": rel(s.last_used_at, self.base),
                    "recovery_codes_remaining": s.recovery_codes_remaining,
                })
            }
            "unlock" => {
                let key = mfa::throttle_key_in(&subject, context.as_deref());
                Throttle::new(self.store.clone(), ThrottleConfig::default())?
                    .reset(&key)
                    .await?;
                Value::Null
            }
            // Construction and opening
            "new_sessions" => {
                Sessions::new(self.store.clone(), tokens, sessions_config(&step["options"]))?;
                json!({"ok": true})
            }
            "new_throttle" => {
                Throttle::new(self.store.clone(), throttle_config(&step["options"]))?;
                json!({"ok": true})
            }
            "new_mfa" => {
                let mut config = MfaConfig::default();
                if let Some(t) = step.get("enrollment_ttl") {
                    config.enrollment_ttl = int(t, "enrollment_ttl");
                }
                let m = Mfa::new(self.store.clone(), totp(), keys(&self.value(&step["keys"]))?, None, config)?;
                json!({"key_ids": m.key_ids().len()})
            }
            "open_store" => {
                Store::open(&self.arg(step, "url")).await?;
                json!({"ok": true})
            }
            other => panic!("unknown op {other}"),
        })
    }
}

/// `got` with a `retry_after` inside an expected `[low, high]` range replaced by it.
fn matches(mut got: Value, want: &Value) -> Value {
    if let (Some(range), Some(n)) = (
        want.get("retry_after").and_then(Value::as_array),
        got.get("retry_after").and_then(Value::as_i64),
    ) {
        if range[0].as_i64().unwrap() <= n && n <= range[1].as_i64().unwrap() {
            got["retry_after"] = want["retry_after"].clone();
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scenario_vectors() {
    let keyset = KeySet::generate(Alg::EdDSA, None).unwrap();
    for file in FILES {
        let vectors = read_json(project_vectors().join(format!("{file}.json")));
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 5, "{file}");
        for case in cases {
            let name = case["name"].as_str().unwrap();
            for store in stores().await {
                let b = store.backend();
                let mut c = Case::new(&store, &keyset, case);
                for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
                    let got = c.run(step).await;
                    let want = c.value(&step["expect"]);
                    let shown: String = step.to_string().chars().take(2000).collect();
                    assert_eq!(
                        matches(got, &want),
                        want,
                        "{file} {b}: {name}: step {i} {shown}"
                    );
                }
            }
        }
    }
}
