//! Authentication against an in-process router: anonymous, ticket, WAMP-CRA (plain and
//! salted), WAMP-cryptosign (Ed25519), the authid/authrole/authmethod WELCOME announces, the
//! ABORT URI of each refusal; and dynamic authorization (a role's `authorizer` procedure,
//! registered by a backend session, deciding each action).

use crate::common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::calls::*;
use common::in_process::InProcess;
use common::*;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

const TICKET: &str = "secret!!!";
const ALICE_SECRET: &str = "alice-secret-ÄÖ";
const BOB_SECRET: &str = "bob-secret";
const BOB_SALT: &str = "salt123";

fn ws_transport(auth: Value) -> Value {
    json!({
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {"ws": {"type": "websocket", "serializers": ["json", "msgpack"], "auth": auth}}
    })
}

fn role(name: &str) -> Value {
    full_access_role(name)
}

/// Transport 0: anonymous, ticket (joe), wampcra (alice plain, bob salted), cryptosign
/// (carol: two keys, realm1 only; dave: any realm). Transport 1: ticket only.
struct Keys {
    carol: SigningKey,
    carol2: SigningKey,
    dave: SigningKey,
    stranger: SigningKey,
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

fn start() -> (InProcess, Keys) {
    let keys = Keys {
        carol: key(),
        carol2: key(),
        dave: key(),
        stranger: key(),
    };
    let full = ws_transport(json!({
        "anonymous": {"type": "static", "role": "anonymous"},
        "ticket": {"type": "static", "principals": {"joe": {"ticket": TICKET, "role": "frontend"}}},
        "wampcra": {"type": "static", "users": {
            "alice": {"secret": ALICE_SECRET, "role": "frontend"},
            "bob": {"secret": BOB_SECRET, "role": "frontend", "salt": BOB_SALT, "iterations": 100, "keylen": 16}
        }},
        "cryptosign": {"type": "static", "principals": {
            "carol": {"realm": "realm1", "role": "backend",
                      "authorized_keys": [public_hex(&keys.carol), public_hex(&keys.carol2).to_uppercase()]},
            "dave": {"role": "frontend", "authorized_keys": [public_hex(&keys.dave)]}
        }}
    }));
    let ticket_only = ws_transport(json!({
        "ticket": {"type": "static", "principals": {"joe": {"ticket": TICKET, "role": "frontend"}}}
    }));
    let roles = json!([role("anonymous"), role("frontend"), role("backend")]);
    let config = common::config(
        vec![
            json!({"name": "realm1", "roles": roles}),
            json!({"name": "realm2", "roles": roles}),
        ],
        vec![full, ticket_only],
    );
    (InProcess::start(&config), keys)
}

/// A JSON client on `/ws` of `transport`, from a loopback address no other client uses:
/// failed logins are counted per address in one table for the whole process (every router
/// of this test binary), and these tests fail many on purpose.
async fn client(router: &InProcess, transport: usize) -> Client {
    Client::connect_from(
        &format!("ws://{}/ws", router.addrs[transport]),
        fresh_source(),
    )
    .await
}

fn fresh_source() -> std::net::IpAddr {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::net::Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8).into()
}

#[track_caller]
fn assert_welcome(msg: &Value, authid: &str, authrole: &str, authmethod: &str) {
    assert_eq!(msg[0], 2, "expected WELCOME, got {msg}");
    let d = &msg[2];
    assert_eq!(
        (
            d["authid"].as_str(),
            d["authrole"].as_str(),
            d["authmethod"].as_str()
        ),
        (Some(authid), Some(authrole), Some(authmethod)),
        "{msg}"
    );
}

