//! HTTP peers of a realm: HTTP endpoints that take part in a realm's PubSub or RPC through
//! internal sessions Junction runs for them (subscribers that forward events to a URL).

pub mod subscriber;
