//! chinwag-testkit (dev only): real [`chinwag_core::Engine`]s against the real
//! [`chinwag_server::Hub`], in simulated time, over a simulated link. No sockets, no sleeping.
//!
//! Modelled on quinn's test `Pair`: a [`World`] owns the server hub (over SQLite in a temporary
//! directory, so [`World::restart_server`] keeps the data), any number of [`Peer`]s (one engine
//! each, hosting any number of clients), and one [`Link`] per peer. Time only moves when the
//! harness moves it, and then it jumps straight to the next deadline: the earliest of every
//! engine's [`poll_timeout`](chinwag_core::Engine::poll_timeout) and every frame's delivery time.
//!
//! Frames cross the link as real encoded WebSocket messages ([`FrameFormat::encode`] with the
//! subprotocol the engine offered, [`Frame::decode`] on the other side), so the codec is exercised
//! on every exchange.
//!
//! # The link
//! - `latency`: one-way delay of every frame; frames of one connection stay in order (FIFO).
//! - `held`: frames stay queued (a stalled link) until released.
//! - `up`: whether connects succeed; [`World::cut`] drops the connection and everything in flight.
//! - [`World::cut_lingering`]: the client sees the drop at once, but what it had already sent still
//!   reaches the server later, after its new connection's frames: old-connection frames reordered
//!   across the reconnect, as happens when the server notices a dead TCP connection late.
//!
//! # Example
//! ```
//! use chinwag_testkit::World;
//!
//! let mut world = World::new();
//! let tom = world.add_peer("Tom");
//! world.open(tom, "Tom");
//! assert!(world.peer(tom).engine.is_open("Tom"));
//! ```

pub mod delivery;
pub mod requests;

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use chinwag_core::{Action, ClientOptions, Engine, Event, Instant, Options, RequestId, Response};
use chinwag_protocol::{Frame, FrameFormat, Subprotocol};
use chinwag_server::{ConnId, Hub, HubConfig, Input, SqliteStorage};

/// Wall-clock time (Unix ms) at simulated instant 0, for the engines and the server.
pub const WALL_EPOCH_MS: i64 = 1_700_000_000_000;

/// The app id every engine and the server use.
pub const APP_ID: &str = "chinwag-testkit";

/// The server URL engines are configured with (never dialled: the link fakes it).
pub const SERVER_URL: &str = "ws://testkit/";

/// What travels in one direction of a link.
#[derive(Clone, Debug)]
enum Payload {
    /// One WebSocket message.
    Frame(Frame),
    /// The client closed the connection (reaches the server after the frames sent before it).
    Close,
}

/// A payload in flight on connection `conn`, due at `due`.
#[derive(Clone, Debug)]
struct InFlight {
    due: Instant,
    conn: ConnId,
    payload: Payload,
}

/// The simulated network path between one peer and the server.
#[derive(Debug)]
pub struct Link {
    /// Whether connects succeed (a cut link refuses them until restored).
    pub up: bool,
    /// While set, nothing is delivered in either direction (frames wait, in order).
    pub held: bool,
    /// One-way delay of every frame, ms.
    pub latency: u64,
    /// The open connection and its frame format, if any.
    conn: Option<(ConnId, FrameFormat)>,
    to_server: VecDeque<InFlight>,
    to_client: VecDeque<InFlight>,
}

impl Link {
    fn new(latency: u64) -> Self {
        Self {
            up: true,
            held: false,
            latency,
            conn: None,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
        }
    }

    /// The server-side id of the open connection.
    pub fn conn_id(&self) -> Option<ConnId> {
        self.conn.map(|(id, _)| id)
    }

    /// Frames (and closes) in flight in both directions.
    pub fn in_flight(&self) -> usize {
        self.to_server.len() + self.to_client.len()
    }

    /// Queues behind the last payload of the queue (per-connection FIFO).
    fn schedule(queue: &mut VecDeque<InFlight>, now: Instant, latency: u64, conn: ConnId, payload: Payload) {
        let mut due = now + core::time::Duration::from_millis(latency);
        if let Some(last) = queue.back() {
            due = due.max(last.due);
        }
        queue.push_back(InFlight { due, conn, payload });
    }

