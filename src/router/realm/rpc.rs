//! The dealer's side of a realm: REGISTER, UNREGISTER, CALL (progressive ones included),
//! YIELD, CANCEL and call timeouts (INTERRUPT), and a callee's ERROR for an invocation, checked
//! and then routed by the [`Dealer`](crate::router::dealer::Dealer); and what a leaving
//! session's registrations and calls become.

use std::sync::Arc;

use crate::router::authorize::Action;
use crate::router::backplane::ForwardedCall;
use crate::router::dealer::{Dealer, Invocation, NoRoute, RegisterRefusal, Routed, Unregistered};
use crate::router::delivery::{answer_caller, check_receivable, push, reply};
use crate::router::error::{WampError, error_message};
use crate::router::peer::{Awaited, Peer};
use crate::router::realm::Realm;
use crate::router::realm::options::{
    CancelMode, bool_option, call_timeout, cancel_mode, concurrency, disclose, invoke_policy,
    match_policy,
};
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::{self, Message, Payload};
use crate::wamp::uri::{self, MatchPolicy};
use crate::wamp::value::{Dict, Value};

impl Realm {
    /// Whether the caller's CALL `request` continues a progressive call invocation (it was
    /// authorized when it began).
    pub fn continues_progressive_call(&self, caller: Id, request: Id) -> bool {
        self.dealer.lock().is_progressive_open(caller, request)
    }

    /// The checks of a CALL to a meta procedure answered by the whole cluster (the same as
    /// [`Realm::call`] makes before answering one itself).
    pub(crate) fn check_meta_call(&self, peer: &Peer, procedure: &str) -> Result<(), WampError> {
        self.check_uri(procedure, MatchPolicy::Exact)?;
        self.authorize(peer, procedure, Action::Call)?;
        if !self.meta_api {
            return Err(WampError::new(
                uri_error::NO_SUCH_PROCEDURE,
                format!("the meta API is off in realm \"{}\"", self.name),
            ));
        }
        Ok(())
    }

    /// Whether some registration (local, or a remote callee's stand-in) matches `procedure`.
    pub fn has_registration(&self, procedure: &str) -> bool {
        self.dealer.lock().best_match(procedure).is_some()
    }

    /// Registers `peer` and queues REGISTERED while the dealer is locked, so no INVOCATION can
    /// reach the callee before REGISTERED.
    pub fn register(
        &self,
        peer: &Arc<Peer>,
        request: Id,
        procedure: &str,
        options: &Dict,
    ) -> Result<Id, WampError> {
        let policy = match_policy(options)?;
        self.check_uri(procedure, policy)?;
        if uri::is_reserved(procedure) {
            return Err(WampError::new(
                uri_error::INVALID_URI,
                format!("\"{procedure}\" is reserved for the router"),
            ));
        }
        let invoke = invoke_policy(options)?;
        let concurrency = concurrency(options)?;
        self.authorize(peer, procedure, Action::Register)?;
        let mut dealer = self.dealer.lock();
        let registered = match dealer.register(peer, procedure, policy, invoke, concurrency) {
            Ok(registered) => registered,
            Err(RegisterRefusal::AlreadyExists) => {
                return Err(WampError::new(
                    uri_error::PROCEDURE_ALREADY_EXISTS,
                    format!(
                        "procedure \"{procedure}\" ({}) is already registered",
                        policy.name()
                    ),
                ));
            }
            Err(RegisterRefusal::DifferentPolicy(existing)) => {
                return Err(WampError::new(
                    uri_error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
                    format!(
                        "procedure \"{procedure}\" is registered with invocation policy \"{}\", not \"{}\"",
                        existing.name(),
                        invoke.name()
                    ),
                ));
            }
        };
        reply(
            peer,
            &Message::Registered {
                request,
                registration: registered.id,
            },
        );
        // After REGISTERED, under the same lock: calls waiting for this procedure go first.
        let dispatched = self.dispatch_queued(&mut dealer);
        drop(dealer);
        for sending in dispatched {
            sending.send();
        }
        self.published_register(peer.session, registered);
        Ok(registered.id)
    }

