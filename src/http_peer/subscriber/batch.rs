//! Taking the next request's events from the forwarder's queue: one event, or with `batch`
//! up to `max_events`, waiting at most `max_delay` after the first for the batch to fill.

use tokio::sync::mpsc::Receiver;
use tokio::time::Instant;

use crate::config::model::Batching;
use crate::http_peer::subscriber::body::QueuedEvent;

/// The next events to send, in queue order; `None` once the queue is closed and empty.
pub async fn next(
    queue: &mut Receiver<QueuedEvent>,
    batching: Option<Batching>,
) -> Option<Vec<QueuedEvent>> {
    let first = queue.recv().await?;
    let mut events = vec![first];
    let Some(batching) = batching else {
        return Some(events);
    };
    let deadline = Instant::now() + batching.max_delay;
    while events.len() < batching.max_events {
        // What is queued already joins without waiting.
        match queue.try_recv() {
            Ok(event) => {
                events.push(event);
                continue;
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => break,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {}
        }
        match tokio::time::timeout_at(deadline, queue.recv()).await {
            Ok(Some(event)) => events.push(event),
            Ok(None) | Err(_) => break,
        }
    }
    Some(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn event(n: u64) -> QueuedEvent {
        QueuedEvent {
            topic: "t".into(),
            publication: n,
            payload: Default::default(),
            timestamp: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn full_batches_go_at_once_and_a_partial_one_after_max_delay() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        for n in 0..5 {
            tx.try_send(event(n)).unwrap();
        }
        let batching = Some(Batching {
            max_events: 2,
            max_delay: Duration::from_millis(50),
        });
        let ids =
            |events: Vec<QueuedEvent>| events.iter().map(|e| e.publication).collect::<Vec<_>>();
        assert_eq!(ids(next(&mut rx, batching).await.unwrap()), [0, 1]);
        assert_eq!(ids(next(&mut rx, batching).await.unwrap()), [2, 3]);
        let started = Instant::now();
        assert_eq!(ids(next(&mut rx, batching).await.unwrap()), [4]);
        assert_eq!(started.elapsed(), Duration::from_millis(50));
        drop(tx);
        assert!(next(&mut rx, None).await.is_none(), "closed and empty");
    }
}
