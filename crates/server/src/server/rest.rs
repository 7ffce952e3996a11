//! LeanCloud's IM REST API 1.2 (`REST.md` §2–3), with master-key auth (`X-LC-Key: <master>,master`
//! or `X-LC-Sign: md5(timestamp + master),timestamp,master`; the app key is enough only where
//! LeanCloud says so). Handlers only parse: every operation goes to the hub thread ([`AdminOp`]),
//! which runs it in its own transaction and sends its pushes, so the hub stays the only writer.
//! Errors are `{"code", "error"}`: 401 for keys, 404 for 4303, 400 for the other RTM codes and for
//! malformed bodies (107), 429 over the per-app rate limit ([`RestLimiter`]).
//!
//! `{kind}` below is `conversations`, `chatrooms` or `service-conversations`; a path of one kind
//! refuses conversations of another with the official code (4314/4316/4313), except that
//! `/conversations/...` also reaches chat rooms (both are `_Conversation` rows).
//!
//! - Conversations: `POST /1.2/rtm/conversations` `{name, m, c, unique, ...attrs}` → the
//!   conversation (`unique`: the same member set returns the existing one);
//!   `POST /1.2/rtm/{chatrooms,service-conversations}` `{name, ...attrs}` → `{objectId, createdAt}`;
//!   `GET /1.2/rtm/{kind}?where&order&skip&limit` and `GET /1.2/rtm/all-conversations` → `{results}`
//!   (`order` as LeanStorage's: `-updatedAt,objectId` by default);
//!   `PUT /1.2/rtm/{kind}/{id}` `{...attrs}` → `{updatedAt, objectId}`;
//!   `DELETE /1.2/rtm/{kind}/{id}` → `{}` (members, history and all; nobody is pushed anything,
//!   later sends get 4303 over REST and 4401 over RTM)
//! - Members: `POST`/`DELETE /1.2/rtm/conversations/{id}/members` `{client_ids}` →
//!   `{updatedAt, objectId}`; `GET` → `{result}`; chat rooms: `GET .../{id}/members` (online) and
//!   `.../members/online-count`; service conversations: `POST .../{id}/subscribers` `{client_id}`,
//!   `DELETE .../{id}/subscribers/{client_id}`, `GET .../{id}/subscribers/count`,
//!   `GET .../{id}/subscribers?client_id&limit` (≤ 50, by client id) and
//!   `GET /1.2/rtm/clients/{client_id}/service-conversations?conv_id&timestamp&limit&direction`
//!   (by subscription time) → `[{timestamp, subscriber, conv_id}]`
//! - Moderation: `POST`/`DELETE`/`GET /1.2/rtm/{kind}/{id}/blacklists` `{client_ids}` → `{}` /
//!   `{client_ids, next?}` (`limit`, `next`); `.../{conversations,chatrooms}/{id}/permanent-silenceds`
//!   likewise (the shut-up list); `POST .../{conversations,chatrooms}/{id}/temporary-silenceds`
//!   `{client_id, ttl}` (seconds, ≤ 24 h) and `DELETE ...?client_id` → `{}` (a shut-up that ends
//!   by itself, kept apart from the list); `POST`/`DELETE`/`GET /1.2/rtm/conversations/{id}/mutes`;
//!   member roles: `POST .../member-infos` `{clientId, role}`, `PUT`/`DELETE
//!   .../member-infos/{cid}:{client}`, `GET .../member-infos?skip&limit&role` → `{results}`
//! - Messages: `POST /1.2/rtm/{kind}/{id}/messages` `{from_client, message, transient, no_sync,
//!   mention_all, mention_client_ids, to_clients (service conversations, required), push_data,
//!   priority}` → `{"msg-id", timestamp}`; `PUT .../messages/{mid}` (edit) and
//!   `.../messages/{mid}/recall` as the sender (`{from_client, timestamp, message}`; our extension:
//!   `patch_code` (integer) and `patch_reason` are pushed as `patchCode`/`patchReason`, which the
//!   SDKs hand to their `messageupdate`/`messagerecall` events as the reason); `DELETE /1.2/rtm/{conversations,chatrooms}/{id}/messages/{mid}?from_client&timestamp`
//!   and `DELETE /1.2/rtm/service-conversations/{id}/subscribers/{client_id}/messages/{mid}` → `{}`
//!   (server side only)
//! - Broadcasts: `POST /1.2/rtm/service-conversations/{id}/broadcasts` and
//!   `POST /1.2/rtm/broadcasts` `{conv_id, from_client, message, transient}` → `{"msg-id",
//!   timestamp}`; `GET /1.2/rtm/broadcasts?conv_id&limit&skip`; `DELETE /1.2/rtm/broadcasts/{mid}`
//! - History (`msgid`, `timestamp`, `till_msgid`, `till_timestamp`, `include_start`,
//!   `include_stop`, `reversed`, `limit` ≤ 1000) → `[{timestamp, conv-id, to, data, bin, from,
//!   msg-id, is-conv, is-room, patch-timestamp?, mention-all?, mention-pids?}]`:
//!   `GET /1.2/rtm/{conversations,chatrooms}/{id}/messages`, `GET /1.2/rtm/messages` (the app),
//!   `GET /1.2/rtm/clients/{client_id}/messages` (what it sent, outside service conversations),
//!   `GET /1.2/rtm/service-conversations/{id}/subscribers/{client_id}/messages`
//! - Clients: `POST /1.2/rtm/clients/check-online` `{client_ids}` (≤ 20) → `{results}`;
//!   `GET /1.2/rtm/clients/{client_id}/unread-count?conv_id=` (app key too) → `{count}`;
//!   `POST /1.2/rtm/clients/{client_id}/kick` `{reason}` (≤ 20 characters) → `{}`
//! - Usage: `GET /1.2/rtm/stats` → `{"result": {online_user_count, user_count_today}}` (clients
//!   with a session now; distinct clients signed in since 00:00 UTC)
//!
//! - Per-client blacklists: `POST`/`DELETE /1.2/rtm/clients/{client_id}/blacklists` `{conv_id}` →
//!   `{}` (others may no longer add the client to that conversation; it may join itself) and
//!   `GET ...?limit&next` → `{conv_ids, next?}`
//!
//! Not served: offline push fields (`push_data`, `priority`, `push`, `valid_till`: no push
//! service) and `/1.2/rtm/clients/sign` (there are no user accounts).

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::AppState;
use super::auth;
use super::hub_thread::HubEvent;
use crate::hub::{AdminError, ConvKind, Hub, RateLimit, SendOptions};
use crate::storage::{Membership, MessageScope, Storage};

