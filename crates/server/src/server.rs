//! The network runtime: one port serving the RTM WebSocket endpoint, `GET /v1/route`,
//! `GET /health`, the REST routes the client SDKs call (`/1.1/...`, app key) and the IM REST API
//! 1.2 (`/1.2/rtm/...`, master key; see `rest.rs`), with the [`Hub`] running on a dedicated
//! thread that also executes every REST operation (one writer).
//!
//! ```no_run
//! # async fn demo() -> Result<(), chinwag_server::ServerError> {
//! use chinwag_server::{Server, ServerConfig};
//!
//! // Port 0 picks a free port; no data dir keeps everything in memory.
//! let server = Server::bind(ServerConfig::local("127.0.0.1:0".parse().unwrap())).await?;
//! println!("point RTMServers at {}", server.ws_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod connection;
mod fanout;
pub mod hooks;
mod hub_thread;
mod rest;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use tokio::sync::{mpsc, oneshot};

use crate::hub::{Hub, HubConfig, RateLimit};
use crate::storage::{SqliteStorage, StorageError, SyncMode};
use hub_thread::HubEvent;

/// Settings of a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory of the SQLite database; `None` keeps everything in memory (tests, demos).
    pub data_dir: Option<PathBuf>,
    /// Whether each commit (and so each acknowledgement) waits for the disk: [`SyncMode::Full`]
    /// by default.
    pub sync: SyncMode,
    /// The LeanCloud app id clients use.
    pub app_id: String,
    /// The app key; also signs session tokens.
    pub app_key: String,
    /// Largest WebSocket message accepted, in bytes; bigger ones close the connection with 4109.
    pub max_frame_bytes: usize,
    /// Largest message content accepted by `direct`, in bytes (LeanCloud: 5 KB).
    pub max_message_bytes: usize,
    /// Frames queued per connection before a slow client is disconnected.
    pub outgoing_queue: usize,
    /// How often each connection is sent a WebSocket ping, in seconds (0 = never). The pongs keep
    /// proxies and load balancers from closing idle connections (nginx and many cloud balancers
    /// close them after 60 s, the SDKs' own `echo` comes every 180 s), and a connection that has
    /// sent nothing, not even a pong, for three intervals is closed as dead, so its clients go
    /// offline instead of being pushed to for good.
    pub ws_ping_secs: u32,
    /// Most commands committed in one storage transaction.
    pub max_batch: usize,
    /// Session token lifetime, in seconds.
    pub session_ttl_secs: i32,
    /// The master key: enables the IM REST API 1.2 and `POST /1.1/rtm/sign`, and is the key of
    /// LeanCloud-style signatures.
    pub master_key: Option<String>,
    /// With a master key: sign-ins and membership changes must be signed with it (4102 / 4302
    /// otherwise). Off by default, so a master key can serve the REST API without every client
    /// having to sign. [`Server::bind`] refuses it without a master key.
    pub require_signatures: bool,
    /// How far signature timestamps may be from the server clock, in seconds.
    pub signature_ttl_secs: i64,
    /// App ids accepted besides `app_id`.
    pub other_app_ids: Vec<String>,
    /// Accept any app id (development, tests); sessions stay tied to the app id they use.
    pub allow_any_app_id: bool,
    /// Per-connection limit on `direct` commands; `None` = unlimited (the default of
    /// [`ServerConfig::local`]; the binary enables 100 back to back, then 50 a second).
    pub rate_limit: Option<RateLimit>,
    /// Per-client limit on `direct` (one budget for a client id across its connections); `None` =
    /// unlimited (the default of [`ServerConfig::local`]; the binary enables 200, then 100 a second).
    pub client_rate_limit: Option<RateLimit>,
    /// Most clients signed in on one connection (4113 for one more); `None` = unlimited.
    pub max_clients_per_connection: Option<usize>,
    /// Most members of a normal conversation (4304 past it); `None` = unlimited. Default 500.
    pub max_members: Option<usize>,
    /// Largest `logs` page; larger `limit`s are capped. Default 1000.
    pub max_logs_limit: u32,
    /// Per-app limit on IM REST API 1.2 calls; `None` = unlimited (the default of
    /// [`ServerConfig::local`]; the binary enables LeanCloud's 1800 a minute). Calls over it get
    /// `429 {"code": 429, "error": "Too many requests."}`.
    pub rest_rate_limit: Option<RateLimit>,
    /// How long a client whose connection dropped stays in its chat rooms, in seconds (0 = leave
    /// at once). Default 60.
    pub chat_room_grace_secs: u32,
    /// The WebSocket URL `GET /v1/route` hands out (e.g. `wss://chat.example.com/`), for a server
    /// behind a proxy that rewrites the host; `None` builds it from the request: its `Host`, and
    /// `wss://` when a TLS proxy says it forwarded https (`X-Forwarded-Proto`, `Forwarded`).
    pub public_ws_url: Option<String>,
    /// The app's LeanEngine, whose IM hooks (`_messageReceived`, `_conversationStart`, ...) are
    /// called as LeanCloud called them; needs the master key. `None`: no hooks.
    pub engine: Option<hooks::EngineConfig>,
}

