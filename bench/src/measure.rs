//! What every scenario shares: the run's phases (warm-up, measurement, stop), latency
//! histograms and their summary, CPU time of the generator and of the server, and the report
//! (one line of JSON for scripts, one line for people).
//!
//! Tasks record only while [`Clock::measuring`] is true, so the warm-up primes connections,
//! caches and the router's tables without counting. A run ends after `--duration` seconds of
//! measurement or, with `--count`, as soon as that many operations completed (whichever first).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::wamp::{Endpoint, Result, Session};

/// Flags shared by every timed scenario.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Seconds of load before measuring (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Seconds of measurement (an upper bound when --count is given).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Stop once this many operations completed in the measurement phase.
    #[arg(long)]
    pub count: Option<u64>,
    /// PIDs of the server's processes (comma-separated), for its CPU share and memory.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
}

/// The phase of a run, shared by all its tasks.
pub struct Clock {
    /// Origin of the timestamps that travel in payloads (publish-to-receive latency).
    origin: Instant,
    measuring: AtomicBool,
    stopped: AtomicBool,
    done: AtomicU64,
    count: Option<u64>,
    finished: Notify,
}

impl Clock {
    pub fn new(count: Option<u64>) -> Arc<Clock> {
        Arc::new(Clock {
            origin: Instant::now(),
            measuring: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            done: AtomicU64::new(0),
            count,
            finished: Notify::new(),
        })
    }

    /// Nanoseconds since the clock was made: the stamp a payload carries.
    pub fn stamp(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// Nanoseconds from `stamp` to now (0 if the stamp is from the future, e.g. garbage).
    pub fn since(&self, stamp: u64) -> u64 {
        self.stamp().saturating_sub(stamp)
    }

    pub fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }

    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Counts one completed operation (only while measuring); ends a `--count` run.
    pub fn complete(&self) {
        if !self.measuring() {
            return;
        }
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.count == Some(done) {
            self.finished.notify_one();
        }
    }

    /// Stops the run early (a scenario that cannot go on).
    pub fn abort(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.finished.notify_one();
    }

    /// Drives the phases: warm-up, then measurement until the duration or the count is reached.
    /// Returns the measured window with the CPU used in it.
    pub async fn drive(&self, run: &RunArgs) -> Window {
        tokio::time::sleep(Duration::from_secs_f64(run.warmup)).await;
        let before = CpuSample::take(&run.server_pid);
        let start = Instant::now();
        self.measuring.store(true, Ordering::Relaxed);
        if !self.stopped() {
            let _ = tokio::time::timeout(
                Duration::from_secs_f64(run.duration),
                self.finished.notified(),
            )
            .await;
        }
        self.measuring.store(false, Ordering::Relaxed);
        self.stopped.store(true, Ordering::Relaxed);
        let seconds = start.elapsed().as_secs_f64();
        let after = CpuSample::take(&run.server_pid);
        Window {
            seconds,
            cpu: after.share_since(&before, seconds),
        }
    }
}

/// The load of a timed scenario: joins `sessions` WAMP sessions, one after the other, runs
/// `work` on each in its own task, drives the clock's phases, and returns the measured window
/// with what each task tallied.
pub async fn load<T, W, F>(
    endpoint: &Endpoint,
    sessions: usize,
    clock: &Clock,
    run: &RunArgs,
    work: W,
) -> Result<(Window, Vec<T>)>
where
    W: Fn(Session) -> F,
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let session = Session::join(endpoint, None).await?;
        tasks.push(tokio::spawn(work(session)));
    }
    let window = clock.drive(run).await;
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        tallies.push(task.await?);
    }
    Ok((window, tallies))
}

/// How a load task's session ends: an error stops the whole run (and is kept as the task's
/// first), otherwise the session says GOODBYE.
pub async fn end_session(
    result: Result<()>,
    first_error: &mut Option<String>,
    clock: &Clock,
    session: Session,
) {
    match result {
        Err(e) => {
            first_error.get_or_insert(e.to_string());
            clock.abort();
        }
        Ok(()) => session.leave().await,
    }
}

