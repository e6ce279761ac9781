//! Publications that outlive the moment they were routed: a topic's retained event and the
//! entries of event-history rules, behind the [`EventStore`] trait.
//!
//! Keys: retained events by (realm, topic); history entries by (realm, rule, sequence), where
//! the rule is the history rule's key (`"exact:com.example.t"`, see the router's history) and
//! the sequence grows by one per entry of that rule, so a rule's entries are one range in
//! publication order and trimming to the newest N is one range delete.
//!
//! Writes come in batches ([`EventStore::write_events`]): the router's background writer
//! applies everything queued since its last commit in one transaction, so a burst of
//! publications costs one fsync, not one each.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::wamp::value::{BigIntForm, Dict, List, with_bigint_form};

/// Storage for retained events and event history. Object safe; every [`super::Store`] is one.
pub trait EventStore: Send + Sync {
    /// Whether what is written survives the process. A store that does not (the memory store)
    /// is not written to at all: the broker and the history buffers already hold everything.
    fn is_durable(&self) -> bool;

    /// The store's size on disk in bytes, for metrics (`None` when it keeps nothing on disk).
    fn size_bytes(&self) -> Option<u64> {
        None
    }

    /// Applies `writes` in order, all or nothing.
    fn write_events(&self, realm: &str, writes: &[EventWrite]) -> Result<(), StoreError>;

    /// Every retained event of the realm, ordered by topic.
    fn retained_events(&self, realm: &str) -> Result<Vec<EventRecord>, StoreError>;

    /// The kept entries of one history rule as (sequence, event), oldest first.
    fn event_history(
        &self,
        realm: &str,
        rule: &str,
    ) -> Result<Vec<(u64, Arc<EventRecord>)>, StoreError>;

    /// The keys of the rules that have entries in the realm, ordered.
    fn history_rules(&self, realm: &str) -> Result<Vec<String>, StoreError>;
}

/// One change to the event store.
#[derive(Debug, Clone, PartialEq)]
pub enum EventWrite {
    /// Makes `event` the retained event of its topic.
    Retain(Arc<EventRecord>),
    /// Drops the retained event of a topic (none is fine).
    ForgetRetained { topic: String },
    /// Adds entry `seq` to a rule's history, then drops entries older than the newest `keep`.
    Record {
        rule: String,
        seq: u64,
        event: Arc<EventRecord>,
        keep: u64,
    },
    /// Drops every entry of a rule (a rule no longer in config.json).
    ForgetHistory { rule: String },
}

/// A publication as the store keeps it. Values keep the WAMP value model (bytes stay bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub publication: u64,
    pub topic: String,
    /// When the router accepted the publication.
    #[serde(with = "super::rfc3339")]
    pub timestamp: Timestamp,
    /// EVENT.Details common to every receiver: the publisher's identity when disclosed.
    #[serde(default)]
    pub details: Dict,
    #[serde(default)]
    pub args: Option<List>,
    #[serde(default)]
    pub kwargs: Option<Dict>,
    /// Who may receive it (PUBLISH.Options exclude*/eligible*); still applies on replay.
    #[serde(default)]
    pub audience: AudienceRecord,
}

/// PUBLISH.Options that restrict receivers, as stored. Session ids mean nothing after a
/// restart, but a retained event keeps them so that it replays as it would have before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AudienceRecord {
    /// The publisher's session when `exclude_me` was in force.
    pub exclude_session: Option<u64>,
    pub exclude: Vec<u64>,
    pub exclude_authid: Vec<String>,
    pub exclude_authrole: Vec<String>,
    pub eligible: Option<Vec<u64>>,
    pub eligible_authid: Option<Vec<String>>,
    pub eligible_authrole: Option<Vec<String>>,
}

/// MessagePack with field names: compact, keeps bytes apart from strings (JSON would not),
/// and a field added later can default when an older file is read. Integers beyond 64 bits,
/// which MessagePack has no type for, are extensions 2 and 3 holding the bytes of the CBOR
/// bignum (see [`BigIntForm::MsgPackExt`]); records from before they were kept have none.
pub(super) fn encode(event: &EventRecord) -> Result<Vec<u8>, String> {
    with_bigint_form(BigIntForm::MsgPackExt, || rmp_serde::to_vec_named(event))
        .map_err(|e| e.to_string())
}

pub(super) fn decode(bytes: &[u8]) -> Result<EventRecord, String> {
    with_bigint_form(BigIntForm::MsgPackExt, || rmp_serde::from_slice(bytes))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::value::Value;

    #[test]
    fn records_round_trip_with_bytes_apart_from_strings() {
        let mut kwargs = Dict::new();
        kwargs.insert("raw".into(), Value::Bytes(vec![0, 1, 255]));
        kwargs.insert("text".into(), Value::String("\0AAH/".into()));
        let event = EventRecord {
            publication: 9_007_199_254_740_992,
            topic: "com.example.t".into(),
            timestamp: "2024-03-01T12:30:45.123456789Z".parse().unwrap(),
            details: Dict::new(),
            args: Some(vec![Value::UInt(u64::MAX), Value::Float(0.5), Value::Null]),
            kwargs: Some(kwargs),
            audience: AudienceRecord {
                eligible_authrole: Some(vec!["admin".into()]),
                ..AudienceRecord::default()
            },
        };
        let bytes = encode(&event).unwrap();
        assert_eq!(decode(&bytes).unwrap(), event);
    }

    #[test]
    fn integers_beyond_64_bits_round_trip() {
        let big = |decimal: &str| Value::from_bigint(decimal.parse().unwrap());
        let mut kwargs = Dict::new();
        kwargs.insert(
            "min".into(),
            big("-340282366920938463463374607431768211456"),
        );
        kwargs.insert(
            "nested".into(),
            Value::List(vec![big("18446744073709551616"), Value::Bytes(vec![2, 3])]),
        );
        let event = EventRecord {
            publication: 1,
            topic: "com.example.big".into(),
            timestamp: "2024-03-01T12:30:45Z".parse().unwrap(),
            details: Dict::new(),
            args: Some(vec![
                big("340282366920938463463374607431768211455"),
                big("-18446744073709551616"),
                Value::Int(-1),
            ]),
            kwargs: Some(kwargs),
            audience: AudienceRecord::default(),
        };
        let bytes = encode(&event).unwrap();
        assert_eq!(decode(&bytes).unwrap(), event);
    }

    /// Records written before integers beyond 64 bits were kept (plain MessagePack) read as
    /// they did.
    #[test]
    fn older_records_still_read() {
        let event = EventRecord {
            publication: 2,
            topic: "t".into(),
            timestamp: "2024-01-01T00:00:00Z".parse().unwrap(),
            details: Dict::new(),
            args: Some(vec![Value::UInt(u64::MAX), Value::Bytes(vec![2, 1])]),
            kwargs: None,
            audience: AudienceRecord::default(),
        };
        let old = rmp_serde::to_vec_named(&event).unwrap();
        assert_eq!(old, encode(&event).unwrap());
        assert_eq!(decode(&old).unwrap(), event);
    }

    #[test]
    fn missing_fields_default() {
        #[derive(Serialize)]
        struct Old<'a> {
            publication: u64,
            topic: &'a str,
            timestamp: &'a str,
        }
        let old = Old {
            publication: 1,
            topic: "t",
            timestamp: "2024-01-01T00:00:00Z",
        };
        let event = decode(&rmp_serde::to_vec_named(&old).unwrap()).unwrap();
        assert_eq!(event.args, None);
        assert_eq!(event.audience, AudienceRecord::default());
        assert!(decode(b"\xc1").is_err());
    }
}
