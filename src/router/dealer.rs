//! The dealer: a realm's registrations and the calls in flight between callers and callees.
//!
//! A call is routed to the best matching registration: exact, then the longest prefix, then
//! the most specific wildcard. A registration may be shared by several callees (shared
//! registration) under one invocation policy: `single` (the default: one callee only),
//! `roundrobin`, `random`, `first` or `last` (by registration order). The INVOCATION goes to
//! the chosen callee's queue; its YIELD or ERROR comes back through `invocations`, keyed by
//! the dealer-chosen invocation id. A CANCEL or a call timeout finds the invocation by the
//! caller's (session, request).
//!
//! A callee may cap the invocations it runs at once (REGISTER.Options.concurrency, Crossbar's):
//! the dealer then counts its invocations in flight per registration and routes only to
//! callees below their limit, keeping the policy among them. Registrations without any limit
//! skip the counting, so calls to them cost what they did before.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use crate::router::peer::{Awaited, Peer};
use crate::router::uri_index::UriIndex;
use crate::wamp::id::{Id, IdCounter};
use crate::wamp::uri::MatchPolicy;

/// REGISTER.Options.invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokePolicy {
    #[default]
    Single,
    RoundRobin,
    Random,
    First,
    Last,
}

impl InvokePolicy {
    pub fn parse(name: &str) -> Option<InvokePolicy> {
        Some(match name {
            "single" => InvokePolicy::Single,
            "roundrobin" => InvokePolicy::RoundRobin,
            "random" => InvokePolicy::Random,
            "first" => InvokePolicy::First,
            "last" => InvokePolicy::Last,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            InvokePolicy::Single => "single",
            InvokePolicy::RoundRobin => "roundrobin",
            InvokePolicy::Random => "random",
            InvokePolicy::First => "first",
            InvokePolicy::Last => "last",
        }
    }
}

#[derive(Debug)]
pub struct Registration {
    pub id: Id,
    pub uri: String,
    pub policy: MatchPolicy,
    pub invoke: InvokePolicy,
    /// In registration order; never empty (the registration goes with its last callee).
    pub callees: Vec<Callee>,
    /// Some callee has a `concurrency` limit: only then are invocations counted.
    limited: bool,
    /// The next round-robin position.
    next: usize,
    /// When its first callee created it (registration meta API).
    pub created: jiff::Timestamp,
}

/// One callee of a registration.
#[derive(Debug)]
pub struct Callee {
    pub peer: Arc<Peer>,
    /// REGISTER.Options.concurrency: the most invocations it runs at once.
    pub concurrency: Option<NonZeroU32>,
    /// Its invocations of this registration in flight, counted only under a limit.
    running: u32,
}

impl Callee {
    fn is_free(&self) -> bool {
        self.concurrency.is_none_or(|n| self.running < n.get())
    }
}

impl Registration {
    /// The callee for the next call under the invocation policy, among those below their
    /// `concurrency` (whose count it takes); `None` when every callee is at its limit.
    fn pick(&mut self) -> Option<&Callee> {
        let n = self.callees.len();
        if !self.limited {
            let index = match self.invoke {
                InvokePolicy::Single | InvokePolicy::First => 0,
                InvokePolicy::Last => n - 1,
                InvokePolicy::Random => rand::random_range(0..n),
                InvokePolicy::RoundRobin => {
                    let i = self.next % n;
                    self.next = (i + 1) % n;
                    i
                }
            };
            return Some(&self.callees[index]);
        }
        let index = match self.invoke {
            InvokePolicy::Single | InvokePolicy::First => {
                self.callees.iter().position(Callee::is_free)?
            }
            InvokePolicy::Last => self.callees.iter().rposition(Callee::is_free)?,
            InvokePolicy::Random => {
                let free = self.callees.iter().filter(|c| c.is_free()).count();
                if free == 0 {
                    return None;
                }
                let nth = rand::random_range(0..free);
                self.callees
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.is_free())
                    .nth(nth)?
                    .0
            }
            InvokePolicy::RoundRobin => {
                let start = self.next % n;
                let i = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&i| self.callees[i].is_free())?;
                self.next = (i + 1) % n;
                i
            }
        };
        let callee = &mut self.callees[index];
        if callee.concurrency.is_some() {
            callee.running += 1;
        }
        Some(callee)
    }

    fn has_free_callee(&self) -> bool {
        !self.limited || self.callees.iter().any(Callee::is_free)
    }
}

