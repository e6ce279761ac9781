//! `fanout`: S WebSocket subscribers on one topic, P publishers ([`crate::publisher`])
//! publishing B-byte events to it.
//!
//! Reports publishes/s, deliveries/s (events received by all subscribers while measuring), the
//! publish-to-receive latency, how many subscribers the router disconnected and how many
//! events they lost over the whole run.

use serde_json::json;

use crate::measure::{Clock, Report, RunArgs};
use crate::publisher::{self, PublishArgs};
use crate::subscriber::{SubscriberArgs, Subscribers};
use crate::wamp::{Endpoint, Result};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub publish: PublishArgs,
    #[command(flatten)]
    pub subscribe: SubscriberArgs,
    /// Spread the subscribers over these URLs (subscriber i at URL i mod n) instead of
    /// `--url`, where the publishers stay: the other nodes of a cluster (repeat the flag).
    #[arg(long = "subscriber-url")]
    pub subscriber_urls: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub async fn run(args: Args) -> Result<Report> {
    let clock = Clock::new(args.run.count);
    let endpoint = &args.publish.endpoint;
    let spread: Vec<Endpoint> = if args.subscriber_urls.is_empty() {
        vec![endpoint.clone()]
    } else {
        args.subscriber_urls
            .iter()
            .map(|url| Endpoint {
                url: url.clone(),
                ..endpoint.clone()
            })
            .collect()
    };
    let topic = &args.publish.topic;
    let (count, sources) = (args.subscribe.subscribers, args.subscribe.sources);
    let subscribers = Subscribers::start_spread(&spread, topic, count, sources, &clock).await?;
    let published = publisher::publish(&args.publish, &clock, &args.run).await?;
    let seen = subscribers.finish(Some(published.total)).await;
    Ok(publisher::report(
        "fanout",
        &args.publish,
        count,
        json!({}),
        published,
        &seen,
    ))
}
