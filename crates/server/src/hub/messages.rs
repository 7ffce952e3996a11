//! Messages: `direct` (send, fan-out, de-duplication, `will`), client `ack`s and `read`s with their
//! receipts (`rcp`) and `unread` updates, and history (`logs`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chinwag_protocol::{
    AckCommand, CommandType, DirectCommand, ErrorCode, GenericCommand, LogItem, LogsCommand, RcpCommand,
    logs_command::QueryDirection,
};

use super::{ConnId, Fail, Hub, HubResult, Position, Session, lctype_of, message_payload, push_to_sessions};
use crate::storage::{HistoryQuery, MessageRecord, Storage};

/// Whether `conv` is a service conversation.
fn conv_is_system(conv: Option<&super::Conversation>) -> bool {
    conv.is_some_and(|c| c.record.system)
}

impl<S: Storage> Hub<S> {
    pub(super) fn direct(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        recipients: Option<&BTreeSet<String>>,
        now: i64,
    ) -> HubResult {
        // Borrowed, not cloned: the content is copied once into the stored record and once into
        // the push, nothing else.
        let no_direct = DirectCommand::default();
        let direct = command.direct_message.as_deref().unwrap_or(&no_direct);
        let target = direct.cid.as_deref().and_then(|cid| self.convs.get(cid));
        if target.is_some_and(|conv| conv.is_expired(now)) {
            return Err(Fail::Code(ErrorCode::TemporaryConversationExpired, None));
        }
        let Some(conv) = target.filter(|conv| conv.is_member(client)) else {
            return Err(Fail::Code(ErrorCode::InvalidMessagingTarget, None));
        };
        if self.may_not_speak(conv, client, now) {
            return Err(Fail::Code(
                ErrorCode::ConversationNotAllowed,
                Some("muted (shut up) in this conversation".into()),
            ));
        }
        let size =
            direct.msg.as_ref().map_or(0, String::len) + direct.binary_msg.as_ref().map_or(0, Vec::len);
        if size > self.config.max_message_bytes {
            return Err(Fail::Code(
                ErrorCode::FrameTooLong,
                Some(format!(
                    "message content exceeds {} bytes",
                    self.config.max_message_bytes
                )),
            ));
        }
        let cid = conv.record.id.clone();
        let system = conv.record.system;
        // A subscriber's message to a service conversation is for the service alone; one whose
        // recipients `_messageReceived` chose is for them (and its sender) alone.
        let audience = if system {
            Some(Vec::new())
        } else {
            recipients
                .map(|only| -> Vec<String> {
                    conv.member_iter()
                        .filter(|member| *member != client && only.contains(*member))
                        .map(str::to_owned)
                        .collect()
                })
                // Every other member: for everyone, as if the hook had not narrowed it.
                .filter(|audience| audience.len() + 1 < conv.member_count())
        };
        let transient = direct.transient == Some(true) || conv.record.transient;
        if !transient {
            if let Some(dt) = direct.dt.as_deref().filter(|dt| !dt.is_empty()) {
                if let Some(earlier) = self.storage.find_by_dt(client, dt)? {
                    // A resend of a message we already have: same ack, no second message.
                    self.ack(conn, command, &earlier.id, earlier.timestamp);
                    return Ok(());
                }
            }
        }
        let mut message = MessageRecord {
            id: self.ids.next(now),
            cid: cid.clone(),
            from: client.to_owned(),
            timestamp: now,
            lctype: lctype_of(direct.msg.as_deref()),
            data: direct.msg.clone(),
            binary: direct.binary_msg.clone(),
            mention_all: direct.mention_all == Some(true),
            mention_pids: direct.mention_pids.clone(),
            dt: direct.dt.clone().filter(|dt| !dt.is_empty()),
            receipt: direct.r == Some(true),
            patch_timestamp: None,
            patch_code: None,
            patch_reason: None,
            audience,
        };
        if direct.will == Some(true) {
            // Held until the sender's connection drops (`end_connection`).
            self.ack(conn, command, &message.id, now);
            if let Some(session) = self
                .sessions
                .get_mut(client)
                .and_then(|sessions| sessions.get_mut(&conn))
            {
                session.wills.push(message);
            }
            return Ok(());
        }
        if let Some(conv) = self.convs.get_mut(cid.as_str()) {
            message.timestamp = conv.next_ts(now);
        }
        if !transient {
            self.store_message(&message)?;
        }
        self.ack(conn, command, &message.id, message.timestamp);
        if conv_is_system(self.convs.get(cid.as_str())) {
            // A subscriber's message to a service conversation is for the service (kept in the
            // history, visible over REST), not for the other subscribers: only the sender's other
            // sessions see it.
            let push = Self::message_push(&message, transient, now);
            self.push_to(client, &push, Some(conn));
        } else {
            self.fan_out(&message, transient, Some(conn), now);
        }
        self.notify_message_hooks(&message, transient, Some(conn));
        // A message for chosen members is not the conversation's last message for everyone (a
        // service conversation's last message is its newest, whoever it was for).
        if !transient && (system || message.audience.is_none()) {
            // Moved, not cloned: the conversation keeps the record as its last message.
            if let Some(conv) = self.convs.get_mut(cid.as_str()) {
                conv.last = Some(message.into());
            }
        }
        Ok(())
    }

