//! `ticket`: the client names its authid in HELLO and sends the ticket in AUTHENTICATE,
//! compared in constant time with the configured one.

use subtle::ConstantTimeEq;

use crate::config::TicketAuth;
use crate::config::secret::Secret;
use crate::router::auth::{AuthStep, Identity, Pending as AnyPending, Refusal};
use crate::wamp::value::Dict;

#[derive(Debug)]
pub struct Pending {
    authid: String,
    role: String,
    ticket: Secret,
}

pub fn challenge(config: &TicketAuth, authid: Option<&str>) -> AuthStep {
    let Some(authid) = authid else {
        return AuthStep::Abort(Refusal::not_authorized(
            "ticket authentication needs an authid in HELLO",
        ));
    };
    let Some(principal) = config.principals.get(authid) else {
        return AuthStep::Abort(Refusal::not_authorized(format!(
            "no principal \"{authid}\""
        )));
    };
    AuthStep::Challenge {
        authmethod: "ticket",
        extra: Dict::new(),
        pending: AnyPending::Ticket(Pending {
            authid: authid.to_owned(),
            role: principal.role.clone(),
            ticket: principal.ticket.clone(),
        }),
    }
}

impl Pending {
    /// The authid being tried (for the log line of a refusal).
    pub fn authid(&self) -> &str {
        &self.authid
    }

    pub fn authenticate(self, signature: &str) -> Result<Identity, Refusal> {
        // Constant time: how long the comparison takes tells nothing about how much matched.
        if bool::from(signature.as_bytes().ct_eq(self.ticket.expose().as_bytes())) {
            Ok(Identity {
                authid: self.authid,
                authrole: self.role,
                authmethod: "ticket",
                authprovider: "static",
                authextra: Dict::new(),
            })
        } else {
            Err(Refusal::not_authorized(format!(
                "invalid ticket for \"{}\"",
                self.authid
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TicketPrincipal;

    fn config() -> TicketAuth {
        let mut principals = std::collections::BTreeMap::new();
        principals.insert(
            "joe".to_owned(),
            TicketPrincipal {
                ticket: Secret::new("s3cret"),
                role: "frontend".into(),
            },
        );
        TicketAuth {
            principals,
            dynamic: None,
        }
    }

    fn pending(authid: Option<&str>) -> Pending {
        match challenge(&config(), authid) {
            AuthStep::Challenge {
                pending: AnyPending::Ticket(p),
                ..
            } => p,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    #[test]
    fn right_ticket_gives_the_principal_role() {
        let id = pending(Some("joe")).authenticate("s3cret").unwrap();
        assert_eq!(
            (id.authid.as_str(), id.authrole.as_str()),
            ("joe", "frontend")
        );
    }

    #[test]
    fn wrong_ticket_is_refused_without_the_secret() {
        let refusal = pending(Some("joe")).authenticate("guess").unwrap_err();
        assert_eq!(refusal.reason, "wamp.error.not_authorized");
        assert!(!refusal.message.contains("s3cret"));
    }

    #[test]
    fn unknown_or_missing_authid_is_refused() {
        assert!(matches!(
            challenge(&config(), Some("eve")),
            AuthStep::Abort(_)
        ));
        assert!(matches!(challenge(&config(), None), AuthStep::Abort(_)));
    }
}
