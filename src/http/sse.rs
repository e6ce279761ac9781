//! The `sse` path type: `GET <path>?topic=<uri>[&topic=...][&match=prefix|wildcard]` answers
//! `text/event-stream`, one SSE event per WAMP event on those topics, subscribed and
//! authorized as the path's role like any subscriber. Each event is
//!
//! ```text
//! id: <publication id>
//! event: <the topic, or the configured name; no line by default>
//! data: {"topic": ..., "args": [...], "kwargs": {...}, "publication": ...}
//! ```
//!
//! with a `retry:` hint first and a comment line as heartbeat. Who may read is
//! [`sse_auth`]'s to decide; a topic the reader's role may not subscribe to is 403, a malformed
//! one 400, both with a JSON body, before any stream starts.
//!
//! **State first.** The subscriptions ask for the topics' retained events (`retained=false`
//! declines), which the broker queues before any live event: a poller topic's stream starts
//! with its snapshot, then its patches.
//!
//! **Resume.** A client reconnecting with `Last-Event-ID` (the header `EventSource` sends, or
//! a `lastEventId` query parameter) gets every event after that one that the event history
//! (in a cluster, the cluster's history stream) holds for its topics, in order, then the live
//! ones, with no gap and no duplicate: the subscriptions are made first (live events queue
//! meanwhile), the history is read, and a live event already replayed is skipped, as is the
//! retained state. When the event is not in the history (older than it holds, or its topics
//! have none), an `event: reset` tells the client so, then the retained state (a fresh
//! snapshot) and live events follow.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;
use serde_json::json;

use crate::config::model::{SseEventName, SseService};
use crate::http::bridge_stats::PathStats;
use crate::http::event_stream;
use crate::http::requester::Requester;
use crate::http::response::{self, HttpResponse};
use crate::http::sse_auth::{self, Reader};
use crate::router::Router;
use crate::router::internal::{InternalSubscriber, ReceivedEvent};
use crate::router::realm::Realm;
use crate::store::EventRecord;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, List, Value};

/// Most topics one stream may ask for.
const MAX_TOPICS: usize = 32;

/// One `sse` path, ready to serve.
pub struct SsePath {
    realm: Arc<Realm>,
    service: SseService,
    /// Requests by status (answered when the stream starts or is refused) and open streams.
    stats: Arc<PathStats>,
}

impl SsePath {
    /// `None` when the path's realm does not exist (config validation catches that first).
    pub fn new(service: &SseService, router: &Router, stats: Arc<PathStats>) -> Option<SsePath> {
        Some(SsePath {
            realm: router.realm(&service.realm)?,
            service: service.clone(),
            stats,
        })
    }

    pub async fn handle(
        &self,
        router: &Router,
        req: &Request<Incoming>,
        requester: Requester,
    ) -> HttpResponse {
        let started = Instant::now();
        let answer = self.answer(router, req, requester).await;
        self.stats
            .record(answer.status().as_u16(), started.elapsed());
        answer
    }

