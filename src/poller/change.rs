//! Change detection for http-poller topics: decides, poll after poll, whether the selected payload
//! changed and what to publish about it.
//!
//! A [`Tracker`] owns one topic's retained snapshot, the SHA-256 of the payload bytes that
//! produced it, and `seq`, the sequence number of the last published event. Each poll hands it
//! the payload (after `payloadPointer` selection) and gets back a [`Change`]:
//!
//! - [`Change::Unchanged`]: publish nothing (an identical payload publishes nothing);
//! - [`Change::Snapshot`]: the first payload, or a change whose RFC 6902 patch would be larger
//!   than the new document (always so for tiny documents: `[{"op":"replace","path":"/a",
//!   "value":2}]` is longer than `{"a":2}`);
//! - [`Change::Patch`]: the RFC 6902 operations that turn snapshot `seq - 1` into snapshot `seq`.
//!
//! `seq` grows by exactly one per published change, so a subscriber that sees a gap knows it
//! missed something and fetches the snapshot again. [`Change::to_event`] builds the event kwargs
//! subscribers receive (README.md, "http-poller topics", "What subscribers receive").
//!
//! A changed poll of a large document is on the clock from the polled bytes to the published
//! patch, so [`Tracker::observe`] diffs the bytes against the snapshot while parsing them
//! ([`crate::poller::diff::diff_bytes`]), builds no tree for what did not change, and measures
//! the document by its byte length. The new snapshot is kept as those bytes and parsed when
//! first asked for ([`Tracker::snapshot`]), which the poller does after publishing; so is the
//! bytes' SHA-256 ([`Tracker::hash`]), since identical bytes are found by comparing them with
//! the kept ones. Snapshots are never copied: the tracker keeps the parsed document behind an
//! `Arc` that [`Change::Snapshot`] and the poller's status share.
//!
//! This module does no I/O: persisting the state ([`Tracker::seq`], [`Tracker::snapshot`],
//! [`Tracker::hash`]) and publishing the events belong to the poller that owns the tracker.

use std::io;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use json_patch::Patch;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::poller::diff::{diff, diff_bytes};

/// SHA-256 of a payload's raw bytes.
pub type PayloadHash = [u8; 32];

/// The hash [`Tracker::observe`] keeps for `raw`, exposed so that a store can check or rebuild it.
pub fn payload_hash(raw: &[u8]) -> PayloadHash {
    Sha256::digest(raw).into()
}

/// What one observed payload means for subscribers.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Same data as the retained snapshot: publish nothing, `seq` is not used up.
    Unchanged,
    /// The full document, published as event `seq` (the tracker's snapshot, shared).
    Snapshot { seq: u64, data: Arc<Value> },
    /// Applying `patch` to snapshot `seq - 1` gives snapshot `seq`.
    Patch { seq: u64, patch: Patch },
}

impl Change {
    /// The sequence number of the event to publish, `None` when there is nothing to publish.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Change::Unchanged => None,
            Change::Snapshot { seq, .. } | Change::Patch { seq, .. } => Some(*seq),
        }
    }

    /// The event's kwargs as subscribers receive them: `{"type": "snapshot", "seq": n, "data":
    /// ...}` or `{"type": "patch", "seq": n, "patch": [...]}`; `None` for [`Change::Unchanged`],
    /// which publishes nothing (an `Option` so that no caller can publish an empty event).
    pub fn to_event(&self) -> Option<Value> {
        self.clone().into_event()
    }

    /// Like [`Change::to_event`], without copying the document when this change holds the
    /// last reference to it.
    pub fn into_event(self) -> Option<Value> {
        match self {
            Change::Unchanged => None,
            Change::Snapshot { seq, data } => {
                let data = Arc::unwrap_or_clone(data);
                Some(json!({"type": "snapshot", "seq": seq, "data": data}))
            }
            Change::Patch { seq, patch } => {
                Some(json!({"type": "patch", "seq": seq, "patch": patch}))
            }
        }
    }
}

