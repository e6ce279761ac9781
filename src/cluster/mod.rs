//! Several Junction nodes as one router, over NATS (core + JetStream) as the backplane:
//! `issues` 16 and `../shared/reference/cluster.md` give the design this follows.
//!
//! - [`node`]: this node's one NATS connection and the queue everything it sends takes;
//! - [`subject`]: WAMP URIs as NATS subjects (escaping, the length bound);
//! - [`wire`]: what travels between nodes (headers and CBOR-encoded WAMP messages);
//! - [`interest`]: NATS subscriptions for the local subscriptions, and the ordered delivery
//!   of what they receive;
//! - [`registry`]: registrations cluster-wide (JetStream key-value), mirrored into every
//!   node's dealer;
//! - [`calls`]: calls to a callee on another node, run there;
//! - [`events`]: retained events and event history in JetStream;
//! - [`sessions`]: what survivors need to end a dead node's sessions (testaments, `on_leave`);
//! - [`membership`]: heartbeats, and what happens when a node dies;
//! - [`lease`] and [`poller`]: each poller topic led by one node, its events fenced;
//! - [`topics`]: the topics API's definitions and poller status, shared by every node;
//! - [`tls`]: TLS to NATS, its files checked and its failures explained;
//! - [`meta`]: the session and subscription meta procedures, asked of every node;
//! - [`link`]: one realm's [`Backplane`](crate::router::backplane::Backplane), tying these
//!   together.
//!
//! The router calls this only through the `Backplane` trait; single-node mode never starts it.

mod calls;
mod events;
mod interest;
mod lease;
mod link;
mod membership;
mod meta;
mod node;
mod poller;
mod registry;
mod sessions;
pub mod subject;
mod tls;
mod topics;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::ConnectOptions;
use futures_util::FutureExt;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use crate::config::{ClusterAuth, ClusterConfig};
use crate::router::Router;
use crate::router::backplane::Backplane;
use events::StoredEvents;
use link::{RealmLink, Shared};
use membership::{Departures, Membership};
use node::Node;
use poller::PollerStore;
use registry::Registry;
use sessions::Sessions;

/// This node's membership of the cluster, while it runs.
pub struct Cluster {
    state: Arc<State>,
    membership: Arc<Membership>,
}

struct State {
    links: HashMap<String, Arc<RealmLink>>,
    registry: Arc<Registry>,
    sessions: Arc<Sessions>,
}

impl Departures for State {
    fn node_dead(&self, node: &str) -> BoxFuture<'_, ()> {
        let node = node.to_owned();
        async move {
            for link in self.links.values() {
                link.calls.node_dead(&node);
            }
            self.registry.node_dead(&node).await;
            self.sessions.node_dead(&node).await;
        }
        .boxed()
    }

    fn reconnected(&self) {
        let registry = Arc::clone(&self.registry);
        tokio::spawn(async move { registry.reassert().await });
    }

    fn isolated(&self) {
        tracing::warn!("cluster: NATS unreachable; calls in flight on other nodes fail");
        for link in self.links.values() {
            link.calls.fail(
                |_, _| true,
                crate::wamp::error::NETWORK_FAILURE,
                "this node lost the cluster (NATS) during the call",
            );
        }
    }
}

/// The node's name: configured, or the host name and a random suffix.
fn node_name(config: &ClusterConfig) -> String {
    if let Some(name) = &config.node {
        return name.clone();
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "junction".into());
    let host: String = crate::cluster::subject::token(host.trim())
        .chars()
        .filter(|c| *c != '=')
        .take(40)
        .collect();
    format!("{host}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// NATS was lost since the last connection (one node per process).
static LOST: AtomicBool = AtomicBool::new(false);

async fn connect(config: &ClusterConfig, name: &str) -> Result<async_nats::Client, String> {
    let mut options = ConnectOptions::new()
        .name(format!("junction {name}"))
        .no_echo()
        .ping_interval(Duration::from_secs(2))
        .client_capacity(node::QUEUE)
        .subscription_capacity(1 << 18)
        .connection_timeout(Duration::from_millis(config.request_timeout_ms.max(1000)))
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(1000))
        })
        .max_reconnects(None)
        .event_callback(move |event| async move {
            match event {
                // The first connection is logged once the node joined (see `start`).
                async_nats::Event::Connected if LOST.swap(false, Ordering::Relaxed) => {
                    tracing::info!("cluster: reconnected to NATS")
                }
                async_nats::Event::Connected => {}
                async_nats::Event::Disconnected => {
                    LOST.store(true, Ordering::Relaxed);
                    tracing::warn!("cluster: lost NATS; serving local sessions only")
                }
                async_nats::Event::SlowConsumer(_) => {
                    tracing::warn!("cluster: NATS messages dropped: this node reads too slowly")
                }
                other => tracing::debug!("cluster: NATS {other}"),
            }
        });
    options = match &config.auth {
        ClusterAuth::None => options,
        ClusterAuth::Token(token) => options.token(token.expose().to_owned()),
        ClusterAuth::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.expose().to_owned())
        }
        ClusterAuth::CredentialsFile(path) => options
            .credentials_file(path)
            .await
            .map_err(|e| format!("NATS credentials file {}: {e}", path.display()))?,
    };
    if let Some(tls) = &config.tls {
        tls::check_files(tls)?;
        options = options.require_tls(true);
        for ca in &tls.ca_certificates {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&tls.certificate, &tls.key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
    }
    options.connect(config.servers.clone()).await.map_err(|e| {
        let hint = tls::hint(&e, config.tls.as_ref())
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default();
        format!(
            "cannot connect to NATS ({}): {e}{hint}",
            config.servers.join(", ")
        )
    })
}

