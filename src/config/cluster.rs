//! A router worker's `cluster` section: the NATS servers several Junction nodes share, how
//! this node reaches them (token, user and password, or a `.creds` file; TLS), its name, the
//! subject prefix and the timings of failure detection. Secrets may be `$VAR`; files are
//! relative to the config folder and must exist.

use std::path::PathBuf;

use crate::config::auth::secret;
use crate::config::endpoint::path_text;
use crate::config::loader::Loader;
use crate::config::model::{
    ClusterAuth, ClusterConfig, ClusterTls, DEFAULT_CLUSTER_PREFIX, DEFAULT_DEAD_AFTER_MS,
    DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_SUBJECT_BYTES, DEFAULT_REQUEST_TIMEOUT_MS,
};
use crate::config::node::{Node, Result};

pub(super) fn load_cluster(node: &Node, cx: &mut Loader) -> Result<ClusterConfig> {
    let obj = node.object()?;
    obj.only(&[
        "nats",
        "node",
        "prefix",
        "heartbeat",
        "dead_after",
        "max_subject_bytes",
        "request_timeout",
    ])?;
    let nats = obj.required("nats")?;
    let nats_obj = nats.object()?;
    nats_obj.only(&["servers", "token", "user", "password", "credentials", "tls"])?;
    let servers_node = nats_obj.required("servers")?;
    let servers = servers_node
        .array()?
        .iter()
        .map(server_url)
        .collect::<Result<Vec<_>>>()?;
    if servers.is_empty() {
        return Err(servers_node.error("at least one NATS server URL is needed"));
    }
    let kinds = ["token", "user", "credentials"]
        .iter()
        .filter(|k| nats_obj.has(k))
        .count();
    if kinds > 1 {
        return Err(nats.error("give one of token, user (with password) or credentials"));
    }
    // A password belongs to `user` only: next to a token or a credentials file it would be
    // silently unused, and the node would fail to join with a confusing NATS error.
    if let Some(password) = nats_obj.get("password")
        && !nats_obj.has("user")
    {
        return Err(password.error("a password needs a user"));
    }
    let auth = if let Some(token) = nats_obj.get("token") {
        ClusterAuth::Token(secret(&token, cx)?)
    } else if let Some(user) = nats_obj.get("user") {
        ClusterAuth::UserPassword {
            user: user.non_empty_str()?.to_owned(),
            password: secret(&nats_obj.required("password")?, cx)?,
        }
    } else if let Some(file) = nats_obj.get("credentials") {
        ClusterAuth::CredentialsFile(existing_file(&file, cx)?)
    } else {
        ClusterAuth::None
    };
    let tls = nats_obj.opt("tls", |node| load_tls(node, cx))?;
    // async-nats reaches a `ws://` server over plain WebSocket whatever `tls` says (it upgrades
    // `nats://` ones): with TLS asked for, this node would talk to that server in clear.
    if tls.is_some() {
        for (url, node) in servers.iter().zip(servers_node.array()?) {
            if url
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("ws://"))
            {
                return Err(node.error(format!(
                    "\"{url}\" is WebSocket without TLS, but nats.tls asks for TLS: use wss://"
                )));
            }
        }
    }
    let name = obj.opt("node", |node| {
        let name = node.str()?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(node.error(format!(
                "\"{name}\" is not a node name: 1 to 64 letters, digits, - or _"
            )));
        }
        Ok(name.to_owned())
    })?;
    let prefix = obj
        .opt("prefix", |node| {
            let prefix = node.str()?;
            if prefix.is_empty()
                || prefix.len() > 16
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(node.error(format!(
                    "\"{prefix}\" is not a subject prefix: 1 to 16 letters, digits, - or _"
                )));
            }
            Ok(prefix.to_owned())
        })?
        .unwrap_or_else(|| DEFAULT_CLUSTER_PREFIX.to_owned());
    let heartbeat_ms = obj
        .opt("heartbeat", |n| n.u64_in(50, 60_000))?
        .unwrap_or(DEFAULT_HEARTBEAT_MS);
    let dead_after_ms = match obj.get("dead_after") {
        Some(node) => node.u64_in(3 * heartbeat_ms, 600_000)?,
        None => DEFAULT_DEAD_AFTER_MS.max(3 * heartbeat_ms),
    };
    Ok(ClusterConfig {
        path: node.path.clone(),
        servers,
        auth,
        tls,
        node: name,
        prefix,
        heartbeat_ms,
        dead_after_ms,
        max_subject_bytes: obj
            .opt("max_subject_bytes", |n| n.u64_in(256, 3072))?
            .map_or(DEFAULT_MAX_SUBJECT_BYTES, |n| n as usize),
        request_timeout_ms: obj
            .opt("request_timeout", |n| n.u64_in(100, 600_000))?
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS),
    })
}

