//! `wampcra`: challenge-response with HMAC-SHA256, plain or with a PBKDF2-salted secret, as
//! autobahn computes it.
//!
//! The challenge is a JSON text naming the session; the client answers
//! `base64(HMAC-SHA256(key, challenge))`. For salted users the key is the ASCII text of
//! `base64(PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen))`, not the raw derived bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::{WampcraAuth, WampcraUser};
use crate::router::auth::{AuthStep, Identity, Pending as AnyPending, Refusal};
use crate::wamp::id::Id;
use crate::wamp::value::{Dict, Value};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug)]
pub struct Pending {
    authid: String,
    role: String,
    challenge: String,
    key: Vec<u8>,
    provider: &'static str,
    authextra: Dict,
}

/// autobahn's `derive_key`: base64 text of the PBKDF2-HMAC-SHA256 key.
pub fn derive_key(secret: &str, salt: &str, iterations: u32, keylen: u32) -> String {
    let mut key = vec![0u8; keylen as usize];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), salt.as_bytes(), iterations, &mut key);
    BASE64.encode(key)
}

/// autobahn's `compute_wcs`: base64 of HMAC-SHA256(key, challenge).
pub fn sign(key: &[u8], challenge: &str) -> String {
    let mut mac = hmac(key);
    mac.update(challenge.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn hmac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm exists only because the API is fallible.
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

pub fn challenge(config: &WampcraAuth, authid: Option<&str>, realm: &str, session: Id) -> AuthStep {
    let Some(authid) = authid else {
        return AuthStep::Abort(Refusal::not_authorized(
            "wampcra authentication needs an authid in HELLO",
        ));
    };
    let Some(user) = config.users.get(authid) else {
        return AuthStep::Abort(Refusal::not_authorized(format!("no user \"{authid}\"")));
    };
    challenge_user(user, authid, realm, session, "static", Dict::new())
}

/// The CHALLENGE for `user` (of the config, or from a dynamic authenticator: `provider`).
pub fn challenge_user(
    user: &WampcraUser,
    authid: &str,
    realm: &str,
    session: Id,
    provider: &'static str,
    authextra: Dict,
) -> AuthStep {
    let nonce: [u8; 16] = rand::random();
    let challenge = serde_json::json!({
        "authid": authid,
        "authrole": user.role,
        "authmethod": "wampcra",
        "authprovider": provider,
        "nonce": BASE64.encode(nonce),
        "timestamp": jiff::Timestamp::now().to_string(),
        "session": session,
        "realm": realm,
    })
    .to_string();
    let mut extra = Dict::new();
    extra.insert("challenge".into(), Value::from(challenge.as_str()));
    let key = match &user.salt {
        Some(salt) => {
            extra.insert("salt".into(), Value::from(salt.as_str()));
            extra.insert("iterations".into(), Value::from(u64::from(user.iterations)));
            extra.insert("keylen".into(), Value::from(u64::from(user.keylen)));
            derive_key(user.secret.expose(), salt, user.iterations, user.keylen).into_bytes()
        }
        None => user.secret.expose().as_bytes().to_vec(),
    };
    AuthStep::Challenge {
        authmethod: "wampcra",
        extra,
        pending: AnyPending::Wampcra(Pending {
            authid: authid.to_owned(),
            role: user.role.clone(),
            challenge,
            key,
            provider,
            authextra,
        }),
    }
}

impl Pending {
    /// The authid being tried (for the log line of a refusal).
    pub fn authid(&self) -> &str {
        &self.authid
    }

    pub fn authenticate(self, signature: &str) -> Result<Identity, Refusal> {
        let refused = || {
            Refusal::not_authorized(format!("invalid wampcra signature for \"{}\"", self.authid))
        };
        let signature = BASE64.decode(signature.trim()).map_err(|_| refused())?;
        let mut mac = hmac(&self.key);
        mac.update(self.challenge.as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&signature).map_err(|_| refused())?;
        Ok(Identity {
            authid: self.authid,
            authrole: self.role,
            authmethod: "wampcra",
            authprovider: self.provider,
            authextra: self.authextra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WampcraUser;
    use crate::config::secret::Secret;

    fn config(salt: Option<&str>) -> WampcraAuth {
        let mut users = std::collections::BTreeMap::new();
        users.insert(
            "alice".to_owned(),
            WampcraUser {
                secret: Secret::new("secret123"),
                role: "frontend".into(),
                salt: salt.map(str::to_owned),
                iterations: 100,
                keylen: 16,
            },
        );
        WampcraAuth {
            users,
            dynamic: None,
        }
    }

    fn challenge_for(config: &WampcraAuth) -> (Dict, Pending) {
        match challenge(config, Some("alice"), "realm1", 42) {
            AuthStep::Challenge {
                extra,
                pending: AnyPending::Wampcra(p),
                ..
            } => (extra, p),
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    #[test]
    fn derive_key_matches_autobahn() {
        // Python: base64(hashlib.pbkdf2_hmac("sha256", b"secret123", b"salt123", 100, 16)),
        // which autobahn.wamp.auth.derive_key computes.
        assert_eq!(
            derive_key("secret123", "salt123", 100, 16),
            "DpHHRlQ6UNULJlP9J8WkPw=="
        );
    }

    #[test]
    fn plain_signature_is_accepted() {
        let (extra, pending) = challenge_for(&config(None));
        let text = extra["challenge"].as_str().unwrap().to_owned();
        assert!(!extra.contains_key("salt"));
        let signature = sign(b"secret123", &text);
        assert_eq!(
            pending.authenticate(&signature).unwrap().authrole,
            "frontend"
        );
    }

    #[test]
    fn salted_signature_uses_the_base64_text_as_key() {
        let (extra, pending) = challenge_for(&config(Some("salt123")));
        assert_eq!(extra["iterations"], Value::Int(100));
        let key = derive_key("secret123", "salt123", 100, 16);
        let signature = sign(key.as_bytes(), extra["challenge"].as_str().unwrap());
        assert!(pending.authenticate(&signature).is_ok());
    }

    #[test]
    fn wrong_signature_is_refused() {
        let (extra, pending) = challenge_for(&config(None));
        let signature = sign(b"wrong", extra["challenge"].as_str().unwrap());
        let refusal = pending.authenticate(&signature).unwrap_err();
        assert!(!refusal.message.contains("secret123"));
        let (_, pending) = challenge_for(&config(None));
        assert!(pending.authenticate("not base64 !!").is_err());
    }

    #[test]
    fn challenge_names_the_session() {
        let (extra, _) = challenge_for(&config(None));
        let parsed: serde_json::Value =
            serde_json::from_str(extra["challenge"].as_str().unwrap()).unwrap();
        assert_eq!(parsed["session"], 42);
        assert_eq!(parsed["authmethod"], "wampcra");
    }
}
