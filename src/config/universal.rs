//! `"type": "universal"` transports (Crossbar's shape): one endpoint serving RawSocket
//! (`rawsocket`: a RawSocket service without endpoint), WebSocket paths (`websocket`: path ->
//! WebSocket service) and a web path table (`web`: `{"paths", "options"}`). The `websocket`
//! paths and the `web` paths form one path table; a path in both is an error.

use crate::config::loader::Loader;
use crate::config::model::{PathService, TransportKind, WebOptions};
use crate::config::node::{Node, Obj, Result};
use crate::config::rawsocket::load_rawsocket_service;

use crate::config::web_paths::{
    PathTable, load_path_service, load_web_options, load_websocket_path,
};

/// The `universal` transport at `obj` (its endpoint is loaded by the caller).
pub(super) fn load_universal(obj: &Obj, cx: &mut Loader) -> Result<TransportKind> {
    obj.reject(&[("mqtt", "MQTT is not supported yet")])?;
    obj.keys(
        &["type", "endpoint", "rawsocket", "websocket", "web"],
        &["id"],
        &mut cx.ignored,
    )?;
    if !["rawsocket", "websocket", "web"].iter().any(|k| obj.has(k)) {
        return Err(obj.key_error(
            "type",
            "a universal transport needs at least one of rawsocket, websocket and web",
        ));
    }
    let rawsocket = match obj.get("rawsocket") {
        Some(node) => Some(load_rawsocket_part(&node, cx)?),
        None => None,
    };
    let mut table = PathTable::default();
    if let Some(node) = obj.get("websocket") {
        table.load(&node, cx, load_websocket_part)?;
    }
    let mut options = WebOptions::default();
    if let Some(node) = obj.get("web") {
        let web = node.object()?;
        check_type(&web, "web")?;
        web.keys(
            &["type", "paths", "options"],
            &["id", "debug"],
            &mut cx.ignored,
        )?;
        table.load(&web.required("paths")?, cx, load_path_service)?;
        options = load_web_options(web.get("options").as_ref(), cx)?;
    }
    Ok(TransportKind::Universal {
        rawsocket,
        paths: table.paths,
        options,
    })
}

/// `type` inside a part is optional (Crossbar allows it); when written it must name the part.
fn check_type(obj: &Obj, expected: &str) -> Result<()> {
    match obj.get("type") {
        Some(node) if node.str()? != expected => {
            Err(node.error(format!("expected \"{expected}\" here (or no type)")))
        }
        _ => Ok(()),
    }
}

fn load_rawsocket_part(node: &Node, cx: &mut Loader) -> Result<crate::config::RawSocketService> {
    let obj = node.object()?;
    obj.reject(&[(
        "endpoint",
        "the parts of a universal transport share its endpoint and have none of their own",
    )])?;
    check_type(&obj, "rawsocket")?;
    obj.keys(
        &["type", "serializers", "auth", "max_message_size", "options"],
        &["id", "debug"],
        &mut cx.ignored,
    )?;
    load_rawsocket_service(&obj, cx)
}

