//! Delivering one request's events with retries (README.md, "HTTP subscriber": retry and
//! backoff): attempts up to `retry.max_attempts`, waits growing exponentially from
//! `initial_delay` to `max_delay` (with a little jitter), or what a `Retry-After` asks (capped
//! by `max_delay`). The backoff outlives a batch: after an endpoint failed, the next batch
//! waits too, so an endpoint that keeps failing is backed off rather than hammered; a
//! delivery resets it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::backoff;
use crate::config::model::HttpSubscriberConfig;
use crate::http_peer::subscriber::body::{self, QueuedEvent};
use crate::http_peer::subscriber::request::{self, Attempt};
use crate::http_peer::subscriber::stats::SubscriberStats;
use crate::log_throttle;

/// Jitter of a backoff wait: +/- this share of it. Small, so waits still grow attempt after
/// attempt while many forwarders do not retry in step.
const JITTER: f64 = 0.2;

/// One forwarder's deliveries, one at a time.
pub struct Delivery {
    pub realm: String,
    pub config: Arc<HttpSubscriberConfig>,
    pub client: reqwest::Client,
    pub stats: Arc<SubscriberStats>,
    /// Failed attempts in a row (across batches).
    failures: u32,
    /// A `Retry-After` to honour before the next attempt.
    retry_after: Option<Duration>,
}

impl Delivery {
    pub fn new(
        realm: String,
        config: Arc<HttpSubscriberConfig>,
        client: reqwest::Client,
        stats: Arc<SubscriberStats>,
    ) -> Self {
        Delivery {
            realm,
            config,
            client,
            stats,
            failures: 0,
            retry_after: None,
        }
    }

    /// Sends `events` in one request until delivered or given up; counts either way.
    pub async fn deliver(&mut self, events: Vec<QueuedEvent>) {
        let count = events.len() as u64;
        let batched = self.config.batch.is_some();
        let body = Bytes::from(body::encode(self.config.body, &events, batched));
        drop(events);
        let max_attempts = self.config.retry.max_attempts;
        for attempt in 1..=max_attempts {
            self.back_off().await;
            if attempt > 1 {
                SubscriberStats::add(&self.stats.retries, 1);
            }
            let started = Instant::now();
            let outcome = request::send(&self.client, &self.config, body.clone()).await;
            self.stats.request(started.elapsed());
            match outcome {
                Attempt::Delivered => {
                    self.failures = 0;
                    SubscriberStats::add(&self.stats.delivered, count);
                    return;
                }
                Attempt::Refused { reason } => return self.give_up(count, &reason),
                Attempt::Retry {
                    reason,
                    retry_after,
                } => {
                    self.failures = self.failures.saturating_add(1);
                    self.retry_after = retry_after;
                    if attempt == max_attempts {
                        return self.give_up(count, &reason);
                    }
                }
            }
        }
    }

    /// Waits before an attempt while the endpoint has been failing.
    async fn back_off(&mut self) {
        if self.failures == 0 {
            return;
        }
        let retry = self.config.retry;
        let wait = match self.retry_after.take() {
            Some(asked) => asked.min(retry.max_delay),
            None => backoff::exponential(
                retry.initial_delay,
                retry.max_delay,
                JITTER,
                self.failures - 1,
                backoff::random_jitter(),
            ),
        };
        tokio::time::sleep(wait).await;
    }

    fn give_up(&self, count: u64, reason: &str) {
        SubscriberStats::add(&self.stats.failed, count);
        if let Some(more) = self.stats.fail_log.admit() {
            tracing::warn!(
                realm = %self.realm,
                url = %self.config.url_shown,
                count,
                reason,
                "http subscriber gave up on events{}",
                log_throttle::and_more(more)
            );
        }
    }
}
