//! End-to-end scenarios of real engines against the real hub: receipts, history, attribute
//! updates, single-device conflicts, several clients on one engine, chat rooms, `will` messages,
//! a resend whose first copy reaches the server late, and an ack lost with the connection.

use chinwag_core::{
    ClientOptions, CreateConversation, Event, HistoryQuery, MessageContent, MessageStatus, Response,
    SendOptions,
};
use chinwag_server::Storage;
use chinwag_testkit::World;

fn text(s: &str) -> MessageContent {
    MessageContent::Text(s.into())
}

/// A world with Tom (peer 0) and Jerry (peer 1) signed in and a conversation between them.
fn tom_and_jerry() -> (World, String) {
    let mut world = World::with_seed(11, 10);
    for name in ["Tom", "Jerry"] {
        let peer = world.add_peer(name);
        world.open(peer, name);
    }
    let request = world.act(0, |e, now| {
        let mut create = CreateConversation::with_members(["Jerry"]);
        create.name = Some("Tom & Jerry".into());
        e.create_conversation("Tom", create, now)
    });
    let Ok(Response::Created(conv)) = world.run_until_response(0, request) else {
        panic!("not created")
    };
    world.run_until_idle();
    (world, conv.id)
}

fn send(
    world: &mut World,
    peer: usize,
    client: &str,
    cid: &str,
    body: &str,
    options: SendOptions,
) -> Response {
    let request = world.act(peer, |e, now| e.send(client, cid, text(body), options, now));
    world.run_until_response(peer, request).expect("sent")
}

#[test]
fn receipts_report_delivered_then_read() {
    let (mut world, cid) = tom_and_jerry();
    let receipt = SendOptions {
        receipt: true,
        ..Default::default()
    };
    let Response::Sent(sent) = send(&mut world, 0, "Tom", &cid, "did you get this?", receipt) else {
        panic!("not sent")
    };
    let id = sent.id.clone().expect("id");
    let status = |world: &World, wanted: MessageStatus| {
        world.peer(0).events.iter().any(|e| {
            matches!(e, Event::MessageStatusChanged { message_id, status, .. }
                if *message_id == id && *status == wanted)
        })
    };
    // Jerry's engine acks in a batch; the server sends Tom a delivery receipt.
    assert!(world.run_until(10_000, |w| status(w, MessageStatus::Delivered)));
    world.act(1, |e, now| e.read("Jerry", &cid, now));
    assert!(world.run_until(10_000, |w| status(w, MessageStatus::Read)));
    let read_at = world.peer(0).events.iter().find_map(|e| match e {
        Event::LastReadAt { conversation, at, .. } if *conversation == cid => Some(*at),
        _ => None,
    });
    // `t` is when Jerry read (server time), not the message's timestamp.
    assert!(read_at.is_some_and(|at| at >= sent.timestamp), "{read_at:?}");
}

#[test]
fn history_comes_back_in_order_from_the_server() {
    let (mut world, cid) = tom_and_jerry();
    let mut ids = Vec::new();
    for (i, (peer, client)) in [(0, "Tom"), (1, "Jerry"), (0, "Tom"), (1, "Jerry"), (0, "Tom")]
        .into_iter()
        .enumerate()
    {
        let Response::Sent(m) = send(
            &mut world,
            peer,
            client,
            &cid,
            &format!("#{i}"),
            SendOptions::default(),
        ) else {
            panic!("not sent")
        };
        ids.push(m.id.expect("id"));
    }
    let request = world.act(1, |e, now| {
        e.query_messages("Jerry", &cid, HistoryQuery::default(), now)
    });
    let Ok(Response::History(history)) = world.run_until_response(1, request) else {
        panic!("no history")
    };
    let got: Vec<_> = history.iter().filter_map(|m| m.id.clone()).collect();
    assert_eq!(got, ids);
    assert_eq!(history[0].content, text("#0"));
    let request = world.act(1, |e, now| {
        e.query_messages(
            "Jerry",
            &cid,
            HistoryQuery {
                limit: Some(2),
                ..Default::default()
            },
            now,
        )
    });
    let Ok(Response::History(newest)) = world.run_until_response(1, request) else {
        panic!("no history")
    };
    assert_eq!(
        newest.iter().filter_map(|m| m.id.clone()).collect::<Vec<_>>(),
        ids[3..]
    );
}

