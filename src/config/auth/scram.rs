//! The `scram` block of a WebSocket service's `auth` (Crossbar's shape): static principals,
//! each with the `kdf` the client runs (`argon2id-13` or `pbkdf2`), its `iterations` and (for
//! Argon2) `memory`, and `salt`, `stored-key` and `server-key` in hex (what autobahn's
//! `derive_scram_credential` prints), and a `role`; or a dynamic authenticator.
//!
//! The keys are secrets: they may come from the environment (`$NAME`), and errors about them
//! name the JSON path, never the value.

use std::collections::BTreeMap;

use crate::config::auth::{dynamic_method, role, secret, static_method};
use crate::config::loader::Loader;
use crate::config::model::{ScramAuth, ScramKdf, ScramPrincipal};
use crate::config::node::{Node, Obj, Result};
use crate::config::secret::SecretBytes;

pub(crate) fn load_scram(node: &Node, cx: &mut Loader) -> Result<ScramAuth> {
    if let Some(dynamic) = dynamic_method(node, cx)? {
        return Ok(ScramAuth {
            principals: BTreeMap::new(),
            dynamic: Some(dynamic),
        });
    }
    let obj = static_method(node, &["type", "principals"], cx)?;
    let principals = obj.required("principals")?.object()?;
    let mut loaded = BTreeMap::new();
    for (authid, principal) in principals.entries() {
        let principal = principal.object()?;
        loaded.insert(authid.to_string(), load_principal(&principal, cx)?);
    }
    Ok(ScramAuth {
        principals: loaded,
        dynamic: None,
    })
}

fn load_principal(obj: &Obj, cx: &mut Loader) -> Result<ScramPrincipal> {
    obj.keys(
        &[
            "kdf",
            "iterations",
            "memory",
            "salt",
            "stored-key",
            "server-key",
            "role",
        ],
        &[],
        &mut cx.ignored,
    )?;
    let kdf_node = obj.required("kdf")?;
    let kdf = match ScramKdf::from_name(kdf_node.str()?) {
        Some(kdf) => kdf,
        // The spec's table writes "argon2id13"; Crossbar and autobahn only know "argon2id-13".
        None if kdf_node.str()? == "argon2id13" => {
            return Err(kdf_node.error(
                "expected one of argon2id-13, pbkdf2, found \"argon2id13\" (the spec's \
                 spelling: Crossbar and autobahn write argon2id-13)",
            ));
        }
        None => {
            return Err(kdf_node
                .one_of(&ScramKdf::NAMES)
                .err()
                .unwrap_or_else(|| kdf_node.error("unknown kdf")));
        }
    };
    let iterations = obj.required("iterations")?.u64_in(1, u32::MAX.into())? as u32;
    // Crossbar asks for `memory` with every kdf; PBKDF2 has no such cost, so it is ignored there.
    let memory = match (kdf, obj.get("memory")) {
        (ScramKdf::Argon2id13, Some(node)) => Some(node.u64_in(8, u32::MAX.into())? as u32),
        (ScramKdf::Pbkdf2, Some(node)) => {
            node.u64()?;
            None
        }
        (_, None) => None,
    };
    let salt_node = obj.required("salt")?;
    let salt = hex::decode(salt_node.str()?)
        .map_err(|_| salt_node.error("expected hex (what derive_scram_credential prints)"))?;
    let principal = ScramPrincipal {
        kdf,
        iterations,
        memory,
        salt,
        stored_key: key(&obj.required("stored-key")?, cx)?,
        server_key: key(&obj.required("server-key")?, cx)?,
        role: role(obj, None, cx)?,
    };
    principal
        .check()
        .map_err(|(field, why)| match obj.get(field) {
            Some(node) => node.error(why),
            None => obj.key_error(field, why),
        })?;
    Ok(principal)
}

/// A stored or server key: 64 hex characters, or `$NAME` / `${NAME}` holding them.
fn key(node: &Node, cx: &Loader) -> Result<SecretBytes> {
    let text = secret(node, cx)?;
    let bytes = hex::decode(text.expose())
        .map_err(|_| node.error("expected 32 bytes as 64 hex characters"))?;
    Ok(SecretBytes::new(bytes))
}

#[cfg(test)]
mod tests {
    use crate::config::auth::tests::{T, auth_error, auth_of, config_with_auth};
    use crate::config::load::load_str_with_env;
    use crate::config::load::testing::load;
    use crate::config::model::ScramKdf;

    const KEY: &str = "8dca7f3734b168aaf3c73ae96cb8e6605d6103bc919bc99f7a149936e2be78dc";
    const OTHER: &str = "0ce166955de1f2c33313ec2b351825bce91a3c53a9c2d5dfe9c0317229bf725d";

    fn with_alice(fields: &str) -> String {
        config_with_auth(&format!(
            r#"{{"scram": {{"type": "static", "principals": {{"alice": {{{fields}}}}}}}}}"#
        ))
    }