/// What a REGISTER changed, for the registration meta events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub id: Id,
    /// The registration did not exist before (`on_create`).
    pub created: bool,
}

/// A registration a leaving session was removed from, for the meta events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unregistered {
    pub id: Id,
    /// It went with this session, its last callee (`on_delete`).
    pub deleted: bool,
}

/// Why a REGISTER was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// Registered already, with `single`, or by this same session.
    AlreadyExists,
    /// Registered already with another invocation policy.
    DifferentPolicy(InvokePolicy),
}

/// Why a call cannot be routed now.
#[derive(Debug, PartialEq, Eq)]
pub enum NoRoute {
    /// No registration matches the procedure.
    NoRegistration,
    /// Every callee of the registration runs as many invocations as its `concurrency` allows;
    /// `limit` is the highest of their limits.
    Busy { callees: usize, limit: u32 },
}

/// A call waiting for its callee's answer.
#[derive(Debug)]
pub struct Invocation {
    pub caller: Arc<Peer>,
    /// Counts against the caller's room until the invocation ends (see [`Awaited`]).
    pub awaited: Awaited,
    /// The CALL's request id, which RESULT and ERROR must carry back.
    pub caller_request: Id,
    pub callee: Id,
    /// Whether the caller asked for progressive results.
    pub receive_progress: bool,
    /// The caller is still sending chunks of a progressive call invocation.
    pub progressive: bool,
    /// The registration the call was routed to and the INVOCATION.Details the initiating CALL
    /// made: later chunks of a progressive call reuse both.
    pub registration: Id,
    pub details: crate::wamp::value::Dict,
    /// It holds one of its callee's `concurrency` slots until it ends.
    pub limited: bool,
}

/// Where a later chunk of a progressive call invocation goes: the same invocation, callee and
/// INVOCATION.Details as the initiating CALL.
#[derive(Debug)]
pub struct Chunk {
    pub invocation: Id,
    pub registration: Id,
    pub details: crate::wamp::value::Dict,
    pub callee: Arc<Peer>,
}

/// What a leaving session left behind in the dealer.
#[derive(Debug, Default)]
pub struct SessionRemoval {
    pub unregistered: Vec<Unregistered>,
    /// Calls the session was serving: their callers get an ERROR.
    pub orphaned: Vec<Invocation>,
    /// Calls the session made, by invocation id, with their callees.
    pub abandoned: Vec<(Id, Invocation, Arc<Peer>)>,
    /// Some abandoned call freed a callee's `concurrency` slot: waiting calls may go now.
    pub freed: bool,
}

/// A call in flight as CANCEL and call timeouts see it.
#[derive(Debug)]
pub struct Routed {
    pub registration: Id,
    pub callee: Arc<Peer>,
    pub procedure_uri: String,
    pub policy: MatchPolicy,
    /// The callee has a `concurrency` limit: the call took one of its slots.
    pub limited: bool,
}

#[derive(Debug, Default)]
pub struct Dealer {
    index: UriIndex<Id>,
    registrations: HashMap<Id, Registration>,
    invocations: HashMap<Id, Invocation>,
    /// (caller session, caller request) -> invocation id.
    by_caller: HashMap<(Id, Id), Id>,
    /// Callees of the invocations in flight, for INTERRUPT.
    callees: HashMap<Id, Arc<Peer>>,
    registration_ids: IdCounter,
    invocation_ids: IdCounter,
    /// Registration ids derived from (uri, policy), the same on every node (in a cluster).
    derived_ids: bool,
}