/// A NATS server URL: `nats://`, `tls://`, `ws://` or `wss://` with a host; a bare
/// `host:port` is `nats://host:port`.
fn server_url(node: &Node) -> Result<String> {
    let text = node.non_empty_str()?;
    // `user:password@` or `token@` in a URL would be printed by `check` and in connection
    // errors; said before any message that quotes the URL.
    if text.contains('@') {
        return Err(node.error(
            "a NATS server URL must not hold a user, password or token: \
             give them as nats.user and nats.password, or nats.token",
        ));
    }
    let url = if text.contains("://") {
        text.to_owned()
    } else {
        format!("nats://{text}")
    };
    let parsed = url::Url::parse(&url)
        .map_err(|e| node.error(format!("\"{text}\" is not a NATS server URL: {e}")))?;
    if !matches!(parsed.scheme(), "nats" | "tls" | "ws" | "wss") {
        return Err(node.error(format!(
            "\"{text}\": the scheme must be nats, tls, ws or wss"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(node.error(format!("\"{text}\" names no host")));
    }
    Ok(url)
}

fn load_tls(node: &Node, cx: &mut Loader) -> Result<ClusterTls> {
    let obj = node.object()?;
    obj.only(&["ca_certificates", "certificate", "key"])?;
    let ca_certificates = match obj.get("ca_certificates") {
        Some(list) => list
            .array()?
            .iter()
            .map(|n| existing_file(n, cx))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let certificate = obj.opt("certificate", |n| existing_file(n, cx))?;
    let key = obj.opt("key", |n| existing_file(n, cx))?;
    if certificate.is_some() != key.is_some() {
        return Err(node.error("a client certificate needs its key, and a key its certificate"));
    }
    Ok(ClusterTls {
        ca_certificates,
        certificate,
        key,
    })
}

/// A file named relative to the config folder (`$VAR` expanded), which must exist.
fn existing_file(node: &Node, cx: &Loader) -> Result<PathBuf> {
    let text = path_text(node, cx)?;
    let path = cx.folder.join(&text);
    if !path.is_file() {
        return Err(node.error(format!("file {} does not exist", path.display())));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use crate::config::load::{load_str, load_str_with_env};
    use crate::config::model::ClusterAuth;

    fn config(cluster: &str) -> std::result::Result<crate::config::Config, String> {
        load_str(&format!(
            r#"{{"version": 2, "workers": [{{"type": "router", "realms": [], "transports": [],
                "cluster": {cluster}}}]}}"#
        ))
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = config(r#"{"nats": {"servers": ["127.0.0.1:4222"]}}"#).unwrap();
        let cluster = c.workers[0].cluster.clone().unwrap();
        assert_eq!(cluster.servers, ["nats://127.0.0.1:4222"]);
        assert_eq!(cluster.prefix, "J");
        assert_eq!(cluster.heartbeat_ms, 250);
        assert_eq!(cluster.dead_after_ms, 1500);
        assert_eq!(cluster.path, "workers[0].cluster");
        assert!(cluster.node.is_none());
        assert_eq!(cluster.max_subject_bytes, 1024);
        assert_eq!(cluster.request_timeout_ms, 2000);
        assert!(matches!(cluster.auth, ClusterAuth::None));
        assert!(cluster.tls.is_none());
    }

    #[test]
    fn a_slow_heartbeat_raises_the_default_dead_after() {
        let c = config(r#"{"nats": {"servers": ["x:1"]}, "heartbeat": 1000}"#).unwrap();
        let cluster = c.workers[0].cluster.clone().unwrap();
        assert_eq!(cluster.heartbeat_ms, 1000);
        assert_eq!(cluster.dead_after_ms, 3000);
    }

    #[test]
    fn given_values_are_kept() {
        let env = |name: &str| (name == "NATS_PW").then(|| "pw-value".to_string());
        let c = load_str_with_env(
            r#"{"version": 2, "workers": [{"type": "router", "realms": [], "transports": [],
                "cluster": {"nats": {"servers": ["wss://nats.example.com", "ws://10.0.0.1:8080"],
                                     "user": "junction", "password": "$NATS_PW"},
                            "node": "node_A-1", "prefix": "prod-1", "heartbeat": 100,
                            "dead_after": 300, "max_subject_bytes": 3072,
                            "request_timeout": 100}}]}"#,
            &env,
        )
        .unwrap();
        let cluster = c.workers[0].cluster.clone().unwrap();
        assert_eq!(
            cluster.servers,
            ["wss://nats.example.com", "ws://10.0.0.1:8080"]
        );
        match &cluster.auth {
            ClusterAuth::UserPassword { user, password } => {
                assert_eq!(user, "junction");
                assert_eq!(password.expose(), "pw-value");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cluster.node.as_deref(), Some("node_A-1"));
        assert_eq!(cluster.prefix, "prod-1");
        assert_eq!(
            (
                cluster.heartbeat_ms,
                cluster.dead_after_ms,
                cluster.request_timeout_ms
            ),
            (100, 300, 100)
        );
        assert_eq!(cluster.max_subject_bytes, 3072);
    }

    #[test]
    fn errors_name_the_path() {
        let cases = [
            (
                r#"{"nats": {"servers": []}}"#,
                "workers[0].cluster.nats.servers",
            ),
            (
                r#"{"nats": {"servers": ["http://x:1"]}}"#,
                "workers[0].cluster.nats.servers[0]",
            ),
            (
                r#"{"nats": {"servers": ["x:1"]}, "node": "a.b"}"#,
                "workers[0].cluster.node",
            ),
            (
                r#"{"nats": {"servers": ["x:1"]}, "nodes": 1}"#,
                "workers[0].cluster",
            ),
            (
                r#"{"nats": {"servers": ["x:1"], "token": "t", "user": "u"}}"#,
                "workers[0].cluster.nats",
            ),
            (
                r#"{"nats": {"servers": ["x:1"]}, "heartbeat": 500, "dead_after": 1000}"#,
                "workers[0].cluster.dead_after",
            ),
            (
                r#"{"nats": {"servers": ["x:1"], "credentials": "no.creds"}}"#,
                "credentials",
            ),
            (
                r#"{"nats": {"servers": ["wss://x:1", "ws://y:2"], "tls": {}}}"#,
                "workers[0].cluster.nats.servers[1]",
            ),
        ];
        for (cluster, path) in cases {
            let error = config(cluster).unwrap_err();
            assert!(error.contains(path), "{cluster}: {error}");
        }
    }
}
