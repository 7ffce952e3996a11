//! The harness itself: simulated time, the link's latency, holding and ordering, restarts.

use chinwag_core::{CreateConversation, Event, MessageContent, Response, SendOptions};
use chinwag_testkit::World;

fn pair(latency: u64) -> (World, String) {
    let mut world = World::with_seed(3, latency);
    for name in ["Tom", "Jerry"] {
        let peer = world.add_peer(name);
        world.open(peer, name);
    }
    let request = world.act(0, |e, now| {
        e.create_conversation("Tom", CreateConversation::with_members(["Jerry"]), now)
    });
    let Ok(Response::Created(conv)) = world.run_until_response(0, request) else {
        panic!("not created")
    };
    world.run_until_idle();
    (world, conv.id)
}

fn is_message(e: &Event) -> bool {
    matches!(e, Event::Message { .. })
}

#[test]
fn a_message_takes_one_latency_to_the_server_and_one_to_the_receiver() {
    let (mut world, cid) = pair(40);
    let start = world.now;
    world.act(0, |e, now| {
        e.send(
            "Tom",
            &cid,
            MessageContent::Text("hi".into()),
            SendOptions::default(),
            now,
        )
    });
    let event = world.run_until_event(1, 1_000, is_message);
    assert!(event.is_some());
    assert_eq!(
        (world.now - start).as_millis(),
        80,
        "time jumps to the deliveries, no further"
    );
}

#[test]
fn a_held_link_delivers_nothing_until_released_then_in_order() {
    let (mut world, cid) = pair(5);
    world.hold(1, true);
    for i in 0..3 {
        world.act(0, |e, now| {
            e.send(
                "Tom",
                &cid,
                MessageContent::Text(format!("{i}")),
                SendOptions::default(),
                now,
            )
        });
    }
    world.advance(1_000);
    assert!(!world.peer(1).events.iter().any(is_message));
    world.hold(1, false);
    world.run_until_idle();
    let texts: Vec<_> = world
        .peer(1)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => Some(message.content.clone()),
            _ => None,
        })
        .collect();
    let want: Vec<_> = (0..3).map(|i| MessageContent::Text(format!("{i}"))).collect();
    assert_eq!(texts, want);
}

#[test]
fn a_restart_keeps_the_data_and_everyone_reconnects_on_new_connections() {
    let (mut world, cid) = pair(5);
    let before: Vec<_> = world.peers.iter().map(|p| p.link.conn_id()).collect();
    world.restart_server();
    world.run_until(60_000, |w| {
        w.peer(0).engine.is_open("Tom") && w.peer(1).engine.is_open("Jerry")
    });
    assert_eq!(world.restarts(), 1);
    let after: Vec<_> = world.peers.iter().map(|p| p.link.conn_id()).collect();
    assert!(after.iter().all(Option::is_some));
    assert!(before.iter().zip(&after).all(|(b, a)| b != a));
    // The conversation survived in SQLite: sending to it still works.
    let request = world.act(0, |e, now| {
        e.send(
            "Tom",
            &cid,
            MessageContent::Text("still here".into()),
            SendOptions::default(),
            now,
        )
    });
    assert!(matches!(
        world.run_until_response(0, request),
        Ok(Response::Sent(_))
    ));
    world.run_until_idle();
    assert_eq!(world.peer(1).events.iter().filter(|e| is_message(e)).count(), 1);
}

#[test]
fn a_cut_link_refuses_connects_until_restored() {
    let (mut world, _) = pair(5);
    world.cut(1);
    world.advance(60_000);
    assert!(!world.peer(1).engine.is_connected());
    assert!(!world.hub().is_online("Jerry"));
    world.restore(1);
    assert!(world.run_until(60_000, |w| w.peer(1).engine.is_open("Jerry")));
    assert!(world.hub().is_online("Jerry"));
}
