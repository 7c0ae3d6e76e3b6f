//! The caching policy of remote key sets (JWKS URLs), shared by both bindings; only the HTTP
//! request itself is made in Python (httpx) or Node (fetch). Rules as in PyJWT's PyJWKClient and
//! jose's createRemoteJWKSet: cache for `cache_ttl`, refetch for an unknown `kid` at most once per
//! `cooldown`, keep the last good set when a refresh fails, and never follow a URL from a token.
//!
//! Hardening (DESIGN.md §7, JWT-15), decided here so both bindings behave the same:
//! - `https://` only; `http://` needs `allow_insecure_http` (local development only: a network
//!   attacker who can answer a plain-HTTP fetch serves his own keys and forges tokens).
//! - `cooldown` is at least [`MIN_COOLDOWN`] (1 s): a smaller value is `invalid_config`, not
//!   clamped, so a configuration never silently means something else. The clock has one-second
//!   resolution, so at most one unknown-kid fetch starts per clock second; concurrent callers
//!   inside the cooldown share the fetch in flight (the bindings await it).
//! - Keys older than `max_stale` (default [`DEFAULT_MAX_STALE`], 24 h, at least `cache_ttl`) since
//!   their last successful fetch stop verifying: when refreshes keep failing, verification fails
//!   with `jwks_unavailable` instead of trusting keys the issuer may have revoked long ago.
//! - A failed fetch is one error, `jwks_unavailable`, with a short message that never quotes the
//!   response body or the URL. The bindings enforce [`MAX_JWKS_BYTES`] while reading (and refuse a
//!   larger `Content-Length` up front), a total deadline of `timeout_ms` for the whole request
//!   (connect, headers and body), and never follow redirects.
//! - `Debug` and the bindings' repr show the URL through [`redact_url`]: no userinfo, no query.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::keys::{Key, KeySet};

/// Configuration of a [`RemoteKeySet`].
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// The JWKS URL: `https://`, or `http://` with `allow_insecure_http`.
    pub url: String,
    /// Seconds a fetched set is used before a refetch is due.
    pub cache_ttl: u64,
    /// Smallest number of seconds between two automatic fetches (at least [`MIN_COOLDOWN`]).
    pub cooldown: u64,
    /// Deadline of one whole fetch (connect, headers and body), milliseconds.
    pub timeout_ms: u64,
    /// Seconds after the last successful fetch during which the cached keys still verify
    /// (at least `cache_ttl`).
    pub max_stale: u64,
    /// Accept an `http://` URL. For local development only.
    pub allow_insecure_http: bool,
}

/// `url` and the options of [`RemoteConfig::from_options`] in one object.
impl<'de> serde::Deserialize<'de> for RemoteConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut value = serde_json::Value::deserialize(d)?;
        let url = match value.as_object_mut().and_then(|m| m.remove("url")) {
            Some(serde_json::Value::String(url)) => url,
            _ => return Err(D::Error::custom("RemoteKeySet: url must be a string")),
        };
        crate::options::Options::from_json("RemoteKeySet", value)
            .and_then(|o| RemoteConfig::from_options(url, o))
            .map_err(D::Error::custom)
    }
}

impl RemoteConfig {
    /// A configuration for `url` with the defaults: cache 300 s, cooldown 30 s, timeout 5 s,
    /// max_stale 24 h, https only.
    pub fn new(url: impl Into<String>) -> Self {
        RemoteConfig {
            url: url.into(),
            cache_ttl: 300,
            cooldown: 30,
            timeout_ms: 5000,
            max_stale: DEFAULT_MAX_STALE,
            allow_insecure_http: false,
        }
    }

