//! The session and subscription meta procedures across the cluster: each node knows only its
//! own sessions and subscriptions, so the caller's node asks every node (one NATS publish to
//! `<prefix>.<realm>.m`, answered to an inbox), waits for every live node's answer or a
//! deadline, and merges: counts add up, lists join, a `get` or `kill` takes the node that has
//! the session. Subscription ids are derived from (uri, policy), so one subscription has one
//! id on every node and lists merge by id. The registration meta procedures need no round:
//! every node's dealer mirrors the whole registry.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::HeaderMap;
use futures_util::StreamExt;

use crate::cluster::interest::unreachable;
use crate::cluster::membership::Membership;
use crate::cluster::node::Node;
use crate::cluster::wire;
use crate::router::error::{WampError, error_message};
use crate::router::peer::{Outbound, Peer};
use crate::router::realm::Realm;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::{self, Message, Payload};
use crate::wamp::serializer::Serialization;
use crate::wamp::value::{Dict, Value};

/// The longest wait for the other nodes' answers.
const DEADLINE: Duration = Duration::from_millis(500);

/// Whether `procedure` needs every node's answer.
pub fn is_scattered(procedure: &str) -> bool {
    matches!(
        procedure,
        "wamp.session.count"
            | "wamp.session.list"
            | "wamp.session.get"
            | "wamp.session.kill"
            | "wamp.session.kill_by_authid"
            | "wamp.session.kill_by_authrole"
            | "wamp.session.kill_all"
            | "wamp.subscription.list"
            | "wamp.subscription.lookup"
            | "wamp.subscription.match"
            | "wamp.subscription.get"
            | "wamp.subscription.list_subscribers"
            | "wamp.subscription.count_subscribers"
    )
}

pub struct Meta {
    node: Arc<Node>,
    membership: Arc<Membership>,
    subject: String,
}

impl Meta {
    /// Answers the other nodes' meta requests for `realm`.
    pub async fn start(
        node: &Arc<Node>,
        membership: &Arc<Membership>,
        subject: String,
        realm: Weak<Realm>,
    ) -> Result<Meta, String> {
        let mut requests = node
            .client
            .subscribe(subject.clone())
            .await
            .map_err(|e| format!("subscribing to meta requests: {e}"))?;
        let client = node.client.clone();
        tokio::spawn(async move {
            while let Some(request) = requests.next().await {
                let Some(realm) = realm.upgrade() else { return };
                let Some(reply) = request.reply.clone() else {
                    continue;
                };
                let caller = wire::header_id(request.headers.as_ref(), wire::SESSION);
                let answer = match (wire::decode(&request.payload), caller) {
                    (
                        Some(Message::Call {
                            request: id,
                            procedure,
                            payload,
                            ..
                        }),
                        Some(caller),
                    ) => answer_locally(&realm, caller, id, &procedure, &payload),
                    _ => continue,
                };
                if let Some(bytes) = wire::encode(&answer) {
                    let _ = client.publish(reply, bytes).await;
                }
            }
        });
        Ok(Meta {
            node: Arc::clone(node),
            membership: Arc::clone(membership),
            subject,
        })
    }

    /// `procedure` answered for the whole cluster: this node's answer merged with every
    /// other live node's.
    pub async fn call(
        &self,
        realm: &Realm,
        caller: Id,
        procedure: &str,
        payload: &Payload,
    ) -> Result<Payload, WampError> {
        let local = answer_locally(realm, caller, 1, procedure, payload);
        let mut answers = vec![local];
        let expected = self.membership.live_count();
        tracing::debug!(procedure, "cluster: asking {expected} other nodes");
        if expected > 0 {
            if !self.node.connected() {
                return Err(unreachable());
            }
            answers.extend(self.gather(caller, procedure, payload, expected).await?);
        }
        merge(procedure, answers)
    }

