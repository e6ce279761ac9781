//! The pollers of a node: one [`Runner`] task per topic, per realm, started from
//! `config.json` and from the definitions stored by the topics API; created, patched and
//! deleted topics start, restart and stop their poller without restarting Junction.
//!
//! Each realm with pollers also gets an internal session that registers two procedures:
//! - `junction.poller.snapshot` `(topic)` -> kwargs `{seq, data}`: the current snapshot, for a
//!   subscriber that saw a gap in `seq`;
//! - `junction.poller.polls` `(topic)` -> args `[records]`: the last poll records, newest first.
//!
//! Both answer only callers whose role may subscribe to the topic, so they leak nothing a
//! subscription would not show.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{Value as Json, json};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::topic::{TopicConfig, parse_topic, redact_url};
use crate::config::{Config, ConfigError};
use crate::poller::catalog;
use crate::poller::event::to_wamp;
use crate::poller::fetch::{Sleeper, TokioSleeper};
use crate::poller::runner::{Clock, Runner, TopicStatus};
use crate::router::Router;
use crate::router::authorize::{Action, TRUSTED_ROLE};
use crate::router::backplane::{CatalogError, TopicCatalog};
use crate::router::error::WampError;
use crate::router::internal::{InternalCallee, InternalInvocation};
use crate::router::realm::Realm;
use crate::store::{PollRecord, Store, StoreError, TopicState};
use crate::wamp::error as uri_error;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// The procedure returning a topic's current `{seq, data}`.
pub const SNAPSHOT_PROCEDURE: &str = "junction.poller.snapshot";
/// The procedure returning a topic's poll records.
pub const POLLS_PROCEDURE: &str = "junction.poller.polls";

/// Where a topic was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `config.json`: read-only through the topics API.
    Config,
    /// The topics API: stored, editable.
    Api,
}

/// Why a topics API operation failed; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum TopicsError {
    /// 400: the definition is invalid; `path` is the JSON path of the key at fault.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// 404.
    #[error("no topic \"{0}\" in this realm")]
    NotFound(String),
    /// 409: a topic of that name exists.
    #[error("topic \"{0}\" already exists")]
    Duplicate(String),
    /// 409: defined in config.json, which the API does not rewrite.
    #[error("topic \"{0}\" is defined in config.json; change it there")]
    ReadOnly(String),
    /// 500.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 503: the cluster store did not answer.
    #[error("{0}")]
    Cluster(String),
}

impl From<CatalogError> for TopicsError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Duplicate => {
                TopicsError::Cluster("the cluster holds a topic of that name".into())
            }
            CatalogError::Unavailable(message) => TopicsError::Cluster(message),
        }
    }
}

impl From<ConfigError> for TopicsError {
    fn from(e: ConfigError) -> Self {
        TopicsError::Invalid {
            path: e.location().trim_start_matches('.').to_owned(),
            message: e.message().to_owned(),
        }
    }
}

/// One topic's poll counts (see [`RealmPollers::poll_counts`]).
#[derive(Debug, Clone)]
pub struct PollCounts {
    pub topic: String,
    pub polls: u64,
    pub failures: u64,
    pub consecutive_failures: u64,
    pub changes: u64,
    pub durations: crate::stats::histogram::Snapshot,
}

struct RunningTopic {
    topic: TopicConfig,
    definition: Json,
    origin: Origin,
    status: Arc<Mutex<TopicStatus>>,
    poll_now: Arc<tokio::sync::Notify>,
    task: JoinHandle<()>,
}

impl Drop for RunningTopic {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The pollers of one realm.
pub struct RealmPollers {
    realm: Arc<Realm>,
    store: Arc<dyn Store>,
    /// In a cluster: the topics API's definitions and the status of each topic, shared by
    /// every node (the local store then keeps neither).
    catalog: Option<Arc<dyn TopicCatalog>>,
    /// The task following the catalog's changes.
    watcher: Mutex<Option<JoinHandle<()>>>,
    topics: Mutex<BTreeMap<String, RunningTopic>>,
    clock: Clock,
    sleeper: Arc<dyn Sleeper>,
    procedures: Mutex<Option<JoinHandle<()>>>,
}

/// Every realm's pollers.
#[derive(Default)]
pub struct Pollers {
    realms: BTreeMap<String, Arc<RealmPollers>>,
}

impl Pollers {
    /// Starts the pollers of every realm that has topics in `config` or is in `api_realms`
    /// (realms served by a topics API path), each on its realm's store. Must run inside a
    /// runtime.
    pub fn start(
        config: &Config,
        router: &Router,
        api_realms: &[String],
    ) -> Result<Pollers, String> {
        let mut realms = BTreeMap::new();
        for realm_config in config.workers.iter().flat_map(|w| &w.realms) {
            let name = &realm_config.name;
            if realm_config.topics.is_empty() && !api_realms.contains(name) {
                continue;
            }
            let Some(realm) = router.realm(name) else {
                continue;
            };
            let store = realm.store();
            let pollers = RealmPollers::new(realm, store, real_clock(), Arc::new(TokioSleeper));
            for definition in &realm_config.topics {
                pollers.spawn(
                    definition.topic.clone(),
                    definition.source.clone(),
                    Origin::Config,
                );
            }
            pollers.start_stored()?;
            pollers.register_procedures();
            realms.insert(name.clone(), pollers);
        }
        Ok(Pollers { realms })
    }

