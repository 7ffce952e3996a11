//! Who is in which conversation, held compactly.
//!
//! Every conversation is in memory with its members, so membership is most of the hub's memory
//! per conversation. A client id is stored once, as a [`ClientId`] shared by the membership index
//! and by every conversation that has the client; the index refers to a conversation by the key of
//! the hub's conversation map, a [`ConvId`] it shares. A conversation's persistent members are a
//! sorted vector ([`Members`]) rather than a tree map, up to a thousand of them: a few dozen bytes
//! per member instead of a tree node per conversation and a string per member. Both keep the
//! client-id order the member lists (`m`) have on the wire.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Position;

/// A client id, shared by the membership index and every conversation the client is in (one
/// allocation per distinct client, not one per membership).
pub(super) type ClientId = Arc<str>;

/// A conversation id, shared by the hub's conversation map (its key) and the membership index.
pub(super) type ConvId = Arc<str>;

/// The persistent members of a conversation with their read and ack positions, in client-id
/// order (the order of `m` lists).
///
/// Up to [`LARGE_MEMBERS`] members, a sorted vector: lookups are binary searches, a join or leave
/// moves the members after it (at most 32 KB), and loading builds each list in one go. A larger
/// conversation (a service conversation's subscribers, or any conversation with
/// `--max-members 0`) turns into a B-tree once it grows past that, so that a join or leave costs
/// a logarithmic number of steps instead of moving up to a million members.
#[derive(Clone, Debug)]
pub(super) enum Members {
    /// Few members, sorted by client id.
    Few(Vec<(ClientId, Position)>),
    /// Many members (more than [`LARGE_MEMBERS`] at some point). Boxed so that the enum stays the
    /// size of a vector (its tag fits in the vector's capacity): every conversation holds one,
    /// few need the tree, and the extra allocation is one per large conversation.
    #[allow(clippy::box_collection)]
    Many(Box<BTreeMap<ClientId, Position>>),
}

/// How many members a conversation holds in a sorted vector before they move to a B-tree: far
/// above LeanCloud's 500 for a normal conversation, small enough that moving them is cheap.
pub(super) const LARGE_MEMBERS: usize = 1024;

impl Default for Members {
    fn default() -> Self {
        Self::Few(Vec::new())
    }
}

impl Members {
    /// Adds the members of loaded `rows` (in any order; a client listed twice keeps its last
    /// position), taking them out of `rows`, whose capacity is left for the next conversation.
    pub(super) fn add_rows(&mut self, rows: &mut Vec<(ClientId, Position)>) {
        if self.len() > 0 || rows.len() > LARGE_MEMBERS {
            for (client, position) in rows.drain(..) {
                self.insert(client, position);
            }
            return;
        }
        // Storage loads them in client-id order already: then this is one pass.
        if !rows.is_sorted_by(|a, b| a.0 <= b.0) {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        }
        rows.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        // Exactly the room it needs (no spare capacity per conversation); `rows` keeps its own.
        let mut members = Vec::with_capacity(rows.len());
        members.append(rows);
        *self = Self::Few(members);
    }

