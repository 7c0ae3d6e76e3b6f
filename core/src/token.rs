//! Access tokens: the one token format (DESIGN.md §3, RFC 9068 profile) and claim validation:
//! exp/nbf/iat with a small leeway and an injectable clock (JWT-11), exact `iss` and an `aud`
//! allowlist (JWT-12), and `typ` enforced so token kinds never substitute for each other (JWT-13).

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value};

use crate::b64;
use crate::error::{Error, Result};
use crate::jws;
use crate::keys::KeySet;
use crate::remote::RemoteKeySet;
use crate::verify_cache::{self, Verified, VerifyCache, MAX_CACHED_TOKEN};

/// The access token `typ` (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Claims the issuer sets; applications cannot pass them in `claims`.
pub const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
/// The largest leeway accepted: clock skew, not a grace period.
pub const MAX_LEEWAY: u64 = 300;

/// Seconds since the Unix epoch (kept here for the bindings and tests that call `token::now`).
pub use crate::clock::now;

/// Where verification keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    Local(KeySet),
    Remote(RemoteKeySet),
}

impl KeySource {
    fn keys(&self, now: i64) -> Result<KeySet> {
        match self {
            KeySource::Local(k) => Ok(k.clone()),
            // Nothing fetched yet (unknown_key), every fetch failed or the cached keys are older
            // than max_stale (jwks_unavailable): see RemoteKeySet::keys_at.
            KeySource::Remote(r) => r.keys_at(now),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokensConfig {
    pub issuer: String,
    pub audience: Vec<String>,
    /// Default lifetime of issued access tokens, seconds.
    pub access_ttl: u64,
    /// Allowed clock skew, seconds (at most 300).
    pub leeway: u64,
    /// Tokens longer than this are refused before parsing.
    pub max_token_size: usize,
    /// Sign with RS256/384/512 keys (verification always works). Off: ASVS 5 disallows PKCS#1 v1.5.
    pub allow_rsa_pkcs1_signing: bool,
    /// Refuse a token without a `typ` header when a `typ` is expected (the default, JWT-13).
    /// `false` accepts a token that has none, for issuers that set none (Better Auth's JWT
    /// plugin); a `typ` that is present must still match, and issued tokens still carry `at+jwt`.
    pub require_typ: bool,
    /// Entries of the verified-token cache (0 turns it off; default
    /// [`verify_cache::DEFAULT_CAPACITY`], at most [`verify_cache::MAX_CAPACITY`]).
    pub verify_cache: usize,
}

impl TokensConfig {
    pub fn new(issuer: impl Into<String>, audience: Vec<String>) -> Self {
        TokensConfig {
            issuer: issuer.into(),
            audience,
            access_ttl: 900,
            leeway: 30,
            max_token_size: 8192,
            allow_rsa_pkcs1_signing: false,
            require_typ: true,
            verify_cache: verify_cache::DEFAULT_CAPACITY,
        }
    }

    /// Reads `issuer` (a string) and `audience` (a string or a list of strings), both required,
    /// then `access_ttl`, `leeway`, `max_token_size` (whole numbers up to
    /// [`MAX_SECONDS`](crate::options::MAX_SECONDS); [`Tokens::new`] narrows them),
    /// `verify_cache` (up to [`verify_cache::MAX_CAPACITY`]), `allow_rsa_pkcs1_signing` and
    /// `require_typ`.
    pub fn from_options(mut o: crate::options::Options) -> Result<Self> {
        let issuer = o.text("issuer")?;
        let audience = o.texts("audience")?;
        let (Some(issuer), Some(audience)) = (issuer, audience) else {
            return Err(Error::InvalidConfig(
                "Tokens: issuer and audience are required".into(),
            ));
        };
        let d = Self::new(issuer, audience);
        let range = 0..=crate::options::MAX_SECONDS as i128;
        let c = TokensConfig {
            access_ttl: o.whole("access_ttl", d.access_ttl, range.clone())?,
            leeway: o.whole("leeway", d.leeway, range.clone())?,
            max_token_size: o.whole("max_token_size", d.max_token_size, range)?,
            allow_rsa_pkcs1_signing: o
                .flag("allow_rsa_pkcs1_signing", d.allow_rsa_pkcs1_signing)?,
            verify_cache: o.whole(
                "verify_cache",
                d.verify_cache,
                0..=verify_cache::MAX_CAPACITY as i128,
            )?,
            require_typ: o.flag("require_typ", d.require_typ)?,
            ..d
        };
        o.finish()?;
        Ok(c)
    }
}

crate::options::deserialize_with_options!(TokensConfig, "Tokens");

/// Per-call verification options.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Accepted audiences for this call instead of the configured ones.
    pub audience: Option<Vec<String>>,
    /// Required `typ`; `None` relaxes the check (tokens from other issuers).
    pub typ: Option<String>,
    /// Claims that must be present (besides `exp`, `iss` and `aud`, which always are).
    pub required: Vec<String>,
    /// The clock, seconds since the epoch; `None` is the system clock.
    pub now: Option<i64>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            audience: None,
            typ: Some(ACCESS_TOKEN_TYP.into()),
            required: vec!["sub".into()],
            now: None,
        }
    }
}

