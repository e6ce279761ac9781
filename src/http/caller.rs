//! The caller path (`"type": "caller"`): a POST of `{"procedure", "args", "kwargs"}` becomes
//! one call by a one-shot internal session; the answer is `{"args", "kwargs"}` (empty parts
//! left out) or a WAMP error body. A call never hangs: after the path's `timeout` it is
//! answered with `wamp.error.timeout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use crate::config::CallerService;
use crate::http::bridge::Bridge;
use crate::http::requester::Requester;
use crate::http::response::{self, HttpResponse};
use crate::router::Router;
use crate::router::internal::{self, CallOutcome};
use crate::router::realm::Realm;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, List, Value};

pub struct CallerPath {
    bridge: Bridge,
    realm: Arc<Realm>,
    role: String,
    authid: String,
    timeout: Duration,
}

impl CallerPath {
    pub fn new(path: &str, service: &CallerService, router: &Router) -> Option<CallerPath> {
        Some(CallerPath {
            bridge: Bridge::new(path, service.options.clone()),
            realm: router.realm(&service.realm)?,
            role: service.role.clone(),
            authid: format!("http-caller:{path}"),
            timeout: service.timeout,
        })
    }

    pub async fn handle(&self, req: Request<Incoming>, requester: Requester) -> HttpResponse {
        let started = Instant::now();
        let request = match self
            .bridge
            .accept_request(req, requester, "procedure")
            .await
        {
            Ok(request) => request,
            Err(response) => {
                self.bridge.answered(requester, started, &response, None);
                return response;
            }
        };
        let origin = request.origin.as_ref();
        let outcome = internal::call(
            &self.realm,
            &self.role,
            &self.authid,
            &request.uri,
            request.payload,
            self.timeout,
        )
        .await;
        let response = match outcome {
            CallOutcome::Result(payload) => {
                response::json(StatusCode::OK, &result_body(&payload), origin)
            }
            CallOutcome::Error { error, payload } => {
                let args = Value::List(payload.args.unwrap_or_default());
                let kwargs = Value::Dict(payload.kwargs.unwrap_or_else(Dict::new));
                self.bridge.wamp_error(&error, args, kwargs, origin)
            }
        };
        let procedure = Some(("procedure", request.uri.as_str()));
        self.bridge
            .answered(requester, started, &response, procedure);
        response
    }
}

/// `{"args": [...], "kwargs": {...}}` without the empty parts.
#[derive(serde::Serialize)]
struct ResultBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<&'a List>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kwargs: Option<&'a Dict>,
}

fn result_body(payload: &Payload) -> ResultBody<'_> {
    ResultBody {
        args: payload.args.as_ref().filter(|a| !a.is_empty()),
        kwargs: payload.kwargs.as_ref().filter(|k| !k.is_empty()),
    }
}
