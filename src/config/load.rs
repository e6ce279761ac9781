//! Loading `config.json`: the entry points, the top level and `workers[]`.
//!
//! The text is parsed to a `serde_json::Value` once and then walked by hand (see
//! [`node`](super::node)), so each error names its JSON path, Crossbar features Junction lacks
//! say "not supported" instead of "unknown key", and accepted-but-ignored keys are collected
//! for `junction check`. Guest workers live in [`guest`](super::guest), the parts accepted but
//! not run in [`not_run`](super::not_run). Realms live in [`realm`](super::realm), transports in
//! [`transport`](super::transport), auth blocks in [`auth`](super::auth), the HTTP bridge
//! paths (publisher, caller, webhook) in [`bridge`](super::bridge).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::error::ConfigError;
use crate::config::loader::Loader;
use crate::config::model::{Config, GuestWorker, Worker};
use crate::config::node::{Node, Obj, Result};
use crate::config::{cluster, guest, not_run, realm, testee, transport};

/// Reads and loads a config file; `$NAME` secrets come from the process environment.
/// Relative file names in the config (TLS certificate and key) are resolved against the
/// folder of the file.
pub fn load_file(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(path.display().to_string(), format!("cannot read: {e}")))?;
    let folder = path.parent().unwrap_or(Path::new(""));
    load_text(&text, &|name| std::env::var(name).ok(), folder).map_err(|e| e.in_file(path))
}

/// Loads config text; `$NAME` secrets come from the process environment.
pub fn load_str(text: &str) -> Result<Config> {
    load_str_with_env(text, &|name| std::env::var(name).ok())
}

/// Loads config text, reading `$NAME` / `${NAME}` secrets through `env` (tests inject one).
/// Relative file names in the config are resolved against the current directory.
pub fn load_str_with_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    load_text(text, env, Path::new(""))
}

/// Loads config text; relative file names are resolved against `folder`
/// (the config file's folder, or `""` for the current directory).
pub(crate) fn load_text(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    folder: &Path,
) -> Result<Config> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ConfigError::from_json(&e))?;
    let mut loader = Loader {
        env,
        folder: folder.to_path_buf(),
        ignored: Vec::new(),
        realm_paths: BTreeMap::new(),
        worker_roles: BTreeSet::new(),
        worker_realms: Vec::new(),
        not_run: Vec::new(),
        warnings: Vec::new(),
        tls_auth_paths: Vec::new(),
        pending_rest_callees: Vec::new(),
    };
    let (workers, guests) = load_root(&Node::root(&value), &mut loader)?;
    Ok(Config {
        workers,
        guests,
        not_run: loader.not_run,
        load_warnings: loader.warnings,
        folder: folder.to_path_buf(),
        ignored: loader.ignored,
    })
}

