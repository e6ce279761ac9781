//! Poller topics in a cluster: exactly one node polls each topic (a [`Lease`]), and its
//! events are fenced. The leader publishes a poller event with JetStream to a stream-only
//! subject (`<prefix>.<R>.w.<topic>.=`) expecting the stream's last sequence on that subject
//! to be the one of its own last event; the stream republishes what it stored to the live
//! subject every node (the leader too) delivers from. A node that lost the lease, even one
//! that was paused and resumes in the middle of a publish, is refused by the stream and
//! reaches nobody (cluster.md: a rejected JetStream publish still reaches core subscribers
//! of the same subject, hence the stream-only subject and RePublish).
//!
//! The topic's state (seq, snapshot, validators, last success) is saved in a key-value
//! bucket after each poll; the stored event is the commit point, so a new leader takes the
//! larger `seq` of the saved state and of the last stored event, and goes on from there:
//! no gap and no repeat in `seq`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::kv::Store;
use async_nats::jetstream::stream::{self, DiscardPolicy, Republish, StorageType};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use crate::cluster::interest::unreachable;
use crate::cluster::lease::{self, Lease};
use crate::cluster::node::Node;
use crate::cluster::subject::{RETAINED, RealmSubjects};
use crate::cluster::wire;
use crate::router::backplane::{Leadership, OwnedPublication, PolledReport, TopicReport};
use crate::router::broker::Publication;
use crate::router::error::WampError;
use crate::store::{POLL_RECORDS_KEPT, TopicState};
use crate::wamp::error as uri_error;
use crate::wamp::message::Payload;
use crate::wamp::value::Value;

/// Poller events waiting to be stored.
pub const WRITE: &str = "w";
/// The largest state saved with its snapshot (NATS's default `max_payload` is 1 MiB); a
/// larger one is saved without, and the next leader starts with a fresh snapshot.
const MAX_STATE: usize = 900 * 1024;

/// What every poller topic of this node shares: the stream, the state bucket, the leases.
pub struct PollerStore {
    pub(super) js: async_nats::jetstream::Context,
    pub(super) node: Arc<Node>,
    pub(super) stream: String,
    pub(super) state: Store,
    leases: Store,
    ttl: Duration,
    /// Topic definitions made through the topics API, by [`definition_key`].
    pub(super) definitions: Store,
    /// Each topic's [`TopicReport`], by [`state_key`], written by the node that polls it.
    pub(super) reports: Store,
}

/// A topic's key in the state, report and lease buckets (cut to 200 characters).
pub(super) fn state_key(realm_hash: &str, topic: &str) -> String {
    let key = format!("{realm_hash}.{}", crate::cluster::subject::token(topic));
    key.chars().take(200).collect()
}

/// A topic's key in the definitions bucket: never cut, so two names never share one.
pub(super) fn definition_key(realm_hash: &str, topic: &str) -> String {
    format!("{realm_hash}.{}", crate::cluster::subject::token(topic))
}

impl PollerStore {
    pub async fn start(
        js: async_nats::jetstream::Context,
        node: &Arc<Node>,
        ttl: Duration,
    ) -> Result<Arc<PollerStore>, String> {
        let prefix = &node.prefix;
        let stream = format!("{prefix}_pollers");
        let config = stream::Config {
            name: stream.clone(),
            subjects: vec![format!("{prefix}.*.{WRITE}.>")],
            max_messages_per_subject: 1,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            allow_direct: true,
            republish: Some(Republish {
                source: format!("{prefix}.*.{WRITE}.>"),
                destination: format!("{prefix}.{{{{wildcard(1)}}}}.e.p.>"),
                headers_only: false,
            }),
            ..Default::default()
        };
        js.get_or_create_stream(config)
            .await
            .map_err(|e| format!("JetStream stream {stream}: {e}"))?;
        let state = lease::key_value(&js, format!("{prefix}_poller_state"), Duration::ZERO).await?;
        let definitions = lease::key_value(&js, format!("{prefix}_topics"), Duration::ZERO).await?;
        let reports =
            lease::key_value(&js, format!("{prefix}_poller_report"), Duration::ZERO).await?;
        let leases = lease::bucket(&js, prefix, ttl).await?;
        Ok(Arc::new(PollerStore {
            js,
            node: Arc::clone(node),
            stream,
            state,
            leases,
            ttl,
            definitions,
            reports,
        }))
    }

    /// A lease on `name` in the realm of `realm_hash`, in the poller topics' lease bucket
    /// (under its own key segment, so no topic's lease is the same key).
    pub fn lease(&self, realm_hash: &str, name: &str) -> Arc<Lease> {
        let key = format!("{realm_hash}.task.{}", crate::cluster::subject::token(name));
        Lease::new(
            self.leases.clone(),
            key.chars().take(200).collect(),
            Arc::clone(&self.node),
            self.ttl,
        )
    }

    /// The leadership of `topic` in the realm of `subjects`.
    pub fn topic(
        self: &Arc<Self>,
        realm_hash: &str,
        subjects: &RealmSubjects,
        topic: &str,
    ) -> Arc<TopicLeadership> {
        let key = state_key(realm_hash, topic);
        Arc::new(TopicLeadership {
            store: Arc::clone(self),
            lease: Lease::new(
                self.leases.clone(),
                key.clone(),
                Arc::clone(&self.node),
                self.ttl,
            ),
            key,
            write: subjects.topic(WRITE, topic),
            retained: subjects.topic(RETAINED, topic),
            origin: format!("p-{}", crate::cluster::subject::token(topic)),
            last: Mutex::new(0),
            report: Mutex::default(),
        })
    }
}

