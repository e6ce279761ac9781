//! Poller events as the WAMP payloads the router publishes and retains.
//!
//! Events are built as JSON ([`crate::poller::change`]) and published as WAMP values (kwargs).
//! [`to_wamp`] converts by borrowing, in one walk, with the rules of the WAMP JSON serializer
//! (a string that starts with NUL and holds base64 is bytes): the same value
//! `serde_json::from_value::<wamp::Value>` gives, without copying the document first.
//!
//! [`SnapshotEvent`] is the topic's retained event, `{"type": "snapshot", "seq": n, "data":
//! ...}`, kept as WAMP kwargs from one change to the next: a patch is applied to it in place,
//! so a changed poll of a large document costs the size of the patch, not a conversion of the
//! whole document.

use json_patch::jsonptr::Pointer;
use json_patch::{Patch, PatchOperation};
use serde_json::{Number, Value as Json};

use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value, json_string_to_bytes};

/// `json` as a WAMP value: what `serde_json::from_value::<Value>(json.clone())` gives.
pub fn to_wamp(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => number(n),
        Json::String(s) => match json_string_to_bytes(s) {
            Some(bytes) => Value::Bytes(bytes),
            None => Value::String(s.clone()),
        },
        Json::Array(elements) => Value::List(elements.iter().map(to_wamp).collect()),
        // In key order already: the map is built in bulk, not key by key.
        Json::Object(members) => Value::Dict(
            members
                .iter()
                .map(|(key, value)| (key.clone(), to_wamp(value)))
                .collect(),
        ),
    }
}

fn number(n: &Number) -> Value {
    if let Some(u) = n.as_u64() {
        Value::from(u)
    } else if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// An event body (a JSON object) as WAMP kwargs; anything else gives empty kwargs.
pub fn kwargs(event: &Json) -> Payload {
    let kwargs = match to_wamp(event) {
        Value::Dict(dict) => dict,
        _ => Dict::new(),
    };
    Payload {
        args: None,
        kwargs: Some(kwargs),
    }
}

/// The kwargs of `{"type": "patch", "seq": seq, "patch": [...]}`.
pub fn patch_event(seq: u64, patch: &Patch) -> Payload {
    let operations = serde_json::to_value(patch).expect("a JSON patch serializes to JSON");
    event_payload("patch", seq, "patch", to_wamp(&operations))
}

fn event_payload(kind: &str, seq: u64, key: &str, value: Value) -> Payload {
    let mut kwargs = Dict::new();
    kwargs.insert("type".into(), Value::from(kind));
    kwargs.insert("seq".into(), Value::from(seq));
    kwargs.insert(key.into(), value);
    Payload {
        args: None,
        kwargs: Some(kwargs),
    }
}

/// A topic's retained event, `{"type": "snapshot", "seq": n, "data": ...}`, as WAMP kwargs.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotEvent {
    payload: Payload,
}

impl SnapshotEvent {
    /// The event of snapshot `seq`, converting the whole document.
    pub fn new(seq: u64, snapshot: &Json) -> Self {
        Self {
            payload: event_payload("snapshot", seq, "data", to_wamp(snapshot)),
        }
    }

    /// The event as published and retained.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Turns this event into the event of snapshot `seq`, given the patch from the snapshot it
    /// holds. `false` when the patch does not apply (never the case for the tracker's patches,
    /// computed from the snapshot this event was built from): the event is then half patched,
    /// to be replaced by a [`SnapshotEvent::new`].
    #[must_use]
    pub fn advance(&mut self, seq: u64, patch: &Patch) -> bool {
        let kwargs = self.payload.kwargs.get_or_insert_default();
        kwargs.insert("seq".into(), Value::from(seq));
        match kwargs.get_mut("data") {
            Some(data) => patch
                .iter()
                .all(|operation| apply(data, operation).is_some()),
            None => false,
        }
    }
}

