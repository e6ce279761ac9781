//! A session's bounded outbound queue: routing pushes encoded frames without waiting, the
//! transport's writer takes everything queued at once.
//!
//! A mutex-guarded `VecDeque` and a waker rather than a channel: one short lock per push, one
//! per drain however many frames wait, the writer woken only when the queue turns non-empty,
//! and nothing allocated while a session is idle. (BENCHMARKS.md measured tokio's bounded
//! channel at ~20% of fan-out CPU and ~1.8 KB per idle session.)
//!
//! The queue is bounded twice: in messages (`max_outbound_queue`) and in bytes
//! (`max_outbound_bytes`), so neither many small nor a few large messages can grow a session
//! without limit. What other sessions send (events, invocations) is pushed without waiting: a
//! push over either bound closes the session as a slow consumer, and everyone else goes on.
//! Replies to the session's own requests never close it: the session waits for
//! [`Outbound::room`] before it reads its next request (backpressure on a client that
//! pipelines), and a reply queued while handling one request goes in even over the bounds. The
//! RESULTs of calls routed to callees arrive later, so each call in flight counts against the
//! room (see [`Awaited`]): a caller's queue holds at most its bounds plus what one request
//! produces.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::config::DEFAULT_MAX_OUTBOUND_BYTES;
use crate::router::traffic;
use crate::wamp::serializer::Serialization;

/// One item for a transport's writer.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded WAMP message (in the session's serialization), shared between receivers.
    Message(Bytes),
    /// A transport-level ping with this payload.
    Ping(Bytes),
    /// Write what is queued before this, then close the transport with this code and reason.
    Close { code: u16, reason: String },
}

/// What the queue holds: an item for the writer, or an EVENT with the [`traffic::stamp`] of
/// when it was routed (its wait is measured when the writer takes it).
#[derive(Debug)]
enum Queued {
    Item(Outgoing),
    Event(Bytes, u32),
}

/// The queue, shared by everything that sends to one session.
#[derive(Debug)]
pub struct Outbound {
    state: Mutex<State>,
    /// Most messages queued (`max_outbound_queue`).
    capacity: usize,
    /// Most bytes queued (`max_outbound_bytes`); one message larger than this still goes
    /// into an empty queue.
    max_bytes: usize,
    /// Calls of this session routed to a callee and not answered yet (see [`Awaited`]).
    awaited: AtomicUsize,
    /// The session joined a realm (WELCOME queued): the transport's `join_timeout` no longer
    /// applies.
    joined: AtomicBool,
    /// The writer, when it waits for items.
    writer: AtomicWaker,
    /// Senders waiting for room ([`Outbound::send`]).
    room: Notify,
    closer: Closer,
    /// The connection's serialization, once a session counts its messages
    /// ([`count_as`](Outbound::count_as)): 0 for none (an internal session), else index + 1.
    counted_as: AtomicU8,
    /// Messages received from and sent to this connection (see [`messages`](Outbound::messages)).
    received: AtomicU64,
    sent: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Queued>,
    /// Bytes of the messages in `items` and in the writer's current batch (see `Inbox::take_all`).
    bytes: usize,
    /// The writer is gone: nothing more is queued.
    closed: bool,
}

/// Asks the transport to drop its connection at once (slow consumer, dead peer).
#[derive(Debug, Default)]
pub struct Closer {
    notify: Notify,
    reason: Mutex<Option<String>>,
}

impl Closer {
    /// Asks for the close; true for the first ask (the reason given is the one kept).
    pub fn close(&self, reason: impl Into<String>) -> bool {
        let mut r = self.reason.lock();
        let first = r.is_none();
        if first {
            *r = Some(reason.into());
        }
        drop(r);
        self.notify.notify_one();
        first
    }

    /// Resolves once `close` has been called, with the first reason given.
    pub async fn closed(&self) -> String {
        loop {
            if let Some(reason) = self.reason.lock().clone() {
                return reason;
            }
            self.notify.notified().await;
        }
    }
}

