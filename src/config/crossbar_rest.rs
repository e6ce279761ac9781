//! Crossbar's REST bridge components that Junction runs natively: a `container` or `router`
//! worker's `MessageForwarder` (`crossbar.bridge.rest.MessageForwarder`, or the older
//! `crossbar.adapter.rest.MessageForwarder`) becomes HTTP subscribers of its realm that send
//! Crossbar's body (`{"args": [...], "kwargs": {...}}`), so a receiver written for Crossbar
//! works unchanged (README.md, "HTTP subscriber").
//!
//! The subscriptions are made as the role Crossbar's component would have had: in a
//! container, the role that the anonymous auth of the router transport its
//! `transport.endpoint` port points to gives, else `anonymous`; in a router, its `role`, else
//! `anonymous`. When that role is not in the realm, the component stays "not run" and says
//! why.

use crate::config::http_subscriber::{match_policy, topic, url};
use crate::config::loader::Loader;
use crate::config::model::{
    BodyShape, Endpoint, HttpSubscriberConfig, NotRun, PathService, RealmConfig, SubscriberMethod,
    TRUSTED_ROLE, TransportConfig, TransportKind, UriCheck, Worker,
};
use crate::config::node::{Node, Obj, Result};

/// The class names of Crossbar's message forwarder.
const FORWARDER_CLASSES: [&str; 2] = [
    "crossbar.bridge.rest.MessageForwarder",
    "crossbar.adapter.rest.MessageForwarder",
];

/// The `MessageForwarder` components of `container`, each either added to its realm in
/// `routers` as HTTP subscribers or listed as not run with the reason. Returns the JSON paths
/// of the components handled here (the container lists only the others).
pub(crate) fn message_forwarders(
    container: &Obj,
    routers: &mut [Worker],
    cx: &mut Loader,
) -> Result<Vec<String>> {
    each_forwarder(container, cx, |component, cx| {
        let role = anonymous_role(component, routers)?;
        let realms = routers.iter_mut().flat_map(|w| w.realms.iter_mut());
        forwarder(component, role, realms, cx)
    })
}

/// The `MessageForwarder` components of a router worker (`router`), run in its `realms` as
/// the component's `role`, `anonymous` when it names none (as Crossbar adds a router
/// component's session). Returns their JSON paths.
pub(crate) fn router_forwarders(
    router: &Obj,
    realms: &mut [RealmConfig],
    cx: &mut Loader,
) -> Result<Vec<String>> {
    each_forwarder(router, cx, |component, cx| {
        let role = router_component_role(component)?;
        forwarder(component, role, realms.iter_mut(), cx)
    })
}

/// The role a router worker's component joins as: its `role`, else `anonymous` (Crossbar's
/// default for a session it adds next to the router).
pub(crate) fn router_component_role(component: &Obj) -> Result<String> {
    match component.get("role") {
        Some(role) => Ok(role.str()?.to_owned()),
        None => Ok("anonymous".to_owned()),
    }
}

/// Runs `run` on each `MessageForwarder` in `worker`'s `components`; their JSON paths.
fn each_forwarder(
    worker: &Obj,
    cx: &mut Loader,
    mut run: impl FnMut(&Obj, &mut Loader) -> Result<()>,
) -> Result<Vec<String>> {
    let Some(list) = worker.get("components") else {
        return Ok(Vec::new());
    };
    let mut handled = Vec::new();
    for item in list.array()? {
        let component = item.object()?;
        let class = component.get("classname").and_then(|c| c.str().ok());
        if class.is_some_and(|c| FORWARDER_CLASSES.contains(&c)) {
            run(&component, cx)?;
            handled.push(item.path);
        }
    }
    Ok(handled)
}

/// One `MessageForwarder` component, subscribing as `role` in its realm among `realms`.
fn forwarder<'a>(
    component: &Obj,
    role: String,
    realms: impl IntoIterator<Item = &'a mut RealmConfig>,
    cx: &mut Loader,
) -> Result<()> {
    component.only(&[
        "type",
        "id",
        "realm",
        "role",
        "classname",
        "extra",
        "transport",
    ])?;
    let class = component.required("classname")?.str()?;
    let realm_node = component.required("realm")?;
    let realm_name = realm_node.str()?;
    let extra = component.required("extra")?.object()?;
    extra.keys(
        &["subscriptions", "method", "expectedcode"],
        &["debug"],
        &mut cx.ignored,
    )?;
    let method = match extra.opt("method", |n| n.one_of(&["POST", "PUT"]))? {
        Some("PUT") => SubscriberMethod::Put,
        _ => SubscriberMethod::Post,
    };
    let expected = extra
        .opt("expectedcode", |n| n.u64_in(100, 599))?
        .map(|code| code as u16);
    let what = format!("Crossbar MessageForwarder (class {class}, realm {realm_name})");
    let Some(realm) = realms.into_iter().find(|r| r.name == realm_name) else {
        not_run(
            cx,
            component,
            format!("{what}: realm \"{realm_name}\" is not defined"),
        );
        return Ok(());
    };
    let problem = match realm.roles.iter().find(|r| r.name == role) {
        None if role == TRUSTED_ROLE => None,
        None => Some("is not defined"),
        Some(r) if r.authorizer.is_some() => Some("is dynamically authorized (authorizer)"),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        let reason = format!("role \"{role}\" {problem} in realm \"{realm_name}\"");
        not_run(cx, component, format!("{what}: {reason}"));
        return Ok(());
    }
    for item in extra.required("subscriptions")?.array()? {
        let mut subscriber = subscription(&item, realm, &role, cx)?;
        subscriber.method = method;
        subscriber.expected_status = expected;
        realm.http_subscribers.push(subscriber);
    }
    Ok(())
}

