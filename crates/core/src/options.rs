//! Engine and client configuration.

use core::time::Duration;

use chinwag_protocol::Subprotocol;

/// How an engine connects and behaves. Build with [`Options::with_servers`] or [`Options::with_router`].
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The LeanCloud app id.
    pub app_id: String,
    /// WebSocket URLs tried in turn (the JS `RTMServers`). When empty, [`router`](Self::router) is used.
    pub servers: Vec<String>,
    /// An HTTP base URL serving `/v1/route` (the JS `server` option); the engine asks the driver to fetch
    /// it with [`Action::FetchRoute`](crate::Action::FetchRoute).
    pub router: Option<String>,
    /// The subprotocol to offer (default `lc.protobuf2.3`).
    pub subprotocol: Subprotocol,
    /// The `ua` sent on sign-in.
    pub user_agent: String,
    /// The `deviceId` sent on first sign-in; generated from the seed when `None`.
    pub device_id: Option<String>,
    /// Per-request timeout (20 s, as the JS SDK's `COMMAND_TIMEOUT`): a request on the wire, or queued
    /// while the client is not signed in, fails with [`RequestError::Timeout`](crate::RequestError)
    /// this long after it was issued. Sends are the exception while queued (the offline queue keeps
    /// them until the next sign-in); once on the wire they time out too.
    pub request_timeout: Duration,
    /// How long a first sign-in ([`Engine::open_client`](crate::Engine::open_client)) may take, from
    /// the call to `session/opened`, through route lookups, connect attempts with their backoff and
    /// `session/open` round trips (30 s). Past it the open request fails with
    /// [`RequestError::Timeout`](crate::RequestError) and the client is removed, so an unreachable
    /// server is reported instead of retried forever (the JS SDK's `createIMClient` rejects too).
    /// Re-logins of a client that was signed in are not limited: they retry until the network returns.
    pub sign_in_timeout: Duration,
    /// Time without any inbound frame after which an `echo` keepalive is sent (180 s), and again
    /// every interval while the server stays silent.
    pub echo_interval: Duration,
    /// Time without any inbound frame after which the connection is considered dead (380 s).
    pub dead_after: Duration,
    /// Cap of the reconnect backoff (30 s).
    pub backoff_cap: Duration,
    /// How long received-message acks are batched (1 s).
    pub ack_delay: Duration,
    /// Maximum requests queued per client while offline; more fail with `QueueFull`.
    pub max_queued: usize,
    /// Received message ids remembered per client for de-duplication.
    pub dedup_capacity: usize,
    /// Messages fetched per history page when filling gaps after a reconnect.
    pub catch_up_page: i32,
    /// Live messages buffered per conversation while its gap is being filled.
    pub catch_up_buffer: usize,
    /// Conversations cached per client; beyond this, pushes for unknown conversations are not cached.
    pub max_conversations: usize,
    /// Earlier last messages each cached conversation keeps, so that
    /// [`Engine::take_back_dropped_message`](crate::Engine::take_back_dropped_message) can bring
    /// back the message before a dropped one: that many dropped in a row are taken back whole.
    /// 0 (the default) keeps none, for front ends that never drop a message once the engine has
    /// applied it (the Rust SDK, the uniffi bindings); the npm package, whose
    /// `beforeMessageDispatch` plugins drop messages, keeps 4.
    pub earlier_last_messages: usize,
}

impl Options {
    fn base(app_id: &str) -> Self {
        Self {
            app_id: app_id.to_owned(),
            servers: Vec::new(),
            router: None,
            subprotocol: Subprotocol::parse("lc.protobuf2.3").unwrap_or(Subprotocol::ALL[0]),
            user_agent: concat!("chinwag/", env!("CARGO_PKG_VERSION")).to_owned(),
            device_id: None,
            request_timeout: Duration::from_secs(20),
            sign_in_timeout: Duration::from_secs(30),
            echo_interval: Duration::from_secs(180),
            dead_after: Duration::from_secs(380),
            backoff_cap: Duration::from_secs(30),
            ack_delay: Duration::from_secs(1),
            max_queued: 1000,
            dedup_capacity: 4096,
            catch_up_page: 100,
            catch_up_buffer: 1000,
            max_conversations: 10_000,
            earlier_last_messages: 0,
        }
    }

