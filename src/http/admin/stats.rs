//! `api/stats` and `api/bridge`: the running totals the page turns into rates (messages,
//! deliveries, calls and their latency, bridge requests by path and status), read from the
//! metrics' counters when asked. The page takes two readings a second apart and keeps the last
//! five minutes; the server keeps no history.

use serde_json::{Value as Json, json};

use crate::http::response::HttpResponse;
use crate::router::Router;

use super::contract_shim::totals;
use super::reply::ok;

/// Every running total, with the time it was read (Unix milliseconds).
pub fn stats(router: &Router) -> HttpResponse {
    let mut totals = totals(router);
    if let Some(object) = totals.as_object_mut() {
        object.insert("at_ms".into(), json!(now_ms()));
    }
    ok(&totals)
}

/// The HTTP bridge's request counts by path and status, with the time they were read.
pub fn bridge(router: &Router) -> HttpResponse {
    let totals = totals(router);
    ok(&json!({"at_ms": now_ms(), "bridge": totals["bridge"].clone()}))
}

fn now_ms() -> Json {
    json!(jiff::Timestamp::now().as_millisecond())
}
