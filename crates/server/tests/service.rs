//! Hub-level tests of service (system) conversations: created server-side, subscribed by clients
//! joining themselves, broadcasts to subscribers, `{"sys": true}` queries and 4313/4314.

use chinwag_protocol::{
    CommandType, ConvCommand, DirectCommand, ErrorCode, GenericCommand, JsonObjectMessage, OpType,
};
use chinwag_server::{AdminError, ConnId, Hub, HubConfig, SqliteStorage};
use serde_json::{Map, Value, json};

#[path = "common/hub.rs"]
mod harness;

use harness::{Harness as H, Sent, T0, sent};

impl H {
    fn new() -> Self {
        Self::start(
            HubConfig::new("app", "secret"),
            SqliteStorage::in_memory().expect("storage"),
        )
    }

    fn tick(&mut self) -> i64 {
        self.now += 1;
        self.now
    }

    /// Sends `command` as a request with a fresh serial; returns its reply and all that was sent.
    fn ask(&mut self, conn: ConnId, mut command: GenericCommand) -> (GenericCommand, Sent) {
        self.serial += 1;
        command.i = Some(self.serial);
        let out = self.run(conn, command);
        let serial = self.serial;
        let reply = out
            .iter()
            .find(|(c, cmd)| *c == conn && cmd.serial() == Some(serial))
            .map(|(_, cmd)| cmd.clone())
            .expect("a reply");
        (reply, out)
    }

    fn login(&mut self, conn: ConnId, client: &str) {
        self.hub.connect(conn);
        let open = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Open)
            .with_peer_id(client);
        let (reply, _) = self.ask(conn, open);
        assert_eq!(reply.op_type(), Some(OpType::Opened));
    }

    /// A normal conversation `client` on `conn` starts with `members`; returns its id.
    fn normal_conversation(&mut self, conn: ConnId, client: &str, members: &[&str]) -> String {
        let start = ConvCommand {
            m: members.iter().map(|m| (*m).to_owned()).collect(),
            ..Default::default()
        };
        let (reply, _) = self.conv(conn, client, OpType::Start, start);
        reply.conv_message.and_then(|c| c.cid).expect("cid")
    }

    fn conv(&mut self, conn: ConnId, client: &str, op: OpType, body: ConvCommand) -> (GenericCommand, Sent) {
        self.ask(
            conn,
            GenericCommand::new(CommandType::Conv)
                .with_op(op)
                .with_peer_id(client)
                .with(body),
        )
    }
}

fn error_code(reply: &GenericCommand) -> Option<i32> {
    reply
        .server_error()
        .map(|e| e.code)
        .or_else(|| reply.ack_message.as_ref().and_then(|a| a.code))
}

fn directs(out: &Sent, conn: ConnId) -> Vec<String> {
    out.iter()
        .filter(|(c, cmd)| *c == conn && cmd.is_push() && cmd.command_type() == Some(CommandType::Direct))
        .filter_map(|(_, cmd)| cmd.direct_message.as_ref().and_then(|d| d.msg.clone()))
        .collect()
}

fn pushes(out: &Sent, conn: ConnId) -> usize {
    out.iter().filter(|(c, cmd)| *c == conn && cmd.is_push()).count()
}

