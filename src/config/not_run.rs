//! Crossbar parts that Junction accepts but does not run: workers that host Python code or
//! belong to Crossbar's process model (`container`, `proxy`, `stream-testee`), router
//! `components` and `connections`, `manhole`, a non-empty `controller`, realm `rlinks`, `stats`
//! and `trace`. Their shape is checked (errors name the
//! JSON path), then each becomes a [`NotRun`] saying what to run instead, so the rest of a
//! real Crossbar config runs.

use crate::config::loader::Loader;
use crate::config::model::{
    Endpoint, NotRun, PathService, RealmConfig, TransportConfig, TransportKind, Worker,
};
use crate::config::node::{Node, Obj, Result};

const GUEST_HINT: &str = "e.g. as a guest worker";

fn not_run(cx: &mut Loader, path: &str, what: impl Into<String>, instead: impl Into<String>) {
    cx.not_run.push(NotRun {
        path: path.to_string(),
        what: what.into(),
        instead: instead.into(),
    });
}

/// A `container` worker: components in a Crossbar-managed Python process. Its REST bridge
/// components Junction runs itself (`config::crossbar_rest`); the others are listed.
pub(crate) fn container(obj: &Obj, routers: &mut [Worker], cx: &mut Loader) -> Result<()> {
    obj.only(&[
        "type",
        "id",
        "options",
        "manhole",
        "components",
        "connections",
    ])?;
    // REST bridge components run natively: MessageForwarders as HTTP subscribers,
    // RESTCallees as HTTP callees.
    let mut native = crate::config::crossbar_rest::message_forwarders(obj, routers, cx)?;
    native.extend(crate::config::crossbar_rest_callee::take(obj, cx)?);
    let listed = components(obj)?
        .into_iter()
        .filter(|(path, _)| !native.contains(path))
        .collect::<Vec<_>>();
    if listed.is_empty() && !native.is_empty() {
        return Ok(());
    }
    let names = listed
        .into_iter()
        .map(|(_, name)| name)
        .collect::<Vec<_>>()
        .join("; ");
    let what = if names.is_empty() {
        "container worker (no components)".to_string()
    } else {
        format!("container worker ({names})")
    };
    not_run(
        cx,
        &obj.path,
        what,
        format!(
            "run each component as an autobahn Component connected to this node's router \
             transport, {GUEST_HINT}"
        ),
    );
    Ok(())
}

/// The router worker's `components`, `connections` and `manhole`; `transports` give the URL
/// a component would connect to. Its REST bridge components run natively, in `realms`
/// (MessageForwarders) or once every worker is loaded (RESTCallees).
pub(crate) fn router_parts(
    obj: &Obj,
    transports: &[TransportConfig],
    realms: &mut [RealmConfig],
    cx: &mut Loader,
) -> Result<()> {
    let url = transport_url(transports);
    let mut native = crate::config::crossbar_rest::router_forwarders(obj, realms, cx)?;
    native.extend(crate::config::crossbar_rest_callee::take_router(obj, cx)?);
    for (path, name) in components(obj)? {
        if native.contains(&path) {
            continue;
        }
        not_run(
            cx,
            &path,
            format!("router component ({name})"),
            format!("run it as an autobahn Component connected to {url}, {GUEST_HINT}"),
        );
    }
    if let Some(connections) = obj.get("connections") {
        if !matches!(
            connections.value,
            serde_json::Value::Array(_) | serde_json::Value::Object(_)
        ) {
            return Err(connections.error("expected an array or an object"));
        }
        if !is_empty(&connections) {
            not_run(
                cx,
                &connections.path,
                "router connections (to other routers)",
                "router-to-router connections are not available yet",
            );
        }
    }
    manhole(obj, cx)
}

/// `manhole` of a router or container worker: Crossbar's Python debug shell over SSH.
fn manhole(obj: &Obj, cx: &mut Loader) -> Result<()> {
    if let Some(node) = obj.get("manhole") {
        node.object()?;
        not_run(
            cx,
            &node.path,
            "manhole (Python debug shell)",
            "none needed: `junction check` shows the config in force, JUNCTION_LOG=debug logs more",
        );
    }
    Ok(())
}

