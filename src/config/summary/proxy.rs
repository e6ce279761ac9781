//! The `junction check` lines of reverse proxy paths: where requests go and the timeouts.

use crate::config::model::{ReverseProxyService, WebSocketProxyService};

/// `/api: reverseproxy to http://127.0.0.1:8000/v1 (connect_timeout 5000 ms, ...)`.
pub(super) fn reverse_proxy_headline(path: &str, proxy: &ReverseProxyService) -> String {
    let mut notes = vec![
        format!("connect_timeout {} ms", proxy.connect_timeout.as_millis()),
        format!("response_timeout {} ms", proxy.response_timeout.as_millis()),
    ];
    if let Some(port) = proxy.forwarded_port {
        notes.push(format!("forwarded_port {port}"));
    }
    if let Some(proto) = &proxy.forwarded_proto {
        notes.push(format!("forwarded_proto {proto}"));
    }
    let base = if proxy.path.is_empty() {
        "/"
    } else {
        &proxy.path
    };
    format!(
        "{path}: reverseproxy to http://{}{base} ({})",
        proxy.authority(),
        notes.join(", ")
    )
}

/// `/ws2: websocket-reverseproxy to ws://localhost:9000/ via 127.0.0.1:9000 (timeout 10 s)`.
pub(super) fn websocket_proxy_headline(path: &str, proxy: &WebSocketProxyService) -> String {
    let backend = &proxy.backend;
    format!(
        "{path}: websocket-reverseproxy to {} via {} (timeout {} s, max_message_size {})",
        backend.url,
        backend.authority(),
        backend.timeout.as_secs(),
        proxy.options.max_message_size
    )
}

#[cfg(test)]
mod tests {
    use crate::config::load::testing::*;
    use crate::config::summary::summary;

    #[test]
    fn check_says_where_each_proxy_path_goes() {
        let text = summary(&load(&web_worker(
            REALM1,
            r#""api": {"type": "reverseproxy", "host": "127.0.0.1", "port": 8000, "path": "/v1",
                       "forwarded_proto": "https", "options": {"response_timeout": 2000}},
               "/": {"type": "reverseproxy", "host": "example.com"},
               "relay": {"type": "websocket-reverseproxy",
                         "backend": {"type": "websocket", "url": "ws://localhost:9000",
                                     "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": 9000}}}"#,
        )));
        for line in [
            "    /: reverseproxy to http://example.com:80/ (connect_timeout 5000 ms, response_timeout 60000 ms)\n",
            "    /api: reverseproxy to http://127.0.0.1:8000/v1 (connect_timeout 5000 ms, response_timeout 2000 ms, forwarded_proto https)\n",
            "    /relay: websocket-reverseproxy to ws://localhost:9000/ via 127.0.0.1:9000 (timeout 10 s, max_message_size 1048576)\n",
        ] {
            assert!(text.contains(line), "{line}\nnot in\n{text}");
        }
    }
}
