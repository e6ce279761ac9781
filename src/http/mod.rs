//! The HTTP side of a web transport: the path table, and the HTTP bridge services
//! (publisher/pusher, caller, webhook) with Crossbar's contract.

pub mod bridge;
pub mod caller;
pub mod client;
pub mod cors;
pub mod publisher;
pub mod push_client;
pub mod response;
pub mod server;
pub mod signature;
pub mod topics_api;
pub mod webhook;
