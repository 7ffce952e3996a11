//! The engine: one connection, any number of clients, driven by inputs and polled for outputs.

use std::collections::VecDeque;

use crate::sorted_map::SortedMap;
use crate::sorted_set::SortedSet;

use chinwag_protocol::{
    CommandType, DecodeError, Frame, GenericCommand, OpType, ReadTuple, SessionCommand, is_fatal_close_code,
};

use crate::backoff::jittered_delay;
use crate::conversation::Conversation;
use crate::dedup::SeenIds;
use crate::event::{DisconnectReason, Event, RequestError, Response};
use crate::options::{ClientOptions, Options};
use crate::requests::{Kind, Outgoing, RequestId, dedup_key};
use crate::rng::Rng;
use crate::time::Instant;

/// `configBitmap` sent on sign-in: patch-msg, temp-conv-msg, transient-msg-ack, keep-notification,
/// partial-failed-msg, omit-peer-id (as the JS SDK v5; we still always send `peerId`).
const CONFIG_BITMAP: i64 = 0b1011_1011;

/// What the driver must do for the engine (besides sending frames).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a WebSocket to `url` offering `protocol`; report with `handle_connected` or
    /// `handle_disconnected`.
    Connect {
        /// The WebSocket URL.
        url: String,
        /// The subprotocol to offer (and that the server must echo).
        protocol: String,
        /// 0-based reconnect attempt.
        attempt: u32,
    },
    /// GET this `/v1/route` URL and report the `server`/`secondary` URLs with `handle_route`, or
    /// `handle_route_failed`.
    FetchRoute {
        /// The full URL, query string included.
        url: String,
    },
    /// Close the WebSocket. Do not report `handle_disconnected` for it: the engine already knows.
    Close,
}

/// Why a frame was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame is not a `GenericCommand`.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// The connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conn {
    /// No clients, no connection.
    Idle,
    FetchingRoute {
        attempt: u32,
    },
    Connecting {
        attempt: u32,
    },
    Connected,
    Waiting {
        attempt: u32,
        at: Instant,
    },
    Offline,
    Failed,
}

/// The sign-in state of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Waiting for a connection or for `session/opened`.
    Opening,
    Open,
}

/// A gap being filled for one conversation after a reconnect.
#[derive(Clone, Debug, Default)]
pub(crate) struct CatchUp {
    /// Live messages that arrived meanwhile, delivered after the history.
    pub(crate) buffer: Vec<crate::Message>,
    /// The buffer overflowed: fill again from the newest delivered message afterwards.
    pub(crate) overflowed: bool,
}

/// One signed-in (or signing-in) client.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) options: ClientOptions,
    pub(crate) status: Status,
    /// Signed in at least once: later sign-ins are re-logins (`r = true`).
    pub(crate) ever_opened: bool,
    /// The application's `open_client` request, answered by the first `session/opened`.
    pub(crate) open_requests: Vec<RequestId>,
    /// When the first sign-in gives up ([`Options::sign_in_timeout`]); `None` once signed in.
    pub(crate) sign_in_deadline: Option<Instant>,
    pub(crate) token: Option<(String, Instant)>,
    pub(crate) last_unread_notif_time: Option<i64>,
    pub(crate) last_patch_time: i64,
    /// The newest server time seen for this client (serverTs, message timestamps), ms.
    pub(crate) clock_hint: i64,
    pub(crate) outbox: VecDeque<Outgoing>,
    pub(crate) conversations: SortedMap<String, Conversation>,
    pub(crate) catch_up: SortedMap<String, CatchUp>,
    pub(crate) seen: SeenIds,
    /// Received-message acks waiting to be flushed: cid → (fromts, tots).
    pub(crate) acks: SortedMap<String, (i64, i64)>,
    /// Acks sent on this connection that no later reply has proven processed yet: cid → (fromts,
    /// tots, the first serial sent after them). Like `read`, an ack has no serial and no answer; one
    /// lost with the connection would leave the sender without its delivery receipt and the server
    /// counting the messages undelivered, so these are sent again after the next sign-in.
    pub(crate) acks_unconfirmed: SortedMap<String, (i64, i64, i32)>,
    /// `read` tuples waiting for a connection (the `read` requests were answered when recorded).
    pub(crate) reads: SortedMap<String, ReadTuple>,
    /// Conversations whose queued `read` went out on this sign-in, after the server's `unread` count.
    pub(crate) reads_in_transit: SortedSet<String>,
    /// `read`s sent on this connection that no later reply has proven processed yet: cid → (tuple,
    /// the first serial sent after it). `read` carries no serial and gets no answer, so one on the
    /// wire when the connection drops may be lost; these are sent again after the next sign-in
    /// (a read position only moves forward, so a repeat is harmless).
    pub(crate) reads_unconfirmed: SortedMap<String, (ReadTuple, i32)>,
    /// Conversations cached by id only (first seen in a push) whose `conv/query` has not answered
    /// yet; fetched again after a re-login if the fetch was lost.
    pub(crate) unfetched: SortedSet<String>,
    /// Of those, the ones whose fetch is still to be sent.
    pub(crate) fetch_queue: Vec<String>,
    /// Push events waiting for a fetch in `unfetched` (see the `hold` module), in wire order.
    pub(crate) held: VecDeque<Event>,
    /// Sent messages that asked for receipts: id → cid (bounded with the de-dup capacity).
    pub(crate) waiting_receipt: SortedMap<String, String>,
    pub(crate) waiting_receipt_order: VecDeque<String>,
}

