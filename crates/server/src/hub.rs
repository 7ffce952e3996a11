//! The hub: a transport-free, single-threaded state machine that executes RTM commands.
//!
//! It owns the session registry (which clients are signed in on which connection), the
//! conversations (kept in memory, written through to [`Storage`]) and message delivery. It never
//! reads the clock or touches a socket: the caller passes `now_ms` and gets back the frames to send.
//!
//! # Contract
//! - Feed it [`Input`]s with [`Hub::handle_batch`]. A batch runs inside **one** storage transaction
//!   that is committed before the batch's [`Outgoing`] commands are returned, so a `direct` is
//!   acknowledged only once it is durable, and a burst of messages costs one commit (group commit).
//! - Send the returned commands in order: per connection, their order is the protocol order
//!   (e.g. `session/opened` before the `unread` push that follows a login).
//! - Tell the hub about every connection that opens ([`Input::Connected`]) and closes
//!   ([`Input::Disconnected`]): closing one delivers that connection's `will` messages.
//! - If the commit fails, the batch's effects are rolled back, the in-memory state is reloaded from
//!   storage, and every request in the batch is answered with `INTERNAL_ERROR` instead.
//!
//! ```
//! use chinwag_protocol::{CommandType, GenericCommand, OpType};
//! use chinwag_server::{Hub, HubConfig, Input, SqliteStorage};
//!
//! let mut hub = Hub::new(HubConfig::new("app", "secret"), SqliteStorage::in_memory()?)?;
//! let now_ms = 1_700_000_000_000;
//! let open = GenericCommand::request(CommandType::Session, 1)
//!     .with_op(OpType::Open)
//!     .with_peer_id("Tom");
//! let out = hub.handle_batch([Input::Connected(7), Input::Command(7, open)], now_ms);
//! let opened = out[0].to_command();
//! assert_eq!((out[0].conn, opened.op_type()), (7, Some(OpType::Opened)));
//! assert_eq!(opened.peer_id.as_deref(), Some("Tom"));
//! # Ok::<(), chinwag_server::StorageError>(())
//! ```

mod backend;
mod client_blocks;
mod conversations;
mod hooks;
mod last_message;
mod limits;
mod membership;
mod messages;
mod moderation;
mod patches;
mod revoked_tokens;
mod room_grace;
mod service;
mod sessions;
mod timed_shutups;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chinwag_protocol::{AckCommand, CommandBody, CommandType, ErrorCode, GenericCommand, OpType};
use serde_json::{Map, Value};

use crate::storage::{ConversationRecord, Loaded, MessageRecord, NotificationRecord, Storage, StorageError};
use crate::time::{date_json, iso8601};
use crate::token::TokenSigner;
use hooks::Verdict;
use membership::{ClientId, ConvId, LoadedClients, Members, MembershipIndex};

/// Identifies one transport connection (one WebSocket). Chosen by the runtime, unique while open.
pub type ConnId = u64;

/// Something that happened on a connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A connection opened.
    Connected(ConnId),
    /// A connection sent a command.
    Command(ConnId, GenericCommand),
    /// A connection closed (cleanly or not).
    Disconnected(ConnId),
    /// A deciding hook answered (see [`HookCall::ticket`]); its command goes ahead.
    HookAnswered(HookTicket, HookAnswer),
}

/// A command to send on a connection.
///
/// A push that goes to many recipients shares one `command` (built once, without `peerId`); each
/// recipient's `peer_id` is applied when it is encoded, so the runtime can encode the body once.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The connection to send on.
    pub conn: ConnId,
    /// The command, possibly shared with other recipients.
    pub command: Arc<GenericCommand>,
    /// The `peerId` to set on this copy (pushes); `None` leaves the command as it is (replies).
    /// Shared with the recipient's session, so a push to many recipients allocates no strings.
    pub peer_id: Option<Arc<str>>,
}

impl Outgoing {
    /// The complete command for this recipient.
    pub fn to_command(&self) -> GenericCommand {
        let mut command = GenericCommand::clone(&self.command);
        if let Some(peer_id) = &self.peer_id {
            command.peer_id = Some(peer_id.to_string());
        }
        command
    }
}

/// Settings of the hub.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// The LeanCloud app id this server serves.
    pub app_id: String,
    /// Key for signing session tokens (`st`).
    pub token_secret: Vec<u8>,
    /// Lifetime of a session token, in seconds (`stTtl`).
    pub session_ttl_secs: i32,
    /// Largest message payload accepted by `direct`, in bytes (LeanCloud: 5 KB).
    pub max_message_bytes: usize,
    /// Seed of the id generator; give each process a different one so ids never repeat.
    pub id_seed: u64,
    /// The master key: the key of LeanCloud-style signatures ([`crate::signature`]) that
    /// `POST /1.1/rtm/sign` hands out and, with [`HubConfig::require_signatures`], checks.
    pub signature_key: Option<Vec<u8>>,
    /// With a [`HubConfig::signature_key`]: sign-ins (other than token re-logins), session-token
    /// refreshes (signed as sign-ins), conversation creation, membership changes and blacklist
    /// changes must carry a valid signature. Off, a master key only serves the REST API, and
    /// clients need not sign (LeanCloud's default too: signatures are an opt-in of the app's
    /// settings).
    pub require_signatures: bool,
    /// How far a signature's timestamp (`t`, seconds) may be from the server clock, in seconds;
    /// older or later ones are refused as stale (4102 for sign-ins, 4302 for conversation actions).
    pub signature_ttl_secs: i64,
    /// App ids accepted by `session/open` besides [`HubConfig::app_id`].
    pub other_app_ids: Vec<String>,
    /// Accept any app id (development and test setups where each client uses its own app id).
    /// Sessions, tokens and signatures are still tied to the app id a client signed in with.
    pub allow_any_app_id: bool,
    /// Per-connection limit on `direct` commands (token bucket); `None` = unlimited. Floods are
    /// answered with 4116 MESSAGE_SENT_QUOTA_EXCEEDED.
    pub rate_limit: Option<RateLimit>,
    /// Per-client limit on `direct` commands: one bucket for a client id across all its
    /// connections; `None` = unlimited. Floods are answered with 4116.
    pub client_rate_limit: Option<RateLimit>,
    /// Most clients signed in on one connection (`session/open` of one more is refused with 4113
    /// APP_QUOTA_EXCEEDED); `None` = unlimited.
    pub max_clients_per_connection: Option<usize>,
    /// Most members of a normal or temporary conversation (creating, adding or joining past it is
    /// refused with 4304 CONVERSATION_FULL); `None` = unlimited. LeanCloud: 500.
    pub max_members: Option<usize>,
    /// Largest `logs` page (`l`/`limit` above it are capped); LeanCloud: 1000 (default page 20).
    pub max_logs_limit: u32,
    /// How long a client whose connection dropped stays in its chat rooms (ms), so that a short
    /// reconnect finds it still in them; 0 = leave at once. A `session/close` always leaves at once.
    pub chat_room_grace_ms: i64,
    /// How long a command waits for its deciding hook before it goes ahead as if the hook had
    /// failed (ms): a safety net for a call that was lost on the way, longer than the runtime's
    /// own timeout for a call.
    pub hook_deadline_ms: i64,
    /// A deciding hook that fails to answer (error, timeout) refuses its command (4402, 4405 or
    /// 4305) instead of letting it through unchanged: for apps whose moderation must not be
    /// skipped. Off by default.
    pub refuse_without_hook: bool,
}

