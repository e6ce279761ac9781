//! What the rest of a realm knows about one joined session: its identity and the bounded
//! outbound queue its transport drains. Routing pushes encoded frames here and never waits:
//! a session whose queue is full is closed as a slow consumer instead of growing memory.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use crate::wamp::id::Id;
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, Value};

/// One item for a transport's writer.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded WAMP message (in the session's serialization), shared between receivers.
    Message(Bytes),
    /// A transport-level ping with this payload.
    Ping(Bytes),
    /// Write what is queued before this, then close the transport with this code and reason.
    Close { code: u16, reason: String },
}

/// A bounded outbound queue plus a way to close the transport from anywhere.
#[derive(Debug)]
pub struct Outbound {
    tx: mpsc::Sender<Outgoing>,
    closer: Closer,
}

/// Asks the transport to drop its connection at once (slow consumer, dead peer).
#[derive(Debug, Default)]
pub struct Closer {
    notify: Notify,
    reason: Mutex<Option<String>>,
}

impl Closer {
    pub fn close(&self, reason: impl Into<String>) {
        let mut r = self.reason.lock();
        if r.is_none() {
            *r = Some(reason.into());
        }
        drop(r);
        self.notify.notify_one();
    }

    /// Resolves once `close` has been called, with the first reason given.
    pub async fn closed(&self) -> String {
        loop {
            if let Some(reason) = self.reason.lock().clone() {
                return reason;
            }
            self.notify.notified().await;
        }
    }
}

impl Outbound {
    pub fn new(capacity: usize) -> (Arc<Outbound>, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let outbound = Arc::new(Outbound {
            tx,
            closer: Closer::default(),
        });
        (outbound, rx)
    }

    /// Queues without waiting; a full queue closes the session as a slow consumer.
    pub fn push(&self, item: Outgoing) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.closer.close(format!(
                    "slow consumer: outbound queue full ({} messages)",
                    self.tx.max_capacity()
                ));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues, waiting for room: for replies to the session's own requests, so a client that
    /// pipelines requests is slowed down rather than disconnected.
    pub async fn send(&self, item: Outgoing) -> bool {
        self.tx.send(item).await.is_ok()
    }

    pub fn closer(&self) -> &Closer {
        &self.closer
    }
}

/// A joined session as seen by the broker and dealer.
#[derive(Debug)]
pub struct Peer {
    pub session: Id,
    pub authid: String,
    pub authrole: String,
    pub serialization: Serialization,
    pub outbound: Arc<Outbound>,
    /// A session inside Junction (HTTP bridge, poller); callers are always disclosed to it,
    /// so its procedures can check the caller's own permissions.
    pub internal: bool,
    /// What the client announced in HELLO that routing depends on.
    pub features: ClientFeatures,
}

/// Client features the router must respect (HELLO.Details.roles.<role>.features).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFeatures {
    /// The callee understands INVOCATIONs with `progress` (progressive call invocations).
    pub callee_progressive_call_invocations: bool,
    /// The callee understands INTERRUPT (call canceling; autobahn.js does not, and drops
    /// its connection on one). A callee without it gets no INTERRUPT: cancel modes and
    /// call timeouts then behave as `skip`, as the spec says.
    pub callee_call_canceling: bool,
}

impl ClientFeatures {
    pub fn from_hello(details: &Dict) -> ClientFeatures {
        let feature = |role: &str, name: &str| {
            let Some(Value::Dict(roles)) = details.get("roles") else {
                return false;
            };
            let Some(Value::Dict(role)) = roles.get(role) else {
                return false;
            };
            let Some(Value::Dict(features)) = role.get("features") else {
                return false;
            };
            matches!(features.get(name), Some(Value::Bool(true)))
        };
        let call_canceling =
            feature("callee", "call_canceling") || feature("callee", "call_cancelling");
        ClientFeatures {
            // The spec: progressive call invocations need call canceling on the callee too.
            callee_progressive_call_invocations: call_canceling
                && feature("callee", "progressive_call_invocations"),
            callee_call_canceling: call_canceling,
        }
    }
}

impl Peer {
    pub fn deliver(&self, frame: Bytes) -> bool {
        self.outbound.push(Outgoing::Message(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_closes_as_slow_consumer() {
        let (outbound, mut rx) = Outbound::new(2);
        assert!(outbound.push(Outgoing::Message(Bytes::from_static(b"1"))));
        assert!(outbound.push(Outgoing::Message(Bytes::from_static(b"2"))));
        assert!(!outbound.push(Outgoing::Message(Bytes::from_static(b"3"))));
        let reason = outbound.closer().closed().await;
        assert!(reason.contains("slow consumer"), "{reason}");
        assert!(matches!(rx.recv().await, Some(Outgoing::Message(b)) if &b[..] == b"1"));
    }
}
