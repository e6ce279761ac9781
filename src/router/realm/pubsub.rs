//! The broker's side of a realm: SUBSCRIBE, UNSUBSCRIBE and PUBLISH, checked (URI rules,
//! permissions, options) and then routed by the [`Broker`](crate::router::broker::Broker);
//! retained events; and what a leaving session's subscriptions become.

use std::sync::Arc;

use tokio::sync::watch;

use crate::router::authorize::{Action, Decision};
use crate::router::backplane::OwnedPublication;
use crate::router::broker::{Audience, Broker, Publication};
use crate::router::delivery::{reply, unreceivable};
use crate::router::error::WampError;
use crate::router::peer::Peer;
use crate::router::realm::Realm;
use crate::router::realm::options::{audience, bool_option, disclose, forward_for, match_policy};
use crate::wamp::error as uri_error;
use crate::wamp::id::{self, Id};
use crate::wamp::message::{Message, Payload};
use crate::wamp::uri::{self, MatchPolicy};
use crate::wamp::value::{Dict, Value};

impl Realm {
    /// Whether any session is subscribed to `topic` (exactly or by a pattern).
    pub fn has_subscribers(&self, topic: &str) -> bool {
        self.broker.read().has_subscribers(topic)
    }

    /// Changes after every subscribe; see the field.
    pub fn subscriptions_changed(&self) -> watch::Receiver<u64> {
        self.subscribed.subscribe()
    }

    /// Drops the retained event of `topic`, so late subscribers of a deleted poller topic do
    /// not get its last snapshot.
    pub fn forget_retained(&self, topic: &str) {
        self.broker.read().forget_retained(topic);
    }

    /// Replaces the retained event of `topic` without delivering it to anyone: a poller keeps
    /// its full snapshot retained while it publishes patches. Checked like a publish.
    pub fn set_retained(
        &self,
        peer: &Peer,
        topic: &str,
        payload: &Payload,
    ) -> Result<(), WampError> {
        self.check_uri(topic, MatchPolicy::Exact)?;
        self.authorize(peer, topic, Action::Publish)?;
        let publication = Publication {
            id: id::random_id(),
            topic,
            details: Dict::new(),
            payload,
            audience: Audience::default(),
        };
        self.broker.read().retain(&publication);
        Ok(())
    }

    /// Subscribes `peer` and queues SUBSCRIBED (and, with `get_retained`, the retained events)
    /// while the broker is locked, so no live EVENT can reach the client before SUBSCRIBED.
    pub fn subscribe(
        &self,
        peer: &Arc<Peer>,
        request: Id,
        topic: &str,
        options: &Dict,
    ) -> Result<Id, WampError> {
        let policy = match_policy(options)?;
        let get_retained = bool_option(options, "get_retained")?.unwrap_or(false);
        forward_for(options)?;
        self.check_uri(topic, policy)?;
        if let Some(backplane) = self.backplane() {
            backplane.check_uri(topic, policy)?;
        }
        self.authorize(peer, topic, Action::Subscribe)?;
        let mut broker = self.broker.write();
        let subscribed = broker.subscribe(peer, topic, policy);
        let subscription = subscribed.id;
        reply(
            peer,
            &Message::Subscribed {
                request,
                subscription,
            },
        );
        if get_retained {
            broker.replay_retained(peer, subscription);
        }
        drop(broker);
        self.subscribed.send_modify(|n| *n = n.wrapping_add(1));
        self.published_subscribe(peer.session, subscribed);
        Ok(subscription)
    }

    pub fn unsubscribe(&self, session: Id, subscription: Id) -> Result<(), WampError> {
        let removed = {
            let mut broker = self.broker.write();
            let pattern = self.pattern_of(&broker, subscription);
            let removed = broker.unsubscribe(session, subscription);
            if let (Some(true), Some((uri, policy))) = (removed, pattern) {
                self.unsubscribed_everywhere(&uri, policy);
            }
            removed
        };
        match removed {
            Some(deleted) => {
                self.published_unsubscribe(session, subscription, deleted);
                Ok(())
            }
            None => Err(WampError::new(
                uri_error::NO_SUCH_SUBSCRIPTION,
                format!("no subscription {subscription} for this session"),
            )),
        }
    }

    /// Publishes and returns the publication id.
    pub fn publish(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
    ) -> Result<Id, WampError> {
        self.publish_retaining(peer, options, topic, payload, None)
    }

    /// Publishes `payload` and, under the same broker lock, makes `retained` the topic's
    /// retained event: a poller publishes a patch while its new full snapshot becomes what
    /// late subscribers get, and no subscriber can see the old snapshot without the patch.
    pub fn publish_retaining(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
        retained: Option<&Payload>,
    ) -> Result<Id, WampError> {
        let decision = self.check_publish(peer, topic)?;
        self.publish_decided(peer, options, topic, payload, retained, decision)
    }

