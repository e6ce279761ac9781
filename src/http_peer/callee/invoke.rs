//! One HTTP callee answering one invocation: the request (by the callee's mapping), sent
//! within `timeout`, the answer read up to `max_response_bytes` and turned into the RESULT or
//! ERROR; counted by outcome with its duration.

use std::sync::Arc;
use std::time::Instant;

use crate::config::model::{HttpCalleeConfig, RequestMapping};
use crate::http_peer::callee::failure::{self, Failure};
use crate::http_peer::callee::stats::{CalleeStats, Outcome};
use crate::http_peer::callee::{crossbar_rest, request, response};
use crate::router::internal::{CallOutcome, InternalInvocation};
use crate::wamp::message::Payload;

pub struct Callee {
    pub config: HttpCalleeConfig,
    client: reqwest::Client,
    stats: Arc<CalleeStats>,
    /// The configured URL as errors show it (no query, no user info).
    shown_url: String,
}

impl Callee {
    pub fn new(realm: &str, config: HttpCalleeConfig, client: reqwest::Client) -> Callee {
        Callee {
            stats: crate::http_peer::callee::stats::for_callee(realm, &config.procedure),
            shown_url: failure::shown_url(&config.url),
            config,
            client,
        }
    }

    pub async fn invoke(&self, invocation: InternalInvocation) -> CallOutcome {
        let mut timing = Timing {
            stats: &self.stats,
            started: Instant::now(),
            outcome: Outcome::Canceled,
        };
        let timeout = self.config.timeout;
        let answer = match tokio::time::timeout(timeout, self.exchange(&invocation)).await {
            Ok(answer) => answer,
            Err(_) => Err(Failure::Timeout(timeout, self.config.on_timeout)),
        };
        match answer {
            Ok(result) => {
                timing.outcome = Outcome::Result;
                CallOutcome::Result(result)
            }
            Err(failure) => {
                timing.outcome = failure.outcome();
                let outcome = failure.into_call_outcome(&self.shown_url);
                if let CallOutcome::Error { error, .. } = &outcome {
                    tracing::debug!(
                        procedure = %crate::log_text::peer_text(&invocation.called),
                        reason = %error,
                        url = %self.shown_url,
                        "http callee: the call fails"
                    );
                }
                outcome
            }
        }
    }

    /// The request and its whole answer.
    async fn exchange(&self, invocation: &InternalInvocation) -> Result<Payload, Failure> {
        let crossbar = self.config.mapping == RequestMapping::CrossbarRest;
        let request = if crossbar {
            crossbar_rest::build(&self.client, &self.config, invocation)?
        } else {
            request::build(&self.client, &self.config, invocation)?
        };
        let answer = request.send().await.map_err(|e| failure::unreachable(&e))?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let content_type = response::content_type(&answer);
        let body = response::read_body(answer, self.config.max_response_bytes).await?;
        if crossbar {
            return Ok(crossbar_rest::result(status.as_u16(), &headers, &body));
        }
        let value = response::body_value(content_type.as_deref(), &body);
        if !status.is_success() {
            let body = value.unwrap_or(crate::wamp::value::Value::Null);
            return Err(Failure::HttpStatus(status.as_u16(), body));
        }
        Ok(Payload {
            args: value.map(|v| vec![v]),
            kwargs: None,
        })
    }
}

/// Counts an invocation when it ends, also when its task is dropped by an INTERRUPT (then as
/// `canceled`).
struct Timing<'a> {
    stats: &'a CalleeStats,
    started: Instant,
    outcome: Outcome,
}

impl Drop for Timing<'_> {
    fn drop(&mut self) {
        self.stats.record(self.outcome, self.started.elapsed());
    }
}
