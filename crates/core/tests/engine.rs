//! Behaviour tests of the engine against a scripted peer, in simulated time.

mod support;

use core::time::Duration;

use chinwag_core::*;
use chinwag_protocol::{
    AckCommand, CommandType, ConvCommand, ConvMemberInfo, DirectCommand, ErrorCode, GenericCommand,
    JsonObjectMessage, OpType, PatchCommand, PatchItem, RcpCommand, SessionCommand, UnreadCommand,
    UnreadTuple,
};
use support::Scripted;

fn responses(events: &[Event]) -> Vec<(RequestId, Result<Response, RequestError>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response { request, result, .. } => Some((*request, result.clone())),
            _ => None,
        })
        .collect()
}

/// Puts `cid` in Tom's cache (a `getConversation` the server answered, no members), so that pushes
/// about it are delivered at once instead of waiting for a fetch.
fn cache(s: &mut Scripted, cid: &str) {
    s.engine.get_conversation("Tom", cid, s.now);
    s.drain();
    let query = s.last_sent().clone();
    s.push(query_result(
        &query,
        &format!(r#"[{{"objectId":"{cid}","c":"Jerry","m":[]}}]"#),
    ));
    assert!(s.engine.conversation("Tom", cid).is_some());
    s.events.clear();
}

/// Tom sends the text `text` into `c1` with default options.
fn send_text(s: &mut Scripted, text: &str) -> RequestId {
    s.engine.send(
        "Tom",
        "c1",
        MessageContent::Text(text.into()),
        SendOptions::default(),
        s.now,
    )
}

/// Tom makes a request (an online query) and the server answers it: a reply that proves every
/// frame sent before it arrived.
fn answer_a_later_request(s: &mut Scripted) {
    s.engine.query_online("Tom", &["Jerry".into()], s.now);
    s.drain();
    let query = s.last_sent().clone();
    s.push(GenericCommand::reply_to(&query, CommandType::Session).with_op(OpType::Opened));
}

fn direct_push(to: &str, id: &str, ts: i64, from: &str) -> GenericCommand {
    GenericCommand::push(CommandType::Direct, to).with(DirectCommand {
        id: Some(id.into()),
        cid: Some("c1".into()),
        from_peer_id: Some(from.into()),
        timestamp: Some(ts),
        msg: Some(TypedMessage::text("hi").to_json()),
        ..Default::default()
    })
}

#[test]
fn opens_with_the_sign_in_fields() {
    let mut s = Scripted::direct();
    let req = s.engine.open_client(
        "Tom",
        ClientOptions {
            tag: Some("phone".into()),
            ..Default::default()
        },
        s.now,
    );
    s.drain();
    assert_eq!(
        s.actions,
        [Action::Connect {
            url: "ws://a/".into(),
            protocol: "lc.protobuf2.3".into(),
            attempt: 0
        }]
    );
    s.connect();
    let open = s.last_sent().clone();
    assert_eq!(
        (open.command_type(), open.op_type()),
        (Some(CommandType::Session), Some(OpType::Open))
    );
    let session = open.session_message.unwrap();
    assert_eq!(session.r, Some(false));
    assert_eq!(session.tag.as_deref(), Some("phone"));
    assert_eq!(session.config_bitmap, Some(187));
    assert!(session.device_id.is_some() && session.ua.is_some() && session.last_patch_time.is_some());
    assert_eq!(open.app_id.as_deref(), Some("app"));
    s.answer_open("tok");
    assert_eq!(responses(&s.events), [(req, Ok(Response::Opened))]);
    assert_eq!(s.engine.session_token("Tom"), Some("tok"));
}

#[test]
fn backoff_schedule_first_retry_immediate_then_doubling_with_cap() {
    // A first sign-in that may retry for an hour, to see the schedule reach its cap.
    let mut s = Scripted::new(Options {
        sign_in_timeout: Duration::from_secs(3600),
        ..Options::with_servers("app", ["ws://a/", "ws://b/"])
    });
    s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    s.engine.handle_connected(s.now);
    s.drain();
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    let mut delays = Vec::new();
    for _ in 0..9 {
        let (attempt, delay) = s
            .events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Reconnecting { attempt, delay } => Some((*attempt, *delay)),
                _ => None,
            })
            .unwrap();
        delays.push((attempt, delay));
        s.events.clear();
        s.actions.clear();
        s.run_until(s.now.as_millis() + delay.as_millis() as u64);
        assert!(matches!(s.actions.last(), Some(Action::Connect { attempt: a, .. }) if *a == attempt));
        s.engine.handle_disconnected(None, s.now); // the connect failed
        s.drain();
    }
    for (attempt, delay) in &delays {
        let base = base_delay(*attempt, Duration::from_secs(30));
        assert!(*delay <= base && *delay * 4 >= base * 3, "{attempt} {delay:?}");
    }
    assert_eq!(delays[0], (0, Duration::ZERO));
    assert_eq!(
        delays.iter().map(|d| d.0).collect::<Vec<_>>(),
        (0..9).collect::<Vec<_>>()
    );
    assert!(delays[8].1 > Duration::from_secs(22));
}