    fn next_due(&self) -> Option<Instant> {
        if self.held {
            return None;
        }
        [self.to_server.front(), self.to_client.front()]
            .into_iter()
            .flatten()
            .map(|f| f.due)
            .min()
    }
}

/// One engine with its link and the events it produced.
#[derive(Debug)]
pub struct Peer {
    /// A name for messages (usually the first client's id).
    pub name: String,
    /// The engine under test.
    pub engine: Engine,
    /// Its network path.
    pub link: Link,
    /// Every event the engine emitted, in order.
    pub events: Vec<Event>,
}

impl Peer {
    /// Events for `client` only (events without a client, like `Connected`, are included).
    pub fn events_of<'a>(&'a self, client: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .filter(move |e| event_client(e).is_none_or(|c| c == client))
    }

    /// The outcome of `request`, if it completed.
    pub fn response(&self, request: RequestId) -> Option<&Result<Response, chinwag_core::RequestError>> {
        self.responses(request).next()
    }

    /// Every outcome of `request` the engine reported: exactly one once it completed.
    pub fn responses(
        &self,
        request: RequestId,
    ) -> impl Iterator<Item = &Result<Response, chinwag_core::RequestError>> + '_ {
        self.events.iter().filter_map(move |e| match e {
            Event::Response {
                request: r, result, ..
            } if *r == request => Some(result),
            _ => None,
        })
    }
}

/// The client an event is about, if any.
pub fn event_client(event: &Event) -> Option<&str> {
    use Event as E;
    let client = match event {
        E::Response { client, .. }
        | E::Reconnected { client }
        | E::ReconnectFailed { client, .. }
        | E::Conflict { client, .. }
        | E::Closed { client, .. }
        | E::Message { client, .. }
        | E::MessageRecalled { client, .. }
        | E::MessageUpdated { client, .. }
        | E::MessageStatusChanged { client, .. }
        | E::UnreadCountUpdated { client, .. }
        | E::LastDeliveredAt { client, .. }
        | E::LastReadAt { client, .. }
        | E::Invited { client, .. }
        | E::Kicked { client, .. }
        | E::MembersJoined { client, .. }
        | E::MembersLeft { client, .. }
        | E::MembersBlocked { client, .. }
        | E::MembersUnblocked { client, .. }
        | E::Blocked { client, .. }
        | E::Unblocked { client, .. }
        | E::MembersMuted { client, .. }
        | E::MembersUnmuted { client, .. }
        | E::Muted { client, .. }
        | E::Unmuted { client, .. }
        | E::MemberInfoUpdated { client, .. }
        | E::InfoUpdated { client, .. } => client.as_str(),
        E::Unhandled { client, .. } => return client.as_deref(),
        _ => return None,
    };
    Some(client)
}

/// Engines, links and the server hub, in simulated time. See the [crate docs](crate).
pub struct World {
    /// The simulated monotonic time of every engine (the server sees [`WALL_EPOCH_MS`] + it).
    pub now: Instant,
    /// The peers, by index.
    pub peers: Vec<Peer>,
    hub: Option<Hub<SqliteStorage>>,
    config: HubConfig,
    dir: tempfile::TempDir,
    /// Open server-side connections → (peer, frame format).
    conns: HashMap<ConnId, (usize, FrameFormat)>,
    next_conn: ConnId,
    /// Old-connection frames and closes that reach the server late ([`World::cut_lingering`]).
    late: Vec<InFlight>,
    restarts: u64,
    seed: u64,
    latency: u64,
    /// Print every command crossing a link (set `CHINWAG_TESTKIT_TRACE=1`).
    pub trace: bool,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("now", &self.now)
            .field("peers", &self.peers.len())
            .field("restarts", &self.restarts)
            .finish_non_exhaustive()
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A world with seed 0 and 5 ms one-way latency.
    pub fn new() -> Self {
        Self::with_seed(0, 5)
    }

