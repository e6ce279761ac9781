//! [`EmbeddedStore`]: the [`Store`] in one redb file, the default persistence of a router.
//!
//! One table per kind of data. Keys are tuples: (realm, topic) for states, definitions and
//! retained events, (realm, topic, sequence) for poll records and (realm, rule, sequence) for
//! history entries. redb compares tuples element by element, so a topic's records are one
//! contiguous range ordered by sequence, and topics that share a prefix ("a.b", "a.bc") never
//! interleave. Poller values are JSON, so a dump of the file is readable and a field added
//! later can default when an older file is read; events are MessagePack with field names (see
//! `events::encode`), because JSON cannot tell bytes from strings.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::events::{decode as decode_event, encode as encode_event};
use super::{EventRecord, EventStore, EventWrite, PollRecord, Store, StoreError, TopicState};

const STATES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("topic_states");
const DEFINITIONS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("topic_definitions");
const POLL_RECORDS: TableDefinition<(&str, &str, u64), &[u8]> =
    TableDefinition::new("poll_records");
const RETAINED: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("retained_events");
const HISTORY: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("event_history");

/// A redb database file, opened for the life of the value (redb locks the file, so a second
/// router on the same file fails to open it rather than corrupting it).
pub struct EmbeddedStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens the store at `path`, creating the file and its parent directory if missing.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        // An empty file is what a truncated store looks like: say that a new store starts
        // there rather than let its data vanish without a word.
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!(file = %path.display(), "creating a new store");
            }
            Ok(file) if file.len() == 0 => tracing::warn!(
                file = %path.display(),
                "store file is empty (0 bytes): a new store starts in it, and whatever it held \
                 before is not there"
            ),
            _ => {}
        }
        // A plain open trusts the file and may panic on one damaged outside redb; checking every
        // page's checksum on open turns that into an error. The store is small (a snapshot and
        // a few records per topic), so reading it whole once at start is cheap.
        let db = Database::builder()
            .set_check_integrity_on_open(true)
            .create(path)
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
        let store = EmbeddedStore {
            db,
            path: path.to_owned(),
        };
        store.create_tables()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    // Reads open tables without creating them; creating all of them once here means a read
    // never meets a missing table.
    fn create_tables(&self) -> Result<(), StoreError> {
        self.write("create tables", |txn| {
            txn.open_table(STATES)?;
            txn.open_table(DEFINITIONS)?;
            txn.open_table(POLL_RECORDS)?;
            txn.open_table(RETAINED)?;
            txn.open_table(HISTORY)?;
            Ok(())
        })
    }

    /// Runs `body` in a write transaction and commits it; any error aborts the transaction.
    fn write<T>(
        &self,
        operation: &'static str,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let run = || -> Result<T, redb::Error> {
            let txn = self.db.begin_write()?;
            let value = body(&txn)?;
            txn.commit()?;
            Ok(value)
        };
        run().map_err(|source| self.database_error(operation, source))
    }

    fn read(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.db
            .begin_read()
            .map_err(|source| self.database_error("begin read", source.into()))
    }

    fn database_error(&self, operation: &'static str, source: redb::Error) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            operation,
            source: Box::new(source),
        }
    }

    fn encode(
        &self,
        operation: &'static str,
        realm: &str,
        topic: &str,
        value: &impl Serialize,
    ) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(value)
            .map_err(|source| self.record_error(operation, realm, topic, source))
    }

    fn decode<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        realm: &str,
        topic: &str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|source| self.record_error(operation, realm, topic, source))
    }

    fn record_error(
        &self,
        operation: &'static str,
        realm: &str,
        topic: &str,
        source: serde_json::Error,
    ) -> StoreError {
        StoreError::Record {
            path: self.path.clone(),
            operation,
            realm: realm.to_owned(),
            topic: topic.to_owned(),
            source,
        }
    }

    fn event_error(
        &self,
        operation: &'static str,
        realm: &str,
        key: &str,
        message: String,
    ) -> StoreError {
        StoreError::Event {
            path: self.path.clone(),
            operation,
            realm: realm.to_owned(),
            key: key.to_owned(),
            message,
        }
    }
}

impl Store for EmbeddedStore {
    fn topic_state(&self, realm: &str, topic: &str) -> Result<Option<TopicState>, StoreError> {
        let operation = "read topic state";
        let fail = |source: redb::Error| self.database_error(operation, source);
        let txn = self.read()?;
        let table = txn.open_table(STATES).map_err(|e| fail(e.into()))?;
        let Some(bytes) = table.get((realm, topic)).map_err(|e| fail(e.into()))? else {
            return Ok(None);
        };
        self.decode(operation, realm, topic, bytes.value())
            .map(Some)
    }

    fn save_topic_state(
        &self,
        realm: &str,
        topic: &str,
        state: &TopicState,
    ) -> Result<(), StoreError> {
        let operation = "save topic state";
        let bytes = self.encode(operation, realm, topic, state)?;
        self.write(operation, |txn| {
            txn.open_table(STATES)?
                .insert((realm, topic), bytes.as_slice())?;
            Ok(())
        })
    }