impl Cluster {
    /// Joins the cluster: connects to NATS, links every realm of `router`, and returns once
    /// this node knows every registration made so far.
    pub async fn start(config: &ClusterConfig, router: &Router) -> Result<Cluster, String> {
        let name = node_name(config);
        let client = connect(config, &name).await?;
        // Each start is a new incarnation: a node restarted under the same name is not
        // mistaken for the one that died (whose registrations and sessions are ended).
        let incarnation = format!("{name}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        let node = Node::new(
            client.clone(),
            Arc::from(incarnation.as_str()),
            config.prefix.clone(),
            Duration::from_millis(config.request_timeout_ms),
        );
        let membership = Membership::new(
            Arc::clone(&node),
            Duration::from_millis(config.heartbeat_ms),
            Duration::from_millis(config.dead_after_ms),
        );
        let realms: Vec<_> = router
            .realm_names()
            .iter()
            .filter_map(|n| router.realm(n))
            .collect();
        let js = async_nats::jetstream::new(client.clone());
        // JetStream may still be electing its leader (a NATS cluster starting with us).
        let deadline = tokio::time::Instant::now() + JETSTREAM_READY;
        let (sessions, pollers, events, registry) = loop {
            match jetstream_parts(config, &js, &node, &membership, &realms).await {
                Ok(parts) => break parts,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "cluster: JetStream not ready; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let shared = Shared {
            node: Arc::clone(&node),
            membership: Arc::clone(&membership),
            registry: Arc::clone(&registry),
            sessions: Arc::clone(&sessions),
            events,
            pollers,
            max_subject_bytes: config.max_subject_bytes,
        };
        let mut links = HashMap::new();
        for realm in &realms {
            let link = Arc::new(RealmLink::new(realm, &shared).await?);
            realm.attach_backplane(Arc::clone(&link) as Arc<dyn Backplane>);
            links.insert(subject::token(&realm.name), link);
        }
        let state = Arc::new(State {
            links,
            registry,
            sessions,
        });
        // The same allocation as `state`, which the returned `Cluster` keeps alive.
        let departures: Arc<dyn Departures> = Arc::clone(&state) as Arc<dyn Departures>;
        membership.start(Arc::downgrade(&departures)).await?;
        start_inbox(&node, &state).await?;
        let info = client.server_info();
        tracing::info!(
            node = %name,
            "cluster: node (incarnation {incarnation}) joined NATS at {}:{} \
             (server {} {}), subject prefix {}",
            info.host,
            info.port,
            info.server_name,
            info.version,
            config.prefix
        );
        Ok(Cluster { state, membership })
    }

    /// Tells the other nodes this one is leaving (at shutdown, after the sessions left).
    pub async fn leave(&self) {
        self.state.sessions.flush().await;
        self.membership.leave().await;
    }
}

/// How long a starting node waits for JetStream to answer.
const JETSTREAM_READY: Duration = Duration::from_secs(30);

type Parts = (
    Arc<Sessions>,
    Arc<PollerStore>,
    Arc<StoredEvents>,
    Arc<Registry>,
);

/// The buckets and streams the cluster keeps in JetStream, made or opened.
async fn jetstream_parts(
    config: &ClusterConfig,
    js: &async_nats::jetstream::Context,
    node: &Arc<Node>,
    membership: &Arc<Membership>,
    realms: &[Arc<crate::router::realm::Realm>],
) -> Result<Parts, String> {
    let sessions = Sessions::start(js, node, realms).await?;
    let depth = realms
        .iter()
        .filter_map(|r| r.history.as_ref().map(|h| h.deepest()))
        .max()
        .unwrap_or(1);
    let pollers = PollerStore::start(
        js.clone(),
        node,
        Duration::from_millis(config.dead_after_ms),
    )
    .await?;
    let events = Arc::new(
        StoredEvents::start(js.clone(), &config.prefix, depth, node.request_timeout).await?,
    );
    let registry =
        Registry::start(js.clone(), Arc::clone(node), Arc::clone(membership), realms).await?;
    Ok((sessions, pollers, events, registry))
}

/// Messages addressed to this node (forwarded calls and their answers), on one NATS
/// subscription so they keep the order their node sent them in.
async fn start_inbox(node: &Arc<Node>, state: &Arc<State>) -> Result<(), String> {
    let mut inbox = node
        .client
        .subscribe(node.inbox_of(&node.name))
        .await
        .map_err(|e| format!("subscribing to the node's inbox: {e}"))?;
    interest::round_trip(&node.client)
        .await
        .map_err(|()| "NATS did not answer".to_string())?;
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        while let Some(message) = inbox.next().await {
            let Some(state) = state.upgrade() else { return };
            let headers = message.headers.as_ref();
            let (Some(realm), Some(from), Some(session)) = (
                wire::header(headers, wire::REALM),
                wire::header(headers, wire::ORIGIN),
                wire::header_id(headers, wire::SESSION),
            ) else {
                continue;
            };
            let Some(link) = state.links.get(realm) else {
                continue;
            };
            let target = wire::header_id(headers, wire::TARGET);
            if let Some(decoded) = wire::decode(&message.payload) {
                link.calls.on_message(from, session, target, decoded);
            }
        }
    });
    Ok(())
}
