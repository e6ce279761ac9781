//! The dealer: a realm's registrations and the calls in flight between callers and callees.
//!
//! A call is routed to the best matching registration: exact, then the longest prefix, then
//! the most specific wildcard. The INVOCATION goes to the callee's queue; its YIELD or ERROR
//! comes back through `invocations`, keyed by the dealer-chosen invocation id.

use std::collections::HashMap;
use std::sync::Arc;

use crate::router::peer::Peer;
use crate::router::uri_index::UriIndex;
use crate::wamp::id::{Id, IdCounter};
use crate::wamp::uri::MatchPolicy;

#[derive(Debug)]
pub struct Registration {
    pub id: Id,
    pub uri: String,
    pub policy: MatchPolicy,
    pub callee: Arc<Peer>,
}

/// A call waiting for its callee's answer.
#[derive(Debug)]
pub struct Invocation {
    pub caller: Arc<Peer>,
    /// The CALL's request id, which RESULT and ERROR must carry back.
    pub caller_request: Id,
    pub callee: Id,
    /// Whether the caller asked for progressive results.
    pub receive_progress: bool,
}

#[derive(Debug, Default)]
pub struct Dealer {
    index: UriIndex<Id>,
    registrations: HashMap<Id, Registration>,
    invocations: HashMap<Id, Invocation>,
    registration_ids: IdCounter,
    invocation_ids: IdCounter,
}

impl Dealer {
    /// Registers `callee` for (uri, policy); `None` when that procedure is already registered.
    pub fn register(&mut self, callee: &Arc<Peer>, uri: &str, policy: MatchPolicy) -> Option<Id> {
        if self.index.get(uri, policy).is_some() {
            return None;
        }
        let id = self.registration_ids.next();
        self.index.insert(uri, policy, id);
        let registration = Registration {
            id,
            uri: uri.to_owned(),
            policy,
            callee: Arc::clone(callee),
        };
        self.registrations.insert(id, registration);
        Some(id)
    }

    /// Removes a registration owned by `session`; false when there is none.
    pub fn unregister(&mut self, session: Id, registration: Id) -> bool {
        match self.registrations.get(&registration) {
            Some(r) if r.callee.session == session => {
                self.index.remove(&r.uri, r.policy);
                self.registrations.remove(&registration);
                true
            }
            _ => false,
        }
    }

    /// The registration a call to `procedure` goes to.
    pub fn route(&self, procedure: &str) -> Option<&Registration> {
        let id = self
            .index
            .exact_match(procedure)
            .or_else(|| {
                self.index
                    .prefix_matches(procedure)
                    .next()
                    .map(|(_, id)| id)
            })
            .or_else(|| self.index.best_wildcard(procedure).map(|(_, id)| id))?;
        self.registrations.get(id)
    }

    /// Records a call in flight and returns its invocation id.
    pub fn start_invocation(&mut self, invocation: Invocation) -> Id {
        let id = self.invocation_ids.next();
        self.invocations.insert(id, invocation);
        id
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
        self.invocations.remove(&request)
    }

    /// Removes everything of a leaving session: its registrations, the calls it made, and the
    /// calls it was serving, which are returned so their callers can be told.
    pub fn remove_session(&mut self, session: Id) -> Vec<Invocation> {
        let owned: Vec<Id> = self
            .registrations
            .values()
            .filter(|r| r.callee.session == session)
            .map(|r| r.id)
            .collect();
        for id in owned {
            self.unregister(session, id);
        }
        let mut orphaned = Vec::new();
        self.invocations.retain(|_, invocation| {
            if invocation.callee == session {
                orphaned.push(Invocation {
                    caller: Arc::clone(&invocation.caller),
                    caller_request: invocation.caller_request,
                    callee: invocation.callee,
                    receive_progress: invocation.receive_progress,
                });
                false
            } else {
                invocation.caller.session != session
            }
        });
        orphaned
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
        })
    }

    #[test]
    fn exact_then_longest_prefix_then_wildcard() {
        let mut d = Dealer::default();
        let p = peer(1);
        let w = d.register(&p, "com..f", MatchPolicy::Wildcard).unwrap();
        let short = d.register(&p, "com", MatchPolicy::Prefix).unwrap();
        let long = d.register(&p, "com.a", MatchPolicy::Prefix).unwrap();
        let exact = d.register(&p, "com.a.f", MatchPolicy::Exact).unwrap();
        assert_eq!(d.route("com.a.f").unwrap().id, exact);
        assert_eq!(d.route("com.a.g").unwrap().id, long);
        assert_eq!(d.route("com.b.f").unwrap().id, short);
        d.unregister(1, short);
        assert_eq!(d.route("com.b.f").unwrap().id, w);
        assert!(d.route("org.x").is_none());
    }

    #[test]
    fn duplicate_registration_is_refused() {
        let mut d = Dealer::default();
        assert!(d.register(&peer(1), "p", MatchPolicy::Exact).is_some());
        assert!(d.register(&peer(2), "p", MatchPolicy::Exact).is_none());
        assert!(d.register(&peer(2), "p", MatchPolicy::Prefix).is_some());
    }

    #[test]
    fn only_the_owner_unregisters() {
        let mut d = Dealer::default();
        let id = d.register(&peer(1), "p", MatchPolicy::Exact).unwrap();
        assert!(!d.unregister(2, id));
        assert!(d.unregister(1, id));
        assert!(!d.unregister(1, id));
    }

    #[test]
    fn leaving_callee_orphans_its_invocations() {
        let mut d = Dealer::default();
        let caller = peer(1);
        d.register(&peer(2), "p", MatchPolicy::Exact).unwrap();
        let inv = d.start_invocation(Invocation {
            caller: Arc::clone(&caller),
            caller_request: 7,
            callee: 2,
            receive_progress: false,
        });
        assert!(
            d.invocation(3, inv).is_none(),
            "another session cannot answer"
        );
        let orphans = d.remove_session(2);
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].caller_request, 7);
        assert_eq!(d.registration_count(), 0);
        assert!(d.invocation(2, inv).is_none());
    }
}
