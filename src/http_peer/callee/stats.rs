//! HTTP callees' invocations, counted for metrics: by outcome, with their duration.
//!
//! Process-wide like the bridge path counts (`http/bridge_stats.rs`). Labels are the realm
//! and the procedure as configured, and a fixed set of outcomes, so they stay few.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::stats::histogram::{Histogram, Snapshot};

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// A 2xx answer (for the Crossbar contract: any answer), returned as RESULT.
    Result,
    /// A non-2xx answer, returned as `junction.error.http_status`.
    HttpStatus,
    /// No connection (refused, DNS, TLS).
    Unreachable,
    /// No complete answer within `timeout`.
    Timeout,
    /// An answer larger than `max_response_bytes`.
    TooLarge,
    /// Arguments that cannot make a request (`wamp.error.invalid_argument`).
    InvalidArgument,
    /// Interrupted (the caller canceled, or its call timeout ran out): the request dropped.
    Canceled,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Result => "result",
            Outcome::HttpStatus => "http_status",
            Outcome::Unreachable => "unreachable",
            Outcome::Timeout => "timeout",
            Outcome::TooLarge => "too_large",
            Outcome::InvalidArgument => "invalid_argument",
            Outcome::Canceled => "canceled",
        }
    }
}

/// One callee's counts.
#[derive(Debug, Default)]
pub struct CalleeStats {
    outcomes: Mutex<BTreeMap<Outcome, u64>>,
    duration: Histogram,
}

impl CalleeStats {
    pub fn record(&self, outcome: Outcome, took: Duration) {
        *self.outcomes.lock().entry(outcome).or_default() += 1;
        self.duration.observe(took);
    }
}

/// (realm, procedure as configured).
type CalleeKey = (String, String);

/// Every callee's counts, by realm and procedure.
static CALLEES: LazyLock<Mutex<BTreeMap<CalleeKey, Arc<CalleeStats>>>> =
    LazyLock::new(Mutex::default);

/// The counts of the callee of `procedure` in `realm`, registered on first use.
pub fn for_callee(realm: &str, procedure: &str) -> Arc<CalleeStats> {
    let key = (realm.to_owned(), procedure.to_owned());
    Arc::clone(CALLEES.lock().entry(key).or_default())
}

/// One callee's counts at one moment.
#[derive(Debug, Clone)]
pub struct CalleeSnapshot {
    pub realm: String,
    pub procedure: String,
    /// (outcome name, invocations).
    pub outcomes: Vec<(&'static str, u64)>,
    pub duration: Snapshot,
}

/// Every callee's counts now, by realm and procedure.
pub fn snapshot() -> Vec<CalleeSnapshot> {
    let callees: Vec<_> = CALLEES
        .lock()
        .iter()
        .map(|(key, stats)| (key.clone(), Arc::clone(stats)))
        .collect();
    callees
        .into_iter()
        .map(|((realm, procedure), stats)| CalleeSnapshot {
            realm,
            procedure,
            outcomes: stats
                .outcomes
                .lock()
                .iter()
                .map(|(outcome, n)| (outcome.name(), *n))
                .collect(),
            duration: stats.duration.snapshot(),
        })
        .collect()
}