#[test]
fn connect_failures_rotate_servers() {
    let mut s = Scripted::direct();
    s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    s.engine.handle_disconnected(None, s.now);
    s.run_until(2_000);
    let urls: Vec<&str> = s
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect { url, .. } => Some(url.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(urls, ["ws://a/", "ws://b/"]);
}

#[test]
fn fatal_close_code_stops_retrying() {
    let mut s = Scripted::open("Tom");
    let q = s.engine.count_members("Tom", "c1", s.now);
    s.engine.handle_disconnected(Some(4103), s.now);
    s.drain();
    assert!(s.events.contains(&Event::ConnectionFailed { code: 4103 }));
    assert!(responses(&s.events).contains(&(q, Err(RequestError::ConnectionLost))));
    s.actions.clear();
    s.run_until(120_000);
    assert!(s.actions.is_empty());
    assert_eq!(s.engine.poll_timeout(), None);
}

#[test]
fn request_timeout_fails_the_request() {
    let mut s = Scripted::open("Tom");
    let q = s.engine.count_members("Tom", "c1", s.now);
    s.drain();
    s.run_until(19_999);
    assert!(responses(&s.events).is_empty());
    s.run_until(20_000);
    assert_eq!(responses(&s.events), [(q, Err(RequestError::Timeout))]);
}

#[test]
fn identical_requests_in_flight_share_one_frame() {
    let mut s = Scripted::open("Tom");
    let before = s.sent.len();
    let a = s.engine.count_members("Tom", "c1", s.now);
    let b = s.engine.count_members("Tom", "c1", s.now);
    s.drain();
    assert_eq!(s.sent.len(), before + 1);
    let req = s.last_sent().clone();
    s.push(
        GenericCommand::reply_to(&req, CommandType::Conv).with(ConvCommand {
            count: Some(3),
            ..Default::default()
        }),
    );
    assert_eq!(
        responses(&s.events),
        [(a, Ok(Response::Count(3))), (b, Ok(Response::Count(3)))]
    );
    // Sends are exempt: two identical sends are two frames.
    send_text(&mut s, "x");
    send_text(&mut s, "x");
    s.drain();
    assert_eq!(s.sent.len(), before + 3);
}

#[test]
fn keepalive_echo_and_dead_connection() {
    let mut s = Scripted::open("Tom");
    assert_eq!(
        s.engine.poll_timeout_with_reason(),
        Some((Instant::from_millis(180_000), "keepalive"))
    );
    // Our own traffic does not postpone the keepalive: only the server's does.
    s.run_until(100_000);
    s.engine.read("Tom", "c1", s.now);
    s.drain();
    let sent = s.sent.len();
    s.run_until(180_000);
    assert_eq!(s.sent.len(), sent + 1);
    assert_eq!(s.last_sent().command_type(), Some(CommandType::Echo));
    assert!(s.last_sent().serial().is_some());
    s.run_until(379_000);
    assert!(!s.actions.contains(&Action::Close));
    s.run_until(380_000);
    assert!(s.actions.contains(&Action::Close));
    assert!(s.events.contains(&Event::Disconnected {
        reason: DisconnectReason::Dead
    }));
}

#[test]
fn relogin_uses_r_and_the_token_and_reports_reconnected() {
    let mut s = Scripted::open("Tom");
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    assert!(s.events.contains(&Event::Disconnected {
        reason: DisconnectReason::Closed(Some(1006))
    }));
    s.run_until(s.now.as_millis());
    s.connect();
    let session = s.last_sent().session_message.clone().unwrap();
    assert_eq!(session.r, Some(true));
    assert_eq!(session.st.as_deref(), Some("tok-1"));
    assert_eq!(session.tag, None);
    assert_eq!(session.device_id, None);
    s.answer_open("tok-2");
    assert!(s.events.contains(&Event::Reconnected { client: "Tom".into() }));
}

#[test]
fn expired_token_4112_reopens_without_it() {
    let mut s = Scripted::open("Tom");
    s.engine.handle_disconnected(Some(1006), s.now);
    s.run_until(s.now.as_millis());
    s.connect();
    let open = s.last_sent().clone();
    s.push(GenericCommand::error_reply(
        &open,
        ErrorCode::SessionTokenExpired,
        None,
    ));
    let again = s.last_sent().clone();
    assert_eq!(again.op_type(), Some(OpType::Open));
    assert_ne!(again.i, open.i);
    assert_eq!(again.session_message.unwrap().st, None);
    s.answer_open("tok-3");
    assert!(s.events.contains(&Event::Reconnected { client: "Tom".into() }));
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

#[test]
fn session_token_expires_after_its_ttl_and_a_signed_refresh_replaces_it() {
    let mut s = Scripted::open("Tom"); // "tok-1", stTtl 3600 s, at 0 ms
    assert!(!s.engine.session_token_expired("Tom", at(3_599_999)));
    assert!(s.engine.session_token_expired("Tom", at(3_600_000)));
    assert!(
        s.engine.session_token_expired("Jerry", at(0)),
        "no client, no token"
    );

    s.now = at(3_700_000);
    let signature = Signature {
        signature: "sig".into(),
        timestamp: 1_700_000_000,
        nonce: "nonce".into(),
    };
    let request = s.engine.refresh_session_token("Tom", Some(&signature), s.now);
    s.drain();
    let refresh = s.last_sent().clone();
    assert_eq!(
        (refresh.command_type(), refresh.op_type()),
        (Some(CommandType::Session), Some(OpType::Refresh))
    );
    assert_eq!(refresh.peer_id.as_deref(), Some("Tom"));
    assert!(refresh.i.is_some());
    let session = refresh.session_message.clone().unwrap();
    assert_eq!(
        session.st.as_deref(),
        Some("tok-1"),
        "sent with the expired token"
    );
    assert!(session.ua.is_some());
    assert_eq!(
        (session.s.as_deref(), session.t, session.n.as_deref()),
        (Some("sig"), Some(1_700_000_000), Some("nonce"))
    );

    s.push(
        GenericCommand::reply_to(&refresh, CommandType::Session)
            .with_op(OpType::Refreshed)
            .with(SessionCommand {
                st: Some("tok-2".into()),
                st_ttl: Some(60),
                ..Default::default()
            }),
    );
    assert_eq!(
        responses(&s.events),
        [(request, Ok(Response::SessionToken("tok-2".into())))]
    );
    assert_eq!(s.engine.session_token("Tom"), Some("tok-2"));
    assert!(!s.engine.session_token_expired("Tom", at(3_759_999)));
    assert!(s.engine.session_token_expired("Tom", at(3_760_000)));

    // The next re-login uses the refreshed token.
    s.engine.handle_disconnected(Some(1006), s.now);
    s.run_until(s.now.as_millis());
    s.connect();
    let open = s.last_sent().session_message.clone().unwrap();
    assert_eq!((open.r, open.st.as_deref()), (Some(true), Some("tok-2")));
}

#[test]
fn concurrent_unsigned_refreshes_share_one_frame_and_a_reply_without_token_fails() {
    let mut s = Scripted::open("Tom");
    let first = s.engine.refresh_session_token("Tom", None, s.now);
    let second = s.engine.refresh_session_token("Tom", None, s.now);
    s.drain();
    let refreshes: Vec<_> = s
        .sent
        .iter()
        .filter(|c| c.op_type() == Some(OpType::Refresh))
        .cloned()
        .collect();
    assert_eq!(refreshes.len(), 1);
    let session = refreshes[0].session_message.clone().unwrap();
    assert_eq!((session.s, session.t, session.n), (None, None, None));
    s.push(
        GenericCommand::reply_to(&refreshes[0], CommandType::Session)
            .with_op(OpType::Refreshed)
            .with(SessionCommand {
                st: Some("tok-2".into()),
                st_ttl: Some(60),
                ..Default::default()
            }),
    );
    let token = Ok(Response::SessionToken("tok-2".into()));
    assert_eq!(
        responses(&s.take_events()),
        [(first, token.clone()), (second, token)]
    );

    let third = s.engine.refresh_session_token("Tom", None, s.now);
    s.drain();
    let refresh = s.last_sent().clone();
    s.push(GenericCommand::reply_to(&refresh, CommandType::Session).with_op(OpType::Refreshed));
    assert!(matches!(
        responses(&s.take_events()).as_slice(),
        [(id, Err(RequestError::Invalid(_)))] if *id == third
    ));
    assert_eq!(
        s.engine.session_token("Tom"),
        Some("tok-2"),
        "the old token stays"
    );

    let unknown = s.engine.refresh_session_token("Jerry", None, s.now);
    s.drain();
    assert_eq!(
        responses(&s.take_events()),
        [(unknown, Err(RequestError::NoSuchClient))]
    );
}

#[test]
fn conflict_4111_is_an_event_and_closes_the_client() {
    let mut s = Scripted::open("Tom");
    s.push(
        GenericCommand::push(CommandType::Session, "Tom")
            .with_op(OpType::Closed)
            .with(SessionCommand {
                code: Some(4111),
                reason: Some("SESSION_CONFLICT".into()),
                ..Default::default()
            }),
    );
    assert!(s.events.contains(&Event::Conflict {
        client: "Tom".into(),
        reason: "SESSION_CONFLICT".into()
    }));
    assert_eq!(s.engine.clients().count(), 0);
    assert!(s.actions.contains(&Action::Close));
}

#[test]
fn goaway_with_a_router_refetches_the_route() {
    let mut s = Scripted::new(Options::with_router("app", "https://router.example/"));
    s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    assert!(
        matches!(&s.actions[0], Action::FetchRoute { url } if url.starts_with("https://router.example/v1/route?appId=app"))
    );
    s.engine.handle_route(vec!["ws://x/".into()], s.now);
    s.connect();
    s.answer_open("t");
    s.actions.clear();
    s.push(GenericCommand::goaway());
    assert_eq!(s.actions[0], Action::Close);
    assert!(s.events.contains(&Event::Disconnected {
        reason: DisconnectReason::Goaway
    }));
    s.run_until(s.now.as_millis());
    assert!(matches!(s.actions.last(), Some(Action::FetchRoute { .. })));
}

#[test]
fn network_back_retries_immediately() {
    let mut s = Scripted::open("Tom");
    s.engine.set_online(false, s.now);
    s.drain();
    assert!(s.actions.contains(&Action::Close));
    assert!(s.events.contains(&Event::Offline));
    s.actions.clear();
    s.run_until(100_000);
    assert!(s.actions.is_empty());
    s.engine.set_online(true, s.now);
    s.drain();
    assert!(matches!(
        s.actions.last(),
        Some(Action::Connect { attempt: 0, .. })
    ));
}

#[test]
fn offline_sends_are_queued_and_resent_with_the_same_dt() {
    let mut s = Scripted::open("Tom");
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    let before = s.sent.len();
    let req = s.engine.send(
        "Tom",
        "c1",
        TypedMessage::text("hello").into(),
        SendOptions::default(),
        s.now,
    );
    s.drain();
    assert_eq!(s.sent.len(), before);
    s.run_until(s.now.as_millis());
    s.connect();
    s.answer_open("t");
    let first = s.last_sent().clone();
    assert_eq!(first.command_type(), Some(CommandType::Direct));
    let dt = first.direct_message.as_ref().unwrap().dt.clone().unwrap();
    assert_eq!(dt.len(), 36);
    // Dropped before the ack: the same message goes again after re-login.
    s.drop_and_relogin("t");
    let second = s.last_sent().clone();
    assert_eq!(
        second.direct_message.as_ref().unwrap().dt.as_deref(),
        Some(dt.as_str())
    );
    s.push(
        GenericCommand::reply_to(&second, CommandType::Ack).with(AckCommand {
            uid: Some("m1".into()),
            t: Some(5),
            ..Default::default()
        }),
    );
    let done = responses(&s.events);
    assert_eq!(done.len(), 1);
    let (id, Ok(Response::Sent(message))) = &done[0] else {
        panic!("{done:?}")
    };
    assert_eq!(*id, req);
    assert_eq!(
        (message.id.as_deref(), message.timestamp, message.status),
        (Some("m1"), 5, MessageStatus::Sent)
    );
    assert_eq!(message.client_id.as_deref(), Some(dt.as_str()));
}

/// The texts of the `direct` frames sent since `from`, as (sender, text).
fn sent_texts(s: &Scripted, from: usize) -> Vec<(String, String)> {
    s.sent[from..]
        .iter()
        .filter_map(|c| {
            let direct = c.direct_message.as_ref()?;
            Some((c.peer_id.clone()?, direct.msg.clone()?))
        })
        .collect()
}

#[test]
fn sends_lost_with_the_connection_go_first_after_the_relogin_in_order_per_client() {
    let mut s = Scripted::open("Tom");
    s.engine.open_client("Jerry", ClientOptions::default(), s.now);
    s.drain();
    s.answer_open("tok-jerry");
    s.take_events();
    let send = |s: &mut Scripted, client: &str, text: &str| {
        s.engine.send(
            client,
            "c1",
            MessageContent::Text(text.into()),
            SendOptions::default(),
            s.now,
        );
        s.drain();
    };
    // In flight, the two clients' sends interleaved, when the connection drops ...
    send(&mut s, "Tom", "t1");
    send(&mut s, "Jerry", "j1");
    send(&mut s, "Tom", "t2");
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    // ... and one queued while offline, behind them.
    send(&mut s, "Tom", "t3");
    s.run_until(s.now.as_millis());
    let mark = s.sent.len();
    s.connect();
    let opens: Vec<GenericCommand> = s.sent[mark..]
        .iter()
        .filter(|c| c.op_type() == Some(OpType::Open))
        .cloned()
        .collect();
    assert_eq!(opens.len(), 2);
    for open in &opens {
        s.push(GenericCommand::reply_to(open, CommandType::Session).with_op(OpType::Opened));
    }
    let mut tom = Vec::new();
    let mut jerry = Vec::new();
    for (client, text) in sent_texts(&s, mark) {
        if client == "Tom" {
            tom.push(text)
        } else {
            jerry.push(text)
        }
    }
    assert_eq!(
        (tom, jerry),
        (
            vec!["t1".to_owned(), "t2".into(), "t3".into()],
            vec!["j1".to_owned()]
        )
    );
}

#[test]
fn a_removed_client_fails_its_queued_and_in_flight_requests_and_spares_the_others() {
    // In flight: the server ends Tom's session while Tom and Jerry both wait for replies.
    let mut s = Scripted::open("Tom");
    s.engine.open_client("Jerry", ClientOptions::default(), s.now);
    s.drain();
    s.answer_open("tok-jerry");
    s.take_events();
    let toms_query = s.engine.query_online("Tom", &["a".into()], s.now);
    let jerrys_query = s.engine.query_online("Jerry", &["b".into()], s.now);
    let toms_send = send_text(&mut s, "x");
    s.drain();
    let jerrys_frame = s
        .sent
        .iter()
        .find(|c| c.peer_id.as_deref() == Some("Jerry") && c.op_type() == Some(OpType::Query))
        .unwrap()
        .clone();
    s.push(
        GenericCommand::push(CommandType::Session, "Tom")
            .with_op(OpType::Closed)
            .with(SessionCommand {
                code: Some(4115),
                reason: Some("KICKED_BY_APP".into()),
                ..Default::default()
            }),
    );
    assert_eq!(
        responses(&s.events),
        [
            (toms_query, Err(RequestError::ClientClosed)),
            (toms_send, Err(RequestError::ClientClosed))
        ]
    );
    assert!(s.events.contains(&Event::Closed {
        client: "Tom".into(),
        code: 4115,
        reason: "KICKED_BY_APP".into()
    }));
    assert_eq!(s.engine.outgoing_message(toms_send), None);
    assert_eq!(s.engine.clients().collect::<Vec<_>>(), ["Jerry"]);
    s.take_events();
    s.push(
        GenericCommand::reply_to(&jerrys_frame, CommandType::Session)
            .with_op(OpType::QueryResult)
            .with(SessionCommand {
                online_session_peer_ids: vec!["b".into()],
                ..Default::default()
            }),
    );
    assert_eq!(
        responses(&s.events),
        [(jerrys_query, Ok(Response::Online(vec!["b".into()])))]
    );

    // Queued: a first sign-in that the server refuses fails what waited for it.
    let mut s = Scripted::direct();
    let open = s.engine.open_client("Tom", ClientOptions::default(), s.now);
    let queued_send = send_text(&mut s, "y");
    let queued_query = s.engine.query_online("Tom", &["a".into()], s.now);
    s.drain();
    assert!(s.engine.outgoing_message(queued_send).is_some());
    s.connect();
    let open_frame = s.last_sent().clone();
    s.push(
        GenericCommand::reply_to(&open_frame, CommandType::Session).with(SessionCommand {
            code: Some(4103),
            reason: Some("INVALID_LOGIN".into()),
            ..Default::default()
        }),
    );
    let done = responses(&s.events);
    assert!(
        matches!(&done[0], (r, Err(RequestError::Server(e))) if *r == open && e.code == 4103),
        "{done:?}"
    );
    assert_eq!(
        done[1..],
        [
            (queued_send, Err(RequestError::ClientClosed)),
            (queued_query, Err(RequestError::ClientClosed))
        ]
    );
    assert_eq!(s.engine.outgoing_message(queued_send), None);
    assert_eq!(s.engine.clients().count(), 0);
}

#[test]
fn send_error_reply_fails_the_message() {
    let mut s = Scripted::open("Tom");
    let req = send_text(&mut s, "x");
    s.drain();
    let send = s.last_sent().clone();
    s.push(
        GenericCommand::reply_to(&send, CommandType::Ack).with(AckCommand {
            code: Some(4401),
            reason: Some("INVALID_MESSAGING_TARGET".into()),
            ..Default::default()
        }),
    );
    let done = responses(&s.events);
    assert!(matches!(&done[0], (r, Err(RequestError::Server(e))) if *r == req && e.code == 4401));
}

#[test]
fn received_messages_are_deduplicated_acked_and_counted() {
    let mut s = Scripted::open("Tom");
    cache(&mut s, "c1");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    let messages: Vec<_> = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .collect();
    assert_eq!(messages.len(), 1);
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 1);
    s.run_until(s.now.as_millis() + 1_000);
    let ack = s.last_sent().clone();
    assert_eq!(ack.command_type(), Some(CommandType::Ack));
    assert_eq!(ack.serial(), None);
    let body = ack.ack_message.unwrap();
    assert_eq!(
        (body.cid.as_deref(), body.fromts, body.tots),
        (Some("c1"), Some(10), Some(10))
    );
}

#[test]
fn unread_pushes_reconcile_with_local_counts_and_read() {
    let mut s = Scripted::open("Tom");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    // The server's count as of ts 20 replaces ours.
    s.push(
        GenericCommand::push(CommandType::Unread, "Tom").with(UnreadCommand {
            convs: vec![UnreadTuple {
                cid: "c1".into(),
                unread: 3,
                timestamp: Some(20),
                ..Default::default()
            }],
            notif_time: Some(21),
        }),
    );
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 3);
    // A message already counted by the server (ts <= 20) does not count again; a newer one does.
    s.push(direct_push("Tom", "m2", 20, "Jerry"));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 3);
    s.push(direct_push("Tom", "m3", 30, "Jerry"));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 4);
    let r = s.engine.read("Tom", "c1", s.now);
    s.drain();
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 0);
    let read = s.last_sent().clone();
    assert_eq!(read.command_type(), Some(CommandType::Read));
    let tuple = &read.read_message.unwrap().convs[0];
    assert_eq!((tuple.mid.as_deref(), tuple.timestamp), (Some("m3"), Some(30)));
    assert!(responses(&s.events).contains(&(r, Ok(Response::Done))));
    // The next sign-in carries the notification time.
    s.engine.handle_disconnected(Some(1006), s.now);
    s.run_until(s.now.as_millis());
    s.connect();
    assert_eq!(
        s.last_sent()
            .session_message
            .as_ref()
            .unwrap()
            .last_unread_notif_time,
        Some(21)
    );
}

