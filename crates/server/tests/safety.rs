//! Hub-level safety tests: app ids, stale and missing signatures (sign-in, conversations,
//! blacklist), session tokens bound to their client and app, forged `peerId`s on a shared
//! connection, and the limits: per-connection and per-client rate limits, clients per connection,
//! members per conversation, history page size.

use chinwag_protocol::{
    BlacklistCommand, CommandType, ConvCommand, DirectCommand, GenericCommand, OpType, SessionCommand,
};
use chinwag_server::signature;
use chinwag_server::{ConnId, HubConfig, RateLimit, SqliteStorage};

#[path = "common/hub.rs"]
mod harness;

use harness::{Harness as H, T0, relogin};

/// `T0` in seconds, as signatures carry it.
const T0_SECS: i64 = T0 / 1000;

impl H {
    fn new(config: HubConfig) -> Self {
        Self::start(config, SqliteStorage::in_memory().expect("storage"))
    }

    /// Sends a request and returns its reply on `conn`.
    fn ask(&mut self, conn: ConnId, command: GenericCommand) -> GenericCommand {
        self.serial += 1;
        let mut command = command;
        command.i = Some(self.serial);
        let sent = self.run(conn, command);
        sent.into_iter()
            .find(|(c, cmd)| *c == conn && cmd.serial() == Some(self.serial))
            .map(|(_, cmd)| cmd)
            .expect("a reply")
    }

    fn open(
        &mut self,
        conn: ConnId,
        app: Option<&str>,
        client: &str,
        session: SessionCommand,
    ) -> GenericCommand {
        self.hub.connect(conn);
        let mut open = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Open)
            .with_peer_id(client)
            .with(session);
        if let Some(app) = app {
            open = open.with_app_id(app);
        }
        self.ask(conn, open)
    }
}

/// A sign-in of `client` to `app`, signed at `t` (seconds) with the key `master`.
fn signed_login(client: &str, t: i64) -> SessionCommand {
    SessionCommand {
        s: Some(signature::sign(
            b"master",
            &signature::login_message("app", client, t, "n"),
        )),
        t: Some(t),
        n: Some("n".into()),
        ..Default::default()
    }
}

/// Tom's `conv start` with `members` in `app`, signed at `t` (seconds) with the key `master`.
fn signed_start(members: &[String], t: i64) -> GenericCommand {
    GenericCommand::new(CommandType::Conv)
        .with_op(OpType::Start)
        .with_peer_id("Tom")
        .with(ConvCommand {
            m: members.to_vec(),
            s: Some(signature::sign(
                b"master",
                &signature::create_message("app", "Tom", members, t, "n"),
            )),
            t: Some(t),
            n: Some("n".into()),
            ..Default::default()
        })
}

/// The error code of a `session/closed` refusal, an error reply, or an error ack.
fn code(reply: &GenericCommand) -> Option<i32> {
    if let Some(session) = &reply.session_message {
        if reply.op_type() == Some(OpType::Closed) {
            return session.code;
        }
    }
    if let Some(ack) = &reply.ack_message {
        return ack.code;
    }
    reply.server_error().map(|e| e.code)
}

fn token(reply: &GenericCommand) -> String {
    reply.session_message.clone().and_then(|s| s.st).expect("st")
}

#[test]
fn session_open_checks_the_app_id() {
    let mut config = HubConfig::new("app", "secret");
    config.other_app_ids = vec!["alias".into()];
    let mut h = H::new(config);
    let wrong = h.open(1, Some("other-app"), "Tom", SessionCommand::default());
    assert_eq!(wrong.op_type(), Some(OpType::Closed));
    assert_eq!(code(&wrong), Some(4100));
    assert!(!h.hub.is_online("Tom"));
    // The configured id, an alias and (for clients that never send it) no id at all are fine.
    for (conn, app) in [(2, Some("app")), (3, Some("alias")), (4, None)] {
        let ok = h.open(conn, app, "Tom", SessionCommand::default());
        assert_eq!(ok.op_type(), Some(OpType::Opened), "{app:?}");
    }
    // The same client on the same connection cannot switch apps.
    let switched = h.open(2, Some("alias"), "Tom", SessionCommand::default());
    assert_eq!(code(&switched), Some(4100));

    let mut config = HubConfig::new("app", "secret");
    config.allow_any_app_id = true;
    let mut h = H::new(config);
    let any = h.open(1, Some("whatever"), "Tom", SessionCommand::default());
    assert_eq!(any.op_type(), Some(OpType::Opened));
}

