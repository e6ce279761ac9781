//! `scram` (WAMP-SCRAM): the client proves it knows the password behind a principal's
//! `stored-key` without sending it, and the router proves it holds the `server-key`, as
//! autobahn-python's `AuthScram` and Crossbar compute it (RFC 5802 with SHA-256).
//!
//! HELLO carries the authid and `authextra.nonce` (base64). CHALLENGE carries `nonce` (the
//! client's nonce followed by the router's, as text, so a client can check the prefix as the
//! spec asks), `salt` (base64), `kdf`, `iterations` and, for Argon2, `memory`. AUTHENTICATE's
//! signature is `base64(ClientProof)`; WELCOME's `authextra.scram_server_signature` is
//! `base64(HMAC(ServerKey, AuthMessage))`. The router never runs the KDF: the client does.
//!
//! Where autobahn and Crossbar differ from the spec's text, the wire follows them (the
//! implementations deployed): the `AuthMessage` has an empty channel binding (`c=`), the authid
//! is SASLprep'ed but not escaped. Channel binding is not offered: a HELLO asking for one is
//! refused by name (Crossbar ignores it and the proof then fails). An unknown authid gets a
//! mock CHALLENGE with a salt that is always the same for it, then the same refusal as a wrong
//! password, as the spec suggests, so a stranger cannot list the users.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::secret::SecretBytes;
use crate::config::{ScramAuth, ScramKdf, ScramPrincipal};
use crate::router::auth::{AuthStep, Identity, Pending as AnyPending, Refusal};
use crate::wamp::value::{Dict, Value};

type HmacSha256 = Hmac<Sha256>;

/// Random octets the router adds to the client's nonce (the spec recommends 16).
const SERVER_NONCE_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// The mock CHALLENGE's parameters when no principal is configured to copy them from
/// (those of autobahn's `derive_scram_credential`).
const MOCK_ITERATIONS: u32 = 4096;
const MOCK_MEMORY: u32 = 512;

/// What the client said in HELLO: `client-first-message`.
#[derive(Debug, Clone)]
pub struct ClientFirst {
    /// The authid as sent (the key of the principal).
    pub authid: String,
    /// SASLprep(authid), as it enters the `AuthMessage`.
    normalized: String,
    /// `authextra.nonce`, as sent.
    nonce: String,
}

/// A challenge sent, waiting for the client's proof.
#[derive(Debug)]
pub struct Pending {
    /// The authid to welcome (a dynamic authenticator may give another than HELLO's).
    authid: String,
    role: String,
    auth_message: String,
    stored_key: SecretBytes,
    server_key: SecretBytes,
    provider: &'static str,
    authextra: Dict,
    /// False for the mock challenge of an unknown authid: always refused.
    known: bool,
}

/// Reads HELLO's authid and `authextra` (nonce, channel binding).
pub fn client_first(
    authid: Option<&str>,
    authextra: Option<&Value>,
) -> Result<ClientFirst, Refusal> {
    let empty = Dict::new();
    let authextra = match authextra {
        None | Some(Value::Null) => &empty,
        Some(Value::Dict(d)) => d,
        Some(_) => return Err(Refusal::not_authorized("HELLO authextra must be a dict")),
    };
    match authextra.get("channel_binding") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) => {
            return Err(Refusal::not_authorized(format!(
                "channel binding \"{kind}\" is not supported by this router: send \
                 channel_binding null"
            )));
        }
        Some(_) => {
            return Err(Refusal::not_authorized(
                "authextra.channel_binding must be a string or null",
            ));
        }
    }
    let nonce = match authextra.get("nonce") {
        Some(Value::String(nonce)) if !nonce.is_empty() && BASE64.decode(nonce).is_ok() => {
            nonce.clone()
        }
        Some(_) => {
            return Err(Refusal::not_authorized(
                "authextra.nonce in HELLO must be base64",
            ));
        }
        None => {
            return Err(Refusal::not_authorized(
                "scram authentication needs a client nonce in HELLO authextra.nonce",
            ));
        }
    };
    let Some(authid) = authid else {
        return Err(Refusal::not_authorized(
            "scram authentication needs an authid in HELLO",
        ));
    };
    let normalized = stringprep::saslprep(authid)
        .map_err(|_| Refusal::not_authorized("the authid is not allowed by SASLprep (RFC 4013)"))?
        .into_owned();
    Ok(ClientFirst {
        authid: authid.to_owned(),
        normalized,
        nonce,
    })
}

