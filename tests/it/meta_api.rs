//! The WAMP meta API against an in-process router: session procedures and events
//! (`wamp.session.count/list/get/kill`, `on_join`, `on_leave`), subscription and registration
//! procedures and events, the permissions they obey, and the realm option that turns them off.

use crate::common;

use common::calls::*;
use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const TICKET: &str = "meta-ticket";

/// realm1: `anonymous` may do everything, `user` (ticket: alice, bob, carol) only
/// `com.example.` and adding/flushing its testaments.
fn config(realm_options: Value) -> Value {
    let call_only = |uri: &str| {
        json!({"uri": uri, "match": "exact",
            "allow": {"call": true, "register": false, "publish": false, "subscribe": false}})
    };
    let user = json!({"name": "user", "permissions": [
        {"uri": "com.example.", "match": "prefix",
         "allow": {"call": true, "register": true, "publish": true, "subscribe": true}},
        call_only("wamp.session.add_testament"),
        call_only("wamp.session.flush_testaments"),
    ]});
    let auth = json!({
        "anonymous": {"type": "static", "role": "anonymous"},
        "ticket": {"type": "static", "principals": {
            "alice": {"ticket": TICKET, "role": "user"},
            "bob": {"ticket": TICKET, "role": "user"},
            "carol": {"ticket": TICKET, "role": "user"}
        }}
    });
    let transport = json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {"ws": {"type": "websocket", "serializers": ["json", "msgpack"], "auth": auth}}
    });
    let mut realm = json!({"name": "realm1", "roles": [full_access_role("anonymous"), user]});
    if !realm_options.is_null() {
        realm["options"] = realm_options;
    }
    common::config(vec![realm], vec![transport])
}

fn start() -> InProcess {
    InProcess::start(&config(Value::Null))
}

/// A ticket session with role `user`; returns it and its session id.
async fn user(router: &InProcess, authid: &str) -> (Client, u64) {
    let mut client = router.json().await;
    let welcome = ticket_login(&mut client, "realm1", authid, TICKET).await;
    assert_eq!(welcome[0], 2, "expected WELCOME, got {welcome}");
    (client, welcome[1].as_u64().unwrap())
}

