//! Hub-level tests: every command, driven without sockets, with injected time.

use std::sync::Arc;

use chinwag_protocol::{
    AckCommand, CommandType, ConvCommand, DirectCommand, GenericCommand, JsonObjectMessage, LogsCommand,
    OpType, PatchCommand, PatchItem, ReadCommand, ReadTuple, SessionCommand, logs_command::QueryDirection,
};
use chinwag_server::hub::ConvKind;
use chinwag_server::storage::{
    ConversationRecord, HistoryQuery, Loaded, MemberRecord, MessageRecord, RevokedTokenRecord, StorageResult,
    UnreadCount,
};
use chinwag_server::{ConnId, Hub, HubConfig, Input, SqliteStorage, Storage, StorageError};
use serde_json::{Value, json};

#[path = "common/hub.rs"]
mod harness;

use harness::{Harness, Sent, T0, relogin, sent};

fn config() -> HubConfig {
    HubConfig::new("app", "secret")
}

impl Harness {
    fn new() -> Self {
        Self::with_storage(SqliteStorage::in_memory().expect("storage"))
    }

    fn with_storage(storage: SqliteStorage) -> Self {
        Self::start(config(), storage)
    }

    /// Tom (on connection 1) and Jerry (on 2) signed in, and Tom's new conversation with Jerry.
    fn tom_and_jerry() -> (Self, String) {
        Self::tom_and_jerry_on(SqliteStorage::in_memory().expect("storage"))
    }

    /// [`Self::tom_and_jerry`] over `storage`.
    fn tom_and_jerry_on(storage: SqliteStorage) -> (Self, String) {
        let mut h = Self::with_storage(storage);
        h.login(1, "Tom");
        h.login(2, "Jerry");
        let cid = h.create(1, "Tom", &["Jerry"], json!({}));
        (h, cid)
    }

    /// A request with a fresh serial.
    fn request(&mut self, cmd: CommandType, op: Option<OpType>) -> GenericCommand {
        self.serial += 1;
        let mut command = GenericCommand::request(cmd, self.serial);
        command.op = op.map(|op| op as i32);
        command
    }

    fn login_with(&mut self, conn: ConnId, client: &str, session: SessionCommand) -> Sent {
        self.hub.connect(conn);
        let open = self
            .request(CommandType::Session, Some(OpType::Open))
            .with_peer_id(client)
            .with_app_id("app")
            .with(session);
        self.run(conn, open)
    }

    fn login(&mut self, conn: ConnId, client: &str) -> Sent {
        self.login_with(conn, client, SessionCommand::default())
    }

    fn conv(&mut self, conn: ConnId, peer: &str, op: OpType, body: ConvCommand) -> Sent {
        let command = self
            .request(CommandType::Conv, Some(op))
            .with_peer_id(peer)
            .with(body);
        self.run(conn, command)
    }

    fn create(&mut self, conn: ConnId, peer: &str, members: &[&str], attr: Value) -> String {
        let sent = self.conv(
            conn,
            peer,
            OpType::Start,
            ConvCommand {
                m: members.iter().map(|m| m.to_string()).collect(),
                attr: Some(JsonObjectMessage {
                    data: attr.to_string(),
                }),
                ..Default::default()
            },
        );
        reply(&sent, conn)
            .conv_message
            .as_ref()
            .and_then(|c| c.cid.clone())
            .expect("cid")
    }

    /// A new chat room (transient conversation) started by `peer` on `conn`; returns its id.
    fn chat_room(&mut self, conn: ConnId, peer: &str) -> String {
        let transient = ConvCommand {
            transient: Some(true),
            ..Default::default()
        };
        let sent = self.conv(conn, peer, OpType::Start, transient);
        started_cid(&sent, conn)
    }

    fn send(&mut self, conn: ConnId, peer: &str, cid: &str, msg: &str) -> Sent {
        self.send_direct(conn, peer, text(cid, msg))
    }

    fn send_direct(&mut self, conn: ConnId, peer: &str, direct: DirectCommand) -> Sent {
        let command = self
            .request(CommandType::Direct, None)
            .with_peer_id(peer)
            .with(direct);
        self.run(conn, command)
    }

    fn logs(&mut self, conn: ConnId, peer: &str, logs: LogsCommand) -> GenericCommand {
        let command = self
            .request(CommandType::Logs, None)
            .with_peer_id(peer)
            .with(logs);
        let sent = self.run(conn, command);
        reply(&sent, conn).clone()
    }

    fn query(&mut self, conn: ConnId, peer: &str, body: ConvCommand) -> Vec<Value> {
        let sent = self.conv(conn, peer, OpType::Query, body);
        let data = reply(&sent, conn)
            .conv_message
            .as_ref()
            .and_then(|c| c.results.as_ref())
            .map(|r| r.data.clone())
            .expect("results");
        match serde_json::from_str(&data).expect("JSON") {
            Value::Array(items) => items,
            other => panic!("results not an array: {other}"),
        }
    }
}

/// The one reply (command with a serial) sent on `conn`.
fn reply(sent: &Sent, conn: ConnId) -> &GenericCommand {
    let replies: Vec<_> = sent
        .iter()
        .filter(|(c, cmd)| *c == conn && cmd.serial().is_some())
        .map(|(_, cmd)| cmd)
        .collect();
    assert_eq!(replies.len(), 1, "expected one reply on {conn}: {sent:#?}");
    replies[0]
}

/// Pushes (no serial) sent on `conn`.
/// The `conv` body of the one reply on `conn`.
fn conv_reply(sent: &Sent, conn: ConnId) -> ConvCommand {
    reply(sent, conn).conv_message.as_deref().cloned().expect("body")
}

fn pushes(sent: &Sent, conn: ConnId) -> Vec<&GenericCommand> {
    sent.iter()
        .filter(|(c, cmd)| *c == conn && cmd.is_push())
        .map(|(_, cmd)| cmd)
        .collect()
}

fn ops(sent: &Sent, conn: ConnId) -> Vec<OpType> {
    pushes(sent, conn).iter().filter_map(|c| c.op_type()).collect()
}

fn ack_of(sent: &Sent, conn: ConnId) -> AckCommand {
    let reply = reply(sent, conn);
    assert_eq!(reply.command_type(), Some(CommandType::Ack));
    reply.ack_message.as_deref().cloned().expect("ack body")
}

/// The error code of the one reply on `conn`, if it is an error.
fn error_code(sent: &Sent, conn: ConnId) -> Option<i32> {
    reply(sent, conn).server_error().map(|e| e.code)
}

/// The `cid` of the conversation whose `conv start` was answered on `conn`.
fn started_cid(sent: &Sent, conn: ConnId) -> String {
    reply(sent, conn)
        .conv_message
        .clone()
        .and_then(|c| c.cid)
        .expect("cid")
}

/// The session token of the sign-in answered on `conn`.
fn token_of(sent: &Sent, conn: ConnId) -> String {
    reply(sent, conn)
        .session_message
        .clone()
        .and_then(|s| s.st)
        .expect("st")
}

/// A `conv` body naming the conversation `cid` and nothing else.
fn conv_of(cid: &str) -> ConvCommand {
    ConvCommand {
        cid: Some(cid.into()),
        ..Default::default()
    }
}

/// A client's ack of the messages of `cid` from `fromts` to `tots` (the JS SDK's form, no serial).
fn ack_between(cid: &str, fromts: i64, tots: i64) -> GenericCommand {
    GenericCommand::new(CommandType::Ack).with(AckCommand {
        cid: Some(cid.into()),
        fromts: Some(fromts),
        tots: Some(tots),
        ..Default::default()
    })
}

/// A `conv` body listing `m` as members.
fn members(m: &[&str]) -> ConvCommand {
    ConvCommand {
        m: m.iter().map(|m| m.to_string()).collect(),
        ..Default::default()
    }
}

/// A `direct` of the text `msg` into `cid`.
fn text(cid: &str, msg: &str) -> DirectCommand {
    DirectCommand {
        cid: Some(cid.into()),
        msg: Some(msg.into()),
        ..Default::default()
    }
}

/// A `conv query` body asking for conversations matching the `where` JSON `w`.
fn query_where(w: Value) -> ConvCommand {
    ConvCommand {
        r#where: Some(JsonObjectMessage { data: w.to_string() }),
        ..Default::default()
    }
}

/// A `logs` query for the newest messages of `cid`.
fn logs_of(cid: &str) -> LogsCommand {
    LogsCommand {
        cid: Some(cid.into()),
        ..Default::default()
    }
}

#[test]
fn session_open_returns_peer_server_time_and_token() {
    let mut h = Harness::new();
    let sent = h.login(1, "Tom");
    let opened = reply(&sent, 1);
    assert_eq!(opened.op_type(), Some(OpType::Opened));
    assert_eq!(opened.peer_id.as_deref(), Some("Tom"));
    assert_eq!(opened.server_ts, Some(h.now));
    let session = opened.session_message.as_ref().expect("session body");
    assert!(session.st.as_deref().is_some_and(|st| !st.is_empty()));
    assert_eq!(session.st_ttl, Some(172_800));
    assert!(h.hub.is_online("Tom"));
}

#[test]
fn relogin_with_token_and_bad_or_expired_token_gets_4112() {
    let mut h = Harness::new();
    let sent = h.login(1, "Tom");
    let st = token_of(&sent, 1);
    let ok = h.login_with(2, "Tom", relogin(&st));
    assert_eq!(reply(&ok, 2).op_type(), Some(OpType::Opened));

    let bad = h.login_with(3, "Tom", relogin(format!("{st}x")));
    let closed = reply(&bad, 3);
    assert_eq!(closed.op_type(), Some(OpType::Closed));
    assert_eq!(closed.server_error().map(|e| e.code), Some(4112));
    assert!(!h.hub.clients_on(3).contains(&"Tom".to_string()));

    h.now += 3 * 24 * 3600 * 1000;
    let expired = h.login_with(4, "Tom", relogin(&st));
    assert_eq!(error_code(&expired, 4), Some(4112));
}

#[test]
fn session_refresh_issues_a_new_token_that_relogs_in() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.now += 1000;
    let refresh = h
        .request(CommandType::Session, Some(OpType::Refresh))
        .with_peer_id("Tom");
    let sent = h.run(1, refresh);
    let refreshed = reply(&sent, 1);
    assert_eq!(refreshed.op_type(), Some(OpType::Refreshed));
    let st = refreshed.session_message.clone().and_then(|s| s.st).expect("st");
    let relogin = h.login_with(2, "Tom", relogin(st));
    assert_eq!(reply(&relogin, 2).op_type(), Some(OpType::Opened));
}

#[test]
fn with_a_master_key_sign_ins_and_membership_changes_must_be_signed() {
    use chinwag_server::signature;
    let mut config = config();
    config.signature_key = Some(b"master".to_vec());
    config.require_signatures = true;
    let mut h = Harness {
        hub: Hub::new(config, SqliteStorage::in_memory().expect("storage")).expect("hub"),
        now: T0,
        serial: 0,
    };
    let unsigned = h.login(1, "Tom");
    assert_eq!(error_code(&unsigned, 1), Some(4102));
    let signed_login = |client: &str, key: &[u8]| SessionCommand {
        s: Some(signature::sign(
            key,
            &signature::login_message("app", client, 1_795_000_000, "n1"),
        )),
        t: Some(1_795_000_000),
        n: Some("n1".into()),
        ..Default::default()
    };
    let forged = h.login_with(1, "Tom", signed_login("Tom", b"guess"));
    assert_eq!(error_code(&forged, 1), Some(4102));
    let sent = h.login_with(1, "Tom", signed_login("Tom", b"master"));
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::Opened));
    // A token re-login needs no signature.
    let st = token_of(&sent, 1);
    let relogin = h.login_with(2, "Tom", relogin(st));
    assert_eq!(reply(&relogin, 2).op_type(), Some(OpType::Opened));

    let members = vec!["Jerry".to_string(), "Tom".to_string()];
    let start = |sig: Option<String>| ConvCommand {
        m: members.clone(),
        s: sig,
        t: Some(1_795_000_005),
        n: Some("n2".into()),
        ..Default::default()
    };
    let sent = h.conv(1, "Tom", OpType::Start, start(None));
    assert_eq!(error_code(&sent, 1), Some(4302));
    let create = signature::sign(
        b"master",
        &signature::create_message("app", "Tom", &members, 1_795_000_005, "n2"),
    );
    let sent = h.conv(1, "Tom", OpType::Start, start(Some(create)));
    let cid = started_cid(&sent, 1);
    // add: v5 signs `invite`, 4.3.1 `add`; both are accepted, anything else is not.
    for (action, ok) in [("invite", true), ("add", true), ("kick", false)] {
        let m = vec![format!("Mary-{action}")];
        let sig = signature::sign(
            b"master",
            &signature::membership_message("app", "Tom", &cid, &m, 1_795_000_006, "n3", action),
        );
        let sent = h.conv(
            1,
            "Tom",
            OpType::Add,
            ConvCommand {
                cid: Some(cid.clone()),
                m,
                s: Some(sig),
                t: Some(1_795_000_006),
                n: Some("n3".into()),
                ..Default::default()
            },
        );
        let error = error_code(&sent, 1);
        assert_eq!(error, if ok { None } else { Some(4302) }, "{action}");
    }
}

#[test]
fn with_signatures_required_a_refresh_carries_a_login_signature_or_the_session_token() {
    use chinwag_server::signature;
    let mut config = config();
    config.signature_key = Some(b"master".to_vec());
    config.require_signatures = true;
    let mut h = Harness::start(config, SqliteStorage::in_memory().expect("storage"));
    // What `signatureFactory("Tom")` returns, signed with `key` at `t` (seconds).
    let signed = |key: &[u8], t: i64, nonce: &str| SessionCommand {
        s: Some(signature::sign(
            key,
            &signature::login_message("app", "Tom", t, nonce),
        )),
        t: Some(t),
        n: Some(nonce.into()),
        ..Default::default()
    };
    let now_secs = T0 / 1000;
    let sent = h.login_with(1, "Tom", signed(b"master", now_secs, "n1"));
    let first_token = token_of(&sent, 1);
    let refresh = |h: &mut Harness, session: SessionCommand| {
        let command = h
            .request(CommandType::Session, Some(OpType::Refresh))
            .with_peer_id("Tom")
            .with(session);
        h.run(1, command)
    };
    let stale = now_secs - 24 * 3600;
    for (what, session) in [
        ("unsigned", SessionCommand::default()),
        ("forged", signed(b"guess", now_secs, "n2")),
        ("stale", signed(b"master", stale, "n3")),
    ] {
        let sent = refresh(&mut h, session);
        let error = reply(&sent, 1);
        assert_eq!(error.command_type(), Some(CommandType::Error), "{what}");
        assert_eq!(error.server_error().map(|e| e.code), Some(4102), "{what}");
    }
    // The refused refreshes issued nothing: the first token still signs Tom in again.
    let relogin_sent = h.login_with(2, "Tom", relogin(&first_token));
    assert_eq!(reply(&relogin_sent, 2).op_type(), Some(OpType::Opened));
    let sent = refresh(&mut h, signed(b"master", now_secs, "n4"));
    let refreshed = reply(&sent, 1);
    assert_eq!(refreshed.op_type(), Some(OpType::Refreshed));
    let st = refreshed.session_message.clone().and_then(|s| s.st).expect("st");
    assert_ne!(st, first_token);
    // The Swift SDK signs no refresh: it sends the token this session holds, expired or not.
    h.now += 3 * 24 * 3600 * 1000;
    let token_only = |st: &str| SessionCommand {
        st: Some(st.to_owned()),
        ..Default::default()
    };
    let sent = refresh(&mut h, token_only(&first_token));
    assert_eq!(
        error_code(&sent, 1),
        Some(4102),
        "a token this session no longer holds"
    );
    let sent = refresh(&mut h, token_only(&st));
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::Refreshed));
}