    pub fn unregister(&self, session: Id, registration: Id) -> Result<(), WampError> {
        let (removed, pattern) = {
            let mut dealer = self.dealer.lock();
            let pattern = dealer
                .registration(registration)
                .map(|r| (r.uri.clone(), r.policy));
            (dealer.unregister(session, registration), pattern)
        };
        if let (Some(backplane), Some(_), Some((uri, policy))) =
            (self.backplane(), removed, pattern)
        {
            backplane.unregister(session, &uri, policy);
        }
        match removed {
            Some(deleted) => {
                self.published_unregister(session, registration, deleted);
                Ok(())
            }
            None => Err(WampError::new(
                uri_error::NO_SUCH_REGISTRATION,
                format!("no registration {registration} for this session"),
            )),
        }
    }

    /// Routes a CALL to its callee as an INVOCATION and returns the invocation id; `None` when
    /// there is no new invocation (the router answered a meta procedure itself, or the CALL
    /// was a later chunk of a progressive call invocation).
    pub fn call(
        &self,
        caller: &Arc<Peer>,
        request: Id,
        options: &Dict,
        procedure: &str,
        payload: Payload,
    ) -> Result<Option<Id>, WampError> {
        let progress = bool_option(options, "progress")?.unwrap_or(false);
        // Only `progress` counts in later chunks: the initiating CALL froze everything else.
        let chunk = self
            .dealer
            .lock()
            .continue_progressive(caller.session, request, progress);
        let payload = match (&chunk, self.backplane()) {
            // A later chunk of a call forwarded to another node goes there.
            (None, Some(backplane)) => {
                match backplane.forward_chunk(caller.session, request, progress, payload) {
                    None => return Ok(None),
                    Some(payload) => payload,
                }
            }
            _ => payload,
        };
        if let Some(chunk) = chunk {
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
            return Ok(None);
        }
        self.check_uri(procedure, MatchPolicy::Exact)?;
        let decision = self.authorize(caller, procedure, Action::Call)?;
        if uri::is_reserved(procedure) {
            if !self.meta_api {
                return Err(WampError::new(
                    uri_error::NO_SUCH_PROCEDURE,
                    format!("the meta API is off in realm \"{}\"", self.name),
                ));
            }
            let result = self.meta_call(caller, procedure, &payload)?;
            let message = Message::Result {
                request,
                details: Dict::new(),
                payload: result,
            };
            answer_caller(caller, message);
            return Ok(None);
        }
        let receive_progress = bool_option(options, "receive_progress")?.unwrap_or(false);
        let mut details = Dict::new();
        if disclose(decision, options)? {
            details.insert("caller".into(), Value::from(caller.session));
            details.insert("caller_authid".into(), Value::from(caller.authid.as_str()));
            details.insert(
                "caller_authrole".into(),
                Value::from(caller.authrole.as_str()),
            );
        }
        if receive_progress {
            details.insert("receive_progress".into(), Value::Bool(true));
        }
        let call = Call {
            caller,
            request,
            procedure,
            receive_progress,
            progress,
        };
        let started = {
            let mut dealer = self.dealer.lock();
            match dealer.route(procedure) {
                Ok(routed) if routed.callee.node.is_some() => {
                    drop(dealer);
                    self.forward(routed, &call, options, details, payload)?;
                    return Ok(None);
                }
                Ok(routed) => start(&mut dealer, routed, &call, details, payload, None)?,
                // No callee, or every one at its `concurrency`: the call waits when a
                // call-queue rule takes it (call_queue.rs).
                Err(no_route) => {
                    let refusal = no_route_error(&no_route, procedure);
                    return self
                        .queue_call(&mut dealer, &call, details, payload, refusal)
                        .map(Some);
                }
            }
        };
        push(&started.callee, &started.message);
        Ok(Some(started.invocation))
    }

