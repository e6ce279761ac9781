//! The `cluster` line of `junction check`: the NATS servers, how this node authenticates (never
//! the secret), its name and the timings.

use crate::config::model::{ClusterAuth, ClusterConfig};

pub(super) fn cluster_line(cluster: &ClusterConfig) -> String {
    let auth = match &cluster.auth {
        ClusterAuth::None => "no authentication".to_string(),
        ClusterAuth::Token(_) => "token".to_string(),
        ClusterAuth::UserPassword { user, .. } => format!("user {user}"),
        ClusterAuth::CredentialsFile(path) => format!("credentials {}", path.display()),
    };
    let tls = if cluster.tls.is_some() { ", TLS" } else { "" };
    let node = match &cluster.node {
        Some(name) => format!("node {name}"),
        None => "node <host name>-<random> chosen at start".to_string(),
    };
    format!(
        "cluster: NATS {} ({auth}{tls}), {node}, prefix {}, heartbeat {} ms, dead after {} ms",
        cluster.servers.join(", "),
        cluster.prefix,
        cluster.heartbeat_ms,
        cluster.dead_after_ms
    )
}
