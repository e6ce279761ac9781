//! Streams http-poller topic definitions: `junction::config::topic::parse_topic`.

use std::time::Duration;

use junction::config::topic::time_pattern::DEFAULT_PATTERN;
use junction::config::topic::*;
use serde_json::{Value, json};

const AT: &str = "workers[0].realms[0].topics[2]";
const CONFIG: &str = "workers[0].realms[0].topics[2].publisher.config";

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(topic: &Value) -> Result<TopicConfig, String> {
    parse_topic_with_env(topic, AT, &no_env).map_err(|e| e.to_string())
}

/// A topic whose `publisher.config` is `config`.
fn with_config(config: Value) -> Value {
    json!({"name": "com.example.t", "publisher": {"type": "http-poller", "config": config}})
}

/// A topic with url plus the given extra config keys.
fn with(extra: Value) -> Value {
    let mut config = json!({"url": "https://api.example.com/items"});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    with_config(config)
}

fn poller(extra: Value) -> PollerConfig {
    parse(&with(extra)).unwrap().poller
}

fn err(extra: Value) -> String {
    parse(&with(extra)).unwrap_err()
}

/// The main example of the Streams docs (001), completed: closing braces, a provider URL.
fn seed_example() -> Value {
    json!({
      "name": "myHttpPollerTopic",
      "publisher": {
        "type": "http-poller",
        "config": {
            "url": "https://myserver/my-api",
            "pollingPeriod": "PT5S",
            "payloadPointer": "/items",
            "headers": {
                "CustomHeader": "value",
                "CustomHeader2": "value1,value2"
            },
            "authorization": {
              "type": "oauth2",
              "clientId": "myclientId",
              "clientSecret": "myclientSecret",
              "provider": "http://authorization.com/oauth/token",
              "scope": "READ,WRITE",
              "mode": "body"
            },
            "retryOnHttpCodes": [500,503,504],
            "retryMaxAttempts": 3,
            "retryBackOffInitialDuration": "PT1S",
            "retryBackOffMaxDuration": "PT10S",
            "retryBackOffFactor": 0.5,
            "computedQueryParameters": {
                "computedQueryParam1": {
                  "type": "date-time",
                  "reference": "last-success",
                  "pattern": "yyyy-MM-dd'T'HH:mm:ss"
                },
                "computedQueryParam2": {
                  "type": "timestamp",
                  "reference": "last-success",
                  "useMilliseconds": true,
                  "initialValue": 1641224429000u64
                }
            },
            "pagination" : {
              "mode": "page",
              "page" : {
                  "parameterName": "page",
                  "initial": 1
              },
              "pageSize" : {
                  "parameterName": "pageSize",
                  "value": 1
              },
              "nextReference" : {
                  "location": "body",
                  "type" : "uri",
                  "pointer" : "/links/next"
              }
            }
        }
      }
    })
}

