//! What a reverse proxy changes in the headers it passes on: the hop-by-hop headers (RFC 9110
//! section 7.6.1: `Connection` and the headers it names, `Keep-Alive`, `Proxy-*`, `TE`,
//! `Trailer`, `Transfer-Encoding`, `Upgrade`) are removed both ways, and the request gets
//! `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Proto`, `X-Forwarded-Host` and
//! `X-Forwarded-Port` as Crossbar's proxy sends them.
//!
//! What a client wrote in those headers is passed on only when it came through one of the
//! transport's `trusted_proxies` (as [`Requester`] believes them): from anyone else
//! `X-Forwarded-For` starts afresh with the socket's address, so a backend that reads its
//! left-most entry cannot be lied to.

use std::net::{IpAddr, SocketAddr};

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::http::requester::{ClientIp, Requester, canonical, is_trusted_proxy};

/// Who sent a request to a proxy path, and what the path says to forward.
pub struct Forwarding<'a> {
    /// The socket's peer (IPv4-mapped addresses as IPv4).
    pub peer: IpAddr,
    /// Whether the peer is a trusted proxy.
    pub peer_trusted: bool,
    pub requester: Requester,
    /// `forwarded_proto` of the path, else the scheme the client used.
    pub proto: Option<&'a str>,
    /// `forwarded_port` of the path, else the port the client asked for.
    pub port: Option<u16>,
}

impl<'a> Forwarding<'a> {
    pub fn new(
        peer: SocketAddr,
        listener_tls: bool,
        headers: &HeaderMap,
        trusted_proxies: &[IpNet],
    ) -> Forwarding<'a> {
        Forwarding {
            peer: canonical(peer.ip()),
            peer_trusted: is_trusted_proxy(peer.ip(), trusted_proxies),
            requester: Requester::new(peer, listener_tls, headers, trusted_proxies),
            proto: None,
            port: None,
        }
    }

    /// Rewrites `headers` (a request's, `Host` still the client's) for the backend: hop-by-hop
    /// headers out, forwarded headers in. `Host` itself is left for the caller.
    pub fn apply(&self, headers: &mut HeaderMap) {
        remove_hop_by_hop(headers);
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let chain = match joined(headers, "x-forwarded-for") {
            Some(earlier) if self.peer_trusted => format!("{earlier}, {}", self.peer),
            _ => self.peer.to_string(),
        };
        set(headers, "x-forwarded-for", &chain);
        match self.requester.ip {
            ClientIp::Known(ip) => set(headers, "x-real-ip", &ip.to_string()),
            ClientIp::Unknown => {
                headers.remove("x-real-ip");
            }
        }
        let tls = self.requester.tls;
        let proto = self.proto.unwrap_or(if tls { "https" } else { "http" });
        set(headers, "x-forwarded-proto", proto);
        // A trusted proxy's own X-Forwarded-Host and -Port say what the client asked for.
        let keep =
            |name: &str, headers: &HeaderMap| self.peer_trusted && headers.contains_key(name);
        if !keep("x-forwarded-host", headers) {
            match &host {
                Some(host) => set(headers, "x-forwarded-host", host),
                None => {
                    headers.remove("x-forwarded-host");
                }
            }
        }
        if self.port.is_some() || !keep("x-forwarded-port", headers) {
            let port = self.port.unwrap_or_else(|| {
                host.as_deref()
                    .and_then(port_of)
                    .unwrap_or(if proto == "https" { 443 } else { 80 })
            });
            set(headers, "x-forwarded-port", &port.to_string());
        }
    }
}

/// Removes the hop-by-hop headers, those `Connection` names among them.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy {
        headers.remove(name);
    }
}

/// Every `name` line joined with `, `, or `None` when there is none (or one is not text).
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let lines: Option<Vec<&str>> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    lines.filter(|l| !l.is_empty()).map(|l| l.join(", "))
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // Every value written here comes from a header value or an address, so it is valid.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// The port of a `Host` value (`example.com:8080`, `[::1]:8080`), if it names one.
fn port_of(host: &str) -> Option<u16> {
    let (name, port) = host.rsplit_once(':')?;
    if name.contains(':') && !name.ends_with(']') {
        return None; // a bare IPv6 address: its last group is no port
    }
    port.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn get<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
        h.get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = headers(&[
            ("connection", "keep-alive, X-Foo"),
            ("connection", "x-bar"),
            ("x-foo", "1"),
            ("x-bar", "2"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-sum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("content-length", "3"),
            ("x-kept", "yes"),
        ]);
        remove_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["content-length", "x-kept"]);
    }

    fn forwarding(peer: &str, trusted: &[&str], h: &HeaderMap) -> Forwarding<'static> {
        let nets: Vec<IpNet> = trusted.iter().map(|n| n.parse().unwrap()).collect();
        Forwarding::new(peer.parse().unwrap(), false, h, &nets)
    }

    #[test]
    fn an_untrusted_client_starts_the_chain_afresh() {
        let mut h = headers(&[
            ("host", "example.com:8080"),
            ("x-forwarded-for", "10.9.9.9"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
        ]);
        forwarding("[::ffff:192.0.2.7]:5000", &[], &h).apply(&mut h);
        assert_eq!(get(&h, "x-forwarded-for"), Some("192.0.2.7"));
        assert_eq!(get(&h, "x-real-ip"), Some("192.0.2.7"));
        assert_eq!(get(&h, "x-forwarded-proto"), Some("http"));
        assert_eq!(get(&h, "x-forwarded-host"), Some("example.com:8080"));
        assert_eq!(get(&h, "x-forwarded-port"), Some("8080"));
        assert_eq!(get(&h, "host"), Some("example.com:8080"));
    }

    #[test]
    fn a_trusted_proxy_chain_is_appended_to() {
        let mut h = headers(&[
            ("host", "internal:8080"),
            ("x-forwarded-for", "192.0.2.7"),
            ("x-forwarded-host", "www.example.com"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
        ]);
        forwarding("10.0.0.2:5000", &["10.0.0.0/8"], &h).apply(&mut h);
        assert_eq!(get(&h, "x-forwarded-for"), Some("192.0.2.7, 10.0.0.2"));
        assert_eq!(get(&h, "x-real-ip"), Some("192.0.2.7"));
        assert_eq!(get(&h, "x-forwarded-proto"), Some("https"));
        assert_eq!(get(&h, "x-forwarded-host"), Some("www.example.com"));
        assert_eq!(get(&h, "x-forwarded-port"), Some("443"));
    }

    #[test]
    fn the_path_may_fix_proto_and_port() {
        let mut h = headers(&[("host", "[::1]")]);
        let mut f = forwarding("127.0.0.1:5000", &[], &h);
        assert_eq!(port_of("[::1]"), None);
        assert_eq!(port_of("::1"), None);
        assert_eq!(port_of("[::1]:81"), Some(81));
        f.apply(&mut h);
        assert_eq!(get(&h, "x-forwarded-port"), Some("80"));
        f.proto = Some("https");
        f.port = Some(8443);
        f.apply(&mut h);
        assert_eq!(get(&h, "x-forwarded-proto"), Some("https"));
        assert_eq!(get(&h, "x-forwarded-port"), Some("8443"));
    }
}
