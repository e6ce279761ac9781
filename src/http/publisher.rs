//! The publisher path (`"type": "publisher"`, alias `"pusher"`): a POST of
//! `{"topic", "args", "kwargs", "options"}` becomes one publication by the path's internal
//! session; the answer is `{"id": <publication id>}` with the path's success status.

use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::config::PublisherService;
use crate::http::bridge::Bridge;
use crate::http::requester::Requester;
use crate::http::response::{self, HttpResponse};
use crate::router::Router;
use crate::router::internal::InternalPublisher;
use crate::wamp::error as uri_error;

pub struct PublisherPath {
    bridge: Bridge,
    publisher: InternalPublisher,
}

impl PublisherPath {
    /// `None` when the configured realm does not exist (config validation prevents that).
    pub fn new(path: &str, service: &PublisherService, router: &Router) -> Option<PublisherPath> {
        let realm = router.realm(&service.realm)?;
        Some(PublisherPath {
            bridge: Bridge::new(path, service.options.clone()),
            publisher: InternalPublisher::new(
                realm,
                &service.role,
                &format!("http-publisher:{path}"),
            ),
        })
    }

    pub async fn handle(&self, req: Request<Incoming>, requester: Requester) -> HttpResponse {
        let started = Instant::now();
        let request = match self.bridge.accept_request(req, requester, "topic").await {
            Ok(request) => request,
            Err(response) => {
                self.bridge.answered(requester, started, &response, None);
                return response;
            }
        };
        let origin = request.origin.as_ref();
        let response =
            match self
                .publisher
                .publish(&request.options, &request.uri, &request.payload)
            {
                Ok(id) => {
                    let status = StatusCode::from_u16(self.bridge.options.success_status)
                        .unwrap_or(StatusCode::ACCEPTED);
                    response::json(status, &json!({ "id": id }), origin)
                }
                // A malformed option is the request's fault, not a WAMP outcome.
                Err(e) if e.uri == uri_error::PROTOCOL_VIOLATION => {
                    response::error(StatusCode::BAD_REQUEST, &e.message, origin)
                }
                Err(e) => self.bridge.wamp_error_of(&e, origin),
            };
        let topic = Some(("topic", request.uri.as_str()));
        self.bridge.answered(requester, started, &response, topic);
        response
    }
}
