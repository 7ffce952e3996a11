//! Garbage, truncated and oversized frames at a live server: the sender is closed cleanly with a
//! non-fatal code, and other clients keep chatting.

#[path = "common/client.rs"]
mod client;

use chinwag_protocol::{CommandType, DirectCommand, GenericCommand, is_fatal_close_code};
use chinwag_server::{Server, ServerConfig};
use client::{Client, Closed};
use tokio_tungstenite::tungstenite::Message;

async fn expect_clean_close(client: &mut Client, expected: u16) {
    loop {
        match client.recv().await {
            Err(Closed::Frame(Some(frame))) => {
                let code = u16::from(frame.code);
                assert_eq!(code, expected);
                assert!(!is_fatal_close_code(code));
                return;
            }
            Err(other) => panic!("expected a close frame, got {other:?}"),
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let server = Server::bind(ServerConfig::local("127.0.0.1:0".parse().expect("addr")))
        .await
        .expect("start");
    let url = server.ws_url();
    let mut tom = Client::login(&url, "Tom").await;
    let mut jerry = Client::login(&url, "Jerry").await;
    let cid = tom.create_conversation(&["Jerry"]).await;

    // Garbage bytes.
    let mut garbage = Client::login(&url, "Mallory").await;
    garbage.send_raw(Message::Binary(vec![0xff; 37].into())).await;
    expect_clean_close(&mut garbage, 1007).await;

    // A valid command cut short.
    let mut truncated = Client::login(&url, "Mallory").await;
    let bytes = chinwag_protocol::frame::encode_binary(
        &GenericCommand::request(CommandType::Direct, 9).with(DirectCommand {
            cid: Some(cid.clone()),
            msg: Some("a message that will be cut".into()),
            ..Default::default()
        }),
    );
    truncated
        .send_raw(Message::Binary(bytes[..bytes.len() - 5].to_vec().into()))
        .await;
    expect_clean_close(&mut truncated, 1007).await;

    // Text that is not base64.
    let mut text = Client::login(&url, "Mallory").await;
    text.send_raw(Message::Text("%%% not base64 %%%".into())).await;
    expect_clean_close(&mut text, 1007).await;

    // A frame over the 64 KB limit.
    let mut oversized = Client::login(&url, "Mallory").await;
    oversized
        .send_raw(Message::Binary(vec![0u8; 100 * 1024].into()))
        .await;
    expect_clean_close(&mut oversized, 4109).await;

    // Message content over the 5 KB limit: an error ack, and the connection stays usable.
    let big = tom
        .request(GenericCommand::new(CommandType::Direct).with(DirectCommand {
            cid: Some(cid.clone()),
            msg: Some("x".repeat(6 * 1024)),
            ..Default::default()
        }))
        .await;
    assert_eq!(big.ack_message.and_then(|a| a.code), Some(4109));

    // An unknown command type gets an error reply with both required fields.
    let unknown = tom
        .request(GenericCommand {
            cmd: Some(99),
            ..Default::default()
        })
        .await;
    let error = unknown.error_message.expect("error body");
    assert!(error.code != 0 && !error.reason.is_empty());

    // Everyone else still chats.
    let ack = tom
        .request(GenericCommand::new(CommandType::Direct).with(DirectCommand {
            cid: Some(cid.clone()),
            msg: Some("still here".into()),
            ..Default::default()
        }))
        .await;
    assert!(ack.ack_message.and_then(|a| a.uid).is_some());
    let got = jerry.push_of(CommandType::Direct).await;
    assert_eq!(
        got.direct_message.and_then(|d| d.msg).as_deref(),
        Some("still here")
    );
    server.shutdown().await;
}
