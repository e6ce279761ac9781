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

/// The measured part of a run.
pub struct Window {
    pub seconds: f64,
    pub cpu: Value,
}

/// A latency histogram in nanoseconds, 1 ns to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// p50/p99/p99.9/max/mean in microseconds, and the sample count.
pub fn summary(h: &Histogram<u64>) -> Value {
    let us = |ns: u64| (ns as f64 / 1000.0 * 10.0).round() / 10.0;
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "p50": us(h.value_at_quantile(0.50)),
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

/// CPU seconds (user + system) of this process and of the server's processes.
struct CpuSample {
    generator: f64,
    server: Option<f64>,
}

impl CpuSample {
    fn take(server_pids: &[u32]) -> CpuSample {
        let server = (!server_pids.is_empty()).then(|| {
            server_pids
                .iter()
                .filter_map(|pid| cpu_seconds(&format!("/proc/{pid}/stat")))
                .sum()
        });
        CpuSample {
            generator: cpu_seconds("/proc/self/stat").unwrap_or(0.0),
            server,
        }
    }

    /// Cores used on average over `seconds` (1.0 = one core busy the whole time).
    fn share_since(&self, before: &CpuSample, seconds: f64) -> Value {
        let share = |a: f64, b: f64| ((a - b) / seconds * 100.0).round() / 100.0;
        let mut cpu = json!({"generator": share(self.generator, before.generator)});
        if let (Some(a), Some(b)) = (self.server, before.server) {
            cpu["server"] = json!(share(a, b));
        }
        cpu
    }
}

/// utime + stime of `/proc/PID/stat`, in seconds (Linux; `None` elsewhere or if gone).
fn cpu_seconds(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux.
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
        assert!(cpu_seconds("/proc/self/stat").is_some());
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
