//! The transports part of `junction check`'s summary: endpoints, path tables and what each
//! path serves, bridge options, WebSocket and RawSocket options that differ from the defaults.

use std::time::Duration;

use std::collections::BTreeMap;

use crate::config::endpoint::DEFAULT_MAX_CONNECTIONS_PER_IP;
use crate::config::model::{
    BridgeOptions, Endpoint, PathService, RawSocketOptions, RawSocketService, TransportConfig,
    TransportKind, WebOptions, WebSocketOptions, WebSocketService, WebhookService,
};
use crate::config::rawsocket::default_rawsocket_options;
use crate::config::websocket::default_websocket_options;

use super::auth::auth_summary;
use super::*;

pub(super) fn transport_summary(out: &mut String, transport: &TransportConfig) {
    let address = address(&transport.endpoint);
    // `https` / `wss` plus the certificate, so a missing `tls` block is easy to spot.
    let tls = |scheme: &str| match transport.endpoint.tls() {
        Some(tls) if !tls.ca_certificates.is_empty() => {
            let cas: Vec<String> = tls
                .ca_certificates
                .iter()
                .map(|ca| ca.display().to_string())
                .collect();
            format!(
                " ({scheme}, tls certificate {}, key {}; client certificates required, \
                 issued by {})",
                tls.certificate.display(),
                tls.key.display(),
                cas.join(", ")
            )
        }
        Some(tls) => format!(
            " ({scheme}, tls certificate {}, key {})",
            tls.certificate.display(),
            tls.key.display()
        ),
        None => String::new(),
    };
    // Connection limits that differ from the defaults follow the headline.
    let limits = |out: &mut String| {
        let Some(tcp) = transport.endpoint.tcp() else {
            return;
        };
        let mut notable = Vec::new();
        if let Some(max) = tcp.max_connections {
            notable.push(format!("max_connections {max}"));
        }
        if tcp.max_connections_per_ip != DEFAULT_MAX_CONNECTIONS_PER_IP {
            notable.push(format!(
                "max_connections_per_ip {}",
                tcp.max_connections_per_ip
            ));
        }
        if !notable.is_empty() {
            line(out, 2, format!("endpoint: {}", notable.join(", ")));
        }
    };
    match &transport.kind {
        TransportKind::WebSocket(service) => {
            line(
                out,
                1,
                format!(
                    "transport {}: websocket on {address}{}",
                    transport.path,
                    tls("wss")
                ),
            );
            limits(out);
            service_summary(out, 2, service);
        }
        TransportKind::Web { paths, options } => {
            line(
                out,
                1,
                format!(
                    "transport {}: web on {address}{}",
                    transport.path,
                    tls("https")
                ),
            );
            limits(out);
            web_options_summary(out, 2, options);
            paths_summary(out, 2, paths);
        }
        TransportKind::RawSocket(service) => {
            line(
                out,
                1,
                format!(
                    "transport {}: rawsocket on {address}{}",
                    transport.path,
                    tls("tls")
                ),
            );
            limits(out);
            rawsocket_summary(out, 2, service);
        }
        TransportKind::Universal {
            rawsocket,
            paths,
            options,
        } => {
            line(
                out,
                1,
                format!(
                    "transport {}: universal on {address}{}",
                    transport.path,
                    tls("tls, https, wss")
                ),
            );
            limits(out);
            web_options_summary(out, 2, options);
            match rawsocket {
                Some(service) => {
                    line(out, 2, "rawsocket (first octet 0x7F)");
                    rawsocket_summary(out, 3, service);
                }
                None => line(out, 2, "no rawsocket (a first octet 0x7F is closed)"),
            }
            paths_summary(out, 2, paths);
        }
    }
}

fn paths_summary(out: &mut String, depth: usize, paths: &BTreeMap<String, PathService>) {
    for (path, service) in paths {
        line(out, depth, path_headline(path, service));
        match service {
            PathService::WebSocket(service) => service_summary(out, depth + 1, service),
            PathService::WebSocketTestee(options) => options_summary(out, depth + 1, options),
            PathService::Publisher(publisher) => {
                bridge_summary(out, depth + 1, &publisher.options, None)
            }
            PathService::Caller(caller) => {
                bridge_summary(out, depth + 1, &caller.options, Some(caller.timeout))
            }
            PathService::TopicsApi(_)
            | PathService::Static(_)
            | PathService::Redirect { .. }
            | PathService::Json(_)
            | PathService::NodeInfo
            | PathService::Health
            | PathService::Ready
            | PathService::Metrics
            | PathService::Admin(_)
            | PathService::Sse(_)
            | PathService::Nothing
            | PathService::Archive(_)
            | PathService::Cgi(_)
            | PathService::Upload(_)
            | PathService::NotRun(_) => {}
            PathService::ReverseProxy(_) | PathService::WebSocketProxy(_) => {}
            PathService::Webhook(webhook) => webhook_summary(out, depth + 1, webhook),
            PathService::LongPoll(lp) => auth_summary(out, depth + 1, &lp.auth),
        }
    }
}