/// The measured part of a run.
pub struct Window {
    pub seconds: f64,
    pub cpu: Value,
}

/// A latency histogram in nanoseconds, 1 ns to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// p50/p90/p99/p99.9/max/mean in microseconds, and the sample count.
pub fn summary(h: &Histogram<u64>) -> Value {
    let us = |ns: u64| (ns as f64 / 1000.0 * 10.0).round() / 10.0;
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "p50": us(h.value_at_quantile(0.50)),
        "p90": us(h.value_at_quantile(0.90)),
        "p99": us(h.value_at_quantile(0.99)),
        "p999": us(h.value_at_quantile(0.999)),
        "max": us(h.max()),
        "mean": (h.mean() / 100.0).round() / 10.0,
    })
}

/// Merges per-task histograms.
pub fn merge<'a>(parts: impl IntoIterator<Item = &'a Histogram<u64>>) -> Histogram<u64> {
    let mut all = histogram();
    for h in parts {
        all.add(h).expect("same bounds");
    }
    all
}

/// `p50 0.31 ms p99 1.20 ms p99.9 2.05 ms`, for the human line.
pub fn latency_text(summary: &Value) -> String {
    let ms = |k: &str| {
        summary[k]
            .as_f64()
            .map_or("-".into(), |v| format!("{:.3}", v / 1000.0))
    };
    format!(
        "p50 {} ms, p99 {} ms, p99.9 {} ms",
        ms("p50"),
        ms("p99"),
        ms("p999")
    )
}

/// `cpu: generator 0.35 (waited 0.01), server 1.0 (waited 0.0)`: cores busy on average and the
/// share of time spent waiting for a core, for the human line.
pub fn cpu_text(cpu: &Value) -> String {
    let mut text = format!(
        "cpu: generator {} (waited {})",
        cpu["generator"], cpu["generator_wait"]
    );
    if let Some(server) = cpu.get("server") {
        text += &format!(", server {server} (waited {})", cpu["server_wait"]);
    }
    text
}

/// Scheduler time of this process and of the server's processes, summed over their threads.
struct CpuSample {
    generator: Sched,
    server: Option<Sched>,
}

/// Seconds on a CPU and seconds runnable but waiting for one (`/proc/PID/task/*/schedstat`).
/// The wait is what other work on the same core took from the process: a measurement taken
/// while the machine is busy shows it there.
#[derive(Default, Clone, Copy)]
struct Sched {
    running: f64,
    waiting: f64,
}

impl std::ops::Add for Sched {
    type Output = Sched;
    fn add(self, o: Sched) -> Sched {
        Sched {
            running: self.running + o.running,
            waiting: self.waiting + o.waiting,
        }
    }
}

impl CpuSample {
    fn take(server_pids: &[u32]) -> CpuSample {
        let server = (!server_pids.is_empty()).then(|| {
            server_pids
                .iter()
                .map(|pid| sched(&pid.to_string()))
                .fold(Sched::default(), |a, b| a + b)
        });
        CpuSample {
            generator: sched("self"),
            server,
        }
    }

    /// Cores used on average over `seconds` (1.0 = one core busy the whole time), and the
    /// share of time the process's threads waited for a core.
    fn share_since(&self, before: &CpuSample, seconds: f64) -> Value {
        let share = |a: f64, b: f64| ((a - b) / seconds * 100.0).round() / 100.0;
        let (g, g0) = (self.generator, before.generator);
        let mut cpu = json!({
            "generator": share(g.running, g0.running),
            "generator_wait": share(g.waiting, g0.waiting),
        });
        if let (Some(s), Some(s0)) = (self.server, before.server) {
            cpu["server"] = json!(share(s.running, s0.running));
            cpu["server_wait"] = json!(share(s.waiting, s0.waiting));
        }
        cpu
    }
}

/// The scheduler statistics of every thread of a process (`self` or a PID); zero if gone.
fn sched(pid: &str) -> Sched {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Sched::default();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|line| {
            let mut ns = line.split_whitespace().map(|f| f.parse::<f64>().ok());
            Some(Sched {
                running: ns.next()?? / 1e9,
                waiting: ns.next()?? / 1e9,
            })
        })
        .fold(Sched::default(), |a, b| a + b)
}