fn load_root(node: &Node, cx: &mut Loader) -> Result<(Vec<Worker>, Vec<GuestWorker>)> {
    let root = node
        .object()
        .map_err(|_| ConfigError::new("(top level)", "expected a JSON object"))?;
    root.keys(
        &["version", "workers", "controller"],
        &["$schema"],
        &mut cx.ignored,
    )?;
    if let Some(controller) = root.get("controller") {
        not_run::controller(&controller, cx)?;
    }
    if let Some(version) = root.get("version") {
        // Configs without `version` are Crossbar's older format, which loads the same way.
        let n = version.u64()?;
        if n != 2 {
            return Err(version.error(format!("config version {n} is not supported (expected 2)")));
        }
    }
    let mut routers = Vec::new();
    let mut router_values = Vec::new();
    let mut guests = Vec::new();
    let mut containers = Vec::new();
    // Crossbar names a worker without `id` `worker001`, `worker002`, ... in config order.
    let mut unnamed = 0;
    for node in root.required("workers")?.array()? {
        let obj = node.object()?;
        let kind = obj.required("type")?;
        let id = match obj.opt_str("id")? {
            Some(id) => id.to_string(),
            None => {
                unnamed += 1;
                format!("worker{unnamed:03}")
            }
        };
        match kind.str()? {
            "router" => {
                if not_run::router_copy(&node, &router_values, cx) {
                    continue;
                }
                let router = load_router(&obj, cx)?;
                if router.cluster.is_some()
                    && let Some(first) = routers.iter().find_map(|r: &Worker| r.cluster.as_ref())
                {
                    return Err(node.error(format!(
                        "{} has a cluster section already: one per node",
                        first.path
                    )));
                }
                routers.push(router);
                router_values.push((node.path.clone(), node.value));
            }
            "guest" => guests.push(guest::load_guest(&obj, id, cx)?),
            // After the router workers: its REST bridge components join their realms.
            "container" => containers.push((node.clone(), cx.not_run.len())),
            "proxy" => not_run::proxy(&obj, cx)?,
            "websocket-testee" => {
                if let Some(worker) = testee::load_testee(&obj, &routers, cx)? {
                    routers.push(worker);
                }
            }
            "stream-testee" => not_run::stream_testee(&obj, cx)?,
            name => {
                return Err(kind.error(format!(
                    "worker type \"{name}\" is not supported (Junction runs \"router\" and \"guest\" \
                     workers, and accepts \"container\", \"proxy\", \"websocket-testee\" and \
                     \"stream-testee\" workers without running them)"
                )));
            }
        }
    }
    // Last first, each listed where it stands in the file: later insertions do not move the
    // earlier positions.
    for (node, at) in containers.into_iter().rev() {
        let before = cx.not_run.len();
        not_run::container(&node.object()?, &mut routers, cx)?;
        let listed: Vec<_> = cx.not_run.drain(before..).collect();
        cx.not_run.splice(at..at, listed);
    }
    crate::config::crossbar_rest_callee::place(&mut routers, cx);
    Ok((routers, guests))
}

