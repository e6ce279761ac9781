//! `pusher`: C kept-alive HTTP connections POSTing `{"topic", "args"}` to a pusher path as fast
//! as each answer comes back (one request in flight per connection), unsigned or signed with
//! Crossbar's signature, optionally with S WebSocket subscribers receiving the events.
//!
//! Reports requests/s and request latency p50/p99/p99.9; with subscribers, also events
//! received and publish-to-receive latency. A non-2xx answer counts as an error and its first
//! body is shown, so a misconfigured path is obvious instead of fast.

use std::sync::Arc;

use hdrhistogram::Histogram;
use serde_json::json;

use crate::http::{self, Connection, Target};
use crate::measure::{self, Clock, Report, RunArgs};
use crate::subscriber::Subscribers;
use crate::wamp::{Endpoint, Result, Serialization, padding};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The pusher URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/push")]
    pub url: String,
    /// Concurrent HTTP connections (C), one request in flight on each.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub connections: usize,
    /// Sign requests with this key (and --secret).
    #[arg(long, requires = "secret")]
    pub key: Option<String>,
    #[arg(long, requires = "key")]
    pub secret: Option<String>,
    #[arg(long, default_value = "bench.pusher")]
    pub topic: String,
    /// Bytes of padding in each event's second argument.
    #[arg(long, default_value_t = 32)]
    pub payload: usize,
    /// WebSocket subscribers to the topic (S); 0 for none.
    #[arg(long, short = 's', default_value_t = 0)]
    pub subscribers: usize,
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub ws_url: String,
    #[arg(long, default_value = "realm1")]
    pub realm: String,
    #[arg(long, value_enum, default_value = "json")]
    pub serializer: Serialization,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What one connection measured.
struct Tally {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

pub async fn run(args: Args) -> Result<Report> {
    let clock = Clock::new(args.run.count);
    let target = Target::parse(&args.url).await?;
    let subscribers = if args.subscribers > 0 {
        let endpoint = Endpoint {
            url: args.ws_url.clone(),
            realm: args.realm.clone(),
            serialization: args.serializer,
        };
        Some(Subscribers::start(&endpoint, &args.topic, args.subscribers, 1, &clock).await?)
    } else {
        None
    };
    let signing = args.key.clone().zip(args.secret.clone());
    let pad = Arc::new(padding(args.payload));
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let (clock, target, signing) = (Arc::clone(&clock), target.clone(), signing.clone());
            let (topic, pad) = (args.topic.clone(), Arc::clone(&pad));
            tokio::spawn(async move { post_loop(&clock, target, signing, &topic, &pad).await })
        })
        .collect();
    let window = clock.drive(&args.run).await;
    let mut tallies = Vec::new();
    for task in tasks {
        tallies.push(task.await?);
    }
    let subscribed = match subscribers {
        Some(s) => Some(s.finish(None).await),
        None => None,
    };

    let ok: u64 = tallies.iter().map(|t| t.ok).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let first_error = tallies.iter().find_map(|t| t.first_error.clone());
    let latency = measure::summary(&measure::merge(tallies.iter().map(|t| &t.latency)));
    let rate = ok as f64 / window.seconds;
    let signed = signing.is_some();
    let mut json = json!({
        "scenario": "pusher",
        "url": args.url,
        "signed": signed,
        "connections": args.connections,
        "payload": args.payload,
        "seconds": window.seconds,
        "requests": ok,
        "errors": errors,
        "requests_per_s": rate.round(),
        "latency_us": latency,
        "cpu": window.cpu,
    });
    let mut human = format!(
        "pusher{} c={} {}: {:.0} req/s, {} ({} errors; {})",
        if signed { " signed" } else { "" },
        args.connections,
        args.url,
        rate,
        measure::latency_text(&json["latency_us"]),
        errors,
        measure::cpu_text(&window.cpu),
    );
    measure::note_first_error(&mut json, &mut human, first_error);
    if let Some(s) = subscribed {
        human += &format!(
            "\n  {} subscribers ({}): {:.0} events/s, delivery {}, {} disconnected",
            s["count"],
            args.serializer.name(),
            s["events"].as_f64().unwrap_or(0.0) / window.seconds,
            measure::latency_text(&s["latency_us"]),
            s["disconnected"],
        );
        json["subscribers"] = s;
    }
    Ok(Report { json, human })
}

async fn post_loop(
    clock: &Clock,
    target: Target,
    signing: Option<(String, String)>,
    topic: &str,
    pad: &str,
) -> Tally {
    let mut conn = Connection::new(target);
    let mut tally = Tally {
        ok: 0,
        errors: 0,
        first_error: None,
        latency: measure::histogram(),
    };
    let mut seq = 0u64;
    let mut body = Vec::with_capacity(128 + pad.len());
    while !clock.stopped() {
        seq += 1;
        body.clear();
        let stamp = clock.stamp();
        body.extend_from_slice(
            format!(r#"{{"topic":"{topic}","args":[{stamp},"{pad}"]}}"#).as_bytes(),
        );
        let query = match &signing {
            Some((key, secret)) => http::signed_query(
                key,
                secret,
                &http::timestamp_now(),
                seq,
                http::nonce(),
                &body,
            ),
            None => String::new(),
        };
        let sent = std::time::Instant::now();
        let answer = conn.post(&query, &body).await;
        let elapsed = sent.elapsed().as_nanos() as u64;
        let measuring = clock.measuring();
        let failure = match answer {
            Ok(r) if (200..300).contains(&r.status) => None,
            Ok(r) => Some(format!(
                "HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            Err(e) => Some(e.to_string()),
        };
        match failure {
            None if measuring => {
                tally.ok += 1;
                let _ = tally.latency.record(elapsed.max(1));
                clock.complete();
            }
            None => {}
            Some(e) => {
                if measuring {
                    tally.errors += 1;
                }
                if tally.first_error.is_none() {
                    tally.first_error = Some(e);
                }
                // A refused connection would otherwise spin: give the server a moment.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
    tally
}