pub struct TopicLeadership {
    store: Arc<PollerStore>,
    lease: Arc<Lease>,
    /// The topic's key in the state and lease buckets.
    key: String,
    /// Where its events are written, and where its retained snapshot is kept.
    write: String,
    retained: String,
    /// The origin its events carry, so receivers keep them in `seq` order whoever leads.
    origin: String,
    /// The stream sequence of the last event stored on `write`.
    last: Mutex<u64>,
    /// The topic's report while this node leads, read from the last leader's at `lead`.
    report: Mutex<TopicReport>,
}

impl TopicLeadership {
    /// The stream sequence and the poller `seq` of the last event stored for the topic.
    async fn last_stored(&self) -> (u64, Option<u64>) {
        let Ok(stream) = self.store.js.get_stream(&self.store.stream).await else {
            return (0, None);
        };
        let Ok(message) = stream.get_last_raw_message_by_subject(&self.write).await else {
            return (0, None);
        };
        let seq = wire::received(&message.payload).and_then(|event| {
            match event.payload.kwargs.as_ref()?.get("seq")? {
                Value::UInt(n) => Some(*n),
                Value::Int(n) => u64::try_from(*n).ok(),
                _ => None,
            }
        });
        (message.sequence, seq)
    }
}

impl Leadership for TopicLeadership {
    fn lead(&self) -> BoxFuture<'_, TopicState> {
        async move {
            self.lease.acquire().await;
            tracing::info!("cluster: this node now polls {}", self.key);
            let mut state: TopicState = match self.store.state.get(&self.key).await {
                Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
                _ => TopicState::default(),
            };
            let report = match self.store.reports.get(&self.key).await {
                Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
                _ => TopicReport::default(),
            };
            *self.report.lock() = TopicReport {
                node: self.store.node.name.to_string(),
                ..report
            };
            let (stream_seq, event_seq) = self.last_stored().await;
            *self.last.lock() = stream_seq;
            if let Some(seq) = event_seq.filter(|seq| *seq > state.seq) {
                // The last leader published and died before saving: its snapshot is not
                // known here, so the next change goes out as a full snapshot.
                state.seq = seq;
                state.snapshot = None;
                state.snapshot_hash = None;
            }
            state
        }
        .boxed()
    }

    fn leads(&self) -> bool {
        self.lease.holds()
    }

    fn publish(
        &self,
        publication: OwnedPublication,
        retained: Option<Payload>,
    ) -> BoxFuture<'_, Result<(), WampError>> {
        async move {
            if !self.lease.holds() {
                return Err(lost());
            }
            let view = Publication {
                id: publication.id,
                topic: &publication.topic,
                details: publication.details.clone(),
                payload: &publication.payload,
                audience: publication.audience.clone(),
            };
            let bytes = wire::publication(&view, false).ok_or_else(unreachable)?;
            let seq = match publication
                .payload
                .kwargs
                .as_ref()
                .and_then(|k| k.get("seq"))
            {
                Some(Value::UInt(n)) => *n,
                _ => 0,
            };
            let expected = *self.last.lock();
            let mut headers = HeaderMap::new();
            headers.insert(
                "Nats-Expected-Last-Subject-Sequence",
                expected.to_string().as_str(),
            );
            headers.insert("Nats-Msg-Id", publication.id.to_string().as_str());
            headers.insert(wire::ORIGIN, self.origin.as_str());
            headers.insert(wire::SEQUENCE, seq.to_string().as_str());
            let stored = async {
                let ack = self
                    .store
                    .js
                    .publish_with_headers(self.write.clone(), headers, bytes)
                    .await?;
                ack.await
            };
            match tokio::time::timeout(self.store.node.request_timeout, stored).await {
                Ok(Ok(ack)) => *self.last.lock() = ack.sequence,
                Ok(Err(e)) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    tracing::warn!(
                        "cluster: another node published on {} meanwhile: stepping down",
                        self.key
                    );
                    self.lease.release();
                    return Err(lost());
                }
                // Not known whether it was stored: step down, and whoever leads next reads
                // the stream to know.
                _ => {
                    self.lease.release();
                    return Err(unreachable());
                }
            }
            if let Some(retained) = retained {
                let view = Publication {
                    payload: &retained,
                    ..view
                };
                if let Some(bytes) = wire::publication(&view, true) {
                    self.store
                        .node
                        .send(self.retained.clone(), HeaderMap::new(), bytes);
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn save(&self, state: &TopicState) -> BoxFuture<'_, ()> {
        let mut bytes = serde_json::to_vec(state).unwrap_or_default();
        if bytes.len() > MAX_STATE {
            let mut smaller = state.clone();
            smaller.snapshot = None;
            smaller.snapshot_hash = None;
            bytes = serde_json::to_vec(&smaller).unwrap_or_default();
        }
        async move {
            if self.lease.holds() {
                let _ = self.store.state.put(&self.key, bytes.into()).await;
            }
        }
        .boxed()
    }

    fn report(&self, poll: PolledReport) -> BoxFuture<'_, ()> {
        let bytes = {
            let mut report = self.report.lock();
            report.seq = poll.seq;
            report.polls += 1;
            report.last_success = poll.last_success.map(|t| t.to_string());
            report.last_error = poll.last_error;
            report.records.insert(0, poll.record);
            report.records.truncate(POLL_RECORDS_KEPT);
            serde_json::to_vec(&*report).unwrap_or_default()
        };
        async move {
            if self.lease.holds() {
                let _ = self.store.reports.put(&self.key, bytes.into()).await;
            }
        }
        .boxed()
    }

    fn release(&self) {
        self.lease.release();
    }
}

fn lost() -> WampError {
    WampError::new(
        uri_error::NETWORK_FAILURE,
        "this node no longer leads the poller topic",
    )
}
