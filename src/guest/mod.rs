//! Guest workers: programs that `junction start` runs beside the router (Crossbar's `guest`
//! workers), typically WAMP components that connect back to one of its transports.
//!
//! [`Guests::start`] finds every executable first (a missing one fails the start, as in
//! Crossbar), then runs each guest under its own supervisor task ([`supervisor`]): output
//! lines to the log ([`output`]), restart with backoff when it exits ([`backoff`]), stop on
//! shutdown. The command line and environment are built in [`command`]. Guests lead process
//! groups of their own and are killed if Junction drops them, so none outlives Junction's
//! shutdown.
//!
//! This layer sits on top: it reads only `config` and `log_text`, and only `main.rs` uses it.

mod backoff;
mod command;
mod output;
mod supervisor;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The running guests.
pub struct Guests {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Guests {
    /// Starts every guest of `config` (call it once the listeners are up: guests usually
    /// connect to them). Fails, starting none, when an executable cannot be found.
    pub fn start(config: &Config) -> Result<Guests, String> {
        let mut resolved = Vec::new();
        for guest in &config.guests {
            resolved.push((guest.clone(), command::resolve(guest)?));
        }
        let stop = CancellationToken::new();
        let tasks = resolved
            .into_iter()
            .map(|(guest, executable)| {
                tokio::spawn(supervisor::run(guest, executable, stop.clone()))
            })
            .collect();
        Ok(Guests { stop, tasks })
    }

    /// Stops every guest (SIGTERM, SIGKILL after a grace period) and waits until all exited.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
