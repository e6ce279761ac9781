//! `config.json`: Crossbar's shape in, a validated [`Config`] out.
//!
//! [`load_file`] / [`load_str`] parse and validate (errors name the JSON path, see
//! [`ConfigError`]); [`summary`] is what `junction check` prints.

mod admin_path;
mod archive_path;
pub(crate) mod auth;
mod bridge;
mod cgi_path;
mod cluster;
mod cookie;
mod crossbar_rest;
mod crossbar_rest_callee;
mod endpoint;
mod error;
mod guest;
mod http_callee;
mod http_subscriber;
mod load;
mod loader;
mod longpoll;
pub mod model;
pub(crate) mod node;
mod not_run;
mod rawsocket;
mod realm;
mod refused_paths;
mod reverse_proxy;
pub mod secret;
mod sse_path;
mod starter;
mod static_path;
mod store;
mod summary;
mod testee;
pub mod topic;
mod transport;
mod universal;
mod upload;
mod warnings;
mod web_paths;
mod web_services;
mod websocket;

pub use archive_path::{MAX_ARCHIVE_BYTES, open_archive};
pub use error::ConfigError;
pub use load::{load_file, load_str, load_str_with_env};
pub use longpoll::{LongPollOptions, LongPollService};
pub use model::*;
pub use rawsocket::{announceable, default_rawsocket_options};
pub use starter::{
    STARTER_ADMIN_USER, STARTER_ADMIN_VAR, STARTER_KEY, STARTER_SECRET_VAR, write_starter,
};
pub use static_path::DEFAULT_CACHE_TIMEOUT;
pub use summary::{path_headline, summary};
pub use warnings::warnings;
pub use websocket::{
    DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_FAILED_LOGINS, DEFAULT_MAX_OUTBOUND_BYTES,
    default_websocket_options,
};
