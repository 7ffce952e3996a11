//! Members shut up for a while: LeanCloud's "temporary silenced" members
//! (`POST`/`DELETE /1.2/rtm/{conversations,chatrooms}/{id}/temporary-silenceds`, at most 24 hours).
//!
//! They are kept apart from a conversation's permanent shut-up list (`shutup`, which `query_shutup`
//! and `GET .../permanent-silenceds` list): a timed entry ends by itself, with no push, when its
//! time is up. Only REST calls make them, so the set is small; a send looks it up only when it is
//! not empty. The hub writes each change through to storage in the batch's transaction and loads
//! them back at start-up; the periodic prune drops ended entries in memory and in storage.

use std::collections::BTreeMap;

/// Timed shut-ups by conversation, then client: when each may speak again (ms).
#[derive(Debug, Default)]
pub(super) struct TimedShutups {
    until: BTreeMap<String, BTreeMap<String, i64>>,
}

impl TimedShutups {
    /// Whether `client` is shut up in `cid` at `now`.
    pub(super) fn silenced(&self, cid: &str, client: &str, now: i64) -> bool {
        !self.until.is_empty()
            && self
                .until
                .get(cid)
                .and_then(|clients| clients.get(client))
                .is_some_and(|until| *until > now)
    }

    /// Shuts `client` up in `cid` until `until` (replacing an earlier end).
    pub(super) fn insert(&mut self, cid: &str, client: &str, until: i64) {
        self.until
            .entry(cid.to_owned())
            .or_default()
            .insert(client.to_owned(), until);
    }

    /// Lets `client` speak in `cid` again; returns the end it had, if any.
    pub(super) fn remove(&mut self, cid: &str, client: &str) -> Option<i64> {
        let clients = self.until.get_mut(cid)?;
        let until = clients.remove(client);
        if clients.is_empty() {
            self.until.remove(cid);
        }
        until
    }

    /// Forgets every entry of conversation `cid` (deleted).
    pub(super) fn remove_conversation(&mut self, cid: &str) {
        self.until.remove(cid);
    }

    /// Drops the entries that have ended by `now`.
    pub(super) fn prune(&mut self, now: i64) {
        self.until.retain(|_, clients| {
            clients.retain(|_, until| *until > now);
            !clients.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::TimedShutups;

    #[test]
    fn an_entry_silences_until_its_end_and_not_after() {
        let mut shutups = TimedShutups::default();
        shutups.insert("c1", "Tom", 1_000);
        assert!(shutups.silenced("c1", "Tom", 999));
        assert!(!shutups.silenced("c1", "Tom", 1_000));
        assert!(!shutups.silenced("c1", "Jerry", 999));
        assert!(!shutups.silenced("c2", "Tom", 999));
    }

    #[test]
    fn removing_and_pruning_leave_no_empty_conversation_behind() {
        let mut shutups = TimedShutups::default();
        shutups.insert("c1", "Tom", 1_000);
        shutups.insert("c1", "Jerry", 5_000);
        shutups.insert("c2", "Tom", 2_000);
        assert_eq!(shutups.remove("c2", "Tom"), Some(2_000));
        assert_eq!(shutups.remove("c2", "Tom"), None);
        shutups.prune(1_000);
        assert!(!shutups.silenced("c1", "Tom", 0));
        assert!(shutups.silenced("c1", "Jerry", 4_999));
        assert_eq!(shutups.until.len(), 1);
        shutups.remove_conversation("c1");
        assert!(shutups.until.is_empty());
    }
}