/// Default of [`ServerConfig::ws_ping_secs`].
pub const DEFAULT_WS_PING_SECS: u32 = 30;

impl ServerConfig {
    /// Defaults for local use on `listen`: in-memory storage, app id `chinwag-local`.
    pub fn local(listen: SocketAddr) -> Self {
        Self {
            listen,
            data_dir: None,
            sync: SyncMode::Full,
            app_id: "chinwag-local".into(),
            app_key: "chinwag-local-key".into(),
            max_frame_bytes: 64 * 1024,
            max_message_bytes: 5 * 1024,
            outgoing_queue: 1024,
            ws_ping_secs: DEFAULT_WS_PING_SECS,
            max_batch: 256,
            session_ttl_secs: 2 * 24 * 3600,
            master_key: None,
            require_signatures: false,
            signature_ttl_secs: crate::hub::DEFAULT_SIGNATURE_TTL_SECS,
            other_app_ids: Vec::new(),
            allow_any_app_id: false,
            rate_limit: None,
            client_rate_limit: None,
            max_clients_per_connection: None,
            max_members: Some(crate::hub::DEFAULT_MAX_MEMBERS),
            max_logs_limit: crate::hub::DEFAULT_MAX_LOGS_LIMIT,
            rest_rate_limit: None,
            chat_room_grace_secs: u32::try_from(crate::hub::DEFAULT_CHAT_ROOM_GRACE_MS / 1000).unwrap_or(60),
            public_ws_url: None,
            engine: None,
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The storage could not be opened.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Signatures are required but there is no master key to check them with.
    #[error("signatures are required but no master key is set")]
    SignaturesWithoutMasterKey,
    /// An engine is set for hooks but there is no master key to call it with.
    #[error("the engine's hooks are called with the master key, and none is set")]
    HooksWithoutMasterKey,
    /// The engine's HTTP client could not be set up.
    #[error("engine: {0}")]
    Engine(#[from] hooks::EngineError),
    /// The hub thread, or the blocking task that loads the storage for it, could not run.
    #[error("cannot start the hub thread: {0}")]
    Thread(std::io::Error),
}

/// Shared by every HTTP handler.
#[derive(Clone)]
struct AppState {
    hub: mpsc::Sender<HubEvent>,
    next_conn: Arc<AtomicU64>,
    local_addr: SocketAddr,
    config: Arc<ServerConfig>,
    /// Held by every connection task; [`RunningServer::shutdown`] waits until all are dropped.
    #[expect(dead_code, reason = "only held: its drop tells shutdown a connection ended")]
    live: mpsc::Sender<()>,
    rest_limiter: Arc<rest::RestLimiter>,
}

/// Starts servers.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Opens the storage, starts the hub thread and listens; returns once the port is bound.
    pub async fn bind(config: ServerConfig) -> Result<RunningServer, ServerError> {
        let mut hub_config = HubConfig::new(config.app_id.clone(), config.app_key.as_bytes());
        hub_config.max_message_bytes = config.max_message_bytes;
        hub_config.session_ttl_secs = config.session_ttl_secs;
        hub_config.id_seed = random_seed();
        if config.require_signatures && config.master_key.is_none() {
            return Err(ServerError::SignaturesWithoutMasterKey);
        }
        hub_config.signature_key = config.master_key.as_ref().map(|key| key.as_bytes().to_vec());
        hub_config.require_signatures = config.require_signatures;
        hub_config.signature_ttl_secs = config.signature_ttl_secs;
        hub_config.other_app_ids = config.other_app_ids.clone();
        hub_config.allow_any_app_id = config.allow_any_app_id;
        hub_config.rate_limit = config.rate_limit;
        hub_config.client_rate_limit = config.client_rate_limit;
        hub_config.max_clients_per_connection = config.max_clients_per_connection;
        hub_config.max_members = config.max_members;
        hub_config.max_logs_limit = config.max_logs_limit;
        hub_config.chat_room_grace_ms = i64::from(config.chat_room_grace_secs) * 1000;
        if let Some(engine) = &config.engine {
            // Well past the call's own timeout: only a call lost on the way gets here.
            let timeout = i64::try_from(engine.timeout.as_millis()).unwrap_or(i64::MAX);
            hub_config.hook_deadline_ms = timeout.saturating_add(10_000);
            hub_config.refuse_without_hook = engine.refuse_on_failure;
        }
        // Opening SQLite and loading every conversation is blocking I/O (seconds for a million
        // conversations): done on a blocking thread, not on an async worker.
        let data_dir = config.data_dir.clone();
        let sync = config.sync;
        let hub = tokio::task::spawn_blocking(move || {
            let storage = match &data_dir {
                Some(dir) => SqliteStorage::open_with(dir, sync)?,
                None => SqliteStorage::in_memory()?,
            };
            Hub::new(hub_config, storage)
        })
        .await
        .map_err(|error| ServerError::Thread(std::io::Error::other(error)))??;
        let mut hub = hub;
        let engine = match &config.engine {
            None => None,
            Some(engine) => {
                let master_key = config
                    .master_key
                    .as_deref()
                    .ok_or(ServerError::HooksWithoutMasterKey)?;
                let client = hooks::EngineClient::new(engine, &config.app_id, master_key)?;
                // Known before the first client comes, so no message slips past a hook.
                let (defined, known) = match client.defined_hooks().await {
                    Ok(defined) => (defined, true),
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the engine's hooks; trying again every few seconds");
                        (crate::hub::HookSet::default(), false)
                    }
                };
                tracing::info!(engine = %engine.url, ?defined, "calling the engine's IM hooks");
                hub.set_hooks(defined);
                Some((client, defined, known))
            }
        };
        let (hub_tx, hub_thread) =
            hub_thread::spawn(hub, config.max_batch.max(1), engine).map_err(ServerError::Thread)?;

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let (live, live_rx) = mpsc::channel(1);
        let state = AppState {
            live,
            hub: hub_tx.clone(),
            next_conn: Arc::new(AtomicU64::new(1)),
            local_addr,
            rest_limiter: Arc::new(rest::RestLimiter::new(config.rest_rate_limit)),
            config: Arc::new(config),
        };
        let app = Router::new()
            .route("/", get(connection::upgrade))
            .route("/v1/route", get(route))
            .route("/health", get(health))
            .route("/1.1/rtm/notifications", get(notifications))
            .route("/1.1/classes/_ConversationMemberInfo", get(member_infos))
            .route("/1.1/rtm/sign", post(sign))
            .route(
                "/1.2/rtm/service-conversations",
                post(rest::create_service).get(rest::query_conversations),
            )
            .route("/1.2/rtm/all-conversations", get(rest::query_conversations))
            .route(
                "/1.2/rtm/service-conversations/{id}/subscribers",
                post(rest::subscribe).get(rest::subscribers),
            )
            .route(
                "/1.2/rtm/clients/{client_id}/service-conversations",
                get(rest::subscriptions),
            )
            .route("/1.2/rtm/stats", get(rest::stats))
            .route(
                "/1.2/rtm/clients/{client_id}/blacklists",
                post(rest::client_block)
                    .delete(rest::client_unblock)
                    .get(rest::client_blocked),
            )
            .route(
                "/1.2/rtm/conversations/{id}/temporary-silenceds",
                post(rest::silence_for).delete(rest::end_silence),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}/temporary-silenceds",
                post(rest::silence_for).delete(rest::end_silence),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/subscribers/count",
                get(rest::subscriber_count),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/subscribers/{client_id}",
                axum::routing::delete(rest::unsubscribe),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/subscribers/{client_id}/messages",
                get(rest::subscriber_history),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/subscribers/{client_id}/messages/{mid}",
                axum::routing::delete(rest::delete_subscriber_message),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/messages",
                post(rest::send_message),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/broadcasts",
                post(rest::broadcast),
            )
            .route("/1.2/rtm/clients/check-online", post(rest::check_online))
            .route(
                "/1.2/rtm/conversations/{id}/mutes",
                post(rest::mute).delete(rest::unmute).get(rest::muted),
            )
            .route(
                "/1.2/rtm/conversations/{id}",
                axum::routing::put(rest::update).delete(rest::delete_conversation),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}",
                axum::routing::put(rest::update).delete(rest::delete_conversation),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}",
                axum::routing::put(rest::update).delete(rest::delete_conversation),
            )
            .route(
                "/1.2/rtm/chatrooms",
                post(rest::create_room).get(rest::query_conversations),
            )
            .route("/1.2/rtm/chatrooms/{id}/members", get(rest::room_members))
            .route(
                "/1.2/rtm/chatrooms/{id}/members/online-count",
                get(rest::room_online_count),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}/messages",
                post(rest::send_message).get(rest::history),
            )
            .route("/1.2/rtm/clients/{client_id}/kick", post(rest::kick))
            .route(
                "/1.2/rtm/clients/{client_id}/unread-count",
                get(rest::unread_count),
            )
            .route(
                "/1.2/rtm/conversations",
                post(rest::create_conversation).get(rest::query_conversations),
            )
            .route(
                "/1.2/rtm/conversations/{id}/members",
                post(rest::add_members)
                    .delete(rest::remove_members)
                    .get(rest::list_members),
            )
            .route(
                "/1.2/rtm/conversations/{id}/messages",
                post(rest::send_message).get(rest::history),
            )
            .route(
                "/1.2/rtm/conversations/{id}/messages/{mid}",
                axum::routing::put(rest::edit_message).delete(rest::delete_message),
            )
            .route(
                "/1.2/rtm/conversations/{id}/messages/{mid}/recall",
                axum::routing::put(rest::recall_message),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}/messages/{mid}",
                axum::routing::put(rest::edit_message).delete(rest::delete_message),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}/messages/{mid}/recall",
                axum::routing::put(rest::recall_message),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/messages/{mid}",
                axum::routing::put(rest::edit_message),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/messages/{mid}/recall",
                axum::routing::put(rest::recall_message),
            )
            .route("/1.2/rtm/messages", get(rest::app_history))
            .route("/1.2/rtm/clients/{client_id}/messages", get(rest::client_history))
            .route(
                "/1.2/rtm/broadcasts",
                post(rest::global_broadcast).get(rest::broadcasts),
            )
            .route(
                "/1.2/rtm/broadcasts/{mid}",
                axum::routing::delete(rest::delete_broadcast),
            )
            .route(
                "/1.2/rtm/conversations/{id}/blacklists",
                post(rest::block).delete(rest::unblock).get(rest::blocked),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}/blacklists",
                post(rest::block).delete(rest::unblock).get(rest::blocked),
            )
            .route(
                "/1.2/rtm/service-conversations/{id}/blacklists",
                post(rest::block).delete(rest::unblock).get(rest::blocked),
            )
            .route(
                "/1.2/rtm/conversations/{id}/permanent-silenceds",
                post(rest::block).delete(rest::unblock).get(rest::blocked),
            )
            .route(
                "/1.2/rtm/chatrooms/{id}/permanent-silenceds",
                post(rest::block).delete(rest::unblock).get(rest::blocked),
            )
            .route(
                "/1.2/rtm/conversations/{id}/member-infos",
                post(rest::add_member_info).get(rest::member_infos),
            )
            .route(
                "/1.2/rtm/conversations/{id}/member-infos/{info_id}",
                axum::routing::put(rest::update_member_info).delete(rest::delete_member_info),
            )
            .with_state(state);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let serve = tokio::spawn(async move {
            let listener = listener.tap_io(disable_nagle);
            // The peer address is the hooks' `sourceIP` when no proxy names the client's.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "HTTP server failed");
            }
        });
        tracing::info!(%local_addr, "chinwag-server listening (ws://{local_addr}/)");
        Ok(RunningServer {
            local_addr,
            stop: Some(stop_tx),
            serve,
            hub: hub_tx,
            hub_thread: Some(hub_thread),
            live: live_rx,
        })
    }
}

