//! REGISTER.Options.concurrency (Crossbar's) against an in-process router with raw WAMP
//! clients: a callee runs at most `concurrency` invocations at once; a call that finds every
//! callee of its registration at its limit fails with `crossbar.error.max_concurrency_reached`,
//! or waits in the call queue when a `store.call-queue` rule matches it, and is invoked when an
//! invocation ends (YIELD, ERROR, cancel, timeout, callee gone).

use std::time::Duration;

use crate::common;

use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(300);
const BUSY: &str = "crossbar.error.max_concurrency_reached";

/// realm1: anonymous may do everything; calls under `com.queued.` wait (at most 2).
fn start() -> InProcess {
    let realm = json!({
        "name": "realm1",
        "roles": [full_access_role("anonymous")],
        "store": {"type": "memory", "call-queue": [
            {"uri": "com.queued.", "match": "prefix", "limit": 2}
        ]}
    });
    InProcess::start(&common::config(vec![realm], vec![web_transport(json!({}))]))
}

async fn joined(router: &InProcess) -> Client {
    router.joined("realm1").await.0
}

/// Sends CALL; returns its request id.
async fn call(client: &mut Client, options: Value, procedure: &str, args: Value) -> u64 {
    let request = client.next_id();
    client
        .send(json!([48, request, options, procedure, args]))
        .await;
    request
}

/// Expects an INVOCATION; returns it.
async fn invocation(callee: &mut Client) -> Value {
    let msg = callee.recv().await;
    assert_eq!(msg[0], 68, "expected INVOCATION, got {msg}");
    msg
}

async fn answer(callee: &mut Client, invocation: &Value, args: Value) {
    callee
        .send(json!([70, invocation[1].clone(), {}, args]))
        .await;
}

/// Expects the RESULT of `request`; returns its args.
async fn result(caller: &mut Client, request: u64) -> Value {
    let msg = caller.recv().await;
    assert_eq!(msg[0], 50, "expected RESULT, got {msg}");
    assert_eq!(msg[1], request, "RESULT of another request: {msg}");
    msg[3].clone()
}

/// Expects the ERROR `uri` for the CALL `request`; returns its message.
async fn refused(caller: &mut Client, request: u64, uri: &str) -> String {
    let reply = caller.recv().await;
    assert_error(&reply, 48, request, uri);
    reply[5][0].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_single_callee_at_its_limit_refuses_the_call() {
    let router = start();
    let mut callee = joined(&router).await;
    callee.register("com.slow", json!({"concurrency": 1})).await;
    let mut caller = joined(&router).await;
    let first = call(&mut caller, json!({}), "com.slow", json!([1])).await;
    let running = invocation(&mut callee).await;
    let second = call(&mut caller, json!({}), "com.slow", json!([2])).await;
    let text = refused(&mut caller, second, BUSY).await;
    assert!(text.contains('1'), "names the limit: {text}");
    callee.expect_silence(QUIET).await;

    // The slot is free again once the invocation ends.
    answer(&mut callee, &running, json!(["one"])).await;
    assert_eq!(result(&mut caller, first).await, json!(["one"]));
    let third = call(&mut caller, json!({}), "com.slow", json!([3])).await;
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[4], json!([3]));
    answer(&mut callee, &invoked, json!(["three"])).await;
    assert_eq!(result(&mut caller, third).await, json!(["three"]));

    // A limit of 2 takes two at once.
    callee.register("com.two", json!({"concurrency": 2})).await;
    call(&mut caller, json!({}), "com.two", json!([1])).await;
    call(&mut caller, json!({}), "com.two", json!([2])).await;
    invocation(&mut callee).await;
    invocation(&mut callee).await;
    let third = call(&mut caller, json!({}), "com.two", json!([3])).await;
    let text = refused(&mut caller, third, BUSY).await;
    assert!(text.contains('2'), "names the limit: {text}");
}

