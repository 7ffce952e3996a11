//! The part of LeanCloud's IM REST API 1.2 (`REST.md` §3) implemented so far, with master-key auth
//! (`X-LC-Key: <master>,master`). Every operation goes to the hub thread ([`AdminOp`]), which runs
//! it in its own transaction and sends its pushes, so the hub stays the only writer.
//!
//! - `POST /1.2/rtm/service-conversations` `{name, ...attrs}` → `{objectId, createdAt}`
//! - `POST /1.2/rtm/service-conversations/{id}/subscribers` `{client_id}` → `{}`
//! - `DELETE /1.2/rtm/service-conversations/{id}/subscribers/{client_id}` → `{}`
//! - `GET /1.2/rtm/service-conversations/{id}/subscribers/count` → `{count}`
//! - `POST /1.2/rtm/service-conversations/{id}/broadcasts` `{from_client, message}` →
//!   `{"msg-id", timestamp}`
//! - `POST /1.2/rtm/clients/check-online` `{client_ids}` (≤ 20) → `{results}`
//! - `POST /1.2/rtm/conversations` `{name, m, c, ...attrs}` → the conversation object
//! - `POST /1.2/rtm/conversations/{id}/messages` `{from_client, message, transient}` →
//!   `{"msg-id", timestamp}`
//! - `GET /1.2/rtm/clients/{client_id}/unread-count?conv_id=` (app key too) → `{count}`
//! - `GET /1.2/rtm/conversations?where&skip&limit` → `{results}`
//! - `POST`/`DELETE /1.2/rtm/conversations/{id}/members` `{client_ids}` → `{updatedAt, objectId}`;
//!   `GET` → `{result: [client ids]}`
//! - `PUT /1.2/rtm/conversations/{id}/messages/{mid}` `{from_client, message, timestamp}` (edit)
//!   and `PUT .../{mid}/recall` `{from_client, timestamp}` → `{}`
//! - `PUT /1.2/rtm/conversations/{id}` (and `/chatrooms/{id}`, `/service-conversations/{id}`)
//!   `{...attrs}` → `{updatedAt, objectId}`
//! - `POST`/`DELETE /1.2/rtm/conversations/{id}/mutes` `{client_ids}` → `{updatedAt, objectId}`;
//!   `GET` → `{result: [client ids]}`
//! - `POST /1.2/rtm/chatrooms` `{name, ...attrs}` → `{objectId, createdAt}`;
//!   `GET /1.2/rtm/chatrooms/{id}/members` → `{result: [online members]}`;
//!   `GET /1.2/rtm/chatrooms/{id}/members/online-count` → `{result: N}`;
//!   `POST /1.2/rtm/chatrooms/{id}/messages` as for conversations (never stored)
//! - `POST /1.2/rtm/clients/{client_id}/kick` `{reason}` (≤ 20 characters) → `{}`
//! - `GET /1.2/rtm/conversations/{id}/messages?timestamp&till_timestamp&include_start&include_stop&reversed&limit`
//!   → `[{timestamp, conv-id, to, data, bin, from, msg-id, is-conv, is-room}]` (`msgid`/`till_msgid`
//!   are accepted and not needed: timestamps are unique within a conversation here)

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::AppState;
use super::auth;
use super::hub_thread::HubEvent;
use crate::hub::{AdminError, Hub};
use crate::storage::Storage;

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
    },
    /// Send a message as a client.
    SendAs {
        /// The conversation.
        cid: String,
        /// `from_client`.
        from_client: String,
        /// `message`.
        message: String,
        /// `transient`.
        transient: bool,
    },
    /// Unread messages of a client.
    UnreadCount {
        /// The client.
        client_id: String,
        /// `conv_id`, if given.
        cid: Option<String>,
    },
    /// Query normal conversations.
    Query {
        /// `where` (JSON).
        where_json: Value,
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
        /// The conversation.
        cid: String,
        /// Bounds and order.
        page: crate::hub::HistoryPage,
    },
    /// Which of these clients are online.
    CheckOnline {
        /// `client_ids`.
        client_ids: Vec<String>,
    },
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
        } => hub.create_conversation(&creator, &members, attrs, now),
        AdminOp::SendAs {
            cid,
            from_client,
            message,
            transient,
        } => {
            let (result, out) = hub.send_as(&cid, &from_client, &message, transient, now);
            (
                result.map(|(mid, ts)| json!({"msg-id": mid, "timestamp": ts})),
                out,
            )
        }
        AdminOp::UnreadCount { client_id, cid } => (
            hub.unread_count(&client_id, cid.as_deref())
                .map(|n| json!({"count": n})),
            Vec::new(),
        ),
        AdminOp::Query {
            where_json,
            skip,
            limit,
        } => (
            hub.query_conversations(&where_json, skip, limit, now)
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
        } => {
            let (result, out) = hub.patch_as(&cid, &mid, &from_client, timestamp, content.as_deref(), now);
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
        AdminOp::History { cid, page } => (hub.history_page(&cid, &page, now).map(Value::from), Vec::new()),
        AdminOp::CheckOnline { client_ids } => {
            let online: Vec<&String> = client_ids.iter().filter(|id| hub.is_online(id)).collect();
            (Ok(json!({"results": online})), Vec::new())
        }
    }
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
    if auth::authenticate(&state.config, headers, need_master).is_none() {
        return auth::unauthorized();
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

/// `POST /1.2/rtm/service-conversations`.
pub(crate) async fn create_service(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).and_then(|mut attrs| {
        let name = field(&attrs, "name")?;
        attrs.remove("name");
        Ok(AdminOp::CreateService { name, attrs })
    });
    call(&state, &headers, true, op).await
}

