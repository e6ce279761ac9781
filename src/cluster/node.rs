//! This node on NATS: its name, its one connection, and how every outgoing message is handed
//! to it. The connection's own command queue (async-nats's, sized [`QUEUE`]) keeps the order
//! of everything this node sends (NATS keeps the order of one connection); a message goes into
//! it at once, from the session task that sends it, without waiting: when the queue is full,
//! or while NATS is unreachable, it is dropped and counted rather than buffered to arrive
//! minutes late (cluster.md §2.4). No task of ours sits between a session and the connection,
//! which saves a task wake-up per message on the path of every cross-node call and event.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::{HeaderMap, Subject};
use bytes::Bytes;
use futures_util::task::noop_waker_ref;

use crate::log_throttle::Throttle;

/// How many messages may wait for the connection to write them (async-nats's
/// `client_capacity`).
pub const QUEUE: usize = 65_536;

pub struct Node {
    pub client: async_nats::Client,
    /// This incarnation of the node: its configured name and a random suffix chosen at
    /// start. Subjects, registry entries and session records name it.
    pub name: Arc<str>,
    pub prefix: String,
    pub request_timeout: Duration,
    sequence: AtomicU64,
    /// Messages not sent because NATS was unreachable or the queue full.
    pub dropped: AtomicU64,
    throttle: Throttle,
}

impl Node {
    pub fn new(
        client: async_nats::Client,
        name: Arc<str>,
        prefix: String,
        request_timeout: Duration,
    ) -> Arc<Node> {
        Arc::new(Node {
            client,
            name,
            prefix,
            request_timeout,
            sequence: AtomicU64::new(1),
            dropped: AtomicU64::new(0),
            throttle: Throttle::default(),
        })
    }

    pub fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// The next number of this node's publication sequence.
    pub fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// The subject of messages addressed to `node`.
    pub fn inbox_of(&self, node: &str) -> String {
        format!("{}.n.{node}", self.prefix)
    }

    /// Queues a message for NATS; false (and counted) when it was dropped.
    pub fn send(&self, subject: String, mut headers: HeaderMap, payload: Bytes) -> bool {
        headers.insert(crate::cluster::wire::ORIGIN, &*self.name);
        if self.connected() && self.hand_over(Subject::from(subject), headers, payload) {
            return true;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if self.throttle.admit().is_some() {
            tracing::warn!(
                count = self.dropped.load(Ordering::Relaxed),
                "cluster: messages to other nodes dropped, `count` so far (NATS unreachable or \
                 the queue full)"
            );
        }
        false
    }

    /// Puts a message into the connection's queue if it has room now, never waiting: the
    /// publish future is polled once, outside tokio's cooperative budget (which could make a
    /// ready queue look full), and dropped unfinished when the queue is full, which leaves
    /// nothing behind.
    fn hand_over(&self, subject: Subject, headers: HeaderMap, payload: Bytes) -> bool {
        let publish = self.client.publish_with_headers(subject, headers, payload);
        let mut publish = std::pin::pin!(tokio::task::unconstrained(publish));
        let mut cx = Context::from_waker(noop_waker_ref());
        matches!(publish.as_mut().poll(&mut cx), Poll::Ready(Ok(())))
    }
}
