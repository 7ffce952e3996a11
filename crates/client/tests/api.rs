//! The whole API against an in-process chinwag-server over real WebSockets on 127.0.0.1.

mod common;

use chinwag::{
    BinaryMessage, Client, Conversation, Error, Event, HistoryQuery, MessageContent, MessageStatus, Realtime,
    RealtimeOptions, SendOptions, TextMessage, TypedMessage,
};
use common::{guard, next_matching, next_message, next_text, realtime, server};
use serde_json::json;

fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

#[test]
fn handles_are_send_sync_and_clone() {
    assert_send_sync::<Realtime>();
    assert_send_sync::<Client>();
    assert_send_sync::<Conversation>();
    assert_send_sync::<Error>();
}

async fn sign_in(realtime: &Realtime, ids: &[&str]) -> Vec<Client> {
    let mut clients = Vec::new();
    for id in ids {
        clients.push(
            guard("sign-in", realtime.create_im_client(*id))
                .await
                .expect("signs in"),
        );
    }
    clients
}

/// A new conversation of `creator` with `members`.
async fn conversation_of(creator: &Client, members: &[&str]) -> Conversation {
    creator
        .create_conversation()
        .members(members.iter().copied())
        .await
        .expect("created")
}

fn members(event: &Event) -> (Vec<String>, Option<String>) {
    match event {
        Event::MembersJoined {
            members, invited_by, ..
        } => (members.clone(), invited_by.clone()),
        Event::MembersLeft {
            members, kicked_by, ..
        } => (members.clone(), kicked_by.clone()),
        other => panic!("not a member event: {other:?}"),
    }
}

#[tokio::test]
async fn seed_guide_events_table() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry", "Mary"]).await;
    let (tom, jerry, mary) = (&clients[0], &clients[1], &clients[2]);
    let (mut t, mut j, mut m) = (tom.events(), jerry.events(), mary.events());

    // tom.createConversation({members: ['Jerry']}): Tom MEMBERS_JOINED, Jerry INVITED.
    let conv = guard(
        "create",
        tom.create_conversation().members(["Jerry"]).name("Tom & Jerry"),
    )
    .await
    .expect("created");
    assert_eq!(conv.members(), ["Jerry", "Tom"]);
    assert_eq!(conv.name().as_deref(), Some("Tom & Jerry"));
    let joined = next_matching(&mut t, "Tom MembersJoined", |e| {
        matches!(e, Event::MembersJoined { .. })
    })
    .await;
    assert_eq!(joined.conversation(), Some(conv.id()));
    assert_eq!(members(&joined).1.as_deref(), Some("Tom"));
    let invited = next_matching(&mut j, "Jerry Invited", |e| matches!(e, Event::Invited { .. })).await;
    assert_eq!(
        invited,
        Event::Invited {
            conversation: conv.id().to_owned(),
            invited_by: Some("Tom".into())
        }
    );

    // add(['Mary']): Tom, Jerry MEMBERS_JOINED; Mary INVITED.
    let mut conv_events = conv.events();
    let added = guard("add", conv.add(["Mary"])).await.expect("added");
    assert_eq!(added.succeeded, ["Mary"]);
    assert!(added.failed.is_empty());
    assert_eq!(conv.members(), ["Jerry", "Mary", "Tom"]);
    for events in [&mut t, &mut j] {
        let e = next_matching(events, "MembersJoined Mary", |e| {
            matches!(e, Event::MembersJoined { .. })
        })
        .await;
        assert_eq!(members(&e), (vec!["Mary".to_owned()], Some("Tom".to_owned())));
    }
    let e = next_matching(&mut m, "Mary Invited", |e| matches!(e, Event::Invited { .. })).await;
    assert_eq!(e.conversation(), Some(conv.id()));
    // ... and on the conversation's own stream.
    let e = next_matching(&mut conv_events, "conversation MembersJoined", |e| {
        matches!(e, Event::MembersJoined { .. })
    })
    .await;
    assert_eq!(members(&e).0, ["Mary"]);

    // remove(['Mary']): Tom, Jerry MEMBERS_LEFT; Mary KICKED.
    guard("remove", conv.remove(["Mary"])).await.expect("removed");
    assert_eq!(conv.members(), ["Jerry", "Tom"]);
    for events in [&mut t, &mut j] {
        let e = next_matching(events, "MembersLeft Mary", |e| {
            matches!(e, Event::MembersLeft { .. })
        })
        .await;
        assert_eq!(members(&e), (vec!["Mary".to_owned()], Some("Tom".to_owned())));
    }
    let e = next_matching(&mut m, "Mary Kicked", |e| matches!(e, Event::Kicked { .. })).await;
    assert_eq!(
        e,
        Event::Kicked {
            conversation: conv.id().to_owned(),
            kicked_by: Some("Tom".into())
        }
    );

    // Mary joins again; then quit() and join() reach all three.
    guard("join", mary.conversation(conv.id()).join())
        .await
        .expect("joined");
    for events in [&mut t, &mut j, &mut m] {
        let e = next_matching(events, "MembersJoined by Mary", |e| {
            matches!(e, Event::MembersJoined { .. })
        })
        .await;
        assert_eq!(members(&e), (vec!["Mary".to_owned()], Some("Mary".to_owned())));
    }
    guard("quit", conv.quit()).await.expect("quit");
    for events in [&mut t, &mut j, &mut m] {
        let e = next_matching(events, "MembersLeft Tom", |e| {
            matches!(e, Event::MembersLeft { .. })
        })
        .await;
        assert_eq!(members(&e).0, ["Tom"]);
    }
    assert_eq!(conv.members(), ["Jerry", "Mary"]);
    guard("join", conv.join()).await.expect("joined");
    for events in [&mut t, &mut j, &mut m] {
        let e = next_matching(events, "MembersJoined Tom", |e| {
            matches!(e, Event::MembersJoined { .. })
        })
        .await;
        assert_eq!(members(&e).0, ["Tom"]);
    }
    assert_eq!(conv.members(), ["Jerry", "Mary", "Tom"]);
    realtime.close().await.expect("closes");
    server.shutdown().await;
}

