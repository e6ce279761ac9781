//! One WAMP session's life on a transport: HELLO, authentication, WELCOME, then each request
//! handled against its realm, until GOODBYE, ABORT or the transport goes away.
//!
//! The transport decodes messages and calls [`Session::handle`]; replies go to the session's
//! own outbound queue, waiting for room (backpressure on a client that pipelines requests),
//! while events and invocations from other sessions are pushed without waiting.
//!
//! About 600 lines in one file on purpose: it is one state machine (idle, challenged, joined,
//! closed), read top to bottom; what a request *does* is the realm's (`realm/`), and asking a
//! dynamic authorizer first is `dynamic_authorization`'s.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::Either;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::log_fields;
use crate::log_text::peer_text;
use crate::log_throttle::{Throttle, and_more};
use crate::router::Router;
use crate::router::auth::{
    AuthStep, Authenticator, FailedLogins, Identity, Pending, Refusal, dynamic,
};
use crate::router::cluster_step;
use crate::router::dynamic_authorization::{self, DecisionCache};
use crate::router::error::{WampError, error_message};
use crate::router::peer::{ClientFeatures, Outbound, Outgoing, Peer};
use crate::router::realm::{Realm, call_timeout};
use crate::router::session_stats;
use crate::router::session_table::{JoinedSession, TransportInfo};
use crate::wamp::error as uri_error;
use crate::wamp::id::{self, Id};
use crate::wamp::message::{self, Message};
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, Value};

/// Lines a client can cause at will, each kind logged at most once a second (see
/// `log_throttle`): HELLOs refused for too many failed logins, refused logins, HELLOs for a
/// realm that does not exist.
static LOGINS_BLOCKED: Throttle = Throttle::new();
static REFUSED_LOGINS: Throttle = Throttle::new();
static UNKNOWN_REALMS: Throttle = Throttle::new();

/// Whether the transport should keep reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
}

enum State {
    /// Waiting for HELLO (at start and after GOODBYE).
    Idle,
    Challenged {
        realm: Arc<Realm>,
        session: Id,
        pending: Pending,
        features: ClientFeatures,
    },
    Joined(Joined),
    Closed,
}

struct Joined {
    realm: Arc<Realm>,
    peer: Arc<Peer>,
    /// The realm's entry for this session (meta API, testaments, killed).
    entry: Arc<JoinedSession>,
    subscriptions: HashSet<Id>,
    /// Cached answers of the role's authorizer, if the role has one.
    decisions: DecisionCache,
}

pub struct Session {
    router: Arc<Router>,
    authenticator: Arc<Authenticator>,
    serialization: Serialization,
    outbound: Arc<Outbound>,
    state: State,
    /// `transport` in the session's meta API details (type, peer address, ...).
    transport: TransportInfo,
}

impl Session {
    pub fn new(
        router: Arc<Router>,
        authenticator: Arc<Authenticator>,
        serialization: Serialization,
        outbound: Arc<Outbound>,
    ) -> Session {
        outbound.count_as(serialization);
        Session {
            router,
            authenticator,
            serialization,
            outbound,
            state: State::Idle,
            transport: TransportInfo::default(),
        }
    }

    /// Describes the transport for the session meta API (`wamp.session.get`, `on_join`).
    pub fn set_transport(&mut self, transport: TransportInfo) {
        self.transport = transport;
    }

    pub async fn handle(&mut self, msg: Message) -> Flow {
        // Backpressure: a request is handled once its replies have room (see
        // `Outbound::room`); until then the transport reads nothing more from this client.
        // YIELD and ERROR answer invocations and queue nothing for this session: they go on,
        // so a session that calls itself cannot wait on its own answers.
        let answers_invocation = matches!(msg, Message::Yield { .. } | Message::Error { .. });
        // Boxed: rarely waited for, and inline the wait would size every idle task.
        if !answers_invocation && !self.outbound.has_room() && !Box::pin(self.outbound.room()).await
        {
            return Flow::Close;
        }
        match std::mem::replace(&mut self.state, State::Closed) {
            // Boxed: the opening runs once per session, and inline its state would count in
            // every idle session's task (memory per session is a target, see BENCHMARKS.md).
            State::Idle => Box::pin(self.on_idle(msg)).await,
            State::Challenged {
                realm,
                session,
                pending,
                features,
            } => Box::pin(self.on_challenged(msg, realm, session, pending, features)).await,
            State::Joined(joined) => {
                self.state = State::Joined(joined);
                // Boxed: the largest state a connection has (~0.8 KiB), which inline would be
                // reserved in every idle session's task. One short-lived allocation per
                // message (small enough for the allocator's thread cache) costs less than
                // that memory held by every session.
                Box::pin(self.on_joined(msg)).await
            }
            State::Closed => Flow::Close,
        }
    }