/// The message of `out` if it is the send that `request` waits for.
fn sent_message(out: &Outgoing, request: RequestId) -> Option<&crate::Message> {
    match &out.kind {
        Kind::Send { message, .. } if out.ids.contains(&request) => Some(message),
        _ => None,
    }
}

/// The sans-I/O client engine. See the [crate docs](crate) for the driving contract.
///
/// Methods come in four kinds, as in quinn-proto:
/// - getters: [`conversation`](Self::conversation), [`conversations`](Self::conversations),
///   [`clients`](Self::clients), [`is_connected`](Self::is_connected);
/// - inputs from the network and the clock: `handle_*`, [`set_online`](Self::set_online);
/// - commands from the application (`open_client`, `send`, ...), each returning a [`RequestId`];
/// - outputs: [`poll_transmit`](Self::poll_transmit), [`poll_action`](Self::poll_action),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct Engine {
    pub(crate) options: Options,
    pub(crate) rng: Rng,
    pub(crate) conn: Conn,
    servers: Vec<String>,
    server_index: usize,
    pub(crate) clients: SortedMap<String, Client>,
    /// Client ids in opening order: a push without `peerId` goes to the first.
    pub(crate) client_order: Vec<String>,
    pub(crate) in_flight: SortedMap<i32, Outgoing>,
    pub(crate) next_serial: i32,
    next_request: u64,
    transmits: VecDeque<Frame>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) actions: VecDeque<Action>,
    last_inbound: Instant,
    next_echo: Instant,
    pub(crate) ack_flush_at: Option<Instant>,
    wall_offset: i64,
    pub(crate) device_id: String,
    online: bool,
}

impl Engine {
    /// A new engine. `seed` drives client message ids and jitter; `now` is the driver's monotonic time
    /// and `wall_ms` the wall clock (Unix ms) at that instant, used for `lastPatchTime` and read
    /// timestamps (the engine derives later wall times from `now`).
    pub fn new(options: Options, seed: u64, now: Instant, wall_ms: i64) -> Self {
        let mut rng = Rng::new(seed);
        let device_id = options.device_id.clone().unwrap_or_else(|| rng.uuid_v4());
        let servers = options.servers.clone();
        Self {
            options,
            rng,
            conn: Conn::Idle,
            servers,
            server_index: 0,
            clients: SortedMap::new(),
            client_order: Vec::new(),
            in_flight: SortedMap::new(),
            next_serial: 1,
            next_request: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            actions: VecDeque::new(),
            last_inbound: now,
            next_echo: now,
            ack_flush_at: None,
            wall_offset: wall_ms - i64::try_from(now.as_millis()).unwrap_or(i64::MAX),
            device_id,
            online: true,
        }
    }

    // ---- getters ----

    /// The cached conversation `cid` of `client`.
    pub fn conversation(&self, client: &str, cid: &str) -> Option<&Conversation> {
        self.clients.get(client)?.conversations.get(cid)
    }

    /// All cached conversations of `client`, by id.
    pub fn conversations(&self, client: &str) -> impl Iterator<Item = &Conversation> {
        self.clients
            .get(client)
            .into_iter()
            .flat_map(|c| c.conversations.values())
    }

    /// The clients hosted on this engine, signed in or signing in.
    pub fn clients(&self) -> impl Iterator<Item = &str> {
        self.client_order.iter().map(String::as_str)
    }

    /// Whether the client is signed in on a live connection.
    pub fn is_open(&self, client: &str) -> bool {
        self.conn == Conn::Connected && self.clients.get(client).is_some_and(|c| c.status == Status::Open)
    }

    /// Whether the WebSocket is up.
    pub fn is_connected(&self) -> bool {
        self.conn == Conn::Connected
    }

    /// The session token of `client`, if the server issued one (to persist for a later re-login).
    pub fn session_token(&self, client: &str) -> Option<&str> {
        self.clients
            .get(client)?
            .token
            .as_ref()
            .map(|(token, _)| token.as_str())
    }

    /// Whether `client` lacks a session token valid at `now`: none was issued, or its `stTtl` ran
    /// out. REST calls that need the token refresh it first
    /// ([`refresh_session_token`](Self::refresh_session_token)), as the JS SDK's session manager.
    pub fn session_token_expired(&self, client: &str, now: Instant) -> bool {
        self.clients
            .get(client)
            .and_then(|c| c.token.as_ref())
            .is_none_or(|(_, expiry)| *expiry <= now)
    }

