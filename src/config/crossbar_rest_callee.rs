//! Crossbar's `RESTCallee` components (`crossbar.bridge.rest.RESTCallee`, formerly
//! `crossbar.adapter.rest.RESTCallee`) of container and router workers, run natively as HTTP
//! callees with the Crossbar contract ([`RequestMapping::CrossbarRest`]) instead of being
//! listed as not run.
//!
//! A container worker may come before the router worker it connects to, so components are
//! taken while a worker loads ([`take`], [`take_router`]) and placed once every worker is
//! loaded ([`place`]): in the component's `realm`, as a router component's `role` (default
//! `anonymous`), or for a container's, the role that the anonymous login of the router
//! transport on the component's `transport.endpoint` port gives (`anonymous` when there is no
//! such transport or login). A realm or role that does not exist keeps the component not run,
//! with the reason.

use crate::config::loader::Loader;
use crate::config::model::{
    DEFAULT_HTTP_CALLEE_CONCURRENCY, DEFAULT_HTTP_CALLEE_MAX_RESPONSE, DEFAULT_HTTP_CALLEE_TIMEOUT,
    Endpoint, HttpCalleeConfig, HttpMethod, NotRun, OnTimeout, PathService, PendingRestCallee,
    RequestMapping, TRUSTED_ROLE, TransportConfig, TransportKind, Worker,
};
use crate::config::node::{Obj, Result};
use crate::config::topic::request::http_url;
use crate::wamp::uri::{self, MatchPolicy};

const CLASSNAMES: [&str; 2] = [
    "crossbar.bridge.rest.RESTCallee",
    "crossbar.adapter.rest.RESTCallee",
];

/// The RESTCallee components of a container worker's `components`, checked and kept in `cx`;
/// returns their JSON paths (the container lists the others as not run).
pub(crate) fn take(container: &Obj, cx: &mut Loader) -> Result<Vec<String>> {
    take_from(container, cx, |_| Ok(None))
}

/// The RESTCallee components of a router worker's `components`, kept in `cx` with their
/// `role` (`anonymous` when they name none, as Crossbar adds a router component's session);
/// returns their JSON paths.
pub(crate) fn take_router(router: &Obj, cx: &mut Loader) -> Result<Vec<String>> {
    take_from(router, cx, |component| {
        crate::config::crossbar_rest::router_component_role(component).map(Some)
    })
}

fn take_from(
    worker: &Obj,
    cx: &mut Loader,
    role: impl Fn(&Obj) -> Result<Option<String>>,
) -> Result<Vec<String>> {
    let Some(list) = worker.get("components") else {
        return Ok(Vec::new());
    };
    let mut taken = Vec::new();
    for item in list.array()? {
        let component = item.object()?;
        let is_rest_callee = component
            .get("classname")
            .and_then(|n| n.str().ok())
            .is_some_and(|name| CLASSNAMES.contains(&name));
        if !is_rest_callee {
            continue;
        }
        let mut pending = pending(&component)?;
        pending.role = role(&component)?;
        cx.pending_rest_callees.push(pending);
        taken.push(item.path.clone());
    }
    Ok(taken)
}

fn pending(component: &Obj) -> Result<PendingRestCallee> {
    let extra = component.required("extra")?.object()?;
    extra.only(&["procedure", "baseurl"])?;
    let procedure_node = extra.required("procedure")?;
    let procedure = procedure_node.str()?;
    if !uri::is_valid(procedure, false, MatchPolicy::Exact) || uri::is_reserved(procedure) {
        return Err(procedure_node.error(format!(
            "\"{procedure}\" is not a procedure URI a client may register"
        )));
    }
    let port = match component.get("transport") {
        Some(transport) => transport
            .object()?
            .get("endpoint")
            .map(|endpoint| endpoint.object())
            .transpose()?
            .and_then(|endpoint| endpoint.get("port"))
            .map(|port| port.u64_in(1, 65535).map(|p| p as u16))
            .transpose()?,
        None => None,
    };
    Ok(PendingRestCallee {
        realm: component.required("realm")?.str()?.to_owned(),
        port,
        role: None,
        callee: HttpCalleeConfig {
            path: component.path.clone(),
            procedure: procedure.to_owned(),
            policy: MatchPolicy::Exact,
            url: http_url(&extra.required("baseurl")?)?,
            method: HttpMethod::Get,
            role: String::new(),
            headers: Vec::new(),
            timeout: DEFAULT_HTTP_CALLEE_TIMEOUT,
            on_timeout: OnTimeout::Timeout,
            mapping: RequestMapping::CrossbarRest,
            max_response_bytes: DEFAULT_HTTP_CALLEE_MAX_RESPONSE,
            concurrency: DEFAULT_HTTP_CALLEE_CONCURRENCY,
        },
    })
}