/// Issues and verifies access tokens. Clones share the verified-token cache.
#[derive(Clone, Debug)]
pub struct Tokens {
    keys: KeySource,
    config: TokensConfig,
    cache: Arc<VerifyCache>,
}

/// `require_typ` false (`TokensConfig::require_typ`) accepts a token without a `typ` header; a
/// `typ` that is present must still match.
fn check_typ(typ: Option<&str>, options: &VerifyOptions, require_typ: bool) -> Result<()> {
    let Some(expected) = &options.typ else {
        return Ok(());
    };
    match typ {
        Some(t) if typ_matches(t, expected) => Ok(()),
        Some(_) => Err(Error::InvalidType(format!("expected \"{expected}\""))),
        None if !require_typ => Ok(()),
        None => Err(Error::InvalidType(format!(
            "missing, expected \"{expected}\""
        ))),
    }
}

fn typ_matches(actual: &str, expected: &str) -> bool {
    // RFC 7515 §4.1.9: compare case-insensitively; "application/" may be omitted. No allocation:
    // this runs on every verification.
    fn strip(s: &str) -> &str {
        match s.get(..12) {
            Some(p) if p.eq_ignore_ascii_case("application/") => &s[12..],
            _ => s,
        }
    }
    strip(actual).eq_ignore_ascii_case(strip(expected))
}

fn numeric(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| Error::InvalidToken(format!("claim \"{name}\" is not a number"))),
        Some(_) => Err(Error::InvalidToken(format!(
            "claim \"{name}\" is not a number"
        ))),
    }
}

/// Checks the RFC 7519 §4.1 types of the registered claims present: `iss`, `sub`, `jti` strings,
/// `aud` a string or an array of strings, `exp`, `nbf`, `iat` finite numbers (NumericDate). A
/// claim of another type makes the token malformed (`invalid_token`), whatever else it holds.
fn check_registered_types(claims: &Map<String, Value>) -> Result<()> {
    for name in ["iss", "sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(Error::InvalidToken(format!(
                "claim \"{name}\" is not a string"
            )));
        }
    }
    match claims.get("aud") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {}
        Some(_) => {
            return Err(Error::InvalidToken(
                "claim \"aud\" is not a string or an array of strings".into(),
            ))
        }
    }
    for name in ["exp", "nbf", "iat"] {
        numeric(claims, name)?;
    }
    Ok(())
}

impl Tokens {
    pub fn new(keys: KeySource, config: TokensConfig) -> Result<Tokens> {
        if config.issuer.is_empty() {
            return Err(Error::InvalidConfig("issuer must not be empty".into()));
        }
        if config.audience.is_empty() || config.audience.iter().any(String::is_empty) {
            return Err(Error::InvalidConfig(
                "audience must name at least one non-empty audience".into(),
            ));
        }
        if config.leeway > MAX_LEEWAY {
            return Err(Error::InvalidConfig(format!(
                "leeway must be at most {MAX_LEEWAY} seconds"
            )));
        }
        if config.access_ttl == 0 || config.access_ttl > 86_400 {
            return Err(Error::InvalidConfig(
                "access_ttl must be between 1 second and 1 day".into(),
            ));
        }
        if !(512..=1 << 20).contains(&config.max_token_size) {
            return Err(Error::InvalidConfig(
                "max_token_size must be between 512 bytes and 1 MiB".into(),
            ));
        }
        Ok(Tokens {
            keys,
            cache: Arc::new(VerifyCache::new(config.verify_cache)),
            config,
        })
    }

    /// The same tokens with a verified-token cache of `capacity` entries (0 turns it off); the
    /// default is [`verify_cache::DEFAULT_CAPACITY`].
    pub fn with_verify_cache(mut self, capacity: usize) -> Tokens {
        self.cache = Arc::new(VerifyCache::new(capacity));
        self
    }

