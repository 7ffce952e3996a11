//! End-to-end tests over real WebSockets on 127.0.0.1.

#[path = "common/client.rs"]
mod client;

use chinwag_protocol::{CommandType, DirectCommand, GenericCommand, LogsCommand, OpType};
use chinwag_server::{Server, ServerConfig};
use client::{Client, Closed};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn start() -> chinwag_server::RunningServer {
    Server::bind(ServerConfig::local("127.0.0.1:0".parse().expect("addr")))
        .await
        .expect("server starts")
}

fn text(cid: &str, text: &str) -> GenericCommand {
    GenericCommand::new(CommandType::Direct).with(DirectCommand {
        cid: Some(cid.into()),
        msg: Some(text.into()),
        ..Default::default()
    })
}

#[tokio::test]
async fn two_clients_chat_over_websockets() {
    let server = start().await;
    let url = server.ws_url();
    let mut tom = Client::login(&url, "Tom").await;
    assert_eq!(tom.protocol.as_deref(), Some("lc.protobuf2.3"));
    let mut jerry = Client::login(&url, "Jerry").await;
    let cid = tom.create_conversation(&["Jerry"]).await;
    let invited = jerry.push().await;
    assert_eq!(invited.op_type(), Some(OpType::Joined));
    assert_eq!(invited.peer_id.as_deref(), Some("Jerry"));
    let ack = tom.request(text(&cid, "hello Jerry")).await;
    let uid = ack.ack_message.and_then(|a| a.uid).expect("uid");
    let got = jerry.push_of(CommandType::Direct).await;
    assert_eq!(got.service, Some(2));
    let direct = got.direct_message.expect("direct");
    assert_eq!(direct.id, Some(uid));
    assert_eq!(direct.msg.as_deref(), Some("hello Jerry"));
    let echo = tom.request(GenericCommand::new(CommandType::Echo)).await;
    assert_eq!(echo.command_type(), Some(CommandType::Echo));
    server.shutdown().await;
}

