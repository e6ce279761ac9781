//! What flows through the router's connections, counted for metrics: WAMP messages received
//! and sent by type and serialization with their bytes, how long an event waits between being
//! routed and being handed to its subscriber's connection, how long calls take, and the
//! sessions dropped as slow consumers.
//!
//! Counted on every message, so process-wide and sharded per thread (see [`stats`]): an add is
//! a relaxed atomic on this thread's own cache line. A message is counted received once it
//! decodes, and sent when its connection's writer takes it from the session's queue (the
//! frame's first bytes say its type, see [`Serialization::peek_code`]).

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::stats::histogram::{self, Snapshot};
use crate::stats::{self, Sharded};
use crate::wamp::message;
use crate::wamp::serializer::{SERIALIZATIONS, Serialization};

/// Every message type code, in the order counts are kept; codes not here count as `OTHER`.
const CODES: [u64; 24] = [
    message::HELLO,
    message::WELCOME,
    message::ABORT,
    message::CHALLENGE,
    message::AUTHENTICATE,
    message::GOODBYE,
    message::ERROR,
    message::PUBLISH,
    message::PUBLISHED,
    message::SUBSCRIBE,
    message::SUBSCRIBED,
    message::UNSUBSCRIBE,
    message::UNSUBSCRIBED,
    message::EVENT,
    message::CALL,
    message::CANCEL,
    message::RESULT,
    message::REGISTER,
    message::REGISTERED,
    message::UNREGISTER,
    message::UNREGISTERED,
    message::INVOCATION,
    message::INTERRUPT,
    message::YIELD,
];
const OTHER: usize = CODES.len();
const TYPES: usize = CODES.len() + 1;

/// Index in [`CODES`] by type code (codes are all below 71), built once at compile time.
const INDEX: [u8; 71] = {
    let mut index = [OTHER as u8; 71];
    let mut i = 0;
    while i < CODES.len() {
        index[CODES[i] as usize] = i as u8;
        i += 1;
    }
    index
};

fn type_index(code: u64) -> usize {
    usize::try_from(code)
        .ok()
        .and_then(|c| INDEX.get(c))
        .map_or(OTHER, |i| usize::from(*i))
}

/// One thread's counts.
#[derive(Default)]
struct Shard {
    received: [[AtomicU64; TYPES]; SERIALIZATIONS],
    sent: [[AtomicU64; TYPES]; SERIALIZATIONS],
    received_bytes: [AtomicU64; SERIALIZATIONS],
    sent_bytes: [AtomicU64; SERIALIZATIONS],
    event_delivery: histogram::Cells,
    call: histogram::Cells,
    slow_consumers: AtomicU64,
    dropped: AtomicU64,
}

static TRAFFIC: LazyLock<Sharded<Shard>> = LazyLock::new(Sharded::default);

/// When the process began counting: event stamps are microseconds since then.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Now, as an event stamp: microseconds since [`EPOCH`], wrapping every 71 minutes (a wait is
/// the wrapping difference of two stamps, right for any wait shorter than that).
#[inline]
pub fn stamp() -> u32 {
    // Truncation is the point: only differences of stamps are used.
    EPOCH.elapsed().as_micros() as u32
}

/// A message of type `code` and `len` bytes decoded from a connection.
#[inline]
pub fn received(serialization: Serialization, code: u64, len: usize) {
    let shard = TRAFFIC.local();
    let s = serialization.index();
    stats::add(&shard.received[s][type_index(code)], 1);
    stats::add(&shard.received_bytes[s], len as u64);
}

/// An encoded message handed to a connection's writer.
#[inline]
pub fn sent(serialization: Serialization, frame: &[u8]) {
    let shard = TRAFFIC.local();
    let s = serialization.index();
    let code = serialization.peek_code(frame).unwrap_or(u64::MAX);
    stats::add(&shard.sent[s][type_index(code)], 1);
    stats::add(&shard.sent_bytes[s], frame.len() as u64);
}

/// An event routed at `routed` (a [`stamp`]) reached its connection's writer at `now`.
#[inline]
pub fn event_waited(routed: u32, now: u32) {
    let waited_us = now.wrapping_sub(routed);
    TRAFFIC
        .local()
        .event_delivery
        .observe_ns(u64::from(waited_us) * 1000);
}

/// A call ended (answered, failed, canceled or timed out) `took` after it was routed.
#[inline]
pub fn call_ended(took: Duration) {
    TRAFFIC.local().call.observe(took);
}

/// A session was closed because its outbound queue was full.
pub fn slow_consumer() {
    stats::add(&TRAFFIC.local().slow_consumers, 1);
}

/// A message was not queued for a session: its queue was full or its connection gone.
#[inline]
pub fn dropped() {
    stats::add(&TRAFFIC.local().dropped, 1);
}

