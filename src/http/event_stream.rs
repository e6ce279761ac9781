//! A `text/event-stream` response (Server-Sent Events) fed by internal subscribers: what the
//! `sse` path type and the admin dashboard's live tail share.
//!
//! The body is read from the subscribers only as fast as the client takes it; a slow client
//! fills its subscribers' queues, which then close (slow consumer), and its stream ends: the
//! router never waits for it. Dropping the body (the client went away) drops the subscribers,
//! which unsubscribes them.

use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::http::response::HttpResponse;
use crate::router::internal::{InternalSubscriber, ReceivedEvent};

/// The events of several subscribers, merged as they come.
pub type Events = Pin<Box<dyn Stream<Item = ReceivedEvent> + Send>>;

/// The events of `subscribers`, merged; the stream ends when any of them ends (it was too
/// slow: the client misses events from then on, so it must reconnect and catch up).
pub fn events(subscribers: Vec<InternalSubscriber>) -> Events {
    let streams = subscribers.into_iter().map(|subscriber| {
        futures_util::stream::unfold(subscriber, |mut s| async move { Some((s.next().await, s)) })
            .boxed()
    });
    let merged = futures_util::stream::select_all(streams);
    Box::pin(
        merged
            .take_while(|event| std::future::ready(event.is_some()))
            .filter_map(std::future::ready),
    )
}

/// Most bytes of events joined into one chunk.
const MAX_CHUNK: usize = 64 * 1024;

/// `first`, followed by the events already queued behind it (up to [`MAX_CHUNK`] bytes), as one
/// chunk: a burst costs one chunk header and one write instead of one per event, as the
/// WebSocket writer sends all queued frames with one flush.
fn coalesce(first: Bytes, events: &mut Events, encode: &impl Fn(&ReceivedEvent) -> Bytes) -> Bytes {
    let Some(Some(second)) = events.next().now_or_never() else {
        return first;
    };
    let mut chunk = BytesMut::with_capacity(first.len() * 4);
    chunk.extend_from_slice(&first);
    chunk.extend_from_slice(&encode(&second));
    // A stream that ended here (`Some(None)`) ends at the next poll, after this chunk.
    while chunk.len() < MAX_CHUNK {
        let Some(Some(event)) = events.next().now_or_never() else {
            break;
        };
        chunk.extend_from_slice(&encode(&event));
    }
    chunk.freeze()
}

/// 200 `text/event-stream`: `opening`, then each event as `encode` writes it, and a comment
/// line whenever `heartbeat` passes without one (a proxy keeps the stream open, and a client
/// that is gone is noticed at the next write).
pub fn response(
    opening: Bytes,
    events: Events,
    heartbeat: Duration,
    encode: impl Fn(&ReceivedEvent) -> Bytes + Send + Sync + 'static,
) -> HttpResponse {
    let state = (Some(opening), events, encode);
    let frames =
        futures_util::stream::unfold(state, move |(opening, mut events, encode)| async move {
            if let Some(opening) = opening {
                return Some((Ok(Frame::data(opening)), (None, events, encode)));
            }
            // An event already queued needs no heartbeat timer (arming one per event costs).
            let first = match events.next().now_or_never() {
                Some(event) => event?,
                None => tokio::select! {
                    event = events.next() => event?,
                    () = tokio::time::sleep(heartbeat) => {
                        let beat = Frame::data(Bytes::from_static(b": heartbeat\n\n"));
                        return Some((Ok(beat), (None, events, encode)));
                    }
                },
            };
            let chunk = coalesce(encode(&first), &mut events, &encode);
            Some((Ok(Frame::data(chunk)), (None, events, encode)))
        });
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nginx buffers responses by default, which would hold events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
