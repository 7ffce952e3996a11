//! chinwag for Swift, Kotlin and Python: the uniffi front end of the [`chinwag`] tokio SDK.
//!
//! ```python
//! import asyncio, chinwag
//!
//! async def main():
//!     realtime = chinwag.Realtime(chinwag.RealtimeOptions(app_id="my-app", app_key="my-key",
//!                                                         server="http://127.0.0.1:8282"))
//!     tom = await realtime.create_im_client("Tom")
//!     conversation = await tom.create_conversation(
//!         chinwag.CreateConversationOptions(members=["Jerry"], name="Tom & Jerry"))
//!     await conversation.send("Hi, Jerry.")
//!     while (event := await tom.next_event()) is not None:
//!         print(event)
//!
//! asyncio.run(main())
//! ```
//!
//! # Shape
//!
//! - [`Realtime`] owns a tokio runtime (one worker thread) and the SDK's connection; every object made
//!   from it ([`Client`], [`Conversation`], [`Query`], [`HistoryPages`]) shares that runtime, which
//!   shuts down when the last of them is released.
//! - Every call that talks to the server is `async` (Swift `async`, Kotlin `suspend`, Python
//!   coroutine): it runs the one SDK method it wraps on the owned runtime and awaits its outcome, so
//!   the foreign executor never needs tokio.
//! - Events are pulled: `await client.next_event()` and `await conversation.next_event()` return the
//!   next [`Event`], or `None`/`nil`/`null` once the client is closed. Each puller has a bounded
//!   buffer: when an application stops pulling, the oldest events are dropped and the next pull
//!   returns [`Event::Lagged`] with how many were lost, so forgetting to pull never grows memory.
//!   Releasing the object stops its subscription.
//! - A process may end right after a call: [`prepare_for_exit`] (registered with `atexit` by the
//!   generated Python module) stops the runtime's threads from calling into foreign code first.
//! - Errors are one type, [`ChinwagError`]: `Server { code, name, detail, .. }` with the server's
//!   protocol code, symbolic name and message, or `Local { name, detail }` for failures on this side
//!   (`TIMEOUT`, `CONNECTION_LOST`, ...).
//!
//! Nothing here decides anything: each method converts its arguments, calls one method of the
//! [`chinwag`] crate and converts the result.

// The scaffolding uniffi generates (the `extern "C"` functions the foreign code calls) is `unsafe` and
// undocumented by nature; the workspace's `unsafe_code = "forbid"` applies to our code only because the
// lint does not fire on proc-macro output.
uniffi::setup_scaffolding!("chinwag");

mod client;
mod conversation;
mod error;
mod events;
mod exit;
mod realtime;
mod runtime;
mod types;

pub use client::{Client, Query};
pub use conversation::{Conversation, HistoryPages};
pub use error::ChinwagError;
pub use events::Event;
pub use exit::prepare_for_exit;
pub use realtime::Realtime;
pub use types::{
    ClientOptions, ConversationInfo, ConversationKind, CreateConversationOptions, HistoryQuery,
    MemberFailure, MemberReceipt, MembershipResult, Message, MessageBody, MessageStatus, RealtimeOptions,
    ReceiptTimestamps, SendOptions, Signature, UnreadCount,
};
