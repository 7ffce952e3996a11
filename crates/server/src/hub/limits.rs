//! The configurable limits of [`HubConfig`] that are not about one connection: a client id's rate
//! budget across all its connections, clients per connection, members per conversation, and the
//! page size of `logs`. Each is answered with the official error code.

use chinwag_protocol::ErrorCode;

use super::{Bucket, ConnId, Conversation, Fail, Hub, HubConfig, HubResult};
use crate::storage::Storage;

/// Default page of `logs` when the request gives no limit (LeanCloud: 20).
pub(super) const DEFAULT_LOGS_LIMIT: u32 = 20;

/// LeanCloud's cap on a normal conversation's members.
pub const DEFAULT_MAX_MEMBERS: usize = 500;

/// LeanCloud's cap on one `logs` page.
pub const DEFAULT_MAX_LOGS_LIMIT: u32 = 1000;

impl HubConfig {
    /// The `logs` page for a requested limit (`l`, or `limit`): the default when none is given,
    /// never more than [`HubConfig::max_logs_limit`]; 0 stays 0 (an empty page, as LeanCloud).
    pub fn logs_page(&self, requested: Option<i32>) -> u32 {
        match requested {
            None => DEFAULT_LOGS_LIMIT.min(self.max_logs_limit),
            Some(limit) => u32::try_from(limit).unwrap_or(0).min(self.max_logs_limit),
        }
    }
}

impl<S: Storage> Hub<S> {
    /// Takes a token from `client`'s own bucket (shared by all its connections); `false` when the
    /// client exceeds [`HubConfig::client_rate_limit`].
    pub(super) fn within_client_rate(&mut self, client: &str, now: i64) -> bool {
        let Some(limit) = self.config.client_rate_limit else {
            return true;
        };
        if let Some(bucket) = self.client_buckets.get_mut(client) {
            return bucket.take(limit, now);
        }
        let mut bucket = Bucket::full(limit, now);
        let taken = bucket.take(limit, now);
        self.client_buckets.insert(client.to_owned(), bucket);
        taken
    }

    /// Forgets the rate buckets of clients that are offline and would be full again by `now`
    /// (they carry no debt), so the map does not grow with every client ever seen. The runtime
    /// calls this periodically.
    pub fn prune_idle_limits(&mut self, now_ms: i64) {
        let Some(limit) = self.config.client_rate_limit else {
            self.client_buckets.clear();
            return;
        };
        let sessions = &self.sessions;
        self.client_buckets.retain(|client, bucket| {
            let online = sessions.get(client).is_some_and(|s| !s.is_empty());
            online || !bucket.is_full_at(limit, now_ms)
        });
    }

    /// Whether `conn` may sign in one more client than it has ([`HubConfig::max_clients_per_connection`]);
    /// re-opening a client already on it is always allowed.
    pub(super) fn has_room_for_client(&self, conn: ConnId, client: &str) -> bool {
        let Some(max) = self.config.max_clients_per_connection else {
            return true;
        };
        let clients = self.clients_on(conn);
        clients.iter().any(|c| c == client) || clients.len() < max
    }

    /// Refuses with 4304 CONVERSATION_FULL when `adding` new members would take `conv` past
    /// [`HubConfig::max_members`]. Chat rooms and service conversations are not capped (LeanCloud
    /// caps neither by member count).
    pub(super) fn check_room_in(&self, conv: &Conversation, adding: usize) -> HubResult {
        let Some(max) = self.config.max_members else {
            return Ok(());
        };
        if conv.record.transient || conv.record.system || adding == 0 {
            return Ok(());
        }
        if conv.members.len().saturating_add(adding) > max {
            return Err(Fail::Code(
                ErrorCode::ConversationFull,
                Some(format!("a conversation has at most {max} members")),
            ));
        }
        Ok(())
    }

    /// Refuses with 4304 when a new normal conversation would start with more than
    /// [`HubConfig::max_members`] members.
    pub(super) fn check_new_members(&self, members: usize) -> HubResult {
        match self.config.max_members {
            Some(max) if members > max => Err(Fail::Code(
                ErrorCode::ConversationFull,
                Some(format!("a conversation has at most {max} members")),
            )),
            _ => Ok(()),
        }
    }
}