#[test]
fn clients_subscribe_to_service_conversations_and_get_broadcasts() {
    let mut h = H::new();
    let now = h.tick();
    let mut attrs = Map::new();
    attrs.insert("topic".into(), json!("news"));
    let (cid, out) = h.hub.create_service_conversation("News", attrs, now);
    let cid = cid.expect("created");
    assert!(out.is_empty());
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary")] {
        h.login(conn, client);
    }

    // Found with {"sys": true}; the subscriber list is not shown.
    let where_sys = ConvCommand {
        r#where: Some(JsonObjectMessage {
            data: json!({"sys": true}).to_string(),
        }),
        ..Default::default()
    };
    let (reply, _) = h.conv(1, "Tom", OpType::Query, where_sys.clone());
    let results: Vec<Value> = serde_json::from_str(
        &reply
            .conv_message
            .and_then(|c| c.results)
            .map(|r| r.data)
            .expect("results"),
    )
    .expect("JSON");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["objectId"], json!(cid));
    assert_eq!(results[0]["sys"], json!(true));
    assert_eq!(results[0]["name"], json!("News"));
    assert_eq!(results[0]["topic"], json!("news"));
    assert!(results[0].get("m").is_none(), "{}", results[0]);

    // Subscribe = join yourself; nobody else hears about it.
    let join = |cid: &str| ConvCommand {
        cid: Some(cid.into()),
        ..Default::default()
    };
    let (reply, _) = h.conv(1, "Tom", OpType::Add, join(&cid));
    assert_eq!(reply.op_type(), Some(OpType::Added));
    let (reply, out) = h.conv(2, "Jerry", OpType::Add, join(&cid));
    assert_eq!(reply.op_type(), Some(OpType::Added));
    assert_eq!(pushes(&out, 1), 0, "Tom is not told that Jerry subscribed");
    // Adding someone else is for normal conversations: 4314.
    let (reply, _) = h.conv(
        1,
        "Tom",
        OpType::Add,
        ConvCommand {
            cid: Some(cid.clone()),
            m: vec!["Mary".into()],
            ..Default::default()
        },
    );
    assert_eq!(
        error_code(&reply),
        Some(ErrorCode::NormalConversationRequired.code())
    );
    let (reply, _) = h.conv(
        1,
        "Tom",
        OpType::Remove,
        ConvCommand {
            cid: Some(cid.clone()),
            m: vec!["Jerry".into()],
            ..Default::default()
        },
    );
    assert_eq!(error_code(&reply), Some(4314));
    assert_eq!(h.hub.subscribers(&cid).expect("subscribers"), ["Jerry", "Tom"]);

    // A broadcast reaches every subscriber, and only subscribers.
    let now = h.tick();
    let (result, out) = h.hub.broadcast(&cid, "news-bot", "hello", false, now);
    let (mid, ts) = result.expect("broadcast");
    assert!(!mid.is_empty() && ts >= now);
    let out = sent(out);
    assert_eq!(directs(&out, 1), ["hello"]);
    assert_eq!(directs(&out, 2), ["hello"]);
    assert!(directs(&out, 3).is_empty());

    // A subscriber's message goes to the service, not to the other subscribers.
    let (ack, out) = h.ask(
        2,
        GenericCommand::new(CommandType::Direct)
            .with_peer_id("Jerry")
            .with(DirectCommand {
                cid: Some(cid.clone()),
                msg: Some("feedback".into()),
                ..Default::default()
            }),
    );
    assert_eq!(error_code(&ack), None);
    assert!(ack.ack_message.and_then(|a| a.uid).is_some());
    assert!(directs(&out, 1).is_empty());

    // Unsubscribe = quit yourself; a server-side subscription works too.
    let (reply, _) = h.conv(1, "Tom", OpType::Remove, join(&cid));
    assert_eq!(reply.op_type(), Some(OpType::Removed));
    let now = h.tick();
    assert!(h.hub.set_subscribed(&cid, "Mary", true, now).0.is_ok());
    let now = h.tick();
    let out = sent(h.hub.broadcast(&cid, "news-bot", "second", false, now).1);
    assert!(directs(&out, 1).is_empty());
    assert_eq!(directs(&out, 2), ["second"]);
    assert_eq!(directs(&out, 3), ["second"]);
    assert_eq!(h.hub.subscribers(&cid).expect("subscribers"), ["Jerry", "Mary"]);
}

#[test]
fn service_operations_on_other_conversations_fail_with_official_codes() {
    let mut h = H::new();
    h.login(1, "Tom");
    let normal = h.normal_conversation(1, "Tom", &["Jerry"]);
    let now = h.tick();
    let code = |result: Result<(String, i64), AdminError>| match result {
        Err(AdminError::Code { code, .. }) => Some(code),
        _ => None,
    };
    let (result, out) = h.hub.broadcast(&normal, "bot", "x", false, now);
    assert_eq!(code(result), Some(ErrorCode::SystemConversationRequired));
    assert!(out.is_empty(), "nothing is pushed on failure");
    let (result, _) = h.hub.broadcast("no-such-conversation", "bot", "x", false, now);
    assert_eq!(code(result), Some(ErrorCode::ConversationNotFound));
    assert!(matches!(
        h.hub.set_subscribed(&normal, "Mary", true, now).0,
        Err(AdminError::Code {
            code: ErrorCode::SystemConversationRequired,
            ..
        })
    ));
    // Clients cannot create service conversations: `sys` in the attributes is ignored.
    let (reply, _) = h.conv(
        1,
        "Tom",
        OpType::Start,
        ConvCommand {
            m: vec!["Jerry".into()],
            attr: Some(JsonObjectMessage {
                data: json!({"sys": true}).to_string(),
            }),
            ..Default::default()
        },
    );
    let cid = reply.conv_message.and_then(|c| c.cid).expect("cid");
    assert!(h.hub.subscribers(&cid).is_err());
}

