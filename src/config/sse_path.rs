//! An `sse` path: a realm's events as Server-Sent Events, subscribed and authorized as the
//! path's `role` (`realm` and `role` as for the HTTP bridge), with the name each event is sent
//! under (`event`), the heartbeat period (`heartbeat`, seconds), the reconnect hint (`retry`,
//! milliseconds) and how many events may wait for a slow reader (`queue`).

use std::time::Duration;

use crate::config::auth::load_ticket;
use crate::config::bridge::{load_networks, realm_and_role};
use crate::config::loader::Loader;
use crate::config::model::{
    DEFAULT_SSE_HEARTBEAT, DEFAULT_SSE_QUEUE, DEFAULT_SSE_RETRY_MS, PathService, SseEventName,
    SseService,
};
use crate::config::model::{RealmConfig, TRUSTED_ROLE};
use crate::config::node::{Node, Obj, Result};
use crate::config::{ConfigError, TicketAuth};

pub(super) fn load_sse_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(
        &[
            "type",
            "realm",
            "role",
            "event",
            "heartbeat",
            "retry",
            "queue",
            "auth",
            "require_ip",
        ],
        &["debug"],
        &mut cx.ignored,
    )?;
    let (realm, role) = realm_and_role(obj, cx)?;
    let event = match obj.get("event") {
        None => SseEventName::Message,
        Some(node) => match node.non_empty_str()? {
            "topic" => SseEventName::Topic,
            name if name.contains(['\n', '\r']) => {
                return Err(node.error("an event name is one line"));
            }
            name => SseEventName::Fixed(name.to_owned()),
        },
    };
    let heartbeat = obj
        .opt("heartbeat", |n| n.u64_in(1, 3600))?
        .map_or(DEFAULT_SSE_HEARTBEAT, Duration::from_secs);
    let retry_ms = obj
        .opt("retry", |n| n.u64_in(0, 3_600_000))?
        .unwrap_or(DEFAULT_SSE_RETRY_MS);
    let queue = obj
        .opt("queue", |n| n.u64_in(1, 1_000_000))?
        .map_or(DEFAULT_SSE_QUEUE, |n| n as usize);
    let ticket = obj.get("auth").map(|n| load_auth(&n, cx)).transpose()?;
    if let Some(ticket) = &ticket {
        check_principal_roles(obj, ticket, &realm)?;
    }
    let require_ip = obj
        .get("require_ip")
        .map(|n| load_networks(&n))
        .transpose()?;
    Ok(PathService::Sse(SseService {
        realm: realm.name,
        role,
        event,
        heartbeat,
        retry_ms,
        queue,
        ticket,
        require_ip,
    }))
}

/// `"auth": {"ticket": {...}}`: the ticket method of a WebSocket transport's `auth`, static
/// principals or a dynamic authenticator; the only one an HTTP GET can carry.
fn load_auth(node: &Node, cx: &mut Loader) -> Result<TicketAuth> {
    let obj = node.object()?;
    for (key, _) in obj.entries() {
        if key != "ticket" {
            return Err(obj.key_error(
                key,
                "an sse path takes ticket authentication only (a bearer token or query parameter)",
            ));
        }
    }
    load_ticket(&obj.required("ticket")?, cx)
}

/// Each static principal's role is one the path's realm defines (or the built-in `trusted`):
/// its streams are subscribed as that role.
fn check_principal_roles(obj: &Obj, ticket: &TicketAuth, realm: &RealmConfig) -> Result<()> {
    for (authid, principal) in &ticket.principals {
        let role = &principal.role;
        if role != TRUSTED_ROLE && !realm.roles.iter().any(|r| &r.name == role) {
            let path = format!("{}.auth.ticket.principals.{authid}.role", obj.path);
            return Err(ConfigError::new(
                path,
                format!("role \"{role}\" is not defined in realm \"{}\"", realm.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::PathService;
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{SseEventName, SseService};

    fn load(path: &str) -> Result<crate::config::Config, String> {
        load_str_with_env(&web_worker(REALM1, path), &|_: &str| None).map_err(|e| e.to_string())
    }

    const P: &str = "workers[0].transports[0].paths.events";

    /// The `/events` path of a config with `path` in its paths, which must load.
    fn sse_path(path: &str) -> SseService {
        let config = load(path).unwrap();
        let paths = config.workers[0].transports[0].kind.paths().unwrap();
        match paths.get("/events") {
            Some(PathService::Sse(sse)) => sse.clone(),
            other => panic!("an sse path: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_options() {
        let sse = sse_path(r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous"}"#);
        assert_eq!(sse.event, SseEventName::Message);
        assert_eq!(sse.heartbeat.as_secs(), 15);
        assert_eq!((sse.retry_ms, sse.queue), (3000, 1000));
        let sse = sse_path(
            r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous",
                "event": "topic", "heartbeat": 2, "retry": 500, "queue": 10}"#,
        );
        assert_eq!(sse.event, SseEventName::Topic);
        assert_eq!(
            (sse.heartbeat.as_secs(), sse.retry_ms, sse.queue),
            (2, 500, 10)
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let error = |path: &str| load(path).unwrap_err();
        assert_eq!(
            error(r#""events": {"type": "sse", "role": "anonymous"}"#),
            format!("{P}.realm: required key is missing")
        );
        assert!(
            error(r#""events": {"type": "sse", "realm": "nope", "role": "anonymous"}"#)
                .starts_with(&format!("{P}.realm: realm \"nope\" is not defined"))
        );
        assert!(
            error(
                r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous", "queue": 0}"#
            )
            .starts_with(&format!("{P}.queue:"))
        );
        assert!(
            error(r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous", "topics": 1}"#)
                .starts_with(&format!("{P}: unknown key"))
                || error(r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous", "topics": 1}"#)
                    .starts_with(&format!("{P}.topics"))
        );
    }

    #[test]
    fn auth_takes_a_ticket_method_and_require_ip_networks() {
        let sse = sse_path(
            r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous",
                "auth": {"ticket": {"type": "static", "principals":
                    {"alice": {"ticket": "t", "role": "anonymous"}}}},
                "require_ip": ["10.0.0.0/8"]}"#,
        );
        let ticket = sse.ticket.as_ref().expect("ticket auth");
        assert_eq!(ticket.principals["alice"].role, "anonymous");
        assert_eq!(sse.require_ip.as_ref().map(Vec::len), Some(1));
        let error = |path: &str| load(path).unwrap_err();
        assert_eq!(
            error(
                r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous",
                    "auth": {"wampcra": {}}}"#
            ),
            format!(
                "{P}.auth.wampcra: an sse path takes ticket authentication only (a bearer \
                 token or query parameter)"
            )
        );
        assert!(
            error(
                r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous",
                    "auth": {"ticket": {"type": "static", "principals":
                        {"alice": {"ticket": "t", "role": "nobody"}}}}}"#
            )
            .starts_with(&format!("{P}.auth.ticket.principals.alice.role:"))
        );
        assert!(
            error(
                r#""events": {"type": "sse", "realm": "realm1", "role": "anonymous",
                    "require_ip": ["bogus"]}"#
            )
            .starts_with(&format!("{P}.require_ip[0]:"))
        );
    }
}
