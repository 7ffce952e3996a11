//! LeanEngine IM hooks at the hub: which calls it asks for, with which parameters, how deciding
//! hooks hold commands back and how their answers change them. The HTTP side is tested against
//! the real `leanengine` package in the interop tier (`crates/server/interop/hooks.test.cjs`).

use chinwag_protocol::{CommandType, ConvCommand, DirectCommand, GenericCommand, LogsCommand, OpType};
use chinwag_server::hub::{HookCall, HookName, HookSet, HookTicket};
use chinwag_server::{ConnId, HubConfig, Input, SqliteStorage};
use serde_json::{Value, json};

#[path = "common/hub.rs"]
mod harness;

use harness::{Harness, Sent, sent};

impl Harness {
    /// A hub whose engine defines `hooks`.
    fn with_hooks(hooks: &[HookName]) -> Self {
        let mut h = Self::start(
            HubConfig::new("app", "secret"),
            SqliteStorage::in_memory().expect("storage"),
        );
        h.hub
            .set_hooks(HookSet::from_functions(hooks.iter().map(|hook| hook.function())));
        h
    }

    fn request(&mut self, cmd: CommandType, op: Option<OpType>, peer: &str) -> GenericCommand {
        self.serial += 1;
        let mut command = GenericCommand::request(cmd, self.serial).with_peer_id(peer);
        command.op = op.map(|op| op as i32);
        command
    }

    fn login(&mut self, conn: ConnId, client: &str) -> Sent {
        self.hub.connect(conn);
        let open = self
            .request(CommandType::Session, Some(OpType::Open), client)
            .with_app_id("app");
        self.run(conn, open)
    }

    fn conv(&mut self, conn: ConnId, peer: &str, op: OpType, body: ConvCommand) -> Sent {
        let command = self.request(CommandType::Conv, Some(op), peer).with(body);
        self.run(conn, command)
    }

    fn send(&mut self, conn: ConnId, peer: &str, cid: &str, msg: &str) -> Sent {
        let direct = DirectCommand {
            cid: Some(cid.into()),
            msg: Some(msg.into()),
            ..Default::default()
        };
        let command = self.request(CommandType::Direct, None, peer).with(direct);
        self.run(conn, command)
    }

    /// Hands the hook's `answer` for `ticket` to the hub; returns what it sent.
    fn answer(&mut self, ticket: HookTicket, answer: Option<Value>) -> Sent {
        self.now += 1;
        let answer = answer.map(|answer| match answer {
            Value::Object(map) => map,
            other => panic!("answers are objects: {other}"),
        });
        sent(
            self.hub
                .handle_batch([Input::HookAnswered(ticket, answer)], self.now),
        )
    }

    /// The hook calls asked for since the last look.
    fn calls(&mut self) -> Vec<HookCall> {
        self.hub.take_hook_calls()
    }

    /// The one call asked for since the last look, of `hook`.
    fn only_call(&mut self, hook: HookName) -> HookCall {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "{calls:#?}");
        assert_eq!(calls[0].hook, hook);
        calls.into_iter().next().expect("one call")
    }

    fn history(&mut self, conn: ConnId, peer: &str, cid: &str) -> Vec<String> {
        let logs = LogsCommand {
            cid: Some(cid.into()),
            ..Default::default()
        };
        let command = self.request(CommandType::Logs, None, peer).with(logs);
        let sent = self.run(conn, command);
        sent.iter()
            .find(|(c, command)| *c == conn && command.serial().is_some())
            .and_then(|(_, command)| command.logs_message.clone())
            .map(|logs| logs.logs.into_iter().filter_map(|item| item.data).collect())
            .expect("logs reply")
    }
}

fn members(m: &[&str]) -> ConvCommand {
    ConvCommand {
        m: m.iter().map(|m| m.to_string()).collect(),
        ..Default::default()
    }
}

/// The `cid` of the conversation started on `conn`.
fn started(sent: &Sent, conn: ConnId) -> String {
    sent.iter()
        .find(|(c, command)| *c == conn && command.serial().is_some())
        .and_then(|(_, command)| command.conv_message.clone())
        .and_then(|conv| conv.cid)
        .expect("started")
}

