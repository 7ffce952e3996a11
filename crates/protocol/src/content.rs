//! Message bodies (PROTOCOL.md §4.5).
//!
//! A message's payload travels in `DirectCommand.msg` (a string) or `DirectCommand.binaryMsg` (bytes).
//! A string that is a JSON object with an integer `_lctype` is a *typed message*:
//! `{"_lctype": -1, "_lctext": "hi", "_lcattrs": {...}, "_lcfile": {...}, "_lcloc": {...}, ...custom}`.
//! Any other string is plain text, and bytes are a binary message.
//!
//! Parsing never fails: a string that does not fit the typed shape is kept verbatim as
//! [`MessageContent::Text`]. Unknown keys are kept in their order, so parse → serialize loses nothing;
//! known keys are written in the SDKs' order (`_lctype`, `_lctext`, `_lcattrs`, `_lcfile`, `_lcloc`). (A
//! known key whose value is JSON `null` is read as absent; the SDKs never write one.)
//!
//! ```
//! use chinwag_protocol::{MessageContent, MessageKind, TypedMessage};
//!
//! let wire = r#"{"_lctype":-5,"_lctext":"Jinao","_lcattrs":{"district":"Haidian"},"_lcloc":{"latitude":39.9704503,"longitude":116.3783714}}"#;
//! let MessageContent::Typed(location) = MessageContent::parse(wire) else { panic!() };
//! assert_eq!(location.kind, MessageKind::Location);
//! assert_eq!(location.location.as_ref().unwrap().latitude(), 39.9704503);
//! assert_eq!(location.to_json(), wire);
//!
//! let text = TypedMessage::text("Hi, Jerry.");
//! assert_eq!(text.to_json(), r#"{"_lctype":-1,"_lctext":"Hi, Jerry."}"#);
//! ```

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

/// The payload of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageContent {
    /// A typed message (`_lctype` ...).
    Typed(TypedMessage),
    /// A plain string payload that is not a typed message (kept verbatim).
    Text(String),
    /// A binary payload (`binaryMsg`).
    Binary(Vec<u8>),
}

impl MessageContent {
    /// Reads a string payload: a typed message when it has the typed shape, else plain text.
    pub fn parse(payload: &str) -> Self {
        TypedMessage::parse(payload).map_or_else(|| Self::Text(payload.to_owned()), Self::Typed)
    }

    /// Reads a payload from the wire fields of a `direct`, `patch` or `unread` command: `binaryMsg` wins
    /// when present, then `msg`/`data`; neither is an empty text.
    pub fn from_wire(msg: Option<&str>, binary: Option<&[u8]>) -> Self {
        match (binary, msg) {
            (Some(bytes), _) => Self::Binary(bytes.to_vec()),
            (None, Some(text)) => Self::parse(text),
            (None, None) => Self::Text(String::new()),
        }
    }

    /// The wire form: `(msg, binaryMsg)`, exactly one of which is set.
    pub fn to_wire(&self) -> (Option<String>, Option<Vec<u8>>) {
        match self {
            Self::Typed(typed) => (Some(typed.to_json()), None),
            Self::Text(text) => (Some(text.clone()), None),
            Self::Binary(bytes) => (None, Some(bytes.clone())),
        }
    }

    /// The typed message, if this is one.
    pub fn as_typed(&self) -> Option<&TypedMessage> {
        match self {
            Self::Typed(typed) => Some(typed),
            _ => None,
        }
    }

    /// The `_lctype` of a typed message.
    pub fn kind(&self) -> Option<MessageKind> {
        self.as_typed().map(|typed| typed.kind)
    }

    /// A short human-readable text: `_lctext` of a typed message, the plain text, or nothing for binary.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Typed(typed) => typed.text.as_deref(),
            Self::Text(text) => Some(text),
            Self::Binary(_) => None,
        }
    }
}

impl From<TypedMessage> for MessageContent {
    fn from(typed: TypedMessage) -> Self {
        Self::Typed(typed)
    }
}

