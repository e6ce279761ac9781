//! Persistence behind the [`Store`] trait: http-poller state, and (through its supertrait
//! [`EventStore`]) retained events and event history.
//!
//! What survives a restart of a poller, per (realm, topic) where topic is its WAMP topic URI:
//! - [`TopicState`]: the last snapshot and its sequence number, the last-success instant that
//!   drives computed query parameters, and the validators for conditional requests;
//! - [`PollRecord`]s: the newest N polls, for the topics API;
//! - topic definitions created through the topics API (config-file topics are not stored).
//!
//! Two implementations: [`MemoryStore`] (tests, or no persistence configured) and
//! [`EmbeddedStore`] (one redb file). Methods are synchronous because redb is; async callers
//! wrap them in `spawn_blocking`, and the publish path hands its writes to an [`EventWriter`]
//! thread instead of waiting.

pub mod cookies;
mod crossbar_cookies;
mod embedded;
mod events;
mod late;
mod lock_holder;
mod memory;
mod writer;

pub use embedded::EmbeddedStore;
pub use events::{AudienceRecord, EventRecord, EventStore, EventWrite};
pub use late::LateStore;
pub use lock_holder::lock_holder;
pub use memory::MemoryStore;
pub use writer::{EventWriter, WriterStats};

use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Storage for poller topics and, through [`EventStore`], for retained events and event
/// history. Object safe, so a realm can hold an `Arc<dyn Store>` (a cluster store can replace
/// the embedded one later).
pub trait Store: EventStore + Send + Sync {
    /// The persisted state of a topic, `None` before its first save.
    fn topic_state(&self, realm: &str, topic: &str) -> Result<Option<TopicState>, StoreError>;

    /// Replaces the persisted state of a topic.
    fn save_topic_state(
        &self,
        realm: &str,
        topic: &str,
        state: &TopicState,
    ) -> Result<(), StoreError>;

    /// Adds a record and drops the oldest ones so that at most `keep_last` remain for the topic.
    fn append_poll_record(
        &self,
        realm: &str,
        topic: &str,
        record: &PollRecord,
        keep_last: usize,
    ) -> Result<(), StoreError>;

    /// The topic's kept records, newest (last appended) first.
    fn poll_records(&self, realm: &str, topic: &str) -> Result<Vec<PollRecord>, StoreError>;

    /// Creates or replaces the definition of a topic made through the topics API.
    fn save_topic_definition(
        &self,
        realm: &str,
        topic: &str,
        definition: &Json,
    ) -> Result<(), StoreError>;

    /// Forgets everything about a topic: definition, state and records. Deleting an unknown
    /// topic is not an error.
    fn delete_topic(&self, realm: &str, topic: &str) -> Result<(), StoreError>;

    /// The stored definitions of a realm as (topic, definition), ordered by topic.
    fn topic_definitions(&self, realm: &str) -> Result<Vec<(String, Json)>, StoreError>;
}

/// What a poller needs to resume where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicState {
    /// Sequence number of the last published snapshot or patch.
    pub seq: u64,
    /// The last published payload: the retained snapshot, and the base of the next patch.
    pub snapshot: Option<Json>,
    /// SHA-256 of the raw bytes behind `snapshot` (the poller's `PayloadHash`), so that an
    /// unchanged upstream is still detected before parsing after a restart.
    #[serde(default, with = "hex_digest")]
    pub snapshot_hash: Option<[u8; 32]>,
    /// Start of the last cycle whose requests all succeeded.
    #[serde(default, with = "rfc3339::option")]
    pub last_success: Option<Timestamp>,
    /// `ETag` of the last response, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified` of the last response, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// How many poll records are kept per topic.
pub const POLL_RECORDS_KEPT: usize = 100;

/// One poll cycle, as the topics API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollRecord {
    #[serde(with = "rfc3339")]
    pub started: Timestamp,
    pub duration_ms: u64,
    /// The request URL with secrets already redacted by the caller.
    pub url: String,
    /// HTTP status of the last response, `None` when no response arrived.
    pub status: Option<u16>,
    pub attempts: u32,
    pub bytes: u64,
    pub changed: bool,
    pub error: Option<String>,
}