/// WAMP-CRA's signature: base64(HMAC-SHA256(key, challenge)), where the key is the secret
/// or, salted, base64(PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen)) (autobahn).
fn wampcra_signature(secret: &str, extra: &Value) -> String {
    let key = match extra.get("salt").and_then(Value::as_str) {
        None => secret.as_bytes().to_vec(),
        Some(salt) => {
            let iterations = extra["iterations"].as_u64().unwrap_or(1000) as u32;
            let mut derived = vec![0u8; extra["keylen"].as_u64().unwrap_or(32) as usize];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                secret.as_bytes(),
                salt.as_bytes(),
                iterations,
                &mut derived,
            );
            STANDARD.encode(derived).into_bytes()
        }
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(extra["challenge"].as_str().unwrap().as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

async fn wampcra_login(client: &mut Client, authid: &str, secret: &str) -> (Value, Value) {
    let challenge = hello_with(
        client,
        "realm1",
        json!({"authmethods": ["wampcra"], "authid": authid}),
    )
    .await;
    if challenge[0] != 4 {
        return (json!({}), challenge);
    }
    assert_eq!(challenge[1], "wampcra", "{challenge}");
    let extra = challenge[2].clone();
    let answer = client
        .request(json!([5, wampcra_signature(secret, &extra), {}]))
        .await;
    (extra, answer)
}

/// HELLO cryptosign announcing `announced`'s public key, the CHALLENGE signed by `signer`
/// (signature followed by the challenge, hex, as autobahn); returns the final answer.
async fn cryptosign_login(
    client: &mut Client,
    realm: &str,
    authid: Option<&str>,
    announced: &SigningKey,
    signer: &SigningKey,
) -> Value {
    let mut details =
        json!({"authmethods": ["cryptosign"], "authextra": {"pubkey": public_hex(announced)}});
    if let Some(authid) = authid {
        details["authid"] = json!(authid);
    }
    let challenge = hello_with(client, realm, details).await;
    if challenge[0] != 4 {
        return challenge;
    }
    assert_eq!(challenge[1], "cryptosign", "{challenge}");
    let text = challenge[2]["challenge"].as_str().unwrap();
    assert_eq!(text.len(), 64, "32 random bytes, hex: {challenge}");
    assert_eq!(challenge[2]["channel_binding"], Value::Null, "{challenge}");
    let data = hex::decode(text).unwrap();
    let mut signed = signer.sign(&data).to_bytes().to_vec();
    signed.extend_from_slice(&data);
    client.request(json!([5, hex::encode(signed), {}])).await
}

#[track_caller]
fn assert_refused(msg: &Value, uri: &str, words: &[&str]) {
    assert_abort(msg, uri);
    let message = msg[1]["message"].as_str().unwrap();
    for word in words {
        assert!(
            message.contains(word),
            "ABORT message {message:?} lacks {word:?}"
        );
    }
}

#[tokio::test]
async fn anonymous_and_ticket_logins_announce_the_identity() {
    let (router, _) = start();
    let mut anon = client(&router, 0).await;
    let welcome = anon.hello("realm1").await;
    assert_welcome(
        &welcome,
        welcome[2]["authid"].as_str().unwrap_or("?"),
        "anonymous",
        "anonymous",
    );
    let mut joe = client(&router, 0).await;
    let welcome = ticket_login(&mut joe, "realm1", "joe", TICKET).await;
    assert_welcome(&welcome, "joe", "frontend", "ticket");
    assert_eq!(welcome[2]["authprovider"], "static", "{welcome}");
    // The session works: a call round trip through the meta API.
    assert_eq!(
        call(&mut joe, "wamp.session.get", json!([welcome[1]])).await["authid"],
        "joe"
    );
}

#[tokio::test]
async fn wrong_tickets_are_aborted_not_authorized() {
    let (router, _) = start();
    for (authid, ticket) in [("joe", "wrong"), ("joe", ""), ("nobody", TICKET)] {
        let mut c = client(&router, 0).await;
        let challenge = hello_with(
            &mut c,
            "realm1",
            json!({"authmethods": ["ticket"], "authid": authid}),
        )
        .await;
        if authid == "nobody" {
            // An unknown principal is refused at HELLO.
            assert_abort(&challenge, "wamp.error.not_authorized");
        } else {
            assert_eq!(challenge, json!([4, "ticket", {}]), "{authid}");
            let answer = c.request(json!([5, ticket, {}])).await;
            assert_abort(&answer, "wamp.error.not_authorized");
        }
        c.expect_close().await;
    }
}

#[tokio::test]
async fn wampcra_plain_and_salted() {
    let (router, _) = start();
    let mut alice = client(&router, 0).await;
    let (extra, welcome) = wampcra_login(&mut alice, "alice", ALICE_SECRET).await;
    assert_welcome(&welcome, "alice", "frontend", "wampcra");
    assert!(extra.get("salt").is_none(), "{extra}");
    let info: Value = serde_json::from_str(extra["challenge"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&info["authid"], &info["authrole"], &info["authmethod"]),
        (&json!("alice"), &json!("frontend"), &json!("wampcra")),
        "{info}"
    );
    assert_eq!(
        info["session"], welcome[1],
        "the challenge names the session WELCOME gives"
    );
    let mut bob = client(&router, 0).await;
    let (extra, welcome) = wampcra_login(&mut bob, "bob", BOB_SECRET).await;
    assert_welcome(&welcome, "bob", "frontend", "wampcra");
    assert_eq!(
        (&extra["salt"], &extra["iterations"], &extra["keylen"]),
        (&json!(BOB_SALT), &json!(100), &json!(16)),
        "{extra}"
    );
}

#[tokio::test]
async fn wrong_wampcra_secrets_are_aborted_not_authorized() {
    let (router, _) = start();
    for (authid, secret) in [
        ("alice", "wrong-secret"),
        ("bob", "wrong-secret"),
        ("bob", ALICE_SECRET),
        ("mallory", "whatever"),
    ] {
        let mut c = client(&router, 0).await;
        let (extra, answer) = wampcra_login(&mut c, authid, secret).await;
        if authid != "mallory" {
            assert!(
                extra["challenge"].is_string(),
                "{authid}: a CHALLENGE was sent first"
            );
        }
        assert_abort(&answer, "wamp.error.not_authorized");
    }
}

#[tokio::test]
async fn a_method_the_transport_does_not_offer_is_no_auth_method() {
    let (router, keys) = start();
    let mut c = client(&router, 1).await;
    assert_abort(&c.hello("realm1").await, "wamp.error.no_auth_method");
    let mut c = client(&router, 1).await;
    let (_, answer) = wampcra_login(&mut c, "alice", ALICE_SECRET).await;
    assert_abort(&answer, "wamp.error.no_auth_method");
    let mut c = client(&router, 1).await;
    let answer = cryptosign_login(&mut c, "realm1", Some("dave"), &keys.dave, &keys.dave).await;
    assert_abort(&answer, "wamp.error.no_auth_method");
    // The ticket works there.
    let mut c = client(&router, 1).await;
    assert_welcome(
        &ticket_login(&mut c, "realm1", "joe", TICKET).await,
        "joe",
        "frontend",
        "ticket",
    );
}

#[tokio::test]
async fn cryptosign_logins() {
    let (router, keys) = start();
    let mut c = client(&router, 0).await;
    let welcome = cryptosign_login(&mut c, "realm1", Some("carol"), &keys.carol, &keys.carol).await;
    assert_welcome(&welcome, "carol", "backend", "cryptosign");
    assert_eq!(welcome[2]["authprovider"], "static", "{welcome}");
    // Every authorized key (hex in any case) logs in.
    let mut c = client(&router, 0).await;
    assert_welcome(
        &cryptosign_login(&mut c, "realm1", Some("carol"), &keys.carol2, &keys.carol2).await,
        "carol",
        "backend",
        "cryptosign",
    );
    // Without an authid the principal is found by the key.
    let mut c = client(&router, 0).await;
    assert_welcome(
        &cryptosign_login(&mut c, "realm1", None, &keys.dave, &keys.dave).await,
        "dave",
        "frontend",
        "cryptosign",
    );
    // The 64-byte form (signature only, without the challenge) is accepted too.
    let mut c = client(&router, 0).await;
    let challenge = hello_with(&mut c, "realm1", json!({"authmethods": ["cryptosign"], "authid": "dave", "authextra": {"pubkey": public_hex(&keys.dave)}})).await;
    let data = hex::decode(challenge[2]["challenge"].as_str().unwrap()).unwrap();
    let welcome = c
        .request(json!([5, hex::encode(keys.dave.sign(&data).to_bytes()), {}]))
        .await;
    assert_welcome(&welcome, "dave", "frontend", "cryptosign");
    // A principal without a realm may join any realm.
    let mut c = client(&router, 0).await;
    assert_welcome(
        &cryptosign_login(&mut c, "realm2", Some("dave"), &keys.dave, &keys.dave).await,
        "dave",
        "frontend",
        "cryptosign",
    );
}

#[tokio::test]
async fn cryptosign_refusals() {
    let (router, keys) = start();
    let k = &keys;
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a SigningKey,
        &'a SigningKey,
        &'a [&'a str],
    );
    let cases: [Case; 6] = [
        (
            "realm1",
            Some("carol"),
            &k.stranger,
            &k.stranger,
            &["not an authorized key"],
        ),
        ("realm1", None, &k.stranger, &k.stranger, &["no principal"]),
        (
            "realm1",
            Some("carol"),
            &k.dave,
            &k.dave,
            &["not an authorized key"],
        ),
        (
            "realm1",
            Some("mallory"),
            &k.carol,
            &k.carol,
            &["no principal"],
        ),
        (
            "realm1",
            Some("carol"),
            &k.carol,
            &k.carol2,
            &["does not verify"],
        ),
        (
            "realm2",
            Some("carol"),
            &k.carol,
            &k.carol,
            &["realm \"realm1\""],
        ),
    ];
    for (realm, authid, announced, signer, words) in cases {
        let mut c = client(&router, 0).await;
        let answer = cryptosign_login(&mut c, realm, authid, announced, signer).await;
        assert_refused(&answer, "wamp.error.not_authorized", words);
    }
    // A tampered signature.
    let mut c = client(&router, 0).await;
    let challenge = hello_with(&mut c, "realm1", json!({"authmethods": ["cryptosign"], "authid": "dave", "authextra": {"pubkey": public_hex(&k.dave)}})).await;
    let data = hex::decode(challenge[2]["challenge"].as_str().unwrap()).unwrap();
    let mut signed = k.dave.sign(&data).to_bytes().to_vec();
    signed[0] ^= 1;
    signed.extend_from_slice(&data);
    let answer = c.request(json!([5, hex::encode(signed), {}])).await;
    assert_refused(&answer, "wamp.error.not_authorized", &["does not verify"]);
    // Answers that are not a signature of the challenge.
    type Answer = fn(&SigningKey, &[u8]) -> String;
    let answers: [(Answer, &str); 3] = [
        (
            |key, data| {
                let mut other = data.to_vec();
                other[0] ^= 1;
                let mut signed = key.sign(&other).to_bytes().to_vec();
                signed.extend_from_slice(&other);
                hex::encode(signed)
            },
            "not the challenge",
        ),
        (|_, _| "not hex".to_owned(), "not a hex string"),
        (|_, _| "ab".repeat(95), "expected 96 bytes"),
    ];
    for (answer, words) in answers {
        let mut c = client(&router, 0).await;
        let challenge = hello_with(&mut c, "realm1", json!({"authmethods": ["cryptosign"], "authid": "dave", "authextra": {"pubkey": public_hex(&k.dave)}})).await;
        let data = hex::decode(challenge[2]["challenge"].as_str().unwrap()).unwrap();
        let reply = c.request(json!([5, answer(&k.dave, &data), {}])).await;
        assert_refused(&reply, "wamp.error.not_authorized", &[words]);
    }
    // Channel binding is refused clearly.
    let mut c = client(&router, 0).await;
    let reply = hello_with(&mut c, "realm1", json!({"authmethods": ["cryptosign"], "authid": "dave", "authextra": {"pubkey": public_hex(&k.dave), "channel_binding": "tls-unique"}})).await;
    assert_refused(
        &reply,
        "wamp.error.not_authorized",
        &["tls-unique", "not supported"],
    );
    // No pubkey in authextra.
    let mut c = client(&router, 0).await;
    let answer = hello_with(
        &mut c,
        "realm1",
        json!({"authmethods": ["cryptosign"], "authid": "dave"}),
    )
    .await;
    assert_refused(&answer, "wamp.error.not_authorized", &["pubkey"]);
}

