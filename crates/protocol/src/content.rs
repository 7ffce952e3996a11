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

use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
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
/// `Deserialize` is written by hand (see `Raw` below): what `#[serde(flatten)]` would derive buffers every
/// value and costs 12.8 KB of wasm; this reads the same inputs to the same results.
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
        match serde_json::from_str::<Raw>(payload) {
            Ok(Raw::Object(entries)) => Self::from_entries(entries).ok(),
            _ => None,
        }
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

/// One JSON value as typed-message parsing reads it: an object keeps every entry in its order, repeated
/// keys included (so that a known key given twice can be refused, as serde's derive refused it), and
/// anything else is a [`Value`].
///
/// Typed messages are read into this and then checked field by field instead of through serde visitors
/// per field type: a visitor for a typed field (`i32`, `String`, `Number`, a map) raises serde's
/// `invalid_type` errors, whose messages print the unexpected value (`f64` formatting, `str` escaping),
/// about 12 KB of wasm that nothing else in the npm package needs. This visitor takes every JSON type.
enum Raw {
    /// An object's entries.
    Object(Entries),
    /// Any other value.
    Other(Value),
}

/// An object's entries in their order, repeated keys included.
type Entries = Vec<(String, Raw)>;

impl Raw {
    /// The [`Value`] serde_json would have read: a repeated key keeps its first place and its last value.
    fn into_value(self) -> Value {
        match self {
            Self::Object(entries) => Value::Object(into_map(entries)),
            Self::Other(value) => value,
        }
    }
}

