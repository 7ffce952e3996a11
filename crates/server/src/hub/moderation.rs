//! Moderation by the conversation's owner (its creator) and managers: member roles
//! (`member_info_update`), shut-up (`add_shutup`, `remove_shutup`, `query_shutup`) and the
//! blacklist (`blacklist/block`, `unblock`, `query`), with the pushes of PROTOCOL.md §3.5.

use chinwag_protocol::{
    BlacklistCommand, CommandType, ConvCommand, ErrorCode, ErrorCommand, GenericCommand, OpType,
};

use super::conversations::named_clients;
use super::{ConnId, Conversation, Fail, Hub, HubResult};
use crate::storage::Storage;

impl<S: Storage> Hub<S> {
    /// The conversation `cid` if `client` is its owner or a manager.
    fn owned(&self, cid: Option<&str>, client: &str) -> HubResult<String> {
        let conv = self.conversation(cid)?;
        if !matches!(conv.role_of(client), "Owner" | "Manager") || !conv.is_member(client) {
            return Err(Fail::Code(
                ErrorCode::ConversationNotAllowed,
                Some("only the conversation's owner or a manager may do this".into()),
            ));
        }
        Ok(conv.record.id.clone())
    }

    /// Whether `client` may not be added to `conv` by `added_by`: it is on the conversation's
    /// blacklist, or it blocked the conversation and somebody else adds it (REST
    /// `clients/{id}/blacklists`; `added_by` is empty for the app's backend).
    pub(super) fn kept_out(&self, conv: &Conversation, client: &str, added_by: &str) -> bool {
        conv.record.blocked.iter().any(|id| id == client)
            || (client != added_by && self.client_blocks.blocks(client, &conv.record.id))
    }

    /// Whether `client` may not send into `conv` at `now`: it is on the shut-up list, or shut up
    /// for a while (REST `temporary-silenceds`).
    pub(super) fn may_not_speak(&self, conv: &Conversation, client: &str, now: i64) -> bool {
        conv.record.shutup.iter().any(|id| id == client)
            || self.timed_shutups.silenced(&conv.record.id, client, now)
    }

    /// `member_info_update`: makes a member a `Manager` or a `Member` again.
    pub(super) fn member_info_update(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let cid = self.owned(body.cid.as_deref(), client)?;
        let info = body.info.clone().unwrap_or_default();
        let target = body
            .target_client_id
            .clone()
            .or(info.pid.clone())
            .ok_or(Fail::Code(
                ErrorCode::ConversationNotAllowed,
                Some("no target member".into()),
            ))?;
        let role = info.role.clone().unwrap_or_default();
        if !matches!(role.as_str(), "Manager" | "Member") {
            return Err(Fail::Code(
                ErrorCode::ConversationNotAllowed,
                Some("the role must be Manager or Member".into()),
            ));
        }
        let Some(conv) = self.convs.get_mut(cid.as_str()) else {
            return Err(Fail::Code(ErrorCode::ConversationNotFound, None));
        };
        if !conv.members.contains_key(&target) {
            return Err(Fail::Code(ErrorCode::ConversationMembershipRequired, None));
        }
        if target == conv.record.creator {
            return Err(Fail::Code(
                ErrorCode::ConversationNotAllowed,
                Some("the owner's role cannot change".into()),
            ));
        }
        let stored = (role == "Manager").then_some(role.as_str());
        match stored {
            Some(role) => conv.roles.insert(target.clone(), role.to_owned()),
            None => conv.roles.remove(&target),
        };
        self.storage.set_role(&cid, &target, stored)?;
        let reply = GenericCommand::reply_to(command, CommandType::Conv)
            .with_op(OpType::MemberInfoUpdated)
            .with(ConvCommand {
                cid: Some(cid.clone()),
                ..Default::default()
            });
        self.reply(conn, reply);
        let push = Self::conv_event(
            OpType::MemberInfoChanged,
            ConvCommand {
                cid: Some(cid.clone()),
                init_by: Some(client.to_owned()),
                info: Some(chinwag_protocol::ConvMemberInfo {
                    pid: Some(target),
                    role: Some(role),
                    info_id: None,
                }),
                ..Default::default()
            },
            now,
        );
        for member in self.members_and(&cid, client) {
            self.notify(&member, &push, now)?;
        }
        Ok(())
    }

