//! The delivery model, shared by the property test (`tests/delivery.rs`) and the `delivery` fuzz
//! target (`fuzz/`): three peers and two conversations through the real hub, random interleavings of
//! sends, reads, queries, cuts (plain and lingering), held links and server restarts; afterwards every
//! message reached every member exactly once and in order, every send got one outcome, every
//! acknowledged message is stored once, and unread counts match what the server stored.

use std::collections::BTreeMap;
use std::ops::Bound;

use chinwag_core::{CreateConversation, Event, MessageContent, RequestId, Response, SendOptions};
use chinwag_server::Storage;
use chinwag_server::storage::{HistoryQuery, MessageRecord};

use crate::World;

/// The client of each peer.
pub const NAMES: [&str; 3] = ["A", "B", "C"];

/// conv 0 = {A, B, C}, conv 1 = {A, B}, both created through A's engine.
fn setup(seed: u64) -> (World, Vec<String>) {
    let mut world = World::with_seed(seed, 1 + seed % 20);
    for name in NAMES {
        // Odd seeds use tiny gap-filling pages and buffers, so paging and buffer overflow run.
        let peer = world.add_peer_with(name, |options| {
            // Every third seed speaks base64 text frames (`noBinary`), so both codecs run.
            if seed % 3 == 0 {
                options.subprotocol = chinwag_protocol::Subprotocol::Proto2Base64V3;
            }
            if seed % 2 == 1 {
                options.catch_up_page = 2;
                options.catch_up_buffer = 1;
            }
        });
        world.open(peer, name);
    }
    let mut cids = Vec::new();
    for members in [vec!["B", "C"], vec!["B"]] {
        let request = world.act(0, |e, now| {
            e.create_conversation("A", CreateConversation::with_members(members), now)
        });
        let Ok(Response::Created(conv)) = world.run_until_response(0, request) else {
            panic!("not created");
        };
        cids.push(conv.id);
    }
    world.run_until_idle();
    (world, cids)
}

fn members(conv: usize) -> &'static [usize] {
    if conv == 0 { &[0, 1, 2] } else { &[0, 1] }
}

fn stored(world: &World, cid: &str) -> Vec<MessageRecord> {
    world
        .storage()
        .history(&HistoryQuery {
            cid: cid.to_owned(),
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            lctype: None,
            newest_first: false,
            limit: 100_000,
            viewer: None,
        })
        .expect("history")
}

/// Checks the model once the world converged.
fn check(world: &World, cids: &[String], sends: &[(usize, RequestId)]) {
    let history: BTreeMap<&str, Vec<MessageRecord>> = cids
        .iter()
        .map(|cid| (cid.as_str(), stored(world, cid)))
        .collect();
    // Each send got exactly one outcome; successful ones are stored.
    for (peer, request) in sends {
        let outcomes: Vec<_> = world.peer(*peer).responses(*request).collect();
        assert_eq!(outcomes.len(), 1, "send {request:?} of {peer}: {outcomes:?}");
        if let Ok(Response::Sent(message)) = &outcomes[0] {
            let id = message.id.clone().expect("server id");
            assert!(
                history[message.conversation.as_str()].iter().any(|m| m.id == id),
                "acknowledged message {id} is stored"
            );
        }
    }
    // The server stored each client message id once (resends are de-duplicated by `dt`).
    for messages in history.values() {
        let mut dts: Vec<_> = messages.iter().filter_map(|m| m.dt.clone()).collect();
        let n = dts.len();
        dts.sort();
        dts.dedup();
        assert_eq!(dts.len(), n, "duplicate dt stored");
    }
    let positions = world.storage().load().expect("snapshot").members;
    for (i, name) in NAMES.iter().enumerate() {
        let peer = world.peer(i);
        let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for event in &peer.events {
            if let Event::Message { message, .. } = event {
                if message.from != *name {
                    received
                        .entry(message.conversation.clone())
                        .or_default()
                        .push(message.id.clone().expect("id"));
                }
            }
        }
        for (c, cid) in cids.iter().enumerate() {
            if !members(c).contains(&i) {
                continue;
            }
            let others: Vec<&MessageRecord> =
                history[cid.as_str()].iter().filter(|m| m.from != *name).collect();
            let expected: Vec<String> = others.iter().map(|m| m.id.clone()).collect();
            let got = received.get(cid).cloned().unwrap_or_default();
            assert_eq!(got, expected, "{name} in {cid}: every message once, in order");
            let read = positions
                .iter()
                .find(|m| m.cid == *cid && m.client_id == *name)
                .map_or(0, |m| m.read_ts);
            let unread = others.iter().filter(|m| m.timestamp > read).count() as u32;
            let local = peer.engine.conversation(name, cid).map_or(0, |c| c.unread);
            assert_eq!(local, unread, "{name} in {cid}: unread count");
        }
    }
}

