//! The server at the scale of an app migrating from LeanCloud: N conversations in a SQLite data dir.
//!
//! For each N (default 10,000, 100,000 and 1,000,000; `CHINWAG_SCALE_N=10000,50000` to choose), it
//! fills a fresh data dir directly with SQL (one transaction, prepared statements — not through the
//! hub): conversations with 24-hex-digit ids, 2–10 members each out of N client ids
//! (`user_00012345`), a `name` and a `type` attribute, and one message each. One client, `hot`, is
//! a member of 1,000 of them with every message unread. Then, in a fresh child process each (so
//! memory is that of one load only), it reports:
//!
//! - `start`: [`Server::bind`] on the data dir until the port listens (storage open, load, bind);
//! - `RSS`: resident memory (`VmRSS`) after start, its peak during start (`VmHWM`), and what the
//!   start added to it;
//! - `sign-in`: `session/open` of `hot` over a WebSocket until its `unread` push (1,000
//!   conversations) has arrived;
//! - `query`: a conversation query that pins neither `objectId` nor a member
//!   (`{"name": "conv 77"}`, the default `-lm` sort, limit 10), median of 5;
//! - `{"tr": false}` query: one on a generated key only (every conversation matches), the default
//!   `-lm` sort, limit 10, median of 3.
//!
//! Run with `cargo bench -p chinwag-server --bench scale`; `CHINWAG_SCALE_DATA=<dir>` keeps the
//! filled data dirs there and reuses them (to compare builds on the same data). It prints a table; it asserts nothing
//! about time.

use std::path::Path;
use std::time::{Duration, Instant};

use chinwag_protocol::{CommandType, ConvCommand, GenericCommand, JsonObjectMessage, OpType, SessionCommand};
use chinwag_server::{Server, ServerConfig, SqliteStorage};
use futures_util::{SinkExt as _, StreamExt as _};
use rusqlite::{Connection, params};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The child process's mode: the data dir to measure is in this variable.
const CHILD_ENV: &str = "CHINWAG_SCALE_CHILD";
/// Keeps the filled data dirs in `<this dir>/<N>` and reuses them on the next run (comparing
/// builds without filling again); the fill column then shows the time to find them.
const KEEP_ENV: &str = "CHINWAG_SCALE_DATA";
/// Conversations the `hot` client is a member of.
const HOT_CONVERSATIONS: usize = 1_000;
/// Server time of the filled data (ms).
const BASE_MS: i64 = 1_790_000_000_000;

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        measure(Path::new(&dir));
        return;
    }
    let sizes: Vec<usize> = std::env::var("CHINWAG_SCALE_N")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|n| *n >= HOT_CONVERSATIONS)
        .collect();
    println!(
        "| conversations | member rows | fill | start to listening | RSS after start | peak RSS during start | RSS added by start | sign-in (1,000 unread convs) | unpinned query | `{{\"tr\": false}}` query |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = match std::env::var_os(KEEP_ENV) {
            Some(kept) => Path::new(&kept).join(n.to_string()),
            None => temp.path().to_path_buf(),
        };
        let fill_started = Instant::now();
        let member_rows = if dir.join("chinwag.sqlite3").exists() {
            Connection::open(dir.join("chinwag.sqlite3"))
                .and_then(|db| db.query_row("SELECT COUNT(*) FROM members", [], |row| row.get::<_, i64>(0)))
                .map(|rows| rows as usize)
                .expect("kept data")
        } else {
            fill(&dir, n)
        };
        let fill_time = fill_started.elapsed();
        let output = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD_ENV, &dir)
            .output()
            .expect("child runs");
        assert!(
            output.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = String::from_utf8_lossy(&output.stdout);
        println!("| {n} | {member_rows} | {} | {}", ms(fill_time), report.trim());
    }
}

