//! Crossbar path types Junction refuses for good, each with what to run instead: the ones that
//! host Python code inside Crossbar's process (`wsgi`, `resource`, `wap`), which a Rust binary
//! cannot run, and the names of transports written as paths (`rawsocket`, `mqtt`) or of a
//! service Crossbar itself dropped (`schemadoc`). One table, so every message is written (and
//! tested) in one place.

use crate::config::node::Obj;

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

/// Why a path of type `kind` is refused, or `None` when it is not one of these.
pub(super) fn refusal(kind: &str, obj: &Obj) -> Option<String> {
    let (_, message) = REFUSED.iter().find(|(refused, _)| *refused == kind)?;
    let app = match (obj.opt_str("module"), obj.opt_str("object")) {
        (Ok(Some(module)), Ok(Some(object))) => format!("{module}:{object}"),
        _ => "<module>:<object>".to_string(),
    };
    Some(message.replace("{app}", &app))
}
