//! Fuzz-style property tests: arbitrary frames, pushes, replies and commands in any order never panic,
//! and every queue and cache stays within its configured bound.

mod support;

use chinwag_core::*;
use chinwag_protocol::{
    AckCommand, ConvCommand, DirectCommand, Frame, GenericCommand, LogItem, LogsCommand, PatchCommand,
    PatchItem, RcpCommand, SessionCommand, UnreadCommand, UnreadTuple,
};
use proptest::prelude::*;
use support::Scripted;

fn small_options() -> Options {
    Options {
        max_queued: 5,
        dedup_capacity: 8,
        catch_up_buffer: 4,
        max_conversations: 6,
        catch_up_page: 3,
        ..Options::with_servers("app", ["ws://fuzz/"])
    }
}

fn command() -> impl Strategy<Value = GenericCommand> {
    let id = prop_oneof![Just(None), (0..40u32).prop_map(|n| Some(format!("m{n}")))];
    let cid = prop_oneof![Just(None), (0..12u32).prop_map(|n| Some(format!("c{n}")))];
    let peer = prop_oneof![
        Just(None),
        Just(Some("Tom".to_string())),
        Just(Some("Else".to_string()))
    ];
    (
        0..23i32,
        prop_oneof![Just(None), (0..200i32).prop_map(Some)],
        peer,
        prop_oneof![3 => Just(None), 1 => (0..30i32).prop_map(Some)],
        id,
        cid,
        (-5..100i64, 0..5i32, any::<bool>(), 0..4500i32),
    )
        .prop_map(|(cmd, op, peer_id, i, id, cid, (ts, n, flag, code))| {
            let mut c = GenericCommand {
                cmd: Some(cmd),
                op,
                peer_id,
                i,
                ..Default::default()
            };
            c.direct_message = Some(Box::new(DirectCommand {
                id: id.clone(),
                cid: cid.clone(),
                from_peer_id: Some(if flag { "Tom" } else { "Jerry" }.into()),
                timestamp: Some(ts),
                transient: Some(n == 0),
                msg: Some("hi".into()),
                ..Default::default()
            }));
            c.conv_message = Some(Box::new(ConvCommand {
                cid: cid.clone(),
                m: vec!["A".into(); n as usize],
                results: flag.then(|| chinwag_protocol::JsonObjectMessage {
                    data: "[{\"objectId\":\"c1\"}]".into(),
                }),
                ..Default::default()
            }));
            c.unread_message = Some(Box::new(UnreadCommand {
                convs: (0..n)
                    .map(|k| UnreadTuple {
                        cid: format!("c{k}{ts}"),
                        unread: code % 7 - 1,
                        timestamp: Some(ts),
                        mid: id.clone(),
                        ..Default::default()
                    })
                    .collect(),
                notif_time: Some(ts),
            }));
            c.rcp_message = Some(Box::new(RcpCommand {
                id: id.clone(),
                cid: cid.clone(),
                t: Some(ts),
                read: Some(flag),
                from: None,
            }));
            c.patch_message = Some(Box::new(PatchCommand {
                patches: vec![PatchItem {
                    cid: cid.clone(),
                    mid: id.clone(),
                    recall: Some(flag),
                    ..Default::default()
                }],
                last_patch_time: None,
            }));
            c.logs_message = Some(Box::new(LogsCommand {
                logs: (0..n)
                    .map(|k| LogItem {
                        msg_id: Some(format!("m{}", ts + i64::from(k))),
                        timestamp: Some(ts + i64::from(k)),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }));
            c.ack_message = Some(Box::new(AckCommand {
                uid: id,
                t: Some(ts),
                code: (code >= 4000).then_some(code),
                ..Default::default()
            }));
            c.session_message = Some(Box::new(SessionCommand {
                code: (code >= 4100).then_some(code),
                ..Default::default()
            }));
            c
        })
}

#[derive(Clone, Debug)]
enum Step {
    Frame(Vec<u8>),
    Text(String),
    Command(GenericCommand),
    Send(u8),
    Query(u8),
    Read(u8),
    Open(bool),
    Disconnect(Option<u16>),
    Connected,
    Online(bool),
    Advance(u64),
    Close,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Step::Frame),
        1 => "[A-Za-z0-9+/=]{0,40}".prop_map(Step::Text),
        8 => command().prop_map(Step::Command),
        3 => any::<u8>().prop_map(Step::Send),
        1 => any::<u8>().prop_map(Step::Query),
        1 => any::<u8>().prop_map(Step::Read),
        1 => any::<bool>().prop_map(Step::Open),
        1 => prop_oneof![Just(None), Just(Some(1006u16)), Just(Some(4100u16)), Just(Some(4111u16))].prop_map(Step::Disconnect),
        2 => Just(Step::Connected),
        1 => any::<bool>().prop_map(Step::Online),
        2 => (0..400_000u64).prop_map(Step::Advance),
        1 => Just(Step::Close),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics_and_stays_bounded(steps in proptest::collection::vec(step(), 1..80)) {
        let mut s = Scripted::new(small_options());
        s.engine.open_client("Tom", ClientOptions::default(), s.now);
        s.drain();
        let mut answered = std::collections::BTreeSet::new();
        for step in steps {
            match step {
                Step::Frame(bytes) => { let _ = s.engine.handle_frame(&Frame::Binary(bytes), s.now); }
                Step::Text(text) => { let _ = s.engine.handle_frame(&Frame::Text(text), s.now); }
                Step::Command(command) => s.engine.handle_command(command, s.now),
                Step::Send(n) => {
                    s.engine.send("Tom", &format!("c{}", n % 12), MessageContent::Text("x".into()), SendOptions::default(), s.now);
                }
                Step::Query(n) => {
                    s.engine.count_members("Tom", &format!("c{}", n % 3), s.now);
                }
                Step::Read(n) => {
                    s.engine.read("Tom", &format!("c{}", n % 12), s.now);
                }
                Step::Open(second) => {
                    s.engine.open_client(if second { "Else" } else { "Tom" }, ClientOptions::default(), s.now);
                }
                Step::Disconnect(code) => s.engine.handle_disconnected(code, s.now),
                Step::Connected => s.engine.handle_connected(s.now),
                Step::Online(online) => s.engine.set_online(online, s.now),
                Step::Advance(ms) => {
                    s.now = Instant::from_millis(s.now.as_millis() + ms);
                    s.engine.handle_timeout(s.now);
                }
                Step::Close => { s.engine.close_client("Tom", s.now); }
            }
            s.drain();
            // A fired timer is re-armed in the future (no busy loop), and bounds hold.
            if s.engine.poll_timeout().is_some_and(|at| at <= s.now) {
                s.engine.handle_timeout(s.now);
                s.drain();
            }
            prop_assert!(s.engine.poll_timeout().is_none_or(|at| at > s.now), "timer not re-armed");
            let (queued, in_flight, buffered) = s.engine.debug_sizes();
            prop_assert!(queued <= 2 * 5);
            prop_assert!(in_flight <= 200);
            prop_assert!(buffered <= 2 * (8 + 6 * 4 + 6 + 6 + 8));
            for client in ["Tom", "Else"] {
                prop_assert!(s.engine.conversations(client).count() <= 6);
            }
            for event in &s.events {
                if let Event::Response { request, .. } = event {
                    prop_assert!(answered.insert(*request), "{request:?} answered twice");
                }
            }
            s.sent.clear();
            s.events.clear();
            s.actions.clear();
        }
    }
}
