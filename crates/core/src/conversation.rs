//! The local cache of a conversation: members, attributes, last message, unread count, receipts.
//!
//! One entry per conversation id per client, kept consistent with replies and pushes. The engine also
//! keeps here what it needs to fill gaps after a reconnect (the newest server timestamp seen) and to
//! reconcile unread counts (the timestamp the count is valid up to).

use chinwag_protocol::json::{Map, Value};

use crate::message::{Message, wire_content};
use crate::sorted_set::SortedSet;

/// The kind of a conversation, from its raw fields (PROTOCOL.md §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConversationKind {
    /// A normal (persistent) conversation.
    #[default]
    Normal,
    /// A chat room (`tr`): online-only membership, no unread counting.
    ChatRoom,
    /// A service (system) conversation (`sys`).
    Service,
    /// A temporary conversation (`_tmp:` id or `ttl`).
    Temporary,
}

/// A cached conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// The conversation id (`objectId` / `cid`).
    pub id: String,
    /// The kind.
    pub kind: ConversationKind,
    /// Member client ids (`m`), sorted.
    pub members: SortedSet<String>,
    /// The `name` attribute.
    pub name: Option<String>,
    /// The creator (`c`).
    pub creator: Option<String>,
    /// Members who muted notifications (`mu`).
    pub muted_members: SortedSet<String>,
    /// Creation time as the server wrote it (ISO string).
    pub created_at: Option<String>,
    /// Update time as the server wrote it (ISO string).
    pub updated_at: Option<String>,
    /// Every other attribute (custom keys, `attr`, `uniqueId`, ...).
    pub attributes: Map,
    /// The last message, if known.
    pub last_message: Option<Message>,
    /// Timestamp of the last message, ms; moves backwards only when a dropped message is taken
    /// back ([`Engine::take_back_dropped_message`](crate::Engine::take_back_dropped_message)).
    pub last_message_at: Option<i64>,
    /// Unread messages for this client.
    pub unread: u32,
    /// Whether an unread message mentions this client.
    pub unread_mentioned: bool,
    /// Latest delivery receipt time (2-member conversations), ms.
    pub last_delivered_at: Option<i64>,
    /// Latest read receipt time (2-member conversations), ms.
    pub last_read_at: Option<i64>,
    /// Seconds to live of a temporary conversation, as created.
    pub ttl: Option<i64>,
    /// Newest server timestamp of a message this client received here (gap-filling start point).
    pub(crate) seen_up_to: Option<i64>,
    /// The unread count is exact up to this message timestamp; later messages increment it.
    pub(crate) unread_as_of: i64,
    /// When the unread count was last set outright (a `read`, the server's `unread` counts): every
    /// message counted since is newer.
    pub(crate) unread_reset_at: i64,
    /// A message newer than `unread_reset_at` arrived after a newer one was counted, so it was not
    /// counted: the count no longer says which messages since the reset it holds.
    pub(crate) unread_skipped: bool,
    /// The earlier last messages, put back if the application drops later ones unseen: each entry
    /// is what the next one (the last message, for the final entry) replaced, oldest first, at most
    /// [`Options::earlier_last_messages`](crate::Options::earlier_last_messages). Empty when not
    /// known: the last message came with a query result (as the official SDK's fetched
    /// conversation, whose `lastMessage` a dropped message does not change).
    pub(crate) replaced: Vec<Replaced>,
}

/// What a conversation's last message replaced when it became the last message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Replaced {
    /// There was no last message.
    Nothing,
    /// This one was (the message moves in, nothing is copied).
    Message(Message),
}

const KNOWN_KEYS: &[&str] = &[
    "objectId",
    "m",
    "tr",
    "sys",
    "c",
    "mu",
    "createdAt",
    "updatedAt",
    "name",
    "msg",
    "bin",
    "msg_from",
    "msg_mid",
    "msg_timestamp",
    "patch_timestamp",
    "ttl",
    "temp",
];

/// Whether two messages are the same message (both have the server's id, and it is the same).
fn is_same(a: &Message, b: &Message) -> bool {
    a.id.is_some() && a.id == b.id
}

fn string_set(value: Option<&Value>) -> SortedSet<String> {
    let mut set = SortedSet::new();
    for item in value.and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        if let Some(text) = item.as_str() {
            set.insert(text.to_owned());
        }
    }
    set
}