fn sorted(v: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn sorted_ids(ids: &[u64]) -> Vec<u64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn welcome_announces_the_meta_features() {
    let router = start();
    let mut client = router.json().await;
    let welcome = client.hello("realm1").await;
    let roles = &welcome[2]["roles"];
    for (role, names) in [
        ("broker", &["session_meta_api", "subscription_meta_api"][..]),
        (
            "dealer",
            &[
                "session_meta_api",
                "registration_meta_api",
                "testament_meta_api",
                "progressive_call_invocations",
            ][..],
        ),
    ] {
        for name in names {
            assert_eq!(
                roles[role]["features"][name], true,
                "{role}.{name}: {roles}"
            );
        }
    }
}

#[tokio::test]
async fn session_count_list_and_get() {
    let router = start();
    let (mut admin, admin_id) = router.joined("realm1").await;
    let (mut other, other_id) = router.joined("realm1").await;
    let (_alice, alice_id) = user(&router, "alice").await;
    assert_eq!(call(&mut admin, "wamp.session.count", json!([])).await, 3);
    assert_eq!(
        call(&mut admin, "wamp.session.count", json!([["user"]])).await,
        1
    );
    assert_eq!(
        call(&mut admin, "wamp.session.count", json!([["nobody"]])).await,
        0
    );
    let listed = call(&mut admin, "wamp.session.list", json!([])).await;
    assert_eq!(sorted(&listed), sorted_ids(&[admin_id, other_id, alice_id]));
    assert_eq!(
        call(&mut admin, "wamp.session.list", json!([["user"]])).await,
        json!([alice_id])
    );
    let details = call(&mut admin, "wamp.session.get", json!([alice_id])).await;
    assert_eq!(details["session"], alice_id, "{details}");
    assert_eq!(
        (
            &details["authid"],
            &details["authrole"],
            &details["authmethod"],
            &details["authprovider"]
        ),
        (
            &json!("alice"),
            &json!("user"),
            &json!("ticket"),
            &json!("static")
        ),
        "{details}"
    );
    assert_eq!(details["transport"]["type"], "websocket", "{details}");
    assert!(
        details["transport"]["peer"]
            .as_str()
            .unwrap()
            .starts_with("tcp4:127.0.0.1:"),
        "{details}"
    );
    assert!(
        details["transport"]["protocol"]
            .as_str()
            .unwrap()
            .starts_with("wamp.2.json"),
        "{details}"
    );
    assert_eq!(
        call_error(&mut admin, "wamp.session.get", json!([1234567])).await,
        "wamp.error.no_such_session"
    );
    assert_eq!(
        call_error(&mut admin, "wamp.session.get", json!(["not an id"])).await,
        "wamp.error.invalid_argument"
    );
    // A session that left is no longer counted (its GOODBYE is answered after it left).
    // Several roles, and filter_authroles as a keyword.
    for (args, kwargs, expected) in [
        (json!([["user", "anonymous"]]), json!({}), 3),
        (json!([]), json!({"filter_authroles": ["anonymous"]}), 2),
    ] {
        let reply = call_with(&mut admin, "wamp.session.count", args, kwargs).await;
        assert_eq!(reply[3], json!([expected]), "{reply}");
    }
    let reply = call_with(
        &mut admin,
        "wamp.session.list",
        json!([]),
        json!({"filter_authroles": ["anonymous"]}),
    )
    .await;
    assert_eq!(sorted(&reply[3][0]), sorted_ids(&[admin_id, other_id]));
    assert_eq!(
        call(&mut admin, "wamp.session.list", json!([["nobody"]])).await,
        json!([])
    );
    let mine = call(&mut admin, "wamp.session.get", json!([admin_id])).await;
    assert_eq!(
        (&mine["session"], &mine["authrole"], &mine["authmethod"]),
        (&json!(admin_id), &json!("anonymous"), &json!("anonymous")),
        "{mine}"
    );
    goodbye(&mut other).await;
    assert_eq!(call(&mut admin, "wamp.session.count", json!([])).await, 2);
    let listed = call(&mut admin, "wamp.session.list", json!([])).await;
    assert_eq!(sorted(&listed), sorted_ids(&[admin_id, alice_id]));
    assert_eq!(
        call_error(&mut admin, "wamp.session.get", json!([other_id])).await,
        "wamp.error.no_such_session"
    );
}

#[tokio::test]
async fn on_join_and_on_leave_carry_the_spec_payloads() {
    let router = start();
    let (mut watcher, _) = router.joined("realm1").await;
    let joins = watcher.subscribe("wamp.session.on_join", json!({})).await;
    let leaves = watcher.subscribe("wamp.session.on_leave", json!({})).await;
    let (mut bob, bob_id) = user(&router, "bob").await;
    let (args, _) = event_on(&mut watcher, joins).await;
    let info = &args[0];
    assert_eq!(info["session"], bob_id, "{info}");
    assert_eq!(
        (&info["authid"], &info["authrole"], &info["authmethod"]),
        (&json!("bob"), &json!("user"), &json!("ticket")),
        "{info}"
    );
    goodbye(&mut bob).await;
    let (args, _) = event_on(&mut watcher, leaves).await;
    assert_eq!(args, json!([bob_id, "bob", "user"]));
    // A connection simply lost leaves too.
    let (lost, lost_id) = router.joined("realm1").await;
    let (args, _) = event_on(&mut watcher, joins).await;
    assert_eq!(args[0]["session"], lost_id);
    drop(lost);
    let (args, _) = event_on(&mut watcher, leaves).await;
    assert_eq!(args[0], lost_id, "{args}");
    assert_eq!(args[2], "anonymous", "{args}");
}

#[tokio::test]
async fn kill_ends_the_session_with_the_reason_and_message() {
    let router = start();
    let (mut admin, admin_id) = router.joined("realm1").await;
    let (mut target, target_id) = router.joined("realm1").await;
    target.subscribe("com.example.t", json!({})).await;
    let reply = call_with(
        &mut admin,
        "wamp.session.kill",
        json!([target_id]),
        json!({"reason": "com.example.kicked", "message": "go away"}),
    )
    .await;
    assert_eq!(reply[0], 50, "{reply}");
    assert_eq!(reply.get(3), None, "kill returns nothing: {reply}");
    let bye = target.recv().await;
    assert_eq!(
        bye,
        json!([6, {"message": "go away"}, "com.example.kicked"])
    );
    assert_eq!(call(&mut admin, "wamp.session.count", json!([])).await, 1);
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.match",
            json!(["com.example.t"])
        )
        .await,
        Value::Null
    );
    for bad in [target_id, admin_id] {
        assert_eq!(
            call_error(&mut admin, "wamp.session.kill", json!([bad])).await,
            "wamp.error.no_such_session"
        );
    }
    let (mut other, other_id) = router.joined("realm1").await;
    let reply = call_with(
        &mut admin,
        "wamp.session.kill",
        json!([other_id]),
        json!({"reason": "not a uri!"}),
    )
    .await;
    assert_eq!(
        (reply[0].as_u64(), reply[4].as_str()),
        (Some(8), Some("wamp.error.invalid_uri")),
        "{reply}"
    );
    call(&mut admin, "wamp.session.kill", json!([other_id])).await;
    let bye = other.recv().await;
    assert_eq!(
        (bye[0].as_u64(), bye[2].as_str()),
        (Some(6), Some("wamp.close.normal")),
        "{bye}"
    );
}