/// Why a connection can be refused before it is served (the transports' admission limits).
pub const REFUSALS: [&str; 3] = [
    "max_connections",
    "max_connections_per_ip",
    "open_file_limit",
];

/// Connections refused, by [`REFUSALS`] index (rare: no sharding needed).
static REFUSED: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

/// A connection was refused for `reason` (one of [`REFUSALS`]).
pub fn connection_refused(reason: &str) {
    if let Some(i) = REFUSALS.iter().position(|r| *r == reason) {
        stats::add(&REFUSED[i], 1);
    }
}

/// (reason, connections refused) for every reason.
pub fn refused() -> Vec<(&'static str, u64)> {
    REFUSALS
        .iter()
        .zip(&REFUSED)
        .map(|(reason, n)| (*reason, n.load(std::sync::atomic::Ordering::Relaxed)))
        .collect()
}

/// Messages of one type and serialization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCount {
    /// The spec's name (`EVENT`), or `OTHER`.
    pub kind: &'static str,
    pub serialization: Serialization,
    pub count: u64,
}

/// Every count, summed over the shards.
#[derive(Debug, Clone, Default)]
pub struct TrafficSnapshot {
    /// Non-zero counts only.
    pub received: Vec<MessageCount>,
    pub sent: Vec<MessageCount>,
    /// Bytes by serialization (index order).
    pub received_bytes: [u64; SERIALIZATIONS],
    pub sent_bytes: [u64; SERIALIZATIONS],
    pub event_delivery: Snapshot,
    pub call: Snapshot,
    pub slow_consumers: u64,
    pub dropped: u64,
}

impl TrafficSnapshot {
    pub fn messages_received(&self) -> u64 {
        self.received.iter().map(|m| m.count).sum()
    }

    pub fn messages_sent(&self) -> u64 {
        self.sent.iter().map(|m| m.count).sum()
    }

    /// EVENT messages sent: events delivered to subscribers.
    pub fn events_delivered(&self) -> u64 {
        self.sent
            .iter()
            .filter(|m| m.kind == "EVENT")
            .map(|m| m.count)
            .sum()
    }
}

fn kind_name(index: usize) -> &'static str {
    CODES
        .get(index)
        .and_then(|code| message::type_name(*code))
        .unwrap_or("OTHER")
}

/// The counts now.
pub fn snapshot() -> TrafficSnapshot {
    let traffic = &*TRAFFIC;
    let mut snapshot = TrafficSnapshot::default();
    for serialization in Serialization::ALL {
        let s = serialization.index();
        for t in 0..TYPES {
            let received = stats::sum(traffic, |shard| &shard.received[s][t]);
            let sent = stats::sum(traffic, |shard| &shard.sent[s][t]);
            let kind = kind_name(t);
            if received > 0 {
                snapshot.received.push(MessageCount {
                    kind,
                    serialization,
                    count: received,
                });
            }
            if sent > 0 {
                snapshot.sent.push(MessageCount {
                    kind,
                    serialization,
                    count: sent,
                });
            }
        }
        snapshot.received_bytes[s] = stats::sum(traffic, |shard| &shard.received_bytes[s]);
        snapshot.sent_bytes[s] = stats::sum(traffic, |shard| &shard.sent_bytes[s]);
    }
    for shard in traffic.all() {
        shard.event_delivery.add_to(&mut snapshot.event_delivery);
        shard.call.add_to(&mut snapshot.call);
    }
    snapshot.slow_consumers = stats::sum(traffic, |shard| &shard.slow_consumers);
    snapshot.dropped = stats::sum(traffic, |shard| &shard.dropped);
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_index() {
        for (i, code) in CODES.iter().enumerate() {
            assert_eq!(type_index(*code), i);
            assert_eq!(message::type_name(*code), Some(kind_name(i)));
        }
        assert_eq!(type_index(7), OTHER);
        assert_eq!(type_index(1000), OTHER);
        assert_eq!(kind_name(OTHER), "OTHER");
    }

    #[test]
    fn a_sent_frame_counts_by_its_type() {
        let before = snapshot();
        sent(Serialization::Json, b"[36,1,2,{}]");
        sent(Serialization::Json, b"not wamp");
        let after = snapshot();
        let count = |s: &TrafficSnapshot, kind: &str| {
            s.sent
                .iter()
                .filter(|m| m.kind == kind && m.serialization == Serialization::Json)
                .map(|m| m.count)
                .sum::<u64>()
        };
        assert_eq!(count(&after, "EVENT") - count(&before, "EVENT"), 1);
        assert_eq!(count(&after, "OTHER") - count(&before, "OTHER"), 1);
    }
}