#[test]
fn with_a_master_key_but_no_required_signatures_a_refresh_needs_none() {
    let mut config = config();
    config.signature_key = Some(b"master".to_vec());
    let mut h = Harness::start(config, SqliteStorage::in_memory().expect("storage"));
    h.login(1, "Tom");
    let refresh = h
        .request(CommandType::Session, Some(OpType::Refresh))
        .with_peer_id("Tom");
    let sent = h.run(1, refresh);
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::Refreshed));
}

#[test]
fn anonymous_login_gets_a_generated_id() {
    let mut h = Harness::new();
    h.hub.connect(1);
    let open = h.request(CommandType::Session, Some(OpType::Open));
    let sent = h.run(1, open);
    let id = reply(&sent, 1).peer_id.clone().expect("generated peerId");
    assert!(!id.is_empty());
    assert_eq!(h.hub.clients_on(1), [id]);
}

#[test]
fn commands_before_login_get_4105_and_echo_is_answered() {
    let mut h = Harness::new();
    h.hub.connect(1);
    let direct = h.request(CommandType::Direct, None);
    let sent = h.run(1, direct);
    assert_eq!(error_code(&sent, 1), Some(4105));
    let query = h.request(CommandType::Conv, Some(OpType::Query));
    let sent = h.run(1, query);
    let error = reply(&sent, 1);
    assert_eq!(error.command_type(), Some(CommandType::Error));
    let body = error.error_message.as_ref().expect("error body");
    assert_eq!((body.code, body.reason.as_str()), (4105, "SESSION_REQUIRED"));
    let echo = h.request(CommandType::Echo, None);
    let serial = echo.i;
    let sent = h.run(1, echo);
    assert_eq!(reply(&sent, 1).command_type(), Some(CommandType::Echo));
    assert_eq!(reply(&sent, 1).i, serial);
}

#[test]
fn same_tag_on_another_device_closes_the_older_session_with_4111() {
    let mut h = Harness::new();
    let tagged = |device: &str| SessionCommand {
        tag: Some("mobile".into()),
        device_id: Some(device.into()),
        ..Default::default()
    };
    let first = h.login_with(1, "Tom", tagged("d1"));
    let st = token_of(&first, 1);
    let sent = h.login_with(2, "Tom", tagged("d2"));
    let kicked = pushes(&sent, 1);
    assert_eq!(kicked.len(), 1);
    assert_eq!(kicked[0].op_type(), Some(OpType::Closed));
    assert_eq!(kicked[0].peer_id.as_deref(), Some("Tom"));
    assert_eq!(kicked[0].service, Some(2));
    assert_eq!(kicked[0].server_error().map(|e| e.code), Some(4111));
    assert!(h.hub.clients_on(1).is_empty());
    // The kicked device's automatic re-login is refused with 4111 too.
    let relogin = h.login_with(1, "Tom", relogin(st));
    assert_eq!(error_code(&relogin, 1), Some(4111));
    // A different tag does not conflict.
    let other = h.login_with(
        3,
        "Tom",
        SessionCommand {
            tag: Some("web".into()),
            device_id: Some("d3".into()),
            ..Default::default()
        },
    );
    assert!(pushes(&other, 2).is_empty());
}

#[test]
fn a_kicked_token_stays_refused_until_it_would_have_expired() {
    let mut config = config();
    config.session_ttl_secs = 60;
    let mut h = Harness::start(config, SqliteStorage::in_memory().expect("storage"));
    let tagged = |device: &str| SessionCommand {
        tag: Some("mobile".into()),
        device_id: Some(device.into()),
        ..Default::default()
    };
    let first = h.login_with(1, "Tom", tagged("d1"));
    let issued_at = h.now;
    let st = token_of(&first, 1);
    h.login_with(2, "Tom", tagged("d2"));
    // Refused as revoked (4111) up to the last millisecond of its life.
    h.now = issued_at + 60_000 - 2;
    let relogin_late = h.login_with(3, "Tom", relogin(st.clone()));
    assert_eq!(error_code(&relogin_late, 3), Some(4111));
    // From its expiry on it is refused as expired (4112), as any expired token is.
    h.now = issued_at + 60_000 - 1;
    let relogin_expired = h.login_with(3, "Tom", relogin(st));
    assert_eq!(error_code(&relogin_expired, 3), Some(4112));
}

/// The code `session/open` was refused with on `conn` (the SDKs read login failures from
/// `session/closed`), `None` when it opened.
fn login_refusal(sent: &Sent, conn: ConnId) -> Option<i32> {
    let reply = reply(sent, conn);
    match reply.op_type() {
        Some(OpType::Opened) => None,
        _ => Some(reply.server_error().map_or(0, |e| e.code)),
    }
}

#[test]
fn a_signed_out_token_is_refused_but_a_dropped_connection_keeps_its_own() {
    let mut h = Harness::new();
    let tom = h.login(1, "Tom");
    let tom_st = token_of(&tom, 1);
    let jerry = h.login(2, "Jerry");
    let jerry_st = token_of(&jerry, 2);
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Tom");
    let sent = h.run(1, close);
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::Closed));
    // Signed out for good: the token re-logs nobody in, nor does it open the REST API.
    let again = h.login_with(3, "Tom", relogin(&tom_st));
    assert_eq!(login_refusal(&again, 3), Some(4112));
    assert!(h.hub.notifications(None, &tom_st, "Tom", 0, h.now).is_err());
    // A dropped connection is not a sign-out: its automatic re-login still works.
    h.hub.disconnect(2, h.now);
    let back = h.login_with(4, "Jerry", relogin(&jerry_st));
    assert_eq!(login_refusal(&back, 4), None);
}

#[test]
fn a_client_kicked_by_the_app_cannot_come_back_with_its_tokens() {
    let mut h = Harness::new();
    let first = h.login(1, "Tom");
    let second = h.login(2, "Tom");
    let tokens = [token_of(&first, 1), token_of(&second, 2)];
    h.now += 1;
    let (closed, _) = h.hub.kick("Tom", Some("banned"), h.now);
    assert_eq!(closed.expect("kicked"), 2);
    for (conn, st) in [(3, &tokens[0]), (4, &tokens[1])] {
        let again = h.login_with(conn, "Tom", relogin(st));
        assert_eq!(login_refusal(&again, conn), Some(4112), "token of session {conn}");
        assert!(h.hub.notifications(None, st, "Tom", 0, h.now).is_err());
    }
}

#[test]
fn a_refreshed_token_replaces_the_old_one() {
    let mut h = Harness::new();
    let sent = h.login(1, "Tom");
    let old = token_of(&sent, 1);
    // Refreshed in the millisecond of the sign-in: still a different token.
    h.now -= 1;
    let refresh = h
        .request(CommandType::Session, Some(OpType::Refresh))
        .with_peer_id("Tom");
    let sent = h.run(1, refresh);
    let new = reply(&sent, 1)
        .session_message
        .clone()
        .and_then(|s| s.st)
        .expect("st");
    assert_ne!(new, old);
    let stale = h.login_with(2, "Tom", relogin(&old));
    assert_eq!(login_refusal(&stale, 2), Some(4112));
    assert!(h.hub.notifications(None, &old, "Tom", 0, h.now).is_err());
    assert!(h.hub.notifications(None, &new, "Tom", 0, h.now).is_ok());
    let fresh = h.login_with(3, "Tom", relogin(&new));
    assert_eq!(login_refusal(&fresh, 3), None);
}

#[test]
fn a_second_sign_in_on_the_same_connection_replaces_the_token() {
    let mut h = Harness::new();
    let old = token_of(&h.login(1, "Tom"), 1);
    let new = token_of(&h.login(1, "Tom"), 1);
    assert_ne!(new, old, "a new token even in the same millisecond");
    let stale = h.login_with(2, "Tom", relogin(&old));
    assert_eq!(login_refusal(&stale, 2), Some(4112));
    assert!(h.hub.notifications(None, &old, "Tom", 0, h.now).is_err());
    let fresh = h.login_with(3, "Tom", relogin(&new));
    assert_eq!(login_refusal(&fresh, 3), None);
}

#[test]
fn revoked_tokens_stay_refused_after_a_restart_until_they_expire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config();
    config.session_ttl_secs = 60;
    let mut h = Harness::start(config.clone(), SqliteStorage::open(dir.path()).expect("open"));
    let sign_out = |h: &mut Harness, conn: ConnId, client: &str| {
        let close = h
            .request(CommandType::Session, Some(OpType::Close))
            .with_peer_id(client);
        h.run(conn, close);
    };
    // Tom's token expires 30 s before Jerry's; both sign out.
    let tom_st = token_of(&h.login(1, "Tom"), 1);
    sign_out(&mut h, 1, "Tom");
    h.now += 30_000;
    let jerry_st = token_of(&h.login(2, "Jerry"), 2);
    sign_out(&mut h, 2, "Jerry");
    let stored = h.hub.into_storage().revoked_tokens().expect("stored");
    assert_eq!(stored.len(), 2, "both revocations are stored");

    // Restarted on the same database once Tom's token expired but not Jerry's.
    let mut restarted = config;
    restarted.id_seed = 1;
    let mut h = Harness::start(restarted, SqliteStorage::open(dir.path()).expect("reopen"));
    h.now = T0 + 61_000;
    assert!(h.hub.notifications(None, &jerry_st, "Jerry", 0, h.now).is_err());
    let again = h.login_with(3, "Jerry", relogin(&jerry_st));
    assert_eq!(
        login_refusal(&again, 3),
        Some(4112),
        "still revoked after the restart"
    );
    let expired = h.login_with(4, "Tom", relogin(&tom_st));
    assert_eq!(login_refusal(&expired, 4), Some(4112), "expired");
    // The first batch after the restart pruned the expired revocation; the live one is kept.
    let stored = h.hub.into_storage().revoked_tokens().expect("stored");
    let tokens: Vec<&str> = stored.iter().map(|r| r.token.as_str()).collect();
    assert_eq!(tokens, [jerry_st.as_str()]);
    assert!(stored[0].expires_at > T0 + 61_000);
}

#[test]
fn a_sign_in_right_after_a_sign_out_gets_a_working_token() {
    let mut h = Harness::new();
    let sent = h.login(1, "Tom");
    let revoked = token_of(&sent, 1);
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Tom");
    h.run(1, close);
    // The new sign-in falls into the millisecond of the first one, so the same expiry.
    h.now -= 2;
    let sent = h.login(2, "Tom");
    let st = token_of(&sent, 2);
    assert_ne!(st, revoked);
    h.hub.disconnect(2, h.now);
    let back = h.login_with(3, "Tom", relogin(&st));
    assert_eq!(login_refusal(&back, 3), None);
}

#[test]
fn clients_share_a_connection_and_peerless_commands_go_to_the_first() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(1, "Jerry");
    assert_eq!(h.hub.clients_on(1), ["Tom", "Jerry"]);
    let mut start = h
        .request(CommandType::Conv, Some(OpType::Start))
        .with(members(&["Mary"]));
    start.peer_id = None;
    let sent = h.run(1, start);
    let cid = started_cid(&sent, 1);
    let cid2 = h.create(1, "Jerry", &["Mary"], json!({}));
    let docs = h.query(1, "Jerry", ConvCommand::default());
    let creator = |id: &str| docs.iter().find(|d| d["objectId"] == id).map(|d| d["c"].clone());
    assert_eq!(creator(&cid), Some(json!("Tom")));
    assert_eq!(creator(&cid2), Some(json!("Jerry")));
    // A peerId not signed in on this connection is refused.
    let stranger = h
        .request(CommandType::Conv, Some(OpType::Query))
        .with_peer_id("Mary");
    let sent = h.run(1, stranger);
    assert_eq!(error_code(&sent, 1), Some(4105));
}

#[test]
fn session_query_and_close() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let query = h
        .request(CommandType::Session, Some(OpType::Query))
        .with_peer_id("Tom")
        .with(SessionCommand {
            session_peer_ids: vec!["Jerry".into(), "Mary".into()],
            ..Default::default()
        });
    let sent = h.run(1, query);
    let online = reply(&sent, 1)
        .session_message
        .clone()
        .expect("body")
        .online_session_peer_ids;
    assert_eq!(online, ["Jerry"]);
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Jerry");
    let sent = h.run(2, close);
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::Closed));
    assert!(!h.hub.is_online("Jerry"));
}

#[test]
fn membership_changes_push_the_seed_events_table() {
    let mut h = Harness::new();
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary"), (4, "Bob")] {
        h.login(conn, client);
    }
    // create: Tom MEMBERS_JOINED, Jerry INVITED
    let sent = h.conv(1, "Tom", OpType::Start, members(&["Jerry"]));
    let cid = started_cid(&sent, 1);
    assert_eq!(ops(&sent, 1), [OpType::MembersJoined]);
    assert_eq!(ops(&sent, 2), [OpType::Joined]);
    assert_eq!(
        pushes(&sent, 2)[0]
            .conv_message
            .as_ref()
            .and_then(|c| c.init_by.as_deref()),
        Some("Tom")
    );
    // add Mary: Tom, Jerry MEMBERS_JOINED; Mary INVITED
    let body = |m: &[&str]| ConvCommand {
        cid: Some(cid.clone()),
        m: m.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let sent = h.conv(1, "Tom", OpType::Add, body(&["Mary"]));
    assert_eq!(
        reply(&sent, 1)
            .conv_message
            .as_ref()
            .map(|c| c.allowed_pids.clone()),
        Some(vec!["Mary".to_string()])
    );
    assert_eq!(ops(&sent, 1), [OpType::MembersJoined]);
    assert_eq!(ops(&sent, 2), [OpType::MembersJoined]);
    assert_eq!(ops(&sent, 3), [OpType::Joined]);
    let joined = pushes(&sent, 2)[0].conv_message.clone().expect("body");
    assert_eq!(
        (joined.m, joined.init_by),
        (vec!["Mary".to_string()], Some("Tom".to_string()))
    );
    // remove Mary: Tom, Jerry MEMBERS_LEFT; Mary KICKED
    let sent = h.conv(1, "Tom", OpType::Remove, body(&["Mary"]));
    assert_eq!(ops(&sent, 1), [OpType::MembersLeft]);
    assert_eq!(ops(&sent, 2), [OpType::MembersLeft]);
    assert_eq!(ops(&sent, 3), [OpType::Left]);
    // join by Mary: everyone MEMBERS_JOINED
    let sent = h.conv(3, "Mary", OpType::Add, body(&["Mary"]));
    for conn in [1, 2, 3] {
        assert_eq!(ops(&sent, conn), [OpType::MembersJoined], "conn {conn}");
    }
    // quit by Tom: everyone MEMBERS_LEFT
    let sent = h.conv(1, "Tom", OpType::Remove, body(&["Tom"]));
    for conn in [1, 2, 3] {
        assert_eq!(ops(&sent, conn), [OpType::MembersLeft], "conn {conn}");
    }
    assert!(pushes(&sent, 4).is_empty());
    // Member queries follow the changes.
    let member_of = |h: &mut Harness, conn, who: &str| -> bool {
        let docs = h.query(conn, who, query_where(json!({"m": {"$all": [who]}})));
        docs.iter().any(|d| d["objectId"] == json!(cid))
    };
    assert!(member_of(&mut h, 3, "Mary"));
    assert!(!member_of(&mut h, 1, "Tom"));
    // A non-member cannot add others.
    let sent = h.conv(4, "Bob", OpType::Add, body(&["Tom"]));
    assert_eq!(error_code(&sent, 4), Some(4317));
    // Unknown conversations are 4303.
    let sent = h.conv(4, "Bob", OpType::Add, conv_of("nope"));
    assert_eq!(error_code(&sent, 4), Some(4303));
}

