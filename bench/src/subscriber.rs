//! S subscribers on one topic, shared by the `fanout`, `sse-fanout` and `pusher` scenarios:
//! they connect and subscribe before any load starts (WAMP sessions, or any other [`Feed`] such
//! as SSE streams), then count the events received while measuring and record
//! publish-to-receive latency from the stamp each payload carries. At the end they can wait for
//! the events still on their way and count what never came (`lost`).
//!
//! A subscriber the router disconnects (e.g. because its outbound queue overflowed) is counted,
//! not fatal: losing slow consumers is a legitimate router policy and the report shows it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::measure::{self, Clock};
use crate::wamp::{Endpoint, Incoming, Result, Session};

/// How many sessions connect at the same time (a router's accept backlog is finite).
const CONNECTING_AT_ONCE: usize = 64;

/// The source address of connection `i`: 127.0.0.1, 127.0.0.2, ... `sources` of them, so that
/// tens of thousands of connections do not run out of ephemeral ports on one address.
pub fn source(i: usize, sources: usize) -> Option<IpAddr> {
    (sources > 1).then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % sources.min(250)) as u8)))
}

/// How many subscribers, and from which source addresses.
#[derive(clap::Args, Debug, Clone)]
pub struct SubscriberArgs {
    /// Subscribers (S).
    #[arg(long, short = 's', default_value_t = 1000)]
    pub subscribers: usize,
    /// Source addresses 127.0.0.1..N for the subscribers (above ~25,000 connections).
    #[arg(long, default_value_t = 1)]
    pub sources: usize,
}

/// Seconds without an event after which a subscriber still short of what was published stops
/// waiting: the rest is lost.
const DRAIN_IDLE: Duration = Duration::from_secs(2);

/// A connection that delivers the topic's events to one subscriber: a WAMP session (here) or
/// an SSE stream ([`crate::sse`]).
pub trait Feed: Send + 'static {
    /// Waits for the next event and appends the stamp of it and of every event that arrived
    /// with it (`None`: an event without a stamp). An error ends the subscriber; events
    /// appended before it still count.
    fn burst(&mut self, stamps: &mut Vec<Option<u64>>) -> impl Future<Output = Result<()>> + Send;
    /// Ends the connection politely (errors ignored: the run is over).
    fn close(self) -> impl Future<Output = ()> + Send;
}

impl Feed for Session {
    async fn burst(&mut self, stamps: &mut Vec<Option<u64>>) -> Result<()> {
        let mut msg = Some(self.recv().await?);
        while let Some(m) = msg {
            if let Incoming::Event { stamp, .. } = m {
                stamps.push(stamp);
            }
            msg = self.try_recv()?;
        }
        Ok(())
    }

    async fn close(self) {
        self.leave().await
    }
}

/// What one subscriber saw. Latencies go to one histogram shared by all subscribers (a
/// histogram each would be thousands of cache-cold 300 KB tables), recorded once per burst of
/// events.
struct Seen {
    /// Events received while measuring.
    events: u64,
    /// Events received in the whole run, warm-up and drain included (for `lost`).
    received: u64,
    disconnected: bool,
}

impl Seen {
    /// Counts a burst of events and records the latency of those received while measuring.
    fn take(
        &mut self,
        stamps: &mut Vec<Option<u64>>,
        clock: &Clock,
        samples: &mut Vec<u64>,
        latency: &Mutex<Histogram<u64>>,
    ) {
        self.received += stamps.len() as u64;
        if clock.measuring() {
            self.events += stamps.len() as u64;
            samples.extend(stamps.iter().flatten().map(|&s| clock.since(s).max(1)));
        }
        stamps.clear();
        if !samples.is_empty() {
            let mut h = latency.lock().expect("no task panics holding it");
            for s in samples.drain(..) {
                let _ = h.record(s);
            }
        }
    }
}

/// Running subscribers; [`Subscribers::finish`] stops them and sums up.
pub struct Subscribers {
    tasks: Vec<JoinHandle<Seen>>,
    /// `Some(n)`: stop, once `n` events were received (or none came for [`DRAIN_IDLE`]).
    stop: watch::Sender<Option<u64>>,
    latency: Arc<Mutex<Histogram<u64>>>,
}

impl Subscribers {
    /// Opens `count` sessions subscribed to `topic`; returns once all are subscribed.
    pub async fn start(
        endpoint: &Endpoint,
        topic: &str,
        count: usize,
        sources: usize,
        clock: &Arc<Clock>,
    ) -> Result<Subscribers> {
        Self::start_spread(std::slice::from_ref(endpoint), topic, count, sources, clock).await
    }

