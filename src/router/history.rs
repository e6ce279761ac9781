//! Event history: publications on topics that a realm's `store.event-history` rules match are
//! recorded in one bounded buffer per rule, served from memory by
//! `wamp.subscription.get_events`, and persisted (when the store is durable) by the realm's
//! event writer, so they are there again after a restart.
//!
//! What a subscription's history holds: the recorded events whose topic the subscription
//! matches, from every rule that can record such topics (a prefix subscription `com.example`
//! sees the entries of an exact rule on `com.example.a`; an exact subscription on
//! `com.example.a` sees its topic's entries of a prefix rule on `com.example`). A
//! subscription no rule can feed has no history: `wamp.error.history_unavailable`, as Crossbar
//! answers.
//!
//! Following the spec's security notes, an event published with session-id lists (`exclude`,
//! `eligible`) is not recorded (session ids do not survive reconnects), and `exclude_authid`,
//! `exclude_authrole`, `eligible_authid` and `eligible_authrole` are applied to the caller of
//! `get_events`. `exclude_me` is not: a publisher may read its own events back.
//!
//! Realms without rules have no [`EventHistory`] at all, so publishing there costs one `None`
//! check; with rules, a topic finds its rules through the same URI index the broker uses, and
//! a subscription its events through the same matching rules
//! ([`uri_index`](crate::router::uri_index)).

use std::collections::VecDeque;
use std::sync::Arc;

use jiff::Timestamp;
use parking_lot::Mutex;
use tracing::info;

use crate::config::HistoryRule;
use crate::router::broker::Publication;
use crate::router::error::WampError;
use crate::router::persist::{WriterSlot, audience_record};
use crate::router::uri_index::{UriIndex, pattern_matches, patterns_overlap};
use crate::store::{AudienceRecord, EventRecord, EventStore, EventWrite, EventWriter, StoreError};
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::Value;

/// The meta procedure that returns a subscription's history.
pub const GET_EVENTS: &str = "wamp.subscription.get_events";
/// Crossbar's error for a subscription without history.
pub const HISTORY_UNAVAILABLE: &str = "wamp.error.history_unavailable";
/// Events returned when the caller gives no limit (Crossbar's default).
pub const DEFAULT_GET_EVENTS_LIMIT: usize = 10;
/// The most events one call returns; page with `after_time` / `before_time` for more.
pub const MAX_GET_EVENTS_LIMIT: usize = 1000;

/// The history rules of a realm and their buffers.
pub struct EventHistory {
    rules: Vec<Rule>,
    /// Rule pattern -> index in `rules`.
    index: UriIndex<usize>,
    /// The newest timestamp given out: timestamps strictly increase, so they order events
    /// across rules exactly as they were recorded, whatever the wall clock does.
    last: Mutex<Timestamp>,
}

struct Rule {
    uri: String,
    policy: MatchPolicy,
    limit: usize,
    /// The rule's name in the store, e.g. `exact:com.example.t`.
    key: String,
    buffer: Mutex<Buffer>,
}

#[derive(Default)]
struct Buffer {
    /// The sequence number of the next entry (the store's key).
    next_seq: u64,
    /// Oldest first; at most the rule's limit.
    events: VecDeque<Arc<EventRecord>>,
}

