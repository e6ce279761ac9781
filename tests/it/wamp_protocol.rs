//! WAMP v2 as spoken by the real binary over WebSocket (JSON): session life cycle, protocol
//! violations, pub/sub and RPC semantics, pattern matching, publisher options, authorization,
//! and the spec's PUBLISH options-validation vectors enforced end to end.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SHORT: Duration = Duration::from_millis(150);

/// Expects ABORT wamp.error.protocol_violation, then the connection closing.
async fn expect_protocol_violation(client: &mut Client) -> Value {
    let abort = client.recv().await;
    assert_abort(&abort, "wamp.error.protocol_violation");
    let closed = client.expect_close().await;
    assert!(
        closed.messages.is_empty(),
        "nothing may follow ABORT: {:?}",
        closed.messages
    );
    abort
}

// ---------------------------------------------------------------------------------------------
// Session life cycle
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hello_to_unknown_realm_is_aborted_and_closed() {
    let router = Router::start(&default_config());
    let mut client = router.json().await;
    let abort = client.hello("no.such.realm").await;
    assert_abort(&abort, "wamp.error.no_such_realm");
    let closed = client.expect_close().await;
    assert!(closed.messages.is_empty(), "{:?}", closed.messages);
}

#[tokio::test]
async fn welcome_details() {
    let router = Router::start(&default_config());
    let mut client = router.json().await;
    let welcome = client.hello("realm1").await;
    assert_eq!(welcome[0], 2, "{welcome}");
    assert_eq!(
        welcome.as_array().unwrap().len(),
        3,
        "WELCOME has 3 elements"
    );
    let session = welcome[1].as_u64().expect("integer session id");
    assert!((1..=MAX_ID).contains(&session), "session id {session}");
    let details = &welcome[2];
    assert_eq!(details["authrole"], "anonymous", "{details}");
    assert_eq!(details["authmethod"], "anonymous", "{details}");
    assert_eq!(details["realm"], "realm1", "{details}");
    let roles = details["roles"].as_object().expect("roles dict");
    assert!(
        roles.keys().all(|k| k == "broker" || k == "dealer"),
        "only broker and dealer roles: {details}"
    );
    for role in ["broker", "dealer"] {
        let features = roles
            .get(role)
            .and_then(|r| r["features"].as_object())
            .unwrap_or_else(|| panic!("{role}.features must be a dict: {details}"));
        assert!(!features.is_empty(), "{role} announces no feature");
        for (name, value) in features {
            assert!(value.is_boolean(), "{role}.features.{name} = {value}");
        }
    }
}

#[tokio::test]
async fn goodbye_then_hello_again_on_the_same_connection() {
    let router = Router::start(&default_config());
    let (mut client, first) = router.joined("realm1").await;
    client.subscribe("com.gb.topic", json!({})).await;
    let reply = client
        .request(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(reply, json!([6, {}, "wamp.close.goodbye_and_out"]));

    let second = client.join("realm1").await;
    assert_ne!(first, second, "a new session id after GOODBYE");
    // The first session's subscription went with it.
    let (mut publisher, _) = router.joined("realm1").await;
    let (published, _) = publisher
        .publish_ack("com.gb.topic", json!({}), json!([]))
        .await;
    assert_eq!(published[0], 17, "{published}");
    client.expect_silence(SHORT).await;
}

// ---------------------------------------------------------------------------------------------
// Protocol violations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn garbage_frame_is_a_protocol_violation() {
    let router = Router::start(&default_config());
    // Before HELLO...
    let mut client = router.json().await;
    client.send_frame(WsMessage::text("this is not json")).await;
    expect_protocol_violation(&mut client).await;
    // ...and after joining.
    let (mut client, _) = router.joined("realm1").await;
    client
        .send_frame(WsMessage::text("{\"not\": \"a list\""))
        .await;
    expect_protocol_violation(&mut client).await;
}

/// A lone UTF-16 surrogate escape is refused with words that say so (issue 12, item 8: the
/// ABORT said "unexpected end of hex escape").
#[tokio::test]
async fn a_lone_surrogate_escape_is_refused_with_a_clear_message() {
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;
    client
        .send_frame(WsMessage::text(
            r#"[16, 1, {}, "com.example.topic", ["\ud800"]]"#,
        ))
        .await;
    let abort = expect_protocol_violation(&mut client).await;
    let message = abort[1]["message"].as_str().unwrap_or_default();
    assert!(message.contains("surrogate pair"), "{abort}");
}

#[tokio::test]
async fn publish_before_hello_is_a_protocol_violation() {
    let router = Router::start(&default_config());
    let mut client = router.json().await;
    client
        .send(json!([16, 1, {"acknowledge": true}, "com.example.topic", []]))
        .await;
    expect_protocol_violation(&mut client).await;
}

