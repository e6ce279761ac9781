//! Who is asking, and how: the client's IP address and whether the request came over TLS,
//! believing `X-Forwarded-For` / `X-Forwarded-Proto` only from trusted proxies.
//!
//! Forwarded headers are read from the right, the end the trusted proxies write: each proxy
//! appends the address it was connected from (and the scheme it was reached by), while
//! everything further left may come from the client itself. So the client is the right-most
//! `X-Forwarded-For` entry that is not a trusted proxy, and its scheme is the
//! `X-Forwarded-Proto` entry at the same hop counted from the right (or its only entry, when
//! the proxies overwrite rather than append it). Anything unparseable on that walk fails
//! closed: an address nobody can allow, and no TLS.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use hyper::HeaderMap;
use ipnet::IpNet;

/// The facts about one request that `require_ip` and `require_tls` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    pub ip: ClientIp,
    pub tls: bool,
    /// The client's port, when `ip` is the socket's own (not forwarded by a proxy).
    pub port: Option<u16>,
}

/// The client's address, or none that can be trusted (a forwarded entry that does not parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIp {
    Known(IpAddr),
    Unknown,
}

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ClientIp::Known(ip) => ip.fmt(f),
            ClientIp::Unknown => f.write_str("an unknown address (unparseable X-Forwarded-For)"),
        }
    }
}

impl Requester {
    /// From the socket: `peer` and whether this listener speaks TLS. When the peer is a
    /// trusted proxy, the forwarded headers decide instead (see the module comment).
    pub fn new(
        peer: SocketAddr,
        listener_tls: bool,
        headers: &HeaderMap,
        trusted_proxies: &[IpNet],
    ) -> Requester {
        let ip = canonical(peer.ip());
        let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&ip) {
            return Requester {
                ip: ClientIp::Known(ip),
                tls: listener_tls,
                port: Some(peer.port()),
            };
        }
        // Hops counted from the right: 0 is the proxy that connected to us.
        let forwarded_for = entries(headers, "x-forwarded-for");
        let mut client = (ClientIp::Known(ip), 0);
        for (hop, entry) in forwarded_for.iter().rev().enumerate() {
            match entry.parse::<IpAddr>().map(canonical) {
                Ok(address) if trusted(&address) => client = (ClientIp::Known(address), hop),
                Ok(address) => {
                    client = (ClientIp::Known(address), hop);
                    break;
                }
                Err(_) => {
                    client = (ClientIp::Unknown, hop);
                    break;
                }
            }
        }
        let (ip, hop) = client;
        let forwarded_proto = entries(headers, "x-forwarded-proto");
        let tls = if forwarded_proto.is_empty() {
            listener_tls
        } else {
            // Proxies that append give one entry per hop; one that overwrites leaves a single
            // entry of its own, which is then the one to believe.
            let proto = forwarded_proto
                .iter()
                .rev()
                .nth(hop)
                .or(forwarded_proto.last());
            ip != ClientIp::Unknown && proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
        };
        let port = (ip == ClientIp::Known(canonical(peer.ip()))).then_some(peer.port());
        Requester { ip, tls, port }
    }

    /// `peer` in log lines: `ip:port`, or the forwarded client's `ip` alone.
    pub fn peer(&self) -> String {
        match (self.ip, self.port) {
            (ClientIp::Known(ip), Some(port)) => SocketAddr::new(ip, port).to_string(),
            (ip, _) => ip.to_string(),
        }
    }

    pub fn ip_allowed(&self, allowed: &[IpNet]) -> bool {
        match self.ip {
            ClientIp::Known(ip) => allowed.iter().any(|net| net.contains(&ip)),
            ClientIp::Unknown => false,
        }
    }
}

/// Whether `peer` (the socket's address) is one of `trusted_proxies`: its forwarded headers
/// are believed.
pub fn is_trusted_proxy(peer: IpAddr, trusted_proxies: &[IpNet]) -> bool {
    let ip = canonical(peer);
    trusted_proxies.iter().any(|net| net.contains(&ip))
}

