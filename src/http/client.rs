//! Who is asking, and how: the client's IP address and whether the request came over TLS,
//! believing `X-Forwarded-For` / `X-Forwarded-Proto` only from trusted proxies.

use std::net::{IpAddr, SocketAddr};

use hyper::HeaderMap;
use ipnet::IpNet;

/// The facts about one request that `require_ip` and `require_tls` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub tls: bool,
}

impl Client {
    /// From the socket: `peer` and whether this listener speaks TLS. When the peer is a
    /// trusted proxy, the forwarded headers decide instead: the client is the right-most
    /// `X-Forwarded-For` address that is not itself a trusted proxy.
    pub fn new(
        peer: SocketAddr,
        listener_tls: bool,
        headers: &HeaderMap,
        trusted_proxies: &[IpNet],
    ) -> Client {
        let ip = canonical(peer.ip());
        let direct = Client {
            ip,
            tls: listener_tls,
        };
        if !trusted_proxies.iter().any(|net| net.contains(&ip)) {
            return direct;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .map(canonical)
            .collect();
        let client_ip = forwarded
            .iter()
            .rev()
            .find(|ip| !trusted_proxies.iter().any(|net| net.contains(*ip)))
            .or(forwarded.first())
            .copied()
            .unwrap_or(ip);
        let tls = match headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
        {
            Some(proto) => proto
                .split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")),
            None => listener_tls,
        };
        Client { ip: client_ip, tls }
    }

    pub fn ip_allowed(&self, allowed: &[IpNet]) -> bool {
        allowed.iter().any(|net| net.contains(&self.ip))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) compare as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
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
        let c = Client::new("127.0.0.1:5000".parse().unwrap(), false, &h, &[]);
        assert_eq!(
            c,
            Client {
                ip: "127.0.0.1".parse().unwrap(),
                tls: false
            }
        );
    }

    #[test]
    fn trusted_proxies_are_believed() {
        let h = headers(&[
            ("x-forwarded-for", "10.1.2.3, 127.0.0.2"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = Client::new(
            "127.0.0.1:5000".parse().unwrap(),
            false,
            &h,
            &nets(&["127.0.0.0/8"]),
        );
        assert_eq!(
            c,
            Client {
                ip: "10.1.2.3".parse().unwrap(),
                tls: true
            }
        );
        assert!(c.ip_allowed(&nets(&["10.0.0.0/8"])));
        assert!(!c.ip_allowed(&nets(&["192.168.0.0/16"])));
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let c = Client::new(
            "[::ffff:127.0.0.1]:1".parse().unwrap(),
            true,
            &HeaderMap::new(),
            &[],
        );
        assert!(c.ip_allowed(&nets(&["127.0.0.1/32"])));
        assert!(c.tls);
    }
}
