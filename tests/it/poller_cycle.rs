//! One http-poller cycle end to end (`junction::poller::cycle::Cycle`) against a real local
//! HTTP upstream whose answers each test scripts and changes: pagination in every mode,
//! OAuth2 client credentials, retries, conditional requests, computed query parameters,
//! `payloadPointer`, the payload limit, `transform` and redirects.
//!
//! Topics are built from Streams topic definitions with `parse_topic`; the cycle's `now` and
//! last success are passed explicitly and backoff waits go to a `RecordingSleeper`, so
//! nothing sleeps for real (except the OAuth2 expiry case, which waits about one second for a
//! short-lived token to expire on the real clock).

use crate::upstream;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use jiff::Timestamp;
use junction::config::topic::{TopicConfig, parse_topic};
use junction::poller::cycle::{Cycle, CycleError, CycleReport, Payload, junction_codes};
use junction::poller::fetch::{RecordingSleeper, Validators};
use serde_json::{Value, json};
use upstream::{Reply, Upstream};

const SECRET: &str = "s3cr&t/+=";
/// `urlencode("my client") ":" urlencode(SECRET)`, before base64 (RFC 6749 2.3.1).
const ENCODED_CREDENTIALS: &str = "my+client:s3cr%26t%2F%2B%3D";

fn topic(config: Value) -> TopicConfig {
    parse_topic(
        &json!({
            "name": "com.example.polled",
            "publisher": {"type": "http-poller", "config": config},
        }),
        "topic",
    )
    .unwrap()
}

fn cycle(config: Value) -> Cycle {
    Cycle::new(&topic(config)).unwrap()
}

fn at(instant: &str) -> Timestamp {
    instant.parse().unwrap()
}

/// The instant every cycle starts at unless a test says otherwise.
fn now() -> Timestamp {
    at("2024-01-02T03:04:05.678Z")
}

fn secs(n: f64) -> Duration {
    Duration::from_secs_f64(n)
}

/// A first cycle (no success yet, no validators) at [`now`].
async fn run(cycle: &Cycle, sleeper: &RecordingSleeper) -> CycleReport {
    cycle
        .run(now(), None, &Validators::default(), sleeper)
        .await
}

fn value(report: &CycleReport) -> Value {
    match &report.result {
        Ok(Payload::Value(v)) => v.clone(),
        other => panic!("expected Payload::Value, got {other:?} (report {report:?})"),
    }
}

fn error(report: &CycleReport) -> CycleError {
    match &report.result {
        Err(e) => e.clone(),
        Ok(payload) => panic!("expected an error, got {payload:?} (report {report:?})"),
    }
}

fn pagination_config(url: String, pointer: Option<&str>, pagination: Value) -> Value {
    let mut config = json!({"url": url, "pagination": pagination});
    if let Some(pointer) = pointer {
        config["payloadPointer"] = json!(pointer);
    }
    config
}

// ---------------------------------------------------------------------------------------------
// 1. Pagination
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn page_mode_with_a_body_value_counts_pages_from_the_initial_value() {
    let up = Upstream::start().await;
    up.route(
        "/items?p=0&size=2",
        vec![Reply::json(&json!({"items": [1, 2], "next": 1}))],
    )
    .route(
        "/items?p=1&size=2",
        vec![Reply::json(&json!({"items": [3, 4], "next": 2}))],
    )
    .route(
        "/items?p=2&size=2",
        vec![Reply::json(&json!({"items": [5], "next": null}))],
    );
    let cycle = cycle(pagination_config(
        up.url("/items"),
        Some("/items"),
        json!({
            "mode": "page",
            "page": {"parameterName": "p", "initial": 0},
            "pageSize": {"parameterName": "size", "value": 2},
            "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
        }),
    ));
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle, &sleeper).await;
    assert_eq!(value(&report), json!([1, 2, 3, 4, 5]));
    assert_eq!(
        up.uris_at("/items"),
        [
            "/items?p=0&size=2",
            "/items?p=1&size=2",
            "/items?p=2&size=2"
        ]
    );
    assert!(up.seen().iter().all(|s| s.method == "GET"));
    assert_eq!(report.attempts, 3);
    assert_eq!(report.status, Some(200));
    let page_bytes: u64 = [
        json!({"items": [1, 2], "next": 1}),
        json!({"items": [3, 4], "next": 2}),
        json!({"items": [5], "next": null}),
    ]
    .iter()
    .map(|v| v.to_string().len() as u64)
    .sum();
    assert_eq!(report.bytes, page_bytes);
}