/// The texts pushed to `conn` in `sent`.
fn pushed_texts(sent: &Sent, conn: ConnId) -> Vec<String> {
    sent.iter()
        .filter(|(c, command)| *c == conn && command.is_push())
        .filter_map(|(_, command)| command.direct_message.as_ref()?.msg.clone())
        .collect()
}

/// The replies (commands with a serial) sent to `conn`.
fn replies(sent: &Sent, conn: ConnId) -> Vec<&GenericCommand> {
    sent.iter()
        .filter(|(c, command)| *c == conn && command.serial().is_some())
        .map(|(_, command)| command)
        .collect()
}

fn param<'a>(call: &'a HookCall, key: &str) -> &'a Value {
    call.params.get(key).unwrap_or(&Value::Null)
}

/// Tom (on 1) and Jerry (on 2) signed in, with a conversation of theirs; no calls left to look at.
fn tom_and_jerry(hooks: &[HookName]) -> (Harness, String) {
    let mut h = Harness::with_hooks(hooks);
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = started(&h.conv(1, "Tom", OpType::Start, members(&["Jerry"])), 1);
    h.calls();
    (h, cid)
}

#[test]
fn a_message_waits_for_message_received_and_goes_out_as_the_hook_changed_it() {
    let (mut h, cid) = tom_and_jerry(&[HookName::MessageReceived, HookName::MessageSent]);
    h.hub.set_source_ip(1, "203.0.113.7".into());
    let held = h.send(1, "Tom", &cid, "a bad word");
    assert!(
        held.is_empty(),
        "nothing is acked or pushed before the hook answers: {held:#?}"
    );
    let call = h.only_call(HookName::MessageReceived);
    assert_eq!(param(&call, "fromPeer"), "Tom");
    assert_eq!(param(&call, "convId"), &json!(cid));
    assert_eq!(param(&call, "toPeers"), &json!(["Jerry"]));
    assert_eq!(param(&call, "content"), "a bad word");
    assert_eq!(param(&call, "bin"), false);
    assert_eq!(param(&call, "transient"), false);
    assert!(param(&call, "timestamp").is_i64());
    assert_eq!(param(&call, "sourceIP"), "203.0.113.7");
    let first = call.ticket.expect("a deciding call has a ticket");

    // Tom's next messages wait behind the first, but are asked about at once, side by side.
    for text in ["second", "third"] {
        let behind = h.send(1, "Tom", &cid, text);
        assert!(behind.is_empty(), "{behind:#?}");
    }
    let asked = h.calls();
    let contents: Vec<&Value> = asked.iter().map(|call| param(call, "content")).collect();
    assert_eq!(contents, ["second", "third"]);
    let [second, third] = [&asked[0], &asked[1]].map(|call| call.ticket.expect("ticket"));

    // The third's answer comes first: nothing goes out before the first and second are done.
    assert!(h.answer(third, Some(json!({ "content": "3" }))).is_empty());
    let out = h.answer(first, Some(json!({ "content": "a *** word" })));
    assert_eq!(pushed_texts(&out, 2), ["a *** word"]);
    let acks = replies(&out, 1);
    assert_eq!(acks.len(), 1, "the first message is acknowledged: {out:#?}");
    assert!(
        acks[0]
            .ack_message
            .as_ref()
            .is_some_and(|ack| ack.code.is_none() && ack.uid.is_some())
    );
    let told = h.only_call(HookName::MessageSent);
    assert_eq!(param(&told, "content"), "a *** word");
    assert_eq!(param(&told, "onlinePeers"), &json!(["Jerry"]));
    assert_eq!(param(&told, "offlinePeers"), &json!([]));
    assert!(told.ticket.is_none(), "a notifying call waits for nothing");

    // A hook that failed lets the second through as sent; the third, answered already, follows.
    let out = h.answer(second, None);
    assert_eq!(pushed_texts(&out, 2), ["second", "3"]);
    assert_eq!(replies(&out, 1).len(), 2);
    assert_eq!(h.history(2, "Jerry", &cid), ["a *** word", "second", "3"]);
}