    /// The message a pending [`send`](Self::send) carries (status `Sending`, `client_id` = its `dt`),
    /// while it is queued or waiting for the server's ack.
    pub fn outgoing_message(&self, request: RequestId) -> Option<&crate::Message> {
        for client in self.clients.values() {
            for out in &client.outbox {
                if let Some(message) = sent_message(out, request) {
                    return Some(message);
                }
            }
        }
        for out in self.in_flight.values() {
            if let Some(message) = sent_message(out, request) {
                return Some(message);
            }
        }
        None
    }

    /// Requests queued or in flight, and items buffered: for tests of bounded growth.
    #[doc(hidden)]
    pub fn debug_sizes(&self) -> (usize, usize, usize) {
        let queued: usize = self.clients.values().map(|c| c.outbox.len()).sum();
        let buffered: usize = self
            .clients
            .values()
            .map(|c| {
                c.catch_up.values().map(|u| u.buffer.len()).sum::<usize>()
                    + c.seen.len()
                    + c.acks.len()
                    + c.acks_unconfirmed.len()
                    + c.reads.len()
                    + c.waiting_receipt.len()
            })
            .sum();
        (queued, self.in_flight.len(), buffered)
    }

    // ---- outputs ----

    /// The next frame to send on the WebSocket.
    pub fn poll_transmit(&mut self) -> Option<Frame> {
        self.transmits.pop_front()
    }

