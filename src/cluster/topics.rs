//! The topics API's definitions and poller status, cluster-wide ([`TopicCatalog`]): the
//! definitions live in the key-value bucket `<prefix>_topics` (key: realm hash, then the topic
//! name escaped), which every node watches to start, restart and stop its runners; the
//! status every node shows is the [`TopicReport`] the polling node writes after each poll.
//! `create` is the bucket's `create`, so two nodes creating one name at once cannot both win.

use std::sync::Arc;

use async_nats::jetstream::kv::{CreateErrorKind, Operation, Store};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use serde_json::Value as Json;

use crate::cluster::events::StoredEvents;
use crate::cluster::poller::{PollerStore, WRITE, definition_key, state_key};
use crate::cluster::subject::{RETAINED, RealmSubjects, untoken};
use crate::router::backplane::{CatalogError, TopicCatalog, TopicChange, TopicReport};
use crate::store::TopicState;

pub struct ClusterTopics {
    pub(super) store: Arc<PollerStore>,
    pub(super) events: Arc<StoredEvents>,
    pub(super) subjects: RealmSubjects,
    /// The realm's name hashed, as keys start.
    pub(super) hash: String,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Unavailable(format!("cluster store: {what}: {e}"))
}

impl ClusterTopics {
    async fn put(&self, name: &str, definition: &Json, create: bool) -> Result<(), CatalogError> {
        let key = definition_key(&self.hash, name);
        let bytes = serde_json::to_vec(definition).map_err(|e| unavailable("encoding", e))?;
        let kv = &self.store.definitions;
        if create {
            return match kv.create(&key, bytes.into()).await {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                    Err(CatalogError::Duplicate)
                }
                Err(e) => Err(unavailable("creating the topic", e)),
            };
        }
        kv.put(&key, bytes.into())
            .await
            .map(|_| ())
            .map_err(|e| unavailable("saving the topic", e))
    }
}

impl TopicCatalog for ClusterTopics {
    fn watch(&self) -> BoxFuture<'_, Result<BoxStream<'static, TopicChange>, CatalogError>> {
        async move {
            let prefix = format!("{}.", self.hash);
            let watch = self
                .store
                .definitions
                .watch_with_history(format!("{}>", prefix))
                .await
                .map_err(|e| unavailable("watching the topics", e))?;
            let changes = watch.filter_map(move |entry| {
                let change = entry.ok().and_then(|entry| {
                    let name = untoken(entry.key.strip_prefix(&prefix)?)?;
                    match entry.operation {
                        Operation::Put => serde_json::from_slice(&entry.value)
                            .ok()
                            .map(TopicChange::Defined),
                        Operation::Delete | Operation::Purge => Some(TopicChange::Deleted(name)),
                    }
                });
                std::future::ready(change)
            });
            Ok(changes.boxed())
        }
        .boxed()
    }

    fn create(&self, name: &str, definition: &Json) -> BoxFuture<'_, Result<(), CatalogError>> {
        let (name, definition) = (name.to_owned(), definition.clone());
        async move { self.put(&name, &definition, true).await }.boxed()
    }

    fn replace(&self, name: &str, definition: &Json) -> BoxFuture<'_, Result<(), CatalogError>> {
        let (name, definition) = (name.to_owned(), definition.clone());
        async move { self.put(&name, &definition, false).await }.boxed()
    }

    fn delete(&self, name: &str) -> BoxFuture<'_, Result<(), CatalogError>> {
        let name = name.to_owned();
        async move {
            let store = &self.store;
            store
                .definitions
                .delete(definition_key(&self.hash, &name))
                .await
                .map_err(|e| unavailable("deleting the topic", e))?;
            // The rest is the topic's past: a failure leaves stale data a new topic of the
            // same name starts from, not a wrong answer now.
            let key = state_key(&self.hash, &name);
            let _ = store.state.purge(&key).await;
            let _ = store.reports.purge(&key).await;
            if let Ok(stream) = store.js.get_stream(&store.stream).await {
                let _ = stream
                    .purge()
                    .filter(self.subjects.topic(WRITE, &name))
                    .await;
            }
            let _ = self
                .events
                .forget_retained(self.subjects.topic(RETAINED, &name))
                .await;
            Ok(())
        }
        .boxed()
    }

    fn report(&self, name: &str) -> BoxFuture<'_, Option<TopicReport>> {
        read(&self.store.reports, state_key(&self.hash, name)).boxed()
    }

    fn state(&self, name: &str) -> BoxFuture<'_, Option<TopicState>> {
        read(&self.store.state, state_key(&self.hash, name)).boxed()
    }
}

/// The JSON value under `key`, if there is one and it decodes.
async fn read<T: serde::de::DeserializeOwned>(kv: &Store, key: String) -> Option<T> {
    let bytes = kv.get(&key).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}
