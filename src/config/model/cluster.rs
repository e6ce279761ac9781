//! The `cluster` section of a router worker: the NATS servers several Junction nodes share
//! as their backplane, how this node connects to them, and its name among the nodes.
//! `None` on the worker (the default) is single-node mode: no NATS, nothing to install.

use std::path::PathBuf;

use crate::config::secret::Secret;

/// `workers[i].cluster`.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// JSON path of the section, e.g. `workers[0].cluster`, for messages.
    pub path: String,
    /// `nats.servers`: URLs such as `nats://127.0.0.1:4222` (`tls://` for TLS).
    pub servers: Vec<String>,
    /// `nats.token`, `nats.user` + `nats.password`, or `nats.credentials` (a `.creds` file).
    pub auth: ClusterAuth,
    /// `nats.tls`: TLS to the NATS servers.
    pub tls: Option<ClusterTls>,
    /// `node`: this node's name among the nodes; `None` is the host name plus a random
    /// suffix, chosen at start. Letters, digits, `-` and `_` only (it is a NATS subject token).
    pub node: Option<String>,
    /// `prefix`: the first token of every NATS subject and the start of every JetStream name
    /// (several Junction clusters can share one NATS account with different prefixes).
    pub prefix: String,
    /// `heartbeat` (ms): how often this node tells the others it is alive.
    pub heartbeat_ms: u64,
    /// `dead_after` (ms): a node not heard of for this long is dead: its calls in flight
    /// fail and its registrations are removed.
    pub dead_after_ms: u64,
    /// `max_subject_bytes`: the longest NATS subject a topic or pattern may map to; longer
    /// URIs are refused with `wamp.error.invalid_uri` (NATS drops a client that sends a
    /// subject over its 4 KiB control line).
    pub max_subject_bytes: usize,
    /// `request_timeout` (ms): how long a registry or store operation on NATS may take before
    /// the WAMP request that needed it fails with `wamp.error.network_failure`.
    pub request_timeout_ms: u64,
}

/// How this node authenticates to NATS.
#[derive(Debug, Clone, Default)]
pub enum ClusterAuth {
    #[default]
    None,
    Token(Secret),
    UserPassword {
        user: String,
        password: Secret,
    },
    /// A NATS `.creds` file (JWT and NKey seed).
    CredentialsFile(PathBuf),
}

/// `nats.tls`: server verification and an optional client certificate.
#[derive(Debug, Clone, Default)]
pub struct ClusterTls {
    /// PEM files of the CAs that sign the NATS servers' certificates (empty: the system's).
    pub ca_certificates: Vec<PathBuf>,
    /// PEM client certificate and key, for servers that verify clients.
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

pub const DEFAULT_CLUSTER_PREFIX: &str = "J";
pub const DEFAULT_HEARTBEAT_MS: u64 = 250;
pub const DEFAULT_DEAD_AFTER_MS: u64 = 1500;
pub const DEFAULT_MAX_SUBJECT_BYTES: usize = 1024;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 2000;
