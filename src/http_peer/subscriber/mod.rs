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

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::model::{Config, HttpSubscriberConfig};
use crate::router::Router;
use crate::router::realm::Realm;

/// Every running HTTP subscriber of the node.
#[derive(Default)]
pub struct HttpSubscribers {
    tasks: Vec<JoinHandle<()>>,
}

impl HttpSubscribers {
    /// Subscribes every configured subscriber and starts its tasks. A subscription the router
    /// refuses (the role may not subscribe to the topic) stops the start, naming its config path.
    pub fn start(config: &Config, router: &Router) -> Result<HttpSubscribers, String> {
        let mut running = HttpSubscribers::default();
        for realm_config in config.workers.iter().flat_map(|w| &w.realms) {
            let Some(realm) = router.realm(&realm_config.name) else {
                continue;
            };
            for subscriber in &realm_config.http_subscribers {
                running.start_one(&realm, subscriber)?;
            }
        }
        Ok(running)
    }

    /// How many subscribers run.
    pub fn len(&self) -> usize {
        self.tasks.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn start_one(
        &mut self,
        realm: &Arc<Realm>,
        config: &HttpSubscriberConfig,
    ) -> Result<(), String> {
        let session = intake::subscribe(realm, config).map_err(|e| {
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
        tracing::info!(
            realm = %realm.name,
            topic = %config.topic,
            url = %config.url_shown,
            "http subscriber started"
        );
        let config = Arc::new(config.clone());
        let stats = stats::register(&realm.name, &config.name);
        let (queue, mut queued) = mpsc::channel(config.queue);
        self.tasks.push(tokio::spawn(intake::run(
            Arc::clone(realm),
            Arc::clone(&config),
            session,
            queue,
            Arc::clone(&stats),
        )));
        let batching = config.batch;
        let mut delivery = delivery::Delivery::new(realm.name.clone(), config, client, stats);
        self.tasks.push(tokio::spawn(async move {
            while let Some(events) = batch::next(&mut queued, batching).await {
                let taken = events.len() as u64;
                delivery
                    .stats
                    .queued
                    .fetch_sub(taken, std::sync::atomic::Ordering::Relaxed);
                delivery.deliver(events).await;
            }
        }));
        Ok(())
    }
}

impl Drop for HttpSubscribers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
