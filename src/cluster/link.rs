//! One realm's [`Backplane`]: what the realm asks of the cluster, handed to the part that
//! does it (interest for subscriptions, the registry for registrations, calls for calls).

use std::sync::{Arc, Weak};

use async_nats::HeaderMap;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::cluster::calls::Calls;
use crate::cluster::events::StoredEvents;
use crate::cluster::interest::Interests;
use crate::cluster::membership::Membership;
use crate::cluster::meta::{self, Meta};
use crate::cluster::node::Node;
use crate::cluster::poller::PollerStore;
use crate::cluster::registry::Registry;
use crate::cluster::sessions::Sessions;
use crate::cluster::subject::{HISTORY, RETAINED, RealmSubjects};
use crate::cluster::topics::ClusterTopics;
use crate::cluster::wire;
use crate::router::backplane::{
    Backplane, Claim, ClusterLease, ForwardedCall, Leadership, SessionRecord, TopicCatalog,
};
use crate::router::broker::{Publication, RetainedEvent};
use crate::router::error::WampError;
use crate::router::history::{GET_EVENTS, Query};
use crate::router::persist::audience_record;
use crate::router::realm::Realm;
use crate::router::uri_index::pattern_matches;
use crate::store::EventRecord;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, Value};

pub struct RealmLink {
    pub name: String,
    realm: Weak<Realm>,
    node: Arc<Node>,
    subjects: RealmSubjects,
    interests: Arc<Interests>,
    pub calls: Calls,
    registry: Arc<Registry>,
    sessions: Arc<Sessions>,
    meta: Meta,
    events: Arc<StoredEvents>,
    pollers: Arc<PollerStore>,
    /// The realm's name hashed, as keys in shared buckets start.
    hash: String,
}

/// What every realm's link shares: this node and its parts in JetStream.
pub struct Shared {
    pub node: Arc<Node>,
    pub membership: Arc<Membership>,
    pub registry: Arc<Registry>,
    pub sessions: Arc<Sessions>,
    pub events: Arc<StoredEvents>,
    pub pollers: Arc<PollerStore>,
    pub max_subject_bytes: usize,
}

impl std::fmt::Debug for RealmLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RealmLink({})", self.name)
    }
}

impl RealmLink {
    pub async fn new(realm: &Arc<Realm>, shared: &Shared) -> Result<RealmLink, String> {
        let node = &shared.node;
        let subjects = RealmSubjects::new(&node.prefix, &realm.name);
        let weak = Arc::downgrade(realm);
        let token = crate::cluster::subject::token(&realm.name);
        let meta_subject = format!("{}.{token}.m", node.prefix);
        let meta = Meta::start(node, &shared.membership, meta_subject, weak.clone()).await?;
        Ok(RealmLink {
            meta,
            name: realm.name.clone(),
            interests: Interests::start(
                node.client.clone(),
                subjects.clone(),
                shared.max_subject_bytes,
                node.request_timeout,
                weak.clone(),
            ),
            calls: Calls::new(Arc::clone(node), token, weak.clone()),
            realm: weak,
            node: Arc::clone(node),
            subjects,
            registry: Arc::clone(&shared.registry),
            sessions: Arc::clone(&shared.sessions),
            events: Arc::clone(&shared.events),
            pollers: Arc::clone(&shared.pollers),
            hash: {
                use sha2::{Digest, Sha256};
                hex::encode(Sha256::digest(realm.name.as_bytes()))[..16].to_owned()
            },
        })
    }
}

impl RealmLink {
    /// Puts the cluster's retained events for (uri, policy) into the realm's broker, where the
    /// SUBSCRIBE about to be handled replays them from (best effort, like retention itself).
    async fn load_retained(&self, uri: &str, policy: MatchPolicy) {
        let filter = self.subjects.pattern(RETAINED, uri, policy);
        let messages = match self.events.retained(filter).await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(error = e.message, "cluster: retained events not read");
                return;
            }
        };
        let Some(realm) = self.realm.upgrade() else {
            return;
        };
        let broker = realm.broker.read();
        for message in messages {
            let Some(event) = wire::received(&message.payload) else {
                continue;
            };
            if pattern_matches(uri, policy, &event.topic) {
                broker.restore_retained(
                    event.topic,
                    RetainedEvent {
                        publication: event.id,
                        details: event.details,
                        payload: event.payload,
                        audience: event.audience,
                    },
                );
            }
        }
    }

    /// `wamp.subscription.get_events` from the cluster's history stream.
    async fn get_events(
        &self,
        realm: &Realm,
        caller: Id,
        payload: &Payload,
    ) -> Result<Payload, WampError> {
        let (subscription, query) = Query::parse(payload)?;
        let (uri, policy) = match realm.subscription_pattern(subscription) {
            Some(pattern) => pattern,
            None => self.remote_pattern(realm, caller, subscription).await?,
        };
        let events = Backplane::history(self, &uri, policy).await?;
        let peer = realm
            .sessions
            .get(caller)
            .map(|joined| Arc::clone(&joined.peer))
            .ok_or_else(|| WampError::new(crate::wamp::error::NO_SUCH_SESSION, "caller gone"))?;
        realm.events_from_cluster(&peer, subscription, (&uri, policy), &query, events)
    }

    /// The (uri, policy) of a subscription another node has.
    async fn remote_pattern(
        &self,
        realm: &Realm,
        caller: Id,
        subscription: Id,
    ) -> Result<(String, MatchPolicy), WampError> {
        let ask = Payload {
            args: Some(vec![Value::from(subscription)]),
            kwargs: None,
        };
        let details = self
            .meta
            .call(realm, caller, "wamp.subscription.get", &ask)
            .await?;
        let found = details
            .args
            .as_ref()
            .and_then(|a| a.first())
            .and_then(|d| match d {
                Value::Dict(d) => Some(d.clone()),
                _ => None,
            });
        let uri = found.as_ref().and_then(|d| match d.get("uri") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        });
        let policy = found.as_ref().and_then(MatchPolicy::from_options);
        match (uri, policy) {
            (Some(uri), Some(policy)) => Ok((uri, policy)),
            _ => Err(WampError::new(
                crate::wamp::error::NO_SUCH_SUBSCRIPTION,
                format!("no subscription with id {subscription} exists in this realm"),
            )),
        }
    }
}

