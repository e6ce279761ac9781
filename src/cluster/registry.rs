//! The cluster-wide registry of registrations, in a JetStream key-value bucket: one key per
//! (realm, match policy, procedure), its value the invocation policy and the callees in
//! registration order (node, session). `create` makes a `single` registration exclusive
//! across nodes (the server lets exactly one creator win); shared ones are changed by
//! compare-and-set on the key's revision, so concurrent REGISTERs never lose each other.
//!
//! Every node watches the bucket and mirrors the other nodes' callees into its realms'
//! dealers as stand-ins (see `router/realm/cluster.rs`), in the registry's order, so every
//! node routes a call the same way: exact before prefix before wildcard, `first` and `last`
//! by global registration order. `sync` waits until the watch has caught up with the bucket,
//! so a call made right after REGISTERED on another node finds it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation, Store};
use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::cluster::interest::unreachable;
use crate::cluster::membership::Membership;
use crate::cluster::node::Node;
use crate::router::backplane::Claim;
use crate::router::dealer::InvokePolicy;
use crate::router::error::WampError;
use crate::router::peer::{Outbound, Peer};
use crate::router::realm::Realm;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::serializer::Serialization;
use crate::wamp::uri::MatchPolicy;

/// Attempts of a compare-and-set loop before giving up.
const CAS_ATTEMPTS: usize = 50;

/// One key's value.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    realm: String,
    uri: String,
    #[serde(rename = "match")]
    policy: String,
    invoke: String,
    callees: Vec<Callee>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Callee {
    node: String,
    session: Id,
    authid: String,
    authrole: String,
}

impl Entry {
    fn policy(&self) -> MatchPolicy {
        match self.policy.as_str() {
            "prefix" => MatchPolicy::Prefix,
            "wildcard" => MatchPolicy::Wildcard,
            _ => MatchPolicy::Exact,
        }
    }

    fn invoke(&self) -> InvokePolicy {
        InvokePolicy::parse(&self.invoke).unwrap_or_default()
    }

    fn bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The (uri, policy) of each registration a local session holds, by (realm, session).
type Claims = HashMap<(String, Id), Vec<(String, MatchPolicy)>>;

/// What this node mirrors, by key.
#[derive(Default)]
struct Mirror {
    entries: HashMap<String, Entry>,
    /// The remote callees mirrored into the local dealer.
    mirrored: HashMap<String, Vec<Id>>,
}

pub struct Registry {
    kv: Store,
    stream: String,
    js: async_nats::jetstream::Context,
    node: Arc<Node>,
    membership: Arc<Membership>,
    realms: HashMap<String, Weak<Realm>>,
    mirror: Mutex<Mirror>,
    /// The last bucket revision the watch applied.
    applied: watch::Sender<u64>,
    /// This node's claims, by (realm, session).
    claims: Mutex<Claims>,
}

fn hash(text: &str, len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(digest)[..len].to_owned()
}

fn key(realm: &str, uri: &str, policy: MatchPolicy) -> String {
    let p = match policy {
        MatchPolicy::Exact => 'x',
        MatchPolicy::Prefix => 'p',
        MatchPolicy::Wildcard => 'w',
    };
    format!("{}.{p}.{}", hash(realm, 16), hash(uri, 40))
}

impl Registry {
    /// Opens (or makes) the bucket and starts mirroring it; returns once the mirror holds
    /// everything registered so far.
    pub async fn start(
        js: async_nats::jetstream::Context,
        node: Arc<Node>,
        membership: Arc<Membership>,
        realms: &[Arc<Realm>],
    ) -> Result<Arc<Registry>, String> {
        let bucket = format!("{}_registry", node.prefix);
        let config = kv::Config {
            bucket: bucket.clone(),
            history: 1,
            ..Default::default()
        };
        let kv = match js.create_key_value(config).await {
            Ok(kv) => kv,
            Err(create) => js
                .get_key_value(&bucket)
                .await
                .map_err(|e| format!("the registry bucket {bucket}: {create}; {e}"))?,
        };
        let realms = realms
            .iter()
            .map(|r| (hash(&r.name, 16), Arc::downgrade(r)))
            .collect();
        let registry = Arc::new(Registry {
            kv,
            stream: format!("KV_{bucket}"),
            js,
            node,
            membership,
            realms,
            mirror: Mutex::default(),
            applied: watch::Sender::new(0),
            claims: Mutex::default(),
        });
        let mut watch = registry
            .kv
            .watch_with_history(">")
            .await
            .map_err(|e| format!("watching the registry: {e}"))?;
        let (tx, mut caught_up) = tokio::sync::oneshot::channel::<()>();
        let mut current = Some(tx);
        let watcher = Arc::downgrade(&registry);
        tokio::spawn(async move {
            while let Some(entry) = watch.next().await {
                let Ok(entry) = entry else { continue };
                let Some(registry) = watcher.upgrade() else {
                    return;
                };
                let (revision, seen_current) =
                    (entry.revision, entry.seen_current || entry.delta == 0);
                registry.apply(entry);
                registry.applied.send_replace(revision);
                if seen_current && let Some(tx) = current.take() {
                    let _ = tx.send(());
                }
            }
        });
        // An empty bucket sends nothing to catch up with.
        if registry.last_revision().await.unwrap_or(0) > 0 {
            let _ = tokio::time::timeout(Duration::from_secs(10), &mut caught_up).await;
        }
        Ok(registry)
    }

