//! One long-poll transport: a WAMP connection run by [`connection::run`] like any other, whose
//! frames come in with `send` requests and go out as answers to `receive` requests.
//!
//! The reader hands each `send` body to the session and answers the request once the session
//! took every message in it (so a session waiting for room in its queue holds the client's
//! `send`: the same backpressure a WebSocket gets from TCP). The writer keeps what the session
//! queued in the session's own bounded [`Outbound`] until a `receive` asks for it, so
//! `queue_limit_messages` and `queue_limit_bytes` bound what a client that stops polling can
//! pile up (a slow consumer is closed, as on a WebSocket). A transport with no request for
//! `session_timeout` is closed and its session left, as when a WebSocket drops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::config::LongPollOptions;
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::peer::{Inbox, Outbound, Outgoing};
use crate::router::session::{Flow, Session};
use crate::transport::connection::{self, Link, MAX_FRAMES_PER_FLUSH};
use crate::transport::http_connection::{Activity, InFlight};
use crate::wamp::serializer::{JSON_SEPARATOR, Subprotocol, json_separator_of};

/// What a `send` or `close` request brings the reader.
enum Input {
    /// A `send` body; `done` gets the refusal when the body breaks the protocol.
    Messages {
        body: Bytes,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// The client closes the transport.
    Close { done: oneshot::Sender<()> },
}

/// A waiting `receive`: gets the answer's body (empty when nothing came in time).
type Poll = oneshot::Sender<Bytes>;

/// How a `send` went.
pub enum Sent {
    Accepted,
    /// The body broke the protocol: the session was aborted.
    Refused(String),
    /// The transport is closed.
    Gone,
}

/// A transport as its HTTP requests see it (held by the path's table).
pub struct Transport {
    pub subprotocol: Subprotocol,
    inputs: mpsc::Sender<Input>,
    polls: mpsc::Sender<Poll>,
    /// Requests in flight and when the last one ended (for `session_timeout`).
    activity: Arc<Activity>,
    /// The connection has ended (the entry lingers so a late `close` is still answered).
    ended: AtomicBool,
    outbound: Arc<Outbound>,
}

/// What a transport runs with.
pub struct Setup {
    pub router: Arc<Router>,
    pub authenticator: Arc<Authenticator>,
    pub options: LongPollOptions,
    pub subprotocol: Subprotocol,
    pub peer: SocketAddr,
    /// The tracking cookie of the `open` request, on a cookie-tracked path.
    pub cookie: Option<crate::router::auth::cookie::TrackedCookie>,
}

impl Transport {
    /// Starts the transport's connection; `ended` runs once it is over.
    pub fn open(setup: Setup, ended: impl FnOnce() + Send + 'static) -> Arc<Transport> {
        let Setup {
            router,
            authenticator,
            options,
            subprotocol,
            peer,
            cookie,
        } = setup;
        let (outbound, inbox) =
            Outbound::bounded(options.queue_limit_messages, options.queue_limit_bytes);
        let (inputs, input_rx) = mpsc::channel(1);
        let (polls, poll_rx) = mpsc::channel(4);
        let transport = Arc::new(Transport {
            subprotocol,
            inputs,
            polls,
            activity: Arc::new(Activity::default()),
            ended: AtomicBool::new(false),
            outbound: Arc::clone(&outbound),
        });
        let mut session = Session::new(
            Arc::clone(&router),
            authenticator,
            subprotocol.serialization,
            Arc::clone(&outbound),
        );
        let mut details = connection::transport_details("longpoll", subprotocol.name(), &peer);
        details.cookie = cookie;
        session.set_transport(details);
        let link = Link::new(outbound, options.join_timeout);
        let reader = Reader {
            session,
            inputs: input_rx,
            subprotocol,
            separator: Arc::new(AtomicU8::new(JSON_SEPARATOR)),
            shutdown: router.shutdown_signal(),
            activity: Arc::clone(&transport.activity),
            session_timeout: options.session_timeout,
            gone: CancellationToken::new(),
            peer,
        };
        let writer = Writer {
            inbox,
            polls: poll_rx,
            subprotocol,
            separator: Arc::clone(&reader.separator),
            request_timeout: options.request_timeout,
            gone: reader.gone.clone(),
        };
        let handle = Arc::clone(&transport);
        let open = router.connection_opened();
        tokio::spawn(async move {
            run(link, reader, writer, peer).await;
            drop(open);
            handle.ended.store(true, Ordering::Relaxed);
            ended();
        });
        transport
    }

