//! Records and enums that cross the FFI, and their conversions to and from the SDK's types. JSON
//! values (attributes, push data) cross as JSON text.

use crate::error::{ChinwagError, parse_json};

/// Options of [`Realtime::new`](crate::Realtime::new).
#[derive(Debug, Clone, uniffi::Record)]
pub struct RealtimeOptions {
    /// The app id.
    pub app_id: String,
    /// The app key.
    pub app_key: String,
    /// An HTTP base such as `http://127.0.0.1:8282` serving `/v1/route` (a chinwag-server does). Without
    /// it and without `rtm_servers`, LeanCloud's app router is asked.
    #[uniffi(default = None)]
    pub server: Option<String>,
    /// WebSocket URLs to connect to directly, tried in turn (overrides `server`).
    #[uniffi(default = [])]
    pub rtm_servers: Vec<String>,
    /// How long one request may wait for its reply, ms (default 20 s).
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u64>,
    /// How long connecting may take, ms (default 20 s).
    #[uniffi(default = None)]
    pub connect_timeout_ms: Option<u64>,
    /// How long `create_im_client` may take before it fails with `TIMEOUT`, ms (default 30 s): an
    /// unreachable server is reported instead of retried forever.
    #[uniffi(default = None)]
    pub sign_in_timeout_ms: Option<u64>,
    /// Events each `next_event()` keeps while the application does not pull; beyond that the oldest
    /// are dropped and reported by `Event.Lagged`.
    #[uniffi(default = 1000)]
    pub event_buffer: u32,
}

impl RealtimeOptions {
    pub(crate) fn to_sdk(&self) -> chinwag::RealtimeOptions {
        let mut options = chinwag::RealtimeOptions::new(&self.app_id, &self.app_key);
        if let Some(server) = &self.server {
            options = options.server(server);
        }
        if !self.rtm_servers.is_empty() {
            options = options.rtm_servers(self.rtm_servers.clone());
        }
        if let Some(ms) = self.request_timeout_ms {
            options = options.request_timeout(std::time::Duration::from_millis(ms));
        }
        if let Some(ms) = self.connect_timeout_ms {
            options = options.connect_timeout(std::time::Duration::from_millis(ms));
        }
        if let Some(ms) = self.sign_in_timeout_ms {
            options = options.sign_in_timeout(std::time::Duration::from_millis(ms));
        }
        options
    }
}

/// A signature computed by the application's backend.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Signature {
    /// `s`.
    pub signature: String,
    /// `t`, ms.
    pub timestamp: i64,
    /// `n`.
    pub nonce: String,
}

impl From<Signature> for chinwag::Signature {
    fn from(s: Signature) -> Self {
        Self {
            signature: s.signature,
            timestamp: s.timestamp,
            nonce: s.nonce,
        }
    }
}

/// Options of `create_im_client_with`.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ClientOptions {
    /// Single-device login tag: another session with the same id and tag closes this one.
    #[uniffi(default = None)]
    pub tag: Option<String>,
    /// A login signature.
    #[uniffi(default = None)]
    pub signature: Option<Signature>,
    /// Sign in again with a session token saved from `Client.session_token()`.
    #[uniffi(default = None)]
    pub session_token: Option<String>,
}

impl From<ClientOptions> for chinwag::ClientOptions {
    fn from(o: ClientOptions) -> Self {
        Self {
            tag: o.tag,
            signature: o.signature.map(Into::into),
            session_token: o.session_token,
        }
    }
}

/// What `Client.create_conversation` creates.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CreateConversationOptions {
    /// Members besides the creator (who always joins).
    #[uniffi(default = [])]
    pub members: Vec<String>,
    /// The `name` attribute.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// `true`: return the existing conversation with exactly these members instead of a new one.
    #[uniffi(default = true)]
    pub unique: bool,
    /// Custom attributes, a JSON object.
    #[uniffi(default = None)]
    pub attributes_json: Option<String>,
    /// A chat room (open membership, online delivery only).
    #[uniffi(default = false)]
    pub chat_room: bool,
    /// A temporary conversation living this many seconds.
    #[uniffi(default = None)]
    pub temporary_ttl: Option<i32>,
    /// A conversation signature.
    #[uniffi(default = None)]
    pub signature: Option<Signature>,
}

