//! One attempt to deliver a body: the request (method, JSON content type, configured headers,
//! signature) and what its outcome means for the forwarder: delivered, worth retrying (no
//! connection, a timeout, 408, 429, 5xx, with any `Retry-After`), or given up at once (any
//! other status: the endpoint answered and refused).

use std::error::Error as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::config::model::{HttpSubscriberConfig, SubscriberMethod};
use crate::http_peer::subscriber::signature;

/// How one attempt ended.
#[derive(Debug, PartialEq)]
pub enum Attempt {
    Delivered,
    /// Try again later; `retry_after` is the endpoint's `Retry-After`, uncapped.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The endpoint answered with a status that will not change by asking again.
    Refused {
        reason: String,
    },
}

/// The most of an answer's body read (so the connection can be reused); the rest is dropped.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Sends `body` once.
pub async fn send(client: &reqwest::Client, config: &HttpSubscriberConfig, body: Bytes) -> Attempt {
    let method = match config.method {
        SubscriberMethod::Post => reqwest::Method::POST,
        SubscriberMethod::Put => reqwest::Method::PUT,
    };
    let mut request = client
        .request(method, config.url.expose())
        .header(CONTENT_TYPE, "application/json");
    for (name, value) in &config.headers {
        request = request.header(name.as_str(), value.expose());
    }
    if let Some(secret) = &config.signature {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        request = request.header(
            signature::HEADER,
            signature::sign(secret.expose(), t, &body),
        );
    }
    let mut response = match request.body(body).send().await {
        Ok(response) => response,
        Err(e) => {
            return Attempt::Retry {
                reason: reason(e),
                retry_after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::backoff::retry_after(v, SystemTime::now()));
    let mut read = 0;
    while read < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    classify(status, config.expected_status, retry_after)
}

/// What `status` means: `expected` (Crossbar's `expectedcode`) or else any 2xx is delivered.
pub fn classify(status: u16, expected: Option<u16>, retry_after: Option<Duration>) -> Attempt {
    let delivered = match expected {
        Some(code) => status == code,
        None => (200..300).contains(&status),
    };
    if delivered {
        return Attempt::Delivered;
    }
    let reason = format!("the endpoint answered {status}");
    if status == 408 || status == 429 || (500..600).contains(&status) {
        Attempt::Retry {
            reason,
            retry_after,
        }
    } else {
        Attempt::Refused { reason }
    }
}

/// Why a request failed, without its URL (a query string may hold a secret).
fn reason(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut text = if timeout {
        "no answer within the timeout".to_owned()
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_delivered_retried_or_refused() {
        let soon = Some(Duration::from_secs(2));
        assert_eq!(classify(204, None, None), Attempt::Delivered);
        assert_eq!(
            classify(200, Some(202), None),
            Attempt::Refused {
                reason: "the endpoint answered 200".into()
            }
        );
        assert_eq!(classify(202, Some(202), None), Attempt::Delivered);
        for status in [408, 429, 500, 503] {
            assert!(
                matches!(classify(status, None, soon), Attempt::Retry { retry_after, .. } if retry_after == soon)
            );
        }
        for status in [301, 400, 401, 404, 422] {
            assert!(matches!(
                classify(status, None, None),
                Attempt::Refused { .. }
            ));
        }
    }
}
