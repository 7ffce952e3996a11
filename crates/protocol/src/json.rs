//! A small JSON value, parser and writer for the JSON the protocol carries in strings: conversation
//! attributes, `where` conditions, typed-message content, push data, query results.
//!
//! Why not serde_json: the core runs in the npm package's wasm, where serde_json's generic
//! deserializer, float parsing and printing (with their big-number helpers) and the `indexmap` +
//! `hashbrown` behind `preserve_order` were about 30 KB of code. This module reads and writes the same
//! JSON with one non-generic parser and writer, and keeps things serde_json would change:
//!
//! - **Numbers stay as written.** A [`Number`] holds its JSON text, so `1.50`, `1e3` and integers beyond
//!   64 bits round-trip exactly and no float code is needed unless a caller asks for an `f64`.
//! - **Objects keep their order.** A [`Map`] is a vector of entries in the order read or inserted (as
//!   JavaScript objects and serde_json's `preserve_order` keep it); a key read twice keeps its first
//!   place and its last value, as serde_json reads it.
//!
//! The parser accepts exactly RFC 8259 JSON (as serde_json does: no comments, no trailing commas, no
//! unpaired surrogate escapes, no control characters inside strings) and refuses nesting deeper than
//! 128 levels, serde_json's limit, so that hostile input cannot exhaust the stack. The protocol
//! crate's tests check it against serde_json on random documents.

use std::fmt;
use std::ops::Index;

/// A JSON value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, kept as its JSON text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

/// What `value["missing"]` answers.
static NULL: Value = Value::Null;

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Self::Number(number) => Some(number),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range (see [`Number::as_i64`]).
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as a `u64`, if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as an `f64` (the nearest one), if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The array, mutably, if this is one.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Self::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The object, mutably, if this is one.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Self::Object(map) => Some(map),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }

    /// The value of `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|map| map.get(key))
    }

    /// The value of `key`, mutably, if this is an object that has it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_object_mut().and_then(|map| map.get_mut(key))
    }

    /// Takes the value out, leaving `null`.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// The compact JSON text (no spaces), as serde_json's `to_string` writes it, except that numbers
    /// are written as they were read.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the compact JSON text to `out`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(true) => out.push_str("true"),
            Self::Bool(false) => out.push_str("false"),
            Self::Number(number) => out.push_str(&number.0),
            Self::String(text) => write_string(out, text),
            Self::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Self::Object(map) => map.write_json(out),
        }
    }

    /// This value with every object's repeated keys merged (first place, last value), at any depth.
    fn merge_repeated_keys(self) -> Self {
        match self {
            Self::Array(items) => Self::Array(items.into_iter().map(Self::merge_repeated_keys).collect()),
            Self::Object(map) => Self::Object(Map::from_repeated(map.entries)),
            other => other,
        }
    }
}

impl fmt::Display for Value {
    /// The compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl Index<&str> for Value {
    type Output = Value;

    /// The value of `key`, or `null` when this is not an object or has no such key.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl Index<usize> for Value {
    type Output = Value;

    /// The array's item at `index`, or `null`.
    fn index(&self, index: usize) -> &Value {
        self.as_array()
            .and_then(|items| items.get(index))
            .unwrap_or(&NULL)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::String(text)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<Number> for Value {
    fn from(number: Number) -> Self {
        Self::Number(number)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Self::Object(map)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Self::Array(items)
    }
}

impl From<f64> for Value {
    /// A number; a non-finite one (which JSON cannot write) is `null`, as in serde_json.
    fn from(value: f64) -> Self {
        Number::from_f64(value).map_or(Self::Null, Self::Number)
    }
}

/// Appends the decimal digits of `value` (with a `-` when `negative`). Written out rather than through
/// `to_string()`, so that the wasm module needs none of `core::fmt` for numbers.
pub fn push_integer(out: &mut String, negative: bool, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // `value % 10` is a single digit.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (value % 10) as u8;
        digits[at] = b'0' + digit;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    out.extend(digits[at..].iter().map(|&digit| char::from(digit)));
}

macro_rules! value_from_integer {
    ($($integer:ty),*) => {$(
        impl From<$integer> for Value {
            fn from(value: $integer) -> Self {
                Self::Number(Number::from(value))
            }
        }
        impl From<$integer> for Number {
            #[allow(unused_comparisons, clippy::cast_lossless, trivial_numeric_casts)]
            fn from(value: $integer) -> Self {
                let mut text = String::new();
                // Widened to i128 only for the sign and magnitude; every type here fits.
                let wide = value as i128;
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                push_integer(&mut text, wide < 0, wide.unsigned_abs() as u64);
                Self(text)
            }
        }
    )*};
}

value_from_integer!(i32, i64, u32, u64, usize);

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

macro_rules! value_eq_integer {
    ($($integer:ty),*) => {$(
        impl PartialEq<$integer> for Value {
            /// Whether this is an integer equal to `other`.
            fn eq(&self, other: &$integer) -> bool {
                self.as_i64().and_then(|value| <$integer>::try_from(value).ok()) == Some(*other)
                    || self.as_u64().and_then(|value| <$integer>::try_from(value).ok()) == Some(*other)
            }
        }
    )*};
}

value_eq_integer!(i32, i64, u32, u64);

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `null` for `None`.
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    /// An array.
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Self::Array(items.into_iter().map(Into::into).collect())
    }
}