impl CreateConversationOptions {
    /// Applies the options to the SDK's builder.
    pub(crate) fn apply(
        self,
        mut builder: chinwag::CreateConversationBuilder,
    ) -> Result<chinwag::CreateConversationBuilder, ChinwagError> {
        builder = builder.members(self.members).unique(self.unique);
        if let Some(name) = self.name {
            builder = builder.name(name);
        }
        if let Some(json) = self.attributes_json {
            let chinwag::json::Value::Object(attributes) = parse_json("attributes_json", &json)? else {
                return Err(ChinwagError::local(
                    "INVALID_ARGUMENT",
                    "attributes_json must be a JSON object",
                ));
            };
            for (key, value) in attributes {
                builder = builder.attribute(key, value);
            }
        }
        if self.chat_room {
            builder = builder.chat_room();
        }
        if let Some(ttl) = self.temporary_ttl {
            builder = builder.temporary(ttl);
        }
        if let Some(signature) = self.signature {
            builder = builder.signature(signature.into());
        }
        Ok(builder)
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MessageStatus {
    /// Waiting for the server's ack (also while queued offline).
    Sending,
    /// Acknowledged by the server (or received from it).
    Sent,
    /// A delivery receipt arrived.
    Delivered,
    /// A read receipt arrived.
    Read,
    /// The send failed.
    Failed,
}

impl From<chinwag::MessageStatus> for MessageStatus {
    fn from(status: chinwag::MessageStatus) -> Self {
        match status {
            chinwag::MessageStatus::Sending => Self::Sending,
            chinwag::MessageStatus::Sent => Self::Sent,
            chinwag::MessageStatus::Delivered => Self::Delivered,
            chinwag::MessageStatus::Read => Self::Read,
            chinwag::MessageStatus::Failed => Self::Failed,
        }
    }
}

impl From<MessageStatus> for chinwag::MessageStatus {
    fn from(status: MessageStatus) -> Self {
        match status {
            MessageStatus::Sending => Self::Sending,
            MessageStatus::Sent => Self::Sent,
            MessageStatus::Delivered => Self::Delivered,
            MessageStatus::Read => Self::Read,
            MessageStatus::Failed => Self::Failed,
        }
    }
}

/// A message of a conversation. Its content is `text` for reading and `payload`/`binary` (the exact
/// wire form) for everything else; pass the record back unchanged to `recall` or `edit` it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Message {
    /// The server's message id; `None` until acknowledged.
    pub id: Option<String>,
    /// The client-side id of a message this client sent.
    pub client_id: Option<String>,
    /// The conversation id.
    pub conversation: String,
    /// The sender's client id.
    pub from_client: String,
    /// Server timestamp, ms.
    pub timestamp: i64,
    /// When it was last edited or recalled, ms.
    pub updated_at: Option<i64>,
    /// The `_lctype` of a typed message: -1 text, -2 image, -3 audio, -4 video, -5 location, -6 file,
    /// -127 recalled, positive for the application's own types.
    pub kind: Option<i32>,
    /// The readable text: `_lctext` of a typed message or a plain string; `None` for binary.
    pub text: Option<String>,
    /// The string payload as sent on the wire (typed-message JSON or plain text).
    pub payload: Option<String>,
    /// The payload of a binary message.
    pub binary: Option<Vec<u8>>,
    /// The life-cycle status.
    pub status: MessageStatus,
    /// Client ids mentioned.
    pub mentions: Vec<String>,
    /// Whether everyone is mentioned.
    pub mention_all: bool,
    /// Whether this client is mentioned.
    pub mentioned: bool,
    /// Not stored, not counted as unread.
    pub transient: bool,
    /// When a delivery receipt arrived, ms.
    pub delivered_at: Option<i64>,
    /// When a read receipt arrived, ms.
    pub read_at: Option<i64>,
}

impl From<chinwag::Message> for Message {
    fn from(m: chinwag::Message) -> Self {
        let (payload, binary) = m.content.to_wire();
        Self {
            kind: m.content.kind().map(chinwag::MessageKind::code),
            text: m.content.text().map(str::to_owned),
            payload,
            binary,
            id: m.id,
            client_id: m.client_id,
            conversation: m.conversation,
            from_client: m.from,
            timestamp: m.timestamp,
            updated_at: m.updated_at,
            status: m.status.into(),
            mentions: m.mentions,
            mention_all: m.mention_all,
            mentioned: m.mentioned,
            transient: m.transient,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
        }
    }
}

impl From<Message> for chinwag::Message {
    fn from(m: Message) -> Self {
        Self {
            content: chinwag::MessageContent::from_wire(m.payload.as_deref(), m.binary.as_deref()),
            id: m.id,
            client_id: m.client_id,
            conversation: m.conversation,
            from: m.from_client,
            timestamp: m.timestamp,
            updated_at: m.updated_at,
            status: m.status.into(),
            mentions: m.mentions,
            mention_all: m.mention_all,
            mentioned: m.mentioned,
            transient: m.transient,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
        }
    }
}

/// What to send: text, a typed message as JSON, or bytes.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum MessageBody {
    /// A text message (`_lctype` -1), the JS `TextMessage`.
    Text {
        /// The text.
        text: String,
    },
    /// A typed message given as its JSON (`{"_lctype": -5, "_lcloc": {...}}`), or any other string,
    /// sent verbatim.
    Typed {
        /// The JSON text.
        json: String,
    },
    /// A binary message.
    Binary {
        /// The bytes.
        bytes: Vec<u8>,
    },
}

