//! `tls`: the client is who its TLS certificate says. The handshake verified the certificate
//! against the endpoint's `ca_certificates`; here the static principal whose
//! `certificate-sha1` is its fingerprint is welcomed at once (authid: the principal's name,
//! whatever the HELLO asked for), or a dynamic authenticator is asked, given the certificate in
//! `details.transport.peer_cert`. No certificate, or one no principal lists, is refused with
//! `wamp.error.not_authorized`, as in Crossbar.

use crate::config::TlsAuth;
use crate::router::auth::{AuthStep, Identity, Refusal};
use crate::router::client_cert::{ClientCert, fingerprint};
use crate::wamp::value::Dict;

/// Whether a `tls` login can go on: a refusal when the client sent no certificate (the
/// transport's endpoint asks for none).
pub fn require_certificate(client_cert: Option<&ClientCert>) -> Result<&ClientCert, Refusal> {
    client_cert
        .ok_or_else(|| Refusal::not_authorized("client did not send a TLS client certificate"))
}

/// A static login: the principal with the certificate's fingerprint.
pub fn welcome(config: &TlsAuth, client_cert: &ClientCert) -> AuthStep {
    let found = config
        .principals
        .iter()
        .find(|(_, principal)| principal.sha1 == client_cert.sha1);
    match found {
        Some((authid, principal)) => AuthStep::Welcome(Identity {
            authid: authid.clone(),
            authrole: principal.role.clone(),
            authmethod: "tls",
            authprovider: "static",
            authextra: Dict::new(),
        }),
        None => AuthStep::Abort(Refusal::not_authorized(format!(
            "no principal has the client certificate {}",
            fingerprint(&client_cert.sha1)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsPrincipal;
    use std::collections::BTreeMap;

    fn cert(first: u8) -> ClientCert {
        let mut sha1 = [0u8; 20];
        sha1[0] = first;
        ClientCert {
            sha1,
            ..ClientCert::default()
        }
    }

    fn config() -> TlsAuth {
        let principal = |first, role: &str| TlsPrincipal {
            sha1: cert(first).sha1,
            role: role.into(),
        };
        TlsAuth {
            principals: BTreeMap::from([
                ("client_0".to_string(), principal(1, "backend")),
                ("client_1".to_string(), principal(2, "frontend")),
            ]),
            dynamic: None,
        }
    }

    #[test]
    fn the_principal_with_the_fingerprint_is_welcomed() {
        let AuthStep::Welcome(identity) = welcome(&config(), &cert(2)) else {
            panic!("expected a welcome");
        };
        assert_eq!(
            (identity.authid.as_str(), identity.authrole.as_str()),
            ("client_1", "frontend")
        );
        assert_eq!(
            (identity.authmethod, identity.authprovider),
            ("tls", "static")
        );
    }

    #[test]
    fn an_unknown_certificate_or_none_is_not_authorized() {
        let AuthStep::Abort(refusal) = welcome(&config(), &cert(3)) else {
            panic!("expected an abort");
        };
        assert_eq!(refusal.reason, "wamp.error.not_authorized");
        assert!(refusal.message.contains("03:00:00"), "{}", refusal.message);
        let Err(refusal) = require_certificate(None) else {
            panic!("expected a refusal");
        };
        assert_eq!(refusal.reason, "wamp.error.not_authorized");
        assert!(require_certificate(Some(&cert(1))).is_ok());
    }
}
