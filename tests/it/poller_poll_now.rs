//! "Poll now" (the admin dashboard's button): `RealmPollers::poll_now` cuts the wait for the
//! next tick short, for a topic polled every hour and for one waiting for subscribers; an
//! unknown topic is named.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common;
use crate::upstream::{Reply, Upstream};
use common::bridge::web;
use common::full_access_role;
use common::in_process::InProcess;

async fn polls_reach(router: &InProcess, topic: &str, n: u64) -> bool {
    let pollers = router.pollers.realm("realm1").expect("realm1 has pollers");
    for _ in 0..100 {
        let view = pollers.get(topic).await.expect("the topic runs");
        if view["polls"].as_u64() >= Some(n) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    false
}

#[tokio::test]
async fn poll_now_polls_before_the_next_tick() {
    let upstream = Upstream::start().await;
    upstream.route("/data", vec![Reply::json(&json!({"n": 1}))]);
    let topic = |name: &str, always_on: bool| {
        json!({"name": name, "publisher": {"type": "http-poller", "alwaysOn": always_on,
            "config": {"url": upstream.url("/data"), "pollingPeriod": "PT1H"}}})
    };
    let router = InProcess::start(&common::config(
        vec![
            json!({"name": "realm1", "roles": [full_access_role("anonymous")],
                    "store": {"type": "memory"},
                    "topics": [topic("com.hourly", true), topic("com.idle", false)]}),
        ],
        vec![web(json!({"ws": {"type": "websocket"}}), Value::Null)],
    ));
    let pollers = router.pollers.realm("realm1").unwrap();
    assert!(
        polls_reach(&router, "com.hourly", 1).await,
        "the first poll"
    );
    pollers.poll_now("com.hourly").unwrap();
    assert!(
        polls_reach(&router, "com.hourly", 2).await,
        "polled again now"
    );
    // Without subscribers a topic that is not alwaysOn waits; poll now polls it anyway.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pollers.get("com.idle").await.unwrap()["polls"], 0);
    pollers.poll_now("com.idle").unwrap();
    assert!(
        polls_reach(&router, "com.idle", 1).await,
        "polled without subscribers"
    );
    let unknown = pollers.poll_now("com.nope").unwrap_err().to_string();
    assert!(unknown.contains("com.nope"), "{unknown}");
}
