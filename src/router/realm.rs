//! A realm: its authorizer, broker and dealer, and the checked operations a session performs
//! in it (URI rules, permissions, then routing).
//!
//! Every door (WebSocket sessions now; pusher, webhook and poller sessions later) goes through
//! these methods, so authorization and routing behave the same whatever the way in.
//! Locks are held only while tables change or frames are queued; never across socket writes.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::config::{RealmConfig, UriCheck};
use crate::router::authorize::{Action, Authorizer, Decision};
use crate::router::broker::{Audience, Broker, Publication};
use crate::router::dealer::{Dealer, Invocation, InvokePolicy, RegisterRefusal};
use crate::router::delivery::{answer_caller, check_receivable, push, reply, unreceivable};
use crate::router::error::{WampError, error_message};
use crate::router::history::EventHistory;
use crate::router::peer::{Awaited, Outgoing, Peer};
use crate::router::persist::RealmStorage;
use crate::router::sessions::{JoinedSession, SessionTable};
use crate::store::Store;
use crate::wamp::error as uri_error;
use crate::wamp::id::{self, Id};
use crate::wamp::message::{self, Message, Payload};
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
    pub(crate) sessions: SessionTable,
    /// `store.event-history` buffers; `None` when the realm has no rules (see history.rs).
    pub(crate) history: Option<EventHistory>,
    /// Where retained events, history and poller state are kept (see persist.rs).
    pub(crate) storage: RealmStorage,
    /// Bumped on every subscribe, so an idle poller (not `alwaysOn`) wakes up when its first
    /// subscriber arrives instead of checking on a timer.
    subscribed: watch::Sender<u64>,
}

impl Realm {
    /// A realm on a fresh memory store: nothing it retains or records outlives it.
    pub fn new(config: &RealmConfig) -> Realm {
        Realm::with_storage(config, RealmStorage::memory())
    }

    /// A realm on `store`: what an earlier run kept there is loaded, and when the store is
    /// durable, what the realm retains or records from now on is written to it.
    pub fn open(config: &RealmConfig, store: Arc<dyn Store>) -> Result<Realm, String> {
        let realm = Realm::with_storage(config, RealmStorage::new(&config.name, store)?);
        realm.load_events().map_err(|e| e.to_string())?;
        Ok(realm)
    }

