//! The broker: a realm's subscriptions and the delivery of publications to them.
//!
//! A subscription is one (topic pattern, match policy) shared by all sessions subscribed to it,
//! so its id is the same for each of them. Delivery encodes the EVENT once per subscription and
//! serializer and hands the same `Bytes` to every receiving session's queue.
//!
//! Event retention: the last publication with `retain` on a topic is kept and replayed, with
//! `Details.retained`, to a new subscription that asks for it (`get_retained`).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::router::peer::Peer;
use crate::router::uri_index::{UriIndex, pattern_matches};
use crate::wamp::id::{Id, IdCounter};
use crate::wamp::message::{EventRef, Payload};
use crate::wamp::serializer::{SERIALIZATIONS, Serialization};
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, Value};

#[derive(Debug)]
pub struct Subscription {
    pub id: Id,
    pub uri: String,
    pub policy: MatchPolicy,
    pub subscribers: HashMap<Id, Arc<Peer>>,
    /// When the first subscriber created it (subscription meta API).
    pub created: jiff::Timestamp,
}

/// What a SUBSCRIBE changed, for the subscription meta events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribed {
    pub id: Id,
    /// The subscription did not exist before (`on_create`).
    pub created: bool,
    /// The session was not subscribed yet (`on_subscribe`).
    pub added: bool,
}

#[derive(Debug, Default)]
pub struct Broker {
    index: UriIndex<Id>,
    subscriptions: HashMap<Id, Subscription>,
    ids: IdCounter,
    /// Retained events by topic. A mutex of its own, so publishing (under the broker's read
    /// lock) can retain.
    retained: Mutex<HashMap<String, RetainedEvent>>,
    /// Subscription ids derived from (uri, policy), the same on every node (in a cluster).
    derived_ids: bool,
    /// Told of every change to `retained`, under its lock, so changes reach it in the order
    /// they were made (the realm's event store).
    retained_sink: Option<Arc<dyn RetainedSink>>,
}

/// Where retained events go besides memory. Called with the retained map locked: it must
/// hand the change over without blocking.
pub trait RetainedSink: Send + Sync + std::fmt::Debug {
    fn retained(&self, topic: &str, event: &RetainedEvent);
    fn forgotten(&self, topic: &str);
}

/// The last retained publication on a topic.
#[derive(Debug, Clone)]
pub struct RetainedEvent {
    pub publication: Id,
    pub details: Dict,
    pub payload: Payload,
    /// The original publication's eligibility rules still apply on replay.
    pub audience: Audience,
}

/// Who may receive a publication, from PUBLISH.Options (exclude_me, exclude*, eligible*).
#[derive(Debug, Default, Clone)]
pub struct Audience {
    /// The publisher's session when `exclude_me` is true (the default).
    pub exclude_session: Option<Id>,
    pub exclude: Vec<Id>,
    pub exclude_authid: Vec<String>,
    pub exclude_authrole: Vec<String>,
    pub eligible: Option<Vec<Id>>,
    pub eligible_authid: Option<Vec<String>>,
    pub eligible_authrole: Option<Vec<String>>,
}

impl Audience {
    fn admits(&self, peer: &Peer) -> bool {
        if self.exclude_session == Some(peer.session)
            || self.exclude.contains(&peer.session)
            || self.exclude_authid.contains(&peer.authid)
            || self.exclude_authrole.contains(&peer.authrole)
        {
            return false;
        }
        self.eligible
            .as_ref()
            .is_none_or(|e| e.contains(&peer.session))
            && self
                .eligible_authid
                .as_ref()
                .is_none_or(|e| e.contains(&peer.authid))
            && self
                .eligible_authrole
                .as_ref()
                .is_none_or(|e| e.contains(&peer.authrole))
    }
}

/// One publication on its way to subscribers.
pub struct Publication<'a> {
    pub id: Id,
    pub topic: &'a str,
    /// EVENT.Details common to every receiver (publisher disclosure).
    pub details: Dict,
    pub payload: &'a Payload,
    pub audience: Audience,
}

impl Broker {
    /// A broker whose retained events are also handed to `sink`.
    pub fn with_retained_sink(sink: Option<Arc<dyn RetainedSink>>) -> Broker {
        Broker {
            retained_sink: sink,
            ..Broker::default()
        }
    }

    /// Puts back a retained event kept from an earlier run (not handed to the sink).
    pub fn restore_retained(&self, topic: String, event: RetainedEvent) {
        self.retained.lock().insert(topic, event);
    }