    async fn answer(
        &self,
        router: &Router,
        req: &Request<Incoming>,
        requester: Requester,
    ) -> HttpResponse {
        let origin = req.headers().get(header::ORIGIN);
        if req.method() != Method::GET {
            return response::method_not_allowed("GET", origin);
        }
        let query = match parse_query(req.uri().query().unwrap_or("")) {
            Ok(query) => query,
            Err(message) => return response::error(StatusCode::BAD_REQUEST, &message, origin),
        };
        let reader = match sse_auth::admit(&self.service, router, req, requester).await {
            Ok(reader) => reader,
            Err(refused) => return refused,
        };
        let mut options = Dict::new();
        if let Some(policy) = query.policy {
            options.insert("match".into(), Value::from(policy.name()));
        }
        // The topic's current state first (a poller topic's snapshot): the broker queues it
        // before any live event.
        options.insert("get_retained".into(), Value::Bool(query.retained));
        let mut subscribers = Vec::with_capacity(query.topics.len());
        for topic in &query.topics {
            let subscribed = InternalSubscriber::subscribe(
                Arc::clone(&self.realm),
                &reader.role,
                &reader.authid,
                topic,
                &options,
                self.service.queue,
            )
            .await;
            match subscribed {
                Ok(subscriber) => subscribers.push(subscriber),
                Err(e) => {
                    let status = if e.uri == uri_error::NOT_AUTHORIZED {
                        StatusCode::FORBIDDEN
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    let body = json!({"error": e.uri, "args": [e.message], "kwargs": {}});
                    return response::json(status, &body, origin);
                }
            }
        }
        let mut opening = format!("retry: {}\n\n", self.service.retry_ms);
        let mut events = event_stream::events(subscribers);
        if let Some(last) = last_event_id(req) {
            let resumed = self.resume(&query, &reader, last, &mut opening).await;
            if let Some(replayed) = resumed {
                // Caught up from the history: the retained state is older than that.
                events = Box::pin(events.filter(move |e| {
                    std::future::ready(!e.retained && !replayed.contains(&e.publication))
                }));
            }
        }
        let event = self.service.event.clone();
        // Open as long as the body lives: the encoder is dropped with it.
        let open = self.stats.stream_opened();
        let mut answer = event_stream::response(
            Bytes::from(opening),
            events,
            self.service.heartbeat,
            move |received| {
                let _open = &open;
                encode(&event, received)
            },
        );
        if let Some(origin) = origin {
            answer
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        answer
    }
}

impl SsePath {
    /// Writes into `opening` the events after `last` that the history holds for the query's
    /// topics (oldest first) and returns the publications replayed, which the live stream then
    /// skips; or writes `event: reset` when `last` is not in it and returns `None` (the
    /// retained events that follow are then the client's fresh start).
    async fn resume(
        &self,
        query: &Query,
        reader: &Reader,
        last: u64,
        opening: &mut String,
    ) -> Option<HashSet<u64>> {
        let policy = query.policy.unwrap_or(MatchPolicy::Exact);
        let mut recorded: Vec<Arc<EventRecord>> = Vec::new();
        for topic in &query.topics {
            let events = self
                .realm
                .recorded_events(topic, policy, &reader.authid, &reader.role)
                .await;
            recorded.extend(events.unwrap_or_default());
        }
        // Timestamps strictly increase across history rules (in a cluster: the history
        // stream's storage times, in stream order), so they order every topic's events.
        recorded.sort_by_key(|e| e.timestamp);
        recorded.dedup_by_key(|e| e.publication);
        let Some(at) = recorded.iter().position(|e| e.publication == last) else {
            reset(
                opening,
                last,
                "that event is not in the event history (older than it holds, or its topics \
                 keep none): events may have been missed",
            );
            return None;
        };
        let mut replayed = HashSet::new();
        for event in &recorded[at + 1..] {
            let received = ReceivedEvent {
                publication: event.publication,
                topic: event.topic.clone(),
                payload: Payload {
                    args: event.args.clone(),
                    kwargs: event.kwargs.clone(),
                },
                retained: false,
            };
            opening.push_str(&String::from_utf8_lossy(&encode(
                &self.service.event,
                &received,
            )));
            replayed.insert(event.publication);
        }
        Some(replayed)
    }
}

/// `event: reset`: the client cannot be given what it missed since `last`, and why.
fn reset(opening: &mut String, last: u64, reason: &str) {
    let data = json!({"lastEventId": last.to_string(), "reason": reason});
    opening.push_str(&format!("event: reset\ndata: {data}\n\n"));
}

/// The event a reconnecting client saw last: the `Last-Event-ID` header, else the
/// `lastEventId` query parameter (for clients that cannot set headers).
fn last_event_id(req: &Request<Incoming>) -> Option<u64> {
    if let Some(value) = req.headers().get("last-event-id") {
        return value.to_str().ok()?.trim().parse().ok();
    }
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "lastEventId")
        .and_then(|(_, value)| value.trim().parse().ok())
}

/// What a stream asks for.
#[derive(Debug, PartialEq)]
struct Query {
    topics: Vec<String>,
    /// `match`: `None` for exact.
    policy: Option<MatchPolicy>,
    /// `retained` (default true): the topics' retained events first.
    retained: bool,
}

/// The query's topics, match policy and `retained`, or what is wrong with it.
fn parse_query(query: &str) -> Result<Query, String> {
    let mut parsed = Query {
        topics: Vec::new(),
        policy: None,
        retained: true,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "topic" => parsed.topics.push(value.into_owned()),
            "match" => {
                parsed.policy = match &*value {
                    "exact" | "" => None,
                    "prefix" => Some(MatchPolicy::Prefix),
                    "wildcard" => Some(MatchPolicy::Wildcard),
                    other => {
                        return Err(format!(
                            "match must be exact, prefix or wildcard, not \"{}\"",
                            crate::log_text::peer_text(other)
                        ));
                    }
                }
            }
            "retained" => {
                parsed.retained = match &*value {
                    "true" | "1" | "" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(format!(
                            "retained must be true or false, not \"{}\"",
                            crate::log_text::peer_text(other)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if parsed.topics.is_empty() {
        return Err("a topic parameter is required: ?topic=<uri>".into());
    }
    if parsed.topics.len() > MAX_TOPICS {
        return Err(format!("at most {MAX_TOPICS} topics per stream"));
    }
    Ok(parsed)
}

/// One WAMP event as an SSE event (JSON has no raw line break, so `data:` is one line).
/// Every stream encodes each event it sends, so the `data` is written straight from the event
/// rather than through a JSON tree built and dropped per stream.
fn encode(name: &SseEventName, event: &ReceivedEvent) -> Bytes {
    #[derive(Serialize)]
    struct Data<'a> {
        topic: &'a str,
        args: &'a Option<List>,
        kwargs: &'a Option<Dict>,
        publication: Id,
        /// Only on a retained event (a topic's state, sent first).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        retained: bool,
    }
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(format!("id: {}\n", event.publication).as_bytes());
    match name {
        SseEventName::Message => {}
        SseEventName::Topic => {
            out.extend_from_slice(format!("event: {}\n", event.topic).as_bytes())
        }
        SseEventName::Fixed(name) => out.extend_from_slice(format!("event: {name}\n").as_bytes()),
    }
    out.extend_from_slice(b"data: ");
    let data = Data {
        topic: &event.topic,
        args: &event.payload.args,
        kwargs: &event.payload.kwargs,
        publication: event.publication,
        retained: event.retained,
    };
    let start = out.len();
    if serde_json::to_writer(&mut out, &data).is_err() {
        // Not reachable with WAMP values (writing to a Vec does not fail); never half an event.
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_topics_and_a_policy() {
        let query = parse_query("topic=a.b&topic=c%2Ed&match=prefix").unwrap();
        assert_eq!(query.topics, ["a.b", "c.d"]);
        assert_eq!(query.policy, Some(MatchPolicy::Prefix));
        assert!(query.retained);
        assert!(!parse_query("topic=a&retained=false").unwrap().retained);
        assert!(parse_query("topic=a&retained=maybe").is_err());
        assert!(parse_query("match=prefix").is_err());
        assert!(parse_query("topic=a&match=regex").is_err());
    }

    #[test]
    fn an_event_is_one_block_with_its_data_on_one_line() {
        let mut kwargs = Dict::new();
        kwargs.insert("k".into(), Value::Bytes(vec![1, 2]));
        let event = ReceivedEvent {
            publication: 7,
            topic: "a.b".into(),
            payload: Payload {
                args: Some(vec![Value::UInt(u64::MAX), Value::String("x\ny".into())]),
                kwargs: Some(kwargs),
            },
            retained: false,
        };
        let data = r#"{"topic":"a.b","args":[18446744073709551615,"x\ny"],"kwargs":{"k":"\u0000AQI="},"publication":7}"#;
        assert_eq!(
            encode(&SseEventName::Topic, &event),
            format!("id: 7\nevent: a.b\ndata: {data}\n\n")
        );
        // Below i64::MIN: a serde_json tree cannot hold it (to_value fails), the writer can.
        let below = Value::from_bigint(num_bigint::BigInt::from(i128::from(i64::MIN) - 1));
        let big = ReceivedEvent {
            publication: 8,
            topic: "a.b".into(),
            payload: Payload {
                args: Some(vec![below]),
                kwargs: None,
            },
            retained: true,
        };
        assert!(
            String::from_utf8_lossy(&encode(&SseEventName::Message, &big)).contains(
                r#""args":[-9223372036854775809],"kwargs":null,"publication":8,"retained":true}"#
            )
        );
        let plain = encode(
            &SseEventName::Message,
            &ReceivedEvent {
                payload: Payload {
                    args: None,
                    kwargs: None,
                },
                ..event
            },
        );
        assert_eq!(
            plain,
            r#"id: 7
data: {"topic":"a.b","args":null,"kwargs":null,"publication":7}

"#
        );
    }
}