/// Why a payload could not be observed. The tracker's state is unchanged after an error.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The payload bytes are not JSON (the reference's error event 70016).
    #[error("payload is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
}

impl ChangeError {
    /// The code of the `{"type": "error", ...}` event that reports this error.
    pub fn code(&self) -> u32 {
        match self {
            ChangeError::NotJson(_) => 70016,
        }
    }
}

/// One topic's change-detection state: retained snapshot, the bytes behind it (kept beside the
/// parsed document: one payload, at most the payload limit) or their hash, `seq`.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    snapshot: Option<Arc<Snapshot>>,
    /// When set, the bytes last observed (or only their hash), which parse to a value equal to
    /// `snapshot`; never set without a snapshot, or identical bytes would be taken as
    /// "unchanged" before anything was published.
    seen: Option<Seen>,
    seq: u64,
}

impl Tracker {
    /// A tracker that has published nothing: the first payload becomes snapshot 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker continuing from persisted state, so that after a restart an unchanged upstream
    /// publishes nothing and the next change is `seq + 1`. A `hash` without a `snapshot` is
    /// dropped (see the field's comment).
    pub fn restore(seq: u64, snapshot: Option<Value>, hash: Option<PayloadHash>) -> Self {
        let seen = snapshot.as_ref().and(hash).map(|hash| Seen {
            bytes: None,
            hash: OnceLock::from(hash),
        });
        Self {
            snapshot: snapshot.map(|value| Arc::new(Snapshot::parsed(value))),
            seen,
            seq,
        }
    }

    /// The sequence number of the last published event (0 before the first).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The retained snapshot: what a subscriber gets first, and what the next patch applies to.
    /// The first call after a patch parses the bytes it was observed as.
    pub fn snapshot(&self) -> Option<&Value> {
        self.shared_snapshot().map(|snapshot| &**snapshot)
    }

    /// The retained snapshot as the tracker holds it, to share without copying.
    pub fn shared_snapshot(&self) -> Option<&Arc<Value>> {
        self.snapshot.as_deref().map(Snapshot::value)
    }

    /// The hash of the payload bytes behind the snapshot, to persist with it; computed on the
    /// first call after a changed payload.
    pub fn hash(&self) -> Option<&PayloadHash> {
        self.seen.as_ref().map(Seen::hash)
    }

    /// The kwargs of an error event: `{"type": "error", "seq": n, "code": 7xxxx, "message":
    /// "..."}`, where `n` is the seq of the last published snapshot or patch. An error does not
    /// use up a seq: "patch n applies to snapshot n - 1" must hold across errors, and a gap in
    /// seq would send every subscriber to fetch a snapshot that did not change.
    pub fn error_event(&self, code: u32, message: &str) -> Value {
        json!({"type": "error", "seq": self.seq, "code": code, "message": message})
    }

    /// Observes the raw bytes of a selected payload.
    ///
    /// Identical bytes are detected without parsing, by comparing them with the bytes last
    /// observed (or, after a restore, their hash): most polls are unchanged, and parsing 1 MiB
    /// costs milliseconds. Bytes that differ but parse to the same value (whitespace, key
    /// order) are unchanged too; they are kept so that the next identical poll takes the fast
    /// path.
    ///
    /// Other bytes are diffed against the snapshot as they are parsed, and a patch keeps them
    /// as the new snapshot, parsed on first use. The bytes' length stands for the document's
    /// size when choosing between patch and snapshot: exact for compact JSON, an overestimate
    /// for indented JSON (where a patch a little larger than the compact snapshot may then be
    /// chosen).
    pub fn observe(&mut self, raw: &[u8]) -> Result<Change, ChangeError> {
        self.observe_bytes(Bytes::copy_from_slice(raw))
    }

