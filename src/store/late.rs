//! [`LateStore`]: a store that opens after the router started (its file was locked by another
//! process). Until then it is a [`MemoryStore`], so its realms work as realms without
//! persistence do: poller state kept in memory, nothing written to disk. Once the real store is
//! set, every call goes to it.
//!
//! Only topic definitions (the topics API) are refused meanwhile: a topic created now would be
//! lost at the next start without a word, so the caller hears that the store is unavailable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value as Json;

use super::{
    EventRecord, EventStore, EventWrite, MemoryStore, PollRecord, Store, StoreError, TopicState,
};

pub struct LateStore {
    path: PathBuf,
    opened: OnceLock<Arc<dyn Store>>,
    meanwhile: MemoryStore,
}

impl std::fmt::Debug for LateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LateStore")
            .field("path", &self.path)
            .field("open", &self.opened.get().is_some())
            .finish_non_exhaustive()
    }
}

impl LateStore {
    /// The store at `path`, not open yet.
    pub fn new(path: &Path) -> LateStore {
        LateStore {
            path: path.to_owned(),
            opened: OnceLock::new(),
            meanwhile: MemoryStore::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// From now on every call goes to `store` (only the first call counts).
    pub fn set(&self, store: Arc<dyn Store>) {
        let _ = self.opened.set(store);
    }

    pub fn is_open(&self) -> bool {
        self.opened.get().is_some()
    }

    fn current(&self) -> &dyn Store {
        match self.opened.get() {
            Some(store) => &**store,
            None => &self.meanwhile,
        }
    }

    fn refuse_while_waiting(&self, operation: &'static str) -> Result<(), StoreError> {
        match self.opened.get() {
            Some(_) => Ok(()),
            None => Err(StoreError::NotOpen {
                path: self.path.clone(),
                operation,
            }),
        }
    }
}

impl EventStore for LateStore {
    fn is_durable(&self) -> bool {
        self.current().is_durable()
    }

    fn size_bytes(&self) -> Option<u64> {
        self.current().size_bytes()
    }

    fn write_events(&self, realm: &str, writes: &[EventWrite]) -> Result<(), StoreError> {
        self.current().write_events(realm, writes)
    }

    fn retained_events(&self, realm: &str) -> Result<Vec<EventRecord>, StoreError> {
        self.current().retained_events(realm)
    }

    fn event_history(
        &self,
        realm: &str,
        rule: &str,
    ) -> Result<Vec<(u64, Arc<EventRecord>)>, StoreError> {
        self.current().event_history(realm, rule)
    }

    fn history_rules(&self, realm: &str) -> Result<Vec<String>, StoreError> {
        self.current().history_rules(realm)
    }
}

impl Store for LateStore {
    fn topic_state(&self, realm: &str, topic: &str) -> Result<Option<TopicState>, StoreError> {
        self.current().topic_state(realm, topic)
    }

    fn save_topic_state(
        &self,
        realm: &str,
        topic: &str,
        state: &TopicState,
    ) -> Result<(), StoreError> {
        self.current().save_topic_state(realm, topic, state)
    }

    fn append_poll_record(
        &self,
        realm: &str,
        topic: &str,
        record: &PollRecord,
        keep_last: usize,
    ) -> Result<(), StoreError> {
        self.current()
            .append_poll_record(realm, topic, record, keep_last)
    }

    fn poll_records(&self, realm: &str, topic: &str) -> Result<Vec<PollRecord>, StoreError> {
        self.current().poll_records(realm, topic)
    }

    fn save_topic_definition(
        &self,
        realm: &str,
        topic: &str,
        definition: &Json,
    ) -> Result<(), StoreError> {
        self.refuse_while_waiting("saving a topic definition")?;
        self.current()
            .save_topic_definition(realm, topic, definition)
    }

    fn delete_topic(&self, realm: &str, topic: &str) -> Result<(), StoreError> {
        self.refuse_while_waiting("deleting a topic")?;
        self.current().delete_topic(realm, topic)
    }

    fn topic_definitions(&self, realm: &str) -> Result<Vec<(String, Json)>, StoreError> {
        self.current().topic_definitions(realm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn works_in_memory_until_set_then_goes_to_the_store() {
        let late = LateStore::new(Path::new("/nowhere/realm1.redb"));
        assert!(!late.is_durable() && !late.is_open());
        let state = TopicState {
            seq: 7,
            ..TopicState::default()
        };
        late.save_topic_state("r", "t", &state).unwrap();
        assert_eq!(late.topic_state("r", "t").unwrap(), Some(state));
        let refused = late
            .save_topic_definition("r", "t", &Json::Null)
            .unwrap_err();
        assert!(
            refused.to_string().contains("/nowhere/realm1.redb"),
            "{refused}"
        );
        assert!(late.delete_topic("r", "t").is_err());

        let dir = tempfile::tempdir().unwrap();
        let real = Arc::new(crate::store::EmbeddedStore::open(&dir.path().join("s.redb")).unwrap());
        late.set(real);
        assert!(late.is_durable() && late.is_open());
        // What was kept in memory meanwhile is not carried over: the store's state counts.
        assert_eq!(late.topic_state("r", "t").unwrap(), None);
        late.save_topic_definition("r", "t", &Json::Bool(true))
            .unwrap();
        assert_eq!(late.topic_definitions("r").unwrap().len(), 1);
    }
}