// ---------------------------------------------------------------------------------------------
// Dynamic authorization
// ---------------------------------------------------------------------------------------------

const AUTHORIZER: &str = "com.example.authorize";
const BACKEND_TICKET: &str = "backend-ticket";

fn dynamic_router() -> InProcess {
    let auth = json!({
        "anonymous": {"type": "static", "role": "frontend"},
        "ticket": {"type": "static", "principals": {"backend": {"ticket": BACKEND_TICKET, "role": "backend"}}}
    });
    let roles = json!([role("backend"), {"name": "frontend", "authorizer": AUTHORIZER}]);
    InProcess::start(&common::config(
        vec![json!({"name": "realm1", "roles": roles})],
        vec![ws_transport(auth)],
    ))
}

/// The backend answers the next authorizer INVOCATION with `answer`; returns the question
/// (session details, uri, action, options).
async fn authorize(backend: &mut Client, answer: Value) -> Value {
    let msg = backend.recv().await;
    assert_eq!(
        msg[0], 68,
        "expected the authorizer's INVOCATION, got {msg}"
    );
    backend.send(json!([70, msg[1], {}, [answer]])).await;
    msg[4].clone()
}

#[tokio::test]
async fn the_authorizer_decides_each_action_of_a_dynamic_role() {
    let router = dynamic_router();
    let mut backend = router.json().await;
    assert_welcome(
        &ticket_login(&mut backend, "realm1", "backend", BACKEND_TICKET).await,
        "backend",
        "backend",
        "ticket",
    );
    backend.register(AUTHORIZER, json!({})).await;
    let mut fe = router.json().await;
    let welcome = fe.hello("realm1").await;
    assert_eq!(welcome[2]["authrole"], "frontend", "{welcome}");
    let fe_id = welcome[1].as_u64().unwrap();

    // Allowed subscribe: the question names the session, the URI and the action.
    fe.send(json!([32, 1, {}, "com.example.allowed.topic"]))
        .await;
    let question = authorize(&mut backend, json!(true)).await;
    assert_eq!(question[0]["session"], fe_id, "{question}");
    assert_eq!(
        (&question[0]["authrole"], &question[0]["authmethod"]),
        (&json!("frontend"), &json!("anonymous")),
        "{question}"
    );
    assert_eq!(
        (&question[1], &question[2]),
        (&json!("com.example.allowed.topic"), &json!("subscribe")),
        "{question}"
    );
    assert!(question[3].is_object(), "{question}");
    let reply = fe.recv().await;
    assert_eq!(reply[0], 33, "expected SUBSCRIBED, got {reply}");

    // Refused call, register, publish: not_authorized.
    for (msg, kind, action) in [
        (json!([48, 2, {}, "com.example.secret"]), 48, "call"),
        (json!([64, 3, {}, "com.example.secret"]), 64, "register"),
        (
            json!([16, 4, {"acknowledge": true}, "com.example.secret"]),
            16,
            "publish",
        ),
    ] {
        let request = msg[1].as_u64().unwrap();
        fe.send(msg).await;
        let question = authorize(&mut backend, json!(false)).await;
        assert_eq!(question[2], action, "{question}");
        assert_error(&fe.recv().await, kind, request, "wamp.error.not_authorized");
    }
    // A dict answer with cache: asked once per session.
    backend.register("com.example.cached", json!({})).await;
    for round in 0..3u64 {
        fe.send(json!([48, 10 + round, {}, "com.example.cached"]))
            .await;
        if round == 0 {
            authorize(&mut backend, json!({"allow": true, "cache": true})).await;
        }
        let invocation = backend.recv().await;
        assert_eq!(
            invocation[0], 68,
            "round {round}: expected the procedure's INVOCATION (not a question), got {invocation}"
        );
        backend.send(json!([70, invocation[1], {}, ["c"]])).await;
        let result = fe.recv().await;
        assert_eq!(
            (result[0].as_u64(), &result[3]),
            (Some(50), &json!(["c"])),
            "{result}"
        );
    }
    // An authorizer error or a malformed answer: authorization_failed.
    for (request, answer) in [(20u64, json!("yes")), (21, json!(null))] {
        fe.send(json!([48, request, {}, "com.example.weird"])).await;
        authorize(&mut backend, answer).await;
        assert_error(
            &fe.recv().await,
            48,
            request,
            "wamp.error.authorization_failed",
        );
    }
    // Without an authorizer registered: authorization_failed.
    goodbye(&mut backend).await;
    fe.send(json!([32, 30, {}, "com.example.allowed.t"])).await;
    assert_error(&fe.recv().await, 32, 30, "wamp.error.authorization_failed");
}

