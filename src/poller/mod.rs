//! http-poller topics (in progress): pieces that pollers are built from.

pub mod change;
pub mod config;
pub mod cycle;
pub mod diff;
pub mod event;
pub mod fetch;
pub mod oauth2;
pub mod pagination;
pub mod query;
pub mod retry;
pub mod runner;
pub mod select;
pub mod supervisor;
pub mod time_pattern;
