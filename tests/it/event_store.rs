//! Retained events and event history in the stores (`junction::store::EventStore`): one
//! behaviour suite run against both stores (`memory::*` and `embedded::*`), then what only the
//! redb file promises (it survives a reopen) and what only the memory store says (it is not
//! durable, so the router does not write to it).

use std::sync::Arc;

use jiff::Timestamp;
use junction::store::{
    AudienceRecord, EmbeddedStore, EventRecord, EventStore, EventWrite, EventWriter, MemoryStore,
    Store,
};
use junction::wamp::value::{Dict, Value};

const REALM: &str = "realm1";
const RULE: &str = "exact:com.example.t";

/// An event whose publication id tells events apart, with values JSON could not keep apart.
fn event(topic: &str, publication: u64) -> Arc<EventRecord> {
    let mut kwargs = Dict::new();
    kwargs.insert("raw".into(), Value::Bytes(vec![0, 159, 146, 150]));
    kwargs.insert("looks_like_bytes".into(), Value::from("\0AQ=="));
    kwargs.insert("big".into(), Value::UInt(u64::MAX));
    let mut details = Dict::new();
    details.insert("publisher_authid".into(), Value::from("alice"));
    Arc::new(EventRecord {
        publication,
        topic: topic.into(),
        timestamp: Timestamp::from_second(1_700_000_000 + publication as i64).unwrap(),
        details,
        args: Some(vec![Value::Int(-3), Value::Float(1.5), Value::Null]),
        kwargs: Some(kwargs),
        audience: AudienceRecord {
            exclude_session: Some(12),
            exclude_authrole: vec!["guest".into()],
            eligible_authid: Some(vec!["bob".into()]),
            ..AudienceRecord::default()
        },
    })
}

fn record(rule: &str, seq: u64, keep: u64) -> EventWrite {
    EventWrite::Record {
        rule: rule.into(),
        seq,
        event: event("com.example.t", 1000 + seq),
        keep,
    }
}

fn publications(store: &dyn EventStore, realm: &str, rule: &str) -> Vec<u64> {
    let entries = store.event_history(realm, rule).unwrap();
    entries.iter().map(|(_, e)| e.publication).collect()
}

// The behaviour suite: each function gets a fresh, empty store.

fn nothing_is_stored_at_first(store: &Arc<dyn Store>) {
    assert!(store.retained_events(REALM).unwrap().is_empty());
    assert!(store.event_history(REALM, RULE).unwrap().is_empty());
    assert!(store.history_rules(REALM).unwrap().is_empty());
    let forget = [
        EventWrite::ForgetRetained { topic: "t".into() },
        EventWrite::ForgetHistory { rule: RULE.into() },
    ];
    store.write_events(REALM, &forget).unwrap();
}

fn retained_events_round_trip_with_every_value_kind(store: &Arc<dyn Store>) {
    let writes = [
        EventWrite::Retain(event("com.example.b", 1)),
        EventWrite::Retain(event("com.example.a", 2)),
    ];
    store.write_events(REALM, &writes).unwrap();
    let retained = store.retained_events(REALM).unwrap();
    assert_eq!(
        retained,
        [
            (*event("com.example.a", 2)).clone(),
            (*event("com.example.b", 1)).clone()
        ]
    );
    let kwargs = retained[0].kwargs.as_ref().unwrap();
    assert_eq!(kwargs["raw"], Value::Bytes(vec![0, 159, 146, 150]));
    assert_eq!(kwargs["looks_like_bytes"], Value::from("\0AQ=="));
}

fn a_topic_keeps_only_its_last_retained_event(store: &Arc<dyn Store>) {
    store
        .write_events(REALM, &[EventWrite::Retain(event("t", 1))])
        .unwrap();
    store
        .write_events(
            REALM,
            &[
                EventWrite::Retain(event("t", 2)),
                EventWrite::Retain(event("u", 3)),
                EventWrite::Retain(event("t", 4)),
            ],
        )
        .unwrap();
    let ids: Vec<u64> = store
        .retained_events(REALM)
        .unwrap()
        .iter()
        .map(|e| e.publication)
        .collect();
    assert_eq!(ids, [4, 3]);
    store
        .write_events(REALM, &[EventWrite::ForgetRetained { topic: "t".into() }])
        .unwrap();
    assert_eq!(store.retained_events(REALM).unwrap()[0].publication, 3);
    assert_eq!(store.retained_events(REALM).unwrap().len(), 1);
}

fn history_is_ordered_and_trimmed_to_keep(store: &Arc<dyn Store>) {
    let writes: Vec<EventWrite> = (0..5).map(|seq| record(RULE, seq, 3)).collect();
    store.write_events(REALM, &writes).unwrap();
    assert_eq!(publications(&**store, REALM, RULE), [1002, 1003, 1004]);
    let entries = store.event_history(REALM, RULE).unwrap();
    assert_eq!(entries[0].0, 2);
    assert_eq!(*entries[0].1, *event("com.example.t", 1002));

    // One entry at a time, with a larger keep: kept from now on.
    store.write_events(REALM, &[record(RULE, 5, 10)]).unwrap();
    assert_eq!(
        publications(&**store, REALM, RULE),
        [1002, 1003, 1004, 1005]
    );
    // A smaller keep trims at once.
    store.write_events(REALM, &[record(RULE, 6, 2)]).unwrap();
    assert_eq!(publications(&**store, REALM, RULE), [1005, 1006]);
}

