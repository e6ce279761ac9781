//! A session's bounded outbound queue: routing pushes encoded frames without waiting, the
//! transport's writer takes everything queued at once.
//!
//! A mutex-guarded `VecDeque` and a waker rather than a channel: one short lock per push, one
//! per drain however many frames wait, the writer woken only when the queue turns non-empty,
//! and nothing allocated while a session is idle. (BENCHMARKS.md measured tokio's bounded
//! channel at ~20% of fan-out CPU and ~1.8 KB per idle session.)
//!
//! A push into a full queue closes the session as a slow consumer instead of growing memory;
//! the session's own replies use [`Outbound::send`], which waits for room instead, so a client
//! that pipelines requests is slowed down rather than disconnected.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use tokio::sync::Notify;

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

/// The queue, shared by everything that sends to one session.
#[derive(Debug)]
pub struct Outbound {
    state: Mutex<State>,
    capacity: usize,
    /// The writer, when it waits for items.
    writer: AtomicWaker,
    /// Senders waiting for room ([`Outbound::send`]).
    room: Notify,
    closer: Closer,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Outgoing>,
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
    pub fn close(&self, reason: impl Into<String>) {
        let mut r = self.reason.lock();
        if r.is_none() {
            *r = Some(reason.into());
        }
        drop(r);
        self.notify.notify_one();
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
    /// A queue of at most `capacity` items and the writer's end of it.
    pub fn new(capacity: usize) -> (Arc<Outbound>, Inbox) {
        let outbound = Arc::new(Outbound {
            state: Mutex::default(),
            capacity: capacity.max(1),
            writer: AtomicWaker::new(),
            room: Notify::new(),
            closer: Closer::default(),
        });
        let inbox = Inbox {
            outbound: Arc::clone(&outbound),
            batch: VecDeque::new(),
        };
        (outbound, inbox)
    }

    /// Queues without waiting; a full queue closes the session as a slow consumer.
    pub fn push(&self, item: Outgoing) -> bool {
        let state = self.state.lock();
        if state.closed {
            return false;
        }
        if state.items.len() >= self.capacity {
            drop(state);
            self.closer.close(format!(
                "slow consumer: outbound queue full ({} messages)",
                self.capacity
            ));
            return false;
        }
        self.enqueue(state, item);
        true
    }

    /// Queues, waiting for room: for replies to the session's own requests.
    pub async fn send(&self, item: Outgoing) -> bool {
        loop {
            // Registered before looking, so a drain in between is not missed.
            let room = self.room.notified();
            {
                let state = self.state.lock();
                if state.closed {
                    return false;
                }
                if state.items.len() < self.capacity {
                    self.enqueue(state, item);
                    return true;
                }
            } // the guard goes before waiting
            room.await;
        }
    }

    /// Appends under the lock; wakes the writer when the queue turns non-empty (otherwise
    /// it was woken already and has not drained yet).
    fn enqueue(&self, mut state: parking_lot::MutexGuard<'_, State>, item: Outgoing) {
        let was_empty = state.items.is_empty();
        state.items.push_back(item);
        drop(state);
        if was_empty {
            self.writer.wake();
        }
    }

    pub fn closer(&self) -> &Closer {
        &self.closer
    }
}

/// The writer's end of an [`Outbound`]: takes the whole backlog at once and hands it out item
/// by item. Dropping it closes the queue.
#[derive(Debug)]
pub struct Inbox {
    outbound: Arc<Outbound>,
    /// Taken from the queue, not yet handed out.
    batch: VecDeque<Outgoing>,
}

/// A batch this large is not kept once handed out: a burst must not pin its memory.
const KEEP_BATCH_CAPACITY: usize = 64;

impl Inbox {
    /// The next item, waiting for one.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        if let Some(item) = self.batch.pop_front() {
            return Some(item);
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
        self.batch.pop_front()
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        if self.batch.is_empty() {
            self.take_all();
        }
        self.batch.pop_front()
    }

    /// Moves everything queued into `batch` (empty when called); false when nothing was.
    fn take_all(&mut self) -> bool {
        if self.batch.capacity() > KEEP_BATCH_CAPACITY {
            self.batch = VecDeque::new();
        }
        let mut state = self.outbound.state.lock();
        if state.items.is_empty() {
            return false;
        }
        let was_full = state.items.len() >= self.outbound.capacity;
        std::mem::swap(&mut state.items, &mut self.batch);
        drop(state);
        if was_full {
            self.outbound.room.notify_waiters();
        }
        true
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut state = self.outbound.state.lock();
        state.closed = true;
        state.items = VecDeque::new();
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
}
