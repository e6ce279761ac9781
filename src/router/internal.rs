//! Sessions that live inside Junction: the doors that are not WAMP connections (the HTTP
//! publisher, caller and webhook paths; pollers, which publish their topics and answer their
//! snapshot and polls procedures; dynamic authorization calling an authorizer) act through one
//! of these, joined to a realm with a configured role, so permissions and routing apply exactly
//! as for a client.

use std::sync::Arc;
use std::time::Duration;

use crate::router::error::WampError;
use crate::router::peer::{Inbox, Outbound, Outgoing, Peer};
use crate::router::realm::Realm;
use crate::wamp::error as uri_error;
use crate::wamp::id::{self, Id};
use crate::wamp::message::{Message, Payload};
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, Value};

/// An internal session that publishes. It never subscribes, so nothing is ever queued for it.
pub struct InternalPublisher {
    realm: Arc<Realm>,
    peer: Peer,
}

impl InternalPublisher {
    pub fn new(realm: Arc<Realm>, role: &str, authid: &str) -> InternalPublisher {
        let (outbound, _) = Outbound::new(1);
        let peer = internal_peer(role, authid, outbound);
        InternalPublisher { realm, peer }
    }

    pub fn publish(&self, options: &Dict, topic: &str, payload: &Payload) -> Result<Id, WampError> {
        self.realm.publish(&self.peer, options, topic, payload)
    }

    /// Publishes `payload` while `retained` becomes the topic's retained event (see
    /// [`Realm::publish_retaining`]).
    pub fn publish_retaining(
        &self,
        topic: &str,
        payload: &Payload,
        retained: &Payload,
    ) -> Result<Id, WampError> {
        self.realm
            .publish_retaining(&self.peer, &Dict::new(), topic, payload, Some(retained))
    }

    /// A publication of `payload` to `topic`, checked and built but not delivered (see
    /// [`Realm::prepare_publication`]).
    pub fn prepare(
        &self,
        topic: &str,
        payload: &Payload,
    ) -> Result<crate::router::backplane::OwnedPublication, WampError> {
        self.realm
            .prepare_publication(&self.peer, &Dict::new(), topic, payload)
    }

    /// Makes `payload` the retained event of `topic` without delivering it.
    pub fn set_retained(&self, topic: &str, payload: &Payload) -> Result<(), WampError> {
        self.realm.set_retained(&self.peer, topic, payload)
    }
}

fn internal_peer(role: &str, authid: &str, outbound: Arc<Outbound>) -> Peer {
    Peer {
        session: id::random_id(),
        authid: authid.to_owned(),
        authrole: role.to_owned(),
        serialization: Serialization::Json,
        outbound,
        internal: true,
        features: Default::default(),
        node: None,
    }
}

/// An INVOCATION of an internal procedure, as its handler sees it.
#[derive(Debug)]
pub struct InternalInvocation {
    /// The procedure as registered.
    pub procedure: String,
    /// The procedure called: for a prefix or wildcard registration the caller's URI
    /// (INVOCATION.Details.procedure), else the registered one.
    pub called: String,
    /// The caller's role (always disclosed to internal callees), so the handler can check the
    /// caller's own permissions on what it asks about.
    pub caller_authrole: String,
    /// The caller's authid (disclosed to internal callees like the role).
    pub caller_authid: String,
    pub payload: Payload,
}

/// An internal session that registers procedures and answers their invocations with a
/// handler. It leaves the realm (unregistering everything) when dropped.
pub struct InternalCallee {
    realm: Arc<Realm>,
    peer: Arc<Peer>,
    rx: Inbox,
    procedures: std::collections::HashMap<Id, String>,
}

impl InternalCallee {
    pub fn new(realm: Arc<Realm>, role: &str, authid: &str) -> InternalCallee {
        let (outbound, rx) = Outbound::new(1024);
        let peer = Arc::new(internal_peer(role, authid, outbound));
        InternalCallee {
            realm,
            peer,
            rx,
            procedures: Default::default(),
        }
    }

