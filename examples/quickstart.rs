//! The seed guide end to end with Tom, Jerry and Mary: sign in, create "Tom & Jerry", send "Hi, Jerry.",
//! query by members, add and remove Mary, quit and join, a distinct conversation, printing each step
//! and every event each client sees.
//!
//! ```text
//! cargo run --example quickstart                       # starts an embedded chinwag-server
//! CHINWAG_SERVER=http://127.0.0.1:8282 cargo run --example quickstart   # or uses a running one
//! ```

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use chinwag::{Client, Event, EventStream, Realtime, RealtimeOptions, TextMessage};
use chinwag_server::{Server, ServerConfig};

/// The whole run may take no longer than this (it takes well under a second).
const DEADLINE: Duration = Duration::from_secs(30);
/// How long to wait for one expected event.
const EVENT_WAIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<()> {
    match tokio::time::timeout(DEADLINE, run()).await {
        Ok(result) => result,
        Err(_) => bail!("the quickstart did not finish within {DEADLINE:?}"),
    }
}

async fn run() -> Result<()> {
    // 0. A server: the one in CHINWAG_SERVER, or an embedded one on a free port with a temporary data dir.
    let (base, app_id, embedded) = match std::env::var("CHINWAG_SERVER") {
        Ok(url) => (
            url,
            std::env::var("CHINWAG_APP_ID").unwrap_or_else(|_| "chinwag-local".into()),
            None,
        ),
        Err(_) => {
            let data = tempfile::tempdir().context("creating a temporary data dir")?;
            let mut config = ServerConfig::local("127.0.0.1:0".parse()?);
            config.data_dir = Some(data.path().to_owned());
            let server = Server::bind(config)
                .await
                .context("starting the embedded server")?;
            println!(
                "started an embedded chinwag-server at {} (data in {})",
                server.http_url(),
                data.path().display()
            );
            (
                server.http_url(),
                "chinwag-local".to_owned(),
                Some((server, data)),
            )
        }
    };

    // 1. Initializing with AppId and AppKey.
    let realtime = Realtime::new(RealtimeOptions::new(app_id, "chinwag-local-key").server(&base));

    // 2. Connecting: each with a unique id.
    step("Tom, Jerry and Mary sign in");
    let tom = realtime.create_im_client("Tom").await?;
    let jerry = realtime.create_im_client("Jerry").await?;
    let mary = realtime.create_im_client("Mary").await?;
    let mut watchers = [Watcher::new(&tom), Watcher::new(&jerry), Watcher::new(&mary)];

    // 3. Create a conversation containing Tom and Jerry, and send a text message.
    step("Tom creates \"Tom & Jerry\" with Jerry");
    let conversation = tom
        .create_conversation()
        .members(["Jerry"])
        .name("Tom & Jerry")
        .await?;
    println!(
        "  created {} with members {:?}",
        conversation.id(),
        conversation.members()
    );
    watchers[0]
        .expect("MembersJoined", |e| matches!(e, Event::MembersJoined { .. }))
        .await?;
    watchers[1]
        .expect("Invited", |e| matches!(e, Event::Invited { .. }))
        .await?;

    step("Tom sends \"Hi, Jerry.\"");
    let sent = conversation.send(TextMessage::new("Hi, Jerry.")).await?;
    println!(
        "  Tom & Jerry message sent ({:?} at {})",
        sent.id.as_deref().unwrap_or("?"),
        sent.timestamp
    );
    let received = watchers[1]
        .expect(
            "Message",
            |e| matches!(e, Event::Message { message } if message.content.text() == Some("Hi, Jerry.")),
        )
        .await?;
    if let Event::Message { message } = received {
        println!(
            "  Jerry received {:?} from {}",
            message.content.text().unwrap_or_default(),
            message.from
        );
    }

    // 4. Fetch an existing conversation.
    step("Tom queries his conversations with Jerry");
    for found in tom.query().contains_members(["Jerry"]).find().await? {
        println!(
            "  {} last message at {:?}, members {:?}",
            found.id(),
            found.last_message_at(),
            found.members()
        );
    }

    // 5. Add more participants.
    step("Tom adds Mary");
    conversation.add(["Mary"]).await?;
    println!("  added, members now {:?}", conversation.members());
    watchers[0]
        .expect("MembersJoined", |e| matches!(e, Event::MembersJoined { .. }))
        .await?;
    watchers[1]
        .expect("MembersJoined", |e| matches!(e, Event::MembersJoined { .. }))
        .await?;
    watchers[2]
        .expect("Invited", |e| matches!(e, Event::Invited { .. }))
        .await?;

    // 6. Removing participants.
    step("Tom removes Mary");
    conversation.remove(["Mary"]).await?;
    println!(
        "  Mary has been removed, members now {:?}",
        conversation.members()
    );
    watchers[0]
        .expect("MembersLeft", |e| matches!(e, Event::MembersLeft { .. }))
        .await?;
    watchers[1]
        .expect("MembersLeft", |e| matches!(e, Event::MembersLeft { .. }))
        .await?;
    watchers[2]
        .expect("Kicked", |e| matches!(e, Event::Kicked { .. }))
        .await?;

    // 7. Quit and join (Mary first rejoins so that, as in the guide's table, all three see it).
    step("Mary joins again, then Tom quits and joins");
    mary.conversation(conversation.id()).join().await?;
    for watcher in &mut watchers {
        watcher
            .expect("MembersJoined", |e| matches!(e, Event::MembersJoined { .. }))
            .await?;
    }
    conversation.quit().await?;
    println!("  Tom quit, members now {:?}", conversation.members());
    for watcher in &mut watchers {
        watcher
            .expect("MembersLeft", |e| matches!(e, Event::MembersLeft { .. }))
            .await?;
    }
    conversation.join().await?;
    println!("  Tom joined, members now {:?}", conversation.members());
    for watcher in &mut watchers {
        watcher
            .expect("MembersJoined", |e| matches!(e, Event::MembersJoined { .. }))
            .await?;
    }

    // 8. Distinct conversations: unique=false always creates a new one.
    step("Mary creates \"Party on weekends\" with Tom and Jerry (unique: false), twice");
    let party = mary
        .create_conversation()
        .members(["Tom", "Jerry"])
        .name("Party on weekends")
        .unique(false)
        .await?;
    let again = mary
        .create_conversation()
        .members(["Tom", "Jerry"])
        .name("Party on weekends")
        .unique(false)
        .await?;
    println!("  two distinct conversations: {} and {}", party.id(), again.id());
    if party.id() == again.id() {
        bail!("unique: false returned the same conversation twice");
    }
    let mine = mary.create_conversation().members(["Tom", "Jerry"]).await?;
    let same = tom.create_conversation().members(["Mary", "Jerry"]).await?;
    println!(
        "  unique (default): Mary's {} and Tom's {} are the same conversation",
        mine.id(),
        same.id()
    );
    if mine.id() != same.id() {
        bail!("unique: true created two conversations with the same members");
    }

    step("everyone signs out");
    realtime.close().await?;
    for watcher in &mut watchers {
        watcher.print_rest();
    }
    if let Some((server, _data)) = embedded {
        server.shutdown().await;
    }
    println!("\nquickstart finished");
    Ok(())
}

