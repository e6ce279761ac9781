//! An index from URI patterns (exact, prefix, wildcard) to values, so a concrete URI finds its
//! matches without scanning every pattern: exact ones by hash, prefix ones by one walk down a
//! character trie (a patricia tree: every pattern that starts the URI lies on the walk, so the
//! cost is the URI's length whatever the number or lengths of the patterns), wildcard ones
//! through a trie of components.
//!
//! Prefixes match on the string, as the spec has subscriptions and registrations match (see
//! [`crate::wamp::uri`]); the authorizer, whose permissions match by component, keeps only the
//! candidates that end at a component boundary.
//!
//! The broker wants every match, the dealer and the authorizer want the best one under their
//! own precedence, so the index offers both and leaves precedence to the caller.
//!
//! The same rules for one pattern at a time ([`pattern_matches`], [`patterns_overlap`]) serve
//! the broker's retained events and the event history, so no module keeps its own copy.

use std::collections::HashMap;

use patricia_tree::StringPatriciaMap;

use crate::wamp::uri::{self, MatchPolicy};

#[derive(Debug)]
pub struct UriIndex<T> {
    exact: HashMap<String, T>,
    prefix: StringPatriciaMap<T>,
    wildcard: WildcardNode<T>,
}

impl<T> Default for UriIndex<T> {
    fn default() -> Self {
        UriIndex {
            exact: HashMap::new(),
            prefix: StringPatriciaMap::new(),
            wildcard: WildcardNode::default(),
        }
    }
}

/// One level of the wildcard trie: literal children by component, one child for the empty
/// (match-anything) component, and the value of a pattern that ends here.
#[derive(Debug)]
struct WildcardNode<T> {
    literal: HashMap<String, WildcardNode<T>>,
    any: Option<Box<WildcardNode<T>>>,
    value: Option<(String, T)>,
}

impl<T> Default for WildcardNode<T> {
    fn default() -> Self {
        WildcardNode {
            literal: HashMap::new(),
            any: None,
            value: None,
        }
    }
}

impl<T> WildcardNode<T> {
    fn node_mut(&mut self, pattern: &str) -> &mut WildcardNode<T> {
        let mut node = self;
        for component in pattern.split('.') {
            node = if component.is_empty() {
                node.any.get_or_insert_with(Default::default)
            } else {
                node.literal.entry(component.to_owned()).or_default()
            };
        }
        node
    }

    fn node(&self, pattern: &str) -> Option<&WildcardNode<T>> {
        let mut node = self;
        for component in pattern.split('.') {
            node = if component.is_empty() {
                node.any.as_deref()?
            } else {
                node.literal.get(component)?
            };
        }
        Some(node)
    }

    fn remove(&mut self, mut components: std::str::Split<'_, char>) -> Option<T> {
        let Some(component) = components.next() else {
            return self.value.take().map(|(_, v)| v);
        };
        if component.is_empty() {
            let child = self.any.as_deref_mut()?;
            let removed = child.remove(components);
            if child.is_empty() {
                self.any = None;
            }
            removed
        } else {
            let child = self.literal.get_mut(component)?;
            let removed = child.remove(components);
            if child.is_empty() {
                self.literal.remove(component);
            }
            removed
        }
    }

    fn is_empty(&self) -> bool {
        self.value.is_none() && self.any.is_none() && self.literal.is_empty()
    }

    /// Visits matches with literal components preferred left to right, so the first match
    /// visited is the most specific one. `f` returns false to stop.
    fn visit<'a>(&'a self, components: &[&str], f: &mut dyn FnMut(&'a str, &'a T) -> bool) -> bool {
        let Some((first, rest)) = components.split_first() else {
            return match &self.value {
                Some((pattern, value)) => f(pattern, value),
                None => true,
            };
        };
        if let Some(child) = self.literal.get(*first)
            && !child.visit(rest, f)
        {
            return false;
        }
        match &self.any {
            Some(child) => child.visit(rest, f),
            None => true,
        }
    }
}

