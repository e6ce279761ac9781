//! `realms[].http_subscribers[]`: topics whose events an internal session forwards to a URL
//! (README.md, "HTTP subscriber"). Checked here so that `junction check` catches every mistake
//! with its JSON path; the Crossbar `MessageForwarder` component builds the same model
//! (`config::crossbar_rest`).

use std::time::Duration;

use crate::config::auth::secret;
use crate::config::error::ConfigError;
use crate::config::loader::Loader;
use crate::config::model::{
    Batching, BodyShape, DEFAULT_BATCH_DELAY, DEFAULT_BATCH_EVENTS, DEFAULT_SUBSCRIBER_ATTEMPTS,
    DEFAULT_SUBSCRIBER_INITIAL_DELAY, DEFAULT_SUBSCRIBER_MAX_DELAY, DEFAULT_SUBSCRIBER_QUEUE,
    DEFAULT_SUBSCRIBER_TIMEOUT, HttpSubscriberConfig, RoleConfig, SubscriberMethod,
    SubscriberRetry, TRUSTED_ROLE,
};
use crate::config::node::{Node, Obj, Result};
use crate::config::secret::Secret;
use crate::wamp::uri::{self, MatchPolicy};

/// Largest `queue` (events held in memory per subscriber).
const MAX_QUEUE: u64 = 10_000_000;
/// Largest `batch.max_events`.
const MAX_BATCH_EVENTS: u64 = 100_000;
/// Largest `retry.max_attempts`.
const MAX_ATTEMPTS: u64 = 1_000;
/// Longest `timeout` and `retry.max_delay`, in seconds (one hour).
const MAX_SECONDS: f64 = 3_600.0;

/// The realm's `http_subscribers` list; names unique in the realm.
pub(crate) fn load_http_subscribers(
    list: &Node,
    roles: &[RoleConfig],
    strict: bool,
    cx: &Loader,
) -> Result<Vec<HttpSubscriberConfig>> {
    let mut loaded: Vec<HttpSubscriberConfig> = Vec::new();
    for item in list.array()? {
        let subscriber = load_one(&item, roles, strict, cx)?;
        if loaded.iter().any(|s| s.name == subscriber.name) {
            return Err(ConfigError::new(
                format!("{}.name", item.path),
                format!(
                    "http subscriber \"{}\" is defined twice in this realm",
                    subscriber.name
                ),
            ));
        }
        loaded.push(subscriber);
    }
    Ok(loaded)
}

fn load_one(
    node: &Node,
    roles: &[RoleConfig],
    strict: bool,
    cx: &Loader,
) -> Result<HttpSubscriberConfig> {
    let obj = node.object()?;
    obj.only(&[
        "name",
        "topic",
        "match",
        "url",
        "method",
        "role",
        "headers",
        "timeout",
        "retry",
        "signature",
        "batch",
        "queue",
    ])?;
    let role_node = obj.required("role")?;
    let role = check_role(&role_node, role_node.non_empty_str()?, roles)?;
    let policy = match_policy(&obj)?;
    let topic = topic(&obj.required("topic")?, policy, strict)?;
    let url = url(&obj.required("url")?, cx)?;
    let name = match obj.get("name") {
        Some(name) => name.non_empty_str()?.to_owned(),
        None => node.path.clone(),
    };
    let mut subscriber = HttpSubscriberConfig::new(&node.path, name, topic, policy, url, role);
    subscriber.method = match obj.opt("method", |n| n.one_of(&["POST", "PUT"]))? {
        Some("PUT") => SubscriberMethod::Put,
        _ => SubscriberMethod::Post,
    };
    if let Some(headers) = obj.get("headers") {
        subscriber.headers = load_headers(&headers, cx)?;
    }
    if let Some(timeout) = obj.get("timeout") {
        subscriber.timeout = seconds(&timeout)?;
    }
    if let Some(retry) = obj.get("retry") {
        subscriber.retry = load_retry(&retry.object()?)?;
    }
    if let Some(signature) = obj.get("signature") {
        let signature = signature.object()?;
        signature.only(&["secret"])?;
        subscriber.signature = Some(secret(&signature.required("secret")?, cx)?);
    }
    if let Some(batch) = obj.get("batch") {
        subscriber.batch = Some(load_batch(&batch.object()?)?);
    }
    if let Some(queue) = obj.get("queue") {
        subscriber.queue = queue.u64_in(1, MAX_QUEUE)? as usize;
    }
    Ok(subscriber)
}

impl HttpSubscriberConfig {
    /// A subscriber with every optional key at its default.
    pub(crate) fn new(
        path: &str,
        name: String,
        topic: String,
        policy: MatchPolicy,
        url: (Secret, String),
        role: String,
    ) -> Self {
        HttpSubscriberConfig {
            path: path.to_owned(),
            name,
            topic,
            policy,
            url: url.0,
            url_shown: url.1,
            method: SubscriberMethod::Post,
            role,
            headers: Vec::new(),
            timeout: DEFAULT_SUBSCRIBER_TIMEOUT,
            retry: SubscriberRetry {
                max_attempts: DEFAULT_SUBSCRIBER_ATTEMPTS,
                initial_delay: DEFAULT_SUBSCRIBER_INITIAL_DELAY,
                max_delay: DEFAULT_SUBSCRIBER_MAX_DELAY,
            },
            signature: None,
            batch: None,
            queue: DEFAULT_SUBSCRIBER_QUEUE,
            body: BodyShape::Junction,
            expected_status: None,
        }
    }
}