/// A server-side operation for the hub thread.
#[derive(Debug)]
pub(crate) enum AdminOp {
    /// Create a service conversation.
    CreateService {
        /// `name`.
        name: String,
        /// Other attributes.
        attrs: Map<String, Value>,
    },
    /// Subscribe or unsubscribe a client.
    Subscribe {
        /// The service conversation.
        cid: String,
        /// The client.
        client_id: String,
        /// Subscribe (`true`) or unsubscribe.
        subscribed: bool,
    },
    /// Count subscribers.
    SubscriberCount {
        /// The service conversation.
        cid: String,
    },
    /// Broadcast to subscribers.
    Broadcast {
        /// The service conversation.
        cid: String,
        /// `from_client`.
        from_client: String,
        /// `message`.
        message: String,
        /// `transient`.
        transient: bool,
    },
    /// Create a normal conversation.
    CreateConversation {
        /// `c` (may be empty).
        creator: String,
        /// `m`.
        members: Vec<String>,
        /// `name` and other attributes.
        attrs: Map<String, Value>,
        /// `unique`: the same member set gives the existing conversation.
        unique: bool,
    },
    /// Send a message as a client.
    Send {
        /// The conversation.
        cid: String,
        /// The kind the path names.
        kind: ConvKind,
        /// `from_client`.
        from_client: String,
        /// `message`.
        message: String,
        /// `transient`, `no_sync`, mentions, `to_clients`.
        options: SendOptions,
    },
    /// Delete a conversation.
    DeleteConversation {
        /// The conversation.
        cid: String,
        /// The kind the path names.
        kind: ConvKind,
    },
    /// Delete a stored message.
    DeleteMessage {
        /// The conversation, if the path names one.
        cid: Option<String>,
        /// The kind the path names.
        kind: ConvKind,
        /// The message.
        mid: String,
        /// `from_client`, if given.
        from_client: Option<String>,
        /// `timestamp`, if given.
        timestamp: Option<i64>,
    },
    /// Add clients to or remove them from a conversation's blacklist or shut-up list.
    Block {
        /// Which list.
        list: ClientList,
        /// The conversation.
        cid: String,
        /// The kind the path names.
        kind: ConvKind,
        /// `client_ids`.
        client_ids: Vec<String>,
        /// Add (`true`) or remove.
        block: bool,
    },
    /// A page of a blacklist or shut-up list.
    Blacklist {
        /// Which list.
        list: ClientList,
        /// The conversation.
        cid: String,
        /// The kind the path names.
        kind: ConvKind,
        /// `limit`.
        limit: Option<usize>,
        /// `next` (an offset).
        next: usize,
    },
    /// Set a member's role.
    SetRole {
        /// The conversation.
        cid: String,
        /// The member.
        client_id: String,
        /// `Manager` or `Member`.
        role: String,
        /// Answer `{}` (a delete) instead of `{updatedAt, objectId}`.
        deleted: bool,
    },
    /// Member roles.
    Roles {
        /// The conversation.
        cid: String,
        /// Only this role.
        role: Option<String>,
        /// `skip`.
        skip: usize,
        /// `limit`.
        limit: Option<usize>,
    },
    /// Broadcasts of a service conversation.
    Broadcasts {
        /// `conv_id`.
        cid: String,
        /// `skip`.
        skip: u32,
        /// `limit`.
        limit: Option<u32>,
    },
    /// Unread messages of a client.
    UnreadCount {
        /// The client.
        client_id: String,
        /// `conv_id`, if given.
        cid: Option<String>,
    },
    /// Query conversations.
    Query {
        /// Of this kind (`None`: every kind).
        kind: Option<ConvKind>,
        /// `where` (JSON).
        where_json: Value,
        /// `order` (`-updatedAt,objectId` when absent).
        order: Option<Vec<crate::query::SortKey>>,
        /// `skip`.
        skip: usize,
        /// `limit`.
        limit: Option<usize>,
    },
    /// Add or remove members.
    Members {
        /// The conversation.
        cid: String,
        /// `client_ids`.
        client_ids: Vec<String>,
        /// Add (`true`) or remove.
        add: bool,
    },
    /// Edit or recall a message as its sender.
    Patch {
        /// The conversation.
        cid: String,
        /// The message.
        mid: String,
        /// `from_client`.
        from_client: String,
        /// `timestamp` of the message.
        timestamp: i64,
        /// New content; `None` recalls.
        content: Option<String>,
        /// `patch_code` and `patch_reason` (our extension: why, for the SDKs' events).
        reason: Option<(i64, Option<String>)>,
    },
    /// Mute or unmute a conversation for clients.
    Mute {
        /// The conversation.
        cid: String,
        /// `client_ids`.
        client_ids: Vec<String>,
        /// Mute (`true`) or unmute.
        mute: bool,
    },
    /// Update attributes.
    Update {
        /// The conversation.
        cid: String,
        /// The changes.
        changes: Map<String, Value>,
    },
    /// Members of a normal conversation.
    ListMembers {
        /// The conversation.
        cid: String,
    },
    /// Who muted a conversation.
    Muted {
        /// The conversation.
        cid: String,
    },
    /// Create a chat room.
    CreateRoom {
        /// `name`.
        name: String,
        /// Other attributes.
        attrs: Map<String, Value>,
    },
    /// Online members of a chat room (`count`: only how many).
    RoomMembers {
        /// The chat room.
        cid: String,
        /// Answer the count only.
        count: bool,
    },
    /// Sign a client out everywhere.
    Kick {
        /// The client.
        client_id: String,
        /// `reason`.
        reason: Option<String>,
    },
    /// A history page.
    History {
        /// Which messages.
        scope: MessageScope,
        /// Bounds and order.
        page: crate::hub::HistoryPage,
    },
    /// Which of these clients are online.
    CheckOnline {
        /// `client_ids`.
        client_ids: Vec<String>,
    },
    /// Shut a member up for a while (`temporary-silenceds`), or let it speak again.
    TimedSilence {
        /// The conversation or chat room.
        cid: String,
        /// The kind the path names.
        kind: ConvKind,
        /// `client_id`.
        client_id: String,
        /// For how long (ms); `None` lets it speak again.
        ttl_ms: Option<i64>,
    },
    /// A page of a service conversation's subscribers.
    Subscribers {
        /// The service conversation.
        cid: String,
        /// `client_id`: the last subscriber of the previous page.
        after: Option<String>,
        /// `limit`.
        limit: Option<u32>,
    },
    /// A page of the service conversations a client subscribes to.
    Subscriptions {
        /// The subscriber.
        client_id: String,
        /// `timestamp` and `conv_id` of the last one of the previous page.
        after: Option<(i64, String)>,
        /// `direction=old`: the latest subscriptions first.
        newest_first: bool,
        /// `limit`.
        limit: Option<u32>,
    },
    /// Clients online now and signed in today.
    Stats,
    /// A client blocks or unblocks a conversation.
    ClientBlock {
        /// The client.
        client_id: String,
        /// `conv_id`.
        cid: String,
        /// Block (`true`) or unblock.
        blocked: bool,
    },
    /// A page of the conversations a client blocked.
    ClientBlocked {
        /// The client.
        client_id: String,
        /// `limit`.
        limit: Option<usize>,
        /// Offset from `next`.
        next: usize,
    },
}

/// The client lists of a conversation the REST API edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientList {
    /// `blacklists`: removed and barred from joining.
    Blocked,
    /// `permanent-silenceds`: members who may not send (the shut-up list).
    Silenced,
}