/// The CHALLENGE for a static principal (or a mock one for an unknown authid).
pub fn challenge(config: &ScramAuth, first: ClientFirst) -> AuthStep {
    let authid = first.authid.clone();
    match config.principals.get(&authid) {
        Some(principal) => challenge_principal(principal, first, authid, "static", Dict::new()),
        None => mock_challenge(config, first),
    }
}

/// The CHALLENGE for `principal` (of the config, or from a dynamic authenticator: `provider`),
/// welcoming `authid` with `authextra` once the proof checks.
pub fn challenge_principal(
    principal: &ScramPrincipal,
    first: ClientFirst,
    authid: String,
    provider: &'static str,
    authextra: Dict,
) -> AuthStep {
    let suffix: [u8; SERVER_NONCE_LEN] = rand::random();
    let nonce = format!("{}{}", first.nonce, BASE64.encode(suffix));
    challenge_with_nonce(principal, &first, nonce, authid, provider, authextra, true)
}

fn challenge_with_nonce(
    principal: &ScramPrincipal,
    first: &ClientFirst,
    nonce: String,
    authid: String,
    provider: &'static str,
    authextra: Dict,
    known: bool,
) -> AuthStep {
    let salt = BASE64.encode(&principal.salt);
    let auth_message = format!(
        "n={},r={},r={nonce},s={salt},i={},c=,r={nonce}",
        first.normalized, first.nonce, principal.iterations
    );
    let mut extra = Dict::new();
    extra.insert("nonce".into(), Value::from(nonce));
    extra.insert("salt".into(), Value::from(salt));
    extra.insert("kdf".into(), Value::from(principal.kdf.name()));
    extra.insert(
        "iterations".into(),
        Value::from(u64::from(principal.iterations)),
    );
    // Only Argon2 has a memory cost; autobahn cannot read a null one.
    if let Some(memory) = principal.memory {
        extra.insert("memory".into(), Value::from(u64::from(memory)));
    }
    AuthStep::Challenge {
        authmethod: "scram",
        extra,
        pending: AnyPending::Scram(Box::new(Pending {
            authid,
            role: principal.role.clone(),
            auth_message,
            stored_key: principal.stored_key.clone(),
            server_key: principal.server_key.clone(),
            provider,
            authextra,
            known,
        })),
    }
}

/// A CHALLENGE that looks like a real one: the KDF parameters of a configured principal and a
/// salt derived from the authid with a key of this process (the same for the same authid).
fn mock_challenge(config: &ScramAuth, first: ClientFirst) -> AuthStep {
    static MOCK_KEY: OnceLock<[u8; KEY_LEN]> = OnceLock::new();
    let mut mac = hmac(MOCK_KEY.get_or_init(rand::random));
    mac.update(first.authid.as_bytes());
    let salt = mac.finalize().into_bytes()[..16].to_vec();
    let like = config.principals.values().next();
    let principal = ScramPrincipal {
        kdf: like.map_or(ScramKdf::Argon2id13, |p| p.kdf),
        iterations: like.map_or(MOCK_ITERATIONS, |p| p.iterations),
        memory: like.map_or(Some(MOCK_MEMORY), |p| p.memory),
        salt,
        stored_key: SecretBytes::new(rand::random::<[u8; KEY_LEN]>().to_vec()),
        server_key: SecretBytes::new(rand::random::<[u8; KEY_LEN]>().to_vec()),
        role: String::new(),
    };
    let suffix: [u8; SERVER_NONCE_LEN] = rand::random();
    let nonce = format!("{}{}", first.nonce, BASE64.encode(suffix));
    let authid = first.authid.clone();
    challenge_with_nonce(
        &principal,
        &first,
        nonce,
        authid,
        "static",
        Dict::new(),
        false,
    )
}