#[test]
fn attribute_updates_reach_the_other_member_and_its_cache() {
    let (mut world, cid) = tom_and_jerry();
    let mut attributes = chinwag_core::json::Map::new();
    attributes.insert("name", "Cat & Mouse");
    let request = world.act(0, |e, now| e.update_conversation("Tom", &cid, attributes, now));
    assert!(matches!(
        world.run_until_response(0, request),
        Ok(Response::Updated { .. })
    ));
    world.run_until_idle();
    assert!(world.peer(1).events.iter().any(|e| matches!(
        e,
        Event::InfoUpdated { conversation, updated_by, .. }
            if *conversation == cid && updated_by.as_deref() == Some("Tom")
    )));
    for (peer, client) in [(0, "Tom"), (1, "Jerry")] {
        let conv = world
            .peer(peer)
            .engine
            .conversation(client, &cid)
            .expect("cached");
        assert_eq!(conv.name.as_deref(), Some("Cat & Mouse"), "{client}");
    }
}

#[test]
fn the_same_tag_on_a_second_device_closes_the_first() {
    let mut world = World::new();
    let phone = world.add_peer("phone");
    let tablet = world.add_peer("tablet");
    let tagged = ClientOptions {
        tag: Some("mobile".into()),
        ..Default::default()
    };
    let first = world.act(phone, |e, now| e.open_client("Tom", tagged.clone(), now));
    assert_eq!(world.run_until_response(phone, first), Ok(Response::Opened));
    let second = world.act(tablet, |e, now| e.open_client("Tom", tagged, now));
    assert_eq!(world.run_until_response(tablet, second), Ok(Response::Opened));
    world.run_until_idle();
    assert!(world.peer(phone).events.iter().any(|e| matches!(
        e,
        Event::Conflict { client, .. } if client == "Tom"
    )));
    assert_eq!(world.peer(phone).engine.clients().count(), 0);
    assert!(world.peer(tablet).engine.is_open("Tom"));
    assert!(world.hub().is_online("Tom"));
}

#[test]
fn two_clients_on_one_engine_each_get_their_pushes() {
    let mut world = World::new();
    let shared = world.add_peer("shared");
    world.open(shared, "Tom");
    world.open(shared, "Jerry");
    let request = world.act(shared, |e, now| {
        e.create_conversation("Tom", CreateConversation::with_members(["Jerry"]), now)
    });
    let Ok(Response::Created(conv)) = world.run_until_response(shared, request) else {
        panic!("not created")
    };
    send(
        &mut world,
        shared,
        "Tom",
        &conv.id,
        "hello me",
        SendOptions::default(),
    );
    world.run_until_idle();
    let peer = world.peer(shared);
    assert!(
        peer.events_of("Jerry")
            .any(|e| matches!(e, Event::Invited { client, .. } if client == "Jerry"))
    );
    let jerry_got: Vec<_> = peer
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message { client, .. } if client == "Jerry"))
        .collect();
    assert_eq!(jerry_got.len(), 1);
    assert!(
        !peer
            .events
            .iter()
            .any(|e| matches!(e, Event::Message { client, .. } if client == "Tom"))
    );
    assert_eq!(
        peer.engine
            .conversation("Jerry", &conv.id)
            .expect("cached")
            .unread,
        1
    );
}

#[test]
fn chat_rooms_deliver_without_unread_counts() {
    let mut world = World::new();
    for name in ["Tom", "Jerry"] {
        let peer = world.add_peer(name);
        world.open(peer, name);
    }
    let request = world.act(0, |e, now| {
        e.create_conversation("Tom", CreateConversation::chat_room(Some("lobby")), now)
    });
    let Ok(Response::Created(room)) = world.run_until_response(0, request) else {
        panic!("not created")
    };
    let request = world.act(1, |e, now| e.join("Jerry", &room.id, now));
    world.run_until_response(1, request).expect("joined");
    send(&mut world, 0, "Tom", &room.id, "anyone?", SendOptions::default());
    world.run_until_idle();
    let got = world
        .peer(1)
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message { message, .. } if message.conversation == room.id))
        .count();
    assert_eq!(got, 1);
    assert_eq!(
        world
            .peer(1)
            .engine
            .conversation("Jerry", &room.id)
            .map_or(0, |c| c.unread),
        0
    );
}