/// Turns Nagle's algorithm off on an accepted connection. Frames are small and often written back
/// to back (an ack, then a push): with it on, the second waits for the peer's delayed ACK (≈ 40 ms
/// on Linux), which was the p99 of the end-to-end bench.
fn disable_nagle(tcp: &mut tokio::net::TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "TCP_NODELAY not set on an accepted connection");
    }
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    serve: tokio::task::JoinHandle<()>,
    hub: mpsc::Sender<HubEvent>,
    hub_thread: Option<std::thread::JoinHandle<()>>,
    live: mpsc::Receiver<()>,
}

impl RunningServer {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The WebSocket URL to give clients (`RTMServers`), e.g. `ws://127.0.0.1:4321/`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// The HTTP base URL (the v5 JS SDK's `server` option), e.g. `http://127.0.0.1:4321`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops the server: commits what the hub has queued, sends `goaway` on every WebSocket and
    /// closes it (code 1001, not fatal, so clients reconnect later; clients that hang up
    /// themselves first are not waited for), and waits for the hub thread, the listener and the
    /// connections to finish.
    pub async fn shutdown(mut self) {
        // Stop the hub first: it drains queued commands, then dropping the connection queues makes
        // every writer close its socket, which lets the graceful HTTP shutdown complete.
        let _ = self.hub.send(HubEvent::Shutdown).await;
        if let Some(thread) = self.hub_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.serve).await;
        // Every connection task holds a `live` sender; `recv` ends once all are gone.
        let connections_done = tokio::time::timeout(
            connection::CLOSE_GRACE + std::time::Duration::from_secs(2),
            self.live.recv(),
        );
        if connections_done.await.is_err() {
            tracing::warn!("some connections did not close in time");
        }
        tracing::info!(local_addr = %self.local_addr, "chinwag-server stopped");
    }
}