#[test]
fn empty_and_repeated_client_ids_in_member_lists_are_dropped() {
    let (mut h, cid) = Harness::tom_and_jerry();
    h.login(3, "Mary");
    let listing = |m: &[&str]| ConvCommand {
        m: m.iter().map(|m| m.to_string()).collect(),
        ..conv_of(&cid)
    };
    // add: the empty id is neither stored nor reported; Mary, named twice, is added once.
    let sent = h.conv(1, "Tom", OpType::Add, listing(&["", "Mary", "Mary"]));
    let added = conv_reply(&sent, 1);
    assert_eq!(added.allowed_pids, ["Mary"]);
    assert_eq!(h.hub.members(&cid).expect("members"), ["Jerry", "Mary", "Tom"]);
    let joined = pushes(&sent, 2);
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].conv_message.clone().expect("body").m, ["Mary"]);
    // An add naming only the empty id changes nothing (and is not a join of the sender).
    let sent = h.conv(1, "Tom", OpType::Add, listing(&[""]));
    assert!(conv_reply(&sent, 1).allowed_pids.is_empty());
    assert!(pushes(&sent, 2).is_empty());
    // remove: likewise, and a removal naming only the empty id is not a quit.
    let sent = h.conv(1, "Tom", OpType::Remove, listing(&[""]));
    assert!(conv_reply(&sent, 1).allowed_pids.is_empty());
    assert_eq!(h.hub.members(&cid).expect("members"), ["Jerry", "Mary", "Tom"]);
    let sent = h.conv(1, "Tom", OpType::Remove, listing(&["", "Mary"]));
    assert_eq!(conv_reply(&sent, 1).allowed_pids, ["Mary"]);
    assert_eq!(h.hub.members(&cid).expect("members"), ["Jerry", "Tom"]);
    // shut-up list: the empty id is dropped, not failed; Jerry, named twice, is told once.
    let sent = h.conv(1, "Tom", OpType::AddShutup, listing(&["", "Jerry", "Jerry"]));
    let shutup = conv_reply(&sent, 1);
    assert_eq!(shutup.allowed_pids, ["Jerry"]);
    assert!(shutup.failed_pids.is_empty());
    assert_eq!(ops(&sent, 2), [OpType::Shutuped]);
    let sent = h.conv(1, "Tom", OpType::QueryShutup, conv_of(&cid));
    assert_eq!(conv_reply(&sent, 1).m, ["Jerry"]);
    // blacklist: the empty id is never listed.
    let block = h
        .request(CommandType::Blacklist, Some(OpType::Block))
        .with_peer_id("Tom")
        .with(chinwag_protocol::BlacklistCommand {
            src_cid: Some(cid.clone()),
            to_pids: vec![String::new(), "Mary".into(), "Mary".into()],
            ..Default::default()
        });
    let sent = h.run(1, block);
    let blocked = reply(&sent, 1).blacklist_message.clone().expect("body");
    assert_eq!(blocked.allowed_pids, ["Mary"]);
    assert_eq!(ops(&sent, 3), [OpType::Blocked]);
    let listed = h.hub.blocked(&cid, ConvKind::Normal, None, 0);
    assert_eq!(listed.expect("blacklist").0, ["Mary"]);
}

/// Member lists are in client-id order however the members came in (created with, added,
/// removed), in query results, `max_read` of all members and the REST list, and stay so after a
/// restart; member queries find the conversation through the client → conversations index before
/// and after, and no longer for a member who left.
#[test]
fn member_lists_are_in_client_id_order_however_members_came_in_and_after_a_restart() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let cid = h.create(1, "Tom", &["Zoe", "Amy"], json!({}));
    let change = |m: &[&str]| ConvCommand {
        m: m.iter().map(|m| m.to_string()).collect(),
        ..conv_of(&cid)
    };
    h.conv(1, "Tom", OpType::Add, change(&["Yan", "Bob"]));
    h.conv(1, "Tom", OpType::Remove, change(&["Amy"]));
    let expected = ["Bob", "Tom", "Yan", "Zoe"];
    for restarted in [false, true] {
        if restarted {
            h = Harness::with_storage(h.hub.into_storage());
            h.login(1, "Tom");
        }
        assert_eq!(
            h.hub.members(&cid).expect("members"),
            expected,
            "restarted: {restarted}"
        );
        let found = h.query(1, "Tom", query_where(json!({"m": "Yan"})));
        assert_eq!(found.len(), 1, "restarted: {restarted}");
        assert_eq!(found[0]["m"], json!(expected));
        let found = h.query(1, "Tom", query_where(json!({"m": {"$all": ["Zoe", "Bob"]}})));
        assert_eq!(found.len(), 1, "restarted: {restarted}");
        assert!(h.query(1, "Tom", query_where(json!({"m": "Amy"}))).is_empty());
        let all = ConvCommand {
            query_all_members: Some(true),
            ..conv_of(&cid)
        };
        let sent = h.conv(1, "Tom", OpType::MaxRead, all);
        let pids: Vec<String> = conv_reply(&sent, 1)
            .max_read_tuples
            .into_iter()
            .filter_map(|t| t.pid)
            .collect();
        assert_eq!(pids, expected, "restarted: {restarted}");
    }
}

/// `mute`, `unmute` and `max_read` are about one's own membership: a non-member gets 4401
/// INVALID_MESSAGING_TARGET ("Conversation does not exist or client is not a member"), as for a
/// `direct` to the conversation, and changes or learns nothing.
#[test]
fn mute_and_max_read_of_a_non_member_get_4401() {
    let (mut h, cid) = Harness::tom_and_jerry();
    h.login(3, "Mary");
    for op in [OpType::Mute, OpType::Unmute, OpType::MaxRead] {
        let sent = h.conv(3, "Mary", op, conv_of(&cid));
        assert_eq!(error_code(&sent, 3), Some(4401), "{op:?}");
        assert!(pushes(&sent, 1).is_empty() && pushes(&sent, 2).is_empty());
    }
    assert_eq!(h.query(1, "Tom", conv_of(&cid))[0]["mu"], json!([]));
    // A missing conversation is still 4303.
    let sent = h.conv(3, "Mary", OpType::Mute, conv_of("missing"));
    assert_eq!(error_code(&sent, 3), Some(4303));
    // Members still can.
    let sent = h.conv(2, "Jerry", OpType::Mute, conv_of(&cid));
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::Updated));
    assert_eq!(h.query(1, "Tom", conv_of(&cid))[0]["mu"], json!(["Jerry"]));
    let sent = h.conv(2, "Jerry", OpType::Unmute, conv_of(&cid));
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::Updated));
    let all = ConvCommand {
        query_all_members: Some(true),
        ..conv_of(&cid)
    };
    let sent = h.conv(1, "Tom", OpType::MaxRead, all);
    let body = conv_reply(&sent, 1);
    assert_eq!(body.max_read_tuples.len(), 2);
}

/// A member that leaves, however it leaves, is taken off the `mu` list (seen through `conv/query`
/// and the REST API, and stored).
#[test]
fn members_that_leave_are_taken_off_the_mute_list() {
    let mut h = Harness::new();
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary"), (4, "Spike"), (5, "Tyke")] {
        h.login(conn, client);
    }
    let cid = h.create(1, "Tom", &["Jerry", "Mary", "Spike", "Tyke"], json!({}));
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary"), (4, "Spike"), (5, "Tyke")] {
        h.conv(conn, client, OpType::Mute, conv_of(&cid));
    }
    let mu = |h: &mut Harness| h.query(1, "Tom", conv_of(&cid))[0]["mu"].clone();
    assert_eq!(mu(&mut h), json!(["Tom", "Jerry", "Mary", "Spike", "Tyke"]));
    // Removed by a member, quitting, blocked, removed over REST.
    let sent = h.conv(
        1,
        "Tom",
        OpType::Remove,
        ConvCommand {
            m: vec!["Jerry".into()],
            ..conv_of(&cid)
        },
    );
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::Removed));
    assert_eq!(mu(&mut h), json!(["Tom", "Mary", "Spike", "Tyke"]));
    h.conv(3, "Mary", OpType::Leave, conv_of(&cid));
    assert_eq!(mu(&mut h), json!(["Tom", "Spike", "Tyke"]));
    let (blocked, _) = h
        .hub
        .set_blocked(&cid, ConvKind::Normal, &["Spike".to_string()], true, h.now);
    blocked.expect("blocked");
    let (removed, _) = h.hub.change_members(&cid, &["Tyke".to_string()], false, h.now);
    removed.expect("removed");
    assert_eq!(h.hub.muted(&cid).expect("mu"), ["Tom"]);
    let restarted = Hub::new(config(), h.hub.into_storage()).expect("reopened");
    assert_eq!(restarted.muted(&cid).expect("mu"), ["Tom"], "stored");

    // Chat rooms: quitting, being blocked, signing out.
    let mut h = Harness::new();
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary"), (4, "Spike")] {
        h.login(conn, client);
    }
    let room = h.chat_room(1, "Tom");
    for (conn, client) in [(2, "Jerry"), (3, "Mary"), (4, "Spike")] {
        h.conv(conn, client, OpType::Join, conv_of(&room));
    }
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary"), (4, "Spike")] {
        h.conv(conn, client, OpType::Mute, conv_of(&room));
    }
    h.conv(2, "Jerry", OpType::Leave, conv_of(&room));
    assert_eq!(h.hub.muted(&room).expect("mu"), ["Tom", "Mary", "Spike"]);
    let (blocked, _) = h
        .hub
        .set_blocked(&room, ConvKind::ChatRoom, &["Mary".to_string()], true, h.now);
    blocked.expect("blocked");
    assert_eq!(h.hub.muted(&room).expect("mu"), ["Tom", "Spike"]);
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Spike");
    h.run(4, close);
    assert_eq!(h.query(1, "Tom", conv_of(&room))[0]["mu"], json!(["Tom"]));
    let restarted = Hub::new(config(), h.hub.into_storage()).expect("reopened");
    assert_eq!(restarted.muted(&room).expect("mu"), ["Tom"], "stored");
}

/// In a chat room, membership is being in the room now: joined clients may mute it and ask for
/// receipt timestamps, others get 4401.
#[test]
fn chat_room_mute_and_max_read_need_being_in_the_room() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = h.chat_room(1, "Tom");
    for op in [OpType::Mute, OpType::MaxRead] {
        let sent = h.conv(2, "Jerry", op, conv_of(&cid));
        assert_eq!(error_code(&sent, 2), Some(4401), "{op:?}");
    }
    h.conv(2, "Jerry", OpType::Join, conv_of(&cid));
    let sent = h.conv(2, "Jerry", OpType::Mute, conv_of(&cid));
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::Updated));
    let sent = h.conv(2, "Jerry", OpType::MaxRead, conv_of(&cid));
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::MaxRead));
}

/// Chat-room membership is who joined while online: a member cannot add others (online or not);
/// the whole request gets 4314 NORMAL_CONVERSATION_REQUIRED and nobody is added. Joining oneself
/// (`join`, or `add` naming oneself) still works.
#[test]
fn a_chat_room_member_cannot_add_other_clients() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = h.chat_room(1, "Tom");
    let adding = |ids: &[&str]| ConvCommand {
        m: ids.iter().map(|id| id.to_string()).collect(),
        ..conv_of(&cid)
    };
    for ids in [&["Offline"][..], &["Jerry"], &["Tom", "Offline"]] {
        let sent = h.conv(1, "Tom", OpType::Add, adding(ids));
        assert_eq!(error_code(&sent, 1), Some(4314), "{ids:?}");
        assert!(pushes(&sent, 2).is_empty());
    }
    let sent = h.conv(1, "Tom", OpType::Join, adding(&["Offline"]));
    assert_eq!(error_code(&sent, 1), Some(4314));
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Tom"]);
    // The added id is not a member: it could not send into the room once online.
    h.login(3, "Offline");
    assert_eq!(ack_of(&h.send(3, "Offline", &cid, "hi"), 3).code, Some(4401));
    // Joining oneself, either way.
    let sent = h.conv(2, "Jerry", OpType::Add, adding(&["Jerry"]));
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::Added));
    let sent = h.conv(3, "Offline", OpType::Join, conv_of(&cid));
    assert_eq!(reply(&sent, 3).op_type(), Some(OpType::Added));
    assert_eq!(
        h.hub.room_members(&cid).expect("room"),
        ["Jerry", "Offline", "Tom"]
    );
}

/// The mirror of adding: a chat-room member (the creator too) cannot remove others, online or not;
/// the whole request gets 4314 and nobody leaves. Quitting oneself (`quit` is `remove` of oneself)
/// still works, and the app's backend can still throw a client out (REST blacklist).
#[test]
fn a_chat_room_member_cannot_remove_other_clients() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    h.login(3, "Mary");
    let cid = h.chat_room(1, "Tom");
    h.conv(2, "Jerry", OpType::Join, conv_of(&cid));
    h.conv(3, "Mary", OpType::Join, conv_of(&cid));
    let removing = |ids: &[&str]| ConvCommand {
        m: ids.iter().map(|id| id.to_string()).collect(),
        ..conv_of(&cid)
    };
    for (conn, peer, ids) in [
        (1, "Tom", &["Jerry"][..]),
        (2, "Jerry", &["Tom"]),
        (2, "Jerry", &["Jerry", "Mary"]),
        (1, "Tom", &["Offline"]),
    ] {
        for op in [OpType::Remove, OpType::Kick] {
            let sent = h.conv(conn, peer, op, removing(ids));
            assert_eq!(error_code(&sent, conn), Some(4314), "{peer} {op:?} {ids:?}");
        }
    }
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Jerry", "Mary", "Tom"]);
    // Quitting oneself, either way.
    let sent = h.conv(2, "Jerry", OpType::Remove, removing(&["Jerry"]));
    assert_eq!(reply(&sent, 2).op_type(), Some(OpType::Removed));
    let sent = h.conv(3, "Mary", OpType::Leave, conv_of(&cid));
    assert_eq!(reply(&sent, 3).op_type(), Some(OpType::Removed));
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Tom"]);
    // The backend removes whom it wants.
    h.conv(2, "Jerry", OpType::Join, conv_of(&cid));
    let (blocked, _) = h
        .hub
        .set_blocked(&cid, ConvKind::ChatRoom, &["Jerry".to_string()], true, h.now);
    blocked.expect("blocked");
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Tom"]);
}

