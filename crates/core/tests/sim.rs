//! Engines against the in-process fake server over a simulated link: a scenario test and the
//! reference-model property test (every message delivered exactly once, in order; unread counts match).

mod support;

use std::collections::BTreeMap;

use chinwag_core::{
    ClientOptions, CreateConversation, Event, MessageContent, RequestId, Response, SendOptions,
};
use proptest::prelude::*;
use support::sim::Sim;

/// Creates the conversations through A's engine: conv 0 = {A, B, C}, conv 1 = {A, B}.
fn setup(seed: u64) -> (Sim, Vec<String>) {
    // Odd seeds use tiny gap-filling pages and buffers, so paging and buffer overflow are exercised.
    let mut sim = Sim::with_options(&["A", "B", "C"], seed, |options| {
        if seed % 2 == 1 {
            options.catch_up_page = 2;
            options.catch_up_buffer = 1;
        }
    });
    sim.open_all();
    let mut cids = Vec::new();
    for members in [vec!["B", "C"], vec!["B"]] {
        let now = sim.now;
        sim.peers[0]
            .engine
            .create_conversation("A", CreateConversation::with_members(members), now);
        sim.settle();
        let cid = sim.peers[0]
            .events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Response {
                    result: Ok(Response::Created(c)),
                    ..
                } => Some(c.id.clone()),
                _ => None,
            })
            .expect("created");
        cids.push(cid);
    }
    (sim, cids)
}

fn members(cids: &[String], conv: usize) -> &'static [usize] {
    let _ = cids;
    if conv == 0 { &[0, 1, 2] } else { &[0, 1] }
}

/// Checks the model after the simulation converged.
fn check(sim: &Sim, cids: &[String], sends: &[(usize, RequestId)]) {
    // Invitations and messages arrive with their conversation's members in the cache (fetched
    // first when a push names a conversation the engine did not know).
    for peer in &sim.peers {
        for (kind, cid, members) in &peer.members_at_event {
            assert!(
                *members > 0,
                "{}: {kind} of {cid} before its members were known",
                peer.id
            );
        }
    }
    // Each send got exactly one outcome; successful ones are stored on the server.
    for (peer, request) in sends {
        let outcomes: Vec<_> = sim.peers[*peer]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Response {
                    request: r, result, ..
                } if r == request => Some(result.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(outcomes.len(), 1, "send {request:?} of {peer}: {outcomes:?}");
        if let Ok(Response::Sent(message)) = &outcomes[0] {
            let id = message.id.clone().unwrap();
            assert!(
                sim.server.convs[&message.conversation]
                    .1
                    .iter()
                    .any(|m| m.id == id)
            );
        }
    }
    // The server stored each client message id once.
    for (_, messages) in sim.server.convs.values() {
        let mut dts: Vec<_> = messages.iter().filter_map(|m| m.dt.clone()).collect();
        let n = dts.len();
        dts.sort();
        dts.dedup();
        assert_eq!(dts.len(), n, "duplicate dt stored");
    }
    for (i, peer) in sim.peers.iter().enumerate() {
        let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for event in &peer.events {
            if let Event::Message { message, .. } = event {
                if message.from != peer.id {
                    received
                        .entry(message.conversation.clone())
                        .or_default()
                        .push(message.id.clone().unwrap());
                }
            }
        }
        for (c, cid) in cids.iter().enumerate() {
            if !members(cids, c).contains(&i) {
                continue;
            }
            let (_, stored) = &sim.server.convs[cid];
            let expected: Vec<String> = stored
                .iter()
                .filter(|m| m.from != peer.id)
                .map(|m| m.id.clone())
                .collect();
            let got = received.get(cid).cloned().unwrap_or_default();
            assert_eq!(
                got, expected,
                "peer {} conv {cid}: every message once, in order",
                peer.id
            );
            let read = sim
                .server
                .reads
                .get(&(peer.id.clone(), cid.clone()))
                .copied()
                .unwrap_or(i64::MIN);
            let unread = stored.iter().filter(|m| m.from != peer.id && m.ts > read).count() as u32;
            let local = peer.engine.conversation(&peer.id, cid).map_or(0, |c| c.unread);
            assert_eq!(local, unread, "peer {} conv {cid}: unread", peer.id);
        }
    }
}

fn converge(sim: &mut Sim) {
    for i in 0..sim.peers.len() {
        sim.peers[i].held = false;
        sim.peers[i].link_up = true;
    }
    // Long enough for the longest backoff, the gap filling and the batched acks.
    for _ in 0..6 {
        sim.advance(31_000);
    }
}

#[test]
fn reconnect_fills_the_gap_and_resends_the_queue() {
    let (mut sim, cids) = setup(1);
    let mut sends = Vec::new();
    let text = |s: &str| MessageContent::Text(s.into());
    let now = sim.now;
    sends.push((
        0,
        sim.peers[0]
            .engine
            .send("A", &cids[0], text("1"), SendOptions::default(), now),
    ));
    sim.settle();
    sim.cut(1); // B misses what follows
    let now = sim.now;
    sends.push((
        0,
        sim.peers[0]
            .engine
            .send("A", &cids[0], text("2"), SendOptions::default(), now),
    ));
    sends.push((
        2,
        sim.peers[2]
            .engine
            .send("C", &cids[0], text("3"), SendOptions::default(), now),
    ));
    sends.push((
        1,
        sim.peers[1]
            .engine
            .send("B", &cids[1], text("offline"), SendOptions::default(), now),
    ));
    sim.settle();
    sim.advance(5_000);
    sim.restore(1);
    converge(&mut sim);
    check(&sim, &cids, &sends);
    let b_msgs = sim.peers[1]
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message { .. }))
        .count();
    assert_eq!(b_msgs, 3);
    assert!(
        sim.peers[1]
            .events
            .iter()
            .any(|e| matches!(e, Event::Reconnected { .. }))
    );
    assert_eq!(sim.peers[1].engine.conversation("B", &cids[0]).unwrap().unread, 3);
}

