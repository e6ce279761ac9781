//! What the other nodes keep of this node's sessions, so that when a node dies the
//! survivors can do what it would have done as each session left: publish its testaments and
//! `wamp.session.on_leave`. A JetStream key-value bucket holds one record per session (key
//! `<realm hash>.<node>.<session>`: identity and testaments), written when a session joins or
//! changes its testaments and deleted when it leaves. When a node dies, every survivor tries
//! to delete each of its records with the revision it read; the one whose delete succeeds
//! publishes, so each testament is published once.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use async_nats::jetstream::kv::{self, Operation, Store};
use futures_util::StreamExt;

use crate::cluster::node::Node;
use crate::cluster::wire;
use crate::router::authorize::Decision;
use crate::router::backplane::SessionRecord;
use crate::router::peer::{Outbound, Peer};
use crate::router::realm::Realm;
use crate::router::session_table::Testament;
use crate::wamp::id::Id;
use crate::wamp::message::{Message, Payload};
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, Value};

/// A write to the bucket, done in order by one task (a record written then deleted must not
/// be written again after), or a wait for those before it.
enum Op {
    Put(String, bytes::Bytes),
    Delete(String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

pub struct Sessions {
    kv: Store,
    ops: tokio::sync::mpsc::UnboundedSender<Op>,
    node: Arc<Node>,
    /// Realms by the hash their keys start with.
    realms: HashMap<String, Weak<Realm>>,
}

impl Sessions {
    pub async fn start(
        js: &async_nats::jetstream::Context,
        node: &Arc<Node>,
        realms: &[Arc<Realm>],
    ) -> Result<Arc<Sessions>, String> {
        let bucket = format!("{}_sessions", node.prefix);
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
                .map_err(|e| format!("the sessions bucket {bucket}: {create}; {e}"))?,
        };
        let (ops, mut pending) = tokio::sync::mpsc::unbounded_channel();
        let writer = kv.clone();
        tokio::spawn(async move {
            while let Some(op) = pending.recv().await {
                match op {
                    Op::Put(key, bytes) => drop(writer.put(key, bytes).await),
                    Op::Delete(key) => drop(writer.delete(key).await),
                    Op::Flush(done) => drop(done.send(())),
                }
            }
        });
        Ok(Arc::new(Sessions {
            kv,
            ops,
            node: Arc::clone(node),
            realms: realms
                .iter()
                .map(|r| (realm_hash(&r.name), Arc::downgrade(r)))
                .collect(),
        }))
    }

    fn key(&self, realm: &str, session: Id) -> String {
        format!("{}.{}.{session}", realm_hash(realm), self.node.name)
    }

    /// Keeps (or replaces) the record of a local session, in the background.
    pub fn record(&self, realm: &str, session: Id, record: SessionRecord) {
        let Some(bytes) = encode(&record) else {
            return;
        };
        let _ = self.ops.send(Op::Put(self.key(realm, session), bytes));
    }

    /// A local session left: its record goes.
    pub fn forget(&self, realm: &str, session: Id) {
        let _ = self.ops.send(Op::Delete(self.key(realm, session)));
    }

    /// Waits (a bounded time) until every record change so far is written: at shutdown,
    /// before telling the others this node leaves, so they do not end its sessions again.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.ops.send(Op::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), wait).await;
        }
    }

    /// `node` died: its sessions leave, from here if this node is the first to take each.
    pub async fn node_dead(&self, node: &str) {
        let Ok(mut keys) = self.kv.keys().await else {
            return;
        };
        let mut theirs = Vec::new();
        while let Some(Ok(key)) = keys.next().await {
            let mut parts = key.splitn(3, '.');
            if let (Some(realm), Some(owner), Some(_)) = (parts.next(), parts.next(), parts.next())
                && owner == node
            {
                theirs.push((realm.to_owned(), key.clone()));
            }
        }
        for (realm, key) in theirs {
            let Some(realm) = self.realms.get(&realm).and_then(Weak::upgrade) else {
                continue;
            };
            let Ok(Some(entry)) = self.kv.entry(&key).await else {
                continue;
            };
            if entry.operation != Operation::Put {
                continue;
            }
            let taken = self
                .kv
                .delete_expect_revision(&key, Some(entry.revision))
                .await
                .is_ok();
            let session = key.rsplit('.').next().and_then(|s| s.parse::<Id>().ok());
            if let (true, Some(session), Some(record)) = (taken, session, decode(&entry.value)) {
                let (outbound, _inbox) = Outbound::new(1);
                let peer = Peer {
                    session,
                    authid: record.authid,
                    authrole: record.authrole,
                    serialization: Serialization::Cbor,
                    outbound,
                    internal: false,
                    features: Default::default(),
                    node: Some(Arc::from(node)),
                };
                realm.remote_session_gone(&peer, record.testaments);
            }
        }
    }
}

fn realm_hash(realm: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(realm.as_bytes()))[..16].to_owned()
}

/// A record as a PUBLISH message (CBOR keeps payloads exact): options hold the identity and
/// the testaments.
fn encode(record: &SessionRecord) -> Option<bytes::Bytes> {
    let testaments = record
        .testaments
        .iter()
        .map(|t| {
            let mut d = Dict::new();
            d.insert("topic".into(), Value::from(t.topic.as_str()));
            d.insert("options".into(), Value::Dict(t.options.clone()));
            if let Some(args) = &t.payload.args {
                d.insert("args".into(), Value::List(args.clone()));
            }
            if let Some(kwargs) = &t.payload.kwargs {
                d.insert("kwargs".into(), Value::Dict(kwargs.clone()));
            }
            if let Some(disclose) = t.decision.disclose {
                d.insert("disclose".into(), Value::Bool(disclose));
            }
            Value::Dict(d)
        })
        .collect();
    let mut options = Dict::new();
    options.insert("authid".into(), Value::from(record.authid.as_str()));
    options.insert("authrole".into(), Value::from(record.authrole.as_str()));
    options.insert("testaments".into(), Value::List(testaments));
    wire::encode(&Message::Publish {
        request: 1,
        options,
        topic: "session".into(),
        payload: Payload::default(),
    })
}

fn decode(bytes: &[u8]) -> Option<SessionRecord> {
    let Message::Publish { mut options, .. } = wire::decode(bytes)? else {
        return None;
    };
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let testaments = match options.remove("testaments") {
        Some(Value::List(list)) => list
            .into_iter()
            .filter_map(|t| {
                let Value::Dict(mut t) = t else { return None };
                Some(Testament {
                    topic: text(t.remove("topic")),
                    options: match t.remove("options") {
                        Some(Value::Dict(d)) => d,
                        _ => Dict::new(),
                    },
                    payload: Payload {
                        args: match t.remove("args") {
                            Some(Value::List(l)) => Some(l),
                            _ => None,
                        },
                        kwargs: match t.remove("kwargs") {
                            Some(Value::Dict(d)) => Some(d),
                            _ => None,
                        },
                    },
                    decision: Decision {
                        allowed: true,
                        disclose: match t.remove("disclose") {
                            Some(Value::Bool(b)) => Some(b),
                            _ => None,
                        },
                    },
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(SessionRecord {
        authid: text(options.remove("authid")),
        authrole: text(options.remove("authrole")),
        testaments,
    })
}
