//! Which web pages may use a bridge path from a visitor's browser (`allowed_origins`).
//!
//! Crossbar echoes every `Origin` with `Access-Control-Allow-Credentials: true`, so any page
//! on the web could drive a loopback- or intranet-only pusher through the browser of someone
//! who visits it (`require_ip` sees the visitor's address). Junction serves a request that
//! carries an `Origin` only when it is the path's own origin or one `allowed_origins` lists
//! (`["*"]` restores Crossbar's behaviour), and refuses the rest with 403 before anything is
//! done, preflight included. Requests without `Origin` (curl, scripts, crossbarconnect, PHP)
//! are not from a browser page and are served as before.

use hyper::StatusCode;
use hyper::header::{self, HeaderMap, HeaderValue};

use crate::config::AllowedOrigins;
use crate::http::response::{self, HttpResponse};

/// The `Origin` to echo (`None` when the request has none), or the 403 answer for a page that
/// may not use this path.
// The error is the finished response, built once per refused request: no need to box it.
#[allow(clippy::result_large_err)]
pub fn check(
    allowed: &AllowedOrigins,
    headers: &HeaderMap,
) -> Result<Option<HeaderValue>, HttpResponse> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(None);
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match origin.to_str() {
        Ok(text) if allowed.allows(text, host) => Ok(Some(origin.clone())),
        text => {
            let shown = text.unwrap_or("(not text)");
            let message = format!(
                "a page at {shown:.200} may not use this path: add its origin to the path's \
                 allowed_origins"
            );
            Err(response::without_cors(response::error(
                StatusCode::FORBIDDEN,
                &message,
                None,
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn no_origin_and_the_same_origin_pass_others_need_a_listed_pattern() {
        let none = AllowedOrigins::default();
        let h = |origin| headers(origin, "127.0.0.1:8080");
        assert_eq!(check(&none, &h(None)).unwrap(), None);
        let own = check(&none, &h(Some("http://127.0.0.1:8080"))).unwrap();
        assert_eq!(own.unwrap(), "http://127.0.0.1:8080");
        let refused = check(&none, &h(Some("https://evil.example"))).unwrap_err();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(
            refused
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
        let listed = AllowedOrigins(vec!["https://*.example.com".into()]);
        assert!(check(&listed, &h(Some("https://app.example.com"))).is_ok());
        assert!(check(&listed, &h(Some("https://example.com.evil.net"))).is_err());
        let any = AllowedOrigins(vec!["*".into()]);
        assert!(check(&any, &h(Some("https://evil.example"))).is_ok());
    }
}
