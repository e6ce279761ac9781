//! The meta events a realm publishes about itself: `wamp.session.on_join`/`on_leave`,
//! `wamp.subscription.on_*` and `wamp.registration.on_*`, with the spec's payloads.
//!
//! They go through the broker like any publication, from the router itself (no publisher
//! identity), and cost one index lookup when nobody subscribed to them (on a single node; in
//! a cluster they always go to the other nodes, whose subscribers this node cannot see).

use crate::router::broker::{Audience, Publication, Subscribed, Subscription};
use crate::router::dealer::{Registered, Registration};
use crate::router::peer::Peer;
use crate::router::realm::Realm;
use crate::router::session_table::JoinedSession;
use crate::wamp::id::{self, Id};
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// `SubscriptionDetails`: what `on_create` and `wamp.subscription.get` tell.
pub fn subscription_details(subscription: &Subscription) -> Value {
    let mut details = Dict::new();
    details.insert("id".into(), Value::from(subscription.id));
    details.insert(
        "created".into(),
        Value::from(subscription.created.to_string()),
    );
    details.insert("uri".into(), Value::from(subscription.uri.as_str()));
    details.insert("match".into(), Value::from(subscription.policy.name()));
    Value::Dict(details)
}

/// `RegistrationDetails`: what `on_create` and `wamp.registration.get` tell.
pub fn registration_details(registration: &Registration) -> Value {
    let mut details = Dict::new();
    details.insert("id".into(), Value::from(registration.id));
    details.insert(
        "created".into(),
        Value::from(registration.created.to_string()),
    );
    details.insert("uri".into(), Value::from(registration.uri.as_str()));
    details.insert("match".into(), Value::from(registration.policy.name()));
    details.insert("invoke".into(), Value::from(registration.invoke.name()));
    Value::Dict(details)
}

impl Realm {
    /// Publishes a meta event when someone listens; `args` is only built then, with no lock
    /// held (it may take the broker's or the dealer's).
    /// In a cluster, the other nodes' subscribers hear of this node's sessions too.
    fn publish_meta(&self, topic: &str, args: impl FnOnce() -> Option<Vec<Value>>) {
        let clustered = self.backplane().is_some();
        if !self.meta_api || !(clustered || self.broker.read().has_subscribers(topic)) {
            return;
        }
        let Some(args) = args() else {
            return;
        };
        let payload = Payload {
            args: Some(args),
            kwargs: None,
        };
        let publication = Publication {
            id: id::random_id(),
            topic,
            details: Dict::new(),
            payload: &payload,
            audience: Audience::default(),
        };
        self.broker.read().publish(&publication);
        if let Some(backplane) = self.backplane() {
            backplane.publish(&publication, false, false);
        }
    }

    pub(crate) fn published_join(&self, joined: &JoinedSession) {
        self.publish_meta("wamp.session.on_join", || {
            Some(vec![Value::Dict(joined.details())])
        });
    }

    pub(crate) fn published_leave(&self, peer: &Peer) {
        self.publish_meta("wamp.session.on_leave", || {
            Some(vec![
                Value::from(peer.session),
                Value::from(peer.authid.as_str()),
                Value::from(peer.authrole.as_str()),
            ])
        });
    }

    pub(crate) fn published_subscribe(&self, session: Id, subscribed: Subscribed) {
        if subscribed.created {
            self.publish_meta("wamp.subscription.on_create", || {
                let details = subscription_details(self.broker.read().subscription(subscribed.id)?);
                Some(vec![Value::from(session), details])
            });
        }
        if subscribed.added {
            self.publish_meta("wamp.subscription.on_subscribe", || {
                Some(vec![Value::from(session), Value::from(subscribed.id)])
            });
        }
    }

    pub(crate) fn published_unsubscribe(&self, session: Id, subscription: Id, deleted: bool) {
        let args = || Some(vec![Value::from(session), Value::from(subscription)]);
        self.publish_meta("wamp.subscription.on_unsubscribe", args);
        if deleted {
            self.publish_meta("wamp.subscription.on_delete", args);
        }
    }

    pub(crate) fn published_register(&self, session: Id, registered: Registered) {
        if registered.created {
            self.publish_meta("wamp.registration.on_create", || {
                let details = registration_details(self.dealer.lock().registration(registered.id)?);
                Some(vec![Value::from(session), details])
            });
        }
        self.publish_meta("wamp.registration.on_register", || {
            Some(vec![Value::from(session), Value::from(registered.id)])
        });
    }

    pub(crate) fn published_unregister(&self, session: Id, registration: Id, deleted: bool) {
        let args = || Some(vec![Value::from(session), Value::from(registration)]);
        self.publish_meta("wamp.registration.on_unregister", args);
        if deleted {
            self.publish_meta("wamp.registration.on_delete", args);
        }
    }
}