impl<T> UriIndex<T> {
    pub fn get(&self, uri: &str, policy: MatchPolicy) -> Option<&T> {
        match policy {
            MatchPolicy::Exact => self.exact.get(uri),
            MatchPolicy::Prefix => self.prefix.get(uri),
            MatchPolicy::Wildcard => self.wildcard.node(uri)?.value.as_ref().map(|(_, v)| v),
        }
    }

    pub fn get_mut(&mut self, uri: &str, policy: MatchPolicy) -> Option<&mut T> {
        match policy {
            MatchPolicy::Exact => self.exact.get_mut(uri),
            MatchPolicy::Prefix => self.prefix.get_mut(uri),
            MatchPolicy::Wildcard => {
                let node = self.wildcard.node_mut(uri);
                node.value.as_mut().map(|(_, v)| v)
            }
        }
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, uri: &str, policy: MatchPolicy, value: T) -> Option<T> {
        match policy {
            MatchPolicy::Exact => self.exact.insert(uri.to_owned(), value),
            MatchPolicy::Prefix => self.prefix.insert(uri, value),
            MatchPolicy::Wildcard => {
                let node = self.wildcard.node_mut(uri);
                node.value.replace((uri.to_owned(), value)).map(|(_, v)| v)
            }
        }
    }

    pub fn remove(&mut self, uri: &str, policy: MatchPolicy) -> Option<T> {
        match policy {
            MatchPolicy::Exact => self.exact.remove(uri),
            MatchPolicy::Prefix => self.prefix.remove(uri),
            MatchPolicy::Wildcard => self.wildcard.remove(uri.split('.')),
        }
    }

    pub fn exact_match(&self, uri: &str) -> Option<&T> {
        self.exact.get(uri)
    }

