//! A transport's `endpoint`: TCP (interface, port or `"$VAR"`, backlog, TLS files resolved
//! against the config file's folder and checked readable now) or a Unix socket path.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::config::auth::env_reference;
use crate::config::loader::Loader;
use crate::config::model::{Endpoint, TcpEndpoint, TlsFiles, UnixEndpoint};
use crate::config::node::{Node, Obj, Result, key_path, size};

/// Default `max_connections_per_ip` of a TCP endpoint.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 1000;

/// `endpoint`: TCP (with TLS), or a Unix socket where `unix_allowed` (RawSocket transports).
pub(super) fn load_endpoint(node: &Node, cx: &mut Loader, unix_allowed: bool) -> Result<Endpoint> {
    let obj = node.object()?;
    let kind = obj.required("type")?;
    match kind.str()? {
        "tcp" => Ok(Endpoint::Tcp(load_tcp_endpoint(&obj, cx)?)),
        "unix" if unix_allowed => Ok(Endpoint::Unix(load_unix_endpoint(&obj, cx)?)),
        "unix" => {
            Err(kind
                .error("endpoint type \"unix\" is only supported on rawsocket transports (yet)"))
        }
        other => Err(kind.error(format!(
            "endpoint type \"{other}\" is not supported yet (expected tcp or unix)"
        ))),
    }
}

/// The longest path a Unix socket address holds on Linux (`sun_path` is 108 bytes with the
/// terminating NUL).
const MAX_UNIX_PATH: usize = 107;

/// `{"type": "unix", "path", "backlog"}`: the path is resolved against the config file's
/// folder, which must exist.
fn load_unix_endpoint(obj: &Obj, cx: &mut Loader) -> Result<UnixEndpoint> {
    obj.keys(&["type", "path", "backlog"], &[], &mut cx.ignored)?;
    let node = obj.required("path")?;
    let written = path_text(&node, cx)?;
    if written.is_empty() {
        return Err(node.error("expected a socket file name, found an empty string"));
    }
    let path = resolve(&cx.folder, &written);
    let length = path.as_os_str().len();
    if length > MAX_UNIX_PATH {
        return Err(node.error(format!(
            "\"{}\" is too long for a Unix socket ({length} bytes, at most {MAX_UNIX_PATH})",
            path.display()
        )));
    }
    if let Some(folder) = path.parent()
        && !folder.is_dir()
    {
        return Err(node.error(format!("folder \"{}\" does not exist", folder.display())));
    }
    Ok(UnixEndpoint {
        path,
        backlog: load_backlog(obj)?,
    })
}

fn load_backlog(obj: &Obj) -> Result<u32> {
    Ok(match obj.get("backlog") {
        Some(node) => node.u64_in(1, u32::MAX.into())? as u32,
        None => 1024,
    })
}

fn load_tcp_endpoint(obj: &Obj, cx: &mut Loader) -> Result<TcpEndpoint> {
    obj.reject(&[("portrange", "port ranges are not supported yet")])?;
    obj.keys(
        &[
            "type",
            "port",
            "interface",
            "backlog",
            "version",
            "tls",
            "max_connections",
            "max_connections_per_ip",
        ],
        &["shared", "user_timeout"],
        &mut cx.ignored,
    )?;

    let port = load_port(&obj.required("port")?, cx)?;
    let version = match obj.get("version") {
        Some(node) => node.u64().and_then(|v| match v {
            4 | 6 => Ok(v),
            _ => Err(node.error(format!("expected 4 or 6, found {v}"))),
        })?,
        None => 4,
    };
    let interface = match obj.get("interface") {
        Some(node) => {
            let interface = node.str()?;
            if interface.parse::<IpAddr>().is_err() {
                return Err(node.error(format!("\"{interface}\" is not an IP address")));
            }
            interface.to_string()
        }
        // As Crossbar: all interfaces of the endpoint's IP version.
        None if version == 6 => "::".to_string(),
        None => "0.0.0.0".to_string(),
    };
    let backlog = load_backlog(obj)?;
    let tls = match obj.get("tls") {
        Some(node) => Some(load_tls(&node, cx)?),
        None => None,
    };
    Ok(TcpEndpoint {
        interface,
        port,
        backlog,
        tls,
        max_connections: size(obj, "max_connections")?,
        max_connections_per_ip: size(obj, "max_connections_per_ip")?
            .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_IP),
    })
}