#[test]
fn a_client_blocked_by_the_chat_room_owner_leaves_the_room() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = h.chat_room(1, "Tom");
    h.conv(2, "Jerry", OpType::Join, conv_of(&cid));
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Jerry", "Tom"]);
    let block = h
        .request(CommandType::Blacklist, Some(OpType::Block))
        .with_peer_id("Tom")
        .with(chinwag_protocol::BlacklistCommand {
            src_cid: Some(cid.clone()),
            to_pids: vec!["Jerry".into()],
            ..Default::default()
        });
    let sent = h.run(1, block);
    let blocked = reply(&sent, 1).blacklist_message.clone().expect("body");
    assert_eq!(blocked.allowed_pids, ["Jerry"]);
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Tom"]);
    // Out of the room: no more of its messages, and barred from joining again.
    let sent = h.send(1, "Tom", &cid, "after the block");
    assert!(pushes(&sent, 2).iter().all(|push| push.direct_message.is_none()));
    let sent = h.conv(2, "Jerry", OpType::Join, conv_of(&cid));
    let refused = conv_reply(&sent, 2).failed_pids;
    assert_eq!(
        (refused[0].code, refused[0].pids.clone()),
        (4315, vec!["Jerry".to_string()])
    );
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Tom"]);
}

#[test]
fn a_chat_room_join_naming_an_empty_id_adds_nobody() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let cid = h.chat_room(1, "Tom");
    let sent = h.conv(
        1,
        "Tom",
        OpType::Add,
        ConvCommand {
            m: vec![String::new()],
            ..conv_of(&cid)
        },
    );
    assert!(conv_reply(&sent, 1).allowed_pids.is_empty());
    assert_eq!(h.hub.room_members(&cid).expect("room"), ["Tom"]);
}

#[test]
fn deleting_a_conversation_pushes_nothing_and_members_then_get_not_found_codes() {
    let (mut h, cid) = Harness::tom_and_jerry();
    let (deleted, out) = h.hub.delete_conversation(&cid, ConvKind::Normal);
    deleted.expect("deleted");
    // The protocol has no op for a deleted conversation (README "Conversation deletion").
    assert!(out.is_empty(), "pushed {out:?}");
    assert_eq!(ack_of(&h.send(2, "Jerry", &cid, "anyone?"), 2).code, Some(4401));
    let sent = h.conv(
        1,
        "Tom",
        OpType::Add,
        ConvCommand {
            m: vec!["Mary".into()],
            ..conv_of(&cid)
        },
    );
    assert_eq!(error_code(&sent, 1), Some(4303));
    assert!(
        h.query(1, "Tom", query_where(json!({"objectId": cid})))
            .is_empty()
    );
}

#[test]
fn attributes_nested_too_deep_are_refused_and_the_conversations_load_again() {
    let (mut h, cid) = Harness::tom_and_jerry();
    let update = |changes: serde_json::Map<String, Value>| ConvCommand {
        attr: Some(JsonObjectMessage {
            data: Value::Object(changes).to_string(),
        }),
        ..conv_of(&cid)
    };
    // 200 levels from one dotted key (the JSON itself is shallow).
    let mut deep_key = serde_json::Map::new();
    deep_key.insert(vec!["a"; 200].join("."), json!(1));
    let sent = h.conv(1, "Tom", OpType::Update, update(deep_key.clone()));
    assert_eq!(error_code(&sent, 1), Some(4306));
    assert!(pushes(&sent, 2).is_empty(), "nothing changed, nobody told");
    // The REST update (`PUT /1.2/rtm/conversations/{id}`) too.
    let (updated, out) = h.hub.update_conversation(&cid, deep_key, h.now);
    let code = match updated {
        Err(chinwag_server::AdminError::Code { code, .. }) => Some(code.code()),
        _ => None,
    };
    assert_eq!(code, Some(4306));
    assert!(out.is_empty());
    // A short dotted key and a deep value add up.
    let mut value = json!(1);
    for _ in 0..120 {
        value = json!({ "b": value });
    }
    let mut deep_value = serde_json::Map::new();
    deep_value.insert("x.y.z".into(), value);
    let sent = h.conv(1, "Tom", OpType::Update, update(deep_value));
    assert_eq!(error_code(&sent, 1), Some(4306));
    let mut fine = serde_json::Map::new();
    fine.insert("attr.color".into(), json!("red"));
    let sent = h.conv(1, "Tom", OpType::Update, update(fine));
    assert_eq!(error_code(&sent, 1), None);
    // Stored attributes parse back: the hub starts again over the same storage.
    let hub = Hub::new(config(), h.hub.into_storage()).expect("storage loads again");
    assert_eq!(hub.members(&cid).expect("members"), ["Jerry", "Tom"]);
}

#[test]
fn missed_notifications_page_with_has_more_and_never_split_one_millisecond() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let sent = h.login(2, "Jerry");
    let st = token_of(&sent, 2);
    let since = h.now;
    h.hub.disconnect(2, h.now);
    // 99 invitations a millisecond apart, then 5 in one batch (one millisecond, across the page
    // boundary of 100), then 50 more: 154 events for Jerry.
    let start = |h: &mut Harness| {
        h.request(CommandType::Conv, Some(OpType::Start))
            .with_peer_id("Tom")
            .with(members(&["Jerry"]))
    };
    for _ in 0..99 {
        let command = start(&mut h);
        h.run(1, command);
    }
    h.now += 1;
    let batch: Vec<Input> = (0..5).map(|_| Input::Command(1, start(&mut h))).collect();
    h.hub.handle_batch(batch, h.now);
    for _ in 0..50 {
        let command = start(&mut h);
        h.run(1, command);
    }
    // Page as the v5 SDK does: the next page starts after the newest `serverTs` received.
    let mut cids = Vec::new();
    let mut pages = Vec::new();
    let mut after = since;
    loop {
        let (page, has_more) = h
            .hub
            .notifications(None, &st, "Jerry", after, h.now)
            .expect("notifications");
        pages.push(page.len());
        after = page
            .iter()
            .filter_map(|n| n["serverTs"].as_i64())
            .max()
            .unwrap_or(after);
        cids.extend(page.into_iter().map(|n| n["cid"].clone()));
        if !has_more {
            break;
        }
    }
    assert_eq!(
        pages,
        [99, 55],
        "the shared millisecond moves to the second page whole"
    );
    let unique: std::collections::BTreeSet<String> = cids.iter().map(Value::to_string).collect();
    assert_eq!((cids.len(), unique.len()), (154, 154));
}

#[test]
fn conversation_events_are_kept_for_members_who_were_offline() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let sent = h.login(2, "Jerry");
    let st = token_of(&sent, 2);
    let since = h.now;
    h.hub.disconnect(2, h.now);
    let sent = h.conv(1, "Tom", OpType::Start, members(&["Jerry"]));
    let cid = started_cid(&sent, 1);
    assert_eq!(
        pushes(&sent, 1)[0].notification_type,
        Some(1),
        "permanent notification"
    );
    let (notifications, has_more) = h
        .hub
        .notifications(None, &st, "Jerry", since, h.now)
        .expect("notifications");
    assert!(!has_more);
    assert_eq!(
        notifications,
        [
            json!({"cid": cid, "initBy": "Tom", "cmd": "conv", "op": "joined", "serverTs": h.now, "notificationType": 1})
        ]
    );
    let (later, _) = h
        .hub
        .notifications(None, &st, "Jerry", h.now, h.now)
        .expect("notifications");
    assert!(later.is_empty());
    assert!(
        h.hub.notifications(None, &st, "Tom", since, h.now).is_err(),
        "another client's token"
    );
    assert!(
        h.hub
            .notifications(None, "forged", "Jerry", since, h.now)
            .is_err()
    );
    // Kept for a week, then pruned.
    h.hub.prune_notifications(h.now + 8 * 24 * 3600 * 1000);
    let (pruned, _) = h
        .hub
        .notifications(None, &st, "Jerry", since, h.now)
        .expect("notifications");
    assert!(pruned.is_empty());
}

#[test]
fn owners_shut_up_and_block_members() {
    let mut h = Harness::new();
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary")] {
        h.login(conn, client);
    }
    let cid = h.create(1, "Tom", &["Jerry", "Mary"], json!({}));
    let body = |m: &[&str]| ConvCommand {
        cid: Some(cid.clone()),
        m: m.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    // Only the owner moderates.
    let sent = h.conv(2, "Jerry", OpType::AddShutup, body(&["Mary"]));
    assert_eq!(error_code(&sent, 2), Some(4308));
    let sent = h.conv(1, "Tom", OpType::AddShutup, body(&["Jerry", "Bob"]));
    let result = conv_reply(&sent, 1);
    assert_eq!(result.allowed_pids, ["Jerry"]);
    assert_eq!(result.failed_pids.len(), 1);
    assert_eq!(
        (result.failed_pids[0].code, result.failed_pids[0].pids.clone()),
        (4317, vec!["Bob".to_string()])
    );
    assert_eq!(ops(&sent, 2), [OpType::Shutuped]);
    assert_eq!(ops(&sent, 1), [OpType::MembersShutuped]);
    assert_eq!(ops(&sent, 3), [OpType::MembersShutuped]);
    assert_eq!(ack_of(&h.send(2, "Jerry", &cid, "hush"), 2).code, Some(4308));
    let sent = h.conv(1, "Tom", OpType::QueryShutup, body(&[]));
    assert_eq!(conv_reply(&sent, 1).m, ["Jerry"]);
    let sent = h.conv(1, "Tom", OpType::RemoveShutup, body(&["Jerry"]));
    assert_eq!(ops(&sent, 2), [OpType::Unshutuped]);
    assert!(ack_of(&h.send(2, "Jerry", &cid, "free"), 2).uid.is_some());
    // Blocking removes and bars the member.
    let blacklist = |h: &mut Harness, op: OpType, pids: &[&str]| {
        let command = h
            .request(CommandType::Blacklist, Some(op))
            .with_peer_id("Tom")
            .with(chinwag_protocol::BlacklistCommand {
                src_cid: Some(cid.clone()),
                to_pids: pids.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            });
        h.run(1, command)
    };
    let sent = blacklist(&mut h, OpType::Block, &["Mary"]);
    let blocked = reply(&sent, 1).blacklist_message.clone().expect("body");
    assert_eq!(blocked.allowed_pids, ["Mary"]);
    assert_eq!(ops(&sent, 3), [OpType::Left, OpType::Blocked]);
    assert_eq!(ops(&sent, 2), [OpType::MembersLeft, OpType::MembersBlocked]);
    let sent = blacklist(&mut h, OpType::Query, &[]);
    assert_eq!(
        reply(&sent, 1)
            .blacklist_message
            .clone()
            .expect("body")
            .blocked_pids,
        ["Mary"]
    );
    let sent = h.conv(3, "Mary", OpType::Join, body(&["Mary"]));
    let join = conv_reply(&sent, 3);
    assert!(join.allowed_pids.is_empty());
    assert_eq!(join.failed_pids[0].code, 4315);
    assert_eq!(ack_of(&h.send(3, "Mary", &cid, "let me in"), 3).code, Some(4401));
    blacklist(&mut h, OpType::Unblock, &["Mary"]);
    let sent = h.conv(3, "Mary", OpType::Join, body(&["Mary"]));
    assert_eq!(conv_reply(&sent, 3).allowed_pids, ["Mary"]);
}

#[test]
fn a_timed_shut_up_ends_by_itself_keeps_the_list_apart_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut h, cid) = Harness::tom_and_jerry_on(SqliteStorage::open(dir.path()).expect("open"));
    let (result, out) = h
        .hub
        .set_timed_silence(&cid, ConvKind::Normal, "Jerry", Some(60_000), h.now);
    result.expect("silenced");
    let out = sent(out);
    assert_eq!(ops(&out, 2), [OpType::Shutuped]);
    assert_eq!(ops(&out, 1), [OpType::MembersShutuped]);
    assert_eq!(ack_of(&h.send(2, "Jerry", &cid, "hush"), 2).code, Some(4308));
    // The permanent list (`query_shutup`, `permanent-silenceds`) does not show it.
    let query = ConvCommand {
        cid: Some(cid.clone()),
        ..Default::default()
    };
    let listed = h.conv(1, "Tom", OpType::QueryShutup, query.clone());
    assert!(conv_reply(&listed, 1).m.is_empty());
    // The owner cannot be silenced.
    let (result, out) = h
        .hub
        .set_timed_silence(&cid, ConvKind::Normal, "Tom", Some(60_000), h.now);
    result.expect("ignored");
    assert!(out.is_empty());
    assert!(ack_of(&h.send(1, "Tom", &cid, "still here"), 1).uid.is_some());

    // Still silenced after a restart, until the time is up; then pruned.
    let mut h = Harness::start(config(), h.hub.into_storage());
    h.now = T0 + 30_000;
    h.login(2, "Jerry");
    assert_eq!(ack_of(&h.send(2, "Jerry", &cid, "now?"), 2).code, Some(4308));
    // Silenced a few milliseconds after T0, for a minute.
    h.now = T0 + 61_000;
    assert!(ack_of(&h.send(2, "Jerry", &cid, "free"), 2).uid.is_some());
    h.hub.prune_timed_shutups(h.now);

    // Lifted early, with a push; on the permanent list as well, lifting it changes nothing.
    let (result, _) = h
        .hub
        .set_timed_silence(&cid, ConvKind::Normal, "Jerry", Some(60_000), h.now);
    result.expect("silenced");
    let (result, out) = h
        .hub
        .set_timed_silence(&cid, ConvKind::Normal, "Jerry", None, h.now);
    result.expect("lifted");
    assert_eq!(ops(&sent(out), 2), [OpType::Unshutuped]);
    assert!(ack_of(&h.send(2, "Jerry", &cid, "back"), 2).uid.is_some());
    let on_the_list = ConvCommand {
        m: vec!["Jerry".into()],
        ..query
    };
    h.login(1, "Tom");
    h.conv(1, "Tom", OpType::AddShutup, on_the_list.clone());
    for ttl in [Some(60_000), None] {
        let (result, out) = h
            .hub
            .set_timed_silence(&cid, ConvKind::Normal, "Jerry", ttl, h.now);
        result.expect("accepted");
        assert!(out.is_empty(), "Jerry stays silenced: nothing to tell");
    }
    assert_eq!(ack_of(&h.send(2, "Jerry", &cid, "hm"), 2).code, Some(4308));
    let mut storage = h.hub.into_storage();
    assert!(
        storage.timed_shutups().expect("stored").is_empty(),
        "pruned and lifted"
    );

    // Off the permanent list while shut up for a while: still silent, and not told otherwise.
    let mut h = Harness::start(config(), storage);
    h.now = T0 + 70_000;
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let (result, _) = h
        .hub
        .set_timed_silence(&cid, ConvKind::Normal, "Jerry", Some(60_000), h.now);
    result.expect("silenced");
    let sent = h.conv(1, "Tom", OpType::RemoveShutup, on_the_list);
    assert_eq!(conv_reply(&sent, 1).allowed_pids, ["Jerry"]);
    assert!(ops(&sent, 2).is_empty(), "no unshutuped: {sent:?}");
    assert_eq!(ack_of(&h.send(2, "Jerry", &cid, "and now?"), 2).code, Some(4308));
}

