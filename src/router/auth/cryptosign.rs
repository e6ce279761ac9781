//! `cryptosign`: the client proves it holds an Ed25519 private key whose public key is one of
//! a principal's `authorized_keys`.
//!
//! HELLO names the public key in `authextra.pubkey` (and the authid, or the router finds the
//! one principal holding that key, as Crossbar does). CHALLENGE carries 32 random bytes as
//! hex; AUTHENTICATE answers `hex(signature || challenge)` (96 bytes, what autobahn sends) or
//! just the 64-byte signature. TLS channel binding and router authentication (a client
//! challenge in HELLO) are not supported and are refused by name rather than ignored.

use ed25519_dalek::{Signature, VerifyingKey};
use subtle::ConstantTimeEq;

use crate::config::CryptosignAuth;
use crate::config::auth::cryptosign::parse_public_key;
use crate::router::auth::{AuthStep, Identity, Pending as AnyPending, Refusal};
use crate::wamp::value::{Dict, Value};

const CHALLENGE_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;

#[derive(Debug)]
pub struct Pending {
    authid: String,
    role: String,
    key: VerifyingKey,
    challenge: [u8; CHALLENGE_LEN],
    provider: &'static str,
    authextra: Dict,
}

pub fn challenge(
    config: &CryptosignAuth,
    realm: &str,
    authid: Option<&str>,
    authextra: Option<&Value>,
) -> AuthStep {
    match prepare(config, realm, authid, authextra) {
        Ok(pending) => challenge_for(pending),
        Err(refusal) => AuthStep::Abort(refusal),
    }
}

fn challenge_for(pending: Pending) -> AuthStep {
    let mut extra = Dict::new();
    extra.insert(
        "challenge".into(),
        Value::from(hex::encode(pending.challenge)),
    );
    extra.insert("channel_binding".into(), Value::Null);
    AuthStep::Challenge {
        authmethod: "cryptosign",
        extra,
        pending: AnyPending::Cryptosign(Box::new(pending)),
    }
}

/// The CHALLENGE for a key a dynamic authenticator accepted for `authid` with `role`.
pub fn challenge_key(key: VerifyingKey, authid: String, role: String, authextra: Dict) -> AuthStep {
    challenge_for(Pending {
        authid,
        role,
        key,
        challenge: rand::random(),
        provider: "dynamic",
        authextra,
    })
}

/// The client's public key from its HELLO `authextra` (checked for what Junction cannot do).
pub fn client_key(authextra: &Dict) -> Result<VerifyingKey, Refusal> {
    check_unsupported(authextra)?;
    match authextra.get("pubkey") {
        Some(Value::String(text)) => parse_public_key(text)
            .map_err(|why| Refusal::not_authorized(format!("authextra.pubkey in HELLO: {why}"))),
        Some(_) => Err(Refusal::not_authorized(
            "authextra.pubkey in HELLO must be a string of 64 hex characters",
        )),
        None => Err(Refusal::not_authorized(
            "cryptosign authentication needs the client's public key in HELLO authextra.pubkey",
        )),
    }
}

fn prepare(
    config: &CryptosignAuth,
    realm: &str,
    authid: Option<&str>,
    authextra: Option<&Value>,
) -> Result<Pending, Refusal> {
    let empty = Dict::new();
    let authextra = match authextra {
        None | Some(Value::Null) => &empty,
        Some(Value::Dict(d)) => d,
        Some(_) => return Err(Refusal::not_authorized("HELLO authextra must be a dict")),
    };
    let key = client_key(authextra)?;
    let authid = match authid {
        Some(authid) => authid.to_owned(),
        None => principal_of(config, &key)?,
    };
    let Some(principal) = config.principals.get(&authid) else {
        return Err(Refusal::not_authorized(format!(
            "no principal \"{authid}\""
        )));
    };
    if !principal.authorized_keys.contains(&key) {
        return Err(Refusal::not_authorized(format!(
            "authextra.pubkey is not an authorized key of principal \"{authid}\""
        )));
    }
    if let Some(only) = &principal.realm
        && only != realm
    {
        return Err(Refusal::not_authorized(format!(
            "principal \"{authid}\" may only join realm \"{only}\""
        )));
    }
    Ok(Pending {
        authid,
        role: principal.role.clone(),
        key,
        challenge: rand::random(),
        provider: "static",
        authextra: Dict::new(),
    })
}

