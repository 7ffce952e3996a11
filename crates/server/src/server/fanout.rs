//! Encoding outgoing commands once and handing them to bounded per-connection queues.
//!
//! A push to many recipients is one shared command without `peerId`; it is encoded once (binary,
//! and base64 once more if any recipient speaks the text subprotocol) and each recipient's `peerId`
//! (field 4) is appended to the bytes. Protobuf readers accept fields in any order, so the result
//! decodes exactly like the fully built command. A frame without `peerId` shares the encoded bytes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::{Message, Utf8Bytes};
use base64::Engine as _;
use chinwag_protocol::{FrameFormat, GenericCommand, codec, frame};
use tokio::sync::mpsc;

use crate::hub::{ConnId, Outgoing};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Where a connection's frames go.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    /// The bounded queue its writer drains.
    pub(crate) tx: mpsc::Sender<Message>,
    /// Binary or base64 text frames.
    pub(crate) format: FrameFormat,
}

/// Appends `peerId` (field 4, length-delimited) to an encoded command.
pub(crate) fn append_peer_id(bytes: &mut Vec<u8>, peer_id: &str) {
    const PEER_ID_KEY: u8 = (4 << 3) | 2;
    bytes.push(PEER_ID_KEY);
    codec::encode_varint(peer_id.len() as u64, bytes);
    bytes.extend_from_slice(peer_id.as_bytes());
}

/// One command, encoded once for all the frames that carry it.
struct Encoded {
    command: Arc<GenericCommand>,
    /// The protobuf bytes, without `peerId`.
    binary: Bytes,
    /// Base64 of the whole body (for frames without `peerId`), made on first use.
    text: Option<Utf8Bytes>,
    /// Base64 of the body's first `3 * (len / 3)` bytes, made on first use: base64 works in 3-byte
    /// groups, so a recipient's text frame is this prefix plus the base64 of the last 0–2 body
    /// bytes followed by its `peerId` field.
    text_prefix: Option<String>,
}

impl Encoded {
    fn new(command: Arc<GenericCommand>) -> Self {
        let binary = frame::encode_binary(&command).into();
        Self {
            command,
            binary,
            text: None,
            text_prefix: None,
        }
    }

    /// The frame for a connection in `format`, with `peer_id` appended if given. `scratch` is a
    /// buffer reused across calls.
    fn frame(&mut self, format: FrameFormat, peer_id: Option<&str>, scratch: &mut Vec<u8>) -> Message {
        match (format, peer_id) {
            (FrameFormat::Binary, None) => Message::Binary(self.binary.clone()),
            (FrameFormat::Binary, Some(peer_id)) => {
                let mut bytes = Vec::with_capacity(self.binary.len() + peer_id.len() + 6);
                bytes.extend_from_slice(&self.binary);
                append_peer_id(&mut bytes, peer_id);
                Message::Binary(bytes.into())
            }
            (FrameFormat::Base64Text, None) => {
                let binary = &self.binary;
                Message::Text(
                    self.text
                        .get_or_insert_with(|| BASE64.encode(binary).into())
                        .clone(),
                )
            }
            (FrameFormat::Base64Text, Some(peer_id)) => {
                let whole = self.binary.len() / 3 * 3;
                let binary = &self.binary;
                let prefix = self
                    .text_prefix
                    .get_or_insert_with(|| BASE64.encode(&binary[..whole]));
                scratch.clear();
                scratch.extend_from_slice(&self.binary[whole..]);
                append_peer_id(scratch, peer_id);
                let mut text = String::with_capacity(prefix.len() + scratch.len().div_ceil(3) * 4);
                text.push_str(prefix);
                BASE64.encode_string(&*scratch, &mut text);
                Message::Text(text.into())
            }
        }
    }
}

