//! WAMP URIs: validation (loose and strict), and the match policies of subscriptions,
//! registrations and permissions.

/// How a subscription, registration or permission URI is compared with a concrete URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchPolicy {
    Exact,
    Prefix,
    Wildcard,
}
