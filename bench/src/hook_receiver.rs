//! `hook-receiver`: the far end of Junction's HTTP subscribers for throughput runs. A minimal
//! keep-alive HTTP/1.1 server that answers every request `200` with an empty body and counts
//! the events in the bodies (each event object carries one `"publication":` key, so a batch
//! counts as many as it holds) without parsing the JSON; the receiver's cost stays small next
//! to the forwarder's.
//!
//! Reports events/s and requests/s between the first and the last request, once `--events`
//! arrived or nothing came for `--idle` seconds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::measure::Report;
use crate::wamp::Result;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub listen: SocketAddr,
    /// Stop once this many events arrived.
    #[arg(long)]
    pub events: Option<u64>,
    /// Stop after this many seconds without a request (once one came).
    #[arg(long, default_value_t = 3.0)]
    pub idle: f64,
}

#[derive(Default)]
struct Counts {
    events: AtomicU64,
    requests: AtomicU64,
    /// (first, last) request.
    span: Mutex<Option<(Instant, Instant)>>,
}

const KEY: &[u8] = b"\"publication\":";
const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

pub async fn run(args: Args) -> Result<Report> {
    let listener = TcpListener::bind(args.listen).await?;
    eprintln!("hook-receiver listening on {}", listener.local_addr()?);
    let counts = Arc::new(Counts::default());
    let accept = {
        let counts = Arc::clone(&counts);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, Arc::clone(&counts)));
            }
        })
    };
    let idle = Duration::from_secs_f64(args.idle);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let events = counts.events.load(Ordering::Relaxed);
        if args.events.is_some_and(|n| events >= n) {
            break;
        }
        if let Some((_, last)) = *counts.span.lock().await
            && last.elapsed() >= idle
        {
            break;
        }
    }
    accept.abort();
    let events = counts.events.load(Ordering::Relaxed);
    let requests = counts.requests.load(Ordering::Relaxed);
    let seconds = counts
        .span
        .lock()
        .await
        .map_or(0.0, |(first, last)| (last - first).as_secs_f64());
    let rate = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    Ok(Report {
        json: json!({"scenario": "hook-receiver", "events": events, "requests": requests,
                     "seconds": seconds, "events_per_s": rate(events),
                     "requests_per_s": rate(requests)}),
        human: format!(
            "hook-receiver: {events} events in {requests} requests over {seconds:.2} s: \
             {:.0} events/s, {:.0} requests/s",
            rate(events),
            rate(requests)
        ),
    })
}

/// One connection: requests one after another, each answered at once.
async fn serve(mut stream: TcpStream, counts: Arc<Counts>) {
    let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // A whole request in `buffer`: head, then Content-Length bytes.
        let (head, length) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            if let Ok(httparse::Status::Complete(head)) = request.parse(&buffer) {
                let length = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .unwrap_or(0usize);
                if buffer.len() >= head + length {
                    break (head, length);
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let body = &buffer[head..head + length];
        let events = body.windows(KEY.len()).filter(|w| *w == KEY).count() as u64;
        buffer.drain(..head + length);
        counts.events.fetch_add(events, Ordering::Relaxed);
        counts.requests.fetch_add(1, Ordering::Relaxed);
        {
            let now = Instant::now();
            let mut span = counts.span.lock().await;
            let first = span.map_or(now, |(first, _)| first);
            *span = Some((first, now));
        }
        if stream.write_all(ANSWER).await.is_err() {
            return;
        }
    }
}
