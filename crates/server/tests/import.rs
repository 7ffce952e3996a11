//! `chinwag-server import` end to end: one server holds an app's data (made over RTM and the REST
//! API, as LeanCloud would hold it), the importer reads it over the IM REST API 1.2 into a fresh
//! data dir, and a second server started on that dir serves the same conversations, history and
//! subscribers, with nothing unread, and carries on.

#[path = "common/client.rs"]
mod client;
#[path = "common/http.rs"]
mod http;

use chinwag_protocol::{CommandType, DirectCommand, GenericCommand};
use chinwag_server::import::{Report, Source, import};
use chinwag_server::{RunningServer, Server, ServerConfig, SyncMode};
use client::Client;
use http::MASTER_KEY;
use serde_json::{Value, json};

/// A server with the master key (signatures not required), on `data_dir` when given.
async fn start(data_dir: Option<&std::path::Path>) -> RunningServer {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = Some(MASTER_KEY.into());
    config.data_dir = data_dir.map(std::path::Path::to_owned);
    Server::bind(config).await.expect("server starts")
}

async fn master(server: &RunningServer, method: &str, path: &str, body: Option<Value>) -> http::Response {
    let answer = http::master(server.local_addr(), method, path, body.as_ref()).await;
    assert_eq!(answer.status, 200, "{method} {path}: {answer:?}");
    answer
}

/// Creates a chat room or service conversation (`kind`: `chatrooms`, `service-conversations`)
/// named `name`; returns its id.
async fn server_side(server: &RunningServer, kind: &str, name: &str) -> String {
    let path = format!("/1.2/rtm/{kind}");
    master(server, "POST", &path, Some(json!({"name": name})))
        .await
        .object_id()
}

/// Every conversation, each reduced to what must come over, by id.
async fn conversations(server: &RunningServer) -> Vec<Value> {
    let listed = master(server, "GET", "/1.2/rtm/all-conversations?limit=1000", None).await;
    let mut found: Vec<Value> = listed.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| {
            json!({
                "objectId": c["objectId"], "c": c["c"], "m": c["m"], "mu": c["mu"], "name": c["name"],
                "topic": c["topic"], "tr": c["tr"], "sys": c["sys"], "unique": c["unique"],
                "createdAt": c["createdAt"], "lm": c["lm"], "msg_mid": c["msg_mid"],
            })
        })
        .collect();
    found.sort_by_key(|c| c["objectId"].as_str().unwrap_or_default().to_owned());
    found
}

/// The whole app's history, oldest first.
async fn history(server: &RunningServer) -> Value {
    master(server, "GET", "/1.2/rtm/messages?reversed=true&limit=1000", None)
        .await
        .json
}

