//! HTTP subscribers at run time (README.md, "HTTP subscriber"): for each configured one, an
//! internal session subscribed to its topic ([`intake`]) feeds a bounded queue that one
//! forwarder task empties in order, one request in flight at a time ([`batch`], [`delivery`],
//! [`request`], [`body`], [`signature`]), counting what happens ([`stats`]).
//!
//! Started with the router; dropping [`HttpSubscribers`] stops every task, and each session
//! leaves its realm.

pub mod batch;
pub mod body;
pub mod delivery;
pub mod intake;
pub mod request;
pub mod signature;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::model::{Config, HttpSubscriberConfig};
use crate::router::Router;
use crate::router::backplane::ClusterLease;
use crate::router::internal::InternalSubscriber;
use crate::router::realm::Realm;

/// Every running HTTP subscriber of the node.
#[derive(Default)]
pub struct HttpSubscribers {
    tasks: Vec<JoinHandle<()>>,
    /// How many subscribers run (two tasks each, or one that forwards while it leads).
    count: usize,
}

impl HttpSubscribers {
    /// Subscribes every configured subscriber and starts its tasks. A subscription the router
    /// refuses (the role may not subscribe to the topic) stops the start, naming its config path.
    pub async fn start(config: &Config, router: &Router) -> Result<HttpSubscribers, String> {
        let mut running = HttpSubscribers::default();
        for realm_config in config.workers.iter().flat_map(|w| &w.realms) {
            let Some(realm) = router.realm(&realm_config.name) else {
                continue;
            };
            for subscriber in &realm_config.http_subscribers {
                running.start_one(&realm, subscriber).await?;
            }
        }
        Ok(running)
    }

