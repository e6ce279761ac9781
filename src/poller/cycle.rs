//! One poll cycle of a topic (README.md, "http-poller topics", "Each poll"): the URL with
//! computed query parameters, the request(s) with retries and OAuth2, pages followed and
//! merged, the merged payload limit, `payloadPointer`, the `transform`. What to publish is
//! [`change`](super::change)'s business; publishing and persisting are the runner's.
//!
//! A [`Cycle`] is built once per topic definition and run once per tick. The instant `now`
//! and the last success are passed in, so tests drive computed parameters without a clock.
//!
//! Conditional requests (`If-None-Match` / `If-Modified-Since`) are sent only for topics
//! without pagination: a 304 on the first page says nothing about the others.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use serde_json::Value;

use crate::config::topic::{ComputedParameter, Pagination, TopicConfig, Transform, redact_url};
use crate::poller::fetch::{FetchError, Fetched, Fetcher, PollRequest, Sleeper, Validators, codes};
use crate::poller::oauth2::TokenSource;
use crate::poller::pagination::{self, Paginator};
use crate::poller::query::{self, ReferenceInstant};
use crate::poller::retry::RetryPolicy;
use crate::poller::select;

/// Junction's error codes for what Streams has no code for.
pub mod junction_codes {
    /// `payloadPointer` does not resolve in the response.
    pub const POINTER: u32 = 70_020;
    /// The `transform` failed on this payload.
    pub const TRANSFORM: u32 = 70_021;
    /// Pagination failed: a next reference seen twice, more than `maxPages` pages, or an
    /// unusable next reference.
    pub const PAGINATION: u32 = 70_022;
}

/// The payload of a successful cycle.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// 304 to a conditional request: unchanged.
    NotModified,
    /// The body as received, to be parsed by the change tracker (which keeps it and compares
    /// the next body with it, so an identical body is detected without parsing). Used when the
    /// body is the payload: one page, no pointer, no transform.
    Raw(Bytes),
    /// The selected, merged or transformed payload.
    Value(Value),
}

/// Why a cycle failed: the code and message of the error event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleError {
    pub code: u32,
    pub message: String,
}

impl From<FetchError> for CycleError {
    fn from(e: FetchError) -> Self {
        CycleError {
            code: e.code,
            message: e.message,
        }
    }
}

/// What one cycle did, for the poll record and the next cycle.
#[derive(Debug)]
pub struct CycleReport {
    /// The first request's URL, secrets redacted (see [`redact_url`]).
    pub url: String,
    /// Status of the last response, `None` when none arrived.
    pub status: Option<u16>,
    /// Requests sent, retries and pages included.
    pub attempts: u32,
    /// Body bytes received.
    pub bytes: u64,
    /// Validators to send next time (kept from `previous` when the response had none).
    pub validators: Validators,
    pub result: Result<Payload, CycleError>,
}

/// A topic's poll, ready to run.
pub struct Cycle {
    base_url: String,
    polling_period: Duration,
    computed: Vec<ComputedParameter>,
    request: PollRequest,
    policy: RetryPolicy,
    pagination: Option<Pagination>,
    payload_pointer: Option<String>,
    transform: Option<Arc<Transform>>,
    fetcher: Fetcher,
}

impl Cycle {
    /// Builds the cycle of `topic`. Fails only when the HTTP client cannot be built or the
    /// transform does not compile (both checked at load already).
    pub fn new(topic: &TopicConfig) -> Result<Cycle, CycleError> {
        let fetcher = Fetcher::new(topic.poller.timeout)?;
        Cycle::with_fetcher(topic, fetcher)
    }

