//! `KeySet`, `RemoteKeySet` and `Tokens` for Node. Token operations are synchronous calls: they
//! take microseconds and the keys were parsed when the set was built.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polyauth_core::jws;
use polyauth_core::keys::{Alg, KeySet as CoreKeySet};
use polyauth_core::remote::{RemoteConfig, RemoteKeySet as CoreRemote};
use polyauth_core::token::{self, KeySource, Tokens as CoreTokens, TokensConfig, VerifyOptions};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::errors::{run, text, whole_arg, Number};
use crate::options::{read, HostOptions};

fn alg_arg(alg: Option<String>) -> Result<Option<Alg>> {
    alg.map(|a| run(|| Alg::parse(&a))).transpose()
}

#[napi(object)]
pub struct KeyOptions {
    /// Algorithm the key serves (needed for RSA and `oct` keys without one).
    pub alg: Option<String>,
    /// Key id; defaults to the RFC 7638 thumbprint (128 random bits for HMAC keys).
    pub kid: Option<String>,
}

/// A compact JWS verified by {@link KeySet.verifyJws}.
#[napi(object)]
pub struct VerifiedJws {
    /// The protected header, every member (`alg`, `kid`, `typ`, ...): check `typ` when one key signs several kinds of JWS.
    #[napi(ts_type = "Record<string, unknown>")]
    pub header: Value,
    /// The payload bytes (no claim checked).
    pub payload: Buffer,
}

#[napi(object)]
pub struct LoadOptions {
    /// A file holding a JWKS, a JWK or a PEM key.
    pub path: Option<String>,
    /// An environment variable holding the key material (or `${env}_FILE` naming a file).
    pub env: Option<String>,
    /// Algorithm for keys that do not name one.
    pub alg: Option<String>,
}

/// A set of signing/verification keys, parsed once.
#[napi]
pub struct KeySet {
    pub(crate) inner: CoreKeySet,
}

#[napi]
impl KeySet {
    /// A set with one new key: EdDSA (default), ES256, ES384, ES512, PS256/384/512, HS256/384/512.
    #[napi(factory)]
    pub fn generate(alg: Option<String>, kid: Option<String>) -> Result<KeySet> {
        let alg = alg_arg(alg)?.unwrap_or(polyauth_core::keys::DEFAULT_ALG);
        Ok(KeySet {
            inner: run(|| CoreKeySet::generate(alg, kid))?,
        })
    }

    /// A set from a JWKS or a single JWK (JSON text or object).
    #[napi(factory)]
    pub fn from_jwks(jwks: Value, alg: Option<String>) -> Result<KeySet> {
        let alg = alg_arg(alg)?;
        let inner = match jwks {
            Value::String(text) => run(|| CoreKeySet::from_jwks(&text, alg))?,
            value => run(|| CoreKeySet::from_jwks_value(&value, alg))?,
        };
        Ok(KeySet { inner })
    }

    /// A set from one PEM key: PKCS#8 private or SPKI public. RSA keys need `alg`.
    #[napi(factory)]
    pub fn from_pem(pem: String, options: Option<KeyOptions>) -> Result<KeySet> {
        let pem = Zeroizing::new(pem);
        let (alg, kid) = options.map_or((None, None), |o| (o.alg, o.kid));
        let alg = alg_arg(alg)?;
        Ok(KeySet {
            inner: run(|| CoreKeySet::from_pem(&pem, alg, kid))?,
        })
    }

    /// A set with one HMAC key (at least the hash size: 32 bytes for HS256; never key text such
    /// as PEM, OpenSSH or a JWK). The kid defaults to 128 random bits.
    #[napi(factory)]
    pub fn from_secret(
        secret: Either<String, Buffer>,
        options: Option<KeyOptions>,
    ) -> Result<KeySet> {
        let bytes = Zeroizing::new(match secret {
            Either::A(s) => s.into_bytes(),
            Either::B(b) => b.to_vec(),
        });
        let (alg, kid) = options.map_or((None, None), |o| (o.alg, o.kid));
        let alg = alg_arg(alg)?.unwrap_or(polyauth_core::keys::DEFAULT_SECRET_ALG);
        Ok(KeySet {
            inner: run(|| CoreKeySet::from_secret(&bytes, alg, kid))?,
        })
    }

    /// Loads JWKS or PEM from `path`, or from the environment variable `env` (or `${env}_FILE`).
    #[napi(factory)]
    pub fn load(options: LoadOptions) -> Result<KeySet> {
        let alg = alg_arg(options.alg)?;
        Ok(KeySet {
            inner: run(|| CoreKeySet::load(options.path.as_deref(), options.env.as_deref(), alg))?,
        })
    }

