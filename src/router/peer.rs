//! What the rest of a realm knows about one joined session: its identity, the client features
//! routing depends on, and the bounded outbound queue its transport drains (see
//! [`outbound`](super::outbound)).

use std::sync::Arc;

use bytes::Bytes;

pub use crate::router::outbound::{Awaited, Closer, Inbox, Outbound, Outgoing};

use crate::wamp::id::Id;
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, Value};

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
    /// The node of a session joined on another node of the cluster, stood for here by this
    /// peer (a callee in the registry); `None` for a session of this node.
    pub node: Option<Arc<str>>,
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

    /// Queues an EVENT routed at `routed` (a [`traffic::stamp`](crate::router::traffic::stamp)).
    pub fn deliver_event(&self, frame: Bytes, routed: u32) -> bool {
        self.outbound.push_event(frame, routed)
    }
}
