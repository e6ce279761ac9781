//! The task that polls one topic: restores its state, runs a [`Cycle`] per tick (never two at
//! once: a slow upstream delays the next tick), turns payloads into snapshot / patch / error
//! events through its [`Tracker`], publishes them through an internal session, keeps the full
//! snapshot retained, persists the state and records every poll.
//!
//! Without `alwaysOn`, a tick is skipped while no session is subscribed to the topic; the
//! task wakes up as soon as one subscribes.

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use parking_lot::Mutex;
use serde_json::{Value as Json, json};
use tracing::{debug, info, warn};

use crate::poller::change::{Change, Tracker};
use crate::poller::config::{SubscriptionMode, TopicConfig};
use crate::poller::cycle::{Cycle, CycleReport, Payload as CyclePayload};
use crate::poller::fetch::{Sleeper, Validators};
use crate::router::internal::InternalPublisher;
use crate::router::realm::Realm;
use crate::store::{PollRecord, Store, TopicState};
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// How many poll records are kept per topic.
pub const POLL_RECORDS_KEPT: usize = 100;

/// The wall clock a poller reads (computed query parameters, records); tests inject one.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// What the rest of Junction may read about a running topic.
#[derive(Debug, Default)]
pub struct TopicStatus {
    /// The current `{seq, data}`: the last published snapshot.
    pub current: Option<(u64, Arc<Json>)>,
    pub last_success: Option<Timestamp>,
    /// The last poll's error, cleared by a success.
    pub last_error: Option<String>,
    pub polls: u64,
}

/// One topic's poller, ready to run.
pub struct Runner {
    pub realm: Arc<Realm>,
    pub topic: TopicConfig,
    pub store: Arc<dyn Store>,
    pub status: Arc<Mutex<TopicStatus>>,
    pub clock: Clock,
    pub sleeper: Arc<dyn Sleeper>,
}

impl Runner {
    /// Polls until the task is aborted.
    pub async fn run(self) {
        let name = self.topic.name.clone();
        let realm_name = self.realm.name.clone();
        let cycle = match Cycle::new(&self.topic) {
            Ok(cycle) => cycle,
            Err(e) => {
                warn!(
                    realm = realm_name,
                    topic = name,
                    "poller not started: {}",
                    e.message
                );
                self.status.lock().last_error = Some(e.message);
                return;
            }
        };
        let role = self
            .topic
            .role
            .clone()
            .unwrap_or_else(|| crate::router::authorize::TRUSTED_ROLE.to_owned());
        let publisher = InternalPublisher::new(Arc::clone(&self.realm), &role, "poller");
        let state = self.load_state().await;
        let mut tracker = Tracker::restore(state.seq, state.snapshot, state.snapshot_hash);
        let mut last_success = state.last_success;
        let mut validators = Validators {
            etag: state.etag,
            last_modified: state.last_modified,
        };
        if let Some(snapshot) = tracker.snapshot() {
            let event = snapshot_event(tracker.seq(), snapshot);
            if let Err(e) = publisher.set_retained(&name, &kwargs(&event)) {
                warn!(
                    realm = realm_name,
                    topic = name,
                    "cannot retain the stored snapshot: {}",
                    e.message
                );
            }
            self.status.lock().current = Some((tracker.seq(), Arc::new(snapshot.clone())));
        }
        self.status.lock().last_success = last_success;
        let period = self.topic.poller.polling_period;
        loop {
            if !self.topic.always_on {
                self.wait_for_subscribers().await;
            }
            let tick = Instant::now();
            let now = (self.clock)();
            let report = cycle
                .run(now, last_success, &validators, self.sleeper.as_ref())
                .await;
            let outcome = self.observe(&mut tracker, &report);
            let succeeded = outcome.is_ok();
            if succeeded {
                last_success = Some(now);
                validators = report.validators.clone();
            }
            let mut error = None;
            let changed = match outcome {
                Ok(change) => self.publish_change(&publisher, &tracker, change),
                Err((code, message)) => {
                    debug!(
                        realm = realm_name,
                        topic = name,
                        code,
                        "poll failed: {message}"
                    );
                    let event = tracker.error_event(code, &message);
                    if let Err(e) = publisher.publish(&Dict::new(), &name, &kwargs(&event)) {
                        warn!(
                            realm = realm_name,
                            topic = name,
                            "cannot publish: {}",
                            e.message
                        );
                    }
                    error = Some(message);
                    false
                }
            };
            let previous_error = {
                let mut status = self.status.lock();
                status.polls += 1;
                status.last_success = last_success;
                std::mem::replace(&mut status.last_error, error.clone())
            };
            // Log changes of health, not every failed poll of an upstream that stays down.
            match (&previous_error, &error) {
                (None, Some(message)) => {
                    warn!(realm = realm_name, topic = name, "poll failed: {message}")
                }
                (Some(_), None) => info!(realm = realm_name, topic = name, "polling recovered"),
                _ => {}
            }
            let record = PollRecord {
                started: now,
                duration_ms: tick.elapsed().as_millis() as u64,
                url: report.url.clone(),
                status: report.status,
                attempts: report.attempts,
                bytes: report.bytes,
                changed,
                error,
            };
            let state = succeeded.then(|| TopicState {
                seq: tracker.seq(),
                snapshot: tracker.snapshot().cloned(),
                snapshot_hash: tracker.hash().copied(),
                last_success,
                etag: validators.etag.clone(),
                last_modified: validators.last_modified.clone(),
            });
            self.persist(state, record).await;
            tokio::time::sleep_until((tick + period).into()).await;
        }
    }