#[test]
fn the_seed_example_parses_with_every_field() {
    let topic = parse(&seed_example()).unwrap();
    assert_eq!(topic.name, "myHttpPollerTopic");
    assert_eq!(topic.role, None);
    assert!(!topic.always_on);
    assert_eq!(topic.subscription_mode, SubscriptionMode::SnapshotPatch);
    let p = &topic.poller;
    assert_eq!(p.url.as_str(), "https://myserver/my-api");
    assert_eq!(p.polling_period, Duration::from_secs(5));
    assert_eq!(p.payload_pointer.as_deref(), Some("/items"));
    assert_eq!(p.headers.len(), 2);
    assert_eq!(p.headers["CustomHeader"], "value");
    assert_eq!(p.headers["CustomHeader2"], "value1,value2");
    let auth = p.authorization.as_ref().unwrap();
    assert_eq!(auth.client_id, "myclientId");
    assert_eq!(auth.client_secret.expose(), "myclientSecret");
    assert_eq!(
        auth.provider.as_str(),
        "http://authorization.com/oauth/token"
    );
    assert_eq!(auth.scope.as_deref(), Some("READ,WRITE"));
    assert_eq!(auth.mode, ClientAuthMode::Body);
    assert_eq!(p.retry_on_http_codes, [500, 503, 504]);
    assert_eq!(p.retry_max_attempts, 3);
    assert_eq!(p.retry_backoff_initial, Duration::from_secs(1));
    assert_eq!(p.retry_backoff_max, Duration::from_secs(10));
    assert_eq!(p.retry_backoff_factor, 0.5);

    let [first, second] = p.computed_query_parameters.as_slice() else {
        panic!("two computed parameters expected");
    };
    assert_eq!(first.name, "computedQueryParam1");
    assert_eq!(first.reference, Reference::LastSuccess);
    match &first.kind {
        ComputedKind::DateTime {
            pattern,
            initial_value,
        } => {
            assert_eq!(pattern.as_str(), "yyyy-MM-dd'T'HH:mm:ss");
            assert_eq!(initial_value, &None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(second.name, "computedQueryParam2");
    assert_eq!(
        second.kind,
        ComputedKind::Timestamp {
            milliseconds: true,
            initial_value: Some(1641224429000)
        }
    );

    let pagination = p.pagination.as_ref().unwrap();
    assert_eq!(
        pagination.kind,
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: PageSize {
                parameter_name: "pageSize".into(),
                value: 1
            }
        }
    );
    assert_eq!(
        pagination.next_reference,
        NextReference::Body {
            pointer: "/links/next".into(),
            kind: NextReferenceKind::Uri
        }
    );
    assert_eq!(pagination.max_pages, 1000);
    assert_eq!(p.payload_limit, 1024 * 1024);
    assert_eq!(p.timeout, Duration::from_secs(30));
    assert_eq!(p.transform, None);
}

#[test]
fn junction_keys_parse() {
    let topic = json!({
        "name": "com.example.weather",
        "subscriptionMode": "snapshot-only",
        "publisher": {
            "type": "http-poller",
            "alwaysOn": true,
            "role": "poller",
            "config": {
                "url": "http://api.example.com:8080/weather?units=metric",
                "payloadLimit": 2048,
                "timeout": "PT10S",
                "transform": ".items | map(.id)"
            }
        }
    });
    let topic = parse(&topic).unwrap();
    assert_eq!(topic.name, "com.example.weather");
    assert_eq!(topic.subscription_mode, SubscriptionMode::SnapshotOnly);
    assert!(topic.always_on);
    assert_eq!(topic.role.as_deref(), Some("poller"));
    assert_eq!(topic.poller.payload_limit, 2048);
    assert_eq!(topic.poller.timeout, Duration::from_secs(10));
    assert_eq!(topic.poller.transform.as_deref(), Some(".items | map(.id)"));
}

#[test]
fn defaults() {
    let p = poller(json!({}));
    assert_eq!(p.polling_period, Duration::from_secs(5));
    assert_eq!(p.payload_pointer, None);
    assert!(p.headers.is_empty());
    assert_eq!(p.retry_on_http_codes, [500, 503, 504]);
    assert_eq!(p.retry_max_attempts, 3);
    assert_eq!(p.retry_backoff_initial, Duration::from_secs(1));
    assert_eq!(p.retry_backoff_max, Duration::from_secs(10));
    assert_eq!(p.retry_backoff_factor, 0.5);
    assert!(p.computed_query_parameters.is_empty());
    assert_eq!(p.authorization, None);
    assert_eq!(p.pagination, None);
    assert_eq!(p.payload_limit, 1024 * 1024);
    assert_eq!(p.timeout, Duration::from_secs(30));
    assert_eq!(p.transform, None);

    let c = poller(json!({"computedQueryParameters": {
        "from": {"type": "date-time"},
        "since": {"type": "timestamp"}
    }}));
    let kinds: Vec<_> = c
        .computed_query_parameters
        .iter()
        .map(|c| &c.kind)
        .collect();
    match kinds[0] {
        ComputedKind::DateTime {
            pattern,
            initial_value: None,
        } => assert_eq!(pattern.as_str(), DEFAULT_PATTERN),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        kinds[1],
        &ComputedKind::Timestamp {
            milliseconds: false,
            initial_value: None
        }
    );
    assert!(
        c.computed_query_parameters
            .iter()
            .all(|c| c.reference == Reference::LastSuccess)
    );
}

#[test]
fn range_errors_name_the_key() {
    let cases = [
        (
            json!({"pollingPeriod": "PT0.1S"}),
            "pollingPeriod: PT0.1S is below the minimum PT0.5S",
        ),
        (
            json!({"pollingPeriod": "PT2H"}),
            "pollingPeriod: PT2H is above the maximum PT1H",
        ),
        (
            json!({"pollingPeriod": "-PT5S"}),
            "pollingPeriod: -PT5S is below the minimum PT0.5S",
        ),
        (
            json!({"pollingPeriod": "5s"}),
            "pollingPeriod: expected an ISO-8601 duration such as PT5S, found \"5s\"",
        ),
        (
            json!({"pollingPeriod": 5}),
            "pollingPeriod: expected a string, found a number",
        ),
        (
            json!({"retryBackOffInitialDuration": "PT11S"}),
            "retryBackOffInitialDuration: PT11S is above the maximum PT10S",
        ),
        (
            json!({"retryBackOffInitialDuration": "-PT1S"}),
            "retryBackOffInitialDuration: -PT1S is below the minimum PT0S",
        ),
        (
            json!({"retryBackOffMaxDuration": "PT61S"}),
            "retryBackOffMaxDuration: PT61S is above the maximum PT1M",
        ),
        (
            json!({"retryBackOffInitialDuration": "PT5S", "retryBackOffMaxDuration": "PT2S"}),
            "retryBackOffMaxDuration: PT2S is below retryBackOffInitialDuration PT5S",
        ),
        (
            json!({"retryBackOffFactor": 1.5}),
            "retryBackOffFactor: 1.5 is out of range (0..=1)",
        ),
        (
            json!({"retryBackOffFactor": -0.1}),
            "retryBackOffFactor: -0.1 is out of range (0..=1)",
        ),
        (
            json!({"retryMaxAttempts": 101}),
            "retryMaxAttempts: 101 is out of range (0..=100)",
        ),
        (
            json!({"retryOnHttpCodes": [500, 99]}),
            "retryOnHttpCodes[1]: 99 is out of range (100..=599)",
        ),
        (
            json!({"retryOnHttpCodes": [500, 500]}),
            "retryOnHttpCodes[1]: 500 is listed twice",
        ),
        (
            json!({"retryOnHttpCodes": [200]}),
            "retryOnHttpCodes[0]: 200 is a success status, it is never retried",
        ),
        (
            json!({"payloadLimit": 0}),
            "payloadLimit: 0 is out of range (1..=67108864)",
        ),
        (
            json!({"timeout": "PT0.5S"}),
            "timeout: PT0.5S is below the minimum PT1S",
        ),
        (
            json!({"timeout": "PT6M"}),
            "timeout: PT6M is above the maximum PT5M",
        ),
        (json!({"transform": ""}), "transform: must not be empty"),
    ];
    for (extra, expected) in cases {
        assert_eq!(err(extra), format!("{CONFIG}.{expected}"));
    }
    // Bounds are inclusive.
    let p = poller(json!({
        "pollingPeriod": "PT0.5S",
        "retryBackOffInitialDuration": "PT0S",
        "retryBackOffMaxDuration": "PT60S",
        "retryBackOffFactor": 1,
        "retryMaxAttempts": 0
    }));
    assert_eq!(p.polling_period, Duration::from_millis(500));
    assert_eq!(p.retry_backoff_initial, Duration::ZERO);
    assert_eq!(p.retry_backoff_max, Duration::from_secs(60));
    assert_eq!(p.retry_backoff_factor, 1.0);
    assert_eq!(p.retry_max_attempts, 0);
    assert_eq!(
        poller(json!({"pollingPeriod": "PT1H"})).polling_period,
        Duration::from_secs(3600)
    );
    assert_eq!(
        poller(json!({"pollingPeriod": "PT1M30S"})).polling_period,
        Duration::from_secs(90)
    );
}

#[test]
fn the_exact_error_of_the_brief() {
    let e = err(json!({"pollingPeriod": "PT0.1S"}));
    assert_eq!(
        e,
        "workers[0].realms[0].topics[2].publisher.config.pollingPeriod: PT0.1S is below the minimum PT0.5S"
    );
}

#[test]
fn urls() {
    let cases = [
        (
            json!("ftp://x/y"),
            "URL scheme must be http or https, found \"ftp\"",
        ),
        (
            json!("/relative"),
            "not a valid absolute URL (relative URL without a base)",
        ),
        (
            json!("target URL"),
            "not a valid absolute URL (relative URL without a base)",
        ),
        (
            json!(""),
            "not a valid absolute URL (relative URL without a base)",
        ),
        (json!(3), "expected a string, found a number"),
    ];
    for (url, expected) in cases {
        assert_eq!(
            parse(&with_config(json!({"url": url}))).unwrap_err(),
            format!("{CONFIG}.url: {expected}")
        );
    }
    // The URL text, which may hold a key, is not repeated in errors.
    let e = parse(&with_config(json!({"url": "foo://user:pw@x/?apikey=k3y"}))).unwrap_err();
    assert!(!e.contains("k3y") && !e.contains("pw"), "{e}");
}

#[test]
fn bad_json_pointers() {
    for bad in ["items", "/a~2b", "/a~"] {
        let e = err(json!({"payloadPointer": bad}));
        assert!(
            e.starts_with(&format!(
                "{CONFIG}.payloadPointer: \"{bad}\" is not a JSON pointer"
            )),
            "{e}"
        );
    }
    assert_eq!(
        poller(json!({"payloadPointer": ""}))
            .payload_pointer
            .as_deref(),
        Some("")
    );
    assert_eq!(
        poller(json!({"payloadPointer": "/a~0b/c~1d"}))
            .payload_pointer
            .as_deref(),
        Some("/a~0b/c~1d")
    );
    let e = err(json!({"pagination": {"mode": "cursor",
        "nextReference": {"location": "body", "type": "value", "pointer": "next"}}}));
    assert!(
        e.starts_with(&format!(
            "{CONFIG}.pagination.nextReference.pointer: \"next\" is not a JSON pointer"
        )),
        "{e}"
    );
}

#[test]
fn bad_java_patterns_name_the_letter() {
    let e = err(json!({"computedQueryParameters": {
        "from": {"type": "date-time", "pattern": "yyyy-MM-dd EEE"}
    }}));
    assert_eq!(
        e,
        format!(
            "{CONFIG}.computedQueryParameters.from.pattern: invalid Java date-time pattern \
             \"yyyy-MM-dd EEE\": unsupported pattern letters 'EEE' at 11"
        )
    );
    let e = err(json!({"computedQueryParameters": {
        "from": {"type": "date-time", "pattern": "yyyy-MM-ddd"}
    }}));
    assert!(e.contains("'ddd'"), "{e}");
    let e = err(json!({"computedQueryParameters": {
        "from": {"type": "date-time", "pattern": "yyyy'T"}
    }}));
    assert!(e.contains("unterminated quote"), "{e}");
}

#[test]
fn computed_parameters() {
    let p = poller(json!({"computedQueryParameters": {
        "from": {"type": "date-time", "reference": "last-success",
                 "pattern": "yyyy-MM-dd'T'HH:mm:ss", "initialValue": "2021-09-22T09:56:09"},
        "ts": {"type": "timestamp", "initialValue": 1641290851}
    }}));
    let from = &p.computed_query_parameters[0];
    assert_eq!(from.name, "from");
    assert!(matches!(
        &from.kind,
        ComputedKind::DateTime { initial_value: Some(v), .. } if v == "2021-09-22T09:56:09"
    ));
    assert_eq!(
        p.computed_query_parameters[1].kind,
        ComputedKind::Timestamp {
            milliseconds: false,
            initial_value: Some(1641290851)
        }
    );

    let at = format!("{CONFIG}.computedQueryParameters");
    let cases = [
        (
            json!({"a b": {"type": "timestamp"}}),
            "a b: query parameter name \"a b\" is not URL-safe (use A-Z a-z 0-9 - . _ ~)",
        ),
        (
            json!({"a&b": {"type": "timestamp"}}),
            "a&b: query parameter name \"a&b\" is not URL-safe (use A-Z a-z 0-9 - . _ ~)",
        ),
        (
            json!({"t": {"type": "epoch"}}),
            "t.type: expected one of date-time, timestamp, found \"epoch\"",
        ),
        (json!({"t": {}}), "t.type: required key is missing"),
        (
            json!({"t": {"type": "timestamp", "reference": "now"}}),
            "t.reference: expected one of last-success, found \"now\"",
        ),
        (
            json!({"t": {"type": "timestamp", "pattern": "yyyy"}}),
            "t.pattern: unknown key (allowed here: type, reference, useMilliseconds, initialValue)",
        ),
        (
            json!({"t": {"type": "date-time", "useMilliseconds": true}}),
            "t.useMilliseconds: unknown key (allowed here: type, reference, pattern, initialValue)",
        ),
        (
            json!({"t": {"type": "timestamp", "initialValue": "2021"}}),
            "t.initialValue: expected a non-negative integer, found a string",
        ),
        (
            json!({"t": {"type": "date-time", "initialValue": 5}}),
            "t.initialValue: expected a string, found a number",
        ),
    ];
    for (computed, expected) in cases {
        assert_eq!(
            err(json!({"computedQueryParameters": computed})),
            format!("{at}.{expected}")
        );
    }
}

#[test]
fn duplicate_query_parameter_names() {
    // A JSON object cannot hold a name twice (serde_json keeps the last), so duplicates are
    // names shared with the url's query or with pagination.
    let e = parse(&with_config(json!({
        "url": "https://x.example/api?from=1",
        "computedQueryParameters": {"from": {"type": "timestamp"}}
    })))
    .unwrap_err();
    assert_eq!(
        e,
        format!(
            "{CONFIG}.computedQueryParameters.from: query parameter \"from\" is already set by url"
        )
    );
    let e = err(json!({
        "computedQueryParameters": {"page": {"type": "timestamp"}},
        "pagination": {"mode": "page", "nextReference": {"location": "header"}}
    }));
    assert_eq!(
        e,
        format!(
            "{CONFIG}.pagination: query parameter \"page\" is already set by \
             {CONFIG}.computedQueryParameters.page"
        )
    );
    let e = err(json!({
        "computedQueryParameters": {"since": {"type": "timestamp"}},
        "pagination": {"mode": "keyset", "key": {"parameterName": "since"},
                       "nextReference": {"location": "header"}}
    }));
    assert_eq!(
        e,
        format!(
            "{CONFIG}.pagination.key.parameterName: query parameter \"since\" is already set by \
             {CONFIG}.computedQueryParameters.since"
        )
    );
    let e = err(json!({
        "pagination": {"mode": "offset", "limit": {"parameterName": "offset"},
                       "nextReference": {"location": "header"}}
    }));
    assert_eq!(
        e,
        format!(
            "{CONFIG}.pagination.limit.parameterName: query parameter \"offset\" is already set \
             by {CONFIG}.pagination.offset.parameterName"
        )
    );
}

#[test]
fn pagination_variants() {
    let header = json!({"location": "header"});
    let page = poller(json!({"pagination": {"mode": "page", "nextReference": header}}));
    let page = page.pagination.unwrap();
    assert_eq!(
        page.kind,
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: PageSize {
                parameter_name: "pageSize".into(),
                value: 100
            }
        }
    );
    assert_eq!(page.next_reference, NextReference::LinkHeader);
    assert_eq!(page.max_pages, 1000);

    let offset = poller(json!({"pagination": {
        "mode": "offset",
        "offset": {"parameterName": "skip", "initial": 0},
        "limit": {"parameterName": "take", "value": 50},
        "nextReference": {"location": "body", "type": "value", "pointer": "/next"},
        "maxPages": 7
    }}))
    .pagination
    .unwrap();
    assert_eq!(
        offset.kind,
        PaginationKind::Offset {
            parameter: "skip".into(),
            limit_parameter: "take".into(),
            limit: 50,
            initial: 0
        }
    );
    assert_eq!(
        offset.next_reference,
        NextReference::Body {
            pointer: "/next".into(),
            kind: NextReferenceKind::Value
        }
    );
    assert_eq!(offset.max_pages, 7);

    let offset_defaults =
        poller(json!({"pagination": {"mode": "offset", "nextReference": header}}));
    assert_eq!(
        offset_defaults.pagination.unwrap().kind,
        PaginationKind::Offset {
            parameter: "offset".into(),
            limit_parameter: "limit".into(),
            limit: 100,
            initial: 1
        }
    );

    let keyset = poller(json!({"pagination": {
        "mode": "keyset", "key": {"parameterName": "sinceKey"},
        "pageSize": {"parameterName": "size", "value": 10},
        "nextReference": {"location": "body", "type": "uri", "pointer": "/links/next"}
    }}));
    assert_eq!(
        keyset.pagination.unwrap().kind,
        PaginationKind::Keyset {
            parameter_name: "sinceKey".into(),
            page_size: PageSize {
                parameter_name: "size".into(),
                value: 10
            }
        }
    );
    let keyset_defaults =
        poller(json!({"pagination": {"mode": "keyset", "nextReference": header}}));
    assert!(matches!(
        keyset_defaults.pagination.unwrap().kind,
        PaginationKind::Keyset { parameter_name, .. } if parameter_name == "since_key"
    ));

    let cursor = poller(json!({"pagination": {"mode": "cursor", "nextReference": header}}));
    assert_eq!(
        cursor.pagination.unwrap().kind,
        PaginationKind::Cursor {
            parameter_name: "cursor".into(),
            page_size: PageSize {
                parameter_name: "pageSize".into(),
                value: 100
            }
        }
    );

    let at = format!("{CONFIG}.pagination");
    let cases = [
        (
            json!({"nextReference": header}),
            "mode: required key is missing",
        ),
        (
            json!({"mode": "link", "nextReference": header}),
            "mode: expected one of page, offset, keyset, cursor, found \"link\"",
        ),
        (
            json!({"mode": "page"}),
            "nextReference: required key is missing",
        ),
        (
            json!({"mode": "page", "offset": {}, "nextReference": header}),
            "offset: unknown key (allowed here: mode, page, pageSize, nextReference, maxPages)",
        ),
        (
            json!({"mode": "cursor", "cursor": {"initial": 2}, "nextReference": header}),
            "cursor.initial: unknown key (allowed here: parameterName)",
        ),
        (
            json!({"mode": "page", "pageSize": {"value": 0}, "nextReference": header}),
            "pageSize.value: 0 is out of range (1..=18446744073709551615)",
        ),
        (
            json!({"mode": "page", "page": {"initial": -1}, "nextReference": header}),
            "page.initial: expected a non-negative integer, found a negative number",
        ),
        (
            json!({"mode": "page", "page": {"parameterName": "p g"}, "nextReference": header}),
            "page.parameterName: query parameter name \"p g\" is not URL-safe (use A-Z a-z 0-9 - . _ ~)",
        ),
        (
            json!({"mode": "page", "nextReference": header, "maxPages": 0}),
            "maxPages: 0 is out of range (1..=4294967295)",
        ),
        (
            json!({"mode": "page", "nextReference": {"location": "header", "type": "uri"}}),
            "nextReference.type: only with location body",
        ),
        (
            json!({"mode": "page", "nextReference": {"location": "body", "pointer": "/n"}}),
            "nextReference.type: required key is missing",
        ),
        (
            json!({"mode": "page", "nextReference": {"location": "body", "type": "uri"}}),
            "nextReference.pointer: required key is missing",
        ),
        (
            json!({"mode": "page", "nextReference": {"location": "query"}}),
            "nextReference.location: expected one of body, header, found \"query\"",
        ),
        (
            json!({"mode": "page", "nextReference": {"location": "body", "type": "link", "pointer": "/n"}}),
            "nextReference.type: expected one of uri, value, found \"link\"",
        ),
    ];
    for (pagination, expected) in cases {
        assert_eq!(
            err(json!({"pagination": pagination})),
            format!("{at}.{expected}")
        );
    }
}

fn oauth(auth: Value) -> Value {
    with(json!({"authorization": auth}))
}

#[test]
fn oauth2() {
    let topic = oauth(
        json!({"type": "oauth2", "clientId": "id", "clientSecret": "s3cret",
                             "provider": "https://auth.example.com/token"}),
    );
    let auth = parse(&topic).unwrap().poller.authorization.unwrap();
    assert_eq!(auth.mode, ClientAuthMode::Header);
    assert_eq!(auth.scope, None);

    let at = format!("{CONFIG}.authorization");
    let full = json!({"type": "oauth2", "clientId": "id", "clientSecret": "s3cret",
                      "provider": "https://auth.example.com/token"});
    let without = |key: &str| {
        let mut auth = full.clone();
        auth.as_object_mut().unwrap().remove(key);
        auth
    };
    let replace = |key: &str, value: Value| {
        let mut auth = full.clone();
        auth[key] = value;
        auth
    };
    let cases = [
        (without("clientSecret"), "clientSecret: required key is missing".to_string()),
        (without("clientId"), "clientId: required key is missing".into()),
        (without("provider"), "provider: required key is missing".into()),
        (without("type"), "type: required key is missing".into()),
        (
            replace("type", json!("basic")),
            "type: expected one of oauth2, found \"basic\"".into(),
        ),
        (
            replace("mode", json!("query")),
            "mode: expected one of header, body, found \"query\"".into(),
        ),
        (
            replace("provider", json!("")),
            "provider: not a valid absolute URL (relative URL without a base)".into(),
        ),
        (replace("clientSecret", json!("")), "clientSecret: a secret must not be empty".into()),
        (
            replace("clientSecret", json!(42)),
            "clientSecret: expected a string, found a number".into(),
        ),
        (
            replace("grantType", json!("password")),
            "grantType: unknown key (allowed here: type, clientId, clientSecret, provider, scope, mode)"
                .into(),
        ),
    ];
    for (auth, expected) in cases {
        assert_eq!(parse(&oauth(auth)).unwrap_err(), format!("{at}.{expected}"));
    }
}

#[test]
fn oauth2_secret_from_the_environment() {
    let env = |name: &str| match name {
        "POLL_SECRET" => Some("from-env".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    let topic = |secret: &str| {
        oauth(
            json!({"type": "oauth2", "clientId": "id", "clientSecret": secret,
                     "provider": "https://auth.example.com/token"}),
        )
    };
    for reference in ["$POLL_SECRET", "${POLL_SECRET}"] {
        let parsed = parse_topic_with_env(&topic(reference), AT, &env).unwrap();
        let secret = parsed.poller.authorization.unwrap().client_secret;
        assert_eq!(secret.expose(), "from-env");
    }
    let e = parse_topic_with_env(&topic("$MISSING"), AT, &env).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{CONFIG}.authorization.clientSecret: environment variable MISSING is not set")
    );
    let e = parse_topic_with_env(&topic("$EMPTY"), AT, &env).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("environment variable EMPTY is empty")
    );
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let mut topic = seed_example();
    topic["publisher"]["config"]["url"] = json!("https://user:url-pa55@myserver/my-api");
    topic["publisher"]["config"]["authorization"]["clientSecret"] = json!("hunter2-secret");
    topic["publisher"]["config"]["headers"]["X-Api-Key"] = json!("header-k3y");
    let parsed = parse(&topic).unwrap();
    let debug = format!("{parsed:?} {parsed:#?}");
    for secret in ["hunter2-secret", "header-k3y", "url-pa55"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(
        debug.contains("X-Api-Key"),
        "header names are shown: {debug}"
    );
    assert!(debug.contains("myclientId"));

    // Any later error in the same topic never prints the secret or header values.
    for (key, value) in [
        ("pollingPeriod", json!("PT0S")),
        ("unknownKey", json!(1)),
        ("headers", json!({"X-Api-Key": "header-k3y\n"})),
    ] {
        let mut bad = topic.clone();
        bad["publisher"]["config"][key] = value;
        let e = parse(&bad).unwrap_err();
        for secret in ["hunter2-secret", "header-k3y", "url-pa55"] {
            assert!(!e.contains(secret), "{secret} in {e}");
        }
    }
    let mut bad = topic.clone();
    bad["publisher"]["config"]["authorization"]["clientSecret"] = json!(["hunter2-secret"]);
    let e = parse(&bad).unwrap_err();
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn headers() {
    let p = poller(json!({"headers": {"Accept": "application/json", "X-Empty": ""}}));
    assert_eq!(p.headers["Accept"], "application/json");
    assert_eq!(p.headers["X-Empty"], "");

    let at = format!("{CONFIG}.headers");
    let cases = [
        (
            json!({"Bad Name": "v"}),
            "Bad Name: \"Bad Name\" is not a valid HTTP header name",
        ),
        (json!({"": "v"}), ": \"\" is not a valid HTTP header name"),
        (
            json!({"X-A": "line\r\nInjected: 1"}),
            "X-A: not a valid HTTP header value (visible ASCII characters, space and tab only)",
        ),
        (json!({"X-A": null}), "X-A: expected a string, found null"),
        (
            json!({"Accept": "a", "accept": "b"}),
            "accept: header \"accept\" is given twice (names ignore case)",
        ),
    ];
    for (headers, expected) in cases {
        assert_eq!(err(json!({"headers": headers})), format!("{at}.{expected}"));
    }
    let e = err(json!({
        "headers": {"Authorization": "Bearer x"},
        "authorization": {"type": "oauth2", "clientId": "id", "clientSecret": "s",
                          "provider": "https://auth.example.com/token"}
    }));
    assert_eq!(
        e,
        format!(
            "{at}.Authorization: the Authorization header is set by authorization (oauth2); \
             remove one of them"
        )
    );
    // Without OAuth2, an Authorization header is just a header.
    assert!(
        poller(json!({"headers": {"Authorization": "Bearer x"}}))
            .headers
            .contains_key("Authorization")
    );
}

#[test]
fn topic_level_errors() {
    let cases = [
        (
            json!([]),
            format!("{AT}: expected an object, found an array"),
        ),
        (
            json!({"publisher": {}}),
            format!("{AT}.name: required key is missing"),
        ),
        (
            json!({"name": "a..b", "publisher": {}}),
            format!("{AT}.name: topic name \"a..b\" is not a valid URI"),
        ),
        (
            json!({"name": "t"}),
            format!("{AT}.publisher: required key is missing"),
        ),
        (
            json!({"name": "t", "id": "x", "publisher": {}}),
            format!("{AT}.id: unknown key (allowed here: name, publisher, subscriptionMode)"),
        ),
        (
            json!({"name": "t", "subscriptionMode": "patch", "publisher": {}}),
            format!(
                "{AT}.subscriptionMode: expected one of snapshot-patch, snapshot-only, found \"patch\""
            ),
        ),
        (
            json!({"name": "t", "publisher": {"type": "kafka", "config": {}}}),
            format!("{AT}.publisher.type: expected one of http-poller, found \"kafka\""),
        ),
        (
            json!({"name": "t", "publisher": {"config": {}}}),
            format!("{AT}.publisher.type: required key is missing"),
        ),
        (
            json!({"name": "t", "publisher": {"type": "http-poller"}}),
            format!("{AT}.publisher.config: required key is missing"),
        ),
        (
            json!({"name": "t", "publisher": {"type": "http-poller", "role": "", "config": {}}}),
            format!("{AT}.publisher.role: must not be empty"),
        ),
        (
            json!({"name": "t", "publisher": {"type": "http-poller", "alwaysOn": "yes", "config": {}}}),
            format!("{AT}.publisher.alwaysOn: expected true or false, found a string"),
        ),
        (
            json!({"name": "t", "publisher": {"type": "http-poller", "config": {"url": "http://x", "pollingperiod": "PT5S"}}}),
            format!(
                "{CONFIG}.pollingperiod: unknown key (allowed here: url, pollingPeriod, payloadPointer, headers, authorization, retryOnHttpCodes, retryMaxAttempts, retryBackOffInitialDuration, retryBackOffMaxDuration, retryBackOffFactor, computedQueryParameters, pagination, payloadLimit, timeout, transform)"
            ),
        ),
    ];
    for (topic, expected) in cases {
        assert_eq!(parse(&topic).unwrap_err(), expected);
    }
}
