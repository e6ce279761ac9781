//! The client side of the publisher contract, for `junction publish`: the same request
//! `crossbarconnect` makes (compact JSON body, `timestamp` and `seq` query arguments, signed
//! when a key and secret are given), answered by `{"id": <publication id>}`.

use serde_json::{Map, Value as Json};

use crate::http::signature;

/// What to publish.
pub struct Event {
    pub topic: String,
    pub args: Vec<Json>,
    pub kwargs: Map<String, Json>,
}

impl Event {
    /// Compact JSON in crossbarconnect's order (topic, args, kwargs), empty parts left out.
    pub fn body(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            topic: &'a str,
            #[serde(skip_serializing_if = "<[Json]>::is_empty")]
            args: &'a [Json],
            #[serde(skip_serializing_if = "Map::is_empty")]
            kwargs: &'a Map<String, Json>,
        }
        let body = Body {
            topic: &self.topic,
            args: &self.args,
            kwargs: &self.kwargs,
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// A positional argument from the command line: JSON when it parses, else a string.
pub fn parse_arg(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned()))
}

/// POSTs `event` to `url`; returns the publication id or a message saying what went wrong.
pub async fn publish(
    url: &str,
    event: &Event,
    signing: Option<(&str, &str)>,
) -> Result<u64, String> {
    let body = event.body();
    let query = match signing {
        Some((key, secret)) => signature::signed_query(key, secret, 1, &body),
        None => signature::unsigned_query(1),
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let full_url = format!("{url}{separator}{query}");
    let client = reqwest::Client::builder()
        .user_agent(concat!("junction/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot create an HTTP client: {e}"))?;
    let response = client
        .post(&full_url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| request_failed(url, e))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    let answer: Json = serde_json::from_str(&text).unwrap_or(Json::String(text));
    match answer.get("id").and_then(Json::as_u64) {
        Some(id) if status.is_success() => Ok(id),
        _ => Err(format!("{status}: {answer}")),
    }
}

/// Why a request got no answer, in words, naming `url` as given (the full URL would carry the
/// signature).
fn request_failed(url: &str, e: reqwest::Error) -> String {
    if e.is_connect() {
        return format!(
            "cannot connect to {url}: is Junction running there? ({})",
            source_of(&e)
        );
    }
    format!("request to {url} failed: {}", e.without_url())
}

/// The innermost cause of `e` (reqwest's own text only says that sending failed).
fn source_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_compact_and_leaves_out_empty_parts() {
        let event = Event {
            topic: "com.t".into(),
            args: vec![parse_arg("1"), parse_arg("hello")],
            kwargs: Map::new(),
        };
        assert_eq!(event.body(), br#"{"topic":"com.t","args":[1,"hello"]}"#);
    }
}
