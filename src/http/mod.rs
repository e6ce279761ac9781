//! The HTTP bridge services with Crossbar's contract (publisher/pusher, caller, webhook) and
//! the topics API, each answering one request. The web transport's path table
//! (`transport::path_table`) routes requests to them.

pub mod admin;
pub mod archive;
pub mod archive_download;
pub mod bridge;
pub mod bridge_stats;
pub mod caller;
pub mod cgi;
pub mod cgi_response;
pub mod cors;
pub mod event_stream;
pub mod forwarded;
pub mod health;
pub mod metrics;
pub mod process_stats;
pub mod publisher;
pub mod push_client;
pub mod requester;
pub mod response;
pub mod reverse_proxy;
pub mod signature;
pub mod sse;
pub mod sse_auth;
pub mod static_files;
pub mod topics_api;
pub mod upload;
pub mod upload_chunks;
pub mod web_services;
pub mod webhook;