/// One line naming what a path serves: the first line `check` shows for it, and what `start`
/// logs under "listening on".
pub fn path_headline(path: &str, service: &PathService) -> String {
    match service {
        PathService::WebSocket(_) => format!("{path}: websocket"),
        PathService::WebSocketTestee(_) => format!("{path}: websocket-testee (echo)"),
        PathService::Publisher(publisher) => format!(
            "{path}: publisher (realm {}, role {})",
            publisher.realm, publisher.role
        ),
        PathService::Caller(caller) => format!(
            "{path}: caller (realm {}, role {})",
            caller.realm, caller.role
        ),
        PathService::TopicsApi(api) => {
            let mut guards = Vec::new();
            if api.bearer_token.is_some() {
                guards.push("bearer token".to_string());
            }
            if let Some(networks) = &api.require_ip {
                guards.push(format!("require_ip {}", nets(networks)));
            }
            format!(
                "{path}: topics-api (realm {}; {})",
                api.realm,
                guards.join(", ")
            )
        }
        PathService::Webhook(webhook) => format!(
            "{path}: webhook (realm {}, role {})",
            webhook.realm, webhook.role
        ),
        PathService::Redirect { url, status } => format!("{path}: redirect ({status}) to {url}"),
        PathService::Json(_) => format!("{path}: json (a fixed document)"),
        PathService::NodeInfo => format!("{path}: nodeinfo (this node's version, realms, uptime)"),
        PathService::Health => format!("{path}: health (liveness: 200 while the process serves)"),
        PathService::Ready => {
            format!("{path}: ready (readiness: listeners, stores, cluster; 503 when one fails)")
        }
        PathService::Metrics => format!("{path}: metrics (Prometheus, OpenMetrics text)"),
        PathService::Admin(admin) => {
            format!("{path}: admin dashboard ({} user(s))", admin.users.len())
        }
        PathService::Sse(sse) => format!(
            "{path}: Server-Sent Events of realm {} as role {}",
            sse.realm, sse.role
        ),
        PathService::Nothing => format!("{path}: none (404)"),
        PathService::NotRun(_) => format!("{path}: not run by Junction (501; see below)"),
        PathService::Archive(archive) => super::web_files::archive_headline(path, archive),
        PathService::Cgi(cgi) => super::web_files::cgi_headline(path, cgi),
        PathService::LongPoll(lp) => longpoll_headline(path, lp),
        PathService::ReverseProxy(proxy) => super::proxy::reverse_proxy_headline(path, proxy),
        PathService::WebSocketProxy(proxy) => super::proxy::websocket_proxy_headline(path, proxy),
        PathService::Upload(upload) => upload_headline(path, upload),
        PathService::Static(files) => {
            let mut notes = Vec::new();
            if files.directory_listing {
                notes.push("directory listing".to_string());
            }
            if let Some(file) = &files.default_file {
                notes.push(format!("default file {file}"));
            }
            match files.cache_timeout {
                Some(seconds) => notes.push(format!("cache {seconds} s")),
                None => notes.push("no caching".to_string()),
            }
            format!(
                "{path}: static files from {} ({})",
                files.directory.display(),
                notes.join(", ")
            )
        }
    }
}

/// `/lp: longpoll (json, msgpack; request_timeout 10 s, session_timeout 30 s, queue limits
/// 100 messages, 131072 bytes)`.
fn longpoll_headline(path: &str, lp: &crate::config::LongPollService) -> String {
    let serializers: Vec<&str> = lp.serializers.iter().map(|s| s.as_str()).collect();
    let o = &lp.options;
    let session = o
        .session_timeout
        .map_or("never".to_string(), |t| format!("{} s", t.as_secs()));
    let mut text = format!(
        "{path}: longpoll ({}; request_timeout {} s, session_timeout {session}, queue limits \
         {} messages, {} bytes",
        serializers.join(", "),
        o.request_timeout.as_secs(),
        o.queue_limit_messages,
        o.queue_limit_bytes
    );
    if let Some(id) = &o.debug_transport_id {
        text.push_str(&format!(", debug_transport_id {id}"));
    }
    text + ")"
}

