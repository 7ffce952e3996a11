//! The server's hub fed arbitrary commands from three connections, after Tom and Jerry signed in, Tom
//! started a conversation with Jerry and opened a chat room: it never panics, everything it sends
//! encodes and decodes to itself, and every request is answered exactly once.
//!
//! Input: one byte of settings (small limits, a master key), then records
//! `[control][cmd][op][pick][len][protobuf; len]`. Random protobuf rarely names a signed-in client or a
//! real conversation, so a record can set the decoded command's `peerId`, `cmd`, `op` and conversation
//! ids to ones that exist.
#![no_main]

use chinwag_protocol::frame::{decode_binary, encode_binary};
use chinwag_protocol::{CommandType, ConvCommand, GenericCommand, OpType, SessionCommand};
use chinwag_server::{ConnId, Hub, HubConfig, Outgoing, RateLimit, SqliteStorage};
use libfuzzer_sys::fuzz_target;

const PEERS: [&str; 4] = ["Tom", "Jerry", "Mary", ""];

fn check(out: &[Outgoing]) {
    for sent in out {
        let command = sent.to_command();
        let bytes = encode_binary(&command);
        assert_eq!(
            decode_binary(&bytes).expect("what the hub sends decodes"),
            command
        );
    }
}

fn request(cmd: CommandType, op: OpType, serial: i32, peer: &str) -> GenericCommand {
    GenericCommand::request(cmd, serial)
        .with_op(op)
        .with_peer_id(peer)
}

/// The hub's settings, picked by the bits of `settings`: the limits a command can run into.
fn config(settings: u8) -> HubConfig {
    let mut config = HubConfig::new("app", "secret");
    let small = RateLimit {
        burst: 2,
        per_second: 1,
    };
    if settings & 1 != 0 {
        config.max_members = Some(3);
    }
    if settings & 2 != 0 {
        config.max_clients_per_connection = Some(2);
    }
    if settings & 4 != 0 {
        config.rate_limit = Some(small);
        config.client_rate_limit = Some(small);
    }
    if settings & 8 != 0 {
        config.chat_room_grace_ms = 0;
    }
    if settings & 16 != 0 {
        // Signatures checked when given, not required (the set-up sign-ins carry none).
        config.signature_key = Some(b"master".to_vec());
    }
    if settings & 32 != 0 {
        config.max_message_bytes = 16;
    }
    config
}

fuzz_target!(|data: &[u8]| {
    let [settings, data @ ..] = data else {
        return;
    };
    let storage = SqliteStorage::in_memory().expect("storage");
    let mut hub = Hub::new(config(*settings), storage).expect("hub");
    let mut now = 1_795_000_000_000_i64;
    for (conn, peer) in [(1, "Tom"), (2, "Jerry")] {
        hub.connect(conn);
        let open = request(CommandType::Session, OpType::Open, 1, peer)
            .with_app_id("app")
            .with(SessionCommand::default());
        check(&hub.handle(conn, open, now));
    }
    hub.connect(3);
    let start = request(CommandType::Conv, OpType::Start, 2, "Tom").with(ConvCommand {
        m: vec!["Jerry".into()],
        ..Default::default()
    });
    let out = hub.handle(1, start, now);
    check(&out);
    let started = |out: &[Outgoing]| {
        out.iter()
            .find_map(|o| o.command.conv_message.as_ref()?.cid.clone())
            .expect("the conversation started")
    };
    let cid = started(&out);
    let room = request(CommandType::Conv, OpType::Start, 3, "Tom").with(ConvCommand {
        transient: Some(true),
        ..Default::default()
    });
    let out = hub.handle(1, room, now);
    check(&out);
    let room = started(&out);

    let mut rest = data;
    while let [control, cmd, op, pick, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(len);
        rest = next;
        // control: seconds passing (bits 0-3), set the peer (4), set cmd and op (5), the connection
        // (6-7: 1, 2, 3, or the connection `pick` names drops and reconnects).
        now += i64::from(*control & 0x0f) * 1000;
        if control >> 6 == 3 {
            let conn = ConnId::from(*pick) % 3 + 1;
            check(&hub.disconnect(conn, now));
            hub.connect(conn);
            continue;
        }
        let conn = ConnId::from(control >> 6) + 1;
        let Ok(mut command) = decode_binary(body) else {
            continue;
        };
        if control & 0x10 != 0 {
            command.peer_id = Some(PEERS[usize::from(pick & 3)].to_string());
        }
        if control & 0x20 != 0 {
            command.cmd = Some(i32::from(*cmd) % 24);
            command.op = Some(i32::from(*op));
        }
        // pick: the peer (bits 0-1), the conversation (2: Tom and Jerry's, 3: the chat room).
        if pick & 12 != 0 {
            let cid = if pick & 4 != 0 { &cid } else { &room };
            for conv_id in [
                command.conv_message.as_mut().map(|c| &mut c.cid),
                command.direct_message.as_mut().map(|d| &mut d.cid),
                command.logs_message.as_mut().map(|l| &mut l.cid),
                command.rcp_message.as_mut().map(|r| &mut r.cid),
                command.blacklist_message.as_mut().map(|b| &mut b.src_cid),
            ]
            .into_iter()
            .flatten()
            {
                *conv_id = Some(cid.clone());
            }
        }
        // `i` absent or 0 is a push, not a request (PROTOCOL.md, `i`).
        let serial = command.serial();
        let asked = (command.cmd, command.op, command.peer_id.clone());
        let out = hub.handle(conn, command, now);
        check(&out);
        if let Some(serial) = serial {
            let answers = out
                .iter()
                .filter(|o| o.conn == conn && o.peer_id.is_none() && o.command.i == Some(serial))
                .count();
            // The official SDKs wait for the answer to every request (up to a 20 s timeout).
            assert_eq!(
                answers, 1,
                "request {serial} ({asked:?}) answered {answers} times"
            );
        }
    }
    for conn in 1..=3 {
        check(&hub.disconnect(conn, now));
    }
});
