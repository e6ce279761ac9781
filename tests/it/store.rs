//! Persistence of http-poller topics (`junction::store`): one behaviour suite run against both
//! stores (`memory::*` and `embedded::*`), then what only the redb file store promises: data
//! survives a reopen, and a bad file is an error, not a panic.

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use junction::store::{EmbeddedStore, MemoryStore, PollRecord, Store, StoreError, TopicState};
use serde_json::json;

const REALM: &str = "realm1";
const TOPIC: &str = "com.example.weather";

fn state(seq: u64) -> TopicState {
    TopicState {
        seq,
        snapshot: Some(json!({"temperature": 21.5, "stations": ["a", "b"], "seq": seq})),
        snapshot_hash: Some([u8::try_from(seq % 256).unwrap(); 32]),
        last_success: Some("2024-03-01T12:30:45.123456789Z".parse().unwrap()),
        etag: Some(format!("\"v{seq}\"")),
        last_modified: Some("Fri, 01 Mar 2024 12:30:45 GMT".into()),
    }
}

/// A record whose `attempts` tells records apart in assertions.
fn record(n: u32) -> PollRecord {
    PollRecord {
        started: Timestamp::from_second(1_709_296_245 + i64::from(n)).unwrap(),
        duration_ms: 120,
        url: "https://api.example.com/weather?key=REDACTED".into(),
        status: Some(200),
        attempts: n,
        bytes: 2048,
        changed: n.is_multiple_of(2),
        error: None,
    }
}

fn attempts(store: &dyn Store, realm: &str, topic: &str) -> Vec<u32> {
    let records = store.poll_records(realm, topic).unwrap();
    records.iter().map(|r| r.attempts).collect()
}

fn topic_names(store: &dyn Store, realm: &str) -> Vec<String> {
    let definitions = store.topic_definitions(realm).unwrap();
    definitions.into_iter().map(|(name, _)| name).collect()
}

fn definition(name: &str) -> serde_json::Value {
    json!({"name": name, "publisher": {"type": "http-poller",
           "config": {"url": "https://api.example.com/weather", "pollingPeriod": "PT5S"}}})
}

// The behaviour suite: each function gets a fresh, empty store.

fn an_unknown_topic_has_nothing(store: &dyn Store) {
    assert_eq!(store.topic_state(REALM, TOPIC).unwrap(), None);
    assert!(store.poll_records(REALM, TOPIC).unwrap().is_empty());
    assert!(store.topic_definitions(REALM).unwrap().is_empty());
    store.delete_topic(REALM, TOPIC).unwrap();
}

fn state_round_trips_and_is_replaced(store: &dyn Store) {
    store.save_topic_state(REALM, TOPIC, &state(1)).unwrap();
    assert_eq!(store.topic_state(REALM, TOPIC).unwrap(), Some(state(1)));

    let mut second = state(2);
    second.etag = None;
    second.last_success = None;
    store.save_topic_state(REALM, TOPIC, &second).unwrap();
    assert_eq!(store.topic_state(REALM, TOPIC).unwrap(), Some(second));
}

fn records_are_bounded_and_newest_first(store: &dyn Store) {
    for n in 0..5 {
        store
            .append_poll_record(REALM, TOPIC, &record(n), 3)
            .unwrap();
    }
    assert_eq!(attempts(store, REALM, TOPIC), [4, 3, 2]);
    assert_eq!(store.poll_records(REALM, TOPIC).unwrap()[0], record(4));

    // keep_last is the caller's current setting; a larger one keeps more from now on ...
    store
        .append_poll_record(REALM, TOPIC, &record(5), 5)
        .unwrap();
    assert_eq!(attempts(store, REALM, TOPIC), [5, 4, 3, 2]);
    // ... and a smaller one trims at once.
    store
        .append_poll_record(REALM, TOPIC, &record(6), 2)
        .unwrap();
    assert_eq!(attempts(store, REALM, TOPIC), [6, 5]);
    store
        .append_poll_record(REALM, TOPIC, &record(7), 0)
        .unwrap();
    assert_eq!(attempts(store, REALM, TOPIC), [] as [u32; 0]);
}

fn records_with_the_same_start_are_all_kept(store: &dyn Store) {
    for n in 0..3 {
        let same_start = PollRecord {
            started: Timestamp::UNIX_EPOCH,
            ..record(n)
        };
        store
            .append_poll_record(REALM, TOPIC, &same_start, 10)
            .unwrap();
    }
    assert_eq!(attempts(store, REALM, TOPIC), [2, 1, 0]);
}