    async fn last_revision(&self) -> Option<u64> {
        let stream = self.js.get_stream(&self.stream).await.ok()?;
        Some(stream.cached_info().state.last_sequence)
    }

    /// Waits (a bounded time) until the mirror has applied everything in the bucket now.
    pub async fn sync(&self) {
        if !self.node.connected() {
            return; // nothing new can be learned meanwhile
        }
        let wait = async {
            let Some(last) = self.last_revision().await else {
                return;
            };
            let mut applied = self.applied.subscribe();
            let _ = applied.wait_for(|a| *a >= last).await;
        };
        let _ = tokio::time::timeout(self.node.request_timeout, wait).await;
    }

    /// Claims a registration for a local callee.
    pub async fn claim(&self, realm: &str, claim: Claim) -> Result<(), WampError> {
        if !self.node.connected() {
            return Err(unreachable());
        }
        let key = key(realm, &claim.uri, claim.policy);
        let me = Callee {
            node: self.node.name.to_string(),
            session: claim.session,
            authid: claim.authid.clone(),
            authrole: claim.authrole.clone(),
        };
        let fresh = Entry {
            realm: realm.to_owned(),
            uri: claim.uri.clone(),
            policy: claim.policy.name().to_owned(),
            invoke: claim.invoke.name().to_owned(),
            callees: vec![me.clone()],
        };
        let outcome = tokio::time::timeout(
            self.node.request_timeout,
            self.claim_key(&key, fresh, me, claim.invoke),
        )
        .await
        .unwrap_or_else(|_| Err(unreachable()));
        if outcome.is_ok() {
            self.claims
                .lock()
                .entry((realm.to_owned(), claim.session))
                .or_default()
                .push((claim.uri, claim.policy));
        }
        outcome
    }

    async fn claim_key(
        &self,
        key: &str,
        fresh: Entry,
        me: Callee,
        invoke: InvokePolicy,
    ) -> Result<(), WampError> {
        for _ in 0..CAS_ATTEMPTS {
            let current = self.kv.entry(key).await.map_err(|_| unreachable())?;
            let current = current.filter(|e| e.operation == Operation::Put);
            let Some(current) = current else {
                match self.kv.create(key, fresh.bytes()).await {
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => continue,
                    Err(_) => return Err(unreachable()),
                }
            };
            let Ok(mut entry) = serde_json::from_slice::<Entry>(&current.value) else {
                return Err(unreachable());
            };
            if entry.invoke() != invoke {
                return Err(WampError::new(
                    uri_error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
                    format!(
                        "procedure \"{}\" is registered with invocation policy \"{}\", not \"{}\"",
                        entry.uri,
                        entry.invoke,
                        invoke.name()
                    ),
                ));
            }
            if invoke == InvokePolicy::Single
                || entry.callees.iter().any(|c| c.session == me.session)
            {
                return Err(WampError::new(
                    uri_error::PROCEDURE_ALREADY_EXISTS,
                    format!(
                        "procedure \"{}\" ({}) is already registered",
                        entry.uri, entry.policy
                    ),
                ));
            }
            entry.callees.push(me.clone());
            match self.kv.update(key, entry.bytes(), current.revision).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(_) => return Err(unreachable()),
            }
        }
        Err(unreachable())
    }

