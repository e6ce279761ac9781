//! JSON text to a WAMP [`Value`], integer literals of any size kept exact.
//!
//! Two paths. serde_json reads almost every message, as it always has: it is fast, but its
//! numbers stop at 64 bits and a larger integer literal would silently become an f64. Its
//! `arbitrary_precision` feature is no way out: it applies to the whole build, makes every
//! JSON number a heap string, changes the number equality of `serde_json::Value` that the
//! http poller compares documents with, and breaks the poller's `deserialize_any` visitors.
//!
//! An integer beyond 64 bits takes at least 19 digits (no 18-digit integer overflows `i64`),
//! so a message without a run of 19 ASCII digits goes to serde_json unchanged. One with such a
//! run (a big integer, but also a long digit string or a precise decimal fraction) is read
//! with hifijson, which lexes numbers as text, and converted with the rules of the serde path:
//! a string that starts with NUL and holds base64 is bytes, integers are `Int`, `UInt` or
//! `BigInt`, other numbers `f64`, a repeated key keeps its last value, the same nesting limit,
//! nothing but whitespace after the value.

use std::borrow::Cow;

use hifijson::num::{LexWrite as _, Parts};
use hifijson::token::Lex;
use hifijson::{Expect, SliceLexer, str::LexAlloc as _};
use num_bigint::BigInt;

use super::MAX_DEPTH;
use crate::wamp::value::{Dict, Value, json_string_to_bytes};

/// The shortest run of digits that can be an integer beyond 64 bits (`i64::MIN` has 19).
const BIG_INTEGER_DIGITS: usize = 19;

/// One JSON value, the whole of `text`. The error says what is wrong, without "invalid JSON".
pub fn decode(text: &[u8]) -> Result<Value, String> {
    if has_long_digit_run(text) {
        decode_exact(text)
    } else {
        serde_json::from_slice(text).map_err(|e| explain(&e, text))
    }
}

/// serde_json's error, or for a lone UTF-16 surrogate escape (`"\ud800"` without its pair),
/// which serde_json reports as "unexpected end of hex escape" or, for a trailing one, "lone
/// leading surrogate", what is wrong in words.
fn explain(e: &serde_json::Error, text: &[u8]) -> String {
    let message = e.to_string();
    let about_escape = message.starts_with("unexpected end of hex escape")
        || message.starts_with("lone leading surrogate");
    if about_escape && has_surrogate_escape(text) {
        return format!(
            "a \\u escape is half of a UTF-16 surrogate pair (\\ud800-\\udfff) without the \
             other half, which is no Unicode character (line {}, column {})",
            e.line(),
            e.column()
        );
    }
    message
}