    fn append_poll_record(
        &self,
        realm: &str,
        topic: &str,
        record: &PollRecord,
        keep_last: usize,
    ) -> Result<(), StoreError> {
        let operation = "append poll record";
        let bytes = self.encode(operation, realm, topic, record)?;
        self.write(operation, |txn| {
            let mut table = txn.open_table(POLL_RECORDS)?;
            let last = table
                .range((realm, topic, 0)..=(realm, topic, u64::MAX))?
                .next_back()
                .transpose()?
                .map(|(key, _)| key.value().2);
            let sequence = last.map_or(0, |last| last + 1);
            table.insert((realm, topic, sequence), bytes.as_slice())?;
            // Trimming always removes the oldest, so the kept sequences are contiguous and the
            // newest `keep_last` of them are exactly those from `oldest_kept` on.
            let keep_last = u64::try_from(keep_last).unwrap_or(u64::MAX);
            let oldest_kept = (sequence + 1).saturating_sub(keep_last);
            table.retain_in((realm, topic, 0)..(realm, topic, oldest_kept), |_, _| false)?;
            Ok(())
        })
    }

    fn poll_records(&self, realm: &str, topic: &str) -> Result<Vec<PollRecord>, StoreError> {
        let operation = "read poll records";
        let fail = |source: redb::Error| self.database_error(operation, source);
        let txn = self.read()?;
        let table = txn.open_table(POLL_RECORDS).map_err(|e| fail(e.into()))?;
        let range = table
            .range((realm, topic, 0)..=(realm, topic, u64::MAX))
            .map_err(|e| fail(e.into()))?;
        range
            .rev()
            .map(|entry| {
                let (_, bytes) = entry.map_err(|e| fail(e.into()))?;
                self.decode(operation, realm, topic, bytes.value())
            })
            .collect()
    }

    fn save_topic_definition(
        &self,
        realm: &str,
        topic: &str,
        definition: &Json,
    ) -> Result<(), StoreError> {
        let operation = "save topic definition";
        let bytes = self.encode(operation, realm, topic, definition)?;
        self.write(operation, |txn| {
            txn.open_table(DEFINITIONS)?
                .insert((realm, topic), bytes.as_slice())?;
            Ok(())
        })
    }

    fn delete_topic(&self, realm: &str, topic: &str) -> Result<(), StoreError> {
        self.write("delete topic", |txn| {
            txn.open_table(DEFINITIONS)?.remove((realm, topic))?;
            txn.open_table(STATES)?.remove((realm, topic))?;
            txn.open_table(POLL_RECORDS)?
                .retain_in((realm, topic, 0)..=(realm, topic, u64::MAX), |_, _| false)?;
            Ok(())
        })
    }

    fn topic_definitions(&self, realm: &str) -> Result<Vec<(String, Json)>, StoreError> {
        let operation = "read topic definitions";
        let fail = |source: redb::Error| self.database_error(operation, source);
        let txn = self.read()?;
        let table = txn.open_table(DEFINITIONS).map_err(|e| fail(e.into()))?;
        // A str has no successor to end the range with; the realm's keys are the run that
        // starts at (realm, "").
        let mut definitions = Vec::new();
        for entry in table.range((realm, "")..).map_err(|e| fail(e.into()))? {
            let (key, bytes) = entry.map_err(|e| fail(e.into()))?;
            let (key_realm, topic) = key.value();
            if key_realm != realm {
                break;
            }
            let definition = self.decode(operation, realm, topic, bytes.value())?;
            definitions.push((topic.to_owned(), definition));
        }
        Ok(definitions)
    }
}

impl EventStore for EmbeddedStore {
    fn is_durable(&self) -> bool {
        true
    }

    fn size_bytes(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }

    fn write_events(&self, realm: &str, writes: &[EventWrite]) -> Result<(), StoreError> {
        let operation = "write events";
        // Encode first: a value that does not encode fails the batch before the transaction.
        let mut encoded = Vec::with_capacity(writes.len());
        for write in writes {
            let event = match write {
                EventWrite::Retain(event) | EventWrite::Record { event, .. } => event,
                _ => {
                    encoded.push(Vec::new());
                    continue;
                }
            };
            let bytes = encode_event(event)
                .map_err(|m| self.event_error(operation, realm, &event.topic, m))?;
            encoded.push(bytes);
        }
        self.write(operation, |txn| {
            let mut retained = txn.open_table(RETAINED)?;
            let mut history = txn.open_table(HISTORY)?;
            // Each rule is trimmed once per batch, below its newest entry's window.
            let mut trim: BTreeMap<&str, u64> = BTreeMap::new();
            for (write, bytes) in writes.iter().zip(&encoded) {
                match write {
                    EventWrite::Retain(event) => {
                        retained.insert((realm, event.topic.as_str()), bytes.as_slice())?;
                    }
                    EventWrite::ForgetRetained { topic } => {
                        retained.remove((realm, topic.as_str()))?;
                    }
                    EventWrite::Record {
                        rule, seq, keep, ..
                    } => {
                        history.insert((realm, rule.as_str(), *seq), bytes.as_slice())?;
                        let oldest_kept = (*seq + 1).saturating_sub(*keep);
                        let entry = trim.entry(rule.as_str()).or_default();
                        *entry = (*entry).max(oldest_kept);
                    }
                    EventWrite::ForgetHistory { rule } => {
                        trim.remove(rule.as_str());
                        let rule = rule.as_str();
                        history
                            .retain_in((realm, rule, 0)..=(realm, rule, u64::MAX), |_, _| false)?;
                    }
                }
            }
            for (rule, oldest_kept) in trim {
                history.retain_in((realm, rule, 0)..(realm, rule, oldest_kept), |_, _| false)?;
            }
            Ok(())
        })
    }