#[tokio::test]
async fn meta_procedures_obey_permissions() {
    let router = start();
    let (mut alice, _) = user(&router, "alice").await;
    let (_bob, bob_id) = user(&router, "bob").await;
    for (procedure, args) in [
        ("wamp.session.kill", json!([bob_id])),
        ("wamp.session.count", json!([])),
        ("wamp.subscription.list", json!([])),
        ("wamp.registration.list", json!([])),
        ("wamp.session.no_such_thing", json!([])),
    ] {
        assert_eq!(
            call_error(&mut alice, procedure, args).await,
            "wamp.error.not_authorized",
            "{procedure}"
        );
    }
    let request = alice.next_id();
    let reply = alice
        .request(json!([32, request, {}, "wamp.session.on_join"]))
        .await;
    assert_error(&reply, 32, request, "wamp.error.not_authorized");
    let (mut anon, _) = router.joined("realm1").await;
    assert_eq!(
        call_error(&mut anon, "wamp.session.no_such_thing", json!([])).await,
        "wamp.error.no_such_procedure"
    );
    // bob was not killed.
    assert_eq!(
        call(&mut anon, "wamp.session.count", json!([["user"]])).await,
        2
    );
}

#[tokio::test]
async fn subscription_meta_procedures() {
    let router = start();
    let (mut admin, _) = router.joined("realm1").await;
    let (mut a, a_id) = router.joined("realm1").await;
    let (mut b, b_id) = router.joined("realm1").await;
    let exact = a.subscribe("com.example.meta.t", json!({})).await;
    assert_eq!(
        b.subscribe("com.example.meta.t", json!({})).await,
        exact,
        "one subscription per URI and match"
    );
    let prefix = b
        .subscribe("com.example.meta", json!({"match": "prefix"}))
        .await;
    let wildcard = a
        .subscribe("com.example..t", json!({"match": "wildcard"}))
        .await;
    let lists = call(&mut admin, "wamp.subscription.list", json!([])).await;
    assert_eq!(lists["exact"], json!([exact]), "{lists}");
    assert_eq!(lists["prefix"], json!([prefix]), "{lists}");
    assert_eq!(lists["wildcard"], json!([wildcard]), "{lists}");
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.lookup",
            json!(["com.example.meta.t"])
        )
        .await,
        exact
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.lookup",
            json!(["com.example.meta", {"match": "prefix"}])
        )
        .await,
        prefix
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.lookup",
            json!(["com.example.nothing"])
        )
        .await,
        Value::Null
    );
    let matched = call(
        &mut admin,
        "wamp.subscription.match",
        json!(["com.example.meta.t"]),
    )
    .await;
    assert_eq!(sorted(&matched), sorted_ids(&[exact, prefix, wildcard]));
    assert_eq!(
        call(&mut admin, "wamp.subscription.match", json!(["org.none"])).await,
        Value::Null
    );
    let details = call(&mut admin, "wamp.subscription.get", json!([prefix])).await;
    assert_eq!(
        (&details["id"], &details["uri"], &details["match"]),
        (&json!(prefix), &json!("com.example.meta"), &json!("prefix")),
        "{details}"
    );
    let created = details["created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{details}");
    let subscribers = call(
        &mut admin,
        "wamp.subscription.list_subscribers",
        json!([exact]),
    )
    .await;
    assert_eq!(sorted(&subscribers), sorted_ids(&[a_id, b_id]));
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.count_subscribers",
            json!([exact])
        )
        .await,
        2
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.lookup",
            json!(["com.example..t", {"match": "wildcard"}])
        )
        .await,
        wildcard
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.lookup",
            json!(["com.example.meta"])
        )
        .await,
        Value::Null,
        "no exact subscription on the prefix URI"
    );
    let matched = call(
        &mut admin,
        "wamp.subscription.match",
        json!(["com.example.meta.y"]),
    )
    .await;
    assert_eq!(matched, json!([prefix]));
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.match",
            json!(["com.example.x.t"])
        )
        .await,
        json!([wildcard])
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.list_subscribers",
            json!([wildcard])
        )
        .await,
        json!([a_id])
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.subscription.count_subscribers",
            json!([prefix])
        )
        .await,
        1
    );
    for procedure in [
        "wamp.subscription.get",
        "wamp.subscription.list_subscribers",
        "wamp.subscription.count_subscribers",
    ] {
        assert_eq!(
            call_error(&mut admin, procedure, json!([424242])).await,
            "wamp.error.no_such_subscription",
            "{procedure}"
        );
    }
}

