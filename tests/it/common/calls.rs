//! WAMP conversations the meta API and auth tests share: CALL with its RESULT or ERROR,
//! HELLO with authentication, and waiting for a given EVENT.

use serde_json::{Value, json};

use super::Client;

/// CALL `procedure` with `args` and `kwargs`; returns the RESULT or ERROR (an EVENT arriving
/// first fails the test: use a client without subscriptions to call).
pub async fn call_with(client: &mut Client, procedure: &str, args: Value, kwargs: Value) -> Value {
    let request = client.next_id();
    client
        .send(json!([48, request, {}, procedure, args, kwargs]))
        .await;
    let msg = client.recv().await;
    assert_ne!(
        msg[0], 36,
        "an EVENT arrived while waiting for the answer to {procedure}: {msg}"
    );
    let answered = if msg[0] == 8 { &msg[2] } else { &msg[1] };
    assert_eq!(*answered, request, "reply to another request: {msg}");
    msg
}

/// CALL and expect RESULT; returns its first positional result (null when there is none).
pub async fn call(client: &mut Client, procedure: &str, args: Value) -> Value {
    let reply = call_with(client, procedure, args, json!({})).await;
    assert_eq!(reply[0], 50, "expected RESULT for {procedure}, got {reply}");
    reply
        .get(3)
        .and_then(|a| a.get(0))
        .cloned()
        .unwrap_or(Value::Null)
}

/// CALL and expect ERROR; returns its URI.
pub async fn call_error(client: &mut Client, procedure: &str, args: Value) -> String {
    let reply = call_with(client, procedure, args, json!({})).await;
    assert_eq!(reply[0], 8, "expected ERROR for {procedure}, got {reply}");
    assert_eq!(reply[1], 48, "ERROR for a CALL: {reply}");
    reply[4].as_str().unwrap().to_owned()
}

/// HELLO with `details` merged into the roles; returns the first answer (WELCOME, ABORT or
/// CHALLENGE).
pub async fn hello_with(client: &mut Client, realm: &str, details: Value) -> Value {
    let mut d = json!({"roles": {
        "publisher": {"features": {}}, "subscriber": {"features": {}},
        "caller": {"features": {}}, "callee": {"features": {}}
    }});
    for (k, v) in details.as_object().unwrap() {
        d[k] = v.clone();
    }
    client.request(json!([1, realm, d])).await
}

/// Ticket login: HELLO, CHALLENGE ticket, AUTHENTICATE; returns the final answer.
pub async fn ticket_login(client: &mut Client, realm: &str, authid: &str, ticket: &str) -> Value {
    let challenge = hello_with(
        client,
        realm,
        json!({"authmethods": ["ticket"], "authid": authid}),
    )
    .await;
    if challenge[0] != 4 {
        return challenge;
    }
    assert_eq!(challenge[1], "ticket", "{challenge}");
    client.request(json!([5, ticket, {}])).await
}

/// Waits for the next EVENT on `subscription`, skipping EVENTs of other subscriptions;
/// returns (args, kwargs).
pub async fn event_on(client: &mut Client, subscription: u64) -> (Value, Value) {
    loop {
        let msg = client.recv().await;
        assert_eq!(msg[0], 36, "expected EVENT, got {msg}");
        if msg[1] == subscription {
            return (
                msg.get(4).cloned().unwrap_or(json!([])),
                msg.get(5).cloned().unwrap_or(json!({})),
            );
        }
    }
}

/// GOODBYE from the client; waits for the router's GOODBYE.
pub async fn goodbye(client: &mut Client) {
    let reply = client
        .request(json!([6, {}, "wamp.close.close_realm"]))
        .await;
    assert_eq!(reply[0], 6, "expected GOODBYE, got {reply}");
}