    /// Every realm's pollers, by realm name.
    pub fn realms(&self) -> impl Iterator<Item = &Arc<RealmPollers>> {
        self.realms.values()
    }

    /// The pollers of `realm`, if it has any.
    pub fn realm(&self, realm: &str) -> Option<&Arc<RealmPollers>> {
        self.realms.get(realm)
    }
}

fn real_clock() -> Clock {
    Arc::new(jiff::Timestamp::now)
}

impl RealmPollers {
    pub fn new(
        realm: Arc<Realm>,
        store: Arc<dyn Store>,
        clock: Clock,
        sleeper: Arc<dyn Sleeper>,
    ) -> Arc<RealmPollers> {
        let catalog = realm.backplane().map(|b| b.topics());
        Arc::new(RealmPollers {
            realm,
            store,
            catalog,
            watcher: Mutex::default(),
            topics: Mutex::default(),
            clock,
            sleeper,
            procedures: Mutex::default(),
        })
    }

    /// Starts the topics created through the API in an earlier run (in a cluster: by any
    /// node, now or later). A stored definition that no longer loads, or whose name is now
    /// taken by config.json, is skipped with a warning.
    fn start_stored(self: &Arc<Self>) -> Result<(), String> {
        if let Some(catalog) = &self.catalog {
            // Topics this node's store holds from a run without a cluster move into it.
            let stored = self
                .store
                .topic_definitions(&self.realm.name)
                .map_err(|e| e.to_string())?;
            let (catalog, store) = (Arc::clone(catalog), Arc::clone(&self.store));
            let (realm, following) = (self.realm.name.clone(), Following(Arc::downgrade(self)));
            let task = tokio::spawn(async move {
                catalog::adopt(catalog.as_ref(), store, &realm, stored).await;
                catalog::follow(catalog, realm, following).await;
            });
            if let Some(old) = self.watcher.lock().replace(task) {
                old.abort();
            }
            return Ok(());
        }
        let stored = self
            .store
            .topic_definitions(&self.realm.name)
            .map_err(|e| e.to_string())?;
        for (name, definition) in stored {
            self.define(&name, definition);
        }
        Ok(())
    }

    /// Runs a stored (or, in a cluster, a newly shared) definition, unless it runs already.
    fn define(&self, name: &str, definition: Json) {
        match self.topics.lock().get(name) {
            Some(running) if running.origin == Origin::Config => {
                warn!(
                    realm = self.realm.name,
                    topic = name,
                    "stored topic ignored: config.json defines a topic of that name"
                );
                return;
            }
            Some(running) if running.definition == definition => return,
            _ => {}
        }
        match self.validate(&definition) {
            Ok(topic) if topic.name == name => self.spawn(topic, definition, Origin::Api),
            Ok(_) => warn!(
                realm = self.realm.name,
                topic = name,
                "stored topic ignored: its definition names another topic"
            ),
            Err(e) => warn!(
                realm = self.realm.name,
                topic = name,
                error = %e,
                "stored topic ignored"
            ),
        }
    }

    /// Stops a topic the API made, deleted elsewhere (in a cluster, by another node).
    fn undefine(&self, name: &str) {
        let mut topics = self.topics.lock();
        if topics.get(name).is_some_and(|t| t.origin == Origin::Api) {
            topics.remove(name);
            drop(topics);
            self.realm.forget_retained(name);
        }
    }

