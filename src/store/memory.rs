//! [`MemoryStore`]: the [`Store`] kept in process memory, lost on exit. For tests, and for
//! routers configured without persistence.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value as Json;

use super::{EventRecord, EventStore, EventWrite, PollRecord, Store, StoreError, TopicState};

/// All topics of all realms in one map under one lock; every operation is a few map lookups.
#[derive(Debug, Default)]
pub struct MemoryStore {
    // Keyed by (realm, topic) and ordered, so a realm's topics are one range of the map.
    topics: Mutex<BTreeMap<(String, String), Topic>>,
    events: Mutex<Events>,
}

/// Retained events by (realm, topic); history entries by (realm, rule), then sequence.
#[derive(Debug, Default)]
struct Events {
    retained: BTreeMap<(String, String), Arc<EventRecord>>,
    history: BTreeMap<(String, String), BTreeMap<u64, Arc<EventRecord>>>,
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

impl EventStore for MemoryStore {
    fn is_durable(&self) -> bool {
        false
    }

    fn write_events(&self, realm: &str, writes: &[EventWrite]) -> Result<(), StoreError> {
        let mut events = self.events.lock();
        for write in writes {
            match write {
                EventWrite::Retain(event) => {
                    let key = key(realm, &event.topic);
                    events.retained.insert(key, Arc::clone(event));
                }
                EventWrite::ForgetRetained { topic } => {
                    events.retained.remove(&key(realm, topic));
                }
                EventWrite::Record {
                    rule,
                    seq,
                    event,
                    keep,
                } => {
                    let entries = events.history.entry(key(realm, rule)).or_default();
                    entries.insert(*seq, Arc::clone(event));
                    let oldest_kept = (*seq + 1).saturating_sub(*keep);
                    *entries = entries.split_off(&oldest_kept);
                }
                EventWrite::ForgetHistory { rule } => {
                    events.history.remove(&key(realm, rule));
                }
            }
        }
        Ok(())
    }

    fn retained_events(&self, realm: &str) -> Result<Vec<EventRecord>, StoreError> {
        let events = self.events.lock();
        let realm_events = events
            .retained
            .range(key(realm, "")..)
            .take_while(|((r, _), _)| r == realm);
        Ok(realm_events.map(|(_, event)| (**event).clone()).collect())
    }

    fn event_history(
        &self,
        realm: &str,
        rule: &str,
    ) -> Result<Vec<(u64, Arc<EventRecord>)>, StoreError> {
        let events = self.events.lock();
        let entries = events.history.get(&key(realm, rule)).into_iter().flatten();
        Ok(entries.map(|(seq, e)| (*seq, Arc::clone(e))).collect())
    }

    fn history_rules(&self, realm: &str) -> Result<Vec<String>, StoreError> {
        let events = self.events.lock();
        let rules = events
            .history
            .range(key(realm, "")..)
            .take_while(|((r, _), _)| r == realm)
            .filter(|(_, entries)| !entries.is_empty());
        Ok(rules.map(|((_, rule), _)| rule.clone()).collect())
    }
}