/// Default of [`HubConfig::hook_deadline_ms`].
pub const DEFAULT_HOOK_DEADLINE_MS: i64 = 30_000;

/// A token bucket: `burst` commands at once, refilled at `per_second` commands a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Bucket size: how many commands may arrive back to back.
    pub burst: u32,
    /// Refill rate, in commands per second.
    pub per_second: u32,
}

/// The state of one connection's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens left, in thousandths of a command.
    milli_tokens: i64,
    /// When it was last refilled (ms).
    at: i64,
}

impl Bucket {
    /// A bucket holding its whole burst at `now`.
    fn full(limit: RateLimit, now: i64) -> Self {
        Self {
            milli_tokens: i64::from(limit.burst.max(1)) * 1000,
            at: now,
        }
    }

    /// Whether it would have refilled completely by `now`.
    fn is_full_at(&self, limit: RateLimit, now: i64) -> bool {
        let capacity = i64::from(limit.burst.max(1)) * 1000;
        let elapsed = now.saturating_sub(self.at).max(0);
        self.milli_tokens
            .saturating_add(elapsed.saturating_mul(i64::from(limit.per_second)))
            >= capacity
    }

    /// Takes one token at `now` if there is one.
    fn take(&mut self, limit: RateLimit, now: i64) -> bool {
        let capacity = i64::from(limit.burst.max(1)) * 1000;
        let elapsed = now.saturating_sub(self.at).max(0);
        self.at = self.at.max(now);
        self.milli_tokens = self
            .milli_tokens
            .saturating_add(elapsed.saturating_mul(i64::from(limit.per_second)))
            .min(capacity);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }

    /// Gives back the token [`Bucket::take`] just took at the same `now` (it was not spent after
    /// all), so it never holds more than before that take.
    fn refund(&mut self) {
        self.milli_tokens = self.milli_tokens.saturating_add(1000);
    }
}

impl HubConfig {
    /// A configuration for `app_id` with LeanCloud's defaults.
    pub fn new(app_id: impl Into<String>, token_secret: impl AsRef<[u8]>) -> Self {
        Self {
            app_id: app_id.into(),
            token_secret: token_secret.as_ref().to_vec(),
            session_ttl_secs: 2 * 24 * 3600,
            max_message_bytes: 5 * 1024,
            id_seed: 0,
            signature_key: None,
            require_signatures: false,
            signature_ttl_secs: DEFAULT_SIGNATURE_TTL_SECS,
            other_app_ids: Vec::new(),
            allow_any_app_id: false,
            rate_limit: None,
            client_rate_limit: None,
            max_clients_per_connection: None,
            max_members: Some(DEFAULT_MAX_MEMBERS),
            max_logs_limit: DEFAULT_MAX_LOGS_LIMIT,
            chat_room_grace_ms: DEFAULT_CHAT_ROOM_GRACE_MS,
            hook_deadline_ms: DEFAULT_HOOK_DEADLINE_MS,
            refuse_without_hook: false,
        }
    }

    /// Whether `session/open` accepts `app_id`.
    pub fn accepts_app_id(&self, app_id: &str) -> bool {
        self.allow_any_app_id || app_id == self.app_id || self.other_app_ids.iter().any(|a| a == app_id)
    }
}

/// Default time a dropped client stays in its chat rooms: a minute (our choice; LeanCloud does not
/// document its window).
pub const DEFAULT_CHAT_ROOM_GRACE_MS: i64 = 60_000;

/// Default window of signature timestamps: six hours either side of the server clock.
pub const DEFAULT_SIGNATURE_TTL_SECS: i64 = 6 * 3600;

/// Keys of the conversation JSON that [`Conversation::fixed_doc_with`] fills from the record alone.
const FIXED_KEYS: &[&str] = &[
    "objectId",
    "c",
    "tr",
    "sys",
    "unique",
    "createdAt",
    "updatedAt",
    "lm",
];

/// How long conversation events are kept for offline members.
const NOTIFICATION_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// Page size of `GET /1.1/rtm/notifications`.
const NOTIFICATIONS_PAGE: u32 = 100;

/// Why kept notifications could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// The session token is missing, forged, for another client, or expired.
    #[error("session token: {0}")]
    Token(#[from] crate::token::TokenError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub use backend::ConvKind;
pub(crate) use conversations::{RESERVED_KEYS, unique_key};
pub use hooks::{
    HookAnswer, HookCall, HookName, HookSet, HookTicket, MAX_ASKED_AHEAD, MAX_WAITING_BEHIND_HOOK,
    MAX_WAITING_IN_ALL,
};
pub use limits::{DEFAULT_MAX_LOGS_LIMIT, DEFAULT_MAX_MEMBERS};
pub use service::{AdminError, AdminOutcome, HistoryPage, KICKED_BY_APP, SendOptions};
pub use sessions::Stats;

/// A failure of one command, turned into an error reply.
#[derive(Debug)]
enum Fail {
    /// A protocol error with an optional detail.
    Code(ErrorCode, Option<String>),
    /// Storage failed; answered with `INTERNAL_ERROR`.
    Storage(StorageError),
    /// A hook of the app's engine refused the command: `code` of the protocol, and the app's own
    /// code and detail.
    RejectedByApp {
        /// 4305, 4402 or 4405.
        code: ErrorCode,
        /// The hook's `code`.
        app_code: Option<i32>,
        /// The hook's `detail`.
        detail: Option<String>,
    },
}

impl From<StorageError> for Fail {
    fn from(error: StorageError) -> Self {
        Self::Storage(error)
    }
}

type HubResult<T = ()> = Result<T, Fail>;

/// A member's read and ack positions (message timestamps, ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Position {
    read_ts: i64,
    ack_ts: i64,
}

/// A conversation as the hub keeps it in memory.
#[derive(Clone, Debug)]
struct Conversation {
    record: ConversationRecord,
    /// Persistent members (not used by chat rooms).
    members: Members,
    /// Chat-room members: online-only, never stored.
    room: BTreeSet<ClientId>,
    /// Members with a role other than the default (`Manager`).
    roles: BTreeMap<String, String>,
    /// The newest message for every member (not one sent to chosen users only).
    last: Option<last_message::LastMessage>,
    /// Newest timestamp handed out, so timestamps strictly increase.
    last_ts: i64,
}