    /// Aborts the session for a message that breaks the protocol (also used by the transport
    /// for frames that do not decode).
    /// Decodes one message from the connection, counts it, and handles it; one that does not
    /// decode aborts the session.
    ///
    /// Not an `async fn`: it returns `handle`'s own future, so the connection's task, which
    /// holds it for the session's life, is not made larger by a wrapper's state.
    pub fn receive<'a>(&'a mut self, bytes: &[u8]) -> impl Future<Output = Flow> + Send + 'a {
        match self.serialization.decode(bytes) {
            Ok(msg) => Either::Left(self.handle_received(msg, bytes.len())),
            Err(e) => Either::Right(async move { self.protocol_violation(&e.0).await }),
        }
    }

    /// Counts a message of `len` bytes decoded from the connection, and handles it (`handle`'s
    /// own future, see [`receive`](Self::receive)).
    pub fn handle_received(
        &mut self,
        msg: Message,
        len: usize,
    ) -> impl Future<Output = Flow> + Send + '_ {
        self.outbound.received(msg.code(), len);
        self.handle(msg)
    }

    pub async fn protocol_violation(&mut self, message: &str) -> Flow {
        debug!(
            peer = %log_fields::peer(&self.transport.peer),
            error = %peer_text(message),
            "protocol violation"
        );
        // Boxed: rare, and inline it would grow every session's task (see `handle`).
        Box::pin(self.abort(uri_error::PROTOCOL_VIOLATION, message)).await
    }

    /// The router is shutting down: a joined session gets GOODBYE `wamp.close.system_shutdown`,
    /// then the transport closes ("going away").
    pub async fn shutdown(&mut self) {
        let joined = matches!(self.state, State::Joined(_));
        self.detach();
        if joined {
            let mut details = Dict::new();
            details.insert("message".into(), Value::from("the router is shutting down"));
            let reason = uri_error::CLOSE_SYSTEM_SHUTDOWN.to_owned();
            self.reply(&Message::Goodbye { details, reason }).await;
        }
        let close = Outgoing::Close {
            code: 1001,
            reason: "router shutting down".to_owned(),
        };
        self.outbound.send(close).await;
    }

    /// Leaves the realm, if joined. Called when the transport goes away.
    pub fn detach(&mut self) {
        if let State::Joined(joined) = std::mem::replace(&mut self.state, State::Closed) {
            // The transport is the session's again: a HELLO after GOODBYE is from it too.
            self.transport = joined.entry.transport.clone();
            if let Some(cookie) = &self.transport.cookie {
                cookie.detach(joined.peer.session);
            }
            leave(joined);
        }
    }

    /// GOODBYE `wamp.close.logout` on a cookie-tracked path: the cookie's login is forgotten
    /// and its other sessions are closed, as in Crossbar.
    fn log_out(&self, session: Id) {
        let Some(cookie) = &self.transport.cookie else {
            return;
        };
        for (realm, other) in cookie.forget() {
            if other == session {
                continue;
            }
            if let Some(realm) = self.router.realm(&realm) {
                realm.kill(other, uri_error::CLOSE_LOGOUT, Some("logged out"));
            }
        }
    }

    async fn reply(&self, msg: &Message) {
        let frame = self.serialization.encode(msg);
        self.outbound.send(Outgoing::Message(frame)).await;
    }

    async fn abort(&mut self, reason: &str, message: &str) -> Flow {
        self.detach();
        let mut details = Dict::new();
        details.insert("message".into(), Value::from(message));
        self.reply(&Message::Abort {
            details,
            reason: reason.to_owned(),
        })
        .await;
        self.outbound
            .send(Outgoing::Close {
                code: 1000,
                reason: reason.to_owned(),
            })
            .await;
        Flow::Close
    }

    async fn on_idle(&mut self, msg: Message) -> Flow {
        let Message::Hello { realm, details } = msg else {
            return self
                .protocol_violation(&format!("{} before HELLO", name(&msg)))
                .await;
        };
        let Some(realm) = self.router.realm(&realm) else {
            if let Some(suppressed) = UNKNOWN_REALMS.admit() {
                info!(
                    peer = %log_fields::peer(&self.transport.peer),
                    realm = %peer_text(&realm),
                    "HELLO for an unknown realm{}",
                    and_more(suppressed)
                );
            }
            return self
                .abort(
                    uri_error::NO_SUCH_REALM,
                    &format!("no realm \"{realm}\" on this router"),
                )
                .await;
        };
        if let Some(wait) = self
            .transport
            .ip
            .and_then(|ip| self.authenticator.locked_out(ip))
        {
            if let Some(suppressed) = LOGINS_BLOCKED.admit() {
                warn!(
                    peer = %log_fields::peer(&self.transport.peer),
                    realm = realm.name,
                    "HELLO refused: too many failed logins from this address{}",
                    and_more(suppressed)
                );
            }
            let message = format!(
                "too many failed logins from this address; try again in {} s",
                wait.as_secs().max(1)
            );
            return self.abort(uri_error::AUTHENTICATION_FAILED, &message).await;
        }
        let session = id::random_id();
        let features = ClientFeatures::from_hello(&details);
        if let Some(identity) = self.cookie_login(&realm.name, &details) {
            return self.welcome(realm, session, identity, features).await;
        }
        let client_cert = self.transport.client_cert.as_deref();
        let mut step = self
            .authenticator
            .hello(&realm.name, session, &details, client_cert);
        if let AuthStep::Decide(pending) = step {
            step = dynamic::decide(&self.router, *pending, session, &self.transport).await;
        }
        match step {
            AuthStep::Welcome(identity) => self.welcome(realm, session, identity, features).await,
            AuthStep::Challenge {
                authmethod,
                extra,
                pending,
            } => {
                self.reply(&Message::Challenge {
                    authmethod: authmethod.to_owned(),
                    extra,
                })
                .await;
                self.state = State::Challenged {
                    realm,
                    session,
                    pending,
                    features,
                };
                Flow::Continue
            }
            AuthStep::Abort(refusal) => {
                let (authmethod, authid) = offered(&details);
                self.refuse(refusal, &realm.name, &authid, &authmethod)
                    .await
            }
            // `dynamic::decide` answers with one of the others.
            AuthStep::Decide(_) => {
                let refusal = Refusal {
                    reason: uri_error::AUTHENTICATION_FAILED.into(),
                    message: "the authenticator did not decide".into(),
                };
                let (authmethod, authid) = offered(&details);
                self.refuse(refusal, &realm.name, &authid, &authmethod)
                    .await
            }
        }
    }

    async fn on_challenged(
        &mut self,
        msg: Message,
        realm: Arc<Realm>,
        session: Id,
        pending: Pending,
        features: ClientFeatures,
    ) -> Flow {
        let Message::Authenticate { signature, .. } = msg else {
            return self
                .protocol_violation(&format!("{} while waiting for AUTHENTICATE", name(&msg)))
                .await;
        };
        let (authmethod, authid) = pending.attempt();
        let outcome = match pending {
            Pending::Dynamic(pending) => {
                let ticket = Some(signature.as_str());
                dynamic::authenticate(&self.router, *pending, ticket, session, &self.transport)
                    .await
            }
            pending => pending.authenticate(&signature),
        };
        match outcome {
            Ok(identity) => self.welcome(realm, session, identity, features).await,
            Err(refusal) => self.refuse(refusal, &realm.name, &authid, authmethod).await,
        }
    }

    /// Aborts a login (`authid` and `authmethod` as tried, for the log; never the secret).
    async fn refuse(
        &mut self,
        refusal: Refusal,
        realm: &str,
        authid: &str,
        authmethod: &str,
    ) -> Flow {
        if let Some(ip) = self.transport.ip {
            FailedLogins::global().failed(ip);
        }
        session_stats::login(authmethod, false);
        if let Some(suppressed) = REFUSED_LOGINS.admit() {
            info!(
                peer = %log_fields::peer(&self.transport.peer),
                realm = %peer_text(realm),
                authid = %peer_text(authid),
                authmethod = %peer_text(authmethod),
                reason = %refusal.reason,
                error = %peer_text(&refusal.message),
                "authentication refused{}",
                and_more(suppressed)
            );
        }
        self.abort(&refusal.reason, &refusal.message).await
    }

    /// Cookie auth: the login this connection's cookie remembers for `realm`, when the client
    /// offers `cookie`. A client that no longer offers it logs in afresh, and the cookie's
    /// login is forgotten until then (Crossbar's behaviour).
    fn cookie_login(&self, realm: &str, details: &Dict) -> Option<Identity> {
        let cookie = self.transport.cookie.as_ref()?;
        if !self.authenticator.cookie_auth() {
            return None;
        }
        let offered = match details.get("authmethods") {
            Some(Value::List(methods)) => methods.iter().any(|m| m.as_str() == Some("cookie")),
            _ => false,
        };
        if !offered {
            if cookie.has_login() {
                cookie.forget();
            }
            return None;
        }
        cookie.login(realm)
    }

    async fn welcome(
        &mut self,
        realm: Arc<Realm>,
        session: Id,
        mut identity: Identity,
        features: ClientFeatures,
    ) -> Flow {
        if let Some(cookie) = &self.transport.cookie {
            // Anonymous clients keep one authid per cookie (see `anonymous_authid`).
            if identity.authmethod == "anonymous"
                && identity.authprovider == "static"
                && !self.authenticator.fixed_anonymous_authid()
            {
                identity.authid = cookie.anonymous_authid();
            }
            // An anonymous login is not remembered: it proves nothing, and remembered it would
            // answer a later `["cookie", "ticket"]` HELLO as anonymous instead of asking for the
            // ticket.
            if self.authenticator.cookie_auth()
                && identity.authprovider != "cookie"
                && identity.authmethod != "anonymous"
            {
                cookie.remember(&realm.name, &identity);
            }
            cookie.attach(&realm.name, session);
        }
        // Headers and the cookie's value were for the authenticator only.
        self.transport.http = None;
        // A role the realm does not define joins, as in Crossbar: it is denied every action
        // (`junction check` warns about such configs).
        let peer = Arc::new(Peer {
            session,
            authid: identity.authid.clone(),
            authrole: identity.authrole.clone(),
            serialization: self.serialization,
            outbound: Arc::clone(&self.outbound),
            internal: false,
            features,
            node: None,
        });
        session_stats::login(identity.authmethod, true);
        debug!(
            session,
            realm = realm.name,
            authid = %peer_text(&identity.authid),
            authrole = identity.authrole,
            authmethod = identity.authmethod,
            peer = %log_fields::peer(&self.transport.peer),
            transport = self.transport.kind,
            serialization = self.serialization.name(),
            "session joined"
        );
        let details = welcome_details(&realm.name, &identity);
        self.reply(&Message::Welcome { session, details }).await;
        self.outbound.set_joined();
        // Listed (and `on_join` published) once WELCOME is queued: the session's own
        // requests are handled after this returns, so none can come before its join.
        let entry = realm.join(JoinedSession::new(
            Arc::clone(&peer),
            identity.authmethod,
            identity.authprovider,
            std::mem::take(&mut self.transport),
        ));
        self.state = State::Joined(Joined {
            realm,
            peer,
            entry,
            subscriptions: HashSet::new(),
            decisions: DecisionCache::default(),
        });
        Flow::Continue
    }

    async fn on_joined(&mut self, msg: Message) -> Flow {
        if let State::Joined(joined) = &mut self.state
            && let Err((request_type, request, e)) = dynamic_authorization::ask_authorizer(
                &joined.realm,
                &joined.peer,
                &joined.entry,
                &mut joined.decisions,
                &msg,
            )
            .await
        {
            self.reply(&error_message(request_type, request, e.uri, &e.message))
                .await;
            return Flow::Continue;
        }
        let State::Joined(joined) = &mut self.state else {
            return Flow::Close;
        };
        if joined.entry.is_killed() {
            // Killed by the router: GOODBYE and the close are queued, the realm has let go.
            return Flow::Continue;
        }
        let realm = Arc::clone(&joined.realm);
        let peer = Arc::clone(&joined.peer);
        if let Some(backplane) = realm.backplane() {
            match cluster_step::before(&realm, backplane, &peer, &msg).await {
                Ok(None) => {}
                Ok(Some(answer)) => {
                    self.reply(&answer).await;
                    return Flow::Continue;
                }
                Err((request_type, request, e)) => {
                    self.reply(&error_message(request_type, request, e.uri, &e.message))
                        .await;
                    return Flow::Continue;
                }
            }
        }
        let State::Joined(joined) = &mut self.state else {
            return Flow::Close;
        };
        let (request_type, request, outcome) = match msg {
            Message::Publish {
                request,
                options,
                topic,
                payload,
            } => {
                let acknowledge = matches!(options.get("acknowledge"), Some(Value::Bool(true)));
                let outcome = realm.publish(&peer, &options, &topic, &payload);
                match outcome {
                    Ok(publication) if acknowledge => (
                        0,
                        0,
                        Ok(Some(Message::Published {
                            request,
                            publication,
                        })),
                    ),
                    Ok(_) => return Flow::Continue,
                    // Without acknowledge the client keeps no request to answer; only a
                    // protocol violation is reported (by aborting).
                    Err(e) if !acknowledge && e.uri != uri_error::PROTOCOL_VIOLATION => {
                        return Flow::Continue;
                    }
                    Err(e) => (message::PUBLISH, request, Err(e)),
                }
            }
            Message::Subscribe {
                request,
                options,
                topic,
            } => {
                // The realm queues SUBSCRIBED itself (see Realm::subscribe).
                let outcome =
                    realm
                        .subscribe(&peer, request, &topic, &options)
                        .map(|subscription| {
                            joined.subscriptions.insert(subscription);
                            None
                        });
                if outcome.is_err() {
                    cluster_step::subscribe_failed(&realm, &topic, &options);
                }
                (message::SUBSCRIBE, request, outcome)
            }
            Message::Unsubscribe {
                request,
                subscription,
            } => {
                let outcome = if joined.subscriptions.remove(&subscription) {
                    realm.unsubscribe(peer.session, subscription)
                } else {
                    Err(WampError::new(
                        uri_error::NO_SUCH_SUBSCRIPTION,
                        format!("no subscription {subscription} for this session"),
                    ))
                };
                let outcome = outcome.map(|()| Some(Message::Unsubscribed { request }));
                (message::UNSUBSCRIBE, request, outcome)
            }
            Message::Call {
                request,
                options,
                procedure,
                payload,
            } => {
                let timeout = call_timeout(&options);
                let outcome = realm
                    .call(&peer, request, &options, &procedure, payload)
                    .map(|invocation| {
                        if let (Some(invocation), Some(ms)) = (invocation, timeout) {
                            let (realm, caller) = (Arc::clone(&realm), peer.session);
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                                realm.time_out_call(caller, request, invocation, ms);
                            });
                        }
                        None
                    });
                (message::CALL, request, outcome)
            }
            Message::Register {
                request,
                options,
                procedure,
            } => {
                // The realm queues REGISTERED itself (see Realm::register).
                let outcome = realm
                    .register(&peer, request, &procedure, &options)
                    .map(|_| None);
                if outcome.is_err() {
                    cluster_step::register_failed(&realm, &peer, &procedure, &options);
                }
                (message::REGISTER, request, outcome)
            }
            Message::Unregister {
                request,
                registration,
            } => {
                let outcome = realm
                    .unregister(peer.session, registration)
                    .map(|()| Some(Message::Unregistered { request }));
                (message::UNREGISTER, request, outcome)
            }
            Message::Yield {
                request,
                options,
                payload,
            } => {
                let outcome = realm
                    .yield_result(peer.session, request, &options, payload)
                    .map(|()| None);
                (message::YIELD, request, outcome)
            }
            Message::Error {
                request_type: message::INVOCATION,
                request,
                error,
                payload,
                ..
            } => {
                realm.invocation_error(peer.session, request, error, payload);
                return Flow::Continue;
            }
            Message::Cancel { request, options } => {
                let outcome = realm.cancel(peer.session, request, &options).map(|()| None);
                (message::CANCEL, request, outcome)
            }
            Message::Goodbye { reason, .. } => {
                self.detach();
                self.state = State::Idle;
                if reason == uri_error::CLOSE_LOGOUT {
                    self.log_out(peer.session);
                }
                if reason != uri_error::CLOSE_GOODBYE_AND_OUT {
                    let goodbye = Message::Goodbye {
                        details: Dict::new(),
                        reason: uri_error::CLOSE_GOODBYE_AND_OUT.to_owned(),
                    };
                    self.reply(&goodbye).await;
                }
                return Flow::Continue;
            }
            Message::Abort { .. } => {
                self.detach();
                return Flow::Close;
            }
            other => {
                return self
                    .protocol_violation(&format!(
                        "{} is not a message a client may send",
                        name(&other)
                    ))
                    .await;
            }
        };
        match outcome {
            Ok(Some(reply)) => self.reply(&reply).await,
            Ok(None) => {}
            Err(e) if e.uri == uri_error::PROTOCOL_VIOLATION => {
                return self.protocol_violation(&e.message).await;
            }
            Err(e) => {
                self.reply(&error_message(request_type, request, e.uri, &e.message))
                    .await
            }
        }
        Flow::Continue
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.detach();
    }
}

