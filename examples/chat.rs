//! A small interactive terminal chat against a running server.
//!
//! ```text
//! cargo run -p chinwag-server -- --listen 127.0.0.1:8282            # in one terminal
//! cargo run --example chat -- --client-id Tom --with Jerry           # in another
//! cargo run --example chat -- --client-id Jerry --with Tom           # and a third
//! ```
//!
//! Type a line to send it. `/history` shows the last messages, `/members` the members, `/quit` leaves.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use chinwag::{Conversation, Event, HistoryQuery, Realtime, RealtimeOptions, TextMessage};
use clap::Parser;
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// A terminal chat on the chinwag Rust SDK.
#[derive(Parser, Debug)]
struct Args {
    /// The server: an HTTP base (`http://127.0.0.1:8282`, resolved with `/v1/route`) or a WebSocket URL.
    #[arg(long, env = "CHINWAG_SERVER", default_value = "http://127.0.0.1:8282")]
    server: String,
    /// The app id.
    #[arg(long, env = "CHINWAG_APP_ID", default_value = "chinwag-local")]
    app_id: String,
    /// The app key.
    #[arg(long, env = "CHINWAG_APP_KEY", default_value = "chinwag-local-key")]
    app_key: String,
    /// Who you are.
    #[arg(long)]
    client_id: String,
    /// An existing conversation id to open (you join it if you are not a member).
    #[arg(long, conflicts_with = "with")]
    conversation: Option<String>,
    /// Chat with these client ids (comma-separated): opens the conversation with exactly these members.
    #[arg(long, value_delimiter = ',')]
    with: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let options = RealtimeOptions::new(&args.app_id, &args.app_key);
    let options = if args.server.starts_with("ws") {
        options.rtm_servers([args.server.clone()])
    } else {
        options.server(&args.server)
    };
    let realtime = Realtime::new(options);
    let me = tokio::time::timeout(
        Duration::from_secs(20),
        realtime.create_im_client(&args.client_id),
    )
    .await
    .context("signing in timed out")??;
    let mut events = me.events();

    let conversation: Conversation = match (&args.conversation, args.with.is_empty()) {
        (Some(id), _) => {
            let conversation = me.get_conversation(id).await?;
            if !conversation.members().iter().any(|m| m == me.id()) {
                conversation.join().await?;
            }
            conversation
        }
        (None, false) => {
            me.create_conversation()
                .members(args.with.clone())
                .name(format!("{} & {}", me.id(), args.with.join(" & ")))
                .await?
        }
        (None, true) => bail!("say whom to chat with: --with ID[,ID...] or --conversation ID"),
    };
    println!(
        "signed in as {} in {} with {:?}; type to send, /history, /members, /quit",
        me.id(),
        conversation.id(),
        conversation.members()
    );
    show_history(&conversation, 10).await?;

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let Some(line) = line? else { break };
                match line.trim() {
                    "" => {}
                    "/quit" => break,
                    "/members" => println!("members: {:?}", conversation.members()),
                    "/history" => show_history(&conversation, 20).await?,
                    text => {
                        if let Err(error) = conversation.send(TextMessage::new(text)).await {
                            println!("! not sent: {error}");
                        }
                    }
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                print_event(&event, conversation.id());
            }
        }
    }
    me.close().await?;
    Ok(())
}

async fn show_history(conversation: &Conversation, limit: i32) -> Result<()> {
    let query = HistoryQuery {
        limit: Some(limit),
        ..HistoryQuery::default()
    };
    for message in conversation.query_messages(query).await? {
        println!(
            "  {}: {}",
            message.from,
            message.content.text().unwrap_or("<binary>")
        );
    }
    Ok(())
}

fn print_event(event: &Event, current: &str) {
    let elsewhere = |cid: &str| {
        if cid == current {
            String::new()
        } else {
            format!(" [in {cid}]")
        }
    };
    match event {
        Event::Message { message } => println!(
            "{}: {}{}",
            message.from,
            message.content.text().unwrap_or("<binary>"),
            elsewhere(&message.conversation)
        ),
        Event::MembersJoined {
            conversation,
            members,
            ..
        } => {
            println!("* {} joined{}", members.join(", "), elsewhere(conversation));
        }
        Event::MembersLeft {
            conversation,
            members,
            ..
        } => {
            println!("* {} left{}", members.join(", "), elsewhere(conversation));
        }
        Event::Invited {
            conversation,
            invited_by,
        } => {
            println!(
                "* you were added by {}{}",
                invited_by.as_deref().unwrap_or("?"),
                elsewhere(conversation)
            );
        }
        Event::Kicked {
            conversation,
            kicked_by,
        } => {
            println!(
                "* you were removed by {}{}",
                kicked_by.as_deref().unwrap_or("?"),
                elsewhere(conversation)
            );
        }
        Event::Disconnected { .. } => println!("* disconnected"),
        Event::Reconnecting { attempt, delay } => println!("* reconnecting (attempt {attempt}) in {delay:?}"),
        Event::Reconnected => println!("* reconnected"),
        _ => {}
    }
}
