//! HTTP tests over 127.0.0.1: `X-LC-Id`/`X-LC-Key`/`X-LC-IM-Session-Token` checks on the client
//! REST routes and `POST /1.1/rtm/sign`.

#[path = "common/client.rs"]
mod client;
#[path = "common/http.rs"]
mod http;

use chinwag_protocol::{OpType, SessionCommand};
use chinwag_server::{Server, ServerConfig};
use client::Client;
use serde_json::json;

async fn start(master_key: Option<&str>) -> chinwag_server::RunningServer {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = master_key.map(str::to_owned);
    Server::bind(config).await.expect("server starts")
}

/// Signs `client` in (signed when the server has a master key) and returns its session token.
async fn token_of(server: &chinwag_server::RunningServer, client: &str, master: Option<&str>) -> String {
    let mut c = Client::connect(&server.ws_url(), Some("lc.protobuf2.3")).await;
    let session = match master {
        None => SessionCommand::default(),
        Some(key) => {
            let t = chinwag_server::time::now_ms() / 1000;
            let message = chinwag_server::signature::login_message("chinwag-local", client, t, "n");
            SessionCommand {
                s: Some(chinwag_server::signature::sign(key.as_bytes(), &message)),
                t: Some(t),
                n: Some("n".into()),
                ..Default::default()
            }
        }
    };
    let opened = c.open(client, session).await;
    assert_eq!(opened.op_type(), Some(OpType::Opened), "{opened:?}");
    opened.session_message.and_then(|s| s.st).expect("st")
}

const APP: (&str, &str) = ("X-LC-Id", "chinwag-local");
const KEY: (&str, &str) = ("X-LC-Key", "chinwag-local-key");

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
    let master = "the-master-key";
    let server = start(Some(master)).await;
    let addr = server.local_addr();
    let st = token_of(&server, "Tom", Some(master)).await;

    let signed = http::request(
        addr,
        "POST",
        "/1.1/rtm/sign",
        &[APP, KEY],
        Some(&json!({"session_token": st})),
    )
    .await;
    assert_eq!(signed.status, 200, "{signed:?}");
    let signature = signed.json["signature"].as_str().expect("signature").to_owned();
    let timestamp = signed.json["timestamp"].as_i64().expect("timestamp");
    let nonce = signed.json["nonce"].as_str().expect("nonce").to_owned();
    assert_eq!(signed.json["client_id"], json!("Tom"));
    let message = chinwag_server::signature::login_message("chinwag-local", "Tom", timestamp, &nonce);
    assert!(chinwag_server::signature::verify(
        master.as_bytes(),
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
    let bad = http::request(
        addr,
        "POST",
        "/1.1/rtm/sign",
        &[APP, KEY],
        Some(&json!({"token": 1})),
    )
    .await;
    assert_eq!(bad.status, 400);
    let forged = http::request(
        addr,
        "POST",
        "/1.1/rtm/sign",
        &[APP, KEY],
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