impl Dealer {
    /// From now on, new registrations get ids derived from their (uri, policy).
    pub fn derive_ids(&mut self) {
        self.derived_ids = true;
    }

    fn new_id(&self, uri: &str, policy: MatchPolicy) -> Id {
        if self.derived_ids {
            let id = crate::wamp::id::derived_id("registration", policy.name(), uri);
            if !self.registrations.contains_key(&id) {
                return id;
            }
        }
        self.registration_ids.next()
    }

    /// Registers `callee` for (uri, policy) with `invoke`, running at most `concurrency`
    /// invocations at once when given: a new registration, or one more callee of a shared one
    /// (same id).
    pub fn register(
        &mut self,
        callee: &Arc<Peer>,
        uri: &str,
        policy: MatchPolicy,
        invoke: InvokePolicy,
        concurrency: Option<NonZeroU32>,
    ) -> Result<Registered, RegisterRefusal> {
        let mut entry = Callee {
            peer: Arc::clone(callee),
            concurrency,
            running: 0,
        };
        if let Some(id) = self.index.get(uri, policy).copied() {
            let Some(existing) = self.registrations.get_mut(&id) else {
                return Err(RegisterRefusal::AlreadyExists);
            };
            if existing.invoke != invoke {
                return Err(RegisterRefusal::DifferentPolicy(existing.invoke));
            }
            if invoke == InvokePolicy::Single
                || existing
                    .callees
                    .iter()
                    .any(|c| c.peer.session == callee.session)
            {
                return Err(RegisterRefusal::AlreadyExists);
            }
            if concurrency.is_some() {
                // A callee back in a shared registration it left may still run invocations
                // from before: they count, as their end gives a slot back.
                entry.running = self
                    .invocations
                    .values()
                    .filter(|i| i.limited && i.registration == id && i.callee == callee.session)
                    .count()
                    .try_into()
                    .unwrap_or(u32::MAX);
                existing.limited = true;
            }
            existing.callees.push(entry);
            return Ok(Registered { id, created: false });
        }
        let id = self.new_id(uri, policy);
        self.index.insert(uri, policy, id);
        let registration = Registration {
            id,
            uri: uri.to_owned(),
            policy,
            invoke,
            callees: vec![entry],
            limited: concurrency.is_some(),
            next: 0,
            created: jiff::Timestamp::now(),
        };
        self.registrations.insert(id, registration);
        Ok(Registered { id, created: true })
    }

    /// Removes `session` from a registration: `None` when it is not one of its callees, else
    /// whether the registration went with it (its last callee).
    pub fn unregister(&mut self, session: Id, registration: Id) -> Option<bool> {
        let r = self.registrations.get_mut(&registration)?;
        let before = r.callees.len();
        r.callees.retain(|c| c.peer.session != session);
        if r.callees.len() == before {
            return None;
        }
        r.limited = r.callees.iter().any(|c| c.concurrency.is_some());
        if r.callees.is_empty() {
            self.index.remove(&r.uri, r.policy);
            self.registrations.remove(&registration);
            return Some(true);
        }
        Some(false)
    }

    /// The registration a call to `procedure` would go to: exact, then the longest prefix,
    /// then the most specific wildcard.
    pub fn best_match(&self, procedure: &str) -> Option<Id> {
        self.index
            .exact_match(procedure)
            .or_else(|| self.index.longest_prefix(procedure).map(|(_, id)| id))
            .or_else(|| self.index.best_wildcard(procedure).map(|(_, id)| id))
            .copied()
    }

    /// The registration for exactly (uri, policy), if any.
    pub fn lookup(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        self.index.get(uri, policy).copied()
    }

    pub fn registration(&self, id: Id) -> Option<&Registration> {
        self.registrations.get(&id)
    }

