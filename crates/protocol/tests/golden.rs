//! Golden vectors: bytes produced by the official `leancloud-realtime` encoder (protobufjs 5), committed in
//! `golden/vectors/` by `cargo xtask golden`. Every vector must decode to the values the generator put in
//! (`golden/generate.cjs`) and re-encode to identical bytes, in binary and in base64 text form.

use std::path::{Path, PathBuf};

use chinwag_protocol::logs_command::QueryDirection;
use chinwag_protocol::*;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/vectors")
}

fn vector_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir())
        .expect("golden/vectors exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".bin").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

fn load(name: &str) -> (Vec<u8>, String) {
    let bytes = std::fs::read(vectors_dir().join(format!("{name}.bin"))).expect("binary vector");
    let text = std::fs::read_to_string(vectors_dir().join(format!("{name}.b64"))).expect("text vector");
    (bytes, text.trim_end().to_owned())
}

const CID: &str = "5b1f0a0a1f2e3d4c5b6a7980";
const MID: &str = "Nq5VvbWCQ6ucBkk9L4SYmw";

fn s(value: &str) -> Option<String> {
    Some(value.to_owned())
}

#[test]
fn there_are_at_least_twenty_vectors() {
    assert!(vector_names().len() >= 20, "found {:?}", vector_names());
}

#[test]
fn every_vector_reencodes_byte_identically_in_both_frame_formats() {
    for name in vector_names() {
        let (bytes, text) = load(&name);
        let command = Frame::Binary(bytes.clone())
            .decode()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            FrameFormat::Binary.encode(&command),
            Frame::Binary(bytes),
            "{name}: binary re-encode"
        );
        assert_eq!(
            Frame::Text(text.clone()).decode().as_ref(),
            Ok(&command),
            "{name}: text decode"
        );
        assert_eq!(
            FrameFormat::Base64Text.encode(&command),
            Frame::Text(text),
            "{name}: text re-encode"
        );
    }
}

#[test]
fn every_vector_decodes_to_the_generated_values() {
    for name in vector_names() {
        let (bytes, _) = load(&name);
        let c = frame::decode_binary(&bytes).expect("decodes");
        check(&name, &c);
    }
}

