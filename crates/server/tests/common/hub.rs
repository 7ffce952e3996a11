//! The hub under test for the hub-level tests: driven without sockets, with injected time. Each
//! test file adds the requests it needs in an `impl Harness` of its own.
#![allow(dead_code, reason = "not every test file uses every helper")]

use chinwag_protocol::{GenericCommand, SessionCommand};
use chinwag_server::{ConnId, Hub, HubConfig, Outgoing, SqliteStorage};

/// The tests' clock starts here (ms), so that timestamps are readable and fixed.
pub(crate) const T0: i64 = 1_795_000_000_000;

/// What the hub sent: each command with the connection it went to.
pub(crate) type Sent = Vec<(ConnId, GenericCommand)>;

/// The complete commands of a hub's output.
pub(crate) fn sent(out: Vec<Outgoing>) -> Sent {
    out.iter().map(|o| (o.conn, o.to_command())).collect()
}

/// A hub, its clock and the serial of the last request made.
pub(crate) struct Harness {
    pub(crate) hub: Hub<SqliteStorage>,
    /// Now (ms): each command is handled one millisecond after the one before.
    pub(crate) now: i64,
    pub(crate) serial: i32,
}

impl Harness {
    /// A hub with `config` over `storage`, its clock at [`T0`].
    pub(crate) fn start(config: HubConfig, storage: SqliteStorage) -> Self {
        Self {
            hub: Hub::new(config, storage).expect("hub"),
            now: T0,
            serial: 0,
        }
    }

    /// Hands `command` on `conn` to the hub one millisecond later; returns what it sent.
    pub(crate) fn run(&mut self, conn: ConnId, command: GenericCommand) -> Sent {
        self.now += 1;
        sent(self.hub.handle(conn, command, self.now))
    }
}

/// An automatic re-login with the session token `st`.
pub(crate) fn relogin(st: impl Into<String>) -> SessionCommand {
    SessionCommand {
        r: Some(true),
        st: Some(st.into()),
        ..Default::default()
    }
}
