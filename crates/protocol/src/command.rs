//! Building and reading `GenericCommand`s without hand-filling the envelope.
//!
//! ```
//! use chinwag_protocol::{AckCommand, CommandType, DirectCommand, GenericCommand};
//!
//! // A client sends a message in request 7 ...
//! let send = GenericCommand::request(CommandType::Direct, 7).with(DirectCommand {
//!     cid: Some("conv-1".into()),
//!     msg: Some("hello".into()),
//!     ..Default::default()
//! });
//! // ... and the server replies with the same serial.
//! let ack = GenericCommand::reply_to(&send, CommandType::Ack)
//!     .with(AckCommand { uid: Some("m-1".into()), t: Some(1_700_000_000_000), ..Default::default() });
//! assert_eq!(ack.serial(), Some(7));
//! assert!(!ack.is_push());
//! ```

use crate::error_code::ErrorCode;
use crate::wire::*;

/// A command body that has its own field in the envelope (`sessionMessage`, `directMessage`, ...).
pub trait CommandBody: Sized {
    /// Stores this body in its field of `command`.
    fn put(self, command: &mut GenericCommand);
}

macro_rules! command_bodies {
    ($($body:ty => $field:ident),* $(,)?) => {$(
        impl CommandBody for $body {
            fn put(self, command: &mut GenericCommand) {
                command.$field = Some(Box::new(self));
            }
        }
    )*};
}

command_bodies! {
    DataCommand => data_message,
    SessionCommand => session_message,
    ErrorCommand => error_message,
    DirectCommand => direct_message,
    AckCommand => ack_message,
    UnreadCommand => unread_message,
    ReadCommand => read_message,
    RcpCommand => rcp_message,
    LogsCommand => logs_message,
    ConvCommand => conv_message,
    RoomCommand => room_message,
    PresenceCommand => presence_message,
    ReportCommand => report_message,
    PatchCommand => patch_message,
    PubsubCommand => pubsub_message,
    BlacklistCommand => blacklist_message,
    LoginCommand => login_message,
    LoggedinCommand => loggedin_message,
}

impl GenericCommand {
    /// A command of type `cmd` with no serial (a push, or a client command that expects no reply such
    /// as `ack` and `read`).
    pub fn new(cmd: CommandType) -> Self {
        // Copied whole from the constant, then one field set: struct-update syntax would copy the
        // other 29 fields one by one (in the npm package's wasm, at every inlined call).
        let mut command = Self::EMPTY;
        command.cmd = Some(cmd as i32);
        command
    }

    /// A request that expects a reply carrying the same serial `i`.
    pub fn request(cmd: CommandType, serial: i32) -> Self {
        Self::new(cmd).with_serial(serial)
    }

    /// A reply to `request`: same serial and, when the request named one, the same `peerId`.
    pub fn reply_to(request: &GenericCommand, cmd: CommandType) -> Self {
        Self {
            i: request.i,
            peer_id: request.peer_id.clone(),
            ..Self::new(cmd)
        }
    }

    /// A server push to the client `peer_id`: `service = 2` (instant messaging) and `peerId` set, so the
    /// JS SDK routes it to the right client and Swift dispatches it.
    pub fn push(cmd: CommandType, peer_id: impl Into<String>) -> Self {
        Self {
            peer_id: Some(peer_id.into()),
            service: Some(crate::IM_SERVICE),
            ..Self::new(cmd)
        }
    }

    /// An `error` reply to `request` with `code`, its symbolic name as `reason`, and `detail`.
    pub fn error_reply(request: &GenericCommand, code: ErrorCode, detail: Option<String>) -> Self {
        Self::reply_to(request, CommandType::Error).with(code.to_command(detail))
    }

    /// `echo` (keepalive) with serial `i`; the server answers with the same command.
    pub fn echo(serial: i32) -> Self {
        Self::request(CommandType::Echo, serial)
    }

    /// `goaway`: the server asks the client to refresh its endpoints and reconnect.
    pub fn goaway() -> Self {
        Self::new(CommandType::Goaway)
    }

    /// Sets `op`.
    pub fn with_op(mut self, op: OpType) -> Self {
        self.op = Some(op as i32);
        self
    }

    /// Sets the serial `i`.
    pub fn with_serial(mut self, serial: i32) -> Self {
        self.i = Some(serial);
        self
    }

    /// Sets `peerId`.
    pub fn with_peer_id(mut self, peer_id: impl Into<String>) -> Self {
        self.peer_id = Some(peer_id.into());
        self
    }

    /// Sets `appId`.
    pub fn with_app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// Sets `serverTs` (server time in ms).
    pub fn with_server_ts(mut self, server_ts: i64) -> Self {
        self.server_ts = Some(server_ts);
        self
    }

    /// Stores `body` in its envelope field.
    pub fn with(mut self, body: impl CommandBody) -> Self {
        body.put(&mut self);
        self
    }

    /// The command type, or `None` when absent or unknown to this schema.
    pub fn command_type(&self) -> Option<CommandType> {
        self.cmd.and_then(|cmd| CommandType::try_from(cmd).ok())
    }

    /// The op, or `None` when absent or unknown to this schema.
    pub fn op_type(&self) -> Option<OpType> {
        self.op.and_then(|op| OpType::try_from(op).ok())
    }

    /// The request serial, when this is a request or a reply (`i` present and non-zero; the JS SDK treats
    /// `i = 0` as absent).
    pub fn serial(&self) -> Option<i32> {
        self.i.filter(|serial| *serial != 0)
    }

    /// Whether this is a push (no serial), as opposed to a request or a reply.
    pub fn is_push(&self) -> bool {
        self.serial().is_none()
    }