#[tokio::test]
async fn unknown_message_type_is_a_protocol_violation() {
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;
    client.send(json!([999, 1, {}])).await;
    expect_protocol_violation(&mut client).await;
}

#[tokio::test]
async fn request_ids_outside_1_to_2_pow_53_are_protocol_violations() {
    let router = Router::start(&default_config());
    for bad in [json!(0), json!(MAX_ID + 1)] {
        let (mut client, _) = router.joined("realm1").await;
        client
            .send(json!([16, bad, {"acknowledge": true}, "com.example.topic", []]))
            .await;
        expect_protocol_violation(&mut client).await;
    }
    // 2^53 itself is fine.
    let (mut client, _) = router.joined("realm1").await;
    let reply = client
        .request(json!([16, MAX_ID, {"acknowledge": true}, "com.example.topic", []]))
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    assert_eq!(reply[1], MAX_ID, "{reply}");
}

// ---------------------------------------------------------------------------------------------
// Pub/sub and RPC basics, errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn publish_acknowledged_and_shared_subscription_ids() {
    let router = Router::start(&default_config());
    let (mut a, _) = router.joined("realm1").await;
    let (mut b, _) = router.joined("realm1").await;
    let reply = a
        .request(json!([16, 7, {"acknowledge": true}, "com.example.topic", ["x"]]))
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    assert_eq!(reply[1], 7, "{reply}");
    let publication = reply[2].as_u64().expect("publication id");
    assert!((1..=MAX_ID).contains(&publication));

    let sa = a.subscribe("com.shared.topic", json!({})).await;
    let sb = b.subscribe("com.shared.topic", json!({})).await;
    assert_eq!(sa, sb, "same topic and policy -> same subscription id");
    let other = b
        .subscribe("com.shared.topic", json!({"match": "prefix"}))
        .await;
    assert_ne!(other, sa, "another match policy is another subscription");
}

#[tokio::test]
async fn errors_for_unknown_ids_and_procedures() {
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;

    let reply = client.request(json!([34, 11, 123456])).await;
    assert_error(&reply, 34, 11, "wamp.error.no_such_subscription");
    let reply = client.request(json!([66, 12, 123456])).await;
    assert_error(&reply, 66, 12, "wamp.error.no_such_registration");
    let reply = client
        .request(json!([48, 13, {}, "com.nobody.here", [1]]))
        .await;
    assert_error(&reply, 48, 13, "wamp.error.no_such_procedure");
}

#[tokio::test]
async fn register_twice_is_procedure_already_exists() {
    let router = Router::start(&default_config());
    let (mut a, _) = router.joined("realm1").await;
    let (mut b, _) = router.joined("realm1").await;
    a.register("com.example.once", json!({})).await;
    let reply = b.request(json!([64, 21, {}, "com.example.once"])).await;
    assert_error(&reply, 64, 21, "wamp.error.procedure_already_exists");
    let reply = a.request(json!([64, 22, {}, "com.example.once"])).await;
    assert_error(&reply, 64, 22, "wamp.error.procedure_already_exists");
}

#[tokio::test]
async fn invalid_uris() {
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;

    let reply = client.request(json!([64, 1, {}, "wamp.x"])).await;
    assert_error(&reply, 64, 1, "wamp.error.invalid_uri");
    let reply = client
        .request(json!([16, 2, {"acknowledge": true}, "wamp.x", []]))
        .await;
    assert_error(&reply, 16, 2, "wamp.error.invalid_uri");
    let reply = client.request(json!([32, 3, {}, "a..b"])).await;
    assert_error(&reply, 32, 3, "wamp.error.invalid_uri");
    let reply = client
        .request(json!([32, 4, {"match": "exact"}, "a..b"]))
        .await;
    assert_error(&reply, 32, 4, "wamp.error.invalid_uri");
    // Loose check: upper case is fine.
    client.subscribe("com.Upper", json!({})).await;

    // Strict realm: upper case is not.
    let (mut strict, _) = router.joined("strict1").await;
    let reply = strict.request(json!([32, 5, {}, "com.Upper"])).await;
    assert_error(&reply, 32, 5, "wamp.error.invalid_uri");
    let reply = strict.request(json!([64, 6, {}, "com.Upper"])).await;
    assert_error(&reply, 64, 6, "wamp.error.invalid_uri");
    let reply = strict
        .request(json!([16, 7, {"acknowledge": true}, "com.Upper", []]))
        .await;
    assert_error(&reply, 16, 7, "wamp.error.invalid_uri");
    strict.subscribe("com.lower_case.topic1", json!({})).await;
}

// ---------------------------------------------------------------------------------------------
// RPC
// ---------------------------------------------------------------------------------------------