/// A history stream message as the realm's history keeps events (time: when JetStream
/// stored it, the same for every reader).
fn event_record(message: &async_nats::jetstream::Message) -> Option<Arc<EventRecord>> {
    let event = wire::received(&message.payload)?;
    let stored = message.info().ok()?.published;
    let nanos = stored.unix_timestamp_nanos();
    let timestamp = jiff::Timestamp::from_nanosecond(nanos).ok()?;
    Some(Arc::new(EventRecord {
        publication: event.id,
        topic: event.topic,
        timestamp,
        details: event.details,
        args: event.payload.args,
        kwargs: event.payload.kwargs,
        audience: audience_record(&event.audience),
    }))
}

impl Backplane for RealmLink {
    fn check_uri(&self, uri: &str, policy: MatchPolicy) -> Result<(), WampError> {
        self.interests.check(uri, policy)
    }

    fn publish(&self, publication: &Publication<'_>, retain: bool, history: bool) {
        let Some(bytes) = wire::publication(publication, retain) else {
            return;
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            wire::SEQUENCE,
            self.node.next_sequence().to_string().as_str(),
        );
        // On the same ordered queue: a retained event or a history entry is stored in the
        // order it was published.
        if retain {
            let subject = self.subjects.topic(RETAINED, publication.topic);
            self.node.send(subject, headers.clone(), bytes.clone());
        }
        if history {
            let subject = self.subjects.topic(HISTORY, publication.topic);
            self.node.send(subject, headers.clone(), bytes.clone());
        }
        self.node
            .send(self.subjects.publication(publication.topic), headers, bytes);
    }

    fn subscribe(
        &self,
        uri: &str,
        policy: MatchPolicy,
        get_retained: bool,
    ) -> BoxFuture<'_, Result<(), WampError>> {
        let uri = uri.to_owned();
        async move {
            self.interests.subscribe(&uri, policy).await?;
            if get_retained {
                self.load_retained(&uri, policy).await;
            }
            Ok(())
        }
        .boxed()
    }

    fn unsubscribed(&self, uri: &str, policy: MatchPolicy) {
        self.interests.unsubscribed(uri, policy, self.realm.clone());
    }

    fn register(&self, claim: Claim) -> BoxFuture<'_, Result<(), WampError>> {
        async move { self.registry.claim(&self.name, claim).await }.boxed()
    }

    fn unregister(&self, session: Id, uri: &str, policy: MatchPolicy) {
        self.registry.release(&self.name, session, uri, policy);
    }

    fn sync_registrations(&self) -> BoxFuture<'_, ()> {
        self.registry.sync().boxed()
    }

    fn forward_call(&self, call: ForwardedCall) -> Result<(), WampError> {
        self.calls.forward_call(call)
    }

    fn forward_chunk(
        &self,
        caller: Id,
        request: Id,
        progress: bool,
        payload: Payload,
    ) -> Option<Payload> {
        self.calls.forward_chunk(caller, request, progress, payload)
    }

    fn forward_cancel(&self, caller: Id, request: Id, options: &Dict) -> bool {
        self.calls.forward_cancel(caller, request, options)
    }

    fn session_left(&self, session: Id) {
        self.calls.session_left(session);
        self.registry.release_session(&self.name, session);
        self.sessions.forget(&self.name, session);
    }

    fn session_record(&self, session: Id, record: SessionRecord) {
        self.sessions.record(&self.name, session, record);
    }

    fn leadership(&self, topic: &str) -> Arc<dyn Leadership> {
        self.pollers.topic(&self.hash, &self.subjects, topic)
    }

    fn connected(&self) -> (bool, String) {
        (self.node.connected(), self.node.name.to_string())
    }

    fn lease(&self, name: &str) -> Arc<dyn ClusterLease> {
        Arc::new(self.pollers.lease(&self.hash, name))
    }

    fn history(
        &self,
        uri: &str,
        policy: MatchPolicy,
    ) -> BoxFuture<'_, Result<Vec<Arc<EventRecord>>, WampError>> {
        let filter = self.subjects.pattern(HISTORY, uri, policy);
        Box::pin(async move {
            let barrier = self.subjects.history_barrier();
            let messages = self.events.history(filter, barrier).await?;
            Ok(messages.iter().filter_map(event_record).collect())
        })
    }

    fn topics(&self) -> Arc<dyn TopicCatalog> {
        Arc::new(ClusterTopics {
            store: Arc::clone(&self.pollers),
            events: Arc::clone(&self.events),
            subjects: self.subjects.clone(),
            hash: self.hash.clone(),
        })
    }

    fn meta_call<'a>(
        &'a self,
        caller: Id,
        procedure: &'a str,
        payload: &'a Payload,
    ) -> Option<BoxFuture<'a, Result<Payload, WampError>>> {
        let realm = self.realm.upgrade()?;
        if procedure == GET_EVENTS {
            return Some(async move { self.get_events(&realm, caller, payload).await }.boxed());
        }
        if !meta::is_scattered(procedure) {
            return None;
        }
        Some(async move { self.meta.call(&realm, caller, procedure, payload).await }.boxed())
    }
}