/// Whether `text` has a `\uD800`..`\uDFFF` escape (either case).
fn has_surrogate_escape(text: &[u8]) -> bool {
    text.windows(4).any(|w| {
        w[..2] == *b"\\u"
            && w[2].eq_ignore_ascii_case(&b'd')
            && matches!(w[3].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
    })
}

/// Whether `text` has [`BIG_INTEGER_DIGITS`] ASCII digits in a row. Only every 19th byte is
/// probed (every such run covers one), and the run measured around a probe that is a digit:
/// it reaches back at most 18 bytes, as the probe before was not in it.
fn has_long_digit_run(text: &[u8]) -> bool {
    let digit = |b: &&u8| b.is_ascii_digit();
    (BIG_INTEGER_DIGITS - 1..text.len())
        .step_by(BIG_INTEGER_DIGITS)
        .any(|probe| {
            text[probe].is_ascii_digit() && {
                let before = text[..probe].iter().rev().take_while(digit).count();
                let after = text[probe + 1..].iter().take_while(digit).count();
                before + 1 + after >= BIG_INTEGER_DIGITS
            }
        })
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Lex(#[from] hifijson::Error),
    #[error("number out of range")]
    OutOfRange,
    #[error("recursion limit exceeded")]
    TooDeep,
}

impl From<Expect> for ReadError {
    fn from(e: Expect) -> Self {
        ReadError::Lex(e.into())
    }
}

impl From<hifijson::str::Error> for ReadError {
    fn from(e: hifijson::str::Error) -> Self {
        ReadError::Lex(e.into())
    }
}

/// The slow path: hifijson, numbers read from their text.
fn decode_exact(text: &[u8]) -> Result<Value, String> {
    let mut lexer = SliceLexer::new(text);
    lexer
        .exactly_one(SliceLexer::ws_peek, |next, lexer| {
            value(next, lexer, MAX_DEPTH)
        })
        .map_err(|e: ReadError| {
            let at = text.len() - lexer.as_slice().len();
            format!("{e} at byte {at}")
        })
}

/// The value that starts with `next` (peeked, not taken); `depth` levels of nesting left.
fn value(next: u8, lexer: &mut SliceLexer, depth: usize) -> Result<Value, ReadError> {
    match next {
        b'a'..=b'z' => match lexer.null_or_bool().ok_or(Expect::Value)? {
            None => Ok(Value::Null),
            Some(b) => Ok(Value::Bool(b)),
        },
        b'0'..=b'9' | b'-' => {
            let (text, parts) = lexer
                .num_string()
                .validated()
                .map_err(hifijson::Error::from)?;
            number(text, &parts)
        }
        b'"' => Ok(string(lexer.discarded().str_string()?)),
        b'[' => {
            let depth = nested(depth)?;
            let mut list = Vec::new();
            lexer
                .discarded()
                .seq(b']', SliceLexer::ws_peek, |next, lexer| {
                    list.push(value(next, lexer, depth)?);
                    Ok::<_, ReadError>(())
                })?;
            Ok(Value::List(list))
        }
        b'{' => {
            let depth = nested(depth)?;
            let mut dict = Dict::new();
            lexer
                .discarded()
                .seq(b'}', SliceLexer::ws_peek, |next, lexer| {
                    lexer.expect(|_| Some(next), b'"').ok_or(Expect::String)?;
                    let key = lexer.str_string()?.into_owned();
                    lexer
                        .expect(SliceLexer::ws_peek, b':')
                        .ok_or(Expect::Colon)?;
                    let next = lexer.ws_peek().ok_or(Expect::Value)?;
                    // As serde_json: a repeated key keeps its last value.
                    dict.insert(key, value(next, lexer, depth)?);
                    Ok::<_, ReadError>(())
                })?;
            Ok(Value::Dict(dict))
        }
        _ => Err(Expect::Value.into()),
    }
}

fn nested(depth: usize) -> Result<usize, ReadError> {
    depth
        .checked_sub(1)
        .filter(|left| *left > 0)
        .ok_or(ReadError::TooDeep)
}

/// A number from its (valid JSON) text, as serde_json would read it but for integers beyond
/// 64 bits, which stay exact.
fn number(text: &str, parts: &Parts) -> Result<Value, ReadError> {
    if !parts.is_int() {
        return match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(ReadError::OutOfRange),
        };
    }
    if text == "-0" {
        // serde_json reads a negative zero as the float.
        return Ok(Value::Float(-0.0));
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    let n: BigInt = text.parse().map_err(|_| ReadError::OutOfRange)?;
    Ok(Value::from_bigint(n))
}

fn string(s: Cow<str>) -> Value {
    match json_string_to_bytes(&s) {
        Some(bytes) => Value::Bytes(bytes),
        None => Value::String(s.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_surrogate_escape_is_explained() {
        for text in [r#"["\ud800"]"#, r#"["\udc00"]"#, r#"["\uD800\u0041"]"#] {
            let e = decode(text.as_bytes()).unwrap_err();
            assert!(e.contains("surrogate pair"), "{text}: {e}");
        }
        // Other escape errors keep serde_json's words; a real pair is fine.
        let e = decode(br#"["\u12"]"#).unwrap_err();
        assert!(!e.contains("surrogate"), "{e}");
        assert_eq!(
            decode(br#"["\ud83d\ude00"]"#),
            Ok(Value::List(vec![Value::String("\u{1f600}".into())]))
        );
    }

    #[test]
    fn digit_runs_are_found_wherever_they_are() {
        let run = "1234567890123456789";
        for prefix in 0..40 {
            for suffix in 0..40 {
                let text = format!("{}{run}{}", "x".repeat(prefix), "y".repeat(suffix));
                assert!(has_long_digit_run(text.as_bytes()), "{text}");
                let short = format!("{}{}{}", "x".repeat(prefix), &run[1..], "y".repeat(suffix));
                assert!(!has_long_digit_run(short.as_bytes()), "{short}");
            }
        }
        // 18-digit runs side by side are not one run.
        assert!(!has_long_digit_run(
            b"[123456789012345678,123456789012345678,123456789012345678]"
        ));
        assert!(has_long_digit_run(b"9223372036854775808"));
        assert!(!has_long_digit_run(b""));
    }

    /// The slow path reads what serde_json reads the same way.
    #[test]
    fn both_paths_agree_within_64_bits() {
        for text in [
            r#"[1, -1, 0, -0, 9223372036854775807, -9223372036854775808, 18446744073709551615]"#,
            r#"[1.5, -2.5e-3, 1E10, 0.1, 1e308, null, true, false]"#,
            r#"{"a": {"b": ["\u0000AAE=", "\u0000not base64", "x\ny\"z\\u00e9", "é"]}}"#,
            r#"{"k": 1, "k": 2, "j": [], "i": {}}"#,
            "  [ 1 , { } ]\n\t",
        ] {
            let fast: Value = serde_json::from_str(text).unwrap();
            let exact = decode_exact(text.as_bytes()).unwrap();
            assert_eq!(exact, fast, "{text}");
            assert_eq!(
                format!("{exact:?}"),
                format!("{fast:?}"),
                "{text} (negative zero)"
            );
        }
    }

    #[test]
    fn both_paths_refuse_the_same_input() {
        for text in [
            "",
            "[",
            "[1,]",
            "[1 2]",
            "{1: 2}",
            r#"{"a" 1}"#,
            r#"{"a": }"#,
            "01",
            "[01]",
            "1.",
            "-",
            "+1",
            "1e",
            "[1] x",
            "nul",
            "tru",
            r#""\x""#,
            r#""\ud800""#,
            r#""\udc00""#,
            "\"a\nb\"",
            "\"unterminated",
            "1e400",
            "[-1e400]",
            "NaN",
            "[Infinity]",
        ] {
            assert!(
                serde_json::from_str::<Value>(text).is_err(),
                "serde_json {text}"
            );
            assert!(decode_exact(text.as_bytes()).is_err(), "hifijson {text}");
        }
        assert!(decode_exact(b"\"\xff\"").is_err());
    }

    #[test]
    fn nesting_limit_is_serde_json_s() {
        let nested = |depth: usize, inner: &str| {
            format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
        };
        for inner in ["", "1", "{}"] {
            let fits = nested(127 - usize::from(inner == "{}"), inner);
            let too_deep = nested(128, inner);
            assert!(serde_json::from_str::<Value>(&fits).is_ok());
            assert!(decode_exact(fits.as_bytes()).is_ok(), "{inner}");
            assert!(serde_json::from_str::<Value>(&too_deep).is_err());
            let e = decode_exact(too_deep.as_bytes()).unwrap_err();
            assert!(e.contains("recursion limit"), "{e}");
        }
    }

    #[test]
    fn big_integers_are_exact() {
        let text = b"[340282366920938463463374607431768211455, -18446744073709551617,
                      -9223372036854775809, 9999999999999999999]";
        let v = decode(text).unwrap();
        let big = |decimal: &str| Value::from_bigint(decimal.parse().unwrap());
        let expected = Value::List(vec![
            big("340282366920938463463374607431768211455"),
            big("-18446744073709551617"),
            big("-9223372036854775809"),
            Value::UInt(9_999_999_999_999_999_999),
        ]);
        assert_eq!(v, expected);
        assert!(matches!(&v.as_list().unwrap()[0], Value::BigInt(_)));
        // A long fraction is still a float.
        assert_eq!(
            decode(b"0.12345678901234567890").unwrap(),
            Value::Float(0.123_456_789_012_345_68)
        );
    }

    #[test]
    fn errors_say_where() {
        let e = decode(b"[12345678901234567890123, }").unwrap_err();
        assert_eq!(e, "value expected at byte 26");
        let e = decode(b"[12345678901234567890123] 1").unwrap_err();
        assert!(e.starts_with("end of file expected"), "{e}");
    }
}
