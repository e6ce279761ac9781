//! The store example of README.md loads as written and means what the README says of it.

use junction::config::{self, CallQueueRule, HistoryRule, StoreConfig};
use junction::wamp::uri::MatchPolicy;

/// The first ```json block of the README's "Store" section.
fn example_block() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## Store: retained events, event history, call queues")
        .expect("section");
    let section = &readme[start..];
    let block = section.split("```json\n").nth(1).expect("a json block");
    block.split("```").next().unwrap_or_default().to_string()
}

#[test]
fn readme_store_example_loads() {
    let text = format!(
        r#"{{"version": 2, "workers": [{{"type": "router", "realms": [{}]}}]}}"#,
        example_block()
    );
    let config = config::load_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let realm = &config.workers[0].realms[0];
    let Some(StoreConfig::Embedded { path }) = &realm.store else {
        panic!("an embedded store: {:?}", realm.store);
    };
    assert!(path.ends_with("data/realm1.redb"), "{path:?}");
    let rule = |uri: &str, policy, limit| HistoryRule {
        uri: uri.into(),
        policy,
        limit,
    };
    assert_eq!(
        realm.event_history,
        [
            rule("com.example.oncounter", MatchPolicy::Exact, 1000),
            rule("com.example.sensors.", MatchPolicy::Prefix, 500),
            rule("com.example..alarm", MatchPolicy::Wildcard, 100),
        ]
    );
    assert_eq!(
        realm.call_queue,
        [CallQueueRule {
            uri: "com.example.compute".into(),
            policy: MatchPolicy::Exact,
            limit: 1000,
        }]
    );
}