    pub(super) fn shutup(
        &mut self,
        conn: ConnId,
        client: &str,
        op: OpType,
        command: &GenericCommand,
        body: ConvCommand,
        now: i64,
    ) -> HubResult {
        let cid = self.owned(body.cid.as_deref(), client)?;
        let Some(conv) = self.convs.get_mut(cid.as_str()) else {
            return Err(Fail::Code(ErrorCode::ConversationNotFound, None));
        };
        if op == OpType::QueryShutup {
            let limit = body
                .limit
                .and_then(|l| usize::try_from(l).ok())
                .filter(|l| *l > 0);
            let listed = conv
                .record
                .shutup
                .iter()
                .take(limit.unwrap_or(usize::MAX))
                .cloned()
                .collect();
            let reply = GenericCommand::reply_to(command, CommandType::Conv)
                .with_op(OpType::ShutupResult)
                .with(ConvCommand {
                    m: listed,
                    ..Default::default()
                });
            self.reply(conn, reply);
            return Ok(());
        }
        let adding = op == OpType::AddShutup;
        let (allowed, failed): (Vec<String>, Vec<String>) = named_clients(&body.m)
            .into_iter()
            // The owner cannot be silenced.
            .partition(|id| conv.members.contains_key(id) && *id != conv.record.creator);
        for id in &allowed {
            let listed = conv.record.shutup.contains(id);
            if adding && !listed {
                conv.record.shutup.push(id.clone());
            } else if !adding && listed {
                conv.record.shutup.retain(|m| m != id);
            }
        }
        conv.record.updated_at = now;
        let record = conv.record.clone();
        self.storage.save_conversation(&record)?;
        let reply = GenericCommand::reply_to(command, CommandType::Conv)
            .with_op(if adding {
                OpType::ShutupAdded
            } else {
                OpType::ShutupRemoved
            })
            .with(ConvCommand {
                cid: Some(cid.clone()),
                allowed_pids: allowed.clone(),
                failed_pids: failure(ErrorCode::ConversationMembershipRequired, failed),
                ..Default::default()
            });
        self.reply(conn, reply);
        let changed = self.without_timed_shutups(&cid, allowed, now);
        self.push_shutup_change(&cid, client, &changed, adding, now)
    }

    /// Tells of `targets` silenced (`silencing`) or let speak again in `cid` by `initiator`:
    /// they hear `shutuped` / `unshutuped`, the others `members_shutuped` / `members_unshutuped`.
    pub(super) fn push_shutup_change(
        &mut self,
        cid: &str,
        initiator: &str,
        targets: &[String],
        silencing: bool,
        now: i64,
    ) -> HubResult {
        let (target_op, members_op) = if silencing {
            (OpType::Shutuped, OpType::MembersShutuped)
        } else {
            (OpType::Unshutuped, OpType::MembersUnshutuped)
        };
        self.push_moderation(cid, initiator, targets, target_op, members_op, now)
    }

    /// Tells of `targets` blocked (`blocking`) or unblocked in `cid` by `initiator`: they hear
    /// `blocked` / `unblocked`, the others `members_blocked` / `members_unblocked`.
    pub(super) fn push_blacklist_change(
        &mut self,
        cid: &str,
        initiator: &str,
        targets: &[String],
        blocking: bool,
        now: i64,
    ) -> HubResult {
        let (target_op, members_op) = if blocking {
            (OpType::Blocked, OpType::MembersBlocked)
        } else {
            (OpType::Unblocked, OpType::MembersUnblocked)
        };
        self.push_moderation(cid, initiator, targets, target_op, members_op, now)
    }

    /// `targets` get `target_op`; every other member and the initiator get `members_op` with `m`.
    pub(super) fn push_moderation(
        &mut self,
        cid: &str,
        initiator: &str,
        targets: &[String],
        target_op: OpType,
        members_op: OpType,
        now: i64,
    ) -> HubResult {
        if targets.is_empty() {
            return Ok(());
        }
        let to_target = Self::membership_event(target_op, cid, initiator, Vec::new(), now);
        let to_members = Self::membership_event(members_op, cid, initiator, targets.to_vec(), now);
        for id in targets {
            self.notify(id, &to_target, now)?;
        }
        for id in self.members_and(cid, initiator) {
            if !targets.contains(&id) {
                self.notify(&id, &to_members, now)?;
            }
        }
        Ok(())
    }