/// A principal from a dynamic authenticator's answer `{"kdf", "iterations", "memory"?, "salt",
/// "stored-key", "server-key", "role", ...}` (salt and keys in hex, as in the config).
pub fn principal_from_answer(fields: &Dict) -> Result<ScramPrincipal, Refusal> {
    let failed = |why: String| Refusal {
        reason: std::borrow::Cow::Borrowed(crate::wamp::error::AUTHENTICATION_FAILED),
        message: format!("the authenticator's answer for scram: {why}"),
    };
    let text = |key: &str| match fields.get(key) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(failed(format!("\"{key}\" must be a string"))),
        None => Err(failed(format!("no \"{key}\""))),
    };
    let hex_field =
        |key: &str| hex::decode(text(key)?).map_err(|_| failed(format!("\"{key}\" must be hex")));
    let kdf = text("kdf")?;
    let Some(kdf) = ScramKdf::from_name(kdf) else {
        return Err(failed(format!(
            "\"kdf\" must be one of {}",
            ScramKdf::NAMES.join(", ")
        )));
    };
    let salt = hex_field("salt")?;
    let stored_key = SecretBytes::new(hex_field("stored-key")?);
    let server_key = SecretBytes::new(hex_field("server-key")?);
    let number = |key: &str| match fields.get(key).map(Value::as_u64) {
        None => Ok(None),
        Some(Some(n)) if (1..=u64::from(u32::MAX)).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(failed(format!(
            "\"{key}\" must be a positive 32-bit integer"
        ))),
    };
    let Some(iterations) = number("iterations")? else {
        return Err(failed("no \"iterations\"".into()));
    };
    let memory = match kdf {
        ScramKdf::Argon2id13 => number("memory")?,
        ScramKdf::Pbkdf2 => None,
    };
    let principal = ScramPrincipal {
        kdf,
        iterations,
        memory,
        salt,
        stored_key,
        server_key,
        role: text("role")?.to_owned(),
    };
    principal
        .check()
        .map_err(|(field, why)| failed(format!("\"{field}\": {why}")))?;
    Ok(principal)
}

fn hmac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm exists only because the API is fallible.
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