impl ClientList {
    /// The list a `.../{id}/blacklists` or `.../{id}/permanent-silenceds` path names.
    fn of(uri: &Uri) -> Self {
        if uri.path().ends_with("/permanent-silenceds") {
            Self::Silenced
        } else {
            Self::Blocked
        }
    }
}

/// What the hub thread answers.
pub(crate) type AdminReply = oneshot::Sender<Result<Value, AdminError>>;

/// Runs `op` on the hub; returns the answer and the frames to send.
pub(crate) fn run<S: Storage>(
    hub: &mut Hub<S>,
    op: AdminOp,
    now: i64,
) -> (Result<Value, AdminError>, Vec<crate::hub::Outgoing>) {
    match op {
        AdminOp::CreateService { name, attrs } => {
            let (result, out) = hub.create_service_conversation(&name, attrs, now);
            (
                result.map(|cid| json!({"objectId": cid, "createdAt": crate::time::iso8601(now)})),
                out,
            )
        }
        AdminOp::Subscribe {
            cid,
            client_id,
            subscribed,
        } => {
            let (result, out) = hub.set_subscribed(&cid, &client_id, subscribed, now);
            (result.map(|()| json!({})), out)
        }
        AdminOp::SubscriberCount { cid } => (
            hub.subscribers(&cid).map(|s| json!({"count": s.len()})),
            Vec::new(),
        ),
        AdminOp::Broadcast {
            cid,
            from_client,
            message,
            transient,
        } => {
            let (result, out) = hub.broadcast(&cid, &from_client, &message, transient, now);
            (
                result.map(|(mid, ts)| json!({"msg-id": mid, "timestamp": ts})),
                out,
            )
        }
        AdminOp::CreateConversation {
            creator,
            members,
            attrs,
            unique,
        } => hub.create_conversation_with(&creator, &members, attrs, unique, now),
        AdminOp::Send {
            cid,
            kind,
            from_client,
            message,
            options,
        } => {
            let (result, out) = hub.send_with(&cid, kind, &from_client, &message, &options, now);
            (
                result.map(|(mid, ts)| json!({"msg-id": mid, "timestamp": ts})),
                out,
            )
        }
        AdminOp::DeleteConversation { cid, kind } => {
            let (result, out) = hub.delete_conversation(&cid, kind);
            (result.map(|()| json!({})), out)
        }
        AdminOp::DeleteMessage {
            cid,
            kind,
            mid,
            from_client,
            timestamp,
        } => {
            let (result, out) =
                hub.delete_message(cid.as_deref(), kind, &mid, from_client.as_deref(), timestamp);
            (result.map(|()| json!({})), out)
        }
        AdminOp::Block {
            list,
            cid,
            kind,
            client_ids,
            block,
        } => {
            let (result, out) = match list {
                ClientList::Blocked => hub.set_blocked(&cid, kind, &client_ids, block, now),
                ClientList::Silenced => hub.set_silenced(&cid, kind, &client_ids, block, now),
            };
            (result.map(|()| json!({})), out)
        }
        AdminOp::Blacklist {
            list,
            cid,
            kind,
            limit,
            next,
        } => (
            match list {
                ClientList::Blocked => hub.blocked(&cid, kind, limit, next),
                ClientList::Silenced => hub.silenced(&cid, kind, limit, next),
            }
            .map(|(ids, next)| id_page("client_ids", ids, next)),
            Vec::new(),
        ),
        AdminOp::SetRole {
            cid,
            client_id,
            role,
            deleted,
        } => {
            let (result, out) = hub.set_member_role(&cid, &client_id, &role, now);
            (
                result.map(|id| {
                    if deleted {
                        json!({})
                    } else {
                        json!({"updatedAt": crate::time::iso8601(now), "objectId": id})
                    }
                }),
                out,
            )
        }
        AdminOp::Roles {
            cid,
            role,
            skip,
            limit,
        } => (
            hub.member_roles(&cid, role.as_deref(), skip, limit)
                .map(|results| json!({"results": results})),
            Vec::new(),
        ),
        AdminOp::Broadcasts { cid, skip, limit } => (
            hub.broadcasts_page(&cid, skip, limit).map(Value::from),
            Vec::new(),
        ),
        AdminOp::UnreadCount { client_id, cid } => (
            hub.unread_count(&client_id, cid.as_deref())
                .map(|n| json!({"count": n})),
            Vec::new(),
        ),
        AdminOp::Query {
            kind,
            where_json,
            order,
            skip,
            limit,
        } => (
            hub.query_conversations_of(kind, &where_json, order, skip, limit, now)
                .map(|results| json!({"results": results})),
            Vec::new(),
        ),
        AdminOp::Members { cid, client_ids, add } => {
            let (result, out) = hub.change_members(&cid, &client_ids, add, now);
            (
                result.map(|at| json!({"updatedAt": crate::time::iso8601(at), "objectId": cid})),
                out,
            )
        }
        AdminOp::Patch {
            cid,
            mid,
            from_client,
            timestamp,
            content,
            reason,
        } => {
            let (result, out) = hub.patch_as(
                &cid,
                &mid,
                &from_client,
                timestamp,
                content.as_deref(),
                reason,
                now,
            );
            (result.map(|_| json!({})), out)
        }
        AdminOp::Mute {
            cid,
            client_ids,
            mute,
        } => {
            let (result, out) = hub.set_muted(&cid, &client_ids, mute, now);
            (
                result.map(|at| json!({"updatedAt": crate::time::iso8601(at), "objectId": cid})),
                out,
            )
        }
        AdminOp::Update { cid, changes } => {
            let (result, out) = hub.update_conversation(&cid, changes, now);
            (
                result.map(|at| json!({"updatedAt": crate::time::iso8601(at), "objectId": cid})),
                out,
            )
        }
        AdminOp::ListMembers { cid } => (hub.members(&cid).map(|m| json!({"result": m})), Vec::new()),
        AdminOp::Muted { cid } => (hub.muted(&cid).map(|m| json!({"result": m})), Vec::new()),
        AdminOp::CreateRoom { name, attrs } => {
            let (result, out) = hub.create_chat_room(&name, attrs, now);
            (
                result.map(|cid| json!({"objectId": cid, "createdAt": crate::time::iso8601(now)})),
                out,
            )
        }
        AdminOp::RoomMembers { cid, count } => (
            hub.room_members(&cid).map(|members| {
                if count {
                    json!({"result": members.len()})
                } else {
                    json!({"result": members})
                }
            }),
            Vec::new(),
        ),
        AdminOp::Kick { client_id, reason } => {
            let (result, out) = hub.kick(&client_id, reason.as_deref(), now);
            (result.map(|_| json!({})), out)
        }
        AdminOp::History { scope, page } => {
            (hub.message_page(scope, &page, now).map(Value::from), Vec::new())
        }
        AdminOp::CheckOnline { client_ids } => {
            let online: Vec<&String> = client_ids.iter().filter(|id| hub.is_online(id)).collect();
            (Ok(json!({"results": online})), Vec::new())
        }
        AdminOp::TimedSilence {
            cid,
            kind,
            client_id,
            ttl_ms,
        } => {
            let (result, out) = hub.set_timed_silence(&cid, kind, &client_id, ttl_ms, now);
            (result.map(|()| json!({})), out)
        }
        AdminOp::Subscribers { cid, after, limit } => (
            hub.subscriber_page(&cid, after.as_deref(), limit)
                .map(|page| subscription_list(&page)),
            Vec::new(),
        ),
        AdminOp::Subscriptions {
            client_id,
            after,
            newest_first,
            limit,
        } => {
            let after = after.as_ref().map(|(ts, cid)| (*ts, cid.as_str()));
            (
                hub.subscriptions(&client_id, after, newest_first, limit)
                    .map(|page| subscription_list(&page)),
                Vec::new(),
            )
        }
        AdminOp::ClientBlock {
            client_id,
            cid,
            blocked,
        } => {
            let (result, out) = hub.set_client_block(&client_id, &cid, blocked);
            (result.map(|()| json!({})), out)
        }
        AdminOp::ClientBlocked {
            client_id,
            limit,
            next,
        } => {
            let (ids, next) = hub.client_blocked(&client_id, limit, next);
            (Ok(id_page("conv_ids", ids, next)), Vec::new())
        }
        AdminOp::Stats => (
            hub.stats(now)
                .map(|stats| {
                    json!({"result": {
                        "online_user_count": stats.online,
                        "user_count_today": stats.signed_in_today,
                    }})
                })
                .map_err(AdminError::from),
            Vec::new(),
        ),
    }
}

