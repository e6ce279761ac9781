//! `realms[].store`, in Crossbar's shape:
//!
//! ```json
//! "store": {"type": "embedded", "path": "data/realm1.redb", "limit": 100,
//!           "event-history": [{"uri": "com.example.oncounter", "match": "exact", "limit": 1000}],
//!           "call-queue": [{"uri": "com.example.compute", "match": "exact", "limit": 1000}]}
//! ```
//!
//! `type` is `memory` (Crossbar's only open-source type) or `embedded` (Junction's redb file;
//! `path` relative to the config file, default `.junction/<realm>.redb`); CrossbarFX's `cfxdb`
//! (an LMDB folder at `path`) is an embedded store `<path>/<realm>.redb`, its `maxsize` and
//! `buffer-flush` accepted and listed as ignored. The top-level `limit`
//! is what Crossbar makes of it: the limit of every `event-history` and `call-queue` rule that
//! does not set its own (default 100). Rule URIs follow the realm's `uri_check` and their match
//! policy. Call queues live in memory whatever the store's type (see
//! `router::call_queue`).

use std::collections::HashMap;

use crate::config::loader::Loader;
use crate::config::model::{CallQueueRule, HistoryRule, StoreConfig, UriCheck, default_store};
use crate::config::node::{Node, Result};
use crate::wamp::uri::{self, MatchPolicy};

/// Crossbar's default limit per rule (events kept, or calls waiting).
pub const DEFAULT_RULE_LIMIT: u64 = 100;
/// The largest limit a rule may have: events and waiting calls are kept in memory.
pub const MAX_RULE_LIMIT: u64 = 1_000_000;

/// A realm's `store` as loaded: where it lives and its rules.
pub(crate) struct LoadedStore {
    pub store: StoreConfig,
    pub event_history: Vec<HistoryRule>,
    pub call_queue: Vec<CallQueueRule>,
}

pub(crate) fn load_store(
    node: &Node,
    realm: &str,
    uri_check: UriCheck,
    cx: &mut Loader,
) -> Result<LoadedStore> {
    let obj = node.object()?;
    // `maxsize` and `buffer-flush` tune the LMDB database of CrossbarFX's `cfxdb` store.
    obj.keys(
        &["type", "path", "limit", "event-history", "call-queue"],
        &["maxsize", "buffer-flush"],
        &mut cx.ignored,
    )?;
    let store = match obj
        .required("type")?
        .one_of(&["memory", "embedded", "cfxdb"])?
    {
        "memory" => {
            if obj.has("path") {
                return Err(obj.key_error("path", "a memory store has no path"));
            }
            StoreConfig::Memory
        }
        // CrossbarFX's store: an LMDB folder at `path`; Junction keeps its redb file there.
        "cfxdb" => {
            let joined = cx
                .folder
                .join(obj.required("path")?.non_empty_str()?)
                .join(format!("{realm}.redb"));
            StoreConfig::Embedded {
                path: std::path::absolute(&joined).unwrap_or(joined),
            }
        }
        _ => match obj.get("path") {
            Some(path) => {
                let joined = cx.folder.join(path.non_empty_str()?);
                StoreConfig::Embedded {
                    path: std::path::absolute(&joined).unwrap_or(joined),
                }
            }
            None => default_store(&cx.folder, realm),
        },
    };
    // Crossbar: "global default for limit on call queues / event history".
    let default_limit = match obj.get("limit") {
        Some(limit) => limit.u64_in(1, MAX_RULE_LIMIT)?,
        None => DEFAULT_RULE_LIMIT,
    };
    let event_history = match obj.get("event-history") {
        Some(list) => load_rules(&list, default_limit, uri_check, RuleKind::History)?
            .into_iter()
            .map(|(uri, policy, limit)| HistoryRule { uri, policy, limit })
            .collect(),
        None => Vec::new(),
    };
    let call_queue = match obj.get("call-queue") {
        Some(list) => load_rules(&list, default_limit, uri_check, RuleKind::CallQueue)?
            .into_iter()
            .map(|(uri, policy, limit)| CallQueueRule { uri, policy, limit })
            .collect(),
        None => Vec::new(),
    };
    Ok(LoadedStore {
        store,
        event_history,
        call_queue,
    })
}

