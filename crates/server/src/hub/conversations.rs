//! `conv/*` commands: create, membership changes with their pushes, query, attributes, mute, count
//! and receipt positions.

use std::collections::HashSet;
use std::sync::Arc;

use chinwag_protocol::{
    CommandType, ConvCommand, ErrorCode, GenericCommand, JsonObjectMessage, MaxReadTuple, OpType,
};
use serde_json::{Map, Value};

use super::hooks::{self, HookName};
use super::{ConnId, ConvId, Conversation, Fail, Hub, HubResult, Position, iso};
use crate::query;
use crate::storage::{ConversationRecord, Storage};

/// The members an add/remove names: its `m` (see [`named_clients`]), or the client itself (a join
/// or a quit, which send no `m`).
pub(super) fn members_or_self(body: &ConvCommand, client: &str) -> Vec<String> {
    if body.m.is_empty() {
        vec![client.to_owned()]
    } else {
        named_clients(&body.m)
    }
}

/// The client ids a request lists (`m`, `toPids`): each once, in order, without empty ones. An
/// empty id names no client, so it is dropped as conversation creation and the REST member
/// bodies drop it, never stored as a member or listed.
pub(super) fn named_clients(ids: &[String]) -> Vec<String> {
    // A set, not `Vec::contains`: one frame can list tens of thousands of ids.
    let mut seen: HashSet<&str> = HashSet::with_capacity(ids.len());
    ids.iter()
        .filter(|id| !id.is_empty() && seen.insert(id.as_str()))
        .cloned()
        .collect()
}

/// Keys of the conversation JSON that clients may not set through attributes.
pub(crate) const RESERVED_KEYS: &[&str] = &[
    "objectId",
    "m",
    "c",
    "tr",
    "sys",
    "mu",
    "lm",
    "createdAt",
    "updatedAt",
    "unique",
    "msg",
    "bin",
    "msg_from",
    "msg_mid",
    "msg_timestamp",
    "patch_timestamp",
];

/// The part of a query's `where` that the custom attributes alone decide: its top-level conditions
/// on keys that [`Conversation::doc_at`] does not fill itself (the reserved keys, `temp`, `ttl`),
/// which read the same in `record.attrs` as in the conversation JSON. Scans test it first, so an
/// unpinned query (`{"name": …}`, `{"attr.type": …}`) builds the JSON of matching conversations
/// only, not of every conversation.
pub(super) fn attribute_prefilter(filter: &query::Filter) -> query::Filter {
    filter.conditions_on(|key| !RESERVED_KEYS.contains(&key) && key != "temp" && key != "ttl")
}

/// The full JSON of page `skip..skip + limit` of the conversations in `scanned` that `filter`
/// matches, in `keys` order (a total order). Conversations are first tested on their custom
/// attributes ([`attribute_prefilter`]), then matched and sorted on JSON holding only the keys the
/// filter and the sort read; only the page's conversations get their whole JSON (member list, last
/// message), so a query over a million conversations does not build a million member lists. A
/// query filtered on the record's own fields and sorted on ids and times ([`TimeOrIdKey`]) builds
/// only those fields and compares them directly ([`page_by_time_or_id`]).
pub(super) fn query_page<'a>(
    scanned: impl Iterator<Item = &'a Conversation>,
    filter: Option<&query::Filter>,
    keys: &[query::SortKey],
    skip: usize,
    limit: usize,
    now: i64,
) -> Vec<Map<String, Value>> {
    let on_record_fields = filter.is_none_or(|f| f.reads_only(super::FIXED_KEYS));
    if on_record_fields {
        if let Some(fields) = keys.iter().map(TimeOrIdKey::of).collect::<Option<Vec<_>>>() {
            // Filtered on JSON holding only the record's fields it reads; a filter that reads none
            // (`{}`) gives every conversation the same answer.
            let same_for_all = match filter {
                None => Some(true),
                Some(f) => f.reads_only(&[]).then(|| f.matches(&Map::new())),
            };
            let convs: Vec<&Conversation> = scanned
                .filter(|conv| match (same_for_all, filter) {
                    (Some(matched), _) => matched,
                    (None, Some(f)) => f.matches(&conv.fixed_doc_with(|key| f.reads_key(key))),
                    (None, None) => true,
                })
                .collect();
            if convs
                .iter()
                .all(|conv| fields.iter().all(|key| key.sorts_as_json(conv)))
            {
                return page_by_time_or_id(convs, &fields, skip, limit, now);
            }
            return scan_page(convs.into_iter(), filter, keys, skip, limit, now);
        }
    }
    scan_page(scanned, filter, keys, skip, limit, now)
}

/// [`query_page`] in general: the conversations' JSON (the keys the filter and the sort read) is
/// built, filtered and sorted.
fn scan_page<'a>(
    scanned: impl Iterator<Item = &'a Conversation>,
    filter: Option<&query::Filter>,
    keys: &[query::SortKey],
    skip: usize,
    limit: usize,
    now: i64,
) -> Vec<Map<String, Value>> {
    let prefilter = filter.map(attribute_prefilter);
    let wanted = |key: &str| filter.is_some_and(|f| f.reads_key(key)) || query::sort_reads_key(keys, key);
    // Each match's sort values are classified once (dates parsed once), not in every comparison.
    let matches: Vec<(&Conversation, query::SortValues)> = scanned
        .filter(|conv| prefilter.as_ref().is_none_or(|p| p.matches(&conv.record.attrs)))
        .map(|conv| (conv, conv.doc_at_with(now, &wanted)))
        .filter(|(_, doc)| filter.is_none_or(|f| f.matches(doc)))
        .map(|(conv, mut doc)| (conv, query::SortValues::take(&mut doc, keys)))
        .collect();
    let order = |a: &(&Conversation, query::SortValues), b: &(&Conversation, query::SortValues)| {
        query::compare_prepared(&a.1, &b.1, keys)
    };
    page_in_order(matches, order, skip, limit)
        .map(|(conv, _)| conv.doc_at(now))
        .collect()
}