impl Conversation {
    /// `record` as kept in memory before anyone joins it or a message is sent: no members, no
    /// roles, timestamps handed out from its creation on.
    fn new(record: ConversationRecord) -> Self {
        Self {
            last_ts: record.created_at,
            record,
            members: Members::default(),
            room: BTreeSet::new(),
            roles: BTreeMap::new(),
            last: None,
        }
    }

    /// `Owner` (the creator), `Manager` or `Member`.
    fn role_of(&self, client: &str) -> &str {
        if client == self.record.creator {
            "Owner"
        } else {
            self.roles.get(client).map_or("Member", String::as_str)
        }
    }

    fn is_member(&self, client: &str) -> bool {
        if self.record.transient {
            self.room.contains(client)
        } else {
            self.members.contains_key(client)
        }
    }

    /// Adds `clients` to this conversation, whose id is `id`, and to the membership index `joined`:
    /// to a chat room's online members, or as persistent members at `position`.
    fn admit(&mut self, id: &ConvId, clients: &[String], position: Position, joined: &mut MembershipIndex) {
        for client in clients {
            let client = joined.join(client, id);
            if self.record.transient {
                self.room.insert(client);
            } else {
                self.members.insert(client, position);
            }
        }
    }

    /// Takes the members `leaving` off the `mu` list (a client that left has not muted the
    /// conversation any more); whether any of them was on it.
    fn forget_mutes_of(&mut self, leaving: &[String]) -> bool {
        let muted = self.record.muted.len();
        self.record.muted.retain(|id| !leaving.contains(id));
        self.record.muted.len() != muted
    }

    /// How many members receive messages (chat rooms: online members).
    fn member_count(&self) -> usize {
        if self.record.transient {
            self.room.len()
        } else {
            self.members.len()
        }
    }

    /// The members that receive messages, in client-id order, without copying them.
    fn member_iter(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        if self.record.transient {
            Box::new(self.room.iter().map(|id| &**id))
        } else {
            Box::new(self.members.keys())
        }
    }

    fn member_ids(&self) -> Vec<String> {
        self.member_iter().map(str::to_owned).collect()
    }

    /// The next server timestamp: `now`, bumped past the previous one on ties or clock steps.
    fn next_ts(&mut self, now: i64) -> i64 {
        self.last_ts = now.max(self.last_ts.saturating_add(1));
        self.last_ts
    }

    /// Whether this is a temporary conversation past its expiry.
    fn is_expired(&self, now: i64) -> bool {
        self.record.expires_at.is_some_and(|expires_at| expires_at <= now)
    }

    /// When its last message was sent (its `lm`): the last stored message's time, or the one an
    /// import found if later (its history did not all come).
    fn last_message_at(&self) -> Option<i64> {
        let stored = self.last.as_ref().map(|last| last.timestamp);
        stored.max(self.record.last_message_at)
    }

    /// [`Conversation::doc`] plus the remaining `ttl` (seconds) of a temporary conversation.
    fn doc_at(&self, now: i64) -> Map<String, Value> {
        self.doc_at_with(now, &|_| true)
    }

    /// [`Conversation::doc_at`] with only the keys `wanted` accepts, each with the value it has in
    /// the full JSON (the same inserts in the same order, the others skipped): queries filter and
    /// sort on these and build the full JSON for the page they return only.
    fn doc_at_with(&self, now: i64, wanted: &dyn Fn(&str) -> bool) -> Map<String, Value> {
        let mut doc = self.doc_with(wanted);
        if let Some(expires_at) = self.record.expires_at {
            if wanted("temp") {
                doc.insert("temp".into(), true.into());
            }
            if wanted("ttl") {
                doc.insert("ttl".into(), ((expires_at - now).max(0) / 1000).into());
            }
        }
        doc
    }

    /// The raw conversation JSON of PROTOCOL.md §3.4, dates as LeanCloud Date objects.
    fn doc(&self) -> Map<String, Value> {
        self.doc_with(&|_| true)
    }

    /// The value of [`FIXED_KEYS`] key `key` in the conversation JSON (`None`: not shown), which
    /// the record alone gives.
    fn fixed_value(&self, key: &str) -> Option<Value> {
        let r = &self.record;
        match key {
            "objectId" => Some(r.id.clone().into()),
            "c" => Some(r.creator.clone().into()),
            "tr" => Some(r.transient.into()),
            "sys" => r.system.then_some(true.into()),
            "unique" => r.unique_key.is_some().then_some(true.into()),
            "createdAt" => Some(date_json(r.created_at)),
            "updatedAt" => Some(date_json(r.updated_at)),
            "lm" => self.last_message_at().map(date_json),
            _ => None,
        }
    }

    /// [`Conversation::doc_with`] for the [`FIXED_KEYS`] `wanted` accepts: cheap enough to build
    /// for every conversation a query scans (no attributes, members or last message).
    fn fixed_doc_with(&self, wanted: impl Fn(&str) -> bool) -> Map<String, Value> {
        FIXED_KEYS
            .iter()
            .filter(|key| wanted(key))
            .filter_map(|key| Some(((*key).to_owned(), self.fixed_value(key)?)))
            .collect()
    }

    /// [`Conversation::doc`] with only the keys `wanted` accepts.
    fn doc_with(&self, wanted: &dyn Fn(&str) -> bool) -> Map<String, Value> {
        let r = &self.record;
        let mut doc = Map::new();
        let mut put = |key: &str, value: &dyn Fn() -> Option<Value>| {
            if wanted(key) {
                if let Some(value) = value() {
                    doc.insert(key.to_owned(), value);
                }
            }
        };
        let fixed = |key: &'static str| move || self.fixed_value(key);
        put("objectId", &fixed("objectId"));
        put("c", &fixed("c"));
        for (key, value) in &r.attrs {
            put(key, &|| Some(value.clone()));
        }
        // Chat rooms have no member list; service conversations do not show their subscribers.
        if !r.transient && !r.system {
            put("m", &|| Some(self.member_ids().into()));
        }
        put("tr", &fixed("tr"));
        put("sys", &fixed("sys"));
        put("unique", &fixed("unique"));
        put("mu", &|| Some(r.muted.clone().into()));
        put("createdAt", &fixed("createdAt"));
        put("updatedAt", &fixed("updatedAt"));
        put("lm", &fixed("lm"));
        if let Some(last) = &self.last {
            put("msg", &|| Some(last.payload().0.into()));
            put("bin", &|| Some(last.is_binary().into()));
            put("msg_from", &|| Some((*last.from).into()));
            put("msg_mid", &|| Some((*last.id).into()));
            put("msg_timestamp", &|| Some(last.timestamp.into()));
            put("patch_timestamp", &|| last.patch_timestamp.map(Into::into));
        }
        doc
    }
}

/// A message's payload as LogItem/query JSON carry it: text as is, binary as base64 with `bin`.
fn message_payload(message: &MessageRecord) -> (String, bool) {
    payload_json(message.data.as_deref(), message.binary.as_deref())
}

