//! The WebSocket opening handshake on top of an HTTP request: validating the upgrade, the
//! Origin (`allowed_origins`), choosing the WAMP subprotocol, and the 101 response.

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::config::{SerializerName, WebSocketOptions, wildcard_match};
use crate::wamp::serializer::Subprotocol;

/// Why an upgrade request is refused: HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: StatusCode,
    pub message: String,
}

fn refused(status: StatusCode, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

/// Checks that `req` is a WebSocket upgrade and returns its `Sec-WebSocket-Accept` value.
pub fn accept_key<B>(req: &Request<B>) -> Result<String, Refused> {
    let headers = req.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(refused(
            StatusCode::UPGRADE_REQUIRED,
            "this path serves WebSocket only: send an upgrade request",
        ));
    }
    if req.method() != hyper::Method::GET {
        return Err(refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket upgrade must use GET",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "unsupported Sec-WebSocket-Version (need 13)",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key"))?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// `allowed_origins`: patterns where `*` matches any run of characters.
pub fn check_origin(headers: &HeaderMap, options: &WebSocketOptions) -> Result<(), Refused> {
    let Some(allowed) = &options.allowed_origins else {
        return Ok(());
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        None | Some("null") if options.allow_null_origin => Ok(()),
        Some(origin) if allowed.iter().any(|p| wildcard_match(p, origin)) => Ok(()),
        _ => Err(refused(
            StatusCode::FORBIDDEN,
            format!("origin {} is not allowed", origin.unwrap_or("(none)")),
        )),
    }
}

/// The first subprotocol in the client's offer that this path serves. A client that offers
/// none is refused when `required` (Crossbar's `require_websocket_subprotocol`), else it gets
/// `None` (and speaks `wamp.2.json`).
pub fn choose_subprotocol(
    headers: &HeaderMap,
    serializers: &[SerializerName],
    required: bool,
) -> Result<Option<Subprotocol>, Refused> {
    let served = |sp: &Subprotocol| {
        serializers
            .iter()
            .any(|s| s.serialization() == sp.serialization)
    };
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if offered.is_empty() && required {
        let names: Vec<String> = serializers
            .iter()
            .map(|s| format!("wamp.2.{}", s.as_str()))
            .collect();
        return Err(refused(
            StatusCode::BAD_REQUEST,
            format!(
                "offer a WAMP subprotocol in Sec-WebSocket-Protocol ({}); this path has \
                 require_websocket_subprotocol",
                names.join(", ")
            ),
        ));
    }
    if offered.is_empty() {
        return Ok(None);
    }
    offered
        .iter()
        .filter_map(|name| Subprotocol::parse(name))
        .find(served)
        .map(Some)
        .ok_or_else(|| {
            refused(
                StatusCode::BAD_REQUEST,
                format!("none of the offered subprotocols {offered:?} is served here"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn picks_the_first_offered_that_is_served() {
        let h = headers(&[(
            "sec-websocket-protocol",
            "wamp.2.cbor.batched, wamp.2.cbor, wamp.2.msgpack.batched, wamp.2.json",
        )]);
        let sp = choose_subprotocol(&h, &[SerializerName::Json, SerializerName::MsgPack], true)
            .unwrap()
            .unwrap();
        assert_eq!(sp.name(), "wamp.2.msgpack.batched");
        let sp = choose_subprotocol(&h, &[SerializerName::Json], true)
            .unwrap()
            .unwrap();
        assert_eq!(sp.name(), "wamp.2.json");
        // A service that lists cbor serves both CBOR subprotocols.
        let sp = choose_subprotocol(&h, &SerializerName::ALL, true)
            .unwrap()
            .unwrap();
        assert_eq!(sp.name(), "wamp.2.cbor.batched");
        let sp = choose_subprotocol(&h, &[SerializerName::Json, SerializerName::Cbor], true)
            .unwrap()
            .unwrap();
        assert_eq!(sp.name(), "wamp.2.cbor.batched");
        let plain = headers(&[("sec-websocket-protocol", "wamp.2.cbor, wamp.2.json")]);
        let sp = choose_subprotocol(&plain, &[SerializerName::Cbor], true)
            .unwrap()
            .unwrap();
        assert_eq!(sp.name(), "wamp.2.cbor");
        let h = headers(&[("sec-websocket-protocol", "wamp.2.cbor")]);
        assert!(choose_subprotocol(&h, &[SerializerName::Json], true).is_err());
        assert!(
            choose_subprotocol(&h, &[SerializerName::Json, SerializerName::MsgPack], true).is_err()
        );
        assert_eq!(
            choose_subprotocol(&HeaderMap::new(), &[SerializerName::Json], false),
            Ok(None)
        );
        let refused = choose_subprotocol(&HeaderMap::new(), &[SerializerName::Json], true);
        assert_eq!(refused.unwrap_err().status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn origin_patterns() {
        assert!(wildcard_match(
            "https://*.example.com",
            "https://app.example.com"
        ));
        assert!(!wildcard_match(
            "https://*.example.com",
            "https://example.org"
        ));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match(
            "http://localhost:*",
            "http://localhost:8080"
        ));
        assert!(!wildcard_match("http://a", "http://ab"));
    }
}