impl From<MessageBody> for chinwag::MessageContent {
    fn from(body: MessageBody) -> Self {
        match body {
            MessageBody::Text { text } => chinwag::TextMessage::new(text).into(),
            MessageBody::Typed { json } => Self::parse(&json),
            MessageBody::Binary { bytes } => chinwag::BinaryMessage::new(bytes).into(),
        }
    }
}

/// Options of `Conversation.send_message`.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct SendOptions {
    /// Not stored nor pushed offline; not counted as unread.
    #[uniffi(default = false)]
    pub transient: bool,
    /// Delivered only when the sender goes offline unexpectedly.
    #[uniffi(default = false)]
    pub will: bool,
    /// Ask for delivery and read receipts.
    #[uniffi(default = false)]
    pub receipt: bool,
    /// Priority in chat rooms (1 high, 2 normal, 3 low).
    #[uniffi(default = None)]
    pub priority: Option<i32>,
    /// Offline push payload, a JSON value.
    #[uniffi(default = None)]
    pub push_data_json: Option<String>,
    /// Client ids to mention.
    #[uniffi(default = [])]
    pub mentions: Vec<String>,
    /// Mention everyone.
    #[uniffi(default = false)]
    pub mention_all: bool,
}

impl SendOptions {
    pub(crate) fn into_sdk(self) -> Result<chinwag::SendOptions, ChinwagError> {
        let push_data = match self.push_data_json {
            Some(json) => Some(parse_json("push_data_json", &json)?),
            None => None,
        };
        Ok(chinwag::SendOptions {
            transient: self.transient,
            will: self.will,
            receipt: self.receipt,
            priority: self.priority,
            push_data,
            mentions: self.mentions,
            mention_all: self.mention_all,
        })
    }
}

/// A page request of `Conversation.query_messages`.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct HistoryQuery {
    /// Start timestamp, ms.
    #[uniffi(default = None)]
    pub start_time: Option<i64>,
    /// Start message id.
    #[uniffi(default = None)]
    pub start_message_id: Option<String>,
    /// Include the start message.
    #[uniffi(default = false)]
    pub start_closed: bool,
    /// End timestamp, ms.
    #[uniffi(default = None)]
    pub end_time: Option<i64>,
    /// End message id.
    #[uniffi(default = None)]
    pub end_message_id: Option<String>,
    /// Include the end message.
    #[uniffi(default = false)]
    pub end_closed: bool,
    /// Page size (the server defaults to 20).
    #[uniffi(default = None)]
    pub limit: Option<i32>,
    /// Only messages of this `_lctype`.
    #[uniffi(default = None)]
    pub kind: Option<i32>,
    /// `true` oldest to newest, `false` newest to oldest (the default).
    #[uniffi(default = None)]
    pub forward: Option<bool>,
}

impl From<HistoryQuery> for chinwag::HistoryQuery {
    fn from(q: HistoryQuery) -> Self {
        Self {
            start_time: q.start_time,
            start_message_id: q.start_message_id,
            start_closed: q.start_closed,
            end_time: q.end_time,
            end_message_id: q.end_message_id,
            end_closed: q.end_closed,
            limit: q.limit,
            kind: q.kind,
            forward: q.forward,
        }
    }
}

/// The kind of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConversationKind {
    /// A normal, persistent conversation.
    Normal,
    /// A chat room.
    ChatRoom,
    /// A service (system) conversation.
    Service,
    /// A temporary conversation.
    Temporary,
}

