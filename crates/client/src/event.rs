//! What a client and its conversations are told: the core's events, without the client id (each
//! stream belongs to one client) and with errors in the SDK's [`Error`] type.

use std::time::Duration;

use chinwag_core::json::Map;
use chinwag_core::{DisconnectReason, Message, MessageStatus};

use crate::error::Error;

/// Something a client (or one of its conversations) should know. Connection events are seen by every
/// client of a [`Realtime`](crate::Realtime), since they share the connection; the others concern one
/// client and name the conversation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// This stream was not read in time and its oldest `missed` events were dropped (see
    /// [`EventStream`](crate::EventStream)); what follows is the newest. Never sent by the server.
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
    /// The WebSocket opened (sign-ins follow).
    Connected,
    /// The connection went down (`disconnect`).
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A reconnect is scheduled (`schedule`).
    Reconnecting {
        /// 0-based attempt.
        attempt: u32,
        /// The delay before it.
        delay: Duration,
    },
    /// The client signed in again after a reconnect (`reconnect`).
    Reconnected,
    /// Re-login after a reconnect failed (`reconnecterror`); the client is closed.
    ReconnectFailed {
        /// Why.
        error: Error,
    },
    /// The network is gone; no retries until it returns.
    Offline,
    /// The network is back; reconnecting.
    Online,
    /// A fatal close code (4100, 4103, 4110): no more retries.
    ConnectionFailed {
        /// The close code.
        code: u16,
    },
    /// Another device signed in with the same `tag` (`conflict`); the client is closed.
    Conflict {
        /// The server's reason.
        reason: String,
    },
    /// The session was closed (`close`); the client is closed.
    Closed {
        /// Close code (0 for a local close).
        code: i32,
        /// The server's reason.
        reason: String,
    },
    /// A message arrived (`message`): live, or filled in after a reconnect; each once, in order.
    Message {
        /// The message (its `conversation` names the conversation).
        message: Message,
    },
    /// A message was recalled (`messagerecall`).
    MessageRecalled {
        /// The recalled message.
        message: Message,
        /// `(patchCode, patchReason)` when the server gave one.
        reason: Option<(i64, String)>,
    },
    /// A message was edited (`messageupdate`).
    MessageUpdated {
        /// The new version.
        message: Message,
        /// `(patchCode, patchReason)` when the server gave one.
        reason: Option<(i64, String)>,
    },
    /// A message sent with a receipt was delivered or read.
    MessageStatusChanged {
        /// The conversation.
        conversation: String,
        /// The server message id.
        message_id: String,
        /// `Delivered` or `Read`.
        status: MessageStatus,
        /// Receipt time, ms.
        at: i64,
    },
    /// Unread counts changed (`unreadmessagescountupdate`).
    UnreadCountUpdated {
        /// `(conversation, unread count, mentioned)`.
        conversations: Vec<(String, u32, bool)>,
    },
    /// The peer's delivery receipt time advanced (`lastdeliveredatupdate`).
    LastDeliveredAt {
        /// The conversation.
        conversation: String,
        /// ms.
        at: i64,
    },
    /// The peer's read receipt time advanced (`lastreadatupdate`).
    LastReadAt {
        /// The conversation.
        conversation: String,
        /// ms.
        at: i64,
    },
    /// This client was added to a conversation (`invited`).
    Invited {
        /// The conversation.
        conversation: String,
        /// Who added it.
        invited_by: Option<String>,
    },
    /// This client was removed from a conversation (`kicked`).
    Kicked {
        /// The conversation.
        conversation: String,
        /// Who removed it.
        kicked_by: Option<String>,
    },
    /// Members joined (`membersjoined`).
    MembersJoined {
        /// The conversation.
        conversation: String,
        /// The new members.
        members: Vec<String>,
        /// Who added them.
        invited_by: Option<String>,
    },
    /// Members left (`membersleft`).
    MembersLeft {
        /// The conversation.
        conversation: String,
        /// The members who left.
        members: Vec<String>,
        /// Who removed them (themselves when they quit).
        kicked_by: Option<String>,
    },
    /// Members were blocked (`membersblocked`).
    MembersBlocked {
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who blocked them.
        blocked_by: Option<String>,
    },
    /// Members were unblocked (`membersunblocked`).
    MembersUnblocked {
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who unblocked them.
        unblocked_by: Option<String>,
    },
    /// This client was blocked (`blocked`).
    Blocked {
        /// The conversation.
        conversation: String,
        /// Who blocked it.
        blocked_by: Option<String>,
    },
    /// This client was unblocked (`unblocked`).
    Unblocked {
        /// The conversation.
        conversation: String,
        /// Who unblocked it.
        unblocked_by: Option<String>,
    },
    /// Members were shut up (`membersmuted`).
    MembersMuted {
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who muted them.
        muted_by: Option<String>,
    },
    /// Members may speak again (`membersunmuted`).
    MembersUnmuted {
        /// The conversation.
        conversation: String,
        /// The members.
        members: Vec<String>,
        /// Who unmuted them.
        unmuted_by: Option<String>,
    },
    /// This client was shut up (`muted`).
    Muted {
        /// The conversation.
        conversation: String,
        /// Who muted it.
        muted_by: Option<String>,
    },
    /// This client may speak again (`unmuted`).
    Unmuted {
        /// The conversation.
        conversation: String,
        /// Who unmuted it.
        unmuted_by: Option<String>,
    },
    /// A member's role changed (`memberinfoupdated`).
    MemberInfoUpdated {
        /// The conversation.
        conversation: String,
        /// The member.
        member: String,
        /// The new role (`Owner`/`Manager`/`Member`).
        role: Option<String>,
        /// Who changed it.
        updated_by: Option<String>,
    },
    /// Conversation attributes changed (`infoupdated`).
    InfoUpdated {
        /// The conversation.
        conversation: String,
        /// The changed keys (dotted paths allowed).
        attributes: Map,
        /// Who changed them.
        updated_by: Option<String>,
    },
    /// A command the engine does not understand (`unhandledmessage`).
    Unhandled {
        /// `cmd` value.
        cmd: Option<i32>,
        /// `op` value.
        op: Option<i32>,
    },
}