/// SUBSCRIBE to `topic`, passing over the meta events (about the watcher's own earlier
/// subscriptions) that may arrive before SUBSCRIBED; returns the subscription id.
async fn subscribe_meta(watcher: &mut Client, topic: &str) -> u64 {
    let request = watcher.next_id();
    watcher.send(json!([32, request, {}, topic])).await;
    loop {
        let msg = watcher.recv().await;
        if msg[0] == 36 {
            continue;
        }
        assert_eq!(
            (msg[0].as_u64(), msg[1].as_u64()),
            (Some(33), Some(request)),
            "expected SUBSCRIBED: {msg}"
        );
        return msg[2].as_u64().unwrap();
    }
}

/// (topic name, args) of the meta events `watcher` gets until `n` of them concern `id`
/// (`on_create` names it in its details, the others as their second argument).
async fn meta_events_about(
    watcher: &mut Client,
    names: &[(u64, &str)],
    id: u64,
    n: usize,
) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    while seen.len() < n {
        let msg = watcher.recv().await;
        assert_eq!(msg[0], 36, "expected EVENT, got {msg}");
        let name = names
            .iter()
            .find(|(sub, _)| msg[1] == *sub)
            .map(|(_, n)| *n)
            .unwrap_or_else(|| panic!("an event of no meta subscription: {msg}"));
        let args = msg[4].clone();
        if args[1] == id || (name == "on_create" && args[1]["id"] == id) {
            seen.push((name.to_owned(), args));
        }
    }
    seen
}

#[tokio::test]
async fn subscription_meta_events() {
    let router = start();
    let (mut admin, _) = router.joined("realm1").await;
    let mut names = Vec::new();
    for name in ["on_create", "on_subscribe", "on_unsubscribe", "on_delete"] {
        names.push((
            subscribe_meta(&mut admin, &format!("wamp.subscription.{name}")).await,
            name,
        ));
    }
    let (mut a, a_id) = router.joined("realm1").await;
    let (mut b, b_id) = router.joined("realm1").await;
    let sid = a.subscribe("com.example.events", json!({})).await;
    b.subscribe("com.example.events", json!({})).await;
    let request = a.next_id();
    let reply = a.request(json!([34, request, sid])).await;
    assert_eq!(reply[0], 35, "expected UNSUBSCRIBED, got {reply}");
    goodbye(&mut b).await; // b's subscription goes with its session
    let seen = meta_events_about(&mut admin, &names, sid, 6).await;
    let (name, created) = &seen[0];
    assert_eq!(name, "on_create");
    assert_eq!(created[0], a_id);
    assert_eq!(
        (&created[1]["uri"], &created[1]["match"]),
        (&json!("com.example.events"), &json!("exact")),
        "{created}"
    );
    let rest: Vec<(String, Value)> = seen[1..].to_vec();
    assert_eq!(
        rest,
        vec![
            ("on_subscribe".into(), json!([a_id, sid])),
            ("on_subscribe".into(), json!([b_id, sid])),
            ("on_unsubscribe".into(), json!([a_id, sid])),
            ("on_unsubscribe".into(), json!([b_id, sid])),
            ("on_delete".into(), json!([b_id, sid])),
        ]
    );
}