/// Items `skip..skip + limit` of `items` in `order`. Only the first `skip + limit` are sorted,
/// after partitioning them out in linear time.
fn page_in_order<T>(
    mut items: Vec<T>,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
    skip: usize,
    limit: usize,
) -> impl Iterator<Item = T> {
    let end = skip.saturating_add(limit);
    if end < items.len() {
        items.select_nth_unstable_by(end, &order);
        items.truncate(end);
    }
    items.sort_by(&order);
    items.into_iter().skip(skip)
}

/// A sort key a conversation gives without building its JSON: its id or one of its times. The
/// default orders (`-updatedAt` over REST, `-lm` over RTM) and the importer's (`objectId`) are
/// of these, and a listing filtered on the record's own fields only (none, `{"tr": true}`,
/// `{"objectId": {"$gt": …}}`, `{"updatedAt": {"$gt": …}}`: see `FIXED_KEYS`) and sorted by
/// them needs little JSON besides the page's.
#[derive(Clone, Copy, Debug)]
struct TimeOrIdKey {
    field: TimeOrId,
    descending: bool,
}

#[derive(Clone, Copy, Debug)]
enum TimeOrId {
    Id,
    CreatedAt,
    UpdatedAt,
    LastMessageAt,
}

/// A conversation's value for a [`TimeOrIdKey`], ordered as [`query::compare`] orders the JSON
/// values: a missing one first, times by instant, ids (strings that are not dates) by bytes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimeOrIdValue<'a> {
    Missing,
    Time(i64),
    Id(&'a str),
}

/// The times (ms) whose ISO text reads back as a date: 0000-01-01 to 9999-12-31.
const ISO_TIMES: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

impl TimeOrIdKey {
    fn of(key: &query::SortKey) -> Option<Self> {
        let field = match key.field.as_str() {
            "objectId" => TimeOrId::Id,
            "createdAt" => TimeOrId::CreatedAt,
            "updatedAt" => TimeOrId::UpdatedAt,
            "lm" => TimeOrId::LastMessageAt,
            _ => return None,
        };
        Some(Self {
            field,
            descending: key.descending,
        })
    }

    /// Whether `conv`'s value sorts here as its JSON sorts in [`query::compare`]. An id that
    /// reads as a date sorts among dates there, and a time outside the years 0000–9999 (whose
    /// ISO text reads as no date) among objects: those are left to the general path.
    fn sorts_as_json(&self, conv: &Conversation) -> bool {
        match self.value_of(conv) {
            TimeOrIdValue::Missing => true,
            TimeOrIdValue::Time(at) => ISO_TIMES.contains(&at),
            TimeOrIdValue::Id(id) => !query::is_date_string(id),
        }
    }

    fn value_of<'a>(&self, conv: &'a Conversation) -> TimeOrIdValue<'a> {
        match self.field {
            TimeOrId::Id => TimeOrIdValue::Id(&conv.record.id),
            TimeOrId::CreatedAt => TimeOrIdValue::Time(conv.record.created_at),
            TimeOrId::UpdatedAt => TimeOrIdValue::Time(conv.record.updated_at),
            TimeOrId::LastMessageAt => conv
                .last_message_at()
                .map_or(TimeOrIdValue::Missing, TimeOrIdValue::Time),
        }
    }
}

/// [`query_page`] of every conversation in `convs`, sorted by `keys` (ids and times only):
/// compared on their fields, with no JSON built but the page's.
fn page_by_time_or_id(
    convs: Vec<&Conversation>,
    keys: &[TimeOrIdKey],
    skip: usize,
    limit: usize,
    now: i64,
) -> Vec<Map<String, Value>> {
    let order = |a: &&Conversation, b: &&Conversation| {
        query::by_keys(
            keys.iter()
                .map(|key| (key.value_of(a).cmp(&key.value_of(b)), key.descending)),
        )
    };
    page_in_order(convs, order, skip, limit)
        .map(|conv| conv.doc_at(now))
        .collect()
}

/// Default and largest lifetime of a temporary conversation, in seconds.
const DEFAULT_TEMP_TTL: i32 = 24 * 3600;
const MAX_TEMP_TTL: i32 = 30 * 24 * 3600;

/// Default and largest page of a conversation query (LeanCloud: 10 and 1000).
pub(super) const DEFAULT_QUERY_LIMIT: usize = 10;
pub(super) const MAX_QUERY_LIMIT: usize = 1000;

/// The key of a distinct (`unique`) conversation: its sorted member set.
pub(crate) fn unique_key(members: &[String]) -> String {
    let mut sorted = members.to_vec();
    sorted.sort();
    serde_json::to_string(&sorted).unwrap_or_default()
}

/// Drops the keys clients may not set from the attributes `attrs` of a new conversation.
pub(super) fn strip_reserved(attrs: &mut Map<String, Value>) {
    for key in RESERVED_KEYS {
        attrs.remove(*key);
    }
}

/// The first members of a conversation that `creator` starts with `members`: each once, in order,
/// the creator last (when not named already), no empty ids (a server-side creator is empty).
pub(super) fn first_members(members: &[String], creator: &str) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(members.len() + 1);
    members
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(creator))
        .filter(|member| !member.is_empty() && seen.insert(member))
        .map(str::to_owned)
        .collect()
}

/// The conversation JSON of a `attr`/`where` body, `{}` when absent.
fn json_object(message: Option<&JsonObjectMessage>) -> HubResult<Map<String, Value>> {
    match message {
        None => Ok(Map::new()),
        Some(m) if m.data.trim().is_empty() => Ok(Map::new()),
        Some(m) => match serde_json::from_str::<Value>(&m.data) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(Fail::Code(
                ErrorCode::ConversationApiFailed,
                Some("expected a JSON object".into()),
            )),
            Err(error) => Err(Fail::Code(
                ErrorCode::ConversationApiFailed,
                Some(format!("invalid JSON: {error}")),
            )),
        },
    }
}