/// The values of `golden/generate.cjs`, vector by vector. A new vector without assertions fails here.
fn check(name: &str, c: &GenericCommand) {
    let text = |t: &str| MessageContent::Typed(TypedMessage::text(t));
    match name {
        "session_open" => {
            assert_eq!(
                (c.command_type(), c.op_type(), c.serial()),
                (Some(CommandType::Session), Some(OpType::Open), Some(1))
            );
            assert_eq!(c.app_id, s("x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz"));
            assert_eq!(c.peer_id, s("Tom"));
            let session = c.session_message.as_ref().expect("session");
            assert_eq!(session.ua, s("js/5.0.0-rc.8"));
            assert_eq!(session.r, Some(false));
            assert_eq!(session.tag, s("mobile"));
            assert_eq!(session.device_id, s("5b6e2a7c-6f6d-4d0e-9f41-3c1a2b3c4d5e"));
            assert_eq!(
                (session.s.as_deref(), session.t, session.n.as_deref()),
                (
                    Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"),
                    Some(1732560000),
                    Some("nonce-1")
                )
            );
            assert_eq!(session.last_unread_notif_time, Some(1732560000123));
            assert_eq!(session.last_patch_time, Some(1732560000456));
            assert_eq!(session.config_bitmap, Some(187));
        }
        "session_open_relogin" => {
            let session = c.session_message.as_ref().expect("session");
            assert_eq!(
                (session.r, session.st.as_deref(), session.tag.as_deref()),
                (Some(true), Some("st-token-abc"), None)
            );
            assert_eq!(c.serial(), Some(7));
        }
        "session_opened" => {
            assert_eq!(c.op_type(), Some(OpType::Opened));
            assert_eq!(
                (c.peer_id.as_deref(), c.server_ts),
                (Some("Tom"), Some(1732560001000))
            );
            let session = c.session_message.as_ref().expect("session");
            assert_eq!(
                (session.st.as_deref(), session.st_ttl),
                (Some("st-token-abc"), Some(17280))
            );
        }
        "session_closed_conflict" => {
            assert!(c.is_push());
            assert_eq!((c.op_type(), c.service), (Some(OpType::Closed), Some(2)));
            let error = c.server_error().expect("an error");
            assert_eq!((error.code, error.name()), (4111, "SESSION_CONFLICT"));
            assert_eq!(error.detail.as_deref(), Some("another device logged in"));
        }
        "session_query_result" => {
            assert_eq!(c.op_type(), Some(OpType::QueryResult));
            assert_eq!(
                c.session_message
                    .as_ref()
                    .map(|m| m.online_session_peer_ids.clone()),
                Some(vec!["Jerry".into(), "Mary".into()])
            );
        }
        "direct_send_text" => {
            assert_eq!(
                (c.command_type(), c.serial(), c.peer_id.as_deref()),
                (Some(CommandType::Direct), Some(2), None)
            );
            let direct = c.direct_message.as_ref().expect("direct");
            assert_eq!(direct.cid.as_deref(), Some(CID));
            assert_eq!(
                MessageContent::from_wire(direct.msg.as_deref(), direct.binary_msg.as_deref()),
                text("Hi, Jerry.")
            );
            assert_eq!(
                (direct.r, direct.transient, direct.will, direct.mention_all),
                (Some(true), Some(false), Some(false), Some(false))
            );
            assert_eq!(direct.dt, s("2f7b1c9e-1111-4222-8333-944455556666"));
            assert_eq!(direct.push_data, s(r#"{"alert":"new message"}"#));
            assert_eq!(direct.mention_pids, ["Jerry"]);
        }
        "direct_send_binary" => {
            let direct = c.direct_message.as_ref().expect("direct");
            assert_eq!(
                MessageContent::from_wire(direct.msg.as_deref(), direct.binary_msg.as_deref()),
                MessageContent::Binary(vec![0, 1, 2, 0xfe, 0xff])
            );
            assert_eq!(
                (direct.transient, direct.dt.as_deref()),
                (Some(true), Some("dt-binary-1"))
            );
        }
        "direct_push" => {
            assert_eq!(
                (c.peer_id.as_deref(), c.service, c.is_push()),
                (Some("Jerry"), Some(2), true)
            );
            let direct = c.direct_message.as_ref().expect("direct");
            assert_eq!(
                (direct.id.as_deref(), direct.from_peer_id.as_deref()),
                (Some(MID), Some("Tom"))
            );
            assert_eq!(
                (
                    direct.timestamp,
                    direct.offline,
                    direct.has_more,
                    direct.conv_type
                ),
                (Some(1732560002000), Some(true), Some(false), Some(1))
            );
        }
        "ack_reply" => {
            let ack = c.ack_message.as_ref().expect("ack");
            assert_eq!(
                (ack.uid.as_deref(), ack.t, c.serial()),
                (Some(MID), Some(1732560002000), Some(2))
            );
            assert_eq!(c.server_error(), None);
        }
        "ack_error_reply" => {
            let error = c.server_error().expect("error");
            assert_eq!(
                (error.code, error.name(), error.app_code),
                (4401, "INVALID_MESSAGING_TARGET", Some(0))
            );
        }
        "client_ack_range" => {
            let ack = c.ack_message.as_ref().expect("ack");
            assert_eq!(
                (ack.cid.as_deref(), ack.fromts, ack.tots),
                (Some(CID), Some(1732560002000), Some(1732560009000))
            );
            assert!(c.is_push());
        }
        "client_ack_mid" => {
            let ack = c.ack_message.as_ref().expect("ack");
            assert_eq!((ack.cid.as_deref(), ack.mid.as_deref()), (Some(CID), Some(MID)));
        }
        "rcp_push" => {
            let rcp = c.rcp_message.as_ref().expect("rcp");
            assert_eq!(
                (rcp.id.as_deref(), rcp.t, rcp.read, rcp.from.as_deref()),
                (Some(MID), Some(1732560003000), Some(true), Some("Jerry"))
            );
        }
        "unread_push" => {
            let unread = c.unread_message.as_ref().expect("unread");
            assert_eq!(unread.notif_time, Some(1732560006000));
            let counts: Vec<(&str, i32)> = unread.convs.iter().map(|t| (t.cid.as_str(), t.unread)).collect();
            assert_eq!(counts, [("conv-a", 3), ("conv-b", 0), ("conv-c", 12)]);
            assert_eq!(
                (unread.convs[0].mentioned, unread.convs[0].patch_timestamp),
                (Some(true), Some(1732560004500))
            );
            assert_eq!(unread.convs[2].binary_msg.as_deref(), Some(&[9u8, 8, 7][..]));
        }
        "read" => {
            let read = c.read_message.as_ref().expect("read");
            assert_eq!(read.convs.len(), 2);
            assert_eq!(
                (read.convs[0].cid.as_str(), read.convs[0].mid.as_deref()),
                ("conv-a", Some("mid-a"))
            );
            assert_eq!(
                (read.convs[1].mid.as_deref(), read.convs[1].timestamp),
                (None, Some(1732560005000))
            );
        }
        "logs_query" => {
            let logs = c.logs_message.as_ref().expect("logs");
            assert_eq!(
                (logs.t, logs.mid.as_deref(), logs.t_included),
                (Some(1732560000000), Some("mid-start"), Some(false))
            );
            assert_eq!(
                (logs.tt, logs.tmid.as_deref(), logs.tt_included),
                (Some(1732560009000), Some("mid-end"), Some(true))
            );
            assert_eq!((logs.l, logs.limit, logs.lctype), (Some(50), None, Some(-1)));
            assert_eq!(logs.direction(), QueryDirection::New);
        }
        "logs_result" => {
            let logs = &c.logs_message.as_ref().expect("logs").logs;
            let ids: Vec<_> = logs.iter().map(|l| l.msg_id.as_deref()).collect();
            assert_eq!(ids, [Some("m1"), Some("m2"), Some("m3")]);
            assert_eq!(
                (logs[0].ack_at, logs[0].read_at),
                (Some(1732560001100), Some(1732560001200))
            );
            assert_eq!(
                (logs[1].bin, logs[1].data.as_deref()),
                (Some(true), Some("AAEC/w=="))
            );
            assert_eq!(logs[2].mention_pids, ["Jerry", "Mary"]);
        }
        "conv_start" => {
            assert_eq!(c.op_type(), Some(OpType::Start));
            let conv = c.conv_message.as_ref().expect("conv");
            assert_eq!(conv.m, ["Jerry", "Tom"]);
            assert_eq!((conv.unique, conv.transient), (Some(true), Some(false)));
            let attr: serde_json::Value =
                serde_json::from_str(&conv.attr.as_ref().expect("attr").data).expect("json");
            assert_eq!(attr["name"], "Tom & Jerry");
            assert_eq!(attr["since"]["__type"], "Date");
        }
        "conv_started" => {
            let conv = c.conv_message.as_ref().expect("conv");
            assert_eq!(
                (conv.cid.as_deref(), conv.cdate.as_deref()),
                (Some(CID), Some("2026-11-25T12:00:01.000Z"))
            );
        }
        "conv_query" => {
            let conv = c.conv_message.as_ref().expect("conv");
            let query: serde_json::Value =
                serde_json::from_str(&conv.r#where.as_ref().expect("where").data).expect("json");
            assert_eq!(query["m"]["$all"][0], "Jerry");
            assert_eq!(query["name"]["$regex"], "^\\QTom\\E");
            assert_eq!(
                (conv.sort.as_deref(), conv.limit, conv.skip, conv.flag),
                (Some("-lm"), Some(10), Some(0), Some(3))
            );
        }
        "conv_query_result" => {
            assert_eq!(c.op_type(), Some(OpType::Results));
            let results: serde_json::Value = serde_json::from_str(
                &c.conv_message
                    .as_ref()
                    .and_then(|m| m.results.as_ref())
                    .expect("results")
                    .data,
            )
            .expect("json");
            assert_eq!(results[0]["objectId"], CID);
            assert_eq!(results[0]["msg_timestamp"], 1732560002000_i64);
        }
        "conv_members_joined" => {
            assert_eq!(
                (c.op_type(), c.notification_type, c.server_ts),
                (Some(OpType::MembersJoined), Some(1), Some(1732560007000))
            );
            let conv = c.conv_message.as_ref().expect("conv");
            assert_eq!(
                (conv.m.as_slice(), conv.init_by.as_deref()),
                (&["Mary".to_owned()][..], Some("Tom"))
            );
        }
        "conv_joined" => {
            assert_eq!(
                (c.op_type(), c.peer_id.as_deref()),
                (Some(OpType::Joined), Some("Mary"))
            );
            assert_eq!(
                c.conv_message.as_ref().and_then(|m| m.init_by.as_deref()),
                Some("Tom")
            );
        }
        "conv_add_partial" => {
            let conv = c.conv_message.as_ref().expect("conv");
            assert_eq!(conv.allowed_pids, ["Mary"]);
            let failure = ServerError::from_error_command(&conv.failed_pids[0]);
            assert_eq!((failure.code, failure.name()), (4315, "CONVERSATION_BLACKLISTED"));
            assert_eq!(conv.failed_pids[0].pids, ["Spike"]);
        }
        "conv_update" => {
            let conv = c.conv_message.as_ref().expect("conv");
            assert_eq!(
                conv.attr.as_ref().map(|a| a.data.as_str()),
                Some(r#"{"name":"Cat & Mouse","attr.lee":1}"#)
            );
        }
        "conv_member_info_update" => {
            let conv = c.conv_message.as_ref().expect("conv");
            let info = conv.info.as_ref().expect("info");
            assert_eq!(
                (
                    conv.target_client_id.as_deref(),
                    info.pid.as_deref(),
                    info.role.as_deref()
                ),
                (Some("Jerry"), Some("Jerry"), Some("Manager"))
            );
        }
        "patch_modify" => {
            let item = &c.patch_message.as_ref().expect("patch").patches[0];
            assert_eq!(
                (item.mid.as_deref(), item.recall, item.timestamp),
                (Some(MID), Some(false), Some(1732560002000))
            );
            assert_eq!(
                MessageContent::from_wire(item.data.as_deref(), None),
                text("Hi, Jerry!")
            );
        }
        "patch_recall_push" => {
            let patch = c.patch_message.as_ref().expect("patch");
            let item = &patch.patches[0];
            assert_eq!(
                (item.recall, item.patch_timestamp, item.from.as_deref()),
                (Some(true), Some(1732560008000), Some("Tom"))
            );
            assert_eq!(
                MessageContent::from_wire(item.data.as_deref(), None).kind(),
                Some(MessageKind::Recalled)
            );
            assert_eq!(
                (item.patch_code, item.patch_reason.as_deref()),
                (Some(1), Some("recalled by sender"))
            );
            assert_eq!(patch.last_patch_time, Some(1732560008000));
        }
        "blacklist_block" => {
            assert_eq!(
                (c.command_type(), c.op_type()),
                (Some(CommandType::Blacklist), Some(OpType::Block))
            );
            let block = c.blacklist_message.as_ref().expect("blacklist");
            assert_eq!(
                (block.src_cid.as_deref(), block.to_pids.as_slice()),
                (Some(CID), &["Spike".to_owned()][..])
            );
        }
        "error_reply" => {
            let error = c.error_message.as_ref().expect("error");
            assert_eq!(
                (error.code, error.reason.as_str(), error.detail.as_deref()),
                (4401, "INVALID_MESSAGING_TARGET", Some("not a member"))
            );
            assert_eq!(
                (error.pids.as_slice(), error.app_msg.as_deref()),
                (&["Spike".to_owned()][..], Some(""))
            );
            assert_eq!(
                c.server_error().map(|e| e.error_code()),
                Some(Some(ErrorCode::InvalidMessagingTarget))
            );
        }
        "echo" => assert_eq!(*c, GenericCommand::echo(18)),
        "goaway" => assert_eq!(*c, GenericCommand::goaway()),
        other => panic!("golden vector {other} has no assertions: add them here"),
    }
}
