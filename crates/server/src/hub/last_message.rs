//! A conversation's last message as the hub keeps it in memory: only what conversation queries
//! (`lm`, `msg`, `bin`, `msg_from`, `msg_mid`, `msg_timestamp`, `patch_timestamp`) and `unread`
//! tuples show. Every conversation holds one, so the fields a stored [`MessageRecord`] has besides
//! (its conversation id, `dt`, mentions, audience, patch reason, ...) are left out, and the strings
//! are boxed slices without spare capacity: about 80 bytes plus the strings, against about 330
//! plus more strings for the whole record (see crates/server/README.md, Scale).

use crate::storage::MessageRecord;

/// The last message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LastMessage {
    /// Server message id.
    pub(super) id: Box<str>,
    /// The sender's client id.
    pub(super) from: Box<str>,
    /// Server timestamp (ms).
    pub(super) timestamp: i64,
    /// Last edit time (ms), if it was edited or recalled.
    pub(super) patch_timestamp: Option<i64>,
    /// The content.
    pub(super) content: Content,
}

/// A last message's content: text (`msg`) or binary (`binaryMsg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Content {
    /// Text, typed messages included.
    Text(Box<str>),
    /// Binary.
    Binary(Box<[u8]>),
    /// Neither (a message stored without content).
    Empty,
}

impl From<MessageRecord> for LastMessage {
    /// Moves what is kept out of `message` (binary wins over text, as in the JSON payload).
    fn from(message: MessageRecord) -> Self {
        let content = match (message.binary, message.data) {
            (Some(bytes), _) => Content::Binary(bytes.into_boxed_slice()),
            (None, Some(text)) => Content::Text(text.into_boxed_str()),
            (None, None) => Content::Empty,
        };
        Self {
            id: message.id.into_boxed_str(),
            from: message.from.into_boxed_str(),
            timestamp: message.timestamp,
            patch_timestamp: message.patch_timestamp,
            content,
        }
    }
}

impl LastMessage {
    /// The content as LogItem and query JSON carry it: text as is, binary as base64 with
    /// `true` for `bin`.
    pub(super) fn payload(&self) -> (String, bool) {
        match &self.content {
            Content::Text(text) => super::payload_json(Some(text), None),
            Content::Binary(bytes) => super::payload_json(None, Some(bytes)),
            Content::Empty => super::payload_json(None, None),
        }
    }

    /// Whether the content is binary (`bin` in query JSON).
    pub(super) fn is_binary(&self) -> bool {
        matches!(self.content, Content::Binary(_))
    }

    /// The text content (`data` of an `unread` tuple), if it is text.
    pub(super) fn text(&self) -> Option<String> {
        match &self.content {
            Content::Text(text) => Some(text.to_string()),
            _ => None,
        }
    }

    /// The binary content (`binaryMsg` of an `unread` tuple), if it is binary.
    pub(super) fn binary(&self) -> Option<Vec<u8>> {
        match &self.content {
            Content::Binary(bytes) => Some(bytes.to_vec()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Content, LastMessage};
    use crate::storage::MessageRecord;

    fn record(data: Option<&str>, binary: Option<&[u8]>) -> MessageRecord {
        MessageRecord {
            id: "m1".into(),
            cid: "c1".into(),
            from: "Tom".into(),
            timestamp: 7,
            data: data.map(str::to_owned),
            binary: binary.map(<[u8]>::to_vec),
            mention_all: false,
            mention_pids: Vec::new(),
            dt: Some("d1".into()),
            receipt: false,
            patch_timestamp: Some(9),
            patch_code: None,
            patch_reason: None,
            lctype: None,
            audience: None,
        }
    }

    #[test]
    fn keeps_what_queries_and_unread_tuples_show() {
        let last = LastMessage::from(record(Some("hi"), None));
        assert_eq!((&*last.id, &*last.from), ("m1", "Tom"));
        assert_eq!((last.timestamp, last.patch_timestamp), (7, Some(9)));
        assert_eq!(last.payload(), ("hi".to_owned(), false));
        assert_eq!((last.text(), last.binary()), (Some("hi".to_owned()), None));
    }

    #[test]
    fn binary_content_is_base64_in_json_and_bytes_in_tuples() {
        let last = LastMessage::from(record(None, Some(&[0, 1, 2])));
        assert_eq!(last.payload(), ("AAEC".to_owned(), true));
        assert!(last.is_binary());
        assert_eq!((last.text(), last.binary()), (None, Some(vec![0, 1, 2])));
        let empty = LastMessage::from(record(None, None));
        assert_eq!(empty.content, Content::Empty);
        assert_eq!(empty.payload(), (String::new(), false));
    }

    #[test]
    fn is_small() {
        // Every conversation holds one: a regression here costs memory per conversation.
        assert!(size_of::<Option<LastMessage>>() <= 88);
    }
}
