//! Plain data in and out of the engine as JSON, the shape the JS layer (`js/api.js`) reads.
//!
//! Only shape conversion lives here: field renames to the JS SDK's names, and reading option objects.
//! Output is written as JSON text in place ([`JsonWriter`]); input options are parsed `Value`s.
//! It compiles on every target, so the host's clippy and tests check it.

use chinwag_core::json::{Map, Value};
use chinwag_core::{
    Conversation, ConversationKind, ConversationQuery, CreateConversation, DisconnectReason, Engine, Event,
    HistoryQuery, MemberOp, Message, MessageContent, MessageStatus, RequestError, Response, SendOptions,
    Signature,
};
use chinwag_protocol::base64;

use crate::json::JsonWriter;

/// Writes a message as `{id, cid, from, timestamp, content | text | bin, status, ...}`.
pub fn write_message(j: &mut JsonWriter, m: &Message) {
    j.begin_object()
        .key("id")
        .opt_string(m.id.as_deref())
        .key("clientId")
        .opt_string(m.client_id.as_deref())
        .key("cid")
        .string(&m.conversation)
        .key("from")
        .string(&m.from)
        .key("timestamp")
        .int(m.timestamp)
        .key("updatedAt")
        .opt_int(m.updated_at)
        .key("status")
        .string(match m.status {
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        })
        .key("mentionList")
        .strings(&m.mentions)
        .key("mentionedAll")
        .bool(m.mention_all)
        .key("mentioned")
        .bool(m.mentioned)
        .key("transient")
        .bool(m.transient)
        .key("deliveredAt")
        .opt_int(m.delivered_at)
        .key("readAt")
        .opt_int(m.read_at);
    match &m.content {
        // Payloads cross as their wire text; the JS layer reads typed ones with `JSON.parse` (the
        // core reads none in this build: see chinwag-core's `typed-content` feature).
        MessageContent::Typed(typed) => j.key("text").string(&typed.to_json()),
        MessageContent::Text(text) => j.key("text").string(text),
        MessageContent::Binary(bytes) => j.key("bin").string(&base64::encode(bytes)),
    };
    j.end_object();
}

/// Writes a cached conversation with the JS SDK's property names.
pub fn write_conversation(j: &mut JsonWriter, c: &Conversation) {
    j.begin_object()
        .key("id")
        .string(&c.id)
        .key("kind")
        .string(match c.kind {
            ConversationKind::Normal => "normal",
            ConversationKind::ChatRoom => "chatroom",
            ConversationKind::Service => "service",
            ConversationKind::Temporary => "temporary",
        })
        .key("members")
        .strings(&c.members)
        .key("name")
        .opt_string(c.name.as_deref())
        .key("creator")
        .opt_string(c.creator.as_deref())
        .key("mutedMembers")
        .strings(&c.muted_members)
        .key("createdAt")
        .opt_string(c.created_at.as_deref())
        .key("updatedAt")
        .opt_string(c.updated_at.as_deref())
        .key("attributes")
        .object(&c.attributes)
        .key("lastMessage");
    match &c.last_message {
        Some(m) => write_message(j, m),
        None => {
            j.null();
        }
    }
    j.key("lastMessageAt")
        .opt_int(c.last_message_at)
        .key("unreadMessagesCount")
        .int(i64::from(c.unread))
        .key("unreadMessagesMentioned")
        .bool(c.unread_mentioned)
        .key("lastDeliveredAt")
        .opt_int(c.last_delivered_at)
        .key("lastReadAt")
        .opt_int(c.last_read_at)
        .key("ttl")
        .opt_int(c.ttl)
        .end_object();
}

/// A cached conversation as JSON text (see [`write_conversation`]).
pub fn conversation_json(c: &Conversation) -> String {
    let mut j = JsonWriter::new();
    write_conversation(&mut j, c);
    j.finish()
}