#[tokio::test]
async fn page_mode_with_link_headers_uses_defaults_and_keeps_the_base_query() {
    let up = Upstream::start().await;
    let absolute_next = up.url("/list?lang=en&page=3");
    up.route(
        "/list?lang=en&page=1&pageSize=100",
        vec![
            Reply::json(&json!(["a", "b"])).header("Link", "</list?lang=en&page=2>; rel=\"next\""),
        ],
    )
    .route(
        "/list?lang=en&page=2&pageSize=100",
        vec![Reply::json(&json!(["c"])).header(
            "Link",
            format!("</list?lang=en&page=1>; rel=\"first\", <{absolute_next}>; rel=\"next\""),
        )],
    )
    .route(
        "/list?lang=en&page=3&pageSize=100",
        vec![Reply::json(&json!(["d"])).header("Link", "</list?lang=en&page=1>; rel=\"first\"")],
    );
    let cycle = cycle(pagination_config(
        up.url("/list?lang=en"),
        None,
        json!({"mode": "page", "nextReference": {"location": "header"}}),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    // Without payloadPointer the pages' top-level arrays are concatenated.
    assert_eq!(value(&report), json!(["a", "b", "c", "d"]));
    assert_eq!(
        up.uris_at("/list"),
        [
            "/list?lang=en&page=1&pageSize=100",
            "/list?lang=en&page=2&pageSize=100",
            "/list?lang=en&page=3&pageSize=100",
        ]
    );
    assert_eq!(report.attempts, 3);
}

#[tokio::test]
async fn offset_mode_with_a_body_value_adds_the_limit() {
    let up = Upstream::start().await;
    up.route(
        "/rows?offset=0&count=2",
        vec![Reply::json(
            &json!({"data": [{"n": 1}, {"n": 2}], "hasMore": true}),
        )],
    )
    .route(
        "/rows?offset=2&count=2",
        vec![Reply::json(
            &json!({"data": [{"n": 3}, {"n": 4}], "hasMore": true}),
        )],
    )
    .route(
        "/rows?offset=4&count=2",
        vec![Reply::json(&json!({"data": [{"n": 5}], "hasMore": false}))],
    );
    let cycle = cycle(pagination_config(
        up.url("/rows"),
        Some("/data"),
        json!({
            "mode": "offset",
            "offset": {"parameterName": "offset", "initial": 0},
            "limit": {"parameterName": "count", "value": 2},
            "nextReference": {"location": "body", "type": "value", "pointer": "/hasMore"},
        }),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(
        value(&report),
        json!([{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}])
    );
    assert_eq!(
        up.uris_at("/rows"),
        [
            "/rows?offset=0&count=2",
            "/rows?offset=2&count=2",
            "/rows?offset=4&count=2"
        ]
    );
}

#[tokio::test]
async fn offset_mode_with_link_headers_starts_at_the_default_offset_1() {
    let up = Upstream::start().await;
    up.route(
        "/rows?offset=1&limit=100",
        vec![
            Reply::json(&json!({"data": ["x"]})).header("Link", "</rows?offset=101>; rel=\"next\""),
        ],
    )
    .route(
        "/rows?offset=101&limit=100",
        // Only a `prev` link: no next page.
        vec![
            Reply::json(&json!({"data": ["y", "z"]}))
                .header("Link", "</rows?offset=1>; rel=\"prev\""),
        ],
    );
    let cycle = cycle(pagination_config(
        up.url("/rows"),
        Some("/data"),
        json!({"mode": "offset", "nextReference": {"location": "header"}}),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!(["x", "y", "z"]));
    assert_eq!(
        up.uris_at("/rows"),
        ["/rows?offset=1&limit=100", "/rows?offset=101&limit=100"]
    );
}

#[tokio::test]
async fn keyset_mode_sends_the_key_from_the_body_after_the_first_page() {
    let up = Upstream::start().await;
    up.route(
        "/events?pageSize=100",
        vec![Reply::json(
            &json!({"rows": [{"id": 1}, {"id": 2}], "meta": {"last": 2}}),
        )],
    )
    .route(
        "/events?after=2&pageSize=100",
        vec![Reply::json(
            &json!({"rows": [{"id": 3}], "meta": {"last": "id-3"}}),
        )],
    )
    .route(
        "/events?after=id-3&pageSize=100",
        vec![Reply::json(&json!({"rows": [{"id": 4}], "meta": {}}))],
    );
    let cycle = cycle(pagination_config(
        up.url("/events"),
        Some("/rows"),
        json!({
            "mode": "keyset",
            "key": {"parameterName": "after"},
            "nextReference": {"location": "body", "type": "value", "pointer": "/meta/last"},
        }),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(
        value(&report),
        json!([{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}])
    );
    assert_eq!(
        up.uris_at("/events"),
        [
            "/events?pageSize=100",
            "/events?after=2&pageSize=100",
            "/events?after=id-3&pageSize=100",
        ]
    );
}

#[tokio::test]
async fn cursor_mode_with_a_body_value_percent_encodes_the_cursor() {
    let up = Upstream::start().await;
    up.route(
        "/feed?per_page=50",
        vec![Reply::json(
            &json!({"entries": [1], "next_cursor": "a+b/c=="}),
        )],
    )
    .route(
        "/feed?cursor=a%2Bb%2Fc%3D%3D&per_page=50",
        vec![Reply::json(&json!({"entries": [2], "next_cursor": "x y"}))],
    )
    .route(
        "/feed?cursor=x+y&per_page=50",
        vec![Reply::json(&json!({"entries": [3], "next_cursor": ""}))],
    );
    let cycle = cycle(pagination_config(
        up.url("/feed"),
        Some("/entries"),
        json!({
            "mode": "cursor",
            "pageSize": {"parameterName": "per_page", "value": 50},
            "nextReference": {"location": "body", "type": "value", "pointer": "/next_cursor"},
        }),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!([1, 2, 3]));
    assert_eq!(
        up.uris_at("/feed"),
        [
            "/feed?per_page=50",
            "/feed?cursor=a%2Bb%2Fc%3D%3D&per_page=50",
            "/feed?cursor=x+y&per_page=50",
        ]
    );
}

#[tokio::test]
async fn cursor_mode_with_a_body_uri_follows_relative_and_absolute_uris() {
    let up = Upstream::start().await;
    let absolute = up.url("/other/feed?cursor=ghi");
    up.route(
        "/feed?pageSize=100",
        vec![Reply::json(
            &json!({"entries": [1], "links": {"next": "/feed?cursor=abc&pageSize=100"}}),
        )],
    )
    .route(
        "/feed?cursor=abc&pageSize=100",
        // Relative to the request's path.
        vec![Reply::json(
            &json!({"entries": [2, 3], "links": {"next": "feed?cursor=def"}}),
        )],
    )
    .route(
        "/feed?cursor=def",
        vec![Reply::json(
            &json!({"entries": [4], "links": {"next": absolute}}),
        )],
    )
    .route(
        "/other/feed?cursor=ghi",
        // A non-array selection becomes one element of the merged array.
        vec![Reply::json(
            &json!({"entries": {"id": 9}, "links": {"next": null}}),
        )],
    );
    let cycle = cycle(pagination_config(
        up.url("/feed"),
        Some("/entries"),
        json!({
            "mode": "cursor",
            "nextReference": {"location": "body", "type": "uri", "pointer": "/links/next"},
        }),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!([1, 2, 3, 4, {"id": 9}]));
    let uris: Vec<String> = up.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(
        uris,
        [
            "/feed?pageSize=100",
            "/feed?cursor=abc&pageSize=100",
            "/feed?cursor=def",
            "/other/feed?cursor=ghi",
        ]
    );
}

#[tokio::test]
async fn cursor_mode_with_link_headers_follows_relative_and_absolute_links() {
    let up = Upstream::start().await;
    let absolute = up.url("/stream/more?cursor=p3");
    up.route(
        "/stream?pageSize=10",
        // A query-only reference, relative to the request URL.
        vec![Reply::json(&json!([1, 2])).header("Link", "<?cursor=p2&pageSize=10>; rel=\"next\"")],
    )
    .route(
        "/stream?cursor=p2&pageSize=10",
        vec![Reply::json(&json!([3])).header("Link", format!("<{absolute}>; rel=next"))],
    )
    .route("/stream/more?cursor=p3", vec![Reply::json(&json!([4]))]);
    let cycle = cycle(pagination_config(
        up.url("/stream"),
        None,
        json!({
            "mode": "cursor",
            "pageSize": {"value": 10},
            "nextReference": {"location": "header"},
        }),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!([1, 2, 3, 4]));
    let uris: Vec<String> = up.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(
        uris,
        [
            "/stream?pageSize=10",
            "/stream?cursor=p2&pageSize=10",
            "/stream/more?cursor=p3",
        ]
    );
}

#[tokio::test]
async fn a_repeated_next_reference_is_a_pagination_loop() {
    let up = Upstream::start().await;
    // Cursor value: the second page gives the first page's cursor again.
    up.route(
        "/c?pageSize=100",
        vec![Reply::json(&json!({"items": [1], "next": "A"}))],
    )
    .route(
        "/c?cursor=A&pageSize=100",
        vec![Reply::json(&json!({"items": [2], "next": "A"}))],
    );
    let by_value = cycle(pagination_config(
        up.url("/c"),
        Some("/items"),
        json!({
            "mode": "cursor",
            "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
        }),
    ));
    let report = run(&by_value, &RecordingSleeper::new()).await;
    let e = error(&report);
    assert_eq!(e.code, junction_codes::PAGINATION);
    assert_eq!(e.code, 70_022);
    assert!(e.message.contains("loop"), "{}", e.message);
    assert_eq!(up.seen_at("/c").len(), 2);

    // Page mode with a Link header that always points at the same page.
    up.route(
        "/p",
        vec![Reply::json(&json!([1])).header("Link", "</p?page=2>; rel=\"next\"")],
    );
    let by_link = cycle(pagination_config(
        up.url("/p"),
        None,
        json!({"mode": "page", "nextReference": {"location": "header"}}),
    ));
    let report = run(&by_link, &RecordingSleeper::new()).await;
    let e = error(&report);
    assert_eq!(e.code, junction_codes::PAGINATION);
    assert!(e.message.contains("loop"), "{}", e.message);
    assert_eq!(
        up.uris_at("/p"),
        ["/p?page=1&pageSize=100", "/p?page=2&pageSize=100"]
    );
}

#[tokio::test]
async fn more_pages_than_max_pages_is_an_error_and_exactly_max_pages_is_fine() {
    let up = Upstream::start().await;
    for page in 1..=3 {
        let next = if page < 3 {
            json!(page + 1)
        } else {
            json!(null)
        };
        up.route(
            &format!("/n?page={page}&pageSize=100"),
            vec![Reply::json(&json!({"items": [page], "next": next}))],
        );
    }
    let config = |max_pages: u32| {
        pagination_config(
            up.url("/n"),
            Some("/items"),
            json!({
                "mode": "page",
                "maxPages": max_pages,
                "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
            }),
        )
    };
    let report = run(&cycle(config(2)), &RecordingSleeper::new()).await;
    let e = error(&report);
    assert_eq!(e.code, junction_codes::PAGINATION);
    assert!(e.message.contains("more than 2 pages"), "{}", e.message);
    assert_eq!(up.seen_at("/n").len(), 2, "page 3 is never requested");

    up.clear_seen();
    let report = run(&cycle(config(3)), &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!([1, 2, 3]));
    assert_eq!(up.seen_at("/n").len(), 3);
}

#[tokio::test]
async fn an_empty_page_stops_pagination() {
    let up = Upstream::start().await;
    up.route(
        "/e?page=1&pageSize=100",
        vec![Reply::json(&json!({"items": [1, 2], "next": 2}))],
    )
    .route(
        // Empty, although it names a next page.
        "/e?page=2&pageSize=100",
        vec![Reply::json(&json!({"items": [], "next": 3}))],
    )
    .route(
        "/e?page=3&pageSize=100",
        vec![Reply::json(&json!({"items": [3], "next": null}))],
    );
    let cycle = cycle(pagination_config(
        up.url("/e"),
        Some("/items"),
        json!({
            "mode": "page",
            "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
        }),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!([1, 2]));
    assert_eq!(
        up.uris_at("/e"),
        ["/e?page=1&pageSize=100", "/e?page=2&pageSize=100"]
    );
    assert_eq!(report.attempts, 2);

    // A top-level empty array (no pointer) stops as well.
    up.route(
        "/t",
        vec![Reply::json(&json!([])).header("Link", "</t?page=9>; rel=\"next\"")],
    )
    .route(
        "/t?page=1&pageSize=100",
        vec![Reply::json(&json!(["only"])).header("Link", "</t?page=2>; rel=\"next\"")],
    );
    let cycle = self::cycle(pagination_config(
        up.url("/t"),
        None,
        json!({"mode": "page", "nextReference": {"location": "header"}}),
    ));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!(["only"]));
    assert_eq!(
        up.uris_at("/t"),
        ["/t?page=1&pageSize=100", "/t?page=2&pageSize=100"]
    );
}

#[tokio::test]
async fn paged_topics_send_no_conditional_headers() {
    let up = Upstream::start().await;
    up.route(
        "/pc",
        vec![Reply::json(&json!([1])).header("ETag", "\"page-etag\"")],
    );
    let cycle = cycle(pagination_config(
        up.url("/pc"),
        None,
        json!({"mode": "page", "nextReference": {"location": "header"}}),
    ));
    let previous = Validators {
        etag: Some("\"old\"".into()),
        last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
    };
    let report = cycle
        .run(now(), None, &previous, &RecordingSleeper::new())
        .await;
    assert_eq!(value(&report), json!([1]));
    let seen = up.seen_at("/pc");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[0].header("if-modified-since"), None);
}

/// `CycleReport.url` is documented as "the first request's URL": for a paged topic that
/// request carries the first page's parameters.
#[tokio::test]
async fn report_url_is_the_first_request_url() {
    let up = Upstream::start().await;
    up.route("/single", vec![Reply::json(&json!({"a": 1}))])
        .route("/paged", vec![Reply::json(&json!([1]))]);

    let single = cycle(json!({
        "url": up.url("/single?lang=en"),
        "computedQueryParameters": {"since": {"type": "timestamp"}},
    }));
    let report = run(&single, &RecordingSleeper::new()).await;
    assert!(report.result.is_ok(), "{report:?}");
    let first = up.seen_at("/single")[0].uri.clone();
    assert_eq!(first, "/single?lang=en&since=1704164640");
    assert_eq!(report.url, up.url(&first));

    let paged = cycle(pagination_config(
        up.url("/paged"),
        None,
        json!({"mode": "page", "nextReference": {"location": "header"}}),
    ));
    let report = run(&paged, &RecordingSleeper::new()).await;
    assert!(report.result.is_ok(), "{report:?}");
    let first = up.seen_at("/paged")[0].uri.clone();
    assert_eq!(first, "/paged?page=1&pageSize=100");
    assert_eq!(report.url, up.url(&first));
}

#[tokio::test]
async fn report_url_redacts_secret_looking_query_parameters() {
    let up = Upstream::start().await;
    up.route("/k", vec![Reply::json(&json!({"a": 1}))]);
    let cycle = cycle(json!({"url": up.url("/k?api_key=KEY-123&q=1")}));
    let report = run(&cycle, &RecordingSleeper::new()).await;
    assert!(report.result.is_ok(), "{report:?}");
    // The upstream gets the key; the record does not.
    assert_eq!(up.seen_at("/k")[0].uri, "/k?api_key=KEY-123&q=1");
    assert!(!report.url.contains("KEY-123"), "{}", report.url);
    assert_eq!(report.url, up.url("/k?api_key=redacted&q=1"));
}

// ---------------------------------------------------------------------------------------------
// 2. OAuth2 client credentials
// ---------------------------------------------------------------------------------------------

fn oauth_config(up: &Upstream, target: &str, token_path: &str, authorization: Value) -> Value {
    let mut authorization = authorization;
    authorization["type"] = json!("oauth2");
    authorization["clientId"] = json!("my client");
    authorization["clientSecret"] = json!(SECRET);
    authorization["provider"] = json!(up.url(token_path));
    json!({"url": up.url(target), "authorization": authorization})
}

fn assert_no_secrets(shown: &str) {
    assert!(!shown.contains("s3cr"), "secret shown: {shown}");
    assert!(!shown.contains("tok-"), "token shown: {shown}");
}

#[tokio::test]
async fn oauth2_header_mode_sends_basic_credentials_and_reuses_the_token() {
    let up = Upstream::start().await;
    up.route(
        "/oauth/token",
        vec![Reply::token("tok-AAA", 3600), Reply::token("tok-BBB", 3600)],
    )
    .route("/api", vec![Reply::json(&json!({"ok": true}))]);
    let topic = topic(oauth_config(
        &up,
        "/api",
        "/oauth/token",
        json!({"scope": "read write"}),
    ));
    let cycle = Cycle::new(&topic).unwrap();
    let sleeper = RecordingSleeper::new();
    for _ in 0..2 {
        let report = run(&cycle, &sleeper).await;
        assert_eq!(
            report.result,
            Ok(Payload::Raw(Bytes::from_static(br#"{"ok":true}"#)))
        );
        assert_eq!(report.attempts, 1);
        assert_no_secrets(&report.url);
    }
    let asked = up.seen_at("/oauth/token");
    assert_eq!(asked.len(), 1, "the token is reused by the second cycle");
    assert_eq!(asked[0].method, "POST");
    let basic = base64::engine::general_purpose::STANDARD.encode(ENCODED_CREDENTIALS);
    assert_eq!(
        asked[0].header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        asked[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        asked[0].body_text(),
        "grant_type=client_credentials&scope=read+write"
    );
    let calls = up.seen_at("/api");
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.method, "GET");
        assert_eq!(call.header("authorization"), Some("Bearer tok-AAA"));
    }
    assert_no_secrets(&format!("{topic:?}"));
    assert!(sleeper.slept().is_empty());
}

#[tokio::test]
async fn oauth2_body_mode_sends_form_fields_with_and_without_scope() {
    let up = Upstream::start().await;
    up.route("/oauth/token", vec![Reply::token("tok-B1", 3600)])
        .route("/oauth/token2", vec![Reply::token("tok-B2", 3600)])
        .route("/api", vec![Reply::json(&json!([1]))]);
    let with_scope = cycle(oauth_config(
        &up,
        "/api",
        "/oauth/token",
        json!({"mode": "body", "scope": "read"}),
    ));
    let without_scope = cycle(oauth_config(
        &up,
        "/api",
        "/oauth/token2",
        json!({"mode": "body"}),
    ));
    let sleeper = RecordingSleeper::new();
    for _ in 0..2 {
        for cycle in [&with_scope, &without_scope] {
            let report = run(cycle, &sleeper).await;
            assert!(report.result.is_ok(), "{report:?}");
        }
    }
    let asked = up.seen_at("/oauth/token");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].method, "POST");
    assert_eq!(asked[0].header("authorization"), None);
    assert_eq!(
        asked[0].body_text(),
        "grant_type=client_credentials&scope=read&client_id=my+client&client_secret=s3cr%26t%2F%2B%3D"
    );
    let asked = up.seen_at("/oauth/token2");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].header("authorization"), None);
    assert_eq!(
        asked[0].body_text(),
        "grant_type=client_credentials&client_id=my+client&client_secret=s3cr%26t%2F%2B%3D"
    );
    let bearers: Vec<Option<String>> = up
        .seen_at("/api")
        .iter()
        .map(|s| s.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        bearers,
        [
            Some("Bearer tok-B1".to_owned()),
            Some("Bearer tok-B2".to_owned()),
            Some("Bearer tok-B1".to_owned()),
            Some("Bearer tok-B2".to_owned()),
        ]
    );
}

#[tokio::test]
async fn oauth2_fetches_a_new_token_once_after_a_401() {
    let up = Upstream::start().await;
    up.route(
        "/oauth/token",
        vec![
            Reply::token("tok-1", 3600),
            Reply::token("tok-2", 3600),
            Reply::token("tok-3", 3600),
        ],
    )
    .route(
        "/api",
        vec![Reply::status(401), Reply::json(&json!({"v": 1}))],
    );
    let cycle = cycle(oauth_config(&up, "/api", "/oauth/token", json!({})));
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle, &sleeper).await;
    assert!(report.result.is_ok(), "{report:?}");
    assert_eq!(report.attempts, 2);
    assert_eq!(report.status, Some(200));
    assert!(sleeper.slept().is_empty(), "no backoff before the retry");
    assert_eq!(up.seen_at("/oauth/token").len(), 2);
    let bearers: Vec<String> = up
        .seen_at("/api")
        .iter()
        .map(|s| s.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(bearers, ["Bearer tok-1", "Bearer tok-2"]);

    // The next cycle reuses the new token.
    let report = run(&cycle, &sleeper).await;
    assert!(report.result.is_ok(), "{report:?}");
    assert_eq!(up.seen_at("/oauth/token").len(), 2);
    assert_eq!(
        up.seen_at("/api")[2].header("authorization"),
        Some("Bearer tok-2")
    );

    // A second 401 in a row is an error: one refresh only, no token in the message.
    up.route("/api", vec![Reply::status(401)]);
    let report = run(&cycle, &sleeper).await;
    let e = error(&report);
    assert_eq!(e.code, 70_401);
    assert_eq!(report.attempts, 2);
    assert_eq!(report.status, Some(401));
    assert_eq!(up.seen_at("/oauth/token").len(), 3);
    assert_no_secrets(&e.message);
    assert_no_secrets(&format!("{e:?}"));
    assert_no_secrets(&report.url);
}

#[tokio::test]
async fn oauth2_short_lived_token_is_renewed_after_it_expires() {
    let up = Upstream::start().await;
    // expires_in 2 s: the renewal margin is at most half the lifetime, so renewal at 1 s.
    up.route(
        "/oauth/token",
        vec![Reply::token("tok-short", 2), Reply::token("tok-long", 3600)],
    )
    .route("/api", vec![Reply::json(&json!({"v": 1}))]);
    let cycle = cycle(oauth_config(&up, "/api", "/oauth/token", json!({})));
    let sleeper = RecordingSleeper::new();
    for _ in 0..2 {
        assert!(run(&cycle, &sleeper).await.result.is_ok());
    }
    assert_eq!(up.seen_at("/oauth/token").len(), 1, "reused while fresh");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(run(&cycle, &sleeper).await.result.is_ok());
    assert_eq!(up.seen_at("/oauth/token").len(), 2, "renewed after expiry");
    let bearers: Vec<String> = up
        .seen_at("/api")
        .iter()
        .map(|s| s.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        bearers,
        ["Bearer tok-short", "Bearer tok-short", "Bearer tok-long"]
    );
}

#[tokio::test]
async fn oauth2_secrets_and_tokens_never_show() {
    let up = Upstream::start().await;
    up.route(
        "/oauth/token",
        vec![
            // The provider echoes the secret in its error.
            Reply::text(
                400,
                r#"{"error":"invalid_client","error_description":"bad secret s3cr&t/+="}"#,
            )
            .header("Content-Type", "application/json"),
            Reply::token("tok-SEEN", 3600),
        ],
    )
    .route("/api", vec![Reply::status(500)]);
    let topic = topic(json!({
        "url": up.url("/api?q=1"),
        "retryMaxAttempts": 1,
        "authorization": {
            "type": "oauth2",
            "clientId": "my client",
            "clientSecret": SECRET,
            "provider": up.url("/oauth/token"),
            "mode": "body",
        },
    }));
    let shown = format!("{topic:?}");
    assert_no_secrets(&shown);
    assert!(shown.contains("my client"), "{shown}");
    let cycle = Cycle::new(&topic).unwrap();
    let sleeper = RecordingSleeper::new();

    let report = run(&cycle, &sleeper).await;
    let e = error(&report);
    assert_eq!(e.code, 70_400);
    assert!(e.message.contains("OAuth2"), "{}", e.message);
    assert_eq!(report.attempts, 0, "the target was not asked");
    assert!(up.seen_at("/api").is_empty());
    for shown in [e.message.clone(), format!("{report:?}")] {
        assert_no_secrets(&shown);
    }

    let report = run(&cycle, &sleeper).await;
    let e = error(&report);
    assert_eq!(e.code, 70_500);
    assert_eq!(report.attempts, 2);
    assert_eq!(
        up.seen_at("/api")[0].header("authorization"),
        Some("Bearer tok-SEEN")
    );
    for shown in [e.message.clone(), format!("{report:?}"), report.url.clone()] {
        assert_no_secrets(&shown);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn statuses_500_503_504_are_retried_with_backoff() {
    let up = Upstream::start().await;
    up.route(
        "/flaky",
        vec![
            Reply::status(500),
            Reply::status(503),
            Reply::status(504),
            Reply::json(&json!({"ok": 1})),
        ],
    );
    let cycle = cycle(json!({
        "url": up.url("/flaky"),
        "retryMaxAttempts": 3,
        "retryBackOffInitialDuration": "PT1S",
        "retryBackOffMaxDuration": "PT10S",
    }));
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle, &sleeper).await;
    assert_eq!(
        report.result,
        Ok(Payload::Raw(Bytes::from_static(br#"{"ok":1}"#)))
    );
    assert_eq!(report.attempts, 4);
    assert_eq!(report.status, Some(200));
    assert_eq!(up.seen_at("/flaky").len(), 4);
    assert_eq!(sleeper.slept(), [secs(1.0), secs(2.0), secs(4.0)]);

    // retryBackOffFactor scales the jitter: +20 % with the largest jitter.
    up.route(
        "/flaky",
        vec![
            Reply::status(503),
            Reply::status(503),
            Reply::json(&json!({"ok": 2})),
        ],
    );
    let cycle = self::cycle(json!({
        "url": up.url("/flaky"),
        "retryBackOffFactor": 0.2,
    }));
    let sleeper = RecordingSleeper::with_jitter(1.0);
    let report = run(&cycle, &sleeper).await;
    assert!(report.result.is_ok(), "{report:?}");
    assert_eq!(report.attempts, 3);
    assert_eq!(sleeper.slept(), [secs(1.2), secs(2.4)]);
}

#[tokio::test]
async fn retries_run_out_with_the_last_status() {
    let up = Upstream::start().await;
    up.route("/down", vec![Reply::status(503)]);
    let cycle = cycle(json!({"url": up.url("/down"), "retryMaxAttempts": 2}));
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle, &sleeper).await;
    let e = error(&report);
    assert_eq!(e.code, 70_503);
    assert_eq!(report.attempts, 3);
    assert_eq!(report.status, Some(503));
    assert_eq!(up.seen_at("/down").len(), 3);
    assert_eq!(sleeper.slept(), [secs(1.0), secs(2.0)]);
}

#[tokio::test]
async fn status_404_is_not_retried() {
    let up = Upstream::start().await;
    up.route(
        "/missing",
        vec![Reply::status(404), Reply::json(&json!({"late": true}))],
    );
    let cycle = cycle(json!({"url": up.url("/missing")}));
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle, &sleeper).await;
    let e = error(&report);
    assert_eq!(e.code, 70_404);
    assert_eq!(report.attempts, 1);
    assert_eq!(report.status, Some(404));
    assert_eq!(up.seen_at("/missing").len(), 1);
    assert!(sleeper.slept().is_empty());
}

#[tokio::test]
async fn retry_on_http_codes_replaces_the_defaults() {
    let up = Upstream::start().await;
    up.route(
        "/custom",
        vec![Reply::status(502), Reply::status(500), Reply::status(200)],
    );
    let cycle = cycle(json!({"url": up.url("/custom"), "retryOnHttpCodes": [502]}));
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle, &sleeper).await;
    assert_eq!(error(&report).code, 70_500, "500 is no longer retried");
    assert_eq!(report.attempts, 2);
    assert_eq!(up.seen_at("/custom").len(), 2);
    assert_eq!(sleeper.slept(), [secs(1.0)]);
}

#[tokio::test]
async fn retry_after_sets_the_wait_capped_by_the_max_duration() {
    let up = Upstream::start().await;
    let busy = || {
        vec![
            Reply::status(503).header("Retry-After", "2"),
            Reply::json(&json!({"ok": true})),
        ]
    };
    up.route("/busy", busy()).route(
        "/limited",
        vec![
            Reply::status(429).header("Retry-After", "3"),
            Reply::json(&json!({"ok": true})),
        ],
    );
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle(json!({"url": up.url("/busy")})), &sleeper).await;
    assert!(report.result.is_ok(), "{report:?}");
    assert_eq!(report.attempts, 2);
    assert_eq!(sleeper.slept(), [secs(2.0)]);

    // 429 with Retry-After waits too.
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle(json!({"url": up.url("/limited")})), &sleeper).await;
    assert!(report.result.is_ok(), "{report:?}");
    assert_eq!(report.attempts, 2);
    assert_eq!(sleeper.slept(), [secs(3.0)]);

    // Capped by retryBackOffMaxDuration.
    up.route("/busy", busy());
    let capped = cycle(json!({
        "url": up.url("/busy"),
        "retryBackOffInitialDuration": "PT0.5S",
        "retryBackOffMaxDuration": "PT1S",
    }));
    let sleeper = RecordingSleeper::new();
    let report = run(&capped, &sleeper).await;
    assert!(report.result.is_ok(), "{report:?}");
    assert_eq!(sleeper.slept(), [secs(1.0)]);
    assert_eq!(up.seen_at("/busy").len(), 4);
}

// ---------------------------------------------------------------------------------------------
// 4. Conditional requests
// ---------------------------------------------------------------------------------------------

const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

#[tokio::test]
async fn validators_are_sent_back_and_304_is_not_modified() {
    let up = Upstream::start().await;
    up.route(
        "/doc",
        vec![
            Reply::json(&json!({"v": 1}))
                .header("ETag", "\"v1\"")
                .header("Last-Modified", LAST_MODIFIED),
            Reply::status(304),
            Reply::json(&json!({"v": 2})).header("ETag", "\"v2\""),
        ],
    );
    let cycle = cycle(json!({"url": up.url("/doc")}));
    let sleeper = RecordingSleeper::new();

    let first = run(&cycle, &sleeper).await;
    assert_eq!(
        first.result,
        Ok(Payload::Raw(Bytes::from_static(br#"{"v":1}"#)))
    );
    assert_eq!(
        first.validators,
        Validators {
            etag: Some("\"v1\"".into()),
            last_modified: Some(LAST_MODIFIED.into()),
        }
    );

    let second = cycle
        .run(now(), Some(now()), &first.validators, &sleeper)
        .await;
    assert_eq!(second.result, Ok(Payload::NotModified));
    assert_eq!(second.status, Some(304));
    assert_eq!(second.attempts, 1);
    assert_eq!(second.validators, first.validators, "kept after a 304");

    let third = cycle
        .run(now(), Some(now()), &second.validators, &sleeper)
        .await;
    assert_eq!(
        third.result,
        Ok(Payload::Raw(Bytes::from_static(br#"{"v":2}"#)))
    );
    assert_eq!(
        third.validators,
        Validators {
            etag: Some("\"v2\"".into()),
            last_modified: None,
        }
    );

    let seen = up.seen_at("/doc");
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[0].header("if-modified-since"), None);
    for later in &seen[1..] {
        assert_eq!(later.header("if-none-match"), Some("\"v1\""));
        assert_eq!(later.header("if-modified-since"), Some(LAST_MODIFIED));
    }
}

/// `CycleReport.validators` is documented as "kept from `previous` when the response had
/// none": a 304 that carries a new `ETag` should replace the stored one.
#[tokio::test]
async fn validators_of_a_304_replace_the_previous_ones() {
    let up = Upstream::start().await;
    up.route(
        "/doc",
        vec![Reply::status(304).header("ETag", "\"v1-updated\"")],
    );
    let cycle = cycle(json!({"url": up.url("/doc")}));
    let previous = Validators {
        etag: Some("\"v1\"".into()),
        last_modified: None,
    };
    let report = cycle
        .run(now(), Some(now()), &previous, &RecordingSleeper::new())
        .await;
    assert_eq!(report.result, Ok(Payload::NotModified));
    assert_eq!(
        up.seen_at("/doc")[0].header("if-none-match"),
        Some("\"v1\"")
    );
    assert_eq!(report.validators.etag.as_deref(), Some("\"v1-updated\""));
}

// ---------------------------------------------------------------------------------------------
// 5. Computed query parameters
// ---------------------------------------------------------------------------------------------

/// Runs three cycles of `parameters` against `/q?fixed=1`: the first without a success at
/// `now()`, the second at `now2` after a success at `now()`, the third after a success at
/// `now2`. Returns the queries the upstream saw.
async fn three_cycles(parameters: Value) -> Vec<String> {
    let up = Upstream::start().await;
    up.route("/q", vec![Reply::json(&json!({"ok": true}))]);
    let cycle = cycle(json!({
        "url": up.url("/q?fixed=1"),
        "pollingPeriod": "PT10S",
        "computedQueryParameters": parameters,
    }));
    let sleeper = RecordingSleeper::new();
    let validators = Validators::default();
    let now2 = at("2024-01-02T03:04:17.001Z");
    let now3 = at("2024-01-02T03:04:27.5Z");
    for (start, last_success) in [(now(), None), (now2, Some(now())), (now3, Some(now2))] {
        let report = cycle.run(start, last_success, &validators, &sleeper).await;
        assert!(report.result.is_ok(), "{report:?}");
        assert_eq!(
            cycle.url(start, last_success).unwrap(),
            up.url(&up.seen().last().unwrap().uri)
        );
    }
    up.seen_at("/q")
        .iter()
        .map(|s| s.query().to_owned())
        .collect()
}

#[tokio::test]
async fn computed_parameters_with_initial_values_for_some() {
    // now() is 2024-01-02T03:04:05.678Z = 1704164645.678; pollingPeriod 10 s.
    let queries = three_cycles(json!({
        "from": {"type": "date-time", "initialValue": "2024-01-01T00:00:00Z"},
        "since": {"type": "date-time", "pattern": "yyyy-MM-dd'T'HH:mm:ss"},
        "ts": {"type": "timestamp", "initialValue": 1700000000},
        "tsms": {"type": "timestamp", "useMilliseconds": true},
    }))
    .await;
    assert_eq!(
        queries,
        [
            // initialValue where configured, else now - pollingPeriod (03:03:55.678).
            "fixed=1&from=2024-01-01T00%3A00%3A00Z&since=2024-01-02T03%3A03%3A55\
             &ts=1700000000&tsms=1704164635678",
            // The last success: now().
            "fixed=1&from=2024-01-02T03%3A04%3A05Z&since=2024-01-02T03%3A04%3A05\
             &ts=1704164645&tsms=1704164645678",
            // The last success: the second cycle's start, 03:04:17.001.
            "fixed=1&from=2024-01-02T03%3A04%3A17Z&since=2024-01-02T03%3A04%3A17\
             &ts=1704164657&tsms=1704164657001",
        ]
    );
}

#[tokio::test]
async fn computed_parameters_with_initial_values_for_the_others() {
    let queries = three_cycles(json!({
        "from": {"type": "date-time"},
        "since": {
            "type": "date-time",
            "pattern": "yyyy-MM-dd'T'HH:mm:ss",
            "initialValue": "2023-12-31T23:59:59",
            "reference": "last-success",
        },
        "ts": {"type": "timestamp"},
        "tsms": {"type": "timestamp", "useMilliseconds": true, "initialValue": 1600000000000u64},
    }))
    .await;
    assert_eq!(
        queries,
        [
            "fixed=1&from=2024-01-02T03%3A03%3A55Z&since=2023-12-31T23%3A59%3A59\
             &ts=1704164635&tsms=1600000000000",
            "fixed=1&from=2024-01-02T03%3A04%3A05Z&since=2024-01-02T03%3A04%3A05\
             &ts=1704164645&tsms=1704164645678",
            "fixed=1&from=2024-01-02T03%3A04%3A17Z&since=2024-01-02T03%3A04%3A17\
             &ts=1704164657&tsms=1704164657001",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 6. payloadPointer
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn payload_pointer_selects_a_sub_document() {
    let up = Upstream::start().await;
    up.route(
        "/w",
        vec![Reply::json(
            &json!({"meta": {"n": 2}, "data": {"items": [{"id": 1}, {"id": 2}]}, "a/b": {"c~d": 7}}),
        )],
    );
    let report = run(
        &cycle(json!({"url": up.url("/w"), "payloadPointer": "/data/items"})),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(value(&report), json!([{"id": 1}, {"id": 2}]));

    // RFC 6901 escapes.
    let report = run(
        &cycle(json!({"url": up.url("/w"), "payloadPointer": "/a~1b/c~0d"})),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(value(&report), json!(7));
}

#[tokio::test]
async fn an_unresolved_payload_pointer_is_70020() {
    let up = Upstream::start().await;
    up.route("/w", vec![Reply::json(&json!({"data": {"items": []}}))]);
    let report = run(
        &cycle(json!({"url": up.url("/w"), "payloadPointer": "/data/missing"})),
        &RecordingSleeper::new(),
    )
    .await;
    let e = error(&report);
    assert_eq!(e.code, junction_codes::POINTER);
    assert_eq!(e.code, 70_020);
    assert!(e.message.contains("/data/missing"), "{}", e.message);
    assert_eq!(report.status, Some(200));

    // With pagination: a page where the pointer does not resolve.
    up.route(
        "/pp?page=1&pageSize=100",
        vec![Reply::json(&json!({"items": [1]})).header("Link", "</pp?page=2>; rel=\"next\"")],
    )
    .route(
        "/pp?page=2&pageSize=100",
        vec![Reply::json(&json!({"other": [2]}))],
    );
    let report = run(
        &cycle(pagination_config(
            up.url("/pp"),
            Some("/items"),
            json!({"mode": "page", "nextReference": {"location": "header"}}),
        )),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(error(&report).code, junction_codes::POINTER);
    assert_eq!(up.seen_at("/pp").len(), 2);
}

#[tokio::test]
async fn without_pointer_or_transform_the_body_is_raw() {
    let up = Upstream::start().await;
    let body = "{ \"spaced\" : [1, 2] }\n";
    up.route("/raw", vec![Reply::text(200, body)]);
    let report = run(
        &cycle(json!({"url": up.url("/raw")})),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(report.result, Ok(Payload::Raw(Bytes::from(body))));
    assert_eq!(report.bytes, body.len() as u64);
    // An empty pointer is the whole body, still raw.
    let report = run(
        &cycle(json!({"url": up.url("/raw"), "payloadPointer": ""})),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(report.result, Ok(Payload::Raw(Bytes::from(body))));
}

// ---------------------------------------------------------------------------------------------
// 7. Payload limit
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_over_the_payload_limit_is_70015() {
    let up = Upstream::start().await;
    let exactly = format!("\"{}\"", "x".repeat(98)); // 100 bytes
    let over = format!("\"{}\"", "x".repeat(99)); // 101 bytes
    up.route("/ok", vec![Reply::text(200, &exactly)])
        .route("/big", vec![Reply::text(200, &over)]);
    let sleeper = RecordingSleeper::new();
    let report = run(
        &cycle(json!({"url": up.url("/big"), "payloadLimit": 100})),
        &sleeper,
    )
    .await;
    let e = error(&report);
    assert_eq!(e.code, 70_015);
    assert_eq!(report.attempts, 1, "not retried");
    let report = run(
        &cycle(json!({"url": up.url("/ok"), "payloadLimit": 100})),
        &sleeper,
    )
    .await;
    assert_eq!(report.result, Ok(Payload::Raw(Bytes::from(exactly))));
}

#[tokio::test]
async fn merged_pages_over_the_payload_limit_are_70015() {
    let up = Upstream::start().await;
    // Each page is 60 bytes: one fits a limit of 100, two do not.
    let page = |n: u32, next: Value| {
        let mut v = json!({"items": [n], "next": next, "pad": ""});
        let len = v.to_string().len();
        v["pad"] = json!("p".repeat(60 - len));
        assert_eq!(v.to_string().len(), 60);
        Reply::json(&v)
    };
    up.route("/lim?page=1&pageSize=100", vec![page(1, json!(2))])
        .route("/lim?page=2&pageSize=100", vec![page(2, json!(3))])
        .route("/lim?page=3&pageSize=100", vec![page(3, json!(null))]);
    let config = |limit: u64| {
        let mut c = pagination_config(
            up.url("/lim"),
            Some("/items"),
            json!({
                "mode": "page",
                "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
            }),
        );
        c["payloadLimit"] = json!(limit);
        c
    };
    let report = run(&cycle(config(100)), &RecordingSleeper::new()).await;
    let e = error(&report);
    assert_eq!(e.code, 70_015);
    assert_eq!(
        up.seen_at("/lim").len(),
        2,
        "stops at the page over the limit"
    );
    assert_eq!(report.attempts, 2);

    up.clear_seen();
    let report = run(&cycle(config(180)), &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!([1, 2, 3]));
    assert_eq!(up.seen_at("/lim").len(), 3);
}

// ---------------------------------------------------------------------------------------------
// 8. Not JSON
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_non_json_body_with_a_pointer_is_70016() {
    let up = Upstream::start().await;
    up.route(
        "/html",
        vec![Reply::text(200, "<html>maintenance</html>").header("Content-Type", "text/html")],
    );
    let report = run(
        &cycle(json!({"url": up.url("/html"), "payloadPointer": "/data"})),
        &RecordingSleeper::new(),
    )
    .await;
    let e = error(&report);
    assert_eq!(e.code, 70_016);
    assert!(e.message.contains("not JSON"), "{}", e.message);

    // Pages must be JSON too.
    let report = run(
        &cycle(pagination_config(
            up.url("/html"),
            None,
            json!({"mode": "page", "nextReference": {"location": "header"}}),
        )),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(error(&report).code, 70_016);
}

// ---------------------------------------------------------------------------------------------
// 9. Transform
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transform_runs_after_the_payload_pointer() {
    let up = Upstream::start().await;
    up.route(
        "/t",
        vec![Reply::json(&json!({
            "data": {"items": [{"id": 1, "x": "a"}, {"id": 2, "x": "b"}]},
            "items": [{"id": 99}],
        }))],
    );
    let report = run(
        &cycle(json!({
            "url": up.url("/t"),
            "payloadPointer": "/data",
            "transform": "[.items[] | {id}]",
        })),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(value(&report), json!([{"id": 1}, {"id": 2}]));

    // Without a pointer the transform sees the whole body, and the result is a Value.
    let report = run(
        &cycle(json!({"url": up.url("/t"), "transform": "[.items[] | .id]"})),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(value(&report), json!([99]));
}

#[tokio::test]
async fn transform_applies_to_the_merged_pages() {
    let up = Upstream::start().await;
    up.route(
        "/m?page=1&pageSize=100",
        vec![Reply::json(&json!({"items": [{"id": 1}], "next": true}))],
    )
    .route(
        "/m?page=2&pageSize=100",
        vec![Reply::json(&json!({"items": [{"id": 2}], "next": false}))],
    );
    let mut config = pagination_config(
        up.url("/m"),
        Some("/items"),
        json!({
            "mode": "page",
            "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
        }),
    );
    config["transform"] = json!("{count: length, ids: map(.id)}");
    let report = run(&cycle(config), &RecordingSleeper::new()).await;
    assert_eq!(value(&report), json!({"count": 2, "ids": [1, 2]}));
}

#[tokio::test]
async fn a_failing_transform_is_70021_with_its_message() {
    let up = Upstream::start().await;
    up.route("/t", vec![Reply::json(&json!({"items": [1]}))]);
    let report = run(
        &cycle(json!({"url": up.url("/t"), "transform": "error(\"boom\")"})),
        &RecordingSleeper::new(),
    )
    .await;
    let e = error(&report);
    assert_eq!(e.code, junction_codes::TRANSFORM);
    assert_eq!(e.code, 70_021);
    assert!(e.message.contains("boom"), "{}", e.message);
    assert_eq!(report.status, Some(200));

    // A type error at run time, too.
    let report = run(
        &cycle(json!({"url": up.url("/t"), "transform": ".items + 1"})),
        &RecordingSleeper::new(),
    )
    .await;
    assert_eq!(error(&report).code, 70_021);
}

// ---------------------------------------------------------------------------------------------
// 10. Redirects
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let up = Upstream::start().await;
    up.route(
        "/old",
        vec![Reply::status(302).header("Location", up.url("/new"))],
    )
    .route("/new", vec![Reply::json(&json!({"moved": true}))]);
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle(json!({"url": up.url("/old")})), &sleeper).await;
    let e = error(&report);
    assert_eq!(e.code, 70_300);
    assert_eq!(report.status, Some(302));
    assert_eq!(report.attempts, 1);
    assert!(up.seen_at("/new").is_empty(), "Location not followed");
    assert_eq!(up.seen_at("/old").len(), 1);
    assert!(sleeper.slept().is_empty());
}

#[tokio::test]
async fn retries_and_tokens_apply_to_every_page() {
    let up = Upstream::start().await;
    up.route("/oauth/token", vec![Reply::token("tok-P", 3600)])
        .route(
            "/pg?page=1&pageSize=100",
            vec![Reply::json(&json!([1])).header("Link", "</pg?page=2>; rel=\"next\"")],
        )
        .route(
            "/pg?page=2&pageSize=100",
            vec![Reply::status(503), Reply::json(&json!([2]))],
        );
    let mut config = oauth_config(&up, "/pg", "/oauth/token", json!({}));
    config["pagination"] = json!({"mode": "page", "nextReference": {"location": "header"}});
    let sleeper = RecordingSleeper::new();
    let report = run(&cycle(config), &sleeper).await;
    assert_eq!(value(&report), json!([1, 2]));
    assert_eq!(report.attempts, 3, "two pages, one retry");
    assert_eq!(sleeper.slept(), [secs(1.0)]);
    assert_eq!(up.seen_at("/oauth/token").len(), 1);
    let pages = up.seen_at("/pg");
    assert_eq!(pages.len(), 3);
    for page in &pages {
        assert_eq!(page.header("authorization"), Some("Bearer tok-P"));
    }
}
