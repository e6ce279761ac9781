//! What a realm asks of the other nodes when it runs in a cluster, as a trait the realm calls:
//! the router stays free of network I/O, and `src/cluster/` implements it over NATS. A realm
//! without a backplane (single-node mode, the default) never calls any of this.
//!
//! The methods the realm calls while it holds a table lock or on the publish path never wait:
//! they hand work over. What must be settled before a reply can go out (a subscription's NATS
//! interest before SUBSCRIBED, a registration's claim before REGISTERED) is awaited by the
//! session before it calls the realm.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::router::broker::{Audience, Publication};
use crate::router::dealer::InvokePolicy;
use crate::router::error::WampError;
use crate::router::peer::Peer;
use crate::router::session_table::Testament;
use crate::store::{PollRecord, TopicState};
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::Dict;

/// A realm's link to the same realm on the other nodes.
pub trait Backplane: Send + Sync + std::fmt::Debug {
    /// Refuses a topic or pattern the cluster cannot carry (its subject is too long).
    fn check_uri(&self, uri: &str, policy: MatchPolicy) -> Result<(), WampError>;

    /// Hands a publication, already delivered on this node, to the other nodes (`retain`: it
    /// becomes the topic's retained event; `history`: a history rule keeps it).
    fn publish(&self, publication: &Publication<'_>, retain: bool, history: bool);

    /// Makes sure publications for (uri, policy) from other nodes reach this node, before the
    /// first local SUBSCRIBED for it goes out; with `get_retained`, the cluster's retained
    /// events for it are loaded into the broker first.
    fn subscribe(
        &self,
        uri: &str,
        policy: MatchPolicy,
        get_retained: bool,
    ) -> BoxFuture<'_, Result<(), WampError>>;

    /// The last local subscriber of (uri, policy) is gone.
    fn unsubscribed(&self, uri: &str, policy: MatchPolicy);

    /// Claims a registration cluster-wide before REGISTERED goes out (`single` is exclusive).
    fn register(&self, claim: Claim) -> BoxFuture<'_, Result<(), WampError>>;

    /// Gives back a claim: the local registration failed after all, was unregistered, or its
    /// session left.
    fn unregister(&self, session: Id, uri: &str, policy: MatchPolicy);

    /// Waits until this node has seen every registration made on the others so far (before
    /// answering `no_such_procedure`).
    fn sync_registrations(&self) -> BoxFuture<'_, ()>;

    /// Sends a CALL routed to a callee on another node there.
    fn forward_call(&self, call: ForwardedCall) -> Result<(), WampError>;

    /// Sends a later chunk of a forwarded progressive call; gives the payload back when
    /// `(caller, request)` is not a forwarded call still open for chunks.
    fn forward_chunk(
        &self,
        caller: Id,
        request: Id,
        progress: bool,
        payload: Payload,
    ) -> Option<Payload>;

    /// Sends a caller's CANCEL of a forwarded call; false when it is not one.
    fn forward_cancel(&self, caller: Id, request: Id, options: &Dict) -> bool;

    /// A local session left: its calls forwarded elsewhere end there too.
    fn session_left(&self, session: Id);

    /// A local session joined, or its testaments changed: the other nodes keep its record,
    /// to publish its testaments and `on_leave` should this node die.
    fn session_record(&self, session: Id, record: SessionRecord);

    /// The leadership of the poller topic `topic`: exactly one node of the cluster polls it.
    fn leadership(&self, topic: &str) -> Arc<dyn Leadership>;

    /// The realm's poller topics as the whole cluster knows them (the topics API's).
    fn topics(&self) -> Arc<dyn TopicCatalog>;

    /// Whether this node is connected to the cluster now, and the name of its incarnation.
    fn connected(&self) -> (bool, String);

    /// A lease on `name`: a task of this realm that one node of the cluster runs at a time
    /// (an HTTP subscriber's forwarding: every node has it configured, one sends).
    fn lease(&self, name: &str) -> Arc<dyn ClusterLease>;

    /// The events the cluster's history stream holds for (uri, policy), oldest first, from
    /// every node (the realm's rules then select what each rule keeps).
    fn history(
        &self,
        uri: &str,
        policy: MatchPolicy,
    ) -> BoxFuture<'_, Result<Vec<Arc<crate::store::EventRecord>>, WampError>>;

    /// A meta procedure that needs every node's answer, merged; `None` for the others
    /// (answered by this node alone).
    fn meta_call<'a>(
        &'a self,
        caller: Id,
        procedure: &'a str,
        payload: &'a Payload,
    ) -> Option<BoxFuture<'a, Result<Payload, WampError>>>;
}

/// A registration as the cluster registry records it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub session: Id,
    pub authid: String,
    pub authrole: String,
    pub uri: String,
    pub policy: MatchPolicy,
    pub invoke: InvokePolicy,
}