fn leave(joined: Joined) {
    debug!(
        session = joined.peer.session,
        realm = joined.realm.name,
        authid = %peer_text(&joined.peer.authid),
        authrole = joined.peer.authrole,
        "session left"
    );
    joined
        .realm
        .leave(joined.peer.session, joined.subscriptions);
}

/// The methods and the authid a HELLO offered, for the log line of a refused login.
fn offered(details: &Dict) -> (String, String) {
    let methods = match details.get("authmethods") {
        Some(Value::List(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => "anonymous".to_owned(),
    };
    let authid = details.get("authid").and_then(Value::as_str).unwrap_or("");
    (methods, authid.to_owned())
}

fn name(msg: &Message) -> &'static str {
    message::type_name(msg.code()).unwrap_or("unknown message")
}

/// WELCOME.Details: identity plus the roles and features this router really implements.
fn welcome_details(realm: &str, identity: &Identity) -> Dict {
    let features = |names: &[&str]| {
        let dict: Dict = names
            .iter()
            .map(|n| ((*n).to_owned(), Value::Bool(true)))
            .collect();
        let mut role = Dict::new();
        role.insert("features".into(), Value::Dict(dict));
        Value::Dict(role)
    };
    let mut roles = Dict::new();
    roles.insert("broker".into(), features(BROKER_FEATURES));
    roles.insert("dealer".into(), features(DEALER_FEATURES));
    let mut details = Dict::new();
    details.insert("realm".into(), Value::from(realm));
    details.insert("authid".into(), Value::from(identity.authid.as_str()));
    details.insert("authrole".into(), Value::from(identity.authrole.as_str()));
    details.insert("authmethod".into(), Value::from(identity.authmethod));
    details.insert("authprovider".into(), Value::from(identity.authprovider));
    details.insert("authextra".into(), Value::Dict(identity.authextra.clone()));
    details.insert("roles".into(), Value::Dict(roles));
    details
}

/// Broker features announced in WELCOME: only what works.
pub const BROKER_FEATURES: &[&str] = &[
    "event_history",
    "event_retention",
    "pattern_based_subscription",
    "publisher_exclusion",
    "publisher_identification",
    "subscriber_blackwhite_listing",
    "session_meta_api",
    "subscription_meta_api",
];

/// Dealer features announced in WELCOME: only what works.
pub const DEALER_FEATURES: &[&str] = &[
    "caller_identification",
    "pattern_based_registration",
    "progressive_call_results",
    "progressive_call_invocations",
    "shared_registration",
    "call_timeout",
    "call_canceling",
    "session_meta_api",
    "registration_meta_api",
    "testament_meta_api",
];
