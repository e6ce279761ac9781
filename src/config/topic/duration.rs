//! ISO-8601 durations of topic keys (`pollingPeriod`, `timeout`, the retry back-off
//! durations), as Java's `Duration.parse` reads and prints them.

use std::time::Duration;

use crate::config::node::{Node, Result};

/// An ISO-8601 duration (Java's `Duration.parse` form for hours, minutes and seconds, such as
/// `PT5S`, `PT0.5S`, `PT1M30S`) within `min..=max`.
pub(super) fn duration_in(node: &Node, min: Duration, max: Duration) -> Result<Duration> {
    let text = node.str()?;
    let signed = parse_iso_duration(text).ok_or_else(|| {
        node.error(format!(
            "expected an ISO-8601 duration such as PT5S, found \"{text}\""
        ))
    })?;
    let duration = Duration::try_from(signed).unwrap_or(Duration::ZERO);
    if signed.is_negative() || duration < min {
        return Err(node.error(format!("{text} is below the minimum {}", iso(min))));
    }
    if duration > max {
        return Err(node.error(format!("{text} is above the maximum {}", iso(max))));
    }
    Ok(duration)
}

/// jiff's ISO-8601 parser, refusing its "friendly" format (`5s`): the text must start with
/// `P` (after an optional sign), as in Java.
pub(super) fn parse_iso_duration(text: &str) -> Option<jiff::SignedDuration> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !unsigned.starts_with(['P', 'p']) {
        return None;
    }
    text.parse().ok()
}

/// A duration in ISO-8601 form (`PT0.5S`, `PT1H`).
pub(super) fn iso(duration: Duration) -> String {
    jiff::SignedDuration::try_from(duration)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{duration:?}"))
}