/// Writes what a message can change in a cached conversation, `{cid, unreadMessagesCount,
/// unreadMessagesMentioned, lastMessageAt, lastMessageId, lastMessageUpdatedAt}`, or null when the
/// engine does not know the conversation. The JS layer patches its conversation object with this
/// instead of re-reading the whole snapshot for every message.
fn write_conversation_state(j: &mut JsonWriter, engine: &Engine, client: &str, cid: &str) {
    let Some(c) = engine.conversation(client, cid) else {
        j.null();
        return;
    };
    let last = c.last_message.as_ref();
    j.begin_object()
        .key("cid")
        .string(cid)
        .key("unreadMessagesCount")
        .int(i64::from(c.unread))
        .key("unreadMessagesMentioned")
        .bool(c.unread_mentioned)
        .key("lastMessageAt")
        .opt_int(c.last_message_at)
        .key("lastMessageId")
        .opt_string(last.and_then(|m| m.id.as_deref()))
        .key("lastMessageUpdatedAt")
        .opt_int(last.and_then(|m| m.updated_at))
        .end_object();
}

/// Writes an error as `{code, name, message?, detail?, ...}`. A server error's `name` is the
/// server's symbolic reason as sent (possibly empty) and it has no `message`: the JS layer names a
/// known code from its `ErrorCode` table and writes the message, so the wasm carries no table of
/// error names.
pub fn write_error(j: &mut JsonWriter, error: &RequestError) {
    let (code, name) = match error {
        RequestError::Server(e) => {
            j.begin_object()
                .key("code")
                .int(i64::from(e.code))
                .key("name")
                .string(&e.reason)
                .key("detail")
                .opt_string(e.detail.as_deref())
                .key("appCode")
                .opt_int(e.app_code.map(i64::from))
                .key("appMessage")
                .opt_string(e.app_message.as_deref())
                .end_object();
            return;
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
            text.split_once(' ')
                .and_then(|(code, name)| Some((code.parse::<i64>().ok()?, name)))
                .unwrap_or((0, "INVALID_REQUEST"))
        }
    };
    // Not `RequestError::message`: it also formats server errors, which would bring the table of
    // error names into the wasm.
    let (words, detail) = error.local_words().unwrap_or_default();
    j.begin_object()
        .key("code")
        .int(code)
        .key("name")
        .string(name)
        .key("message")
        .string(&[words, detail].concat())
        .end_object();
}

fn write_response(j: &mut JsonWriter, response: &Response) {
    match response {
        Response::Opened | Response::Closed | Response::Done => {
            j.null();
        }
        Response::Created(c) => {
            j.begin_object().key("conversation");
            write_conversation(j, c);
            j.end_object();
        }
        Response::Conversations(list) => {
            j.begin_object().key("conversations").begin_array();
            for c in list {
                write_conversation(j, c);
            }
            j.end_array().end_object();
        }
        Response::Sent(m) | Response::Patched(m) => {
            j.begin_object().key("message");
            write_message(j, m);
            j.end_object();
        }
        Response::History(list) => {
            j.begin_object().key("messages").begin_array();
            for m in list {
                write_message(j, m);
            }
            j.end_array().end_object();
        }
        Response::Partial { succeeded, failed } => {
            j.begin_object()
                .key("successfulClientIds")
                .strings(succeeded)
                .key("failures")
                .begin_array();
            for f in failed {
                j.begin_object()
                    .key("clientIds")
                    .strings(&f.client_ids)
                    .key("code")
                    .int(i64::from(f.error.code))
                    .key("name")
                    .string(&f.error.reason)
                    .key("detail")
                    .opt_string(f.error.detail.as_deref())
                    .end_object();
            }
            j.end_array().end_object();
        }
        Response::SessionToken(token) => {
            j.begin_object().key("sessionToken").string(token).end_object();
        }
        Response::Count(n) => {
            j.begin_object().key("count").int(*n).end_object();
        }
        Response::Updated { updated_at } => {
            j.begin_object()
                .key("updatedAt")
                .opt_string(updated_at.as_deref())
                .end_object();
        }
        Response::Online(ids) => {
            j.begin_object().key("online").strings(ids).end_object();
        }
        Response::ReceiptTimestamps { max_read, max_ack } => {
            j.begin_object()
                .key("lastReadAt")
                .opt_int(*max_read)
                .key("lastDeliveredAt")
                .opt_int(*max_ack)
                .end_object();
        }
        Response::MemberReceipts(list) => {
            j.begin_object().key("receipts").begin_array();
            for r in list {
                j.begin_object()
                    .key("client")
                    .string(&r.client)
                    .key("lastDeliveredAt")
                    .opt_int(r.max_ack)
                    .key("lastReadAt")
                    .opt_int(r.max_read)
                    .end_object();
            }
            j.end_array().end_object();
        }
        Response::Members { members, next } => {
            j.begin_object()
                .key("results")
                .strings(members)
                .key("next")
                .opt_string(next.as_deref())
                .end_object();
        }
    }
}