impl Outbound {
    /// A queue of at most `capacity` items (and the default `max_outbound_bytes`) and the
    /// writer's end of it.
    pub fn new(capacity: usize) -> (Arc<Outbound>, Inbox) {
        Outbound::bounded(capacity, DEFAULT_MAX_OUTBOUND_BYTES)
    }

    /// A queue of at most `capacity` items and `max_bytes` bytes, and the writer's end of it.
    pub fn bounded(capacity: usize, max_bytes: usize) -> (Arc<Outbound>, Inbox) {
        let outbound = Arc::new(Outbound {
            state: Mutex::default(),
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
            awaited: AtomicUsize::new(0),
            joined: AtomicBool::new(false),
            writer: AtomicWaker::new(),
            room: Notify::new(),
            closer: Closer::default(),
            counted_as: AtomicU8::new(0),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        });
        let inbox = Inbox {
            outbound: Arc::clone(&outbound),
            batch: VecDeque::new(),
            taken: 0,
            taken_at: 0,
        };
        (outbound, inbox)
    }

    /// Queues what another session sends, without waiting; over a bound, closes the session as
    /// a slow consumer instead.
    pub fn push(&self, item: Outgoing) -> bool {
        self.push_queued(Queued::Item(item))
    }

    /// Queues an EVENT routed at `routed` (a [`traffic::stamp`]), like [`push`](Self::push).
    pub fn push_event(&self, frame: Bytes, routed: u32) -> bool {
        self.push_queued(Queued::Event(frame, routed))
    }

