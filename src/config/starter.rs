//! The starter `junction init [DIR]` writes: a `config.json` to begin from and an `.env` with
//! a generated pusher secret and admin password (mode 0600; config.json names them as
//! `$JUNCTION_PUSH_SECRET` and `$JUNCTION_ADMIN_PASSWORD`, so the config can be shared and
//! committed). It has a realm whose anonymous role may do everything but end other sessions,
//! WAMP over WebSocket at `/ws`, an unsigned pusher for loopback clients at `/push`, a signed
//! one at `/push-signed`, `health`, `ready` and `metrics` paths, and the admin dashboard at
//! `/admin` (user `admin`). Nothing is overwritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The key of the signed pusher in the starter.
pub const STARTER_KEY: &str = "starter";
/// The environment variable holding its secret.
pub const STARTER_SECRET_VAR: &str = "JUNCTION_PUSH_SECRET";
/// The admin dashboard's user in the starter.
pub const STARTER_ADMIN_USER: &str = "admin";
/// The environment variable holding that user's password.
pub const STARTER_ADMIN_VAR: &str = "JUNCTION_ADMIN_PASSWORD";

/// What `init` wrote.
pub struct Starter {
    pub config: PathBuf,
    pub env: PathBuf,
}

/// The starter config for a listener on 127.0.0.1:`port`.
pub fn starter_config(port: u16) -> Value {
    let deny = |uri: &str| {
        json!({"uri": uri, "match": "exact",
               "allow": {"call": false, "register": false, "publish": false, "subscribe": false}})
    };
    let mut permissions = vec![json!({
        "uri": "", "match": "prefix",
        "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
        "disclose": {"caller": false, "publisher": false}, "cache": true
    })];
    for procedure in [
        "wamp.session.kill",
        "wamp.session.kill_by_authid",
        "wamp.session.kill_by_authrole",
        "wamp.session.kill_all",
    ] {
        permissions.push(deny(procedure));
    }
    json!({
        "version": 2,
        "workers": [{
            "type": "router",
            "realms": [{"name": "realm1",
                        "roles": [{"name": "anonymous", "permissions": permissions}]}],
            "transports": [{
                "type": "web",
                "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": port},
                "paths": {
                    "ws": {"type": "websocket", "serializers": ["json", "msgpack", "cbor"]},
                    "push": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                             "options": {"require_ip": ["127.0.0.1", "::1"],
                                         "post_body_limit": 65536}},
                    "push-signed": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                                    "options": {"key": STARTER_KEY,
                                                "secret": format!("${STARTER_SECRET_VAR}"),
                                                "post_body_limit": 65536,
                                                "timestamp_delta_limit": 60}},
                    "health": {"type": "health"},
                    "ready": {"type": "ready"},
                    "metrics": {"type": "metrics"},
                    "admin": {"type": "admin", "users": [
                        {"user": STARTER_ADMIN_USER, "password": format!("${STARTER_ADMIN_VAR}"),
                         "role": "admin"}]}
                }
            }]
        }]
    })
}

/// Writes the starter into `dir` (made if missing); refuses when either file exists.
pub fn write_starter(dir: &Path, port: u16) -> Result<Starter, String> {
    let config = dir.join("config.json");
    let env = dir.join(".env");
    for file in [&config, &env] {
        if file.exists() {
            return Err(format!(
                "{} exists: init writes into a folder without config.json and .env",
                file.display()
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let password = hex::encode(rand::random::<[u8; 16]>());
    let text = serde_json::to_string_pretty(&starter_config(port)).unwrap_or_default() + "\n";
    create(&config, text.as_bytes(), 0o644)?;
    let env_text = format!(
        "# The signed pusher's secret (key \"{STARTER_KEY}\"); keep it out of version control.\n\
         {STARTER_SECRET_VAR}={secret}\n\
         # The admin dashboard's password (user \"{STARTER_ADMIN_USER}\" at /admin).\n\
         {STARTER_ADMIN_VAR}={password}\n"
    );
    create(&env, env_text.as_bytes(), 0o600)?;
    Ok(Starter { config, env })
}

/// Creates `path` (failing if it exists) with `mode`, holding `bytes`.
fn create(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_loads_without_warnings_and_names_its_secret_only_by_variable() {
        let text = starter_config(8080).to_string();
        assert!(text.contains("$JUNCTION_PUSH_SECRET"));
        assert!(text.contains("$JUNCTION_ADMIN_PASSWORD"));
        let env = |name: &str| {
            [STARTER_SECRET_VAR, STARTER_ADMIN_VAR]
                .contains(&name)
                .then(|| "s".repeat(64))
        };
        let config = crate::config::load_str_with_env(&text, &env).expect("the starter loads");
        assert!(crate::config::warnings(&config).is_empty());
    }
}
