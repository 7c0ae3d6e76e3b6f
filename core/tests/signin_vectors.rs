//! `vectors/signin.json`: scripted sign-in scenarios, the same file pytest and node:test run
//! through the bindings, here against every backend.

mod common;

use std::collections::HashMap;

use common::{project_vectors, rand_suffix, read_json, stores};
use polyauth_core::account::Accounts;
use polyauth_core::mfa::{EncryptionKeys, KeyMaterial, Mfa, MfaConfig};
use polyauth_core::password::{HasherConfig, PasswordHasher, PasswordPolicy};
use polyauth_core::session::{Sessions, SessionsConfig};
use polyauth_core::signin::{SecondFactorOutcome, SignIn, SignInResult};
use polyauth_core::store::Store;
use polyauth_core::throttle::{Throttle, ThrottleConfig};
use polyauth_core::totp::{Totp, TotpConfig};
use polyauth_core::{Alg, KeySet, KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

fn totp() -> Totp {
    Totp::new(TotpConfig::default()).unwrap()
}

/// What a step produced, as the vectors' `expect` spells it.
fn error_of(e: &polyauth_core::Error) -> Value {
    json!({ "error": e.code() })
}

struct Case {
    accounts: Accounts,
    tokens: Tokens,
    mfa: Mfa,
    signin: SignIn,
    tag: String,
    now: i64,
    subjects: HashMap<String, String>,
    secrets: HashMap<String, (String, Vec<String>)>,
    last_mfa_subject: Option<String>,
    latest_token: Option<String>,
    spent_token: Option<String>,
    last_session: Option<String>,
    reset_token: Option<String>,
    verification_token: Option<String>,
}

impl Case {
    fn new(store: &Store, throttle: Option<&Value>) -> Case {
        let hasher =
            PasswordHasher::new(HasherConfig::default(), PasswordPolicy::default()).unwrap();
        let accounts = Accounts::new(store.clone(), hasher, None);
        let tokens = Tokens::new(
            KeySource::Local(KeySet::generate(Alg::EdDSA, None).unwrap()),
            TokensConfig::new("https://issuer.test", vec!["api".into()]),
        )
        .unwrap();
        let sessions =
            Sessions::new(store.clone(), tokens.clone(), SessionsConfig::default()).unwrap();
        let mfa = Mfa::new(
            store.clone(),
            totp(),
            EncryptionKeys::new(&[KeyMaterial::Bytes(Zeroizing::new(vec![0x22; 32]))]).unwrap(),
            None,
            MfaConfig::default(),
        )
        .unwrap();
        let throttle = throttle.map(|t| {
            let mut c = ThrottleConfig::default();
            let get = |k: &str, d: i64| t.get(k).and_then(Value::as_i64).unwrap_or(d);
            c.free_attempts = get("free_attempts", c.free_attempts);
            c.base_delay = get("base_delay", c.base_delay);
            c.max_delay = get("max_delay", c.max_delay);
            c.max_failures = get("max_failures", c.max_failures);
            c.reset_after = get("reset_after", c.reset_after);
            Throttle::new(store.clone(), c).unwrap()
        });
        let signin = SignIn::new(
            accounts.clone(),
            sessions,
            Some(mfa.clone()),
            throttle,
            None,
        )
        .unwrap();
        Case {
            accounts,
            tokens,
            mfa,
            signin,
            tag: rand_suffix(),
            now: polyauth_core::token::now(),
            subjects: HashMap::new(),
            secrets: HashMap::new(),
            last_mfa_subject: None,
            latest_token: None,
            spent_token: None,
            last_session: None,
            reset_token: None,
            verification_token: None,
        }
    }

    fn text(&self, step: &Value, key: &str) -> String {
        step[key]
            .as_str()
            .unwrap_or_else(|| panic!("step lacks {key}: {step}"))
            .replace("{tag}", &self.tag)
    }

    fn subject(&self, step: &Value) -> String {
        self.subjects[step["account"].as_str().unwrap()].clone()
    }

    /// Runs one step; returns what it produced in the vectors' terms (`None`: nothing to compare).
    async fn run(&mut self, step: &Value) -> Option<Value> {
        match step["op"].as_str().unwrap() {
            "create" => {
                let login = self.text(step, "login");
                let claims = step.get("claims").and_then(Value::as_object).cloned();
                let r = match step.get("password_hash") {
                    Some(h) => {
                        self.accounts
                            .create_with_hash(&login, h.as_str().unwrap(), claims)
                            .await
                    }
                    None => {
                        let p = self.text(step, "password");
                        self.accounts.create(&login, &p, claims).await
                    }
                };
                Some(match r {
                    Ok(a) => {
                        self.subjects
                            .insert(step["as"].as_str().unwrap().to_owned(), a.subject);
                        json!({"account": true})
                    }
                    Err(e) => error_of(&e),
                })
            }
            "disable" => {
                self.accounts.disable(&self.subject(step)).await.unwrap();
                None
            }
            "enroll_mfa" => {
                let subject = self.subject(step);
                let then = self.now - 120;
                let e = self
                    .mfa
                    .begin_enrollment_at(&subject, "user@example.com", then)
                    .await
                    .unwrap();
                let code = totp().code(&e.secret, then as u64).unwrap();
                let codes = self.mfa.confirm_at(&subject, &code, then).await.unwrap();
                let codes = codes.iter().map(|c| c.to_string()).collect();
                self.secrets.insert(subject, (e.secret.to_string(), codes));
                None
            }
            "password" => {
                let login = self.text(step, "login");
                let password = self.text(step, "password");
                let context = step.get("context").and_then(Value::as_str);
                Some(
                    match self.signin.password(&login, &password, None, context).await {
                        Ok(SignInResult::Ok(pair)) => {
                            self.last_session = Some(pair.session_id.clone());
                            self.signed(&pair.access_token, step)
                        }
                        Ok(SignInResult::MfaRequired { mfa_token }) => {
                            self.latest_token = Some(mfa_token);
                            self.last_mfa_subject =
                                self.accounts.find(&login).await.unwrap().map(|a| a.subject);
                            json!({"status": "mfa_required"})
                        }
                        Err(e) => error_of(&e),
                    },
                )
            }
            "second_factor" => {
                let token = match step.get("token").and_then(Value::as_str) {
                    Some("spent") => self.spent_token.clone().unwrap(),
                    _ => self.latest_token.clone().unwrap(),
                };
                let subject = self.last_mfa_subject.clone().unwrap();
                let (secret, recovery) = self.secrets[&subject].clone();
                let right = totp().code(&secret, self.now as u64).unwrap();
                let code = step.get("code").and_then(Value::as_str).map(|c| match c {
                    "current" => right.clone(),
                    "wrong" => {
                        format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000)
                    }
                    "malformed" => "12ab".to_owned(),
                    other => panic!("unknown code kind {other}"),
                });
                let rc = step
                    .get("recovery")
                    .and_then(Value::as_u64)
                    .map(|i| recovery[i as usize].clone());
                self.spent_token = Some(token.clone());
                let r = self
                    .signin
                    .second_factor_at(&token, code.as_deref(), rc.as_deref(), None, self.now)
                    .await;
                Some(match r {
                    Ok(SecondFactorOutcome::Signed(pair)) => {
                        self.last_session = Some(pair.session_id.clone());
                        self.signed(&pair.access_token, step)
                    }
                    Ok(SecondFactorOutcome::Retry {
                        error,
                        mfa_token,
                        tries_left,
                    }) => {
                        self.latest_token = Some(mfa_token);
                        json!({"error": error.code(), "retry": true, "tries_left": tries_left})
                    }
                    Err(e) => json!({"error": e.code(), "retry": false}),
                })
            }
            "session_active" => {
                let sid = self.last_session.clone().unwrap();
                Some(json!(self.signin.sessions().is_active(&sid).await.unwrap()))
            }
            "request_password_reset" => {
                let login = self.text(step, "login");
                Some(
                    match self.signin.request_password_reset(&login, None).await {
                        Ok(t) => {
                            let issued = t.is_some();
                            if t.is_some() {
                                self.reset_token = t;
                            }
                            json!({"token": issued})
                        }
                        Err(e) => error_of(&e),
                    },
                )
            }
            "reset_password" => {
                let password = self.text(step, "password");
                let token = self
                    .reset_token
                    .clone()
                    .or_else(|| self.verification_token.clone())
                    .unwrap();
                Some(match self.signin.reset_password(&token, &password).await {
                    Ok(_) => json!({"ok": true}),
                    Err(e) => error_of(&e),
                })
            }
            "request_email_verification" => {
                let subject = self.subject(step);
                self.verification_token = Some(
                    self.signin
                        .request_email_verification(&subject, None)
                        .await
                        .unwrap(),
                );
                None
            }
            "verify_email" => {
                let token = self.verification_token.clone().unwrap();
                Some(match self.signin.verify_email(&token).await {
                    Ok(a) => json!({"verified": a.verified}),
                    Err(e) => error_of(&e),
                })
            }
            other => panic!("unknown op {other}"),
        }
    }

    /// `{status: ok, amr, claims?}` of a new session, with only the claims the step names.
    fn signed(&self, access_token: &str, step: &Value) -> Value {
        let claims = self
            .tokens
            .verify(access_token, &VerifyOptions::default())
            .unwrap();
        let mut out = json!({"status": "ok", "amr": claims["amr"]});
        if let Some(want) = step["expect"].get("claims").and_then(Value::as_object) {
            let got: Map<String, Value> = want
                .keys()
                .filter_map(|k| claims.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            out["claims"] = Value::Object(got);
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signin_scenarios() {
    let file = read_json(project_vectors().join("signin.json"));
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for store in stores().await {
        let b = store.backend();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let mut c = Case::new(&store, case.get("throttle"));
            for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
                let got = c.run(step).await;
                if let Some(want) = step.get("expect") {
                    assert_eq!(got.as_ref(), Some(want), "{b}: {name}: step {i} {step}");
                } else {
                    assert!(got.is_none(), "{b}: {name}: step {i} produced {got:?}");
                }
            }
        }
    }
}