    /// How many members there are.
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Few(members) => members.len(),
            Self::Many(members) => members.len(),
        }
    }

    /// Whether `client` is a member.
    pub(super) fn contains_key(&self, client: &str) -> bool {
        self.get(client).is_some()
    }

    /// The positions of member `client`.
    pub(super) fn get(&self, client: &str) -> Option<&Position> {
        match self {
            Self::Few(members) => few_index(members, client).ok().map(|at| &members[at].1),
            Self::Many(members) => members.get(client),
        }
    }

    /// The positions of member `client`, to move them.
    pub(super) fn get_mut(&mut self, client: &str) -> Option<&mut Position> {
        match self {
            Self::Few(members) => few_index(members, client).ok().map(|at| &mut members[at].1),
            Self::Many(members) => members.get_mut(client),
        }
    }

    /// Makes `client` a member at `position`, or moves a member's position there.
    pub(super) fn insert(&mut self, client: ClientId, position: Position) {
        match self {
            Self::Few(members) => match few_index(members, &client) {
                Ok(at) => members[at].1 = position,
                Err(_) if members.len() >= LARGE_MEMBERS => {
                    let mut many: BTreeMap<ClientId, Position> = members.drain(..).collect();
                    many.insert(client, position);
                    *self = Self::Many(Box::new(many));
                }
                Err(at) => members.insert(at, (client, position)),
            },
            Self::Many(members) => {
                members.insert(client, position);
            }
        }
    }

    /// Takes `client` off the members; its position if it was one.
    pub(super) fn remove(&mut self, client: &str) -> Option<Position> {
        match self {
            Self::Few(members) => few_index(members, client).ok().map(|at| members.remove(at).1),
            Self::Many(members) => members.remove(client),
        }
    }

    /// The members' ids, in client-id order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &str> + Clone {
        self.iter().map(|(id, _)| id)
    }

    /// The members with their positions, in client-id order.
    pub(super) fn iter(&self) -> MembersIter<'_> {
        match self {
            Self::Few(members) => MembersIter::Few(members.iter()),
            Self::Many(members) => MembersIter::Many(members.iter()),
        }
    }
}

/// Where `client` is (or would go) among few members.
fn few_index(members: &[(ClientId, Position)], client: &str) -> Result<usize, usize> {
    members.binary_search_by(|(id, _)| (**id).cmp(client))
}

/// The members of a [`Members`] with their positions, in client-id order.
#[derive(Clone, Debug)]
pub(super) enum MembersIter<'a> {
    /// Over a sorted vector.
    Few(std::slice::Iter<'a, (ClientId, Position)>),
    /// Over a B-tree.
    Many(std::collections::btree_map::Iter<'a, ClientId, Position>),
}

impl<'a> Iterator for MembersIter<'a> {
    type Item = (&'a str, &'a Position);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Few(members) => members.next().map(|(id, position)| (&**id, position)),
            Self::Many(members) => members.next().map(|(id, position)| (&**id, position)),
        }
    }
}

/// Client → the conversations it is in (persistent members and chat-room members), so disconnects
/// and member queries never scan every conversation. It also interns client ids: its keys are the
/// [`ClientId`]s the conversations share, and a client's id is freed with its last membership.
#[derive(Debug, Default)]
pub(super) struct MembershipIndex(HashMap<ClientId, Vec<ConvId>>);

impl MembershipIndex {
    /// Notes that `client` is in conversation `cid`; returns the client's shared id, to keep in the
    /// conversation.
    pub(super) fn join(&mut self, client: &str, cid: &ConvId) -> ClientId {
        // Two lookups for a known client (`HashMap` hands out a key and a mutable value together
        // only through `entry`, which takes an owned key): no allocation either way.
        let Some((id, _)) = self.0.get_key_value(client) else {
            let id: ClientId = client.into();
            self.0.insert(Arc::clone(&id), vec![Arc::clone(cid)]);
            return id;
        };
        let id = Arc::clone(id);
        if let Some(cids) = self.0.get_mut(client) {
            // Ids begin with their creation time, so a new conversation's usually sorts last.
            match cids.last() {
                Some(last) if **last < **cid => cids.push(Arc::clone(cid)),
                _ => {
                    if let Err(at) = cids.binary_search(cid) {
                        cids.insert(at, Arc::clone(cid));
                    }
                }
            }
        }
        id
    }

    /// Notes that `client` is no longer in conversation `cid`.
    pub(super) fn leave(&mut self, client: &str, cid: &str) {
        if let Some(cids) = self.0.get_mut(client) {
            if let Ok(at) = cids.binary_search_by(|id| (**id).cmp(cid)) {
                cids.remove(at);
            }
            if cids.is_empty() {
                self.0.remove(client);
            }
        }
    }