/// The message an `Event::Message` carried, by id.
fn received(events: &[Event], id: &str) -> Message {
    events
        .iter()
        .find_map(|e| match e {
            Event::Message { message, .. } if message.id.as_deref() == Some(id) => Some(message.clone()),
            _ => None,
        })
        .expect("received")
}

#[test]
fn a_dropped_message_is_taken_back_out_of_the_unread_count() {
    let mut s = Scripted::open("Tom");
    cache(&mut s, "c1");
    let unread = |s: &Scripted| {
        let conv = s.engine.conversation("Tom", "c1").unwrap();
        (conv.unread, conv.unread_mentioned)
    };
    let mut mention = direct_push("Tom", "m1", 10, "Jerry");
    mention.direct_message.as_mut().unwrap().mention_pids = vec!["Tom".into()];
    s.push(mention);
    s.push(direct_push("Tom", "m2", 20, "Jerry"));
    s.push(direct_push("Tom", "m3", 30, "Tom")); // from another device of Tom: not counted
    assert_eq!(unread(&s), (2, true));
    let events = s.take_events();

    s.engine
        .take_back_dropped_message("Tom", &received(&events, "m3"));
    assert_eq!(unread(&s), (2, true), "own message: never counted");
    assert!(
        s.engine
            .take_back_dropped_message("Tom", &received(&events, "m2"))
    );
    assert_eq!(unread(&s), (1, true));
    assert!(
        s.engine
            .take_back_dropped_message("Tom", &received(&events, "m1"))
    );
    assert_eq!(
        unread(&s),
        (0, false),
        "the mention flag goes with the last unread message"
    );
    assert!(
        !s.engine
            .take_back_dropped_message("Tom", &received(&events, "m1")),
        "nothing left to take back"
    );
    assert!(
        !s.engine
            .take_back_dropped_message("Jerry", &received(&events, "m1")),
        "no such client"
    );

    // After a read the count starts afresh: earlier messages are not in it.
    s.push(direct_push("Tom", "m4", 40, "Jerry"));
    let m4 = received(&s.take_events(), "m4");
    s.engine.read("Tom", "c1", s.now);
    s.drain();
    s.push(direct_push("Tom", "m5", 50, "Jerry"));
    assert_eq!(unread(&s), (1, false));
    assert!(!s.engine.take_back_dropped_message("Tom", &m4));
    assert_eq!(unread(&s), (1, false));

    // A message that arrived after a newer one was counted was not counted itself; once that
    // happened, the engine cannot tell which messages the count holds and takes none back.
    s.push(direct_push("Tom", "m6", 45, "Jerry"));
    assert_eq!(unread(&s), (1, false));
    let m6 = received(&s.take_events(), "m6");
    assert!(!s.engine.take_back_dropped_message("Tom", &m6));
    assert_eq!(unread(&s), (1, false));

    // The server's counts replace ours and start afresh too.
    s.push(
        GenericCommand::push(CommandType::Unread, "Tom").with(UnreadCommand {
            convs: vec![UnreadTuple {
                cid: "c1".into(),
                unread: 2,
                timestamp: Some(60),
                ..Default::default()
            }],
            notif_time: Some(61),
        }),
    );
    s.push(direct_push("Tom", "m7", 70, "Jerry"));
    assert_eq!(unread(&s), (3, false));
    let m7 = received(&s.take_events(), "m7");
    assert!(s.engine.take_back_dropped_message("Tom", &m7));
    assert_eq!(unread(&s), (2, false));
}

/// Tom's last message of `cid` and its time: (id, ms).
fn last_message(s: &Scripted, cid: &str) -> (Option<String>, Option<i64>) {
    let conv = s.engine.conversation("Tom", cid).unwrap();
    (
        conv.last_message.as_ref().and_then(|m| m.id.clone()),
        conv.last_message_at,
    )
}

/// Tom signed in on an engine that keeps four earlier last messages per conversation, as the npm
/// package's does for its `beforeMessageDispatch` plugins.
fn open_keeping_earlier_last_messages() -> Scripted {
    Scripted::open_with(
        "Tom",
        Options {
            earlier_last_messages: 4,
            ..Options::with_servers("app", ["ws://a/"])
        },
    )
}

#[test]
fn by_default_a_dropped_message_does_not_give_back_the_last_message() {
    let mut s = Scripted::open("Tom");
    cache(&mut s, "c1");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.push(direct_push("Tom", "m2", 20, "Jerry"));
    let m2 = received(&s.take_events(), "m2");
    // The unread count still goes down; the earlier last message was not kept, so m2 stays.
    assert!(s.engine.take_back_dropped_message("Tom", &m2));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 1);
    assert_eq!(last_message(&s, "c1"), (Some("m2".into()), Some(20)));
}