/// A caller and a callee joined to realm1, with `procedure` registered by the callee.
async fn caller_and_callee(router: &Router, procedure: &str) -> (Client, Client, u64) {
    let (caller, _) = router.joined("realm1").await;
    let (mut callee, _) = router.joined("realm1").await;
    let registration = callee.register(procedure, json!({})).await;
    (caller, callee, registration)
}

#[tokio::test]
async fn call_invocation_yield_result() {
    let router = Router::start(&default_config());
    let (mut caller, mut callee, registration) =
        caller_and_callee(&router, "com.example.add").await;

    caller
        .send(json!([48, 31, {}, "com.example.add", [1, 2], {"label": "sum"}]))
        .await;
    let invocation = callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    assert_eq!(invocation[2], registration, "{invocation}");
    assert_eq!(invocation[3], json!({}), "{invocation}");
    assert_eq!(invocation[4], json!([1, 2]), "{invocation}");
    assert_eq!(invocation[5], json!({"label": "sum"}), "{invocation}");
    let request = invocation[1].as_u64().expect("invocation request id");

    callee
        .send(json!([70, request, {}, [3], {"label": "sum"}]))
        .await;
    let result = caller.recv().await;
    assert_eq!(result, json!([50, 31, {}, [3], {"label": "sum"}]));
}

#[tokio::test]
async fn callee_error_is_forwarded_to_the_caller() {
    let router = Router::start(&default_config());
    let (mut caller, mut callee, _) = caller_and_callee(&router, "com.example.fail").await;

    caller
        .send(json!([48, 32, {}, "com.example.fail", []]))
        .await;
    let invocation = callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    callee
        .send(json!([8, 68, invocation[1], {}, "com.example.error.bad", ["why"], {"code": 7}]))
        .await;
    let error = caller.recv().await;
    assert_eq!(
        error,
        json!([8, 48, 32, {}, "com.example.error.bad", ["why"], {"code": 7}])
    );
}

#[tokio::test]
async fn callee_leaving_mid_call_cancels_it() {
    let router = Router::start(&default_config());
    let (mut caller, mut callee, _) = caller_and_callee(&router, "com.example.slow").await;

    caller
        .send(json!([48, 33, {}, "com.example.slow", []]))
        .await;
    let invocation = callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    drop(callee);
    let error = caller.recv().await;
    assert_error(&error, 48, 33, "wamp.error.canceled");
    // The registration went with the callee.
    let reply = caller
        .request(json!([48, 34, {}, "com.example.slow", []]))
        .await;
    assert_error(&reply, 48, 34, "wamp.error.no_such_procedure");
}

#[tokio::test]
async fn progressive_call_results() {
    let router = Router::start(&default_config());
    let (mut caller, mut callee, _) = caller_and_callee(&router, "com.example.count").await;

    caller
        .send(json!([48, 35, {"receive_progress": true}, "com.example.count", []]))
        .await;
    let invocation = callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    assert_eq!(invocation[3]["receive_progress"], true, "{invocation}");
    let request = &invocation[1];
    callee
        .send(json!([70, request, {"progress": true}, [1]]))
        .await;
    callee
        .send(json!([70, request, {"progress": true}, [2]]))
        .await;
    callee.send(json!([70, request, {}, [3]])).await;

    assert_eq!(
        caller.recv().await,
        json!([50, 35, {"progress": true}, [1]])
    );
    assert_eq!(
        caller.recv().await,
        json!([50, 35, {"progress": true}, [2]])
    );
    assert_eq!(caller.recv().await, json!([50, 35, {}, [3]]));
    caller.expect_silence(SHORT).await;

    // Without receive_progress, progressive YIELDs are not forwarded; the final one is.
    caller
        .send(json!([48, 36, {}, "com.example.count", []]))
        .await;
    let invocation = callee.recv().await;
    assert!(
        invocation[3].get("receive_progress").is_none(),
        "{invocation}"
    );
    let request = &invocation[1];
    callee
        .send(json!([70, request, {"progress": true}, [1]]))
        .await;
    callee.send(json!([70, request, {}, [9]])).await;
    assert_eq!(caller.recv().await, json!([50, 36, {}, [9]]));
}