    /// The conversations `client` is in, in conversation-id order.
    pub(super) fn conversations_of(&self, client: &str) -> &[ConvId] {
        self.0.get(client).map_or(&[], Vec::as_slice)
    }

    /// Whether any client is in conversation `cid` (a full scan; for tests).
    #[cfg(test)]
    pub(super) fn mentions(&self, cid: &str) -> bool {
        self.0.values().any(|cids| cids.iter().any(|id| **id == *cid))
    }
}

/// The client ids met while loading, each interned once, with how many conversations have it.
///
/// The membership index is built from it once everything is loaded, every client's list allocated
/// at its size. Growing the lists one conversation at a time instead left spare capacity (36 MiB at
/// a million conversations in the scale bench) and a freed small block per growth, scattered over
/// the heap.
#[derive(Debug, Default)]
pub(super) struct LoadedClients(HashMap<ClientId, Cell<usize>>);

impl LoadedClients {
    /// Counts one more conversation of `client`; returns its shared id.
    pub(super) fn intern(&mut self, client: &str) -> ClientId {
        if let Some((id, conversations)) = self.0.get_key_value(client) {
            conversations.set(conversations.get() + 1);
            return Arc::clone(id);
        }
        let id: ClientId = client.into();
        self.0.insert(Arc::clone(&id), Cell::new(1));
        id
    }

