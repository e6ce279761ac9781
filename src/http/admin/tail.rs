//! `api/tail?realm=R&topic=T[&match=prefix|wildcard]`: the live tail of a topic as
//! `text/event-stream`, one `data: {json}` per event (topic, args, kwargs, publication, time).
//!
//! An internal session of the trusted role subscribes (routing and URI checks as for any
//! subscriber); its queue holds at most [`TAIL_QUEUE`] events, and the body is read from it only
//! as fast as the browser takes it, so a slow reader fills the queue and is dropped as a slow
//! consumer: the router never waits for it. The subscription goes when the connection closes
//! (hyper drops the body, which drops the session).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;

use crate::http::event_stream;
use crate::http::response::HttpResponse;
use crate::router::authorize::TRUSTED_ROLE;
use crate::router::internal::{InternalSubscriber, ReceivedEvent};
use crate::router::realm::Realm;
use crate::wamp::value::{Dict, Value};

use super::reply::error;

/// Events waiting for a slow tail reader before it is dropped.
pub const TAIL_QUEUE: usize = 256;
/// A comment line this often, so a proxy keeps the stream open and a dead peer is noticed.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Opens the tail, or answers why not (400 for a bad topic or match, 404 for no realm).
pub async fn tail(
    realm: Option<Arc<Realm>>,
    topic: Option<&str>,
    policy: Option<&str>,
) -> HttpResponse {
    let Some(realm) = realm else {
        return error(StatusCode::NOT_FOUND, "no such realm");
    };
    let Some(topic) = topic.filter(|t| !t.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "the topic parameter is missing");
    };
    let mut options = Dict::new();
    match policy {
        None | Some("" | "exact") => {}
        Some(policy @ ("prefix" | "wildcard")) => {
            options.insert("match".into(), Value::from(policy));
        }
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("match must be exact, prefix or wildcard, not \"{other}\""),
            );
        }
    }
    let subscriber = InternalSubscriber::subscribe(
        realm,
        TRUSTED_ROLE,
        "admin-tail",
        topic,
        &options,
        TAIL_QUEUE,
    )
    .await;
    let subscriber = match subscriber {
        Ok(subscriber) => subscriber,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.message),
    };
    let opening = Bytes::from(format!(": tailing {topic}\n\n"));
    event_stream::response(
        opening,
        event_stream::events(vec![subscriber]),
        HEARTBEAT,
        |event| Bytes::from(sse_event(event)),
    )
}

/// One event as an SSE `data:` line (JSON has no raw newline, so one line is enough).
fn sse_event(event: &ReceivedEvent) -> String {
    let data = json!({
        "topic": event.topic,
        "args": event.payload.args,
        "kwargs": event.payload.kwargs,
        "publication": event.publication,
        "time": jiff::Timestamp::now().to_string(),
    });
    format!("data: {data}\n\n")
}