#[test]
fn a_client_that_blocked_a_conversation_is_not_added_to_it_by_others() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = h.create(1, "Tom", &["Mary"], json!({}));
    h.hub.set_client_block("Jerry", &cid, true).0.expect("blocked");
    let jerry = ConvCommand {
        cid: Some(cid.clone()),
        m: vec!["Jerry".into()],
        ..Default::default()
    };
    let sent = h.conv(1, "Tom", OpType::Add, jerry.clone());
    let added = conv_reply(&sent, 1);
    assert!(added.allowed_pids.is_empty());
    assert_eq!(
        (added.failed_pids[0].code, added.failed_pids[0].pids.clone()),
        (4315, vec!["Jerry".to_owned()])
    );
    assert!(ops(&sent, 2).is_empty(), "Jerry is not invited");
    let (result, _) = h.hub.change_members(&cid, &["Jerry".into()], true, h.now);
    result.expect("answered");
    assert_eq!(
        h.hub.members(&cid).expect("members"),
        ["Mary", "Tom"],
        "nor by the backend"
    );
    assert_eq!(h.hub.client_blocked("Jerry", None, 0), (vec![cid.clone()], None));
    // Kept across a restart.
    let now = h.now;
    let mut h = Harness::start(config(), h.hub.into_storage());
    h.now = now;
    h.login(1, "Tom");
    h.login(2, "Jerry");
    assert_eq!(h.hub.client_blocked("Jerry", None, 0), (vec![cid.clone()], None));
    // Jerry may still join it himself; once unblocked, others may add him.
    let sent = h.conv(2, "Jerry", OpType::Add, jerry.clone());
    assert_eq!(conv_reply(&sent, 2).allowed_pids, ["Jerry"]);
    let sent = h.conv(2, "Jerry", OpType::Remove, jerry.clone());
    assert_eq!(conv_reply(&sent, 2).allowed_pids, ["Jerry"]);
    h.hub.set_client_block("Jerry", &cid, false).0.expect("unblocked");
    let sent = h.conv(1, "Tom", OpType::Add, jerry);
    assert_eq!(conv_reply(&sent, 1).allowed_pids, ["Jerry"]);
    assert!(h.hub.set_client_block("Jerry", "nope", true).0.is_err(), "4303");
}

#[test]
fn stats_count_clients_online_now_and_distinct_sign_ins_of_the_utc_day() {
    const DAY: i64 = 24 * 3600 * 1000;
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    h.login(3, "Tom");
    let stats = h.hub.stats(h.now).expect("stats");
    assert_eq!((stats.online, stats.signed_in_today), (2, 2));
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Jerry");
    h.run(2, close);
    let stats = h.hub.stats(h.now).expect("stats");
    assert_eq!(
        (stats.online, stats.signed_in_today),
        (1, 2),
        "Jerry signed in today"
    );
    // The next UTC day counts afresh.
    h.now = (T0 / DAY + 1) * DAY;
    h.login(4, "Mary");
    let stats = h.hub.stats(h.now).expect("stats");
    assert_eq!((stats.online, stats.signed_in_today), (2, 1));
    // Days before yesterday are forgotten.
    h.hub.prune_sign_ins(h.now + DAY);
    let mut storage = h.hub.into_storage();
    assert_eq!(storage.clients_signed_in_on(T0 / DAY).expect("count"), 0);
    assert_eq!(storage.clients_signed_in_on(T0 / DAY + 1).expect("count"), 1);
}

#[test]
fn owners_appoint_managers_who_can_moderate() {
    let mut h = Harness::new();
    let st = token_of(&h.login(1, "Tom"), 1);
    h.login(2, "Jerry");
    h.login(3, "Mary");
    let cid = h.create(1, "Tom", &["Jerry", "Mary"], json!({}));
    let role = |target: &str, role: &str| ConvCommand {
        cid: Some(cid.clone()),
        target_client_id: Some(target.into()),
        info: Some(chinwag_protocol::ConvMemberInfo {
            pid: Some(target.into()),
            role: Some(role.into()),
            info_id: None,
        }),
        ..Default::default()
    };
    // A member cannot promote itself.
    let sent = h.conv(3, "Mary", OpType::MemberInfoUpdate, role("Mary", "Manager"));
    assert_eq!(error_code(&sent, 3), Some(4308));
    let sent = h.conv(1, "Tom", OpType::MemberInfoUpdate, role("Jerry", "Manager"));
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::MemberInfoUpdated));
    for conn in [1, 2, 3] {
        let push = pushes(&sent, conn);
        assert_eq!(push.len(), 1, "conn {conn}");
        assert_eq!(push[0].op_type(), Some(OpType::MemberInfoChanged));
        let info = push[0].conv_message.clone().and_then(|c| c.info).expect("info");
        assert_eq!(
            (info.pid.as_deref(), info.role.as_deref()),
            (Some("Jerry"), Some("Manager"))
        );
    }
    assert_eq!(
        h.hub.member_infos(None, &st, "Tom", &cid, h.now).expect("roles"),
        [json!({"objectId": format!("{cid}:Jerry"), "cid": cid, "clientId": "Jerry", "role": "Manager"})]
    );
    // The manager moderates, but not the owner.
    let shut = |m: &str| ConvCommand {
        cid: Some(cid.clone()),
        m: vec![m.into()],
        ..Default::default()
    };
    let sent = h.conv(2, "Jerry", OpType::AddShutup, shut("Mary"));
    assert_eq!(conv_reply(&sent, 2).allowed_pids, ["Mary"]);
    let sent = h.conv(2, "Jerry", OpType::AddShutup, shut("Tom"));
    assert!(conv_reply(&sent, 2).allowed_pids.is_empty());
    let sent = h.conv(2, "Jerry", OpType::MemberInfoUpdate, role("Tom", "Member"));
    assert_eq!(error_code(&sent, 2), Some(4308));
    // Back to Member: no longer listed.
    h.conv(1, "Tom", OpType::MemberInfoUpdate, role("Jerry", "Member"));
    assert!(
        h.hub
            .member_infos(None, &st, "Tom", &cid, h.now)
            .expect("roles")
            .is_empty()
    );
}

#[test]
fn unique_conversations_are_distinct_by_member_set() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let unique = |m: &str| ConvCommand {
        m: vec![m.into()],
        unique: Some(true),
        ..Default::default()
    };
    let a = h.conv(1, "Tom", OpType::Start, unique("Jerry"));
    let b = h.conv(2, "Jerry", OpType::Start, unique("Tom"));
    let cid = |sent: &Sent, conn| reply(sent, conn).conv_message.clone().and_then(|c| c.cid);
    assert_eq!(cid(&a, 1), cid(&b, 2));
    assert!(pushes(&b, 1).is_empty(), "no events for an existing conversation");
    let c = h.conv(1, "Tom", OpType::Start, members(&["Jerry"]));
    assert_ne!(cid(&a, 1), cid(&c, 1));
}

#[test]
fn chat_rooms_have_no_member_list_and_count_online_members() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    h.login(3, "Mary");
    let sent = h.conv(
        1,
        "Tom",
        OpType::Start,
        ConvCommand {
            transient: Some(true),
            attr: Some(JsonObjectMessage {
                data: json!({"name": "room"}).to_string(),
            }),
            ..Default::default()
        },
    );
    let cid = started_cid(&sent, 1);
    assert!(pushes(&sent, 1).is_empty());
    let body = || conv_of(&cid);
    h.conv(2, "Jerry", OpType::Join, body());
    let mut add = body();
    add.m = vec!["Mary".into()];
    h.conv(3, "Mary", OpType::Add, add);
    let sent = h.conv(1, "Tom", OpType::Count, body());
    assert_eq!(
        reply(&sent, 1).conv_message.as_ref().and_then(|c| c.count),
        Some(3)
    );
    let docs = h.query(1, "Tom", query_where(json!({"tr": true})));
    assert_eq!(docs.len(), 1);
    assert!(docs[0].get("m").is_none());
    assert_eq!(docs[0]["tr"], json!(true));
    let sent = h.send(2, "Jerry", &cid, "hi room");
    assert!(ack_of(&sent, 2).uid.is_some());
    assert_eq!(pushes(&sent, 1).len(), 1);
    assert_eq!(pushes(&sent, 3).len(), 1);
    assert_eq!(
        pushes(&sent, 1)[0]
            .direct_message
            .as_ref()
            .and_then(|d| d.transient),
        Some(true)
    );
    // Leaving (disconnecting) lowers the online count.
    h.hub.disconnect(3, h.now);
    let sent = h.conv(1, "Tom", OpType::Count, body());
    assert_eq!(
        reply(&sent, 1).conv_message.as_ref().and_then(|c| c.count),
        Some(2)
    );
    // No history for chat rooms.
    let logs = h.logs(1, "Tom", logs_of(&cid));
    assert!(logs.logs_message.expect("logs").logs.is_empty());
}

#[test]
fn a_dropped_chat_room_member_is_still_in_after_a_short_reconnect_not_after_a_long_one() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = h.chat_room(1, "Tom");
    let body = || conv_of(&cid);
    h.conv(2, "Jerry", OpType::Join, body());
    let count = |h: &mut Harness| {
        let sent = h.conv(1, "Tom", OpType::Count, body());
        reply(&sent, 1).conv_message.as_ref().and_then(|c| c.count)
    };
    assert_eq!(count(&mut h), Some(2));

    // Jerry's connection drops: not online (not counted, nothing delivered: no offline delivery)...
    h.hub.disconnect(2, h.now);
    assert_eq!(count(&mut h), Some(1));
    let sent = h.send(1, "Tom", &cid, "while away");
    assert!(ack_of(&sent, 1).uid.is_some());
    assert_eq!(sent.len(), 1, "only Tom's ack: {sent:?}");
    // ...and back within the grace period on a new connection, still in the room without joining.
    h.now += 30_000;
    h.login(3, "Jerry");
    assert_eq!(count(&mut h), Some(2));
    let sent = h.send(1, "Tom", &cid, "welcome back");
    assert_eq!(pushes(&sent, 3).len(), 1);
    assert!(ack_of(&h.send(3, "Jerry", &cid, "thanks"), 3).uid.is_some());

    // Away longer than the grace period: out of the room.
    h.hub.disconnect(3, h.now);
    h.now += HubConfig::new("app", "secret").chat_room_grace_ms + 1;
    h.login(4, "Jerry");
    assert_eq!(count(&mut h), Some(1));
    let sent = h.send(1, "Tom", &cid, "gone");
    assert!(pushes(&sent, 4).is_empty());
    assert_eq!(ack_of(&h.send(4, "Jerry", &cid, "hello?"), 4).code, Some(4401));

    // A deliberate sign-out leaves at once: back a moment later, not in the room.
    h.conv(4, "Jerry", OpType::Join, body());
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Jerry");
    h.run(4, close);
    h.login(5, "Jerry");
    assert_eq!(ack_of(&h.send(5, "Jerry", &cid, "hello?"), 5).code, Some(4401));
}

#[test]
fn with_no_chat_room_grace_a_dropped_member_leaves_at_once() {
    let mut h = Harness::new();
    let mut no_grace = config();
    no_grace.chat_room_grace_ms = 0;
    h.hub = Hub::new(no_grace, SqliteStorage::in_memory().expect("storage")).expect("hub");
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = h.chat_room(1, "Tom");
    h.conv(2, "Jerry", OpType::Join, conv_of(&cid));
    h.hub.disconnect(2, h.now);
    h.login(3, "Jerry");
    assert_eq!(ack_of(&h.send(3, "Jerry", &cid, "back?"), 3).code, Some(4401));
}

/// Queries that pin neither `objectId` nor a member scan every conversation, testing conditions on
/// custom attributes before building a conversation's JSON: the results are what the whole `where`
/// selects, with attribute conditions mixed with generated keys, dotted paths, `$or` and `$exists`.
#[test]
fn unpinned_attribute_queries_select_what_the_whole_where_selects() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let a = h.create(
        1,
        "Tom",
        &["Jerry"],
        json!({"name": "a", "attr": {"color": "red"}}),
    );
    let b = h.create(
        1,
        "Tom",
        &["Mary"],
        json!({"name": "b", "attr": {"color": "blue"}}),
    );
    let c = h.create(1, "Tom", &["Jerry", "Mary"], json!({"level": 2}));
    let mut ids_of = |w: Value| {
        let mut ids: Vec<Value> = h
            .query(1, "Tom", query_where(w))
            .iter()
            .map(|d| d["objectId"].clone())
            .collect();
        ids.sort_by_key(Value::to_string);
        ids
    };
    let sorted = |mut ids: Vec<Value>| {
        ids.sort_by_key(Value::to_string);
        ids
    };
    assert_eq!(ids_of(json!({"name": "a"})), [json!(a)]);
    assert_eq!(ids_of(json!({"attr.color": "blue"})), [json!(b)]);
    assert_eq!(ids_of(json!({"name": "a", "tr": false, "c": "Tom"})), [json!(a)]);
    assert_eq!(ids_of(json!({"name": "a", "m": "Mary"})), Vec::<Value>::new());
    assert_eq!(
        ids_of(json!({"$or": [{"name": "a"}, {"level": 2}]})),
        sorted(vec![json!(a), json!(c)])
    );
    assert_eq!(ids_of(json!({"name": {"$exists": false}})), [json!(c)]);
    assert_eq!(
        ids_of(json!({"$and": [{"name": {"$in": ["a", "b"]}}, {"attr.color": {"$ne": "red"}}]})),
        [json!(b)]
    );
    assert_eq!(
        ids_of(json!({"name": {"$regex": "^[ab]$"}, "level": 2})),
        Vec::<Value>::new()
    );
    // Matched and sorted on the keys the query reads, returned whole.
    h.send(1, "Tom", &a, "hi");
    let docs = h.query(
        1,
        "Tom",
        ConvCommand {
            r#where: Some(JsonObjectMessage {
                data: json!({"tr": false}).to_string(),
            }),
            sort: Some("-lm,name".into()),
            limit: Some(2),
            flag: Some(2),
            ..Default::default()
        },
    );
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0]["objectId"],
        json!(a),
        "the one with a message first: {docs:?}"
    );
    assert_eq!(docs[0]["m"], json!(["Jerry", "Tom"]));
    assert_eq!(docs[0]["msg"], json!("hi"));
    assert_eq!(docs[0]["attr"], json!({"color": "red"}));
    assert!(
        docs[1].get("m").is_some() && docs[1].get("createdAt").is_some(),
        "{docs:?}"
    );
}

#[test]
fn queries_filter_sort_page_and_shape_results() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let a = h.create(1, "Tom", &["Jerry"], json!({"name": "a", "level": 1}));
    let b = h.create(1, "Tom", &["Jerry", "Mary"], json!({"name": "b"}));
    let c = h.create(1, "Tom", &["Mary"], json!({"name": "c"}));
    h.send(1, "Tom", &a, "first");
    h.send(1, "Tom", &b, "second");
    let where_ = |w: Value| Some(JsonObjectMessage { data: w.to_string() });
    let docs = h.query(
        1,
        "Tom",
        ConvCommand {
            r#where: where_(json!({"m": {"$all": ["Jerry"]}})),
            sort: Some("-lm".into()),
            ..Default::default()
        },
    );
    let ids: Vec<_> = docs.iter().map(|d| d["objectId"].clone()).collect();
    assert_eq!(ids, [json!(b), json!(a)]);
    let doc = &docs[0];
    for key in [
        "objectId",
        "c",
        "m",
        "tr",
        "mu",
        "lm",
        "createdAt",
        "updatedAt",
        "name",
    ] {
        assert!(doc.get(key).is_some(), "missing {key} in {doc}");
    }
    assert_eq!(doc["lm"]["__type"], json!("Date"));
    assert!(doc["createdAt"].is_string());
    assert!(doc.get("msg").is_none(), "last message only with flag 2");
    let docs = h.query(
        1,
        "Tom",
        ConvCommand {
            r#where: where_(json!({"objectId": a})),
            flag: Some(3),
            ..Default::default()
        },
    );
    assert_eq!(docs.len(), 1);
    assert!(docs[0].get("m").is_none(), "compact drops members");
    assert_eq!(docs[0]["msg"], json!("first"));
    assert_eq!(docs[0]["msg_from"], json!("Tom"));
    assert!(docs[0]["msg_mid"].is_string());
    assert!(docs[0]["msg_timestamp"].is_number());
    assert_eq!(docs[0]["bin"], json!(false));
    assert_eq!(docs[0]["level"], json!(1));
    let page = h.query(
        1,
        "Tom",
        ConvCommand {
            sort: Some("name".into()),
            limit: Some(1),
            skip: Some(2),
            ..Default::default()
        },
    );
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["objectId"], json!(c));
    let sent = h.conv(
        1,
        "Tom",
        OpType::Query,
        ConvCommand {
            r#where: Some(JsonObjectMessage {
                data: "{not json".into(),
            }),
            ..Default::default()
        },
    );
    assert_eq!(error_code(&sent, 1), Some(4301));
}

