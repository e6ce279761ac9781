//! HTTP callees (`realms[].http_callees`, and Crossbar `RESTCallee` components): for each, an
//! internal session of the configured role registers the procedure and answers every
//! INVOCATION with an HTTP request ([`invoke`]). Invocations run concurrently, at most
//! `concurrency` at a time: the registration carries it as REGISTER's `concurrency` option, so
//! the dealer refuses a call beyond it (`crossbar.error.max_concurrency_reached`) or, under a
//! `store.call-queue` rule, holds it until a slot frees. A caller's CANCEL (`kill`,
//! `killnowait`) or its call timeout drops the HTTP request.
//!
//! A registration that fails because another session holds the procedure is retried (and
//! logged) until it succeeds; any other refusal is logged once. [`HttpCallees`] dropped (at
//! shutdown) ends every callee's session, which unregisters its procedure.

pub mod crossbar_rest;
pub mod failure;
pub mod invoke;
pub mod request;
pub mod response;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::config::model::HttpCalleeConfig;
use crate::router::Router;
use crate::router::internal::InternalCallee;
use crate::router::realm::Realm;
use crate::wamp::error as uri_error;
use crate::wamp::value::{Dict, Value};
use invoke::Callee;

/// The authid of every HTTP callee's session.
pub const AUTHID: &str = "junction-http-callee";

/// How long a registration refused as already registered waits before it is tried again.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Every HTTP callee of the node, running until dropped.
pub struct HttpCallees {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl HttpCallees {
    /// Starts the callees of every realm of `config` (must run inside a runtime).
    pub fn start(config: &Config, router: &Router) -> Result<HttpCallees, String> {
        let mut tasks = Vec::new();
        let mut client = None;
        for realm_config in config.workers.iter().flat_map(|w| &w.realms) {
            let Some(realm) = router.realm(&realm_config.name) else {
                continue;
            };
            for callee in &realm_config.http_callees {
                let client = match &client {
                    Some(client) => Clone::clone(client),
                    None => client.insert(http_client()?).clone(),
                };
                let callee = Arc::new(Callee::new(&realm_config.name, callee.clone(), client));
                tasks.push(tokio::spawn(run(Arc::clone(&realm), callee)));
            }
        }
        Ok(HttpCallees { tasks })
    }
}

impl Drop for HttpCallees {
    fn drop(&mut self) {
        // Each task owns its InternalCallee: aborting drops it, and it leaves the realm.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One client for every callee: connections to the same server are pooled; redirects are not
/// followed (a 3xx is an answer like any other).
fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("junction/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot create the HTTP callees' client: {e}"))
}

/// Registers the callee's procedure (retrying while someone else holds it), then serves it.
async fn run(realm: Arc<Realm>, callee: Arc<Callee>) {
    let config = &callee.config;
    let mut wait = RETRY_FIRST;
    let session = loop {
        let mut session =
            InternalCallee::with_call_canceling(Arc::clone(&realm), &config.role, AUTHID);
        match session.register_with(&config.procedure, &register_options(config)) {
            Ok(_) => break session,
            Err(e) if e.uri == uri_error::PROCEDURE_ALREADY_EXISTS => {
                tracing::warn!(
                    realm = %realm.name,
                    procedure = %config.procedure,
                    reason = e.uri,
                    "http callee: the procedure is registered by another session; trying again in {} ms",
                    wait.as_millis()
                );
                drop(session);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            Err(e) => {
                tracing::error!(
                    realm = %realm.name,
                    procedure = %config.procedure,
                    reason = e.uri,
                    error = %e.message,
                    "http callee: cannot register {}",
                    config.path
                );
                return;
            }
        }
    };
    tracing::info!(
        realm = %realm.name,
        procedure = %config.procedure,
        url = %failure::shown_url(&config.url),
        "http callee: registered"
    );
    session
        .serve_outcomes(move |invocation| {
            let callee = Arc::clone(&callee);
            async move { callee.invoke(invocation).await }
        })
        .await;
}

/// REGISTER options: the configured `match` and `concurrency`.
fn register_options(config: &HttpCalleeConfig) -> Dict {
    let mut options = Dict::new();
    options.insert("match".into(), Value::from(config.policy.name()));
    options.insert(
        "concurrency".into(),
        Value::from(u64::from(config.concurrency)),
    );
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        crate::config::load_str(
            r#"{"version": 2, "workers": [{"type": "router", "realms": [{"name": "realm1",
                "roles": [{"name": "backend", "permissions": [{"uri": "com.example",
                    "match": "prefix", "allow": {"register": true}}]}],
                "http_callees": [{"procedure": "com.example.orders", "role": "backend",
                                  "url": "http://127.0.0.1:9/orders"}]}],
                "transports": []}]}"#,
        )
        .unwrap()
    }

    async fn wait_until(what: &str, f: impl Fn() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}");
    }

    #[tokio::test]
    async fn a_procedure_held_by_another_session_is_registered_once_free_and_gone_at_shutdown() {
        // As main does before any client is built.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = config();
        let router = Router::new(&config);
        let realm = router.realm("realm1").unwrap();
        let mut holder = InternalCallee::new(Arc::clone(&realm), "backend", "other");
        holder.register("com.example.orders").unwrap();
        let callees = HttpCallees::start(&config, &router).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(holder);
        assert!(!realm.has_registration("com.example.orders"));
        wait_until(
            "the HTTP callee registers once the procedure is free",
            || realm.has_registration("com.example.orders"),
        )
        .await;
        drop(callees);
        wait_until("the registration goes at shutdown", || {
            !realm.has_registration("com.example.orders")
        })
        .await;
    }
}