    /// Like [`new`](Self::new), for a callee that announces `call_canceling`: a caller's
    /// CANCEL (`kill`, `killnowait`) or a call timeout reaches it as an INTERRUPT, which
    /// [`serve_outcomes`](Self::serve_outcomes) answers by dropping the invocation's task.
    pub fn with_call_canceling(realm: Arc<Realm>, role: &str, authid: &str) -> InternalCallee {
        let (outbound, rx) = Outbound::new(1024);
        let mut peer = internal_peer(role, authid, outbound);
        peer.features.callee_call_canceling = true;
        InternalCallee {
            realm,
            peer: Arc::new(peer),
            rx,
            procedures: Default::default(),
        }
    }

    /// Registers `procedure` (checked and authorized like a client's REGISTER).
    pub fn register(&mut self, procedure: &str) -> Result<Id, WampError> {
        self.register_with(procedure, &Dict::new())
    }

    /// Registers `procedure` with REGISTER options (`match`, `concurrency`, ...).
    pub fn register_with(&mut self, procedure: &str, options: &Dict) -> Result<Id, WampError> {
        let registration = self.realm.register(&self.peer, 1, procedure, options)?;
        self.procedures.insert(registration, procedure.to_owned());
        Ok(registration)
    }

    /// Answers invocations until the task is aborted. `handler` runs inline: it must be quick
    /// and must not block.
    pub async fn serve<H>(self, handler: H)
    where
        H: Fn(InternalInvocation) -> Result<Payload, WampError>,
    {
        self.serve_async(move |invocation| std::future::ready(handler(invocation)))
            .await
    }

    /// Like [`serve`](Self::serve), with a handler that may wait (on the cluster): each
    /// invocation is answered from a task of its own, so a slow answer holds up no other.
    pub async fn serve_async<H, F>(self, handler: H)
    where
        H: Fn(InternalInvocation) -> F,
        F: std::future::Future<Output = Result<Payload, WampError>> + Send + 'static,
    {
        self.serve_outcomes(move |invocation| {
            let answer = handler(invocation);
            async move {
                match answer.await {
                    Ok(result) => CallOutcome::Result(result),
                    Err(e) => e.into(),
                }
            }
        })
        .await
    }