fn hmac_of(key: &[u8], message: &str) -> [u8; KEY_LEN] {
    let mut mac = hmac(key);
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Whether `proof` (ClientKey XOR HMAC(StoredKey, AuthMessage)) recovers the stored key:
/// SHA-256 of the recovered ClientKey, compared in constant time.
fn proof_holds(stored_key: &[u8], auth_message: &str, proof: &[u8]) -> bool {
    if proof.len() != KEY_LEN {
        return false;
    }
    let signature = hmac_of(stored_key, auth_message);
    let client_key: Vec<u8> = signature.iter().zip(proof).map(|(s, p)| s ^ p).collect();
    let recovered = Sha256::digest(&client_key);
    bool::from(recovered.as_slice().ct_eq(stored_key))
}

impl Pending {
    /// The authid being tried (for the log line of a refusal).
    pub fn authid(&self) -> &str {
        &self.authid
    }

    pub fn authenticate(self, signature: &str) -> Result<Identity, Refusal> {
        // One message for every failure: a wrong password and an unknown authid look alike.
        let refused = || Refusal::not_authorized("SCRAM authentication failed");
        let proof = BASE64.decode(signature.trim()).map_err(|_| refused())?;
        let holds = proof_holds(self.stored_key.expose(), &self.auth_message, &proof);
        if !(holds && self.known) {
            return Err(refused());
        }
        let server_signature = hmac_of(self.server_key.expose(), &self.auth_message);
        let mut authextra = self.authextra;
        authextra.insert(
            "scram_server_signature".into(),
            Value::from(BASE64.encode(server_signature)),
        );
        Ok(Identity {
            authid: self.authid,
            authrole: self.role,
            authmethod: "scram",
            authprovider: self.provider,
            authextra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// RFC 7677's SCRAM-SHA-256 example (user "user", password "pencil"): its AuthMessage
    /// (with the RFC's `c=biws`), proof and server signature.
    #[test]
    fn rfc7677_vector() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let mut salted = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"pencil", &salt, 4096, &mut salted);
        let client_key = hmac_of(&salted, "Client Key");
        let stored_key = Sha256::digest(client_key);
        let server_key = hmac_of(&salted, "Server Key");
        let nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let message = format!(
            "n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r={nonce}"
        );
        let proof = BASE64
            .decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert!(proof_holds(&stored_key, &message, &proof));
        let mut wrong = proof.clone();
        wrong[0] ^= 1;
        assert!(!proof_holds(&stored_key, &message, &wrong));
        assert!(!proof_holds(&stored_key, &message, &proof[..31]));
        assert_eq!(
            BASE64.encode(hmac_of(&server_key, &message)),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    fn bob() -> ScramPrincipal {
        // autobahn: pbkdf2("bob-battery-staple", bytes(range(16)), 1000, 32), then the
        // spec's StoredKey and ServerKey.
        let key = |h: &str| SecretBytes::new(hex::decode(h).unwrap());
        ScramPrincipal {
            kdf: ScramKdf::Pbkdf2,
            iterations: 1000,
            memory: None,
            salt: (0u8..16).collect(),
            stored_key: key("4417556ef81d53586a654e79411d37328b3d458389210a11a79a566e7759ef84"),
            server_key: key("5fcc5de11a11a5c0ae7548e7b2d7e8598a3a7e5c1a59b4697e0e612dbe004dc0"),
            role: "backend".into(),
        }
    }

    fn hello(authid: &str, nonce: &str) -> ClientFirst {
        let mut extra = Dict::new();
        extra.insert("nonce".into(), Value::from(nonce));
        client_first(Some(authid), Some(&Value::Dict(extra))).unwrap()
    }

    fn pending(step: AuthStep) -> (Dict, Pending) {
        match step {
            AuthStep::Challenge {
                extra,
                pending: AnyPending::Scram(p),
                ..
            } => (extra, *p),
            other => panic!("expected a scram challenge, got {other:?}"),
        }
    }

    /// A proof computed by autobahn-python's AuthScram.on_challenge for fixed nonces.
    #[test]
    fn autobahn_vector() {
        let first = hello("bob", "Y2xpZW50LW5vbmNlLTE2Yg==");
        let nonce = "Y2xpZW50LW5vbmNlLTE2Yg==c2VydmVyLW5vbmNlLTE2Yg==".to_string();
        let step = challenge_with_nonce(
            &bob(),
            &first,
            nonce,
            "bob".into(),
            "static",
            Dict::new(),
            true,
        );
        let (extra, pending) = pending(step);
        assert_eq!(extra["salt"], Value::from("AAECAwQFBgcICQoLDA0ODw=="));
        assert!(!extra.contains_key("memory"));
        let identity = pending
            .authenticate("HewTD0h0oRFBaBfIkWK6ByaEc0CxsLxsPH8RJSDudZM=")
            .unwrap();
        assert_eq!(
            (identity.authid.as_str(), identity.authrole.as_str()),
            ("bob", "backend")
        );
        assert_eq!(
            identity.authextra["scram_server_signature"],
            Value::from("y4yFPOdud0Sh4SH/DvouW8ZUzElPN7/Y/P4f6W5C7qs=")
        );
    }

    #[test]
    fn unknown_authids_get_a_steady_mock_salt_and_the_same_refusal() {
        let mut principals = BTreeMap::new();
        principals.insert("bob".to_string(), bob());
        let config = ScramAuth {
            principals,
            dynamic: None,
        };
        let (a, mock) = pending(challenge(&config, hello("mallory", "AAAA")));
        let (b, _) = pending(challenge(&config, hello("mallory", "BBBB")));
        let (c, _) = pending(challenge(&config, hello("trudy", "AAAA")));
        assert_eq!(a["salt"], b["salt"]);
        assert_ne!(a["salt"], c["salt"]);
        assert_eq!(
            (a["kdf"].clone(), a["iterations"].clone()),
            (Value::from("pbkdf2"), Value::Int(1000))
        );
        assert!(a["nonce"].as_str().unwrap().starts_with("AAAA"));
        let unknown = mock.authenticate(&BASE64.encode([0u8; 32])).unwrap_err();
        let (_, real) = pending(challenge(&config, hello("bob", "AAAA")));
        let wrong = real.authenticate(&BASE64.encode([0u8; 32])).unwrap_err();
        assert_eq!(unknown, wrong);
        assert_eq!(wrong.reason, crate::wamp::error::NOT_AUTHORIZED);
    }

    #[test]
    fn hello_checks() {
        let refused = |authid: Option<&str>, fields: &[(&str, &str)]| {
            let extra: Dict = fields
                .iter()
                .map(|(k, v)| ((*k).to_string(), Value::from(*v)))
                .collect();
            client_first(authid, Some(&Value::Dict(extra)))
                .unwrap_err()
                .message
        };
        assert!(refused(Some("a"), &[]).contains("nonce"));
        assert!(refused(Some("a"), &[("nonce", "%%%")]).contains("base64"));
        assert!(refused(None, &[("nonce", "AAAA")]).contains("authid"));
        assert!(
            refused(
                Some("a"),
                &[("nonce", "AAAA"), ("channel_binding", "tls-unique")]
            )
            .contains("channel binding \"tls-unique\" is not supported")
        );
        assert!(refused(Some("a\u{7}"), &[("nonce", "AAAA")]).contains("SASLprep"));
        // SASLprep maps what RFC 4013 maps: a no-break space becomes a space.
        assert_eq!(hello("a\u{a0}b", "AAAA").normalized, "a b");
    }
}