    /// As [`Cycle::new`] with a given fetcher (tests share one client).
    pub fn with_fetcher(topic: &TopicConfig, fetcher: Fetcher) -> Result<Cycle, CycleError> {
        let config = &topic.poller;
        let auth = config
            .authorization
            .as_ref()
            .map(|a| Arc::new(TokenSource::new(a.clone(), fetcher.client().clone())));
        let transform = match &config.transform {
            Some(filter) => Some(Arc::new(Transform::compile(filter).map_err(|e| {
                CycleError {
                    code: junction_codes::TRANSFORM,
                    message: e.to_string(),
                }
            })?)),
            None => None,
        };
        Ok(Cycle {
            base_url: config.url.to_string(),
            polling_period: config.polling_period,
            computed: config.computed_query_parameters.clone(),
            request: PollRequest {
                url: String::new(),
                headers: config.headers.clone(),
                auth,
                payload_limit: config.payload_limit,
            },
            policy: RetryPolicy {
                retry_on: config.retry_on_http_codes.clone(),
                max_attempts: config.retry_max_attempts,
                initial: config.retry_backoff_initial,
                max: config.retry_backoff_max,
                factor: config.retry_backoff_factor,
            },
            pagination: config.pagination.clone(),
            payload_pointer: config.payload_pointer.clone().filter(|p| !p.is_empty()),
            transform,
            fetcher,
        })
    }

    /// The URL for a cycle starting at `now`, computed parameters filled in (pagination adds
    /// its parameters to this for the first page).
    pub fn url(&self, now: Timestamp, last_success: Option<Timestamp>) -> Result<String, String> {
        let reference = match last_success {
            Some(instant) => ReferenceInstant::LastSuccess(instant),
            None => ReferenceInstant::BeforeFirstSuccess {
                fallback: now
                    .checked_sub(self.polling_period)
                    .unwrap_or(Timestamp::UNIX_EPOCH),
            },
        };
        query::build_url(&self.base_url, &self.computed, reference, &[]).map_err(|e| e.to_string())
    }

    /// Runs one cycle starting at `now`.
    pub async fn run(
        &self,
        now: Timestamp,
        last_success: Option<Timestamp>,
        previous: &Validators,
        sleeper: &dyn Sleeper,
    ) -> CycleReport {
        let mut report = CycleReport {
            url: redact_url(&self.base_url),
            status: None,
            attempts: 0,
            bytes: 0,
            validators: previous.clone(),
            result: Ok(Payload::NotModified),
        };
        let url = match self.url(now, last_success) {
            Ok(url) => url,
            Err(message) => {
                report.result = Err(CycleError {
                    code: codes::HTTP_BASE,
                    message,
                });
                return report;
            }
        };
        report.url = redact_url(&url);
        report.result = match &self.pagination {
            None => self.single(url, previous, sleeper, &mut report).await,
            Some(p) => self.paged(url, p, sleeper, &mut report).await,
        };
        report
    }

    async fn single(
        &self,
        url: String,
        previous: &Validators,
        sleeper: &dyn Sleeper,
        report: &mut CycleReport,
    ) -> Result<Payload, CycleError> {
        let fetched = self.fetch(url, previous, sleeper, report).await?;
        if fetched.not_modified {
            // A 304 may carry fresh validators; keep the old ones where it sends none.
            if fetched.etag.is_some() {
                report.validators.etag = fetched.etag.clone();
            }
            if fetched.last_modified.is_some() {
                report.validators.last_modified = fetched.last_modified.clone();
            }
            return Ok(Payload::NotModified);
        }
        report.validators = Validators {
            etag: fetched.etag.clone(),
            last_modified: fetched.last_modified.clone(),
        };
        if self.payload_pointer.is_none() && self.transform.is_none() {
            return Ok(Payload::Raw(fetched.body));
        }
        let body = parse(&fetched.body)?;
        let selected = match &self.payload_pointer {
            Some(pointer) => select::select_owned(body, pointer).map_err(|e| CycleError {
                code: junction_codes::POINTER,
                message: format!("payloadPointer: {e}"),
            })?,
            None => body,
        };
        self.transformed(selected).await
    }

