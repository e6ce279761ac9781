//! A realm's interest in other nodes' publications: one NATS subscription per local WAMP
//! subscription (pattern and match policy), made before its first SUBSCRIBED and dropped a
//! while after its last subscriber left; and the task that delivers what they receive.
//!
//! Order: async-nats gives every NATS subscription its own channel, so two subscriptions that
//! both match a burst would interleave it in any order (cluster.md measured 24,980 inversions
//! in 100,000). The delivering task therefore drains *every* channel in passes until a whole
//! pass finds nothing, and sorts that batch by (origin node, sequence). The client's reader
//! fills the channels in the order the socket delivered, so once a pass finds all of them
//! empty, every message sent before any message of the batch is in the batch: sorting it
//! restores the order each node published in, across subscriptions. The task runs outside
//! tokio's cooperative budget, so an empty poll really means an empty channel.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_nats::{Message, Subscriber};
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::cluster::subject::RealmSubjects;
use crate::cluster::wire;
use crate::router::broker::Publication;
use crate::router::error::WampError;
use crate::router::realm::Realm;
use crate::wamp::error as uri_error;
use crate::wamp::uri::MatchPolicy;

/// A local subscription's pattern: what one NATS subscription stands for.
pub type Pattern = Arc<(MatchPolicy, String)>;

/// How long an interest outlives its last subscriber (a subscriber coming back within it
/// costs no NATS round trip, and a SUBSCRIBE in progress is never undercut).
const LINGER: Duration = Duration::from_secs(1);

enum Command {
    Add(Pattern, Subscriber),
    Remove(Pattern),
}

/// The NATS subscriptions of one realm.
pub struct Interests {
    client: async_nats::Client,
    subjects: RealmSubjects,
    max_subject_bytes: usize,
    request_timeout: Duration,
    /// Patterns with a NATS subscription, and when a SUBSCRIBE last needed each.
    table: tokio::sync::Mutex<HashMap<Pattern, Instant>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Interests {
    pub fn start(
        client: async_nats::Client,
        subjects: RealmSubjects,
        max_subject_bytes: usize,
        request_timeout: Duration,
        realm: Weak<Realm>,
    ) -> Arc<Interests> {
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(tokio::task::unconstrained(deliver(receiver, realm)));
        Arc::new(Interests {
            client,
            subjects,
            max_subject_bytes,
            request_timeout,
            table: tokio::sync::Mutex::default(),
            commands,
        })
    }

    /// Refuses a URI whose subject would be longer than the bound.
    pub fn check(&self, uri: &str, policy: MatchPolicy) -> Result<(), WampError> {
        let subject = match policy {
            MatchPolicy::Exact => self.subjects.publication(uri),
            _ => self.subjects.subscription(uri, policy),
        };
        if subject.len() <= self.max_subject_bytes {
            return Ok(());
        }
        Err(WampError::new(
            uri_error::INVALID_URI,
            format!(
                "URI too long for the cluster: its NATS subject takes {} bytes, more than \
                 max_subject_bytes ({})",
                subject.len(),
                self.max_subject_bytes
            ),
        ))
    }

    /// Subscribes on NATS for (uri, policy) unless already subscribed, and waits until the
    /// server has it (so a publication made after SUBSCRIBED on another node arrives).
    pub async fn subscribe(&self, uri: &str, policy: MatchPolicy) -> Result<(), WampError> {
        self.check(uri, policy)?;
        let pattern: Pattern = Arc::new((policy, uri.to_owned()));
        let mut table = self.table.lock().await;
        if let Some(used) = table.get_mut(&pattern) {
            *used = Instant::now();
            return Ok(());
        }
        // Cut off from NATS, the subscription still serves local publishers: the client
        // sends its interest once it reconnects.
        let connected = self.client.connection_state() == async_nats::connection::State::Connected;
        let subject = self.subjects.subscription(uri, policy);
        let subscribed = async {
            let subscriber = self.client.subscribe(subject).await.ok()?;
            if connected {
                round_trip(&self.client).await.ok()?;
            }
            Some(subscriber)
        };
        let subscriber = tokio::time::timeout(self.request_timeout, subscribed)
            .await
            .ok()
            .flatten()
            .ok_or_else(unreachable)?;
        table.insert(Arc::clone(&pattern), Instant::now());
        let _ = self.commands.send(Command::Add(pattern, subscriber));
        Ok(())
    }

    /// The last local subscriber of (uri, policy) left: its NATS subscription goes after
    /// [`LINGER`], unless the realm has such a subscription again by then.
    pub fn unsubscribed(self: &Arc<Self>, uri: &str, policy: MatchPolicy, realm: Weak<Realm>) {
        let interests = Arc::clone(self);
        let pattern: Pattern = Arc::new((policy, uri.to_owned()));
        tokio::spawn(async move {
            tokio::time::sleep(LINGER).await;
            let mut table = interests.table.lock().await;
            let Some(used) = table.get(&pattern) else {
                return;
            };
            let subscribed = realm
                .upgrade()
                .is_some_and(|r| r.broker.read().lookup(&pattern.1, pattern.0).is_some());
            if subscribed || used.elapsed() < LINGER {
                return;
            }
            table.remove(&pattern);
            let _ = interests.commands.send(Command::Remove(pattern));
        });
    }
}

/// Returns once the server has processed everything this client sent before: a request nobody
/// answers, which the server itself answers ("no responders") after the messages before it.
/// (async-nats's `flush` only empties the socket's write buffer: a SUB still on its way to the
/// server would miss a publication another node makes as soon as it hears SUBSCRIBED.)
pub async fn round_trip(client: &async_nats::Client) -> Result<(), ()> {
    use async_nats::RequestErrorKind;
    match client
        .request(client.new_inbox(), bytes::Bytes::new())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == RequestErrorKind::NoResponders => Ok(()),
        Err(_) => Err(()),
    }
}

