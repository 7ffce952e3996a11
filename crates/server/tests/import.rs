//! `chinwag-server import` end to end: one server holds an app's data (made over RTM and the REST
//! API, as LeanCloud would hold it), the importer reads it over the IM REST API 1.2 into a fresh
//! data dir, and a second server started on that dir serves the same conversations, history and
//! subscribers, with nothing unread, and carries on. And an app's export files (LeanCloud's data
//! export and history saved from its REST API), imported with `import --from-files`, are served.

#[path = "common/client.rs"]
mod client;
#[path = "common/http.rs"]
mod http;

use chinwag_protocol::{CommandType, DirectCommand, GenericCommand};
use chinwag_server::import::{Report, Source, import, import_files};
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

/// Tom and Jerry's distinct conversation is found again by its members: it is `tea`.
async fn distinct_found_again(server: &RunningServer, tea: &str) {
    let again = http::conversation(
        server.local_addr(),
        json!({"c": "Jerry", "m": ["Jerry", "Tom"], "unique": true}),
    )
    .await;
    assert_eq!(again, tea);
}

/// None of `clients` has anything unread.
async fn nothing_unread(server: &RunningServer, clients: &[&str]) {
    for client in clients {
        let path = format!("/1.2/rtm/clients/{client}/unread-count");
        let unread = master(server, "GET", &path, None).await;
        assert_eq!(unread.json, json!({"count": 0}), "{client}");
    }
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
            files: 0,
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
    distinct_found_again(&to, &tea).await;
    nothing_unread(&to, &["Tom", "Jerry", "Mary"]).await;
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
    nothing_unread(&to, &["Tom", "Jerry"]).await;
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

/// LeanCloud's data export, as its docs and the SDKs describe the rows (`shared/protocol/REST.md`
/// §1): JSON Lines per class with the `#filetype` header, in a `.tar.gz`.
const EXPORT: &[(&str, &str)] = &[
    (
        "lc-export/_Conversation.0.jsonl",
        r##"#filetype:JSON-streaming {"type":"Class","class":"_Conversation"}
{"objectId":"5a5d7433c3422b31ed845e76","c":"Tom","m":["Tom","Jerry"],"mu":[],"name":"Tea","attr":{"topic":"cats"},"unique":true,"uniqueId":"6c7b0e5afcae9aa1139a0afa25833dec","tr":false,"createdAt":"2020-05-26T06:42:31.482Z","updatedAt":"2020-05-27T06:42:31.482Z","lm":{"__type":"Date","iso":"2020-05-28T00:00:00.000Z"},"ACL":{"*":{"read":true,"write":true}}}
{"objectId":"5a5d7433c3422b31ed845e77","c":"Mary","m":["Mary","Tom","Jerry"],"mu":["Jerry"],"name":"Group","createdAt":"2020-05-26T06:43:00.000Z","updatedAt":"2020-05-26T06:43:00.000Z"}
{"objectId":"5a5d7433c3422b31ed845e78","c":"Mary","m":[],"name":"Lobby","tr":true,"createdAt":"2020-05-26T06:44:00.000Z","updatedAt":"2020-05-26T06:44:00.000Z","lm":{"__type":"Date","iso":"2020-05-29T00:00:00.000Z"}}
{"objectId":"5a5d7433c3422b31ed845e79","name":"News","sys":true,"createdAt":"2020-05-26T06:45:00.000Z","updatedAt":"2020-05-26T06:45:00.000Z"}
"##,
    ),
    (
        "lc-export/_ConversationMemberInfo.0.jsonl",
        r##"#filetype:JSON-streaming {"type":"Class","class":"_ConversationMemberInfo"}
{"objectId":"i1","cid":"5a5d7433c3422b31ed845e76","clientId":"Jerry","role":"Manager","createdAt":"2020-05-27T00:00:00.000Z"}
{"objectId":"i2","cid":"5a5d7433c3422b31ed845e77","clientId":"Tom","role":"Member","createdAt":"2020-05-27T00:00:00.000Z"}
"##,
    ),
    (
        "lc-export/_SysMessage.0.jsonl",
        r##"#filetype:JSON-streaming {"type":"Class","class":"_SysMessage"}
{"objectId":"s1","msgId":"nYH9iBSBS_uogCEgvZwE7Q","conv":{"__type":"Pointer","className":"_Conversation","objectId":"5a5d7433c3422b31ed845e79"},"from":"Tom","fromIp":"121.238.214.92","bin":false,"data":"Stop, please.","timestamp":1590800000000,"ackAt":1590800000100}
"##,
    ),
    (
        "lc-export/_User.0.jsonl",
        r##"#filetype:JSON-streaming {"type":"Class","class":"_User"}
{"objectId":"u1","username":"tom","createdAt":"2020-05-26T06:42:31.482Z"}
"##,
    ),
    ("lc-export/README.txt", "not JSON: skipped"),
];

/// History saved from `GET /1.2/rtm/messages`, one page per file: a JSON page, then a gzipped
/// JSON Lines file that repeats the page's last row.
const HISTORY_PAGE: &str = r##"[
 {"msg-id":"4XC_IHK+Ry6CXzIPq_nc7Q","timestamp":1590600000000,"conv-id":"219946ef32e40c515d33ae6975a5c593","to":"5a5d7433c3422b31ed845e76","from":"Tom","data":"Hi, Jerry.","bin":false,"is-conv":true,"is-room":false,"from-ip":"202.117.15.217"},
 {"msg-id":"vdkGm4dtRNmhQ5gqUTFBiA","timestamp":1590600001000,"conv-id":"5a5d7433c3422b31ed845e76","to":"5a5d7433c3422b31ed845e76","from":"Jerry","data":"{\"_lctype\":-1,\"_lctext\":\"Hi, Tom.\"}","bin":false,"mention-pids":["Tom"]},
 {"msg-id":"tmp1","timestamp":1590600002000,"conv-id":"_tmp:abc","to":"_tmp:abc","from":"Tom","data":"gone","bin":false},
 {"timestamp":1590600003000,"to":"5a5d7433c3422b31ed845e76","data":"no id"},
 {"msg-id":"bin1","timestamp":1590600004000,"to":"5a5d7433c3422b31ed845e76","from":"Tom","data":"AAEC","bin":true}
]"##;
const HISTORY_LINES: &str = r##"{"msg-id":"bin1","timestamp":1590600004000,"to":"5a5d7433c3422b31ed845e76","from":"Tom","data":"AAEC","bin":true}
{"msg-id":"grp1","timestamp":1590600005000,"to":"5a5d7433c3422b31ed845e77","from":"Mary","data":"Welcome","bin":false}
{"msg-id":"room1","timestamp":1590600006000,"to":"5a5d7433c3422b31ed845e78","from":"Mary","data":"Anyone here?","bin":false}
"##;

