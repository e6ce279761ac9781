//! A router running inside the test's own process: the config is loaded from JSON with
//! `junction::config::load_str`, the router assembled as `junction start` does (`Router::open`,
//! `Pollers::start`, `listener::start`) on a runtime of its own, and the bound addresses come
//! back from `listener::start` (no log lines read). Dropping an [`InProcess`] shuts that
//! runtime down, which closes every listener and connection.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;

use junction::poller::supervisor::Pollers;
use junction::router::Router;
use junction::transport::listener;

/// A router started in this process; stopped when dropped.
pub struct InProcess {
    runtime: Option<tokio::runtime::Runtime>,
    pub router: Arc<Router>,
    pub pollers: Arc<Pollers>,
    /// Bound TCP addresses, one per TCP transport in config order.
    pub addrs: Vec<SocketAddr>,
}

impl InProcess {
    /// Loads `config` (panics, naming the error, when it is invalid), starts the router and
    /// returns once every transport listens.
    pub fn start(config: &Value) -> InProcess {
        let config = junction::config::load_str(&config.to_string())
            .unwrap_or_else(|e| panic!("invalid test config: {e}\n{config:#}"));
        // A thread of its own: the test may already be inside a runtime, where `block_on`
        // is not allowed.
        let (runtime, router, pollers, addrs) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("in-process-router")
                .enable_all()
                .build()
                .expect("router runtime");
            let (router, pollers, addrs) = runtime.block_on(async {
                let router = Arc::new(Router::open(&config).expect("open the router"));
                let pollers = Arc::new(
                    Pollers::start(&config, &router, &config.topics_api_realms())
                        .expect("start the pollers"),
                );
                let addrs = listener::start(&config, Arc::clone(&router), Arc::clone(&pollers))
                    .await
                    .expect("bind the listeners");
                (router, pollers, addrs)
            });
            (runtime, router, pollers, addrs)
        })
        .join()
        .expect("router start thread");
        InProcess {
            runtime: Some(runtime),
            router,
            pollers,
            addrs,
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.router.begin_shutdown();
        if let Some(runtime) = self.runtime.take() {
            // Allowed inside an async context, unlike dropping the runtime.
            runtime.shutdown_background();
        }
    }
}

impl super::Door for InProcess {
    fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }
}
