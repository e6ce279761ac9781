//! Crossbar path types Junction does not serve, each with what to run instead. The ones that
//! host Python code inside Crossbar's process (`wsgi`, `resource`, `wap`), which a Rust binary
//! cannot run, are accepted and listed as not run (their path answers 501), so the rest of the
//! config runs; the names of transports written as paths (`rawsocket`, `mqtt`) and a service
//! Crossbar itself dropped (`schemadoc`) are errors. One table, so every message is written
//! (and tested) in one place.

use crate::config::loader::Loader;
use crate::config::model::{NotRun, PathService};
use crate::config::node::Obj;

/// The path types that run Python code inside Crossbar.
const PYTHON_HOSTING: &[&str] = &["wsgi", "resource", "wap"];

/// Path type -> why it is refused and what to write instead. `{app}` is replaced by the
/// `module:object` of a `wsgi` path.
const REFUSED: &[(&str, &str)] = &[
    (
        "wsgi",
        "a \"wsgi\" path runs a Python WSGI app inside Crossbar, which Junction cannot do: \
         run the app under a WSGI server (e.g. `gunicorn --bind 127.0.0.1:8000 {app}`) and \
         point a \"reverseproxy\" path at it: {\"type\": \"reverseproxy\", \"host\": \
         \"127.0.0.1\", \"port\": 8000}",
    ),
    (
        "resource",
        "a \"resource\" path runs a Twisted Web resource (Python) inside Crossbar, which \
         Junction cannot do: serve its files with a \"static\" path ({\"type\": \"static\", \
         \"directory\": \"<folder>\"}), or run it as a web server of its own and point a \
         \"reverseproxy\" path at it",
    ),
    (
        "wap",
        "a \"wap\" path renders Jinja2 templates with the result of a WAMP call inside \
         Crossbar, which Junction does not do: serve the page with a \"static\" path and let \
         it call the procedure through a \"caller\" path (HTTP POST -> CALL) or over \
         WebSocket, or render it in a web app of your own behind a \"reverseproxy\" path",
    ),
    (
        "schemadoc",
        "a \"schemadoc\" path (WAMP API documentation pages of old Crossbar versions) is not \
         served by Junction: generate the pages and serve them with a \"static\" path",
    ),
    (
        "rawsocket",
        "\"rawsocket\" is a transport type, not a path type: write it as a transport \
         ({\"type\": \"rawsocket\", \"endpoint\": ...}) or as the \"rawsocket\" part of a \
         \"universal\" transport, which shares the web port",
    ),
    (
        "mqtt",
        "\"mqtt\" is a transport type in Crossbar, not a path type, and Junction has no MQTT \
         transport: bridge MQTT devices with a \"webhook\" path (their JSON POSTed as events) \
         or an MQTT broker of your own",
    ),
];

/// A path of type `kind` that runs Python code in Crossbar: listed as not run, and served as a
/// 501 naming what to run instead. `None` when `kind` is not one of these.
pub(super) fn not_run_path(kind: &str, obj: &Obj, cx: &mut Loader) -> Option<PathService> {
    if !PYTHON_HOSTING.contains(&kind) {
        return None;
    }
    let instead = refusal(kind, obj)?;
    cx.not_run.push(NotRun {
        path: obj.path.clone(),
        what: format!("\"{kind}\" path (Python code inside Crossbar)"),
        instead: instead.clone(),
    });
    Some(PathService::NotRun(instead))
}

/// Why a path of type `kind` is refused, or `None` when it is not one of these.
pub(super) fn refusal(kind: &str, obj: &Obj) -> Option<String> {
    let (_, message) = REFUSED.iter().find(|(refused, _)| *refused == kind)?;
    let app = match (obj.opt_str("module"), obj.opt_str("object")) {
        (Ok(Some(module)), Ok(Some(object))) => format!("{module}:{object}"),
        _ => "<module>:<object>".to_string(),
    };
    Some(message.replace("{app}", &app))
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
    fn python_paths_are_listed_as_not_run_with_what_to_run_instead() {
        let p = "workers[0].transports[0].paths.x";
        let listed = |path: &str| {
            let config = load_str_with_env(&web_worker(REALM1, path), &|_| None).unwrap();
            assert_eq!(config.not_run.len(), 1, "{path}");
            let part = &config.not_run[0];
            assert_eq!(part.path, p);
            let paths = config.workers[0].transports[0].kind.paths().unwrap();
            assert!(matches!(paths["/x"], crate::config::PathService::NotRun(_)));
            format!("{}: {}", part.what, part.instead)
        };
        let wsgi = listed(r#""x": {"type": "wsgi", "module": "myapp.wsgi", "object": "app"}"#);
        assert!(
            wsgi.contains("a \"wsgi\" path runs a Python WSGI app"),
            "{wsgi}"
        );
        assert!(
            wsgi.contains("gunicorn --bind 127.0.0.1:8000 myapp.wsgi:app"),
            "{wsgi}"
        );
        assert!(wsgi.contains("\"reverseproxy\""), "{wsgi}");
        let bare = listed(r#""x": {"type": "wsgi"}"#);
        assert!(
            bare.contains("gunicorn --bind 127.0.0.1:8000 <module>:<object>"),
            "{bare}"
        );

        let resource = listed(r#""x": {"type": "resource", "classname": "a.B"}"#);
        assert!(resource.contains("a \"resource\" path runs a Twisted Web resource"));
        let wap = listed(r#""x": {"type": "wap", "templates": "t", "routes": []}"#);
        assert!(wap.contains("a \"wap\" path renders Jinja2 templates"));
        assert!(wap.contains("\"caller\""));
    }

    #[test]
    fn other_refusals_name_the_key_and_what_to_write_instead() {
        let p = "workers[0].transports[0].paths.x.type";
        let cases = [
            (
                r#""x": {"type": "schemadoc"}"#,
                "a \"schemadoc\" path",
                "\"static\"",
            ),
            (
                r#""x": {"type": "rawsocket"}"#,
                "\"rawsocket\" is a transport type, not a path type",
                "\"universal\"",
            ),
            (
                r#""x": {"type": "mqtt"}"#,
                "\"mqtt\" is a transport type in Crossbar",
                "\"webhook\"",
            ),
        ];
        for (path, start, names) in cases {
            let message = error(path);
            assert!(message.starts_with(&format!("{p}: {start}")), "{message}");
            assert!(message.contains(names), "{message}");
        }
    }
}
