//! The rest of the server-side (REST API 1.2, master key) operations: deleting conversations and
//! messages, sending with delivery options, history across conversations, blacklists and member
//! roles. Each runs in its own storage transaction through [`Hub::admin`]; the REST handlers only
//! parse and answer.

use chinwag_protocol::{ConvCommand, ErrorCode, OpType};
use serde_json::{Value, json};

use super::service::{AdminError, AdminOutcome, HistoryPage, SendOptions};
use super::{Conversation, Fail, Hub, HubResult};
use crate::storage::{MessagePosition, MessageQuery, MessageRecord, MessageScope, Storage};

/// Which kind of conversation a REST path names (`/conversations`, `/chatrooms`,
/// `/service-conversations`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKind {
    /// A normal or group conversation (also temporary ones).
    Normal,
    /// A chat room (`tr`).
    ChatRoom,
    /// A service conversation (`sys`).
    Service,
}

impl ConvKind {
    /// The kind of `conv`.
    pub(super) fn of(conv: &Conversation) -> Self {
        if conv.record.system {
            Self::Service
        } else if conv.record.transient {
            Self::ChatRoom
        } else {
            Self::Normal
        }
    }

    /// The official code for "this operation needs a conversation of this kind".
    fn required(self) -> ErrorCode {
        match self {
            Self::Normal => ErrorCode::NormalConversationRequired,
            Self::ChatRoom => ErrorCode::TransientConversationRequired,
            Self::Service => ErrorCode::SystemConversationRequired,
        }
    }
}

/// Default and largest page of a REST history query (LeanCloud: 100 and 1000).
const DEFAULT_HISTORY_LIMIT: u32 = 100;
const MAX_HISTORY_LIMIT: u32 = 1000;

/// Default and largest page of blacklists and member infos.
const DEFAULT_LIST_LIMIT: usize = 50;
const MAX_LIST_LIMIT: usize = 1000;

impl<S: Storage> Hub<S> {
    /// Conversation `cid` if it is of `kind` (4303, or the kind's "required" code).
    fn conv_of_kind(&self, cid: &str, kind: ConvKind) -> HubResult<&Conversation> {
        let conv = self.conversation(Some(cid))?;
        let actual = ConvKind::of(conv);
        // `/conversations/...` paths are `_Conversation` rows: they reach chat rooms too, as
        // they did in LeanCloud before the 1.2 API split them.
        if actual != kind && !(kind == ConvKind::Normal && actual == ConvKind::ChatRoom) {
            return Err(Fail::Code(kind.required(), None));
        }
        Ok(conv)
    }

    /// Deletes conversation `cid` of `kind` with its members and history
    /// (`DELETE /1.2/rtm/{conversations,chatrooms,service-conversations}/{id}`). As in LeanCloud,
    /// nobody is told: queries stop finding it, and sending into it fails (4401 over RTM, 4303
    /// over REST).
    pub fn delete_conversation(&mut self, cid: &str, kind: ConvKind) -> AdminOutcome<()> {
        self.admin(|hub| {
            let conv = hub.conv_of_kind(cid, kind)?;
            let clients: Vec<String> = conv
                .members
                .keys()
                .chain(conv.room.iter().map(|id| &**id))
                .map(str::to_owned)
                .collect();
            let unique_key = conv.record.unique_key.clone();
            hub.storage.delete_conversation(cid)?;
            // Every in-memory map keyed by conversation forgets it too (ids are never reused, so
            // a leftover entry would only leak).
            hub.convs.remove(cid);
            hub.latest_receipts.remove(cid);
            hub.unstored_positions.0.remove(cid);
            hub.timed_shutups.remove_conversation(cid);
            if let Some(key) = unique_key {
                hub.unique.remove(&key);
            }
            for client in &clients {
                hub.index_leave(client, cid);
            }
            Ok(())
        })
    }

