//! The JS layer's requests, one JSON array each: `[op, client, ...arguments]`, turned into the engine
//! command that answers with a request id.
//!
//! One exported entry point (`Core.call`) takes them all instead of one export per command: each
//! export carried its own argument passing in the wasm and in wasm-bindgen's JS glue, about 3 KB gzip
//! for twenty commands. The arguments are the values the JS API has (objects, lists, strings, `null`),
//! read with [`convert`].

use chinwag_core::json::Value;
use chinwag_core::{ClientOptions, Engine, Instant, RequestId};

use crate::convert;

/// Why a request could not be read (the JS layer throws it; its own code builds every request, so
/// this is a bug there, not user input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadRequest(pub &'static str);

/// Runs the request on `engine`; its request id, answered later by a `response` event.
pub fn run(engine: &mut Engine, now: Instant, request: &Value) -> Result<RequestId, BadRequest> {
    let items = request.as_array().map_or(&[][..], Vec::as_slice);
    let argument = |index: usize| items.get(index).unwrap_or(&Value::Null);
    let text = |index: usize| argument(index).as_str().unwrap_or_default();
    let optional_text = |index: usize| argument(index).as_str().map(str::to_owned);
    let strings =
        |index: usize| convert::strings(argument(index)).ok_or(BadRequest("expected an array of strings"));
    let (op, client, cid) = (text(0), text(1), text(2));
    Ok(match op {
        // [op, client, tag, sessionToken, signature]
        "open" => {
            let options = ClientOptions {
                tag: optional_text(2),
                session_token: optional_text(3),
                signature: convert::signature(argument(4)),
            };
            engine.open_client(client, options, now)
        }
        "close" => engine.close_client(client, now),
        // [op, client, clientIds]
        "ping" => engine.query_online(client, &strings(2)?, now),
        // [op, client, {members, name, unique, transient, ttl, attributes, signature}]
        "createConversation" => engine.create_conversation(client, convert::create_options(argument(2)), now),
        // [op, client, {where, sort, limit, skip, compact, withLastMessagesRefreshed}]
        "query" => engine.query_conversations(client, &convert::query(argument(2)), now),
        // [op, client, signature]
        "refreshSessionToken" => {
            engine.refresh_session_token(client, convert::signature(argument(2)).as_ref(), now)
        }
        // [op, client, message]
        "recall" => engine.recall(client, &convert::message(argument(2)), now),
        // [op, client, message, content]
        "edit" => engine.edit(
            client,
            &convert::message(argument(2)),
            convert::content(argument(3)),
            now,
        ),
        // The rest name a conversation: [op, client, cid, ...].
        "getConversation" => engine.get_conversation(client, cid, now),
        // [op, client, cid, "add" | "remove" | "mute" | "unmute" | "block" | "unblock", members, signature]
        "changeMembers" => {
            let member_op = convert::member_op(text(3)).ok_or(BadRequest("unknown member operation"))?;
            let signature = convert::signature(argument(5));
            engine.change_members(client, cid, member_op, &strings(4)?, signature.as_ref(), now)
        }
        // [op, client, cid, blocked, limit, next]
        "queryMembers" => {
            let limit = argument(4).as_i64().and_then(|limit| i32::try_from(limit).ok());
            if argument(3).as_bool() == Some(true) {
                engine.query_blocked_members(client, cid, limit, optional_text(5), now)
            } else {
                engine.query_muted_members(client, cid, limit, optional_text(5), now)
            }
        }
        // [op, client, cid, attributes]
        "update" => engine.update_conversation(client, cid, convert::attributes(argument(3)), now),
        "mute" => engine.mute(client, cid, now),
        "unmute" => engine.unmute(client, cid, now),
        "count" => engine.count_members(client, cid, now),
        // [op, client, cid, member, role]
        "updateMemberRole" => engine.update_member_role(client, cid, text(3), text(4), now),
        "fetchReceiptTimestamps" => engine.fetch_receipt_timestamps(client, cid, now),
        // [op, client, cid, content, options]
        "send" => engine.send(
            client,
            cid,
            convert::content(argument(3)),
            convert::send_options(argument(4)),
            now,
        ),
        // [op, client, cid, options]
        "queryMessages" => engine.query_messages(client, cid, convert::history(argument(3)), now),
        "read" => engine.read(client, cid, now),
        _ => return Err(BadRequest("unknown request")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chinwag_core::{Action, Options};

    fn request(text: &str) -> Value {
        chinwag_core::json::parse(text).expect("valid JSON")
    }

    #[test]
    fn requests_become_engine_commands_and_bad_ones_are_refused() {
        let now = Instant::from_millis(0);
        let mut engine = Engine::new(Options::with_servers("app", ["ws://x/"]), 1, now, 0);
        let first = run(&mut engine, now, &request(r#"["open","Tom",null,null,null]"#)).expect("open");
        assert!(matches!(engine.poll_action(), Some(Action::Connect { .. })));
        let second = run(
            &mut engine,
            now,
            &request(r#"["send","Tom","c1",{"data":"hi"},{"transient":true}]"#),
        )
        .expect("send");
        assert_ne!(first, second);
        for bad in [
            r#"["launch","Tom"]"#,
            r#"["changeMembers","Tom","c1","shout",["Jerry"],null]"#,
            r#"["ping","Tom",[1]]"#,
            r#"{"op":"open"}"#,
        ] {
            assert!(run(&mut engine, now, &request(bad)).is_err(), "{bad}");
        }
    }
}
