//! Cookie tracking and cookie authentication on a WebSocket path (Crossbar's `cookie` option
//! and `cookie` auth method), against an in-process router: the cookie set on the 101 answer
//! and only when the client has none we know, a login by ticket remembered for the cookie, a
//! rejoin with no credentials, logout (GOODBYE `wamp.close.logout`) ending it for every
//! connection of the cookie, expiry, the realm it was made for, the `file` store across a
//! restart, and the config errors.

use std::time::Duration;

use crate::common;

use common::calls::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TICKET: &str = "joe-ticket";

fn path(cookie: Value, auth: Value) -> Value {
    json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {"ws": {"type": "websocket", "cookie": cookie, "auth": auth}}
    })
}

fn ticket_and_cookie() -> Value {
    json!({
        "ticket": {"type": "static", "principals": {"joe": {"ticket": TICKET, "role": "frontend"}}},
        "cookie": {}
    })
}

fn start(cookie: Value, auth: Value) -> InProcess {
    let roles = json!([full_access_role("frontend"), full_access_role("anonymous")]);
    InProcess::start(&common::config(
        vec![
            json!({"name": "realm1", "roles": roles}),
            json!({"name": "realm2", "roles": roles}),
        ],
        vec![path(cookie, auth)],
    ))
}

/// A JSON client on `/ws` sending `cookie` (a `Cookie` header value); the `Set-Cookie` of the
/// 101 answer, if any.
async fn connect(router: &impl Door, cookie: Option<&str>) -> (Client, Option<String>) {
    let mut request = ws_request(
        &format!("ws://{}/ws", router.addr()),
        &["wamp.2.json"],
        None,
    );
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("Cookie", HeaderValue::from_str(cookie).unwrap());
    }
    let (ws, response) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (Client::from_ws(ws, &response), set_cookie)
}

/// `name=value` of a `Set-Cookie` header.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

async fn hello(client: &mut Client, realm: &str, methods: &[&str]) -> Value {
    hello_with(client, realm, json!({"authmethods": methods})).await
}

#[track_caller]
fn assert_abort(msg: &Value, uri: &str) {
    assert_eq!(msg[0], 3, "expected ABORT, got {msg}");
    assert_eq!(msg[2], uri, "{msg}");
}

/// Logs joe in by ticket on a fresh connection; the cookie (`name=value`) it was given.
async fn login(router: &impl Door) -> String {
    let (mut client, set_cookie) = connect(router, None).await;
    let cookie = pair(&set_cookie.expect("a new client is given a cookie"));
    let welcome = ticket_login(&mut client, "realm1", "joe", TICKET).await;
    assert_eq!(welcome[0], 2, "{welcome}");
    goodbye(&mut client).await;
    cookie
}

#[tokio::test]
async fn the_cookie_is_set_on_the_upgrade_once() {
    let router = start(
        json!({"name": "sid", "length": 30, "max_age": 600, "store": {"type": "memory"}}),
        json!({"anonymous": {"type": "static", "role": "anonymous"}}),
    );
    let (_first, set_cookie) = connect(&router, None).await;
    let set_cookie = set_cookie.expect("Set-Cookie on the 101 answer");
    let (name, rest) = set_cookie.split_once('=').unwrap();
    assert_eq!(name, "sid", "{set_cookie}");
    let value = rest.split(';').next().unwrap();
    assert_eq!(value.len(), 30, "{set_cookie}");
    assert!(
        set_cookie.to_ascii_lowercase().contains("max-age=600"),
        "{set_cookie}"
    );
    // Known cookie: kept, not set again.
    let (_second, again) = connect(&router, Some(&format!("other=1; sid={value}"))).await;
    assert_eq!(again, None);
    // A cookie this router never gave: replaced.
    let (_third, replaced) = connect(&router, Some("sid=forged")).await;
    let replaced = replaced.expect("a new cookie for an unknown one");
    assert_ne!(pair(&replaced), format!("sid={value}"));
}

#[tokio::test]
async fn secure_http_only_and_same_site_attributes() {
    let router = start(
        json!({"secure": true, "http_strict": true, "same_site": "Strict"}),
        json!({"anonymous": {"type": "static", "role": "anonymous"}}),
    );
    let (_client, set_cookie) = connect(&router, None).await;
    let set_cookie = set_cookie.unwrap();
    assert!(set_cookie.starts_with("cbtid="), "{set_cookie}");
    assert_eq!(pair(&set_cookie).len(), "cbtid=".len() + 24, "{set_cookie}");
    let lower = set_cookie.to_ascii_lowercase();
    for attribute in ["max-age=604800", "secure", "httponly", "samesite=strict"] {
        assert!(lower.contains(attribute), "{attribute} in {set_cookie}");
    }
}

