//! A Rust client and the official `leancloud-realtime` JS client (4.3.1 and 5.0.0-rc.8, in Node) in one
//! conversation: each receives what the other sends, and the member events.
//!
//! Needs Node.js and `npm ci` in `crates/server/interop`; `cargo xtask test` does both and runs this
//! with `--features interop-tests`.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use chinwag::{Event, TextMessage};
use common::{GUARD, guard, next_matching, next_message, realtime, server};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// One official JS client in a Node process, driven over JSON lines.
struct JsPeer {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    seq: u64,
    /// Events read while waiting for something else.
    backlog: Vec<Value>,
}

impl JsPeer {
    async fn start(sdk: &str, ws: &str, http: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/interop");
        assert!(
            dir.join("node_modules").is_dir(),
            "run `npm ci` in {} (cargo xtask test does)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("peer.cjs")
            .args([sdk, ws, http, "chinwag-local"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut peer = Self {
            child,
            stdin,
            lines,
            seq: 0,
            backlog: Vec::new(),
        };
        peer.event("ready", |_| true).await;
        peer
    }

    async fn read(&mut self) -> Value {
        let line = guard("a line from the JS peer", self.lines.next_line())
            .await
            .expect("read from node")
            .expect("the JS peer exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON from the JS peer ({e}): {line}"))
    }

    /// Runs `op` and returns its successful reply.
    async fn call(&mut self, op: &str, mut args: Value) -> Value {
        self.seq += 1;
        args["op"] = json!(op);
        args["seq"] = json!(self.seq);
        let line = format!("{args}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to node");
        loop {
            let reply = self.read().await;
            if reply.get("seq") == Some(&json!(self.seq)) {
                assert_eq!(reply["ok"], json!(true), "JS {op} failed: {reply}");
                return reply;
            }
            self.backlog.push(reply);
        }
    }

    /// The next event named `name` that satisfies `wanted` (earlier ones are skipped).
    async fn event(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self
            .backlog
            .iter()
            .position(|e| e["event"] == json!(name) && wanted(e))
        {
            return self.backlog.remove(at);
        }
        loop {
            let event = self.read().await;
            if event["event"] == json!(name) && wanted(&event) {
                return event;
            }
        }
    }
}

async fn chat_with_official_sdk(sdk: &str) {
    let server = server().await;
    let mut jerry = JsPeer::start(sdk, &server.ws_url(), &server.http_url()).await;
    jerry.call("login", json!({"id": "Jerry"})).await;
    let realtime = realtime(&server);
    let tom = guard("Tom", realtime.create_im_client("Tom"))
        .await
        .expect("Tom signs in");
    let mary = guard("Mary", realtime.create_im_client("Mary"))
        .await
        .expect("Mary signs in");
    let (mut t, mut m) = (tom.events(), mary.events());

    // Rust creates the conversation: the JS client is invited.
    let conv = tom
        .create_conversation()
        .members(["Jerry"])
        .name("Rust & JS")
        .await
        .expect("created");
    let cid = conv.id().to_owned();
    let invited = jerry.event("invited", |e| e["cid"] == json!(cid)).await;
    assert_eq!(invited["invitedBy"], json!("Tom"));

    // Rust → JS.
    conv.send(TextMessage::new("hello from rust"))
        .await
        .expect("sent");
    let got = jerry.event("message", |e| e["cid"] == json!(cid)).await;
    assert_eq!(
        (got["from"].clone(), got["text"].clone()),
        (json!("Tom"), json!("hello from rust"))
    );

    // JS → Rust.
    jerry
        .call("send", json!({"cid": cid, "text": "hello from js"}))
        .await;
    let message = next_message(&mut t, "JS message").await;
    assert_eq!(message.from, "Jerry");
    assert_eq!(message.content.text(), Some("hello from js"));

    // JS adds Mary (a Rust client): Mary is invited, Tom sees her join.
    jerry.call("add", json!({"cid": cid, "members": ["Mary"]})).await;
    let invited = next_matching(&mut m, "Mary Invited", |e| matches!(e, Event::Invited { .. })).await;
    assert_eq!(
        invited,
        Event::Invited {
            conversation: cid.clone(),
            invited_by: Some("Jerry".into())
        }
    );
    let joined = next_matching(&mut t, "Tom MembersJoined", |e| {
        matches!(e, Event::MembersJoined { .. })
    })
    .await;
    assert_eq!(
        joined,
        Event::MembersJoined {
            conversation: cid.clone(),
            members: vec!["Mary".into()],
            invited_by: Some("Jerry".into())
        }
    );
    let js_joined = jerry
        .event("membersjoined", |e| e["members"] == json!(["Mary"]))
        .await;
    assert_eq!(js_joined["invitedBy"], json!("Jerry"));

    // Rust removes Mary: the JS client sees her leave, Mary is kicked.
    conv.remove(["Mary"]).await.expect("removed");
    let left = jerry
        .event("membersleft", |e| e["members"] == json!(["Mary"]))
        .await;
    assert_eq!(left["kickedBy"], json!("Tom"));
    let kicked = next_matching(&mut m, "Mary Kicked", |e| matches!(e, Event::Kicked { .. })).await;
    assert_eq!(kicked.conversation(), Some(cid.as_str()));

    // The JS client quits and joins again: Rust sees both, and so does the JS client itself
    // (its own MEMBERS_LEFT / MEMBERS_JOINED). Its member list is read once it has seen them: its
    // events are handled asynchronously, after the call that caused them has returned.
    jerry.call("quit", json!({"cid": cid})).await;
    jerry
        .event("membersleft", |e| e["members"] == json!(["Jerry"]))
        .await;
    let left = next_matching(
        &mut t,
        "Tom MembersLeft Jerry",
        |e| matches!(e, Event::MembersLeft { members, .. } if members == &["Jerry"]),
    )
    .await;
    assert_eq!(
        left,
        Event::MembersLeft {
            conversation: cid.clone(),
            members: vec!["Jerry".into()],
            kicked_by: Some("Jerry".into())
        }
    );
    jerry.call("join", json!({"cid": cid})).await;
    let joined = next_matching(
        &mut t,
        "Tom MembersJoined Jerry",
        |e| matches!(e, Event::MembersJoined { members, .. } if members == &["Jerry"]),
    )
    .await;
    assert_eq!(
        joined,
        Event::MembersJoined {
            conversation: cid.clone(),
            members: vec!["Jerry".into()],
            invited_by: Some("Jerry".into())
        }
    );
    assert_eq!(conv.members(), ["Jerry", "Tom"]);
    jerry
        .event("membersjoined", |e| e["members"] == json!(["Jerry"]))
        .await;
    let members = jerry.call("members", json!({"cid": cid})).await;
    assert_eq!(members["members"], json!(["Jerry", "Tom"]));

    jerry.call("close", json!({})).await;
    let status = tokio::time::timeout(GUARD, jerry.child.wait()).await;
    assert!(
        matches!(status, Ok(Ok(s)) if s.success()),
        "the JS peer exits cleanly: {status:?}"
    );
    realtime.close().await.expect("closed");
    server.shutdown().await;
}

#[tokio::test]
async fn rust_and_leancloud_realtime_4_chat() {
    chat_with_official_sdk("lc4").await;
}

#[tokio::test]
async fn rust_and_leancloud_realtime_5_chat() {
    chat_with_official_sdk("lc5").await;
}