async fn backend_with_authorizer(router: &InProcess) -> Client {
    let mut backend = router.json().await;
    let welcome = ticket_login(&mut backend, "realm1", "backend", BACKEND_TICKET).await;
    assert_welcome(&welcome, "backend", "backend", "ticket");
    backend.register(AUTHORIZER, json!({})).await;
    backend
}

#[tokio::test]
async fn a_disclosing_answer_discloses_the_caller_and_is_not_cached() {
    let router = dynamic_router();
    let mut backend = backend_with_authorizer(&router).await;
    let disclosed = backend.register("com.example.disclosed", json!({})).await;
    let (mut fe, fe_id) = router.joined("realm1").await;
    for round in 0..2u64 {
        fe.send(json!([48, round + 1, {}, "com.example.disclosed"]))
            .await;
        let question = authorize(&mut backend, json!({"allow": true, "disclose": true})).await;
        assert_eq!(
            (&question[1], &question[2]),
            (&json!("com.example.disclosed"), &json!("call")),
            "round {round}: asked again, not cached"
        );
        let invocation = backend.recv().await;
        assert_eq!(
            (invocation[0].as_u64(), invocation[2].as_u64()),
            (Some(68), Some(disclosed)),
            "{invocation}"
        );
        assert_eq!(
            invocation[3]["caller"], fe_id,
            "the caller is disclosed: {invocation}"
        );
        assert_eq!(invocation[3]["caller_authrole"], "frontend", "{invocation}");
        backend.send(json!([70, invocation[1], {}, ["d"]])).await;
        assert_eq!(fe.recv().await[3], json!(["d"]));
    }
}

