//! Call queues (`store.call-queue`) against an in-process router with raw WAMP clients: a CALL
//! that no registration matches waits, under a matching rule, until a callee registers, then is
//! invoked (in order, with its options); a full queue, a call timeout, a CANCEL and a caller
//! that leaves each end a waiting call; a procedure without a rule fails at once.

use std::time::Duration;

use crate::common;

use common::in_process::InProcess;
use common::*;
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(300);

/// realm1: anonymous may do everything; calls to `com.example.compute` wait (at most 3), calls
/// under `com.jobs.` too (at most 2 for the whole prefix).
fn start() -> InProcess {
    let mut realm = full_access_realm();
    realm["store"] = json!({"type": "memory", "call-queue": [
        {"uri": "com.example.compute", "match": "exact", "limit": 3},
        {"uri": "com.jobs.", "match": "prefix", "limit": 2}
    ]});
    InProcess::start(&common::config(vec![realm], vec![web_transport(json!({}))]))
}

fn full_access_realm() -> Value {
    json!({"name": "realm1", "roles": [full_access_role("anonymous")]})
}

async fn joined(router: &InProcess) -> (Client, u64) {
    router.joined("realm1").await
}

/// Sends CALL; returns its request id.
async fn call(client: &mut Client, options: Value, procedure: &str, args: Value) -> u64 {
    let request = client.next_id();
    client
        .send(json!([48, request, options, procedure, args]))
        .await;
    request
}

/// Returns once the router has handled what `client` sent so far: a session's requests are
/// handled in order, so the answer to a meta call comes after.
async fn handled(client: &mut Client) {
    let count = common::calls::call(client, "wamp.session.count", json!([])).await;
    assert!(count.is_u64(), "{count}");
}

/// Expects an INVOCATION; returns it.
async fn invocation(callee: &mut Client) -> Value {
    let msg = callee.recv().await;
    assert_eq!(msg[0], 68, "expected INVOCATION, got {msg}");
    msg
}

/// YIELDs `args` for `invocation`.
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

#[tokio::test]
async fn a_call_waits_until_a_callee_registers() {
    let router = start();
    let (mut caller, caller_session) = joined(&router).await;
    let request = call(
        &mut caller,
        json!({"disclose_me": true}),
        "com.example.compute",
        json!([6, 7]),
    )
    .await;
    caller.expect_silence(QUIET).await;

    let (mut callee, _) = joined(&router).await;
    let registration = callee.register("com.example.compute", json!({})).await;
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[2], registration, "{invoked}");
    assert_eq!(invoked[4], json!([6, 7]), "{invoked}");
    assert_eq!(
        invoked[3]["caller"], caller_session,
        "disclose_me applies to a queued call: {invoked}"
    );
    answer(&mut callee, &invoked, json!([42])).await;
    assert_eq!(result(&mut caller, request).await, json!([42]));

    // With a callee there, calls go straight through.
    let request = call(&mut caller, json!({}), "com.example.compute", json!([1])).await;
    let invoked = invocation(&mut callee).await;
    answer(&mut callee, &invoked, json!(["direct"])).await;
    assert_eq!(result(&mut caller, request).await, json!(["direct"]));
}

#[tokio::test]
async fn waiting_calls_are_invoked_in_order() {
    let router = start();
    let (mut caller, _) = joined(&router).await;
    let (mut other, _) = joined(&router).await;
    // Each CALL is known queued before the next is sent (two connections are not ordered).
    let first = call(&mut caller, json!({}), "com.example.compute", json!([0])).await;
    handled(&mut caller).await;
    let second = call(&mut other, json!({}), "com.example.compute", json!([1])).await;
    handled(&mut other).await;
    let third = call(&mut caller, json!({}), "com.example.compute", json!([2])).await;
    caller.expect_silence(QUIET).await;

    let (mut callee, _) = joined(&router).await;
    callee.register("com.example.compute", json!({})).await;
    let mut invoked = Vec::new();
    for _ in 0..3 {
        invoked.push(invocation(&mut callee).await);
    }
    let order: Vec<Value> = invoked.iter().map(|i| i[4][0].clone()).collect();
    assert_eq!(order, [json!(0), json!(1), json!(2)]);
    // Answered out of order, each RESULT goes to its own call.
    answer(&mut callee, &invoked[2], json!(["c"])).await;
    answer(&mut callee, &invoked[1], json!(["b"])).await;
    answer(&mut callee, &invoked[0], json!(["a"])).await;
    assert_eq!(result(&mut caller, third).await, json!(["c"]));
    assert_eq!(result(&mut other, second).await, json!(["b"]));
    assert_eq!(result(&mut caller, first).await, json!(["a"]));
}

#[tokio::test]
async fn a_full_queue_refuses_the_call_with_no_such_procedure() {
    let router = start();
    let (mut caller, _) = joined(&router).await;
    // The prefix rule's limit (2) counts every procedure under it.
    call(&mut caller, json!({}), "com.jobs.a", json!([1])).await;
    call(&mut caller, json!({}), "com.jobs.b", json!([2])).await;
    let refused = call(&mut caller, json!({}), "com.jobs.a", json!([3])).await;
    let reply = caller.recv().await;
    assert_error(&reply, 48, refused, "wamp.error.no_such_procedure");
    let text = reply[5][0].as_str().unwrap_or_default();
    assert!(text.contains("queue") && text.contains('2'), "{reply}");

    // Another rule has room of its own.
    call(&mut caller, json!({}), "com.example.compute", json!([4])).await;
    caller.expect_silence(QUIET).await;

    // A prefix registration takes the waiting calls it matches, with the procedure called.
    let (mut callee, _) = joined(&router).await;
    callee
        .register("com.jobs.", json!({"match": "prefix"}))
        .await;
    let a = invocation(&mut callee).await;
    let b = invocation(&mut callee).await;
    assert_eq!(
        (&a[4], &a[3]["procedure"]),
        (&json!([1]), &json!("com.jobs.a"))
    );
    assert_eq!(
        (&b[4], &b[3]["procedure"]),
        (&json!([2]), &json!("com.jobs.b"))
    );
    callee.expect_silence(QUIET).await;
}

