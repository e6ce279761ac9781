//! The path table of a `web` transport (or a `universal` transport's `web` part): path keys as
//! Crossbar writes them (`"ws"`, `"/"`), normalised and checked for clashes, nested `path`
//! tables flattened into it, each entry loaded by its `type` (the loaders of the other files
//! of `config/`), and the web transport's own `options` (proxies, client and body timeouts).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::admin_path::load_admin_path;
use crate::config::archive_path::load_archive_path;
use crate::config::bridge;
use crate::config::cgi_path::load_cgi_path;
use crate::config::loader::Loader;
use crate::config::longpoll::load_longpoll_path;
use crate::config::model::{PathService, WebOptions};
use crate::config::node::{Node, Obj, Result};
use crate::config::refused_paths::{not_run_path, refusal};
use crate::config::reverse_proxy::load_proxy_path;
use crate::config::static_path::load_static_path;
use crate::config::upload::load_upload_path;
use crate::config::web_services::load_web_service;
use crate::config::websocket::{load_websocket_options, load_websocket_service};

/// The path types Junction serves, for the message on a typo.
const SERVED_PATH_TYPES: &[&str] = &[
    "websocket",
    "websocket-testee",
    "longpoll",
    "static",
    "archive",
    "cgi",
    "upload",
    "path",
    "redirect",
    "json",
    "nodeinfo",
    "none",
    "health",
    "ready",
    "metrics",
    "admin",
    "sse",
    "reverseproxy",
    "websocket-reverseproxy",
    "publisher (or its alias pusher)",
    "caller",
    "webhook",
    "topics-api",
];

/// Crossbar web path types Junction does not serve (yet); anything else is a typo. (`catalog`
/// serves XBR data-market catalogs.)
const CROSSBAR_PATH_TYPES: &[&str] = &["catalog"];

pub(super) fn load_paths(node: &Node, cx: &mut Loader) -> Result<BTreeMap<String, PathService>> {
    let mut table = PathTable::default();
    table.load(node, cx, load_path_service)?;
    if table.paths.is_empty() {
        return Err(node.error("a web transport needs at least one path"));
    }
    Ok(table.paths)
}

/// A path table being loaded from one or more JSON objects (a `universal` transport has two).
#[derive(Default)]
pub(super) struct PathTable {
    pub paths: BTreeMap<String, PathService>,
    /// Normalised path -> key as written, to name both keys of a clash.
    written: BTreeMap<String, String>,
}

impl PathTable {
    /// Adds every entry of the object at `node`, each loaded by `service`.
    pub fn load(
        &mut self,
        node: &Node,
        cx: &mut Loader,
        service: fn(&Node, &mut Loader) -> Result<PathService>,
    ) -> Result<()> {
        self.load_below("", "", node, cx, service)
    }

    /// Adds the entries of a path table nested at `prefix` (`""` at the top); `written` is how
    /// the nesting keys were written, for messages. A `"type": "path"` entry is a nested table:
    /// its `"/"` is the entry's own path, its other keys lie below it (Crossbar's nested paths).
    fn load_below(
        &mut self,
        prefix: &str,
        written: &str,
        node: &Node,
        cx: &mut Loader,
        service: fn(&Node, &mut Loader) -> Result<PathService>,
    ) -> Result<()> {
        for (key, entry) in node.object()?.entries() {
            if key
                .chars()
                .any(|c| c.is_whitespace() || c == '?' || c == '#')
            {
                return Err(entry.error(format!("\"{key}\" is not a valid URL path")));
            }
            let path = match (prefix, normalise_path(key).as_str()) {
                (_, "/") if !prefix.is_empty() => prefix.to_string(),
                (_, below) => format!("{prefix}{below}"),
            };
            let as_written = if written.is_empty() {
                format!("\"{key}\"")
            } else {
                format!("{written} > \"{key}\"")
            };
            if let Some(nested) = nested_paths(&entry, cx)? {
                self.load_below(&path, &as_written, &nested, cx, service)?;
                continue;
            }
            if let Some(first) = self.written.insert(path.clone(), as_written.clone()) {
                return Err(entry.error(format!(
                    "path \"{path}\" is defined twice (as {first} and {as_written})"
                )));
            }
            self.paths.insert(path, service(&entry, cx)?);
        }
        Ok(())
    }
}