/// The `_lctype` of a typed message: the built-in types and custom ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "i32", into = "i32")]
pub enum MessageKind {
    /// −1 `TextMessage`.
    Text,
    /// −2 `ImageMessage`.
    Image,
    /// −3 `AudioMessage`.
    Audio,
    /// −4 `VideoMessage`.
    Video,
    /// −5 `LocationMessage`.
    Location,
    /// −6 `FileMessage`.
    File,
    /// −127 `RecalledMessage`: what a recalled message's content becomes.
    Recalled,
    /// Any other type; applications should use positive numbers.
    Custom(i32),
}

impl MessageKind {
    /// The `_lctype` number.
    pub const fn code(self) -> i32 {
        match self {
            Self::Text => -1,
            Self::Image => -2,
            Self::Audio => -3,
            Self::Video => -4,
            Self::Location => -5,
            Self::File => -6,
            Self::Recalled => -127,
            Self::Custom(code) => code,
        }
    }

    /// The kind for a `_lctype` number.
    pub const fn from_code(code: i32) -> Self {
        match code {
            -1 => Self::Text,
            -2 => Self::Image,
            -3 => Self::Audio,
            -4 => Self::Video,
            -5 => Self::Location,
            -6 => Self::File,
            -127 => Self::Recalled,
            other => Self::Custom(other),
        }
    }
}

impl From<i32> for MessageKind {
    fn from(code: i32) -> Self {
        Self::from_code(code)
    }
}

impl From<MessageKind> for i32 {
    fn from(kind: MessageKind) -> Self {
        kind.code()
    }
}

/// A typed message body: `{"_lctype": n, "_lctext"?, "_lcattrs"?, "_lcfile"?, "_lcloc"?, ...}`.
///
/// `Deserialize` is written by hand (see `read_object` below): what `#[serde(flatten)]` would derive buffers
/// every value and costs 12.8 KB of wasm; this reads the same inputs to the same results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypedMessage {
    /// `_lctype`.
    #[serde(rename = "_lctype")]
    pub kind: MessageKind,
    /// `_lctext`: the text, or a caption for media.
    #[serde(rename = "_lctext", skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `_lcattrs`: application attributes.
    #[serde(rename = "_lcattrs", skip_serializing_if = "Option::is_none")]
    pub attrs: Option<Map<String, Value>>,
    /// `_lcfile`: the file of image, audio, video and file messages.
    #[serde(rename = "_lcfile", skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// `_lcloc`: the point of a location message.
    #[serde(rename = "_lcloc", skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Every other key (custom message fields), in their original order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TypedMessage {
    /// An empty typed message of `kind`.
    pub fn new(kind: MessageKind) -> Self {
        Self {
            kind,
            text: None,
            attrs: None,
            file: None,
            location: None,
            extra: Map::new(),
        }
    }

    /// A text message (−1).
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::new(MessageKind::Text)
        }
    }

    /// The content a recalled message is replaced with: `{"_lctype":-127}`.
    pub fn recalled() -> Self {
        Self::new(MessageKind::Recalled)
    }

    /// A location message (−5).
    pub fn location(latitude: f64, longitude: f64) -> Self {
        Self {
            location: Some(Location::new(latitude, longitude)),
            ..Self::new(MessageKind::Location)
        }
    }

    /// A file-like message (image, audio, video or file) pointing at `file`.
    pub fn file(kind: MessageKind, file: FileInfo) -> Self {
        Self {
            file: Some(file),
            ..Self::new(kind)
        }
    }

    /// Reads a typed message; `None` when `payload` is not a JSON object with an integer `_lctype` and
    /// well-formed known keys.
    pub fn parse(payload: &str) -> Option<Self> {
        // Cheap pre-check so plain text does not pay for a JSON parse attempt.
        if !payload.trim_start().starts_with('{') || !payload.contains("_lctype") {
            return None;
        }
        serde_json::from_str(payload).ok()
    }

    /// The JSON text sent as `DirectCommand.msg`.
    pub fn to_json(&self) -> String {
        // Serialising plain maps, strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `_lcfile`: a file stored elsewhere (LeanCloud's `AV.File`), referenced by id and URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FileInfo {
    /// `objId`: the file object's id.
    #[serde(rename = "objId", skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// `url`: where the file can be downloaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `metaData`: name, format, size and media dimensions.
    #[serde(rename = "metaData", skip_serializing_if = "Option::is_none")]
    pub metadata: Option<FileMetadata>,
    /// Every other key.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `_lcfile.metaData`. Numbers keep their JSON form (integer or not) so a round trip is exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FileMetadata {
    /// File name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Format, e.g. `png`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Number>,
    /// Width in pixels (images, videos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<Number>,
    /// Height in pixels (images, videos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<Number>,
    /// Duration in seconds (audio, video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Number>,
    /// Every other key.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `_lcloc`: a geographic point. Coordinates keep their JSON form so a round trip is exact.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Location {
    /// Latitude in degrees.
    pub latitude: Number,
    /// Longitude in degrees.
    pub longitude: Number,
    /// Every other key.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Location {
    /// A point; non-finite coordinates become 0.
    pub fn new(latitude: f64, longitude: f64) -> Self {
        let number = |value: f64| Number::from_f64(value).unwrap_or_else(|| Number::from(0));
        Self {
            latitude: number(latitude),
            longitude: number(longitude),
            extra: Map::new(),
        }
    }

    /// Latitude in degrees.
    pub fn latitude(&self) -> f64 {
        self.latitude.as_f64().unwrap_or_default()
    }

    /// Longitude in degrees.
    pub fn longitude(&self) -> f64 {
        self.longitude.as_f64().unwrap_or_default()
    }
}