// ---------------------------------------------------------------------------------------------
// Pattern-based subscriptions and registrations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pattern_subscriptions_each_get_an_event_with_the_topic() {
    let router = Router::start(&default_config());
    let (mut sub, _) = router.joined("realm1").await;
    let prefix = sub
        .subscribe("com.example.", json!({"match": "prefix"}))
        .await;
    let wildcard = sub
        .subscribe("com..topic", json!({"match": "wildcard"}))
        .await;
    let exact = sub.subscribe("com.example.topic", json!({})).await;
    let unrelated = sub
        .subscribe("com.other.", json!({"match": "prefix"}))
        .await;

    let (mut publisher, _) = router.joined("realm1").await;
    let (reply, _) = publisher
        .publish_ack("com.example.topic", json!({}), json!(["p"]))
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    let publication = &reply[2];

    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(sub.recv().await);
    }
    sub.expect_silence(SHORT).await;
    let event_for = |subscription: u64| {
        events
            .iter()
            .find(|e| e[1] == subscription)
            .unwrap_or_else(|| panic!("no EVENT for subscription {subscription}: {events:?}"))
    };
    for subscription in [prefix, wildcard] {
        let event = event_for(subscription);
        assert_eq!(event[0], 36, "{event}");
        assert_eq!(&event[2], publication, "{event}");
        assert_eq!(event[3], json!({"topic": "com.example.topic"}), "{event}");
        assert_eq!(event[4], json!(["p"]), "{event}");
    }
    let event = event_for(exact);
    assert_eq!(&event[2], publication, "{event}");
    assert!(
        event[3].get("topic").is_none(),
        "exact: no details.topic: {event}"
    );
    assert!(events.iter().all(|e| e[1] != unrelated), "{events:?}");
}

#[tokio::test]
async fn pattern_registrations() {
    let router = Router::start(&default_config());
    let (mut caller, _) = router.joined("realm1").await;
    let (mut prefix_callee, _) = router.joined("realm1").await;
    let (mut exact_callee, _) = router.joined("realm1").await;
    let prefix = prefix_callee
        .register("com.proc.", json!({"match": "prefix"}))
        .await;
    let exact = exact_callee.register("com.proc.exact", json!({})).await;

    caller
        .send(json!([48, 41, {}, "com.proc.a.b", ["x"]]))
        .await;
    let invocation = prefix_callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    assert_eq!(invocation[2], prefix, "{invocation}");
    assert_eq!(invocation[3]["procedure"], "com.proc.a.b", "{invocation}");
    assert_eq!(invocation[4], json!(["x"]), "{invocation}");
    prefix_callee
        .send(json!([70, invocation[1], {}, ["from prefix"]]))
        .await;
    assert_eq!(caller.recv().await, json!([50, 41, {}, ["from prefix"]]));

    // Exact beats prefix.
    caller.send(json!([48, 42, {}, "com.proc.exact", []])).await;
    let invocation = exact_callee.recv().await;
    assert_eq!(invocation[0], 68, "{invocation}");
    assert_eq!(invocation[2], exact, "{invocation}");
    assert!(invocation[3].get("procedure").is_none(), "{invocation}");
    exact_callee
        .send(json!([70, invocation[1], {}, ["from exact"]]))
        .await;
    assert_eq!(caller.recv().await, json!([50, 42, {}, ["from exact"]]));
    prefix_callee.expect_silence(SHORT).await;
}

// ---------------------------------------------------------------------------------------------
// Publisher options
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn exclude_me_default_and_false() {
    let router = Router::start(&default_config());
    let (mut client, _) = router.joined("realm1").await;
    let subscription = client.subscribe("com.me.topic", json!({})).await;

    let (reply, events) = client
        .publish_ack("com.me.topic", json!({}), json!([1]))
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    assert!(events.is_empty(), "exclude_me defaults to true: {events:?}");
    client.expect_silence(SHORT).await;

    let (reply, mut events) = client
        .publish_ack("com.me.topic", json!({"exclude_me": false}), json!([2]))
        .await;
    assert_eq!(reply[0], 17, "{reply}");
    if events.is_empty() {
        events.push(client.recv().await);
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0][0], 36);
    assert_eq!(events[0][1], subscription);
    assert_eq!(events[0][2], reply[2]);
    assert_eq!(events[0][4], json!([2]));
}