impl Event {
    /// The conversation this event concerns, if it concerns exactly one.
    pub fn conversation(&self) -> Option<&str> {
        match self {
            Self::Message { message }
            | Self::MessageRecalled { message, .. }
            | Self::MessageUpdated { message, .. } => Some(&message.conversation),
            Self::MessageStatusChanged { conversation, .. }
            | Self::LastDeliveredAt { conversation, .. }
            | Self::LastReadAt { conversation, .. }
            | Self::Invited { conversation, .. }
            | Self::Kicked { conversation, .. }
            | Self::MembersJoined { conversation, .. }
            | Self::MembersLeft { conversation, .. }
            | Self::MembersBlocked { conversation, .. }
            | Self::MembersUnblocked { conversation, .. }
            | Self::Blocked { conversation, .. }
            | Self::Unblocked { conversation, .. }
            | Self::MembersMuted { conversation, .. }
            | Self::MembersUnmuted { conversation, .. }
            | Self::Muted { conversation, .. }
            | Self::Unmuted { conversation, .. }
            | Self::MemberInfoUpdated { conversation, .. }
            | Self::InfoUpdated { conversation, .. } => Some(conversation),
            _ => None,
        }
    }

    /// Whether this is a connection event, seen by every client of the connection.
    pub fn is_connection_event(&self) -> bool {
        matches!(
            self,
            Self::Connected
                | Self::Disconnected { .. }
                | Self::Reconnecting { .. }
                | Self::Offline
                | Self::Online
                | Self::ConnectionFailed { .. }
        )
    }

    /// The version of this event for the stream of `conversation`, if it belongs there.
    pub(crate) fn for_conversation(&self, conversation: &str) -> Option<Self> {
        if let Self::UnreadCountUpdated { conversations } = self {
            let mine: Vec<_> = conversations
                .iter()
                .filter(|(cid, ..)| cid == conversation)
                .cloned()
                .collect();
            return (!mine.is_empty()).then_some(Self::UnreadCountUpdated { conversations: mine });
        }
        (self.conversation() == Some(conversation)).then(|| self.clone())
    }
}

