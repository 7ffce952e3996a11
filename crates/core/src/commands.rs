//! Commands from the application. Each returns a [`RequestId`]; the outcome arrives as
//! [`Event::Response`](crate::Event::Response).

use chinwag_protocol::json::{Map, Value};
use chinwag_protocol::{
    BlacklistCommand, CommandType, ConvCommand, ConvMemberInfo, DirectCommand, GenericCommand,
    JsonObjectMessage, LogsCommand, MessageContent, OpType, PatchCommand, PatchItem, ReadCommand, ReadTuple,
    SessionCommand, TypedMessage, logs_command::QueryDirection,
};

use crate::conversation::{Conversation, ConversationKind};
use crate::engine::Engine;
use crate::event::{Event, RequestError, Response};
use crate::message::{Message, SendOptions};
use crate::options::{ClientOptions, CreateConversation, HistoryQuery, Signature};
use crate::query::ConversationQuery;
use crate::requests::{Kind, MemberOp, RequestId};
use crate::sorted_set::SortedSet;
use crate::time::Instant;

fn conv_command(op: OpType, cid: &str) -> (GenericCommand, ConvCommand) {
    let mut conv = ConvCommand::default();
    conv.cid = Some(cid.to_owned());
    (GenericCommand::new(CommandType::Conv).with_op(op), conv)
}

fn sign_conv(conv: &mut ConvCommand, signature: Option<&Signature>) {
    if let Some(sig) = signature {
        conv.s = Some(sig.signature.clone());
        conv.t = Some(sig.timestamp);
        conv.n = Some(sig.nonce.clone());
    }
}

impl Engine {
    /// Signs in `client` (`session/open`), connecting first if needed. Answered by
    /// [`Response::Opened`] once the server accepts, or [`RequestError::Timeout`] when that has not
    /// happened within [`Options::sign_in_timeout`](crate::Options::sign_in_timeout) (the client is
    /// then removed and nothing retries on its behalf).
    pub fn open_client(&mut self, client: &str, options: ClientOptions, now: Instant) -> RequestId {
        let id = self.new_request_id();
        if self.clients.contains_key(client) {
            self.fail(client, &[id], RequestError::AlreadyOpen);
            return id;
        }
        self.add_client(client, options, id, now);
        id
    }

    /// Signs `client` out (`session/close`) and deregisters it; with the last client the connection
    /// is closed ([`Action::Close`](crate::Action::Close)). Always answered by [`Response::Closed`]
    /// unless the server refuses: when the connection is down, or goes down or stays silent before
    /// the reply, the client is closed on this side (the server ends the session with the socket).
    pub fn close_client(&mut self, client: &str, now: Instant) -> RequestId {
        if !self.is_open(client) {
            let id = self.new_request_id();
            if self.clients.contains_key(client) {
                self.remove_client(client, RequestError::ClientClosed, now);
                self.respond(client, &[id], Response::Closed);
                self.events.push_back(Event::Closed {
                    client: client.to_owned(),
                    code: 0,
                    reason: String::new(),
                });
            } else {
                self.fail(client, &[id], RequestError::NoSuchClient);
            }
            return id;
        }
        let command = GenericCommand::new(CommandType::Session).with_op(OpType::Close);
        self.submit(client, command, Kind::Close, now)
    }