/// A page of ids under `key`, with the `next` cursor while more remain (`{key: [...], next?}`).
fn id_page(key: &str, ids: Vec<String>, next: Option<usize>) -> Value {
    let mut page = Map::new();
    page.insert(key.to_owned(), ids.into());
    if let Some(next) = next {
        page.insert("next".into(), next.to_string().into());
    }
    Value::Object(page)
}

/// Subscriptions as LeanCloud lists them: `[{timestamp, subscriber, conv_id}]`.
fn subscription_list(page: &[Membership]) -> Value {
    page.iter()
        .map(|m| json!({"timestamp": m.joined_at, "subscriber": m.client_id, "conv_id": m.cid}))
        .collect()
}

/// `{"code": .., "error": ..}` with a 4xx status (`status`).
fn error(status: StatusCode, code: i32, message: &str) -> Response {
    (status, Json(json!({"code": code, "error": message}))).into_response()
}

/// A malformed request body: answered `400 {"code": 107, "error": ..}`.
#[derive(Debug)]
pub(crate) struct BadRequest(String);

/// Checks the keys (`need_master`: the master key), sends `op` to the hub and answers its result.
async fn call(
    state: &AppState,
    headers: &HeaderMap,
    need_master: bool,
    op: Result<AdminOp, BadRequest>,
) -> Response {
    let Some(caller) = auth::authenticate(&state.config, headers, need_master) else {
        return auth::unauthorized();
    };
    if !state.rest_limiter.allow(&caller.app_id, crate::time::now_ms()) {
        return error(StatusCode::TOO_MANY_REQUESTS, 429, "Too many requests.");
    }
    let op = match op {
        Ok(op) => op,
        Err(BadRequest(message)) => return error(StatusCode::BAD_REQUEST, 107, &message),
    };
    let (reply, answer) = oneshot::channel();
    if state.hub.send(HubEvent::Admin { op, reply }).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match answer.await {
        Ok(Ok(value)) => Json(value).into_response(),
        Ok(Err(AdminError::Code { code, detail })) => {
            let status = if code == chinwag_protocol::ErrorCode::ConversationNotFound {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            let message = detail.unwrap_or_else(|| code.name().to_owned());
            error(status, code.code(), &message)
        }
        Ok(Err(AdminError::Storage(e))) => {
            tracing::error!(error = %e, "REST operation failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, 1, "internal error")
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// What every handler answers with: the server's state and the request's headers (its keys).
/// Extracting it never fails: [`call`] checks the keys, so a bad key is answered 401 before a
/// malformed body is answered 400.
pub(crate) struct Rest {
    state: AppState,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for Rest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self {
            state: state.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Rest {
    /// Runs `op` for a caller that has the master key.
    async fn master(&self, op: Result<AdminOp, BadRequest>) -> Response {
        call(&self.state, &self.headers, true, op).await
    }

    /// Runs `op` for a caller that has the app key (or the master key).
    async fn app_key(&self, op: Result<AdminOp, BadRequest>) -> Response {
        call(&self.state, &self.headers, false, op).await
    }
}

/// The JSON object body.
fn object(body: &[u8]) -> Result<Map<String, Value>, BadRequest> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(BadRequest("body must be a JSON object".into())),
    }
}

/// A required, non-empty string field.
fn field(object: &Map<String, Value>, name: &str) -> Result<String, BadRequest> {
    match object.get(name).and_then(Value::as_str) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(BadRequest(format!("{name} is required"))),
    }
}

/// The body of a chat-room or service-conversation creation: the required `name` and the other
/// attributes.
fn named(body: &[u8]) -> Result<(String, Map<String, Value>), BadRequest> {
    let mut attrs = object(body)?;
    let name = field(&attrs, "name")?;
    attrs.remove("name");
    Ok((name, attrs))
}

/// `POST /1.2/rtm/service-conversations`.
pub(crate) async fn create_service(rest: Rest, body: Bytes) -> Response {
    let op = named(&body).map(|(name, attrs)| AdminOp::CreateService { name, attrs });
    rest.master(op).await
}

/// `POST /1.2/rtm/service-conversations/{id}/subscribers`.
pub(crate) async fn subscribe(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    let op = object(&body).and_then(|body| {
        Ok(AdminOp::Subscribe {
            cid,
            client_id: field(&body, "client_id")?,
            subscribed: true,
        })
    });
    rest.master(op).await
}

/// `DELETE /1.2/rtm/service-conversations/{id}/subscribers/{client_id}`.
pub(crate) async fn unsubscribe(rest: Rest, Path((cid, client_id)): Path<(String, String)>) -> Response {
    let op = AdminOp::Subscribe {
        cid,
        client_id,
        subscribed: false,
    };
    rest.master(Ok(op)).await
}

/// `GET /1.2/rtm/service-conversations/{id}/subscribers/count`.
pub(crate) async fn subscriber_count(rest: Rest, Path(cid): Path<String>) -> Response {
    rest.master(Ok(AdminOp::SubscriberCount { cid })).await
}

/// Query of `GET /1.2/rtm/service-conversations/{id}/subscribers`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SubscribersQuery {
    client_id: Option<String>,
    limit: Option<u32>,
}

/// `GET /1.2/rtm/service-conversations/{id}/subscribers?client_id&limit` →
/// `[{timestamp, subscriber, conv_id}]`, by client id after `client_id`, at most 50.
pub(crate) async fn subscribers(
    rest: Rest,
    Path(cid): Path<String>,
    Query(query): Query<SubscribersQuery>,
) -> Response {
    let op = AdminOp::Subscribers {
        cid,
        after: query.client_id.filter(|id| !id.is_empty()),
        limit: query.limit,
    };
    rest.master(Ok(op)).await
}

/// Query of `GET /1.2/rtm/clients/{client_id}/service-conversations`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SubscriptionsQuery {
    conv_id: Option<String>,
    timestamp: Option<i64>,
    limit: Option<u32>,
    direction: Option<String>,
}

/// `GET /1.2/rtm/clients/{client_id}/service-conversations?conv_id&timestamp&limit&direction`
/// → `[{timestamp, subscriber, conv_id}]`: by subscription time, oldest first (`direction=new`,
/// the default) or latest first (`old`), after the `conv_id` subscribed at `timestamp`.
pub(crate) async fn subscriptions(
    rest: Rest,
    Path(client_id): Path<String>,
    Query(query): Query<SubscriptionsQuery>,
) -> Response {
    let newest_first = match query.direction.as_deref() {
        None | Some("" | "new") => Ok(false),
        Some("old") => Ok(true),
        Some(_) => Err(BadRequest("direction must be new or old".into())),
    };
    let after = match (query.conv_id.filter(|c| !c.is_empty()), query.timestamp) {
        (None, _) => Ok(None),
        (Some(cid), Some(ts)) => Ok(Some((ts, cid))),
        (Some(_), None) => Err(BadRequest(
            "conv_id needs the timestamp it was subscribed at".into(),
        )),
    };
    let op = newest_first.and_then(|newest_first| {
        Ok(AdminOp::Subscriptions {
            client_id,
            after: after?,
            newest_first,
            limit: query.limit,
        })
    });
    rest.master(op).await
}

/// `POST`/`DELETE /1.2/rtm/clients/{client_id}/blacklists` `{conv_id}` → `{}`.
async fn client_blacklist(rest: Rest, client_id: String, body: &[u8], blocked: bool) -> Response {
    let op = object(body).and_then(|body| {
        Ok(AdminOp::ClientBlock {
            client_id,
            cid: field(&body, "conv_id")?,
            blocked,
        })
    });
    rest.master(op).await
}

/// `POST /1.2/rtm/clients/{client_id}/blacklists` `{conv_id}`: others may no longer add the client
/// to that conversation.
pub(crate) async fn client_block(rest: Rest, Path(client_id): Path<String>, body: Bytes) -> Response {
    client_blacklist(rest, client_id, &body, true).await
}

/// `DELETE /1.2/rtm/clients/{client_id}/blacklists` `{conv_id}`.
pub(crate) async fn client_unblock(rest: Rest, Path(client_id): Path<String>, body: Bytes) -> Response {
    client_blacklist(rest, client_id, &body, false).await
}

/// `GET /1.2/rtm/clients/{client_id}/blacklists?limit&next` → `{conv_ids, next?}`.
pub(crate) async fn client_blocked(
    rest: Rest,
    Path(client_id): Path<String>,
    Query(query): Query<BlacklistQuery>,
) -> Response {
    let op = next_cursor(query.next.as_deref()).map(|next| AdminOp::ClientBlocked {
        client_id,
        limit: query.limit,
        next,
    });
    rest.master(op).await
}

/// `GET /1.2/rtm/stats` → `{"result": {online_user_count, user_count_today}}` (the day is UTC).
pub(crate) async fn stats(rest: Rest) -> Response {
    rest.master(Ok(AdminOp::Stats)).await
}

/// `POST /1.2/rtm/service-conversations/{id}/broadcasts`.
pub(crate) async fn broadcast(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    rest.master(broadcast_op(Some(cid), &body)).await
}

/// A broadcast `{from_client, message, transient}` to service conversation `cid`, or to the
/// body's `conv_id` when the path names none.
fn broadcast_op(cid: Option<String>, body: &[u8]) -> Result<AdminOp, BadRequest> {
    let body = object(body)?;
    Ok(AdminOp::Broadcast {
        cid: match cid {
            Some(cid) => cid,
            None => field(&body, "conv_id")?,
        },
        from_client: field(&body, "from_client")?,
        message: field(&body, "message")?,
        transient: body.get("transient").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// `POST /1.2/rtm/clients/check-online`.
pub(crate) async fn check_online(rest: Rest, body: Bytes) -> Response {
    let op = object(&body).and_then(|body| {
        let client_ids = listed_client_ids(&body);
        if client_ids.is_empty() || client_ids.len() > 20 {
            return Err(BadRequest("client_ids must list 1 to 20 client ids".into()));
        }
        Ok(AdminOp::CheckOnline { client_ids })
    });
    rest.master(op).await
}

/// `POST /1.2/rtm/conversations`.
pub(crate) async fn create_conversation(rest: Rest, body: Bytes) -> Response {
    let op = object(&body).and_then(|mut attrs| {
        let members = match attrs.remove("m") {
            None => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|id| id.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| BadRequest("m must be a list of client ids".into()))?,
            Some(_) => return Err(BadRequest("m must be a list of client ids".into())),
        };
        let creator = match attrs.remove("c") {
            None => String::new(),
            Some(Value::String(c)) => c,
            Some(_) => return Err(BadRequest("c must be a client id".into())),
        };
        let unique = attrs.remove("unique").and_then(|u| u.as_bool()).unwrap_or(false);
        Ok(AdminOp::CreateConversation {
            creator,
            members,
            attrs,
            unique,
        })
    });
    rest.master(op).await
}

/// The kind of conversation a `/1.2/rtm/...` path names.
fn kind_of(uri: &Uri) -> ConvKind {
    let path = uri.path();
    if path.starts_with("/1.2/rtm/chatrooms") {
        ConvKind::ChatRoom
    } else if path.starts_with("/1.2/rtm/service-conversations") {
        ConvKind::Service
    } else {
        ConvKind::Normal
    }
}

/// An optional list of at most 20 client ids (`to_clients`, `mention_client_ids`).
fn client_list(body: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, BadRequest> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(ids)) if ids.len() <= 20 => ids
            .iter()
            .map(|id| id.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| BadRequest(format!("{name} must be a list of client ids"))),
        Some(_) => Err(BadRequest(format!("{name} must list at most 20 client ids"))),
    }
}

/// `POST /1.2/rtm/{conversations,chatrooms,service-conversations}/{id}/messages`
/// `{from_client, message, transient, no_sync, mention_all, mention_client_ids, to_clients}`.
/// `push_data` and `priority` only shape offline push notifications, which this server does not
/// send: they are accepted and ignored.
pub(crate) async fn send_message(rest: Rest, uri: Uri, Path(cid): Path<String>, body: Bytes) -> Response {
    let flag =
        |body: &Map<String, Value>, name: &str| body.get(name).and_then(Value::as_bool).unwrap_or(false);
    let op = object(&body).and_then(|body| {
        let options = SendOptions {
            transient: flag(&body, "transient"),
            no_sync: flag(&body, "no_sync"),
            mention_all: flag(&body, "mention_all"),
            mention_pids: client_list(&body, "mention_client_ids")?.unwrap_or_default(),
            to_clients: client_list(&body, "to_clients")?,
        };
        Ok(AdminOp::Send {
            cid,
            kind: kind_of(&uri),
            from_client: field(&body, "from_client")?,
            message: field(&body, "message")?,
            options,
        })
    });
    rest.master(op).await
}

/// `DELETE /1.2/rtm/{conversations,chatrooms,service-conversations}/{id}` → `{}`.
pub(crate) async fn delete_conversation(rest: Rest, uri: Uri, Path(cid): Path<String>) -> Response {
    let op = AdminOp::DeleteConversation {
        cid,
        kind: kind_of(&uri),
    };
    rest.master(Ok(op)).await
}

/// Query of a message delete.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct DeleteMessageQuery {
    from_client: Option<String>,
    timestamp: Option<i64>,
}

/// `DELETE /1.2/rtm/{conversations,chatrooms}/{id}/messages/{mid}?from_client&timestamp` → `{}`.
pub(crate) async fn delete_message(
    rest: Rest,
    uri: Uri,
    Path((cid, mid)): Path<(String, String)>,
    Query(query): Query<DeleteMessageQuery>,
) -> Response {
    let op = AdminOp::DeleteMessage {
        cid: Some(cid),
        kind: kind_of(&uri),
        mid,
        from_client: query.from_client.filter(|f| !f.is_empty()),
        timestamp: query.timestamp,
    };
    rest.master(Ok(op)).await
}

/// `DELETE /1.2/rtm/service-conversations/{id}/subscribers/{client_id}/messages/{mid}` → `{}`.
pub(crate) async fn delete_subscriber_message(
    rest: Rest,
    Path((cid, _client_id, mid)): Path<(String, String, String)>,
    Query(query): Query<DeleteMessageQuery>,
) -> Response {
    let op = AdminOp::DeleteMessage {
        cid: Some(cid),
        kind: ConvKind::Service,
        mid,
        from_client: query.from_client.filter(|f| !f.is_empty()),
        timestamp: query.timestamp,
    };
    rest.master(Ok(op)).await
}

/// Query of `GET /1.2/rtm/clients/{client_id}/unread-count`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct UnreadQuery {
    conv_id: Option<String>,
}

