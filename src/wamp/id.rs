//! WAMP ids: integers in [1, 2^53]. Session and publication ids are random over the whole
//! range (global scope); router-scope ids (subscriptions, registrations) come from a counter.

use std::sync::atomic::{AtomicU64, Ordering};

pub type Id = u64;

/// The largest id: 2^53, so ids survive a round trip through a JavaScript number.
pub const MAX_ID: Id = 1 << 53;

pub fn is_valid(id: Id) -> bool {
    (1..=MAX_ID).contains(&id)
}

/// A random id in [1, 2^53] (global scope: sessions, publications).
pub fn random_id() -> Id {
    rand::random_range(1..=MAX_ID)
}

/// A router-scope id derived from what it names, the same on every node of a cluster (so a
/// subscription or registration has one id cluster-wide, for the meta API).
pub fn derived_id(kind: &str, policy: &str, uri: &str) -> Id {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update([0])
        .chain_update(policy)
        .chain_update([0])
        .chain_update(uri)
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) % MAX_ID + 1
}

/// Router-scope ids: sequential from 1, wrapping back to 1 after 2^53.
#[derive(Debug, Default)]
pub struct IdCounter(AtomicU64);

impl IdCounter {
    pub fn next(&self) -> Id {
        let n = self.0.fetch_add(1, Ordering::Relaxed) % MAX_ID;
        n + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_in_range() {
        for _ in 0..10_000 {
            assert!(is_valid(random_id()));
        }
    }

    #[test]
    fn bounds() {
        assert!(!is_valid(0));
        assert!(is_valid(1));
        assert!(is_valid(MAX_ID));
        assert!(!is_valid(MAX_ID + 1));
    }

    #[test]
    fn counter_starts_at_one() {
        let c = IdCounter::default();
        assert_eq!(c.next(), 1);
        assert_eq!(c.next(), 2);
    }
}