/// Releases every link and runs long enough for the longest backoff, gap filling and batched acks.
fn converge(world: &mut World) {
    for i in 0..world.peers.len() {
        world.hold(i, false);
        world.restore(i);
    }
    for _ in 0..6 {
        world.advance(31_000);
    }
}

/// One step of a delivery run. Peers are 0 (A), 1 (B) and 2 (C); conversations 0 and 1.
#[derive(Clone, Debug)]
pub enum Op {
    /// `peer` sends a text message to `conv` (to conversation 0 when it is not a member of `conv`).
    Send {
        /// The sender.
        peer: usize,
        /// The conversation.
        conv: usize,
    },
    /// `peer` marks `conv` read (conversation 0 when it is not a member of `conv`).
    Read {
        /// The reader.
        peer: usize,
        /// The conversation.
        conv: usize,
    },
    /// A conversation query: its results merge into the cache mid-flight.
    Query(usize),
    /// The peer's connection drops, with everything in flight.
    Cut(usize),
    /// The client drops; its in-flight frames reach the server late, after its reconnect.
    CutLingering(usize, u64),
    /// The peer's link is up again (connects succeed).
    Restore(usize),
    /// The peer's link stalls: frames stay queued.
    Hold(usize),
    /// The stalled link delivers again.
    Release(usize),
    /// Simulated time passes (ms).
    Advance(u64),
    /// Every connection drops at once; a new hub opens the same database.
    RestartServer,
}

/// Plays `ops` in the world of `seed` (conversation 0 = {A, B, C}, 1 = {A, B}, both created by A), lets
/// it converge, and panics if a message was lost, duplicated, reordered or miscounted as unread.
pub fn run(seed: u64, ops: Vec<Op>) {
    let (mut world, cids) = setup(seed);
    let mut sends = Vec::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Send { peer, conv } => {
                let conv = if members(conv).contains(&peer) { conv } else { 0 };
                let name = NAMES[peer];
                let cid = cids[conv].clone();
                let request = world.act(peer, |e, now| {
                    e.send(
                        name,
                        &cid,
                        MessageContent::Text(format!("{name}-{n}")),
                        SendOptions::default(),
                        now,
                    )
                });
                sends.push((peer, request));
            }
            Op::Read { peer, conv } => {
                let conv = if members(conv).contains(&peer) { conv } else { 0 };
                let cid = cids[conv].clone();
                world.act(peer, |e, now| e.read(NAMES[peer], &cid, now));
            }
            Op::Query(peer) => {
                let name = NAMES[peer];
                let query = chinwag_core::ConversationQuery::new().contains_members([name]);
                world.act(peer, |e, now| e.query_conversations(name, &query, now));
            }
            Op::Cut(i) => world.cut(i),
            Op::CutLingering(i, ms) => world.cut_lingering(i, ms),
            Op::Restore(i) => world.restore(i),
            Op::Hold(i) => world.hold(i, true),
            Op::Release(i) => world.hold(i, false),
            Op::Advance(ms) => world.advance(ms),
            Op::RestartServer => world.restart_server(),
        }
        // Frames move between ops (a few ms), as on a real network.
        world.advance(world.peer(0).link.latency * 2);
    }
    converge(&mut world);
    check(&world, &cids, &sends);
}