#[test]
fn session_tokens_work_only_for_their_client_and_app() {
    let mut config = HubConfig::new("app", "secret");
    config.allow_any_app_id = true;
    let mut h = H::new(config);
    let st = token(&h.open(1, Some("app-a"), "Tom", SessionCommand::default()));
    // Another client, or the same client of another app, cannot re-login with it.
    assert_eq!(code(&h.open(2, Some("app-a"), "Jerry", relogin(&st))), Some(4112));
    assert_eq!(code(&h.open(3, Some("app-b"), "Tom", relogin(&st))), Some(4112));
    assert_eq!(
        h.open(4, Some("app-a"), "Tom", relogin(&st)).op_type(),
        Some(OpType::Opened)
    );
    // Over REST too: the token is checked against `X-LC-Id` and `client_id`.
    assert!(h.hub.notifications(Some("app-a"), &st, "Tom", 0, h.now).is_ok());
    assert!(h.hub.notifications(Some("app-b"), &st, "Tom", 0, h.now).is_err());
    assert!(
        h.hub
            .notifications(Some("app-a"), &st, "Jerry", 0, h.now)
            .is_err()
    );
    assert!(
        h.hub
            .member_infos(Some("app-b"), &st, "Tom", "cid", h.now)
            .is_err()
    );

    // Without `allow_any_app_id`, a REST call for an app that is not served is refused even with a
    // token the server signed for it earlier.
    let mut h2 = H::new(HubConfig::new("app", "secret"));
    assert!(h2.hub.notifications(Some("app-a"), &st, "Tom", 0, T0).is_err());
}

#[test]
fn stale_signatures_are_refused() {
    let mut config = HubConfig::new("app", "secret");
    config.signature_key = Some(b"master".to_vec());
    config.require_signatures = true;
    config.signature_ttl_secs = 600;
    let mut h = H::new(config);
    let login = |t: i64| signed_login("Tom", t);
    // Correctly signed, but 11 minutes old (or from the future): 4102.
    assert_eq!(
        code(&h.open(1, Some("app"), "Tom", login(T0_SECS - 660))),
        Some(4102)
    );
    assert_eq!(
        code(&h.open(1, Some("app"), "Tom", login(T0_SECS + 660))),
        Some(4102)
    );
    assert_eq!(
        h.open(1, Some("app"), "Tom", login(T0_SECS - 300)).op_type(),
        Some(OpType::Opened)
    );

    let members = vec!["Jerry".to_string(), "Tom".to_string()];
    let start = |t: i64| signed_start(&members, t);
    assert_eq!(code(&h.ask(1, start(T0_SECS - 3600))), Some(4302));
    let created = h.ask(1, start(T0_SECS));
    assert_eq!(code(&created), None);
    assert!(created.conv_message.and_then(|c| c.cid).is_some());
}

#[test]
fn blacklist_changes_must_be_signed() {
    let mut config = HubConfig::new("app", "secret");
    config.signature_key = Some(b"master".to_vec());
    config.require_signatures = true;
    let mut h = H::new(config);
    let login = |client: &str| signed_login(client, T0_SECS);
    assert_eq!(
        h.open(1, Some("app"), "Tom", login("Tom")).op_type(),
        Some(OpType::Opened)
    );
    let members = vec!["Jerry".to_string(), "Mary".to_string(), "Tom".to_string()];
    let created = h.ask(1, signed_start(&members, T0_SECS));
    let cid = created.conv_message.and_then(|c| c.cid).expect("cid");
    let block = |op: OpType, sig: Option<String>| {
        GenericCommand::new(CommandType::Blacklist)
            .with_op(op)
            .with_peer_id("Tom")
            .with(BlacklistCommand {
                src_cid: Some(cid.clone()),
                to_pids: vec!["Mary".into()],
                s: sig,
                t: Some(T0_SECS),
                n: Some("n".into()),
                ..Default::default()
            })
    };
    let sign = |first: &str, second: &str, action: &str| {
        Some(signature::sign(
            b"master",
            &signature::membership_message("app", first, second, &["Mary".into()], T0_SECS, "n", action),
        ))
    };
    assert_eq!(code(&h.ask(1, block(OpType::Block, None))), Some(4302));
    // Signed for the wrong action.
    let wrong = sign("Tom", &cid, "conversation-unblock-clients");
    assert_eq!(code(&h.ask(1, block(OpType::Block, wrong))), Some(4302));
    let blocked = h.ask(
        1,
        block(OpType::Block, sign("Tom", &cid, "conversation-block-clients")),
    );
    assert_eq!(code(&blocked), None);
    assert_eq!(
        blocked.blacklist_message.map(|b| b.allowed_pids),
        Some(vec!["Mary".to_string()])
    );
    // 4.3.1's factory got the conversation and client ids swapped; that order is accepted too.
    let swapped = sign(&cid, "Tom", "conversation-unblock-clients");
    assert_eq!(code(&h.ask(1, block(OpType::Unblock, swapped))), None);
}

