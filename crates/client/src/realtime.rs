//! [`Realtime`]: the connection to the server, the driver task, and the sign-in of clients.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use chinwag_core::{ClientOptions, Engine, Instant, RequestId, Response};
use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};

use crate::client::Client;
use crate::driver::{self, Cache, Command};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::options::RealtimeOptions;

pub(crate) struct Inner {
    commands: mpsc::UnboundedSender<Command>,
    pub(crate) cache: Arc<Cache>,
    options: RealtimeOptions,
    clients: Mutex<Vec<String>>,
}

/// One connection to a LeanCloud RTM server (LeanCloud itself or a chinwag-server), shared by every
/// client signed in through it. Cheap to clone; `Send + Sync`. The connection lives while any handle
/// (this, a [`Client`], a [`Conversation`](crate::Conversation)) does.
///
/// ```no_run
/// # async fn demo() -> chinwag::Result<()> {
/// use chinwag::{Realtime, RealtimeOptions};
///
/// let realtime = Realtime::new(RealtimeOptions::new("my-app", "my-key").server("http://127.0.0.1:8282"));
/// let tom = realtime.create_im_client("Tom").await?;
/// # let _ = tom; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Realtime {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("app_id", &self.inner.options.app_id())
            .field("endpoint", self.inner.options.endpoint())
            .finish_non_exhaustive()
    }
}

impl Realtime {
    /// Starts the driver task on the current tokio runtime. Nothing connects until the first client
    /// signs in.
    ///
    /// # Panics
    /// When called outside a tokio runtime (use [`with_runtime`](Self::with_runtime) there).
    pub fn new(options: RealtimeOptions) -> Self {
        Self::with_runtime(options, &tokio::runtime::Handle::current())
    }

    /// Starts the driver task on `runtime`, e.g. one owned by a foreign-language binding. The handles
    /// can then be used from any thread or runtime.
    pub fn with_runtime(options: RealtimeOptions, runtime: &tokio::runtime::Handle) -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        let cache = Arc::new(Cache::default());
        driver::spawn(runtime, options.clone(), receiver, cache.clone());
        Self {
            inner: Arc::new(Inner {
                commands,
                cache,
                options,
                clients: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The options it was created with.
    pub fn options(&self) -> &RealtimeOptions {
        &self.inner.options
    }

    /// Signs in as `id` (the JS `createIMClient`), connecting first if needed. Fails with
    /// [`Error::Timeout`] when the server cannot be reached (or does not answer) within the sign-in
    /// timeout, 30 s by default ([`RealtimeOptions::sign_in_timeout`]).
    pub async fn create_im_client(&self, id: impl Into<String>) -> Result<Client> {
        self.create_im_client_with(id, ClientOptions::default()).await
    }

    /// Signs in as `id` with a `tag` (single-device login), a signature or a saved session token.
    pub async fn create_im_client_with(
        &self,
        id: impl Into<String>,
        options: ClientOptions,
    ) -> Result<Client> {
        let id: String = id.into();
        let client = Client::new(self.clone(), &id);
        // Subscribe before signing in, so the client's stream sees everything from the first frame.
        let events = self.subscribe(Some(&id), None, Some(Arc::new(AtomicBool::new(false))));
        let open_id = id.clone();
        match self
            .call(None, move |engine, now| {
                engine.open_client(&open_id, options, now)
            })
            .await?
        {
            Response::Opened => {}
            other => return Err(unexpected(&other)),
        }
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id);
        client.adopt_events(events);
        Ok(client)
    }

    /// Tells the engine the network went away (`false`: stop retrying) or came back (`true`:
    /// reconnect now), e.g. from an OS reachability callback.
    pub fn set_online(&self, online: bool) {
        let _ = self.inner.commands.send(Command::SetOnline(online));
    }

    /// Signs every client out; the connection closes with the last one.
    pub async fn close(&self) -> Result<()> {
        let ids: Vec<String> =
            std::mem::take(&mut *self.inner.clients.lock().unwrap_or_else(PoisonError::into_inner));
        let mut outcome = Ok(());
        for id in ids {
            let result = Client::new(self.clone(), &id).close().await;
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }

    pub(crate) fn forget_client(&self, id: &str) {
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|c| c != id);
    }

    /// Runs an engine command in the driver and waits for its outcome.
    pub(crate) async fn call(
        &self,
        scope: Option<(String, String)>,
        run: impl FnOnce(&mut Engine, Instant) -> RequestId + Send + 'static,
    ) -> Result<Response> {
        let (reply, outcome) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Call {
                scope,
                run: Box::new(run),
                reply,
            })
            .map_err(|_| Error::ConnectionClosed)?;
        outcome
            .await
            .map_err(|_| Error::ConnectionClosed)?
            .map_err(Error::from)
    }

    /// Reads engine state (a getter) inside the driver.
    pub(crate) async fn inspect<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Engine, Instant) -> T + Send + 'static,
    ) -> Result<T> {
        let (reply, outcome) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Inspect(Box::new(move |engine, now| {
                let _ = reply.send(read(engine, now));
            })))
            .map_err(|_| Error::ConnectionClosed)?;
        outcome.await.map_err(|_| Error::ConnectionClosed)
    }

    /// The connection's own events (`Connected`, `Disconnected`, `Reconnecting`, `Offline`, `Online`,
    /// `ConnectionFailed`), also while no client is signed in. Drop the stream to unsubscribe.
    pub fn events(&self) -> EventStream {
        self.subscribe(None, None, None)
    }

    pub(crate) fn subscribe(
        &self,
        client: Option<&str>,
        conversation: Option<&str>,
        claimed: Option<Arc<AtomicBool>>,
    ) -> EventStream {
        let (events, receiver) = crate::queue::bounded(self.inner.options.event_buffer);
        let _ = self.inner.commands.send(Command::Subscribe {
            client: client.map(str::to_owned),
            conversation: conversation.map(str::to_owned),
            events,
            claimed: claimed.clone(),
        });
        EventStream {
            receiver,
            claimed,
            _connection: self.clone(),
        }
    }
}

pub(crate) fn unexpected(response: &Response) -> Error {
    Error::UnexpectedResponse(format!("{response:?}"))
}

/// A stream of [`Event`]s of one client, one conversation or the connection. Like the other handles it
/// keeps the connection up; dropping it unsubscribes.
///
/// Each stream keeps at most [`RealtimeOptions::event_buffer`] unread events (1,000 by default).
/// When an application stops reading, the oldest are dropped and the next read returns
/// [`Event::Lagged`] with how many, then the newest events: memory stays bounded and a gap is never
/// silent (missed messages are still on the server: fetch them with
/// [`Conversation::history`](crate::Conversation::history)).
#[derive(Debug)]
pub struct EventStream {
    receiver: crate::queue::Receiver,
    /// For the stream taken at sign-in: set when the application claims it.
    claimed: Option<Arc<AtomicBool>>,
    /// Listening keeps the connection up, like holding any other handle.
    _connection: Realtime,
}

impl EventStream {
    /// Marks a stream taken at sign-in as the application's: it stops being capped.
    pub(crate) fn claim(self) -> Self {
        if let Some(flag) = &self.claimed {
            flag.store(true, Ordering::Release);
        }
        self
    }

    /// The next event (`None` once the connection task has ended).
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.receiver.poll_recv(cx)).await
    }

    /// The next event if one is already waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.receiver.try_recv()
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.receiver.poll_recv(cx)
    }
}
