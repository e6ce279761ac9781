//! A realm: the [`Realm`] every way in (WebSocket sessions, the HTTP bridge's caller and
//! publisher, pollers, internal procedures) goes through, so authorization and routing behave
//! the same whatever the door. One file per WAMP role, as the spec splits broker and dealer:
//!
//! - this file: the realm's state, joining and leaving, and the checks every request passes
//!   (URI rules, then permissions);
//! - [`pubsub`]: SUBSCRIBE, UNSUBSCRIBE, PUBLISH and retained events (the broker's side);
//! - [`rpc`]: REGISTER, UNREGISTER, CALL, YIELD, CANCEL, INTERRUPT and invocation errors (the
//!   dealer's side), with [`call_queue`]: calls that wait for a callee to register;
//! - [`options`]: reading and checking the options dicts of those requests;
//! - [`meta`] and [`meta_events`]: the meta procedures and meta events;
//! - [`history`] answers `wamp.subscription.get_events`;
//! - [`storage`] loads what the realm's store kept and closes it at shutdown;
//! - [`cluster`]: what the other nodes of a cluster hand this realm (their publications,
//!   calls, registrations), through its [`Backplane`].
//!
//! Locks are held only while tables change or frames are queued; never across socket writes.

mod call_queue;
mod cluster;
mod gauges;
mod history;
mod meta;
mod meta_events;
mod options;
mod pubsub;
mod rpc;
mod storage;

pub use cluster::ForwardedInvocation;
pub use gauges::RealmGauges;
pub use options::{call_timeout, invoke_policy, match_policy};
pub use storage::StoreStats;

use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::config::{RealmConfig, UriCheck};
use crate::router::authorize::{Action, Authorizer, Decision};
use crate::router::backplane::{Backplane, SessionRecord};
use crate::router::broker::Broker;
use crate::router::call_queue::CallQueue;
use crate::router::dealer::Dealer;
use crate::router::delivery::push;
use crate::router::error::WampError;
use crate::router::history::EventHistory;
use crate::router::peer::{Outgoing, Peer};
use crate::router::persist::RealmStorage;
use crate::router::session_stats;
use crate::router::session_table::{JoinedSession, SessionTable};
use crate::store::{LateStore, Store};
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::Message;
use crate::wamp::uri::{self, MatchPolicy};
use crate::wamp::value::{Dict, Value};

pub struct Realm {
    pub name: String,
    strict_uris: bool,
    /// `options.enable_meta_api`: the `wamp.*` procedures and meta events.
    pub(crate) meta_api: bool,
    authorizer: Authorizer,
    pub(crate) broker: RwLock<Broker>,
    pub(crate) dealer: Mutex<Dealer>,
    /// `store.call-queue`: calls waiting for a callee; `None` when the realm has no rules.
    /// Locked only with `dealer` locked first.
    pub(crate) call_queue: Option<Mutex<CallQueue>>,
    pub(crate) sessions: SessionTable,
    /// `store.event-history` buffers; `None` when the realm has no rules (see history.rs).
    pub(crate) history: Option<EventHistory>,
    /// Where retained events, history and poller state are kept (see persist.rs).
    pub(crate) storage: RealmStorage,
    /// Bumped on every subscribe, so an idle poller (not `alwaysOn`) wakes up when its first
    /// subscriber arrives instead of checking on a timer.
    subscribed: watch::Sender<u64>,
    /// The same realm on the other nodes of a cluster; unset on a single node.
    backplane: OnceLock<Arc<dyn Backplane>>,
}

impl Realm {
    /// A realm on a fresh memory store: nothing it retains or records outlives it.
    pub fn new(config: &RealmConfig) -> Realm {
        Realm::with_storage(config, RealmStorage::memory())
    }

    /// A realm on `store`: what an earlier run kept there is loaded, and when the store is
    /// durable, what the realm retains or records from now on is written to it.
    pub fn open(config: &RealmConfig, store: Arc<dyn Store>) -> Result<Realm, String> {
        let realm = Realm::with_storage(config, RealmStorage::new(Arc::clone(&store)));
        realm.attach_store(&store)?;
        Ok(realm)
    }

    /// A realm whose store another process holds: it serves as a realm on a memory store does
    /// until `store_retry` opens the store and [attaches](Realm::attach_store) it.
    pub fn open_late(config: &RealmConfig, store: Arc<LateStore>, why: String) -> Realm {
        Realm::with_storage(config, RealmStorage::late(store, why))
    }

    fn with_storage(config: &RealmConfig, storage: RealmStorage) -> Realm {
        Realm {
            name: config.name.clone(),
            strict_uris: config.uri_check == UriCheck::Strict,
            meta_api: config.meta_api,
            authorizer: Authorizer::new(&config.roles),
            broker: RwLock::new(Broker::default()),
            dealer: Mutex::default(),
            call_queue: CallQueue::new(&config.call_queue).map(Mutex::new),
            sessions: SessionTable::default(),
            history: EventHistory::new(&config.event_history),
            storage,
            subscribed: watch::Sender::new(0),
            backplane: OnceLock::new(),
        }
    }

    /// Links the realm to the same realm on other nodes (once, at start).
    pub fn attach_backplane(&self, backplane: Arc<dyn Backplane>) {
        // Subscriptions and registrations get the same id on every node.
        self.broker.write().derive_ids();
        self.dealer.lock().derive_ids();
        let _ = self.backplane.set(backplane);
    }

