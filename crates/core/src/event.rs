//! What the engine tells the application.
//!
//! Every event that concerns a client names it (`client`), and every conversation event names the
//! conversation, so a front end can emit it both on the client (`client.on(...)`) and on the
//! conversation object (`conversation.on(...)`), as the JS SDK does.
//!
//! | JS SDK event (`Event.*`) | here |
//! |---|---|
//! | `MESSAGE` | [`Event::Message`] |
//! | `INVITED` / `KICKED` | [`Event::Invited`] / [`Event::Kicked`] |
//! | `MEMBERS_JOINED` / `MEMBERS_LEFT` | [`Event::MembersJoined`] / [`Event::MembersLeft`] |
//! | `BLOCKED` / `UNBLOCKED` / `MEMBERS_BLOCKED` / `MEMBERS_UNBLOCKED` | [`Event::Blocked`] / [`Event::Unblocked`] / [`Event::MembersBlocked`] / [`Event::MembersUnblocked`] |
//! | `MUTED` / `UNMUTED` / `MEMBERS_MUTED` / `MEMBERS_UNMUTED` | [`Event::Muted`] / [`Event::Unmuted`] / [`Event::MembersMuted`] / [`Event::MembersUnmuted`] |
//! | `MEMBER_INFO_UPDATED` | [`Event::MemberInfoUpdated`] |
//! | `CONVERSATION_INFO_UPDATED` / `INFO_UPDATED` | [`Event::InfoUpdated`] |
//! | `MESSAGE_RECALL` / `MESSAGE_UPDATE` | [`Event::MessageRecalled`] / [`Event::MessageUpdated`] |
//! | `UNREAD_MESSAGES_COUNT_UPDATE` | [`Event::UnreadCountUpdated`] |
//! | `LAST_DELIVERED_AT_UPDATE` / `LAST_READ_AT_UPDATE` | [`Event::LastDeliveredAt`] / [`Event::LastReadAt`] |
//! | `DISCONNECT` / `SCHEDULE` / `RETRY` / `RECONNECT` / `RECONNECT_ERROR` | [`Event::Disconnected`] / [`Event::Reconnecting`] / ([`Event::Connected`]) / [`Event::Reconnected`] / [`Event::ReconnectFailed`] |
//! | `OFFLINE` / `ONLINE` | [`Event::Offline`] / [`Event::Online`] |
//! | `CONFLICT` / `CLOSE` | [`Event::Conflict`] / [`Event::Closed`] |
//! | `UNHANDLED_MESSAGE` | [`Event::Unhandled`] |
//! | promise results | [`Event::Response`] |

use core::time::Duration;

use chinwag_protocol::ServerError;
use chinwag_protocol::json::Map;

use crate::conversation::Conversation;
use crate::message::{Message, MessageStatus};
use crate::requests::RequestId;

/// Why the connection went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The driver reported the socket closed (with its close code, if any).
    Closed(Option<u16>),
    /// No frame arrived for the dead-connection interval (380 s).
    Dead,
    /// The server sent `goaway`.
    Goaway,
    /// The driver reported the network is gone ([`Engine::set_online`](crate::Engine::set_online)).
    Offline,
    /// The sign-in on a fresh connection timed out.
    LoginTimeout,
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The server answered with an error.
    Server(ServerError),
    /// No reply within the request timeout (20 s; the JS SDK's `COMMAND_TIMEOUT`), or a first
    /// sign-in that did not complete within the sign-in timeout (30 s; the server is unreachable or
    /// silent).
    Timeout,
    /// The connection dropped while the request was in flight (sends are re-queued instead).
    ConnectionLost,
    /// The connection failed for good (fatal close code) or the engine was shut down.
    ConnectionClosed,
    /// No client with this id is open on this engine.
    NoSuchClient,
    /// A client with this id is already open.
    AlreadyOpen,
    /// The offline queue is full.
    QueueFull,
    /// The client was closed or kicked before the request completed.
    ClientClosed,
    /// A request the engine refuses locally (e.g. promoting a member to owner, code 5130).
    Invalid(String),
}

