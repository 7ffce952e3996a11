//! The chinwag client core: the whole behaviour of a LeanCloud RTM SDK as a sans-I/O state machine.
//!
//! An [`Engine`] owns one (logical) WebSocket connection hosting any number of clients (peer ids). It
//! never touches a socket, a timer or a clock: the driver (tokio, the browser, a test) feeds it
//! inputs and carries out its outputs. Time is a millisecond [`Instant`] passed in; ids and jitter
//! come from the seed given to [`Engine::new`]. The crate builds for `wasm32-unknown-unknown` and
//! depends only on `chinwag-protocol` and small pure crates.
//!
//! # The driving contract
//!
//! 1. Create the engine with [`Engine::new`]`(options, seed, now, wall_ms)`.
//! 2. Give it **inputs** as they happen: [`Engine::handle_connected`], [`Engine::handle_frame`] (or
//!    `handle_bytes`), [`Engine::handle_disconnected`], [`Engine::handle_route`] /
//!    [`Engine::handle_route_failed`], [`Engine::set_online`], and [`Engine::handle_timeout`] when the
//!    timer fires. Issue **commands** ([`Engine::open_client`], [`Engine::send`], ...) whenever the
//!    application asks; each returns a [`RequestId`] whose outcome arrives later as
//!    [`Event::Response`].
//! 3. After **every** input or command, drain the outputs in this order until each returns `None`:
//!    [`Engine::poll_transmit`] (write the frames to the socket, in order), [`Engine::poll_action`]
//!    (connect, fetch the route, close), [`Engine::poll_event`] (hand to the application).
//! 4. Then re-arm the single timer from [`Engine::poll_timeout`] (cancel it on `None`). The deadline
//!    moves with almost every input, so never keep a stale one; calling `handle_timeout` early is
//!    harmless.
//!
//! Rules for actions: on [`Action::Connect`] open a WebSocket offering `protocol` and report
//! `handle_connected` or `handle_disconnected(code)`; on [`Action::FetchRoute`] GET the URL and report
//! the `server`/`secondary` URLs; on [`Action::Close`] close the socket **without** reporting
//! `handle_disconnected` (the engine already accounted for it).
//!
//! Wall-clock time (for `lastPatchTime` and `read` timestamps) is derived from the `wall_ms` given at
//! construction plus elapsed `now`; correct it with [`Engine::set_wall_clock`].
//!
//! ```
//! use chinwag_core::{Action, ClientOptions, Engine, Event, Instant, Options, Response};
//! use chinwag_protocol::{CommandType, GenericCommand, OpType, SessionCommand};
//!
//! let mut now = Instant::from_millis(0);
//! let mut engine = Engine::new(Options::with_servers("app", ["ws://127.0.0.1:8080/"]), 42, now, 1_700_000_000_000);
//! let open = engine.open_client("Tom", ClientOptions::default(), now);
//!
//! // A driver loop body: drain everything, then re-arm the timer.
//! fn drain(engine: &mut Engine, wire: &mut Vec<GenericCommand>, now: Instant) -> Vec<Event> {
//!     while let Some(frame) = engine.poll_transmit() {
//!         wire.push(frame.decode().unwrap()); // a real driver writes the frame to the socket
//!     }
//!     while let Some(action) = engine.poll_action() {
//!         if let Action::Connect { .. } = action {
//!             engine.handle_connected(now); // a real driver opens the socket first
//!         }
//!     }
//!     let events = std::iter::from_fn(|| engine.poll_event()).collect();
//!     let _rearm_at = engine.poll_timeout();
//!     events
//! }
//!
//! let mut wire = Vec::new();
//! drain(&mut engine, &mut wire, now); // Connect → connected → session/open queued
//! drain(&mut engine, &mut wire, now); // the session/open frame is written
//! let sign_in = wire.pop().unwrap();
//! assert_eq!(sign_in.op_type(), Some(OpType::Open));
//!
//! // The server answers; the open request completes.
//! now = Instant::from_millis(30);
//! let reply = GenericCommand::reply_to(&sign_in, CommandType::Session)
//!     .with_op(OpType::Opened)
//!     .with_server_ts(1_700_000_000_030)
//!     .with(SessionCommand { st: Some("token".into()), st_ttl: Some(3600), ..Default::default() });
//! engine.handle_command(reply, now);
//! let events = drain(&mut engine, &mut wire, now);
//! assert!(events.contains(&Event::Response { client: "Tom".into(), request: open, result: Ok(Response::Opened) }));
//! ```

// Wide structs (the protocol's commands: `ConvCommand` has 38 fields) are filled in place after
// `default()` rather than built with `..Default::default()`: struct-update syntax copies every
// remaining field of the default value one by one, hundreds of bytes of wasm per construction.
#![allow(clippy::field_reassign_with_default)]

mod backoff;
mod commands;
mod conversation;
mod dedup;
mod dispatch;
mod engine;
mod event;
mod hold;
mod message;
mod options;
mod query;
mod requests;
mod rng;
mod sorted_map;
mod sorted_set;
mod time;

pub use backoff::base_delay;
pub use chinwag_protocol::{Frame, MessageContent, TypedMessage, json};
pub use conversation::{Conversation, ConversationKind};
pub use engine::{Action, Engine, FrameError};
pub use event::{DisconnectReason, Event, MemberReceipt, PartialFailure, RequestError, Response};
pub use message::{Message, MessageStatus, SendOptions};
pub use options::{ClientOptions, CreateConversation, HistoryQuery, Options, Signature};
pub use query::{ConversationQuery, quote};
pub use requests::{MemberOp, RequestId};
pub use sorted_set::SortedSet;
pub use time::Instant;
