//! The delivery model (`chinwag_testkit::delivery`, also a property test) under coverage guidance:
//! three real engines and the real hub in simulated time, any interleaving of sends, reads, queries,
//! cuts, held links and server restarts; afterwards every message reached every member once and in
//! order, every acknowledged message is stored once, and unread counts match the server's.
//!
//! Input: an 8-byte seed (latency, codec, page sizes), then one op per 2 bytes `[kind][argument]`,
//! at most 60.
#![no_main]

use chinwag_testkit::delivery::{Op, run};
use libfuzzer_sys::fuzz_target;

fn op(kind: u8, argument: u8) -> Op {
    let peer = usize::from(argument % 3);
    let conv = usize::from(argument / 3 % 2);
    match kind % 16 {
        0..=5 => Op::Send { peer, conv },
        6 => Op::Read { peer, conv },
        7 => Op::Query(peer),
        8 | 9 => Op::Cut(peer),
        10 => Op::CutLingering(peer, u64::from(argument) * 12),
        11 | 12 => Op::Restore(peer),
        13 => Op::Hold(peer),
        14 => Op::Release(peer),
        _ if argument & 1 == 0 => Op::Advance(u64::from(argument) * 60),
        _ => Op::RestartServer,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((seed, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let ops: Vec<Op> = rest
        .chunks_exact(2)
        .take(60)
        .map(|pair| op(pair[0], pair[1]))
        .collect();
    if ops.is_empty() {
        return;
    }
    run(u64::from_le_bytes(*seed), ops);
});