pub fn unreachable() -> WampError {
    WampError::new(
        uri_error::NETWORK_FAILURE,
        "the cluster (NATS) cannot be reached",
    )
}

/// The delivering task: NATS subscriptions in, EVENTs to local subscribers out, in order.
async fn deliver(mut commands: mpsc::UnboundedReceiver<Command>, realm: Weak<Realm>) {
    let mut subscriptions: Vec<(Pattern, Subscriber)> = Vec::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Add(pattern, subscriber)) => subscriptions.push((pattern, subscriber)),
                Some(Command::Remove(pattern)) => subscriptions.retain(|(p, _)| *p != pattern),
                None => return,
            },
            batch = next_batch(&mut subscriptions) => {
                let Some(realm) = realm.upgrade() else { return };
                for (pattern, message) in batch {
                    deliver_one(&realm, &pattern, &message);
                }
            }
        }
    }
}

/// Everything the subscriptions hold, drained until a whole pass finds nothing, in the order
/// each origin node sent it.
async fn next_batch(subscriptions: &mut [(Pattern, Subscriber)]) -> Vec<(Pattern, Message)> {
    let mut batch = std::future::poll_fn(|cx| {
        let mut batch = Vec::new();
        loop {
            let before = batch.len();
            for (pattern, subscriber) in subscriptions.iter_mut() {
                while let Poll::Ready(Some(message)) = Pin::new(&mut *subscriber).poll_next(cx) {
                    batch.push((Arc::clone(pattern), message));
                }
            }
            // No cap on a batch: cutting one short could leave out a message sent before one
            // it holds. The channels' capacity bounds it.
            if batch.len() == before {
                break;
            }
        }
        if batch.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(batch)
        }
    })
    .await;
    batch.sort_by_cached_key(|(_, m)| {
        let headers = m.headers.as_ref();
        (
            wire::header(headers, wire::ORIGIN).map(str::to_owned),
            wire::header_id(headers, wire::SEQUENCE),
        )
    });
    batch
}

fn deliver_one(realm: &Realm, pattern: &Pattern, message: &Message) {
    let Some(received) = wire::received(&message.payload) else {
        return;
    };
    let publication = Publication {
        id: received.id,
        topic: &received.topic,
        details: received.details,
        payload: &received.payload,
        audience: received.audience,
    };
    realm.deliver_remote(&pattern.1, pattern.0, &publication, received.retain);
}
