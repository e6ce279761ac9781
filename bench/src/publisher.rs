//! P WAMP publishers on one topic, shared by the `fanout` and `sse-fanout` scenarios (which
//! differ only in how the subscribers receive), and the report both make.
//!
//! Publishers ask for acknowledgement and keep at most `--in-flight` publishes unacknowledged,
//! so the load follows what the router accepts instead of piling up in socket buffers; with
//! `--rate` they are paced instead (latency at a given load rather than at saturation). Each
//! event carries its publish time, so subscribers record publish-to-receive latency. When the
//! run stops, each publisher waits for its outstanding acknowledgements, so the count of
//! everything published is exact and the subscribers can tell what they lost.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::measure::{self, Clock, Report, RunArgs, Window};
use crate::wamp::{self, Endpoint, Incoming, Result, Session, padding};

/// How long a stopped publisher waits for its outstanding acknowledgements.
const ACK_WAIT: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug, Clone)]
pub struct PublishArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Publishers (P).
    #[arg(long, short = 'p', default_value_t = 1)]
    pub publishers: usize,
    /// Bytes of padding in each event (B).
    #[arg(long, short = 'b', default_value_t = 64)]
    pub payload: usize,
    /// Unacknowledged publishes per publisher.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,
    /// Publishes per second over all publishers (0: as fast as acknowledged).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    #[arg(long, default_value = "bench.fanout")]
    pub topic: String,
}

/// What the publishers did.
pub struct Published {
    pub window: Window,
    /// Acknowledged while measuring.
    pub measured: u64,
    /// Acknowledged in the whole run: what every subscriber should have received.
    pub total: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// What one publisher measured.
#[derive(Default)]
struct Tally {
    measured: u64,
    total: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Runs the publishers through the clock's phases (the subscribers are in place already).
pub async fn publish(args: &PublishArgs, clock: &Arc<Clock>, run: &RunArgs) -> Result<Published> {
    let pad = Arc::new(padding(args.payload));
    let (window, tallies) = measure::load(&args.endpoint, args.publishers, clock, run, |session| {
        let (clock, args, pad) = (Arc::clone(clock), args.clone(), Arc::clone(&pad));
        async move { publish_loop(session, &clock, &args, &pad).await }
    })
    .await?;
    Ok(Published {
        window,
        measured: tallies.iter().map(|t| t.measured).sum(),
        total: tallies.iter().map(|t| t.total).sum(),
        errors: tallies.iter().map(|t| t.errors).sum(),
        first_error: tallies.into_iter().find_map(|t| t.first_error),
    })
}

async fn publish_loop(mut session: Session, clock: &Clock, args: &PublishArgs, pad: &str) -> Tally {
    let mut tally = Tally::default();
    let mut pace = (args.rate > 0.0).then(|| {
        let period = Duration::from_secs_f64(args.publishers as f64 / args.rate);
        tokio::time::interval(period)
    });
    let (mut request, mut outstanding) = (0u64, 0usize);
    let result: Result<()> = async {
        while !clock.stopped() {
            while outstanding < args.in_flight.max(1) && !clock.stopped() {
                if let Some(pace) = pace.as_mut() {
                    pace.tick().await;
                }
                request += 1;
                let msg = wamp::publish(request, true, &args.topic, clock.stamp(), pad);
                session.feed(&msg).await?;
                outstanding += 1;
                if pace.is_some() {
                    session.flush().await?;
                }
            }
            session.flush().await?;
            let mut msg = Some(session.recv().await?);
            while let Some(m) = msg {
                tally.count(m, &mut outstanding, clock);
                msg = session.try_recv()?;
            }
        }
        // What is still unacknowledged may be delivered: wait to know.
        tokio::time::timeout(ACK_WAIT, async {
            while outstanding > 0 {
                tally.count(session.recv().await?, &mut outstanding, clock);
            }
            Ok::<_, wamp::Error>(())
        })
        .await
        .map_err(|_| "acknowledgements missing after the run")?
    }
    .await;
    measure::end_session(result, &mut tally.first_error, clock, session).await;
    tally
}

impl Tally {
    fn count(&mut self, msg: Incoming, outstanding: &mut usize, clock: &Clock) {
        match msg {
            Incoming::Published { .. } => {
                *outstanding -= 1;
                self.total += 1;
                if clock.measuring() {
                    self.measured += 1;
                    clock.complete();
                }
            }
            Incoming::Error { error, .. } => {
                *outstanding -= 1;
                self.errors += 1;
                self.first_error.get_or_insert(error);
            }
            _ => {}
        }
    }
}

/// The report of a fan-out scenario: `scenario` and `extra` fields, then what the publishers
/// did and what the subscribers saw (`seen` from [`crate::subscriber::Subscribers::finish`]).
pub fn report(
    scenario: &str,
    args: &PublishArgs,
    subscribers: usize,
    extra: Value,
    published: Published,
    seen: &Value,
) -> Report {
    let seconds = published.window.seconds;
    let deliveries = seen["events"].as_u64().unwrap_or(0);
    let (publish_rate, delivery_rate) = (
        published.measured as f64 / seconds,
        deliveries as f64 / seconds,
    );
    let mut json = json!({
        "scenario": scenario,
        "url": args.endpoint.url,
        "serializer": args.endpoint.serialization.name(),
        "subscribers": subscribers,
        "publishers": args.publishers,
        "payload": args.payload,
        "in_flight": args.in_flight,
        "rate": args.rate,
        "seconds": seconds,
        "publishes": published.measured,
        "publishes_per_s": publish_rate.round(),
        "published_total": published.total,
        "deliveries": deliveries,
        "deliveries_per_s": delivery_rate.round(),
        "errors": published.errors,
        "disconnected": seen["disconnected"],
        "lost": seen["lost"],
        "latency_us": seen["latency_us"],
        "cpu": published.window.cpu,
    });
    if let (Some(json), Value::Object(extra)) = (json.as_object_mut(), extra) {
        json.extend(extra);
    }
    let mut human = format!(
        "{scenario} {} s={subscribers} p={} b={}: {:.0} publishes/s, {:.0} deliveries/s, {} ({} errors, {} disconnected, {} lost; {})",
        args.endpoint.serialization.name(),
        args.publishers,
        args.payload,
        publish_rate,
        delivery_rate,
        measure::latency_text(&seen["latency_us"]),
        published.errors,
        seen["disconnected"],
        seen["lost"],
        measure::cpu_text(&published.window.cpu),
    );
    measure::note_first_error(&mut json, &mut human, published.first_error);
    Report { json, human }
}