    /// The JWKS: public keys only (HMAC keys omitted) unless `includePrivate`.
    #[napi]
    pub fn to_jwks(&self, include_private: Option<bool>) -> Value {
        self.inner.to_jwks(include_private.unwrap_or(false))
    }

    /// One key as PEM (the signing key unless `kid`): SPKI, or PKCS#8 when `includePrivate`.
    #[napi]
    pub fn to_pem(&self, kid: Option<String>, include_private: Option<bool>) -> Result<String> {
        run(|| {
            self.inner
                .to_pem(kid.as_deref(), include_private.unwrap_or(false))
                .map(|p| p.as_str().to_owned())
        })
    }

    /// Adds a new signing key (same algorithm unless `alg`); returns its kid.
    #[napi]
    pub fn rotate(&self, alg: Option<String>) -> Result<String> {
        let alg = alg_arg(alg)?;
        run(|| self.inner.rotate(alg))
    }

    /// Removes a verify-only key.
    #[napi]
    pub fn retire(&self, kid: String) -> Result<()> {
        run(|| self.inner.retire(&kid))
    }

    /// Verifies a compact JWS against the set; returns its protected header and payload bytes
    /// (no claim checks).
    #[napi]
    pub fn verify_jws(&self, token: String, max_size: Option<Number>) -> Result<VerifiedJws> {
        let max = whole_arg(
            max_size,
            jws::DEFAULT_MAX_SIZE as u64,
            jws::MAX_SIZE_LIMIT as u64,
            "maxSize",
        )? as usize;
        let (header, payload) = run(|| jws::verify(&token, &self.inner, max))?;
        Ok(VerifiedJws {
            header: Value::Object(header.protected),
            payload: payload.into(),
        })
    }

    /// The kid of the key that signs.
    #[napi(getter)]
    pub fn signing_kid(&self) -> Option<String> {
        self.inner.signing_kid()
    }

    /// Every kid, the signing key first.
    #[napi(getter)]
    pub fn kids(&self) -> Vec<String> {
        self.inner.kids()
    }

    /// `alg:kid` of every key, for display (never key material).
    #[napi]
    pub fn describe(&self) -> Vec<String> {
        self.inner
            .kids()
            .iter()
            .filter_map(|k| self.inner.get(k))
            .map(|k| format!("{}:{}", k.alg().name(), k.kid()))
            .collect()
    }
}

/// The cache of a JWKS URL; the TypeScript layer does the fetching. The policy (https only,
/// cooldown floor, max_stale, size cap) is the core's.
#[napi]
pub struct RemoteKeySet {
    pub(crate) inner: CoreRemote,
}

#[napi]
impl RemoteKeySet {
    /// `options`: `cacheTtl`, `cooldown`, `timeout` (seconds, the deadline of one whole fetch),
    /// `maxStale` (seconds after the last successful fetch the cached keys stop verifying) and
    /// `allowInsecureHttp` (for an `http://` URL), read by the core.
    #[napi(constructor)]
    pub fn new(
        url: String,
        #[napi(ts_arg_type = "object")] options: Option<HostOptions>,
    ) -> Result<Self> {
        let o = read(options, "RemoteKeySet");
        Ok(RemoteKeySet {
            inner: run(|| CoreRemote::new(RemoteConfig::from_options(url, o)?))?,
        })
    }

    /// The JWKS URL as configured (credentials included).
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.config().url.clone()
    }

    /// The URL for display: no userinfo, no query string.
    #[napi(getter)]
    pub fn redacted_url(&self) -> String {
        self.inner.redacted_url()
    }

    #[napi(getter)]
    pub fn timeout_ms(&self) -> u32 {
        self.inner.config().timeout_ms as u32
    }

    /// Seconds after the last successful fetch during which the cached keys still verify.
    #[napi(getter)]
    pub fn max_stale(&self) -> f64 {
        self.inner.config().max_stale as f64
    }

    /// Largest JWKS body read, in bytes.
    #[napi(getter)]
    pub fn max_bytes(&self) -> u32 {
        polyauth_core::remote::MAX_JWKS_BYTES as u32
    }

    /// The cached key set, or null before the first successful fetch.
    #[napi(getter)]
    pub fn keys(&self) -> Option<KeySet> {
        self.inner.current().map(|inner| KeySet { inner })
    }

    /// Records a fetch attempt when one is due.
    #[napi]
    pub fn begin_fetch(&self, kid: Option<String>) -> bool {
        self.inner.begin_fetch(kid.as_deref(), token::now())
    }

    /// Throws `jwks_unavailable` when a declared Content-Length is over the size cap.
    #[napi]
    pub fn check_length(&self, declared: f64) -> Result<()> {
        let declared = if declared.is_finite() && declared >= 0.0 {
            declared as u64
        } else {
            u64::MAX
        };
        run(|| self.inner.check_length(declared))
    }

    /// Records a failed fetch and throws `jwks_unavailable` with the short `reason`.
    #[napi]
    pub fn fail(&self, reason: String) -> Result<()> {
        run(|| Err(self.inner.fail(&reason)))
    }

    /// Takes a fetched JWKS body; throws `jwks_unavailable` (keeping the previous keys) when it
    /// is unusable.
    #[napi]
    pub fn complete(&self, body: Buffer) -> Result<()> {
        run(|| self.inner.complete(&body, token::now()))
    }
}