fn rules_and_realms_are_isolated(store: &Arc<dyn Store>) {
    // "exact:a.b" is a prefix of "exact:a.bc", realm "r" of realm "r2".
    for (realm, rule) in [("r", "exact:a.b"), ("r", "exact:a.bc"), ("r2", "exact:a.b")] {
        let writes: Vec<EventWrite> = (0..3).map(|seq| record(rule, seq, 10)).collect();
        store.write_events(realm, &writes).unwrap();
        store
            .write_events(realm, &[EventWrite::Retain(event(rule, 1))])
            .unwrap();
    }
    store
        .write_events("r", &[record("exact:a.b", 3, 1)])
        .unwrap();
    assert_eq!(publications(&**store, "r", "exact:a.b"), [1003]);
    assert_eq!(
        publications(&**store, "r", "exact:a.bc"),
        [1000, 1001, 1002]
    );
    assert_eq!(
        publications(&**store, "r2", "exact:a.b"),
        [1000, 1001, 1002]
    );
    assert_eq!(
        store.history_rules("r").unwrap(),
        ["exact:a.b", "exact:a.bc"]
    );
    assert_eq!(store.history_rules("r2").unwrap(), ["exact:a.b"]);
    assert!(store.history_rules("").unwrap().is_empty());
    assert_eq!(store.retained_events("r").unwrap().len(), 2);

    store
        .write_events(
            "r",
            &[EventWrite::ForgetHistory {
                rule: "exact:a.b".into(),
            }],
        )
        .unwrap();
    assert!(publications(&**store, "r", "exact:a.b").is_empty());
    assert_eq!(store.history_rules("r").unwrap(), ["exact:a.bc"]);
    assert_eq!(
        publications(&**store, "r2", "exact:a.b"),
        [1000, 1001, 1002]
    );
}

fn a_writer_thread_delivers_everything_on_close(store: &Arc<dyn Store>) {
    let writer = EventWriter::spawn(Arc::clone(store) as Arc<dyn EventStore>, REALM).unwrap();
    for seq in 0..500 {
        assert!(writer.submit(record(RULE, seq, 1000)));
    }
    writer.submit(EventWrite::Retain(event("t", 9)));
    writer.close();
    assert_eq!(store.event_history(REALM, RULE).unwrap().len(), 500);
    assert_eq!(store.retained_events(REALM).unwrap().len(), 1);
    let stats = writer.stats();
    assert_eq!(
        stats.written.load(std::sync::atomic::Ordering::Relaxed),
        501
    );
    assert!(stats.batches.load(std::sync::atomic::Ordering::Relaxed) <= 501);
}

macro_rules! behaviour_suite {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(#[test]
            fn $behaviour() {
                let store: std::sync::Arc<dyn junction::store::Store> =
                    std::sync::Arc::new(junction::store::MemoryStore::new());
                super::$behaviour(&store);
            })*
        }
        mod embedded {
            $(#[test]
            fn $behaviour() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("store.redb");
                let store: std::sync::Arc<dyn junction::store::Store> =
                    std::sync::Arc::new(junction::store::EmbeddedStore::open(&path).unwrap());
                super::$behaviour(&store);
            })*
        }
    };
}

behaviour_suite!(
    nothing_is_stored_at_first,
    retained_events_round_trip_with_every_value_kind,
    a_topic_keeps_only_its_last_retained_event,
    history_is_ordered_and_trimmed_to_keep,
    rules_and_realms_are_isolated,
    a_writer_thread_delivers_everything_on_close,
);

#[test]
fn only_the_embedded_store_is_durable() {
    assert!(!MemoryStore::new().is_durable());
    let dir = tempfile::tempdir().unwrap();
    assert!(
        EmbeddedStore::open(&dir.path().join("s.redb"))
            .unwrap()
            .is_durable()
    );
}

#[test]
fn events_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let store = EmbeddedStore::open(&path).unwrap();
        let mut writes: Vec<EventWrite> = (0..4).map(|seq| record(RULE, seq, 3)).collect();
        writes.push(EventWrite::Retain(event("com.example.r", 77)));
        store.write_events(REALM, &writes).unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(publications(&store, REALM, RULE), [1001, 1002, 1003]);
    assert_eq!(
        store.retained_events(REALM).unwrap(),
        [(*event("com.example.r", 77)).clone()]
    );
    // Poller state lives in the same file, untouched by events.
    assert!(store.topic_definitions(REALM).unwrap().is_empty());
}

#[test]
fn a_damaged_history_entry_is_an_error_naming_file_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let store = EmbeddedStore::open(&path).unwrap();
    store.write_events(REALM, &[record(RULE, 0, 10)]).unwrap();
    drop(store);
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let table: redb::TableDefinition<(&str, &str, u64), &[u8]> =
            redb::TableDefinition::new("event_history");
        let mut table = txn.open_table(table).unwrap();
        table
            .insert((REALM, RULE, 1), b"\xc1not msgpack".as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
    drop(db);
    let store = EmbeddedStore::open(&path).unwrap();
    let error = store.event_history(REALM, RULE).unwrap_err().to_string();
    assert!(
        error.contains("store.redb") && error.contains(RULE),
        "{error}"
    );
}