#[tokio::test]
async fn messages_text_typed_and_binary_with_options() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry"]).await;
    let (tom, jerry) = (&clients[0], &clients[1]);
    let mut j = jerry.events();
    let conv = conversation_of(tom, &["Jerry"]).await;
    let mut jerry_conv = jerry.conversation(conv.id()).events();

    let sent = guard(
        "send",
        conv.send(TextMessage::new("Hi, Jerry.").attribute("mood", "happy")),
    )
    .await
    .expect("sent");
    assert!(sent.id.is_some(), "the ack carries the server id");
    assert!(sent.timestamp > 0);
    assert_eq!(sent.status, MessageStatus::Sent);
    let got = next_matching(&mut j, "text", |e| matches!(e, Event::Message { .. })).await;
    let Event::Message { message } = got else {
        unreachable!()
    };
    assert_eq!(message.id, sent.id);
    assert_eq!(message.from, "Tom");
    let typed = message.content.as_typed().expect("a typed message");
    assert_eq!(typed.text.as_deref(), Some("Hi, Jerry."));
    assert_eq!(
        typed.attrs.as_ref().and_then(|a| a.get("mood")),
        Some(&"happy".into())
    );
    // The conversation stream saw it too.
    assert_eq!(next_text(&mut jerry_conv).await, "Hi, Jerry.");

    guard("binary", conv.send(BinaryMessage::new(vec![0u8, 1, 2, 255])))
        .await
        .expect("sent");
    let message = next_message(&mut j, "binary").await;
    assert_eq!(message.content, MessageContent::Binary(vec![0, 1, 2, 255]));

    guard("location", conv.send(TypedMessage::location(39.97, 116.37)))
        .await
        .expect("sent");
    let message = next_message(&mut j, "location").await;
    assert_eq!(message.content.kind(), Some(chinwag::MessageKind::Location));

    // Mentions and a transient message.
    let options = SendOptions {
        mentions: vec!["Jerry".into()],
        ..SendOptions::default()
    };
    guard(
        "mention",
        conv.send_with(TextMessage::new("@Jerry look"), options),
    )
    .await
    .expect("sent");
    let message = next_message(&mut j, "mention").await;
    assert!(message.mentioned, "Jerry is mentioned: {message:?}");
    let transient = SendOptions {
        transient: true,
        ..SendOptions::default()
    };
    guard(
        "transient",
        conv.send_with(TextMessage::new("typing..."), transient),
    )
    .await
    .expect("sent");
    let message = next_message(&mut j, "transient").await;
    assert!(message.transient);

    // A receipt: Tom learns Jerry got the message.
    let mut t = tom.events();
    let receipt = SendOptions {
        receipt: true,
        ..SendOptions::default()
    };
    let sent = guard(
        "receipt",
        conv.send_with(TextMessage::new("did you get this?"), receipt),
    )
    .await
    .expect("sent");
    assert_eq!(next_text(&mut j).await, "did you get this?");
    let status = next_matching(&mut t, "delivery receipt", |e| {
        matches!(e, Event::MessageStatusChanged { .. })
    })
    .await;
    let Event::MessageStatusChanged {
        message_id, status, ..
    } = status
    else {
        unreachable!()
    };
    assert_eq!(Some(message_id), sent.id);
    assert_eq!(status, MessageStatus::Delivered);

    // The cache follows: the last message is the newest one.
    assert_eq!(conv.last_message_at(), Some(sent.timestamp));
    server.shutdown().await;
}