    /// Connect straight to these WebSocket URLs.
    pub fn with_servers(app_id: &str, servers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut options = Self::base(app_id);
        options.servers = servers.into_iter().map(Into::into).collect();
        options
    }

    /// Ask `router` (an HTTP base such as `https://example.com`) for the WebSocket URLs.
    pub fn with_router(app_id: &str, router: &str) -> Self {
        let mut options = Self::base(app_id);
        options.router = Some(router.trim_end_matches('/').to_owned());
        options
    }
}

/// A signature (`s`, `t`, `n`) computed by the application's backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// `s`.
    pub signature: String,
    /// `t`.
    pub timestamp: i64,
    /// `n`.
    pub nonce: String,
}

/// Options of [`Engine::open_client`](crate::Engine::open_client).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Single-device login tag: another session with the same id and tag closes this one (4111).
    pub tag: Option<String>,
    /// Login signature.
    pub signature: Option<Signature>,
    /// Sign in as a re-login (`r = true`) with this session token, e.g. restored from disk.
    pub session_token: Option<String>,
}

/// What to create with [`Engine::create_conversation`](crate::Engine::create_conversation).
#[derive(Clone, Debug, PartialEq)]
pub struct CreateConversation {
    /// Members besides the creator (who is always added).
    pub members: Vec<String>,
    /// The `name` attribute.
    pub name: Option<String>,
    /// Custom attributes.
    pub attributes: chinwag_protocol::json::Map,
    /// Reuse an existing conversation with exactly these members (`unique`, default `true`).
    pub unique: bool,
    /// A chat room (`transient`).
    pub transient: bool,
    /// A temporary conversation living this many seconds.
    pub temporary_ttl: Option<i32>,
    /// Conversation signature.
    pub signature: Option<Signature>,
}

impl Default for CreateConversation {
    fn default() -> Self {
        Self {
            members: Vec::new(),
            name: None,
            attributes: chinwag_protocol::json::Map::new(),
            unique: true,
            transient: false,
            temporary_ttl: None,
            signature: None,
        }
    }
}

impl CreateConversation {
    /// A normal (distinct) conversation with `members`.
    pub fn with_members(members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            members: members.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// A chat room.
    pub fn chat_room(name: Option<&str>) -> Self {
        Self {
            name: name.map(str::to_owned),
            unique: false,
            transient: true,
            ..Self::default()
        }
    }

    /// A temporary conversation with `members`, expiring after `ttl` seconds.
    pub fn temporary(members: impl IntoIterator<Item = impl Into<String>>, ttl: i32) -> Self {
        Self {
            temporary_ttl: Some(ttl),
            ..Self::with_members(members)
        }
    }
}

/// A history query (`Conversation#queryMessages`). Results are ascending by timestamp either way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Start timestamp (`t`), ms.
    pub start_time: Option<i64>,
    /// Start message id (`mid`).
    pub start_message_id: Option<String>,
    /// Include the start message (`tIncluded`).
    pub start_closed: bool,
    /// End timestamp (`tt`), ms.
    pub end_time: Option<i64>,
    /// End message id (`tmid`).
    pub end_message_id: Option<String>,
    /// Include the end message (`ttIncluded`).
    pub end_closed: bool,
    /// Page size (`l`; the server defaults to 20).
    pub limit: Option<i32>,
    /// Only messages of this `_lctype`.
    pub kind: Option<i32>,
    /// `Some(true)` oldest-to-newest (NEW), `Some(false)` newest-to-oldest (OLD); default as the JS SDK.
    pub forward: Option<bool>,
}