/// The two lists of `{"uri", "match", "limit"}` rules a store has.
#[derive(Clone, Copy)]
enum RuleKind {
    History,
    CallQueue,
}

impl RuleKind {
    fn name(self) -> &'static str {
        match self {
            RuleKind::History => "history",
            RuleKind::CallQueue => "call-queue",
        }
    }

    fn reserved(self) -> &'static str {
        match self {
            RuleKind::History => {
                "wamp.* topics are reserved for the router and cannot have history"
            }
            RuleKind::CallQueue => {
                "wamp.* procedures are reserved for the router and cannot be queued"
            }
        }
    }
}

/// A rule list as (uri, match policy, limit): URIs valid under the realm's `uri_check` and their
/// match, not `wamp.*`, each (uri, match) once.
fn load_rules(
    list: &Node,
    default_limit: u64,
    uri_check: UriCheck,
    kind: RuleKind,
) -> Result<Vec<(String, MatchPolicy, usize)>> {
    let mut rules = Vec::new();
    // (uri, policy) -> path of the rule that first named it.
    let mut seen: HashMap<(String, MatchPolicy), String> = HashMap::new();
    for item in list.array()? {
        let obj = item.object()?;
        obj.only(&["uri", "match", "limit"])?;
        let policy = match obj.get("match") {
            Some(node) => match node.one_of(&["exact", "prefix", "wildcard"])? {
                "prefix" => MatchPolicy::Prefix,
                "wildcard" => MatchPolicy::Wildcard,
                _ => MatchPolicy::Exact,
            },
            None => MatchPolicy::Exact,
        };
        let uri_node = obj.required("uri")?;
        let uri = uri_node.str()?;
        let strict = uri_check == UriCheck::Strict;
        if !uri::is_valid(uri, strict, policy) {
            let check = if strict { "strict" } else { "loose" };
            return Err(uri_node.error(format!(
                "\"{uri}\" is not a valid URI for match {} ({check} URI check)",
                policy.name()
            )));
        }
        if uri::is_reserved(uri) {
            return Err(uri_node.error(format!("\"{uri}\": {}", kind.reserved())));
        }
        let limit = match obj.get("limit") {
            Some(limit) => limit.u64_in(1, MAX_RULE_LIMIT)?,
            None => default_limit,
        };
        if let Some(first) = seen.get(&(uri.to_owned(), policy)) {
            return Err(uri_node.error(format!(
                "a {} rule for \"{uri}\" (match {}) is already defined at {first}",
                kind.name(),
                policy.name()
            )));
        }
        seen.insert((uri.to_owned(), policy), item.path.clone());
        rules.push((
            uri.to_owned(),
            policy,
            usize::try_from(limit).unwrap_or(usize::MAX),
        ));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::testing::*;
    use crate::config::{CallQueueRule, RealmConfig, StoreConfig, default_store};

    const AT: &str = "workers[0].realms[0].store";

    fn realm_with_store(store: &str) -> String {
        worker(
            &format!(r#"{{"name": "realm1", "roles": [], "store": {store}}}"#),
            "",
        )
    }

    fn realm(store: &str) -> RealmConfig {
        load(&realm_with_store(store)).workers[0].realms[0].clone()
    }

    fn store_error(store: &str) -> String {
        error(&realm_with_store(store))
    }

    fn rule(uri: &str, policy: MatchPolicy, limit: usize) -> HistoryRule {
        HistoryRule {
            uri: uri.into(),
            policy,
            limit,
        }
    }

    #[test]
    fn crossbar_event_history_shape_loads() {
        let realm = realm(
            r#"{"type": "memory", "event-history": [{"uri": "com.example.oncounter", "limit": 10000}]}"#,
        );
        assert_eq!(realm.store, Some(StoreConfig::Memory));
        assert_eq!(
            realm.event_history,
            [rule("com.example.oncounter", MatchPolicy::Exact, 10000)]
        );
    }

    #[test]
    fn crossbarfx_cfxdb_store_is_an_embedded_file_in_its_folder() {
        let realm = realm(
            r#"{"type": "cfxdb", "path": "../.testdb", "maxsize": 1073741824, "buffer-flush": 250,
                "event-history": [{"uri": "debug.", "match": "prefix"}]}"#,
        );
        let Some(StoreConfig::Embedded { path }) = realm.store else {
            panic!("an embedded store: {:?}", realm.store);
        };
        assert!(path.ends_with(".testdb/realm1.redb"), "{}", path.display());
        assert_eq!(realm.event_history.len(), 1);
    }

    #[test]
    fn rules_take_their_match_and_the_top_level_limit_as_default() {
        let configured = realm(
            r#"{"type": "embedded", "limit": 7, "event-history": [
                {"uri": "com.example.a", "match": "exact"},
                {"uri": "com.example.", "match": "prefix", "limit": 3},
                {"uri": "com..x", "match": "wildcard"},
                {"uri": "com.example.a", "match": "prefix"}]}"#,
        );
        assert_eq!(
            configured.store,
            Some(default_store(std::path::Path::new(""), "realm1"))
        );
        assert_eq!(
            configured.event_history,
            [
                rule("com.example.a", MatchPolicy::Exact, 7),
                rule("com.example.", MatchPolicy::Prefix, 3),
                rule("com..x", MatchPolicy::Wildcard, 7),
                rule("com.example.a", MatchPolicy::Prefix, 7),
            ]
        );
        let defaulted = realm(r#"{"type": "memory", "event-history": [{"uri": "t"}]}"#);
        assert_eq!(defaulted.event_history[0].limit, 100);
        assert!(realm_of_plain().event_history.is_empty());
    }

    fn realm_of_plain() -> RealmConfig {
        load(&worker(r#"{"name": "realm1"}"#, "")).workers[0].realms[0].clone()
    }

    #[test]
    fn errors_name_the_json_path() {
        let cases = [
            (
                r#"{"type": "memory", "limit": 0}"#,
                format!("{AT}.limit: 0 is out of range (1..=1000000)"),
            ),
            (
                r#"{"type": "memory", "limit": "10"}"#,
                format!("{AT}.limit: expected a non-negative integer, found a string"),
            ),
            (
                r#"{"type": "memory", "event-history": {}}"#,
                format!("{AT}.event-history: expected an array, found an object"),
            ),
            (
                r#"{"type": "memory", "event-history": [{"limit": 5}]}"#,
                format!("{AT}.event-history[0].uri: required key is missing"),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "a"}, {"uri": "b", "limit": 2000000}]}"#,
                format!("{AT}.event-history[1].limit: 2000000 is out of range (1..=1000000)"),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "a", "limit": -1}]}"#,
                format!(
                    "{AT}.event-history[0].limit: expected a non-negative integer, found a negative number"
                ),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "a", "match": "regex"}]}"#,
                format!(
                    "{AT}.event-history[0].match: expected one of exact, prefix, wildcard, found \"regex\""
                ),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "com..a"}]}"#,
                format!(
                    "{AT}.event-history[0].uri: \"com..a\" is not a valid URI for match exact (loose URI check)"
                ),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "com. a", "match": "prefix"}]}"#,
                format!(
                    "{AT}.event-history[0].uri: \"com. a\" is not a valid URI for match prefix (loose URI check)"
                ),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "wamp.session.on_join"}]}"#,
                format!(
                    "{AT}.event-history[0].uri: \"wamp.session.on_join\": wamp.* topics are reserved for the router and cannot have history"
                ),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "a", "limit": 5}, {"uri": "b"}, {"uri": "a"}]}"#,
                format!(
                    "{AT}.event-history[2].uri: a history rule for \"a\" (match exact) is already defined at {AT}.event-history[0]"
                ),
            ),
            (
                r#"{"type": "memory", "event-history": [{"uri": "a", "matsch": "exact"}]}"#,
                format!(
                    "{AT}.event-history[0].matsch: unknown key (allowed here: uri, match, limit)"
                ),
            ),
            (
                r#"{"type": "memory", "history": []}"#,
                format!(
                    "{AT}.history: unknown key (allowed here: type, path, limit, event-history, call-queue, maxsize, buffer-flush)"
                ),
            ),
        ];
        for (store, expected) in cases {
            assert_eq!(store_error(store), expected, "{store}");
        }
    }

    fn queue_rule(uri: &str, policy: MatchPolicy, limit: usize) -> CallQueueRule {
        CallQueueRule {
            uri: uri.into(),
            policy,
            limit,
        }
    }

    #[test]
    fn crossbar_call_queue_shape_loads() {
        // crossbar-examples scaling-microservices/queued
        let realm = realm(
            r#"{"type": "memory", "call-queue": [{"uri": "com.example.compute", "match": "exact", "limit": 1000}]}"#,
        );
        assert_eq!(realm.store, Some(StoreConfig::Memory));
        assert_eq!(
            realm.call_queue,
            [queue_rule("com.example.compute", MatchPolicy::Exact, 1000)]
        );
        assert!(realm.event_history.is_empty());
    }

    #[test]
    fn call_queue_rules_take_their_match_and_the_top_level_limit() {
        let configured = realm(
            r#"{"type": "memory", "limit": 7,
                "event-history": [{"uri": "com.example.a"}],
                "call-queue": [
                    {"uri": "com.example.a"},
                    {"uri": "com.example.", "match": "prefix", "limit": 3},
                    {"uri": "com..x", "match": "wildcard"}]}"#,
        );
        assert_eq!(
            configured.call_queue,
            [
                queue_rule("com.example.a", MatchPolicy::Exact, 7),
                queue_rule("com.example.", MatchPolicy::Prefix, 3),
                queue_rule("com..x", MatchPolicy::Wildcard, 7),
            ]
        );
        assert_eq!(
            configured.event_history,
            [rule("com.example.a", MatchPolicy::Exact, 7)]
        );
        let defaulted = realm(r#"{"type": "memory", "call-queue": [{"uri": "p"}]}"#);
        assert_eq!(defaulted.call_queue[0].limit, 100);
        assert!(realm_of_plain().call_queue.is_empty());
    }

    #[test]
    fn call_queue_errors_name_the_json_path() {
        let cases = [
            (
                r#"{"type": "memory", "call-queue": {}}"#,
                format!("{AT}.call-queue: expected an array, found an object"),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"match": "exact"}]}"#,
                format!("{AT}.call-queue[0].uri: required key is missing"),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"uri": "a", "limit": 0}]}"#,
                format!("{AT}.call-queue[0].limit: 0 is out of range (1..=1000000)"),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"uri": "a", "match": "regex"}]}"#,
                format!(
                    "{AT}.call-queue[0].match: expected one of exact, prefix, wildcard, found \"regex\""
                ),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"uri": "com..a"}]}"#,
                format!(
                    "{AT}.call-queue[0].uri: \"com..a\" is not a valid URI for match exact (loose URI check)"
                ),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"uri": "wamp.session.get"}]}"#,
                format!(
                    "{AT}.call-queue[0].uri: \"wamp.session.get\": wamp.* procedures are reserved for the router and cannot be queued"
                ),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"uri": "a"}, {"uri": "a.", "match": "prefix"}, {"uri": "a.", "match": "prefix"}]}"#,
                format!(
                    "{AT}.call-queue[2].uri: a call-queue rule for \"a.\" (match prefix) is already defined at {AT}.call-queue[1]"
                ),
            ),
            (
                r#"{"type": "memory", "call-queue": [{"uri": "a", "concurrency": 2}]}"#,
                format!(
                    "{AT}.call-queue[0].concurrency: unknown key (allowed here: uri, match, limit)"
                ),
            ),
        ];
        for (store, expected) in cases {
            assert_eq!(store_error(store), expected, "{store}");
        }
    }

    #[test]
    fn rule_uris_follow_the_realm_uri_check() {
        let strict = |uri: &str| {
            worker(
                &format!(
                    r#"{{"name": "realm1", "options": {{"uri_check": "strict"}},
                        "store": {{"type": "memory", "event-history": [{{"uri": "{uri}"}}]}}}}"#
                ),
                "",
            )
        };
        assert_eq!(
            load(&strict("com.example.t")).workers[0].realms[0].event_history[0].uri,
            "com.example.t"
        );
        assert_eq!(
            error(&strict("com.Example")),
            format!(
                "{AT}.event-history[0].uri: \"com.Example\" is not a valid URI for match exact (strict URI check)"
            )
        );
    }
}