    pub fn config(&self) -> &TokensConfig {
        &self.config
    }

    pub fn key_source(&self) -> &KeySource {
        &self.keys
    }

    /// Issues an access token for `subject` with application `claims` (e.g. `sid`, `scope`,
    /// `amr`, `client_id`, roles); `ttl` overrides the configured lifetime.
    pub fn issue(
        &self,
        subject: &str,
        claims: Map<String, Value>,
        ttl: Option<u64>,
    ) -> Result<String> {
        self.issue_at(subject, claims, ttl, now())
    }

    pub fn issue_at(
        &self,
        subject: &str,
        mut claims: Map<String, Value>,
        ttl: Option<u64>,
        now: i64,
    ) -> Result<String> {
        let keys = match &self.keys {
            KeySource::Local(k) => k,
            KeySource::Remote(_) => {
                return Err(Error::InvalidConfig(
                    "a remote key set can only verify".into(),
                ))
            }
        };
        if subject.is_empty() || subject.len() > 1024 {
            return Err(Error::InvalidInput(
                "subject must be 1 to 1024 bytes".into(),
            ));
        }
        if let Some(name) = REGISTERED.iter().find(|n| claims.contains_key(**n)) {
            return Err(Error::InvalidInput(format!(
                "claim \"{name}\" is set by the issuer; pass it as an argument"
            )));
        }
        let ttl = ttl.unwrap_or(self.config.access_ttl);
        if ttl == 0 || ttl > 86_400 {
            return Err(Error::InvalidInput(
                "ttl must be between 1 second and 1 day".into(),
            ));
        }
        let key = keys.signing_key()?;
        if key.alg().is_rsa_pkcs1() && !self.config.allow_rsa_pkcs1_signing {
            return Err(Error::UnsupportedAlgorithm(format!(
                "signing with {} needs allow_rsa_pkcs1_signing (ASVS 5 disallows PKCS#1 v1.5)",
                key.alg().name()
            )));
        }
        let mut jti = [0u8; 16];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| Error::Internal("random generator failed".into()))?;
        claims.insert("iss".into(), Value::String(self.config.issuer.clone()));
        claims.insert("sub".into(), Value::String(subject.into()));
        claims.insert(
            "aud".into(),
            match self.config.audience.as_slice() {
                [one] => Value::String(one.clone()),
                many => Value::Array(many.iter().cloned().map(Value::String).collect()),
            },
        );
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + ttl as i64).into());
        claims.insert("jti".into(), Value::String(b64::encode(jti)));
        let payload = serde_json::to_vec(&claims)
            .map_err(|_| Error::InvalidInput("claims are not serialisable".into()))?;
        jws::sign(&payload, &key, Some(ACCESS_TOKEN_TYP))
    }

    /// Verifies `token`: signature first, then `typ`, the types of the registered claims (a
    /// malformed one is `invalid_token`), `exp`/`nbf`/`iat`, `iss`, `aud` and the required
    /// claims. Returns the claims.
    pub fn verify(&self, token: &str, options: &VerifyOptions) -> Result<Map<String, Value>> {
        self.verify_shared(token, options)
            .map(|claims| Arc::try_unwrap(claims).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// [`Self::verify`], returning the claims shared with the verified-token cache (no copy).
    ///
    /// A token that verified under the current version of the key set is remembered (see
    /// [`crate::verify_cache`]); presented again, its signature is not checked again, but
    /// everything else is: the key set's availability (a remote set past `max_stale` still
    /// fails), `typ`, `exp`/`nbf`/`iat` against this call's clock, `iss`, `aud` and the required
    /// claims.
    pub fn verify_shared(
        &self,
        token: &str,
        options: &VerifyOptions,
    ) -> Result<Arc<Map<String, Value>>> {
        let now = options.now.unwrap_or_else(now);
        let keys = self.keys.keys(now)?;
        let cacheable = self.cache.capacity() > 0 && token.len() <= MAX_CACHED_TOKEN;
        let (key, version) = if cacheable {
            (verify_cache::digest(token), keys.version())
        } else {
            ([0; 32], 0)
        };
        if cacheable {
            if let Some(hit) = self.cache.get(&key, version) {
                return match self.check(hit.typ.as_deref(), &hit.claims, now, options) {
                    Ok(()) => Ok(hit.claims.clone()),
                    Err(e) => {
                        if matches!(e, Error::TokenExpired) {
                            self.cache.remove(&key);
                        }
                        Err(e)
                    }
                };
            }
        }
        let (header, payload) = jws::verify(token, &keys, self.config.max_token_size)?;
        // `typ` before the payload is parsed (an unexpected kind of JWS is refused as such).
        check_typ(header.typ.as_deref(), options, self.config.require_typ)?;
        let claims = jws::parse_object(&payload, "payload")?;
        check_registered_types(&claims)?;
        self.check(header.typ.as_deref(), &claims, now, options)?;
        let claims = Arc::new(claims);
        if cacheable {
            let verified = Verified {
                typ: header.typ,
                claims: claims.clone(),
            };
            self.cache.insert(key, version, Arc::new(verified));
        }
        Ok(claims)
    }

    /// Every check after the signature: `typ`, `exp`/`nbf`/`iat` at `now` with the leeway,
    /// `iss`, `aud` and the required claims (the registered claims' types were checked when
    /// the payload was parsed).
    fn check(
        &self,
        typ: Option<&str>,
        claims: &Map<String, Value>,
        now: i64,
        options: &VerifyOptions,
    ) -> Result<()> {
        check_typ(typ, options, self.config.require_typ)?;
        let now = now as f64;
        let leeway = self.config.leeway as f64;
        let exp = numeric(claims, "exp")?.ok_or_else(|| Error::MissingClaim("exp".into()))?;
        if now >= exp + leeway {
            return Err(Error::TokenExpired);
        }
        if numeric(claims, "nbf")?.is_some_and(|nbf| nbf > now + leeway) {
            return Err(Error::TokenNotYetValid);
        }
        if numeric(claims, "iat")?.is_some_and(|iat| iat > now + leeway) {
            return Err(Error::TokenNotYetValid);
        }
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == self.config.issuer => {}
            Some(_) => return Err(Error::InvalidIssuer),
            None => return Err(Error::MissingClaim("iss".into())),
        }
        let accepted = options.audience.as_ref().unwrap_or(&self.config.audience);
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => accepted.contains(a),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str().is_some_and(|a| accepted.iter().any(|x| x == a))),
            Some(_) => false,
            None => return Err(Error::MissingClaim("aud".into())),
        };
        if !ok {
            return Err(Error::InvalidAudience);
        }
        if let Some(name) = options
            .required
            .iter()
            .find(|n| !claims.contains_key(n.as_str()))
        {
            return Err(Error::MissingClaim(name.clone()));
        }
        Ok(())
    }

    /// Number of tokens in the verified-token cache.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// For remote key sets: true when the binding should fetch the JWKS before verifying
    /// `token` (first use, stale cache, or an unknown `kid` outside the cooldown).
    pub fn remote_fetch_due(&self, token: &str, now: i64) -> bool {
        match &self.keys {
            KeySource::Remote(r) => r.begin_fetch(
                jws::peek_kid(token, self.config.max_token_size).as_deref(),
                now,
            ),
            KeySource::Local(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Alg;

    fn tokens() -> Tokens {
        let keys = KeySet::generate(Alg::EdDSA, None).unwrap();
        Tokens::new(
            KeySource::Local(keys),
            TokensConfig::new("https://issuer.example", vec!["api".into()]),
        )
        .unwrap()
    }

    #[test]
    fn issue_then_verify() {
        let t = tokens();
        let mut claims = Map::new();
        claims.insert("scope".into(), "read write".into());
        let tok = t.issue_at("user-1", claims, None, 1_000_000).unwrap();
        let opts = VerifyOptions {
            now: Some(1_000_100),
            ..Default::default()
        };
        let c = t.verify(&tok, &opts).unwrap();
        assert_eq!(c["sub"], "user-1");
        assert_eq!(c["aud"], "api");
        assert_eq!(c["exp"], 1_000_900);
        assert_eq!(c["scope"], "read write");
        assert_eq!(c["jti"].as_str().unwrap().len(), 22);
        let header = jws::parse(&tok, 8192).unwrap().header;
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Alg::EdDSA);
    }

    #[test]
    fn time_claims_with_leeway() {
        let t = tokens();
        let tok = t.issue_at("u", Map::new(), Some(60), 1000).unwrap();
        let at = |now| {
            t.verify(
                &tok,
                &VerifyOptions {
                    now: Some(now),
                    ..Default::default()
                },
            )
        };
        assert!(at(1089).is_ok(), "expired 29 s ago: inside leeway");
        assert_eq!(at(1090).unwrap_err().code(), "token_expired");
        assert!(at(1000 - 30).is_ok(), "iat 30 s ahead: inside leeway");
        assert_eq!(at(1000 - 31).unwrap_err().code(), "token_not_yet_valid");
    }

    #[test]
    fn audience_issuer_typ_required() {
        let t = tokens();
        let tok = t.issue_at("u", Map::new(), None, now()).unwrap();
        let v = |o: VerifyOptions| t.verify(&tok, &o).map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            v(VerifyOptions {
                audience: Some(vec!["other".into()]),
                ..Default::default()
            }),
            Err("invalid_audience")
        );
        assert_eq!(
            v(VerifyOptions {
                typ: Some("refresh+jwt".into()),
                ..Default::default()
            }),
            Err("invalid_type")
        );
        assert_eq!(
            v(VerifyOptions {
                typ: Some("application/AT+JWT".into()),
                ..Default::default()
            }),
            Ok(())
        );
        assert_eq!(
            v(VerifyOptions {
                required: vec!["sid".into()],
                ..Default::default()
            }),
            Err("missing_claim")
        );
        let other = Tokens::new(
            t.keys.clone(),
            TokensConfig::new("https://evil.example", vec!["api".into()]),
        )
        .unwrap();
        assert_eq!(
            other
                .verify(&tok, &VerifyOptions::default())
                .unwrap_err()
                .code(),
            "invalid_issuer"
        );
    }

    fn at(now: i64) -> VerifyOptions {
        VerifyOptions {
            now: Some(now),
            ..Default::default()
        }
    }

    #[test]
    fn cache_hit_returns_the_same_claims() {
        let t = tokens();
        let tok = t.issue_at("u", Map::new(), Some(60), 1000).unwrap();
        let first = t.verify_shared(&tok, &at(1000)).unwrap();
        assert_eq!(t.cached_tokens(), 1);
        let again = t.verify_shared(&tok, &at(1001)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "served from the cache");
        assert_eq!(t.verify(&tok, &at(1001)).unwrap(), *first);
        // A clone of Tokens shares the cache.
        assert!(Arc::ptr_eq(
            &t.clone().verify_shared(&tok, &at(1002)).unwrap(),
            &first
        ));
    }

    #[test]
    fn cache_hit_still_checks_time_and_options() {
        let t = tokens();
        let tok = t.issue_at("u", Map::new(), Some(60), 1000).unwrap();
        t.verify_shared(&tok, &at(1000)).unwrap();
        // iat 31 s ahead of the clock: not yet valid, though cached.
        assert_eq!(
            t.verify(&tok, &at(969)).unwrap_err().code(),
            "token_not_yet_valid"
        );
        let code = |o: VerifyOptions| t.verify(&tok, &o).map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            code(VerifyOptions {
                audience: Some(vec!["other".into()]),
                ..at(1000)
            }),
            Err("invalid_audience")
        );
        assert_eq!(
            code(VerifyOptions {
                typ: Some("refresh+jwt".into()),
                ..at(1000)
            }),
            Err("invalid_type")
        );
        assert_eq!(
            code(VerifyOptions {
                required: vec!["sid".into()],
                ..at(1000)
            }),
            Err("missing_claim")
        );
        assert_eq!(
            t.cached_tokens(),
            1,
            "failed checks do not evict a good token"
        );
        assert!(t.verify(&tok, &at(1089)).is_ok(), "inside the leeway");
        assert_eq!(
            t.verify(&tok, &at(1090)).unwrap_err().code(),
            "token_expired"
        );
        assert_eq!(t.cached_tokens(), 0, "an expired token leaves the cache");
        assert_eq!(
            t.verify(&tok, &at(1090)).unwrap_err().code(),
            "token_expired"
        );
        assert_eq!(t.cached_tokens(), 0, "failures are never cached");
    }

    #[test]
    fn a_tampered_token_is_never_served_from_the_cache() {
        let t = tokens();
        let tok = t.issue_at("u", Map::new(), None, now()).unwrap();
        t.verify(&tok, &VerifyOptions::default()).unwrap();
        for i in [tok.len() - 1, tok.len() / 2, 3] {
            let mut bytes = tok.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let bad = String::from_utf8(bytes).unwrap();
            assert!(
                t.verify(&bad, &VerifyOptions::default()).is_err(),
                "byte {i}"
            );
        }
        let longer = format!("{tok}A");
        assert!(t.verify(&longer, &VerifyOptions::default()).is_err());
        assert_eq!(t.cached_tokens(), 1);
    }

    #[test]
    fn rotation_and_retirement_empty_the_cache() {
        let keys = KeySet::generate(Alg::EdDSA, Some("old".into())).unwrap();
        let t = Tokens::new(
            KeySource::Local(keys.clone()),
            TokensConfig::new("https://issuer.example", vec!["api".into()]),
        )
        .unwrap();
        let tok = t.issue("u", Map::new(), None).unwrap();
        let first = t.verify_shared(&tok, &VerifyOptions::default()).unwrap();
        keys.rotate(None).unwrap();
        let again = t.verify_shared(&tok, &VerifyOptions::default()).unwrap();
        assert!(
            !Arc::ptr_eq(&first, &again),
            "verified again after the rotation"
        );
        keys.retire("old").unwrap();
        assert_eq!(
            t.verify(&tok, &VerifyOptions::default())
                .unwrap_err()
                .code(),
            "unknown_key",
            "a retired key's tokens stop verifying at once"
        );
        assert_eq!(t.cached_tokens(), 0);
    }

    #[test]
    fn the_cache_is_bounded() {
        let t = tokens().with_verify_cache(5);
        let opts = VerifyOptions::default();
        let toks: Vec<String> = (0..20)
            .map(|i| t.issue(&format!("u{i}"), Map::new(), None).unwrap())
            .collect();
        for tok in &toks {
            assert!(t.verify(tok, &opts).is_ok());
            assert!(t.cached_tokens() <= 5);
        }
        assert_eq!(t.cached_tokens(), 5);
        for tok in &toks {
            assert!(t.verify(tok, &opts).is_ok(), "evicted tokens verify again");
        }
        let off = tokens().with_verify_cache(0);
        let tok = off.issue("u", Map::new(), None).unwrap();
        let a = off.verify_shared(&tok, &opts).unwrap();
        assert!(!Arc::ptr_eq(&a, &off.verify_shared(&tok, &opts).unwrap()));
        assert_eq!(off.cached_tokens(), 0);
    }

    #[test]
    fn require_typ_false_accepts_a_missing_typ_only() {
        let t = tokens();
        let KeySource::Local(keys) = t.key_source().clone() else {
            unreachable!()
        };
        let key = keys.signing_key().unwrap();
        let now = now();
        let payload = serde_json::json!({
            "iss": "https://issuer.example", "aud": "api", "sub": "u", "iat": now, "exp": now + 60,
        });
        let sign = |typ| jws::sign(&serde_json::to_vec(&payload).unwrap(), &key, typ).unwrap();
        let (none, other) = (sign(None), sign(Some("JWT")));
        let code =
            |t: &Tokens, tok: &str, o: &VerifyOptions| t.verify(tok, o).err().map(|e| e.code());
        let d = VerifyOptions::default();
        // Default: a typ is required.
        assert_eq!(code(&t, &none, &d), Some("invalid_type"));
        let relaxed = Tokens::new(
            t.key_source().clone(),
            TokensConfig {
                require_typ: false,
                ..t.config().clone()
            },
        )
        .unwrap();
        assert_eq!(code(&relaxed, &none, &d), None);
        // A typ that is present must still match, and the tokens issued still carry at+jwt.
        assert_eq!(code(&relaxed, &other, &d), Some("invalid_type"));
        let issued = t.issue("u", Map::new(), None).unwrap();
        assert_eq!(code(&relaxed, &issued, &d), None);
        let refresh = VerifyOptions {
            typ: Some("refresh+jwt".into()),
            ..Default::default()
        };
        assert_eq!(code(&relaxed, &issued, &refresh), Some("invalid_type"));
        // Everything else is still checked.
        let wrong_aud = VerifyOptions {
            audience: Some(vec!["other".into()]),
            ..Default::default()
        };
        assert_eq!(code(&relaxed, &none, &wrong_aud), Some("invalid_audience"));
    }

    #[test]
    fn reserved_claims_and_rs_signing() {
        let t = tokens();
        let mut c = Map::new();
        c.insert("exp".into(), 1.into());
        assert_eq!(t.issue("u", c, None).unwrap_err().code(), "invalid_input");
        let cfg = TokensConfig {
            leeway: 301,
            ..TokensConfig::new("i", vec!["a".into()])
        };
        assert_eq!(
            Tokens::new(t.keys.clone(), cfg).unwrap_err().code(),
            "invalid_config"
        );
    }
}
