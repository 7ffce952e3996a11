//! Random application calls (`chinwag_testkit::requests`, also a property test) under coverage
//! guidance: three real engines and the real hub in simulated time, with cuts and restarts; every
//! request is answered exactly once, never with 4200 (a command the server does not understand), no
//! conversation stays cached by id only and no push goes unhandled.
//!
//! Input: an 8-byte seed (latency), then one op per 3 bytes `[kind][a][b]`, at most 50.
#![no_main]

use chinwag_testkit::requests::{Call, Op, run};
use libfuzzer_sys::fuzz_target;

fn call(kind: u8, a: u8, b: u8) -> Call {
    let conv = usize::from(a % 6);
    let who = usize::from(b % 3);
    match kind % 16 {
        0 => Call::Create {
            members: (0..usize::from(b % 3))
                .map(|n| (usize::from(a) + n) % 3)
                .collect(),
            unique: b & 4 != 0,
        },
        1..=3 => Call::Send { conv },
        4 => Call::Read { conv },
        5 => Call::Add { conv, who },
        6 => Call::Remove { conv, who },
        7 => Call::Join { conv },
        8 => Call::Quit { conv },
        9 => Call::Update { conv },
        10 => Call::Get { conv },
        11 => Call::QueryMine,
        12 => Call::History { conv },
        13 => Call::Count { conv },
        14 => Call::Mute { conv, on: b & 1 != 0 },
        _ if b & 1 == 0 => Call::ReceiptTimestamps { conv },
        _ => Call::Online,
    }
}

fn op(kind: u8, a: u8, b: u8) -> Op {
    let peer = usize::from(kind >> 4) % 3;
    match kind >> 4 {
        0..=11 => Op::Call(peer, call(kind, a, b)),
        12 => Op::Cut(usize::from(a % 3)),
        13 | 14 => Op::Restore(usize::from(a % 3)),
        _ if a & 1 == 0 => Op::Advance(u64::from(b) * 80),
        _ => Op::Restart,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((seed, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let ops: Vec<Op> = rest
        .chunks_exact(3)
        .take(50)
        .map(|op_bytes| op(op_bytes[0], op_bytes[1], op_bytes[2]))
        .collect();
    if ops.is_empty() {
        return;
    }
    run(u64::from_le_bytes(*seed), ops);
});