fn definitions_are_listed_by_name_and_replaced(store: &dyn Store) {
    for name in ["com.example.b", "com.example.a", "com.example.c"] {
        store
            .save_topic_definition(REALM, name, &definition(name))
            .unwrap();
    }
    assert_eq!(
        topic_names(store, REALM),
        ["com.example.a", "com.example.b", "com.example.c"]
    );

    let changed = json!({"name": "com.example.b", "subscriptionMode": "snapshot-only"});
    store
        .save_topic_definition(REALM, "com.example.b", &changed)
        .unwrap();
    let definitions = store.topic_definitions(REALM).unwrap();
    assert_eq!(definitions.len(), 3);
    assert_eq!(definitions[1], ("com.example.b".to_owned(), changed));
    assert_eq!(definitions[0].1, definition("com.example.a"));
}

fn delete_removes_definition_state_and_records(store: &dyn Store) {
    for name in [TOPIC, "com.example.other"] {
        store
            .save_topic_definition(REALM, name, &definition(name))
            .unwrap();
        store.save_topic_state(REALM, name, &state(7)).unwrap();
        store
            .append_poll_record(REALM, name, &record(1), 10)
            .unwrap();
    }
    store.delete_topic(REALM, TOPIC).unwrap();

    assert_eq!(topic_names(store, REALM), ["com.example.other"]);
    assert_eq!(store.topic_state(REALM, TOPIC).unwrap(), None);
    assert!(store.poll_records(REALM, TOPIC).unwrap().is_empty());
    assert_eq!(
        store.topic_state(REALM, "com.example.other").unwrap(),
        Some(state(7))
    );
    assert_eq!(attempts(store, REALM, "com.example.other"), [1]);

    // A topic created again under the same name starts from nothing.
    store
        .append_poll_record(REALM, TOPIC, &record(9), 10)
        .unwrap();
    assert_eq!(attempts(store, REALM, TOPIC), [9]);
}

fn state_and_records_need_no_definition(store: &dyn Store) {
    // Topics from config.json have state and records but no stored definition.
    store.save_topic_state(REALM, TOPIC, &state(1)).unwrap();
    store
        .append_poll_record(REALM, TOPIC, &record(1), 10)
        .unwrap();
    assert!(store.topic_definitions(REALM).unwrap().is_empty());
    store
        .save_topic_definition(REALM, "com.example.api", &definition("x"))
        .unwrap();
    assert_eq!(topic_names(store, REALM), ["com.example.api"]);
}

fn realms_and_prefixed_topics_are_isolated(store: &dyn Store) {
    // "a.b" is a prefix of "a.bc", and realm "r" of realm "r2".
    let places = [
        ("r", "a"),
        ("r", "a.b"),
        ("r", "a.bc"),
        ("r2", "a.b"),
        ("r2", "b"),
    ];
    for (i, &(realm, topic)) in places.iter().enumerate() {
        let n = u32::try_from(i).unwrap();
        store
            .save_topic_state(realm, topic, &state(n.into()))
            .unwrap();
        store
            .save_topic_definition(realm, topic, &definition(topic))
            .unwrap();
        for k in 0..3 {
            store
                .append_poll_record(realm, topic, &record(n * 10 + k), 10)
                .unwrap();
        }
    }
    // Trimming one topic leaves its neighbours alone.
    store
        .append_poll_record("r", "a.b", &record(19), 1)
        .unwrap();

    assert_eq!(topic_names(store, "r"), ["a", "a.b", "a.bc"]);
    assert_eq!(topic_names(store, "r2"), ["a.b", "b"]);
    assert!(topic_names(store, "").is_empty());
    assert_eq!(attempts(store, "r", "a"), [2, 1, 0]);
    assert_eq!(attempts(store, "r", "a.b"), [19]);
    assert_eq!(attempts(store, "r", "a.bc"), [22, 21, 20]);
    assert_eq!(attempts(store, "r2", "a.b"), [32, 31, 30]);
    assert_eq!(store.topic_state("r2", "a.b").unwrap(), Some(state(3)));
    assert_eq!(store.topic_state("r", "a.bc").unwrap(), Some(state(2)));

    store.delete_topic("r", "a.b").unwrap();
    assert_eq!(topic_names(store, "r"), ["a", "a.bc"]);
    assert_eq!(attempts(store, "r", "a.bc"), [22, 21, 20]);
    assert_eq!(attempts(store, "r2", "a.b"), [32, 31, 30]);
    assert_eq!(store.topic_state("r2", "a.b").unwrap(), Some(state(3)));
}

