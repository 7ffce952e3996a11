//! A fake server speaking enough of the RTM protocol for the simulated tests: sessions, conversation
//! creation, messages (de-duplicated by the sender's `dt`), history, reads and `unread` pushes.

use std::collections::{BTreeMap, BTreeSet};

use chinwag_protocol::{
    AckCommand, CommandType, ConvCommand, GenericCommand, LogItem, OpType, SessionCommand, UnreadCommand,
    UnreadTuple,
};

#[derive(Clone, Debug)]
pub struct Stored {
    pub id: String,
    pub from: String,
    pub ts: i64,
    pub data: String,
    pub dt: Option<String>,
}

#[derive(Default)]
pub struct FakeServer {
    pub clock: i64,
    pub convs: BTreeMap<String, (BTreeSet<String>, Vec<Stored>)>,
    pub dts: BTreeMap<(String, String), (String, i64)>,
    pub reads: BTreeMap<(String, String), i64>,
    /// connection id → signed-in peers.
    pub sessions: BTreeMap<usize, BTreeSet<String>>,
    /// (connection, peer) → single-device tag.
    pub tags: BTreeMap<(usize, String), String>,
    next_id: u64,
}

pub type Out = Vec<(usize, GenericCommand)>;

impl FakeServer {
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&mut self, now_ms: i64) -> i64 {
        self.clock = (self.clock + 1).max(now_ms);
        self.clock
    }

    pub fn disconnect(&mut self, conn: usize) {
        self.sessions.remove(&conn);
    }

    fn conns_of(&self, peer: &str) -> Vec<usize> {
        self.sessions
            .iter()
            .filter(|(_, peers)| peers.contains(peer))
            .map(|(c, _)| *c)
            .collect()
    }

    pub fn create_conv(&mut self, members: &[&str]) -> String {
        self.next_id += 1;
        let cid = format!("conv-{}", self.next_id);
        self.convs.insert(
            cid.clone(),
            (members.iter().map(|m| m.to_string()).collect(), Vec::new()),
        );
        cid
    }

    pub fn handle(&mut self, conn: usize, cmd: GenericCommand, now_ms: i64) -> Out {
        let peer = cmd.peer_id.clone().unwrap_or_default();
        let mut out = Vec::new();
        match (cmd.command_type(), cmd.op_type()) {
            (Some(CommandType::Echo), _) => {
                out.push((conn, GenericCommand::reply_to(&cmd, CommandType::Echo)))
            }
            (Some(CommandType::Session), Some(OpType::Open)) => {
                // Single-device login: a new session with the same tag closes the others (4111).
                let session = cmd.session_message.clone().unwrap_or_default();
                if let Some(tag) = session.tag.clone() {
                    for other in self.conns_of(&peer).into_iter().filter(|c| *c != conn) {
                        if self.tags.get(&(other, peer.clone())) == Some(&tag) {
                            if let Some(peers) = self.sessions.get_mut(&other) {
                                peers.remove(&peer);
                            }
                            out.push((
                                other,
                                GenericCommand::push(CommandType::Session, peer.clone())
                                    .with_op(OpType::Closed)
                                    .with(SessionCommand {
                                        code: Some(4111),
                                        reason: Some("SESSION_CONFLICT".into()),
                                        ..Default::default()
                                    }),
                            ));
                        }
                    }
                    self.tags.insert((conn, peer.clone()), tag);
                }
                self.sessions.entry(conn).or_default().insert(peer.clone());
                let ts = self.tick(now_ms);
                out.push((
                    conn,
                    GenericCommand::reply_to(&cmd, CommandType::Session)
                        .with_op(OpType::Opened)
                        .with_server_ts(ts)
                        .with(SessionCommand {
                            st: Some(format!("st-{peer}")),
                            st_ttl: Some(3600),
                            ..Default::default()
                        }),
                ));
                let mut tuples = Vec::new();
                for (cid, (members, messages)) in &self.convs {
                    if !members.contains(&peer) {
                        continue;
                    }
                    let read = self
                        .reads
                        .get(&(peer.clone(), cid.clone()))
                        .copied()
                        .unwrap_or(i64::MIN);
                    let unread: Vec<&Stored> = messages
                        .iter()
                        .filter(|m| m.from != peer && m.ts > read)
                        .collect();
                    if let Some(last) = messages.last() {
                        tuples.push(UnreadTuple {
                            cid: cid.clone(),
                            unread: unread.len() as i32,
                            mid: Some(last.id.clone()),
                            timestamp: Some(last.ts),
                            from: Some(last.from.clone()),
                            data: Some(last.data.clone()),
                            ..Default::default()
                        });
                    }
                }
                if !tuples.is_empty() {
                    out.push((
                        conn,
                        GenericCommand::push(CommandType::Unread, peer.clone()).with(UnreadCommand {
                            convs: tuples,
                            notif_time: Some(ts),
                        }),
                    ));
                }
            }
            (Some(CommandType::Session), Some(OpType::Close)) => {
                if let Some(peers) = self.sessions.get_mut(&conn) {
                    peers.remove(&peer);
                }
                out.push((
                    conn,
                    GenericCommand::reply_to(&cmd, CommandType::Session).with_op(OpType::Closed),
                ));
            }
            (Some(CommandType::Conv), Some(OpType::Start)) => {
                let conv = cmd.conv_message.clone().unwrap_or_default();
                let members: Vec<&str> = conv.m.iter().map(String::as_str).collect();
                let cid = self.create_conv(&members);
                out.push((
                    conn,
                    GenericCommand::reply_to(&cmd, CommandType::Conv)
                        .with_op(OpType::Started)
                        .with(ConvCommand {
                            cid: Some(cid.clone()),
                            cdate: Some("2026-11-25T00:00:00.000Z".into()),
                            ..Default::default()
                        }),
                ));
                for member in conv.m.iter().filter(|m| **m != peer) {
                    for c in self.conns_of(member) {
                        out.push((
                            c,
                            GenericCommand::push(CommandType::Conv, member.clone())
                                .with_op(OpType::Joined)
                                .with(ConvCommand {
                                    cid: Some(cid.clone()),
                                    init_by: Some(peer.clone()),
                                    ..Default::default()
                                }),
                        ));
                    }
                }
            }
            // Fetch by id (`where {"objectId": cid}`), as the engine does for conversations it
            // first sees in a push; other queries answer nothing.
            (Some(CommandType::Conv), Some(OpType::Query)) => {
                let conv = cmd.conv_message.clone().unwrap_or_default();
                let wanted = conv
                    .r#where
                    .and_then(|w| serde_json::from_str::<serde_json::Value>(&w.data).ok())
                    .and_then(|w| w["objectId"].as_str().map(str::to_owned));
                let results: Vec<serde_json::Value> = wanted
                    .and_then(|cid| self.convs.get(&cid).map(|(members, _)| (cid, members)))
                    .map(|(cid, members)| serde_json::json!({"objectId": cid, "m": members, "tr": false}))
                    .into_iter()
                    .collect();
                out.push((
                    conn,
                    GenericCommand::reply_to(&cmd, CommandType::Conv)
                        .with_op(OpType::Results)
                        .with(ConvCommand {
                            results: Some(chinwag_protocol::JsonObjectMessage {
                                data: serde_json::Value::Array(results).to_string(),
                            }),
                            ..Default::default()
                        }),
                ));
            }
            (Some(CommandType::Direct), _) => {
                let direct = cmd.direct_message.clone().unwrap_or_default();
                let cid = direct.cid.clone().unwrap_or_default();
                let dt = direct.dt.clone();
                if let Some(known) = dt
                    .as_ref()
                    .and_then(|dt| self.dts.get(&(peer.clone(), dt.clone())))
                {
                    let (uid, t) = known.clone();
                    out.push((conn, ack(&cmd, uid, t)));
                    return out;
                }
                let Some((members, _)) = self.convs.get(&cid) else {
                    out.push((
                        conn,
                        GenericCommand::error_reply(
                            &cmd,
                            chinwag_protocol::ErrorCode::InvalidMessagingTarget,
                            None,
                        ),
                    ));
                    return out;
                };
                let members = members.clone();
                let ts = self.tick(now_ms);
                self.next_id += 1;
                let id = format!("msg-{}", self.next_id);
                let data = direct.msg.clone().unwrap_or_default();
                self.convs.get_mut(&cid).unwrap().1.push(Stored {
                    id: id.clone(),
                    from: peer.clone(),
                    ts,
                    data: data.clone(),
                    dt: dt.clone(),
                });
                if let Some(dt) = dt {
                    self.dts.insert((peer.clone(), dt), (id.clone(), ts));
                }
                out.push((conn, ack(&cmd, id.clone(), ts)));
                for member in members.iter().filter(|m| **m != peer) {
                    for c in self.conns_of(member) {
                        out.push((
                            c,
                            GenericCommand::push(CommandType::Direct, member.clone()).with(
                                chinwag_protocol::DirectCommand {
                                    id: Some(id.clone()),
                                    cid: Some(cid.clone()),
                                    from_peer_id: Some(peer.clone()),
                                    timestamp: Some(ts),
                                    msg: Some(data.clone()),
                                    ..Default::default()
                                },
                            ),
                        ));
                    }
                }
            }
            (Some(CommandType::Logs), _) => {
                let logs = cmd.logs_message.clone().unwrap_or_default();
                let cid = logs.cid.clone().unwrap_or_default();
                let limit = logs.l.or(logs.limit).unwrap_or(20).max(0) as usize;
                let messages = self.convs.get(&cid).map(|c| c.1.clone()).unwrap_or_default();
                let included = logs.t_included.unwrap_or(false);
                let page: Vec<Stored> = if logs.direction == Some(2) {
                    let t = logs.t.unwrap_or(i64::MIN);
                    messages
                        .into_iter()
                        .filter(|m| if included { m.ts >= t } else { m.ts > t })
                        .take(limit)
                        .collect()
                } else {
                    let t = logs.t.unwrap_or(i64::MAX);
                    let older: Vec<Stored> = messages
                        .into_iter()
                        .filter(|m| if included { m.ts <= t } else { m.ts < t })
                        .collect();
                    older[older.len().saturating_sub(limit)..].to_vec()
                };
                let items = page
                    .into_iter()
                    .map(|m| LogItem {
                        from: Some(m.from),
                        data: Some(m.data),
                        timestamp: Some(m.ts),
                        msg_id: Some(m.id),
                        ..Default::default()
                    })
                    .collect();
                out.push((
                    conn,
                    GenericCommand::reply_to(&cmd, CommandType::Logs).with(chinwag_protocol::LogsCommand {
                        logs: items,
                        ..Default::default()
                    }),
                ));
            }
            (Some(CommandType::Read), _) => {
                for tuple in cmd.read_message.clone().unwrap_or_default().convs {
                    let ts = tuple.timestamp.unwrap_or(i64::MAX);
                    let entry = self.reads.entry((peer.clone(), tuple.cid)).or_insert(ts);
                    *entry = (*entry).max(ts);
                }
            }
            (Some(CommandType::Ack), _) => {}
            _ => {
                if cmd.serial().is_some() {
                    out.push((
                        conn,
                        GenericCommand::reply_to(&cmd, cmd.command_type().unwrap_or(CommandType::Error)),
                    ));
                }
            }
        }
        out
    }
}

fn ack(cmd: &GenericCommand, uid: String, t: i64) -> GenericCommand {
    GenericCommand::reply_to(cmd, CommandType::Ack).with(AckCommand {
        uid: Some(uid),
        t: Some(t),
        ..Default::default()
    })
}
