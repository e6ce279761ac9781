//! The `cryptosign` block of a WebSocket service's `auth` (Crossbar's shape): static
//! principals, each with Ed25519 `authorized_keys`, a `role` and optionally a `realm`.
//!
//! Keys are validated at load (64 hex characters that decode to a curve point of full order),
//! so a typo fails `check` instead of every login. [`parse_public_key`] also reads the key a
//! client announces in HELLO.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;

use crate::config::auth::{dynamic_method, env_reference, role, static_method};
use crate::config::loader::Loader;
use crate::config::model::{CryptosignAuth, CryptosignPrincipal};
use crate::config::node::{Node, Obj, Result};

pub(crate) fn load_cryptosign(node: &Node, cx: &mut Loader) -> Result<CryptosignAuth> {
    if let Some(dynamic) = dynamic_method(node, cx)? {
        return Ok(CryptosignAuth {
            principals: BTreeMap::new(),
            dynamic: Some(dynamic),
        });
    }
    let obj = static_method(node, &["type", "principals"], cx)?;
    let principals = obj.required("principals")?.object()?;
    let mut loaded = BTreeMap::new();
    for (authid, principal) in principals.entries() {
        let principal = principal.object()?;
        principal.keys(&["authorized_keys", "role", "realm"], &[], &mut cx.ignored)?;
        let keys_node = principal.required("authorized_keys")?;
        let mut authorized_keys: Vec<VerifyingKey> = Vec::new();
        for key_node in keys_node.array()? {
            let key = public_key(&key_node, cx)?;
            if let Some(first) = authorized_keys.iter().position(|k| *k == key) {
                return Err(key_node.error(format!("the same key as authorized_keys[{first}]")));
            }
            authorized_keys.push(key);
        }
        if authorized_keys.is_empty() {
            return Err(keys_node.error("a principal needs at least one authorized key"));
        }
        let (realm, role) = realm_and_role(&principal, cx)?;
        loaded.insert(
            authid.to_string(),
            CryptosignPrincipal {
                authorized_keys,
                role,
                realm,
            },
        );
    }
    Ok(CryptosignAuth {
        principals: loaded,
        dynamic: None,
    })
}

/// A principal's optional `realm` and its `role`: with a realm, the role must be defined in
/// that realm; without one, in any realm of the worker.
fn realm_and_role(principal: &Obj, cx: &mut Loader) -> Result<(Option<String>, String)> {
    let Some(realm_node) = principal.get("realm") else {
        return Ok((None, role(principal, None, cx)?));
    };
    let name = realm_node.str()?;
    let Some(realm) = cx.worker_realms.iter().find(|r| r.name == name) else {
        return Err(realm_node.error(format!("realm \"{name}\" is not defined in this worker")));
    };
    let role_node = principal.required("role")?;
    let role = role_node.str()?;
    if role != crate::config::TRUSTED_ROLE && !realm.roles.iter().any(|r| r.name == role) {
        cx.warnings.push(format!(
            "{}: role \"{role}\" is not defined in realm \"{name}\": its sessions join and every \
             action is denied (as in Crossbar)",
            role_node.path
        ));
    }
    Ok((Some(name.to_string()), role.to_string()))
}

/// An Ed25519 public key: 64 hex characters, or `$NAME` / `${NAME}` for an environment
/// variable holding them. Public keys are not secret, but neither are they echoed back.
fn public_key(node: &Node, cx: &Loader) -> Result<VerifyingKey> {
    let text = node.str()?;
    let (value, origin) = match env_reference(text) {
        Some(name) => match (cx.env)(name) {
            Some(value) => (value, format!(" (environment variable {name})")),
            None => return Err(node.error(format!("environment variable {name} is not set"))),
        },
        None => (text.to_string(), String::new()),
    };
    parse_public_key(value.trim()).map_err(|why| node.error(format!("{why}{origin}")))
}