#[derive(Clone, Debug)]
enum Op {
    Send {
        peer: usize,
        conv: usize,
    },
    Read {
        peer: usize,
        conv: usize,
    },
    Cut(usize),
    Restore(usize),
    Hold(usize),
    Release(usize),
    Advance(u64),
    /// The server restarts: every connection drops at once, storage survives.
    RestartServer,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..2usize).prop_map(|(peer, conv)| Op::Send { peer, conv }),
        1 => (0..3usize, 0..2usize).prop_map(|(peer, conv)| Op::Read { peer, conv }),
        2 => (0..3usize).prop_map(Op::Cut),
        2 => (0..3usize).prop_map(Op::Restore),
        1 => (0..3usize).prop_map(Op::Hold),
        1 => (0..3usize).prop_map(Op::Release),
        2 => (0..15_000u64).prop_map(Op::Advance),
        1 => Just(Op::RestartServer),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_message_is_delivered_once_in_order_and_unread_counts_match(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let (mut sim, cids) = setup(seed);
        let mut sends = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Send { peer, conv } => {
                    let conv = if members(&cids, conv).contains(&peer) { conv } else { 0 };
                    let id = sim.peers[peer].id.clone();
                    let now = sim.now;
                    let request = sim.peers[peer].engine.send(
                        &id,
                        &cids[conv],
                        MessageContent::Text(format!("{id}-{n}")),
                        SendOptions::default(),
                        now,
                    );
                    sends.push((peer, request));
                }
                Op::Read { peer, conv } => {
                    let conv = if members(&cids, conv).contains(&peer) { conv } else { 0 };
                    let id = sim.peers[peer].id.clone();
                    let now = sim.now;
                    sim.peers[peer].engine.read(&id, &cids[conv], now);
                }
                Op::Cut(i) => sim.cut(i),
                Op::Restore(i) => sim.restore(i),
                Op::Hold(i) => sim.peers[i].held = true,
                Op::Release(i) => sim.peers[i].held = false,
                Op::Advance(ms) => sim.advance(ms),
                Op::RestartServer => sim.restart_server(),
            }
            sim.settle();
        }
        converge(&mut sim);
        check(&sim, &cids, &sends);
    }
}

#[test]
fn a_second_client_on_the_same_engine_is_routed_by_peer_id() {
    let mut sim = Sim::new(&["A", "B"], 3);
    sim.open_all();
    let now = sim.now;
    sim.peers[0]
        .engine
        .open_client("A2", ClientOptions::default(), now);
    sim.settle();
    let opened = sim.peers[0]
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Response {
                    result: Ok(Response::Opened),
                    ..
                }
            )
        })
        .count();
    assert_eq!(opened, 2);
    let now = sim.now;
    sim.peers[1]
        .engine
        .create_conversation("B", CreateConversation::with_members(["A2"]), now);
    sim.settle();
    assert!(
        sim.peers[0]
            .events
            .iter()
            .any(|e| matches!(e, Event::Invited { client, .. } if client == "A2"))
    );
}

#[test]
fn single_device_tag_conflict_closes_the_older_session() {
    let mut sim = Sim::new(&["phone", "tablet"], 9);
    let tagged = ClientOptions {
        tag: Some("mobile".into()),
        ..Default::default()
    };
    let now = sim.now;
    sim.peers[0].engine.open_client("Tom", tagged.clone(), now);
    sim.settle();
    sim.peers[1].engine.open_client("Tom", tagged, now);
    sim.settle();
    assert!(sim.peers[0].events.iter().any(
        |e| matches!(e, Event::Conflict { client, reason } if client == "Tom" && reason == "SESSION_CONFLICT")
    ));
    assert_eq!(sim.peers[0].engine.clients().count(), 0);
    assert!(
        !sim.peers[0].connected,
        "the last client gone closes the connection"
    );
    assert!(sim.peers[1].engine.is_open("Tom"));
}

#[test]
fn an_invitation_arrives_with_the_conversation_fetched() {
    let (sim, cids) = setup(4);
    // B was invited to both conversations, C to the first: each `Invited` event was polled with
    // the fetched member list already cached.
    let invited = |peer: usize| -> Vec<(String, usize)> {
        sim.peers[peer]
            .members_at_event
            .iter()
            .filter(|(kind, _, _)| *kind == "invited")
            .map(|(_, cid, members)| (cid.clone(), *members))
            .collect()
    };
    assert_eq!(invited(1), [(cids[0].clone(), 3), (cids[1].clone(), 2)]);
    assert_eq!(invited(2), [(cids[0].clone(), 3)]);
}
