//! LeanEngine's IM hooks: the cloud functions LeanCloud called around messages, conversations and
//! sign-ins (`_messageReceived`, `_conversationStart`, `_clientOnline`, ...), called the same way
//! on the team's own LeanEngine app, so its hook code keeps working after the move.
//!
//! The hub decides *what* to call and with which parameters (the names and shapes of LeanCloud's
//! hook documentation); the runtime (`server::hooks`) makes the HTTP calls. Two kinds:
//!
//! - **Deciding hooks** (`_messageReceived`, `_messageUpdate`, `_conversationStart`,
//!   `_conversationAdd`, `_conversationRemove`, `_conversationUpdate`) run before the command takes
//!   effect, once the server's own checks passed, and may reject or change it. The command is
//!   parked with a [`HookTicket`] until [`Input::HookAnswered`](super::Input) brings the answer;
//!   later commands of the same connection wait behind it (acks and echoes excepted), so a
//!   connection's commands keep their order, but their own hooks are asked at once (a
//!   connection's hooked messages cost one round trip together, not one each). A hook that fails
//!   or times out lets the command through unchanged, and so does one whose answer has not come
//!   after [`HubConfig::hook_deadline_ms`](super::HubConfig) (a call lost on the way).
//! - **Notifying hooks** (`_messageSent`, `_receiversOffline`, `_conversationStarted`,
//!   `_conversationAdded`, `_conversationRemoved`, `_clientOnline`, `_clientOffline`) are told
//!   after the fact, once the batch is committed; their answers are not read.
//!
//! A hook is called only when the engine defines it ([`HookSet`], from its `_ops/metadatas`).

use std::collections::{BTreeSet, HashMap, VecDeque};

use chinwag_protocol::{CommandType, ErrorCode, GenericCommand, OpType};
use serde_json::{Map, Value, json};

use super::{ConnId, Fail, Hub, HubResult};
use crate::storage::Storage;

/// Commands a connection may queue behind one waiting for a hook; more are refused. Acks do not
/// queue, and the default rate limit lets a connection send 100 messages back to back, so only a
/// runaway client gets here.
pub const MAX_WAITING_BEHIND_HOOK: usize = 256;

/// Deciding calls one connection may have waiting for answers at once (its first command's and
/// those asked ahead for the commands behind it).
pub const MAX_ASKED_AHEAD: usize = 32;

/// Commands all connections together may queue behind hooks (the size of the hub thread's
/// inbound queue): with frames of up to 64 KiB, the queued commands never hold more memory than
/// that queue could.
pub const MAX_WAITING_IN_ALL: usize = 4096;

/// An IM hook, by the cloud function LeanCloud called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookName {
    /// Before a message is delivered: may drop it, change its content or its recipients.
    MessageReceived,
    /// After a message was delivered (stored and pushed).
    MessageSent,
    /// After a message was delivered, when some recipients are offline.
    ReceiversOffline,
    /// Before a message is edited or recalled: may refuse it or change the new content.
    MessageUpdate,
    /// Before a conversation is created: may reject it.
    ConversationStart,
    /// After a conversation was created.
    ConversationStarted,
    /// Before members are added (or join): may reject it.
    ConversationAdd,
    /// After members were added (or joined).
    ConversationAdded,
    /// Before members are removed by another member: may reject it.
    ConversationRemove,
    /// After members were removed (or quit).
    ConversationRemoved,
    /// Before a conversation's attributes or a member's mute change: may refuse or change them.
    ConversationUpdate,
    /// After a client signed in.
    ClientOnline,
    /// After a client's session ended.
    ClientOffline,
}

impl HookName {
    /// Every hook, in a fixed order.
    pub const ALL: [Self; 13] = [
        Self::MessageReceived,
        Self::MessageSent,
        Self::ReceiversOffline,
        Self::MessageUpdate,
        Self::ConversationStart,
        Self::ConversationStarted,
        Self::ConversationAdd,
        Self::ConversationAdded,
        Self::ConversationRemove,
        Self::ConversationRemoved,
        Self::ConversationUpdate,
        Self::ClientOnline,
        Self::ClientOffline,
    ];