#[test]
fn direct_floods_get_4116_until_the_bucket_refills() {
    let mut config = HubConfig::new("app", "secret");
    config.rate_limit = Some(RateLimit {
        burst: 3,
        per_second: 2,
    });
    let mut h = H::new(config);
    h.open(1, Some("app"), "Tom", SessionCommand::default());
    h.open(2, Some("app"), "Jerry", SessionCommand::default());
    let cid = cid_of(&start(&mut h, 1, "Tom", &["Jerry"]));
    let direct = |peer: &str| text(peer, &cid);
    let codes: Vec<Option<i32>> = (0..5).map(|_| code(&h.ask(1, direct("Tom")))).collect();
    assert_eq!(codes, [None, None, None, Some(4116), Some(4116)]);
    // Another connection has its own bucket.
    assert_eq!(code(&h.ask(2, direct("Jerry"))), None);
    // Half a second later one token is back, and only one.
    h.now += 500;
    assert_eq!(code(&h.ask(1, direct("Tom"))), None);
    assert_eq!(code(&h.ask(1, direct("Tom"))), Some(4116));
    // Other commands are not limited.
    let echo = h.ask(1, GenericCommand::new(CommandType::Echo));
    assert_eq!(echo.command_type(), Some(CommandType::Echo));
}

fn start(h: &mut H, conn: ConnId, creator: &str, members: &[&str]) -> GenericCommand {
    h.ask(
        conn,
        GenericCommand::new(CommandType::Conv)
            .with_op(OpType::Start)
            .with_peer_id(creator)
            .with(ConvCommand {
                m: members.iter().map(|m| m.to_string()).collect(),
                ..Default::default()
            }),
    )
}

fn cid_of(reply: &GenericCommand) -> String {
    reply.conv_message.clone().and_then(|c| c.cid).expect("cid")
}

fn text(peer: &str, cid: &str) -> GenericCommand {
    GenericCommand::new(CommandType::Direct)
        .with_peer_id(peer)
        .with(DirectCommand {
            cid: Some(cid.into()),
            msg: Some("hi".into()),
            ..Default::default()
        })
}

#[test]
fn a_client_shares_one_rate_budget_across_its_connections() {
    let mut config = HubConfig::new("app", "secret");
    config.client_rate_limit = Some(RateLimit {
        burst: 3,
        per_second: 2,
    });
    let mut h = H::new(config);
    h.open(1, Some("app"), "Tom", SessionCommand::default());
    h.open(2, Some("app"), "Tom", SessionCommand::default());
    h.open(3, Some("app"), "Jerry", SessionCommand::default());
    let cid = cid_of(&start(&mut h, 1, "Tom", &["Jerry"]));
    // Three from two connections spend Tom's burst; a fresh connection does not bring a new one.
    let codes: Vec<Option<i32>> = [1, 2, 1, 2, 1]
        .into_iter()
        .map(|conn| code(&h.ask(conn, text("Tom", &cid))))
        .collect();
    assert_eq!(codes, [None, None, None, Some(4116), Some(4116)]);
    h.open(4, Some("app"), "Tom", SessionCommand::default());
    assert_eq!(code(&h.ask(4, text("Tom", &cid))), Some(4116));
    // Another client has its own budget.
    assert_eq!(code(&h.ask(3, text("Jerry", &cid))), None);
    // Signing out everywhere and pruning does not forgive the debt...
    for conn in [1, 2, 4] {
        h.hub.disconnect(conn, h.now);
    }
    h.hub.prune_idle_limits(h.now);
    h.open(5, Some("app"), "Tom", SessionCommand::default());
    assert_eq!(code(&h.ask(5, text("Tom", &cid))), Some(4116));
    // ...but time does: half a second gives back one message.
    h.now += 500;
    assert_eq!(code(&h.ask(5, text("Tom", &cid))), None);
    assert_eq!(code(&h.ask(5, text("Tom", &cid))), Some(4116));
}