#[test]
fn temporary_conversations_expire_and_are_found_by_id_only() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let sent = h.conv(
        1,
        "Tom",
        OpType::Start,
        ConvCommand {
            m: vec!["Jerry".into()],
            temp_conv: Some(true),
            temp_conv_ttl: Some(60),
            unique: Some(true),
            ..Default::default()
        },
    );
    let started = conv_reply(&sent, 1);
    let cid = started.cid.expect("cid");
    assert!(cid.starts_with("_tmp:"), "{cid}");
    assert_eq!(started.temp_conv_ttl, Some(60));
    assert_eq!(ops(&sent, 2), [OpType::Joined]);
    assert!(
        h.query(1, "Tom", ConvCommand::default()).is_empty(),
        "not in where-queries"
    );
    let by_id = |h: &mut Harness| {
        h.query(
            1,
            "Tom",
            ConvCommand {
                temp_conv_ids: vec![cid.clone()],
                ..Default::default()
            },
        )
    };
    let docs = by_id(&mut h);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["temp"], json!(true));
    assert!(
        docs[0]["ttl"]
            .as_i64()
            .is_some_and(|ttl| (58..=60).contains(&ttl))
    );
    assert!(ack_of(&h.send(1, "Tom", &cid, "quick"), 1).uid.is_some());
    h.now += 61_000;
    assert_eq!(ack_of(&h.send(1, "Tom", &cid, "late"), 1).code, Some(4323));
    assert!(by_id(&mut h).is_empty());
    // Everything else done to it is answered with 4323 too.
    let on_it = || ConvCommand {
        cid: Some(cid.clone()),
        m: vec!["Mary".into()],
        ..Default::default()
    };
    for op in [
        OpType::Add,
        OpType::Join,
        OpType::Remove,
        OpType::Count,
        OpType::Update,
    ] {
        let sent = h.conv(1, "Tom", op, on_it());
        assert_eq!(error_code(&sent, 1), Some(4323), "{op:?}");
    }
    let logs = h.logs(1, "Tom", logs_of(&cid));
    assert_eq!(logs.server_error().map(|e| e.code), Some(4323));
}

#[test]
fn update_mute_and_count() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    h.login(3, "Tom");
    let cid = h.create(1, "Tom", &["Jerry"], json!({"name": "old", "attr": {"a": 1}}));
    let sent = h.conv(
        1,
        "Tom",
        OpType::Update,
        ConvCommand {
            cid: Some(cid.clone()),
            attr: Some(JsonObjectMessage {
                data: json!({"name": "new", "attr.lee": 2}).to_string(),
            }),
            ..Default::default()
        },
    );
    assert!(
        reply(&sent, 1)
            .conv_message
            .as_ref()
            .and_then(|c| c.udate.clone())
            .is_some()
    );
    assert!(pushes(&sent, 1).is_empty(), "not echoed to the updating session");
    for conn in [2, 3] {
        let push = pushes(&sent, conn);
        assert_eq!(push.len(), 1, "conn {conn}");
        assert_eq!(push[0].op_type(), Some(OpType::Updated));
        let body = push[0].conv_message.clone().expect("body");
        assert_eq!(body.init_by.as_deref(), Some("Tom"));
        let attr: Value = serde_json::from_str(&body.attr.expect("attr").data).expect("json");
        assert_eq!(attr, json!({"name": "new", "attr.lee": 2}));
    }
    let doc = h.query(1, "Tom", ConvCommand::default()).remove(0);
    assert_eq!(doc["name"], json!("new"));
    assert_eq!(doc["attr"], json!({"a": 1, "lee": 2}));
    let body = || conv_of(&cid);
    h.conv(2, "Jerry", OpType::Mute, body());
    assert_eq!(
        h.query(2, "Jerry", ConvCommand::default())[0]["mu"],
        json!(["Jerry"])
    );
    h.conv(2, "Jerry", OpType::Unmute, body());
    assert_eq!(h.query(2, "Jerry", ConvCommand::default())[0]["mu"], json!([]));
    let sent = h.conv(2, "Jerry", OpType::Count, body());
    assert_eq!(
        reply(&sent, 2).conv_message.as_ref().and_then(|c| c.count),
        Some(2)
    );
    let sent = h.conv(1, "Tom", OpType::Update, conv_of("missing"));
    let error = reply(&sent, 1).server_error().expect("error");
    assert_eq!(
        (error.code, error.reason.as_str()),
        (4303, "CONVERSATION_NOT_FOUND")
    );
}

#[test]
fn direct_is_acked_and_pushed_to_members_but_not_back() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    h.login(3, "Tom"); // Tom's second device
    h.login(4, "Mary");
    let cid = h.create(1, "Tom", &["Jerry"], json!({}));
    let sent = h.send_direct(
        1,
        "Tom",
        DirectCommand {
            mention_pids: vec!["Jerry".into()],
            mention_all: Some(false),
            ..text(&cid, "hello")
        },
    );
    let ack = ack_of(&sent, 1);
    let uid = ack.uid.clone().expect("uid");
    assert!(ack.t.is_some() && ack.code.is_none());
    assert!(pushes(&sent, 1).is_empty());
    assert!(pushes(&sent, 4).is_empty(), "not a member");
    for conn in [2, 3] {
        let push = pushes(&sent, conn);
        assert_eq!(push.len(), 1);
        assert_eq!(push[0].service, Some(2));
        let d = push[0].direct_message.clone().expect("direct");
        assert_eq!(d.id.as_deref(), Some(uid.as_str()));
        assert_eq!(d.from_peer_id.as_deref(), Some("Tom"));
        assert_eq!(d.timestamp, ack.t);
        assert_eq!(d.msg.as_deref(), Some("hello"));
        assert_eq!(d.mention_pids, ["Jerry"]);
    }
    assert_eq!(pushes(&sent, 2)[0].peer_id.as_deref(), Some("Jerry"));
    // Non-members and unknown conversations get an ack with 4401 and the symbolic reason.
    for (conn, peer, target) in [(4, "Mary", cid.as_str()), (1, "Tom", "nope")] {
        let sent = h.send(conn, peer, target, "x");
        let ack = ack_of(&sent, conn);
        assert_eq!(ack.code, Some(4401));
        assert_eq!(ack.reason.as_deref(), Some("INVALID_MESSAGING_TARGET"));
    }
}

#[test]
fn resends_with_the_same_dt_are_deduplicated() {
    let (mut h, cid) = Harness::tom_and_jerry();
    let direct = DirectCommand {
        dt: Some("local-1".into()),
        ..text(&cid, "once")
    };
    let first = h.send_direct(1, "Tom", direct.clone());
    let again = h.send_direct(1, "Tom", direct);
    let (a, b) = (ack_of(&first, 1), ack_of(&again, 1));
    assert_eq!((a.uid.clone(), a.t), (b.uid, b.t));
    assert!(pushes(&again, 2).is_empty(), "no second delivery");
    let logs = h.logs(1, "Tom", logs_of(&cid));
    assert_eq!(logs.logs_message.expect("logs").logs.len(), 1);
}

#[test]
fn transient_messages_are_acked_delivered_and_not_stored() {
    let (mut h, cid) = Harness::tom_and_jerry();
    let sent = h.send_direct(
        1,
        "Tom",
        DirectCommand {
            transient: Some(true),
            ..text(&cid, "typing")
        },
    );
    assert!(ack_of(&sent, 1).uid.is_some());
    assert_eq!(pushes(&sent, 2).len(), 1);
    let logs = h.logs(1, "Tom", logs_of(&cid));
    assert!(logs.logs_message.expect("logs").logs.is_empty());
}

#[test]
fn timestamps_strictly_increase_within_a_conversation() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let cid = h.create(1, "Tom", &["Jerry"], json!({}));
    let inputs: Vec<Input> = (0..5)
        .map(|n| {
            Input::Command(
                1,
                h.request(CommandType::Direct, None).with(DirectCommand {
                    cid: Some(cid.clone()),
                    msg: Some(format!("m{n}")),
                    ..Default::default()
                }),
            )
        })
        .collect();
    // One batch, one clock reading: timestamps are bumped on ties.
    let out = h.hub.handle_batch(inputs, h.now);
    let ts: Vec<i64> = out
        .iter()
        .filter_map(|o| o.to_command().ack_message.and_then(|a| a.t))
        .collect();
    assert_eq!(ts.len(), 5);
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
}

#[test]
fn will_messages_are_delivered_when_the_sender_drops_not_when_it_signs_out() {
    let (mut h, cid) = Harness::tom_and_jerry();
    let will = DirectCommand {
        will: Some(true),
        ..text(&cid, "Tom went offline")
    };
    let sent = h.send_direct(1, "Tom", will.clone());
    let uid = ack_of(&sent, 1).uid.expect("uid");
    assert!(pushes(&sent, 2).is_empty(), "held until the drop");
    let out = h.hub.disconnect(1, h.now + 10);
    let delivered: Vec<_> = out
        .iter()
        .filter(|o| o.conn == 2)
        .map(|o| o.to_command())
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].direct_message.as_ref().and_then(|d| d.id.clone()),
        Some(uid)
    );
    // After a deliberate close the will is dropped.
    h.login(3, "Tom");
    h.send_direct(3, "Tom", will);
    let close = h
        .request(CommandType::Session, Some(OpType::Close))
        .with_peer_id("Tom");
    h.run(3, close);
    let out = h.hub.disconnect(3, h.now + 10);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn acks_and_reads_send_receipts_to_senders_that_asked() {
    let (mut h, cid) = Harness::tom_and_jerry();
    let sent = h.send_direct(
        1,
        "Tom",
        DirectCommand {
            r: Some(true),
            ..text(&cid, "receipt please")
        },
    );
    let ack = ack_of(&sent, 1);
    let (uid, t) = (ack.uid.expect("uid"), ack.t.expect("t"));
    // JS form: {cid, fromts, tots}, no serial.
    let client_ack = ack_between(&cid, t, t);
    let sent = h.run(2, client_ack);
    let rcp = pushes(&sent, 1);
    assert_eq!(rcp.len(), 1);
    let body = rcp[0].rcp_message.clone().expect("rcp");
    assert_eq!(body.id.as_deref(), Some(uid.as_str()));
    assert_eq!((body.read, body.from.as_deref()), (Some(false), Some("Jerry")));
    assert!(sent.iter().all(|(conn, _)| *conn != 2), "acks get no reply");
    // Reading sends the read receipt.
    let read = GenericCommand::new(CommandType::Read).with(ReadCommand {
        convs: vec![ReadTuple {
            cid: cid.clone(),
            timestamp: Some(t),
            mid: Some(uid.clone()),
        }],
        ..Default::default()
    });
    let sent = h.run(2, read);
    let rcp = pushes(&sent, 1);
    assert_eq!(rcp.len(), 1);
    assert_eq!(rcp[0].rcp_message.as_ref().and_then(|r| r.read), Some(true));
    // Swift form {cid, mid} for a second message.
    let sent = h.send_direct(
        1,
        "Tom",
        DirectCommand {
            r: Some(true),
            ..text(&cid, "again")
        },
    );
    let uid2 = ack_of(&sent, 1).uid.expect("uid");
    let client_ack = GenericCommand::new(CommandType::Ack).with(AckCommand {
        cid: Some(cid.clone()),
        mid: Some(uid2.clone()),
        ..Default::default()
    });
    let sent = h.run(2, client_ack);
    let rcp = pushes(&sent, 1);
    assert_eq!(rcp.len(), 1);
    assert_eq!(rcp[0].rcp_message.as_ref().and_then(|r| r.id.clone()), Some(uid2));
    // max_read reports Jerry's positions to Tom.
    let sent = h.conv(1, "Tom", OpType::MaxRead, conv_of(&cid));
    let body = conv_reply(&sent, 1);
    assert_eq!(body.max_read_timestamp, Some(t));
    assert!(body.max_ack_timestamp.unwrap_or(0) > t);
}

#[test]
fn unread_counts_after_login_and_after_reads_on_another_device() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let cid = h.create(1, "Tom", &["Jerry"], json!({}));
    for n in 0..3 {
        h.send(1, "Tom", &cid, &format!("m{n}"));
    }
    let last = h.send_direct(
        1,
        "Tom",
        DirectCommand {
            mention_pids: vec!["Jerry".into()],
            ..text(&cid, "@Jerry")
        },
    );
    let last_ack = ack_of(&last, 1);
    let sent = h.login(2, "Jerry");
    let unread = pushes(&sent, 2);
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0].command_type(), Some(CommandType::Unread));
    let body = unread[0].unread_message.clone().expect("unread");
    assert!(body.notif_time.is_some());
    let tuple = &body.convs[0];
    assert_eq!((tuple.cid.as_str(), tuple.unread), (cid.as_str(), 4));
    assert_eq!(tuple.mid, last_ack.uid);
    assert_eq!(tuple.timestamp, last_ack.t);
    assert_eq!(tuple.from.as_deref(), Some("Tom"));
    assert_eq!(tuple.data.as_deref(), Some("@Jerry"));
    assert_eq!(tuple.mentioned, Some(true));
    // Nothing new since the last notification: no unread push.
    let since = body.notif_time;
    let sent = h.login_with(
        3,
        "Jerry",
        SessionCommand {
            last_unread_notif_time: since,
            ..Default::default()
        },
    );
    assert!(pushes(&sent, 3).is_empty(), "{sent:?}");
    // Jerry reads on connection 2: connection 3 learns the count is now 0.
    let read = GenericCommand::new(CommandType::Read).with(ReadCommand {
        convs: vec![ReadTuple {
            cid: cid.clone(),
            timestamp: last_ack.t,
            mid: None,
        }],
        ..Default::default()
    });
    let sent = h.run(2, read);
    assert!(pushes(&sent, 2).is_empty());
    let other = pushes(&sent, 3);
    assert_eq!(other.len(), 1);
    let tuple = other[0].unread_message.clone().expect("unread").convs.remove(0);
    assert_eq!((tuple.cid, tuple.unread), (cid, 0));
    // A later login has nothing unread.
    let sent = h.login(4, "Jerry");
    assert!(pushes(&sent, 4).is_empty());
}