#[test]
fn service_conversations_and_subscriptions_survive_a_restart() {
    let mut h = H::new();
    let (cid, _) = h.hub.create_service_conversation("News", Map::new(), T0);
    let cid = cid.expect("created");
    assert!(h.hub.set_subscribed(&cid, "Tom", true, T0 + 1).0.is_ok());
    let storage = h.hub.into_storage();
    let hub = Hub::new(HubConfig::new("app", "secret"), storage).expect("reopened");
    assert_eq!(
        hub.subscribers(&cid).expect("still a service conversation"),
        ["Tom"]
    );
}

#[test]
fn server_side_conversations_and_messages_reach_members() {
    let mut h = H::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let now = h.tick();
    let mut attrs = Map::new();
    attrs.insert("name".into(), json!("Tea"));
    attrs.insert("m".into(), json!(["ignored"]));
    let (doc, out) = h
        .hub
        .create_conversation("", &["Tom".into(), "Jerry".into()], attrs, now);
    let doc = doc.expect("created");
    let cid = doc["objectId"].as_str().expect("objectId").to_owned();
    assert_eq!(
        doc["m"],
        json!(["Jerry", "Tom"]),
        "reserved keys in attrs are ignored"
    );
    assert_eq!(doc["name"], json!("Tea"));
    let out = sent(out);
    for conn in [1, 2] {
        let ops: Vec<_> = out
            .iter()
            .filter(|(c, _)| *c == conn)
            .filter_map(|(_, cmd)| cmd.op_type())
            .collect();
        assert_eq!(ops, [OpType::Joined], "conn {conn}");
    }
    let now = h.tick();
    let (result, out) = h.hub.send_as(&cid, "Tom", "hi", false, now);
    assert!(result.is_ok());
    let out = sent(out);
    assert_eq!(directs(&out, 2), ["hi"]);
    assert_eq!(directs(&out, 1), ["hi"], "synced to the sender's sessions");
    assert_eq!(h.hub.unread_count("Jerry", None).expect("count"), 1);
    assert_eq!(h.hub.unread_count("Jerry", Some("other")).expect("count"), 0);
    assert_eq!(h.hub.unread_count("Tom", Some(&cid)).expect("count"), 0);
    let (result, _) = h.hub.send_as("nope", "Tom", "hi", false, now);
    assert!(matches!(
        result,
        Err(AdminError::Code {
            code: ErrorCode::ConversationNotFound,
            ..
        })
    ));
}

#[test]
fn server_side_member_changes_push_events_and_queries_see_them() {
    let mut h = H::new();
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let now = h.tick();
    let (doc, _) = h.hub.create_conversation("", &["Tom".into()], Map::new(), now);
    let cid = doc.expect("created")["objectId"].as_str().expect("id").to_owned();
    let now = h.tick();
    let (at, out) = h
        .hub
        .change_members(&cid, &["Jerry".into(), "Jerry".into()], true, now);
    assert_eq!(at.expect("added"), now);
    let out = sent(out);
    let op_on = |out: &Sent, conn: ConnId| -> Vec<OpType> {
        out.iter()
            .filter(|(c, _)| *c == conn)
            .filter_map(|(_, cmd)| cmd.op_type())
            .collect()
    };
    assert_eq!(op_on(&out, 2), [OpType::Joined]);
    assert_eq!(op_on(&out, 1), [OpType::MembersJoined]);
    assert_eq!(h.hub.members(&cid).expect("members"), ["Jerry", "Tom"]);
    let found = h
        .hub
        .query_conversations(&json!({"m": "Jerry"}), 0, None, now)
        .expect("query");
    assert_eq!(found.len(), 1);
    assert!(
        h.hub
            .query_conversations(&json!({"m": {"$bad": 1}}), 0, None, now)
            .is_err()
    );

    let now = h.tick();
    let out = sent(h.hub.change_members(&cid, &["Jerry".into()], false, now).1);
    assert_eq!(op_on(&out, 2), [OpType::Left]);
    assert_eq!(op_on(&out, 1), [OpType::MembersLeft]);
    let found = h
        .hub
        .query_conversations(&json!({"m": "Jerry"}), 0, None, now)
        .expect("query");
    assert!(found.is_empty());
}

