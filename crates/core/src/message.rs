//! Messages as the application sees them: content, ids, timestamps, status, mentions.

use chinwag_protocol::{DirectCommand, LogItem, MessageContent, PatchItem};

/// Where a message is in its life (PROTOCOL.md §4.4; `Read` as in the Swift SDK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageStatus {
    /// Sent by this client and waiting for the server's ack (also while queued offline).
    Sending,
    /// Acknowledged by the server (or received from it).
    Sent,
    /// A delivery receipt arrived for it.
    Delivered,
    /// A read receipt arrived for it.
    Read,
    /// The send failed (server error or timeout).
    Failed,
}

/// A message of a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The server's message id (`uid`/`id`/`msgId`); `None` until the server acknowledged a send.
    pub id: Option<String>,
    /// The client-side id sent as `dt` (uuid v4); present on messages this engine sent.
    pub client_id: Option<String>,
    /// The conversation id.
    pub conversation: String,
    /// The sender's client id.
    pub from: String,
    /// Server timestamp in ms (0 until acknowledged).
    pub timestamp: i64,
    /// When the message was last edited or recalled (`patchTimestamp`), ms.
    pub updated_at: Option<i64>,
    /// The payload.
    pub content: MessageContent,
    /// The life-cycle status.
    pub status: MessageStatus,
    /// Client ids mentioned (`mentionPids`).
    pub mentions: Vec<String>,
    /// Whether everyone is mentioned (`mentionAll`).
    pub mention_all: bool,
    /// Whether the receiving client is mentioned (not from itself and mentioned or mention-all).
    pub mentioned: bool,
    /// A transient message (not stored, not counted as unread).
    pub transient: bool,
    /// When a delivery receipt arrived, ms.
    pub delivered_at: Option<i64>,
    /// When a read receipt arrived, ms.
    pub read_at: Option<i64>,
}

/// Options of [`Engine::send`](crate::Engine::send) (the JS `send(message, options)`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendOptions {
    /// Not stored nor pushed offline; not counted as unread.
    pub transient: bool,
    /// Delivered only when the sender goes offline unexpectedly.
    pub will: bool,
    /// Ask for delivery/read receipts (`r`).
    pub receipt: bool,
    /// Priority for chat rooms (1 high, 2 normal, 3 low).
    pub priority: Option<i32>,
    /// Offline push payload (JSON), sent as `pushData`.
    pub push_data: Option<chinwag_protocol::json::Value>,
    /// Client ids to mention.
    pub mentions: Vec<String>,
    /// Mention everyone.
    pub mention_all: bool,
}

impl Message {
    fn base(conversation: String, from: String, content: MessageContent) -> Self {
        Self {
            id: None,
            client_id: None,
            conversation,
            from,
            timestamp: 0,
            updated_at: None,
            content,
            status: MessageStatus::Sent,
            mentions: Vec::new(),
            mention_all: false,
            mentioned: false,
            transient: false,
            delivered_at: None,
            read_at: None,
        }
    }

    fn set_mentioned(&mut self, me: &str) {
        self.mentioned = self.from != me && (self.mention_all || self.mentions.iter().any(|m| m == me));
    }

    /// A message this client is about to send.
    pub(crate) fn outgoing(
        conversation: &str,
        from: &str,
        content: MessageContent,
        options: &SendOptions,
        client_id: String,
    ) -> Self {
        let mut message = Self::base(conversation.to_owned(), from.to_owned(), content);
        message.client_id = Some(client_id);
        message.status = MessageStatus::Sending;
        message.mentions = options.mentions.clone();
        message.mention_all = options.mention_all;
        message.transient = options.transient;
        message
    }

    /// A message from a `direct` push, as seen by client `me`.
    pub(crate) fn from_direct(direct: &DirectCommand, me: &str) -> Self {
        let content = received_content(direct.msg.as_deref(), direct.binary_msg.as_deref());
        let mut message = Self::base(
            direct.cid.clone().unwrap_or_default(),
            direct.from_peer_id.clone().unwrap_or_default(),
            content,
        );
        message.id = direct.id.clone();
        message.timestamp = direct.timestamp.unwrap_or_default();
        message.updated_at = direct.patch_timestamp;
        message.mentions = direct.mention_pids.clone();
        message.mention_all = direct.mention_all.unwrap_or(false);
        message.transient = direct.transient.unwrap_or(false);
        message.set_mentioned(me);
        message
    }

    /// A message from a history (`logs`) item of conversation `cid`.
    pub(crate) fn from_log(item: &LogItem, cid: &str, me: &str) -> Self {
        let content = wire_content(item.data.as_deref(), item.bin.unwrap_or(false));
        let mut message = Self::base(cid.to_owned(), item.from.clone().unwrap_or_default(), content);
        message.id = item.msg_id.clone();
        message.timestamp = item.timestamp.unwrap_or_default();
        message.updated_at = item.patch_timestamp;
        message.mentions = item.mention_pids.clone();
        message.mention_all = item.mention_all.unwrap_or(false);
        message.delivered_at = item.ack_at;
        message.read_at = item.read_at;
        message.set_mentioned(me);
        message
    }

    /// The new version of a message from a `patch` item.
    pub(crate) fn from_patch(item: &PatchItem, me: &str) -> Self {
        let content = received_content(item.data.as_deref(), item.binary_msg.as_deref());
        let mut message = Self::base(
            item.cid.clone().unwrap_or_default(),
            item.from.clone().unwrap_or_default(),
            content,
        );
        message.id = item.mid.clone();
        message.timestamp = item.timestamp.unwrap_or_default();
        message.updated_at = item.patch_timestamp;
        message.mentions = item.mention_pids.clone();
        message.mention_all = item.mention_all.unwrap_or(false);
        message.set_mentioned(me);
        message
    }
}

/// Sorts messages by server timestamp, oldest first; equal timestamps keep their order (stable).
///
/// One function for every place that orders messages, so the wasm build carries one copy of the
/// sort rather than one per call site's closure.
pub(crate) fn sort_by_time(messages: &mut [Message]) {
    messages.sort_by_key(|m| m.timestamp);
}

/// Reads a `data` field that is base64 of binary content when `bin` is set (logs, conversation results).
pub(crate) fn wire_content(data: Option<&str>, bin: bool) -> MessageContent {
    match (data, bin) {
        (Some(data), true) => chinwag_protocol::base64::decode(data)
            .map_or_else(|_| MessageContent::Text(data.to_owned()), MessageContent::Binary),
        (data, _) => received_content(data, None),
    }
}

/// A received payload: `binary` when present, else the string, read as a typed message when it has
/// the typed shape ([`MessageContent::from_wire`]).
///
/// Without the `typed-content` feature every string stays [`MessageContent::Text`], verbatim
/// ([`MessageContent::from_wire_verbatim`]): the npm package hands payloads to JavaScript, which reads
/// them with the host's `JSON.parse` as the official SDK does, so its wasm needs no typed-message
/// reader (about 3 KB gzip).
pub(crate) fn received_content(text: Option<&str>, binary: Option<&[u8]>) -> MessageContent {
    if cfg!(feature = "typed-content") {
        MessageContent::from_wire(text, binary)
    } else {
        MessageContent::from_wire_verbatim(text, binary)
    }
}