    /// The cloud function's name (`AV.Cloud.onIMMessageReceived` defines `_messageReceived`).
    pub fn function(self) -> &'static str {
        match self {
            Self::MessageReceived => "_messageReceived",
            Self::MessageSent => "_messageSent",
            Self::ReceiversOffline => "_receiversOffline",
            Self::MessageUpdate => "_messageUpdate",
            Self::ConversationStart => "_conversationStart",
            Self::ConversationStarted => "_conversationStarted",
            Self::ConversationAdd => "_conversationAdd",
            Self::ConversationAdded => "_conversationAdded",
            Self::ConversationRemove => "_conversationRemove",
            Self::ConversationRemoved => "_conversationRemoved",
            Self::ConversationUpdate => "_conversationUpdate",
            Self::ClientOnline => "_clientOnline",
            Self::ClientOffline => "_clientOffline",
        }
    }

    /// The hook a cloud function's name stands for.
    pub fn from_function(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|hook| hook.function() == name)
    }

    /// Whether the hook decides (its answer can change or reject what is happening).
    pub fn decides(self) -> bool {
        matches!(
            self,
            Self::MessageReceived
                | Self::MessageUpdate
                | Self::ConversationStart
                | Self::ConversationAdd
                | Self::ConversationRemove
                | Self::ConversationUpdate
        )
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The hooks an engine defines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HookSet(u16);

impl HookSet {
    /// The hooks among the cloud function `names` (others are ignored).
    pub fn from_functions<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = Self::default();
        for hook in names.into_iter().filter_map(HookName::from_function) {
            set.0 |= hook.bit();
        }
        set
    }

    /// Whether `hook` is defined.
    pub fn contains(self, hook: HookName) -> bool {
        self.0 & hook.bit() != 0
    }

    /// Whether no hook is defined.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Names one parked command: the connection it came on and a number the hub never reuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookTicket {
    /// The connection whose command waits.
    pub conn: ConnId,
    /// Which of its waits.
    pub seq: u64,
}

/// A hook call for the runtime to make.
#[derive(Clone, Debug, PartialEq)]
pub struct HookCall {
    /// The hook.
    pub hook: HookName,
    /// The parameters (the JSON body of the call).
    pub params: Map<String, Value>,
    /// For a deciding hook, the command waiting for the answer: answer with
    /// [`Input::HookAnswered`](super::Input) (`None` when the call failed).
    pub ticket: Option<HookTicket>,
}

impl HookCall {
    /// A call of notifying `hook` with the object `params`.
    fn notifying(hook: HookName, params: Value) -> Self {
        Self {
            hook,
            params: object(params),
            ticket: None,
        }
    }
}

/// What a deciding hook answered: its `result` object, or `None` when the call failed, timed out
/// or answered something else (the command then goes ahead unchanged).
pub type HookAnswer = Option<Map<String, Value>>;

/// Whether a command has been past its deciding hook.
#[derive(Debug)]
pub(super) enum Verdict {
    /// Not yet: ask the hook if one applies.
    Unasked,
    /// The hook answered (or failed: `None`).
    Answered(HookAnswer),
}

/// A connection's commands from the first that waits for a hook on, in order. The first always
/// waits for its answer; those after it were asked about as they came when a hook applied to them
/// then (so that a connection's hooked commands are asked about side by side, not one round trip
/// after another), and go ahead in order once they and all before them are answered.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    entries: VecDeque<Queued>,
}

/// A command in a [`Waiting`] queue.
#[derive(Debug)]
struct Queued {
    command: GenericCommand,
    /// Its hook call, when one was made.
    asked: Option<Asked>,
}

/// A deciding call made for a queued command.
#[derive(Debug)]
struct Asked {
    seq: u64,
    /// When it was made (ms): past the deadline the command goes ahead without an answer.
    at: i64,
    /// The answer, once it came (`Some(None)`: the call failed).
    answer: Option<HookAnswer>,
}

impl Waiting {
    /// How many of its calls wait for answers.
    fn unanswered(&self) -> usize {
        self.entries
            .iter()
            .filter(|queued| queued.asked.as_ref().is_some_and(|asked| asked.answer.is_none()))
            .count()
    }

    /// Whether the first command still waits for its answer.
    fn blocked(&self) -> bool {
        self.entries
            .front()
            .is_some_and(|first| first.asked.as_ref().is_some_and(|asked| asked.answer.is_none()))
    }
}

/// The hub's hook state.
#[derive(Debug, Default)]
pub(super) struct Hooks {
    /// What the engine defines; empty: nothing is called.
    pub(super) defined: HookSet,
    /// Calls to make once the batch is committed.
    pub(super) calls: Vec<HookCall>,
    /// Parked commands by connection.
    waiting: HashMap<ConnId, Waiting>,
    /// Commands in the [`Waiting`] queues, all connections together.
    queued_in_all: usize,
    /// Where each connection comes from (`sourceIP`), as the runtime tells it.
    source_ips: HashMap<ConnId, String>,
    next_seq: u64,
}

