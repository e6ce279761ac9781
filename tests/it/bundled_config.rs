//! The bundled config.json stays valid and keeps what the README promises.

use junction::config::{self, PathService, TransportKind};

#[test]
fn bundled_config_loads_with_the_push_secret_from_the_environment() {
    let text = include_str!("../../config.json");
    let env = |name: &str| (name == "JUNCTION_PUSH_SECRET").then(|| "change-me".to_owned());
    let config = config::load_str_with_env(text, &env).expect("bundled config.json loads");
    let transport = &config.workers[0].transports[0];
    let endpoint = transport.endpoint.tcp().expect("a TCP endpoint");
    assert_eq!(
        (endpoint.interface.as_str(), endpoint.port),
        ("127.0.0.1", 8080)
    );
    let TransportKind::Web { paths, .. } = &transport.kind else {
        panic!("expected a web transport");
    };
    assert!(matches!(paths.get("/ws"), Some(PathService::WebSocket(_))));
    // The README's first command gives an operator these too.
    assert!(matches!(paths.get("/health"), Some(PathService::Health)));
    // The README's SSE examples (`curl -N .../events?topic=...`) run against it, from this host.
    assert!(matches!(paths.get("/events"), Some(PathService::Sse(s)) if s.require_ip.is_some()));
    assert!(matches!(paths.get("/ready"), Some(PathService::Ready)));
    assert!(matches!(paths.get("/metrics"), Some(PathService::Metrics)));
    let Some(PathService::Publisher(push)) = paths.get("/push") else {
        panic!("expected /push");
    };
    assert!(push.options.signing.is_none() && push.options.require_ip.is_some());
    let Some(PathService::Publisher(signed)) = paths.get("/push-signed") else {
        panic!("expected /push-signed");
    };
    let signing = signed.options.signing.as_ref().expect("signed");
    assert_eq!(
        (signing.key.as_str(), signing.secret.expose()),
        ("example-key", "change-me")
    );
}

#[test]
fn bundled_config_names_the_missing_secret() {
    let err = config::load_str_with_env(include_str!("../../config.json"), &|_| None).unwrap_err();
    assert!(err.to_string().contains("JUNCTION_PUSH_SECRET"), "{err}");
}

use crate::common;
use crate::common::Door;

/// Issue 12, item 10: the bundled config lets anonymous clients do everything but end other
/// sessions (`wamp.session.kill*`), and `check` has nothing to warn about in it.
#[tokio::test]
async fn anonymous_clients_of_the_bundled_config_cannot_kill_sessions() {
    let text = include_str!("../../config.json")
        .replace("\"$JUNCTION_PUSH_SECRET\"", "\"change-me\"")
        .replace("\"port\": 8080", "\"port\": 0");
    let config = config::load_str(&text).expect("bundled config.json loads");
    assert!(config::warnings(&config).is_empty());
    assert!(junction::router::config_warnings::warnings(&config).is_empty());

    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let router = common::Router::start(&json);
    // The startup log lists what each path serves (issue 12, a newcomer's first hour).
    for line in [
        "serving /ws: websocket (json, msgpack)",
        "serving /push: publisher (realm realm1, role anonymous)",
    ] {
        assert!(
            router
                .wait_for_log(line, std::time::Duration::from_secs(2))
                .await,
            "{line}:\n{}",
            router.log()
        );
    }
    let (mut attacker, _) = router.joined("realm1").await;
    let (mut victim, _) = router.joined("realm1").await;
    for (request, procedure) in junction::router::config_warnings::DESTRUCTIVE_META_PROCEDURES
        .into_iter()
        .enumerate()
    {
        let request = request as u64 + 1;
        let reply = attacker
            .request(serde_json::json!([
                48,
                request,
                {},
                procedure,
                ["anonymous"]
            ]))
            .await;
        common::assert_error(&reply, 48, request, "wamp.error.not_authorized");
    }
    // Everything else stays open to them, the meta API's read side included.
    let reply = attacker
        .request(serde_json::json!([48, 9, {}, "wamp.session.count", []]))
        .await;
    assert_eq!(reply[0], 50, "{reply}");
    victim
        .expect_silence(std::time::Duration::from_millis(100))
        .await;
}