    fn retained_events(&self, realm: &str) -> Result<Vec<EventRecord>, StoreError> {
        let operation = "read retained events";
        let fail = |source: redb::Error| self.database_error(operation, source);
        let txn = self.read()?;
        let table = txn.open_table(RETAINED).map_err(|e| fail(e.into()))?;
        let mut events = Vec::new();
        for entry in table.range((realm, "")..).map_err(|e| fail(e.into()))? {
            let (key, bytes) = entry.map_err(|e| fail(e.into()))?;
            let (key_realm, topic) = key.value();
            if key_realm != realm {
                break;
            }
            let event = decode_event(bytes.value())
                .map_err(|m| self.event_error(operation, realm, topic, m))?;
            events.push(event);
        }
        Ok(events)
    }

    fn event_history(
        &self,
        realm: &str,
        rule: &str,
    ) -> Result<Vec<(u64, Arc<EventRecord>)>, StoreError> {
        let operation = "read event history";
        let fail = |source: redb::Error| self.database_error(operation, source);
        let txn = self.read()?;
        let table = txn.open_table(HISTORY).map_err(|e| fail(e.into()))?;
        let range = table
            .range((realm, rule, 0)..=(realm, rule, u64::MAX))
            .map_err(|e| fail(e.into()))?;
        range
            .map(|entry| {
                let (key, bytes) = entry.map_err(|e| fail(e.into()))?;
                let event = decode_event(bytes.value())
                    .map_err(|m| self.event_error(operation, realm, rule, m))?;
                Ok((key.value().2, Arc::new(event)))
            })
            .collect()
    }

    fn history_rules(&self, realm: &str) -> Result<Vec<String>, StoreError> {
        let operation = "read history rules";
        let fail = |source: redb::Error| self.database_error(operation, source);
        let txn = self.read()?;
        let table = txn.open_table(HISTORY).map_err(|e| fail(e.into()))?;
        // Skip from rule to rule: after finding one, continue past its last possible key.
        let mut rules: Vec<String> = Vec::new();
        loop {
            let start = match rules.last() {
                Some(rule) => Bound::Excluded((realm, rule.as_str(), u64::MAX)),
                None => Bound::Included((realm, "", 0)),
            };
            let next = table
                .range::<(&str, &str, u64)>((start, Bound::Unbounded))
                .map_err(|e| fail(e.into()))?
                .next()
                .transpose()
                .map_err(|e| fail(e.into()))?;
            let Some((key, _)) = next else { break };
            let (key_realm, rule, _) = key.value();
            if key_realm != realm {
                break;
            }
            rules.push(rule.to_owned());
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Writes raw bytes where a value belongs, as a damaged or incompatible file would have them.
    fn plant(store: &EmbeddedStore, table: TableDefinition<(&str, &str), &[u8]>, bytes: &[u8]) {
        let txn = store.db.begin_write().unwrap();
        txn.open_table(table)
            .unwrap()
            .insert(("realm1", "com.example.t"), bytes)
            .unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn a_state_that_does_not_decode_is_an_error_naming_file_and_topic() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).unwrap();
        plant(&store, STATES, b"{not json");
        let error = store.topic_state("realm1", "com.example.t").unwrap_err();
        assert!(matches!(error, StoreError::Record { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("store.redb"), "{message}");
        assert!(message.contains("read topic state"), "{message}");
        assert!(message.contains("com.example.t"), "{message}");
    }

    #[test]
    fn a_definition_that_does_not_decode_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).unwrap();
        plant(&store, DEFINITIONS, &[0xff, 0x00]);
        let error = store.topic_definitions("realm1").unwrap_err();
        assert!(matches!(error, StoreError::Record { .. }), "{error:?}");
    }

    #[test]
    fn a_poll_record_that_does_not_decode_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).unwrap();
        let txn = store.db.begin_write().unwrap();
        txn.open_table(POLL_RECORDS)
            .unwrap()
            .insert(
                ("realm1", "com.example.t", 0),
                br#"{"started": "yesterday"}"#.as_slice(),
            )
            .unwrap();
        txn.commit().unwrap();
        let error = store.poll_records("realm1", "com.example.t").unwrap_err();
        assert!(matches!(error, StoreError::Record { .. }), "{error:?}");
    }
}
