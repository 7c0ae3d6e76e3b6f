//! The verified-token cache of [`crate::token::Tokens`]: what the signature check of an access
//! token established, remembered so that the next request presenting the same token skips the
//! public-key operation (EdDSA: about 40 µs, most of a protected request's auth cost).
//!
//! Security argument:
//! - The key is SHA-256 of the whole token: a token differing in any byte (a tampered signature,
//!   payload or header) is another key and goes through full verification.
//! - An entry is added only after a verification that succeeded completely; failures are never
//!   cached.
//! - An entry holds what the signature vouches for (the `typ` header and the parsed claims); every
//!   check that depends on the clock or on the call (`typ`, `exp`/`nbf`/`iat` with the leeway,
//!   `iss`, `aud`, required claims) runs again on every hit.
//! - Entries belong to one version of the key set ([`crate::keys::KeySet::version`], unique in
//!   the process and changed by every rotation or retirement; a refreshed remote key set is a new
//!   set): a lookup under another version empties the cache first.
//! - The cache is bounded (entries, and only tokens up to [`MAX_CACHED_TOKEN`] bytes are kept);
//!   when full, CLOCK eviction (second chance for recently used entries) makes room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Default number of entries.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Largest capacity the bindings accept.
pub const MAX_CAPACITY: usize = 1 << 20;

/// Longer tokens are verified every time (bounds the cache's memory to about
/// `capacity` × a few KiB).
pub const MAX_CACHED_TOKEN: usize = 4096;

/// What a successful verification established about one token.
#[derive(Debug)]
pub struct Verified {
    /// The protected header's `typ`.
    pub typ: Option<String>,
    /// The payload, parsed, with the registered claims' types checked.
    pub claims: Arc<Map<String, Value>>,
}

struct Entry {
    verified: Arc<Verified>,
    slot: usize,
    referenced: bool,
}

#[derive(Default)]
struct Inner {
    /// The key set version the entries were verified under.
    version: u64,
    map: HashMap<[u8; 32], Entry>,
    /// The keys in CLOCK order (`slots.len() <= capacity`).
    slots: Vec<[u8; 32]>,
    hand: usize,
}

/// A bounded map from SHA-256(token) to what verifying it established. Shared by clones of one
/// `Tokens`.
pub struct VerifyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

/// The cache key of `token`.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifyCache {
    /// A cache of at most `capacity` entries (0: nothing is ever cached).
    pub fn new(capacity: usize) -> Self {
        VerifyCache {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic mid-update leaves at worst an entry without its slot; start again empty.
        self.inner.lock().unwrap_or_else(|e| {
            let mut g = e.into_inner();
            g.clear(0);
            g
        })
    }

    /// The entry for `key` verified under key set `version`. Another version empties the cache.
    pub fn get(&self, key: &[u8; 32], version: u64) -> Option<Arc<Verified>> {
        if self.capacity == 0 {
            return None;
        }
        let mut inner = self.lock();
        if inner.version != version {
            inner.clear(version);
            return None;
        }
        let entry = inner.map.get_mut(key)?;
        entry.referenced = true;
        Some(entry.verified.clone())
    }

    /// Remembers a token that verified under key set `version`.
    pub fn insert(&self, key: [u8; 32], version: u64, verified: Arc<Verified>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner.version != version {
            inner.clear(version);
        }
        if let Some(entry) = inner.map.get_mut(&key) {
            entry.verified = verified;
            return;
        }
        let slot = if inner.slots.len() < self.capacity {
            inner.slots.push(key);
            inner.slots.len() - 1
        } else {
            let slot = inner.victim();
            let old = std::mem::replace(&mut inner.slots[slot], key);
            inner.map.remove(&old);
            slot
        };
        inner.map.insert(
            key,
            Entry {
                verified,
                slot,
                referenced: false,
            },
        );
    }

    /// Drops the entry for `key` (a token that can never verify again: expired).
    pub fn remove(&self, key: &[u8; 32]) {
        let mut inner = self.lock();
        if let Some(entry) = inner.map.remove(key) {
            // Its slot is reused first: swap the last slot in.
            let last = inner.slots.len() - 1;
            inner.slots.swap(entry.slot, last);
            inner.slots.pop();
            if entry.slot < last {
                let moved = inner.slots[entry.slot];
                if let Some(e) = inner.map.get_mut(&moved) {
                    e.slot = entry.slot;
                }
            }
            if inner.hand >= inner.slots.len() {
                inner.hand = 0;
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn clear(&mut self, version: u64) {
        self.version = version;
        self.map.clear();
        self.slots.clear();
        self.hand = 0;
    }

    /// The slot to reuse: the first entry under the hand not used since the hand last passed.
    fn victim(&mut self) -> usize {
        loop {
            let slot = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            match self.map.get_mut(&self.slots[slot]) {
                Some(e) if e.referenced => e.referenced = false,
                _ => return slot,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(n: u64) -> Arc<Verified> {
        let mut m = Map::new();
        m.insert("n".into(), n.into());
        Arc::new(Verified {
            typ: None,
            claims: Arc::new(m),
        })
    }

    fn key(n: u64) -> [u8; 32] {
        digest(&n.to_string())
    }

    #[test]
    fn bounded_with_second_chance() {
        let c = VerifyCache::new(3);
        for n in 0..3 {
            c.insert(key(n), 1, verified(n));
        }
        assert!(
            c.get(&key(0), 1).is_some(),
            "0 used: kept on the next eviction"
        );
        c.insert(key(3), 1, verified(3));
        assert_eq!(c.len(), 3);
        assert!(c.get(&key(0), 1).is_some());
        assert!(c.get(&key(1), 1).is_none(), "1 was the victim");
        for n in 4..100 {
            c.insert(key(n), 1, verified(n));
            assert!(c.len() <= 3);
        }
        assert!(c.get(&key(99), 1).is_some());
    }

    #[test]
    fn another_version_empties_it() {
        let c = VerifyCache::new(10);
        c.insert(key(1), 7, verified(1));
        assert!(c.get(&key(1), 7).is_some());
        assert!(c.get(&key(1), 8).is_none());
        assert!(c.get(&key(1), 7).is_none(), "gone, not only hidden");
        assert!(c.is_empty());
    }

    #[test]
    fn remove_keeps_slots_consistent() {
        let c = VerifyCache::new(3);
        for n in 0..3 {
            c.insert(key(n), 1, verified(n));
        }
        c.remove(&key(0));
        c.remove(&key(0));
        assert_eq!(c.len(), 2);
        for n in 3..20 {
            c.insert(key(n), 1, verified(n));
            let inner = c.lock();
            assert_eq!(inner.map.len(), inner.slots.len());
            assert!(inner
                .slots
                .iter()
                .enumerate()
                .all(|(i, k)| inner.map[k].slot == i));
        }
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let c = VerifyCache::new(0);
        c.insert(key(1), 1, verified(1));
        assert!(c.get(&key(1), 1).is_none());
        assert!(c.is_empty());
    }
}
