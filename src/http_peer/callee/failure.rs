//! How an HTTP callee's invocation fails, and the WAMP ERROR each failure answers the caller
//! with. Messages name the URL without its query string or user info (either may hold a key)
//! and never a header value.

use std::error::Error as _;
use std::time::Duration;

use crate::config::model::OnTimeout;
use crate::http_peer::callee::stats::Outcome;
use crate::router::internal::CallOutcome;
use crate::wamp::error as uri_error;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// A non-2xx answer: args `[status, body]`, kwargs `{"status", "body"}`.
pub const HTTP_STATUS: &str = "junction.error.http_status";
/// No connection to the server (refused, DNS, TLS, reset before an answer).
pub const HTTP_UNREACHABLE: &str = "junction.error.http_unreachable";
/// An answer larger than `max_response_bytes`.
pub const HTTP_RESPONSE_TOO_LARGE: &str = "junction.error.http_response_too_large";

#[derive(Debug)]
pub enum Failure {
    InvalidArgument(String),
    Unreachable(String),
    Timeout(Duration, OnTimeout),
    TooLarge(usize),
    HttpStatus(u16, Value),
}

impl Failure {
    pub fn outcome(&self) -> Outcome {
        match self {
            Failure::InvalidArgument(_) => Outcome::InvalidArgument,
            Failure::Unreachable(_) => Outcome::Unreachable,
            Failure::Timeout(..) => Outcome::Timeout,
            Failure::TooLarge(_) => Outcome::TooLarge,
            Failure::HttpStatus(..) => Outcome::HttpStatus,
        }
    }

    /// The ERROR for the caller; `url` is the redacted URL the request went to.
    pub fn into_call_outcome(self, url: &str) -> CallOutcome {
        let (error, message) = match self {
            Failure::HttpStatus(status, body) => {
                let mut kwargs = Dict::new();
                kwargs.insert("status".into(), Value::from(u64::from(status)));
                kwargs.insert("body".into(), body.clone());
                let args = vec![Value::from(u64::from(status)), body];
                return CallOutcome::Error {
                    error: HTTP_STATUS.to_owned(),
                    payload: Payload {
                        args: Some(args),
                        kwargs: Some(kwargs),
                    },
                };
            }
            Failure::InvalidArgument(message) => (uri_error::INVALID_ARGUMENT, message),
            Failure::Unreachable(reason) => {
                (HTTP_UNREACHABLE, format!("cannot reach {url}: {reason}"))
            }
            Failure::Timeout(timeout, on_timeout) => {
                let uri = match on_timeout {
                    OnTimeout::Timeout => uri_error::TIMEOUT,
                    OnTimeout::Canceled => uri_error::CANCELED,
                };
                let seconds = timeout.as_secs_f64();
                (uri, format!("no answer from {url} within {seconds} s"))
            }
            Failure::TooLarge(limit) => (
                HTTP_RESPONSE_TOO_LARGE,
                format!("the answer from {url} is larger than max_response_bytes ({limit} bytes)"),
            ),
        };
        CallOutcome::Error {
            error: error.to_owned(),
            payload: Payload {
                args: Some(vec![message.into()]),
                kwargs: None,
            },
        }
    }
}

/// A request that got no answer: what went wrong, from reqwest's error and its causes,
/// without the URL reqwest puts in its own text.
pub fn unreachable(e: &reqwest::Error) -> Failure {
    let text = e.to_string();
    let mut reason = match text.find(" for url (") {
        Some(at) => text[..at].to_owned(),
        None => text,
    };
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        source = cause.source();
    }
    Failure::Unreachable(reason)
}

/// `url` as logs and errors show it: scheme, host, port and path only.
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}
