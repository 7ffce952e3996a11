//! Message bodies to send: text, typed (image, location, custom ...) and binary.

use chinwag_core::json::{Map, Value};
use chinwag_protocol::{MessageContent, TypedMessage};

/// A text message (`_lctype` −1), the JS `TextMessage`.
///
/// ```
/// use chinwag::{MessageContent, TextMessage};
///
/// let content: MessageContent = TextMessage::new("Hi, Jerry.").attribute("mood", "happy").into();
/// assert_eq!(content.text(), Some("Hi, Jerry."));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TextMessage(TypedMessage);

impl TextMessage {
    /// A text message with `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(TypedMessage::text(text))
    }

    /// Adds an application attribute (`_lcattrs`).
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0
            .attrs
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// The typed message it is.
    pub fn into_typed(self) -> TypedMessage {
        self.0
    }
}

impl From<TextMessage> for MessageContent {
    fn from(message: TextMessage) -> Self {
        Self::Typed(message.0)
    }
}

/// A binary message (`binaryMsg`): raw bytes, not a typed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryMessage(pub Vec<u8>);

impl BinaryMessage {
    /// A binary message carrying `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
}

impl From<BinaryMessage> for MessageContent {
    fn from(message: BinaryMessage) -> Self {
        Self::Binary(message.0)
    }
}
