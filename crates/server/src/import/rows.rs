//! The rows an import reads, as LeanCloud's REST API lists them and its storage export writes them
//! (`shared/protocol/REST.md` §1.4–1.6, §2.2): `_Conversation`, history, `_SysMessage` and
//! `_ConversationMemberInfo`. A row missing what it cannot do without (an id, a conversation, a
//! time) reads as `None`; unknown keys of a conversation are kept as custom attributes.

use serde_json::{Map, Value};

use crate::storage::{ConversationRecord, MessageRecord};

/// `_Conversation` keys besides the ones clients may not set as attributes
/// ([`crate::hub::RESERVED_KEYS`]) that are LeanCloud's own, not custom attributes.
const LEANCLOUD_FIELDS: &[&str] = &["uniqueId", "temp", "ttl", "ACL"];

/// A conversation as the REST API lists it (`_Conversation` fields), and its members (`m`).
/// `None` for an entry without an id.
pub(super) fn conversation_record(item: &Value) -> Option<(ConversationRecord, Vec<String>)> {
    let object = item.as_object()?;
    let id = object
        .get("objectId")?
        .as_str()
        .filter(|id| !id.is_empty())?
        .to_owned();
    let flag = |key: &str| object.get(key).and_then(Value::as_bool).unwrap_or(false);
    let list = |key: &str| -> Vec<String> {
        object
            .get(key)
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let created_at = object.get("createdAt").and_then(time_of).unwrap_or(0);
    let members = list("m");
    let transient = flag("tr");
    let system = flag("sys");
    let attrs: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| {
            !crate::hub::RESERVED_KEYS.contains(&key.as_str()) && !LEANCLOUD_FIELDS.contains(&key.as_str())
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let creator = object.get("c").and_then(Value::as_str).unwrap_or_default();
    let record = ConversationRecord {
        transient,
        system,
        unique_key: (flag("unique") && !transient && !system).then(|| crate::hub::unique_key(&members)),
        muted: list("mu"),
        updated_at: object.get("updatedAt").and_then(time_of).unwrap_or(created_at),
        last_message_at: object.get("lm").and_then(time_of),
        ..ConversationRecord::new(id, creator, attrs, created_at)
    };
    // Chat rooms and service conversations keep no member list in `m`.
    let members = if transient || system { Vec::new() } else { members };
    Some((record, members))
}

/// A REST time: an ISO string (`createdAt`) or a `{"__type": "Date", "iso": …}` object.
pub(super) fn time_of(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => crate::time::parse_iso8601(text),
        Value::Object(date) => crate::time::parse_iso8601(date.get("iso")?.as_str()?),
        _ => None,
    }
}

/// A message as the REST history lists it; `None` without an id, conversation or time.
/// `imported(cid)` tells whether conversation `cid` is imported (`Some`) and a service
/// conversation (`Some(true)`), whose messages are kept for the service only (their recipients
/// are not listed).
pub(super) fn message_record(item: &Value, imported: impl Fn(&str) -> Option<bool>) -> Option<MessageRecord> {
    use base64::Engine as _;
    let id = item
        .get("msg-id")?
        .as_str()
        .filter(|id| !id.is_empty())?
        .to_owned();
    // LeanCloud's rows name the conversation in `to` (its `objectId`); `conv-id` is "the id used
    // for querying", which can be an internal key (`<objectId>00000000`, an md5 for per-user
    // service history). `conv-id` serves when `to` names no imported conversation.
    let named = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .filter(|cid| !cid.is_empty())
    };
    let cid = named("to")
        .filter(|to| imported(to).is_some())
        .or_else(|| named("conv-id"))?
        .to_owned();
    let timestamp = item.get("timestamp")?.as_i64()?;
    let data = item.get("data").and_then(Value::as_str).unwrap_or_default();
    let binary = item.get("bin").and_then(Value::as_bool).unwrap_or(false);
    let (data, binary) = if binary {
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
        (None, Some(bytes))
    } else {
        (Some(data.to_owned()), None)
    };
    let lctype = crate::hub::lctype_of(data.as_deref());
    Some(MessageRecord {
        audience: (imported(&cid) == Some(true)).then(Vec::new),
        id,
        cid,
        from: item
            .get("from")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        timestamp,
        data,
        binary,
        mention_all: item.get("mention-all").and_then(Value::as_bool).unwrap_or(false),
        mention_pids: item
            .get("mention-pids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        dt: None,
        receipt: false,
        patch_timestamp: item.get("patch-timestamp").and_then(Value::as_i64),
        patch_code: None,
        patch_reason: None,
        lctype,
    })
}

/// A `_SysMessage` row (a message a client sent to a service conversation) as a message of that
/// conversation, for the service only. `None` without an id, a conversation or a time. Its time
/// is `timestamp` (ms), else `createdAt`.
pub(super) fn service_message_record(
    row: &Value,
    imported: impl Fn(&str) -> Option<bool>,
) -> Option<MessageRecord> {
    let conversation = row.get("conv")?;
    let cid = conversation
        .get("objectId")
        .or(Some(conversation))
        .and_then(Value::as_str)?;
    let timestamp = match row.get("timestamp") {
        Some(Value::Number(ms)) => ms.as_i64()?,
        _ => time_of(row.get("createdAt")?)?,
    };
    // The history row it would be: `message_record` reads both alike.
    let history_row = serde_json::json!({
        "msg-id": row.get("msgId")?,
        "to": cid,
        "conv-id": cid,
        "from": row.get("from").cloned().unwrap_or_default(),
        "data": row.get("data").cloned().unwrap_or_default(),
        "bin": row.get("bin").cloned().unwrap_or_default(),
        "timestamp": timestamp,
    });
    let mut message = message_record(&history_row, imported)?;
    message.audience = Some(Vec::new());
    Some(message)
}

/// The client of a member-info row (`_ConversationMemberInfo`, or the REST API's `member-infos`)
/// whose role is `Manager`: its `clientId` (the Java SDK's `peerId`). `None` for any other row.
pub(super) fn manager_of(row: &Value) -> Option<&str> {
    if row.get("role").and_then(Value::as_str) != Some("Manager") {
        return None;
    }
    ["clientId", "peerId"]
        .iter()
        .find_map(|key| row.get(*key)?.as_str())
}

/// The conversation a `_ConversationMemberInfo` row is about: its `cid` (the Java SDK's
/// `conversationId`).
pub(super) fn member_info_conversation(row: &Value) -> Option<&str> {
    ["cid", "conversationId"]
        .iter()
        .find_map(|key| row.get(*key)?.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_leancloud_conversation_row_keeps_its_fields_and_custom_attributes() {
        let row = json!({
            "objectId": "5a5d7433c3422b31ed845e76", "c": "Tom", "m": ["Tom", "Jerry"], "mu": ["Jerry"],
            "name": "Tea", "attr": {"topic": "cats"}, "level": 3, "unique": true,
            "uniqueId": "6c7b0e5afcae9aa1139a0afa25833dec", "tr": false,
            "createdAt": "2020-05-26T06:42:31.482Z", "updatedAt": "2020-05-27T06:42:31.482Z",
            "lm": {"__type": "Date", "iso": "2020-05-28T00:00:00.000Z"}, "ACL": {"*": {"read": true}}
        });
        let (record, members) = conversation_record(&row).expect("a conversation");
        assert_eq!(record.id, "5a5d7433c3422b31ed845e76");
        assert_eq!(record.creator, "Tom");
        assert_eq!(members, ["Tom", "Jerry"]);
        assert_eq!(record.muted, ["Jerry"]);
        assert_eq!(
            Value::Object(record.attrs),
            json!({"name": "Tea", "attr": {"topic": "cats"}, "level": 3}),
            "custom attributes as they were, LeanCloud's own fields left out"
        );
        assert_eq!(record.unique_key.as_deref(), Some(r#"["Jerry","Tom"]"#));
        assert_eq!(record.created_at, 1_590_475_351_482);
        assert_eq!(record.last_message_at, Some(1_590_624_000_000), "lm");
        assert_eq!(record.updated_at, 1_590_561_751_482);
        assert!(!record.transient && !record.system);
    }

    #[test]
    fn chat_rooms_and_service_conversations_keep_no_member_list() {
        for (row, room) in [
            (json!({"objectId": "r", "tr": true, "m": ["Tom"]}), true),
            (
                json!({"objectId": "s", "sys": true, "m": ["Tom"], "unique": true}),
                false,
            ),
        ] {
            let (record, members) = conversation_record(&row).expect("a conversation");
            assert!(members.is_empty());
            assert_eq!((record.transient, record.system), (room, !room));
            assert_eq!(record.unique_key, None);
        }
        assert!(conversation_record(&json!({"name": "no id"})).is_none());
    }

    #[test]
    fn history_items_keep_ids_times_content_and_mentions() {
        // Every conversation is imported; "svc" is a service conversation.
        let imported = |cid: &str| Some(cid == "svc");
        let text = json!({
            "timestamp": 1_408_008_498_571_i64, "conv-id": "c1", "data": "{\"_lctype\":-1,\"_lctext\":\"hi\"}",
            "from": "Tom", "msg-id": "vdkGm4dtRNmhQ5gqUTFBiA", "is-conv": true, "bin": false,
            "patch-timestamp": 1_408_008_500_000_i64, "mention-pids": ["Jerry"]
        });
        let message = message_record(&text, imported).expect("a message");
        assert_eq!(
            (message.id.as_str(), message.cid.as_str()),
            ("vdkGm4dtRNmhQ5gqUTFBiA", "c1")
        );
        assert_eq!(message.timestamp, 1_408_008_498_571);
        assert_eq!(message.lctype, Some(-1));
        assert_eq!(message.patch_timestamp, Some(1_408_008_500_000));
        assert_eq!(message.mention_pids, ["Jerry"]);
        assert_eq!(message.audience, None, "for every member");
        let binary = json!({"timestamp": 1, "conv-id": "svc", "data": "AAEC", "bin": true, "from": "bot", "msg-id": "m2"});
        let message = message_record(&binary, imported).expect("a message");
        assert_eq!((message.data, message.binary), (None, Some(vec![0, 1, 2])));
        assert_eq!(
            message.audience,
            Some(Vec::new()),
            "a service's message: for the service only"
        );
        assert!(message_record(&json!({"conv-id": "c1", "timestamp": 1}), imported).is_none());
    }

    #[test]
    fn a_history_row_names_its_conversation_in_to_before_conv_id() {
        // LeanCloud's documented row: `conv-id` is a storage key, `to` the conversation's id.
        let row = json!({
            "timestamp": 1_408_008_498_571_i64, "conv-id": "219946ef32e40c515d33ae6975a5c593",
            "data": "今天天气不错！", "from": "u111872755_9d0461adf9c267ae263b3742c60fa",
            "msg-id": "vdkGm4dtRNmhQ5gqUTFBiA", "is-conv": true, "is-room": false,
            "to": "5541c02ce4b0f83f4d44414e", "bin": false, "from-ip": "202.117.15.217"
        });
        let imported = |cid: &str| (cid == "5541c02ce4b0f83f4d44414e").then_some(false);
        let message = message_record(&row, imported).expect("a message");
        assert_eq!(message.cid, "5541c02ce4b0f83f4d44414e");
        assert_eq!(message.data.as_deref(), Some("今天天气不错！"));
        // A `to` naming no imported conversation (a v1 peer, say) leaves `conv-id`.
        let message = message_record(&row, |_| None).expect("a message");
        assert_eq!(message.cid, "219946ef32e40c515d33ae6975a5c593");
    }
    #[test]
    fn a_sys_message_row_is_a_message_for_the_service_only() {
        // REST.md §1.5: the web hook's shape, and the Python SDK's `timestamp` in ms.
        let row = json!({
            "fromIp": "121.238.214.92", "msgId": "nYH9iBSBS_uogCEgvZwE7Q", "from": "A", "bin": false,
            "conv": {"__type": "Pointer", "className": "_Conversation", "objectId": "55b99ad700b0387b8a3d7bf0"},
            "data": "你好，sys", "createdAt": {"__type": "Date", "iso": "2015-07-30T14:37:42.584Z"}
        });
        let imported = |cid: &str| (cid == "55b99ad700b0387b8a3d7bf0").then_some(true);
        let message = service_message_record(&row, imported).expect("a message");
        assert_eq!(message.id, "nYH9iBSBS_uogCEgvZwE7Q");
        assert_eq!(message.cid, "55b99ad700b0387b8a3d7bf0");
        assert_eq!(
            (message.from.as_str(), message.data.as_deref()),
            ("A", Some("你好，sys"))
        );
        assert_eq!(
            message.timestamp, 1_438_267_062_584,
            "createdAt without a timestamp"
        );
        assert_eq!(message.audience, Some(Vec::new()), "for the service only");
        let mut with_timestamp = row.clone();
        with_timestamp["timestamp"] = json!(1_438_267_000_000_i64);
        let message = service_message_record(&with_timestamp, imported).expect("a message");
        assert_eq!(message.timestamp, 1_438_267_000_000);
        assert!(service_message_record(&json!({"msgId": "x", "timestamp": 1}), imported).is_none());
    }

    #[test]
    fn member_info_rows_name_managers_in_either_spelling() {
        let row = json!({"objectId": "i1", "cid": "c1", "clientId": "Tom", "role": "Manager"});
        assert_eq!(
            (member_info_conversation(&row), manager_of(&row)),
            (Some("c1"), Some("Tom"))
        );
        let java = json!({"conversationId": "c2", "peerId": "Jerry", "role": "Manager"});
        assert_eq!(
            (member_info_conversation(&java), manager_of(&java)),
            (Some("c2"), Some("Jerry"))
        );
        assert_eq!(
            manager_of(&json!({"cid": "c1", "clientId": "Tom", "role": "Member"})),
            None
        );
        assert_eq!(manager_of(&json!({"cid": "c1", "role": "Manager"})), None);
    }
}