#[test]
fn a_direct_the_client_budget_refuses_costs_no_connection_budget() {
    let mut config = HubConfig::new("app", "secret");
    config.rate_limit = Some(RateLimit {
        burst: 2,
        per_second: 1,
    });
    config.client_rate_limit = Some(RateLimit {
        burst: 1,
        per_second: 2,
    });
    let mut h = H::new(config);
    h.open(1, Some("app"), "Tom", SessionCommand::default());
    h.open(2, Some("app"), "Tom", SessionCommand::default());
    h.open(3, Some("app"), "Jerry", SessionCommand::default());
    let cid = cid_of(&start(&mut h, 1, "Tom", &["Jerry"]));
    // Connection 1 spends Tom's whole client budget; connection 2 is refused by it twice.
    assert_eq!(code(&h.ask(1, text("Tom", &cid))), None);
    assert_eq!(code(&h.ask(2, text("Tom", &cid))), Some(4116));
    assert_eq!(code(&h.ask(2, text("Tom", &cid))), Some(4116));
    // Half a second refills Tom's budget but only half a token of a connection's: connection 2
    // still has both of its own, as the refusals took none.
    h.now += 500;
    assert_eq!(code(&h.ask(2, text("Tom", &cid))), None);
}

#[test]
fn a_connection_holds_at_most_the_configured_clients() {
    let mut config = HubConfig::new("app", "secret");
    config.max_clients_per_connection = Some(2);
    let mut h = H::new(config);
    for client in ["Tom", "Jerry"] {
        let opened = h.open(1, Some("app"), client, SessionCommand::default());
        assert_eq!(opened.op_type(), Some(OpType::Opened), "{client}");
    }
    let third = h.open(1, Some("app"), "Mary", SessionCommand::default());
    assert_eq!(third.op_type(), Some(OpType::Closed));
    assert_eq!(code(&third), Some(4113));
    assert!(!h.hub.is_online("Mary"));
    assert_eq!(h.hub.clients_on(1), ["Tom", "Jerry"]);
    // Re-opening a client already on the connection is fine; so is another connection.
    let again = h.open(1, Some("app"), "Tom", SessionCommand::default());
    assert_eq!(again.op_type(), Some(OpType::Opened));
    let elsewhere = h.open(2, Some("app"), "Mary", SessionCommand::default());
    assert_eq!(elsewhere.op_type(), Some(OpType::Opened));
}

#[test]
fn conversations_hold_at_most_max_members() {
    let mut config = HubConfig::new("app", "secret");
    config.max_members = Some(3);
    let mut h = H::new(config);
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary"), (4, "Bob")] {
        h.open(conn, Some("app"), client, SessionCommand::default());
    }
    // Tom plus three is one too many.
    let crowded = start(&mut h, 1, "Tom", &["Jerry", "Mary", "Bob"]);
    assert_eq!(code(&crowded), Some(4304));
    assert_eq!(
        crowded.server_error().map(|e| e.reason.clone()).as_deref(),
        Some("CONVERSATION_FULL")
    );
    let cid = cid_of(&start(&mut h, 1, "Tom", &["Jerry", "Mary"]));
    // Adding or joining past the cap is refused, and nobody hears of it.
    let add = GenericCommand::new(CommandType::Conv)
        .with_op(OpType::Add)
        .with_peer_id("Tom")
        .with(ConvCommand {
            cid: Some(cid.clone()),
            m: vec!["Bob".into()],
            ..Default::default()
        });
    h.serial += 1;
    let sent = h.run(1, {
        let mut add = add;
        add.i = Some(h.serial);
        add
    });
    assert_eq!(sent.len(), 1, "only the error reply: {sent:?}");
    assert_eq!(code(&sent[0].1), Some(4304));
    let join = GenericCommand::new(CommandType::Conv)
        .with_op(OpType::Join)
        .with_peer_id("Bob")
        .with(ConvCommand {
            cid: Some(cid.clone()),
            ..Default::default()
        });
    assert_eq!(code(&h.ask(4, join)), Some(4304));
    // Server-side (REST) creation and adds obey the same cap.
    let members: Vec<String> = ["Jerry", "Mary", "Bob"].map(String::from).to_vec();
    let (created, _) = h
        .hub
        .create_conversation("Tom", &members, Default::default(), h.now);
    assert!(
        matches!(created, Err(chinwag_server::AdminError::Code { code, .. }) if code.code() == 4304),
        "{created:?}"
    );
    let (added, _) = h.hub.change_members(&cid, &["Bob".into()], true, h.now);
    assert!(
        matches!(added, Err(chinwag_server::AdminError::Code { code, .. }) if code.code() == 4304),
        "{added:?}"
    );
    // Chat rooms are not capped.
    let room = h.ask(
        1,
        GenericCommand::new(CommandType::Conv)
            .with_op(OpType::Start)
            .with_peer_id("Tom")
            .with(ConvCommand {
                transient: Some(true),
                ..Default::default()
            }),
    );
    let room = cid_of(&room);
    for (conn, client) in [(2, "Jerry"), (3, "Mary"), (4, "Bob")] {
        let join = GenericCommand::new(CommandType::Conv)
            .with_op(OpType::Join)
            .with_peer_id(client)
            .with(ConvCommand {
                cid: Some(room.clone()),
                ..Default::default()
            });
        assert_eq!(code(&h.ask(conn, join)), None, "{client}");
    }
}