    /// A request of this transport's client begins (it is alive while one is in flight).
    pub fn request(&self) -> InFlight {
        self.activity.begin()
    }

    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    /// Hands a `send` body to the session; returns once the session took it.
    pub async fn send(&self, body: Bytes) -> Sent {
        let (done, answer) = oneshot::channel();
        if self
            .inputs
            .send(Input::Messages { body, done })
            .await
            .is_err()
        {
            return Sent::Gone;
        }
        match answer.await {
            Ok(Ok(())) => Sent::Accepted,
            Ok(Err(message)) => Sent::Refused(message),
            Err(_) => Sent::Gone,
        }
    }

    /// Waits for what the session queued (empty after `request_timeout`); `None` once the
    /// transport is closed.
    pub async fn receive(&self) -> Option<Bytes> {
        let (poll, answer) = oneshot::channel();
        self.polls.send(poll).await.ok()?;
        answer.await.ok()
    }

    /// The client closes the transport: its session leaves; returns once it has.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.inputs.send(Input::Close { done }).await.is_ok() {
            let _ = closed.await;
        }
    }

    /// Closes the transport at once (its id was given to a new one).
    pub fn replace(&self) {
        self.outbound
            .closer()
            .close("its debug_transport_id was opened again");
    }
}

async fn run(link: Link, mut reader: Reader, mut writer: Writer, peer: SocketAddr) {
    {
        let reading = std::pin::pin!(reader.run());
        let writing = std::pin::pin!(writer.run());
        connection::run(&link, reading, writing, None, "long-poll transport", &peer).await;
    }
    // The session leaves now, not when the lingering entry goes.
    drop(reader);
    debug!(%peer, "long-poll transport ended");
}

/// The reading side: `send` bodies in, messages to the session.
struct Reader {
    session: Session,
    inputs: mpsc::Receiver<Input>,
    subprotocol: Subprotocol,
    /// Batched JSON: answer with the separator the client uses (see `wamp::serializer`).
    separator: Arc<AtomicU8>,
    shutdown: watch::Receiver<bool>,
    activity: Arc<Activity>,
    session_timeout: Option<std::time::Duration>,
    /// Cancelled when the client is gone (closed the transport, or went silent): the writer
    /// stops without waiting for a `receive` that will not come.
    gone: CancellationToken,
    peer: SocketAddr,
}

enum Next {
    Input(Option<Input>),
    Shutdown,
    Idle,
}

impl Reader {
    async fn run(&mut self) {
        loop {
            let next = tokio::select! {
                input = self.inputs.recv() => Next::Input(input),
                // The watch guard is dropped here, before anything is awaited.
                _ = self.shutdown.wait_for(|stopping| *stopping) => Next::Shutdown,
                () = idle(&self.activity, self.session_timeout) => Next::Idle,
            };
            match next {
                Next::Input(Some(Input::Messages { body, done })) => {
                    let (flow, refused) = Box::pin(self.deliver(&body)).await;
                    let _ = done.send(refused.map_or(Ok(()), Err));
                    if flow == Flow::Close {
                        break;
                    }
                }
                Next::Input(Some(Input::Close { done })) => {
                    self.session.detach();
                    self.gone.cancel();
                    let _ = done.send(());
                    break;
                }
                Next::Input(None) => break,
                Next::Shutdown => {
                    Box::pin(self.session.shutdown()).await;
                    break;
                }
                Next::Idle => {
                    if let Some(timeout) = self.session_timeout {
                        info!(
                            peer = %self.peer,
                            transport = "longpoll",
                            "closing long-poll transport: no request within session_timeout ({} s)",
                            timeout.as_secs()
                        );
                    }
                    self.gone.cancel();
                    break;
                }
            }
        }
        self.session.detach();
    }