    /// Every registration, for the meta API.
    pub fn registrations(&self) -> impl Iterator<Item = &Registration> {
        self.registrations.values()
    }

    /// The registration a call to `procedure` goes to and the callee chosen for this call
    /// (which takes one of its `concurrency` slots, if it has a limit).
    pub fn route(&mut self, procedure: &str) -> Result<Routed, NoRoute> {
        let registration = self
            .best_match(procedure)
            .and_then(|id| self.registrations.get_mut(&id))
            .ok_or(NoRoute::NoRegistration)?;
        let (id, uri, policy) = (registration.id, &registration.uri, registration.policy);
        let procedure_uri = uri.clone();
        let Some(callee) = registration.pick() else {
            let limit = registration
                .callees
                .iter()
                .filter_map(|c| c.concurrency.map(NonZeroU32::get))
                .max()
                .unwrap_or(0);
            let callees = registration.callees.len();
            return Err(NoRoute::Busy { callees, limit });
        };
        Ok(Routed {
            registration: id,
            callee: Arc::clone(&callee.peer),
            procedure_uri,
            policy,
            limited: callee.concurrency.is_some(),
        })
    }

    /// Like [`route`](Self::route), to the callee `session` of the registration (uri, policy)
    /// that another node's dealer chose for a call. That registration, not this dealer's best
    /// match: a better one may have reached this node's mirror before the caller's.
    pub fn route_to(
        &mut self,
        (uri, policy): (&str, MatchPolicy),
        session: Id,
    ) -> Result<Routed, NoRoute> {
        let registration = self
            .lookup(uri, policy)
            .and_then(|id| self.registrations.get_mut(&id))
            .ok_or(NoRoute::NoRegistration)?;
        let (id, policy, procedure_uri) = (
            registration.id,
            registration.policy,
            registration.uri.clone(),
        );
        let callee = registration
            .callees
            .iter_mut()
            .find(|c| c.peer.session == session)
            .ok_or(NoRoute::NoRegistration)?;
        if !callee.is_free() {
            let limit = callee.concurrency.map_or(0, NonZeroU32::get);
            return Err(NoRoute::Busy { callees: 1, limit });
        }
        if callee.concurrency.is_some() {
            callee.running += 1;
        }
        Ok(Routed {
            registration: id,
            callee: Arc::clone(&callee.peer),
            procedure_uri,
            policy,
            limited: callee.concurrency.is_some(),
        })
    }

    /// Puts the callees of (uri, policy) in the order of `sessions` (the cluster registry's
    /// order, the same on every node, so `first` and `last` agree); callees not listed keep
    /// their places after them.
    pub fn order_callees(&mut self, uri: &str, policy: MatchPolicy, sessions: &[Id]) {
        let Some(id) = self.index.get(uri, policy).copied() else {
            return;
        };
        if let Some(r) = self.registrations.get_mut(&id) {
            r.callees.sort_by_key(|c| {
                sessions
                    .iter()
                    .position(|s| *s == c.peer.session)
                    .unwrap_or(usize::MAX)
            });
        }
    }

    /// Whether [`route`](Self::route) would find a callee for `procedure` now.
    pub fn can_route(&self, procedure: &str) -> bool {
        self.best_match(procedure)
            .and_then(|id| self.registrations.get(&id))
            .is_some_and(Registration::has_free_callee)
    }

    /// Gives back the `concurrency` slot a routed call took at `callee` (its invocation ended,
    /// or never started); nothing when the callee has left the registration.
    pub fn release(&mut self, registration: Id, callee: Id) {
        let Some(r) = self.registrations.get_mut(&registration) else {
            return;
        };
        if let Some(c) = r.callees.iter_mut().find(|c| c.peer.session == callee) {
            c.running = c.running.saturating_sub(1);
        }
    }

    /// Records a call in flight and returns its invocation id.
    pub fn start_invocation(&mut self, invocation: Invocation, callee: Arc<Peer>) -> Id {
        let id = self.reserve_invocation_id();
        self.start_invocation_as(id, invocation, callee);
        id
    }