/// What a command's deciding hook changed about how it is carried out.
#[derive(Debug, Default)]
pub(super) struct MessageChanges {
    /// The command went to a deciding hook (its rate limit was taken then, not again).
    pub(super) asked: bool,
    /// `_messageReceived`'s `toPeers`: the message is for these members only (and its sender).
    pub(super) recipients: Option<BTreeSet<String>>,
}

/// Whether `command` may go ahead of a command of its connection that waits for a hook: acks
/// (a receiver acks every push, and nothing depends on their order) and echoes (keepalives).
pub(super) fn may_overtake(command: &GenericCommand) -> bool {
    matches!(command.command_type(), Some(CommandType::Ack | CommandType::Echo))
}

/// The boolean `key` of an answer: JavaScript's truthiness for the values a hook returns.
fn truthy(answer: &Map<String, Value>, key: &str) -> bool {
    match answer.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The refusal of a hook's answer that says `reject_key`: `code` (the app's own error code) and
/// `detail` go to the client with `code` of the protocol.
fn rejection(answer: &Map<String, Value>, reject_key: &str, code: ErrorCode) -> HubResult {
    if !truthy(answer, reject_key) {
        return Ok(());
    }
    Err(Fail::RejectedByApp {
        code,
        app_code: answer
            .get("code")
            .and_then(Value::as_i64)
            .and_then(|c| i32::try_from(c).ok()),
        detail: answer.get("detail").and_then(Value::as_str).map(str::to_owned),
    })
}

/// Replaces a message's `text`/`binary` content with the `content` of a hook's answer (base64
/// when its `bin`, or the original's, says binary), if it has one.
fn change_content(answer: &Map<String, Value>, text: &mut Option<String>, binary: &mut Option<Vec<u8>>) {
    let Some(content) = answer.get("content").and_then(Value::as_str) else {
        return;
    };
    let bin = match answer.get("bin") {
        Some(Value::Bool(bin)) => *bin,
        _ => binary.is_some(),
    };
    if !bin {
        *text = Some(content.to_owned());
        *binary = None;
        return;
    }
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(content) {
        Ok(bytes) => {
            *binary = Some(bytes);
            *text = None;
        }
        Err(error) => {
            tracing::warn!(%error, "a hook answered binary content that is not base64; kept the content as sent");
        }
    }
}

/// Applies a `_conversationUpdate` answer: its `attr` replaces an update's attributes, its `mute`
/// turns a mute into an unmute or back (each only for the request it belongs to).
fn change_conversation_update(command: &mut GenericCommand, answer: &Map<String, Value>) {
    match command.op_type() {
        Some(OpType::Update) => {
            if let (Some(attr @ Value::Object(_)), Some(body)) =
                (answer.get("attr"), command.conv_message.as_deref_mut())
            {
                body.attr = Some(chinwag_protocol::JsonObjectMessage {
                    data: attr.to_string(),
                });
            }
        }
        Some(OpType::Mute | OpType::Unmute) => {
            if let Some(Value::Bool(mute)) = answer.get("mute") {
                let op = if *mute { OpType::Mute } else { OpType::Unmute };
                command.op = Some(op as i32);
            }
        }
        _ => {}
    }
}

