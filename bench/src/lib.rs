//! junction-bench: a load generator for WAMP routers with a Crossbar-style HTTP pusher, so
//! Junction and Crossbar can be measured with the same instrument (issue 6).
//!
//! Scenarios, one module each: [`pusher`] (HTTP POSTs to a publisher path), [`fanout`] (one
//! topic to many subscribers), [`sse_fanout`] (the same to Server-Sent Events streams), [`rpc`]
//! (callers and callees), [`idle`] (server memory per held session), [`hook_receiver`] (the
//! receiving end of Junction's HTTP subscribers). They share [`wamp`] (the client side of the
//! protocol over WebSocket), [`http`] (a keep-alive HTTP/1.1 client and Crossbar's signature),
//! [`sse`] (an event stream client), [`publisher`], [`subscriber`] and [`measure`] (phases,
//! histograms, CPU, the report). The `poller` scenario is a criterion bench of the
//! router crate (`benches/poller_change.rs`).

pub mod fanout;
pub mod hook_receiver;
pub mod http;
pub mod idle;
pub mod measure;
pub mod nats;
pub mod publisher;
pub mod pusher;
pub mod rpc;
pub mod sse;
pub mod sse_fanout;
pub mod subscriber;
pub mod wamp;