/// Channel binding and router authentication need what Junction does not have (the TLS
/// channel id, a router key): say so instead of letting the client believe it got them.
fn check_unsupported(authextra: &Dict) -> Result<(), Refusal> {
    match authextra.get("channel_binding") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "tls-unique" => {
            return Err(Refusal::not_authorized(
                "channel binding \"tls-unique\" is not supported by this router",
            ));
        }
        Some(Value::String(kind)) => {
            return Err(Refusal::not_authorized(format!(
                "invalid channel binding type \"{kind}\" requested"
            )));
        }
        Some(_) => {
            return Err(Refusal::not_authorized(
                "authextra.channel_binding must be a string or null",
            ));
        }
    }
    match authextra.get("challenge") {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(Refusal::not_authorized(
            "router authentication (a challenge in HELLO authextra) is not supported by this router",
        )),
    }
}

/// Without an authid the key names the principal, when exactly one principal authorizes it.
fn principal_of(config: &CryptosignAuth, key: &VerifyingKey) -> Result<String, Refusal> {
    let mut holders = config
        .principals
        .iter()
        .filter(|(_, p)| p.authorized_keys.contains(key))
        .map(|(authid, _)| authid);
    match (holders.next(), holders.next()) {
        (Some(authid), None) => Ok(authid.clone()),
        (None, _) => Err(Refusal::not_authorized(
            "no authid in HELLO and no principal has authextra.pubkey as an authorized key",
        )),
        (Some(_), Some(_)) => Err(Refusal::not_authorized(
            "no authid in HELLO and several principals have authextra.pubkey: send an authid",
        )),
    }
}

impl Pending {
    /// The authid being tried (for the log line of a refusal).
    pub fn authid(&self) -> &str {
        &self.authid
    }