/// Every taken component into its realm's `http_callees`, or into `not_run` with the reason.
pub(crate) fn place(routers: &mut [Worker], cx: &mut Loader) {
    for pending in std::mem::take(&mut cx.pending_rest_callees) {
        let transports: Vec<&TransportConfig> =
            routers.iter().flat_map(|w| &w.transports).collect();
        let whose = match pending.role {
            Some(_) => "the component's role",
            None => "its transport's anonymous role",
        };
        let role = pending.role.clone().unwrap_or_else(|| {
            pending
                .port
                .and_then(|port| anonymous_role(&transports, port))
                .unwrap_or_else(|| "anonymous".to_owned())
        });
        let procedure = &pending.callee.procedure;
        let realm = routers
            .iter_mut()
            .flat_map(|w| &mut w.realms)
            .find(|r| r.name == pending.realm);
        let reason = match realm {
            None => format!("realm \"{}\" is not defined", pending.realm),
            Some(realm) if role != TRUSTED_ROLE && !realm.roles.iter().any(|r| r.name == role) => {
                format!(
                    "role \"{role}\" ({whose}) is not defined in realm \"{}\"",
                    realm.name
                )
            }
            Some(realm) if realm.http_callees.iter().any(|c| &c.procedure == procedure) => {
                format!(
                    "procedure \"{procedure}\" is an HTTP callee of realm \"{}\" already",
                    realm.name
                )
            }
            Some(realm) => {
                let mut callee = pending.callee;
                callee.role = role;
                realm.http_callees.push(callee);
                continue;
            }
        };
        cx.not_run.push(NotRun {
            path: pending.callee.path.clone(),
            what: format!("RESTCallee component ({procedure}): {reason}"),
            instead:
                "define the realm and role, or run it as an HTTP callee (realms[].http_callees)"
                    .to_owned(),
        });
    }
}

/// The role of a static anonymous login on the transport listening on `port` (its WebSocket
/// or RawSocket service, or the first WebSocket path of a web transport).
fn anonymous_role(transports: &[&TransportConfig], port: u16) -> Option<String> {
    let transport = transports
        .iter()
        .find(|t| matches!(&t.endpoint, Endpoint::Tcp(tcp) if tcp.port == port))?;
    let auth = match &transport.kind {
        TransportKind::WebSocket(ws) => &ws.auth,
        TransportKind::RawSocket(rs) => &rs.auth,
        TransportKind::Web { paths, .. } | TransportKind::Universal { paths, .. } => {
            paths.values().find_map(|service| match service {
                PathService::WebSocket(ws) => Some(&ws.auth),
                _ => None,
            })?
        }
    };
    let anonymous = auth.anonymous.as_ref()?;
    (anonymous.dynamic.is_none()).then(|| anonymous.role.clone())
}

#[cfg(test)]
mod tests {
    use crate::config::model::RequestMapping;

