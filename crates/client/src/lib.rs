//! chinwag: a LeanCloud RTM (real-time chat) SDK for Rust on tokio, talking to LeanCloud or to a
//! self-hosted chinwag-server.
//!
//! ```no_run
//! use chinwag::{Event, Realtime, RealtimeOptions, TextMessage};
//!
//! # async fn quickstart() -> chinwag::Result<()> {
//! let realtime = Realtime::new(RealtimeOptions::new("my-app", "my-key").server("http://127.0.0.1:8282"));
//! let tom = realtime.create_im_client("Tom").await?;
//! let conversation = tom.create_conversation().members(["Jerry"]).name("Tom & Jerry").await?;
//! conversation.send(TextMessage::new("Hi, Jerry.")).await?;
//!
//! let jerry = realtime.create_im_client("Jerry").await?;
//! let mut events = jerry.events();
//! while let Some(event) = events.recv().await {
//!     if let Event::Message { message } = event {
//!         println!("{}: {}", message.from, message.content.text().unwrap_or_default());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! `cargo run --example quickstart` runs the whole seed guide (Tom, Jerry and Mary) against an embedded
//! server.
//!
//! # Shape
//!
//! - [`Realtime`] owns one WebSocket shared by every client signed in through it;
//!   [`Realtime::create_im_client`] signs a client in and returns a [`Client`].
//! - [`Client`]: [`create_conversation`](Client::create_conversation) (a builder you `.await`),
//!   [`query`](Client::query), [`get_conversation`](Client::get_conversation),
//!   [`events`](Client::events), [`close`](Client::close).
//! - [`Conversation`]: [`send`](Conversation::send), [`add`](Conversation::add),
//!   [`remove`](Conversation::remove), [`join`](Conversation::join), [`quit`](Conversation::quit),
//!   [`update`](Conversation::update), [`history`](Conversation::history),
//!   [`recall`](Conversation::recall), [`edit`](Conversation::edit), [`read`](Conversation::read),
//!   receipts, [`events`](Conversation::events).
//! - Events arrive as a [`Stream`](futures_util::Stream) of [`Event`] per client and per conversation;
//!   connection events (`Disconnected`, `Reconnecting { attempt, delay }`, `Reconnected`) reach
//!   every client.
//! - Errors are one [`Error`] type; server errors carry the protocol's `code` and `name`.
//! - Nothing waits forever: [`Realtime::create_im_client`] fails with [`Error::Timeout`] after
//!   [`RealtimeOptions::sign_in_timeout`] (30 s) when the server cannot be reached, other requests after
//!   [`RealtimeOptions::request_timeout`] (20 s); sends wait in the offline queue for the next sign-in.
//! - Each [`EventStream`] keeps at most [`RealtimeOptions::event_buffer`] unread events (1,000); one
//!   that is not read drops its oldest and reports them with [`Event::Lagged`].
//! - Dropping the last handle signs every client out (`session/close`) before the socket closes,
//!   best effort; call [`Client::close`] or [`Realtime::close`] when a clean sign-out matters.
//! - Handles are cheap to clone and `Send + Sync`.
//!
//! # How it works
//!
//! All behaviour (sign-in, reconnect with backoff, re-login, the offline queue, de-duplication, gap
//! filling after a reconnect, unread counts) lives in the sans-I/O [`chinwag_core::Engine`]. This crate
//! is its tokio driver: one task owns the WebSocket (tokio-tungstenite; rustls for `wss://`; the
//! `lc.protobuf2.3` subprotocol) and the engine; handles send it commands over a channel and wait for
//! the reply matched by request id; the task drains the engine after every input and re-arms one
//! timer from `poll_timeout`. The WASM and uniffi front ends mirror this shape.

mod client;
mod conversation;
mod driver;
mod error;
mod event;
mod http;
mod message;
mod options;
mod query;
mod queue;
mod realtime;

pub use chinwag_core::{
    ClientOptions, ConversationKind, ConversationQuery, DisconnectReason, HistoryQuery, MemberReceipt,
    Message, MessageContent, MessageStatus, PartialFailure, SendOptions, Signature, TypedMessage,
};
pub use chinwag_protocol::{FileInfo, Location, MessageKind, json};
pub use client::{Client, CreateConversationBuilder};
pub use conversation::{Conversation, HistoryPages, MembershipResult, ReceiptTimestamps};
pub use error::{Error, Result};
pub use event::Event;
pub use message::{BinaryMessage, TextMessage};
pub use options::{Endpoint, RealtimeOptions};
pub use query::Query;
pub use realtime::{EventStream, Realtime};

/// The cached state of a conversation, as returned by [`Conversation::info`].
pub type ConversationInfo = chinwag_core::Conversation;