/// A `proxy` worker: Crossbar's front-end processes that forward sessions to router workers.
pub(crate) fn proxy(obj: &Obj, cx: &mut Loader) -> Result<()> {
    obj.only(&[
        "type",
        "id",
        "options",
        "transports",
        "routes",
        "connections",
    ])?;
    not_run(
        cx,
        &obj.path,
        "proxy worker",
        "move its transports into the router worker: Junction's listeners use every core",
    );
    Ok(())
}

/// A `stream-testee` worker: Crossbar's TCP echo server for conformance tests.
pub(crate) fn stream_testee(obj: &Obj, cx: &mut Loader) -> Result<()> {
    obj.only(&["type", "id", "options", "transport"])?;
    obj.required("transport")?.object()?;
    not_run(
        cx,
        &obj.path,
        "stream-testee worker",
        "run a TCP echo server beside Junction",
    );
    Ok(())
}

/// A `controller` with anything in it (an empty one asks for nothing and is only ignored).
pub(crate) fn controller(node: &Node, cx: &mut Loader) -> Result<()> {
    if node.object()?.is_empty() {
        cx.ignored.push(node.path.clone());
    } else {
        not_run(
            cx,
            &node.path,
            "node controller (management API, node options)",
            "none: Junction is one process; run it under your service manager (systemd, a container)",
        );
    }
    Ok(())
}

/// A `flashpolicy` transport (the socket policy file Adobe Flash asked for): listed as not run.
/// Returns whether `node` was one.
pub(crate) fn flash_policy_transport(node: &Node, cx: &mut Loader) -> Result<bool> {
    let Ok(obj) = node.object() else {
        return Ok(false);
    };
    if obj
        .get("type")
        .and_then(|kind| kind.str().ok().map(str::to_string))
        != Some("flashpolicy".into())
    {
        return Ok(false);
    }
    obj.only(&[
        "type",
        "id",
        "endpoint",
        "allowed_domain",
        "allowed_ports",
        "debug",
    ])?;
    let port = obj
        .required("endpoint")?
        .object()?
        .get("port")
        .map(|port| port.value.to_string())
        .unwrap_or_else(|| "?".to_string());
    not_run(
        cx,
        &obj.path,
        format!("Flash socket policy server (port {port})"),
        "nothing: Adobe Flash is gone from every browser",
    );
    Ok(true)
}