/// How deeply conversation attributes may nest (MongoDB's limit, which LeanCloud stored them in).
/// It keeps stored attributes within what `serde_json` parses back (128 levels) when the
/// conversation is loaded again.
const MAX_ATTR_DEPTH: usize = 100;

/// Refuses attribute `changes` (dotted keys allowed) that would nest the conversation's attributes
/// deeper than [`MAX_ATTR_DEPTH`], with 4306 CONVERSATION_UPDATE_FAILED; nothing is changed then.
pub(super) fn check_attr_depth(changes: &Map<String, Value>) -> HubResult {
    /// Nesting of `value` itself: 0 for a scalar, one more than its deepest element otherwise.
    /// Parsed JSON is at most 128 deep, so this recursion is bounded.
    fn depth(value: &Value) -> usize {
        match value {
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    // Each part of a dotted key is one object level of the attributes.
    let too_deep = changes
        .iter()
        .any(|(key, value)| key.split('.').count().saturating_add(depth(value)) > MAX_ATTR_DEPTH);
    if too_deep {
        return Err(Fail::Code(
            ErrorCode::ConversationUpdateFailed,
            Some(format!("attributes nest deeper than {MAX_ATTR_DEPTH} levels")),
        ));
    }
    Ok(())
}

/// Sets `value` at a dotted path (`"attr.lee"`), creating objects on the way; `{"__op":"Delete"}`
/// removes the key.
pub(super) fn set_path(target: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = target;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let delete = value
                .get("__op")
                .and_then(Value::as_str)
                .is_some_and(|op| op == "Delete");
            if delete {
                current.remove(part);
            } else {
                current.insert(part.to_owned(), value);
            }
            return;
        }
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
}

/// Refuses a chat-room `add` or `remove` by `client` that names anyone but itself (`ids`), whole,
/// with 4314 NORMAL_CONVERSATION_REQUIRED and `detail`.
///
/// A chat room's membership is who joined it while online, so clients only join and leave it
/// themselves; changing others' membership is an operation of normal conversations, and 4314 is
/// the code a service conversation gives for the same requests. Otherwise any member could put
/// arbitrary ids, offline ones included, into a room, or throw anyone out of it, the creator
/// included (a chat room has no owner role to check: it is online-only). Neither PROTOCOL.md nor
/// the SDKs settle this: the JS SDK's `ChatRoom` inherits `add(ids)` and `remove(ids)` from
/// `PersistentConversation` (`join`/`quit` are `add`/`remove` of oneself) but creates rooms with
/// the creator only (`m=[self]`, PROTOCOL.md §3.4); see the server README "Chat room membership".
fn only_self_in_chat_room(conv: &Conversation, ids: &[String], client: &str, detail: &str) -> HubResult {
    if conv.record.transient && ids.iter().any(|id| id != client) {
        return Err(Fail::Code(
            ErrorCode::NormalConversationRequired,
            Some(detail.into()),
        ));
    }
    Ok(())
}

/// An add or join that may be made, as [`Hub::check_add`] found it.
pub(super) struct CheckedAdd<'a> {
    /// The conversation.
    pub(super) conv: &'a Conversation,
    /// The clients added or joining (the allowed ones).
    pub(super) ids: Vec<String>,
    /// The clients kept out (blocked): a partial failure.
    pub(super) blocked: Vec<String>,
    /// Of `ids`, those not members yet (none in a chat room).
    pub(super) added: Vec<String>,
}

impl<S: Storage> Hub<S> {
    pub(super) fn conv(
        &mut self,
        conn: ConnId,
        client: &str,
        op: OpType,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        let body = command.conv_message.as_deref().cloned().unwrap_or_default();
        match op {
            OpType::Start => self.conv_start(conn, client, command, body, now),
            OpType::Add | OpType::Join => self.conv_add(conn, client, command, body, now),
            OpType::Remove | OpType::Leave | OpType::Kick => {
                self.conv_remove(conn, client, command, body, now)
            }
            OpType::Query => self.conv_query(conn, command, body, now),
            OpType::Update => self.conv_update(conn, client, command, body, now),
            OpType::Mute | OpType::Unmute => {
                self.conv_mute(conn, client, command, body, op == OpType::Mute, now)
            }
            OpType::Count => self.conv_count(conn, command, body),
            OpType::MaxRead => self.conv_max_read(conn, client, command, body),
            OpType::MemberInfoUpdate => self.member_info_update(conn, client, command, body, now),
            OpType::AddShutup | OpType::RemoveShutup | OpType::QueryShutup => {
                self.shutup(conn, client, op, command, body, now)
            }
            _ => Err(Fail::Code(
                ErrorCode::InternalError,
                Some("conversation operation not implemented by this server".into()),
            )),
        }
    }

    /// Conversation `cid`, or 4303 CONVERSATION_NOT_FOUND.
    pub(super) fn conversation(&self, cid: Option<&str>) -> HubResult<&Conversation> {
        cid.and_then(|cid| self.convs.get(cid))
            .ok_or(Fail::Code(ErrorCode::ConversationNotFound, None))
    }

    /// Conversation `cid` when `client` is a member of it (of a chat room: in it now; of a service
    /// conversation: subscribed), for operations on one's own membership (`mute`, `unmute`,
    /// `max_read`). Otherwise 4303 CONVERSATION_NOT_FOUND, or 4401 INVALID_MESSAGING_TARGET
    /// ("Conversation does not exist or client is not a member", PROTOCOL.md §3.13): LeanCloud
    /// refuses a non-member's conversation operations, and the protocol has no more specific code
    /// for these (4309 is for `update`, 4312 for history).
    pub(super) fn member_conversation(&self, cid: Option<&str>, client: &str) -> HubResult<&Conversation> {
        let conv = self.conversation(cid)?;
        if !conv.is_member(client) {
            return Err(Fail::Code(ErrorCode::InvalidMessagingTarget, None));
        }
        Ok(conv)
    }

