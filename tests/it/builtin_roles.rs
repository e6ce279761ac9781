//! Crossbar's role conventions against an in-process router: the built-in `trusted` role
//! (every realm has it, allowed everything; auth may name it without the realm defining it),
//! and `allow-by-default` on a role (what no permission matches is allowed).

use crate::common;

use common::calls::*;
use common::in_process::InProcess;
use common::*;
use serde_json::json;

const TICKET: &str = "trusted-ticket";

fn web(auth: serde_json::Value) -> serde_json::Value {
    json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {"ws": {"type": "websocket", "serializers": ["json"], "auth": auth}}
    })
}

/// A backend that logs in with a ticket whose principal has role `trusted`, which realm1 does
/// not define: it joins as `trusted` and may do everything, the meta API included.
#[tokio::test]
async fn the_trusted_role_exists_in_every_realm_and_allows_everything() {
    let config = common::config(
        vec![json!({"name": "realm1", "roles": [
            {"name": "anonymous", "permissions": []}
        ]})],
        vec![web(json!({
            "anonymous": {"type": "static", "role": "anonymous"},
            "ticket": {"type": "static", "principals": {"backend": {"ticket": TICKET, "role": "trusted"}}}
        }))],
    );
    let router = InProcess::start(&config);
    let mut backend = router.json().await;
    let welcome = ticket_login(&mut backend, "realm1", "backend", TICKET).await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(welcome[2]["authrole"], "trusted", "{welcome}");
    let (reply, _) = backend
        .publish_ack("com.example.anything", json!({}), json!([1]))
        .await;
    assert_eq!(reply[0], 17, "PUBLISHED: {reply}");
    assert_eq!(
        backend.try_register("com.example.proc", json!({})).await[0],
        65
    );
    assert_eq!(
        call(&mut backend, "wamp.session.count", json!([])).await,
        json!(1)
    );

    // The anonymous role has no permissions: denied, so the test above is no accident.
    let (mut visitor, _) = router.joined("realm1").await;
    let (reply, _) = visitor
        .publish_ack("com.example.anything", json!({}), json!([1]))
        .await;
    assert_eq!(reply[0], 8, "{reply}");
    assert_eq!(reply[4], "wamp.error.not_authorized", "{reply}");
}

/// `allow-by-default: true`: every action no permission matches is allowed; a permission that
/// matches still decides (here it denies publishing to `com.example.secret`).
#[tokio::test]
async fn allow_by_default_allows_what_no_permission_matches() {
    let config = common::config(
        vec![json!({"name": "realm1", "roles": [
            {"name": "anonymous", "allow-by-default": true, "permissions": [
                {"uri": "com.example.secret", "match": "exact",
                 "allow": {"call": false, "register": false, "publish": false, "subscribe": true}}
            ]}
        ]})],
        vec![web(
            json!({"anonymous": {"type": "static", "role": "anonymous"}}),
        )],
    );
    let router = InProcess::start(&config);
    let (mut client, _) = router.joined("realm1").await;
    let (reply, _) = client
        .publish_ack("com.example.open", json!({}), json!([1]))
        .await;
    assert_eq!(reply[0], 17, "allowed by default: {reply}");
    assert_eq!(
        client
            .try_register("com.example.open.proc", json!({}))
            .await[0],
        65
    );
    let (reply, _) = client
        .publish_ack("com.example.secret", json!({}), json!([1]))
        .await;
    assert_eq!(reply[0], 8, "denied by its permission: {reply}");
    assert_eq!(reply[4], "wamp.error.not_authorized", "{reply}");
}

/// A role that auth names but no realm defines (Crossbar lets such a config run): the session
/// joins with that role and every action is denied; `check` warns instead of refusing.
#[tokio::test]
async fn a_role_no_realm_defines_joins_and_is_denied_everything() {
    let config = common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("user")]})],
        vec![web(
            json!({"anonymous": {"type": "static", "role": "guest"}}),
        )],
    );
    let loaded = junction::config::load_str(&config.to_string()).expect("the config loads");
    let warnings = junction::config::warnings(&loaded);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("role \"guest\"") && w.contains("no realm")),
        "{warnings:?}"
    );
    let router = InProcess::start(&config);
    let mut client = router.json().await;
    let welcome = client
        .request(json!([1, "realm1", {"roles": {"publisher": {}, "subscriber": {}}}]))
        .await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(welcome[2]["authrole"], "guest", "{welcome}");
    let (reply, _) = client
        .publish_ack("com.example.anything", json!({}), json!([1]))
        .await;
    assert_eq!(reply[4], "wamp.error.not_authorized", "{reply}");
    let reply = client.try_register("com.example.proc", json!({})).await;
    assert_eq!(reply[4], "wamp.error.not_authorized", "{reply}");
}
