//! A client that stops reading is disconnected once its queue fills; nobody else waits for it.

#[path = "common/client.rs"]
mod client;

use chinwag_protocol::{CommandType, ConvCommand, DirectCommand, GenericCommand, OpType};
use chinwag_server::{Server, ServerConfig};
use client::{Client, Closed};

#[tokio::test]
async fn a_stalled_reader_is_dropped_and_fan_out_continues() {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.outgoing_queue = 8;
    // Big messages make the point quickly: far more bytes than socket buffers hold.
    config.max_message_bytes = 60_000;
    let server = Server::bind(config).await.expect("start");
    let url = server.ws_url();
    let mut tom = Client::login(&url, "Tom").await;
    let mut jerry = Client::login(&url, "Jerry").await; // never reads until the end
    let mut mary = Client::login(&url, "Mary").await;
    let cid = tom
        .request(
            GenericCommand::new(CommandType::Conv)
                .with_op(OpType::Start)
                .with(ConvCommand {
                    m: vec!["Jerry".into(), "Mary".into()],
                    ..Default::default()
                }),
        )
        .await
        .conv_message
        .and_then(|c| c.cid)
        .expect("cid");
    let body = "x".repeat(60_000);
    // ~60 MB of pushes: more than the socket buffers can ever hold (tcp_rmem tops out at 32 MB).
    let count = 1000;
    let mut received = 0;
    for n in 0..count {
        let ack = tom
            .request(GenericCommand::new(CommandType::Direct).with(DirectCommand {
                cid: Some(cid.clone()),
                msg: Some(body.clone()),
                ..Default::default()
            }))
            .await;
        assert!(ack.ack_message.and_then(|a| a.uid).is_some(), "ack {n}");
        // Mary keeps up.
        while let Ok(push) =
            tokio::time::timeout(std::time::Duration::ZERO, mary.push_of(CommandType::Direct)).await
        {
            assert!(push.direct_message.is_some());
            received += 1;
        }
    }
    while received < count {
        mary.push_of(CommandType::Direct).await;
        received += 1;
    }
    // Jerry finally reads: what was queued, then the close (or the end of the stream).
    let mut delivered = 0;
    loop {
        match jerry.recv().await {
            Ok(_) => delivered += 1,
            Err(Closed::Frame(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1001);
                break;
            }
            Err(_) => break,
        }
    }
    assert!(
        delivered < count + 1,
        "Jerry was dropped before receiving everything ({delivered})"
    );
    server.shutdown().await;
}
