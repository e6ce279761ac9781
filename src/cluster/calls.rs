//! Calls between nodes. The caller's node routes as usual; when the dealer picks a callee of
//! another node (a stand-in mirrored from the registry), the CALL goes to that node, whose
//! dealer runs the invocation as if the caller were local: a stand-in peer with the caller's
//! session id, authid and authrole, whose RESULTs and ERRORs travel back. So timeouts, cancel
//! modes, progressive results and progressive invocations work as they do on one node, run
//! by the dealer that holds the invocation.
//!
//! Caller's side: `forwarded` remembers each call in flight elsewhere (for chunks, CANCEL,
//! and failing it when its node dies). Callee's side: `stand_ins` holds the remote callers.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::HeaderMap;
use parking_lot::Mutex;

use crate::cluster::node::Node;
use crate::cluster::wire;
use crate::router::backplane::ForwardedCall;
use crate::router::error::{WampError, error_message};
use crate::router::peer::{Awaited, Outbound, Outgoing, Peer};
use crate::router::realm::ForwardedInvocation;
use crate::router::realm::Realm;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::{self, Message, Payload};
use crate::wamp::serializer::Serialization;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, Value};

/// How many answers may wait to leave for a remote caller's node.
const STAND_IN_QUEUE: usize = 65_536;

/// A call of a local caller in flight on another node.
struct Forwarded {
    node: Arc<str>,
    caller: Arc<Peer>,
    /// Counts against the caller's room until answered, as a local call does.
    _awaited: Awaited,
    /// A progressive call invocation still sending chunks.
    open: bool,
}

/// A remote caller as the local dealer sees it.
struct StandIn {
    node: Arc<str>,
    peer: Arc<Peer>,
}

pub struct Calls {
    node: Arc<Node>,
    realm_token: String,
    realm: Weak<Realm>,
    forwarded: Mutex<HashMap<(Id, Id), Forwarded>>,
    stand_ins: Mutex<HashMap<Id, StandIn>>,
}

impl Calls {
    pub fn new(node: Arc<Node>, realm_token: String, realm: Weak<Realm>) -> Calls {
        Calls {
            node,
            realm_token,
            realm,
            forwarded: Mutex::default(),
            stand_ins: Mutex::default(),
        }
    }