    /// Stores `message`, first noting in `latest_receipts` when it asks for receipts (so the
    /// note is never behind storage, even if the insert fails).
    pub(super) fn store_message(&mut self, message: &MessageRecord) -> HubResult {
        if message.receipt {
            let latest = self
                .latest_receipts
                .entry(message.cid.clone())
                .or_insert(i64::MIN);
            *latest = (*latest).max(message.timestamp);
        }
        self.storage.insert_message(message)?;
        Ok(())
    }

    /// Stores and delivers a `will` message whose sender's connection dropped.
    pub(super) fn deliver_will(&mut self, client: &str, mut message: MessageRecord, now: i64) -> HubResult {
        let Some(conv) = self.convs.get_mut(message.cid.as_str()) else {
            return Err(Fail::Code(ErrorCode::InvalidMessagingTarget, None));
        };
        if !conv.is_member(client) && !conv.record.transient {
            return Err(Fail::Code(ErrorCode::InvalidMessagingTarget, None));
        }
        message.timestamp = conv.next_ts(now);
        let transient = conv.record.transient;
        let system = conv.record.system;
        if !transient {
            self.store_message(&message)?;
        }
        self.fan_out(&message, transient, None, now);
        // Its connection is gone: no `sourceIP`.
        self.notify_message_hooks(&message, transient, None);
        if !transient && (system || message.audience.is_none()) {
            if let Some(conv) = self.convs.get_mut(message.cid.as_str()) {
                conv.last = Some(message.into());
            }
        }
        Ok(())
    }

    fn ack(&mut self, conn: ConnId, command: &GenericCommand, uid: &str, t: i64) {
        if command.serial().is_none() {
            return;
        }
        let reply = GenericCommand::reply_to(command, CommandType::Ack).with(AckCommand {
            uid: Some(uid.to_owned()),
            t: Some(t),
            ..Default::default()
        });
        self.reply(conn, reply);
    }

    /// Pushes `message` to every online session of every member (of its audience, when it has
    /// one; the sender's sessions always), except the sending session.
    ///
    /// The push is built once and shared by all recipients. Only online members matter, so this
    /// walks whichever is smaller, the members or the online clients (a big group with few
    /// members online costs what its online members cost), and copies no member ids. Recipients
    /// come in client-id order either way.
    pub(super) fn fan_out(
        &mut self,
        message: &MessageRecord,
        transient: bool,
        except: Option<ConnId>,
        now: i64,
    ) {
        let Self {
            convs, sessions, out, ..
        } = self;
        let only: Option<BTreeSet<&str>> = message
            .audience
            .as_ref()
            .map(|audience| audience.iter().map(String::as_str).collect());
        let wanted = |member: &str| {
            only.as_ref()
                .is_none_or(|only| member == message.from || only.contains(member))
        };
        let Some(conv) = convs.get(message.cid.as_str()) else {
            return;
        };
        let push = Self::message_push(message, transient, now);
        let skip_for = |member: &str| if member == message.from { except } else { None };
        // At least one push per online member: grow the output once, not step by step.
        out.reserve(sessions.len().min(conv.member_count()));
        if sessions.len() < conv.member_count() {
            let mut online: Vec<(&String, &BTreeMap<ConnId, Session>)> = sessions
                .iter()
                .filter(|(client, _)| conv.is_member(client) && wanted(client))
                .collect();
            online.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (member, member_sessions) in online {
                push_to_sessions(out, member_sessions, &push, skip_for(member));
            }
        } else {
            for member in conv.member_iter().filter(|member| wanted(member)) {
                if let Some(member_sessions) = sessions.get(member) {
                    push_to_sessions(out, member_sessions, &push, skip_for(member));
                }
            }
        }
    }

    /// The `direct` push of `message`.
    pub(super) fn message_push(
        message: &MessageRecord,
        transient: bool,
        now: i64,
    ) -> std::sync::Arc<GenericCommand> {
        Self::push_body(
            CommandType::Direct,
            None,
            DirectCommand {
                id: Some(message.id.clone()),
                cid: Some(message.cid.clone()),
                from_peer_id: Some(message.from.clone()),
                timestamp: Some(message.timestamp),
                msg: message.data.clone(),
                binary_msg: message.binary.clone(),
                transient: transient.then_some(true),
                mention_all: message.mention_all.then_some(true),
                mention_pids: message.mention_pids.clone(),
                patch_timestamp: message.patch_timestamp,
                ..Default::default()
            },
            now,
        )
    }