fn load_router(obj: &Obj, cx: &mut Loader) -> Result<Worker> {
    obj.keys(
        &[
            "type",
            "realms",
            "transports",
            "components",
            "connections",
            "manhole",
            "cluster",
        ],
        &["options", "id"],
        &mut cx.ignored,
    )?;

    let mut realms = match obj.get("realms") {
        Some(list) => list
            .array()?
            .iter()
            .map(|r| realm::load_realm(r, cx))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    cx.worker_roles = realms
        .iter()
        .flat_map(|r| r.roles.iter().map(|role| role.name.clone()))
        .collect();
    cx.worker_realms = realms.clone();
    let mut transports = Vec::new();
    if let Some(list) = obj.get("transports") {
        for node in list.array()? {
            // A Flash socket policy server serves a plugin no browser has any more.
            if not_run::flash_policy_transport(&node, cx)? {
                continue;
            }
            transports.push(transport::load_transport(&node, cx)?);
        }
    }
    // Embedded components (but REST bridges), connections to other routers and the manhole
    // are accepted and listed as not run (after the transports: a component's hint names
    // their URL).
    not_run::router_parts(obj, &transports, &mut realms, cx)?;
    let cluster = obj.opt("cluster", |node| cluster::load_cluster(node, cx))?;
    Ok(Worker {
        path: obj.path.clone(),
        realms,
        transports,
        cluster,
    })
}

/// Test helpers shared by the config modules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// No environment variables at all.
    pub fn no_env(_: &str) -> Option<String> {
        None
    }

    pub fn load(json: &str) -> Config {
        load_str_with_env(json, &no_env).unwrap_or_else(|e| panic!("config should load: {e}"))
    }

    /// The error message (`path: what`) of a config that must not load.
    pub fn error(json: &str) -> String {
        match load_str_with_env(json, &no_env) {
            Ok(config) => panic!("config should not load: {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// A config with one router worker: `realms` and `transports` are JSON array bodies.
    pub fn worker(realms: &str, transports: &str) -> String {
        format!(
            r#"{{"version": 2, "workers": [{{"type": "router", "realms": [{realms}], "transports": [{transports}]}}]}}"#
        )
    }

    /// `realm1` with an `anonymous` role allowed everything.
    /// A worker with `realms` and one web transport on port 8080 with `paths` (the inside
    /// of the paths object).
    pub fn web_worker(realms: &str, paths: &str) -> String {
        worker(
            realms,
            &format!(
                r#"{{"type": "web", "endpoint": {{"type": "tcp", "port": 8080}}, "paths": {{{paths}}}}}"#
            ),
        )
    }

    pub const REALM1: &str = r#"{"name": "realm1", "roles": [{"name": "anonymous",
        "permissions": [{"uri": "", "match": "prefix",
            "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]}]}"#;
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::config::model::TransportKind;

    #[test]
    fn minimal_configs_load() {
        let config = load(r#"{"workers": []}"#);
        assert!(config.workers.is_empty());
        let config = load(r#"{"version": 2, "workers": [{"type": "router"}]}"#);
        assert!(config.workers[0].realms.is_empty());
        assert!(config.workers[0].transports.is_empty());
    }

    #[test]
    fn crossbar_default_shape_with_websocket_paths_loads() {
        let config = load(
            r#"{
            "$schema": "https://raw.githubusercontent.com/crossbario/crossbar/master/crossbar.json",
            "version": 2,
            "controller": {},
            "workers": [{
                "type": "router",
                "options": {"pythonpath": [".."]},
                "realms": [{
                    "name": "realm1",
                    "roles": [{"name": "anonymous", "permissions": [{
                        "uri": "", "match": "prefix",
                        "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
                        "disclose": {"caller": false, "publisher": false},
                        "cache": true
                    }]}]
                }],
                "transports": [{
                    "type": "web",
                    "endpoint": {"type": "tcp", "port": 8080, "backlog": 1024},
                    "paths": {
                        "ws": {"type": "websocket", "serializers": ["json"]},
                        "info": {"type": "websocket-testee"}
                    }
                }]
            }]
        }"#,
        );
        assert_eq!(
            config.ignored,
            [
                "$schema",
                "controller",
                "workers[0].options",
                "workers[0].realms[0].roles[0].permissions[0].cache"
            ]
        );
        let transport = &config.workers[0].transports[0];
        assert_eq!(transport.path, "workers[0].transports[0]");
        assert_eq!(transport.endpoint.tcp().unwrap().interface, "0.0.0.0");
        let TransportKind::Web { paths, .. } = &transport.kind else {
            panic!("expected a web transport")
        };
        assert_eq!(paths.keys().collect::<Vec<_>>(), ["/info", "/ws"]);
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        assert_eq!(
            error("{\n\"workers\": [,]}"),
            "line 2 column 13: expected value"
        );
        assert_eq!(error(""), "line 1 column 0: EOF while parsing a value");
    }

    #[test]
    fn top_level_errors() {
        assert_eq!(error("[]"), "(top level): expected a JSON object");
        assert_eq!(error("{}"), "workers: required key is missing");
        assert_eq!(
            error(r#"{"workers": [], "wrokers": []}"#),
            "wrokers: unknown key (allowed here: version, workers, controller, $schema)"
        );
        assert_eq!(
            error(r#"{"version": 1, "workers": []}"#),
            "version: config version 1 is not supported (expected 2)"
        );
        assert_eq!(
            error(r#"{"version": "2", "workers": []}"#),
            "version: expected a non-negative integer, found a string"
        );
        assert_eq!(
            error(r#"{"workers": {}}"#),
            "workers: expected an array, found an object"
        );
    }

    #[test]
    fn worker_errors() {
        for kind in ["xbrmm", "marketplace", "hub", "Router"] {
            let json = format!(r#"{{"workers": [{{"type": "router"}}, {{"type": "{kind}"}}]}}"#);
            assert!(
                error(&json).starts_with(&format!(
                    "workers[1].type: worker type \"{kind}\" is not supported (Junction runs \"router\" and \"guest\""
                )),
                "{kind}"
            );
        }
        assert_eq!(
            error(r#"{"workers": [{}]}"#),
            "workers[0].type: required key is missing"
        );
        assert_eq!(
            error(r#"{"workers": [{"type": "router", "id": 1}]}"#),
            "workers[0].id: expected a string, found a number"
        );
        assert!(
            error(r#"{"workers": [{"type": "router", "realm": []}]}"#).starts_with(
                "workers[0].realm: unknown key (allowed here: type, realms, transports"
            )
        );
        // Empty lists ask for nothing; `id` and `options` are Crossbar's process model.
        let config = load(
            r#"{"workers": [{"type": "router", "id": "w1", "components": [], "connections": [], "options": {}}]}"#,
        );
        assert_eq!(config.ignored, ["workers[0].options", "workers[0].id"]);
        assert!(config.not_run.is_empty());
    }

    #[test]
    fn load_file_names_the_file_when_unreadable() {
        let error = load_file(Path::new("/nonexistent/junction.json")).unwrap_err();
        assert_eq!(error.location(), "/nonexistent/junction.json");
        assert!(error.to_string().contains("cannot read"));
    }

    #[test]
    fn a_syntax_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{\n  \"version\": 2,\n  \"workers\": [\n}").unwrap();
        let error = load_file(&path).unwrap_err();
        assert_eq!(
            error.location(),
            format!("{} line 4 column 1", path.display()),
            "{error}"
        );
    }

    #[test]
    fn load_file_reads_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, worker(REALM1, "")).unwrap();
        let config = load_file(&path).unwrap();
        assert_eq!(config.workers[0].realms[0].name, "realm1");
    }

    #[test]
    fn odd_inputs_never_panic() {
        for text in [
            "null",
            "1",
            "\"x\"",
            r#"{"workers": [null]}"#,
            r#"{"workers": [{"type": 1}]}"#,
            r#"{"workers": [{"type": "router", "realms": [1], "transports": []}]}"#,
            r#"{"workers": [{"type": "router", "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 99999999999999999999}, "paths": {}}]}]}"#,
            r#"{"workers": [{"type": "router", "transports": [{"type": "websocket", "endpoint": {"type": "tcp", "port": -1}}]}]}"#,
        ] {
            assert!(load_str_with_env(text, &no_env).is_err(), "{text}");
        }
    }

    /// The "Running Standalone" config of Crossbar's HTTP Pusher docs, verbatim (shared with the
    /// end-to-end test in tests/interop/python/test_crossbar_seed.py): no `version`,
    /// old-style permissions, a `pusher` on `/`, a `websocket` transport without `interface`.
    const CROSSBAR_PUSHER_STANDALONE: &str =
        include_str!("../../tests/data/crossbar-pusher-standalone.json");

    #[test]
    fn crossbar_pusher_standalone_config_loads_unchanged() {
        use crate::config::model::PathService;
        let config = load(CROSSBAR_PUSHER_STANDALONE);
        assert!(config.ignored.is_empty());
        let worker = &config.workers[0];
        let permission = &worker.realms[0].roles[0].permissions[0];
        assert_eq!(permission.uri, "*");
        assert!(permission.allow.publish && permission.allow.subscribe);
        assert!(permission.allow.call && permission.allow.register);

        let websocket = &worker.transports[0];
        assert!(matches!(websocket.kind, TransportKind::WebSocket(_)));
        assert_eq!(websocket.endpoint.tcp().unwrap().port, 9000);
        assert_eq!(websocket.endpoint.tcp().unwrap().interface, "0.0.0.0");
        assert_eq!(websocket.endpoint.tls(), None);

        let web = &worker.transports[1];
        assert_eq!(web.endpoint.tcp().unwrap().port, 8080);
        let TransportKind::Web { paths, options } = &web.kind else {
            panic!("expected a web transport")
        };
        assert!(options.trusted_proxies.is_empty());
        assert_eq!(paths.keys().collect::<Vec<_>>(), ["/"]);
        let PathService::Publisher(publisher) = &paths["/"] else {
            panic!("expected a publisher on /, got {:?}", paths["/"])
        };
        assert_eq!(publisher.realm, "realm1");
        assert_eq!(publisher.role, "anonymous");
        assert!(publisher.options.signing.is_none());
        assert_eq!(publisher.options.post_body_limit, 1024 * 1024);
        assert_eq!(publisher.options.success_status, 202);
    }
}