    /// Sends `message` as `from_client` into `cid` of `kind` (`POST .../{id}/messages`); service
    /// conversations need `options.to_clients`. Returns the message id and timestamp.
    pub fn send_with(
        &mut self,
        cid: &str,
        kind: ConvKind,
        from_client: &str,
        message: &str,
        options: &SendOptions,
        now_ms: i64,
    ) -> AdminOutcome<(String, i64)> {
        self.admin(|hub| {
            let conv = hub.conv_of_kind(cid, kind)?;
            if conv.is_expired(now_ms) {
                return Err(Fail::Code(ErrorCode::TemporaryConversationExpired, None));
            }
            let mut options = options.clone();
            // Chat rooms keep no history; other kinds never take `to_clients`.
            options.transient |= conv.record.transient;
            if kind != ConvKind::Service {
                options.to_clients = None;
            } else if options.to_clients.as_ref().is_none_or(Vec::is_empty) {
                return Err(Fail::Code(
                    ErrorCode::ConversationApiFailed,
                    Some("to_clients is required".into()),
                ));
            }
            hub.post_message(cid, from_client, message, &options, now_ms)
        })
    }

    /// Deletes stored message `mid` (of `cid` when given, which must then be of `kind`):
    /// `DELETE .../messages/{mid}?from_client&timestamp` and `DELETE /1.2/rtm/broadcasts/{mid}`.
    /// `from_client` and `timestamp`, when given, must match (4403, 4404). Server-side only: copies
    /// clients already have stay.
    pub fn delete_message(
        &mut self,
        cid: Option<&str>,
        kind: ConvKind,
        mid: &str,
        from_client: Option<&str>,
        timestamp: Option<i64>,
    ) -> AdminOutcome<()> {
        self.admin(|hub| {
            if let Some(cid) = cid {
                hub.conv_of_kind(cid, kind)?;
            }
            let deleted = hub
                .storage
                .delete_message(cid, mid)?
                .ok_or(Fail::Code(ErrorCode::MessageNotFound, None))?;
            if timestamp.is_some_and(|t| t != deleted.timestamp) {
                return Err(Fail::Code(ErrorCode::MessageNotFound, None));
            }
            if from_client.is_some_and(|from| from != deleted.from) {
                return Err(Fail::Code(ErrorCode::MessageOwnershipRequired, None));
            }
            if cid.is_none() && hub.convs.get(deleted.cid.as_str()).map(ConvKind::of) != Some(kind) {
                return Err(Fail::Code(kind.required(), None));
            }
            let was_last = hub
                .convs
                .get(deleted.cid.as_str())
                .is_some_and(|c| c.last.as_ref().is_some_and(|last| *last.id == *deleted.id));
            if was_last {
                let newest = hub.storage.messages_where(&MessageQuery {
                    scope: MessageScope::Conversation(deleted.cid.clone()),
                    exclude_service: false,
                    lower: None,
                    upper: None,
                    newest_first: true,
                    limit: 1,
                    offset: 0,
                })?;
                if let Some(conv) = hub.convs.get_mut(deleted.cid.as_str()) {
                    conv.last = newest.into_iter().next().map(Into::into);
                }
            }
            Ok(())
        })
    }

