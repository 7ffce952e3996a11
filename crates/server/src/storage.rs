//! Durable state behind a synchronous trait: the hub calls it from its own thread, inside one
//! transaction per batch of commands (group commit). SQLite ([`SqliteStorage`]) is the embedded
//! default; a PostgreSQL backend can implement the same trait.
//!
//! Read positions are stored once per member (`read_ts`, `ack_ts`) and unread counts are derived
//! from the message index when asked, so a message never writes one row per member.

mod sqlite;

use std::ops::Bound;

use serde_json::{Map, Value};

pub use sqlite::{SqliteStorage, SyncMode, UnknownSyncMode};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The SQLite engine reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column could not be read back.
    #[error("corrupt JSON in storage: {0}")]
    Json(#[from] serde_json::Error),
    /// The data directory could not be created.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by a newer server.
    #[error("schema version {found} is newer than this server's {supported}")]
    SchemaTooNew {
        /// The version in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
}

/// Shorthand for storage results.
pub type StorageResult<T> = Result<T, StorageError>;

/// A conversation's own fields (members and messages are stored apart).
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationRecord {
    /// The conversation id (`objectId`).
    pub id: String,
    /// The client that created it (`c`).
    pub creator: String,
    /// A chat room (`tr`): online-only membership, no history.
    pub transient: bool,
    /// A service conversation (`sys`).
    pub system: bool,
    /// For distinct (`unique`) conversations: the sorted member set it was created with.
    pub unique_key: Option<String>,
    /// `name` and custom attributes, as the client sent them.
    pub attrs: Map<String, Value>,
    /// Members that muted offline notifications (`mu`).
    pub muted: Vec<String>,
    /// Members who may not send messages (shut-up, `add_shutup`).
    pub shutup: Vec<String>,
    /// Clients blocked from the conversation (blacklist): removed and unable to rejoin.
    pub blocked: Vec<String>,
    /// For temporary conversations: when it expires (ms).
    pub expires_at: Option<i64>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last attribute or membership change (ms).
    pub updated_at: i64,
    /// When its last message was sent (ms), as an import found it (LeanCloud's `lm`): shown as its
    /// `lm` until a later message is stored, so a conversation whose history did not come (not
    /// saved, or past LeanCloud's six months) keeps its place in lists sorted by `lm`. `None` for
    /// conversations made here: their `lm` is their last stored message's.
    pub last_message_at: Option<i64>,
}

impl ConversationRecord {
    /// A conversation `id` that `creator` makes at `now_ms` with `attrs`: a normal one (not a chat
    /// room, service, distinct or temporary conversation) with nobody muted, shut up or blocked.
    /// Set the fields that differ with struct update syntax.
    pub fn new(id: String, creator: &str, attrs: Map<String, Value>, now_ms: i64) -> Self {
        Self {
            id,
            creator: creator.to_owned(),
            transient: false,
            system: false,
            unique_key: None,
            attrs,
            muted: Vec::new(),
            shutup: Vec::new(),
            blocked: Vec::new(),
            expires_at: None,
            created_at: now_ms,
            updated_at: now_ms,
            last_message_at: None,
        }
    }
}

/// One member of a persistent conversation and how far it has read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// The conversation.
    pub cid: String,
    /// The member's client id.
    pub client_id: String,
    /// Timestamp of the newest message the member has read (0 = none).
    pub read_ts: i64,
    /// Timestamp of the newest message the member's device acknowledged (0 = none).
    pub ack_ts: i64,
    /// `Manager` or `Member`; `None` means the default (`Member`, or `Owner` for the creator).
    pub role: Option<String>,
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// Server message id (`uid` in the ack, `id` in pushes, `msgId` in logs).
    pub id: String,
    /// The conversation.
    pub cid: String,
    /// The sender's client id.
    pub from: String,
    /// Server timestamp (ms), strictly increasing within a conversation.
    pub timestamp: i64,
    /// Text payload (`msg`).
    pub data: Option<String>,
    /// Binary payload (`binaryMsg`).
    pub binary: Option<Vec<u8>>,
    /// `mentionAll`.
    pub mention_all: bool,
    /// `mentionPids`.
    pub mention_pids: Vec<String>,
    /// The client's own message id (`dt`), used to de-duplicate resends.
    pub dt: Option<String>,
    /// Whether the sender asked for receipts (`r`).
    pub receipt: bool,
    /// Last edit time (ms).
    pub patch_timestamp: Option<i64>,
    /// Why the server side edited or recalled it (`patchCode`: negative = built in, such as
    /// −4408 for a sensitive-word filter, positive = the app's own); `None` for the sender's own.
    pub patch_code: Option<i64>,
    /// The text that goes with [`MessageRecord::patch_code`] (`patchReason`).
    pub patch_reason: Option<String>,
    /// `_lctype` of a typed message, for `logs` filtering.
    pub lctype: Option<i32>,
    /// Who the message is for besides its sender: `None` = every member (and every subscriber of
    /// a service conversation: a broadcast); `Some(ids)` = only these clients (a service
    /// conversation's message to chosen users, or `[]` for a subscriber's message to the service).
    pub audience: Option<Vec<String>>,
}