    /// Hands every message of one `send` body to the session; the refusal, if the body breaks
    /// the protocol (the session is aborted then).
    async fn deliver(&mut self, body: &[u8]) -> (Flow, Option<String>) {
        let subprotocol = self.subprotocol;
        if subprotocol.batched
            && subprotocol.serialization.is_text()
            && let Some(sep) = json_separator_of(body)
        {
            self.separator.store(sep, Ordering::Relaxed);
        }
        let messages = match subprotocol.split(body) {
            Ok(messages) => messages,
            Err(e) => return (self.session.protocol_violation(&e.0).await, Some(e.0)),
        };
        for bytes in messages {
            let flow = match subprotocol.serialization.decode(bytes) {
                Ok(msg) => self.session.handle_received(msg, bytes.len()).await,
                Err(e) => return (self.session.protocol_violation(&e.0).await, Some(e.0)),
            };
            if flow == Flow::Close {
                return (flow, None);
            }
        }
        (Flow::Continue, None)
    }
}

/// Returns once the client made no request for `timeout` (never without one).
async fn idle(activity: &Activity, timeout: Option<std::time::Duration>) {
    match timeout {
        Some(timeout) => activity.idle_for(timeout).await,
        None => std::future::pending().await,
    }
}

/// The writing side: what the session queued, out as answers to `receive` requests.
struct Writer {
    inbox: Inbox,
    polls: mpsc::Receiver<Poll>,
    subprotocol: Subprotocol,
    separator: Arc<AtomicU8>,
    request_timeout: std::time::Duration,
    gone: CancellationToken,
}

impl Writer {
    /// Answers `receive` requests until the session's queue says close (after what was queued
    /// before it went out) or the client is gone.
    async fn run(&mut self) {
        // A message taken from the queue while no `receive` waited (to see a close coming).
        let mut held: Option<Bytes> = None;
        // An answer whose `receive` went away before it was given: the next one gets it.
        let mut unanswered: Option<Bytes> = None;
        loop {
            let mut poll = loop {
                tokio::select! {
                    poll = self.polls.recv() => match poll {
                        Some(poll) => break poll,
                        None => return,
                    },
                    message = next_message(&mut self.inbox), if held.is_none() => match message {
                        Some(message) => held = Some(message),
                        // Closing with nothing left to say: no need to wait for a receive.
                        None => return,
                    },
                    () = self.gone.cancelled() => return,
                }
            };
            if let Some(body) = unanswered.take() {
                unanswered = poll.send(body).err();
                continue;
            }
            let first = match held.take() {
                Some(message) => message,
                None => tokio::select! {
                    message = next_message(&mut self.inbox) => match message {
                        Some(message) => message,
                        None => {
                            let _ = poll.send(Bytes::new());
                            return;
                        }
                    },
                    () = tokio::time::sleep(self.request_timeout) => {
                        let _ = poll.send(Bytes::new());
                        continue;
                    }
                    () = poll.closed() => continue,
                    () = self.gone.cancelled() => {
                        let _ = poll.send(Bytes::new());
                        return;
                    }
                },
            };
            let (body, closing) = self.answer(first);
            unanswered = poll.send(body).err();
            if closing {
                return;
            }
        }
    }

    /// The body answering one `receive`: `first` alone (unbatched: one message per request, as
    /// the spec says), or every message queued (batched); and whether a close came after them.
    fn answer(&mut self, first: Bytes) -> (Bytes, bool) {
        if !self.subprotocol.batched {
            return (first, false);
        }
        let separator = self.separator.load(Ordering::Relaxed);
        let mut body = BytesMut::new();
        self.subprotocol.append(&mut body, &first, separator);
        for _ in 1..MAX_FRAMES_PER_FLUSH {
            match self.inbox.try_recv() {
                Some(Outgoing::Message(message)) => {
                    self.subprotocol.append(&mut body, &message, separator)
                }
                Some(Outgoing::Close { .. }) => return (body.freeze(), true),
                Some(Outgoing::Ping(_)) => {}
                None => break,
            }
        }
        (body.freeze(), false)
    }
}

/// The next message the session queued; `None` when it closes the transport.
async fn next_message(inbox: &mut Inbox) -> Option<Bytes> {
    loop {
        match inbox.recv().await? {
            Outgoing::Message(message) => return Some(message),
            // No pings on long-poll (no heartbeat is configured); nothing to send.
            Outgoing::Ping(_) => {}
            Outgoing::Close { .. } => return None,
        }
    }
}
