//! The error a request is answered with ([`WampError`]) and the ERROR message that carries it.
//!
//! It lives apart from the realm because every layer that answers a request needs it: the
//! realm's verbs, delivery, sessions, the internal callers, the poller and the HTTP bridge.

use crate::wamp::id::Id;
use crate::wamp::message::{Message, Payload};
use crate::wamp::value::{Dict, Value};

/// An error answered to one request: a `wamp.error.*` URI and a human message (ERROR.Args[0]).
/// `wamp.error.protocol_violation` makes the session abort instead.
#[derive(Debug, Clone, PartialEq)]
pub struct WampError {
    pub uri: &'static str,
    pub message: String,
}

impl WampError {
    pub fn new(uri: &'static str, message: impl Into<String>) -> Self {
        WampError {
            uri,
            message: message.into(),
        }
    }
}

/// An ERROR message for a request, with a human message as its only argument.
pub fn error_message(request_type: u64, request: Id, error: &str, text: &str) -> Message {
    Message::Error {
        request_type,
        request,
        details: Dict::new(),
        error: error.to_owned(),
        payload: Payload {
            args: Some(vec![Value::from(text)]),
            kwargs: None,
        },
    }
}
