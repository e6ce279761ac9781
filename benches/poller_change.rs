//! The `poller` scenario of issue 6: what a changed 1 MiB JSON document costs an http-poller
//! topic, from the polled bytes to the EVENT frames subscribers get (target: <= 10 ms).
//!
//! The document is ~1 MiB of order-like records; the changed poll alters 1% of them (a status
//! and a total each), the typical "something changed" poll. Measured:
//!
//! - `observe`: [`Tracker::observe`] on the changed bytes: hash, parse, compare, RFC 6902 diff,
//!   patch-versus-snapshot size check (`src/poller/change.rs`);
//! - `events`: building what the runner publishes (`src/poller/runner.rs`, `publish_change`):
//!   the patch event and the retained snapshot event as WAMP kwargs (serde_json -> WAMP
//!   values), plus the copy of the snapshot the runner keeps for `junction.poller.snapshot`;
//! - `encode`: the patch EVENT serialized once for JSON and once for MessagePack subscribers
//!   (the broker encodes once per serializer in use);
//! - `total`: all three, i.e. one changed poll from bytes to frames;
//! - `prepend`: one record prepended instead (json-patch diffs arrays by index, so the patch
//!   is larger than the document and a snapshot is published instead).
//!
//! Run with `cargo bench --bench poller_change`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use junction::poller::change::{Change, Tracker};
use junction::wamp::message::{EventRef, Payload};
use junction::wamp::serializer::Serialization;
use junction::wamp::value::{Dict, Value};
use serde_json::{Value as Json, json};

/// Order record `i`, ~150 bytes as JSON.
fn order(i: usize) -> Json {
    json!({
        "id": i,
        "customer": format!("customer-{:06}", i * 7919 % 100_000),
        "total": (i * 37 % 10_000) as f64 / 100.0,
        "status": "open",
        "items": [{"sku": format!("sku-{}", i % 977), "qty": i % 5 + 1}],
        "updated": "2026-01-01T00:00:00Z"
    })
}

/// A 1 MiB document (`{"orders": [...]}`), the same with 1% of its records changed, and the
/// same with one record prepended.
fn documents() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (mut records, mut size) = (Vec::new(), 0);
    while size < 1 << 20 {
        let record = order(records.len());
        size += serde_json::to_vec(&record).unwrap().len() + 1;
        records.push(record);
    }
    let before = json!({ "orders": records });
    let mut changed = before.clone();
    for (i, order) in changed["orders"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        if i % 100 == 0 {
            order["status"] = json!("paid");
            order["total"] = json!(0.5);
        }
    }
    let mut prepended = before.clone();
    let new_record = order(usize::MAX / 2);
    prepended["orders"]
        .as_array_mut()
        .unwrap()
        .insert(0, new_record);
    (
        serde_json::to_vec(&before).unwrap(),
        serde_json::to_vec(&changed).unwrap(),
        serde_json::to_vec(&prepended).unwrap(),
    )
}

/// An event body as WAMP kwargs, as the runner converts it (`runner.rs`, `kwargs`).
fn kwargs(event: &Json) -> Payload {
    let kwargs = match serde_json::from_value::<Value>(event.clone()) {
        Ok(Value::Dict(d)) => d,
        _ => Dict::new(),
    };
    Payload {
        args: None,
        kwargs: Some(kwargs),
    }
}

/// What `publish_change` builds for a change: (event to publish, retained snapshot event,
/// the snapshot copy kept for `junction.poller.snapshot`).
fn events(tracker: &Tracker, change: Change) -> (Payload, Payload, Json) {
    let snapshot = tracker.snapshot().expect("a change leaves a snapshot");
    let seq = change.seq().expect("a change has a seq");
    let retained = kwargs(&json!({"type": "snapshot", "seq": seq, "data": snapshot}));
    let event = match change {
        Change::Patch { seq, patch } => {
            kwargs(&json!({"type": "patch", "seq": seq, "patch": patch}))
        }
        _ => retained.clone(),
    };
    (event, retained, snapshot.clone())
}

fn encode(payload: &Payload) -> usize {
    let details = Dict::new();
    let event = EventRef {
        subscription: 1,
        publication: 2,
        details: &details,
        payload,
    };
    Serialization::Json.encode_any(&event).len() + Serialization::MsgPack.encode_any(&event).len()
}

/// A tracker holding `before` as snapshot 1.
fn tracker_at(before: &[u8]) -> Tracker {
    let mut tracker = Tracker::new();
    tracker.observe(before).unwrap();
    tracker
}

fn poller_change(c: &mut Criterion) {
    let (before, changed, prepended) = documents();
    let base = tracker_at(&before);
    {
        // The scenario is what it says: ~1 MiB, and a patch (not a snapshot) for 1% changed.
        assert!((1 << 20) <= before.len() && before.len() < (1 << 20) + 1024);
        let mut t = base.clone();
        assert!(matches!(t.observe(&changed).unwrap(), Change::Patch { .. }));
        let mut t = base.clone();
        assert!(matches!(
            t.observe(&prepended).unwrap(),
            Change::Snapshot { .. }
        ));
    }

    let mut group = c.benchmark_group("poller_change_1MiB");
    group.sample_size(30);
    group.bench_function("observe", |b| {
        b.iter_batched(
            || base.clone(),
            |mut t| black_box(t.observe(black_box(&changed)).unwrap()),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("events", |b| {
        b.iter_batched(
            || {
                let mut t = base.clone();
                let change = t.observe(&changed).unwrap();
                (t, change)
            },
            |(t, change)| black_box(events(&t, change)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("encode", |b| {
        let mut t = base.clone();
        let change = t.observe(&changed).unwrap();
        let (event, _, _) = events(&t, change);
        b.iter(|| black_box(encode(black_box(&event))))
    });
    group.bench_function("total", |b| {
        b.iter_batched(
            || base.clone(),
            |mut t| {
                let change = t.observe(&changed).unwrap();
                let built = events(&t, change);
                black_box(encode(&built.0));
                built
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("prepend_total", |b| {
        b.iter_batched(
            || base.clone(),
            |mut t| {
                let change = t.observe(&prepended).unwrap();
                let built = events(&t, change);
                black_box(encode(&built.0));
                built
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // Where `observe` and `events` spend it: the steps on their own.
    let old: Json = serde_json::from_slice(&before).unwrap();
    let new: Json = serde_json::from_slice(&changed).unwrap();
    let mut parts = c.benchmark_group("poller_change_1MiB_parts");
    parts.sample_size(30);
    parts.bench_function("sha256", |b| {
        b.iter(|| junction::poller::change::payload_hash(black_box(&changed)))
    });
    parts.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<Json>(black_box(&changed)).unwrap())
    });
    parts.bench_function("compare", |b| b.iter(|| black_box(&old) == black_box(&new)));
    parts.bench_function("diff", |b| {
        b.iter(|| json_patch::diff(black_box(&old), black_box(&new)))
    });
    parts.bench_function("serialize", |b| {
        b.iter(|| serde_json::to_vec(black_box(&new)).unwrap().len())
    });
    parts.bench_function("clone", |b| b.iter(|| black_box(&new).clone()));
    parts.bench_function("drop", |b| {
        b.iter_batched(|| new.clone(), drop, BatchSize::LargeInput)
    });
    parts.bench_function("to_wamp_value", |b| {
        b.iter_batched(
            || new.clone(),
            |v| serde_json::from_value::<Value>(v).unwrap(),
            BatchSize::LargeInput,
        )
    });
    parts.finish();
}

criterion_group!(benches, poller_change);
criterion_main!(benches);
