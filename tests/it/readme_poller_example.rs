//! The http-poller example of README.md loads as written: a README that drifts from the
//! config format fails here.

use junction::config::topic::{ClientAuthMode, PaginationKind};
use junction::config::{self, PathService, TransportKind};

/// The ```json blocks of the README's "http-poller topics" section.
fn example_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme.find("## http-poller topics").expect("section");
    let section = &readme[start..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .split("```json\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn readme_poller_example_loads() {
    let blocks = example_blocks();
    assert_eq!(blocks.len(), 2, "a realm and a topics-api path");
    let text = format!(
        r#"{{"version": 2, "workers": [{{"type": "router", "realms": [{}],
            "transports": [{{"type": "web", "endpoint": {{"type": "tcp", "port": 0}},
                            "paths": {{{}}}}}]}}]}}"#,
        blocks[0], blocks[1]
    );
    let env = |name: &str| match name {
        "ORDERS_CLIENT_SECRET" | "TOPICS_API_TOKEN" => Some("from-env".to_string()),
        _ => None,
    };
    let config = config::load_str_with_env(&text, &env).unwrap_or_else(|e| panic!("{e}"));
    let realm = &config.workers[0].realms[0];
    let topic = &realm.topics[0].topic;
    assert_eq!(topic.name, "com.example.orders");
    let oauth = topic.poller.authorization.as_ref().expect("oauth2");
    assert_eq!(oauth.mode, ClientAuthMode::Header);
    assert_eq!(oauth.client_secret.expose(), "from-env");
    assert!(matches!(
        topic.poller.pagination.as_ref().map(|p| &p.kind),
        Some(PaginationKind::Cursor { .. })
    ));
    assert!(topic.poller.transform.is_some());
    let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
        panic!("a web transport");
    };
    let Some(PathService::TopicsApi(api)) = paths.get("/streams/hub/api/v1") else {
        panic!(
            "the topics API path, got {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    };
    assert_eq!(
        api.bearer_token.as_ref().map(|t| t.expose()),
        Some("from-env")
    );
}