    fn headers(&self, session: Id) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(wire::REALM, self.realm_token.as_str());
        headers.insert(wire::SESSION, session.to_string().as_str());
        headers
    }

    fn send(&self, node: &str, headers: HeaderMap, message: &Message) -> bool {
        match wire::encode(message) {
            Some(bytes) => self.node.send(self.node.inbox_of(node), headers, bytes),
            None => false,
        }
    }

    // ---- the caller's side ----

    pub fn forward_call(&self, call: ForwardedCall) -> Result<(), WampError> {
        let mut options = Dict::new();
        options.insert("details".into(), Value::Dict(call.details));
        options.insert("authid".into(), Value::from(call.caller.authid.as_str()));
        options.insert(
            "authrole".into(),
            Value::from(call.caller.authrole.as_str()),
        );
        if call.receive_progress {
            options.insert("receive_progress".into(), Value::Bool(true));
        }
        if call.progress {
            options.insert("progress".into(), Value::Bool(true));
        }
        if let Some(ms) = call.timeout_ms {
            options.insert("timeout".into(), Value::from(ms));
        }
        let (uri, policy) = call.registration;
        options.insert("registration".into(), Value::from(uri));
        options.insert("match".into(), Value::from(policy.name()));
        let message = Message::Call {
            request: call.request,
            options,
            procedure: call.procedure,
            payload: call.payload,
        };
        let mut headers = self.headers(call.caller.session);
        headers.insert(wire::TARGET, call.callee.to_string().as_str());
        let key = (call.caller.session, call.request);
        self.forwarded.lock().insert(
            key,
            Forwarded {
                node: Arc::clone(&call.node),
                _awaited: Awaited::waiting(&call.caller.outbound),
                caller: call.caller,
                open: call.progress,
            },
        );
        if self.send(&call.node, headers, &message) {
            Ok(())
        } else {
            self.forwarded.lock().remove(&key);
            Err(crate::cluster::interest::unreachable())
        }
    }

    pub fn forward_chunk(
        &self,
        caller: Id,
        request: Id,
        progress: bool,
        payload: Payload,
    ) -> Option<Payload> {
        let node = {
            let mut forwarded = self.forwarded.lock();
            let Some(call) = forwarded.get_mut(&(caller, request)).filter(|c| c.open) else {
                return Some(payload);
            };
            call.open = progress;
            Arc::clone(&call.node)
        };
        let mut options = Dict::new();
        options.insert("chunk".into(), Value::Bool(true));
        if progress {
            options.insert("progress".into(), Value::Bool(true));
        }
        let message = Message::Call {
            request,
            options,
            procedure: String::new(),
            payload,
        };
        self.send(&node, self.headers(caller), &message);
        None
    }

    pub fn forward_cancel(&self, caller: Id, request: Id, options: &Dict) -> bool {
        let Some(node) = self
            .forwarded
            .lock()
            .get(&(caller, request))
            .map(|c| Arc::clone(&c.node))
        else {
            return false;
        };
        let message = Message::Cancel {
            request,
            options: options.clone(),
        };
        if !self.send(&node, self.headers(caller), &message) {
            self.fail(
                |k, _| *k == (caller, request),
                uri_error::NETWORK_FAILURE,
                "the cluster (NATS) cannot be reached",
            );
        }
        true
    }

    /// A local session left: its calls in flight elsewhere end there too.
    pub fn session_left(&self, session: Id) {
        let nodes: Vec<Arc<str>> = {
            let mut forwarded = self.forwarded.lock();
            let mut nodes = Vec::new();
            forwarded.retain(|(caller, _), call| {
                if *caller == session {
                    if !nodes.contains(&call.node) {
                        nodes.push(Arc::clone(&call.node));
                    }
                    return false;
                }
                true
            });
            nodes
        };
        let goodbye = Message::Goodbye {
            details: Dict::new(),
            reason: uri_error::CLOSE_NORMAL.to_owned(),
        };
        for node in nodes {
            self.send(&node, self.headers(session), &goodbye);
        }
    }

    /// An answer from the callee's node for a local caller.
    fn answer(&self, caller: Id, message: Message) {
        let (request, progress) = match &message {
            Message::Result {
                request, details, ..
            } => (
                *request,
                matches!(details.get("progress"), Some(Value::Bool(true))),
            ),
            Message::Error { request, .. } => (*request, false),
            _ => return,
        };
        let peer = {
            let mut forwarded = self.forwarded.lock();
            if progress {
                forwarded
                    .get(&(caller, request))
                    .map(|c| Arc::clone(&c.caller))
            } else {
                forwarded.remove(&(caller, request)).map(|c| c.caller)
            }
        };
        if let (Some(peer), Some(realm)) = (peer, self.realm.upgrade()) {
            realm.answer_forwarded(&peer, message, progress);
        }
    }

    /// Ends with `error` every forwarded call `which` selects (its node died, or NATS is gone).
    pub fn fail(&self, which: impl Fn(&(Id, Id), &Arc<str>) -> bool, error: &str, text: &str) {
        let failed: Vec<((Id, Id), Forwarded)> = {
            let mut forwarded = self.forwarded.lock();
            let keys: Vec<(Id, Id)> = forwarded
                .iter()
                .filter(|(k, c)| which(k, &c.node))
                .map(|(k, _)| *k)
                .collect();
            keys.into_iter()
                .filter_map(|k| forwarded.remove(&k).map(|c| (k, c)))
                .collect()
        };
        let Some(realm) = self.realm.upgrade() else {
            return;
        };
        for ((_, request), call) in failed {
            let message = error_message(message::CALL, request, error, text);
            realm.answer_forwarded(&call.caller, message, false);
        }
    }

    /// `node` died: its callers' calls here end, and local calls in flight there fail.
    pub fn node_dead(&self, node: &str) {
        self.fail(
            |_, n| &**n == node,
            uri_error::CANCELED,
            "the callee's node left the cluster during the call",
        );
        let gone: Vec<Id> = {
            let mut stand_ins = self.stand_ins.lock();
            let gone: Vec<Id> = stand_ins
                .iter()
                .filter(|(_, s)| &*s.node == node)
                .map(|(id, _)| *id)
                .collect();
            for id in &gone {
                if let Some(s) = stand_ins.remove(id) {
                    s.peer.outbound.push(close());
                }
            }
            gone
        };
        if let Some(realm) = self.realm.upgrade() {
            for session in gone {
                realm.forget_remote_session(session);
            }
        }
    }

    // ---- the callee's side ----

    /// A message addressed to this node for this realm.
    pub fn on_message(&self, from: &str, session: Id, target: Option<Id>, message: Message) {
        match message {
            Message::Result { .. } | Message::Error { .. } => self.answer(session, message),
            Message::Call {
                request,
                options,
                procedure,
                payload,
            } => self.on_call(from, session, target, request, options, procedure, payload),
            Message::Cancel { request, options } => {
                if let Some(realm) = self.realm.upgrade() {
                    let _ = realm.cancel(session, request, &options);
                }
            }
            Message::Goodbye { .. } => {
                let removed = self.stand_ins.lock().remove(&session);
                if let Some(s) = removed {
                    s.peer.outbound.push(close());
                    if let Some(realm) = self.realm.upgrade() {
                        realm.forget_remote_session(session);
                    }
                }
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_call(
        &self,
        from: &str,
        session: Id,
        target: Option<Id>,
        request: Id,
        mut options: Dict,
        procedure: String,
        payload: Payload,
    ) {
        let Some(realm) = self.realm.upgrade() else {
            return;
        };
        let flag = |options: &Dict, key: &str| matches!(options.get(key), Some(Value::Bool(true)));
        let progress = flag(&options, "progress");
        if flag(&options, "chunk") {
            if let Err(e) = realm.forwarded_chunk(session, request, progress, payload) {
                self.refuse(from, session, request, e);
            }
            return;
        }
        let Some(callee) = target else {
            return;
        };
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let caller = self.stand_in(
            from,
            session,
            text(options.remove("authid")),
            text(options.remove("authrole")),
        );
        let details = match options.remove("details") {
            Some(Value::Dict(d)) => d,
            _ => Dict::new(),
        };
        let timeout = crate::router::realm::call_timeout(&options);
        let policy = MatchPolicy::from_options(&options).unwrap_or(MatchPolicy::Exact);
        let registration = match options.remove("registration") {
            Some(Value::String(uri)) => uri,
            _ => procedure.clone(),
        };
        let invocation = realm.invoke_forwarded(ForwardedInvocation {
            caller: &caller,
            request,
            procedure: &procedure,
            details,
            payload,
            receive_progress: flag(&options, "receive_progress"),
            progress,
            callee,
            registration: (&registration, policy),
        });
        match invocation {
            Ok(invocation) => {
                if let Some(ms) = timeout {
                    let realm = Arc::clone(&realm);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        realm.time_out_call(session, request, invocation, ms);
                    });
                }
            }
            Err(e) => self.refuse(from, session, request, e),
        }
    }

    fn refuse(&self, node: &str, caller: Id, request: Id, e: WampError) {
        let message = error_message(message::CALL, request, e.uri, &e.message);
        self.send(node, self.headers(caller), &message);
    }

    /// The stand-in of a remote caller, made on its first call: a peer whose queue is
    /// drained to the caller's node.
    fn stand_in(&self, node: &str, session: Id, authid: String, authrole: String) -> Arc<Peer> {
        let mut stand_ins = self.stand_ins.lock();
        if let Some(s) = stand_ins.get(&session) {
            return Arc::clone(&s.peer);
        }
        let (outbound, mut inbox) = Outbound::new(STAND_IN_QUEUE);
        let node: Arc<str> = Arc::from(node);
        let peer = Arc::new(Peer {
            session,
            authid,
            authrole,
            serialization: Serialization::Cbor,
            outbound,
            internal: false,
            features: Default::default(),
            node: Some(Arc::clone(&node)),
        });
        let sender = Arc::clone(&self.node);
        let subject = sender.inbox_of(&node);
        let headers = self.headers(session);
        tokio::spawn(async move {
            while let Some(item) = inbox.recv().await {
                match item {
                    Outgoing::Message(frame) => {
                        sender.send(subject.clone(), headers.clone(), frame);
                    }
                    Outgoing::Close { .. } => return,
                    Outgoing::Ping(_) => {}
                }
            }
        });
        stand_ins.insert(
            session,
            StandIn {
                node,
                peer: Arc::clone(&peer),
            },
        );
        peer
    }
}

fn close() -> Outgoing {
    Outgoing::Close {
        code: 1000,
        reason: "gone".to_owned(),
    }
}