    /// A callee's YIELD: a RESULT to the caller (progressive when `progress` and asked for).
    pub fn yield_result(
        &self,
        callee: Id,
        request: Id,
        options: &Dict,
        payload: Payload,
    ) -> Result<(), WampError> {
        let progress = bool_option(options, "progress")?.unwrap_or(false);
        let mut dispatched = Vec::new();
        let (caller, caller_request, receivable) = {
            let mut dealer = self.dealer.lock();
            // The spec: a YIELD for an unknown invocation (caller gone) is ignored.
            let Some(invocation) = dealer.invocation(callee, request) else {
                return Ok(());
            };
            if progress && !invocation.receive_progress {
                return Ok(());
            }
            // A result the caller cannot receive (integers beyond 64 bits to MessagePack)
            // ends the call with an ERROR, even a progressive one: what follows is ignored.
            let receivable = check_receivable(&invocation.caller, &payload, "the caller");
            if progress && receivable.is_ok() {
                (
                    Arc::clone(&invocation.caller),
                    invocation.caller_request,
                    receivable,
                )
            } else {
                let Some(finished) = dealer.finish_invocation(callee, request) else {
                    return Ok(());
                };
                dispatched = self.freed(&mut dealer, &finished);
                (finished.caller, finished.caller_request, receivable)
            }
        };
        for sending in dispatched {
            sending.send();
        }
        let message = match receivable {
            Ok(()) => {
                let mut details = Dict::new();
                if progress {
                    details.insert("progress".into(), Value::Bool(true));
                }
                Message::Result {
                    request: caller_request,
                    details,
                    payload,
                }
            }
            Err(e) => error_message(message::CALL, caller_request, e.uri, &e.message),
        };
        // Progressive results stream from the callee: a caller that does not read them is a
        // slow consumer like any other; the final one answers its CALL.
        if progress {
            push(&caller, &message);
        } else {
            reply(&caller, &message);
        }
        Ok(())
    }

    /// A caller's CANCEL (`mode`: `skip`, the default, answers the caller at once and lets the
    /// callee finish unseen; `kill` interrupts the callee and forwards its ERROR; `killnowait`
    /// interrupts it and answers the caller at once). A call already answered is ignored. A
    /// callee that did not announce `call_canceling` gets no INTERRUPT: every mode is `skip`.
    pub fn cancel(&self, caller: Id, request: Id, options: &Dict) -> Result<(), WampError> {
        let mode = cancel_mode(options)?;
        if let Some(backplane) = self.backplane()
            && backplane.forward_cancel(caller, request, options)
        {
            return Ok(());
        }
        let text = "call canceled by the caller";
        self.end_call(caller, request, None, mode, uri_error::CANCELED, text);
        Ok(())
    }

    /// A call whose `timeout` ran out: the caller gets `wamp.error.timeout` and the callee an
    /// INTERRUPT (as `killnowait`).
    /// `invocation` is the id [`Realm::call`] returned, so a timer cannot end a later call
    /// that reuses the request id.
    pub fn time_out_call(&self, caller: Id, request: Id, invocation: Id, timeout_ms: u64) {
        let message = format!("no result within the call timeout of {timeout_ms} ms");
        let expected = Some(invocation);
        self.end_call(
            caller,
            request,
            expected,
            CancelMode::KillNoWait,
            uri_error::TIMEOUT,
            &message,
        );
    }

    fn end_call(
        &self,
        caller: Id,
        request: Id,
        expected: Option<Id>,
        mode: CancelMode,
        error: &'static str,
        text: &str,
    ) {
        let mut dealer = self.dealer.lock();
        let Some((invocation_id, callee)) = dealer.find_call(caller, request) else {
            // Not in flight: it may still wait for a callee (under the dealer's lock, so it
            // cannot be invoked meanwhile).
            let queued = self.take_queued(caller, request, expected);
            drop(dealer);
            if let Some(call) = queued {
                let message = error_message(message::CALL, call.request, error, text);
                reply(&call.caller, &message);
            }
            return;
        };
        if expected.is_some_and(|id| id != invocation_id) {
            return;
        }
        let mode = if callee.features.callee_call_canceling {
            mode
        } else {
            CancelMode::Skip
        };
        if mode != CancelMode::Skip {
            push(&callee, &interrupt(invocation_id, error, mode));
        }
        if mode == CancelMode::Kill {
            return; // the callee's ERROR (or YIELD) ends the call
        }
        if let Some(invocation) = dealer.remove_invocation(invocation_id) {
            let dispatched = self.freed(&mut dealer, &invocation);
            drop(dealer);
            for sending in dispatched {
                sending.send();
            }
            let message = error_message(message::CALL, invocation.caller_request, error, text);
            reply(&invocation.caller, &message);
        }
    }