    /// [`Tracker::observe`], keeping `raw` (e.g. a response body) without copying it.
    pub fn observe_bytes(&mut self, raw: Bytes) -> Result<Change, ChangeError> {
        if self.seen.as_ref().is_some_and(|seen| seen.is(&raw)) {
            return Ok(Change::Unchanged);
        }
        let change = match self.snapshot() {
            Some(old) => {
                let patch = diff_bytes(old, &raw)?;
                self.advance(Some(patch), Snapshot::unparsed(raw.clone()), raw.len())
            }
            None => {
                let value = serde_json::from_slice(&raw)?;
                self.advance(None, Snapshot::parsed(value), raw.len())
            }
        };
        self.seen = Some(Seen {
            bytes: Some(raw),
            hash: OnceLock::new(),
        });
        Ok(change)
    }

    /// Observes a payload that is already parsed (e.g. the result of a transform), with the same
    /// rules as [`Tracker::observe`] but no byte hash.
    ///
    /// The hash is cleared rather than computed from a serialization of `value`: comparing
    /// values is already cheaper than serializing and hashing, and a stale hash must never
    /// describe anything but the bytes behind the current snapshot. A later
    /// [`Tracker::observe`] parses once and sets it again.
    pub fn observe_value(&mut self, value: Value) -> Change {
        let patch = self.snapshot().map(|old| diff(old, &value));
        // Only a patch is compared with the size: measure the document for a patch alone.
        let size = match &patch {
            Some(patch) if !patch.0.is_empty() => serialized_len(&value),
            _ => 0,
        };
        let change = self.advance(patch, Snapshot::parsed(value), size);
        self.seen = None;
        change
    }

    /// Retains `new` as snapshot `seq + 1`, unless `patch` (from the current snapshot to `new`)
    /// is empty. The patch is published when it is not larger than `size`, the document's size.
    ///
    /// The replaced snapshot is released here; the poller keeps another reference to it (its
    /// status) and drops that one off the poll's path, since freeing a large document takes
    /// milliseconds.
    fn advance(&mut self, patch: Option<Patch>, new: Snapshot, size: usize) -> Change {
        if patch.as_ref().is_some_and(|patch| patch.0.is_empty()) {
            return Change::Unchanged;
        }
        let seq = self.seq + 1;
        let new = Arc::new(new);
        let change = match patch {
            // The diff compares arrays by index: one element prepended to a large array
            // replaces every element after it, a patch bigger than the document itself.
            Some(patch) if fits_within(&patch, size) => Change::Patch { seq, patch },
            _ => Change::Snapshot {
                seq,
                data: Arc::clone(new.value()),
            },
        };
        self.seq = seq;
        self.snapshot = Some(new);
        change
    }
}

/// A retained snapshot: a parsed document, or the bytes of one, parsed on first use.
#[derive(Debug)]
struct Snapshot {
    /// Bytes known to be JSON (they were diffed, which parses them); kept once parsed, since
    /// a shared snapshot cannot be changed.
    bytes: Option<Bytes>,
    value: OnceLock<Arc<Value>>,
}

impl Snapshot {
    fn parsed(value: Value) -> Self {
        Self {
            bytes: None,
            value: OnceLock::from(Arc::new(value)),
        }
    }

    fn unparsed(bytes: Bytes) -> Self {
        Self {
            bytes: Some(bytes),
            value: OnceLock::new(),
        }
    }

    fn value(&self) -> &Arc<Value> {
        self.value.get_or_init(|| {
            let bytes = self.bytes.as_deref().unwrap_or_default();
            Arc::new(serde_json::from_slice(bytes).expect("the bytes parsed when diffed"))
        })
    }
}

/// The payload bytes last observed, or only their hash (restored from a store).
#[derive(Debug, Clone)]
struct Seen {
    bytes: Option<Bytes>,
    /// Always set when `bytes` is not.
    hash: OnceLock<PayloadHash>,
}

