//! The realm's store file at start, through the real binary: an empty file (what a truncated
//! store looks like) is not taken silently for a new store (issue 12, item 8).

use crate::common;

use std::time::Duration;

use common::{Router, config, full_access_role, web_transport};
use serde_json::json;

fn store_config(path: &std::path::Path) -> serde_json::Value {
    config(
        vec![json!({
            "name": "realm1",
            "roles": [full_access_role("anonymous")],
            "store": {"type": "embedded", "path": path.to_str().unwrap(),
                      "event-history": [{"uri": "com.example.t"}]}
        })],
        vec![web_transport(json!({}))],
    )
}

#[tokio::test]
async fn an_empty_store_file_is_named_in_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("realm1.redb");
    std::fs::write(&path, b"").unwrap();
    let router = Router::start(&store_config(&path));
    assert!(
        router
            .wait_for_log("is empty (0 bytes)", Duration::from_secs(2))
            .await,
        "{}",
        router.log()
    );
    assert!(router.log().contains("realm1.redb"), "{}", router.log());
}

#[tokio::test]
async fn a_missing_store_file_is_created_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.redb");
    let router = Router::start(&store_config(&path));
    assert!(
        router
            .wait_for_log("creating a new store", Duration::from_secs(2))
            .await,
        "{}",
        router.log()
    );
    assert!(router.log().contains("new.redb"), "{}", router.log());
    assert!(!router.log().contains("is empty"), "{}", router.log());
    assert!(path.exists());
}
