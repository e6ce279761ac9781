//! When calls go into a realm's call queues and come out (the queues themselves are
//! [`CallQueue`](crate::router::call_queue::CallQueue)):
//!
//! - in: a CALL that no registration matches, checked and authorized already, when a rule
//!   takes it ([`Realm::queue_call`]); it gets an invocation id at once, so its call timeout
//!   runs from the CALL whether it is still waiting or invoked by then;
//! - out to a callee: right after a REGISTER, under the dealer's lock, every waiting call the
//!   dealer can now route, in arrival order, through the same start as a direct call
//!   ([`Realm::dispatch_queued`]);
//! - out with an ERROR: CANCEL (`wamp.error.canceled`, whatever the mode: there is no callee to
//!   interrupt) or the call timeout (`wamp.error.timeout`), see `rpc.rs:end_call`;
//! - dropped: the caller leaves ([`Realm::forget_queued`]), or the realm goes.
//!
//! Every step runs with the dealer locked (then the queue: always in that order), so a call is
//! never both waiting and invoked, nor missed by a REGISTER that comes at the same time.

use std::sync::Arc;

use crate::router::call_queue::{QueuedCall, Refusal};
use crate::router::dealer::Dealer;
use crate::router::delivery::{push, reply};
use crate::router::error::{WampError, error_message};
use crate::router::peer::{Awaited, Peer};
use crate::router::realm::Realm;
use crate::router::realm::rpc::{Call, Started, start};
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::{self, Message, Payload};
use crate::wamp::value::Dict;

/// What a REGISTER's dispatch sends once the dealer is unlocked.
pub(super) enum Sending {
    /// A waiting call invoked at its callee.
    Invocation(Started),
    /// A waiting call that could not be invoked (its payload does not fit the callee's
    /// serialization): the ERROR for its caller.
    Refused(Arc<Peer>, Message),
}

impl Sending {
    pub(super) fn send(self) {
        match self {
            Sending::Invocation(started) => push(&started.callee, &started.message),
            Sending::Refused(caller, error) => reply(&caller, &error),
        }
    }
}

impl Realm {
    /// A CALL no registration matches (the dealer is locked): queued when a rule takes it,
    /// returning the invocation id reserved for it; else `wamp.error.no_such_procedure`.
    pub(super) fn queue_call(
        &self,
        dealer: &mut Dealer,
        call: &Call,
        details: Dict,
        payload: Payload,
    ) -> Result<Id, WampError> {
        let no_callee = format!("no callee registered for procedure \"{}\"", call.procedure);
        let Some(queue) = &self.call_queue else {
            return Err(WampError::new(uri_error::NO_SUCH_PROCEDURE, no_callee));
        };
        if call.progress {
            // Its later chunks would have no invocation to go to.
            return Err(WampError::new(
                uri_error::NO_SUCH_PROCEDURE,
                format!(
                    "{no_callee} (a progressive call invocation does not wait in a call queue)"
                ),
            ));
        }
        let mut queue = queue.lock();
        let place = match queue.admit(call.procedure) {
            Ok(place) => place,
            Err(Refusal::NoRule) => {
                return Err(WampError::new(uri_error::NO_SUCH_PROCEDURE, no_callee));
            }
            // What the caller would get without a queue, with why it could not wait.
            Err(Refusal::Full { uri, policy, limit }) => {
                return Err(WampError::new(
                    uri_error::NO_SUCH_PROCEDURE,
                    format!(
                        "{no_callee}, and its call queue (\"{uri}\", match {}) is full: {limit} calls wait already",
                        policy.name()
                    ),
                ));
            }
        };
        let invocation = dealer.reserve_invocation_id();
        queue.push(
            place,
            QueuedCall {
                caller: Arc::clone(call.caller),
                request: call.request,
                invocation,
                procedure: call.procedure.to_owned(),
                details,
                payload,
                receive_progress: call.receive_progress,
                awaited: Awaited::waiting(&call.caller.outbound),
            },
        );
        Ok(invocation)
    }

    /// After a REGISTER (the dealer is locked, REGISTERED queued): starts every waiting call
    /// the dealer now routes, in arrival order.
    pub(super) fn dispatch_queued(&self, dealer: &mut Dealer) -> Vec<Sending> {
        let Some(queue) = &self.call_queue else {
            return Vec::new();
        };
        let ready = {
            let mut queue = queue.lock();
            if queue.is_empty() {
                return Vec::new();
            }
            queue.take_routable(|procedure| dealer.best_match(procedure).is_some())
        };
        ready
            .into_iter()
            .map(|queued| dispatch(dealer, queued))
            .collect()
    }

    /// Takes the waiting call `request` of `caller` out of its queue (CANCEL, or the call
    /// timeout when `invocation` is given); the dealer is locked.
    pub(super) fn take_queued(
        &self,
        caller: Id,
        request: Id,
        invocation: Option<Id>,
    ) -> Option<QueuedCall> {
        self.call_queue
            .as_ref()?
            .lock()
            .remove(caller, request, invocation)
    }

    /// Drops the waiting calls of a caller that leaves; the dealer is locked.
    pub(super) fn forget_queued(&self, caller: Id) {
        if let Some(queue) = &self.call_queue {
            queue.lock().remove_caller(caller);
        }
    }
}

/// Starts one waiting call as [`Realm::call`] starts a direct one.
fn dispatch(dealer: &mut Dealer, queued: QueuedCall) -> Sending {
    let QueuedCall {
        caller,
        request,
        invocation,
        procedure,
        details,
        payload,
        receive_progress,
        awaited,
    } = queued;
    let call = Call {
        caller: &caller,
        request,
        procedure: &procedure,
        receive_progress,
        progress: false,
    };
    let started = match dealer.route(&procedure) {
        Some(routed) => start(dealer, routed, &call, details, payload, Some(invocation)),
        None => Err(WampError::new(
            uri_error::NO_SUCH_PROCEDURE,
            format!("no callee registered for procedure \"{procedure}\""),
        )),
    };
    // The invocation counts against the caller's room from now on.
    drop(awaited);
    match started {
        Ok(started) => Sending::Invocation(started),
        Err(e) => {
            let error = error_message(message::CALL, request, e.uri, &e.message);
            Sending::Refused(caller, error)
        }
    }
}
