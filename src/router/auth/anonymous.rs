//! `anonymous`: anyone joins with the configured role and a random (or the configured) authid.

use crate::wamp::value::Dict;
use rand::RngExt;

use crate::config::AnonymousAuth;
use crate::router::auth::Identity;

pub fn welcome(config: &AnonymousAuth) -> Identity {
    Identity {
        authid: config.authid.clone().unwrap_or_else(random_authid),
        authrole: config.role.clone(),
        authmethod: "anonymous",
        authprovider: "static",
        authextra: Dict::new(),
    }
}

/// Crossbar-style authid: six groups of four letters and digits.
pub(super) fn random_authid() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..6)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        })
        .collect();
    groups.join("-")
}
