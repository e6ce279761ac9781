//! The HTTP bridge paths of a `web` transport: `publisher` (alias `pusher`), `caller` and
//! `webhook`, and the network lists (`require_ip`, `trusted_proxies`) they and the transport use.
//!
//! Each path names a realm of the same worker and a role of that realm: the bridge's internal
//! session joins with it, so a typo would make every request fail. Secrets (`secret`,
//! `github_secret`) are read like other secrets (literal or `$NAME`) and never printed.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::config::ConfigError;
use crate::config::auth;
use crate::config::loader::Loader;
use crate::config::model::{
    AllowedOrigins, BridgeOptions, CallerService, PathService, PublisherService, RealmConfig,
    SigningKey, TopicsApiService, UriCheck, WebhookService,
};
use crate::config::node::{Node, Obj, Result};
use crate::wamp::uri::{self, MatchPolicy};

/// `post_body_limit` when absent: 1 MiB, Crossbar's ceiling.
pub const DEFAULT_POST_BODY_LIMIT: usize = 1024 * 1024;
/// `timestamp_delta_limit` when absent, in seconds (Crossbar's code default).
const DEFAULT_TIMESTAMP_DELTA_LIMIT: u64 = 300;
/// The largest `timestamp_delta_limit` Crossbar accepts, in seconds.
const MAX_TIMESTAMP_DELTA_LIMIT: u64 = 86_400;
/// Caller `timeout` when absent, in milliseconds.
const DEFAULT_CALLER_TIMEOUT_MS: u64 = 30_000;

/// Options of publisher paths (caller paths add `timeout`).
const PUBLISHER_OPTIONS: &[&str] = &[
    "key",
    "secret",
    "post_body_limit",
    "timestamp_delta_limit",
    "require_ip",
    "require_tls",
    "debug",
    "success_status",
    "strict_status",
    "allowed_origins",
];

const WEBHOOK_OPTIONS: &[&str] = &[
    "topic",
    "success_response",
    "error_response",
    "github_secret",
    "post_body_limit",
    "methods",
    "decode",
    "allowed_origins",
];

/// Which bridge service a path `type` names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bridge {
    Publisher,
    Caller,
}

/// The path service of `"type": "publisher" | "pusher" | "caller" | "webhook"`; `None` for
/// any other type (the caller handles those).
pub(crate) fn load_bridge_path(
    kind: &str,
    obj: &Obj,
    cx: &mut Loader,
) -> Option<Result<PathService>> {
    let service = match kind {
        "publisher" | "pusher" => load_publisher(obj, cx).map(PathService::Publisher),
        "caller" => load_caller(obj, cx).map(PathService::Caller),
        "webhook" => load_webhook(obj, cx).map(PathService::Webhook),
        "topics-api" => load_topics_api(obj, cx).map(PathService::TopicsApi),
        _ => return None,
    };
    Some(service)
}

fn load_publisher(obj: &Obj, cx: &mut Loader) -> Result<PublisherService> {
    obj.keys(&["type", "realm", "role", "options"], &[], &mut cx.ignored)?;
    let (realm, role) = realm_and_role(obj, cx)?;
    let options = obj.get("options").map(|n| n.object()).transpose()?;
    Ok(PublisherService {
        realm: realm.name.clone(),
        role,
        options: load_bridge_options(options.as_ref(), Bridge::Publisher, cx)?,
    })
}

fn load_caller(obj: &Obj, cx: &mut Loader) -> Result<CallerService> {
    obj.keys(&["type", "realm", "role", "options"], &[], &mut cx.ignored)?;
    let (realm, role) = realm_and_role(obj, cx)?;
    let options = obj.get("options").map(|n| n.object()).transpose()?;
    let bridge_options = load_bridge_options(options.as_ref(), Bridge::Caller, cx)?;
    let timeout = match options.as_ref().and_then(|o| o.get("timeout")) {
        Some(node) => node.u64_min(1)?,
        None => DEFAULT_CALLER_TIMEOUT_MS,
    };
    Ok(CallerService {
        realm: realm.name.clone(),
        role,
        options: bridge_options,
        timeout: Duration::from_millis(timeout),
    })
}

