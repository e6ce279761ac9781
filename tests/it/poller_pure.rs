//! Pure pieces of http-poller topics: request URLs with computed query parameters,
//! pagination, merging pages, `payloadPointer` selection and jq transforms.

use jiff::Timestamp;
use junction::config::topic::time_pattern::{DEFAULT_PATTERN, TimePattern};
use junction::config::topic::{ComputedKind, ComputedParameter, Reference, is_url_safe};
use junction::config::topic::{NextReference, NextReferenceKind, PageSize, PaginationKind};
use junction::config::topic::{Transform, TransformError};
use junction::poller::pagination::{
    MergeError, PageRequest, PaginationError, Paginator, merge, next_link, parse_links,
};
use junction::poller::query::{QueryError, ReferenceInstant, build_url, with_parameters};
use junction::poller::select::{PointerError, select, select_owned, validate_pointer};
use serde_json::{Value, json};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn date_time(name: &str, pattern: &str, initial: Option<&str>) -> ComputedParameter {
    ComputedParameter {
        name: name.into(),
        kind: ComputedKind::DateTime {
            pattern: TimePattern::parse(pattern).unwrap(),
            initial_value: initial.map(str::to_string),
        },
        reference: Reference::LastSuccess,
    }
}

fn timestamp(name: &str, milliseconds: bool, initial: Option<u64>) -> ComputedParameter {
    ComputedParameter {
        name: name.into(),
        kind: ComputedKind::Timestamp {
            milliseconds,
            initial_value: initial,
        },
        reference: Reference::LastSuccess,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- query

#[test]
fn date_time_default_pattern_is_utc_with_z_and_encoded() {
    let from = date_time("from", DEFAULT_PATTERN, None);
    let url = build_url(
        "https://myserver/my-api",
        &[from],
        ReferenceInstant::LastSuccess(ts("2021-09-23T10:57:09.123Z")),
        &[],
    )
    .unwrap();
    assert_eq!(url, "https://myserver/my-api?from=2021-09-23T10%3A57%3A09Z");
}

#[test]
fn date_time_with_offset_pattern_encodes_plus_as_2b() {
    // An instant formatted in UTC with `xxx` prints `+00:00`: the `+` must not become a space.
    let from = date_time("from", "yyyy-MM-dd'T'HH:mm:ssxxx", None);
    let url = build_url(
        "https://h/api",
        &[from],
        ReferenceInstant::LastSuccess(ts("2021-09-23T10:57:09Z")),
        &[],
    )
    .unwrap();
    assert_eq!(url, "https://h/api?from=2021-09-23T10%3A57%3A09%2B00%3A00");
}

#[test]
fn streams_example_date_time_initial_value_then_last_success() {
    let from = date_time("from", "yyyy-MM-dd'T'HH:mm:ss", Some("2021-09-22T09:56:09"));
    let first = build_url(
        "https://myserver/my-api",
        std::slice::from_ref(&from),
        ReferenceInstant::BeforeFirstSuccess {
            fallback: ts("2021-09-23T10:56:09Z"),
        },
        &[],
    )
    .unwrap();
    assert_eq!(
        first,
        "https://myserver/my-api?from=2021-09-22T09%3A56%3A09"
    );
    let next = build_url(
        "https://myserver/my-api",
        &[from],
        ReferenceInstant::LastSuccess(ts("2021-09-23T10:57:09Z")),
        &[],
    )
    .unwrap();
    assert_eq!(next, "https://myserver/my-api?from=2021-09-23T10%3A57%3A09");
}

#[test]
fn streams_example_timestamp_seconds_and_milliseconds() {
    let secs = timestamp("from", false, Some(1641290851));
    let first = build_url(
        "https://myserver/my-api",
        std::slice::from_ref(&secs),
        ReferenceInstant::BeforeFirstSuccess {
            fallback: ts("2022-01-05T10:00:00Z"),
        },
        &[],
    )
    .unwrap();
    assert_eq!(first, "https://myserver/my-api?from=1641290851");
    let later = build_url(
        "https://myserver/my-api",
        &[secs],
        ReferenceInstant::LastSuccess(ts("2022-01-05T10:07:31.999Z")),
        &[],
    )
    .unwrap();
    assert_eq!(later, "https://myserver/my-api?from=1641377251");

    let millis = timestamp("since", true, None);
    let url = build_url(
        "https://h/x",
        &[millis],
        ReferenceInstant::LastSuccess(ts("2022-01-03T15:40:29.123456Z")),
        &[],
    )
    .unwrap();
    assert_eq!(url, "https://h/x?since=1641224429123");
}

#[test]
fn before_first_success_without_initial_value_formats_the_fallback() {
    let params = [
        date_time("from", DEFAULT_PATTERN, None),
        timestamp("ts", true, None),
    ];
    let url = build_url(
        "https://h/x",
        &params,
        ReferenceInstant::BeforeFirstSuccess {
            fallback: ts("2024-02-29T23:59:55Z"),
        },
        &[],
    )
    .unwrap();
    assert_eq!(
        url,
        "https://h/x?from=2024-02-29T23%3A59%3A55Z&ts=1709251195000"
    );
}

#[test]
fn base_query_is_kept_and_parameters_follow_in_order() {
    let params = [timestamp("since", false, None)];
    let url = build_url(
        "https://h/x?fixed=a%20b&k=v",
        &params,
        ReferenceInstant::LastSuccess(ts("1970-01-01T00:01:40Z")),
        &pairs(&[("page", "2"), ("q", "a b&c=d/é")]),
    )
    .unwrap();
    assert_eq!(
        url,
        "https://h/x?fixed=a%20b&k=v&since=100&page=2&q=a+b%26c%3Dd%2F%C3%A9"
    );
}

#[test]
fn a_parameter_already_in_the_base_query_is_replaced() {
    let url =
        with_parameters("https://h/x?page=1&keep=yes#frag", &pairs(&[("page", "3")])).unwrap();
    assert_eq!(url, "https://h/x?keep=yes&page=3#frag");
}

#[test]
fn invalid_base_urls_are_errors() {
    assert!(matches!(
        with_parameters("not a url", &pairs(&[("a", "b")])),
        Err(QueryError::InvalidUrl { .. })
    ));
    assert!(matches!(
        with_parameters("mailto:x@example.com", &pairs(&[("a", "b")])),
        Err(QueryError::CannotBeABase { .. })
    ));
}

#[test]
fn url_safe_names() {
    for ok in ["from", "since_key", "a-b.c~d", "X9"] {
        assert!(is_url_safe(ok), "{ok}");
    }
    for bad in ["", "a b", "a&b", "a=b", "é", "a+b", "a/b", "a%20"] {
        assert!(!is_url_safe(bad), "{bad}");
    }
}

// ---------------------------------------------------------------- pagination

/// Runs a paginator against scripted pages: `(expected request URL, body, Link header)`.
/// Returns the requested URLs and the final result of the last `next` call.
fn drive(
    paginator: &mut Paginator,
    base: &str,
    pages: &[(&str, Value, Option<&str>)],
) -> (Vec<String>, Result<Option<PageRequest>, PaginationError>) {
    let mut request = paginator.first_request(base).unwrap();
    let mut urls = Vec::new();
    for (i, (expected, body, link)) in pages.iter().enumerate() {
        assert_eq!(request.url, *expected, "request {i}");
        assert_eq!(request.index, i);
        urls.push(request.url.clone());
        let empty = body
            .pointer("/items")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        match paginator.next(&request.url, body, *link, empty) {
            Ok(Some(next)) if i + 1 < pages.len() => request = next,
            other => {
                assert_eq!(i + 1, pages.len(), "stopped early at page {i}: {other:?}");
                return (urls, other);
            }
        }
    }
    unreachable!("script ended while the paginator still wanted pages")
}

fn size(name: &str, value: u64) -> PageSize {
    PageSize {
        parameter_name: name.into(),
        value,
    }
}

fn body_value(pointer: &str) -> NextReference {
    NextReference::Body {
        pointer: pointer.into(),
        kind: NextReferenceKind::Value,
    }
}

fn body_uri(pointer: &str) -> NextReference {
    NextReference::Body {
        pointer: pointer.into(),
        kind: NextReferenceKind::Uri,
    }
}

#[test]
fn page_mode_with_body_value_counts_pages_from_initial() {
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: size("pageSize", 2),
        },
        body_value("/next"),
        1000,
    );
    let (urls, end) = drive(
        &mut p,
        "http://h/api?since=5",
        &[
            (
                "http://h/api?since=5&page=1&pageSize=2",
                json!({"items": [1, 2], "next": 2}),
                None,
            ),
            (
                "http://h/api?since=5&page=2&pageSize=2",
                json!({"items": [3, 4], "next": "3"}),
                None,
            ),
            (
                "http://h/api?since=5&page=3&pageSize=2",
                json!({"items": [5], "next": null}),
                None,
            ),
        ],
    );
    assert_eq!(urls.len(), 3);
    assert_eq!(end, Ok(None));
    assert_eq!(p.pages(), 3);
}

