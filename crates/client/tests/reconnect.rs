//! The server is stopped and restarted (same port, same data dir) while two clients send to each
//! other: afterwards each received every message of the other exactly once and in order, and both
//! saw the disconnect and the reconnect.

mod common;

use std::net::SocketAddr;

use chinwag::{Conversation, Event, EventStream, Realtime, RealtimeOptions, TextMessage};
use chinwag_server::{RunningServer, Server, ServerConfig};
use common::{GUARD, guard, next_matching};

const MESSAGES: usize = 400;
/// The server is stopped once each sender has had this many messages acknowledged.
const RESTART_AFTER: usize = 20;

async fn start(listen: SocketAddr, data: &std::path::Path) -> RunningServer {
    let mut config = ServerConfig::local(listen);
    config.data_dir = Some(data.to_owned());
    Server::bind(config).await.expect("server starts")
}

/// Sends `MESSAGES` numbered texts one after another, each waiting for its ack; says when
/// `RESTART_AFTER` were acknowledged and goes on.
fn sender(
    conversation: Conversation,
    name: &'static str,
) -> (tokio::task::JoinHandle<()>, tokio::sync::oneshot::Receiver<()>) {
    let (halfway, reached) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut halfway = Some(halfway);
        for i in 0..MESSAGES {
            if i == RESTART_AFTER {
                if let Some(halfway) = halfway.take() {
                    let _ = halfway.send(());
                }
            }
            tokio::time::timeout(
                GUARD * 4,
                conversation.send(TextMessage::new(format!("{name} {i}"))),
            )
            .await
            .unwrap_or_else(|_| panic!("{name} {i} was never acknowledged"))
            .unwrap_or_else(|e| panic!("{name} {i} failed: {e}"));
        }
    });
    (task, reached)
}

/// Collects the texts of `from`'s messages until `count` arrived (failing after a generous guard).
async fn receive(
    events: &mut EventStream,
    from: &str,
    count: usize,
    texts: &mut Vec<String>,
    seen: &mut Vec<Event>,
) {
    let wait = async {
        while texts.len() < count {
            let Some(event) = events.recv().await else {
                panic!("event stream ended")
            };
            if let Event::Message { message } = &event {
                if message.from == from {
                    texts.push(message.content.text().unwrap_or_default().to_owned());
                }
            } else {
                seen.push(event);
            }
        }
    };
    tokio::time::timeout(GUARD * 4, wait).await.unwrap_or_else(|_| {
        panic!(
            "only {} of {count} messages from {from} arrived: {texts:?}",
            texts.len()
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_while_sending_loses_and_duplicates_nothing() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start("127.0.0.1:0".parse().expect("address"), data.path()).await;
    let addr = server.local_addr();
    let options = RealtimeOptions::new("chinwag-local", "chinwag-local-key").server(server.http_url());
    // Separate connections, so both see the restart from their own socket.
    let tom = guard("Tom", Realtime::new(options.clone()).create_im_client("Tom"))
        .await
        .expect("Tom signs in");
    let jerry = guard("Jerry", Realtime::new(options).create_im_client("Jerry"))
        .await
        .expect("Jerry signs in");
    let (mut tom_events, mut jerry_events) = (tom.events(), jerry.events());
    let conversation = tom
        .create_conversation()
        .members(["Jerry"])
        .await
        .expect("created");
    let jerry_side = jerry.conversation(conversation.id());
    next_matching(&mut jerry_events, "Invited", |e| {
        matches!(e, Event::Invited { .. })
    })
    .await;

    let (tom_sends, tom_halfway) = sender(conversation.clone(), "Tom");
    let (jerry_sends, jerry_halfway) = sender(jerry_side, "Jerry");
    guard("Tom's first messages", tom_halfway)
        .await
        .expect("Tom's sender runs");
    guard("Jerry's first messages", jerry_halfway)
        .await
        .expect("Jerry's sender runs");

    // Stop the server mid-stream and start it again on the same port with the same data.
    server.shutdown().await;
    assert!(
        !tom_sends.is_finished() && !jerry_sends.is_finished(),
        "the senders were still sending when the server went down"
    );
    let server = start(addr, data.path()).await;

    let (mut at_jerry, mut at_tom) = (Vec::new(), Vec::new());
    let (mut jerry_seen, mut tom_seen) = (Vec::new(), Vec::new());

    receive(&mut jerry_events, "Tom", MESSAGES, &mut at_jerry, &mut jerry_seen).await;
    receive(&mut tom_events, "Jerry", MESSAGES, &mut at_tom, &mut tom_seen).await;
    guard("Tom's sends", tom_sends).await.expect("Tom's sender");
    guard("Jerry's sends", jerry_sends).await.expect("Jerry's sender");

    let expected = |name: &str| (0..MESSAGES).map(|i| format!("{name} {i}")).collect::<Vec<_>>();
    assert_eq!(
        at_jerry,
        expected("Tom"),
        "Jerry got Tom's messages once each, in order"
    );
    assert_eq!(
        at_tom,
        expected("Jerry"),
        "Tom got Jerry's messages once each, in order"
    );

    for (name, seen) in [("Tom", &tom_seen), ("Jerry", &jerry_seen)] {
        assert!(
            seen.iter().any(|e| matches!(e, Event::Disconnected { .. })),
            "{name} saw the disconnect: {seen:?}"
        );
        assert!(
            seen.iter().any(|e| matches!(e, Event::Reconnected)),
            "{name} saw the reconnect: {seen:?}"
        );
    }

    // Nothing more arrives: no late duplicates from the history fill.
    let probe = conversation.send(TextMessage::new("last")).await.expect("sent");
    let last = next_matching(&mut jerry_events, "the last message", |e| {
        matches!(e, Event::Message { .. })
    })
    .await;
    let Event::Message { message } = last else {
        unreachable!()
    };
    assert_eq!(
        message.id, probe.id,
        "the next message after the run is the probe, not a duplicate"
    );
    server.shutdown().await;
}
