//! The caching policy of remote key sets (JWKS URLs), shared by both bindings; only the HTTP
//! request itself is made in Python (httpx) or Node (fetch). Rules as in PyJWT's PyJWKClient and
//! jose's createRemoteJWKSet: cache for `cache_ttl`, refetch for an unknown `kid` at most once per
//! `cooldown`, keep the last good set when a refresh fails, and never follow a URL from a token.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::keys::{Key, KeySet};

#[derive(Debug, Clone)]
pub struct RemoteConfig {
    pub url: String,
    pub cache_ttl: u64,
    pub cooldown: u64,
    pub timeout_ms: u64,
}

#[derive(Default)]
struct State {
    keys: Option<KeySet>,
    fetched_at: i64,
    last_attempt: Option<i64>,
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
            .field("url", &self.config.url)
            .finish()
    }
}

/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;

impl RemoteKeySet {
    pub fn new(config: RemoteConfig) -> Result<Self> {
        let url = config.url.as_str();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| Error::InvalidConfig("remote key set URL must be http(s)".into()))?;
        if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
            return Err(Error::InvalidConfig(
                "remote key set URL has no host".into(),
            ));
        }
        if config.timeout_ms == 0 || config.timeout_ms > 60_000 {
            return Err(Error::InvalidConfig(
                "timeout must be between 1 ms and 60 s".into(),
            ));
        }
        Ok(RemoteKeySet {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(State::default())),
        })
    }

    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached keys, if any fetch has succeeded.
    pub fn current(&self) -> Option<KeySet> {
        self.lock().keys.clone()
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

    /// Takes a fetched JWKS body. Keys that cannot be used for verification (other key types,
    /// `use: enc`, private or secret keys) are skipped; a document with no usable key, or one
    /// that does not parse, leaves the previous set in place.
    pub fn complete(&self, body: &str, now: i64) -> Result<()> {
        if body.len() > MAX_JWKS_BYTES {
            return Err(Error::InvalidKey("remote JWKS too large".into()));
        }
        let value: Value = serde_json::from_str(body)
            .map_err(|_| Error::InvalidKey("remote JWKS is not JSON".into()))?;
        let list = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::InvalidKey("remote JWKS has no \"keys\" array".into()))?;
        let keys: Vec<Key> = list
            .iter()
            .take(100)
            .filter_map(|j| crate::keys::import_jwk(j, None).ok())
            .filter(|k| !k.has_private())
            .collect();
        if keys.is_empty() {
            return Err(Error::InvalidKey(
                "remote JWKS has no usable public signing key".into(),
            ));
        }
        let set = KeySet::from_keys(keys)?;
        let mut s = self.lock();
        s.keys = Some(set);
        s.fetched_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Alg;

    fn remote() -> RemoteKeySet {
        RemoteKeySet::new(RemoteConfig {
            url: "https://issuer.example/jwks".into(),
            cache_ttl: 300,
            cooldown: 30,
            timeout_ms: 5000,
        })
        .unwrap()
    }

    #[test]
    fn cache_and_cooldown() {
        let r = remote();
        let keys = KeySet::generate(Alg::EdDSA, Some("a".into())).unwrap();
        let body = keys.to_jwks(false).to_string();
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
        assert!(r.complete("not json", 1400).is_err());
        assert!(
            r.current().unwrap().get("a").is_some(),
            "failure keeps the last good set"
        );
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
        r.complete(&body.to_string(), 0).unwrap();
        assert_eq!(r.current().unwrap().kids(), vec!["e".to_string()]);
        assert!(r
            .complete(
                &serde_json::json!({"keys": [private["keys"][0]]}).to_string(),
                0
            )
            .is_err());
    }

    #[test]
    fn url_rules() {
        for bad in [
            "ftp://x/jwks",
            "file:///etc/passwd",
            "https://",
            "jwks.json",
            "https:// x",
        ] {
            let c = RemoteConfig {
                url: bad.into(),
                cache_ttl: 1,
                cooldown: 1,
                timeout_ms: 1000,
            };
            assert_eq!(
                RemoteKeySet::new(c).unwrap_err().code(),
                "invalid_config",
                "{bad}"
            );
        }
    }
}