/// The payload JSON carries for `text` or `binary` content (binary wins): the text, or base64 of
/// the bytes and `true` for `bin`.
fn payload_json(text: Option<&str>, binary: Option<&[u8]>) -> (String, bool) {
    use base64::Engine as _;
    match (text, binary) {
        (_, Some(bytes)) => (base64::engine::general_purpose::STANDARD.encode(bytes), true),
        (Some(text), None) => (text.to_owned(), false),
        (None, None) => (String::new(), false),
    }
}

/// `_lctype` of a typed message payload.
pub(crate) fn lctype_of(data: Option<&str>) -> Option<i32> {
    let value: Value = serde_json::from_str(data?).ok()?;
    i32::try_from(value.get("_lctype")?.as_i64()?).ok()
}

/// A signed-in client on one connection.
#[derive(Clone, Debug)]
struct Session {
    /// The client id, shared by the pushes to this session (their `peerId`).
    peer_id: Arc<str>,
    /// The app id it signed in with.
    app_id: String,
    tag: Option<String>,
    device_id: Option<String>,
    token: String,
    /// When `token` expires (ms).
    token_expires_at: i64,
    /// `will` messages, delivered if the connection drops.
    wills: Vec<MessageRecord>,
}

/// Generates ids that look like LeanCloud's (24 hex digits, time first) and never repeat for a seed.
#[derive(Clone, Debug)]
struct IdGen {
    seed: u64,
    counter: u64,
}