impl EventHistory {
    /// The history of `rules`, or `None` when there are none.
    pub fn new(rules: &[HistoryRule]) -> Option<EventHistory> {
        if rules.is_empty() {
            return None;
        }
        let mut index = UriIndex::default();
        let rules: Vec<Rule> = rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                index.insert(&rule.uri, rule.policy, i);
                Rule {
                    uri: rule.uri.clone(),
                    policy: rule.policy,
                    limit: rule.limit,
                    key: format!("{}:{}", rule.policy.name(), rule.uri),
                    buffer: Mutex::default(),
                }
            })
            .collect();
        Some(EventHistory {
            rules,
            index,
            last: Mutex::new(Timestamp::MIN),
        })
    }

    /// Loads the kept entries of every rule (the newest `limit`) from `store`, and from now
    /// on hands new entries to `writer` (put into `slot` under the lock that recording takes,
    /// so no entry misses it). Entries recorded before (the store opened after the realm
    /// started) are kept after the stored ones and written to the store. Drops from the store
    /// the entries of rules no longer configured. Returns how many entries were loaded.
    pub fn attach(
        &self,
        realm: &str,
        store: &dyn EventStore,
        writer: &Arc<EventWriter>,
        slot: &WriterSlot,
    ) -> Result<usize, StoreError> {
        // Read before anything changes: only this realm's writer, not set yet, writes here.
        let stored = self
            .rules
            .iter()
            .map(|rule| store.event_history(realm, &rule.key))
            .collect::<Result<Vec<_>, _>>()?;
        let stale = store.history_rules(realm)?;
        let mut loaded = 0;
        let mut last = self.last.lock();
        for (rule, entries) in self.rules.iter().zip(stored) {
            let mut buffer = rule.buffer.lock();
            let first_new = entries.last().map_or(0, |(seq, _)| seq + 1);
            let meanwhile: Vec<Arc<EventRecord>> = buffer.events.drain(..).collect();
            for (seq, event) in (first_new..).zip(&meanwhile) {
                writer.submit(EventWrite::Record {
                    rule: rule.key.clone(),
                    seq,
                    event: Arc::clone(event),
                    keep: rule.limit as u64,
                });
            }
            buffer.next_seq = first_new + meanwhile.len() as u64;
            loaded += entries.len().min(rule.limit);
            let mut events: Vec<Arc<EventRecord>> = entries
                .into_iter()
                .map(|(_, e)| e)
                .chain(meanwhile)
                .collect();
            // Queries read each buffer in timestamp order (another node may have written the
            // store while this one recorded in memory).
            events.sort_by_key(|e| e.timestamp);
            let skip = events.len().saturating_sub(rule.limit);
            buffer.events = events.into_iter().skip(skip).collect();
            if let Some(event) = buffer.events.back() {
                *last = (*last).max(event.timestamp);
            }
        }
        let _ = slot.set(Arc::clone(writer));
        drop(last);
        for stale in stale {
            if self.rules.iter().all(|rule| rule.key != stale) {
                info!(
                    realm,
                    "dropping the stored history of rule {stale}: no longer configured"
                );
                writer.submit(EventWrite::ForgetHistory { rule: stale });
            }
        }
        Ok(loaded)
    }

    /// Records `publication` in every rule whose pattern matches its topic; false when no
    /// rule keeps it.
    pub fn record(&self, publication: &Publication<'_>, writer: &WriterSlot) -> bool {
        self.record_at(publication, Timestamp::now(), writer)
    }

    /// The most events any rule keeps.
    pub fn deepest(&self) -> usize {
        self.rules.iter().map(|r| r.limit).max().unwrap_or(0)
    }

    fn record_at(
        &self,
        publication: &Publication<'_>,
        now: Timestamp,
        writer: &WriterSlot,
    ) -> bool {
        let mut matched = Vec::new();
        self.index
            .for_each_match(publication.topic, |_, _, rule| matched.push(*rule));
        if matched.is_empty() {
            return false;
        }
        let audience = &publication.audience;
        if !audience.exclude.is_empty() || audience.eligible.is_some() {
            return false; // session ids mean nothing to a later reader (see the module comment)
        }
        let (details, args, kwargs) = (
            publication.details.clone(),
            publication.payload.args.clone(),
            publication.payload.kwargs.clone(),
        );
        // Held while the event enters its buffers, so every buffer (and the store's sequence)
        // is in timestamp order even when publishers race.
        let mut last = self.last.lock();
        let timestamp = (*last + jiff::SignedDuration::from_nanos(1)).max(now);
        *last = timestamp;
        // Read under `last`, which `attach` holds while it sets the writer.
        let writer = writer.get();
        let event = Arc::new(EventRecord {
            publication: publication.id,
            topic: publication.topic.to_owned(),
            timestamp,
            details,
            args,
            kwargs,
            audience: audience_record(audience),
        });
        for i in matched {
            let rule = &self.rules[i];
            let mut buffer = rule.buffer.lock();
            let seq = buffer.next_seq;
            buffer.next_seq += 1;
            buffer.events.push_back(Arc::clone(&event));
            if buffer.events.len() > rule.limit {
                buffer.events.pop_front();
            }
            if let Some(writer) = writer {
                writer.submit(EventWrite::Record {
                    rule: rule.key.clone(),
                    seq,
                    event: Arc::clone(&event),
                    keep: rule.limit as u64,
                });
            }
        }
        true
    }

    /// Like [`query`](Self::query), over `events` (oldest first) kept elsewhere (a cluster's
    /// history stream): each rule keeps its newest `limit` of them, as its buffer would.
    pub fn select(
        &self,
        events: Vec<Arc<EventRecord>>,
        uri: &str,
        policy: MatchPolicy,
        query: &Query,
        authid: &str,
        authrole: &str,
    ) -> Option<Vec<Arc<EventRecord>>> {
        let feeding: Vec<usize> = (0..self.rules.len())
            .filter(|&i| {
                let rule = &self.rules[i];
                patterns_overlap((&rule.uri, rule.policy), (uri, policy))
            })
            .collect();
        if feeding.is_empty() {
            return None;
        }
        let mut kept_by_rule = vec![0usize; self.rules.len()];
        let mut kept: Vec<Arc<EventRecord>> = Vec::new();
        for event in events.into_iter().rev() {
            let mut keep = false;
            self.index.for_each_match(&event.topic, |_, _, &rule| {
                if kept_by_rule[rule] < self.rules[rule].limit {
                    kept_by_rule[rule] += 1;
                    keep |= feeding.contains(&rule);
                }
            });
            if keep
                && pattern_matches(uri, policy, &event.topic)
                && query.admits(&event)
                && admits_identity(&event.audience, authid, authrole)
            {
                kept.push(event);
            }
        }
        if !query.reverse {
            kept.reverse();
        }
        kept.truncate(query.limit);
        Some(kept)
    }

    /// The events a subscription on (`uri`, `policy`) may see under `query`, or `None` when
    /// no rule can record any topic the subscription matches.
    pub fn query(
        &self,
        uri: &str,
        policy: MatchPolicy,
        query: &Query,
        authid: &str,
        authrole: &str,
    ) -> Option<Vec<Arc<EventRecord>>> {
        let feeding: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| patterns_overlap((&rule.uri, rule.policy), (uri, policy)))
            .collect();
        if feeding.is_empty() {
            return None;
        }
        let wanted = |event: &EventRecord| {
            pattern_matches(uri, policy, &event.topic)
                && query.admits(event)
                && admits_identity(&event.audience, authid, authrole)
        };
        // Each rule is in order already: its first `limit` wanted events in the asked
        // direction contain every one of the overall first `limit`.
        let mut events: Vec<Arc<EventRecord>> = Vec::new();
        for rule in &feeding {
            let buffer = rule.buffer.lock();
            let ordered: Box<dyn Iterator<Item = &Arc<EventRecord>>> = if query.reverse {
                Box::new(buffer.events.iter().rev())
            } else {
                Box::new(buffer.events.iter())
            };
            events.extend(ordered.filter(|e| wanted(e)).take(query.limit).cloned());
        }
        if feeding.len() > 1 {
            // The same publication may sit in several rules; timestamps are unique per event.
            events.sort_by_key(|e| e.timestamp);
            events.dedup_by_key(|e| e.timestamp);
            if query.reverse {
                events.reverse();
            }
            events.truncate(query.limit);
        }
        Some(events)
    }
}

