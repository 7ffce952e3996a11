//! IM REST API 1.2 over 127.0.0.1, the endpoints beyond `http.rs`: deleting conversations and
//! messages, history across conversations, send options, global broadcasts, blacklists, member
//! infos, `unique` creation, `X-LC-Sign` and the REST rate limit.

#[path = "common/client.rs"]
mod client;
#[path = "common/http.rs"]
mod http;

use chinwag_protocol::{CommandType, DirectCommand, GenericCommand, OpType};
use chinwag_server::hub::ConvKind;
use chinwag_server::{Hub, HubConfig, RateLimit, RunningServer, Server, ServerConfig, SqliteStorage};
use client::Client;
use http::{APP, MASTER_KEY};
use md5::Digest as _;
use serde_json::{Value, json};

async fn start() -> RunningServer {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = Some(MASTER_KEY.into());
    config.require_signatures = true;
    Server::bind(config).await.expect("server starts")
}

/// `client` signed in (with a login signature, as the master key requires).
async fn login(server: &RunningServer, client: &str) -> Client {
    Client::signed_login(&server.ws_url(), client, MASTER_KEY).await
}

/// A master-key request.
async fn master(server: &RunningServer, method: &str, path: &str, body: Option<Value>) -> http::Response {
    http::master(server.local_addr(), method, path, body.as_ref()).await
}

/// `client` signed in and invited to a conversation that Tom creates over REST with `members`
/// (`client` among them); returns it, its invitation received, and the conversation id.
async fn invited_by_tom(server: &RunningServer, client: &str, members: Value) -> (Client, String) {
    let mut invited = login(server, client).await;
    let cid = http::conversation(server.local_addr(), json!({"c": "Tom", "m": members})).await;
    invited.push_of(CommandType::Conv).await;
    (invited, cid)
}

