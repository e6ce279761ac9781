//! `api/stats` and `api/bridge`: the running totals the page turns into rates (messages,
//! deliveries, calls and their latency, bridge requests by path and status), read from the
//! metrics' counters when asked. The page takes two readings a second apart and keeps the last
//! five minutes; the server keeps no history.

use serde::Serialize;
use serde_json::json;

use crate::http::metrics::{Totals, totals};
use crate::http::response::HttpResponse;
use crate::router::Router;

use super::reply::ok;

/// The totals with the time they were read.
#[derive(Serialize)]
struct Reading {
    /// Unix milliseconds.
    at_ms: i64,
    #[serde(flatten)]
    totals: Totals,
}

/// Every running total, with the time it was read.
pub fn stats(router: &Router) -> HttpResponse {
    ok(&Reading {
        at_ms: jiff::Timestamp::now().as_millisecond(),
        totals: totals(router),
    })
}

/// The HTTP bridge's request counts by path and status (the seconds they took by path, all
/// statuses together), with the time they were read.
pub fn bridge(router: &Router) -> HttpResponse {
    let at_ms = jiff::Timestamp::now().as_millisecond();
    ok(&json!({"at_ms": at_ms, "bridge": totals(router).bridge}))
}