/// One poller topic led by one node at a time (a lease), with fenced publications: a node
/// that lost the lease cannot publish, even late (a paused process resuming), and the next
/// leader continues from what the last one committed.
/// A name one node of the cluster holds at a time; it expires when its holder stops renewing
/// it (dies, or loses NATS), and the holder stops counting on it before anyone else can take it.
pub trait ClusterLease: Send + Sync {
    /// Waits until this node holds it; from then on it is renewed in the background.
    fn acquire(&self) -> BoxFuture<'_, ()>;

    /// Whether this node still holds it.
    fn holds(&self) -> bool;

    /// Gives it back at once, so another node need not wait for it to expire.
    fn release(&self);
}

pub trait Leadership: Send + Sync {
    /// Waits until this node leads the topic; returns the state the last leader saved, its
    /// `seq` at least that of the last event it published.
    fn lead(&self) -> BoxFuture<'_, TopicState>;

    /// Whether this node still leads: false once the lease was lost or its deadline passed.
    fn leads(&self) -> bool;

    /// Publishes a poller event to every node (this one included), and makes `retained` the
    /// topic's retained event, if this node still leads and no other node published on the
    /// topic since its own last event. An error: the leadership is lost.
    fn publish(
        &self,
        publication: OwnedPublication,
        retained: Option<Payload>,
    ) -> BoxFuture<'_, Result<(), WampError>>;

    /// Saves the topic's state for the next leader.
    fn save(&self, state: &TopicState) -> BoxFuture<'_, ()>;

    /// Reports a poll to every node's topics API: the [`TopicReport`] kept for the topic
    /// (counting on from the last leader's) gains `record`.
    fn report(&self, poll: PolledReport) -> BoxFuture<'_, ()>;

    /// Steps down: the lease goes at once, so another node takes over without waiting.
    fn release(&self);
}

/// A publication checked and ready (see `Realm::prepare_publication`), owned so it can wait
/// for the cluster.
#[derive(Debug, Clone)]
pub struct OwnedPublication {
    pub id: Id,
    pub topic: String,
    pub details: Dict,
    pub payload: Payload,
    pub audience: Audience,
}

/// What the other nodes keep of a local session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub authid: String,
    pub authrole: String,
    pub testaments: Vec<Testament>,
}

/// A CALL on its way to the node of the callee the dealer chose.
#[derive(Debug)]
pub struct ForwardedCall {
    pub caller: Arc<Peer>,
    pub request: Id,
    pub procedure: String,
    /// INVOCATION.Details decided here (caller disclosure, `receive_progress`).
    pub details: Dict,
    pub payload: Payload,
    pub receive_progress: bool,
    pub progress: bool,
    /// CALL.Options.timeout in ms: the callee's node runs the timer.
    pub timeout_ms: Option<u64>,
    /// The node and session of the callee.
    pub node: Arc<str>,
    pub callee: Id,
    /// The registration (uri, policy) this node's dealer chose: the callee's node starts the
    /// call there, whatever it has learnt since.
    pub registration: (String, MatchPolicy),
}

/// One poll, as the leader reports it ([`Leadership::report`]).
#[derive(Debug, Clone)]
pub struct PolledReport {
    pub seq: u64,
    pub last_success: Option<jiff::Timestamp>,
    pub last_error: Option<String>,
    pub record: PollRecord,
}

/// A poller topic's status as every node's topics API shows it, written by the node that
/// polls it after each poll.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TopicReport {
    /// The node that polls the topic.
    pub node: String,
    pub seq: u64,
    pub polls: u64,
    /// RFC 3339.
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    /// The newest poll records, newest first.
    pub records: Vec<PollRecord>,
}

/// A change of the cluster's topic definitions.
#[derive(Debug, Clone)]
pub enum TopicChange {
    /// Created or replaced: the definition (whose `name` names the topic).
    Defined(Json),
    Deleted(String),
}

/// Why the cluster did not take a topic definition.
#[derive(Debug, Clone)]
pub enum CatalogError {
    /// Another node holds a topic of that name.
    Duplicate,
    /// The cluster store did not answer (or refused); the message says why, without secrets.
    Unavailable(String),
}

/// The poller topics of a realm defined through the topics API, kept by the cluster: any
/// node may create, patch or delete one, every node runs it (one polls), and every node reads
/// its status from the [`TopicReport`] of the node that polls.
pub trait TopicCatalog: Send + Sync {
    /// Every definition, then every change, until the stream is dropped.
    fn watch(&self) -> BoxFuture<'_, Result<BoxStream<'static, TopicChange>, CatalogError>>;
    /// Stores a new definition, refused when the name is taken.
    fn create(&self, name: &str, definition: &Json) -> BoxFuture<'_, Result<(), CatalogError>>;
    /// Replaces a definition.
    fn replace(&self, name: &str, definition: &Json) -> BoxFuture<'_, Result<(), CatalogError>>;
    /// Forgets a topic: definition, state, report, stored events.
    fn delete(&self, name: &str) -> BoxFuture<'_, Result<(), CatalogError>>;
    /// The last report of the node polling `name`.
    fn report(&self, name: &str) -> BoxFuture<'_, Option<TopicReport>>;
    /// The state the node polling `name` last saved (its `seq` and snapshot).
    fn state(&self, name: &str) -> BoxFuture<'_, Option<TopicState>>;
}