    fn spawn(&self, topic: TopicConfig, definition: Json, origin: Origin) {
        let status = Arc::new(Mutex::new(TopicStatus::default()));
        let poll_now = Arc::new(tokio::sync::Notify::new());
        let runner = Runner {
            realm: Arc::clone(&self.realm),
            topic: topic.clone(),
            store: Arc::clone(&self.store),
            status: Arc::clone(&status),
            clock: Arc::clone(&self.clock),
            sleeper: Arc::clone(&self.sleeper),
            poll_now: Arc::clone(&poll_now),
        };
        info!(
            realm = self.realm.name,
            topic = topic.name,
            url = redact_url(topic.poller.url.as_str()),
            "polling every {:?}",
            topic.poller.polling_period
        );
        let task = tokio::spawn(runner.run());
        let name = topic.name.clone();
        let running = RunningTopic {
            topic,
            definition,
            origin,
            status,
            poll_now,
            task,
        };
        // Replacing a running topic drops (and so aborts) the old task.
        self.topics.lock().insert(name, running);
    }

    /// Registers the snapshot and polls procedures (see the module documentation).
    pub fn register_procedures(self: &Arc<Self>) {
        let mut callee = InternalCallee::new(Arc::clone(&self.realm), TRUSTED_ROLE, "poller");
        for procedure in [SNAPSHOT_PROCEDURE, POLLS_PROCEDURE] {
            if let Err(e) = callee.register(procedure) {
                warn!(
                    realm = self.realm.name,
                    procedure,
                    error = e.message,
                    "cannot register"
                );
            }
        }
        let pollers = Arc::downgrade(self);
        let task = tokio::spawn(callee.serve_async(move |invocation| {
            let pollers = pollers.upgrade();
            async move {
                match pollers {
                    Some(pollers) => pollers.answer(invocation).await,
                    None => Err(WampError::new(uri_error::CANCELED, "pollers stopped")),
                }
            }
        }));
        if let Some(old) = self.procedures.lock().replace(task) {
            old.abort();
        }
    }

    async fn answer(&self, invocation: InternalInvocation) -> Result<Payload, WampError> {
        let topic = match invocation.payload.args.as_deref() {
            Some([Value::String(topic), ..]) => topic.clone(),
            _ => {
                return Err(WampError::new(
                    uri_error::INVALID_ARGUMENT,
                    format!(
                        "{} expects the topic name as its first argument",
                        invocation.procedure
                    ),
                ));
            }
        };
        if !self
            .realm
            .is_allowed(&invocation.caller_authrole, &topic, Action::Subscribe)
        {
            return Err(WampError::new(
                uri_error::NOT_AUTHORIZED,
                format!(
                    "role \"{}\" may not subscribe to \"{topic}\"",
                    invocation.caller_authrole
                ),
            ));
        }
        let no_topic = || {
            WampError::new(
                uri_error::INVALID_ARGUMENT,
                format!("no poller topic \"{topic}\" in this realm"),
            )
        };
        if invocation.procedure == SNAPSHOT_PROCEDURE {
            let status = self.status(&topic).ok_or_else(no_topic)?;
            let current = status.lock().current.clone();
            let (seq, data) = match (current, &self.catalog) {
                (Some((seq, data)), _) => (seq, to_wamp(&data)),
                // Another node polls the topic: the state it saved last.
                (None, Some(catalog)) => match catalog.state(&topic).await {
                    Some(TopicState {
                        seq,
                        snapshot: Some(data),
                        ..
                    }) => (seq, to_wamp(&data)),
                    _ => (0, Value::Null),
                },
                (None, None) => (0, Value::Null),
            };
            let mut kwargs = Dict::new();
            kwargs.insert("seq".into(), Value::from(seq));
            kwargs.insert("data".into(), data);
            Ok(Payload {
                args: None,
                kwargs: Some(kwargs),
            })
        } else {
            let records = self.polls(&topic).await.map_err(|e| match e {
                TopicsError::NotFound(_) => no_topic(),
                e => WampError::new(uri_error::CANCELED, e.to_string()),
            })?;
            let records = serde_json::to_value(records).unwrap_or(Json::Null);
            let value = serde_json::from_value::<Value>(records).unwrap_or(Value::Null);
            Ok(Payload {
                args: Some(vec![value]),
                kwargs: None,
            })
        }
    }

    fn status(&self, topic: &str) -> Option<Arc<Mutex<TopicStatus>>> {
        self.topics.lock().get(topic).map(|t| Arc::clone(&t.status))
    }

    pub fn realm_name(&self) -> &str {
        &self.realm.name
    }

    /// Checks a definition as config.json would, plus that its role exists in the realm.
    fn validate(&self, definition: &Json) -> Result<TopicConfig, TopicsError> {
        let topic = parse_topic(definition, "")?;
        if let Some(role) = &topic.role
            && !self.realm.has_role(role)
        {
            return Err(TopicsError::Invalid {
                path: "publisher.role".into(),
                message: format!("role \"{role}\" is not defined in this realm"),
            });
        }
        Ok(topic)
    }