    /// The realm's link to the other nodes, when it runs in a cluster.
    pub fn backplane(&self) -> Option<&Arc<dyn Backplane>> {
        self.backplane.get()
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.authorizer.has_role(role)
    }

    /// The authorizer procedure of `role`, when the role is dynamically authorized.
    pub fn authorizer_of(&self, role: &str) -> Option<&str> {
        self.authorizer.authorizer_of(role)
    }

    /// Whether `role` may perform `action` on `uri` (internal procedures check their caller).
    pub fn is_allowed(&self, role: &str, uri: &str, action: Action) -> bool {
        self.authorizer.authorize(role, uri, action).allowed
    }

    /// A client session joins: it is listed for the session meta API and `on_join` is
    /// published.
    pub fn join(&self, joined: JoinedSession) -> Arc<JoinedSession> {
        let joined = Arc::new(joined);
        if !joined.peer.internal {
            session_stats::joined(&self.name);
        }
        self.sessions.insert(Arc::clone(&joined));
        self.record_session(&joined);
        self.published_join(&joined);
        joined
    }

    /// Removes everything a leaving session owned; callers waiting on it get an ERROR, callees
    /// still receiving its progressive call an INTERRUPT; then its testaments and `on_leave`
    /// are published. Leaving twice (a killed session's transport closing) does nothing more.
    pub fn leave(&self, session: Id, subscriptions: impl IntoIterator<Item = Id>) {
        let joined = self.sessions.remove(session);
        if joined.as_ref().is_some_and(|j| !j.peer.internal) {
            session_stats::left(&self.name);
        }
        if let Some(backplane) = self.backplane.get() {
            backplane.session_left(session);
        }
        let unsubscribed = self.remove_subscriber(session, subscriptions);
        let unregistered = self.remove_from_dealer(session);
        for (subscription, deleted) in unsubscribed {
            self.published_unsubscribe(session, subscription, deleted);
        }
        for registration in unregistered {
            self.published_unregister(session, registration.id, registration.deleted);
        }
        if let Some(joined) = joined {
            for testament in joined.take_testaments() {
                let outcome = self.publish_decided(
                    &joined.peer,
                    &testament.options,
                    &testament.topic,
                    &testament.payload,
                    None,
                    testament.decision,
                );
                if let Err(e) = outcome {
                    tracing::debug!(
                        session,
                        error = %crate::log_text::peer_text(&e.message),
                        "testament not published"
                    );
                }
            }
            self.published_leave(&joined.peer);
        }
    }

    /// Tells the other nodes of a cluster what to do should this node die with `joined` in it.
    pub(crate) fn record_session(&self, joined: &JoinedSession) {
        if let Some(backplane) = self.backplane() {
            backplane.session_record(
                joined.peer.session,
                SessionRecord {
                    authid: joined.peer.authid.clone(),
                    authrole: joined.peer.authrole.clone(),
                    testaments: joined.testaments(),
                },
            );
        }
    }

    /// Closes another session (`wamp.session.kill*`): GOODBYE with `reason`, then its transport
    /// closes; it leaves the realm at once. False when no such client session is joined.
    pub fn kill(&self, target: Id, reason: &str, message: Option<&str>) -> bool {
        let Some(joined) = self.sessions.get(target) else {
            return false;
        };
        joined.mark_killed();
        let mut details = Dict::new();
        if let Some(message) = message {
            details.insert("message".into(), Value::from(message));
        }
        let goodbye = Message::Goodbye {
            details,
            reason: reason.to_owned(),
        };
        push(&joined.peer, &goodbye);
        joined.peer.outbound.push(Outgoing::Close {
            code: 1000,
            reason: "session killed".to_owned(),
        });
        let subscriptions = self.broker.read().subscriptions_of(target);
        self.leave(target, subscriptions);
        true
    }

    /// The URI rules of the realm (`uri_check`), first of every request's checks.
    #[inline] // on every PUBLISH and CALL, called from pubsub.rs and rpc.rs
    fn check_uri(&self, uri: &str, policy: MatchPolicy) -> Result<(), WampError> {
        if uri::is_valid(uri, self.strict_uris, policy) {
            Ok(())
        } else {
            let check = if self.strict_uris { "strict" } else { "loose" };
            Err(WampError::new(
                uri_error::INVALID_URI,
                format!(
                    "invalid URI \"{uri}\" ({check} check, match {})",
                    policy.name()
                ),
            ))
        }
    }

    /// The permission of `peer`'s role, or the decision its dynamic authorizer left for this
    /// request.
    #[inline] // on every PUBLISH and CALL, called from pubsub.rs and rpc.rs
    fn authorize(&self, peer: &Peer, uri: &str, action: Action) -> Result<Decision, WampError> {
        let mut decision = self.authorizer.authorize(&peer.authrole, uri, action);
        if !decision.allowed && self.authorizer.authorizer_of(&peer.authrole).is_some() {
            // Dynamic role: the session asked its authorizer just before (see Session).
            if let Some(decided) = self
                .sessions
                .get(peer.session)
                .and_then(|s| s.take_decision(uri, action))
            {
                decision = decided;
            }
        }
        if decision.allowed {
            Ok(decision)
        } else {
            Err(WampError::new(
                uri_error::NOT_AUTHORIZED,
                format!(
                    "session is not authorized to {} \"{uri}\" (role \"{}\")",
                    action.name(),
                    peer.authrole
                ),
            ))
        }
    }
}
