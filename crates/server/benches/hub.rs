//! Throughput of the hub with durable SQLite storage (a file in a temp dir, WAL), the way the server runs
//! it: a batch of inbound commands is handled in one transaction and committed once (group commit).
//!
//! Commits are synced to disk (`SyncMode::Full`, the server's default) except in one case that
//! shows what `--sync normal` saves.
//!
//! - `direct` batches of 100 into a 2-member conversation and into a 500-member group with 50 members
//!   online (fan-out: 49 pushes per message), and into a 500-member group with every member online
//!   (499 pushes per message);
//! - acks: 49 online receivers of a 500-member group each ack each of 100 messages (4,900 acks in
//!   one batch, the JS client's `{cid, fromts, tots}` form), once for plain messages and once for
//!   messages that asked for receipts (`r`, so every ack sends a receipt to the sender);
//! - a 100-message history page (`logs`) out of 10,000 stored messages.
//!
//! Run with `cargo bench -p chinwag-server --bench hub` (or `cargo xtask bench`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chinwag_protocol::{
    AckCommand, CommandType, ConvCommand, DirectCommand, GenericCommand, LogsCommand, OpType, SessionCommand,
    TypedMessage,
};
use chinwag_server::{ConnId, Hub, HubConfig, Input, SqliteStorage, SyncMode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 100;

/// A hub over a fresh SQLite file, with `online` of `members` clients signed in (one connection each)
/// and one conversation holding all `members`, created by client 0.
struct Setup {
    hub: Hub<SqliteStorage>,
    cid: String,
    now: i64,
    serial: i32,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new(members: usize, online: usize) -> Self {
        Self::with_sync(members, online, SyncMode::Full)
    }

    fn with_sync(members: usize, online: usize, sync: SyncMode) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open_with(dir.path(), sync).expect("storage");
        let hub = Hub::new(HubConfig::new("bench", "secret"), storage).expect("hub");
        let mut setup = Self {
            hub,
            cid: String::new(),
            now: 1_795_000_000_000,
            serial: 0,
            _dir: dir,
        };
        for client in 0..online {
            let conn = client as ConnId;
            setup.hub.connect(conn);
            let open = setup
                .request(CommandType::Session)
                .with_op(OpType::Open)
                .with_peer_id(name(client))
                .with(SessionCommand {
                    ua: Some("bench".into()),
                    ..Default::default()
                });
            setup.run(conn, open);
        }
        let start = setup
            .request(CommandType::Conv)
            .with_op(OpType::Start)
            .with(ConvCommand {
                m: (0..members).map(name).collect(),
                unique: Some(false),
                ..Default::default()
            });
        let reply = setup.run(0, start);
        setup.cid = reply
            .iter()
            .find_map(|command| command.conv_message.as_ref()?.cid.clone())
            .expect("conversation created");
        setup
    }

    fn request(&mut self, cmd: CommandType) -> GenericCommand {
        self.serial += 1;
        GenericCommand::request(cmd, self.serial)
    }

    fn run(&mut self, conn: ConnId, command: GenericCommand) -> Vec<GenericCommand> {
        self.now += 1;
        self.hub
            .handle(conn, command, self.now)
            .iter()
            .map(|out| out.to_command())
            .collect()
    }

    /// `BATCH` text messages from client 0, as the runtime would hand them to the hub in one batch.
    fn directs(&mut self) -> Vec<Input> {
        self.directs_asking(false)
    }

    /// `BATCH` text messages from client 0; with `receipt`, each asks for receipts (`r`).
    fn directs_asking(&mut self, receipt: bool) -> Vec<Input> {
        (0..BATCH)
            .map(|n| {
                let direct = self.request(CommandType::Direct).with(DirectCommand {
                    cid: Some(self.cid.clone()),
                    msg: Some(
                        TypedMessage::text(format!("message {n}: see you at noon by the fountain")).to_json(),
                    ),
                    r: receipt.then_some(true),
                    ..Default::default()
                });
                Input::Command(0, direct)
            })
            .collect()
    }
}