#[tokio::test]
async fn query_get_update_and_counts() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry", "Mary"]).await;
    let (tom, jerry, mary) = (&clients[0], &clients[1], &clients[2]);
    let tj = tom
        .create_conversation()
        .members(["Jerry"])
        .name("Tom & Jerry")
        .attribute("topic", "cheese")
        .await
        .expect("created");
    let tm = tom
        .create_conversation()
        .members(["Mary"])
        .name("Tom & Mary")
        .await
        .expect("created");

    // Distinct conversations: unique=true returns the same, unique=false creates another.
    let again = conversation_of(jerry, &["Tom"]).await;
    assert_eq!(again.id(), tj.id());
    let other = jerry
        .create_conversation()
        .members(["Tom"])
        .unique(false)
        .await
        .expect("created");
    assert_ne!(other.id(), tj.id());

    let found = guard("query", tom.query().contains_members(["Jerry"]).find())
        .await
        .expect("found");
    let ids: Vec<&str> = found.iter().map(Conversation::id).collect();
    assert!(ids.contains(&tj.id()) && ids.contains(&other.id()), "{ids:?}");
    assert!(!ids.contains(&tm.id()));
    let by_attr = tom
        .query()
        .equal_to("topic", "cheese")
        .find()
        .await
        .expect("found");
    assert_eq!(by_attr.len(), 1);
    assert_eq!(by_attr[0].id(), tj.id());
    let exact = tom
        .query()
        .contains_members(["Mary"])
        .first()
        .await
        .expect("found");
    assert_eq!(exact.map(|c| c.id().to_owned()).as_deref(), Some(tm.id()));
    let limited = tom.query().limit(1).find().await.expect("found");
    assert_eq!(limited.len(), 1);

    let fetched = mary.get_conversation(tm.id()).await.expect("fetched");
    assert_eq!(fetched.members(), ["Mary", "Tom"]);
    assert_eq!(fetched.name().as_deref(), Some("Tom & Mary"));
    let missing = mary.get_conversation("000000000000000000000000").await;
    assert!(matches!(missing, Err(Error::Server { .. })), "{missing:?}");

    // update: saved, cached, pushed to the others.
    let mut j = jerry.events();
    tj.update([("name", json!("Cat & Mouse")), ("topic", json!("traps"))])
        .await
        .expect("updated");
    assert_eq!(tj.name().as_deref(), Some("Cat & Mouse"));
    let e = next_matching(&mut j, "InfoUpdated", |e| matches!(e, Event::InfoUpdated { .. })).await;
    let Event::InfoUpdated {
        attributes,
        updated_by,
        ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(updated_by.as_deref(), Some("Tom"));
    assert_eq!(attributes.get("topic"), Some(&"traps".into()));

    assert_eq!(tj.count_members().await.expect("counted"), 2);
    let online = tom.query_online(["Jerry", "Nobody"]).await.expect("queried");
    assert_eq!(online, ["Jerry"]);
    assert!(tom.session_token().await.expect("read").is_some());
    assert!(tom.conversations().iter().any(|c| c.id() == tj.id()));
    server.shutdown().await;
}