    /// The index of the loaded `conversations`, each with the clients interned for it.
    pub(super) fn into_index<'a, C>(
        self,
        conversations: impl Iterator<Item = (&'a ConvId, C)>,
    ) -> MembershipIndex
    where
        C: Iterator<Item = &'a str>,
    {
        let mut index: HashMap<ClientId, Vec<ConvId>> = self
            .0
            .into_iter()
            .map(|(id, conversations)| (id, Vec::with_capacity(conversations.into_inner())))
            .collect();
        for (cid, clients) in conversations {
            for client in clients {
                if let Some(cids) = index.get_mut(client) {
                    cids.push(Arc::clone(cid));
                }
            }
        }
        for cids in index.values_mut() {
            cids.sort_unstable();
        }
        MembershipIndex(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: i64) -> Position {
        Position {
            read_ts: ts,
            ack_ts: ts,
        }
    }

    #[test]
    fn members_stay_in_client_id_order_whatever_order_they_come_in() {
        let mut members = Members::default();
        let mut rows = vec![("b".into(), at(2)), ("a".into(), at(1)), ("b".into(), at(3))];
        members.add_rows(&mut rows);
        assert!(rows.is_empty());
        assert!(
            matches!(&members, Members::Few(few) if few.capacity() == 2),
            "no spare capacity"
        );
        members.insert("c".into(), at(4));
        members.insert("0".into(), at(5));
        members.insert("a".into(), at(6));
        assert_eq!(members.keys().collect::<Vec<_>>(), ["0", "a", "b", "c"]);
        assert_eq!(
            members.get("a"),
            Some(&at(6)),
            "a second insert moves the position"
        );
        assert_eq!(members.get("b"), Some(&at(3)), "the last of two rows wins");
        assert_eq!(members.remove("b"), Some(at(3)));
        assert_eq!(members.remove("b"), None);
        assert!(!members.contains_key("b"));
        assert_eq!(members.len(), 3);
        if let Some(position) = members.get_mut("c") {
            position.read_ts = 9;
        }
        assert_eq!(
            members.iter().map(|(id, p)| (id, p.read_ts)).collect::<Vec<_>>(),
            [("0", 5), ("a", 6), ("c", 9)]
        );
    }

    #[test]
    fn members_take_no_more_room_than_a_vector() {
        // Every conversation holds a `Members`: the tree is boxed so that the tag needs no word.
        assert_eq!(size_of::<Members>(), size_of::<Vec<(ClientId, Position)>>());
    }

    #[test]
    fn past_a_thousand_members_joins_and_leaves_go_to_a_tree_in_the_same_order() {
        let name = |n: usize| -> ClientId { format!("client-{n:05}").into() };
        let mut members = Members::default();
        // Joined newest name first: every insert would go to the front of a vector.
        for n in (0..=LARGE_MEMBERS).rev() {
            members.insert(name(n), at(n as i64));
        }
        assert!(matches!(members, Members::Many(_)), "one past the limit");
        assert_eq!(members.len(), LARGE_MEMBERS + 1);
        let keys: Vec<&str> = members.keys().collect();
        assert!(keys.is_sorted(), "client-id order");
        assert_eq!(keys[0], "client-00000");
        assert_eq!(members.get("client-00007"), Some(&at(7)));
        members.insert(name(7), at(70));
        assert_eq!(members.get("client-00007"), Some(&at(70)));
        assert_eq!(members.remove("client-00007"), Some(at(70)));
        assert!(!members.contains_key("client-00007"));
        if let Some(position) = members.get_mut("client-00008") {
            position.read_ts = 80;
        }
        assert_eq!(
            members.iter().nth(7).map(|(id, p)| (id, p.read_ts)),
            Some(("client-00008", 80))
        );

        // Loaded that large (a service conversation's subscribers), it starts as a tree.
        let mut loaded = Members::default();
        let mut rows: Vec<(ClientId, Position)> = (0..=LARGE_MEMBERS).map(|n| (name(n), at(1))).collect();
        loaded.add_rows(&mut rows);
        assert!(matches!(loaded, Members::Many(_)));
        assert_eq!(loaded.len(), LARGE_MEMBERS + 1);
        assert!(rows.is_empty());
    }

    #[test]
    fn the_index_shares_one_id_per_client_and_forgets_it_with_its_last_conversation() {
        let mut index = MembershipIndex::default();
        let (one, two): (ConvId, ConvId) = ("conv-1".into(), "conv-2".into());
        let first = index.join("Tom", &two);
        let second = index.join("Tom", &one);
        assert!(Arc::ptr_eq(&first, &second), "one allocation per client");
        index.join("Tom", &two);
        assert_eq!(
            index.conversations_of("Tom"),
            [one.clone(), two.clone()],
            "sorted, no duplicates"
        );
        assert!(
            Arc::ptr_eq(&index.conversations_of("Tom")[0], &one),
            "the conversation id is shared"
        );

        index.leave("Tom", "conv-2");
        index.leave("Tom", "conv-3");
        assert_eq!(index.conversations_of("Tom"), std::slice::from_ref(&one));
        assert!(index.mentions("conv-1") && !index.mentions("conv-2"));
        index.leave("Tom", "conv-1");
        assert!(index.conversations_of("Tom").is_empty());
        assert_eq!(Arc::strong_count(&first), 2, "the index let go of Tom's id");
    }

    #[test]
    fn a_loaded_index_lists_each_clients_conversations_in_id_order_at_their_size() {
        let mut loaded = LoadedClients::default();
        let (one, two, three): (ConvId, ConvId, ConvId) = ("conv-1".into(), "conv-2".into(), "conv-3".into());
        let tom = loaded.intern("Tom");
        let jerry = loaded.intern("Jerry");
        assert!(
            Arc::ptr_eq(&tom, &loaded.intern("Tom")),
            "one allocation per client"
        );
        loaded.intern("Tom");
        let members: [(&ConvId, &[&str]); 3] =
            [(&three, &["Jerry", "Tom"]), (&one, &["Tom"]), (&two, &["Tom"])];
        let index = loaded.into_index(
            members
                .iter()
                .map(|(cid, clients)| (*cid, clients.iter().copied())),
        );
        assert_eq!(index.conversations_of("Tom"), [one, two, three.clone()]);
        assert_eq!(index.0["Tom"].capacity(), 3, "allocated at its size");
        assert_eq!(index.conversations_of("Jerry"), [three]);
        assert!(Arc::ptr_eq(
            index.0.get_key_value("Jerry").expect("Jerry").0,
            &jerry
        ));
    }
}
