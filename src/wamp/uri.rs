//! WAMP URIs: validation (loose and strict), and the match policies of subscriptions,
//! registrations and permissions.
//!
//! Subscriptions and registrations match a prefix on the string, as the WAMP spec defines it
//! and every peer does (its own example: `com.myapp.topic.emergency` covers
//! `com.myapp.topic.emergency-low`), so a prefix `com.example` covers `com.example`,
//! `com.example.x` and `com.examplefoo` ([`prefix_matches`]).
//!
//! Permissions match a prefix by URI component instead ([`component_prefix_matches`]): a
//! permission on `com.example` covers `com.example` and `com.example.x` but not
//! `com.examplefoo`, so a grant never reaches a sibling whose name merely starts the same
//! (Crossbar matches permissions on the string; `junction check` warns where that differs). A
//! prefix ending in a dot (`com.example.`) covers only URIs below it under both rules, and the
//! empty prefix covers everything.
//!
//! In a wildcard pattern an empty component matches any one component.

use crate::wamp::value::{Dict, Value};

/// How a subscription, registration or permission URI is compared with a concrete URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchPolicy {
    Exact,
    Prefix,
    Wildcard,
}

impl MatchPolicy {
    pub fn name(self) -> &'static str {
        match self {
            MatchPolicy::Exact => "exact",
            MatchPolicy::Prefix => "prefix",
            MatchPolicy::Wildcard => "wildcard",
        }
    }

    /// The `match` option of SUBSCRIBE or REGISTER: absent (or null) means exact, an unknown
    /// value `None`.
    pub fn from_options(options: &Dict) -> Option<MatchPolicy> {
        match options.get("match") {
            None | Some(Value::Null) => Some(MatchPolicy::Exact),
            Some(Value::String(s)) => match s.as_str() {
                "exact" => Some(MatchPolicy::Exact),
                "prefix" => Some(MatchPolicy::Prefix),
                "wildcard" => Some(MatchPolicy::Wildcard),
                _ => None,
            },
            Some(_) => None,
        }
    }
}

/// Whether `uri` is well formed. `strict` is the realm's `uri_check`; `policy` decides whether
/// empty components are allowed (patterns) or not (concrete URIs and exact patterns).
pub fn is_valid(uri: &str, strict: bool, policy: MatchPolicy) -> bool {
    let component_ok = |c: &str| {
        if strict {
            c.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_')
        } else {
            !c.chars().any(|ch| ch.is_whitespace() || ch == '#')
        }
    };
    match policy {
        MatchPolicy::Exact => {
            !uri.is_empty() && uri.split('.').all(|c| !c.is_empty() && component_ok(c))
        }
        MatchPolicy::Prefix => {
            // A prefix may end with a dot ("com.example.") or be empty (everything).
            let body = uri.strip_suffix('.').unwrap_or(uri);
            uri.is_empty()
                || (!body.is_empty() && body.split('.').all(|c| !c.is_empty() && component_ok(c)))
        }
        MatchPolicy::Wildcard => uri.split('.').all(component_ok),
    }
}

/// Whether a URI is reserved for the router (`wamp.*`): clients may not publish or register there.
pub fn is_reserved(uri: &str) -> bool {
    uri.starts_with("wamp.")
}

/// The spec's prefix match, for subscriptions and registrations: `uri` starts with `prefix`.
pub fn prefix_matches(prefix: &str, uri: &str) -> bool {
    uri.starts_with(prefix)
}

/// The permissions' prefix match: `uri` starts with `prefix` and the match ends at a component
/// boundary (see the module comment).
pub fn component_prefix_matches(prefix: &str, uri: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    match uri.strip_prefix(prefix) {
        None => false,
        Some(rest) => prefix.ends_with('.') || rest.is_empty() || rest.starts_with('.'),
    }
}