#[tokio::test]
async fn history_pages_unread_read_and_receipts() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry"]).await;
    let (tom, jerry) = (&clients[0], &clients[1]);
    let conv = conversation_of(tom, &["Jerry"]).await;
    let mut j = jerry.events();
    for i in 0..25 {
        conv.send(TextMessage::new(format!("m{i}"))).await.expect("sent");
    }
    for i in 0..25 {
        assert_eq!(next_text(&mut j).await, format!("m{i}"));
    }

    // Pages newest first, each ascending; together every message once.
    let mut pages = conv.history(10);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    while let Some(page) = guard("page", pages.next_page()).await.expect("page") {
        sizes.push(page.len());
        let texts: Vec<String> = page
            .iter()
            .map(|m| m.content.text().unwrap_or_default().to_owned())
            .collect();
        seen.splice(0..0, texts);
    }
    assert_eq!(sizes, [10, 10, 5]);
    let expected: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected);
    let newest = conv
        .query_messages(HistoryQuery {
            limit: Some(3),
            ..HistoryQuery::default()
        })
        .await
        .expect("page");
    assert_eq!(
        newest
            .iter()
            .map(|m| m.content.text().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["m22", "m23", "m24"]
    );

    // Unread counts and read.
    let jc = jerry.conversation(conv.id());
    assert_eq!(jc.unread_count(), 25);
    jc.read().await.expect("read");
    assert_eq!(jc.unread_count(), 0);
    // The server recorded Jerry's read position (a request on the same connection, after the read).
    let receipts = conv.fetch_receipt_timestamps().await.expect("receipts");
    assert!(receipts.last_read_at.is_some(), "{receipts:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn errors_carry_code_and_name() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry", "Mary"]).await;
    let (tom, mary) = (&clients[0], &clients[2]);
    let conv = conversation_of(tom, &["Jerry"]).await;

    // Mary is not a member: the server refuses her message.
    let refused = mary
        .conversation(conv.id())
        .send(TextMessage::new("let me in"))
        .await;
    match refused {
        Err(error @ Error::Server { .. }) => {
            assert!(error.code().is_some_and(|c| c > 0), "{error:?}");
            assert!(!error.name().unwrap_or_default().is_empty(), "{error:?}");
        }
        other => panic!("expected a server error, got {other:?}"),
    }

    // The same id twice on one Realtime.
    let twice = realtime.create_im_client("Tom").await;
    assert_eq!(twice.err(), Some(Error::AlreadyOpen));

    // After close, the client is gone.
    let mut t = tom.events();
    tom.close().await.expect("closed");
    next_matching(&mut t, "Closed", |e| matches!(e, Event::Closed { .. })).await;
    assert_eq!(
        conv.send(TextMessage::new("after close")).await.err(),
        Some(Error::NoSuchClient)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn edit_and_recall_reach_the_other_side() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry"]).await;
    let (tom, jerry) = (&clients[0], &clients[1]);
    let conv = conversation_of(tom, &["Jerry"]).await;
    let mut j = jerry.events();
    let sent = conv.send(TextMessage::new("typo")).await.expect("sent");
    assert_eq!(next_text(&mut j).await, "typo");

    let edited = guard("edit", conv.edit(&sent, TextMessage::new("fixed")))
        .await
        .expect("edited");
    assert_eq!(edited.content.text(), Some("fixed"));
    assert_eq!(edited.id, sent.id);
    let e = next_matching(&mut j, "MessageUpdated", |e| {
        matches!(e, Event::MessageUpdated { .. })
    })
    .await;
    let Event::MessageUpdated { message, .. } = e else {
        unreachable!()
    };
    assert_eq!(
        (message.id.clone(), message.content.text()),
        (sent.id.clone(), Some("fixed"))
    );

    let recalled = guard("recall", conv.recall(&sent)).await.expect("recalled");
    assert_eq!(recalled.content.kind(), Some(chinwag::MessageKind::Recalled));
    let e = next_matching(&mut j, "MessageRecalled", |e| {
        matches!(e, Event::MessageRecalled { .. })
    })
    .await;
    let Event::MessageRecalled { message, .. } = e else {
        unreachable!()
    };
    assert_eq!(message.id, sent.id);
    assert_eq!(message.content.kind(), Some(chinwag::MessageKind::Recalled));

    // Only the sender may patch: Jerry's attempt fails with the server's code and name.
    let refused = jerry
        .conversation(conv.id())
        .edit(&sent, TextMessage::new("not mine"))
        .await;
    let error = refused.expect_err("only the sender may edit");
    assert!(error.code().is_some() && error.name().is_some(), "{error:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn moderation_roles_shut_up_and_block() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry", "Mary"]).await;
    let (tom, jerry, mary) = (&clients[0], &clients[1], &clients[2]);
    let conv = conversation_of(tom, &["Jerry", "Mary"]).await;
    let (mut j, mut m) = (jerry.events(), mary.events());
    let mary_side = mary.conversation(conv.id());

    // Roles: Jerry becomes a manager, and everyone hears of it.
    conv.update_member_role("Jerry", "Manager")
        .await
        .expect("role updated");
    let e = next_matching(&mut j, "MemberInfoUpdated", |e| {
        matches!(e, Event::MemberInfoUpdated { .. })
    })
    .await;
    let Event::MemberInfoUpdated { member, role, .. } = e else {
        unreachable!()
    };
    assert_eq!((member.as_str(), role.as_deref()), ("Jerry", Some("Manager")));
    assert_eq!(
        conv.update_member_role("Jerry", "Owner").await.err(),
        Some(Error::Invalid("5130 OWNER_PROMOTION_NOT_ALLOWED".into()))
    );

    // Shut-up: Mary may not speak until unmuted.
    let muted = conv.mute_members(["Mary"]).await.expect("muted");
    assert_eq!(muted.succeeded, ["Mary"]);
    next_matching(&mut m, "Muted", |e| matches!(e, Event::Muted { .. })).await;
    next_matching(&mut j, "MembersMuted", |e| {
        matches!(e, Event::MembersMuted { .. })
    })
    .await;
    let refused = mary_side.send(TextMessage::new("mmph")).await.expect_err("muted");
    assert_eq!(refused.code(), Some(4308), "{refused:?}");
    conv.unmute_members(["Mary"]).await.expect("unmuted");
    next_matching(&mut m, "Unmuted", |e| matches!(e, Event::Unmuted { .. })).await;
    mary_side
        .send(TextMessage::new("free again"))
        .await
        .expect("sent");

    // Block: Mary is removed and cannot rejoin until unblocked.
    conv.block_members(["Mary"]).await.expect("blocked");
    next_matching(&mut m, "Blocked or Kicked", |e| {
        matches!(e, Event::Blocked { .. } | Event::Kicked { .. })
    })
    .await;
    let rejoin = mary_side.join().await.expect_err("blocked");
    assert_eq!(rejoin.code(), Some(4315), "{rejoin:?}");
    conv.unblock_members(["Mary"]).await.expect("unblocked");
    mary_side.join().await.expect("joined again");
    assert!(
        mary_side.members().contains(&"Mary".to_owned()),
        "{:?}",
        mary_side.members()
    );

    // Notification mute is per client and always allowed for a member.
    conv.mute().await.expect("muted notifications");
    conv.unmute().await.expect("unmuted notifications");
    server.shutdown().await;
}

