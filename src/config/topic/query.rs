//! `computedQueryParameters` of an http-poller topic (query parameters computed from the
//! last-success instant) and the rule every query parameter name follows: URL-safe, and used
//! once across `url`, `computedQueryParameters` and `pagination`.

use super::time_pattern::{DEFAULT_PATTERN, TimePattern};
use crate::config::node::{Node, Result};

/// One entry of `computedQueryParameters`: a query parameter computed from the last-success
/// instant of the poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedParameter {
    /// The entry's key: the query parameter name, URL-safe (RFC 3986 unreserved characters:
    /// `A-Z a-z 0-9 - . _ ~`), not empty.
    pub name: String,
    /// `type` (required): `date-time` or `timestamp`, with their own keys.
    pub kind: ComputedKind,
    /// `reference` (default `last-success`, the only value).
    pub reference: Reference,
}

/// `type` of a computed query parameter, with the keys that belong to it.
#[derive(Debug, Clone, PartialEq)]
pub enum ComputedKind {
    /// `date-time`: the instant formatted in UTC with a Java `DateTimeFormatter` pattern.
    DateTime {
        /// `pattern` (default `yyyy-MM-dd'T'HH:mm:ssXXX`).
        pattern: TimePattern,
        /// `initialValue` (default: none, meaning `now - pollingPeriod`): sent as given before
        /// the first success. A non-empty string; not checked against `pattern`.
        initial_value: Option<String>,
    },
    /// `timestamp`: the instant as a Unix timestamp.
    Timestamp {
        /// `useMilliseconds` (default `false`): milliseconds instead of seconds.
        milliseconds: bool,
        /// `initialValue` (default: none, meaning `now - pollingPeriod`): a non-negative
        /// integer in the unit above, sent before the first success.
        initial_value: Option<u64>,
    },
}

/// `reference` of a computed query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reference {
    /// `last-success`: the start of the last cycle whose requests all succeeded.
    #[default]
    LastSuccess,
}

/// RFC 3986 unreserved characters: `A-Z a-z 0-9 - . _ ~`.
pub fn is_url_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a query parameter name (URL-safe, not used before) and records it with `owner`, the
/// key that uses it.
pub(super) fn claim_query_name(
    node: &Node,
    name: &str,
    owner: &str,
    names: &mut Vec<(String, String)>,
) -> Result<()> {
    if !is_url_safe(name) {
        return Err(node.error(format!(
            "query parameter name \"{name}\" is not URL-safe (use A-Z a-z 0-9 - . _ ~)"
        )));
    }
    if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
        return Err(node.error(format!(
            "query parameter \"{name}\" is already set by {first}"
        )));
    }
    names.push((name.to_string(), owner.to_string()));
    Ok(())
}

pub(super) fn computed_parameters(
    node: &Node,
    names: &mut Vec<(String, String)>,
) -> Result<Vec<ComputedParameter>> {
    let obj = node.object()?;
    let mut out = Vec::new();
    for (name, entry) in obj.entries() {
        claim_query_name(&entry, name, &entry.path, names)?;
        out.push(computed_parameter(name, &entry)?);
    }
    Ok(out)
}

fn computed_parameter(name: &str, node: &Node) -> Result<ComputedParameter> {
    let obj = node.object()?;
    let kind = obj.required("type")?.one_of(&["date-time", "timestamp"])?;
    let kind = if kind == "date-time" {
        obj.only(&["type", "reference", "pattern", "initialValue"])?;
        let pattern = match obj.get("pattern") {
            Some(n) => {
                let text = n.str()?;
                TimePattern::parse(text).map_err(|e| {
                    n.error(format!("invalid Java date-time pattern \"{text}\": {e}"))
                })?
            }
            None => TimePattern::parse(DEFAULT_PATTERN).expect("the default pattern parses"),
        };
        let initial_value = obj.opt("initialValue", |n| n.non_empty_str().map(str::to_string))?;
        ComputedKind::DateTime {
            pattern,
            initial_value,
        }
    } else {
        obj.only(&["type", "reference", "useMilliseconds", "initialValue"])?;
        ComputedKind::Timestamp {
            milliseconds: obj.opt("useMilliseconds", Node::bool)?.unwrap_or(false),
            initial_value: obj.opt("initialValue", Node::u64)?,
        }
    };
    obj.opt("reference", |n| n.one_of(&["last-success"]))?;
    Ok(ComputedParameter {
        name: name.to_string(),
        kind,
        reference: Reference::LastSuccess,
    })
}
