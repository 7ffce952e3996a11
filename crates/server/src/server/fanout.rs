//! Encoding outgoing commands once and handing them to bounded per-connection queues.
//!
//! A push to many recipients is one shared command without `peerId`; it is encoded once per batch
//! and each recipient's `peerId` (field 4) is appended to the bytes. Protobuf readers accept fields
//! in any order, so the result decodes exactly like the fully built command.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Message;
use base64::Engine as _;
use chinwag_protocol::{FrameFormat, GenericCommand};
use prost::Message as _;
use tokio::sync::mpsc;

use crate::hub::{ConnId, Outgoing};

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
    prost::encoding::encode_varint(peer_id.len() as u64, bytes);
    bytes.extend_from_slice(peer_id.as_bytes());
}

/// Encodes `outgoing` and queues the frames; returns connections whose queue is full or gone, which
/// the caller disconnects (a slow client is dropped, never waited for).
pub(crate) fn deliver(outgoing: Vec<Outgoing>, conns: &HashMap<ConnId, ConnHandle>) -> Vec<ConnId> {
    let mut encoded: HashMap<*const GenericCommand, Vec<u8>> = HashMap::new();
    let mut failed = Vec::new();
    for out in outgoing {
        let Some(handle) = conns.get(&out.conn) else {
            continue;
        };
        if failed.contains(&out.conn) {
            continue;
        }
        let body = encoded
            .entry(Arc::as_ptr(&out.command))
            .or_insert_with(|| out.command.encode_to_vec());
        let mut bytes = body.clone();
        if let Some(peer_id) = &out.peer_id {
            append_peer_id(&mut bytes, peer_id);
        }
        let frame = match handle.format {
            FrameFormat::Binary => Message::Binary(bytes.into()),
            FrameFormat::Base64Text => {
                Message::Text(base64::engine::general_purpose::STANDARD.encode(bytes).into())
            }
        };
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
        let mut bytes = push.encode_to_vec();
        append_peer_id(&mut bytes, "Jerry");
        let decoded = GenericCommand::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded, push.with_peer_id("Jerry"));
    }
}