    fn conv_reply(&mut self, conn: ConnId, command: &GenericCommand, op: OpType, body: ConvCommand) {
        let reply = GenericCommand::reply_to(command, CommandType::Conv)
            .with_op(op)
            .with(body);
        self.reply(conn, reply);
    }

    fn conv_start(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let (mut attrs, members) = self.check_start(conn, client, &body, now)?;
        strip_reserved(&mut attrs);
        let transient = body.transient == Some(true);
        // Temporary conversations (`_tmp:` ids) expire after their TTL (LeanCloud: default one
        // day, at most 30 days) and are found only by `tempConvIds`.
        let temp_ttl = (body.temp_conv == Some(true) && !transient).then(|| {
            body.temp_conv_ttl
                .filter(|ttl| *ttl > 0)
                .unwrap_or(DEFAULT_TEMP_TTL)
                .min(MAX_TEMP_TTL)
        });
        let unique_key =
            (body.unique == Some(true) && !transient && temp_ttl.is_none()).then(|| unique_key(&members));
        if let Some(key) = &unique_key {
            if let Some(existing) = self.unique.get(key).and_then(|cid| self.convs.get(cid.as_str())) {
                let reply = ConvCommand {
                    cid: Some(existing.record.id.clone()),
                    cdate: Some(iso(existing.record.created_at)),
                    existing: Some(true),
                    ..Default::default()
                };
                self.conv_reply(conn, command, OpType::Started, reply);
                return Ok(());
            }
        }
        let cid = match temp_ttl {
            Some(_) => format!("_tmp:{}", self.ids.next(now)),
            None => self.ids.next(now),
        };
        let record = ConversationRecord {
            transient,
            unique_key,
            expires_at: temp_ttl.map(|ttl| now + i64::from(ttl) * 1000),
            ..ConversationRecord::new(cid.clone(), client, attrs, now)
        };
        // A chat room starts with its creator only: the others join it themselves.
        let creator_only = [client.to_owned()];
        self.insert_conversation(record, if transient { &creator_only } else { &members })?;
        self.conv_reply(
            conn,
            command,
            OpType::Started,
            ConvCommand {
                cid: Some(cid.clone()),
                cdate: Some(iso(now)),
                temp_conv_ttl: temp_ttl,
                ..Default::default()
            },
        );
        if !transient {
            self.push_joined(&cid, client, &members, now)?;
        }
        self.notify_hook(HookName::ConversationStarted, |_| hooks::started_params(&cid));
        Ok(())
    }

    /// Stores new conversation `record` and keeps it in memory with its `first` members: stored
    /// members of a persistent conversation, online members of a chat room. Nobody is told.
    pub(super) fn insert_conversation(
        &mut self,
        record: ConversationRecord,
        first: &[String],
    ) -> HubResult<&Conversation> {
        self.storage.save_conversation(&record)?;
        if !record.transient && !first.is_empty() {
            self.storage
                .add_members(&record.id, first, 0, record.created_at)?;
        }
        let cid = ConvId::from(record.id.as_str());
        if let Some(key) = &record.unique_key {
            self.unique.insert(key.clone(), record.id.clone());
        }
        let mut conv = Conversation::new(record);
        conv.admit(&cid, first, Position::default(), &mut self.joined);
        Ok(self.convs.entry(cid).insert_entry(conv).into_mut())
    }

    /// Whether an add/remove carries a valid signature for one of `actions` (or none is required).
    pub(super) fn membership_signed(
        &self,
        conn: ConnId,
        members: &[String],
        (s, t, n): (Option<&str>, Option<i64>, Option<&str>),
        (client, cid): (&str, &str),
        actions: &[&str],
        now: i64,
    ) -> bool {
        let app_id = self.app_of(conn, client);
        actions.iter().any(|action| {
            self.signed(s, t, n, now, |t, n| {
                crate::signature::membership_message(&app_id, client, cid, members, t, n, action)
            })
        })
    }

    /// The conversation of an add or remove by `client` and the members it names, if `client` may
    /// make it: only a member changes other members, a service conversation's subscribers only
    /// (un)subscribe themselves, and the change is signed as one of `actions` when signatures are
    /// required.
    fn allowed_membership_change(
        &self,
        conn: ConnId,
        client: &str,
        body: &ConvCommand,
        actions: &[&str],
        now: i64,
    ) -> HubResult<(&Conversation, Vec<String>)> {
        let conv = self.conversation(body.cid.as_deref())?;
        let ids = members_or_self(body, client);
        let only_self = ids.iter().all(|id| id == client);
        if conv.record.system && !only_self {
            return Err(Fail::Code(ErrorCode::NormalConversationRequired, None));
        }
        if !only_self && !conv.is_member(client) {
            return Err(Fail::Code(ErrorCode::ConversationMembershipRequired, None));
        }
        let signature = (body.s.as_deref(), body.t, body.n.as_deref());
        if !self.membership_signed(conn, &body.m, signature, (client, &conv.record.id), actions, now) {
            return Err(Fail::Code(ErrorCode::ConversationSignatureFailed, None));
        }
        Ok((conv, ids))
    }

    /// A conversation event (see [`Self::conv_event`]) about members `m` of `cid`, made by
    /// `initiator`: the shape of every membership and moderation push.
    pub(super) fn membership_event(
        op: OpType,
        cid: &str,
        initiator: &str,
        m: Vec<String>,
        now: i64,
    ) -> Arc<GenericCommand> {
        Self::conv_event(
            op,
            ConvCommand {
                cid: Some(cid.to_owned()),
                init_by: Some(initiator.to_owned()),
                m,
                ..Default::default()
            },
            now,
        )
    }