    /// What this node's own polls of each topic counted, for metrics (in a cluster, only the
    /// node that polls a topic has counted anything for it), ordered by name.
    pub fn poll_counts(&self) -> Vec<PollCounts> {
        self.topics
            .lock()
            .iter()
            .map(|(name, running)| {
                let status = running.status.lock();
                PollCounts {
                    topic: name.clone(),
                    polls: status.polls,
                    failures: status.failures,
                    consecutive_failures: status.consecutive_failures,
                    changes: status.changes,
                    durations: status.durations.snapshot(),
                }
            })
            .collect()
    }

    /// Every topic, as the topics API shows it, ordered by name.
    pub async fn list(&self) -> Vec<Json> {
        let views: Vec<Json> = self.topics.lock().values().map(view).collect();
        let mut shown = Vec::with_capacity(views.len());
        for view in views {
            shown.push(self.with_report(view).await);
        }
        shown
    }

    pub async fn get(&self, name: &str) -> Result<Json, TopicsError> {
        let view = self
            .topics
            .lock()
            .get(name)
            .map(view)
            .ok_or_else(|| TopicsError::NotFound(name.to_owned()))?;
        Ok(self.with_report(view).await)
    }

    /// In a cluster, `view` with the status the polling node reported (this node's own runner
    /// knows it only while it polls).
    async fn with_report(&self, mut view: Json) -> Json {
        let Some(catalog) = &self.catalog else {
            return view;
        };
        let name = view["name"].as_str().unwrap_or_default().to_owned();
        if let Some(report) = catalog.report(&name).await {
            catalog::show_report(&mut view, report);
        }
        view
    }

    /// Creates a topic from a definition, stores it and starts its poller.
    pub async fn create(&self, definition: Json) -> Result<Json, TopicsError> {
        let topic = self.validate(&definition)?;
        if self.topics.lock().contains_key(&topic.name) {
            return Err(TopicsError::Duplicate(topic.name));
        }
        match &self.catalog {
            Some(catalog) => match catalog.create(&topic.name, &definition).await {
                Err(CatalogError::Duplicate) => return Err(TopicsError::Duplicate(topic.name)),
                created => created?,
            },
            None => self.save(&topic.name, &definition).await?,
        }
        let name = topic.name.clone();
        self.spawn(topic, definition, Origin::Api);
        self.get(&name).await
    }

    /// Applies a JSON merge patch (RFC 7396: `null` removes a key) to a created topic, stores
    /// the result and restarts its poller. The name cannot change.
    pub async fn patch(&self, name: &str, merge_patch: &Json) -> Result<Json, TopicsError> {
        let mut definition = self.editable(name)?;
        json_patch::merge(&mut definition, merge_patch);
        let topic = self.validate(&definition)?;
        if topic.name != name {
            return Err(TopicsError::Invalid {
                path: "name".into(),
                message: format!("the name of topic \"{name}\" cannot change"),
            });
        }
        match &self.catalog {
            Some(catalog) => catalog.replace(name, &definition).await?,
            None => self.save(name, &definition).await?,
        }
        self.spawn(topic, definition, Origin::Api);
        self.get(name).await
    }

