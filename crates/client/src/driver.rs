//! The driver: one tokio task owns the WebSocket and the [`Engine`]; handles talk to it over a channel.
//!
//! It follows the core's contract literally: after every input (a command, a frame, a connect or
//! route outcome, the timer) it drains `poll_transmit` → `poll_action` → `poll_event`, then re-arms its
//! single timer from `poll_timeout`. It has no behaviour of its own beyond carrying out actions,
//! routing responses to the waiting handle and events to the streams, and mirroring the engine's
//! conversation cache for synchronous getters.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chinwag_core::{Action, Engine, Frame, Instant, RequestError, RequestId, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::event::{Event, from_core};
use crate::options::{Endpoint, RealtimeOptions};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An engine command issued by a handle: runs inside the driver with the current time.
pub(crate) type Call = Box<dyn FnOnce(&mut Engine, Instant) -> RequestId + Send>;
/// Where the outcome of a [`Call`] goes.
pub(crate) type Reply = oneshot::Sender<Result<Response, RequestError>>;

/// What handles send to the driver.
pub(crate) enum Command {
    /// Run an engine command and answer `reply` with its outcome. `scope` is the (client,
    /// conversation) whose cached copy to refresh when it completes.
    Call {
        scope: Option<(String, String)>,
        run: Call,
        reply: Reply,
    },
    /// Deliver the events of `client` (only those of `conversation`, when set; only the connection's
    /// own events without a client) to `events`. With
    /// `claimed`, the subscription buffers at most [`UNCLAIMED_LIMIT`] events until the flag is set,
    /// then is dropped (the stream taken at sign-in that the application may never ask for).
    Subscribe {
        client: Option<String>,
        conversation: Option<String>,
        events: crate::queue::Sender,
        claimed: Option<Arc<AtomicBool>>,
    },
    /// The network went away or came back.
    SetOnline(bool),
    /// Read something from the engine (a getter, given the driver's now) inside the driver.
    Inspect(Getter),
}

/// A read of the engine run inside the driver (see [`Command::Inspect`]).
pub(crate) type Getter = Box<dyn FnOnce(&Engine, Instant) + Send>;

/// The engine's conversation cache as of the last drain, by (client, conversation id).
pub(crate) type Cache = RwLock<HashMap<(String, String), chinwag_core::Conversation>>;

pub(crate) fn read_cache(cache: &Cache, client: &str, cid: &str) -> Option<chinwag_core::Conversation> {
    cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&(client.to_owned(), cid.to_owned()))
        .cloned()
}

/// Events kept for a client's first stream before the application asks for it.
pub(crate) const UNCLAIMED_LIMIT: usize = 4096;

struct Subscriber {
    /// `None`: the connection's own events only.
    client: Option<String>,
    conversation: Option<String>,
    events: crate::queue::Sender,
    /// Set while nobody has claimed the stream: the flag and how many more events it may buffer.
    unclaimed: Option<(Arc<AtomicBool>, usize)>,
}

/// What woke the driver up.
enum Input {
    Command(Option<Command>),
    Ws(Option<Result<WsMessage, tungstenite::Error>>),
    Connected(Result<Ws, ()>),
    Route(Option<Vec<String>>),
    Timer,
}

struct Driver {
    engine: Engine,
    origin: tokio::time::Instant,
    commands: mpsc::UnboundedReceiver<Command>,
    ws: Option<Ws>,
    connecting: Option<BoxFuture<Result<Ws, ()>>>,
    route: Option<BoxFuture<Option<Vec<String>>>>,
    pending: HashMap<RequestId, (Option<(String, String)>, Reply)>,
    subscribers: Vec<Subscriber>,
    cache: Arc<Cache>,
    connect_timeout: Duration,
}

/// Starts the driver task on `runtime`.
pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    options: RealtimeOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    cache: Arc<Cache>,
) {
    runtime.spawn(async move {
        let core = resolve_endpoint(&options).await;
        let origin = tokio::time::Instant::now();
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let seed = random_seed();
        let driver = Driver {
            engine: Engine::new(core, seed, Instant::from_millis(0), wall_ms),
            origin,
            commands,
            ws: None,
            connecting: None,
            route: None,
            pending: HashMap::new(),
            subscribers: Vec::new(),
            cache,
            connect_timeout: options.connect_timeout,
        };
        driver.run().await;
    });
}

