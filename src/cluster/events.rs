//! Retained events and event history kept by JetStream, so every node answers `get_retained`
//! and `wamp.subscription.get_events` from the same place, and both survive the restart of
//! any node. Two streams: `<prefix>_retained` (subjects `<prefix>.*.k.>`, the last event per
//! topic) and `<prefix>_history` (subjects `<prefix>.*.h.>`, the newest events per topic, as
//! many as the deepest history rule keeps). The publishing node sends a copy there on its one
//! ordered connection (see `node.rs`): never on the session's path, best effort as retention
//! is in the spec; a reader asks JetStream with an ordered consumer on the subject filter of
//! the subscription's pattern.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use async_nats::jetstream::{Context, Message};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::cluster::interest::unreachable;
use crate::router::error::WampError;

/// The most events one read takes (a history read is bounded by the history limits anyway).
const MAX_READ: usize = 100_000;
/// No byte limit on the history stream: a limit is reserved from the account's storage at
/// creation (and refused when the server has less), and the per-topic depth bounds it.
const HISTORY_BYTES: i64 = -1;

pub struct StoredEvents {
    js: Context,
    retained: String,
    history: String,
    timeout: Duration,
}

impl StoredEvents {
    /// Opens (or makes) both streams. `history_depth`: events kept per topic.
    pub async fn start(
        js: Context,
        prefix: &str,
        history_depth: usize,
        timeout: Duration,
    ) -> Result<StoredEvents, String> {
        let retained = format!("{prefix}_retained");
        let history = format!("{prefix}_history");
        let stream = |name: &str, part: &str, depth: i64, max_bytes: i64| stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("{prefix}.*.{part}.>")],
            max_messages_per_subject: depth,
            max_bytes,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            allow_direct: true,
            ..Default::default()
        };
        let depth = i64::try_from(history_depth.max(1)).unwrap_or(i64::MAX);
        for config in [
            stream(&retained, "k", 1, -1),
            stream(&history, "h", depth, HISTORY_BYTES),
        ] {
            let name = config.name.clone();
            if let Err(create) = js.get_or_create_stream(config.clone()).await {
                // There, with other settings (a deeper history rule): take the new ones.
                js.update_stream(config)
                    .await
                    .map_err(|e| format!("JetStream stream {name}: {create}; {e}"))?;
            }
        }
        Ok(StoredEvents {
            js,
            retained,
            history,
            timeout,
        })
    }

    /// Forgets the retained event stored on `subject` (a deleted poller topic's).
    pub async fn forget_retained(&self, subject: String) -> Result<(), String> {
        let stream = self
            .js
            .get_stream(&self.retained)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .purge()
            .filter(subject)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The retained events under `filter`: the last one of each topic.
    pub async fn retained(&self, filter: String) -> Result<Vec<Message>, WampError> {
        self.read(&self.retained, filter, DeliverPolicy::LastPerSubject)
            .await
    }

    /// The history under `filter`, oldest first, holding at least every history entry NATS
    /// received before this call (see [`barrier`](Self::barrier)).
    pub async fn history(
        &self,
        filter: String,
        barrier: String,
    ) -> Result<Vec<Message>, WampError> {
        tokio::time::timeout(self.timeout, self.barrier(barrier))
            .await
            .ok()
            .flatten()
            .ok_or_else(unreachable)?;
        self.read(&self.history, filter, DeliverPolicy::All).await
    }

    /// Waits until the history stream has stored what NATS received before now. Another
    /// node's publication is sent there just before its live copy, and the stream stores what
    /// it receives in order; but a read (a consumer's creation) is not queued behind the
    /// stream's pending writes, so without this an entry NATS had before a reader subscribed
    /// to live events could be in neither the read nor the live events: a gap in an SSE
    /// resume. An empty message on `subject` (no topic's: the readers skip it), stored and
    /// acknowledged, comes after all of them; on this node's connection, it also comes after
    /// this node's own publications.
    async fn barrier(&self, subject: String) -> Option<()> {
        let ack = self.js.publish(subject, Bytes::new()).await.ok()?;
        ack.await.ok().map(|_| ())
    }

    async fn read(
        &self,
        stream: &str,
        filter: String,
        deliver_policy: DeliverPolicy,
    ) -> Result<Vec<Message>, WampError> {
        let read = async {
            let stream = self.js.get_stream(stream).await.ok()?;
            let mut consumer = stream
                .create_consumer(pull::OrderedConfig {
                    filter_subject: filter,
                    deliver_policy,
                    ..Default::default()
                })
                .await
                .ok()?;
            let pending = consumer.info().await.ok()?.num_pending;
            let mut found = Vec::new();
            if pending == 0 {
                return Some(found);
            }
            let mut messages = consumer.messages().await.ok()?;
            while let Some(Ok(message)) = messages.next().await {
                let left = message.info().map_or(0, |i| i.pending);
                found.push(message);
                if left == 0 || found.len() >= MAX_READ {
                    break;
                }
            }
            Some(found)
        };
        tokio::time::timeout(self.timeout, read)
            .await
            .ok()
            .flatten()
            .ok_or_else(unreachable)
    }
}
