//! One guest's life: start it, log its output, restart it with backoff whenever it exits, and
//! on shutdown stop it: SIGTERM to its process group, SIGKILL after [`GRACE`].

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::Child;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::model::{GuestStdin, GuestWorker};
use crate::log_text::peer_text;

use super::backoff::Backoff;
use super::command::command;
use super::output::log_lines;

/// How long a guest has to exit after SIGTERM before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// Runs `guest` until `stop` is cancelled, then stops it; returns once it has exited.
pub async fn run(guest: GuestWorker, executable: PathBuf, stop: CancellationToken) {
    let id = peer_text(&guest.id).to_string();
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        match command(&guest, &executable).spawn() {
            Ok(mut child) => {
                // The group the guest leads has its pid as id (kept: `Child::id` is gone once
                // the child is reaped).
                let group = child
                    .id()
                    .and_then(|pid| i32::try_from(pid).ok())
                    .map(Pid::from_raw);
                tracing::info!(
                    guest = %id,
                    "guest {id} started (pid {}): {}",
                    child.id().unwrap_or_default(),
                    executable.display()
                );
                let stdin = feed_stdin(&guest, &mut child);
                spawn_loggers(&mut child, &guest.id);
                tokio::select! {
                    status = child.wait() => match status {
                        Ok(exit) => tracing::warn!(guest = %id, "guest {id} exited ({exit})"),
                        Err(e) => tracing::error!(guest = %id, error = %e, "guest {id}: cannot wait for it"),
                    },
                    () = stop.cancelled() => {
                        terminate(&mut child, group, &id).await;
                        stdin.abort();
                        return;
                    }
                }
                stdin.abort();
                // Whatever it started in its process group goes with it.
                signal_group(group, Signal::SIGKILL);
            }
            Err(e) => tracing::error!(
                guest = %id,
                error = %e,
                "guest {id}: cannot start {}",
                executable.display()
            ),
        }
        let delay = backoff.after_run(started.elapsed());
        tracing::info!(guest = %id, "guest {id}: restarting in {} s", delay.as_secs());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Writes `options.stdin`'s JSON value, if any; the pipe stays open while the returned task
/// runs (abort it when the run ends) unless the config says to close it. With no `stdin`
/// option the pipe stays in `child` and open, as in Crossbar.
fn feed_stdin(guest: &GuestWorker, child: &mut Child) -> JoinHandle<()> {
    let GuestStdin::Json { value, close } = &guest.stdin else {
        return tokio::spawn(async {});
    };
    let (value, close) = (value.clone(), *close);
    let pipe = child.stdin.take();
    tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        if pipe.write_all(value.as_bytes()).await.is_err() || close {
            return;
        }
        // Keep the pipe open until the run ends (the task is aborted then).
        std::future::pending::<()>().await;
        drop(pipe);
    })
}

fn spawn_loggers(child: &mut Child, id: &str) {
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(log_lines(stdout, id.to_string(), "stdout"));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(log_lines(stderr, id.to_string(), "stderr"));
    }
}

/// SIGTERM to the guest's process group, SIGKILL after [`GRACE`]; waits until it has exited.
async fn terminate(child: &mut Child, group: Option<Pid>, id: &str) {
    tracing::info!(guest = %id, "guest {id}: stopping (SIGTERM)");
    signal_group(group, Signal::SIGTERM);
    match tokio::time::timeout(GRACE, child.wait()).await {
        Ok(_) => {}
        Err(_) => {
            tracing::warn!(
                guest = %id,
                "guest {id}: still running {} s after SIGTERM, sending SIGKILL",
                GRACE.as_secs()
            );
            signal_group(group, Signal::SIGKILL);
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
    signal_group(group, Signal::SIGKILL);
    tracing::info!(guest = %id, "guest {id} stopped");
}

/// Sends `signal` to the process group the guest leads (gone already: nothing happens).
fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        let _ = killpg(group, signal);
    }
}