/// `realm` and `role` (both required): the realm must be one of this worker's, the role one
/// of that realm's.
pub(crate) fn realm_and_role(obj: &Obj, cx: &Loader) -> Result<(RealmConfig, String)> {
    let realm_node = obj.required("realm")?;
    let name = realm_node.str()?;
    let Some(realm) = cx.worker_realms.iter().find(|r| r.name == name) else {
        let known: Vec<&str> = cx.worker_realms.iter().map(|r| r.name.as_str()).collect();
        let known = if known.is_empty() {
            "it defines none".to_string()
        } else {
            format!("it defines {}", known.join(", "))
        };
        return Err(realm_node.error(format!(
            "realm \"{name}\" is not defined in this worker ({known})"
        )));
    };
    let role_node = obj.required("role")?;
    let role = role_node.str()?;
    let Some(defined) = realm.roles.iter().find(|r| r.name == role) else {
        if role == crate::config::TRUSTED_ROLE {
            return Ok((realm.clone(), role.to_string()));
        }
        return Err(role_node.error(format!(
            "role \"{role}\" is not defined in realm \"{name}\""
        )));
    };
    // A bridge request is not a WAMP session its authorizer could be asked about.
    if defined.authorizer.is_some() {
        return Err(role_node.error(format!(
            "role \"{role}\" is dynamically authorized (authorizer); an HTTP bridge path needs a role with permissions"
        )));
    }
    Ok((realm.clone(), role.to_string()))
}

fn load_bridge_options(
    options: Option<&Obj>,
    bridge: Bridge,
    cx: &mut Loader,
) -> Result<BridgeOptions> {
    let default_status = match bridge {
        Bridge::Publisher => 202,
        Bridge::Caller => 200,
    };
    let Some(obj) = options else {
        return Ok(BridgeOptions {
            signing: None,
            post_body_limit: DEFAULT_POST_BODY_LIMIT,
            timestamp_delta_limit: Some(Duration::from_secs(DEFAULT_TIMESTAMP_DELTA_LIMIT)),
            require_ip: None,
            require_tls: false,
            debug: false,
            success_status: default_status,
            strict_status: false,
            allowed_origins: AllowedOrigins::default(),
        });
    };
    let mut known = PUBLISHER_OPTIONS.to_vec();
    if bridge == Bridge::Caller {
        known.push("timeout");
    }
    obj.keys(&known, &[], &mut cx.ignored)?;

    let signing = match (obj.get("key"), obj.get("secret")) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(obj.key_error(
                "secret",
                "required when \"key\" is given (key and secret go together)",
            ));
        }
        (None, Some(_)) => {
            return Err(obj.key_error(
                "key",
                "required when \"secret\" is given (key and secret go together)",
            ));
        }
        (Some(key), Some(secret)) => {
            let name = key.str()?;
            if name.is_empty() {
                return Err(key.error("a key must not be empty"));
            }
            Some(SigningKey {
                key: name.to_string(),
                secret: auth::secret(&secret, cx)?,
            })
        }
    };
    let timestamp_delta_limit = match obj.get("timestamp_delta_limit") {
        // Crossbar's range; 0 turns the window off.
        Some(node) => match node.u64()? {
            0 => None,
            seconds @ 1..=MAX_TIMESTAMP_DELTA_LIMIT => Some(Duration::from_secs(seconds)),
            other => {
                return Err(node.error(format!(
                    "must be at most {MAX_TIMESTAMP_DELTA_LIMIT} (a day; 0 turns the window off), found {other}"
                )));
            }
        },
        None => Some(Duration::from_secs(DEFAULT_TIMESTAMP_DELTA_LIMIT)),
    };
    let success_status = match obj.get("success_status") {
        Some(node) => match node.u64()? {
            status @ (200 | 202) => status as u16,
            other => return Err(node.error(format!("expected 200 or 202, found {other}"))),
        },
        None => default_status,
    };
    Ok(BridgeOptions {
        signing,
        post_body_limit: post_body_limit(obj)?,
        timestamp_delta_limit,
        require_ip: match obj.get("require_ip") {
            // As Crossbar: an empty list restricts nothing.
            Some(node) => Some(load_networks(&node)?).filter(|nets| !nets.is_empty()),
            None => None,
        },
        // Allowed without TLS on the listener: a proxy in front may terminate it.
        require_tls: obj.opt_bool("require_tls")?.unwrap_or(false),
        debug: obj.opt_bool("debug")?.unwrap_or(false),
        success_status,
        strict_status: obj.opt_bool("strict_status")?.unwrap_or(false),
        allowed_origins: load_allowed_origins(obj)?,
    })
}

/// `allowed_origins`: a list of origin patterns (`*` matches any run of characters).
fn load_allowed_origins(obj: &Obj) -> Result<AllowedOrigins> {
    let Some(node) = obj.get("allowed_origins") else {
        return Ok(AllowedOrigins::default());
    };
    let patterns = node
        .array()?
        .iter()
        .map(|origin| origin.str().map(str::to_string))
        .collect::<Result<_>>()?;
    Ok(AllowedOrigins(patterns))
}

