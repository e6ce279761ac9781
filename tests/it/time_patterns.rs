//! Java `DateTimeFormatter` patterns (the subset in `junction::config::topic::time_pattern`) against
//! what JDK 17 prints for them: `tests/data/time_patterns.json`, written by
//! `tests/data/gen/TimePatterns.java` (see the command at its top to regenerate it).
//!
//! - `cases`: pattern, instant (epoch seconds + nanos), offset, and Java's output;
//! - `java_rejects`: patterns `ofPattern` refuses, which the subset must refuse too;
//! - `unsupported`: patterns Java accepts and the subset refuses on purpose.

use std::path::PathBuf;

use jiff::Timestamp;
use jiff::tz::Offset;
use junction::config::topic::time_pattern::TimePattern;
use serde_json::Value as Json;

fn data() -> Json {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/time_patterns.json");
    let text = std::fs::read_to_string(&path).expect("tests/data/time_patterns.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn list<'a>(data: &'a Json, key: &str) -> &'a Vec<Json> {
    data[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array"))
}

fn text<'a>(case: &'a Json, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {case}"))
}

/// `ZoneOffset.getId()`: `Z`, `+05:30` or `+01:02:03`.
fn offset(id: &str) -> Offset {
    if id == "Z" {
        return Offset::UTC;
    }
    let sign = match &id[..1] {
        "+" => 1,
        "-" => -1,
        _ => panic!("offset {id}"),
    };
    let mut seconds = 0;
    for (part, unit) in id[1..].split(':').zip([3600, 60, 1]) {
        seconds += part.parse::<i32>().expect("offset digits") * unit;
    }
    Offset::from_seconds(sign * seconds).expect("offset in range")
}

#[test]
fn formats_like_java() {
    let data = data();
    let cases = list(&data, "cases");
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let pattern = text(case, "pattern");
        let instant = Timestamp::new(
            case["seconds"].as_i64().expect("seconds"),
            case["nanos"].as_i64().expect("nanos") as i32,
        )
        .expect("instant in jiff's range");
        let offset = offset(text(case, "offset"));
        let expected = text(case, "expected");
        match TimePattern::parse(pattern) {
            Ok(parsed) => {
                let got = parsed.format(instant, offset);
                if got != expected {
                    failures.push(format!(
                        "{pattern:?} at {} {}: got {got:?}, Java {expected:?}",
                        text(case, "instant"),
                        text(case, "offset"),
                    ));
                }
            }
            Err(e) => failures.push(format!("{pattern:?}: refused ({e}), Java {expected:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Java:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn refuses_what_java_refuses() {
    let data = data();
    for case in list(&data, "java_rejects") {
        let pattern = text(case, "pattern");
        assert!(
            TimePattern::parse(pattern).is_err(),
            "{pattern:?} parsed; Java says: {}",
            text(case, "java")
        );
    }
}

#[test]
fn refuses_what_the_subset_leaves_out() {
    let data = data();
    for case in list(&data, "unsupported") {
        let pattern = text(case, "pattern");
        assert!(
            TimePattern::parse(pattern).is_err(),
            "{pattern:?} parsed, but it is outside the subset (Java prints {:?})",
            text(case, "java")
        );
    }
}