    pub(super) fn blacklist(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        let body = command.blacklist_message.as_deref().cloned().unwrap_or_default();
        let cid = self.owned(body.src_cid.as_deref(), client)?;
        let op = command.op_type();
        if op == Some(OpType::Query) {
            let blocked = self
                .convs
                .get(cid.as_str())
                .map(|c| c.record.blocked.clone())
                .unwrap_or_default();
            let reply = GenericCommand::reply_to(command, CommandType::Blacklist)
                .with_op(OpType::QueryResult)
                .with(BlacklistCommand {
                    src_cid: Some(cid),
                    blocked_pids: blocked,
                    ..Default::default()
                });
            self.reply(conn, reply);
            return Ok(());
        }
        let blocking = match op {
            Some(OpType::Block) => true,
            Some(OpType::Unblock) => false,
            _ => {
                return Err(Fail::Code(
                    ErrorCode::InternalError,
                    Some("unknown blacklist operation".into()),
                ));
            }
        };
        // Signed like an invite/kick, with `conversation-block-clients` /
        // `conversation-unblock-clients` as the action (PROTOCOL.md §3.14); 4.3.1 handed the
        // signature factory the client and conversation ids swapped, so that order passes too.
        let action = if blocking {
            "conversation-block-clients"
        } else {
            "conversation-unblock-clients"
        };
        let sig = (body.s.as_deref(), body.t, body.n.as_deref());
        let app_id = self.app_of(conn, client);
        let swapped = self.signed(sig.0, sig.1, sig.2, now, |t, n| {
            crate::signature::membership_message(&app_id, &cid, client, &body.to_pids, t, n, action)
        });
        if !swapped && !self.membership_signed(conn, &body.to_pids, sig, (client, &cid), &[action], now) {
            return Err(Fail::Code(ErrorCode::ConversationSignatureFailed, None));
        }
        // Nobody blocks themselves or the owner.
        let creator = self
            .convs
            .get(cid.as_str())
            .map(|c| c.record.creator.clone())
            .unwrap_or_default();
        let targets: Vec<String> = named_clients(&body.to_pids)
            .into_iter()
            .filter(|id| id != client && *id != creator)
            .collect();
        // Blocking also removes: the blocked get `left` (KICKED), the rest `members_left`.
        let removed = self.change_blocked(&cid, &targets, blocking, now)?;
        let reply = GenericCommand::reply_to(command, CommandType::Blacklist)
            .with_op(if blocking {
                OpType::Blocked
            } else {
                OpType::Unblocked
            })
            .with(BlacklistCommand {
                src_cid: Some(cid.clone()),
                allowed_pids: targets.clone(),
                ..Default::default()
            });
        self.reply(conn, reply);
        self.push_left(&cid, client, &removed, now)?;
        self.push_blacklist_change(&cid, client, &targets, blocking, now)
    }

    /// Puts `targets` on conversation `cid`'s blacklist (`block`) or takes them off, stored; the
    /// blocked members leave it (a chat room's: the room). Returns who left, for the pushes. The
    /// client's `blacklist` command and the REST blacklist both go through here.
    pub(super) fn change_blocked(
        &mut self,
        cid: &str,
        targets: &[String],
        block: bool,
        now: i64,
    ) -> HubResult<Vec<String>> {
        let Some(conv) = self.convs.get_mut(cid) else {
            return Ok(Vec::new());
        };
        for id in targets {
            let listed = conv.record.blocked.contains(id);
            if block && !listed {
                conv.record.blocked.push(id.clone());
            } else if !block && listed {
                conv.record.blocked.retain(|b| b != id);
            }
        }
        let record = conv.record.clone();
        self.storage.save_conversation(&record)?;
        // In a chat room the members are the clients in the room (`is_member`).
        let removed: Vec<String> = if block {
            targets.iter().filter(|id| conv.is_member(id)).cloned().collect()
        } else {
            Vec::new()
        };
        if record.transient {
            self.leave_room(cid, &removed, now)?;
        } else {
            self.drop_members(cid, &removed, now)?;
        }
        Ok(removed)
    }
}

/// The `failedPids` entry for `pids`, if any.
pub(super) fn failure(code: ErrorCode, pids: Vec<String>) -> Vec<ErrorCommand> {
    if pids.is_empty() {
        return Vec::new();
    }
    let mut error = code.to_command(None);
    error.pids = pids;
    vec![error]
}