    /// Like [`start`](Self::start), subscriber i at `endpoints[i % n]` (the nodes of a
    /// cluster).
    pub async fn start_spread(
        endpoints: &[Endpoint],
        topic: &str,
        count: usize,
        sources: usize,
        clock: &Arc<Clock>,
    ) -> Result<Subscribers> {
        Self::start_with(count, clock, |i| {
            let endpoint = endpoints[i % endpoints.len()].clone();
            let topic = topic.to_string();
            async move {
                let mut session = Session::join(&endpoint, source(i, sources)).await?;
                session.subscribe(&topic).await?;
                Ok(session)
            }
        })
        .await
    }

    /// `count` subscribers, subscriber i connected by `connect(i)`, a few at a time; returns
    /// once all are subscribed.
    pub async fn start_with<F, C, Fut>(
        count: usize,
        clock: &Arc<Clock>,
        connect: C,
    ) -> Result<Subscribers>
    where
        F: Feed,
        C: Fn(usize) -> Fut,
        Fut: Future<Output = Result<F>> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(None);
        let latency = Arc::new(Mutex::new(measure::histogram()));
        let (ready_tx, mut ready) = mpsc::channel(count.max(1));
        let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        let mut tasks = Vec::with_capacity(count);
        for i in 0..count {
            let connecting = connect(i);
            let clock = Arc::clone(clock);
            let (ready_tx, stopped, gate) = (ready_tx.clone(), stopped.clone(), Arc::clone(&gate));
            let latency = Arc::clone(&latency);
            tasks.push(tokio::spawn(async move {
                let connected = {
                    let _permit = gate.acquire().await;
                    connecting.await
                };
                match connected {
                    Ok(feed) => {
                        let _ = ready_tx.send(Ok(())).await;
                        receive(feed, &clock, stopped, &latency).await
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string())).await;
                        Seen {
                            events: 0,
                            received: 0,
                            disconnected: true,
                        }
                    }
                }
            }));
        }
        for _ in 0..count {
            match ready.recv().await {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(format!("a subscriber could not join: {e}").into()),
                None => return Err("a subscriber task ended early".into()),
            }
        }
        Ok(Subscribers {
            tasks,
            stop,
            latency,
        })
    }

    /// Stops the subscribers and returns `{count, events, disconnected, latency_us}`. Given
    /// how many events were published in the whole run (`published`), each subscriber first
    /// waits for those still on their way, and `lost` counts what they did not get.
    pub async fn finish(self, published: Option<u64>) -> Value {
        let _ = self.stop.send(Some(published.unwrap_or(0)));
        let count = self.tasks.len();
        let mut seen = Vec::with_capacity(count);
        for task in self.tasks {
            if let Ok(s) = task.await {
                seen.push(s);
            }
        }
        let latency = self
            .latency
            .lock()
            .expect("no task panics holding it")
            .clone();
        let mut summary = json!({
            "count": count,
            "events": seen.iter().map(|s| s.events).sum::<u64>(),
            "disconnected": seen.iter().filter(|s| s.disconnected).count(),
            "latency_us": measure::summary(&latency),
        });
        if let Some(published) = published {
            let lost: u64 = seen
                .iter()
                .map(|s| published.saturating_sub(s.received))
                .sum();
            summary["lost"] = json!(lost + published * (count - seen.len()) as u64);
        }
        summary
    }
}

async fn receive<F: Feed>(
    mut feed: F,
    clock: &Clock,
    mut stop: watch::Receiver<Option<u64>>,
    latency: &Mutex<Histogram<u64>>,
) -> Seen {
    let mut seen = Seen {
        events: 0,
        received: 0,
        disconnected: false,
    };
    let (mut stamps, mut samples) = (Vec::with_capacity(64), Vec::with_capacity(64));
    let published = loop {
        let burst = tokio::select! {
            biased;
            _ = stop.changed() => break stop.borrow().unwrap_or(0),
            burst = feed.burst(&mut stamps) => burst,
        };
        seen.take(&mut stamps, clock, &mut samples, latency);
        if burst.is_err() {
            seen.disconnected = !clock.stopped();
            return seen;
        }
    };
    // The events published before the stop that are still on their way.
    while seen.received < published {
        let burst = tokio::time::timeout(DRAIN_IDLE, feed.burst(&mut stamps)).await;
        seen.take(&mut stamps, clock, &mut samples, latency);
        if !matches!(burst, Ok(Ok(()))) {
            break;
        }
    }
    feed.close().await;
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_cycle_over_loopback_addresses() {
        assert_eq!(source(5, 1), None);
        assert_eq!(source(0, 4), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(source(5, 4), Some("127.0.0.2".parse().unwrap()));
    }
}
