//! A simulated network: several engines, one fake server, links that can hold frames (delay), cut the
//! connection (loss of everything in flight) and refuse connects while down. No sockets, no sleeping:
//! time jumps to the next deadline.

use std::collections::VecDeque;

use chinwag_core::{Action, ClientOptions, Engine, Event, Instant, Options};
use chinwag_protocol::GenericCommand;

use super::server::FakeServer;

pub struct Peer {
    pub id: String,
    pub engine: Engine,
    /// Whether the network path works (connects succeed).
    pub link_up: bool,
    /// Whether a WebSocket is currently open.
    pub connected: bool,
    pub to_server: VecDeque<GenericCommand>,
    pub to_client: VecDeque<GenericCommand>,
    /// While set, frames stay in the queues (a slow link).
    pub held: bool,
    pub events: Vec<Event>,
    /// For every `Invited` and `Message` event: which of the two, the conversation and how many
    /// members the engine's cache knew for it when the event was polled.
    pub members_at_event: Vec<(&'static str, String, usize)>,
}

pub struct Sim {
    pub now: Instant,
    pub server: FakeServer,
    pub peers: Vec<Peer>,
}

impl Sim {
    pub fn new(ids: &[&str], seed: u64) -> Self {
        Self::with_options(ids, seed, |_| {})
    }

    /// Like `new`, with every engine's options adjusted by `adjust`.
    pub fn with_options(ids: &[&str], seed: u64, adjust: impl Fn(&mut Options)) -> Self {
        let now = Instant::from_millis(0);
        let peers = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Peer {
                id: id.to_string(),
                engine: {
                    let mut options = Options::with_servers("app", ["ws://sim/"]);
                    adjust(&mut options);
                    Engine::new(options, seed.wrapping_add(i as u64), now, 1_700_000_000_000)
                },
                link_up: true,
                connected: false,
                to_server: VecDeque::new(),
                to_client: VecDeque::new(),
                held: false,
                events: Vec::new(),
                members_at_event: Vec::new(),
            })
            .collect();
        Self {
            now,
            server: FakeServer::new(),
            peers,
        }
    }

    pub fn open_all(&mut self) {
        for i in 0..self.peers.len() {
            let id = self.peers[i].id.clone();
            self.peers[i]
                .engine
                .open_client(&id, ClientOptions::default(), self.now);
        }
        self.settle();
    }

    /// Drains outputs and moves frames until nothing changes.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            for i in 0..self.peers.len() {
                progressed |= self.drain_peer(i);
            }
            for i in 0..self.peers.len() {
                if self.peers[i].held || !self.peers[i].connected {
                    continue;
                }
                while let Some(cmd) = self.peers[i].to_server.pop_front() {
                    progressed = true;
                    let now_ms = self.now.as_millis() as i64 + 1_700_000_000_000;
                    for (conn, reply) in self.server.handle(i, cmd, now_ms) {
                        if self.peers[conn].connected {
                            self.peers[conn].to_client.push_back(reply);
                        }
                    }
                }
            }
            for i in 0..self.peers.len() {
                if self.peers[i].held || !self.peers[i].connected {
                    continue;
                }
                while let Some(cmd) = self.peers[i].to_client.pop_front() {
                    progressed = true;
                    self.peers[i].engine.handle_command(cmd, self.now);
                    self.drain_peer(i);
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("simulation did not settle");
    }

    fn drain_peer(&mut self, i: usize) -> bool {
        let mut progressed = false;
        loop {
            let peer = &mut self.peers[i];
            let mut any = false;
            while let Some(frame) = peer.engine.poll_transmit() {
                any = true;
                if peer.connected {
                    peer.to_server.push_back(frame.decode().unwrap());
                }
            }
            while let Some(action) = peer.engine.poll_action() {
                any = true;
                match action {
                    Action::Connect { .. } => {
                        if peer.link_up {
                            peer.connected = true;
                            peer.engine.handle_connected(self.now);
                        } else {
                            peer.engine.handle_disconnected(None, self.now);
                        }
                    }
                    Action::Close => {
                        peer.connected = false;
                        peer.to_server.clear();
                        peer.to_client.clear();
                        self.server.disconnect(i);
                    }
                    Action::FetchRoute { .. } => peer.engine.handle_route(vec!["ws://sim/".into()], self.now),
                }
            }
            let peer = &mut self.peers[i];
            while let Some(event) = peer.engine.poll_event() {
                any = true;
                let named = match &event {
                    Event::Invited {
                        client, conversation, ..
                    } => Some(("invited", client.clone(), conversation.clone())),
                    Event::Message { client, message } => {
                        Some(("message", client.clone(), message.conversation.clone()))
                    }
                    _ => None,
                };
                if let Some((kind, client, cid)) = named {
                    let members = peer
                        .engine
                        .conversation(&client, &cid)
                        .map_or(0, |c| c.members.len());
                    peer.members_at_event.push((kind, cid, members));
                }
                peer.events.push(event);
            }
            if !any {
                return progressed;
            }
            progressed = true;
        }
    }

    /// Cuts peer `i`'s connection (everything in flight is lost) and keeps the link down.
    pub fn cut(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        peer.link_up = false;
        if peer.connected {
            peer.connected = false;
            peer.to_server.clear();
            peer.to_client.clear();
            self.server.disconnect(i);
            peer.engine.handle_disconnected(Some(1006), self.now);
        }
        self.settle();
    }

    pub fn restore(&mut self, i: usize) {
        self.peers[i].link_up = true;
        self.settle();
    }

    /// Advances time by `ms`, firing every deadline on the way.
    pub fn advance(&mut self, ms: u64) {
        let until = self.now.as_millis() + ms;
        loop {
            self.settle();
            let next = self.peers.iter().filter_map(|p| p.engine.poll_timeout()).min();
            match next {
                Some(at) if at.as_millis() <= until => {
                    self.now = self.now.max(at);
                    for i in 0..self.peers.len() {
                        self.peers[i].engine.handle_timeout(self.now);
                    }
                }
                _ => break,
            }
        }
        self.now = Instant::from_millis(until);
        for i in 0..self.peers.len() {
            self.peers[i].engine.handle_timeout(self.now);
        }
        self.settle();
    }

    /// Drops every connection at once (a server restart); links stay up, so clients reconnect.
    pub fn restart_server(&mut self) {
        for i in 0..self.peers.len() {
            let peer = &mut self.peers[i];
            if peer.connected {
                peer.connected = false;
                peer.to_server.clear();
                peer.to_client.clear();
                self.server.disconnect(i);
                peer.engine.handle_disconnected(Some(1012), self.now);
            }
        }
        self.settle();
    }
}
