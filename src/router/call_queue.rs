//! Call queues: the calls waiting for a callee under a realm's `store.call-queue` rules.
//!
//! A CALL that no registration matches goes, instead of failing with
//! `wamp.error.no_such_procedure`, to the best matching rule (exact, then the longest prefix,
//! then the most specific wildcard: the dealer's precedence) and waits there, first in first
//! out, until a registration that routes it appears. A rule holds at most its `limit` calls,
//! whatever procedures under it they name, so the memory a realm's queues take is bounded by
//! its config. Realms without rules have no [`CallQueue`].
//!
//! A call also waits when every callee of its registration runs as many invocations as its
//! `concurrency` (REGISTER option) allows, until one ends: the only case Crossbar queues (it
//! also never checks the limit). Junction queues the calls that have no callee yet too, the
//! case a client that starts before its backend meets.
//!
//! This file keeps the table; `realm/call_queue.rs` decides when calls go in and come out.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::config::CallQueueRule;
use crate::router::peer::{Awaited, Peer};
use crate::router::uri_index::UriIndex;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::Dict;

/// A CALL checked and authorized, waiting for a callee.
#[derive(Debug)]
pub struct QueuedCall {
    pub caller: Arc<Peer>,
    /// The CALL's request id, which RESULT and ERROR must carry back.
    pub request: Id,
    /// The invocation id reserved for the call when it was queued: the call timeout's timer
    /// names it, so it finds the call queued or invoked alike.
    pub invocation: Id,
    pub procedure: String,
    /// INVOCATION.Details decided at CALL time (disclosure, `receive_progress`).
    pub details: Dict,
    pub payload: Payload,
    pub receive_progress: bool,
    /// A waiting call counts against the caller's room as a call in flight does.
    pub awaited: Awaited,
}

/// Why a call cannot wait.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No rule matches the procedure.
    NoRule,
    /// The rule `uri` (`policy`) holds `limit` calls already.
    Full {
        uri: String,
        policy: MatchPolicy,
        limit: usize,
    },
}

/// The place a call may take: the index of its rule.
#[derive(Debug, Clone, Copy)]
pub struct Place(usize);

#[derive(Debug)]
pub struct CallQueue {
    rules: Vec<Rule>,
    /// Rule pattern -> index in `rules`.
    index: UriIndex<usize>,
    /// (caller session, caller request) -> index of the rule the call waits under (a hint: a
    /// client that reuses the request id of a waiting call has two calls under one key).
    by_caller: HashMap<(Id, Id), usize>,
    /// Calls waiting under every rule.
    len: usize,
    /// Arrival number of the next call: calls that become routable together go out in
    /// arrival order, across rules too.
    next_arrival: u64,
}

#[derive(Debug)]
struct Rule {
    uri: String,
    policy: MatchPolicy,
    limit: usize,
    /// Oldest first, with their arrival numbers.
    waiting: VecDeque<(u64, QueuedCall)>,
}

