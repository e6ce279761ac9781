//! The `poller` scenario of issue 6: what a changed 1 MiB JSON document costs an http-poller
//! topic, from the polled bytes to the EVENT frames subscribers get (target: <= 10 ms).
//!
//! The document is ~1 MiB of order-like records; the changed poll alters 1% of them (a status
//! and a total each), the typical "something changed" poll. Measured:
//!
//! - `observe`: [`Tracker::observe_bytes`] on the changed bytes: compared with the last ones, then
//!   diffed against the snapshot while parsed (RFC 6902, `src/poller/diff.rs`), and the
//!   patch-versus-document size check (`src/poller/change.rs`);
//! - `events`: what the runner builds to publish (`src/poller/runner.rs`, `publish_change`):
//!   the patch event as WAMP kwargs, the retained snapshot event patched in place
//!   (`src/poller/event.rs`);
//! - `encode`: the patch EVENT serialized once for JSON and once for MessagePack subscribers
//!   (the broker encodes once per serializer in use);
//! - `total`: all three, i.e. one changed poll from bytes to frames;
//! - `after_publish`: what the runner does once the frames are out: parse the new snapshot (the
//!   tracker kept it as bytes) to share it with the status, hash the payload for the store;
//! - `prepend_total`: one record prepended instead (the diff compares arrays by index, so the
//!   patch is larger than the document and a snapshot is published instead).
//!
//! The `parts` group times the steps on their own, next to what they replaced (`json_patch`'s
//! diff, a deep clone, `serde_json::from_value` to WAMP values).
//!
//! What is freed after a poll (the replaced snapshot, what an iteration built) is freed outside
//! the timing: the runner frees it on the blocking pool, off the poll's path. Each iteration
//! starts from snapshot 1, the retained event patched back rather than copied (`time_each`).
//!
//! Run with `cargo bench --bench poller_change`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use json_patch::Patch;
use junction::poller::change::{Change, Tracker};
use junction::poller::diff::{diff, diff_bytes};
use junction::poller::event::{SnapshotEvent, patch_event, to_wamp};
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

/// A topic's state between polls, as `src/poller/runner.rs` keeps it: the tracker, the retained
/// snapshot event, and the status's share of the snapshot.
#[derive(Clone)]
struct Topic {
    tracker: Tracker,
    retained: SnapshotEvent,
    current: Option<Arc<Json>>,
}

impl Topic {
    /// A topic whose snapshot 1 is `raw`.
    fn at(raw: &[u8]) -> Self {
        let mut tracker = Tracker::new();
        tracker.observe(raw).unwrap();
        let snapshot = tracker.shared_snapshot().unwrap();
        Topic {
            retained: SnapshotEvent::new(1, snapshot),
            current: Some(Arc::clone(snapshot)),
            tracker,
        }
    }

    /// What the runner's `publish_change` builds for a change: the event to publish (`None`:
    /// the retained snapshot event itself), with the retained event brought to the new
    /// snapshot.
    fn publish(&mut self, change: Change) -> Option<Payload> {
        match change {
            Change::Patch { seq, patch } => {
                assert!(self.retained.advance(seq, &patch));
                Some(patch_event(seq, &patch))
            }
            Change::Snapshot { seq, data } => {
                self.retained = SnapshotEvent::new(seq, &data);
                None
            }
            Change::Unchanged => panic!("a change was expected"),
        }
    }

    /// One poll of `raw` from bytes to frames (the frames' total length).
    fn poll(&mut self, raw: &Bytes) -> usize {
        let change = self.tracker.observe_bytes(raw.clone()).unwrap();
        let event = self.publish(change);
        encode(event.as_ref().unwrap_or(self.retained.payload()))
    }

    /// What the runner does after publishing: the new snapshot, parsed if the tracker kept it as
    /// bytes, shared with the status (`set_current`), and the payload's hash for the persisted
    /// state. Returns the replaced snapshot, which the runner frees on the blocking pool.
    fn after_publish(&mut self) -> Option<Arc<Json>> {
        black_box(self.tracker.hash());
        let snapshot = self
            .tracker
            .shared_snapshot()
            .expect("a change leaves a snapshot");
        self.current.replace(Arc::clone(snapshot))
    }
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

/// Runs `iteration` `iters` times on a topic brought back to `base`'s state before each (the
/// retained event by applying `back`, the patch from where the iteration leaves it), and adds
/// up the durations the iterations measured.
fn time_each<T>(
    iters: u64,
    base: &Topic,
    back: &Patch,
    mut iteration: impl FnMut(&mut Topic) -> (Duration, T),
) -> Duration {
    let mut topic = base.clone();
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (elapsed, built) = iteration(&mut topic);
        total += elapsed;
        drop(built);
        topic.tracker = base.tracker.clone();
        topic.current = base.current.clone();
        assert!(topic.retained.advance(1, back));
    }
    total
}

/// What `f` returns, and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let built = f();
    (start.elapsed(), built)
}