#[test]
fn history_pages_and_server_side_patches() {
    use chinwag_server::hub::HistoryPage;
    let mut h = H::new();
    h.login(2, "Jerry");
    let now = h.tick();
    let (doc, _) = h
        .hub
        .create_conversation("Tom", &["Jerry".into()], Map::new(), now);
    let cid = doc.expect("created")["objectId"].as_str().expect("id").to_owned();
    let mut sent_at = Vec::new();
    for text in ["a", "b", "c"] {
        let now = h.tick();
        let (result, _) = h.hub.send_as(&cid, "Tom", text, false, now);
        sent_at.push(result.expect("sent"));
    }
    let data = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["data"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let now = h.tick();
    let page = |start: Option<i64>, reversed: bool| HistoryPage {
        start,
        reversed,
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(
        data(h.hub.history_page(&cid, &page(None, false), now).expect("page")),
        ["c", "b"]
    );
    let after_b = page(Some(sent_at[1].1), false);
    assert_eq!(
        data(h.hub.history_page(&cid, &after_b, now).expect("page")),
        ["a"]
    );
    assert_eq!(
        data(h.hub.history_page(&cid, &page(None, true), now).expect("page")),
        ["a", "b"]
    );
    assert!(h.hub.history_page("nope", &page(None, false), now).is_err());

    // Server-side edit and recall: only as the sender, with the right timestamp.
    let (mid, ts) = sent_at[0].clone();
    let now = h.tick();
    assert!(
        h.hub
            .patch_as(&cid, &mid, "Jerry", ts, Some("x"), None, now)
            .0
            .is_err()
    );
    assert!(
        h.hub
            .patch_as(&cid, &mid, "Tom", ts + 1, Some("x"), None, now)
            .0
            .is_err()
    );
    let (result, out) = h.hub.patch_as(&cid, &mid, "Tom", ts, Some("A"), None, now);
    assert!(result.is_ok());
    let out = sent(out);
    assert!(
        out.iter()
            .any(|(c, cmd)| *c == 2 && cmd.command_type() == Some(CommandType::Patch))
    );
    let now = h.tick();
    let oldest = HistoryPage {
        reversed: true,
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(data(h.hub.history_page(&cid, &oldest, now).expect("page")), ["A"]);
    let filtered = Some((-4408, Some("sensitive words".to_owned())));
    let (result, out) = h.hub.patch_as(&cid, &mid, "Tom", ts, None, filtered, now);
    assert!(result.is_ok());
    // The reason goes out as `patchCode`/`patchReason` (the SDKs' `reason` of `messagerecall`).
    let item = sent(out)
        .into_iter()
        .find_map(|(c, cmd)| (c == 2).then_some(cmd.patch_message?.patches.remove(0)))
        .expect("Jerry's patch push");
    assert_eq!(
        (item.recall, item.patch_code, item.patch_reason.as_deref()),
        (Some(true), Some(-4408), Some("sensitive words"))
    );
    let recalled = h.hub.history_page(&cid, &oldest, now).expect("page");
    assert_eq!(recalled[0]["data"], json!(r#"{"_lctype":-127}"#));
    assert!(recalled[0]["patch-timestamp"].is_i64());
}

#[test]
fn kick_closes_all_sessions_with_4115() {
    let mut h = H::new();
    h.login(1, "Tom");
    h.login(2, "Tom");
    h.login(3, "Jerry");
    let now = h.tick();
    let (closed, out) = h.hub.kick("Tom", Some("bye"), now);
    assert_eq!(closed.expect("kicked"), 2);
    let out = sent(out);
    for conn in [1, 2] {
        let (_, push) = out.iter().find(|(c, _)| *c == conn).expect("a push");
        assert_eq!(push.op_type(), Some(OpType::Closed));
        assert_eq!(
            push.session_message.as_ref().and_then(|s| s.code),
            Some(chinwag_server::hub::KICKED_BY_APP)
        );
    }
    assert!(out.iter().all(|(c, _)| *c != 3));
    assert!(!h.hub.is_online("Tom"));
    assert!(h.hub.is_online("Jerry"));
}

#[test]
fn server_side_chat_rooms_list_online_members_only() {
    let mut h = H::new();
    h.login(1, "Tom");
    let now = h.tick();
    let (cid, _) = h.hub.create_chat_room("Lobby", Map::new(), now);
    let cid = cid.expect("created");
    assert!(h.hub.room_members(&cid).expect("members").is_empty());
    assert!(h.hub.members(&cid).is_err(), "chat rooms have no member list");
    let (reply, _) = h.conv(
        1,
        "Tom",
        OpType::Add,
        ConvCommand {
            cid: Some(cid.clone()),
            ..Default::default()
        },
    );
    assert_eq!(reply.op_type(), Some(OpType::Added));
    assert_eq!(h.hub.room_members(&cid).expect("members"), ["Tom"]);
    let now = h.tick();
    let (result, out) = h.hub.send_as(&cid, "host", "hi", false, now);
    assert!(result.is_ok());
    assert_eq!(directs(&sent(out), 1), ["hi"]);
    let now = h.tick();
    h.hub.disconnect(1, now);
    assert!(h.hub.room_members(&cid).expect("members").is_empty());
    assert!(matches!(
        h.hub.room_members("nope"),
        Err(AdminError::Code {
            code: ErrorCode::ConversationNotFound,
            ..
        })
    ));
}

#[test]
fn server_side_mutes_change_the_mu_list() {
    let mut h = H::new();
    let (doc, _) = h
        .hub
        .create_conversation("", &["Tom".into(), "Jerry".into()], Map::new(), T0);
    let cid = doc.expect("created")["objectId"].as_str().expect("id").to_owned();
    assert!(
        h.hub
            .set_muted(&cid, &["Tom".into(), "Tom".into()], true, T0 + 1)
            .0
            .is_ok()
    );
    assert_eq!(h.hub.muted(&cid).expect("muted"), ["Tom"]);
    assert!(h.hub.set_muted(&cid, &["Tom".into()], false, T0 + 2).0.is_ok());
    assert!(h.hub.muted(&cid).expect("muted").is_empty());
    assert!(h.hub.set_muted("nope", &["Tom".into()], true, T0 + 3).0.is_err());
}

#[test]
fn server_side_updates_change_attributes_but_not_reserved_keys() {
    let mut h = H::new();
    h.login(1, "Tom");
    let (doc, _) = h.hub.create_conversation("", &["Tom".into()], Map::new(), T0);
    let cid = doc.expect("created")["objectId"].as_str().expect("id").to_owned();
    let mut changes = Map::new();
    changes.insert("name".into(), json!("Tea"));
    changes.insert("attr.level".into(), json!(2));
    changes.insert("tr".into(), json!(true));
    let (at, out) = h.hub.update_conversation(&cid, changes, T0 + 5);
    assert_eq!(at.expect("updated"), T0 + 5);
    let out = sent(out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.op_type(), Some(OpType::Updated));
    let found = h
        .hub
        .query_conversations(&json!({"objectId": cid}), 0, None, T0 + 6)
        .expect("query");
    assert_eq!(found[0]["name"], json!("Tea"));
    assert_eq!(found[0]["attr"]["level"], json!(2));
    assert_eq!(found[0]["tr"], json!(false));
}

/// `mute` and `max_read` of a service conversation are for its subscribers (4401 otherwise), and
/// `max_read` never tells a subscriber about the others.
#[test]
fn service_mute_and_max_read_are_for_subscribers_and_show_no_other_subscriber() {
    let mut h = H::new();
    let now = h.tick();
    let (cid, _) = h.hub.create_service_conversation("News", Map::new(), now);
    let cid = cid.expect("created");
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let body = || ConvCommand {
        cid: Some(cid.clone()),
        ..Default::default()
    };
    for op in [OpType::Mute, OpType::MaxRead] {
        let (reply, _) = h.conv(1, "Tom", op, body());
        assert_eq!(error_code(&reply), Some(4401), "{op:?}");
    }
    h.conv(1, "Tom", OpType::Add, body());
    h.conv(2, "Jerry", OpType::Add, body());
    let (reply, _) = h.conv(1, "Tom", OpType::Mute, body());
    assert_eq!(reply.op_type(), Some(OpType::Updated));
    let all = ConvCommand {
        query_all_members: Some(true),
        ..body()
    };
    let (reply, _) = h.conv(1, "Tom", OpType::MaxRead, all);
    let tuples = reply.conv_message.expect("body").max_read_tuples;
    let pids: Vec<_> = tuples.iter().filter_map(|t| t.pid.as_deref()).collect();
    assert_eq!(pids, ["Tom"]);
}

/// `(conv_id, subscriber, timestamp)` of each subscription of a page.
fn subscriptions_of(page: &[chinwag_server::storage::Membership]) -> Vec<(&str, &str, i64)> {
    page.iter()
        .map(|m| (m.cid.as_str(), m.client_id.as_str(), m.joined_at))
        .collect()
}

#[test]
fn subscriber_lists_page_by_client_id_with_when_each_subscribed() {
    let mut h = H::new();
    let (cid, _) = h.hub.create_service_conversation("News", Map::new(), T0);
    let cid = cid.expect("created");
    for (n, client) in ["Mary", "Tom", "Jerry"].iter().enumerate() {
        let at = T0 + 10 * (n as i64 + 1);
        assert!(h.hub.set_subscribed(&cid, client, true, at).0.is_ok());
    }
    let first = h.hub.subscriber_page(&cid, None, Some(2)).expect("page");
    assert_eq!(
        subscriptions_of(&first),
        [(cid.as_str(), "Jerry", T0 + 30), (cid.as_str(), "Mary", T0 + 10)]
    );
    let rest = h.hub.subscriber_page(&cid, Some("Mary"), Some(2)).expect("page");
    assert_eq!(subscriptions_of(&rest), [(cid.as_str(), "Tom", T0 + 20)]);
    // LeanCloud's cap: at most 50 a page, whatever the limit asks.
    for n in 0..60 {
        let client = format!("reader{n:02}");
        assert!(h.hub.set_subscribed(&cid, &client, true, T0 + 100).0.is_ok());
    }
    assert_eq!(
        h.hub.subscriber_page(&cid, None, Some(500)).expect("page").len(),
        50
    );
    // An unsubscribed client leaves the list; a normal conversation has no subscribers.
    assert!(h.hub.set_subscribed(&cid, "Jerry", false, T0 + 200).0.is_ok());
    let first = h.hub.subscriber_page(&cid, None, Some(1)).expect("page");
    assert_eq!(subscriptions_of(&first), [(cid.as_str(), "Mary", T0 + 10)]);
    h.login(1, "Tom");
    let normal = h.normal_conversation(1, "Tom", &["Jerry"]);
    assert!(matches!(
        h.hub.subscriber_page(&normal, None, None),
        Err(AdminError::Code {
            code: ErrorCode::SystemConversationRequired,
            ..
        })
    ));
}

#[test]
fn a_clients_subscriptions_page_by_time_both_ways_and_leave_out_other_conversations() {
    let mut h = H::new();
    let mut services = Vec::new();
    for (n, name) in ["News", "Sport", "Weather"].iter().enumerate() {
        let (cid, _) = h.hub.create_service_conversation(name, Map::new(), T0);
        let cid = cid.expect("created");
        // Subscribed in reverse order of creation: the list follows subscription time.
        let at = T0 + 100 - 10 * n as i64;
        assert!(h.hub.set_subscribed(&cid, "Tom", true, at).0.is_ok());
        services.push((cid, at));
    }
    // A normal conversation Tom is a member of is not a subscription.
    h.login(1, "Tom");
    h.normal_conversation(1, "Tom", &["Jerry"]);
    let [(news, news_at), (sport, sport_at), (weather, weather_at)] = &services[..] else {
        unreachable!("three services")
    };
    let oldest_first = h.hub.subscriptions("Tom", None, false, Some(2)).expect("page");
    assert_eq!(
        subscriptions_of(&oldest_first),
        [
            (weather.as_str(), "Tom", *weather_at),
            (sport.as_str(), "Tom", *sport_at)
        ]
    );
    let next = h
        .hub
        .subscriptions("Tom", Some((*sport_at, sport.as_str())), false, Some(2))
        .expect("page");
    assert_eq!(subscriptions_of(&next), [(news.as_str(), "Tom", *news_at)]);
    let newest_first = h.hub.subscriptions("Tom", None, true, None).expect("page");
    assert_eq!(
        subscriptions_of(&newest_first)
            .iter()
            .map(|(cid, _, _)| *cid)
            .collect::<Vec<_>>(),
        [news.as_str(), sport.as_str(), weather.as_str()]
    );
    let older = h
        .hub
        .subscriptions("Tom", Some((*news_at, news.as_str())), true, Some(1))
        .expect("page");
    assert_eq!(subscriptions_of(&older), [(sport.as_str(), "Tom", *sport_at)]);
    assert!(
        h.hub
            .subscriptions("Jerry", None, false, None)
            .expect("page")
            .is_empty()
    );
}
