//! WAMP URIs as NATS subjects: the escaping of URI components into subject tokens, the
//! subjects of live events and of subscriptions, and the length bound that keeps a hostile
//! URI from cutting this node off NATS.
//!
//! A topic `a.b` of realm `R` is published to `<prefix>.<R>.e.n.a.b.=`: `e` marks live
//! events, `n` is the kind (plain events; stored kinds come later), and the final `=` ends
//! the topic, so that a prefix subscription `a.b.>` can never match the topic `a.bc`.
//! Every byte of a component outside `[A-Za-z0-9_-]` becomes `=HH`: the token is never `*`,
//! `>`, the terminator, a dot or whitespace, so any WAMP URI maps to exactly one subject, and
//! strict URIs (`[0-9a-z_]`) pass unchanged.
//!
//! Subscriptions map to one NATS subject each (`subscription_subject`). Junction matches
//! prefixes on the string, as the spec does (`a.b` matches `a.bc`); NATS has no partial
//! tokens, so a prefix subscribes at its last whole component and the receiving node filters
//! with the same matcher the broker uses.

use std::fmt::Write;

use crate::wamp::uri::MatchPolicy;

/// Appends `component` escaped as one subject token.
fn push_token(subject: &mut String, component: &str) {
    for byte in component.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            subject.push(byte as char);
        } else {
            let _ = write!(subject, "={byte:02X}");
        }
    }
}

/// One token for a whole name (a realm, whose dots are escaped too).
pub fn token(name: &str) -> String {
    let mut token = String::with_capacity(name.len());
    push_token(&mut token, name);
    token
}

