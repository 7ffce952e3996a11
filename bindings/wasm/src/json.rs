//! JSON text written in place, for what crosses to JavaScript.
//!
//! Events are the receive path's hot output: building a `serde_json::Value` per event meant a map
//! (and a hashed, allocated key) per field and a formatter pass to print it. [`JsonWriter`] appends
//! straight to one reused buffer instead, with the separators tracked for the caller.

use std::fmt::Write as _;

use serde_json::Value;

/// A JSON text under construction: objects and arrays are opened and closed explicitly; object
/// members are a [`key`](Self::key) followed by one value.
#[derive(Default)]
pub struct JsonWriter {
    out: String,
    /// Whether the next value or key needs a comma before it.
    comma: bool,
}

impl JsonWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// Forgets the text, keeping the buffer's capacity.
    pub fn clear(&mut self) {
        self.out.clear();
        self.comma = false;
    }

    /// Takes the text.
    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if self.comma {
            self.out.push(',');
        }
        self.comma = true;
    }

    /// Opens an object.
    pub fn begin_object(&mut self) -> &mut Self {
        self.separate();
        self.out.push('{');
        self.comma = false;
        self
    }

    /// Closes the innermost object.
    pub fn end_object(&mut self) -> &mut Self {
        self.out.push('}');
        self.comma = true;
        self
    }

    /// Opens an array.
    pub fn begin_array(&mut self) -> &mut Self {
        self.separate();
        self.out.push('[');
        self.comma = false;
        self
    }

    /// Closes the innermost array.
    pub fn end_array(&mut self) -> &mut Self {
        self.out.push(']');
        self.comma = true;
        self
    }

    /// Starts an object member; `key` is one of our own names (written as is, no escaping).
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.separate();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.comma = false;
        self
    }

    /// A string value, escaped.
    pub fn string(&mut self, text: &str) -> &mut Self {
        self.separate();
        self.escaped(text);
        self
    }

    fn escaped(&mut self, text: &str) {
        self.out.push('"');
        let mut start = 0;
        for (i, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 => "",
                _ => continue,
            };
            self.out.push_str(&text[start..i]);
            if escape.is_empty() {
                let _ = write!(self.out, "\\u{byte:04x}");
            } else {
                self.out.push_str(escape);
            }
            start = i + 1;
        }
        self.out.push_str(&text[start..]);
        self.out.push('"');
    }

    /// A string, or null.
    pub fn opt_string(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => self.string(text),
            None => self.null(),
        }
    }

    /// An integer.
    pub fn int(&mut self, n: i64) -> &mut Self {
        self.separate();
        if n < 0 {
            self.out.push('-');
        }
        self.digits(n.unsigned_abs());
        self
    }

    /// An integer, or null.
    pub fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        match n {
            Some(n) => self.int(n),
            None => self.null(),
        }
    }

    fn digits(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            // n % 10 < 10 fits a digit.
            #[allow(clippy::cast_possible_truncation)]
            let digit = (n % 10) as u8;
            digits[at] = b'0' + digit;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &digit in &digits[at..] {
            self.out.push(char::from(digit));
        }
    }

    /// A boolean.
    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.separate();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// null.
    pub fn null(&mut self) -> &mut Self {
        self.separate();
        self.out.push_str("null");
        self
    }

    /// An array of strings.
    pub fn strings<'a>(&mut self, items: impl IntoIterator<Item = &'a String>) -> &mut Self {
        self.begin_array();
        for item in items {
            self.string(item);
        }
        self.end_array()
    }

    /// Text that already is one JSON value.
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.separate();
        self.out.push_str(json);
        self
    }

    /// Any JSON value (attributes, push data).
    pub fn value(&mut self, value: &Value) -> &mut Self {
        match value {
            Value::Null => self.null(),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => {
                self.separate();
                let _ = write!(self.out, "{n}");
                self
            }
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.begin_array();
                for item in items {
                    self.value(item);
                }
                self.end_array()
            }
            Value::Object(map) => self.object(map),
        }
    }

    /// A JSON object's members, keys escaped.
    pub fn object(&mut self, map: &serde_json::Map<String, Value>) -> &mut Self {
        self.begin_object();
        for (key, item) in map {
            self.separate();
            self.escaped(key);
            self.out.push(':');
            self.comma = false;
            self.value(item);
        }
        self.end_object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_and_escapes_parse_back() {
        let attrs = serde_json::json!({"a\"b": [1, -2.5, null, true, "x\n\u{1}y"], "n": {"m": u64::MAX}});
        let mut j = JsonWriter::new();
        j.begin_object()
            .key("s")
            .string("q\"\\\t€")
            .key("i")
            .int(i64::MIN)
            .key("o")
            .opt_int(None)
            .key("list")
            .strings(&["a".to_owned(), "b".to_owned()])
            .key("attrs")
            .value(&attrs)
            .key("raw")
            .raw("{\"k\":1}")
            .end_object();
        let back: Value = serde_json::from_str(j.as_str()).expect("valid JSON");
        assert_eq!(back["s"], "q\"\\\t€");
        assert_eq!(back["i"], i64::MIN);
        assert_eq!(back["o"], Value::Null);
        assert_eq!(back["list"], serde_json::json!(["a", "b"]));
        assert_eq!(back["attrs"], attrs);
        assert_eq!(back["raw"]["k"], 1);
    }
}