/// Opens an event object: `{"type": kind, "client": client` (left open for more members).
fn begin_event<'j>(j: &'j mut JsonWriter, kind: &str, client: &str) -> &'j mut JsonWriter {
    j.begin_object()
        .key("type")
        .string(kind)
        .key("client")
        .string(client)
}

/// A conversation event `{type, client, cid, payload: {<who_key>: who, members?}}`.
fn write_member_event(
    j: &mut JsonWriter,
    kind: &str,
    client: &str,
    cid: &str,
    members: Option<&[String]>,
    who_key: &str,
    who: Option<&str>,
) {
    begin_event(j, kind, client)
        .key("cid")
        .string(cid)
        .key("payload")
        .begin_object();
    if let Some(members) = members {
        j.key("members").strings(members);
    }
    j.key(who_key).opt_string(who).end_object().end_object();
}

fn write_patch(
    j: &mut JsonWriter,
    kind: &str,
    client: &str,
    message: &Message,
    reason: Option<&(i64, String)>,
) {
    begin_event(j, kind, client)
        .key("cid")
        .string(&message.conversation)
        .key("message");
    write_message(j, message);
    j.key("reason");
    match reason {
        Some((code, reason)) => {
            j.begin_object()
                .key("code")
                .int(*code)
                .key("reason")
                .string(reason)
                .end_object();
        }
        None => {
            j.null();
        }
    }
    j.end_object();
}