    /// Hands retained events to `sink` from now on (the realm's store, opened after the
    /// broker started): `stored` (the store's events) are put back on topics where nothing
    /// was retained meanwhile, and what was retained meanwhile (newer) is handed to the sink.
    /// Returns (events loaded, events handed over).
    pub fn attach_retained_sink(
        &mut self,
        sink: Arc<dyn RetainedSink>,
        stored: Vec<(String, RetainedEvent)>,
    ) -> (usize, usize) {
        let mut retained = self.retained.lock();
        for (topic, event) in retained.iter() {
            sink.retained(topic, event);
        }
        let handed = retained.len();
        let mut loaded = 0;
        for (topic, event) in stored {
            if let std::collections::hash_map::Entry::Vacant(slot) = retained.entry(topic) {
                slot.insert(event);
                loaded += 1;
            }
        }
        drop(retained);
        self.retained_sink = Some(sink);
        (loaded, handed)
    }

    /// From now on, new subscriptions get ids derived from their (uri, policy).
    pub fn derive_ids(&mut self) {
        self.derived_ids = true;
    }

    fn new_id(&self, uri: &str, policy: MatchPolicy) -> Id {
        if self.derived_ids {
            let id = crate::wamp::id::derived_id("subscription", policy.name(), uri);
            if !self.subscriptions.contains_key(&id) {
                return id;
            }
        }
        self.ids.next()
    }

    /// Adds `peer` to the subscription for (uri, policy), creating it if needed.
    pub fn subscribe(&mut self, peer: &Arc<Peer>, uri: &str, policy: MatchPolicy) -> Subscribed {
        let (id, created) = match self.index.get(uri, policy) {
            Some(id) => (*id, false),
            None => {
                let id = self.new_id(uri, policy);
                self.index.insert(uri, policy, id);
                let subscription = Subscription {
                    id,
                    uri: uri.to_owned(),
                    policy,
                    subscribers: HashMap::new(),
                    created: jiff::Timestamp::now(),
                };
                self.subscriptions.insert(id, subscription);
                (id, true)
            }
        };
        let added = self.subscriptions.get_mut(&id).is_some_and(|s| {
            s.subscribers
                .insert(peer.session, Arc::clone(peer))
                .is_none()
        });
        Subscribed { id, created, added }
    }

    /// Removes `session` from a subscription: `None` when it was not subscribed, else whether
    /// the subscription went with it (its last subscriber).
    pub fn unsubscribe(&mut self, session: Id, subscription: Id) -> Option<bool> {
        let s = self.subscriptions.get_mut(&subscription)?;
        s.subscribers.remove(&session)?;
        if s.subscribers.is_empty() {
            self.index.remove(&s.uri, s.policy);
            self.subscriptions.remove(&subscription);
            return Some(true);
        }
        Some(false)
    }

    /// The subscriptions `session` is in (a scan: for killing a session, not for hot paths).
    pub fn subscriptions_of(&self, session: Id) -> Vec<Id> {
        self.subscriptions
            .values()
            .filter(|s| s.subscribers.contains_key(&session))
            .map(|s| s.id)
            .collect()
    }

