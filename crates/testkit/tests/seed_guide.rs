//! The flow of the seed guide (`realtime-message-guide.md`), with real engines against the real hub:
//! every client's events must match the guide's events table.

use chinwag_core::{ConversationQuery, CreateConversation, Event, MessageContent, Response, SendOptions};
use chinwag_testkit::World;

fn sorted(members: &[String]) -> Vec<&str> {
    let mut members: Vec<&str> = members.iter().map(String::as_str).collect();
    members.sort_unstable();
    members
}

/// The membership events a client saw since `from`, as the JS SDK names them.
fn membership_events(world: &World, peer: usize, client: &str, from: usize) -> Vec<String> {
    world.peer(peer).events[from..]
        .iter()
        .filter_map(|e| match e {
            Event::Invited { client: c, .. } if c == client => Some("INVITED".to_owned()),
            Event::Kicked { client: c, .. } if c == client => Some("KICKED".to_owned()),
            Event::MembersJoined {
                client: c, members, ..
            } if c == client => Some(format!("MEMBERS_JOINED {:?}", sorted(members))),
            Event::MembersLeft {
                client: c, members, ..
            } if c == client => Some(format!("MEMBERS_LEFT {:?}", sorted(members))),
            _ => None,
        })
        .collect()
}

struct Guide {
    world: World,
    names: [&'static str; 3],
}

impl Guide {
    fn new() -> Self {
        let mut world = World::with_seed(7, 5);
        let names = ["Tom", "Jerry", "Mary"];
        for name in names {
            let peer = world.add_peer(name);
            world.open(peer, name);
        }
        Self { world, names }
    }

    fn marks(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.world.peer(i).events.len())
    }

    /// Runs until idle and asserts each client's membership events since `marks`.
    fn expect(&mut self, marks: [usize; 3], expected: [&[&str]; 3]) {
        self.world.run_until_idle();
        for (i, want) in expected.iter().enumerate() {
            let got = membership_events(&self.world, i, self.names[i], marks[i]);
            assert_eq!(got, *want, "events of {}", self.names[i]);
        }
    }

    fn ok(&mut self, peer: usize, request: chinwag_core::RequestId) -> Response {
        match self.world.run_until_response(peer, request) {
            Ok(response) => response,
            Err(error) => panic!("request of {}: {error:?}", self.names[peer]),
        }
    }
}