/// Writes an engine event as `{type, client?, cid?, payload?, ...}`; `type` is the JS SDK's event
/// name where there is one. `message` and `unreadmessagescountupdate` carry the conversation's
/// state after the event (see [`write_conversation_state`]), read from `engine`.
pub fn write_event(j: &mut JsonWriter, event: &Event, engine: &Engine) {
    match event {
        Event::Response {
            client,
            request,
            result,
        } => {
            begin_event(j, "response", client)
                .key("request")
                .int(i64::try_from(request.0).unwrap_or(i64::MAX));
            match result {
                Ok(response) => {
                    j.key("ok");
                    write_response(j, response);
                }
                Err(error) => {
                    j.key("error");
                    write_error(j, error);
                }
            }
            j.end_object();
        }
        Event::Connected => {
            j.begin_object().key("type").string("connected").end_object();
        }
        Event::Disconnected { reason } => {
            j.begin_object().key("type").string("disconnect").key("reason");
            match reason {
                DisconnectReason::Closed(code) => {
                    j.begin_object()
                        .key("closed")
                        .opt_int(code.map(i64::from))
                        .end_object();
                }
                DisconnectReason::Dead => {
                    j.string("dead");
                }
                DisconnectReason::Goaway => {
                    j.string("goaway");
                }
                DisconnectReason::Offline => {
                    j.string("offline");
                }
                DisconnectReason::LoginTimeout => {
                    j.string("logintimeout");
                }
            }
            j.end_object();
        }
        Event::Reconnecting { attempt, delay } => {
            j.begin_object()
                .key("type")
                .string("schedule")
                .key("attempt")
                .int(i64::from(*attempt))
                .key("delay")
                .int(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
                .end_object();
        }
        Event::Offline => {
            j.begin_object().key("type").string("offline").end_object();
        }
        Event::Online => {
            j.begin_object().key("type").string("online").end_object();
        }
        Event::ConnectionFailed { code } => {
            j.begin_object()
                .key("type")
                .string("connectionfailed")
                .key("code")
                .int(i64::from(*code))
                .end_object();
        }
        Event::Reconnected { client } => {
            begin_event(j, "reconnect", client).end_object();
        }
        Event::ReconnectFailed { client, error } => {
            begin_event(j, "reconnecterror", client).key("error");
            write_error(j, error);
            j.end_object();
        }
        Event::Conflict { client, reason } => {
            begin_event(j, "conflict", client)
                .key("payload")
                .begin_object()
                .key("reason")
                .string(reason)
                .end_object()
                .end_object();
        }
        Event::Closed { client, code, reason } => {
            begin_event(j, "close", client)
                .key("payload")
                .begin_object()
                .key("code")
                .int(i64::from(*code))
                .key("reason")
                .string(reason)
                .end_object()
                .end_object();
        }
        Event::Message { client, message } => {
            begin_event(j, "message", client)
                .key("cid")
                .string(&message.conversation)
                .key("message");
            write_message(j, message);
            j.key("conv");
            write_conversation_state(j, engine, client, &message.conversation);
            j.end_object();
        }
        Event::MessageRecalled {
            client,
            message,
            reason,
        } => write_patch(j, "messagerecall", client, message, reason.as_ref()),
        Event::MessageUpdated {
            client,
            message,
            reason,
        } => write_patch(j, "messageupdate", client, message, reason.as_ref()),
        Event::MessageStatusChanged {
            client,
            conversation,
            message_id,
            status,
            at,
        } => {
            begin_event(j, "receipt", client)
                .key("cid")
                .string(conversation)
                .key("messageId")
                .string(message_id)
                .key("status")
                .string(if *status == MessageStatus::Read {
                    "read"
                } else {
                    "delivered"
                })
                .key("at")
                .int(*at)
                .end_object();
        }
        Event::UnreadCountUpdated {
            client,
            conversations,
        } => {
            begin_event(j, "unreadmessagescountupdate", client)
                .key("cids")
                .begin_array();
            for (cid, ..) in conversations {
                j.string(cid);
            }
            j.end_array().key("convs").begin_array();
            for (cid, ..) in conversations {
                write_conversation_state(j, engine, client, cid);
            }
            j.end_array().end_object();
        }
        Event::LastDeliveredAt {
            client,
            conversation,
            at,
        } => {
            begin_event(j, "lastdeliveredatupdate", client)
                .key("cid")
                .string(conversation)
                .key("at")
                .int(*at)
                .end_object();
        }
        Event::LastReadAt {
            client,
            conversation,
            at,
        } => {
            begin_event(j, "lastreadatupdate", client)
                .key("cid")
                .string(conversation)
                .key("at")
                .int(*at)
                .end_object();
        }
        Event::Invited {
            client,
            conversation,
            invited_by,
        } => write_member_event(
            j,
            "invited",
            client,
            conversation,
            None,
            "invitedBy",
            invited_by.as_deref(),
        ),
        Event::Kicked {
            client,
            conversation,
            kicked_by,
        } => write_member_event(
            j,
            "kicked",
            client,
            conversation,
            None,
            "kickedBy",
            kicked_by.as_deref(),
        ),
        Event::MembersJoined {
            client,
            conversation,
            members,
            invited_by,
        } => write_member_event(
            j,
            "membersjoined",
            client,
            conversation,
            Some(members),
            "invitedBy",
            invited_by.as_deref(),
        ),
        Event::MembersLeft {
            client,
            conversation,
            members,
            kicked_by,
        } => write_member_event(
            j,
            "membersleft",
            client,
            conversation,
            Some(members),
            "kickedBy",
            kicked_by.as_deref(),
        ),
        Event::MembersBlocked {
            client,
            conversation,
            members,
            blocked_by,
        } => write_member_event(
            j,
            "membersblocked",
            client,
            conversation,
            Some(members),
            "blockedBy",
            blocked_by.as_deref(),
        ),
        Event::MembersUnblocked {
            client,
            conversation,
            members,
            unblocked_by,
        } => write_member_event(
            j,
            "membersunblocked",
            client,
            conversation,
            Some(members),
            "unblockedBy",
            unblocked_by.as_deref(),
        ),
        Event::Blocked {
            client,
            conversation,
            blocked_by,
        } => write_member_event(
            j,
            "blocked",
            client,
            conversation,
            None,
            "blockedBy",
            blocked_by.as_deref(),
        ),
        Event::Unblocked {
            client,
            conversation,
            unblocked_by,
        } => write_member_event(
            j,
            "unblocked",
            client,
            conversation,
            None,
            "unblockedBy",
            unblocked_by.as_deref(),
        ),
        Event::MembersMuted {
            client,
            conversation,
            members,
            muted_by,
        } => write_member_event(
            j,
            "membersmuted",
            client,
            conversation,
            Some(members),
            "mutedBy",
            muted_by.as_deref(),
        ),
        Event::MembersUnmuted {
            client,
            conversation,
            members,
            unmuted_by,
        } => write_member_event(
            j,
            "membersunmuted",
            client,
            conversation,
            Some(members),
            "unmutedBy",
            unmuted_by.as_deref(),
        ),
        Event::Muted {
            client,
            conversation,
            muted_by,
        } => write_member_event(
            j,
            "muted",
            client,
            conversation,
            None,
            "mutedBy",
            muted_by.as_deref(),
        ),
        Event::Unmuted {
            client,
            conversation,
            unmuted_by,
        } => write_member_event(
            j,
            "unmuted",
            client,
            conversation,
            None,
            "unmutedBy",
            unmuted_by.as_deref(),
        ),
        Event::MemberInfoUpdated {
            client,
            conversation,
            member,
            role,
            updated_by,
        } => {
            begin_event(j, "memberinfoupdated", client)
                .key("cid")
                .string(conversation)
                .key("payload")
                .begin_object()
                .key("member")
                .string(member)
                .key("role")
                .opt_string(role.as_deref())
                .key("updatedBy")
                .opt_string(updated_by.as_deref())
                .end_object()
                .end_object();
        }
        Event::InfoUpdated {
            client,
            conversation,
            attributes,
            updated_by,
        } => {
            begin_event(j, "conversationinfoupdated", client)
                .key("cid")
                .string(conversation)
                .key("payload")
                .begin_object()
                .key("attributes")
                .object(attributes)
                .key("updatedBy")
                .opt_string(updated_by.as_deref())
                .end_object()
                .end_object();
        }
        Event::Unhandled { client, cmd, op } => {
            j.begin_object()
                .key("type")
                .string("unhandledmessage")
                .key("client")
                .opt_string(client.as_deref())
                .key("payload")
                .begin_object()
                .key("cmd")
                .opt_int(cmd.map(i64::from))
                .key("op")
                .opt_int(op.map(i64::from))
                .end_object()
                .end_object();
        }
    }
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

/// The strings of a JSON array of strings; `None` for anything else.
pub fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
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
        .and_then(|s| base64::decode(s).ok())
    {
        return MessageContent::Binary(bytes);
    }
    // Sent verbatim: the wire text is the same whether or not the core reads it as a typed message.
    MessageContent::Text(text(v.get("data")).unwrap_or_default())
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
    message.transient = flag(v.get("transient"));
    message
}

/// Attributes of `update`: a JSON object.
pub fn attributes(v: &Value) -> Map {
    match v {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message as JSON text (see [`write_message`]).
    fn message_json(m: &Message) -> String {
        let mut j = JsonWriter::new();
        write_message(&mut j, m);
        j.finish()
    }

    /// An error as JSON text (see [`write_error`]).
    fn error_json(error: &RequestError) -> String {
        let mut j = JsonWriter::new();
        write_error(&mut j, error);
        j.finish()
    }

    fn parsed(text: &str) -> Value {
        chinwag_core::json::parse(text).expect("valid JSON")
    }

    /// A message Tom sent in `c`, without an id.
    fn sent_by_tom(content: MessageContent) -> Message {
        Message {
            id: None,
            client_id: None,
            conversation: "c".into(),
            from: "Tom".into(),
            timestamp: 1,
            updated_at: None,
            content,
            status: MessageStatus::Sent,
            mentions: vec![],
            mention_all: false,
            mentioned: false,
            transient: false,
            delivered_at: None,
            read_at: None,
        }
    }

    /// serde_json's `json!`, as our [`Value`].
    macro_rules! json {
        ($($json:tt)+) => {
            Value::from(serde_json::json!($($json)+))
        };
    }

    #[test]
    fn query_round_trips_conditions_and_sort() {
        let q = query(&json!({"where": {"m": {"$all": ["Jerry"]}}, "sort": ["-lm"], "limit": 5}));
        assert_eq!(q.where_json(), r#"{"m":{"$all":["Jerry"]}}"#);
        assert_eq!(q.sort().as_deref(), Some("-lm"));
        assert_eq!(q.limit_value(), Some(5));
    }

    #[test]
    fn errors_carry_code_and_name() {
        let e = parsed(&error_json(&RequestError::Invalid(
            "5130 OWNER_PROMOTION_NOT_ALLOWED".into(),
        )));
        assert_eq!(e["code"], 5130);
        assert_eq!(e["name"], "OWNER_PROMOTION_NOT_ALLOWED");
        let timeout = parsed(&error_json(&RequestError::Timeout));
        assert_eq!(timeout["name"], "TIMEOUT");
        assert_eq!(timeout["message"], RequestError::Timeout.message().as_str());
        let invalid = RequestError::Invalid("no members".into());
        let json = parsed(&error_json(&invalid));
        assert_eq!(
            (json["code"].as_i64(), json["name"].as_str()),
            (Some(0), Some("INVALID_REQUEST"))
        );
        assert_eq!(json["message"], invalid.message().as_str());
        // `write_error` keeps its own copy of the local errors' words: the same as the core's.
        for local in [
            RequestError::Timeout,
            RequestError::ConnectionLost,
            RequestError::ConnectionClosed,
            RequestError::NoSuchClient,
            RequestError::AlreadyOpen,
            RequestError::QueueFull,
            RequestError::ClientClosed,
            RequestError::Invalid("5130 OWNER_PROMOTION_NOT_ALLOWED".into()),
        ] {
            assert_eq!(parsed(&error_json(&local))["message"], local.message().as_str());
        }
    }

    #[test]
    fn the_js_error_code_table_names_every_protocol_code() {
        // The wasm sends a server error's reason as is; the JS layer names an unnamed code from
        // its `ErrorCode` table (4115 by hand: the official SDK's table has no entry for it).
        let api = include_str!("../js/api.js");
        let mut named = 0;
        for code in 0..10_000 {
            let Some(known) = chinwag_protocol::ErrorCode::from_code(code) else {
                continue;
            };
            let entry = if code == 4115 {
                ["code === 4115 ? '", known.name(), "'"].concat()
            } else {
                [" ", known.name(), ": ", &code.to_string(), ","].concat()
            };
            assert!(api.contains(&entry), "api.js lacks {entry}");
            named += 1;
        }
        assert!(named > 40, "{named}");
    }

    #[test]
    fn signatures_need_all_three_fields() {
        let full_json = serde_json::json!({"signature": "abc", "timestamp": 1_700_000_000, "nonce": "n1"});
        let sig = signature(&Value::from(full_json.clone())).expect("complete signature");
        assert_eq!(
            (sig.signature.as_str(), sig.timestamp, sig.nonce.as_str()),
            ("abc", 1_700_000_000, "n1")
        );
        assert_eq!(signature(&json!({"signature": "abc", "nonce": "n1"})), None);
        let create = create_options(&json!({"members": ["Jerry"], "signature": full_json}));
        assert_eq!(create.signature, Some(sig));
        assert_eq!(member_op("block"), Some(MemberOp::Block));
        assert_eq!(member_op("mute"), Some(MemberOp::Shutup));
        assert_eq!(member_op("shout"), None);
    }

    #[test]
    fn payloads_cross_as_their_wire_text() {
        let wire = r#"{"_lctype":-1,"_lctext":"hi","x":1.50}"#;
        let c = content(&json!({ "data": wire }));
        // Kept verbatim for the wire, whatever its shape.
        assert_eq!(c, MessageContent::Text(wire.to_owned()));
        let m = Message {
            id: Some("m1".into()),
            ..sent_by_tom(c)
        };
        let json = parsed(&message_json(&m));
        assert_eq!(json["text"], wire);
        // A typed message the core made itself (a recalled one) crosses as its JSON text too.
        let recalled = Message {
            content: MessageContent::Typed(chinwag_core::TypedMessage::recalled()),
            ..m
        };
        assert_eq!(parsed(&message_json(&recalled))["text"], r#"{"_lctype":-127}"#);
        assert_eq!(json["mentionList"], json!([]));
        assert_eq!(json["readAt"], Value::Null);
    }

    #[test]
    fn binary_content_is_standard_base64_both_ways() {
        assert_eq!(
            content(&json!({"bin": "AAH/"})),
            MessageContent::Binary(vec![0, 1, 255])
        );
        // Not canonical base64 (padding missing): the payload is not taken as binary.
        assert!(!matches!(
            content(&json!({"bin": "AAE"})),
            MessageContent::Binary(_)
        ));
        let m = sent_by_tom(MessageContent::Binary(vec![0, 1, 255, 7]));
        assert_eq!(parsed(&message_json(&m))["bin"], "AAH/Bw==");
    }
}