/// Serializers, auth, and the options: the announced maximum message length always (the
/// file's value is rounded), the others when they differ from the defaults.
fn rawsocket_summary(out: &mut String, depth: usize, service: &RawSocketService) {
    let serializers: Vec<&str> = service.serializers.iter().map(|s| s.as_str()).collect();
    line(
        out,
        depth,
        format!("serializers: {}", serializers.join(", ")),
    );
    auth_summary(out, depth, &service.auth);
    let options = &service.options;
    let mut notable = vec![format!(
        "max_message_size {} (length exponent {})",
        options.max_message_size,
        options.length_exponent()
    )];
    let shared = |o: &RawSocketOptions| Shared {
        auto_ping: (o.auto_ping_interval, o.auto_ping_timeout),
        auto_ping_size: o.auto_ping_size,
        open_handshake_timeout: o.open_handshake_timeout,
        max_outbound_queue: o.max_outbound_queue,
        max_outbound_bytes: o.max_outbound_bytes,
        join_timeout: o.join_timeout,
        max_failed_logins: o.max_failed_logins,
    };
    shared_summary(
        &mut notable,
        &shared(options),
        &shared(&default_rawsocket_options()),
    );
    line(out, depth, format!("options: {}", notable.join(", ")));
}

fn web_options_summary(out: &mut String, depth: usize, options: &WebOptions) {
    if !options.trusted_proxies.is_empty() {
        line(
            out,
            depth,
            format!("trusted_proxies: {}", nets(&options.trusted_proxies)),
        );
    }
    let defaults = WebOptions::default();
    let mut notable = Vec::new();
    if options.client_timeout != defaults.client_timeout {
        notable.push(format!(
            "client_timeout {} s",
            options.client_timeout.as_secs()
        ));
    }
    if options.body_timeout != defaults.body_timeout {
        notable.push(format!(
            "body_timeout {} ms",
            options.body_timeout.as_millis()
        ));
    }
    if !notable.is_empty() {
        line(out, depth, format!("options: {}", notable.join(", ")));
    }
}