/// `GET /1.2/rtm/clients/{client_id}/unread-count` (the app key is enough).
pub(crate) async fn unread_count(
    rest: Rest,
    Path(client_id): Path<String>,
    Query(query): Query<UnreadQuery>,
) -> Response {
    let op = AdminOp::UnreadCount {
        client_id,
        cid: query.conv_id.filter(|c| !c.is_empty()),
    };
    rest.app_key(Ok(op)).await
}

/// Query of `GET /1.2/rtm/conversations`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ConversationsQuery {
    #[serde(rename = "where")]
    where_json: Option<String>,
    skip: Option<usize>,
    limit: Option<usize>,
    order: Option<String>,
}

/// `GET /1.2/rtm/{conversations,chatrooms,service-conversations,all-conversations}`.
pub(crate) async fn query_conversations(
    rest: Rest,
    uri: Uri,
    Query(query): Query<ConversationsQuery>,
) -> Response {
    let where_json = match query.where_json.as_deref().filter(|w| !w.trim().is_empty()) {
        None => Ok(json!({})),
        Some(text) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| BadRequest("where must be a JSON object".into())),
    };
    let kind = (uri.path() != "/1.2/rtm/all-conversations").then(|| kind_of(&uri));
    let op = where_json.map(|where_json| AdminOp::Query {
        kind,
        where_json,
        order: query
            .order
            .as_deref()
            .map(crate::query::parse_sort)
            .filter(|keys| !keys.is_empty()),
        skip: query.skip.unwrap_or(0),
        limit: query.limit,
    });
    rest.master(op).await
}