/// Creates a chat room or service conversation (`kind`: `chatrooms`, `service-conversations`)
/// named `name` over REST; returns its id.
async fn server_side(server: &RunningServer, kind: &str, name: &str) -> String {
    let created = master(
        server,
        "POST",
        &format!("/1.2/rtm/{kind}"),
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    created.object_id()
}

/// Sends `text` as `from` into `/1.2/rtm/{path}/messages`; returns `(msg-id, timestamp)`.
async fn send(server: &RunningServer, path: &str, body: Value) -> (String, i64) {
    let sent = master(server, "POST", &format!("/1.2/rtm/{path}/messages"), Some(body)).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let mid = sent.json["msg-id"].as_str().expect("msg-id").to_owned();
    (mid, sent.json["timestamp"].as_i64().expect("timestamp"))
}

/// The `data` of each item of a history answer.
fn data(response: &http::Response) -> Vec<String> {
    response
        .json
        .as_array()
        .unwrap_or_else(|| panic!("a history array: {response:?}"))
        .iter()
        .map(|item| item["data"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `(status, code)` of an error answer.
fn failure(response: &http::Response) -> (u16, Value) {
    (response.status, response.json["code"].clone())
}

/// A `direct` of `text` into `cid`.
fn direct(cid: &str, text: &str) -> GenericCommand {
    GenericCommand::new(CommandType::Direct).with(DirectCommand {
        cid: Some(cid.into()),
        msg: Some(text.into()),
        ..Default::default()
    })
}

#[tokio::test]
async fn rest_deletes_conversations_of_each_kind_and_they_are_gone() {
    let server = start().await;
    let mut tom = login(&server, "Tom").await;
    let cid = http::conversation(
        server.local_addr(),
        json!({"name": "Tea", "c": "Tom", "m": ["Jerry"], "unique": true}),
    )
    .await;
    send(
        &server,
        &format!("conversations/{cid}"),
        json!({"from_client": "Tom", "message": "hi"}),
    )
    .await;
    let path = format!("/1.2/rtm/conversations/{cid}");

    // The app key is not enough; the kind must match the path.
    let refused = http::app_key(server.local_addr(), "DELETE", &path, None).await;
    assert_eq!(refused.status, 401);
    let wrong_kind = master(&server, "DELETE", &format!("/1.2/rtm/chatrooms/{cid}"), None).await;
    assert_eq!(failure(&wrong_kind), (400, json!(4316)));

    let deleted = master(&server, "DELETE", &path, None).await;
    assert_eq!((deleted.status, deleted.json), (200, json!({})));

    // Queries, history and members no longer find it; sending into it fails with the official
    // codes (REST: 4303; RTM: 4401, as for any conversation that does not exist).
    let query = format!("/1.2/rtm/conversations?where=%7B%22objectId%22%3A%22{cid}%22%7D");
    let found = master(&server, "GET", &query, None).await;
    assert_eq!(found.json, json!({"results": []}));
    let history = master(&server, "GET", &format!("{path}/messages"), None).await;
    assert_eq!(failure(&history), (404, json!(4303)));
    let members = master(&server, "GET", &format!("{path}/members"), None).await;
    assert_eq!(failure(&members), (404, json!(4303)));
    let sent = master(
        &server,
        "POST",
        &format!("{path}/messages"),
        Some(json!({"from_client": "Tom", "message": "x"})),
    )
    .await;
    assert_eq!(failure(&sent), (404, json!(4303)));
    let ack = tom.request(direct(&cid, "x")).await;
    assert_eq!(ack.ack_message.and_then(|a| a.code), Some(4401));
    let app_history = master(&server, "GET", "/1.2/rtm/messages", None).await;
    assert!(data(&app_history).is_empty(), "its messages went with it");
    let again = master(&server, "DELETE", &path, None).await;
    assert_eq!(failure(&again), (404, json!(4303)));

    // A `unique` conversation of the same members is a new one now.
    let recreated = http::conversation(
        server.local_addr(),
        json!({"c": "Tom", "m": ["Jerry"], "unique": true}),
    )
    .await;
    assert_ne!(recreated, cid);

    // Chat rooms and service conversations, through their own paths.
    for kind in ["chatrooms", "service-conversations"] {
        let created = master(
            &server,
            "POST",
            &format!("/1.2/rtm/{kind}"),
            Some(json!({"name": "x"})),
        )
        .await;
        let id = created.object_id();
        let deleted = master(&server, "DELETE", &format!("/1.2/rtm/{kind}/{id}"), None).await;
        assert_eq!((deleted.status, deleted.json), (200, json!({})), "{kind}");
        let again = master(&server, "DELETE", &format!("/1.2/rtm/{kind}/{id}"), None).await;
        assert_eq!(failure(&again), (404, json!(4303)), "{kind}");
    }
    server.shutdown().await;
}

#[test]
fn a_deleted_conversation_stays_deleted_after_a_restart() {
    let now = 1_795_000_000_000;
    let mut hub = Hub::new(
        HubConfig::new("app", "secret"),
        SqliteStorage::in_memory().expect("db"),
    )
    .expect("hub");
    let (doc, _) = hub.create_conversation("Tom", &["Jerry".into()], serde_json::Map::new(), now);
    let cid = doc.expect("created")["objectId"].as_str().expect("id").to_owned();
    let (kept, _) = hub.create_conversation("Tom", &["Spike".into()], serde_json::Map::new(), now);
    let kept = kept.expect("created")["objectId"]
        .as_str()
        .expect("id")
        .to_owned();
    hub.send_as(&cid, "Tom", "hi", false, now + 1).0.expect("sent");
    hub.delete_conversation(&cid, ConvKind::Normal)
        .0
        .expect("deleted");

    let mut hub = Hub::new(HubConfig::new("app", "secret"), hub.into_storage()).expect("reopened");
    assert!(hub.members(&cid).is_err(), "not loaded again");
    assert_eq!(hub.members(&kept).expect("kept"), ["Spike", "Tom"]);
    let page = hub
        .history_page(&kept, &Default::default(), now + 2)
        .expect("history");
    assert!(page.is_empty());
}

#[tokio::test]
async fn rest_history_of_the_app_of_a_client_and_of_a_subscriber_pages_by_msgid() {
    let server = start().await;
    let first = http::conversation(server.local_addr(), json!({"c": "Tom", "m": ["Jerry"]})).await;
    let second = http::conversation(server.local_addr(), json!({"c": "Jerry", "m": ["Spike"]})).await;
    // (text, sender, msg-id, timestamp), oldest first: messages of different conversations may
    // share a millisecond, and then the message id orders them.
    let mut sent: Vec<(&str, &str, String, i64)> = Vec::new();
    for (cid, from, text) in [
        (&first, "Tom", "a"),
        (&second, "Jerry", "b"),
        (&first, "Jerry", "c"),
        (&second, "Spike", "d"),
        (&first, "Tom", "e"),
    ] {
        let (mid, ts) = send(
            &server,
            &format!("conversations/{cid}"),
            json!({"from_client": from, "message": text}),
        )
        .await;
        sent.push((text, from, mid, ts));
    }
    sent.sort_by(|x, y| (x.3, &x.2).cmp(&(y.3, &y.2)));
    let texts = |picked: &[usize]| -> Vec<String> { picked.iter().map(|&i| sent[i].0.to_owned()).collect() };

    // The whole app, newest first, paged with timestamp + msgid.
    let page = master(&server, "GET", "/1.2/rtm/messages?limit=2", None).await;
    assert_eq!(data(&page), texts(&[4, 3]));
    let last = &page.json[1];
    let next = format!(
        "/1.2/rtm/messages?limit=2&timestamp={}&msgid={}",
        last["timestamp"],
        last["msg-id"].as_str().expect("msg-id")
    );
    assert_eq!(data(&master(&server, "GET", &next, None).await), texts(&[2, 1]));
    let oldest = master(&server, "GET", "/1.2/rtm/messages?reversed=true", None).await;
    assert_eq!(data(&oldest), texts(&[0, 1, 2, 3, 4]));
    let (start, stop) = (&sent[3], &sent[1]);
    let between = format!(
        "/1.2/rtm/messages?timestamp={}&msgid={}&till_timestamp={}&till_msgid={}",
        start.3, start.2, stop.3, stop.2
    );
    assert_eq!(data(&master(&server, "GET", &between, None).await), texts(&[2]));
    let inclusive = format!("{between}&include_start=true&include_stop=true");
    assert_eq!(
        data(&master(&server, "GET", &inclusive, None).await),
        texts(&[3, 2, 1])
    );
    let item = &page.json[0];
    assert_eq!(item["from"], json!(sent[4].1));
    assert_eq!(item["msg-id"], json!(sent[4].2));
    assert_eq!(item["timestamp"], json!(sent[4].3));
    assert!(item["conv-id"] == json!(first) || item["conv-id"] == json!(second));

    // One client's messages.
    let tom = master(&server, "GET", "/1.2/rtm/clients/Tom/messages", None).await;
    assert_eq!(data(&tom), ["e", "a"]);
    let jerry = master(
        &server,
        "GET",
        "/1.2/rtm/clients/Jerry/messages?reversed=true",
        None,
    )
    .await;
    // Jerry sent `b` and `c` to different conversations: when they share a millisecond, the
    // message ids order them, as `sent` is ordered.
    let jerry_sent: Vec<&str> = sent.iter().filter(|m| m.1 == "Jerry").map(|m| m.0).collect();
    assert_eq!(data(&jerry), jerry_sent);
    let refused = http::app_key(server.local_addr(), "GET", "/1.2/rtm/messages", None).await;
    assert_eq!(refused.status, 401);

    // A subscriber sees broadcasts and what was sent to it, not what was sent to others.
    let service = server_side(&server, "service-conversations", "News").await;
    for client in ["Tom", "Jerry"] {
        let subscribed = master(
            &server,
            "POST",
            &format!("/1.2/rtm/service-conversations/{service}/subscribers"),
            Some(json!({"client_id": client})),
        )
        .await;
        assert_eq!(subscribed.status, 200);
    }
    let broadcast = master(
        &server,
        "POST",
        "/1.2/rtm/broadcasts",
        Some(json!({"from_client": "bot", "conv_id": service, "message": "to all", "valid_till": 0, "push": "x"})),
    )
    .await;
    assert_eq!(broadcast.status, 200, "{broadcast:?}");
    let broadcast_id = broadcast.json["msg-id"].as_str().expect("msg-id").to_owned();
    send(
        &server,
        &format!("service-conversations/{service}"),
        json!({"from_client": "bot", "message": "to Tom", "to_clients": ["Tom"]}),
    )
    .await;
    let of = |client: &str| format!("/1.2/rtm/service-conversations/{service}/subscribers/{client}/messages");
    assert_eq!(
        data(&master(&server, "GET", &of("Tom"), None).await),
        ["to Tom", "to all"]
    );
    assert_eq!(
        data(&master(&server, "GET", &of("Jerry"), None).await),
        ["to all"]
    );
    let not_service = master(
        &server,
        "GET",
        &format!("/1.2/rtm/service-conversations/{first}/subscribers/Tom/messages"),
        None,
    )
    .await;
    assert_eq!(failure(&not_service), (400, json!(4313)));

    // The broadcasts of a service conversation, and deleting one.
    let listed = master(
        &server,
        "GET",
        &format!("/1.2/rtm/broadcasts?conv_id={service}"),
        None,
    )
    .await;
    assert_eq!(data(&listed), ["to all"]);
    let no_conv = master(&server, "GET", "/1.2/rtm/broadcasts", None).await;
    assert_eq!(failure(&no_conv), (400, json!(107)));
    let normal_message = master(
        &server,
        "DELETE",
        &format!("/1.2/rtm/broadcasts/{}", sent[0].2),
        None,
    )
    .await;
    assert_eq!(
        failure(&normal_message),
        (400, json!(4313)),
        "only broadcasts go this way"
    );
    let deleted = master(
        &server,
        "DELETE",
        &format!("/1.2/rtm/broadcasts/{broadcast_id}"),
        None,
    )
    .await;
    assert_eq!((deleted.status, deleted.json), (200, json!({})));
    assert_eq!(
        data(&master(&server, "GET", &of("Jerry"), None).await),
        Vec::<String>::new()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn rest_deletes_messages_server_side_only() {
    let server = start().await;
    let cid = http::conversation(server.local_addr(), json!({"c": "Tom", "m": ["Jerry"]})).await;
    let path = format!("conversations/{cid}");
    let (a, a_ts) = send(&server, &path, json!({"from_client": "Tom", "message": "a"})).await;
    let (b, b_ts) = send(&server, &path, json!({"from_client": "Tom", "message": "b"})).await;
    let message = |mid: &str, query: &str| format!("/1.2/rtm/conversations/{cid}/messages/{mid}{query}");

    let wrong_sender = master(
        &server,
        "DELETE",
        &message(&b, &format!("?from_client=Jerry&timestamp={b_ts}")),
        None,
    )
    .await;
    assert_eq!(failure(&wrong_sender), (400, json!(4403)));
    let wrong_time = master(&server, "DELETE", &message(&b, "?timestamp=1"), None).await;
    assert_eq!(failure(&wrong_time), (400, json!(4404)));
    let refused = http::app_key(server.local_addr(), "DELETE", &message(&b, ""), None).await;
    assert_eq!(refused.status, 401);

    let deleted = master(
        &server,
        "DELETE",
        &message(&b, &format!("?from_client=Tom&timestamp={b_ts}")),
        None,
    )
    .await;
    assert_eq!((deleted.status, deleted.json), (200, json!({})));
    let history = master(&server, "GET", &format!("/1.2/rtm/{path}/messages"), None).await;
    assert_eq!(data(&history), ["a"]);
    let again = master(&server, "DELETE", &message(&b, ""), None).await;
    assert_eq!(failure(&again), (400, json!(4404)));
    // The conversation's last message is the one before it again.
    let found = master(&server, "GET", "/1.2/rtm/conversations", None).await;
    assert_eq!(found.json["results"][0]["msg_mid"], json!(a));
    assert_eq!(found.json["results"][0]["msg_timestamp"], json!(a_ts));
    server.shutdown().await;
}

#[tokio::test]
async fn rest_send_applies_no_sync_mentions_and_to_clients() {
    let server = start().await;
    let mut tom = login(&server, "Tom").await;
    let mut jerry = login(&server, "Jerry").await;
    let cid = http::conversation(server.local_addr(), json!({"c": "Tom", "m": ["Jerry"]})).await;
    tom.push_of(CommandType::Conv).await;
    jerry.push_of(CommandType::Conv).await;
    let path = format!("conversations/{cid}");

    // `no_sync`: the sender's own sessions do not get it; mentions are carried.
    let (quiet, _) = send(
        &server,
        &path,
        json!({"from_client": "Tom", "message": "quiet", "no_sync": true, "mention_all": true,
               "mention_client_ids": ["Jerry"], "push_data": {"alert": "ignored"}, "priority": "high"}),
    )
    .await;
    let push = jerry
        .push_of(CommandType::Direct)
        .await
        .direct_message
        .expect("direct");
    assert_eq!(push.id.as_deref(), Some(quiet.as_str()));
    assert_eq!(push.mention_all, Some(true));
    assert_eq!(push.mention_pids, ["Jerry"]);
    let (loud, _) = send(&server, &path, json!({"from_client": "Tom", "message": "loud"})).await;
    let push = tom
        .push_of(CommandType::Direct)
        .await
        .direct_message
        .expect("direct");
    assert_eq!(
        push.id.as_deref(),
        Some(loud.as_str()),
        "the no_sync message never reached Tom"
    );
    jerry.push_of(CommandType::Direct).await;
    let too_many: Vec<String> = (0..21).map(|n| format!("c{n}")).collect();
    let refused = master(
        &server,
        "POST",
        &format!("/1.2/rtm/{path}/messages"),
        Some(json!({"from_client": "Tom", "message": "x", "mention_client_ids": too_many})),
    )
    .await;
    assert_eq!(failure(&refused), (400, json!(107)));

    // `to_clients` in a service conversation reaches only those clients.
    let service = server_side(&server, "service-conversations", "News").await;
    let service_path = format!("service-conversations/{service}");
    let (private, _) = send(
        &server,
        &service_path,
        json!({"from_client": "bot", "message": "just Tom", "to_clients": ["Tom"]}),
    )
    .await;
    let push = tom
        .push_of(CommandType::Direct)
        .await
        .direct_message
        .expect("direct");
    assert_eq!(push.id.as_deref(), Some(private.as_str()));
    assert_eq!(push.cid.as_deref(), Some(service.as_str()));
    let (everyone, _) = send(&server, &path, json!({"from_client": "Tom", "message": "after"})).await;
    let push = jerry
        .push_of(CommandType::Direct)
        .await
        .direct_message
        .expect("direct");
    assert_eq!(
        push.id.as_deref(),
        Some(everyone.as_str()),
        "Jerry never got Tom's message"
    );
    let missing = master(
        &server,
        "POST",
        &format!("/1.2/rtm/{service_path}/messages"),
        Some(json!({"from_client": "bot", "message": "x"})),
    )
    .await;
    assert_eq!(failure(&missing), (400, json!(4301)));
    let wrong_kind = master(
        &server,
        "POST",
        &format!("/1.2/rtm/chatrooms/{cid}/messages"),
        Some(json!({"from_client": "Tom", "message": "x"})),
    )
    .await;
    assert_eq!(failure(&wrong_kind), (400, json!(4316)));
    server.shutdown().await;
}

#[tokio::test]
async fn rest_blacklists_block_list_and_unblock() {
    let server = start().await;
    let (mut jerry, cid) = invited_by_tom(&server, "Jerry", json!(["Jerry", "Spike"])).await;
    let blacklists = format!("/1.2/rtm/conversations/{cid}/blacklists");

    let refused = http::app_key(
        server.local_addr(),
        "POST",
        &blacklists,
        Some(&json!({"client_ids": ["Jerry"]})),
    )
    .await;
    assert_eq!(refused.status, 401);
    let blocked = master(
        &server,
        "POST",
        &blacklists,
        Some(json!({"client_ids": ["Jerry", "Tom", "Tyke"]})),
    )
    .await;
    assert_eq!((blocked.status, blocked.json), (200, json!({})));
    let left = jerry.push_of(CommandType::Conv).await;
    assert_eq!(left.op_type(), Some(OpType::Left), "blocking removes: {left:?}");
    let members = master(
        &server,
        "GET",
        &format!("/1.2/rtm/conversations/{cid}/members"),
        None,
    )
    .await;
    assert_eq!(members.json, json!({"result": ["Spike", "Tom"]}));
    let listed = master(&server, "GET", &blacklists, None).await;
    assert_eq!(
        listed.json,
        json!({"client_ids": ["Jerry", "Tyke"]}),
        "the owner cannot be blocked"
    );
    let page = master(&server, "GET", &format!("{blacklists}?limit=1"), None).await;
    assert_eq!(page.json, json!({"client_ids": ["Jerry"], "next": "1"}));
    let rest = master(&server, "GET", &format!("{blacklists}?limit=1&next=1"), None).await;
    assert_eq!(rest.json, json!({"client_ids": ["Tyke"]}));

    // Blocked clients cannot be added back until unblocked.
    let members_path = format!("/1.2/rtm/conversations/{cid}/members");
    master(
        &server,
        "POST",
        &members_path,
        Some(json!({"client_ids": ["Jerry"]})),
    )
    .await;
    let members = master(&server, "GET", &members_path, None).await;
    assert_eq!(members.json, json!({"result": ["Spike", "Tom"]}));
    let unblocked = master(
        &server,
        "DELETE",
        &blacklists,
        Some(json!({"client_ids": ["Jerry"]})),
    )
    .await;
    assert_eq!((unblocked.status, unblocked.json), (200, json!({})));
    master(
        &server,
        "POST",
        &members_path,
        Some(json!({"client_ids": ["Jerry"]})),
    )
    .await;
    let members = master(&server, "GET", &members_path, None).await;
    assert_eq!(members.json, json!({"result": ["Jerry", "Spike", "Tom"]}));

    // Service conversations: a blocked client is unsubscribed and cannot subscribe again.
    let service = server_side(&server, "service-conversations", "News").await;
    let subscribers = format!("/1.2/rtm/service-conversations/{service}/subscribers");
    master(&server, "POST", &subscribers, Some(json!({"client_id": "Jerry"}))).await;
    let blocked = master(
        &server,
        "POST",
        &format!("/1.2/rtm/service-conversations/{service}/blacklists"),
        Some(json!({"client_ids": ["Jerry"]})),
    )
    .await;
    assert_eq!(blocked.status, 200);
    let count = master(&server, "GET", &format!("{subscribers}/count"), None).await;
    assert_eq!(count.json, json!({"count": 0}));
    let again = master(&server, "POST", &subscribers, Some(json!({"client_id": "Jerry"}))).await;
    assert_eq!(failure(&again), (400, json!(4315)));
    let empty = master(&server, "POST", &blacklists, Some(json!({"client_ids": []}))).await;
    assert_eq!(failure(&empty), (400, json!(107)));
    server.shutdown().await;
}

#[tokio::test]
async fn rest_member_infos_set_list_and_reset_roles() {
    let server = start().await;
    let (mut spike, cid) = invited_by_tom(&server, "Spike", json!(["Jerry", "Spike"])).await;
    let infos = format!("/1.2/rtm/conversations/{cid}/member-infos");

    let set = master(
        &server,
        "POST",
        &infos,
        Some(json!({"clientId": "Spike", "role": "Manager"})),
    )
    .await;
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.json["objectId"], json!(format!("{cid}:Spike")));
    assert!(set.json["updatedAt"].is_string());
    let changed = spike.push_of(CommandType::Conv).await;
    assert_eq!(changed.op_type(), Some(OpType::MemberInfoChanged));
    let info = changed.conv_message.and_then(|c| c.info).expect("info");
    assert_eq!(
        (info.pid.as_deref(), info.role.as_deref()),
        (Some("Spike"), Some("Manager"))
    );

    let listed = master(&server, "GET", &infos, None).await;
    assert_eq!(
        listed.json,
        json!({"results": [
            {"clientId": "Tom", "objectId": format!("{cid}:Tom"), "role": "Owner"},
            {"clientId": "Spike", "objectId": format!("{cid}:Spike"), "role": "Manager"},
        ]})
    );
    let managers = master(&server, "GET", &format!("{infos}?role=Manager"), None).await;
    assert_eq!(managers.json["results"].as_array().map(Vec::len), Some(1));

    // PUT and DELETE by member-info id.
    let info_path = format!("{infos}/{cid}:Spike");
    let put = master(&server, "PUT", &info_path, Some(json!({"role": "Member"}))).await;
    assert_eq!(put.status, 200, "{put:?}");
    let managers = master(&server, "GET", &format!("{infos}?role=Manager"), None).await;
    assert_eq!(managers.json, json!({"results": []}));
    master(&server, "PUT", &info_path, Some(json!({"role": "Manager"}))).await;
    let deleted = master(&server, "DELETE", &info_path, None).await;
    assert_eq!((deleted.status, deleted.json), (200, json!({})));
    let managers = master(&server, "GET", &format!("{infos}?role=Manager"), None).await;
    assert_eq!(managers.json, json!({"results": []}));

    // Official codes: not a member, a role that cannot be given, the owner.
    for (body, code) in [
        (json!({"clientId": "Tyke", "role": "Manager"}), 4317),
        (json!({"clientId": "Jerry", "role": "Owner"}), 4308),
        (json!({"clientId": "Tom", "role": "Member"}), 5130),
        (json!({"clientId": "Jerry"}), 107),
    ] {
        let refused = master(&server, "POST", &infos, Some(body.clone())).await;
        assert_eq!(failure(&refused), (400, json!(code)), "{body}");
    }
    let refused = http::app_key(server.local_addr(), "GET", &infos, None).await;
    assert_eq!(refused.status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_unique_creation_returns_the_conversation_of_the_same_members() {
    let server = start().await;
    let first = master(
        &server,
        "POST",
        "/1.2/rtm/conversations",
        Some(json!({"name": "Pair", "c": "Tom", "m": ["Jerry"], "unique": true})),
    )
    .await;
    assert_eq!(first.json["unique"], json!(true));
    let cid = first.object_id();
    // The same member set, however it is written, is the same conversation, unchanged.
    let again = master(
        &server,
        "POST",
        "/1.2/rtm/conversations",
        Some(json!({"name": "Other", "c": "Jerry", "m": ["Tom", "Jerry"], "unique": true})),
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json["objectId"], json!(cid));
    assert_eq!(again.json["name"], json!("Pair"));
    assert_eq!(again.json["createdAt"], first.json["createdAt"]);
    let not_unique = http::conversation(server.local_addr(), json!({"c": "Tom", "m": ["Jerry"]})).await;
    assert_ne!(not_unique, cid);
    let other_members = http::conversation(
        server.local_addr(),
        json!({"c": "Tom", "m": ["Spike"], "unique": true}),
    )
    .await;
    assert_ne!(other_members, cid);
    server.shutdown().await;
}

#[tokio::test]
async fn x_lc_sign_authenticates_as_x_lc_key_does() {
    let server = start().await;
    let addr = server.local_addr();
    let sign = |key: &str, master: bool| {
        let now = chinwag_server::time::now_ms();
        let digest = hex::encode(md5::Md5::digest(format!("{now}{key}").as_bytes()));
        if master {
            format!("{digest},{now},master")
        } else {
            format!("{digest},{now}")
        }
    };
    let master_sign = sign(MASTER_KEY, true);
    let ok = http::request(
        addr,
        "GET",
        "/1.2/rtm/conversations",
        &[APP, ("X-LC-Sign", &master_sign)],
        None,
    )
    .await;
    assert_eq!((ok.status, ok.json), (200, json!({"results": []})));
    let app_sign = sign("chinwag-local-key", false);
    let unread = "/1.2/rtm/clients/Tom/unread-count";
    let ok = http::request(addr, "GET", unread, &[APP, ("X-LC-Sign", &app_sign)], None).await;
    assert_eq!((ok.status, ok.json), (200, json!({"count": 0})));
    let flipped = if master_sign.starts_with('0') { '1' } else { '0' };
    let tampered = format!("{flipped}{}", &master_sign[1..]);
    for refused in [app_sign.clone(), sign("wrong", true), tampered, "x".into()] {
        let response = http::request(
            addr,
            "GET",
            "/1.2/rtm/conversations",
            &[APP, ("X-LC-Sign", &refused)],
            None,
        )
        .await;
        assert_eq!(response.status, 401, "{refused}");
        assert_eq!(response.json, json!({"code": 401, "error": "Unauthorized."}));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn rest_calls_over_the_rate_limit_get_429() {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = Some(MASTER_KEY.into());
    config.require_signatures = true;
    // Two calls, never refilled: the outcome does not depend on timing.
    config.rest_rate_limit = Some(RateLimit {
        burst: 2,
        per_second: 0,
    });
    let server = Server::bind(config).await.expect("server starts");
    // Refused calls (bad keys) do not spend the app's budget.
    let refused = http::app_key(server.local_addr(), "GET", "/1.2/rtm/conversations", None).await;
    assert_eq!(refused.status, 401);
    for _ in 0..2 {
        let ok = master(&server, "GET", "/1.2/rtm/conversations", None).await;
        assert_eq!(ok.status, 200);
    }
    let limited = master(&server, "GET", "/1.2/rtm/conversations", None).await;
    assert_eq!(
        (limited.status, limited.json),
        (429, json!({"code": 429, "error": "Too many requests."}))
    );
    let limited = master(
        &server,
        "POST",
        "/1.2/rtm/conversations",
        Some(json!({"m": ["Tom"]})),
    )
    .await;
    assert_eq!(limited.status, 429, "every REST call counts");
    server.shutdown().await;
}

#[tokio::test]
async fn rest_queries_each_kind_and_edits_the_shut_up_list() {
    let server = start().await;
    let (mut jerry, cid) = invited_by_tom(&server, "Jerry", json!(["Jerry"])).await;
    server_side(&server, "chatrooms", "Lobby").await;
    server_side(&server, "service-conversations", "News").await;
    let names = |response: &http::Response| -> Vec<String> {
        let mut names: Vec<String> = response.json["results"]
            .as_array()
            .unwrap_or_else(|| panic!("results: {response:?}"))
            .iter()
            .map(|c| c["name"].as_str().unwrap_or("(none)").to_owned())
            .collect();
        names.sort();
        names
    };
    let rooms = master(&server, "GET", "/1.2/rtm/chatrooms", None).await;
    assert_eq!(names(&rooms), ["Lobby"]);
    assert_eq!(rooms.json["results"][0]["tr"], json!(true));
    let services = master(&server, "GET", "/1.2/rtm/service-conversations", None).await;
    assert_eq!(names(&services), ["News"]);
    assert_eq!(services.json["results"][0]["sys"], json!(true));
    let normal = master(&server, "GET", "/1.2/rtm/conversations", None).await;
    assert_eq!(normal.json["results"][0]["objectId"], json!(cid));
    assert_eq!(normal.json["results"].as_array().map(Vec::len), Some(1));
    let all = master(&server, "GET", "/1.2/rtm/all-conversations?limit=10", None).await;
    assert_eq!(names(&all), ["(none)", "Lobby", "News"]);
    let filtered = master(
        &server,
        "GET",
        "/1.2/rtm/all-conversations?where=%7B%22name%22%3A%22News%22%7D",
        None,
    )
    .await;
    assert_eq!(names(&filtered), ["News"]);

    // `permanent-silenceds` is the shut-up list: silenced members' messages are refused (4308).
    let silenced = format!("/1.2/rtm/conversations/{cid}/permanent-silenceds");
    let added = master(
        &server,
        "POST",
        &silenced,
        Some(json!({"client_ids": ["Jerry", "Tom"]})),
    )
    .await;
    assert_eq!((added.status, added.json), (200, json!({})));
    let listed = master(&server, "GET", &silenced, None).await;
    assert_eq!(
        listed.json,
        json!({"client_ids": ["Jerry"]}),
        "the owner cannot be silenced"
    );
    let ack = jerry.request(direct(&cid, "hello?")).await;
    assert_eq!(ack.ack_message.and_then(|a| a.code), Some(4308));
    let removed = master(
        &server,
        "DELETE",
        &silenced,
        Some(json!({"client_ids": ["Jerry"]})),
    )
    .await;
    assert_eq!(removed.status, 200);
    let ack = jerry
        .request(direct(&cid, "hello"))
        .await
        .ack_message
        .expect("ack");
    assert_eq!(ack.code, None);
    assert!(ack.uid.is_some());
    let listed = master(&server, "GET", &silenced, None).await;
    assert_eq!(listed.json, json!({"client_ids": []}));
    server.shutdown().await;
}

#[tokio::test]
async fn service_subscribers_history_over_rtm_leaves_out_other_subscribers_messages() {
    let server = start().await;
    let mut tom = login(&server, "Tom").await;
    let mut jerry = login(&server, "Jerry").await;
    let service = server_side(&server, "service-conversations", "News").await;
    for client in ["Tom", "Jerry"] {
        master(
            &server,
            "POST",
            &format!("/1.2/rtm/service-conversations/{service}/subscribers"),
            Some(json!({"client_id": client})),
        )
        .await;
    }
    let ack = tom.request(direct(&service, "Tom to the service")).await;
    assert!(ack.ack_message.and_then(|a| a.uid).is_some());
    send(
        &server,
        &format!("service-conversations/{service}"),
        json!({"from_client": "bot", "message": "to Tom only", "to_clients": ["Tom"]}),
    )
    .await;
    master(
        &server,
        "POST",
        &format!("/1.2/rtm/service-conversations/{service}/broadcasts"),
        Some(json!({"from_client": "bot", "message": "to all"})),
    )
    .await;
    let logs = |cid: &str| {
        GenericCommand::new(CommandType::Logs).with(chinwag_protocol::LogsCommand {
            cid: Some(cid.into()),
            ..Default::default()
        })
    };
    let texts = |reply: GenericCommand| -> Vec<String> {
        reply
            .logs_message
            .expect("logs")
            .logs
            .into_iter()
            .map(|item| item.data.unwrap_or_default())
            .collect()
    };
    assert_eq!(texts(jerry.request(logs(&service)).await), ["to all"]);
    assert_eq!(
        texts(tom.request(logs(&service)).await),
        ["Tom to the service", "to Tom only", "to all"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn rest_shuts_members_up_for_a_while_and_lists_subscriptions_and_stats() {
    let server = start().await;
    let (mut jerry, cid) = invited_by_tom(&server, "Jerry", json!(["Jerry"])).await;
    let silenced = format!("/1.2/rtm/conversations/{cid}/temporary-silenceds");

    // `ttl` is 1 s to 24 h; `client_id` is required.
    for bad in [
        json!({"client_id": "Jerry"}),
        json!({"client_id": "Jerry", "ttl": 0}),
        json!({"client_id": "Jerry", "ttl": 86_401}),
        json!({"client_id": "Jerry", "ttl": "60"}),
        json!({"ttl": 60}),
    ] {
        let refused = master(&server, "POST", &silenced, Some(bad.clone())).await;
        assert_eq!(failure(&refused), (400, json!(107)), "{bad}");
    }
    let added = master(
        &server,
        "POST",
        &silenced,
        Some(json!({"client_id": "Jerry", "ttl": 600})),
    )
    .await;
    assert_eq!((added.status, added.json), (200, json!({})));
    assert_eq!(
        jerry.push_of(CommandType::Conv).await.op_type(),
        Some(OpType::Shutuped)
    );
    let ack = jerry.request(direct(&cid, "hello?")).await;
    assert_eq!(ack.ack_message.and_then(|a| a.code), Some(4308));
    let permanent = format!("/1.2/rtm/conversations/{cid}/permanent-silenceds");
    let listed = master(&server, "GET", &permanent, None).await;
    assert_eq!(listed.json, json!({"client_ids": []}), "a separate list");
    let no_client = master(&server, "DELETE", &silenced, None).await;
    assert_eq!(failure(&no_client), (400, json!(107)));
    let lifted = master(&server, "DELETE", &format!("{silenced}?client_id=Jerry"), None).await;
    assert_eq!((lifted.status, lifted.json), (200, json!({})));
    assert_eq!(
        jerry.push_of(CommandType::Conv).await.op_type(),
        Some(OpType::Unshutuped)
    );
    let ack = jerry
        .request(direct(&cid, "hello"))
        .await
        .ack_message
        .expect("ack");
    assert_eq!(ack.code, None);

    // A service conversation's subscribers, and Jerry's subscriptions.
    let service = server_side(&server, "service-conversations", "News").await;
    let subscribers = format!("/1.2/rtm/service-conversations/{service}/subscribers");
    for client in ["Tom", "Jerry"] {
        let subscribed = master(&server, "POST", &subscribers, Some(json!({"client_id": client}))).await;
        assert_eq!(subscribed.status, 200);
    }
    let listed = master(&server, "GET", &format!("{subscribers}?limit=1"), None).await;
    let first = listed.json.as_array().expect("an array").clone();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["subscriber"], json!("Jerry"));
    assert_eq!(first[0]["conv_id"], json!(service));
    let subscribed_at = first[0]["timestamp"].as_i64().expect("timestamp");
    assert!(subscribed_at > 1_700_000_000_000, "a time in ms: {subscribed_at}");
    let next = master(&server, "GET", &format!("{subscribers}?client_id=Jerry"), None).await;
    assert_eq!(next.json[0]["subscriber"], json!("Tom"));
    assert_eq!(next.json.as_array().map(Vec::len), Some(1));
    let of_jerry = master(
        &server,
        "GET",
        "/1.2/rtm/clients/Jerry/service-conversations",
        None,
    )
    .await;
    assert_eq!(
        of_jerry.json,
        json!([{"timestamp": subscribed_at, "subscriber": "Jerry", "conv_id": service}]),
        "the normal conversation Jerry is in is not a subscription"
    );
    // Chat rooms take timed shut-ups too; each path takes its own kind only.
    let room = server_side(&server, "chatrooms", "Lobby").await;
    let for_a_minute = json!({"client_id": "Jerry", "ttl": 60});
    for (path, status, code) in [
        (
            format!("/1.2/rtm/chatrooms/{room}/temporary-silenceds"),
            200,
            json!(null),
        ),
        (
            format!("/1.2/rtm/chatrooms/{cid}/temporary-silenceds"),
            400,
            json!(4316),
        ),
        (
            format!("/1.2/rtm/conversations/{service}/temporary-silenceds"),
            400,
            json!(4314),
        ),
    ] {
        let answer = master(&server, "POST", &path, Some(for_a_minute.clone())).await;
        assert_eq!(
            (answer.status, answer.json["code"].clone()),
            (status, code),
            "{path}"
        );
    }

    let refusals = [
        (
            "/1.2/rtm/clients/Jerry/service-conversations?direction=up".to_owned(),
            107,
        ),
        (
            format!("/1.2/rtm/clients/Jerry/service-conversations?conv_id={service}"),
            107,
        ),
        (format!("/1.2/rtm/service-conversations/{cid}/subscribers"), 4313),
    ];
    for (path, code) in refusals {
        let refused = master(&server, "GET", &path, None).await;
        assert_eq!(failure(&refused), (400, json!(code)), "{path}");
    }

    // Jerry blocks the service conversation: the backend can no longer subscribe him again.
    let blocks = "/1.2/rtm/clients/Jerry/blacklists";
    master(&server, "DELETE", &format!("{subscribers}/Jerry"), None).await;
    let blocked = master(&server, "POST", blocks, Some(json!({"conv_id": service}))).await;
    assert_eq!((blocked.status, blocked.json), (200, json!({})));
    let listed = master(&server, "GET", blocks, None).await;
    assert_eq!(listed.json, json!({"conv_ids": [service]}));
    let again = master(&server, "POST", &subscribers, Some(json!({"client_id": "Jerry"}))).await;
    assert_eq!(failure(&again), (400, json!(4315)));
    for (body, refusal) in [
        (json!({"conv_id": "nope"}), (404, json!(4303))),
        (json!({}), (400, json!(107))),
    ] {
        let refused = master(&server, "POST", blocks, Some(body)).await;
        assert_eq!(failure(&refused), refusal);
    }
    let unblocked = master(&server, "DELETE", blocks, Some(json!({"conv_id": service}))).await;
    assert_eq!(unblocked.status, 200);
    assert_eq!(
        master(&server, "GET", blocks, None).await.json,
        json!({"conv_ids": []})
    );
    let again = master(&server, "POST", &subscribers, Some(json!({"client_id": "Jerry"}))).await;
    assert_eq!(again.status, 200);

    // Online now: Jerry only (Tom never signed in); signed in today: Jerry.
    let stats = master(&server, "GET", "/1.2/rtm/stats", None).await;
    assert_eq!(
        stats.json,
        json!({"result": {"online_user_count": 1, "user_count_today": 1}})
    );
    server.shutdown().await;
}