/// One `extra.subscriptions[]` entry: `topic`, `url`, `match`.
fn subscription(
    node: &Node,
    realm: &RealmConfig,
    role: &str,
    cx: &Loader,
) -> Result<HttpSubscriberConfig> {
    let obj = node.object()?;
    obj.only(&["topic", "url", "match"])?;
    let policy = match_policy(&obj)?;
    let strict = realm.uri_check == UriCheck::Strict;
    let topic = topic(&obj.required("topic")?, policy, strict)?;
    let url = url(&obj.required("url")?, cx)?;
    let mut subscriber = HttpSubscriberConfig::new(
        &node.path,
        node.path.clone(),
        topic,
        policy,
        url,
        role.to_owned(),
    );
    subscriber.body = BodyShape::Crossbar;
    Ok(subscriber)
}

/// The role of an anonymous session on the router transport listening on the component's
/// `transport.endpoint.port`, else `anonymous`.
fn anonymous_role(component: &Obj, routers: &[Worker]) -> Result<String> {
    let port = match component.get("transport") {
        Some(transport) => transport
            .object()?
            .get("endpoint")
            .and_then(|e| e.value.get("port"))
            .and_then(serde_json::Value::as_u64),
        None => None,
    };
    let role = routers
        .iter()
        .flat_map(|w| &w.transports)
        .filter(|t| port.is_some() && tcp_port(t) == port)
        .find_map(transport_anonymous_role);
    Ok(role.unwrap_or_else(|| "anonymous".to_owned()))
}

fn tcp_port(transport: &TransportConfig) -> Option<u64> {
    match &transport.endpoint {
        Endpoint::Tcp(tcp) => Some(u64::from(tcp.port)),
        Endpoint::Unix(_) => None,
    }
}

/// The static anonymous role of the transport's first WAMP service that allows anonymous.
fn transport_anonymous_role(transport: &TransportConfig) -> Option<String> {
    let mut auths = Vec::new();
    match &transport.kind {
        TransportKind::WebSocket(ws) => auths.push(&ws.auth),
        TransportKind::RawSocket(rs) => auths.push(&rs.auth),
        TransportKind::Web { paths, .. } | TransportKind::Universal { paths, .. } => {
            if let TransportKind::Universal {
                rawsocket: Some(rs),
                ..
            } = &transport.kind
            {
                auths.push(&rs.auth);
            }
            for service in paths.values() {
                if let PathService::WebSocket(ws) = service {
                    auths.push(&ws.auth);
                }
            }
        }
    }
    auths
        .into_iter()
        .filter_map(|auth| auth.anonymous.as_ref())
        .map(|anonymous| anonymous.role.clone())
        .find(|role| !role.is_empty())
}