    /// A world whose engines are seeded from `seed`, with `latency` ms one-way delay on new links.
    pub fn with_seed(seed: u64, latency: u64) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = HubConfig::new(APP_ID, "testkit-secret");
        config.id_seed = seed;
        let hub = Hub::new(config.clone(), open_storage(dir.path())).expect("hub");
        Self {
            now: Instant::from_millis(0),
            peers: Vec::new(),
            hub: Some(hub),
            config,
            dir,
            conns: HashMap::new(),
            next_conn: 1,
            late: Vec::new(),
            restarts: 0,
            seed,
            latency,
            trace: std::env::var_os("CHINWAG_TESTKIT_TRACE").is_some(),
        }
    }

    /// Adds a peer with default engine options; returns its index.
    pub fn add_peer(&mut self, name: &str) -> usize {
        self.add_peer_with(name, |_| {})
    }

    /// Adds a peer whose engine options are adjusted by `adjust`; returns its index.
    pub fn add_peer_with(&mut self, name: &str, adjust: impl FnOnce(&mut Options)) -> usize {
        let mut options = Options::with_servers(APP_ID, [SERVER_URL]);
        adjust(&mut options);
        let index = self.peers.len();
        let seed = self.seed.wrapping_mul(31).wrapping_add(index as u64 + 1);
        self.peers.push(Peer {
            name: name.to_owned(),
            engine: Engine::new(options, seed, self.now, WALL_EPOCH_MS + self.now_ms()),
            link: Link::new(self.latency),
            events: Vec::new(),
        });
        index
    }

    /// Peer `i`.
    pub fn peer(&self, i: usize) -> &Peer {
        &self.peers[i]
    }

    /// Peer `i`, mutably (to issue commands: `world.peer_mut(i).engine.send(..., world.now)`).
    pub fn peer_mut(&mut self, i: usize) -> &mut Peer {
        &mut self.peers[i]
    }

    /// The server hub (for assertions: who is online, ...).
    pub fn hub(&self) -> &Hub<SqliteStorage> {
        self.hub.as_ref().expect("hub")
    }

    /// A second connection to the server's database, to read what it stored.
    pub fn storage(&self) -> SqliteStorage {
        open_storage(self.dir.path())
    }

    /// How many times the server restarted.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.now.as_millis()).unwrap_or(i64::MAX)
    }

    /// The server's clock (Unix ms).
    pub fn server_time_ms(&self) -> i64 {
        WALL_EPOCH_MS + self.now_ms()
    }

    /// Runs `f` on peer `i`'s engine at the current time, then lets the world settle (without
    /// advancing time). Returns what `f` returned (usually a [`RequestId`]).
    pub fn act<R>(&mut self, i: usize, f: impl FnOnce(&mut Engine, Instant) -> R) -> R {
        let now = self.now;
        let result = f(&mut self.peers[i].engine, now);
        self.settle();
        result
    }

    /// Opens `client` on peer `i` and runs until the sign-in completes; panics if it fails.
    pub fn open(&mut self, i: usize, client: &str) {
        let request = self.act(i, |engine, now| {
            engine.open_client(client, ClientOptions::default(), now)
        });
        let result = self.run_until_response(i, request);
        assert!(
            matches!(result, Ok(Response::Opened)),
            "open {client}: {result:?}"
        );
    }

    /// Runs until `request` of peer `i` completes (at most 60 simulated seconds); returns the outcome.
    pub fn run_until_response(
        &mut self,
        i: usize,
        request: RequestId,
    ) -> Result<Response, chinwag_core::RequestError> {
        let found = self.run_until(60_000, |world| world.peers[i].response(request).is_some());
        assert!(found, "request {request:?} of peer {i} did not complete");
        self.peers[i].response(request).cloned().expect("response")
    }

    /// Runs until peer `i` emits an event matching `matches` (at most `max_ms` of simulated time);
    /// returns the first such event emitted from now on.
    pub fn run_until_event(
        &mut self,
        i: usize,
        max_ms: u64,
        mut matches: impl FnMut(&Event) -> bool,
    ) -> Option<Event> {
        let from = self.peers[i].events.len();
        let found = |world: &World, matches: &mut dyn FnMut(&Event) -> bool| {
            world.peers[i].events[from..].iter().find(|e| matches(e)).cloned()
        };
        self.run_until(max_ms, |world| found(world, &mut matches).is_some());
        found(self, &mut matches)
    }

    /// Runs until `predicate` holds or `max_ms` of simulated time passed; whether it held.
    pub fn run_until(&mut self, max_ms: u64, mut predicate: impl FnMut(&World) -> bool) -> bool {
        let until = self.now + core::time::Duration::from_millis(max_ms);
        loop {
            self.settle();
            if predicate(self) {
                return true;
            }
            match self.next_deadline() {
                Some(at) if at <= until => self.jump_to(at),
                _ => {
                    self.jump_to(until);
                    self.settle();
                    return predicate(self);
                }
            }
        }
    }

    /// Runs until nothing is in flight on any link that is not held (timers that come due on the
    /// way fire). Panics after 10 simulated minutes.
    pub fn run_until_idle(&mut self) {
        let idle = self.run_until(600_000, |world| {
            world.late.is_empty() && world.peers.iter().all(|p| p.link.held || p.link.in_flight() == 0)
        });
        assert!(idle, "the world did not go idle");
    }

    /// Advances time by `ms`, firing every deadline on the way, in order.
    pub fn advance(&mut self, ms: u64) {
        let until = self.now + core::time::Duration::from_millis(ms);
        loop {
            self.settle();
            match self.next_deadline() {
                Some(at) if at <= until => self.jump_to(at),
                _ => break,
            }
        }
        self.jump_to(until);
        self.settle();
    }

    /// The earliest engine timer, frame delivery or late close.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timers = self.peers.iter().filter_map(|p| p.engine.poll_timeout());
        let frames = self.peers.iter().filter_map(|p| p.link.next_due());
        let closes = self.late.iter().map(|c| c.due);
        timers.chain(frames).chain(closes).min()
    }

    /// Moves the clock to `at` (never backwards) and fires the engines' due timers.
    fn jump_to(&mut self, at: Instant) {
        self.now = self.now.max(at);
        let now = self.now;
        for peer in &mut self.peers {
            if peer.engine.poll_timeout().is_some_and(|t| t <= now) {
                peer.engine.handle_timeout(now);
            }
        }
    }

    /// Processes everything due at the current instant, until nothing changes. Time stands still.
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            let mut progressed = false;
            for i in 0..self.peers.len() {
                progressed |= self.drain_peer(i);
            }
            progressed |= self.deliver_to_server();
            progressed |= self.deliver_to_clients();
            if !progressed {
                return;
            }
        }
        panic!("the world did not settle (a livelock at {:?})", self.now);
    }

    /// Drains peer `i`'s outputs: frames onto the link, actions carried out, events recorded.
    fn drain_peer(&mut self, i: usize) -> bool {
        let mut progressed = false;
        loop {
            let mut any = false;
            while let Some(frame) = self.peers[i].engine.poll_transmit() {
                any = true;
                let link = &mut self.peers[i].link;
                if let Some((conn, _)) = link.conn {
                    Link::schedule(
                        &mut link.to_server,
                        self.now,
                        link.latency,
                        conn,
                        Payload::Frame(frame),
                    );
                }
            }
            while let Some(action) = self.peers[i].engine.poll_action() {
                any = true;
                self.carry_out(i, action);
            }
            while let Some(event) = self.peers[i].engine.poll_event() {
                any = true;
                if self.trace {
                    eprintln!(
                        "{:>8} {} event: {event:?}",
                        self.now.as_millis(),
                        self.peers[i].name
                    );
                }
                self.peers[i].events.push(event);
            }
            if !any {
                return progressed;
            }
            progressed = true;
        }
    }

    fn carry_out(&mut self, i: usize, action: Action) {
        let now = self.now;
        match action {
            Action::Connect { protocol, .. } => {
                let format = Subprotocol::parse(&protocol)
                    .unwrap_or_else(|| panic!("engine offered an unknown subprotocol {protocol}"))
                    .format();
                if self.peers[i].link.up {
                    let conn = self.next_conn;
                    self.next_conn += 1;
                    self.conns.insert(conn, (i, format));
                    self.peers[i].link.conn = Some((conn, format));
                    self.server_batch(vec![Input::Connected(conn)]);
                    self.peers[i].engine.handle_connected(now);
                } else {
                    self.peers[i].engine.handle_disconnected(None, now);
                }
            }
            Action::Close => {
                if self.trace {
                    eprintln!("{:>8} {} closes", now.as_millis(), self.peers[i].name);
                }
                let link = &mut self.peers[i].link;
                if let Some((conn, _)) = link.conn.take() {
                    // What was sent before the close still arrives, then the server sees the close.
                    Link::schedule(&mut link.to_server, now, link.latency, conn, Payload::Close);
                    link.to_client.retain(|f| f.conn != conn);
                }
            }
            Action::FetchRoute { .. } => {
                self.peers[i]
                    .engine
                    .handle_route(vec![SERVER_URL.to_owned()], now);
            }
        }
    }

    /// Feeds every frame due at the server as one batch (one transaction, as the real runtime's
    /// group commit does).
    fn deliver_to_server(&mut self) -> bool {
        let now = self.now;
        let mut inputs = Vec::new();
        for peer in &mut self.peers {
            if peer.link.held {
                continue;
            }
            while peer.link.to_server.front().is_some_and(|f| f.due <= now) {
                let InFlight { conn, payload, .. } = peer.link.to_server.pop_front().expect("front");
                match payload {
                    Payload::Frame(frame) => {
                        let command = frame
                            .decode()
                            .unwrap_or_else(|e| panic!("server cannot decode a frame of {}: {e}", peer.name));
                        if self.trace {
                            eprintln!(
                                "{:>8} {} -> server (conn {conn}): {command:?}",
                                now.as_millis(),
                                peer.name
                            );
                        }
                        inputs.push(Input::Command(conn, command));
                    }
                    Payload::Close => inputs.push(Input::Disconnected(conn)),
                }
            }
        }
        while self.late.first().is_some_and(|f| f.due <= now) {
            let InFlight { conn, payload, .. } = self.late.remove(0);
            if self.trace {
                eprintln!(
                    "{:>8} late on conn {conn} -> server: {:?}",
                    now.as_millis(),
                    match &payload {
                        Payload::Frame(frame) => frame.decode().map(|c| format!("{c:?}")),
                        Payload::Close => Ok("close".into()),
                    }
                );
            }
            inputs.push(match payload {
                Payload::Frame(frame) => Input::Command(
                    conn,
                    frame
                        .decode()
                        .unwrap_or_else(|e| panic!("server cannot decode a late frame: {e}")),
                ),
                Payload::Close => Input::Disconnected(conn),
            });
        }
        if inputs.is_empty() {
            return false;
        }
        for input in &inputs {
            if let Input::Disconnected(conn) = input {
                self.conns.remove(conn);
            }
        }
        self.server_batch(inputs);
        true
    }

    /// Runs a batch through the hub and puts the replies on the links.
    fn server_batch(&mut self, inputs: Vec<Input>) {
        let now_ms = self.server_time_ms();
        let out = self.hub.as_mut().expect("hub").handle_batch(inputs, now_ms);
        for outgoing in out {
            let Some(&(peer, format)) = self.conns.get(&outgoing.conn) else {
                continue;
            };
            let link = &mut self.peers[peer].link;
            if link.conn_id() != Some(outgoing.conn) {
                continue; // the client already left this connection
            }
            let frame = format.encode(&outgoing.to_command());
            Link::schedule(
                &mut link.to_client,
                self.now,
                link.latency,
                outgoing.conn,
                Payload::Frame(frame),
            );
        }
    }

    fn deliver_to_clients(&mut self) -> bool {
        let now = self.now;
        let mut progressed = false;
        for i in 0..self.peers.len() {
            loop {
                let link = &mut self.peers[i].link;
                if link.held || link.to_client.front().is_none_or(|f| f.due > now) {
                    break;
                }
                let InFlight { conn, payload, .. } = link.to_client.pop_front().expect("front");
                progressed = true;
                if link.conn_id() != Some(conn) {
                    continue;
                }
                if let Payload::Frame(frame) = payload {
                    if self.trace {
                        eprintln!(
                            "{:>8} server -> {} (conn {conn}): {:?}",
                            now.as_millis(),
                            self.peers[i].name,
                            frame.decode()
                        );
                    }
                    if let Err(error) = self.peers[i].engine.handle_frame(&frame, now) {
                        panic!("{} cannot decode a server frame: {error}", self.peers[i].name);
                    }
                }
                self.drain_peer(i);
            }
        }
        progressed
    }

    /// Cuts peer `i`'s link: the connection drops, everything in flight is lost, the server notices
    /// at once, and connects fail until [`restore`](Self::restore).
    pub fn cut(&mut self, i: usize) {
        if self.trace {
            eprintln!("{:>8} cut {}", self.now.as_millis(), self.peers[i].name);
        }
        self.peers[i].link.up = false;
        if let Some(conn) = self.drop_client_side(i, true) {
            self.conns.remove(&conn);
            self.server_batch(vec![Input::Disconnected(conn)]);
        }
        self.settle();
    }

    /// Drops peer `i`'s connection on the client side only: frames it already sent still reach the
    /// server `linger` ms late (after anything its next connection sends), and the server notices
    /// the disconnect after them. The link stays up, so the engine reconnects when it wants.
    pub fn cut_lingering(&mut self, i: usize, linger: u64) {
        if self.trace {
            eprintln!(
                "{:>8} lingering cut {} ({linger} ms)",
                self.now.as_millis(),
                self.peers[i].name
            );
        }
        let now = self.now;
        let extra = core::time::Duration::from_millis(linger);
        let Some((conn, _)) = self.peers[i].link.conn.take() else {
            return;
        };
        let link = &mut self.peers[i].link;
        link.to_client.retain(|f| f.conn != conn);
        let mut old: Vec<InFlight> = Vec::new();
        link.to_server.retain(|f| {
            if f.conn == conn {
                old.push(f.clone());
                false
            } else {
                true
            }
        });
        let mut close_at = now + extra;
        for mut frame in old {
            frame.due = frame.due + extra;
            close_at = close_at.max(frame.due);
            self.late.push(frame);
        }
        self.late.push(InFlight {
            due: close_at,
            conn,
            payload: Payload::Close,
        });
        // Several lingering connections interleave by due time (stable: FIFO per connection).
        self.late.sort_by_key(|f| f.due);
        self.peers[i].engine.handle_disconnected(Some(1006), now);
        self.settle();
    }

    /// Brings peer `i`'s link back (connects succeed again).
    pub fn restore(&mut self, i: usize) {
        self.peers[i].link.up = true;
        self.settle();
    }

    /// Holds (`true`) or releases (`false`) peer `i`'s link.
    pub fn hold(&mut self, i: usize, held: bool) {
        self.peers[i].link.held = held;
        if !held {
            self.settle();
        }
    }

    /// The client side of a drop: forget the connection and tell the engine.
    fn drop_client_side(&mut self, i: usize, lose_in_flight: bool) -> Option<ConnId> {
        let now = self.now;
        let peer = &mut self.peers[i];
        let (conn, _) = peer.link.conn.take()?;
        if lose_in_flight {
            peer.link.to_server.retain(|f| f.conn != conn);
        }
        peer.link.to_client.retain(|f| f.conn != conn);
        peer.engine.handle_disconnected(Some(1006), now);
        Some(conn)
    }

    /// Restarts the server: every connection drops at once (nothing in flight survives), the hub is
    /// rebuilt from its SQLite database. Links stay up, so engines reconnect on their own.
    pub fn restart_server(&mut self) {
        if self.trace {
            eprintln!("{:>8} server restart", self.now.as_millis());
        }
        for i in 0..self.peers.len() {
            self.drop_client_side(i, true);
            self.peers[i].link.to_server.clear();
        }
        self.conns.clear();
        self.late.clear();
        self.restarts += 1;
        let storage = self.hub.take().expect("hub").into_storage();
        drop(storage);
        let mut config = self.config.clone();
        config.id_seed = self.seed.wrapping_add(self.restarts.wrapping_mul(0x1000_0001));
        self.hub = Some(Hub::new(config, open_storage(self.dir.path())).expect("hub after restart"));
        self.settle();
    }
}

fn open_storage(dir: &Path) -> SqliteStorage {
    SqliteStorage::open(dir).expect("SQLite storage in the temporary directory")
}
