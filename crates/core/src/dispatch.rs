//! What the engine does with replies and pushes from the server.

use std::mem::take;

use chinwag_protocol::json::{Map, Value};
use chinwag_protocol::{CommandType, GenericCommand, LogsCommand, OpType, logs_command::QueryDirection};

use crate::conversation::Conversation;
use crate::engine::{Action, CatchUp, Client, Engine, Status};
use crate::event::{DisconnectReason, Event, MemberReceipt, PartialFailure, RequestError, Response};
use crate::message::{Message, MessageStatus, sort_by_time};
use crate::requests::{Kind, MemberOp, Outgoing};
use crate::time::Instant;

fn json_object(data: Option<&str>) -> Map {
    data.and_then(|d| chinwag_protocol::json::parse(d).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

fn partial_result(allowed: Vec<String>, failed: &[chinwag_protocol::ErrorCommand]) -> Response {
    let mut failures = Vec::with_capacity(failed.len());
    for error in failed {
        failures.push(PartialFailure {
            client_ids: error.pids.clone(),
            error: chinwag_protocol::ServerError::from_error_command(error),
        });
    }
    Response::Partial {
        succeeded: allowed,
        failed: failures,
    }
}

/// The messages of a `logs` reply in conversation `cid`, as client `me` sees them, oldest first.
/// (One copy for history pages and gap filling.)
#[inline(never)]
fn logged_messages(reply: &GenericCommand, cid: &str, me: &str) -> Vec<Message> {
    let logs = reply.logs_message.as_ref().map_or(&[][..], |logs| &logs.logs[..]);
    let mut messages = Vec::with_capacity(logs.len());
    for item in logs {
        messages.push(Message::from_log(item, cid, me));
    }
    sort_by_time(&mut messages);
    messages
}

impl Engine {
    fn conv_entry<'a>(
        clients: &'a mut crate::sorted_map::SortedMap<String, Client>,
        client: &str,
        cid: &str,
        max: usize,
    ) -> Option<&'a mut Conversation> {
        let state = clients.get_mut(client)?;
        if !state.conversations.contains_key(cid) {
            if state.conversations.len() >= max {
                return None;
            }
            let mut stub = Conversation::stub(cid);
            stub.seen_up_to = Some(state.clock_hint);
            state.conversations.insert(cid.to_owned(), stub);
            // Known by id only: fetch it (sent once the current input is handled).
            if !cid.is_empty() {
                state.unfetched.insert(cid.to_owned());
                state.fetch_queue.push(cid.to_owned());
            }
        }
        state.conversations.get_mut(cid)
    }

    /// The cached conversation `cid` of `client`, for updating.
    #[inline(never)]
    pub(crate) fn cached_mut(&mut self, client: &str, cid: &str) -> Option<&mut Conversation> {
        self.clients.get_mut(client)?.conversations.get_mut(cid)
    }

    /// Merges the conversations of a `conv/query` reply into `client`'s cache; returns them as cached.
    fn cache_query_results(&mut self, client: &str, reply: &GenericCommand) -> Vec<Conversation> {
        let data = reply
            .conv_message
            .as_ref()
            .and_then(|c| c.results.as_ref())
            .map_or("", |r| r.data.as_str());
        // Anything but an array: no results.
        let raw = match chinwag_protocol::json::parse(data) {
            Ok(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let max = self.options.max_conversations;
        let mut results = Vec::new();
        if let Some(state) = self.clients.get_mut(client) {
            for item in raw.iter().filter_map(Value::as_object) {
                let Some(mut fresh) = Conversation::from_json(item, client) else {
                    continue;
                };
                state.unfetched.remove(&fresh.id);
                if let Some(existing) = state.conversations.get_mut(&fresh.id) {
                    existing.merge_from(fresh);
                    results.push(existing.clone());
                } else {
                    fresh.seen_up_to = Some(state.clock_hint);
                    if state.conversations.len() < max {
                        state.conversations.insert(fresh.id.clone(), fresh.clone());
                    }
                    results.push(fresh);
                }
            }
        }
        results
    }

    fn note_server_time(&mut self, client: &str, ts: Option<i64>) {
        if let (Some(ts), Some(state)) = (ts, self.clients.get_mut(client)) {
            state.clock_hint = state.clock_hint.max(ts);
        }
    }

    pub(crate) fn handle_reply(&mut self, out: &mut Outgoing, reply: &mut GenericCommand, now: Instant) {
        // `out.kind` and the fields of `reply` (and of its sub-commands) are `take`n or borrowed in
        // place, never moved out, and both are dropped once by the caller: a partial move, or a
        // sub-command taken out whole, makes the compiler drop the remaining fields one by one at
        // the end of every match arm, kilobytes of wasm in this function alone.
        let kind = std::mem::replace(&mut out.kind, Kind::Echo);
        let client = out.client.clone();
        self.note_server_time(&client, reply.server_ts);
        if let Some(mut error) = reply.server_error() {
            // Like the JS TemporaryConversation: "not found" on a temporary conversation means it
            // expired (4323).
            let cid = out
                .command
                .conv_message
                .as_ref()
                .and_then(|c| c.cid.as_deref())
                .or_else(|| out.command.direct_message.as_ref().and_then(|d| d.cid.as_deref()));
            if error.code == 4303 && cid.is_some_and(|cid| cid.starts_with("_tmp:")) {
                error.code = 4323;
                error.reason = "TEMPORARY_CONVERSATION_EXPIRED".into();
            }
            match kind {
                Kind::Open { relogin } => self.open_failed(out, relogin, error, now),
                Kind::CatchUp { cid, .. } => self.finish_catch_up(&client, &cid, now),
                // Not visible to us (or gone): the id-only entry stays; not retried.
                Kind::Fetch { cid } => {
                    if let Some(state) = self.clients.get_mut(&client) {
                        state.unfetched.remove(&cid);
                    }
                }
                Kind::Echo => {}
                _ => self.fail(&client, &out.ids, RequestError::Server(error)),
            }
            return;
        }
        match kind {
            Kind::Open { relogin } => self.opened(out, relogin, reply, now),
            Kind::Refresh => self.refreshed(out, reply, now),
            Kind::Echo => {}
            Kind::Close => {
                self.respond(&client, &out.ids, Response::Closed);
                self.remove_client(&client, RequestError::ClientClosed, now);
                self.events.push_back(Event::Closed {
                    client,
                    code: 0,
                    reason: String::new(),
                });
            }
            Kind::Create { mut template } => {
                let conv = reply.conv_message.get_or_insert_default();
                template.id = conv.cid.take().unwrap_or_default();
                template.created_at = conv.cdate.clone();
                template.updated_at = conv.cdate.take();
                if let Some(ttl) = conv.temp_conv_ttl {
                    template.ttl = Some(i64::from(ttl));
                }
                let max = self.options.max_conversations;
                if let Some(state) = self.clients.get_mut(&client) {
                    template.seen_up_to = Some(state.clock_hint);
                    if let Some(existing) = state.conversations.get_mut(&template.id) {
                        existing.merge_from(template.clone());
                    } else if state.conversations.len() < max {
                        state.conversations.insert(template.id.clone(), template.clone());
                    }
                }
                self.respond(&client, &out.ids, Response::Created(template));
            }
            Kind::Query => {
                let results = self.cache_query_results(&client, reply);
                self.respond(&client, &out.ids, Response::Conversations(results));
            }
            Kind::Fetch { cid } => {
                self.cache_query_results(&client, reply);
                if let Some(state) = self.clients.get_mut(&client) {
                    state.unfetched.remove(&cid);
                }
            }
            Kind::Send { mut message, receipt } => {
                let ack = reply.ack_message.get_or_insert_default();
                message.id = ack.uid.take();
                message.timestamp = ack.t.unwrap_or_default();
                message.status = MessageStatus::Sent;
                self.note_server_time(&client, ack.t);
                let max = self.options.max_conversations;
                let keep = self.options.earlier_last_messages;
                if let Some(id) = message.id.clone() {
                    if let Some(state) = self.clients.get_mut(&client) {
                        state.seen.insert(&id);
                    }
                    if receipt && !message.transient {
                        self.wait_for_receipt(&client, &id, &message.conversation);
                    }
                }
                if let Some(conv) = Self::conv_entry(&mut self.clients, &client, &message.conversation, max) {
                    conv.set_last_message(&message, keep);
                }
                self.respond(&client, &out.ids, Response::Sent(message));
            }
            Kind::History { cid } => {
                let two = self
                    .conversation(&client, &cid)
                    .is_some_and(|c| c.members.len() == 2);
                let mut messages = logged_messages(reply, &cid, &client);
                for message in &mut messages {
                    if two && message.delivered_at.is_some() {
                        message.status = MessageStatus::Delivered;
                    }
                }
                self.respond(&client, &out.ids, Response::History(messages));
            }
            Kind::CatchUp { cid, page, forward } => {
                let messages = logged_messages(reply, &cid, &client);
                let full = forward && i32::try_from(messages.len()).unwrap_or(i32::MAX) >= page;
                let newest = messages.last().map(|m| m.timestamp);
                let before = self.conversation(&client, &cid).and_then(|c| c.seen_up_to);
                for message in messages {
                    self.deliver(&client, message);
                }
                // Duplicates (our own sends, messages already pushed) are skipped by `deliver` but
                // still move the start of the next page forward.
                let advanced = match (newest, before) {
                    (Some(newest), Some(before)) => newest > before,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if let (Some(newest), Some(conv)) = (newest, self.cached_mut(&client, &cid)) {
                    conv.seen_up_to = Some(conv.seen_up_to.map_or(newest, |s| s.max(newest)));
                }
                if full && advanced {
                    self.request_catch_up(&client, &cid, now);
                } else {
                    self.finish_catch_up(&client, &cid, now);
                }
            }
            Kind::Partial { cid, op } => {
                let (allowed, failed) = match (reply.conv_message.as_mut(), reply.blacklist_message.as_mut())
                {
                    (Some(conv), _) => (take(&mut conv.allowed_pids), &conv.failed_pids[..]),
                    (None, Some(black)) => (take(&mut black.allowed_pids), &black.failed_pids[..]),
                    _ => (Vec::new(), &[][..]),
                };
                if let Some(conv) = self.cached_mut(&client, &cid) {
                    match op {
                        MemberOp::Add => conv.members.extend(allowed.iter().cloned()),
                        MemberOp::Remove | MemberOp::Block => {
                            for member in &allowed {
                                conv.members.remove(member);
                            }
                        }
                        _ => {}
                    }
                }
                self.respond(&client, &out.ids, partial_result(allowed, failed));
            }
            Kind::Count => {
                let count = reply
                    .conv_message
                    .as_ref()
                    .and_then(|c| c.count)
                    .unwrap_or_default();
                self.respond(&client, &out.ids, Response::Count(i64::from(count)));
            }
            Kind::Update { cid, attributes } => {
                let updated_at = reply.conv_message.as_mut().and_then(|c| c.udate.take());
                if let Some(conv) = self.cached_mut(&client, &cid) {
                    conv.apply_attributes(&attributes);
                    if updated_at.is_some() {
                        conv.updated_at.clone_from(&updated_at);
                    }
                }
                self.respond(&client, &out.ids, Response::Updated { updated_at });
            }
            Kind::Done => self.respond(&client, &out.ids, Response::Done),
            Kind::Online => {
                let online = reply
                    .session_message
                    .as_mut()
                    .map(|s| take(&mut s.online_session_peer_ids))
                    .unwrap_or_default();
                self.respond(&client, &out.ids, Response::Online(online));
            }
            Kind::MaxRead { cid } => {
                let conv = reply.conv_message.get_or_insert_default();
                if let Some(cached) = self.cached_mut(&client, &cid) {
                    cached.last_read_at = cached.last_read_at.max(conv.max_read_timestamp);
                    cached.last_delivered_at = cached.last_delivered_at.max(conv.max_ack_timestamp);
                }
                self.respond(
                    &client,
                    &out.ids,
                    Response::ReceiptTimestamps {
                        max_read: conv.max_read_timestamp,
                        max_ack: conv.max_ack_timestamp,
                    },
                );
            }
            Kind::MaxReadAll => {
                let conv = reply.conv_message.get_or_insert_default();
                let mut receipts = Vec::with_capacity(conv.max_read_tuples.len());
                for tuple in &mut conv.max_read_tuples {
                    receipts.push(MemberReceipt {
                        client: tuple.pid.take().unwrap_or_default(),
                        max_ack: tuple.max_ack_timestamp,
                        max_read: tuple.max_read_timestamp,
                    });
                }
                self.respond(&client, &out.ids, Response::MemberReceipts(receipts));
            }
            Kind::MemberList { blacklist } => {
                let (members, next) = if blacklist {
                    let black = reply.blacklist_message.get_or_insert_default();
                    (take(&mut black.blocked_pids), black.next.take())
                } else {
                    let conv = reply.conv_message.get_or_insert_default();
                    (take(&mut conv.m), conv.next.take())
                };
                self.respond(&client, &out.ids, Response::Members { members, next });
            }
            Kind::Patch { mut message } => {
                message.updated_at = reply
                    .patch_message
                    .as_ref()
                    .and_then(|p| p.last_patch_time)
                    .or(reply.server_ts);
                if let Some(conv) = self.cached_mut(&client, &message.conversation) {
                    conv.update_message(&message);
                }
                self.respond(&client, &out.ids, Response::Patched(message));
            }
        }
    }

    /// Keeps the session token of a `session/opened` or `session/refreshed` reply with its expiry
    /// (`stTtl` seconds from now, one hour when absent); returns the token.
    fn store_token(state: &mut Client, reply: &GenericCommand, now: Instant) -> Option<String> {
        let session = reply.session_message.as_ref()?;
        let st = session.st.clone()?;
        let ttl = u64::try_from(session.st_ttl.unwrap_or(3600)).unwrap_or(3600);
        state.token = Some((st.clone(), now + core::time::Duration::from_secs(ttl)));
        Some(st)
    }

    /// The reply to `session/refresh`: the new token replaces the old one.
    fn refreshed(&mut self, out: &Outgoing, reply: &GenericCommand, now: Instant) {
        let token = self
            .clients
            .get_mut(&out.client)
            .and_then(|state| Self::store_token(state, reply, now));
        match token {
            Some(token) => self.respond(&out.client, &out.ids, Response::SessionToken(token)),
            None => self.fail(
                &out.client,
                &out.ids,
                RequestError::Invalid("session/refreshed without a session token".into()),
            ),
        }
    }

    fn opened(&mut self, out: &Outgoing, relogin: bool, reply: &GenericCommand, now: Instant) {
        let client = out.client.clone();
        let Some(state) = self.clients.get_mut(&client) else {
            return;
        };
        Self::store_token(state, reply, now);
        if let Some(ts) = reply.server_ts {
            state.last_patch_time = state.last_patch_time.max(ts);
            state.clock_hint = state.clock_hint.max(ts);
        }
        let first = !state.ever_opened;
        state.ever_opened = true;
        state.sign_in_deadline = None;
        state.status = Status::Open;
        if relogin && !first {
            self.events.push_back(Event::Reconnected {
                client: client.clone(),
            });
        } else {
            self.respond(&client, &out.ids, Response::Opened);
        }
        // Resends first, gap filling after: replies come in order, so the acks of our own resent
        // messages mark them seen before history that contains them arrives.
        self.flush_client(&client, now);
        // Fetches lost with the previous connection go out again.
        if let Some(state) = self.clients.get_mut(&client) {
            state.fetch_queue = state.unfetched.as_slice().to_vec();
        }
        if relogin && !first {
            let mut cids = Vec::new();
            for conv in self.conversations(&client) {
                if conv.is_persistent() {
                    cids.push(conv.id.clone());
                }
            }
            for cid in cids {
                self.start_catch_up(&client, &cid, now);
            }
        }
    }

    fn open_failed(
        &mut self,
        out: &mut Outgoing,
        relogin: bool,
        error: chinwag_protocol::ServerError,
        now: Instant,
    ) {
        let client = out.client.clone();
        if error.code == 4112 {
            // The token expired: forget it and sign in again without it (same `r`).
            if let Some(state) = self.clients.get_mut(&client) {
                if state.token.take().is_some() || state.options.session_token.take().is_some() {
                    state.open_requests = take(&mut out.ids);
                    self.send_open(&client, now);
                    return;
                }
            }
        }
        let first = self.clients.get(&client).is_none_or(|s| !s.ever_opened);
        if first {
            self.fail(&client, &out.ids, RequestError::Server(error.clone()));
        }
        if error.code == 4111 {
            self.events.push_back(Event::Conflict {
                client: client.clone(),
                reason: error.reason.clone(),
            });
        } else if relogin && !first {
            self.events.push_back(Event::ReconnectFailed {
                client: client.clone(),
                error: RequestError::Server(error.clone()),
            });
        }
        self.remove_client(&client, RequestError::ClientClosed, now);
    }

    pub(crate) fn handle_push(&mut self, command: &mut GenericCommand, now: Instant) {
        // Fields are `take`n or borrowed, never moved out (see `handle_reply`).
        let cmd = command.command_type();
        match cmd {
            Some(CommandType::Goaway) => {
                if self.options.router.is_some() {
                    self.forget_servers();
                }
                self.actions.push_back(Action::Close);
                self.drop_connection(DisconnectReason::Goaway, now);
                return;
            }
            Some(CommandType::Echo) => return,
            _ => {}
        }
        let client = match command.peer_id.as_deref() {
            Some(peer) if self.clients.contains_key(peer) => peer.to_owned(),
            Some(_) => {
                self.events.push_back(Event::Unhandled {
                    client: None,
                    cmd: command.cmd,
                    op: command.op,
                });
                return;
            }
            None => match self.client_order.first() {
                Some(first) => first.clone(),
                None => return,
            },
        };
        self.note_server_time(&client, command.server_ts);
        match cmd {
            Some(CommandType::Session) if command.op_type() == Some(OpType::Closed) => {
                let session = command.session_message.get_or_insert_default();
                let code = session.code.unwrap_or_default();
                let reason = session.reason.take().unwrap_or_default();
                if code == 4111 {
                    self.events.push_back(Event::Conflict {
                        client: client.clone(),
                        reason,
                    });
                } else {
                    self.events.push_back(Event::Closed {
                        client: client.clone(),
                        code,
                        reason,
                    });
                }
                self.remove_client(&client, RequestError::ClientClosed, now);
            }
            Some(CommandType::Direct) => self.on_direct(&client, command, now),
            Some(CommandType::Conv) => self.on_conv_push(&client, command),
            Some(CommandType::Unread) => self.on_unread(&client, command, now),
            Some(CommandType::Rcp) => self.on_rcp(&client, command),
            Some(CommandType::Patch) => self.on_patch(&client, command),
            _ => self.events.push_back(Event::Unhandled {
                client: Some(client),
                cmd: command.cmd,
                op: command.op,
            }),
        }
    }

    fn on_direct(&mut self, client: &str, command: &GenericCommand, now: Instant) {
        let Some(direct) = &command.direct_message else {
            return;
        };
        let message = Message::from_direct(direct, client);
        self.note_server_time(client, Some(message.timestamp));
        let ack_delay = self.options.ack_delay;
        let buffer_cap = self.options.catch_up_buffer;
        let max_acks = self.options.max_conversations;
        let Some(state) = self.clients.get_mut(client) else {
            return;
        };
        // Like the JS SDK: no ack for transient messages, chat rooms, or our own (other device).
        let in_chat_room = state
            .conversations
            .get(&message.conversation)
            .is_some_and(|c| !c.is_persistent());
        let ackable = state.acks.contains_key(&message.conversation) || state.acks.len() < max_acks;
        if !message.transient
            && !in_chat_room
            && ackable
            && message.from != client
            && !message.conversation.is_empty()
        {
            let entry = state.acks.get_or_insert(
                message.conversation.clone(),
                (message.timestamp, message.timestamp),
            );
            entry.0 = entry.0.min(message.timestamp);
            entry.1 = entry.1.max(message.timestamp);
            if self.ack_flush_at.is_none() {
                self.ack_flush_at = Some(now + ack_delay);
            }
        }
        if let Some(catch_up) = state.catch_up.get_mut(&message.conversation) {
            if catch_up.buffer.len() >= buffer_cap {
                catch_up.buffer.clear();
                catch_up.overflowed = true;
            } else if !catch_up.overflowed {
                catch_up.buffer.push(message);
            }
            return;
        }
        self.deliver(client, message);
    }

    /// Hands a received message to the application once: de-duplicated by id, recorded as the
    /// conversation's last message, counted as unread unless already counted by an `unread` push.
    pub(crate) fn deliver(&mut self, client: &str, message: Message) {
        let max = self.options.max_conversations;
        let keep = self.options.earlier_last_messages;
        let Some(state) = self.clients.get_mut(client) else {
            return;
        };
        if let Some(id) = &message.id {
            if !state.seen.insert(id) {
                return;
            }
        }
        let mut unread_changed = None;
        if let Some(conv) = Self::conv_entry(&mut self.clients, client, &message.conversation, max) {
            if !message.transient {
                conv.seen_up_to = Some(
                    conv.seen_up_to
                        .map_or(message.timestamp, |s| s.max(message.timestamp)),
                );
                conv.set_last_message(&message, keep);
                if message.from != client && conv.is_persistent() {
                    if message.timestamp > conv.unread_as_of {
                        conv.unread += 1;
                        conv.unread_as_of = message.timestamp;
                        conv.unread_mentioned |= message.mentioned;
                        unread_changed = Some((conv.id.clone(), conv.unread, conv.unread_mentioned));
                    } else if message.timestamp > conv.unread_reset_at {
                        conv.unread_skipped = true;
                    }
                }
            }
        }
        self.events.push_back(Event::Message {
            client: client.to_owned(),
            message,
        });
        if let Some(change) = unread_changed {
            self.events.push_back(Event::UnreadCountUpdated {
                client: client.to_owned(),
                conversations: vec![change],
            });
        }
    }

    /// Starts filling the gap of `cid` (no-op when already filling).
    pub(crate) fn start_catch_up(&mut self, client: &str, cid: &str, now: Instant) {
        let Some(state) = self.clients.get_mut(client) else {
            return;
        };
        if state.catch_up.contains_key(cid) {
            return;
        }
        state.catch_up.insert(cid.to_owned(), CatchUp::default());
        self.request_catch_up(client, cid, now);
    }

    /// Asks for the next page after the newest message seen in `cid` (or, for a conversation never
    /// seen, its latest unread messages).
    pub(crate) fn request_catch_up(&mut self, client: &str, cid: &str, now: Instant) {
        // The start message is included (ties), so a page needs room for at least one new message.
        let page = self.options.catch_up_page.max(2);
        let Some(state) = self.clients.get(client) else {
            return;
        };
        let conv = state.conversations.get(cid);
        let (t, forward, limit) = match conv.and_then(|c| c.seen_up_to) {
            Some(t) => (Some(t), true, page),
            // Never seen here: the newest page (it holds the unread messages; anything already
            // seen is dropped by id).
            None => (None, false, page),
        };
        let mut logs = LogsCommand::default();
        logs.cid = Some(cid.to_owned());
        logs.t = t;
        logs.t_included = t.map(|_| true);
        logs.l = Some(limit);
        logs.direction = Some(if forward {
            QueryDirection::New
        } else {
            QueryDirection::Old
        } as i32);
        let command = GenericCommand::new(CommandType::Logs)
            .with_peer_id(client)
            .with(logs);
        if self.is_open(client) {
            let kind = Kind::CatchUp {
                cid: cid.to_owned(),
                page: limit,
                forward,
            };
            self.send_internal(client.to_owned(), command, kind, now);
        } else if let Some(state) = self.clients.get_mut(client) {
            state.catch_up.remove(cid);
        }
    }

    /// Ends gap filling for `cid`: delivers the live messages that waited, in timestamp order.
    pub(crate) fn finish_catch_up(&mut self, client: &str, cid: &str, now: Instant) {
        let Some(state) = self.clients.get_mut(client) else {
            return;
        };
        let Some(catch_up) = state.catch_up.remove(cid) else {
            return;
        };
        let mut buffer = catch_up.buffer;
        sort_by_time(&mut buffer);
        for message in buffer {
            self.deliver(client, message);
        }
        if catch_up.overflowed {
            self.start_catch_up(client, cid, now);
        }
    }

    fn on_conv_push(&mut self, client: &str, command: &mut GenericCommand) {
        let (cmd, op, op_type) = (command.cmd, command.op, command.op_type());
        let conv = command.conv_message.get_or_insert_default();
        let Some(cid) = conv.cid.take() else { return };
        let by = conv.init_by.take();
        let members = take(&mut conv.m);
        let max = self.options.max_conversations;
        let client_s = client.to_owned();
        let cached = Self::conv_entry(&mut self.clients, client, &cid, max);
        let event = match op_type {
            Some(OpType::Joined) => {
                if let Some(c) = cached {
                    c.members.insert(client_s.clone());
                }
                Event::Invited {
                    client: client_s,
                    conversation: cid,
                    invited_by: by,
                }
            }
            Some(OpType::Left) => {
                if let Some(c) = cached {
                    c.members.remove(&client_s);
                }
                Event::Kicked {
                    client: client_s,
                    conversation: cid,
                    kicked_by: by,
                }
            }
            Some(OpType::MembersJoined) => {
                if let Some(c) = cached {
                    c.members.extend(members.iter().cloned());
                }
                Event::MembersJoined {
                    client: client_s,
                    conversation: cid,
                    members,
                    invited_by: by,
                }
            }
            Some(OpType::MembersLeft) => {
                if let Some(c) = cached {
                    for m in &members {
                        c.members.remove(m);
                    }
                }
                Event::MembersLeft {
                    client: client_s,
                    conversation: cid,
                    members,
                    kicked_by: by,
                }
            }
            Some(OpType::MembersBlocked) => Event::MembersBlocked {
                client: client_s,
                conversation: cid,
                members,
                blocked_by: by,
            },
            Some(OpType::MembersUnblocked) => Event::MembersUnblocked {
                client: client_s,
                conversation: cid,
                members,
                unblocked_by: by,
            },
            Some(OpType::Blocked) => Event::Blocked {
                client: client_s,
                conversation: cid,
                blocked_by: by,
            },
            Some(OpType::Unblocked) => Event::Unblocked {
                client: client_s,
                conversation: cid,
                unblocked_by: by,
            },
            Some(OpType::MembersShutuped) => Event::MembersMuted {
                client: client_s,
                conversation: cid,
                members,
                muted_by: by,
            },
            Some(OpType::MembersUnshutuped) => Event::MembersUnmuted {
                client: client_s,
                conversation: cid,
                members,
                unmuted_by: by,
            },
            Some(OpType::Shutuped) => Event::Muted {
                client: client_s,
                conversation: cid,
                muted_by: by,
            },
            Some(OpType::Unshutuped) => Event::Unmuted {
                client: client_s,
                conversation: cid,
                unmuted_by: by,
            },
            Some(OpType::MemberInfoChanged) => {
                let info = conv.info.take().unwrap_or_default();
                let Some(member) = info.pid else { return };
                Event::MemberInfoUpdated {
                    client: client_s,
                    conversation: cid,
                    member,
                    role: info.role,
                    updated_by: by,
                }
            }
            Some(OpType::Updated) => {
                let attributes = json_object(conv.attr.as_ref().map(|a| a.data.as_str()));
                if let Some(c) = cached {
                    c.apply_attributes(&attributes);
                }
                Event::InfoUpdated {
                    client: client_s,
                    conversation: cid,
                    attributes,
                    updated_by: by,
                }
            }
            _ => Event::Unhandled {
                client: Some(client_s),
                cmd,
                op,
            },
        };
        self.events.push_back(event);
    }

    fn on_unread(&mut self, client: &str, command: &GenericCommand, now: Instant) {
        let Some(unread) = &command.unread_message else {
            return;
        };
        let max = self.options.max_conversations;
        let keep = self.options.earlier_last_messages;
        if let (Some(state), Some(t)) = (self.clients.get_mut(client), unread.notif_time) {
            state.last_unread_notif_time = Some(t);
        }
        let mut changed = Vec::new();
        let mut gaps = Vec::new();
        for tuple in &unread.convs {
            // A `read` flushed on this sign-in reached the server after it computed this count: our
            // local count (zero up to the read) is the right one; later messages count as usual.
            if self
                .clients
                .get_mut(client)
                .is_some_and(|s| s.reads_in_transit.remove(&tuple.cid))
            {
                continue;
            }
            let known = self
                .clients
                .get(client)
                .is_some_and(|s| s.conversations.contains_key(&tuple.cid));
            let Some(conv) = Self::conv_entry(&mut self.clients, client, &tuple.cid, max) else {
                continue;
            };
            if !known {
                // Never seen here: the gap is exactly its unread messages.
                conv.seen_up_to = None;
            }
            let ts = tuple.timestamp.unwrap_or(conv.unread_as_of);
            if ts >= conv.unread_as_of {
                let count = u32::try_from(tuple.unread.max(0)).unwrap_or(0);
                let mentioned = tuple.mentioned.unwrap_or(false);
                if count != conv.unread || mentioned != conv.unread_mentioned {
                    changed.push((conv.id.clone(), count, mentioned));
                }
                conv.unread = count;
                conv.unread_mentioned = mentioned;
                conv.unread_as_of = ts;
                conv.unread_reset_at = ts;
                conv.unread_skipped = false;
            }
            if let Some(mid) = &tuple.mid {
                let mut item = chinwag_protocol::LogItem::default();
                item.msg_id = Some(mid.clone());
                item.from = tuple.from.clone();
                item.timestamp = tuple.timestamp;
                item.patch_timestamp = tuple.patch_timestamp;
                let mut last = Message::from_log(&item, &tuple.cid, client);
                last.content =
                    crate::message::received_content(tuple.data.as_deref(), tuple.binary_msg.as_deref());
                conv.set_last_message(&last, keep);
            }
            let behind = match (conv.seen_up_to, tuple.timestamp) {
                (Some(seen), Some(ts)) => ts > seen,
                (None, _) => tuple.unread > 0,
                _ => false,
            };
            if behind && conv.is_persistent() {
                gaps.push(tuple.cid.clone());
            }
        }
        if !changed.is_empty() {
            self.events.push_back(Event::UnreadCountUpdated {
                client: client.to_owned(),
                conversations: changed,
            });
        }
        for cid in gaps {
            self.start_catch_up(client, &cid, now);
        }
    }

    fn on_rcp(&mut self, client: &str, command: &GenericCommand) {
        let Some(rcp) = &command.rcp_message else { return };
        let (Some(cid), Some(t)) = (rcp.cid.clone(), rcp.t) else {
            return;
        };
        let read = rcp.read.unwrap_or(false);
        let max = self.options.max_conversations;
        if let Some(conv) = Self::conv_entry(&mut self.clients, client, &cid, max) {
            if read {
                conv.last_read_at = Some(conv.last_read_at.map_or(t, |x| x.max(t)));
            } else {
                conv.last_delivered_at = Some(conv.last_delivered_at.map_or(t, |x| x.max(t)));
            }
        }
        let Some(state) = self.clients.get(client) else {
            return;
        };
        let status_change = rcp
            .id
            .as_ref()
            .and_then(|id| state.waiting_receipt.get(id).map(|_| id.clone()));
        let client_s = client.to_owned();
        self.events.push_back(if read {
            Event::LastReadAt {
                client: client_s.clone(),
                conversation: cid.clone(),
                at: t,
            }
        } else {
            Event::LastDeliveredAt {
                client: client_s.clone(),
                conversation: cid.clone(),
                at: t,
            }
        });
        if let Some(message_id) = status_change {
            self.events.push_back(Event::MessageStatusChanged {
                client: client_s,
                conversation: cid,
                message_id,
                status: if read {
                    MessageStatus::Read
                } else {
                    MessageStatus::Delivered
                },
                at: t,
            });
        }
    }

    fn on_patch(&mut self, client: &str, command: &GenericCommand) {
        let Some(patch) = &command.patch_message else {
            return;
        };
        let max = self.options.max_conversations;
        for item in &patch.patches {
            let message = Message::from_patch(item, client);
            if let Some(state) = self.clients.get_mut(client) {
                if let Some(ts) = item.patch_timestamp {
                    state.last_patch_time = state.last_patch_time.max(ts);
                }
            }
            if !message.conversation.is_empty() {
                if let Some(conv) = Self::conv_entry(&mut self.clients, client, &message.conversation, max) {
                    conv.update_message(&message);
                }
            }
            let reason = item
                .patch_code
                .map(|code| (code, item.patch_reason.clone().unwrap_or_default()));
            let client = client.to_owned();
            self.events.push_back(if item.recall.unwrap_or(false) {
                Event::MessageRecalled {
                    client,
                    message,
                    reason,
                }
            } else {
                Event::MessageUpdated {
                    client,
                    message,
                    reason,
                }
            });
        }
    }
}
