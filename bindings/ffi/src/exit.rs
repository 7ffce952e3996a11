//! Exiting a foreign process safely while the runtime's threads may still be waking its futures.
//!
//! A foreign future (a Python coroutine, a Kotlin continuation) is completed by a tokio thread calling
//! its waker, which runs a little foreign code on that thread. In Python that code schedules the
//! result on the asyncio loop and, while doing so, releases the GIL for a moment (it writes to the
//! loop's wake-up socket). The main thread can then see the result, finish the program and start
//! finalizing the interpreter before the tokio thread has returned; when the tokio thread takes the
//! GIL back, CPython ends it with `pthread_exit`, whose forced unwind meets tokio's `catch_unwind`
//! and aborts the process ("FATAL: exception not rethrown").
//!
//! So every waker handed to the SDK's futures is wrapped ([`Guarded`]) to count the wakes in
//! progress, and [`prepare_for_exit`] (which the generated Python module registers with `atexit`,
//! run before finalization starts) stops further wakes and waits for those in progress, with the
//! GIL released, so no thread calls into a finalizing interpreter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Wakes into foreign code running now.
static WAKES_IN_PROGRESS: AtomicUsize = AtomicUsize::new(0);
/// Set by [`prepare_for_exit`]: the foreign side is going away, wake nothing more.
static EXITING: AtomicBool = AtomicBool::new(false);

/// The longest [`prepare_for_exit`] waits for wakes in progress (each is a few microseconds of
/// foreign code; this bounds a pathological case, not the normal one).
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Prepares the process to exit: later wakes of foreign futures are dropped, and the call returns
/// once no runtime thread is running foreign code. The Python module calls it from `atexit`; other
/// languages may call it before exiting the process. Pending calls then never complete.
#[uniffi::export]
pub fn prepare_for_exit() {
    EXITING.store(true, Ordering::SeqCst);
    let started = Instant::now();
    while WAKES_IN_PROGRESS.load(Ordering::SeqCst) > 0 && started.elapsed() < EXIT_WAIT {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A foreign waker whose wakes are counted and suppressed once the process is exiting.
struct GuardedWaker(Waker);

impl Wake for GuardedWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Count first, then check: `prepare_for_exit` sets the flag first, then reads the count
        // (both SeqCst), so either it sees this wake in progress or this wake sees the flag.
        WAKES_IN_PROGRESS.fetch_add(1, Ordering::SeqCst);
        if !EXITING.load(Ordering::SeqCst) {
            self.0.wake_by_ref();
        }
        WAKES_IN_PROGRESS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Polls `F` with the foreign waker wrapped in a [`GuardedWaker`].
pub(crate) struct Guarded<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Guarded<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(GuardedWaker(cx.waker().clone())));
        self.inner.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(AtomicUsize);

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_pass_through_until_exit_and_are_dropped_after() {
        let counter = Arc::new(Counting(AtomicUsize::new(0)));
        let guarded = Waker::from(Arc::new(GuardedWaker(Waker::from(counter.clone()))));
        guarded.wake_by_ref();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        prepare_for_exit();
        guarded.wake_by_ref();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(WAKES_IN_PROGRESS.load(Ordering::SeqCst), 0);
        EXITING.store(false, Ordering::SeqCst); // other tests in this process still wake
    }
}