    /// Like [`serve_async`](Self::serve_async), with a handler that answers with any error
    /// URI and payload. An INTERRUPT (see [`with_call_canceling`](Self::with_call_canceling))
    /// drops the invocation's task and answers `wamp.error.canceled`.
    pub async fn serve_outcomes<H, F>(mut self, handler: H)
    where
        H: Fn(InternalInvocation) -> F,
        F: std::future::Future<Output = CallOutcome> + Send + 'static,
    {
        let session = self.peer.session;
        let running: Running = Default::default();
        while let Some(item) = self.rx.recv().await {
            let Outgoing::Message(frame) = item else {
                continue;
            };
            let (request, registration, details, payload) = match Serialization::Json.decode(&frame)
            {
                Ok(Message::Invocation {
                    request,
                    registration,
                    details,
                    payload,
                }) => (request, registration, details, payload),
                Ok(Message::Interrupt { request, .. }) => {
                    interrupt(&self.realm, session, request, &running);
                    continue;
                }
                _ => continue, // REGISTERED and the like
            };
            let Some(procedure) = self.procedures.get(&registration).cloned() else {
                continue;
            };
            let detail = |key: &str| {
                details
                    .get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let called = details
                .get("procedure")
                .and_then(|v| v.as_str())
                .map_or_else(|| procedure.clone(), str::to_owned);
            let invocation = InternalInvocation {
                procedure,
                called,
                caller_authrole: detail("caller_authrole"),
                caller_authid: detail("caller_authid"),
                payload,
            };
            let answer = handler(invocation);
            let realm = Arc::clone(&self.realm);
            let done = Arc::clone(&running);
            let respond = async move {
                let outcome = answer.await;
                done.lock().remove(&request);
                answer_invocation(&realm, session, request, outcome);
            };
            let mut respond = Box::pin(respond);
            // Answered now when the handler had its answer ready (no task, no reordering).
            let waker = futures_util::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            if respond.as_mut().poll(&mut cx).is_pending() {
                // Locked across the spawn, so a task that ends at once finds its entry to remove.
                let mut tasks = running.lock();
                tasks.insert(request, tokio::spawn(respond).abort_handle());
            }
        }
        for (_, task) in running.lock().drain() {
            task.abort();
        }
    }
}

/// The tasks answering invocations, by INVOCATION request id.
type Running = Arc<parking_lot::Mutex<std::collections::HashMap<Id, tokio::task::AbortHandle>>>;

/// An INTERRUPT: the invocation's task is dropped (with it any request it was waiting on) and
/// the call answered `wamp.error.canceled` (ignored by the router when it answered already).
fn interrupt(realm: &Realm, session: Id, request: Id, running: &Running) {
    let Some(task) = running.lock().remove(&request) else {
        return; // answered already
    };
    task.abort();
    let outcome = WampError::new(uri_error::CANCELED, "the call was canceled").into();
    answer_invocation(realm, session, request, outcome);
}

/// YIELD or ERROR for an invocation.
fn answer_invocation(realm: &Realm, session: Id, request: Id, outcome: CallOutcome) {
    match outcome {
        CallOutcome::Result(result) => {
            let _ = realm.yield_result(session, request, &Dict::new(), result);
        }
        CallOutcome::Error { error, payload } => {
            realm.invocation_error(session, request, error, payload);
        }
    }
}

impl Drop for InternalCallee {
    fn drop(&mut self) {
        self.realm.leave(self.peer.session, []);
    }
}

/// How a call ended: the callee's result, or a WAMP error with its payload.
#[derive(Debug, PartialEq)]
pub enum CallOutcome {
    Result(Payload),
    Error { error: String, payload: Payload },
}

impl From<WampError> for CallOutcome {
    fn from(e: WampError) -> Self {
        CallOutcome::Error {
            error: e.uri.to_owned(),
            payload: Payload {
                args: Some(vec![e.message.into()]),
                kwargs: None,
            },
        }
    }
}

/// Calls `procedure` as a one-shot internal session of `role`, waiting at most `timeout`.
/// On timeout the call is withdrawn from the dealer (a late YIELD is then ignored).
pub async fn call(
    realm: &Arc<Realm>,
    role: &str,
    authid: &str,
    procedure: &str,
    payload: Payload,
    timeout: Duration,
) -> CallOutcome {
    let (outbound, mut rx) = Outbound::new(4);
    let peer = Arc::new(internal_peer(role, authid, outbound));
    const REQUEST: Id = 1;
    let outcome = match realm.call(&peer, REQUEST, &Dict::new(), procedure, payload) {
        Err(e) => e.into(),
        Ok(_) => match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some(Outgoing::Message(frame))) => match Serialization::Json.decode(&frame) {
                Ok(Message::Result { payload, .. }) => CallOutcome::Result(payload),
                Ok(Message::Error { error, payload, .. }) => CallOutcome::Error { error, payload },
                _ => WampError::new(uri_error::CANCELED, "unexpected answer to an internal call")
                    .into(),
            },
            Ok(_) => WampError::new(uri_error::CANCELED, "call ended without an answer").into(),
            Err(_) => WampError::new(
                uri_error::TIMEOUT,
                format!(
                    "no answer from the callee within {} ms",
                    timeout.as_millis()
                ),
            )
            .into(),
        },
    };
    realm.leave(peer.session, []);
    outcome
}

/// An internal session that subscribes to one topic (the admin dashboard's live tail) and
/// hands out its events. Its queue is bounded like a client's: a reader that falls behind is
/// closed as a slow consumer (see [`InternalSubscriber::closed`]), never blocking a publisher.
/// It leaves the realm (unsubscribing) when dropped.
pub struct InternalSubscriber {
    realm: Arc<Realm>,
    peer: Arc<Peer>,
    rx: Inbox,
    subscription: Id,
    topic: String,
}

/// One event, as an internal subscriber receives it.
#[derive(Debug)]
pub struct ReceivedEvent {
    pub publication: Id,
    /// The topic published to (for a pattern subscription, the publication's own topic).
    pub topic: String,
    pub payload: Payload,
    /// A topic's retained event, sent first to a subscription made with `get_retained`.
    pub retained: bool,
}