fn source(from: &RunningServer) -> Source {
    Source {
        base_url: from.http_url(),
        app_id: "chinwag-local".into(),
        master_key: MASTER_KEY.into(),
        // Small pages, so that paging is what is tested.
        page_size: 2,
        with_moderation: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_imported_over_rest_is_served_the_same_by_a_new_server() {
    let from = start(None).await;
    let mut tom = Client::login(&from.ws_url(), "Tom").await;
    let tea = http::conversation(
        from.local_addr(),
        json!({"name": "Tea", "c": "Tom", "m": ["Tom", "Jerry"], "unique": true, "topic": "cats"}),
    )
    .await;
    let group = http::conversation(
        from.local_addr(),
        json!({"name": "Group", "c": "Mary", "m": ["Mary", "Tom", "Jerry"]}),
    )
    .await;
    master(
        &from,
        "POST",
        &format!("/1.2/rtm/conversations/{group}/mutes"),
        Some(json!({"client_ids": ["Jerry"]})),
    )
    .await;
    let room = server_side(&from, "chatrooms", "Lobby").await;
    let news = server_side(&from, "service-conversations", "News").await;
    // More subscribers than one page of the list (50).
    let readers = (0..55).map(|n| format!("reader{n:02}"));
    for client in ["Tom".to_owned(), "Jerry".to_owned()].into_iter().chain(readers) {
        let path = format!("/1.2/rtm/service-conversations/{news}/subscribers");
        master(&from, "POST", &path, Some(json!({"client_id": client}))).await;
    }
    // Text, typed, binary and mentioning messages; one edited; a broadcast.
    for (cid, from_client, message) in [
        (&tea, "Tom", "Hi, Jerry."),
        (&tea, "Jerry", r#"{"_lctype":-1,"_lctext":"Hi, Tom."}"#),
        (&group, "Mary", "Welcome"),
        (&room, "Mary", "Anyone here?"),
    ] {
        let path = format!("/1.2/rtm/conversations/{cid}/messages");
        master(
            &from,
            "POST",
            &path,
            Some(json!({"from_client": from_client, "message": message})),
        )
        .await;
    }
    let binary = GenericCommand::new(CommandType::Direct).with(DirectCommand {
        cid: Some(tea.clone()),
        binary_msg: Some(vec![0, 1, 2]),
        mention_pids: vec!["Jerry".into()],
        ..Default::default()
    });
    let ack = tom.request(binary).await.ack_message.expect("ack");
    let edited = ack.uid.clone().expect("message id");
    let typo = GenericCommand::new(CommandType::Direct).with(DirectCommand {
        cid: Some(group.clone()),
        msg: Some("tpyo".into()),
        ..Default::default()
    });
    let typo = tom.request(typo).await.ack_message.expect("ack");
    let path = format!(
        "/1.2/rtm/conversations/{group}/messages/{}",
        typo.uid.clone().expect("id")
    );
    master(
        &from,
        "PUT",
        &path,
        Some(json!({"from_client": "Tom", "timestamp": typo.t, "message": "typo"})),
    )
    .await;
    let path = format!("/1.2/rtm/service-conversations/{news}/broadcasts");
    master(
        &from,
        "POST",
        &path,
        Some(json!({"from_client": "bot", "message": "Extra!"})),
    )
    .await;
    assert!(!edited.is_empty());
    // Moderation: a manager, a shut-up member, a blocked client, a room's shut-up and blacklist.
    let infos = format!("/1.2/rtm/conversations/{tea}/member-infos");
    master(
        &from,
        "POST",
        &infos,
        Some(json!({"clientId": "Jerry", "role": "Manager"})),
    )
    .await;
    for (list, cid, ids) in [
        ("permanent-silenceds", &group, json!(["Mary", "Jerry"])),
        ("blacklists", &group, json!(["Bob"])),
    ] {
        let path = format!("/1.2/rtm/conversations/{cid}/{list}");
        master(&from, "POST", &path, Some(json!({"client_ids": ids}))).await;
    }
    for list in ["permanent-silenceds", "blacklists"] {
        let path = format!("/1.2/rtm/chatrooms/{room}/{list}");
        master(&from, "POST", &path, Some(json!({"client_ids": ["Spammer"]}))).await;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let report = import(&source(&from), dir.path(), SyncMode::Normal)
        .await
        .expect("imported");
    assert_eq!(
        report,
        Report {
            conversations: 4,
            members: 2 + 3 + 57,
            messages: 6,
            messages_already_there: 0,
            messages_without_conversation: 0,
            messages_unreadable: 0,
            managers: 1,
        }
    );

    let to = start(Some(dir.path())).await;
    assert_eq!(conversations(&to).await, conversations(&from).await);
    let imported = history(&to).await;
    assert_eq!(
        imported,
        history(&from).await,
        "ids, times, content, edits and mentions"
    );
    assert_eq!(imported.as_array().map(Vec::len), Some(6));
    let subscribers = format!("/1.2/rtm/service-conversations/{news}/subscribers");
    assert_eq!(
        master(&to, "GET", &subscribers, None).await.json,
        master(&from, "GET", &subscribers, None).await.json,
        "subscribers with when they subscribed"
    );
    for path in [
        format!("/1.2/rtm/conversations/{tea}/member-infos"),
        format!("/1.2/rtm/conversations/{group}/permanent-silenceds"),
        format!("/1.2/rtm/conversations/{group}/blacklists"),
        format!("/1.2/rtm/chatrooms/{room}/permanent-silenceds"),
        format!("/1.2/rtm/chatrooms/{room}/blacklists"),
    ] {
        let imported = master(&to, "GET", &path, None).await.json;
        assert_eq!(imported, master(&from, "GET", &path, None).await.json, "{path}");
        assert_ne!(
            imported,
            json!({"client_ids": []}),
            "{path}: something to compare"
        );
    }
    // The distinct conversation is found again; nothing imported is unread.
    let again = http::conversation(
        to.local_addr(),
        json!({"c": "Jerry", "m": ["Jerry", "Tom"], "unique": true}),
    )
    .await;
    assert_eq!(again, tea);
    for client in ["Tom", "Jerry", "Mary"] {
        let unread = master(
            &to,
            "GET",
            &format!("/1.2/rtm/clients/{client}/unread-count"),
            None,
        )
        .await;
        assert_eq!(unread.json, json!({"count": 0}), "{client}");
    }
    // The new server carries on: Jerry signs in and gets Tom's next message.
    let mut jerry = Client::login(&to.ws_url(), "Jerry").await;
    let mut tom = Client::login(&to.ws_url(), "Tom").await;
    let next = GenericCommand::new(CommandType::Direct).with(DirectCommand {
        cid: Some(tea.clone()),
        msg: Some("Still here?".into()),
        ..Default::default()
    });
    assert!(tom.request(next).await.ack_message.and_then(|a| a.uid).is_some());
    let pushed = jerry.push_of(CommandType::Direct).await;
    assert_eq!(
        pushed.direct_message.and_then(|d| d.msg).as_deref(),
        Some("Still here?")
    );
    to.shutdown().await;

    // Meanwhile the source goes on: a message edited, one more sent.
    let first = history(&from).await[0].clone();
    let path = format!(
        "/1.2/rtm/conversations/{tea}/messages/{}",
        first["msg-id"].as_str().expect("id")
    );
    let edit = json!({"from_client": "Tom", "timestamp": first["timestamp"], "message": "Hi, Jerry!"});
    master(&from, "PUT", &path, Some(edit)).await;
    let path = format!("/1.2/rtm/conversations/{tea}/messages");
    master(
        &from,
        "POST",
        &path,
        Some(json!({"from_client": "Tom", "message": "One more"})),
    )
    .await;
    // ...Mary leaves the group, a reader unsubscribes.
    let group_members = format!("/1.2/rtm/conversations/{group}/members");
    master(
        &from,
        "DELETE",
        &group_members,
        Some(json!({"client_ids": ["Mary"]})),
    )
    .await;
    master(&from, "DELETE", &format!("{subscribers}/reader00"), None).await;

    // Run again (the new server stopped), this time without --with-moderation: what is there is
    // not written twice, the edit and the new message come over, the moderation lists stay, and
    // nothing is unread.
    let again = Source {
        with_moderation: false,
        ..source(&from)
    };
    let report = import(&again, dir.path(), SyncMode::Normal)
        .await
        .expect("imported again");
    assert_eq!((report.messages, report.messages_already_there), (1, 6));
    let to = start(Some(dir.path())).await;
    let texts: Vec<String> = history(&to)
        .await
        .as_array()
        .expect("history")
        .iter()
        .map(|m| m["data"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(texts.len(), 8, "{texts:?}");
    assert_eq!(texts[0], "Hi, Jerry!", "the later edit");
    assert!(texts.contains(&"Still here?".to_owned()) && texts.contains(&"One more".to_owned()));
    assert_eq!(
        master(&to, "GET", &group_members, None).await.json,
        json!({"result": ["Jerry", "Tom"]}),
        "who left the source has left here too"
    );
    assert_eq!(
        master(&to, "GET", &subscribers, None).await.json,
        master(&from, "GET", &subscribers, None).await.json
    );
    let blocked = format!("/1.2/rtm/conversations/{group}/blacklists");
    assert_eq!(
        master(&to, "GET", &blocked, None).await.json,
        json!({"client_ids": ["Bob"]})
    );
    for client in ["Tom", "Jerry"] {
        let unread = master(
            &to,
            "GET",
            &format!("/1.2/rtm/clients/{client}/unread-count"),
            None,
        )
        .await;
        assert_eq!(unread.json, json!({"count": 0}), "{client}");
    }
    to.shutdown().await;
    from.shutdown().await;
}

#[tokio::test]
async fn an_import_without_the_master_key_stops_with_the_sources_answer() {
    let from = start(None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = Source {
        master_key: "not-the-key".into(),
        ..source(&from)
    };
    let error = import(&wrong, dir.path(), SyncMode::Normal)
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("401"), "{error}");
    from.shutdown().await;
}