    /// Stops a created topic and forgets its definition, state and records.
    pub async fn delete(&self, name: &str) -> Result<(), TopicsError> {
        self.editable(name)?;
        if let Some(catalog) = &self.catalog {
            // Stopped first, so that this node's runner writes nothing after the delete.
            self.topics.lock().remove(name);
            catalog.delete(name).await?;
            self.realm.forget_retained(name);
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        let (realm, topic) = (self.realm.name.clone(), name.to_owned());
        tokio::task::spawn_blocking(move || store.delete_topic(&realm, &topic))
            .await
            .map_err(|e| TopicsError::Invalid {
                path: String::new(),
                message: e.to_string(),
            })??;
        self.topics.lock().remove(name);
        self.realm.forget_retained(name);
        Ok(())
    }

    /// Polls the topic now instead of at its next tick (a poll under way is followed by
    /// another at once). In a cluster, only the node that polls the topic polls.
    pub fn poll_now(&self, name: &str) -> Result<(), TopicsError> {
        let topics = self.topics.lock();
        let running = topics
            .get(name)
            .ok_or_else(|| TopicsError::NotFound(name.to_owned()))?;
        running.poll_now.notify_one();
        Ok(())
    }

    /// The topic's poll records, newest first.
    pub async fn polls(&self, name: &str) -> Result<Vec<PollRecord>, TopicsError> {
        if !self.topics.lock().contains_key(name) {
            return Err(TopicsError::NotFound(name.to_owned()));
        }
        if let Some(catalog) = &self.catalog {
            return Ok(catalog
                .report(name)
                .await
                .map(|report| report.records)
                .unwrap_or_default());
        }
        let store = Arc::clone(&self.store);
        let (realm, topic) = (self.realm.name.clone(), name.to_owned());
        Ok(
            tokio::task::spawn_blocking(move || store.poll_records(&realm, &topic))
                .await
                .map_err(|e| TopicsError::Invalid {
                    path: String::new(),
                    message: e.to_string(),
                })??,
        )
    }

    /// The stored definition of a topic the API may change.
    fn editable(&self, name: &str) -> Result<Json, TopicsError> {
        let topics = self.topics.lock();
        let running = topics
            .get(name)
            .ok_or_else(|| TopicsError::NotFound(name.to_owned()))?;
        if running.origin == Origin::Config {
            return Err(TopicsError::ReadOnly(name.to_owned()));
        }
        Ok(running.definition.clone())
    }

    async fn save(&self, name: &str, definition: &Json) -> Result<(), TopicsError> {
        let store = Arc::clone(&self.store);
        let (realm, topic, definition) =
            (self.realm.name.clone(), name.to_owned(), definition.clone());
        tokio::task::spawn_blocking(move || {
            store.save_topic_definition(&realm, &topic, &definition)
        })
        .await
        .map_err(|e| TopicsError::Invalid {
            path: String::new(),
            message: e.to_string(),
        })??;
        Ok(())
    }
}

/// The realm's pollers as the catalog's follower, for as long as they exist.
struct Following(std::sync::Weak<RealmPollers>);

impl catalog::Follower for Following {
    fn define(&self, name: &str, definition: Json) -> bool {
        self.0
            .upgrade()
            .map(|p| p.define(name, definition))
            .is_some()
    }

    fn undefine(&self, name: &str) -> bool {
        self.0.upgrade().map(|p| p.undefine(name)).is_some()
    }
}

/// A topic as the topics API shows it.
fn view(running: &RunningTopic) -> Json {
    let status = running.status.lock();
    json!({
        "name": running.topic.name,
        "origin": match running.origin { Origin::Config => "config", Origin::Api => "api" },
        "definition": redacted_definition(&running.definition),
        "seq": status.current.as_ref().map_or(0, |(seq, _)| *seq),
        "polls": status.polls,
        "lastSuccess": status.last_success.map(|t| t.to_string()),
        "lastError": status.last_error,
    })
}

/// Header names whose values are shown as `<redacted>`.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "key",
        "token",
        "secret",
        "cookie",
        "password",
        "signature",
    ]
    .iter()
    .any(|hint| name.contains(hint))
}

/// A definition without its secrets: `clientSecret` (unless it names an environment
/// variable), secret-looking header values and URL credentials or query values.
pub fn redacted_definition(definition: &Json) -> Json {
    let mut shown = definition.clone();
    if let Some(config) = shown.pointer_mut("/publisher/config") {
        if let Some(Json::String(url)) = config.get_mut("url") {
            *url = redact_url(url);
        }
        if let Some(Json::Object(headers)) = config.get_mut("headers") {
            for (name, value) in headers.iter_mut() {
                if secret_header(name) && value.is_string() {
                    *value = json!("<redacted>");
                }
            }
        }
        if let Some(Json::String(secret)) = config.pointer_mut("/authorization/clientSecret")
            && !secret.starts_with('$')
        {
            *secret = "<redacted>".to_owned();
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_shown_without_secrets() {
        let definition = json!({"name": "t", "publisher": {"type": "http-poller", "config": {
            "url": "https://u:pw@api.example/x?api_key=k1&page=1",
            "headers": {"X-Api-Key": "k2", "Accept": "application/json"},
            "authorization": {"type": "oauth2", "clientId": "id", "clientSecret": "s3",
                              "provider": "https://auth.example/token"}}}});
        let shown = redacted_definition(&definition).to_string();
        for secret in ["pw", "k1", "k2", "s3"] {
            assert!(
                !shown.contains(&format!("\"{secret}\""))
                    && !shown.contains(&format!(":{secret}@"))
                    && !shown.contains(&format!("={secret}")),
                "{secret} in {shown}"
            );
        }
        assert!(shown.contains("application/json"));
        assert!(shown.contains("page=1"));
        let env = json!({"name": "t", "publisher": {"config": {"authorization": {"clientSecret": "$SECRET"}}}});
        assert!(redacted_definition(&env).to_string().contains("$SECRET"));
    }
}
