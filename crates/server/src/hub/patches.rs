//! `patch/modify`: editing and recalling sent messages, and replaying edits a client missed
//! (`lastPatchTime` on login).

use std::sync::Arc;

use chinwag_protocol::{CommandType, ErrorCode, GenericCommand, OpType, PatchCommand, PatchItem};

use super::{ConnId, Fail, Hub, HubResult, lctype_of};
use crate::storage::{MessageRecord, Storage};

/// What a recalled message becomes: the SDKs parse it as a `RecalledMessage`.
const RECALLED_CONTENT: &str = r#"{"_lctype":-127}"#;

impl<S: Storage> Hub<S> {
    pub(super) fn patch(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        let items = command
            .patch_message
            .as_ref()
            .map(|p| p.patches.clone())
            .unwrap_or_default();
        // `_messageUpdate` is asked about one message (as the SDKs patch them): several at once
        // would get past it.
        if items.len() > 1 && self.hooks.defined.contains(super::HookName::MessageUpdate) {
            return Err(Fail::Code(
                ErrorCode::MessageUpdateRejectedByApp,
                Some("one message at a time: the app's _messageUpdate hook reviews each".into()),
            ));
        }
        // Check every item before changing anything, so a request applies entirely or not at all.
        let mut edits = Vec::with_capacity(items.len());
        for item in items {
            let conv = item
                .cid
                .as_deref()
                .and_then(|cid| self.convs.get(cid))
                .filter(|conv| conv.is_member(client))
                .ok_or(Fail::Code(ErrorCode::InvalidMessagingTarget, None))?;
            let cid = conv.record.id.clone();
            let mid = item.mid.clone().unwrap_or_default();
            let original = self
                .storage
                .message(&cid, &mid)?
                .ok_or(Fail::Code(ErrorCode::MessageNotFound, None))?;
            if original.from != client {
                return Err(Fail::Code(ErrorCode::MessageOwnershipRequired, None));
            }
            let size =
                item.data.as_ref().map_or(0, String::len) + item.binary_msg.as_ref().map_or(0, Vec::len);
            if size > self.config.max_message_bytes {
                return Err(Fail::Code(ErrorCode::FrameTooLong, None));
            }
            edits.push((item, original));
        }
        let mut last_patch_time = 0;
        for (item, original) in edits {
            let recall = item.recall == Some(true);
            let patched_at = now.max(original.timestamp.saturating_add(1));
            last_patch_time = last_patch_time.max(patched_at);
            let (data, binary) = if recall {
                (Some(RECALLED_CONTENT.to_owned()), None)
            } else if item.binary_msg.is_some() {
                (None, item.binary_msg.clone())
            } else {
                (item.data.clone(), None)
            };
            let updated = MessageRecord {
                lctype: lctype_of(data.as_deref()),
                data,
                binary,
                mention_all: !recall && item.mention_all == Some(true),
                mention_pids: if recall {
                    Vec::new()
                } else {
                    item.mention_pids.clone()
                },
                patch_timestamp: Some(patched_at),
                // The sender's own edit: no server-side reason.
                patch_code: None,
                patch_reason: None,
                ..original
            };
            let push = self.save_patched(&updated, recall, now)?;
            self.fan_out_patch(&updated.cid, Some((client, conn)), &push);
        }
        let reply = GenericCommand::reply_to(command, CommandType::Patch)
            .with_op(OpType::Modified)
            .with(PatchCommand {
                last_patch_time: Some(last_patch_time),
                ..Default::default()
            });
        self.reply(conn, reply);
        Ok(())
    }