/// The engine options with the WebSocket URLs or the route URL filled in. For LeanCloud apps this asks
/// LeanCloud's app router for the app's RTM router first (PROTOCOL.md §2.3).
async fn resolve_endpoint(options: &RealtimeOptions) -> chinwag_core::Options {
    let mut core = options.core.clone();
    match &options.endpoint {
        Endpoint::Servers(urls) => core.servers = urls.clone(),
        Endpoint::Router(base) => {
            core.servers = Vec::new();
            core.router = Some(base.clone());
        }
        Endpoint::LeanCloud => {
            let url = format!("https://app-router.com/2/route?appId={}", options.app_id);
            let fetched = tokio::time::timeout(options.connect_timeout, crate::http::get_json(&url)).await;
            let router = match fetched {
                Ok(Ok(json)) => json
                    .get("rtm_router_server")
                    .and_then(|v| v.as_str())
                    .map(|host| format!("https://{host}")),
                _ => None,
            };
            let router = router.unwrap_or_else(|| {
                let prefix: String = options.app_id.chars().take(8).collect::<String>().to_lowercase();
                format!("https://{prefix}.rtm.lncldglobal.com")
            });
            core.servers = Vec::new();
            core.router = Some(router);
        }
    }
    core
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// Resolves `slot`'s future, or never when there is none.
async fn poll_slot<T>(slot: &mut Option<BoxFuture<T>>) -> T {
    match slot {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn next_ws(ws: &mut Option<Ws>) -> Option<Result<WsMessage, tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

impl Driver {
    fn now(&self) -> Instant {
        let elapsed = self.origin.elapsed().as_millis();
        Instant::from_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    async fn run(mut self) {
        loop {
            self.drain().await;
            let deadline = self
                .engine
                .poll_timeout()
                .map(|at| self.origin + Duration::from_millis(at.as_millis()));
            let input = tokio::select! {
                command = self.commands.recv() => Input::Command(command),
                message = next_ws(&mut self.ws) => Input::Ws(message),
                result = poll_slot(&mut self.connecting) => Input::Connected(result),
                route = poll_slot(&mut self.route) => Input::Route(route),
                () = sleep_until(deadline), if deadline.is_some() => Input::Timer,
            };
            let now = self.now();
            match input {
                Input::Command(None) => break,
                Input::Command(Some(command)) => self.handle_command(command, now),
                Input::Ws(message) => self.handle_ws(message, now),
                Input::Connected(result) => {
                    self.connecting = None;
                    match result {
                        Ok(ws) => {
                            self.ws = Some(ws);
                            self.engine.handle_connected(now);
                        }
                        Err(()) => self.engine.handle_disconnected(None, now),
                    }
                }
                Input::Route(route) => {
                    self.route = None;
                    match route {
                        Some(urls) => self.engine.handle_route(urls, now),
                        None => self.engine.handle_route_failed(now),
                    }
                }
                Input::Timer => self.engine.handle_timeout(now),
            }
        }
        // Every handle is gone: sign every client out (best effort: the `session/close` frames are
        // written, their replies not awaited), then close the socket. This runs in the driver task,
        // never in a `Drop`; when the runtime itself is shutting down it may not get this far, so
        // apps that need a clean sign-out call `close().await`.
        let now = self.now();
        let clients: Vec<String> = self.engine.clients().map(str::to_owned).collect();
        for client in clients {
            self.engine.close_client(&client, now);
        }
        self.drain().await;
        if let Some(ws) = self.ws.take() {
            close_in_background(ws);
        }
    }

    fn handle_command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Call { scope, run, reply } => {
                let request = run(&mut self.engine, now);
                self.pending.insert(request, (scope, reply));
            }
            Command::Subscribe {
                client,
                conversation,
                events,
                claimed,
            } => self.subscribers.push(Subscriber {
                client,
                conversation,
                events,
                unclaimed: claimed.map(|flag| (flag, UNCLAIMED_LIMIT)),
            }),
            Command::SetOnline(online) => self.engine.set_online(online, now),
            Command::Inspect(read) => read(&self.engine, now),
        }
    }

    fn handle_ws(&mut self, message: Option<Result<WsMessage, tungstenite::Error>>, now: Instant) {
        let result = match message {
            Some(Ok(WsMessage::Binary(bytes))) => self.engine.handle_bytes(&bytes, now),
            Some(Ok(WsMessage::Text(text))) => self
                .engine
                .handle_frame(&Frame::Text(text.as_str().to_owned()), now),
            Some(Ok(WsMessage::Close(frame))) => {
                self.ws = None;
                let code = frame.map(|f| u16::from(f.code));
                self.engine.handle_disconnected(code, now);
                Ok(())
            }
            Some(Ok(_)) => Ok(()), // ping/pong (answered by tungstenite), raw frames
            Some(Err(error)) => {
                tracing::debug!(%error, "WebSocket read failed");
                self.ws = None;
                self.engine.handle_disconnected(None, now);
                Ok(())
            }
            None => {
                self.ws = None;
                self.engine.handle_disconnected(None, now);
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, "ignoring a frame that is not a command");
        }
    }

    /// Drains the engine's outputs in the contract's order until all are empty.
    async fn drain(&mut self) {
        loop {
            let mut progressed = false;
            let mut wrote = false;
            while let Some(frame) = self.engine.poll_transmit() {
                progressed = true;
                let Some(ws) = &mut self.ws else { continue };
                let message = match frame {
                    Frame::Binary(bytes) => WsMessage::Binary(bytes.into()),
                    Frame::Text(text) => WsMessage::Text(text.into()),
                };
                if let Err(error) = ws.feed(message).await {
                    tracing::debug!(%error, "WebSocket write failed");
                    self.ws = None;
                    let now = self.now();
                    self.engine.handle_disconnected(None, now);
                }
                wrote = true;
            }
            if wrote {
                if let Some(ws) = &mut self.ws {
                    if let Err(error) = ws.flush().await {
                        tracing::debug!(%error, "WebSocket flush failed");
                        self.ws = None;
                        let now = self.now();
                        self.engine.handle_disconnected(None, now);
                    }
                }
            }
            while let Some(action) = self.engine.poll_action() {
                progressed = true;
                self.act(action);
            }
            while let Some(event) = self.engine.poll_event() {
                progressed = true;
                self.deliver(event);
            }
            if !progressed {
                break;
            }
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Connect { url, protocol, .. } => {
                if let Some(old) = self.ws.take() {
                    close_in_background(old);
                }
                let timeout = self.connect_timeout;
                self.connecting = Some(Box::pin(async move {
                    match tokio::time::timeout(timeout, connect(&url, &protocol)).await {
                        Ok(Ok(ws)) => Ok(ws),
                        Ok(Err(error)) => {
                            tracing::debug!(%url, %error, "WebSocket connect failed");
                            Err(())
                        }
                        Err(_) => {
                            tracing::debug!(%url, "WebSocket connect timed out");
                            Err(())
                        }
                    }
                }));
            }
            Action::FetchRoute { url } => {
                let timeout = self.connect_timeout;
                self.route = Some(Box::pin(async move {
                    let json = match tokio::time::timeout(timeout, crate::http::get_json(&url)).await {
                        Ok(Ok(json)) => json,
                        Ok(Err(error)) => {
                            tracing::debug!(%url, %error, "route fetch failed");
                            return None;
                        }
                        Err(_) => return None,
                    };
                    let urls: Vec<String> = ["server", "secondary"]
                        .iter()
                        .filter_map(|key| json.get(*key).and_then(|v| v.as_str()).map(str::to_owned))
                        .collect();
                    (!urls.is_empty()).then_some(urls)
                }));
            }
            Action::Close => {
                self.connecting = None;
                if let Some(ws) = self.ws.take() {
                    close_in_background(ws);
                }
            }
        }
    }

    fn deliver(&mut self, event: chinwag_core::Event) {
        if let chinwag_core::Event::Response {
            client,
            request,
            result,
        } = event
        {
            let Some((scope, reply)) = self.pending.remove(&request) else {
                return;
            };
            if let Some((client, cid)) = &scope {
                self.refresh(client, cid);
            }
            match &result {
                Ok(Response::Created(conv)) => self.refresh_with(&client, conv),
                Ok(Response::Conversations(convs)) => {
                    for conv in convs {
                        self.refresh_with(&client, conv);
                    }
                }
                Ok(Response::Sent(message)) => self.refresh(&client, &message.conversation),
                _ => {}
            }
            let _ = reply.send(result);
            return;
        }
        let Some((client, event)) = from_core(event) else {
            return;
        };
        if let (Some(client), Some(cid)) = (&client, event.conversation()) {
            self.refresh(client, cid);
        }
        if let (Some(client), Event::UnreadCountUpdated { conversations }) = (&client, &event) {
            for (cid, ..) in conversations {
                self.refresh(client, cid);
            }
        }
        self.subscribers.retain_mut(|s| {
            if let Some((flag, budget)) = &mut s.unclaimed {
                if flag.load(Ordering::Acquire) {
                    s.unclaimed = None;
                } else if *budget == 0 {
                    return false;
                } else {
                    *budget -= 1;
                }
            }
            !s.events.is_closed()
        });
        for subscriber in &self.subscribers {
            if client.is_some() && client != subscriber.client {
                continue;
            }
            let delivered = match &subscriber.conversation {
                None => Some(event.clone()),
                Some(cid) => event.for_conversation(cid),
            };
            if let Some(delivered) = delivered {
                subscriber.events.send(delivered);
            }
        }
    }

    /// Copies the engine's cached conversation into the shared cache.
    fn refresh(&self, client: &str, cid: &str) {
        if let Some(conv) = self.engine.conversation(client, cid) {
            self.cache
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((client.to_owned(), cid.to_owned()), conv.clone());
        }
    }

    /// Like [`refresh`](Self::refresh), falling back to `conv` when the engine does not cache it.
    fn refresh_with(&self, client: &str, conv: &chinwag_core::Conversation) {
        let latest = self.engine.conversation(client, &conv.id).unwrap_or(conv);
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((client.to_owned(), conv.id.clone()), latest.clone());
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Opens a WebSocket to `url` offering `protocol` (rustls for `wss://`).
async fn connect(url: &str, protocol: &str) -> Result<Ws, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    let protocol = HeaderValue::from_str(protocol).map_err(tungstenite::http::Error::from)?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", protocol);
    let connector = if url.starts_with("wss:") {
        let config =
            crate::http::tls_config().map_err(|e| tungstenite::error::TlsError::Rustls(Box::new(e)))?;
        Some(Connector::Rustls(config))
    } else {
        None
    };
    let (ws, _response) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector).await?;
    Ok(ws)
}

/// Closes a socket without holding up the driver (a dead peer would make `close` wait).
fn close_in_background(mut ws: Ws) {
    tokio::spawn(async move {
        let frame = tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(Some(frame))).await;
    });
}
