//! Random application calls from several engines against the real hub, with cuts and restarts, shared
//! by the property test (`tests/requests.rs`) and the `requests` fuzz target (`fuzz/`): every request
//! is answered exactly once, the server never answers a command the core sends with `INTERNAL_ERROR`
//! (a shape it does not understand), and no push is left unhandled.

use chinwag_core::{
    ConversationQuery, CreateConversation, Event, HistoryQuery, MessageContent, RequestError, RequestId,
    Response, SendOptions,
};

use crate::World;

/// The client of each peer.
pub const NAMES: [&str; 3] = ["A", "B", "C"];

/// An application call. `conv` indexes the conversations created so far (modulo their number; a
/// missing one is the id `nope`), `who` and `members` the peers.
#[derive(Clone, Debug)]
#[allow(missing_docs, reason = "the fields are named for what the calls take")]
pub enum Call {
    /// `create_conversation` with these members, distinct or not.
    Create { members: Vec<usize>, unique: bool },
    /// `send` a text message.
    Send { conv: usize },
    /// `read`.
    Read { conv: usize },
    /// `add_members`.
    Add { conv: usize, who: usize },
    /// `remove_members`.
    Remove { conv: usize, who: usize },
    /// `join`.
    Join { conv: usize },
    /// `quit`.
    Quit { conv: usize },
    /// `update_conversation` of a dotted attribute.
    Update { conv: usize },
    /// `get_conversation`.
    Get { conv: usize },
    /// `query_conversations` of the caller's.
    QueryMine,
    /// `query_messages`.
    History { conv: usize },
    /// `count_members`.
    Count { conv: usize },
    /// `mute` (`on`) or `unmute`.
    Mute { conv: usize, on: bool },
    /// `fetch_receipt_timestamps`.
    ReceiptTimestamps { conv: usize },
    /// `query_online` of every peer.
    Online,
}

/// One step of a run.
#[derive(Clone, Debug)]
pub enum Op {
    /// Peer `.0` makes a call.
    Call(usize, Call),
    /// The peer's connection drops, with everything in flight.
    Cut(usize),
    /// The peer's link is up again.
    Restore(usize),
    /// Simulated time passes (ms).
    Advance(u64),
    /// Every connection drops at once; a new hub opens the same database.
    Restart,
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

/// Plays `ops` for peers A, B and C in the world of `seed`, lets it settle, and panics if a request
/// got no answer or more than one, if the server answered one with 4200 (a shape it does not
/// understand), if a conversation stayed cached by id only, or if a push went unhandled.
pub fn run(seed: u64, ops: Vec<Op>) {
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
        let outcomes: Vec<_> = world.peer(*peer).responses(*request).collect();
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
