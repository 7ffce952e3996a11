//! Plain data in and out of the engine as JSON, the shape the JS layer (`js/index.js`) reads.
//!
//! Only shape conversion lives here: field renames to the JS SDK's names, and reading option objects.
//! It compiles on every target, so the host's clippy and tests check it.

use base64::Engine as _;
use chinwag_core::{
    Conversation, ConversationKind, ConversationQuery, CreateConversation, DisconnectReason, Event,
    HistoryQuery, MemberOp, Message, MessageContent, MessageStatus, RequestError, Response, SendOptions,
    Signature,
};
use serde_json::{Map, Value, json};

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A message as `{id, cid, from, timestamp, content | text | bin, status, ...}`.
pub fn message_json(m: &Message) -> Value {
    let mut out = json!({
        "id": m.id,
        "clientId": m.client_id,
        "cid": m.conversation,
        "from": m.from,
        "timestamp": m.timestamp,
        "updatedAt": m.updated_at,
        "status": match m.status {
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        },
        "mentionList": m.mentions,
        "mentionedAll": m.mention_all,
        "mentioned": m.mentioned,
        "transient": m.transient,
        "deliveredAt": m.delivered_at,
        "readAt": m.read_at,
    });
    let (key, value) = match &m.content {
        MessageContent::Typed(typed) => ("content", serde_json::to_value(typed).unwrap_or(Value::Null)),
        MessageContent::Text(text) => ("text", Value::String(text.clone())),
        MessageContent::Binary(bytes) => ("bin", Value::String(b64().encode(bytes))),
    };
    if let Value::Object(map) = &mut out {
        map.insert(key.into(), value);
    }
    out
}

/// A cached conversation with the JS SDK's property names.
pub fn conversation_json(c: &Conversation) -> Value {
    json!({
        "id": c.id,
        "kind": match c.kind {
            ConversationKind::Normal => "normal",
            ConversationKind::ChatRoom => "chatroom",
            ConversationKind::Service => "service",
            ConversationKind::Temporary => "temporary",
        },
        "members": c.members,
        "name": c.name,
        "creator": c.creator,
        "mutedMembers": c.muted_members,
        "createdAt": c.created_at,
        "updatedAt": c.updated_at,
        "attributes": c.attributes,
        "lastMessage": c.last_message.as_ref().map(message_json),
        "lastMessageAt": c.last_message_at,
        "unreadMessagesCount": c.unread,
        "unreadMessagesMentioned": c.unread_mentioned,
        "lastDeliveredAt": c.last_delivered_at,
        "lastReadAt": c.last_read_at,
        "ttl": c.ttl,
    })
}

/// An error as `{code, name, message, detail?}` (`name` is the server's symbolic reason).
pub fn error_json(error: &RequestError) -> Value {
    let (code, name) = match error {
        RequestError::Server(e) => {
            return json!({
                "code": e.code,
                "name": e.reason,
                "message": error.to_string(),
                "detail": e.detail,
                "appCode": e.app_code,
                "appMessage": e.app_message,
            });
        }
        RequestError::Timeout => (4107, "TIMEOUT"),
        RequestError::ConnectionLost => (1006, "CONNECTION_LOST"),
        RequestError::ConnectionClosed => (1000, "CONNECTION_CLOSED"),
        RequestError::NoSuchClient => (4105, "SESSION_REQUIRED"),
        RequestError::AlreadyOpen => (0, "ALREADY_OPEN"),
        RequestError::QueueFull => (0, "QUEUE_FULL"),
        RequestError::ClientClosed => (4105, "CLIENT_CLOSED"),
        RequestError::Invalid(text) => {
            // The engine writes local refusals as "<code> <NAME>" when they have a protocol code.
            let mut parts = text.splitn(2, ' ');
            let head = parts.next().unwrap_or_default();
            let (code, name) = match (head.parse::<i64>(), parts.next()) {
                (Ok(code), Some(name)) => (code, name.to_owned()),
                _ => (0, "INVALID_REQUEST".to_owned()),
            };
            return json!({"code": code, "name": name, "message": error.to_string()});
        }
    };
    json!({"code": code, "name": name, "message": error.to_string()})
}