#[tokio::test]
async fn an_event_stream_alone_keeps_the_connection() {
    let server = server().await;
    let jerry_realtime = realtime(&server);
    let jerry = guard("Jerry", jerry_realtime.create_im_client("Jerry"))
        .await
        .expect("signs in");
    let mut j = jerry.events();
    drop((jerry, jerry_realtime));
    let tom = guard("Tom", realtime(&server).create_im_client("Tom"))
        .await
        .expect("signs in");
    let conv = conversation_of(&tom, &["Jerry"]).await;
    conv.send(TextMessage::new("still listening?"))
        .await
        .expect("sent");
    assert_eq!(next_text(&mut j).await, "still listening?");
    server.shutdown().await;
}

#[tokio::test]
async fn connects_to_websocket_urls_directly() {
    let server = server().await;
    let direct = Realtime::new(RealtimeOptions::new("chinwag-local", "k").rtm_servers([server.ws_url()]));
    let routed = realtime(&server);
    let tom = guard("sign-in", direct.create_im_client("Tom"))
        .await
        .expect("signs in");
    let jerry = guard("sign-in", routed.create_im_client("Jerry"))
        .await
        .expect("signs in");
    let mut j = jerry.events();
    let conv = conversation_of(&tom, &["Jerry"]).await;
    conv.send(TextMessage::new("over two connections"))
        .await
        .expect("sent");
    assert_eq!(next_text(&mut j).await, "over two connections");
    server.shutdown().await;
}

#[tokio::test]
async fn offline_queues_sends_and_online_reconnects() {
    let server = server().await;
    let realtime = realtime(&server);
    let jerry_realtime = common::realtime(&server);
    let tom = guard("Tom", realtime.create_im_client("Tom"))
        .await
        .expect("signs in");
    let jerry = guard("Jerry", jerry_realtime.create_im_client("Jerry"))
        .await
        .expect("signs in");
    let conv = conversation_of(&tom, &["Jerry"]).await;
    let (mut t, mut j) = (tom.events(), jerry.events());
    let mut connection = realtime.events();

    realtime.set_online(false);
    next_matching(&mut t, "Disconnected", |e| {
        matches!(
            e,
            Event::Disconnected {
                reason: chinwag::DisconnectReason::Offline
            }
        )
    })
    .await;
    next_matching(&mut connection, "Offline", |e| matches!(e, Event::Offline)).await;
    // Sent while offline: queued, acknowledged after the reconnect. Poll the send once so that its
    // command reaches the driver before the network comes back.
    let mut pending = Box::pin(conv.send(TextMessage::new("sent while offline")));
    tokio::select! {
        biased;
        outcome = &mut pending => panic!("a send while offline cannot complete yet: {outcome:?}"),
        () = std::future::ready(()) => {}
    }
    realtime.set_online(true);
    next_matching(&mut t, "Reconnected", |e| matches!(e, Event::Reconnected)).await;
    let sent = guard("queued send", pending).await.expect("sent");
    let message = next_message(&mut j, "queued message").await;
    assert_eq!(message.id, sent.id);
    assert_eq!(message.content.text(), Some("sent while offline"));
    server.shutdown().await;
}

