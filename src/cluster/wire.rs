//! What travels between nodes, as NATS headers and a CBOR-encoded WAMP message: CBOR keeps
//! every WAMP value exact (bytes stay bytes, integers of any size), and reusing the router's
//! own messages means no second format. A publication is a PUBLISH whose options carry the
//! EVENT details and its audience; calls, chunks, cancels and answers are the WAMP messages
//! themselves, addressed by headers.

use async_nats::HeaderMap;
use bytes::Bytes;

use crate::router::broker::{Audience, Publication};
use crate::wamp::id::Id;
use crate::wamp::message::{Message, Payload};
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, List, Value};

/// The node a message comes from.
pub const ORIGIN: &str = "J-O";
/// The origin node's sequence number of a publication (restores order on receipt).
pub const SEQUENCE: &str = "J-Q";
/// The realm of a node-directed message (its subject token).
pub const REALM: &str = "J-R";
/// The session a node-directed message is about (the caller of a forwarded call).
pub const SESSION: &str = "J-S";
/// The callee a forwarded call goes to.
pub const TARGET: &str = "J-T";

pub fn encode(message: &Message) -> Option<Bytes> {
    Serialization::Cbor
        .try_encode(message)
        .inspect_err(|e| tracing::warn!(error = %e, "not sent to the cluster"))
        .ok()
}

pub fn decode(bytes: &[u8]) -> Option<Message> {
    Serialization::Cbor
        .decode(bytes)
        .inspect_err(|e| tracing::warn!(error = %e.0, "unreadable message from the cluster"))
        .ok()
}

pub fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers?.get(name).map(|v| v.as_str())
}

pub fn header_id(headers: Option<&HeaderMap>, name: &str) -> Option<Id> {
    header(headers, name)?.parse().ok()
}

/// A publication as a PUBLISH message: request = publication id.
pub fn publication(publication: &Publication<'_>, retain: bool) -> Option<Bytes> {
    let mut options = Dict::new();
    options.insert("details".into(), Value::Dict(publication.details.clone()));
    if retain {
        options.insert("retain".into(), Value::Bool(true));
    }
    let a = &publication.audience;
    let ids = |ids: &[Id]| Value::List(ids.iter().map(|id| Value::from(*id)).collect());
    let names =
        |names: &[String]| Value::List(names.iter().map(|n| Value::from(n.as_str())).collect());
    if !a.exclude.is_empty() {
        options.insert("exclude".into(), ids(&a.exclude));
    }
    if !a.exclude_authid.is_empty() {
        options.insert("exclude_authid".into(), names(&a.exclude_authid));
    }
    if !a.exclude_authrole.is_empty() {
        options.insert("exclude_authrole".into(), names(&a.exclude_authrole));
    }
    if let Some(e) = &a.eligible {
        options.insert("eligible".into(), ids(e));
    }
    if let Some(e) = &a.eligible_authid {
        options.insert("eligible_authid".into(), names(e));
    }
    if let Some(e) = &a.eligible_authrole {
        options.insert("eligible_authrole".into(), names(e));
    }
    encode(&Message::Publish {
        request: publication.id,
        options,
        topic: publication.topic.to_owned(),
        payload: publication.payload.clone(),
    })
}

/// A publication read back: (id, details, audience, retain, payload).
pub struct Received {
    pub id: Id,
    pub topic: String,
    pub details: Dict,
    pub audience: Audience,
    pub retain: bool,
    pub payload: Payload,
}

pub fn received(bytes: &[u8]) -> Option<Received> {
    let Message::Publish {
        request,
        mut options,
        topic,
        payload,
    } = decode(bytes)?
    else {
        return None;
    };
    let details = match options.remove("details") {
        Some(Value::Dict(d)) => d,
        _ => Dict::new(),
    };
    let ids = |v: Option<Value>| match v {
        Some(Value::List(l)) => Some(l.iter().filter_map(as_id).collect::<Vec<Id>>()),
        _ => None,
    };
    let names = |v: Option<Value>| match v {
        Some(Value::List(l)) => Some(strings(l)),
        _ => None,
    };
    let audience = Audience {
        exclude_session: None,
        exclude: ids(options.remove("exclude")).unwrap_or_default(),
        exclude_authid: names(options.remove("exclude_authid")).unwrap_or_default(),
        exclude_authrole: names(options.remove("exclude_authrole")).unwrap_or_default(),
        eligible: ids(options.remove("eligible")),
        eligible_authid: names(options.remove("eligible_authid")),
        eligible_authrole: names(options.remove("eligible_authrole")),
    };
    Some(Received {
        id: request,
        topic,
        details,
        audience,
        retain: matches!(options.get("retain"), Some(Value::Bool(true))),
        payload,
    })
}

pub fn as_id(value: &Value) -> Option<Id> {
    match value {
        Value::UInt(n) => Some(*n),
        Value::Int(n) if *n >= 0 => Some(*n as u64),
        _ => None,
    }
}

fn strings(list: List) -> Vec<String> {
    list.into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
        .collect()
}