#[tokio::test]
async fn a_refused_publish_without_acknowledge_is_dropped_and_a_new_authorizer_decides_again() {
    let router = dynamic_router();
    let mut backend = backend_with_authorizer(&router).await;
    let mut listener = router.json().await;
    assert_welcome(
        &ticket_login(&mut listener, "realm1", "backend", BACKEND_TICKET).await,
        "backend",
        "backend",
        "ticket",
    );
    let sub = listener.subscribe("com.example.broken", json!({})).await;
    let (mut fe, _) = router.joined("realm1").await;
    fe.send(json!([16, 1, {}, "com.example.broken", ["lost"]]))
        .await;
    let msg = backend.recv().await;
    assert_eq!(msg[0], 68, "{msg}");
    backend
        .send(json!([
            8,
            68,
            msg[1],
            {},
            "com.example.oops",
            ["authorizer bug"]
        ]))
        .await;
    // The session goes on; the listener's next event is the backend's marker.
    fe.send(json!([48, 2, {}, "com.example.nothing"])).await;
    authorize(&mut backend, json!(false)).await;
    assert_error(&fe.recv().await, 48, 2, "wamp.error.not_authorized");
    backend
        .publish_ack("com.example.broken", json!({}), json!(["marker"]))
        .await;
    assert_eq!(
        event_on(&mut listener, sub).await.0,
        json!(["marker"]),
        "the refused publish was dropped"
    );
    // The authorizer leaves: authorization fails; another one registers: decided again.
    goodbye(&mut backend).await;
    fe.send(json!([32, 3, {}, "com.example.allowed.t"])).await;
    assert_error(&fe.recv().await, 32, 3, "wamp.error.authorization_failed");
    let mut backend = backend_with_authorizer(&router).await;
    fe.send(json!([32, 4, {"match": "prefix"}, "com.example.allowed.t"]))
        .await;
    assert_eq!(
        authorize(&mut backend, json!(true)).await[1],
        "com.example.allowed.t"
    );
    let reply = fe.recv().await;
    assert_eq!(
        (reply[0].as_u64(), reply[1].as_u64()),
        (Some(33), Some(4)),
        "{reply}"
    );
}