fn response_json(response: Response) -> Value {
    match response {
        Response::Opened | Response::Closed | Response::Done => Value::Null,
        Response::Created(c) => json!({"conversation": conversation_json(&c)}),
        Response::Conversations(list) => {
            json!({"conversations": list.iter().map(conversation_json).collect::<Vec<_>>()})
        }
        Response::Sent(m) | Response::Patched(m) => json!({"message": message_json(&m)}),
        Response::History(list) => json!({"messages": list.iter().map(message_json).collect::<Vec<_>>()}),
        Response::Partial { succeeded, failed } => json!({
            "successfulClientIds": succeeded,
            "failures": failed.iter().map(|f| json!({
                "clientIds": f.client_ids, "code": f.error.code, "name": f.error.reason,
                "message": f.error.to_string(),
            })).collect::<Vec<_>>(),
        }),
        Response::Count(n) => json!({"count": n}),
        Response::Updated { updated_at } => json!({"updatedAt": updated_at}),
        Response::Online(ids) => json!({"online": ids}),
        Response::ReceiptTimestamps { max_read, max_ack } => {
            json!({"lastReadAt": max_read, "lastDeliveredAt": max_ack})
        }
        Response::MemberReceipts(list) => json!({"receipts": list.iter().map(|r| json!({
            "client": r.client, "lastDeliveredAt": r.max_ack, "lastReadAt": r.max_read,
        })).collect::<Vec<_>>()}),
        Response::Members { members, next } => json!({"results": members, "next": next}),
    }
}

fn by(key: &str, who: Option<String>) -> Value {
    json!({ key: who })
}

fn members_by(members: Vec<String>, key: &str, who: Option<String>) -> Value {
    json!({ "members": members, key: who })
}

