//! Authentication as configured on a WebSocket or RawSocket service: anonymous, ticket,
//! wampcra, cryptosign and tls methods and their principals.

use std::collections::BTreeMap;

use crate::config::secret::Secret;

/// The `auth` block of a WebSocket or RawSocket service. Without an `auth` block, Crossbar (and Junction)
/// allow anonymous with role `anonymous`, which `load` expresses as `anonymous: Some(..)`.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub anonymous: Option<AnonymousAuth>,
    pub ticket: Option<TicketAuth>,
    pub wampcra: Option<WampcraAuth>,
    /// Boxed so that a WebSocket service stays small next to the other transport kinds.
    pub cryptosign: Option<Box<CryptosignAuth>>,
    /// TLS client certificates (boxed for the same reason).
    pub tls: Option<Box<TlsAuth>>,
}

/// `"anonymous": {"type": "static", "role": "..."}`
#[derive(Debug, Clone)]
pub struct AnonymousAuth {
    /// The role of a static anonymous login (empty for a dynamic one).
    pub role: String,
    /// `"type": "dynamic"`: the authenticator decides.
    pub dynamic: Option<DynamicAuth>,
}

/// `"ticket": {"type": "static", "principals": {"authid": {"ticket": "...", "role": "..."}}}`
#[derive(Debug, Clone)]
pub struct TicketAuth {
    pub principals: BTreeMap<String, TicketPrincipal>,
    /// `"type": "dynamic"`: the authenticator decides (then `principals` is empty).
    pub dynamic: Option<DynamicAuth>,
}

/// `{"type": "dynamic", "authenticator": URI, "authenticator-realm": realm, "timeout": ms}`:
/// a procedure, registered by a backend session, that decides who may join.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicAuth {
    pub authenticator: String,
    /// The realm the procedure is registered on (`None`: the realm the client joins).
    pub realm: Option<String>,
    /// `authenticator-role`: the role the router calls it with (default the built-in
    /// `trusted`); that role's permissions apply to the call.
    pub role: String,
    /// Junction: how long the authenticator may take (default 10 s); then the login fails.
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct TicketPrincipal {
    pub ticket: Secret,
    pub role: String,
}

/// `"wampcra": {"type": "static", "users": {"authid": {"secret", "role", "salt"?, "iterations"?, "keylen"?}}}`
#[derive(Debug, Clone)]
pub struct WampcraAuth {
    pub users: BTreeMap<String, WampcraUser>,
    /// `"type": "dynamic"`: the authenticator gives the secret (then `users` is empty).
    pub dynamic: Option<DynamicAuth>,
}

#[derive(Debug, Clone)]
pub struct WampcraUser {
    pub secret: Secret,
    pub role: String,
    /// Present for salted users; then `iterations` (default 1000) and `keylen` (default 32) apply.
    pub salt: Option<String>,
    pub iterations: u32,
    pub keylen: u32,
}

/// `"cryptosign": {"type": "static", "principals": {"authid": {"authorized_keys": [...], "role", "realm"?}}}`
#[derive(Debug, Clone)]
pub struct CryptosignAuth {
    pub principals: BTreeMap<String, CryptosignPrincipal>,
    /// `"type": "dynamic"`: the authenticator decides about the client's key.
    pub dynamic: Option<DynamicAuth>,
}

#[derive(Debug, Clone)]
pub struct CryptosignPrincipal {
    /// Ed25519 public keys (64 hex characters in the file), checked at load to be valid,
    /// non-weak curve points; at least one.
    pub authorized_keys: Vec<ed25519_dalek::VerifyingKey>,
    pub role: String,
    /// `realm`: the only realm this principal may join (Crossbar would move the session
    /// there instead; Junction refuses a HELLO for another realm).
    pub realm: Option<String>,
}

/// `"tls": {"type": "static", "principals": {"authid": {"certificate-sha1": "AB:CD:...", "role"}}}`:
/// the client's TLS certificate (asked for by the endpoint's `ca_certificates`) names the principal.
#[derive(Debug, Clone)]
pub struct TlsAuth {
    pub principals: BTreeMap<String, TlsPrincipal>,
    /// `"type": "dynamic"`: the authenticator decides, given the certificate (then
    /// `principals` is empty).
    pub dynamic: Option<DynamicAuth>,
}

#[derive(Debug, Clone)]
pub struct TlsPrincipal {
    /// `certificate-sha1`: the SHA-1 fingerprint of the client's certificate (its DER bytes).
    pub sha1: [u8; 20],
    pub role: String,
}