    /// A router with realm1 (roles `roles`) and a web transport on 8080 whose WebSocket path
    /// logs anonymous sessions in as `frontend`, then a container with `components`.
    fn config(roles: &str, components: &str) -> String {
        format!(
            r#"{{"version": 2, "workers": [
                {{"type": "container", "components": [{components}]}},
                {{"type": "router",
                  "realms": [{{"name": "realm1", "roles": [{roles}]}}],
                  "transports": [{{"type": "web",
                      "endpoint": {{"type": "tcp", "port": 8080}},
                      "paths": {{"ws": {{"type": "websocket", "auth": {{"anonymous":
                          {{"type": "static", "role": "frontend"}}}}}}}}}}]}}]}}"#
        )
    }

    fn rest_callee(classname: &str, port: u16, extra: &str) -> String {
        format!(
            r#"{{"type": "class", "classname": "{classname}", "realm": "realm1",
                "extra": {extra},
                "transport": {{"type": "websocket", "url": "ws://127.0.0.1:{port}/ws",
                               "endpoint": {{"type": "tcp", "host": "127.0.0.1", "port": {port}}}}}}}"#
        )
    }

    const EXTRA: &str =
        r#"{"procedure": "com.example.rest", "baseurl": "http://127.0.0.1:9000/api/"}"#;
    const FRONTEND: &str = r#"{"name": "frontend", "permissions": []}"#;

    #[test]
    fn a_rest_callee_runs_as_the_transports_anonymous_role() {
        for classname in [
            "crossbar.bridge.rest.RESTCallee",
            "crossbar.adapter.rest.RESTCallee",
        ] {
            let text = config(FRONTEND, &rest_callee(classname, 8080, EXTRA));
            let loaded = crate::config::load_str(&text).unwrap();
            assert!(loaded.not_run.is_empty(), "{:?}", loaded.not_run);
            let callee = &loaded.workers[0].realms[0].http_callees[0];
            assert_eq!(callee.procedure, "com.example.rest");
            assert_eq!(callee.role, "frontend");
            assert_eq!(callee.mapping, RequestMapping::CrossbarRest);
            assert_eq!(callee.path, "workers[0].components[0]");
        }
    }

    #[test]
    fn another_port_means_anonymous_and_a_missing_role_keeps_it_not_run() {
        let text = config(
            FRONTEND,
            &rest_callee("crossbar.bridge.rest.RESTCallee", 9999, EXTRA),
        );
        let loaded = crate::config::load_str(&text).unwrap();
        assert!(loaded.workers[0].realms[0].http_callees.is_empty());
        let part = &loaded.not_run[0];
        assert_eq!(part.path, "workers[0].components[0]");
        assert!(part.what.contains("role \"anonymous\""), "{}", part.what);
        let anonymous = r#"{"name": "anonymous", "permissions": []}"#;
        let text = config(
            anonymous,
            &rest_callee("crossbar.bridge.rest.RESTCallee", 9999, EXTRA),
        );
        let loaded = crate::config::load_str(&text).unwrap();
        assert_eq!(
            loaded.workers[0].realms[0].http_callees[0].role,
            "anonymous"
        );
    }

    /// A router worker with realm1 (roles `backend` and `anonymous`) running `component`.
    fn router_config(component: &str) -> String {
        format!(
            r#"{{"version": 2, "workers": [{{"type": "router",
                "realms": [{{"name": "realm1", "roles": [{{"name": "backend"}}, {{"name": "anonymous"}}]}}],
                "components": [{component}]}}]}}"#
        )
    }

    #[test]
    fn a_router_component_rest_callee_runs_as_its_role_else_anonymous() {
        let component = |role: &str| {
            format!(
                r#"{{"type": "class", "classname": "crossbar.bridge.rest.RESTCallee",
                    "realm": "realm1"{role}, "extra": {EXTRA}}}"#
            )
        };
        for (role, expected) in [(r#", "role": "backend""#, "backend"), ("", "anonymous")] {
            let text = router_config(&component(role));
            let loaded = crate::config::load_str(&text).unwrap();
            assert!(loaded.not_run.is_empty(), "{:?}", loaded.not_run);
            let callee = &loaded.workers[0].realms[0].http_callees[0];
            assert_eq!(callee.role, expected);
            assert_eq!(callee.mapping, RequestMapping::CrossbarRest);
            assert_eq!(callee.path, "workers[0].components[0]");
        }
        let text = router_config(&component(r#", "role": "nobody""#));
        let loaded = crate::config::load_str(&text).unwrap();
        assert!(loaded.workers[0].realms[0].http_callees.is_empty());
        assert_eq!(loaded.not_run[0].path, "workers[0].components[0]");
        assert!(
            loaded.not_run[0].what.contains("role \"nobody\""),
            "{}",
            loaded.not_run[0].what
        );
    }

    #[test]
    fn other_components_of_the_container_stay_not_run() {
        let other = r#"{"type": "class", "classname": "myapp.Backend", "realm": "realm1"}"#;
        let rest = rest_callee("crossbar.bridge.rest.RESTCallee", 8080, EXTRA);
        let loaded =
            crate::config::load_str(&config(FRONTEND, &format!("{rest}, {other}"))).unwrap();
        assert_eq!(loaded.workers[0].realms[0].http_callees.len(), 1);
        assert_eq!(loaded.not_run.len(), 1);
        assert!(loaded.not_run[0].what.contains("myapp.Backend"));
        assert!(!loaded.not_run[0].what.contains("RESTCallee"));
    }

    #[test]
    fn errors_name_the_json_path() {
        let cases = [
            (
                r#"{"procedure": "com.example.rest"}"#,
                "extra.baseurl",
                "required",
            ),
            (r#"{"baseurl": "http://x/"}"#, "extra.procedure", "required"),
            (
                r#"{"procedure": "a..b", "baseurl": "http://x/"}"#,
                "extra.procedure",
                "not a procedure",
            ),
            (
                r#"{"procedure": "a.b", "baseurl": "nope"}"#,
                "extra.baseurl",
                "URL",
            ),
            (
                r#"{"procedure": "a.b", "baseurl": "http://x/", "x": 1}"#,
                "extra.x",
                "unknown key",
            ),
        ];
        for (extra, key, message) in cases {
            let text = config(
                FRONTEND,
                &rest_callee("crossbar.bridge.rest.RESTCallee", 8080, extra),
            );
            let e = crate::config::load_str(&text).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("workers[0].components[0].{key}")),
                "{e}"
            );
            assert!(e.contains(message), "{e}");
        }
    }
}
