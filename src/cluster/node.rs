//! This node on NATS: its name, its one connection, and the queue every outgoing message
//! takes. One connection and one sending task keep the order of everything this node sends
//! (NATS keeps the order of one connection), and the queue keeps the network off the session
//! tasks: a message is handed over without waiting, and while NATS is unreachable it is
//! dropped and counted rather than buffered to arrive minutes late (cluster.md §2.4).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::{HeaderMap, Subject};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::log_throttle::Throttle;

/// How many messages may wait for the sending task.
const QUEUE: usize = 65_536;

pub struct Node {
    pub client: async_nats::Client,
    /// This incarnation of the node: its configured name and a random suffix chosen at
    /// start. Subjects, registry entries and session records name it.
    pub name: Arc<str>,
    pub prefix: String,
    pub request_timeout: Duration,
    queue: mpsc::Sender<(Subject, HeaderMap, Bytes)>,
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
        let (queue, mut receiver) = mpsc::channel::<(Subject, HeaderMap, Bytes)>(QUEUE);
        let sender = client.clone();
        tokio::spawn(async move {
            while let Some((subject, headers, payload)) = receiver.recv().await {
                let _ = sender.publish_with_headers(subject, headers, payload).await;
            }
        });
        Arc::new(Node {
            client,
            name,
            prefix,
            request_timeout,
            queue,
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
        if self.connected()
            && self
                .queue
                .try_send((Subject::from(subject), headers, payload))
                .is_ok()
        {
            return true;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if self.throttle.admit().is_some() {
            tracing::warn!(
                "cluster: a message to other nodes was dropped (NATS unreachable or the queue \
                 full); {} so far",
                self.dropped.load(Ordering::Relaxed)
            );
        }
        false
    }
}