impl Seen {
    fn is(&self, raw: &[u8]) -> bool {
        match &self.bytes {
            Some(bytes) => **bytes == *raw,
            None => self.hash.get() == Some(&payload_hash(raw)),
        }
    }

    fn hash(&self) -> &PayloadHash {
        self.hash
            .get_or_init(|| payload_hash(self.bytes.as_deref().unwrap_or_default()))
    }
}

/// The length of `value` serialized as compact JSON, counted without building the string.
fn serialized_len(value: &Value) -> usize {
    let mut counter = Budget { left: usize::MAX };
    serde_json::to_writer(&mut counter, value).expect("a JSON value serializes to any writer");
    usize::MAX - counter.left
}

/// Whether `value` serializes to at most `limit` bytes. Serialization stops as soon as the budget
/// is spent, so an oversized patch (megabytes for a prepended array) is never written out whole.
fn fits_within(value: &impl Serialize, limit: usize) -> bool {
    serde_json::to_writer(Budget { left: limit }, value).is_ok()
}

/// A writer that discards bytes and fails once more than `left` bytes were written.
struct Budget {
    left: usize,
}

impl io::Write for Budget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.left = self
            .left
            .checked_sub(buf.len())
            .ok_or_else(|| io::Error::other("serialized size over budget"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_len_counts_compact_json() {
        let value = json!({"a": [1, "x"], "b": null});
        assert_eq!(
            serialized_len(&value),
            serde_json::to_vec(&value).unwrap().len()
        );
    }

    #[test]
    fn fits_within_is_inclusive_and_stops_over_budget() {
        let value = json!([1, 2, 3]); // "[1,2,3]": 7 bytes
        assert!(fits_within(&value, 7));
        assert!(!fits_within(&value, 6));
        assert!(!fits_within(&value, 0));
    }

    #[test]
    fn restore_drops_a_hash_without_snapshot() {
        let raw = br#"{"a":1}"#;
        let mut tracker = Tracker::restore(7, None, Some(payload_hash(raw)));
        assert_eq!(tracker.hash(), None);
        // Had the hash been kept, these bytes would be "unchanged" and never published.
        let change = tracker.observe(raw).unwrap();
        assert_eq!(
            change,
            Change::Snapshot {
                seq: 8,
                data: json!({"a": 1}).into()
            }
        );
    }

    #[test]
    fn observe_value_clears_the_hash() {
        let mut tracker = Tracker::new();
        tracker.observe(br#"{"a":1}"#).unwrap();
        assert!(tracker.hash().is_some());
        assert_eq!(
            tracker.observe_value(json!({"a": 2})).seq(),
            Some(2),
            "a changed value is published"
        );
        assert_eq!(tracker.hash(), None);
        // The old bytes are a change back, not a stale "unchanged".
        assert_eq!(tracker.observe(br#"{"a":1}"#).unwrap().seq(), Some(3));
    }

    #[test]
    fn root_scalar_change_is_a_snapshot() {
        // The patch [{"op":"replace","path":"","value":2}] is larger than the document "2".
        let mut tracker = Tracker::restore(1, Some(json!(1)), None);
        assert_eq!(
            tracker.observe_value(json!(2)),
            Change::Snapshot {
                seq: 2,
                data: json!(2).into()
            }
        );
    }

    #[test]
    fn error_event_keeps_the_seq_of_the_last_published_event() {
        let mut tracker = Tracker::new();
        tracker.observe(b"[1]").unwrap();
        assert_eq!(
            tracker.error_event(70016, "payload is not JSON"),
            json!({"type": "error", "seq": 1, "code": 70016, "message": "payload is not JSON"})
        );
        assert_eq!(tracker.seq(), 1);
    }

    #[test]
    fn error_codes_match_the_reference() {
        let err = Tracker::new().observe(b"{").unwrap_err();
        assert_eq!(err.code(), 70016);
        assert!(
            err.to_string().starts_with("payload is not JSON: "),
            "{err}"
        );
    }
}