    fn with_storage(config: &RealmConfig, storage: RealmStorage) -> Realm {
        Realm {
            name: config.name.clone(),
            strict_uris: config.uri_check == UriCheck::Strict,
            meta_api: config.meta_api,
            authorizer: Authorizer::new(&config.roles),
            broker: RwLock::new(Broker::with_retained_sink(storage.retained_sink())),
            dealer: Mutex::default(),
            sessions: SessionTable::default(),
            history: EventHistory::new(&config.event_history),
            storage,
            subscribed: watch::Sender::new(0),
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.authorizer.has_role(role)
    }

    /// The authorizer procedure of `role`, when the role is dynamically authorized.
    pub fn authorizer_of(&self, role: &str) -> Option<&str> {
        self.authorizer.authorizer_of(role)
    }

    /// Whether the caller's CALL `request` continues a progressive call invocation (it was
    /// authorized when it began).
    pub fn continues_progressive_call(&self, caller: Id, request: Id) -> bool {
        self.dealer.lock().is_progressive_open(caller, request)
    }

    /// Whether `role` may perform `action` on `uri` (internal procedures check their caller).
    pub fn is_allowed(&self, role: &str, uri: &str, action: Action) -> bool {
        self.authorizer.authorize(role, uri, action).allowed
    }

    /// Whether any session is subscribed to `topic` (exactly or by a pattern).
    pub fn has_subscribers(&self, topic: &str) -> bool {
        self.broker.read().has_subscribers(topic)
    }

    /// Changes after every subscribe; see the field.
    pub fn subscriptions_changed(&self) -> watch::Receiver<u64> {
        self.subscribed.subscribe()
    }

    /// Drops the retained event of `topic`, so late subscribers of a deleted poller topic do
    /// not get its last snapshot.
    pub fn forget_retained(&self, topic: &str) {
        self.broker.read().forget_retained(topic);
    }

    /// Replaces the retained event of `topic` without delivering it to anyone: a poller keeps
    /// its full snapshot retained while it publishes patches. Checked like a publish.
    pub fn set_retained(
        &self,
        peer: &Peer,
        topic: &str,
        payload: &Payload,
    ) -> Result<(), WampError> {
        self.check_uri(topic, MatchPolicy::Exact)?;
        self.authorize(peer, topic, Action::Publish)?;
        let publication = Publication {
            id: id::random_id(),
            topic,
            details: Dict::new(),
            payload,
            audience: Audience::default(),
        };
        self.broker.read().retain(&publication);
        Ok(())
    }

    /// A client session joins: it is listed for the session meta API and `on_join` is
    /// published.
    pub fn join(&self, joined: JoinedSession) -> Arc<JoinedSession> {
        let joined = Arc::new(joined);
        self.sessions.insert(Arc::clone(&joined));
        self.published_join(&joined);
        joined
    }

    /// Removes everything a leaving session owned; callers waiting on it get an ERROR, callees
    /// still receiving its progressive call an INTERRUPT; then its testaments and `on_leave`
    /// are published. Leaving twice (a killed session's transport closing) does nothing more.
    pub fn leave(&self, session: Id, subscriptions: impl IntoIterator<Item = Id>) {
        let joined = self.sessions.remove(session);
        let mut unsubscribed = Vec::new();
        {
            let mut broker = self.broker.write();
            for subscription in subscriptions {
                if let Some(deleted) = broker.unsubscribe(session, subscription) {
                    unsubscribed.push((subscription, deleted));
                }
            }
        }
        let removal = self.dealer.lock().remove_session(session);
        for invocation in removal.orphaned {
            let error = error_message(
                message::CALL,
                invocation.caller_request,
                uri_error::CANCELED,
                "callee disconnected from in-flight call",
            );
            reply(&invocation.caller, &error);
        }
        for (id, invocation, callee) in removal.abandoned {
            if invocation.progressive {
                push(&callee, &interrupt(id, uri_error::CANCELED, "killnowait"));
            }
        }
        for (subscription, deleted) in unsubscribed {
            self.published_unsubscribe(session, subscription, deleted);
        }
        for registration in removal.unregistered {
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
                        "testament not published: {}",
                        crate::log_text::peer_text(&e.message)
                    );
                }
            }
            self.published_leave(&joined.peer);
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

    /// Subscribes `peer` and queues SUBSCRIBED (and, with `get_retained`, the retained events)
    /// while the broker is locked, so no live EVENT can reach the client before SUBSCRIBED.
    pub fn subscribe(
        &self,
        peer: &Arc<Peer>,
        request: Id,
        topic: &str,
        options: &Dict,
    ) -> Result<Id, WampError> {
        let policy = match_policy(options)?;
        let get_retained = bool_option(options, "get_retained")?.unwrap_or(false);
        forward_for(options)?;
        self.check_uri(topic, policy)?;
        self.authorize(peer, topic, Action::Subscribe)?;
        let mut broker = self.broker.write();
        let subscribed = broker.subscribe(peer, topic, policy);
        let subscription = subscribed.id;
        reply(
            peer,
            &Message::Subscribed {
                request,
                subscription,
            },
        );
        if get_retained {
            broker.replay_retained(peer, subscription);
        }
        drop(broker);
        self.subscribed.send_modify(|n| *n = n.wrapping_add(1));
        self.published_subscribe(peer.session, subscribed);
        Ok(subscription)
    }

    pub fn unsubscribe(&self, session: Id, subscription: Id) -> Result<(), WampError> {
        let removed = self.broker.write().unsubscribe(session, subscription);
        match removed {
            Some(deleted) => {
                self.published_unsubscribe(session, subscription, deleted);
                Ok(())
            }
            None => Err(WampError::new(
                uri_error::NO_SUCH_SUBSCRIPTION,
                format!("no subscription {subscription} for this session"),
            )),
        }
    }

    /// Publishes and returns the publication id.
    pub fn publish(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
    ) -> Result<Id, WampError> {
        self.publish_retaining(peer, options, topic, payload, None)
    }

    /// Publishes `payload` and, under the same broker lock, makes `retained` the topic's
    /// retained event: a poller publishes a patch while its new full snapshot becomes what
    /// late subscribers get, and no subscriber can see the old snapshot without the patch.
    pub fn publish_retaining(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
        retained: Option<&Payload>,
    ) -> Result<Id, WampError> {
        let decision = self.check_publish(peer, topic)?;
        self.publish_decided(peer, options, topic, payload, retained, decision)
    }

