//! Random application calls from several engines against the real hub, with cuts and restarts:
//! every request is answered exactly once, the server never answers a command the core sends with
//! `INTERNAL_ERROR` (a shape it does not understand), and no push is left unhandled.

use chinwag_core::{
    ConversationQuery, CreateConversation, Event, HistoryQuery, MessageContent, RequestError, RequestId,
    Response, SendOptions,
};
use chinwag_testkit::World;
use proptest::prelude::*;

const NAMES: [&str; 3] = ["A", "B", "C"];

#[derive(Clone, Debug)]
enum Call {
    Create { members: Vec<usize>, unique: bool },
    Send { conv: usize },
    Read { conv: usize },
    Add { conv: usize, who: usize },
    Remove { conv: usize, who: usize },
    Join { conv: usize },
    Quit { conv: usize },
    Update { conv: usize },
    Get { conv: usize },
    QueryMine,
    History { conv: usize },
    Count { conv: usize },
    Mute { conv: usize, on: bool },
    ReceiptTimestamps { conv: usize },
    Online,
}

#[derive(Clone, Debug)]
enum Op {
    Call(usize, Call),
    Cut(usize),
    Restore(usize),
    Advance(u64),
    Restart,
}

fn call() -> impl Strategy<Value = Call> {
    let conv = 0..6usize;
    prop_oneof![
        2 => (proptest::collection::vec(0..3usize, 0..3), any::<bool>())
            .prop_map(|(members, unique)| Call::Create { members, unique }),
        4 => conv.clone().prop_map(|conv| Call::Send { conv }),
        1 => conv.clone().prop_map(|conv| Call::Read { conv }),
        1 => (conv.clone(), 0..3usize).prop_map(|(conv, who)| Call::Add { conv, who }),
        1 => (conv.clone(), 0..3usize).prop_map(|(conv, who)| Call::Remove { conv, who }),
        1 => conv.clone().prop_map(|conv| Call::Join { conv }),
        1 => conv.clone().prop_map(|conv| Call::Quit { conv }),
        1 => conv.clone().prop_map(|conv| Call::Update { conv }),
        1 => conv.clone().prop_map(|conv| Call::Get { conv }),
        1 => Just(Call::QueryMine),
        1 => conv.clone().prop_map(|conv| Call::History { conv }),
        1 => conv.clone().prop_map(|conv| Call::Count { conv }),
        1 => (conv.clone(), any::<bool>()).prop_map(|(conv, on)| Call::Mute { conv, on }),
        1 => conv.clone().prop_map(|conv| Call::ReceiptTimestamps { conv }),
        1 => Just(Call::Online),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..3usize, call()).prop_map(|(peer, call)| Op::Call(peer, call)),
        1 => (0..3usize).prop_map(Op::Cut),
        2 => (0..3usize).prop_map(Op::Restore),
        2 => (0..20_000u64).prop_map(Op::Advance),
        1 => Just(Op::Restart),
    ]
}

fn issue(world: &mut World, peer: usize, call: Call, cids: &[String]) -> RequestId {
    let me = NAMES[peer];
    let cid = |conv: usize| {
        cids.get(conv % cids.len().max(1))
            .cloned()
            .unwrap_or_else(|| "nope".into())
    };
    world.act(peer, |e, now| match call {
        Call::Create { members, unique } => {
            let mut create = CreateConversation::with_members(members.into_iter().map(|m| NAMES[m]));
            create.unique = unique;
            create.name = Some(format!("by {me}"));
            e.create_conversation(me, create, now)
        }
        Call::Send { conv } => e.send(
            me,
            &cid(conv),
            MessageContent::Text("x".into()),
            SendOptions::default(),
            now,
        ),
        Call::Read { conv } => e.read(me, &cid(conv), now),
        Call::Add { conv, who } => e.add_members(me, &cid(conv), &[NAMES[who].into()], now),
        Call::Remove { conv, who } => e.remove_members(me, &cid(conv), &[NAMES[who].into()], now),
        Call::Join { conv } => e.join(me, &cid(conv), now),
        Call::Quit { conv } => e.quit(me, &cid(conv), now),
        Call::Update { conv } => {
            let mut attributes = chinwag_core::json::Map::new();
            attributes.insert("attr.topic", format!("set by {me}"));
            e.update_conversation(me, &cid(conv), attributes, now)
        }
        Call::Get { conv } => e.get_conversation(me, &cid(conv), now),
        Call::QueryMine => e.query_conversations(me, &ConversationQuery::new().contains_members([me]), now),
        Call::History { conv } => e.query_messages(me, &cid(conv), HistoryQuery::default(), now),
        Call::Count { conv } => e.count_members(me, &cid(conv), now),
        Call::Mute { conv, on } => {
            if on {
                e.mute(me, &cid(conv), now)
            } else {
                e.unmute(me, &cid(conv), now)
            }
        }
        Call::ReceiptTimestamps { conv } => e.fetch_receipt_timestamps(me, &cid(conv), now),
        Call::Online => e.query_online(me, &["A".into(), "B".into(), "C".into()], now),
    })
}

fn run(seed: u64, ops: Vec<Op>) {
    let mut world = World::with_seed(seed, 1 + seed % 15);
    for name in NAMES {
        let peer = world.add_peer(name);
        world.open(peer, name);
    }
    let mut cids: Vec<String> = Vec::new();
    let mut issued: Vec<(usize, RequestId, Call)> = Vec::new();
    for op in ops {
        match op {
            Op::Call(peer, call) => {
                let request = issue(&mut world, peer, call.clone(), &cids);
                issued.push((peer, request, call));
            }
            Op::Cut(i) => world.cut(i),
            Op::Restore(i) => world.restore(i),
            Op::Advance(ms) => world.advance(ms),
            Op::Restart => world.restart_server(),
        }
        world.advance(20);
        // Conversations created so far become targets of later calls.
        for peer in &world.peers {
            for event in &peer.events {
                if let Event::Response {
                    result: Ok(Response::Created(conv)),
                    ..
                } = event
                {
                    if !cids.contains(&conv.id) {
                        cids.push(conv.id.clone());
                    }
                }
            }
        }
    }
    for i in 0..world.peers.len() {
        world.restore(i);
    }
    for _ in 0..4 {
        world.advance(31_000);
    }
    for (peer, request, call) in &issued {
        let outcomes: Vec<_> = world
            .peer(*peer)
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Response {
                    request: r, result, ..
                } if r == request => Some(result),
                _ => None,
            })
            .collect();
        assert_eq!(outcomes.len(), 1, "{call:?} of {}: {outcomes:?}", NAMES[*peer]);
        if let Err(RequestError::Server(error)) = outcomes[0] {
            assert_ne!(
                error.code, 4200,
                "{call:?} of {}: the server did not understand it: {error:?}",
                NAMES[*peer]
            );
        }
    }
    // Every conversation an engine learnt of (push, read, send) was fetched into its cache.
    for (i, peer) in world.peers.iter().enumerate() {
        for conv in peer.engine.conversations(NAMES[i]) {
            if conv.id != "nope" {
                assert!(
                    conv.creator.is_some(),
                    "{}: {} is cached by id only",
                    peer.name,
                    conv.id
                );
            }
        }
    }
    for peer in &world.peers {
        let unhandled: Vec<_> = peer
            .events
            .iter()
            .filter(|e| matches!(e, Event::Unhandled { .. }))
            .collect();
        assert!(unhandled.is_empty(), "{}: {unhandled:?}", peer.name);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_request_is_answered_once_and_understood_by_the_server(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..50),
    ) {
        run(seed, ops);
    }
}