    /// A page of stored messages in the REST history shape: `scope` picks them (one conversation,
    /// one sender, one subscriber's view of a service conversation, or the whole app). See
    /// [`HistoryPage`] for the bounds: newest first from `start` down to `stop`, or with
    /// `reversed` oldest first from `start` up to `stop`; a bound with a message id cuts between
    /// messages of the same timestamp.
    pub fn message_page(
        &mut self,
        scope: MessageScope,
        page: &HistoryPage,
        _now_ms: i64,
    ) -> Result<Vec<Value>, AdminError> {
        let exclude_service = match &scope {
            MessageScope::Conversation(cid) => {
                if !self.convs.contains_key(cid.as_str()) {
                    return Err(Fail::Code(ErrorCode::ConversationNotFound, None).into());
                }
                false
            }
            MessageScope::Subscriber { cid, .. } | MessageScope::Broadcasts(cid) => {
                self.service(cid)?;
                false
            }
            // "Messages a client sent in normal, group and chat-room conversations" (REST.md §2.2).
            MessageScope::Sender(_) => true,
            MessageScope::App => false,
        };
        let position = |ts: Option<i64>, id: &Option<String>, inclusive: bool| {
            ts.map(|ts| MessagePosition {
                ts,
                id: id.clone().filter(|id| !id.is_empty()),
                inclusive,
            })
        };
        let start = position(page.start, &page.start_id, page.include_start);
        let stop = position(page.stop, &page.stop_id, page.include_stop);
        let (lower, upper) = if page.reversed {
            (start, stop)
        } else {
            (stop, start)
        };
        let limit = page
            .limit
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_HISTORY_LIMIT)
            .min(MAX_HISTORY_LIMIT);
        let messages = self.storage.messages_where(&MessageQuery {
            scope,
            exclude_service,
            lower,
            upper,
            newest_first: !page.reversed,
            limit,
            offset: 0,
        })?;
        Ok(messages.iter().map(|m| self.history_item(m)).collect())
    }

    /// The broadcasts of service conversation `cid`, newest first (`GET /1.2/rtm/broadcasts`).
    pub fn broadcasts_page(
        &mut self,
        cid: &str,
        skip: u32,
        limit: Option<u32>,
    ) -> Result<Vec<Value>, AdminError> {
        self.service(cid)?;
        let messages = self.storage.messages_where(&MessageQuery {
            scope: MessageScope::Broadcasts(cid.to_owned()),
            exclude_service: false,
            lower: None,
            upper: None,
            newest_first: true,
            limit: limit
                .filter(|l| *l > 0)
                .unwrap_or(DEFAULT_HISTORY_LIMIT)
                .min(MAX_HISTORY_LIMIT),
            offset: skip,
        })?;
        Ok(messages.iter().map(|m| self.history_item(m)).collect())
    }

    /// One message as the REST history answers it.
    pub(super) fn history_item(&self, message: &MessageRecord) -> Value {
        let (data, bin) = super::message_payload(message);
        let transient = self
            .convs
            .get(message.cid.as_str())
            .is_some_and(|c| c.record.transient);
        let mut item = json!({
            "timestamp": message.timestamp,
            "conv-id": message.cid,
            "to": message.cid,
            "data": data,
            "bin": bin,
            "from": message.from,
            "msg-id": message.id,
            "is-conv": !transient,
            "is-room": false,
        });
        if let Value::Object(item) = &mut item {
            if let Some(at) = message.patch_timestamp {
                item.insert("patch-timestamp".into(), at.into());
            }
            if message.mention_all {
                item.insert("mention-all".into(), true.into());
            }
            if !message.mention_pids.is_empty() {
                item.insert("mention-pids".into(), message.mention_pids.clone().into());
            }
        }
        item
    }

    /// Blocks (`true`) or unblocks `client_ids` in conversation `cid` on the server's behalf
    /// (`POST`/`DELETE .../{id}/blacklists`): blocked members are removed (`left` / `members_left`)
    /// and cannot join again; members hear `members_blocked` / `members_unblocked` (not in service
    /// conversations, whose subscribers never hear about each other). The owner cannot be blocked.
    pub fn set_blocked(
        &mut self,
        cid: &str,
        kind: ConvKind,
        client_ids: &[String],
        block: bool,
        now_ms: i64,
    ) -> AdminOutcome<()> {
        self.admin(|hub| {
            let conv = hub.conv_of_kind(cid, kind)?;
            let creator = conv.record.creator.clone();
            let mut targets: Vec<String> = Vec::new();
            for id in client_ids {
                if !id.is_empty() && *id != creator && !targets.contains(id) {
                    targets.push(id.clone());
                }
            }
            let system = conv.record.system;
            let removed = hub.change_blocked(cid, &targets, block, now_ms)?;
            if system {
                return Ok(());
            }
            hub.push_left(cid, "", &removed, now_ms)?;
            hub.push_blacklist_change(cid, "", &targets, block, now_ms)
        })
    }

    /// Silences (`true`) or lets speak again `client_ids` in conversation `cid` on the server's
    /// behalf (`POST`/`DELETE .../{id}/permanent-silenceds`, the shut-up list): silenced members'
    /// messages are refused with 4308. Members hear `members_shutuped` / `members_unshutuped`.
    /// The owner cannot be silenced.
    pub fn set_silenced(
        &mut self,
        cid: &str,
        kind: ConvKind,
        client_ids: &[String],
        silence: bool,
        now_ms: i64,
    ) -> AdminOutcome<()> {
        self.admin(|hub| {
            let conv = hub.conv_of_kind(cid, kind)?;
            let creator = conv.record.creator.clone();
            let mut targets: Vec<String> = Vec::new();
            for id in client_ids {
                let listed = conv.record.shutup.contains(id);
                if !id.is_empty() && *id != creator && !targets.contains(id) && listed != silence {
                    targets.push(id.clone());
                }
            }
            let Some(conv) = hub.convs.get_mut(cid) else {
                return Err(Fail::Code(ErrorCode::ConversationNotFound, None));
            };
            if silence {
                conv.record.shutup.extend(targets.iter().cloned());
            } else {
                conv.record.shutup.retain(|id| !targets.contains(id));
            }
            conv.record.updated_at = now_ms;
            let record = conv.record.clone();
            hub.storage.save_conversation(&record)?;
            if record.system {
                return Ok(());
            }
            // A member also shut up for a while neither starts nor stops being silent here.
            let changed = hub.without_timed_shutups(cid, targets, now_ms);
            hub.push_shutup_change(cid, "", &changed, silence, now_ms)
        })
    }

    /// `targets` less those shut up in `cid` for a while at `now_ms`: whether they may speak does
    /// not change with the permanent list, so they are not told it did.
    pub(super) fn without_timed_shutups(
        &self,
        cid: &str,
        mut targets: Vec<String>,
        now_ms: i64,
    ) -> Vec<String> {
        targets.retain(|id| !self.timed_shutups.silenced(cid, id, now_ms));
        targets
    }

    /// Shuts `client_id` up in conversation or chat room `cid` for `ttl_ms` from `now_ms`, or lets
    /// it speak again (`None`), on the server's behalf (`POST`/`DELETE
    /// .../{id}/temporary-silenceds`): its messages are refused with 4308 until then, as on the
    /// shut-up list, which this leaves alone. Members hear `members_shutuped` /
    /// `members_unshutuped` when it changes whether the client may speak; nobody is told when
    /// the time runs out. The owner cannot be silenced (ignored, as on the list).
    pub fn set_timed_silence(
        &mut self,
        cid: &str,
        kind: ConvKind,
        client_id: &str,
        ttl_ms: Option<i64>,
        now_ms: i64,
    ) -> AdminOutcome<()> {
        self.admin(|hub| {
            let conv = hub.conv_of_kind(cid, kind)?;
            if client_id.is_empty() || client_id == conv.record.creator {
                return Ok(());
            }
            let was_silenced = hub.may_not_speak(conv, client_id, now_ms);
            let until = ttl_ms.map(|ttl| now_ms.saturating_add(ttl));
            hub.storage.set_timed_shutup(cid, client_id, until)?;
            match until {
                Some(until) => hub.timed_shutups.insert(cid, client_id, until),
                None => {
                    hub.timed_shutups.remove(cid, client_id);
                }
            }
            let conv = hub.conv_of_kind(cid, kind)?;
            let silenced = hub.may_not_speak(conv, client_id, now_ms);
            if silenced == was_silenced {
                return Ok(());
            }
            hub.push_shutup_change(cid, "", &[client_id.to_owned()], silenced, now_ms)
        })
    }

    /// Blocks (`true`) or unblocks conversation `cid` (of any kind) for `client_id` on the server's
    /// behalf (`POST`/`DELETE /1.2/rtm/clients/{client_id}/blacklists {conv_id}`): others may
    /// no longer add the client to it (the client may still join it itself). Nobody is told.
    pub fn set_client_block(&mut self, client_id: &str, cid: &str, blocked: bool) -> AdminOutcome<()> {
        self.admin(|hub| {
            hub.conversation(Some(cid))?;
            hub.storage.set_client_block(client_id, cid, blocked)?;
            hub.client_blocks.set(client_id, cid, blocked);
            Ok(())
        })
    }

    /// The conversations `client_id` blocked (`GET /1.2/rtm/clients/{client_id}/blacklists`),
    /// paged as [`Hub::blocked`].
    pub fn client_blocked(
        &self,
        client_id: &str,
        limit: Option<usize>,
        next: usize,
    ) -> (Vec<String>, Option<usize>) {
        page_of(&self.client_blocks.of(client_id), limit, next)
    }

    /// Forgets the timed shut-ups over by `now_ms`, in memory and in storage. The runtime calls
    /// this periodically.
    pub fn prune_timed_shutups(&mut self, now_ms: i64) {
        self.timed_shutups.prune(now_ms);
        match self.storage.prune_timed_shutups(now_ms) {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned ended timed shut-ups"),
            Err(error) => tracing::warn!(%error, "pruning timed shut-ups failed"),
        }
    }

    /// The shut-up list of `cid` (`GET .../{id}/permanent-silenceds?limit&next`), paged as
    /// [`Hub::blocked`].
    pub fn silenced(
        &self,
        cid: &str,
        kind: ConvKind,
        limit: Option<usize>,
        next: usize,
    ) -> Result<(Vec<String>, Option<usize>), AdminError> {
        let conv = self.conv_of_kind(cid, kind)?;
        Ok(page_of(&conv.record.shutup, limit, next))
    }

    /// The blacklist of `cid` (`GET .../{id}/blacklists?limit&next`): a page of client ids and the
    /// `next` cursor (`None` at the end).
    pub fn blocked(
        &self,
        cid: &str,
        kind: ConvKind,
        limit: Option<usize>,
        next: usize,
    ) -> Result<(Vec<String>, Option<usize>), AdminError> {
        let conv = self.conv_of_kind(cid, kind)?;
        Ok(page_of(&conv.record.blocked, limit, next))
    }

    /// Sets the role of member `client_id` of normal conversation `cid` (`Manager` or `Member`)
    /// on the server's behalf (`POST`/`PUT`/`DELETE .../{id}/member-infos`): 4317 for non-members,
    /// 4308 for the owner or another role. Members hear `member_info_changed`. Returns the
    /// member info's `objectId`.
    pub fn set_member_role(
        &mut self,
        cid: &str,
        client_id: &str,
        role: &str,
        now_ms: i64,
    ) -> AdminOutcome<String> {
        self.admin(|hub| {
            let conv = hub.conv_of_kind(cid, ConvKind::Normal)?;
            if !matches!(role, "Manager" | "Member") {
                return Err(Fail::Code(
                    ErrorCode::ConversationNotAllowed,
                    Some("the role must be Manager or Member".into()),
                ));
            }
            if !conv.members.contains_key(client_id) {
                return Err(Fail::Code(ErrorCode::ConversationMembershipRequired, None));
            }
            if client_id == conv.record.creator {
                return Err(Fail::Code(ErrorCode::OwnerPromotionNotAllowed, None));
            }
            let stored = (role == "Manager").then_some(role);
            if let Some(conv) = hub.convs.get_mut(cid) {
                match stored {
                    Some(role) => conv.roles.insert(client_id.to_owned(), role.to_owned()),
                    None => conv.roles.remove(client_id),
                };
            }
            hub.storage.set_role(cid, client_id, stored)?;
            let push = Self::conv_event(
                OpType::MemberInfoChanged,
                ConvCommand {
                    cid: Some(cid.to_owned()),
                    init_by: Some(String::new()),
                    info: Some(chinwag_protocol::ConvMemberInfo {
                        pid: Some(client_id.to_owned()),
                        role: Some(role.to_owned()),
                        info_id: None,
                    }),
                    ..Default::default()
                },
                now_ms,
            );
            for member in hub.members_and(cid, "") {
                hub.notify(&member, &push, now_ms)?;
            }
            Ok(member_info_id(cid, client_id))
        })
    }

    /// Member roles of normal conversation `cid` (`GET .../{id}/member-infos?skip&limit&role`):
    /// `{clientId, objectId, role}` of every member with a role other than the default, the owner
    /// included, filtered by `role` when given.
    pub fn member_roles(
        &self,
        cid: &str,
        role: Option<&str>,
        skip: usize,
        limit: Option<usize>,
    ) -> Result<Vec<Value>, AdminError> {
        let conv = self.conv_of_kind(cid, ConvKind::Normal)?;
        let limit = limit
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_LIST_LIMIT)
            .min(MAX_LIST_LIMIT);
        let owner = (!conv.record.creator.is_empty() && conv.members.contains_key(&conv.record.creator))
            .then_some((conv.record.creator.as_str(), "Owner"));
        Ok(owner
            .into_iter()
            .chain(conv.roles.iter().map(|(member, role)| (member.as_str(), role.as_str())))
            .filter(|(_, r)| role.is_none_or(|wanted| wanted == *r))
            .skip(skip)
            .take(limit)
            .map(|(member, role)| {
                json!({"clientId": member, "objectId": member_info_id(cid, member), "role": role})
            })
            .collect())
    }
}