    /// A client acknowledged received messages, as `{cid, fromts, tots}` (JS) or `{cid, mid}`
    /// (Swift, C#): delivery receipts go to senders that asked for them.
    pub(super) fn client_ack(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        let ack = command.ack_message.as_deref().cloned().unwrap_or_default();
        if let Some(cid) = ack.cid.as_deref() {
            if let Some((low, high)) = self.ack_range(cid, &ack)? {
                self.advance(client, cid, None, Some((low, high)), now)?;
            }
        }
        if command.serial().is_some() {
            self.reply(conn, GenericCommand::reply_to(command, CommandType::Ack));
        }
        Ok(())
    }

    fn ack_range(&mut self, cid: &str, ack: &AckCommand) -> HubResult<Option<(i64, i64)>> {
        if let Some(mid) = ack.mid.as_deref() {
            return Ok(self
                .storage
                .message(cid, mid)?
                .map(|m| (m.timestamp, m.timestamp)));
        }
        Ok(match (ack.fromts, ack.tots) {
            (Some(from), Some(to)) => Some((from.min(to), from.max(to))),
            (Some(t), None) | (None, Some(t)) => Some((t, t)),
            (None, None) => None,
        })
    }

    /// Moves `client`'s read position (`read_to`) and/or ack position (`acked` range) in `cid`,
    /// sending `rcp` receipts for the messages that crossed them.
    fn advance(
        &mut self,
        client: &str,
        cid: &str,
        read_to: Option<i64>,
        acked: Option<(i64, i64)>,
        now: i64,
    ) -> HubResult<bool> {
        let Some(conv) = self.convs.get(cid) else {
            return Ok(false);
        };
        let Some(old) = conv.members.get(client).copied() else {
            return Ok(false);
        };
        let last_ts = conv.last_ts;
        // Nothing past this can produce a receipt: a window that ends before it needs no query.
        let latest_receipt = self.latest_receipts.get(cid).copied().unwrap_or(i64::MIN);
        let mut new = old;
        let mut receipts = Vec::new();
        if let Some((low, high)) = acked {
            let high = high.min(last_ts);
            let after = low.saturating_sub(1).max(old.ack_ts);
            if high > after && latest_receipt > after {
                receipts.extend(
                    self.storage
                        .receipt_messages(cid, after, high, client)?
                        .into_iter()
                        .map(|m| (m, false)),
                );
            }
            new.ack_ts = new.ack_ts.max(high);
        }
        if let Some(read_to) = read_to {
            let read_to = read_to.min(last_ts);
            if read_to > old.read_ts {
                if latest_receipt > old.read_ts {
                    receipts.extend(
                        self.storage
                            .receipt_messages(cid, old.read_ts, read_to, client)?
                            .into_iter()
                            .map(|m| (m, true)),
                    );
                }
                new.read_ts = read_to;
                new.ack_ts = new.ack_ts.max(read_to);
            }
        }
        if new == old {
            return Ok(false);
        }
        if read_to.is_some() {
            self.storage.set_position(&crate::storage::MemberRecord {
                cid: cid.to_owned(),
                client_id: client.to_owned(),
                read_ts: new.read_ts,
                ack_ts: new.ack_ts,
                role: None,
            })?;
        } else {
            // An ack: stored once per member and conversation at the end of the batch (every
            // receiver acks every push, often many in one batch), see `store_positions`.
            self.unstored_positions.note(cid, client);
        }
        if let Some(position) = self
            .convs
            .get_mut(cid)
            .and_then(|conv| conv.members.get_mut(client))
        {
            *position = Position { ..new };
        }
        for (message, read) in receipts {
            let push = Self::push_body(
                CommandType::Rcp,
                None,
                RcpCommand {
                    id: Some(message.id.clone()),
                    cid: Some(cid.to_owned()),
                    t: Some(now),
                    read: Some(read),
                    from: Some(client.to_owned()),
                },
                now,
            );
            self.push_to(&message.from, &push, None);
        }
        Ok(new.read_ts != old.read_ts)
    }

