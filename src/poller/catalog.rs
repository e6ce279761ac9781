//! The pollers of a realm in a cluster, kept in step with the cluster's
//! [`TopicCatalog`]: every node runs every topic the topics API defined on any node (one of
//! them polls it, see [`Leadership`](crate::router::backplane::Leadership)), and shows the
//! status the polling node reported.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value as Json, json};
use tracing::{info, warn};

use crate::router::backplane::{CatalogError, TopicCatalog, TopicChange, TopicReport};
use crate::store::Store;

/// How long to wait before watching again when the cluster store did not answer.
const RETRY: Duration = Duration::from_secs(1);

/// What a realm's pollers do with a change of the catalog: false once they are gone.
pub trait Follower {
    fn define(&self, name: &str, definition: Json) -> bool;
    fn undefine(&self, name: &str) -> bool;
}

/// Follows the catalog's definitions into `pollers` until they are gone: first every
/// definition there is, then every change.
pub async fn follow(catalog: Arc<dyn TopicCatalog>, realm: String, pollers: impl Follower) {
    loop {
        match catalog.watch().await {
            Ok(mut changes) => {
                while let Some(change) = changes.next().await {
                    let going_on = match change {
                        TopicChange::Defined(definition) => {
                            match definition["name"].as_str().map(str::to_owned) {
                                Some(name) => pollers.define(&name, definition),
                                None => true,
                            }
                        }
                        TopicChange::Deleted(name) => pollers.undefine(&name),
                    };
                    if !going_on {
                        return;
                    }
                }
            }
            Err(e) => warn!(realm, error = ?e, "topics API definitions not read"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Moves the definitions `stored` in this node's own store by a run without a cluster into the
/// cluster (where a topic of the same name is kept instead), and out of the store, so that a
/// topic deleted in the cluster later does not come back when this node restarts.
pub async fn adopt(
    catalog: &dyn TopicCatalog,
    store: Arc<dyn Store>,
    realm: &str,
    stored: Vec<(String, Json)>,
) {
    for (name, definition) in stored {
        let kept = match catalog.create(&name, &definition).await {
            Ok(()) => "moved into the cluster",
            Err(CatalogError::Duplicate) => "dropped: the cluster has a topic of that name",
            Err(e) => {
                warn!(
                    realm,
                    topic = name,
                    error = ?e,
                    "stored topic not moved into the cluster"
                );
                continue;
            }
        };
        let (store, realm_name, topic) = (Arc::clone(&store), realm.to_owned(), name.clone());
        let removed =
            tokio::task::spawn_blocking(move || store.delete_topic(&realm_name, &topic)).await;
        match removed {
            Ok(Ok(())) => info!(realm, topic = name, "topic in this node's store {kept}"),
            Ok(Err(e)) => warn!(realm, topic = name, error = %e, "topic {kept}, but still stored"),
            Err(e) => warn!(realm, topic = name, error = %e, "topic {kept}, but still stored"),
        }
    }
}

/// Puts the polling node's report into a topic's view.
pub fn show_report(view: &mut Json, report: TopicReport) {
    view["seq"] = json!(report.seq);
    view["polls"] = json!(report.polls);
    view["lastSuccess"] = json!(report.last_success);
    view["lastError"] = json!(report.last_error);
    view["node"] = json!(report.node);
}
