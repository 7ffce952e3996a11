//! One WebSocket: subprotocol negotiation, then frames in (decoded, size-checked, handed to the hub)
//! and frames out (from the connection's bounded queue). This layer only frames bytes.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chinwag_protocol::{ErrorCode, Frame, Subprotocol};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::AppState;
use super::fanout::ConnHandle;
use super::hub_thread::HubEvent;

/// WebSocket close code for frames that are not RTM commands (RFC 6455 "invalid frame payload").
const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// WebSocket close code when the server stops or drops a client that cannot keep up. Not one of
/// the fatal codes (4100/4103/4110), so the official SDKs reconnect.
const CLOSE_GOING_AWAY: u16 = 1001;
/// How long a closing connection waits for the client to hang up first (after `goaway` the SDKs
/// close the socket themselves; closing under them races their own reconnect logic).
pub(crate) const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// `?subprotocol=` for clients that cannot set the header (WeChat mini-programs, 4.3.1).
#[derive(Debug, Deserialize)]
pub(crate) struct UpgradeQuery {
    subprotocol: Option<String>,
}

/// The client's IP address as the app's hooks get it (`sourceIP`). When the connection comes
/// from where a proxy would be (loopback or a private network), what the proxy says: `X-Real-IP`,
/// else the last `X-Forwarded-For` entry (the one the proxy added; earlier ones are the client's
/// to write). Otherwise, and when that is no IP address, the address the connection came from.
fn source_ip(headers: &HeaderMap, peer: SocketAddr) -> String {
    let behind_proxy = match peer.ip().to_canonical() {
        IpAddr::V4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        IpAddr::V6(ip) => ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local(),
    };
    let header = |name: &str| -> Option<IpAddr> {
        let value = headers.get(name)?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse().ok()
    };
    let told = behind_proxy
        .then(|| header("x-real-ip").or_else(|| header("x-forwarded-for")))
        .flatten();
    told.unwrap_or(peer.ip()).to_string()
}

/// `GET /`: accepts the WebSocket upgrade with one of the RTM subprotocols.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<UpgradeQuery>,
    mut ws: WebSocketUpgrade,
) -> Response {
    let source_ip = source_ip(&headers, peer);
    let offered: Vec<String> = ws
        .requested_protocols()
        .filter_map(|p| p.to_str().ok().map(str::to_owned))
        .collect();
    let subprotocol = if offered.is_empty() {
        match query.subprotocol.as_deref() {
            // No header and no query: the plain binary protocol, without echoing a header the
            // client did not ask for (strict clients reject that).
            None => Subprotocol::Protobuf2V3,
            Some(name) => match Subprotocol::parse(name) {
                Some(subprotocol) => subprotocol,
                None => return unsupported(name),
            },
        }
    } else {
        match offered.iter().find_map(|name| Subprotocol::parse(name)) {
            Some(subprotocol) => {
                ws.set_selected_protocol(HeaderValue::from_static(subprotocol.as_str()));
                subprotocol
            }
            None => return unsupported(&offered.join(", ")),
        }
    };
    // Let tungstenite accept a bit more than our limit so we can answer oversized frames with a
    // proper close code instead of a transport error.
    let transport_limit = state.config.max_frame_bytes.saturating_mul(4).max(1 << 20);
    ws.max_message_size(transport_limit)
        .max_frame_size(transport_limit)
        .on_upgrade(move |socket| serve(socket, state, subprotocol, source_ip))
}

fn unsupported(name: &str) -> Response {
    tracing::debug!(subprotocol = name, "refusing an unknown subprotocol");
    (
        StatusCode::BAD_REQUEST,
        format!("unsupported subprotocol {name:?}; use lc.protobuf2.3 or lc.proto2base64.3\n"),
    )
        .into_response()
}

