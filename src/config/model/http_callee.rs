//! `realms[].http_callees[]`: procedures Junction registers in a realm and answers by sending
//! each invocation as an HTTP request to a URL (the HTTP response is the RESULT or an ERROR).
//! A Crossbar `RESTCallee` container component loads into the same shape (`crossbar_rest`).

use std::time::Duration;

use url::Url;

use crate::config::secret::Secret;
use crate::wamp::uri::MatchPolicy;

/// `timeout` when not written (seconds).
pub const DEFAULT_HTTP_CALLEE_TIMEOUT: Duration = Duration::from_secs(30);
/// `max_response_bytes` when not written: 16 MiB.
pub const DEFAULT_HTTP_CALLEE_MAX_RESPONSE: usize = 16 * 1024 * 1024;
/// `concurrency` when not written: invocations in flight at once.
pub const DEFAULT_HTTP_CALLEE_CONCURRENCY: u32 = 64;

/// One HTTP callee. `Debug` shows header names only (values may be secrets).
#[derive(Debug, Clone)]
pub struct HttpCalleeConfig {
    /// JSON path of the entry (for logs and `check`).
    pub path: String,
    pub procedure: String,
    /// `match`: how the registration matches called procedures.
    pub policy: MatchPolicy,
    /// The request's URL (for `crossbar_rest`, the base URL that a call's `url` is joined to).
    pub url: Url,
    /// `method`: GET, POST (default), PUT, PATCH or DELETE (`crossbar_rest`: the call's).
    pub method: HttpMethod,
    /// `role`: the registration is made, and authorized, as this role.
    pub role: String,
    /// `headers`: name -> value (a value may be a `$VAR` secret), sent with every request.
    pub headers: Vec<(String, Secret)>,
    pub timeout: Duration,
    /// `on_timeout`: the ERROR a caller gets when the HTTP server does not answer in time.
    pub on_timeout: OnTimeout,
    /// `body`: how an invocation becomes a request and a response a result.
    pub mapping: RequestMapping,
    pub max_response_bytes: usize,
    /// `concurrency`: invocations in flight at once (the registration's `concurrency`).
    pub concurrency: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub const NAMES: [&'static str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    pub fn from_name(name: &str) -> Option<HttpMethod> {
        Some(match name {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// GET and DELETE carry no body: the call's kwargs become query parameters.
    pub fn has_body(self) -> bool {
        !matches!(self, HttpMethod::Get | HttpMethod::Delete)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// `wamp.error.timeout` (default).
    Timeout,
    /// `wamp.error.canceled`.
    Canceled,
}

/// `body`: what the request carries and how the response answers the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestMapping {
    /// `"payload"` (default): `{"procedure", "args", "kwargs"}`.
    Payload,
    /// `"kwargs"`: the call's kwargs object.
    Kwargs,
    /// `"args0"`: the call's first positional argument.
    Args0,
    /// Crossbar's RESTCallee contract (a `container` component, not written in `http_callees`):
    /// the call's kwargs `method`, `url`, `body`, `headers`, `params` describe the request;
    /// every response is a RESULT `{"code", "content", "headers"}`.
    CrossbarRest,
}

impl RequestMapping {
    /// The `body` value (`crossbar-rest` is not written in config: it names the Crossbar mode).
    pub fn name(self) -> &'static str {
        match self {
            RequestMapping::Payload => "payload",
            RequestMapping::Kwargs => "kwargs",
            RequestMapping::Args0 => "args0",
            RequestMapping::CrossbarRest => "crossbar-rest",
        }
    }
}

/// A Crossbar `RESTCallee` component taken from a container worker while loading, waiting for
/// its realm and role (see `config/crossbar_rest_callee.rs`).
#[derive(Debug, Clone)]
pub struct PendingRestCallee {
    pub realm: String,
    /// The TCP port of the component's `transport.endpoint`, if written.
    pub port: Option<u16>,
    /// A router worker's component: its `role` (`anonymous` when it names none); a
    /// container's: `None`, the role comes from `port`.
    pub role: Option<String>,
    /// `role` empty until placed.
    pub callee: HttpCalleeConfig,
}