#[tokio::test]
async fn registration_meta_procedures_and_events() {
    let router = start();
    let (mut watcher, _) = router.joined("realm1").await;
    let mut names = Vec::new();
    for name in ["on_create", "on_register", "on_unregister", "on_delete"] {
        names.push((
            subscribe_meta(&mut watcher, &format!("wamp.registration.{name}")).await,
            name,
        ));
    }
    let (mut admin, _) = router.joined("realm1").await;
    let (mut a, a_id) = router.joined("realm1").await;
    let (mut b, b_id) = router.joined("realm1").await;
    let rid = a
        .register("com.example.proc", json!({"invoke": "roundrobin"}))
        .await;
    assert_eq!(
        b.register("com.example.proc", json!({"invoke": "roundrobin"}))
            .await,
        rid
    );
    let prefix = a.register("com.example", json!({"match": "prefix"})).await;
    let lists = call(&mut admin, "wamp.registration.list", json!([])).await;
    assert_eq!(
        (&lists["exact"], &lists["prefix"], &lists["wildcard"]),
        (&json!([rid]), &json!([prefix]), &json!([])),
        "{lists}"
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.registration.lookup",
            json!(["com.example.proc"])
        )
        .await,
        rid
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.registration.lookup",
            json!(["com.example", {"match": "prefix"}])
        )
        .await,
        prefix
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.registration.match",
            json!(["com.example.proc"])
        )
        .await,
        rid
    );
    assert_eq!(
        call(
            &mut admin,
            "wamp.registration.match",
            json!(["com.example.other"])
        )
        .await,
        prefix
    );
    assert_eq!(
        call(&mut admin, "wamp.registration.match", json!(["org.other"])).await,
        Value::Null
    );
    let details = call(&mut admin, "wamp.registration.get", json!([rid])).await;
    assert_eq!(
        (&details["uri"], &details["match"], &details["invoke"]),
        (
            &json!("com.example.proc"),
            &json!("exact"),
            &json!("roundrobin")
        ),
        "{details}"
    );
    let callees = call(&mut admin, "wamp.registration.list_callees", json!([rid])).await;
    assert_eq!(sorted(&callees), sorted_ids(&[a_id, b_id]));
    assert_eq!(
        call(&mut admin, "wamp.registration.count_callees", json!([rid])).await,
        2
    );
    assert_eq!(
        call_error(&mut admin, "wamp.registration.get", json!([99999])).await,
        "wamp.error.no_such_registration"
    );
    for procedure in [
        "wamp.registration.list_callees",
        "wamp.registration.count_callees",
    ] {
        assert_eq!(
            call_error(&mut admin, procedure, json!([99999])).await,
            "wamp.error.no_such_registration",
            "{procedure}"
        );
    }
    let request = a.next_id();
    let reply = a.request(json!([66, request, rid])).await;
    assert_eq!(reply[0], 67, "expected UNREGISTERED, got {reply}");
    goodbye(&mut b).await;
    let seen = meta_events_about(&mut watcher, &names, rid, 6).await;
    assert_eq!(
        call(
            &mut admin,
            "wamp.registration.lookup",
            json!(["com.example.proc"])
        )
        .await,
        Value::Null,
        "the registration is gone"
    );
    assert_eq!(seen[0].0, "on_create");
    assert_eq!(
        (&seen[0].1[0], &seen[0].1[1]["invoke"]),
        (&json!(a_id), &json!("roundrobin")),
        "{:?}",
        seen[0]
    );
    assert_eq!(
        seen[1..].to_vec(),
        vec![
            ("on_register".to_owned(), json!([a_id, rid])),
            ("on_register".to_owned(), json!([b_id, rid])),
            ("on_unregister".to_owned(), json!([a_id, rid])),
            ("on_unregister".to_owned(), json!([b_id, rid])),
            ("on_delete".to_owned(), json!([b_id, rid])),
        ]
    );
}

