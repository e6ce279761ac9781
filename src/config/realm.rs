//! `realms[]`: realm names and options, roles, and their permissions in both Crossbar shapes.
//!
//! Permission URIs are checked here against the rules of their match policy, so a typo in a
//! permission fails at load rather than silently never matching.

use crate::config::error::ConfigError;
use crate::config::http_callee::load_http_callees;
use crate::config::http_subscriber::load_http_subscribers;
use crate::config::loader::Loader;
use crate::config::model::{
    Allow, Disclose, PermissionConfig, RealmConfig, RoleConfig, TopicDefinition, UriCheck,
};
use crate::config::node::{Node, Obj, Result};
use crate::config::store::load_store;
use crate::config::topic::parse_topic_with_env;
use crate::wamp::uri::{self, MatchPolicy};

/// The actions of `allow`, which the old permission shape writes at the top level.
const ACTIONS: [&str; 4] = ["call", "register", "publish", "subscribe"];

pub(crate) fn load_realm(node: &Node, cx: &mut Loader) -> Result<RealmConfig> {
    let obj = node.object()?;
    obj.keys(
        &[
            "name",
            "roles",
            "options",
            "topics",
            "store",
            "http_callees",
            "http_subscribers",
            "rlinks",
            "stats",
            "trace",
        ],
        &["id"],
        &mut cx.ignored,
    )?;
    crate::config::not_run::realm_parts(&obj, cx)?;

    let name_node = obj.required("name")?;
    let name = name_node.str()?;
    if !is_loose_uri(name) {
        return Err(name_node.error(format!("realm name \"{name}\" is not a valid URI")));
    }
    if let Some(first) = cx.realm_paths.get(name) {
        return Err(name_node.error(format!("realm \"{name}\" is already defined at {first}")));
    }
    cx.realm_paths
        .insert(name.to_string(), name_node.path.clone());

    let (uri_check, meta_api) = match obj.get("options") {
        Some(options) => load_realm_options(&options.object()?, cx)?,
        None => (UriCheck::default(), true),
    };

    let mut roles: Vec<RoleConfig> = Vec::new();
    if let Some(list) = obj.get("roles") {
        for item in list.array()? {
            let role = load_role(&item, cx)?;
            if roles.iter().any(|r| r.name == role.name) {
                return Err(ConfigError::new(
                    format!("{}.name", item.path),
                    format!("role \"{}\" is defined twice in this realm", role.name),
                ));
            }
            roles.push(role);
        }
    }
    let topics = match obj.get("topics") {
        Some(list) => load_topics(&list, &roles, cx)?,
        None => Vec::new(),
    };
    let http_subscribers = match obj.get("http_subscribers") {
        Some(list) => {
            let strict = uri_check == UriCheck::Strict;
            load_http_subscribers(&list, &roles, strict, cx)?
        }
        None => Vec::new(),
    };
    let (store, event_history, call_queue) = match obj.get("store") {
        Some(node) => {
            let loaded = load_store(&node, name, uri_check, cx)?;
            (Some(loaded.store), loaded.event_history, loaded.call_queue)
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let http_callees = match obj.get("http_callees") {
        Some(list) => load_http_callees(&list, &roles, cx)?,
        None => Vec::new(),
    };
    Ok(RealmConfig {
        name: name.to_string(),
        roles,
        uri_check,
        meta_api,
        topics,
        store,
        event_history,
        call_queue,
        http_callees,
        http_subscribers,
    })
}

/// `topics[]`: Streams topic definitions (see `config::topic`); names unique in the realm,
/// `publisher.role` one of the realm's roles.
fn load_topics(list: &Node, roles: &[RoleConfig], cx: &Loader) -> Result<Vec<TopicDefinition>> {
    let mut topics: Vec<TopicDefinition> = Vec::new();
    for item in list.array()? {
        let topic = parse_topic_with_env(item.value, &item.path, cx.env)?;
        if topics.iter().any(|t| t.topic.name == topic.name) {
            return Err(ConfigError::new(
                format!("{}.name", item.path),
                format!("topic \"{}\" is defined twice in this realm", topic.name),
            ));
        }
        if let Some(role) = &topic.role {
            let message = match roles.iter().find(|r| &r.name == role) {
                None if role == crate::config::TRUSTED_ROLE => String::new(),
                None => format!("role \"{role}\" is not defined in this realm"),
                Some(r) if r.authorizer.is_some() => format!(
                    "role \"{role}\" is dynamically authorized (authorizer); a poller needs a role with permissions"
                ),
                Some(_) => String::new(),
            };
            if !message.is_empty() {
                return Err(ConfigError::new(
                    format!("{}.publisher.role", item.path),
                    message,
                ));
            }
        }
        topics.push(TopicDefinition {
            topic,
            source: item.value.clone(),
        });
    }
    Ok(topics)
}

/// `options`: the URI check and whether the meta API is on.
fn load_realm_options(obj: &Obj, cx: &mut Loader) -> Result<(UriCheck, bool)> {
    // `event_dispatching_chunk_size` tunes Crossbar's single-threaded fan-out.
    obj.keys(
        &["uri_check", "enable_meta_api", "bridge_meta_api"],
        &["event_dispatching_chunk_size"],
        &mut cx.ignored,
    )?;
    if obj.opt_bool("bridge_meta_api")? == Some(true) {
        return Err(obj.key_error("bridge_meta_api", "bridging the meta API is not supported"));
    }
    let meta_api = obj.opt_bool("enable_meta_api")?.unwrap_or(true);
    let uri_check = match obj.get("uri_check") {
        Some(node) => match node.one_of(&["loose", "strict"])? {
            "strict" => UriCheck::Strict,
            _ => UriCheck::Loose,
        },
        None => UriCheck::default(),
    };
    Ok((uri_check, meta_api))
}

fn load_role(node: &Node, cx: &mut Loader) -> Result<RoleConfig> {
    let obj = node.object()?;
    obj.keys(
        &["name", "permissions", "authorizer", "allow-by-default"],
        &["id"],
        &mut cx.ignored,
    )?;
    let name_node = obj.required("name")?;
    let name = name_node.str()?;
    if name.is_empty() {
        return Err(name_node.error("a role name must not be empty"));
    }
    let permissions = match obj.get("permissions") {
        Some(list) => list
            .array()?
            .iter()
            .map(|p| load_permission(p, cx))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let authorizer = match obj.get("authorizer") {
        Some(node) => {
            let procedure = node.str()?;
            if !uri::is_valid(procedure, false, MatchPolicy::Exact) || uri::is_reserved(procedure) {
                return Err(node.error(format!(
                    "authorizer \"{procedure}\" is not a valid procedure URI"
                )));
            }
            if obj.has("permissions") {
                return Err(obj.key_error(
                    "authorizer",
                    "a role has either permissions or an authorizer, not both",
                ));
            }
            Some(procedure.to_string())
        }
        None => None,
    };
    let allow_by_default = obj.opt_bool("allow-by-default")?.unwrap_or(false);
    if allow_by_default && authorizer.is_some() {
        return Err(obj.key_error(
            "allow-by-default",
            "a role with an authorizer lets the authorizer decide everything",
        ));
    }
    Ok(RoleConfig {
        name: name.to_string(),
        permissions,
        allow_by_default,
        authorizer,
    })
}

fn load_permission(node: &Node, cx: &mut Loader) -> Result<PermissionConfig> {
    let obj = node.object()?;
    obj.reject(&[(
        "validate",
        "payload validation (validate) is not supported yet",
    )])?;
    let mut known = vec!["uri", "match", "allow", "disclose"];
    known.extend(ACTIONS);
    obj.keys(&known, &["cache"], &mut cx.ignored)?;
    let old_style = ACTIONS.iter().find(|action| obj.has(action));
    if obj.has("allow")
        && let Some(action) = old_style
    {
        return Err(obj.key_error(
            action,
            "cannot mix \"allow\" with the old top-level action keys (call, register, publish, subscribe)",
        ));
    }

    let match_policy = match obj.get("match") {
        Some(node) => Some(match node.one_of(&["exact", "prefix", "wildcard"])? {
            "exact" => MatchPolicy::Exact,
            "prefix" => MatchPolicy::Prefix,
            _ => MatchPolicy::Wildcard,
        }),
        None => None,
    };
    let uri_node = obj.required("uri")?;
    let uri = uri_node.str()?;
    check_permission_uri(uri, match_policy).map_err(|why| uri_node.error(why))?;

    let allow = match obj.get("allow") {
        Some(allow) => {
            let allow = allow.object()?;
            allow.keys(&ACTIONS, &[], &mut cx.ignored)?;
            read_actions(&allow)?
        }
        // The old shape, or no actions at all (then everything is denied).
        None => read_actions(&obj)?,
    };
    let disclose = match obj.get("disclose") {
        Some(node) => {
            let disclose = node.object()?;
            disclose.keys(&["caller", "publisher"], &[], &mut cx.ignored)?;
            Disclose {
                caller: disclose.opt_bool("caller")?,
                publisher: disclose.opt_bool("publisher")?,
            }
        }
        None => Disclose::default(),
    };
    Ok(PermissionConfig {
        uri: uri.to_string(),
        match_policy,
        allow,
        disclose,
    })
}

/// Reads the four actions from `obj` (an `allow` object, or the permission itself in the old
/// shape); absent actions are denied.
fn read_actions(obj: &Obj) -> Result<Allow> {
    let action = |key| Ok::<bool, _>(obj.opt_bool(key)?.unwrap_or(false));
    Ok(Allow {
        call: action("call")?,
        register: action("register")?,
        publish: action("publish")?,
        subscribe: action("subscribe")?,
    })
}

/// Loose URI: `^([^\s\.#]+\.)*([^\s\.#]+)$` (non-empty components, no whitespace or `#`).
pub(crate) fn is_loose_uri(uri: &str) -> bool {
    uri.split('.')
        .all(|component| !component.is_empty() && component.chars().all(is_uri_char))
}

fn is_uri_char(c: char) -> bool {
    !c.is_whitespace() && c != '#'
}

/// Checks a permission URI against its policy; the error says why it does not fit.
fn check_permission_uri(uri: &str, policy: Option<MatchPolicy>) -> std::result::Result<(), String> {
    let fits = match policy {
        Some(MatchPolicy::Exact) => is_loose_uri(uri),
        // "" grants everything; "com.app." and "com.app" both cover com.app.x.
        Some(MatchPolicy::Prefix) => {
            uri.is_empty() || is_loose_uri(uri.strip_suffix('.').unwrap_or(uri))
        }
        // Empty components match any one component.
        Some(MatchPolicy::Wildcard) => uri.chars().all(is_uri_char),
        // Starred form: `*` alone or trailing = prefix, `*` inside = any one component,
        // no star = exact (then it must be a plain URI).
        None => {
            !uri.is_empty()
                && uri.chars().all(is_uri_char)
                && (uri.contains('*') || is_loose_uri(uri))
        }
    };
    if fits {
        return Ok(());
    }
    Err(match policy {
        Some(MatchPolicy::Exact) => format!("\"{uri}\" is not a valid URI for match exact"),
        Some(MatchPolicy::Prefix) => format!("\"{uri}\" is not a valid URI prefix"),
        Some(MatchPolicy::Wildcard) => {
            format!("\"{uri}\" is not a valid wildcard URI (whitespace and \"#\" are not allowed)")
        }
        None => format!(
            "\"{uri}\" is not a valid permission URI (use dotted components without whitespace or \"#\"; \"*\" matches any)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{load_str_with_env, testing::*};

    fn role_config(permissions: &str) -> String {
        worker(
            &format!(
                r#"{{"name": "realm1", "roles": [{{"name": "r", "permissions": [{permissions}]}}]}}"#
            ),
            "",
        )
    }

    fn permission(json: &str) -> PermissionConfig {
        let config = load(&role_config(json));
        config.workers[0].realms[0].roles[0].permissions[0].clone()
    }

    fn permission_error(json: &str) -> String {
        error(&role_config(json))
    }

    const P: &str = "workers[0].realms[0].roles[0].permissions[0]";

    #[test]
    fn current_permission_shape() {
        let p = permission(
            r#"{"uri": "com.app.", "match": "prefix", "allow": {"call": true, "subscribe": true},
                "disclose": {"caller": true}, "cache": false}"#,
        );
        assert_eq!(
            p,
            PermissionConfig {
                uri: "com.app.".into(),
                match_policy: Some(MatchPolicy::Prefix),
                allow: Allow {
                    call: true,
                    subscribe: true,
                    ..Allow::default()
                },
                disclose: Disclose {
                    caller: Some(true),
                    publisher: None
                },
            }
        );
    }

    #[test]
    fn old_permission_shape() {
        let p = permission(
            r#"{"uri": "*", "publish": true, "subscribe": true, "call": true, "register": true}"#,
        );
        assert_eq!(p.uri, "*");
        assert_eq!(p.match_policy, None);
        assert_eq!(
            p.allow,
            Allow {
                call: true,
                register: true,
                publish: true,
                subscribe: true
            }
        );
        let p = permission(r#"{"uri": "com.app.*", "publish": true}"#);
        assert!(p.allow.publish && !p.allow.call);
        assert_eq!(permission(r#"{"uri": "a"}"#).allow, Allow::default());
    }

    #[test]
    fn permission_errors() {
        assert_eq!(
            permission_error(r#"{"uri": "a", "match": "regex"}"#),
            format!("{P}.match: expected one of exact, prefix, wildcard, found \"regex\"")
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "allow": {"publish": true}, "call": true}"#),
            format!(
                "{P}.call: cannot mix \"allow\" with the old top-level action keys (call, register, publish, subscribe)"
            )
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "allow": {"publish": "yes"}}"#),
            format!("{P}.allow.publish: expected true or false, found a string")
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "publish": 1}"#),
            format!("{P}.publish: expected true or false, found a number")
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "allow": {"pubilsh": true}}"#),
            format!(
                "{P}.allow.pubilsh: unknown key (allowed here: call, register, publish, subscribe)"
            )
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "disclose": {"callee": true}}"#),
            format!("{P}.disclose.callee: unknown key (allowed here: caller, publisher)")
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "disclose": {"caller": null}}"#),
            format!("{P}.disclose.caller: expected true or false, found null")
        );
        assert_eq!(
            permission_error(r#"{"match": "exact"}"#),
            format!("{P}.uri: required key is missing")
        );
        assert_eq!(
            permission_error(r#"{"uri": "a", "validate": {"call": "uint160_t"}}"#),
            format!("{P}.validate: payload validation (validate) is not supported yet")
        );
        assert!(
            permission_error(r#"{"uri": "a", "allowed": {}}"#)
                .starts_with(&format!("{P}.allowed: unknown key"))
        );
    }

    #[test]
    fn permission_uris_follow_their_policy() {
        let ok = |uri: &str, policy: &str| {
            let json = match policy {
                "" => format!(r#"{{"uri": "{uri}"}}"#),
                _ => format!(r#"{{"uri": "{uri}", "match": "{policy}"}}"#),
            };
            load_str_with_env(&role_config(&json), &no_env).is_ok()
        };
        assert!(ok("com.app.add", "exact"));
        assert!(!ok("com.app.", "exact"));
        assert!(!ok("com..add", "exact"));
        assert!(!ok("", "exact"));
        assert!(!ok("com.app add", "exact"));
        assert!(!ok("com.app#", "exact"));
        assert!(ok("", "prefix"));
        assert!(ok("com.app.", "prefix"));
        assert!(ok("com.app", "prefix"));
        assert!(!ok("com..app.", "prefix"));
        assert!(ok("com..add", "wildcard"));
        assert!(ok(".app.", "wildcard"));
        assert!(!ok("com. .add", "wildcard"));
        assert!(ok("*", ""));
        assert!(ok("com.app.*", ""));
        assert!(ok("com.*.add", ""));
        assert!(ok("com.app.add", ""));
        assert!(!ok("", ""));
        assert!(!ok("com.app.", ""));
        assert!(!ok("com.#", ""));
        assert!(!ok("com.app\tadd", ""));
        assert_eq!(
            permission_error(r#"{"uri": "com app", "match": "exact"}"#),
            format!("{P}.uri: \"com app\" is not a valid URI for match exact")
        );
    }

    #[test]
    fn realm_options() {
        let config = load(&worker(
            r#"{"name": "a", "options": {"uri_check": "strict", "enable_meta_api": false, "bridge_meta_api": false}},
               {"name": "b", "id": "x", "options": {"event_dispatching_chunk_size": 100}, "roles": [{"id": "r1", "name": "r"}]}"#,
            "",
        ));
        let realms = &config.workers[0].realms;
        assert_eq!(realms[0].uri_check, UriCheck::Strict);
        assert_eq!(realms[1].uri_check, UriCheck::Loose);
        assert!(!realms[0].meta_api);
        assert!(realms[1].meta_api, "the meta API is on by default");
        assert!(realms[0].roles.is_empty());
        assert_eq!(
            config.ignored,
            [
                "workers[0].realms[1].id",
                "workers[0].realms[1].options.event_dispatching_chunk_size",
                "workers[0].realms[1].roles[0].id"
            ]
        );
    }

    #[test]
    fn realm_errors() {
        let e = |realms: &str| error(&worker(realms, ""));
        assert_eq!(
            e("{}"),
            "workers[0].realms[0].name: required key is missing"
        );
        assert_eq!(
            e(r#"{"name": "realm 1"}"#),
            "workers[0].realms[0].name: realm name \"realm 1\" is not a valid URI"
        );
        assert_eq!(
            e(r#"{"name": "a", "options": {"uri_check": "lax"}}"#),
            "workers[0].realms[0].options.uri_check: expected one of loose, strict, found \"lax\""
        );
        assert_eq!(
            e(r#"{"name": "a", "options": {"enable_meta_api": "yes"}}"#),
            "workers[0].realms[0].options.enable_meta_api: expected true or false, found a string"
        );
        assert_eq!(
            e(r#"{"name": "a", "options": {"bridge_meta_api": true}}"#),
            "workers[0].realms[0].options.bridge_meta_api: bridging the meta API is not supported"
        );
        assert!(
            e(r#"{"name": "a", "options": {"event_dispatching_chunk": 100}}"#)
                .starts_with("workers[0].realms[0].options.event_dispatching_chunk: unknown key")
        );
        assert_eq!(
            e(r#"{"name": "a", "topics": {}}"#),
            "workers[0].realms[0].topics: expected an array, found an object"
        );
        assert_eq!(
            e(r#"{"name": "a", "roles": [{"name": "r"}, {"name": "s"}, {"name": "r"}]}"#),
            "workers[0].realms[0].roles[2].name: role \"r\" is defined twice in this realm"
        );
        assert_eq!(
            e(r#"{"name": "a", "roles": [{"name": "r", "authorizer": "com auth"}]}"#),
            "workers[0].realms[0].roles[0].authorizer: authorizer \"com auth\" is not a valid procedure URI"
        );
        assert_eq!(
            e(r#"{"name": "a", "roles": [{"name": "r", "authorizer": "wamp.x"}]}"#),
            "workers[0].realms[0].roles[0].authorizer: authorizer \"wamp.x\" is not a valid procedure URI"
        );
        assert_eq!(
            e(
                r#"{"name": "a", "roles": [{"name": "r", "authorizer": "com.auth", "permissions": []}]}"#
            ),
            "workers[0].realms[0].roles[0].authorizer: a role has either permissions or an authorizer, not both"
        );
        let config = load(&worker(
            r#"{"name": "a", "roles": [{"name": "r", "authorizer": "com.example.authorize"}]}"#,
            "",
        ));
        assert_eq!(
            config.workers[0].realms[0].roles[0].authorizer.as_deref(),
            Some("com.example.authorize")
        );
        assert_eq!(
            e(r#"{"name": "a", "roles": [{"permissions": []}]}"#),
            "workers[0].realms[0].roles[0].name: required key is missing"
        );
    }

    #[test]
    fn duplicate_realm_names_across_workers() {
        let json = r#"{"workers": [
            {"type": "router", "realms": [{"name": "realm1"}]},
            {"type": "router", "realms": [{"name": "realm2"}, {"name": "realm1"}]}]}"#;
        assert_eq!(
            error(json),
            "workers[1].realms[1].name: realm \"realm1\" is already defined at workers[0].realms[0].name"
        );
    }

    #[test]
    fn role_names_are_unique_per_realm_only() {
        let config = load(&worker(
            r#"{"name": "a", "roles": [{"name": "r"}]}, {"name": "b", "roles": [{"name": "r"}]}"#,
            "",
        ));
        assert_eq!(config.workers[0].realms[1].roles[0].name, "r");
    }
}

#[cfg(test)]
mod topic_and_store_tests {
    use crate::config::load::testing::*;
    use crate::config::{StoreConfig, default_store};

    const TOPIC: &str = r#"{"name": "com.example.weather", "publisher": {"type": "http-poller",
        "config": {"url": "https://api.example.com/weather", "pollingPeriod": "PT2S"}}}"#;

    fn realm_with(extra: &str) -> String {
        worker(
            &format!(
                r#"{{"name": "realm1", "roles": [{{"name": "poller", "permissions": []}}]{extra}}}"#
            ),
            "",
        )
    }

    #[test]
    fn topics_load_with_their_source() {
        let config = load(&realm_with(&format!(r#", "topics": [{TOPIC}]"#)));
        let realm = &config.workers[0].realms[0];
        assert_eq!(realm.topics.len(), 1);
        assert_eq!(realm.topics[0].topic.name, "com.example.weather");
        assert_eq!(
            realm.topics[0].topic.poller.polling_period,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(realm.topics[0].source["name"], "com.example.weather");
        assert_eq!(realm.store, None);
    }

    #[test]
    fn topic_errors_name_the_key() {
        let at = "workers[0].realms[0].topics";
        assert_eq!(
            error(&realm_with(&format!(r#", "topics": [{TOPIC}, {TOPIC}]"#))),
            format!("{at}[1].name: topic \"com.example.weather\" is defined twice in this realm")
        );
        let bad_period = TOPIC.replace("PT2S", "PT0.1S");
        assert!(
            error(&realm_with(&format!(r#", "topics": [{bad_period}]"#)))
                .starts_with(&format!("{at}[0].publisher.config.pollingPeriod: ")),
        );
        let with_role = TOPIC.replace(
            r#""type": "http-poller","#,
            r#""type": "http-poller", "role": "nobody","#,
        );
        assert_eq!(
            error(&realm_with(&format!(r#", "topics": [{with_role}]"#))),
            format!("{at}[0].publisher.role: role \"nobody\" is not defined in this realm")
        );
        let dynamic = TOPIC.replace(
            r#""type": "http-poller","#,
            r#""type": "http-poller", "role": "dyn","#,
        );
        let json = worker(
            &format!(
                r#"{{"name": "realm1", "roles": [{{"name": "dyn", "authorizer": "com.example.a"}}], "topics": [{dynamic}]}}"#
            ),
            "",
        );
        assert_eq!(
            error(&json),
            format!(
                "{at}[0].publisher.role: role \"dyn\" is dynamically authorized (authorizer); a poller needs a role with permissions"
            )
        );
        let bad_jq = TOPIC.replace(r#""pollingPeriod": "PT2S""#, r#""transform": ".items[""#);
        let e = error(&realm_with(&format!(r#", "topics": [{bad_jq}]"#)));
        assert!(
            e.starts_with(&format!(
                "{at}[0].publisher.config.transform: invalid jq filter"
            )),
            "{e}"
        );
    }

    #[test]
    fn stores() {
        let store = |json: &str| {
            load(&realm_with(&format!(r#", "store": {json}"#))).workers[0].realms[0]
                .store
                .clone()
        };
        assert_eq!(store(r#"{"type": "memory"}"#), Some(StoreConfig::Memory));
        assert_eq!(
            store(r#"{"type": "embedded"}"#),
            Some(default_store(std::path::Path::new(""), "realm1"))
        );
        let Some(StoreConfig::Embedded { path }) =
            store(r#"{"type": "embedded", "path": "data/x.redb"}"#)
        else {
            panic!("expected an embedded store");
        };
        assert!(
            path.is_absolute() && path.ends_with("data/x.redb"),
            "{path:?}"
        );
        let at = "workers[0].realms[0].store";
        assert_eq!(
            error(&realm_with(r#", "store": {"type": "memory", "path": "x"}"#)),
            format!("{at}.path: a memory store has no path")
        );
        assert!(
            error(&realm_with(r#", "store": {"type": "disk"}"#))
                .starts_with(&format!("{at}.type: "))
        );
    }

    #[test]
    fn topics_api_paths() {
        let api = |options: &str| {
            web_worker(
                REALM1,
                &format!(
                    r#""api": {{"type": "topics-api", "realm": "realm1", "options": {options}}}"#
                ),
            )
        };
        let config = load(&api(
            r#"{"bearer_token": "t0ken", "require_ip": ["127.0.0.1"]}"#,
        ));
        assert_eq!(config.topics_api_realms(), vec!["realm1".to_string()]);
        let summary = crate::config::summary(&config);
        assert!(
            summary
                .contains("api: topics-api (realm realm1; bearer token, require_ip 127.0.0.1/32)"),
            "{summary}"
        );
        assert!(!summary.contains("t0ken"));
        assert_eq!(
            error(&api("{}")),
            "workers[0].transports[0].paths.api.options: a topics API needs bearer_token, require_ip or both"
        );
        assert!(
            error(&web_worker(REALM1, r#""api": {"type": "topics-api", "realm": "nope", "options": {"bearer_token": "t"}}"#))
                .starts_with("workers[0].transports[0].paths.api.realm: realm \"nope\"")
        );
    }

    #[test]
    fn allow_by_default_and_the_builtin_trusted_role() {
        let json = r#"{"workers": [{"type": "router", "realms": [{"name": "realm1", "roles": [
            {"name": "user", "allow-by-default": true, "permissions": []}]}],
            "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 8080}, "paths": {
                "ws": {"type": "websocket", "auth": {"ticket": {"type": "static",
                    "principals": {"backend": {"ticket": "t", "role": "trusted"}}}}},
                "push": {"type": "publisher", "realm": "realm1", "role": "trusted"}}}]}]}"#;
        let config = crate::config::load_str(json).unwrap();
        assert!(config.workers[0].realms[0].roles[0].allow_by_default);
        let both = r#"{"workers": [{"type": "router", "realms": [{"name": "realm1", "roles": [
            {"name": "user", "allow-by-default": true, "authorizer": "com.example.authorize"}]}]}]}"#;
        assert_eq!(
            crate::config::load_str(both).unwrap_err().to_string(),
            "workers[0].realms[0].roles[0].allow-by-default: a role with an authorizer lets the authorizer decide everything"
        );
        let typo = r#"{"workers": [{"type": "router", "realms": [{"name": "realm1", "roles": [
            {"name": "user", "allow-by-default": "yes"}]}]}]}"#;
        assert!(
            crate::config::load_str(typo)
                .unwrap_err()
                .to_string()
                .starts_with(
                    "workers[0].realms[0].roles[0].allow-by-default: expected true or false"
                )
        );
    }
}