async fn serve(socket: WebSocket, state: AppState, subprotocol: Subprotocol, source_ip: String) {
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (frames_tx, mut frames_rx) = mpsc::channel(state.config.outgoing_queue.max(1));
    let handle = ConnHandle {
        tx: frames_tx,
        format: subprotocol.format(),
    };
    if state
        .hub
        .send(HubEvent::Open(conn, handle, source_ip))
        .await
        .is_err()
    {
        return; // shutting down
    }
    tracing::debug!(conn, %subprotocol, "connection opened");
    let (mut sink, mut stream) = socket.split();
    let (close_tx, mut close_rx) = mpsc::channel::<(u16, &'static str)>(1);
    // When the client last sent anything (ms since `opened`), read by the pinger.
    let opened = tokio::time::Instant::now();
    let last_heard = AtomicU64::new(0);
    let heartbeat = Heartbeat::new(state.config.ws_ping_secs);
    let mut pings = heartbeat.pings(opened);

    let writer = async {
        loop {
            tokio::select! {
                () = next_tick(&mut pings) => {
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                }
                frame = frames_rx.recv() => match frame {
                    Some(frame) => {
                        if sink.send(frame).await.is_err() {
                            return;
                        }
                    }
                    None => {
                        // The hub dropped us (too slow) or is stopping (after a `goaway`): give
                        // the client a moment to close first, then close it ourselves.
                        let _ = sink.flush().await;
                        tokio::time::sleep(CLOSE_GRACE).await;
                        let _ = sink.send(close(CLOSE_GOING_AWAY, "going away")).await;
                        return;
                    }
                },
                Some((code, reason)) = close_rx.recv() => {
                    let _ = sink.send(close(code, reason)).await;
                    return;
                }
            }
        }
    };

    let max_frame = state.config.max_frame_bytes;
    let hub = state.hub.clone();
    let reader = async {
        let mut closing = false;
        while let Some(message) = stream.next().await {
            last_heard.store(elapsed_ms(opened), Ordering::Relaxed);
            let frame = match message {
                Ok(Message::Binary(bytes)) => Frame::Binary(bytes.to_vec()),
                Ok(Message::Text(text)) => Frame::Text(text.as_str().to_owned()),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(_)) | Err(_) => break,
            };
            if frame.len() > max_frame {
                tracing::debug!(conn, len = frame.len(), "frame too long");
                let code = ErrorCode::FrameTooLong.code() as u16;
                closing = close_tx.try_send((code, "FRAME_TOO_LONG")).is_ok();
                break;
            }
            match frame.decode() {
                Ok(command) => {
                    if hub.send(HubEvent::Command(conn, command)).await.is_err() {
                        // The hub stopped; the writer closes the connection.
                        closing = true;
                        break;
                    }
                }
                Err(error) => {
                    tracing::debug!(conn, %error, "malformed frame");
                    closing = close_tx
                        .try_send((CLOSE_INVALID_PAYLOAD, "malformed frame"))
                        .is_ok();
                    break;
                }
            }
        }
        if closing {
            // Let the writer send its close frame; it ends the connection when done.
            std::future::pending::<()>().await;
        }
    };

    // The watchdog is apart from the writer, which may be stuck sending to a peer that is gone.
    let dead = tokio::select! {
        () = writer => false,
        () = reader => false,
        () = heartbeat.silence(&last_heard, opened) => true,
    };
    if dead {
        tracing::debug!(conn, "no frame nor pong for three pings: closing as dead");
        // Best effort: a peer that is gone takes nothing.
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(close(CLOSE_GOING_AWAY, "no pong"))).await;
    }
    let _ = state.hub.send(HubEvent::Close(conn)).await;
    tracing::debug!(conn, "connection closed");
}

/// Milliseconds since `start`.
fn elapsed_ms(start: tokio::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The pings of a connection ([`crate::ServerConfig::ws_ping_secs`]) and how long it may stay
/// silent: three intervals. Pings off, neither fires.
struct Heartbeat {
    every: Option<std::time::Duration>,
}

impl Heartbeat {
    fn new(every_secs: u32) -> Self {
        Self {
            every: (every_secs > 0).then(|| std::time::Duration::from_secs(u64::from(every_secs))),
        }
    }

    /// The ping timer: first one interval after `start`.
    fn pings(&self, start: tokio::time::Instant) -> Option<tokio::time::Interval> {
        self.every.map(|every| {
            let mut interval = tokio::time::interval_at(start + every, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        })
    }

    /// Resolves once nothing has been heard (`last_heard`, ms after `opened`) for three intervals.
    async fn silence(&self, last_heard: &AtomicU64, opened: tokio::time::Instant) {
        let Some(every) = self.every else {
            return std::future::pending().await;
        };
        let allowed = every * 3;
        loop {
            let heard = std::time::Duration::from_millis(last_heard.load(Ordering::Relaxed));
            let deadline = opened + heard + allowed;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// The next tick of `pings`; never, without pings.
async fn next_tick(pings: &mut Option<tokio::time::Interval>) {
    match pings {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn source_ips_come_from_a_proxy_only_when_the_connection_comes_from_one() {
        let proxy: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let private: SocketAddr = "10.0.0.5:50000".parse().expect("addr");
        let public: SocketAddr = "203.0.113.9:50000".parse().expect("addr");
        let forwarded = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7")]);
        // The entry the proxy added is the last one; the first is whatever the client sent.
        assert_eq!(source_ip(&forwarded, proxy), "198.51.100.7");
        assert_eq!(source_ip(&forwarded, private), "198.51.100.7");
        let real = headers(&[("x-real-ip", "198.51.100.8"), ("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(source_ip(&real, proxy), "198.51.100.8");
        // A client on the internet cannot name its own address.
        assert_eq!(source_ip(&real, public), "203.0.113.9");
        // Nor can a header that is no address.
        assert_eq!(
            source_ip(&headers(&[("x-real-ip", "<script>")]), proxy),
            "127.0.0.1"
        );
        assert_eq!(source_ip(&HeaderMap::new(), proxy), "127.0.0.1");
    }
}
