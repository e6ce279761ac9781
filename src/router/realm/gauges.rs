//! What a realm holds right now, counted when asked (a metrics scrape), so that counting
//! costs the publish and call paths nothing.

use std::collections::BTreeMap;

use crate::router::realm::Realm;

/// A realm's current contents.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RealmGauges {
    /// Client sessions by transport kind (`websocket`, `rawsocket`, `longpoll`, ...);
    /// Junction's internal sessions are not counted.
    pub sessions: BTreeMap<&'static str, usize>,
    pub subscriptions: usize,
    pub registrations: usize,
}

impl Realm {
    pub fn gauges(&self) -> RealmGauges {
        let mut sessions = BTreeMap::new();
        for session in self.sessions.select(|s| !s.peer.internal) {
            *sessions.entry(session.transport.kind).or_default() += 1;
        }
        RealmGauges {
            sessions,
            subscriptions: self.broker.read().subscriptions().count(),
            registrations: self.dealer.lock().registration_count(),
        }
    }
}