/// Encodes `outgoing` and queues the frames; returns connections whose queue is full or gone, which
/// the caller disconnects (a slow client is dropped, never waited for).
pub(crate) fn deliver(outgoing: Vec<Outgoing>, conns: &HashMap<ConnId, ConnHandle>) -> Vec<ConnId> {
    // The hub emits a push's copies one after another, so remembering the last command encoded
    // is enough to encode each command once.
    let mut last: Option<Encoded> = None;
    let mut scratch = Vec::new();
    let mut failed = Vec::new();
    for out in outgoing {
        let Some(handle) = conns.get(&out.conn) else {
            continue;
        };
        if failed.contains(&out.conn) {
            continue;
        }
        let encoded = match &mut last {
            Some(encoded) if Arc::ptr_eq(&encoded.command, &out.command) => encoded,
            _ => last.insert(Encoded::new(out.command)),
        };
        let frame = encoded.frame(handle.format, out.peer_id.as_deref(), &mut scratch);
        if handle.tx.try_send(frame).is_err() {
            tracing::warn!(conn = out.conn, "outgoing queue full or closed; disconnecting");
            failed.push(out.conn);
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use chinwag_protocol::{CommandType, DirectCommand};

    #[test]
    fn a_full_queue_reports_its_connection_and_spares_the_others() {
        let (slow_tx, _slow_rx) = mpsc::channel(1);
        let (fast_tx, mut fast_rx) = mpsc::channel(8);
        let conns = HashMap::from([
            (
                1,
                ConnHandle {
                    tx: slow_tx,
                    format: FrameFormat::Binary,
                },
            ),
            (
                2,
                ConnHandle {
                    tx: fast_tx,
                    format: FrameFormat::Base64Text,
                },
            ),
        ]);
        let push = Arc::new(GenericCommand::new(CommandType::Direct));
        let outgoing: Vec<Outgoing> = (0..3)
            .flat_map(|_| {
                [1, 2].map(|conn| Outgoing {
                    conn,
                    command: Arc::clone(&push),
                    peer_id: Some("Jerry".into()),
                })
            })
            .collect();
        assert_eq!(deliver(outgoing, &conns), vec![1]);
        let mut delivered = 0;
        while let Ok(frame) = fast_rx.try_recv() {
            assert!(matches!(frame, Message::Text(_)), "base64 connections get text");
            delivered += 1;
        }
        assert_eq!(delivered, 3);
    }

    #[test]
    fn appended_peer_id_decodes_like_a_built_command() {
        let push = GenericCommand::new(CommandType::Direct).with(DirectCommand {
            msg: Some("hi".into()),
            ..Default::default()
        });
        let mut bytes = frame::encode_binary(&push);
        append_peer_id(&mut bytes, "Jerry");
        let decoded = frame::decode_binary(&bytes).expect("decodes");
        assert_eq!(decoded, push.with_peer_id("Jerry"));
    }

    /// Every body length modulo 3 (base64 groups): each text frame is the base64 of the binary
    /// frame, both decode to the command with the recipient's `peerId`, and a frame without
    /// `peerId` is the plain body.
    #[test]
    fn text_and_binary_frames_carry_the_same_bytes_for_every_recipient() {
        for len in 0..6 {
            let push = Arc::new(GenericCommand::new(CommandType::Direct).with(DirectCommand {
                msg: Some("x".repeat(len)),
                ..Default::default()
            }));
            let mut encoded = Encoded::new(Arc::clone(&push));
            let mut scratch = Vec::new();
            for peer_id in [Some("Jerry"), Some("Tom"), None, Some(&*"m".repeat(200))] {
                let Message::Binary(binary) = encoded.frame(FrameFormat::Binary, peer_id, &mut scratch)
                else {
                    panic!("binary connections get binary frames");
                };
                let Message::Text(text) = encoded.frame(FrameFormat::Base64Text, peer_id, &mut scratch)
                else {
                    panic!("base64 connections get text frames");
                };
                assert_eq!(text.as_str(), BASE64.encode(&binary), "len {len}, {peer_id:?}");
                let expected = match peer_id {
                    Some(peer_id) => GenericCommand::clone(&push).with_peer_id(peer_id),
                    None => GenericCommand::clone(&push),
                };
                assert_eq!(frame::decode_binary(&binary).expect("decodes"), expected);
            }
        }
    }
}
