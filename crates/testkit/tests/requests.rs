//! Random application calls from several engines against the real hub, with cuts and restarts:
//! every request is answered exactly once, the server never answers a command the core sends with
//! `INTERNAL_ERROR` (a shape it does not understand), and no push is left unhandled. The model is
//! `chinwag_testkit::requests` (shared with the fuzz target).

use chinwag_testkit::requests::{Call, Op, run};
use proptest::prelude::*;

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