/// The `paths` of a `"type": "path"` entry, or `None` for any other entry.
fn nested_paths<'a>(entry: &Node<'a>, cx: &mut Loader) -> Result<Option<Node<'a>>> {
    let Ok(obj) = entry.object() else {
        return Ok(None);
    };
    match obj.get("type") {
        Some(kind) if kind.str().ok() == Some("path") => {
            obj.keys(&["type", "paths"], &["id"], &mut cx.ignored)?;
            Ok(Some(obj.required("paths")?))
        }
        _ => Ok(None),
    }
}

/// Crossbar writes `"ws"` for `/ws` and `"/"` for the root.
fn normalise_path(key: &str) -> String {
    if key.starts_with('/') {
        key.to_string()
    } else {
        format!("/{key}")
    }
}

pub(super) fn load_path_service(node: &Node, cx: &mut Loader) -> Result<PathService> {
    let obj = node.object()?;
    let kind = obj.required("type")?;
    match kind.str()? {
        "websocket" => load_websocket_path(&obj, cx),
        "static" => load_static_path(&obj, cx),
        "archive" => load_archive_path(&obj, cx),
        "cgi" => load_cgi_path(&obj, cx),
        "longpoll" => load_longpoll_path(&obj, cx),
        "upload" => load_upload_path(&obj, cx),
        "admin" => load_admin_path(&obj, cx),
        "sse" => super::sse_path::load_sse_path(&obj, cx),
        "websocket-testee" => {
            obj.keys(&["type", "options"], &["debug"], &mut cx.ignored)?;
            let options = load_websocket_options(obj.get("options").as_ref(), cx)?;
            Ok(PathService::WebSocketTestee(options))
        }
        other => {
            if let Some(service) = bridge::load_bridge_path(other, &obj, cx) {
                return service;
            }
            if let Some(service) = load_web_service(other, &obj, cx) {
                return service;
            }
            if let Some(service) = not_run_path(other, &obj, cx) {
                return Ok(service);
            }
            if let Some(message) = refusal(other, &obj) {
                return Err(kind.error(message));
            }
            if let Some(service) = load_proxy_path(other, &obj, cx) {
                return service;
            }
            if CROSSBAR_PATH_TYPES.contains(&other) {
                return Err(kind.error(format!("path type \"{other}\" is not supported yet")));
            }
            Err(kind.error(format!(
                "unknown path type \"{other}\" (expected {})",
                SERVED_PATH_TYPES.join(", ")
            )))
        }
    }
}

/// A `websocket` path (its `type` checked by the caller).
pub(super) fn load_websocket_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(
        &["type", "serializers", "auth", "options", "cookie"],
        &["url", "debug", "id"],
        &mut cx.ignored,
    )?;
    Ok(PathService::WebSocket(load_websocket_service(obj, cx)?))
}

/// `options` of a `web` transport (or of a `universal` transport's `web` part).
pub(super) fn load_web_options(node: Option<&Node>, cx: &mut Loader) -> Result<WebOptions> {
    let mut options = WebOptions::default();
    if let Some(node) = node {
        let obj = node.object()?;
        // Logging and HSTS of Crossbar's Twisted web server.
        let ignored = &["access_log", "display_tracebacks", "hsts", "hsts_max_age"];
        obj.keys(
            &["trusted_proxies", "client_timeout", "body_timeout"],
            ignored,
            &mut cx.ignored,
        )?;
        if let Some(proxies) = obj.get("trusted_proxies") {
            options.trusted_proxies = bridge::load_networks(&proxies)?;
        }
        if let Some(seconds) = obj.opt("client_timeout", |node| node.u64_min(1))? {
            options.client_timeout = Duration::from_secs(seconds);
        }
        if let Some(ms) = obj.opt("body_timeout", |node| node.u64_min(1))? {
            options.body_timeout = Duration::from_millis(ms);
        }
    }
    Ok(options)
}