/// Applies one operation of a patch made by [`crate::poller::diff`] (`add`, `remove` and
/// `replace`); `None` when it does not apply to `document`, which may then be half patched.
fn apply(document: &mut Value, operation: &PatchOperation) -> Option<()> {
    match operation {
        PatchOperation::Add(add) => {
            let (parent, last) = add.path.split_back()?;
            let value = to_wamp(&add.value);
            match resolve(document, parent)? {
                Value::Dict(dict) => {
                    dict.insert(last.decoded().into_owned(), value);
                }
                Value::List(list) => {
                    let index = last.to_index().ok()?.for_len_incl(list.len()).ok()?;
                    list.insert(index, value);
                }
                _ => return None,
            }
        }
        PatchOperation::Remove(remove) => {
            let (parent, last) = remove.path.split_back()?;
            match resolve(document, parent)? {
                Value::Dict(dict) => {
                    dict.remove(last.decoded().as_ref())?;
                }
                Value::List(list) => {
                    let index = last.to_index().ok()?.for_len(list.len()).ok()?;
                    list.remove(index);
                }
                _ => return None,
            }
        }
        PatchOperation::Replace(replace) => {
            *resolve(document, &replace.path)? = to_wamp(&replace.value);
        }
        _ => return None,
    }
    Some(())
}

/// The value `path` points to in `document`.
fn resolve<'v>(document: &'v mut Value, path: &Pointer) -> Option<&'v mut Value> {
    path.tokens()
        .try_fold(document, |value, token| match value {
            Value::Dict(dict) => dict.get_mut(token.decoded().as_ref()),
            Value::List(list) => {
                let index = token.to_index().ok()?.for_len(list.len()).ok()?;
                list.get_mut(index)
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn by_serde(json: &Json) -> Value {
        serde_json::from_value(json.clone()).unwrap()
    }

    #[test]
    fn to_wamp_matches_serde_conversion() {
        let doc = json!({
            "null": null, "t": true, "small": 1, "negative": -5, "big": u64::MAX,
            "min": i64::MIN, "float": 0.5, "whole_float": 2.0, "text": "plain",
            "bytes": "\u{0}AAEC/w==", "not_bytes": "\u{0}not base64!",
            "\u{0}AAE=": "keys stay strings",
            "nested": [[], {}, [1, {"a": "\u{0}aGk="}]]
        });
        assert_eq!(to_wamp(&doc), by_serde(&doc));
        assert!(matches!(
            &to_wamp(&doc),
            Value::Dict(d) if d["bytes"] == Value::Bytes(vec![0, 1, 2, 255])
        ));
    }

    #[test]
    fn events_have_the_reference_shapes() {
        let patch: Patch =
            serde_json::from_value(json!([{"op": "replace", "path": "/a", "value": 2}])).unwrap();
        assert_eq!(
            patch_event(4, &patch),
            kwargs(&json!({"type": "patch", "seq": 4, "patch": patch}))
        );
        assert_eq!(
            SnapshotEvent::new(3, &json!({"a": 1})).payload(),
            &kwargs(&json!({"type": "snapshot", "seq": 3, "data": {"a": 1}}))
        );
    }

    #[test]
    fn advance_applies_the_patch() {
        let old = json!({"list": [1, 2, 3], "obj": {"a/b": 1, "c~": 2}, "gone": 1});
        let new = json!({"list": [1, "\u{0}aGk=", 3, 4], "obj": {"a/b": {"x": 1}}, "new": []});
        let mut event = SnapshotEvent::new(1, &old);
        assert!(event.advance(2, &crate::poller::diff::diff(&old, &new)));
        assert_eq!(event, SnapshotEvent::new(2, &new));
    }

    #[test]
    fn advance_says_when_a_patch_does_not_apply() {
        let mut event = SnapshotEvent::new(1, &json!({"a": [1]}));
        for path in ["/missing", "/a/1", "/a/x", "/a/0/deeper", ""] {
            let patch: Patch =
                serde_json::from_value(json!([{"op": "remove", "path": path}])).unwrap();
            assert!(!event.advance(2, &patch), "{path}");
        }
    }

    #[test]
    fn advance_can_replace_the_root() {
        let mut event = SnapshotEvent::new(1, &json!({"a": 1}));
        let new = json!([1]);
        assert!(event.advance(2, &crate::poller::diff::diff(&json!({"a": 1}), &new)));
        assert_eq!(event, SnapshotEvent::new(2, &new));
    }
}