    /// Publishes what [`Realm::check_publish`] allowed with `decision` (a testament is
    /// checked when added and published when its session is gone).
    fn publish_decided(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
        retained: Option<&Payload>,
        decision: Decision,
    ) -> Result<Id, WampError> {
        let mut details = Dict::new();
        if disclose(decision, options)? {
            details.insert("publisher".into(), Value::from(peer.session));
            details.insert("publisher_authid".into(), Value::from(peer.authid.as_str()));
            details.insert(
                "publisher_authrole".into(),
                Value::from(peer.authrole.as_str()),
            );
        }
        let id = id::random_id();
        let publication = Publication {
            id,
            topic,
            details,
            payload,
            audience: audience(peer, options)?,
        };
        let retain = bool_option(options, "retain")?.unwrap_or(false);
        // All or nothing: a publication that a MessagePack subscriber could not receive
        // (integers beyond 64 bits) reaches nobody, and the publisher hears why. (A
        // MessagePack session subscribing between this check and the delivery below is
        // skipped, with a warning in the log.)
        if payload.has_bigint()
            && self
                .broker
                .read()
                .reaches(&publication, |peer| !peer.serialization.carries_bigints())
        {
            return Err(unreceivable("a subscriber"));
        }
        if let Some(history) = &self.history {
            history.record(&publication, self.storage.writer());
        }
        // Deliver and retain under one read lock: a subscription made meanwhile gets either
        // the live event or the retained one.
        let broker = self.broker.read();
        broker.publish(&publication);
        if let Some(retained) = retained {
            broker.retain(&Publication {
                payload: retained,
                ..publication
            });
            return Ok(id);
        }
        if retain {
            broker.retain(&publication);
        }
        Ok(id)
    }

    /// The checks of a PUBLISH to `topic` by `peer`: a valid URI outside `wamp.*`, and the
    /// permission (whose decision also says whether the publisher is disclosed).
    pub(crate) fn check_publish(&self, peer: &Peer, topic: &str) -> Result<Decision, WampError> {
        self.check_uri(topic, MatchPolicy::Exact)?;
        if uri::is_reserved(topic) {
            return Err(WampError::new(
                uri_error::INVALID_URI,
                format!("\"{topic}\" is reserved for the router"),
            ));
        }
        self.authorize(peer, topic, Action::Publish)
    }

    /// Registers `peer` and queues REGISTERED while the dealer is locked, so no INVOCATION can
    /// reach the callee before REGISTERED.
    pub fn register(
        &self,
        peer: &Arc<Peer>,
        request: Id,
        procedure: &str,
        options: &Dict,
    ) -> Result<Id, WampError> {
        let policy = match_policy(options)?;
        self.check_uri(procedure, policy)?;
        if uri::is_reserved(procedure) {
            return Err(WampError::new(
                uri_error::INVALID_URI,
                format!("\"{procedure}\" is reserved for the router"),
            ));
        }
        let invoke = match options.get("invoke") {
            None | Some(Value::Null) => InvokePolicy::Single,
            Some(Value::String(name)) => InvokePolicy::parse(name).ok_or_else(|| {
                WampError::new(
                    uri_error::INVALID_ARGUMENT,
                    format!(
                        "unknown invocation policy \"{name}\" (single, roundrobin, random, first or last)"
                    ),
                )
            })?,
            Some(_) => {
                return Err(WampError::new(
                    uri_error::PROTOCOL_VIOLATION,
                    "REGISTER.Options.invoke must be a string",
                ));
            }
        };
        self.authorize(peer, procedure, Action::Register)?;
        let mut dealer = self.dealer.lock();
        let registered = match dealer.register(peer, procedure, policy, invoke) {
            Ok(registered) => registered,
            Err(RegisterRefusal::AlreadyExists) => {
                return Err(WampError::new(
                    uri_error::PROCEDURE_ALREADY_EXISTS,
                    format!(
                        "procedure \"{procedure}\" ({}) is already registered",
                        policy.name()
                    ),
                ));
            }
            Err(RegisterRefusal::DifferentPolicy(existing)) => {
                return Err(WampError::new(
                    uri_error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
                    format!(
                        "procedure \"{procedure}\" is registered with invocation policy \"{}\", not \"{}\"",
                        existing.name(),
                        invoke.name()
                    ),
                ));
            }
        };
        reply(
            peer,
            &Message::Registered {
                request,
                registration: registered.id,
            },
        );
        drop(dealer);
        self.published_register(peer.session, registered);
        Ok(registered.id)
    }