    fn argon2(extra: &str) -> String {
        with_alice(&format!(
            r#""kdf": "argon2id-13", "iterations": 4096, "memory": 512, "salt": "ff8d9819fc0e12bf0d24892e45987e24",
               "stored-key": "{KEY}", "server-key": "{OTHER}", "role": "frontend"{extra}"#
        ))
    }

    #[test]
    fn principals_as_derive_scram_credential_prints_them() {
        let scram = auth_of(&load(&argon2(""))).scram.unwrap();
        let alice = &scram.principals["alice"];
        assert_eq!(alice.kdf, ScramKdf::Argon2id13);
        assert_eq!((alice.iterations, alice.memory), (4096, Some(512)));
        assert_eq!(
            alice.salt,
            hex::decode("ff8d9819fc0e12bf0d24892e45987e24").unwrap()
        );
        assert_eq!(alice.stored_key.expose(), hex::decode(KEY).unwrap());
        assert_eq!(alice.role, "frontend");
        let shown = format!(
            "{:?}\n{}",
            load(&argon2("")),
            crate::config::summary(&load(&argon2("")))
        );
        assert!(!shown.contains(KEY) && !shown.contains(OTHER), "{shown}");
        assert!(
            shown.contains("auth scram: alice (role frontend, argon2id-13)"),
            "{shown}"
        );

        let pbkdf2 = with_alice(&format!(
            r#""kdf": "pbkdf2", "iterations": 1000, "memory": 0, "salt": "00ff", "stored-key": "{KEY}",
               "server-key": "$SERVER_KEY", "role": "frontend""#
        ));
        let env = |name: &str| (name == "SERVER_KEY").then(|| OTHER.to_string());
        let scram = auth_of(&load_str_with_env(&pbkdf2, &env).unwrap())
            .scram
            .unwrap();
        let alice = &scram.principals["alice"];
        assert_eq!((alice.kdf, alice.memory), (ScramKdf::Pbkdf2, None));
        assert_eq!(alice.server_key.expose(), hex::decode(OTHER).unwrap());

        let dynamic = load(&config_with_auth(
            r#"{"scram": {"type": "dynamic", "authenticator": "com.auth"}}"#,
        ));
        let scram = auth_of(&dynamic).scram.unwrap();
        assert_eq!(scram.dynamic.unwrap().authenticator, "com.auth");
        assert!(scram.principals.is_empty());
    }

    #[test]
    fn errors_name_the_json_path_and_never_a_key() {
        let at = format!("{T}.paths.ws.auth.scram.principals.alice");
        let bad_kdf = argon2("").replace("argon2id-13", "scrypt");
        assert_eq!(
            crate::config::load::testing::error(&bad_kdf),
            format!("{at}.kdf: expected one of argon2id-13, pbkdf2, found \"scrypt\"")
        );
        assert!(
            auth_error_of(&argon2("").replace("argon2id-13", "argon2id13")).starts_with(&format!(
                "{at}.kdf: expected one of argon2id-13, pbkdf2, found \"argon2id13\" (the spec's"
            ))
        );
        let cases = [
            (
                argon2("").replace(r#""memory": 512, "#, ""),
                format!("{at}.memory: argon2id-13 needs a memory cost (KiB)"),
            ),
            (
                argon2("").replace(r#""memory": 512"#, r#""memory": 4"#),
                format!("{at}.memory: 4 is out of range (8..=4294967295)"),
            ),
            (
                argon2("").replace(r#""iterations": 4096"#, r#""iterations": 0"#),
                format!("{at}.iterations: 0 is out of range (1..=4294967295)"),
            ),
            (
                argon2("").replace("ff8d9819fc0e12bf0d24892e45987e24", "ff8d"),
                format!("{at}.salt: argon2id-13 needs a salt of at least 8 bytes"),
            ),
            (
                argon2("").replace("ff8d9819fc0e12bf0d24892e45987e24", "not hex"),
                format!("{at}.salt: expected hex (what derive_scram_credential prints)"),
            ),
            (
                argon2("").replace(KEY, &KEY[..62]),
                format!("{at}.stored-key: expected 32 bytes (64 hex characters)"),
            ),
            (
                argon2("").replace(OTHER, &format!("{}zz", &OTHER[..62])),
                format!("{at}.server-key: expected 32 bytes as 64 hex characters"),
            ),
            (
                argon2("").replace(r#", "role": "frontend""#, ""),
                format!("{at}.role: required key is missing"),
            ),
        ];
        for (json, expected) in cases {
            let message = auth_error_of(&json);
            assert_eq!(message, expected);
            assert!(!message.contains(&KEY[..16]) && !message.contains(&OTHER[..16]));
        }
        assert!(
            auth_error_of(&argon2(r#", "password": "x""#))
                .starts_with(&format!("{at}.password: unknown key"))
        );
        assert_eq!(
            auth_error(r#"{"scram": {"type": "static"}}"#),
            format!("{T}.paths.ws.auth.scram.principals: required key is missing")
        );
    }

    fn auth_error_of(json: &str) -> String {
        crate::config::load::testing::error(json)
    }
}