/// What is cached about a conversation (as of the last event or reply; no round trip).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConversationInfo {
    /// The conversation id.
    pub id: String,
    /// The kind.
    pub kind: ConversationKind,
    /// Member client ids, sorted.
    pub members: Vec<String>,
    /// The `name` attribute.
    pub name: Option<String>,
    /// The creator.
    pub creator: Option<String>,
    /// Members who muted notifications.
    pub muted_members: Vec<String>,
    /// Creation time (ISO string).
    pub created_at: Option<String>,
    /// Update time (ISO string).
    pub updated_at: Option<String>,
    /// Every other attribute, a JSON object.
    pub attributes_json: String,
    /// The last message, if known.
    pub last_message: Option<Message>,
    /// Timestamp of the last message, ms.
    pub last_message_at: Option<i64>,
    /// Unread messages for this client.
    pub unread: u32,
    /// Whether an unread message mentions this client.
    pub unread_mentioned: bool,
    /// Latest delivery receipt time, ms.
    pub last_delivered_at: Option<i64>,
    /// Latest read receipt time, ms.
    pub last_read_at: Option<i64>,
    /// Seconds to live of a temporary conversation.
    pub ttl: Option<i64>,
}

impl From<chinwag::ConversationInfo> for ConversationInfo {
    fn from(c: chinwag::ConversationInfo) -> Self {
        Self {
            kind: match c.kind {
                chinwag::ConversationKind::Normal => ConversationKind::Normal,
                chinwag::ConversationKind::ChatRoom => ConversationKind::ChatRoom,
                chinwag::ConversationKind::Service => ConversationKind::Service,
                chinwag::ConversationKind::Temporary => ConversationKind::Temporary,
            },
            id: c.id,
            members: c.members.into_iter().collect(),
            name: c.name,
            creator: c.creator,
            muted_members: c.muted_members.into_iter().collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            attributes_json: c.attributes.to_json(),
            last_message: c.last_message.map(Into::into),
            last_message_at: c.last_message_at,
            unread: c.unread,
            unread_mentioned: c.unread_mentioned,
            last_delivered_at: c.last_delivered_at,
            last_read_at: c.last_read_at,
            ttl: c.ttl,
        }
    }
}

/// Members a membership change failed for, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberFailure {
    /// The client ids.
    pub client_ids: Vec<String>,
    /// The protocol error code.
    pub code: i32,
    /// The symbolic name.
    pub name: String,
    /// The server's message.
    pub detail: String,
}

/// The outcome of add/remove/join/quit and the other membership calls.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MembershipResult {
    /// Client ids the operation applied to.
    pub succeeded: Vec<String>,
    /// Failures, grouped by error.
    pub failed: Vec<MemberFailure>,
}

impl From<chinwag::MembershipResult> for MembershipResult {
    fn from(r: chinwag::MembershipResult) -> Self {
        Self {
            succeeded: r.succeeded,
            failed: r
                .failed
                .into_iter()
                .map(|f| MemberFailure {
                    client_ids: f.client_ids,
                    code: f.error.code,
                    name: f.error.reason,
                    detail: f.error.detail.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// A conversation's latest receipt times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptTimestamps {
    /// Latest read receipt, ms.
    pub last_read_at: Option<i64>,
    /// Latest delivery receipt, ms.
    pub last_delivered_at: Option<i64>,
}

impl From<chinwag::ReceiptTimestamps> for ReceiptTimestamps {
    fn from(r: chinwag::ReceiptTimestamps) -> Self {
        Self {
            last_read_at: r.last_read_at,
            last_delivered_at: r.last_delivered_at,
        }
    }
}

/// One member's receipt times.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberReceipt {
    /// The member.
    pub client: String,
    /// Latest delivered, ms.
    pub delivered_at: Option<i64>,
    /// Latest read, ms.
    pub read_at: Option<i64>,
}

impl From<chinwag::MemberReceipt> for MemberReceipt {
    fn from(r: chinwag::MemberReceipt) -> Self {
        Self {
            client: r.client,
            delivered_at: r.max_ack,
            read_at: r.max_read,
        }
    }
}

/// One conversation's unread count, in `Event.UnreadCountUpdated`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnreadCount {
    /// The conversation.
    pub conversation: String,
    /// Unread messages.
    pub count: u32,
    /// Whether one of them mentions this client.
    pub mentioned: bool,
}