/// Reads the value of the `known` key at an index into its field (one `dyn` so that the four visitors
/// share one [`read_object`]).
type ReadKnown<'f, A, E> = dyn FnMut(usize, &mut A) -> Result<(), E> + 'f;

/// Reads a JSON object whose keys `known` go to `read_known` (by index) and every other key, in its
/// order, to the returned map — what a derived `Deserialize` with `#[serde(flatten)]` does, without
/// buffering each value first. As with the derive, a known key given twice is an error and a repeated
/// other key keeps its first position and last value.
fn read_object<'de, A: MapAccess<'de>>(
    mut map: A,
    known: &'static [&'static str],
    read_known: &mut ReadKnown<'_, A, A::Error>,
) -> Result<Map<String, Value>, A::Error> {
    let mut seen = 0u32;
    let mut extra = Map::new();
    while let Some(key) = map.next_key::<String>()? {
        match known.iter().position(|name| *name == key) {
            Some(index) if seen & (1 << index) != 0 => return Err(de::Error::duplicate_field(known[index])),
            Some(index) => {
                seen |= 1 << index;
                read_known(index, &mut map)?;
            }
            None => {
                let value = map.next_value()?;
                extra.insert(key, value);
            }
        }
    }
    Ok(extra)
}

impl<'de> Deserialize<'de> for TypedMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypedVisitor;
        impl<'de> Visitor<'de> for TypedVisitor {
            type Value = TypedMessage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a typed message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TypedMessage, A::Error> {
                let mut kind = None;
                let mut message = TypedMessage::new(MessageKind::Text);
                let known = &["_lctype", "_lctext", "_lcattrs", "_lcfile", "_lcloc"];
                message.extra = read_object(map, known, &mut |index, map| {
                    match index {
                        0 => kind = Some(MessageKind::from_code(map.next_value()?)),
                        1 => message.text = map.next_value()?,
                        2 => message.attrs = map.next_value()?,
                        3 => message.file = map.next_value()?,
                        _ => message.location = map.next_value()?,
                    }
                    Ok(())
                })?;
                message.kind = kind.ok_or_else(|| de::Error::missing_field("_lctype"))?;
                Ok(message)
            }
        }
        deserializer.deserialize_map(TypedVisitor)
    }
}

impl<'de> Deserialize<'de> for FileInfo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileVisitor;
        impl<'de> Visitor<'de> for FileVisitor {
            type Value = FileInfo;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an `_lcfile` object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileInfo, A::Error> {
                let mut file = FileInfo::default();
                file.extra = read_object(map, &["objId", "url", "metaData"], &mut |index, map| {
                    match index {
                        0 => file.object_id = map.next_value()?,
                        1 => file.url = map.next_value()?,
                        _ => file.metadata = map.next_value()?,
                    }
                    Ok(())
                })?;
                Ok(file)
            }
        }
        deserializer.deserialize_map(FileVisitor)
    }
}

