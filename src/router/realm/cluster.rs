//! What the other nodes of a cluster hand this realm, through its
//! [`Backplane`](crate::router::backplane::Backplane): publications made there, for the local
//! subscription that asked for them; calls routed here to a local callee, from a stand-in
//! for the remote caller; and the registrations of remote callees, mirrored into the dealer
//! as stand-ins so that routing (match precedence, invocation policies) sees every callee.

use std::sync::Arc;

use crate::router::broker::Publication;
use crate::router::dealer::{InvokePolicy, NoRoute};
use crate::router::delivery::{answer_caller, check_receivable, push};
use crate::router::error::WampError;
use crate::router::peer::Peer;
use crate::router::realm::Realm;
use crate::router::realm::rpc::{Call, no_route_error, start};
use crate::router::session_table::Testament;
use crate::router::uri_index::pattern_matches;
use crate::wamp::id::Id;
use crate::wamp::message::{Message, Payload};
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, Value};

/// A call another node routed to a local callee.
pub struct ForwardedInvocation<'a> {
    /// Stands for the remote caller: same session id, authid and authrole.
    pub caller: &'a Arc<Peer>,
    pub request: Id,
    pub procedure: &'a str,
    pub details: Dict,
    pub payload: Payload,
    pub receive_progress: bool,
    pub progress: bool,
    /// The local callee the caller's node chose, and its registration (uri, policy).
    pub callee: Id,
    pub registration: (&'a str, MatchPolicy),
}

impl Realm {
    /// Delivers a publication from another node to the local subscription (uri, policy) it
    /// was sent for (each NATS subscription stands for one), if that subscription still exists
    /// and really matches (a string prefix receives more than it matches).
    pub fn deliver_remote(
        &self,
        uri: &str,
        policy: MatchPolicy,
        publication: &Publication<'_>,
        retain: bool,
    ) -> usize {
        if !pattern_matches(uri, policy, publication.topic) {
            return 0;
        }
        let broker = self.broker.read();
        let delivered = broker
            .lookup(uri, policy)
            .map_or(0, |id| broker.publish_to(id, publication));
        if retain {
            broker.retain(publication);
        }
        delivered
    }

    /// Starts a call another node routed to a local callee; returns the invocation id (for
    /// the call's timeout) or the error to answer the remote caller with.
    pub fn invoke_forwarded(&self, call: ForwardedInvocation<'_>) -> Result<Id, WampError> {
        let started = {
            let mut dealer = self.dealer.lock();
            let routed = match dealer.route_to(call.registration, call.callee) {
                // The callee left before the call got here (the caller's node had not heard
                // yet): the call goes where this node routes it, if that is a callee here
                // (a stand-in has no `concurrency` slot to give back).
                Err(NoRoute::NoRegistration) => match dealer.route(call.procedure) {
                    Ok(routed) if routed.callee.node.is_none() => Ok(routed),
                    _ => Err(NoRoute::NoRegistration),
                },
                routed => routed,
            }
            .map_err(|no_route| no_route_error(&no_route, call.procedure))?;
            let request = Call {
                caller: call.caller,
                request: call.request,
                procedure: call.procedure,
                receive_progress: call.receive_progress,
                progress: call.progress,
            };
            start(
                &mut dealer,
                routed,
                &request,
                call.details,
                call.payload,
                None,
            )?
        };
        push(&started.callee, &started.message);
        Ok(started.invocation)
    }

    /// A later chunk of a progressive call forwarded here earlier.
    pub fn forwarded_chunk(
        &self,
        caller: Id,
        request: Id,
        progress: bool,
        payload: Payload,
    ) -> Result<(), WampError> {
        let chunk = self
            .dealer
            .lock()
            .continue_progressive(caller, request, progress);
        let Some(chunk) = chunk else {
            return Ok(()); // the call ended meanwhile
        };
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
        Ok(())
    }

    /// The RESULT or ERROR of a call this node forwarded, for its caller here (`progress`: a
    /// progressive result, more follow).
    pub fn answer_forwarded(&self, caller: &Peer, message: Message, progress: bool) {
        if progress {
            push(caller, &message);
        } else {
            answer_caller(caller, message);
        }
    }

    /// Puts the callees of (uri, policy) in the registry's order.
    pub fn order_callees(&self, uri: &str, policy: MatchPolicy, order: &[Id]) {
        self.dealer.lock().order_callees(uri, policy, order);
    }

    /// Adds a callee of another node (its stand-in `peer`) to the registration (uri, policy),
    /// and orders the callees as the registry lists them.
    pub fn mirror_callee(
        &self,
        peer: &Arc<Peer>,
        uri: &str,
        policy: MatchPolicy,
        invoke: InvokePolicy,
        order: &[Id],
    ) {
        let mut dealer = self.dealer.lock();
        if let Err(refusal) = dealer.register(peer, uri, policy, invoke, None) {
            // Already there, or a local registration with another policy that the registry
            // refused to the other node as well: nothing to mirror.
            tracing::debug!(
                session = peer.session,
                procedure = %crate::log_text::peer_text(uri),
                error = ?refusal,
                "remote callee not mirrored"
            );
        }
        dealer.order_callees(uri, policy, order);
    }

    /// Removes a remote callee from (uri, policy).
    pub fn unmirror_callee(&self, session: Id, uri: &str, policy: MatchPolicy) {
        let mut dealer = self.dealer.lock();
        if let Some(id) = dealer.lookup(uri, policy) {
            dealer.unregister(session, id);
        }
    }

    /// A session of a node that died: the survivors publish its testaments and `on_leave`
    /// (one of them: the one that removed its record).
    pub fn remote_session_gone(&self, peer: &Peer, testaments: Vec<Testament>) {
        for testament in testaments {
            let outcome = self.publish_decided(
                peer,
                &testament.options,
                &testament.topic,
                &testament.payload,
                None,
                testament.decision,
            );
            if let Err(e) = outcome {
                tracing::debug!(
                    session = peer.session,
                    error = %crate::log_text::peer_text(&e.message),
                    "testament not published"
                );
            }
        }
        self.published_leave(peer);
    }

    /// A session of another node is gone (its node died, or its caller left): its stand-ins
    /// leave the dealer, the callers of its invocations get an ERROR, and callees still
    /// receiving its progressive calls an INTERRUPT.
    pub fn forget_remote_session(&self, session: Id) {
        self.remove_from_dealer(session);
    }
}
