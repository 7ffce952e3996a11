//! Durability across a crash: the `chinwag-server` process is killed (SIGKILL: no shutdown, no
//! flush) while a client is sending; a server started again on the same data directory has every
//! message that was acknowledged before the kill, each once.

#[path = "common/client.rs"]
mod client;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chinwag_protocol::{CommandType, DirectCommand, GenericCommand};
use client::Client;

/// A `chinwag-server` process and the WebSocket URL it listens on.
struct ServerProcess {
    child: Child,
    ws_url: String,
}

impl ServerProcess {
    /// Starts the binary on a free port with `data_dir`, without rate limits (the test floods).
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chinwag-server"))
            .arg("--listen=127.0.0.1:0")
            .arg(format!("--data-dir={}", data_dir.display()))
            .args(["--rate-burst=0", "--client-rate-burst=0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chinwag-server starts");
        // The `ready` log line names the address; the rest of the log is drained so that the
        // server never blocks on a full pipe.
        let stderr = child.stderr.take().expect("stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("ready") {
                    let _ = ready_tx.send(line);
                }
            }
        });
        let line = ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs `ready`");
        let ws_url = line
            .split_whitespace()
            .find_map(|field| field.strip_prefix("ws="))
            .expect("ws= in the ready line")
            .to_owned();
        Self { child, ws_url }
    }

    /// SIGKILL, then waits for the process to be gone.
    fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(cid: &str, serial: i32) -> GenericCommand {
    GenericCommand::new(CommandType::Direct)
        .with(DirectCommand {
            cid: Some(cid.into()),
            msg: Some(format!("m{serial}")),
            ..Default::default()
        })
        .with_serial(serial)
}

#[tokio::test]
async fn messages_acknowledged_before_the_server_is_killed_are_there_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(dir.path());
    let mut tom = Client::login(&server.ws_url, "Tom").await;
    let cid = tom.create_conversation(&["Jerry"]).await;

    // Pipeline many sends (they land in shared batches: group commits) and kill the server as
    // soon as half of them are acknowledged, with the rest still in flight.
    let sent = 400;
    for serial in 1..=sent {
        tom.send(&text(&cid, serial)).await;
    }
    let mut acked = Vec::new();
    while acked.len() < sent as usize / 2 {
        let reply = tom.recv().await.expect("the server answers until killed");
        if let Some(ack) = reply.ack_message {
            assert!(ack.code.is_none(), "{ack:?}");
            acked.push(ack.uid.expect("uid"));
        }
    }
    server.kill();

    let server = ServerProcess::start(dir.path());
    let mut jerry = Client::login(&server.ws_url, "Jerry").await;
    let stored = jerry.history_ids(&cid).await;
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged messages lost: {missing:?}",
        missing.len(),
        acked.len()
    );
    let mut unique = stored.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), stored.len(), "no message stored twice");
    assert!(stored.len() <= sent as usize);
    server.kill();
}