    /// How many subscribers run.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    async fn start_one(
        &mut self,
        realm: &Arc<Realm>,
        config: &HttpSubscriberConfig,
    ) -> Result<(), String> {
        let session = intake::subscribe(realm, config).await.map_err(|e| {
            format!(
                "{}: http subscriber cannot subscribe to \"{}\" as role \"{}\": {} ({})",
                config.path, config.topic, config.role, e.message, e.uri
            )
        })?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .user_agent(concat!("junction/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("{}: cannot create an HTTP client: {e}", config.path))?;
        let config = Arc::new(config.clone());
        let stats = stats::register(&realm.name, &config.name);
        let Some(backplane) = realm.backplane() else {
            tracing::info!(
                realm = %realm.name,
                topic = %config.topic,
                url = %config.url_shown,
                "http subscriber started"
            );
            let mut running = forward(realm, config, client, stats, session);
            self.tasks
                .extend(running.0.iter_mut().filter_map(Option::take));
            self.count += 1;
            return Ok(());
        };
        // In a cluster every node has the subscriber and receives every node's events: one
        // node at a time forwards, the one holding its lease.
        drop(session);
        let lease = backplane.lease(&format!("http_subscriber.{}", config.name));
        self.tasks.push(tokio::spawn(forward_while_leading(
            Arc::clone(realm),
            config,
            client,
            stats,
            lease,
        )));
        self.count += 1;
        Ok(())
    }
}

/// The two tasks of a running subscriber: the intake and the forwarder. Dropping it stops both.
struct Running([Option<JoinHandle<()>>; 2]);

impl Drop for Running {
    fn drop(&mut self) {
        for task in self.0.iter().flatten() {
            task.abort();
        }
    }
}

/// Starts forwarding the events of `session`.
fn forward(
    realm: &Arc<Realm>,
    config: Arc<HttpSubscriberConfig>,
    client: reqwest::Client,
    stats: Arc<stats::SubscriberStats>,
    session: InternalSubscriber,
) -> Running {
    let (queue, mut queued) = mpsc::channel(config.queue);
    let intake = tokio::spawn(intake::run(
        Arc::clone(realm),
        Arc::clone(&config),
        session,
        queue,
        Arc::clone(&stats),
    ));
    let batching = config.batch;
    let mut delivery = delivery::Delivery::new(realm.name.clone(), config, client, stats);
    let forwarder = tokio::spawn(async move {
        while let Some(events) = batch::next(&mut queued, batching).await {
            let taken = events.len() as u64;
            delivery
                .stats
                .queued
                .fetch_sub(taken, std::sync::atomic::Ordering::Relaxed);
            delivery.deliver(events).await;
        }
    });
    Running([Some(intake), Some(forwarder)])
}

/// How often a forwarding node checks that it still holds the lease.
const LEASE_CHECK: Duration = Duration::from_millis(100);

/// Forwards while this node holds `lease`; waits for it again when it is lost. Events queued
/// when it is lost are not sent by this node (the next holder forwards from then on).
async fn forward_while_leading(
    realm: Arc<Realm>,
    config: Arc<HttpSubscriberConfig>,
    client: reqwest::Client,
    stats: Arc<stats::SubscriberStats>,
    lease: Arc<dyn ClusterLease>,
) {
    let _release = Released(Arc::clone(&lease));
    loop {
        lease.acquire().await;
        let session = loop {
            match intake::subscribe(&realm, &config).await {
                Ok(session) => break session,
                Err(e) => {
                    tracing::warn!(realm = %realm.name, topic = %config.topic, error = %e.message, "http subscriber cannot subscribe");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        tracing::info!(
            realm = %realm.name,
            topic = %config.topic,
            url = %config.url_shown,
            "http subscriber started: this node now forwards"
        );
        let running = forward(
            &realm,
            Arc::clone(&config),
            client.clone(),
            Arc::clone(&stats),
            session,
        );
        while lease.holds() {
            tokio::time::sleep(LEASE_CHECK).await;
        }
        drop(running);
        tracing::warn!(
            realm = %realm.name,
            topic = %config.topic,
            "http subscriber: this node lost its lease and stopped forwarding"
        );
    }
}

/// Gives the lease back when the subscriber stops (shutdown), so another node takes over at once.
struct Released(Arc<dyn ClusterLease>);

impl Drop for Released {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Drop for HttpSubscribers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(permission: &str) -> Config {
        // Main installs it before anything builds an HTTP client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        crate::config::load_str(&format!(
            r#"{{"version": 2, "workers": [{{"type": "router", "realms": [{{"name": "realm1",
                "roles": [{{"name": "anonymous", "permissions": [{{"uri": "", "match": "prefix",
                "allow": {{{permission}}}}}]}}],
                "http_subscribers": [{{"topic": "com.a", "match": "prefix", "role": "anonymous",
                    "url": "http://127.0.0.1:9/hook", "batch": {{}}, "signature": {{"secret": "s"}}}}]}}],
                "transports": []}}]}}"#
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn subscribes_at_start_and_leaves_when_dropped() {
        let config = config(r#""subscribe": true"#);
        let summary = crate::config::summary(&config);
        assert!(
            summary.contains("http subscriber workers[0].realms[0].http_subscribers[0]: com.a (prefix) as role anonymous -> POST http://127.0.0.1:9/hook, 5 attempts, queue 10000, batches of up to 100 events within 50 ms, signed"),
            "{summary}"
        );
        let router = Router::new(&config);
        let realm = router.realm("realm1").unwrap();
        let running = HttpSubscribers::start(&config, &router).await.unwrap();
        assert_eq!(running.len(), 1);
        assert!(realm.has_subscribers("com.a.b"));
        drop(running);
        // The aborted tasks drop the session, which leaves the realm.
        for _ in 0..100 {
            if !realm.has_subscribers("com.a.b") {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the subscriber's session did not leave");
    }

    #[tokio::test]
    async fn a_role_that_may_not_subscribe_stops_the_start() {
        let config = config(r#""publish": true"#);
        let router = Router::new(&config);
        let refused = HttpSubscribers::start(&config, &router)
            .await
            .err()
            .unwrap();
        assert!(
            refused.starts_with("workers[0].realms[0].http_subscribers[0]: http subscriber cannot subscribe to \"com.a\" as role \"anonymous\""),
            "{refused}"
        );
        assert!(!router.realm("realm1").unwrap().has_subscribers("com.a"));
    }
}
