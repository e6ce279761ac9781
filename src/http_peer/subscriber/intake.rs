//! The subscriber's session side: an [`InternalSubscriber`] on the configured topic, drained
//! at once into the forwarder's bounded queue. Draining never waits, so the session never
//! falls behind and the publish path never slows down: when the queue is full the event is
//! dropped, counted and logged (throttled). Should the session be closed all the same (a
//! starved process), it subscribes again and says so.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;

use crate::config::model::HttpSubscriberConfig;
use crate::http_peer::subscriber::body::QueuedEvent;
use crate::http_peer::subscriber::stats::SubscriberStats;
use crate::log_throttle;
use crate::router::error::WampError;
use crate::router::internal::InternalSubscriber;
use crate::router::realm::Realm;
use crate::wamp::value::{Dict, Value};

/// Events the session may hold before the intake reads them (it reads at once).
const SESSION_QUEUE: usize = 4096;
/// The authid of every HTTP subscriber session (seen in meta events).
pub const AUTHID: &str = "junction.http_subscriber";
/// Wait before subscribing again after a refusal.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

/// Subscribes as the configured role, authorized like a client's SUBSCRIBE.
pub async fn subscribe(
    realm: &Arc<Realm>,
    config: &HttpSubscriberConfig,
) -> Result<InternalSubscriber, WampError> {
    let mut options = Dict::new();
    options.insert("match".into(), Value::from(config.policy.name()));
    InternalSubscriber::subscribe(
        Arc::clone(realm),
        &config.role,
        AUTHID,
        &config.topic,
        &options,
        SESSION_QUEUE,
    )
    .await
}

/// Moves events from `session` into `queue` until the forwarder is gone.
pub async fn run(
    realm: Arc<Realm>,
    config: Arc<HttpSubscriberConfig>,
    mut session: InternalSubscriber,
    queue: Sender<QueuedEvent>,
    stats: Arc<SubscriberStats>,
) {
    loop {
        while let Some(event) = session.next().await {
            let event = QueuedEvent {
                topic: event.topic,
                publication: event.publication,
                payload: event.payload,
                timestamp: now_ms(),
            };
            // Counted before it is queued, so the forwarder never takes it off the count first.
            SubscriberStats::add(&stats.queued, 1);
            match queue.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    stats.queued.fetch_sub(1, Ordering::Relaxed);
                    dropped(&realm.name, &config, &stats);
                }
                Err(TrySendError::Closed(_)) => return,
            }
        }
        drop(session);
        tracing::warn!(
            realm = %realm.name,
            topic = %config.topic,
            url = %config.url_shown,
            "http subscriber session closed as a slow consumer; subscribing again"
        );
        session = loop {
            match subscribe(&realm, &config).await {
                Ok(session) => break session,
                Err(e) => {
                    tracing::warn!(realm = %realm.name, topic = %config.topic, error = %e.message, "http subscriber cannot subscribe again");
                    tokio::time::sleep(RESUBSCRIBE_DELAY).await;
                }
            }
        };
    }
}

fn dropped(realm: &str, config: &HttpSubscriberConfig, stats: &SubscriberStats) {
    SubscriberStats::add(&stats.dropped, 1);
    if let Some(more) = stats.drop_log.admit() {
        tracing::warn!(
            realm,
            url = %config.url_shown,
            "http subscriber queue full ({} events): event dropped{}",
            config.queue,
            log_throttle::and_more(more)
        );
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
