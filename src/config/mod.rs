//! `config.json`: Crossbar's shape in, a validated [`Config`] out.
//!
//! [`load_file`] / [`load_str`] parse and validate (errors name the JSON path, see
//! [`ConfigError`]); [`summary`] is what `junction check` prints.

pub(crate) mod auth;
mod bridge;
mod endpoint;
mod error;
mod load;
mod loader;
pub mod model;
pub(crate) mod node;
mod rawsocket;
mod realm;
pub mod secret;
mod static_path;
mod store;
mod summary;
pub mod topic;
mod transport;
mod universal;
mod upload;
mod warnings;
mod web_paths;
mod web_services;
mod websocket;

pub use error::ConfigError;
pub use load::{load_file, load_str, load_str_with_env};
pub use model::*;
pub use rawsocket::{announceable, default_rawsocket_options};
pub use summary::{path_headline, summary};
pub use warnings::warnings;
pub use websocket::{DEFAULT_JOIN_TIMEOUT, DEFAULT_MAX_OUTBOUND_BYTES, default_websocket_options};