/// A JSON number, kept as the text it was read from (or written as), so that it round-trips exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number(String);

impl Number {
    /// A number from its JSON text; `None` when `text` is not a JSON number.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parser = Parser::new(text, false);
        let end = parser.number_end().ok()?;
        (end == text.len()).then(|| Self(text.to_owned()))
    }

    /// A number from an `f64`, written as its shortest round-trip decimal form (`1.5`, `39`, `1e21`
    /// as `1000000000000000000000`); `None` for infinities and NaN, which JSON cannot write.
    pub fn from_f64(value: f64) -> Option<Self> {
        value.is_finite().then(|| Self(value.to_string()))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text has no fraction or exponent. `-0` is not an integer here: serde_json reads
    /// it as the float `-0.0`, and so does JavaScript.
    pub fn is_integer(&self) -> bool {
        self.0 != "-0" && !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// The value as an `i64`, if it is an integer that fits (as serde_json's `as_i64`).
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The value as a `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The nearest `f64` (infinite when out of range).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JSON object: entries in insertion order, each key once.
///
/// Lookups are linear: the objects the protocol carries have a handful of keys, and a vector is
/// both smaller in code and faster than a hash map at that size.
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    /// An empty object.
    pub const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// An empty object with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Builds an object from entries that may repeat a key: a repeated key keeps its first place and
    /// its last value (as serde_json reads `{"a":1,"b":2,"a":3}`: `{"a":3,"b":2}`).
    pub fn from_repeated(entries: Vec<(String, Value)>) -> Self {
        let entries = merge_repeated(entries)
            .into_iter()
            .map(|(key, value)| (key, value.merge_repeated_keys()))
            .collect();
        Self { entries }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: in place when the key is present (returning the old value), else at the end.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Some(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Removes `key`, keeping the order of the others; its value, if it was present.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.position(key).map(|index| self.entries.remove(index).1)
    }

    /// The value of `key`, inserted at the end from `default` when absent.
    pub fn get_or_insert_with(&mut self, key: &str, default: impl FnOnce() -> Value) -> &mut Value {
        let index = match self.position(key) {
            Some(index) => index,
            None => {
                self.entries.push((key.to_owned(), default()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[index].1
    }

    /// The entries in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries in order, values mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&String, &mut Value)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Appends the compact JSON text of the object to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (index, (key, value)) in self.entries.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            write_string(out, key);
            out.push(':');
            value.write_json(out);
        }
        out.push('}');
    }

    /// The compact JSON text of the object.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// The entries as read, repeated keys included (see [`parse_keeping_repeated_keys`]).
    pub fn into_entries(self) -> Vec<(String, Value)> {
        self.entries
    }
}

impl PartialEq for Map {
    /// Equal when both have the same keys with equal values, in any order (as serde_json's maps compare).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(key, value)| other.get(key) == Some(value))
    }
}

impl Index<&str> for Map {
    type Output = Value;

    /// The value of `key`, or `null`.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Map {
    /// Inserts each entry in turn (a repeated key keeps its first place and its last value).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut map = Self::new();
        for (key, value) in entries {
            map.insert(key, value);
        }
        map
    }
}

impl<K: Into<String>, V: Into<Value>> Extend<(K, V)> for Map {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

/// Merges repeated keys of one object's entries (not of nested ones): first place, last value.
fn merge_repeated(entries: Vec<(String, Value)>) -> Vec<(String, Value)> {
    // Small objects (the usual case) are checked pairwise, without allocating. Larger ones go through
    // their sorted keys, so that an object of many keys cannot make this quadratic.
    let repeated = if entries.len() <= 16 {
        entries
            .iter()
            .enumerate()
            .any(|(index, (key, _))| entries[..index].iter().any(|(earlier, _)| earlier == key))
    } else {
        let mut keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
        keys.sort_unstable();
        let unique = keys.len();
        keys.dedup();
        if keys.len() == unique {
            false
        } else {
            return merge_with_sorted_keys(entries, &keys);
        }
    };
    if !repeated {
        return entries;
    }
    let mut merged: Vec<(String, Value)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match merged.iter_mut().find(|(earlier, _)| *earlier == key) {
            Some((_, earlier)) => *earlier = value,
            None => merged.push((key, value)),
        }
    }
    merged
}

/// [`merge_repeated`] for many entries: `keys` is their distinct keys, sorted.
fn merge_with_sorted_keys(entries: Vec<(String, Value)>, keys: &[String]) -> Vec<(String, Value)> {
    // Where each distinct key went in `merged`.
    let mut slots: Vec<Option<usize>> = vec![None; keys.len()];
    let mut merged: Vec<(String, Value)> = Vec::with_capacity(keys.len());
    for (key, value) in entries {
        let Ok(rank) = keys.binary_search(&key) else {
            continue; // Unreachable: every key is in `keys`.
        };
        match slots[rank] {
            Some(slot) => merged[slot].1 = value,
            None => {
                slots[rank] = Some(merged.len());
                merged.push((key, value));
            }
        }
    }
    merged
}

/// Appends `text` as a JSON string literal, escaped as serde_json escapes it: `"`, `\`, and control
/// characters (`\b \f \n \r \t`, else `\u00XX`); everything else as is.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..index]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = index + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Why a text is not JSON, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {position}: {reason}")]
pub struct Error {
    /// The byte offset where reading stopped.
    pub position: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

/// Reads one JSON document (surrounding whitespace allowed). A key repeated in an object keeps its
/// first place and its last value.
pub fn parse(text: &str) -> Result<Value, Error> {
    Parser::new(text, false).document()
}

/// Like [`parse`], but every object keeps all its entries, repeated keys included, in reading order
/// ([`Map::into_entries`] gives them back; [`Map::from_repeated`] merges them). For readers that must
/// refuse a known key given twice, as serde's derived readers do.
pub fn parse_keeping_repeated_keys(text: &str) -> Result<Value, Error> {
    Parser::new(text, true).document()
}

/// The deepest nesting of arrays and objects read (serde_json's recursion limit).
const MAX_DEPTH: u32 = 128;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
    depth: u32,
    keep_repeated_keys: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, keep_repeated_keys: bool) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            position: 0,
            depth: 0,
            keep_repeated_keys,
        }
    }

    fn error(&self, reason: &'static str) -> Error {
        Error {
            position: self.position,
            reason,
        }
    }

    fn document(mut self) -> Result<Value, Error> {
        let value = self.value()?;
        self.skip_whitespace();
        if self.position < self.bytes.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(value)
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.position) {
            self.position += 1;
        }
    }

    /// Consumes `literal` (after its first byte was seen).
    fn literal(&mut self, literal: &str, value: Value) -> Result<Value, Error> {
        if self.bytes[self.position..].starts_with(literal.as_bytes()) {
            self.position += literal.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn value(&mut self) -> Result<Value, Error> {
        self.skip_whitespace();
        match self.bytes.get(self.position) {
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => self.nested(Self::array),
            Some(b'{') => self.nested(Self::object),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.position;
                let end = self.number_end()?;
                self.position = end;
                Ok(Value::Number(Number(self.text[start..end].to_owned())))
            }
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Result<Value, Error>) -> Result<Value, Error> {
        if self.depth == MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.depth += 1;
        self.position += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    /// After `[`.
    fn array(&mut self) -> Result<Value, Error> {
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.position) == Some(&b']') {
            self.position += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_whitespace();
            match self.bytes.get(self.position) {
                Some(b',') => self.position += 1,
                Some(b']') => {
                    self.position += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// After `{`.
    fn object(&mut self) -> Result<Value, Error> {
        let mut entries = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.position) == Some(&b'}') {
            self.position += 1;
            return Ok(Value::Object(Map { entries }));
        }
        loop {
            self.skip_whitespace();
            if self.bytes.get(self.position) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.bytes.get(self.position) != Some(&b':') {
                return Err(self.error("expected `:`"));
            }
            self.position += 1;
            entries.push((key, self.value()?));
            self.skip_whitespace();
            match self.bytes.get(self.position) {
                Some(b',') => self.position += 1,
                Some(b'}') => {
                    self.position += 1;
                    if !self.keep_repeated_keys {
                        entries = merge_repeated(entries);
                    }
                    return Ok(Value::Object(Map { entries }));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// After nothing: reads a string literal starting at `"`.
    fn string(&mut self) -> Result<String, Error> {
        self.position += 1;
        let mut out = String::new();
        loop {
            let start = self.position;
            let rest = &self.bytes[start..];
            self.position += rest
                .iter()
                .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
                .unwrap_or(rest.len());
            // `start..position` holds no ASCII delimiter, so both ends are on character boundaries.
            out.push_str(&self.text[start..self.position]);
            match self.bytes.get(self.position) {
                Some(b'"') => {
                    self.position += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.position += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// After `\`.
    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let Some(&byte) = self.bytes.get(self.position) else {
            return Err(self.error("unterminated string"));
        };
        self.position += 1;
        let decoded = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xd800..=0xdbff => {
                        if !self.bytes[self.position..].starts_with(b"\\u") {
                            return Err(self.error("unpaired surrogate"));
                        }
                        self.position += 2;
                        let low = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(self.error("unpaired surrogate"));
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(self.error("unpaired surrogate")),
                    other => other,
                };
                char::from_u32(code).ok_or_else(|| self.error("invalid escape"))?
            }
            _ => return Err(self.error("invalid escape")),
        };
        out.push(decoded);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self
                .bytes
                .get(self.position)
                .and_then(|&b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape"))?;
            unit = unit * 16 + digit;
            self.position += 1;
        }
        Ok(unit)
    }

    /// Checks the number grammar from the current position; the end of the number.
    fn number_end(&mut self) -> Result<usize, Error> {
        let bytes = self.bytes;
        let mut at = self.position;
        let digits = |at: &mut usize| {
            let start = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > start
        };
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                digits(&mut at);
            }
            _ => {
                return Err(Error {
                    position: at,
                    reason: "invalid number",
                });
            }
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return Err(Error {
                    position: at,
                    reason: "invalid number",
                });
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            if !digits(&mut at) {
                return Err(Error {
                    position: at,
                    reason: "invalid number",
                });
            }
        }
        Ok(at)
    }
}

#[cfg(feature = "serde_json")]
mod serde_json_conversions {
    //! Conversions to and from serde_json's `Value`, for the native SDK, whose API speaks serde_json.

    use super::{Map, Number, Value};

    impl From<Value> for serde_json::Value {
        fn from(value: Value) -> Self {
            match value {
                Value::Null => Self::Null,
                Value::Bool(value) => Self::Bool(value),
                // serde_json refuses only numbers beyond `f64`'s range, which it cannot hold.
                Value::Number(number) => number.0.parse().map_or(Self::Null, Self::Number),
                Value::String(text) => Self::String(text),
                Value::Array(items) => Self::Array(items.into_iter().map(Into::into).collect()),
                Value::Object(map) => Self::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect()),
            }
        }
    }

    impl From<serde_json::Value> for Value {
        fn from(value: serde_json::Value) -> Self {
            match value {
                serde_json::Value::Null => Self::Null,
                serde_json::Value::Bool(value) => Self::Bool(value),
                serde_json::Value::Number(number) => Self::Number(Number(number.to_string())),
                serde_json::Value::String(text) => Self::String(text),
                serde_json::Value::Array(items) => Self::Array(items.into_iter().map(Into::into).collect()),
                serde_json::Value::Object(map) => Self::Object(Map {
                    entries: map.into_iter().map(|(k, v)| (k, v.into())).collect(),
                }),
            }
        }
    }

    impl From<Map> for serde_json::Map<String, serde_json::Value> {
        fn from(map: Map) -> Self {
            map.into_iter().map(|(k, v)| (k, v.into())).collect()
        }
    }

    impl From<serde_json::Map<String, serde_json::Value>> for Map {
        fn from(map: serde_json::Map<String, serde_json::Value>) -> Self {
            Self {
                entries: map.into_iter().map(|(k, v)| (k, v.into())).collect(),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Value;

        #[test]
        fn serde_json_values_convert_both_ways() {
            let text = r#"{"b":[1,-2,3.25,1e300,"x\n",null,true],"a":{"":{}}}"#;
            let reference: serde_json::Value = serde_json::from_str(text).expect("json");
            let ours = Value::from(reference.clone());
            // serde_json writes its own number forms (`1e+300`); the value is the same.
            assert_eq!(ours.to_json(), text.replace("1e300", "1e+300"));
            assert_eq!(serde_json::Value::from(ours), reference);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_every_kind_of_value() {
        let text = r#"{"a":[1,-2.50,3e+2,true,false,null],"b":{"c":"d\n\"\u00e9\ud83d\ude00\u0001"},"":0}"#;
        let value = parse(text).expect("json");
        assert_eq!(value["a"][1].as_number().map(Number::as_str), Some("-2.50"));
        assert_eq!(value["a"][0].as_i64(), Some(1));
        assert_eq!(value["a"][2].as_f64(), Some(300.0));
        assert_eq!(value["a"][2].as_i64(), None);
        assert_eq!(value["b"]["c"].as_str(), Some("d\n\"é😀\u{1}"));
        assert_eq!(value["missing"]["deeper"], Value::Null);
        assert_eq!(
            value.to_json(),
            r#"{"a":[1,-2.50,3e+2,true,false,null],"b":{"c":"d\n\"é😀\u0001"},"":0}"#
        );
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            " ",
            "nul",
            "tru",
            "{",
            "[",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\u{1}\"",
            "\"abc",
            "[1] 2",
            "NaN",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(129) + &"]".repeat(129);
        assert_eq!(parse(&deep).map_err(|e| e.reason), Err("nested too deeply"));
        let limit = "[".repeat(128) + &"]".repeat(128);
        assert!(parse(&limit).is_ok());
    }

    #[test]
    fn repeated_keys_keep_first_place_and_last_value() {
        assert_eq!(
            parse(r#"{"a":1,"b":2,"a":3}"#).expect("json").to_json(),
            r#"{"a":3,"b":2}"#
        );
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 7)).collect();
        let merged = parse(&format!("{{{}}}", many.join(","))).expect("json");
        let expected: Vec<String> = (0..7)
            .map(|k| format!("\"k{k}\":{}", 35 + k - if k > 4 { 7 } else { 0 }))
            .collect();
        assert_eq!(merged.to_json(), format!("{{{}}}", expected.join(",")));
        let distinct: Vec<String> = (0..40).rev().map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{{}}}", distinct.join(","));
        assert_eq!(parse(&text).expect("json").to_json(), text);
        let raw = parse_keeping_repeated_keys(r#"{"a":1,"a":{"b":1,"b":2}}"#).expect("json");
        let Value::Object(map) = raw else { panic!() };
        assert_eq!(map.clone().into_entries().len(), 2);
        assert_eq!(
            Map::from_repeated(map.into_entries()).to_json(),
            r#"{"a":{"b":2}}"#
        );
    }

    #[test]
    fn numbers_from_floats_and_integers() {
        assert_eq!(Value::from(1.5).to_json(), "1.5");
        assert_eq!(Value::from(39.0).to_json(), "39");
        assert_eq!(Value::from(f64::NAN), Value::Null);
        assert_eq!(Value::from(-7_i64).to_json(), "-7");
        for value in [0, 1, -1, 9, 10, i64::MIN, i64::MAX, 1_700_000_000_000] {
            assert_eq!(Number::from(value).as_str(), value.to_string());
        }
        assert_eq!(Number::from(u64::MAX).as_str(), u64::MAX.to_string());
        assert_eq!(Number::from(i32::MIN).as_str(), i32::MIN.to_string());
        assert_eq!(Number::parse("-0").and_then(|n| n.as_i64()), None);
        assert_eq!(
            Number::parse("18446744073709551615").and_then(|n| n.as_u64()),
            Some(u64::MAX)
        );
        assert_eq!(Number::parse("1 "), None);
    }

    #[test]
    fn maps_insert_in_place_and_compare_without_order() {
        let mut map: Map = [("a", 1), ("b", 2)].into_iter().collect();
        assert_eq!(map.insert("a", 3), Some(Value::from(1)));
        map.insert("c", "x");
        assert_eq!(map.to_json(), r#"{"a":3,"b":2,"c":"x"}"#);
        assert_eq!(map.remove("b"), Some(Value::from(2)));
        let other: Map = [("c", Value::from("x")), ("a", Value::from(3))]
            .into_iter()
            .collect();
        assert_eq!(map, other);
    }
}