#[test]
fn a_dropped_message_gives_back_the_last_message_it_replaced() {
    let mut s = open_keeping_earlier_last_messages();
    cache(&mut s, "c1");
    let last = |s: &Scripted| last_message(s, "c1");
    let at = |id: &str, ts: i64| (Some(id.to_string()), Some(ts));

    // The first message of a conversation without one: none again.
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    let m1 = received(&s.take_events(), "m1");
    assert_eq!(last(&s), at("m1", 10));
    assert!(s.engine.take_back_dropped_message("Tom", &m1));
    assert_eq!(last(&s), (None, None));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 0);

    // A kept message, then a dropped one: the kept one is back, whole, with its time.
    s.push(direct_push("Tom", "m2", 20, "Jerry"));
    s.push(direct_push("Tom", "m3", 30, "Jerry"));
    let events = s.take_events();
    assert_eq!(last(&s), at("m3", 30));
    assert!(
        s.engine
            .take_back_dropped_message("Tom", &received(&events, "m3"))
    );
    let conv = s.engine.conversation("Tom", "c1").unwrap();
    assert_eq!(conv.last_message.as_ref(), Some(&received(&events, "m2")));
    assert_eq!((conv.last_message_at, conv.unread), (Some(20), 1));

    // A message from another device of Tom is not counted but is taken back all the same (the
    // official SDK drops any received message).
    s.push(direct_push("Tom", "m4", 40, "Tom"));
    let m4 = received(&s.take_events(), "m4");
    assert!(s.engine.take_back_dropped_message("Tom", &m4));
    assert_eq!(last(&s), at("m2", 20));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 1);

    // The server naming the last message again (`unread` counts after a re-login) is no
    // replacement: what it replaced still comes back.
    s.push(direct_push("Tom", "m5", 50, "Jerry"));
    let m5 = received(&s.take_events(), "m5");
    s.push(
        GenericCommand::push(CommandType::Unread, "Tom").with(UnreadCommand {
            convs: vec![UnreadTuple {
                cid: "c1".into(),
                unread: 2,
                mid: Some("m5".into()),
                from: Some("Jerry".into()),
                timestamp: Some(50),
                data: Some(TypedMessage::text("hi").to_json()),
                ..Default::default()
            }],
            notif_time: Some(51),
        }),
    );
    s.take_events();
    assert_eq!(last(&s), at("m5", 50));
    assert!(s.engine.take_back_dropped_message("Tom", &m5));
    assert_eq!(last(&s), at("m2", 20));

    // A later message that arrived before the dropped one was taken back stays the last one.
    s.push(direct_push("Tom", "m6", 60, "Jerry"));
    s.push(direct_push("Tom", "m7", 70, "Jerry"));
    let events = s.take_events();
    s.engine
        .take_back_dropped_message("Tom", &received(&events, "m6"));
    assert_eq!(last(&s), at("m7", 70));
    // With m6 dropped too, taking back m7 brings back the message before both, not m6.
    assert!(
        s.engine
            .take_back_dropped_message("Tom", &received(&events, "m7"))
    );
    assert_eq!(last(&s), at("m2", 20));

    // An edit of the message the dropped one replaced reaches the message that comes back.
    s.push(direct_push("Tom", "m8", 80, "Jerry"));
    s.push(direct_push("Tom", "m9", 90, "Jerry"));
    s.push(
        GenericCommand::push(CommandType::Patch, "Tom").with(PatchCommand {
            patches: vec![PatchItem {
                cid: Some("c1".into()),
                mid: Some("m8".into()),
                from: Some("Jerry".into()),
                timestamp: Some(80),
                patch_timestamp: Some(95),
                data: Some(TypedMessage::text("edited").to_json()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    );
    let events = s.take_events();
    s.engine
        .take_back_dropped_message("Tom", &received(&events, "m9"));
    let conv = s.engine.conversation("Tom", "c1").unwrap();
    let m8 = conv.last_message.as_ref().unwrap();
    assert_eq!(
        (m8.id.as_deref(), m8.updated_at, conv.last_message_at),
        (Some("m8"), Some(95), Some(80))
    );
    assert_eq!(m8.content.text(), Some("edited"));

    // A last message that came with a query result is the one the official SDK's fetched
    // conversation shows: it stays.
    s.push(direct_push("Tom", "m10", 100, "Jerry"));
    let m10 = received(&s.take_events(), "m10");
    s.engine.get_conversation("Tom", "c1", s.now);
    s.drain();
    let query = s.last_sent().clone();
    s.push(query_result(
        &query,
        r#"[{"objectId":"c1","c":"Jerry","m":[],"msg":"hi","msg_mid":"m10","msg_from":"Jerry","msg_timestamp":100}]"#,
    ));
    s.take_events();
    s.engine.take_back_dropped_message("Tom", &m10);
    assert_eq!(last(&s), at("m10", 100));
}

#[test]
fn a_burst_of_dropped_messages_gives_back_the_last_message_before_it() {
    let mut s = open_keeping_earlier_last_messages();
    cache(&mut s, "c1");
    let last = |s: &Scripted| last_message(s, "c1");
    s.push(direct_push("Tom", "kept", 10, "Jerry"));
    // Four messages dropped one after the other, taken back in the order they arrived, as the
    // JS layer's hook chain does after the engine has already applied all of them.
    let ids = ["d1", "d2", "d3", "d4"];
    for (ts, id) in (20..).step_by(10).zip(ids) {
        s.push(direct_push("Tom", id, ts, "Jerry"));
    }
    let events = s.take_events();
    for id in ids {
        s.engine.take_back_dropped_message("Tom", &received(&events, id));
    }
    assert_eq!(last(&s), (Some("kept".into()), Some(10)));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 1);

    // The engine keeps four earlier last messages: past that, the last dropped one stays.
    let ids = ["f1", "f2", "f3", "f4", "f5", "f6"];
    for (ts, id) in (60..).step_by(10).zip(ids) {
        s.push(direct_push("Tom", id, ts, "Jerry"));
    }
    let events = s.take_events();
    for id in ids {
        s.engine.take_back_dropped_message("Tom", &received(&events, id));
    }
    assert_eq!(last(&s), (Some("f6".into()), Some(110)));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 1);
    // Taken back newest first (the unread count wants arrival order; the last message does not).
    for (ts, id) in (130..).step_by(10).zip(["e1", "e2"]) {
        s.push(direct_push("Tom", id, ts, "Jerry"));
    }
    let events = s.take_events();
    for id in ["e2", "e1"] {
        s.engine.take_back_dropped_message("Tom", &received(&events, id));
    }
    assert_eq!(last(&s), (Some("f6".into()), Some(110)));
}

#[test]
fn a_dropped_message_that_brought_its_conversation_stays_its_fetched_last_message() {
    // As in the official SDK, which fetches an uncached conversation before the hook runs: the
    // fetched conversation's last message is the message itself.
    let mut s = Scripted::open("Tom");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.drain();
    let query = s.last_sent().clone();
    assert_eq!(query.command_type(), Some(CommandType::Conv));
    s.push(query_result(
        &query,
        r#"[{"objectId":"c1","c":"Jerry","m":["Jerry","Tom"],"msg":"hi","msg_mid":"m1","msg_from":"Jerry","msg_timestamp":10}]"#,
    ));
    let m1 = received(&s.take_events(), "m1");
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 1);
    assert!(
        s.engine.take_back_dropped_message("Tom", &m1),
        "out of the unread count"
    );
    assert_eq!(last_message(&s, "c1"), (Some("m1".into()), Some(10)));
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 0);
}

#[test]
fn every_conversation_push_becomes_an_event() {
    let mut s = Scripted::open("Tom");
    cache(&mut s, "c1");
    let conv = |op: OpType, m: &[&str]| {
        GenericCommand::push(CommandType::Conv, "Tom")
            .with_op(op)
            .with(ConvCommand {
                cid: Some("c1".into()),
                init_by: Some("Boss".into()),
                m: m.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            })
    };
    let by = Some("Boss".to_string());
    let (c, cv) = ("Tom".to_string(), "c1".to_string());
    let ms = vec!["A".to_string()];
    let cases = vec![
        (
            conv(OpType::Joined, &[]),
            Event::Invited {
                client: c.clone(),
                conversation: cv.clone(),
                invited_by: by.clone(),
            },
        ),
        (
            conv(OpType::MembersJoined, &["A"]),
            Event::MembersJoined {
                client: c.clone(),
                conversation: cv.clone(),
                members: ms.clone(),
                invited_by: by.clone(),
            },
        ),
        (
            conv(OpType::MembersLeft, &["A"]),
            Event::MembersLeft {
                client: c.clone(),
                conversation: cv.clone(),
                members: ms.clone(),
                kicked_by: by.clone(),
            },
        ),
        (
            conv(OpType::MembersBlocked, &["A"]),
            Event::MembersBlocked {
                client: c.clone(),
                conversation: cv.clone(),
                members: ms.clone(),
                blocked_by: by.clone(),
            },
        ),
        (
            conv(OpType::MembersUnblocked, &["A"]),
            Event::MembersUnblocked {
                client: c.clone(),
                conversation: cv.clone(),
                members: ms.clone(),
                unblocked_by: by.clone(),
            },
        ),
        (
            conv(OpType::Blocked, &[]),
            Event::Blocked {
                client: c.clone(),
                conversation: cv.clone(),
                blocked_by: by.clone(),
            },
        ),
        (
            conv(OpType::Unblocked, &[]),
            Event::Unblocked {
                client: c.clone(),
                conversation: cv.clone(),
                unblocked_by: by.clone(),
            },
        ),
        (
            conv(OpType::MembersShutuped, &["A"]),
            Event::MembersMuted {
                client: c.clone(),
                conversation: cv.clone(),
                members: ms.clone(),
                muted_by: by.clone(),
            },
        ),
        (
            conv(OpType::MembersUnshutuped, &["A"]),
            Event::MembersUnmuted {
                client: c.clone(),
                conversation: cv.clone(),
                members: ms.clone(),
                unmuted_by: by.clone(),
            },
        ),
        (
            conv(OpType::Shutuped, &[]),
            Event::Muted {
                client: c.clone(),
                conversation: cv.clone(),
                muted_by: by.clone(),
            },
        ),
        (
            conv(OpType::Unshutuped, &[]),
            Event::Unmuted {
                client: c.clone(),
                conversation: cv.clone(),
                unmuted_by: by.clone(),
            },
        ),
        (
            conv(OpType::Left, &[]),
            Event::Kicked {
                client: c.clone(),
                conversation: cv.clone(),
                kicked_by: by.clone(),
            },
        ),
    ];
    for (push, expected) in cases {
        s.events.clear();
        s.push(push);
        assert_eq!(s.events, [expected]);
    }
    s.events.clear();
    let mut info = conv(OpType::MemberInfoChanged, &[]);
    info.conv_message.as_mut().unwrap().info = Some(ConvMemberInfo {
        pid: Some("A".into()),
        role: Some("Manager".into()),
        ..Default::default()
    });
    s.push(info);
    assert_eq!(
        s.events,
        [Event::MemberInfoUpdated {
            client: c.clone(),
            conversation: cv.clone(),
            member: "A".into(),
            role: Some("Manager".into()),
            updated_by: by.clone()
        }]
    );
    s.events.clear();
    let mut updated = conv(OpType::Updated, &[]);
    updated.conv_message.as_mut().unwrap().attr = Some(JsonObjectMessage {
        data: r#"{"name":"n","attr.x":1}"#.into(),
    });
    s.push(updated);
    assert!(matches!(&s.events[0], Event::InfoUpdated { attributes, .. } if attributes.len() == 2));
    let cached = s.engine.conversation("Tom", "c1").unwrap();
    assert_eq!(cached.name.as_deref(), Some("n"));
    assert_eq!(cached.attributes["attr"]["x"], 1);
    // Cache follows membership pushes: Tom was invited, A joined then left, Tom was kicked.
    assert!(cached.members.is_empty());
}