/// An object's entries as a [`Map`], a repeated key keeping its first place and its last value.
fn into_map(entries: Entries) -> Map<String, Value> {
    let mut map = Map::with_capacity(entries.len());
    for (key, value) in entries {
        map.insert(key, value.into_value());
    }
    map
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

/// Builds a [`Raw`]; serde_json's `deserialize_any` calls only the methods written here.
struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Null))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Number(value.into())))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Raw, E> {
        Ok(Raw::Other(Value::Number(value.into())))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Raw, E> {
        // As serde_json's own `Value` visitor: a non-finite number (which its parser never yields) is null.
        Ok(Raw::Other(
            Number::from_f64(value).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, value: &str) -> Result<Raw, E> {
        Ok(Raw::Other(Value::String(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Raw, E> {
        Ok(Raw::Other(Value::String(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Raw, A::Error> {
        // Repeated keys matter only in the objects of known keys, never inside an array: read it as a `Value`.
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Raw::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<Raw>()?));
        }
        Ok(Raw::Object(entries))
    }
}

/// The content is not the typed shape (a known key of the wrong type, missing or given twice).
struct NotTyped;

/// Splits an object's entries: the value of each `known` key into `values` at the key's index, every
/// other key into the returned map. As with serde's derive and `#[serde(flatten)]`, a known key given
/// twice is refused and a repeated other key keeps its first place and its last value.
fn split_known(
    entries: Entries,
    known: &[&str],
    values: &mut [Option<Raw>],
) -> Result<Map<String, Value>, NotTyped> {
    let mut extra = Map::new();
    for (key, value) in entries {
        match known.iter().position(|name| *name == key) {
            Some(index) if values[index].is_some() => return Err(NotTyped),
            Some(index) => values[index] = Some(value),
            None => {
                extra.insert(key, value.into_value());
            }
        }
    }
    Ok(extra)
}

/// An optional string field: absent or `null` is `None`.
fn optional_string(raw: Option<Raw>) -> Result<Option<String>, NotTyped> {
    match raw {
        None | Some(Raw::Other(Value::Null)) => Ok(None),
        Some(Raw::Other(Value::String(text))) => Ok(Some(text)),
        Some(_) => Err(NotTyped),
    }
}

/// An optional number field: absent or `null` is `None`.
fn optional_number(raw: Option<Raw>) -> Result<Option<Number>, NotTyped> {
    match raw {
        None | Some(Raw::Other(Value::Null)) => Ok(None),
        Some(Raw::Other(Value::Number(number))) => Ok(Some(number)),
        Some(_) => Err(NotTyped),
    }
}

/// An optional object field: absent or `null` is `None`.
fn optional_object(raw: Option<Raw>) -> Result<Option<Entries>, NotTyped> {
    match raw {
        None | Some(Raw::Other(Value::Null)) => Ok(None),
        Some(Raw::Object(entries)) => Ok(Some(entries)),
        Some(Raw::Other(_)) => Err(NotTyped),
    }
}

/// A required number field: absent or `null` is refused.
fn required_number(raw: Option<Raw>) -> Result<Number, NotTyped> {
    optional_number(raw)?.ok_or(NotTyped)
}

impl TypedMessage {
    /// Reads the entries of a typed-message object.
    fn from_entries(entries: Entries) -> Result<Self, NotTyped> {
        let mut values: [Option<Raw>; 5] = Default::default();
        let extra = split_known(
            entries,
            &["_lctype", "_lctext", "_lcattrs", "_lcfile", "_lcloc"],
            &mut values,
        )?;
        let [kind, text, attrs, file, location] = values;
        // `_lctype` is an `i32`: not `null`, not a float, in range.
        let kind = match kind {
            Some(Raw::Other(Value::Number(code))) => code.as_i64().and_then(|code| i32::try_from(code).ok()),
            _ => None,
        };
        Ok(Self {
            kind: MessageKind::from_code(kind.ok_or(NotTyped)?),
            text: optional_string(text)?,
            attrs: optional_object(attrs)?.map(into_map),
            file: optional_object(file)?.map(FileInfo::from_entries).transpose()?,
            location: optional_object(location)?
                .map(Location::from_entries)
                .transpose()?,
            extra,
        })
    }
}

impl FileInfo {
    /// Reads the entries of an `_lcfile` object.
    fn from_entries(entries: Entries) -> Result<Self, NotTyped> {
        let mut values: [Option<Raw>; 3] = Default::default();
        let extra = split_known(entries, &["objId", "url", "metaData"], &mut values)?;
        let [object_id, url, metadata] = values;
        Ok(Self {
            object_id: optional_string(object_id)?,
            url: optional_string(url)?,
            metadata: optional_object(metadata)?
                .map(FileMetadata::from_entries)
                .transpose()?,
            extra,
        })
    }
}

impl FileMetadata {
    /// Reads the entries of a `metaData` object.
    fn from_entries(entries: Entries) -> Result<Self, NotTyped> {
        let mut values: [Option<Raw>; 6] = Default::default();
        let known = ["name", "format", "size", "width", "height", "duration"];
        let extra = split_known(entries, &known, &mut values)?;
        let [name, format, size, width, height, duration] = values;
        Ok(Self {
            name: optional_string(name)?,
            format: optional_string(format)?,
            size: optional_number(size)?,
            width: optional_number(width)?,
            height: optional_number(height)?,
            duration: optional_number(duration)?,
            extra,
        })
    }
}

impl Location {
    /// Reads the entries of an `_lcloc` object.
    fn from_entries(entries: Entries) -> Result<Self, NotTyped> {
        let mut values: [Option<Raw>; 2] = Default::default();
        let extra = split_known(entries, &["latitude", "longitude"], &mut values)?;
        let [latitude, longitude] = values;
        Ok(Self {
            latitude: required_number(latitude)?,
            longitude: required_number(longitude)?,
            extra,
        })
    }
}

/// Deserializes one of the typed-message types through [`Raw`]; `expected` names it in the error.
fn deserialize_object<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    from_entries: fn(Entries) -> Result<T, NotTyped>,
    expected: &'static str,
) -> Result<T, D::Error> {
    match Raw::deserialize(deserializer)? {
        Raw::Object(entries) => from_entries(entries).ok(),
        Raw::Other(_) => None,
    }
    .ok_or_else(|| de::Error::custom(expected))
}

impl<'de> Deserialize<'de> for TypedMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_object(
            deserializer,
            Self::from_entries,
            "expected a typed message object",
        )
    }
}

impl<'de> Deserialize<'de> for FileInfo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_object(deserializer, Self::from_entries, "expected an `_lcfile` object")
    }
}

impl<'de> Deserialize<'de> for FileMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_object(deserializer, Self::from_entries, "expected a `metaData` object")
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_object(deserializer, Self::from_entries, "expected an `_lcloc` object")
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
            r#"{"_lctype":-0}"#,
            r#"{"_lctype":2147483648}"#,
            r#"{"_lctype":-1,"_lctext":5}"#,
            r#"{"_lctype":-1,"_lcattrs":[]}"#,
            r#"{"_lctype":-2,"_lcfile":"f"}"#,
            r#"{"_lctype":-2,"_lcfile":{"url":{}}}"#,
            r#"{"_lctype":-2,"_lcfile":{"metaData":{"size":"5"}}}"#,
            r#"{"_lctype":-5,"_lcloc":{"latitude":"1","longitude":2}}"#,
            r#"{"_lctype":-1} x"#,
        ] {
            assert_eq!(typed(invalid), None, "{invalid}");
        }
        // Repeated keys inside attributes and custom values read as `Value` reads them; arrays are kept.
        assert_eq!(
            typed(r#"{"_lctype":-1,"_lcattrs":{"a":1,"b":2,"a":3},"x":[{"k":1,"k":2},null,true]}"#)
                .as_deref(),
            Some(r#"{"_lctype":-1,"_lcattrs":{"a":3,"b":2},"x":[{"k":2},null,true]}"#)
        );
        assert_eq!(
            typed(r#"{"_lctype":-2147483648}"#).as_deref(),
            Some(r#"{"_lctype":-2147483648}"#)
        );
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
