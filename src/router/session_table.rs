//! The client sessions joined to a realm, as the session meta API sees them: their details
//! (`wamp.session.get`), their testaments, and whether the router killed them.
//!
//! Internal sessions (HTTP bridge, pollers) are not listed: like Crossbar's own service
//! sessions they are part of the router, not clients of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::router::auth::cookie::TrackedCookie;
use crate::router::authorize::{Action, Decision};
use crate::router::client_cert::ClientCert;
use crate::router::peer::Peer;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// When a testament is published (`wamp.session.add_testament`'s `scope`). Without session
/// resumption both happen when the session leaves, `detached` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Detached,
    Destroyed,
}

impl Scope {
    pub fn parse(name: &str) -> Option<Scope> {
        match name {
            "detached" => Some(Scope::Detached),
            "destroyed" => Some(Scope::Destroyed),
            _ => None,
        }
    }
}

/// An event a session asked the router to publish for it when it goes away.
#[derive(Debug, Clone)]
pub struct Testament {
    pub topic: String,
    pub payload: Payload,
    pub options: Dict,
    /// The permission's answer when it was added (it is published as checked then).
    pub decision: Decision,
}

/// How a session is connected, for the session meta API (`transport` in its details).
#[derive(Debug, Clone, Default)]
pub struct TransportInfo {
    /// `websocket` or `rawsocket`.
    pub kind: &'static str,
    /// The WAMP subprotocol, e.g. `wamp.2.json`.
    pub protocol: &'static str,
    /// The client's address, Crossbar's `tcp4:1.2.3.4:5678` for TCP peers.
    pub peer: String,
    /// The client's IP address (none for a Unix socket peer): what failed logins count by.
    pub ip: Option<std::net::IpAddr>,
    /// The connection's tracking cookie, on a cookie-tracked WebSocket path.
    pub cookie: Option<TrackedCookie>,
    /// What the HTTP upgrade said, for dynamic authenticators; dropped when the session joins
    /// (it holds the client's cookies and credentials headers, and memory per session counts).
    pub http: Option<Box<HttpDetails>>,
    /// The certificate the client presented in the TLS handshake (verified against the
    /// endpoint's `ca_certificates`), shared by every request of the connection.
    pub client_cert: Option<Arc<ClientCert>>,
}

/// The HTTP request a WebSocket was opened with.
#[derive(Clone, Default)]
pub struct HttpDetails {
    /// Header names in lower case; a header sent several times has its values joined by ", ".
    pub headers: Dict,
    /// The value of the tracking cookie (Crossbar's `http_cbtid`).
    pub cbtid: Option<String>,
}

impl std::fmt::Debug for HttpDetails {
    // Names only: values hold cookies and credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDetails")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TransportInfo {
    pub fn to_dict(&self) -> Dict {
        let mut details = Dict::new();
        details.insert("type".into(), Value::from(self.kind));
        details.insert("protocol".into(), Value::from(self.protocol));
        details.insert("peer".into(), Value::from(self.peer.as_str()));
        if let Some(cert) = &self.client_cert {
            details.insert("peer_cert".into(), Value::Dict(cert.to_dict()));
        }
        details
    }

    /// What a dynamic authenticator is given as `details.transport`: the meta API's fields,
    /// plus Crossbar's `http_headers_received` and `http_cbtid` of a WebSocket.
    pub fn authenticator_dict(&self) -> Dict {
        let mut details = self.to_dict();
        if let Some(http) = &self.http {
            details.insert(
                "http_headers_received".into(),
                Value::Dict(http.headers.clone()),
            );
            if let Some(cbtid) = &http.cbtid {
                details.insert("http_cbtid".into(), Value::from(cbtid.as_str()));
            }
        }
        details
    }
}

/// One joined client session. Its meta API details are built when asked for, so an idle
/// session keeps only these fields (memory per session is a target).
#[derive(Debug)]
pub struct JoinedSession {
    pub peer: Arc<Peer>,
    pub authmethod: &'static str,
    pub authprovider: &'static str,
    pub transport: TransportInfo,
    /// When it joined (the admin dashboard's session table).
    pub joined_at: jiff::Timestamp,
    testaments: Mutex<Vec<(Scope, Testament)>>,
    killed: AtomicBool,
    /// The dynamic authorizer's answers for the request being handled, set by the session
    /// right before it asks the realm (a session handles one request at a time; a testament
    /// needs two answers: the call, and publishing on its topic).
    decided: Mutex<Vec<(String, Action, Decision)>>,
}

impl JoinedSession {
    pub fn new(
        peer: Arc<Peer>,
        authmethod: &'static str,
        authprovider: &'static str,
        transport: TransportInfo,
    ) -> JoinedSession {
        JoinedSession {
            peer,
            authmethod,
            authprovider,
            transport,
            joined_at: jiff::Timestamp::now(),
            testaments: Mutex::default(),
            killed: AtomicBool::new(false),
            decided: Mutex::default(),
        }
    }

    /// Records the authorizer's decisions for the next request, replacing older ones.
    pub fn set_decisions(&self, decisions: Vec<(String, Action, Decision)>) {
        *self.decided.lock() = decisions;
    }

    /// The decision recorded for (uri, action), used once.
    pub fn take_decision(&self, uri: &str, action: Action) -> Option<Decision> {
        let mut decided = self.decided.lock();
        let i = decided
            .iter()
            .position(|(u, a, _)| u == uri && *a == action)?;
        Some(decided.swap_remove(i).2)
    }

