//! The dashboard's JSON API (everything below `<path>/api/` but login, logout and the tail):
//! what the page shows, read from the router, the pollers and the metrics when asked. Lists
//! and kills go through the meta API's own code (`router::internal::meta_call`), so the
//! dashboard sees and does exactly what `wamp.session.*`, `wamp.subscription.*` and
//! `wamp.registration.*` offer.

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::{Value as Json, json};

use crate::http::process_stats;
use crate::http::response::HttpResponse;
use crate::poller::supervisor::{Pollers, TopicsError};
use crate::router::Router;
use crate::router::internal::meta_call;
use crate::router::realm::Realm;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

use super::reply::{error, ok};

/// When this path's table was made: the node's start, for `uptime_s`.
pub fn overview(router: &Router, started: std::time::Instant) -> HttpResponse {
    let realms: Vec<Json> = realms(router, None)
        .iter()
        .map(|realm| {
            let gauges = realm.gauges();
            json!({
                "name": realm.name,
                "sessions": gauges.sessions.values().sum::<usize>(),
                "sessions_by_transport": gauges.sessions,
                "subscriptions": gauges.subscriptions,
                "registrations": gauges.registrations,
            })
        })
        .collect();
    ok(&json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": started.elapsed().as_secs(),
        "connections": router.open_connections(),
        "process": {
            "resident_memory_bytes": process_stats::resident_memory_bytes(),
            "open_fds": process_stats::open_fds(),
        },
        "realms": realms,
    }))
}

/// The realms a request is about: `realm=R`, or every realm.
fn realms(router: &Router, only: Option<&str>) -> Vec<Arc<Realm>> {
    router
        .realm_names()
        .iter()
        .filter(|name| only.is_none_or(|only| only == name.as_str()))
        .filter_map(|name| router.realm(name))
        .collect()
}

/// The realm `realm=R` names, or a 404 answer (400 when missing).
fn one_realm(router: &Router, realm: Option<&str>) -> Result<Arc<Realm>, Box<HttpResponse>> {
    let Some(name) = realm else {
        let missing = error(StatusCode::BAD_REQUEST, "the realm parameter is missing");
        return Err(Box::new(missing));
    };
    router.realm(name).ok_or_else(|| {
        let unknown = error(StatusCode::NOT_FOUND, &format!("no realm \"{name}\""));
        Box::new(unknown)
    })
}

/// At most this many sessions are listed (the first to join); `X-Total-Count` tells how many
/// there are, so a node with a hundred thousand clients does not send them all every 2 s.
const MAX_SESSIONS_LISTED: usize = 1000;

/// Client sessions (internal ones are not listed) of `realm`, or of every realm, in the order
/// they joined.
pub fn sessions(router: &Router, realm: Option<&str>) -> HttpResponse {
    if let Some(name) = realm
        && router.realm(name).is_none()
    {
        return error(StatusCode::NOT_FOUND, &format!("no realm \"{name}\""));
    }
    let mut joined: Vec<_> = realms(router, realm)
        .into_iter()
        .flat_map(|realm| {
            let sessions = realm.sessions.select(|s| !s.peer.internal);
            sessions.into_iter().map(move |s| (Arc::clone(&realm), s))
        })
        .collect();
    let total = joined.len();
    joined.sort_by_key(|(_, s)| (s.joined_at, s.peer.session));
    joined.truncate(MAX_SESSIONS_LISTED);
    let rows: Vec<Json> = joined
        .iter()
        .map(|(realm, session)| {
            let (messages_in, messages_out) = session.messages();
            json!({
                "session": session.peer.session,
                "realm": realm.name,
                "authid": session.peer.authid,
                "authrole": session.peer.authrole,
                "authmethod": session.authmethod,
                "transport": session.transport.kind,
                "peer": session.transport.peer,
                "joined_at": session.joined_at.to_string(),
                "messages_in": messages_in,
                "messages_out": messages_out,
            })
        })
        .collect();
    let mut answer = ok(&rows);
    answer
        .headers_mut()
        .insert("x-total-count", hyper::header::HeaderValue::from(total));
    answer
}