impl IdGen {
    fn next(&mut self, now_ms: i64) -> String {
        self.counter += 1;
        // splitmix64 is a bijection, so distinct counters give distinct suffixes.
        let mut z = self
            .seed
            .wrapping_add(self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        format!("{:08x}{z:016x}", (now_ms / 1000) as u32)
    }
}

/// Members (by conversation) whose in-memory position has moved since it was last stored.
#[derive(Debug, Default)]
struct UnstoredPositions(BTreeMap<String, BTreeSet<String>>);

impl UnstoredPositions {
    fn note(&mut self, cid: &str, client: &str) {
        // Allocates only for the first ack of a member in a conversation in a batch.
        if let Some(clients) = self.0.get_mut(cid) {
            if !clients.contains(client) {
                clients.insert(client.to_owned());
            }
        } else {
            self.0.insert(cid.to_owned(), BTreeSet::from([client.to_owned()]));
        }
    }
}

/// Gives conversation `cid` the members gathered for it while loading (see `Hub::reload`).
fn settle_members(
    convs: &mut HashMap<ConvId, Conversation>,
    cid: Option<ConvId>,
    rows: &mut Vec<(ClientId, Position)>,
) {
    if let Some(conv) = cid.and_then(|cid| convs.get_mut(&cid)) {
        conv.members.add_rows(rows);
    }
    rows.clear();
}

/// The command state machine. See the [module docs](self) for the contract.
pub struct Hub<S> {
    config: HubConfig,
    storage: S,
    signer: TokenSigner,
    ids: IdGen,
    /// Clients signed in on each connection, in the order they opened.
    conns: HashMap<ConnId, Vec<String>>,
    /// Sessions of each client, by connection.
    sessions: HashMap<String, BTreeMap<ConnId, Session>>,
    /// Conversations by id; the key is the id the membership index shares.
    convs: HashMap<ConvId, Conversation>,
    /// Distinct-conversation key → conversation id.
    unique: HashMap<String, String>,
    /// Client → conversations it belongs to (members, and chat-room members), so disconnects and
    /// member queries never scan every conversation; it also interns the client ids.
    joined: MembershipIndex,
    /// Conversation → timestamp of its newest stored message that asked for receipts (`r`). An ack
    /// or read that does not move past it cannot produce a receipt, so it skips the receipt query
    /// (in a big group every receiver acks every push). Only ever too high, never too low: it is
    /// raised before the insert and rebuilt from storage by `reload`.
    latest_receipts: HashMap<String, i64>,
    /// Members whose ack position moved in this batch and is not stored yet.
    unstored_positions: UnstoredPositions,
    /// Tokens revoked before their expiry (sessions kicked, signed out, tokens refreshed), until
    /// they expire: a re-login with one gets 4111 or 4112, a REST call 401.
    revoked_tokens: revoked_tokens::RevokedTokens,
    /// Revocations were loaded from storage and may have expired while the server was down: the
    /// next batch prunes them.
    revocations_need_prune: bool,
    /// Rate-limit buckets of connections.
    buckets: HashMap<ConnId, Bucket>,
    /// Rate-limit buckets of client ids (across their connections).
    client_buckets: HashMap<String, Bucket>,
    /// Dropped clients still in their chat rooms for a while.
    room_grace: room_grace::RoomGrace,
    /// Members shut up until a set time (REST `temporary-silenceds`).
    timed_shutups: timed_shutups::TimedShutups,
    /// Conversations clients blocked: nobody else may add them (REST `clients/{id}/blacklists`).
    client_blocks: client_blocks::ClientBlocks,
    /// The engine's IM hooks: which are defined, calls to make, commands waiting for answers.
    hooks: hooks::Hooks,
    out: Vec<Outgoing>,
}

impl<S> std::fmt::Debug for Hub<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("app_id", &self.config.app_id)
            .field("connections", &self.conns.len())
            .field("conversations", &self.convs.len())
            .field("revoked_tokens", &self.revoked_tokens.len())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Hub<S> {
    /// A hub over `storage`, loading the conversations and the revoked session tokens it holds.
    pub fn new(config: HubConfig, storage: S) -> Result<Self, StorageError> {
        let signer = TokenSigner::new(&config.token_secret);
        let ids = IdGen {
            seed: config.id_seed,
            counter: 0,
        };
        let mut hub = Self {
            config,
            storage,
            signer,
            ids,
            conns: HashMap::new(),
            sessions: HashMap::new(),
            convs: HashMap::new(),
            unique: HashMap::new(),
            joined: MembershipIndex::default(),
            latest_receipts: HashMap::new(),
            unstored_positions: UnstoredPositions::default(),
            revoked_tokens: revoked_tokens::RevokedTokens::default(),
            revocations_need_prune: false,
            buckets: HashMap::new(),
            client_buckets: HashMap::new(),
            room_grace: room_grace::RoomGrace::default(),
            timed_shutups: timed_shutups::TimedShutups::default(),
            client_blocks: client_blocks::ClientBlocks::default(),
            hooks: hooks::Hooks::default(),
            out: Vec::new(),
        };
        hub.reload()?;
        hub.restore_revocations()?;
        Ok(hub)
    }

    /// The storage backend.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Gives the storage back (e.g. to reopen a hub on it, as a restart would).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Client ids signed in on `conn`, in the order they opened.
    pub fn clients_on(&self, conn: ConnId) -> &[String] {
        self.conns.get(&conn).map_or(&[], Vec::as_slice)
    }

    /// Whether `client_id` has at least one session.
    pub fn is_online(&self, client_id: &str) -> bool {
        self.sessions
            .get(client_id)
            .is_some_and(|sessions| !sessions.is_empty())
    }

    /// Registers a new connection.
    pub fn connect(&mut self, conn: ConnId) {
        self.conns.entry(conn).or_default();
    }

    /// A connection closed: ends its sessions and delivers their `will` messages.
    pub fn disconnect(&mut self, conn: ConnId, now_ms: i64) -> Vec<Outgoing> {
        self.handle_batch([Input::Disconnected(conn)], now_ms)
    }

    /// Handles one command from `conn` (a batch of one).
    pub fn handle(&mut self, conn: ConnId, command: GenericCommand, now_ms: i64) -> Vec<Outgoing> {
        self.handle_batch([Input::Command(conn, command)], now_ms)
    }

    /// Handles a batch of inputs in one storage transaction; returns what to send once it is
    /// committed (see the [module docs](self)).
    pub fn handle_batch(&mut self, inputs: impl IntoIterator<Item = Input>, now_ms: i64) -> Vec<Outgoing> {
        let mut requests = Vec::new();
        let began = self.storage.begin();
        if let Err(error) = &began {
            tracing::error!(%error, "cannot begin a storage transaction");
        }
        let mut stored = Ok(());
        if began.is_ok() {
            self.prune_restored_revocations(now_ms);
        }
        self.leave_rooms_after_grace(now_ms);
        for input in inputs {
            let is_ack = matches!(&input, Input::Command(_, c) if c.command_type() == Some(CommandType::Ack));
            if !is_ack && stored.is_ok() {
                // Whatever comes next may read member positions from storage (unread counts).
                stored = self.store_positions();
            }
            match input {
                Input::Connected(conn) => self.connect(conn),
                Input::Disconnected(conn) => self.end_connection(conn, now_ms),
                Input::Command(conn, command)
                    if self.waits_for_hook(conn) && !hooks::may_overtake(&command) =>
                {
                    if let Some(refused) = self.queue_behind_hook(conn, command, now_ms) {
                        if refused.serial().is_some() {
                            requests.push((conn, envelope_of(&refused)));
                        }
                    }
                }
                Input::Command(conn, command) => {
                    self.run_command(
                        conn,
                        command,
                        Verdict::Unasked,
                        began.is_ok(),
                        &mut requests,
                        now_ms,
                    );
                }
                Input::HookAnswered(ticket, answer) => {
                    let began = began.is_ok();
                    self.resume_after_hook(ticket, answer, now_ms, |hub, command, verdict| {
                        hub.run_command(ticket.conn, command, verdict, began, &mut requests, now_ms);
                    });
                }
            }
        }
        if self.waits_for_any_hook() {
            // Queued commands are never acks, so positions stored once here stay stored for them.
            if stored.is_ok() {
                stored = self.store_positions();
            }
            let began = began.is_ok();
            self.resume_unanswered(now_ms, |hub, conn, command, verdict| {
                hub.run_command(conn, command, verdict, began, &mut requests, now_ms);
            });
        }
        // A failed position write fails the batch like a failed commit: all of it is rolled back.
        let committed = began
            .and(stored)
            .and_then(|()| self.store_positions())
            .and_then(|()| self.storage.commit());
        match committed {
            Ok(()) => std::mem::take(&mut self.out),
            Err(error) => {
                tracing::error!(%error, "batch commit failed; answering its requests with INTERNAL_ERROR");
                if let Err(error) = self.storage.rollback() {
                    tracing::error!(%error, "rollback failed");
                }
                self.out.clear();
                self.drop_notifying_calls();
                if let Err(error) = self.reload() {
                    tracing::error!(%error, "reloading state after a failed commit failed");
                }
                requests
                    .into_iter()
                    .map(|(conn, request)| Outgoing {
                        conn,
                        command: Arc::new(GenericCommand::error_reply(
                            &request,
                            ErrorCode::InternalError,
                            Some("storage failure".into()),
                        )),
                        peer_id: None,
                    })
                    .collect()
            }
        }
    }

    /// Recovers after a batch was abandoned half-way (a panic caught by the runtime): drops its
    /// pending output, rolls the transaction back and reloads the conversations from storage.
    pub fn recover(&mut self) {
        self.out.clear();
        self.drop_notifying_calls();
        self.unstored_positions = UnstoredPositions::default();
        if let Err(error) = self.storage.rollback() {
            tracing::error!(%error, "rollback during recovery failed");
        }
        if let Err(error) = self.reload() {
            tracing::error!(%error, "reload during recovery failed");
        }
    }

    /// Stores the positions noted in `unstored_positions`, each as it is now in memory: one write
    /// per member and conversation however many acks moved it in the batch.
    fn store_positions(&mut self) -> Result<(), StorageError> {
        for (cid, clients) in std::mem::take(&mut self.unstored_positions.0) {
            let Some(conv) = self.convs.get(cid.as_str()) else {
                continue;
            };
            for client_id in clients {
                // A member who left is no longer stored.
                if let Some(position) = conv.members.get(&client_id) {
                    self.storage.set_position(&crate::storage::MemberRecord {
                        cid: cid.clone(),
                        client_id,
                        read_ts: position.read_ts,
                        ack_ts: position.ack_ts,
                        role: None,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Rebuilds the in-memory conversations from storage, as its rows stream in.
    fn reload(&mut self) -> Result<(), StorageError> {
        let mut convs: HashMap<ConvId, Conversation> = HashMap::new();
        let mut unique = HashMap::new();
        let mut clients = LoadedClients::default();
        let mut latest_receipts = HashMap::new();
        // Storage hands a conversation's members over together: they are gathered here and become
        // its member list at once (one allocation of the right size) when the next one's begin.
        let mut gathering: Option<ConvId> = None;
        let mut gathered = Vec::new();
        let previous = &self.convs;
        self.storage.load_into(&mut |row| match row {
            Loaded::Conversation(record) => {
                if let Some(key) = &record.unique_key {
                    unique.insert(key.clone(), record.id.clone());
                }
                let cid = ConvId::from(record.id.as_str());
                // Chat-room membership is online-only: it survives in memory, not across restarts.
                let room = previous
                    .get(&cid)
                    .map(|c| c.room.iter().map(|client| clients.intern(client)).collect())
                    .unwrap_or_default();
                convs.insert(
                    cid,
                    Conversation {
                        room,
                        ..Conversation::new(record)
                    },
                );
            }
            Loaded::Member {
                cid,
                client_id,
                read_ts,
                ack_ts,
                role,
            } => {
                if gathering.as_deref() != Some(cid) {
                    settle_members(&mut convs, gathering.take(), &mut gathered);
                    gathering = convs.get_key_value(cid).map(|(id, _)| Arc::clone(id));
                }
                // A member of a conversation that is not there is skipped.
                if gathering.is_none() {
                    return;
                }
                let client = clients.intern(client_id);
                if let Some(role) = role {
                    if let Some(conv) = convs.get_mut(cid) {
                        conv.roles.insert(client_id.to_owned(), role);
                    }
                }
                gathered.push((client, Position { read_ts, ack_ts }));
            }
            Loaded::LastMessage(message) => {
                if let Some(conv) = convs.get_mut(message.cid.as_str()) {
                    // New messages follow the newest of all; the last message everyone sees is
                    // the newest without an audience (of a service conversation: the newest).
                    conv.last_ts = conv.last_ts.max(message.timestamp);
                    let newer = conv
                        .last
                        .as_ref()
                        .is_none_or(|last| last.timestamp < message.timestamp);
                    if (message.audience.is_none() || conv.record.system) && newer {
                        conv.last = Some(message.into());
                    }
                }
            }
            Loaded::LatestReceipt { cid, ts } => {
                latest_receipts.insert(cid.to_owned(), ts);
            }
        })?;
        settle_members(&mut convs, gathering, &mut gathered);
        self.joined = clients.into_index(convs.iter().map(|(cid, conv)| {
            let room = conv.room.iter().map(|client| &**client);
            (cid, conv.members.keys().chain(room))
        }));
        self.convs = convs;
        self.unique = unique;
        self.latest_receipts = latest_receipts;
        self.unstored_positions = UnstoredPositions::default();
        // Ended ones too: the periodic prune drops them, and a send checks the end anyway.
        self.timed_shutups = timed_shutups::TimedShutups::default();
        for shutup in self.storage.timed_shutups()? {
            self.timed_shutups
                .insert(&shutup.cid, &shutup.client_id, shutup.until);
        }
        self.client_blocks = client_blocks::ClientBlocks::default();
        for (client, cid) in self.storage.client_blocks()? {
            self.client_blocks.set(&client, &cid, true);
        }
        Ok(())
    }

    /// Adds `clients` to conversation `cid` in memory (see [`Conversation::admit`]). Nothing is
    /// stored.
    fn add_in_memory(&mut self, cid: &str, clients: &[String], position: Position) {
        let Some(conv_id) = self.convs.get_key_value(cid).map(|(id, _)| Arc::clone(id)) else {
            return;
        };
        if let Some(conv) = self.convs.get_mut(cid) {
            conv.admit(&conv_id, clients, position, &mut self.joined);
        }
    }

    fn index_leave(&mut self, client: &str, cid: &str) {
        self.joined.leave(client, cid);
    }

    /// Runs `command` of `conn` (when the batch's transaction `began`), noting it among the
    /// batch's `requests` unless it now waits for a hook (its answer comes in a later batch).
    fn run_command(
        &mut self,
        conn: ConnId,
        command: GenericCommand,
        verdict: Verdict,
        began: bool,
        requests: &mut Vec<(ConnId, GenericCommand)>,
        now: i64,
    ) {
        let request = command.serial().is_some().then(|| envelope_of(&command));
        let parked = began && self.handle_command(conn, command, verdict, now);
        if let Some(request) = request.filter(|_| !parked) {
            requests.push((conn, request));
        }
    }

    /// Handles `command`; returns whether it waits for a hook instead.
    fn handle_command(
        &mut self,
        conn: ConnId,
        mut command: GenericCommand,
        verdict: Verdict,
        now: i64,
    ) -> bool {
        let Some(cmd) = command.command_type() else {
            self.fail(
                conn,
                &command,
                Fail::Code(ErrorCode::InternalError, Some("unknown command".into())),
            );
            return false;
        };
        let result = match cmd {
            CommandType::Echo => {
                if command.serial().is_some() {
                    self.reply(conn, GenericCommand::reply_to(&command, CommandType::Echo));
                }
                Ok(())
            }
            CommandType::Session if command.op_type() == Some(OpType::Open) => {
                self.session_open(conn, &command, now)
            }
            _ => match self.client_of(conn, &command) {
                None => Err(Fail::Code(ErrorCode::SessionRequired, None)),
                Some(client) => {
                    let changes = match verdict {
                        Verdict::Unasked => {
                            let Some(back) = self.park_for_hook(conn, &client, cmd, command, now) else {
                                return true;
                            };
                            command = back;
                            Ok(hooks::MessageChanges::default())
                        }
                        Verdict::Answered(answer) => self.apply_hook_answer(cmd, &mut command, answer),
                    };
                    changes.and_then(|changes| self.dispatch(conn, &client, cmd, &command, &changes, now))
                }
            },
        };
        if let Err(fail) = result {
            self.fail(conn, &command, fail);
        }
        false
    }

    fn dispatch(
        &mut self,
        conn: ConnId,
        client: &str,
        cmd: CommandType,
        command: &GenericCommand,
        changes: &hooks::MessageChanges,
        now: i64,
    ) -> HubResult {
        if self.targets_expired_conversation(cmd, command, now) {
            return Err(Fail::Code(ErrorCode::TemporaryConversationExpired, None));
        }
        match (cmd, command.op_type()) {
            (CommandType::Session, Some(OpType::Close)) => self.session_close(conn, client, command, now),
            (CommandType::Session, Some(OpType::Query)) => self.session_query(conn, command),
            (CommandType::Session, Some(OpType::Refresh)) => self.session_refresh(conn, client, command, now),
            (CommandType::Report, _) => {
                // Device-token reports (Swift) have nothing to act on here (no offline push yet).
                if command.serial().is_some() {
                    let reply =
                        GenericCommand::reply_to(command, CommandType::Report).with_op(OpType::Uploaded);
                    self.reply(conn, reply);
                }
                Ok(())
            }
            (CommandType::Conv, Some(op)) => self.conv(conn, client, op, command, now),
            (CommandType::Direct, _) => {
                if !changes.asked && !self.within_rates(conn, client, now) {
                    return Err(Fail::Code(ErrorCode::MessageSentQuotaExceeded, None));
                }
                self.direct(conn, client, command, changes.recipients.as_ref(), now)
            }
            (CommandType::Ack, _) => self.client_ack(conn, client, command, now),
            (CommandType::Read, _) => self.read(conn, client, command, now),
            (CommandType::Logs, _) => self.logs(conn, client, command),
            (CommandType::Patch, _) => self.patch(conn, client, command, now),
            (CommandType::Blacklist, _) => self.blacklist(conn, client, command, now),
            _ => Err(Fail::Code(
                ErrorCode::InternalError,
                Some("command not implemented by this server".into()),
            )),
        }
    }

    /// Whether `command` acts on a temporary conversation past its TTL: everything but creating and
    /// querying is then answered with 4323 TEMPORARY_CONVERSATION_EXPIRED (`direct` checks it
    /// itself, before membership; `read`s are left alone, as one `read` may name several
    /// conversations).
    fn targets_expired_conversation(&self, cmd: CommandType, command: &GenericCommand, now: i64) -> bool {
        let expired = |cid: Option<&String>| {
            cid.and_then(|cid| self.convs.get(cid.as_str()))
                .is_some_and(|conv| conv.is_expired(now))
        };
        match cmd {
            CommandType::Conv => {
                !matches!(command.op_type(), Some(OpType::Start | OpType::Query))
                    && expired(command.conv_message.as_ref().and_then(|c| c.cid.as_ref()))
            }
            CommandType::Logs => expired(command.logs_message.as_ref().and_then(|l| l.cid.as_ref())),
            CommandType::Patch => command
                .patch_message
                .as_ref()
                .is_some_and(|p| p.patches.iter().any(|item| expired(item.cid.as_ref()))),
            CommandType::Blacklist => expired(
                command
                    .blacklist_message
                    .as_ref()
                    .and_then(|b| b.src_cid.as_ref()),
            ),
            _ => false,
        }
    }

    /// The client a command belongs to: its `peerId` if that client is signed in on this
    /// connection, else (no `peerId`) the first client opened on it.
    fn client_of(&self, conn: ConnId, command: &GenericCommand) -> Option<String> {
        let clients = self.conns.get(&conn)?;
        match &command.peer_id {
            Some(peer) if !peer.is_empty() => clients.iter().find(|c| *c == peer).cloned(),
            _ => clients.first().cloned(),
        }
    }

    /// Answers a failed request; commands without a serial (acks, reads) get no answer.
    fn fail(&mut self, conn: ConnId, command: &GenericCommand, fail: Fail) {
        // A hook's refusal also carries the app's own code and message (`appCode`, `appMsg`).
        let (code, detail, app) = match fail {
            Fail::Code(code, detail) => (code, detail, None),
            Fail::Storage(error) => {
                tracing::error!(%error, "storage error while handling a command");
                (ErrorCode::InternalError, None, None)
            }
            Fail::RejectedByApp {
                code,
                app_code,
                detail,
            } => (code, detail.clone(), Some((app_code, detail))),
        };
        let (app_code, app_msg) = app.unwrap_or_default();
        if command.serial().is_none() {
            tracing::debug!(
                conn,
                code = code.code(),
                "dropping an error for a command without serial"
            );
            return;
        }
        let reply = if command.command_type() == Some(CommandType::Direct) {
            // The JS SDK reads send failures from the ack (PROTOCOL.md §3.0, shape 2).
            GenericCommand::reply_to(command, CommandType::Ack).with(AckCommand {
                code: Some(code.code()),
                reason: Some(code.name().into()),
                app_code,
                app_msg,
                ..Default::default()
            })
        } else {
            let mut error = code.to_command(detail);
            error.app_code = app_code;
            error.app_msg = app_msg;
            GenericCommand::reply_to(command, CommandType::Error).with(error)
        };
        self.reply(conn, reply);
    }

    fn reply(&mut self, conn: ConnId, reply: GenericCommand) {
        self.out.push(Outgoing {
            conn,
            command: Arc::new(reply),
            peer_id: None,
        });
    }

    /// Queues `push` for `client`'s session on `conn` only.
    fn push_on(&mut self, conn: ConnId, client: &str, push: Arc<GenericCommand>) {
        self.out.push(Outgoing {
            conn,
            command: push,
            peer_id: Some(client.into()),
        });
    }

    /// Sends `push` to every session of `client` except the one on `except`.
    fn push_to(&mut self, client: &str, push: &Arc<GenericCommand>, except: Option<ConnId>) {
        if let Some(sessions) = self.sessions.get(client) {
            push_to_sessions(&mut self.out, sessions, push, except);
        }
    }

    /// A conversation event push (`joined`, `members_left`, ...): a "permanent" notification
    /// (`notificationType = 1`), which clients that missed it fetch over REST later.
    fn conv_event(op: OpType, body: chinwag_protocol::ConvCommand, now: i64) -> Arc<GenericCommand> {
        let mut push = GenericCommand::clone(&Self::push_body(CommandType::Conv, Some(op), body, now));
        push.notification_type = Some(1);
        Arc::new(push)
    }

    /// Keeps a conversation event for `client` and pushes it to its sessions.
    fn notify(&mut self, client: &str, push: &Arc<GenericCommand>, now: i64) -> HubResult {
        let mut payload = Map::new();
        if let Some(body) = &push.conv_message {
            if let Some(cid) = &body.cid {
                payload.insert("cid".into(), cid.clone().into());
            }
            if let Some(init_by) = &body.init_by {
                payload.insert("initBy".into(), init_by.clone().into());
            }
            if !body.m.is_empty() {
                payload.insert("m".into(), body.m.clone().into());
            }
            if let Some(info) = &body.info {
                payload.insert(
                    "info".into(),
                    serde_json::json!({"pid": info.pid, "role": info.role}),
                );
            }
        }
        self.storage.add_notification(&NotificationRecord {
            client_id: client.to_owned(),
            ts: now,
            cmd: CommandType::Conv.as_str_name().to_owned(),
            op: push.op_type().map_or("", |op| op.as_str_name()).to_owned(),
            payload,
        })?;
        self.push_to(client, push, None);
        Ok(())
    }

    /// The conversation events kept for `client_id` after `since` (`GET /1.1/rtm/notifications`),
    /// for the holder of a valid session token; also whether more remain.
    /// `app_id` is the `X-LC-Id` of the request (`None`: the configured app id).
    pub fn notifications(
        &mut self,
        app_id: Option<&str>,
        session_token: &str,
        client_id: &str,
        since: i64,
        now_ms: i64,
    ) -> Result<(Vec<Value>, bool), NotificationsError> {
        self.verify_token(app_id, session_token, client_id, now_ms)?;
        let (records, has_more) = self.notifications_page(client_id, since)?;
        let notifications = records
            .into_iter()
            .map(|n| {
                let mut object = n.payload;
                object.insert("cmd".into(), n.cmd.into());
                object.insert("op".into(), n.op.into());
                object.insert("serverTs".into(), n.ts.into());
                object.insert("notificationType".into(), 1.into());
                Value::Object(object)
            })
            .collect();
        Ok((notifications, has_more))
    }

    /// A page of `client_id`'s notifications after `since`, and whether more remain. The SDKs ask
    /// for the next page after the newest `serverTs` they got, so a page never ends inside one
    /// millisecond (events of one batch share it): the events of the boundary millisecond go to the
    /// next page, or, when a single millisecond holds more than a page, all into this one.
    fn notifications_page(
        &mut self,
        client_id: &str,
        since: i64,
    ) -> Result<(Vec<NotificationRecord>, bool), StorageError> {
        let mut page = NOTIFICATIONS_PAGE as usize;
        loop {
            let limit = u32::try_from(page + 1).unwrap_or(u32::MAX);
            let mut records = self.storage.notifications_since(client_id, since, limit)?;
            if records.len() <= page {
                return Ok((records, false));
            }
            let boundary = records[page].ts;
            records.truncate(page);
            while records.last().is_some_and(|r| r.ts == boundary) {
                records.pop();
            }
            if !records.is_empty() {
                return Ok((records, true));
            }
            page = page.saturating_mul(2);
        }
    }

    /// Forgets kept notifications older than a week before `now_ms` (a client offline longer than
    /// that re-syncs through queries). The runtime calls this periodically.
    pub fn prune_notifications(&mut self, now_ms: i64) {
        match self
            .storage
            .prune_notifications(now_ms - NOTIFICATION_RETENTION_MS)
        {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned old notifications"),
            Err(error) => tracing::warn!(%error, "pruning notifications failed"),
        }
    }

    /// Members of `cid` with a role other than the default, for the holder of a valid session token
    /// of a member (`GET /1.1/classes/_ConversationMemberInfo`).
    /// `app_id` is the `X-LC-Id` of the request (`None`: the configured app id).
    pub fn member_infos(
        &mut self,
        app_id: Option<&str>,
        session_token: &str,
        client_id: &str,
        cid: &str,
        now_ms: i64,
    ) -> Result<Vec<Value>, NotificationsError> {
        self.verify_token(app_id, session_token, client_id, now_ms)?;
        let Some(conv) = self.convs.get(cid).filter(|c| c.is_member(client_id)) else {
            return Ok(Vec::new());
        };
        Ok(conv
            .roles
            .iter()
            .map(|(member, role)| {
                serde_json::json!({
                    "objectId": format!("{cid}:{member}"),
                    "cid": cid,
                    "clientId": member,
                    "role": role,
                })
            })
            .collect())
    }

    /// Checks a session token presented over REST: issued to `client_id` of `app_id` (or of the
    /// configured app), not expired, not revoked.
    fn verify_token(
        &self,
        app_id: Option<&str>,
        token: &str,
        client_id: &str,
        now_ms: i64,
    ) -> Result<(), crate::token::TokenError> {
        let app_id = app_id.unwrap_or(&self.config.app_id);
        if !self.config.accepts_app_id(app_id) || self.revoked_tokens.is_revoked(token, now_ms) {
            return Err(crate::token::TokenError::Invalid);
        }
        self.signer.verify(token, app_id, client_id, now_ms)
    }

    /// A login signature (`{signature, timestamp, nonce}` plus `client_id`) for the client a valid
    /// session token belongs to (`POST /1.1/rtm/sign`). `app_id` is the request's `X-LC-Id`; the
    /// token must be of that app. Without a master key, signatures are not checked, so any key
    /// will do: the token secret signs it then.
    pub fn sign_login(
        &mut self,
        app_id: &str,
        session_token: &str,
        now_ms: i64,
    ) -> Result<Value, NotificationsError> {
        let (token_app, client) = self.signer.open(session_token, now_ms)?;
        if token_app != app_id {
            return Err(crate::token::TokenError::Invalid.into());
        }
        self.verify_token(Some(app_id), session_token, &client, now_ms)?;
        let timestamp = now_ms / 1000;
        let nonce = self.ids.next(now_ms);
        let message = crate::signature::login_message(app_id, &client, timestamp, &nonce);
        let key = self
            .config
            .signature_key
            .as_deref()
            .unwrap_or(&self.config.token_secret);
        Ok(serde_json::json!({
            "signature": crate::signature::sign(key, &message),
            "timestamp": timestamp,
            "nonce": nonce,
            "client_id": client,
        }))
    }

    /// The app id `client` signed in with on `conn` (the configured one if unknown).
    fn app_of(&self, conn: ConnId, client: &str) -> String {
        self.sessions
            .get(client)
            .and_then(|sessions| sessions.get(&conn))
            .map_or_else(|| self.config.app_id.clone(), |s| s.app_id.clone())
    }

    /// Checks `s`/`t`/`n` against `message(t, n)` when signatures are required (a master key and
    /// [`HubConfig::require_signatures`]); `t` (seconds) must be within
    /// [`HubConfig::signature_ttl_secs`] of `now` (ms).
    fn signed(
        &self,
        s: Option<&str>,
        t: Option<i64>,
        n: Option<&str>,
        now: i64,
        message: impl FnOnce(i64, &str) -> String,
    ) -> bool {
        let Some(key) = self
            .config
            .signature_key
            .as_ref()
            .filter(|_| self.config.require_signatures)
        else {
            return true;
        };
        match (s, t, n) {
            (Some(s), Some(t), Some(n)) => {
                let fresh = (now / 1000).saturating_sub(t).saturating_abs() <= self.config.signature_ttl_secs;
                fresh && crate::signature::verify(key, &message(t, n), s)
            }
            _ => false,
        }
    }

    /// Takes a token from `conn`'s bucket; `false` when the connection exceeds its rate limit.
    fn within_rate(&mut self, conn: ConnId, now: i64) -> bool {
        let Some(limit) = self.config.rate_limit else {
            return true;
        };
        let bucket = self.buckets.entry(conn).or_insert(Bucket::full(limit, now));
        bucket.take(limit, now)
    }

    /// Takes a token from both `conn`'s and `client`'s buckets, or from neither: a `direct` the
    /// client's budget refuses does not cost the connection's budget either (a client on several
    /// connections would otherwise lose per-connection budget on every refusal).
    fn within_rates(&mut self, conn: ConnId, client: &str, now: i64) -> bool {
        if !self.within_rate(conn, now) {
            return false;
        }
        if self.within_client_rate(client, now) {
            return true;
        }
        if let Some(bucket) = self.buckets.get_mut(&conn) {
            bucket.refund();
        }
        false
    }

    /// A push body (`service = 2`, `peerId` filled per recipient).
    fn push_body(
        cmd: CommandType,
        op: Option<OpType>,
        body: impl CommandBody,
        now: i64,
    ) -> Arc<GenericCommand> {
        let mut push = GenericCommand::new(cmd).with(body).with_server_ts(now);
        push.service = Some(chinwag_protocol::IM_SERVICE);
        if let Some(op) = op {
            push.op = Some(op as i32);
        }
        Arc::new(push)
    }
}

/// Queues `push` for each of one client's `sessions` except the one on `except`; the recipient's
/// `peerId` is the session's shared client id (no allocation per push).
fn push_to_sessions(
    out: &mut Vec<Outgoing>,
    sessions: &BTreeMap<ConnId, Session>,
    push: &Arc<GenericCommand>,
    except: Option<ConnId>,
) {
    for (&conn, session) in sessions {
        if Some(conn) != except {
            out.push(Outgoing {
                conn,
                command: Arc::clone(push),
                peer_id: Some(Arc::clone(&session.peer_id)),
            });
        }
    }
}

/// The envelope of a request (serial, `peerId`, command), enough to answer it later.
fn envelope_of(command: &GenericCommand) -> GenericCommand {
    GenericCommand {
        cmd: command.cmd,
        i: command.i,
        peer_id: command.peer_id.clone(),
        ..Default::default()
    }
}

/// ISO date string as `cdate`/`udate` carry it.
fn iso(ms: i64) -> String {
    iso8601(ms)
}
