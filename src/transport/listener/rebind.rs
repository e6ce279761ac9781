//! A listener whose address could not be bound at start (another process holds the port, a
//! live process listens on the Unix socket): logged as an ERROR, shown down by readiness, and
//! retried in the background until it binds, so the node heals itself once the port is free.
//!
//! Why retry rather than give up: the usual cause is temporary (the previous instance still
//! draining during a rolling restart, a one-off process on the port), and a node that stays
//! unready with the reason in `/ready` says more than one that needs a restart to notice.
//! A port that stays taken costs one bind attempt every [`RETRY_EVERY`].

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use super::Prepared;
use crate::router::Router;

/// How long a failed listener waits before binding again.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// What readiness and the log say of a listener that is down: `tcp 127.0.0.1:8080
/// (transports[1]): Address already in use (os error 98)`.
pub fn reason(prepared: &Prepared, e: &io::Error) -> String {
    format!("{}: {}", prepared.name(), os_error(e))
}

/// The OS error without the "cannot listen on ADDR" that [`super::bind`] puts in front (the
/// endpoint is named already).
fn os_error(e: &io::Error) -> String {
    let text = e.to_string();
    match text.strip_prefix("cannot listen on ") {
        Some(rest) => rest
            .split_once(": ")
            .map_or(text.clone(), |(_, why)| why.to_owned()),
        None => text,
    }
}

/// Logs the failure, marks the listener down and binds it again every [`RETRY_EVERY`] until it
/// binds or the node shuts down.
pub fn spawn(prepared: Prepared, first: io::Error, router: Arc<Router>) {
    let name = prepared.name();
    let mut why = reason(&prepared, &first);
    error!(
        "cannot listen on {why}; the other listeners serve, readiness fails, and binding is \
         retried every {}s",
        RETRY_EVERY.as_secs()
    );
    router.listener_down(&name, why.clone());
    let mut shutdown = router.shutdown_signal();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(RETRY_EVERY) => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            match prepared.bind() {
                Ok(socket) => {
                    if let Err(e) = prepared.serve(socket) {
                        error!("{name}: bound, but cannot serve: {e}");
                        return;
                    }
                    info!("{name} is bound now, after retrying");
                    router.listener_up(&name);
                    return;
                }
                Err(e) => {
                    let now = reason(&prepared, &e);
                    if now != why {
                        warn!("still cannot listen on {now}");
                        router.listener_down(&name, now.clone());
                        why = now;
                    }
                }
            }
        }
    });
}
