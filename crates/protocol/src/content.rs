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

use crate::json::{self, Map, Number, Value};
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
        match Self::from_wire_verbatim(msg, binary) {
            Self::Text(text) => TypedMessage::parse(&text).map_or(Self::Text(text), Self::Typed),
            other => other,
        }
    }

    /// Like [`from_wire`](Self::from_wire), but a string stays [`Text`](Self::Text) whatever its
    /// shape: for front ends that read typed messages themselves (the npm package, in JavaScript).
    pub fn from_wire_verbatim(msg: Option<&str>, binary: Option<&[u8]>) -> Self {
        match (binary, msg) {
            (Some(bytes), _) => Self::Binary(bytes.to_vec()),
            (None, text) => Self::Text(text.unwrap_or_default().to_owned()),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
/// Read from and written as JSON by hand (no serde): known keys are checked field by field, and every
/// other key is kept in `extra`, in its order.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedMessage {
    /// `_lctype`.
    pub kind: MessageKind,
    /// `_lctext`: the text, or a caption for media.
    pub text: Option<String>,
    /// `_lcattrs`: application attributes.
    pub attrs: Option<Map>,
    /// `_lcfile`: the file of image, audio, video and file messages.
    pub file: Option<FileInfo>,
    /// `_lcloc`: the point of a location message.
    pub location: Option<Location>,
    /// Every other key (custom message fields), in their original order.
    pub extra: Map,
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
        match json::parse_keeping_repeated_keys(payload) {
            Ok(Value::Object(map)) => Self::from_entries(map.into_entries()).ok(),
            _ => None,
        }
    }

    /// The JSON text sent as `DirectCommand.msg`: the known keys in the SDKs' order, then the others.
    pub fn to_json(&self) -> String {
        let mut text = String::new();
        let mut out = Object::begin(&mut text);
        out.key("_lctype");
        let code = self.kind.code();
        json::push_integer(out.text, code < 0, u64::from(code.unsigned_abs()));
        out.string("_lctext", self.text.as_deref());
        if let Some(attrs) = &self.attrs {
            out.key("_lcattrs");
            attrs.write_json(out.text);
        }
        if let Some(file) = &self.file {
            out.key("_lcfile");
            file.write_json(out.text);
        }
        if let Some(location) = &self.location {
            out.key("_lcloc");
            location.write_json(out.text);
        }
        out.end(&self.extra);
        text
    }
}

/// `_lcfile`: a file stored elsewhere (LeanCloud's `AV.File`), referenced by id and URL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileInfo {
    /// `objId`: the file object's id.
    pub object_id: Option<String>,
    /// `url`: where the file can be downloaded.
    pub url: Option<String>,
    /// `metaData`: name, format, size and media dimensions.
    pub metadata: Option<FileMetadata>,
    /// Every other key.
    pub extra: Map,
}

/// `_lcfile.metaData`. Numbers keep their JSON form (integer or not) so a round trip is exact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileMetadata {
    /// File name.
    pub name: Option<String>,
    /// Format, e.g. `png`.
    pub format: Option<String>,
    /// Size in bytes.
    pub size: Option<Number>,
    /// Width in pixels (images, videos).
    pub width: Option<Number>,
    /// Height in pixels (images, videos).
    pub height: Option<Number>,
    /// Duration in seconds (audio, video).
    pub duration: Option<Number>,
    /// Every other key.
    pub extra: Map,
}

/// `_lcloc`: a geographic point. Coordinates keep their JSON form so a round trip is exact.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    /// Latitude in degrees.
    pub latitude: Number,
    /// Longitude in degrees.
    pub longitude: Number,
    /// Every other key.
    pub extra: Map,
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

/// An object's entries as read, repeated keys included (nested objects too).
type Entries = Vec<(String, Value)>;

/// Writes a JSON object: known keys first (absent ones skipped), then the `extra` ones.
struct Object<'a> {
    text: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens an object at the end of `text`.
    fn begin(text: &'a mut String) -> Self {
        text.push('{');
        Self { text, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.text.push(',');
        }
        self.empty = false;
        json::write_string(self.text, key);
        self.text.push(':');
    }

    fn string(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.key(key);
            json::write_string(self.text, value);
        }
    }

    fn number(&mut self, key: &str, value: &Number) {
        self.key(key);
        self.text.push_str(value.as_str());
    }

    fn optional_number(&mut self, key: &str, value: Option<&Number>) {
        if let Some(value) = value {
            self.number(key, value);
        }
    }

    /// Writes the `extra` entries and closes the object.
    fn end(mut self, extra: &Map) {
        for (key, value) in extra {
            self.key(key);
            value.write_json(self.text);
        }
        self.text.push('}');
    }
}

