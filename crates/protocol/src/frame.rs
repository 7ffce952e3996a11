//! Framing: one `GenericCommand` per WebSocket message, no length prefix (PROTOCOL.md §2.2).
//!
//! `lc.protobuf2.*` sends raw protobuf in binary frames; `lc.proto2base64.*` sends the standard base64 of
//! the same bytes in text frames. Decoding is total: any input gives a command or a [`DecodeError`].

use std::fmt;
use std::str::FromStr;

use crate::GenericCommand;
use crate::base64::{self, Base64Error};
use crate::codec::{self, WireError};

/// The WebSocket subprotocols of the LeanCloud RTM service (PROTOCOL.md §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subprotocol {
    /// `lc.protobuf2.3`: binary frames; what every current SDK sends.
    Protobuf2V3,
    /// `lc.protobuf2.1`: binary frames; 4.3.1's `pushOfflineMessages` mode and Swift's `protobuf1`.
    Protobuf2V1,
    /// `lc.proto2base64.3`: base64 text frames (`noBinary: true`).
    Proto2Base64V3,
    /// `lc.proto2base64.1`: base64 text frames, version 1.
    Proto2Base64V1,
}

impl Subprotocol {
    /// Every subprotocol, in order of preference when a client offers several.
    pub const ALL: [Subprotocol; 4] = [
        Self::Protobuf2V3,
        Self::Proto2Base64V3,
        Self::Protobuf2V1,
        Self::Proto2Base64V1,
    ];

    /// The name sent in `Sec-WebSocket-Protocol`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Protobuf2V3 => "lc.protobuf2.3",
            Self::Protobuf2V1 => "lc.protobuf2.1",
            Self::Proto2Base64V3 => "lc.proto2base64.3",
            Self::Proto2Base64V1 => "lc.proto2base64.1",
        }
    }

    /// Parses a subprotocol name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|candidate| candidate.as_str() == name.trim())
    }

    /// Picks the subprotocol to answer with from the client's offer (a `Sec-WebSocket-Protocol` header,
    /// comma separated), honouring the client's order.
    pub fn negotiate(offered: &str) -> Option<Self> {
        offered.split(',').find_map(Self::parse)
    }

    /// How frames are encoded under this subprotocol.
    pub const fn format(self) -> FrameFormat {
        match self {
            Self::Protobuf2V3 | Self::Protobuf2V1 => FrameFormat::Binary,
            Self::Proto2Base64V3 | Self::Proto2Base64V1 => FrameFormat::Base64Text,
        }
    }

    /// The protocol version: 3 for current SDKs, 1 for the legacy offline-push mode.
    pub const fn version(self) -> u8 {
        match self {
            Self::Protobuf2V3 | Self::Proto2Base64V3 => 3,
            Self::Protobuf2V1 | Self::Proto2Base64V1 => 1,
        }
    }
}

impl fmt::Display for Subprotocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the four RTM subprotocols.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown RTM subprotocol {0:?}")]
pub struct UnknownSubprotocol(pub String);

impl FromStr for Subprotocol {
    type Err = UnknownSubprotocol;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name).ok_or_else(|| UnknownSubprotocol(name.to_owned()))
    }
}

/// How commands are carried in WebSocket messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameFormat {
    /// Raw protobuf in binary messages.
    Binary,
    /// Standard base64 of the protobuf in text messages.
    Base64Text,
}

impl FrameFormat {
    /// Encodes one command as one WebSocket message.
    pub fn encode(self, command: &GenericCommand) -> Frame {
        let bytes = encode_binary(command);
        match self {
            Self::Binary => Frame::Binary(bytes),
            Self::Base64Text => Frame::Text(base64::encode(&bytes)),
        }
    }
}

/// One WebSocket data message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A binary message (`lc.protobuf2.*`).
    Binary(Vec<u8>),
    /// A text message (`lc.proto2base64.*`).
    Text(String),
}

impl Frame {
    /// Decodes the command this message carries. Like the official SDK, a text message is read as base64
    /// whatever the negotiated subprotocol, and a binary message as raw protobuf.
    pub fn decode(&self) -> Result<GenericCommand, DecodeError> {
        match self {
            Self::Binary(bytes) => decode_binary(bytes),
            Self::Text(text) => decode_text(text),
        }
    }

    /// The size of the message on the wire, in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Binary(bytes) => bytes.len(),
            Self::Text(text) => text.len(),
        }
    }

    /// Whether the message is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a WebSocket message could not be read as a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A text message that is not valid standard base64.
    #[error("text frame is not valid base64: {0}")]
    Base64(#[from] Base64Error),
    /// Bytes that are not a valid `GenericCommand`.
    #[error("frame is not a valid GenericCommand: {0}")]
    Protobuf(#[from] WireError),
}

/// Decodes a binary message (`lc.protobuf2.*`).
pub fn decode_binary(bytes: &[u8]) -> Result<GenericCommand, DecodeError> {
    Ok(codec::decode(bytes)?)
}

/// Decodes a text message (`lc.proto2base64.*`): base64, surrounding whitespace ignored.
pub fn decode_text(text: &str) -> Result<GenericCommand, DecodeError> {
    let bytes = base64::decode(text.trim())?;
    decode_binary(&bytes)
}

/// Encodes a command as raw protobuf bytes (the payload of a binary frame).
pub fn encode_binary(command: &GenericCommand) -> Vec<u8> {
    codec::encode(command)
}