fn nets(nets: &[ipnet::IpNet]) -> String {
    nets.iter()
        .map(|net| net.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// 0 is "no limit of its own" (the server's hard cap still applies).
fn body_limit(limit: usize) -> String {
    match limit {
        0 => "post_body_limit none (server cap only)".to_string(),
        n => format!("post_body_limit {n} bytes"),
    }
}

/// A publisher's or caller's options; the key name is shown, never the secret.
fn bridge_summary(
    out: &mut String,
    depth: usize,
    options: &BridgeOptions,
    timeout: Option<Duration>,
) {
    let signing = match &options.signing {
        Some(signing) => format!("signed (key {})", signing.key),
        None => "unsigned".to_string(),
    };
    let require_ip = match &options.require_ip {
        Some(list) => format!("require_ip [{}]", nets(list)),
        None => "require_ip any".to_string(),
    };
    let mut parts = vec![
        signing,
        body_limit(options.post_body_limit),
        format!(
            "timestamp_delta_limit {}",
            options
                .timestamp_delta_limit
                .map_or("none".to_owned(), |window| format!(
                    "{} s",
                    window.as_secs()
                ))
        ),
        require_ip,
        format!("require_tls {}", options.require_tls),
        format!("success_status {}", options.success_status),
    ];
    if options.strict_status {
        parts.push("strict_status".to_string());
    }
    if let Some(timeout) = timeout {
        parts.push(format!("timeout {} ms", timeout.as_millis()));
    }
    if options.debug {
        parts.push("debug".to_string());
    }
    line(out, depth, parts.join(", "));
}

fn webhook_summary(out: &mut String, depth: usize, webhook: &WebhookService) {
    let github = match webhook.github_secret {
        Some(_) => "github_secret set",
        None => "no github_secret",
    };
    let decode = if webhook.decode_json {
        "decode json"
    } else {
        "no decode (headers and body)"
    };
    line(
        out,
        depth,
        format!(
            "topic {}, methods [{}], {decode}, {github}, {}",
            webhook.topic,
            webhook.methods.join(", "),
            body_limit(webhook.post_body_limit)
        ),
    );
}

fn address(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Tcp(tcp) if tcp.interface.contains(':') => {
            format!("[{}]:{}", tcp.interface, tcp.port)
        }
        Endpoint::Tcp(tcp) => format!("{}:{}", tcp.interface, tcp.port),
        Endpoint::Unix(unix) => format!("unix socket {}", unix.path.display()),
    }
}

fn service_summary(out: &mut String, depth: usize, service: &WebSocketService) {
    let serializers: Vec<&str> = service.serializers.iter().map(|s| s.as_str()).collect();
    line(
        out,
        depth,
        format!("serializers: {}", serializers.join(", ")),
    );
    auth_summary(out, depth, &service.auth);
    options_summary(out, depth, &service.options);
}

/// Only options that differ from the defaults, so the summary stays short.
fn options_summary(out: &mut String, depth: usize, options: &WebSocketOptions) {
    let defaults = default_websocket_options();
    let mut notable = Vec::new();
    if options.max_message_size != defaults.max_message_size {
        notable.push(format!("max_message_size {}", options.max_message_size));
    }
    if options.max_frame_size != options.max_message_size {
        notable.push(format!("max_frame_size {}", options.max_frame_size));
    }
    if let Some(origins) = &options.allowed_origins {
        notable.push(format!("allowed_origins [{}]", origins.join(", ")));
    }
    if !options.allow_null_origin {
        notable.push("allow_null_origin false".to_string());
    }
    let shared = |o: &WebSocketOptions| Shared {
        auto_ping: (o.auto_ping_interval, o.auto_ping_timeout),
        auto_ping_size: o.auto_ping_size,
        open_handshake_timeout: o.open_handshake_timeout,
        max_outbound_queue: o.max_outbound_queue,
        max_outbound_bytes: o.max_outbound_bytes,
        join_timeout: o.join_timeout,
        max_failed_logins: o.max_failed_logins,
    };
    shared_summary(&mut notable, &shared(options), &shared(&defaults));
    if !notable.is_empty() {
        line(out, depth, format!("options: {}", notable.join(", ")));
    }
}

/// The options WebSocket and RawSocket services share.
struct Shared {
    auto_ping: (Option<Duration>, Option<Duration>),
    auto_ping_size: usize,
    open_handshake_timeout: Duration,
    max_outbound_queue: usize,
    max_outbound_bytes: usize,
    join_timeout: Duration,
    max_failed_logins: u32,
}

/// Adds the shared options that differ from `defaults` to `notable`.
fn shared_summary(notable: &mut Vec<String>, options: &Shared, defaults: &Shared) {
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    if let (Some(interval), timeout) = options.auto_ping {
        notable.push(format!("auto_ping_interval {}", ms(interval)));
        match timeout {
            Some(timeout) => notable.push(format!("auto_ping_timeout {}", ms(timeout))),
            None => notable.push("no auto_ping_timeout".to_string()),
        }
    }
    if options.auto_ping_size != defaults.auto_ping_size {
        notable.push(format!("auto_ping_size {}", options.auto_ping_size));
    }
    if options.open_handshake_timeout != defaults.open_handshake_timeout {
        notable.push(format!(
            "open_handshake_timeout {}",
            ms(options.open_handshake_timeout)
        ));
    }
    if options.max_outbound_queue != defaults.max_outbound_queue {
        notable.push(format!("max_outbound_queue {}", options.max_outbound_queue));
    }
    if options.max_outbound_bytes != defaults.max_outbound_bytes {
        notable.push(format!("max_outbound_bytes {}", options.max_outbound_bytes));
    }
    if options.join_timeout != defaults.join_timeout {
        notable.push(format!("join_timeout {}", ms(options.join_timeout)));
    }
    if options.max_failed_logins != defaults.max_failed_logins {
        notable.push(format!("max_failed_logins {}", options.max_failed_logins));
    }
}

/// `/upload: upload to DIR (realm R, role X; at most N bytes, .csv .txt, mode 0644)`.
fn upload_headline(path: &str, upload: &crate::config::UploadService) -> String {
    let mut notes = vec![
        format!("realm {}, role {}", upload.realm, upload.role),
        format!("at most {} bytes", upload.max_file_size),
    ];
    if let Some(types) = &upload.file_types {
        notes.push(types.join(" "));
    }
    if let Some(mode) = upload.file_permissions {
        notes.push(format!("mode {mode:04o}"));
    }
    let temp = match &upload.temp_directory {
        Some(dir) => format!("chunks in {}", dir.display()),
        None => "chunks in the system's temporary folder".to_string(),
    };
    notes.push(temp);
    format!(
        "{path}: upload to {} ({})",
        upload.directory.display(),
        notes.join("; ")
    )
}