#[tokio::test]
async fn the_meta_api_can_be_switched_off() {
    let router = InProcess::start(&config(json!({"enable_meta_api": false})));
    let (mut watcher, _) = router.joined("realm1").await;
    let joins = watcher.subscribe("wamp.session.on_join", json!({})).await;
    assert_eq!(
        call_error(&mut watcher, "wamp.session.count", json!([])).await,
        "wamp.error.no_such_procedure"
    );
    let (_other, _) = router.joined("realm1").await;
    // A marker published after the join: if on_join were published, it would come first.
    let marker = watcher.subscribe("com.example.marker", json!({})).await;
    let (mut publisher, _) = router.joined("realm1").await;
    publisher
        .publish_ack("com.example.marker", json!({}), json!(["m"]))
        .await;
    let msg = watcher.recv().await;
    assert_eq!(
        (msg[0].as_u64(), msg[1].as_u64()),
        (Some(36), Some(marker)),
        "no on_join ({joins}) before the marker: {msg}"
    );
}

/// Expects the GOODBYE a killed session gets; returns (reason, message).
async fn killed(client: &mut Client) -> (String, Value) {
    let bye = client.recv().await;
    assert_eq!(bye[0], 6, "expected GOODBYE, got {bye}");
    (
        bye[2].as_str().unwrap().to_owned(),
        bye[1]["message"].clone(),
    )
}

#[tokio::test]
async fn kill_by_authid_authrole_and_all_return_counts_and_spare_the_caller() {
    let router = start();
    let (mut admin, admin_id) = router.joined("realm1").await;
    let (mut alice1, _) = user(&router, "alice").await;
    let (mut alice2, _) = user(&router, "alice").await;
    let (mut bob, _) = user(&router, "bob").await;
    let (mut anon, _) = router.joined("realm1").await;
    let reply = call_with(
        &mut admin,
        "wamp.session.kill_by_authid",
        json!(["alice"]),
        json!({"message": "alice only"}),
    )
    .await;
    assert_eq!(reply[3], json!([2]), "{reply}");
    for alice in [&mut alice1, &mut alice2] {
        assert_eq!(
            killed(alice).await,
            ("wamp.close.normal".to_owned(), json!("alice only"))
        );
    }
    assert_eq!(
        call(&mut admin, "wamp.session.kill_by_authid", json!(["nobody"])).await,
        0
    );
    let reply = call_with(
        &mut admin,
        "wamp.session.kill_by_authrole",
        json!(["user"]),
        json!({"reason": "com.example.users_out"}),
    )
    .await;
    assert_eq!(reply[3], json!([1]), "{reply}");
    assert_eq!(killed(&mut bob).await.0, "com.example.users_out");
    // The caller's own session is never killed by these.
    assert_eq!(
        call(
            &mut admin,
            "wamp.session.kill_by_authrole",
            json!(["anonymous"])
        )
        .await,
        1
    );
    killed(&mut anon).await;
    let (mut carol, _) = user(&router, "carol").await;
    assert_eq!(
        call_with(
            &mut admin,
            "wamp.session.kill_all",
            json!([]),
            json!({"reason": "com.example.all_out", "message": "everyone"})
        )
        .await[3],
        json!([1])
    );
    assert_eq!(
        killed(&mut carol).await,
        ("com.example.all_out".to_owned(), json!("everyone"))
    );
    assert_eq!(
        call(&mut admin, "wamp.session.kill_all", json!([])).await,
        0,
        "nobody left to kill"
    );
    assert_eq!(
        call(&mut admin, "wamp.session.list", json!([])).await,
        json!([admin_id])
    );
}