/// `role`: one of the realm's roles (or the built-in `trusted`), with permissions: the
/// subscription is authorized at start, before any authorizer could be registered.
pub(crate) fn check_role(node: &Node, role: &str, roles: &[RoleConfig]) -> Result<String> {
    match roles.iter().find(|r| r.name == role) {
        None if role == TRUSTED_ROLE => Ok(role.to_owned()),
        None => Err(node.error(format!("role \"{role}\" is not defined in this realm"))),
        Some(r) if r.authorizer.is_some() => Err(node.error(format!(
            "role \"{role}\" is dynamically authorized (authorizer); an http subscriber needs a role with permissions"
        ))),
        Some(_) => Ok(role.to_owned()),
    }
}

/// `match`: exact (default), prefix or wildcard.
pub(crate) fn match_policy(obj: &Obj) -> Result<MatchPolicy> {
    Ok(
        match obj.opt("match", |n| n.one_of(&["exact", "prefix", "wildcard"]))? {
            Some("prefix") => MatchPolicy::Prefix,
            Some("wildcard") => MatchPolicy::Wildcard,
            _ => MatchPolicy::Exact,
        },
    )
}

/// `topic`: a URI (or pattern) valid under `policy` and the realm's `uri_check`.
pub(crate) fn topic(node: &Node, policy: MatchPolicy, strict: bool) -> Result<String> {
    let topic = node.str()?;
    if !uri::is_valid(topic, strict, policy) {
        return Err(node.error(format!(
            "\"{topic}\" is not a valid topic for match \"{}\"",
            policy.name()
        )));
    }
    Ok(topic.to_owned())
}