/// Every comma-separated entry of every `name` header line, in order, trimmed. A line that
/// is not text counts as one entry that parses as nothing.
fn entries(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|line| match line.to_str() {
            Ok(text) => text.split(',').map(|e| e.trim().to_owned()).collect(),
            Err(_) => vec![String::new()],
        })
        .collect()
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) compare as the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn untrusted_peers_cannot_forge_headers() {
        let h = headers(&[
            ("x-forwarded-for", "10.1.2.3"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = Requester::new("127.0.0.1:5000".parse().unwrap(), false, &h, &[]);
        assert_eq!(
            c,
            Requester {
                ip: ClientIp::Known("127.0.0.1".parse().unwrap()),
                tls: false,
                port: Some(5000),
            }
        );
        assert_eq!(c.peer(), "127.0.0.1:5000");
    }

    #[test]
    fn trusted_proxies_are_believed() {
        let h = headers(&[
            ("x-forwarded-for", "10.1.2.3, 127.0.0.2"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = Requester::new(
            "127.0.0.1:5000".parse().unwrap(),
            false,
            &h,
            &nets(&["127.0.0.0/8"]),
        );
        assert_eq!(
            c,
            Requester {
                ip: ClientIp::Known("10.1.2.3".parse().unwrap()),
                tls: true,
                port: None,
            }
        );
        assert_eq!(c.peer(), "10.1.2.3");
        assert!(c.ip_allowed(&nets(&["10.0.0.0/8"])));
        assert!(!c.ip_allowed(&nets(&["192.168.0.0/16"])));
    }

    fn behind_proxy(pairs: &[(&str, &str)]) -> Requester {
        Requester::new(
            "127.0.0.1:5000".parse().unwrap(),
            false,
            &headers(pairs),
            &nets(&["127.0.0.0/8"]),
        )
    }

    /// Issue 12, item 6: what the client writes on the left of a forwarded header is not
    /// believed, and what does not parse fails closed.
    #[test]
    fn forwarded_headers_are_read_from_the_right() {
        let ten = nets(&["10.0.0.0/8"]);
        // The client wrote https, the proxy appended what it saw.
        assert!(!behind_proxy(&[("x-forwarded-proto", "https, http")]).tls);
        assert!(
            !behind_proxy(&[
                ("x-forwarded-proto", "https"),
                ("x-forwarded-proto", "http")
            ])
            .tls
        );
        assert!(behind_proxy(&[("x-forwarded-proto", "http, https")]).tls);
        // The client wrote 10.1.2.3; what the proxy appended does not parse.
        for forged in [
            "10.1.2.3, 192.0.2.9:5555",
            "10.1.2.3, unknown",
            "10.1.2.3, ",
        ] {
            let c = behind_proxy(&[("x-forwarded-for", forged)]);
            assert_eq!(c.ip, ClientIp::Unknown, "{forged}");
            assert!(!c.ip_allowed(&ten), "{forged}");
        }
        // The client wrote 10.1.2.3, the proxy appended the real address.
        let c = behind_proxy(&[("x-forwarded-for", "10.1.2.3, 192.0.2.9")]);
        assert_eq!(c.ip, ClientIp::Known("192.0.2.9".parse().unwrap()));
        assert!(!c.ip_allowed(&ten));
        // Two proxies: the client's scheme is the entry at its hop from the right.
        let c = behind_proxy(&[
            ("x-forwarded-for", "192.0.2.9, 127.0.0.7"),
            ("x-forwarded-proto", "http, https, http"),
        ]);
        assert_eq!(c.ip, ClientIp::Known("192.0.2.9".parse().unwrap()));
        assert!(c.tls);
        // No forwarded address: the proxy itself is the client.
        let c = behind_proxy(&[("x-forwarded-proto", "https")]);
        assert_eq!(c.ip, ClientIp::Known("127.0.0.1".parse().unwrap()));
        assert!(c.tls);
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let c = Requester::new(
            "[::ffff:127.0.0.1]:1".parse().unwrap(),
            true,
            &HeaderMap::new(),
            &[],
        );
        assert!(c.ip_allowed(&nets(&["127.0.0.1/32"])));
        assert!(c.tls);
    }
}