    /// Publishes what [`Realm::check_publish`] allowed with `decision` (a testament is
    /// checked when added and published when its session is gone).
    pub(super) fn publish_decided(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
        retained: Option<&Payload>,
        decision: Decision,
    ) -> Result<Id, WampError> {
        let mut details = Dict::new();
        if disclose(decision, options)? {
            details.insert("publisher".into(), Value::from(peer.session));
            details.insert("publisher_authid".into(), Value::from(peer.authid.as_str()));
            details.insert(
                "publisher_authrole".into(),
                Value::from(peer.authrole.as_str()),
            );
        }
        let id = id::random_id();
        let publication = Publication {
            id,
            topic,
            details,
            payload,
            audience: audience(peer, options)?,
        };
        let retain = bool_option(options, "retain")?.unwrap_or(false);
        // All or nothing: a publication that a MessagePack subscriber could not receive
        // (integers beyond 64 bits) reaches nobody, and the publisher hears why. (A
        // MessagePack session subscribing between this check and the delivery below is
        // skipped, with a warning in the log.)
        if payload.has_bigint()
            && self
                .broker
                .read()
                .reaches(&publication, |peer| !peer.serialization.carries_bigints())
        {
            return Err(unreceivable("a subscriber"));
        }
        let recorded = self
            .history
            .as_ref()
            .is_some_and(|history| history.record(&publication, self.storage.writer_slot()));
        // Deliver and retain under one read lock: a subscription made meanwhile gets either
        // the live event or the retained one.
        let broker = self.broker.read();
        broker.publish(&publication);
        if let Some(backplane) = self.backplane() {
            backplane.publish(&publication, retain && retained.is_none(), recorded);
        }
        if let Some(retained) = retained {
            broker.retain(&Publication {
                payload: retained,
                ..publication
            });
            return Ok(id);
        }
        if retain {
            broker.retain(&publication);
        }
        Ok(id)
    }

    /// A publication to `topic` checked (URI, permission) and built (id, disclosure,
    /// audience) but not delivered: a poller in a cluster hands it to its leadership, which
    /// delivers it to every node.
    pub fn prepare_publication(
        &self,
        peer: &Peer,
        options: &Dict,
        topic: &str,
        payload: &Payload,
    ) -> Result<OwnedPublication, WampError> {
        let decision = self.check_publish(peer, topic)?;
        let mut details = Dict::new();
        if disclose(decision, options)? {
            details.insert("publisher".into(), Value::from(peer.session));
            details.insert("publisher_authid".into(), Value::from(peer.authid.as_str()));
            details.insert(
                "publisher_authrole".into(),
                Value::from(peer.authrole.as_str()),
            );
        }
        Ok(OwnedPublication {
            id: id::random_id(),
            topic: topic.to_owned(),
            details,
            payload: payload.clone(),
            audience: audience(peer, options)?,
        })
    }

    /// The checks of a PUBLISH to `topic` by `peer`: a valid URI outside `wamp.*`, and the
    /// permission (whose decision also says whether the publisher is disclosed).
    pub(crate) fn check_publish(&self, peer: &Peer, topic: &str) -> Result<Decision, WampError> {
        self.check_uri(topic, MatchPolicy::Exact)?;
        if uri::is_reserved(topic) {
            return Err(WampError::new(
                uri_error::INVALID_URI,
                format!("\"{topic}\" is reserved for the router"),
            ));
        }
        if let Some(backplane) = self.backplane() {
            backplane.check_uri(topic, MatchPolicy::Exact)?;
        }
        self.authorize(peer, topic, Action::Publish)
    }

    /// Unsubscribes a leaving `session` from `subscriptions`; returns each removed one and
    /// whether it was deleted (its last subscriber gone), for the meta events.
    pub(super) fn remove_subscriber(
        &self,
        session: Id,
        subscriptions: impl IntoIterator<Item = Id>,
    ) -> Vec<(Id, bool)> {
        let mut unsubscribed = Vec::new();
        let mut broker = self.broker.write();
        for subscription in subscriptions {
            let pattern = self.pattern_of(&broker, subscription);
            if let Some(deleted) = broker.unsubscribe(session, subscription) {
                unsubscribed.push((subscription, deleted));
                if let (true, Some((uri, policy))) = (deleted, pattern) {
                    self.unsubscribed_everywhere(&uri, policy);
                }
            }
        }
        unsubscribed
    }

    /// The (uri, policy) of a subscription, read only when a cluster needs it.
    fn pattern_of(&self, broker: &Broker, subscription: Id) -> Option<(String, MatchPolicy)> {
        self.backplane()?;
        let s = broker.subscription(subscription)?;
        Some((s.uri.clone(), s.policy))
    }

    /// The last local subscriber of (uri, policy) left: the other nodes need not send its
    /// publications here any more.
    fn unsubscribed_everywhere(&self, uri: &str, policy: MatchPolicy) {
        if let Some(backplane) = self.backplane() {
            backplane.unsubscribed(uri, policy);
        }
    }
}
