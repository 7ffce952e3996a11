//! Request bookkeeping: ids handed to the application, serials on the wire, what to do with a reply,
//! and the in-flight de-duplication rule of PROTOCOL.md §3.0.

use chinwag_protocol::{CommandType, Frame, FrameFormat, GenericCommand, OpType};

use crate::conversation::Conversation;
use crate::message::Message;
use crate::time::Instant;

/// Identifies a command issued by the application; its outcome arrives as
/// [`Event::Response`](crate::Event::Response) with the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A membership-like operation answered with partial results (`allowedPids` / `failedPids`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOp {
    /// `conv/add` (invite; join when the member is oneself).
    Add,
    /// `conv/remove` (kick; quit when the member is oneself).
    Remove,
    /// `conv/add_shutup`.
    Shutup,
    /// `conv/remove_shutup`.
    Unshutup,
    /// `blacklist/block`.
    Block,
    /// `blacklist/unblock`.
    Unblock,
}

/// What to do with the reply to a request.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// `session/open`; `relogin` is the `r` flag.
    Open {
        relogin: bool,
    },
    Close,
    /// `session/refresh`: the reply's `st`/`stTtl` replace the client's session token.
    Refresh,
    Echo,
    Create {
        template: Conversation,
    },
    Query,
    /// Filling the cache for a conversation first seen in a push (internal).
    Fetch {
        cid: String,
    },
    Send {
        message: Message,
        receipt: bool,
    },
    History {
        cid: String,
    },
    /// Gap filling after a reconnect (internal).
    CatchUp {
        cid: String,
        page: i32,
        forward: bool,
    },
    Partial {
        cid: String,
        op: MemberOp,
    },
    Count,
    Update {
        cid: String,
        attributes: chinwag_protocol::json::Map,
    },
    Done,
    Online,
    MaxRead {
        cid: String,
    },
    MaxReadAll,
    MemberList {
        blacklist: bool,
    },
    Patch {
        message: Message,
    },
}

impl Kind {
    /// Whether a request of this kind may share an identical in-flight request's reply.
    fn dedupable(&self) -> bool {
        !matches!(
            self,
            Kind::Open { .. }
                | Kind::Send { .. }
                | Kind::Create { .. }
                | Kind::Update { .. }
                | Kind::CatchUp { .. }
                | Kind::Fetch { .. }
        )
    }
}

/// A request, queued or in flight.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    /// The application's ids waiting for this reply (several when de-duplicated; none when internal).
    pub(crate) ids: Vec<RequestId>,
    /// The client that issued it.
    pub(crate) client: String,
    /// The command, without serial.
    pub(crate) command: GenericCommand,
    pub(crate) kind: Kind,
    /// When it fails with a timeout (`None`: no deadline yet, e.g. a send waiting in the offline queue).
    pub(crate) deadline: Option<Instant>,
    /// The bytes identical requests are compared by, for de-duplicable requests.
    pub(crate) dedup_key: Option<Vec<u8>>,
}

/// The de-duplication key of `command`: its encoding before a serial is assigned, unless the command is
/// exempt (`direct`, `session/open`, `conv/start`, `conv/update`, `conv/members`) or `kind` is one whose
/// reply has side effects per request.
pub(crate) fn dedup_key(command: &GenericCommand, kind: &Kind) -> Option<Vec<u8>> {
    let exempt = match command.command_type() {
        Some(CommandType::Direct) => true,
        Some(CommandType::Session) => command.op_type() == Some(OpType::Open),
        Some(CommandType::Conv) => {
            matches!(
                command.op_type(),
                Some(OpType::Start | OpType::Update | OpType::Members)
            )
        }
        _ => false,
    };
    (!exempt && kind.dedupable()).then(|| encode(command))
}

/// The wire bytes of `command`, the key that identical requests in flight share.
fn encode(command: &GenericCommand) -> Vec<u8> {
    match FrameFormat::Binary.encode(command) {
        Frame::Binary(bytes) => bytes,
        Frame::Text(text) => text.into_bytes(),
    }
}
