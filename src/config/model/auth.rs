//! Authentication as configured on a WebSocket or RawSocket service: anonymous, ticket,
//! wampcra, cryptosign, scram and tls methods and their principals.

use std::collections::BTreeMap;

use crate::config::secret::{Secret, SecretBytes};

/// The `auth` block of a WebSocket or RawSocket service. Without an `auth` block, Crossbar (and Junction)
/// allow anonymous with role `anonymous`, which `load` expresses as `anonymous: Some(..)`.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub anonymous: Option<AnonymousAuth>,
    pub ticket: Option<TicketAuth>,
    pub wampcra: Option<WampcraAuth>,
    /// Boxed so that a WebSocket service stays small next to the other transport kinds.
    pub cryptosign: Option<Box<CryptosignAuth>>,
    pub scram: Option<ScramAuth>,
    /// TLS client certificates (boxed for the same reason).
    pub tls: Option<Box<TlsAuth>>,
    /// `"cookie": {}`: a client whose tracking cookie logged in before (by another method) is
    /// welcomed again without credentials. Needs cookie tracking on the path.
    pub cookie: bool,
}

/// `"anonymous": {"type": "static", "role": "..."}`
#[derive(Debug, Clone)]
pub struct AnonymousAuth {
    /// The role of a static anonymous login (empty for a dynamic one).
    pub role: String,
    /// `"type": "dynamic"`: the authenticator decides.
    pub dynamic: Option<DynamicAuth>,
    /// `authid`: every anonymous session's authid (default a random one).
    pub authid: Option<String>,
    /// `realm`: the only realm anonymous sessions may join.
    pub realm: Option<String>,
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

/// `"scram": {"type": "static", "principals": {"authid": {"kdf", "iterations", "memory"?,
/// "salt", "stored-key", "server-key", "role"}}}` (salt and keys in hex, as Crossbar reads them
/// and autobahn's `derive_scram_credential` prints them).
#[derive(Debug, Clone)]
pub struct ScramAuth {
    pub principals: BTreeMap<String, ScramPrincipal>,
    /// `"type": "dynamic"`: the authenticator gives the principal's fields at HELLO (then
    /// `principals` is empty).
    pub dynamic: Option<DynamicAuth>,
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

/// What the router keeps of a SCRAM user: never the password, only what the client's KDF
/// parameters and the keys derived from it.
#[derive(Debug, Clone)]
pub struct ScramPrincipal {
    pub kdf: ScramKdf,
    pub iterations: u32,
    /// Argon2's memory cost in KiB (argon2id-13 only).
    pub memory: Option<u32>,
    pub salt: Vec<u8>,
    /// SHA-256(ClientKey): checks the client's proof.
    pub stored_key: SecretBytes,
    /// HMAC(SaltedPassword, "Server Key"): signs the WELCOME, proving the router to the client.
    pub server_key: SecretBytes,
    pub role: String,
}

impl ScramPrincipal {
    /// What every principal must be, from the config or from a dynamic authenticator: `Err`
    /// names the field and what is wrong (never its value).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.salt.is_empty() {
            return Err(("salt", "the salt must not be empty".into()));
        }
        if self.kdf == ScramKdf::Argon2id13 {
            // Argon2's own minimums: a client would fail on anything less.
            if self.salt.len() < 8 {
                return Err((
                    "salt",
                    "argon2id-13 needs a salt of at least 8 bytes".into(),
                ));
            }
            match self.memory {
                None => return Err(("memory", "argon2id-13 needs a memory cost (KiB)".into())),
                Some(memory) if memory < 8 => {
                    return Err((
                        "memory",
                        "argon2id-13 needs a memory cost of at least 8 KiB".into(),
                    ));
                }
                Some(_) => {}
            }
        }
        for (field, key) in [
            ("stored-key", &self.stored_key),
            ("server-key", &self.server_key),
        ] {
            if key.expose().len() != 32 {
                return Err((field, "expected 32 bytes (64 hex characters)".into()));
            }
        }
        Ok(())
    }
}

/// The key derivation function the client runs on its password (the router never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramKdf {
    /// `argon2id-13`: Argon2id version 1.3, parallelism 1, 32 bytes.
    Argon2id13,
    /// `pbkdf2`: PBKDF2-HMAC-SHA256, 32 bytes.
    Pbkdf2,
}

impl ScramKdf {
    /// The names Crossbar and autobahn use, in `kdf` of the config and of the CHALLENGE.
    pub const NAMES: [&str; 2] = ["argon2id-13", "pbkdf2"];

    pub fn from_name(name: &str) -> Option<ScramKdf> {
        match name {
            "argon2id-13" => Some(ScramKdf::Argon2id13),
            "pbkdf2" => Some(ScramKdf::Pbkdf2),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ScramKdf::Argon2id13 => "argon2id-13",
            ScramKdf::Pbkdf2 => "pbkdf2",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsPrincipal {
    /// `certificate-sha1`: the SHA-1 fingerprint of the client's certificate (its DER bytes).
    pub sha1: [u8; 20],
    pub role: String,
}