impl Drop for RunningServer {
    /// A server dropped without [`RunningServer::shutdown`] still stops: the listener and the hub
    /// are told to finish (without waiting for them).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = self.hub.try_send(HubEvent::Shutdown);
            let _ = stop.send(());
        }
    }
}

/// The server's own WebSocket URL as seen by the client: `--public-ws-url`, or built from its
/// `Host` header and how it reached the proxy in front, if any.
fn own_ws_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_ws_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| state.local_addr.to_string(), str::to_owned);
    let scheme = if came_over_tls(headers) { "wss" } else { "ws" };
    format!("{scheme}://{host}/")
}

/// Whether a TLS proxy in front says the request reached it over https: `X-Forwarded-Proto:
/// https` (the usual header) or `proto=https` in `Forwarded` (RFC 7239). Only a proxy sets them,
/// and a client that forged one would only be handed a `wss://` URL.
fn came_over_tls(headers: &HeaderMap) -> bool {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .map(str::trim)
    };
    let forwarded_proto = first("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let forwarded = first("forwarded").is_some_and(|element| {
        element.split(';').any(|pair| {
            pair.trim().split_once('=').is_some_and(|(key, value)| {
                key.eq_ignore_ascii_case("proto") && value.trim_matches('"').eq_ignore_ascii_case("https")
            })
        })
    });
    forwarded_proto || forwarded
}

