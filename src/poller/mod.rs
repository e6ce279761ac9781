//! http-poller topics (in progress): pieces that pollers are built from.

pub mod change;
pub mod time_pattern;