#[tokio::test]
async fn a_login_is_remembered_for_the_cookie() {
    let router = start(json!({}), ticket_and_cookie());
    let cookie = login(&router).await;
    let (mut client, set_cookie) = connect(&router, Some(&cookie)).await;
    assert_eq!(set_cookie, None);
    let welcome = hello(&mut client, "realm1", &["cookie", "ticket"]).await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(welcome[2]["authid"], "joe", "{welcome}");
    assert_eq!(welcome[2]["authrole"], "frontend", "{welcome}");
    assert_eq!(welcome[2]["authmethod"], "ticket", "{welcome}");
    assert_eq!(welcome[2]["authprovider"], "cookie", "{welcome}");
    // The session works as joe's.
    let session = welcome[1].as_u64().unwrap();
    let me = call(&mut client, "wamp.session.get", json!([session])).await;
    assert_eq!(me["authid"], "joe", "{me}");
}

#[tokio::test]
async fn no_cookie_or_an_unauthenticated_one_is_no_login() {
    let router = start(json!({}), ticket_and_cookie());
    let (mut client, _) = connect(&router, None).await;
    let abort = hello(&mut client, "realm1", &["cookie"]).await;
    assert_abort(&abort, "wamp.error.no_auth_method");
    // A cookie that exists but never logged in: the other methods decide.
    let (tracked, set_cookie) = connect(&router, None).await;
    drop(tracked);
    let cookie = pair(&set_cookie.unwrap());
    let (mut client, _) = connect(&router, Some(&cookie)).await;
    let challenge = hello_with(
        &mut client,
        "realm1",
        json!({"authmethods": ["cookie", "ticket"], "authid": "joe"}),
    )
    .await;
    assert_eq!(challenge[0], 4, "CHALLENGE ticket: {challenge}");
}

#[tokio::test]
async fn the_cookie_login_is_for_its_realm_only() {
    let router = start(json!({}), ticket_and_cookie());
    let cookie = login(&router).await;
    let (mut client, _) = connect(&router, Some(&cookie)).await;
    let abort = hello(&mut client, "realm2", &["cookie"]).await;
    assert_abort(&abort, "wamp.error.no_auth_method");
}

#[tokio::test]
async fn logout_ends_the_cookie_login_everywhere() {
    let router = start(json!({}), ticket_and_cookie());
    let cookie = login(&router).await;
    let (mut first, _) = connect(&router, Some(&cookie)).await;
    let (mut second, _) = connect(&router, Some(&cookie)).await;
    assert_eq!(hello(&mut first, "realm1", &["cookie"]).await[0], 2);
    assert_eq!(hello(&mut second, "realm1", &["cookie"]).await[0], 2);
    first
        .send(json!([6, {"message": "bye"}, "wamp.close.logout"]))
        .await;
    let reply = first.recv().await;
    assert_eq!(reply[0], 6, "GOODBYE back: {reply}");
    // The other connection of the same cookie is closed by the router.
    let closed = second.expect_close().await;
    assert!(
        closed
            .messages
            .iter()
            .any(|m| m[0] == 6 && m[2] == "wamp.close.logout"),
        "{closed:?}"
    );
    let (mut again, _) = connect(&router, Some(&cookie)).await;
    let abort = hello(&mut again, "realm1", &["cookie"]).await;
    assert_abort(&abort, "wamp.error.no_auth_method");
}

#[tokio::test]
async fn an_expired_cookie_is_no_login() {
    let router = start(json!({"max_age": 1}), ticket_and_cookie());
    let cookie = login(&router).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (mut client, set_cookie) = connect(&router, Some(&cookie)).await;
    let fresh = set_cookie.expect("an expired cookie is replaced");
    assert_ne!(pair(&fresh), cookie);
    let abort = hello(&mut client, "realm1", &["cookie"]).await;
    assert_abort(&abort, "wamp.error.no_auth_method");
}

