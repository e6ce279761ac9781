//! `wamp.subscription.get_events`: a subscription's event history, served from the realm's
//! [`EventHistory`](crate::router::history::EventHistory) buffers to a caller allowed to
//! subscribe to the subscription's topic.

use crate::router::authorize::Action;
use crate::router::error::WampError;
use std::sync::Arc;

use crate::router::history::{HISTORY_UNAVAILABLE, Query};
use crate::router::peer::Peer;
use crate::router::realm::Realm;
use crate::store::EventRecord;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, Value};

/// One event as `get_events` returns it: the spec's `timestamp`, `subscription`,
/// `publication`, `details`, `args`, `kwargs`, plus Crossbar's `topic` and `time_ns`, and the
/// publisher's identity at the top level when it was disclosed (as in `details`).
fn event_value(event: &EventRecord, subscription: Id, policy: MatchPolicy) -> Value {
    let mut details = event.details.clone();
    if policy != MatchPolicy::Exact {
        details.insert("topic".into(), Value::from(event.topic.as_str()));
    }
    let mut dict = Dict::new();
    for key in ["publisher", "publisher_authid", "publisher_authrole"] {
        if let Some(value) = event.details.get(key) {
            dict.insert(key.into(), value.clone());
        }
    }
    let time_ns = i64::try_from(event.timestamp.as_nanosecond()).unwrap_or(i64::MAX);
    dict.insert("timestamp".into(), Value::from(event.timestamp.to_string()));
    dict.insert("time_ns".into(), Value::Int(time_ns));
    dict.insert("subscription".into(), Value::from(subscription));
    dict.insert("publication".into(), Value::from(event.publication));
    dict.insert("topic".into(), Value::from(event.topic.as_str()));
    dict.insert("details".into(), Value::Dict(details));
    dict.insert(
        "args".into(),
        Value::List(event.args.clone().unwrap_or_default()),
    );
    dict.insert(
        "kwargs".into(),
        Value::Dict(event.kwargs.clone().unwrap_or_default()),
    );
    Value::Dict(dict)
}

impl Realm {
    /// `wamp.subscription.get_events`: the caller must be allowed to subscribe to the
    /// subscription's topic (its permission to call the procedure was checked before).
    pub(crate) fn get_events(
        &self,
        caller: &Peer,
        payload: &Payload,
    ) -> Result<Payload, WampError> {
        let (subscription, query) = Query::parse(payload)?;
        let (topic, policy) = {
            let broker = self.broker.read();
            let found = broker.subscription(subscription).ok_or_else(|| {
                WampError::new(
                    uri_error::NO_SUCH_SUBSCRIPTION,
                    format!("no subscription with id {subscription} exists in this realm"),
                )
            })?;
            (found.uri.clone(), found.policy)
        };
        self.check_history_reader(caller, &topic)?;
        let unavailable = || {
            WampError::new(
                HISTORY_UNAVAILABLE,
                format!(
                    "no event history is kept for subscription {subscription} (\"{topic}\", match {}): \
                     add a store.event-history rule for its topics",
                    policy.name()
                ),
            )
        };
        let history = self.history.as_ref().ok_or_else(unavailable)?;
        let events = history
            .query(&topic, policy, &query, &caller.authid, &caller.authrole)
            .ok_or_else(unavailable)?;
        Ok(events_payload(&events, subscription, policy))
    }

    /// Every event the event history holds for a subscriber on (`uri`, `policy`) with
    /// `authid` and `authrole` (its audience applied), oldest first: this node's, or in a
    /// cluster the cluster's history stream, which holds every node's publications. `None`
    /// when no rule records any topic the pattern matches, or the cluster cannot be read. For
    /// an SSE client resuming from an event it saw.
    pub async fn recorded_events(
        &self,
        uri: &str,
        policy: MatchPolicy,
        authid: &str,
        authrole: &str,
    ) -> Option<Vec<Arc<EventRecord>>> {
        let query = Query {
            limit: usize::MAX,
            ..Query::default()
        };
        let history = self.history.as_ref()?;
        match self.backplane() {
            None => history.query(uri, policy, &query, authid, authrole),
            Some(backplane) => {
                let events = backplane.history(uri, policy).await.ok()?;
                history.select(events, uri, policy, &query, authid, authrole)
            }
        }
    }

    /// `wamp.subscription.get_events` in a cluster: the events come from the cluster's history
    /// stream (`events`, oldest first, every one under the subscription's pattern), the rules
    /// and the checks from this realm.
    pub fn events_from_cluster(
        &self,
        caller: &Peer,
        subscription: Id,
        (topic, policy): (&str, MatchPolicy),
        query: &Query,
        events: Vec<Arc<EventRecord>>,
    ) -> Result<Payload, WampError> {
        self.check_history_reader(caller, topic)?;
        let unavailable = || {
            WampError::new(
                HISTORY_UNAVAILABLE,
                format!(
                    "no event history is kept for subscription {subscription} (\"{topic}\", match {})",
                    policy.name()
                ),
            )
        };
        let history = self.history.as_ref().ok_or_else(unavailable)?;
        let events = history
            .select(
                events,
                topic,
                policy,
                query,
                &caller.authid,
                &caller.authrole,
            )
            .ok_or_else(unavailable)?;
        Ok(events_payload(&events, subscription, policy))
    }

    /// The subscription's (uri, policy), when this node has it.
    pub fn subscription_pattern(&self, subscription: Id) -> Option<(String, MatchPolicy)> {
        let broker = self.broker.read();
        let found = broker.subscription(subscription)?;
        Some((found.uri.clone(), found.policy))
    }

    fn check_history_reader(&self, caller: &Peer, topic: &str) -> Result<(), WampError> {
        if self.is_allowed(&caller.authrole, topic, Action::Subscribe) {
            return Ok(());
        }
        Err(WampError::new(
            uri_error::NOT_AUTHORIZED,
            format!(
                "role \"{}\" may not subscribe to \"{topic}\", so it may not read its history",
                caller.authrole
            ),
        ))
    }
}

fn events_payload(events: &[Arc<EventRecord>], subscription: Id, policy: MatchPolicy) -> Payload {
    let list = events
        .iter()
        .map(|event| event_value(event, subscription, policy))
        .collect();
    Payload {
        args: Some(vec![Value::List(list)]),
        kwargs: None,
    }
}