    /// The stored state, or a fresh one when there is none or it cannot be read.
    async fn load_state(&self) -> TopicState {
        let store = Arc::clone(&self.store);
        let (realm, topic) = (self.realm.name.clone(), self.topic.name.clone());
        let loaded = tokio::task::spawn_blocking(move || store.topic_state(&realm, &topic)).await;
        match loaded {
            Ok(Ok(state)) => state.unwrap_or_default(),
            Ok(Err(e)) => {
                warn!(
                    topic = self.topic.name,
                    "starting without stored state: {e}"
                );
                TopicState::default()
            }
            Err(e) => {
                warn!(
                    topic = self.topic.name,
                    "starting without stored state: {e}"
                );
                TopicState::default()
            }
        }
    }

    async fn wait_for_subscribers(&self) {
        let mut changed = self.realm.subscriptions_changed();
        while !self.realm.has_subscribers(&self.topic.name) {
            // Unsubscribes do not notify; a tick re-checks anyway.
            if changed.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The change a cycle's payload makes, or the code and message of its error event.
    fn observe(
        &self,
        tracker: &mut Tracker,
        report: &CycleReport,
    ) -> Result<Change, (u32, String)> {
        match &report.result {
            Ok(CyclePayload::NotModified) => Ok(Change::Unchanged),
            Ok(CyclePayload::Raw(bytes)) => tracker
                .observe(bytes)
                .map_err(|e| (e.code(), e.to_string())),
            Ok(CyclePayload::Value(value)) => Ok(tracker.observe_value(value.clone())),
            Err(e) => Err((e.code, e.message.clone())),
        }
    }

    /// Publishes a change (snapshots retained, patches with the new snapshot retained);
    /// returns whether something was published.
    fn publish_change(
        &self,
        publisher: &InternalPublisher,
        tracker: &Tracker,
        change: Change,
    ) -> bool {
        let Some(seq) = change.seq() else {
            return false;
        };
        let Some(snapshot) = tracker.snapshot() else {
            return false;
        };
        let snapshot_kwargs = kwargs(&snapshot_event(seq, snapshot));
        let published = match (self.topic.subscription_mode, change) {
            (SubscriptionMode::SnapshotPatch, Change::Patch { seq, patch }) => {
                let event = json!({"type": "patch", "seq": seq, "patch": patch});
                publisher.publish_retaining(&self.topic.name, &kwargs(&event), &snapshot_kwargs)
            }
            _ => publisher.publish_retaining(&self.topic.name, &snapshot_kwargs, &snapshot_kwargs),
        };
        if let Err(e) = published {
            warn!(
                realm = self.realm.name,
                topic = self.topic.name,
                "cannot publish: {}",
                e.message
            );
        }
        self.status.lock().current = Some((seq, Arc::new(snapshot.clone())));
        true
    }

    async fn persist(&self, state: Option<TopicState>, record: PollRecord) {
        let store = Arc::clone(&self.store);
        let (realm, topic) = (self.realm.name.clone(), self.topic.name.clone());
        let saved = tokio::task::spawn_blocking(move || {
            if let Some(state) = state {
                store.save_topic_state(&realm, &topic, &state)?;
            }
            store.append_poll_record(&realm, &topic, &record, POLL_RECORDS_KEPT)
        })
        .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(topic = self.topic.name, "cannot save poller state: {e}"),
            Err(e) => warn!(topic = self.topic.name, "cannot save poller state: {e}"),
        }
    }
}

fn snapshot_event(seq: u64, data: &Json) -> Json {
    json!({"type": "snapshot", "seq": seq, "data": data})
}

/// An event body as WAMP kwargs.
fn kwargs(event: &Json) -> Payload {
    let kwargs = match serde_json::from_value::<Value>(event.clone()) {
        Ok(Value::Dict(d)) => d,
        _ => Dict::new(),
    };
    Payload {
        args: None,
        kwargs: Some(kwargs),
    }
}
