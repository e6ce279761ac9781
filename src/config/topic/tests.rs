use super::duration::{iso, parse_iso_duration};
use super::pointer::check_json_pointer;
use super::*;
use serde_json::json;

#[test]
fn iso_durations_print_as_java_does() {
    assert_eq!(iso(Duration::from_millis(500)), "PT0.5S");
    assert_eq!(iso(Duration::from_secs(3600)), "PT1H");
    assert_eq!(iso(Duration::ZERO), "PT0S");
    assert_eq!(iso(Duration::from_secs(60)), "PT1M");
}

#[test]
fn iso_durations_parse_java_forms_only() {
    let secs = |text: &str| parse_iso_duration(text).map(|d| d.as_secs_f64());
    assert_eq!(secs("PT5S"), Some(5.0));
    assert_eq!(secs("PT0.5S"), Some(0.5));
    assert_eq!(secs("PT1M30S"), Some(90.0));
    assert_eq!(secs("pt1h"), Some(3600.0));
    assert_eq!(secs("-PT1S"), Some(-1.0));
    // jiff's friendly format and bare numbers are not ISO-8601.
    assert_eq!(secs("5s"), None);
    assert_eq!(secs("5"), None);
    assert_eq!(secs(""), None);
    assert_eq!(secs("PT"), None);
}

#[test]
fn json_pointers_follow_rfc_6901() {
    for ok in ["", "/", "/items", "/a~0b/c~1d", "/0/x", "/ "] {
        assert!(check_json_pointer(ok).is_ok(), "{ok}");
    }
    for bad in ["items", "/a~", "/a~2", "/~x", "#/items"] {
        assert!(check_json_pointer(bad).is_err(), "{bad}");
    }
    assert_eq!(
        check_json_pointer("/a~2").unwrap_err(),
        "\"/a~2\" is not a JSON pointer (RFC 6901): '~' at 2 must be followed by 0 or 1"
    );
}

#[test]
fn url_safe_names_are_unreserved_characters() {
    for ok in ["from", "since_key", "a-b.c~d", "X9"] {
        assert!(is_url_safe(ok), "{ok}");
    }
    for bad in ["", "a b", "a&b", "a=b", "é", "a/b", "a+b", "a%20"] {
        assert!(!is_url_safe(bad), "{bad}");
    }
}

#[test]
fn loose_uris() {
    assert!(is_loose_uri("com.example.weather"));
    assert!(is_loose_uri("myHttpPollerTopic"));
    for bad in ["", "a..b", ".a", "a.", "a b", "a#b"] {
        assert!(!is_loose_uri(bad), "{bad}");
    }
}

#[test]
fn paths_start_at_the_given_prefix() {
    let topic = json!({"name": "t", "publisher": {"type": "http-poller", "config": {}}});
    let err = parse_topic(&topic, "").unwrap_err();
    assert_eq!(
        err.to_string(),
        "publisher.config.url: required key is missing"
    );
    let err = parse_topic(&topic, "topics[3]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "topics[3].publisher.config.url: required key is missing"
    );
}