    /// Asks for a fresh session token (`session/refresh`, sent with the current one), as the JS SDK
    /// does when a REST call needs the token and it expired ([`Engine::session_token_expired`]).
    /// `signature` is the login signature of the application's signature factory, when it has one
    /// (the JS SDK signs the refresh as a sign-in). Answered by [`Response::SessionToken`]; the engine
    /// keeps the new token and its expiry (`stTtl`). Waits in the offline queue while the client is
    /// signed out.
    pub fn refresh_session_token(
        &mut self,
        client: &str,
        signature: Option<&Signature>,
        now: Instant,
    ) -> RequestId {
        let mut session = SessionCommand::default();
        session.ua = Some(self.options.user_agent.clone());
        session.st = self.session_token(client).map(str::to_owned);
        session.s = signature.map(|sig| sig.signature.clone());
        session.t = signature.map(|sig| sig.timestamp);
        session.n = signature.map(|sig| sig.nonce.clone());
        let command = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Refresh)
            .with(session);
        self.submit(client, command, Kind::Refresh, now)
    }

    /// Takes back a received message that the application dropped unseen (the JS SDK's
    /// `beforeMessageDispatch` returning `false`): the official SDK neither counts such a message
    /// as unread nor makes it the conversation's `lastMessage`, while the engine did both on
    /// receipt. Call it once per dropped message, in the order they arrived, with the message as
    /// [`Event::Message`] carried it. Returns whether the conversation changed (re-read it).
    ///
    /// - Unread count: down by one, unless the message was never counted (one's own, transient,
    ///   in a chat room), a `read` or the server's `unread` counts replaced the count since, or
    ///   messages arrived out of order since (gap filling), so that this one may not have been
    ///   counted. The mention flag clears when the count reaches 0. The server still counts it
    ///   (its `unread` counts after a re-login include it, as they do for the official SDK).
    /// - Last message and its time: back to what they were before this message, if it is still
    ///   the last one (a later message stays) and that is known: not for a last message that came
    ///   with a query result (a conversation first seen in this push is fetched before its events,
    ///   and the fetched last message stays, as on the official SDK's fetched conversation). When
    ///   several messages in a row are dropped, taking them all back brings back the message
    ///   before the first of them, in whatever order they are taken back, for up to
    ///   [`Options::earlier_last_messages`](crate::Options::earlier_last_messages) in a row (past
    ///   that, the last of them stays; with the default 0 the last message never comes back).
    ///
    /// Emits no event (the caller knows).
    pub fn take_back_dropped_message(&mut self, client: &str, message: &Message) -> bool {
        let Some(conv) = self.cached_mut(client, &message.conversation) else {
            return false;
        };
        let counted = message.from != client
            && !message.transient
            && conv.is_persistent()
            && !conv.unread_skipped
            && message.timestamp > conv.unread_reset_at
            && message.timestamp <= conv.unread_as_of
            && conv.unread > 0;
        if counted {
            conv.unread -= 1;
            conv.unread_mentioned &= conv.unread > 0;
        }
        let last_restored = conv.take_back_last_message(message);
        counted || last_restored
    }

    /// Which of `clients` are online (`session/query`, at most 20 honoured).
    pub fn query_online(&mut self, client: &str, clients: &[String], now: Instant) -> RequestId {
        let mut session = SessionCommand::default();
        session.session_peer_ids = clients.to_vec();
        let command = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Query)
            .with(session);
        self.submit(client, command, Kind::Online, now)
    }

    /// Creates a conversation, chat room or temporary conversation (`conv/start`).
    pub fn create_conversation(
        &mut self,
        client: &str,
        create: CreateConversation,
        now: Instant,
    ) -> RequestId {
        // Sorted, without duplicates, with the creator; a chat room is created with the creator only.
        let mut members = SortedSet::new();
        if !create.transient {
            members.extend(create.members.iter().cloned());
        }
        members.insert(client.to_owned());
        let mut attr = Map::new();
        if let Some(name) = &create.name {
            attr.insert("name", Value::String(name.clone()));
        }
        for (key, value) in &create.attributes {
            attr.insert(key.clone(), value.clone());
        }
        let mut conv = ConvCommand::default();
        conv.m = members.as_slice().to_vec();
        conv.attr = Some(JsonObjectMessage { data: attr.to_json() });
        conv.transient = create.transient.then_some(true);
        conv.unique = Some(create.unique && !create.transient);
        if let Some(ttl) = create.temporary_ttl {
            conv.temp_conv = Some(true);
            conv.temp_conv_ttl = Some(ttl);
        }
        sign_conv(&mut conv, create.signature.as_ref());
        let mut template = Conversation::default();
        template.kind = if create.transient {
            ConversationKind::ChatRoom
        } else if create.temporary_ttl.is_some() {
            ConversationKind::Temporary
        } else {
            ConversationKind::Normal
        };
        template.members = if create.transient {
            SortedSet::new()
        } else {
            members
        };
        template.name = create.name.clone();
        template.creator = Some(client.to_owned());
        template.attributes = create.attributes.clone();
        template.ttl = create.temporary_ttl.map(i64::from);
        let command = GenericCommand::new(CommandType::Conv)
            .with_op(OpType::Start)
            .with(conv);
        self.submit(client, command, Kind::Create { template }, now)
    }

    /// Runs a conversation query (`conv/query`); results also refresh the cache.
    pub fn query_conversations(
        &mut self,
        client: &str,
        query: &ConversationQuery,
        now: Instant,
    ) -> RequestId {
        let mut conv = ConvCommand::default();
        conv.r#where = Some(JsonObjectMessage {
            data: query.where_json(),
        });
        conv.sort = query.sort();
        conv.limit = query.limit_value();
        conv.skip = query.skip_value();
        conv.flag = Some(query.flag());
        let command = GenericCommand::new(CommandType::Conv)
            .with_op(OpType::Query)
            .with(conv);
        self.submit(client, command, Kind::Query, now)
    }

    /// Fetches one conversation by id (temporary ids use `tempConvIds`).
    pub fn get_conversation(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        self.submit(client, Self::fetch_command(cid), Kind::Query, now)
    }

    /// The `conv/query` for one conversation: `where {"objectId": cid}` (as the JS SDK's
    /// `getConversation`), or `tempConvIds` for a temporary one.
    pub(crate) fn fetch_command(cid: &str) -> GenericCommand {
        let mut conv = ConvCommand::default();
        if cid.starts_with("_tmp:") {
            conv.temp_conv_ids = vec![cid.to_owned()];
        } else {
            // What `ConversationQuery::new().equal_to("objectId", cid).limit(1)` sends, written
            // directly: the builder's maps and generic setters cost a kilobyte of wasm here.
            let mut filter = Map::new();
            filter.insert("objectId", Value::String(cid.to_owned()));
            conv.r#where = Some(JsonObjectMessage {
                data: filter.to_json(),
            });
            conv.limit = Some(1);
            conv.flag = Some(0);
        }
        GenericCommand::new(CommandType::Conv)
            .with_op(OpType::Query)
            .with(conv)
    }

    fn partial(&mut self, client: &str, cid: &str, op: MemberOp, ids: &[String], now: Instant) -> RequestId {
        self.change_members(client, cid, op, ids, None, now)
    }

    /// Any membership operation, with the signature from the application's conversation (or
    /// blacklist) signature factory, sent as `s`, `t`, `n`. Answered by [`Response::Partial`].
    pub fn change_members(
        &mut self,
        client: &str,
        cid: &str,
        op: MemberOp,
        ids: &[String],
        signature: Option<&Signature>,
        now: Instant,
    ) -> RequestId {
        let (wire_op, blacklist) = match op {
            MemberOp::Add => (OpType::Add, false),
            MemberOp::Remove => (OpType::Remove, false),
            MemberOp::Shutup => (OpType::AddShutup, false),
            MemberOp::Unshutup => (OpType::RemoveShutup, false),
            MemberOp::Block => (OpType::Block, true),
            MemberOp::Unblock => (OpType::Unblock, true),
        };
        let command = if blacklist {
            let mut black = BlacklistCommand::default();
            black.src_cid = Some(cid.to_owned());
            black.to_pids = ids.to_vec();
            black.s = signature.map(|sig| sig.signature.clone());
            black.t = signature.map(|sig| sig.timestamp);
            black.n = signature.map(|sig| sig.nonce.clone());
            GenericCommand::new(CommandType::Blacklist)
                .with_op(wire_op)
                .with(black)
        } else {
            let (command, mut conv) = conv_command(wire_op, cid);
            conv.m = ids.to_vec();
            sign_conv(&mut conv, signature);
            command.with(conv)
        };
        self.submit(
            client,
            command,
            Kind::Partial {
                cid: cid.to_owned(),
                op,
            },
            now,
        )
    }

    /// Adds members (`conv/add`); answered by [`Response::Partial`].
    pub fn add_members(&mut self, client: &str, cid: &str, members: &[String], now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Add, members, now)
    }
    /// Removes members (`conv/remove`).
    pub fn remove_members(&mut self, client: &str, cid: &str, members: &[String], now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Remove, members, now)
    }
    /// Joins a conversation (add self).
    pub fn join(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Add, &[client.to_owned()], now)
    }
    /// Quits a conversation (remove self).
    pub fn quit(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Remove, &[client.to_owned()], now)
    }
    /// Shuts members up (`conv/add_shutup`).
    pub fn mute_members(&mut self, client: &str, cid: &str, members: &[String], now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Shutup, members, now)
    }
    /// Lets members speak again (`conv/remove_shutup`).
    pub fn unmute_members(&mut self, client: &str, cid: &str, members: &[String], now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Unshutup, members, now)
    }
    /// Blocks members (`blacklist/block`).
    pub fn block_members(&mut self, client: &str, cid: &str, members: &[String], now: Instant) -> RequestId {
        self.partial(client, cid, MemberOp::Block, members, now)
    }
    /// Unblocks members (`blacklist/unblock`).
    pub fn unblock_members(
        &mut self,
        client: &str,
        cid: &str,
        members: &[String],
        now: Instant,
    ) -> RequestId {
        self.partial(client, cid, MemberOp::Unblock, members, now)
    }

    /// A page of shut-up members (`conv/query_shutup`); answered by [`Response::Members`].
    pub fn query_muted_members(
        &mut self,
        client: &str,
        cid: &str,
        limit: Option<i32>,
        next: Option<String>,
        now: Instant,
    ) -> RequestId {
        let (command, mut conv) = conv_command(OpType::QueryShutup, cid);
        conv.limit = limit;
        conv.next = next;
        self.submit(
            client,
            command.with(conv),
            Kind::MemberList { blacklist: false },
            now,
        )
    }

    /// A page of blocked members (`blacklist/query`).
    pub fn query_blocked_members(
        &mut self,
        client: &str,
        cid: &str,
        limit: Option<i32>,
        next: Option<String>,
        now: Instant,
    ) -> RequestId {
        let mut black = BlacklistCommand::default();
        black.src_cid = Some(cid.to_owned());
        black.limit = limit;
        black.next = next;
        let command = GenericCommand::new(CommandType::Blacklist)
            .with_op(OpType::Query)
            .with(black);
        self.submit(client, command, Kind::MemberList { blacklist: true }, now)
    }

    /// Saves attribute changes (`conv/update`); keys may be dotted paths. Applied to the cache on success.
    pub fn update_conversation(
        &mut self,
        client: &str,
        cid: &str,
        attributes: Map,
        now: Instant,
    ) -> RequestId {
        let (command, mut conv) = conv_command(OpType::Update, cid);
        conv.attr = Some(JsonObjectMessage {
            data: attributes.to_json(),
        });
        self.submit(
            client,
            command.with(conv),
            Kind::Update {
                cid: cid.to_owned(),
                attributes,
            },
            now,
        )
    }

    /// Turns off push notifications of `cid` for this client (`conv/mute`).
    pub fn mute(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        let (command, conv) = conv_command(OpType::Mute, cid);
        self.submit(client, command.with(conv), Kind::Done, now)
    }

    /// Turns them back on (`conv/unmute`).
    pub fn unmute(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        let (command, conv) = conv_command(OpType::Unmute, cid);
        self.submit(client, command.with(conv), Kind::Done, now)
    }

    /// Counts members (`conv/count`); answered by [`Response::Count`].
    pub fn count_members(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        let (command, conv) = conv_command(OpType::Count, cid);
        self.submit(client, command.with(conv), Kind::Count, now)
    }

    /// Changes a member's role (`Manager` or `Member`; `Owner` is refused locally with 5130).
    pub fn update_member_role(
        &mut self,
        client: &str,
        cid: &str,
        member: &str,
        role: &str,
        now: Instant,
    ) -> RequestId {
        if role == "Owner" {
            let id = self.new_request_id();
            self.fail(
                client,
                &[id],
                RequestError::Invalid("5130 OWNER_PROMOTION_NOT_ALLOWED".into()),
            );
            return id;
        }
        let (command, mut conv) = conv_command(OpType::MemberInfoUpdate, cid);
        conv.target_client_id = Some(member.to_owned());
        let mut info = ConvMemberInfo::default();
        info.pid = Some(member.to_owned());
        info.role = Some(role.to_owned());
        conv.info = Some(info);
        self.submit(client, command.with(conv), Kind::Done, now)
    }

    /// The conversation's receipt timestamps (`conv/max_read`).
    pub fn fetch_receipt_timestamps(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        let (command, conv) = conv_command(OpType::MaxRead, cid);
        self.submit(
            client,
            command.with(conv),
            Kind::MaxRead { cid: cid.to_owned() },
            now,
        )
    }

    /// Every member's receipt timestamps (`conv/max_read` with `queryAllMembers`).
    pub fn fetch_member_receipts(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        let (command, mut conv) = conv_command(OpType::MaxRead, cid);
        conv.query_all_members = Some(true);
        self.submit(client, command.with(conv), Kind::MaxReadAll, now)
    }

    /// Sends a message (`direct`). While disconnected it is queued and sent after re-login; a resend
    /// after a dropped connection carries the same `dt`, so the server stores it once. Answered by
    /// [`Response::Sent`] with the server id and timestamp.
    pub fn send(
        &mut self,
        client: &str,
        cid: &str,
        content: MessageContent,
        options: SendOptions,
        now: Instant,
    ) -> RequestId {
        let dt = self.rng.uuid_v4();
        let message = Message::outgoing(cid, client, content, &options, dt.clone());
        let (msg, binary_msg) = message.content.to_wire();
        let mut direct = DirectCommand::default();
        direct.cid = Some(cid.to_owned());
        direct.msg = msg;
        direct.binary_msg = binary_msg;
        direct.r = Some(options.receipt);
        direct.transient = Some(options.transient);
        direct.will = options.will.then_some(true);
        direct.dt = Some(dt);
        direct.push_data = options.push_data.as_ref().map(Value::to_json);
        direct.mention_pids = options.mentions.clone();
        direct.mention_all = Some(options.mention_all);
        let mut command = GenericCommand::new(CommandType::Direct).with(direct);
        command.priority = options.priority;
        self.submit(
            client,
            command,
            Kind::Send {
                message,
                receipt: options.receipt,
            },
            now,
        )
    }

    /// A page of history (`logs`); answered by [`Response::History`], ascending by timestamp.
    pub fn query_messages(
        &mut self,
        client: &str,
        cid: &str,
        query: HistoryQuery,
        now: Instant,
    ) -> RequestId {
        let direction = match query.forward {
            Some(true) => Some(QueryDirection::New as i32),
            Some(false) => Some(QueryDirection::Old as i32),
            None => match (query.start_time, query.end_time) {
                (Some(t), Some(tt)) if tt > t => Some(QueryDirection::New as i32),
                _ => None,
            },
        };
        let mut logs = LogsCommand::default();
        logs.cid = Some(cid.to_owned());
        logs.t = query.start_time;
        logs.mid = query.start_message_id;
        logs.t_included = query.start_closed.then_some(true);
        logs.tt = query.end_time;
        logs.tmid = query.end_message_id;
        logs.tt_included = query.end_closed.then_some(true);
        logs.l = query.limit;
        logs.lctype = query.kind;
        logs.direction = direction;
        let command = GenericCommand::new(CommandType::Logs).with(logs);
        self.submit(client, command, Kind::History { cid: cid.to_owned() }, now)
    }

    fn patch(
        &mut self,
        client: &str,
        original: &Message,
        recall: bool,
        content: Option<MessageContent>,
        now: Instant,
    ) -> RequestId {
        let Some(mid) = original.id.clone() else {
            let id = self.new_request_id();
            self.fail(
                client,
                &[id],
                RequestError::Invalid("message was not sent".into()),
            );
            return id;
        };
        let mut updated = original.clone();
        updated.content = content.unwrap_or_else(|| MessageContent::Typed(TypedMessage::recalled()));
        let (data, binary_msg) = if recall {
            (None, None)
        } else {
            updated.content.to_wire()
        };
        let mut item = PatchItem::default();
        item.cid = Some(original.conversation.clone());
        item.mid = Some(mid);
        item.timestamp = Some(original.timestamp);
        item.recall = Some(recall);
        item.data = data;
        item.binary_msg = binary_msg;
        item.mention_pids = original.mentions.clone();
        item.mention_all = Some(original.mention_all);
        let mut patch = PatchCommand::default();
        patch.patches = vec![item];
        let command = GenericCommand::new(CommandType::Patch)
            .with_op(OpType::Modify)
            .with(patch);
        self.submit(client, command, Kind::Patch { message: updated }, now)
    }

    /// Recalls a sent message (`patch/modify` with `recall`).
    pub fn recall(&mut self, client: &str, message: &Message, now: Instant) -> RequestId {
        self.patch(client, message, true, None, now)
    }

    /// Replaces a sent message's content (`patch/modify`).
    pub fn edit(
        &mut self,
        client: &str,
        message: &Message,
        content: MessageContent,
        now: Instant,
    ) -> RequestId {
        self.patch(client, message, false, Some(content), now)
    }

    /// Marks `cid` read: the unread count drops to 0 at once and a `read` goes to the server (now, or
    /// after the next sign-in when offline; sent again after a reconnect until a later reply proves
    /// the server had it). Answered by [`Response::Done`] at once: the read is recorded either way,
    /// so nothing waits on the network.
    pub fn read(&mut self, client: &str, cid: &str, now: Instant) -> RequestId {
        let id = self.new_request_id();
        let wall = self.wall_ms(now);
        let open = self.is_open(client);
        let Some(state) = self.clients.get_mut(client) else {
            self.fail(client, &[id], RequestError::NoSuchClient);
            return id;
        };
        // Read up to the last message seen; with none, up to the newest server time this client has
        // observed (server clock, unlike the JS SDK's local `Date.now()`, so that messages the user
        // never saw stay unread on the server and here alike).
        let server_now = if state.clock_hint > 0 {
            state.clock_hint
        } else {
            wall
        };
        let mut uncached = Conversation::stub(cid);
        let known = state.conversations.contains_key(cid);
        if !known && state.conversations.len() < self.options.max_conversations && !cid.is_empty() {
            // Not cached yet: fetch it, as for a push.
            state.unfetched.insert(cid.to_owned());
            state.fetch_queue.push(cid.to_owned());
        }
        let conv = if known || state.conversations.len() < self.options.max_conversations {
            state
                .conversations
                .get_or_insert_with(cid.to_owned(), || Conversation::stub(cid))
        } else {
            &mut uncached
        };
        let changed = conv.unread != 0 || conv.unread_mentioned;
        let read_up_to = conv.last_message_at.unwrap_or(server_now);
        conv.unread = 0;
        conv.unread_mentioned = false;
        conv.unread_as_of = conv.unread_as_of.max(read_up_to);
        conv.unread_reset_at = conv.unread_as_of;
        conv.unread_skipped = false;
        let tuple = ReadTuple {
            cid: cid.to_owned(),
            mid: conv
                .last_message
                .as_ref()
                .filter(|m| m.from != client)
                .and_then(|m| m.id.clone()),
            timestamp: Some(read_up_to),
        };
        if changed {
            self.events.push_back(Event::UnreadCountUpdated {
                client: client.to_owned(),
                conversations: vec![(cid.to_owned(), 0, false)],
            });
        }
        if open {
            let after = self.next_serial;
            if let Some(state) = self.clients.get_mut(client) {
                state
                    .reads_unconfirmed
                    .insert(cid.to_owned(), (tuple.clone(), after));
            }
            let mut read = ReadCommand::default();
            read.convs = vec![tuple];
            let command = GenericCommand::new(CommandType::Read)
                .with_peer_id(client)
                .with(read);
            self.transmit(&command, now);
            self.respond(client, &[id], Response::Done);
        } else if let Some(state) = self.clients.get_mut(client) {
            if !state.reads.contains_key(cid) && state.reads.len() >= self.options.max_conversations {
                self.fail(client, &[id], RequestError::QueueFull);
                return id;
            }
            // The newest read position replaces a queued one.
            state.reads.insert(cid.to_owned(), tuple);
            self.respond(client, &[id], Response::Done);
        }
        self.send_fetches(now);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_command_sends_what_the_query_builder_would() {
        for cid in ["5f0c", "a\"b\\c\u{1}"] {
            let query = ConversationQuery::new().equal_to("objectId", cid).limit(1);
            let expected = GenericCommand::new(CommandType::Conv)
                .with_op(OpType::Query)
                .with(ConvCommand {
                    r#where: Some(JsonObjectMessage {
                        data: query.where_json(),
                    }),
                    limit: query.limit_value(),
                    flag: Some(query.flag()),
                    ..Default::default()
                });
            assert_eq!(Engine::fetch_command(cid), expected);
        }
        let temp = Engine::fetch_command("_tmp:x");
        assert_eq!(temp.conv_message.unwrap().temp_conv_ids, ["_tmp:x"]);
    }
}