/// `url`: an absolute http(s) URL, or `$VAR` naming one. Returned as the secret and the form
/// shown in logs (no user info, query or fragment); the error never repeats the URL.
pub(crate) fn url(node: &Node, cx: &Loader) -> Result<(Secret, String)> {
    let written = secret(node, cx)?;
    let parsed = url::Url::parse(written.expose())
        .map_err(|e| node.error(format!("not a valid absolute URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(node.error("the URL must start with http:// or https://"));
    }
    let mut shown = parsed.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    Ok((written, shown.to_string()))
}

/// `headers`: name -> value (a `$VAR` secret or a literal); names and values must be valid in
/// HTTP. Values are never repeated in errors.
fn load_headers(node: &Node, cx: &Loader) -> Result<Vec<(String, Secret)>> {
    let mut headers = Vec::new();
    for (name, value) in node.object()?.entries() {
        if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(value.error("not a valid HTTP header name"));
        }
        let value_secret = secret(&value, cx)?;
        if hyper::header::HeaderValue::from_str(value_secret.expose()).is_err() {
            return Err(value.error("the value is not a valid HTTP header value"));
        }
        headers.push((name.to_owned(), value_secret));
    }
    Ok(headers)
}

/// `retry`: `max_attempts` (the first request included), `initial_delay` and `max_delay` in
/// seconds.
fn load_retry(obj: &Obj) -> Result<SubscriberRetry> {
    obj.only(&["max_attempts", "initial_delay", "max_delay"])?;
    let max_attempts = obj
        .opt("max_attempts", |n| n.u64_in(1, MAX_ATTEMPTS))?
        .map_or(DEFAULT_SUBSCRIBER_ATTEMPTS, |n| n as u32);
    let initial_delay = obj
        .opt("initial_delay", seconds)?
        .unwrap_or(DEFAULT_SUBSCRIBER_INITIAL_DELAY);
    let max_delay = obj
        .opt("max_delay", seconds)?
        .unwrap_or(DEFAULT_SUBSCRIBER_MAX_DELAY);
    if max_delay < initial_delay {
        return Err(obj.key_error("max_delay", "must not be less than initial_delay"));
    }
    Ok(SubscriberRetry {
        max_attempts,
        initial_delay,
        max_delay,
    })
}

/// `batch`: `max_events` (1..) and `max_delay_ms`.
fn load_batch(obj: &Obj) -> Result<Batching> {
    obj.only(&["max_events", "max_delay_ms"])?;
    let max_events = obj
        .opt("max_events", |n| n.u64_in(1, MAX_BATCH_EVENTS))?
        .map_or(DEFAULT_BATCH_EVENTS, |n| n as usize);
    let max_delay = obj
        .opt("max_delay_ms", |n| n.u64_in(0, 3_600_000))?
        .map_or(DEFAULT_BATCH_DELAY, Duration::from_millis);
    Ok(Batching {
        max_events,
        max_delay,
    })
}

/// A number of seconds (fractions allowed), greater than zero and at most an hour.
fn seconds(node: &Node) -> Result<Duration> {
    let secs = node.f64()?;
    if !(secs > 0.0 && secs <= MAX_SECONDS) {
        return Err(node.error(format!(
            "must be more than 0 and at most {MAX_SECONDS} seconds"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use crate::config::load::testing::{error, load, worker};

    fn realm(subscribers: &str) -> String {
        worker(
            &format!(
                r#"{{"name": "realm1", "roles": [{{"name": "anonymous", "permissions": [{{"uri": "", "match": "prefix", "allow": {{"subscribe": true}}}}]}},
                {{"name": "dyn", "authorizer": "com.auth"}}],
                "http_subscribers": [{subscribers}]}}"#
            ),
            "",
        )
    }

    const PATH: &str = "workers[0].realms[0].http_subscribers[0]";

    #[test]
    fn a_minimal_subscriber_gets_the_defaults() {
        let config = load(&realm(
            r#"{"topic": "com.a", "url": "http://u:p@127.0.0.1:9/hook?token=x#f", "role": "anonymous"}"#,
        ));
        let s = &config.workers[0].realms[0].http_subscribers[0];
        assert_eq!(s.name, PATH);
        assert_eq!(s.url_shown, "http://127.0.0.1:9/hook");
        assert_eq!(s.retry.max_attempts, 5);
        assert_eq!(s.queue, 10_000);
        assert!(s.batch.is_none());
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("token=x") && !debug.contains("u:p"),
            "{debug}"
        );
    }

    #[test]
    fn every_key_loads_and_secrets_stay_hidden() {
        let config = crate::config::load_str_with_env(
            &realm(
                r#"{"name": "orders", "topic": "com.", "match": "prefix", "url": "https://h/x",
                "method": "PUT", "role": "anonymous", "headers": {"Authorization": "$TOKEN"},
                "timeout": 2.5, "retry": {"max_attempts": 3, "initial_delay": 0.1, "max_delay": 1},
                "signature": {"secret": "$SECRET"}, "batch": {"max_events": 10}, "queue": 5}"#,
            ),
            &|name| Some(format!("value-of-{name}")),
        )
        .unwrap();
        let s = &config.workers[0].realms[0].http_subscribers[0];
        assert_eq!(s.name, "orders");
        assert_eq!(s.headers[0].1.expose(), "value-of-TOKEN");
        assert_eq!(s.signature.as_ref().unwrap().expose(), "value-of-SECRET");
        assert_eq!(s.batch.unwrap().max_events, 10);
        assert_eq!(s.batch.unwrap().max_delay.as_millis(), 50);
        assert_eq!(s.timeout.as_millis(), 2500);
        assert!(!format!("{config:?}").contains("value-of-"));
    }

    #[test]
    fn errors_name_the_json_path() {
        let cases = [
            (
                r#"{"topic": "com.a", "url": "http://h/"}"#,
                "role: required key is missing",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "nobody"}"#,
                "role: role \"nobody\" is not defined",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "dyn"}"#,
                "role: role \"dyn\" is dynamically authorized",
            ),
            (
                r#"{"topic": "com..a", "url": "http://h/", "role": "anonymous"}"#,
                "topic: \"com..a\" is not a valid topic",
            ),
            (
                r#"{"topic": "com.a", "url": "ftp://h/", "role": "anonymous"}"#,
                "url: the URL must start with http",
            ),
            (
                r#"{"topic": "com.a", "url": "nope?secret", "role": "anonymous"}"#,
                "url: not a valid absolute URL",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "method": "GET"}"#,
                "method: expected one of POST, PUT",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "match": "glob"}"#,
                "match: expected one of",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "retry": {"max_attempts": 0}}"#,
                "retry.max_attempts: 0 is out of range",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "retry": {"initial_delay": 2, "max_delay": 1}}"#,
                "retry.max_delay: must not be less",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "retry": {"tries": 2}}"#,
                "retry.tries: unknown key",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "timeout": 0}"#,
                "timeout: must be more than 0",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "batch": {"max_events": 0}}"#,
                "batch.max_events: 0 is out of range",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "queue": 0}"#,
                "queue: 0 is out of range",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "headers": {"X": "bad\nvalue"}}"#,
                "headers.X: the value is not a valid HTTP header value",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "signature": {}}"#,
                "signature.secret: required key is missing",
            ),
            (
                r#"{"topic": "com.a", "url": "http://h/", "role": "anonymous", "urls": []}"#,
                "urls: unknown key",
            ),
        ];
        for (json, expected) in cases {
            let message = error(&realm(json));
            assert!(
                message.starts_with(&format!("{PATH}.{expected}")),
                "{json}\n-> {message}"
            );
            assert!(!message.contains("bad\nvalue") && !message.contains("secret\""));
        }
        let twice = error(&realm(
            r#"{"name": "a", "topic": "com.a", "url": "http://h/", "role": "anonymous"},
               {"name": "a", "topic": "com.b", "url": "http://h/", "role": "anonymous"}"#,
        ));
        assert!(
            twice.starts_with("workers[0].realms[0].http_subscribers[1].name: http subscriber \"a\" is defined twice"),
            "{twice}"
        );
    }
}