/// `post_body_limit` in bytes: absent -> 1 MiB; 0 stays 0 (the server's hard cap only).
fn post_body_limit(obj: &Obj) -> Result<usize> {
    Ok(match obj.opt_u64("post_body_limit")? {
        Some(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
        None => DEFAULT_POST_BODY_LIMIT,
    })
}

fn load_topics_api(obj: &Obj, cx: &mut Loader) -> Result<TopicsApiService> {
    obj.keys(&["type", "realm", "options"], &[], &mut cx.ignored)?;
    let realm_node = obj.required("realm")?;
    let realm = realm_node.str()?;
    if !cx.worker_realms.iter().any(|r| r.name == realm) {
        return Err(realm_node.error(format!("realm \"{realm}\" is not defined in this worker")));
    }
    let options = obj.required("options")?.object()?;
    options.keys(
        &["bearer_token", "require_ip", "post_body_limit"],
        &[],
        &mut cx.ignored,
    )?;
    let bearer_token = options
        .get("bearer_token")
        .map(|n| auth::secret(&n, cx))
        .transpose()?;
    let require_ip = options
        .get("require_ip")
        .map(|n| load_networks(&n))
        .transpose()?;
    if bearer_token.is_none() && require_ip.is_none() {
        return Err(ConfigError::new(
            options.path.clone(),
            "a topics API needs bearer_token, require_ip or both",
        ));
    }
    Ok(TopicsApiService {
        realm: realm.to_string(),
        bearer_token,
        require_ip,
        post_body_limit: post_body_limit(&options)?,
    })
}

fn load_webhook(obj: &Obj, cx: &mut Loader) -> Result<WebhookService> {
    obj.keys(&["type", "realm", "role", "options"], &[], &mut cx.ignored)?;
    let (realm, role) = realm_and_role(obj, cx)?;
    let options = obj.required("options")?.object()?;
    options.keys(WEBHOOK_OPTIONS, &[], &mut cx.ignored)?;

    let topic_node = options.required("topic")?;
    let topic = topic_node.str()?;
    let strict = realm.uri_check == UriCheck::Strict;
    if !uri::is_valid(topic, strict, MatchPolicy::Exact) {
        let check = if strict {
            " (the realm checks URIs strictly)"
        } else {
            ""
        };
        return Err(topic_node.error(format!("topic \"{topic}\" is not a valid URI{check}")));
    }
    if uri::is_reserved(topic) {
        return Err(topic_node.error(format!(
            "topic \"{topic}\" is reserved for the router (wamp.*)"
        )));
    }
    let text = |key: &str, default: &str| -> Result<String> {
        Ok(options.opt_str(key)?.unwrap_or(default).to_string())
    };
    let methods = match options.get("methods") {
        Some(node) => load_methods(&node)?,
        None => vec!["POST".to_string()],
    };
    let decode_json = match options.get("decode") {
        Some(node) => {
            let value = node.str()?;
            if value != "json" {
                return Err(node.error(format!("expected \"json\", found \"{value}\"")));
            }
            true
        }
        None => false,
    };
    Ok(WebhookService {
        realm: realm.name.clone(),
        role,
        topic: topic.to_string(),
        success_response: text("success_response", "OK")?,
        error_response: text("error_response", "NOT OK")?,
        github_secret: options
            .get("github_secret")
            .map(|n| auth::secret(&n, cx))
            .transpose()?,
        post_body_limit: post_body_limit(&options)?,
        methods,
        decode_json,
        allowed_origins: load_allowed_origins(&options)?,
    })
}

/// `methods`: a non-empty list of `POST` and/or `PUT` (any case), stored upper-case.
fn load_methods(node: &Node) -> Result<Vec<String>> {
    let items = node.array()?;
    if items.is_empty() {
        return Err(node.error("at least one method is required (POST, PUT)"));
    }
    let mut methods: Vec<String> = Vec::new();
    for item in items {
        let written = item.str()?;
        let method = written.to_ascii_uppercase();
        if method != "POST" && method != "PUT" {
            return Err(item.error(format!("expected POST or PUT, found \"{written}\"")));
        }
        if methods.contains(&method) {
            return Err(item.error("method listed twice"));
        }
        methods.push(method);
    }
    Ok(methods)
}

/// A list of networks (`require_ip`, `trusted_proxies`); each entry's error names its index.
pub(crate) fn load_networks(node: &Node) -> Result<Vec<IpNet>> {
    node.array()?
        .iter()
        .map(|item| parse_network(item.str()?).map_err(|why| item.error(why)))
        .collect()
}

/// One network: a plain address (`127.0.0.1` -> /32, `::1` -> /128), CIDR (`10.0.0.0/8`,
/// `fe80::/10`) or netmask form (`192.168.1.1/255.255.255.0` -> /24). Host bits are cleared,
/// so `192.168.1.1/24` is `192.168.1.0/24`.
pub(crate) fn parse_network(text: &str) -> std::result::Result<IpNet, String> {
    let not_a_network = || {
        format!(
            "\"{text}\" is not an IP address or network (expected e.g. \"10.0.0.0/8\", \"127.0.0.1\", \"192.168.1.0/255.255.255.0\", \"fe80::/10\")"
        )
    };
    let Some((addr, suffix)) = text.split_once('/') else {
        return text
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| not_a_network());
    };
    let addr: IpAddr = addr.parse().map_err(|_| not_a_network())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
        let prefix = suffix
            .parse::<u8>()
            .ok()
            .filter(|&p| p <= max)
            .ok_or_else(|| {
                format!("\"{text}\": prefix length {suffix} is out of range (0..={max})")
            })?;
        let net = IpNet::new(addr, prefix).map_err(|_| not_a_network())?;
        return Ok(net.trunc());
    }
    let mask: IpAddr = suffix.parse().map_err(|_| not_a_network())?;
    if mask.is_ipv4() != addr.is_ipv4() {
        return Err(format!(
            "\"{text}\": the netmask is not of the address's IP version"
        ));
    }
    let net = IpNet::with_netmask(addr, mask)
        .map_err(|_| format!("\"{text}\": netmask {mask} is not contiguous"))?;
    Ok(net.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{Config, TransportKind};

    const T: &str = "workers[0].transports[0]";
    const REALMS: &str = r#"{"name": "realm1", "roles": [{"name": "anonymous"}, {"name": "backend"}, {"name": "dynamic", "authorizer": "com.example.authorize"}]},
        {"name": "strict", "options": {"uri_check": "strict"}, "roles": [{"name": "hook"}]}"#;

    fn web(paths: &str) -> String {
        web_worker(REALMS, paths)
    }

    /// A config with one path `/p` of the given JSON.
    fn one(path: &str) -> String {
        web(&format!(r#""p": {path}"#))
    }

    fn path_of(config: &Config) -> PathService {
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("expected web")
        };
        paths["/p"].clone()
    }

    /// The service of one path `/p` of `kind` with `role` and `options`.
    fn service(kind: &str, role: &str, options: &str) -> PathService {
        let json = one(&format!(
            r#"{{"type": "{kind}", "realm": "realm1", "role": "{role}", "options": {options}}}"#
        ));
        path_of(&load(&json))
    }

    fn publisher(options: &str) -> PublisherService {
        match service("publisher", "anonymous", options) {
            PathService::Publisher(p) => p,
            other => panic!("expected a publisher, got {other:?}"),
        }
    }

    fn caller(options: &str) -> CallerService {
        match service("caller", "backend", options) {
            PathService::Caller(c) => c,
            other => panic!("expected a caller, got {other:?}"),
        }
    }

    fn webhook(options: &str) -> WebhookService {
        match service("webhook", "anonymous", options) {
            PathService::Webhook(w) => w,
            other => panic!("expected a webhook, got {other:?}"),
        }
    }

    fn publisher_error(options: &str) -> String {
        error(&one(&format!(
            r#"{{"type": "publisher", "realm": "realm1", "role": "anonymous", "options": {options}}}"#
        )))
    }

    fn caller_error(options: &str) -> String {
        error(&one(&format!(
            r#"{{"type": "caller", "realm": "realm1", "role": "anonymous", "options": {options}}}"#
        )))
    }

    fn webhook_error(options: &str) -> String {
        error(&one(&format!(
            r#"{{"type": "webhook", "realm": "realm1", "role": "anonymous", "options": {options}}}"#
        )))
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn publisher_defaults() {
        for kind in ["publisher", "pusher"] {
            let json = one(&format!(
                r#"{{"type": "{kind}", "realm": "realm1", "role": "anonymous"}}"#
            ));
            let PathService::Publisher(p) = path_of(&load(&json)) else {
                panic!("{kind} should load as a publisher")
            };
            assert_eq!((p.realm.as_str(), p.role.as_str()), ("realm1", "anonymous"));
            let o = &p.options;
            assert!(o.signing.is_none());
            assert_eq!(o.post_body_limit, 1_048_576);
            assert_eq!(o.timestamp_delta_limit, Some(Duration::from_secs(300)));
            assert_eq!(o.require_ip, None);
            assert!(!o.require_tls && !o.debug && !o.strict_status);
            assert_eq!(o.success_status, 202);
        }
        // An empty options object gives the same defaults.
        let p = publisher("{}");
        assert_eq!(
            (p.options.post_body_limit, p.options.success_status),
            (1_048_576, 202)
        );
    }

    #[test]
    fn publisher_options() {
        let p = publisher(
            r#"{"key": "foobar", "secret": "secret123", "post_body_limit": 8192,
                "timestamp_delta_limit": 10, "require_ip": ["127.0.0.1", "10.0.0.0/8"],
                "require_tls": true, "debug": true, "success_status": 200, "strict_status": true}"#,
        );
        let o = &p.options;
        let signing = o.signing.as_ref().unwrap();
        assert_eq!(
            (signing.key.as_str(), signing.secret.expose()),
            ("foobar", "secret123")
        );
        assert_eq!(o.post_body_limit, 8192);
        assert_eq!(o.timestamp_delta_limit, Some(Duration::from_secs(10)));
        assert_eq!(
            o.require_ip,
            Some(vec![net("127.0.0.1/32"), net("10.0.0.0/8")])
        );
        assert!(o.require_tls && o.debug && o.strict_status);
        assert_eq!(o.success_status, 200);

        // 0 means "no limit of its own" and stays 0.
        assert_eq!(
            publisher(r#"{"post_body_limit": 0}"#)
                .options
                .post_body_limit,
            0
        );
        // As Crossbar: an empty require_ip restricts nothing.
        assert_eq!(publisher(r#"{"require_ip": []}"#).options.require_ip, None);
        assert_eq!(
            publisher(r#"{"success_status": 202}"#)
                .options
                .success_status,
            202
        );
    }

    #[test]
    fn caller_defaults_and_timeout() {
        let c = caller("{}");
        assert_eq!((c.realm.as_str(), c.role.as_str()), ("realm1", "backend"));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.options.success_status, 200);
        assert_eq!(c.options.post_body_limit, 1_048_576);
        let json = one(r#"{"type": "caller", "realm": "realm1", "role": "backend"}"#);
        let PathService::Caller(c) = path_of(&load(&json)) else {
            panic!("expected a caller")
        };
        assert_eq!(
            (c.timeout, c.options.success_status),
            (Duration::from_secs(30), 200)
        );

        let c = caller(r#"{"timeout": 1500, "success_status": 202, "key": "k", "secret": "s"}"#);
        assert_eq!(c.timeout, Duration::from_millis(1500));
        assert_eq!(c.options.success_status, 202);
        assert_eq!(c.options.signing.unwrap().key, "k");

        let at = format!("{T}.paths.p.options");
        assert_eq!(
            caller_error(r#"{"timeout": 0}"#),
            format!("{at}.timeout: must be at least 1, found 0")
        );
        assert_eq!(
            caller_error(r#"{"timeout": 2.5}"#),
            format!("{at}.timeout: expected a non-negative integer, found a fractional number")
        );
        // `timeout` belongs to callers only.
        assert!(publisher_error(r#"{"timeout": 100}"#).starts_with(&format!(
            "{at}.timeout: unknown key (allowed here: key, secret, post_body_limit"
        )));
        assert!(
            caller_error(r#"{"topic": "x"}"#)
                .ends_with("success_status, strict_status, allowed_origins, timeout)")
        );
    }

    #[test]
    fn realm_and_role_are_required_and_must_exist() {
        let at = format!("{T}.paths.p");
        for kind in ["publisher", "pusher", "caller", "webhook"] {
            assert_eq!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "role": "anonymous"}}"#
                ))),
                format!("{at}.realm: required key is missing"),
                "{kind}"
            );
            assert_eq!(
                error(&one(&format!(r#"{{"type": "{kind}", "realm": "realm1"}}"#))),
                format!("{at}.role: required key is missing"),
                "{kind}"
            );
            assert_eq!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "realm": "realm2", "role": "anonymous"}}"#
                ))),
                format!(
                    "{at}.realm: realm \"realm2\" is not defined in this worker (it defines realm1, strict)"
                ),
                "{kind}"
            );
            assert_eq!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "realm": "realm1", "role": "dynamic"}}"#
                ))),
                format!(
                    "{at}.role: role \"dynamic\" is dynamically authorized (authorizer); an HTTP bridge path needs a role with permissions"
                ),
                "{kind}"
            );
            // The role must be one of that realm's: `hook` exists, but in realm `strict`.
            assert_eq!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "realm": "realm1", "role": "hook"}}"#
                ))),
                format!("{at}.role: role \"hook\" is not defined in realm \"realm1\""),
                "{kind}"
            );
            assert_eq!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "realm": 1, "role": "anonymous"}}"#
                ))),
                format!("{at}.realm: expected a string, found a number"),
                "{kind}"
            );
            assert!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "realm": "realm1", "role": "anonymous", "directory": "."}}"#
                )))
                .starts_with(&format!(
                    "{at}.directory: unknown key (allowed here: type, realm, role, options)"
                )),
                "{kind}"
            );
            assert_eq!(
                error(&one(&format!(
                    r#"{{"type": "{kind}", "realm": "realm1", "role": "anonymous", "options": []}}"#
                ))),
                format!("{at}.options: expected an object, found an array"),
                "{kind}"
            );
        }
        // Realms of another worker do not count.
        let json = r#"{"workers": [
            {"type": "router", "realms": [{"name": "other", "roles": [{"name": "anonymous"}]}]},
            {"type": "router", "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 1},
                "paths": {"/": {"type": "pusher", "realm": "other", "role": "anonymous"}}}]}]}"#;
        assert_eq!(
            error(json),
            "workers[1].transports[0].paths./.realm: realm \"other\" is not defined in this worker (it defines none)"
        );
    }

    #[test]
    fn bridge_option_errors() {
        let at = format!("{T}.paths.p.options");
        assert_eq!(
            publisher_error(r#"{"key": "foobar"}"#),
            format!("{at}.secret: required when \"key\" is given (key and secret go together)")
        );
        assert_eq!(
            publisher_error(r#"{"secret": "secret123"}"#),
            format!("{at}.key: required when \"secret\" is given (key and secret go together)")
        );
        assert_eq!(
            publisher_error(r#"{"key": "", "secret": "s"}"#),
            format!("{at}.key: a key must not be empty")
        );
        assert_eq!(
            publisher_error(r#"{"key": "k", "secret": ""}"#),
            format!("{at}.secret: a secret must not be empty")
        );
        assert_eq!(
            publisher_error(r#"{"post_body_limit": -1}"#),
            format!(
                "{at}.post_body_limit: expected a non-negative integer, found a negative number"
            )
        );
        assert_eq!(
            publisher_error(r#"{"post_body_limit": "1MB"}"#),
            format!("{at}.post_body_limit: expected a non-negative integer, found a string")
        );
        assert_eq!(
            publisher_error(r#"{"timestamp_delta_limit": 86401}"#),
            format!(
                "{at}.timestamp_delta_limit: must be at most 86400 (a day; 0 turns the window off), found 86401"
            )
        );
        assert_eq!(
            publisher_error(r#"{"success_status": 201}"#),
            format!("{at}.success_status: expected 200 or 202, found 201")
        );
        assert_eq!(
            caller_error(r#"{"success_status": 204}"#),
            format!("{at}.success_status: expected 200 or 202, found 204")
        );
        assert_eq!(
            publisher_error(r#"{"success_status": "200"}"#),
            format!("{at}.success_status: expected a non-negative integer, found a string")
        );
        for key in ["require_tls", "debug", "strict_status"] {
            assert_eq!(
                publisher_error(&format!(r#"{{"{key}": 1}}"#)),
                format!("{at}.{key}: expected true or false, found a number")
            );
        }
        assert_eq!(
            publisher_error(r#"{"require_ip": ["127.0.0.1", "10.0.0.0/8", "bogus"]}"#),
            format!(
                "{at}.require_ip[2]: \"bogus\" is not an IP address or network (expected e.g. \"10.0.0.0/8\", \"127.0.0.1\", \"192.168.1.0/255.255.255.0\", \"fe80::/10\")"
            )
        );
        assert_eq!(
            publisher_error(r#"{"require_ip": ["10.0.0.0/8", "192.168.1.1/255.0.255.0"]}"#),
            format!(
                "{at}.require_ip[1]: \"192.168.1.1/255.0.255.0\": netmask 255.0.255.0 is not contiguous"
            )
        );
        assert_eq!(
            publisher_error(r#"{"require_ip": "127.0.0.1"}"#),
            format!("{at}.require_ip: expected an array, found a string")
        );
        assert_eq!(
            publisher_error(r#"{"require_ip": [1]}"#),
            format!("{at}.require_ip[0]: expected a string, found a number")
        );
        assert_eq!(
            publisher_error(r#"{"require_ip": ["10.0.0.0/33"]}"#),
            format!(
                "{at}.require_ip[0]: \"10.0.0.0/33\": prefix length 33 is out of range (0..=32)"
            )
        );
        assert_eq!(
            publisher_error(r#"{"reqire_ip": []}"#),
            format!(
                "{at}.reqire_ip: unknown key (allowed here: key, secret, post_body_limit, timestamp_delta_limit, require_ip, require_tls, debug, success_status, strict_status, allowed_origins)"
            )
        );
    }

    #[test]
    fn bridge_secrets_from_the_environment_never_print() {
        let env = |name: &str| (name == "PUSH_SECRET").then(|| "env-push-secret".to_string());
        let json = web(
            r#""push": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                        "options": {"key": "foobar", "secret": "${PUSH_SECRET}"}},
               "call": {"type": "caller", "realm": "realm1", "role": "backend",
                        "options": {"key": "k2", "secret": "literal-call-secret"}},
               "hook": {"type": "webhook", "realm": "realm1", "role": "anonymous",
                        "options": {"topic": "com.hook", "github_secret": "gh-hook-secret"}}"#,
        );
        let config = load_str_with_env(&json, &env).unwrap();
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("expected web")
        };
        let PathService::Publisher(p) = &paths["/push"] else {
            panic!("expected a publisher")
        };
        assert_eq!(
            p.options.signing.as_ref().unwrap().secret.expose(),
            "env-push-secret"
        );
        let PathService::Webhook(w) = &paths["/hook"] else {
            panic!("expected a webhook")
        };
        assert_eq!(w.github_secret.as_ref().unwrap().expose(), "gh-hook-secret");

        let secrets = ["env-push-secret", "literal-call-secret", "gh-hook-secret"];
        let shown = format!("{config:?}\n{}", crate::config::summary(&config));
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
        }
        assert!(shown.contains("foobar") && shown.contains("k2"));

        let err = |json: &str| load_str_with_env(json, &env).unwrap_err().to_string();
        assert_eq!(
            err(&json.replace("${PUSH_SECRET}", "$NOPE")),
            format!("{T}.paths.push.options.secret: environment variable NOPE is not set")
        );
        // Errors next to or about a secret do not carry it.
        for bad in [
            json.replace(r#""key": "k2", "#, ""),
            json.replace(r#""literal-call-secret""#, r#"["literal-call-secret"]"#),
            json.replace(r#""gh-hook-secret""#, r#"{"s": "gh-hook-secret"}"#),
            json.replace(r#""role": "backend""#, r#""role": "nobody""#),
            json.replace("com.hook", "com hook"),
        ] {
            let message = err(&bad);
            for secret in secrets {
                assert!(!message.contains(secret), "{message}");
            }
        }
    }

    #[test]
    fn webhook_defaults_and_options() {
        let w = webhook(r#"{"topic": "com.example.hook"}"#);
        assert_eq!((w.realm.as_str(), w.role.as_str()), ("realm1", "anonymous"));
        assert_eq!(w.topic, "com.example.hook");
        assert_eq!(
            (w.success_response.as_str(), w.error_response.as_str()),
            ("OK", "NOT OK")
        );
        assert!(w.github_secret.is_none());
        assert_eq!(w.post_body_limit, 1_048_576);
        assert_eq!(w.methods, ["POST"]);
        assert!(!w.decode_json);

        let w = webhook(
            r#"{"topic": "com.example.hook", "success_response": "yes", "error_response": "no",
                "github_secret": "gh", "post_body_limit": 0, "methods": ["put", "Post"], "decode": "json"}"#,
        );
        assert_eq!(
            (w.success_response.as_str(), w.error_response.as_str()),
            ("yes", "no")
        );
        assert_eq!(w.github_secret.unwrap().expose(), "gh");
        assert_eq!(w.post_body_limit, 0);
        assert_eq!(w.methods, ["PUT", "POST"]);
        assert!(w.decode_json);
    }

    #[test]
    fn webhook_errors() {
        let at = format!("{T}.paths.p.options");
        assert_eq!(
            error(&one(
                r#"{"type": "webhook", "realm": "realm1", "role": "anonymous"}"#
            )),
            format!("{at}: required key is missing")
        );
        assert_eq!(
            webhook_error("{}"),
            format!("{at}.topic: required key is missing")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "com..hook"}"#),
            format!("{at}.topic: topic \"com..hook\" is not a valid URI")
        );
        assert_eq!(
            webhook_error(r#"{"topic": ""}"#),
            format!("{at}.topic: topic \"\" is not a valid URI")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "wamp.session.on_join"}"#),
            format!(
                "{at}.topic: topic \"wamp.session.on_join\" is reserved for the router (wamp.*)"
            )
        );
        // The realm's uri_check applies.
        assert_eq!(
            error(&one(
                r#"{"type": "webhook", "realm": "strict", "role": "hook", "options": {"topic": "com.Example"}}"#
            )),
            format!(
                "{at}.topic: topic \"com.Example\" is not a valid URI (the realm checks URIs strictly)"
            )
        );
        let json = one(
            r#"{"type": "webhook", "realm": "strict", "role": "hook", "options": {"topic": "com.example"}}"#,
        );
        assert!(matches!(path_of(&load(&json)), PathService::Webhook(_)));

        assert_eq!(
            webhook_error(r#"{"topic": "t", "methods": []}"#),
            format!("{at}.methods: at least one method is required (POST, PUT)")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "methods": ["POST", "GET"]}"#),
            format!("{at}.methods[1]: expected POST or PUT, found \"GET\"")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "methods": ["post", "POST"]}"#),
            format!("{at}.methods[1]: method listed twice")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "methods": "POST"}"#),
            format!("{at}.methods: expected an array, found a string")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "decode": "xml"}"#),
            format!("{at}.decode: expected \"json\", found \"xml\"")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "decode": true}"#),
            format!("{at}.decode: expected a string, found a boolean")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "success_response": 1}"#),
            format!("{at}.success_response: expected a string, found a number")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "github_secret": ""}"#),
            format!("{at}.github_secret: a secret must not be empty")
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "post_body_limit": -5}"#),
            format!(
                "{at}.post_body_limit: expected a non-negative integer, found a negative number"
            )
        );
        assert_eq!(
            webhook_error(r#"{"topic": "t", "key": "k"}"#),
            format!(
                "{at}.key: unknown key (allowed here: topic, success_response, error_response, github_secret, post_body_limit, methods, decode, allowed_origins)"
            )
        );
    }

    #[test]
    fn networks() {
        let ok = |text: &str| parse_network(text).unwrap();
        assert_eq!(ok("127.0.0.1"), net("127.0.0.1/32"));
        assert_eq!(ok("::1"), net("::1/128"));
        assert_eq!(ok("10.0.0.0/8"), net("10.0.0.0/8"));
        assert_eq!(ok("10.1.2.3/8"), net("10.0.0.0/8"));
        assert_eq!(ok("fe80::/10"), net("fe80::/10"));
        assert_eq!(ok("0.0.0.0/0"), net("0.0.0.0/0"));
        assert_eq!(ok("::/0"), net("::/0"));
        assert_eq!(ok("2001:db8::1/64"), net("2001:db8::/64"));
        // Netmask form.
        assert_eq!(ok("192.168.1.1/255.255.255.0"), net("192.168.1.0/24"));
        assert_eq!(ok("10.0.0.0/255.0.0.0"), net("10.0.0.0/8"));
        assert_eq!(ok("172.16.5.4/255.240.0.0"), net("172.16.0.0/12"));
        assert_eq!(ok("10.0.0.1/255.255.255.255"), net("10.0.0.1/32"));
        assert_eq!(ok("10.0.0.1/255.255.255.128"), net("10.0.0.0/25"));
        assert_eq!(ok("1.2.3.4/0.0.0.0"), net("0.0.0.0/0"));
        assert_eq!(ok("fe80::1/ffc0::"), net("fe80::/10"));
        assert!(
            ok("192.168.1.1/255.255.255.0").contains(&"192.168.1.200".parse::<IpAddr>().unwrap())
        );

        let err = |text: &str| parse_network(text).unwrap_err();
        for bad in [
            "",
            "localhost",
            "10.0.0",
            "10.0.0.0/",
            "/8",
            "10.0.0.0/8/8",
            "10.0.0.0/-1",
            "10.0.0.0/x",
            " 10.0.0.1",
            "256.0.0.1",
        ] {
            assert!(
                err(bad).contains("is not an IP address or network"),
                "{bad}: {}",
                err(bad)
            );
        }
        assert_eq!(
            err("192.168.1.1/255.255.0.255"),
            "\"192.168.1.1/255.255.0.255\": netmask 255.255.0.255 is not contiguous"
        );
        assert_eq!(
            err("10.0.0.0/0.255.255.255"),
            "\"10.0.0.0/0.255.255.255\": netmask 0.255.255.255 is not contiguous"
        );
        assert_eq!(
            err("fe80::/ff00:ff00::"),
            "\"fe80::/ff00:ff00::\": netmask ff00:ff00:: is not contiguous"
        );
        assert_eq!(
            err("10.0.0.0/ffff::"),
            "\"10.0.0.0/ffff::\": the netmask is not of the address's IP version"
        );
        assert_eq!(
            err("::1/129"),
            "\"::1/129\": prefix length 129 is out of range (0..=128)"
        );
        assert_eq!(
            err("10.0.0.0/300"),
            "\"10.0.0.0/300\": prefix length 300 is out of range (0..=32)"
        );
    }

    #[test]
    fn bridge_paths_beside_websocket_paths() {
        let config = load(&web(
            r#""ws": {"type": "websocket"}, "push": {"type": "pusher", "realm": "realm1", "role": "anonymous"},
               "call": {"type": "caller", "realm": "realm1", "role": "backend"},
               "hook": {"type": "webhook", "realm": "strict", "role": "hook", "options": {"topic": "gh.push"}}"#,
        ));
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("expected web")
        };
        assert!(matches!(paths["/ws"], PathService::WebSocket(_)));
        assert!(matches!(paths["/push"], PathService::Publisher(_)));
        assert!(matches!(paths["/call"], PathService::Caller(_)));
        assert!(matches!(paths["/hook"], PathService::Webhook(_)));
    }
}