    /// A configuration for `url` reading `cache_ttl`, `cooldown`, `max_stale` (whole seconds up
    /// to [`MAX_SECONDS`](crate::options::MAX_SECONDS); [`RemoteKeySet::new`] narrows them),
    /// `timeout` (seconds, fractions allowed, more than 0) and `allow_insecure_http`.
    pub fn from_options(url: impl Into<String>, mut o: crate::options::Options) -> Result<Self> {
        let d = Self::new(url);
        let max = crate::options::MAX_SECONDS;
        let range = 0..=max as i128;
        let timeout = o.seconds("timeout", d.timeout_ms as f64 / 1000.0, max as f64 / 1000.0)?;
        if timeout <= 0.0 {
            return Err(Error::InvalidConfig(
                "RemoteKeySet: timeout must be more than 0 seconds".into(),
            ));
        }
        let c = RemoteConfig {
            cache_ttl: o.whole("cache_ttl", d.cache_ttl, range.clone())?,
            cooldown: o.whole("cooldown", d.cooldown, range.clone())?,
            timeout_ms: (timeout * 1000.0).ceil() as u64,
            max_stale: o.whole("max_stale", d.max_stale, range)?,
            allow_insecure_http: o.flag("allow_insecure_http", d.allow_insecure_http)?,
            ..d
        };
        o.finish()?;
        Ok(c)
    }
}

#[derive(Default)]
struct State {
    keys: Option<KeySet>,
    fetched_at: i64,
    last_attempt: Option<i64>,
    /// The last fetch failed (cleared by a successful one).
    failing: bool,
    /// Why it failed (the short reason given to [`RemoteKeySet::fail`]).
    last_failure: Option<String>,
}

/// A JWKS URL with its cache. Clones share the cache.
#[derive(Clone)]
pub struct RemoteKeySet {
    config: Arc<RemoteConfig>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for RemoteKeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeySet")
            .field("url", &redact_url(&self.config.url))
            .finish()
    }
}

/// Largest JWKS document accepted, in bytes (enforced while reading by the bindings).
pub const MAX_JWKS_BYTES: usize = 512 * 1024;

/// Smallest `cooldown` accepted, in seconds.
pub const MIN_COOLDOWN: u64 = 1;

/// Default `max_stale`: 24 hours.
pub const DEFAULT_MAX_STALE: u64 = 86_400;

/// Longest `timeout_ms` accepted.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// Splits `url` into (scheme with `://`, userinfo, host[:port], rest from the first `/`, `?` or
/// `#`). `None` for anything but `http(s)://`.
fn split_url(url: &str) -> Option<(&'static str, Option<&str>, &str, &str)> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        ("https://", r)
    } else if let Some(r) = url.strip_prefix("http://") {
        ("http://", r)
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    Some((scheme, userinfo, host, tail))
}

/// `url` for display: userinfo (`user:password@`) replaced by `***@`, the query string by `?***`,
/// the fragment dropped. Never reveals credentials embedded in a JWKS URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, userinfo, host, tail)) = split_url(url) else {
        return "<invalid url>".into();
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    if userinfo.is_some() {
        out.push_str("***@");
    }
    out.push_str(host);
    out.push_str(&tail[..path_end]);
    if tail[path_end..].starts_with('?') {
        out.push_str("?***");
    }
    out
}