/// Splits a core event (other than a response) into the client it concerns (`None`: every client)
/// and the SDK's event.
pub(crate) fn from_core(event: chinwag_core::Event) -> Option<(Option<String>, Event)> {
    use chinwag_core::Event as E;
    let routed = |client: String, event: Event| Some((Some(client), event));
    match event {
        E::Response { .. } => None,
        E::Connected => Some((None, Event::Connected)),
        E::Disconnected { reason } => Some((None, Event::Disconnected { reason })),
        E::Reconnecting { attempt, delay } => Some((None, Event::Reconnecting { attempt, delay })),
        E::Offline => Some((None, Event::Offline)),
        E::Online => Some((None, Event::Online)),
        E::ConnectionFailed { code } => Some((None, Event::ConnectionFailed { code })),
        E::Reconnected { client } => routed(client, Event::Reconnected),
        E::ReconnectFailed { client, error } => {
            routed(client, Event::ReconnectFailed { error: error.into() })
        }
        E::Conflict { client, reason } => routed(client, Event::Conflict { reason }),
        E::Closed { client, code, reason } => routed(client, Event::Closed { code, reason }),
        E::Message { client, message } => routed(client, Event::Message { message }),
        E::MessageRecalled {
            client,
            message,
            reason,
        } => routed(client, Event::MessageRecalled { message, reason }),
        E::MessageUpdated {
            client,
            message,
            reason,
        } => routed(client, Event::MessageUpdated { message, reason }),
        E::MessageStatusChanged {
            client,
            conversation,
            message_id,
            status,
            at,
        } => routed(
            client,
            Event::MessageStatusChanged {
                conversation,
                message_id,
                status,
                at,
            },
        ),
        E::UnreadCountUpdated {
            client,
            conversations,
        } => routed(client, Event::UnreadCountUpdated { conversations }),
        E::LastDeliveredAt {
            client,
            conversation,
            at,
        } => routed(client, Event::LastDeliveredAt { conversation, at }),
        E::LastReadAt {
            client,
            conversation,
            at,
        } => routed(client, Event::LastReadAt { conversation, at }),
        E::Invited {
            client,
            conversation,
            invited_by,
        } => routed(
            client,
            Event::Invited {
                conversation,
                invited_by,
            },
        ),
        E::Kicked {
            client,
            conversation,
            kicked_by,
        } => routed(
            client,
            Event::Kicked {
                conversation,
                kicked_by,
            },
        ),
        E::MembersJoined {
            client,
            conversation,
            members,
            invited_by,
        } => routed(
            client,
            Event::MembersJoined {
                conversation,
                members,
                invited_by,
            },
        ),
        E::MembersLeft {
            client,
            conversation,
            members,
            kicked_by,
        } => routed(
            client,
            Event::MembersLeft {
                conversation,
                members,
                kicked_by,
            },
        ),
        E::MembersBlocked {
            client,
            conversation,
            members,
            blocked_by,
        } => routed(
            client,
            Event::MembersBlocked {
                conversation,
                members,
                blocked_by,
            },
        ),
        E::MembersUnblocked {
            client,
            conversation,
            members,
            unblocked_by,
        } => routed(
            client,
            Event::MembersUnblocked {
                conversation,
                members,
                unblocked_by,
            },
        ),
        E::Blocked {
            client,
            conversation,
            blocked_by,
        } => routed(
            client,
            Event::Blocked {
                conversation,
                blocked_by,
            },
        ),
        E::Unblocked {
            client,
            conversation,
            unblocked_by,
        } => routed(
            client,
            Event::Unblocked {
                conversation,
                unblocked_by,
            },
        ),
        E::MembersMuted {
            client,
            conversation,
            members,
            muted_by,
        } => routed(
            client,
            Event::MembersMuted {
                conversation,
                members,
                muted_by,
            },
        ),
        E::MembersUnmuted {
            client,
            conversation,
            members,
            unmuted_by,
        } => routed(
            client,
            Event::MembersUnmuted {
                conversation,
                members,
                unmuted_by,
            },
        ),
        E::Muted {
            client,
            conversation,
            muted_by,
        } => routed(
            client,
            Event::Muted {
                conversation,
                muted_by,
            },
        ),
        E::Unmuted {
            client,
            conversation,
            unmuted_by,
        } => routed(
            client,
            Event::Unmuted {
                conversation,
                unmuted_by,
            },
        ),
        E::MemberInfoUpdated {
            client,
            conversation,
            member,
            role,
            updated_by,
        } => routed(
            client,
            Event::MemberInfoUpdated {
                conversation,
                member,
                role,
                updated_by,
            },
        ),
        E::InfoUpdated {
            client,
            conversation,
            attributes,
            updated_by,
        } => routed(
            client,
            Event::InfoUpdated {
                conversation,
                attributes,
                updated_by,
            },
        ),
        E::Unhandled { client, cmd, op } => Some((client, Event::Unhandled { cmd, op })),
    }
}