/// Parses a hex Ed25519 public key (config and HELLO `authextra.pubkey`), refusing what does
/// not decode to a curve point and the weak (small-order) points nobody holds a key for.
pub(crate) fn parse_public_key(text: &str) -> std::result::Result<VerifyingKey, String> {
    let chars = text.chars().count();
    if chars != 64 {
        return Err(format!(
            "expected 64 hex characters (an Ed25519 public key), found {chars}"
        ));
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes)
        .map_err(|_| "not a hex string (expected 64 hex characters, an Ed25519 public key)")?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "not a valid Ed25519 public key (not a point on the curve)")?;
    if key.is_weak() {
        return Err("a weak Ed25519 public key (a small-order point) cannot be authorized".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use crate::config::auth::tests::{T, auth_error, auth_of, config_with_auth};
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::TransportKind;

    /// Public keys of the Ed25519 seeds [1; 32], [2; 32] and [3; 32] (PyNaCl agrees).
    const KEY1: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
    const KEY2: &str = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
    const KEY3: &str = "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1";

    fn cryptosign(principals: &str) -> String {
        format!(r#"{{"cryptosign": {{"type": "static", "principals": {principals}}}}}"#)
    }

    #[test]
    fn cryptosign_keys_load() {
        let env = |name: &str| (name == "BOB_KEY").then(|| format!("  {KEY3}\n"));
        let json = config_with_auth(&cryptosign(&format!(
            r#"{{"alice": {{"realm": "realm1", "role": "backend", "authorized_keys": ["{KEY1}", "{}"]}},
                 "bob": {{"role": "frontend", "authorized_keys": ["$BOB_KEY"]}}}}"#,
            KEY2.to_uppercase()
        )));
        let config = load_str_with_env(&json, &env).unwrap();
        let a = auth_of(&config);
        assert!(a.anonymous.is_none() && a.ticket.is_none() && a.wampcra.is_none());
        let principals = a.cryptosign.unwrap().principals;
        let alice = &principals["alice"];
        let keys: Vec<String> = alice
            .authorized_keys
            .iter()
            .map(|k| hex::encode(k.as_bytes()))
            .collect();
        assert_eq!(keys, [KEY1, KEY2]);
        assert_eq!(
            (alice.role.as_str(), alice.realm.as_deref()),
            ("backend", Some("realm1"))
        );
        let bob = &principals["bob"];
        assert_eq!(hex::encode(bob.authorized_keys[0].as_bytes()), KEY3);
        assert_eq!(
            (bob.role.as_str(), bob.realm.as_deref()),
            ("frontend", None)
        );

        let shown = crate::config::summary(&config);
        assert!(
            shown.contains(
                "auth cryptosign: alice (role backend, realm realm1, 2 keys), bob (role frontend, 1 key)"
            ),
            "{shown}"
        );
        assert!(!shown.contains(KEY1) && !shown.contains(KEY3), "{shown}");
    }

    #[test]
    fn cryptosign_errors() {
        let at = format!("{T}.paths.ws.auth.cryptosign");
        let principal = |body: &str| auth_error(&cryptosign(&format!(r#"{{"alice": {body}}}"#)));
        let keys = |keys: &str| {
            principal(&format!(
                r#"{{"role": "backend", "authorized_keys": {keys}}}"#
            ))
        };
        let key_at = |i: usize| format!("{at}.principals.alice.authorized_keys[{i}]");

        assert_eq!(
            keys(&format!(r#"["{KEY1}", "{}"]"#, &KEY2[1..])),
            format!(
                "{}: expected 64 hex characters (an Ed25519 public key), found 63",
                key_at(1)
            )
        );
        assert_eq!(
            keys(&format!(r#"["{}"]"#, KEY1.replace('a', "g"))),
            format!(
                "{}: not a hex string (expected 64 hex characters, an Ed25519 public key)",
                key_at(0)
            )
        );
        // y = 2 is not the y coordinate of any curve point.
        assert_eq!(
            keys(&format!(r#"["{KEY1}", "02{}"]"#, "0".repeat(62))),
            format!(
                "{}: not a valid Ed25519 public key (not a point on the curve)",
                key_at(1)
            )
        );
        // The identity point decodes but has order 1.
        assert_eq!(
            keys(&format!(r#"["01{}"]"#, "0".repeat(62))),
            format!(
                "{}: a weak Ed25519 public key (a small-order point) cannot be authorized",
                key_at(0)
            )
        );
        assert_eq!(
            keys(&format!(
                r#"["{KEY1}", "{KEY2}", "{}"]"#,
                KEY1.to_uppercase()
            )),
            format!("{}: the same key as authorized_keys[0]", key_at(2))
        );
        assert_eq!(
            keys("[]"),
            format!(
                "{at}.principals.alice.authorized_keys: a principal needs at least one authorized key"
            )
        );
        assert_eq!(
            keys(&format!(r#""{KEY1}""#)),
            format!("{at}.principals.alice.authorized_keys: expected an array, found a string")
        );
        assert_eq!(
            keys("[12]"),
            format!("{}: expected a string, found a number", key_at(0))
        );
        assert_eq!(
            keys(r#"["$NO_SUCH_KEY_VAR"]"#),
            format!(
                "{}: environment variable NO_SUCH_KEY_VAR is not set",
                key_at(0)
            )
        );
        assert_eq!(
            principal(r#"{"role": "backend"}"#),
            format!("{at}.principals.alice.authorized_keys: required key is missing")
        );
        assert_eq!(
            principal(&format!(r#"{{"authorized_keys": ["{KEY1}"]}}"#)),
            format!("{at}.principals.alice.role: required key is missing")
        );
        let undefined = load(&config_with_auth(&cryptosign(&format!(
            r#"{{"alice": {{"role": "nobody", "authorized_keys": ["{KEY1}"]}}}}"#
        ))));
        assert!(
            undefined.load_warnings[0].starts_with(&format!(
                "{at}.principals.alice.role: role \"nobody\" is defined in no realm"
            )),
            "{:?}",
            undefined.load_warnings
        );
        assert_eq!(
            principal(&format!(
                r#"{{"realm": "realm9", "role": "backend", "authorized_keys": ["{KEY1}"]}}"#
            )),
            format!("{at}.principals.alice.realm: realm \"realm9\" is not defined in this worker")
        );
        assert!(
            principal(&format!(
                r#"{{"role": "backend", "authorized_keys": ["{KEY1}"], "pubkey": "x"}}"#
            ))
            .starts_with(&format!("{at}.principals.alice.pubkey: unknown key"))
        );
        assert_eq!(
            auth_error(r#"{"cryptosign": {"type": "static"}}"#),
            format!("{at}.principals: required key is missing")
        );
        assert_eq!(
            auth_error(r#"{"cryptosign": {"type": "dynamic"}}"#),
            format!("{at}.authenticator: required key is missing")
        );
    }

    #[test]
    fn cryptosign_role_must_be_in_the_principal_realm() {
        let json = worker(
            r#"{"name": "realm1", "roles": [{"name": "backend"}]}, {"name": "realm2", "roles": [{"name": "frontend"}]}"#,
            &format!(
                r#"{{"type": "websocket", "endpoint": {{"type": "tcp", "port": 1}},
                    "auth": {{"cryptosign": {{"type": "static", "principals": {{
                        "alice": {{"realm": "realm1", "role": "frontend", "authorized_keys": ["{KEY1}"]}}}}}}}}}}"#
            ),
        );
        assert!(load(&json).load_warnings[0].starts_with(&format!(
            "{T}.auth.cryptosign.principals.alice.role: role \"frontend\" is not defined in realm \"realm1\": its sessions join and every action is denied"
        )));
        let config = load(&json.replace(r#""realm": "realm1""#, r#""realm": "realm2""#));
        let TransportKind::WebSocket(service) = &config.workers[0].transports[0].kind else {
            panic!("expected websocket")
        };
        let alice = &service.auth.cryptosign.as_ref().unwrap().principals["alice"];
        assert_eq!(alice.realm.as_deref(), Some("realm2"));
    }
}
