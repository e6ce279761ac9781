//! Prometheus metrics (`"type": "metrics"`), in the OpenMetrics text format (prometheus-client).
//! Gauges are gathered when scraped from what the router, the stores, the cluster link and the
//! pollers already hold; what flows (messages, bytes, latencies, bridge requests) is counted
//! as it happens by [`traffic`] and [`bridge_stats`], sharded so that counting costs the hot
//! paths next to nothing (BENCHMARKS.md measures it).
//!
//! Labels are bounded: realms, transport kinds, paths and poller topics all come from the
//! config (or the topics API), message types and serializers from the protocol; no session,
//! authid or client URI becomes a label.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::http::bridge_stats;
use crate::http::process_stats;
use crate::http::response::{self, HttpResponse};
use crate::http_peer::callee::stats as http_callee_stats;
use crate::http_peer::subscriber::stats as http_subscriber_stats;
use crate::poller::supervisor::Pollers;
use crate::router::Router;
use crate::router::session_stats;
use crate::router::traffic::{self, TrafficSnapshot};
use crate::stats::histogram::Snapshot;
use crate::wamp::serializer::Serialization;

type Labels = Vec<(&'static str, String)>;

/// Histograms counted elsewhere (see [`Snapshot`]), one per label set, as a metric.
#[derive(Debug, Default)]
struct Histograms(Vec<(Labels, Snapshot)>);

impl EncodeMetric for Histograms {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, snapshot) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_histogram::<NoLabelSet>(
                    snapshot.sum_seconds(),
                    snapshot.count(),
                    &snapshot.buckets(),
                    None,
                )?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn histogram(registry: &mut Registry, name: &str, help: &str, histograms: Histograms) {
    registry.register(name, help, histograms);
}

/// One bridge path's requests with one status.
#[derive(Debug, Clone, Serialize)]
pub struct BridgeCount {
    pub path: String,
    pub status: u16,
    pub count: u64,
    /// Seconds the path's requests took, all statuses together.
    pub seconds_sum: f64,
}

/// Running totals, for the admin dashboard's charts: rates come from two readings.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub messages_in: u64,
    pub messages_out: u64,
    pub events_delivered: u64,
    /// Calls ended (answered, failed, canceled or timed out) and the seconds they took.
    pub calls: u64,
    pub call_seconds_sum: f64,
    /// Events timed from routing to their connection's writer, and the seconds they waited.
    pub publish_deliveries_timed: u64,
    pub publish_delivery_seconds_sum: f64,
    pub bridge: Vec<BridgeCount>,
}

/// The totals now (process-wide, like the metrics they come from).
pub fn totals(_router: &Router) -> Totals {
    let traffic = traffic::snapshot();
    let mut bridge = Vec::new();
    for path in bridge_stats::snapshot() {
        for (status, count) in &path.statuses {
            bridge.push(BridgeCount {
                path: path.path.clone(),
                status: *status,
                count: *count,
                seconds_sum: path.latency.sum_seconds(),
            });
        }
    }
    Totals {
        messages_in: traffic.messages_received(),
        messages_out: traffic.messages_sent(),
        events_delivered: traffic.events_delivered(),
        calls: traffic.call.count(),
        call_seconds_sum: traffic.call.sum_seconds(),
        publish_deliveries_timed: traffic.event_delivery.count(),
        publish_delivery_seconds_sum: traffic.event_delivery.sum_seconds(),
        bridge,
    }
}

/// When this process started, as Unix seconds and as an instant.
fn started() -> &'static (f64, Instant) {
    static STARTED: OnceLock<(f64, Instant)> = OnceLock::new();
    STARTED.get_or_init(|| {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        (unix, Instant::now())
    })
}

/// Marks the process start (called once at startup, so `process_start_time_seconds` is not
/// the first scrape's time).
pub fn mark_start() {
    started();
}