#[test]
fn page_mode_accepts_a_has_more_flag() {
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "p".into(),
            initial: 0,
            page_size: size("n", 5),
        },
        body_value("/hasMore"),
        10,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/",
        &[
            (
                "http://h/?p=0&n=5",
                json!({"items": [1], "hasMore": true}),
                None,
            ),
            (
                "http://h/?p=1&n=5",
                json!({"items": [2], "hasMore": true}),
                None,
            ),
            (
                "http://h/?p=2&n=5",
                json!({"items": [3], "hasMore": false}),
                None,
            ),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn page_mode_with_header_links_drives_the_page_parameter() {
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: size("per_page", 2),
        },
        NextReference::LinkHeader,
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://my-host/api",
        &[
            (
                "http://my-host/api?page=1&per_page=2",
                json!({"items": [1, 2]}),
                Some(
                    r#"<http://my-host/api?per_page=2&page=2>; rel="next", <http://my-host/api?per_page=2&page=36>; rel="last""#,
                ),
            ),
            (
                "http://my-host/api?page=2&per_page=2",
                json!({"items": [3, 4]}),
                Some(r#"<http://my-host/api?per_page=2&page=3>; rel=next"#),
            ),
            (
                "http://my-host/api?page=3&per_page=2",
                json!({"items": [5]}),
                Some(r#"<http://my-host/api?per_page=2&page=1>; rel="first""#),
            ),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn offset_mode_adds_the_limit_and_encodes_values() {
    let mut p = Paginator::new(
        PaginationKind::Offset {
            parameter: "offset".into(),
            limit_parameter: "limit".into(),
            limit: 100,
            initial: 1,
        },
        body_value("/meta/next"),
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/items",
        &[
            (
                "http://h/items?offset=1&limit=100",
                json!({"items": [1], "meta": {"next": "x"}}),
                None,
            ),
            (
                "http://h/items?offset=101&limit=100",
                json!({"items": [2], "meta": {"next": "y"}}),
                None,
            ),
            (
                "http://h/items?offset=201&limit=100",
                json!({"items": [3], "meta": {}}),
                None,
            ),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn keyset_mode_sends_no_key_first_then_the_value_encoded() {
    let mut p = Paginator::new(
        PaginationKind::Keyset {
            parameter_name: "since_key".into(),
            page_size: size("pageSize", 10),
        },
        body_value("/last"),
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/items",
        &[
            (
                "http://h/items?pageSize=10",
                json!({"items": [1], "last": "2024-01-01T00:00:00+01:00"}),
                None,
            ),
            (
                "http://h/items?since_key=2024-01-01T00%3A00%3A00%2B01%3A00&pageSize=10",
                json!({"items": [2], "last": 42}),
                None,
            ),
            (
                "http://h/items?since_key=42&pageSize=10",
                json!({"items": []}),
                None,
            ),
        ],
    );
    // The last page is empty: the end, even without looking at the reference.
    assert_eq!(end, Ok(None));
}

#[test]
fn cursor_mode_with_body_value() {
    let mut p = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "cursor".into(),
            page_size: size("n", 5),
        },
        body_value("/cursor"),
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/items?x=1",
        &[
            (
                "http://h/items?x=1&n=5",
                json!({"items": [1], "cursor": "a+b/c=="}),
                None,
            ),
            (
                "http://h/items?x=1&cursor=a%2Bb%2Fc%3D%3D&n=5",
                json!({"items": [2], "cursor": ""}),
                None,
            ),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn cursor_mode_with_header_links_follows_them() {
    let mut p = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "cursor".into(),
            page_size: size("limit", 2),
        },
        NextReference::LinkHeader,
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "https://h/v1/items",
        &[
            (
                "https://h/v1/items?limit=2",
                json!({"items": [1]}),
                Some(r#"</v1/items?cursor=abc&limit=2>; rel="next""#),
            ),
            (
                "https://h/v1/items?cursor=abc&limit=2",
                json!({"items": [2]}),
                None,
            ),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn uri_references_are_resolved_against_the_request_url_and_followed_as_given() {
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: size("pageSize", 100),
        },
        body_uri("/links/next"),
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://my-host/api/v2/items",
        &[
            (
                "http://my-host/api/v2/items?page=1&pageSize=100",
                json!({"items": [1], "links": {"next": "items?token=t%2B1"}}),
                None,
            ),
            (
                "http://my-host/api/v2/items?token=t%2B1",
                json!({"items": [2], "links": {"next": "/other/path?p=3"}}),
                None,
            ),
            (
                "http://my-host/other/path?p=3",
                json!({"items": [3], "links": {"next": "https://elsewhere/x"}}),
                None,
            ),
            (
                "https://elsewhere/x",
                json!({"items": [4], "links": {}}),
                None,
            ),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn a_repeated_uri_reference_is_a_loop() {
    let mut p = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "c".into(),
            page_size: size("n", 5),
        },
        body_uri("/next"),
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/a",
        &[
            ("http://h/a?n=5", json!({"items": [1], "next": "/b"}), None),
            (
                "http://h/b",
                json!({"items": [2], "next": "http://h/a?n=5"}),
                None,
            ),
        ],
    );
    assert_eq!(
        end,
        Err(PaginationError::Loop {
            reference: "http://h/a?n=5".into()
        })
    );
}

#[test]
fn a_repeated_cursor_value_is_a_loop() {
    let mut p = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "c".into(),
            page_size: size("n", 5),
        },
        body_value("/next"),
        1000,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/a",
        &[
            ("http://h/a?n=5", json!({"items": [1], "next": "k1"}), None),
            (
                "http://h/a?c=k1&n=5",
                json!({"items": [2], "next": "k2"}),
                None,
            ),
            (
                "http://h/a?c=k2&n=5",
                json!({"items": [3], "next": "k1"}),
                None,
            ),
        ],
    );
    assert_eq!(
        end,
        Err(PaginationError::Loop {
            reference: "k1".into()
        })
    );
}

#[test]
fn a_repeated_header_link_is_a_loop_even_in_page_mode() {
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: size("n", 5),
        },
        NextReference::LinkHeader,
        1000,
    );
    let link = Some(r#"<http://h/a?page=2>; rel="next""#);
    let (_, end) = drive(
        &mut p,
        "http://h/a",
        &[
            ("http://h/a?page=1&n=5", json!({"items": [1]}), link),
            ("http://h/a?page=2&n=5", json!({"items": [2]}), link),
        ],
    );
    assert!(matches!(end, Err(PaginationError::Loop { .. })), "{end:?}");
}

#[test]
fn max_pages_reached_with_more_to_fetch_is_an_error() {
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: size("n", 5),
        },
        body_value("/more"),
        2,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/a",
        &[
            (
                "http://h/a?page=1&n=5",
                json!({"items": [1], "more": true}),
                None,
            ),
            (
                "http://h/a?page=2&n=5",
                json!({"items": [2], "more": true}),
                None,
            ),
        ],
    );
    assert_eq!(end, Err(PaginationError::MaxPages { max_pages: 2 }));

    // Exactly max_pages pages, the last one without a next reference: fine.
    let mut p = Paginator::new(
        PaginationKind::Page {
            parameter: "page".into(),
            initial: 1,
            page_size: size("n", 5),
        },
        body_value("/more"),
        2,
    );
    let (_, end) = drive(
        &mut p,
        "http://h/a",
        &[
            (
                "http://h/a?page=1&n=5",
                json!({"items": [1], "more": true}),
                None,
            ),
            ("http://h/a?page=2&n=5", json!({"items": [2]}), None),
        ],
    );
    assert_eq!(end, Ok(None));
}

#[test]
fn an_empty_page_stops_even_with_a_next_reference() {
    let mut p = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "c".into(),
            page_size: size("n", 5),
        },
        body_value("/next"),
        1000,
    );
    let first = p.first_request("http://h/a").unwrap();
    assert_eq!(
        p.next(&first.url, &json!({"items": [], "next": "k"}), None, true),
        Ok(None)
    );
}

#[test]
fn invalid_references_are_errors() {
    let make = |kind| {
        let mut p = Paginator::new(
            PaginationKind::Cursor {
                parameter_name: "c".into(),
                page_size: size("n", 5),
            },
            NextReference::Body {
                pointer: "/next".into(),
                kind,
            },
            1000,
        );
        let first = p.first_request("http://h/a").unwrap();
        (p, first.url)
    };
    let (mut p, url) = make(NextReferenceKind::Value);
    assert!(matches!(
        p.next(&url, &json!({"next": {"k": 1}}), None, false),
        Err(PaginationError::InvalidReference { .. })
    ));
    let (mut p, url) = make(NextReferenceKind::Value);
    // `true` is only a flag in page and offset modes.
    assert!(matches!(
        p.next(&url, &json!({"next": true}), None, false),
        Err(PaginationError::InvalidReference { .. })
    ));
    let (mut p, url) = make(NextReferenceKind::Uri);
    assert!(matches!(
        p.next(&url, &json!({"next": 3}), None, false),
        Err(PaginationError::InvalidReference { .. })
    ));
    let (mut p, url) = make(NextReferenceKind::Uri);
    assert!(matches!(
        p.next(&url, &json!({"next": "file:///etc/passwd"}), None, false),
        Err(PaginationError::Unresolvable { .. })
    ));
    let mut fresh = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "c".into(),
            page_size: size("n", 5),
        },
        NextReference::LinkHeader,
        5,
    );
    assert_eq!(
        fresh.next("http://h/", &json!({}), None, false),
        Err(PaginationError::NotStarted)
    );
}