#[tokio::test]
async fn a_procedure_without_a_rule_fails_at_once() {
    let router = start();
    let (mut caller, _) = joined(&router).await;
    for procedure in ["com.example.other", "com.example.compute.more", "com.job"] {
        let request = call(&mut caller, json!({}), procedure, json!([])).await;
        let reply = caller.recv().await;
        assert_error(&reply, 48, request, "wamp.error.no_such_procedure");
    }
    // A progressive call invocation is not queued: its later chunks would have nowhere to go.
    let request = call(
        &mut caller,
        json!({"progress": true}),
        "com.example.compute",
        json!([]),
    )
    .await;
    let reply = caller.recv().await;
    assert_error(&reply, 48, request, "wamp.error.no_such_procedure");

    // A realm without rules answers as before.
    let plain = InProcess::start(&common::config(
        vec![full_access_realm()],
        vec![web_transport(json!({}))],
    ));
    let (mut caller, _) = plain.joined("realm1").await;
    let request = call(&mut caller, json!({}), "com.example.compute", json!([])).await;
    let reply = caller.recv().await;
    assert_error(&reply, 48, request, "wamp.error.no_such_procedure");
}

#[tokio::test]
async fn the_call_timeout_runs_while_the_call_waits() {
    let router = start();
    let (mut caller, _) = joined(&router).await;
    let timed = call(
        &mut caller,
        json!({"timeout": 200}),
        "com.example.compute",
        json!(["late"]),
    )
    .await;
    let kept = call(
        &mut caller,
        json!({}),
        "com.example.compute",
        json!(["kept"]),
    )
    .await;
    let reply = caller
        .recv_within(Duration::from_secs(3))
        .await
        .expect("the timeout's ERROR");
    assert_error(&reply, 48, timed, "wamp.error.timeout");

    let (mut callee, _) = joined(&router).await;
    callee.register("com.example.compute", json!({})).await;
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[4], json!(["kept"]), "the timed-out call is gone");
    callee.expect_silence(QUIET).await;
    answer(&mut callee, &invoked, json!([1])).await;
    assert_eq!(result(&mut caller, kept).await, json!([1]));

    // A timeout that runs out after the call was invoked still interrupts it (as before).
    let slow = call(
        &mut caller,
        json!({"timeout": 200}),
        "com.example.compute",
        json!(["slow"]),
    )
    .await;
    invocation(&mut callee).await;
    let reply = caller
        .recv_within(Duration::from_secs(3))
        .await
        .expect("the timeout's ERROR");
    assert_error(&reply, 48, slow, "wamp.error.timeout");
}

#[tokio::test]
async fn a_canceled_call_leaves_the_queue() {
    let router = start();
    let (mut caller, _) = joined(&router).await;
    call(&mut caller, json!({}), "com.jobs.x", json!([1])).await;
    let canceled = call(&mut caller, json!({}), "com.jobs.x", json!([2])).await;
    for mode in ["kill", "skip"] {
        // `kill` has no callee to wait for: every mode answers at once.
        caller.send(json!([49, canceled, {"mode": mode}])).await;
        if mode == "kill" {
            let reply = caller.recv().await;
            assert_error(&reply, 48, canceled, "wamp.error.canceled");
        } else {
            caller.expect_silence(QUIET).await; // answered already: ignored
        }
    }
    // Its place in the queue is free again.
    call(&mut caller, json!({}), "com.jobs.x", json!([3])).await;
    caller.expect_silence(QUIET).await;

    let (mut callee, _) = joined(&router).await;
    callee.register("com.jobs.x", json!({})).await;
    let first = invocation(&mut callee).await;
    let second = invocation(&mut callee).await;
    assert_eq!((&first[4], &second[4]), (&json!([1]), &json!([3])));
    callee.expect_silence(QUIET).await;
}

#[tokio::test]
async fn the_calls_of_a_caller_that_leaves_are_dropped() {
    let router = start();
    let (mut leaving, _) = joined(&router).await;
    call(&mut leaving, json!({}), "com.jobs.y", json!(["gone"])).await;
    call(&mut leaving, json!({}), "com.jobs.y", json!(["gone too"])).await;
    let goodbye = leaving
        .request(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(goodbye[0], 6, "expected GOODBYE, got {goodbye}");

    // The queue has room again for another caller.
    let (mut caller, _) = joined(&router).await;
    let request = call(&mut caller, json!({}), "com.jobs.y", json!(["here"])).await;
    call(&mut caller, json!({}), "com.jobs.y", json!(["here too"])).await;
    caller.expect_silence(QUIET).await;

    let (mut callee, _) = joined(&router).await;
    callee.register("com.jobs.y", json!({})).await;
    let invoked = invocation(&mut callee).await;
    assert_eq!(invoked[4], json!(["here"]));
    answer(&mut callee, &invoked, json!(["ok"])).await;
    let other = invocation(&mut callee).await;
    assert_eq!(other[4], json!(["here too"]));
    callee.expect_silence(QUIET).await;
    assert_eq!(result(&mut caller, request).await, json!(["ok"]));
}