    async fn paged(
        &self,
        url: String,
        pagination: &Pagination,
        sleeper: &dyn Sleeper,
        report: &mut CycleReport,
    ) -> Result<Payload, CycleError> {
        let pagination_error = |e: pagination::PaginationError| CycleError {
            code: junction_codes::PAGINATION,
            message: e.to_string(),
        };
        let mut paginator = Paginator::new(
            pagination.kind.clone(),
            pagination.next_reference.clone(),
            pagination.max_pages as usize,
        );
        let first = paginator.first_request(&url).map_err(pagination_error)?;
        report.url = redact_url(&first.url);
        let mut next = Some(first);
        let mut pages = Vec::new();
        let mut total = 0usize;
        while let Some(page) = next.take() {
            let fetched = self
                .fetch(page.url.clone(), &Validators::default(), sleeper, report)
                .await?;
            total += fetched.body.len();
            if total > self.request.payload_limit {
                return Err(CycleError {
                    code: codes::PAYLOAD_TOO_LARGE,
                    message: format!(
                        "payload over the limit of {} bytes after {} pages",
                        self.request.payload_limit,
                        pages.len() + 1
                    ),
                });
            }
            let body = parse(&fetched.body)?;
            let empty = page_is_empty(&body, self.payload_pointer.as_deref());
            next = paginator
                .next(&page.url, &body, fetched.link_header.as_deref(), empty)
                .map_err(pagination_error)?;
            pages.push(body);
        }
        let merged =
            pagination::merge(pages, self.payload_pointer.as_deref()).map_err(|e| CycleError {
                code: junction_codes::POINTER,
                message: format!("payloadPointer: {e}"),
            })?;
        self.transformed(merged).await
    }

    /// One request (with its retries), counted in `report` whether it succeeds or not.
    async fn fetch(
        &self,
        url: String,
        validators: &Validators,
        sleeper: &dyn Sleeper,
        report: &mut CycleReport,
    ) -> Result<Fetched, CycleError> {
        let request = PollRequest {
            url,
            ..self.request.clone()
        };
        match self
            .fetcher
            .fetch(&request, &self.policy, sleeper, validators)
            .await
        {
            Ok(fetched) => {
                report.status = Some(fetched.status);
                report.attempts += fetched.attempts;
                report.bytes += fetched.body.len() as u64;
                Ok(fetched)
            }
            Err(e) => {
                report.status = e.status;
                report.attempts += e.attempts;
                Err(e.into())
            }
        }
    }

    /// Applies the transform, on a blocking thread (jaq cannot be interrupted).
    async fn transformed(&self, payload: Value) -> Result<Payload, CycleError> {
        let Some(transform) = &self.transform else {
            return Ok(Payload::Value(payload));
        };
        let transform = Arc::clone(transform);
        let result = tokio::task::spawn_blocking(move || transform.apply(payload))
            .await
            .map_err(|e| CycleError {
                code: junction_codes::TRANSFORM,
                message: format!("transform did not finish: {e}"),
            })?;
        result.map(Payload::Value).map_err(|e| CycleError {
            code: junction_codes::TRANSFORM,
            message: e.to_string(),
        })
    }
}

fn parse(body: &[u8]) -> Result<Value, CycleError> {
    serde_json::from_slice(body).map_err(|e| CycleError {
        code: codes::NOT_JSON,
        message: format!("payload is not JSON: {e}"),
    })
}

/// A page whose selected part is an empty array (or missing, or null) ends pagination.
fn page_is_empty(body: &Value, pointer: Option<&str>) -> bool {
    let selected = match pointer {
        Some(p) => body.pointer(p),
        None => Some(body),
    };
    match selected {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_pages() {
        let body = serde_json::json!({"items": [], "other": [1]});
        assert!(page_is_empty(&body, Some("/items")));
        assert!(!page_is_empty(&body, Some("/other")));
        assert!(page_is_empty(&body, Some("/missing")));
        assert!(!page_is_empty(&body, None));
        assert!(page_is_empty(&serde_json::json!([]), None));
    }
}