#[test]
fn first_request_resets_the_state_for_a_new_cycle() {
    let mut p = Paginator::new(
        PaginationKind::Cursor {
            parameter_name: "c".into(),
            page_size: size("n", 5),
        },
        body_value("/next"),
        1000,
    );
    for _ in 0..2 {
        let first = p.first_request("http://h/a").unwrap();
        let second = p
            .next(&first.url, &json!({"next": "k1"}), None, false)
            .unwrap()
            .unwrap();
        assert_eq!(second.url, "http://h/a?c=k1&n=5");
        assert_eq!(p.next(&second.url, &json!({}), None, false), Ok(None));
    }
}

#[test]
fn link_header_parsing() {
    assert_eq!(next_link(""), None);
    assert_eq!(next_link("garbage"), None);
    assert_eq!(next_link(r#"<http://h/1>; rel="prev""#), None);
    assert_eq!(
        next_link(r#"<http://h/2>;rel=next"#).as_deref(),
        Some("http://h/2")
    );
    assert_eq!(
        next_link(r#"<http://h/2> ; REL = "Next""#).as_deref(),
        Some("http://h/2")
    );
    // Several relation types in one rel, other parameters with quoted commas and semicolons.
    assert_eq!(
        next_link(
            r#"<http://h/1>; rel="first prev", <http://h/3>; title="p, q; r"; rel="last next""#
        )
        .as_deref(),
        Some("http://h/3")
    );
    // Escaped quote inside a quoted parameter.
    assert_eq!(
        next_link(r#"<http://h/a>; title="x\"y, z"; rel="prev", <http://h/b>; rel="next""#)
            .as_deref(),
        Some("http://h/b")
    );
    // A comma inside the target is not a link separator; `rel` is only taken once.
    let links = parse_links(r#"<http://h/x?a=1,2>; rel="next"; rel="prev""#);
    assert_eq!(
        links,
        vec![("http://h/x?a=1,2".to_string(), vec!["next".to_string()])]
    );
    // Unknown junk between links is skipped.
    assert_eq!(
        next_link(r#"<http://h/1>; rel="prev" junk, <http://h/2>; rel="next""#).as_deref(),
        Some("http://h/2")
    );
}

#[test]
fn merge_concatenates_arrays_and_wraps_other_values() {
    let pages = vec![
        json!({"items": [1, 2], "next": 2}),
        json!({"items": {"single": true}}),
        json!({"items": [3]}),
        json!({"items": "x"}),
    ];
    assert_eq!(
        merge(pages, Some("/items")).unwrap(),
        json!([1, 2, {"single": true}, 3, "x"])
    );
    assert_eq!(
        merge(vec![json!([1]), json!({"a": 1}), json!([])], None).unwrap(),
        json!([1, {"a": 1}])
    );
    assert_eq!(
        merge(vec![json!({"a": 1})], Some("")).unwrap(),
        json!([{"a": 1}])
    );
    assert_eq!(merge(vec![], Some("/items")).unwrap(), json!([]));
    assert_eq!(
        merge(
            vec![json!({"items": []}), json!({"other": 1})],
            Some("/items")
        ),
        Err(MergeError::Pointer {
            page: 1,
            source: PointerError::Unresolved {
                pointer: "/items".into()
            }
        })
    );
}

// ---------------------------------------------------------------- payloadPointer

#[test]
fn pointer_selection() {
    let body = json!({"data": {"a/b": [10, 20], "m~n": "tilde", "": "empty key"}});
    assert_eq!(select(&body, "").unwrap(), &body);
    assert_eq!(select(&body, "/data/a~1b/1").unwrap(), &json!(20));
    assert_eq!(select(&body, "/data/m~0n").unwrap(), &json!("tilde"));
    assert_eq!(select(&body, "/data/").unwrap(), &json!("empty key"));
    assert_eq!(
        select_owned(body.clone(), "/data/a~1b").unwrap(),
        json!([10, 20])
    );
    assert_eq!(
        select(&body, "/data/missing"),
        Err(PointerError::Unresolved {
            pointer: "/data/missing".into()
        })
    );
    assert!(matches!(
        select(&body, "/data/a~1b/2"),
        Err(PointerError::Unresolved { .. })
    ));
    assert!(matches!(
        select_owned(body.clone(), "/nope"),
        Err(PointerError::Unresolved { .. })
    ));
    assert!(matches!(
        select(&body, "data"),
        Err(PointerError::Invalid { .. })
    ));
    assert!(matches!(
        validate_pointer("/a~2"),
        Err(PointerError::Invalid { .. })
    ));
    assert!(matches!(
        validate_pointer("/a~"),
        Err(PointerError::Invalid { .. })
    ));
    assert!(validate_pointer("/a~0~1/b").is_ok());
    assert!(validate_pointer("").is_ok());
}

// ---------------------------------------------------------------- transform (jq via jaq)

#[test]
fn jq_map_selects_fields() {
    let t = Transform::compile(".items | map({id, name})").unwrap();
    assert_eq!(t.as_str(), ".items | map({id, name})");
    let out = t
        .apply(json!({"items": [
            {"id": 1, "name": "a", "extra": true},
            {"id": 2, "name": "b", "extra": false}
        ]}))
        .unwrap();
    assert_eq!(out, json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]));
}

#[test]
fn jq_must_produce_exactly_one_output() {
    let t = Transform::compile(".items[] | select(.n > 1) | .n").unwrap();
    assert_eq!(
        t.apply(json!({"items": [{"n": 1}, {"n": 2}, {"n": 3}]})),
        Err(TransformError::SeveralOutputs)
    );
    // Exactly one output, even an array, is the payload.
    assert_eq!(
        t.apply(json!({"items": [{"n": 1}, {"n": 2}]})).unwrap(),
        json!(2)
    );
    let t = Transform::compile("[.items[] | select(.n > 1) | .n]").unwrap();
    assert_eq!(
        t.apply(json!({"items": [{"n": 1}, {"n": 2}, {"n": 3}]}))
            .unwrap(),
        json!([2, 3])
    );
    assert_eq!(
        Transform::compile("empty").unwrap().apply(json!(1)),
        Err(TransformError::NoOutput)
    );
    let message = TransformError::SeveralOutputs.to_string();
    assert!(message.contains("[...]"), "{message}");
}

#[test]
fn jq_values_round_trip() {
    let t = Transform::compile(".").unwrap();
    let v = json!({
        "big": 12345678901234567_i64,
        "neg": -3,
        "float": 1.5,
        "s": "é\"\n",
        "nested": [null, true, {"k": []}],
        "order": {"z": 1, "a": 2}
    });
    assert_eq!(t.apply(v.clone()).unwrap(), v);
    let t = Transform::compile("{sum: (.a + .b), keys: (.o | keys), len: (.s | length)}").unwrap();
    assert_eq!(
        t.apply(json!({"a": 1, "b": 2.5, "o": {"y": 1, "x": 2}, "s": "héllo"}))
            .unwrap(),
        json!({"sum": 3.5, "keys": ["x", "y"], "len": 5})
    );
}

#[test]
fn jq_compile_errors_are_readable() {
    let err = Transform::compile(".items | map(").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid jq filter: expected closing parenthesis, found end of input at 13"
    );
    assert_eq!(
        Transform::compile("if . then 1").unwrap_err(),
        TransformError::Compile("expected else or end, found end of input at 11".into())
    );
    assert_eq!(
        Transform::compile("}").unwrap_err(),
        TransformError::Compile("expected token, found '}' at 0".into())
    );

    let err = Transform::compile(".a | nosuchfilter(1)").unwrap_err();
    assert_eq!(
        err,
        TransformError::Compile("undefined filter 'nosuchfilter/1' at 5".into())
    );
    let err = Transform::compile("$nope").unwrap_err();
    assert!(
        matches!(err, TransformError::Compile(ref m) if m.contains("variable")),
        "{err}"
    );
    for bad in ["", "}", "\"unterminated", ".a +", "if . then 1"] {
        assert!(
            matches!(Transform::compile(bad), Err(TransformError::Compile(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn jq_runtime_errors_are_values() {
    let t = Transform::compile(".a + 1").unwrap();
    let err = t.apply(json!({"a": "text"})).unwrap_err();
    assert!(matches!(err, TransformError::Runtime(_)), "{err:?}");
    let t = Transform::compile(r#"error("custom")"#).unwrap();
    assert_eq!(
        t.apply(json!(null)).unwrap_err(),
        TransformError::Runtime("custom".into())
    );
    assert_eq!(
        Transform::compile(".a + 1")
            .unwrap()
            .apply(json!({"a": "text"})),
        Err(TransformError::Runtime(
            r#"cannot calculate "text" + 1"#.into()
        ))
    );
    // A non-string error value prints as JSON.
    let t = Transform::compile("error({a: 1})").unwrap();
    assert_eq!(
        t.apply(json!(null)),
        Err(TransformError::Runtime(r#"{"a":1}"#.into()))
    );
    let t = Transform::compile(".a | keys").unwrap();
    assert!(matches!(
        t.apply(json!({"a": "s"})),
        Err(TransformError::Runtime(_))
    ));
}

#[test]
fn jq_does_not_reach_outside_the_payload() {
    // No environment (secrets), no $ENV, no inputs.
    assert!(matches!(
        Transform::compile("env"),
        Err(TransformError::Compile(_))
    ));
    assert!(matches!(
        Transform::compile("$ENV"),
        Err(TransformError::Compile(_))
    ));
    assert!(matches!(
        Transform::compile("input"),
        Err(TransformError::Compile(_))
    ));
    // halt is a runtime error, never a process exit.
    let t = Transform::compile("halt_error(3)").unwrap();
    assert!(matches!(
        t.apply(json!("x")),
        Err(TransformError::Runtime(_))
    ));
    // debug and stderr pass their input through silently.
    let t = Transform::compile("debug | stderr | .a").unwrap();
    assert_eq!(t.apply(json!({"a": 1})).unwrap(), json!(1));
}

#[test]
fn jq_productive_infinite_filters_stop_at_the_second_output() {
    let t = Transform::compile("repeat(1)").unwrap();
    assert_eq!(t.apply(json!(0)), Err(TransformError::SeveralOutputs));
    let t = Transform::compile("first(repeat(1))").unwrap();
    assert_eq!(t.apply(json!(0)).unwrap(), json!(1));
}

#[test]
fn jq_outputs_that_are_not_json_are_refused() {
    // jq would print NaN as null and infinities as huge numbers; here they are refused.
    for (filter, shown) in [
        ("nan", "NaN"),
        ("infinite", "Infinity"),
        ("{(1): 2}", "{1:2}"),
        ("tobytes", "b\"x\""),
    ] {
        assert_eq!(
            Transform::compile(filter).unwrap().apply(json!("x")),
            Err(TransformError::NotJson(shown.into())),
            "{filter}"
        );
    }
}