#[tokio::test]
async fn with_a_rule_the_call_waits_for_a_free_slot() {
    let router = start();
    let mut callee = joined(&router).await;
    callee
        .register("com.queued.job", json!({"concurrency": 1}))
        .await;
    let mut caller = joined(&router).await;
    let first = call(&mut caller, json!({}), "com.queued.job", json!([1])).await;
    let running = invocation(&mut callee).await;
    let second = call(&mut caller, json!({}), "com.queued.job", json!([2])).await;
    let third = call(&mut caller, json!({}), "com.queued.job", json!([3])).await;
    // The queue's limit (2) still holds.
    let fourth = call(&mut caller, json!({}), "com.queued.job", json!([4])).await;
    let text = refused(&mut caller, fourth, BUSY).await;
    assert!(text.contains("queue"), "{text}");
    callee.expect_silence(QUIET).await;
    caller.expect_silence(QUIET).await;

    answer(&mut callee, &running, json!(["a"])).await;
    assert_eq!(result(&mut caller, first).await, json!(["a"]));
    let next = invocation(&mut callee).await;
    assert_eq!(next[4], json!([2]), "the oldest waiting call goes first");
    callee.expect_silence(QUIET).await;
    // A callee's ERROR frees the slot too.
    callee
        .send(json!([8, 68, next[1].clone(), {}, "com.error.nope"]))
        .await;
    assert_eq!(refused(&mut caller, second, "com.error.nope").await, "");
    let last = invocation(&mut callee).await;
    assert_eq!(last[4], json!([3]));
    answer(&mut callee, &last, json!(["c"])).await;
    assert_eq!(result(&mut caller, third).await, json!(["c"]));
}

#[tokio::test]
async fn cancel_timeout_and_a_leaving_caller_free_the_slot() {
    let router = start();
    let mut callee = joined(&router).await;
    callee
        .register("com.queued.x", json!({"concurrency": 1}))
        .await;
    let mut caller = joined(&router).await;

    // Cancel (skip) of the running call: the waiting one is invoked.
    let first = call(&mut caller, json!({}), "com.queued.x", json!([1])).await;
    invocation(&mut callee).await;
    let second = call(&mut caller, json!({}), "com.queued.x", json!([2])).await;
    callee.expect_silence(QUIET).await;
    caller.send(json!([49, first, {}])).await;
    refused(&mut caller, first, "wamp.error.canceled").await;
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[4], json!([2]));

    answer(&mut callee, &invoked, json!(["b"])).await;
    assert_eq!(result(&mut caller, second).await, json!(["b"]));

    // The running call's timeout: the waiting one is invoked.
    let slow = call(
        &mut caller,
        json!({"timeout": 200}),
        "com.queued.x",
        json!([5]),
    )
    .await;
    invocation(&mut callee).await;
    let after = call(&mut caller, json!({}), "com.queued.x", json!([6])).await;
    callee.expect_silence(Duration::from_millis(100)).await;
    let reply = caller
        .recv_within(Duration::from_secs(3))
        .await
        .expect("the timeout's ERROR");
    assert_error(&reply, 48, slow, "wamp.error.timeout");
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[4], json!([6]), "the timeout freed the slot");
    answer(&mut callee, &invoked, json!(["f"])).await;
    assert_eq!(result(&mut caller, after).await, json!(["f"]));

    // A caller that leaves frees the slot of its running call.
    let mut leaving = joined(&router).await;
    call(&mut leaving, json!({}), "com.queued.x", json!(["gone"])).await;
    invocation(&mut callee).await;
    let waiting = call(&mut caller, json!({}), "com.queued.x", json!([7])).await;
    callee.expect_silence(QUIET).await;
    let goodbye = leaving
        .request(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(goodbye[0], 6, "expected GOODBYE, got {goodbye}");
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[4], json!([7]));
    answer(&mut callee, &invoked, json!(["g"])).await;
    assert_eq!(result(&mut caller, waiting).await, json!(["g"]));
}

