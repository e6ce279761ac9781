//! One realm's [`Backplane`]: what the realm asks of the cluster, handed to the part that
//! does it (interest for subscriptions, the registry for registrations, calls for calls).

use std::sync::{Arc, Weak};

use async_nats::HeaderMap;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::cluster::calls::Calls;
use crate::cluster::interest::Interests;
use crate::cluster::membership::Membership;
use crate::cluster::meta::{self, Meta};
use crate::cluster::node::Node;
use crate::cluster::registry::Registry;
use crate::cluster::sessions::Sessions;
use crate::cluster::subject::RealmSubjects;
use crate::cluster::wire;
use crate::router::backplane::{Backplane, Claim, ForwardedCall, SessionRecord};
use crate::router::broker::Publication;
use crate::router::error::WampError;
use crate::router::realm::Realm;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::Dict;

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
}

impl std::fmt::Debug for RealmLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RealmLink({})", self.name)
    }
}

impl RealmLink {
    pub async fn new(
        realm: &Arc<Realm>,
        node: &Arc<Node>,
        registry: &Arc<Registry>,
        sessions: &Arc<Sessions>,
        membership: &Arc<Membership>,
        max_subject_bytes: usize,
    ) -> Result<RealmLink, String> {
        let subjects = RealmSubjects::new(&node.prefix, &realm.name);
        let weak = Arc::downgrade(realm);
        let token = crate::cluster::subject::token(&realm.name);
        let meta_subject = format!("{}.{token}.m", node.prefix);
        let meta = Meta::start(node, membership, meta_subject, weak.clone()).await?;
        Ok(RealmLink {
            meta,
            name: realm.name.clone(),
            interests: Interests::start(
                node.client.clone(),
                subjects.clone(),
                max_subject_bytes,
                node.request_timeout,
                weak.clone(),
            ),
            calls: Calls::new(Arc::clone(node), token, weak.clone()),
            realm: weak,
            node: Arc::clone(node),
            subjects,
            registry: Arc::clone(registry),
            sessions: Arc::clone(sessions),
        })
    }
}

impl Backplane for RealmLink {
    fn check_uri(&self, uri: &str, policy: MatchPolicy) -> Result<(), WampError> {
        self.interests.check(uri, policy)
    }

    fn publish(&self, publication: &Publication<'_>, retain: bool) {
        let Some(bytes) = wire::publication(publication, retain) else {
            return;
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            wire::SEQUENCE,
            self.node.next_sequence().to_string().as_str(),
        );
        self.node
            .send(self.subjects.publication(publication.topic), headers, bytes);
    }

    fn subscribe(&self, uri: &str, policy: MatchPolicy) -> BoxFuture<'_, Result<(), WampError>> {
        let (uri, interests) = (uri.to_owned(), Arc::clone(&self.interests));
        async move { interests.subscribe(&uri, policy).await }.boxed()
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

    fn meta_call<'a>(
        &'a self,
        caller: Id,
        procedure: &'a str,
        payload: &'a Payload,
    ) -> Option<BoxFuture<'a, Result<Payload, WampError>>> {
        if !meta::is_scattered(procedure) {
            return None;
        }
        let realm = self.realm.upgrade()?;
        Some(async move { self.meta.call(&realm, caller, procedure, payload).await }.boxed())
    }
}