    fn push_queued(&self, item: Queued) -> bool {
        let state = self.state.lock();
        if state.closed {
            drop(state);
            traffic::dropped();
            return false;
        }
        let size = item.size();
        let reason = if state.items.len() >= self.capacity {
            Some(format!("{} messages (max_outbound_queue)", self.capacity))
        } else if !state.items.is_empty() && state.bytes + size > self.max_bytes {
            Some(format!(
                "{} bytes waiting and {size} more (max_outbound_bytes {})",
                state.bytes, self.max_bytes
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            drop(state);
            traffic::dropped();
            if self
                .closer
                .close(format!("slow consumer: outbound queue full, {reason}"))
            {
                traffic::slow_consumer();
            }
            return false;
        }
        self.enqueue(state, item);
        true
    }

    /// Queues a reply to the session's own request, even over the bounds: the session waited
    /// for [`room`](Self::room) before it read the request.
    pub fn push_reply(&self, item: Outgoing) -> bool {
        let state = self.state.lock();
        if state.closed {
            return false;
        }
        self.enqueue(state, Queued::Item(item));
        true
    }

    /// Queues, waiting for room: for replies to the session's own requests.
    pub async fn send(&self, item: Outgoing) -> bool {
        if !self.room().await {
            return false;
        }
        self.push_reply(item)
    }

    /// Waits until the queue, with the calls in flight, is under its bounds; false once the
    /// writer is gone. The session waits here before reading a request.
    pub async fn room(&self) -> bool {
        loop {
            // Registered before looking, so a drain in between is not missed.
            let room = self.room.notified();
            {
                let state = self.state.lock();
                if state.closed {
                    return false;
                }
                if self.room_in(&state) {
                    return true;
                }
            } // the guard goes before waiting
            room.await;
        }
    }

    /// Notes that the session joined a realm (see `joined`).
    pub fn set_joined(&self) {
        self.joined.store(true, Ordering::Relaxed);
    }

    /// Whether the session joined a realm.
    pub fn joined(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }

    /// Whether [`room`](Self::room) would return at once (or the writer is gone).
    pub fn has_room(&self) -> bool {
        let state = self.state.lock();
        state.closed || self.room_in(&state)
    }

    fn room_in(&self, state: &State) -> bool {
        state.items.len() + self.awaited.load(Ordering::Relaxed) < self.capacity
            && state.bytes < self.max_bytes
    }

    /// Appends under the lock; wakes the writer when the queue turns non-empty (otherwise
    /// it was woken already and has not drained yet).
    fn enqueue(&self, mut state: parking_lot::MutexGuard<'_, State>, item: Queued) {
        let was_empty = state.items.is_empty();
        state.bytes += item.size();
        state.items.push_back(item);
        drop(state);
        if was_empty {
            self.writer.wake();
        }
    }

    pub fn closer(&self) -> &Closer {
        &self.closer
    }

    /// Counts this connection's messages in the metrics ([`traffic`]) as `serialization`: set
    /// by the session of a client connection (internal sessions are not counted).
    pub fn count_as(&self, serialization: Serialization) {
        // Index + 1 fits: there are three serializations.
        let tag = serialization.index() as u8 + 1;
        self.counted_as.store(tag, Ordering::Relaxed);
    }

    fn counted_as(&self) -> Option<Serialization> {
        let tag = self.counted_as.load(Ordering::Relaxed);
        Serialization::ALL
            .get(usize::from(tag).checked_sub(1)?)
            .copied()
    }

    /// A message of `len` bytes decoded from this connection (called by its session, the only
    /// one that reads it).
    pub fn received(&self, code: u64, len: usize) {
        if let Some(serialization) = self.counted_as() {
            traffic::received(serialization, code, len);
            // One reader: a load and a store need no locked add.
            let n = self.received.load(Ordering::Relaxed);
            self.received.store(n + 1, Ordering::Relaxed);
        }
    }

    /// Messages received from and sent to this connection so far.
    pub fn messages(&self) -> (u64, u64) {
        (
            self.received.load(Ordering::Relaxed),
            self.sent.load(Ordering::Relaxed),
        )
    }
}

impl Queued {
    /// Bytes this item holds.
    fn size(&self) -> usize {
        match self {
            Queued::Item(Outgoing::Message(b) | Outgoing::Ping(b)) | Queued::Event(b, _) => b.len(),
            Queued::Item(Outgoing::Close { reason, .. }) => reason.len(),
        }
    }
}

/// A call of this session in flight at a callee: its RESULT or ERROR will be queued as a reply,
/// so it counts against the room the session waits for before reading (a caller that pipelines
/// calls is slowed down, not dropped). Held by the dealer's invocation; dropping it (answered,
/// canceled, timed out, callee gone) gives the room back.
///
/// A call a session routes to itself does not count: the YIELD that ends it comes from the
/// same connection, which must not wait for it before reading it.
///
/// Its life is also the call's duration, from routing to its end, observed in the metrics
/// ([`traffic::call_ended`]) when it is dropped.
#[derive(Debug)]
pub struct Awaited {
    caller: Option<Arc<Outbound>>,
    routed: std::time::Instant,
}

impl Awaited {
    /// A call from the session that owns `caller` to the one that owns `callee`.
    pub fn new(caller: &Arc<Outbound>, callee: &Arc<Outbound>) -> Awaited {
        if Arc::ptr_eq(caller, callee) {
            return Awaited {
                caller: None,
                routed: std::time::Instant::now(),
            };
        }
        Awaited::waiting(caller)
    }

    /// A call of the session that owns `caller` waiting for a callee to register (a call
    /// queue): it counts whoever the callee turns out to be.
    pub fn waiting(caller: &Arc<Outbound>) -> Awaited {
        caller.awaited.fetch_add(1, Ordering::Relaxed);
        Awaited {
            caller: Some(Arc::clone(caller)),
            routed: std::time::Instant::now(),
        }
    }
}

impl Drop for Awaited {
    fn drop(&mut self) {
        traffic::call_ended(self.routed.elapsed());
        if let Some(caller) = &self.caller {
            caller.awaited.fetch_sub(1, Ordering::Relaxed);
            caller.room.notify_waiters();
        }
    }
}

/// The writer's end of an [`Outbound`]: takes the whole backlog at once and hands it out item
/// by item. Dropping it closes the queue.
#[derive(Debug)]
pub struct Inbox {
    outbound: Arc<Outbound>,
    /// Taken from the queue, not yet handed out.
    batch: VecDeque<Queued>,
    /// Bytes of the last batch taken, still counted in the queue's `bytes`.
    taken: usize,
    /// When the last batch was taken (a [`traffic::stamp`]): when its events reached the
    /// writer.
    taken_at: u32,
}

/// A batch this large is not kept once handed out: a burst must not pin its memory.
const KEEP_BATCH_CAPACITY: usize = 64;

impl Inbox {
    /// The next item, waiting for one.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        if let Some(item) = self.batch.pop_front() {
            return Some(self.hand_out(item));
        }
        poll_fn(|cx| {
            if self.take_all() {
                return Poll::Ready(());
            }
            self.outbound.writer.register(cx.waker());
            if self.take_all() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let item = self.batch.pop_front()?;
        Some(self.hand_out(item))
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        if self.batch.is_empty() {
            self.take_all();
        }
        let item = self.batch.pop_front()?;
        Some(self.hand_out(item))
    }

    /// An item as the writer gets it, counted as sent (see [`traffic`]).
    fn hand_out(&mut self, item: Queued) -> Outgoing {
        let Some(serialization) = self.outbound.counted_as() else {
            return match item {
                Queued::Item(item) => item,
                Queued::Event(frame, _) => Outgoing::Message(frame),
            };
        };
        let frame = match item {
            Queued::Item(Outgoing::Message(frame)) => frame,
            Queued::Event(frame, routed) => {
                traffic::event_waited(routed, self.taken_at);
                frame
            }
            Queued::Item(other) => return other,
        };
        traffic::sent(serialization, &frame);
        // One writer: a load and a store need no locked add.
        let sent = &self.outbound.sent;
        sent.store(sent.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        Outgoing::Message(frame)
    }

    /// Moves everything queued into `batch` (empty when called); false when nothing was.
    /// The batch's bytes stay counted in the queue's until the next call: the writer holds
    /// them until then.
    fn take_all(&mut self) -> bool {
        if self.batch.capacity() > KEEP_BATCH_CAPACITY {
            self.batch = VecDeque::new();
        }
        let mut state = self.outbound.state.lock();
        let was_full = !self.outbound.room_in(&state);
        // The last batch has been handed out: its bytes are the writer's no more.
        state.bytes -= self.taken;
        self.taken = state.bytes;
        std::mem::swap(&mut state.items, &mut self.batch);
        let freed = was_full && self.outbound.room_in(&state);
        drop(state);
        if !self.batch.is_empty() && self.outbound.counted_as().is_some() {
            self.taken_at = traffic::stamp();
        }
        if freed {
            self.outbound.room.notify_waiters();
        }
        !self.batch.is_empty()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut state = self.outbound.state.lock();
        state.closed = true;
        state.items = VecDeque::new();
        state.bytes = 0;
        drop(state);
        self.outbound.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn message(text: &'static str) -> Outgoing {
        Outgoing::Message(Bytes::from_static(text.as_bytes()))
    }

    fn text(item: Option<Outgoing>) -> Option<Vec<u8>> {
        match item {
            Some(Outgoing::Message(b)) => Some(b.to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn full_queue_closes_as_slow_consumer() {
        let (outbound, mut inbox) = Outbound::new(2);
        assert!(outbound.push(message("1")));
        assert!(outbound.push(message("2")));
        assert!(!outbound.push(message("3")));
        let reason = outbound.closer().closed().await;
        assert!(reason.contains("slow consumer"), "{reason}");
        assert_eq!(text(inbox.recv().await).as_deref(), Some(&b"1"[..]));
        assert_eq!(text(inbox.try_recv()).as_deref(), Some(&b"2"[..]));
        assert!(inbox.try_recv().is_none());
    }

    #[tokio::test]
    async fn the_writer_wakes_for_a_push_and_keeps_order() {
        let (outbound, mut inbox) = Outbound::new(16);
        let writer = tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 10 {
                seen.push(text(inbox.recv().await).unwrap());
            }
            seen
        });
        for i in 0..10u8 {
            tokio::time::sleep(Duration::from_millis(if i % 3 == 0 { 5 } else { 0 })).await;
            let frame = Bytes::from(vec![b'0' + i]);
            assert!(outbound.push(Outgoing::Message(frame)));
        }
        let seen = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer was woken")
            .unwrap();
        let expected: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'0' + i]).collect();
        assert_eq!(seen, expected);
    }

    #[tokio::test]
    async fn send_waits_for_room_and_fails_once_the_writer_is_gone() {
        let (outbound, mut inbox) = Outbound::new(1);
        assert!(outbound.send(message("a")).await);
        let waiting = tokio::spawn({
            let outbound = Arc::clone(&outbound);
            async move { outbound.send(message("b")).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "no room yet");
        assert_eq!(text(inbox.recv().await).as_deref(), Some(&b"a"[..]));
        assert!(waiting.await.unwrap(), "room after the drain");
        assert_eq!(text(inbox.recv().await).as_deref(), Some(&b"b"[..]));
        let blocked = tokio::spawn({
            let outbound = Arc::clone(&outbound);
            async move {
                outbound.send(message("c")).await;
                outbound.send(message("d")).await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(inbox);
        assert!(
            !blocked.await.unwrap(),
            "a gone writer fails the waiting send"
        );
        assert!(!outbound.push(message("e")));
    }

    #[tokio::test]
    async fn too_many_bytes_close_as_slow_consumer_but_one_large_message_goes_in() {
        let (outbound, mut inbox) = Outbound::bounded(100, 10);
        assert!(
            outbound.push(message("larger than ten bytes")),
            "an empty queue takes it"
        );
        assert_eq!(
            text(inbox.recv().await).as_deref(),
            Some(&b"larger than ten bytes"[..])
        );
        assert!(
            inbox.try_recv().is_none(),
            "the batch is handed out: its bytes are freed"
        );
        assert!(outbound.push(message("six b1")));
        assert!(!outbound.push(message("six b2")), "12 bytes > 10");
        let reason = outbound.closer().closed().await;
        assert!(reason.contains("slow consumer"), "{reason}");
        assert!(
            reason.contains("6 bytes waiting and 6 more (max_outbound_bytes 10)"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn replies_go_over_the_bounds_and_room_waits_for_the_writer() {
        let (outbound, mut inbox) = Outbound::bounded(2, 10);
        for reply in ["r1", "r2", "a reply of 19 bytes"] {
            assert!(outbound.push_reply(message(reply)), "a reply never closes");
        }
        assert!(!outbound.has_room());
        let waiting = tokio::spawn({
            let outbound = Arc::clone(&outbound);
            async move { outbound.room().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "no room: 3 messages, 23 bytes");
        assert_eq!(text(inbox.recv().await).as_deref(), Some(&b"r1"[..]));
        // The writer holds the batch: its bytes count until it comes back for more.
        assert!(!outbound.has_room());
        inbox.try_recv();
        inbox.try_recv();
        assert!(inbox.try_recv().is_none());
        assert!(outbound.has_room());
        assert!(
            waiting.await.unwrap(),
            "room once the writer took everything"
        );
    }

    #[tokio::test]
    async fn calls_in_flight_count_against_the_room_except_calls_to_oneself() {
        let (caller, _inbox) = Outbound::bounded(2, 1000);
        let (callee, _callee_inbox) = Outbound::new(2);
        let first = Awaited::new(&caller, &callee);
        assert!(caller.has_room());
        let to_itself = Awaited::new(&caller, &caller);
        assert!(caller.has_room(), "a call to oneself does not count");
        let second = Awaited::new(&caller, &callee);
        assert!(!caller.has_room(), "two calls in flight fill a room of 2");
        let waiting = tokio::spawn({
            let caller = Arc::clone(&caller);
            async move { caller.room().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(second);
        assert!(
            waiting.await.unwrap(),
            "an answered call gives the room back"
        );
        drop((first, to_itself));
    }
}