#[test]
fn receipts_recall_and_edit_pushes() {
    let mut s = Scripted::open("Tom");
    cache(&mut s, "c1");
    s.engine.send(
        "Tom",
        "c1",
        MessageContent::Text("x".into()),
        SendOptions {
            receipt: true,
            ..Default::default()
        },
        s.now,
    );
    s.drain();
    let send = s.last_sent().clone();
    assert_eq!(send.direct_message.as_ref().unwrap().r, Some(true));
    s.push(
        GenericCommand::reply_to(&send, CommandType::Ack).with(AckCommand {
            uid: Some("m1".into()),
            t: Some(5),
            ..Default::default()
        }),
    );
    s.events.clear();
    s.push(GenericCommand::push(CommandType::Rcp, "Tom").with(RcpCommand {
        id: Some("m1".into()),
        cid: Some("c1".into()),
        t: Some(9),
        read: Some(false),
        from: Some("Jerry".into()),
    }));
    assert_eq!(
        s.events,
        [
            Event::LastDeliveredAt {
                client: "Tom".into(),
                conversation: "c1".into(),
                at: 9
            },
            Event::MessageStatusChanged {
                client: "Tom".into(),
                conversation: "c1".into(),
                message_id: "m1".into(),
                status: MessageStatus::Delivered,
                at: 9
            },
        ]
    );
    s.events.clear();
    s.push(
        GenericCommand::push(CommandType::Patch, "Tom")
            .with_op(OpType::Modify)
            .with(PatchCommand {
                patches: vec![
                    PatchItem {
                        cid: Some("c1".into()),
                        mid: Some("m0".into()),
                        recall: Some(true),
                        data: Some(TypedMessage::recalled().to_json()),
                        patch_timestamp: Some(50),
                        ..Default::default()
                    },
                    PatchItem {
                        cid: Some("c1".into()),
                        mid: Some("m1".into()),
                        data: Some("new".into()),
                        patch_timestamp: Some(60),
                        patch_code: Some(-4408),
                        patch_reason: Some("filtered".into()),
                        ..Default::default()
                    },
                ],
                last_patch_time: None,
            }),
    );
    assert!(
        matches!(&s.events[0], Event::MessageRecalled { message, reason: None, .. } if message.content.kind() == Some(chinwag_protocol::MessageKind::Recalled))
    );
    assert!(
        matches!(&s.events[1], Event::MessageUpdated { message, reason: Some((-4408, _)), .. } if message.updated_at == Some(60))
    );
}