impl CallQueue {
    /// The queues of `rules`, or `None` when there are none.
    pub fn new(rules: &[CallQueueRule]) -> Option<CallQueue> {
        if rules.is_empty() {
            return None;
        }
        let mut index = UriIndex::default();
        let rules = rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                index.insert(&rule.uri, rule.policy, i);
                Rule {
                    uri: rule.uri.clone(),
                    policy: rule.policy,
                    limit: rule.limit,
                    waiting: VecDeque::new(),
                }
            })
            .collect();
        Some(CallQueue {
            rules,
            index,
            by_caller: HashMap::new(),
            len: 0,
            next_arrival: 0,
        })
    }

    /// Where a call to `procedure` would wait, if a rule matches and has room.
    pub fn admit(&self, procedure: &str) -> Result<Place, Refusal> {
        let i = self
            .index
            .exact_match(procedure)
            .or_else(|| self.index.longest_prefix(procedure).map(|(_, i)| i))
            .or_else(|| self.index.best_wildcard(procedure).map(|(_, i)| i))
            .copied()
            .ok_or(Refusal::NoRule)?;
        let rule = &self.rules[i];
        if rule.waiting.len() >= rule.limit {
            return Err(Refusal::Full {
                uri: rule.uri.clone(),
                policy: rule.policy,
                limit: rule.limit,
            });
        }
        Ok(Place(i))
    }

    /// Queues `call` at the place [`admit`](Self::admit) gave it.
    pub fn push(&mut self, place: Place, call: QueuedCall) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.by_caller
            .insert((call.caller.session, call.request), place.0);
        self.rules[place.0].waiting.push_back((arrival, call));
        self.len += 1;
    }

    /// Takes out the oldest waiting call, across rules, whose procedure is `routable` now.
    /// Called again after each call it gives is started, since starting one may make the
    /// next unroutable (its callee's last `concurrency` slot).
    pub fn take_first(&mut self, routable: impl Fn(&str) -> bool) -> Option<QueuedCall> {
        // Within a rule calls are in arrival order: each rule's first routable call is its
        // candidate, and the oldest candidate goes.
        let (rule, at) = self
            .rules
            .iter()
            .enumerate()
            .filter_map(|(r, rule)| {
                let at = rule
                    .waiting
                    .iter()
                    .position(|(_, c)| routable(&c.procedure))?;
                Some((rule.waiting[at].0, r, at))
            })
            .min_by_key(|(arrival, _, _)| *arrival)
            .map(|(_, r, at)| (r, at))?;
        let (_, call) = self.rules[rule].waiting.remove(at)?;
        self.len -= 1;
        self.by_caller.remove(&(call.caller.session, call.request));
        Some(call)
    }

    /// Takes out the call `request` of `caller` (CANCEL), only if its reserved invocation id
    /// is `invocation` when given (a call timeout, which must not end a later call that reuses
    /// the request id).
    pub fn remove(
        &mut self,
        caller: Id,
        request: Id,
        invocation: Option<Id>,
    ) -> Option<QueuedCall> {
        let rule = *self.by_caller.get(&(caller, request))?;
        let waiting = &mut self.rules[rule].waiting;
        let at = waiting.iter().position(|(_, c)| {
            c.caller.session == caller
                && c.request == request
                && invocation.is_none_or(|id| id == c.invocation)
        })?;
        self.by_caller.remove(&(caller, request));
        self.len -= 1;
        waiting.remove(at).map(|(_, call)| call)
    }

    /// Drops every call of a caller that left; returns how many.
    pub fn remove_caller(&mut self, caller: Id) -> usize {
        if self.len == 0 {
            return 0;
        }
        let mut removed = 0;
        for rule in &mut self.rules {
            let before = rule.waiting.len();
            rule.waiting.retain(|(_, c)| c.caller.session != caller);
            removed += before - rule.waiting.len();
        }
        self.by_caller.retain(|(session, _), _| *session != caller);
        self.len -= removed;
        removed
    }

    /// How many calls wait, under every rule.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::peer::Outbound;
    use crate::wamp::serializer::Serialization;

    fn peer(session: Id) -> Arc<Peer> {
        let (outbound, rx) = Outbound::new(16);
        std::mem::forget(rx);
        Arc::new(Peer {
            session,
            authid: "a".into(),
            authrole: "r".into(),
            serialization: Serialization::Json,
            outbound,
            internal: false,
            features: Default::default(),
            node: None,
        })
    }

    fn queued(caller: &Arc<Peer>, request: Id, procedure: &str) -> QueuedCall {
        QueuedCall {
            caller: Arc::clone(caller),
            request,
            invocation: 1000 + request,
            procedure: procedure.into(),
            details: Dict::new(),
            payload: Payload::default(),
            receive_progress: false,
            awaited: Awaited::waiting(&caller.outbound),
        }
    }

    fn rule(uri: &str, policy: MatchPolicy, limit: usize) -> CallQueueRule {
        CallQueueRule {
            uri: uri.into(),
            policy,
            limit,
        }
    }

    fn queue() -> CallQueue {
        CallQueue::new(&[
            rule("a.b", MatchPolicy::Exact, 2),
            rule("a.", MatchPolicy::Prefix, 3),
            rule("x..z", MatchPolicy::Wildcard, 1),
        ])
        .unwrap()
    }

    fn enqueue(q: &mut CallQueue, caller: &Arc<Peer>, request: Id, procedure: &str) {
        let place = q.admit(procedure).unwrap();
        q.push(place, queued(caller, request, procedure));
    }

    fn requests(calls: &[QueuedCall]) -> Vec<Id> {
        calls.iter().map(|c| c.request).collect()
    }

    /// Every waiting call routable now, oldest first, as a dispatch takes them.
    fn take_routable(q: &mut CallQueue, routable: impl Fn(&str) -> bool) -> Vec<QueuedCall> {
        std::iter::from_fn(|| q.take_first(&routable)).collect()
    }

    #[test]
    fn no_rules_no_queue() {
        assert!(CallQueue::new(&[]).is_none());
    }

    #[test]
    fn the_best_rule_holds_the_call_up_to_its_limit() {
        let mut q = queue();
        let p = peer(1);
        enqueue(&mut q, &p, 1, "a.b");
        enqueue(&mut q, &p, 2, "a.b");
        let full = Refusal::Full {
            uri: "a.b".into(),
            policy: MatchPolicy::Exact,
            limit: 2,
        };
        assert_eq!(q.admit("a.b").unwrap_err(), full);
        // The prefix rule is another queue, shared by every procedure under it.
        enqueue(&mut q, &p, 3, "a.c");
        enqueue(&mut q, &p, 4, "a.d");
        enqueue(&mut q, &p, 5, "a.b.c");
        assert!(matches!(
            q.admit("a.e"),
            Err(Refusal::Full { limit: 3, .. })
        ));
        enqueue(&mut q, &p, 6, "x.y.z");
        assert!(matches!(
            q.admit("x.w.z"),
            Err(Refusal::Full { limit: 1, .. })
        ));
        assert_eq!(q.admit("b.c").unwrap_err(), Refusal::NoRule);
        assert_eq!(q.admit("x.y").unwrap_err(), Refusal::NoRule);
        assert_eq!(q.len(), 6);
    }

    #[test]
    fn routable_calls_come_out_in_arrival_order_and_the_rest_stay() {
        let mut q = queue();
        let (p, r) = (peer(1), peer(2));
        enqueue(&mut q, &p, 1, "a.c");
        enqueue(&mut q, &r, 1, "a.b");
        enqueue(&mut q, &p, 2, "a.d");
        enqueue(&mut q, &p, 3, "a.c");
        let taken = take_routable(&mut q, |procedure| procedure != "a.d");
        assert_eq!(requests(&taken), [1, 1, 3]);
        assert_eq!(taken[1].caller.session, 2);
        assert_eq!(q.len(), 1);
        assert!(take_routable(&mut q, |_| false).is_empty());
        assert_eq!(requests(&take_routable(&mut q, |_| true)), [2]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_call_is_removed_by_caller_and_request_and_a_caller_with_all_its_calls() {
        let mut q = queue();
        let (p, r) = (peer(1), peer(2));
        enqueue(&mut q, &p, 1, "a.c");
        enqueue(&mut q, &r, 1, "a.c");
        enqueue(&mut q, &p, 2, "a.b");
        // A timer for an earlier call with the same request id does not end this one.
        assert!(q.remove(1, 1, Some(999)).is_none());
        assert_eq!(q.remove(1, 1, Some(1001)).map(|c| c.request), Some(1));
        assert!(q.remove(1, 1, None).is_none(), "gone already");
        // Its place is free again.
        enqueue(&mut q, &p, 3, "a.c");
        assert_eq!(q.remove_caller(1), 2);
        assert_eq!(q.remove_caller(1), 0);
        assert_eq!(requests(&take_routable(&mut q, |_| true)), [1]);
    }

    #[test]
    fn a_reused_request_id_loses_no_call() {
        let mut q = queue();
        let p = peer(1);
        enqueue(&mut q, &p, 7, "a.c");
        enqueue(&mut q, &p, 7, "a.d");
        assert!(q.remove(1, 7, None).is_some());
        assert_eq!(q.len(), 1, "the other call still waits");
        assert_eq!(requests(&take_routable(&mut q, |_| true)), [7]);
        enqueue(&mut q, &p, 7, "a.c");
        enqueue(&mut q, &p, 7, "a.c");
        assert_eq!(q.remove_caller(1), 2);
        assert!(q.is_empty());
    }

    #[test]
    fn waiting_calls_count_against_the_callers_room() {
        let (outbound, _rx) = Outbound::bounded(1, 1000);
        assert!(outbound.has_room());
        let waiting = Awaited::waiting(&outbound);
        assert!(!outbound.has_room());
        drop(waiting);
        assert!(outbound.has_room());
    }
}