    /// After NATS was lost: puts back every local claim the registry no longer holds (a NATS
    /// server restarted without its store). A `single` registration another node took
    /// meanwhile stays with it, and this node's is left as it is, with a warning: two callees
    /// then serve it until one unregisters.
    pub async fn reassert(&self) {
        let claims: Claims = self.claims.lock().clone();
        let mut restored = 0;
        for ((realm, session), patterns) in claims {
            for (uri, policy) in patterns {
                let key = key(&realm, &uri, policy);
                let present = match self.kv.entry(&key).await {
                    Ok(Some(e)) if e.operation == Operation::Put => {
                        serde_json::from_slice::<Entry>(&e.value).is_ok_and(|entry| {
                            entry
                                .callees
                                .iter()
                                .any(|c| c.session == session && *c.node == *self.node.name)
                        })
                    }
                    Ok(_) => false,
                    Err(_) => return, // still unreachable: the next reconnect tries again
                };
                if present {
                    continue;
                }
                let invoke = self.local_invoke(&realm, &uri, policy);
                let (authid, authrole) = self.identity(&realm, session);
                let me = Callee {
                    node: self.node.name.to_string(),
                    session,
                    authid,
                    authrole,
                };
                let fresh = Entry {
                    realm: realm.clone(),
                    uri: uri.clone(),
                    policy: policy.name().to_owned(),
                    invoke: invoke.name().to_owned(),
                    callees: vec![me.clone()],
                };
                match self.claim_key(&key, fresh, me, invoke).await {
                    Ok(()) => restored += 1,
                    Err(e) => tracing::warn!(
                        procedure = %crate::log_text::peer_text(&uri),
                        error = e.message,
                        "cluster: registration not restored after NATS came back"
                    ),
                }
            }
        }
        if restored > 0 {
            tracing::info!(
                count = restored,
                "cluster: registrations restored in the registry"
            );
        }
    }

    /// The invocation policy of the local registration (uri, policy).
    fn local_invoke(&self, realm: &str, uri: &str, policy: MatchPolicy) -> InvokePolicy {
        self.realms
            .get(&hash(realm, 16))
            .and_then(Weak::upgrade)
            .and_then(|r| {
                let dealer = r.dealer.lock();
                let id = dealer.lookup(uri, policy)?;
                Some(dealer.registration(id)?.invoke)
            })
            .unwrap_or_default()
    }

    /// The authid and authrole of a local session.
    fn identity(&self, realm: &str, session: Id) -> (String, String) {
        self.realms
            .get(&hash(realm, 16))
            .and_then(Weak::upgrade)
            .and_then(|r| {
                let joined = r.sessions.get(session)?;
                Some((joined.peer.authid.clone(), joined.peer.authrole.clone()))
            })
            .unwrap_or_default()
    }

    /// Gives back a claim (in the background: nobody waits for it).
    pub fn release(self: &Arc<Self>, realm: &str, session: Id, uri: &str, policy: MatchPolicy) {
        {
            let mut claims = self.claims.lock();
            if let Some(list) = claims.get_mut(&(realm.to_owned(), session)) {
                list.retain(|(u, p)| !(u == uri && *p == policy));
                if list.is_empty() {
                    claims.remove(&(realm.to_owned(), session));
                }
            }
        }
        let key = key(realm, uri, policy);
        let node = self.node.name.to_string();
        let registry = Arc::clone(self);
        tokio::spawn(async move {
            registry
                .remove_callees(&key, |c| c.node == node && c.session == session)
                .await;
        });
    }

    /// A local session left: every claim it held goes back.
    pub fn release_session(self: &Arc<Self>, realm: &str, session: Id) {
        let claims = self.claims.lock().remove(&(realm.to_owned(), session));
        for (uri, policy) in claims.unwrap_or_default() {
            self.release(realm, session, &uri, policy);
        }
    }

