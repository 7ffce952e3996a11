//! Test support: a scripted single-engine harness and an in-process fake server with a simulated link.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod server;
pub mod sim;

use chinwag_core::{Action, ClientOptions, Engine, Event, Instant, Options};
use chinwag_protocol::{CommandType, GenericCommand, OpType, SessionCommand};

/// One engine whose frames the test reads and answers by hand.
pub struct Scripted {
    pub engine: Engine,
    pub now: Instant,
    pub sent: Vec<GenericCommand>,
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
}

impl Scripted {
    pub fn new(options: Options) -> Self {
        let now = Instant::from_millis(0);
        Self {
            engine: Engine::new(options, 7, now, 1_700_000_000_000),
            now,
            sent: Vec::new(),
            actions: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn direct() -> Self {
        Self::new(Options::with_servers("app", ["ws://a/", "ws://b/"]))
    }

    /// Drains every output into the logs.
    pub fn drain(&mut self) {
        while let Some(frame) = self.engine.poll_transmit() {
            self.sent.push(frame.decode().unwrap());
        }
        while let Some(action) = self.engine.poll_action() {
            self.actions.push(action);
        }
        while let Some(event) = self.engine.poll_event() {
            self.events.push(event);
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + ms);
        self.engine.handle_timeout(self.now);
        self.drain();
    }

    /// Fires timers until `until` (absolute ms), one deadline at a time.
    pub fn run_until(&mut self, until: u64) {
        while let Some(at) = self.engine.poll_timeout() {
            if at.as_millis() > until {
                break;
            }
            self.now = self.now.max(at);
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        self.now = self.now.max(Instant::from_millis(until));
        self.engine.handle_timeout(self.now);
        self.drain();
    }

    pub fn push(&mut self, command: GenericCommand) {
        self.engine.handle_command(command, self.now);
        self.drain();
    }

    pub fn last_sent(&self) -> &GenericCommand {
        self.sent.last().expect("nothing sent")
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn connect(&mut self) {
        self.engine.handle_connected(self.now);
        self.drain();
    }

    /// Answers the last `session/open` with `opened`.
    pub fn answer_open(&mut self, token: &str) {
        let open = self
            .sent
            .iter()
            .rev()
            .find(|c| c.op_type() == Some(OpType::Open))
            .unwrap()
            .clone();
        self.push(
            GenericCommand::reply_to(&open, CommandType::Session)
                .with_op(OpType::Opened)
                .with_server_ts(1_000)
                .with(SessionCommand {
                    st: Some(token.into()),
                    st_ttl: Some(3600),
                    ..Default::default()
                }),
        );
    }

    /// The connection drops (1006), the engine reconnects at once and its re-login is answered
    /// with the session token `token`; returns how many frames were sent before that answer, so
    /// that `sent[mark..]` is what the re-login brought.
    pub fn drop_and_relogin(&mut self, token: &str) -> usize {
        self.engine.handle_disconnected(Some(1006), self.now);
        self.run_until(self.now.as_millis());
        self.connect();
        let mark = self.sent.len();
        self.answer_open(token);
        mark
    }

    /// Opens client `id` on a fresh connection.
    pub fn open(id: &str) -> Self {
        Self::open_with(id, Options::with_servers("app", ["ws://a/", "ws://b/"]))
    }

    /// Opens client `id` on a fresh connection of an engine with `options`.
    pub fn open_with(id: &str, options: Options) -> Self {
        let mut s = Self::new(options);
        s.engine.open_client(id, ClientOptions::default(), s.now);
        s.drain();
        s.connect();
        s.answer_open("tok-1");
        s.take_events();
        s
    }
}
