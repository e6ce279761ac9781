//! Who may open a stream on an `sse` path: the client's address against `require_ip`, then,
//! on a path with `auth.ticket`, its ticket, checked like a WAMP ticket login: static
//! principals compared in constant time, or the dynamic authenticator called with Crossbar's
//! `(realm, authid, details)`. The ticket comes as `Authorization: Bearer <ticket>` or, for
//! `EventSource` (which cannot set headers), as the `ticket` query parameter; `authid` (query)
//! names the principal, else the principal whose ticket it is. Failures count in the process's
//! failed-login table, so past its burst an address waits (429) whatever it sends.

use std::net::IpAddr;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::config::model::SseService;
use crate::config::{DEFAULT_MAX_FAILED_LOGINS, TicketAuth};
use crate::http::requester::{ClientIp, Requester};
use crate::http::response::{self, HttpResponse};
use crate::router::Router;
use crate::router::auth::dynamic::{self, Pending};
use crate::router::auth::{FailedLogins, Refusal};
use crate::router::session_table::TransportInfo;
use crate::wamp::error as uri_error;
use crate::wamp::id;
use crate::wamp::value::Dict;

/// The identity a stream subscribes as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub authid: String,
    pub role: String,
}

/// The authid of streams on a path without `auth`.
const ANONYMOUS_AUTHID: &str = "sse";

/// The reader `req` is, or the refusal to answer it with.
pub async fn admit(
    service: &SseService,
    router: &Router,
    req: &Request<Incoming>,
    requester: Requester,
) -> Result<Reader, HttpResponse> {
    let origin = req.headers().get(header::ORIGIN);
    let refuse = |status, error: &str, message: &str| {
        let body = json!({"error": error, "args": [message], "kwargs": {}});
        response::json(status, &body, origin)
    };
    if let Some(allowed) = &service.require_ip
        && !requester.ip_allowed(allowed)
    {
        let message = format!("streams from {} are not allowed here", requester.ip);
        return Err(refuse(
            StatusCode::FORBIDDEN,
            uri_error::NOT_AUTHORIZED,
            &message,
        ));
    }
    let Some(ticket_auth) = &service.ticket else {
        return Ok(Reader {
            authid: ANONYMOUS_AUTHID.to_owned(),
            role: service.role.clone(),
        });
    };
    let ip = match requester.ip {
        ClientIp::Known(ip) => Some(ip),
        ClientIp::Unknown => None,
    };
    let failed = FailedLogins::global();
    if let Some(wait) = ip.and_then(|ip| failed.blocked(ip, DEFAULT_MAX_FAILED_LOGINS)) {
        let seconds = wait.as_secs().max(1);
        let message = format!("too many failed logins from this address: try again in {seconds} s");
        let mut answer = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            uri_error::AUTHENTICATION_FAILED,
            &message,
        );
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Err(answer);
    }
    let credentials = Credentials::of(req);
    let Some(ticket) = credentials.ticket.as_deref() else {
        let mut answer = refuse(
            StatusCode::UNAUTHORIZED,
            uri_error::NOT_AUTHORIZED,
            "this path needs a ticket: send \"Authorization: Bearer <ticket>\" or ?ticket=<ticket>",
        );
        answer.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"junction\""),
        );
        return Err(answer);
    };
    let authid = credentials.authid.as_deref();
    let decided = match &ticket_auth.dynamic {
        None => static_principal(ticket_auth, authid, ticket),
        Some(config) => {
            let pending = Pending {
                config: config.clone(),
                realm: service.realm.clone(),
                authid: authid.map(str::to_owned),
                authmethod: "ticket",
                authextra: Dict::new(),
            };
            let transport = transport_info(requester, ip);
            dynamic::authenticate(router, pending, Some(ticket), id::random_id(), &transport)
                .await
                .map(|identity| Reader {
                    authid: identity.authid,
                    role: identity.authrole,
                })
        }
    };
    decided.map_err(|refusal| {
        if let Some(ip) = ip {
            failed.failed(ip);
        }
        refuse(StatusCode::UNAUTHORIZED, &refusal.reason, &refusal.message)
    })
}

/// The ticket and authid a request carries.
struct Credentials {
    ticket: Option<String>,
    authid: Option<String>,
}

impl Credentials {
    fn of(req: &Request<Incoming>) -> Credentials {
        let mut found = Credentials {
            ticket: None,
            authid: None,
        };
        for (key, value) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
            match &*key {
                "ticket" => found.ticket = Some(value.into_owned()),
                "authid" => found.authid = Some(value.into_owned()),
                _ => {}
            }
        }
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        if bearer.is_some() {
            found.ticket = bearer;
        }
        found
    }
}

/// The static principal `ticket` belongs to (the one `authid` names, when given). Every
/// principal's ticket is compared when none is named, so the time taken tells nothing about
/// which one matched.
fn static_principal(
    auth: &TicketAuth,
    authid: Option<&str>,
    ticket: &str,
) -> Result<Reader, Refusal> {
    let matches = |expected: &str| bool::from(ticket.as_bytes().ct_eq(expected.as_bytes()));
    let found = match authid {
        Some(authid) => auth
            .principals
            .get_key_value(authid)
            .filter(|(_, p)| matches(p.ticket.expose())),
        None => auth.principals.iter().fold(None, |found, (authid, p)| {
            let hit = matches(p.ticket.expose());
            found.or(hit.then_some((authid, p)))
        }),
    };
    found
        .map(|(authid, principal)| Reader {
            authid: authid.clone(),
            role: principal.role.clone(),
        })
        .ok_or_else(|| Refusal {
            reason: uri_error::AUTHENTICATION_FAILED.into(),
            message: "invalid ticket".into(),
        })
}

/// What a dynamic authenticator is told about the request's transport.
fn transport_info(requester: Requester, ip: Option<IpAddr>) -> TransportInfo {
    let peer = match (ip, requester.port) {
        (Some(IpAddr::V4(v4)), Some(port)) => format!("tcp4:{v4}:{port}"),
        (Some(IpAddr::V6(v6)), Some(port)) => format!("tcp6:{v6}:{port}"),
        (Some(ip), None) => ip.to_string(),
        (None, _) => "unknown".to_owned(),
    };
    TransportInfo {
        kind: "sse",
        protocol: "text/event-stream",
        peer,
        ip,
        cookie: None,
        http: None,
        client_cert: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TicketPrincipal;
    use crate::config::secret::Secret;

    fn auth() -> TicketAuth {
        let principal = |ticket: &str, role: &str| TicketPrincipal {
            ticket: Secret::new(ticket.to_owned()),
            role: role.to_owned(),
        };
        TicketAuth {
            principals: [
                ("alice".to_owned(), principal("a-ticket", "reader")),
                ("bob".to_owned(), principal("b-ticket", "writer")),
            ]
            .into(),
            dynamic: None,
        }
    }

    #[test]
    fn a_ticket_finds_its_principal_named_or_not() {
        let reader = |authid: &str, role: &str| Reader {
            authid: authid.into(),
            role: role.into(),
        };
        let auth = auth();
        assert_eq!(
            static_principal(&auth, None, "b-ticket").unwrap(),
            reader("bob", "writer")
        );
        assert_eq!(
            static_principal(&auth, Some("alice"), "a-ticket").unwrap(),
            reader("alice", "reader")
        );
        assert!(static_principal(&auth, Some("alice"), "b-ticket").is_err());
        assert!(static_principal(&auth, Some("carol"), "a-ticket").is_err());
        assert!(static_principal(&auth, None, "a-ticke").is_err());
    }
}