/// The frontend's CALL of `procedure` (with `options`), the authorizer asked when `answer`
/// is given, the backend's callee answering with the INVOCATION details it got; returns
/// those details.
async fn call_through(
    fe: &mut Client,
    backend: &mut Client,
    request: u64,
    procedure: &str,
    options: Value,
    answer: Option<Value>,
) -> Value {
    fe.send(json!([48, request, options, procedure])).await;
    if let Some(answer) = answer {
        let question = authorize(backend, answer).await;
        assert_eq!(
            (question[1].as_str(), question[2].as_str()),
            (Some(procedure), Some("call")),
            "{question}"
        );
    }
    let invocation = backend.recv().await;
    assert_eq!(
        invocation[0], 68,
        "expected the procedure's INVOCATION (no question), got {invocation}"
    );
    backend.send(json!([70, invocation[1], {}, ["ok"]])).await;
    let result = fe.recv().await;
    assert_eq!(
        (result[0].as_u64(), result[1].as_u64()),
        (Some(50), Some(request)),
        "{result}"
    );
    invocation[3].clone()
}

#[tokio::test]
async fn cache_is_per_session_uri_and_action_and_disclose_decides_over_disclose_me() {
    let router = dynamic_router();
    let mut backend = backend_with_authorizer(&router).await;
    for uri in [
        "com.example.cached",
        "com.example.plain",
        "com.example.hidden",
    ] {
        backend.register(uri, json!({})).await;
    }
    let (mut fe, fe_id) = router.joined("realm1").await;
    let cache_answer = json!({"allow": true, "cache": true});
    let cached = Some(cache_answer.clone());
    call_through(
        &mut fe,
        &mut backend,
        1,
        "com.example.cached",
        json!({}),
        cached.clone(),
    )
    .await;
    call_through(
        &mut fe,
        &mut backend,
        2,
        "com.example.cached",
        json!({}),
        None,
    )
    .await;
    // A plain true is asked every time; it leaves disclosure to disclose_me.
    let details = call_through(
        &mut fe,
        &mut backend,
        3,
        "com.example.plain",
        json!({}),
        Some(json!(true)),
    )
    .await;
    assert_eq!(details.get("caller"), None, "{details}");
    let details = call_through(
        &mut fe,
        &mut backend,
        4,
        "com.example.plain",
        json!({"disclose_me": true}),
        Some(json!(true)),
    )
    .await;
    assert_eq!(details["caller"], fe_id, "{details}");
    // disclose: false wins over the caller's disclose_me.
    let hidden = Some(json!({"allow": true, "disclose": false}));
    let details = call_through(
        &mut fe,
        &mut backend,
        5,
        "com.example.hidden",
        json!({"disclose_me": true}),
        hidden,
    )
    .await;
    assert_eq!(details.get("caller"), None, "{details}");
    // Another action on the cached URI is another question.
    fe.send(json!([32, 6, {}, "com.example.cached"])).await;
    assert_eq!(
        authorize(&mut backend, cache_answer.clone()).await[2],
        "subscribe"
    );
    assert_eq!(fe.recv().await[0], 33);
    // The cache belongs to the session: a new one asks again.
    let (mut other, other_id) = router.joined("realm1").await;
    other.send(json!([48, 1, {}, "com.example.cached"])).await;
    let question = authorize(&mut backend, cache_answer).await;
    assert_eq!(question[0]["session"], other_id, "{question}");
    let invocation = backend.recv().await;
    backend.send(json!([70, invocation[1], {}, []])).await;
    assert_eq!(other.recv().await[0], 50);
}