fn concurrent_writers_lose_nothing(store: &dyn Store) {
    std::thread::scope(|scope| {
        for t in 0..4 {
            scope.spawn(move || {
                let topic = format!("com.example.t{t}");
                for n in 0..25 {
                    store
                        .append_poll_record(REALM, &topic, &record(n), 100)
                        .unwrap();
                }
                store.save_topic_state(REALM, &topic, &state(t)).unwrap();
            });
        }
    });
    for t in 0..4 {
        let topic = format!("com.example.t{t}");
        assert_eq!(store.poll_records(REALM, &topic).unwrap().len(), 25);
        assert_eq!(store.topic_state(REALM, &topic).unwrap(), Some(state(t)));
    }
}

/// Runs each behaviour against a fresh store of each kind, as `memory::<name>` and
/// `embedded::<name>`, so a failure says which store broke it.
macro_rules! behaviour_suite {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(#[test]
            fn $behaviour() {
                super::$behaviour(&junction::store::MemoryStore::new());
            })*
        }
        mod embedded {
            $(#[test]
            fn $behaviour() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("store.redb");
                super::$behaviour(&junction::store::EmbeddedStore::open(&path).unwrap());
            })*
        }
    };
}

behaviour_suite!(
    an_unknown_topic_has_nothing,
    state_round_trips_and_is_replaced,
    records_are_bounded_and_newest_first,
    records_with_the_same_start_are_all_kept,
    definitions_are_listed_by_name_and_replaced,
    delete_removes_definition_state_and_records,
    state_and_records_need_no_definition,
    realms_and_prefixed_topics_are_isolated,
    concurrent_writers_lose_nothing,
);

#[test]
fn stores_are_shared_as_trait_objects_and_errors_cross_threads() {
    fn is_send_sync<T: Send + Sync + 'static>() {}
    is_send_sync::<StoreError>();
    let stores: Vec<Arc<dyn Store>> = vec![Arc::new(MemoryStore::new())];
    assert!(stores[0].topic_state(REALM, TOPIC).unwrap().is_none());
}

// EmbeddedStore only.

fn fill(store: &dyn Store) {
    store.save_topic_state(REALM, TOPIC, &state(42)).unwrap();
    store
        .save_topic_definition(REALM, TOPIC, &definition(TOPIC))
        .unwrap();
    for n in 0..4 {
        store
            .append_poll_record(REALM, TOPIC, &record(n), 3)
            .unwrap();
    }
}

#[test]
fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    fill(&EmbeddedStore::open(&path).unwrap());

    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(store.topic_state(REALM, TOPIC).unwrap(), Some(state(42)));
    assert_eq!(
        store.topic_definitions(REALM).unwrap(),
        [(TOPIC.to_owned(), definition(TOPIC))]
    );
    assert_eq!(attempts(&store, REALM, TOPIC), [3, 2, 1]);

    // Records appended after the reopen still come newest first and stay bounded.
    store
        .append_poll_record(REALM, TOPIC, &record(4), 3)
        .unwrap();
    assert_eq!(attempts(&store, REALM, TOPIC), [4, 3, 2]);
    store.delete_topic(REALM, TOPIC).unwrap();
    drop(store);

    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(store.topic_state(REALM, TOPIC).unwrap(), None);
    assert!(store.poll_records(REALM, TOPIC).unwrap().is_empty());
    assert!(store.topic_definitions(REALM).unwrap().is_empty());
}

#[test]
fn open_creates_missing_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("var/lib/junction/store.redb");
    let store = EmbeddedStore::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path);
}

fn open_error(path: &Path) -> String {
    let error = EmbeddedStore::open(path).expect_err("open must fail");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    message
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::write(&path, "{\"realms\": []}\n".repeat(1000)).unwrap();
    open_error(&path);
    // The file is left as it was.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("{\"realms\"")
    );
}

#[test]
fn a_damaged_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    fill(&EmbeddedStore::open(&path).unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    // Keep the header (magic and layout), scramble the pages behind it.
    for byte in &mut bytes[4096..] {
        *byte ^= 0x5a;
    }
    std::fs::write(&path, bytes).unwrap();
    open_error(&path);
}

#[test]
fn a_truncated_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    fill(&EmbeddedStore::open(&path).unwrap());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    open_error(&path);
}

#[test]
fn a_directory_in_place_of_the_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    open_error(dir.path());
}

#[test]
fn a_second_open_of_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let _first = EmbeddedStore::open(&path).unwrap();
    let message = open_error(&path);
    assert!(message.contains("already open"), "{message}");
}
