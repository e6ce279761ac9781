//! Authentication of a joining session, per WebSocket path (`auth` block, Crossbar's static
//! methods): the client's HELLO leads to a WELCOME, a CHALLENGE or an ABORT.
//!
//! The client lists `authmethods` in its order of preference (none means `anonymous`); the
//! first one this path is configured for is used. Failures never say anything about secrets.

mod anonymous;
pub mod cookie;
pub mod cryptosign;
pub mod dynamic;
mod failed_logins;
pub mod scram;
mod ticket;
mod tls;
pub mod wampcra;

use std::sync::Arc;

use crate::config::AuthConfig;
use crate::router::client_cert::ClientCert;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::value::{Dict, Value};

pub use failed_logins::FailedLogins;
pub use wampcra::{derive_key, sign};

/// Who a session is once authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub authid: String,
    pub authrole: String,
    pub authmethod: &'static str,
    pub authprovider: &'static str,
    /// `authextra` of the WELCOME (what a dynamic authenticator answered as `extra`).
    pub authextra: Dict,
}

/// A refusal: ABORT reason URI and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Mostly one of `wamp.error.*`; a dynamic authenticator's own error URI passes through.
    pub reason: std::borrow::Cow<'static, str>,
    pub message: String,
}

impl Refusal {
    fn not_authorized(message: impl Into<String>) -> Self {
        Refusal {
            reason: std::borrow::Cow::Borrowed(uri_error::NOT_AUTHORIZED),
            message: message.into(),
        }
    }
}

/// What to answer a HELLO with.
#[derive(Debug)]
pub enum AuthStep {
    Welcome(Identity),
    Challenge {
        authmethod: &'static str,
        extra: Dict,
        pending: Pending,
    },
    Abort(Refusal),
    /// A dynamic anonymous login: the session asks the authenticator at once.
    Decide(Box<dynamic::Pending>),
}

/// A challenge sent, waiting for the client's AUTHENTICATE.
#[derive(Debug)]
pub enum Pending {
    Ticket(ticket::Pending),
    Wampcra(wampcra::Pending),
    /// Boxed: a parsed Ed25519 key is large, and pending states live in every session's state.
    Cryptosign(Box<cryptosign::Pending>),
    Scram(Box<scram::Pending>),
    /// Decided by a dynamic authenticator: the session calls [`dynamic::authenticate`].
    Dynamic(Box<dynamic::Pending>),
}

impl Pending {
    /// The method and the authid being tried, for the log line of a refusal (never a secret).
    pub fn attempt(&self) -> (&'static str, String) {
        match self {
            Pending::Ticket(p) => ("ticket", p.authid().to_owned()),
            Pending::Wampcra(p) => ("wampcra", p.authid().to_owned()),
            Pending::Cryptosign(p) => ("cryptosign", p.authid().to_owned()),
            Pending::Scram(p) => ("scram", p.authid().to_owned()),
            Pending::Dynamic(p) => (p.authmethod, p.authid.clone().unwrap_or_default()),
        }
    }

    pub fn authenticate(self, signature: &str) -> Result<Identity, Refusal> {
        match self {
            Pending::Ticket(p) => p.authenticate(signature),
            Pending::Wampcra(p) => p.authenticate(signature),
            Pending::Cryptosign(p) => p.authenticate(signature),
            Pending::Scram(p) => p.authenticate(signature),
            // Needs a call to the authenticator: the session awaits `dynamic::authenticate`.
            Pending::Dynamic(_) => Err(Refusal {
                reason: std::borrow::Cow::Borrowed(uri_error::AUTHENTICATION_FAILED),
                message: "a dynamic login is decided by its authenticator".into(),
            }),
        }
    }
}

/// A ticket CHALLENGE whose answer the dynamic authenticator will judge.
fn dynamic_challenge(
    config: &crate::config::DynamicAuth,
    realm: &str,
    authid: Option<&str>,
    details: &Dict,
) -> AuthStep {
    AuthStep::Challenge {
        authmethod: "ticket",
        extra: Dict::new(),
        pending: Pending::Dynamic(Box::new(dynamic_pending(
            config, "ticket", realm, authid, details,
        ))),
    }
}

/// What the authenticator will be asked about a HELLO with `details`.
fn dynamic_pending(
    config: &crate::config::DynamicAuth,
    authmethod: &'static str,
    realm: &str,
    authid: Option<&str>,
    details: &Dict,
) -> dynamic::Pending {
    let authextra = match details.get("authextra") {
        Some(Value::Dict(extra)) => extra.clone(),
        _ => Dict::new(),
    };
    dynamic::Pending {
        config: config.clone(),
        realm: realm.to_string(),
        authid: authid.map(str::to_string),
        authmethod,
        authextra,
    }
}

/// The authentication methods of one WebSocket path.
#[derive(Debug)]
pub struct Authenticator {
    config: AuthConfig,
    /// `max_failed_logins` of the service (0: no limit).
    max_failed_logins: u32,
    /// The path's cookie tracking, if it has it.
    cookie_jar: Option<Arc<cookie::CookieJar>>,
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Authenticator {
        Authenticator {
            config: config.clone(),
            max_failed_logins: 0,
            cookie_jar: None,
        }
    }

    /// Tracks the path's clients with cookies (its `cookie` option).
    pub fn with_cookie_jar(mut self, jar: Arc<cookie::CookieJar>) -> Authenticator {
        self.cookie_jar = Some(jar);
        self
    }

    pub fn cookie_jar(&self) -> Option<&Arc<cookie::CookieJar>> {
        self.cookie_jar.as_ref()
    }

    /// Whether a tracking cookie that logged in before is welcomed back (`auth.cookie`).
    pub fn cookie_auth(&self) -> bool {
        self.config.cookie && self.cookie_jar.is_some()
    }

