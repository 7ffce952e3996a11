//! A tiny HTTP/1.1 client for tests: one request per connection (`Connection: close`).

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A response: status and body parsed as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) json: serde_json::Value,
}

impl Response {
    /// The `objectId` of what a request created.
    #[allow(dead_code, reason = "not every test file creates objects")]
    pub(crate) fn object_id(&self) -> String {
        self.json["objectId"].as_str().expect("objectId").to_owned()
    }
}

/// The app id header of the test servers.
#[allow(dead_code, reason = "not every test file sends every header")]
pub(crate) const APP: (&str, &str) = ("X-LC-Id", "chinwag-local");
/// The app key header: enough for the client routes, not for the REST API 1.2.
#[allow(dead_code, reason = "not every test file sends every header")]
pub(crate) const KEY: (&str, &str) = ("X-LC-Key", "chinwag-local-key");
/// The master key the tests give servers that have one.
#[allow(dead_code, reason = "not every test file sends every header")]
pub(crate) const MASTER_KEY: &str = "the-master-key";
/// The master key header (`X-LC-Key: <master key>,master`).
#[allow(dead_code, reason = "not every test file sends every header")]
pub(crate) const MASTER: (&str, &str) = ("X-LC-Key", "the-master-key,master");

/// A request with the app id and the app key.
#[allow(dead_code, reason = "not every test file sends every kind of request")]
pub(crate) async fn app_key(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Response {
    request(addr, method, path, &[APP, KEY], body).await
}

/// A request with the app id and the master key.
#[allow(dead_code, reason = "not every test file sends every kind of request")]
pub(crate) async fn master(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Response {
    request(addr, method, path, &[APP, MASTER], body).await
}

/// Creates a normal conversation with the master key (`POST /1.2/rtm/conversations`); returns
/// its id.
#[allow(dead_code, reason = "not every test file creates conversations")]
pub(crate) async fn conversation(addr: std::net::SocketAddr, body: serde_json::Value) -> String {
    let created = master(addr, "POST", "/1.2/rtm/conversations", Some(&body)).await;
    assert_eq!(created.status, 200, "{created:?}");
    created.object_id()
}

/// Sends `method path` to `addr` with `headers` and an optional JSON `body`.
pub(crate) async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> Response {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Response {
        status,
        json: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