impl RequestError {
    /// What went wrong, in words (also its `Display`): `request timed out`, `server error: 4401
    /// INVALID_MESSAGING_TARGET`, ... Built without `core::fmt`, which the npm package's wasm leaves out.
    pub fn message(&self) -> String {
        match self {
            Self::Server(error) => ["server error: ", &error.message()].concat(),
            local => {
                let (words, detail) = local.local_words().unwrap_or_default();
                [words, detail].concat()
            }
        }
    }

    /// A local error's words and detail, which [`message`](Self::message) joins; `None` for a
    /// server error. Apart so that the npm package words local errors without server errors'
    /// formatting (and its table of error names).
    pub fn local_words(&self) -> Option<(&'static str, &str)> {
        Some(match self {
            Self::Server(_) => return None,
            Self::Invalid(detail) => ("invalid request: ", detail.as_str()),
            Self::Timeout => ("request timed out", ""),
            Self::ConnectionLost => ("connection lost", ""),
            Self::ConnectionClosed => ("connection closed", ""),
            Self::NoSuchClient => ("no such client", ""),
            Self::AlreadyOpen => ("client already open", ""),
            Self::QueueFull => ("offline queue full", ""),
            Self::ClientClosed => ("client closed", ""),
        })
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for RequestError {}

/// A client id that failed in a partially successful membership operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialFailure {
    /// The client ids this error applies to.
    pub client_ids: Vec<String>,
    /// The error.
    pub error: ServerError,
}

/// One member's receipt timestamps (`max_read` with `queryAllMembers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberReceipt {
    /// The member.
    pub client: String,
    /// Latest delivered, ms.
    pub max_ack: Option<i64>,
    /// Latest read, ms.
    pub max_read: Option<i64>,
}

/// A successful request outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// The client signed in.
    Opened,
    /// The client signed out.
    Closed,
    /// A created conversation.
    Created(Conversation),
    /// Query results.
    Conversations(Vec<Conversation>),
    /// The message was acknowledged (status `Sent`, server id and timestamp set).
    Sent(Message),
    /// A history page, ascending by timestamp.
    History(Vec<Message>),
    /// A membership / shut-up / block operation: who succeeded and who failed.
    Partial {
        /// Client ids the operation applied to.
        succeeded: Vec<String>,
        /// Failures, grouped by error.
        failed: Vec<PartialFailure>,
    },
    /// Member (or online) count.
    Count(i64),
    /// Attributes saved; the server's update time.
    Updated {
        /// `udate` (ISO string).
        updated_at: Option<String>,
    },
    /// The request succeeded with nothing to return (mute, unmute, role update, read).
    Done,
    /// Which of the asked clients are online.
    Online(Vec<String>),
    /// The conversation's receipt timestamps.
    ReceiptTimestamps {
        /// Latest read, ms.
        max_read: Option<i64>,
        /// Latest delivered, ms.
        max_ack: Option<i64>,
    },
    /// Every member's receipt timestamps.
    MemberReceipts(Vec<MemberReceipt>),
    /// A page of muted or blocked members.
    Members {
        /// Client ids.
        members: Vec<String>,
        /// Cursor for the next page.
        next: Option<String>,
    },
    /// A message was edited or recalled; the new version.
    Patched(Message),
    /// A fresh session token (`session/refresh`); the engine keeps it for re-logins and
    /// [`Engine::session_token`](crate::Engine::session_token).
    SessionToken(String),
}