/// A store operation that failed; messages name the file and the operation. redb's errors are
/// boxed to keep `Result<_, StoreError>` small on the success path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create directory {} for the store: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open store {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: Box<redb::DatabaseError>,
    },
    /// A store that is not open yet (another process holds its file), asked for something
    /// that memory cannot stand in for.
    #[error(
        "store {} is not open (another process holds it): {operation} is refused until it is",
        path.display()
    )]
    NotOpen {
        path: PathBuf,
        operation: &'static str,
    },
    #[error("store {}: {operation} failed: {source}", path.display())]
    Database {
        path: PathBuf,
        operation: &'static str,
        source: Box<redb::Error>,
    },
    /// A stored value that does not decode (or a value that does not encode): the file was
    /// written by an incompatible version or damaged.
    #[error(
        "store {}: {operation} of topic {topic:?} in realm {realm:?} failed: {source}",
        path.display()
    )]
    Record {
        path: PathBuf,
        operation: &'static str,
        realm: String,
        topic: String,
        source: serde_json::Error,
    },
    /// A retained event or history entry that does not decode (or encode); `key` is the topic
    /// or the history rule.
    #[error(
        "store {}: {operation} of {key:?} in realm {realm:?} failed: {message}",
        path.display()
    )]
    Event {
        path: PathBuf,
        operation: &'static str,
        realm: String,
        key: String,
        message: String,
    },
}

impl StoreError {
    /// Whether the store could not be opened because another process has it open (redb locks
    /// its file): worth waiting for, unlike a damaged file or a missing permission.
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Open { source, .. }
            if matches!(**source, redb::DatabaseError::DatabaseAlreadyOpen))
    }
}

/// Instants as RFC 3339 text: readable in a dump, and jiff's serde support is not enabled.
mod rfc3339 {
    use jiff::Timestamp;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(instant: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(instant)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }

    pub mod option {
        use jiff::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            instant: &Option<Timestamp>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match instant {
                Some(instant) => super::serialize(instant, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Timestamp>, D::Error> {
            #[derive(Deserialize)]
            struct Instant(#[serde(with = "super")] Timestamp);
            let instant = Option::<Instant>::deserialize(deserializer)?;
            Ok(instant.map(|Instant(instant)| instant))
        }
    }
}

/// A digest as hex text rather than serde's array of 32 numbers.
mod hex_digest {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        digest: &Option<[u8; 32]>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match digest {
            Some(digest) => serializer.serialize_str(&hex::encode(digest)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        let mut digest = [0; 32];
        hex::decode_to_slice(&text, &mut digest).map_err(D::Error::custom)?;
        Ok(Some(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_text_and_round_trip_to_the_nanosecond() {
        let state = TopicState {
            last_success: Some("2024-03-01T12:30:45.123456789Z".parse().unwrap()),
            ..TopicState::default()
        };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["last_success"], "2024-03-01T12:30:45.123456789Z");
        assert_eq!(serde_json::from_value::<TopicState>(json).unwrap(), state);
    }

    #[test]
    fn the_snapshot_hash_is_hex_text() {
        let state = TopicState {
            snapshot_hash: Some([0xab; 32]),
            ..TopicState::default()
        };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["snapshot_hash"], "ab".repeat(32));
        assert_eq!(serde_json::from_value::<TopicState>(json).unwrap(), state);
        let short = serde_json::from_str::<TopicState>(r#"{"seq": 1, "snapshot_hash": "abcd"}"#);
        assert!(short.is_err());
    }

    #[test]
    fn missing_optional_fields_read_as_none() {
        let state: TopicState = serde_json::from_str(r#"{"seq": 3}"#).unwrap();
        assert_eq!(
            state,
            TopicState {
                seq: 3,
                ..TopicState::default()
            }
        );
    }

    #[test]
    fn a_malformed_instant_is_an_error() {
        let result = serde_json::from_str::<TopicState>(r#"{"seq": 1, "last_success": "soon"}"#);
        assert!(result.is_err());
    }
}