impl InternalSubscriber {
    /// Subscribes to `topic` with `options` (e.g. `match`, `get_retained`) as `role`, checked
    /// and authorized like a client's SUBSCRIBE; at most `capacity` events wait for the
    /// reader. In a cluster, the other nodes' publications reach it as they reach a client's
    /// subscription: the interest is set up on the cluster first.
    pub async fn subscribe(
        realm: Arc<Realm>,
        role: &str,
        authid: &str,
        topic: &str,
        options: &Dict,
        capacity: usize,
    ) -> Result<InternalSubscriber, WampError> {
        if let Some(backplane) = realm.backplane() {
            let policy = crate::router::realm::match_policy(options)?;
            let get_retained = options.get("get_retained") == Some(&Value::Bool(true));
            backplane.subscribe(topic, policy, get_retained).await?;
        }
        let (outbound, rx) = Outbound::new(capacity);
        let peer = Arc::new(internal_peer(role, authid, outbound));
        let subscription = realm.subscribe(&peer, 1, topic, options);
        let subscription = match subscription {
            Ok(subscription) => subscription,
            Err(e) => {
                crate::router::cluster_step::subscribe_failed(&realm, topic, options);
                realm.leave(peer.session, []);
                return Err(e);
            }
        };
        Ok(InternalSubscriber {
            realm,
            peer,
            rx,
            subscription,
            topic: topic.to_owned(),
        })
    }

    /// The next event; `None` once the session was closed (a slow reader).
    pub async fn next(&mut self) -> Option<ReceivedEvent> {
        loop {
            // Closed wins over what is still queued: the reader was too slow.
            let item = tokio::select! {
                biased;
                _ = self.peer.outbound.closer().closed() => return None,
                item = self.rx.recv() => item?,
            };
            let Outgoing::Message(frame) = item else {
                return None;
            };
            if let Ok(Message::Event {
                publication,
                details,
                payload,
                ..
            }) = Serialization::Json.decode(&frame)
            {
                let topic = details
                    .get("topic")
                    .and_then(|t| t.as_str())
                    .map_or_else(|| self.topic.clone(), str::to_owned);
                let retained = details.get("retained") == Some(&Value::Bool(true));
                return Some(ReceivedEvent {
                    publication,
                    topic,
                    payload,
                    retained,
                });
            }
            // SUBSCRIBED and the like: not events.
        }
    }
}

impl Drop for InternalSubscriber {
    fn drop(&mut self) {
        self.realm.leave(self.peer.session, [self.subscription]);
    }
}

/// Answers a meta procedure (`wamp.session.*`, `wamp.subscription.*`, `wamp.registration.*`)
/// for an internal session of the trusted role, as the meta API answers a client: the
/// operator's tools see and do what the meta API offers, through the same code.
pub fn meta_call(realm: &Realm, procedure: &str, payload: &Payload) -> Result<Payload, WampError> {
    let (outbound, _) = Outbound::new(1);
    let peer = internal_peer(crate::router::authorize::TRUSTED_ROLE, "junction", outbound);
    realm.meta_call(&peer, procedure, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Router;

    fn realm() -> Arc<Realm> {
        let config = crate::config::load_str(
            r#"{"version": 2, "workers": [{"type": "router", "realms": [{"name": "realm1",
                "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix",
                "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]}]}],
                "transports": []}]}"#,
        )
        .unwrap();
        Router::new(&config).realm("realm1").unwrap()
    }

    fn payload(n: u64) -> Payload {
        Payload {
            args: Some(vec![Value::from(n)]),
            kwargs: None,
        }
    }

    #[tokio::test]
    async fn a_subscriber_gets_events_and_a_slow_one_is_dropped() {
        let realm = realm();
        let publisher = InternalPublisher::new(Arc::clone(&realm), "anonymous", "p");
        let mut options = Dict::new();
        options.insert("match".into(), Value::from("prefix"));
        let trusted = crate::router::authorize::TRUSTED_ROLE;
        let mut tail =
            InternalSubscriber::subscribe(Arc::clone(&realm), trusted, "t", "com.a", &options, 2)
                .await
                .unwrap();
        publisher
            .publish(&Dict::new(), "com.a.b", &payload(1))
            .unwrap();
        let event = tail.next().await.unwrap();
        assert_eq!(
            (event.topic.as_str(), event.payload),
            ("com.a.b", payload(1))
        );
        // Three events for a queue of two: the reader is closed, the publisher never waits.
        for n in 0..3 {
            publisher
                .publish(&Dict::new(), "com.a.c", &payload(n))
                .unwrap();
        }
        assert!(tail.next().await.is_none(), "a slow reader is dropped");
        assert!(realm.has_subscribers("com.a"));
        drop(tail);
        assert!(!realm.has_subscribers("com.a"), "dropping it unsubscribes");
    }
}
