//! Throughput of `handle_frame` → `poll_event`: a stream of incoming `direct` pushes, and a
//! 1,000-message history page.
#![allow(missing_docs)]

use chinwag_core::{ClientOptions, ConversationQuery, Engine, Event, HistoryQuery, Instant, Options};
use chinwag_protocol::{
    CommandType, ConvCommand, DirectCommand, Frame, FrameFormat, GenericCommand, JsonObjectMessage, LogItem,
    LogsCommand, OpType, SessionCommand, TypedMessage,
};

/// The conversations the pushes arrive in.
const CONVERSATIONS: usize = 16;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn open_engine() -> (Engine, Instant) {
    let now = Instant::from_millis(0);
    let mut engine = Engine::new(Options::with_servers("app", ["ws://bench/"]), 1, now, 0);
    engine.open_client("Tom", ClientOptions::default(), now);
    while engine.poll_action().is_some() {}
    engine.handle_connected(now);
    let open = engine.poll_transmit().unwrap().decode().unwrap();
    engine.handle_command(
        GenericCommand::reply_to(&open, CommandType::Session)
            .with_op(OpType::Opened)
            .with(SessionCommand {
                st: Some("t".into()),
                ..Default::default()
            }),
        now,
    );
    // The conversations are cached, as after the app's first query: a push for an unknown one waits
    // for its fetch, which is not what this measures.
    engine.query_conversations("Tom", &ConversationQuery::new(), now);
    let query = engine.poll_transmit().unwrap().decode().unwrap();
    let results: Vec<String> = (0..CONVERSATIONS)
        .map(|i| format!(r#"{{"objectId":"conv-{i}","m":["Tom","Jerry"]}}"#))
        .collect();
    engine.handle_command(
        GenericCommand::reply_to(&query, CommandType::Conv)
            .with_op(OpType::Results)
            .with(ConvCommand {
                results: Some(JsonObjectMessage {
                    data: format!("[{}]", results.join(",")),
                }),
                ..Default::default()
            }),
        now,
    );
    while engine.poll_event().is_some() {}
    (engine, now)
}

fn direct_frames(n: usize) -> Vec<Frame> {
    let body = TypedMessage::text("hello, this is a fairly ordinary chat message").to_json();
    (0..n)
        .map(|i| {
            FrameFormat::Binary.encode(&GenericCommand::push(CommandType::Direct, "Tom").with(
                DirectCommand {
                    id: Some(format!("msg-{i:08}")),
                    cid: Some(format!("conv-{}", i % CONVERSATIONS)),
                    from_peer_id: Some("Jerry".into()),
                    timestamp: Some(1_700_000_000_000 + i as i64),
                    msg: Some(body.clone()),
                    ..Default::default()
                },
            ))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    const N: usize = 1_000;
    let frames = direct_frames(N);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("direct_pushes_x1000", |b| {
        b.iter_batched(
            open_engine,
            |(mut engine, now)| {
                let mut messages = 0;
                for frame in &frames {
                    engine.handle_frame(frame, now).unwrap();
                    while let Some(event) = engine.poll_event() {
                        messages += usize::from(matches!(event, Event::Message { .. }));
                    }
                }
                assert_eq!(messages, N);
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let body = TypedMessage::text("hello, this is a fairly ordinary chat message").to_json();
    let logs = LogsCommand {
        logs: (0..N)
            .map(|i| LogItem {
                from: Some("Jerry".into()),
                data: Some(body.clone()),
                timestamp: Some(1_700_000_000_000 + i as i64),
                msg_id: Some(format!("msg-{i:08}")),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    group.bench_function("history_page_1000", |b| {
        b.iter_batched(
            || {
                let (mut engine, now) = open_engine();
                engine.query_messages(
                    "Tom",
                    "c1",
                    HistoryQuery {
                        limit: Some(1000),
                        ..Default::default()
                    },
                    now,
                );
                let request = engine.poll_transmit().unwrap().decode().unwrap();
                let reply = FrameFormat::Binary
                    .encode(&GenericCommand::reply_to(&request, CommandType::Logs).with(logs.clone()));
                (engine, now, reply)
            },
            |(mut engine, now, reply)| {
                engine.handle_frame(&reply, now).unwrap();
                let event = engine.poll_event().unwrap();
                assert!(matches!(event, Event::Response { result: Ok(_), .. }));
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