/// `endpoint.tls`: `{"certificate": path, "key": path, "chain_certificates": [path, ...],
/// "ca_certificates": [path, ...]}`. The files must be readable now (their PEM content is
/// parsed when the listener starts); relative paths are resolved against the config file's
/// folder.
fn load_tls(node: &Node, cx: &mut Loader) -> Result<TlsFiles> {
    let obj = node.object()?;
    obj.keys(
        &[
            "certificate",
            "key",
            "chain_certificates",
            "ca_certificates",
            "dhparam",
            "ciphers",
        ],
        &[],
        &mut cx.ignored,
    )?;
    // OpenSSL settings rustls has no use for: it offers only ECDHE key exchange (no
    // finite-field DH, so no DH parameters) and only AEAD suites with forward secrecy, the
    // modern subset of what Crossbar's cipher strings allow.
    for (key, why) in [
        ("dhparam", "rustls uses ECDHE only, no DH parameters"),
        ("ciphers", "rustls offers only forward-secret AEAD suites"),
    ] {
        if obj.has(key) {
            cx.ignored
                .push(format!("{} ({why})", key_path(&node.path, key)));
        }
    }
    let file = |node: &Node| -> Result<PathBuf> {
        let written = path_text(node, cx)?;
        if written.is_empty() {
            return Err(node.error("expected a file name, found an empty string"));
        }
        let path = resolve(&cx.folder, &written);
        check_readable(&path).map_err(|why| node.error(why))?;
        Ok(path)
    };
    let chain = match obj.get("chain_certificates") {
        Some(list) => list.array()?.iter().map(&file).collect::<Result<_>>()?,
        None => Vec::new(),
    };
    // An empty list would ask for no client certificate while the config seems to: refused.
    let ca_certificates = match obj.get("ca_certificates") {
        Some(list) => {
            let files = list.array()?;
            if files.is_empty() {
                return Err(list.error("expected at least one CA certificate file"));
            }
            files.iter().map(&file).collect::<Result<_>>()?
        }
        None => Vec::new(),
    };
    Ok(TlsFiles {
        certificate: file(&obj.required("certificate")?)?,
        key: file(&obj.required("key")?)?,
        chain,
        ca_certificates,
    })
}

/// `written` relative to `folder` (absolute paths stay as they are), made absolute so the
/// listener finds it whatever its working directory.
fn resolve(folder: &Path, written: &str) -> PathBuf {
    let joined = folder.join(written);
    std::path::absolute(&joined).unwrap_or(joined)
}

/// The file exists, is a regular file (or a link to one), and can be opened for reading.
fn check_readable(path: &Path) -> std::result::Result<(), String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read \"{}\": {e}", path.display()))?;
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(format!("\"{}\" is not a file", path.display())),
        Err(e) => Err(format!("cannot read \"{}\": {e}", path.display())),
    }
}

/// A path-like string: as written, or (as in Crossbar) `"$NAME"` / `"${NAME}"` (the whole
/// string) naming an environment variable that holds it. An unset variable names the key.
pub(crate) fn path_text(node: &Node, cx: &Loader) -> Result<String> {
    let text = node.str()?;
    match env_reference(text) {
        Some(name) => (cx.env)(name)
            .ok_or_else(|| node.error(format!("environment variable {name} is not set"))),
        None => Ok(text.to_string()),
    }
}

/// A port number, or (as in Crossbar) `"$NAME"` naming an environment variable that holds one.
fn load_port(node: &Node, cx: &Loader) -> Result<u16> {
    let Some(text) = node.value.as_str() else {
        return Ok(node.u64_in(0, u16::MAX.into())? as u16);
    };
    let name = env_reference(text).ok_or_else(|| {
        node.error("expected a port number or \"$NAME\" of an environment variable")
    })?;
    let value = (cx.env)(name)
        .ok_or_else(|| node.error(format!("environment variable {name} is not set")))?;
    value.trim().parse().map_err(|_| {
        node.error(format!(
            "environment variable {name} is not a port number (0..=65535): \"{value}\""
        ))
    })
}