/// The object `value` is (the parameters built with `json!` always are).
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `toPeers` of a message `client` sends into `conv`: the other members (none in a service
/// conversation: a subscriber's message is for the service alone).
fn to_peers(conv: &super::Conversation, client: &str) -> Value {
    if conv.record.system {
        return Value::Array(Vec::new());
    }
    strings(conv.member_iter().filter(|member| *member != client))
}

fn strings(ids: impl IntoIterator<Item = impl Into<String>>) -> Value {
    Value::Array(ids.into_iter().map(|id| Value::String(id.into())).collect())
}

impl<S: Storage> Hub<S> {
    /// Sets which hooks the engine defines (the runtime reads them from the engine).
    pub fn set_hooks(&mut self, defined: HookSet) {
        self.hooks.defined = defined;
    }

    /// Notes the IP address connection `conn` comes from, for the hooks' `sourceIP` (kept until it
    /// closes).
    pub fn set_source_ip(&mut self, conn: ConnId, ip: String) {
        self.hooks.source_ips.insert(conn, ip);
    }

    /// The `sourceIP` of `conn` (JSON `null` when unknown).
    pub(super) fn source_ip(&self, conn: Option<ConnId>) -> Option<&str> {
        conn.and_then(|conn| self.hooks.source_ips.get(&conn))
            .map(String::as_str)
    }

    /// The hook calls of the batches handled since the last call, for the runtime to make.
    pub fn take_hook_calls(&mut self) -> Vec<HookCall> {
        std::mem::take(&mut self.hooks.calls)
    }

    /// Whether commands of `conn` wait for a hook (a new one then queues behind them).
    pub(super) fn waits_for_hook(&self, conn: ConnId) -> bool {
        self.hooks.waiting.contains_key(&conn)
    }

    /// Queues `command` behind the one of `conn` that waits for a hook, asking its own deciding
    /// hook at once if one applies now. Past [`MAX_WAITING_BEHIND_HOOK`] (or
    /// [`MAX_WAITING_IN_ALL`]) it is refused with `INTERNAL_ERROR`, and given back so that the
    /// batch counts it among its requests.
    pub(super) fn queue_behind_hook(
        &mut self,
        conn: ConnId,
        command: GenericCommand,
        now: i64,
    ) -> Option<GenericCommand> {
        let behind = self
            .hooks
            .waiting
            .get(&conn)
            .map_or(0, |w| w.entries.len().saturating_sub(1));
        if behind >= MAX_WAITING_BEHIND_HOOK || self.hooks.queued_in_all >= MAX_WAITING_IN_ALL {
            self.fail(
                conn,
                &command,
                Fail::Code(
                    ErrorCode::InternalError,
                    Some("too many commands waiting for a hook".into()),
                ),
            );
            return Some(command);
        }
        // Up to a cap, so that one connection cannot take every call slot of the engine; the
        // others are asked as answers come (`ask_ahead`).
        let asked_ahead = self.hooks.waiting.get(&conn).map_or(0, Waiting::unanswered);
        let asked = match (self.client_of(conn, &command), command.command_type()) {
            (Some(client), Some(cmd)) if asked_ahead < MAX_ASKED_AHEAD => {
                self.ask(conn, &client, cmd, &command, now)
            }
            _ => None,
        };
        self.enqueue(conn, Queued { command, asked }, false);
        None
    }

    /// Puts `queued` at the back of `conn`'s queue, or at its front (a command that waits for its
    /// turn's hook while the queue is being worked through comes before those still in it).
    fn enqueue(&mut self, conn: ConnId, queued: Queued, front: bool) {
        self.hooks.queued_in_all += 1;
        let entries = &mut self.hooks.waiting.entry(conn).or_default().entries;
        if front {
            entries.push_front(queued);
        } else {
            entries.push_back(queued);
        }
    }

    /// Notes a call of notifying `hook` with `params`, if the engine defines it. `params` is built
    /// only then.
    pub(super) fn notify_hook(&mut self, hook: HookName, params: impl FnOnce(&Self) -> Value) {
        if !self.hooks.defined.contains(hook) {
            return;
        }
        let call = HookCall::notifying(hook, params(self));
        self.hooks.calls.push(call);
    }

    /// If a deciding hook applies to `command` of `client`, calls it and parks the command (and
    /// gives back `None`); otherwise gives the command back. A command the server refuses by
    /// itself (not a member, a bad signature, shut up, over its rate, too big) is not sent to the
    /// hook: it fails as it would without one.
    pub(super) fn park_for_hook(
        &mut self,
        conn: ConnId,
        client: &str,
        cmd: CommandType,
        command: GenericCommand,
        now: i64,
    ) -> Option<GenericCommand> {
        if self.hooks.defined.is_empty() {
            return Some(command);
        }
        let Some(asked) = self.ask(conn, client, cmd, &command, now) else {
            return Some(command);
        };
        let queued = Queued {
            command,
            asked: Some(asked),
        };
        self.enqueue(conn, queued, true);
        None
    }

    /// Calls the deciding hook that applies to `command` of `client` now, if one does (the
    /// server's own refusals excepted, see [`Self::park_for_hook`]).
    fn ask(
        &mut self,
        conn: ConnId,
        client: &str,
        cmd: CommandType,
        command: &GenericCommand,
        now: i64,
    ) -> Option<Asked> {
        if self.hooks.defined.is_empty() {
            return None;
        }
        let (hook, params) = self.deciding_call(conn, client, cmd, command, now)?;
        // Taken here, once: the command goes ahead without its rate checked again.
        if cmd == CommandType::Direct && !self.within_rates(conn, client, now) {
            return None;
        }
        let seq = self.hooks.next_seq;
        self.hooks.next_seq += 1;
        self.hooks.calls.push(HookCall {
            hook,
            params,
            ticket: Some(HookTicket { conn, seq }),
        });
        Some(Asked {
            seq,
            at: now,
            answer: None,
        })
    }

    /// The deciding hook `command` goes to, with its parameters; `None` when no hook applies or
    /// the server refuses the command by itself.
    fn deciding_call(
        &self,
        conn: ConnId,
        client: &str,
        cmd: CommandType,
        command: &GenericCommand,
        now: i64,
    ) -> Option<(HookName, Map<String, Value>)> {
        let defined = self.hooks.defined;
        if self.targets_expired_conversation(cmd, command, now) {
            return None;
        }
        // As `conv` reads a command without a body: an empty one.
        let no_body = chinwag_protocol::ConvCommand::default();
        let (hook, params) = match (cmd, command.op_type()) {
            (CommandType::Direct, _) if defined.contains(HookName::MessageReceived) => {
                let direct = command.direct_message.as_deref()?;
                let conv = self.convs.get(direct.cid.as_deref()?)?;
                let size = direct.msg.as_ref().map_or(0, String::len)
                    + direct.binary_msg.as_ref().map_or(0, Vec::len);
                if conv.is_expired(now)
                    || !conv.is_member(client)
                    || self.may_not_speak(conv, client, now)
                    || size > self.config.max_message_bytes
                {
                    return None;
                }
                let (content, bin) = super::payload_json(direct.msg.as_deref(), direct.binary_msg.as_deref());
                (
                    HookName::MessageReceived,
                    json!({
                        "fromPeer": client,
                        "convId": conv.record.id,
                        "toPeers": to_peers(conv, client),
                        "transient": direct.transient == Some(true) || conv.record.transient,
                        "bin": bin,
                        "content": content,
                        "receipt": direct.r == Some(true),
                        "timestamp": now,
                        "system": conv.record.system,
                        "sourceIP": self.source_ip(Some(conn)),
                        "mentionAll": direct.mention_all == Some(true),
                        "mentionPids": direct.mention_pids,
                    }),
                )
            }
            (CommandType::Conv, Some(OpType::Start)) if defined.contains(HookName::ConversationStart) => {
                let body = command.conv_message.as_deref().unwrap_or(&no_body);
                let (attr, members) = self.check_start(conn, client, body, now).ok()?;
                (
                    HookName::ConversationStart,
                    json!({ "initBy": client, "members": members, "attr": attr }),
                )
            }
            (CommandType::Conv, Some(op @ (OpType::Update | OpType::Mute | OpType::Unmute)))
                if defined.contains(HookName::ConversationUpdate) =>
            {
                let body = command.conv_message.as_deref().unwrap_or(&no_body);
                // `attr` and `mute` never come together (LeanCloud's rule).
                let (conv, key, value) = match op {
                    OpType::Update => {
                        let (conv, changes) = self.check_update(client, body).ok()?;
                        (conv, "attr", Value::Object(changes))
                    }
                    _ => {
                        let conv = self.member_conversation(body.cid.as_deref(), client).ok()?;
                        (conv, "mute", Value::Bool(op == OpType::Mute))
                    }
                };
                (
                    HookName::ConversationUpdate,
                    json!({ "initBy": client, "convId": conv.record.id, key: value }),
                )
            }
            (CommandType::Patch, _) if defined.contains(HookName::MessageUpdate) => {
                // The SDKs patch one message at a time; `patch` refuses several while this hook is
                // defined, so none gets past it.
                let [item] = command.patch_message.as_ref()?.patches.as_slice() else {
                    return None;
                };
                let conv = self.convs.get(item.cid.as_deref()?)?;
                if !conv.is_member(client) {
                    return None;
                }
                let recall = item.recall == Some(true);
                let (content, bin) = super::payload_json(item.data.as_deref(), item.binary_msg.as_deref());
                (
                    HookName::MessageUpdate,
                    json!({
                        "fromPeer": client,
                        "convId": conv.record.id,
                        "toPeers": to_peers(conv, client),
                        "msgId": item.mid,
                        "recall": recall,
                        "bin": bin,
                        "content": if recall { String::new() } else { content },
                        "timestamp": now,
                        "system": conv.record.system,
                        "sourceIP": self.source_ip(Some(conn)),
                    }),
                )
            }
            (
                CommandType::Conv,
                Some(op @ (OpType::Add | OpType::Join | OpType::Remove | OpType::Leave | OpType::Kick)),
            ) => {
                let body = command.conv_message.as_deref().unwrap_or(&no_body);
                let members = super::conversations::members_or_self(body, client);
                let adding = matches!(op, OpType::Add | OpType::Join);
                let hook = if adding {
                    HookName::ConversationAdd
                } else {
                    HookName::ConversationRemove
                };
                // Leaving oneself is not asked about (LeanCloud's `_conversationRemove` rule).
                if !defined.contains(hook) || (!adding && members.iter().all(|m| m == client)) {
                    return None;
                }
                // Permissions, signatures and limits first, as LeanCloud did.
                let conv = if adding {
                    self.check_add(conn, client, body, now).ok()?.conv
                } else {
                    self.check_remove(conn, client, body, now).ok()?.0
                };
                (
                    hook,
                    json!({ "initBy": client, "convId": conv.record.id, "members": members }),
                )
            }
            _ => return None,
        };
        Some((hook, object(params)))
    }
}

impl<S: Storage> Hub<S> {
    /// The hook answered for `ticket`: the parked command goes ahead as the answer says (or is
    /// refused), then the commands queued behind it, until one waits for a hook again. A stale
    /// ticket (the connection closed meanwhile) is ignored. `run` handles each command.
    pub(super) fn resume_after_hook(
        &mut self,
        ticket: HookTicket,
        answer: HookAnswer,
        now: i64,
        mut run: impl FnMut(&mut Self, GenericCommand, Verdict),
    ) {
        let Some(waiting) = self.hooks.waiting.get_mut(&ticket.conn) else {
            return;
        };
        let Some(asked) = waiting
            .entries
            .iter_mut()
            .filter_map(|queued| queued.asked.as_mut())
            .find(|asked| asked.seq == ticket.seq && asked.answer.is_none())
        else {
            return;
        };
        asked.answer = Some(answer);
        self.drain_waiting(ticket.conn, now, &mut run);
    }

    /// Asks about the commands in `conn`'s queue no call was made for yet (a hook may apply to
    /// them now), while fewer than [`MAX_ASKED_AHEAD`] calls of the connection wait.
    fn ask_ahead(&mut self, conn: ConnId, now: i64) {
        let Some(waiting) = self.hooks.waiting.get(&conn) else {
            return;
        };
        let mut waiting_calls = waiting.unanswered();
        let mut index = 0;
        while waiting_calls < MAX_ASKED_AHEAD {
            let Some(queued) = self.hooks.waiting.get(&conn).and_then(|w| w.entries.get(index)) else {
                return;
            };
            index += 1;
            if queued.asked.is_some() {
                continue;
            }
            let command = &queued.command;
            let Some((client, cmd)) = self.client_of(conn, command).zip(command.command_type()) else {
                continue;
            };
            let command = command.clone();
            if let Some(asked) = self.ask(conn, &client, cmd, &command, now) {
                waiting_calls += 1;
                if let Some(queued) = self
                    .hooks
                    .waiting
                    .get_mut(&conn)
                    .and_then(|w| w.entries.get_mut(index - 1))
                {
                    queued.asked = Some(asked);
                }
            }
        }
    }

    /// Runs what is answered at the front of `conn`'s queue, in order, until its front waits for
    /// an answer again or the queue is empty (then it is removed). A command that was not asked
    /// about is handled as new: it may be asked now, and wait at the front.
    fn drain_waiting(
        &mut self,
        conn: ConnId,
        now: i64,
        run: &mut impl FnMut(&mut Self, GenericCommand, Verdict),
    ) {
        loop {
            let Some(waiting) = self.hooks.waiting.get_mut(&conn) else {
                return;
            };
            if waiting.blocked() {
                self.ask_ahead(conn, now);
                return;
            }
            let Some(next) = waiting.entries.pop_front() else {
                self.hooks.waiting.remove(&conn);
                return;
            };
            self.hooks.queued_in_all -= 1;
            let verdict = match next.asked.and_then(|asked| asked.answer) {
                Some(answer) => Verdict::Answered(answer),
                None => Verdict::Unasked,
            };
            run(self, next.command, verdict);
        }
    }

    /// Whether any command waits for a hook.
    pub(super) fn waits_for_any_hook(&self) -> bool {
        !self.hooks.waiting.is_empty()
    }

    /// After a batch's inputs (so that an answer that came in it is used): commands whose call is
    /// overdue go ahead as if it had failed, then the queues that no longer wait are worked
    /// through. `run` handles each command of a connection.
    pub(super) fn resume_unanswered(
        &mut self,
        now: i64,
        mut run: impl FnMut(&mut Self, ConnId, GenericCommand, Verdict),
    ) {
        for ticket in self.overdue_tickets(now) {
            tracing::warn!(
                conn = ticket.conn,
                "a hook's answer is overdue; the command goes ahead without it"
            );
            self.resume_after_hook(ticket, None, now, |hub, command, verdict| {
                run(hub, ticket.conn, command, verdict);
            });
        }
        self.drain_stalled(now, &mut run);
    }

    /// Runs the queues whose front does not wait any more although no answer came in this batch:
    /// a batch abandoned after a panic can leave one so (its front command taken and lost, the
    /// next one answered already). In connection order.
    fn drain_stalled(&mut self, now: i64, run: &mut impl FnMut(&mut Self, ConnId, GenericCommand, Verdict)) {
        let mut stalled: Vec<ConnId> = self
            .hooks
            .waiting
            .iter()
            .filter(|(_, waiting)| !waiting.blocked())
            .map(|(&conn, _)| conn)
            .collect();
        stalled.sort_unstable();
        for conn in stalled {
            self.drain_waiting(conn, now, &mut |hub, command, verdict| {
                run(hub, conn, command, verdict)
            });
        }
    }

    /// The tickets of calls made before `now - deadline` and not answered: overdue (the runtime's
    /// own timeout is shorter, so the call was lost: a panicked batch, a stopped task). In
    /// connection and call order.
    fn overdue_tickets(&self, now: i64) -> Vec<HookTicket> {
        let deadline = self.config.hook_deadline_ms;
        let mut overdue: Vec<HookTicket> = self
            .hooks
            .waiting
            .iter()
            .flat_map(|(&conn, waiting)| {
                waiting
                    .entries
                    .iter()
                    .filter_map(|queued| queued.asked.as_ref())
                    .filter(move |asked| asked.answer.is_none() && now.saturating_sub(asked.at) > deadline)
                    .map(move |asked| HookTicket { conn, seq: asked.seq })
            })
            .collect();
        overdue.sort_unstable_by_key(|ticket| (ticket.conn, ticket.seq));
        overdue
    }

    /// Forgets closed connection `conn`: its address, and its commands that wait for a hook
    /// (nothing of them happened, and none was acknowledged).
    pub(super) fn forget_connection_hooks(&mut self, conn: ConnId) {
        self.hooks.source_ips.remove(&conn);
        if let Some(waiting) = self.hooks.waiting.remove(&conn) {
            self.hooks.queued_in_all -= waiting.entries.len();
        }
    }

    /// After a failed commit: the notifying calls of the batch are dropped (what they tell of was
    /// rolled back), but for sign-ins and sign-outs (sessions live in memory, which the rollback
    /// leaves as it is); the deciding ones are kept, as their commands still wait.
    pub(super) fn drop_notifying_calls(&mut self) {
        self.hooks.calls.retain(|call| {
            call.ticket.is_some() || matches!(call.hook, HookName::ClientOnline | HookName::ClientOffline)
        });
    }

    /// Applies a deciding hook's `answer` to `command`: an error if the hook refused it (or, with
    /// [`HubConfig::refuse_without_hook`](super::HubConfig), failed to answer), else what the
    /// message delivery is to do differently. Content is changed in `command` itself.
    pub(super) fn apply_hook_answer(
        &self,
        cmd: CommandType,
        command: &mut GenericCommand,
        answer: HookAnswer,
    ) -> HubResult<MessageChanges> {
        let unchanged = MessageChanges {
            asked: true,
            recipients: None,
        };
        let Some(answer) = answer else {
            if !self.config.refuse_without_hook {
                return Ok(unchanged);
            }
            let code = match cmd {
                CommandType::Direct => ErrorCode::MessageRejectedByApp,
                CommandType::Patch => ErrorCode::MessageUpdateRejectedByApp,
                _ => ErrorCode::ConversationRejectedByApp,
            };
            return Err(Fail::RejectedByApp {
                code,
                app_code: None,
                detail: Some("the app's hook did not answer".into()),
            });
        };
        match cmd {
            CommandType::Conv => {
                rejection(&answer, "reject", ErrorCode::ConversationRejectedByApp)?;
                change_conversation_update(command, &answer);
                return Ok(unchanged);
            }
            CommandType::Patch => {
                rejection(&answer, "drop", ErrorCode::MessageUpdateRejectedByApp)?;
                if let Some(item) = command.patch_message.as_mut().and_then(|p| p.patches.first_mut()) {
                    if item.recall != Some(true) {
                        change_content(&answer, &mut item.data, &mut item.binary_msg);
                    }
                }
                return Ok(unchanged);
            }
            CommandType::Direct => {}
            _ => return Ok(unchanged),
        }
        rejection(&answer, "drop", ErrorCode::MessageRejectedByApp)?;
        let Some(direct) = command.direct_message.as_deref_mut() else {
            return Ok(unchanged);
        };
        change_content(&answer, &mut direct.msg, &mut direct.binary_msg);
        let recipients = answer.get("toPeers").and_then(Value::as_array).map(|peers| {
            peers
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        Ok(MessageChanges {
            recipients,
            ..unchanged
        })
    }

    /// `_messageSent`, and `_receiversOffline` when recipients are offline, after `message` was
    /// delivered (to its audience when it has one: a service's subscriber's message has none
    /// besides the service, a message `_messageReceived` narrowed has its `toPeers`).
    pub(super) fn notify_message_hooks(
        &mut self,
        message: &crate::storage::MessageRecord,
        transient: bool,
        from_conn: Option<ConnId>,
    ) {
        let defined = self.hooks.defined;
        let sent = defined.contains(HookName::MessageSent);
        let offline_hook = defined.contains(HookName::ReceiversOffline) && !transient;
        if !sent && !offline_hook {
            return;
        }
        let Some(conv) = self.convs.get(message.cid.as_str()) else {
            return;
        };
        let system = conv.record.system;
        let recipients: Box<dyn Iterator<Item = &str>> = match &message.audience {
            Some(audience) => Box::new(audience.iter().map(String::as_str)),
            None => conv.member_iter(),
        };
        let (online, offline): (Vec<&str>, Vec<&str>) = recipients
            .filter(|member| *member != message.from)
            .partition(|member| self.is_online(member));
        let (content, bin) = super::message_payload(message);
        if sent {
            self.hooks.calls.push(HookCall::notifying(
                HookName::MessageSent,
                json!({
                    "fromPeer": message.from,
                    "convId": message.cid,
                    "msgId": message.id,
                    "onlinePeers": online,
                    "offlinePeers": offline,
                    "transient": transient,
                    "system": system,
                    "bin": bin,
                    "content": content,
                    "receipt": message.receipt,
                    "timestamp": message.timestamp,
                    "mentionAll": message.mention_all,
                    "mentionPids": message.mention_pids,
                    "sourceIP": self.source_ip(from_conn),
                }),
            ));
        }
        if offline_hook && !offline.is_empty() {
            let mentioned: Vec<&str> = if message.mention_all {
                Vec::new()
            } else {
                offline
                    .iter()
                    .copied()
                    .filter(|member| message.mention_pids.iter().any(|m| m == member))
                    .collect()
            };
            self.hooks.calls.push(HookCall::notifying(
                HookName::ReceiversOffline,
                json!({
                    "fromPeer": message.from,
                    "convId": message.cid,
                    "offlinePeers": offline,
                    "content": content,
                    "bin": bin,
                    "timestamp": message.timestamp,
                    "mentionAll": message.mention_all,
                    "mentionOfflinePeers": mentioned,
                }),
            ));
        }
    }

    /// `_conversationAdded` or `_conversationRemoved` (`added`) for `members` of `cid`, by
    /// `initiator`.
    pub(super) fn notify_membership_hook(
        &mut self,
        added: bool,
        cid: &str,
        initiator: &str,
        members: &[String],
    ) {
        if members.is_empty() {
            return;
        }
        let hook = if added {
            HookName::ConversationAdded
        } else {
            HookName::ConversationRemoved
        };
        self.notify_hook(
            hook,
            |_| json!({ "initBy": initiator, "convId": cid, "members": members }),
        );
    }
}

/// Why a client's session ended, as `_clientOffline` tells it (`closeCode`, `closeMsg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Offline {
    /// The client signed out (`session/close`).
    SignedOut,
    /// Its connection dropped.
    Dropped,
    /// A sign-in elsewhere with the same tag ended it (4111).
    TagConflict,
    /// The app ended it (REST `kick`).
    KickedByApp,
}

impl Offline {
    /// `closeCode` and `closeMsg`.
    fn code_and_message(self) -> (u8, &'static str) {
        match self {
            Self::SignedOut => (1, "signed out"),
            Self::Dropped => (2, "connection lost"),
            Self::TagConflict => (3, "signed in elsewhere with the same tag"),
            Self::KickedByApp => (4, "kicked by the app"),
        }
    }

    /// The `_clientOffline` parameters for `client` (signed in with `tag`).
    pub(super) fn params(self, client: &str, tag: Option<&str>) -> Value {
        let (code, message) = self.code_and_message();
        json!({ "peerId": client, "closeCode": code, "closeMsg": message, "tag": tag })
    }
}

/// The `_conversationStarted` parameters.
pub(super) fn started_params(cid: &str) -> Value {
    json!({ "convId": cid })
}