fn gzip(content: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(content).expect("gzip");
    gz.finish().expect("gzip")
}

/// Writes the export archive and the history folder into `dir`; returns their paths.
fn write_export(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let archive = dir.join("export.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).expect("archive"),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for (path, content) in EXPORT {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, content.as_bytes())
            .expect("archived");
    }
    tar.into_inner().expect("tar").finish().expect("gzip");
    let history = dir.join("history");
    std::fs::create_dir(&history).expect("history dir");
    std::fs::write(history.join("messages-0001.json"), HISTORY_PAGE).expect("page");
    std::fs::write(
        history.join("messages-0002.jsonl.gz"),
        gzip(HISTORY_LINES.as_bytes()),
    )
    .expect("page");
    vec![archive, history]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imported_from_files_is_served() {
    let files = tempfile::tempdir().expect("tempdir");
    let paths = write_export(files.path());
    let dir = tempfile::tempdir().expect("tempdir");
    let report = import_files(&paths, dir.path(), SyncMode::Normal).expect("imported");
    assert_eq!(
        report,
        Report {
            conversations: 4,
            members: 2 + 3,
            messages: 6,
            messages_already_there: 1,
            messages_without_conversation: 1,
            messages_unreadable: 1,
            managers: 1,
            files: 5,
        },
        "the repeated row once; the temporary conversation's and the row without id left out"
    );
    // Run again with the binary: nothing written twice, and the same is served.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chinwag-server"));
    command
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--sync", "normal", "import", "--from-files"]);
    let again = command.args(&paths).output().expect("runs");
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{log}");
    assert!(
        log.contains("import done") && log.contains("messages_already_there=7"),
        "{log}"
    );
    // Later, more history saved, alone: a file of two gzip members (`gzip >>` once per page), a
    // new message and one already there. Its conversations are found in the data dir.
    let mut later = gzip(br#"{"msg-id":"grp2","timestamp":1590600007000,"to":"5a5d7433c3422b31ed845e77","from":"Tom","data":"Thanks"}"#);
    later.extend(gzip(HISTORY_LINES.lines().last().expect("a row").as_bytes()));
    std::fs::write(paths[1].join("messages-0003.jsonl.gz"), later).expect("page");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chinwag-server"));
    command.arg("--data-dir").arg(dir.path());
    let command = command
        .args(["--sync", "normal", "import", "--from-files"])
        .arg(&paths[1]);
    let history_alone = command.output().expect("runs");
    let log = String::from_utf8_lossy(&history_alone.stderr);
    assert!(history_alone.status.success(), "{log}");
    assert!(
        log.contains(" conversations=0 ")
            && log.contains(" messages=1 ")
            && log.contains("messages_already_there=7"),
        "{log}"
    );

    let to = start(Some(dir.path())).await;
    let tea = "5a5d7433c3422b31ed845e76";
    let listed = conversations(&to).await;
    let ids: Vec<&str> = listed.iter().filter_map(|c| c["objectId"].as_str()).collect();
    assert_eq!(
        ids,
        [
            tea,
            "5a5d7433c3422b31ed845e77",
            "5a5d7433c3422b31ed845e78",
            "5a5d7433c3422b31ed845e79"
        ]
    );
    assert_eq!(
        (
            &listed[0]["c"],
            &listed[0]["name"],
            &listed[0]["createdAt"],
            &listed[0]["unique"]
        ),
        (
            &json!("Tom"),
            &json!("Tea"),
            &json!("2020-05-26T06:42:31.482Z"),
            &json!(true)
        )
    );
    // `lm`: the export's when later than the last message that came, else that message's.
    let lm = |iso: &str| json!({"__type": "Date", "iso": iso});
    let shown: Vec<&Value> = listed.iter().map(|c| &c["lm"]).collect();
    assert_eq!(
        shown,
        [
            &lm("2020-05-28T00:00:00.000Z"),
            &lm("2020-05-27T17:20:07.000Z"),
            &lm("2020-05-29T00:00:00.000Z"),
            &lm("2020-05-30T00:53:20.000Z"),
        ]
    );
    let (tr, sys) = (&listed[2]["tr"], &listed[3]["sys"]);
    assert_eq!(
        (tr, sys),
        (&json!(true), &json!(true)),
        "a chat room and a service"
    );
    let all = master(&to, "GET", "/1.2/rtm/all-conversations?limit=10", None).await;
    let found = all.json["results"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["objectId"] == tea))
        .cloned()
        .expect("listed");
    assert_eq!(
        found["attr"],
        json!({"topic": "cats"}),
        "custom attributes: {found}"
    );
    assert_eq!(
        found.get("ACL"),
        None,
        "LeanCloud's own fields are not attributes"
    );

    let history = history(&to).await;
    let rows: Vec<(&str, &str, i64)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|m| {
            let text = m["data"].as_str().unwrap_or_default();
            (
                m["msg-id"].as_str().unwrap_or_default(),
                text,
                m["timestamp"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("4XC_IHK+Ry6CXzIPq_nc7Q", "Hi, Jerry.", 1_590_600_000_000),
            (
                "vdkGm4dtRNmhQ5gqUTFBiA",
                r#"{"_lctype":-1,"_lctext":"Hi, Tom."}"#,
                1_590_600_001_000
            ),
            ("bin1", "AAEC", 1_590_600_004_000),
            ("grp1", "Welcome", 1_590_600_005_000),
            ("room1", "Anyone here?", 1_590_600_006_000),
            ("grp2", "Thanks", 1_590_600_007_000),
            ("nYH9iBSBS_uogCEgvZwE7Q", "Stop, please.", 1_590_800_000_000),
        ],
        "ids, times and content, in order, each once"
    );
    assert_eq!(
        (&history[1]["mention-pids"], &history[2]["bin"]),
        (&json!(["Tom"]), &json!(true))
    );
    assert_eq!(history[0]["to"], json!(tea), "under the conversation `to` names");
    // Tom's message to the service is his own, for the service only, not for every subscriber.
    let news = "5a5d7433c3422b31ed845e79";
    for (client, seen) in [("Tom", 1), ("Jerry", 0)] {
        let path = format!("/1.2/rtm/service-conversations/{news}/subscribers/{client}/messages");
        let listed = master(&to, "GET", &path, None).await.json;
        assert_eq!(listed.as_array().map(Vec::len), Some(seen), "{client}: {listed}");
    }

    let infos = master(
        &to,
        "GET",
        &format!("/1.2/rtm/conversations/{tea}/member-infos"),
        None,
    )
    .await;
    let managers: Vec<&Value> = infos.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|info| info["role"] == "Manager")
        .collect();
    assert_eq!(managers.len(), 1, "{}", infos.json);
    assert_eq!(managers[0]["clientId"], "Jerry");
    // The distinct conversation is found again; nothing imported is unread.
    distinct_found_again(&to, tea).await;
    nothing_unread(&to, &["Tom", "Jerry", "Mary"]).await;
    to.shutdown().await;
}
