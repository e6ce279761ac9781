//! What a session awaits from the cluster before the realm handles a request, so that its
//! reply tells the truth cluster-wide: SUBSCRIBED once publications from other nodes will
//! arrive, REGISTERED once the registry holds the registration (`single` exclusive across
//! nodes), and `no_such_procedure` only once this node has seen every registration made
//! elsewhere so far. The realm itself never waits on the network.

use std::sync::Arc;

use crate::router::backplane::{Backplane, Claim};
use crate::router::error::WampError;
use crate::router::peer::Peer;
use crate::router::realm::{Realm, invoke_policy, match_policy};
use crate::wamp::id::Id;
use crate::wamp::message::{self, Message};
use crate::wamp::value::Dict;

/// The cluster's part of `msg`, awaited before the realm handles it: `Some` is the whole
/// answer (a meta procedure the cluster answered), an error answers the request (request
/// type, request id, error).
pub(super) async fn before(
    realm: &Realm,
    backplane: &Arc<dyn Backplane>,
    peer: &Peer,
    msg: &Message,
) -> Result<Option<Message>, (u64, Id, WampError)> {
    if let Message::Call {
        request,
        procedure,
        payload,
        ..
    } = msg
        && let Some(answer) = backplane.meta_call(peer.session, procedure, payload)
    {
        let error = |e| (message::CALL, *request, e);
        realm.check_meta_call(peer, procedure).map_err(error)?;
        let payload = answer.await.map_err(error)?;
        return Ok(Some(Message::Result {
            request: *request,
            details: Dict::new(),
            payload,
        }));
    }
    match msg {
        Message::Subscribe {
            request,
            options,
            topic,
        } => {
            // Bad options are the realm's to answer.
            let Ok(policy) = match_policy(options) else {
                return Ok(None);
            };
            let get_retained = matches!(
                options.get("get_retained"),
                Some(crate::wamp::value::Value::Bool(true))
            );
            backplane
                .subscribe(topic, policy, get_retained)
                .await
                .map(|()| None)
                .map_err(|e| (message::SUBSCRIBE, *request, e))
        }
        Message::Register {
            request,
            options,
            procedure,
        } => {
            let (Ok(policy), Ok(invoke)) = (match_policy(options), invoke_policy(options)) else {
                return Ok(None);
            };
            let claim = Claim {
                session: peer.session,
                authid: peer.authid.clone(),
                authrole: peer.authrole.clone(),
                uri: procedure.clone(),
                policy,
                invoke,
            };
            backplane
                .register(claim)
                .await
                .map(|()| None)
                .map_err(|e| (message::REGISTER, *request, e))
        }
        Message::Call { procedure, .. } if !realm.has_registration(procedure) => {
            backplane.sync_registrations().await;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// The realm refused a REGISTER the registry took: the claim goes back.
pub(super) fn register_failed(realm: &Realm, peer: &Peer, procedure: &str, options: &Dict) {
    if let (Some(backplane), Ok(policy)) = (realm.backplane(), match_policy(options)) {
        backplane.unregister(peer.session, procedure, policy);
    }
}

/// The realm refused a SUBSCRIBE whose interest was set up: it goes if nobody else needs it.
pub(super) fn subscribe_failed(realm: &Realm, topic: &str, options: &Dict) {
    if let (Some(backplane), Ok(policy)) = (realm.backplane(), match_policy(options)) {
        backplane.unsubscribed(topic, policy);
    }
}