/// A router worker that copies an earlier one (`earlier`: the router workers' JSON paths and
/// values so far) for Crossbar's one-process-per-core scaling: every TCP transport of it is
/// `"shared": true` and the same as one of the earlier worker's, and every realm it defines
/// the earlier one defines too. Listed as not run (Junction's one router uses every core);
/// returns whether `worker` was one.
pub(crate) fn router_copy(
    worker: &Node,
    earlier: &[(String, &serde_json::Value)],
    cx: &mut Loader,
) -> bool {
    use serde_json::Value;
    let list = |value: &Value, key: &str| -> Vec<Value> {
        value
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let tcp = |transport: &Value| {
        transport.pointer("/endpoint/type").and_then(Value::as_str) != Some("unix")
    };
    let realm_names = |value: &Value| -> Vec<String> {
        list(value, "realms")
            .iter()
            .filter_map(|realm| realm.get("name")?.as_str().map(str::to_string))
            .collect()
    };
    let shared: Vec<Value> = list(worker.value, "transports")
        .into_iter()
        .filter(|t| tcp(t))
        .collect();
    if shared.is_empty()
        || !shared
            .iter()
            .all(|t| t.pointer("/endpoint/shared") == Some(&Value::Bool(true)))
    {
        return false;
    }
    let Some((original, _)) = earlier.iter().find(|(_, first)| {
        let theirs = list(first, "transports");
        let their_realms = realm_names(first);
        shared.iter().all(|t| theirs.contains(t))
            && realm_names(worker.value)
                .iter()
                .all(|name| their_realms.contains(name))
    }) else {
        return false;
    };
    let ports: Vec<String> = shared
        .iter()
        .filter_map(|t| t.pointer("/endpoint/port").map(Value::to_string))
        .collect();
    not_run(
        cx,
        &worker.path,
        format!(
            "router worker, a copy of {original} sharing port {} (Crossbar's one process per core)",
            ports.join(", ")
        ),
        format!("none: {original} runs it, and Junction's one router uses every core"),
    );
    true
}

/// Realm `rlinks`, `stats` and `trace`.
pub(crate) fn realm_parts(obj: &Obj, cx: &mut Loader) -> Result<()> {
    if let Some(node) = obj.get("rlinks") {
        node.array()?;
        if !is_empty(&node) {
            not_run(
                cx,
                &node.path,
                "router links (rlinks)",
                "nodes share realms through a cluster section on the router worker (NATS; \
                 see the README's \"Running a cluster\")",
            );
        }
    }
    if let Some(node) = obj.get("stats") {
        node.object()?;
        not_run(
            cx,
            &node.path,
            "realm statistics events (stats)",
            "use the meta API (wamp.session.count, wamp.session.on_join, wamp.session.on_leave)",
        );
    }
    // `trace` is an object in Crossbar's docs, a boolean in older configs (false: no tracing).
    if let Some(node) = obj.get("trace")
        && node.value != &serde_json::Value::Bool(false)
    {
        if !node.value.is_boolean() {
            node.object()?;
        }
        not_run(
            cx,
            &node.path,
            "message tracing (trace)",
            "run with JUNCTION_LOG=debug, or subscribe to the meta events",
        );
    }
    Ok(())
}

fn is_empty(node: &Node) -> bool {
    match node.value {
        serde_json::Value::Array(items) => items.is_empty(),
        serde_json::Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// `components[]`: each checked (`type` class or function, `realm`, `classname` for a class),
/// returned as (path, description).
fn components(obj: &Obj) -> Result<Vec<(String, String)>> {
    let Some(list) = obj.get("components") else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for item in list.array()? {
        let component = item.object()?;
        let realm = component.required("realm")?.str()?;
        let name = match component.required("type")?.one_of(&["class", "function"])? {
            "class" => {
                component.only(&[
                    "type",
                    "id",
                    "realm",
                    "role",
                    "references",
                    "classname",
                    "extra",
                    "transport",
                ])?;
                format!("class {}", component.required("classname")?.str()?)
            }
            _ => {
                component.only(&[
                    "type",
                    "id",
                    "realm",
                    "role",
                    "callbacks",
                    "extra",
                    "transport",
                ])?;
                match component.opt_str("id")? {
                    Some(id) => format!("function component {id}"),
                    None => "function component".to_string(),
                }
            }
        };
        found.push((item.path.clone(), format!("{name}, realm {realm}")));
    }
    Ok(found)
}

/// Where a client of this router worker connects: its first WebSocket (or RawSocket over
/// TCP) service, as a URL.
fn transport_url(transports: &[TransportConfig]) -> String {
    for transport in transports {
        let Endpoint::Tcp(tcp) = &transport.endpoint else {
            continue;
        };
        let host = match tcp.interface.as_str() {
            "0.0.0.0" | "::" | "" => "localhost",
            other => other,
        };
        let secure = if tcp.tls.is_some() { "s" } else { "" };
        let base = format!("{host}:{}", tcp.port);
        match &transport.kind {
            TransportKind::WebSocket(_) => return format!("ws{secure}://{base}"),
            TransportKind::RawSocket(_) => return format!("rs{secure}://{base}"),
            TransportKind::Web { paths, .. } | TransportKind::Universal { paths, .. } => {
                let ws = paths
                    .iter()
                    .find(|(_, service)| matches!(service, PathService::WebSocket(_)));
                if let Some((path, _)) = ws {
                    return format!("ws{secure}://{base}{path}");
                }
            }
        }
    }
    "one of this router's transports".to_string()
}

#[cfg(test)]
mod tests {
    use crate::config::load::testing::*;

    /// (path, what) of every part not run.
    fn listed(json: &str) -> Vec<(String, String)> {
        load(json)
            .not_run
            .into_iter()
            .map(|part| (part.path, part.what))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn every_kind_loads_and_is_listed() {
        let json = r#"{"version": 2, "controller": {"id": "node1", "options": {"shutdown": ["shutdown_on_worker_exit"]}},
            "workers": [
                {"type": "router", "manhole": {"endpoint": {"type": "tcp", "port": 6022}, "users": []},
                 "realms": [{"name": "realm1", "roles": [],
                             "rlinks": [{"id": "node2", "realm": "realm1"}],
                             "stats": {"rated_message_size": 256}, "trace": {}}],
                 "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 8080},
                                 "paths": {"ws": {"type": "websocket"}}}],
                 "components": [{"type": "class", "classname": "hello.AppSession", "realm": "realm1", "role": "anonymous"},
                                {"type": "function", "id": "f1", "realm": "realm1", "callbacks": {"join": "app.on_join"}}],
                 "connections": [{"id": "conn1", "transport": {}}]},
                {"type": "container", "id": "c1", "options": {"pythonpath": [".."]},
                 "components": [{"type": "class", "classname": "app.Backend", "realm": "realm1",
                                 "transport": {"type": "websocket", "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": 8080}, "url": "ws://127.0.0.1:8080/ws"}}]},
                {"type": "proxy", "transports": [], "routes": {}, "connections": {}},
                {"type": "websocket-testee", "options": {"cpu_affinity": [0]},
                 "transport": {"type": "websocket", "endpoint": {"type": "tcp", "port": 9001}}},
                {"type": "stream-testee", "transport": {"type": "stream", "endpoint": {"type": "tcp", "port": 9002}}}
            ]}"#;
        assert_eq!(
            listed(json),
            pairs(&[
                (
                    "controller",
                    "node controller (management API, node options)"
                ),
                ("workers[0].realms[0].rlinks", "router links (rlinks)"),
                (
                    "workers[0].realms[0].stats",
                    "realm statistics events (stats)"
                ),
                ("workers[0].realms[0].trace", "message tracing (trace)"),
                (
                    "workers[0].components[0]",
                    "router component (class hello.AppSession, realm realm1)"
                ),
                (
                    "workers[0].components[1]",
                    "router component (function component f1, realm realm1)"
                ),
                (
                    "workers[0].connections",
                    "router connections (to other routers)"
                ),
                ("workers[0].manhole", "manhole (Python debug shell)"),
                (
                    "workers[1]",
                    "container worker (class app.Backend, realm realm1)"
                ),
                ("workers[2]", "proxy worker"),
                ("workers[4]", "stream-testee worker"),
            ])
        );
        let config = load(json);
        assert_eq!(
            config.not_run[4].instead,
            "run it as an autobahn Component connected to ws://localhost:8080/ws, e.g. as a guest worker"
        );
        assert!(
            config.not_run[1]
                .instead
                .contains("a cluster section on the router worker")
        );
        // The router still runs (and the websocket-testee worker, see `config::testee`).
        assert_eq!(config.workers.len(), 2);
        assert_eq!(config.workers[0].realms[0].name, "realm1");
    }

    #[test]
    fn empty_parts_ask_for_nothing() {
        let config = load(
            r#"{"controller": {}, "workers": [{"type": "router", "components": [], "connections": [],
                "realms": [{"name": "realm1", "rlinks": []}]}]}"#,
        );
        assert!(config.not_run.is_empty(), "{:?}", config.not_run);
        assert_eq!(config.ignored, ["controller"]);
    }

    #[test]
    fn bad_shapes_name_their_path() {
        let cases = [
            (
                r#"{"workers": [{"type": "router", "components": [{"type": "class", "realm": "realm1"}]}]}"#,
                "workers[0].components[0].classname: required key is missing",
            ),
            (
                r#"{"workers": [{"type": "router", "components": [{"type": "wsgi", "realm": "realm1"}]}]}"#,
                "workers[0].components[0].type: expected one of class, function",
            ),
            (
                r#"{"workers": [{"type": "router", "components": [{"type": "class", "classname": "a.B"}]}]}"#,
                "workers[0].components[0].realm: required key is missing",
            ),
            (
                r#"{"workers": [{"type": "router", "components": [{"type": "function", "realm": "r", "classname": "a.B"}]}]}"#,
                "workers[0].components[0].classname: unknown key",
            ),
            (
                r#"{"workers": [{"type": "router", "components": {}}]}"#,
                "workers[0].components: expected an array, found an object",
            ),
            (
                r#"{"workers": [{"type": "router", "connections": 1}]}"#,
                "workers[0].connections: expected an array or an object",
            ),
            (
                r#"{"workers": [{"type": "router", "manhole": []}]}"#,
                "workers[0].manhole: expected an object, found an array",
            ),
            (
                r#"{"workers": [{"type": "container", "realms": []}]}"#,
                "workers[0].realms: unknown key (allowed here: type, id, options, manhole, components, connections)",
            ),
            (
                r#"{"workers": [{"type": "websocket-testee"}]}"#,
                "workers[0].transport: required key is missing",
            ),
            (
                r#"{"workers": [{"type": "proxy", "paths": {}}]}"#,
                "workers[0].paths: unknown key",
            ),
            (
                r#"{"workers": [{"type": "router", "realms": [{"name": "realm1", "rlinks": {}}]}]}"#,
                "workers[0].realms[0].rlinks: expected an array, found an object",
            ),
            (
                r#"{"workers": [{"type": "router", "realms": [{"name": "realm1", "stats": true}]}]}"#,
                "workers[0].realms[0].stats: expected an object, found a boolean",
            ),
            (
                r#"{"controller": [], "workers": []}"#,
                "controller: expected an object, found an array",
            ),
        ];
        for (json, expected) in cases {
            let message = error(json);
            assert!(message.starts_with(expected), "{json}\n{message}");
        }
    }

    #[test]
    fn trace_may_be_a_boolean_as_in_older_configs() {
        let realm = |trace: &str| {
            format!(
                r#"{{"version": 2, "workers": [{{"type": "router", "realms": [{{"name": "realm1", "roles": [], "trace": {trace}}}]}}]}}"#
            )
        };
        assert_eq!(
            listed(&realm("true")),
            pairs(&[("workers[0].realms[0].trace", "message tracing (trace)")])
        );
        assert!(listed(&realm("false")).is_empty());
    }

    #[test]
    fn a_flash_policy_transport_is_listed_and_the_others_run() {
        let json = r#"{"version": 2, "workers": [{"type": "router", "realms": [],
            "transports": [
                {"type": "web", "endpoint": {"type": "tcp", "port": 8080}, "paths": {"ws": {"type": "websocket"}}},
                {"type": "flashpolicy", "allowed_domain": "*", "allowed_ports": [8080],
                 "endpoint": {"type": "tcp", "port": 843}}]}]}"#;
        assert_eq!(
            listed(json),
            pairs(&[(
                "workers[0].transports[1]",
                "Flash socket policy server (port 843)"
            )])
        );
        let config = crate::config::load_str(json).unwrap();
        assert_eq!(config.workers[0].transports.len(), 1);
        let bad = r#"{"version": 2, "workers": [{"type": "router", "realms": [],
            "transports": [{"type": "flashpolicy", "allowed_domains": "*", "endpoint": {"type": "tcp", "port": 843}}]}]}"#;
        assert!(
            crate::config::load_str(bad)
                .unwrap_err()
                .to_string()
                .starts_with("workers[0].transports[0].allowed_domains: unknown key")
        );
    }

    #[test]
    fn router_workers_that_copy_an_earlier_one_on_a_shared_port_are_listed() {
        let web = r#"{"type": "web", "endpoint": {"type": "tcp", "port": 8080, "shared": true},
                      "paths": {"ws": {"type": "websocket"}}}"#;
        let router = |sock: &str, rlink: &str| {
            format!(
                r#"{{"type": "router", "options": {{"cpu_affinity": [0]}},
                    "realms": [{{"name": "realm1", "roles": [], "rlinks": [{rlink}]}}],
                    "transports": [{{"type": "rawsocket", "endpoint": {{"type": "unix", "path": "{sock}"}}}}, {web}]}}"#
            )
        };
        let json = format!(
            r#"{{"version": 2, "workers": [{}, {}, {}]}}"#,
            router("edge1.sock", ""),
            router("edge2.sock", r#"{"id": "to-edge1", "realm": "realm1"}"#),
            router("edge3.sock", "")
        );
        let config = crate::config::load_str(&json).unwrap();
        assert_eq!(config.workers.len(), 1);
        let copies: Vec<_> = config
            .not_run
            .iter()
            .filter(|p| p.path.ends_with(']'))
            .collect();
        assert_eq!(copies.len(), 2, "{:?}", config.not_run);
        assert_eq!(copies[0].path, "workers[1]");
        assert!(
            copies[0].what.contains("copy of workers[0]") && copies[0].what.contains("8080"),
            "{:?}",
            copies[0]
        );
        // Another router on the port with other paths is not a copy: its realm clashes.
        let other = json.replacen(
            r#""ws": {"type": "websocket"}"#,
            r#""wss": {"type": "websocket"}"#,
            2,
        );
        assert!(crate::config::load_str(&other).is_err());
    }
}
