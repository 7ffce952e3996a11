//! N client pairs through a local server: send→receive latency p50/p99 and sustained messages/s.
//!
//! ```text
//! cargo run --release --example bench -- --pairs 20 --messages 500
//! CHINWAG_SERVER=http://127.0.0.1:8282 cargo run --release --example bench   # against a running server
//! cargo run --release --example bench -- --group 50 --offline 450 --messages 200   # fan-out
//! ```
//!
//! Every client has its own `Realtime` (its own WebSocket). Each sender sends its messages one after
//! another, waiting for each ack, as a chat user would; the pairs run concurrently. With `--group N`,
//! one sender sends into a conversation with N online receivers (plus `--offline` members that
//! never sign in), which measures the server's fan-out.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use chinwag::{Event, EventStream, Realtime, RealtimeOptions, TextMessage};
use chinwag_server::{Server, ServerConfig};
use clap::Parser;

/// Latency and throughput of the chinwag Rust SDK through a local chinwag-server.
#[derive(Parser, Debug)]
struct Args {
    /// Sender/receiver pairs running at once.
    #[arg(long, default_value_t = 10)]
    pairs: usize,
    /// Messages each sender sends.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Instead of pairs: one sender and this many online receivers in one conversation.
    #[arg(long, default_value_t = 0)]
    group: usize,
    /// With `--group`: members of the conversation that never sign in.
    #[arg(long, default_value_t = 0)]
    offline: usize,
    /// The embedded server's `--sync` (`full`: each commit synced to disk; `normal`).
    #[arg(long, default_value = "full")]
    sync: chinwag_server::SyncMode,
    /// A running server's HTTP base; an embedded server (SQLite in a temporary directory) when absent.
    #[arg(long, env = "CHINWAG_SERVER")]
    server: Option<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // The embedded server stores in SQLite in a temporary directory, as a deployed one does (an
    // in-memory database would leave the durable group commit out of the numbers). Kept until the
    // end of the run; none is made for a running server.
    let data = args.server.is_none().then(tempfile::tempdir).transpose()?;
    let embedded = match &data {
        None => None,
        Some(data) => {
            let mut config = ServerConfig::local("127.0.0.1:0".parse()?);
            config.data_dir = Some(data.path().to_owned());
            config.sync = args.sync;
            Some(Server::bind(config).await?)
        }
    };
    let base = match (&args.server, &embedded) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.http_url(),
        (None, None) => bail!("no server"),
    };
    let options = RealtimeOptions::new("chinwag-local", "chinwag-local-key").server(&base);
    let origin = Instant::now();
    if args.group > 0 {
        group(&args, &options, origin).await?;
        if let Some(server) = embedded {
            server.shutdown().await;
        }
        return Ok(());
    }

    let mut pairs = Vec::new();
    for i in 0..args.pairs {
        let sender = Realtime::new(options.clone())
            .create_im_client(format!("bench-s{i}"))
            .await?;
        let receiver = Realtime::new(options.clone())
            .create_im_client(format!("bench-r{i}"))
            .await?;
        let conversation = sender
            .create_conversation()
            .members([receiver.id().to_owned()])
            .unique(false)
            .await?;
        pairs.push((sender, receiver, conversation));
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (sender, receiver, conversation) in pairs {
        let expected = args.messages;
        let events = receiver.events();
        let cid = conversation.id().to_owned();
        let receive = tokio::spawn(receive_latencies(events, cid, expected, origin));
        let send = tokio::spawn(async move {
            for _ in 0..expected {
                let stamp = origin.elapsed().as_micros().to_string();
                conversation.send(TextMessage::new(stamp)).await?;
            }
            drop(sender);
            anyhow::Ok(())
        });
        tasks.push((send, receive));
    }

    let mut latencies = Vec::new();
    let mut finished = started;
    for (send, receive) in tasks {
        send.await??;
        let (mut pair, done) = receive.await??;
        latencies.append(&mut pair);
        finished = finished.max(done);
    }
    latencies.sort_unstable();
    let at = |q: f64| quantile(&latencies, q);
    let total = latencies.len();
    let elapsed = finished - started;
    println!(
        "{} pairs x {} messages = {total} messages in {elapsed:.2?}",
        args.pairs, args.messages
    );
    println!("send→receive latency: p50 {:.2?}, p99 {:.2?}", at(0.50), at(0.99));
    println!(
        "sustained: {:.0} messages/s",
        total as f64 / elapsed.as_secs_f64()
    );
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    Ok(())
}

/// One sender, `--group` online receivers and `--offline` members that never sign in, all in one
/// conversation: every message is pushed to every receiver.
async fn group(args: &Args, options: &RealtimeOptions, origin: Instant) -> Result<()> {
    let sender = Realtime::new(options.clone())
        .create_im_client("bench-sender")
        .await?;
    let mut receivers = Vec::new();
    for i in 0..args.group {
        receivers.push(
            Realtime::new(options.clone())
                .create_im_client(format!("bench-r{i}"))
                .await?,
        );
    }
    let members: Vec<String> = receivers
        .iter()
        .map(|r| r.id().to_owned())
        .chain((0..args.offline).map(|i| format!("bench-offline{i}")))
        .collect();
    let conversation = sender
        .create_conversation()
        .members(members)
        .unique(false)
        .await?;
    let cid = conversation.id().to_owned();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for receiver in &receivers {
        let expected = args.messages;
        let events = receiver.events();
        let cid = cid.clone();
        tasks.push(tokio::spawn(receive_latencies(events, cid, expected, origin)));
    }
    for _ in 0..args.messages {
        let stamp = origin.elapsed().as_micros().to_string();
        conversation.send(TextMessage::new(stamp)).await?;
    }
    let mut latencies = Vec::new();
    let mut finished = started;
    for task in tasks {
        let (mut received, done) = task.await??;
        latencies.append(&mut received);
        finished = finished.max(done);
    }
    latencies.sort_unstable();
    let at = |q: f64| quantile(&latencies, q);
    let elapsed = finished - started;
    println!(
        "1 sender x {} messages into {} members ({} online) = {} deliveries in {elapsed:.2?}",
        args.messages,
        args.group + args.offline + 1,
        args.group,
        latencies.len()
    );
    println!("send→receive latency: p50 {:.2?}, p99 {:.2?}", at(0.50), at(0.99));
    println!(
        "sustained: {:.0} messages/s, {:.0} deliveries/s",
        args.messages as f64 / elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// Waits for `expected` messages in `cid` on `events` (each text is its send time, in µs since
/// `origin`) and returns their send→receive latencies (µs) and when the last one arrived.
async fn receive_latencies(
    mut events: EventStream,
    cid: String,
    expected: usize,
    origin: Instant,
) -> Result<(Vec<u64>, Instant)> {
    let mut latencies = Vec::with_capacity(expected);
    while latencies.len() < expected {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .context("a message took more than 30 s")?
            .context("event stream ended")?;
        if let Event::Message { message } = event {
            if message.conversation != cid {
                continue;
            }
            let sent_at: u64 = message
                .content
                .text()
                .and_then(|t| t.parse().ok())
                .context("bad text")?;
            let now = u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX);
            latencies.push(now.saturating_sub(sent_at));
        }
    }
    Ok((latencies, Instant::now()))
}

/// The `q` quantile (0..=1) of `sorted` latencies in µs (zero when there are none).
fn quantile(sorted: &[u64], q: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Duration::from_micros(sorted.get(index).copied().unwrap_or_default())
}