/// A conversation event kept for a member, so a client that was offline can fetch it later
/// (`GET /1.1/rtm/notifications`, "permanent" notifications).
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationRecord {
    /// The member it is for.
    pub client_id: String,
    /// Server time of the event (ms); the push carried it as `serverTs`.
    pub ts: i64,
    /// Command name, e.g. `conv`.
    pub cmd: String,
    /// Op name, e.g. `members_joined`.
    pub op: String,
    /// The command body as JSON (`cid`, `initBy`, `m`).
    pub payload: Map<String, Value>,
}

/// A session token revoked before its expiry (a `tag` conflict, sign-out, REST kick or refresh
/// ended its session or replaced it), kept so that a restart does not make it valid again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedTokenRecord {
    /// The token.
    pub token: String,
    /// When it expires (ms): from then on it is refused as expired anyway, and the row is pruned.
    pub expires_at: i64,
    /// The error code a re-login with it gets (4111 SESSION_CONFLICT after a `tag` conflict, else
    /// 4112 SESSION_TOKEN_EXPIRED).
    pub code: i32,
}

/// A member shut up in a conversation until a set time (REST `temporary-silenceds`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedShutupRecord {
    /// The conversation.
    pub cid: String,
    /// The silenced client.
    pub client_id: String,
    /// When the member may speak again (ms).
    pub until: i64,
}

/// When a client joined a conversation or subscribed to a service conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The conversation.
    pub cid: String,
    /// The member.
    pub client_id: String,
    /// When it joined (ms); 0 for members stored before join times were kept.
    pub joined_at: i64,
}

/// One row of what the hub keeps in memory, handed over by [`Storage::load_into`] as it is read.
#[derive(Debug)]
pub enum Loaded<'a> {
    /// A conversation's own fields.
    Conversation(ConversationRecord),
    /// A member of a persistent conversation (rows of one conversation come together).
    Member {
        /// The conversation, borrowed from the row: no allocation per member.
        cid: &'a str,
        /// The member's client id, borrowed from the row too (the hub keeps one copy per client).
        client_id: &'a str,
        /// Timestamp of the newest message it has read.
        read_ts: i64,
        /// Timestamp of the newest message its device acknowledged.
        ack_ts: i64,
        /// Its role, when not the default.
        role: Option<String>,
    },
    /// The newest message of a conversation, and when that one has an audience, also its newest
    /// message for everyone (in either order).
    LastMessage(MessageRecord),
    /// The timestamp of a conversation's newest message that asked for receipts.
    LatestReceipt {
        /// The conversation.
        cid: &'a str,
        /// The message's timestamp.
        ts: i64,
    },
}

/// Everything the hub keeps in memory, loaded at start-up with four queries.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// All conversations.
    pub conversations: Vec<ConversationRecord>,
    /// All members of persistent conversations.
    pub members: Vec<MemberRecord>,
    /// The newest message of each conversation that has one (and its newest for everyone, when
    /// the newest has an audience).
    pub last_messages: Vec<MessageRecord>,
    /// `(cid, ts)`: the timestamp of the newest message that asked for receipts, for each
    /// conversation that has one (acks past it cannot produce a receipt, so skip the query).
    pub latest_receipts: Vec<(String, i64)>,
}

/// A slice of a conversation's history by timestamp.
#[derive(Clone, Debug)]
pub struct HistoryQuery {
    /// The conversation.
    pub cid: String,
    /// Lower bound on the timestamp.
    pub lower: Bound<i64>,
    /// Upper bound on the timestamp.
    pub upper: Bound<i64>,
    /// Only typed messages of this `_lctype`.
    pub lctype: Option<i32>,
    /// Take the newest `limit` messages in range (else the oldest).
    pub newest_first: bool,
    /// How many messages at most.
    pub limit: u32,
    /// Only the messages this client may see: those without an audience, its own, and those
    /// whose audience names it. `None`: every message.
    pub viewer: Option<String>,
}