    pub fn unregister(&self, session: Id, registration: Id) -> Result<(), WampError> {
        let removed = self.dealer.lock().unregister(session, registration);
        match removed {
            Some(deleted) => {
                self.published_unregister(session, registration, deleted);
                Ok(())
            }
            None => Err(WampError::new(
                uri_error::NO_SUCH_REGISTRATION,
                format!("no registration {registration} for this session"),
            )),
        }
    }

    /// Routes a CALL to its callee as an INVOCATION and returns the invocation id; `None` when
    /// there is no new invocation (the router answered a meta procedure itself, or the CALL
    /// was a later chunk of a progressive call invocation).
    pub fn call(
        &self,
        caller: &Arc<Peer>,
        request: Id,
        options: &Dict,
        procedure: &str,
        payload: Payload,
    ) -> Result<Option<Id>, WampError> {
        let progress = bool_option(options, "progress")?.unwrap_or(false);
        // Only `progress` counts in later chunks: the initiating CALL froze everything else.
        let chunk = self
            .dealer
            .lock()
            .continue_progressive(caller.session, request, progress);
        if let Some(chunk) = chunk {
            let mut details = chunk.details;
            if progress {
                details.insert("progress".into(), Value::Bool(true));
            }
            check_receivable(&chunk.callee, &payload, "the callee")?;
            let message = Message::Invocation {
                request: chunk.invocation,
                registration: chunk.registration,
                details,
                payload,
            };
            push(&chunk.callee, &message);
            return Ok(None);
        }
        self.check_uri(procedure, MatchPolicy::Exact)?;
        let decision = self.authorize(caller, procedure, Action::Call)?;
        if uri::is_reserved(procedure) {
            if !self.meta_api {
                return Err(WampError::new(
                    uri_error::NO_SUCH_PROCEDURE,
                    format!("the meta API is off in realm \"{}\"", self.name),
                ));
            }
            let result = self.meta_call(caller, procedure, &payload)?;
            let message = Message::Result {
                request,
                details: Dict::new(),
                payload: result,
            };
            answer_caller(caller, message);
            return Ok(None);
        }
        let receive_progress = bool_option(options, "receive_progress")?.unwrap_or(false);
        let mut details = Dict::new();
        if disclose(decision, options)? {
            details.insert("caller".into(), Value::from(caller.session));
            details.insert("caller_authid".into(), Value::from(caller.authid.as_str()));
            details.insert(
                "caller_authrole".into(),
                Value::from(caller.authrole.as_str()),
            );
        }
        if receive_progress {
            details.insert("receive_progress".into(), Value::Bool(true));
        }
        let (callee, registration, invocation, details) = {
            let mut dealer = self.dealer.lock();
            let Some(routed) = dealer.route(procedure) else {
                return Err(WampError::new(
                    uri_error::NO_SUCH_PROCEDURE,
                    format!("no callee registered for procedure \"{procedure}\""),
                ));
            };
            check_receivable(&routed.callee, &payload, "the callee")?;
            if progress && !routed.callee.features.callee_progressive_call_invocations {
                return Err(WampError::new(
                    uri_error::FEATURE_NOT_SUPPORTED,
                    format!(
                        "the callee of \"{procedure}\" did not announce progressive_call_invocations"
                    ),
                ));
            }
            if routed.policy != MatchPolicy::Exact {
                details.insert("procedure".into(), Value::from(procedure));
            }
            if routed.callee.internal && !details.contains_key("caller_authrole") {
                details.insert("caller".into(), Value::from(caller.session));
                details.insert("caller_authid".into(), Value::from(caller.authid.as_str()));
                details.insert(
                    "caller_authrole".into(),
                    Value::from(caller.authrole.as_str()),
                );
            }
            let invocation = dealer.start_invocation(
                Invocation {
                    caller: Arc::clone(caller),
                    awaited: Awaited::new(&caller.outbound, &routed.callee.outbound),
                    caller_request: request,
                    callee: routed.callee.session,
                    receive_progress,
                    progressive: progress,
                    registration: routed.registration,
                    details: if progress {
                        details.clone()
                    } else {
                        Dict::new()
                    },
                },
                Arc::clone(&routed.callee),
            );
            (routed.callee, routed.registration, invocation, details)
        };
        let mut details = details;
        if progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        let message = Message::Invocation {
            request: invocation,
            registration,
            details,
            payload,
        };
        push(&callee, &message);
        Ok(Some(invocation))
    }