#[test]
fn logs_page_in_both_directions_and_always_ascend() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Mary");
    let cid = h.create(1, "Tom", &["Jerry"], json!({}));
    let mut ts = Vec::new();
    for n in 0..30 {
        let sent = h.send(1, "Tom", &cid, &format!("m{n}"));
        ts.push(ack_of(&sent, 1).t.expect("t"));
    }
    let texts = |reply: GenericCommand| -> Vec<String> {
        reply
            .logs_message
            .expect("logs")
            .logs
            .into_iter()
            .map(|l| l.data.unwrap_or_default())
            .collect()
    };
    let names = |range: std::ops::Range<usize>| -> Vec<String> { range.map(|n| format!("m{n}")).collect() };
    let base = || logs_of(&cid);
    // Default: the newest 20, ascending.
    assert_eq!(texts(h.logs(1, "Tom", base())), names(10..30));
    // Older than m10 (exclusive), `l` = 5.
    let page = LogsCommand {
        t: Some(ts[10]),
        l: Some(5),
        ..base()
    };
    assert_eq!(texts(h.logs(1, "Tom", page)), names(5..10));
    let page = LogsCommand {
        t: Some(ts[10]),
        t_included: Some(true),
        limit: Some(2),
        ..base()
    };
    assert_eq!(texts(h.logs(1, "Tom", page)), names(9..11));
    // Newer than m3 up to m8 inclusive.
    let page = LogsCommand {
        t: Some(ts[3]),
        tt: Some(ts[8]),
        tt_included: Some(true),
        direction: Some(QueryDirection::New as i32),
        ..base()
    };
    assert_eq!(texts(h.logs(1, "Tom", page)), names(4..9));
    // From the oldest.
    let page = LogsCommand {
        direction: Some(QueryDirection::New as i32),
        l: Some(3),
        ..base()
    };
    assert_eq!(texts(h.logs(1, "Tom", page)), names(0..3));
    // Older than m20 down to (excluding) m15.
    let page = LogsCommand {
        t: Some(ts[20]),
        tt: Some(ts[15]),
        ..base()
    };
    assert_eq!(texts(h.logs(1, "Tom", page)), names(16..20));
    // limit 0 is empty; huge limits are capped.
    assert!(texts(h.logs(1, "Tom", LogsCommand { l: Some(0), ..base() })).is_empty());
    assert_eq!(
        texts(h.logs(
            1,
            "Tom",
            LogsCommand {
                l: Some(5000),
                ..base()
            }
        ))
        .len(),
        30
    );
    // Non-members are refused with 4312.
    let refused = h.logs(2, "Mary", base());
    assert_eq!(refused.server_error().map(|e| e.code), Some(4312));
}

#[test]
fn logs_return_binary_as_base64_and_filter_by_type() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    let cid = h.create(1, "Tom", &["Jerry"], json!({}));
    h.send_direct(
        1,
        "Tom",
        DirectCommand {
            cid: Some(cid.clone()),
            binary_msg: Some(vec![0, 1, 2, 255]),
            ..Default::default()
        },
    );
    let typed = json!({"_lctype": -1, "_lctext": "typed"}).to_string();
    h.send(1, "Tom", &cid, &typed);
    h.send(1, "Tom", &cid, "plain");
    let logs = h.logs(1, "Tom", logs_of(&cid));
    let items = logs.logs_message.expect("logs").logs;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].bin, Some(true));
    assert_eq!(items[0].data.as_deref(), Some("AAEC/w=="));
    assert_eq!(items[1].bin, None);
    let logs = h.logs(
        1,
        "Tom",
        LogsCommand {
            cid: Some(cid),
            lctype: Some(-1),
            ..Default::default()
        },
    );
    let items = logs.logs_message.expect("logs").logs;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].data.as_deref(), Some(typed.as_str()));
}

#[test]
fn restart_keeps_conversations_members_messages_and_read_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cid, last_t) = {
        let mut h = Harness::with_storage(SqliteStorage::open(dir.path()).expect("open"));
        h.login(1, "Tom");
        h.login(2, "Jerry");
        let cid = h.create(1, "Tom", &["Jerry", "Mary"], json!({"name": "kept"}));
        let mut last_t = 0;
        for n in 0..5 {
            last_t = ack_of(&h.send(1, "Tom", &cid, &format!("m{n}")), 1).t.expect("t");
        }
        let read = GenericCommand::new(CommandType::Read).with(ReadCommand {
            convs: vec![ReadTuple {
                cid: cid.clone(),
                timestamp: Some(last_t - 2),
                mid: None,
            }],
            ..Default::default()
        });
        h.run(2, read);
        (cid, last_t)
    };
    let mut h = Harness::with_storage(SqliteStorage::open(dir.path()).expect("reopen"));
    h.now = last_t - 1000; // even with a clock that stepped back, timestamps keep increasing
    let sent = h.login(1, "Jerry");
    let unread = pushes(&sent, 1)[0].unread_message.clone().expect("unread");
    assert_eq!(unread.convs[0].unread, 2, "read position survived");
    let docs = h.query(1, "Jerry", ConvCommand::default());
    assert_eq!(docs[0]["name"], json!("kept"));
    assert_eq!(docs[0]["m"], json!(["Jerry", "Mary", "Tom"]));
    let logs = h.logs(1, "Jerry", logs_of(&cid));
    assert_eq!(logs.logs_message.expect("logs").logs.len(), 5);
    let t = ack_of(&h.send(1, "Jerry", &cid, "after"), 1).t.expect("t");
    assert!(t > last_t);
}

#[test]
fn edits_and_recalls_reach_members_history_and_later_logins() {
    let mut h = Harness::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    h.login(3, "Tom");
    let cid = h.create(1, "Tom", &["Jerry"], json!({}));
    let ack = ack_of(&h.send(1, "Tom", &cid, "typo"), 1);
    let (mid, t) = (ack.uid.expect("uid"), ack.t.expect("t"));
    let patch = |h: &mut Harness, conn, peer: &str, item: PatchItem| {
        let command = h
            .request(CommandType::Patch, Some(OpType::Modify))
            .with_peer_id(peer)
            .with(PatchCommand {
                patches: vec![item],
                ..Default::default()
            });
        h.run(conn, command)
    };
    let item = |data: Option<&str>, recall: bool| PatchItem {
        cid: Some(cid.clone()),
        mid: Some(mid.clone()),
        timestamp: Some(t),
        recall: Some(recall),
        data: data.map(str::to_owned),
        ..Default::default()
    };
    let sent = patch(&mut h, 1, "Tom", item(Some("fixed"), false));
    assert_eq!(reply(&sent, 1).op_type(), Some(OpType::Modified));
    assert!(pushes(&sent, 1).is_empty());
    for conn in [2, 3] {
        let push = pushes(&sent, conn);
        assert_eq!(push.len(), 1, "conn {conn}");
        assert_eq!(push[0].op_type(), Some(OpType::Modify));
        let edited = push[0].patch_message.clone().expect("patch").patches.remove(0);
        assert_eq!(edited.mid.as_deref(), Some(mid.as_str()));
        assert_eq!(edited.data.as_deref(), Some("fixed"));
        assert_eq!(edited.recall, Some(false));
        assert_eq!(edited.from.as_deref(), Some("Tom"));
        assert!(edited.patch_timestamp.is_some_and(|p| p > t));
    }
    let logs = h.logs(1, "Tom", logs_of(&cid));
    let item0 = logs.logs_message.expect("logs").logs.remove(0);
    assert_eq!(item0.data.as_deref(), Some("fixed"));
    assert!(item0.patch_timestamp.is_some());
    // Only the sender may patch; unknown messages are 4404.
    let sent = patch(&mut h, 2, "Jerry", item(Some("hijack"), false));
    assert_eq!(error_code(&sent, 2), Some(4403));
    let mut missing = item(Some("x"), false);
    missing.mid = Some("nope".into());
    let sent = patch(&mut h, 1, "Tom", missing);
    assert_eq!(error_code(&sent, 1), Some(4404));
    // Recall replaces the content with a RecalledMessage.
    let sent = patch(&mut h, 1, "Tom", item(None, true));
    let recalled = pushes(&sent, 2)[0]
        .patch_message
        .clone()
        .expect("patch")
        .patches
        .remove(0);
    assert_eq!(recalled.recall, Some(true));
    assert_eq!(recalled.data.as_deref(), Some(r#"{"_lctype":-127}"#));
    // A client that logs in with an older lastPatchTime gets the recall replayed.
    let sent = h.login_with(
        4,
        "Jerry",
        SessionCommand {
            last_patch_time: Some(t),
            ..Default::default()
        },
    );
    let replay: Vec<_> = pushes(&sent, 4)
        .into_iter()
        .filter(|p| p.command_type() == Some(CommandType::Patch))
        .collect();
    assert_eq!(replay.len(), 1);
    let patches = replay[0].patch_message.clone().expect("patch").patches;
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].recall, Some(true));
}

/// Storage whose commits can be made to fail, to check that nothing is acknowledged then.
struct FlakyStorage {
    inner: SqliteStorage,
    fail_commit: Arc<std::sync::atomic::AtomicBool>,
    commits: Arc<std::sync::atomic::AtomicUsize>,
}