/// Something the application should know.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The outcome of a command.
    Response {
        /// The client that issued it.
        client: String,
        /// The id the command returned.
        request: RequestId,
        /// Success or failure.
        result: Result<Response, RequestError>,
    },
    /// The WebSocket opened; sign-ins follow.
    Connected,
    /// The connection went down.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A reconnect is scheduled (`schedule` in the JS SDK).
    Reconnecting {
        /// 0-based attempt.
        attempt: u32,
        /// Delay before it.
        delay: Duration,
    },
    /// The network is gone; no retries until it returns.
    Offline,
    /// The network is back; reconnecting now.
    Online,
    /// A fatal close code (4100, 4103, 4110): no more retries.
    ConnectionFailed {
        /// The close code.
        code: u16,
    },
    /// The client signed in again after a reconnect (`reconnect`).
    Reconnected {
        /// The client.
        client: String,
    },
    /// Re-login after a reconnect failed (`reconnecterror`); the client is closed.
    ReconnectFailed {
        /// The client.
        client: String,
        /// Why.
        error: RequestError,
    },
    /// Another device signed in with the same `tag` (4111): the client is closed.
    Conflict {
        /// The client.
        client: String,
        /// The server's reason.
        reason: String,
    },
    /// The server closed the session.
    Closed {
        /// The client.
        client: String,
        /// Close code (0 for a local close).
        code: i32,
        /// The server's reason.
        reason: String,
    },
    /// A message arrived (live, or filled in from history after a reconnect); each once, in order.
    Message {
        /// The receiving client.
        client: String,
        /// The message.
        message: Message,
    },
    /// A message was recalled.
    MessageRecalled {
        /// The client.
        client: String,
        /// The recalled message (content `{"_lctype":-127}` as sent by the server).
        message: Message,
        /// `(patchCode, patchReason)` when the server gave one.
        reason: Option<(i64, String)>,
    },
    /// A message was edited.
    MessageUpdated {
        /// The client.
        client: String,
        /// The new version.
        message: Message,
        /// `(patchCode, patchReason)` when the server gave one.
        reason: Option<(i64, String)>,
    },
    /// A message sent with `receipt` was delivered or read.
    MessageStatusChanged {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The server message id.
        message_id: String,
        /// `Delivered` or `Read`.
        status: MessageStatus,
        /// Receipt time, ms.
        at: i64,
    },
    /// Unread counts changed (`unreadmessagescountupdate`): `(conversation, unread, mentioned)`.
    UnreadCountUpdated {
        /// The client.
        client: String,
        /// The conversations whose count changed.
        conversations: Vec<(String, u32, bool)>,
    },
    /// The peer's delivery receipt time advanced.
    LastDeliveredAt {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// ms.
        at: i64,
    },
    /// The peer's read receipt time advanced.
    LastReadAt {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// ms.
        at: i64,
    },
    /// This client was added to a conversation (`invited`).
    Invited {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// Who added it.
        invited_by: Option<String>,
    },
    /// This client was removed from a conversation (`kicked`).
    Kicked {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// Who removed it.
        kicked_by: Option<String>,
    },
    /// Members joined (`membersjoined`).
    MembersJoined {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The new members.
        members: Vec<String>,
        /// Who added them.
        invited_by: Option<String>,
    },
    /// Members left (`membersleft`).
    MembersLeft {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The members who left.
        members: Vec<String>,
        /// Who removed them (themselves when they quit).
        kicked_by: Option<String>,
    },
    /// Members were blocked (`membersblocked`).
    MembersBlocked {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who blocked them.
        blocked_by: Option<String>,
    },
    /// Members were unblocked (`membersunblocked`).
    MembersUnblocked {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who unblocked them.
        unblocked_by: Option<String>,
    },
    /// This client was blocked (`blocked`).
    Blocked {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// Who blocked it.
        blocked_by: Option<String>,
    },
    /// This client was unblocked (`unblocked`).
    Unblocked {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// Who unblocked it.
        unblocked_by: Option<String>,
    },
    /// Members were shut up (`membersmuted`).
    MembersMuted {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who muted them.
        muted_by: Option<String>,
    },
    /// Members may speak again (`membersunmuted`).
    MembersUnmuted {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who unmuted them.
        unmuted_by: Option<String>,
    },
    /// This client was shut up (`muted`).
    Muted {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// Who muted it.
        muted_by: Option<String>,
    },
    /// This client may speak again (`unmuted`).
    Unmuted {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// Who unmuted it.
        unmuted_by: Option<String>,
    },
    /// A member's role changed (`memberinfoupdated`).
    MemberInfoUpdated {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The member.
        member: String,
        /// The new role (`Owner`/`Manager`/`Member`).
        role: Option<String>,
        /// Who changed it.
        updated_by: Option<String>,
    },
    /// Conversation attributes changed (`conversationinfoupdated` / `infoupdated`).
    InfoUpdated {
        /// The client.
        client: String,
        /// The conversation.
        conversation: String,
        /// The changed keys (dotted paths allowed).
        attributes: Map,
        /// Who changed them.
        updated_by: Option<String>,
    },
    /// A command the engine does not understand (`unhandledmessage`).
    Unhandled {
        /// The client it was routed to, if any.
        client: Option<String>,
        /// `cmd` value.
        cmd: Option<i32>,
        /// `op` value.
        op: Option<i32>,
    },
}
