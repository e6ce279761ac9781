//! S WebSocket subscribers on one topic, shared by the `fanout` and `pusher` scenarios: they
//! join and subscribe before any load starts, then count the events received while measuring
//! and record publish-to-receive latency from the stamp each payload carries.
//!
//! A subscriber the router disconnects (e.g. because its outbound queue overflowed) is counted,
//! not fatal: losing slow consumers is a legitimate router policy and the report shows it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

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

/// What one subscriber saw while measuring. Latencies go to one histogram shared by all
/// subscribers (a histogram each would be thousands of cache-cold 300 KB tables), recorded
/// once per burst of events.
struct Seen {
    events: u64,
    disconnected: bool,
}

/// Running subscribers; [`Subscribers::finish`] stops them and sums up.
pub struct Subscribers {
    tasks: Vec<JoinHandle<Seen>>,
    stop: watch::Sender<bool>,
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
        let (stop, stopped) = watch::channel(false);
        let latency = Arc::new(Mutex::new(measure::histogram()));
        let (ready_tx, mut ready) = mpsc::channel(count.max(1));
        let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        let mut tasks = Vec::with_capacity(count);
        for i in 0..count {
            let endpoint = endpoints[i % endpoints.len()].clone();
            let (topic, clock) = (topic.to_string(), Arc::clone(clock));
            let (ready_tx, stopped, gate) = (ready_tx.clone(), stopped.clone(), Arc::clone(&gate));
            let latency = Arc::clone(&latency);
            tasks.push(tokio::spawn(async move {
                let joined = async {
                    let _permit = gate.acquire().await;
                    let mut session = Session::join(&endpoint, source(i, sources)).await?;
                    session.subscribe(&topic).await?;
                    Ok::<_, crate::wamp::Error>(session)
                }
                .await;
                match joined {
                    Ok(session) => {
                        let _ = ready_tx.send(Ok(())).await;
                        receive(session, &clock, stopped, &latency).await
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string())).await;
                        Seen {
                            events: 0,
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

    /// Stops the subscribers and returns `{count, events, disconnected, latency_us}`.
    pub async fn finish(self) -> Value {
        let _ = self.stop.send(true);
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
        json!({
            "count": count,
            "events": seen.iter().map(|s| s.events).sum::<u64>(),
            "disconnected": seen.iter().filter(|s| s.disconnected).count(),
            "latency_us": measure::summary(&latency),
        })
    }
}

async fn receive(
    mut session: Session,
    clock: &Clock,
    mut stopped: watch::Receiver<bool>,
    latency: &Mutex<Histogram<u64>>,
) -> Seen {
    let mut seen = Seen {
        events: 0,
        disconnected: false,
    };
    let mut samples = Vec::with_capacity(64);
    loop {
        let first = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            msg = session.recv() => msg,
        };
        // Everything that arrived with the first message, then one lock for the samples.
        let burst: Result<()> = (|| {
            let mut msg = Some(first?);
            while let Some(m) = msg {
                if let Incoming::Event { stamp, .. } = m
                    && clock.measuring()
                {
                    seen.events += 1;
                    if let Some(stamp) = stamp {
                        samples.push(clock.since(stamp).max(1));
                    }
                }
                msg = session.try_recv()?;
            }
            Ok(())
        })();
        if !samples.is_empty() {
            let mut h = latency.lock().expect("no task panics holding it");
            for s in samples.drain(..) {
                let _ = h.record(s);
            }
        }
        if burst.is_err() {
            seen.disconnected = !clock.stopped();
            return seen;
        }
    }
    session.leave().await;
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