#[tokio::test]
async fn unreachable_server_reports_reconnecting() {
    // Nothing listens on this port (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let realtime = Realtime::new(
        RealtimeOptions::new("chinwag-local", "k").rtm_servers([format!("ws://127.0.0.1:{port}/")]),
    );
    let mut connection = realtime.events();
    let sign_in = tokio::spawn({
        let realtime = realtime.clone();
        async move { realtime.create_im_client("Tom").await }
    });
    // The first retry is immediate, the next ones back off.
    let first = next_matching(&mut connection, "Reconnecting", |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    let second = next_matching(&mut connection, "Reconnecting", |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    let (Event::Reconnecting { attempt: a1, .. }, Event::Reconnecting { attempt: a2, delay }) =
        (first, second)
    else {
        unreachable!()
    };
    assert!(a2 > a1, "attempts count up: {a1} then {a2}");
    assert!(delay > std::time::Duration::ZERO);
    // Sign-in is still waiting for a connection.
    assert!(!sign_in.is_finished());
    sign_in.abort();
}

#[tokio::test]
async fn a_sign_in_to_an_unreachable_server_fails_at_the_sign_in_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let timeout = std::time::Duration::from_millis(1500);
    let realtime = Realtime::new(
        RealtimeOptions::new("chinwag-local", "k")
            .rtm_servers([format!("ws://127.0.0.1:{port}/")])
            .sign_in_timeout(timeout),
    );
    let mut connection = realtime.events();
    let started = std::time::Instant::now();
    let outcome = guard("the sign-in to fail", realtime.create_im_client("Tom")).await;
    assert_eq!(outcome.err(), Some(Error::Timeout));
    assert!(
        started.elapsed() >= timeout,
        "not before the deadline: {:?}",
        started.elapsed()
    );
    // It retried meanwhile, and stops with the failed sign-in.
    let mut attempts = 0;
    while let Some(event) = connection.try_recv() {
        attempts += usize::from(matches!(event, Event::Reconnecting { .. }));
    }
    assert!(attempts >= 2, "retried {attempts} times");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(
        std::iter::from_fn(|| connection.try_recv()).all(|e| !matches!(e, Event::Reconnecting { .. })),
        "no retries for a client that gave up"
    );
}

#[tokio::test]
async fn failed_route_lookups_are_retried_with_backoff() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let realtime =
        Realtime::new(RealtimeOptions::new("chinwag-local", "k").server(format!("http://127.0.0.1:{port}")));
    let mut connection = realtime.events();
    let sign_in = tokio::spawn({
        let realtime = realtime.clone();
        async move { realtime.create_im_client("Tom").await }
    });
    for _ in 0..2 {
        next_matching(&mut connection, "Reconnecting after a failed route lookup", |e| {
            matches!(e, Event::Reconnecting { .. })
        })
        .await;
    }
    assert!(!sign_in.is_finished());
    sign_in.abort();
}

#[test]
fn a_runtime_owned_elsewhere_drives_handles_used_from_another() {
    // As a uniffi binding does: the SDK's runtime is its own; the caller blocks on another.
    let owned = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = owned.block_on(server());
    let options = RealtimeOptions::new("chinwag-local", "k").server(server.http_url());
    let realtime = Realtime::with_runtime(options, owned.handle());
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    caller.block_on(async {
        let tom = guard("Tom", realtime.create_im_client("Tom"))
            .await
            .expect("signs in");
        let conv = conversation_of(&tom, &["Jerry"]).await;
        let sent = conv
            .send(TextMessage::new("across runtimes"))
            .await
            .expect("sent");
        assert!(sent.id.is_some());
    });
    owned.block_on(server.shutdown());
}