/// `POST /1.2/rtm/service-conversations/{id}/subscribers`.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).and_then(|body| {
        Ok(AdminOp::Subscribe {
            cid,
            client_id: field(&body, "client_id")?,
            subscribed: true,
        })
    });
    call(&state, &headers, true, op).await
}

/// `DELETE /1.2/rtm/service-conversations/{id}/subscribers/{client_id}`.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    Path((cid, client_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let op = AdminOp::Subscribe {
        cid,
        client_id,
        subscribed: false,
    };
    call(&state, &headers, true, Ok(op)).await
}

/// `GET /1.2/rtm/service-conversations/{id}/subscribers/count`.
pub(crate) async fn subscriber_count(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(&state, &headers, true, Ok(AdminOp::SubscriberCount { cid })).await
}

/// `POST /1.2/rtm/service-conversations/{id}/broadcasts`.
pub(crate) async fn broadcast(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).and_then(|body| {
        Ok(AdminOp::Broadcast {
            cid,
            from_client: field(&body, "from_client")?,
            message: field(&body, "message")?,
            transient: body.get("transient").and_then(Value::as_bool).unwrap_or(false),
        })
    });
    call(&state, &headers, true, op).await
}

/// `POST /1.2/rtm/clients/check-online`.
pub(crate) async fn check_online(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).and_then(|body| {
        let ids = body.get("client_ids").and_then(Value::as_array);
        let client_ids: Vec<String> = ids
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        if client_ids.is_empty() || client_ids.len() > 20 {
            return Err(BadRequest("client_ids must list 1 to 20 client ids".into()));
        }
        Ok(AdminOp::CheckOnline { client_ids })
    });
    call(&state, &headers, true, op).await
}

/// `POST /1.2/rtm/conversations`.
pub(crate) async fn create_conversation(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
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
        Ok(AdminOp::CreateConversation {
            creator,
            members,
            attrs,
        })
    });
    call(&state, &headers, true, op).await
}

/// `POST /1.2/rtm/conversations/{id}/messages`.
pub(crate) async fn send_message(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).and_then(|body| {
        Ok(AdminOp::SendAs {
            cid,
            from_client: field(&body, "from_client")?,
            message: field(&body, "message")?,
            transient: body.get("transient").and_then(Value::as_bool).unwrap_or(false),
        })
    });
    call(&state, &headers, true, op).await
}

/// Query of `GET /1.2/rtm/clients/{client_id}/unread-count`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct UnreadQuery {
    conv_id: Option<String>,
}

/// `GET /1.2/rtm/clients/{client_id}/unread-count` (the app key is enough).
pub(crate) async fn unread_count(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UnreadQuery>,
    headers: HeaderMap,
) -> Response {
    let op = AdminOp::UnreadCount {
        client_id,
        cid: query.conv_id.filter(|c| !c.is_empty()),
    };
    call(&state, &headers, false, Ok(op)).await
}

/// Query of `GET /1.2/rtm/conversations`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ConversationsQuery {
    #[serde(rename = "where")]
    where_json: Option<String>,
    skip: Option<usize>,
    limit: Option<usize>,
}

/// `GET /1.2/rtm/conversations`.
pub(crate) async fn query_conversations(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ConversationsQuery>,
    headers: HeaderMap,
) -> Response {
    let where_json = match query.where_json.as_deref().filter(|w| !w.trim().is_empty()) {
        None => Ok(json!({})),
        Some(text) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| BadRequest("where must be a JSON object".into())),
    };
    let op = where_json.map(|where_json| AdminOp::Query {
        where_json,
        skip: query.skip.unwrap_or(0),
        limit: query.limit,
    });
    call(&state, &headers, true, op).await
}

