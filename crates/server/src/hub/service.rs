//! Service (system) conversations, and the hub's entry points for server-side (REST, master-key)
//! operations: each runs in its own storage transaction, outside any command batch.
//!
//! A service conversation (`sys: true`) is created by the app's backend, not by clients. Clients
//! subscribe and unsubscribe by joining and quitting it themselves (`conv add`/`remove` with their
//! own id; anything else gets 4314 NORMAL_CONVERSATION_REQUIRED); its subscribers are never listed
//! (`m`) nor told about each other. The backend broadcasts to every subscriber; a message a
//! subscriber sends reaches the service only (it is kept, but not pushed to other subscribers).

use chinwag_protocol::ErrorCode;
use serde_json::{Map, Value};

use super::{Conversation, Fail, Hub, HubResult, Outgoing, lctype_of};
use crate::storage::{ConversationRecord, Membership, MessageRecord, Storage, StorageError};

/// Default and largest page of a subscriber list (LeanCloud: 50 and 50); also the default page
/// of a client's subscriptions.
const SUBSCRIBER_PAGE: u32 = 50;

/// Largest page of a client's subscriptions (LeanCloud documents no cap; REST pages stop at 1000).
const MAX_SUBSCRIPTIONS_PAGE: u32 = 1000;

/// Why a server-side operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A protocol error (`CONVERSATION_NOT_FOUND`, `SYSTEM_CONVERSATION_REQUIRED`, ...).
    #[error("{code}{}", .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Code {
        /// The official error code.
        code: ErrorCode,
        /// More detail, if any.
        detail: Option<String>,
    },
    /// Storage failed; nothing was changed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<Fail> for AdminError {
    fn from(fail: Fail) -> Self {
        match fail {
            Fail::Code(code, detail) | Fail::RejectedByApp { code, detail, .. } => {
                Self::Code { code, detail }
            }
            Fail::Storage(error) => Self::Storage(error),
        }
    }
}

/// The result of a server-side operation and the frames to send once it is committed.
pub type AdminOutcome<T> = (Result<T, AdminError>, Vec<Outgoing>);

impl<S: Storage> Hub<S> {
    /// Runs `op` in its own storage transaction: on success the frames it produced are returned
    /// for sending; on failure its changes are rolled back and nothing is sent.
    ///
    /// Contract of `op`: it refuses (a [`Fail::Code`]) before it changes anything in memory, so a
    /// refusal only needs the storage rolled back; a storage failure can leave memory ahead of the
    /// database, so only then is the state reloaded (a backend's stream of 404s must not cost a
    /// full reload each).
    pub(super) fn admin<T>(&mut self, op: impl FnOnce(&mut Self) -> HubResult<T>) -> AdminOutcome<T> {
        if let Err(error) = self.storage.begin() {
            return (Err(error.into()), Vec::new());
        }
        let result = op(self).map_err(AdminError::from);
        let result = result.and_then(|value| self.storage.commit().map(|()| value).map_err(Into::into));
        match result {
            Ok(value) => (Ok(value), std::mem::take(&mut self.out)),
            Err(error) => {
                self.out.clear();
                self.drop_notifying_calls();
                if let Err(error) = self.storage.rollback() {
                    tracing::debug!(%error, "rollback after a failed server-side operation");
                }
                if matches!(error, AdminError::Storage(_)) {
                    if let Err(error) = self.reload() {
                        tracing::error!(%error, "reloading state after a failed server-side operation failed");
                    }
                }
                (Err(error), Vec::new())
            }
        }
    }

    /// Creates a conversation that no client starts and that has no member list: a service conversation
    /// (subscribers join themselves) or a chat room (members are whoever is online in it). Reserved keys in
    /// `attrs` are dropped; the creator is empty because the server side created it.
    fn create_server_side(
        &mut self,
        kind: ServerSideKind,
        name: &str,
        attrs: Map<String, Value>,
        now_ms: i64,
    ) -> AdminOutcome<String> {
        self.admin(|hub| {
            let cid = hub.ids.next(now_ms);
            let mut attrs = attrs;
            super::conversations::strip_reserved(&mut attrs);
            attrs.insert("name".into(), name.into());
            let record = ConversationRecord {
                transient: matches!(kind, ServerSideKind::ChatRoom),
                system: matches!(kind, ServerSideKind::Service),
                ..ConversationRecord::new(cid.clone(), "", attrs, now_ms)
            };
            hub.insert_conversation(record, &[])?;
            Ok(cid)
        })
    }

