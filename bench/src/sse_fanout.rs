//! `sse-fanout`: S Server-Sent Events streams on one topic (plain HTTP GETs to an `sse` path,
//! [`crate::sse`]), P WAMP publishers ([`crate::publisher`]) publishing B-byte events to it,
//! exactly as `fanout` does with WebSocket subscribers, so the two compare directly.
//!
//! Reports the same as `fanout`: publishes/s, deliveries/s (events received by all streams
//! while measuring), publish-to-delivery latency, how many streams the server ended early and
//! how many events the streams lost over the whole run.

use serde_json::json;

use crate::http::Target;
use crate::measure::{Clock, Report, RunArgs};
use crate::publisher::{self, PublishArgs};
use crate::sse::EventStream;
use crate::subscriber::{SubscriberArgs, Subscribers, source};
use crate::wamp::Result;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The `sse` path; `?topic=<topic>` is added.
    #[arg(long, default_value = "http://127.0.0.1:8080/events")]
    pub sse_url: String,
    #[command(flatten)]
    pub publish: PublishArgs,
    /// SSE streams (`-s`), from these source addresses.
    #[command(flatten)]
    pub subscribe: SubscriberArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub async fn run(args: Args) -> Result<Report> {
    let clock = Clock::new(args.run.count);
    let mut url = url::Url::parse(&args.sse_url)?;
    url.query_pairs_mut()
        .append_pair("topic", &args.publish.topic);
    let target = Target::parse(url.as_str()).await?;
    let (count, sources) = (args.subscribe.subscribers, args.subscribe.sources);
    let streams = Subscribers::start_with(count, &clock, |i| {
        let target = target.clone();
        async move { EventStream::open(&target, source(i, sources)).await }
    })
    .await?;
    let published = publisher::publish(&args.publish, &clock, &args.run).await?;
    let seen = streams.finish(Some(published.total)).await;
    Ok(publisher::report(
        "sse-fanout",
        &args.publish,
        count,
        json!({"sse_url": args.sse_url}),
        published,
        &seen,
    ))
}