/// Which messages a [`MessageQuery`] looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageScope {
    /// Every stored message of the app.
    App,
    /// One conversation.
    Conversation(String),
    /// What one client sent, anywhere.
    Sender(String),
    /// The broadcasts of a service conversation (messages for every subscriber).
    Broadcasts(String),
    /// What one subscriber of a service conversation sees there: broadcasts, messages sent to
    /// it, and its own messages.
    Subscriber {
        /// The service conversation.
        cid: String,
        /// The subscriber.
        client_id: String,
    },
}

/// One end of a [`MessageQuery`]: a timestamp, or a (timestamp, message id) position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagePosition {
    /// Server timestamp (ms).
    pub ts: i64,
    /// The message at `ts`, to cut between messages with the same timestamp.
    pub id: Option<String>,
    /// Whether the position itself is in range.
    pub inclusive: bool,
}

/// A page of messages across conversations (the REST API's history endpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageQuery {
    /// Which messages.
    pub scope: MessageScope,
    /// Leave out messages of service conversations.
    pub exclude_service: bool,
    /// Lower end (`None`: unbounded).
    pub lower: Option<MessagePosition>,
    /// Upper end (`None`: unbounded).
    pub upper: Option<MessagePosition>,
    /// Newest first (else oldest first); the result is in this order.
    pub newest_first: bool,
    /// How many messages at most.
    pub limit: u32,
    /// How many matching messages to pass over first.
    pub offset: u32,
}

/// Unread messages of one conversation for one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadCount {
    /// The conversation.
    pub cid: String,
    /// Messages from others newer than the client's read position.
    pub unread: u32,
    /// Whether one of them mentions the client (or everyone).
    pub mentioned: bool,
}