    /// The pushes of the seed's events table for members `added` by `initiator`: each added member
    /// other than the initiator is `joined` (INVITED); everyone else in the conversation, the
    /// initiator included, gets `members_joined` (MEMBERS_JOINED).
    pub(super) fn push_joined(
        &mut self,
        cid: &str,
        initiator: &str,
        added: &[String],
        now: i64,
    ) -> HubResult {
        let Some(conv) = self.convs.get(cid) else {
            return Ok(());
        };
        let everyone = conv.member_ids();
        let joined = Self::membership_event(OpType::Joined, cid, initiator, Vec::new(), now);
        let members_joined =
            Self::membership_event(OpType::MembersJoined, cid, initiator, added.to_vec(), now);
        for member in everyone {
            if member != initiator && added.contains(&member) {
                self.notify(&member, &joined, now)?;
            } else {
                self.notify(&member, &members_joined, now)?;
            }
        }
        Ok(())
    }

    /// The attributes and first members of a `conv/start` by `client`, if it may be made: signed
    /// when signatures are required, attributes a JSON object, members within the limit (chat
    /// rooms have none). Nothing is changed; `conv_start` and the `_conversationStart` hook share it.
    pub(super) fn check_start(
        &self,
        conn: ConnId,
        client: &str,
        body: &ConvCommand,
        now: i64,
    ) -> HubResult<(Map<String, Value>, Vec<String>)> {
        let app_id = self.app_of(conn, client);
        if !self.signed(body.s.as_deref(), body.t, body.n.as_deref(), now, |t, n| {
            crate::signature::create_message(&app_id, client, &body.m, t, n)
        }) {
            return Err(Fail::Code(ErrorCode::ConversationSignatureFailed, None));
        }
        let attrs = json_object(body.attr.as_ref())?;
        let members = first_members(&body.m, client);
        if body.transient != Some(true) {
            self.check_new_members(members.len())?;
        }
        Ok((attrs, members))
    }