    pub fn authenticate(self, signature: &str) -> Result<Identity, Refusal> {
        let refused = |why: &str| {
            Refusal::not_authorized(format!(
                "invalid cryptosign signature for \"{}\": {why}",
                self.authid
            ))
        };
        let bytes = hex::decode(signature.trim()).map_err(|_| refused("not a hex string"))?;
        let (signature, signed) = match bytes.len() {
            96 => bytes.split_at(SIGNATURE_LEN),
            64 => (bytes.as_slice(), &self.challenge[..]),
            n => {
                return Err(refused(&format!(
                    "expected 96 bytes (signature and challenge) or 64 (signature), got {n}"
                )));
            }
        };
        if !bool::from(signed.ct_eq(&self.challenge[..])) {
            return Err(refused("the message signed is not the challenge"));
        }
        let signature = Signature::from_slice(signature).map_err(|_| refused("malformed"))?;
        // verify_strict also refuses malleable signatures and small-order components.
        self.key
            .verify_strict(&self.challenge, &signature)
            .map_err(|_| refused("the signature does not verify with authextra.pubkey"))?;
        Ok(Identity {
            authid: self.authid,
            authrole: self.role,
            authmethod: "cryptosign",
            authprovider: self.provider,
            authextra: self.authextra,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ed25519_dalek::{Signer, SigningKey};

    use super::*;
    use crate::config::CryptosignPrincipal;

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn pubkey(seed: u8) -> String {
        hex::encode(signing_key(seed).verifying_key().as_bytes())
    }

    fn principal(seeds: &[u8], realm: Option<&str>) -> CryptosignPrincipal {
        CryptosignPrincipal {
            authorized_keys: seeds
                .iter()
                .map(|s| signing_key(*s).verifying_key())
                .collect(),
            role: "backend".into(),
            realm: realm.map(str::to_owned),
        }
    }

    /// alice holds keys 1 and 2 (realm1 only), bob key 3, carol and dave share key 4.
    fn config() -> CryptosignAuth {
        let mut principals = BTreeMap::new();
        principals.insert("alice".to_owned(), principal(&[1, 2], Some("realm1")));
        principals.insert("bob".to_owned(), principal(&[3], None));
        principals.insert("carol".to_owned(), principal(&[4], None));
        principals.insert("dave".to_owned(), principal(&[4], None));
        CryptosignAuth {
            principals,
            dynamic: None,
        }
    }

    fn authextra(pairs: &[(&str, Value)]) -> Value {
        Value::Dict(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn hello(authid: Option<&str>, seed: u8) -> AuthStep {
        let extra = authextra(&[("pubkey", Value::from(pubkey(seed)))]);
        challenge(&config(), "realm1", authid, Some(&extra))
    }

    fn challenged(authid: Option<&str>, seed: u8) -> (Vec<u8>, Pending) {
        match hello(authid, seed) {
            AuthStep::Challenge {
                authmethod,
                extra,
                pending: AnyPending::Cryptosign(p),
            } => {
                let p = *p;
                assert_eq!(authmethod, "cryptosign");
                assert_eq!(extra["channel_binding"], Value::Null);
                let text = extra["challenge"].as_str().unwrap();
                assert_eq!(text.len(), 64);
                (hex::decode(text).unwrap(), p)
            }
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    /// What autobahn sends: hex(signature || challenge).
    fn answer(seed: u8, challenge: &[u8]) -> String {
        let signature = signing_key(seed).sign(challenge);
        format!(
            "{}{}",
            hex::encode(signature.to_bytes()),
            hex::encode(challenge)
        )
    }

    fn refusal(step: AuthStep) -> String {
        match step {
            AuthStep::Abort(r) => {
                assert_eq!(r.reason, "wamp.error.not_authorized");
                r.message
            }
            other => panic!("expected an abort, got {other:?}"),
        }
    }

    #[test]
    fn signed_challenge_is_accepted() {
        for seed in [1, 2] {
            let (challenge, pending) = challenged(Some("alice"), seed);
            let id = pending.authenticate(&answer(seed, &challenge)).unwrap();
            assert_eq!(
                (id.authid.as_str(), id.authrole.as_str(), id.authmethod),
                ("alice", "backend", "cryptosign")
            );
        }
        // The 64-byte form (signature only) and upper-case hex are accepted too.
        let (challenge, pending) = challenged(Some("bob"), 3);
        let signature = hex::encode_upper(signing_key(3).sign(&challenge).to_bytes());
        assert_eq!(pending.authenticate(&signature).unwrap().authid, "bob");
    }

    #[test]
    fn challenges_are_fresh() {
        let (a, _) = challenged(Some("bob"), 3);
        let (b, _) = challenged(Some("bob"), 3);
        assert_ne!(a, b);
    }

    #[test]
    fn authid_is_found_by_key() {
        let (challenge, pending) = challenged(None, 2);
        assert_eq!(
            pending.authenticate(&answer(2, &challenge)).unwrap().authid,
            "alice"
        );
        assert!(refusal(hello(None, 9)).contains("no principal has"));
        // Key 4 is carol's and dave's: ambiguous without an authid, fine with one.
        assert!(refusal(hello(None, 4)).contains("several principals"));
        let (challenge, pending) = challenged(Some("dave"), 4);
        assert_eq!(
            pending.authenticate(&answer(4, &challenge)).unwrap().authid,
            "dave"
        );
    }

    #[test]
    fn wrong_key_is_refused() {
        // A key the principal does not list: refused at HELLO.
        assert!(refusal(hello(Some("alice"), 3)).contains("not an authorized key"));
        assert!(refusal(hello(Some("mallory"), 1)).contains("no principal"));
        // An announced key that is authorized, but the signature is made with another.
        let (challenge, pending) = challenged(Some("alice"), 1);
        let message = pending.authenticate(&answer(2, &challenge)).unwrap_err();
        assert_eq!(message.reason, "wamp.error.not_authorized");
        assert!(message.message.contains("does not verify"), "{message:?}");
    }

    #[test]
    fn a_signature_of_another_message_is_refused() {
        let (challenge, pending) = challenged(Some("bob"), 3);
        let mut other = challenge.clone();
        other[0] ^= 1;
        // Signature and message agree, but the message is not our challenge.
        assert!(pending.authenticate(&answer(3, &other)).is_err());
        // A valid signature of the other message, with our challenge appended.
        let (challenge, pending) = challenged(Some("bob"), 3);
        let forged = format!(
            "{}{}",
            hex::encode(signing_key(3).sign(&other).to_bytes()),
            hex::encode(&challenge)
        );
        assert!(pending.authenticate(&forged).is_err());
    }

    #[test]
    fn malformed_signatures_never_panic() {
        let (challenge, _) = challenged(Some("bob"), 3);
        let good = answer(3, &challenge);
        let cases = [
            String::new(),
            "zz".repeat(96),
            "ab".to_owned(),
            good[..190].to_owned(),
            format!("{good}00"),
            "é".repeat(96),
            "00".repeat(96),
            "ff".repeat(64),
            good[..128].chars().rev().collect(),
        ];
        for case in cases {
            let (_, pending) = challenged(Some("bob"), 3);
            assert!(pending.authenticate(&case).is_err(), "{case:?} accepted");
        }
    }

    #[test]
    fn realm_of_the_principal_is_enforced() {
        let extra = authextra(&[("pubkey", Value::from(pubkey(1)))]);
        let message = refusal(challenge(&config(), "realm2", Some("alice"), Some(&extra)));
        assert!(
            message.contains("may only join realm \"realm1\""),
            "{message}"
        );
        // bob has no realm: any realm of the router.
        let extra = authextra(&[("pubkey", Value::from(pubkey(3)))]);
        let step = challenge(&config(), "realm2", Some("bob"), Some(&extra));
        assert!(matches!(step, AuthStep::Challenge { .. }));
    }

    #[test]
    fn bad_hello_authextra_is_refused() {
        let cases: Vec<(Option<Value>, &str)> = vec![
            (None, "needs the client's public key"),
            (Some(Value::from("x")), "must be a dict"),
            (Some(authextra(&[])), "needs the client's public key"),
            (
                Some(authextra(&[("pubkey", Value::from(12u64))])),
                "must be a string",
            ),
            (
                Some(authextra(&[("pubkey", Value::from("abcd"))])),
                "expected 64 hex characters",
            ),
            (
                Some(authextra(&[("pubkey", Value::from("g".repeat(64)))])),
                "not a hex string",
            ),
            (
                Some(authextra(&[
                    ("pubkey", Value::from(pubkey(1))),
                    ("channel_binding", Value::from("tls-unique")),
                ])),
                "\"tls-unique\" is not supported",
            ),
            (
                Some(authextra(&[
                    ("pubkey", Value::from(pubkey(1))),
                    ("channel_binding", Value::from("tls-exporter")),
                ])),
                "invalid channel binding type",
            ),
            (
                Some(authextra(&[
                    ("pubkey", Value::from(pubkey(1))),
                    ("challenge", Value::from("00".repeat(32))),
                ])),
                "router authentication",
            ),
        ];
        for (extra, expected) in cases {
            let message = refusal(challenge(
                &config(),
                "realm1",
                Some("alice"),
                extra.as_ref(),
            ));
            assert!(message.contains(expected), "{message} lacks {expected}");
        }
        // An explicit null channel binding (what autobahn sends) is fine.
        let extra = authextra(&[
            ("pubkey", Value::from(pubkey(1))),
            ("channel_binding", Value::Null),
        ]);
        let step = challenge(&config(), "realm1", Some("alice"), Some(&extra));
        assert!(matches!(step, AuthStep::Challenge { .. }));
    }
}