/// An engine event as `{type, client?, cid?, payload?, ...}`; `type` is the JS SDK's event name
/// where there is one.
pub fn event_json(event: Event) -> Value {
    match event {
        Event::Response {
            client,
            request,
            result,
        } => match result {
            Ok(response) => {
                json!({"type": "response", "client": client, "request": request.0, "ok": response_json(response)})
            }
            Err(error) => {
                json!({"type": "response", "client": client, "request": request.0, "error": error_json(&error)})
            }
        },
        Event::Connected => json!({"type": "connected"}),
        Event::Disconnected { reason } => json!({"type": "disconnect", "reason": match reason {
            DisconnectReason::Closed(code) => json!({"closed": code}),
            DisconnectReason::Dead => json!("dead"),
            DisconnectReason::Goaway => json!("goaway"),
            DisconnectReason::Offline => json!("offline"),
            DisconnectReason::LoginTimeout => json!("logintimeout"),
        }}),
        Event::Reconnecting { attempt, delay } => {
            json!({"type": "schedule", "attempt": attempt, "delay": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)})
        }
        Event::Offline => json!({"type": "offline"}),
        Event::Online => json!({"type": "online"}),
        Event::ConnectionFailed { code } => json!({"type": "connectionfailed", "code": code}),
        Event::Reconnected { client } => json!({"type": "reconnect", "client": client}),
        Event::ReconnectFailed { client, error } => {
            json!({"type": "reconnecterror", "client": client, "error": error_json(&error)})
        }
        Event::Conflict { client, reason } => {
            json!({"type": "conflict", "client": client, "payload": {"reason": reason}})
        }
        Event::Closed { client, code, reason } => {
            json!({"type": "close", "client": client, "payload": {"code": code, "reason": reason}})
        }
        Event::Message { client, message } => {
            json!({"type": "message", "client": client, "cid": message.conversation, "message": message_json(&message)})
        }
        Event::MessageRecalled {
            client,
            message,
            reason,
        } => patch_json("messagerecall", client, &message, reason),
        Event::MessageUpdated {
            client,
            message,
            reason,
        } => patch_json("messageupdate", client, &message, reason),
        Event::MessageStatusChanged {
            client,
            conversation,
            message_id,
            status,
            at,
        } => json!({"type": "receipt", "client": client, "cid": conversation, "messageId": message_id,
            "status": if status == MessageStatus::Read { "read" } else { "delivered" }, "at": at}),
        Event::UnreadCountUpdated {
            client,
            conversations,
        } => json!({"type": "unreadmessagescountupdate", "client": client,
            "cids": conversations.into_iter().map(|(cid, ..)| cid).collect::<Vec<_>>()}),
        Event::LastDeliveredAt {
            client,
            conversation,
            at,
        } => json!({"type": "lastdeliveredatupdate", "client": client, "cid": conversation, "at": at}),
        Event::LastReadAt {
            client,
            conversation,
            at,
        } => json!({"type": "lastreadatupdate", "client": client, "cid": conversation, "at": at}),
        Event::Invited {
            client,
            conversation,
            invited_by,
        } => conv_event("invited", client, conversation, by("invitedBy", invited_by)),
        Event::Kicked {
            client,
            conversation,
            kicked_by,
        } => conv_event("kicked", client, conversation, by("kickedBy", kicked_by)),
        Event::MembersJoined {
            client,
            conversation,
            members,
            invited_by,
        } => conv_event(
            "membersjoined",
            client,
            conversation,
            members_by(members, "invitedBy", invited_by),
        ),
        Event::MembersLeft {
            client,
            conversation,
            members,
            kicked_by,
        } => conv_event(
            "membersleft",
            client,
            conversation,
            members_by(members, "kickedBy", kicked_by),
        ),
        Event::MembersBlocked {
            client,
            conversation,
            members,
            blocked_by,
        } => conv_event(
            "membersblocked",
            client,
            conversation,
            members_by(members, "blockedBy", blocked_by),
        ),
        Event::MembersUnblocked {
            client,
            conversation,
            members,
            unblocked_by,
        } => conv_event(
            "membersunblocked",
            client,
            conversation,
            members_by(members, "unblockedBy", unblocked_by),
        ),
        Event::Blocked {
            client,
            conversation,
            blocked_by,
        } => conv_event("blocked", client, conversation, by("blockedBy", blocked_by)),
        Event::Unblocked {
            client,
            conversation,
            unblocked_by,
        } => conv_event("unblocked", client, conversation, by("unblockedBy", unblocked_by)),
        Event::MembersMuted {
            client,
            conversation,
            members,
            muted_by,
        } => conv_event(
            "membersmuted",
            client,
            conversation,
            members_by(members, "mutedBy", muted_by),
        ),
        Event::MembersUnmuted {
            client,
            conversation,
            members,
            unmuted_by,
        } => conv_event(
            "membersunmuted",
            client,
            conversation,
            members_by(members, "unmutedBy", unmuted_by),
        ),
        Event::Muted {
            client,
            conversation,
            muted_by,
        } => conv_event("muted", client, conversation, by("mutedBy", muted_by)),
        Event::Unmuted {
            client,
            conversation,
            unmuted_by,
        } => conv_event("unmuted", client, conversation, by("unmutedBy", unmuted_by)),
        Event::MemberInfoUpdated {
            client,
            conversation,
            member,
            role,
            updated_by,
        } => conv_event(
            "memberinfoupdated",
            client,
            conversation,
            json!({"member": member, "role": role, "updatedBy": updated_by}),
        ),
        Event::InfoUpdated {
            client,
            conversation,
            attributes,
            updated_by,
        } => conv_event(
            "conversationinfoupdated",
            client,
            conversation,
            json!({"attributes": attributes, "updatedBy": updated_by}),
        ),
        Event::Unhandled { client, cmd, op } => {
            json!({"type": "unhandledmessage", "client": client, "payload": {"cmd": cmd, "op": op}})
        }
    }
}

