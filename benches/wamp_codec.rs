//! The hot path of every session: one WAMP message decoded from and encoded to its bytes, in
//! each serialization, plus the list-to-`Message` step on its own (`Message::from_value`).
//!
//! The messages are typical small ones: a CALL with a few arguments and keyword arguments,
//! and the EVENT a broker fans out (encoded both owned and borrowed, as `EventRef`).
//! Issue 13 restructured `src/wamp` without meaning to change these numbers; this bench is
//! how that was checked.
//!
//! Run with `cargo bench --bench wamp_codec`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use junction::wamp::message::{EventRef, Message, Payload};
use junction::wamp::serializer::Serialization;
use junction::wamp::value::{Dict, Value};

fn kwargs() -> Dict {
    let mut kwargs = Dict::new();
    kwargs.insert("customer".into(), "customer-004711".into());
    kwargs.insert("total".into(), Value::Float(123.45));
    kwargs.insert("count".into(), Value::from(17u64));
    kwargs.insert("paid".into(), Value::from(true));
    kwargs
}

fn call() -> Message {
    Message::Call {
        request: 4711,
        options: Dict::new(),
        procedure: "com.example.orders.add".into(),
        payload: Payload::new(vec![Value::from(1u64), "two".into()], kwargs()),
    }
}

fn event() -> Message {
    let mut details = Dict::new();
    details.insert("topic".into(), "com.example.orders.changed".into());
    Message::Event {
        subscription: 1234567,
        publication: 7654321,
        details,
        payload: Payload::new(vec![Value::from(42u64)], kwargs()),
    }
}

fn name(s: Serialization) -> &'static str {
    match s {
        Serialization::Json => "json",
        Serialization::MsgPack => "msgpack",
        Serialization::Cbor => "cbor",
    }
}

fn codec(c: &mut Criterion) {
    let call = call();
    let event = event();
    let Message::Event {
        subscription,
        publication,
        details,
        payload,
    } = &event
    else {
        unreachable!()
    };
    let event_ref = EventRef {
        subscription: *subscription,
        publication: *publication,
        details,
        payload,
    };
    let mut group = c.benchmark_group("wamp_codec");
    for s in Serialization::ALL {
        let call_bytes = s.encode(&call);
        let event_bytes = s.encode(&event);
        group.bench_function(format!("decode_call_{}", name(s)), |b| {
            b.iter(|| s.decode(black_box(&call_bytes)).unwrap())
        });
        group.bench_function(format!("decode_event_{}", name(s)), |b| {
            b.iter(|| s.decode(black_box(&event_bytes)).unwrap())
        });
        group.bench_function(format!("encode_call_{}", name(s)), |b| {
            b.iter(|| s.encode(black_box(&call)))
        });
        group.bench_function(format!("encode_event_ref_{}", name(s)), |b| {
            b.iter(|| s.encode_any(black_box(&event_ref)))
        });
    }
    let call_value: Value = serde_json::from_slice(&Serialization::Json.encode(&call)).unwrap();
    group.bench_function("from_value_call", |b| {
        b.iter(|| Message::from_value(black_box(call_value.clone())).unwrap())
    });
    group.bench_function("clone_call_value", |b| {
        b.iter(|| black_box(call_value.clone()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = codec
}
criterion_main!(benches);