/// `client_ids` of a members body.
fn client_ids(body: &[u8]) -> Result<Vec<String>, BadRequest> {
    let body = object(body)?;
    let ids = body
        .get("client_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(BadRequest("client_ids is required".into()));
    }
    Ok(ids)
}

/// `POST /1.2/rtm/conversations/{id}/members`.
pub(crate) async fn add_members(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = client_ids(&body).map(|client_ids| AdminOp::Members {
        cid,
        client_ids,
        add: true,
    });
    call(&state, &headers, true, op).await
}

/// `DELETE /1.2/rtm/conversations/{id}/members`.
pub(crate) async fn remove_members(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = client_ids(&body).map(|client_ids| AdminOp::Members {
        cid,
        client_ids,
        add: false,
    });
    call(&state, &headers, true, op).await
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
    })
}

/// `PUT /1.2/rtm/conversations/{id}/messages/{mid}`.
pub(crate) async fn edit_message(
    State(state): State<AppState>,
    Path((cid, mid)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    call(&state, &headers, true, patch_op(cid, mid, &body, false)).await
}

/// `PUT /1.2/rtm/conversations/{id}/messages/{mid}/recall`.
pub(crate) async fn recall_message(
    State(state): State<AppState>,
    Path((cid, mid)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    call(&state, &headers, true, patch_op(cid, mid, &body, true)).await
}

/// Query of `GET /1.2/rtm/conversations/{id}/messages`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HistoryQuery {
    timestamp: Option<i64>,
    till_timestamp: Option<i64>,
    include_start: Option<bool>,
    include_stop: Option<bool>,
    reversed: Option<bool>,
    limit: Option<u32>,
}

/// `GET /1.2/rtm/conversations/{id}/messages`.
pub(crate) async fn history(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    axum::extract::Query(query): axum::extract::Query<HistoryQuery>,
    headers: HeaderMap,
) -> Response {
    let page = crate::hub::HistoryPage {
        start: query.timestamp,
        stop: query.till_timestamp,
        include_start: query.include_start.unwrap_or(false),
        include_stop: query.include_stop.unwrap_or(false),
        reversed: query.reversed.unwrap_or(false),
        limit: query.limit,
    };
    call(&state, &headers, true, Ok(AdminOp::History { cid, page })).await
}

/// `POST /1.2/rtm/clients/{client_id}/kick`.
pub(crate) async fn kick(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
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
    call(&state, &headers, true, op).await
}

/// `POST /1.2/rtm/chatrooms`.
pub(crate) async fn create_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).and_then(|mut attrs| {
        let name = field(&attrs, "name")?;
        attrs.remove("name");
        Ok(AdminOp::CreateRoom { name, attrs })
    });
    call(&state, &headers, true, op).await
}

/// `GET /1.2/rtm/chatrooms/{id}/members`.
pub(crate) async fn room_members(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(
        &state,
        &headers,
        true,
        Ok(AdminOp::RoomMembers { cid, count: false }),
    )
    .await
}

/// `GET /1.2/rtm/chatrooms/{id}/members/online-count`.
pub(crate) async fn room_online_count(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(
        &state,
        &headers,
        true,
        Ok(AdminOp::RoomMembers { cid, count: true }),
    )
    .await
}

/// `POST`/`DELETE /1.2/rtm/conversations/{id}/mutes`.
async fn mutes(state: AppState, cid: String, headers: HeaderMap, body: &[u8], mute: bool) -> Response {
    let op = client_ids(body).map(|client_ids| AdminOp::Mute {
        cid,
        client_ids,
        mute,
    });
    call(&state, &headers, true, op).await
}

/// `POST /1.2/rtm/conversations/{id}/mutes`.
pub(crate) async fn mute(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    mutes(state, cid, headers, &body, true).await
}

/// `DELETE /1.2/rtm/conversations/{id}/mutes`.
pub(crate) async fn unmute(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    mutes(state, cid, headers, &body, false).await
}

/// `GET /1.2/rtm/conversations/{id}/mutes`.
pub(crate) async fn muted(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(&state, &headers, true, Ok(AdminOp::Muted { cid })).await
}

/// `PUT /1.2/rtm/conversations/{id}` (and the chat-room and service-conversation forms).
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let op = object(&body).map(|changes| AdminOp::Update { cid, changes });
    call(&state, &headers, true, op).await
}

/// `GET /1.2/rtm/conversations/{id}/members`.
pub(crate) async fn list_members(
    State(state): State<AppState>,
    Path(cid): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(&state, &headers, true, Ok(AdminOp::ListMembers { cid })).await
}