    /// `wamp.session.get`'s answer and `on_join`'s payload: `session`, `authid`, `authrole`,
    /// `authmethod`, `authprovider`, `transport`.
    pub fn details(&self) -> Dict {
        let mut details = Dict::new();
        details.insert("session".into(), Value::from(self.peer.session));
        details.insert("authid".into(), Value::from(self.peer.authid.as_str()));
        details.insert("authrole".into(), Value::from(self.peer.authrole.as_str()));
        details.insert("authmethod".into(), Value::from(self.authmethod));
        details.insert("authprovider".into(), Value::from(self.authprovider));
        details.insert("transport".into(), Value::Dict(self.transport.to_dict()));
        details
    }

    /// Whether the router killed this session: it is out of the realm and its transport is
    /// closing, so whatever it still sends is ignored.
    /// Messages received from and sent to this session's connection so far (zero for an
    /// internal session).
    pub fn messages(&self) -> (u64, u64) {
        self.peer.outbound.messages()
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    pub fn mark_killed(&self) {
        self.killed.store(true, Ordering::Relaxed);
    }

    pub fn add_testament(&self, scope: Scope, testament: Testament) {
        self.testaments.lock().push((scope, testament));
    }

    /// Drops the testaments of `scope`; returns how many there were.
    pub fn flush_testaments(&self, scope: Scope) -> usize {
        let mut testaments = self.testaments.lock();
        let before = testaments.len();
        testaments.retain(|(s, _)| *s != scope);
        before - testaments.len()
    }

    /// A copy of the testaments in publishing order (kept by the cluster, so the other nodes
    /// can publish them if this node dies).
    pub fn testaments(&self) -> Vec<Testament> {
        let mut all = self.testaments.lock().clone();
        all.sort_by_key(|(scope, _)| *scope == Scope::Destroyed);
        all.into_iter().map(|(_, t)| t).collect()
    }

    /// Every testament in publishing order: `detached` ones first, each scope in the order
    /// they were added.
    pub fn take_testaments(&self) -> Vec<Testament> {
        let mut all = std::mem::take(&mut *self.testaments.lock());
        all.sort_by_key(|(scope, _)| *scope == Scope::Destroyed);
        all.into_iter().map(|(_, t)| t).collect()
    }
}

/// The realm's joined client sessions by id.
#[derive(Debug, Default)]
pub struct SessionTable {
    sessions: RwLock<HashMap<Id, Arc<JoinedSession>>>,
}

impl SessionTable {
    pub fn insert(&self, session: Arc<JoinedSession>) {
        self.sessions.write().insert(session.peer.session, session);
    }

    /// Removes a session; `None` when it had left already (so a leave is reported once).
    pub fn remove(&self, session: Id) -> Option<Arc<JoinedSession>> {
        self.sessions.write().remove(&session)
    }

    pub fn get(&self, session: Id) -> Option<Arc<JoinedSession>> {
        self.sessions.read().get(&session).cloned()
    }

    /// The sessions `keep` selects.
    pub fn select(&self, keep: impl Fn(&JoinedSession) -> bool) -> Vec<Arc<JoinedSession>> {
        self.sessions
            .read()
            .values()
            .filter(|s| keep(s))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::peer::Outbound;
    use crate::wamp::serializer::Serialization;

    fn joined(session: Id) -> Arc<JoinedSession> {
        let (outbound, _rx) = Outbound::new(1);
        let peer = Arc::new(Peer {
            session,
            authid: "a".into(),
            authrole: "r".into(),
            serialization: Serialization::Json,
            outbound,
            internal: false,
            features: Default::default(),
            node: None,
        });
        Arc::new(JoinedSession::new(
            peer,
            "anonymous",
            "static",
            TransportInfo::default(),
        ))
    }

    fn testament(topic: &str) -> Testament {
        Testament {
            topic: topic.into(),
            payload: Payload::new(vec![Value::from(topic)], Dict::new()),
            options: Dict::new(),
            decision: Decision {
                allowed: true,
                disclose: None,
            },
        }
    }

    #[test]
    fn testaments_detached_first_in_order_and_flushed_by_scope() {
        let s = joined(1);
        s.add_testament(Scope::Destroyed, testament("d1"));
        s.add_testament(Scope::Detached, testament("a1"));
        s.add_testament(Scope::Destroyed, testament("d2"));
        s.add_testament(Scope::Detached, testament("a2"));
        let topics: Vec<String> = s.take_testaments().into_iter().map(|t| t.topic).collect();
        assert_eq!(topics, ["a1", "a2", "d1", "d2"]);
        assert!(s.take_testaments().is_empty(), "published once");
        s.add_testament(Scope::Destroyed, testament("d3"));
        s.add_testament(Scope::Detached, testament("a3"));
        assert_eq!(s.flush_testaments(Scope::Destroyed), 1);
        assert_eq!(s.flush_testaments(Scope::Destroyed), 0);
        let left: Vec<String> = s.take_testaments().into_iter().map(|t| t.topic).collect();
        assert_eq!(left, ["a3"]);
    }

    #[test]
    fn a_session_leaves_once() {
        let table = SessionTable::default();
        table.insert(joined(7));
        table.insert(joined(8));
        assert_eq!(table.select(|s| s.peer.session == 7).len(), 1);
        assert!(table.remove(7).is_some());
        assert!(table.remove(7).is_none());
        assert!(table.get(7).is_none());
        assert!(table.get(8).is_some());
    }
}