/// `raw[key]` when it is a string, copied.
fn text(raw: &Map, key: &str) -> Option<String> {
    raw.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Whether `raw[key]` is `true`.
fn is_true(raw: &Map, key: &str) -> bool {
    raw.get(key).and_then(Value::as_bool) == Some(true)
}

/// `raw[key]` when it is an integer.
fn integer(raw: &Map, key: &str) -> Option<i64> {
    raw.get(key).and_then(Value::as_i64)
}

fn date_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => map.get("iso").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

impl Conversation {
    /// A conversation known only by id (from a push before any query).
    pub fn stub(id: &str) -> Self {
        let mut conv = Self::default();
        conv.id = id.to_owned();
        conv.kind = if id.starts_with("_tmp:") {
            ConversationKind::Temporary
        } else {
            ConversationKind::Normal
        };
        conv
    }

    /// Reads one raw conversation object of a `conv/query` result; `None` without `objectId`.
    pub fn from_json(raw: &Map, me: &str) -> Option<Self> {
        let id = raw.get("objectId")?.as_str()?;
        let mut conv = Self::stub(id);
        if is_true(raw, "tr") {
            conv.kind = ConversationKind::ChatRoom;
        } else if is_true(raw, "sys") {
            conv.kind = ConversationKind::Service;
        } else if raw.contains_key("ttl") || is_true(raw, "temp") {
            conv.kind = ConversationKind::Temporary;
        }
        conv.members = string_set(raw.get("m"));
        conv.muted_members = string_set(raw.get("mu"));
        conv.creator = text(raw, "c");
        conv.name = text(raw, "name");
        conv.created_at = date_string(raw.get("createdAt"));
        conv.updated_at = date_string(raw.get("updatedAt"));
        conv.ttl = integer(raw, "ttl");
        if let Some(mid) = raw.get("msg_mid").and_then(Value::as_str) {
            let bin = is_true(raw, "bin");
            let mut item = chinwag_protocol::LogItem::default();
            item.msg_id = Some(mid.to_owned());
            item.from = text(raw, "msg_from");
            item.timestamp = integer(raw, "msg_timestamp");
            item.patch_timestamp = integer(raw, "patch_timestamp");
            let mut message = Message::from_log(&item, id, me);
            message.content = wire_content(raw.get("msg").and_then(Value::as_str), bin);
            conv.last_message_at = Some(message.timestamp);
            conv.last_message = Some(message);
        }
        for (key, value) in raw {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                conv.attributes.insert(key.clone(), value.clone());
            }
        }
        Some(conv)
    }

    /// Copies the fresh fields of `fresh` (a query result) into this entry, keeping local bookkeeping
    /// (unread, receipts, gap-filling position) as the JS `_upsertConversationToCache` does.
    pub(crate) fn merge_from(&mut self, fresh: Conversation) {
        let keep_last = match (&self.last_message_at, &fresh.last_message_at) {
            (Some(mine), Some(theirs)) => mine > theirs,
            (Some(_), None) => true,
            _ => false,
        };
        // Everything from the query result, then our bookkeeping copied back over it.
        let mine = std::mem::replace(self, fresh);
        self.unread = mine.unread;
        self.unread_mentioned = mine.unread_mentioned;
        self.last_delivered_at = mine.last_delivered_at;
        self.last_read_at = mine.last_read_at;
        self.seen_up_to = mine.seen_up_to;
        self.unread_as_of = mine.unread_as_of;
        self.unread_reset_at = mine.unread_reset_at;
        self.unread_skipped = mine.unread_skipped;
        // What our last message replaced stays meaningful only while it stays the last message; a
        // query's own last message is what the official SDK's fetch shows, dropped or not.
        if keep_last {
            self.last_message = mine.last_message;
            self.last_message_at = mine.last_message_at;
            self.replaced = mine.replaced;
        } else {
            self.replaced.clear();
        }
    }

    /// Records `message` as the last message unless a newer one is known, remembering the one it
    /// replaced among at most `keep` earlier ones (see [`Conversation::take_back_last_message`]).
    pub(crate) fn set_last_message(&mut self, message: &Message, keep: usize) {
        if message.transient {
            return;
        }
        if self.last_message_at.is_none_or(|at| message.timestamp >= at) {
            self.last_message_at = Some(message.timestamp);
            let replaced = match self.last_message.replace(message.clone()) {
                // The same message again (an `unread` push naming it) replaces nothing.
                Some(previous) if is_same(&previous, message) => return,
                Some(previous) => Replaced::Message(previous),
                // Nothing before it: what came before that does not matter any more.
                None => {
                    self.replaced.clear();
                    Replaced::Nothing
                }
            };
            if keep == 0 {
                return;
            }
            if self.replaced.len() >= keep {
                // The oldest goes; what it replaced becomes unknown to the next one.
                self.replaced.remove(0);
            }
            self.replaced.push(replaced);
        }
    }

    /// An edited or recalled `message` replaces its older copy: the last message, or one the last
    /// message replaced (it comes back if the later ones are dropped).
    pub(crate) fn update_message(&mut self, message: &Message) {
        if self.last_message.as_ref().is_some_and(|m| m.id == message.id) {
            self.last_message = Some(message.clone());
        } else if let Some(index) = self.replaced_index(message) {
            self.replaced[index] = Replaced::Message(message.clone());
        }
    }

    /// Where `message` is among the earlier last messages.
    fn replaced_index(&self, message: &Message) -> Option<usize> {
        self.replaced
            .iter()
            .position(|entry| matches!(entry, Replaced::Message(m) if is_same(m, message)))
    }

    /// Puts back the last message (and its time) that `message` replaced, for an application
    /// that drops `message` unseen: the official SDK never makes such a message the last one.
    /// Returns whether the last message changed. When `message` is no longer the last one but one
    /// of the messages the last one replaced (several dropped one after the other), it leaves that
    /// chain, so that taking back the later ones brings back the message before all of them. Does
    /// nothing when what `message` replaced is not known (see [`Conversation::replaced`]).
    pub(crate) fn take_back_last_message(&mut self, message: &Message) -> bool {
        if !self
            .last_message
            .as_ref()
            .is_some_and(|last| is_same(last, message))
        {
            // What replaced it now replaced what it had replaced.
            if let Some(index) = self.replaced_index(message) {
                self.replaced.remove(index);
            }
            return false;
        }
        match self.replaced.pop() {
            None => false,
            Some(Replaced::Nothing) => {
                self.last_message = None;
                self.last_message_at = None;
                true
            }
            Some(Replaced::Message(previous)) => {
                self.last_message_at = Some(previous.timestamp);
                self.last_message = Some(previous);
                true
            }
        }
    }

    /// Applies an attribute update (`conv/updated` push or our own `update`): keys may be dotted paths
    /// (`attr.lee`); `name` goes to its own field.
    pub fn apply_attributes(&mut self, changes: &Map) {
        'keys: for (key, value) in changes {
            if key == "name" {
                self.name = value.as_str().map(str::to_owned);
                continue;
            }
            let is_delete = value.get("__op").and_then(Value::as_str) == Some("Delete");
            // The parts before the last dot name objects, created (or replacing a non-object) as
            // needed; the last part is the key set or deleted.
            let mut map = &mut self.attributes;
            let mut last = key.as_str();
            while let Some((part, rest)) = last.split_once('.') {
                let entry = map.get_or_insert_with(part, || Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(inner) = entry else {
                    continue 'keys;
                };
                map = inner;
                last = rest;
            }
            if is_delete {
                map.remove(last);
            } else {
                map.insert(last.to_owned(), value.clone());
            }
        }
    }

    /// Whether the conversation counts unread messages and fills gaps (not chat rooms).
    pub(crate) fn is_persistent(&self) -> bool {
        self.kind != ConversationKind::ChatRoom
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's `json!`, as our [`Value`].
    macro_rules! json {
        ($($json:tt)+) => {
            Value::from(serde_json::json!($($json)+))
        };
    }

    #[test]
    fn parses_raw_query_results() {
        let raw = json!({"objectId":"c1","m":["b","a"],"c":"a","name":"n","tr":false,"mu":["b"],
            "createdAt":{"__type":"Date","iso":"2020-01-01T00:00:00.000Z"},"level":3,
            "msg":"{\"_lctype\":-1,\"_lctext\":\"hi\"}","msg_from":"b","msg_mid":"m1","msg_timestamp":5});
        let conv = Conversation::from_json(raw.as_object().unwrap(), "a").unwrap();
        assert_eq!(conv.members.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(conv.kind, ConversationKind::Normal);
        assert_eq!(conv.created_at.as_deref(), Some("2020-01-01T00:00:00.000Z"));
        assert_eq!(conv.attributes, *json!({"level":3}).as_object().unwrap());
        let last = conv.last_message.unwrap();
        assert_eq!(
            (last.id.as_deref(), last.timestamp, last.content.text()),
            (Some("m1"), 5, Some("hi"))
        );
        let room =
            Conversation::from_json(json!({"objectId":"r","tr":true}).as_object().unwrap(), "a").unwrap();
        assert_eq!(room.kind, ConversationKind::ChatRoom);
    }

    #[test]
    fn a_query_result_replaces_the_cached_fields_and_keeps_the_local_bookkeeping() {
        let last = |mid: &str, timestamp: i64| {
            let mut item = chinwag_protocol::LogItem::default();
            item.msg_id = Some(mid.to_owned());
            item.from = Some("b".to_owned());
            item.timestamp = Some(timestamp);
            Message::from_log(&item, "c", "a")
        };
        let mut cached = Conversation::stub("c");
        cached.name = Some("old".into());
        cached.attributes.insert("gone".to_owned(), Value::Bool(true));
        cached.unread = 3;
        cached.unread_mentioned = true;
        cached.last_delivered_at = Some(1);
        cached.last_read_at = Some(2);
        cached.seen_up_to = Some(60);
        cached.unread_as_of = 30;
        cached.unread_reset_at = 20;
        cached.unread_skipped = true;
        cached.last_message = Some(last("m9", 50));
        cached.last_message_at = Some(50);
        cached.replaced = vec![Replaced::Nothing];
        let raw = json!({"objectId":"c","name":"new","m":["a","b"],"level":1,
            "msg":"hi","msg_from":"b","msg_mid":"m5","msg_timestamp":45});
        let fresh = Conversation::from_json(raw.as_object().unwrap(), "a").unwrap();

        // Our last message is newer than the query's: it stays, with what it replaced.
        let mut merged = cached.clone();
        merged.merge_from(fresh.clone());
        let mut expected = fresh.clone();
        expected.unread = 3;
        expected.unread_mentioned = true;
        expected.last_delivered_at = Some(1);
        expected.last_read_at = Some(2);
        expected.seen_up_to = Some(60);
        expected.unread_as_of = 30;
        expected.unread_reset_at = 20;
        expected.unread_skipped = true;
        expected.last_message = cached.last_message.clone();
        expected.last_message_at = Some(50);
        expected.replaced = vec![Replaced::Nothing];
        assert_eq!(merged, expected);

        // The query's is newer: it wins, and what ours replaced is forgotten.
        let mut older = cached.clone();
        older.last_message = Some(last("m4", 40));
        older.last_message_at = Some(40);
        older.merge_from(fresh.clone());
        expected.last_message = fresh.last_message.clone();
        expected.last_message_at = Some(45);
        expected.replaced = Vec::new();
        assert_eq!(older, expected);
    }

    #[test]
    fn dotted_attribute_updates_go_deep_and_replace_what_is_not_an_object() {
        let mut conv = Conversation::stub("c");
        conv.apply_attributes(json!({"a": 1, "b": {"keep": true}}).as_object().unwrap());
        conv.apply_attributes(json!({"a.x.y": 2, "b.z": 3}).as_object().unwrap());
        assert_eq!(
            Value::Object(conv.attributes),
            json!({"a":{"x":{"y":2}},"b":{"keep":true,"z":3}})
        );
    }

    #[test]
    fn dotted_attribute_updates() {
        let mut conv = Conversation::stub("c");
        conv.apply_attributes(
            json!({"attr.lee": 1, "name": "x", "top": true})
                .as_object()
                .unwrap(),
        );
        conv.apply_attributes(json!({"attr.kim": 2}).as_object().unwrap());
        assert_eq!(conv.name.as_deref(), Some("x"));
        assert_eq!(
            Value::Object(conv.attributes.clone()),
            json!({"attr":{"lee":1,"kim":2},"top":true})
        );
        conv.apply_attributes(json!({"attr.lee": {"__op":"Delete"}}).as_object().unwrap());
        assert_eq!(
            Value::Object(conv.attributes),
            json!({"attr":{"kim":2},"top":true})
        );
    }
}
