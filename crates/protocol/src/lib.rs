//! The LeanCloud RTM wire protocol, shared by the chinwag SDK core and the chinwag server.
//!
//! ```
//! use chinwag_protocol::{CommandType, FrameFormat, GenericCommand, SessionCommand, Subprotocol};
//!
//! // What a client sends to sign in as "Tom" over `lc.protobuf2.3`:
//! let open = GenericCommand::request(CommandType::Session, 1)
//!     .with_op(chinwag_protocol::OpType::Open)
//!     .with_peer_id("Tom")
//!     .with(SessionCommand { ua: Some("chinwag/0.1".into()), ..Default::default() });
//! let subprotocol: Subprotocol = "lc.protobuf2.3".parse().unwrap();
//! let frame = subprotocol.format().encode(&open);
//! assert_eq!(frame.decode().unwrap(), open);
//! ```
//!
//! What lives here, one concept per module:
//! - [`wire`]: the types generated from `proto/messages.proto` (re-exported at the crate root);
//! - [`codec`]: the protobuf wire codec of those types (byte-identical to prost's, much smaller in wasm);
//! - [`base64`]: standard base64, small in wasm (the `base64` crate is the reference in tests);
//! - [`frame`]: one `GenericCommand` per WebSocket message, binary or base64 text, and the subprotocols;
//! - [`command`]: constructors and accessors so callers do not hand-fill `GenericCommand` structs;
//! - [`content`]: message bodies — typed messages (`_lctype` ...), plain text and binary payloads;
//! - [`json`]: the JSON value, reader and writer for the JSON carried in strings (small in wasm, numbers exact);
//! - [`error_code`]: the protocol's error codes and which WebSocket close codes are fatal.
//!
//! The crate is pure: no I/O, no async, no clock, and it builds for `wasm32-unknown-unknown`.

pub mod base64;
pub mod codec;
pub mod command;
pub mod content;
pub mod error_code;
pub mod frame;
pub mod json;

/// The types generated from `proto/messages.proto` (package `push_server.messages2`), with their
/// [`codec`] impls.
///
/// prost-build writes the types, so field names follow prost's snake_case conversion of the wire names
/// (`peerId` → `peer_id`, `where` → `r#where`) and enum fields are `Option<i32>`; the prost derives apply in
/// this crate's tests only, as the reference for the codec. Regenerate with `cargo xtask codegen`; never
/// edit the generated file by hand.
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    rust_2018_idioms,
    unused_qualifications
)]
pub mod wire {
    include!("generated/push_server.messages2.rs");
}

pub use command::{CommandBody, ServerError};
pub use content::{FileInfo, FileMetadata, Location, MessageContent, MessageKind, TypedMessage};
pub use error_code::{ErrorCode, is_fatal_close_code};
pub use frame::{DecodeError, Frame, FrameFormat, Subprotocol, UnknownSubprotocol};
pub use wire::*;

/// The `service` value of instant-messaging pushes (Swift dispatches only pushes with `service == 2`).
pub const IM_SERVICE: i32 = 2;
