//! The hub's own thread: it drains whatever commands are queued (up to a batch size), runs them in
//! one storage transaction, and hands the replies and pushes to the connections. SQLite I/O never
//! blocks a tokio worker.

use std::collections::HashMap;
use std::sync::Arc;

use chinwag_protocol::GenericCommand;
use tokio::sync::mpsc;

use super::fanout::{ConnHandle, deliver};
use super::hooks::{EngineClient, HookCaller};
use crate::hub::{ConnId, HookAnswer, HookSet, HookTicket, Hub, Input, Outgoing};
use crate::storage::Storage;

/// How often old notifications are pruned.
const PRUNE_EVERY_MS: i64 = 3600 * 1000;

/// Capacity of the hub's inbound queue; readers wait when it is full (back-pressure).
const INBOUND_QUEUE: usize = 4096;

/// What the connections tell the hub thread.
#[derive(Debug)]
pub(crate) enum HubEvent {
    /// A WebSocket opened from an IP address (the hooks' `sourceIP`); its frames go to `handle`.
    Open(ConnId, ConnHandle, String),
    /// A decoded command.
    Command(ConnId, GenericCommand),
    /// A WebSocket closed.
    Close(ConnId),
    /// `GET /1.1/rtm/notifications`: read the events kept for a client.
    Notifications {
        /// `X-LC-Id`, if sent.
        app_id: Option<String>,
        /// `X-LC-IM-Session-Token`.
        token: String,
        /// `client_id`.
        client_id: String,
        /// `start_ts`.
        since: i64,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<NotificationsReply>,
    },
    /// `GET /1.1/classes/_ConversationMemberInfo`: the roles in a conversation.
    MemberInfos {
        /// `X-LC-Id`, if sent.
        app_id: Option<String>,
        /// `X-LC-IM-Session-Token`.
        token: String,
        /// `client_id`.
        client_id: String,
        /// The `cid` of the `where`.
        cid: String,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Result<Vec<serde_json::Value>, crate::hub::NotificationsError>>,
    },
    /// `POST /1.1/rtm/sign`: a login signature for the holder of a session token.
    Sign {
        /// `X-LC-Id`.
        app_id: String,
        /// `session_token` of the body.
        token: String,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, crate::hub::NotificationsError>>,
    },
    /// A server-side (REST, master-key) operation.
    Admin {
        /// What to do.
        op: super::rest::AdminOp,
        /// Where the answer goes.
        reply: super::rest::AdminReply,
    },
    /// A deciding hook answered (or failed: `None`).
    HookAnswered(HookTicket, HookAnswer),
    /// The engine's hooks are now these.
    HooksDefined(HookSet),
    /// Finish the queued work and stop.
    Shutdown,
}

/// The notifications and whether more remain, or why they could not be read.
pub(crate) type NotificationsReply = Result<(Vec<serde_json::Value>, bool), crate::hub::NotificationsError>;

/// Starts the hub thread (and, with an `engine`, the task that calls its hooks: those the hub was
/// told it defines, and whether that list could be read); returns its inbound queue and join
/// handle.
pub(crate) fn spawn<S: Storage + 'static>(
    hub: Hub<S>,
    max_batch: usize,
    engine: Option<(EngineClient, HookSet, bool)>,
) -> std::io::Result<(mpsc::Sender<HubEvent>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
    let hooks = engine.map(|(client, defined, known)| HookCaller::start(client, tx.clone(), defined, known));
    let thread = std::thread::Builder::new()
        .name("chinwag-hub".into())
        .spawn(move || run(hub, rx, max_batch, hooks))?;
    Ok((tx, thread))
}

/// Hands the hook calls of the batches just handled to the caller (there are none without one).
fn make_hook_calls<S: Storage>(hub: &mut Hub<S>, hooks: Option<&HookCaller>) {
    if let Some(hooks) = hooks {
        hooks.make(hub.take_hook_calls());
    }
}