impl RemoteKeySet {
    /// Validates `config` (URL scheme and host, https unless `allow_insecure_http`, timeout
    /// 1 ms..60 s, cooldown >= [`MIN_COOLDOWN`], `max_stale` >= `cache_ttl`): `invalid_config`
    /// otherwise.
    pub fn new(config: RemoteConfig) -> Result<Self> {
        let url = config.url.as_str();
        let (scheme, _, host, _) = split_url(url)
            .ok_or_else(|| Error::InvalidConfig("remote key set URL must be https".into()))?;
        if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidConfig(
                "remote key set URL has no host".into(),
            ));
        }
        if scheme == "http://" && !config.allow_insecure_http {
            return Err(Error::InvalidConfig(
                "remote key set URL must be https (http only with allow_insecure_http, for local development)"
                    .into(),
            ));
        }
        if config.timeout_ms == 0 || config.timeout_ms > MAX_TIMEOUT_MS {
            return Err(Error::InvalidConfig(
                "timeout must be between 1 ms and 60 s".into(),
            ));
        }
        if config.cooldown < MIN_COOLDOWN {
            return Err(Error::InvalidConfig(format!(
                "cooldown must be at least {MIN_COOLDOWN} s"
            )));
        }
        if config.max_stale < config.cache_ttl.max(1) {
            return Err(Error::InvalidConfig(
                "max_stale must be at least cache_ttl (and at least 1 s)".into(),
            ));
        }
        Ok(RemoteKeySet {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(State::default())),
        })
    }

    /// The configuration (its `url` includes any credentials: display it with [`redact_url`]).
    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    /// The URL for display (see [`redact_url`]).
    pub fn redacted_url(&self) -> String {
        redact_url(&self.config.url)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reason of the last failed fetch, while no later fetch has succeeded.
    pub fn last_failure(&self) -> Option<String> {
        let s = self.lock();
        if s.failing {
            s.last_failure.clone()
        } else {
            None
        }
    }

    /// The cached keys, if any fetch has succeeded (however old; see [`Self::keys_at`]).
    pub fn current(&self) -> Option<KeySet> {
        self.lock().keys.clone()
    }

    /// The keys that verify at `now`: `jwks_unavailable` when the cached set is older than
    /// `max_stale`, or when nothing was fetched and the last fetch failed; `unknown_key` when no
    /// fetch was made yet.
    pub fn keys_at(&self, now: i64) -> Result<KeySet> {
        let s = self.lock();
        match &s.keys {
            Some(keys) if now.saturating_sub(s.fetched_at) <= self.config.max_stale as i64 => {
                Ok(keys.clone())
            }
            Some(_) => Err(Error::JwksUnavailable(
                "cached keys are older than max_stale and could not be refreshed".into(),
            )),
            None if s.failing => Err(Error::JwksUnavailable(
                "the key set could not be fetched".into(),
            )),
            // Nothing fetched yet: no configured key can match the token.
            None => Err(Error::UnknownKey),
        }
    }

    /// Whether a fetch should happen now for a token naming `kid`. When it returns true the
    /// attempt is recorded, so concurrent callers do not all fetch.
    pub fn begin_fetch(&self, kid: Option<&str>, now: i64) -> bool {
        let mut s = self.lock();
        let cooling = s
            .last_attempt
            .is_some_and(|t| now - t < self.config.cooldown as i64);
        let wanted = match &s.keys {
            None => true,
            Some(_) if now - s.fetched_at >= self.config.cache_ttl as i64 => true,
            Some(keys) => kid.is_some_and(|k| keys.get(k).is_none()),
        };
        if wanted && !cooling {
            s.last_attempt = Some(now);
            true
        } else {
            false
        }
    }

    /// Checks a response's declared `Content-Length` before reading the body: over
    /// [`MAX_JWKS_BYTES`] is `jwks_unavailable` (and recorded as a failed fetch).
    pub fn check_length(&self, declared: u64) -> Result<()> {
        if declared > MAX_JWKS_BYTES as u64 {
            return Err(self.fail("response is larger than the JWKS size limit"));
        }
        Ok(())
    }

    /// Records a failed fetch (HTTP error, timeout, oversize, ...) and returns the
    /// `jwks_unavailable` error to report. `reason` is a short fixed text chosen by the binding;
    /// it must not quote the response or the URL (it is cut at 80 characters regardless).
    pub fn fail(&self, reason: &str) -> Error {
        let reason: String = reason.chars().take(80).collect();
        let mut s = self.lock();
        s.failing = true;
        s.last_failure = Some(reason.clone());
        Error::JwksUnavailable(reason)
    }

    /// Takes a fetched JWKS body. Keys that cannot be used for verification (other key types,
    /// `use: enc`, private or secret keys) are skipped; a document with no usable key, or one
    /// that does not parse, leaves the previous set in place and is `jwks_unavailable`.
    pub fn complete(&self, body: &[u8], now: i64) -> Result<()> {
        let set = Self::parse(body).map_err(|reason| self.fail(reason))?;
        let mut s = self.lock();
        s.keys = Some(set);
        s.fetched_at = now;
        s.failing = false;
        Ok(())
    }

    fn parse(body: &[u8]) -> std::result::Result<KeySet, &'static str> {
        if body.len() > MAX_JWKS_BYTES {
            return Err("response is larger than the JWKS size limit");
        }
        let value: Value = serde_json::from_slice(body).map_err(|_| "response is not JSON")?;
        let list = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("response has no \"keys\" array")?;
        let keys: Vec<Key> = list
            .iter()
            .take(100)
            .filter_map(|j| crate::keys::import_jwk(j, None).ok())
            .filter(|k| !k.has_private())
            .collect();
        if keys.is_empty() {
            return Err("response has no usable public signing key");
        }
        KeySet::from_keys(keys).map_err(|_| "response has no usable key set")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Alg;

    fn config() -> RemoteConfig {
        RemoteConfig {
            cache_ttl: 300,
            cooldown: 30,
            ..RemoteConfig::new("https://issuer.example/jwks")
        }
    }

    fn remote() -> RemoteKeySet {
        RemoteKeySet::new(config()).unwrap()
    }

    fn jwks(kid: &str) -> Vec<u8> {
        KeySet::generate(Alg::EdDSA, Some(kid.into()))
            .unwrap()
            .to_jwks(false)
            .to_string()
            .into_bytes()
    }

    #[test]
    fn cache_and_cooldown() {
        let r = remote();
        let body = jwks("a");
        assert!(r.begin_fetch(Some("a"), 1000), "first use fetches");
        assert!(
            !r.begin_fetch(Some("a"), 1001),
            "an attempt is in flight / cooling"
        );
        r.complete(&body, 1001).unwrap();
        assert!(!r.begin_fetch(Some("a"), 1100), "known kid, fresh cache");
        assert!(
            r.begin_fetch(Some("b"), 1100),
            "unknown kid refetches after cooldown"
        );
        assert!(
            !r.begin_fetch(Some("c"), 1110),
            "but at most once per cooldown"
        );
        assert!(r.begin_fetch(Some("a"), 1400), "stale cache refetches");
        assert_eq!(
            r.complete(b"not json", 1400).unwrap_err().code(),
            "jwks_unavailable"
        );
        assert!(
            r.current().unwrap().get("a").is_some(),
            "failure keeps the last good set"
        );
        assert!(r.keys_at(1400).is_ok(), "and it still verifies");
    }

    #[test]
    fn skips_unusable_keys_and_refuses_private() {
        let r = remote();
        let public = KeySet::generate(Alg::ES256, Some("e".into()))
            .unwrap()
            .to_jwks(false);
        let private = KeySet::generate(Alg::EdDSA, Some("p".into()))
            .unwrap()
            .to_jwks(true);
        let body = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "use": "enc", "x": "AA", "y": "AA"},
            private["keys"][0], public["keys"][0]]});
        r.complete(body.to_string().as_bytes(), 0).unwrap();
        assert_eq!(r.current().unwrap().kids(), vec!["e".to_string()]);
        let e = r
            .complete(
                serde_json::json!({"keys": [private["keys"][0]]})
                    .to_string()
                    .as_bytes(),
                0,
            )
            .unwrap_err();
        assert_eq!(e.code(), "jwks_unavailable");
    }

    #[test]
    fn url_rules() {
        for bad in [
            "ftp://x/jwks",
            "file:///etc/passwd",
            "https://",
            "https://user:pw@/jwks",
            "jwks.json",
            "https:// x",
            "https://x/a\nb",
        ] {
            let c = RemoteConfig::new(bad);
            assert_eq!(
                RemoteKeySet::new(c).unwrap_err().code(),
                "invalid_config",
                "{bad}"
            );
        }
    }

    #[test]
    fn http_needs_the_opt_in() {
        let e = RemoteKeySet::new(RemoteConfig::new("http://127.0.0.1:8080/jwks")).unwrap_err();
        assert_eq!(e.code(), "invalid_config");
        assert!(e.to_string().contains("https"), "{e}");
        RemoteKeySet::new(RemoteConfig {
            allow_insecure_http: true,
            ..RemoteConfig::new("http://127.0.0.1:8080/jwks")
        })
        .unwrap();
        RemoteKeySet::new(RemoteConfig::new("https://issuer.example/jwks")).unwrap();
    }

    #[test]
    fn cooldown_floor_and_max_stale_bounds() {
        let with = |cooldown, cache_ttl, max_stale| {
            RemoteKeySet::new(RemoteConfig {
                cooldown,
                cache_ttl,
                max_stale,
                ..RemoteConfig::new("https://issuer.example/jwks")
            })
        };
        assert_eq!(with(0, 300, 86_400).unwrap_err().code(), "invalid_config");
        with(MIN_COOLDOWN, 300, 86_400).unwrap();
        assert_eq!(with(30, 300, 299).unwrap_err().code(), "invalid_config");
        assert_eq!(with(30, 0, 0).unwrap_err().code(), "invalid_config");
        with(30, 300, 300).unwrap();
        assert_eq!(RemoteConfig::new("https://x").max_stale, DEFAULT_MAX_STALE);
        assert_eq!(DEFAULT_MAX_STALE, 86_400);
    }

    #[test]
    fn a_burst_of_unknown_kids_starts_one_fetch_per_cooldown() {
        let r = RemoteKeySet::new(RemoteConfig {
            cooldown: MIN_COOLDOWN,
            ..config()
        })
        .unwrap();
        r.complete(&jwks("a"), 1000).unwrap();
        let started = (0..50)
            .filter(|i| r.begin_fetch(Some(&format!("forged-{i}")), 1000))
            .count();
        assert_eq!(started, 1, "50 forged kids in one second: one fetch");
        assert!(
            r.begin_fetch(Some("forged-x"), 1001),
            "the next second: one more"
        );
        assert!(!r.begin_fetch(Some("forged-y"), 1001));
    }

    #[test]
    fn max_stale_stops_old_keys() {
        let r = RemoteKeySet::new(RemoteConfig {
            cache_ttl: 300,
            max_stale: 3600,
            ..config()
        })
        .unwrap();
        assert_eq!(
            r.keys_at(0).unwrap_err().code(),
            "unknown_key",
            "never fetched"
        );
        r.complete(&jwks("a"), 1000).unwrap();
        assert!(
            r.keys_at(1000 + 3600).is_ok(),
            "exactly max_stale old: still used"
        );
        // Refreshes keep failing: the cached keys age out.
        assert!(r.begin_fetch(Some("a"), 2000));
        let e = r.fail("HTTP 503");
        assert_eq!(e.code(), "jwks_unavailable");
        assert_eq!(e.to_string(), "remote key set unavailable: HTTP 503");
        assert!(
            r.keys_at(4000).is_ok(),
            "failing but young: last good keys used"
        );
        let e = r.keys_at(1000 + 3601).unwrap_err();
        assert_eq!(e.code(), "jwks_unavailable");
        assert!(
            r.current().is_some(),
            "the cache still reports what it holds"
        );
        // A successful refresh makes them usable again.
        r.complete(&jwks("a"), 5000).unwrap();
        assert!(r.keys_at(5000).is_ok());
        assert!(r.keys_at(5000 + 3601).is_err());
    }

    #[test]
    fn failed_first_fetch_is_jwks_unavailable() {
        let r = remote();
        assert!(r.begin_fetch(None, 0));
        assert_eq!(r.complete(b"", 0).unwrap_err().code(), "jwks_unavailable");
        assert_eq!(r.keys_at(0).unwrap_err().code(), "jwks_unavailable");
        r.complete(&jwks("a"), 1).unwrap();
        assert!(r.keys_at(1).is_ok());
    }

    #[test]
    fn size_cap() {
        let r = remote();
        r.check_length(MAX_JWKS_BYTES as u64).unwrap();
        assert_eq!(
            r.check_length(MAX_JWKS_BYTES as u64 + 1)
                .unwrap_err()
                .code(),
            "jwks_unavailable"
        );
        assert_eq!(
            r.check_length(u64::MAX).unwrap_err().code(),
            "jwks_unavailable"
        );
        let mut big = b"{\"keys\": [], \"pad\": \"".to_vec();
        big.resize(MAX_JWKS_BYTES + 1, b'a');
        let e = r.complete(&big, 0).unwrap_err();
        assert_eq!(e.code(), "jwks_unavailable");
        assert!(e.to_string().contains("size limit"), "{e}");
    }

    #[test]
    fn messages_never_quote_the_body() {
        let r = remote();
        let e = r.complete(b"<html>secret-body-text</html>", 0).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(r.fail(&"x".repeat(500)).to_string().len() < 120);
    }

    #[test]
    fn redaction() {
        for (url, shown) in [
            ("https://issuer.example/jwks", "https://issuer.example/jwks"),
            (
                "https://user:pass@issuer.example/jwks",
                "https://***@issuer.example/jwks",
            ),
            (
                "https://user@issuer.example:8443",
                "https://***@issuer.example:8443",
            ),
            (
                "https://a:b@c@issuer.example/x?y",
                "https://***@issuer.example/x?***",
            ),
            (
                "https://issuer.example/jwks?api_key=s3cret#frag",
                "https://issuer.example/jwks?***",
            ),
            ("http://u:p@127.0.0.1/j#f", "http://***@127.0.0.1/j"),
            ("ftp://u:p@x/", "<invalid url>"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        let r =
            RemoteKeySet::new(RemoteConfig::new("https://user:pass@issuer.example/jwks")).unwrap();
        assert_eq!(r.redacted_url(), "https://***@issuer.example/jwks");
        let debug = format!("{r:?}");
        assert!(
            !debug.contains("pass") && !debug.contains("user"),
            "{debug}"
        );
    }

    #[test]
    fn verification_uses_max_stale_at_the_verify_clock() {
        use crate::token::{KeySource, Tokens, TokensConfig, VerifyOptions};
        let tokens_config = || TokensConfig::new("https://issuer.example", vec!["api".into()]);
        let signer_keys = KeySet::generate(Alg::EdDSA, Some("k".into())).unwrap();
        let signer = Tokens::new(KeySource::Local(signer_keys.clone()), tokens_config()).unwrap();
        let r = RemoteKeySet::new(RemoteConfig {
            max_stale: 3600,
            ..config()
        })
        .unwrap();
        let verifier = Tokens::new(KeySource::Remote(r.clone()), tokens_config()).unwrap();
        let token = signer
            .issue_at("u", serde_json::Map::new(), Some(50_000), 1000)
            .unwrap();
        let at = |now| VerifyOptions {
            now: Some(now),
            ..Default::default()
        };
        assert_eq!(
            verifier.verify(&token, &at(1000)).unwrap_err().code(),
            "unknown_key"
        );
        r.complete(signer_keys.to_jwks(false).to_string().as_bytes(), 1000)
            .unwrap();
        assert_eq!(verifier.verify(&token, &at(4600)).unwrap()["sub"], "u");
        let e = verifier.verify(&token, &at(4601)).unwrap_err();
        assert_eq!(e.code(), "jwks_unavailable");
    }

    #[test]
    fn a_refresh_that_drops_a_key_ends_its_cached_tokens() {
        use crate::token::{KeySource, Tokens, TokensConfig, VerifyOptions};
        let tokens_config = || TokensConfig::new("https://issuer.example", vec!["api".into()]);
        let old = KeySet::generate(Alg::EdDSA, Some("old".into())).unwrap();
        let new = KeySet::generate(Alg::EdDSA, Some("new".into())).unwrap();
        let signer = Tokens::new(KeySource::Local(old.clone()), tokens_config()).unwrap();
        let r = remote();
        let verifier = Tokens::new(KeySource::Remote(r.clone()), tokens_config()).unwrap();
        let token = signer
            .issue_at("u", serde_json::Map::new(), None, 1000)
            .unwrap();
        let at = VerifyOptions {
            now: Some(1000),
            ..Default::default()
        };
        r.complete(old.to_jwks(false).to_string().as_bytes(), 1000)
            .unwrap();
        assert!(verifier.verify(&token, &at).is_ok());
        assert!(
            verifier.verify(&token, &at).is_ok(),
            "served from the cache"
        );
        assert_eq!(verifier.cached_tokens(), 1);
        // The same JWKS fetched again is a new set: verified again, with the same outcome.
        r.complete(old.to_jwks(false).to_string().as_bytes(), 1000)
            .unwrap();
        assert!(verifier.verify(&token, &at).is_ok());
        r.complete(new.to_jwks(false).to_string().as_bytes(), 1000)
            .unwrap();
        assert_eq!(
            verifier.verify(&token, &at).unwrap_err().code(),
            "unknown_key"
        );
        assert_eq!(verifier.cached_tokens(), 0);
    }
}
