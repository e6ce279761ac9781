//! `idle`: open N WAMP sessions, hold them, and report what they cost the server: resident
//! memory (`VmRSS` of `/proc/PID/status`, summed over `--server-pid`) before the first and
//! after the last session joined, divided by N.
//!
//! Sessions connect from several loopback source addresses (`--sources`) so that N can exceed
//! one address's ephemeral ports, and at most `--concurrency` handshakes run at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::measure::{self, Report};
use crate::subscriber::source;
use crate::wamp::{Endpoint, Result, Session};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Sessions to open and hold (N).
    #[arg(long, short = 'n', default_value_t = 10_000)]
    pub sessions: usize,
    /// Seconds to hold the sessions before measuring memory.
    #[arg(long, default_value_t = 2.0)]
    pub hold: f64,
    /// Handshakes in progress at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Source addresses 127.0.0.1..N.
    #[arg(long, default_value_t = 4)]
    pub sources: usize,
    /// PIDs of the server's processes (comma-separated), whose memory is measured.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
}

pub async fn run(args: Args) -> Result<Report> {
    let endpoint = Arc::new(args.endpoint.clone());
    // One session first, so the baseline includes what the first connection initialises once.
    let first = Session::join(&endpoint, None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = measure::rss_bytes(&args.server_pid);

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let tasks: Vec<_> = (0..args.sessions)
        .map(|i| {
            let (endpoint, gate, sources) =
                (Arc::clone(&endpoint), Arc::clone(&gate), args.sources);
            tokio::spawn(async move {
                let _permit = gate.acquire().await;
                Session::join(&endpoint, source(i, sources)).await
            })
        })
        .collect();
    let mut sessions = Vec::with_capacity(args.sessions);
    let mut failed = 0usize;
    let mut first_error = None;
    for task in tasks {
        match task.await? {
            Ok(s) => sessions.push(s),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    let after = measure::rss_bytes(&args.server_pid);

    let joined = sessions.len();
    let per_session = match (before, after) {
        (Some(b), Some(a)) if joined > 0 => Some((a as f64 - b as f64) / joined as f64),
        _ => None,
    };
    let mut json = json!({
        "scenario": "idle",
        "url": args.endpoint.url,
        "serializer": args.endpoint.serialization.name(),
        "sessions": joined,
        "failed": failed,
        "connect_seconds": connect_seconds,
        "joins_per_s": (joined as f64 / connect_seconds).round(),
        "rss_before": before,
        "rss_after": after,
        "bytes_per_session": per_session.map(f64::round),
    });
    let memory = match per_session {
        Some(b) => format!(
            "{:.0} bytes ({:.2} KiB) of server RSS per session",
            b,
            b / 1024.0
        ),
        None => "server memory not measured (give --server-pid)".to_string(),
    };
    let mut human = format!(
        "idle {} n={}: {} joined in {:.1} s ({} failed), {}",
        args.endpoint.serialization.name(),
        args.sessions,
        joined,
        connect_seconds,
        failed,
        memory
    );
    measure::note_first_error(&mut json, &mut human, first_error);
    // Leave without waiting for each close handshake: dropping closes the sockets.
    drop(sessions);
    first.leave().await;
    Ok(Report { json, human })
}
