//! When calls go into a realm's call queues and come out (the queues themselves are
//! [`CallQueue`](crate::router::call_queue::CallQueue)):
//!
//! - in: a CALL that no registration matches, or whose every callee runs as many invocations
//!   as its `concurrency` allows, checked and authorized already, when a rule takes it
//!   ([`Realm::queue_call`]); it gets an invocation id at once, so its call timeout runs from
//!   the CALL whether it is still waiting or invoked by then;
//! - out to a callee: right after a REGISTER, or after an invocation that held a `concurrency`
//!   slot ended ([`Realm::freed`]), under the dealer's lock, the oldest waiting calls the
//!   dealer can now route, one at a time while it can, through the same start as a direct
//!   call ([`Realm::dispatch_queued`]);
//! - out with an ERROR: CANCEL (`wamp.error.canceled`, whatever the mode: there is no callee to
//!   interrupt) or the call timeout (`wamp.error.timeout`), see `rpc.rs:end_call`;
//! - dropped: the caller leaves ([`Realm::forget_queued`]), or the realm goes.
//!
//! Every step runs with the dealer locked (then the queue: always in that order), so a call is
//! never both waiting and invoked, nor missed by a REGISTER that comes at the same time.

use std::sync::Arc;

use crate::router::call_queue::{QueuedCall, Refusal};
use crate::router::dealer::{Dealer, Invocation};
use crate::router::delivery::{push, reply};
use crate::router::error::{WampError, error_message};
use crate::router::peer::{Awaited, Peer};
use crate::router::realm::Realm;
use crate::router::realm::rpc::{Call, Started, no_route_error, start};
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
    /// A CALL the dealer cannot route now (the dealer is locked): queued when a rule takes
    /// it, returning the invocation id reserved for it; else `refusal`, what the caller gets
    /// without a queue (`wamp.error.no_such_procedure`, or
    /// `crossbar.error.max_concurrency_reached` when the callees are busy).
    pub(super) fn queue_call(
        &self,
        dealer: &mut Dealer,
        call: &Call,
        details: Dict,
        payload: Payload,
        refusal: WampError,
    ) -> Result<Id, WampError> {
        let Some(queue) = &self.call_queue else {
            return Err(refusal);
        };
        if call.progress {
            // Its later chunks would have no invocation to go to.
            return Err(WampError::new(
                refusal.uri,
                format!(
                    "{} (a progressive call invocation does not wait in a call queue)",
                    refusal.message
                ),
            ));
        }
        let mut queue = queue.lock();
        let place = match queue.admit(call.procedure) {
            Ok(place) => place,
            Err(Refusal::NoRule) => return Err(refusal),
            // What the caller would get without a queue, with why it could not wait.
            Err(Refusal::Full { uri, policy, limit }) => {
                return Err(WampError::new(
                    refusal.uri,
                    format!(
                        "{}, and its call queue (\"{uri}\", match {}) is full: {limit} calls wait already",
                        refusal.message,
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

    /// After a REGISTER (REGISTERED queued) or a freed `concurrency` slot, the dealer locked:
    /// starts the waiting calls the dealer now routes, oldest first, one at a time (each may
    /// take the last free slot of a callee).
    pub(super) fn dispatch_queued(&self, dealer: &mut Dealer) -> Vec<Sending> {
        let Some(queue) = &self.call_queue else {
            return Vec::new();
        };
        let mut sending = Vec::new();
        loop {
            let next = {
                let mut queue = queue.lock();
                if queue.is_empty() {
                    break;
                }
                queue.take_first(|procedure| dealer.can_route(procedure))
            };
            let Some(queued) = next else { break };
            sending.push(dispatch(dealer, queued));
        }
        sending
    }

    /// After `invocation` ended (the dealer is locked): when it held a callee's `concurrency`
    /// slot, the waiting calls that can go now. Nothing to do, and no allocation, otherwise.
    pub(super) fn freed(&self, dealer: &mut Dealer, invocation: &Invocation) -> Vec<Sending> {
        if invocation.limited {
            self.dispatch_queued(dealer)
        } else {
            Vec::new()
        }
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
        Ok(routed) => start(dealer, routed, &call, details, payload, Some(invocation)),
        Err(no_route) => Err(no_route_error(&no_route, &procedure)),
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