    /// Every subscription, for the meta API.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.values()
    }

    /// The subscription for exactly (uri, policy), if any.
    pub fn lookup(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        self.index.get(uri, policy).copied()
    }

    /// Every subscription a publication to `topic` would reach.
    pub fn matching(&self, topic: &str) -> Vec<Id> {
        let mut ids = Vec::new();
        self.index.for_each_match(topic, |_, _, id| ids.push(*id));
        ids
    }

    /// Sends EVENTs for `publication` to every admitted subscriber of every matching
    /// subscription. Returns how many EVENTs were queued.
    pub fn publish(&self, publication: &Publication<'_>) -> usize {
        let mut delivered = 0;
        self.index
            .for_each_match(publication.topic, |policy, _, id| {
                if let Some(subscription) = self.subscriptions.get(id) {
                    delivered += deliver(subscription, policy, publication);
                }
            });
        delivered
    }

    /// Sends EVENTs for `publication` to the admitted subscribers of one subscription (a
    /// publication from another node arrives once per subscription it is sent for).
    pub fn publish_to(&self, subscription: Id, publication: &Publication<'_>) -> usize {
        self.subscriptions
            .get(&subscription)
            .map_or(0, |s| deliver(s, s.policy, publication))
    }

    /// Whether a session that `publication` would be delivered to satisfies `pred`.
    pub fn reaches(&self, publication: &Publication<'_>, pred: impl Fn(&Peer) -> bool) -> bool {
        let mut found = false;
        self.index.for_each_match(publication.topic, |_, _, id| {
            found = found
                || self.subscriptions.get(id).is_some_and(|subscription| {
                    subscription
                        .subscribers
                        .values()
                        .any(|peer| publication.audience.admits(peer) && pred(peer))
                });
        });
        found
    }

    /// Whether any subscription (exact or pattern) matches `topic`.
    pub fn has_subscribers(&self, topic: &str) -> bool {
        let mut found = false;
        self.index.for_each_match(topic, |_, _, _| found = true);
        found
    }

    pub fn subscription(&self, id: Id) -> Option<&Subscription> {
        self.subscriptions.get(&id)
    }

    /// Keeps `publication` as the retained event of its topic (replacing the previous one).
    pub fn retain(&self, publication: &Publication<'_>) {
        let event = RetainedEvent {
            publication: publication.id,
            details: publication.details.clone(),
            payload: publication.payload.clone(),
            audience: publication.audience.clone(),
        };
        let mut retained = self.retained.lock();
        if let Some(sink) = &self.retained_sink {
            sink.retained(publication.topic, &event);
        }
        retained.insert(publication.topic.to_owned(), event);
    }

    /// Drops the retained event of `topic` (a deleted poller topic).
    pub fn forget_retained(&self, topic: &str) {
        let mut retained = self.retained.lock();
        if retained.remove(topic).is_some()
            && let Some(sink) = &self.retained_sink
        {
            sink.forgotten(topic);
        }
    }

    /// Sends `peer` the retained events its subscription matches, marked `retained`.
    /// Called under the broker's write lock right after SUBSCRIBED was queued, so no live
    /// event can overtake them.
    pub fn replay_retained(&self, peer: &Peer, subscription: Id) -> usize {
        let Some(sub) = self.subscriptions.get(&subscription) else {
            return 0;
        };
        let retained = self.retained.lock();
        let matching = retained
            .iter()
            .filter(|(topic, _)| pattern_matches(&sub.uri, sub.policy, topic));
        let mut replayed = 0;
        for (topic, event) in matching {
            if !event.audience.admits(peer) {
                continue;
            }
            let mut details = event.details.clone();
            details.insert("retained".into(), Value::Bool(true));
            if sub.policy != MatchPolicy::Exact {
                details.insert("topic".into(), Value::String(topic.clone()));
            }
            let frame = peer.serialization.try_encode_any(&EventRef {
                subscription,
                publication: event.publication,
                details: &details,
                payload: &event.payload,
            });
            match frame {
                Ok(frame) => {
                    if peer.deliver(frame) {
                        replayed += 1;
                    }
                }
                // A retained event with integers beyond 64 bits, for a MessagePack subscriber.
                Err(e) => tracing::warn!(
                    session = peer.session,
                    topic = %crate::log_text::peer_text(topic),
                    error = %e,
                    "retained event not replayed to the session"
                ),
            }
        }
        replayed
    }
}