#[tokio::test]
async fn base64_subprotocols_use_text_frames_header_or_query() {
    let server = start().await;
    let url = server.ws_url();
    let mut header = Client::connect(&url, Some("lc.proto2base64.3")).await;
    assert_eq!(header.protocol.as_deref(), Some("lc.proto2base64.3"));
    let opened = header.open("Tom", Default::default()).await;
    assert_eq!(opened.op_type(), Some(OpType::Opened));
    // The WeChat form: no header, `?subprotocol=`; the server must not echo a header.
    let mut query = Client::connect(&format!("{url}?subprotocol=lc.proto2base64.1"), None).await;
    assert_eq!(query.protocol, None);
    let opened = query.open("Jerry", Default::default()).await;
    assert_eq!(opened.peer_id.as_deref(), Some("Jerry"));
    let mut v1 = Client::connect(&url, Some("lc.protobuf2.1")).await;
    assert_eq!(v1.protocol.as_deref(), Some("lc.protobuf2.1"));
    assert_eq!(
        v1.open("Mary", Default::default()).await.op_type(),
        Some(OpType::Opened)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_subprotocols_are_refused() {
    let server = start().await;
    let refused = Client::try_connect(&server.ws_url(), Some("lc.json.3")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("handshake should fail"),
    }
    server.shutdown().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, serde_json::Value) {
    http_get_with(addr, path, &format!("Host: {addr}")).await
}

/// `GET path` with `headers` (CRLF-separated lines, `Host` among them).
async fn http_get_with(addr: std::net::SocketAddr, path: &str, headers: &str) -> (String, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\n{headers}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(client::GUARD, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        serde_json::from_str(body.trim()).expect("JSON body"),
    )
}

#[tokio::test]
async fn route_and_health_endpoints() {
    let server = start().await;
    let (status, route) = http_get(server.local_addr(), "/v1/route?appId=x&secure=false").await;
    assert!(status.contains("200"), "{status}");
    let url = server.ws_url();
    assert_eq!(route["server"], serde_json::json!(url));
    assert_eq!(route["secondary"], serde_json::json!(url));
    assert_eq!(route["ttl"], serde_json::json!(3600));
    let (status, health) = http_get(server.local_addr(), "/health").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(health["status"], "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn the_route_behind_a_tls_proxy_is_wss_or_the_configured_url() {
    let server = start().await;
    let addr = server.local_addr();
    let route = |headers: &'static str| http_get_with(addr, "/v1/route?appId=x", headers);
    let (_, plain) = route("Host: chat.example.com").await;
    assert_eq!(plain["server"], "ws://chat.example.com/");
    let (_, proxied) = route("Host: chat.example.com\r\nX-Forwarded-Proto: https").await;
    assert_eq!(proxied["server"], "wss://chat.example.com/");
    assert_eq!(proxied["secondary"], "wss://chat.example.com/");
    let (_, standard) = route("Host: chat.example.com\r\nForwarded: for=1.2.3.4;proto=https").await;
    assert_eq!(standard["server"], "wss://chat.example.com/");
    let (_, http_proxy) = route("Host: chat.example.com\r\nX-Forwarded-Proto: http").await;
    assert_eq!(http_proxy["server"], "ws://chat.example.com/");
    server.shutdown().await;

    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.public_ws_url = Some("wss://im.example.com/rtm".into());
    let server = Server::bind(config).await.expect("start");
    let (_, configured) = http_get_with(
        server.local_addr(),
        "/v1/route?appId=x",
        "Host: 127.0.0.1\r\nX-Forwarded-Proto: https",
    )
    .await;
    assert_eq!(configured["server"], "wss://im.example.com/rtm");
    server.shutdown().await;
}

#[tokio::test]
async fn messages_acked_before_a_restart_are_there_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.data_dir = Some(dir.path().to_owned());
    let server = Server::bind(config.clone()).await.expect("start");
    let mut tom = Client::login(&server.ws_url(), "Tom").await;
    let cid = tom.create_conversation(&["Jerry"]).await;
    // Pipeline the sends so they land in shared batches (group commit), then collect the acks.
    let count = 60;
    for n in 0..count {
        tom.send(&text(&cid, &format!("m{n}")).with_serial(1000 + n))
            .await;
    }
    let mut acked = Vec::new();
    while acked.len() < count as usize {
        let reply = tom.recv().await.expect("open");
        if let Some(ack) = reply.ack_message {
            assert!(ack.code.is_none(), "{ack:?}");
            acked.push(ack.uid.expect("uid"));
        }
    }
    server.shutdown().await;
    let server = Server::bind(config).await.expect("restart");
    let mut jerry = Client::login(&server.ws_url(), "Jerry").await;
    assert_eq!(jerry.history_ids(&cid).await, acked);
    // Jerry was a member who never read: the unread push after login counted them all.
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_sends_goaway_closes_with_1001_and_a_restart_takes_the_clients_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.data_dir = Some(dir.path().to_owned());
    let server = Server::bind(config.clone()).await.expect("server starts");
    let url = server.ws_url();
    let mut tom = Client::login(&url, "Tom").await;
    let mut jerry = Client::login(&url, "Jerry").await;
    let token = jerry
        .request(GenericCommand::new(CommandType::Session).with_op(OpType::Refresh))
        .await
        .session_message
        .and_then(|s| s.st)
        .expect("st");
    let cid = tom.create_conversation(&["Jerry"]).await;
    tom.request(text(&cid, "before the restart")).await;
    // A client that never logged in is told too.
    let mut idle = Client::connect(&url, None).await;

    let stopping = tokio::spawn(server.shutdown());
    for client in [&mut tom, &mut idle] {
        let goaway = loop {
            let command = client.recv().await.expect("goaway before the close");
            if command.command_type() == Some(CommandType::Goaway) {
                break command;
            }
        };
        assert_eq!((goaway.i, goaway.peer_id), (None, None));
        // Tom does not hang up: the server closes, with a code the SDKs reconnect after.
        match client.recv().await {
            Err(Closed::Frame(Some(frame))) => assert_eq!(u16::from(frame.code), 1001),
            other => panic!("expected a 1001 close, got {other:?}"),
        }
    }
    // Jerry hangs up on the goaway himself, as the SDKs do.
    loop {
        let command = jerry.recv().await.expect("goaway");
        if command.command_type() == Some(CommandType::Goaway) {
            break;
        }
    }
    drop(jerry);
    stopping.await.expect("shutdown finishes");

    // The restarted server on the same address takes a token re-login and kept the history.
    config.listen = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .expect("addr");
    let server = Server::bind(config)
        .await
        .expect("server restarts on the same port");
    let mut jerry = Client::connect(&server.ws_url(), None).await;
    let reopened = jerry
        .open(
            "Jerry",
            chinwag_protocol::SessionCommand {
                r: Some(true),
                st: Some(token),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(reopened.op_type(), Some(OpType::Opened));
    let logs = jerry
        .request(GenericCommand::new(CommandType::Logs).with(LogsCommand {
            cid: Some(cid),
            ..Default::default()
        }))
        .await;
    let texts: Vec<String> = logs
        .logs_message
        .expect("logs")
        .logs
        .into_iter()
        .filter_map(|l| l.data)
        .collect();
    assert_eq!(texts, ["before the restart"]);
    server.shutdown().await;
}

#[tokio::test]
async fn connections_are_pinged_and_a_silent_one_is_closed_as_dead() {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;

    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.ws_ping_secs = 1;
    let server = Server::bind(config).await.expect("start");
    let mut tom = Client::login(&server.ws_url(), "Tom").await;
    let mut ghost = Client::login(&server.ws_url(), "Ghost").await;
    // Tom keeps reading (tungstenite answers each ping with a pong as it reads); Ghost reads
    // nothing, so it sends no pong.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(4_500);
    while let Ok(Some(message)) = tokio::time::timeout_at(until, tom.ws.next()).await {
        match message.expect("still open") {
            Message::Ping(_) => pings += 1,
            other => panic!("only pings while idle, got {other:?}"),
        }
    }
    assert!(pings >= 3, "{pings} pings in 4.5 s");
    // Three silent seconds closed Ghost's connection: it is offline, Tom is not.
    let query = GenericCommand::new(CommandType::Session)
        .with_op(OpType::Query)
        .with(chinwag_protocol::SessionCommand {
            session_peer_ids: vec!["Ghost".into(), "Tom".into()],
            ..Default::default()
        });
    let online = tom.request(query).await.session_message.expect("body");
    assert_eq!(online.online_session_peer_ids, ["Tom"]);
    // Its socket is gone (the close frame, 1001, may be lost behind the pongs it now fails to send).
    match ghost.recv().await {
        Err(Closed::Frame(Some(frame))) => assert_eq!(u16::from(frame.code), 1001),
        Err(Closed::Frame(None) | Closed::Ended) => {}
        Ok(command) => panic!("expected the connection closed, got {command:?}"),
    }
    server.shutdown().await;
}
