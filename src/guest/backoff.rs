//! When to restart a guest that exited: 1 s, doubling up to 60 s, back to 1 s once a run has
//! lasted a while (a program that crashes at start is not restarted in a tight loop, one that
//! ran for an hour and then failed once is restarted at once).

use std::time::Duration;

pub const FIRST: Duration = Duration::from_secs(1);
pub const MAX: Duration = Duration::from_secs(60);
/// A run at least this long counts as healthy: the next restart waits [`FIRST`] again.
pub const HEALTHY_RUN: Duration = Duration::from_secs(30);

/// The delays before restarts, one run after another.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST }
    }
}

impl Backoff {
    /// The delay before the next start, given how long the run that just ended lasted.
    pub fn after_run(&mut self, ran: Duration) -> Duration {
        if ran >= HEALTHY_RUN {
            self.next = FIRST;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets_after_a_healthy_run() {
        let mut backoff = Backoff::default();
        let short = Duration::from_millis(10);
        let delays: Vec<u64> = (0..9).map(|_| backoff.after_run(short).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff.after_run(HEALTHY_RUN), FIRST);
        assert_eq!(backoff.after_run(short), Duration::from_secs(2));
    }
}