impl FileInfo {
    fn write_json(&self, out: &mut String) {
        let mut object = Object::begin(out);
        object.string("objId", self.object_id.as_deref());
        object.string("url", self.url.as_deref());
        if let Some(metadata) = &self.metadata {
            object.key("metaData");
            metadata.write_json(object.text);
        }
        object.end(&self.extra);
    }
}

impl FileMetadata {
    fn write_json(&self, out: &mut String) {
        let mut object = Object::begin(out);
        object.string("name", self.name.as_deref());
        object.string("format", self.format.as_deref());
        object.optional_number("size", self.size.as_ref());
        object.optional_number("width", self.width.as_ref());
        object.optional_number("height", self.height.as_ref());
        object.optional_number("duration", self.duration.as_ref());
        object.end(&self.extra);
    }
}

impl Location {
    fn write_json(&self, out: &mut String) {
        let mut object = Object::begin(out);
        object.number("latitude", &self.latitude);
        object.number("longitude", &self.longitude);
        object.end(&self.extra);
    }
}

/// The content is not the typed shape (a known key of the wrong type, missing or given twice).
struct NotTyped;

/// Splits an object's entries: the value of each `known` key into `values` at the key's index, every
/// other key into the returned map. As with serde's derive and `#[serde(flatten)]`, a known key given
/// twice is refused and a repeated other key keeps its first place and its last value.
fn split_known(entries: Entries, known: &[&str], values: &mut [Option<Value>]) -> Result<Map, NotTyped> {
    let mut extra = Vec::new();
    for (key, value) in entries {
        match known.iter().position(|name| *name == key) {
            Some(index) if values[index].is_some() => return Err(NotTyped),
            Some(index) => values[index] = Some(value),
            None => extra.push((key, value)),
        }
    }
    Ok(Map::from_repeated(extra))
}

/// An optional string field: absent or `null` is `None`.
fn optional_string(raw: Option<Value>) -> Result<Option<String>, NotTyped> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(NotTyped),
    }
}

/// An optional number field: absent or `null` is `None`.
fn optional_number(raw: Option<Value>) -> Result<Option<Number>, NotTyped> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(Some(number)),
        Some(_) => Err(NotTyped),
    }
}

/// An optional object field: absent or `null` is `None`.
fn optional_object(raw: Option<Value>) -> Result<Option<Entries>, NotTyped> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map.into_entries())),
        Some(_) => Err(NotTyped),
    }
}

/// A required number field: absent or `null` is refused.
fn required_number(raw: Option<Value>) -> Result<Number, NotTyped> {
    optional_number(raw)?.ok_or(NotTyped)
}

impl TypedMessage {
    /// Reads the entries of a typed-message object.
    fn from_entries(entries: Entries) -> Result<Self, NotTyped> {
        let mut values: [Option<Value>; 5] = Default::default();
        let extra = split_known(
            entries,
            &["_lctype", "_lctext", "_lcattrs", "_lcfile", "_lcloc"],
            &mut values,
        )?;
        let [kind, text, attrs, file, location] = values;
        // `_lctype` is an `i32`: not `null`, not a float, in range.
        let kind = match kind {
            Some(Value::Number(code)) => code.as_i64().and_then(|code| i32::try_from(code).ok()),
            _ => None,
        };
        Ok(Self {
            kind: MessageKind::from_code(kind.ok_or(NotTyped)?),
            text: optional_string(text)?,
            attrs: optional_object(attrs)?.map(Map::from_repeated),
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
        let mut values: [Option<Value>; 3] = Default::default();
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
        let mut values: [Option<Value>; 6] = Default::default();
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
        let mut values: [Option<Value>; 2] = Default::default();
        let extra = split_known(entries, &["latitude", "longitude"], &mut values)?;
        let [latitude, longitude] = values;
        Ok(Self {
            latitude: required_number(latitude)?,
            longitude: required_number(longitude)?,
            extra,
        })
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
        let value = |text: &str| json::parse(text).expect("json");
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
        // Verbatim: the same fields, the string kept as text whatever its shape.
        let typed_text = r#"{"_lctype":-1,"_lctext":"x"}"#;
        assert_eq!(
            MessageContent::from_wire_verbatim(Some(typed_text), None),
            MessageContent::Text(typed_text.to_owned())
        );
        assert_eq!(
            MessageContent::from_wire_verbatim(Some("ignored"), Some(&[1])),
            MessageContent::Binary(vec![1])
        );
        assert_eq!(
            MessageContent::from_wire(None, None),
            MessageContent::Text(String::new())
        );
        assert_eq!(TypedMessage::recalled().to_json(), r#"{"_lctype":-127}"#);
        assert_eq!(
            TypedMessage::location(1.5, -2.25).to_json(),
            r#"{"_lctype":-5,"_lcloc":{"latitude":1.5,"longitude":-2.25}}"#
        );
    }
}