    /// Edits (`Some(new content)`) or recalls (`None`) message `mid` of `cid` on behalf of its
    /// sender `from_client` (`PUT /1.2/rtm/conversations/{id}/messages/{mid}[/recall]`): the
    /// message must exist with that `timestamp` (4404) and be `from_client`'s (4403). Every
    /// member's sessions get the `patch/modify` push. `reason` (`patchCode`, `patchReason`) tells
    /// the SDKs why (their `messageupdate`/`messagerecall` events carry it). Returns the patch time.
    #[expect(clippy::too_many_arguments, reason = "the fields of one REST request")]
    pub fn patch_as(
        &mut self,
        cid: &str,
        mid: &str,
        from_client: &str,
        timestamp: i64,
        content: Option<&str>,
        reason: Option<(i64, Option<String>)>,
        now_ms: i64,
    ) -> super::AdminOutcome<i64> {
        self.admin(|hub| {
            if !hub.convs.contains_key(cid) {
                return Err(Fail::Code(ErrorCode::ConversationNotFound, None));
            }
            let original = hub
                .storage
                .message(cid, mid)?
                .filter(|m| m.timestamp == timestamp)
                .ok_or(Fail::Code(ErrorCode::MessageNotFound, None))?;
            if original.from != from_client {
                return Err(Fail::Code(ErrorCode::MessageOwnershipRequired, None));
            }
            if content.map_or(0, str::len) > hub.config.max_message_bytes {
                return Err(Fail::Code(ErrorCode::FrameTooLong, None));
            }
            let recall = content.is_none();
            let patched_at = now_ms.max(original.timestamp.saturating_add(1));
            let data = Some(content.unwrap_or(RECALLED_CONTENT).to_owned());
            let updated = MessageRecord {
                lctype: lctype_of(data.as_deref()),
                data,
                binary: None,
                mention_all: false,
                mention_pids: Vec::new(),
                patch_timestamp: Some(patched_at),
                patch_code: reason.as_ref().map(|(code, _)| *code),
                patch_reason: reason.as_ref().and_then(|(_, detail)| detail.clone()),
                ..original
            };
            let push = hub.save_patched(&updated, recall, now_ms)?;
            hub.fan_out_patch(cid, None, &push);
            Ok(patched_at)
        })
    }

    /// Stores edited (or, with `recall`, recalled) message `updated`, keeps it as its
    /// conversation's last message if it is that, and returns its `patch/modify` push.
    fn save_patched(
        &mut self,
        updated: &MessageRecord,
        recall: bool,
        now: i64,
    ) -> HubResult<Arc<GenericCommand>> {
        self.storage.update_message(updated)?;
        if let Some(conv) = self.convs.get_mut(updated.cid.as_str()) {
            if conv.last.as_ref().is_some_and(|last| *last.id == *updated.id) {
                conv.last = Some(updated.clone().into());
            }
        }
        Ok(Self::push_body(
            CommandType::Patch,
            Some(OpType::Modify),
            PatchCommand {
                patches: vec![patch_item(updated, recall)],
                last_patch_time: updated.patch_timestamp,
            },
            now,
        ))
    }

    /// Every member's sessions get the patch, except the session that made it (`editor`: the
    /// client and its connection; `None` for an edit made through REST).
    fn fan_out_patch(&mut self, cid: &str, editor: Option<(&str, ConnId)>, push: &Arc<GenericCommand>) {
        let members = self
            .convs
            .get(cid)
            .map(super::Conversation::member_ids)
            .unwrap_or_default();
        for member in members {
            let except = editor.and_then(|(client, conn)| (member == client).then_some(conn));
            self.push_to(&member, push, except);
        }
    }

    /// After a login with `lastPatchTime`: the edits and recalls made since then, in one push.
    pub(super) fn push_patches_after_login(
        &mut self,
        conn: ConnId,
        client: &str,
        since: i64,
        now: i64,
    ) -> HubResult {
        let patched = self.storage.patched_since(client, since)?;
        if patched.is_empty() {
            return Ok(());
        }
        let last = patched.iter().filter_map(|m| m.patch_timestamp).max();
        let patches = patched
            .iter()
            .map(|m| patch_item(m, m.data.as_deref() == Some(RECALLED_CONTENT)))
            .collect();
        let push = Self::push_body(
            CommandType::Patch,
            Some(OpType::Modify),
            PatchCommand {
                patches,
                last_patch_time: last,
            },
            now,
        );
        self.push_on(conn, client, push);
        Ok(())
    }
}

fn patch_item(message: &MessageRecord, recall: bool) -> PatchItem {
    PatchItem {
        cid: Some(message.cid.clone()),
        mid: Some(message.id.clone()),
        timestamp: Some(message.timestamp),
        recall: Some(recall),
        data: message.data.clone(),
        binary_msg: message.binary.clone(),
        patch_timestamp: message.patch_timestamp,
        from: Some(message.from.clone()),
        mention_all: Some(message.mention_all),
        mention_pids: message.mention_pids.clone(),
        patch_code: message.patch_code,
        patch_reason: message.patch_reason.clone(),
    }
}