/// A page of `list` from offset `next`, and the offset of the next page (`None` at the end).
fn page_of(list: &[String], limit: Option<usize>, next: usize) -> (Vec<String>, Option<usize>) {
    let limit = limit
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_LIST_LIMIT)
        .min(MAX_LIST_LIMIT);
    let page: Vec<String> = list.iter().skip(next).take(limit).cloned().collect();
    let more = list.len() > next.saturating_add(page.len());
    (page, more.then_some(next.saturating_add(limit)))
}

/// The `objectId` of a member info: `<conversation id>:<client id>` (as `GET
/// /1.1/classes/_ConversationMemberInfo` answers it).
pub(super) fn member_info_id(cid: &str, client_id: &str) -> String {
    format!("{cid}:{client_id}")
}

#[cfg(test)]
mod tests {
    use chinwag_protocol::{CommandType, DirectCommand, GenericCommand, OpType, SessionCommand};

    use super::*;
    use crate::{HubConfig, SqliteStorage};

    const NOW: i64 = 1_795_000_000_000;

    #[test]
    fn deleting_a_conversation_forgets_it_in_every_in_memory_map() {
        let mut hub = Hub::new(
            HubConfig::new("app", "secret"),
            SqliteStorage::in_memory().expect("db"),
        )
        .expect("hub");
        hub.connect(1);
        let open = GenericCommand::request(CommandType::Session, 1)
            .with_op(OpType::Open)
            .with_peer_id("Tom")
            .with_app_id("app")
            .with(SessionCommand::default());
        hub.handle(1, open, NOW);
        let (doc, _) =
            hub.create_conversation_with("Tom", &["Jerry".into()], serde_json::Map::new(), true, NOW);
        let cid = doc.expect("created")["objectId"].as_str().expect("id").to_owned();
        let asks_receipt = GenericCommand::request(CommandType::Direct, 2)
            .with_peer_id("Tom")
            .with(DirectCommand {
                cid: Some(cid.clone()),
                msg: Some("hi".into()),
                r: Some(true),
                ..Default::default()
            });
        hub.handle(1, asks_receipt, NOW + 1);
        assert!(hub.latest_receipts.contains_key(&cid), "the receipt was noted");
        assert!(
            hub.unique.values().any(|c| *c == cid),
            "the distinct key was indexed"
        );
        assert!(hub.joined.conversations_of("Tom").iter().any(|c| **c == *cid));

        hub.delete_conversation(&cid, ConvKind::Normal)
            .0
            .expect("deleted");
        assert!(!hub.convs.contains_key(cid.as_str()));
        assert!(
            !hub.latest_receipts.contains_key(&cid),
            "latest_receipts forgot it"
        );
        assert!(!hub.unstored_positions.0.contains_key(&cid));
        assert!(
            !hub.unique.values().any(|c| *c == cid),
            "the distinct key is free again"
        );
        assert!(!hub.joined.mentions(&cid));
    }
}