    /// Prefix patterns that `uri` starts with, shortest first, as (pattern, value).
    pub fn prefix_matches<'a>(
        &'a self,
        uri: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a T)> + 'a {
        self.prefix.common_prefixes(uri)
    }

    /// The longest prefix pattern that `uri` starts with.
    pub fn longest_prefix<'a>(&'a self, uri: &'a str) -> Option<(&'a str, &'a T)> {
        self.prefix.get_longest_common_prefix(uri)
    }

    /// The most specific wildcard pattern matching `uri`: at the first component where two
    /// patterns differ, a literal beats a wildcard.
    pub fn best_wildcard<'a>(&'a self, uri: &str) -> Option<(&'a str, &'a T)> {
        let components: Vec<&str> = uri.split('.').collect();
        let mut best = None;
        self.wildcard.visit(&components, &mut |pattern, value| {
            best = Some((pattern, value));
            false
        });
        best
    }

    /// Every pattern matching `uri`, of any policy, as (policy, pattern, value).
    pub fn for_each_match<'a>(
        &'a self,
        uri: &'a str,
        mut f: impl FnMut(MatchPolicy, &'a str, &'a T),
    ) {
        if let Some((pattern, value)) = self.exact.get_key_value(uri) {
            f(MatchPolicy::Exact, pattern, value);
        }
        if !self.prefix.is_empty() {
            for (pattern, value) in self.prefix_matches(uri) {
                f(MatchPolicy::Prefix, pattern, value);
            }
        }
        if !self.wildcard.is_empty() {
            let components: Vec<&str> = uri.split('.').collect();
            self.wildcard.visit(&components, &mut |pattern, value| {
                f(MatchPolicy::Wildcard, pattern, value);
                true
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.wildcard.is_empty()
    }
}

/// Whether the concrete `uri` matches one pattern, as [`UriIndex::for_each_match`] finds it
/// among many: the broker's test for one subscription (retained events), and history's.
pub fn pattern_matches(pattern: &str, policy: MatchPolicy, uri: &str) -> bool {
    match policy {
        MatchPolicy::Exact => pattern == uri,
        MatchPolicy::Prefix => uri::prefix_matches(pattern, uri),
        MatchPolicy::Wildcard => uri::wildcard_matches(pattern, uri),
    }
}

/// Whether some topic matches both patterns (prefixes on the string, wildcards by component,
/// as [`uri`] defines them for subscriptions): whether a history rule can feed a subscription.
pub fn patterns_overlap(a: (&str, MatchPolicy), b: (&str, MatchPolicy)) -> bool {
    use MatchPolicy::*;
    match (a, b) {
        ((topic, Exact), (pattern, policy)) | ((pattern, policy), (topic, Exact)) => {
            pattern_matches(pattern, policy, topic)
        }
        ((p, Prefix), (q, Prefix)) => p.starts_with(q) || q.starts_with(p),
        ((w, Wildcard), (p, Prefix)) | ((p, Prefix), (w, Wildcard)) => wildcard_meets_prefix(w, p),
        ((v, Wildcard), (w, Wildcard)) => {
            let (v, w): (Vec<&str>, Vec<&str>) = (v.split('.').collect(), w.split('.').collect());
            v.len() == w.len()
                && v.iter()
                    .zip(&w)
                    .all(|(x, y)| x.is_empty() || y.is_empty() || x == y)
        }
    }
}

/// Whether a topic that `wildcard` matches can start with `prefix`: the prefix's whole
/// components fit the pattern's components one by one, and its last (possibly partial, possibly
/// empty) piece can start the pattern's component at that place.
fn wildcard_meets_prefix(wildcard: &str, prefix: &str) -> bool {
    let pattern: Vec<&str> = wildcard.split('.').collect();
    let pieces: Vec<&str> = prefix.split('.').collect();
    let Some((last, whole)) = pieces.split_last() else {
        return true;
    };
    if pieces.len() > pattern.len() {
        return false;
    }
    let whole_fit = whole
        .iter()
        .zip(&pattern)
        .all(|(piece, component)| component.is_empty() || piece == component);
    let component = pattern[whole.len()];
    whole_fit && (component.is_empty() || component.starts_with(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use MatchPolicy::*;

    fn all_matches(index: &UriIndex<u32>, uri: &str) -> Vec<u32> {
        let mut v = Vec::new();
        index.for_each_match(uri, |_, _, x| v.push(*x));
        v.sort();
        v
    }

    #[test]
    fn finds_every_policy() {
        let mut i = UriIndex::default();
        i.insert("com.example.topic", Exact, 1);
        i.insert("com.example", Prefix, 2);
        i.insert("com.example.", Prefix, 3);
        i.insert("com..topic", Wildcard, 4);
        i.insert("com.examplefoo", Prefix, 5);
        i.insert("..", Wildcard, 6);
        i.insert(".", Wildcard, 7);
        i.insert("com.exam", Prefix, 8);
        assert_eq!(all_matches(&i, "com.example.topic"), [1, 2, 3, 4, 6, 8]);
        assert_eq!(all_matches(&i, "com.example"), [2, 7, 8]);
        assert_eq!(all_matches(&i, "com.examplefoo.x"), [2, 5, 6, 8]);
        assert_eq!(all_matches(&i, "com.exa"), [7]);
        assert_eq!(all_matches(&i, "org.x"), [7]);
    }

    #[test]
    fn prefix_matches_the_spec_example() {
        let mut i = UriIndex::default();
        i.insert("com.myapp.topic.emergency", Prefix, 1);
        assert_eq!(all_matches(&i, "com.myapp.topic.emergency-low"), [1]);
        assert_eq!(all_matches(&i, "com.myapp.topic.emergency.x"), [1]);
        assert_eq!(all_matches(&i, "com.myapp.topic.emergenc"), [] as [u32; 0]);
    }

    #[test]
    fn prefix_get_insert_remove() {
        let mut i = UriIndex::default();
        assert_eq!(i.insert("com.a", Prefix, 1), None);
        assert_eq!(i.insert("com.a", Prefix, 2), Some(1));
        assert_eq!(i.get("com.a", Prefix), Some(&2));
        assert_eq!(i.get("com.a", Exact), None);
        *i.get_mut("com.a", Prefix).unwrap() = 3;
        assert_eq!(all_matches(&i, "com.ab"), [3]);
        assert_eq!(i.remove("com.a", Prefix), Some(3));
        assert_eq!(i.remove("com.a", Prefix), None);
        assert!(i.is_empty());
    }

    #[test]
    fn remove_prunes_and_keeps_others() {
        let mut i = UriIndex::default();
        i.insert("a..c", Wildcard, 1);
        i.insert("a.b.", Wildcard, 2);
        assert_eq!(i.remove("a..c", Wildcard), Some(1));
        assert_eq!(i.remove("a..c", Wildcard), None);
        assert_eq!(all_matches(&i, "a.b.c"), [2]);
        assert_eq!(i.remove("a.b.", Wildcard), Some(2));
        assert!(i.is_empty());
    }

    #[test]
    fn best_wildcard_prefers_early_literals() {
        let mut i = UriIndex::default();
        i.insert("..c", Wildcard, 1);
        i.insert("a..", Wildcard, 2);
        i.insert("a.b.", Wildcard, 3);
        assert_eq!(i.best_wildcard("a.b.c").map(|(_, v)| *v), Some(3));
        assert_eq!(i.best_wildcard("a.x.c").map(|(_, v)| *v), Some(2));
        assert_eq!(i.best_wildcard("z.x.c").map(|(_, v)| *v), Some(1));
        assert_eq!(i.best_wildcard("z.x.y"), None);
    }

    #[test]
    fn prefixes_shortest_first_and_the_longest() {
        let mut i = UriIndex::default();
        i.insert("a", Prefix, 1);
        i.insert("a.b", Prefix, 2);
        i.insert("", Prefix, 3);
        i.insert("a.bc", Prefix, 4);
        i.insert("a.b.c.d", Prefix, 5);
        let v: Vec<_> = i.prefix_matches("a.bcd").map(|(_, v)| *v).collect();
        assert_eq!(v, [3, 1, 2, 4]);
        let v: Vec<_> = i.prefix_matches("a.b.c").map(|(p, v)| (p, *v)).collect();
        assert_eq!(v, [("", 3), ("a", 1), ("a.b", 2)]);
        assert_eq!(i.longest_prefix("a.bcd"), Some(("a.bc", &4)));
        assert_eq!(i.longest_prefix("a.b.c"), Some(("a.b", &2)));
        assert_eq!(i.longest_prefix("b"), Some(("", &3)));
        // Multi-byte characters: matches end on character boundaries.
        i.insert("a.é", Prefix, 6);
        assert_eq!(i.longest_prefix("a.éx"), Some(("a.é", &6)));
    }

    #[test]
    fn patterns_overlap_as_subscriptions_match() {
        use MatchPolicy::*;
        let cases = [
            (("com.a", Prefix), ("com.a.b", Prefix), true),
            (("com.a", Prefix), ("com.ab", Prefix), true),
            (("com.ab", Prefix), ("com.ac", Prefix), false),
            (("", Prefix), ("x..z", Wildcard), true),
            (("com.a.", Prefix), ("com.a", Wildcard), false),
            (("com.a", Prefix), ("com.a", Wildcard), true),
            (("com.a.", Prefix), ("com..b", Wildcard), true),
            (("com.a", Prefix), ("org.", Wildcard), false),
            (("com.a", Prefix), ("com.ab.", Wildcard), true),
            (("com.ab", Prefix), ("com.a.x", Wildcard), false),
            (("com.a", Prefix), ("com..x", Wildcard), true),
            (("com.a.b", Prefix), ("com..", Wildcard), true),
            (("com.a.b", Prefix), ("com.", Wildcard), false),
            (("a..c", Wildcard), ("a.b.", Wildcard), true),
            (("a..c", Wildcard), ("a.b", Wildcard), false),
            (("a..c", Wildcard), ("b..c", Wildcard), false),
            (("a.b.c", Exact), ("a..c", Wildcard), true),
            (("a.b.c", Exact), ("a.b", Prefix), true),
            (("a.bc", Exact), ("a.b", Prefix), true),
            (
                ("com.myapp.topic.emergency-low", Exact),
                ("com.myapp.topic.emergency", Prefix),
                true,
            ),
            (("a.b", Exact), ("a.bc", Prefix), false),
            (("a.b.c", Exact), ("a.b.c", Exact), true),
            (("a.b.c", Exact), ("a.b", Exact), false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(patterns_overlap(a, b), expected, "{a:?} {b:?}");
            assert_eq!(patterns_overlap(b, a), expected, "{b:?} {a:?}");
        }
    }
}