/// What `get_events` asks for besides the subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub limit: usize,
    /// Newest first.
    pub reverse: bool,
    /// `>=`
    pub from_time: Option<Timestamp>,
    /// `>`
    pub after_time: Option<Timestamp>,
    /// `<`
    pub before_time: Option<Timestamp>,
    /// `<=`
    pub until_time: Option<Timestamp>,
    /// Only this topic (for pattern subscriptions).
    pub topic: Option<String>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            limit: DEFAULT_GET_EVENTS_LIMIT,
            reverse: false,
            from_time: None,
            after_time: None,
            before_time: None,
            until_time: None,
            topic: None,
        }
    }
}

impl Query {
    fn admits(&self, event: &EventRecord) -> bool {
        let t = event.timestamp;
        self.from_time.is_none_or(|from| t >= from)
            && self.after_time.is_none_or(|after| t > after)
            && self.before_time.is_none_or(|before| t < before)
            && self.until_time.is_none_or(|until| t <= until)
            && self
                .topic
                .as_ref()
                .is_none_or(|topic| *topic == event.topic)
    }

    /// Reads `get_events`'s arguments: Crossbar's `(subscription, limit=10)` (newest first),
    /// or the spec's `[subscription]` with kwargs `limit`, `reverse` (default false: oldest
    /// first), `from_time`, `after_time`, `before_time`, `until_time` (RFC 3339) and `topic`.
    /// A kwarg Junction does not know is an error rather than a filter silently not applied.
    pub fn parse(payload: &Payload) -> Result<(Id, Query), WampError> {
        let args = payload.args.as_deref().unwrap_or_default();
        let subscription = match args.first().and_then(Value::as_u64) {
            Some(id) if args.len() <= 2 => id,
            _ => {
                return Err(invalid(format!(
                    "{GET_EVENTS} expects [subscription_id] or [subscription_id, limit]"
                )));
            }
        };
        let kwargs = payload.kwargs.as_ref().filter(|k| !k.is_empty());
        let mut query = Query {
            // Crossbar's positional form answers newest first; the spec's kwargs form
            // traverses in order of occurrence unless `reverse`.
            reverse: kwargs.is_none(),
            ..Query::default()
        };
        if let Some(limit) = args.get(1) {
            query.limit = limit_of(limit)?;
        }
        for (key, value) in kwargs.into_iter().flatten() {
            match key.as_str() {
                "limit" => query.limit = limit_of(value)?,
                "reverse" => {
                    query.reverse = value
                        .as_bool()
                        .ok_or_else(|| invalid("\"reverse\" must be true or false".into()))?;
                }
                "from_time" => query.from_time = Some(time_of(key, value)?),
                "after_time" => query.after_time = Some(time_of(key, value)?),
                "before_time" => query.before_time = Some(time_of(key, value)?),
                "until_time" => query.until_time = Some(time_of(key, value)?),
                "topic" => {
                    let topic = value
                        .as_str()
                        .ok_or_else(|| invalid("\"topic\" must be a URI string".into()))?;
                    query.topic = Some(topic.to_owned());
                }
                other => {
                    return Err(invalid(format!(
                        "{GET_EVENTS} does not support \"{other}\" (supported: limit, reverse, \
                         from_time, after_time, before_time, until_time, topic)"
                    )));
                }
            }
        }
        Ok((subscription, query))
    }
}

