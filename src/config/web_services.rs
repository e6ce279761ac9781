//! The small web services a path table can hold besides WAMP, the bridge and files:
//! `redirect` (`url`, and Junction's `status`), `json` (a fixed `value`), `nodeinfo` (a page
//! about this node), `none` (404), and Junction's `health` (liveness), `ready` (readiness) and
//! `metrics` (Prometheus).

use crate::config::loader::Loader;
use crate::config::model::{JsonService, PathService};
use crate::config::node::{Obj, Result};

/// Redirect statuses a `redirect` path may answer with (Crossbar's is 302).
const REDIRECT_STATUSES: &[u64] = &[301, 302, 303, 307, 308];

/// The service of a path whose `type` is one of these, or `None` for any other type.
pub(super) fn load_web_service(
    kind: &str,
    obj: &Obj,
    cx: &mut Loader,
) -> Option<Result<PathService>> {
    Some(match kind {
        "redirect" => load_redirect(obj, cx),
        "json" => load_json(obj, cx),
        "nodeinfo" => bare(obj, cx, PathService::NodeInfo),
        "none" => bare(obj, cx, PathService::Nothing),
        "health" => bare(obj, cx, PathService::Health),
        "ready" => bare(obj, cx, PathService::Ready),
        "metrics" => bare(obj, cx, PathService::Metrics),
        _ => return None,
    })
}

/// A path type that takes no options: only `type` (and Crossbar's `debug`, ignored).
fn bare(obj: &Obj, cx: &mut Loader, service: PathService) -> Result<PathService> {
    obj.keys(&["type"], &["debug"], &mut cx.ignored)
        .map(|()| service)
}

fn load_redirect(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(&["type", "url", "status"], &["debug"], &mut cx.ignored)?;
    let node = obj.required("url")?;
    let url = node.non_empty_str()?;
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(node.error("a URL has no spaces or control characters"));
    }
    let status = match obj.get("status") {
        None => 302,
        Some(node) => {
            let status = node.u64()?;
            if !REDIRECT_STATUSES.contains(&status) {
                return Err(node.error(format!(
                    "{status} is not a redirect status (expected 301, 302, 303, 307 or 308)"
                )));
            }
            status as u16
        }
    };
    Ok(PathService::Redirect {
        url: url.to_string(),
        status,
    })
}

fn load_json(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(&["type", "value", "options"], &["debug"], &mut cx.ignored)?;
    let value = obj.required("value")?.value.clone();
    let mut prettify = false;
    let mut service = JsonService {
        body: String::new(),
        allow_cross_origin: true,
        discourage_caching: false,
    };
    if let Some(options) = obj.get("options") {
        let options = options.object()?;
        options.only(&["prettify", "allow_cross_origin", "discourage_caching"])?;
        prettify = options.opt_bool("prettify")?.unwrap_or(false);
        service.allow_cross_origin = options.opt_bool("allow_cross_origin")?.unwrap_or(true);
        service.discourage_caching = options.opt_bool("discourage_caching")?.unwrap_or(false);
    }
    let written = if prettify {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    service.body = written.unwrap_or_else(|_| "null".to_string());
    Ok(PathService::Json(service))
}

#[cfg(test)]
mod tests {
    use crate::config::load::{load_str_with_env, testing::*};

    fn error(path: &str) -> String {
        load_str_with_env(&web_worker(REALM1, path), &|_| None)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_services_name_the_key() {
        let p = "workers[0].transports[0].paths.x";
        assert_eq!(
            error(r#""x": {"type": "redirect"}"#),
            format!("{p}.url: required key is missing")
        );
        assert_eq!(
            error(r#""x": {"type": "redirect", "url": "/y", "status": 200}"#),
            format!(
                "{p}.status: 200 is not a redirect status (expected 301, 302, 303, 307 or 308)"
            )
        );
        assert_eq!(
            error(r#""x": {"type": "json"}"#),
            format!("{p}.value: required key is missing")
        );
        assert!(
            error(r#""x": {"type": "json", "value": 1, "options": {"pretty": true}}"#)
                .starts_with(&format!("{p}.options.pretty: unknown key"))
        );
        assert!(
            error(r#""x": {"type": "nodeinfo", "extra": 1}"#)
                .starts_with(&format!("{p}.extra: unknown key"))
        );
    }

    #[test]
    fn nested_paths_are_checked_and_named() {
        let p = "workers[0].transports[0].paths.app";
        assert_eq!(
            error(r#""app": {"type": "path"}"#),
            format!("{p}.paths: required key is missing")
        );
        assert!(
            error(r#""app": {"type": "path", "paths": {"x": {"type": "jsn"}}}"#)
                .starts_with(&format!("{p}.paths.x.type: unknown path type \"jsn\""))
        );
        assert_eq!(
            error(
                r#""app/x": {"type": "none"}, "app": {"type": "path", "paths": {"x": {"type": "none"}}}"#
            ),
            "workers[0].transports[0].paths.app/x: path \"/app/x\" is defined twice (as \"app\" > \"x\" and \"app/x\")"
        );
        let config = load_str_with_env(
            &web_worker(REALM1, r#""app": {"type": "path", "paths": {"/": {"type": "none"}, "a": {"type": "path", "paths": {"b": {"type": "nodeinfo"}}}}}"#),
            &|_| None,
        )
        .unwrap();
        let paths = config.workers[0].transports[0].kind.paths().unwrap();
        let keys: Vec<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(keys, ["/app", "/app/a/b"]);
    }
}
