//! Junction's integration tests, one binary (each test file used to link the whole crate on
//! its own: 20 binaries, most of `target/`'s size and link time; issue 12). A module per
//! subject; `common` starts the real binary and speaks raw WAMP, `common::in_process` runs the
//! router inside this process instead (the bridge, meta API and auth tests: bound addresses from
//! `listener::start`, no log lines read), `upstream` is the poller's scriptable HTTP server.

mod common;
mod upstream;

mod archive_path;
mod auth_methods;
mod bignum;
mod bridge_caller;
mod bridge_publisher;
mod bridge_publisher_contract;
mod bridge_transport;
mod bridge_webhook;
mod builtin_roles;
mod bundled_config;
mod call_queue;
mod cgi_path;
mod cluster_config;
mod concurrency;
mod config_check;
mod connection_deadlines;
mod connection_limits;
mod cookie_auth;
mod crossbar_fixtures;
mod decode_fuzz;
mod event_store;
mod fuzz_corpora;
mod health;
mod layering;
mod log_fields;
mod longpoll;
mod meta_api;
mod poller_change;
mod poller_config;
mod poller_cycle;
mod poller_fetch;
mod poller_poll_now;
mod poller_pure;
mod rawsocket_transport;
mod readme_poller_example;
mod readme_store_example;
mod reverse_proxy;
mod serializer_vectors;
mod shutdown;
mod static_path;
mod store;
mod store_open;
mod time_patterns;
mod tls_auth_config;
mod upload_path;
mod wamp_protocol;
mod web_services;
mod websocket_transport;
mod workers;