#[test]
fn a_dropped_message_is_refused_with_4402_and_the_apps_code_and_never_stored() {
    let (mut h, cid) = tom_and_jerry(&[HookName::MessageReceived]);
    h.send(1, "Tom", &cid, "buy now");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
    let out = h.answer(
        ticket,
        Some(json!({ "drop": true, "code": 1234, "detail": "no ads here" })),
    );
    assert!(pushed_texts(&out, 2).is_empty());
    let ack = replies(&out, 1)[0].ack_message.clone().expect("an ack");
    assert_eq!(ack.code, Some(4402));
    assert_eq!(ack.reason.as_deref(), Some("MESSAGE_REJECTED_BY_APP"));
    assert_eq!(ack.app_code, Some(1234));
    assert_eq!(ack.app_msg.as_deref(), Some("no ads here"));
    assert!(h.history(2, "Jerry", &cid).is_empty());
    assert!(h.calls().is_empty(), "a dropped message is not `_messageSent`");
}

#[test]
fn to_peers_narrows_who_gets_the_message_and_binary_content_can_be_replaced() {
    let mut h = Harness::with_hooks(&[HookName::MessageReceived, HookName::MessageSent]);
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary")] {
        h.login(conn, client);
    }
    let cid = started(&h.conv(1, "Tom", OpType::Start, members(&["Jerry", "Mary"])), 1);
    h.calls();
    h.send(1, "Tom", &cid, "for Mary");
    let call = h.only_call(HookName::MessageReceived);
    assert_eq!(param(&call, "toPeers"), &json!(["Jerry", "Mary"]));
    let out = h.answer(call.ticket.expect("ticket"), Some(json!({ "toPeers": ["Mary"] })));
    assert_eq!(pushed_texts(&out, 3), ["for Mary"]);
    assert!(
        pushed_texts(&out, 2).is_empty(),
        "Jerry is not a recipient any more"
    );
    // Not in Jerry's history either, nor among the peers `_messageSent` hears of.
    assert_eq!(h.history(3, "Mary", &cid), ["for Mary"]);
    assert_eq!(h.history(1, "Tom", &cid), ["for Mary"]);
    assert!(h.history(2, "Jerry", &cid).is_empty());
    let sent = h.only_call(HookName::MessageSent);
    assert_eq!(param(&sent, "onlinePeers"), &json!(["Mary"]));

    h.send(1, "Tom", &cid, "text");
    let call = h.only_call(HookName::MessageReceived);
    let out = h.answer(
        call.ticket.expect("ticket"),
        Some(json!({ "content": "AQID", "bin": true })),
    );
    let binary: Vec<Vec<u8>> = out
        .iter()
        .filter(|(conn, command)| *conn == 2 && command.is_push())
        .filter_map(|(_, command)| command.direct_message.as_ref()?.binary_msg.clone())
        .collect();
    assert_eq!(binary, [vec![1, 2, 3]]);
}