fn conv_event(kind: &str, client: String, cid: String, payload: Value) -> Value {
    json!({"type": kind, "client": client, "cid": cid, "payload": payload})
}

fn patch_json(kind: &str, client: String, message: &Message, reason: Option<(i64, String)>) -> Value {
    json!({"type": kind, "client": client, "cid": message.conversation, "message": message_json(message),
        "reason": reason.map(|(code, reason)| json!({"code": code, "reason": reason}))})
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn int(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_i64)
}

fn int32(value: Option<&Value>) -> Option<i32> {
    int(value).and_then(|n| i32::try_from(n).ok())
}

fn flag(value: Option<&Value>) -> bool {
    value.and_then(Value::as_bool).unwrap_or(false)
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// `{members, name, unique, transient, ttl, attributes}` → a conv/start request.
pub fn create_options(v: &Value) -> CreateConversation {
    let mut create = CreateConversation::with_members(string_list(v.get("members")));
    create.name = text(v.get("name"));
    create.unique = v.get("unique").and_then(Value::as_bool).unwrap_or(true);
    create.transient = flag(v.get("transient"));
    create.temporary_ttl = int32(v.get("ttl"));
    if let Some(Value::Object(attrs)) = v.get("attributes") {
        create.attributes = attrs.clone();
    }
    if create.transient {
        create.unique = false;
    }
    create.signature = v.get("signature").and_then(signature);
    create
}

/// `{signature, timestamp, nonce}` as the official SDK's signature factories return it.
pub fn signature(v: &Value) -> Option<Signature> {
    Some(Signature {
        signature: text(v.get("signature"))?,
        timestamp: int(v.get("timestamp"))?,
        nonce: text(v.get("nonce"))?,
    })
}

/// The JS layer's name of a membership operation.
pub fn member_op(op: &str) -> Option<MemberOp> {
    Some(match op {
        "add" => MemberOp::Add,
        "remove" => MemberOp::Remove,
        "mute" => MemberOp::Shutup,
        "unmute" => MemberOp::Unshutup,
        "block" => MemberOp::Block,
        "unblock" => MemberOp::Unblock,
        _ => return None,
    })
}

/// `{where, sort: [..], limit, skip, compact, withLastMessagesRefreshed}` → a conv/query.
pub fn query(v: &Value) -> ConversationQuery {
    let mut query = ConversationQuery::new();
    if let Some(Value::Object(conditions)) = v.get("where") {
        for (key, value) in conditions {
            query = query.equal_to(key, value.clone());
        }
    }
    for key in string_list(v.get("sort")) {
        query = match key.strip_prefix('-') {
            Some(key) => query.add_descending(key),
            None => query.add_ascending(&key),
        };
    }
    if let Some(limit) = int32(v.get("limit")) {
        query = query.limit(limit);
    }
    if let Some(skip) = int32(v.get("skip")) {
        query = query.skip(skip);
    }
    query
        .compact(flag(v.get("compact")))
        .with_last_messages_refreshed(flag(v.get("withLastMessagesRefreshed")))
}

/// The JS `queryMessages` options → a logs request.
pub fn history(v: &Value) -> HistoryQuery {
    HistoryQuery {
        start_time: int(v.get("startTime")),
        start_message_id: text(v.get("startMessageId")),
        start_closed: flag(v.get("startClosed")),
        end_time: int(v.get("endTime")),
        end_message_id: text(v.get("endMessageId")),
        end_closed: flag(v.get("endClosed")),
        limit: int32(v.get("limit")),
        kind: int32(v.get("type")),
        // MessageQueryDirection: NEW_TO_OLD = 1, OLD_TO_NEW = 2.
        forward: int(v.get("direction")).map(|d| d == 2),
    }
}

/// The JS `send` options.
pub fn send_options(v: &Value) -> SendOptions {
    SendOptions {
        transient: flag(v.get("transient")),
        will: flag(v.get("will")),
        receipt: flag(v.get("receipt")),
        priority: int32(v.get("priority")),
        push_data: v.get("pushData").filter(|p| !p.is_null()).cloned(),
        mentions: string_list(v.get("mentionList")),
        mention_all: flag(v.get("mentionedAll")),
    }
}

/// A payload: `{data: "<typed JSON or text>"}` or `{bin: "<base64>"}`.
pub fn content(v: &Value) -> MessageContent {
    if let Some(bytes) = v
        .get("bin")
        .and_then(Value::as_str)
        .and_then(|s| b64().decode(s).ok())
    {
        return MessageContent::Binary(bytes);
    }
    MessageContent::parse(v.get("data").and_then(Value::as_str).unwrap_or_default())
}

/// A sent message as the JS layer knows it (`{id, cid, from, timestamp, mentionList, ...}` plus its
/// payload), for recall and edit.
pub fn message(v: &Value) -> Message {
    let mut message = Message {
        id: text(v.get("id")),
        client_id: None,
        conversation: text(v.get("cid")).unwrap_or_default(),
        from: text(v.get("from")).unwrap_or_default(),
        timestamp: int(v.get("timestamp")).unwrap_or_default(),
        updated_at: None,
        content: content(v),
        status: MessageStatus::Sent,
        mentions: string_list(v.get("mentionList")),
        mention_all: flag(v.get("mentionedAll")),
        mentioned: false,
        transient: false,
        delivered_at: None,
        read_at: None,
    };
    message.updated_at = int(v.get("updatedAt"));
    message
}

/// Attributes of `update`: a JSON object.
pub fn attributes(v: &Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips_conditions_and_sort() {
        let q = query(&json!({"where": {"m": {"$all": ["Jerry"]}}, "sort": ["-lm"], "limit": 5}));
        assert_eq!(q.where_json(), r#"{"m":{"$all":["Jerry"]}}"#);
        assert_eq!(q.sort().as_deref(), Some("-lm"));
        assert_eq!(q.limit_value(), Some(5));
    }

    #[test]
    fn errors_carry_code_and_name() {
        let e = error_json(&RequestError::Invalid("5130 OWNER_PROMOTION_NOT_ALLOWED".into()));
        assert_eq!(e["code"], 5130);
        assert_eq!(e["name"], "OWNER_PROMOTION_NOT_ALLOWED");
        assert_eq!(error_json(&RequestError::Timeout)["name"], "TIMEOUT");
    }

    #[test]
    fn signatures_need_all_three_fields() {
        let full = json!({"signature": "abc", "timestamp": 1_700_000_000, "nonce": "n1"});
        let sig = signature(&full).expect("complete signature");
        assert_eq!(
            (sig.signature.as_str(), sig.timestamp, sig.nonce.as_str()),
            ("abc", 1_700_000_000, "n1")
        );
        assert_eq!(signature(&json!({"signature": "abc", "nonce": "n1"})), None);
        let create = create_options(&json!({"members": ["Jerry"], "signature": full}));
        assert_eq!(create.signature, Some(sig));
        assert_eq!(member_op("block"), Some(MemberOp::Block));
        assert_eq!(member_op("mute"), Some(MemberOp::Shutup));
        assert_eq!(member_op("shout"), None);
    }

    #[test]
    fn typed_content_is_an_object() {
        let c = content(&json!({"data": r#"{"_lctype":-1,"_lctext":"hi"}"#}));
        let m = Message {
            id: Some("m1".into()),
            client_id: None,
            conversation: "c".into(),
            from: "Tom".into(),
            timestamp: 1,
            updated_at: None,
            content: c,
            status: MessageStatus::Sent,
            mentions: vec![],
            mention_all: false,
            mentioned: false,
            transient: false,
            delivered_at: None,
            read_at: None,
        };
        assert_eq!(message_json(&m)["content"]["_lctext"], "hi");
    }
}
