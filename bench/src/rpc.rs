//! `rpc`: one callee or several (sharing the registration round-robin) and N callers with K
//! calls in flight each. The callee answers every INVOCATION with the caller's timestamp, so
//! the caller measures the round trip from the RESULT alone. `--callers 1 --in-flight 1` is
//! the one-call-at-a-time latency.
//!
//! Reports calls/s and round-trip p50/p99/p99.9. Both sides write everything they have with one
//! flush, so the generator's syscalls do not set the pace.

use std::sync::Arc;

use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::watch;

use crate::measure::{self, Clock, Report, RunArgs};
use crate::wamp::{self, Endpoint, Incoming, Result, Session, padding};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Callee sessions (registered with `invoke: roundrobin` when more than one).
    #[arg(long, default_value_t = 1)]
    pub callees: usize,
    /// Caller sessions (N).
    #[arg(long, short = 'n', default_value_t = 16)]
    pub callers: usize,
    /// Calls in flight per caller (K).
    #[arg(long, short = 'k', default_value_t = 16)]
    pub in_flight: usize,
    /// Bytes of padding in each call's arguments.
    #[arg(long, default_value_t = 16)]
    pub payload: usize,
    #[arg(long, default_value = "bench.rpc.echo")]
    pub procedure: String,
    /// Where the callees join, when not at `--url` (another node of a cluster).
    #[arg(long = "callee-url")]
    pub callee_url: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

struct Tally {
    calls: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

pub async fn run(args: Args) -> Result<Report> {
    let clock = Clock::new(args.run.count);
    let endpoint = args.endpoint.clone();
    let (stop, stopped) = watch::channel(false);
    let mut callees = Vec::new();
    let callee_endpoint = Endpoint {
        url: args
            .callee_url
            .clone()
            .unwrap_or_else(|| endpoint.url.clone()),
        ..endpoint.clone()
    };
    for _ in 0..args.callees.max(1) {
        let mut session = Session::join(&callee_endpoint, None).await?;
        session.register(&args.procedure, args.callees > 1).await?;
        callees.push(tokio::spawn(serve(session, stopped.clone())));
    }
    let pad = Arc::new(padding(args.payload));
    let (window, tallies) = measure::load(&endpoint, args.callers, &clock, &args.run, |session| {
        let (clock, args, pad) = (Arc::clone(&clock), args.clone(), Arc::clone(&pad));
        async move { call_loop(session, &clock, &args, &pad).await }
    })
    .await?;
    let _ = stop.send(true);
    for task in callees {
        let _ = task.await;
    }

    let calls: u64 = tallies.iter().map(|t| t.calls).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let first_error = tallies.iter().find_map(|t| t.first_error.clone());
    let latency = measure::summary(&measure::merge(tallies.iter().map(|t| &t.latency)));
    let rate = calls as f64 / window.seconds;
    let mut json = json!({
        "scenario": "rpc",
        "url": args.endpoint.url,
        "serializer": args.endpoint.serialization.name(),
        "callees": args.callees,
        "callers": args.callers,
        "in_flight": args.in_flight,
        "payload": args.payload,
        "seconds": window.seconds,
        "calls": calls,
        "calls_per_s": rate.round(),
        "errors": errors,
        "latency_us": latency,
        "cpu": window.cpu,
    });
    let mut human = format!(
        "rpc {} {}x{} callees={}: {:.0} calls/s, {} ({} errors; {})",
        args.endpoint.serialization.name(),
        args.callers,
        args.in_flight,
        args.callees,
        rate,
        measure::latency_text(&json["latency_us"]),
        errors,
        measure::cpu_text(&window.cpu),
    );
    measure::note_first_error(&mut json, &mut human, first_error);
    Ok(Report { json, human })
}

/// The callee: YIELD the caller's stamp back for every INVOCATION, one flush per burst.
async fn serve(mut session: Session, mut stopped: watch::Receiver<bool>) {
    loop {
        let first = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            msg = session.recv() => msg,
        };
        let answered: Result<()> = async {
            let mut msg = Some(first?);
            while let Some(m) = msg {
                if let Incoming::Invocation { request, stamp } = m {
                    session.feed(&wamp::yield_(request, stamp)).await?;
                }
                msg = session.try_recv()?;
            }
            session.flush().await
        }
        .await;
        if answered.is_err() {
            return;
        }
    }
    session.leave().await;
}

async fn call_loop(mut session: Session, clock: &Clock, args: &Args, pad: &str) -> Tally {
    let mut tally = Tally {
        calls: 0,
        errors: 0,
        first_error: None,
        latency: measure::histogram(),
    };
    let mut request = 0u64;
    let result: Result<()> = async {
        for _ in 0..args.in_flight.max(1) {
            request += 1;
            session
                .feed(&wamp::call(request, &args.procedure, clock.stamp(), pad))
                .await?;
        }
        session.flush().await?;
        while !clock.stopped() {
            let mut msg = Some(session.recv().await?);
            while let Some(m) = msg {
                let answered = match m {
                    Incoming::Result { stamp, .. } => {
                        if clock.measuring() {
                            tally.calls += 1;
                            let rtt = stamp.map_or(0, |s| clock.since(s));
                            let _ = tally.latency.record(rtt.max(1));
                            clock.complete();
                        }
                        true
                    }
                    Incoming::Error { error, .. } => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(error);
                        true
                    }
                    _ => false,
                };
                if answered && !clock.stopped() {
                    request += 1;
                    session
                        .feed(&wamp::call(request, &args.procedure, clock.stamp(), pad))
                        .await?;
                }
                msg = session.try_recv()?;
            }
            session.flush().await?;
        }
        Ok(())
    }
    .await;
    measure::end_session(result, &mut tally.first_error, clock, session).await;
    tally
}
