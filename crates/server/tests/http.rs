//! HTTP tests over 127.0.0.1: `X-LC-Id`/`X-LC-Key`/`X-LC-IM-Session-Token` checks on the client
//! REST routes and `POST /1.1/rtm/sign`.

#[path = "common/client.rs"]
mod client;
#[path = "common/http.rs"]
mod http;

use chinwag_protocol::{OpType, SessionCommand};
use chinwag_server::{Server, ServerConfig};
use client::Client;
use http::{APP, KEY, MASTER_KEY};
use serde_json::json;

async fn start(master_key: Option<&str>) -> chinwag_server::RunningServer {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = master_key.map(str::to_owned);
    config.require_signatures = master_key.is_some();
    Server::bind(config).await.expect("server starts")
}

/// Signs `client` in (signed when the server has a master key) and returns its session token.
async fn token_of(server: &chinwag_server::RunningServer, client: &str, master: Option<&str>) -> String {
    let mut c = Client::connect(&server.ws_url(), Some("lc.protobuf2.3")).await;
    let session = match master {
        None => SessionCommand::default(),
        Some(key) => client::signed_session(client, key, "n"),
    };
    let opened = c.open(client, session).await;
    assert_eq!(opened.op_type(), Some(OpType::Opened), "{opened:?}");
    opened.session_message.and_then(|s| s.st).expect("st")
}