/// Resident memory of the processes in bytes (`VmRSS` of `/proc/PID/status`), summed.
pub fn rss_bytes(pids: &[u32]) -> Option<u64> {
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        total += kib * 1024;
    }
    Some(total)
}

/// One finished scenario: the JSON line for scripts and the line for people.
pub struct Report {
    pub json: Value,
    pub human: String,
}

/// Adds a run's first error, if any, to both forms of its report.
pub fn note_first_error(json: &mut Value, human: &mut String, first_error: Option<String>) {
    if let Some(e) = first_error {
        json["first_error"] = json!(e);
        human.push_str(&format!("\n  first error: {e}"));
    }
}

impl Report {
    pub fn print(&self) {
        println!("{}", self.json);
        eprintln!("{}", self.human);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_error_goes_into_both_reports() {
        let (mut json, mut human) = (json!({"scenario": "rpc"}), "rpc: 1 calls/s".to_string());
        note_first_error(&mut json, &mut human, None);
        assert_eq!(json, json!({"scenario": "rpc"}));
        assert_eq!(human, "rpc: 1 calls/s");
        note_first_error(&mut json, &mut human, Some("refused".into()));
        assert_eq!(json["first_error"], "refused");
        assert_eq!(human, "rpc: 1 calls/s\n  first error: refused");
    }

    #[test]
    fn summary_reports_percentiles_in_microseconds() {
        let mut h = histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let s = summary(&h);
        assert_eq!(s["count"], 1000);
        let near = |k: &str, want: f64| {
            let got = s[k].as_f64().unwrap();
            assert!((got - want).abs() / want < 0.002, "{k}: {got} vs {want}");
        };
        near("p50", 500.0);
        near("p90", 900.0);
        near("p99", 990.0);
        near("p999", 999.0);
        near("max", 1000.0);
        near("mean", 500.5);
    }

    #[test]
    fn empty_summary_has_only_a_count() {
        assert_eq!(summary(&histogram()), json!({"count": 0}));
        assert_eq!(
            latency_text(&json!({"count": 0})),
            "p50 - ms, p99 - ms, p99.9 - ms"
        );
    }

    #[test]
    fn merge_adds_samples() {
        let (mut a, mut b) = (histogram(), histogram());
        a.record(1_000).unwrap();
        b.record(3_000).unwrap();
        b.record(3_000).unwrap();
        let all = merge([&a, &b]);
        assert_eq!(all.len(), 3);
        assert_eq!(summary(&all)["p50"], 3.0);
    }

    #[test]
    fn latency_text_is_in_milliseconds() {
        let s = json!({"p50": 310.0, "p99": 1200.0, "p999": 2050.0});
        assert_eq!(
            latency_text(&s),
            "p50 0.310 ms, p99 1.200 ms, p99.9 2.050 ms"
        );
    }

    #[test]
    fn own_cpu_time_and_rss_are_readable() {
        let mut busy = 0u64;
        for i in 0..2_000_000u64 {
            busy = busy.wrapping_add(i * i);
        }
        std::hint::black_box(busy);
        assert!(sched("self").running > 0.0);
        assert_eq!(sched(&u32::MAX.to_string()).running, 0.0);
        assert!(rss_bytes(&[std::process::id()]).unwrap() > 0);
        assert_eq!(rss_bytes(&[u32::MAX]), None);
    }

    #[tokio::test]
    async fn count_ends_the_measurement() {
        let clock = Clock::new(Some(3));
        let run = RunArgs {
            warmup: 0.0,
            duration: 30.0,
            count: Some(3),
            server_pid: vec![],
        };
        let worker = {
            let clock = Arc::clone(&clock);
            tokio::spawn(async move {
                while !clock.stopped() {
                    clock.complete();
                    tokio::task::yield_now().await;
                }
            })
        };
        let window = tokio::time::timeout(Duration::from_secs(5), clock.drive(&run))
            .await
            .expect("count reached before the duration");
        worker.await.unwrap();
        assert!(window.seconds < 5.0);
        assert!(window.cpu["generator"].is_number());
    }
}