#[napi(object)]
pub struct IssueOptions {
    /// Application claims (`sid`, `scope`, `amr`, roles, ...).
    pub claims: Option<Value>,
    /// Lifetime in seconds, overriding `accessTtl`.
    pub ttl: Option<Number>,
}

#[napi(object)]
pub struct NativeVerifyOptions {
    pub audience: Option<Either<String, Vec<String>>>,
    /// Required `typ` (default "at+jwt").
    pub typ: Option<String>,
    /// Skip the `typ` check (tokens from other issuers).
    pub relax_typ: Option<bool>,
    pub required: Option<Vec<String>>,
    pub now: Option<Number>,
}

fn audience_list(a: Either<String, Vec<String>>) -> Vec<String> {
    match a {
        Either::A(one) => vec![one],
        Either::B(many) => many,
    }
}

/// Issues and verifies access tokens.
#[napi]
pub struct Tokens {
    pub(crate) inner: CoreTokens,
}

#[napi]
impl Tokens {
    #[napi(constructor)]
    pub fn new(
        keys: Either<&KeySet, &RemoteKeySet>,
        #[napi(ts_arg_type = "object")] options: HostOptions,
    ) -> Result<Self> {
        let source = match keys {
            Either::A(k) => KeySource::Local(k.inner.clone()),
            Either::B(r) => KeySource::Remote(r.inner.clone()),
        };
        let o = options.into_options("Tokens");
        Ok(Tokens {
            inner: run(|| CoreTokens::new(source, TokensConfig::from_options(o)?))?,
        })
    }

    /// Issues an access token for `subject`.
    #[napi]
    pub fn issue(&self, subject: Utf16String, options: Option<IssueOptions>) -> Result<String> {
        let subject = text(subject, "subject")?;
        let (claims, ttl) = match options {
            None => (serde_json::Map::new(), None),
            Some(o) => (
                match o.claims {
                    None | Some(Value::Null) => serde_json::Map::new(),
                    Some(Value::Object(m)) => m,
                    Some(_) => {
                        return Err(Error::new(Status::InvalidArg, "claims must be an object"))
                    }
                },
                o.ttl
                    .map(|t| whole_arg(Some(t), 0, crate::errors::MAX_SECONDS, "ttl"))
                    .transpose()?,
            ),
        };
        run(|| self.inner.issue(&subject, claims, ttl))
    }

    /// Verifies `token` and returns its claims.
    #[napi]
    /// Verifies `token`; returns its claims as JSON text. The TypeScript layer parses it:
    /// `JSON.parse` builds the object faster than napi can field by field.
    pub fn verify(&self, token: String, options: Option<NativeVerifyOptions>) -> Result<String> {
        let d = VerifyOptions::default();
        let options = match options {
            None => d,
            Some(o) => VerifyOptions {
                audience: o.audience.map(audience_list),
                typ: if o.relax_typ == Some(true) {
                    None
                } else {
                    o.typ.or(d.typ)
                },
                required: o.required.unwrap_or(d.required),
                now: o
                    .now
                    .map(|n| {
                        whole_arg(Some(n), 0, crate::errors::MAX_TIME, "now").map(|n| n as i64)
                    })
                    .transpose()?,
            },
        };
        // Shared with the verified-token cache: serialised from there, never copied.
        let claims = run(|| self.inner.verify_shared(&token, &options))?;
        serde_json::to_string(&*claims).map_err(|_| {
            crate::errors::to_napi(polyauth_core::Error::Internal(
                "claims serialisation".into(),
            ))
        })
    }

    /// How many verified tokens the verified-token cache holds (for tests).
    #[napi(getter)]
    pub fn cached_tokens(&self) -> u32 {
        self.inner.cached_tokens() as u32
    }

    /// For remote key sets: whether a JWKS fetch is due before verifying `token`.
    #[napi]
    pub fn remote_fetch_due(&self, token: String) -> bool {
        self.inner.remote_fetch_due(&token, token::now())
    }

    #[napi(getter)]
    pub fn issuer(&self) -> String {
        self.inner.config().issuer.clone()
    }

    #[napi(getter)]
    pub fn audience(&self) -> Vec<String> {
        self.inner.config().audience.clone()
    }

    #[napi(getter)]
    pub fn require_typ(&self) -> bool {
        self.inner.config().require_typ
    }
}