    async fn gather(
        &self,
        caller: Id,
        procedure: &str,
        payload: &Payload,
        expected: usize,
    ) -> Result<Vec<Message>, WampError> {
        let client = &self.node.client;
        let inbox = client.new_inbox();
        let mut replies = client
            .subscribe(inbox.clone())
            .await
            .map_err(|_| unreachable())?;
        let request = Message::Call {
            request: 1,
            options: Dict::new(),
            procedure: procedure.to_owned(),
            payload: payload.clone(),
        };
        let bytes = wire::encode(&request).ok_or_else(unreachable)?;
        let mut headers = HeaderMap::new();
        headers.insert(wire::SESSION, caller.to_string().as_str());
        client
            .publish_with_reply_and_headers(self.subject.clone(), inbox, headers, bytes)
            .await
            .map_err(|_| unreachable())?;
        let mut answers = Vec::new();
        let deadline = tokio::time::sleep(DEADLINE);
        tokio::pin!(deadline);
        while answers.len() < expected {
            tokio::select! {
                reply = replies.next() => match reply.and_then(|r| wire::decode(&r.payload)) {
                    Some(answer) => answers.push(answer),
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        tracing::debug!(
            procedure,
            "cluster: answered by {} of {expected} other nodes",
            answers.len()
        );
        Ok(answers)
    }
}

/// This node's own answer, as a RESULT or ERROR message.
fn answer_locally(
    realm: &Realm,
    caller: Id,
    request: Id,
    procedure: &str,
    payload: &Payload,
) -> Message {
    let (outbound, _inbox) = Outbound::new(1);
    let peer = Peer {
        session: caller,
        authid: String::new(),
        authrole: String::new(),
        serialization: Serialization::Cbor,
        outbound,
        internal: true,
        features: Default::default(),
        node: None,
    };
    match realm.meta_call(&peer, procedure, payload) {
        Ok(payload) => Message::Result {
            request,
            details: Dict::new(),
            payload,
        },
        Err(e) => error_message(message::CALL, request, e.uri, &e.message),
    }
}

fn first_value(payload: &Payload) -> Option<&Value> {
    payload.args.as_ref()?.first()
}

fn result(value: Value) -> Payload {
    Payload {
        args: Some(vec![value]),
        kwargs: None,
    }
}

/// Merges the answers of every node (this node's first).
fn merge(procedure: &str, answers: Vec<Message>) -> Result<Payload, WampError> {
    let mut oks: Vec<Payload> = Vec::new();
    let mut error: Option<WampError> = None;
    for answer in answers {
        match answer {
            Message::Result { payload, .. } => oks.push(payload),
            Message::Error {
                error: uri,
                payload,
                ..
            } => {
                let text = payload
                    .args
                    .as_ref()
                    .and_then(|a| a.first())
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                error.get_or_insert(WampError::new(known_uri(&uri), text));
            }
            _ => {}
        }
    }
    let sum = |oks: &[Payload]| {
        oks.iter()
            .filter_map(|p| match first_value(p) {
                Some(Value::UInt(n)) => Some(*n),
                Some(Value::Int(n)) => Some(*n as u64),
                _ => None,
            })
            .sum::<u64>()
    };
    let join = |oks: &[Payload]| {
        let mut ids: Vec<Value> = Vec::new();
        for p in oks {
            if let Some(Value::List(list)) = first_value(p) {
                for v in list {
                    if !ids.contains(v) {
                        ids.push(v.clone());
                    }
                }
            }
        }
        ids
    };
    match procedure {
        "wamp.session.count"
        | "wamp.session.kill_by_authid"
        | "wamp.session.kill_by_authrole"
        | "wamp.session.kill_all" => Ok(result(Value::from(sum(&oks)))),
        "wamp.subscription.count_subscribers" if !oks.is_empty() => {
            Ok(result(Value::from(sum(&oks))))
        }
        "wamp.session.list" | "wamp.subscription.list_subscribers" if !oks.is_empty() => {
            Ok(result(Value::List(join(&oks))))
        }
        "wamp.subscription.match" => {
            let ids = join(&oks);
            Ok(result(if ids.is_empty() {
                Value::Null
            } else {
                Value::List(ids)
            }))
        }
        "wamp.subscription.lookup" => Ok(oks
            .into_iter()
            .find(|p| !matches!(first_value(p), None | Some(Value::Null)))
            .unwrap_or_else(|| result(Value::Null))),
        "wamp.subscription.list" => {
            let mut merged = Dict::new();
            for kind in ["exact", "prefix", "wildcard"] {
                let mut ids: Vec<Value> = Vec::new();
                for p in &oks {
                    if let Some(Value::Dict(d)) = first_value(p)
                        && let Some(Value::List(list)) = d.get(kind)
                    {
                        for v in list {
                            if !ids.contains(v) {
                                ids.push(v.clone());
                            }
                        }
                    }
                }
                merged.insert(kind.into(), Value::List(ids));
            }
            Ok(result(Value::Dict(merged)))
        }
        // get, kill: the node that has it.
        _ => oks.into_iter().next().ok_or_else(|| {
            error.unwrap_or_else(|| {
                WampError::new(uri_error::NO_SUCH_SESSION, "no such session in the cluster")
            })
        }),
    }
}

/// The error URI a node answered, as one of the router's constants (WampError keeps
/// `&'static str` URIs); an unknown one becomes `wamp.error.invalid_argument`.
fn known_uri(uri: &str) -> &'static str {
    [
        uri_error::NO_SUCH_SESSION,
        uri_error::NO_SUCH_SUBSCRIPTION,
        uri_error::INVALID_ARGUMENT,
        uri_error::NOT_AUTHORIZED,
        uri_error::NO_SUCH_PROCEDURE,
    ]
    .into_iter()
    .find(|known| *known == uri)
    .unwrap_or(uri_error::INVALID_ARGUMENT)
}