#[tokio::test]
#[allow(clippy::result_large_err)] // tungstenite's handshake callback signature
async fn a_silent_server_times_the_sign_in_out_and_reconnects() {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    // A WebSocket server that accepts (echoing the subprotocol) and then never answers. Only the
    // driver's timer, re-armed from poll_timeout, can notice that the sign-in never completes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("address"));
    let (accepted_tx, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let accepted_tx = accepted_tx.clone();
            tokio::spawn(async move {
                let echo = |_: &Request, mut response: Response| {
                    response.headers_mut().insert(
                        "Sec-WebSocket-Protocol",
                        "lc.protobuf2.3".parse().expect("header"),
                    );
                    Ok(response)
                };
                if let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, echo).await {
                    let _ = accepted_tx.send(());
                    while ws.next().await.is_some() {}
                }
            });
        }
    });
    let realtime = Realtime::new(
        RealtimeOptions::new("chinwag-local", "k")
            .rtm_servers([url])
            .request_timeout(std::time::Duration::from_millis(300)),
    );
    let mut connection = realtime.events();
    let sign_in = tokio::spawn({
        let realtime = realtime.clone();
        async move { realtime.create_im_client("Tom").await }
    });
    guard("the first connection", accepted.recv())
        .await
        .expect("accepted");
    let dropped = next_matching(&mut connection, "Disconnected", |e| {
        matches!(e, Event::Disconnected { .. })
    })
    .await;
    assert_eq!(
        dropped,
        Event::Disconnected {
            reason: chinwag::DisconnectReason::LoginTimeout
        }
    );
    // ... and it tries again on a new connection.
    next_matching(&mut connection, "Reconnecting", |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    guard("a second connection", accepted.recv())
        .await
        .expect("accepted");
    assert!(!sign_in.is_finished());
    sign_in.abort();
}

#[tokio::test]
async fn chat_rooms_and_temporary_conversations() {
    let server = server().await;
    let realtime = realtime(&server);
    let clients = sign_in(&realtime, &["Tom", "Jerry"]).await;
    let (tom, jerry) = (&clients[0], &clients[1]);
    let mut everything = jerry.events(); // the first call: everything since sign-in

    let room = tom
        .create_conversation()
        .name("lobby")
        .chat_room()
        .await
        .expect("created");
    assert_eq!(room.info().kind, chinwag::ConversationKind::ChatRoom);
    let jerry_room = jerry.conversation(room.id());
    jerry_room.join().await.expect("joined");
    let mut j = jerry_room.events();
    room.send(TextMessage::new("welcome to the lobby"))
        .await
        .expect("sent");
    assert_eq!(next_text(&mut j).await, "welcome to the lobby");

    let temporary = tom
        .create_conversation()
        .members(["Jerry"])
        .temporary(3600)
        .await
        .expect("created");
    assert!(temporary.id().starts_with("_tmp:"), "{}", temporary.id());
    temporary
        .send(TextMessage::new("this will vanish"))
        .await
        .expect("sent");
    let Event::Message { message } = next_matching(
        &mut everything,
        "the temporary message",
        |e| matches!(e, Event::Message { message } if message.conversation == temporary.id()),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(message.content.text(), Some("this will vanish"));
    let fetched = jerry
        .get_conversation(temporary.id())
        .await
        .expect("queried by id");
    assert_eq!(fetched.info().kind, chinwag::ConversationKind::Temporary);
    server.shutdown().await;
}

#[tokio::test]
async fn a_second_device_with_the_same_tag_closes_the_first() {
    let server = server().await;
    let phone = chinwag::ClientOptions {
        tag: Some("mobile".into()),
        ..chinwag::ClientOptions::default()
    };
    let first = guard(
        "first device",
        realtime(&server).create_im_client_with("Tom", phone.clone()),
    )
    .await
    .expect("signs in");
    let mut events = first.events();
    let second = guard(
        "second device",
        realtime(&server).create_im_client_with("Tom", phone),
    )
    .await
    .expect("signs in");
    let conflict = next_matching(&mut events, "Conflict", |e| matches!(e, Event::Conflict { .. })).await;
    assert!(matches!(conflict, Event::Conflict { .. }));
    // The second device works; the first is signed out.
    second
        .create_conversation()
        .members(["Jerry"])
        .await
        .expect("second device works");
    let refused = first.create_conversation().members(["Jerry"]).await;
    assert!(refused.is_err(), "{refused:?}");
    server.shutdown().await;
}

#[tokio::test]
#[allow(clippy::result_large_err)] // tungstenite's handshake callback signature
async fn dropping_the_last_handle_signs_the_client_out() {
    use chinwag_protocol::{CommandType, GenericCommand, OpType, SessionCommand};
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    // A WebSocket server that accepts every sign-in and reports each command it receives.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("address"));
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<Option<GenericCommand>>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let echo = |_: &Request, mut response: Response| {
            response.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                "lc.protobuf2.3".parse().expect("header"),
            );
            Ok(response)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, echo)
            .await
            .expect("handshake");
        while let Some(Ok(message)) = ws.next().await {
            let WsMessage::Binary(bytes) = message else {
                continue;
            };
            let command = chinwag_protocol::frame::decode_binary(&bytes).expect("a command");
            if command.op_type() == Some(OpType::Open) {
                let reply = GenericCommand::reply_to(&command, CommandType::Session)
                    .with_op(OpType::Opened)
                    .with(SessionCommand::default());
                let frame = chinwag_protocol::FrameFormat::Binary.encode(&reply);
                let chinwag_protocol::Frame::Binary(bytes) = frame else {
                    unreachable!()
                };
                ws.send(WsMessage::Binary(bytes.into())).await.expect("reply");
            }
            let _ = seen_tx.send(Some(command));
        }
        let _ = seen_tx.send(None); // the socket closed
    });
    let realtime = Realtime::new(RealtimeOptions::new("chinwag-local", "k").rtm_servers([url]));
    let tom = guard("Tom", realtime.create_im_client("Tom"))
        .await
        .expect("signs in");
    drop((tom, realtime));
    let mut closed_session = false;
    while let Some(command) = guard("the server to see the socket close", seen.recv())
        .await
        .flatten()
    {
        closed_session |= command.command_type() == Some(CommandType::Session)
            && command.op_type() == Some(OpType::Close)
            && command.peer_id.as_deref() == Some("Tom");
    }
    assert!(closed_session, "session/close arrived before the socket closed");
}