fn load_websocket_part(node: &Node, cx: &mut Loader) -> Result<PathService> {
    let obj = node.object()?;
    obj.reject(&[(
        "endpoint",
        "the parts of a universal transport share its endpoint and have none of their own",
    )])?;
    check_type(&obj, "websocket")?;
    load_websocket_path(&obj, cx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::testing::*;
    use crate::config::model::SerializerName;

    const T: &str = "workers[0].transports[0]";

    fn universal(parts: &str) -> String {
        worker(
            REALM1,
            &format!(
                r#"{{"type": "universal", "endpoint": {{"type": "tcp", "port": 8080}}, {parts}}}"#
            ),
        )
    }

    fn kind(json: &str) -> TransportKind {
        load(json).workers[0].transports[0].kind.clone()
    }

    #[test]
    fn all_three_parts_share_one_path_table() {
        let TransportKind::Universal {
            rawsocket,
            paths,
            options,
        } = kind(&universal(
            r#""rawsocket": {"serializers": ["cbor", "json"], "max_message_size": 4096},
               "websocket": {"ws": {"type": "websocket", "serializers": ["json"]}},
               "web": {"paths": {"/push": {"type": "publisher", "realm": "realm1", "role": "anonymous"}},
                       "options": {"trusted_proxies": ["10.0.0.0/8"]}}"#,
        ))
        else {
            panic!("expected universal");
        };
        let rawsocket = rawsocket.expect("a rawsocket part");
        assert_eq!(
            rawsocket.serializers,
            [SerializerName::Cbor, SerializerName::Json]
        );
        assert_eq!(rawsocket.options.max_message_size, 4096);
        assert_eq!(paths.keys().collect::<Vec<_>>(), ["/push", "/ws"]);
        assert!(
            matches!(paths["/ws"], PathService::WebSocket(ref s) if s.serializers == [SerializerName::Json])
        );
        assert!(matches!(paths["/push"], PathService::Publisher(_)));
        assert_eq!(options.trusted_proxies.len(), 1);
    }

    #[test]
    fn any_part_alone() {
        let TransportKind::Universal {
            rawsocket, paths, ..
        } = kind(&universal(r#""rawsocket": {}"#))
        else {
            panic!("expected universal");
        };
        assert!(rawsocket.is_some() && paths.is_empty());
        let TransportKind::Universal {
            rawsocket, paths, ..
        } = kind(&universal(r#""websocket": {"/": {}}"#))
        else {
            panic!("expected universal");
        };
        assert!(rawsocket.is_none());
        assert!(matches!(paths["/"], PathService::WebSocket(_)));
    }

    #[test]
    fn errors_name_the_path() {
        let e = |parts: &str| error(&universal(parts));
        assert_eq!(
            error(&worker(
                REALM1,
                r#"{"type": "universal", "endpoint": {"type": "tcp", "port": 8080}}"#
            )),
            format!(
                "{T}.type: a universal transport needs at least one of rawsocket, websocket and web"
            )
        );
        assert_eq!(
            e(
                r#""websocket": {"ws": {}}, "web": {"paths": {"/ws": {"type": "caller", "realm": "realm1", "role": "anonymous"}}}"#
            ),
            format!("{T}.web.paths./ws: path \"/ws\" is defined twice (as \"ws\" and \"/ws\")")
        );
        assert_eq!(
            e(r#""websocket": {"ws": {"type": "web"}}"#),
            format!("{T}.websocket.ws.type: expected \"websocket\" here (or no type)")
        );
        assert_eq!(
            e(r#""rawsocket": {"endpoint": {"type": "tcp", "port": 1}}"#),
            format!(
                "{T}.rawsocket.endpoint: the parts of a universal transport share its endpoint and have none of their own"
            )
        );
        assert_eq!(
            e(r#""rawsocket": {"max_message_size": "big"}"#),
            format!(
                "{T}.rawsocket.max_message_size: expected a non-negative integer, found a string"
            )
        );
        assert_eq!(
            e(r#""mqtt": {}"#),
            format!("{T}.mqtt: MQTT is not supported yet")
        );
        assert!(
            e(r#""web": {"paths": {}, "extra": 1}"#).starts_with(&format!(
                "{T}.web.extra: unknown key (allowed here: type, paths, options, id, debug)"
            ))
        );
        assert_eq!(
            e(r#""web": {"options": {}}"#),
            format!("{T}.web.paths: required key is missing")
        );
        assert_eq!(
            e(r#""websocket": {"ws": {"serializers": ["xml"]}}"#),
            format!(
                "{T}.websocket.ws.serializers[0]: unknown serializer \"xml\" (expected json, msgpack or cbor)"
            )
        );
        assert_eq!(
            e(r#""websocket": []"#),
            format!("{T}.websocket: expected an object, found an array")
        );
    }
}
