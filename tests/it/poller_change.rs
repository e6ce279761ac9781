//! Change detection of http-poller topics (`junction::poller::change`): what one poll publishes.

use junction::poller::change::{Change, ChangeError, Tracker, payload_hash};
use junction::poller::diff::{diff, diff_bytes};
use junction::poller::event::SnapshotEvent;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A document large enough that changing `temp` is cheaper as a patch than as a snapshot (for
/// tiny documents such as `{"a":1}` a snapshot is always smaller than any patch).
fn station(temp: i64) -> Value {
    json!({"station": "north-west weather station 7", "unit": "celsius", "temp": temp})
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn patched(old: &Value, patch: &json_patch::Patch) -> Value {
    let mut doc = old.clone();
    json_patch::patch(&mut doc, patch).expect("the patch applies to the old snapshot");
    doc
}

#[test]
fn first_observation_is_snapshot_1() {
    let mut tracker = Tracker::new();
    assert_eq!(tracker.seq(), 0);
    let change = tracker.observe(br#"{"temp": 21}"#).unwrap();
    assert_eq!(
        change,
        Change::Snapshot {
            seq: 1,
            data: json!({"temp": 21}).into()
        }
    );
    assert_eq!(tracker.seq(), 1);
    assert_eq!(tracker.snapshot(), Some(&json!({"temp": 21})));
    assert_eq!(tracker.hash(), Some(&payload_hash(br#"{"temp": 21}"#)));
}

#[test]
fn identical_bytes_are_unchanged() {
    let mut tracker = Tracker::new();
    tracker.observe(br#"{"temp": 21}"#).unwrap();
    assert_eq!(
        tracker.observe(br#"{"temp": 21}"#).unwrap(),
        Change::Unchanged
    );
    assert_eq!(tracker.seq(), 1);
}

#[test]
fn identical_bytes_are_not_parsed() {
    // A stored hash of bytes that are not JSON: if observe parsed before comparing hashes, these
    // bytes would be an error, not Unchanged.
    let raw = b"{ this is not JSON";
    let mut tracker = Tracker::restore(5, Some(json!({"temp": 21})), Some(payload_hash(raw)));
    assert_eq!(tracker.observe(raw).unwrap(), Change::Unchanged);
    assert_eq!(tracker.seq(), 5);
    // Other invalid bytes do get parsed.
    assert!(tracker.observe(b"{ this is not JSON either").is_err());
}

#[test]
fn whitespace_and_key_order_changes_are_unchanged_and_take_the_new_hash() {
    let mut tracker = Tracker::new();
    tracker.observe(br#"{"a":1,"b":[1,2]}"#).unwrap();
    let reformatted = b"{\n  \"b\": [ 1, 2 ],\n  \"a\": 1\n}\n";
    assert_eq!(tracker.observe(reformatted).unwrap(), Change::Unchanged);
    assert_eq!(tracker.seq(), 1);
    assert_eq!(tracker.hash(), Some(&payload_hash(reformatted)));
    assert_eq!(tracker.snapshot(), Some(&json!({"a": 1, "b": [1, 2]})));
}

#[test]
fn a_field_change_is_a_patch_that_turns_the_old_snapshot_into_the_new() {
    let old = json!({"station": "north", "temp": 21, "tags": ["a", "b"]});
    let new = json!({"station": "north", "temp": 22, "tags": ["a", "b"]});
    let mut tracker = Tracker::new();
    tracker.observe(&bytes(&old)).unwrap();
    let change = tracker.observe(&bytes(&new)).unwrap();
    let Change::Patch { seq, patch } = &change else {
        panic!("expected a patch, got {change:?}");
    };
    assert_eq!(*seq, 2);
    assert_eq!(
        serde_json::to_value(patch).unwrap(),
        json!([{"op": "replace", "path": "/temp", "value": 22}])
    );
    assert_eq!(patched(&old, patch), new);
    assert_eq!(tracker.snapshot(), Some(&new));
}

#[test]
fn prepending_to_a_large_array_is_a_snapshot() {
    let old: Vec<Value> = (0..1000)
        .map(|i| json!({"id": i, "name": format!("item {i}")}))
        .collect();
    let mut new = old.clone();
    new.insert(0, json!({"id": -1, "name": "item -1"}));
    let (old, new) = (Value::Array(old), Value::Array(new));
    // The premise: json-patch's index-wise diff is larger than the document.
    let diff_len = serde_json::to_vec(&json_patch::diff(&old, &new))
        .unwrap()
        .len();
    assert!(diff_len > bytes(&new).len());

    let mut tracker = Tracker::new();
    tracker.observe(&bytes(&old)).unwrap();
    let change = tracker.observe(&bytes(&new)).unwrap();
    assert_eq!(
        change,
        Change::Snapshot {
            seq: 2,
            data: new.clone().into()
        }
    );
}

#[test]
fn appending_to_a_large_array_is_a_patch() {
    let old = Value::Array((0..1000).map(|i| json!(i)).collect());
    let mut new = old.clone();
    new.as_array_mut().unwrap().push(json!(1000));
    let mut tracker = Tracker::new();
    tracker.observe_value(old.clone());
    let change = tracker.observe_value(new.clone());
    let Change::Patch { seq: 2, patch } = &change else {
        panic!("expected patch 2, got {change:?}");
    };
    assert_eq!(
        serde_json::to_value(patch).unwrap(),
        json!([{"op": "add", "path": "/1000", "value": 1000}])
    );
}

#[test]
fn seq_has_no_gaps_across_a_mix_of_outcomes() {
    let big: Vec<u32> = (0..200).collect();
    let mut prepended = vec![9999];
    prepended.extend(&big);
    let mut with_big = station(22);
    with_big["big"] = json!(big);
    let mut with_prepended = station(22);
    with_prepended["big"] = json!(prepended);
    let polls: Vec<Vec<u8>> = vec![
        bytes(&station(21)),                              // snapshot 1
        bytes(&station(21)),                              // unchanged
        bytes(&station(22)),                              // patch 2
        b"not json".to_vec(),                             // error
        serde_json::to_vec_pretty(&station(22)).unwrap(), // unchanged
        bytes(&with_big),                                 // patch 3
        bytes(&with_prepended),                           // snapshot 4
        bytes(&json!({"replaced": "wholesale"})),         // snapshot 5
        bytes(&json!({"replaced": "wholesale", "n": 1})), // snapshot 6 (tiny document)
        bytes(&station(23)),                              // snapshot 7
        bytes(&station(24)),                              // patch 8
        bytes(&station(24)),                              // unchanged
    ];
    let mut tracker = Tracker::new();
    let mut published = Vec::new();
    for raw in &polls {
        match tracker.observe(raw) {
            Ok(Change::Unchanged) | Err(_) => {}
            Ok(Change::Snapshot { seq, .. }) => published.push(("snapshot", seq)),
            Ok(Change::Patch { seq, .. }) => published.push(("patch", seq)),
        }
    }
    assert_eq!(
        published,
        [
            ("snapshot", 1),
            ("patch", 2),
            ("patch", 3),
            ("snapshot", 4),
            ("snapshot", 5),
            ("snapshot", 6),
            ("snapshot", 7),
            ("patch", 8),
        ]
    );
    assert_eq!(tracker.seq(), 8);
}

#[test]
fn invalid_json_is_an_error_and_leaves_the_state_unchanged() {
    let mut tracker = Tracker::new();
    tracker.observe(&bytes(&station(21))).unwrap();
    let (seq, snapshot, hash) = (
        tracker.seq(),
        tracker.snapshot().cloned(),
        tracker.hash().copied(),
    );

    let err = tracker
        .observe(br#"{"station":"north","temp":"#)
        .unwrap_err();
    assert!(matches!(err, ChangeError::NotJson(_)));
    assert!(
        err.to_string().contains("EOF"),
        "names the parse error: {err}"
    );
    assert_eq!(tracker.seq(), seq);
    assert_eq!(tracker.snapshot().cloned(), snapshot);
    assert_eq!(tracker.hash().copied(), hash);

    // The next valid payload is compared with the snapshot from before the error.
    let change = tracker.observe(&bytes(&station(22))).unwrap();
    let Change::Patch { seq: 2, patch } = &change else {
        panic!("expected patch 2, got {change:?}");
    };
    assert_eq!(patched(&station(21), patch), station(22));
}

#[test]
fn restore_continues_the_seq() {
    let raw = bytes(&station(21));
    let mut tracker = Tracker::restore(41, Some(station(21)), Some(payload_hash(&raw)));
    assert_eq!(tracker.observe(&raw).unwrap(), Change::Unchanged);
    let change = tracker.observe(&bytes(&station(22))).unwrap();
    assert!(
        matches!(change, Change::Patch { seq: 42, .. }),
        "{change:?}"
    );
    let change = tracker.observe(b"[]").unwrap();
    assert!(
        matches!(change, Change::Snapshot { seq: 43, .. }),
        "{change:?}"
    );
}

#[test]
fn restore_without_hash_compares_values() {
    // A store that kept no hash: the first poll parses, finds the same value, publishes nothing.
    let mut tracker = Tracker::restore(41, Some(json!({"a": 1})), None);
    assert_eq!(tracker.observe(b"{ \"a\": 1 }").unwrap(), Change::Unchanged);
    assert_eq!(tracker.seq(), 41);
    assert_eq!(tracker.hash(), Some(&payload_hash(b"{ \"a\": 1 }")));
}

#[test]
fn restore_without_snapshot_publishes_a_snapshot_after_the_stored_seq() {
    let mut tracker = Tracker::restore(9, None, None);
    assert_eq!(
        tracker.observe(b"[]").unwrap(),
        Change::Snapshot {
            seq: 10,
            data: json!([]).into()
        }
    );
}

#[test]
fn observe_value_follows_the_same_rules() {
    let mut tracker = Tracker::new();
    assert_eq!(
        tracker.observe_value(station(21)),
        Change::Snapshot {
            seq: 1,
            data: station(21).into()
        }
    );
    assert_eq!(tracker.observe_value(station(21)), Change::Unchanged);
    let mut flagged = station(21);
    flagged["stale"] = json!(true);
    let change = tracker.observe_value(flagged.clone());
    let Change::Patch { seq: 2, patch } = &change else {
        panic!("expected patch 2, got {change:?}");
    };
    assert_eq!(patched(&station(21), patch), flagged);
    assert_eq!(tracker.hash(), None);
}

#[test]
fn tiny_documents_are_always_snapshots() {
    // [{"op":"replace","path":"/a","value":2}] is larger than {"a":2}: the size rule, not a bug.
    let mut tracker = Tracker::new();
    tracker.observe(br#"{"a":1}"#).unwrap();
    assert_eq!(
        tracker.observe(br#"{"a":2}"#).unwrap(),
        Change::Snapshot {
            seq: 2,
            data: json!({"a": 2}).into()
        }
    );
}

#[test]
fn events_have_the_reference_shapes() {
    let mut tracker = Tracker::new();
    let snapshot = tracker.observe(&bytes(&station(21))).unwrap();
    assert_eq!(
        snapshot.to_event(),
        Some(json!({"type": "snapshot", "seq": 1, "data": station(21)}))
    );
    let patch = tracker.observe(&bytes(&station(22))).unwrap();
    assert_eq!(
        patch.to_event(),
        Some(json!({"type": "patch", "seq": 2,
                    "patch": [{"op": "replace", "path": "/temp", "value": 22}]}))
    );
    assert_eq!(patch.clone().into_event(), patch.to_event());
    assert_eq!(Change::Unchanged.to_event(), None);
    assert_eq!(
        tracker.error_event(70404, "target returned 404"),
        json!({"type": "error", "seq": 2, "code": 70404, "message": "target returned 404"})
    );
}

/// Observes `old` then `new` (padded so that a patch is cheaper than a snapshot) and returns the
/// patch's operations, after checking that they turn `old` into `new`.
fn patch_between(old: Value, new: Value) -> Value {
    let pad = |doc: Value| json!({"padding": "p".repeat(300), "doc": doc});
    let (old, new) = (pad(old), pad(new));
    let mut tracker = Tracker::new();
    tracker.observe(&bytes(&old)).unwrap();
    let change = tracker.observe(&bytes(&new)).unwrap();
    let Change::Patch { seq: 2, patch } = &change else {
        panic!("expected patch 2, got {change:?}");
    };
    assert_eq!(patched(&old, patch), new);
    assert_eq!(
        patch,
        &json_patch::diff(&old, &new),
        "json-patch's own diff"
    );
    serde_json::to_value(patch).unwrap()
}

#[test]
fn arrays_growing_and_shrinking_are_adds_and_removes_at_the_end() {
    assert_eq!(
        patch_between(json!({"a": [1, 2]}), json!({"a": [1, 2, 3, [4]]})),
        json!([{"op": "add", "path": "/doc/a/2", "value": 3},
               {"op": "add", "path": "/doc/a/3", "value": [4]}])
    );
    assert_eq!(
        patch_between(json!({"a": [1, 2, 3, 4]}), json!({"a": [0, 2]})),
        json!([{"op": "replace", "path": "/doc/a/0", "value": 0},
               {"op": "remove", "path": "/doc/a/2"},
               {"op": "remove", "path": "/doc/a/2"}])
    );
    assert_eq!(
        patch_between(json!({"a": [1]}), json!({"a": []})),
        json!([{"op": "remove", "path": "/doc/a/0"}])
    );
}

#[test]
fn type_changes_replace_the_value() {
    assert_eq!(
        patch_between(
            json!({"a": [1], "b": {"x": 1}, "c": "1", "d": null}),
            json!({"a": {"0": 1}, "b": [1], "c": 1, "d": false})
        ),
        json!([{"op": "replace", "path": "/doc/a", "value": {"0": 1}},
               {"op": "replace", "path": "/doc/b", "value": [1]},
               {"op": "replace", "path": "/doc/c", "value": 1},
               {"op": "replace", "path": "/doc/d", "value": false}])
    );
    // An integer and the same number as a float are different JSON values.
    assert_eq!(
        patch_between(json!([2]), json!([2.0])),
        json!([{"op": "replace", "path": "/doc/0", "value": 2.0}])
    );
}

#[test]
fn nested_objects_are_walked_to_the_changed_members() {
    let record = |status: &str| json!({"id": 7, "status": status, "items": [{"sku": "x"}]});
    assert_eq!(
        patch_between(
            json!({"orders": [record("open"), record("open")], "old": 1}),
            json!({"orders": [record("open"), record("paid")], "new": {"k": [1]}})
        ),
        json!([{"op": "add", "path": "/doc/new", "value": {"k": [1]}},
               {"op": "replace", "path": "/doc/orders/1/status", "value": "paid"},
               {"op": "remove", "path": "/doc/old"}])
    );
}

#[test]
fn keys_with_slash_and_tilde_are_escaped_in_paths() {
    assert_eq!(
        patch_between(
            json!({"a/b": 1, "c~d": {"~1/": 1}, "gone/~": 1}),
            json!({"a/b": 2, "c~d": {"~1/": 2}, "": 3})
        ),
        json!([{"op": "add", "path": "/doc/", "value": 3},
               {"op": "replace", "path": "/doc/a~1b", "value": 2},
               {"op": "replace", "path": "/doc/c~0d/~01~1", "value": 2},
               {"op": "remove", "path": "/doc/gone~1~0"}])
    );
}

/// Small JSON documents: scalars, arrays and objects over a few keys, so that two random
/// documents often share structure and the diff has work to do.
fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        "[ab/~]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[ab/~]{0,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Observes `a` then `b` and checks what was published against `b`.
fn check_second_observation(a: &Value, b: &Value) -> Result<(), TestCaseError> {
    let mut tracker = Tracker::new();
    tracker.observe(&bytes(a)).unwrap();
    match tracker.observe(&bytes(b)).unwrap() {
        Change::Unchanged => {
            prop_assert_eq!(a, b);
            prop_assert_eq!(tracker.seq(), 1);
        }
        Change::Patch { seq, patch } => {
            prop_assert_eq!(seq, 2);
            prop_assert_eq!(&patched(a, &patch), b);
        }
        Change::Snapshot { seq, data } => {
            prop_assert_eq!(seq, 2);
            prop_assert_eq!(&*data, b);
        }
    }
    prop_assert_eq!(tracker.snapshot(), Some(b));
    Ok(())
}

/// Two documents that share a part and differ elsewhere, in an object and in an array, so that
/// the diff skips equal subtrees next to changed ones.
fn related_pair() -> impl Strategy<Value = (Value, Value)> {
    (small_json(), small_json(), small_json(), "[ab/~]{0,2}").prop_map(|(shared, x, y, key)| {
        let old = json!({"shared": shared, key.clone(): x, "list": [shared, x, shared]});
        let new = json!({"shared": shared, key: y, "list": [shared, y]});
        (old, new)
    })
}

/// The text of an object whose keys may repeat (serde_json keeps the last value of a key).
fn object_text() -> impl Strategy<Value = String> {
    prop::collection::vec(("[ab/~]{0,2}", small_json()), 0..6).prop_map(|members| {
        let members: Vec<String> = members
            .iter()
            .map(|(key, value)| format!("{}: {value}", json!(key)))
            .collect();
        format!("{{{}}}", members.join(", "))
    })
}

proptest! {
    #[test]
    fn diff_bytes_reads_repeated_keys_as_serde_json(old in small_json(), text in object_text()) {
        let new: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(diff_bytes(&old, text.as_bytes()).unwrap(), diff(&old, &new));
        let (old, text) = (json!({"in": [old]}), format!(r#"{{"in": [{text}]}}"#));
        let new: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(diff_bytes(&old, text.as_bytes()).unwrap(), diff(&old, &new));
    }

    #[test]
    fn the_diff_is_json_patchs_diff_and_patches_the_retained_event(
        (a, b) in prop_oneof![(small_json(), small_json()), related_pair()]
    ) {
        let patch = diff(&a, &b);
        prop_assert_eq!(&patch, &json_patch::diff(&a, &b));
        prop_assert_eq!(patch.is_empty(), a == b);
        prop_assert_eq!(&diff_bytes(&a, &bytes(&b)).unwrap(), &patch);
        let indented = serde_json::to_vec_pretty(&b).unwrap();
        prop_assert_eq!(&diff_bytes(&a, &indented).unwrap(), &patch);
        let mut event = SnapshotEvent::new(1, &a);
        prop_assert!(event.advance(2, &patch));
        prop_assert_eq!(event, SnapshotEvent::new(2, &b));
    }

    #[test]
    fn published_changes_rebuild_the_new_document(a in small_json(), b in small_json()) {
        check_second_observation(&a, &b)?;
        // Small documents mostly end up as snapshots; padding them makes patches the cheaper
        // choice, so that the patch path is exercised as often.
        let pad = |doc: &Value| json!({"padding": "p".repeat(300), "doc": doc});
        check_second_observation(&pad(&a), &pad(&b))?;
    }
}
