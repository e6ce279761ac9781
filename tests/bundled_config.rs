//! The bundled config.json stays valid and keeps what the README promises.

use junction::config::{self, PathService, TransportKind};

#[test]
fn bundled_config_loads_with_the_push_secret_from_the_environment() {
    let text = include_str!("../config.json");
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
    let err = config::load_str_with_env(include_str!("../config.json"), &|_| None).unwrap_err();
    assert!(err.to_string().contains("JUNCTION_PUSH_SECRET"), "{err}");
}