#[tokio::test]
async fn an_unread_stream_keeps_the_newest_events_and_reports_the_gap() {
    let server = server().await;
    let tom = guard("Tom", realtime(&server).create_im_client("Tom"))
        .await
        .expect("signs in");
    let jerry_realtime = Realtime::new(
        RealtimeOptions::new("chinwag-local", "k")
            .server(server.http_url())
            .event_buffer(3),
    );
    let jerry = guard("Jerry", jerry_realtime.create_im_client("Jerry"))
        .await
        .expect("signs in");
    let mut unread = jerry.events();
    let conv = conversation_of(&tom, &["Jerry"]).await;
    let mut last = None;
    for i in 0..10 {
        let sent = conv.send(TextMessage::new(format!("#{i}"))).await.expect("sent");
        last = sent.id;
    }
    // Wait until Jerry's side has the tenth message (the cache is refreshed as each event is
    // handed to the streams), without reading the stream.
    let jerry_conv = jerry.conversation(conv.id());
    guard("the tenth message at Jerry's", async {
        while jerry_conv.last_message().and_then(|m| m.id) != last {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut got = Vec::new();
    while let Some(event) = unread.try_recv() {
        got.push(match event {
            Event::Message { message } => message.content.text().unwrap_or_default().to_owned(),
            Event::Lagged { missed } => format!("lagged {missed}"),
            other => format!("{other:?}"),
        });
    }
    // The gap first (at least the first seven messages), then the three newest events, which
    // include the last message.
    assert_eq!(got.len(), 4, "{got:?}");
    let missed: u64 = got[0]
        .strip_prefix("lagged ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Lagged first: {got:?}"));
    assert!(missed >= 7, "{got:?}");
    assert!(got[1..].iter().any(|e| e == "#9"), "{got:?}");
    assert!(!got[1..].iter().any(|e| e == "#0"), "{got:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_token_is_refreshed() {
    let mut config = chinwag_server::ServerConfig::local("127.0.0.1:0".parse().expect("address"));
    config.session_ttl_secs = 1;
    let server = chinwag_server::Server::bind(config).await.expect("server starts");
    let realtime = realtime(&server);
    let tom = guard("sign-in", realtime.create_im_client("Tom"))
        .await
        .expect("signs in");
    let first = tom.session_token().await.expect("read").expect("issued");
    assert!(!tom.session_token_expired().await.expect("read"));
    // The token's lifetime is the server's `stTtl`, one second here.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(tom.session_token_expired().await.expect("read"));
    let fresh = guard("refresh", tom.refresh_session_token(None))
        .await
        .expect("refreshed");
    assert_ne!(fresh, first);
    assert_eq!(
        tom.session_token().await.expect("read").as_deref(),
        Some(fresh.as_str())
    );
    assert!(!tom.session_token_expired().await.expect("read"));
    server.shutdown().await;
}