    /// Creates a service conversation named `name` with custom attributes `attrs`; returns its id.
    pub fn create_service_conversation(
        &mut self,
        name: &str,
        attrs: Map<String, Value>,
        now_ms: i64,
    ) -> AdminOutcome<String> {
        self.create_server_side(ServerSideKind::Service, name, attrs, now_ms)
    }

    /// The service conversation `cid`, or 4303 / 4313.
    pub(super) fn service(&self, cid: &str) -> HubResult<&Conversation> {
        let conv = self.conversation(Some(cid))?;
        if !conv.record.system {
            return Err(Fail::Code(ErrorCode::SystemConversationRequired, None));
        }
        Ok(conv)
    }

    /// Subscribes (`true`) or unsubscribes `client` to service conversation `cid` on its behalf.
    pub fn set_subscribed(
        &mut self,
        cid: &str,
        client: &str,
        subscribed: bool,
        now_ms: i64,
    ) -> AdminOutcome<()> {
        self.admin(|hub| {
            let conv = hub.service(cid)?;
            let member = conv.members.contains_key(client);
            if subscribed && !member {
                if hub.kept_out(conv, client, "") {
                    return Err(Fail::Code(ErrorCode::ConversationBlacklisted, None));
                }
                let read_ts = conv.last_ts;
                hub.add_members_read_up_to(cid, &[client.to_owned()], read_ts, now_ms)?;
            } else if !subscribed && member {
                hub.drop_members(cid, &[client.to_owned()], now_ms)?;
            }
            Ok(())
        })
    }

    /// Subscribers of service conversation `cid`.
    pub fn subscribers(&self, cid: &str) -> Result<Vec<String>, AdminError> {
        Ok(self.service(cid)?.members.keys().map(str::to_owned).collect())
    }