    /// The next thing the driver must do (connect, fetch the route, close).
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None` when no timer is armed.
    /// Re-read it after every input or command: it moves.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.poll_timeout_with_reason().map(|(at, _)| at)
    }

    /// Like [`poll_timeout`](Self::poll_timeout), with what the deadline is for (`"reconnect"`,
    /// `"dead-connection"`, `"keepalive"`, `"ack-flush"`, `"request-timeout"`, `"sign-in-timeout"`),
    /// for driver logs.
    pub fn poll_timeout_with_reason(&self) -> Option<(Instant, &'static str)> {
        let mut next: Option<(Instant, &'static str)> = None;
        let mut consider = |at: Instant, reason: &'static str| {
            if next.is_none_or(|(n, _)| at < n) {
                next = Some((at, reason));
            }
        };
        match self.conn {
            Conn::Waiting { at, .. } => consider(at, "reconnect"),
            Conn::Connected => {
                consider(self.last_inbound + self.options.dead_after, "dead-connection");
                if !self.clients.is_empty() {
                    consider(self.next_echo, "keepalive");
                }
                if let Some(at) = self.ack_flush_at {
                    consider(at, "ack-flush");
                }
            }
            _ => {}
        }
        for client in self.clients.values() {
            if let Some(at) = client.sign_in_deadline {
                consider(at, "sign-in-timeout");
            }
        }
        for out in self.in_flight.values() {
            if let Some(at) = out.deadline {
                consider(at, "request-timeout");
            }
        }
        for client in self.clients.values() {
            for out in &client.outbox {
                if let Some(at) = out.deadline {
                    consider(at, "request-timeout");
                }
            }
        }
        next
    }

    // ---- inputs ----

    /// The wall clock (Unix ms) at `now`.
    pub(crate) fn wall_ms(&self, now: Instant) -> i64 {
        self.wall_offset + i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }

    /// The driver's wall clock was corrected (e.g. NTP); later wall times derive from this.
    pub fn set_wall_clock(&mut self, wall_ms: i64, now: Instant) {
        self.wall_offset = wall_ms - i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
    }

    /// The WebSocket asked for by [`Action::Connect`] is open.
    pub fn handle_connected(&mut self, now: Instant) {
        if !matches!(self.conn, Conn::Connecting { .. }) {
            return;
        }
        self.conn = Conn::Connected;
        self.last_inbound = now;
        self.next_echo = now + self.options.echo_interval;
        self.events.push_back(Event::Connected);
        let ids: Vec<String> = self.client_order.clone();
        for id in ids {
            self.send_open(&id, now);
        }
    }

    /// The WebSocket closed or could not be opened; `close_code` is the WebSocket close code if any.
    /// Close codes 4100, 4103 and 4110 are fatal: no more retries.
    pub fn handle_disconnected(&mut self, close_code: Option<u16>, now: Instant) {
        let attempt = match self.conn {
            Conn::Connected => 0,
            Conn::Connecting { attempt } => attempt + 1,
            _ => return,
        };
        let was_connected = self.conn == Conn::Connected;
        self.connection_lost(now);
        if was_connected {
            self.events.push_back(Event::Disconnected {
                reason: DisconnectReason::Closed(close_code),
            });
        }
        if let Some(code) = close_code.filter(|code| is_fatal_close_code(*code)) {
            self.fail_everything(now);
            self.conn = Conn::Failed;
            self.events.push_back(Event::ConnectionFailed { code });
            return;
        }
        // Try the next URL on failure, as the JS `tryAll` does.
        if !was_connected {
            self.server_index = self.server_index.wrapping_add(1);
        }
        self.schedule_retry(attempt, now);
    }

    /// The `/v1/route` response: WebSocket URLs (`server`, then `secondary`).
    pub fn handle_route(&mut self, mut servers: Vec<String>, now: Instant) {
        let Conn::FetchingRoute { attempt } = self.conn else {
            return;
        };
        servers.retain(|s| !s.is_empty());
        if servers.is_empty() {
            self.handle_route_failed(now);
            return;
        }
        self.servers = servers;
        self.server_index = 0;
        self.connect_to_server(attempt);
    }

    /// The `/v1/route` request failed; retried with the reconnect backoff.
    pub fn handle_route_failed(&mut self, now: Instant) {
        let Conn::FetchingRoute { attempt } = self.conn else {
            return;
        };
        self.schedule_retry(attempt + 1, now);
    }

    /// The network went away (`false`) or came back (`true`). Offline: the connection is closed and
    /// nothing is retried; back online: reconnect immediately.
    pub fn set_online(&mut self, online: bool, now: Instant) {
        if self.online == online {
            return;
        }
        self.online = online;
        if !online {
            if matches!(self.conn, Conn::Idle | Conn::Failed) {
                return;
            }
            if matches!(self.conn, Conn::Connected | Conn::Connecting { .. }) {
                self.actions.push_back(Action::Close);
            }
            if self.conn == Conn::Connected {
                self.connection_lost(now);
                self.events.push_back(Event::Disconnected {
                    reason: DisconnectReason::Offline,
                });
            }
            self.conn = Conn::Offline;
            self.events.push_back(Event::Offline);
        } else {
            self.events.push_back(Event::Online);
            if self.conn == Conn::Offline || matches!(self.conn, Conn::Waiting { .. }) {
                self.conn = Conn::Idle;
                if self.clients.is_empty() {
                    return;
                }
                self.events.push_back(Event::Reconnecting {
                    attempt: 0,
                    delay: core::time::Duration::ZERO,
                });
                self.start_connect(0);
            }
        }
    }

    /// Fires the timers that are due. Harmless when called early.
    pub fn handle_timeout(&mut self, now: Instant) {
        let first_new_event = self.events.len();
        match self.conn {
            Conn::Waiting { attempt, at } if at <= now => self.start_connect(attempt),
            Conn::Connected if now >= self.last_inbound + self.options.dead_after => {
                self.actions.push_back(Action::Close);
                self.drop_connection(DisconnectReason::Dead, now);
            }
            Conn::Connected => {
                if !self.clients.is_empty() && now >= self.next_echo {
                    let echo = GenericCommand::new(CommandType::Echo);
                    let first = self.client_order.first().cloned().unwrap_or_default();
                    self.send_internal(first, echo, Kind::Echo, now);
                    self.next_echo = now + self.options.echo_interval;
                }
                if self.ack_flush_at.is_some_and(|at| at <= now) {
                    self.flush_acks(now);
                }
            }
            _ => {}
        }
        self.expire_requests(now);
        // Gap filling that ended on a timeout may have delivered messages of unknown conversations;
        // a fetch that timed out releases the events waiting for it.
        self.hold_for_fetches(first_new_event);
        self.release_fetched();
        self.send_fetches(now);
    }

    /// A frame from the WebSocket.
    pub fn handle_frame(&mut self, frame: &Frame, now: Instant) -> Result<(), FrameError> {
        let command = frame.decode()?;
        self.handle_command(command, now);
        Ok(())
    }

    /// A binary WebSocket message (`lc.protobuf2.*`).
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Instant) -> Result<(), FrameError> {
        let command = chinwag_protocol::frame::decode_binary(bytes)?;
        self.handle_command(command, now);
        Ok(())
    }

    /// A decoded command from the server (what `handle_frame` does after decoding).
    pub fn handle_command(&mut self, mut command: GenericCommand, now: Instant) {
        if self.conn != Conn::Connected {
            return;
        }
        let first_new_event = self.events.len();
        self.last_inbound = now;
        // Keepalive is driven by silence from the server, not by our own traffic: a client that only
        // sends (acks, reads) still needs a reply now and then to prove the connection alive.
        self.next_echo = now + self.options.echo_interval;
        if let Some(serial) = command.serial() {
            // Replies come in order: this one proves every `read` sent before its request arrived.
            for client in self.clients.values_mut() {
                client.reads_unconfirmed.retain(|_, (_, after)| *after > serial);
                client.acks_unconfirmed.retain(|_, (_, _, after)| *after > serial);
            }
            if let Some(mut out) = self.in_flight.remove(&serial) {
                self.handle_reply(&mut out, &mut command, now);
            }
            // A reply to nothing we wait for (already timed out): ignored, as the JS SDK does.
        } else {
            self.handle_push(&mut command, now);
        }
        self.hold_for_fetches(first_new_event);
        self.release_fetched();
        self.send_fetches(now);
    }

    /// Sends the `conv/query` of every conversation that a push just put in the cache by id only.
    ///
    /// The push's events wait for the reply (see the `hold` module): when they are delivered, the
    /// fetched conversation (name, members, attributes, kind) is in the cache (read it with
    /// [`conversation`](Self::conversation)); the fetch has no event of its own.
    pub(crate) fn send_fetches(&mut self, now: Instant) {
        let mut fetches = Vec::new();
        for client in self.clients.values_mut() {
            if client.status != Status::Open {
                continue;
            }
            for cid in std::mem::take(&mut client.fetch_queue) {
                fetches.push((client.id.clone(), cid));
            }
        }
        for (client, cid) in fetches {
            let command = Self::fetch_command(&cid).with_peer_id(client.as_str());
            self.send_internal(client, command, Kind::Fetch { cid }, now);
        }
    }

    // ---- connection internals ----

    fn start_connect(&mut self, attempt: u32) {
        if self.servers.is_empty() {
            if let Some(router) = &self.options.router {
                let url = [router, "/v1/route?appId=", &self.options.app_id, "&secure=true"].concat();
                self.actions.push_back(Action::FetchRoute { url });
                self.conn = Conn::FetchingRoute { attempt };
                return;
            }
            self.conn = Conn::Failed;
            self.events.push_back(Event::ConnectionFailed { code: 0 });
            return;
        }
        self.connect_to_server(attempt);
    }

    fn connect_to_server(&mut self, attempt: u32) {
        let url = self.servers[self.server_index % self.servers.len()].clone();
        self.actions.push_back(Action::Connect {
            url,
            protocol: self.options.subprotocol.as_str().to_owned(),
            attempt,
        });
        self.conn = Conn::Connecting { attempt };
    }

    pub(crate) fn schedule_retry(&mut self, attempt: u32, now: Instant) {
        if self.clients.is_empty() {
            self.conn = Conn::Idle;
            return;
        }
        if !self.online {
            self.conn = Conn::Offline;
            return;
        }
        let delay = jittered_delay(attempt, self.options.backoff_cap, &mut self.rng);
        self.conn = Conn::Waiting {
            attempt,
            at: now + delay,
        };
        self.events.push_back(Event::Reconnecting { attempt, delay });
    }

    /// Drops a live connection for `reason` (the driver was told to close it) and schedules a retry.
    pub(crate) fn drop_connection(&mut self, reason: DisconnectReason, now: Instant) {
        if self.conn != Conn::Connected {
            return;
        }
        self.connection_lost(now);
        self.events.push_back(Event::Disconnected { reason });
        self.schedule_retry(0, now);
    }

    /// Bookkeeping when a connection goes away: sends go back to the queue (they are resent with the
    /// same `dt` after re-login), other requests in flight fail, clients must sign in again.
    fn connection_lost(&mut self, now: Instant) {
        let in_flight = std::mem::take(&mut self.in_flight);
        // Sends in serial order, put back at the front of their client's queue below.
        let mut resend = Vec::new();
        let mut closes = Vec::new();
        for (_, mut out) in in_flight {
            match out.kind {
                Kind::Send { .. } => {
                    out.deadline = None;
                    out.command.i = None;
                    resend.push(out);
                }
                // The application's open request waits for the sign-in on the next connection.
                Kind::Open { .. } => self.restore_open_requests(&out.client, std::mem::take(&mut out.ids)),
                Kind::Echo | Kind::CatchUp { .. } => {}
                // Signing out cannot fail for want of a connection: the session ends with it.
                Kind::Close => closes.push(out),
                _ => self.fail(&out.client, &out.ids, RequestError::ConnectionLost),
            }
        }
        // The newest first, each to the front: a client's queue starts with its sends in order.
        for out in resend.into_iter().rev() {
            if let Some(client) = self.clients.get_mut(&out.client) {
                client.outbox.push_front(out);
            }
        }
        for client in self.clients.values_mut() {
            client.status = Status::Opening;
            client.catch_up.clear();
            // Reads that may have been lost with the connection go out again after the re-login
            // (unless a newer one for the same conversation is already queued).
            for (cid, (tuple, _)) in std::mem::take(&mut client.reads_unconfirmed) {
                client.reads.get_or_insert(cid, tuple);
            }
            // So do acks (merged with those not sent yet; acking a range twice is harmless).
            for (cid, (from, to, _)) in std::mem::take(&mut client.acks_unconfirmed) {
                let range = client.acks.get_or_insert(cid, (from, to));
                *range = (range.0.min(from), range.1.max(to));
            }
        }
        self.ack_flush_at = None;
        self.release_all_held();
        for out in closes {
            self.close_locally(&out.client, &out.ids, now);
        }
    }

    /// Ends a client's session on this side (its `session/close` timed out or went down with the
    /// connection): answers the close requests and reports `Closed` as if the server had confirmed.
    pub(crate) fn close_locally(&mut self, client: &str, ids: &[RequestId], now: Instant) {
        self.respond(client, ids, Response::Closed);
        if self.clients.contains_key(client) {
            self.remove_client(client, RequestError::ClientClosed, now);
            self.events.push_back(Event::Closed {
                client: client.to_owned(),
                code: 0,
                reason: String::new(),
            });
        }
    }

    fn fail_everything(&mut self, now: Instant) {
        let ids: Vec<String> = self.client_order.clone();
        for id in ids {
            self.remove_client(&id, RequestError::ConnectionClosed, now);
        }
    }

    pub(crate) fn expire_requests(&mut self, now: Instant) {
        // First sign-ins that ran out of time: the application hears `Timeout` and nothing retries.
        let mut late = Vec::new();
        for id in &self.client_order {
            let deadline = self.clients.get(id).and_then(|c| c.sign_in_deadline);
            if deadline.is_some_and(|at| at <= now) {
                late.push(id.clone());
            }
        }
        for id in late {
            self.remove_client(&id, RequestError::Timeout, now);
        }
        let mut expired = Vec::new();
        for (serial, out) in self.in_flight.iter() {
            if out.deadline.is_some_and(|at| at <= now) {
                expired.push(*serial);
            }
        }
        for serial in expired {
            let Some(mut out) = self.in_flight.remove(&serial) else {
                continue;
            };
            match &out.kind {
                // A sign-in that never completes means the connection is useless: start over.
                Kind::Open { .. } => {
                    self.restore_open_requests(&out.client, std::mem::take(&mut out.ids));
                    self.actions.push_back(Action::Close);
                    self.drop_connection(DisconnectReason::LoginTimeout, now);
                    return;
                }
                // A gap page that never came back: ask again (the live pushes of `cid` stay
                // buffered meanwhile). Giving up here would lose the gap's messages for good.
                Kind::CatchUp { cid, .. } => {
                    let cid = cid.clone();
                    self.request_catch_up(&out.client, &cid, now);
                }
                // Given up: the events waiting for it go out with what their pushes said.
                Kind::Fetch { cid } => {
                    if let Some(client) = self.clients.get_mut(&out.client) {
                        client.unfetched.remove(cid);
                    }
                }
                Kind::Close => self.close_locally(&out.client, &out.ids, now),
                _ => self.fail(&out.client, &out.ids, RequestError::Timeout),
            }
        }
        let mut failed: Vec<(String, Vec<RequestId>)> = Vec::new();
        for client in self.clients.values_mut() {
            client.outbox.retain(|out| {
                let expired = out.deadline.is_some_and(|at| at <= now);
                if expired {
                    failed.push((client.id.clone(), out.ids.clone()));
                }
                !expired
            });
        }
        for (client, ids) in failed {
            self.fail(&client, &ids, RequestError::Timeout);
        }
    }

    // ---- request plumbing ----

    pub(crate) fn new_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    pub(crate) fn fail(&mut self, client: &str, ids: &[RequestId], error: RequestError) {
        for id in ids {
            self.events.push_back(Event::Response {
                client: client.to_owned(),
                request: *id,
                result: Err(error.clone()),
            });
        }
    }

    pub(crate) fn respond(&mut self, client: &str, ids: &[RequestId], response: Response) {
        for id in ids {
            self.events.push_back(Event::Response {
                client: client.to_owned(),
                request: *id,
                result: Ok(response.clone()),
            });
        }
    }

    /// Issues an application command for `client`: de-duplicated against identical in-flight requests,
    /// sent now if the client is signed in, else queued until it is.
    pub(crate) fn submit(
        &mut self,
        client: &str,
        command: GenericCommand,
        kind: Kind,
        now: Instant,
    ) -> RequestId {
        let id = self.new_request_id();
        if !self.clients.contains_key(client) {
            self.fail(client, &[id], RequestError::NoSuchClient);
            return id;
        }
        if self.conn == Conn::Failed {
            self.fail(client, &[id], RequestError::ConnectionClosed);
            return id;
        }
        let command = command.with_peer_id(client);
        let key = dedup_key(&command, &kind);
        if let Some(key) = &key {
            let same = |out: &Outgoing| out.dedup_key.as_ref() == Some(key) && !out.ids.is_empty();
            for out in self.in_flight.values_mut() {
                if same(out) {
                    out.ids.push(id);
                    return id;
                }
            }
            if let Some(state) = self.clients.get_mut(client) {
                for out in state.outbox.iter_mut() {
                    if same(out) {
                        out.ids.push(id);
                        return id;
                    }
                }
            }
        }
        let deadline = match kind {
            Kind::Send { .. } => None,
            _ => Some(now + self.options.request_timeout),
        };
        let out = Outgoing {
            ids: vec![id],
            client: client.to_owned(),
            command,
            kind,
            deadline,
            dedup_key: key,
        };
        self.enqueue(out, now);
        id
    }

    /// Sends `out` if its client is signed in, else queues it (bounded).
    pub(crate) fn enqueue(&mut self, out: Outgoing, now: Instant) {
        if self.is_open(&out.client) {
            self.transmit_request(out, now);
            return;
        }
        let max = self.options.max_queued;
        let Some(client) = self.clients.get_mut(&out.client) else {
            return;
        };
        if client.outbox.len() >= max {
            let (id, ids) = (out.client.clone(), out.ids);
            self.fail(&id, &ids, RequestError::QueueFull);
            return;
        }
        client.outbox.push_back(out);
    }

    /// Assigns a serial and sends.
    pub(crate) fn transmit_request(&mut self, mut out: Outgoing, now: Instant) {
        let serial = self.next_serial;
        self.next_serial = if serial == i32::MAX { 1 } else { serial + 1 };
        out.command.i = Some(serial);
        if out.deadline.is_none() || matches!(out.kind, Kind::Send { .. } | Kind::Open { .. }) {
            out.deadline = Some(now + self.options.request_timeout);
        }
        self.transmit(&out.command, now);
        self.in_flight.insert(serial, out);
    }

    /// Sends a request of the engine's own, which no application request waits for (keepalive,
    /// fetch, gap page); its deadline is the request timeout.
    pub(crate) fn send_internal(
        &mut self,
        client: String,
        command: GenericCommand,
        kind: Kind,
        now: Instant,
    ) {
        let out = Outgoing {
            ids: Vec::new(),
            client,
            command,
            kind,
            deadline: None,
            dedup_key: None,
        };
        self.transmit_request(out, now);
    }

    /// Encodes and queues one frame.
    pub(crate) fn transmit(&mut self, command: &GenericCommand, _now: Instant) {
        self.transmits
            .push_back(self.options.subprotocol.format().encode(command));
    }

    // ---- sessions ----

    /// Sends `session/open` for `client` on the current connection.
    pub(crate) fn send_open(&mut self, client_id: &str, now: Instant) {
        let wall = self.wall_ms(now);
        let Some(client) = self.clients.get_mut(client_id) else {
            return;
        };
        let relogin = client.ever_opened || client.options.session_token.is_some();
        if client.token.as_ref().is_some_and(|(_, expiry)| *expiry <= now) {
            client.token = None;
        }
        let mut session = SessionCommand::default();
        session.ua = Some(self.options.user_agent.clone());
        session.r = Some(relogin);
        session.last_unread_notif_time = client.last_unread_notif_time;
        session.last_patch_time = Some(if client.last_patch_time == 0 {
            wall
        } else {
            client.last_patch_time
        });
        session.config_bitmap = Some(CONFIG_BITMAP);
        if relogin {
            session.st = client.token.as_ref().map(|(token, _)| token.clone());
        } else {
            session.tag = client.options.tag.clone();
            session.device_id = Some(self.device_id.clone());
            if let Some(sig) = &client.options.signature {
                session.s = Some(sig.signature.clone());
                session.t = Some(sig.timestamp);
                session.n = Some(sig.nonce.clone());
            }
        }
        let command = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Open)
            .with_app_id(self.options.app_id.clone())
            .with_peer_id(client_id)
            .with(session);
        let ids = std::mem::take(&mut client.open_requests);
        self.transmit_request(
            Outgoing {
                ids,
                client: client_id.to_owned(),
                command,
                kind: Kind::Open { relogin },
                deadline: None,
                dedup_key: None,
            },
            now,
        );
    }

    /// Deregisters a client, failing what it still waits for; closes the connection with the last one.
    pub(crate) fn remove_client(&mut self, id: &str, error: RequestError, _now: Instant) {
        let Some(mut client) = self.clients.remove(id) else {
            return;
        };
        if let Some(index) = self.client_order.iter().position(|c| c == id) {
            self.client_order.remove(index);
        }
        // What was received stays received.
        self.events.append(&mut client.held);
        // Borrowed, not taken: the client and its queues drop whole at the end.
        let mut ids: Vec<RequestId> = client.open_requests.clone();
        for out in &client.outbox {
            ids.extend_from_slice(&out.ids);
        }
        self.in_flight.retain(|_, out| {
            let mine = out.client == id;
            if mine {
                ids.extend_from_slice(&out.ids);
            }
            !mine
        });
        self.fail(id, &ids, error);
        if self.clients.is_empty() {
            match self.conn {
                Conn::Connected | Conn::Connecting { .. } => self.actions.push_back(Action::Close),
                _ => {}
            }
            if self.conn != Conn::Failed {
                self.conn = Conn::Idle;
            }
            self.in_flight.clear();
            self.ack_flush_at = None;
        }
    }

    /// Registers a client and starts connecting if needed.
    pub(crate) fn add_client(&mut self, id: &str, options: ClientOptions, request: RequestId, now: Instant) {
        let wall = self.wall_ms(now);
        let token = options
            .session_token
            .clone()
            .map(|t| (t, now + core::time::Duration::from_secs(86_400)));
        self.clients.insert(
            id.to_owned(),
            Client {
                id: id.to_owned(),
                options,
                status: Status::Opening,
                ever_opened: false,
                open_requests: vec![request],
                sign_in_deadline: Some(now + self.options.sign_in_timeout),
                token,
                last_unread_notif_time: None,
                last_patch_time: wall,
                clock_hint: 0,
                outbox: VecDeque::new(),
                conversations: SortedMap::new(),
                catch_up: SortedMap::new(),
                seen: SeenIds::new(self.options.dedup_capacity),
                acks: SortedMap::new(),
                acks_unconfirmed: SortedMap::new(),
                reads: SortedMap::new(),
                reads_in_transit: SortedSet::new(),
                reads_unconfirmed: SortedMap::new(),
                unfetched: SortedSet::new(),
                fetch_queue: Vec::new(),
                held: VecDeque::new(),
                waiting_receipt: SortedMap::new(),
                waiting_receipt_order: VecDeque::new(),
            },
        );
        self.client_order.push(id.to_owned());
        match self.conn {
            Conn::Connected => self.send_open(id, now),
            Conn::Idle | Conn::Failed => {
                self.conn = Conn::Idle;
                if self.online {
                    self.start_connect(0);
                } else {
                    self.conn = Conn::Offline;
                }
            }
            _ => {}
        }
    }

    /// After a successful sign-in: send what waited for it.
    pub(crate) fn flush_client(&mut self, id: &str, now: Instant) {
        let Some(client) = self.clients.get_mut(id) else {
            return;
        };
        let outbox = std::mem::take(&mut client.outbox);
        let reads = std::mem::take(&mut client.reads);
        // Acks not sent (or not proven) before the connection went down go out with the next batch.
        if !client.acks.is_empty() && self.ack_flush_at.is_none() {
            self.ack_flush_at = Some(now + self.options.ack_delay);
        }
        client.reads_in_transit = SortedSet::new();
        for out in outbox {
            self.transmit_request(out, now);
        }
        if !reads.is_empty() {
            let mut tuples = Vec::new();
            let after = self.next_serial;
            for (cid, tuple) in reads {
                if let Some(client) = self.clients.get_mut(id) {
                    client.reads_in_transit.insert(cid.clone());
                    client.reads_unconfirmed.insert(cid, (tuple.clone(), after));
                }
                tuples.push(tuple);
            }
            let mut read = chinwag_protocol::ReadCommand::default();
            read.convs = tuples;
            let command = GenericCommand::new(CommandType::Read).with_peer_id(id).with(read);
            self.transmit(&command, now);
        }
    }

    /// Sends the batched received-message acks (`{cid, fromts, tots}`, no serial).
    pub(crate) fn flush_acks(&mut self, _now: Instant) {
        self.ack_flush_at = None;
        let after = self.next_serial;
        let format = self.options.subprotocol.format();
        for client in self.clients.values_mut() {
            if client.status != Status::Open {
                continue;
            }
            for (cid, (from, to)) in std::mem::take(&mut client.acks) {
                let unconfirmed = client
                    .acks_unconfirmed
                    .get_or_insert(cid.clone(), (from, to, after));
                *unconfirmed = (unconfirmed.0.min(from), unconfirmed.1.max(to), after);
                let mut ack = chinwag_protocol::AckCommand::default();
                ack.cid = Some(cid);
                ack.fromts = Some(from);
                ack.tots = Some(to);
                let command = GenericCommand::new(CommandType::Ack)
                    .with_peer_id(client.id.as_str())
                    .with(ack);
                // Encoded at once (what `transmit` does), not collected: a command is kilobytes.
                self.transmits.push_back(format.encode(&command));
            }
        }
    }

    /// Remembers ids of messages waiting for a receipt (bounded).
    pub(crate) fn wait_for_receipt(&mut self, client: &str, id: &str, cid: &str) {
        let cap = self.options.dedup_capacity;
        let Some(client) = self.clients.get_mut(client) else {
            return;
        };
        client.waiting_receipt.insert(id.to_owned(), cid.to_owned());
        client.waiting_receipt_order.push_back(id.to_owned());
        while client.waiting_receipt_order.len() > cap {
            if let Some(old) = client.waiting_receipt_order.pop_front() {
                client.waiting_receipt.remove(&old);
            }
        }
    }

    /// Puts the application's open request(s) back, to be answered by the next sign-in.
    fn restore_open_requests(&mut self, client: &str, ids: Vec<RequestId>) {
        if let Some(state) = self.clients.get_mut(client) {
            state.open_requests.extend(ids);
        }
    }

    /// Forgets the route so the next connect fetches `/v1/route` again (after `goaway`).
    pub(crate) fn forget_servers(&mut self) {
        self.servers.clear();
        self.server_index = 0;
    }
}