#[test]
fn the_guide_flow_produces_the_events_table_for_every_client() {
    let mut g = Guide::new();
    let (tom, jerry, mary) = (0, 1, 2);

    // tom.createConversation({members: ['Jerry'], name: 'Tom & Jerry'})
    let marks = g.marks();
    let request = g.world.act(tom, |e, now| {
        let mut create = CreateConversation::with_members(["Jerry"]);
        create.name = Some("Tom & Jerry".into());
        e.create_conversation("Tom", create, now)
    });
    let Response::Created(conv) = g.ok(tom, request) else {
        panic!("not created")
    };
    let cid = conv.id.clone();
    assert_eq!(conv.name.as_deref(), Some("Tom & Jerry"));
    // The table's Mary column for this row cannot apply: Mary is no member yet, so nothing reaches her.
    g.expect(
        marks,
        [&[r#"MEMBERS_JOINED ["Jerry", "Tom"]"#], &["INVITED"], &[]],
    );
    // Jerry learnt of the conversation from the push; the engine fetched it into his cache.
    let jerrys = g
        .world
        .peer(jerry)
        .engine
        .conversation("Jerry", &cid)
        .expect("cached");
    assert_eq!(jerrys.name.as_deref(), Some("Tom & Jerry"));
    assert_eq!(jerrys.creator.as_deref(), Some("Tom"));
    assert_eq!(jerrys.members.len(), 2);

    // conversation.send(new TextMessage('Hi, Jerry.'))
    let request = g.world.act(tom, |e, now| {
        e.send(
            "Tom",
            &cid,
            MessageContent::Text("Hi, Jerry.".into()),
            SendOptions::default(),
            now,
        )
    });
    let Response::Sent(sent) = g.ok(tom, request) else {
        panic!("not sent")
    };
    g.world.run_until_idle();
    let received: Vec<_> = g
        .world
        .peer(jerry)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message { client, message } if client == "Jerry" => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(received.len(), 1, "Jerry receives the message once");
    assert_eq!(received[0].content, MessageContent::Text("Hi, Jerry.".into()));
    assert_eq!(received[0].from, "Tom");
    assert_eq!(received[0].id, sent.id);
    assert_eq!(received[0].conversation, cid);
    let jerrys = g
        .world
        .peer(jerry)
        .engine
        .conversation("Jerry", &cid)
        .expect("cached");
    assert_eq!(jerrys.unread, 1);
    assert_eq!(jerrys.last_message.as_ref().and_then(|m| m.id.clone()), sent.id);

    // tom.getQuery().containsMembers(['Jerry']).find()
    let request = g.world.act(tom, |e, now| {
        e.query_conversations("Tom", &ConversationQuery::new().contains_members(["Jerry"]), now)
    });
    let Response::Conversations(found) = g.ok(tom, request) else {
        panic!("no query result")
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, cid);
    assert_eq!(found[0].last_message.as_ref().and_then(|m| m.id.clone()), sent.id);

    // conversation.add(['Mary'])
    let marks = g.marks();
    let request = g
        .world
        .act(tom, |e, now| e.add_members("Tom", &cid, &["Mary".into()], now));
    g.ok(tom, request);
    g.expect(
        marks,
        [
            &[r#"MEMBERS_JOINED ["Mary"]"#],
            &[r#"MEMBERS_JOINED ["Mary"]"#],
            &["INVITED"],
        ],
    );
    let members = |g: &Guide, peer: usize, client: &str| {
        g.world
            .peer(peer)
            .engine
            .conversation(client, &cid)
            .map(|c| c.members.iter().cloned().collect::<Vec<_>>())
    };
    assert_eq!(
        members(&g, tom, "Tom"),
        Some(vec!["Jerry".into(), "Mary".into(), "Tom".into()])
    );

    // conversation.remove(['Mary'])
    let marks = g.marks();
    let request = g
        .world
        .act(tom, |e, now| e.remove_members("Tom", &cid, &["Mary".into()], now));
    g.ok(tom, request);
    g.expect(
        marks,
        [
            &[r#"MEMBERS_LEFT ["Mary"]"#],
            &[r#"MEMBERS_LEFT ["Mary"]"#],
            &["KICKED"],
        ],
    );

    // Mary joins again, so the quit/join rows have all three as members.
    let marks = g.marks();
    let request = g.world.act(mary, |e, now| e.join("Mary", &cid, now));
    g.ok(mary, request);
    let joined: &[&str] = &[r#"MEMBERS_JOINED ["Mary"]"#];
    g.expect(marks, [joined, joined, joined]);

    // conversation.quit() by Tom: everyone MEMBERS_LEFT
    let marks = g.marks();
    let request = g.world.act(tom, |e, now| e.quit("Tom", &cid, now));
    g.ok(tom, request);
    let left: &[&str] = &[r#"MEMBERS_LEFT ["Tom"]"#];
    g.expect(marks, [left, left, left]);

    // conversation.join() by Tom: everyone MEMBERS_JOINED
    let marks = g.marks();
    let request = g.world.act(tom, |e, now| e.join("Tom", &cid, now));
    g.ok(tom, request);
    let joined: &[&str] = &[r#"MEMBERS_JOINED ["Tom"]"#];
    g.expect(marks, [joined, joined, joined]);
    assert_eq!(
        members(&g, jerry, "Jerry"),
        Some(vec!["Jerry".into(), "Mary".into(), "Tom".into()])
    );
}

#[test]
fn distinct_conversations_are_shared_by_member_set() {
    let mut g = Guide::new();
    let (tom, mary) = (0, 2);
    let party = |members: [&str; 2]| {
        let mut create = CreateConversation::with_members(members);
        create.name = Some("Party on weekends".into());
        create.unique = true;
        create
    };
    let first = g.world.act(mary, |e, now| {
        e.create_conversation("Mary", party(["Tom", "Jerry"]), now)
    });
    let Response::Created(first) = g.ok(mary, first) else {
        panic!("not created")
    };
    let again = g.world.act(mary, |e, now| {
        e.create_conversation("Mary", party(["Jerry", "Tom"]), now)
    });
    let Response::Created(again) = g.ok(mary, again) else {
        panic!("not created")
    };
    let by_tom = g.world.act(tom, |e, now| {
        e.create_conversation("Tom", party(["Mary", "Jerry"]), now)
    });
    let Response::Created(by_tom) = g.ok(tom, by_tom) else {
        panic!("not created")
    };
    assert_eq!(first.id, again.id);
    assert_eq!(first.id, by_tom.id);
    // A different member set is a different conversation.
    let other = g.world.act(mary, |e, now| {
        e.create_conversation("Mary", party(["Tom", "Bob"]), now)
    });
    let Response::Created(other) = g.ok(mary, other) else {
        panic!("not created")
    };
    assert_ne!(other.id, first.id);
}