#[tokio::test]
async fn client_rest_routes_check_app_id_key_and_session_token() {
    let server = start(None).await;
    let addr = server.local_addr();
    let st = token_of(&server, "Tom", None).await;
    let path = "/1.1/rtm/notifications?client_id=Tom&start_ts=0&notification_type=permanent";
    let token = ("X-LC-IM-Session-Token", st.as_str());

    let ok = http::request(addr, "GET", path, &[APP, KEY, token], None).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json["hasMore"], json!(false));

    for headers in [
        vec![KEY, token],
        vec![APP, token],
        vec![("X-LC-Id", "other-app"), KEY, token],
        vec![APP, ("X-LC-Key", "wrong"), token],
        vec![APP, ("X-LC-Key", "chinwag-local-key,master"), token],
    ] {
        let refused = http::request(addr, "GET", path, &headers, None).await;
        assert_eq!(refused.status, 401, "{headers:?}");
        assert_eq!(refused.json, json!({"code": 401, "error": "Unauthorized."}));
    }
    // Right app and key, but no token, another client's token, or a forged one.
    let jerry = token_of(&server, "Jerry", None).await;
    for token in ["", jerry.as_str(), "forged.00"] {
        let refused = http::request(
            addr,
            "GET",
            path,
            &[APP, KEY, ("X-LC-IM-Session-Token", token)],
            None,
        )
        .await;
        assert_eq!(refused.status, 401, "{token}");
        assert_eq!(refused.json["code"], json!(4112));
    }

    let roles = "/1.1/classes/_ConversationMemberInfo?client_id=Tom&where=%7B%22cid%22%3A%22x%22%7D";
    let ok = http::request(addr, "GET", roles, &[APP, KEY, token], None).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json, json!({"results": []}));
    let refused = http::request(addr, "GET", roles, &[APP, token], None).await;
    assert_eq!(refused.status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn rtm_sign_returns_a_login_signature_the_server_accepts() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let st = token_of(&server, "Tom", Some(MASTER_KEY)).await;

    let signed = http::app_key(addr, "POST", "/1.1/rtm/sign", Some(&json!({"session_token": st}))).await;
    assert_eq!(signed.status, 200, "{signed:?}");
    let signature = signed.json["signature"].as_str().expect("signature").to_owned();
    let timestamp = signed.json["timestamp"].as_i64().expect("timestamp");
    let nonce = signed.json["nonce"].as_str().expect("nonce").to_owned();
    assert_eq!(signed.json["client_id"], json!("Tom"));
    let message = chinwag_server::signature::login_message("chinwag-local", "Tom", timestamp, &nonce);
    assert!(chinwag_server::signature::verify(
        MASTER_KEY.as_bytes(),
        &message,
        &signature
    ));

    // The server takes it for a new sign-in.
    let mut c = Client::connect(&server.ws_url(), Some("lc.protobuf2.3")).await;
    let opened = c
        .open(
            "Tom",
            SessionCommand {
                s: Some(signature),
                t: Some(timestamp),
                n: Some(nonce),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(opened.op_type(), Some(OpType::Opened), "{opened:?}");

    // Refused: no or bad keys, a bad body, a forged token.
    let body = json!({"session_token": st});
    let refused = http::request(addr, "POST", "/1.1/rtm/sign", &[APP], Some(&body)).await;
    assert_eq!(refused.status, 401);
    let bad = http::app_key(addr, "POST", "/1.1/rtm/sign", Some(&json!({"token": 1}))).await;
    assert_eq!(bad.status, 400);
    let forged = http::app_key(
        addr,
        "POST",
        "/1.1/rtm/sign",
        Some(&json!({"session_token": "forged.00"})),
    )
    .await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.json["code"], json!(4112));
    // The master key is accepted as well.
    let by_master = http::request(
        addr,
        "POST",
        "/1.1/rtm/sign",
        &[APP, ("X-LC-Key", "the-master-key,master")],
        Some(&body),
    )
    .await;
    assert_eq!(by_master.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_master_key_alone_serves_rest_without_requiring_client_signatures() {
    // `--master-key` without `--require-signatures`: clients sign in and create conversations
    // unsigned, while the REST API 1.2 takes the master key.
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = Some(MASTER_KEY.into());
    let server = Server::bind(config).await.expect("server starts");
    let addr = server.local_addr();
    let st = token_of(&server, "Tom", None).await;
    let mut tom = Client::login(&server.ws_url(), "Tom").await;
    let started = tom
        .request(
            chinwag_protocol::GenericCommand::new(chinwag_protocol::CommandType::Conv)
                .with_op(OpType::Start)
                .with(chinwag_protocol::ConvCommand {
                    m: vec!["Jerry".into()],
                    ..Default::default()
                }),
        )
        .await;
    assert_eq!(started.op_type(), Some(OpType::Started), "{started:?}");
    let listed = master_get(addr, "/1.2/rtm/conversations").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(
        listed.json["results"].as_array().map(Vec::len),
        Some(1),
        "{listed:?}"
    );
    // `/1.1/rtm/sign` still signs with the master key (for apps that sign anyway).
    let signed = http::app_key(addr, "POST", "/1.1/rtm/sign", Some(&json!({"session_token": st}))).await;
    assert_eq!(signed.status, 200, "{signed:?}");
    let message = chinwag_server::signature::login_message(
        "chinwag-local",
        "Tom",
        signed.json["timestamp"].as_i64().expect("timestamp"),
        signed.json["nonce"].as_str().expect("nonce"),
    );
    assert!(chinwag_server::signature::verify(
        MASTER_KEY.as_bytes(),
        &message,
        signed.json["signature"].as_str().expect("signature"),
    ));
    server.shutdown().await;

    // Requiring signatures without a key to check them with is a configuration error.
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.require_signatures = true;
    assert!(matches!(
        Server::bind(config).await,
        Err(chinwag_server::ServerError::SignaturesWithoutMasterKey)
    ));
}

/// A master-key `GET`.
async fn master_get(addr: std::net::SocketAddr, path: &str) -> http::Response {
    http::master(addr, "GET", path, None).await
}

/// A master-key `POST`.
async fn post(addr: std::net::SocketAddr, path: &str, body: serde_json::Value) -> http::Response {
    http::master(addr, "POST", path, Some(&body)).await
}

#[tokio::test]
async fn rest_service_conversations_subscribers_broadcasts_and_online_check() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    // The app key is not enough.
    let refused = http::app_key(
        addr,
        "POST",
        "/1.2/rtm/service-conversations",
        Some(&json!({"name": "News"})),
    )
    .await;
    assert_eq!(refused.status, 401);
    let created = post(
        addr,
        "/1.2/rtm/service-conversations",
        json!({"name": "News", "topic": "t"}),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    let cid = created.object_id();
    assert!(created.json["createdAt"].is_string());
    let missing = post(addr, "/1.2/rtm/service-conversations", json!({"topic": "t"})).await;
    assert_eq!(missing.status, 400);

    // Tom is online; the backend subscribes him and broadcasts.
    let mut tom = Client::signed_login(&server.ws_url(), "Tom", MASTER_KEY).await;
    let subscribers = format!("/1.2/rtm/service-conversations/{cid}/subscribers");
    let subscribed = post(addr, &subscribers, json!({"client_id": "Tom"})).await;
    assert_eq!((subscribed.status, subscribed.json.clone()), (200, json!({})));
    let count_path = format!("{subscribers}/count");
    let count = master_get(addr, &count_path).await;
    assert_eq!(count.json, json!({"count": 1}));

    let broadcasts = format!("/1.2/rtm/service-conversations/{cid}/broadcasts");
    let sent = post(
        addr,
        &broadcasts,
        json!({"from_client": "bot", "message": "{\"_lctype\":-1,\"_lctext\":\"hi\"}"}),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let mid = sent.json["msg-id"].as_str().expect("msg-id").to_owned();
    assert!(sent.json["timestamp"].as_i64().is_some());
    let push = tom.push_of(chinwag_protocol::CommandType::Direct).await;
    let direct = push.direct_message.expect("direct");
    assert_eq!(direct.id.as_deref(), Some(mid.as_str()));
    assert_eq!(direct.cid.as_deref(), Some(cid.as_str()));
    assert_eq!(direct.from_peer_id.as_deref(), Some("bot"));

    let online = post(
        addr,
        "/1.2/rtm/clients/check-online",
        json!({"client_ids": ["Tom", "Jerry"]}),
    )
    .await;
    assert_eq!(online.json, json!({"results": ["Tom"]}));
    let empty = post(addr, "/1.2/rtm/clients/check-online", json!({"client_ids": []})).await;
    assert_eq!(empty.status, 400);

    // Unsubscribed: the count drops; unknown conversations are 404 with 4303.
    let unsubscribe = format!("{subscribers}/Tom");
    let gone = http::master(addr, "DELETE", &unsubscribe, None).await;
    assert_eq!((gone.status, gone.json), (200, json!({})));
    let count = master_get(addr, &count_path).await;
    assert_eq!(count.json, json!({"count": 0}));
    let unknown = post(
        addr,
        "/1.2/rtm/service-conversations/nope/broadcasts",
        json!({"from_client": "bot", "message": "x"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json["code"], json!(4303));
    server.shutdown().await;
}

#[tokio::test]
async fn rest_creates_conversations_sends_as_a_client_and_counts_unread() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let mut jerry = Client::signed_login(&server.ws_url(), "Jerry", MASTER_KEY).await;

    let created = post(
        addr,
        "/1.2/rtm/conversations",
        json!({"name": "Tea", "c": "Tom", "m": ["Jerry"], "topic": "cups"}),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    let cid = created.object_id();
    assert_eq!(created.json["name"], json!("Tea"));
    assert_eq!(created.json["topic"], json!("cups"));
    assert_eq!(created.json["c"], json!("Tom"));
    assert_eq!(created.json["m"], json!(["Jerry", "Tom"]));
    assert!(created.json["createdAt"].is_string());
    let joined = jerry.push_of(chinwag_protocol::CommandType::Conv).await;
    assert_eq!(joined.op_type(), Some(OpType::Joined));
    assert_eq!(joined.conv_message.and_then(|c| c.cid), Some(cid.clone()));
    let bad = post(addr, "/1.2/rtm/conversations", json!({"m": "Jerry"})).await;
    assert_eq!(bad.status, 400);

    let messages = format!("/1.2/rtm/conversations/{cid}/messages");
    let sent = post(addr, &messages, json!({"from_client": "Tom", "message": "hello"})).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let mid = sent.json["msg-id"].as_str().expect("msg-id").to_owned();
    let push = jerry.push_of(chinwag_protocol::CommandType::Direct).await;
    let direct = push.direct_message.expect("direct");
    assert_eq!(direct.id.as_deref(), Some(mid.as_str()));
    assert_eq!(direct.from_peer_id.as_deref(), Some("Tom"));
    assert_eq!(direct.msg.as_deref(), Some("hello"));
    let missing = post(addr, &messages, json!({"message": "hello"})).await;
    assert_eq!(missing.status, 400);
    let unknown = post(
        addr,
        "/1.2/rtm/conversations/nope/messages",
        json!({"from_client": "Tom", "message": "x"}),
    )
    .await;
    assert_eq!((unknown.status, unknown.json["code"].clone()), (404, json!(4303)));
    let service = post(addr, "/1.2/rtm/service-conversations", json!({"name": "News"})).await;
    let service_messages = format!(
        "/1.2/rtm/conversations/{}/messages",
        service.json["objectId"].as_str().expect("objectId")
    );
    let refused = post(
        addr,
        &service_messages,
        json!({"from_client": "Tom", "message": "x"}),
    )
    .await;
    assert_eq!((refused.status, refused.json["code"].clone()), (400, json!(4314)));

    // Jerry has one unread message; the app key is enough to ask.
    let unread = http::app_key(addr, "GET", "/1.2/rtm/clients/Jerry/unread-count", None).await;
    assert_eq!((unread.status, unread.json), (200, json!({"count": 1})));
    let path = format!("/1.2/rtm/clients/Jerry/unread-count?conv_id={cid}");
    let unread = master_get(addr, &path).await;
    assert_eq!(unread.json, json!({"count": 1}));
    let other = http::app_key(addr, "GET", "/1.2/rtm/clients/Jerry/unread-count?conv_id=x", None).await;
    assert_eq!(other.json, json!({"count": 0}));
    let tom = http::app_key(addr, "GET", "/1.2/rtm/clients/Tom/unread-count", None).await;
    assert_eq!(tom.json, json!({"count": 0}), "his own message is not unread");
    let refused = http::request(addr, "GET", "/1.2/rtm/clients/Jerry/unread-count", &[APP], None).await;
    assert_eq!(refused.status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_queries_conversations_and_changes_members() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let mut mary = Client::signed_login(&server.ws_url(), "Mary", MASTER_KEY).await;
    let tea = http::conversation(addr, json!({"name": "Tea", "m": ["Tom"]})).await;
    http::conversation(addr, json!({"name": "Coffee", "m": ["Jerry"]})).await;
    post(addr, "/1.2/rtm/service-conversations", json!({"name": "Tea"})).await;

    let query = |where_json: &str| format!("/1.2/rtm/conversations?where={}&limit=10", encode(where_json));
    let found = master_get(addr, &query(r#"{"name":"Tea"}"#)).await;
    assert_eq!(found.status, 200, "{found:?}");
    let results = found.json["results"].as_array().expect("results").clone();
    assert_eq!(
        results.len(),
        1,
        "service conversations are not listed here: {results:?}"
    );
    assert_eq!(results[0]["objectId"], json!(tea));
    assert!(results[0]["updatedAt"].is_string());
    let all = master_get(addr, "/1.2/rtm/conversations").await;
    assert_eq!(all.json["results"].as_array().map(Vec::len), Some(2));
    let bad = master_get(addr, &query("[1]")).await;
    assert_eq!(bad.status, 400);
    let bad_where = master_get(addr, &query(r#"{"name":{"$nope":1}}"#)).await;
    assert_eq!(
        (bad_where.status, bad_where.json["code"].clone()),
        (400, json!(4301))
    );
    let by_app_key = http::app_key(addr, "GET", &query("{}"), None).await;
    assert_eq!(by_app_key.status, 401);

    // Members: Mary is added (and told), then removed (and told).
    let members = format!("/1.2/rtm/conversations/{tea}/members");
    let added = post(addr, &members, json!({"client_ids": ["Mary"]})).await;
    assert_eq!(added.status, 200, "{added:?}");
    assert_eq!(added.json["objectId"], json!(tea));
    assert!(added.json["updatedAt"].is_string());
    let joined = mary.push_of(chinwag_protocol::CommandType::Conv).await;
    assert_eq!(joined.op_type(), Some(OpType::Joined));
    let found = master_get(addr, &query(r#"{"m":"Mary"}"#)).await;
    assert_eq!(found.json["results"].as_array().map(Vec::len), Some(1));
    let listed = master_get(addr, &members).await;
    assert_eq!(listed.json, json!({"result": ["Mary", "Tom"]}));
    let removed = http::master(addr, "DELETE", &members, Some(&json!({"client_ids": ["Mary"]}))).await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let left = mary.push_of(chinwag_protocol::CommandType::Conv).await;
    assert_eq!(left.op_type(), Some(OpType::Left));
    let found = master_get(addr, &query(r#"{"m":"Mary"}"#)).await;
    assert_eq!(found.json["results"], json!([]));
    let empty = post(addr, &members, json!({"client_ids": []})).await;
    assert_eq!(empty.status, 400);
    let unknown = post(
        addr,
        "/1.2/rtm/conversations/nope/members",
        json!({"client_ids": ["Mary"]}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    server.shutdown().await;
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn rest_edits_and_recalls_messages_as_their_sender() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let mut jerry = Client::signed_login(&server.ws_url(), "Jerry", MASTER_KEY).await;
    let cid = http::conversation(addr, json!({"c": "Tom", "m": ["Jerry"]})).await;
    jerry.push_of(chinwag_protocol::CommandType::Conv).await;
    let messages = format!("/1.2/rtm/conversations/{cid}/messages");
    let sent = post(addr, &messages, json!({"from_client": "Tom", "message": "helo"})).await;
    let mid = sent.json["msg-id"].as_str().expect("msg-id").to_owned();
    let ts = sent.json["timestamp"].as_i64().expect("timestamp");
    jerry.push_of(chinwag_protocol::CommandType::Direct).await;

    let put = |path: String, body: serde_json::Value| async move {
        http::master(addr, "PUT", &path, Some(&body)).await
    };
    let edit = format!("{messages}/{mid}");
    let not_his = put(
        edit.clone(),
        json!({"from_client": "Jerry", "message": "x", "timestamp": ts}),
    )
    .await;
    assert_eq!((not_his.status, not_his.json["code"].clone()), (400, json!(4403)));
    let wrong_ts = put(
        edit.clone(),
        json!({"from_client": "Tom", "message": "x", "timestamp": ts + 1}),
    )
    .await;
    assert_eq!(wrong_ts.json["code"], json!(4404));
    let missing = put(edit.clone(), json!({"from_client": "Tom", "message": "x"})).await;
    assert_eq!(missing.status, 400);
    let edited = put(
        edit.clone(),
        json!({"from_client": "Tom", "message": "hello", "timestamp": ts}),
    )
    .await;
    assert_eq!((edited.status, edited.json), (200, json!({})));
    let push = jerry.push_of(chinwag_protocol::CommandType::Patch).await;
    let item = push.patch_message.expect("patch").patches.remove(0);
    assert_eq!(
        (item.mid.as_deref(), item.data.as_deref()),
        (Some(mid.as_str()), Some("hello"))
    );
    assert_ne!(item.recall, Some(true));

    assert_eq!((item.patch_code, item.patch_reason), (None, None));

    // A recall with a reason (`patch_code`/`patch_reason`, our extension); a bad code is a 400.
    let bad_code = put(
        format!("{edit}/recall"),
        json!({"from_client": "Tom", "timestamp": ts, "patch_code": "x"}),
    )
    .await;
    assert_eq!(bad_code.status, 400);
    let recalled = put(
        format!("{edit}/recall"),
        json!({"from_client": "Tom", "timestamp": ts, "patch_code": -4408, "patch_reason": "filtered"}),
    )
    .await;
    assert_eq!(recalled.status, 200, "{recalled:?}");
    let push = jerry.push_of(chinwag_protocol::CommandType::Patch).await;
    let item = push.patch_message.expect("patch").patches.remove(0);
    assert_eq!(
        (item.recall, item.patch_code, item.patch_reason.as_deref()),
        (Some(true), Some(-4408), Some("filtered"))
    );
    // Missed while offline: replayed at the next login (`lastPatchTime`) with its reason.
    let mut later = Client::connect(&server.ws_url(), Some("lc.protobuf2.3")).await;
    let relogin = SessionCommand {
        last_patch_time: Some(ts),
        ..client::signed_session("Jerry", MASTER_KEY, "n2")
    };
    assert_eq!(later.open("Jerry", relogin).await.op_type(), Some(OpType::Opened));
    let replayed = later.push_of(chinwag_protocol::CommandType::Patch).await;
    let item = replayed.patch_message.expect("patch").patches.remove(0);
    assert_eq!(
        (
            item.mid.as_deref(),
            item.recall,
            item.patch_code,
            item.patch_reason.as_deref()
        ),
        (Some(mid.as_str()), Some(true), Some(-4408), Some("filtered"))
    );
    let by_app_key = http::app_key(
        addr,
        "PUT",
        &format!("{edit}/recall"),
        Some(&json!({"from_client": "Tom", "timestamp": ts})),
    )
    .await;
    assert_eq!(by_app_key.status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_history_pages_newest_first_or_reversed() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let cid = http::conversation(addr, json!({"c": "Tom", "m": ["Jerry"]})).await;
    let messages = format!("/1.2/rtm/conversations/{cid}/messages");
    let mut stamps = Vec::new();
    for text in ["one", "two", "three"] {
        let sent = post(addr, &messages, json!({"from_client": "Tom", "message": text})).await;
        stamps.push(sent.json["timestamp"].as_i64().expect("timestamp"));
    }
    let get = |query: String| {
        let path = format!("{messages}?{query}");
        async move { master_get(addr, &path).await }
    };
    let texts = |response: &http::Response| -> Vec<String> {
        response
            .json
            .as_array()
            .expect("an array")
            .iter()
            .map(|m| m["data"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let all = get(String::new()).await;
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(texts(&all), ["three", "two", "one"]);
    let first = &all.json[0];
    assert_eq!(first["from"], json!("Tom"));
    assert_eq!(first["conv-id"], json!(cid));
    assert_eq!(first["to"], json!(cid));
    assert_eq!(first["bin"], json!(false));
    assert_eq!(first["is-conv"], json!(true));
    assert!(first["msg-id"].is_string());
    // Paging: the last row's timestamp starts the next page (exclusive).
    let page = get("limit=2".into()).await;
    assert_eq!(texts(&page), ["three", "two"]);
    let next = get(format!("limit=2&timestamp={}", stamps[1])).await;
    assert_eq!(texts(&next), ["one"]);
    let included = get(format!("limit=2&timestamp={}&include_start=true", stamps[1])).await;
    assert_eq!(texts(&included), ["two", "one"]);
    let reversed = get("reversed=true".into()).await;
    assert_eq!(texts(&reversed), ["one", "two", "three"]);
    let window = get(format!(
        "reversed=true&timestamp={}&till_timestamp={}",
        stamps[0], stamps[2]
    ))
    .await;
    assert_eq!(texts(&window), ["two"]);
    let unknown = master_get(addr, "/1.2/rtm/conversations/nope/messages").await;
    assert_eq!(unknown.status, 404);
    let by_app_key = http::app_key(addr, "GET", &messages, None).await;
    assert_eq!(by_app_key.status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_kick_closes_every_session_of_a_client() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let mut tom = Client::signed_login(&server.ws_url(), "Tom", MASTER_KEY).await;
    let too_long = post(
        addr,
        "/1.2/rtm/clients/Tom/kick",
        json!({"reason": "x".repeat(21)}),
    )
    .await;
    assert_eq!(too_long.status, 400);
    let by_app_key = http::app_key(addr, "POST", "/1.2/rtm/clients/Tom/kick", None).await;
    assert_eq!(by_app_key.status, 401);
    let kicked = post(addr, "/1.2/rtm/clients/Tom/kick", json!({"reason": "bye"})).await;
    assert_eq!((kicked.status, kicked.json), (200, json!({})));
    let closed = tom.push_of(chinwag_protocol::CommandType::Session).await;
    assert_eq!(closed.op_type(), Some(OpType::Closed));
    let session = closed.session_message.expect("session");
    assert_eq!(session.code, Some(4115));
    assert_eq!(session.detail.as_deref(), Some("bye"));
    let online = post(
        addr,
        "/1.2/rtm/clients/check-online",
        json!({"client_ids": ["Tom"]}),
    )
    .await;
    assert_eq!(online.json, json!({"results": []}));
    // No body is fine too, and kicking someone offline is not an error.
    let again = http::master(addr, "POST", "/1.2/rtm/clients/Tom/kick", None).await;
    assert_eq!(again.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_chat_rooms_count_online_members_and_take_messages() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let room = post(addr, "/1.2/rtm/chatrooms", json!({"name": "Lobby"})).await;
    assert_eq!(room.status, 200, "{room:?}");
    let cid = room.object_id();
    assert!(room.json["createdAt"].is_string());
    let mut tom = Client::signed_login(&server.ws_url(), "Tom", MASTER_KEY).await;
    let members = format!("/1.2/rtm/chatrooms/{cid}/members");
    let count = format!("{members}/online-count");
    let before = master_get(addr, &count).await;
    assert_eq!(before.json, json!({"result": 0}));
    let t = chinwag_server::time::now_ms() / 1000;
    let m = vec!["Tom".to_string()];
    let joined = tom
        .request(
            chinwag_protocol::GenericCommand::new(chinwag_protocol::CommandType::Conv)
                .with_op(OpType::Add)
                .with(chinwag_protocol::ConvCommand {
                    cid: Some(cid.clone()),
                    m: m.clone(),
                    s: Some(chinwag_server::signature::sign(
                        MASTER_KEY.as_bytes(),
                        &chinwag_server::signature::membership_message(
                            "chinwag-local",
                            "Tom",
                            &cid,
                            &m,
                            t,
                            "n",
                            "invite",
                        ),
                    )),
                    t: Some(t),
                    n: Some("n".into()),
                    ..Default::default()
                }),
        )
        .await;
    assert_eq!(joined.op_type(), Some(OpType::Added), "{joined:?}");
    let after = master_get(addr, &count).await;
    assert_eq!(after.json, json!({"result": 1}));
    let listed = master_get(addr, &members).await;
    assert_eq!(listed.json, json!({"result": ["Tom"]}));

    let sent = post(
        addr,
        &format!("/1.2/rtm/chatrooms/{cid}/messages"),
        json!({"from_client": "host", "message": "welcome"}),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let push = tom.push_of(chinwag_protocol::CommandType::Direct).await;
    let direct = push.direct_message.expect("direct");
    assert_eq!(direct.msg.as_deref(), Some("welcome"));
    assert_eq!(direct.transient, Some(true));

    let normal = http::conversation(addr, json!({"m": ["Tom"]})).await;
    let refused = master_get(addr, &format!("/1.2/rtm/chatrooms/{normal}/members")).await;
    assert_eq!((refused.status, refused.json["code"].clone()), (400, json!(4316)));
    let missing = post(addr, "/1.2/rtm/chatrooms", json!({})).await;
    assert_eq!(missing.status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_mutes_add_remove_and_list() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let cid = http::conversation(addr, json!({"m": ["Tom", "Jerry"]})).await;
    let mutes = format!("/1.2/rtm/conversations/{cid}/mutes");
    let muted = post(addr, &mutes, json!({"client_ids": ["Tom", "Jerry"]})).await;
    assert_eq!(muted.status, 200, "{muted:?}");
    assert_eq!(muted.json["objectId"], json!(cid));
    let unmuted = http::master(addr, "DELETE", &mutes, Some(&json!({"client_ids": ["Jerry"]}))).await;
    assert_eq!(unmuted.status, 200);
    let listed = master_get(addr, &mutes).await;
    assert_eq!(listed.json, json!({"result": ["Tom"]}));
    // The conversation object shows it as `mu`.
    let found = master_get(addr, "/1.2/rtm/conversations").await;
    assert_eq!(found.json["results"][0]["mu"], json!(["Tom"]));
    let unknown = post(
        addr,
        "/1.2/rtm/conversations/nope/mutes",
        json!({"client_ids": ["Tom"]}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    let by_app_key = http::app_key(addr, "GET", &mutes, None).await;
    assert_eq!(by_app_key.status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_updates_conversation_attributes_and_pushes_updated() {
    let server = start(Some(MASTER_KEY)).await;
    let addr = server.local_addr();
    let mut jerry = Client::signed_login(&server.ws_url(), "Jerry", MASTER_KEY).await;
    let cid = http::conversation(addr, json!({"name": "Old", "m": ["Jerry"]})).await;
    jerry.push_of(chinwag_protocol::CommandType::Conv).await;
    let path = format!("/1.2/rtm/conversations/{cid}");
    let body = json!({"name": "New", "attr.color": "red", "m": ["Mallory"]});
    let updated = http::master(addr, "PUT", &path, Some(&body)).await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(updated.json["objectId"], json!(cid));
    assert!(updated.json["updatedAt"].is_string());
    let push = jerry.push_of(chinwag_protocol::CommandType::Conv).await;
    assert_eq!(push.op_type(), Some(OpType::Updated));
    let found = master_get(addr, "/1.2/rtm/conversations").await;
    let conv = &found.json["results"][0];
    assert_eq!(conv["name"], json!("New"));
    assert_eq!(conv["attr"]["color"], json!("red"));
    assert_eq!(conv["m"], json!(["Jerry"]), "m cannot be changed this way");
    let unknown = http::master(addr, "PUT", "/1.2/rtm/conversations/nope", Some(&body)).await;
    assert_eq!(unknown.status, 404);
    let by_app_key = http::app_key(addr, "PUT", &path, Some(&body)).await;
    assert_eq!(by_app_key.status, 401);
    server.shutdown().await;
}