/// Wildcard match: same number of components, empty pattern components match anything.
pub fn wildcard_matches(pattern: &str, uri: &str) -> bool {
    let mut p = pattern.split('.');
    let mut u = uri.split('.');
    loop {
        match (p.next(), u.next()) {
            (None, None) => return true,
            (Some(pc), Some(uc)) if pc.is_empty() || pc == uc => continue,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MatchPolicy::*;
    use super::*;

    #[test]
    fn loose_uris() {
        assert!(is_valid("com.example.topic", false, Exact));
        assert!(is_valid("com.Example.Tópic-1", false, Exact));
        assert!(!is_valid("com..topic", false, Exact));
        assert!(!is_valid("com.exa mple", false, Exact));
        assert!(!is_valid("com.#", false, Exact));
        assert!(!is_valid("", false, Exact));
        assert!(!is_valid("com.", false, Exact));
    }

    #[test]
    fn strict_uris() {
        assert!(is_valid("com.example_1.topic", true, Exact));
        assert!(!is_valid("com.Example", true, Exact));
        assert!(!is_valid("com.ex-ample", true, Exact));
        assert!(is_valid("com..topic", true, Wildcard));
        assert!(!is_valid("com..Topic", true, Wildcard));
    }

    #[test]
    fn pattern_uris() {
        assert!(is_valid("com.example.", false, Prefix));
        assert!(is_valid("com.example", false, Prefix));
        assert!(is_valid("", false, Prefix));
        assert!(!is_valid("com..example", false, Prefix));
        assert!(!is_valid(".", false, Prefix));
        assert!(is_valid("com..topic", false, Wildcard));
        assert!(is_valid(".", false, Wildcard));
        assert!(!is_valid("com. .topic", false, Wildcard));
    }

    #[test]
    fn prefix_is_on_the_string() {
        // The spec's own example.
        assert!(prefix_matches(
            "com.myapp.topic.emergency",
            "com.myapp.topic.emergency-low"
        ));
        assert!(prefix_matches(
            "com.myapp.topic.emergency",
            "com.myapp.topic.emergency.x"
        ));
        assert!(prefix_matches("com.example", "com.example"));
        assert!(prefix_matches("com.example", "com.examplefoo"));
        assert!(prefix_matches("com.example.", "com.example.topic"));
        assert!(!prefix_matches("com.example.", "com.example"));
        assert!(!prefix_matches("com.example", "com.exampl"));
        assert!(prefix_matches("", "anything.at.all"));
    }

    #[test]
    fn permission_prefix_is_component_wise() {
        assert!(component_prefix_matches("com.example", "com.example"));
        assert!(component_prefix_matches("com.example", "com.example.topic"));
        assert!(!component_prefix_matches("com.example", "com.examplefoo"));
        assert!(component_prefix_matches(
            "com.example.",
            "com.example.topic"
        ));
        assert!(!component_prefix_matches("com.example.", "com.example"));
        assert!(component_prefix_matches("", "anything.at.all"));
    }

    #[test]
    fn wildcard_matches_one_component_per_gap() {
        assert!(wildcard_matches("com..topic", "com.a.topic"));
        assert!(!wildcard_matches("com..topic", "com.a.b.topic"));
        assert!(!wildcard_matches("com..topic", "com.topic"));
        assert!(wildcard_matches(".b.", "a.b.c"));
        assert!(!wildcard_matches(".b.", "a.x.c"));
    }

    #[test]
    fn match_option() {
        let mut o = Dict::new();
        assert_eq!(MatchPolicy::from_options(&o), Some(Exact));
        o.insert("match".into(), "prefix".into());
        assert_eq!(MatchPolicy::from_options(&o), Some(Prefix));
        o.insert("match".into(), "regex".into());
        assert_eq!(MatchPolicy::from_options(&o), None);
        // Clients that send `undefined` options (wampy.js via msgpackr) send null.
        o.insert("match".into(), Value::Null);
        assert_eq!(MatchPolicy::from_options(&o), Some(Exact));
    }
}
