//! Conversations a client has blocked (REST `/1.2/rtm/clients/{client_id}/blacklists`): nobody
//! else may add the client to them (4315 for that client in the `added` reply, skipped by the REST
//! member and subscriber calls). The client may still join one itself. Only the app's backend
//! sets them, so the set is small; stored through, loaded back at start-up.

use std::collections::{BTreeMap, BTreeSet};

/// Blocked conversations by client id.
#[derive(Debug, Default)]
pub(super) struct ClientBlocks {
    by_client: BTreeMap<String, BTreeSet<String>>,
}

impl ClientBlocks {
    /// Whether `client` blocked conversation `cid`.
    pub(super) fn blocks(&self, client: &str, cid: &str) -> bool {
        !self.by_client.is_empty()
            && self
                .by_client
                .get(client)
                .is_some_and(|conversations| conversations.contains(cid))
    }

    /// Blocks (`true`) or unblocks `cid` for `client`.
    pub(super) fn set(&mut self, client: &str, cid: &str, blocked: bool) {
        if blocked {
            self.by_client
                .entry(client.to_owned())
                .or_default()
                .insert(cid.to_owned());
        } else if let Some(conversations) = self.by_client.get_mut(client) {
            conversations.remove(cid);
            if conversations.is_empty() {
                self.by_client.remove(client);
            }
        }
    }

    /// The conversations `client` blocked, in id order.
    pub(super) fn of(&self, client: &str) -> Vec<String> {
        self.by_client
            .get(client)
            .map(|conversations| conversations.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::ClientBlocks;

    #[test]
    fn blocks_are_per_client_and_conversation() {
        let mut blocks = ClientBlocks::default();
        blocks.set("Jerry", "c2", true);
        blocks.set("Jerry", "c1", true);
        assert!(blocks.blocks("Jerry", "c1"));
        assert!(!blocks.blocks("Tom", "c1"));
        assert!(!blocks.blocks("Jerry", "c3"));
        assert_eq!(blocks.of("Jerry"), ["c1", "c2"]);
        blocks.set("Jerry", "c1", false);
        blocks.set("Jerry", "c2", false);
        assert!(blocks.by_client.is_empty(), "no empty set left behind");
    }
}