    /// An invocation id for a call that waits for its callee (a call queue).
    pub fn reserve_invocation_id(&mut self) -> Id {
        self.invocation_ids.next()
    }

    /// Records a call in flight under the id reserved for it.
    pub fn start_invocation_as(&mut self, id: Id, invocation: Invocation, callee: Arc<Peer>) {
        self.by_caller
            .insert((invocation.caller.session, invocation.caller_request), id);
        self.callees.insert(id, callee);
        self.invocations.insert(id, invocation);
    }

    /// The invocation `request` of `callee`, if it exists and belongs to that callee.
    pub fn invocation(&self, callee: Id, request: Id) -> Option<&Invocation> {
        self.invocations
            .get(&request)
            .filter(|i| i.callee == callee)
    }

    /// Ends the invocation `request` of `callee` (final YIELD or ERROR).
    pub fn finish_invocation(&mut self, callee: Id, request: Id) -> Option<Invocation> {
        self.invocation(callee, request)?;
        self.remove_invocation(request)
    }

    /// The invocation id and callee of the call `request` of `caller`, if still in flight.
    pub fn find_call(&self, caller: Id, request: Id) -> Option<(Id, Arc<Peer>)> {
        let id = *self.by_caller.get(&(caller, request))?;
        Some((id, Arc::clone(self.callees.get(&id)?)))
    }

    /// Ends an invocation whatever its callee (cancel, timeout).
    pub fn remove_invocation(&mut self, id: Id) -> Option<Invocation> {
        let invocation = self.invocations.remove(&id)?;
        self.by_caller
            .remove(&(invocation.caller.session, invocation.caller_request));
        self.callees.remove(&id);
        if invocation.limited {
            self.release(invocation.registration, invocation.callee);
        }
        Some(invocation)
    }

    /// A later chunk of the progressive call `request` of `caller`, if that call is still open
    /// for chunks; the call closes for chunks when `progress` is false (its final chunk).
    pub fn continue_progressive(
        &mut self,
        caller: Id,
        request: Id,
        progress: bool,
    ) -> Option<Chunk> {
        let id = *self.by_caller.get(&(caller, request))?;
        let invocation = self.invocations.get_mut(&id)?;
        if !invocation.progressive {
            return None;
        }
        invocation.progressive = progress;
        Some(Chunk {
            invocation: id,
            registration: invocation.registration,
            details: invocation.details.clone(),
            callee: Arc::clone(self.callees.get(&id)?),
        })
    }

    /// Whether the call `request` of `caller` is a progressive call still open for chunks.
    pub fn is_progressive_open(&self, caller: Id, request: Id) -> bool {
        self.by_caller
            .get(&(caller, request))
            .and_then(|id| self.invocations.get(id))
            .is_some_and(|i| i.progressive)
    }