/// A deterministic pseudo-random sequence (splitmix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Fills `dir` with `n` conversations; returns how many member rows it wrote.
fn fill(dir: &Path, n: usize) -> usize {
    // The server's own migrations create the schema.
    drop(SqliteStorage::open(dir).expect("schema"));
    let mut db = Connection::open(dir.join("chinwag.sqlite3")).expect("db");
    // No journal while filling: the data is throwaway, and the disk holds the database only
    // (a 1M fill would otherwise also write a 1 GB WAL). The server turns WAL back on.
    db.pragma_update(None, "journal_mode", "OFF").expect("journal");
    db.pragma_update(None, "synchronous", "OFF").expect("sync");
    let tx = db.transaction().expect("transaction");
    let mut rows = 0;
    {
        let mut conversation = tx
            .prepare(
                "INSERT INTO conversations (id, creator, transient, system, unique_key, attrs, muted, created_at, updated_at)
                 VALUES (?1, ?2, 0, 0, NULL, ?3, '[]', ?4, ?4)",
            )
            .expect("prepare");
        let mut member = tx
            .prepare(
                "INSERT OR IGNORE INTO members (cid, client_id, read_ts, ack_ts) VALUES (?1, ?2, ?3, ?3)",
            )
            .expect("prepare");
        let mut message = tx
            .prepare(
                "INSERT INTO messages (id, cid, from_id, ts, data, mention_all, mention_pids, receipt)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, '[]', 0)",
            )
            .expect("prepare");
        let mut random = Random(n as u64);
        let hot_every = (n / HOT_CONVERSATIONS).max(1);
        for index in 0..n {
            let cid = format!("{:08x}{:016x}", (BASE_MS / 1000) as u32, random.next());
            let count = 2 + random.below(9);
            let mut members: Vec<String> = (0..count)
                .map(|_| format!("user_{:08}", random.below(n)))
                .collect();
            let hot = index % hot_every == 0 && index / hot_every < HOT_CONVERSATIONS;
            if hot {
                members.push("hot".into());
            }
            let created = BASE_MS + index as i64;
            let kind = if count == 2 { "private" } else { "group" };
            let attrs = format!(r#"{{"name":"conv {index}","type":"{kind}"}}"#);
            conversation
                .execute(params![cid, members[0], attrs, created])
                .expect("conversation");
            for client in &members {
                rows += member.execute(params![cid, client, 0]).expect("member");
            }
            let sent = created + 60_000;
            message
                .execute(params![
                    format!("{:08x}{:016x}", (sent / 1000) as u32, random.next()),
                    cid,
                    members[0],
                    sent,
                    format!("hello from {}", members[0])
                ])
                .expect("message");
        }
    }
    tx.commit().expect("commit");
    rows
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS:` resident now, `VmHWM:`
/// its peak), in bytes.
fn memory_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The child: starts a server on `dir` and prints the rest of its table row.
#[tokio::main]
async fn measure(dir: &Path) {
    let rss_before = memory_bytes("VmRSS:");
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.data_dir = Some(dir.to_path_buf());
    let started = Instant::now();
    let server = Server::bind(config).await.expect("server starts");
    let start_time = started.elapsed();
    let rss_after = memory_bytes("VmRSS:");
    let rss_peak = memory_bytes("VmHWM:");

    let mut request = server.ws_url().into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("lc.protobuf2.3"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("connect");
    let mut serial = 0;

    let signed_in = Instant::now();
    serial += 1;
    let open = GenericCommand::request(CommandType::Session, serial)
        .with_op(OpType::Open)
        .with_app_id("chinwag-local")
        .with_peer_id("hot")
        .with(SessionCommand::default());
    send(&mut ws, &open).await;
    let opened = recv_until(&mut ws, |c| c.serial() == Some(serial)).await;
    assert_eq!(opened.op_type(), Some(OpType::Opened), "{opened:?}");
    let unread = recv_until(&mut ws, |c| c.command_type() == Some(CommandType::Unread)).await;
    let sign_in_time = signed_in.elapsed();
    let unread_convs = unread.unread_message.as_ref().map_or(0, |u| u.convs.len());
    assert_eq!(unread_convs, HOT_CONVERSATIONS, "unread push");

    let mut query_times = Vec::new();
    for _ in 0..5 {
        serial += 1;
        let (time, data) = timed_query(&mut ws, serial, r#"{"name":"conv 77"}"#).await;
        query_times.push(time);
        assert!(data.contains(r#""name":"conv 77""#), "query found it: {data}");
    }
    query_times.sort();
    // A query on a generated key only (`tr`), newest first: nothing to pre-filter on.
    let mut listing_times = Vec::new();
    for _ in 0..3 {
        serial += 1;
        let (time, data) = timed_query(&mut ws, serial, r#"{"tr":false}"#).await;
        listing_times.push(time);
        assert_eq!(data.matches("objectId").count(), 10, "a page of 10: {data}");
    }
    listing_times.sort();
    println!(
        "{} | {} | {} | {} | {} ({unread_convs} convs) | {} | {} |",
        ms(start_time),
        mib(rss_after),
        mib(rss_peak),
        mib(rss_after.saturating_sub(rss_before)),
        ms(sign_in_time),
        ms(query_times[2]),
        ms(listing_times[1])
    );
    server.shutdown().await;
}

/** Asks `hot`'s conversation query `where_json` (a page of 10) as request `serial`: how long the answer
took and the results' JSON text. */
async fn timed_query(ws: &mut Socket, serial: i32, where_json: &str) -> (Duration, String) {
    let query = GenericCommand::request(CommandType::Conv, serial)
        .with_op(OpType::Query)
        .with_peer_id("hot")
        .with(ConvCommand {
            r#where: Some(JsonObjectMessage {
                data: where_json.into(),
            }),
            limit: Some(10),
            ..Default::default()
        });
    let asked = Instant::now();
    send(ws, &query).await;
    let results = recv_until(ws, |c| c.serial() == Some(serial)).await;
    let time = asked.elapsed();
    let data = results
        .conv_message
        .and_then(|c| c.results)
        .map(|r| r.data)
        .unwrap_or_default();
    (time, data)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Socket, command: &GenericCommand) {
    let bytes = chinwag_protocol::frame::encode_binary(command);
    ws.send(Message::Binary(bytes.into())).await.expect("send");
}

/// Reads commands until one satisfies `wanted`.
async fn recv_until(ws: &mut Socket, wanted: impl Fn(&GenericCommand) -> bool) -> GenericCommand {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(120), ws.next())
            .await
            .expect("a frame in time")
            .expect("connection open")
            .expect("frame");
        if let Message::Binary(bytes) = frame {
            let command = chinwag_protocol::frame::decode_binary(&bytes).expect("decodes");
            if wanted(&command) {
                return command;
            }
        }
    }
}