fn not_run(cx: &mut Loader, component: &Obj, what: String) {
    cx.not_run.push(NotRun {
        path: component.path.clone(),
        what,
        instead: "define that role (allowed to subscribe) in the realm, or write the \
                  subscriptions as the realm's http_subscribers"
            .to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use crate::config::load::testing::{error, load};
    use crate::config::model::{BodyShape, SubscriberMethod};
    use crate::wamp::uri::MatchPolicy;

    /// A Crossbar config: the container first (order does not matter), then a router whose
    /// port 8080 gives anonymous sessions `frontend`.
    fn config(component_port: u16, extra: &str, classname: &str) -> String {
        format!(
            r#"{{"version": 2, "workers": [
            {{"type": "container", "options": {{"pythonpath": [".."]}}, "components": [
                {{"type": "class", "classname": "{classname}", "realm": "realm1",
                  "extra": {extra},
                  "transport": {{"type": "websocket", "url": "ws://127.0.0.1:{component_port}/ws",
                                "endpoint": {{"type": "tcp", "host": "127.0.0.1", "port": {component_port}}}}}}},
                {{"type": "class", "classname": "app.Other", "realm": "realm1"}}]}},
            {{"type": "router", "realms": [{{"name": "realm1", "roles": [{{"name": "frontend"}}]}}],
              "transports": [{{"type": "web", "endpoint": {{"type": "tcp", "port": 8080}},
                "paths": {{"ws": {{"type": "websocket", "auth": {{"anonymous": {{"type": "static", "role": "frontend"}}}}}}}}}}]}}]}}"#
        )
    }

    const EXTRA: &str = r#"{"subscriptions": [{"url": "http://h/a?k=v", "topic": "com.a"},
        {"url": "http://h/b", "topic": "com.b.", "match": "prefix"}],
        "method": "PUT", "expectedcode": 201, "debug": true}"#;

    #[test]
    fn a_message_forwarder_runs_as_http_subscribers_with_the_transport_role() {
        for class in [
            "crossbar.bridge.rest.MessageForwarder",
            "crossbar.adapter.rest.MessageForwarder",
        ] {
            let loaded = load(&config(8080, EXTRA, class));
            let subscribers = &loaded.workers[0].realms[0].http_subscribers;
            assert_eq!(subscribers.len(), 2);
            let a = &subscribers[0];
            assert_eq!(a.name, "workers[0].components[0].extra.subscriptions[0]");
            assert_eq!((a.topic.as_str(), a.role.as_str()), ("com.a", "frontend"));
            assert_eq!(a.url_shown, "http://h/a");
            assert_eq!(a.body, BodyShape::Crossbar);
            assert_eq!(a.method, SubscriberMethod::Put);
            assert_eq!(a.expected_status, Some(201));
            assert_eq!(subscribers[1].policy, MatchPolicy::Prefix);
            // The other component is still listed; the forwarder is not.
            assert_eq!(loaded.not_run.len(), 1);
            assert!(
                loaded.not_run[0].what.contains("app.Other"),
                "{:?}",
                loaded.not_run
            );
            assert!(!loaded.not_run[0].what.contains("MessageForwarder"));
            assert!(
                loaded
                    .ignored
                    .contains(&"workers[0].components[0].extra.debug".to_owned())
            );
        }
    }

    /// A router worker that runs a MessageForwarder among its own components, with `role`
    /// (a JSON fragment: none, or `, "role": ...`).
    fn router_config(role: &str) -> String {
        format!(
            r#"{{"version": 2, "workers": [{{"type": "router",
            "realms": [{{"name": "realm1", "roles": [{{"name": "backend"}}, {{"name": "anonymous"}}]}}],
            "components": [
                {{"type": "class", "classname": "app.Other", "realm": "realm1"}},
                {{"type": "class", "classname": "crossbar.bridge.rest.MessageForwarder",
                  "realm": "realm1"{role}, "extra": {EXTRA}}}]}}]}}"#
        )
    }

    #[test]
    fn a_router_component_forwarder_runs_as_its_role_else_anonymous() {
        for (role, expected) in [(r#", "role": "backend""#, "backend"), ("", "anonymous")] {
            let loaded = load(&router_config(role));
            let subscribers = &loaded.workers[0].realms[0].http_subscribers;
            assert_eq!(subscribers.len(), 2, "{:?}", loaded.not_run);
            assert_eq!(subscribers[0].role, expected);
            assert_eq!(
                subscribers[1].name,
                "workers[0].components[1].extra.subscriptions[1]"
            );
            assert_eq!(subscribers[1].body, BodyShape::Crossbar);
            // The other component is still listed; the forwarder is not.
            assert_eq!(loaded.not_run.len(), 1, "{:?}", loaded.not_run);
            assert!(loaded.not_run[0].what.contains("app.Other"));
        }
        let loaded = load(&router_config(r#", "role": "nobody""#));
        assert!(loaded.workers[0].realms[0].http_subscribers.is_empty());
        let listed = loaded
            .not_run
            .iter()
            .find(|part| part.path == "workers[0].components[1]")
            .expect("listed as not run");
        assert!(
            listed
                .what
                .ends_with("role \"nobody\" is not defined in realm \"realm1\""),
            "{}",
            listed.what
        );
    }

    #[test]
    fn without_a_matching_transport_the_role_is_anonymous_and_missing() {
        let loaded = load(&config(9, EXTRA, "crossbar.bridge.rest.MessageForwarder"));
        assert!(loaded.workers[0].realms[0].http_subscribers.is_empty());
        let listed = &loaded.not_run[0];
        assert_eq!(listed.path, "workers[0].components[0]");
        assert!(
            listed
                .what
                .ends_with("role \"anonymous\" is not defined in realm \"realm1\""),
            "{}",
            listed.what
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let class = "crossbar.bridge.rest.MessageForwarder";
        let cases = [
            (
                r#"{"method": "POST"}"#,
                "extra.subscriptions: required key is missing",
            ),
            (
                r#"{"subscriptions": [{"url": "http://h/"}]}"#,
                "extra.subscriptions[0].topic: required key is missing",
            ),
            (
                r#"{"subscriptions": [{"topic": "com.a", "url": "mailto:x"}]}"#,
                "extra.subscriptions[0].url: the URL must start with http",
            ),
            (
                r#"{"subscriptions": [], "method": "DELETE"}"#,
                "extra.method: expected one of POST, PUT",
            ),
            (
                r#"{"subscriptions": [], "expectedcode": 42}"#,
                "extra.expectedcode: 42 is out of range",
            ),
            (
                r#"{"subscriptions": [], "retries": 3}"#,
                "extra.retries: unknown key",
            ),
        ];
        for (extra, expected) in cases {
            let message = error(&config(8080, extra, class));
            assert!(
                message.starts_with(&format!("workers[0].components[0].{expected}")),
                "{extra}\n-> {message}"
            );
        }
    }
}