#[test]
fn a_will_message_goes_out_when_the_sender_drops() {
    let (mut world, cid) = tom_and_jerry();
    let will = SendOptions {
        will: true,
        ..Default::default()
    };
    send(&mut world, 0, "Tom", &cid, "Tom went away", will);
    world.run_until_idle();
    let messages = |world: &World| {
        world
            .peer(1)
            .events
            .iter()
            .filter(|e| matches!(e, Event::Message { .. }))
            .count()
    };
    assert_eq!(messages(&world), 0, "not before the drop");
    world.cut(0);
    world.run_until_idle();
    assert_eq!(messages(&world), 1);
}

#[test]
fn a_resend_and_its_late_first_copy_are_stored_once() {
    let (mut world, cid) = tom_and_jerry();
    world.peer_mut(0).link.latency = 200;
    let request = world.act(0, |e, now| {
        e.send("Tom", &cid, text("once"), SendOptions::default(), now)
    });
    world.advance(50); // the direct is on the wire
    world.cut_lingering(0, 3_000); // it reaches the server after Tom's reconnect and resend
    let Ok(Response::Sent(sent)) = world.run_until_response(0, request) else {
        panic!("not sent")
    };
    world.run_until_idle();
    world.advance(5_000);
    let stored = world
        .storage()
        .history(&chinwag_server::storage::HistoryQuery {
            cid: cid.clone(),
            lower: std::ops::Bound::Unbounded,
            upper: std::ops::Bound::Unbounded,
            lctype: None,
            newest_first: false,
            limit: 100,
            viewer: None,
        })
        .expect("history");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(Some(stored[0].id.clone()), sent.id);
    let received = world
        .peer(1)
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .count();
    assert_eq!(received, 1);
}

#[test]
fn a_late_sign_in_from_the_same_device_does_not_kick_the_new_session() {
    let mut world = World::with_seed(5, 200);
    let phone = world.add_peer("phone");
    let tagged = ClientOptions {
        tag: Some("mobile".into()),
        ..Default::default()
    };
    let request = world.act(phone, |e, now| e.open_client("Tom", tagged, now));
    world.advance(50); // session/open is on the wire
    world.cut_lingering(phone, 3_000); // it reaches the server after the next connection's sign-in
    assert_eq!(world.run_until_response(phone, request), Ok(Response::Opened));
    world.run_until_idle();
    world.advance(10_000);
    assert!(
        !world
            .peer(phone)
            .events
            .iter()
            .any(|e| matches!(e, Event::Conflict { .. } | Event::Closed { .. })),
        "{:?}",
        world.peer(phone).events
    );
    assert!(world.peer(phone).engine.is_open("Tom"));
    assert!(world.hub().is_online("Tom"));
}

#[test]
fn a_delivery_receipt_survives_an_ack_lost_with_the_connection() {
    let (mut world, cid) = tom_and_jerry();
    let receipt = SendOptions {
        receipt: true,
        ..Default::default()
    };
    // Jerry's link is stalled while Tom sends; it is released until the push arrives, then stalled
    // again so that the batched ack stays on the link.
    world.hold(1, true);
    let request = world.act(0, |e, now| e.send("Tom", &cid, text("got it?"), receipt, now));
    let Ok(Response::Sent(sent)) = world.run_until_response(0, request) else {
        panic!("not sent")
    };
    let id = sent.id.clone().expect("id");
    world.hold(1, false);
    assert!(world.run_until(1_000, |w| w.peer(1).events.iter().any(
        |e| matches!(e, Event::Message { message, .. } if message.id.as_deref() == Some(id.as_str()))
    )));
    world.hold(1, true);
    // The ack is flushed into the stalled link, then the connection drops with it.
    world.advance(2_000);
    world.cut(1);
    world.restore(1);
    let delivered = |world: &World| {
        world.peer(0).events.iter().any(|e| {
            matches!(e, Event::MessageStatusChanged { message_id, status, .. }
                if *message_id == id && *status == MessageStatus::Delivered)
        })
    };
    assert!(!delivered(&world), "the first ack never reached the server");
    world.hold(1, false);
    assert!(
        world.run_until(60_000, delivered),
        "the ack is sent again after the re-login"
    );
}
