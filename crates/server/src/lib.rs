//! chinwag-server: a self-hostable server for the LeanCloud RTM (real-time chat) protocol, so the
//! official LeanCloud SDKs and chinwag clients keep working when pointed at it.
//!
//! # Running it
//!
//! ```text
//! cargo run -p chinwag-server -- --listen 127.0.0.1:8282 --data-dir ./chinwag-data \
//!     --app-id my-app --app-key my-key
//! ```
//!
//! | flag | env var | default | meaning |
//! |---|---|---|---|
//! | `--listen` | `CHINWAG_LISTEN` | `127.0.0.1:8282` | address and port (0 = any free port) |
//! | `--data-dir` | `CHINWAG_DATA_DIR` | `chinwag-data` | directory of the SQLite database |
//! | `--sync` | `CHINWAG_SYNC` | `full` | `full`: each commit synced to disk before its messages are acknowledged (they survive a power loss); `normal`: they survive a process crash only |
//! | `--app-id` | `CHINWAG_APP_ID` | `chinwag-local` | the app id clients use |
//! | `--app-key` | `CHINWAG_APP_KEY` | `chinwag-local-key` | app key; also signs session tokens |
//! | `--master-key` | `CHINWAG_MASTER_KEY` | none | enables the IM REST API 1.2 and `/1.1/rtm/sign`; the key of signatures (HMAC-SHA1, LeanCloud's scheme) |
//! | `--require-signatures` | `CHINWAG_REQUIRE_SIGNATURES` | off | sign-ins (and session-token refreshes), conversation creation, membership changes and blocks must be signed with the master key (4102 / 4302); needs `--master-key` |
//! | `--session-ttl-secs` | `CHINWAG_SESSION_TTL_SECS` | 172800 | lifetime of session tokens (2 days); re-logins with an older one get 4112 |
//! | `--other-app-ids` | `CHINWAG_OTHER_APP_IDS` | none | further app ids accepted (comma-separated); others get 4100 |
//! | `--allow-any-app-id` | `CHINWAG_ALLOW_ANY_APP_ID` | off | accept any app id (development, tests); sessions, tokens and signatures stay tied to the app id used |
//! | `--signature-ttl-secs` | `CHINWAG_SIGNATURE_TTL_SECS` | 21600 | how far a signature's timestamp may be from the server clock (6 h: our assumption, LeanCloud's exact window is not documented in our sources) |
//! | `--rate-burst` / `--rate-per-second` | `CHINWAG_RATE_BURST` / `CHINWAG_RATE_PER_SECOND` | 100 / 50 | per-connection token bucket for `direct`; floods get 4116 (burst 0 disables) |
//! | `--client-rate-burst` / `--client-rate-per-second` | `CHINWAG_CLIENT_RATE_BURST` / `CHINWAG_CLIENT_RATE_PER_SECOND` | 200 / 100 | per-client token bucket for `direct` across the client's connections; floods get 4116 (burst 0 disables) |
//! | `--max-clients-per-connection` | `CHINWAG_MAX_CLIENTS_PER_CONNECTION` | 50 | one more `session/open` on a connection gets `session/closed` 4113 (0 = unlimited) |
//! | `--max-members` | `CHINWAG_MAX_MEMBERS` | 500 | members of a normal or temporary conversation; create/add/join past it get 4304 (0 = unlimited) |
//! | `--max-history-page` | `CHINWAG_MAX_HISTORY_PAGE` | 1000 | largest `logs` page (default page 20) |
//! | `--rest-rate-burst` / `--rest-rate-per-second` | `CHINWAG_REST_RATE_BURST` / `CHINWAG_REST_RATE_PER_SECOND` | 300 / 30 | per-app token bucket for IM REST API 1.2 calls (30 a second is LeanCloud's 1800 a minute); over it: 429 `Too many requests.` (burst 0 disables) |
//! | `--chat-room-grace-secs` | `CHINWAG_CHAT_ROOM_GRACE_SECS` | 60 | a client whose connection dropped stays in its chat rooms this long (not counted online, gets nothing meanwhile), so a short reconnect finds it still in them; `session/close` leaves at once (0 = leave at once) |
//! | `--max-frame-bytes` | `CHINWAG_MAX_FRAME_BYTES` | 65536 | larger WebSocket messages close the connection with 4109 |
//! | `--max-message-bytes` | `CHINWAG_MAX_MESSAGE_BYTES` | 5120 | larger message contents get an error ack (4109) |
//! | `--outgoing-queue` | `CHINWAG_OUTGOING_QUEUE` | 1024 | frames queued per connection before a slow client is dropped |
//! | `--ws-ping-secs` | `CHINWAG_WS_PING_SECS` | 30 | WebSocket pings to each connection (0 = none); one silent for three intervals, pongs included, is closed as dead |
//! | `--public-ws-url` | `CHINWAG_PUBLIC_WS_URL` | none | the URL `GET /v1/route` hands out; unset: `ws://<Host>/`, or `wss://<Host>/` behind a TLS proxy (`X-Forwarded-Proto: https`) |
//! | `--engine-url` | `CHINWAG_ENGINE_URL` | none | base URL of the app's LeanEngine: its IM hooks are called (see [`hub::HookName`]); needs `--master-key` |
//! | `--hook-key` | `CHINWAG_HOOK_KEY` | none | the hook key the engine checks (`X-LC-Hook-Key`) |
//! | `--hook-timeout-ms` | `CHINWAG_HOOK_TIMEOUT_MS` | 5000 | how long a hook call may take; a deciding hook that fails or times out lets the command through |
//! | `--refuse-on-hook-failure` | `CHINWAG_REFUSE_ON_HOOK_FAILURE` | off | a deciding hook that fails or times out refuses the command instead (4402, 4405, 4305) |
//!
//! `RUST_LOG` sets the log filter (default `info`). SIGINT/SIGTERM stop it cleanly: every
//! connection gets `goaway`, then a 1001 close (not fatal, so the SDKs reconnect).
//! Every command and op with its status is listed in the crate's `README.md`.
//! One port serves the WebSocket endpoint at `/` (subprotocols `lc.protobuf2.3`, `lc.protobuf2.1`
//! with binary frames, `lc.proto2base64.3`, `lc.proto2base64.1` with base64 text frames; the header
//! is echoed, or `?subprotocol=` is read when the client cannot send the header),
//! `GET /v1/route` (`{"server","secondary","ttl"}`: `--public-ws-url`, or `ws://<Host>/`, or
//! `wss://<Host>/` behind a TLS proxy that sends `X-Forwarded-Proto: https`),
//! `GET /1.1/rtm/notifications`,
//! `GET /1.1/classes/_ConversationMemberInfo`, `POST /1.1/rtm/sign`, the IM REST API 1.2
//! under `/1.2/rtm/` (see the table below) and `GET /health`.
//!
//! Point the official JS SDK at it with `new Realtime({appId, appKey, RTMServers:
//! 'ws://127.0.0.1:8282/'})` (v5 also needs `server: 'http://127.0.0.1:8282'`).
//!
//! # Embedding it (tests, the Rust SDK quickstart)
//!
//! ```no_run
//! # async fn demo() -> Result<(), chinwag_server::ServerError> {
//! use chinwag_server::{Server, ServerConfig};
//!
//! let mut config = ServerConfig::local("127.0.0.1:0".parse().unwrap()); // in-memory, free port
//! config.app_id = "my-app".into();
//! let server = Server::bind(config).await?;
//! let url = server.ws_url(); // "ws://127.0.0.1:PORT/"
//! // ... connect clients to `url` ...
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! - [`hub`]: the transport-free command state machine (sessions, conversations, delivery) with
//!   injected time; tests drive it without sockets. It runs each batch of commands inside one
//!   storage transaction and releases the replies only after the commit (group commit).
//! - [`storage`]: a synchronous [`Storage`] trait; [`SqliteStorage`] (bundled SQLite, WAL,
//!   numbered migrations). Read positions are one row per member; unread counts come from the
//!   message index, so a message never writes a row per member.
//! - [`server`]: axum; the hub runs on a dedicated thread fed by a channel; per-connection bounded
//!   queues; a client that cannot keep up is disconnected (it catches up after reconnecting).
//! - [`query`]: the conversation query language (`where`, `sort`).
//!
//! # What is implemented
//!
//! | area | status |
//! |---|---|
//! | session open/close/query/refresh, anonymous ids, signed session tokens (`st`, `r=true`, 4112), `tag` conflicts (4111), several clients per connection, echo | done |
//! | conv start (`unique`, chat rooms), add/join, remove/quit with the seed's event pushes, update (dotted keys, `updated` push), mute/unmute, count, max_read | done |
//! | conv query: the whole `where` language of the official `ConversationQuery` (see [`query`]: comparisons, `$in`/`$nin`/`$all`/`$size`/`$exists`, `$regex` with `\Q..\E`, `$and`/`$or`/`$nor`, Dates), sort, limit/skip, flag (compact, last message), `tempConvIds`; bad `where` → 4301 | done |
//! | direct: ack, fan-out, `dt` de-duplication, transient, `will`, mentions, 5 KB limit | done |
//! | client acks (both forms), `read`, `rcp` receipts, `unread` after login and after reads | done |
//! | logs: `t/mid/tIncluded`, `tt/tmid/ttIncluded`, `l`/`limit`, direction, `lctype`, binary as base64 | done |
//! | SQLite storage with restart, group commit, WAL | done |
//! | patch: edit and recall (sender only), pushes, replay of missed patches after a login with `lastPatchTime`; `patchCode`/`patchReason` from a server-side edit or recall (REST `patch_code`/`patch_reason`, our extension), which the SDKs report as the reason of `messageupdate`/`messagerecall` | done |
//! | member roles: `member_info_update` (Manager/Member, `member_info_changed` push), `GET /1.1/classes/_ConversationMemberInfo` | done |
//! | shut-up (`add_shutup`/`remove_shutup`/`query_shutup`, muted senders get 4308) and blacklist (`block` removes and bars, 4315 on rejoin), by the owner or a manager | done |
//! | temporary conversations (`_tmp:` ids, TTL, `tempConvIds` queries; once expired, left out of queries and every command on them — send, add/join, remove/quit, count, update, logs, patch, blacklist — gets 4323) | done |
//! | chat rooms: no member list, online counts, no offline delivery, membership kept across a short reconnect (`--chat-room-grace-secs`); `priority` is accepted and not acted on (no message is dropped for load, a client that cannot keep up is disconnected instead, so there is nothing to rank) | done |
//! | service (system) conversations: `sys` flag, subscribe/unsubscribe by joining/quitting yourself (others → 4314, no member events, no `m` in queries), `{"sys": true}` queries, server-side broadcasts to subscribers, subscribers' messages kept but not fanned out; hub API [`Hub::create_service_conversation`], [`Hub::set_subscribed`], [`Hub::broadcast`] (4303/4313) | done |
//! | IM REST API 1.2 (master key, or `X-LC-Sign`), every operation through the hub thread (details in `server/rest.rs`): conversations, chat rooms and service conversations created (`unique` on normal ones), queried by kind or all together (`where`/`skip`/`limit`), updated and deleted (with their members and history; later sends get 4303 over REST, 4401 over RTM); members, subscribers, chat-room online members and counts; blacklists and `permanent-silenceds` (shut-up) with `limit`/`next`, mutes, member infos (roles); send as `from_client` with `transient`, `no_sync`, `mention_all`/`mention_client_ids`, `to_clients` (service conversations: chosen users only); edit, recall and delete messages; broadcasts (`/{id}/broadcasts`, `/rtm/broadcasts` post, list, delete); history of a conversation, a chat room, a subscriber, a client or the app (`msgid`/`timestamp`/`till_*`/`include_*`/`reversed`/`limit`); online check, kick (4115), unread counts (app key); `temporary-silenceds` (a member shut up for up to 24 hours, apart from the permanent list, ending by itself); a service conversation's subscribers and a client's subscriptions with when each subscribed (0 for subscriptions made before this was kept); `stats` (clients online now, distinct sign-ins of the UTC day); per-client blacklists (`/clients/{id}/blacklists`: others may not add the client to a conversation it blocked) | done |
//! | REST rate limit: a per-app token bucket over `/1.2` calls, `429 {"code": 429, "error": "Too many requests."}` (`--rest-rate-burst`/`--rest-rate-per-second`) | done |
//! | `chinwag-server import` ([`import`]): conversations, service subscribers, members and the app's history from LeanCloud's IM REST API 1.2 (or another chinwag server) into a data dir, ids and timestamps kept, everything read; `--with-moderation`: managers, shut-up lists and blacklists; idempotent | done |
//! | `chinwag-server import --from-files` ([`import::import_files`]): LeanCloud's data export (`.tar.gz`, folders or files of JSON Lines: `_Conversation`, `_ConversationMemberInfo`, `_SysMessage`) and history saved from the REST API, after the service has ended; streamed, idempotent | done |
//! | REST `/1.2/rtm/clients/sign` (LCUser: no user accounts), offline-push fields (`push_data`, `priority`, `push`, `valid_till`: accepted, ignored) | not planned |
//! | REST `GET /1.1/rtm/notifications`: membership events kept per member, replayed to 4.3.1 (over https) and v5 clients after a re-login (session-token auth), pages of 100 with `hasMore` (a page never ends inside one millisecond, as the SDK asks for the next after the newest `serverTs`) | done |
//! | REST `POST /1.1/rtm/sign` (`{session_token}` → `{signature, timestamp, nonce, client_id}`; the token is an RTM session token, as there are no user accounts; signed with the master key) | done |
//! | `X-LC-Id` (a served app id) and `X-LC-Key` (app key, or `<master>,master`) or `X-LC-Sign` (`md5(timestamp + key),timestamp[,master]`, timestamp within `--signature-ttl-secs`) checked on every REST route (401 `Unauthorized.`), plus `X-LC-IM-Session-Token` (4112) where a client is named | done |
//! | TLS: 4.3.1 calls REST only over `https://<server>`, so put a TLS proxy in front (the interop tests do, and 4.3.1's notification replay runs through it) | not planned here |
//! | signatures (HMAC-SHA1 with the master key) for sign-in and token refresh, conversation creation, add/join, remove/quit and block/unblock (`conversation-block-clients`/`conversation-unblock-clients`, 4.3.1's swapped order too), with `--master-key` and `--require-signatures` (a master key alone serves REST without making clients sign); stale timestamps refused (4102 / 4302) | done |
//! | session tokens signed with the app key, bound to client id and app id (re-login and REST `X-LC-Id`), expiring after `--session-ttl-secs` (4112) | done |
//! | per-connection and per-client (across connections) rate limits on `direct` (token buckets, 4116), clients per connection (4113), members per normal conversation (4304 on create/add/join and REST create/add), `logs` page cap | done |
//! | `goaway` to every connection on shutdown, then close 1001 after a grace second | done |
//! | WebSocket pings every `--ws-ping-secs`; a connection silent for three of them (no frame, no pong) is closed (1001) and its clients go offline | done |
//! | LeanEngine IM hooks (`--engine-url`, [`server::hooks`]): deciding `_messageReceived` (drop → 4402 with `appCode`, content, `toPeers`), `_messageUpdate` (4405, content), `_conversationStart`/`Add`/`Remove`/`Update` (4305, `attr`, `mute`), each holding its connection's later commands until it answers; notifying `_messageSent`, `_receiversOffline`, `_conversationStarted`/`Added`/`Removed`, `_clientOnline`/`Offline` after the commit; `sourceIP` from a proxy's `X-Real-IP`/`X-Forwarded-For` (from loopback or private peers only) or the peer address; `_rtmClientSign` is not called | done |
//! | offline push notifications, multi-node, the v1 (`pushOfflineMessages`) offline-message replay | not yet |
//! | checking the `appId` of `session/open` (4100 `session/closed` for other apps; a missing `appId` means the configured one) | done |

pub mod hub;
pub mod import;
pub mod query;
pub mod server;
pub mod signature;
pub mod storage;
pub mod time;
pub mod token;

pub use hub::{AdminError, ConnId, Hub, HubConfig, Input, NotificationsError, Outgoing, RateLimit};
pub use server::{RunningServer, Server, ServerConfig, ServerError};
pub use storage::{SqliteStorage, Storage, StorageError, SyncMode};