impl Storage for FlakyStorage {
    fn begin(&mut self) -> StorageResult<()> {
        self.inner.begin()
    }
    fn commit(&mut self) -> StorageResult<()> {
        if self.fail_commit.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StorageError::Io(std::io::Error::other("disk full")));
        }
        self.commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.commit()
    }
    fn rollback(&mut self) -> StorageResult<()> {
        self.inner.rollback()
    }
    fn load_into(&mut self, sink: &mut dyn FnMut(Loaded<'_>)) -> StorageResult<()> {
        self.inner.load_into(sink)
    }
    fn save_conversation(&mut self, c: &ConversationRecord) -> StorageResult<()> {
        self.inner.save_conversation(c)
    }
    fn add_members(&mut self, cid: &str, ids: &[String], read_ts: i64, joined_at: i64) -> StorageResult<()> {
        self.inner.add_members(cid, ids, read_ts, joined_at)
    }
    fn members_page(
        &mut self,
        cid: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<chinwag_server::storage::Membership>> {
        self.inner.members_page(cid, after, limit)
    }
    fn subscriptions_page(
        &mut self,
        client: &str,
        after: Option<(i64, &str)>,
        newest_first: bool,
        limit: u32,
    ) -> StorageResult<Vec<chinwag_server::storage::Membership>> {
        self.inner.subscriptions_page(client, after, newest_first, limit)
    }
    fn set_timed_shutup(&mut self, cid: &str, client: &str, until: Option<i64>) -> StorageResult<()> {
        self.inner.set_timed_shutup(cid, client, until)
    }
    fn timed_shutups(&mut self) -> StorageResult<Vec<chinwag_server::storage::TimedShutupRecord>> {
        self.inner.timed_shutups()
    }
    fn prune_timed_shutups(&mut self, now: i64) -> StorageResult<usize> {
        self.inner.prune_timed_shutups(now)
    }
    fn set_client_block(&mut self, client: &str, cid: &str, blocked: bool) -> StorageResult<()> {
        self.inner.set_client_block(client, cid, blocked)
    }
    fn client_blocks(&mut self) -> StorageResult<Vec<(String, String)>> {
        self.inner.client_blocks()
    }
    fn record_sign_in(&mut self, day: i64, client: &str) -> StorageResult<()> {
        self.inner.record_sign_in(day, client)
    }
    fn clients_signed_in_on(&mut self, day: i64) -> StorageResult<u64> {
        self.inner.clients_signed_in_on(day)
    }
    fn prune_sign_ins(&mut self, before_day: i64) -> StorageResult<usize> {
        self.inner.prune_sign_ins(before_day)
    }
    fn remove_members(&mut self, cid: &str, ids: &[String]) -> StorageResult<()> {
        self.inner.remove_members(cid, ids)
    }
    fn set_role(&mut self, cid: &str, client: &str, role: Option<&str>) -> StorageResult<()> {
        self.inner.set_role(cid, client, role)
    }
    fn set_position(&mut self, m: &MemberRecord) -> StorageResult<()> {
        self.inner.set_position(m)
    }
    fn insert_message(&mut self, m: &MessageRecord) -> StorageResult<()> {
        self.inner.insert_message(m)
    }
    fn find_by_dt(&mut self, from: &str, dt: &str) -> StorageResult<Option<MessageRecord>> {
        self.inner.find_by_dt(from, dt)
    }
    fn update_message(&mut self, m: &MessageRecord) -> StorageResult<()> {
        self.inner.update_message(m)
    }
    fn patched_since(&mut self, client: &str, since: i64) -> StorageResult<Vec<MessageRecord>> {
        self.inner.patched_since(client, since)
    }
    fn message(&mut self, cid: &str, id: &str) -> StorageResult<Option<MessageRecord>> {
        self.inner.message(cid, id)
    }
    fn history(&mut self, q: &HistoryQuery) -> StorageResult<Vec<MessageRecord>> {
        self.inner.history(q)
    }
    fn messages_where(
        &mut self,
        q: &chinwag_server::storage::MessageQuery,
    ) -> StorageResult<Vec<MessageRecord>> {
        self.inner.messages_where(q)
    }
    fn delete_message(&mut self, cid: Option<&str>, id: &str) -> StorageResult<Option<MessageRecord>> {
        self.inner.delete_message(cid, id)
    }
    fn delete_conversation(&mut self, cid: &str) -> StorageResult<()> {
        self.inner.delete_conversation(cid)
    }
    fn receipt_messages(
        &mut self,
        cid: &str,
        after: i64,
        up_to: i64,
        not_from: &str,
    ) -> StorageResult<Vec<MessageRecord>> {
        self.inner.receipt_messages(cid, after, up_to, not_from)
    }
    fn add_notification(&mut self, n: &chinwag_server::storage::NotificationRecord) -> StorageResult<()> {
        self.inner.add_notification(n)
    }
    fn prune_notifications(&mut self, before: i64) -> StorageResult<usize> {
        self.inner.prune_notifications(before)
    }
    fn revoke_token(&mut self, revoked: &RevokedTokenRecord) -> StorageResult<()> {
        self.inner.revoke_token(revoked)
    }
    fn revoked_tokens(&mut self) -> StorageResult<Vec<RevokedTokenRecord>> {
        self.inner.revoked_tokens()
    }
    fn prune_revoked_tokens(&mut self, now: i64) -> StorageResult<usize> {
        self.inner.prune_revoked_tokens(now)
    }
    fn notifications_since(
        &mut self,
        client: &str,
        since: i64,
        limit: u32,
    ) -> StorageResult<Vec<chinwag_server::storage::NotificationRecord>> {
        self.inner.notifications_since(client, since, limit)
    }
    fn unread_counts(&mut self, client: &str, since: i64) -> StorageResult<Vec<UnreadCount>> {
        self.inner.unread_counts(client, since)
    }
}

#[test]
fn a_failed_commit_acknowledges_nothing_and_rolls_back() {
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storage = FlakyStorage {
        inner: SqliteStorage::in_memory().expect("storage"),
        fail_commit: Arc::clone(&fail),
        commits: Arc::default(),
    };
    let mut hub = Hub::new(config(), storage).expect("hub");
    let open = GenericCommand::request(CommandType::Session, 1)
        .with_op(OpType::Open)
        .with_peer_id("Tom");
    hub.connect(1);
    hub.connect(2);
    hub.handle(1, open.clone(), T0);
    hub.handle(2, open.with_peer_id("Jerry"), T0);
    let start = GenericCommand::request(CommandType::Conv, 2)
        .with_op(OpType::Start)
        .with(members(&["Jerry"]));
    let out = hub.handle(1, start, T0 + 1);
    let cid = out[0].to_command().conv_message.and_then(|c| c.cid).expect("cid");
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let direct = GenericCommand::request(CommandType::Direct, 3).with(DirectCommand {
        cid: Some(cid.clone()),
        msg: Some("lost".into()),
        ..Default::default()
    });
    let out = hub.handle(1, direct, T0 + 2);
    assert_eq!(out.len(), 1, "no push to Jerry: {out:?}");
    let reply = out[0].to_command();
    assert_eq!(reply.i, Some(3));
    assert_eq!(reply.server_error().map(|e| e.code), Some(4200));
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let logs = GenericCommand::request(CommandType::Logs, 4).with(logs_of(&cid));
    let out = hub.handle(1, logs, T0 + 3);
    assert!(out[0].to_command().logs_message.expect("logs").logs.is_empty());
}

mod arbitrary_input {
    //! Whatever a client sends, the hub answers without panicking, and answers every request once.

    use super::*;
    use proptest::prelude::*;

    fn small_string() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop::sample::select(vec![
            String::new(),
            "Tom".to_owned(),
            "Jerry".to_owned(),
            "c1".to_owned(),
            "{".to_owned(),
            "{\"m\":{\"$all\":[\"Tom\"]}}".to_owned(),
            "{\"_lctype\":-1}".to_owned(),
            "x".repeat(6000),
        ]))
    }

    fn timestamp() -> impl Strategy<Value = Option<i64>> {
        prop::option::of(prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), any::<i64>()])
    }

    prop_compose! {
        fn command()(
            cmd in prop_oneof![
                3 => prop::sample::select(vec![Some(1), Some(2), Some(3), Some(6), Some(11)]),
                1 => prop::option::of(0i32..24),
            ],
            op in prop::option::of(prop::sample::select(vec![1, 2, 3, 4, 7, 30, 43, 45, 47, 48, 51, 80, 150, 999])),
            serial in prop::option::of(0i32..5),
            peer in small_string(),
            text in small_string(),
            cid in prop_oneof![3 => Just(Some("c1".to_owned())), 1 => small_string()],
            t in timestamp(),
            tt in timestamp(),
            limit in prop::option::of(any::<i32>()),
            flags in any::<u8>(),
        ) -> GenericCommand {
            let json = text.clone().map(|data| JsonObjectMessage { data });
            GenericCommand {
                cmd,
                op,
                i: serial,
                peer_id: peer.clone(),
                session_message: (flags & 1 != 0).then(|| SessionCommand {
                    r: Some(flags & 2 != 0),
                    st: text.clone(),
                    tag: peer.clone(),
                    last_unread_notif_time: t,
                    ..Default::default()
                }).map(Box::new),
                conv_message: (flags & 4 != 0).then(|| ConvCommand {
                    cid: cid.clone(),
                    m: peer.clone().into_iter().collect(),
                    attr: json.clone(),
                    r#where: json.clone(),
                    limit,
                    skip: limit,
                    transient: Some(flags & 8 != 0),
                    unique: Some(flags & 16 != 0),
                    ..Default::default()
                }).map(Box::new),
                direct_message: (flags & 8 != 0).then(|| DirectCommand {
                    cid: cid.clone(),
                    msg: text.clone(),
                    dt: peer.clone(),
                    will: Some(flags & 32 != 0),
                    transient: Some(flags & 64 != 0),
                    r: Some(true),
                    ..Default::default()
                }).map(Box::new),
                ack_message: (flags & 16 != 0).then(|| AckCommand {
                    cid: cid.clone(),
                    mid: text.clone(),
                    fromts: t,
                    tots: tt,
                    ..Default::default()
                }).map(Box::new),
                read_message: (flags & 32 != 0).then(|| ReadCommand {
                    convs: vec![ReadTuple { cid: cid.clone().unwrap_or_default(), timestamp: t, mid: text.clone() }],
                    ..Default::default()
                }).map(Box::new),
                logs_message: (flags & 64 != 0).then(|| LogsCommand {
                    cid: cid.clone(),
                    t,
                    tt,
                    l: limit,
                    direction: Some(i32::from(flags >> 7) + 1),
                    t_included: Some(flags & 1 != 0),
                    ..Default::default()
                }).map(Box::new),
                ..Default::default()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_command_sequence_is_answered_without_panicking(
            commands in prop::collection::vec((0u64..3, command()), 1..40)
        ) {
            let mut h = Harness::new();
            h.login(0, "Tom");
            h.login(1, "Jerry");
            let cid = h.create(0, "Tom", &["Jerry"], json!({}));
            h.send(0, "Tom", &cid, "seed");
            for (conn, mut command) in commands {
                // "c1" stands for the real conversation, so commands reach its members' state.
                let real = |field: &mut Option<String>| {
                    if field.as_deref() == Some("c1") {
                        *field = Some(cid.clone());
                    }
                };
                if let Some(c) = command.conv_message.as_mut() {
                    real(&mut c.cid);
                }
                if let Some(d) = command.direct_message.as_mut() {
                    real(&mut d.cid);
                }
                if let Some(a) = command.ack_message.as_mut() {
                    real(&mut a.cid);
                }
                if let Some(l) = command.logs_message.as_mut() {
                    real(&mut l.cid);
                }
                if let Some(read) = command.read_message.as_mut() {
                    for tuple in &mut read.convs {
                        if tuple.cid == "c1" {
                            tuple.cid = cid.clone();
                        }
                    }
                }
                h.hub.connect(conn);
                let has_serial = command.serial().is_some();
                let sent = h.run(conn, command);
                let replies = sent.iter().filter(|(c, cmd)| *c == conn && cmd.serial().is_some()).count();
                // Every request gets exactly one reply; commands without a serial get none.
                prop_assert_eq!(replies, usize::from(has_serial), "{:?}", sent);
            }
        }
    }
}

#[test]
fn a_batch_of_messages_costs_one_commit() {
    let commits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let storage = FlakyStorage {
        inner: SqliteStorage::in_memory().expect("storage"),
        fail_commit: Arc::default(),
        commits: Arc::clone(&commits),
    };
    let mut hub = Hub::new(config(), storage).expect("hub");
    hub.connect(1);
    let open = GenericCommand::request(CommandType::Session, 1)
        .with_op(OpType::Open)
        .with_peer_id("Tom");
    hub.handle(1, open, T0);
    let start = GenericCommand::request(CommandType::Conv, 2)
        .with_op(OpType::Start)
        .with(members(&["Jerry"]));
    let cid = hub.handle(1, start, T0)[0]
        .to_command()
        .conv_message
        .and_then(|c| c.cid)
        .expect("cid");
    let before = commits.load(std::sync::atomic::Ordering::SeqCst);
    let batch: Vec<Input> = (0..50)
        .map(|n| {
            Input::Command(
                1,
                GenericCommand::request(CommandType::Direct, 10 + n).with(DirectCommand {
                    cid: Some(cid.clone()),
                    msg: Some(format!("m{n}")),
                    ..Default::default()
                }),
            )
        })
        .collect();
    let out = hub.handle_batch(batch, T0 + 1);
    let acks = out
        .iter()
        .filter(|o| o.to_command().ack_message.is_some_and(|a| a.uid.is_some()))
        .count();
    assert_eq!(acks, 50);
    assert_eq!(commits.load(std::sync::atomic::Ordering::SeqCst) - before, 1);
}

/// Fan-out in a big group with few members online (the hub walks the online clients) and in a
/// small group with many clients online (it walks the members): every online session of every
/// member gets the push once, with its own `peerId`, in client-id order; the sending connection
/// and non-members get nothing; offline members find the messages in their unread counts.
#[test]
fn fan_out_reaches_every_online_member_once_and_offline_members_count_unread() {
    let mut h = Harness::new();
    let members: Vec<String> = (0..60).map(|n| format!("member-{n:02}")).collect();
    let member_refs: Vec<&str> = members.iter().map(String::as_str).collect();
    // Online: the sender on two connections, three members (one on two connections), and
    // eight clients in no conversation, so the online clients outnumber no one but the small group.
    h.login(1, "member-00");
    h.login(2, "member-00");
    h.login(3, "member-07");
    h.login(4, "member-31");
    h.login(5, "member-31");
    h.login(6, "member-59");
    for n in 0..8 {
        h.login(100 + n, &format!("outsider-{n}"));
    }
    let big = h.create(1, "member-00", &member_refs, json!({}));
    let small = h.create(1, "member-00", &["member-31", "member-40"], json!({}));
    for (cid, expected) in [
        (
            &big,
            vec![
                (2, "member-00"),
                (3, "member-07"),
                (4, "member-31"),
                (5, "member-31"),
                (6, "member-59"),
            ],
        ),
        (&small, vec![(2, "member-00"), (4, "member-31"), (5, "member-31")]),
    ] {
        for n in 0..3 {
            let sent = h.send(1, "member-00", cid, &format!("message {n}"));
            let ack = ack_of(&sent, 1);
            let delivered: Vec<(ConnId, &str)> = sent
                .iter()
                .filter(|(_, command)| command.is_push())
                .map(|(conn, command)| {
                    let direct = command.direct_message.as_ref().expect("a direct push");
                    assert_eq!(direct.id, ack.uid);
                    assert_eq!(direct.cid.as_deref(), Some(cid.as_str()));
                    assert_eq!(direct.from_peer_id.as_deref(), Some("member-00"));
                    (*conn, command.peer_id.as_deref().expect("peerId"))
                })
                .collect();
            assert_eq!(delivered, expected, "{cid}, message {n}");
        }
    }
    // Members that were offline count the messages as unread; the sender does not.
    for (conn, client, unread) in [
        (20, "member-40", vec![(&big, 3), (&small, 3)]),
        (21, "member-12", vec![(&big, 3)]),
    ] {
        let sent = h.login(conn, client);
        let pushed = pushes(&sent, conn);
        assert_eq!(pushed.len(), 1, "{client}: {sent:?}");
        let mut counts: Vec<(String, i32)> = pushed[0]
            .unread_message
            .clone()
            .expect("unread")
            .convs
            .into_iter()
            .map(|tuple| (tuple.cid, tuple.unread))
            .collect();
        counts.sort();
        let mut expected: Vec<(String, i32)> = unread.into_iter().map(|(cid, n)| (cid.clone(), n)).collect();
        expected.sort();
        assert_eq!(counts, expected, "{client}");
    }
    assert!(
        pushes(&h.login(22, "member-00"), 22).is_empty(),
        "the sender has nothing unread"
    );
}

#[test]
fn receipts_reach_senders_that_asked_around_plain_messages_and_after_a_restart() {
    // Acks that cannot produce a receipt skip the receipt query; the hub knows which from the
    // newest message that asked, kept in memory and rebuilt from storage at start.
    fn send(h: &mut Harness, cid: &str, text: &str, receipt: bool) -> (String, i64) {
        let sent = h.send_direct(
            1,
            "Tom",
            DirectCommand {
                cid: Some(cid.to_owned()),
                msg: Some(text.into()),
                r: receipt.then_some(true),
                ..Default::default()
            },
        );
        let ack = ack_of(&sent, 1);
        (ack.uid.expect("uid"), ack.t.expect("t"))
    }
    fn ack(h: &mut Harness, cid: &str, from: i64, to: i64) -> Vec<chinwag_protocol::RcpCommand> {
        let client_ack = ack_between(cid, from, to);
        let sent = h.run(2, client_ack);
        pushes(&sent, 1)
            .iter()
            .filter_map(|p| p.rcp_message.as_deref().cloned())
            .collect()
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cid, asked, plain_t) = {
        let (mut h, cid) = Harness::tom_and_jerry_on(SqliteStorage::open(dir.path()).expect("open"));
        // No message asked yet: acks bring nothing.
        let (_, t) = send(&mut h, &cid, "plain", false);
        assert!(ack(&mut h, &cid, t, t).is_empty());
        // One that asks, acked in memory: its receipt arrives.
        let (uid, t) = send(&mut h, &cid, "receipt please", true);
        let rcp = ack(&mut h, &cid, t, t);
        assert_eq!(rcp.len(), 1);
        assert_eq!(
            (rcp[0].id.as_deref(), rcp[0].read),
            (Some(uid.as_str()), Some(false))
        );
        // Another that asks, then a plain one; neither acked before the restart.
        let asked = send(&mut h, &cid, "and this one", true);
        let (_, plain_t) = send(&mut h, &cid, "plain again", false);
        (cid, asked, plain_t)
    };
    // A restarted server draws a new id seed (the tests' fixed one would repeat message ids).
    let mut restarted = config();
    restarted.id_seed = 1;
    let storage = SqliteStorage::open(dir.path()).expect("reopen");
    let mut h = Harness::start(restarted, storage);
    h.now = plain_t;
    h.login(1, "Tom");
    h.login(2, "Jerry");
    // Acking from the one that asked through the plain one brings its receipt.
    let rcp = ack(&mut h, &cid, asked.1, plain_t);
    assert_eq!(rcp.len(), 1, "receipt after restart");
    assert_eq!(
        (rcp[0].id.as_deref(), rcp[0].read),
        (Some(asked.0.as_str()), Some(false))
    );
    assert_eq!(rcp[0].from.as_deref(), Some("Jerry"));
    // After the restart too: a plain message's ack brings nothing, a new asking one's its receipt.
    let (_, t) = send(&mut h, &cid, "plain after restart", false);
    assert!(ack(&mut h, &cid, t, t).is_empty());
    let (uid, t) = send(&mut h, &cid, "asked after restart", true);
    let rcp = ack(&mut h, &cid, t, t);
    assert_eq!(rcp.len(), 1);
    assert_eq!(rcp[0].id.as_deref(), Some(uid.as_str()));
    // Reading brings the read receipts of both messages that asked.
    let read = GenericCommand::new(CommandType::Read).with(ReadCommand {
        cid: Some(cid.clone()),
        ..Default::default()
    });
    let sent = h.run(2, read);
    let reads: Vec<_> = pushes(&sent, 1)
        .iter()
        .filter_map(|p| p.rcp_message.clone())
        .filter(|r| r.read == Some(true))
        .collect();
    assert_eq!(reads.len(), 3, "{sent:#?}");
    assert_eq!(reads[1].id.as_deref(), Some(asked.0.as_str()));
    assert_eq!(reads[2].id.as_deref(), Some(uid.as_str()));
}

#[test]
fn acks_of_one_batch_are_stored_once_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cid, stamps) = {
        let (mut h, cid) = Harness::tom_and_jerry_on(SqliteStorage::open(dir.path()).expect("open"));
        let stamps: Vec<i64> = (0..3)
            .map(|n| ack_of(&h.send(1, "Tom", &cid, &format!("m{n}")), 1).t.expect("t"))
            .collect();
        // Jerry acks the three one by one in one batch, then asks for the max positions in the same batch:
        // the position write is deferred, so what follows the acks must still see it.
        let mut inputs: Vec<Input> = stamps
            .iter()
            .map(|&t| {
                let ack = ack_between(&cid, t, t);
                Input::Command(2, ack)
            })
            .collect();
        let max_read = h
            .request(CommandType::Conv, Some(OpType::MaxRead))
            .with(ConvCommand {
                cid: Some(cid.clone()),
                ..Default::default()
            });
        inputs.push(Input::Command(1, max_read));
        h.now += 1;
        let sent = sent(h.hub.handle_batch(inputs, h.now));
        let body = conv_reply(&sent, 1);
        assert_eq!(body.max_ack_timestamp, stamps.last().copied());
        (cid, stamps)
    };
    let mut h = Harness::with_storage(SqliteStorage::open(dir.path()).expect("reopen"));
    h.now = stamps[2];
    h.login(1, "Tom");
    let sent = h.conv(1, "Tom", OpType::MaxRead, conv_of(&cid));
    let body = conv_reply(&sent, 1);
    assert_eq!(
        body.max_ack_timestamp,
        Some(stamps[2]),
        "the batch's acks were stored"
    );
}
