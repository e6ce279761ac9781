//! The JSON a subscriber sends: one object per event (Junction's shape, or Crossbar's
//! `MessageForwarder` shape), and with batching a JSON array of them (README.md, "HTTP
//! subscriber").

use serde::Serialize;

use crate::config::model::BodyShape;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, List};

/// An event waiting to be forwarded.
#[derive(Debug)]
pub struct QueuedEvent {
    /// The topic published to (the concrete one for a pattern subscription).
    pub topic: String,
    pub publication: Id,
    pub payload: Payload,
    /// When the forwarder's session received it, Unix milliseconds.
    pub timestamp: u64,
}

/// Junction's shape. Keys in sorted order, like Crossbar's.
#[derive(Serialize)]
struct JunctionEvent<'a> {
    args: &'a List,
    kwargs: &'a Dict,
    publication: Id,
    timestamp: u64,
    topic: &'a str,
}

/// Crossbar's `MessageForwarder` shape: exactly these two keys, so receivers written for it
/// work unchanged.
#[derive(Serialize)]
struct CrossbarEvent<'a> {
    args: &'a List,
    kwargs: &'a Dict,
}

static NO_ARGS: List = Vec::new();
static NO_KWARGS: Dict = Dict::new();

fn write_event(out: &mut Vec<u8>, shape: BodyShape, event: &QueuedEvent) {
    let args = event.payload.args.as_ref().unwrap_or(&NO_ARGS);
    let kwargs = event.payload.kwargs.as_ref().unwrap_or(&NO_KWARGS);
    // Writing into a Vec fails only if a value's Serialize does: WAMP values always serialize.
    let _ = match shape {
        BodyShape::Junction => serde_json::to_writer(
            &mut *out,
            &JunctionEvent {
                args,
                kwargs,
                publication: event.publication,
                timestamp: event.timestamp,
                topic: &event.topic,
            },
        ),
        BodyShape::Crossbar => serde_json::to_writer(&mut *out, &CrossbarEvent { args, kwargs }),
    };
}

/// The body of one request: the event itself, or (`batched`) an array of the events (always
/// an array, even of one).
pub fn encode(shape: BodyShape, events: &[QueuedEvent], batched: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 * events.len());
    if !batched {
        if let Some(event) = events.first() {
            write_event(&mut out, shape, event);
        }
        return out;
    }
    out.push(b'[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_event(&mut out, shape, event);
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::value::Value;

    fn event(n: u64, kwargs: bool) -> QueuedEvent {
        let mut dict = Dict::new();
        dict.insert("k".into(), Value::from("v"));
        QueuedEvent {
            topic: "com.a".into(),
            publication: 7 + n,
            payload: Payload {
                args: Some(vec![Value::from(n)]),
                kwargs: kwargs.then_some(dict),
            },
            timestamp: 1_700_000_000_000,
        }
    }

    #[test]
    fn one_event_in_each_shape() {
        let events = [event(1, true)];
        assert_eq!(
            String::from_utf8(encode(BodyShape::Junction, &events, false)).unwrap(),
            r#"{"args":[1],"kwargs":{"k":"v"},"publication":8,"timestamp":1700000000000,"topic":"com.a"}"#
        );
        assert_eq!(
            String::from_utf8(encode(BodyShape::Crossbar, &[event(2, false)], false)).unwrap(),
            r#"{"args":[2],"kwargs":{}}"#
        );
    }

    #[test]
    fn a_batch_is_always_an_array() {
        let one = encode(BodyShape::Crossbar, &[event(1, false)], true);
        assert_eq!(
            String::from_utf8(one).unwrap(),
            r#"[{"args":[1],"kwargs":{}}]"#
        );
        let two = encode(
            BodyShape::Crossbar,
            &[event(1, false), event(2, false)],
            true,
        );
        assert_eq!(
            String::from_utf8(two).unwrap(),
            r#"[{"args":[1],"kwargs":{}},{"args":[2],"kwargs":{}}]"#
        );
    }
}