    /// The error this reply carries, in any of the three shapes the SDKs understand (PROTOCOL.md §3.0):
    /// `cmd=error` with `errorMessage`, an `ack` with a `code`, or `session/closed` with a `code`.
    pub fn server_error(&self) -> Option<ServerError> {
        match self.command_type()? {
            CommandType::Error => self.error_message.as_deref().map(ServerError::from_error_command),
            CommandType::Ack => {
                let ack = self.ack_message.as_ref()?;
                let code = ack.code.filter(|code| *code != 0)?;
                Some(ServerError {
                    code,
                    reason: ack.reason.clone().unwrap_or_default(),
                    detail: None,
                    app_code: ack.app_code,
                    app_message: ack.app_msg.clone(),
                })
            }
            CommandType::Session => {
                let session = self.session_message.as_ref()?;
                let code = session.code.filter(|code| *code != 0)?;
                Some(ServerError {
                    code,
                    reason: session.reason.clone().unwrap_or_default(),
                    detail: session.detail.clone(),
                    app_code: None,
                    app_message: None,
                })
            }
            _ => None,
        }
    }
}

/// An error reported by the server, whatever shape it arrived in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ServerError {
    /// The protocol code (see [`ErrorCode`]); may be one this crate does not know.
    pub code: i32,
    /// The server's reason; by convention the symbolic name, e.g. `INVALID_MESSAGING_TARGET`.
    pub reason: String,
    /// Free-text detail.
    pub detail: Option<String>,
    /// An application (hook) error code.
    pub app_code: Option<i32>,
    /// An application (hook) error message.
    pub app_message: Option<String>,
}

impl ServerError {
    /// Reads an `ErrorCommand` (also used for the `failedPids` of partial failures).
    pub fn from_error_command(error: &ErrorCommand) -> Self {
        Self {
            code: error.code,
            reason: error.reason.clone(),
            detail: error.detail.clone(),
            app_code: error.app_code,
            app_message: error.app_msg.clone(),
        }
    }

    /// The known error code, if this is one of the protocol's.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// `<code> <NAME>`, then `: <detail>` when there is one (also its `Display`). Built without
    /// `core::fmt`, which the npm package's wasm otherwise leaves out.
    pub fn message(&self) -> String {
        let mut text = String::new();
        crate::json::push_integer(&mut text, self.code < 0, u64::from(self.code.unsigned_abs()));
        text.push(' ');
        text.push_str(self.name());
        if let Some(detail) = &self.detail {
            text.push_str(": ");
            text.push_str(detail);
        }
        text
    }

    /// The symbolic name: the server's `reason`, else the name of a known code, else `UNKNOWN_ERROR`.
    pub fn name(&self) -> &str {
        if !self.reason.is_empty() {
            return &self.reason;
        }
        self.error_code().map_or("UNKNOWN_ERROR", ErrorCode::name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_carry_service_and_peer() {
        let push = GenericCommand::push(CommandType::Conv, "Jerry").with_op(OpType::MembersJoined);
        assert_eq!(push.service, Some(2));
        assert_eq!(push.peer_id.as_deref(), Some("Jerry"));
        assert!(push.is_push());
        assert_eq!(push.op_type(), Some(OpType::MembersJoined));
    }

    #[test]
    fn errors_are_read_from_all_three_shapes() {
        let request = GenericCommand::request(CommandType::Direct, 3).with_peer_id("Tom");
        let error = GenericCommand::error_reply(&request, ErrorCode::InvalidMessagingTarget, None);
        assert_eq!(error.serial(), Some(3));
        assert_eq!(error.peer_id.as_deref(), Some("Tom"));
        let read = error.server_error().expect("error shape");
        assert_eq!((read.code, read.name()), (4401, "INVALID_MESSAGING_TARGET"));

        let ack = GenericCommand::reply_to(&request, CommandType::Ack).with(AckCommand {
            code: Some(4401),
            ..Default::default()
        });
        assert_eq!(
            ack.server_error().map(|e| e.name().to_owned()).as_deref(),
            Some("INVALID_MESSAGING_TARGET")
        );

        let ok_ack = GenericCommand::reply_to(&request, CommandType::Ack).with(AckCommand {
            uid: Some("m".into()),
            ..Default::default()
        });
        assert_eq!(ok_ack.server_error(), None);

        let closed = GenericCommand::new(CommandType::Session)
            .with_op(OpType::Closed)
            .with(SessionCommand {
                code: Some(4111),
                reason: Some("SESSION_CONFLICT".into()),
                ..Default::default()
            });
        assert_eq!(closed.server_error().map(|e| e.code), Some(4111));
    }

    #[test]
    fn sub_commands_are_boxed_so_the_envelope_stays_small() {
        // 18 sub-commands stored inline made it 3,304 bytes on x86_64 (ConvCommand alone is 656); boxed,
        // the envelope is its scalars plus one pointer per sub-command (296 bytes).
        assert!(
            size_of::<GenericCommand>() <= 320,
            "{} bytes",
            size_of::<GenericCommand>()
        );
        let command = GenericCommand::new(CommandType::Conv).with(ConvCommand {
            cid: Some("c".into()),
            ..Default::default()
        });
        assert_eq!(
            command
                .conv_message
                .as_deref()
                .and_then(|conv| conv.cid.as_deref()),
            Some("c")
        );
    }

    #[test]
    fn serial_zero_is_a_push() {
        let command = GenericCommand::request(CommandType::Echo, 0);
        assert!(command.is_push());
        assert_eq!(
            GenericCommand {
                cmd: Some(99),
                ..Default::default()
            }
            .command_type(),
            None
        );
    }
}