fn name(client: usize) -> String {
    format!("client-{client:04}")
}

/// How long the hub takes to handle and commit `iterations` batches, each made by `batch`
/// (which is not timed) one millisecond after the one before.
fn time_batches(
    setup: &mut Setup,
    iterations: u64,
    mut batch: impl FnMut(&mut Setup) -> Vec<Input>,
) -> Duration {
    let mut measured = Duration::ZERO;
    for _ in 0..iterations {
        let inputs = batch(setup);
        setup.now += 1;
        let started = Instant::now();
        black_box(setup.hub.handle_batch(inputs, setup.now));
        measured += started.elapsed();
    }
    measured
}

fn direct_batches(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub direct (batch of 100, one commit)");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    for (label, members, online, sync) in [
        ("2 members", 2, 2, SyncMode::Full),
        ("2 members, sync normal", 2, 2, SyncMode::Normal),
        ("500 members, 50 online", 500, 50, SyncMode::Full),
        ("500 members, all online", 500, 500, SyncMode::Full),
    ] {
        let mut setup = Setup::with_sync(members, online, sync);
        group.bench_function(label, |b| {
            // Building the commands is not what is measured: time only the hub's handling and commit.
            b.iter_custom(|iterations| time_batches(&mut setup, iterations, Setup::directs))
        });
    }
    group.finish();
}

/// Sends `BATCH` messages from client 0 (not measured), then returns the acks every other online
/// client sends for them: one per message per receiver, no serial, as the JS client does.
fn acks_of_a_batch(setup: &mut Setup, online: usize, receipt: bool) -> Vec<Input> {
    let inputs = setup.directs_asking(receipt);
    setup.now += 1;
    let stamps: Vec<i64> = setup
        .hub
        .handle_batch(inputs, setup.now)
        .iter()
        .filter(|out| out.conn == 0)
        .filter_map(|out| out.to_command().ack_message?.t)
        .collect();
    assert_eq!(stamps.len(), BATCH, "every message acknowledged to its sender");
    let mut acks = Vec::with_capacity(stamps.len() * (online - 1));
    for t in stamps {
        for receiver in 1..online {
            let ack = GenericCommand::new(CommandType::Ack).with(AckCommand {
                cid: Some(setup.cid.clone()),
                fromts: Some(t),
                tots: Some(t),
                ..Default::default()
            });
            acks.push(Input::Command(receiver as ConnId, ack));
        }
    }
    acks
}

fn ack_batches(c: &mut Criterion) {
    const ONLINE: usize = 50;
    let mut group = c.benchmark_group("hub acks (49 receivers x 100 messages, one commit)");
    group.throughput(Throughput::Elements((BATCH * (ONLINE - 1)) as u64));
    group.sample_size(20);
    for (label, receipt) in [("plain messages", false), ("messages asking for receipts", true)] {
        let mut setup = Setup::new(500, ONLINE);
        group.bench_function(label, |b| {
            // Only the acks are measured, not the messages they acknowledge.
            b.iter_custom(|iterations| {
                time_batches(&mut setup, iterations, |setup| {
                    acks_of_a_batch(setup, ONLINE, receipt)
                })
            })
        });
    }
    group.finish();
}

fn history_page(c: &mut Criterion) {
    let mut setup = Setup::new(2, 2);
    for _ in 0..100 {
        let inputs = setup.directs();
        setup.now += 1;
        setup.hub.handle_batch(inputs, setup.now);
    }
    let mut group = c.benchmark_group("hub logs");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100-message page of 10,000", |b| {
        b.iter(|| {
            let logs = setup.request(CommandType::Logs).with(LogsCommand {
                cid: Some(setup.cid.clone()),
                limit: Some(100),
                ..Default::default()
            });
            black_box(setup.run(1, logs))
        })
    });
    group.finish();
}

criterion_group!(benches, direct_batches, ack_batches, history_page);
criterion_main!(benches);