#[tokio::test]
async fn a_file_store_keeps_logins_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cookies.dat");
    let cookie_config = json!({"store": {"type": "file", "filename": file.to_str().unwrap()}});
    let config = common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("frontend")]})],
        vec![path(cookie_config, ticket_and_cookie())],
    );
    // The real binary, stopped and started again.
    let mut router = Router::start(&config);
    let cookie = login(&router).await;
    router.terminate();
    router.wait_exit(Duration::from_secs(10)).expect("stopped");
    let router = Router::start(&config);
    let (mut client, set_cookie) = connect(&router, Some(&cookie)).await;
    assert_eq!(set_cookie, None, "the cookie is known after the restart");
    let welcome = hello(&mut client, "realm1", &["cookie"]).await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(welcome[2]["authid"], "joe", "{welcome}");
    // Nothing of the cookie is in the file in clear: only its digest.
    let bytes = std::fs::read(&file).unwrap();
    let value = cookie.split_once('=').unwrap().1.as_bytes();
    assert!(
        !bytes.windows(value.len()).any(|w| w == value),
        "the cookie value is not stored"
    );
}

#[tokio::test]
async fn anonymous_sessions_keep_one_authid_per_cookie() {
    let router = start(
        json!({}),
        json!({"anonymous": {"type": "static", "role": "anonymous"}}),
    );
    let (mut first, set_cookie) = connect(&router, None).await;
    let cookie = pair(&set_cookie.unwrap());
    let a = hello(&mut first, "realm1", &["anonymous"]).await;
    let (mut second, _) = connect(&router, Some(&cookie)).await;
    let b = hello(&mut second, "realm1", &["anonymous"]).await;
    let (mut other, _) = connect(&router, None).await;
    let c = hello(&mut other, "realm1", &["anonymous"]).await;
    assert_eq!(a[2]["authid"], b[2]["authid"], "{a} {b}");
    assert_ne!(a[2]["authid"], c[2]["authid"], "{a} {c}");
    // The authid is not the cookie: other sessions see authids in the meta API.
    let value = cookie.split_once('=').unwrap().1;
    assert!(!a[2]["authid"].as_str().unwrap().contains(value), "{a}");
}

#[test]
fn config_errors_name_the_json_path() {
    let error = |cookie: Value, auth: Value| {
        let config = common::config(
            vec![json!({"name": "realm1", "roles": [full_access_role("frontend")]})],
            vec![path(cookie, auth)],
        );
        junction::config::load_str(&config.to_string())
            .expect_err("invalid")
            .to_string()
    };
    let p = "workers[0].transports[0].paths.ws";
    let anonymous = json!({"anonymous": {"type": "static", "role": "frontend"}});
    assert!(
        error(json!({"name": "9x"}), anonymous.clone()).contains(&format!("{p}.cookie.name")),
        "{}",
        error(json!({"name": "9x"}), anonymous.clone())
    );
    assert!(error(json!({"length": 5}), anonymous.clone()).contains(&format!("{p}.cookie.length")));
    assert!(
        error(json!({"store": {"type": "redis"}}), anonymous.clone())
            .contains(&format!("{p}.cookie.store.type"))
    );
    assert!(
        error(json!({"store": {"type": "file"}}), anonymous.clone())
            .contains(&format!("{p}.cookie.store"))
    );
    assert!(
        error(json!({"same_site": "Sometimes"}), anonymous)
            .contains(&format!("{p}.cookie.same_site"))
    );
    // Cookie auth needs cookie tracking on its path.
    let config = common::config(
        vec![json!({"name": "realm1", "roles": [full_access_role("frontend")]})],
        vec![json!({
            "type": "web",
            "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
            "paths": {"ws": {"type": "websocket", "auth": ticket_and_cookie()}}
        })],
    );
    let message = junction::config::load_str(&config.to_string())
        .expect_err("cookie auth without tracking")
        .to_string();
    assert!(message.contains(&format!("{p}.auth.cookie")), "{message}");
}