    /// Refuses HELLOs from an address with a burst of `max` failed logins (see [`FailedLogins`]).
    pub fn with_failed_login_limit(mut self, max: u32) -> Authenticator {
        self.max_failed_logins = max;
        self
    }

    /// `Some(wait)` when HELLOs from `ip` are refused for now, and how long until they are not.
    pub fn locked_out(&self, ip: std::net::IpAddr) -> Option<std::time::Duration> {
        if self.max_failed_logins == 0 {
            return None;
        }
        FailedLogins::global().blocked(ip, self.max_failed_logins)
    }

    /// Whether static anonymous logins have a configured `authid` (kept over a cookie's one).
    pub fn fixed_anonymous_authid(&self) -> bool {
        self.config
            .anonymous
            .as_ref()
            .is_some_and(|a| a.authid.is_some())
    }

    /// Whether a method is decided by a dynamic authenticator (which is given the HTTP headers).
    pub fn has_dynamic(&self) -> bool {
        let c = &self.config;
        c.anonymous.as_ref().is_some_and(|a| a.dynamic.is_some())
            || c.ticket.as_ref().is_some_and(|t| t.dynamic.is_some())
            || c.wampcra.as_ref().is_some_and(|w| w.dynamic.is_some())
            || c.cryptosign.as_ref().is_some_and(|s| s.dynamic.is_some())
            || c.scram.as_ref().is_some_and(|s| s.dynamic.is_some())
            || c.tls.as_ref().is_some_and(|t| t.dynamic.is_some())
    }

    /// The methods this path offers, for `check` and error messages.
    pub fn methods(&self) -> Vec<&'static str> {
        let c = &self.config;
        let mut methods = Vec::new();
        if c.anonymous.is_some() {
            methods.push("anonymous");
        }
        if c.ticket.is_some() {
            methods.push("ticket");
        }
        if c.wampcra.is_some() {
            methods.push("wampcra");
        }
        if c.cryptosign.is_some() {
            methods.push("cryptosign");
        }
        if c.scram.is_some() {
            methods.push("scram");
        }
        if c.cookie {
            methods.push("cookie");
        }
        if c.tls.is_some() {
            methods.push("tls");
        }
        methods
    }

    /// The answer to a HELLO with `details`; `client_cert` is the certificate the client
    /// presented in the TLS handshake, if any.
    pub fn hello(
        &self,
        realm: &str,
        session: Id,
        details: &Dict,
        client_cert: Option<&ClientCert>,
    ) -> AuthStep {
        let requested: Vec<&str> = match details.get("authmethods") {
            Some(Value::List(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => vec!["anonymous"],
        };
        let authid = details.get("authid").and_then(Value::as_str);
        for method in &requested {
            match *method {
                "anonymous" => {
                    if let Some(a) = &self.config.anonymous {
                        if let Some(dynamic) = &a.dynamic {
                            return AuthStep::Decide(Box::new(dynamic_pending(
                                dynamic,
                                "anonymous",
                                realm,
                                authid,
                                details,
                            )));
                        }
                        if let Some(only) = a.realm.as_deref().filter(|only| *only != realm) {
                            return AuthStep::Abort(Refusal::not_authorized(format!(
                                "anonymous logins may only join realm \"{only}\""
                            )));
                        }
                        return AuthStep::Welcome(anonymous::welcome(a));
                    }
                }
                "ticket" => {
                    if let Some(t) = &self.config.ticket {
                        if let Some(dynamic) = &t.dynamic {
                            return dynamic_challenge(dynamic, realm, authid, details);
                        }
                        return ticket::challenge(t, authid);
                    }
                }
                "wampcra" => {
                    if let Some(w) = &self.config.wampcra {
                        if let Some(dynamic) = &w.dynamic {
                            return AuthStep::Decide(Box::new(dynamic_pending(
                                dynamic, "wampcra", realm, authid, details,
                            )));
                        }
                        return wampcra::challenge(w, authid, realm, session);
                    }
                }
                "cryptosign" => {
                    if let Some(c) = &self.config.cryptosign {
                        if let Some(dynamic) = &c.dynamic {
                            return AuthStep::Decide(Box::new(dynamic_pending(
                                dynamic,
                                "cryptosign",
                                realm,
                                authid,
                                details,
                            )));
                        }
                        return cryptosign::challenge(c, realm, authid, details.get("authextra"));
                    }
                }
                "scram" => {
                    if let Some(s) = &self.config.scram {
                        // The HELLO is checked before any authenticator is asked (as Crossbar).
                        let first = match scram::client_first(authid, details.get("authextra")) {
                            Ok(first) => first,
                            Err(refusal) => return AuthStep::Abort(refusal),
                        };
                        if let Some(dynamic) = &s.dynamic {
                            return AuthStep::Decide(Box::new(dynamic_pending(
                                dynamic, "scram", realm, authid, details,
                            )));
                        }
                        return scram::challenge(s, first);
                    }
                }
                "tls" => {
                    if let Some(t) = &self.config.tls {
                        let cert = match tls::require_certificate(client_cert) {
                            Ok(cert) => cert,
                            Err(refusal) => return AuthStep::Abort(refusal),
                        };
                        if let Some(dynamic) = &t.dynamic {
                            return AuthStep::Decide(Box::new(dynamic_pending(
                                dynamic, "tls", realm, authid, details,
                            )));
                        }
                        return tls::welcome(t, cert);
                    }
                }
                _ => {}
            }
        }
        AuthStep::Abort(Refusal {
            reason: std::borrow::Cow::Borrowed(uri_error::NO_AUTH_METHOD),
            message: format!(
                "no acceptable authmethod: client offered {requested:?}, this transport accepts {:?}",
                self.methods()
            ),
        })
    }
}
