//! Shared by the integration tests: an in-process server and event helpers.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use chinwag::{Event, EventStream, Message, Realtime, RealtimeOptions};
use chinwag_server::{RunningServer, Server, ServerConfig};

/// Failure guard for awaits: tests wait for events, never sleep.
pub const GUARD: Duration = Duration::from_secs(15);

/// A server on a free port of 127.0.0.1 keeping everything in memory.
pub async fn server() -> RunningServer {
    Server::bind(ServerConfig::local("127.0.0.1:0".parse().expect("address")))
        .await
        .expect("server starts")
}

/// A `Realtime` resolving the WebSocket URL through the server's `/v1/route`.
pub fn realtime(server: &RunningServer) -> Realtime {
    Realtime::new(RealtimeOptions::new("chinwag-local", "chinwag-local-key").server(server.http_url()))
}

/// Awaits `future` within [`GUARD`].
pub async fn guard<F: IntoFuture>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next event matching `wanted`, skipping others; panics after [`GUARD`].
pub async fn next_matching(events: &mut EventStream, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
    guard(what, async {
        loop {
            match events.recv().await {
                Some(event) if wanted(&event) => return event,
                Some(_) => {}
                None => panic!("event stream ended while waiting for {what}"),
            }
        }
    })
    .await
}

/// The message of the next `Message` event (`what` names it in a timeout).
pub async fn next_message(events: &mut EventStream, what: &str) -> Message {
    match next_matching(events, what, |e| matches!(e, Event::Message { .. })).await {
        Event::Message { message } => message,
        _ => unreachable!(),
    }
}

/// The text of the next `Message` event.
pub async fn next_text(events: &mut EventStream) -> String {
    let message = next_message(events, "a message").await;
    message.content.text().unwrap_or_default().to_owned()
}
