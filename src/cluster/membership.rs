//! Which nodes are alive: every node publishes a heartbeat on `<prefix>.hb.<node>`, and a
//! node not heard of for `dead_after` is dead. Its callees leave the registry and the local
//! dealers, calls in flight on it fail at once (not at their timeout), and calls it forwarded
//! here end. A node that shuts down says so in a last heartbeat, so the others act at once.
//!
//! While this node's own NATS connection is down it cannot hear anyone, so it declares no one
//! dead; once down for `dead_after` it fails its calls in flight elsewhere instead (their
//! answers could not reach it), and on reconnecting it starts every peer's clock afresh.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;

use crate::cluster::node::Node;

/// What happens when a node dies, or this one is cut off.
pub trait Departures: Send + Sync {
    fn node_dead(&self, node: &str) -> futures_util::future::BoxFuture<'_, ()>;
    fn isolated(&self);
    /// NATS is back after this node was cut off: what the cluster may have lost is put back.
    fn reconnected(&self);
}

pub struct Membership {
    node: Arc<Node>,
    heartbeat: Duration,
    dead_after: Duration,
    /// Peers and when each was last heard of.
    members: Mutex<HashMap<String, Instant>>,
}

const LEAVING: &[u8] = b"leaving";

impl Membership {
    pub fn new(node: Arc<Node>, heartbeat: Duration, dead_after: Duration) -> Arc<Membership> {
        Arc::new(Membership {
            node,
            heartbeat,
            dead_after,
            members: Mutex::default(),
        })
    }

    /// A node named in the registry: unknown ones get `dead_after` to send a heartbeat.
    pub fn saw(&self, node: &str) {
        self.members
            .lock()
            .entry(node.to_owned())
            .or_insert_with(Instant::now);
    }

    /// How many other nodes are alive (or not yet known dead).
    pub fn live_count(&self) -> usize {
        self.members.lock().len()
    }

    fn subject(&self, node: &str) -> String {
        format!("{}.hb.{node}", self.node.prefix)
    }

    /// Starts heartbeats and watching the others'.
    pub async fn start(self: &Arc<Self>, departures: Weak<dyn Departures>) -> Result<(), String> {
        let mut beats = self
            .node
            .client
            .subscribe(self.subject("*"))
            .await
            .map_err(|e| format!("subscribing to heartbeats: {e}"))?;
        let membership = Arc::clone(self);
        let listener = Arc::downgrade(&departures.upgrade().ok_or("cluster stopped")?);
        tokio::spawn(async move {
            while let Some(beat) = beats.next().await {
                let Some(node) = beat.subject.rsplit('.').next() else {
                    continue;
                };
                if *node == *membership.node.name {
                    continue;
                }
                if beat.payload.as_ref() == LEAVING {
                    membership.members.lock().remove(node);
                    if let Some(d) = listener.upgrade() {
                        tracing::info!(%node, "cluster: node left");
                        d.node_dead(node).await;
                    }
                } else {
                    membership
                        .members
                        .lock()
                        .insert(node.to_owned(), Instant::now());
                }
            }
        });
        let membership = Arc::clone(self);
        tokio::spawn(async move { membership.run(departures).await });
        Ok(())
    }

    async fn run(&self, departures: Weak<dyn Departures>) {
        let mut tick = tokio::time::interval(self.heartbeat);
        let mut cut_off: Option<Instant> = None;
        let mut isolated = false;
        loop {
            tick.tick().await;
            let Some(departures) = departures.upgrade() else {
                return;
            };
            if !self.node.connected() {
                let since = *cut_off.get_or_insert_with(Instant::now);
                if !isolated && since.elapsed() >= self.dead_after {
                    isolated = true;
                    departures.isolated();
                }
                continue;
            }
            if cut_off.take().is_some() {
                isolated = false;
                let now = Instant::now();
                self.members.lock().values_mut().for_each(|t| *t = now);
                departures.reconnected();
            }
            self.node.send(
                self.subject(&self.node.name),
                HeaderMap::new(),
                Bytes::from_static(b"alive"),
            );
            let dead: Vec<String> = {
                let mut members = self.members.lock();
                let dead: Vec<String> = members
                    .iter()
                    .filter(|(_, t)| t.elapsed() >= self.dead_after)
                    .map(|(n, _)| n.clone())
                    .collect();
                for node in &dead {
                    members.remove(node);
                }
                dead
            };
            for node in dead {
                tracing::warn!(%node, "cluster: node not heard of any more: dead");
                departures.node_dead(&node).await;
            }
        }
    }

    /// Tells the others this node is leaving (at shutdown).
    pub async fn leave(&self) {
        let _ = self
            .node
            .client
            .publish(self.subject(&self.node.name), Bytes::from_static(LEAVING))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.node.client.flush()).await;
    }
}