#[test]
fn conversation_hooks_can_refuse_creating_adding_and_removing_with_4305() {
    let mut h = Harness::with_hooks(&[
        HookName::ConversationStart,
        HookName::ConversationAdd,
        HookName::ConversationRemove,
    ]);
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let body = ConvCommand {
        attr: Some(chinwag_protocol::JsonObjectMessage {
            data: json!({ "name": "secret club" }).to_string(),
        }),
        ..members(&["Jerry"])
    };
    assert!(h.conv(1, "Tom", OpType::Start, body).is_empty());
    let call = h.only_call(HookName::ConversationStart);
    assert_eq!(param(&call, "initBy"), "Tom");
    assert_eq!(param(&call, "members"), &json!(["Jerry", "Tom"]));
    assert_eq!(param(&call, "attr"), &json!({ "name": "secret club" }));
    let out = h.answer(
        call.ticket.expect("ticket"),
        Some(json!({ "reject": true, "code": 9001, "detail": "no clubs" })),
    );
    let error = replies(&out, 1)[0].server_error().expect("an error");
    assert_eq!(
        (error.code, error.app_code, error.app_message.as_deref()),
        (4305, Some(9001), Some("no clubs"))
    );
    assert!(pushes_to(&out, 2).is_empty(), "Jerry hears of no conversation");

    // Allowed (`{}`): created.
    h.conv(1, "Tom", OpType::Start, members(&["Jerry"]));
    let ticket = h.only_call(HookName::ConversationStart).ticket.expect("ticket");
    let cid = started(&h.answer(ticket, Some(json!({}))), 1);

    h.login(3, "Mary");
    // The server's own refusals come first: a non-member adding others is refused at once.
    let spike = ConvCommand {
        cid: Some(cid.clone()),
        ..members(&["Spike"])
    };
    let out = h.conv(3, "Mary", OpType::Add, spike);
    assert!(replies(&out, 3)[0].server_error().is_some());
    assert!(h.calls().is_empty(), "not asked about");
    h.conv(
        1,
        "Tom",
        OpType::Add,
        ConvCommand {
            cid: Some(cid.clone()),
            ..members(&["Mary"])
        },
    );
    let call = h.only_call(HookName::ConversationAdd);
    assert_eq!(
        (
            param(&call, "initBy"),
            param(&call, "convId"),
            param(&call, "members")
        ),
        (&json!("Tom"), &json!(cid), &json!(["Mary"]))
    );
    let out = h.answer(call.ticket.expect("ticket"), Some(json!({ "reject": true })));
    assert_eq!(replies(&out, 1)[0].server_error().map(|e| e.code), Some(4305));

    h.conv(
        1,
        "Tom",
        OpType::Remove,
        ConvCommand {
            cid: Some(cid.clone()),
            ..members(&["Jerry"])
        },
    );
    let call = h.only_call(HookName::ConversationRemove);
    let out = h.answer(call.ticket.expect("ticket"), Some(json!({ "reject": 1 })));
    assert_eq!(replies(&out, 1)[0].server_error().map(|e| e.code), Some(4305));

    // Leaving oneself is not asked about.
    let out = h.conv(
        2,
        "Jerry",
        OpType::Remove,
        ConvCommand {
            cid: Some(cid),
            ..Default::default()
        },
    );
    assert!(h.calls().is_empty());
    assert!(replies(&out, 2)[0].server_error().is_none());
}

fn pushes_to(sent: &Sent, conn: ConnId) -> Vec<&GenericCommand> {
    sent.iter()
        .filter(|(c, command)| *c == conn && command.is_push())
        .map(|(_, command)| command)
        .collect()
}

#[test]
fn a_closed_connection_forgets_its_waiting_commands_and_a_late_answer_does_nothing() {
    let (mut h, cid) = tom_and_jerry(&[HookName::MessageReceived]);
    h.send(1, "Tom", &cid, "lost in flight");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
    h.now += 1;
    h.hub.handle_batch([Input::Disconnected(1)], h.now);
    let out = h.answer(ticket, Some(json!({})));
    assert!(out.is_empty(), "{out:#?}");
    assert!(
        h.history(2, "Jerry", &cid).is_empty(),
        "never acknowledged, never stored"
    );

    // Tom comes back on a new connection: his commands do not wait for the old one.
    h.login(3, "Tom");
    h.send(3, "Tom", &cid, "again");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
    assert_eq!(pushed_texts(&h.answer(ticket, None), 2), ["again"]);
}

