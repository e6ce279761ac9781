//! Sessions that live inside Junction: the doors that are not WAMP connections (HTTP
//! publisher, caller and webhook paths; later pollers) act through one of these, joined to a
//! realm with a configured role, so permissions and routing apply exactly as for a client.

use std::sync::Arc;
use std::time::Duration;

use crate::router::peer::{Outbound, Outgoing, Peer};
use crate::router::realm::{Realm, WampError};
use crate::wamp::error as uri_error;
use crate::wamp::id::{self, Id};
use crate::wamp::message::{Message, Payload};
use crate::wamp::serializer::Serialization;
use crate::wamp::value::Dict;

/// An internal session that publishes. It never subscribes, so nothing is ever queued for it.
pub struct InternalPublisher {
    realm: Arc<Realm>,
    peer: Peer,
}

impl InternalPublisher {
    pub fn new(realm: Arc<Realm>, role: &str, authid: &str) -> InternalPublisher {
        let (outbound, _) = Outbound::new(1);
        let peer = internal_peer(role, authid, outbound);
        InternalPublisher { realm, peer }
    }

    pub fn publish(&self, options: &Dict, topic: &str, payload: &Payload) -> Result<Id, WampError> {
        self.realm.publish(&self.peer, options, topic, payload)
    }
}

fn internal_peer(role: &str, authid: &str, outbound: Arc<Outbound>) -> Peer {
    Peer {
        session: id::random_id(),
        authid: authid.to_owned(),
        authrole: role.to_owned(),
        serialization: Serialization::Json,
        outbound,
    }
}

/// How a call ended: the callee's result, or a WAMP error with its payload.
#[derive(Debug, PartialEq)]
pub enum CallOutcome {
    Result(Payload),
    Error { error: String, payload: Payload },
}

impl From<WampError> for CallOutcome {
    fn from(e: WampError) -> Self {
        CallOutcome::Error {
            error: e.uri.to_owned(),
            payload: Payload {
                args: Some(vec![e.message.into()]),
                kwargs: None,
            },
        }
    }
}

/// Calls `procedure` as a one-shot internal session of `role`, waiting at most `timeout`.
/// On timeout the call is withdrawn from the dealer (a late YIELD is then ignored).
pub async fn call(
    realm: &Arc<Realm>,
    role: &str,
    authid: &str,
    procedure: &str,
    payload: Payload,
    timeout: Duration,
) -> CallOutcome {
    let (outbound, mut rx) = Outbound::new(4);
    let peer = Arc::new(internal_peer(role, authid, outbound));
    const REQUEST: Id = 1;
    let outcome = match realm.call(&peer, REQUEST, &Dict::new(), procedure, payload) {
        Err(e) => e.into(),
        Ok(()) => match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some(Outgoing::Message(frame))) => match Serialization::Json.decode(&frame) {
                Ok(Message::Result { payload, .. }) => CallOutcome::Result(payload),
                Ok(Message::Error { error, payload, .. }) => CallOutcome::Error { error, payload },
                _ => WampError::new(uri_error::CANCELED, "unexpected answer to an internal call")
                    .into(),
            },
            Ok(_) => WampError::new(uri_error::CANCELED, "call ended without an answer").into(),
            Err(_) => WampError::new(
                uri_error::TIMEOUT,
                format!(
                    "no answer from the callee within {} ms",
                    timeout.as_millis()
                ),
            )
            .into(),
        },
    };
    realm.leave(peer.session, []);
    outcome
}