    /// A callee's YIELD: a RESULT to the caller (progressive when `progress` and asked for).
    pub fn yield_result(
        &self,
        callee: Id,
        request: Id,
        options: &Dict,
        payload: Payload,
    ) -> Result<(), WampError> {
        let progress = bool_option(options, "progress")?.unwrap_or(false);
        let (caller, caller_request, receivable) = {
            let mut dealer = self.dealer.lock();
            // The spec: a YIELD for an unknown invocation (caller gone) is ignored.
            let Some(invocation) = dealer.invocation(callee, request) else {
                return Ok(());
            };
            if progress && !invocation.receive_progress {
                return Ok(());
            }
            // A result the caller cannot receive (integers beyond 64 bits to MessagePack)
            // ends the call with an ERROR, even a progressive one: what follows is ignored.
            let receivable = check_receivable(&invocation.caller, &payload, "the caller");
            if progress && receivable.is_ok() {
                (
                    Arc::clone(&invocation.caller),
                    invocation.caller_request,
                    receivable,
                )
            } else {
                let Some(finished) = dealer.finish_invocation(callee, request) else {
                    return Ok(());
                };
                (finished.caller, finished.caller_request, receivable)
            }
        };
        let message = match receivable {
            Ok(()) => {
                let mut details = Dict::new();
                if progress {
                    details.insert("progress".into(), Value::Bool(true));
                }
                Message::Result {
                    request: caller_request,
                    details,
                    payload,
                }
            }
            Err(e) => error_message(message::CALL, caller_request, e.uri, &e.message),
        };
        // Progressive results stream from the callee: a caller that does not read them is a
        // slow consumer like any other; the final one answers its CALL.
        if progress {
            push(&caller, &message);
        } else {
            reply(&caller, &message);
        }
        Ok(())
    }

    /// A caller's CANCEL (`mode`: `skip`, the default, answers the caller at once and lets the
    /// callee finish unseen; `kill` interrupts the callee and forwards its ERROR; `killnowait`
    /// interrupts it and answers the caller at once). A call already answered is ignored. A
    /// callee that did not announce `call_canceling` gets no INTERRUPT: every mode is `skip`.
    pub fn cancel(&self, caller: Id, request: Id, options: &Dict) -> Result<(), WampError> {
        let mode = match options.get("mode") {
            None | Some(Value::Null) => "skip",
            Some(Value::String(mode))
                if ["skip", "kill", "killnowait"].contains(&mode.as_str()) =>
            {
                mode.as_str()
            }
            Some(other) => {
                return Err(WampError::new(
                    uri_error::INVALID_ARGUMENT,
                    format!("CANCEL mode must be skip, kill or killnowait, not {other:?}"),
                ));
            }
        };
        let text = "call canceled by the caller";
        self.end_call(caller, request, None, mode, uri_error::CANCELED, text);
        Ok(())
    }

    /// A call whose `timeout` ran out: the caller gets `wamp.error.timeout` and the callee an
    /// INTERRUPT (as `killnowait`).
    /// `invocation` is the id [`Realm::call`] returned, so a timer cannot end a later call
    /// that reuses the request id.
    pub fn time_out_call(&self, caller: Id, request: Id, invocation: Id, timeout_ms: u64) {
        let message = format!("no result within the call timeout of {timeout_ms} ms");
        let expected = Some(invocation);
        self.end_call(
            caller,
            request,
            expected,
            "killnowait",
            uri_error::TIMEOUT,
            &message,
        );
    }

