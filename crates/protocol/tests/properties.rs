//! Property tests: any `GenericCommand` survives encode → decode in both frame formats, and arbitrary input
//! never panics the decoder (it yields a command or a typed error).

use chinwag_protocol::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "[ -~\u{4e00}-\u{4e10}]{0,12}"
}

fn session() -> impl Strategy<Value = SessionCommand> {
    (
        option::of(any::<i64>()),
        option::of(text()),
        option::of(any::<bool>()),
        vec(text(), 0..3),
        option::of(any::<i32>()),
    )
        .prop_map(|(t, st, r, ids, code)| SessionCommand {
            t,
            st,
            r,
            session_peer_ids: ids,
            code,
            ..Default::default()
        })
}

fn direct() -> impl Strategy<Value = DirectCommand> {
    (
        option::of(text()),
        option::of(vec(any::<u8>(), 0..16)),
        option::of(any::<i64>()),
        vec(text(), 0..3),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(msg, binary_msg, timestamp, mention_pids, transient)| DirectCommand {
                msg,
                binary_msg,
                timestamp,
                mention_pids,
                transient,
                cid: Some("c".into()),
                ..Default::default()
            },
        )
}

fn conv() -> impl Strategy<Value = ConvCommand> {
    (
        vec(text(), 0..4),
        option::of(text()),
        option::of(any::<i32>()),
        vec((any::<i32>(), text()), 0..2),
    )
        .prop_map(|(m, cid, limit, failures)| ConvCommand {
            m,
            cid,
            limit,
            failed_pids: failures
                .into_iter()
                .map(|(code, reason)| ErrorCommand {
                    code,
                    reason,
                    ..Default::default()
                })
                .collect(),
            attr: Some(JsonObjectMessage { data: "{}".into() }),
            ..Default::default()
        })
}

fn unread() -> impl Strategy<Value = UnreadCommand> {
    (
        vec((text(), any::<i32>(), option::of(any::<i64>())), 0..4),
        option::of(any::<i64>()),
    )
        .prop_map(|(convs, notif_time)| UnreadCommand {
            convs: convs
                .into_iter()
                .map(|(cid, unread, timestamp)| UnreadTuple {
                    cid,
                    unread,
                    timestamp,
                    ..Default::default()
                })
                .collect(),
            notif_time,
        })
}

fn command() -> impl Strategy<Value = GenericCommand> {
    (
        (
            option::of(0..=21i32),
            option::of(prop_oneof![1..=13i32, 30..=55i32, 150..=190i32]),
            option::of(any::<i32>()),
        ),
        (option::of(text()), option::of(any::<i64>()), option::of(Just(2))),
        (
            option::of(session()),
            option::of(direct()),
            option::of(conv()),
            option::of(unread()),
        ),
    )
        .prop_map(
            |((cmd, op, i), (peer_id, server_ts, service), (session, direct, conv, unread))| GenericCommand {
                cmd,
                op,
                i,
                peer_id,
                server_ts,
                service,
                session_message: session.map(Box::new),
                direct_message: direct.map(Box::new),
                conv_message: conv.map(Box::new),
                unread_message: unread.map(Box::new),
                ..Default::default()
            },
        )
}

proptest! {
    #[test]
    fn any_command_round_trips_in_both_formats(command in command()) {
        for format in [FrameFormat::Binary, FrameFormat::Base64Text] {
            let frame = format.encode(&command);
            prop_assert_eq!(frame.decode(), Ok(command.clone()));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in vec(any::<u8>(), 0..512)) {
        // Either outcome is fine; what matters is that it returns.
        let _ = Frame::Binary(bytes.clone()).decode();
        let _ = Frame::Text(String::from_utf8_lossy(&bytes).into_owned()).decode();
    }

    #[test]
    fn truncated_valid_frames_give_an_error_or_a_command(command in command(), cut in 0usize..64) {
        let bytes = frame::encode_binary(&command);
        let end = bytes.len().saturating_sub(cut);
        let _ = frame::decode_binary(&bytes[..end]);
    }

    #[test]
    fn typed_messages_round_trip_with_unknown_keys(
        kind in prop_oneof![Just(-1), Just(-5), Just(-127), 1..1000i32],
        caption in option::of(text()),
        extra in vec(("[a-z]{1,6}", any::<i64>()), 0..4),
    ) {
        let mut body = serde_json::Map::new();
        body.insert("_lctype".into(), kind.into());
        if let Some(caption) = caption {
            body.insert("_lctext".into(), caption.into());
        }
        for (key, value) in extra {
            body.insert(format!("x_{key}"), value.into());
        }
        let wire = serde_json::Value::Object(body).to_string();
        let parsed = MessageContent::parse(&wire);
        prop_assert_eq!(parsed.kind(), Some(MessageKind::from_code(kind)));
        prop_assert_eq!(parsed.to_wire().0, Some(wire));
    }
}

#[test]
fn garbage_gives_typed_errors() {
    assert!(matches!(
        Frame::Text("not base64!".into()).decode(),
        Err(DecodeError::Base64(_))
    ));
    assert!(matches!(
        Frame::Binary(vec![0xff; 8]).decode(),
        Err(DecodeError::Protobuf(_))
    ));
    // A field header that promises more bytes than the frame has.
    assert!(matches!(
        Frame::Binary(vec![0x8a, 0x06, 0x7f]).decode(),
        Err(DecodeError::Protobuf(_))
    ));
    assert_eq!(Frame::Binary(Vec::new()).decode(), Ok(GenericCommand::default()));
}

#[test]
fn subprotocols_parse_and_name_themselves() {
    for (name, format, version) in [
        ("lc.protobuf2.3", FrameFormat::Binary, 3),
        ("lc.protobuf2.1", FrameFormat::Binary, 1),
        ("lc.proto2base64.3", FrameFormat::Base64Text, 3),
        ("lc.proto2base64.1", FrameFormat::Base64Text, 1),
    ] {
        let subprotocol: Subprotocol = name.parse().expect("known");
        assert_eq!(
            (subprotocol.as_str(), subprotocol.format(), subprotocol.version()),
            (name, format, version)
        );
        assert_eq!(subprotocol.to_string(), name);
    }
    assert_eq!(
        "lc.json.3".parse::<Subprotocol>(),
        Err(UnknownSubprotocol("lc.json.3".into()))
    );
    assert_eq!(
        Subprotocol::negotiate("lc.json.1, lc.proto2base64.3, lc.protobuf2.3"),
        Some(Subprotocol::Proto2Base64V3)
    );
    assert_eq!(Subprotocol::negotiate("chat"), None);
}