fn gauge_family(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

fn counter_family(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let family = Family::<Labels, Counter>::default();
    registry.register(name, help, family.clone());
    family
}

fn float_gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// The scrape: every metric, now.
pub async fn metrics(router: &Router, pollers: &Pollers) -> HttpResponse {
    let mut registry = Registry::with_prefix("junction");
    let sessions = gauge_family(
        &mut registry,
        "sessions",
        "Client sessions joined, by realm and transport",
    );
    let subscriptions = gauge_family(&mut registry, "subscriptions", "Subscriptions, by realm");
    let registrations = gauge_family(
        &mut registry,
        "registrations",
        "Registrations, by realm (in a cluster, every node's)",
    );
    let store_written = counter_family(
        &mut registry,
        "store_writes",
        "Retained events and history entries written to the store, by realm",
    );
    let store_failed = counter_family(
        &mut registry,
        "store_failed_writes",
        "Store writes whose transaction failed, by realm",
    );
    let store_dropped = counter_family(
        &mut registry,
        "store_dropped_writes",
        "Store writes dropped (queue full or store closed), by realm",
    );
    let store_size = gauge_family(
        &mut registry,
        "store_size_bytes",
        "Size of the realm's embedded store file",
    );
    let mut commits = Histograms::default();
    let mut cluster = None;
    for name in router.realm_names() {
        let Some(realm) = router.realm(&name) else {
            continue;
        };
        let gauges = realm.gauges();
        for (transport, count) in gauges.sessions {
            let labels = vec![("realm", name.clone()), ("transport", transport.to_owned())];
            sessions.get_or_create(&labels).set(to_i64(count));
        }
        let labels = vec![("realm", name.clone())];
        subscriptions
            .get_or_create(&labels)
            .set(to_i64(gauges.subscriptions));
        registrations
            .get_or_create(&labels)
            .set(to_i64(gauges.registrations));
        if let Some(stats) = realm.store_stats() {
            store_written.get_or_create(&labels).inc_by(stats.written);
            store_failed.get_or_create(&labels).inc_by(stats.failed);
            store_dropped.get_or_create(&labels).inc_by(stats.dropped);
            commits.0.push((labels.clone(), stats.commits));
            if let Some(size) = stats.size_bytes {
                store_size.get_or_create(&labels).set(to_i64(size));
            }
        }
        if cluster.is_none() {
            cluster = realm.backplane().map(|b| b.connected().0);
        }
    }
    histogram(
        &mut registry,
        "store_commit_duration_seconds",
        "How long the store writer's transactions (a batch of writes, one fsync) took, by realm",
        commits,
    );
    let connections = gauge_family(
        &mut registry,
        "connections",
        "Open WAMP connections (all transports)",
    );
    connections
        .get_or_create(&Vec::new())
        .set(to_i64(router.open_connections()));
    if let Some(connected) = cluster {
        let gauge = gauge_family(
            &mut registry,
            "cluster_connected",
            "1 while this node is connected to NATS",
        );
        gauge.get_or_create(&Vec::new()).set(i64::from(connected));
    }
    let polls = counter_family(
        &mut registry,
        "poller_polls",
        "Polls this node made, by realm, topic and outcome (ok, error)",
    );
    let changes = counter_family(
        &mut registry,
        "poller_changes",
        "Polls that published a change (snapshot or patch), by realm and topic",
    );
    let consecutive = gauge_family(
        &mut registry,
        "poller_consecutive_failures",
        "Failed polls since the topic's last success on this node",
    );
    let mut durations = Histograms::default();
    let failing = gauge_family(
        &mut registry,
        "poller_failing",
        "1 while a topic's last poll failed",
    );
    let last_success = gauge_family(
        &mut registry,
        "poller_last_success_timestamp_seconds",
        "When a topic's last successful poll started (Unix seconds)",
    );
    for realm in pollers.realms() {
        for counts in realm.poll_counts() {
            let labels = vec![
                ("realm", realm.realm_name().to_owned()),
                ("topic", counts.topic.clone()),
            ];
            for (outcome, n) in [
                ("ok", counts.polls - counts.failures),
                ("error", counts.failures),
            ] {
                let mut labels = labels.clone();
                labels.push(("outcome", outcome.to_owned()));
                polls.get_or_create(&labels).inc_by(n);
            }
            changes.get_or_create(&labels).inc_by(counts.changes);
            consecutive
                .get_or_create(&labels)
                .set(to_i64(counts.consecutive_failures));
            durations.0.push((labels, counts.durations));
        }
        for view in realm.list().await {
            let labels = vec![
                ("realm", realm.realm_name().to_owned()),
                (
                    "topic",
                    view["name"].as_str().unwrap_or_default().to_owned(),
                ),
            ];
            failing
                .get_or_create(&labels)
                .set(i64::from(view["lastError"].is_string()));
            let success = view["lastSuccess"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            if let Some(success) = success {
                last_success.get_or_create(&labels).set(success.as_second());
            }
        }
    }
    histogram(
        &mut registry,
        "poller_poll_duration_seconds",
        "How long polls took (retries and pages included), by realm and topic",
        durations,
    );
    traffic_metrics(&mut registry, &traffic::snapshot());
    session_metrics(&mut registry);
    bridge_metrics(&mut registry);
    http_callee_metrics(&mut registry);
    http_subscriber_metrics(&mut registry);
    process_metrics(&mut registry);
    let mut text = String::new();
    if let Err(e) = encode(&mut text, &registry) {
        return response::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("metrics: {e}"),
            None,
        );
    }
    let mut answer = response::text(StatusCode::OK, &text, None);
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    answer
}

/// WAMP messages and bytes by type and serializer, events delivered, latencies, slow consumers.
fn traffic_metrics(registry: &mut Registry, traffic: &TrafficSnapshot) {
    let received = counter_family(
        registry,
        "messages_received",
        "WAMP messages received from client connections, by type and serializer",
    );
    for m in &traffic.received {
        let labels = vec![
            ("type", m.kind.to_owned()),
            ("serializer", m.serialization.name().to_owned()),
        ];
        received.get_or_create(&labels).inc_by(m.count);
    }
    let sent = counter_family(
        registry,
        "messages_sent",
        "WAMP messages handed to client connections' writers, by type and serializer",
    );
    for m in &traffic.sent {
        let labels = vec![
            ("type", m.kind.to_owned()),
            ("serializer", m.serialization.name().to_owned()),
        ];
        sent.get_or_create(&labels).inc_by(m.count);
    }
    let received_bytes = counter_family(
        registry,
        "received_bytes",
        "Bytes of the WAMP messages received, by serializer",
    );
    let sent_bytes = counter_family(
        registry,
        "sent_bytes",
        "Bytes of the WAMP messages sent, by serializer",
    );
    for s in Serialization::ALL {
        let labels = vec![("serializer", s.name().to_owned())];
        received_bytes
            .get_or_create(&labels)
            .inc_by(traffic.received_bytes[s.index()]);
        sent_bytes
            .get_or_create(&labels)
            .inc_by(traffic.sent_bytes[s.index()]);
    }
    let delivered = counter_family(
        registry,
        "events_delivered",
        "EVENT messages sent to subscribers",
    );
    delivered
        .get_or_create(&Vec::new())
        .inc_by(traffic.events_delivered());
    histogram(
        registry,
        "event_delivery_seconds",
        "Time from routing a publication to its EVENT reaching the subscriber connection's writer",
        Histograms(vec![(Vec::new(), traffic.event_delivery)]),
    );
    histogram(
        registry,
        "call_duration_seconds",
        "Time from routing a CALL to its end (RESULT, ERROR, cancel or timeout)",
        Histograms(vec![(Vec::new(), traffic.call)]),
    );
    let slow = counter_family(
        registry,
        "slow_consumer_disconnects",
        "Sessions closed because their outbound queue was full",
    );
    slow.get_or_create(&Vec::new())
        .inc_by(traffic.slow_consumers);
    let dropped = counter_family(
        registry,
        "outbound_dropped",
        "Messages not queued for a session: its queue was full or its connection gone",
    );
    dropped.get_or_create(&Vec::new()).inc_by(traffic.dropped);
}

/// Joins and leaves by realm, logins by method and outcome, connections refused by limit.
fn session_metrics(registry: &mut Registry) {
    let joins = counter_family(registry, "joins", "Client sessions joined, by realm");
    let leaves = counter_family(registry, "leaves", "Client sessions left, by realm");
    for (realm, joined, left) in session_stats::sessions() {
        let labels = vec![("realm", realm)];
        joins.get_or_create(&labels).inc_by(joined);
        leaves.get_or_create(&labels).inc_by(left);
    }
    let logins = counter_family(
        registry,
        "authentications",
        "Logins by authentication method and outcome (accepted: WELCOME; refused: ABORT)",
    );
    for (method, accepted, n) in session_stats::logins() {
        let outcome = if accepted { "accepted" } else { "refused" };
        let labels = vec![
            ("method", method.to_owned()),
            ("outcome", outcome.to_owned()),
        ];
        logins.get_or_create(&labels).inc_by(n);
    }
    let refused = counter_family(
        registry,
        "connections_refused",
        "Connections refused by a limit (max_connections, max_connections_per_ip, open_file_limit)",
    );
    for (reason, n) in traffic::refused() {
        refused
            .get_or_create(&vec![("limit", reason.to_owned())])
            .inc_by(n);
    }
}

/// HTTP bridge requests by path and status, and their latency by path.
fn bridge_metrics(registry: &mut Registry) {
    let requests = counter_family(
        registry,
        "bridge_requests",
        "HTTP bridge requests (publisher, caller, webhook, sse paths), by path and status",
    );
    let streams = gauge_family(
        registry,
        "sse_streams",
        "Server-Sent Events streams open now, by sse path",
    );
    let mut latencies = Histograms::default();
    for path in bridge_stats::snapshot() {
        if path.kind == "sse" {
            let open = i64::try_from(path.streams).unwrap_or(i64::MAX);
            streams
                .get_or_create(&vec![("path", path.path.clone())])
                .set(open);
        }
        for (status, count) in &path.statuses {
            let labels = vec![
                ("path", path.path.clone()),
                ("kind", path.kind.to_owned()),
                ("status", status.to_string()),
            ];
            requests.get_or_create(&labels).inc_by(*count);
        }
        latencies
            .0
            .push((vec![("path", path.path.clone())], path.latency));
    }
    histogram(
        registry,
        "bridge_request_duration_seconds",
        "Time to answer an HTTP bridge request, by path",
        latencies,
    );
}

/// HTTP callees' invocations by realm, procedure (as configured) and outcome, and their
/// duration.
fn http_callee_metrics(registry: &mut Registry) {
    let calls = counter_family(
        registry,
        "http_callee_calls",
        "Invocations answered by HTTP callees, by realm, configured procedure and outcome",
    );
    let mut durations = Histograms::default();
    for callee in http_callee_stats::snapshot() {
        let labels = vec![("realm", callee.realm), ("procedure", callee.procedure)];
        for (outcome, count) in &callee.outcomes {
            let mut labels = labels.clone();
            labels.push(("outcome", (*outcome).to_owned()));
            calls.get_or_create(&labels).inc_by(*count);
        }
        durations.0.push((labels, callee.duration));
    }
    histogram(
        registry,
        "http_callee_duration_seconds",
        "Time from an HTTP callee's invocation to its answer, by realm and configured procedure",
        durations,
    );
}

/// HTTP subscribers: events delivered, given up and dropped, retries, queue lengths and
/// request durations, by realm and subscriber name.
fn http_subscriber_metrics(registry: &mut Registry) {
    let counters = [
        (
            "http_subscriber_delivered",
            "Events an HTTP subscriber's endpoint accepted",
        ),
        (
            "http_subscriber_failed",
            "Events an HTTP subscriber gave up on (attempts exhausted or refused)",
        ),
        (
            "http_subscriber_dropped",
            "Events an HTTP subscriber dropped because its queue was full",
        ),
        (
            "http_subscriber_retries",
            "Requests an HTTP subscriber sent again after a failed attempt",
        ),
    ]
    .map(|(name, help)| counter_family(registry, name, help));
    let queued = gauge_family(
        registry,
        "http_subscriber_queued",
        "Events waiting in an HTTP subscriber's queue",
    );
    let mut durations = Histograms::default();
    for s in http_subscriber_stats::snapshot() {
        let labels = vec![("realm", s.realm), ("subscriber", s.name)];
        for (family, n) in counters
            .iter()
            .zip([s.delivered, s.failed, s.dropped, s.retries])
        {
            family.get_or_create(&labels).inc_by(n);
        }
        queued.get_or_create(&labels).set(to_i64(s.queued));
        durations.0.push((labels, s.duration));
    }
    histogram(
        registry,
        "http_subscriber_request_duration_seconds",
        "Time an HTTP subscriber's requests took, by realm and subscriber",
        durations,
    );
}

/// Resident memory, open file descriptors and start time, from `/proc/self` (Linux).
fn process_metrics(registry: &mut Registry) {
    let (start_unix, start) = started();
    float_gauge(
        registry,
        "process_start_time_seconds",
        "When this process started (Unix seconds)",
        *start_unix,
    );
    float_gauge(
        registry,
        "uptime_seconds",
        "Seconds since this process started",
        start.elapsed().as_secs_f64(),
    );
    if let Some(bytes) = process_stats::resident_memory_bytes() {
        float_gauge(
            registry,
            "process_resident_memory_bytes",
            "Resident memory of this process",
            bytes,
        );
    }
    if let Some(fds) = process_stats::open_fds() {
        float_gauge(
            registry,
            "process_open_fds",
            "Open file descriptors of this process",
            fds as f64,
        );
    }
}
