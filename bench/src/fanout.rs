//! `fanout`: S subscribers on one topic, P publishers publishing B-byte events to it.
//!
//! Publishers ask for acknowledgement and keep at most `--in-flight` publishes unacknowledged,
//! so the load follows what the router accepts instead of piling up in socket buffers; with
//! `--rate` they are paced instead (latency at a given load rather than at saturation). Each
//! event carries its publish time, so subscribers record publish-to-receive latency.
//! Reports publishes/s, deliveries/s (events received by all subscribers), the latency and how
//! many subscribers the router disconnected.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::measure::{self, Clock, Report, RunArgs};
use crate::subscriber::Subscribers;
use crate::wamp::{self, Endpoint, Incoming, Result, Serialization, Session, padding};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    #[arg(long, default_value = "realm1")]
    pub realm: String,
    #[arg(long, value_enum, default_value = "json")]
    pub serializer: Serialization,
    /// Subscribers (S).
    #[arg(long, short = 's', default_value_t = 1000)]
    pub subscribers: usize,
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
    /// Source addresses 127.0.0.1..N for the subscribers (above ~25,000 connections).
    #[arg(long, default_value_t = 1)]
    pub sources: usize,
    #[arg(long, default_value = "bench.fanout")]
    pub topic: String,
    /// Spread the subscribers over these URLs (subscriber i at URL i mod n) instead of
    /// `--url`, where the publishers stay: the other nodes of a cluster (repeat the flag).
    #[arg(long = "subscriber-url")]
    pub subscriber_urls: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What one publisher measured.
struct Tally {
    published: u64,
    errors: u64,
    first_error: Option<String>,
}

pub async fn run(args: Args) -> Result<Report> {
    let clock = Clock::new(args.run.count);
    let endpoint = Endpoint {
        url: args.url.clone(),
        realm: args.realm.clone(),
        serialization: args.serializer,
    };
    let spread: Vec<Endpoint> = if args.subscriber_urls.is_empty() {
        vec![endpoint.clone()]
    } else {
        args.subscriber_urls
            .iter()
            .map(|url| Endpoint {
                url: url.clone(),
                ..endpoint.clone()
            })
            .collect()
    };
    let subscribers =
        Subscribers::start_spread(&spread, &args.topic, args.subscribers, args.sources, &clock)
            .await?;
    let pad = Arc::new(padding(args.payload));
    let (window, tallies) =
        measure::load(&endpoint, args.publishers, &clock, &args.run, |session| {
            let (clock, args, pad) = (Arc::clone(&clock), args.clone(), Arc::clone(&pad));
            async move { publish_loop(session, &clock, &args, &pad).await }
        })
        .await?;
    let seen = subscribers.finish().await;

    let published: u64 = tallies.iter().map(|t| t.published).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let first_error = tallies.iter().find_map(|t| t.first_error.clone());
    let deliveries = seen["events"].as_u64().unwrap_or(0);
    let (publish_rate, delivery_rate) = (
        published as f64 / window.seconds,
        deliveries as f64 / window.seconds,
    );
    let mut json = json!({
        "scenario": "fanout",
        "url": args.url,
        "serializer": args.serializer.name(),
        "subscribers": args.subscribers,
        "publishers": args.publishers,
        "payload": args.payload,
        "in_flight": args.in_flight,
        "rate": args.rate,
        "seconds": window.seconds,
        "publishes": published,
        "publishes_per_s": publish_rate.round(),
        "deliveries": deliveries,
        "deliveries_per_s": delivery_rate.round(),
        "errors": errors,
        "disconnected": seen["disconnected"],
        "latency_us": seen["latency_us"],
        "cpu": window.cpu,
    });
    let mut human = format!(
        "fanout {} s={} p={} b={}: {:.0} publishes/s, {:.0} deliveries/s, {} ({} errors, {} disconnected; {})",
        args.serializer.name(),
        args.subscribers,
        args.publishers,
        args.payload,
        publish_rate,
        delivery_rate,
        measure::latency_text(&seen["latency_us"]),
        errors,
        seen["disconnected"],
        measure::cpu_text(&window.cpu),
    );
    measure::note_first_error(&mut json, &mut human, first_error);
    Ok(Report { json, human })
}

async fn publish_loop(mut session: Session, clock: &Clock, args: &Args, pad: &str) -> Tally {
    let mut tally = Tally {
        published: 0,
        errors: 0,
        first_error: None,
    };
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
                match m {
                    Incoming::Published { .. } => {
                        outstanding -= 1;
                        if clock.measuring() {
                            tally.published += 1;
                            clock.complete();
                        }
                    }
                    Incoming::Error { error, .. } => {
                        outstanding -= 1;
                        tally.errors += 1;
                        tally.first_error.get_or_insert(error);
                    }
                    _ => {}
                }
                msg = session.try_recv()?;
            }
        }
        Ok(())
    }
    .await;
    measure::end_session(result, &mut tally.first_error, clock, session).await;
    tally
}
