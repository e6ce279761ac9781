//! Stopping Junction: on SIGTERM every joined session gets GOODBYE `wamp.close.system_shutdown`
//! and a close frame, and the process exits cleanly.

use crate::common;
use crate::common::Door;

use std::time::Duration;

use common::{Router, default_config};
use serde_json::json;

#[tokio::test]
async fn sigterm_says_goodbye_to_joined_sessions_and_exits() {
    let mut router = Router::start(&default_config());
    let (mut joined, _) = router.joined("realm1").await;
    let mut waiting = router.json().await; // connected, no HELLO yet
    router.terminate();

    let closed = joined.expect_close().await;
    assert_eq!(
        closed.messages,
        vec![json!([6, {"message": "the router is shutting down"}, "wamp.close.system_shutdown"])]
    );
    let frame = closed.frame.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);

    let closed = waiting.expect_close().await;
    assert!(closed.messages.is_empty(), "{:?}", closed.messages);

    let status = router
        .wait_exit(Duration::from_secs(5))
        .expect("junction exits");
    assert!(status.success(), "{status:?}");
    assert!(router.log().contains("shutting down"), "{}", router.log());
}
