//! A minimal RTM client over tokio-tungstenite for end-to-end tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine as _;
use chinwag_protocol::{CommandType, ConvCommand, GenericCommand, LogsCommand, OpType, SessionCommand};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Failure guard for awaits: tests wait for events, never sleep.
pub const GUARD: Duration = Duration::from_secs(10);

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub text: bool,
    pub protocol: Option<String>,
    serial: i32,
    pushes: VecDeque<GenericCommand>,
}

/// A session `open` carrying a login signature for `client` on `chinwag-local`, made now with
/// `master_key` and `nonce`.
pub fn signed_session(client: &str, master_key: &str, nonce: &str) -> SessionCommand {
    let t = chinwag_server::time::now_ms() / 1000;
    let message = chinwag_server::signature::login_message("chinwag-local", client, t, nonce);
    SessionCommand {
        s: Some(chinwag_server::signature::sign(master_key.as_bytes(), &message)),
        t: Some(t),
        n: Some(nonce.into()),
        ..Default::default()
    }
}

/// What arrived instead of a command.
#[derive(Debug)]
pub enum Closed {
    Frame(Option<CloseFrame>),
    Ended,
}

impl Client {
    /// Connects to `url` offering `subprotocol` in the header (if any).
    pub async fn connect(url: &str, subprotocol: Option<&str>) -> Self {
        Self::try_connect(url, subprotocol).await.expect("connect")
    }

    pub async fn try_connect(
        url: &str,
        subprotocol: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request()?;
        if let Some(subprotocol) = subprotocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(subprotocol).expect("header"),
            );
        }
        let (ws, response) = tokio::time::timeout(GUARD, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        let protocol = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = subprotocol
            .or(url.split("subprotocol=").nth(1))
            .is_some_and(|p| p.contains("base64"));
        Ok(Self {
            ws,
            text,
            protocol,
            serial: 0,
            pushes: VecDeque::new(),
        })
    }

    /// Connects with `lc.protobuf2.3` and signs in as `client`.
    pub async fn login(url: &str, client: &str) -> Self {
        let mut c = Self::connect(url, Some("lc.protobuf2.3")).await;
        let opened = c.open(client, SessionCommand::default()).await;
        assert_eq!(opened.op_type(), Some(OpType::Opened), "{opened:?}");
        c
    }

    /// Connects with `lc.protobuf2.3` and signs in as `client` with a login signature made now
    /// with `master_key` (as a server with `--require-signatures` wants).
    pub async fn signed_login(url: &str, client: &str, master_key: &str) -> Self {
        let mut c = Self::connect(url, Some("lc.protobuf2.3")).await;
        let opened = c.open(client, signed_session(client, master_key, "n")).await;
        assert_eq!(opened.op_type(), Some(OpType::Opened), "{opened:?}");
        c
    }

    pub async fn open(&mut self, client: &str, session: SessionCommand) -> GenericCommand {
        let open = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Open)
            .with_app_id("chinwag-local")
            .with_peer_id(client)
            .with(session);
        self.request(open).await
    }

    pub async fn send(&mut self, command: &GenericCommand) {
        let bytes = chinwag_protocol::frame::encode_binary(command);
        let message = if self.text {
            Message::Text(base64::engine::general_purpose::STANDARD.encode(bytes).into())
        } else {
            Message::Binary(bytes.into())
        };
        self.ws.send(message).await.expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send raw");
    }

    /// The next command, or how the connection ended.
    pub async fn recv(&mut self) -> Result<GenericCommand, Closed> {
        loop {
            let next = tokio::time::timeout(GUARD, self.ws.next())
                .await
                .expect("a frame in time");
            let frame = match next {
                Some(Ok(Message::Binary(bytes))) => {
                    assert!(!self.text, "binary frame on a base64 connection");
                    bytes
                }
                Some(Ok(Message::Text(text))) => {
                    assert!(self.text, "text frame on a binary connection");
                    Bytes::from(
                        base64::engine::general_purpose::STANDARD
                            .decode(text.as_str())
                            .expect("base64"),
                    )
                }
                Some(Ok(Message::Close(frame))) => return Err(Closed::Frame(frame)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Closed::Ended),
            };
            return Ok(chinwag_protocol::frame::decode_binary(&frame).expect("server frames decode"));
        }
    }

    /// Sends `command` with a fresh serial and returns the reply; pushes that arrive meanwhile
    /// are kept for [`Client::push`].
    pub async fn request(&mut self, command: GenericCommand) -> GenericCommand {
        self.serial += 1;
        let serial = self.serial;
        self.send(&command.with_serial(serial)).await;
        loop {
            let command = self.recv().await.expect("connection open");
            if command.serial() == Some(serial) {
                return command;
            }
            assert!(command.is_push(), "unexpected reply {command:?}");
            self.pushes.push_back(command);
        }
    }

    /// Starts a conversation (not distinct) of this client with `members`; returns its id.
    pub async fn create_conversation(&mut self, members: &[&str]) -> String {
        let reply = self
            .request(
                GenericCommand::new(CommandType::Conv)
                    .with_op(OpType::Start)
                    .with(ConvCommand {
                        m: members.iter().map(|m| m.to_string()).collect(),
                        ..Default::default()
                    }),
            )
            .await;
        reply.conv_message.and_then(|c| c.cid).expect("cid")
    }

    /// The ids of the messages of `cid`'s history, up to 1,000 (`logs`), in the order of the reply.
    pub async fn history_ids(&mut self, cid: &str) -> Vec<String> {
        let logs = self
            .request(GenericCommand::new(CommandType::Logs).with(LogsCommand {
                cid: Some(cid.to_owned()),
                l: Some(1000),
                ..Default::default()
            }))
            .await;
        logs.logs_message
            .expect("logs")
            .logs
            .into_iter()
            .filter_map(|log| log.msg_id)
            .collect()
    }

    /// The next push.
    pub async fn push(&mut self) -> GenericCommand {
        if let Some(push) = self.pushes.pop_front() {
            return push;
        }
        let command = self.recv().await.expect("connection open");
        assert!(command.is_push(), "expected a push, got {command:?}");
        command
    }

    /// The next push of type `cmd`, skipping others.
    pub async fn push_of(&mut self, cmd: CommandType) -> GenericCommand {
        loop {
            let push = self.push().await;
            if push.command_type() == Some(cmd) {
                return push;
            }
        }
    }
}