#[test]
fn notifying_hooks_are_told_of_sign_ins_conversations_and_offline_receivers() {
    let mut h = Harness::with_hooks(&[
        HookName::ClientOnline,
        HookName::ClientOffline,
        HookName::ConversationStarted,
        HookName::ConversationAdded,
        HookName::ConversationRemoved,
        HookName::ReceiversOffline,
    ]);
    h.login(1, "Tom");
    let online = h.only_call(HookName::ClientOnline);
    assert_eq!(
        (param(&online, "peerId"), param(&online, "reconnect")),
        (&json!("Tom"), &json!(false))
    );

    let out = h.conv(1, "Tom", OpType::Start, members(&["Jerry"]));
    let cid = started(&out, 1);
    assert_eq!(
        param(&h.only_call(HookName::ConversationStarted), "convId"),
        &json!(cid)
    );

    let add = ConvCommand {
        cid: Some(cid.clone()),
        ..members(&["Mary"])
    };
    h.conv(1, "Tom", OpType::Add, add);
    let added = h.only_call(HookName::ConversationAdded);
    assert_eq!(param(&added, "members"), &json!(["Mary"]));

    // Jerry and Mary are offline: `_receiversOffline` names them, the mentioned one too.
    let direct = DirectCommand {
        cid: Some(cid.clone()),
        msg: Some("@Mary hi".into()),
        mention_pids: vec!["Mary".into()],
        ..Default::default()
    };
    let command = h.request(CommandType::Direct, None, "Tom").with(direct);
    h.run(1, command);
    let offline = h.only_call(HookName::ReceiversOffline);
    assert_eq!(param(&offline, "offlinePeers"), &json!(["Jerry", "Mary"]));
    assert_eq!(param(&offline, "mentionOfflinePeers"), &json!(["Mary"]));
    assert_eq!(param(&offline, "content"), "@Mary hi");

    let remove = ConvCommand {
        cid: Some(cid),
        ..members(&["Mary"])
    };
    h.conv(1, "Tom", OpType::Remove, remove);
    assert_eq!(
        param(&h.only_call(HookName::ConversationRemoved), "members"),
        &json!(["Mary"])
    );

    h.now += 1;
    h.hub.handle_batch([Input::Disconnected(1)], h.now);
    let offline = h.only_call(HookName::ClientOffline);
    assert_eq!(
        (param(&offline, "peerId"), param(&offline, "closeCode")),
        (&json!("Tom"), &json!(2))
    );
}

#[test]
fn hooks_the_engine_does_not_define_are_never_called() {
    let (mut h, cid) = tom_and_jerry(&[HookName::ClientOnline]);
    let out = h.send(1, "Tom", &cid, "straight through");
    assert_eq!(pushed_texts(&out, 2), ["straight through"]);
    assert!(h.calls().is_empty());
}