#[tokio::test]
async fn eligible_and_exclude_by_session_id() {
    let router = Router::start(&default_config());
    let mut subs = Vec::new();
    for _ in 0..3 {
        let (mut client, session) = router.joined("realm1").await;
        client.subscribe("com.aud.topic", json!({})).await;
        subs.push((client, session));
    }
    let (s1, s2) = (subs[0].1, subs[1].1);
    let (mut publisher, _) = router.joined("realm1").await;
    for (options, label) in [
        (json!({"eligible": [s1]}), "one"),
        (json!({"exclude": [s2]}), "two"),
        (json!({}), "all"),
    ] {
        let (reply, _) = publisher
            .publish_ack("com.aud.topic", options, json!([label]))
            .await;
        assert_eq!(reply[0], 17, "{reply}");
    }
    // Events from one publisher reach a subscriber in order, so the "all" sentinel shows
    // what each subscriber missed.
    let expected: [&[&str]; 3] = [&["one", "two", "all"], &["all"], &["two", "all"]];
    for ((client, _), expected) in subs.iter_mut().zip(expected) {
        let mut got = Vec::new();
        for _ in 0..expected.len() {
            let event = client.recv().await;
            assert_eq!(event[0], 36, "{event}");
            got.push(event[4][0].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn disclose_me_puts_the_publisher_in_event_details() {
    let router = Router::start(&default_config());
    let (mut sub, _) = router.joined("realm1").await;
    sub.subscribe("com.disclose.topic", json!({})).await;
    let (mut publisher, publisher_session) = router.joined("realm1").await;

    publisher
        .publish_ack(
            "com.disclose.topic",
            json!({"disclose_me": true}),
            json!([]),
        )
        .await;
    let event = sub.recv().await;
    assert_eq!(event[0], 36, "{event}");
    assert_eq!(event[3]["publisher"], publisher_session, "{event}");
    assert_eq!(event[3]["publisher_authrole"], "anonymous", "{event}");

    publisher
        .publish_ack("com.disclose.topic", json!({}), json!([]))
        .await;
    let event = sub.recv().await;
    assert!(
        event[3].get("publisher").is_none(),
        "not disclosed unless asked: {event}"
    );
}

// ---------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn role_permissions_are_enforced() {
    let config = config(
        vec![json!({
            "name": "realm1",
            "roles": [{"name": "anonymous", "permissions": [{
                "uri": "com.ro.", "match": "prefix",
                "allow": {"call": false, "register": false, "publish": false, "subscribe": true}
            }]}]
        })],
        vec![web_transport(json!({}))],
    );
    let router = Router::start(&config);
    let (mut client, _) = router.joined("realm1").await;

    client.subscribe("com.ro.x", json!({})).await;
    let reply = client
        .request(json!([16, 1, {"acknowledge": true}, "com.ro.x", []]))
        .await;
    assert_error(&reply, 16, 1, "wamp.error.not_authorized");
    assert!(reply[5][0].is_string(), "a human message in Args: {reply}");
    let reply = client.request(json!([48, 2, {}, "com.ro.x", []])).await;
    assert_error(&reply, 48, 2, "wamp.error.not_authorized");
    let reply = client.request(json!([64, 3, {}, "com.ro.x"])).await;
    assert_error(&reply, 64, 3, "wamp.error.not_authorized");
    let reply = client.request(json!([32, 4, {}, "com.other.x"])).await;
    assert_error(&reply, 32, 4, "wamp.error.not_authorized");
    // Without acknowledge a denied publish is dropped silently, and the session goes on.
    client.send(json!([16, 5, {}, "com.ro.x", []])).await;
    client.expect_silence(SHORT).await;
    client.subscribe("com.ro.y", json!({})).await;
}

// ---------------------------------------------------------------------------------------------
// Spec test vectors: PUBLISH.Options validation, end to end
// ---------------------------------------------------------------------------------------------

/// Options the router implements, so it must check their types.
const IMPLEMENTED_PUBLISH_OPTIONS: &[&str] = &[
    "acknowledge",
    "exclude_me",
    "exclude",
    "exclude_authid",
    "exclude_authrole",
    "eligible",
    "eligible_authid",
    "eligible_authrole",
    "retain",
];

struct OptionsSample {
    description: String,
    wmsg: Value,
    /// `contains` of a protocol_violation expected_error; None for a valid sample.
    violation: Option<String>,
}

/// The `options_validation` samples of publish.json, except transparent-payload ones (a
/// string in the Arguments position: payload passthru is not announced by Junction).
fn publish_options_samples() -> Vec<OptionsSample> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/wamp-proto/singlemessage/basic/publish.json"
    );
    let text = std::fs::read_to_string(path).expect("read publish.json vectors");
    let file: Value = serde_json::from_str(&text).expect("vector file is JSON");
    file["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .filter(|s| s["test_category"] == "options_validation")
        .filter(|s| !s["wmsg"].get(4).is_some_and(Value::is_string))
        .map(|s| {
            let violation = match &s["expected_error"] {
                Value::Null => None,
                e => {
                    assert_eq!(e["type"], "protocol_violation", "{s}");
                    Some(e["contains"].as_str().expect("contains").to_owned())
                }
            };
            OptionsSample {
                description: s["description"].as_str().unwrap_or_default().to_owned(),
                wmsg: s["wmsg"].clone(),
                violation,
            }
        })
        .collect()
}

fn option_name(sample: &OptionsSample) -> String {
    let options = sample.wmsg[2].as_object().expect("options dict");
    assert_eq!(options.len(), 1, "one option per sample: {}", sample.wmsg);
    options.keys().next().cloned().unwrap_or_default()
}

/// Sends the sample's PUBLISH on a fresh session; returns a failure description, if any.
async fn check_options_sample(router: &Router, sample: &OptionsSample) -> Option<String> {
    let (mut client, _) = router.joined("realm1").await;
    client.send(sample.wmsg.clone()).await;
    let acknowledge = sample.wmsg[2]["acknowledge"] == true;
    match &sample.violation {
        Some(contains) => {
            let Some(reply) = client.recv_within(Duration::from_secs(1)).await else {
                return Some(format!(
                    "{}: {} -> no ABORT (expected protocol_violation)",
                    sample.description, sample.wmsg
                ));
            };
            let ok = reply[0] == 3
                && reply[2] == "wamp.error.protocol_violation"
                && reply[1]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(contains.as_str()));
            if !ok {
                return Some(format!(
                    "{}: {} -> {reply} (expected ABORT protocol_violation mentioning {contains:?})",
                    sample.description, sample.wmsg
                ));
            }
            let closed = client.expect_close().await;
            assert!(closed.messages.is_empty(), "{:?}", closed.messages);
            None
        }
        None => {
            if acknowledge {
                let reply = client.recv().await;
                if reply[0] != 17 || reply[1] != sample.wmsg[1] {
                    return Some(format!(
                        "{}: {} -> {reply} (expected PUBLISHED)",
                        sample.description, sample.wmsg
                    ));
                }
            }
            // The session is still alive and well.
            let (reply, _) = client
                .publish_ack("com.example.topic", json!({}), json!([]))
                .await;
            (reply[0] != 17).then(|| {
                format!(
                    "{}: {} -> then {reply} (expected the session to go on)",
                    sample.description, sample.wmsg
                )
            })
        }
    }
}

async fn check_options_samples(implemented: bool) -> usize {
    let router = Router::start(&default_config());
    let samples: Vec<OptionsSample> = publish_options_samples()
        .into_iter()
        .filter(|s| IMPLEMENTED_PUBLISH_OPTIONS.contains(&option_name(s).as_str()) == implemented)
        .collect();
    assert!(!samples.is_empty());
    let mut failures = Vec::new();
    for sample in &samples {
        if let Some(failure) = check_options_sample(&router, sample).await {
            failures.push(failure);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} PUBLISH options samples failed:\n{}",
        failures.len(),
        samples.len(),
        failures.join("\n")
    );
    samples.len()
}

#[tokio::test]
async fn publish_options_vectors_for_implemented_options() {
    let checked = check_options_samples(true).await;
    assert!(checked >= 20, "only {checked} samples checked");
}

/// `transaction_hash` and `forward_for` are not implemented by Junction, but the spec's
/// vectors still require a wrongly typed value to be a protocol violation.
#[tokio::test]
async fn publish_options_vectors_for_other_options() {
    check_options_samples(false).await;
}

/// CANCEL in its three modes, and a call timeout, seen on the wire by caller and callee.
#[tokio::test]
async fn call_canceling_modes_and_timeout() {
    let router = Router::start(&default_config());
    let (mut caller, _) = router.joined("realm1").await;
    let canceling = json!({"call_canceling": true});
    let mut callee = callee_with(&router, canceling, "com.example.work").await;

    // skip: the caller gets ERROR at once; the callee hears nothing and its late YIELD is dropped.
    caller
        .send(json!([48, 40, {}, "com.example.work", []]))
        .await;
    let invocation = callee.recv().await;
    caller.send(json!([49, 40, {"mode": "skip"}])).await;
    assert_eq!(
        caller.recv().await,
        json!([
            8,
            48,
            40,
            {},
            "wamp.error.canceled",
            ["call canceled by the caller"]
        ])
    );
    callee.expect_silence(SHORT).await;
    callee.send(json!([70, invocation[1], {}, ["late"]])).await;
    caller.expect_silence(SHORT).await;

    // kill: the callee gets INTERRUPT; its ERROR is what the caller receives.
    caller
        .send(json!([48, 41, {}, "com.example.work", []]))
        .await;
    let invocation = callee.recv().await;
    caller.send(json!([49, 41, {"mode": "kill"}])).await;
    let interrupt = callee.recv().await;
    assert_eq!(interrupt[0], 69, "{interrupt}");
    assert_eq!(interrupt[1], invocation[1]);
    assert_eq!(interrupt[2]["mode"], "kill");
    caller.expect_silence(SHORT).await;
    callee
        .send(json!([
            8,
            68,
            invocation[1],
            {},
            "wamp.error.canceled",
            ["stopped"]
        ]))
        .await;
    assert_eq!(
        caller.recv().await,
        json!([8, 48, 41, {}, "wamp.error.canceled", ["stopped"]])
    );

    // killnowait: INTERRUPT to the callee and ERROR to the caller at once.
    caller
        .send(json!([48, 42, {}, "com.example.work", []]))
        .await;
    let invocation = callee.recv().await;
    caller.send(json!([49, 42, {"mode": "killnowait"}])).await;
    let interrupt = callee.recv().await;
    assert_eq!(
        (interrupt[0].clone(), interrupt[1].clone()),
        (json!(69), invocation[1].clone())
    );
    assert_eq!(caller.recv().await[4], "wamp.error.canceled");

    // A CANCEL for a call that is over is ignored; a bad mode is an ERROR for the CANCEL.
    caller.send(json!([49, 42, {}])).await;
    caller.expect_silence(SHORT).await;
    caller
        .send(json!([48, 43, {}, "com.example.work", []]))
        .await;
    let invocation = callee.recv().await;
    caller.send(json!([49, 43, {"mode": "later"}])).await;
    let refused = caller.recv().await;
    assert_eq!(
        (refused[0].clone(), refused[1].clone(), refused[4].clone()),
        (json!(8), json!(49), json!("wamp.error.invalid_argument"))
    );
    callee.send(json!([70, invocation[1], {}, ["done"]])).await;
    assert_eq!(caller.recv().await, json!([50, 43, {}, ["done"]]));

    // timeout (ms): ERROR wamp.error.timeout to the caller, INTERRUPT to the callee.
    caller
        .send(json!([48, 44, {"timeout": 100}, "com.example.work", []]))
        .await;
    let invocation = callee.recv().await;
    let interrupt = callee.recv().await;
    assert_eq!(
        (interrupt[0].clone(), interrupt[1].clone()),
        (json!(69), invocation[1].clone())
    );
    assert_eq!(interrupt[2]["reason"], "wamp.error.timeout");
    let timed_out = caller.recv().await;
    assert_eq!(
        (timed_out[2].clone(), timed_out[4].clone()),
        (json!(44), json!("wamp.error.timeout"))
    );
}

/// A callee announcing `features` (HELLO.Details.roles.callee.features), registered for
/// `procedure`.
async fn callee_with(router: &Router, features: Value, procedure: &str) -> Client {
    let mut callee = router.json().await;
    let welcome = callee
        .request(json!([1, "realm1", {"roles": {"callee": {"features": features}}}]))
        .await;
    assert_eq!(welcome[0], 2, "{welcome}");
    callee.register(procedure, json!({})).await;
    callee
}

/// A callee that announces progressive call invocations (and call canceling, which the spec
/// requires with them), registered for `procedure`.
async fn progressive_callee(router: &Router, procedure: &str) -> Client {
    let features = json!({"progressive_call_invocations": true, "call_canceling": true});
    callee_with(router, features, procedure).await
}

#[tokio::test]
async fn progressive_call_invocations() {
    let router = Router::start(&default_config());
    let mut callee = progressive_callee(&router, "com.example.upload").await;
    let (mut caller, caller_session) = router.joined("realm1").await;

    // Every chunk goes to the same invocation; options of the first CALL (disclose_me) hold
    // for all of them; the final CALL has no `progress`.
    caller
        .send(
            json!([48, 7, {"progress": true, "disclose_me": true, "receive_progress": true},
            "com.example.upload", ["a"]]),
        )
        .await;
    let first = callee.recv().await;
    assert_eq!(first[0], 68, "{first}");
    let invocation = first[1].clone();
    assert_eq!(first[3]["progress"], true, "{first}");
    assert_eq!(first[3]["caller"], caller_session, "{first}");
    assert_eq!(first[4], json!(["a"]));
    caller
        .send(json!([48, 7, {"progress": true}, "com.example.upload", ["b"]]))
        .await;
    let second = callee.recv().await;
    assert_eq!(
        (
            second[1].clone(),
            second[3]["progress"].clone(),
            second[4].clone()
        ),
        (invocation.clone(), json!(true), json!(["b"]))
    );
    assert_eq!(
        second[3]["caller"], caller_session,
        "frozen options: {second}"
    );
    // Results may flow while chunks still arrive.
    callee
        .send(json!([70, invocation, {"progress": true}, ["got 2"]]))
        .await;
    assert_eq!(
        caller.recv().await,
        json!([50, 7, {"progress": true}, ["got 2"]])
    );
    caller
        .send(json!([48, 7, {}, "com.example.upload", ["c"]]))
        .await;
    let last = callee.recv().await;
    assert_eq!(last[1], invocation);
    assert!(last[3].get("progress").is_none(), "{last}");
    assert_eq!(last[3]["caller"], caller_session, "{last}");
    callee.send(json!([70, invocation, {}, ["abc"]])).await;
    assert_eq!(caller.recv().await, json!([50, 7, {}, ["abc"]]));

    // A callee that did not announce the feature: wamp.error.feature_not_supported.
    let (mut plain, _) = router.joined("realm1").await;
    plain.register("com.example.plain", json!({})).await;
    caller
        .send(json!([48, 8, {"progress": true}, "com.example.plain", []]))
        .await;
    let refused = caller.recv().await;
    assert_eq!(
        (refused[0].clone(), refused[2].clone(), refused[4].clone()),
        (
            json!(8),
            json!(8),
            json!("wamp.error.feature_not_supported")
        )
    );
    plain.expect_silence(SHORT).await;

    // A caller that leaves mid-stream: the callee gets INTERRUPT killnowait.
    caller
        .send(json!([48, 9, {"progress": true}, "com.example.upload", ["x"]]))
        .await;
    let open = callee.recv().await;
    drop(caller);
    let interrupt = callee.recv().await;
    assert_eq!(interrupt[0], 69, "{interrupt}");
    assert_eq!(interrupt[1], open[1]);
    assert_eq!(interrupt[2]["mode"], "killnowait");
}

#[tokio::test]
async fn callees_without_call_canceling_get_no_interrupt() {
    // autobahn.js announces no call_canceling and drops its connection on an INTERRUPT: for
    // such a callee every mode (and a timeout) behaves as skip.
    let router = Router::start(&default_config());
    let (mut caller, _) = router.joined("realm1").await;
    let mut callee = callee_with(&router, json!({}), "com.example.plain").await;
    for (request, options) in [
        (50, json!({"mode": "kill"})),
        (51, json!({"mode": "killnowait"})),
    ] {
        caller
            .send(json!([48, request, {}, "com.example.plain", []]))
            .await;
        let invocation = callee.recv().await;
        caller.send(json!([49, request, options])).await;
        let error = caller.recv().await;
        assert_eq!(
            (error[0].clone(), error[2].clone(), error[4].clone()),
            (json!(8), json!(request), json!("wamp.error.canceled"))
        );
        callee.expect_silence(SHORT).await;
        callee.send(json!([70, invocation[1], {}, ["late"]])).await;
        caller.expect_silence(SHORT).await;
    }
    caller
        .send(json!([48, 52, {"timeout": 100}, "com.example.plain", []]))
        .await;
    callee.recv().await;
    assert_eq!(caller.recv().await[4], "wamp.error.timeout");
    callee.expect_silence(SHORT).await;
}

/// Issue 12, item 3: peer-chosen text in a log line is escaped (no forged lines) and cut (no
/// 1 MB lines), and refusal lines name the peer's address.
#[tokio::test]
async fn peer_text_cannot_forge_or_flood_log_lines() {
    let mut config = default_config();
    config["workers"][0]["transports"][0]["paths"]["ws"]["auth"] = json!({
        "ticket": {"type": "static",
                   "principals": {"joe": {"ticket": "joe-ticket", "role": "anonymous"}}}
    });
    let router = Router::start(&config);

    let forged =
        "x\n2026-12-04T00:00:00.000000Z  INFO junction: session joined realm1 authid=admin";
    let mut client = router.json().await;
    let reply = client
        .request(
            json!([1, "realm1", {"authmethods": ["ticket"], "authid": forged,
                                      "roles": {"caller": {}}}]),
        )
        .await;
    if reply[0] == 4 {
        // A CHALLENGE: answer it wrongly, the refusal names the authid.
        client.send(json!([5, "wrong", {}])).await;
        client.recv().await;
    }
    let mut client = router.json().await;
    let abort = client
        .request(json!([1, "r".repeat(60_000), {"roles": {"caller": {}}}]))
        .await;
    assert_eq!(abort[0], 3, "{abort}");

    assert!(
        router
            .wait_for_log("HELLO for an unknown realm", Duration::from_secs(2))
            .await
    );
    let log = router.log();
    assert!(
        !log.lines()
            .any(|line| line.contains("session joined realm1 authid=admin")
                && !line.contains("authentication refused")),
        "a forged line:\n{log}"
    );
    let refusal = log
        .lines()
        .find(|line| line.contains("authentication refused"))
        .unwrap_or_else(|| panic!("no refusal line:\n{log}"));
    assert!(refusal.contains("peer=127.0.0.1:"), "{refusal}");
    let unknown = log
        .lines()
        .find(|line| line.contains("HELLO for an unknown realm"))
        .unwrap();
    assert!(unknown.len() < 1_000, "{} bytes", unknown.len());
    assert!(unknown.contains("(60000 characters)"), "{unknown}");
    assert!(unknown.contains("peer=127.0.0.1:"), "{unknown}");
}
