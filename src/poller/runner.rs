//! The task that polls one topic: restores its state, runs a [`Cycle`] per tick (never two at
//! once: a slow upstream delays the next tick), turns payloads into snapshot / patch / error
//! events through its [`Tracker`], publishes them through an internal session, keeps the full
//! snapshot retained, persists the state and records every poll.
//!
//! Without `alwaysOn`, a tick is skipped while no session is subscribed to the topic; the
//! task wakes up as soon as one subscribes.
//!
//! A changed poll of a large document is on the clock from the polled bytes to the published
//! frames, so nothing on that path builds or copies the whole document: the tracker diffs the
//! bytes without parsing them into a tree, the retained event is patched in place
//! ([`SnapshotEvent`]). After publishing, the new snapshot is parsed and shared (an `Arc`) with
//! the status; the snapshot it replaces is freed, and the copy the store wants made, on the
//! blocking pool that persists the state.

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use parking_lot::Mutex;
use serde_json::Value as Json;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use crate::config::topic::{SubscriptionMode, TopicConfig};
use crate::poller::change::{Change, Tracker};
use crate::poller::cycle::{Cycle, CycleReport, Payload as CyclePayload};
use crate::poller::event::{SnapshotEvent, kwargs, patch_event};
use crate::poller::fetch::{Sleeper, Validators};
use crate::router::backplane::{Leadership, PolledReport};
use crate::router::error::WampError;
use crate::router::internal::InternalPublisher;
use crate::router::realm::Realm;
use crate::stats::histogram::Histogram;
use crate::store::{POLL_RECORDS_KEPT, PollRecord, Store, TopicState};
use crate::wamp::message::Payload as WampPayload;
use crate::wamp::value::Dict;

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
    /// For metrics: polls that failed, failures since the last success, polls that published
    /// a change, and how long polls took.
    pub failures: u64,
    pub consecutive_failures: u64,
    pub changes: u64,
    pub durations: Histogram,
}

/// One topic's poller, ready to run.
pub struct Runner {
    pub realm: Arc<Realm>,
    pub topic: TopicConfig,
    pub store: Arc<dyn Store>,
    pub status: Arc<Mutex<TopicStatus>>,
    pub clock: Clock,
    pub sleeper: Arc<dyn Sleeper>,
    /// Cuts the wait for the next tick short (the dashboard's "poll now"); a request made
    /// during a poll starts the next one as soon as it ends.
    pub poll_now: Arc<Notify>,
}