/// Durable storage for the hub. Every method runs inside the transaction opened by [`Storage::begin`].
pub trait Storage: Send {
    /// Opens the batch transaction.
    fn begin(&mut self) -> StorageResult<()>;
    /// Commits the batch durably; replies are sent only after this returns `Ok`.
    fn commit(&mut self) -> StorageResult<()>;
    /// Abandons the batch.
    fn rollback(&mut self) -> StorageResult<()>;
    /// Hands what the hub keeps in memory to `sink` row by row, in this order: every
    /// conversation, then the members, the last messages and the latest receipts. The hub builds
    /// its state as the rows stream in, so a start-up never holds a second copy of all of it.
    fn load_into(&mut self, sink: &mut dyn FnMut(Loaded<'_>)) -> StorageResult<()>;
    /// Everything [`Storage::load_into`] hands over, collected (tests and tools).
    fn load(&mut self) -> StorageResult<Snapshot> {
        let mut snapshot = Snapshot::default();
        self.load_into(&mut |row| match row {
            Loaded::Conversation(record) => snapshot.conversations.push(record),
            Loaded::Member {
                cid,
                client_id,
                read_ts,
                ack_ts,
                role,
            } => snapshot.members.push(MemberRecord {
                cid: cid.to_owned(),
                client_id: client_id.to_owned(),
                read_ts,
                ack_ts,
                role,
            }),
            Loaded::LastMessage(message) => snapshot.last_messages.push(message),
            Loaded::LatestReceipt { cid, ts } => snapshot.latest_receipts.push((cid.to_owned(), ts)),
        })?;
        Ok(snapshot)
    }
    /// Inserts or replaces a conversation's own fields.
    fn save_conversation(&mut self, conversation: &ConversationRecord) -> StorageResult<()>;
    /// Adds members whose read position starts at `read_ts`, joined at `joined_at` (ms);
    /// already-present members are left as they are.
    fn add_members(
        &mut self,
        cid: &str,
        client_ids: &[String],
        read_ts: i64,
        joined_at: i64,
    ) -> StorageResult<()>;
    /// Members of `cid` by client id after `after` (exclusive; `None` = from the first), at most
    /// `limit`, with their join times (a service conversation's subscriber list).
    fn members_page(&mut self, cid: &str, after: Option<&str>, limit: u32) -> StorageResult<Vec<Membership>>;
    /// The service conversations `client_id` subscribes to, ordered by subscription time and
    /// conversation id (newest first when `newest_first`), after the `(joined_at, cid)` cursor
    /// `after` (exclusive), at most `limit`.
    fn subscriptions_page(
        &mut self,
        client_id: &str,
        after: Option<(i64, &str)>,
        newest_first: bool,
        limit: u32,
    ) -> StorageResult<Vec<Membership>>;
    /// Removes members and their read positions.
    fn remove_members(&mut self, cid: &str, client_ids: &[String]) -> StorageResult<()>;
    /// Stores a member's role (`None` = default).
    fn set_role(&mut self, cid: &str, client_id: &str, role: Option<&str>) -> StorageResult<()>;
    /// Stores a member's read and ack positions.
    fn set_position(&mut self, member: &MemberRecord) -> StorageResult<()>;
    /// Stores a message.
    fn insert_message(&mut self, message: &MessageRecord) -> StorageResult<()>;
    /// Replaces a stored message's content, mentions, `_lctype` and patch time (edit, recall).
    fn update_message(&mut self, message: &MessageRecord) -> StorageResult<()>;
    /// Messages of `client_id`'s conversations edited or recalled after `since`, oldest patch
    /// first (at most 1000).
    fn patched_since(&mut self, client_id: &str, since: i64) -> StorageResult<Vec<MessageRecord>>;
    /// The message `from` sent earlier with client id `dt`, if any.
    fn find_by_dt(&mut self, from: &str, dt: &str) -> StorageResult<Option<MessageRecord>>;
    /// One message by id.
    fn message(&mut self, cid: &str, id: &str) -> StorageResult<Option<MessageRecord>>;
    /// A slice of history, returned ascending by timestamp.
    fn history(&mut self, query: &HistoryQuery) -> StorageResult<Vec<MessageRecord>>;
    /// A page of messages in the query's order (one indexed query).
    fn messages_where(&mut self, query: &MessageQuery) -> StorageResult<Vec<MessageRecord>>;
    /// Deletes message `id` (of conversation `cid`, when given); returns it if it existed.
    fn delete_message(&mut self, cid: Option<&str>, id: &str) -> StorageResult<Option<MessageRecord>>;
    /// Deletes conversation `cid` with its members and messages.
    fn delete_conversation(&mut self, cid: &str) -> StorageResult<()>;
    /// Messages that asked for receipts in `(after, up_to]`, not sent by `not_from`.
    fn receipt_messages(
        &mut self,
        cid: &str,
        after: i64,
        up_to: i64,
        not_from: &str,
    ) -> StorageResult<Vec<MessageRecord>>;
    /// Keeps a conversation event for a member.
    fn add_notification(&mut self, notification: &NotificationRecord) -> StorageResult<()>;
    /// Forgets events older than `before` (ms); returns how many.
    fn prune_notifications(&mut self, before: i64) -> StorageResult<usize>;
    /// A member's events newer than `since`, oldest first, at most `limit`.
    fn notifications_since(
        &mut self,
        client_id: &str,
        since: i64,
        limit: u32,
    ) -> StorageResult<Vec<NotificationRecord>>;
    /// Remembers a revoked session token (replacing an earlier row for the same token).
    fn revoke_token(&mut self, revoked: &RevokedTokenRecord) -> StorageResult<()>;
    /// Every revoked token kept, for the hub to load at start-up (expired ones too until they are
    /// pruned: the hub, which never reads the clock, prunes them in its first batch).
    fn revoked_tokens(&mut self) -> StorageResult<Vec<RevokedTokenRecord>>;
    /// Forgets the revoked tokens expired by `now` (ms); returns how many.
    fn prune_revoked_tokens(&mut self, now: i64) -> StorageResult<usize>;
    /// Shuts `client_id` up in `cid` until `until` (ms), or lets it speak again (`None`).
    fn set_timed_shutup(&mut self, cid: &str, client_id: &str, until: Option<i64>) -> StorageResult<()>;
    /// Every timed shut-up kept, for the hub to load at start-up (expired ones too until pruned).
    fn timed_shutups(&mut self) -> StorageResult<Vec<TimedShutupRecord>>;
    /// Forgets the timed shut-ups over by `now` (ms); returns how many.
    fn prune_timed_shutups(&mut self, now: i64) -> StorageResult<usize>;
    /// Blocks (`true`) or unblocks conversation `cid` for `client_id`: others may not add the
    /// client to it (REST `/1.2/rtm/clients/{id}/blacklists`).
    fn set_client_block(&mut self, client_id: &str, cid: &str, blocked: bool) -> StorageResult<()>;
    /// Every `(client id, conversation id)` block, for the hub to load at start-up.
    fn client_blocks(&mut self) -> StorageResult<Vec<(String, String)>>;
    /// Remembers that `client_id` signed in on UTC day `day` (days since the Unix epoch).
    fn record_sign_in(&mut self, day: i64, client_id: &str) -> StorageResult<()>;
    /// How many distinct clients signed in on UTC day `day`.
    fn clients_signed_in_on(&mut self, day: i64) -> StorageResult<u64>;
    /// Forgets the sign-ins of days before `day`; returns how many rows.
    fn prune_sign_ins(&mut self, before_day: i64) -> StorageResult<usize>;
    /// Unread counts of every conversation `client_id` is a member of that has unread messages
    /// newer than `since` (one query, no per-conversation round trips).
    fn unread_counts(&mut self, client_id: &str, since: i64) -> StorageResult<Vec<UnreadCount>>;
}
