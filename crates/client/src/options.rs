//! How a [`Realtime`](crate::Realtime) finds the server and behaves.

use std::time::Duration;

/// Where the WebSocket URLs come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// LeanCloud's app router (`app-router.com`), then the app's RTM router, over TLS: for real
    /// LeanCloud apps.
    LeanCloud,
    /// An HTTP base such as `http://127.0.0.1:8282` serving `GET /v1/route?appId=..` (the JS `server`
    /// option; a chinwag-server serves it).
    Router(String),
    /// WebSocket URLs tried in turn (the JS `RTMServers` option); no HTTP at all.
    Servers(Vec<String>),
}

/// Options of [`Realtime::new`](crate::Realtime::new), built fluently.
///
/// ```
/// use chinwag::RealtimeOptions;
///
/// let local = RealtimeOptions::new("my-app", "my-key").server("http://127.0.0.1:8282");
/// let direct = RealtimeOptions::new("my-app", "my-key").rtm_servers(["ws://127.0.0.1:8282/"]);
/// let leancloud = RealtimeOptions::new("x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz", "PcDNOjiEpYc0DTz2E9kb5fvu");
/// # let _ = (local, direct, leancloud);
/// ```
#[derive(Clone, Debug)]
pub struct RealtimeOptions {
    pub(crate) app_id: String,
    pub(crate) app_key: String,
    pub(crate) endpoint: Endpoint,
    pub(crate) core: chinwag_core::Options,
    pub(crate) connect_timeout: Duration,
    pub(crate) event_buffer: usize,
}

impl RealtimeOptions {
    /// Options for the app `app_id` with key `app_key`, found through LeanCloud's app router unless
    /// [`server`](Self::server) or [`rtm_servers`](Self::rtm_servers) say otherwise.
    pub fn new(app_id: impl Into<String>, app_key: impl Into<String>) -> Self {
        let app_id = app_id.into();
        Self {
            core: chinwag_core::Options::with_servers(&app_id, Vec::<String>::new()),
            app_id,
            app_key: app_key.into(),
            endpoint: Endpoint::LeanCloud,
            connect_timeout: Duration::from_secs(20),
            event_buffer: crate::queue::DEFAULT_CAPACITY,
        }
    }

    /// Resolve the WebSocket URL with `GET {base}/v1/route?appId=..` (e.g. `http://127.0.0.1:8282`).
    pub fn server(mut self, base: impl Into<String>) -> Self {
        self.endpoint = Endpoint::Router(base.into().trim_end_matches('/').to_owned());
        self
    }

    /// Connect straight to these WebSocket URLs (`ws://` or `wss://`), tried in turn.
    pub fn rtm_servers(mut self, urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.endpoint = Endpoint::Servers(urls.into_iter().map(Into::into).collect());
        self
    }

    /// How long one request may wait for its reply (default 20 s, the JS SDK's command timeout);
    /// then it fails with [`Error::Timeout`](crate::Error::Timeout). Sends are kept while offline and
    /// sent after the next sign-in; their timeout starts when they go on the wire.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.core.request_timeout = timeout;
        self
    }

    /// How long [`create_im_client`](crate::Realtime::create_im_client) may take before it fails
    /// with [`Error::Timeout`](crate::Error::Timeout) (default 30 s), counting route lookups, connect
    /// attempts with their backoff and the sign-in round trip. A server that cannot be reached is
    /// reported instead of retried forever; nothing keeps retrying for the failed client. Once a
    /// client is signed in, reconnects after a drop are not limited.
    pub fn sign_in_timeout(mut self, timeout: Duration) -> Self {
        self.core.sign_in_timeout = timeout;
        self
    }

    /// How many unread events each [`EventStream`](crate::EventStream) keeps (default 1,000); when a
    /// stream is not read in time the oldest are dropped and reported by
    /// [`Event::Lagged`](crate::Event::Lagged).
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events.max(1);
        self
    }

    /// How long opening a WebSocket or fetching the route may take (default 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Adjusts the engine's other settings (backoff cap, keepalive, queue sizes, user agent, ...).
    pub fn tune(mut self, adjust: impl FnOnce(&mut chinwag_core::Options)) -> Self {
        adjust(&mut self.core);
        self
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The app key (used by LeanCloud's REST API, not by the real-time protocol).
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// Where the WebSocket URLs come from.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