    /// `read`: marks conversations read up to a timestamp or message; the client's other sessions
    /// get the new unread counts.
    pub(super) fn read(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        let read = command.read_message.as_deref().cloned().unwrap_or_default();
        let mut targets: Vec<(String, Option<i64>, Option<String>)> = read
            .convs
            .iter()
            .map(|t| (t.cid.clone(), t.timestamp, t.mid.clone()))
            .collect();
        targets.extend(
            read.cid
                .iter()
                .chain(read.cids.iter())
                .map(|cid| (cid.clone(), None, None)),
        );
        let mut changed = Vec::new();
        for (cid, timestamp, mid) in targets {
            let Some(conv) = self.convs.get(cid.as_str()) else {
                continue;
            };
            let mut read_to = timestamp.unwrap_or(conv.last_ts);
            if let Some(mid) = mid.as_deref() {
                if let Some(message) = self.storage.message(&cid, mid)? {
                    read_to = read_to.max(message.timestamp);
                }
            }
            if self.advance(client, &cid, Some(read_to), None, now)? {
                changed.push(cid);
            }
        }
        if !changed.is_empty() {
            let counts = self.storage.unread_counts(client, i64::MIN)?;
            let convs = changed
                .iter()
                .map(|cid| {
                    let unread = counts.iter().find(|c| &c.cid == cid).map_or(0, |c| c.unread);
                    self.unread_tuple(cid, unread)
                })
                .collect();
            self.push_to(client, &Self::unread_push(convs, now), Some(conn));
        }
        if command.serial().is_some() {
            self.reply(conn, GenericCommand::reply_to(command, CommandType::Read));
        }
        Ok(())
    }

    /// `logs`: a page of history, always ascending.
    pub(super) fn logs(&mut self, conn: ConnId, client: &str, command: &GenericCommand) -> HubResult {
        let logs = command.logs_message.as_deref().cloned().unwrap_or_default();
        let conv = logs
            .cid
            .as_deref()
            .and_then(|cid| self.convs.get(cid))
            .ok_or(Fail::Code(ErrorCode::ConversationNotFound, None))?;
        if !conv.record.transient && !conv.is_member(client) {
            return Err(Fail::Code(ErrorCode::ConversationLogRejected, None));
        }
        let cid = conv.record.id.clone();
        let transient = conv.record.transient;
        // In a two-member conversation, the other member's positions give ackAt/readAt.
        let peer = (conv.members.len() == 2)
            .then(|| conv.members.iter().find(|(id, _)| *id != client))
            .flatten()
            .map(|(_, p)| *p);
        let limit = self.config.logs_page(logs.l.or(logs.limit));
        let mut items = Vec::new();
        if limit > 0 && !transient {
            let start = self.bound_ts(&cid, logs.t, logs.mid.as_deref())?;
            let end = self.bound_ts(&cid, logs.tt, logs.tmid.as_deref())?;
            let bound = |ts: Option<i64>, included: Option<bool>| match ts {
                None => Bound::Unbounded,
                Some(ts) if included == Some(true) => Bound::Included(ts),
                Some(ts) => Bound::Excluded(ts),
            };
            let newer = logs.direction == Some(QueryDirection::New as i32);
            let (lower, upper) = if newer {
                (bound(start, logs.t_included), bound(end, logs.tt_included))
            } else {
                (bound(end, logs.tt_included), bound(start, logs.t_included))
            };
            let messages = self.storage.history(&HistoryQuery {
                cid: cid.clone(),
                lower,
                upper,
                lctype: logs.lctype,
                newest_first: !newer,
                limit,
                // A message with an audience is for it and its sender alone: a service
                // conversation's subscriber sees broadcasts, messages sent to it and its own,
                // never what other subscribers exchanged with the service; a member sees no
                // message sent to others only (REST `to_clients`, `_messageReceived`'s `toPeers`).
                // Filtered by storage, so that a page is still full (the SDKs stop paging at a
                // short one).
                viewer: Some(client.to_owned()),
            })?;
            items = messages
                .iter()
                .map(|m| {
                    let (data, bin) = message_payload(m);
                    let mine = m.from == client;
                    LogItem {
                        from: Some(m.from.clone()),
                        data: Some(data),
                        timestamp: Some(m.timestamp),
                        msg_id: Some(m.id.clone()),
                        ack_at: peer.filter(|p| mine && p.ack_ts >= m.timestamp).map(|p| p.ack_ts),
                        read_at: peer
                            .filter(|p| mine && p.read_ts >= m.timestamp)
                            .map(|p| p.read_ts),
                        patch_timestamp: m.patch_timestamp,
                        mention_all: m.mention_all.then_some(true),
                        mention_pids: m.mention_pids.clone(),
                        bin: bin.then_some(true),
                        conv_type: None,
                    }
                })
                .collect();
        }
        let reply = GenericCommand::reply_to(command, CommandType::Logs).with(LogsCommand {
            logs: items,
            ..Default::default()
        });
        self.reply(conn, reply);
        Ok(())
    }

    /// A history bound: the timestamp, else the timestamp of the message id.
    fn bound_ts(&mut self, cid: &str, t: Option<i64>, mid: Option<&str>) -> HubResult<Option<i64>> {
        if t.is_some() {
            return Ok(t);
        }
        match mid.filter(|m| !m.is_empty()) {
            Some(mid) => Ok(self.storage.message(cid, mid)?.map(|m| m.timestamp)),
            None => Ok(None),
        }
    }
}