#[test]
fn create_query_and_partial_membership() {
    let mut s = Scripted::open("Tom");
    let create = s.engine.create_conversation(
        "Tom",
        CreateConversation {
            name: Some("cats".into()),
            ..CreateConversation::with_members(["Jerry"])
        },
        s.now,
    );
    s.drain();
    let start = s.last_sent().clone();
    let conv = start.conv_message.clone().unwrap();
    assert_eq!(conv.m, ["Jerry", "Tom"]);
    assert_eq!(conv.unique, Some(true));
    assert_eq!(conv.attr.unwrap().data, r#"{"name":"cats"}"#);
    s.push(
        GenericCommand::reply_to(&start, CommandType::Conv)
            .with_op(OpType::Started)
            .with(ConvCommand {
                cid: Some("c9".into()),
                cdate: Some("d".into()),
                ..Default::default()
            }),
    );
    assert!(
        matches!(&responses(&s.events)[0], (r, Ok(Response::Created(c))) if *r == create && c.id == "c9" && c.members.len() == 2)
    );
    let add = s
        .engine
        .add_members("Tom", "c9", &["A".into(), "B".into()], s.now);
    s.drain();
    let req = s.last_sent().clone();
    s.push(
        GenericCommand::reply_to(&req, CommandType::Conv)
            .with_op(OpType::Added)
            .with(ConvCommand {
                allowed_pids: vec!["A".into()],
                failed_pids: vec![chinwag_protocol::ErrorCommand {
                    code: 4303,
                    reason: "X".into(),
                    pids: vec!["B".into()],
                    ..Default::default()
                }],
                ..Default::default()
            }),
    );
    let all = responses(&s.events);
    let (_, Ok(Response::Partial { succeeded, failed })) = all.iter().find(|(r, _)| *r == add).unwrap()
    else {
        panic!()
    };
    assert_eq!(succeeded, &["A"]);
    assert_eq!(failed[0].client_ids, ["B"]);
    assert!(s.engine.conversation("Tom", "c9").unwrap().members.contains("A"));
    let q = s.engine.query_conversations(
        "Tom",
        &ConversationQuery::new().contains_members(["Tom"]).compact(true),
        s.now,
    );
    s.drain();
    let query = s.last_sent().clone();
    assert_eq!(query.conv_message.as_ref().unwrap().flag, Some(1));
    s.push(
        GenericCommand::reply_to(&query, CommandType::Conv)
            .with_op(OpType::Results)
            .with(ConvCommand {
                results: Some(JsonObjectMessage {
                    data: r#"[{"objectId":"c9","m":["Tom","A","Jerry","Z"],"name":"dogs"}]"#.into(),
                }),
                ..Default::default()
            }),
    );
    let all = responses(&s.events);
    assert!(
        matches!(&all.iter().find(|(r, _)| *r == q).unwrap().1, Ok(Response::Conversations(c)) if c[0].name.as_deref() == Some("dogs"))
    );
    assert_eq!(s.engine.conversation("Tom", "c9").unwrap().members.len(), 4);
    let role = s.engine.update_member_role("Tom", "c9", "A", "Owner", s.now);
    s.drain();
    assert!(
        matches!(&responses(&s.events).last().unwrap(), (r, Err(RequestError::Invalid(_))) if *r == role)
    );
}

#[test]
fn frames_that_are_not_commands_are_rejected() {
    let mut s = Scripted::open("Tom");
    assert!(s.engine.handle_frame(&Frame::Text("***".into()), s.now).is_err());
    assert!(s.engine.handle_bytes(&[0xff, 0xff, 0xff], s.now).is_err());
}

#[test]
fn send_options_go_on_the_wire_and_the_pending_message_is_visible() {
    let mut s = Scripted::open("Tom");
    let options = SendOptions {
        transient: false,
        will: true,
        receipt: true,
        priority: Some(1),
        push_data: Some(serde_json::json!({"alert": "hi"}).into()),
        mentions: vec!["Jerry".into()],
        mention_all: true,
    };
    let req = s
        .engine
        .send("Tom", "c1", MessageContent::Binary(vec![1, 2, 3]), options, s.now);
    let pending = s.engine.outgoing_message(req).unwrap().clone();
    assert_eq!(pending.status, MessageStatus::Sending);
    s.drain();
    let send = s.last_sent().clone();
    assert_eq!(send.priority, Some(1));
    assert_eq!(send.peer_id.as_deref(), Some("Tom"));
    let direct = send.direct_message.unwrap();
    assert_eq!(direct.binary_msg.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(direct.msg, None);
    assert_eq!(
        (direct.will, direct.r, direct.mention_all),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(direct.mention_pids, ["Jerry"]);
    assert_eq!(direct.push_data.as_deref(), Some(r#"{"alert":"hi"}"#));
    assert_eq!(direct.dt, pending.client_id);
}

#[test]
fn history_queries_carry_the_range_and_results_are_ascending() {
    let mut s = Scripted::open("Tom");
    let req = s.engine.query_messages(
        "Tom",
        "c1",
        HistoryQuery {
            start_time: Some(10),
            end_time: Some(50),
            limit: Some(2),
            end_closed: true,
            ..Default::default()
        },
        s.now,
    );
    s.drain();
    let logs_req = s.last_sent().clone();
    let logs = logs_req.logs_message.clone().unwrap();
    assert_eq!(
        (logs.t, logs.tt, logs.l, logs.tt_included, logs.direction),
        (Some(10), Some(50), Some(2), Some(true), Some(2))
    );
    s.push(
        GenericCommand::reply_to(&logs_req, CommandType::Logs).with(chinwag_protocol::LogsCommand {
            logs: vec![
                chinwag_protocol::LogItem {
                    msg_id: Some("b".into()),
                    timestamp: Some(30),
                    from: Some("J".into()),
                    data: Some("x".into()),
                    ..Default::default()
                },
                chinwag_protocol::LogItem {
                    msg_id: Some("a".into()),
                    timestamp: Some(20),
                    from: Some("J".into()),
                    bin: Some(true),
                    data: Some("AQI=".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
    );
    let (_, Ok(Response::History(page))) = responses(&s.events).into_iter().find(|(r, _)| *r == req).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        page.iter().map(|m| m.id.clone().unwrap()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(page[0].content, MessageContent::Binary(vec![1, 2]));
    // Backwards paging: explicit OLD direction from a message.
    s.engine.query_messages(
        "Tom",
        "c1",
        HistoryQuery {
            start_time: Some(20),
            start_message_id: Some("a".into()),
            forward: Some(false),
            ..Default::default()
        },
        s.now,
    );
    s.drain();
    let logs = s.last_sent().logs_message.clone().unwrap();
    assert_eq!(
        (logs.t, logs.mid.as_deref(), logs.direction),
        (Some(20), Some("a"), Some(1))
    );
}

#[test]
fn chat_rooms_are_created_without_members_and_do_not_count_unread() {
    let mut s = Scripted::open("Tom");
    s.engine
        .create_conversation("Tom", CreateConversation::chat_room(Some("lobby")), s.now);
    s.drain();
    let start = s.last_sent().clone();
    let conv = start.conv_message.clone().unwrap();
    assert_eq!(
        (conv.m.as_slice(), conv.transient, conv.unique),
        (&["Tom".to_string()][..], Some(true), Some(false))
    );
    s.push(
        GenericCommand::reply_to(&start, CommandType::Conv).with(ConvCommand {
            cid: Some("c1".into()),
            ..Default::default()
        }),
    );
    assert_eq!(
        s.engine.conversation("Tom", "c1").unwrap().kind,
        ConversationKind::ChatRoom
    );
    let sent = s.sent.len();
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.run_until(s.now.as_millis() + 2_000);
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 0);
    assert_eq!(s.sent.len(), sent, "no ack in chat rooms");
    // Temporary conversations carry tempConv and the ttl.
    s.engine
        .create_conversation("Tom", CreateConversation::temporary(["Jerry"], 3600), s.now);
    s.drain();
    let conv = s.last_sent().conv_message.clone().unwrap();
    assert_eq!((conv.temp_conv, conv.temp_conv_ttl), (Some(true), Some(3600)));
}

#[test]
fn small_requests_read_their_replies() {
    let mut s = Scripted::open("Tom");
    let online = s.engine.query_online("Tom", &["A".into(), "B".into()], s.now);
    s.drain();
    let q = s.last_sent().clone();
    assert_eq!(q.session_message.as_ref().unwrap().session_peer_ids, ["A", "B"]);
    s.push(
        GenericCommand::reply_to(&q, CommandType::Session)
            .with_op(OpType::QueryResult)
            .with(SessionCommand {
                online_session_peer_ids: vec!["B".into()],
                ..Default::default()
            }),
    );
    let receipts = s.engine.fetch_receipt_timestamps("Tom", "c1", s.now);
    s.drain();
    let q = s.last_sent().clone();
    s.push(GenericCommand::reply_to(&q, CommandType::Conv).with(ConvCommand {
        max_read_timestamp: Some(7),
        max_ack_timestamp: Some(9),
        ..Default::default()
    }));
    let muted = s.engine.query_muted_members("Tom", "c1", Some(10), None, s.now);
    s.drain();
    let q = s.last_sent().clone();
    assert_eq!(q.op_type(), Some(OpType::QueryShutup));
    s.push(GenericCommand::reply_to(&q, CommandType::Conv).with(ConvCommand {
        m: vec!["X".into()],
        next: Some("n".into()),
        ..Default::default()
    }));
    let blocked = s.engine.query_blocked_members("Tom", "c1", None, None, s.now);
    s.drain();
    let q = s.last_sent().clone();
    assert_eq!(
        (q.command_type(), q.op_type()),
        (Some(CommandType::Blacklist), Some(OpType::Query))
    );
    s.push(
        GenericCommand::reply_to(&q, CommandType::Blacklist).with(chinwag_protocol::BlacklistCommand {
            blocked_pids: vec!["Y".into()],
            ..Default::default()
        }),
    );
    let mut attrs = serde_json::Map::new();
    attrs.insert("attr.color".into(), "red".into());
    s.engine.get_conversation("Tom", "c1", s.now);
    s.drain();
    let q = s.last_sent().clone();
    s.push(GenericCommand::reply_to(&q, CommandType::Conv).with(ConvCommand {
        results: Some(JsonObjectMessage {
            data: r#"[{"objectId":"c1","m":["Tom","Jerry"]}]"#.into(),
        }),
        ..Default::default()
    }));
    let update = s.engine.update_conversation("Tom", "c1", attrs.into(), s.now);
    s.drain();
    let q = s.last_sent().clone();
    s.push(GenericCommand::reply_to(&q, CommandType::Conv).with(ConvCommand {
        udate: Some("u".into()),
        ..Default::default()
    }));
    let all = responses(&s.events);
    let get = |r: RequestId| all.iter().find(|(id, _)| *id == r).unwrap().1.clone();
    assert_eq!(get(online), Ok(Response::Online(vec!["B".into()])));
    assert_eq!(
        get(receipts),
        Ok(Response::ReceiptTimestamps {
            max_read: Some(7),
            max_ack: Some(9)
        })
    );
    assert_eq!(
        get(muted),
        Ok(Response::Members {
            members: vec!["X".into()],
            next: Some("n".into())
        })
    );
    assert_eq!(
        get(blocked),
        Ok(Response::Members {
            members: vec!["Y".into()],
            next: None
        })
    );
    assert_eq!(
        get(update),
        Ok(Response::Updated {
            updated_at: Some("u".into())
        })
    );
    let cached = s.engine.conversation("Tom", "c1").unwrap();
    assert_eq!(cached.attributes["attr"]["color"], "red");
}

#[test]
fn closing_the_last_client_closes_the_connection() {
    let mut s = Scripted::open("Tom");
    let close = s.engine.close_client("Tom", s.now);
    s.drain();
    let q = s.last_sent().clone();
    assert_eq!(q.op_type(), Some(OpType::Close));
    s.push(GenericCommand::reply_to(&q, CommandType::Session).with_op(OpType::Closed));
    assert!(responses(&s.events).contains(&(close, Ok(Response::Closed))));
    assert!(s.events.contains(&Event::Closed {
        client: "Tom".into(),
        code: 0,
        reason: String::new()
    }));
    assert_eq!(s.actions.last(), Some(&Action::Close));
    assert_eq!(s.engine.poll_timeout(), None);
    // A reply that arrives after its request timed out is ignored.
    let mut s = Scripted::open("Tom");
    let req = s.engine.count_members("Tom", "c1", s.now);
    s.drain();
    let q = s.last_sent().clone();
    s.run_until(21_000);
    s.events.clear();
    s.push(GenericCommand::reply_to(&q, CommandType::Conv).with(ConvCommand {
        count: Some(1),
        ..Default::default()
    }));
    assert!(!responses(&s.events).iter().any(|(r, _)| *r == req));
}

#[test]
fn signed_membership_changes_and_expired_temporary_conversations() {
    let mut s = Scripted::open("Tom");
    let sig = Signature {
        signature: "sig".into(),
        timestamp: 5,
        nonce: "n".into(),
    };
    s.engine
        .change_members("Tom", "c1", MemberOp::Block, &["A".into()], Some(&sig), s.now);
    s.drain();
    let block = s.last_sent().blacklist_message.clone().unwrap();
    assert_eq!(
        (block.s.as_deref(), block.t, block.n.as_deref()),
        (Some("sig"), Some(5), Some("n"))
    );
    let req = s
        .engine
        .change_members("Tom", "_tmp:x", MemberOp::Add, &["A".into()], Some(&sig), s.now);
    s.drain();
    let add = s.last_sent().clone();
    assert_eq!(add.conv_message.as_ref().unwrap().s.as_deref(), Some("sig"));
    s.push(GenericCommand::error_reply(
        &add,
        ErrorCode::ConversationNotFound,
        None,
    ));
    assert!(
        matches!(&responses(&s.events)[..], [(r, Err(RequestError::Server(e)))] if *r == req && e.code == 4323)
    );
}

#[test]
fn sign_in_timeout_drops_the_connection_and_route_failures_back_off() {
    let mut s = Scripted::direct();
    s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    s.connect();
    s.run_until(20_000);
    assert!(s.actions.contains(&Action::Close));
    assert!(s.events.contains(&Event::Disconnected {
        reason: DisconnectReason::LoginTimeout
    }));
    let mut s = Scripted::new(Options::with_router("app", "https://r.example"));
    s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    s.engine.handle_route_failed(s.now);
    s.drain();
    assert!(
        matches!(s.events.last(), Some(Event::Reconnecting { attempt: 1, delay }) if *delay >= Duration::from_millis(750))
    );
    s.run_until(1_000);
    assert_eq!(
        s.actions
            .iter()
            .filter(|a| matches!(a, Action::FetchRoute { .. }))
            .count(),
        2
    );
}

#[test]
fn a_session_token_from_the_app_signs_in_as_a_relogin() {
    let mut s = Scripted::direct();
    let req = s.engine.open_client(
        "Tom",
        ClientOptions {
            session_token: Some("saved".into()),
            ..Default::default()
        },
        s.now,
    );
    s.drain();
    s.connect();
    let session = s.last_sent().session_message.clone().unwrap();
    assert_eq!((session.r, session.st.as_deref()), (Some(true), Some("saved")));
    assert_eq!(session.last_patch_time, Some(1_700_000_000_000));
    s.answer_open("fresh");
    assert!(responses(&s.events).contains(&(req, Ok(Response::Opened))));
    assert_eq!(s.engine.session_token("Tom"), Some("fresh"));
}

#[test]
fn an_open_interrupted_by_a_disconnect_completes_on_the_next_connection() {
    let mut s = Scripted::direct();
    let req = s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    s.connect();
    s.engine.handle_disconnected(Some(1006), s.now);
    s.run_until(s.now.as_millis());
    s.connect();
    assert_eq!(s.last_sent().session_message.as_ref().unwrap().r, Some(false));
    // And once more through a sign-in timeout.
    s.run_until(s.now.as_millis() + 20_000);
    assert!(s.events.contains(&Event::Disconnected {
        reason: DisconnectReason::LoginTimeout
    }));
    s.run_until(s.now.as_millis());
    s.connect();
    s.answer_open("t");
    assert_eq!(responses(&s.events), [(req, Ok(Response::Opened))]);
}

#[test]
fn a_read_lost_with_the_connection_is_sent_again_after_the_relogin() {
    let mut s = Scripted::open("Tom");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.engine.read("Tom", "c1", s.now);
    s.drain();
    assert_eq!(s.last_sent().command_type(), Some(CommandType::Read));
    // The connection drops before any reply proves the read arrived.
    let sent_before = s.drop_and_relogin("tok-2");
    let reads: Vec<_> = s.sent[sent_before..]
        .iter()
        .filter(|c| c.command_type() == Some(CommandType::Read))
        .collect();
    assert_eq!(reads.len(), 1, "the read goes out again");
    let tuple = &reads[0].read_message.as_ref().unwrap().convs[0];
    assert_eq!(
        (tuple.cid.as_str(), tuple.mid.as_deref(), tuple.timestamp),
        ("c1", Some("m1"), Some(10))
    );
    assert_eq!(s.engine.conversation("Tom", "c1").unwrap().unread, 0);

    // A reply to a later request proves it arrived: the next drop re-sends nothing.
    answer_a_later_request(&mut s);
    let sent_before = s.drop_and_relogin("tok-3");
    assert!(
        s.sent[sent_before..]
            .iter()
            .all(|c| c.command_type() != Some(CommandType::Read)),
        "a confirmed read is not repeated"
    );
}

/// The `conv/query` frames sent since `from`, by the cid they ask for.
fn fetches_since(s: &Scripted, from: usize) -> Vec<(GenericCommand, String)> {
    s.sent[from..]
        .iter()
        .filter(|c| c.command_type() == Some(CommandType::Conv) && c.op_type() == Some(OpType::Query))
        .map(|c| {
            let conv = c.conv_message.as_ref().unwrap();
            let cid = match &conv.r#where {
                Some(w) => {
                    let json: serde_json::Value = serde_json::from_str(&w.data).unwrap();
                    json["objectId"].as_str().unwrap().to_owned()
                }
                None => conv.temp_conv_ids[0].clone(),
            };
            (c.clone(), cid)
        })
        .collect()
}

fn query_result(request: &GenericCommand, data: &str) -> GenericCommand {
    GenericCommand::reply_to(request, CommandType::Conv)
        .with_op(OpType::Results)
        .with(ConvCommand {
            results: Some(JsonObjectMessage { data: data.into() }),
            ..Default::default()
        })
}

#[test]
fn a_push_for_an_uncached_conversation_waits_for_its_fetch_and_keeps_event_order() {
    let mut s = Scripted::open("Tom");
    cache(&mut s, "known");
    let mark = s.sent.len();
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.push(direct_push("Tom", "m2", 11, "Jerry"));
    let ids = |events: &[Event]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message { message, .. } => message.id.clone(),
                Event::UnreadCountUpdated { conversations, .. } => {
                    Some(format!("unread {}", conversations[0].1))
                }
                Event::Invited { conversation, .. } => Some(format!("invited {conversation}")),
                _ => None,
            })
            .collect()
    };
    // Held until the conversation is known, as the official SDKs fetch it before they emit.
    assert!(ids(&s.events).is_empty(), "{:?}", s.events);
    // One fetch, `where {"objectId": cid}` as the JS SDK's getConversation.
    let fetches = fetches_since(&s, mark);
    assert_eq!(fetches.len(), 1, "{fetches:?}");
    assert_eq!(fetches[0].1, "c1");
    assert!(s.engine.conversation("Tom", "c1").unwrap().name.is_none());
    // A push about a known conversation queues behind the held ones (wire order per client).
    s.push(
        GenericCommand::push(CommandType::Conv, "Tom")
            .with_op(OpType::Joined)
            .with(ConvCommand {
                cid: Some("known".into()),
                init_by: Some("Jerry".into()),
                ..Default::default()
            }),
    );
    assert!(ids(&s.events).is_empty());
    // The reply fills the cache, then the events go out in wire order; local state (unread, last
    // message) is kept.
    s.push(query_result(
        &fetches[0].0,
        r#"[{"objectId":"c1","name":"Tom & Jerry","c":"Jerry","m":["Jerry","Tom"],"tr":false}]"#,
    ));
    assert_eq!(
        ids(&s.events),
        ["m1", "unread 1", "m2", "unread 2", "invited known"]
    );
    let conv = s.engine.conversation("Tom", "c1").unwrap();
    assert_eq!(conv.name.as_deref(), Some("Tom & Jerry"));
    assert_eq!(conv.creator.as_deref(), Some("Jerry"));
    assert_eq!(conv.members.len(), 2);
    assert_eq!(conv.unread, 2);
    assert_eq!(
        conv.last_message.as_ref().and_then(|m| m.id.as_deref()),
        Some("m2")
    );
    // Known now: later pushes fetch nothing and are delivered at once.
    let mark = s.sent.len();
    s.events.clear();
    s.push(direct_push("Tom", "m3", 12, "Jerry"));
    assert!(fetches_since(&s, mark).is_empty());
    assert_eq!(ids(&s.events), ["m3", "unread 3"]);
}

#[test]
fn held_events_are_released_by_a_failed_or_timed_out_fetch_and_by_a_lost_connection() {
    let mut s = Scripted::open("Tom");
    let joined = |cid: &str| {
        GenericCommand::push(CommandType::Conv, "Tom")
            .with_op(OpType::Joined)
            .with(ConvCommand {
                cid: Some(cid.into()),
                init_by: Some("Jerry".into()),
                ..Default::default()
            })
    };
    let invited = |events: &[Event]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Invited { conversation, .. } => Some(conversation.clone()),
                _ => None,
            })
            .collect()
    };
    // Refused by the server: the event goes out with what the push said.
    let mark = s.sent.len();
    s.push(joined("gone"));
    assert!(invited(&s.events).is_empty());
    let fetch = fetches_since(&s, mark).remove(0).0;
    s.push(GenericCommand::error_reply(
        &fetch,
        ErrorCode::ConversationNotFound,
        None,
    ));
    assert_eq!(invited(&s.events), ["gone"]);
    // Never answered: released when the request times out.
    s.events.clear();
    s.push(joined("silent"));
    s.advance(5_000);
    assert!(invited(&s.events).is_empty(), "still waiting within the timeout");
    s.run_until(s.now.as_millis() + 20_000);
    assert!(
        s.engine.is_connected(),
        "released by the fetch's timeout, not by a reconnect"
    );
    assert_eq!(invited(&s.events), ["silent"]);
    // Waiting when the connection drops: released at once (fetched again after the re-login).
    s.events.clear();
    s.push(joined("dropped"));
    assert!(invited(&s.events).is_empty());
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    assert_eq!(invited(&s.events), ["dropped"]);
}

#[test]
fn every_kind_of_push_fetches_an_unknown_conversation() {
    let mut s = Scripted::open("Tom");
    let mark = s.sent.len();
    s.push(
        GenericCommand::push(CommandType::Conv, "Tom")
            .with_op(OpType::Joined)
            .with(ConvCommand {
                cid: Some("joined".into()),
                init_by: Some("Jerry".into()),
                ..Default::default()
            }),
    );
    s.push(
        GenericCommand::push(CommandType::Unread, "Tom").with(UnreadCommand {
            convs: vec![UnreadTuple {
                cid: "unread".into(),
                unread: 2,
                timestamp: Some(5),
                ..Default::default()
            }],
            notif_time: Some(6),
        }),
    );
    s.push(GenericCommand::push(CommandType::Rcp, "Tom").with(RcpCommand {
        cid: Some("rcp".into()),
        t: Some(7),
        read: Some(true),
        ..Default::default()
    }));
    s.push(
        GenericCommand::push(CommandType::Patch, "Tom").with(PatchCommand {
            patches: vec![PatchItem {
                cid: Some("patch".into()),
                mid: Some("m9".into()),
                from: Some("Jerry".into()),
                timestamp: Some(3),
                patch_timestamp: Some(8),
                data: Some(TypedMessage::text("edited").to_json()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    );
    s.push(
        GenericCommand::push(CommandType::Direct, "Tom").with(DirectCommand {
            id: Some("t1".into()),
            cid: Some("_tmp:abc".into()),
            from_peer_id: Some("Jerry".into()),
            timestamp: Some(9),
            msg: Some(TypedMessage::text("hi").to_json()),
            ..Default::default()
        }),
    );
    let fetches = fetches_since(&s, mark);
    let cids: Vec<&str> = fetches.iter().map(|(_, cid)| cid.as_str()).collect();
    assert_eq!(cids, ["joined", "unread", "rcp", "patch", "_tmp:abc"]);
    let invited = |s: &Scripted| {
        s.events
            .iter()
            .any(|e| matches!(e, Event::Invited { conversation, .. } if conversation == "joined"))
    };
    assert!(!invited(&s), "held until fetched");
    for (fetch, _) in &fetches {
        s.push(query_result(fetch, "[]"));
    }
    assert!(invited(&s));
    assert_eq!(s.engine.conversation("Tom", "rcp").unwrap().last_read_at, Some(7));
}

#[test]
fn a_fetch_lost_with_the_connection_is_sent_again_and_a_failed_one_is_not() {
    let mut s = Scripted::open("Tom");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    let mark = s.sent.len();
    s.push(
        GenericCommand::push(CommandType::Conv, "Tom")
            .with_op(OpType::Joined)
            .with(ConvCommand {
                cid: Some("c2".into()),
                ..Default::default()
            }),
    );
    let c2 = fetches_since(&s, mark).remove(0).0;
    // c2's fetch fails on the server: the id-only entry stays and is not fetched again.
    s.push(GenericCommand::error_reply(
        &c2,
        ErrorCode::ConversationNotFound,
        None,
    ));
    let mark = s.drop_and_relogin("tok-2");
    let again: Vec<String> = fetches_since(&s, mark).into_iter().map(|(_, cid)| cid).collect();
    assert_eq!(
        again,
        ["c1"],
        "only the fetch lost with the connection is repeated"
    );
    assert!(s.engine.conversation("Tom", "c2").is_some());
}

#[test]
fn reading_an_uncached_conversation_fetches_it() {
    let mut s = Scripted::open("Tom");
    let mark = s.sent.len();
    s.engine.read("Tom", "c9", s.now);
    s.drain();
    let cids: Vec<String> = fetches_since(&s, mark).into_iter().map(|(_, cid)| cid).collect();
    assert_eq!(cids, ["c9"]);
    let mark = s.sent.len();
    s.engine.read("Tom", "c9", s.now);
    s.drain();
    assert!(fetches_since(&s, mark).is_empty(), "fetched once");
}

/// Refuses every connect the engine asks for (from action `answered` on) until `until` (absolute
/// ms), firing timers meanwhile; returns how many actions are handled.
fn refuse_connects_until(s: &mut Scripted, mut answered: usize, until: u64) -> usize {
    loop {
        if let Some(at) = s.actions[answered..]
            .iter()
            .position(|a| matches!(a, Action::Connect { .. }))
        {
            answered += at + 1;
            s.engine.handle_disconnected(None, s.now);
            s.drain();
            continue;
        }
        answered = s.actions.len();
        match s.engine.poll_timeout() {
            Some(at) if at.as_millis() <= until => {
                s.now = s.now.max(at);
                s.engine.handle_timeout(s.now);
                s.drain();
            }
            _ => break,
        }
    }
    s.now = s.now.max(Instant::from_millis(until));
    answered
}

fn connects(s: &Scripted) -> usize {
    s.actions
        .iter()
        .filter(|a| matches!(a, Action::Connect { .. }))
        .count()
}

#[test]
fn a_first_sign_in_to_an_unreachable_server_times_out_and_stops_retrying() {
    let mut s = Scripted::direct();
    let req = s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    let answered = refuse_connects_until(&mut s, 0, 29_999);
    assert!(
        responses(&s.events).is_empty(),
        "still trying before the deadline"
    );
    assert!(
        connects(&s) >= 5,
        "retried with backoff: {} connects",
        connects(&s)
    );
    let answered = refuse_connects_until(&mut s, answered, 30_000);
    assert_eq!(responses(&s.events), [(req, Err(RequestError::Timeout))]);
    assert_eq!(s.engine.clients().count(), 0);
    // Nothing is left to retry: no timer, no more connects.
    let tried = connects(&s);
    assert_eq!(s.engine.poll_timeout(), None);
    refuse_connects_until(&mut s, answered, 120_000);
    assert_eq!(connects(&s), tried);
}

#[test]
fn a_silent_server_fails_the_first_sign_in_at_the_deadline_and_the_socket_is_closed() {
    let mut s = Scripted::new(Options {
        sign_in_timeout: Duration::from_secs(5),
        ..Options::with_servers("app", ["ws://a/"])
    });
    let req = s.engine.open_client("Tom", ClientOptions::default(), s.now);
    s.drain();
    s.connect();
    assert_eq!(s.last_sent().op_type(), Some(OpType::Open));
    s.run_until(4_999);
    assert!(responses(&s.events).is_empty());
    s.run_until(5_000);
    assert_eq!(responses(&s.events), [(req, Err(RequestError::Timeout))]);
    assert_eq!(s.actions.last(), Some(&Action::Close));
    assert_eq!(s.engine.poll_timeout(), None);
    // A late `opened` for the abandoned sign-in changes nothing.
    s.answer_open("late");
    assert_eq!(s.engine.clients().count(), 0);
    assert_eq!(responses(&s.events).len(), 1);
}

#[test]
fn the_sign_in_deadline_ends_with_the_first_sign_in_and_spares_other_clients() {
    let mut s = Scripted::open("Tom");
    // Tom is signed in: a long outage afterwards is retried for as long as it lasts.
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    // Jerry's first sign-in starts during the outage and gives up at its own deadline.
    let mark = s.actions.len();
    let jerry = s.engine.open_client("Jerry", ClientOptions::default(), s.now);
    let start = s.now.as_millis();
    let answered = refuse_connects_until(&mut s, mark, start + 30_000);
    assert_eq!(responses(&s.events), [(jerry, Err(RequestError::Timeout))]);
    assert_eq!(s.engine.clients().collect::<Vec<_>>(), ["Tom"]);
    refuse_connects_until(&mut s, answered, start + 600_000);
    assert_eq!(s.engine.clients().collect::<Vec<_>>(), ["Tom"]);
    assert!(
        s.engine.poll_timeout().is_some(),
        "Tom's reconnect is still scheduled"
    );
    let before = connects(&s);
    s.run_until(s.engine.poll_timeout().unwrap().as_millis());
    assert_eq!(connects(&s), before + 1);
    s.connect();
    s.answer_open("tok-2");
    assert!(s.events.contains(&Event::Reconnected { client: "Tom".into() }));
}

#[test]
fn no_request_waits_forever_while_offline() {
    let mut s = Scripted::open("Tom");
    s.engine.set_online(false, s.now);
    s.drain();
    s.take_events();
    let read = s.engine.read("Tom", "c1", s.now);
    let query = s.engine.query_online("Tom", &["Jerry".into()], s.now);
    s.drain();
    // A read is recorded locally and answered at once; it reaches the server after the sign-in.
    assert_eq!(responses(&s.events), [(read, Ok(Response::Done))]);
    s.run_until(20_000);
    assert_eq!(
        responses(&s.events),
        [(read, Ok(Response::Done)), (query, Err(RequestError::Timeout))]
    );
    // Signing out needs no server: the session ends with the connection.
    let close = s.engine.close_client("Tom", s.now);
    s.drain();
    assert!(responses(&s.events).contains(&(close, Ok(Response::Closed))));
    assert_eq!(s.engine.clients().count(), 0);
    assert_eq!(s.engine.poll_timeout(), None);
}

#[test]
fn a_sign_out_that_the_connection_loses_or_the_server_ignores_still_closes_the_client() {
    // Lost with the connection.
    let mut s = Scripted::open("Tom");
    let close = s.engine.close_client("Tom", s.now);
    s.drain();
    assert_eq!(s.last_sent().op_type(), Some(OpType::Close));
    s.engine.handle_disconnected(Some(1006), s.now);
    s.drain();
    assert!(responses(&s.events).contains(&(close, Ok(Response::Closed))));
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::Closed { client, .. } if client == "Tom"))
    );
    assert_eq!(s.engine.clients().count(), 0);
    assert_eq!(s.engine.poll_timeout(), None, "no reconnect for nobody");

    // Never answered.
    let mut s = Scripted::open("Tom");
    let close = s.engine.close_client("Tom", s.now);
    s.drain();
    s.run_until(20_000);
    assert_eq!(responses(&s.events), [(close, Ok(Response::Closed))]);
    assert_eq!(s.engine.clients().count(), 0);
    assert_eq!(s.actions.last(), Some(&Action::Close));
}

/// The `ack` frames sent since `from`, as (cid, fromts, tots).
fn acks_since(s: &Scripted, from: usize) -> Vec<(String, i64, i64)> {
    s.sent[from..]
        .iter()
        .filter(|c| c.command_type() == Some(CommandType::Ack))
        .map(|c| {
            let ack = c.ack_message.as_ref().unwrap();
            (ack.cid.clone().unwrap(), ack.fromts.unwrap(), ack.tots.unwrap())
        })
        .collect()
}

#[test]
fn an_ack_lost_with_the_connection_is_sent_again_after_the_relogin() {
    let mut s = Scripted::open("Tom");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    s.push(direct_push("Tom", "m2", 12, "Jerry"));
    let mark = s.sent.len();
    s.advance(1_000);
    assert_eq!(acks_since(&s, mark), [("c1".to_owned(), 10, 12)]);
    // The connection drops before any reply proves the ack arrived.
    let mark = s.drop_and_relogin("tok-2");
    s.advance(1_000);
    assert_eq!(
        acks_since(&s, mark),
        [("c1".to_owned(), 10, 12)],
        "the ack goes out again"
    );

    // A reply to a later request proves it arrived: the next drop re-sends nothing.
    answer_a_later_request(&mut s);
    let mark = s.drop_and_relogin("tok-3");
    s.advance(5_000);
    assert!(acks_since(&s, mark).is_empty(), "a confirmed ack is not repeated");
}

#[test]
fn acks_not_yet_flushed_when_the_connection_drops_go_out_after_the_relogin() {
    let mut s = Scripted::open("Tom");
    s.push(direct_push("Tom", "m1", 10, "Jerry"));
    // Down before the batching delay ends: nothing was sent.
    let mark = s.drop_and_relogin("tok-2");
    s.advance(1_000);
    assert_eq!(acks_since(&s, mark), [("c1".to_owned(), 10, 10)]);
}
