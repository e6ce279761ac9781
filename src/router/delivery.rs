//! Sending a routed message to one peer in its serialization, and what happens when the
//! payload is one that serialization cannot carry.
//!
//! Payloads pass through the router uninterpreted, so an integer beyond 64 bits (a CBOR bignum,
//! a long JSON literal) reaches JSON and CBOR peers exactly. MessagePack has no such integers:
//! rather than a frame the peer would misread, or a dropped session, the *sender* of the
//! message hears `wamp.error.invalid_argument` — the caller for a CALL its callee cannot
//! receive and for a RESULT or ERROR it cannot receive itself, the publisher for a publication
//! a subscriber cannot receive (see `Realm::publish`). Every session stays open.

use crate::router::error::{WampError, error_message};
use crate::router::peer::{Outgoing, Peer};
use crate::wamp::error as uri_error;
use crate::wamp::message::{self, Message, Payload};

/// Encodes `message` for `peer` and queues it (a slow consumer is dropped, see
/// [`Outbound::push`](crate::router::outbound::Outbound::push)); a message its serialization
/// cannot carry is logged and not sent (the checks below keep payloads from getting this far).
pub(crate) fn push(peer: &Peer, message: &Message) {
    encode_then(peer, message, |frame| {
        peer.deliver(frame);
    });
}

/// Like [`push`], for a reply to the peer's own request (SUBSCRIBED, REGISTERED, the RESULT or
/// ERROR of its CALL): queued even over the queue's bounds, never dropping the peer (see
/// [`Outbound::push_reply`](crate::router::outbound::Outbound::push_reply)).
pub(crate) fn reply(peer: &Peer, message: &Message) {
    encode_then(peer, message, |frame| {
        peer.outbound.push_reply(Outgoing::Message(frame));
    });
}

fn encode_then(peer: &Peer, message: &Message, queue: impl FnOnce(bytes::Bytes)) {
    match peer.serialization.try_encode(message) {
        Ok(frame) => queue(frame),
        Err(e) => tracing::warn!(
            session = peer.session,
            error = %e,
            "not sent to the session"
        ),
    }
}

/// `Err(invalid_argument)` when `receiver` cannot be sent `payload`: it holds integers beyond
/// 64 bits and `receiver` speaks MessagePack. `who` names the receiver for the sender
/// ("the callee").
pub(crate) fn check_receivable(
    receiver: &Peer,
    payload: &Payload,
    who: &str,
) -> Result<(), WampError> {
    if receiver.serialization.carries_bigints() || !payload.has_bigint() {
        return Ok(());
    }
    Err(unreceivable(who))
}

/// The error for a payload with integers beyond 64 bits bound for a MessagePack peer.
pub(crate) fn unreceivable(who: &str) -> WampError {
    WampError::new(
        uri_error::INVALID_ARGUMENT,
        format!(
            "{who} speaks MessagePack, which has no integers beyond 64 bits, and the payload \
             holds one"
        ),
    )
}

/// Sends the caller the RESULT or ERROR that answers its CALL, or, when its serialization
/// cannot carry the answer's payload, ERROR `wamp.error.invalid_argument` for that CALL.
pub(crate) fn answer_caller(caller: &Peer, answer: Message) {
    let (request, payload) = match &answer {
        Message::Result {
            request, payload, ..
        }
        | Message::Error {
            request, payload, ..
        } => (*request, payload),
        _ => return reply(caller, &answer),
    };
    match check_receivable(caller, payload, "the caller") {
        Ok(()) => reply(caller, &answer),
        Err(e) => reply(
            caller,
            &error_message(message::CALL, request, e.uri, &e.message),
        ),
    }
}