    fn end_call(
        &self,
        caller: Id,
        request: Id,
        expected: Option<Id>,
        mode: &str,
        error: &'static str,
        text: &str,
    ) {
        let mut dealer = self.dealer.lock();
        let Some((invocation_id, callee)) = dealer.find_call(caller, request) else {
            return;
        };
        if expected.is_some_and(|id| id != invocation_id) {
            return;
        }
        let mode = if callee.features.callee_call_canceling {
            mode
        } else {
            "skip"
        };
        if mode != "skip" {
            push(&callee, &interrupt(invocation_id, error, mode));
        }
        if mode == "kill" {
            return; // the callee's ERROR (or YIELD) ends the call
        }
        if let Some(invocation) = dealer.remove_invocation(invocation_id) {
            drop(dealer);
            let message = error_message(message::CALL, invocation.caller_request, error, text);
            reply(&invocation.caller, &message);
        }
    }

    /// A callee's ERROR for an INVOCATION, forwarded to the caller with its args and kwargs.
    pub fn invocation_error(&self, callee: Id, request: Id, error: String, payload: Payload) {
        let Some(invocation) = self.dealer.lock().finish_invocation(callee, request) else {
            return;
        };
        let message = Message::Error {
            request_type: message::CALL,
            request: invocation.caller_request,
            details: Dict::new(),
            error,
            payload,
        };
        answer_caller(&invocation.caller, message);
    }
}

/// An INTERRUPT for a callee's invocation.
fn interrupt(invocation: Id, reason: &str, mode: &str) -> Message {
    let mut options = Dict::new();
    options.insert("reason".into(), Value::from(reason));
    options.insert("mode".into(), Value::from(mode));
    Message::Interrupt {
        request: invocation,
        options,
    }
}

fn match_policy(options: &Dict) -> Result<MatchPolicy, WampError> {
    MatchPolicy::from_options(options).ok_or_else(|| {
        protocol_violation(
            "option \"match\" must be one of \"exact\", \"prefix\", \"wildcard\"".to_owned(),
        )
    })
}

fn string_option(options: &Dict, key: &str) -> Result<(), WampError> {
    match options.get(key) {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a string"
        ))),
    }
}

/// `forward_for` (router-to-router links): Junction does not act on it, but checks its shape
/// as the spec's test vectors require.
fn forward_for(options: &Dict) -> Result<(), WampError> {
    match options.get("forward_for") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::List(hops)) if hops.iter().all(|h| matches!(h, Value::Dict(_))) => Ok(()),
        Some(_) => Err(protocol_violation(
            "option \"forward_for\" must be a list of dicts".to_owned(),
        )),
    }
}

fn protocol_violation(message: String) -> WampError {
    WampError::new(uri_error::PROTOCOL_VIOLATION, message)
}

fn bool_option(options: &Dict, key: &str) -> Result<Option<bool>, WampError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a boolean"
        ))),
    }
}

fn id_list(options: &Dict, key: &str) -> Result<Option<Vec<Id>>, WampError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(items)) => items
            .iter()
            .map(Value::as_id)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                protocol_violation(format!("option \"{key}\" must be a list of session ids"))
            }),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a list of session ids"
        ))),
    }
}

fn string_list(options: &Dict, key: &str) -> Result<Option<Vec<String>>, WampError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                protocol_violation(format!("option \"{key}\" must be a list of strings"))
            }),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a list of strings"
        ))),
    }
}

/// Junction's disclosure rule: the permission decides when it says so; otherwise the client's
/// `disclose_me`.
fn disclose(decision: Decision, options: &Dict) -> Result<bool, WampError> {
    let asked = bool_option(options, "disclose_me")?.unwrap_or(false);
    Ok(decision.disclose.unwrap_or(asked))
}

fn audience(publisher: &Peer, options: &Dict) -> Result<Audience, WampError> {
    let exclude_me = bool_option(options, "exclude_me")?.unwrap_or(true);
    bool_option(options, "acknowledge")?;
    string_option(options, "transaction_hash")?;
    forward_for(options)?;
    Ok(Audience {
        exclude_session: exclude_me.then_some(publisher.session),
        exclude: id_list(options, "exclude")?.unwrap_or_default(),
        exclude_authid: string_list(options, "exclude_authid")?.unwrap_or_default(),
        exclude_authrole: string_list(options, "exclude_authrole")?.unwrap_or_default(),
        eligible: id_list(options, "eligible")?,
        eligible_authid: string_list(options, "eligible_authid")?,
        eligible_authrole: string_list(options, "eligible_authrole")?,
    })
}
