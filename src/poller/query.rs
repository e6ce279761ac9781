//! Request URLs of http-poller topics: `url` + `computedQueryParameters` + pagination
//! parameters (README.md, "http-poller topics", "Each poll": the URL with computed and
//! pagination parameters). Pure: no I/O, no clock; the caller passes the reference instant.
//!
//! Encoding: names and values are written with `application/x-www-form-urlencoded` rules
//! (the `url` crate's `form_urlencoded` serializer), so a `+` in an offset becomes `%2B`, `:`
//! becomes `%3A` and a space becomes `+`. The base URL's own query is kept as written, unless
//! one of its parameters has the name of a parameter added here: then that parameter is
//! replaced (the rest of the base query is re-serialized with the same rules) rather than
//! sent twice.

use jiff::Timestamp;
use jiff::tz::Offset;
use url::Url;

use crate::config::topic::{ComputedKind, ComputedParameter};

/// The instant the computed parameters' `reference` (`last-success`, the only one) stands for
/// in one poll cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceInstant {
    /// The persisted `last-success` instant (start of the last fully successful cycle).
    LastSuccess(Timestamp),
    /// No success yet: parameters with an `initialValue` send it verbatim, the others format
    /// `fallback`, which the caller computes as `now - pollingPeriod`.
    BeforeFirstSuccess { fallback: Timestamp },
}

/// Why no URL could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("URL '{url}' cannot carry query parameters")]
    CannotBeABase { url: String },
}

/// Computed parameters as the config loader built them ([`crate::config::topic::query`]),
/// formatted here.
impl ComputedParameter {
    /// Formats `instant` for this parameter (unencoded): `date-time` in UTC with its pattern,
    /// `timestamp` in seconds since the Unix epoch or milliseconds with `useMilliseconds` (both
    /// floored, as Java's `getEpochSecond` and `toEpochMilli`).
    pub fn format(&self, instant: Timestamp) -> String {
        match &self.kind {
            ComputedKind::DateTime { pattern, .. } => pattern.format(instant, Offset::UTC),
            ComputedKind::Timestamp { milliseconds, .. } => {
                let nanos = instant.as_nanosecond();
                let unit: i128 = if *milliseconds {
                    1_000_000
                } else {
                    1_000_000_000
                };
                nanos.div_euclid(unit).to_string()
            }
        }
    }

    /// The (unencoded) value for `reference`. Before the first success, `initialValue` is sent
    /// verbatim: the date-time text (which "must follow the pattern format") or the timestamp
    /// number in decimal.
    pub fn value(&self, reference: ReferenceInstant) -> String {
        match reference {
            ReferenceInstant::LastSuccess(instant) => self.format(instant),
            ReferenceInstant::BeforeFirstSuccess { fallback } => match &self.kind {
                ComputedKind::DateTime {
                    initial_value: Some(initial),
                    ..
                } => initial.clone(),
                ComputedKind::Timestamp {
                    initial_value: Some(initial),
                    ..
                } => initial.to_string(),
                _ => self.format(fallback),
            },
        }
    }
}

/// The name/value pairs of `computed` for `reference`, in order.
pub fn computed_pairs(
    computed: &[ComputedParameter],
    reference: ReferenceInstant,
) -> Vec<(String, String)> {
    computed
        .iter()
        .map(|p| (p.name.clone(), p.value(reference)))
        .collect()
}

/// The request URL: `base` + the computed parameters + `extra` (pagination parameters), in
/// that order, every name and value encoded (see the module documentation).
pub fn build_url(
    base: &str,
    computed: &[ComputedParameter],
    reference: ReferenceInstant,
    extra: &[(String, String)],
) -> Result<String, QueryError> {
    let mut pairs = computed_pairs(computed, reference);
    pairs.extend(extra.iter().cloned());
    with_parameters(base, &pairs)
}

/// `url` with `params` set: an existing parameter of the same name is replaced, the others of
/// the existing query are kept, and `params` are appended in order (see the module
/// documentation for the encoding).
pub fn with_parameters(url: &str, params: &[(String, String)]) -> Result<String, QueryError> {
    let mut parsed = Url::parse(url).map_err(|e| QueryError::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    if parsed.cannot_be_a_base() {
        return Err(QueryError::CannotBeABase {
            url: url.to_string(),
        });
    }
    if params.is_empty() {
        return Ok(parsed.into());
    }
    let collides = parsed
        .query_pairs()
        .any(|(name, _)| params.iter().any(|(n, _)| *n == name));
    if collides {
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(name, _)| !params.iter().any(|(n, _)| n == name))
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        parsed.set_query(None);
        let mut serializer = parsed.query_pairs_mut();
        serializer.extend_pairs(kept.iter());
        serializer.extend_pairs(params.iter());
    } else {
        parsed.query_pairs_mut().extend_pairs(params.iter());
    }
    Ok(parsed.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn timestamp_floors_before_epoch() {
        let p = ComputedParameter {
            name: "t".into(),
            kind: ComputedKind::Timestamp {
                milliseconds: false,
                initial_value: None,
            },
            reference: crate::config::topic::Reference::LastSuccess,
        };
        assert_eq!(p.format(ts("1969-12-31T23:59:59.5Z")), "-1");
        assert_eq!(p.format(ts("1970-01-01T00:00:01.999Z")), "1");
    }

    #[test]
    fn empty_query_marker_is_kept_usable() {
        assert_eq!(
            with_parameters("http://h/p?", &[("a".into(), "b".into())]).unwrap(),
            "http://h/p?a=b"
        );
        assert_eq!(with_parameters("http://h/p", &[]).unwrap(), "http://h/p");
    }
}