#[test]
fn history_pages_are_capped() {
    let mut config = HubConfig::new("app", "secret");
    config.max_logs_limit = 25;
    let mut h = H::new(config);
    h.open(1, Some("app"), "Tom", SessionCommand::default());
    let cid = cid_of(&start(&mut h, 1, "Tom", &["Jerry"]));
    for _ in 0..30 {
        assert_eq!(code(&h.ask(1, text("Tom", &cid))), None);
    }
    let logs = |limit: Option<i32>| {
        GenericCommand::new(CommandType::Logs)
            .with_peer_id("Tom")
            .with(chinwag_protocol::LogsCommand {
                cid: Some(cid.clone()),
                l: limit,
                ..Default::default()
            })
    };
    let count = |reply: GenericCommand| reply.logs_message.map_or(0, |l| l.logs.len());
    // No limit: LeanCloud's default page of 20; a huge limit: the configured cap; 0: nothing.
    assert_eq!(count(h.ask(1, logs(None))), 20);
    assert_eq!(count(h.ask(1, logs(Some(1_000_000)))), 25);
    assert_eq!(count(h.ask(1, logs(Some(7)))), 7);
    assert_eq!(count(h.ask(1, logs(Some(0)))), 0);
    assert_eq!(count(h.ask(1, logs(Some(-5)))), 0);
}

#[test]
fn a_forged_peer_id_on_a_shared_connection_is_refused() {
    let mut h = H::new(HubConfig::new("app", "secret"));
    h.open(1, Some("app"), "Tom", SessionCommand::default());
    h.open(2, Some("app"), "Jerry", SessionCommand::default());
    let cid = cid_of(&start(&mut h, 2, "Jerry", &["Tom"]));
    // Connection 1 opened Tom only: commands in Jerry's name get 4105 and nothing else happens.
    h.serial += 1;
    let mut forged = text("Jerry", &cid);
    forged.i = Some(h.serial);
    let sent = h.run(1, forged);
    assert_eq!(sent.len(), 1, "only the refusal: {sent:?}");
    assert_eq!(sent[0].0, 1);
    assert_eq!(code(&sent[0].1), Some(4105));
    let as_jerry = |op: OpType, body: ConvCommand| {
        GenericCommand::new(CommandType::Conv)
            .with_op(op)
            .with_peer_id("Jerry")
            .with(body)
    };
    let created = h.ask(
        1,
        as_jerry(
            OpType::Start,
            ConvCommand {
                m: vec!["Mary".into()],
                ..Default::default()
            },
        ),
    );
    assert_eq!(code(&created), Some(4105));
    let kick = h.ask(
        1,
        as_jerry(
            OpType::Remove,
            ConvCommand {
                cid: Some(cid.clone()),
                m: vec!["Tom".into()],
                ..Default::default()
            },
        ),
    );
    assert_eq!(code(&kick), Some(4105));
    let close = h.ask(
        1,
        GenericCommand::new(CommandType::Session)
            .with_op(OpType::Close)
            .with_peer_id("Jerry"),
    );
    assert_eq!(code(&close), Some(4105));
    assert!(h.hub.is_online("Jerry"));
    // Jerry's history holds nothing sent in his name.
    let logs = h.ask(
        2,
        GenericCommand::new(CommandType::Logs)
            .with_peer_id("Jerry")
            .with(chinwag_protocol::LogsCommand {
                cid: Some(cid),
                ..Default::default()
            }),
    );
    assert_eq!(logs.logs_message.map_or(0, |l| l.logs.len()), 0);
}