impl Runner {
    /// Polls until the task is aborted. In a cluster, polls only while this node leads the
    /// topic, and waits to lead again when it loses it.
    pub async fn run(self) {
        let name = self.topic.name.clone();
        let realm_name = self.realm.name.clone();
        let cycle = match Cycle::new(&self.topic) {
            Ok(cycle) => cycle,
            Err(e) => {
                warn!(
                    realm = realm_name,
                    topic = name,
                    error = e.message,
                    "poller not started"
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
        let Some(leadership) = self.realm.backplane().map(|b| b.leadership(&name)) else {
            let state = self.load_state().await;
            self.serve(&cycle, &publisher, state, None).await;
            return;
        };
        let _release = Release(Arc::clone(&leadership));
        loop {
            let state = leadership.lead().await;
            self.serve(&cycle, &publisher, state, Some(leadership.as_ref()))
                .await;
            info!(
                realm = realm_name,
                topic = name,
                "another node polls this topic now"
            );
        }
    }

    /// Polls from `state` on; returns only when `leadership` is lost.
    async fn serve(
        &self,
        cycle: &Cycle,
        publisher: &InternalPublisher,
        state: TopicState,
        leadership: Option<&dyn Leadership>,
    ) {
        let name = self.topic.name.clone();
        let realm_name = self.realm.name.clone();
        let mut tracker = Tracker::restore(state.seq, state.snapshot, state.snapshot_hash);
        let mut last_success = state.last_success;
        let mut validators = Validators {
            etag: state.etag,
            last_modified: state.last_modified,
        };
        // The topic's retained event, kept to be patched by the next change.
        let mut retained = None;
        if let Some(snapshot) = tracker.snapshot() {
            let event = SnapshotEvent::new(tracker.seq(), snapshot);
            // In a cluster the retained snapshot is kept by the cluster already.
            let restored = match leadership {
                None => publisher.set_retained(&name, event.payload()),
                Some(_) => Ok(()),
            };
            if let Err(e) = restored {
                warn!(
                    realm = realm_name,
                    topic = name,
                    error = e.message,
                    "cannot retain the stored snapshot"
                );
            }
            retained = Some(event);
        }
        self.set_current(&tracker);
        self.status.lock().last_success = last_success;
        let period = self.topic.poller.polling_period;
        loop {
            // Subscribers on other nodes are not seen here: in a cluster a topic always polls.
            if !self.topic.always_on && leadership.is_none() {
                tokio::select! {
                    () = self.wait_for_subscribers() => {}
                    () = self.poll_now.notified() => {}
                }
            }
            if leadership.is_some_and(|l| !l.leads()) {
                return;
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
            let mut replaced = None;
            let changed = match outcome {
                Ok(change) => {
                    let published = self
                        .publish_change(publisher, leadership, &tracker, change, &mut retained)
                        .await;
                    let Ok(published) = published else {
                        return; // the leadership is lost
                    };
                    if published {
                        replaced = self.set_current(&tracker);
                    }
                    published
                }
                Err((code, message)) => {
                    debug!(
                        realm = realm_name,
                        topic = name,
                        code,
                        error = message,
                        "poll failed"
                    );
                    let event = tracker.error_event(code, &message);
                    let sent = send(publisher, leadership, &name, &kwargs(&event), None).await;
                    if let Err(e) = sent {
                        warn!(
                            realm = realm_name,
                            topic = name,
                            error = e.message,
                            "cannot publish"
                        );
                        if leadership.is_some() {
                            return;
                        }
                    }
                    error = Some(message);
                    false
                }
            };
            let previous_error = {
                let mut status = self.status.lock();
                status.polls += 1;
                if error.is_some() {
                    status.failures += 1;
                    status.consecutive_failures += 1;
                } else {
                    status.consecutive_failures = 0;
                }
                status.changes += u64::from(changed);
                status.durations.observe(tick.elapsed());
                status.last_success = last_success;
                std::mem::replace(&mut status.last_error, error.clone())
            };
            // Log changes of health, not every failed poll of an upstream that stays down.
            match (&previous_error, &error) {
                (None, Some(message)) => {
                    warn!(
                        realm = realm_name,
                        topic = name,
                        error = message,
                        "poll failed"
                    )
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
            let state = succeeded.then(|| Persisted {
                state: TopicState {
                    seq: tracker.seq(),
                    snapshot: None,
                    snapshot_hash: tracker.hash().copied(),
                    last_success,
                    etag: validators.etag.clone(),
                    last_modified: validators.last_modified.clone(),
                },
                snapshot: tracker.shared_snapshot().cloned(),
            });
            if let Some(leadership) = leadership {
                if let Some(state) = &state {
                    let mut saved = state.state.clone();
                    saved.snapshot = state.snapshot.as_deref().cloned();
                    leadership.save(&saved).await;
                }
                leadership
                    .report(PolledReport {
                        seq: tracker.seq(),
                        last_success,
                        last_error: record.error.clone(),
                        record: record.clone(),
                    })
                    .await;
            }
            self.persist(state, record, replaced).await;
            tokio::select! {
                () = tokio::time::sleep_until((tick + period).into()) => {}
                () = self.poll_now.notified() => {}
            }
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
                    realm = self.realm.name,
                    topic = self.topic.name,
                    error = %e,
                    "starting without stored state"
                );
                TopicState::default()
            }
            Err(e) => {
                warn!(
                    realm = self.realm.name,
                    topic = self.topic.name,
                    error = %e,
                    "starting without stored state"
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
                .observe_bytes(bytes.clone())
                .map_err(|e| (e.code(), e.to_string())),
            Ok(CyclePayload::Value(value)) => Ok(tracker.observe_value(value.clone())),
            Err(e) => Err((e.code, e.message.clone())),
        }
    }

    /// Publishes a change (snapshots retained, patches with the new snapshot retained) and
    /// brings `retained` to the new snapshot; returns whether something was published, or
    /// an error when the leadership of the topic is lost.
    async fn publish_change(
        &self,
        publisher: &InternalPublisher,
        leadership: Option<&dyn Leadership>,
        tracker: &Tracker,
        change: Change,
        retained: &mut Option<SnapshotEvent>,
    ) -> Result<bool, WampError> {
        let (seq, patch, snapshot_event) = match change {
            Change::Unchanged => return Ok(false),
            Change::Snapshot { seq, data } => (seq, None, SnapshotEvent::new(seq, &data)),
            Change::Patch { seq, patch } => {
                let patched = retained
                    .take()
                    .and_then(|mut event| event.advance(seq, &patch).then_some(event));
                let event = match patched {
                    Some(event) => event,
                    // Never for the tracker's patches; the new snapshot is then parsed here.
                    None => match tracker.snapshot() {
                        Some(snapshot) => SnapshotEvent::new(seq, snapshot),
                        None => return Ok(false),
                    },
                };
                (seq, Some(patch), event)
            }
        };
        let snapshot_kwargs = snapshot_event.payload();
        let event = match (self.topic.subscription_mode, &patch) {
            (SubscriptionMode::SnapshotPatch, Some(patch)) => patch_event(seq, patch),
            _ => snapshot_kwargs.clone(),
        };
        let topic = &self.topic.name;
        let published = send(publisher, leadership, topic, &event, Some(snapshot_kwargs)).await;
        if let Err(e) = published {
            warn!(
                realm = self.realm.name,
                topic = self.topic.name,
                error = e.message,
                "cannot publish"
            );
            if leadership.is_some() {
                return Err(e);
            }
        }
        *retained = Some(snapshot_event);
        Ok(true)
    }

    /// Shares the tracker's snapshot with the readers of the status, parsing it when the tracker
    /// kept a patched snapshot as bytes. Returns the snapshot it replaces, often the last
    /// reference to a large document, for the caller to free off the poll's path.
    fn set_current(&self, tracker: &Tracker) -> Option<Arc<Json>> {
        let current = tracker
            .shared_snapshot()
            .map(|snapshot| (tracker.seq(), Arc::clone(snapshot)));
        let previous = std::mem::replace(&mut self.status.lock().current, current);
        previous.map(|(_, snapshot)| snapshot)
    }

    /// Saves the state and the poll record on the blocking pool, and frees `replaced` there.
    async fn persist(
        &self,
        state: Option<Persisted>,
        record: PollRecord,
        replaced: Option<Arc<Json>>,
    ) {
        let store = Arc::clone(&self.store);
        let (realm, topic) = (self.realm.name.clone(), self.topic.name.clone());
        let saved = tokio::task::spawn_blocking(move || {
            drop(replaced);
            if let Some(Persisted {
                mut state,
                snapshot,
            }) = state
            {
                state.snapshot = snapshot.as_deref().cloned();
                store.save_topic_state(&realm, &topic, &state)?;
            }
            store.append_poll_record(&realm, &topic, &record, POLL_RECORDS_KEPT)
        })
        .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(
                realm = self.realm.name,
                topic = self.topic.name,
                error = %e,
                "cannot save poller state"
            ),
            Err(e) => warn!(
                realm = self.realm.name,
                topic = self.topic.name,
                error = %e,
                "cannot save poller state"
            ),
        }
    }
}

/// A topic's state to save, but for its snapshot: the store takes a document of its own, copied
/// from the shared one on the blocking pool.
struct Persisted {
    state: TopicState,
    snapshot: Option<Arc<Json>>,
}

/// Publishes a poller event through `publisher` (with `retained` as the topic's retained
/// event): on a single node directly, in a cluster through the topic's fenced leadership.
async fn send(
    publisher: &InternalPublisher,
    leadership: Option<&dyn Leadership>,
    topic: &str,
    payload: &WampPayload,
    retained: Option<&WampPayload>,
) -> Result<(), WampError> {
    let Some(leadership) = leadership else {
        return match retained {
            Some(retained) => publisher.publish_retaining(topic, payload, retained),
            None => publisher.publish(&Dict::new(), topic, payload),
        }
        .map(|_| ());
    };
    let publication = publisher.prepare(topic, payload)?;
    leadership.publish(publication, retained.cloned()).await
}

/// Gives the topic's lease back when the runner ends (the topic deleted, or shutdown), so
/// another node takes over at once.
struct Release(Arc<dyn Leadership>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}