    /// A callee's ERROR for an INVOCATION, forwarded to the caller with its args and kwargs.
    pub fn invocation_error(&self, callee: Id, request: Id, error: String, payload: Payload) {
        let (invocation, dispatched) = {
            let mut dealer = self.dealer.lock();
            let Some(invocation) = dealer.finish_invocation(callee, request) else {
                return;
            };
            let dispatched = self.freed(&mut dealer, &invocation);
            (invocation, dispatched)
        };
        for sending in dispatched {
            sending.send();
        }
        let message = Message::Error {
            request_type: message::CALL,
            request: invocation.caller_request,
            details: Dict::new(),
            error,
            payload,
        };
        answer_caller(&invocation.caller, message);
    }

    /// Removes a leaving session from the dealer: the callers of its invocations get an ERROR,
    /// the callees still receiving its progressive calls an INTERRUPT. Returns its removed
    /// registrations, for the meta events.
    pub(super) fn remove_from_dealer(&self, session: Id) -> Vec<Unregistered> {
        let (removal, dispatched) = {
            let mut dealer = self.dealer.lock();
            self.forget_queued(session);
            let removal = dealer.remove_session(session);
            // Its calls in flight freed their callees' `concurrency` slots.
            let dispatched = if removal.freed {
                self.dispatch_queued(&mut dealer)
            } else {
                Vec::new()
            };
            (removal, dispatched)
        };
        for sending in dispatched {
            sending.send();
        }
        for invocation in removal.orphaned {
            let error = error_message(
                message::CALL,
                invocation.caller_request,
                uri_error::CANCELED,
                "callee disconnected from in-flight call",
            );
            reply(&invocation.caller, &error);
        }
        for (id, invocation, callee) in removal.abandoned {
            if invocation.progressive {
                push(
                    &callee,
                    &interrupt(id, uri_error::CANCELED, CancelMode::KillNoWait),
                );
            }
        }
        removal.unregistered
    }
}

impl Realm {
    /// Sends a call the dealer routed to a callee on another node to that node; its RESULT or
    /// ERROR comes back through the backplane.
    fn forward(
        &self,
        routed: Routed,
        call: &Call,
        options: &Dict,
        details: Dict,
        payload: Payload,
    ) -> Result<(), WampError> {
        let (Some(backplane), Some(node)) = (self.backplane(), routed.callee.node.clone()) else {
            return Err(WampError::new(
                uri_error::NETWORK_FAILURE,
                "the callee is on another node and this node is not in a cluster",
            ));
        };
        backplane.forward_call(ForwardedCall {
            caller: Arc::clone(call.caller),
            request: call.request,
            procedure: call.procedure.to_owned(),
            details,
            payload,
            receive_progress: call.receive_progress,
            progress: call.progress,
            timeout_ms: call_timeout(options),
            node,
            callee: routed.callee.session,
            registration: (routed.procedure_uri, routed.policy),
        })
    }
}

/// A CALL checked and authorized, on its way to a callee: now, or once one registers.
pub(super) struct Call<'a> {
    pub caller: &'a Arc<Peer>,
    pub request: Id,
    pub procedure: &'a str,
    pub receive_progress: bool,
    /// A progressive call invocation: more chunks of it follow.
    pub progress: bool,
}

/// An invocation recorded in the dealer, its INVOCATION to push once the dealer is unlocked.
pub(super) struct Started {
    pub callee: Arc<Peer>,
    pub message: Message,
    pub invocation: Id,
}

