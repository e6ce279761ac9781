//! [`MemoryStore`]: the [`Store`] kept in process memory, lost on exit. For tests, and for
//! routers configured without persistence.

use std::collections::{BTreeMap, VecDeque};

use parking_lot::Mutex;
use serde_json::Value as Json;

use super::{PollRecord, Store, StoreError, TopicState};

/// All topics of all realms in one map under one lock; every operation is a few map lookups.
#[derive(Debug, Default)]
pub struct MemoryStore {
    // Keyed by (realm, topic) and ordered, so a realm's topics are one range of the map.
    topics: Mutex<BTreeMap<(String, String), Topic>>,
}

#[derive(Debug, Default)]
struct Topic {
    definition: Option<Json>,
    state: Option<TopicState>,
    /// Newest first.
    records: VecDeque<PollRecord>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

fn key(realm: &str, topic: &str) -> (String, String) {
    (realm.to_owned(), topic.to_owned())
}

impl Store for MemoryStore {
    fn topic_state(&self, realm: &str, topic: &str) -> Result<Option<TopicState>, StoreError> {
        let topics = self.topics.lock();
        Ok(topics.get(&key(realm, topic)).and_then(|t| t.state.clone()))
    }

    fn save_topic_state(
        &self,
        realm: &str,
        topic: &str,
        state: &TopicState,
    ) -> Result<(), StoreError> {
        let mut topics = self.topics.lock();
        topics.entry(key(realm, topic)).or_default().state = Some(state.clone());
        Ok(())
    }

    fn append_poll_record(
        &self,
        realm: &str,
        topic: &str,
        record: &PollRecord,
        keep_last: usize,
    ) -> Result<(), StoreError> {
        let mut topics = self.topics.lock();
        let records = &mut topics.entry(key(realm, topic)).or_default().records;
        records.push_front(record.clone());
        records.truncate(keep_last);
        Ok(())
    }

    fn poll_records(&self, realm: &str, topic: &str) -> Result<Vec<PollRecord>, StoreError> {
        let topics = self.topics.lock();
        let records = topics.get(&key(realm, topic)).map(|t| &t.records);
        Ok(records.into_iter().flatten().cloned().collect())
    }

    fn save_topic_definition(
        &self,
        realm: &str,
        topic: &str,
        definition: &Json,
    ) -> Result<(), StoreError> {
        let mut topics = self.topics.lock();
        topics.entry(key(realm, topic)).or_default().definition = Some(definition.clone());
        Ok(())
    }

    fn delete_topic(&self, realm: &str, topic: &str) -> Result<(), StoreError> {
        self.topics.lock().remove(&key(realm, topic));
        Ok(())
    }

    fn topic_definitions(&self, realm: &str) -> Result<Vec<(String, Json)>, StoreError> {
        let topics = self.topics.lock();
        let realm_topics = topics
            .range(key(realm, "")..)
            .take_while(|((r, _), _)| r == realm);
        let definitions = realm_topics
            .filter_map(|((_, name), t)| Some((name.clone(), t.definition.clone()?)))
            .collect();
        Ok(definitions)
    }
}