#[tokio::test]
async fn testaments_are_published_when_a_session_is_killed_or_lost() {
    let router = start();
    let (mut admin, _) = router.joined("realm1").await;
    let (mut watcher, _) = router.joined("realm1").await;
    let sub = watcher.subscribe("com.example.testament", json!({})).await;
    let (mut alice, alice_id) = user(&router, "alice").await;
    call_with(
        &mut alice,
        "wamp.session.add_testament",
        json!(["com.example.testament", ["alice destroyed"], {"who": "alice"}]),
        json!({}),
    )
    .await;
    call_with(
        &mut alice,
        "wamp.session.add_testament",
        json!(["com.example.testament", ["alice detached"], {}]),
        json!({"scope": "detached"}),
    )
    .await;
    let reply = call_with(
        &mut alice,
        "wamp.session.add_testament",
        json!(["com.example.testament", ["alice detached 2"]]),
        json!({"scope": "detached"}),
    )
    .await;
    assert_eq!(reply.get(3), None, "add_testament returns nothing: {reply}");
    call(&mut admin, "wamp.session.kill", json!([alice_id])).await;
    // Detached testaments first, each scope in the order added, then destroyed ones.
    assert_eq!(
        event_on(&mut watcher, sub).await,
        (json!(["alice detached"]), json!({}))
    );
    assert_eq!(
        event_on(&mut watcher, sub).await.0,
        json!(["alice detached 2"])
    );
    assert_eq!(
        event_on(&mut watcher, sub).await,
        (json!(["alice destroyed"]), json!({"who": "alice"}))
    );
    // A lost connection publishes them too, with their publish_options.
    let (mut carol, _) = user(&router, "carol").await;
    let carol_sub = carol.subscribe("com.example.testament", json!({})).await;
    let (mut bob, _) = user(&router, "bob").await;
    let reply = call_with(
        &mut bob,
        "wamp.session.add_testament",
        json!(["com.example.testament", ["for carol only"], {}]),
        json!({"publish_options": {"eligible_authid": ["carol"]}}),
    )
    .await;
    assert_eq!(reply[0], 50, "{reply}");
    let reply = call_with(
        &mut bob,
        "wamp.session.add_testament",
        json!(["com.example.testament", ["bob"], {}]),
        json!({"publish_options": {"exclude_authid": ["nobody"]}}),
    )
    .await;
    assert_eq!(reply[0], 50, "{reply}");
    drop(bob);
    assert_eq!(
        event_on(&mut carol, carol_sub).await.0,
        json!(["for carol only"])
    );
    assert_eq!(event_on(&mut carol, carol_sub).await.0, json!(["bob"]));
    assert_eq!(
        event_on(&mut watcher, sub).await.0,
        json!(["bob"]),
        "the eligible_authid one did not reach the watcher"
    );
}

#[tokio::test]
async fn flushed_and_refused_testaments() {
    let router = start();
    let (mut admin, _) = router.joined("realm1").await;
    let (mut watcher, _) = router.joined("realm1").await;
    let sub = watcher.subscribe("com.example.testament", json!({})).await;
    let (mut carol, _) = user(&router, "carol").await;
    let add = |topic: &str, args: Value| json!([topic, args, {}]);
    call_with(
        &mut carol,
        "wamp.session.add_testament",
        add("com.example.testament", json!(["x"])),
        json!({}),
    )
    .await;
    call_with(
        &mut carol,
        "wamp.session.add_testament",
        add("com.example.testament", json!(["y"])),
        json!({"scope": "detached"}),
    )
    .await;
    assert_eq!(
        call_with(
            &mut carol,
            "wamp.session.flush_testaments",
            json!([]),
            json!({})
        )
        .await[0],
        50
    );
    // A topic the role may not publish to, a reserved one and a bad scope are refused.
    let refused = |reply: Value| reply[4].as_str().map(str::to_owned);
    let reply = call_with(
        &mut carol,
        "wamp.session.add_testament",
        add("org.elsewhere", json!([])),
        json!({}),
    )
    .await;
    assert_eq!(refused(reply).as_deref(), Some("wamp.error.not_authorized"));
    for client in [&mut carol, &mut admin] {
        let reply = call_with(
            client,
            "wamp.session.add_testament",
            add("wamp.session.on_join", json!([])),
            json!({}),
        )
        .await;
        assert_eq!(refused(reply).as_deref(), Some("wamp.error.invalid_uri"));
    }
    let reply = call_with(
        &mut carol,
        "wamp.session.add_testament",
        add("com.example.testament", json!([])),
        json!({"scope": "forever"}),
    )
    .await;
    assert_eq!(
        refused(reply).as_deref(),
        Some("wamp.error.invalid_argument")
    );
    let reply = call_with(
        &mut carol,
        "wamp.session.flush_testaments",
        json!([]),
        json!({"scope": "forever"}),
    )
    .await;
    assert_eq!(
        refused(reply).as_deref(),
        Some("wamp.error.invalid_argument")
    );
    goodbye(&mut carol).await;
    // Only the detached one was left, and it is the first event.
    assert_eq!(event_on(&mut watcher, sub).await.0, json!(["y"]));
    let (mut publisher, _) = router.joined("realm1").await;
    publisher
        .publish_ack("com.example.testament", json!({}), json!(["marker"]))
        .await;
    assert_eq!(
        event_on(&mut watcher, sub).await.0,
        json!(["marker"]),
        "nothing but the detached testament came before"
    );
}
