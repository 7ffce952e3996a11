//! The bounded queue behind every [`EventStream`](crate::EventStream).
//!
//! The driver pushes, the stream pulls. When a stream is not read and its queue is full, the oldest
//! event is dropped and counted; the next read returns [`Event::Lagged`] with that count before the
//! newer events (as tokio's broadcast channel reports `Lagged`). Memory stays bounded whatever the
//! application does, and a gap is never silent. Messages missed that way are still on the server:
//! `Conversation::history` fetches them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::event::Event;

/// Events a stream keeps while the application does not read it (see
/// [`RealtimeOptions::event_buffer`](crate::RealtimeOptions::event_buffer)).
pub(crate) const DEFAULT_CAPACITY: usize = 1000;

struct State {
    events: VecDeque<Event>,
    /// Events dropped since the last read.
    missed: u64,
    /// The driver side is gone: no more events will come.
    sender_gone: bool,
    /// The stream was dropped: stop delivering to it.
    receiver_gone: bool,
    waker: Option<Waker>,
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A new queue holding at most `capacity` events (at least one).
pub(crate) fn bounded(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            events: VecDeque::new(),
            missed: 0,
            sender_gone: false,
            receiver_gone: false,
            waker: None,
        }),
        capacity: capacity.max(1),
    });
    (Sender(shared.clone()), Receiver(shared))
}

/// The driver's end.
pub(crate) struct Sender(Arc<Shared>);

impl Sender {
    /// Queues `event`, dropping (and counting) the oldest when full.
    pub(crate) fn send(&self, event: Event) {
        let waker = {
            let mut state = self.0.lock();
            if state.receiver_gone {
                return;
            }
            if state.events.len() >= self.0.capacity {
                state.events.pop_front();
                state.missed += 1;
            }
            state.events.push_back(event);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the stream was dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.lock().receiver_gone
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.0.lock();
            state.sender_gone = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The stream's end.
pub(crate) struct Receiver(Arc<Shared>);

impl Receiver {
    /// The next event: `Lagged` first after a gap; `None` once the driver is gone and all is read.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut state = self.0.lock();
        if let Some(event) = Self::take(&mut state) {
            return Poll::Ready(Some(event));
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The next event if one is waiting.
    pub(crate) fn try_recv(&self) -> Option<Event> {
        Self::take(&mut self.0.lock())
    }

    fn take(state: &mut State) -> Option<Event> {
        if state.missed > 0 {
            let missed = std::mem::take(&mut state.missed);
            return Some(Event::Lagged { missed });
        }
        state.events.pop_front()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiver_gone = true;
        state.events.clear();
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.0.lock();
        f.debug_struct("Receiver")
            .field("queued", &state.events.len())
            .field("missed", &state.missed)
            .field("capacity", &self.0.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    fn reconnecting(attempt: u32) -> Event {
        Event::Reconnecting {
            attempt,
            delay: std::time::Duration::ZERO,
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_says_how_many() {
        let (sender, receiver) = bounded(3);
        for attempt in 0..10 {
            sender.send(reconnecting(attempt));
        }
        let mut got = Vec::new();
        while let Some(event) = receiver.try_recv() {
            got.push(event);
        }
        assert_eq!(
            got,
            [
                Event::Lagged { missed: 7 },
                reconnecting(7),
                reconnecting(8),
                reconnecting(9)
            ]
        );
        sender.send(reconnecting(10));
        assert_eq!(
            receiver.try_recv(),
            Some(reconnecting(10)),
            "no lag without a gap"
        );
    }

    #[tokio::test]
    async fn a_waiting_read_wakes_on_send_and_ends_when_the_sender_goes() {
        let (sender, receiver) = bounded(2);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(event) = poll_fn(|cx| receiver.poll_recv(cx)).await {
                got.push(event);
            }
            got
        });
        tokio::task::yield_now().await;
        sender.send(reconnecting(1));
        drop(sender);
        assert_eq!(reader.await.expect("reader"), [reconnecting(1)]);
    }

    #[test]
    fn a_dropped_stream_is_closed_and_holds_nothing() {
        let (sender, receiver) = bounded(2);
        sender.send(reconnecting(1));
        drop(receiver);
        assert!(sender.is_closed());
        sender.send(reconnecting(2));
        assert_eq!(sender.0.lock().events.len(), 0);
    }
}