fn step(title: &str) {
    println!("\n== {title}");
}

/// Prints every event one client sees and waits for the expected ones.
struct Watcher {
    name: String,
    events: EventStream,
}

impl Watcher {
    fn new(client: &Client) -> Self {
        Self {
            name: client.id().to_owned(),
            events: client.events(),
        }
    }

    /// Waits for an event matching `wanted`, printing it and every event before it.
    async fn expect(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Result<Event> {
        loop {
            let event = tokio::time::timeout(EVENT_WAIT, self.events.recv())
                .await
                .with_context(|| format!("{} saw no {what} event", self.name))?
                .with_context(|| format!("{}'s event stream ended", self.name))?;
            println!("  [{:>5}] {}", self.name, describe(&event));
            if wanted(&event) {
                return Ok(event);
            }
        }
    }

    fn print_rest(&mut self) {
        while let Some(event) = self.events.try_recv() {
            println!("  [{:>5}] {}", self.name, describe(&event));
        }
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::MembersJoined {
            conversation,
            members,
            invited_by,
        } => {
            format!("MembersJoined {members:?} invited by {invited_by:?} in {conversation}")
        }
        Event::MembersLeft {
            conversation,
            members,
            kicked_by,
        } => {
            format!("MembersLeft {members:?} kicked by {kicked_by:?} in {conversation}")
        }
        Event::Invited {
            conversation,
            invited_by,
        } => format!("Invited by {invited_by:?} to {conversation}"),
        Event::Kicked {
            conversation,
            kicked_by,
        } => format!("Kicked by {kicked_by:?} from {conversation}"),
        Event::Message { message } => format!(
            "Message {:?} from {} in {}",
            message.content.text().unwrap_or("<binary>"),
            message.from,
            message.conversation
        ),
        other => format!("{other:?}"),
    }
}
