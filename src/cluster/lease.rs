//! A lease: which node holds a name (a poller topic) for now, in a JetStream key-value bucket
//! whose entries expire after the lease's time to live. Acquire with `create` (only when
//! nobody holds it), renew with `update` on the revision held (so a holder that lost it finds
//! out: its revision is stale), give it back with a delete on that revision.
//!
//! Self-fencing: the holder counts its lease as ended at the moment it *sent* its last
//! successful renewal plus the time to live, less a margin. The server started the expiry
//! clock later than that, so the holder stops before anyone else can take over, even when it
//! cannot reach NATS to learn it lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, Store};
use bytes::Bytes;
use parking_lot::Mutex;

use crate::cluster::node::Node;

/// Subtracted from the deadline: clocks and scheduling are not exact.
const MARGIN: Duration = Duration::from_millis(100);

#[derive(Clone, Copy)]
struct Held {
    revision: u64,
    deadline: Instant,
}

pub struct Lease {
    kv: Store,
    key: String,
    node: Arc<Node>,
    ttl: Duration,
    held: Mutex<Option<Held>>,
}

/// The bucket of leases with time to live `ttl` (one bucket per time to live: expiry is the
/// bucket's `max_age`, which every NATS server version keeps).
pub async fn bucket(
    js: &async_nats::jetstream::Context,
    prefix: &str,
    ttl: Duration,
) -> Result<Store, String> {
    key_value(js, format!("{prefix}_leases_{}", ttl.as_millis()), ttl).await
}

/// Opens the key-value bucket `bucket` (one value a key; entries expire after `max_age`,
/// zero: never), made on first use.
pub async fn key_value(
    js: &async_nats::jetstream::Context,
    bucket: String,
    max_age: Duration,
) -> Result<Store, String> {
    let config = kv::Config {
        bucket: bucket.clone(),
        history: 1,
        max_age,
        ..Default::default()
    };
    match js.create_key_value(config).await {
        Ok(kv) => Ok(kv),
        Err(create) => js
            .get_key_value(&bucket)
            .await
            .map_err(|e| format!("the bucket {bucket}: {create}; {e}")),
    }
}

impl Lease {
    pub fn new(kv: Store, key: String, node: Arc<Node>, ttl: Duration) -> Arc<Lease> {
        Arc::new(Lease {
            kv,
            key,
            node,
            ttl,
            held: Mutex::new(None),
        })
    }

    /// Waits until this node holds the lease, then keeps renewing it in the background.
    pub async fn acquire(self: &Arc<Self>) {
        let retry = self.ttl / 5;
        loop {
            if self.node.connected() {
                let sent = Instant::now();
                let value = Bytes::from(self.node.name.to_string());
                let created =
                    tokio::time::timeout(self.ttl / 3, self.kv.create(&self.key, value)).await;
                if let Ok(Ok(revision)) = created {
                    *self.held.lock() = Some(Held {
                        revision,
                        deadline: sent + self.ttl - MARGIN,
                    });
                    let lease = Arc::clone(self);
                    tokio::spawn(async move { lease.renew().await });
                    return;
                }
            }
            let jitter = Duration::from_millis(rand::random_range(0..50));
            tokio::time::sleep(retry + jitter).await;
        }
    }

    async fn renew(&self) {
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            let Some(held) = *self.held.lock() else {
                return; // released
            };
            if Instant::now() >= held.deadline {
                self.lost("its deadline passed without a renewal");
                return;
            }
            let sent = Instant::now();
            let value = Bytes::from(self.node.name.to_string());
            let renewed = tokio::time::timeout(
                self.ttl / 3,
                self.kv.update(&self.key, value, held.revision),
            )
            .await;
            match renewed {
                Ok(Ok(revision)) => {
                    let mut current = self.held.lock();
                    if current.is_some() {
                        *current = Some(Held {
                            revision,
                            deadline: sent + self.ttl - MARGIN,
                        });
                    }
                }
                Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    self.lost("another node holds it");
                    return;
                }
                // Unreachable for now: try again until the deadline.
                _ => {}
            }
        }
    }

    fn lost(&self, why: &str) {
        if self.held.lock().take().is_some() {
            tracing::warn!(error = %why, "cluster: lease {} lost", self.key);
        }
    }

    /// Whether this node holds the lease now (before its deadline).
    pub fn holds(&self) -> bool {
        self.held
            .lock()
            .is_some_and(|h| Instant::now() < h.deadline)
    }

    /// Gives the lease back at once (the next holder need not wait for it to expire).
    pub fn release(&self) {
        let Some(held) = self.held.lock().take() else {
            return;
        };
        let (kv, key) = (self.kv.clone(), self.key.clone());
        tokio::spawn(async move {
            let _ = kv.delete_expect_revision(key, Some(held.revision)).await;
        });
    }
}

impl crate::router::backplane::ClusterLease for Arc<Lease> {
    fn acquire(&self) -> futures_util::future::BoxFuture<'_, ()> {
        Box::pin(Lease::acquire(self))
    }

    fn holds(&self) -> bool {
        Lease::holds(self)
    }

    fn release(&self) {
        Lease::release(self);
    }
}
