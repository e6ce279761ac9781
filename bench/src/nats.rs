//! `nats-echo` and `nats-rtt`: the floor under a call between two Junction nodes, measured
//! with no Junction in the path. `nats-echo` answers every request on a subject; `nats-rtt`
//! sends one request at a time (a 100-byte payload, about a forwarded CALL's size) and
//! reports requests/s and the round trip. Run each pinned where the two nodes run, so the
//! NATS hops are timed under the same placement as the cross-node call (bench/cluster.sh).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::measure::{self, Report, RunArgs};
use crate::wamp::Result;

#[derive(clap::Args, Debug, Clone)]
pub struct EchoArgs {
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    #[arg(long, default_value = "bench.echo")]
    pub subject: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RttArgs {
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    #[arg(long, default_value = "bench.echo")]
    pub subject: String,
    /// Send four short headers with each request, as a forwarded call carries.
    #[arg(long)]
    pub headers: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

async fn connect(url: &str) -> Result<async_nats::Client> {
    async_nats::connect(url)
        .await
        .map_err(|e| format!("cannot connect to NATS at {url}: {e}").into())
}

/// Answers requests until killed.
pub async fn echo(args: EchoArgs) -> Result<Report> {
    let client = connect(&args.nats).await?;
    let mut requests = client
        .subscribe(args.subject.clone())
        .await
        .map_err(|e| format!("cannot subscribe: {e}"))?;
    client.flush().await.map_err(|e| format!("flush: {e}"))?;
    let mut answered = 0u64;
    while let Some(request) = requests.next().await {
        if let Some(reply) = request.reply {
            let _ = client.publish(reply, request.payload).await;
            answered += 1;
        }
    }
    Ok(Report {
        json: json!({"scenario": "nats-echo", "answered": answered}),
        human: format!("nats-echo: answered {answered} requests"),
    })
}

/// One request at a time for the run's duration, after its warm-up.
pub async fn rtt(args: RttArgs) -> Result<Report> {
    let client = connect(&args.nats).await?;
    let payload = bytes::Bytes::from(vec![b'x'; 100]);
    let mut latency = measure::histogram();
    let warmup_end = Instant::now() + Duration::from_secs_f64(args.run.warmup);
    let end = warmup_end + Duration::from_secs_f64(args.run.duration);
    let mut errors = 0u64;
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let measuring = started >= warmup_end;
        let request = async_nats::Request::new().payload(payload.clone());
        let request = if args.headers {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("J-O", "node-a-0123456789ab");
            headers.insert("J-R", "realm1");
            headers.insert("J-S", "1234567890123456");
            headers.insert("J-T", "6543210987654321");
            request.headers(headers)
        } else {
            request
        };
        match client.send_request(args.subject.clone(), request).await {
            Ok(_) if measuring => {
                let _ = latency.record(started.elapsed().as_nanos() as u64);
            }
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    let seconds = args.run.duration;
    let summary = measure::summary(&latency);
    let rate = latency.len() as f64 / seconds;
    Ok(Report {
        human: format!(
            "nats-rtt: {rate:.0} requests/s, {} ({errors} errors)",
            measure::latency_text(&summary)
        ),
        json: json!({"scenario": "nats-rtt", "requests_per_s": rate, "latency_us": summary,
                     "errors": errors}),
    })
}