    /// A page of service conversation `cid`'s subscribers with when each subscribed, by client id
    /// after `after` (`GET .../{id}/subscribers?client_id&limit`; at most 50, LeanCloud's cap).
    pub fn subscriber_page(
        &mut self,
        cid: &str,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Membership>, AdminError> {
        self.service(cid)?;
        let limit = limit.filter(|l| *l > 0).unwrap_or(SUBSCRIBER_PAGE);
        Ok(self
            .storage
            .members_page(cid, after, limit.min(SUBSCRIBER_PAGE))?)
    }

    /// A page of the service conversations `client_id` subscribes to, by subscription time
    /// (`GET /1.2/rtm/clients/{client_id}/service-conversations`): oldest first, or newest first
    /// with `newest_first`, after the `(timestamp, conversation id)` of the last one of the
    /// previous page; 50 by default.
    pub fn subscriptions(
        &mut self,
        client_id: &str,
        after: Option<(i64, &str)>,
        newest_first: bool,
        limit: Option<u32>,
    ) -> Result<Vec<Membership>, AdminError> {
        let limit = limit
            .filter(|l| *l > 0)
            .unwrap_or(SUBSCRIBER_PAGE)
            .min(MAX_SUBSCRIPTIONS_PAGE);
        Ok(self
            .storage
            .subscriptions_page(client_id, after, newest_first, limit)?)
    }

    /// Broadcasts `message` (text) from `from_client` to every subscriber of service conversation
    /// `cid`; returns the message id and timestamp. Transient broadcasts are pushed to online
    /// subscribers only and not kept.
    pub fn broadcast(
        &mut self,
        cid: &str,
        from_client: &str,
        message: &str,
        transient: bool,
        now_ms: i64,
    ) -> AdminOutcome<(String, i64)> {
        self.admin(|hub| {
            hub.service(cid)?;
            let options = SendOptions {
                transient,
                ..SendOptions::default()
            };
            hub.post_message(cid, from_client, message, &options, now_ms)
        })
    }

    /// Sends `message` (text) to normal or group conversation `cid` as `from_client` (who need not
    /// be a member, as in LeanCloud), delivered to every member including the sender's sessions;
    /// returns the message id and timestamp. 4303 for unknown, 4314 for service conversations.
    pub fn send_as(
        &mut self,
        cid: &str,
        from_client: &str,
        message: &str,
        transient: bool,
        now_ms: i64,
    ) -> AdminOutcome<(String, i64)> {
        self.admin(|hub| {
            let conv = hub.conversation(Some(cid))?;
            if conv.record.system {
                return Err(Fail::Code(ErrorCode::NormalConversationRequired, None));
            }
            if conv.is_expired(now_ms) {
                return Err(Fail::Code(ErrorCode::TemporaryConversationExpired, None));
            }
            let options = SendOptions {
                transient: transient || conv.record.transient,
                ..SendOptions::default()
            };
            hub.post_message(cid, from_client, message, &options, now_ms)
        })
    }

    /// Creates a normal conversation (`POST /1.2/rtm/conversations`): `creator` (`c`, may be
    /// empty), `members` (`m`), `attrs` (`name` and custom attributes); returns its JSON object.
    /// Members are told with `joined` / `members_joined` pushes, as for a client-created one.
    pub fn create_conversation(
        &mut self,
        creator: &str,
        members: &[String],
        attrs: Map<String, Value>,
        now_ms: i64,
    ) -> AdminOutcome<Value> {
        self.create_conversation_with(creator, members, attrs, false, now_ms)
    }

    /// [`Hub::create_conversation`], and with `unique` the conversation of exactly these members
    /// (creator included) is created once: asking again returns the existing one unchanged, as
    /// the RTM `unique` start does.
    pub fn create_conversation_with(
        &mut self,
        creator: &str,
        members: &[String],
        attrs: Map<String, Value>,
        unique: bool,
        now_ms: i64,
    ) -> AdminOutcome<Value> {
        self.admin(|hub| {
            let ids = super::conversations::first_members(members, creator);
            hub.check_new_members(ids.len())?;
            let unique_key = unique.then(|| super::conversations::unique_key(&ids));
            if let Some(existing) = unique_key
                .as_ref()
                .and_then(|key| hub.unique.get(key))
                .and_then(|cid| hub.convs.get(cid.as_str()))
            {
                return Ok(Value::Object(iso_dates(existing.doc_at(now_ms))));
            }
            let cid = hub.ids.next(now_ms);
            let mut attrs = attrs;
            super::conversations::strip_reserved(&mut attrs);
            let record = ConversationRecord {
                unique_key,
                ..ConversationRecord::new(cid.clone(), creator, attrs, now_ms)
            };
            let doc = hub.insert_conversation(record, &ids)?.doc();
            hub.push_joined(&cid, creator, &ids, now_ms)?;
            Ok(Value::Object(iso_dates(doc)))
        })
    }

    /// Unread messages of `client_id` in `cid` (or in all its conversations).
    pub fn unread_count(&mut self, client_id: &str, cid: Option<&str>) -> Result<u64, AdminError> {
        let counts = self.storage.unread_counts(client_id, 0)?;
        Ok(counts
            .iter()
            .filter(|c| cid.is_none_or(|cid| c.cid == cid))
            .map(|c| u64::from(c.unread))
            .sum())
    }

    /// Stores (unless transient) and delivers a text message from `from_client`: to every member,
    /// or only to `options.to_clients`; the sender's own sessions too unless `options.no_sync`.
    pub(super) fn post_message(
        &mut self,
        cid: &str,
        from_client: &str,
        message: &str,
        options: &SendOptions,
        now_ms: i64,
    ) -> HubResult<(String, i64)> {
        if message.len() > self.config.max_message_bytes {
            return Err(Fail::Code(ErrorCode::FrameTooLong, None));
        }
        let mut record = MessageRecord {
            id: self.ids.next(now_ms),
            cid: cid.to_owned(),
            from: from_client.to_owned(),
            timestamp: now_ms,
            lctype: lctype_of(Some(message)),
            data: Some(message.to_owned()),
            binary: None,
            mention_all: options.mention_all,
            mention_pids: options.mention_pids.clone(),
            dt: None,
            receipt: false,
            patch_timestamp: None,
            patch_code: None,
            patch_reason: None,
            audience: options.to_clients.clone(),
        };
        if let Some(conv) = self.convs.get_mut(cid) {
            record.timestamp = conv.next_ts(now_ms);
        }
        let transient = options.transient;
        if !transient {
            self.store_message(&record)?;
            // A message to chosen users is not the conversation's last message for everyone.
            if record.audience.is_none() {
                if let Some(conv) = self.convs.get_mut(cid) {
                    conv.last = Some(record.clone().into());
                }
            }
        }
        match &options.to_clients {
            Some(recipients) => {
                let push = Self::message_push(&record, transient, now_ms);
                for client in recipients {
                    if !(options.no_sync && client == from_client) {
                        self.push_to(client, &push, None);
                    }
                }
            }
            None if options.no_sync => {
                let push = Self::message_push(&record, transient, now_ms);
                let members = self
                    .convs
                    .get(cid)
                    .map(Conversation::member_ids)
                    .unwrap_or_default();
                for member in members.iter().filter(|m| *m != from_client) {
                    self.push_to(member, &push, None);
                }
            }
            None => self.fan_out(&record, transient, None, now_ms),
        }
        Ok((record.id, record.timestamp))
    }

    /// Normal and group conversations matching `where_json` (the storage-API `where` language,
    /// `GET /1.2/rtm/conversations`), newest change first, paged by `skip`/`limit` (default 10,
    /// at most 1000); dates as ISO strings. A bad `where` is 4301.
    pub fn query_conversations(
        &self,
        where_json: &Value,
        skip: usize,
        limit: Option<usize>,
        now_ms: i64,
    ) -> Result<Vec<Value>, AdminError> {
        self.query_conversations_of(
            Some(super::ConvKind::Normal),
            where_json,
            None,
            skip,
            limit,
            now_ms,
        )
    }

    /// [`Hub::query_conversations`] over the conversations of `kind` (`GET /1.2/rtm/chatrooms`,
    /// `GET /1.2/rtm/service-conversations`), or of every kind (`None`,
    /// `GET /1.2/rtm/all-conversations`), in `order` (LeanStorage's `order`; newest change first
    /// by default). Temporary conversations are never listed.
    pub fn query_conversations_of(
        &self,
        kind: Option<super::ConvKind>,
        where_json: &Value,
        order: Option<Vec<crate::query::SortKey>>,
        skip: usize,
        limit: Option<usize>,
        now_ms: i64,
    ) -> Result<Vec<Value>, AdminError> {
        let filter = crate::query::parse_where(where_json)
            .map_err(|error| Fail::Code(ErrorCode::ConversationApiFailed, Some(error.to_string())))?;
        let candidates = self.candidates(&filter);
        let scanned: Box<dyn Iterator<Item = &Conversation>> = match &candidates {
            Some(ids) => Box::new(ids.iter().filter_map(|id| self.convs.get(id.as_str()))),
            None => Box::new(self.convs.values()),
        };
        let by_id = crate::query::SortKey {
            field: "objectId".into(),
            descending: false,
        };
        let mut keys = order.unwrap_or_else(|| {
            vec![crate::query::SortKey {
                field: "updatedAt".into(),
                descending: true,
            }]
        });
        // Ids break ties, so that `skip` pages neither repeat nor miss conversations.
        if !keys.iter().any(|key| key.field == "objectId") {
            keys.push(by_id);
        }
        let limit = limit
            .filter(|l| *l > 0)
            .unwrap_or(super::conversations::DEFAULT_QUERY_LIMIT)
            .min(super::conversations::MAX_QUERY_LIMIT);
        let scanned = scanned.filter(|conv| {
            conv.record.expires_at.is_none() && kind.is_none_or(|kind| super::ConvKind::of(conv) == kind)
        });
        Ok(
            super::conversations::query_page(scanned, Some(&filter), &keys, skip, limit, now_ms)
                .into_iter()
                .map(|mut doc| {
                    for key in ["createdAt", "updatedAt"] {
                        if let Some(iso) = doc.get(key).and_then(|d| d.get("iso")).cloned() {
                            doc.insert(key.into(), iso);
                        }
                    }
                    Value::Object(doc)
                })
                .collect(),
        )
    }

    /// Adds (`true`) or removes `client_ids` to or from normal conversation `cid` on the server's
    /// behalf (`POST`/`DELETE /1.2/rtm/conversations/{id}/members`), with the usual pushes and no
    /// initiating client; blocked clients are not added. Returns `updatedAt` (ms).
    pub fn change_members(
        &mut self,
        cid: &str,
        client_ids: &[String],
        add: bool,
        now_ms: i64,
    ) -> AdminOutcome<i64> {
        self.admin(|hub| {
            let conv = hub.conversation(Some(cid))?;
            if conv.record.system || conv.record.transient {
                return Err(Fail::Code(ErrorCode::NormalConversationRequired, None));
            }
            let mut changed: Vec<String> = Vec::new();
            for id in client_ids {
                let member = conv.members.contains_key(id);
                let wanted = if add {
                    !member && !hub.kept_out(conv, id, "")
                } else {
                    member
                };
                if wanted && !id.is_empty() && !changed.contains(id) {
                    changed.push(id.clone());
                }
            }
            if add {
                hub.check_room_in(conv, changed.len())?;
                let read_ts = conv.last_ts;
                if !changed.is_empty() {
                    hub.admit_members(cid, &changed, read_ts, now_ms)?;
                    hub.push_joined(cid, "", &changed, now_ms)?;
                }
            } else {
                hub.drop_members(cid, &changed, now_ms)?;
                hub.push_left(cid, "", &changed, now_ms)?;
            }
            Ok(hub.convs.get(cid).map_or(now_ms, |c| c.record.updated_at))
        })
    }

    /// Signs `client_id` out everywhere (`POST /1.2/rtm/clients/{id}/kick`): each session gets
    /// `session/closed` with 4115 KICKED_BY_APP and `reason`, and ends (its `will` messages are
    /// dropped, as on a sign-out). Returns how many sessions were closed.
    pub fn kick(&mut self, client_id: &str, reason: Option<&str>, now_ms: i64) -> AdminOutcome<usize> {
        self.admin(|hub| {
            let conns: Vec<super::ConnId> = hub
                .sessions
                .get(client_id)
                .map(|s| s.keys().copied().collect())
                .unwrap_or_default();
            for conn in &conns {
                hub.close_session(
                    *conn,
                    client_id,
                    ErrorCode::KickedByApp,
                    reason.map(str::to_owned),
                    now_ms,
                )?;
            }
            Ok(conns.len())
        })
    }

    /// Creates a chat room named `name` (`POST /1.2/rtm/chatrooms`); returns its id.
    pub fn create_chat_room(
        &mut self,
        name: &str,
        attrs: Map<String, Value>,
        now_ms: i64,
    ) -> AdminOutcome<String> {
        self.create_server_side(ServerSideKind::ChatRoom, name, attrs, now_ms)
    }

    /// The online members of chat room `cid` (4303; 4316 for other conversations).
    pub fn room_members(&self, cid: &str) -> Result<Vec<String>, AdminError> {
        let conv = self.conversation(Some(cid))?;
        if !conv.record.transient {
            return Err(Fail::Code(ErrorCode::TransientConversationRequired, None).into());
        }
        // Members away for a short reconnect (see `room_grace`) are not online.
        Ok(conv
            .room
            .iter()
            .filter(|id| self.is_online(id))
            .map(|id| id.to_string())
            .collect())
    }

    /// Mutes (`true`) or unmutes offline notifications of conversation `cid` for `client_ids`
    /// (`POST`/`DELETE /1.2/rtm/conversations/{id}/mutes`, the `mu` list); returns `updatedAt`.
    pub fn set_muted(
        &mut self,
        cid: &str,
        client_ids: &[String],
        mute: bool,
        now_ms: i64,
    ) -> AdminOutcome<i64> {
        self.admin(|hub| {
            let conv = hub
                .convs
                .get_mut(cid)
                .ok_or(Fail::Code(ErrorCode::ConversationNotFound, None))?;
            for id in client_ids.iter().filter(|id| !id.is_empty()) {
                let present = conv.record.muted.contains(id);
                if mute && !present {
                    conv.record.muted.push(id.clone());
                } else if !mute && present {
                    conv.record.muted.retain(|m| m != id);
                }
            }
            conv.record.updated_at = now_ms;
            let record = conv.record.clone();
            hub.storage.save_conversation(&record)?;
            Ok(now_ms)
        })
    }

    /// Clients that muted conversation `cid` (`GET /1.2/rtm/conversations/{id}/mutes`).
    pub fn muted(&self, cid: &str) -> Result<Vec<String>, AdminError> {
        let conv = self.conversation(Some(cid))?;
        Ok(conv.record.muted.clone())
    }

    /// Updates attributes of conversation `cid` (`PUT /1.2/rtm/conversations/{id}`, also chat
    /// rooms and service conversations): `changes` may use dotted keys (`attr.color`); reserved
    /// keys (`m`, `c`, `tr`, `sys`, ...) are ignored. Members get the `updated` push (no `initBy`
    /// client). Returns `updatedAt`.
    pub fn update_conversation(
        &mut self,
        cid: &str,
        changes: Map<String, Value>,
        now_ms: i64,
    ) -> AdminOutcome<i64> {
        self.admin(|hub| {
            let conv = hub
                .convs
                .get_mut(cid)
                .ok_or(Fail::Code(ErrorCode::ConversationNotFound, None))?;
            let changes: Map<String, Value> = changes
                .into_iter()
                .filter(|(key, _)| {
                    let top = key.split('.').next().unwrap_or(key);
                    !super::conversations::RESERVED_KEYS.contains(&top)
                })
                .collect();
            super::conversations::check_attr_depth(&changes)?;
            for (key, value) in &changes {
                super::conversations::set_path(&mut conv.record.attrs, key, value.clone());
            }
            conv.record.updated_at = now_ms;
            let record = conv.record.clone();
            // Service conversations do not tell their subscribers about each other, nor this.
            let members = if record.system {
                Vec::new()
            } else {
                conv.member_ids()
            };
            hub.storage.save_conversation(&record)?;
            let changes = chinwag_protocol::JsonObjectMessage {
                data: Value::Object(changes).to_string(),
            };
            let push = Self::push_body(
                chinwag_protocol::CommandType::Conv,
                Some(chinwag_protocol::OpType::Updated),
                chinwag_protocol::ConvCommand {
                    cid: Some(cid.to_owned()),
                    init_by: Some(String::new()),
                    udate: Some(super::iso(now_ms)),
                    attr: Some(changes.clone()),
                    attr_modified: Some(changes),
                    ..Default::default()
                },
                now_ms,
            );
            for member in members {
                hub.push_to(&member, &push, None);
            }
            Ok(now_ms)
        })
    }

    /// Members of normal conversation `cid` (`GET /1.2/rtm/conversations/{id}/members`; 4303, and
    /// 4314 for chat rooms and service conversations).
    pub fn members(&self, cid: &str) -> Result<Vec<String>, AdminError> {
        let conv = self.conversation(Some(cid))?;
        if conv.record.transient || conv.record.system {
            return Err(Fail::Code(ErrorCode::NormalConversationRequired, None).into());
        }
        Ok(conv.member_ids())
    }

    /// History of normal conversation or chat room `cid` in the REST API's shape
    /// (`GET /1.2/rtm/conversations/{id}/messages`): newest first from `start` (default now) down
    /// to `stop` (default 0), or with `reversed` oldest first from `start` (default 0) up to `stop`
    /// (default now); the bounds themselves only with `include_start`/`include_stop`. `limit`
    /// defaults to 100, at most 1000.
    pub fn history_page(
        &mut self,
        cid: &str,
        page: &HistoryPage,
        now_ms: i64,
    ) -> Result<Vec<Value>, AdminError> {
        self.message_page(
            crate::storage::MessageScope::Conversation(cid.to_owned()),
            page,
            now_ms,
        )
    }
}

/// `createdAt`/`updatedAt` of a conversation JSON as plain ISO strings (the REST API's form).
fn iso_dates(mut doc: Map<String, Value>) -> Map<String, Value> {
    for key in ["createdAt", "updatedAt"] {
        if let Some(iso) = doc.get(key).and_then(|d| d.get("iso")).cloned() {
            doc.insert(key.into(), iso);
        }
    }
    doc
}

/// LeanCloud's code for a session closed by the app's backend (`KICKED_BY_APP`).
pub const KICKED_BY_APP: i32 = ErrorCode::KickedByApp.code();

/// Parameters of a REST history page (see [`Hub::history_page`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// `timestamp`: where the page starts (ms).
    pub start: Option<i64>,
    /// `msgid`: the message at `start`, to cut between messages of the same timestamp.
    pub start_id: Option<String>,
    /// `till_timestamp`: where it stops (ms).
    pub stop: Option<i64>,
    /// `till_msgid`: the message at `stop`.
    pub stop_id: Option<String>,
    /// `include_start`.
    pub include_start: bool,
    /// `include_stop`.
    pub include_stop: bool,
    /// `reversed`: oldest first.
    pub reversed: bool,
    /// `limit`.
    pub limit: Option<u32>,
}

/// How a message sent over REST is delivered (`POST .../messages`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// `transient`: pushed to whoever is online, never stored (chat rooms always are).
    pub transient: bool,
    /// `no_sync`: not pushed to the sender's own sessions.
    pub no_sync: bool,
    /// `mention_all`.
    pub mention_all: bool,
    /// `mention_client_ids`.
    pub mention_pids: Vec<String>,
    /// `to_clients` (service conversations): only these clients get it; `None` = every member.
    pub to_clients: Option<Vec<String>>,
}

/// The conversations the server side creates without a member list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerSideKind {
    /// A service (system) conversation: `sys`, clients subscribe themselves.
    Service,
    /// A chat room: `tr`, online members only.
    ChatRoom,
}