/// `GET /v1/route`: where the RTM endpoint is (PROTOCOL.md §2.3): `--public-ws-url` when set,
/// else this server's own address as the request named it (`Host`), `wss://` when a TLS proxy
/// forwarded it, so that SDKs given `server: 'https://…'` connect through the proxy too.
async fn route(State(state): State<AppState>, headers: HeaderMap) -> axum::Json<serde_json::Value> {
    let url = own_ws_url(&state, &headers);
    axum::Json(serde_json::json!({"server": url, "secondary": url, "ttl": 3600}))
}

/// Query of `GET /1.1/rtm/notifications`.
#[derive(Debug, serde::Deserialize)]
struct NotificationsQuery {
    client_id: String,
    #[serde(default)]
    start_ts: i64,
}

/// `GET /1.1/rtm/notifications`: conversation events a client missed while offline (the v5 JS
/// SDK fetches them after re-login), authenticated by `X-LC-IM-Session-Token`.
async fn notifications(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<NotificationsQuery>,
    headers: HeaderMap,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    let Some(caller) = auth::authenticate(&state.config, &headers, false) else {
        return auth::unauthorized();
    };
    let (reply, answer) = oneshot::channel();
    let event = HubEvent::Notifications {
        app_id: Some(caller.app_id),
        token: session_token(&headers),
        client_id: query.client_id,
        since: query.start_ts,
        reply,
    };
    if state.hub.send(event).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match answer.await {
        Ok(Ok((notifications, has_more))) => {
            axum::Json(serde_json::json!({"hasMore": has_more, "notifications": notifications}))
                .into_response()
        }
        Ok(Err(crate::hub::NotificationsError::Token(error))) => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"code": 4112, "error": error.to_string()})),
        )
            .into_response(),
        Ok(Err(error)) => {
            tracing::error!(%error, "reading notifications failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Query of `GET /1.1/classes/_ConversationMemberInfo`.
#[derive(Debug, serde::Deserialize)]
struct MemberInfoQuery {
    client_id: String,
    /// `{"cid": "..."}`.
    #[serde(rename = "where")]
    where_json: String,
}

/// `GET /1.1/classes/_ConversationMemberInfo`: member roles (`getAllMemberInfo` in the JS SDK),
/// authenticated by `X-LC-IM-Session-Token`.
async fn member_infos(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<MemberInfoQuery>,
    headers: HeaderMap,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    let cid = serde_json::from_str::<serde_json::Value>(&query.where_json)
        .ok()
        .and_then(|w| w.get("cid").and_then(|c| c.as_str()).map(str::to_owned));
    let Some(caller) = auth::authenticate(&state.config, &headers, false) else {
        return auth::unauthorized();
    };
    let Some(cid) = cid else {
        return (StatusCode::BAD_REQUEST, "where must be {\"cid\": \"...\"}\n").into_response();
    };
    let (reply, answer) = oneshot::channel();
    let event = HubEvent::MemberInfos {
        app_id: Some(caller.app_id),
        token: session_token(&headers),
        client_id: query.client_id,
        cid,
        reply,
    };
    if state.hub.send(event).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match answer.await {
        Ok(Ok(results)) => axum::Json(serde_json::json!({"results": results})).into_response(),
        Ok(Err(crate::hub::NotificationsError::Token(error))) => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"code": 4112, "error": error.to_string()})),
        )
            .into_response(),
        Ok(Err(error)) => {
            tracing::error!(%error, "reading member roles failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The `X-LC-IM-Session-Token` header, or empty.
fn session_token(headers: &HeaderMap) -> String {
    headers
        .get("X-LC-IM-Session-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Body of `POST /1.1/rtm/sign`.
#[derive(Debug, serde::Deserialize)]
struct SignBody {
    session_token: String,
}

/// `POST /1.1/rtm/sign` (PROTOCOL.md §3.12): `{session_token}` → `{signature, timestamp, nonce}`
/// (and `client_id`), a login signature for the client the session token was issued to. This
/// server has no user accounts, so the token is an RTM session token (`st`).
async fn sign(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    let Some(caller) = auth::authenticate(&state.config, &headers, false) else {
        return auth::unauthorized();
    };
    let Ok(body) = serde_json::from_slice::<SignBody>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                serde_json::json!({"code": 107, "error": "body must be {\"session_token\": \"...\"}"}),
            ),
        )
            .into_response();
    };
    let (reply, answer) = oneshot::channel();
    let event = HubEvent::Sign {
        app_id: caller.app_id,
        token: body.session_token,
        reply,
    };
    if state.hub.send(event).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match answer.await {
        Ok(Ok(signature)) => axum::Json(signature).into_response(),
        Ok(Err(crate::hub::NotificationsError::Token(error))) => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"code": 4112, "error": error.to_string()})),
        )
            .into_response(),
        Ok(Err(error)) => {
            tracing::error!(%error, "signing failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// `GET /health`.
async fn health(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "status": if state.hub.is_closed() { "stopping" } else { "ok" },
        "appId": state.config.app_id,
    }))
}

/// A per-process seed so ids from different runs never collide.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(crate::time::now_ms());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_small_frames_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let _client = tokio::net::TcpStream::connect(address).await.expect("connect");
        let (mut accepted, _) = listener.accept().await.expect("accept");
        assert!(!accepted.nodelay().expect("option"), "Nagle is on by default");
        disable_nagle(&mut accepted);
        assert!(accepted.nodelay().expect("option"));
    }
}