fn poller_change(c: &mut Criterion) {
    let (before, changed, prepended) = documents();
    // As the runner gets them: response bodies, kept by the tracker without copying.
    let (changed, prepended) = (Bytes::from(changed), Bytes::from(prepended));
    let base = Topic::at(&before);
    {
        // The scenario is what it says: ~1 MiB, and a patch (not a snapshot) for 1% changed.
        assert!((1 << 20) <= before.len() && before.len() < (1 << 20) + 1024);
        let mut t = base.tracker.clone();
        assert!(matches!(t.observe(&changed).unwrap(), Change::Patch { .. }));
        let mut t = base.tracker.clone();
        assert!(matches!(
            t.observe(&prepended).unwrap(),
            Change::Snapshot { .. }
        ));
        // After a poll, the retained event and the shared snapshot are the new document's.
        let mut topic = base.clone();
        topic.poll(&changed);
        topic.after_publish();
        let new: Json = serde_json::from_slice(&changed).unwrap();
        assert!(topic.retained == SnapshotEvent::new(2, &new));
        assert_eq!(topic.current.as_deref(), Some(&new));
    }

    // Each iteration starts from the topic at snapshot 1: a copy of the tracker (cheap: it
    // shares the snapshot) and the one retained event, patched back to snapshot 1 outside the
    // timing (copying it instead would put a large document's allocations and frees around every
    // iteration, which the runner never does). What an iteration builds is freed outside the
    // timing too: the runner frees the replaced snapshot on the blocking pool.
    let new: Json = serde_json::from_slice(&changed).unwrap();
    let old: Json = serde_json::from_slice(&before).unwrap();
    let back_from_changed = diff(&new, &old);
    let back_from_prepended = diff(&serde_json::from_slice(&prepended).unwrap(), &old);
    let mut group = c.benchmark_group("poller_change_1MiB");
    group.sample_size(30);
    group.bench_function("observe", |b| {
        b.iter_batched(
            || base.tracker.clone(),
            |mut tracker| {
                let change = tracker.observe_bytes(changed.clone()).unwrap();
                (tracker, change)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("events", |b| {
        b.iter_custom(|iters| {
            time_each(iters, &base, &back_from_changed, |topic| {
                let change = topic.tracker.observe_bytes(changed.clone()).unwrap();
                timed(|| topic.publish(change))
            })
        })
    });
    group.bench_function("encode", |b| {
        let mut topic = base.clone();
        let change = topic.tracker.observe(&changed).unwrap();
        let event = topic.publish(change).expect("a patch event");
        b.iter(|| black_box(encode(black_box(&event))))
    });
    group.bench_function("total", |b| {
        b.iter_custom(|iters| {
            time_each(iters, &base, &back_from_changed, |topic| {
                timed(|| topic.poll(black_box(&changed)))
            })
        })
    });
    group.bench_function("after_publish", |b| {
        b.iter_custom(|iters| {
            time_each(iters, &base, &back_from_changed, |topic| {
                topic.poll(&changed);
                timed(|| topic.after_publish())
            })
        })
    });
    group.bench_function("prepend_total", |b| {
        b.iter_custom(|iters| {
            time_each(iters, &base, &back_from_prepended, |topic| {
                timed(|| topic.poll(black_box(&prepended)))
            })
        })
    });
    group.finish();

    // Where `observe` and `events` spend it: the steps on their own, with what they replaced.
    let mut parts = c.benchmark_group("poller_change_1MiB_parts");
    parts.sample_size(30);
    parts.bench_function("sha256", |b| {
        b.iter(|| junction::poller::change::payload_hash(black_box(&changed)))
    });
    parts.bench_function("diff_bytes", |b| {
        b.iter(|| diff_bytes(black_box(&old), black_box(&changed)).unwrap())
    });
    parts.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<Json>(black_box(&changed)).unwrap())
    });
    parts.bench_function("compare_equal", |b| {
        let copy = new.clone();
        b.iter(|| black_box(&new) == black_box(&copy))
    });
    parts.bench_function("diff", |b| {
        b.iter(|| diff(black_box(&old), black_box(&new)))
    });
    parts.bench_function("json_patch_diff", |b| {
        b.iter(|| json_patch::diff(black_box(&old), black_box(&new)))
    });
    parts.bench_function("serialize", |b| {
        b.iter(|| serde_json::to_vec(black_box(&new)).unwrap().len())
    });
    parts.bench_function("clone", |b| b.iter(|| black_box(&new).clone()));
    parts.bench_function("drop", |b| {
        b.iter_batched(|| new.clone(), drop, BatchSize::LargeInput)
    });
    parts.bench_function("to_wamp", |b| b.iter(|| to_wamp(black_box(&new))));
    parts.bench_function("serde_to_wamp_value", |b| {
        b.iter_batched(
            || new.clone(),
            |v| serde_json::from_value::<Value>(v).unwrap(),
            BatchSize::LargeInput,
        )
    });
    // Not the poller's: the router's `Broker::retain` copies the retained payload it is given.
    parts.bench_function("retained_copy", |b| {
        b.iter_batched(
            || (),
            |()| base.retained.payload().clone(),
            BatchSize::LargeInput,
        )
    });
    parts.bench_function("retained_advance", |b| {
        let patch = diff(&old, &new);
        b.iter_batched(
            || base.retained.clone(),
            |mut retained| {
                assert!(retained.advance(2, black_box(&patch)));
                retained
            },
            BatchSize::LargeInput,
        )
    });
    parts.finish();
}

criterion_group!(benches, poller_change);
criterion_main!(benches);