#[tokio::test]
async fn a_leaving_callee_frees_its_calls_for_the_next_callee() {
    let router = start();
    let mut callee = joined(&router).await;
    callee
        .register("com.queued.y", json!({"concurrency": 1}))
        .await;
    let mut caller = joined(&router).await;
    let first = call(&mut caller, json!({}), "com.queued.y", json!([1])).await;
    invocation(&mut callee).await;
    let second = call(&mut caller, json!({}), "com.queued.y", json!([2])).await;
    caller.expect_silence(QUIET).await;
    let goodbye = callee
        .request(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(goodbye[0], 6, "expected GOODBYE, got {goodbye}");
    refused(&mut caller, first, "wamp.error.canceled").await;
    caller.expect_silence(QUIET).await;

    // The waiting call goes to the next callee that registers.
    let mut next = joined(&router).await;
    next.register("com.queued.y", json!({"concurrency": 1}))
        .await;
    let invoked = invocation(&mut next).await;
    assert_eq!(invoked[4], json!([2]));
    answer(&mut next, &invoked, json!(["b"])).await;
    assert_eq!(result(&mut caller, second).await, json!(["b"]));
}

#[tokio::test]
async fn roundrobin_skips_busy_callees_and_refuses_when_all_are_busy() {
    let router = start();
    let options = json!({"invoke": "roundrobin", "concurrency": 1});
    let mut a = joined(&router).await;
    let mut b = joined(&router).await;
    a.register("com.rr", options.clone()).await;
    b.register("com.rr", options.clone()).await;
    let mut caller = joined(&router).await;
    let first = call(&mut caller, json!({}), "com.rr", json!([1])).await;
    let at_a = invocation(&mut a).await;
    call(&mut caller, json!({}), "com.rr", json!([2])).await;
    let at_b = invocation(&mut b).await;
    let third = call(&mut caller, json!({}), "com.rr", json!([3])).await;
    refused(&mut caller, third, BUSY).await;
    // b is busy: the next call goes to a even though b's turn comes.
    answer(&mut a, &at_a, json!(["a"])).await;
    assert_eq!(result(&mut caller, first).await, json!(["a"]));
    call(&mut caller, json!({}), "com.rr", json!([4])).await;
    let again = invocation(&mut a).await;
    assert_eq!(again[4], json!([4]));
    b.expect_silence(QUIET).await;
    let _ = at_b;

    // Over a queued procedure, the third call waits for the first free callee.
    let options = json!({"invoke": "roundrobin", "concurrency": 1});
    a.register("com.queued.rr", options.clone()).await;
    b.register("com.queued.rr", options).await;
    call(&mut caller, json!({}), "com.queued.rr", json!([1])).await;
    let at_a = invocation(&mut a).await;
    call(&mut caller, json!({}), "com.queued.rr", json!([2])).await;
    invocation(&mut b).await;
    let waiting = call(&mut caller, json!({}), "com.queued.rr", json!([3])).await;
    caller.expect_silence(QUIET).await;
    answer(&mut a, &at_a, json!(["a"])).await;
    caller.recv().await; // the first call's RESULT
    let invoked = invocation(&mut a).await;
    assert_eq!(invoked[4], json!([3]));
    answer(&mut a, &invoked, json!(["c"])).await;
    assert_eq!(result(&mut caller, waiting).await, json!(["c"]));
}

#[tokio::test]
async fn a_callee_without_a_limit_takes_what_the_others_cannot() {
    let router = start();
    let mut limited = joined(&router).await;
    let mut free = joined(&router).await;
    limited
        .register("com.first", json!({"invoke": "first", "concurrency": 1}))
        .await;
    free.register("com.first", json!({"invoke": "first"})).await;
    let mut caller = joined(&router).await;
    call(&mut caller, json!({}), "com.first", json!([1])).await;
    invocation(&mut limited).await;
    for i in 2..5 {
        call(&mut caller, json!({}), "com.first", json!([i])).await;
        assert_eq!(invocation(&mut free).await[4], json!([i]));
    }
    limited.expect_silence(QUIET).await;
}

#[tokio::test]
async fn an_invalid_concurrency_is_an_invalid_argument() {
    let router = start();
    let mut callee = joined(&router).await;
    for bad in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(true),
        json!([1]),
        json!(u64::MAX),
    ] {
        let reply = callee
            .try_register("com.bad", json!({"concurrency": bad}))
            .await;
        let request = reply[2].as_u64().unwrap_or(0);
        assert_error(&reply, 64, request, "wamp.error.invalid_argument");
        let text = reply[5][0].as_str().unwrap_or_default();
        assert!(text.contains("concurrency"), "{reply}");
    }
    // The session goes on; null means no limit.
    callee
        .register("com.bad", json!({"concurrency": null}))
        .await;
}