fn deliver(
    subscription: &Subscription,
    policy: MatchPolicy,
    publication: &Publication<'_>,
) -> usize {
    // Pattern subscribers learn the concrete topic from Details.topic.
    let pattern_details;
    let details = if policy == MatchPolicy::Exact {
        &publication.details
    } else {
        let mut d = publication.details.clone();
        d.insert("topic".into(), Value::String(publication.topic.to_owned()));
        pattern_details = d;
        &pattern_details
    };
    let event = EventRef {
        subscription: subscription.id,
        publication: publication.id,
        details,
        payload: publication.payload,
    };
    // Per serialization: not encoded yet, the frame, or none (it cannot carry the payload).
    let mut frames: [Option<Option<Bytes>>; SERIALIZATIONS] = Default::default();
    let routed = crate::router::traffic::stamp();
    let mut delivered = 0;
    for peer in subscription.subscribers.values() {
        if !publication.audience.admits(peer) {
            continue;
        }
        let serialization: Serialization = peer.serialization;
        let frame = frames[serialization.index()].get_or_insert_with(|| {
            // `Realm::publish` refuses what a subscriber cannot receive before delivering;
            // this covers one that subscribed in between.
            serialization
                .try_encode_any(&event)
                .inspect_err(|e| {
                    tracing::warn!(
                        topic = %crate::log_text::peer_text(publication.topic),
                        serialization = serialization.name(),
                        error = %e,
                        "publication {} not delivered to the subscribers of this serialization",
                        publication.id
                    )
                })
                .ok()
        });
        if let Some(frame) = frame
            && peer.deliver_event(frame.clone(), routed)
        {
            delivered += 1;
        }
    }
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::peer::{Inbox, Outbound, Outgoing};

    fn peer(session: Id, serialization: Serialization) -> (Arc<Peer>, Inbox) {
        let (outbound, rx) = Outbound::new(16);
        let peer = Peer {
            session,
            authid: format!("user{session}"),
            authrole: "anonymous".into(),
            serialization,
            outbound,
            internal: false,
            features: Default::default(),
            node: None,
        };
        (Arc::new(peer), rx)
    }

    fn publication<'a>(topic: &'a str, payload: &'a Payload) -> Publication<'a> {
        Publication {
            id: 99,
            topic,
            details: Dict::new(),
            payload,
            audience: Audience::default(),
        }
    }

    fn frame(rx: &mut Inbox) -> Option<Bytes> {
        match rx.try_recv() {
            Some(Outgoing::Message(b)) => Some(b),
            _ => None,
        }
    }

    #[test]
    fn same_topic_same_subscription_id() {
        let mut broker = Broker::default();
        let (a, _ra) = peer(1, Serialization::Json);
        let (b, _rb) = peer(2, Serialization::Json);
        let s1 = broker.subscribe(&a, "com.t", MatchPolicy::Exact);
        let s2 = broker.subscribe(&b, "com.t", MatchPolicy::Exact);
        let s3 = broker.subscribe(&b, "com.t", MatchPolicy::Prefix);
        assert_eq!(s1.id, s2.id);
        assert_ne!(s1.id, s3.id);
        assert!(s1.created && s1.added);
        assert!(!s2.created && s2.added);
        let again = broker.subscribe(&b, "com.t", MatchPolicy::Exact);
        assert!(
            !again.created && !again.added,
            "a second SUBSCRIBE adds nothing"
        );
        let mut of_b = broker.subscriptions_of(2);
        of_b.sort();
        let mut expected = vec![s1.id, s3.id];
        expected.sort();
        assert_eq!(of_b, expected);
        assert_eq!(broker.matching("com.t.x"), vec![s3.id]);
        assert_eq!(broker.lookup("com.t", MatchPolicy::Prefix), Some(s3.id));
        assert_eq!(broker.unsubscribe(1, s1.id), Some(false));
        assert_eq!(broker.unsubscribe(1, s1.id), None);
        assert_eq!(broker.unsubscribe(2, s1.id), Some(true));
        assert!(broker.subscription(s1.id).is_none());
    }

    #[test]
    fn one_encoding_shared_by_subscribers_of_a_serializer() {
        let mut broker = Broker::default();
        let (a, mut ra) = peer(1, Serialization::Json);
        let (b, mut rb) = peer(2, Serialization::Json);
        let (c, mut rc) = peer(3, Serialization::MsgPack);
        let (d, mut rd) = peer(4, Serialization::Cbor);
        let (e, mut re) = peer(5, Serialization::Cbor);
        for p in [&a, &b, &c, &d, &e] {
            broker.subscribe(p, "com.t", MatchPolicy::Exact);
        }
        let payload = Payload::new(vec![Value::Int(7), Value::Bytes(vec![1])], Dict::new());
        assert_eq!(broker.publish(&publication("com.t", &payload)), 5);
        let (fa, fb, fc, fd, fe) = (
            frame(&mut ra).unwrap(),
            frame(&mut rb).unwrap(),
            frame(&mut rc).unwrap(),
            frame(&mut rd).unwrap(),
            frame(&mut re).unwrap(),
        );
        assert_eq!(
            fa.as_ptr(),
            fb.as_ptr(),
            "JSON subscribers share one buffer"
        );
        assert_eq!(
            fd.as_ptr(),
            fe.as_ptr(),
            "CBOR subscribers share one buffer"
        );
        assert_eq!(&fa[..], br#"[36,1,99,{},[7,"\u0000AQ=="]]"#);
        assert_eq!(Serialization::MsgPack.decode(&fc).unwrap().code(), 36);
        // array(5) 36 1 99 map(0) array(2) 7 bytes(1) 01
        assert_eq!(&fd[..], b"\x85\x18\x24\x01\x18\x63\xa0\x82\x07\x41\x01");
    }

    #[test]
    fn pattern_subscribers_get_the_topic() {
        let mut broker = Broker::default();
        let (a, mut ra) = peer(1, Serialization::Json);
        broker.subscribe(&a, "com.", MatchPolicy::Prefix);
        broker.subscribe(&a, "com..x", MatchPolicy::Wildcard);
        let payload = Payload::default();
        assert_eq!(broker.publish(&publication("com.a.x", &payload)), 2);
        let f = frame(&mut ra).unwrap();
        assert!(
            std::str::from_utf8(&f)
                .unwrap()
                .contains(r#""topic":"com.a.x""#)
        );
        assert!(frame(&mut ra).is_some());
        assert_eq!(broker.publish(&publication("org.a", &payload)), 0);
    }

    /// Records what a sink is told.
    #[derive(Debug, Default)]
    struct Told(parking_lot::Mutex<Vec<String>>);

    impl RetainedSink for Told {
        fn retained(&self, topic: &str, _: &RetainedEvent) {
            self.0.lock().push(topic.to_owned());
        }
        fn forgotten(&self, topic: &str) {
            self.0.lock().push(format!("-{topic}"));
        }
    }

    #[test]
    fn a_sink_attached_late_gets_what_was_retained_meanwhile_and_the_store_fills_the_rest() {
        let mut broker = Broker::default();
        let payload = Payload::new(vec![Value::from("meanwhile")], Dict::new());
        broker.retain(&publication("a", &payload));
        let stored = |id| RetainedEvent {
            publication: id,
            details: Dict::new(),
            payload: Payload::new(vec![Value::from("stored")], Dict::new()),
            audience: Audience::default(),
        };
        let sink = Arc::new(Told::default());
        let stored = vec![("a".to_owned(), stored(1)), ("b".to_owned(), stored(2))];
        assert_eq!(broker.attach_retained_sink(sink.clone(), stored), (1, 1));
        assert_eq!(*sink.0.lock(), ["a"]);
        let retained = broker.retained.lock();
        // The event retained meanwhile is newer than the store's: it stays.
        assert_eq!(retained["a"].publication, 99);
        assert_eq!(retained["b"].publication, 2);
        drop(retained);
        broker.retain(&publication("c", &payload));
        assert_eq!(*sink.0.lock(), ["a", "c"]);
    }

    #[test]
    fn retained_events_replay_to_matching_subscriptions() {
        let mut broker = Broker::default();
        let payload = Payload::new(vec![Value::Int(1)], Dict::new());
        broker.retain(&publication("com.a.x", &payload));
        let (a, mut ra) = peer(1, Serialization::Json);
        let exact = broker.subscribe(&a, "com.a.x", MatchPolicy::Exact).id;
        let prefix = broker.subscribe(&a, "com.a", MatchPolicy::Prefix).id;
        let other = broker.subscribe(&a, "com.b", MatchPolicy::Prefix).id;
        assert_eq!(broker.replay_retained(&a, exact), 1);
        let f = frame(&mut ra).unwrap();
        assert_eq!(&f[..], br#"[36,1,99,{"retained":true},[1]]"#);
        assert_eq!(broker.replay_retained(&a, prefix), 1);
        let f = String::from_utf8(frame(&mut ra).unwrap().to_vec()).unwrap();
        assert!(f.contains(r#""topic":"com.a.x""#), "{f}");
        assert_eq!(broker.replay_retained(&a, other), 0);
    }

    #[test]
    fn retained_events_keep_their_audience() {
        let broker = Broker::default();
        let payload = Payload::default();
        let mut p = publication("t", &payload);
        p.audience.exclude = vec![1];
        broker.retain(&p);
        let mut broker = broker;
        let (a, _ra) = peer(1, Serialization::Json);
        let (b, _rb) = peer(2, Serialization::Json);
        let sa = broker.subscribe(&a, "t", MatchPolicy::Exact).id;
        assert_eq!(broker.replay_retained(&a, sa), 0);
        assert_eq!(broker.replay_retained(&b, sa), 1);
    }

    #[test]
    fn audience_filters() {
        let mut broker = Broker::default();
        let (a, mut ra) = peer(1, Serialization::Json);
        let (b, mut rb) = peer(2, Serialization::Json);
        broker.subscribe(&a, "t", MatchPolicy::Exact);
        broker.subscribe(&b, "t", MatchPolicy::Exact);
        let payload = Payload::default();
        let mut p = publication("t", &payload);
        p.audience.exclude_session = Some(1);
        assert_eq!(broker.publish(&p), 1);
        assert!(frame(&mut ra).is_none());
        assert!(frame(&mut rb).is_some());
        p.audience = Audience {
            eligible_authid: Some(vec!["user1".into()]),
            ..Default::default()
        };
        assert_eq!(broker.publish(&p), 1);
        assert!(frame(&mut ra).is_some());
    }
}