fn run<S: Storage>(
    mut hub: Hub<S>,
    mut rx: mpsc::Receiver<HubEvent>,
    max_batch: usize,
    hooks: Option<HookCaller>,
) {
    let mut conns: HashMap<ConnId, ConnHandle> = HashMap::new();
    // Connections dropped for being too slow; the hub hears about them in the next batch.
    let mut dropped: Vec<ConnId> = Vec::new();
    let mut stopping = false;
    let mut next_prune = 0;
    while !stopping {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut inputs: Vec<Input> = dropped.drain(..).map(Input::Disconnected).collect();
        let mut event = Some(first);
        let mut commands = 0;
        while let Some(next) = event.take() {
            match next {
                HubEvent::Open(conn, handle, source_ip) => {
                    conns.insert(conn, handle);
                    // Kept for the hooks' `sourceIP` only: nothing to keep without an engine.
                    if hooks.is_some() {
                        hub.set_source_ip(conn, source_ip);
                    }
                    inputs.push(Input::Connected(conn));
                }
                HubEvent::Command(conn, command) => {
                    // Frames still queued from a connection dropped as too slow are ignored.
                    if conns.contains_key(&conn) {
                        inputs.push(Input::Command(conn, command));
                        commands += 1;
                    }
                }
                HubEvent::Close(conn) => {
                    if conns.remove(&conn).is_some() {
                        inputs.push(Input::Disconnected(conn));
                    }
                }
                HubEvent::HookAnswered(ticket, answer) => {
                    inputs.push(Input::HookAnswered(ticket, answer));
                    commands += 1;
                }
                HubEvent::HooksDefined(defined) => hub.set_hooks(defined),
                HubEvent::Notifications {
                    app_id,
                    token,
                    client_id,
                    since,
                    reply,
                } => {
                    // A read outside any batch: it sees what earlier batches committed.
                    let _ = reply.send(hub.notifications(
                        app_id.as_deref(),
                        &token,
                        &client_id,
                        since,
                        crate::time::now_ms(),
                    ));
                }
                HubEvent::MemberInfos {
                    app_id,
                    token,
                    client_id,
                    cid,
                    reply,
                } => {
                    let _ = reply.send(hub.member_infos(
                        app_id.as_deref(),
                        &token,
                        &client_id,
                        &cid,
                        crate::time::now_ms(),
                    ));
                }
                HubEvent::Sign { app_id, token, reply } => {
                    let _ = reply.send(hub.sign_login(&app_id, &token, crate::time::now_ms()));
                }
                HubEvent::Admin { op, reply } => {
                    // Its own transaction, after the commands queued before it.
                    if !inputs.is_empty() {
                        let outgoing = hub.handle_batch(std::mem::take(&mut inputs), crate::time::now_ms());
                        for conn in deliver(outgoing, &conns) {
                            conns.remove(&conn);
                            dropped.push(conn);
                        }
                        make_hook_calls(&mut hub, hooks.as_ref());
                    }
                    let (result, outgoing) = super::rest::run(&mut hub, op, crate::time::now_ms());
                    make_hook_calls(&mut hub, hooks.as_ref());
                    for conn in deliver(outgoing, &conns) {
                        conns.remove(&conn);
                        dropped.push(conn);
                    }
                    let _ = reply.send(result);
                }
                HubEvent::Shutdown => stopping = true,
            }
            if commands < max_batch && !stopping {
                event = rx.try_recv().ok();
            }
        }
        if inputs.is_empty() {
            continue;
        }
        let now = crate::time::now_ms();
        if now >= next_prune {
            hub.prune_notifications(now);
            hub.prune_idle_limits(now);
            hub.prune_timed_shutups(now);
            hub.prune_sign_ins(now);
            next_prune = now + PRUNE_EVERY_MS;
        }
        // A bug must not take the whole server down: a panicking batch is abandoned (its requests
        // time out on the client side) and the hub carries on from the last commit.
        let outgoing =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hub.handle_batch(inputs, now))) {
                Ok(outgoing) => outgoing,
                Err(_) => {
                    tracing::error!("a batch panicked; rolled back and continuing");
                    hub.recover();
                    make_hook_calls(&mut hub, hooks.as_ref());
                    continue;
                }
            };
        for conn in deliver(outgoing, &conns) {
            // Dropping the handle closes the queue: the writer then closes the socket.
            conns.remove(&conn);
            dropped.push(conn);
        }
        // After the commit: what the notifying hooks are told of is durable.
        make_hook_calls(&mut hub, hooks.as_ref());
    }
    if !dropped.is_empty() {
        let inputs: Vec<Input> = dropped.drain(..).map(Input::Disconnected).collect();
        hub.handle_batch(inputs, crate::time::now_ms());
        make_hook_calls(&mut hub, hooks.as_ref());
    }
    // Ask every client to reconnect (PROTOCOL.md §3.3: the SDKs refresh their endpoints and
    // reconnect); dropping the queues below then lets each writer close its socket with 1001.
    let goaway = Arc::new(GenericCommand::goaway());
    let farewells: Vec<Outgoing> = conns
        .keys()
        .map(|&conn| Outgoing {
            conn,
            command: Arc::clone(&goaway),
            peer_id: None,
        })
        .collect();
    deliver(farewells, &conns);
    tracing::debug!(connections = conns.len(), "hub thread stopped; goaway sent");
}