/// Kills a client session as `wamp.session.kill` does: GOODBYE, then its transport closes.
pub fn kill(router: &Router, realm: Option<&str>, session: &str) -> HttpResponse {
    let realm = match one_realm(router, realm) {
        Ok(realm) => realm,
        Err(answer) => return *answer,
    };
    let Ok(id) = session.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "a session id is a number");
    };
    let mut kwargs = Dict::new();
    kwargs.insert(
        "message".into(),
        Value::from("killed from the admin dashboard"),
    );
    let payload = Payload {
        args: Some(vec![Value::from(id)]),
        kwargs: Some(kwargs),
    };
    match meta_call(&realm, "wamp.session.kill", &payload) {
        Ok(_) => ok(&json!({"killed": id})),
        Err(e) => error(StatusCode::NOT_FOUND, &e.message),
    }
}

/// The realm's subscriptions or registrations (`kind` names which): pattern, match policy and
/// how many subscribers or callees each has, through the meta API's list, get and count.
pub fn patterns(router: &Router, realm: Option<&str>, kind: &str) -> HttpResponse {
    let realm = match one_realm(router, realm) {
        Ok(realm) => realm,
        Err(answer) => return *answer,
    };
    let (list, get, count) = match kind {
        "subscription" => (
            "wamp.subscription.list",
            "wamp.subscription.get",
            "wamp.subscription.count_subscribers",
        ),
        _ => (
            "wamp.registration.list",
            "wamp.registration.get",
            "wamp.registration.count_callees",
        ),
    };
    let first =
        |payload: Result<Payload, _>| -> Option<Value> { payload.ok()?.args?.into_iter().next() };
    let mut rows = Vec::new();
    let Some(Value::Dict(by_policy)) = first(meta_call(&realm, list, &Payload::default())) else {
        return ok(&rows);
    };
    for ids in by_policy.values() {
        let Value::List(ids) = ids else { continue };
        for id in ids {
            let asking = Payload {
                args: Some(vec![id.clone()]),
                kwargs: None,
            };
            // Gone between the list and the get: not shown.
            let (Some(Value::Dict(details)), Some(count)) = (
                first(meta_call(&realm, get, &asking)),
                first(meta_call(&realm, count, &asking)),
            ) else {
                continue;
            };
            rows.push(json!({
                "id": details.get("id"),
                "uri": details.get("uri"),
                "match": details.get("match"),
                "invoke": details.get("invoke"),
                "created": details.get("created"),
                "count": count,
            }));
        }
    }
    rows.sort_by(|a, b| a["uri"].as_str().cmp(&b["uri"].as_str()));
    ok(&rows)
}

/// Every poller topic of every realm: health, last poll, seq, and the last poll records.
pub async fn pollers(pollers: &Pollers) -> HttpResponse {
    let mut rows = Vec::new();
    for realm in pollers.realms() {
        for view in realm.list().await {
            let name = view["name"].as_str().unwrap_or_default().to_owned();
            let records = realm.polls(&name).await.unwrap_or_default();
            rows.push(json!({
                "realm": realm.realm_name(),
                "topic": name,
                "origin": view["origin"],
                "seq": view["seq"],
                "polls": view["polls"],
                "lastSuccess": view["lastSuccess"],
                "lastError": view["lastError"],
                "healthy": view["lastError"].is_null(),
                "records": records.iter().take(10).collect::<Vec<_>>(),
            }));
        }
    }
    ok(&rows)
}

/// Asks a poller topic to poll now.
pub fn poll_now(pollers: &Pollers, realm: &str, topic: &str) -> HttpResponse {
    let Some(realm_pollers) = pollers.realm(realm) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no poller topics in realm \"{realm}\""),
        );
    };
    match realm_pollers.poll_now(topic) {
        Ok(()) => ok(&json!({"polling": topic})),
        Err(e @ TopicsError::NotFound(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