impl<'de> Deserialize<'de> for FileMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetadataVisitor;
        impl<'de> Visitor<'de> for MetadataVisitor {
            type Value = FileMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a `metaData` object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileMetadata, A::Error> {
                let mut meta = FileMetadata::default();
                let known = &["name", "format", "size", "width", "height", "duration"];
                meta.extra = read_object(map, known, &mut |index, map| {
                    match index {
                        0 => meta.name = map.next_value()?,
                        1 => meta.format = map.next_value()?,
                        2 => meta.size = map.next_value()?,
                        3 => meta.width = map.next_value()?,
                        4 => meta.height = map.next_value()?,
                        _ => meta.duration = map.next_value()?,
                    }
                    Ok(())
                })?;
                Ok(meta)
            }
        }
        deserializer.deserialize_map(MetadataVisitor)
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LocationVisitor;
        impl<'de> Visitor<'de> for LocationVisitor {
            type Value = Location;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an `_lcloc` object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Location, A::Error> {
                let (mut latitude, mut longitude) = (None, None);
                let extra = read_object(map, &["latitude", "longitude"], &mut |index, map| {
                    match index {
                        0 => latitude = Some(map.next_value()?),
                        _ => longitude = Some(map.next_value()?),
                    }
                    Ok(())
                })?;
                Ok(Location {
                    latitude: latitude.ok_or_else(|| de::Error::missing_field("latitude"))?,
                    longitude: longitude.ok_or_else(|| de::Error::missing_field("longitude"))?,
                    extra,
                })
            }
        }
        deserializer.deserialize_map(LocationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_kinds_round_trip_their_codes() {
        for code in [-1, -2, -3, -4, -5, -6, -127, 0, 1, 42, -101] {
            assert_eq!(MessageKind::from_code(code).code(), code);
        }
        assert_eq!(MessageKind::from_code(-6), MessageKind::File);
        assert_eq!(MessageKind::from_code(7), MessageKind::Custom(7));
    }

    #[test]
    fn every_built_in_type_parses_and_round_trips() {
        let samples = [
            r#"{"_lctype":-1,"_lctext":"hey guys!"}"#,
            r#"{"_lctype":-2,"_lctext":"look","_lcfile":{"objId":"f1","url":"https://x/y.png","metaData":{"name":"y.png","format":"png","size":1024,"width":640,"height":480}}}"#,
            r#"{"_lctype":-3,"_lcfile":{"url":"https://x/a.mp3","metaData":{"size":2048,"duration":3.5}}}"#,
            r#"{"_lctype":-4,"_lcattrs":{"k":[1,2]},"_lcfile":{"url":"https://x/v.mp4","metaData":{"duration":10,"codec":"h264"}}}"#,
            r#"{"_lctype":-5,"_lctext":"Jinao","_lcattrs":{"district":"Haidian"},"_lcloc":{"latitude":39.9704503,"longitude":116.3783714}}"#,
            r#"{"_lctype":-6,"_lcfile":{"objId":"f2","url":"https://x/r.pdf","metaData":{"name":"r.pdf"},"bucket":"b"}}"#,
            r#"{"_lctype":-127}"#,
            r#"{"_lctype":3,"_lctext":"custom","vote":{"options":["a","b"]},"count":2,"_lcfoo":null}"#,
        ];
        for sample in samples {
            let parsed = TypedMessage::parse(sample).unwrap_or_else(|| panic!("typed: {sample}"));
            assert_eq!(parsed.to_json(), sample, "round trip");
        }
        // Known keys are written in a canonical order; the content is unchanged whatever the input order.
        let reordered = r#"{"_lcfile":{"metaData":{"duration":3.5,"size":2048},"url":"u"},"_lctype":-3}"#;
        let value = |json: &str| serde_json::from_str::<Value>(json).expect("json");
        let rewritten = TypedMessage::parse(reordered).expect("typed").to_json();
        assert_eq!(value(&rewritten), value(reordered));
        let file = TypedMessage::parse(samples[1])
            .and_then(|m| m.file)
            .expect("file");
        assert_eq!(
            file.metadata.and_then(|m| m.width).and_then(|w| w.as_u64()),
            Some(640)
        );
        let custom = TypedMessage::parse(samples[7]).expect("custom");
        assert_eq!(custom.kind, MessageKind::Custom(3));
        assert_eq!(custom.extra.get("count"), Some(&Value::from(2)));
    }

    #[test]
    fn anything_else_is_plain_text_kept_verbatim() {
        for plain in [
            "hello",
            "",
            "{not json",
            r#"{"a":1}"#,
            r#"{"_lctype":"x"}"#,
            r#"{"_lctype":-5,"_lcloc":7}"#,
            "[1]",
        ] {
            assert_eq!(
                MessageContent::parse(plain),
                MessageContent::Text(plain.to_owned())
            );
            assert_eq!(
                MessageContent::parse(plain).to_wire(),
                (Some(plain.to_owned()), None)
            );
        }
    }

    #[test]
    fn repeated_and_null_keys_read_as_serde_derive_reads_them() {
        let typed = |json: &str| TypedMessage::parse(json).map(|typed| typed.to_json());
        // A known key twice is not the typed shape, at any depth.
        for twice in [
            r#"{"_lctype":-1,"_lctype":-2}"#,
            r#"{"_lctype":-1,"_lctext":"a","_lctext":"b"}"#,
            r#"{"_lctype":-2,"_lcfile":{"objId":"a","objId":"b"}}"#,
            r#"{"_lctype":-2,"_lcfile":{"metaData":{"name":"a","name":"b"}}}"#,
            r#"{"_lctype":-5,"_lcloc":{"latitude":1,"longitude":2,"latitude":3}}"#,
        ] {
            assert_eq!(typed(twice), None, "{twice}");
        }
        // Another key twice keeps its first place and its last value.
        assert_eq!(
            typed(r#"{"_lctype":-1,"x":1,"y":2,"x":3}"#).as_deref(),
            Some(r#"{"_lctype":-1,"x":3,"y":2}"#)
        );
        // A null known key is absent; a null `_lctype` or coordinate, a float type or a missing
        // coordinate is not the typed shape.
        assert_eq!(
            typed(r#"{"_lctype":-1,"_lctext":null,"_lcattrs":null,"_lcfile":null,"_lcloc":null}"#).as_deref(),
            Some(r#"{"_lctype":-1}"#)
        );
        for invalid in [
            r#"{"_lctype":null}"#,
            r#"{"_lctype":-1.0}"#,
            r#"{"_lctype":3000000000}"#,
            r#"{"_lctype":-5,"_lcloc":{"latitude":null,"longitude":2}}"#,
            r#"{"_lctype":-5,"_lcloc":{"latitude":1}}"#,
            r#"{"_lctype":-2,"_lcfile":{"metaData":[]}}"#,
        ] {
            assert_eq!(typed(invalid), None, "{invalid}");
        }
        // Unknown keys inside `_lcloc` and `metaData` stay, after the known ones.
        assert_eq!(
            typed(r#"{"_lctype":-5,"_lcloc":{"altitude":5,"latitude":1.25,"longitude":-2,"x":null}}"#)
                .as_deref(),
            Some(r#"{"_lctype":-5,"_lcloc":{"latitude":1.25,"longitude":-2,"altitude":5,"x":null}}"#)
        );
    }

    #[test]
    fn wire_fields_pick_binary_first() {
        let binary = MessageContent::from_wire(Some("ignored"), Some(&[1, 2, 3]));
        assert_eq!(binary, MessageContent::Binary(vec![1, 2, 3]));
        assert_eq!(binary.to_wire(), (None, Some(vec![1, 2, 3])));
        let text = MessageContent::from_wire(Some(r#"{"_lctype":-1,"_lctext":"x"}"#), None);
        assert_eq!(text.kind(), Some(MessageKind::Text));
        assert_eq!(text.text(), Some("x"));
        assert_eq!(TypedMessage::recalled().to_json(), r#"{"_lctype":-127}"#);
        assert_eq!(
            TypedMessage::location(1.5, -2.25).to_json(),
            r#"{"_lctype":-5,"_lcloc":{"latitude":1.5,"longitude":-2.25}}"#
        );
    }
}
