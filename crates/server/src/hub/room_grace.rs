//! Chat-room membership across a short reconnect: when a client's last connection drops (not a
//! deliberate `session/close`), it stays in its chat rooms for [`HubConfig::chat_room_grace_ms`],
//! so an SDK that reconnects and signs in again (`r=true`) is still in them, as on LeanCloud. While
//! it is away it is not counted online and gets nothing (chat rooms have no offline delivery).
//!
//! [`HubConfig::chat_room_grace_ms`]: super::HubConfig::chat_room_grace_ms

use std::collections::{BTreeSet, HashMap};

/// Clients whose last connection dropped, and when.
#[derive(Debug, Default)]
pub(super) struct RoomGrace {
    /// Client → when its last connection dropped (ms).
    since: HashMap<String, i64>,
    /// The same entries in the order they expire.
    by_time: BTreeSet<(i64, String)>,
}

impl RoomGrace {
    /// `client`'s last connection dropped at `now`.
    pub(super) fn start(&mut self, client: &str, now: i64) {
        self.cancel(client);
        self.since.insert(client.to_owned(), now);
        self.by_time.insert((now, client.to_owned()));
    }

    /// `client` signed in again (or left its rooms another way): it keeps its rooms.
    pub(super) fn cancel(&mut self, client: &str) {
        if let Some(at) = self.since.remove(client) {
            self.by_time.remove(&(at, client.to_owned()));
        }
    }

    /// Takes the clients that dropped `grace_ms` or more before `now`.
    pub(super) fn take_expired(&mut self, now: i64, grace_ms: i64) -> Vec<String> {
        let mut expired = Vec::new();
        while let Some((at, _)) = self.by_time.first() {
            if at.saturating_add(grace_ms) > now {
                break;
            }
            if let Some((_, client)) = self.by_time.pop_first() {
                self.since.remove(&client);
                expired.push(client);
            }
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::RoomGrace;

    #[test]
    fn expires_in_drop_order_and_forgets_cancelled_clients() {
        let mut grace = RoomGrace::default();
        grace.start("Tom", 1_000);
        grace.start("Jerry", 2_000);
        grace.start("Mary", 3_000);
        grace.cancel("Jerry");
        assert!(grace.take_expired(1_999, 1_000).is_empty());
        assert_eq!(grace.take_expired(2_000, 1_000), ["Tom"]);
        // A second drop restarts the clock.
        grace.start("Mary", 5_000);
        assert!(grace.take_expired(5_999, 1_000).is_empty());
        assert_eq!(grace.take_expired(6_000, 1_000), ["Mary"]);
        assert!(grace.take_expired(i64::MAX, 1_000).is_empty());
    }
}
