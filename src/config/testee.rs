//! `workers[]` of type `websocket-testee`: Crossbar's WebSocket echo server for conformance
//! tests (the Autobahn testsuite's fuzzingclient). Junction has the same echo as a path type
//! (`{"type": "websocket-testee"}`), so such a worker runs: it becomes a router worker with no
//! realms and one web transport on the worker's endpoint whose `/` is the echo. A real config
//! keeps its testee (and the URL it gives the fuzzingclient) with no edit.
//!
//! Crossbar starts one process per testee worker and lets several share a port (`shared`);
//! Junction's one listener already uses every core, so a later worker on the same endpoint is
//! listed as not run rather than bound twice.

use std::collections::BTreeMap;

use crate::config::endpoint::load_endpoint;
use crate::config::loader::Loader;
use crate::config::model::{
    NotRun, PathService, TransportConfig, TransportKind, WebOptions, Worker,
};
use crate::config::node::{Obj, Result};
use crate::config::websocket::load_websocket_options;

/// The worker as a router worker serving the echo, or `None` when an earlier testee worker
/// (in `earlier`) already listens on the same endpoint.
pub(crate) fn load_testee(
    obj: &Obj,
    earlier: &[Worker],
    cx: &mut Loader,
) -> Result<Option<Worker>> {
    obj.keys(&["type", "transport"], &["id", "options"], &mut cx.ignored)?;
    let node = obj.required("transport")?;
    let transport = node.object()?;
    // A WAMP transport's keys are accepted as Crossbar's check does; an echo has no use for
    // serializers or auth.
    transport.keys(
        &["type", "endpoint", "options"],
        &["url", "debug", "id", "serializers", "auth"],
        &mut cx.ignored,
    )?;
    transport.required("type")?.one_of(&["websocket"])?;
    let endpoint = load_endpoint(&transport.required("endpoint")?, cx, false)?;
    let options = load_websocket_options(transport.get("options").as_ref(), cx)?;
    if let Some(first) = earlier
        .iter()
        .find(|w| w.transports.iter().any(|t| t.endpoint == endpoint))
    {
        cx.not_run.push(NotRun {
            path: obj.path.clone(),
            what: "websocket-testee worker (same endpoint as an earlier one)".into(),
            instead: format!(
                "none needed: {} serves this endpoint on every core",
                first.path
            ),
        });
        return Ok(None);
    }
    let paths = BTreeMap::from([("/".to_string(), PathService::WebSocketTestee(options))]);
    Ok(Some(Worker {
        path: obj.path.clone(),
        realms: Vec::new(),
        transports: vec![TransportConfig {
            path: node.path.clone(),
            endpoint,
            kind: TransportKind::Web {
                paths,
                options: WebOptions::default(),
            },
        }],
        cluster: None,
    }))
}

#[cfg(test)]
mod tests {
    use crate::config::load::testing::*;
    use crate::config::model::{PathService, TransportKind};
    use crate::config::summary;

    const TESTEE: &str = r#"{"type": "websocket-testee", "options": {"cpu_affinity": [0]},
        "transport": {"type": "websocket", "endpoint": {"type": "tcp", "port": 9001, "shared": true},
                      "url": "ws://localhost:9001", "options": {"max_message_size": 16777216}}}"#;

    #[test]
    fn a_testee_worker_runs_as_an_echo_path() {
        let config = load(&format!(r#"{{"workers": [{TESTEE}, {TESTEE}]}}"#));
        assert_eq!(config.workers.len(), 1);
        let worker = &config.workers[0];
        assert_eq!(worker.path, "workers[0]");
        assert!(worker.realms.is_empty());
        let transport = &worker.transports[0];
        assert_eq!(transport.path, "workers[0].transport");
        assert_eq!(transport.endpoint.tcp().unwrap().port, 9001);
        let TransportKind::Web { paths, .. } = &transport.kind else {
            panic!("expected a web transport")
        };
        let PathService::WebSocketTestee(options) = &paths["/"] else {
            panic!("expected the echo on /")
        };
        assert_eq!(options.max_message_size, 16777216);
        // The second one on the same endpoint is not bound twice.
        assert_eq!(config.not_run.len(), 1);
        assert_eq!(config.not_run[0].path, "workers[1]");
        assert_eq!(
            config.not_run[0].instead,
            "none needed: workers[0] serves this endpoint on every core"
        );
        let text = summary(&config);
        assert!(
            text.starts_with(
                "workers[0] (router)\n  no realms\n  transport workers[0].transport: web on 0.0.0.0:9001\n    /: websocket-testee (echo)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn bad_testee_transports_name_their_path() {
        let cases = [
            (
                r#"{"type": "websocket-testee"}"#,
                "workers[0].transport: required key is missing",
            ),
            (
                r#"{"type": "websocket-testee", "transport": {"type": "rawsocket", "endpoint": {"type": "tcp", "port": 1}}}"#,
                "workers[0].transport.type: expected one of websocket",
            ),
            (
                r#"{"type": "websocket-testee", "transport": {"type": "websocket"}}"#,
                "workers[0].transport.endpoint: required key is missing",
            ),
            (
                r#"{"type": "websocket-testee", "transport": {"type": "websocket", "endpoint": {"type": "tcp", "port": 1}, "paths": {}}}"#,
                "workers[0].transport.paths: unknown key",
            ),
            (
                r#"{"type": "websocket-testee", "realms": [], "transport": {}}"#,
                "workers[0].realms: unknown key",
            ),
        ];
        for (worker, expected) in cases {
            let message = error(&format!(r#"{{"workers": [{worker}]}}"#));
            assert!(message.starts_with(expected), "{worker}\n{message}");
        }
    }
}