/// The strings of the `client_ids` array of `body` (other items are skipped; none when absent).
fn listed_client_ids(body: &Map<String, Value>) -> Vec<String> {
    body.get("client_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `client_ids` of a members body.
fn client_ids(body: &[u8]) -> Result<Vec<String>, BadRequest> {
    let ids = listed_client_ids(&object(body)?);
    if ids.is_empty() {
        return Err(BadRequest("client_ids is required".into()));
    }
    Ok(ids)
}

/// `POST /1.2/rtm/conversations/{id}/members`.
pub(crate) async fn add_members(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    let op = client_ids(&body).map(|client_ids| AdminOp::Members {
        cid,
        client_ids,
        add: true,
    });
    rest.master(op).await
}

/// `DELETE /1.2/rtm/conversations/{id}/members`.
pub(crate) async fn remove_members(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    let op = client_ids(&body).map(|client_ids| AdminOp::Members {
        cid,
        client_ids,
        add: false,
    });
    rest.master(op).await
}

/// The fields of an edit (`recall`: no `message`).
fn patch_op(cid: String, mid: String, body: &[u8], recall: bool) -> Result<AdminOp, BadRequest> {
    let body = object(body)?;
    let timestamp = body
        .get("timestamp")
        .and_then(Value::as_i64)
        .ok_or_else(|| BadRequest("timestamp is required".into()))?;
    Ok(AdminOp::Patch {
        cid,
        mid,
        from_client: field(&body, "from_client")?,
        timestamp,
        content: if recall {
            None
        } else {
            Some(field(&body, "message")?)
        },
        reason: match body.get("patch_code") {
            None | Some(Value::Null) => None,
            Some(code) => Some((
                code.as_i64()
                    .ok_or_else(|| BadRequest("patch_code must be an integer".into()))?,
                body.get("patch_reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )),
        },
    })
}

/// `PUT /1.2/rtm/conversations/{id}/messages/{mid}`.
pub(crate) async fn edit_message(
    rest: Rest,
    Path((cid, mid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    rest.master(patch_op(cid, mid, &body, false)).await
}

/// `PUT /1.2/rtm/conversations/{id}/messages/{mid}/recall`.
pub(crate) async fn recall_message(
    rest: Rest,
    Path((cid, mid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    rest.master(patch_op(cid, mid, &body, true)).await
}

/// Query of the history endpoints (`GET .../messages`).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HistoryQuery {
    msgid: Option<String>,
    timestamp: Option<i64>,
    till_msgid: Option<String>,
    till_timestamp: Option<i64>,
    include_start: Option<bool>,
    include_stop: Option<bool>,
    reversed: Option<bool>,
    limit: Option<u32>,
}

impl HistoryQuery {
    fn page(self) -> crate::hub::HistoryPage {
        crate::hub::HistoryPage {
            start: self.timestamp,
            start_id: self.msgid,
            stop: self.till_timestamp,
            stop_id: self.till_msgid,
            include_start: self.include_start.unwrap_or(false),
            include_stop: self.include_stop.unwrap_or(false),
            reversed: self.reversed.unwrap_or(false),
            limit: self.limit,
        }
    }
}

/// Answers a history page of `scope`.
async fn history_of(rest: &Rest, scope: MessageScope, query: HistoryQuery) -> Response {
    let op = AdminOp::History {
        scope,
        page: query.page(),
    };
    rest.master(Ok(op)).await
}

/// `GET /1.2/rtm/{conversations,chatrooms}/{id}/messages`.
pub(crate) async fn history(
    rest: Rest,
    Path(cid): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    history_of(&rest, MessageScope::Conversation(cid), query).await
}

/// `GET /1.2/rtm/service-conversations/{id}/subscribers/{client_id}/messages`: broadcasts,
/// messages sent to that subscriber, and its own.
pub(crate) async fn subscriber_history(
    rest: Rest,
    Path((cid, client_id)): Path<(String, String)>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    history_of(&rest, MessageScope::Subscriber { cid, client_id }, query).await
}

/// `GET /1.2/rtm/clients/{client_id}/messages`: what that client sent (not to service
/// conversations).
pub(crate) async fn client_history(
    rest: Rest,
    Path(client_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    history_of(&rest, MessageScope::Sender(client_id), query).await
}

/// `GET /1.2/rtm/messages`: every stored message of the app.
pub(crate) async fn app_history(rest: Rest, Query(query): Query<HistoryQuery>) -> Response {
    history_of(&rest, MessageScope::App, query).await
}

/// `POST /1.2/rtm/clients/{client_id}/kick`.
pub(crate) async fn kick(rest: Rest, Path(client_id): Path<String>, body: Bytes) -> Response {
    // The body is optional.
    let op = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Map::new())
    } else {
        object(&body)
    }
    .and_then(|body| {
        let reason = body.get("reason").and_then(Value::as_str).map(str::to_owned);
        if reason.as_ref().is_some_and(|r| r.chars().count() > 20) {
            return Err(BadRequest("reason must be at most 20 characters".into()));
        }
        Ok(AdminOp::Kick { client_id, reason })
    });
    rest.master(op).await
}

/// `POST /1.2/rtm/chatrooms`.
pub(crate) async fn create_room(rest: Rest, body: Bytes) -> Response {
    let op = named(&body).map(|(name, attrs)| AdminOp::CreateRoom { name, attrs });
    rest.master(op).await
}

/// `GET /1.2/rtm/chatrooms/{id}/members`.
pub(crate) async fn room_members(rest: Rest, Path(cid): Path<String>) -> Response {
    rest.master(Ok(AdminOp::RoomMembers { cid, count: false })).await
}

/// `GET /1.2/rtm/chatrooms/{id}/members/online-count`.
pub(crate) async fn room_online_count(rest: Rest, Path(cid): Path<String>) -> Response {
    rest.master(Ok(AdminOp::RoomMembers { cid, count: true })).await
}

/// `POST`/`DELETE /1.2/rtm/conversations/{id}/mutes`.
async fn mutes(rest: Rest, cid: String, body: &[u8], mute: bool) -> Response {
    let op = client_ids(body).map(|client_ids| AdminOp::Mute {
        cid,
        client_ids,
        mute,
    });
    rest.master(op).await
}

/// `POST /1.2/rtm/conversations/{id}/mutes`.
pub(crate) async fn mute(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    mutes(rest, cid, &body, true).await
}

/// `DELETE /1.2/rtm/conversations/{id}/mutes`.
pub(crate) async fn unmute(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    mutes(rest, cid, &body, false).await
}

/// `GET /1.2/rtm/conversations/{id}/mutes`.
pub(crate) async fn muted(rest: Rest, Path(cid): Path<String>) -> Response {
    rest.master(Ok(AdminOp::Muted { cid })).await
}

/// `PUT /1.2/rtm/conversations/{id}` (and the chat-room and service-conversation forms).
pub(crate) async fn update(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    let op = object(&body).map(|changes| AdminOp::Update { cid, changes });
    rest.master(op).await
}

/// `GET /1.2/rtm/conversations/{id}/members`.
pub(crate) async fn list_members(rest: Rest, Path(cid): Path<String>) -> Response {
    rest.master(Ok(AdminOp::ListMembers { cid })).await
}

/// `POST`/`DELETE .../{id}/blacklists` `{client_ids}`.
async fn blacklists(rest: Rest, uri: Uri, cid: String, body: &[u8], block: bool) -> Response {
    let op = client_ids(body).map(|client_ids| AdminOp::Block {
        list: ClientList::of(&uri),
        cid,
        kind: kind_of(&uri),
        client_ids,
        block,
    });
    rest.master(op).await
}

/// `POST /1.2/rtm/{conversations,chatrooms,service-conversations}/{id}/blacklists` → `{}`:
/// blocked members are removed and cannot join again.
pub(crate) async fn block(rest: Rest, uri: Uri, Path(cid): Path<String>, body: Bytes) -> Response {
    blacklists(rest, uri, cid, &body, true).await
}

/// `DELETE .../{id}/blacklists` `{client_ids}` → `{}`.
pub(crate) async fn unblock(rest: Rest, uri: Uri, Path(cid): Path<String>, body: Bytes) -> Response {
    blacklists(rest, uri, cid, &body, false).await
}

/// Query of `GET .../{id}/blacklists`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct BlacklistQuery {
    limit: Option<usize>,
    next: Option<String>,
}

/// `GET .../{id}/blacklists?limit&next` → `{client_ids, next?}`.
pub(crate) async fn blocked(
    rest: Rest,
    uri: Uri,
    Path(cid): Path<String>,
    Query(query): Query<BlacklistQuery>,
) -> Response {
    let op = next_cursor(query.next.as_deref()).map(|next| AdminOp::Blacklist {
        list: ClientList::of(&uri),
        cid,
        kind: kind_of(&uri),
        limit: query.limit,
        next,
    });
    rest.master(op).await
}

/// The longest timed shut-up, in seconds (LeanCloud: 24 hours).
const MAX_TIMED_SHUTUP_SECS: i64 = 24 * 3600;

/// `POST /1.2/rtm/{conversations,chatrooms}/{id}/temporary-silenceds` `{client_id, ttl}` → `{}`:
/// `client_id` may not send for `ttl` seconds (at most 24 hours; again: a new end).
pub(crate) async fn silence_for(rest: Rest, uri: Uri, Path(cid): Path<String>, body: Bytes) -> Response {
    let op = object(&body).and_then(|body| {
        let client_id = field(&body, "client_id")?;
        let ttl = body
            .get("ttl")
            .and_then(Value::as_i64)
            .filter(|ttl| (1..=MAX_TIMED_SHUTUP_SECS).contains(ttl))
            .ok_or_else(|| {
                BadRequest(format!(
                    "ttl must be a whole number of seconds from 1 to {MAX_TIMED_SHUTUP_SECS}"
                ))
            })?;
        Ok(AdminOp::TimedSilence {
            cid,
            kind: kind_of(&uri),
            client_id,
            ttl_ms: Some(ttl * 1000),
        })
    });
    rest.master(op).await
}

/// Query of `DELETE .../temporary-silenceds`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ClientIdQuery {
    client_id: Option<String>,
}

/// `DELETE /1.2/rtm/{conversations,chatrooms}/{id}/temporary-silenceds?client_id` → `{}`.
pub(crate) async fn end_silence(
    rest: Rest,
    uri: Uri,
    Path(cid): Path<String>,
    Query(query): Query<ClientIdQuery>,
) -> Response {
    let op = match query.client_id.filter(|id| !id.is_empty()) {
        Some(client_id) => Ok(AdminOp::TimedSilence {
            cid,
            kind: kind_of(&uri),
            client_id,
            ttl_ms: None,
        }),
        None => Err(BadRequest("client_id is required".into())),
    };
    rest.master(op).await
}

/// The offset a `next` cursor of an earlier page names (0 without one).
fn next_cursor(next: Option<&str>) -> Result<usize, BadRequest> {
    match next.filter(|n| !n.is_empty()) {
        None => Ok(0),
        Some(next) => next
            .parse()
            .map_err(|_| BadRequest("next must be a cursor from an earlier page".into())),
    }
}

/// The `role` of a member-info body (`Manager` or `Member`) and its `clientId`, if any.
fn role_body(body: &[u8]) -> Result<(Option<String>, String), BadRequest> {
    let body = object(body)?;
    let client = body.get("clientId").and_then(Value::as_str).map(str::to_owned);
    Ok((client, field(&body, "role")?))
}

/// `POST /1.2/rtm/conversations/{id}/member-infos` `{clientId, role}` → `{updatedAt, objectId}`.
pub(crate) async fn add_member_info(rest: Rest, Path(cid): Path<String>, body: Bytes) -> Response {
    let op = role_body(&body).and_then(|(client, role)| {
        Ok(AdminOp::SetRole {
            cid,
            client_id: client.ok_or_else(|| BadRequest("clientId is required".into()))?,
            role,
            deleted: false,
        })
    });
    rest.master(op).await
}

/// The member a member-info id names (`<cid>:<client id>`, or the client id alone).
fn info_member(cid: &str, info_id: &str) -> String {
    info_id
        .strip_prefix(cid)
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(info_id)
        .to_owned()
}

/// `PUT /1.2/rtm/conversations/{id}/member-infos/{info_id}` `{role}` → `{updatedAt, objectId}`.
pub(crate) async fn update_member_info(
    rest: Rest,
    Path((cid, info_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let op = role_body(&body).map(|(_, role)| AdminOp::SetRole {
        client_id: info_member(&cid, &info_id),
        cid,
        role,
        deleted: false,
    });
    rest.master(op).await
}

/// `DELETE /1.2/rtm/conversations/{id}/member-infos/{info_id}` → `{}`: the member is a plain
/// `Member` again.
pub(crate) async fn delete_member_info(rest: Rest, Path((cid, info_id)): Path<(String, String)>) -> Response {
    let op = AdminOp::SetRole {
        client_id: info_member(&cid, &info_id),
        cid,
        role: "Member".into(),
        deleted: true,
    };
    rest.master(Ok(op)).await
}

/// Query of `GET .../{id}/member-infos`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct MemberInfosQuery {
    skip: Option<usize>,
    limit: Option<usize>,
    role: Option<String>,
}

/// `GET /1.2/rtm/conversations/{id}/member-infos?skip&limit&role` →
/// `{results: [{clientId, objectId, role}]}`.
pub(crate) async fn member_infos(
    rest: Rest,
    Path(cid): Path<String>,
    Query(query): Query<MemberInfosQuery>,
) -> Response {
    let op = AdminOp::Roles {
        cid,
        role: query.role.filter(|r| !r.is_empty()),
        skip: query.skip.unwrap_or(0),
        limit: query.limit,
    };
    rest.master(Ok(op)).await
}

/// `POST /1.2/rtm/broadcasts` `{from_client, conv_id, message, transient}` → `{"msg-id",
/// timestamp}`: a broadcast to every subscriber of service conversation `conv_id`. Broadcasts are
/// stored and reach subscribers who come online later through their unread counts and history,
/// so `valid_till` has nothing to cut short; `push` only shapes offline push notifications, which
/// this server does not send. Both are accepted and ignored.
pub(crate) async fn global_broadcast(rest: Rest, body: Bytes) -> Response {
    rest.master(broadcast_op(None, &body)).await
}

/// Query of `GET /1.2/rtm/broadcasts`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct BroadcastsQuery {
    conv_id: Option<String>,
    skip: Option<u32>,
    limit: Option<u32>,
}

/// `GET /1.2/rtm/broadcasts?conv_id&limit&skip`: the broadcasts of a service conversation,
/// newest first, in the history shape.
pub(crate) async fn broadcasts(rest: Rest, Query(query): Query<BroadcastsQuery>) -> Response {
    let op = match query.conv_id.filter(|c| !c.is_empty()) {
        Some(cid) => Ok(AdminOp::Broadcasts {
            cid,
            skip: query.skip.unwrap_or(0),
            limit: query.limit,
        }),
        None => Err(BadRequest("conv_id is required".into())),
    };
    rest.master(op).await
}

/// `DELETE /1.2/rtm/broadcasts/{mid}` → `{}`: deletes a stored broadcast (clients keep copies
/// they already have).
pub(crate) async fn delete_broadcast(rest: Rest, Path(mid): Path<String>) -> Response {
    let op = AdminOp::DeleteMessage {
        cid: None,
        kind: ConvKind::Service,
        mid,
        from_client: None,
        timestamp: None,
    };
    rest.master(Ok(op)).await
}

/// The REST API's rate limit: one token bucket per app id over every `/1.2` call (LeanCloud
/// limits apps, not connections). A call over it is answered
/// `429 {"code": 429, "error": "Too many requests."}`, LeanCloud's answer, before it reaches the
/// hub.
#[derive(Debug)]
pub(crate) struct RestLimiter {
    limit: Option<RateLimit>,
    /// App id → (tokens left in thousandths, when last refilled in ms).
    buckets: std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>,
}

impl RestLimiter {
    /// A limiter; `None` lets every call through.
    pub(crate) fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            buckets: std::sync::Mutex::default(),
        }
    }

    /// Takes a token of `app_id`'s bucket at `now_ms`; `false` when there is none.
    pub(crate) fn allow(&self, app_id: &str, now_ms: i64) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let capacity = i64::from(limit.burst.max(1)) * 1000;
        // Held for a few arithmetic operations, never across an await.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = buckets.entry(app_id.to_owned()).or_insert((capacity, now_ms));
        let elapsed = now_ms.saturating_sub(*at).max(0);
        *at = (*at).max(now_ms);
        *tokens = tokens
            .saturating_add(elapsed.saturating_mul(i64::from(limit.per_second)))
            .min(capacity);
        if *tokens >= 1000 {
            *tokens -= 1000;
            true
        } else {
            false
        }
    }
}