#[tokio::test]
async fn an_authorizer_error_fails_authorization_of_every_action() {
    let router = dynamic_router();
    let mut backend = backend_with_authorizer(&router).await;
    let (mut fe, _) = router.joined("realm1").await;
    for (request, msg) in [
        (1u64, json!([48, 1, {}, "com.example.broken"])),
        (2, json!([32, 2, {}, "com.example.broken"])),
        (
            3,
            json!([16, 3, {"acknowledge": true}, "com.example.broken"]),
        ),
    ] {
        let kind = msg[0].as_u64().unwrap();
        fe.send(msg).await;
        let question = backend.recv().await;
        assert_eq!(question[0], 68, "{question}");
        backend
            .send(json!([
                8,
                68,
                question[1],
                {},
                "com.example.oops",
                ["authorizer bug"]
            ]))
            .await;
        assert_error(
            &fe.recv().await,
            kind,
            request,
            "wamp.error.authorization_failed",
        );
    }
}

/// Crossbar's static anonymous `authid` (every anonymous session gets it) and `realm` (Junction
/// keeps anonymous to that realm: Crossbar accepts the key and ignores it).
#[tokio::test]
async fn anonymous_with_a_fixed_authid_and_realm() {
    let roles = json!([role("frontend")]);
    let config = common::config(
        vec![
            json!({"name": "realm1", "roles": roles}),
            json!({"name": "realm2", "roles": roles}),
        ],
        vec![ws_transport(json!({
            "anonymous": {"type": "static", "role": "frontend", "authid": "kiosk", "realm": "realm1"}
        }))],
    );
    let router = InProcess::start(&config);
    let mut c = client(&router, 0).await;
    let welcome = hello_with(&mut c, "realm1", json!({"authmethods": ["anonymous"]})).await;
    assert_welcome(&welcome, "kiosk", "frontend", "anonymous");
    let mut other = client(&router, 0).await;
    let abort = hello_with(&mut other, "realm2", json!({"authmethods": ["anonymous"]})).await;
    assert_eq!(abort[0], 3, "{abort}");
    assert_eq!(abort[2], "wamp.error.not_authorized", "{abort}");
}