#[tokio::test]
async fn a_dynamic_authenticator_is_given_the_http_headers_and_the_cookie() {
    let router = start(
        json!({}),
        json!({
            "anonymous": {"type": "static", "role": "frontend"},
            "ticket": {"type": "dynamic", "authenticator": "com.example.authenticate"},
            "cookie": {}
        }),
    );
    let (mut backend, _) = connect(&router, None).await;
    assert_eq!(hello(&mut backend, "realm1", &["anonymous"]).await[0], 2);
    let registered = backend
        .request(json!([64, 1, {}, "com.example.authenticate"]))
        .await;
    assert_eq!(registered[0], 65, "{registered}");

    let mut request = ws_request(
        &format!("ws://{}/ws", router.addrs[0]),
        &["wamp.2.json"],
        None,
    );
    request
        .headers_mut()
        .insert("X-Api-Client", HeaderValue::from_static("demo-app"));
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie_value = pair(&set_cookie).split_once('=').unwrap().1.to_owned();
    let mut client = Client::from_ws(ws, &response);
    let challenge = hello_with(
        &mut client,
        "realm1",
        json!({"authmethods": ["cookie", "ticket"], "authid": "joe"}),
    )
    .await;
    assert_eq!(challenge[0], 4, "{challenge}");
    client.send(json!([5, "joe-secret", {}])).await;
    let invocation = backend.recv().await;
    assert_eq!(invocation[0], 68, "INVOCATION: {invocation}");
    let transport = &invocation[4][2]["transport"];
    assert_eq!(
        transport["http_headers_received"]["x-api-client"], "demo-app",
        "{transport}"
    );
    assert_eq!(
        transport["http_cbtid"],
        cookie_value.as_str(),
        "{transport}"
    );
    assert_eq!(invocation[4][2]["ticket"], "joe-secret");
    backend
        .send(json!([70, invocation[1], {}, [{"role": "frontend", "authid": "joe"}]]))
        .await;
    let welcome = client.recv().await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(welcome[2]["authprovider"], "dynamic");
    // The session's meta API details do not carry the headers or the cookie.
    let session = welcome[1].as_u64().unwrap();
    let me = call(&mut client, "wamp.session.get", json!([session])).await;
    assert!(
        me["transport"].get("http_headers_received").is_none(),
        "{me}"
    );
    assert!(!me.to_string().contains(&cookie_value), "{me}");
    // The dynamic login is remembered for the cookie.
    let (mut again, _) = connect(&router, Some(&pair(&set_cookie))).await;
    let welcome = hello(&mut again, "realm1", &["cookie", "ticket"]).await;
    assert_eq!(
        (&welcome[2]["authid"], &welcome[2]["authprovider"]),
        (&json!("joe"), &json!("cookie")),
        "{welcome}"
    );
}

/// Crossbar's `purge_on_startup` forgets the stored logins at start; its `database` store
/// (an LMDB folder there) is a redb file in that folder here, its LMDB tuning ignored.
#[tokio::test]
async fn purge_on_startup_and_the_database_store() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cookies");
    let config = |purge: bool| {
        let store = json!({"type": "database", "path": folder.to_str().unwrap(),
                           "maxsize": 1048576, "sync": true, "purge_on_startup": purge});
        common::config(
            vec![json!({"name": "realm1", "roles": [full_access_role("frontend")]})],
            vec![path(json!({"store": store}), ticket_and_cookie())],
        )
    };
    let mut router = Router::start(&config(false));
    let cookie = login(&router).await;
    router.terminate();
    router.wait_exit(Duration::from_secs(10)).expect("stopped");
    assert!(folder.join("cookies.redb").is_file());
    let mut router = Router::start(&config(false));
    let (mut client, _) = connect(&router, Some(&cookie)).await;
    assert_eq!(hello(&mut client, "realm1", &["cookie"]).await[0], 2);
    router.terminate();
    router.wait_exit(Duration::from_secs(10)).expect("stopped");
    let router = Router::start(&config(true));
    let (mut client, set_cookie) = connect(&router, Some(&cookie)).await;
    assert!(set_cookie.is_some(), "purged: the cookie is unknown");
    let abort = hello(&mut client, "realm1", &["cookie"]).await;
    assert_abort(&abort, "wamp.error.no_auth_method");
}

/// A `cookies.dat` Crossbar wrote (JSON lines, cookie values in clear): its live logins are
/// imported, so browsers logged in under Crossbar stay logged in; the file is moved aside and a
/// store keeping only digests takes its place.
#[tokio::test]
async fn crossbar_cookie_file_logins_are_imported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cookies.dat");
    let value = "CrossbarCookieValue123456";
    let now = jiff::Timestamp::now();
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            json!({"id": value, "created": now.to_string(), "max_age": 3600, "authid": null,
                   "authrole": null, "authmethod": null, "authrealm": null, "authextra": null}),
            json!({"id": value, "modified": now.to_string(), "max_age": 3600, "authid": "joe",
                   "authrole": "frontend", "authmethod": "ticket", "authrealm": "realm1",
                   "authextra": null})
        ),
    )
    .unwrap();
    let router = start(
        json!({"store": {"type": "file", "filename": file.to_str().unwrap()}}),
        ticket_and_cookie(),
    );
    let (mut client, set_cookie) = connect(&router, Some(&format!("cbtid={value}"))).await;
    assert_eq!(set_cookie, None, "Crossbar's cookie is known");
    let welcome = hello(&mut client, "realm1", &["cookie"]).await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(welcome[2]["authid"], "joe", "{welcome}");
    assert!(
        dir.path().join("cookies.dat.crossbar").is_file(),
        "moved aside"
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
        "the new store keeps no cookie value"
    );
}
