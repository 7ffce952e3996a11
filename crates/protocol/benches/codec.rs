//! Encode/decode throughput of the frame codec: a `direct` push (the hot path of every chat message) and a
//! 50-item `logs` result (a history page). Run with `cargo bench -p chinwag-protocol` or `cargo xtask bench`.

use std::hint::black_box;

use chinwag_protocol::{
    CommandType, DirectCommand, FrameFormat, GenericCommand, LogItem, LogsCommand, TypedMessage, frame,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn direct_push() -> GenericCommand {
    GenericCommand::push(CommandType::Direct, "Jerry").with(DirectCommand {
        id: Some("Nq5VvbWCQ6ucBkk9L4SYmw".into()),
        cid: Some("5b1f0a0a1f2e3d4c5b6a7980".into()),
        from_peer_id: Some("Tom".into()),
        timestamp: Some(1_732_560_002_000),
        msg: Some(TypedMessage::text("Hi, Jerry. Shall we meet at the usual place at noon?").to_json()),
        mention_pids: vec!["Jerry".into()],
        ..Default::default()
    })
}

fn logs_result(items: usize) -> GenericCommand {
    let logs = (0..items)
        .map(|n| LogItem {
            from: Some(if n % 2 == 0 { "Tom" } else { "Jerry" }.into()),
            data: Some(TypedMessage::text(format!("message number {n} of the history page")).to_json()),
            timestamp: Some(1_732_560_000_000 + n as i64),
            msg_id: Some(format!("msg-{n:018}")),
            ack_at: Some(1_732_560_000_500 + n as i64),
            ..Default::default()
        })
        .collect();
    GenericCommand::request(CommandType::Logs, 9).with(LogsCommand {
        logs,
        ..Default::default()
    })
}

fn bench(c: &mut Criterion) {
    for (name, command) in [
        ("direct push", direct_push()),
        ("logs result (50 items)", logs_result(50)),
    ] {
        let mut group = c.benchmark_group(name);
        let bytes = frame::encode_binary(&command);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("encode binary", |b| {
            b.iter(|| FrameFormat::Binary.encode(black_box(&command)))
        });
        group.bench_function("decode binary", |b| {
            b.iter(|| frame::decode_binary(black_box(&bytes)))
        });
        group.bench_function("encode base64 text", |b| {
            b.iter(|| FrameFormat::Base64Text.encode(black_box(&command)))
        });
        let text = FrameFormat::Base64Text.encode(&command);
        group.bench_function("decode base64 text", |b| b.iter(|| black_box(&text).decode()));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
