//! The `tls` block of a WebSocket or RawSocket service's `auth` (Crossbar's shape): static
//! principals, each with the `certificate-sha1` fingerprint of its client certificate and a
//! `role`, or a dynamic authenticator that is given the certificate.
//!
//! Fingerprints are read as OpenSSL prints them (`AB:CD:...`) or as plain hex, in either case,
//! and checked at load: a typo fails `check` instead of every login. A client certificate
//! only comes when the transport's endpoint asks for one (`tls.ca_certificates`); the service's
//! loader records where `tls` auth was configured so the transport, once its endpoint is
//! loaded, can warn when it does not.

use std::collections::BTreeMap;

use crate::config::auth::{dynamic_method, role, static_method};
use crate::config::loader::Loader;
use crate::config::model::{TlsAuth, TlsPrincipal};
use crate::config::node::{Node, Result};

pub(crate) fn load_tls_auth(node: &Node, cx: &mut Loader) -> Result<TlsAuth> {
    cx.tls_auth_paths.push(node.path.clone());
    if let Some(dynamic) = dynamic_method(node, cx)? {
        return Ok(TlsAuth {
            principals: BTreeMap::new(),
            dynamic: Some(dynamic),
        });
    }
    let obj = static_method(node, &["type", "principals"], cx)?;
    let principals = obj.required("principals")?.object()?;
    let mut loaded: BTreeMap<String, TlsPrincipal> = BTreeMap::new();
    for (authid, principal) in principals.entries() {
        let principal = principal.object()?;
        principal.keys(&["certificate-sha1", "role"], &[], &mut cx.ignored)?;
        let sha1_node = principal.required("certificate-sha1")?;
        let written = sha1_node.str()?;
        let sha1 = parse_sha1(written).ok_or_else(|| {
            sha1_node.error(format!(
                "expected a SHA-1 fingerprint (40 hex digits, colons optional), found \"{written}\""
            ))
        })?;
        // Crossbar keeps the last of two principals with one certificate; which one a client
        // gets should not depend on the order of keys in a file.
        if let Some((other, _)) = loaded.iter().find(|(_, p)| p.sha1 == sha1) {
            return Err(sha1_node.error(format!("the same certificate as principal \"{other}\"")));
        }
        let role = role(&principal, None, cx)?;
        loaded.insert(authid.to_string(), TlsPrincipal { sha1, role });
    }
    Ok(TlsAuth {
        principals: loaded,
        dynamic: None,
    })
}

/// A SHA-1 fingerprint: 20 bytes as hex digits of either case, pairs separated by colons or
/// not at all (`B6:E5:...`, `b6e5...`).
pub fn parse_sha1(text: &str) -> Option<[u8; 20]> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    let colons = text.len() - digits.len();
    if colons != 0 && (colons != 19 || text.split(':').any(|pair| pair.len() != 2)) {
        return None;
    }
    let mut sha1 = [0u8; 20];
    hex::decode_to_slice(&digits, &mut sha1).ok()?;
    Some(sha1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::auth::tests::{auth_error, auth_of, config_with_auth};
    use crate::config::load::testing::load;

    const SHA1: &str = "B6:E5:E6:F2:2A:86:DB:3C:DC:9F:51:42:58:39:9B:14:92:5D:A1:EB";

    #[test]
    fn fingerprints_in_either_case_with_or_without_colons() {
        let bytes = parse_sha1(SHA1).unwrap();
        assert_eq!(bytes[0], 0xB6);
        assert_eq!(parse_sha1(&SHA1.to_lowercase()), Some(bytes));
        assert_eq!(parse_sha1(&SHA1.replace(':', "")), Some(bytes));
        for bad in [
            "",
            "B6:E5",
            &SHA1[1..],
            &format!("{SHA1}:00"),
            "B6E5:E6F2:2A86:DB3C:DC9F:5142:5839:9B14:925D:A1EB",
            &SHA1.replace("B6", "G6"),
        ] {
            assert_eq!(parse_sha1(bad), None, "{bad}");
        }
    }

    #[test]
    fn static_and_dynamic() {
        let config = load(&config_with_auth(&format!(
            r#"{{"tls": {{"type": "static", "principals": {{"client_0": {{"certificate-sha1": "{SHA1}", "role": "backend"}}}}}}}}"#
        )));
        let tls = auth_of(&config).tls.unwrap();
        assert_eq!(tls.principals["client_0"].sha1, parse_sha1(SHA1).unwrap());
        assert_eq!(tls.principals["client_0"].role, "backend");
        assert!(tls.dynamic.is_none());

        let config = load(&config_with_auth(
            r#"{"tls": {"type": "dynamic", "authenticator": "com.example.auth"}}"#,
        ));
        let tls = auth_of(&config).tls.unwrap();
        assert_eq!(tls.dynamic.unwrap().authenticator, "com.example.auth");
        assert!(tls.principals.is_empty());
    }

    #[test]
    fn errors_name_the_principal() {
        let at = "workers[0].transports[0].paths.ws.auth.tls";
        assert_eq!(
            auth_error(
                r#"{"tls": {"type": "static", "principals": {"x": {"certificate-sha1": "zz", "role": "backend"}}}}"#
            ),
            format!(
                "{at}.principals.x.certificate-sha1: expected a SHA-1 fingerprint (40 hex \
                 digits, colons optional), found \"zz\""
            )
        );
        assert_eq!(
            auth_error(r#"{"tls": {"type": "function", "create": "m.f"}}"#)
                .split(':')
                .next(),
            Some(format!("{at}.type").as_str())
        );
    }
}