/// The inverse of [`push_token`]; `None` for what no escaping produced.
pub fn untoken(token: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(token.len());
    let mut rest = token.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' {
            let hex = tail.get(..2)?;
            let hex = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// The subjects of one realm under one prefix.
#[derive(Debug, Clone)]
pub struct RealmSubjects {
    /// `<prefix>.<realm token>`
    realm: String,
}

/// Live events: `.e.<kind>` (`n`: plain; stored kinds come later), matched with `.e.*`.
const LIVE: &str = "e.n";
const LIVE_ANY: &str = "e.*";
/// Retained events, kept by a JetStream stream (never delivered live).
pub const RETAINED: &str = "k";
/// Event history, kept by a JetStream stream (never delivered live).
pub const HISTORY: &str = "h";

impl RealmSubjects {
    pub fn new(prefix: &str, realm: &str) -> RealmSubjects {
        RealmSubjects {
            realm: format!("{prefix}.{}", token(realm)),
        }
    }

    /// Where a publication to `topic` goes: `<prefix>.<R>.e.n.<components>.=`.
    pub fn publication(&self, topic: &str) -> String {
        self.topic(LIVE, topic)
    }

    /// The subject of `topic` under `part` (`e.n`, `k`, `h`).
    pub fn topic(&self, part: &str, topic: &str) -> String {
        let mut subject = String::with_capacity(self.realm.len() + topic.len() + 8);
        subject.push_str(&self.realm);
        subject.push('.');
        subject.push_str(part);
        for component in topic.split('.') {
            subject.push('.');
            push_token(&mut subject, component);
        }
        subject.push_str(".=");
        subject
    }

    /// The history stream's subject of no topic (`<prefix>.<R>.h.=`: a topic has at least
    /// one token before the terminator), for a reader's barrier.
    pub fn history_barrier(&self) -> String {
        format!("{}.{HISTORY}.=", self.realm)
    }

    /// The NATS subject that receives every publication the subscription (uri, policy) may
    /// match (a string prefix also receives some it does not: the receiver filters).
    pub fn subscription(&self, uri: &str, policy: MatchPolicy) -> String {
        self.pattern(LIVE_ANY, uri, policy)
    }

    /// The subject filter for (uri, policy) under `part`.
    pub fn pattern(&self, part: &str, uri: &str, policy: MatchPolicy) -> String {
        let mut subject = String::with_capacity(self.realm.len() + uri.len() + 8);
        subject.push_str(&self.realm);
        subject.push('.');
        subject.push_str(part);
        match policy {
            MatchPolicy::Exact | MatchPolicy::Wildcard => {
                for component in uri.split('.') {
                    subject.push('.');
                    if component.is_empty() && policy == MatchPolicy::Wildcard {
                        subject.push('*');
                    } else {
                        push_token(&mut subject, component);
                    }
                }
                subject.push_str(".=");
            }
            MatchPolicy::Prefix => {
                // The last component may be partial: subscribe at the whole ones before it.
                let whole = uri.rsplit_once('.').map_or("", |(whole, _)| whole);
                if uri.contains('.') {
                    for component in whole.split('.') {
                        subject.push('.');
                        push_token(&mut subject, component);
                    }
                }
                subject.push_str(".>");
            }
        }
        subject
    }

    /// The topic of a subject made by [`topic`](Self::topic) with a one-token `part`.
    pub fn topic_of(&self, subject: &str) -> Option<String> {
        let rest = subject.strip_prefix(&self.realm)?.strip_prefix('.')?;
        let (_part, rest) = rest.split_once('.')?;
        let rest = rest.strip_suffix(".=")?;
        let mut topic = String::with_capacity(rest.len());
        for (i, token) in rest.split('.').enumerate() {
            if i > 0 {
                topic.push('.');
            }
            topic.push_str(&untoken(token)?);
        }
        Some(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::uri_index::pattern_matches;

    fn subjects() -> RealmSubjects {
        RealmSubjects::new("J", "com.example")
    }

    /// NATS's own matching of a subscription subject against a publication subject.
    fn nats_matches(subscription: &str, subject: &str) -> bool {
        let s: Vec<&str> = subscription.split('.').collect();
        let t: Vec<&str> = subject.split('.').collect();
        for (i, token) in s.iter().enumerate() {
            match *token {
                ">" => return t.len() > i,
                "*" if i < t.len() => {}
                _ if t.get(i) == Some(token) => {}
                _ => return false,
            }
        }
        s.len() == t.len()
    }

    #[test]
    fn strict_uris_pass_unchanged_and_others_escape() {
        let s = subjects();
        assert_eq!(s.publication("a.b_1"), "J.com=2Eexample.e.n.a.b_1.=");
        assert_eq!(
            s.publication("a.*.ü.=2A"),
            "J.com=2Eexample.e.n.a.=2A.=C3=BC.=3D2A.="
        );
        let stored = s.topic(RETAINED, "a.*.ü.=2A");
        assert_eq!(stored, "J.com=2Eexample.k.a.=2A.=C3=BC.=3D2A.=");
        assert_eq!(s.topic_of(&stored).unwrap(), "a.*.ü.=2A");
        assert_eq!(s.topic_of("J.com=2Eexample.h.x.="), Some("x".into()));
        assert_eq!(s.topic_of("J.other.k.x.="), None);
    }

    #[test]
    fn the_history_barrier_is_no_topics_subject() {
        let s = subjects();
        let barrier = s.history_barrier();
        assert_eq!(barrier, "J.com=2Eexample.h.=");
        assert_eq!(s.topic_of(&barrier), None);
        // Only a prefix with no dot (filtered at the realm's top) takes it in: its readers
        // skip the empty payload.
        for (uri, policy) in [
            ("a", MatchPolicy::Exact),
            ("a.", MatchPolicy::Prefix),
            ("", MatchPolicy::Exact),
            (".", MatchPolicy::Wildcard),
        ] {
            let filter = s.pattern(HISTORY, uri, policy);
            assert!(!nats_matches(&filter, &barrier), "{filter}");
        }
        assert!(nats_matches(
            &s.pattern(HISTORY, "a", MatchPolicy::Prefix),
            &barrier
        ));
    }

    #[test]
    fn subscriptions_map_to_one_subject() {
        let s = subjects();
        let sub = |uri, policy| s.subscription(uri, policy);
        assert_eq!(sub("a.b", MatchPolicy::Exact), "J.com=2Eexample.e.*.a.b.=");
        assert_eq!(sub("a.b", MatchPolicy::Prefix), "J.com=2Eexample.e.*.a.>");
        assert_eq!(
            sub("a.b.", MatchPolicy::Prefix),
            "J.com=2Eexample.e.*.a.b.>"
        );
        assert_eq!(sub("ab", MatchPolicy::Prefix), "J.com=2Eexample.e.*.>");
        assert_eq!(sub("", MatchPolicy::Prefix), "J.com=2Eexample.e.*.>");
        assert_eq!(
            sub("a..c", MatchPolicy::Wildcard),
            "J.com=2Eexample.e.*.a.*.c.="
        );
        assert_eq!(
            sub(".b.", MatchPolicy::Wildcard),
            "J.com=2Eexample.e.*.*.b.*.="
        );
    }

    /// Every publication the broker's matcher sends to a subscription reaches it through
    /// NATS; what NATS delivers beyond that is only for string prefixes, filtered on receipt.
    #[test]
    fn nats_interest_covers_wamp_matching() {
        let s = subjects();
        let topics = [
            "a", "a.b", "a.bc", "a.b.c", "a.b-low", "a.x.c", "b.b.b", "a.b.c.d", "ab", "a.*.c",
            "x.y", "a.=2A", "é.b",
        ];
        let patterns = [
            ("a.b", MatchPolicy::Exact),
            ("a", MatchPolicy::Prefix),
            ("a.b", MatchPolicy::Prefix),
            ("a.b.", MatchPolicy::Prefix),
            ("ab", MatchPolicy::Prefix),
            ("", MatchPolicy::Prefix),
            ("a..c", MatchPolicy::Wildcard),
            (".b.", MatchPolicy::Wildcard),
            ("..", MatchPolicy::Wildcard),
            ("a.*.c", MatchPolicy::Exact),
            ("é", MatchPolicy::Prefix),
        ];
        for (pattern, policy) in patterns {
            let subscription = s.subscription(pattern, policy);
            for topic in topics {
                let wamp = pattern_matches(pattern, policy, topic);
                let nats = nats_matches(&subscription, &s.publication(topic));
                assert!(!wamp || nats, "{pattern} {policy:?} misses {topic}");
                if policy != MatchPolicy::Prefix {
                    assert_eq!(wamp, nats, "{pattern} {policy:?} on {topic}");
                }
            }
        }
    }
}