    /// Removes everything of a leaving session: its registrations (returned for the meta
    /// events), the calls it made (returned with their callees, so a callee still receiving
    /// progressive chunks can be interrupted), and the calls it was serving (returned so their
    /// callers can be told).
    pub fn remove_session(&mut self, session: Id) -> SessionRemoval {
        let owned: Vec<Id> = self
            .registrations
            .values()
            .filter(|r| r.callees.iter().any(|c| c.peer.session == session))
            .map(|r| r.id)
            .collect();
        let mut removal = SessionRemoval::default();
        for id in owned {
            if let Some(deleted) = self.unregister(session, id) {
                removal.unregistered.push(Unregistered { id, deleted });
            }
        }
        let ended: Vec<Id> = self
            .invocations
            .iter()
            .filter(|(_, i)| i.callee == session || i.caller.session == session)
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            let callee = self.callees.get(&id).cloned();
            let Some(invocation) = self.remove_invocation(id) else {
                continue;
            };
            if invocation.callee == session {
                if invocation.caller.session != session {
                    removal.orphaned.push(invocation);
                }
            } else if let Some(callee) = callee {
                removal.freed |= invocation.limited;
                removal.abandoned.push((id, invocation, callee));
            }
        }
        removal
    }

    pub fn registration_count(&self) -> usize {
        self.registrations.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::peer::Outbound;
    use crate::wamp::serializer::Serialization;

    fn peer(session: Id) -> Arc<Peer> {
        let (outbound, rx) = Outbound::new(4);
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

    #[test]
    fn exact_then_longest_prefix_then_wildcard() {
        let mut d = Dealer::default();
        let p = peer(1);
        let single = InvokePolicy::Single;
        let w = d
            .register(&p, "com..f", MatchPolicy::Wildcard, single, None)
            .unwrap()
            .id;
        let short = d
            .register(&p, "com", MatchPolicy::Prefix, single, None)
            .unwrap()
            .id;
        let long = d
            .register(&p, "com.a", MatchPolicy::Prefix, single, None)
            .unwrap()
            .id;
        let exact = d
            .register(&p, "com.a.f", MatchPolicy::Exact, single, None)
            .unwrap()
            .id;
        assert_eq!(d.best_match("com.a.f"), Some(exact));
        assert_eq!(d.route("com.a.f").unwrap().registration, exact);
        assert_eq!(d.route("com.a.g").unwrap().registration, long);
        assert_eq!(d.route("com.b.f").unwrap().registration, short);
        d.unregister(1, short);
        assert_eq!(d.route("com.b.f").unwrap().registration, w);
        assert_eq!(d.route("org.x").unwrap_err(), NoRoute::NoRegistration);
    }

    #[test]
    fn overlapping_prefixes_on_the_string_longest_wins() {
        let mut d = Dealer::default();
        let p = peer(1);
        let single = InvokePolicy::Single;
        let mut register = |uri, policy| d.register(&p, uri, policy, single, None).unwrap().id;
        let app = register("com.myapp", MatchPolicy::Prefix);
        let emergency = register("com.myapp.topic.emergency", MatchPolicy::Prefix);
        let wildcard = register("com.myapp2.", MatchPolicy::Wildcard);
        // The spec's example: the longer prefix covers `emergency-low` on the string.
        assert_eq!(
            d.best_match("com.myapp.topic.emergency-low"),
            Some(emergency)
        );
        assert_eq!(d.best_match("com.myapp.topic.emergency.x"), Some(emergency));
        assert_eq!(d.best_match("com.myapp.topic.emergenc"), Some(app));
        // A prefix beats a wildcard, even where it ends inside a component.
        assert_eq!(d.best_match("com.myapp2.x"), Some(app));
        assert_eq!(d.best_match("com.myapp"), Some(app));
        d.unregister(1, app);
        assert_eq!(d.best_match("com.myapp2.x"), Some(wildcard));
        assert_eq!(d.best_match("com.myapp2"), None);
    }

    #[test]
    fn a_forwarded_call_goes_to_the_registration_the_caller_node_chose() {
        let mut d = Dealer::default();
        let single = InvokePolicy::Single;
        let prefix = d
            .register(&peer(1), "com.p", MatchPolicy::Prefix, single, None)
            .unwrap()
            .id;
        // An exact registration on a third node that the caller's node had not seen yet.
        d.register(&peer(2), "com.p.x.run", MatchPolicy::Exact, single, None)
            .unwrap();
        let routed = d
            .route_to(("com.p", MatchPolicy::Prefix), 1)
            .expect("the prefix callee takes the call");
        assert_eq!(routed.registration, prefix);
        assert_eq!(
            d.route_to(("com.p", MatchPolicy::Prefix), 2).unwrap_err(),
            NoRoute::NoRegistration
        );
    }

    #[test]
    fn duplicate_registration_is_refused() {
        let mut d = Dealer::default();
        let single = InvokePolicy::Single;
        assert!(
            d.register(&peer(1), "p", MatchPolicy::Exact, single, None)
                .is_ok()
        );
        assert_eq!(
            d.register(&peer(2), "p", MatchPolicy::Exact, single, None),
            Err(RegisterRefusal::AlreadyExists)
        );
        assert_eq!(
            d.register(
                &peer(2),
                "p",
                MatchPolicy::Exact,
                InvokePolicy::RoundRobin,
                None
            ),
            Err(RegisterRefusal::DifferentPolicy(single))
        );
        assert!(
            d.register(&peer(2), "p", MatchPolicy::Prefix, single, None)
                .is_ok()
        );
    }

    #[test]
    fn only_the_owner_unregisters() {
        let mut d = Dealer::default();
        let id = d
            .register(
                &peer(1),
                "p",
                MatchPolicy::Exact,
                InvokePolicy::Single,
                None,
            )
            .unwrap()
            .id;
        assert_eq!(d.unregister(2, id), None);
        assert_eq!(d.unregister(1, id), Some(true));
        assert_eq!(d.unregister(1, id), None);
    }

    #[test]
    fn leaving_callee_orphans_its_invocations() {
        let mut d = Dealer::default();
        let caller = peer(1);
        let callee = peer(2);
        d.register(&callee, "p", MatchPolicy::Exact, InvokePolicy::Single, None)
            .unwrap();
        let inv = d.start_invocation(
            Invocation {
                awaited: Awaited::new(&caller.outbound, &callee.outbound),
                caller: Arc::clone(&caller),
                caller_request: 7,
                callee: 2,
                receive_progress: false,
                progressive: false,
                registration: 1,
                details: Default::default(),
                limited: false,
            },
            callee,
        );
        assert_eq!(d.find_call(1, 7).map(|(id, _)| id), Some(inv));
        assert!(
            d.invocation(3, inv).is_none(),
            "another session cannot answer"
        );
        let removal = d.remove_session(2);
        let orphans = removal.orphaned;
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].caller_request, 7);
        assert!(removal.abandoned.is_empty());
        assert_eq!(removal.unregistered.len(), 1);
        assert!(removal.unregistered[0].deleted);
        assert_eq!(d.registration_count(), 0);
        assert!(d.invocation(2, inv).is_none());
        assert!(d.find_call(1, 7).is_none());
    }

    #[test]
    fn shared_registrations_pick_callees_by_policy() {
        let mut d = Dealer::default();
        let (a, b, c) = (peer(1), peer(2), peer(3));
        for policy in [
            InvokePolicy::RoundRobin,
            InvokePolicy::First,
            InvokePolicy::Last,
        ] {
            let uri = policy.name();
            let first = d
                .register(&a, uri, MatchPolicy::Exact, policy, None)
                .unwrap();
            assert!(first.created);
            let id = first.id;
            let shared = Ok(Registered { id, created: false });
            assert_eq!(
                d.register(&b, uri, MatchPolicy::Exact, policy, None),
                shared
            );
            assert_eq!(
                d.register(&c, uri, MatchPolicy::Exact, policy, None),
                shared
            );
            assert_eq!(
                d.register(&c, uri, MatchPolicy::Exact, policy, None),
                Err(RegisterRefusal::AlreadyExists),
                "one session registers once"
            );
        }
        let picks = |d: &mut Dealer, uri: &str| -> Vec<Id> {
            (0..4)
                .map(|_| d.route(uri).unwrap().callee.session)
                .collect()
        };
        assert_eq!(picks(&mut d, "roundrobin"), vec![1, 2, 3, 1]);
        assert_eq!(picks(&mut d, "first"), vec![1, 1, 1, 1]);
        assert_eq!(picks(&mut d, "last"), vec![3, 3, 3, 3]);
        // The round robin goes on over the callees that remain.
        let shared = d.route("roundrobin").unwrap().registration;
        assert_eq!(d.unregister(2, shared), Some(false));
        let after: Vec<Id> = picks(&mut d, "roundrobin");
        assert!(after.iter().all(|s| *s == 1 || *s == 3), "{after:?}");
        assert!(after.contains(&1) && after.contains(&3));
        // First goes to the next in line when the first leaves; the last one out removes it.
        d.remove_session(1);
        assert_eq!(picks(&mut d, "first"), vec![2, 2, 2, 2]);
        d.remove_session(2);
        d.remove_session(3);
        assert_eq!(d.registration_count(), 0);
    }

    #[test]
    fn callees_at_their_concurrency_are_skipped() {
        let mut d = Dealer::default();
        let (a, b, c) = (peer(1), peer(2), peer(3));
        let one = NonZeroU32::new(1);
        let rr = InvokePolicy::RoundRobin;
        let id = d.register(&a, "p", MatchPolicy::Exact, rr, one).unwrap().id;
        d.register(&b, "p", MatchPolicy::Exact, rr, one).unwrap();
        let pick = |d: &mut Dealer| d.route("p").map(|r| (r.callee.session, r.limited));
        assert_eq!(pick(&mut d), Ok((1, true)));
        assert_eq!(pick(&mut d), Ok((2, true)));
        assert!(!d.can_route("p"));
        assert_eq!(
            pick(&mut d),
            Err(NoRoute::Busy {
                callees: 2,
                limit: 1
            })
        );
        d.release(id, 2);
        assert!(d.can_route("p"));
        assert_eq!(
            pick(&mut d),
            Ok((2, true)),
            "the free one, whatever the turn"
        );
        // A callee without a limit is always free; the others stay counted.
        d.register(&c, "p", MatchPolicy::Exact, rr, None).unwrap();
        assert_eq!(pick(&mut d), Ok((3, false)));
        assert_eq!(pick(&mut d), Ok((3, false)));
        d.unregister(3, id);
        assert_eq!(
            pick(&mut d),
            Err(NoRoute::Busy {
                callees: 2,
                limit: 1
            })
        );
        // `last` keeps its order among the free callees.
        let last = InvokePolicy::Last;
        d.register(&a, "q", MatchPolicy::Exact, last, None).unwrap();
        d.register(&b, "q", MatchPolicy::Exact, last, one).unwrap();
        let q = |d: &mut Dealer| d.route("q").unwrap().callee.session;
        assert_eq!((q(&mut d), q(&mut d), q(&mut d)), (2, 1, 1));
    }

    #[test]
    fn a_callee_back_in_a_shared_registration_counts_its_earlier_invocations() {
        let mut d = Dealer::default();
        let (caller, a, b) = (peer(9), peer(1), peer(2));
        let one = NonZeroU32::new(1);
        let rr = InvokePolicy::RoundRobin;
        let id = d.register(&a, "p", MatchPolicy::Exact, rr, one).unwrap().id;
        d.register(&b, "p", MatchPolicy::Exact, rr, None).unwrap();
        let routed = d.route("p").unwrap();
        assert_eq!((routed.callee.session, routed.limited), (1, true));
        let invocation = Invocation {
            awaited: Awaited::new(&caller.outbound, &a.outbound),
            caller: Arc::clone(&caller),
            caller_request: 1,
            callee: 1,
            receive_progress: false,
            progressive: false,
            registration: id,
            details: Default::default(),
            limited: true,
        };
        let inv = d.start_invocation(invocation, Arc::clone(&a));
        assert_eq!(d.unregister(1, id), Some(false));
        d.register(&a, "p", MatchPolicy::Exact, rr, one).unwrap();
        let picks: Vec<Id> = (0..3)
            .map(|_| d.route("p").unwrap().callee.session)
            .collect();
        assert_eq!(picks, [2, 2, 2], "a still runs its earlier invocation");
        d.finish_invocation(1, inv).unwrap();
        assert_eq!(d.route("p").unwrap().callee.session, 1);
    }
}