fn invalid(message: String) -> WampError {
    WampError::new(uri_error::INVALID_ARGUMENT, message)
}

fn limit_of(value: &Value) -> Result<usize, WampError> {
    match value.as_u64() {
        Some(n) if (1..=MAX_GET_EVENTS_LIMIT as u64).contains(&n) => Ok(n as usize),
        _ => Err(invalid(format!(
            "limit must be an integer from 1 to {MAX_GET_EVENTS_LIMIT} (page with after_time or before_time for more)"
        ))),
    }
}

fn time_of(key: &str, value: &Value) -> Result<Timestamp, WampError> {
    value
        .as_str()
        .and_then(|text| text.parse::<Timestamp>().ok())
        .ok_or_else(|| {
            invalid(format!(
                "\"{key}\" must be an RFC 3339 timestamp such as \"2024-03-01T12:30:45.5Z\""
            ))
        })
}

/// The audience rules that survive a reconnect: authid and authrole lists.
fn admits_identity(audience: &AudienceRecord, authid: &str, authrole: &str) -> bool {
    let has = |list: &Vec<String>, item: &str| list.iter().any(|x| x == item);
    !has(&audience.exclude_authid, authid)
        && !has(&audience.exclude_authrole, authrole)
        && audience
            .eligible_authid
            .as_ref()
            .is_none_or(|list| has(list, authid))
        && audience
            .eligible_authrole
            .as_ref()
            .is_none_or(|list| has(list, authrole))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::broker::Audience;
    use crate::store::MemoryStore;
    use crate::wamp::value::Dict;

    fn rule(uri: &str, policy: MatchPolicy, limit: usize) -> HistoryRule {
        HistoryRule {
            uri: uri.into(),
            policy,
            limit,
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + second).unwrap()
    }

    /// Records publication `id` on `topic` at second `second`, its args `[id]`.
    fn publish(history: &EventHistory, topic: &str, id: u64, second: i64) {
        publish_to(history, topic, id, second, Audience::default());
    }

    fn publish_to(history: &EventHistory, topic: &str, id: u64, second: i64, audience: Audience) {
        let payload = Payload::new(vec![Value::from(id)], Dict::new());
        let publication = Publication {
            id,
            topic,
            details: Dict::new(),
            payload: &payload,
            audience,
        };
        history.record_at(&publication, at(second), &WriterSlot::new());
    }

    fn ids(history: &EventHistory, uri: &str, policy: MatchPolicy, query: &Query) -> Vec<u64> {
        let events = history.query(uri, policy, query, "alice", "user").unwrap();
        events.iter().map(|e| e.publication).collect()
    }

    fn newest_first(limit: usize) -> Query {
        Query {
            limit,
            reverse: true,
            ..Query::default()
        }
    }

    #[test]
    fn no_rules_no_history() {
        assert!(EventHistory::new(&[]).is_none());
    }

    #[test]
    fn the_limit_keeps_the_newest_in_order() {
        let history = EventHistory::new(&[rule("t", MatchPolicy::Exact, 3)]).unwrap();
        for id in 1..=5 {
            publish(&history, "t", id, id as i64);
        }
        publish(&history, "other", 99, 6);
        let exact = MatchPolicy::Exact;
        assert_eq!(ids(&history, "t", exact, &newest_first(10)), [5, 4, 3]);
        assert_eq!(ids(&history, "t", exact, &newest_first(2)), [5, 4]);
        let oldest_first = Query {
            limit: 2,
            ..Query::default()
        };
        assert_eq!(ids(&history, "t", exact, &oldest_first), [3, 4]);
        assert!(
            history
                .query("other", exact, &Query::default(), "a", "r")
                .is_none()
        );
    }

    #[test]
    fn time_filters_compare_as_the_spec_says() {
        let history = EventHistory::new(&[rule("t", MatchPolicy::Exact, 10)]).unwrap();
        for id in 1..=5 {
            publish(&history, "t", id, id as i64 * 10);
        }
        let q = |f: fn(&mut Query)| {
            let mut query = Query::default();
            f(&mut query);
            ids(&history, "t", MatchPolicy::Exact, &query)
        };
        assert_eq!(q(|q| q.from_time = Some(at(30))), [3, 4, 5]);
        assert_eq!(q(|q| q.after_time = Some(at(30))), [4, 5]);
        assert_eq!(q(|q| q.before_time = Some(at(30))), [1, 2]);
        assert_eq!(q(|q| q.until_time = Some(at(30))), [1, 2, 3]);
        assert_eq!(
            q(|q| {
                q.after_time = Some(at(10));
                q.before_time = Some(at(50));
                q.reverse = true;
                q.limit = 2;
            }),
            [4, 3]
        );
    }

    #[test]
    fn timestamps_strictly_increase_even_when_the_clock_does_not() {
        let history = EventHistory::new(&[rule("t", MatchPolicy::Exact, 10)]).unwrap();
        publish(&history, "t", 1, 50);
        publish(&history, "t", 2, 40); // the clock went back
        publish(&history, "t", 3, 50);
        let events = history
            .query("t", MatchPolicy::Exact, &Query::default(), "a", "r")
            .unwrap();
        assert!(events[0].timestamp < events[1].timestamp);
        assert!(events[1].timestamp < events[2].timestamp);
        assert_eq!(events[0].timestamp, at(50));
    }

    #[test]
    fn subscriptions_see_what_their_pattern_matches_across_rules() {
        let history = EventHistory::new(&[
            rule("com.a", MatchPolicy::Prefix, 10),
            rule("com.a.x", MatchPolicy::Exact, 10),
            rule("com.b.x", MatchPolicy::Exact, 10),
        ])
        .unwrap();
        publish(&history, "com.a.x", 1, 1); // in two rules
        publish(&history, "com.a.y", 2, 2);
        publish(&history, "com.b.x", 3, 3);
        publish(&history, "com.c.x", 4, 4); // no rule
        let all = Query::default();
        use MatchPolicy::*;
        assert_eq!(ids(&history, "com.a.x", Exact, &all), [1]);
        assert_eq!(ids(&history, "com.a", Prefix, &all), [1, 2]);
        assert_eq!(ids(&history, "com", Prefix, &all), [1, 2, 3]);
        assert_eq!(ids(&history, "com..x", Wildcard, &all), [1, 3]);
        assert_eq!(ids(&history, "com", Prefix, &newest_first(2)), [3, 2]);
        let topic = Query {
            topic: Some("com.a.y".into()),
            ..Query::default()
        };
        assert_eq!(ids(&history, "com", Prefix, &topic), [2]);
        assert!(history.query("com.c.x", Exact, &all, "a", "r").is_none());
        assert!(history.query("com.c", Prefix, &all, "a", "r").is_none());
    }

    #[test]
    fn audience_rules_apply_and_session_lists_are_not_recorded() {
        let history = EventHistory::new(&[rule("t", MatchPolicy::Exact, 10)]).unwrap();
        let only_admins = Audience {
            eligible_authrole: Some(vec!["admin".into()]),
            ..Audience::default()
        };
        publish_to(&history, "t", 1, 1, only_admins);
        let not_alice = Audience {
            exclude_authid: vec!["alice".into()],
            exclude_session: Some(7),
            ..Audience::default()
        };
        publish_to(&history, "t", 2, 2, not_alice);
        let sessions = Audience {
            eligible: Some(vec![7]),
            ..Audience::default()
        };
        publish_to(&history, "t", 3, 3, sessions);
        let excluded_session = Audience {
            exclude: vec![8],
            ..Audience::default()
        };
        publish_to(&history, "t", 4, 4, excluded_session);
        let query = |authid, authrole| {
            let events =
                history.query("t", MatchPolicy::Exact, &Query::default(), authid, authrole);
            events
                .unwrap()
                .iter()
                .map(|e| e.publication)
                .collect::<Vec<_>>()
        };
        assert_eq!(query("alice", "user"), [] as [u64; 0]);
        assert_eq!(query("alice", "admin"), [1]);
        assert_eq!(query("bob", "admin"), [1, 2]);
        assert_eq!(query("bob", "user"), [2]);
    }

    #[test]
    fn get_events_arguments() {
        let parse = |args: Vec<Value>, kwargs: Dict| {
            Query::parse(&Payload {
                args: Some(args),
                kwargs: Some(kwargs),
            })
        };
        let (id, query) = parse(vec![Value::from(5u64)], Dict::new()).unwrap();
        assert_eq!((id, query.limit, query.reverse), (5, 10, true));
        let (_, query) = parse(vec![Value::from(5u64), Value::from(3u64)], Dict::new()).unwrap();
        assert_eq!((query.limit, query.reverse), (3, true));
        let mut kwargs = Dict::new();
        kwargs.insert("limit".into(), Value::from(4u64));
        kwargs.insert("from_time".into(), Value::from("2024-03-01T12:00:00+01:00"));
        let (_, query) = parse(vec![Value::from(5u64)], kwargs).unwrap();
        assert_eq!((query.limit, query.reverse), (4, false));
        assert_eq!(
            query.from_time,
            Some("2024-03-01T11:00:00Z".parse().unwrap())
        );
        let error = |args: Vec<Value>, kwargs: &[(&str, Value)]| {
            let kwargs = kwargs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            parse(args, kwargs).unwrap_err()
        };
        let five = || vec![Value::from(5u64)];
        assert_eq!(error(vec![], &[]).uri, uri_error::INVALID_ARGUMENT);
        assert_eq!(
            error(vec![Value::from("x")], &[]).uri,
            uri_error::INVALID_ARGUMENT
        );
        assert!(
            error(five(), &[("limit", Value::from(0u64))])
                .message
                .contains("limit")
        );
        assert!(
            error(five(), &[("limit", Value::from(1001u64))])
                .message
                .contains("1000")
        );
        assert!(
            error(five(), &[("from_time", Value::from("yesterday"))])
                .message
                .contains("from_time")
        );
        assert!(
            error(five(), &[("reverse", Value::from("yes"))])
                .message
                .contains("reverse")
        );
        assert!(
            error(five(), &[("after_publication", Value::from(1u64))])
                .message
                .contains("after_publication")
        );
    }

    fn stored(seq: u64, second: i64) -> EventWrite {
        EventWrite::Record {
            rule: "exact:t".into(),
            seq,
            event: Arc::new(EventRecord {
                publication: seq + 100,
                topic: "t".into(),
                timestamp: at(second),
                details: Dict::new(),
                args: None,
                kwargs: None,
                audience: AudienceRecord::default(),
            }),
            keep: 10,
        }
    }

    fn attach(history: &EventHistory, store: &Arc<MemoryStore>, slot: &WriterSlot) -> usize {
        let writer = Arc::new(EventWriter::spawn(store.clone(), "realm1").unwrap());
        let loaded = history.attach("realm1", &**store, &writer, slot).unwrap();
        writer.close();
        loaded
    }

    #[test]
    fn attach_keeps_the_newest_and_continues_the_sequence() {
        let store = Arc::new(MemoryStore::new());
        let writes: Vec<_> = (0..5).map(|n| stored(n, n as i64)).collect();
        store.write_events("realm1", &writes).unwrap();
        let history = EventHistory::new(&[rule("t", MatchPolicy::Exact, 3)]).unwrap();
        let slot = WriterSlot::new();
        assert_eq!(attach(&history, &store, &slot), 3);
        assert!(slot.get().is_some());
        publish(&history, "t", 1, 0); // the clock is behind the loaded events
        assert_eq!(
            ids(&history, "t", MatchPolicy::Exact, &Query::default()),
            [103, 104, 1]
        );
        let buffer = history.rules[0].buffer.lock();
        assert_eq!(buffer.next_seq, 6);
        assert!(buffer.events[2].timestamp > at(4));
    }

    #[test]
    fn entries_recorded_before_a_late_attach_follow_the_stored_ones_into_the_store() {
        let store = Arc::new(MemoryStore::new());
        let writes: Vec<_> = (0..2).map(|n| stored(n, n as i64)).collect();
        store.write_events("realm1", &writes).unwrap();
        let history = EventHistory::new(&[rule("t", MatchPolicy::Exact, 10)]).unwrap();
        // The store is not open yet: recorded in memory only.
        publish(&history, "t", 1, 10);
        publish(&history, "t", 2, 11);
        assert!(store.event_history("realm1", "exact:t").unwrap().len() == 2);
        assert_eq!(attach(&history, &store, &WriterSlot::new()), 2);
        assert_eq!(
            ids(&history, "t", MatchPolicy::Exact, &Query::default()),
            [100, 101, 1, 2]
        );
        let kept = store.event_history("realm1", "exact:t").unwrap();
        let seqs: Vec<(u64, u64)> = kept.iter().map(|(s, e)| (*s, e.publication)).collect();
        assert_eq!(seqs, [(0, 100), (1, 101), (2, 1), (3, 2)]);
        assert_eq!(history.rules[0].buffer.lock().next_seq, 4);
    }
}