/// What a call that cannot be routed gets when no call queue takes it.
pub(super) fn no_route_error(no_route: &NoRoute, procedure: &str) -> WampError {
    match no_route {
        NoRoute::NoRegistration => WampError::new(
            uri_error::NO_SUCH_PROCEDURE,
            format!("no callee registered for procedure \"{procedure}\""),
        ),
        NoRoute::Busy { callees: 1, limit } => WampError::new(
            uri_error::MAX_CONCURRENCY_REACHED,
            format!(
                "the callee of procedure \"{procedure}\" runs its maximum concurrency of {limit} calls"
            ),
        ),
        NoRoute::Busy { callees, limit } => WampError::new(
            uri_error::MAX_CONCURRENCY_REACHED,
            format!(
                "all {callees} callees of procedure \"{procedure}\" run their maximum concurrency (at most {limit} calls each)"
            ),
        ),
    }
}

/// Starts `call` at the callee the dealer chose (`routed`), under the id `reserved` for it when
/// it waited in a call queue. `details` are the INVOCATION.Details decided at CALL time.
pub(super) fn start(
    dealer: &mut Dealer,
    routed: Routed,
    call: &Call,
    details: Dict,
    payload: Payload,
    reserved: Option<Id>,
) -> Result<Started, WampError> {
    let (registration, callee, limited) =
        (routed.registration, routed.callee.session, routed.limited);
    let started = start_routed(dealer, routed, call, details, payload, reserved);
    if started.is_err() && limited {
        // Never invoked: the slot the routing took goes back.
        dealer.release(registration, callee);
    }
    started
}

fn start_routed(
    dealer: &mut Dealer,
    routed: Routed,
    call: &Call,
    mut details: Dict,
    payload: Payload,
    reserved: Option<Id>,
) -> Result<Started, WampError> {
    check_receivable(&routed.callee, &payload, "the callee")?;
    if call.progress && !routed.callee.features.callee_progressive_call_invocations {
        return Err(WampError::new(
            uri_error::FEATURE_NOT_SUPPORTED,
            format!(
                "the callee of \"{}\" did not announce progressive_call_invocations",
                call.procedure
            ),
        ));
    }
    if routed.policy != MatchPolicy::Exact {
        details.insert("procedure".into(), Value::from(call.procedure));
    }
    let caller = call.caller;
    if routed.callee.internal && !details.contains_key("caller_authrole") {
        details.insert("caller".into(), Value::from(caller.session));
        details.insert("caller_authid".into(), Value::from(caller.authid.as_str()));
        details.insert(
            "caller_authrole".into(),
            Value::from(caller.authrole.as_str()),
        );
    }
    let invocation = Invocation {
        caller: Arc::clone(caller),
        awaited: Awaited::new(&caller.outbound, &routed.callee.outbound),
        caller_request: call.request,
        callee: routed.callee.session,
        receive_progress: call.receive_progress,
        progressive: call.progress,
        registration: routed.registration,
        details: if call.progress {
            details.clone()
        } else {
            Dict::new()
        },
        limited: routed.limited,
    };
    let callee = Arc::clone(&routed.callee);
    let id = match reserved {
        Some(id) => {
            dealer.start_invocation_as(id, invocation, callee);
            id
        }
        None => dealer.start_invocation(invocation, callee),
    };
    if call.progress {
        details.insert("progress".into(), Value::Bool(true));
    }
    Ok(Started {
        callee: routed.callee,
        message: Message::Invocation {
            request: id,
            registration: routed.registration,
            details,
            payload,
        },
        invocation: id,
    })
}

/// An INTERRUPT for a callee's invocation.
fn interrupt(invocation: Id, reason: &str, mode: CancelMode) -> Message {
    let mut options = Dict::new();
    options.insert("reason".into(), Value::from(reason));
    options.insert("mode".into(), Value::from(mode.name()));
    Message::Interrupt {
        request: invocation,
        options,
    }
}