    /// A `conv/add` or `conv/join` by `client`, if it may be made (see [`CheckedAdd`]). Nothing is
    /// changed; `conv_add` and the `_conversationAdd` hook share it.
    pub(super) fn check_add(
        &self,
        conn: ConnId,
        client: &str,
        body: &ConvCommand,
        now: i64,
    ) -> HubResult<CheckedAdd<'_>> {
        // v5 signs adds as `invite`, 4.3.1 as `add`.
        let (conv, ids) = self.allowed_membership_change(conn, client, body, &["invite", "add"], now)?;
        only_self_in_chat_room(conv, &ids, client, "clients join a chat room themselves")?;
        // Blocked clients cannot be added or join again, nor can others add a client that blocked
        // the conversation (partial failure, not a whole error).
        let (blocked, ids): (Vec<String>, Vec<String>) =
            ids.into_iter().partition(|id| self.kept_out(conv, id, client));
        // `ids` names each client once already; a chat room has no stored members.
        let added: Vec<String> = if conv.record.transient {
            Vec::new()
        } else {
            ids.iter()
                .filter(|id| !conv.members.contains_key(id))
                .cloned()
                .collect()
        };
        self.check_room_in(conv, added.len())?;
        Ok(CheckedAdd {
            conv,
            ids,
            blocked,
            added,
        })
    }

    /// The conversation and the clients of a `conv/remove` (or quit) by `client`, if it may be
    /// made. Nothing is changed; `conv_remove` and the `_conversationRemove` hook share it.
    pub(super) fn check_remove(
        &self,
        conn: ConnId,
        client: &str,
        body: &ConvCommand,
        now: i64,
    ) -> HubResult<(&Conversation, Vec<String>)> {
        // v5 signs removals as `kick`, 4.3.1 as `remove`.
        let (conv, ids) = self.allowed_membership_change(conn, client, body, &["kick", "remove"], now)?;
        only_self_in_chat_room(
            conv,
            &ids,
            client,
            "clients leave a chat room themselves; the app's backend removes others (REST blacklist, kick)",
        )?;
        Ok((conv, ids))
    }

    /// The conversation and attribute changes of a `conv/update` by `client`, if it may be made (a
    /// member, or anyone in a chat room; attributes a JSON object not nested too deep). Nothing
    /// is changed; `conv_update` and the `_conversationUpdate` hook share it.
    pub(super) fn check_update(
        &self,
        client: &str,
        body: &ConvCommand,
    ) -> HubResult<(&Conversation, Map<String, Value>)> {
        let conv = self.conversation(body.cid.as_deref())?;
        if !conv.record.transient && !conv.is_member(client) {
            return Err(Fail::Code(ErrorCode::ConversationUpdateRejected, None));
        }
        let changes = json_object(body.attr.as_ref())?;
        check_attr_depth(&changes)?;
        Ok((conv, changes))
    }

    fn conv_add(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let CheckedAdd {
            conv,
            ids,
            blocked,
            added,
        } = self.check_add(conn, client, &body, now)?;
        let cid = conv.record.id.clone();
        let system = conv.record.system;
        let transient = conv.record.transient;
        let read_ts = conv.last_ts;
        let failed_pids = super::moderation::failure(ErrorCode::ConversationBlacklisted, blocked);
        if transient {
            self.add_in_memory(&cid, &ids, Position::default());
        } else {
            // New members start with everything before they joined read, so it is not unread.
            self.admit_members(&cid, &added, read_ts, now)?;
        }
        self.notify_membership_hook(true, &cid, client, if transient { &ids } else { &added });
        self.conv_reply(
            conn,
            command,
            OpType::Added,
            ConvCommand {
                cid: Some(cid.clone()),
                allowed_pids: ids,
                failed_pids,
                ..Default::default()
            },
        );
        // Joining a chat room tells nobody (it is online-only), nor does subscribing to a service
        // conversation (it may have millions).
        if !added.is_empty() && !system {
            self.push_joined(&cid, client, &added, now)?;
        }
        Ok(())
    }

    fn conv_remove(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let (conv, ids) = self.check_remove(conn, client, &body, now)?;
        let cid = conv.record.id.clone();
        let transient = conv.record.transient;
        let system = conv.record.system;
        let removed: Vec<String> = ids.iter().filter(|id| conv.is_member(id)).cloned().collect();
        let reply = ConvCommand {
            cid: Some(cid.clone()),
            allowed_pids: ids,
            ..Default::default()
        };
        self.notify_membership_hook(false, &cid, client, &removed);
        if transient {
            self.leave_room(&cid, &removed, now)?;
            self.conv_reply(conn, command, OpType::Removed, reply);
            return Ok(());
        }
        self.drop_members(&cid, &removed, now)?;
        self.conv_reply(conn, command, OpType::Removed, reply);
        if system {
            return Ok(());
        }
        self.push_left(&cid, client, &removed, now)
    }

    /// Stores `added` as members of persistent conversation `cid` joined at `now` with everything
    /// up to `read_ts` read and acknowledged (as storage does), and adds them in memory the same way.
    pub(super) fn add_members_read_up_to(
        &mut self,
        cid: &str,
        added: &[String],
        read_ts: i64,
        now: i64,
    ) -> HubResult {
        self.storage.add_members(cid, added, read_ts, now)?;
        let position = Position {
            read_ts,
            ack_ts: read_ts,
        };
        self.add_in_memory(cid, added, position);
        Ok(())
    }

    /// Adds `added` (not yet members of persistent conversation `cid`) to it, with everything up
    /// to `read_ts` read.
    pub(super) fn admit_members(&mut self, cid: &str, added: &[String], read_ts: i64, now: i64) -> HubResult {
        if added.is_empty() {
            return Ok(());
        }
        self.add_members_read_up_to(cid, added, read_ts, now)?;
        if let Some(conv) = self.convs.get_mut(cid) {
            conv.record.updated_at = now;
            let record = conv.record.clone();
            self.storage.save_conversation(&record)?;
        }
        Ok(())
    }

    /// Removes `removed` (current members of persistent conversation `cid`) from it, and from its
    /// `mu` list.
    pub(super) fn drop_members(&mut self, cid: &str, removed: &[String], now: i64) -> HubResult {
        if removed.is_empty() {
            return Ok(());
        }
        self.storage.remove_members(cid, removed)?;
        if let Some(conv) = self.convs.get_mut(cid) {
            for id in removed {
                conv.members.remove(id);
                conv.roles.remove(id);
            }
            conv.forget_mutes_of(removed);
            conv.record.updated_at = now;
            let record = conv.record.clone();
            self.storage.save_conversation(&record)?;
        }
        for id in removed {
            self.index_leave(id, cid);
        }
        Ok(())
    }

    /// Takes `leaving` (clients in chat room `cid`) out of the room, and off its `mu` list (the
    /// conversation is stored again only when one of them was on it).
    pub(super) fn leave_room(&mut self, cid: &str, leaving: &[String], now: i64) -> HubResult {
        let Some(conv) = self.convs.get_mut(cid) else {
            return Ok(());
        };
        for id in leaving {
            conv.room.remove(id.as_str());
        }
        if conv.forget_mutes_of(leaving) {
            conv.record.updated_at = now;
            let record = conv.record.clone();
            self.storage.save_conversation(&record)?;
        }
        for id in leaving {
            self.index_leave(id, cid);
        }
        Ok(())
    }

    /// Seed events table: removed members other than the initiator are `left` (KICKED); the
    /// remaining members and the initiator get `members_left` (MEMBERS_LEFT).
    pub(super) fn push_left(
        &mut self,
        cid: &str,
        initiator: &str,
        removed: &[String],
        now: i64,
    ) -> HubResult {
        if removed.is_empty() {
            return Ok(());
        }
        let left = Self::membership_event(OpType::Left, cid, initiator, Vec::new(), now);
        let members_left = Self::membership_event(OpType::MembersLeft, cid, initiator, removed.to_vec(), now);
        for id in removed {
            if id != initiator {
                self.notify(id, &left, now)?;
            }
        }
        for id in self.members_and(cid, initiator) {
            self.notify(&id, &members_left, now)?;
        }
        Ok(())
    }

    /// The members of `cid`, plus `initiator` if it is not one (any more).
    pub(super) fn members_and(&self, cid: &str, initiator: &str) -> Vec<String> {
        let mut ids = self
            .convs
            .get(cid)
            .map(Conversation::member_ids)
            .unwrap_or_default();
        // Server-side (REST) changes have no initiating client.
        if !initiator.is_empty() && !ids.iter().any(|id| id == initiator) {
            ids.push(initiator.to_owned());
        }
        ids
    }

    fn conv_query(
        &mut self,
        conn: ConnId,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let flag = body.flag.unwrap_or(0);
        let compact = flag & 1 != 0;
        let with_last_message = flag & 2 != 0;
        let by_temp_ids = !body.temp_conv_ids.is_empty();
        let (filter, candidates) = if !by_temp_ids {
            let where_json = json_object(body.r#where.as_ref())?;
            let filter = query::parse_where(&Value::Object(where_json))
                .map_err(|error| Fail::Code(ErrorCode::ConversationApiFailed, Some(error.to_string())))?;
            let candidates = self.candidates(&filter);
            (Some(filter), candidates)
        } else {
            let mut ids = body.temp_conv_ids.clone();
            ids.sort();
            ids.dedup();
            (None, Some(ids))
        };
        let scanned: Box<dyn Iterator<Item = &Conversation>> = match &candidates {
            Some(ids) => Box::new(ids.iter().filter_map(|id| self.convs.get(id.as_str()))),
            None => Box::new(self.convs.values()),
        };
        let sort = body
            .sort
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("-lm");
        let mut keys = query::parse_sort(sort);
        // A total order, so that paging with skip/limit is stable.
        keys.push(query::SortKey {
            field: "objectId".into(),
            descending: false,
        });
        let skip = usize::try_from(body.skip.unwrap_or(0)).unwrap_or(0);
        let limit = body
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_QUERY_LIMIT)
            .min(MAX_QUERY_LIMIT);
        let scanned = scanned.filter(|conv| match conv.record.expires_at {
            Some(expires_at) => by_temp_ids && expires_at > now,
            None => !by_temp_ids,
        });
        let docs = query_page(scanned, filter.as_ref(), &keys, skip, limit, now);
        let results: Vec<Value> = docs
            .into_iter()
            .map(|mut doc| {
                if compact {
                    doc.remove("m");
                }
                if !with_last_message {
                    for key in [
                        "msg",
                        "bin",
                        "msg_from",
                        "msg_mid",
                        "msg_timestamp",
                        "patch_timestamp",
                    ] {
                        doc.remove(key);
                    }
                }
                // LeanCloud sends createdAt/updatedAt as plain ISO strings (lm stays a Date).
                for key in ["createdAt", "updatedAt"] {
                    if let Some(iso) = doc.get(key).and_then(|d| d.get("iso")).cloned() {
                        doc.insert(key.into(), iso);
                    }
                }
                Value::Object(doc)
            })
            .collect();
        self.conv_reply(
            conn,
            command,
            OpType::Results,
            ConvCommand {
                results: Some(JsonObjectMessage {
                    data: Value::Array(results).to_string(),
                }),
                ..Default::default()
            },
        );
        Ok(())
    }

    /// A superset of the conversations a `where` can match, when one of its top-level (AND-ed)
    /// conditions pins the id (`objectId`, `$in`) or a member (`m`); `None` means scan them all.
    /// The common queries — `getConversation(s)` and `containsMembers` — then cost what they return.
    /// The conversations a query can match, when its filter pins them: by `objectId`, or by a member
    /// every match must have (the smallest of those members' conversation sets). `None` means scan all.
    pub(super) fn candidates(&self, filter: &query::Filter) -> Option<Vec<String>> {
        if let Some(mut ids) = filter.object_ids() {
            ids.sort();
            ids.dedup();
            return Some(ids);
        }
        filter
            .required_members()
            .iter()
            .map(|member| self.joined.conversations_of(member))
            .min_by_key(|cids| cids.len())
            .map(|cids| cids.iter().map(|cid| cid.to_string()).collect())
    }

    fn conv_update(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let (conv, changes) = self.check_update(client, &body)?;
        let cid = conv.record.id.clone();
        let Some(conv) = self.convs.get_mut(cid.as_str()) else {
            return Err(Fail::Code(ErrorCode::ConversationNotFound, None));
        };
        for (key, value) in &changes {
            let top = key.split('.').next().unwrap_or(key);
            if !RESERVED_KEYS.contains(&top) {
                set_path(&mut conv.record.attrs, key, value.clone());
            }
        }
        conv.record.updated_at = now;
        let record = conv.record.clone();
        let members = conv.member_ids();
        self.storage.save_conversation(&record)?;
        self.conv_reply(
            conn,
            command,
            OpType::Updated,
            ConvCommand {
                cid: Some(cid.clone()),
                udate: Some(iso(now)),
                ..Default::default()
            },
        );
        let changes = JsonObjectMessage {
            data: Value::Object(changes).to_string(),
        };
        let push = Self::push_body(
            CommandType::Conv,
            Some(OpType::Updated),
            ConvCommand {
                cid: Some(cid),
                init_by: Some(client.to_owned()),
                udate: Some(iso(now)),
                attr: Some(changes.clone()),
                attr_modified: Some(changes),
                ..Default::default()
            },
            now,
        );
        for member in members {
            // Everyone but the session that made the change, which already has it.
            let except = (member == client).then_some(conn);
            self.push_to(&member, &push, except);
        }
        Ok(())
    }

    fn conv_mute(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
        mute: bool,
        now: i64,
    ) -> HubResult {
        let cid = self
            .member_conversation(body.cid.as_deref(), client)?
            .record
            .id
            .clone();
        if let Some(conv) = self.convs.get_mut(cid.as_str()) {
            let muted = &mut conv.record.muted;
            let present = muted.iter().any(|m| m == client);
            if mute && !present {
                muted.push(client.to_owned());
            } else if !mute && present {
                muted.retain(|m| m != client);
            }
            conv.record.updated_at = now;
            let record = conv.record.clone();
            self.storage.save_conversation(&record)?;
        }
        self.conv_reply(
            conn,
            command,
            OpType::Updated,
            ConvCommand {
                cid: Some(cid),
                udate: Some(iso(now)),
                ..Default::default()
            },
        );
        Ok(())
    }

    fn conv_count(&mut self, conn: ConnId, command: &GenericCommand, body: ConvCommand) -> HubResult {
        let conv = self.conversation(body.cid.as_deref())?;
        let count = if conv.record.transient {
            // Chat rooms report how many members are online.
            conv.room.iter().filter(|id| self.is_online(id)).count()
        } else {
            conv.members.len()
        };
        let cid = conv.record.id.clone();
        self.conv_reply(
            conn,
            command,
            OpType::Result,
            ConvCommand {
                cid: Some(cid),
                count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
                ..Default::default()
            },
        );
        Ok(())
    }

    fn conv_max_read(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
    ) -> HubResult {
        let conv = self.member_conversation(body.cid.as_deref(), client)?;
        let cid = conv.record.id.clone();
        // A service conversation's subscribers are never told about each other (see `service`):
        // a subscriber sees only its own position.
        let visible = |id: &str| !conv.record.system || id == client;
        let others = conv.members.iter().filter(|(id, _)| *id != client && visible(id));
        let max_read = others.clone().map(|(_, p)| p.read_ts).max().unwrap_or(0);
        let max_ack = others.map(|(_, p)| p.ack_ts).max().unwrap_or(0);
        let tuples = if body.query_all_members == Some(true) {
            conv.members
                .iter()
                .filter(|(id, _)| visible(id))
                .map(|(id, p)| MaxReadTuple {
                    pid: Some(id.to_owned()),
                    max_ack_timestamp: Some(p.ack_ts),
                    max_read_timestamp: Some(p.read_ts),
                })
                .collect()
        } else {
            Vec::new()
        };
        self.conv_reply(
            conn,
            command,
            OpType::MaxRead,
            ConvCommand {
                cid: Some(cid),
                max_read_timestamp: Some(max_read),
                max_ack_timestamp: Some(max_ack),
                max_read_tuples: tuples,
                ..Default::default()
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Conversations with equal and missing times (ties broken by id), imported `lm`s and last
    /// messages: listings sorted by ids and times.
    fn listed() -> Vec<Conversation> {
        (0..40)
            .map(|n: i64| {
                let creator = if n % 2 == 0 { "Tom" } else { "Mary" };
                let record = ConversationRecord {
                    updated_at: 1_000 + n % 3,
                    last_message_at: (n % 4 == 1).then_some(5_000 + n % 5),
                    transient: n % 5 == 2,
                    system: n % 5 == 3,
                    unique_key: (n % 6 == 0).then(|| r#"["Tom"]"#.to_owned()),
                    ..ConversationRecord::new(
                        format!("c{:02}", (n * 7) % 40),
                        creator,
                        Map::new(),
                        100 + n % 2,
                    )
                };
                let mut conv = Conversation::new(record);
                if n % 3 == 0 {
                    let message = crate::storage::MessageRecord {
                        id: format!("m{n}"),
                        cid: conv.record.id.clone(),
                        from: "Tom".into(),
                        timestamp: 5_000 + n % 7,
                        data: Some("hi".into()),
                        binary: None,
                        mention_all: false,
                        mention_pids: Vec::new(),
                        dt: None,
                        receipt: false,
                        patch_timestamp: None,
                        patch_code: None,
                        patch_reason: None,
                        lctype: None,
                        audience: None,
                    };
                    conv.last = Some(message.into());
                }
                conv
            })
            .collect()
    }

    #[test]
    fn times_in_iso_range_read_back_as_dates() {
        let reads = |ms: i64| query::is_date_string(&crate::time::iso8601(ms));
        assert!(reads(*ISO_TIMES.start()) && reads(*ISO_TIMES.end()) && reads(0));
        assert!(!reads(ISO_TIMES.start() - 1) && !reads(ISO_TIMES.end() + 1));
    }

    #[test]
    fn listings_by_ids_and_times_match_the_general_scan() {
        let convs = listed();
        let everything = query::parse_where(&serde_json::json!({})).expect("where");
        let past = query::parse_where(&serde_json::json!({"objectId": {"$gt": "c17"}})).expect("where");
        let iso = |ms: i64| crate::time::iso8601(ms);
        let lm = serde_json::json!({"lm": {"$gte": {"__type": "Date", "iso": iso(5_002)}}, "updatedAt": {"$lt": iso(1_002)}});
        let lm = query::parse_where(&lm).expect("where");
        let rooms = query::parse_where(&serde_json::json!({"tr": true})).expect("where");
        let mine = serde_json::json!({"$or": [{"c": "Tom", "unique": true}, {"sys": {"$exists": true}}]});
        let mine = query::parse_where(&mine).expect("where");
        for sort in [
            "-updatedAt,objectId",
            "-lm,objectId",
            "lm,-createdAt,objectId",
            "objectId",
            "-objectId",
        ] {
            let keys = query::parse_sort(sort);
            for (skip, limit) in [(0, 10), (5, 7), (35, 10), (0, 100)] {
                for filter in [
                    None,
                    Some(&everything),
                    Some(&past),
                    Some(&lm),
                    Some(&rooms),
                    Some(&mine),
                ] {
                    let fast = query_page(convs.iter(), filter, &keys, skip, limit, 0);
                    let scanned = scan_page(convs.iter(), filter, &keys, skip, limit, 0);
                    assert_eq!(fast, scanned, "{sort} {skip} {limit} {filter:?}");
                }
                let all = query_page(convs.iter(), None, &keys, skip, limit, 0);
                assert_eq!(all.len(), limit.min(40 - skip.min(40)), "{sort} {skip} {limit}");
            }
        }
        let past = query_page(
            convs.iter(),
            Some(&past),
            &query::parse_sort("objectId"),
            0,
            100,
            0,
        );
        assert_eq!(past.len(), 22, "c18..c39");
        for filter in [&lm, &rooms, &mine] {
            let some = query_page(
                convs.iter(),
                Some(filter),
                &query::parse_sort("objectId"),
                0,
                100,
                0,
            );
            assert!((1..40).contains(&some.len()), "{filter:?}: {}", some.len());
        }
    }

    #[test]
    fn dotted_paths_nest_and_delete() {
        let mut attrs = Map::new();
        set_path(&mut attrs, "attr.lee", Value::from(1));
        set_path(&mut attrs, "name", Value::from("x"));
        assert_eq!(
            Value::Object(attrs.clone()),
            serde_json::json!({"attr": {"lee": 1}, "name": "x"})
        );
        set_path(&mut attrs, "attr.lee", serde_json::json!({"__op": "Delete"}));
        assert_eq!(Value::Object(attrs), serde_json::json!({"attr": {}, "name": "x"}));
    }
}
