//! Holding a client's push events until the conversations they name are fetched.
//!
//! A push (message, membership change, `unread`, `rcp`, `patch`) may name a conversation the cache
//! knows by id only. Like the official SDKs, which fetch such a conversation before they emit the
//! event, the engine keeps that client's events back until the fetch (`conv/query`) answers, so that
//! an application reading [`Engine::conversation`] when it handles the event sees the name, members
//! and attributes. Events stay in wire order per client: once one is held, the client's later
//! events queue behind it. A fetch that fails or times out releases its events too (they then carry
//! what the push said); a lost connection or a closed client releases everything held.

use crate::engine::{Engine, Status};
use crate::event::Event;
use crate::sorted_set::SortedSet;

impl Event {
    /// The client of an event that follows a push and may be held, or `None` for responses,
    /// connection and session events (never held).
    fn held_client(&self) -> Option<&str> {
        match self {
            Event::Message { client, .. }
            | Event::MessageRecalled { client, .. }
            | Event::MessageUpdated { client, .. }
            | Event::MessageStatusChanged { client, .. }
            | Event::UnreadCountUpdated { client, .. }
            | Event::LastDeliveredAt { client, .. }
            | Event::LastReadAt { client, .. }
            | Event::Invited { client, .. }
            | Event::Kicked { client, .. }
            | Event::MembersJoined { client, .. }
            | Event::MembersLeft { client, .. }
            | Event::MembersBlocked { client, .. }
            | Event::MembersUnblocked { client, .. }
            | Event::Blocked { client, .. }
            | Event::Unblocked { client, .. }
            | Event::MembersMuted { client, .. }
            | Event::MembersUnmuted { client, .. }
            | Event::Muted { client, .. }
            | Event::Unmuted { client, .. }
            | Event::MemberInfoUpdated { client, .. }
            | Event::InfoUpdated { client, .. } => Some(client),
            Event::Unhandled { client, .. } => client.as_deref(),
            _ => None,
        }
    }

    /// Whether the event names one of `cids`.
    fn names_any(&self, cids: &SortedSet<String>) -> bool {
        match self {
            Event::Message { message, .. }
            | Event::MessageRecalled { message, .. }
            | Event::MessageUpdated { message, .. } => cids.contains(&message.conversation),
            Event::UnreadCountUpdated { conversations, .. } => {
                conversations.iter().any(|(cid, _, _)| cids.contains(cid))
            }
            Event::MessageStatusChanged { conversation, .. }
            | Event::LastDeliveredAt { conversation, .. }
            | Event::LastReadAt { conversation, .. }
            | Event::Invited { conversation, .. }
            | Event::Kicked { conversation, .. }
            | Event::MembersJoined { conversation, .. }
            | Event::MembersLeft { conversation, .. }
            | Event::MembersBlocked { conversation, .. }
            | Event::MembersUnblocked { conversation, .. }
            | Event::Blocked { conversation, .. }
            | Event::Unblocked { conversation, .. }
            | Event::MembersMuted { conversation, .. }
            | Event::MembersUnmuted { conversation, .. }
            | Event::Muted { conversation, .. }
            | Event::Unmuted { conversation, .. }
            | Event::MemberInfoUpdated { conversation, .. }
            | Event::InfoUpdated { conversation, .. } => cids.contains(conversation),
            _ => false,
        }
    }
}

impl Engine {
    /// Moves the events queued since `start` that must wait for a fetch into their client's hold
    /// queue: those naming a conversation being fetched, and any behind an already held one.
    pub(crate) fn hold_for_fetches(&mut self, start: usize) {
        // The common case (nothing fetched, nothing held) costs one pass over the clients.
        if self
            .clients
            .values()
            .all(|c| c.unfetched.is_empty() && c.held.is_empty())
        {
            return;
        }
        let fresh = self.events.split_off(start.min(self.events.len()));
        for event in fresh {
            let client = event
                .held_client()
                .and_then(|id| self.clients.get_mut(id))
                // Only while signed in: after a lost connection the events go out at once.
                .filter(|c| c.status == Status::Open)
                .filter(|c| !c.held.is_empty() || event.names_any(&c.unfetched));
            match client {
                Some(client) => client.held.push_back(event),
                None => self.events.push_back(event),
            }
        }
    }

    /// Delivers, per client, the held events whose conversations are no longer being fetched, up to
    /// the first that still waits (wire order).
    pub(crate) fn release_fetched(&mut self) {
        for client in self.clients.values_mut() {
            while let Some(event) = client.held.front() {
                if event.names_any(&client.unfetched) {
                    break;
                }
                if let Some(event) = client.held.pop_front() {
                    self.events.push_back(event);
                }
            }
        }
    }

    /// Delivers everything held (the connection went away: the fetches wait for the re-login, the
    /// events do not).
    pub(crate) fn release_all_held(&mut self) {
        for client in self.clients.values_mut() {
            self.events.append(&mut client.held);
        }
    }
}