#[test]
fn update_hooks_can_refuse_or_change_conversation_updates_mutes_and_message_edits() {
    let (mut h, cid) = tom_and_jerry(&[HookName::ConversationUpdate, HookName::MessageUpdate]);
    let conv_of = |attr: Option<Value>| ConvCommand {
        cid: Some(cid.clone()),
        attr: attr.map(|attr| chinwag_protocol::JsonObjectMessage {
            data: attr.to_string(),
        }),
        ..Default::default()
    };

    // Attributes the server cannot read are refused without asking.
    let broken = ConvCommand {
        cid: Some(cid.clone()),
        attr: Some(chinwag_protocol::JsonObjectMessage {
            data: "{not json".into(),
        }),
        ..Default::default()
    };
    let out = h.conv(1, "Tom", OpType::Update, broken);
    assert!(replies(&out, 1)[0].server_error().is_some());
    assert!(h.calls().is_empty());

    // `_conversationUpdate` sees the attributes and may replace them.
    assert!(
        h.conv(1, "Tom", OpType::Update, conv_of(Some(json!({ "name": "Rude" }))))
            .is_empty()
    );
    let call = h.only_call(HookName::ConversationUpdate);
    assert_eq!(
        (param(&call, "initBy"), param(&call, "attr")),
        (&json!("Tom"), &json!({ "name": "Rude" }))
    );
    let out = h.answer(
        call.ticket.expect("ticket"),
        Some(json!({ "attr": { "name": "Polite" } })),
    );
    let pushed = pushes_to(&out, 2)[0].conv_message.clone().expect("update push");
    assert_eq!(
        pushed.attr.map(|a| a.data),
        Some(json!({ "name": "Polite" }).to_string())
    );

    // ... or refuse them; a mute is asked about as `mute`.
    h.conv(2, "Jerry", OpType::Mute, conv_of(None));
    let call = h.only_call(HookName::ConversationUpdate);
    assert_eq!(param(&call, "mute"), &json!(true));
    let out = h.answer(
        call.ticket.expect("ticket"),
        Some(json!({ "reject": true, "code": 7 })),
    );
    let error = replies(&out, 2)[0].server_error().expect("refused");
    assert_eq!((error.code, error.app_code), (4305, Some(7)));

    // `_messageUpdate` sees an edit and may change its content, or refuse it with 4405.
    let sent = h.send(1, "Tom", &cid, "first draft");
    assert!(h.calls().is_empty(), "`_messageReceived` is not defined");
    let mid = replies(&sent, 1)[0]
        .ack_message
        .as_ref()
        .and_then(|ack| ack.uid.clone())
        .expect("acknowledged");
    let edit = |text: &str| chinwag_protocol::PatchCommand {
        patches: vec![chinwag_protocol::PatchItem {
            cid: Some(cid.clone()),
            mid: Some(mid.clone()),
            data: Some(text.into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let command = h
        .request(CommandType::Patch, Some(OpType::Modify), "Tom")
        .with(edit("second darn draft"));
    assert!(h.run(1, command).is_empty());
    let call = h.only_call(HookName::MessageUpdate);
    assert_eq!(
        (
            param(&call, "msgId"),
            param(&call, "content"),
            param(&call, "recall")
        ),
        (&json!(mid), &json!("second darn draft"), &json!(false))
    );
    h.answer(
        call.ticket.expect("ticket"),
        Some(json!({ "content": "second draft" })),
    );
    assert_eq!(h.history(2, "Jerry", &cid), ["second draft"]);

    let command = h
        .request(CommandType::Patch, Some(OpType::Modify), "Tom")
        .with(edit("rude"));
    h.run(1, command);
    let ticket = h.only_call(HookName::MessageUpdate).ticket.expect("ticket");
    let out = h.answer(ticket, Some(json!({ "drop": true })));
    assert_eq!(replies(&out, 1)[0].server_error().map(|e| e.code), Some(4405));
    assert_eq!(h.history(2, "Jerry", &cid), ["second draft"]);
}

#[test]
fn acks_go_ahead_of_a_waiting_command_and_an_overdue_answer_lets_it_through() {
    let (mut h, cid) = tom_and_jerry(&[HookName::MessageReceived]);
    let parked_at = h.now;
    h.send(2, "Jerry", &cid, "from Jerry");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");

    // Jerry's echo (like his acks) does not wait behind his message.
    let echo = h.request(CommandType::Echo, None, "Jerry");
    let out = h.run(2, echo);
    assert_eq!(replies(&out, 2).len(), 1, "the echo is not held back: {out:#?}");

    // Past the deadline (the call was lost), the next batch lets the message through.
    h.now = parked_at + chinwag_server::hub::DEFAULT_HOOK_DEADLINE_MS + 1;
    let out = h.send(1, "Tom", &cid, "from Tom");
    assert_eq!(
        pushed_texts(&out, 1),
        ["from Jerry"],
        "Jerry's message went ahead unchanged"
    );
    let calls = h.calls();
    assert_eq!(calls.len(), 1, "Tom's own message is asked about: {calls:#?}");
    // The late answer to the first call changes nothing.
    assert!(h.answer(ticket, Some(json!({ "drop": true }))).is_empty());
}

#[test]
fn will_messages_are_asked_about_and_several_edits_at_once_are_refused() {
    let (mut h, cid) = tom_and_jerry(&[HookName::MessageReceived, HookName::MessageUpdate]);
    let will = DirectCommand {
        cid: Some(cid.clone()),
        msg: Some("darn, gone".into()),
        will: Some(true),
        ..Default::default()
    };
    let command = h.request(CommandType::Direct, None, "Tom").with(will);
    assert!(h.run(1, command).is_empty(), "a will waits for the hook too");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
    let out = h.answer(ticket, Some(json!({ "content": "****, gone" })));
    assert!(
        replies(&out, 1)[0]
            .ack_message
            .as_ref()
            .is_some_and(|ack| ack.code.is_none())
    );
    h.now += 1;
    let out = sent(h.hub.handle_batch([Input::Disconnected(1)], h.now));
    assert_eq!(pushed_texts(&out, 2), ["****, gone"]);

    h.login(3, "Tom");
    let item = |text: &str| chinwag_protocol::PatchItem {
        cid: Some(cid.clone()),
        mid: Some("any".into()),
        data: Some(text.into()),
        ..Default::default()
    };
    let patch = chinwag_protocol::PatchCommand {
        patches: vec![item("a"), item("b")],
        ..Default::default()
    };
    let command = h
        .request(CommandType::Patch, Some(OpType::Modify), "Tom")
        .with(patch);
    let out = h.run(3, command);
    assert_eq!(replies(&out, 3)[0].server_error().map(|e| e.code), Some(4405));
    assert!(h.calls().is_empty());
}

/// The unread count of `cid` in the `unread` push `client` gets when it signs in on `conn`.
fn unread_at_sign_in(h: &mut Harness, conn: ConnId, client: &str, cid: &str) -> i32 {
    let out = h.login(conn, client);
    out.iter()
        .filter(|(c, command)| *c == conn && command.command_type() == Some(CommandType::Unread))
        .filter_map(|(_, command)| command.unread_message.clone())
        .flat_map(|unread| unread.convs)
        .find(|tuple| tuple.cid == cid)
        .map_or(0, |tuple| tuple.unread)
}

#[test]
fn a_narrowed_message_counts_for_its_recipients_only_and_history_pages_stay_full() {
    let mut h = Harness::with_hooks(&[HookName::MessageReceived]);
    for (conn, client) in [(1, "Tom"), (2, "Jerry"), (3, "Mary")] {
        h.login(conn, client);
    }
    let cid = started(&h.conv(1, "Tom", OpType::Start, members(&["Jerry", "Mary"])), 1);
    h.calls();
    for (text, answer) in [
        ("one", json!({})),
        ("for Mary", json!({ "toPeers": ["Mary"] })),
        ("for both", json!({ "toPeers": ["Jerry", "Mary"] })),
    ] {
        h.send(1, "Tom", &cid, text);
        let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
        h.answer(ticket, Some(answer));
    }
    assert_eq!(
        unread_at_sign_in(&mut h, 4, "Jerry", &cid),
        2,
        "not the one for Mary"
    );
    assert_eq!(unread_at_sign_in(&mut h, 5, "Mary", &cid), 3);

    // A page of two for Jerry holds two messages he may see, not one and a gap.
    let logs = LogsCommand {
        cid: Some(cid.clone()),
        limit: Some(2),
        ..Default::default()
    };
    let command = h.request(CommandType::Logs, None, "Jerry").with(logs);
    let out = h.run(2, command);
    let page: Vec<String> = replies(&out, 2)[0]
        .logs_message
        .clone()
        .expect("logs")
        .logs
        .into_iter()
        .filter_map(|item| item.data)
        .collect();
    assert_eq!(page, ["one", "for both"]);

    // "for both" named every other member: a message for everyone, the conversation's last.
    // After a restart the last message is still that one, and new messages come after all.
    let storage = std::mem::replace(
        &mut h.hub,
        chinwag_server::Hub::new(
            HubConfig::new("app", "secret"),
            SqliteStorage::in_memory().expect("storage"),
        )
        .expect("hub"),
    )
    .into_storage();
    let mut h = Harness::start(HubConfig::new("app", "secret"), storage);
    h.hub.set_hooks(HookSet::from_functions(["_messageReceived"]));
    let listed = h
        .hub
        .query_conversations(&json!({}), 0, None, h.now)
        .expect("listed");
    assert_eq!(listed[0]["msg"], "for both");
    h.login(1, "Tom");
    h.login(3, "Mary");
    h.send(1, "Tom", &cid, "for Mary again");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
    h.answer(ticket, Some(json!({ "toPeers": ["Mary"] })));
    let listed = h
        .hub
        .query_conversations(&json!({}), 0, None, h.now)
        .expect("listed");
    assert_eq!(
        listed[0]["msg"], "for both",
        "a narrowed message is nobody's last message"
    );
    assert_eq!(
        h.history(3, "Mary", &cid),
        ["one", "for Mary", "for both", "for Mary again"]
    );
}

#[test]
fn removing_others_with_leave_and_starting_without_a_body_are_asked_about_too() {
    let (mut h, cid) = tom_and_jerry(&[HookName::ConversationRemove]);
    h.hub.set_hooks(HookSet::from_functions([
        "_conversationRemove",
        "_conversationStart",
    ]));
    let leave = ConvCommand {
        cid: Some(cid),
        ..members(&["Jerry"])
    };
    assert!(h.conv(1, "Tom", OpType::Leave, leave).is_empty());
    assert_eq!(
        param(&h.only_call(HookName::ConversationRemove), "members"),
        &json!(["Jerry"])
    );

    let bare = h.request(CommandType::Conv, Some(OpType::Start), "Jerry");
    assert!(h.run(2, bare).is_empty());
    assert_eq!(
        param(&h.only_call(HookName::ConversationStart), "members"),
        &json!(["Jerry"])
    );
}

#[test]
fn with_refuse_without_hook_a_hook_that_fails_refuses_its_command() {
    let mut config = HubConfig::new("app", "secret");
    config.refuse_without_hook = true;
    let mut h = Harness::start(config, SqliteStorage::in_memory().expect("storage"));
    h.hub.set_hooks(HookSet::from_functions(["_messageReceived"]));
    h.login(1, "Tom");
    h.login(2, "Jerry");
    let cid = started(&h.conv(1, "Tom", OpType::Start, members(&["Jerry"])), 1);
    h.send(1, "Tom", &cid, "unchecked");
    let ticket = h.only_call(HookName::MessageReceived).ticket.expect("ticket");
    let out = h.answer(ticket, None);
    let ack = replies(&out, 1)[0].ack_message.clone().expect("an ack");
    assert_eq!((ack.code, ack.app_code), (Some(4402), None));
    assert!(pushed_texts(&out, 2).is_empty());
    assert!(h.history(2, "Jerry", &cid).is_empty());
}

#[test]
fn queued_commands_keep_their_order_whether_asked_ahead_or_when_their_turn_comes() {
    let mut h = Harness::with_hooks(&[HookName::ConversationAdd, HookName::MessageReceived]);
    h.login(1, "Tom");
    h.login(2, "Mary");
    let cid = started(&h.conv(1, "Tom", OpType::Start, members(&[])), 1);
    h.calls();
    // Mary joins, then at once sends into the conversation: when the message comes she is not a
    // member yet, so it is not asked about ahead; once the join is through, it is.
    let join = ConvCommand {
        cid: Some(cid.clone()),
        ..Default::default()
    };
    assert!(h.conv(2, "Mary", OpType::Join, join).is_empty());
    assert!(h.send(2, "Mary", &cid, "hello all").is_empty());
    let echo = h.request(CommandType::Echo, None, "Mary");
    assert_eq!(replies(&h.run(2, echo), 2).len(), 1, "an echo does not wait");
    let join_call = h.only_call(HookName::ConversationAdd);

    let out = h.answer(join_call.ticket.expect("ticket"), Some(json!({})));
    let answered: Vec<CommandType> = replies(&out, 2)
        .iter()
        .filter_map(|reply| reply.command_type())
        .collect();
    assert_eq!(
        answered,
        [CommandType::Conv],
        "joined; the message now waits for its own hook"
    );
    let message_call = h.only_call(HookName::MessageReceived);
    assert_eq!(param(&message_call, "fromPeer"), "Mary");
    let out = h.answer(message_call.ticket.expect("ticket"), None);
    assert_eq!(pushed_texts(&out, 1), ["hello all"]);
}

#[test]
fn a_connection_has_a_few_calls_asked_ahead_and_the_rest_asked_in_turn() {
    let (mut h, cid) = tom_and_jerry(&[HookName::MessageReceived]);
    let cap = chinwag_server::hub::MAX_ASKED_AHEAD;
    let texts: Vec<String> = (0..cap + 8).map(|n| format!("m{n}")).collect();
    for text in &texts {
        assert!(h.send(1, "Tom", &cid, text).is_empty());
    }
    let mut pending = h.calls();
    assert_eq!(pending.len(), cap, "the first and those behind it up to the cap");
    // An answer behind the first frees a place: one more is asked.
    let last = pending.pop().expect("a call");
    assert!(h.answer(last.ticket.expect("ticket"), None).is_empty());
    let more = h.calls();
    assert_eq!(more.len(), 1);
    assert_eq!(param(&more[0], "content"), &json!(texts[cap]));
    pending.extend(more);
    let mut pushed = Vec::new();
    // Answer whatever is asked, newest first, until every message went out.
    while let Some(call) = pending.pop() {
        let out = h.answer(call.ticket.expect("ticket"), None);
        pushed.extend(pushed_texts(&out, 2));
        pending.extend(h.calls());
    }
    assert_eq!(pushed, texts, "in the order sent");
}