    /// Removes the callees `which` selects from `key` (deleting it when none is left).
    async fn remove_callees(&self, key: &str, which: impl Fn(&Callee) -> bool) {
        for _ in 0..CAS_ATTEMPTS {
            let Ok(Some(current)) = self.kv.entry(key).await else {
                return;
            };
            if current.operation != Operation::Put {
                return;
            }
            let Ok(mut entry) = serde_json::from_slice::<Entry>(&current.value) else {
                return;
            };
            let before = entry.callees.len();
            entry.callees.retain(|c| !which(c));
            if entry.callees.len() == before {
                return;
            }
            let done = if entry.callees.is_empty() {
                self.kv
                    .delete_expect_revision(key, Some(current.revision))
                    .await
                    .is_ok()
            } else {
                self.kv
                    .update(key, entry.bytes(), current.revision)
                    .await
                    .is_ok()
            };
            if done {
                return;
            }
        }
    }

    /// `node` died: its callees leave the local dealers now and the registry soon (every
    /// surviving node tries; compare-and-set lets each change happen once).
    pub async fn node_dead(&self, node: &str) {
        let keys: Vec<String> = {
            let mirror = self.mirror.lock();
            mirror
                .entries
                .iter()
                .filter(|(_, e)| e.callees.iter().any(|c| c.node == node))
                .map(|(k, _)| k.clone())
                .collect()
        };
        for key in &keys {
            self.unmirror_node(key, node);
        }
        for key in keys {
            self.remove_callees(&key, |c| c.node == node).await;
        }
    }

    fn unmirror_node(&self, key: &str, node: &str) {
        let mut mirror = self.mirror.lock();
        let Some(entry) = mirror.entries.get(key).cloned() else {
            return;
        };
        let Some(realm) = self.realm_of(key) else {
            return;
        };
        let gone: Vec<Id> = entry
            .callees
            .iter()
            .filter(|c| c.node == node)
            .map(|c| c.session)
            .collect();
        for session in &gone {
            realm.unmirror_callee(*session, &entry.uri, entry.policy());
        }
        if let Some(list) = mirror.mirrored.get_mut(key) {
            list.retain(|s| !gone.contains(s));
        }
    }

    fn realm_of(&self, key: &str) -> Option<Arc<Realm>> {
        let realm = key.split('.').next()?;
        self.realms.get(realm)?.upgrade()
    }

    /// One change of the bucket, applied to the local dealer.
    fn apply(&self, change: kv::Entry) {
        let Some(realm) = self.realm_of(&change.key) else {
            return;
        };
        let mut mirror = self.mirror.lock();
        let before = mirror.mirrored.remove(&change.key).unwrap_or_default();
        let previous = mirror.entries.remove(&change.key);
        let entry = match change.operation {
            Operation::Put => serde_json::from_slice::<Entry>(&change.value).ok(),
            _ => None,
        };
        let Some(entry) = entry else {
            if let Some(previous) = previous {
                for session in before {
                    realm.unmirror_callee(session, &previous.uri, previous.policy());
                }
            }
            return;
        };
        let (uri, policy, invoke) = (entry.uri.clone(), entry.policy(), entry.invoke());
        let order: Vec<Id> = entry.callees.iter().map(|c| c.session).collect();
        let remote: Vec<&Callee> = entry
            .callees
            .iter()
            .filter(|c| *c.node != *self.node.name)
            .collect();
        for session in &before {
            if !remote.iter().any(|c| c.session == *session) {
                realm.unmirror_callee(*session, &uri, policy);
            }
        }
        for callee in &remote {
            self.membership.saw(&callee.node);
            if !before.contains(&callee.session) {
                let peer = stand_in(callee);
                realm.mirror_callee(&peer, &uri, policy, invoke, &order);
            }
        }
        realm.order_callees(&uri, policy, &order);
        mirror.mirrored.insert(
            change.key.clone(),
            remote.iter().map(|c| c.session).collect(),
        );
        mirror.entries.insert(change.key, entry);
    }
}

/// A remote callee as the local dealer holds it: nothing is ever queued to it (calls to it
/// are forwarded), so its queue has no reader.
fn stand_in(callee: &Callee) -> Arc<Peer> {
    let (outbound, _inbox) = Outbound::new(1);
    Arc::new(Peer {
        session: callee.session,
        authid: callee.authid.clone(),
        authrole: callee.authrole.clone(),
        serialization: Serialization::Cbor,
        outbound,
        internal: false,
        features: Default::default(),
        node: Some(Arc::from(callee.node.as_str())),
    })
}
